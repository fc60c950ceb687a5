"""The prompt matches the checker, both ways: what the prompt shows compiles and says what the checker
does (limits, choices, positional arguments, degrees), and what the checker accepts that a model is
likely to write is either documented in the prompt or rejected with a hint."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest

import vdsl
from vdsl import nodes as n
from vdsl.builtins import TABLE
from vdsl.check import ModuleLoader
from vdsl.docs import LANGUAGE_OVERVIEW, degree_builtins, keyword_only_builtins
from vdsl.llm.prompt import LEVELS, SIZES_RULE, _assemble, _def_signature, _plain_size, system_prompt
from vdsl.modules import stdlib_names
from vdsl.values import show

PROMPT = system_prompt()
ALL_LEVELS = [_assemble(*lv) for lv in LEVELS]
USE_ALL = "".join(f"use {m}\n" for m in stdlib_names())


def _stdlib_defs():
    loader = ModuleLoader()
    out = []
    for m in stdlib_names():
        info = loader.load(n.Use(None, m), [])  # type: ignore[arg-type]
        assert info is not None, m
        out += [(m, sig) for sig in info.defs.values()]
    return out


STDLIB = _stdlib_defs()
BUILTINS = [b for b in TABLE.values() if b.aliases_of is None]


def _ok(src: str, seed: int = 0) -> vdsl.Program:
    prog = vdsl.compile(src)
    assert prog.ok, src + "\n" + "\n".join(map(str, prog.diagnostics))
    scene, diags = prog.evaluate(seed)
    assert scene is not None and not any(d.is_error for d in diags), src + "\n" + "\n".join(map(str, diags))
    return prog


# ------------------------------------------------------------------ the prompt shows -> it compiles
@pytest.mark.parametrize("level", range(len(LEVELS)))
def test_every_program_in_the_prompt_compiles_and_runs(level):
    blocks = re.findall(r"```(?:vdsl)?\n(.*?)\n```", ALL_LEVELS[level], re.S)
    assert blocks
    for src in blocks:
        _ok(src)


def _code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text)


CALL_SPAN = re.compile(r"^(def )?[a-z_]+\(.*\)( \{ \.\.\. \})?$")


def test_every_call_the_language_section_shows_compiles():
    spans = [s for s in _code_spans(LANGUAGE_OVERVIEW) if CALL_SPAN.match(s)]
    assert len(spans) >= 8, spans
    pre = "canvas(width=200, height=200)\n" + USE_ALL + "let c = (50, 50)\nlet x = 20\nlet y = 30\nlet n = 3\n"
    for s in spans:
        s = s.replace("{ ... }", "{ circle(center=(1, 1), r=1) }")
        if s.startswith("def "):
            src = pre + s + " { }"
        elif s.split("(")[0] in TABLE and str(TABLE[s.split("(")[0]].returns) != "none":
            src = pre + f"let v = {s}"
        else:
            src = pre + s
        _ok(src)


def _sample(p, typ=None) -> str:
    """A value inside a parameter's limits, as source."""
    typ = typ or p.type
    if typ.name == "union":
        return _sample(p, typ.options[0])
    if p.choices:
        return f'"{p.choices[-1]}"'
    t = str(typ)
    if t == "number":
        lo = p.min if p.min is not None else (p.max - 1 if p.max is not None else 2)
        hi = p.max if p.max is not None else lo + 10
        v = math.ceil(lo) if p.integer else (lo + hi) / 2
        return show(float(v))
    return {
        "point": "(10, 20)",
        "color": "red",
        "paint": "red",
        "string": '"a"',
        "bool": "true",
        "list[point]": "[(1, 1), (20, 5), (10, 30)]",
        "list[number]": "[0, 1]",
        "list[color]": "[red, blue]",
        "list[string]": '["a", "b"]',
        "list[any]": "[1, 2]",
        "any": "1",
    }.get(t, "1")


# block builtins whose block has a required shape, or that only make sense inside another one
BLOCK_BODY = {"clip": " { clip_shape() { circle(center=(1, 1), r=1) } circle(center=(1, 1), r=1) }"}
BLOCK_CONTEXT = {
    "clip_shape": "clip() {{ {} circle(center=(1, 1), r=1) }}",
    "cutout": "circle(center=(1, 1), r=2)\n{}",
}


@pytest.mark.parametrize("b", BUILTINS, ids=lambda b: b.name)
def test_every_builtin_signature_is_callable_as_shown(b):
    if b.variadic is not None or b.name in ("canvas",):
        return
    sig = b.signature()
    assert sig in ALL_LEVELS[0] or b.short_signature() in ALL_LEVELS[0], sig
    # every default the signature prints is inside the limits it prints
    for p in b.params:
        if not p.required and isinstance(p.default, float):
            assert p.in_range(p.default), f"{b.name}.{p.name} default {p.default} outside {p.type_text()}"
    # the required arguments by keyword, and positionally where the prompt says so
    req = [p for p in b.params if p.required]
    kw = ", ".join(f"{p.name}={_sample(p)}" for p in req)
    call = f"{b.name}({kw})"
    body = BLOCK_BODY.get(b.name, " { circle(center=(1, 1), r=1) }") if b.block else ""
    stmt = call + body if str(b.returns) == "none" else f"let v = {call}"
    stmt = BLOCK_CONTEXT.get(b.name, "{}").format(stmt)
    assert vdsl.compile(stmt).ok, (stmt, vdsl.compile(stmt).diagnostics)
    if req:
        pos = f"{b.name}({', '.join(_sample(p) for p in req)})"
        stmt = pos + body if str(b.returns) == "none" else f"let v = {pos}"
        prog = vdsl.compile(BLOCK_CONTEXT.get(b.name, "{}").format(stmt))
        if b.name in keyword_only_builtins():
            assert not prog.ok and all(d.hint for d in prog.diagnostics if d.code == "E204"), stmt
        elif len(req) <= max(b.positional, 1):
            assert prog.ok, (stmt, prog.diagnostics)


@pytest.mark.parametrize("module,sig", STDLIB, ids=lambda v: v if isinstance(v, str) else v.name)
def test_every_stdlib_signature_compiles_as_a_def_header(module, sig):
    header = _def_signature(sig, True)
    assert header in ALL_LEVELS[0]
    name = sig.name + "_copy"
    body = " { return [] }" if "-> list" in header else (" { return black }" if "-> paint" in header else " { }")
    src = USE_ALL + "def " + header.replace(sig.name + "(", name + "(", 1) + body
    prog = vdsl.compile(src)
    assert prog.ok, (src[-300:], prog.diagnostics)
    copy = prog.checked.defs[name]
    for a, b in zip(copy.params, sig.params):  # the printed header means the same limits
        if _plain_size(b):  # printed without its `in 0..`: SIZES_RULE, in the same section, says it
            b = replace(b, min=None)
        assert (a.type_text(), a.unit) == (b.type_text(), b.unit)


def test_every_limit_and_choice_list_is_in_the_prompt():
    for b in BUILTINS:
        for p in b.params:
            if p.choices:
                assert "|".join(f'"{c}"' for c in p.choices) in PROMPT or "|".join(p.choices) in PROMPT, (b, p)
    assert SIZES_RULE in PROMPT
    for _module, sig in STDLIB:
        line = next(ln for ln in PROMPT.splitlines() if ln.startswith(f"- {sig.name}("))
        for p in sig.params:
            if p.choices or p.integer or p.min is not None or p.max is not None:
                if _plain_size(p):
                    continue  # SIZES_RULE says it: never negative
                assert f"{p.name}" in line and p.type_text() in line, (sig.name, p.name, line)


# ------------------------------------------------------------------ what the prompt says is what happens
def test_angles_are_degrees_as_the_prompt_says():
    takes, gives = degree_builtins()
    assert {"sin", "cos", "polar"} <= set(takes) and {"asin", "atan2", "angle_to"} <= set(gives)
    for name in takes + gives:
        assert f"`{name}`" in LANGUAGE_OVERVIEW
    assert "`sin(90)` is 1" in PROMPT
    prog = _ok("let s = sin(90)\nlet a = asin(1)\ncircle(center=(50, 50), r=s * 10 + a)")
    assert prog.scene(seed=0).root.children[0].geom.rx == pytest.approx(100)  # 1 * 10 + 90
    ok = vdsl.compile("let s = sin(pi / 2)")
    assert ok.ok and [d.code for d in ok.diagnostics] == ["W504"] and ok.diagnostics[0].hint


def test_positional_arguments_work_as_the_prompt_says():
    assert "Every other builtin, and every `def`, also takes" in PROMPT
    for name in keyword_only_builtins():
        assert f"`{name}`" in PROMPT or str(TABLE[name].returns) == "none", name
    # a def takes its arguments in order, like a value function
    _ok("use shapes\nstar((50, 50), 20)\nlet c = rgb(255, 0, 0)\nlet p = polar((0, 0), 40, 90)")


# ------------------------------------------------------------------ what a model writes -> documented or rejected
# (source, where the prompt documents it) for accepted forms; (source, WARNED) for accepted ones that
# are almost surely a mistake (a warning with a hint); (source, None) for rejected ones, with a hint.
WARNED = "warned"
LIKELY_FORMS = [
    ("let x = 1\nif x > 0 { circle(center=(1, 1), r=1) } else if x < 0 { circle(center=(1, 1), r=2) }", "else if"),
    ("text('hi', at=(10, 10))", "'single-quoted' strings"),
    ("circle(center=(1, 1), r=1,)", "trailing commas"),
    ("circle(center=(1, 1), r=1)\nuse shapes\nstar()", "anywhere at the top level"),
    ("let a = 1; let b = 2;", "`;`"),
    ("let a = true && !false || false", "`&& || !`"),
    ("let x = 1\nx += 2", "`+=`"),
    ("let a = [1, 2, 3][-1]", "negative from the end"),
    ("circle(center=(1, 1), r=1, opacity=50%)", "`50%` (= 0.5)"),
    ('circle(center=(1, 1), r=1, fill="#ff0000")', 'fill="#ff0000"'),
    ("group(scale=(-1, 1), origin=(50, 50)) { circle(center=(20, 20), r=5) }", "group(scale=(-1, 1), origin=(x, y))"),
    ('def f(n: int in 3.. = 4, m: "a"|"b" = "a") { }\nf(n=5, m="b")', "`int` a whole number"),
    ("let c = rgb(255, 0, 0)\nlet p = polar((0, 0), 40, 90)", "also takes"),
    ("use shapes\nstar((50, 50), 20)", "every `def`, also takes"),
    ("let s = sin(90)", "`sin(90)` is 1"),
    ("let s = sin(pi / 2)", WARNED),
    ("rect(x=0, y=0, w=5, h=5, rotate=pi / 4)", WARNED),
    ("let c = rgb(0.5, 0.2, 0.1)", WARNED),
    ("let x = 1\nif x > 0 { circle(center=(1, 1), r=1) } elif x < 0 { circle(center=(1, 1), r=2) }", None),
    ("let b = True", None),
    ("let b = None", None),
    ("let x = 1\nx++", None),
    ("let n: int = 3", None),
    ("for i in range(3):\n  circle(center=(1, 1), r=1)", None),
    ("function f() { }", None),
    ("const a = 1", None),
    ("while true { }", None),
    ("let a = math.sin(90)", None),
    ("let a = Math.PI", None),
    ("let a = pow(2, 3)", None),
    ("let a = sin(radians(45))", None),
    ("circle((1, 1), 5)", None),
    ("let p = (1, 2, 3)", None),
    ("# a comment\ncircle(center=(1, 1), r=1)", None),
    ("def outer() {\n  def inner() { }\n  inner()\n}", None),
    ("canvas(width=100, height=100, background=linear((0, 0), (0, 100), [red, blue]))", None),
    ("cube(size=20)", None),
    ("use shapes\ntrapezoid(top=120)", None),
    ('use living\nperson(expression="grumpy")', None),
    ("rect(x=0, y=0, w=5, h=5, dash=[-1, 5])", None),
]


@pytest.mark.parametrize("src,documented", LIKELY_FORMS, ids=[f[0].split("\n")[-1][:40] for f in LIKELY_FORMS])
def test_a_likely_form_is_documented_or_rejected_with_a_hint(src, documented):
    prog = vdsl.compile(src)
    if documented == WARNED:
        assert prog.ok and prog.diagnostics and all(d.hint for d in prog.diagnostics), (src, prog.diagnostics)
    elif documented is not None:
        assert prog.ok, (src, prog.diagnostics)
        assert documented in PROMPT, f"accepted but undocumented: {src!r} (the prompt lacks {documented!r})"
    else:
        errors = [d for d in prog.diagnostics if d.is_error]
        assert errors, f"accepted: {src!r} - document it in the prompt or reject it with a hint"
        assert all(d.hint for d in errors), [str(d) for d in errors]
