"""Read-only JSON containers: what every mapping and array inside a value is.

A ``Run`` is frozen all the way down: its own attributes cannot be set (attrs), its
sequences are tuples, and every JSON object or array it keeps (``metadata``, unknown
keys in ``extra`` at every level, a function's ``parameters``, a JSON schema) is a
:class:`FrozenDict` or :class:`FrozenList`. They are ``dict`` and ``list`` subclasses,
so they compare equal to plain JSON values, print like them and go straight into
``json.dumps``; every method that would change one raises ``TypeError``, as changing a
``tuple`` or a ``mappingproxy`` does. They pickle, copy and deep-copy (to themselves:
they cannot change, so sharing them is safe).

As for any Python object, the base class's methods called directly (``dict.update(d, ...)``,
``d.__init__(...)``) bypass the refusal: "read-only" guards against changing a value by
accident through its own interface, not against deliberate surgery.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["EMPTY", "EMPTY_LIST", "FrozenDict", "FrozenList"]


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(f"{type(self).__name__} is read-only")


class FrozenDict(dict[str, Any]):
    """A read-only JSON object: a ``dict`` whose changing methods raise ``TypeError``.

    Example:
        >>> d = FrozenDict({"a": 1})
        >>> d == {"a": 1}, d
        (True, {'a': 1})
        >>> d["b"] = 2
        Traceback (most recent call last):
        ...
        TypeError: FrozenDict is read-only
    """

    __slots__ = ()

    __setitem__ = _read_only
    __delitem__ = _read_only
    __ior__ = _read_only
    clear = _read_only
    pop = _read_only
    popitem = _read_only
    setdefault = _read_only
    update = _read_only

    def __setattr__(self, name: str, value: Any) -> NoReturn:  # no __class__ swaps either
        _read_only(self)

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


class FrozenList(list[Any]):
    """A read-only JSON array: a ``list`` whose changing methods raise ``TypeError``.

    Example:
        >>> xs = FrozenList([1, 2])
        >>> xs == [1, 2]
        True
        >>> xs.append(3)
        Traceback (most recent call last):
        ...
        TypeError: FrozenList is read-only
    """

    __slots__ = ()

    __setitem__ = _read_only
    __delitem__ = _read_only
    __iadd__ = _read_only
    __imul__ = _read_only
    append = _read_only
    extend = _read_only
    insert = _read_only
    pop = _read_only
    remove = _read_only
    reverse = _read_only
    sort = _read_only
    clear = _read_only

    def __setattr__(self, name: str, value: Any) -> NoReturn:  # no __class__ swaps either
        _read_only(self)

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return (type(self), (list(self),))

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList:
        return self


#: The shared empty object: every value without unknown keys points to it.
EMPTY: FrozenDict = FrozenDict()
#: The shared empty array.
EMPTY_LIST: FrozenList = FrozenList()
