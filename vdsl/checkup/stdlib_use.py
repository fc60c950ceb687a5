"""Which stdlib modules and components a program calls: the check-up flags rounds that drew with the stdlib instead of primitives."""

from __future__ import annotations

import dataclasses

from .. import nodes as n


def _calls(node, out: list[str], depth: int = 0) -> None:
    """Every call name under a node (a generic walk over the AST's dataclass fields)."""
    if depth > 200:  # the parser's nesting budget keeps real programs far below this
        return
    if isinstance(node, n.Call):
        out.append(node.name)
    if isinstance(node, list):
        for x in node:
            _calls(x, out, depth + 1)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            v = getattr(node, f.name, None)
            if isinstance(v, (list, n.Node)) or (dataclasses.is_dataclass(v) and not isinstance(v, type)):
                _calls(v, out, depth + 1)


def stdlib_use(source: str | None) -> dict:
    """{"modules": [stdlib modules named by `use`], "components": [their components the program calls]}:
    empty lists for a program that draws from the builtins only (or does not parse)."""
    from ..modules import stdlib_names
    from ..syntax import parse

    empty: dict = {"modules": [], "components": []}
    if not source:
        return empty
    try:
        program, _ = parse(source, "<checkup>")
    except Exception:  # a reply the parser rejects in any way uses nothing
        return empty
    if program is None:
        return empty
    names = set(stdlib_names())
    modules = sorted({st.module for st in program.stmts if isinstance(st, n.Use) and not st.is_path} & names)
    if not modules:
        return empty
    from ..check import ModuleLoader

    loader = ModuleLoader()
    exported: set[str] = set()
    for m in modules:
        info = loader.load(n.Use(None, m), [])  # type: ignore[arg-type]
        if info is not None:
            exported |= set(info.defs)
    own = {st.name for st in program.stmts if isinstance(st, n.Def)}
    calls: list[str] = []
    _calls(program.stmts, calls)
    return {"modules": modules, "components": sorted({c for c in calls if c in exported and c not in own})}


def beyond(source: str | None, policy: str) -> list[str]:
    """The stdlib modules a program uses that `policy` (all, shapes, none) does not allow."""
    from ..modules import stdlib_allowed

    return [m for m in stdlib_use(source)["modules"] if not stdlib_allowed(m, policy)]
