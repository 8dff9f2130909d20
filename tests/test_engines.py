"""The engines (``runstate/_engine``) know nothing about runs; the run's model stands alone."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import cattrs
import pytest

import runstate as rs
from runstate._engine.schema import Generated
from runstate._engine.serde import ReadOnlyConverterError

ENGINE = Path(rs.__file__).parent / "_engine"

#: Every engine module: a module missing here (renamed, or moved back) fails the test,
#: so the walk below cannot pass by finding nothing.
KNOWN = {
    "__init__",
    "codegen",
    "copying",
    "diagram",
    "dumpcache",
    "errors",
    "fields",
    "frozen",
    "invariants",
    "jsonio",
    "jsonvalue",
    "readonly",
    "requests",
    "schema",
    "serde",
    "sse",
    "strategies",
    "table",
    "templates",
    "trace",
    "values",
}


def outside_imports(source: str) -> list[str]:
    """The imports of ``source`` (an engine module) that reach outside ``runstate._engine``.

    Every import counts, at any depth (in functions, under ``TYPE_CHECKING``): a relative
    one must stay in the package (level 1), an absolute one must not name ``runstate``
    outside ``runstate._engine``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level > 1 or (node.level == 0 and _outside(module)):
                found.append("." * node.level + module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names if _outside(alias.name))
    return found


def _outside(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] == "runstate" and not module.startswith(
        "runstate._engine"
    )


def test_the_engine_modules_are_the_known_ones() -> None:
    assert {p.stem for p in ENGINE.glob("*.py")} == KNOWN


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_no_engine_imports_a_machines_declarations(name: str) -> None:
    assert outside_imports((ENGINE / f"{name}.py").read_text(encoding="utf-8")) == []


def test_the_import_check_finds_each_way_out() -> None:
    source = textwrap.dedent(
        """
        from typing import TYPE_CHECKING
        from . import schema
        from .errors import Error
        import attrs
        from .._status import RunStatus
        import runstate._model
        if TYPE_CHECKING:
            from runstate import _table
        def f():
            from .. import _ops
        """
    )
    assert sorted(outside_imports(source)) == ["..", ".._status", "runstate", "runstate._model"]


def test_the_model_builds_values_on_its_own() -> None:
    # A fresh interpreter imports the run's model alone (the package's __init__, which
    # imports everything, is replaced by an empty package): its values are built,
    # checked, frozen and parsed without any other runstate module imported first.
    code = textwrap.dedent(
        f"""
        import sys, types
        package = types.ModuleType("runstate")
        package.__path__ = [{str(Path(rs.__file__).parent)!r}]
        sys.modules["runstate"] = package
        import runstate._model as m
        from runstate._engine.codegen import HOOKS
        from runstate._engine.errors import InvalidRun
        assert "runstate._schema" not in sys.modules and "runstate._serde" not in sys.modules
        usage = m.Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3)
        assert usage.total_tokens == 3
        fd = m.FunctionDefinition(name="f", parameters={{"type": "object"}})
        assert type(fd.parameters).__name__ == "FrozenDict"
        try:
            m.Usage(prompt_tokens="1", completion_tokens=2, total_tokens=3)
        except InvalidRun as exc:
            print(exc.errors[0])
        print(HOOKS[m.Usage]({{"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == 'prompt_tokens: expected an integer, got "1"'
    assert lines[1].startswith("Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3")


# -- the shared converter -----------------------------------------------------------------


def test_the_shared_converter_refuses_changes() -> None:
    for attempt in (
        lambda: rs.converter.register_structure_hook(int, lambda v, _: v),
        lambda: rs.converter.register_unstructure_hook(int, str),
        lambda: rs.converter.register_structure_hook_func(lambda t: False, lambda v, _: v),
        lambda: rs.converter.register_unstructure_hook_func(lambda t: False, str),
        lambda: rs.converter.register_structure_hook_factory(lambda t: False, lambda t: t),
        lambda: rs.converter.register_unstructure_hook_factory(lambda t: False, lambda t: t),
    ):
        with pytest.raises(ReadOnlyConverterError, match=r"make_converter\(\)"):
            attempt()
    with pytest.raises(rs.Error, match="cannot set forbid_extra_keys"):
        rs.converter.forbid_extra_keys = True
    assert rs.converter.forbid_extra_keys is False
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
    assert rs.converter.structure(rs.dump_run(run), rs.Run) == run


def test_make_converter_and_copy_give_converters_of_ones_own() -> None:
    assert rs.make_converter in (getattr(rs, n) for n in rs.__all__)
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
    for mine in (rs.make_converter(), rs.converter.copy()):
        assert isinstance(mine, cattrs.Converter)
        mine.register_structure_hook(complex, lambda v, _: complex(v))
        assert mine.structure("1+2j", complex) == 1 + 2j
        assert mine.structure(rs.dump_run(run), rs.Run) == run
        assert mine.unstructure(run) == rs.dump_run(run)
    with pytest.raises(ReadOnlyConverterError):  # the shared one is unchanged
        rs.converter.register_structure_hook(complex, lambda v, _: complex(v))


# -- generated on first use (import time) --------------------------------------------------


def test_generated_tables_build_a_class_on_its_first_lookup() -> None:
    built: list[type] = []
    table: Generated[Any] = Generated()

    def builder(cls: type) -> None:
        built.append(cls)
        table[cls] = lambda value: (cls.__name__, value)

    table.defer([int, str], builder)
    assert int in table and str in table and float not in table
    assert table.get(float) is None and table.get(float, "no") == "no"
    assert built == [] and table.generated() == ()
    assert table[str](1) == ("str", 1) and table.get(str)(2) == ("str", 2)
    assert built == [str] and table.generated() == (str,)
    with pytest.raises(KeyError):
        table[float]
    # Iterating and the views hold every registered class: each is built first, once.
    assert sorted(c.__name__ for c in table) == ["int", "str"] and built == [str, int]
    assert len(table) == 2 and set(table.keys()) == {int, str}
    assert [f(0) for f in table.values()] == [("str", 0), ("int", 0)]
    assert [c for c, _ in table.items()] == [str, int] and built == [str, int]


def test_import_runstate_generates_no_code_for_runs_and_imports_no_cattrs() -> None:
    # A fresh interpreter: `import runstate` compiles no generated function of a run's
    # classes (no run, step or message class) and imports neither
    # cattrs nor runstate.responses; the first parse, dump and converter access do, each
    # once, and give what the eager build gives.
    code = textwrap.dedent(
        """
        import sys, json
        import runstate
        from runstate._engine.codegen import DUMPERS, GUARDED_HOOKS, HOOKS, closure, generate
        from runstate.models import FunctionCall, ToolChoice, Usage
        run_classes = set(closure([runstate.Run]))
        unbuilt = run_classes | set(closure([runstate.RunStep, runstate.steps.Message]))
        assert runstate.Run in run_classes and ToolChoice in run_classes
        for table in (HOOKS, GUARDED_HOOKS, DUMPERS):
            assert not unbuilt & set(dict.keys(table)), sorted(c.__name__ for c in table)
        assert runstate.Run in HOOKS and ToolChoice in DUMPERS  # registered, not built
        for module in ("cattrs", "runstate.responses", "hypothesis", "transitions"):
            assert module not in sys.modules, module
        # A nested class first, on its own: it does not need its parents.
        HOOKS[FunctionCall]({"name": "f", "arguments": "{}"})
        assert runstate.Run not in dict.keys(HOOKS) and FunctionCall in HOOKS.generated()
        text = json.dumps(runstate.dump_run(runstate.new_run(
            id="run_1", thread_id="t", assistant_id="a", model="m", now=1)))
        run = runstate.parse_run(text)
        assert run_classes <= set(dict.keys(HOOKS)) and run_classes <= set(dict.keys(DUMPERS))
        assert run == generate(swap=False)[runstate.Run](json.loads(text))
        assert runstate.parse_run(text.encode()) == run
        assert "cattrs" not in sys.modules
        from runstate import converter
        assert converter is runstate.converter is runstate._serde.CONVERTER
        assert "cattrs" in sys.modules
        assert converter.structure(json.loads(text), runstate.Run) == run
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok"]


def test_first_uses_racing_in_threads_agree() -> None:
    # Eight threads parse, dump and take the converter at once, in a fresh interpreter:
    # each class is generated once per namespace and everyone gets the same objects.
    code = textwrap.dedent(
        """
        import collections, json, threading
        import runstate
        from runstate._engine import codegen
        from runstate._engine.codegen import HOOKS
        compiled, compile_once = collections.Counter(), codegen._compile
        def counting(source, filename, ns):
            compiled[filename] += 1
            compile_once(source, filename, ns)
        codegen._compile = counting
        text = json.dumps(runstate.dump_run(runstate.new_run(
            id="run_1", thread_id="t", assistant_id="a", model="m", now=1)).copy())
        start, found = threading.Barrier(8), []
        def work():
            start.wait()
            run = runstate.parse_run(text)
            found.append((run, runstate.dump_run(run), HOOKS[runstate.Run], runstate.converter))
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        assert len(found) == 8
        assert all(f[0] == found[0][0] and f[1] == found[0][1] for f in found)
        assert len({id(f[2]) for f in found}) == 1 and len({id(f[3]) for f in found}) == 1
        assert compiled["<runstate generated Run (swap)>"] == 1
        assert set(compiled.values()) == {1}, compiled
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok"]
