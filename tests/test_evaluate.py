"""The evaluator: values and operators, scopes at run time, labels, IR shape, params, and fault spans."""

from __future__ import annotations

import math

import pytest

import vdsl
from vdsl import ir
from vdsl.budgets import DEFAULT
from vdsl.values import Color, Point


def scene(src: str, seed: int = 0, **kw) -> ir.Scene:
    prog = vdsl.compile(src)
    assert prog.ok, prog.diagnostics
    s, diags = prog.evaluate(seed, **kw)
    assert s is not None, diags
    return s


def value(expr: str):
    """Evaluate one expression and read back its text form (through a shape's label)."""
    prog = vdsl.compile(f"let __v = {expr}\ncircle(center=(0, 0), r=1, label=str(__v))")
    assert prog.ok, prog.diagnostics
    s, diags = prog.evaluate(0)
    assert s is not None, diags
    return s.root.children[0].label


def fault(src: str) -> tuple[str, int]:
    prog = vdsl.compile(src)
    assert prog.ok, prog.diagnostics
    s, diags = prog.evaluate(0)
    assert s is None and len(diags) == 1, diags
    return diags[0].code, diags[0].span.line


@pytest.mark.parametrize(
    "expr, shown",
    [
        ("7 + 3 * 2", "13"),
        ("2 ** 3 ** 2", "512"),
        ("-2 ** 2", "-4"),
        ("(-2) ** 2", "4"),
        ("7 % 3", "1"),
        ("-7 % 3", "2"),
        ("7 % -3", "-2"),
        ("7.5 % 2", "1.5"),
        ("1 / 4", "0.25"),
        ("50%", "0.5"),
        ("1 < 2 and 2 < 3", "true"),
        ("not true or true", "true"),
        ("1 == 1.0", "true"),
        ('"a" != "b"', "true"),
        ("(1, 2) == (1, 2)", "true"),
        ("red == #ff0000", "true"),
        ("[1, 2] == [1, 2]", "true"),
        ("true ? 1 : 2", "1"),
        ("false ? 1 : true ? 2 : 3", "2"),
        ("(1, 2) + (3, 4)", "(4, 6)"),
        ("(1, 2) * 2", "(2, 4)"),
        ("2 * (1, 2)", "(2, 4)"),
        ("(4, 6) / 2", "(2, 3)"),
        ("(4, 6) / (2, 3)", "(2, 2)"),
        ("-(1, 2)", "(-1, -2)"),
        ("(1, 2).x + (1, 2).y", "3"),
        ("(5, 6)[1]", "6"),
        ('"ab" + "cd"', "abcd"),
        ('"abc"[-1]', "c"),
        ("[1, 2] + [3]", "[1, 2, 3]"),
        ("[1, 2, 3][-1]", "3"),
        ("range(3) + [9]", "[0, 1, 2, 9]"),
        ("[i * i for i in range(4) if i != 2]", "[0, 1, 9]"),
        ("len(range(2, 10, 3))", "3"),
        ("range(1, 0, -0.25)", "[1, 0.75, 0.5, 0.25]"),
        ("str(2.5) + str(true)", "2.5true"),
        ("round(2.5) + round(-2.5)", "1"),
        ("floor(-1.5)", "-2"),
        ("sin(30)", "0.5"),
        ("atan2(1, 1)", "45"),
        ("clamp(15, 0, 10)", "10"),
        ("remap(5, 0, 10, 100, 200)", "150"),
        ("polar((0, 0), 2, 90)", "(1.22465e-16, 2)"),
        ("rotate_point((1, 0), 90)", "(6.12323e-17, 1)"),
        ("dist((0, 0), (3, 4))", "5"),
        ('join([1, 2], "-")', "1-2"),
        ("contains([1, 2], 2)", "true"),
        ("reverse([1, 2])", "[2, 1]"),
        ("sum([0.1, 0.2, 0.3])", "0.6"),
        ("min(3, 1, 2) + max(3, 1, 2)", "4"),
        ("lerp(0, 10, 0.25)", "2.5"),
        ("rgb(255, 0, 0)", "#ff0000"),
        ("with_alpha(red, 0.5)", "#ff000080"),
        ("mix(black, white)", "#808080"),
        ("hsl(120, 100%, 50%)", "#00ff00"),
        ("gray(0.5)", "#808080"),
        ("red.r + red.a", "2"),
    ],
)
def test_values(expr, shown):
    assert value(expr) == shown


def test_loops_see_fresh_variables_and_update_outer_lets():
    s = scene("let total = 0\nfor i in range(4) { let sq = i * i\n total += sq }\ncircle(center=(total, 0), r=1)")
    assert s.root.children[0].geom.cx == 14.0


def test_early_return_from_nested_loops():
    s = scene(
        "def find(xs: list[number]) -> number {\n for x in xs { for y in xs { if x + y == 7 { return x * 10 + y } } }\n"
        " return -1\n}\ncircle(center=(find(xs=[1, 3, 4, 6]), 0), r=1)"
    )
    assert s.root.children[0].geom.cx == 16.0


def test_defs_see_globals_and_params_see_defaults_at_call_time():
    s = scene(
        "let base = 5\ndef f(a: number = base * 2) -> number { return a + base }\ncircle(center=(f(), f(a=1)), r=1)"
    )
    g = s.root.children[0].geom
    assert (g.cx, g.cy) == (15.0, 6.0)


def test_def_drawing_is_labelled_with_the_def_name():
    s = scene(
        "def dot(at: point) { circle(center=at, r=2) }\ndef pair() { dot(at=(0, 0))\n dot(at=(5, 5)) }\n"
        'dot(at=(1, 1))\npair()\ncircle(center=(9, 9), r=1, label="mine")'
    )
    one, two, three = s.root.children
    assert isinstance(one, ir.Shape) and one.label == "dot"
    assert isinstance(two, ir.Group) and two.label == "pair" and [c.label for c in two.children] == ["dot", "dot"]
    assert three.label == "mine"


def test_a_labelled_shape_in_a_def_keeps_its_label_inside_the_defs_group():
    s = scene('def wheel() { circle(center=(1, 1), r=1, label="hub") }\nwheel()')
    g = s.root.children[0]
    assert isinstance(g, ir.Group) and g.label == "wheel" and g.children[0].label == "hub"


def test_group_transform_and_effects_in_the_ir():
    s = scene(
        'group(translate=(10, 20), rotate=90, opacity=0.5, label="g") { rect(x=0, y=0, w=1, h=1) }\n'
        "blur(radius=3) { circle(center=(0, 0), r=1) }\nclip_rect(w=5, h=5) { circle(center=(0, 0), r=1) }\n"
        "group() { }"
    )
    g, b, c = s.root.children  # an empty group draws nothing and is dropped
    assert g.label == "g" and g.opacity == 0.5
    a, bb, cc, d, e, f = g.transform
    assert (round(a, 9), round(bb, 9), round(cc, 9), round(d, 9), e, f) == (0, 1, -1, 0, 10.0, 20.0)
    assert b.effects[0].kind == "blur" and b.effects[0].radius == 3.0
    assert c.clip is not None


def test_canvas_sets_size_background_and_width_height():
    s = scene("canvas(width=300, height=200, background=none)\ncircle(center=(width, height), r=1)")
    assert (s.width, s.height, s.background) == (300, 200, None)
    assert (s.root.children[0].geom.cx, s.root.children[0].geom.cy) == (300.0, 200.0)
    d = scene("circle(center=(width, height), r=1)")
    assert (d.width, d.height, d.background) == (512, 512, (1.0, 1.0, 1.0, 1.0))


def test_colour_strings_become_colours():
    s = scene(
        'let cs: list[color] = ["red", "#00ff00"]\nlet c: color = "blue"\n'
        "circle(center=(0, 0), r=1, fill=cs[1], stroke=c)\n"
        'rect(w=1, h=1, fill=linear((0, 0), (1, 1), ["red", "blue"]))'
    )
    shape, rect = s.root.children
    assert shape.fill.rgba == (0.0, 1.0, 0.0, 1.0) and shape.stroke.paint.rgba == (0.0, 0.0, 1.0, 1.0)
    assert [st.rgba for st in rect.fill.stops] == [(1.0, 0.0, 0.0, 1.0), (0.0, 0.0, 1.0, 1.0)]


def test_params_default_override_and_types():
    src = (
        'param n = 3\nparam on = true\nparam tint: color = red\nparam name = "x"\n'
        "for i in range(n) { circle(center=(i, 0), r=1, fill=on ? tint : blue, label=name) }"
    )
    assert len(scene(src).root.children) == 3
    s = scene(src, params={"n": "2", "on": "false", "tint": "#00ff00", "name": "y"})
    assert len(s.root.children) == 2
    assert s.root.children[0].fill.rgba == (0.0, 0.0, 1.0, 1.0) and s.root.children[0].label == "y"
    prog = vdsl.compile(src)
    bad, diags = prog.evaluate(0, params={"n": "many"})
    assert bad is None and [(d.code, d.span.line) for d in diags] == [("E205", 1)]


def test_the_seed_drives_every_random_builtin():
    src = (
        "let v = [rand(), randint(1, 100), gauss(), rand_color().r, chance(0.5) ? 1 : 0, choice([1, 2, 3])]\n"
        "circle(center=(0, 0), r=1, label=str(v) + str(shuffle(range(6))))"
    )
    labels = {scene(src, seed).root.children[0].label for seed in range(6)}
    assert len(labels) == 6
    assert scene(src, 4).root.children[0].label == scene(src, 4).root.children[0].label


def test_evaluating_twice_gives_the_same_scene():
    prog = vdsl.compile("let xs = [rand() for i in range(3)]\nfor x in xs { circle(center=(x, x), r=1) }")
    assert prog.evaluate(9)[0].to_json() == prog.evaluate(9)[0].to_json()


def test_budgets_passed_to_evaluate_win():
    prog = vdsl.compile("for i in range(50) { circle(center=(1, 1), r=1) }")
    assert prog.evaluate(0)[0] is not None
    s, diags = prog.evaluate(0, budgets=DEFAULT.with_overrides(primitives=10))
    assert s is None and diags[0].code == "E404"


@pytest.mark.parametrize(
    "src, code, line",
    [
        ("let xs = [1]\nlet y = xs[1]", "E302", 2),
        ('let s = "ab"\nfor i in range(20) {\n  s = s + s\n}', "E410", 3),  # span of the `+`, not 1:1
        ("let xs = [0]\nfor i in range(20) { xs = xs + xs }", "E410", 2),
        ("def f(n: number) { circle(center=(0, 0), r=n) }\nf(n=-1)", "E301", 1),
        ("let g = gauss(0, 1e308) * 0", "E305", 1),
        ("let v = 1\nif v > 0 {\n  let w = 1 / (v - 1)\n}", "E303", 3),
        ('let cs = [red, "blu"]\ncircle(center=(1, 1), r=1, fill=cs[1])', "E216", 2),
        ("let xs = [rand(), 2]\nlet p = lerp((0, 0), 1, 0.5)", "E205", 2),
    ],
)
def test_fault_codes_and_lines(src, code, line):
    assert fault(src) == (code, line)


def test_runtime_faults_carry_hints():
    prog = vdsl.compile("let xs = [1]\nlet y = xs[4]")
    _, diags = prog.evaluate(0)
    assert diags[0].hint and "-1" in diags[0].hint


def test_scene_raises_with_diagnostics():
    prog = vdsl.compile("let y = 1 / 0")
    with pytest.raises(vdsl.VdslError) as e:
        prog.scene(0)
    assert [d.code for d in e.value.diagnostics] == ["E303"] and "division by zero" in str(e.value)


def test_compile_errors_are_returned_by_evaluate():
    prog = vdsl.compile("circle(center=(1, 2), radius=3)")
    s, diags = prog.evaluate(0)
    assert s is None and [d.code for d in diags] == ["E202"]


def test_values_are_plain_and_finite():
    s = scene("circle(center=polar((0, 0), 1e300, 45), r=1e300)")
    g = s.root.children[0].geom
    assert all(math.isfinite(v) for v in (g.cx, g.cy, g.rx, g.ry))
    assert isinstance(Color(1, 0, 0), tuple) and Point(1, 2).x == 1
