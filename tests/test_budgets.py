"""Budgets: each limit E400-E410 ends an over-budget program with its own code; overrides and caps work."""

from __future__ import annotations

import math

import pytest

import vdsl
from vdsl.budgets import CAPS, DEFAULT, Budgets


def run(src: str | bytes, budgets: Budgets = DEFAULT, seed: int = 0, params: dict | None = None):
    """compile + evaluate; returns (scene or None, every diagnostic)."""
    prog = vdsl.compile(src, budgets=budgets)
    if not prog.ok:
        return None, prog.diagnostics
    scene, diags = prog.evaluate(seed, params=params)
    return scene, list(prog.diagnostics) + diags


def codes(src, budgets: Budgets = DEFAULT, **kw) -> list[str]:
    return [d.code for d in run(src, budgets, **kw)[1] if d.is_error]


def assert_code(src, code: str, budgets: Budgets = DEFAULT, **kw):
    scene, diags = run(src, budgets, **kw)
    errors = [d for d in diags if d.is_error]
    assert scene is None and [d.code for d in errors] == [code], [(d.code, d.message) for d in errors]
    assert errors[0].span.line >= 1 and errors[0].hint, errors[0]
    return errors[0]


# ---------------------------------------------------------------- one test per budget code
def test_e400_source_size():
    big = "let x = 1 // " + "a" * (1024 * 1024)  # a 1 MB line
    d = assert_code(big, "E400")
    assert "262144" in d.message
    assert_code(big.encode(), "E400")  # bytes are measured before decoding
    assert codes(big, DEFAULT.with_overrides(source_bytes=2 * 1024 * 1024)) == []


def test_e401_fuel():
    src = "for i in range(100000) { let a = i + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 }"
    assert_code(src, "E401")
    assert codes("for i in range(100) { let a = i }", DEFAULT.with_overrides(fuel=50)) == ["E401"]
    assert codes("for i in range(100) { let a = i }", DEFAULT.with_overrides(fuel=10_000)) == []


def test_e402_call_depth():
    assert_code("def f(n: number) -> number { return f(n=n + 1) }\nlet x = f(n=0)", "E402")
    deep = "def f(n: number) -> number { return n <= 0 ? 0 : f(n=n - 1) }\nlet x = f(n=50)"
    assert codes(deep) == ["E402"]
    assert codes(deep, DEFAULT.with_overrides(call_depth=100)) == []
    # the hard cap (200 nested calls) still ends unbounded recursion with E402, not a RecursionError
    assert codes("def g(n: number) { g(n=n) }\ng(n=1)", DEFAULT.with_overrides(call_depth=10**9)) == ["E402"]


def test_e403_loop_iterations():
    assert_code("for i in range(1000000) { }", "E403")  # a million iterations
    assert_code("for i in range(1000) { for j in range(1000) { } }", "E403")  # counted over all loops
    assert_code("let xs = [i for i in range(200000)]", "E403")
    small = DEFAULT.with_overrides(loop_iterations=10)
    assert codes("for i in range(11) { }", small) == ["E403"]
    assert codes("for i in range(10) { }", small) == []


def test_e404_primitives():
    src = "for i in range(30000) { circle(center=(1, 1), r=1) }"
    assert_code(src, "E404")
    assert codes(src, DEFAULT.with_overrides(primitives=40_000)) == []
    assert codes("circle(center=(1, 1), r=1)\ncircle(center=(1, 1), r=1)", DEFAULT.with_overrides(primitives=1)) == [
        "E404"
    ]


def test_e405_path_segments():
    # 32768 `h1` segments per path, built at run time (the source stays small); seven paths overrun 200k
    src = 'let d = "h1"\nfor i in range(15) { d = d + d }\nfor k in range(7) { path(d="M 0 0 " + d, stroke=red) }'
    assert codes(src, DEFAULT.with_overrides(fuel=4_000_000)) == ["E405"]  # paths charge fuel per character too
    tight = DEFAULT.with_overrides(path_segments=100)
    assert codes("polygon(points=[(i, i * 2) for i in range(200)])", tight) == ["E405"]
    assert codes("polygon(points=[(i, i * 2) for i in range(50)])", tight) == []
    assert codes('path(d="M 0 0 ' + "L 1 1 " * 150 + '")', tight) == ["E405"]


def test_e406_text():
    src = 'for i in range(1001) { text("0123456789", at=(0, 10)) }'
    assert_code(src, "E406")
    assert codes(src, DEFAULT.with_overrides(text_chars=20_000)) == []


def test_e407_canvas():
    assert_code("canvas(width=100000, height=100000)", "E407")
    assert_code("canvas(width=5000, height=5000)", "E407")  # 25M pixels > 16.7M
    assert (
        codes(
            "canvas(width=5000, height=5000)\ncircle(center=(1, 1), r=1)",
            DEFAULT.with_overrides(canvas_pixels=5000 * 5000),
        )
        == []
    )
    assert codes("canvas(width=20000, height=10)", DEFAULT.with_overrides(canvas_pixels=10**9)) == ["E407"]


def test_e407_output_size():
    prog = vdsl.compile("circle(center=(256, 256), r=100)")
    with pytest.raises(vdsl.VdslError) as e:
        prog.render(0, size=(10**5, 10**5))
    assert [d.code for d in e.value.diagnostics] == ["E407"]


def test_e408_blur():
    assert_code("blur(radius=1000000000) { circle(center=(1, 1), r=1) }", "E408")
    assert_code("shadow(blur=201) { circle(center=(1, 1), r=1) }", "E408")
    assert_code("glow(radius=500) { circle(center=(1, 1), r=1) }", "E408")
    assert codes("glow(radius=500) { circle(center=(1, 1), r=1) }", DEFAULT.with_overrides(blur_radius=600)) == []


NESTED = {
    "unclosed-parens": "(" * 100_000,  # 100k unclosed `(`
    "balanced-parens": "let x = " + "(" * 100_000 + "1" + ")" * 100_000,
    "lists": "let x = " + "[" * 5000 + "]" * 5000,
    "sum": "let x = " + "1 + " * 60_000 + "1",  # 1+1+...+1
    "minus": "let x = " + "-" * 50_000 + "1",
    "not": "let x = " + "not " * 20_000 + "true",
    "power": "let x = " + "2 ** " * 5000 + "1",
    "index": "let xs = [0]\nlet x = xs" + "[0]" * 5000,
    "blocks": "if true { " * 1000 + "}" * 1000,
    "calls": "let x = abs(" * 3000 + "1" + ")" * 3000,
    "ternary": "let x = " + "true ? 1 : " * 3000 + "2",
}


@pytest.mark.parametrize("src", list(NESTED.values()), ids=list(NESTED))
def test_e409_nesting(src):
    d = assert_code(src, "E409")
    assert "nest" in d.message


def test_e409_override_and_cap():
    src = "let x = " + "(" * 100 + "1" + ")" * 100
    assert codes(src) == ["E409"]
    assert codes(src, DEFAULT.with_overrides(nesting_depth=150)) == []
    deeper = "let x = " + "(" * 300 + "1" + ")" * 300
    assert codes(deeper, DEFAULT.with_overrides(nesting_depth=10**6)) == ["E409"]  # capped at 200


def test_e410_collections():
    assert_code('let s = "ab"\nfor i in range(20) { s = s + s }', "E410")
    assert_code("let xs = [1]\nfor i in range(20) { xs = xs + xs }", "E410")
    assert_code('let s = join(range(100000), "abc")', "E410")
    d = assert_code("let xs = [0]\nfor i in range(20) { xs = concat(xs, xs) }", "E410")
    assert d.span.line == 2
    small = DEFAULT.with_overrides(collection_size=5)
    assert codes("let xs = [1, 2, 3, 4, 5, 6]", small) == ["E410"]
    assert codes("let xs = [i for i in range(6)]", small) == ["E410"]
    assert codes("let xs = [1, 2, 3, 4, 5]", small) == []


# ---------------------------------------------------------------- overrides and caps
def test_with_overrides_clamps_to_caps():
    b = Budgets().with_overrides(fuel=10**12, call_depth=10**9, blur_radius=1e9, nesting_depth=0)
    assert b.fuel == CAPS["fuel"] and b.call_depth == CAPS["call_depth"]
    assert b.blur_radius == CAPS["blur_radius"] and b.nesting_depth == 1
    assert isinstance(b.blur_radius, float) and isinstance(b.fuel, int)
    assert Budgets(primitives=-5).clamp().primitives == 1
    for name, cap in CAPS.items():
        assert getattr(DEFAULT, name) <= cap, name


def test_with_overrides_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown budget"):
        Budgets().with_overrides(fule=10)


def test_defaults_are_documented_values():
    assert (DEFAULT.source_bytes, DEFAULT.nesting_depth, DEFAULT.fuel, DEFAULT.call_depth) == (
        256 * 1024,
        64,
        1_000_000,
        32,
    )
    assert Budgets() == DEFAULT and DEFAULT.clamp() == DEFAULT


# ---------------------------------------------------------------- NaN, infinity, 1e308
@pytest.mark.parametrize(
    "src, code",
    [
        ("let x = 1e400", "E305"),
        ("let x = 1e308 * 10", "E305"),
        ("let x = 1e308 + 1e308", "E305"),
        ("let x = -1e308 - 1e308", "E305"),
        ("let x = 10 ** 400", "E305"),
        ("let x = gauss(0, 1e308) * 0", "E305"),  # builtins cannot return infinity either
        ("let x = lerp(1e308, -1e308, 0.5)", "E305"),
        ("let x = dist((1e308, 1e308), (-1e308, -1e308))", "E305"),
        ("let x = sum([1e308, 1e308])", "E301"),
        ("let x = sqrt(-1)", "E301"),
        ("let x = exp(1e308)", "E301"),
        ("let x = nan", "E200"),
        ("let x = inf", "E200"),
        ("let x = [1][1e308]", "E302"),
        ('text("a", at=(0, 0), size=1e308)', "E301"),
        ("let x = range(0, 1e308)", "E403"),
    ],
)
def test_non_finite_numbers_never_enter_a_program(src, code):
    assert codes(src) == [code]


@pytest.mark.parametrize(
    "src",
    [
        "circle(center=(1e308, -1e308), r=1e308, fill=red)",
        "rect(x=-1e308, y=-1e308, w=1e308, h=1e308, rotate=1e308)",
        "group(scale=1e308, rotate=1e308) { circle(center=(1, 1), r=1) }",
        "line(from=(0, 0), to=(1e308, 1e308), stroke_width=1e4)",
        "let x = str(1e308) + str(1e-308)\ntext(x, at=(0, 20))",
        "circle(center=(256, 256), r=100, fill=hsl(1e308, 50, 50))",
    ],
)
def test_huge_but_finite_numbers_render(src):
    prog = vdsl.compile(src)
    assert prog.ok, prog.diagnostics
    img = prog.render(0, size=(32, 32))
    assert img.shape == (32, 32, 4)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**400, "nan", "inf", "1e999"])
def test_param_overrides_must_be_finite(value):
    src = "param p = 1\ncircle(center=(256, 256), r=p > 0 ? 50 : 10)"
    scene, diags = run(src, params={"p": value})
    assert scene is None and [d.code for d in diags] == ["E305"]
    assert diags[0].span.line == 1


def test_param_override_errors_point_at_the_param():
    scene, diags = run("let a = 1\nparam c: color = red\ncircle(center=(1, 1), r=5, fill=c)", params={"c": "nope"})
    assert scene is None and [(d.code, d.span.line) for d in diags] == [("E216", 2)]
