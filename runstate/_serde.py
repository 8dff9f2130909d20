"""Reading and writing runs as the API's JSON, losslessly and fast; the cattrs converter.

The run's front of the serde engine (:mod:`runstate._engine.serde`, which reads the
schema :mod:`runstate._model` declares): :func:`parse_run`, :func:`dump_run` and
:data:`CONVERTER`, the public cattrs converter (``runstate.converter``, made on first
access: nothing here imports cattrs until a converter is asked for).

Where the time goes, and the profiles behind each choice: ``benchmarks/RESULTS.md``.
Decoding the JSON text is about 60% of :func:`parse_run`; the rest is generated code.

Structural only: types, literal values and required keys. Per-status rules live in
:mod:`runstate._invariants`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ._engine.errors import InvalidArgument
from ._engine.jsonvalue import MAX_JSON_DEPTH, to_json_value
from ._engine.schema import DUMPERS
from ._engine.serde import (
    configure_converter,
    dump_value,
    format_exception,
    make_converter,
    make_parser,
    parse_value,
    read_only_converter,
)
from ._model import Run

__all__ = [
    "CONVERTER",
    "MAX_JSON_DEPTH",
    "configure_converter",
    "dump_run",
    "dump_value",
    "format_exception",
    "make_converter",
    "make_parser",
    "parse_run",
    "parse_value",
    "to_json_value",
]


def parse_run(data: Mapping[str, Any] | str | bytes | bytearray) -> Run:
    r"""Read a run from the API's JSON: text, bytes, or an already-decoded mapping.

    This checks structure only (types, enumerated values, required keys); per-status
    rules are :func:`runstate.violations`' job. Unknown keys are kept, at every level, and
    keys an old object lacked read as null; :func:`dump_run` writes both back unchanged.

    Strings are kept as given, lone surrogates included (a recording may hold the escape
    ``\ud800``; :func:`runstate.toolkit.run_json` writes it back as that escape). A
    ``str`` in a mapping that holds a surrogate pair as two code points is kept too, but
    cannot survive JSON text: written and read back, JSON merges the pair into one
    character. (Request parsers refuse both, as malformed JSON.)

    Args:
        data: One ``thread.run`` object, as JSON text, UTF-8 bytes or a mapping.

    Returns:
        The frozen :class:`~runstate.Run`.

    Raises:
        InvalidRun: listing every problem by field path, for example
            ``created_at: expected an integer Unix timestamp, got true``; also for text
            that is not JSON, JSON that is not an object, and input nested too deeply.

    Example:
        >>> run = parse_run(b'{"id": "run_1", "object": "thread.run", "created_at": 1,'
        ...                 b' "thread_id": "t", "assistant_id": "a", "status": "queued",'
        ...                 b' "model": "gpt-4o", "future_field": [1, 2]}')
        >>> run.status.value, run.extra
        ('queued', {'future_field': [1, 2]})
        >>> dump_run(run)["future_field"]
        [1, 2]
    """
    return _parse_run(data)


def dump_run(run: Run) -> dict[str, Any]:
    """Write a run as the API's JSON object: a fresh ``dict`` ready for ``json.dumps``.

    Keys come in the real API's order; unknown keys from the input follow, and keys an
    old input lacked stay left out while they still hold null.

    Example:
        >>> from runstate import new_run
        >>> dump_run(new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                  model="gpt-4o", now=100))["expires_at"]
        700
    """
    if type(run) is not Run:
        raise InvalidArgument.expected("run", "a runstate.Run", run)
    return _dump_run(run)


if TYPE_CHECKING:
    import cattrs

    #: The public, preconfigured cattrs converter (``runstate.converter``): structures
    #: and unstructures every value class and containers of them, losslessly, with
    #: runstate's errors. It is shared by everyone who imports runstate, so it is
    #: read-only: any ``register_*`` call or setting change raises
    #: :class:`~runstate._engine.serde.ReadOnlyConverterError` (a :class:`runstate.Error`).
    #: Make your own with :func:`runstate.make_converter` (or ``runstate.converter.copy()``),
    #: or teach one you have with :func:`runstate.configure_converter`. Made, and cattrs
    #: imported, on first access (:func:`__getattr__`).
    CONVERTER: cattrs.Converter

_CONVERTER_LOCK: Final = threading.Lock()


def __getattr__(name: str) -> object:
    """:data:`CONVERTER`, made on first access: importing cattrs is most of its cost.

    Once made it is a plain module attribute, the one object every later access (and
    ``runstate.converter``) returns; the lock makes two threads' first accesses agree.
    """
    if name == "CONVERTER":
        with _CONVERTER_LOCK:
            made = globals().get("CONVERTER")
            if made is None:
                made = globals()["CONVERTER"] = read_only_converter()
        return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_parse_run: Final = make_parser(Run, "run")


def _first_dump_run(run: Run) -> dict[str, Any]:
    """The first call of :func:`dump_run`: look the generated dumper up, then use it."""
    global _dump_run  # noqa: PLW0603 - from now on, the generated function itself
    _dump_run = DUMPERS[Run]
    return _dump_run(run)


#: Run's generated unstructure function, once :func:`dump_run` has been called.
_dump_run: Callable[[Run], dict[str, Any]] = _first_dump_run
