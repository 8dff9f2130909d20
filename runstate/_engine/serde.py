"""The serde engine: parse and dump functions over the generated code, and cattrs hooks.

Generic: nothing here knows about runs. The pieces: :mod:`runstate._engine.schema`
(the registered wire schema and the explain walker), :mod:`runstate._engine.jsonvalue`
(the JSON value rules), :mod:`runstate._engine.codegen` (the structure and unstructure
functions generated from the schema) and :mod:`runstate._engine.jsonio` (the JSON front
end). This module puts them behind :func:`parse_value`, :func:`dump_value` and
:func:`make_parser` (each machine's public parse function), and teaches cattrs
converters every registered value class (:func:`configure_converter`,
:func:`make_converter`, :func:`read_only_converter`).

Structural only: types, literal values and required keys. Each machine's per-status
rules live with its declarations.

cattrs is imported on first use (by :func:`configure_converter`, :func:`make_converter`,
:func:`format_exception` or :func:`read_only_converter`), not with this module: it is
about a tenth of ``import runstate``, and parsing and dumping never need it.
"""

# No ``from __future__ import annotations``: the examples below define attrs classes whose
# annotations must be evaluated where they are written (the doctest's names).
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from . import jsonio
from .codegen import GUARDED_HOOKS, HOOKS
from .errors import Error, FieldError, InvalidArgument, InvalidRun
from .jsonio import decode, loads
from .jsonvalue import to_json_value
from .schema import DUMPERS, explain

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "ReadOnlyConverterError",
    "configure_converter",
    "dump_value",
    "format_exception",
    "make_converter",
    "make_parser",
    "parse_value",
    "read_only_converter",
]

_T = TypeVar("_T")


def parse_value(cls: type[_T], data: Any, *, what: str | None = None) -> _T:
    """Parse JSON text or a mapping into any of the library's value classes.

    Args:
        cls: The value class, for example :class:`~runstate.ToolCall`.
        data: JSON text (``str`` or ``bytes``) or a mapping in the wire form.
        what: The name used in error messages; defaults to the class name.

    Raises:
        InvalidRun: listing every structural problem by path.
        InvalidArgument: for a ``cls`` that is not one of runstate's value classes, or
            a ``what`` that is not a string.

    Example:
        >>> from runstate.models import ToolCall
        >>> call = parse_value(ToolCall, {"id": "call_A", "type": "function",
        ...                               "function": {"name": "f", "arguments": "{}"}})
        >>> call.function.name
        'f'
    """
    try:
        hook = HOOKS[cls]
    except (KeyError, TypeError):
        raise InvalidArgument.expected("cls", "a runstate value class", cls) from None
    if what is not None and not isinstance(what, str):
        raise InvalidArgument.expected("what", "a string or None", what)
    name = what if what is not None else cls.__name__
    if isinstance(data, str | bytes | bytearray | memoryview):
        obj = loads(data, name)
    elif isinstance(data, Mapping):
        obj = to_json_value(data)
    else:
        raise InvalidRun.one(
            "$",
            "type",
            f"expected a JSON object, str or bytes, got a {type(data).__name__}",
            what=name,
        )
    try:
        return hook(obj)  # type: ignore[no-any-return]
    except Exception:
        pass
    raise explain(cls, obj, name)


#: ``on_text(value, obj, loads, text)``: told of each value read from ``str`` or ``bytes``
#: ``text``, with ``obj = loads(text)``, the decoded JSON it was made from.
OnText = Callable[[Any, Any, Callable[[Any], Any], Any], None]


def make_parser(
    cls: type[_T], what: str, error: type[InvalidRun] = InvalidRun, on_text: OnText | None = None
) -> Callable[[Any], _T]:
    """The public parse function of a value class: text, bytes or a mapping in, a value out.

    Text takes the fast path (orjson when installed, then the generated code; the standard
    library judges whatever orjson may read differently), mappings go through
    :func:`parse_value`. Every refusal is ``error`` (:class:`InvalidRun` or a subclass)
    naming ``what``. Used for runs and for a sibling machine's values (responses), which
    may pass ``on_text`` (see :data:`OnText`; ``runstate._engine.dumpcache``).

    The generated functions are looked up on the first call (generating them if need
    be: :class:`~runstate._engine.schema.Generated`), not here, so that a machine's
    module can make its parser at import for free; from then on ``parse`` calls them
    directly. (Two threads' first calls may both look them up: they find the same ones.)
    """
    structure: Callable[[Any], Any]
    guarded: Callable[[Any], Any]

    def first_structure(obj: Any) -> Any:
        find()
        return structure(obj)

    def first_guarded(obj: Any) -> Any:
        find()
        return guarded(obj)

    def find() -> None:
        nonlocal structure, guarded
        found = HOOKS[cls]
        guarded = GUARDED_HOOKS.get(cls, found)
        structure = found

    structure, guarded = first_structure, first_guarded

    def parse(data: Any) -> _T:
        kind = type(data)
        if kind is bytes or kind is str:
            fast = fast_loads
            if fast is not None:
                # orjson, then code that refuses whatever orjson may have read differently
                # from the standard library; the standard library then judges the rest.
                try:
                    value = guarded(obj := fast(data))
                except Exception:
                    pass
                else:
                    if on_text is not None:
                        on_text(value, obj, fast, data)
                    return value  # type: ignore[no-any-return]
            try:
                obj = decode(data)
            except InvalidRun as exc:
                raise error(exc.errors, what=what) from None
            try:
                value = structure(obj)
            except Exception:
                pass
            else:
                if on_text is not None:
                    on_text(value, obj, decode, data)
                return value  # type: ignore[no-any-return]
            raise explain(cls, obj, what, error)
        try:
            return parse_value(cls, data, what=what)
        except InvalidRun as exc:
            if type(exc) is error:
                raise
            raise error(exc.errors, what=what) from None

    parse.__qualname__ = parse.__name__ = f"parse_{what.replace(' ', '_')}"
    return parse


def dump_value(value: Any) -> Any:
    """Write any of the library's value classes (or a union's string form) as JSON.

    Example:
        >>> from runstate.models import Usage
        >>> dump_value(Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3))
        {'prompt_tokens': 1, 'completion_tokens': 2, 'total_tokens': 3}
    """
    if type(value) is str:
        return value
    try:
        dumper = DUMPERS[type(value)]
    except (KeyError, TypeError):
        raise InvalidArgument.expected("value", "a runstate value", value) from None
    return dumper(value)


# --------------------------------------------------------------------------------------
# The cattrs converter


def _runstate_class(cl: Any) -> bool:
    return cl in HOOKS


_SEQUENCES: Final = (list, tuple, Sequence, typing.List, typing.Tuple)  # noqa: UP006
_MAPPINGS: Final = (dict, Mapping, typing.Dict)  # noqa: UP006


def _value_like(cl: Any) -> bool:
    """A runstate value class, an optional one, or a container of them."""
    if cl in HOOKS:
        return True
    if typing.get_origin(cl) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(cl) if a is not type(None)]
        return len(args) == 1 and _value_like(args[0])
    return _item_type(cl) is not None


def _item_type(cl: Any) -> Any:
    """The item type of an array or object type that holds runstate values, or None.

    At any depth: ``list[Run]``, ``list[list[Run]]``, ``dict[str, tuple[Run, ...]]``,
    ``list[Run | None]``.
    """
    origin = typing.get_origin(cl)
    args = typing.get_args(cl)
    if origin in _SEQUENCES:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return None
        item = args[0] if args else None
    elif origin in _MAPPINGS and len(args) == 2:
        item = args[1]
    else:
        return None
    return item if _value_like(item) else None


def _holds_values(cl: Any) -> bool:
    return _item_type(cl) is not None


def _describe(cl: Any) -> str:
    item = _item_type(cl)
    if item is None:
        if typing.get_origin(cl) in (typing.Union, types.UnionType):
            (value,) = (a for a in typing.get_args(cl) if a is not type(None))
            return f"{_describe(value)} or null"
        return str(getattr(cl, "__name__", cl))
    kind = "object" if typing.get_origin(cl) in _MAPPINGS else "list"
    return f"{kind} of {_describe(item)}"


def _under(prefix: str, field: str) -> str:
    """``[2]`` + ``created_at`` -> ``[2].created_at``; + ``[1].x`` -> ``[2][1].x``."""
    if field == "$":
        return prefix
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"


_PLAIN_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _key_path(key: object) -> str:
    """A key as a path: ``runs`` as is, anything else (``a.b``, ``1``) as ``['a.b']``."""
    if type(key) is str and _PLAIN_KEY.fullmatch(key):
        return key
    return f"[{key!r}]"


def _structure_container(cl: Any, converter: "cattrs.BaseConverter") -> Callable[[Any, Any], Any]:
    """Arrays and objects of runstate values, at any depth.

    Every problem of every item is listed, its path prefixed with the item's place
    (``[i]`` or the key). An object's keys are structured to the key type, as cattrs
    does.
    """
    item_cls = _item_type(cl)
    origin = typing.get_origin(cl)
    is_mapping = origin in _MAPPINGS
    key_cls: Any = typing.get_args(cl)[0] if is_mapping else None
    as_tuple = origin is tuple
    what = _describe(cl)
    leaf = item_cls in HOOKS

    def one(value: Any) -> Any:
        return parse_value(item_cls, value) if leaf else converter.structure(value, item_cls)

    def structure(data: Any, _: Any) -> Any:
        if is_mapping:
            if not isinstance(data, Mapping):
                raise InvalidRun.one("$", "type", "expected an object", what=what)
            pairs: Iterable[tuple[Any, Any]] = data.items()
        else:
            if isinstance(data, str | bytes | Mapping) or not isinstance(data, Sequence):
                raise InvalidRun.one("$", "type", "expected an array", what=what)
            pairs = enumerate(data)
        out: list[tuple[Any, Any]] = []
        errors: list[FieldError] = []
        for key, value in pairs:
            try:
                out.append((key, one(value)))
            except InvalidRun as exc:
                prefix = _key_path(key) if is_mapping else f"[{key}]"
                errors.extend(
                    FieldError(_under(prefix, e.field), e.rule, e.message) for e in exc.errors
                )
        if errors:
            raise InvalidRun(errors, what=what)
        if is_mapping:
            if key_cls is Any:
                return dict(out)
            return {converter.structure(k, key_cls): v for k, v in out}
        items = [v for _, v in out]
        return tuple(items) if as_tuple else items

    return structure


def configure_converter(converter: "cattrs.BaseConverter") -> None:
    """Teach any cattrs converter runstate's values: its hooks, exactly as runstate's own.

    After this, ``converter.structure(data, Run)`` validates like :func:`runstate.parse_run` (and
    raises :class:`~runstate.InvalidRun`), ``converter.unstructure(run)`` writes like
    :func:`runstate.dump_run`, for every value class of :mod:`runstate.models`, for arrays of
    them (every bad item's problems listed with paths like ``[2].created_at``), and for
    your own attrs classes that hold them, which cattrs then structures field by field.

    Example:
        >>> import attrs, cattrs, runstate
        >>> from runstate import Run
        >>> @attrs.frozen
        ... class Stored:
        ...     version: int
        ...     run: Run
        >>> conv = cattrs.Converter()
        >>> configure_converter(conv)
        >>> row = {"version": 3, "run": runstate.dump_run(runstate.new_run(
        ...     id="run_1", thread_id="t", assistant_id="a", model="m", now=1))}
        >>> conv.structure(row, Stored).run.status.value
        'queued'
        >>> conv.unstructure(conv.structure(row, Stored)) == row
        True
    """
    import cattrs  # noqa: PLC0415 - imported on first use: see the module docs

    if not isinstance(converter, cattrs.BaseConverter):
        raise InvalidArgument.expected("converter", "a cattrs converter", converter)
    converter.register_structure_hook_func(_runstate_class, _structure_value)
    converter.register_unstructure_hook_func(_runstate_class, dump_value)
    converter.register_structure_hook_factory(_holds_values, _structure_container)


def format_exception(exc: BaseException, type: Any) -> str:
    """Render an error for ``cattrs.transform_error``, runstate's problems in full.

    A converter with ``detailed_validation`` (cattrs' default) collects each refused
    runstate value as an :class:`~runstate.InvalidRun` inside its exception groups;
    ``cattrs.transform_error(exc, format_exception=format_exception)`` then lists each of
    its problems with its path (anything else as cattrs' own formatter does).

    Example:
        >>> import attrs, cattrs, runstate
        >>> from runstate import Run
        >>> @attrs.frozen
        ... class Row:
        ...     runs: list[Run]
        >>> conv = cattrs.Converter()  # detailed validation, cattrs' default
        >>> runstate.configure_converter(conv)
        >>> try:
        ...     conv.structure({"runs": [{"id": 5}]}, Row)
        ... except Exception as exc:
        ...     print(cattrs.transform_error(exc, format_exception=format_exception)[0][:32])
        [0].id: expected a string, got 5
    """
    if not isinstance(exc, BaseException):
        raise InvalidArgument.expected("exc", "an exception", exc)
    if isinstance(exc, InvalidRun):
        return "; ".join(
            e.message if e.field == "$" else f"{e.field}: {e.message}" for e in exc.errors
        )
    import cattrs  # noqa: PLC0415 - imported on first use: see the module docs

    try:
        return cattrs.v.format_exception(exc, type)
    except Exception:  # cattrs shows the type: one whose repr raises, say
        raise InvalidArgument.expected("type", "the type cattrs was structuring", type) from None


def _structure_value(data: Any, cl: Any) -> Any:
    return parse_value(cl, data)


def make_converter(*, detailed_validation: bool = False) -> "cattrs.Converter":
    """A new cattrs converter, configured by :func:`configure_converter`.

    Without ``detailed_validation`` (the default here), a refused runstate value raises
    :class:`~runstate.InvalidRun` itself, from any depth. With it, cattrs collects errors
    in its own exception groups, each runstate problem an ``InvalidRun`` inside
    (``cattrs.transform_error(exc, format_exception=format_exception)`` lists them).
    """
    import cattrs  # noqa: PLC0415 - imported on first use: see the module docs

    converter = cattrs.Converter(detailed_validation=detailed_validation)
    configure_converter(converter)
    return converter


class ReadOnlyConverterError(Error, TypeError):
    """A hook registered on (or a setting changed in) a shared, read-only converter.

    ``runstate.converter`` is shared by everyone who imports runstate, so it refuses
    changes; make your own with :func:`runstate.make_converter` (or ``.copy()`` it).
    """


def read_only_converter() -> "cattrs.Converter":
    """A converter like :func:`make_converter`'s that refuses any change after setup.

    Every ``register_*`` call and every setting change raises
    :class:`ReadOnlyConverterError` (a :class:`runstate.Error`); ``copy()`` gives a
    changeable one. ``runstate.converter`` is one.
    """
    from .readonly import ReadOnlyConverter  # noqa: PLC0415 - it imports cattrs

    converter = ReadOnlyConverter(detailed_validation=False)
    configure_converter(converter)
    object.__setattr__(converter, "_frozen", True)
    return converter


#: orjson's loads, when installed; tests set it to None to run the standard library path.
fast_loads: Callable[[str | bytes], Any] | None = jsonio.FAST_LOADS
