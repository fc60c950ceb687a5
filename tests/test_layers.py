"""The package's layers, checked by walking every import (module-level and inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "vdsl"

# Lower numbers are lower layers; a module may import only from its own layer or below.
LAYERS = {
    0: {
        "errors",
        "diagnostics",
        "budgets",
        "deadline",
        "types",
        "values",
        "nodes",
        "ir",
        "hints",
        "syntax_hints",
        "fastparse",
        "syntax",
        "pathdata",
        "modules",
        "check",
        "builtins",
        "evaluate",
        "format",
        "docs",
        "fonts",
        "outline",
        "check_clips",
        "atomic",
        "grammar",
        "stdlib",
        "version",
        "cores",
    },
    1: {"backends"},
    2: {"api", "batch", "sandbox", "gallery", "concepts"},
    3: {"llm", "dataset", "train"},
    4: {"commands", "cli", "__main__"},
}
LAYER_OF = {unit: k for k, units in LAYERS.items() for unit in units}


def _unit(module: str) -> str:
    """vdsl.llm.refine -> llm; vdsl.check -> check; vdsl -> the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "vdsl"


def _submodule(package: str, name: str) -> str:
    """`from package import name`: the submodule when name is one, else the package."""
    d = ROOT.parent.joinpath(*package.split("."))
    return f"{package}.{name}" if (d / f"{name}.py").exists() or (d / name).is_dir() else package


def _imports():
    """(importing module, imported vdsl module, line) for every import of the package's own modules."""
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        mod = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [_submodule(target, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for t in names:
                if t == "vdsl" or t.startswith("vdsl."):
                    yield mod, t, node.lineno


def test_every_unit_has_a_layer():
    units = {_unit(m) for m, _, _ in _imports()} | {_unit(t) for _, t, _ in _imports()}
    assert units - set(LAYER_OF) - {"vdsl"} == set()


def test_no_upward_imports():
    bad = [
        f"{m}:{line} imports {t}"
        for m, t, line in _imports()
        if _unit(m) != "vdsl" and _unit(t) != "vdsl" and LAYER_OF[_unit(t)] > LAYER_OF[_unit(m)]
    ]
    assert bad == []


def test_no_import_cycles_between_units():
    graph: dict[str, set[str]] = {}
    for m, t, _ in _imports():
        a, b = _unit(m), _unit(t)
        if a != b and "vdsl" not in (a, b):
            graph.setdefault(a, set()).add(b)
    # Tarjan-free check: a unit must not reach itself.
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            u = todo.pop()
            assert u != start, f"import cycle through {start}"
            if u not in seen:
                seen.add(u)
                todo.extend(graph.get(u, ()))


@pytest.mark.parametrize("path", sorted(p for p in ROOT.rglob("*.py")), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_click_and_exit_only_in_the_commands_layer(path):
    rel = path.relative_to(ROOT).as_posix()
    if rel.startswith("commands/") or rel == "cli.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            )
            assert not any(n == "click" or n.startswith("click.") for n in names), f"{rel}:{node.lineno} imports click"
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "exit"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            raise AssertionError(f"{rel}:{node.lineno} calls sys.exit outside the commands layer")


def test_every_module_has_a_docstring():
    missing = [
        p.relative_to(ROOT).as_posix()
        for p in ROOT.rglob("*.py")
        if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []
