"""Render-work budget: worst-case scenes end in E411 / E407 before drawing; the estimate's shape."""

from __future__ import annotations

import glob
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import vdsl
from vdsl.api import compile_file, fit
from vdsl.backends import estimate, render_array, render_bytes, render_pdf, render_svg, save
from vdsl.backends.cost import MAX_DASHES, dash_count, path_length
from vdsl.budgets import DEFAULT, Budgets
from vdsl.deadline import Deadline
from vdsl.errors import DiagnosticsError
from vdsl.ir import Effect, EllipseGeom, Group, Noise, PathGeom, RectGeom, Scene, Shape, Solid, Stroke

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RED = Solid((1.0, 0.0, 0.0, 1.0))


def scene_of(src: str) -> Scene:
    prog = vdsl.compile(src)
    assert prog.ok, prog.diagnostics
    return prog.scene(0)


def codes(exc: DiagnosticsError) -> list[str]:
    return [d.code for d in exc.diagnostics]


def refused(fn, code: str = "E411") -> DiagnosticsError:
    with pytest.raises(DiagnosticsError) as info:
        fn()
    assert codes(info.value) == [code]
    assert info.value.diagnostics[0].hint
    return info.value


def nested(depth: int, radius: float, canvas: int = 1024) -> str:
    body = "rect(x=500, y=500, w=20, h=20, fill=red)"
    for _ in range(depth):
        body = f"blur(radius={radius}) {{ {body} }}"
    return f"canvas(width={canvas}, height={canvas})\n{body}\n"


# ---------------------------------------------------------------- the worst cases, refused
def test_sixteen_nested_blurs_on_1024_are_refused():
    sc = scene_of(nested(16, 200))
    err = refused(lambda: render_array(sc))
    assert "effects" in err.diagnostics[0].message
    assert "blur" in err.diagnostics[0].hint


def test_two_hundred_blur_layers_are_refused():
    sc = scene_of(
        "canvas(width=1024, height=1024)\n"
        "for i in range(200) { blur(radius=200) { rect(x=0, y=0, w=1024, h=1024, fill=red) } }\n"
    )
    refused(lambda: render_bytes(sc, "png"))


def test_many_full_canvas_noise_fills_are_refused():
    sc = scene_of(
        "canvas(width=1024, height=1024)\n"
        "for i in range(100) { rect(x=0, y=0, w=1024, h=1024, "
        "fill=noise(color=red, background=blue, frequency=0.02, octaves=6)) }\n"
    )
    err = refused(lambda: render_array(sc))
    assert "noise" in err.diagnostics[0].hint


def test_dense_dashes_are_refused():
    sc = scene_of(
        "canvas(width=1024, height=1024)\n"
        "for i in range(200) { circle(center=(512, 512), r=10 + i * 2, fill=none, stroke=black, "
        "dash=[0.05, 0.05]) }\n"
    )
    err = refused(lambda: render_array(sc))
    assert "dash" in err.diagnostics[0].hint


@pytest.mark.parametrize(
    "wrap",
    [
        "shadow(dx=5, dy=5, blur=150, color=#00000080) {{ {body} }}",
        "glow(radius=150, color=yellow) {{ {body} }}",
        "blur(radius=150) {{ {body} }}",
        "group(opacity=0.5) {{ {body} }}",
        'group(blend="hue") {{ {body} }}',
    ],
)
def test_many_large_effect_and_layer_groups_are_refused(wrap):
    body = "rect(x=0, y=0, w=1024, h=1024, fill=red)"
    sc = scene_of(f"canvas(width=1024, height=1024)\nfor i in range(2000) {{ {wrap.format(body=body)} }}\n")
    refused(lambda: render_array(sc))


def test_many_full_canvas_blended_shapes_are_refused():
    sc = scene_of(
        "canvas(width=1024, height=1024)\n"
        'for i in range(5000) { rect(x=0, y=0, w=1024, h=1024, fill=red, blend="luminosity") }\n'
    )
    refused(lambda: render_array(sc))


def zigzag(n: int, side: int = 1024) -> PathGeom:
    """n full-height edges that cross each other: the worst case of Skia's scan converter."""
    return PathGeom(
        (("M", 0.0, 0.0),) + tuple(("L", float(i % (side // 2)), 0.0 if i % 2 else float(side)) for i in range(n))
    )


def test_paths_of_many_crossing_edges_are_refused():
    sc = Scene(1024, 1024, None, Group((Shape(zigzag(4000), RED),)))
    err = refused(lambda: render_array(sc))
    assert "path" in err.diagnostics[0].hint


def test_clip_paths_of_many_crossing_edges_are_refused():
    sc = Scene(
        1024,
        1024,
        None,
        Group(tuple(Group((Shape(RectGeom(0, 0, 1024, 1024), RED),), clip=zigzag(20000)) for _ in range(5))),
    )
    refused(lambda: render_array(sc))


def test_edge_cost_grows_with_crossing_edges():
    few = estimate(Scene(1024, 1024, None, Group((Shape(zigzag(100), RED),)))).parts["paths"]
    many = estimate(Scene(1024, 1024, None, Group((Shape(zigzag(1000), RED),)))).parts["paths"]
    assert many > 50 * few  # 10x the edges, each sorted against 10x as many


def test_scale_16_on_4096_is_a_canvas_error_not_memory_error():
    sc = Scene(4096, 4096, (1.0, 1.0, 1.0, 1.0), Group((Shape(RectGeom(0, 0, 10, 10), RED),)))
    err = refused(lambda: render_array(sc, 16.0), "E407")
    assert "65536x65536" in err.diagnostics[0].message
    refused(lambda: render_bytes(sc, "png", 16.0), "E407")


def test_canvas_side_budget_applies_after_scaling():
    sc = Scene(100, 10, None, Group())
    assert render_array(sc, 2.0).shape == (20, 200, 4)
    refused(lambda: render_array(sc, 2.0, budgets=DEFAULT.with_overrides(canvas_side=150)), "E407")


def dashed_circle(dash=(0.05, 0.05), cap="round") -> Scene:
    return Scene(
        512,
        512,
        (1.0, 1.0, 1.0, 1.0),
        Group((Shape(EllipseGeom(256, 256, 250, 250), None, Stroke(Solid((0, 0, 0, 1)), 3.0, dash, cap)),)),
    )


def test_dashed_circle_to_pdf_is_refused():
    err = refused(lambda: render_pdf(dashed_circle()))
    assert "PDF" in err.diagnostics[0].message and "dash" in err.diagnostics[0].hint
    refused(lambda: render_bytes(dashed_circle(), "pdf"))


def test_dashed_circle_to_svg_stays_small_with_native_dashes():
    text, _ = render_svg(dashed_circle())
    assert 'stroke-dasharray="0.05 0.05"' in text
    assert len(text) < 2000  # one circle element, not thousands of dash segments


def test_save_writes_nothing_when_refused(tmp_path):
    for name in ("out.png", "out.pdf"):
        sc = scene_of(nested(16, 200)) if name.endswith("png") else dashed_circle()
        refused(lambda: save(sc, tmp_path / name))
        assert not (tmp_path / name).exists()


def test_svg_writer_is_budgeted_too():
    sc = Scene(100, 100, None, Group(tuple(Shape(RectGeom(i, i, 5, 5), RED) for i in range(50))))
    render_svg(sc)
    refused(lambda: render_svg(sc, budgets=Budgets(render_work=10_000)))


def test_a_raised_budget_lets_a_refused_scene_through():
    sc = scene_of(nested(2, 50, canvas=128))
    budget = estimate(sc).total
    refused(lambda: render_array(sc, budgets=Budgets(render_work=int(budget / 2))))
    assert render_array(sc, budgets=Budgets(render_work=int(budget * 2))).shape == (128, 128, 4)


# ---------------------------------------------------------------- the deadline (second line)
@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_a_passed_deadline_stops_drawing_with_e412(fmt):
    sc = Scene(64, 64, None, Group(tuple(Shape(RectGeom(i, i, 5, 5), RED) for i in range(40))))
    refused(lambda: render_bytes(sc, fmt, deadline=Deadline(-1.0)), "E412")
    assert render_bytes(sc, fmt, deadline=Deadline(60.0))[0]


# ---------------------------------------------------------------- the estimate's shape
def rect_scene(size: float, canvas: int = 1024, **group) -> Scene:
    return Scene(canvas, canvas, None, Group((Group((Shape(RectGeom(0, 0, size, size), RED),), **group),)))


def test_estimate_grows_with_area():
    small, big = (estimate(rect_scene(s)).total for s in (100, 800))
    assert big > small
    assert estimate(rect_scene(800)).parts["pixels"] / estimate(rect_scene(100)).parts["pixels"] > 30


def test_estimate_clips_to_the_canvas():
    inside, huge = (estimate(rect_scene(s)).parts["pixels"] for s in (1024, 100_000))
    assert huge == inside


def test_estimate_grows_with_blur_radius():
    costs = [estimate(rect_scene(100, effects=(Effect("blur", r),))).parts["effects"] for r in (2, 20, 200)]
    assert costs[0] < costs[1] < costs[2]


def test_estimate_grows_with_nesting_faster_than_linearly():
    costs = [estimate(scene_of(nested(d, 100))).parts["effects"] for d in (1, 2, 4, 8)]
    assert all(a < b for a, b in zip(costs, costs[1:]))
    assert costs[3] > 8 * costs[0]


def test_nested_layers_cost_again():
    one = estimate(rect_scene(1024, opacity=0.5)).parts["layers"]
    inner = Group((Shape(RectGeom(0, 0, 1024, 1024), RED),), opacity=0.5)
    two = estimate(Scene(1024, 1024, None, Group((Group((inner,), opacity=0.5),)))).parts["layers"]
    assert two == pytest.approx(2 * one)


def test_estimate_grows_with_scale_squared():
    sc = rect_scene(512, canvas=512, effects=(Effect("blur", 10),))
    a, b = estimate(sc, 1.0).total, estimate(sc, 4.0).total
    assert 10 < b / a <= 16


def test_noise_costs_more_than_solid_and_grows_with_octaves():
    def cost(fill):
        return estimate(Scene(512, 512, None, Group((Shape(RectGeom(0, 0, 512, 512), fill),)))).total

    noise = [cost(Noise("fractal", (0.02, 0.02), o, 1, ((0, 0, 0, 1), (1, 1, 1, 1)))) for o in (1, 4, 10)]
    assert cost(RED) < noise[0] < noise[1] < noise[2]


def test_dashes_cost_by_segment_count():
    def cost(dash):
        return estimate(dashed_circle(dash, "butt")).parts.get("dashes", 0.0)

    assert cost(()) == 0.0
    assert cost((1, 1)) == pytest.approx(10 * cost((10, 10)), rel=1e-6)
    assert cost((0.01, 0.01)) > cost((1, 1))


def test_dash_count_is_finite_and_capped():
    stroke = Stroke(RED, 1.0, (1.0, 1.0))
    assert dash_count(stroke, float("inf")) == MAX_DASHES
    assert dash_count(stroke, float("nan")) == MAX_DASHES
    assert dash_count(stroke, 100.0) == pytest.approx(50.0)


def test_path_length_bounds_lines_curves_and_arcs():
    assert path_length((("M", 0, 0), ("L", 3, 4), ("Z",))) == pytest.approx(10.0)
    # a cubic's control polygon bounds its length
    assert path_length((("M", 0, 0), ("C", 0, 10, 10, 10, 10, 0))) == pytest.approx(30.0)
    # a half-circle arc of radius 5: at least pi * 5
    assert path_length((("M", 0, 0), ("A", 5, 5, 0, 0, 1, 10, 0))) >= 3.14159 * 5


def test_text_and_segments_count():
    text = scene_of('canvas(width=256, height=256)\ntext("hello world", at=(10, 100), size=20)\n')
    assert estimate(text).parts["text"] > 0
    path = Scene(64, 64, None, Group((Shape(PathGeom((("M", 0.0, 0.0),) + (("L", 5.0, 5.0),) * 100), RED),)))
    assert (
        estimate(path).parts["paths"]
        > estimate(Scene(64, 64, None, Group((Shape(PathGeom((("M", 0.0, 0.0), ("L", 5.0, 5.0))), RED),)))).parts[
            "paths"
        ]
    )


def test_pdf_and_svg_estimates_are_separate_targets():
    sc = dashed_circle((1.0, 1.0), "round")
    raster, pdf, svg = (estimate(sc, target=t).parts.get("dashes", 0.0) for t in ("raster", "pdf", "svg"))
    assert pdf > raster > 0 and svg == 0.0
    with pytest.raises(ValueError):
        estimate(sc, target="gif")


def test_non_finite_geometry_gives_an_image_or_a_diagnostic():
    inf = float("inf")
    for geom in (RectGeom(0, 0, inf, inf), EllipseGeom(float("nan"), 0, 5, 5)):
        sc = Scene(64, 64, None, Group((Shape(geom, RED, Stroke(RED, 2.0, (1.0, 1.0))),)))
        try:
            assert render_array(sc).shape == (64, 64, 4)
        except DiagnosticsError as e:
            assert codes(e) == ["E411"]


# ---------------------------------------------------------------- examples stay well under budget
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.vd")))


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_examples_are_well_under_the_render_budget(path):
    sc = compile_file(path).scene(0)
    assert estimate(sc).total < 0.25 * DEFAULT.render_work
    big = fit(sc, (1024, 1024))
    assert estimate(big).total < 0.6 * DEFAULT.render_work
    assert estimate(big, quick=True).total >= estimate(big).total  # the quick bound is an upper bound


def test_examples_found():
    assert len(EXAMPLES) > 20


# ---------------------------------------------------------------- property: deep effect nesting
EFFECTS = st.sampled_from(
    [
        lambda r: {"effects": (Effect("blur", r),)},
        lambda r: {"effects": (Effect("shadow", r, 3.0, 4.0, (0, 0, 0, 0.5)),)},
        lambda r: {"effects": (Effect("glow", r, 0.0, 0.0, (1, 1, 0, 1)),)},
        lambda r: {"opacity": 0.5},
        lambda r: {"blend": "multiply"},
        lambda r: {"clip": PathGeom((("M", 0.0, 0.0), ("L", 50.0, 0.0), ("L", 0.0, 50.0), ("Z",)))},
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=st.lists(st.tuples(EFFECTS, st.floats(0.0, 200.0)), min_size=1, max_size=24),
    side=st.sampled_from([16, 64, 200]),
    scale=st.sampled_from([0.5, 1.0, 3.0, 400.0]),
    fmt=st.sampled_from(["png", "pdf", "svg"]),
)
def test_deep_effect_nesting_renders_or_is_refused(layers, side, scale, fmt):
    node = Shape(EllipseGeom(side / 2, side / 2, side / 3, side / 4), RED, Stroke(RED, 2.0, (2.0, 1.0)))
    for make, radius in layers:
        node = Group((node,), **make(radius))
    sc = Scene(side, side, (1.0, 1.0, 1.0, 1.0), Group((node,)))
    target = {"png": "raster"}.get(fmt, fmt)
    assert estimate(sc, scale, target, quick=True).total >= estimate(sc, scale, target).total
    small = Budgets(render_work=30_000_000)  # ~30 ms: what is accepted stays quick to draw
    try:
        data, _ = render_bytes(sc, fmt, scale, budgets=small)
    except DiagnosticsError as e:
        assert codes(e) in (["E411"], ["E407"])
    else:
        assert data


# ---------------------------------------------------------------- the stdlib showcases too
def stdlib_defs():
    from test_stdlib import DRAWING_DEFS, _call  # the stdlib tests' own list and calls

    return [(m, _call(d, sig)) for m, d, sig in DRAWING_DEFS]


@pytest.mark.parametrize("module,call", stdlib_defs(), ids=lambda v: v if "(" not in v else v.split("(")[0])
def test_stdlib_defs_are_well_under_the_render_budget(module, call):
    sc = scene_of(f"canvas(width=512, height=512, background=white)\nuse {module}\n{call}\n")
    assert estimate(sc).total < 0.25 * DEFAULT.render_work
    assert estimate(fit(sc, (1024, 1024))).total < 0.6 * DEFAULT.render_work


def test_encoding_is_budgeted_by_format():
    sc = Scene(
        1024,
        1024,
        None,
        Group((Shape(RectGeom(0, 0, 1024, 1024), Noise("fractal", (0.05, 0.05), 1, 1, ((0, 0, 0, 1), (1, 1, 1, 1)))),)),
    )
    bare = estimate(sc).total
    png, webp = (estimate(sc, encoding=f).total for f in ("png", "webp"))
    assert bare < png < webp
    budget = Budgets(render_work=int((png + webp) / 2))
    assert render_bytes(sc, "png", budgets=budget)[0]
    refused(lambda: render_bytes(sc, "webp", budgets=budget))
