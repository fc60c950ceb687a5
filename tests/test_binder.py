"""The evaluator's fast path against its plain one (fast=False): same IR, diagnostics and fuel; deep programs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vdsl
from conformance.harness import load_dir
from vdsl.budgets import DEFAULT
from vdsl.builtins import TABLE
from vdsl.evaluate import Evaluator, Plan, _arg_kind, _passes, outcome
from vdsl.values import Color, Point

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


def run(prog, seed: int, fast: bool):
    """(scene IR as JSON or None, [(code, message, span)], fuel left) of one evaluation."""
    ev = Evaluator(prog.checked, seed, prog.budgets, None, fast=fast)
    scene, diags = outcome(ev)
    return (
        scene.to_json() if scene is not None else None,
        [(d.code, d.message, d.span) for d in diags],
        ev.ctx.fuel_left(),
    )


def assert_same(source: str, seeds=(0,), file: str = "<binder>") -> tuple:
    prog = vdsl.compile(source, file)
    if not prog.ok:  # nothing to evaluate: the checker's diagnostics are the same for both
        return None, [(d.code, d.message, d.span) for d in prog.diagnostics], None
    for seed in seeds:
        fast, plain = run(prog, seed, True), run(prog, seed, False)
        assert fast[0] == plain[0], f"{file} seed {seed}: the scene IR differs"
        assert fast[1] == plain[1], f"{file} seed {seed}: diagnostics differ: {fast[1]} vs {plain[1]}"
        assert fast[2] == plain[2], f"{file} seed {seed}: fuel differs: {fast[2]} vs {plain[2]}"
    return fast


# ---------------------------------------------------------------- every corpus program, both paths
EXAMPLES = sorted((ROOT / "examples").glob("*.vd"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_same_on_both_paths(path):
    scene, diags, _ = assert_same(path.read_text(encoding="utf-8"), (0, 1, 2), str(path))
    assert scene is not None, diags


def _stdlib_programs():
    from test_stdlib import DRAWING_DEFS, VALUE_DEFS, _call

    out = [(f"{m}.{d}", f"canvas(width=256, height=256)\nuse {m}\n{_call(d, sig)}\n") for m, d, sig in DRAWING_DEFS]
    out += [(f"{m}.{d}", f"use {m}\nlet v = {_call(d, sig)}\ncircle(center=(1, 1), r=1)\n") for m, d, sig in VALUE_DEFS]
    return out


@pytest.mark.parametrize("name,source", _stdlib_programs(), ids=lambda v: v if "\n" not in v else "")
def test_stdlib_showcases_same_on_both_paths(name, source):
    assert_same(source, (0, 1, 2), name)


CASES = load_dir(TESTS / "conformance") + load_dir(TESTS / "mistakes")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_conformance_and_mistakes_same_on_both_paths(case):
    assert_same(case.source, (0, 1, 2), case.id)


def test_the_corpus_has_runtime_errors_to_compare():
    """The corpus exercises the binder's error paths, not just its happy path."""
    codes = set()
    for case in CASES:
        prog = vdsl.compile(case.source)
        if prog.ok:
            codes.update(d[0] for d in run(prog, 0, False)[1])
    assert {"E205", "E301"} <= codes


# ---------------------------------------------------------------- fuzzed calls
# Argument expressions by what they are; `idv(...)` hides a value's type from the checker, so a
# wrong-typed value reaches the evaluator's conversion.
NUMBERS = ["0", "1", "5", "-3", "0.5", "100", "1e9", "-(2)", "n", "(n + 1)", "idv(7)", "idv(-1e12)"]
POINTS = ["(10, 20)", "(n, 2)", "-(1, 2)", "idv((3, 4))", "p"]
COLORS = ["#ff0000", "#00ff0080", '"red"', "blue", "rgb(0.1, 0.2, 0.3)", 'idv("navy")', "idv(#abc)", '"notacolor"']
STRINGS = ['"a"', '"x" + "y"', "s", 'idv("zz")', '"center"', '"round"', '"bevel"', '"left"']
LISTS = {
    "list[number]": ["[1, 2, 3]", "range(4)", "xs", "idv([1, 2])", "idv([(1, 2), 3])", "[]"],
    "list[point]": ["[(0, 0), (10, 0), (5, 8)]", "idv([(1, 2), 3])", "idv([(1, 2), (3, 1e400)])"],
    "list[color]": ['["red", "blue"]', "[red, #00f]", 'idv(["red", "nope"])', "idv([red, 5])"],
}
ANY_LISTS = [v for vs in LISTS.values() for v in vs] + ["[[1, 2], [3]]", '["a", 1]']
WRONG = ["idv(true)", 'idv("5")', "idv((1, 2))", "idv([1])", "idv(red)", "true"]
BY_TYPE = {
    "number": NUMBERS,
    "point": POINTS,
    "color": COLORS,
    "paint": COLORS,
    "string": STRINGS,
    "bool": ["true", "false"],
}
PRELUDE = 'def idv(x: any) -> any { return x }\nlet n = 4\nlet p = (5, 6)\nlet s = "b"\nlet xs = [1, 2, 3]\n'


def _pool(ptype: str, choices) -> list[str]:
    pool = list(BY_TYPE.get(ptype, [])) + LISTS.get(ptype, [])
    if ptype in ("any", "list[any]", "list[any] or string", "list[number] or list[string]"):
        pool += ANY_LISTS + NUMBERS[:3]
    if "point" in ptype and ptype != "point":
        pool += POINTS
    pool += [f'"{c}"' for c in choices]
    return pool or NUMBERS


@st.composite
def builtin_call(draw) -> str:
    name = draw(st.sampled_from(sorted(TABLE)))
    b = TABLE[name]
    if b.variadic is not None:
        args = draw(st.lists(st.sampled_from(NUMBERS + WRONG[:2]), min_size=1, max_size=4))
        call = f"{name}({', '.join(args)})"
    else:
        args = []
        for i, p in enumerate(b.params):
            mode = draw(
                st.sampled_from(
                    ["skip", "skip", "kw", "kw", "pos", "wrong"]
                    if not p.required
                    else ["kw", "kw", "kw", "pos", "pos", "pos", "wrong", "wrong", "skip"]
                )
            )
            if mode == "skip":
                continue
            pool = WRONG if mode == "wrong" else _pool(str(p.type), p.choices)
            if mode != "wrong" and (p.min is not None or p.max is not None):  # the range's edges and past them
                edges = [repr(float(x)) for x in (p.min, p.max) if x is not None] + [
                    f"idv({float(x) + d!r})" for x, d in ((p.min, -1), (p.max, 1)) if x is not None
                ]
                pool = pool + edges * (1 + len(pool) // len(edges))
            v = draw(st.sampled_from(pool))
            positional = mode == "pos" and i < b.positional and len(args) == i
            args.append(v if positional else f"{p.name}={v}")
        if draw(st.sampled_from([False] * 7 + [True])):
            args.append(draw(st.sampled_from(["zz=1", "5"])))  # an extra argument
        call = f"{name}({', '.join(args)})"
    if b.block:
        call += " { circle(center=(5, 5), r=3) }"
    ret = b.returns if not callable(b.returns) else None
    return call if ret is not None and str(ret) == "none" else f"let r = {call}"


def program(calls: list[str]) -> str:
    """The calls after the prelude, each `let` under its own name."""
    return (
        PRELUDE
        + "\n".join(c.replace("let r = ", f"let r{i} = ") for i, c in enumerate(calls))
        + "\ncircle(center=(1, 1), r=1)\n"
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(builtin_call(), min_size=1, max_size=2))
def test_fuzzed_builtin_calls_same_on_both_paths(calls):
    assert_same(program(calls), (0,))


DEF_TYPES = ["number", "point", "color", "paint", "string", "any", "list[number]", "list[point]", "list[color]", "bool"]


@st.composite
def def_program(draw) -> str:
    k = draw(st.integers(1, 4))
    types = [draw(st.sampled_from(DEF_TYPES)) for _ in range(k)]
    has_default = [draw(st.booleans()) for _ in range(k)]
    params = []
    for i, (t, d) in enumerate(zip(types, has_default)):
        default = ""
        if d:  # a default may use the parameters before it
            default = " = " + draw(st.sampled_from(_pool(t, ()) + ([f"a{i - 1}"] if i else [])))
        params.append(f"a{i}: {t}{default}")
    ret = draw(st.sampled_from(["", " -> any", " -> number"]))
    body = "circle(center=(5, 5), r=2)\n" + ("return 1\n" if ret else "")
    src = f"def d({', '.join(params)}){ret} {{\n{body}}}\n"
    calls = []
    for _ in range(draw(st.integers(1, 3))):
        args = []
        positional = True
        for i, t in enumerate(types):
            skips = ["skip"] * (6 if has_default[i] else 1)  # a missing required argument now and then
            mode = draw(st.sampled_from(["pos", "pos", "kw", "kw", "kw", "wrong"] * 2 + skips))
            if mode == "skip":
                positional = False
                continue
            v = draw(st.sampled_from(WRONG if mode == "wrong" else _pool(t, ())))
            if mode == "pos" and positional:
                args.append(v)
            else:
                positional = False
                args.append(f"a{i}={v}")
        if draw(st.booleans()):  # a label (names the group it draws), or an extra argument
            args.append(draw(st.sampled_from(['label="x"', 'label="x"', "label=s", "zz=1", 'idv("q")'])))
        call = f"d({', '.join(args)})"
        calls.append(f"let r{len(calls)} = {call}" if ret else call)
    return src + "\n".join(calls)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(def_program())
def test_fuzzed_def_calls_same_on_both_paths(src):
    assert_same(program([src]), (0,))


def test_the_fuzzers_reach_the_evaluator_and_its_errors():
    """Enough of the generated programs pass the checker, and some fail at run time (conversion)."""
    seen: list = []
    for strategy in (
        st.lists(builtin_call(), min_size=1, max_size=2).map(program),
        def_program().map(lambda src: program([src])),
    ):

        @settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
        @given(strategy)
        def sample(src):
            prog = vdsl.compile(src)
            if prog.ok:
                seen.append(run(prog, 0, True)[1])

        sample()
        codes = {d[0] for diags in seen for d in diags}
        assert len(seen) >= 30 and {"E205"} <= codes, (len(seen), codes)
        seen.clear()


# ---------------------------------------------------------------- the plan itself
def test_a_plan_binds_positional_and_keyword_arguments_like_the_signature():
    prog = vdsl.compile("circle((1, 2), 3, fill=#ff0000)")
    call = prog.checked.program.stmts[0].call
    plan = Plan(call, TABLE["circle"])
    assert [a[0] for a in plan.args] == ["center", "r", "fill"]
    assert [a[2] for a in plan.args] == [3, 1, 1]  # ready literals, with their fuel
    assert plan.args[0][3] == Point(1.0, 2.0) and type(plan.args[2][3]) is Color
    assert plan.missing is None and plan.error is None
    plan = Plan(vdsl.compile("circle(center=(1, 2), r=-3)").checked.program.stmts[0].call, TABLE["circle"])
    assert plan.args[1][2] == 0  # out of range: evaluated and converted (E301)


@given(
    st.sampled_from([(b.name, p) for b in TABLE.values() for p in b.params]),
    st.one_of(
        st.floats(allow_nan=True),
        st.text(max_size=3),
        st.sampled_from(["round", "left", "center"]),
        st.builds(Point, st.floats(), st.floats()),
        st.builds(Color, st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
    ),
)
@settings(max_examples=500, deadline=None)
def test_passes_means_convert_returns_it_unchanged(named, v):
    """The inline checks the fast path takes from the plan (_passes) never let through a value that the
    one conversion routine would change or refuse."""
    name, p = named
    lo = -float("inf") if p.min is None else p.min
    hi = float("inf") if p.max is None else p.max
    if _passes(_arg_kind(p.type), v, p.choices, lo, hi):
        ev = Evaluator(vdsl.compile("circle(center=(1, 1), r=1)").checked, 0, DEFAULT, None)
        fuel = ev.ctx.fuel_left()
        assert ev._convert(v, p.type, p, name, None) is v
        assert ev.ctx.fuel_left() == fuel


# ---------------------------------------------------------------- deep programs, no global state
DEEP = textwrap.dedent("""
    import sys
    import vdsl
    from vdsl.budgets import DEFAULT
    limit = sys.getrecursionlimit()
    ifs = "return f(n - 1)"
    for _ in range(NEST):
        ifs = "if true { " + ifs + " }"
    calls = "f(n - 1)"
    for _ in range(NEST // 2):
        calls = "abs(" + calls + ")"
    for body in (ifs + "\\nreturn 0", "return " + calls):
        for n, want in ((DEPTH - 1, []), (DEPTH, ["E402"])):
            src = ("def f(n: number) -> number {\\n if n <= 0 { return 0 }\\n " + body + "\\n}\\n"
                   "let y = f(" + str(n) + ")\\ncircle(center=(1, 1), r=1)\\n")
            budgets = DEFAULT.with_overrides(nesting_depth=NEST + 5, call_depth=DEPTH)
            prog = vdsl.compile(src, budgets=budgets)
            assert prog.ok, prog.diagnostics
            scene, diags = prog.evaluate(0)
            assert [d.code for d in diags] == want, (n, diags)
            assert want or scene is not None
            if want:
                assert "call-depth budget" in diags[0].message, diags[0].message
    assert sys.getrecursionlimit() == limit == 1000
    print("ok")
""")


@pytest.mark.parametrize("nest,depth", [(59, 32), (190, 200)])
def test_the_deepest_legal_program_evaluates_without_raising_the_recursion_limit(nest, depth):
    """Statements nested to the nesting budget in a def recursing to the call-depth budget (the
    defaults, and the hard caps) evaluate at Python's default recursion limit, in a fresh interpreter
    (the tests' conftest raises it), and leave the limit as it was; one call deeper is E402."""
    code = DEEP.replace("NEST", str(nest)).replace("DEPTH", str(depth))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_evaluating_leaves_the_recursion_limit_alone():
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(1000)
        prog = vdsl.compile(
            "def f(n: number) -> number { return n <= 0 ? 0 : f(n - 1) + 1 }\nlet x = f(31)\ncircle(center=(1, 1), r=1)"
        )
        scene, diags = prog.evaluate(0)
        assert scene is not None and not diags
        assert sys.getrecursionlimit() == 1000
    finally:
        sys.setrecursionlimit(limit)


def test_a_fault_deep_inside_a_fresh_stack_comes_back_as_its_diagnostic():
    """An error raised after the evaluation moved to a fresh stack is still the program's diagnostic."""
    body = "return f(n - 1)"
    for _ in range(59):
        body = "if true { " + body + " }"
    src = "def f(n: number) -> number {\n if n <= 0 { return 1 / 0 }\n " + body + "\nreturn 0\n}\nlet y = f(31)\n"
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(1000)
        scene, diags = vdsl.compile(src).evaluate(0)
    finally:
        sys.setrecursionlimit(limit)
    assert scene is None and [(d.code, d.span.line) for d in diags] == [("E303", 2)]
