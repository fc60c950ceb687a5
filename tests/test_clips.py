"""Clips made of any drawn shapes, cutouts and polygon holes: hand-computed pixels in raster, the same
pixels from the SVG rendered back with Skia's SVG renderer, a PDF, and the one IR clip form they become."""

from __future__ import annotations

import numpy as np
import pytest
import skia

import vdsl
from vdsl import ir

RED, BLUE, GREEN, WHITE = (255, 0, 0), (0, 0, 255), (0, 128, 0), (255, 255, 255)

# Clip to a circle (centre 50,50, r 30) and a rectangle (120..180, 20..80), given as drawing calls.
CLIP = """canvas(width=200, height=100, background=white)
clip() {
  clip_shape() { circle(center=(50, 50), r=30) rect(x=120, y=20, w=60, h=60) }
  rect(x=0, y=0, w=200, h=100, fill=red)
}
"""
INSIDE = [(50, 50), (50, 25), (150, 50), (125, 75)]  # (x, y) inside the circle or the rectangle
OUTSIDE = [(5, 5), (100, 50), (50, 90), (190, 50), (75, 75)]


def rgb(img: np.ndarray, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(v) for v in img[y, x, :3])


def svg_back(src: str) -> np.ndarray:
    """The program's SVG, rendered back to pixels by Skia's SVG renderer."""
    prog = vdsl.compile(src)
    data, _ = prog.render_bytes("svg")
    scene = prog.scene()
    dom = skia.SVGDOM.MakeFromStream(skia.MemoryStream(data))
    assert dom is not None
    surface = skia.Surface(scene.width, scene.height)
    dom.setContainerSize(skia.Size(scene.width, scene.height))
    dom.render(surface.getCanvas())
    bgra = surface.toarray()  # N32: BGRA on little-endian
    return bgra[..., [2, 1, 0, 3]]


def renders(src: str) -> list[np.ndarray]:
    return [vdsl.compile(src).render(), svg_back(src)]


@pytest.mark.parametrize("backend", ["raster", "svg"])
def test_clip_to_several_drawn_shapes(backend):
    img = renders(CLIP)[backend == "svg"]
    for x, y in INSIDE:
        assert rgb(img, x, y) == RED, (x, y)
    for x, y in OUTSIDE:
        assert rgb(img, x, y) == WHITE, (x, y)


@pytest.mark.parametrize("backend", ["raster", "svg"])
def test_inverted_clip_keeps_the_outside(backend):
    img = renders(CLIP.replace("clip() {", "clip(invert=true) {"))[backend == "svg"]
    for x, y in INSIDE:
        assert rgb(img, x, y) == WHITE, (x, y)
    for x, y in OUTSIDE:
        assert rgb(img, x, y) == RED, (x, y)


def test_clip_shapes_are_not_drawn_and_only_their_outline_counts():
    # A stroked, coloured, half-transparent clip shape clips like a plain one: fill area only.
    styled = CLIP.replace(
        "circle(center=(50, 50), r=30)",
        "circle(center=(50, 50), r=30, fill=green, opacity=0.2, stroke=blue, stroke_width=20)",
    )
    assert np.array_equal(vdsl.compile(styled).render(), vdsl.compile(CLIP).render())


def test_clip_shapes_follow_their_transforms():
    src = """canvas(width=200, height=100, background=white)
clip() {
  clip_shape() { group(translate=(100, 0)) { circle(center=(0, 50), r=20) } }
  rect(x=0, y=0, w=200, h=100, fill=red)
}
"""
    img = vdsl.compile(src).render()
    assert rgb(img, 100, 50) == RED and rgb(img, 10, 50) == WHITE


def test_clip_to_text_is_the_text_shape():
    text = 'text("VDSL", at=(10, 80), size=80, weight="black")'
    clipped = vdsl.compile(
        f"canvas(width=260, height=100)\nclip() {{ clip_shape() {{ {text} }} rect(x=0, y=0, w=260, h=100, fill=black) }}"
    ).render()
    plain = vdsl.compile(f"canvas(width=260, height=100)\n{text}").render()
    a, b = clipped[..., 0] < 128, plain[..., 0] < 128
    assert b.sum() > 2000
    assert (a & b).sum() / (a | b).sum() > 0.95  # the same shape; anti-aliased edges differ slightly


def test_the_ir_holds_one_path_clip():
    scene = vdsl.compile(CLIP).scene()
    (group,) = scene.root.children
    assert isinstance(group, ir.Group) and isinstance(group.clip, ir.PathGeom)
    assert [type(c) for c in group.children] == [ir.Shape]  # the clip shapes are not drawn


CUTOUT = """canvas(width=200, height=100, background=white)
rect(x=0, y=0, w=200, h=100, fill=blue)
cutout() { circle(center=(50, 50), r=30) }
rect(x=140, y=40, w=20, h=20, fill=green)
cutout() { rect(x=100, y=0, w=10, h=100) }
"""


@pytest.mark.parametrize("backend", ["raster", "svg"])
def test_cutout_shows_the_background_through_the_hole(backend):
    img = renders(CUTOUT)[backend == "svg"]
    assert rgb(img, 50, 50) == WHITE  # in the hole
    assert rgb(img, 5, 5) == BLUE  # outside it
    assert rgb(img, 105, 50) == WHITE  # the second cutout cuts the blue too
    assert rgb(img, 150, 50) == GREEN  # drawn after the first cutout, not cut by the second


def test_a_cutout_in_a_group_cuts_only_the_group():
    src = """canvas(width=200, height=100, background=white)
rect(x=0, y=0, w=200, h=100, fill=red)
group() {
  rect(x=20, y=20, w=60, h=60, fill=blue)
  cutout() { circle(center=(50, 50), r=20) }
}
"""
    img = vdsl.compile(src).render()
    assert rgb(img, 50, 50) == RED  # the hole in the blue square shows what lies under the group
    assert rgb(img, 25, 25) == BLUE


POLY = """canvas(width=200, height=100, background=white)
polygon(points=[(10, 10), (90, 10), (90, 90), (10, 90)], holes=[[(30, 30), (70, 30), (70, 70), (30, 70)]], fill=green)
polygon(points=[(150, 5), (180, 95), (105, 40), (195, 40), (120, 95)], fill_rule="evenodd", fill=blue)
"""


@pytest.mark.parametrize("backend", ["raster", "svg"])
def test_polygon_holes_and_even_odd(backend):
    img = renders(POLY)[backend == "svg"]
    assert rgb(img, 50, 50) == WHITE  # the hole
    assert rgb(img, 20, 50) == GREEN  # the ring
    assert rgb(img, 150, 55) == WHITE  # the pentagram's centre, even-odd
    assert rgb(img, 150, 20) == BLUE  # a point of the star
    nonzero = vdsl.compile(POLY.replace('fill_rule="evenodd", ', "")).render()
    assert rgb(nonzero, 150, 55) == BLUE


@pytest.mark.parametrize("src", [CLIP, CUTOUT, POLY])
def test_pdf_is_produced(src):
    data, warnings = vdsl.compile(src).render_bytes("pdf")
    assert data.startswith(b"%PDF") and b"%%EOF" in data[-64:]
    assert warnings == []


def test_clip_outlines_are_budgeted():
    from dataclasses import replace

    from vdsl.budgets import DEFAULT

    many = "clip() { clip_shape() { for i in range(40) { circle(center=(i * 9, 50), r=3) } } rect(x=0, y=0, w=512, h=512) }"
    _, diags = vdsl.compile(many, budgets=replace(DEFAULT, path_segments=200)).evaluate()
    assert [d.code for d in diags] == ["E405"]  # 40 separate circles: more than 200 segments of outline
    scene, diags = vdsl.compile(many, budgets=replace(DEFAULT, path_segments=2000)).evaluate()
    assert scene is not None and diags == []


@pytest.mark.parametrize("src", [CLIP, CUTOUT])
def test_render_work_costs_the_clip(src):
    from vdsl.backends import estimate

    plain = estimate(vdsl.compile(CLIP.split("clip()")[0] + "rect(x=0, y=0, w=200, h=100, fill=red)").scene())
    est = estimate(vdsl.compile(src).scene())
    assert "paths" not in plain.parts and "layers" not in plain.parts
    assert est.parts["paths"] > 0 and est.parts["layers"] > 0  # the clip path's edges and its coverage mask


@pytest.mark.parametrize("name", ["clip", "clip_shape", "cutout", "polygon"])
def test_the_reference_examples_compile_and_draw(name):
    from vdsl.builtins import TABLE

    prog = vdsl.compile(TABLE[name].example)
    assert prog.diagnostics == []
    img = prog.render()
    assert not np.all(img == img[0, 0])


def test_cutouts_in_a_loop_keep_the_ir_shallow_up_to_a_limit():
    loop = """canvas(width=600, height=100, background=white)
for i in range(N) {
  rect(x=i * 5, y=0, w=5, h=100, fill=red)
  cutout() { circle(center=(i * 5 + 2, 50), r=2) }
}
"""
    scene = vdsl.compile(loop.replace("N", "60")).scene()
    img = vdsl.compile(loop.replace("N", "60")).render()
    assert rgb(img, 2, 50) == WHITE and rgb(img, 4, 10) == RED
    _, diags = vdsl.compile(loop.replace("N", "70")).evaluate()
    assert [d.code for d in diags] == ["E301"] and "one `cutout()" in diags[0].hint
    assert scene.root.children and isinstance(scene.root.children[0], ir.Group)


def test_a_cutout_in_a_def_cuts_only_what_the_def_drew():
    src = """canvas(width=100, height=100, background=white)
def ring(c: point) { circle(center=c, r=40, fill=orange) cutout() { circle(center=c, r=15) } }
rect(x=0, y=0, w=100, h=100, fill=blue)
ring(c=(50, 50))
"""
    img = vdsl.compile(src).render()
    assert rgb(img, 50, 50) == BLUE  # the ring's hole shows the blue drawn before the call
    assert rgb(img, 50, 20) == (255, 165, 0)
