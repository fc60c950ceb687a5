"""Anonymise a program for recognition: rename its own identifiers, drop labels and replace free-text
strings, on the AST (printed back by vdsl.format), so `def macaw_body` or `label="beak"` give nothing away."""

from __future__ import annotations

import dataclasses
import re

from .. import nodes as n

# a string that is SVG path data, or a piece of it joined at run time ("M ", " l ", "Z"): kept, it is geometry
_PATH_DATA = re.compile(r"^[\s\dMmLlHhVvCcSsQqTtAaZzEe.,+-]*$")


def _builtin_strings() -> tuple[set[str], dict[str, set[str]]]:
    """Every enum choice of any builtin (kept wherever it appears), and per builtin its string params
    that are settings, not free text (kept as written)."""
    from ..builtins import TABLE

    choices: set[str] = set()
    settings: dict[str, set[str]] = {}
    for b in TABLE.values():
        for p in b.params:
            if p.choices:
                choices.update(p.choices)
                settings.setdefault(b.name, set()).add(p.name)
            elif p.name in ("d", "sep", "font", "family"):
                settings.setdefault(b.name, set()).add(p.name)
    return choices, settings


def _declared(program: n.Program) -> tuple[list[str], list[str]]:
    """(component names, variable names: lets, params, loop and comprehension variables) in source order."""
    defs: list[str] = []
    vars_: list[str] = []

    def add(lst: list[str], name: str | None) -> None:
        if name and name not in lst:
            lst.append(name)

    def walk(x) -> None:
        if isinstance(x, n.Def):
            add(defs, x.name)
            for p in x.params:
                add(vars_, p.name)
        elif isinstance(x, (n.Let, n.ParamStmt)):
            add(vars_, x.name)
        elif isinstance(x, n.For):
            add(vars_, x.var)
            add(vars_, x.var2)
        elif isinstance(x, n.Comprehension):
            add(vars_, x.var)
        if isinstance(x, list):
            for y in x:
                walk(y)
        elif isinstance(x, n.Node):
            for f in dataclasses.fields(x):
                walk(getattr(x, f.name))

    walk(program.stmts)
    return defs, vars_


def _fresh(prefix: str, count: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    i = 1
    while len(out) < count:
        name = f"{prefix}{i}"
        if name not in taken:
            out.append(name)
            taken.add(name)
        i += 1
    return out


def anonymize_program(program: n.Program, strings: bool = True) -> n.Program:
    """Rename (in place) the program's components to part1, part2, ... and its variables to v1, v2, ...;
    drop `label=` arguments and comments; with `strings`, replace free-text strings by s1, s2, ... (the same
    text, the same replacement). Builtin names, enum values and path data are kept."""
    from ..builtins import CONSTANTS, TABLE

    defs, vars_ = _declared(program)
    taken = set(TABLE) | set(CONSTANTS) | set(defs) | set(vars_)
    ren = dict(zip(defs, _fresh("part", len(defs), taken), strict=True))
    ren.update(zip(vars_, _fresh("v", len(vars_), taken), strict=True))
    choices, settings = _builtin_strings()
    texts: dict[str, str] = {}

    def text(s: str) -> str:
        path_piece = _PATH_DATA.match(s) and (len(s.strip()) <= 1 or re.search(r"[\d\s]", s))
        if not strings or s in choices or path_piece or not s.strip():
            return s
        if s not in texts:
            texts[s] = f"s{len(texts) + 1}"
        return texts[s]

    def expr(e):
        if isinstance(e, n.Name):
            e.name = ren.get(e.name, e.name)
        elif isinstance(e, n.String):
            new = text(e.value)
            if new != e.value:
                e.value, e.raw = new, '"' + new + '"'
        elif isinstance(e, n.Comprehension):
            e.var = ren.get(e.var, e.var)
            for sub in (e.item, e.iterable, e.cond):
                if sub is not None:
                    expr(sub)
        elif isinstance(e, n.Call):
            call(e)
        elif isinstance(e, n.Node):
            for f in dataclasses.fields(e):
                v = getattr(e, f.name)
                if isinstance(v, n.Expr):
                    expr(v)
                elif isinstance(v, list):
                    for y in v:
                        if isinstance(y, n.Expr):
                            expr(y)

    def call(c: n.Call) -> None:
        user = c.name in ren
        kept = settings.get(c.name, set())
        args = []
        for a in c.args:
            if a.name == "label" and not user:
                continue  # a label names a part ("beak"): dropped
            if not user and a.name in kept and isinstance(a.value, n.String):
                args.append(a)
                continue
            if user and a.name is not None:
                a.name = ren.get(a.name, a.name)
            expr(a.value)
            args.append(a)
        c.args = args
        c.name = ren.get(c.name, c.name)

    def stmts(body: list[n.Stmt] | None) -> None:
        for st in body or []:
            if isinstance(st, (n.Let, n.ParamStmt, n.Assign)):
                st.name = ren.get(st.name, st.name)
                expr(st.value)
            elif isinstance(st, n.Def):
                st.name = ren.get(st.name, st.name)
                st.doc = ""
                for p in st.params:
                    p.name = ren.get(p.name, p.name)
                    if p.default is not None:
                        expr(p.default)
                stmts(st.body)
            elif isinstance(st, n.For):
                st.var = ren.get(st.var, st.var)
                if st.var2:
                    st.var2 = ren.get(st.var2, st.var2)
                expr(st.iterable)
                stmts(st.body)
            elif isinstance(st, n.If):
                expr(st.cond)
                stmts(st.then)
                stmts(st.otherwise)
            elif isinstance(st, n.Return):
                expr(st.value)
            elif isinstance(st, n.CallStmt):
                call(st.call)
                stmts(st.block)

    stmts(program.stmts)
    program.comments = []
    return program


def anonymize_source(source: str, strings: bool = True) -> str:
    """The program anonymised and reformatted; when it would no longer compile or run (a string used in a
    way the rules above miss), strings are kept; a program that does not parse is returned as it was."""
    from ..api import compile as compile_program
    from ..format import format_program
    from ..syntax import parse

    def works(text: str) -> bool:  # compiles and runs (seed 0): the model is shown a working program
        prog = compile_program(text)
        return prog.ok and prog.evaluate(0)[0] is not None

    before = works(source)
    for keep_strings in (False, True) if strings else (True,):
        program, _ = parse(source)
        if program is None:
            return source
        out = format_program(anonymize_program(program, strings=not keep_strings))
        if not before or works(out):
            return out
    return source
