"""Code generation from the one schema: structure and unstructure functions, and copiers.

For each class a machine registers (:func:`extend`), Python source is generated and
compiled once:

* a **structure function**, with every check inlined (``type(v) is int``, a dict lookup
  for literals) and no per-call reflection. It takes every value in one C call (an
  ``itemgetter``), raises ``Bad`` at the first problem (the explain walker then says
  what is wrong), and builds the instance;
* an **unstructure function**, one dict display plus the unknown keys;
* on demand, a **copier** per (class, changed fields), for the lifecycle operations;
* on demand, **check-only** structure functions (``generate(check_only=True)``): the
  same checks, emitted by the same code, building nothing and returning their input
  (kept JSON is scanned, not frozen, by a scanner that refuses exactly what the
  freezer refuses). They accept exactly what the structure functions accept; the
  trace checker uses them to judge step and message text without building values.

Each class's functions are generated on its first lookup in :data:`HOOKS`,
:data:`GUARDED_HOOKS` or ``DUMPERS`` (:class:`~runstate._engine.schema.Generated`),
together with the classes it nests (:func:`closure`), so ``import runstate`` compiles
nothing for a class nobody uses. The code is the same whichever class comes first; only
the numbers in the names it binds (``_get57``) follow the order. Each namespace has a
lock, so two threads never generate into it at once and each class is compiled once per
namespace; a thread that finds a function in a table finds everything it calls.

The generated source is registered with :mod:`linecache` under a file name like
``<runstate generated Run>``, as attrs and cattrs do, so tracebacks and debuggers show it.

Building without ``__init__``
-----------------------------
Parsing and copying fill instances without running the attrs ``__init__``: that is most
of their speed. :func:`emit_construct` is the one place that does it, in one of three
ways, chosen per class at generation time:

``swap`` (CPython with the GIL)
    Fill an instance of a private, unfrozen subclass with plain slot stores (about 8 ns
    a field on 3.11, against 45 ns for each frozen slot's ``__set__``), then set its
    ``__class__`` to the public class. The two layouts are identical, the instance is
    private until then, and from then on it is an ordinary instance.
``portable`` (every other interpreter: PyPy, free-threaded CPython)
    ``object.__new__`` and ``object.__setattr__`` per field: slower, and nothing an
    interpreter could object to.
``init``
    The class has something the generated code does not reproduce (an
    ``__attrs_post_init__``, or a validator or converter other than the schema's own):
    call the class, so nothing is skipped silently.

The schema's own validator (:func:`runstate._engine.values.field_check`) and converters (the
freezing ones) are reproduced exactly: the generated code runs the same schema's checks
and freezes kept JSON itself. Both building paths are tested on every real recording.
"""

from __future__ import annotations

import functools
import itertools
import linecache
import math
import operator
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal, TypeAlias

import attrs

from . import values
from .frozen import EMPTY, EMPTY_LIST, FrozenDict
from .jsonio import FAST_LOADS
from .jsonvalue import GUARDED_FLOAT_LIMIT, freeze, freeze_guarded, scan, scan_guarded, thaw
from .schema import (
    COMMON_VALUES,
    DUMPERS,
    LATE_KEYS,
    LIKELY_EXTRAS,
    MISSING,
    SCHEMA,
    UNIONS,
    Bad,
    Emitter,
    Field,
    Generated,
    register,
    structure_name,
    unstructure_name,
)
from .values import NO_KEYS

__all__ = [
    "GUARDED_HOOKS",
    "HOOKS",
    "SWAP",
    "Plan",
    "closure",
    "copier",
    "emit_construct",
    "extend",
    "generate",
    "plan",
]

Plan: TypeAlias = Literal["swap", "portable", "init"]


def _gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)  # 3.13+; absent means there is a GIL
    return True if check is None else bool(check())


#: Whether the ``swap`` build is used: known safe on CPython with the GIL only.
SWAP: Final[bool] = sys.implementation.name == "cpython" and _gil_enabled()

#: The validators and converters of the model whose work the generated code does itself.
_KNOWN_VALIDATORS: Final = frozenset(
    {values.field_check, values.check_extra, values.check_absent, values.check_order}
)
_KNOWN_CONVERTERS: Final = frozenset({values.to_tuple, *values.FREEZERS})


def plan(cls: type, *, swap: bool = SWAP) -> Plan:
    """How instances of ``cls`` are built without ``__init__`` (see the module docs)."""
    if hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
        return "init"
    for field in attrs.fields(cls):
        if field.validator is not None and field.validator not in _KNOWN_VALIDATORS:
            return "init"
        if field.converter is not None and field.converter not in _KNOWN_CONVERTERS:
            return "init"
    return "swap" if swap else "portable"


@functools.cache
def _building_class(cls: type) -> type:
    """The private subclass of ``cls`` whose instances take plain slot stores.

    It adds no slot and no state (``__slots__ = ()``) and restores ``object``'s own
    ``__setattr__`` and ``__delattr__`` (both: CPython only uses the generic,
    specialisable store when neither is overridden), and ``object.__init__`` so that
    calling it allocates without the attrs ``__init__``.
    """
    return type(
        f"_Building{cls.__name__}",
        (cls,),
        {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__init__": object.__init__,
            "__module__": __name__,
            "__doc__": f"Private: a {cls.__name__} being built by generated code.",
        },
    )


def emit_construct(
    em: Emitter, cls: type, values: Mapping[str, str], indent: str, *, swap: bool = SWAP
) -> None:
    """Emit ``r = <an instance of cls>`` whose fields are the expressions in ``values``.

    ``values`` names every field of ``cls``. The one builder of generated code.
    """
    names = [f.name for f in attrs.fields(cls)]
    if sorted(names) != sorted(values):  # pragma: no cover - a generator bug
        raise AssertionError(f"{cls.__name__}: fields {sorted(names)}, given {sorted(values)}")
    how = plan(cls, swap=swap)
    if how == "init":
        args = ", ".join(f"{name}={values[name]}" for name in names)
        em.lines.append(f"{indent}r = {em.bind(cls, 'cls')}({args})")
    elif how == "swap":
        em.lines.append(f"{indent}r = {em.bind(_building_class(cls), 'build')}()")
        em.lines.extend(f"{indent}r.{name} = {values[name]}" for name in names)
        em.lines.append(f"{indent}r.__class__ = {em.bind(cls, 'cls')}")
    else:
        new, store = em.bind(object.__new__, "new"), em.bind(object.__setattr__, "store")
        em.lines.append(f"{indent}r = {new}({em.bind(cls, 'cls')})")
        em.lines.extend(f"{indent}{store}(r, {name!r}, {values[name]})" for name in names)


def _emit_build(em: Emitter, cls: type, fields: dict[str, Field], absent: str) -> None:
    """Emit the checks of unknown keys, then the instance from ``v0``..``vN``, ``ex``."""
    # Unknown keys hold kept JSON: the same depth and finiteness rule as JSON objects.
    # Inline, so the usual unknown values (null, {}, []) cost no call.
    em.lines.append("    if ex:")
    if em.ns["_CHECK_ONLY"] and plan(cls) != "init":
        # Checking code (see ``generate``): the same checks, nothing built. The scan of an
        # empty container cannot fail (depth 0), so it is skipped.
        em.lines.append("        for x in ex.values():")
        em.lines.append("            t = type(x)")
        em.lines.append("            if t is dict or t is list:")
        em.lines.append("                if x: _freeze(x, 0)")
        em.lines.append("            elif t is float and not -_BIG < x < _BIG: raise _Bad")
        em.lines.append("    return o")
        return
    em.lines.append("        for k, x in ex.items():")
    em.lines.append("            t = type(x)")
    em.lines.append("            if t is dict or t is list:")
    # An empty object or array (``tool_resources: {}``) is the shared one, without a call.
    em.lines.append(
        "                ex[k] = _freeze(x, 0) if x else _EMPTY if t is dict else _EMPTY_LIST"
    )
    em.lines.append("            elif t is float and not -_BIG < x < _BIG: raise _Bad")
    em.lines.append("        ex = _FrozenDict(ex)")
    values = {key: f"v{i}" for i, key in enumerate(fields)}
    values.update(extra="ex", absent=absent)
    if _keeps_order(cls):
        # The input's key order, unless it is the schema's (known keys in schema order,
        # unknown ones after them): positions, in C, must never decrease.
        positions = em.bind({key: i for i, key in enumerate(fields)}, "pos")
        em.lines.append(f"    ko = list(map({positions}.get, o, _REPEAT({len(fields)})))")
        em.lines.append("    ko = None if ko == sorted(ko) else tuple(o)")
        values["key_order"] = "ko"
    emit_construct(em, cls, values, "    ", swap=em.ns["_SWAP"])
    em.lines.append("    return r")


def _defaults(cls: type) -> dict[str, Any]:
    return {
        f.name: f.default
        for f in attrs.fields(cls)
        if f.default is not attrs.NOTHING and f.name not in values.NOT_WIRE
    }


def _gen_structure(cls: type, fields: dict[str, Field], ns: dict[str, Any]) -> str:
    """The structure function of ``cls``, and the one for inputs that lack a key.

    The common case, every key present, takes the values in one C call (an
    ``itemgetter``); a missing key raises ``KeyError`` there and hands the input to the
    ``_gaps`` variant, which looks each key up and records the absent ones. Unknown keys
    cost one ``len`` when there are none, a lookup or two when there is one the real API
    sends (:data:`LIKELY_EXTRAS`), and a copy otherwise. Both variants run the same
    checks, emitted from the same schema.
    """
    em = Emitter(ns)
    name = structure_name(cls)
    gaps = f"{name}_gaps"
    keys = tuple(fields)
    n = len(keys)
    if not all(k.isidentifier() for k in keys):  # pragma: no cover - stored as attributes
        raise AssertionError(f"SCHEMA[{cls.__name__}] has a key that is not an identifier")
    likely = LIKELY_EXTRAS.get(cls, ())
    known = em.bind(frozenset(keys), "known")
    targets = ", ".join(f"v{i}" for i in range(n)) + ("," if n == 1 else "")
    getter = em.bind(operator.itemgetter(*keys), "get") if n > 1 else ""

    def get_all(source: str, method: str, indent: str) -> None:
        """Emit: every value from ``source`` in one C call, or hand ``o`` to ``_gaps``."""
        em.lines.append(f"{indent}try:")
        if method == "pop":
            em.lines.append(f"{indent}    {targets} = map({source}.pop, {em.bind(keys, 'keys')})")
        elif n == 1:
            em.lines.append(f"{indent}    v0 = {source}[{keys[0]!r}]")
        else:
            em.lines.append(f"{indent}    {targets} = {getter}({source})")
        em.lines.append(f"{indent}except KeyError:")
        em.lines.append(f"{indent}    return {gaps}(o)")

    em.lines.append(f"def {name}(o):")
    em.lines.append("    if type(o) is not dict: raise _Bad")
    late = LATE_KEYS.get(cls, ())
    if late:
        # Objects older than a key the API added late lack it: straight to ``_gaps``,
        # since a KeyError raised and caught costs more than a lookup or two.
        em.lines.append(f"    if {' or '.join(f'{k!r} not in o' for k in late)}: return {gaps}(o)")
    # With every key present (else KeyError), len(o) - n is the number of unknown keys.
    em.lines.append(f"    if len(o) == {n}:")
    get_all("o", "get", "        ")
    em.lines.append("        ex = _EMPTY")
    _emit_likely_extras(em, likely, n, known, functools.partial(get_all, "o", "get"))
    # Several unknown keys: popping the known ones from a copy leaves the unknown ones
    # in input order, in C; dict(d) then makes it compact (d keeps its large table).
    em.lines.append(f"    elif len(o) < {n}: return {gaps}(o)")
    em.lines.append("    else:")
    em.lines.append("        d = o.copy()")
    get_all("d", "pop", "        ")
    em.lines.append("        ex = dict(d)")
    for i, (kind, _) in enumerate(fields.values()):
        kind.emit(em, f"v{i}", "    ")
    _emit_build(em, cls, fields, "_NO_KEYS")
    em.lines.append("")
    _gen_gaps(em, cls, fields, gaps)
    return "\n".join(em.lines)


def _emit_likely_extras(
    em: Emitter, likely: tuple[str, ...], n: int, known: str, get_all: Callable[[str], None]
) -> None:
    """Emit the branches of the structure function for one or two likely unknown keys."""
    for count in (1, 2)[: len(likely)]:
        em.lines.append(f"    elif len(o) == {n + count}:")
        get_all(" " * 8)
        _emit_extras_lookup(em, likely, count, known, " " * 8)


def _emit_extras_lookup(
    em: Emitter, likely: tuple[str, ...], count: int, known: str, indent: str
) -> None:
    """Emit ``ex = ...`` for an ``o`` known to hold ``count`` (1 or 2) unknown keys.

    One: a lookup per likely key finds it. Two: lookups find them, and which of the two
    comes last is found by walking the keys from the end, in C (on a 2025 run,
    ``reasoning_effort`` is ninth from the end). Either way ``ex`` holds them in input
    order, as the pass over every key that ends the chain would.
    """
    if count == 1:
        for j, key in enumerate(likely):
            em.lines.append(
                f"{indent}{'elif' if j else 'if'} {key!r} in o: ex = {{{key!r}: o[{key!r}]}}"
            )
    else:
        for j, (a, b) in enumerate(itertools.combinations(likely, 2)):
            last = em.bind(frozenset((a, b)).__contains__, "pair")
            em.lines.append(f"{indent}{'elif' if j else 'if'} {a!r} in o and {b!r} in o:")
            if em.ns["_CHECK_ONLY"]:  # checking code: the order of ex does not matter
                em.lines.append(f"{indent}    ex = {{{a!r}: o[{a!r}], {b!r}: o[{b!r}]}}")
                continue
            em.lines.append(f"{indent}    if next(filter({last}, reversed(o))) == {b!r}:")
            em.lines.append(f"{indent}        ex = {{{a!r}: o[{a!r}], {b!r}: o[{b!r}]}}")
            em.lines.append(f"{indent}    else:")
            em.lines.append(f"{indent}        ex = {{{b!r}: o[{b!r}], {a!r}: o[{a!r}]}}")
    em.lines.append(f"{indent}else: ex = {{k: x for k, x in o.items() if k not in {known}}}")


def _gen_gaps(em: Emitter, cls: type, fields: dict[str, Field], name: str) -> None:
    """The variant for an input (a dict) that lacks some key: assistants v1 objects.

    Every key is looked up in one C call (``map(o.get, keys, missing)``), absent optional
    keys are collected as bits of an int, and the bits become a frozenset through
    :class:`_AbsentSets`, so runs missing the same keys share one.
    """
    defaults = _defaults(cls)
    keys = tuple(fields)
    n = len(keys)
    known = em.bind(frozenset(fields), "known")
    optional = [key for key, (_, required) in fields.items() if not required]
    absent_sets = em.bind(_AbsentSets(optional), "absent")
    targets = ", ".join(f"v{i}" for i in range(n)) + ("," if n == 1 else "")
    em.lines.append(f"def {name}(o):")
    em.lines.append(
        f"    {targets} = map(o.get, {em.bind(keys, 'keys')}, {em.bind((MISSING,) * n, 'ms')})"
    )
    em.lines.append("    ab = 0")
    for i, (key, (kind, required)) in enumerate(fields.items()):
        var = f"v{i}"
        if required:
            em.lines.append(f"    if {var} is _MISSING: raise _Bad")
            kind.emit(em, var, "    ")
        else:
            default = em.bind(defaults[key], "default")
            bit = 1 << optional.index(key)
            em.lines.append(f"    if {var} is _MISSING:")
            em.lines.append(f"        {var} = {default}; ab |= {bit}")
            em.lines.append("    else:")
            kind.emit(em, var, "        ")
    em.lines.append(f"    ab = {absent_sets}[ab]")
    em.lines.append(f"    k = len(o) + len(ab) - {n}  # the number of unknown keys")
    em.lines.append("    if not k: ex = _EMPTY")
    likely = LIKELY_EXTRAS.get(cls, ())
    for count in (1, 2)[: len(likely)]:
        em.lines.append(f"    elif k == {count}:")
        _emit_extras_lookup(em, likely, count, known, " " * 8)
    em.lines.append(f"    else: ex = {{k: x for k, x in o.items() if k not in {known}}}")
    _emit_build(em, cls, fields, "ab")


class _AbsentSets(dict[int, frozenset[str]]):
    """Bit mask of absent optional keys -> their frozenset, made once per mask.

    At most ``LIMIT`` masks are kept (real inputs show a handful); past that, sets are
    made per call.
    """

    LIMIT: Final = 256

    def __init__(self, optional: list[str]) -> None:
        super().__init__({0: NO_KEYS})
        self.optional = optional

    def __missing__(self, mask: int) -> frozenset[str]:
        keys = frozenset(k for i, k in enumerate(self.optional) if mask >> i & 1)
        if len(self) < self.LIMIT:
            self[mask] = keys
        return keys


def _gen_unstructure(cls: type, fields: dict[str, Field], ns: dict[str, Any]) -> str:
    em = Emitter(ns)
    name = unstructure_name(cls)
    items = [f"{key!r}: {kind.dump_expr(em, f'r.{key}')}" for key, (kind, _) in fields.items()]
    dumped_defaults = {
        key: (None if default is None else [] if default == () else default)
        for key, default in _defaults(cls).items()
        if key in fields and not fields[key][1]
    }
    dd = em.bind(dumped_defaults, "dumped")
    em.lines.append(f"def {name}(r):")
    em.lines.append("    d = {" + ", ".join(items) + "}")
    em.lines.append("    if r.extra: _merge(d, r.extra)")
    em.lines.append(f"    if r.absent: _drop(d, r.absent, {dd})")
    if _keeps_order(cls):
        em.lines.append("    if r.key_order is not None: d = _reorder(d, r.key_order)")
    em.lines.append("    return d")
    return "\n".join(em.lines)


def _keeps_order(cls: type) -> bool:
    """Whether values of ``cls`` remember their input's key order (``key_order``)."""
    return any(f.name == "key_order" for f in attrs.fields(cls))


def _reorder(d: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """``d`` with its keys in ``order``; keys ``order`` lacks (set since) follow."""
    out = {k: d[k] for k in order if k in d}
    if len(out) != len(d):
        out.update((k, v) for k, v in d.items() if k not in out)
    return out


def _merge(d: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for k, v in extra.items():
        if k not in d:  # a known key always wins over a hand-made clashing extra
            d[k] = thaw(v)


def _drop(d: dict[str, Any], absent: frozenset[str], dumped_defaults: dict[str, Any]) -> None:
    for k in absent:
        if k in dumped_defaults and d.get(k, MISSING) == dumped_defaults[k]:
            del d[k]


def _namespace(swap: bool, guard_floats: bool = False, check_only: bool = False) -> dict[str, Any]:
    if check_only:
        freezer = scan_guarded if guard_floats else scan
    else:
        freezer = freeze_guarded if guard_floats else freeze
    return {
        "_SWAP": swap,
        "_CHECK_ONLY": check_only,
        "_GUARD_FLOATS": guard_floats,
        "_BIG": GUARDED_FLOAT_LIMIT if guard_floats else math.inf,
        "_Bad": Bad,
        "_MISSING": MISSING,
        "_EMPTY": EMPTY,
        "_EMPTY_LIST": EMPTY_LIST,
        "_NO_KEYS": NO_KEYS,
        "_freeze": freezer,
        "_FrozenDict": FrozenDict,
        "_thaw": thaw,
        "_merge": _merge,
        "_drop": _drop,
        "_reorder": _reorder,
        "_REPEAT": itertools.repeat,
    }


def _compile(source: str, filename: str, ns: dict[str, Any]) -> None:
    """Compile and run generated source, registered with linecache for tracebacks."""
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), ns)


class _Namespace:
    """One namespace of generated code, filled class by class.

    The structure and unstructure functions of each class are compiled into one shared
    namespace, where they call each other by name (``_s_Usage(v)``) and find the tagged
    unions' tables and the common values. :meth:`add` generates the classes not yet in it;
    a lock keeps two threads from emitting into the namespace at once (the names it
    binds are numbered by its size), so each class is generated once per namespace.
    """

    def __init__(self, swap: bool, guard_floats: bool, check_only: bool) -> None:
        self.ns = _namespace(swap, guard_floats, check_only)
        self.label = ("swap" if swap else "portable") + (", orjson" if guard_floats else "")
        self.label += ", check only" if check_only else ""
        self.done: dict[type, None] = {}  # the classes generated here, in order
        self.lock = threading.RLock()

    def add(self, classes: Iterable[type]) -> list[type]:
        """Generate the functions of those of ``classes`` not generated yet; return them.

        The classes their code calls must be among ``classes`` or generated already
        (:func:`closure`).
        """
        ns = self.ns
        with self.lock:
            new = [cls for cls in dict.fromkeys(classes) if cls not in self.done]
            for cls in new:
                fields = SCHEMA[cls]
                source = (
                    _gen_structure(cls, fields, ns) + "\n\n" + _gen_unstructure(cls, fields, ns)
                )
                _compile(source + "\n", f"<runstate generated {cls.__name__} ({self.label})>", ns)
                self.done[cls] = None
            for union in UNIONS:
                if all(cls in self.done for cls in union.classes.values()):
                    table = ns.setdefault(f"_tags_{id(union)}", {})
                    table.update({t: ns[structure_name(c)] for t, c in union.classes.items()})
            for cls, value in COMMON_VALUES.items():
                if cls not in new:
                    continue
                if not all(v is None or type(v) is str for v in value.values()):  # pragma: no cover
                    raise AssertionError(
                        f"COMMON_VALUES[{cls.__name__}] may hold only str and None"
                    )
                ns[f"_common_json_{cls.__name__}"] = value
                ns[f"_common_{cls.__name__}"] = ns[structure_name(cls)](dict(value))
        return new


def closure(classes: Iterable[type]) -> list[type]:
    """``classes`` and every class their generated code calls, at any depth, in schema order."""
    seen: set[type] = set()
    todo = list(classes)
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.add(cls)
            todo.extend(c for kind, _ in SCHEMA[cls].values() for c in kind.nested())
    return [cls for cls in SCHEMA if cls in seen]


def generate(
    *,
    swap: bool = SWAP,
    guard_floats: bool = False,
    check_only: bool = False,
    classes: Mapping[type, dict[str, Field]] | None = None,
) -> dict[type, Callable[[Any], Any]]:
    """Generate every class's structure function in a fresh namespace, now; return them.

    :data:`HOOKS` hold the functions generated on first use for each machine's classes
    (:func:`extend`); tests call ``generate(swap=False)`` to run the portable build on
    the same inputs. With ``guard_floats``, the functions also refuse floats of 2**63 or
    more in magnitude: they read orjson's output, where such a float may have been an
    integer the standard library keeps exact (:mod:`runstate._engine.jsonio`); a refused
    input is then read again by the standard library.
    With ``check_only``, the functions run every check and return their input instead
    of building an instance (for callers that only need to know whether a parse would
    succeed). ``classes`` limits the generation to some of the registered classes (and
    the classes they nest).
    """
    space = _Namespace(swap, guard_floats, check_only)
    todo = list(SCHEMA if classes is None else classes)
    space.add(closure(todo))
    return {cls: space.ns[structure_name(cls)] for cls in todo}


class _Builder:
    """Fills the tables of generated functions for one namespace, on a class's first use.

    Called by :class:`~runstate._engine.schema.Generated` (``HOOKS[cls]`` of a class not
    built yet): generates the class and the classes it nests (:func:`closure`), then
    stores their structure functions in ``hooks`` and, for the plain namespace, their
    unstructure functions in ``DUMPERS``. Everything a function calls is in the namespace
    before the function is stored, and all under the namespace's lock, so a thread that
    finds a function in a table can call it.
    """

    def __init__(self, hooks: Generated[Callable[[Any], Any]], *, guard_floats: bool) -> None:
        self.hooks = hooks
        self.dumpers = None if guard_floats else DUMPERS
        self.space = _Namespace(SWAP, guard_floats, False)

    def __call__(self, cls: type) -> None:
        space, ns = self.space, self.space.ns
        with space.lock:
            for new in space.add(closure([cls])):
                self.hooks[new] = ns[structure_name(new)]
                if self.dumpers is not None:
                    self.dumpers[new] = ns[unstructure_name(new)]


#: class -> its generated structure function (JSON value in, frozen instance out); each
#: machine's model declares its classes (:func:`extend`), whose functions are generated
#: on first use (see :class:`~runstate._engine.schema.Generated`).
HOOKS: Final[Generated[Callable[[Any], Any]]] = Generated()
#: The same, for orjson's output (see :func:`generate`); only when orjson is installed.
GUARDED_HOOKS: Final[Generated[Callable[[Any], Any]]] = Generated()


def extend(
    schema: Mapping[type, dict[str, Field]],
    *,
    common: Mapping[type, dict[str, Any]] | None = None,
    likely: Mapping[type, tuple[str, ...]] | None = None,
    late: Mapping[type, tuple[str, ...]] | None = None,
) -> None:
    """Declare a machine's value classes: the one engine, their own schema.

    The machine's model module calls it once, where it declares its classes (the run's:
    :mod:`runstate._model`; the response's: :mod:`runstate.responses._model`). The
    classes join :data:`SCHEMA` (:func:`runstate._engine.schema.register`, with
    ``common``, ``likely`` and ``late``); their structure functions (in :data:`HOOKS`,
    and :data:`GUARDED_HOOKS` when orjson is installed) and dumpers (in ``DUMPERS``) are
    generated when first looked up, a class with the classes it nests, into one
    namespace per machine and table. :func:`runstate._engine.serde.parse_value` and
    ``dump_value`` then read and write them.
    """
    register(schema, common=common, likely=likely, late=late)
    plain = _Builder(HOOKS, guard_floats=False)
    HOOKS.defer(schema, plain)
    DUMPERS.defer(schema, plain)
    if FAST_LOADS is not None:
        GUARDED_HOOKS.defer(schema, _Builder(GUARDED_HOOKS, guard_floats=True))


# --------------------------------------------------------------------------------------
# Copiers: a run with a few fields changed, for the lifecycle operations

_COPIERS: Final[dict[tuple[type, tuple[str, ...], bool], Callable[..., Any]]] = {}


def copier(cls: type, *changed: str, checked: bool = True) -> Callable[..., Any]:
    """The generated copier of ``cls`` for ``changed``: ``copy(old, *new_values)``.

    ``attrs.evolve`` runs ``__init__`` with every field; the operations change two to
    five fields of a 29-field run per request, so they use this instead. With
    ``checked`` (the default) each new value passes through its field's converter and
    validator first, so a copier refuses exactly what ``attrs.evolve`` refuses; an
    operation passing values it made itself may use ``checked=False``. Unknown field
    names raise ``TypeError``, as ``attrs.evolve`` does.
    """
    key = (cls, changed, checked)
    found = _COPIERS.get(key)
    if found is None:
        found = _COPIERS[key] = _make_copier(cls, changed, checked)
    return found


def _make_copier(cls: type, changed: tuple[str, ...], checked: bool) -> Callable[..., Any]:
    fields = {f.name: f for f in attrs.fields(cls)}
    unknown = sorted(set(changed) - set(fields))
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {unknown[0]!r}")
    em = Emitter(_namespace(SWAP))
    em.lines.append(f"def copy(o, {', '.join(changed)}):")
    for name in changed if checked else ():
        field = fields[name]
        if field.converter is not None:
            em.lines.append(f"    {name} = {em.bind(field.converter, 'conv')}({name})")
        if field.validator is not None:
            attribute = em.bind(field, "attr")
            # The old instance stands for the new one: the checks only look at its type.
            em.lines.append(f"    {em.bind(field.validator, 'valid')}(o, {attribute}, {name})")
    values = {name: (name if name in changed else f"o.{name}") for name in fields}
    if "absent" in fields and "absent" not in changed:
        # A key the input lacked stays left out only while it holds its default; a
        # field set to anything else is present again, so equality follows the dump.
        # Straight-line, one membership test per changed optional field, and only for
        # inputs that lacked keys: nothing for the usual run.
        optional = [name for name in changed if name in _defaults(cls)]
        em.lines.append("    ab = o.absent")
        if optional:
            em.lines.append("    if ab:")
            for name in optional:
                default = _defaults(cls)[name]
                differs = (
                    f"{name} is not None"
                    if default is None
                    else f"{name} != {em.bind(default, 'default')}"
                )
                em.lines.append(f"        if {name!r} in ab and {differs}: ab = ab - {{{name!r}}}")
        values["absent"] = "ab"
    emit_construct(em, cls, values, "    ")
    em.lines.append("    return r")
    filename = f"<runstate generated copier {cls.__name__}({', '.join(changed)})>"
    _compile("\n".join(em.lines) + "\n", filename, em.ns)
    return em.ns["copy"]  # type: ignore[no-any-return]
