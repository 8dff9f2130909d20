"""The package's layout: no module or class too large, no sibling's private name imported.

Issue 18 ("Architecture round 3", "Must show"): no package module over 1,000 lines, no
class over 400 lines (the conformance kit's ``RULES`` table, being data, is exempt), and
no module imports a sibling's private name. Everything is read from the source by
:mod:`ast`, so a test fails with the file, the line and the name.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
PACKAGE: Final = ROOT / "runstate"

MAX_MODULE_LINES: Final = 1000
MAX_CLASS_LINES: Final = 400

#: Module-level data tables whose lines do not count toward their module's size: the
#: conformance kit's ``RULES`` (one row per rule, with its evidence) is data, not code.
DATA_TABLES: Final = frozenset({"RULES"})

# Exceptions to the rules below. Empty since architecture round 3; an entry that is no
# longer needed fails its test, so these lists cannot go stale.
#: Modules over MAX_MODULE_LINES (paths relative to the repository).
KNOWN_LARGE_MODULES: Final[frozenset[str]] = frozenset()
#: Classes over MAX_CLASS_LINES, as (path, class name).
KNOWN_LARGE_CLASSES: Final[frozenset[tuple[str, str]]] = frozenset()
#: Private names of a sibling that a module imports or reads, as (path, "module.name").
KNOWN_PRIVATE_IMPORTS: Final[frozenset[tuple[str, str]]] = frozenset()


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _span(node: ast.stmt) -> int:
    assert node.end_lineno is not None
    return node.end_lineno - node.lineno + 1


# ---- sizes ---------------------------------------------------------------------------


def module_lines(path: Path) -> int:
    """The module's lines, less those of its module-level :data:`DATA_TABLES`."""
    text = path.read_text(encoding="utf-8")
    exempt = 0
    for node in _tree(path).body:
        targets = (
            node.targets if isinstance(node, ast.Assign)
            else [node.target] if isinstance(node, ast.AnnAssign)
            else []
        )  # fmt: skip
        if any(isinstance(t, ast.Name) and t.id in DATA_TABLES for t in targets):
            exempt += _span(node)
    return len(text.splitlines()) - exempt


def large_modules() -> dict[str, int]:
    return {
        _relative(path): lines
        for path in _modules()
        if (lines := module_lines(path)) > MAX_MODULE_LINES
    }


def large_classes() -> dict[tuple[str, str], int]:
    return {
        (_relative(path), node.name): _span(node)
        for path in _modules()
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ClassDef) and _span(node) > MAX_CLASS_LINES
    }


def test_no_module_is_over_1000_lines() -> None:
    found = large_modules()
    new = {path: n for path, n in found.items() if path not in KNOWN_LARGE_MODULES}
    assert new == {}, f"modules over {MAX_MODULE_LINES} lines"
    fixed = KNOWN_LARGE_MODULES - set(found)
    assert fixed == set(), "no longer over the limit: remove from KNOWN_LARGE_MODULES"


def test_no_class_is_over_400_lines() -> None:
    found = large_classes()
    new = {key: n for key, n in found.items() if key not in KNOWN_LARGE_CLASSES}
    assert new == {}, f"classes over {MAX_CLASS_LINES} lines"
    fixed = KNOWN_LARGE_CLASSES - set(found)
    assert fixed == set(), "no longer over the limit: remove from KNOWN_LARGE_CLASSES"


def test_the_data_table_exemption_is_only_for_the_rules_table(tmp_path: Path) -> None:
    body = "".join(f"    {i},\n" for i in range(MAX_MODULE_LINES + 10))
    (tmp_path / "rules.py").write_text(f"RULES: dict[str, int] = dict(\n{body})\n")
    (tmp_path / "other.py").write_text(f"OTHER = (\n{body})\n")
    assert module_lines(tmp_path / "rules.py") == 0
    assert module_lines(tmp_path / "other.py") == MAX_MODULE_LINES + 12


# ---- private names -------------------------------------------------------------------


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str, root: Path) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _source(path: Path, node: ast.ImportFrom, root: Path) -> str:
    """The absolute module an ``ImportFrom`` reads (``from ..x import y``: runstate.x)."""
    if node.level == 0:
        return node.module or ""
    package = _module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Each (line, ``module.name``) where ``path`` imports or reads a sibling's private name.

    Two forms: ``from ._x import _y`` (any relative level, or ``runstate._x``), and an
    attribute of an imported runstate module (``from . import _model``, then
    ``_model._FREEZE``). Importing a private *module* is fine; dunders are not private.
    """
    tree = _tree(path)
    found: set[tuple[int, str]] = set()
    modules: dict[str, str] = {}  # a local name bound to a runstate module: its module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _source(path, node, root)
            if source.split(".")[0] != "runstate":
                continue
            for alias in node.names:
                if _is_module(f"{source}.{alias.name}", root):
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
                elif _private(alias.name):
                    found.add((node.lineno, f"{source}.{alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "runstate" and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and _private(node.attr)
            and not _is_module(f"{modules[node.value.id]}.{node.attr}", root)
        ):
            found.add((node.lineno, f"{modules[node.value.id]}.{node.attr}"))
    return sorted(found)


def test_no_module_imports_a_siblings_private_name() -> None:
    found = {
        (_relative(path), name): line for path in _modules() for line, name in private_imports(path)
    }
    new = sorted(f"{path}:{line}: {name}" for (path, name), line in found.items()
                 if (path, name) not in KNOWN_PRIVATE_IMPORTS)  # fmt: skip
    assert new == [], "a sibling's private name is imported; make it public in its module"
    fixed = KNOWN_PRIVATE_IMPORTS - set(found)
    assert fixed == set(), "no longer imported: remove from KNOWN_PRIVATE_IMPORTS"


def test_the_private_import_finder_sees_each_form(tmp_path: Path) -> None:
    """The finder, on a small package of the same shape: it can fail."""
    package = tmp_path / "runstate"
    (package / "sub").mkdir(parents=True)
    for name in ("__init__.py", "_a.py", "_b.py", "sub/__init__.py", "sub/_c.py"):
        (package / name).write_text("")
    (package / "_b.py").write_text(
        "from ._a import _hidden, shown, __version__\n"
        "from . import _a\n"
        "import runstate._a as a\n"
        "from runstate._a import _absolute\n"
        "x = _a._attr + a._other + _a.shown + _a.__doc__\n"
    )
    (package / "sub" / "_c.py").write_text("from .._a import _up\nfrom .. import _b\n_b._set = 1\n")
    b = private_imports(package / "_b.py", tmp_path)
    c = private_imports(package / "sub" / "_c.py", tmp_path)
    assert b == [
        (1, "runstate._a._hidden"),
        (4, "runstate._a._absolute"),
        (5, "runstate._a._attr"),
        (5, "runstate._a._other"),
    ]
    assert c == [(1, "runstate._a._up"), (3, "runstate._b._set")]
