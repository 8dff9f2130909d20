"""Each limit, status, step type and operation name is written as a literal in one file.

Issue 18: "every limit number and every status, operation and step-type name appears as
a literal in one package file only. Tables, Literals, docstrings, doctests and error
texts do not count." This walks the AST of every module under ``runstate/`` and counts
the files holding each fact as a literal.

What counts as a literal of a fact:

* an ``ast.Constant`` equal to it: an ``int`` (``256_000`` too) for a limit, the exact
  ``str`` for a name. Strings are compared whole, so a number or a name inside an error
  text or an f-string (``"... maximum length 512 ..."``) is never a literal of it;
* a range (``0..2``, ``0..1``, ``1..50``) counts where its two ends sit next to each other
  as constants: the arguments of one call (``st.floats(0, 2)``) or one chained
  comparison (``0 <= x <= 2``), since ``0``, ``1`` and ``2`` alone are everywhere.

What does not count:

* docstrings (and the doctests inside them): the first string of a module, class or
  function;
* declarations: ``Literal[...]`` subscripts and the member values of an ``Enum`` class;
* ``__all__``: it lists Python names (the ``start`` function), not the values;
* for names, a string in a *key* position, where it names a field or an argument sharing
  the spelling (``{"tool_calls": ...}``, ``obj["tool_calls"]``, ``obj.get("usage")``,
  ``getattr(run, "completed_at")``, ``InvalidRun.one(field="tool_calls", ...)``, the
  operations table's ``takes=("tool_calls",)``), not the value;
* the field-rule table ``runstate/_fields.py`` is where the limits live: it is the one
  file allowed for each of them;
* ``runstate/responses/`` and the Responses kit (``runstate/testing/_response*.py``) for
  names: the sibling machine declares its own statuses and operations (``completed`` is a
  Response status too, ``cancel`` a Response operation); these tests hold the Run
  machine's names.

Limits below 16 (1, 10) are too common to track by value (``10**n``, ``[1:]``); their only
statement is the table's row, which ``test_table_holds_every_limit`` reads back.
Unrelated constants that share a limit's number (a 64 KiB chunk, the list pages' default
of 20) are exempted one by one below, by the source text around them.
"""

from __future__ import annotations

import ast
import itertools
import pathlib
import shutil
from collections import defaultdict
from collections.abc import Iterator
from typing import get_args

import pytest

from runstate import RunStatus
from runstate._fields import FIELD_RULES
from runstate._model import MessageStatus, StepStatus, StepType
from runstate._operations import Op

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "runstate"

#: Constants that share a limit's number but state another fact: (number, source text).
UNRELATED: dict[tuple[int, str], str] = {
    (16, "len(self._buf) - 16"): "the CLI reader's look-back margin",
    (16, "st.integers(16, 4096)"): "Responses' max_output_tokens minimum (another machine)",
    (64, "64 * 1024"): "I/O chunk and record sizes",
    (256, "ord(char) < 0x100"): "a code point bound (latin-1)",
    (256, "LIMIT: Final = 256"): "the code generator's line budget",
    (256, "MAX_OPEN: Final = 256"): "the trace checker's bound on open objects",
    (20, "MAX_LISTED: Final = 20"): "how many ids an error message lists",
    (20, "DEFAULT_LIMIT: Final = 20"): "the list endpoints' default page size (§10.2)",
    (20, "_PAGE_LIMIT: Final = 20"): "the kit's page size, the list default",
    (128, "128 + 13"): "a shell's exit status for SIGPIPE",
    (10_000, "st.integers(0, 10_000)"): "drawn token counts",
    (20, "min_size=1, max_size=20)"): "the length of drawn unknown keys",
}

#: Keyword arguments whose string names a field or an argument (a key position).
KEY_KEYWORDS: frozenset[str] = frozenset({"field", "takes", "may_take"})

#: The run's, steps' and messages' statuses (the step and message statuses share the
#: run's spelling), the step types and the operation names. An Enum's values and the
#: Literals do not count, so RunStatus, StepStatus and Op state theirs in no file; the
#: one file allowed for each name is _model.py, where the message statuses and step
#: types are constants beside their Literals (and ``submit_tool_outputs`` is
#: required_action's type tag).
DECLARING = {"_model.py"}
STATUS_NAMES = tuple(
    dict.fromkeys(
        [
            *(s.value for s in RunStatus),
            *(s.value for s in StepStatus),
            *get_args(MessageStatus),
        ]
    )
)
STEP_TYPES: tuple[str, ...] = get_args(StepType)
OPERATION_NAMES = tuple(op.value for op in Op)


def _limits() -> tuple[set[int], set[tuple[float, float]]]:
    numbers: set[int] = set()
    ranges: set[tuple[float, float]] = set()
    for row in FIELD_RULES:
        for value in (row.minimum, row.maximum, row.max_length, row.max_items, row.key_length):
            if type(value) is int and value >= 16:
                numbers.add(value)
        if row.minimum is not None and row.maximum is not None:
            ranges.add((row.minimum, row.maximum))
    return numbers, ranges


NUMBERS, RANGES = _limits()


def _files(package: pathlib.Path) -> Iterator[tuple[str, ast.Module, list[str]]]:
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        yield str(path.relative_to(package)), ast.parse(text), text.splitlines()


def _skipped(tree: ast.Module) -> tuple[set[int], set[int]]:
    """Ids of constants that never count, and of those in a key position."""
    never: set[int] = set()
    keys: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                never.add(id(body[0].value))
        if isinstance(node, ast.Subscript):
            name = node.value
            if (isinstance(name, ast.Name) and name.id == "Literal") or (
                isinstance(name, ast.Attribute) and name.attr == "Literal"
            ):
                never.update(id(n) for n in ast.walk(node.slice))
            else:
                keys.update(id(n) for n in ast.walk(node.slice) if isinstance(n, ast.Constant))
        if isinstance(node, ast.ClassDef) and any(
            (isinstance(b, ast.Name) and b.id.endswith("Enum"))
            or (isinstance(b, ast.Attribute) and b.attr.endswith("Enum"))
            for b in node.bases
        ):
            for stmt in node.body:
                if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
                    never.update(id(n) for n in ast.walk(stmt.value))
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and any(
            isinstance(t, ast.Name) and t.id == "__all__"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        ):
            never.update(id(n) for n in ast.walk(node))  # exported Python names
        if isinstance(node, ast.Dict):
            keys.update(id(k) for k in node.keys if k is not None)
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("get", "pop", "setdefault") and node.args:
                keys.add(id(node.args[0]))
            if name in ("getattr", "hasattr", "setattr") and len(node.args) > 1:
                keys.add(id(node.args[1]))
            for keyword in node.keywords:
                if keyword.arg in KEY_KEYWORDS:
                    keys.update(id(n) for n in ast.walk(keyword.value))
    return never, keys


def _pairs(node: ast.AST) -> Iterator[tuple[object, object]]:
    """Adjacent constants: a call's arguments, a chained comparison's ends."""
    if isinstance(node, ast.Call):
        args = node.args
        for a, b in itertools.pairwise(args):
            if isinstance(a, ast.Constant) and isinstance(b, ast.Constant):
                yield a.value, b.value
    if isinstance(node, ast.Compare) and len(node.comparators) == 2:
        low, high = node.left, node.comparators[1]
        if isinstance(low, ast.Constant) and isinstance(high, ast.Constant):
            yield low.value, high.value


def _hits(
    package: pathlib.Path = PACKAGE,
) -> tuple[dict[object, set[str]], dict[str, set[str]], list[str]]:
    """Files per number or range, files per name, and the exemptions that matched."""
    numbers: dict[object, set[str]] = defaultdict(set)
    names: dict[str, set[str]] = defaultdict(set)
    used: list[str] = []
    wanted = set(STATUS_NAMES) | set(STEP_TYPES) | set(OPERATION_NAMES)
    for where, tree, lines in _files(package):
        never, keys = _skipped(tree)
        for node in ast.walk(tree):
            for low, high in _pairs(node):
                if (low, high) in RANGES and type(low) is type(high) is int:
                    numbers[(low, high)].add(where)
            if not isinstance(node, ast.Constant) or id(node) in never:
                continue
            value = node.value
            if type(value) is int and value in NUMBERS and where != "_fields.py":
                line = lines[node.lineno - 1]
                exempt = [k for k in UNRELATED if k[0] == value and k[1] in line]
                if exempt:
                    used.extend(k[1] for k in exempt)
                else:
                    numbers[value].add(where)
            elif (
                type(value) is str
                and value in wanted
                and id(node) not in keys
                and not where.startswith(("responses", "testing/_response"))
            ):
                names[value].add(where)
    return numbers, names, used


NUMBER_HITS, NAME_HITS, USED = _hits()


def test_table_holds_every_limit() -> None:
    # The numbers the issue names are rows of the table, so they are tracked here.
    assert {16, 64, 512, 256, 20, 128, 256_000} <= NUMBERS
    assert {(0, 2), (0, 1), (1, 50)} <= RANGES


@pytest.mark.parametrize("limit", sorted(NUMBERS) + sorted(RANGES), ids=str)
def test_each_limit_is_written_once(limit: object) -> None:
    files = NUMBER_HITS.get(limit, set())
    if isinstance(limit, tuple):
        files = files - {"_fields.py"}
    assert files == set(), f"{limit} is written outside runstate/_fields.py in {sorted(files)}"


def test_each_exemption_still_matches() -> None:
    assert {text for _, text in UNRELATED} == set(USED)


def test_the_names_are_all_there() -> None:
    # Derived from the declarations, so a new status, step type or operation is tracked.
    assert {"in_progress", "cancelling", "expired", "incomplete"} <= set(STATUS_NAMES)
    assert set(STEP_TYPES) == {"message_creation", "tool_calls"}
    assert {"finish_cancel", "update_metadata", "complete_tool_calls_step"} <= set(OPERATION_NAMES)


@pytest.mark.parametrize("name", STATUS_NAMES + STEP_TYPES)
def test_status_and_step_type_names_are_written_once(name: str) -> None:
    files = NAME_HITS.get(name, set())
    assert files <= DECLARING, f"{name!r} is written in {sorted(files - DECLARING)}"


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_operation_names_are_written_once(name: str) -> None:
    files = NAME_HITS.get(name, set())
    assert files <= DECLARING, f"{name!r} is written in {sorted(files - DECLARING)}"


def test_a_planted_literal_is_caught(tmp_path: pathlib.Path) -> None:
    # A copy of the package with loose names planted in one module: each is found there,
    # and nowhere in the real package.
    copy = tmp_path / "runstate"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "strategies.py").open("a", encoding="utf-8") as module:
        module.write(
            '\nif run.status == "cancelling" or kind == "finish_cancel":\n'
            '    s = {"type": "tool_calls", "status": f"{x}expired"}\n'
            '    raise InvalidRun.one(field="queued", rule="r", message="m")\n'
            "    n = 512\n"
            '    _row(Op.X, takes=("update_metadata",), stops="open_message_step")\n'
        )
    numbers, names, _ = _hits(copy)
    assert "strategies.py" in numbers[512]
    planted = {"cancelling", "finish_cancel", "tool_calls", "expired", "open_message_step"}
    for name in planted:
        assert "strategies.py" in names[name], name
        assert "strategies.py" not in NAME_HITS.get(name, set()), name
    for name in ("queued", "update_metadata"):  # in a key position: a field, an argument
        assert "strategies.py" not in names.get(name, set()), name


def test_the_walk_sees_what_it_must() -> None:
    # The rules above cannot pass by seeing nothing: a module repeating a limit, a
    # range and a status outside the allowed places is caught.
    tree = ast.parse(
        '"""Doc: 512 and completed."""\n'
        "import typing\n"
        'A = typing.Literal["completed"]\n'
        "B = 512\n"
        "C = st.floats(0, 2)\n"
        'D = {"completed": 1}\n'
        'E = "completed"\n'
        "class S(enum.Enum):\n"
        '    X = "failed"\n'
    )
    never, keys = _skipped(tree)
    seen = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and id(n) not in never and id(n) not in keys
    ]
    assert 512 in seen
    assert seen.count("completed") == 1  # E only: not the docstring, Literal or key
    assert "failed" not in seen  # an enum's member value is its declaration
    pairs = [p for n in ast.walk(tree) for p in _pairs(n)]
    assert (0, 2) in pairs
