"""The engines (``runstate/_engine``) know nothing about runs; the run's model stands alone."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import cattrs
import pytest

import runstate as rs
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
