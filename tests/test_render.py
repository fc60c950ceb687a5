"""Tests for the backends: raster pixels, encoders, SVG, PDF, save(), and the bundled fonts."""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

from vdsl import fonts
from vdsl.ir import (
    Effect,
    EllipseGeom,
    Group,
    LinearGradient,
    Noise,
    PathGeom,
    Pattern,
    RadialGradient,
    RectGeom,
    Scene,
    Shape,
    Solid,
    Stop,
    Stroke,
    SweepGradient,
    TextGeom,
)
from vdsl.backends import encode_image, render_array, render_bytes, render_pdf, render_svg, save

WHITE = (1.0, 1.0, 1.0, 1.0)
BLACK = (0.0, 0.0, 0.0, 1.0)
RED = (1.0, 0.0, 0.0, 1.0)
GREEN = (0.0, 1.0, 0.0, 1.0)
BLUE = (0.0, 0.0, 1.0, 1.0)
SVG_NS = "{http://www.w3.org/2000/svg}"


def scene(*children, bg=WHITE, w=100, h=100, **group) -> Scene:
    return Scene(w, h, bg, Group(children=tuple(children), **group))


def px(arr: np.ndarray, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(v) for v in arr[y, x])


def close(a, b, tol=2) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b))


RED_RECT = Shape(RectGeom(25, 25, 50, 50), Solid(RED))


# ---------------------------------------------------------------- raster basics
def test_rect_centre_is_red_and_outside_is_background():
    a = render_array(scene(RED_RECT))
    assert a.shape == (100, 100, 4) and a.dtype == np.uint8
    assert px(a, 50, 50) == (255, 0, 0, 255)
    assert px(a, 5, 5) == (255, 255, 255, 255)
    assert px(a, 80, 50) == (255, 255, 255, 255)


def test_transparent_background():
    a = render_array(scene(RED_RECT, bg=None))
    assert px(a, 5, 5)[3] == 0
    assert px(a, 50, 50) == (255, 0, 0, 255)


def test_circle_centre_and_corner():
    a = render_array(scene(Shape(EllipseGeom(50, 50, 30, 30), Solid(BLUE))))
    assert px(a, 50, 50) == (0, 0, 255, 255)
    assert px(a, 25, 25) == (255, 255, 255, 255)  # inside the bounding box, outside the circle
    assert px(a, 50, 22) == (0, 0, 255, 255)


def test_scale_changes_size_and_scales_content():
    a = render_array(scene(RED_RECT), scale=2)
    assert a.shape == (200, 200, 4)
    assert px(a, 100, 100) == (255, 0, 0, 255)
    assert px(a, 45, 45) == (255, 255, 255, 255)
    assert px(a, 55, 55) == (255, 0, 0, 255)
    b = render_array(scene(RED_RECT, w=10, h=7), scale=1.5)
    assert b.shape == (round(7 * 1.5), 15, 4)


def test_group_transform_moves_content():
    moved = scene(Group(children=(RED_RECT,), transform=(1, 0, 0, 1, 20, 0)))
    a = render_array(moved)
    assert px(a, 30, 50) == (255, 255, 255, 255)
    assert px(a, 90, 50) == (255, 0, 0, 255)


def test_shape_transform_scale_and_rotate():
    # scale 2 about the origin: the rect (10,10,10,10) covers (20..40)
    s = Shape(RectGeom(10, 10, 10, 10), Solid(RED), transform=(2, 0, 0, 2, 0, 0))
    a = render_array(scene(s))
    assert px(a, 35, 35) == (255, 0, 0, 255)
    assert px(a, 15, 15) == (255, 255, 255, 255)
    # rotate 90 degrees (x, y) -> (-y, x), then translate by (100, 0)
    r = Shape(RectGeom(10, 40, 20, 5), Solid(RED), transform=(0, 1, -1, 0, 100, 0))
    b = render_array(scene(r))
    assert px(b, 57, 20) == (255, 0, 0, 255)  # x = 100 - 42.5, y = 20
    assert px(b, 20, 42) == (255, 255, 255, 255)


def test_clip_cuts():
    clip = PathGeom((("M", 0, 0), ("L", 50, 0), ("L", 50, 100), ("L", 0, 100), ("Z",)))
    a = render_array(scene(Group(children=(RED_RECT,), clip=clip)))
    assert px(a, 40, 50) == (255, 0, 0, 255)
    assert px(a, 60, 50) == (255, 255, 255, 255)


def test_clip_is_in_group_coordinates_after_transform():
    clip = PathGeom((("M", 0, 0), ("L", 50, 0), ("L", 50, 100), ("L", 0, 100), ("Z",)))
    g = Group(children=(RED_RECT,), clip=clip, transform=(1, 0, 0, 1, 20, 0))
    a = render_array(scene(g))
    assert px(a, 65, 50) == (255, 0, 0, 255)  # inside the moved clip (20..70)
    assert px(a, 80, 50) == (255, 255, 255, 255)


def test_group_opacity_halves_alpha_on_transparent_background():
    a = render_array(scene(Group(children=(RED_RECT,), opacity=0.5), bg=None))
    r, g, b, al = px(a, 50, 50)
    assert abs(al - 128) <= 1
    assert (r, g, b) == (255, 0, 0)  # straight alpha: colour unchanged


def test_shape_opacity_with_fill_and_stroke_does_not_double_overlap():
    s = Shape(RectGeom(25, 25, 50, 50), Solid(RED), Stroke(Solid(RED), 10), opacity=0.5)
    a = render_array(scene(s, bg=None))
    assert abs(px(a, 25, 50)[3] - 128) <= 1  # on the stroke, over the fill
    assert abs(px(a, 50, 50)[3] - 128) <= 1
    assert abs(px(a, 22, 50)[3] - 128) <= 1  # stroke only


def test_blend_multiply_darkens():
    yellow = Shape(RectGeom(0, 0, 100, 100), Solid((1, 1, 0, 1)))
    cyan = Shape(RectGeom(25, 25, 50, 50), Solid((0, 1, 1, 1)), blend="multiply")
    a = render_array(scene(yellow, cyan))
    assert px(a, 50, 50) == (0, 255, 0, 255)
    assert px(a, 10, 10) == (255, 255, 0, 255)
    normal = render_array(scene(yellow, Shape(RectGeom(25, 25, 50, 50), Solid((0, 1, 1, 1)))))
    assert px(normal, 50, 50) == (0, 255, 255, 255)


def test_group_blend_screen():
    base = Shape(RectGeom(0, 0, 100, 100), Solid((0.5, 0, 0, 1)))
    g = Group(children=(Shape(RectGeom(0, 0, 100, 100), Solid((0, 0, 0.5, 1))),), blend="screen")
    a = render_array(scene(base, g))
    r, _, b, _ = px(a, 50, 50)
    assert abs(r - 128) <= 1 and abs(b - 128) <= 1


def test_stroke_dash_alternates():
    line = PathGeom((("M", 0, 50), ("L", 100, 50)))
    s = Shape(line, None, Stroke(Solid(BLACK), 4, dash=(10, 10)))
    a = render_array(scene(s))
    assert px(a, 5, 50)[0] < 20
    assert px(a, 15, 50)[0] > 235
    assert px(a, 25, 50)[0] < 20


def test_path_arc_and_fill_rules():
    # an outer square with an inner square in the same direction: evenodd leaves a hole
    segs = (
        ("M", 10, 10),
        ("L", 90, 10),
        ("L", 90, 90),
        ("L", 10, 90),
        ("Z",),
        ("M", 30, 30),
        ("L", 70, 30),
        ("L", 70, 70),
        ("L", 30, 70),
        ("Z",),
    )
    nz = render_array(scene(Shape(PathGeom(segs, "nonzero"), Solid(RED))))
    eo = render_array(scene(Shape(PathGeom(segs, "evenodd"), Solid(RED))))
    assert px(nz, 50, 50) == (255, 0, 0, 255)
    assert px(eo, 50, 50) == (255, 255, 255, 255)
    assert px(eo, 20, 20) == (255, 0, 0, 255)
    # a half disc: arc from (20,50) to (80,50) sweeping clockwise (through the top? y is down:
    # sweep=1 goes through larger y when starting on the left -> bottom half)
    arc = PathGeom((("M", 20, 50), ("A", 30, 30, 0, 0, 1, 80, 50), ("Z",)))
    h = render_array(scene(Shape(arc, Solid(BLUE))))
    assert px(h, 50, 35) == (0, 0, 255, 255)  # SVG: sweep-flag 1 from left to right goes over the top
    assert px(h, 50, 65) == (255, 255, 255, 255)
    q = PathGeom((("M", 10, 90), ("Q", 50, -30, 90, 90), ("Z",)))
    c = PathGeom((("M", 10, 90), ("C", 10, 10, 90, 10, 90, 90), ("Z",)))
    assert px(render_array(scene(Shape(q, Solid(BLUE)))), 50, 60) == (0, 0, 255, 255)
    assert px(render_array(scene(Shape(c, Solid(BLUE)))), 50, 60) == (0, 0, 255, 255)


def test_rounded_rect_corner_is_cut():
    a = render_array(scene(Shape(RectGeom(10, 10, 80, 80, 20, 20), Solid(RED))))
    assert px(a, 11, 11) == (255, 255, 255, 255)
    assert px(a, 50, 11) == (255, 0, 0, 255)
    sharp = render_array(scene(Shape(RectGeom(10, 10, 80, 80), Solid(RED))))
    assert px(sharp, 11, 11) == (255, 0, 0, 255)


# ---------------------------------------------------------------- paints
def test_linear_gradient_left_and_right_differ():
    grad = LinearGradient((0, 0), (100, 0), (Stop(0, RED), Stop(1, BLUE)))
    a = render_array(scene(Shape(RectGeom(0, 0, 100, 100), grad)))
    left, right, mid = px(a, 1, 50), px(a, 98, 50), px(a, 50, 50)
    assert left[0] > 240 and left[2] < 15
    assert right[2] > 240 and right[0] < 15
    assert 100 < mid[0] < 155 and 100 < mid[2] < 155


def test_radial_gradient_centre_and_edge():
    grad = RadialGradient((50, 50), 50, (Stop(0, WHITE), Stop(1, BLACK)))
    a = render_array(scene(Shape(RectGeom(0, 0, 100, 100), grad)))
    assert px(a, 50, 50)[0] > 245
    assert px(a, 99, 50)[0] < 10
    assert px(a, 2, 2)[0] == 0  # clamped beyond the radius


def test_sweep_gradient_varies_with_angle_and_start_angle():
    stops = (Stop(0, RED), Stop(1, BLUE))
    a = render_array(scene(Shape(RectGeom(0, 0, 100, 100), SweepGradient((50, 50), 0, stops))))
    # clockwise from +x: just below +x is near the start (red), just above +x is near the end (blue)
    assert px(a, 90, 53)[0] > 230
    assert px(a, 90, 47)[2] > 230
    assert abs(px(a, 10, 50)[0] - 128) < 20  # 180 degrees: halfway
    b = render_array(scene(Shape(RectGeom(0, 0, 100, 100), SweepGradient((50, 50), 90, stops))))
    assert px(b, 47, 90)[0] > 230  # the start now points down (+y); clockwise is towards -x
    assert px(b, 53, 90)[2] > 230


def test_pattern_stripes_alternate():
    pat = Pattern("stripes", (BLACK, WHITE), 10)
    a = render_array(scene(Shape(RectGeom(0, 0, 100, 100), pat), bg=RED))
    assert px(a, 5, 50)[:3] == (0, 0, 0)
    assert px(a, 15, 50)[:3] == (255, 255, 255)
    assert px(a, 25, 50)[:3] == (0, 0, 0)
    assert px(a, 35, 7)[:3] == (255, 255, 255)
    rotated = render_array(scene(Shape(RectGeom(0, 0, 100, 100), Pattern("stripes", (BLACK, WHITE), 10, 90))))
    assert px(rotated, 50, 5)[:3] != px(rotated, 50, 15)[:3]
    assert px(rotated, 5, 5)[:3] == px(rotated, 35, 5)[:3]


def test_pattern_checker_dots_grid():
    chk = render_array(scene(Shape(RectGeom(0, 0, 100, 100), Pattern("checker", (BLACK, WHITE), 10))))
    assert px(chk, 5, 5)[0] == 0 and px(chk, 15, 5)[0] == 255 and px(chk, 15, 15)[0] == 0
    dots = render_array(scene(Shape(RectGeom(0, 0, 100, 100), Pattern("dots", (BLACK, WHITE), 20, radius=5))))
    assert px(dots, 10, 10)[0] == 0 and px(dots, 30, 30)[0] == 0
    assert px(dots, 1, 1)[0] == 255 and px(dots, 20, 20)[0] == 255
    grid = render_array(scene(Shape(RectGeom(0, 0, 100, 100), Pattern("grid", (BLACK, WHITE), 20, width=4))))
    assert px(grid, 20, 10)[0] == 0 and px(grid, 10, 40)[0] == 0
    assert px(grid, 10, 10)[0] == 255


def test_noise_is_not_uniform_and_is_deterministic():
    def noise(seed):
        n = Noise("fractal", (0.05, 0.05), 3, seed, (BLACK, WHITE))
        return render_array(scene(Shape(RectGeom(0, 0, 100, 100), n)))

    a, b, c = noise(1), noise(1), noise(2)
    assert a[..., 0].std() > 5
    assert int(a[..., 0].max()) - int(a[..., 0].min()) > 40
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert (a[..., 0] == a[..., 1]).all()  # mapped between black and white: grey
    turb = render_array(scene(Shape(RectGeom(0, 0, 100, 100), Noise("turbulence", (0.05, 0.05), 2, 1, (BLACK, WHITE)))))
    assert not np.array_equal(turb, a)


def test_noise_maps_between_the_two_colours():
    n = Noise("fractal", (0.05, 0.05), 2, 3, (RED, BLUE))
    a = render_array(scene(Shape(RectGeom(0, 0, 100, 100), n)))
    assert (a[..., 1] == 0).all()
    assert np.abs(a[..., 0].astype(int) + a[..., 2].astype(int) - 255).max() <= 2


# ---------------------------------------------------------------- effects
def test_blur_softens_an_edge():
    sharp = render_array(scene(Group(children=(RED_RECT,))))
    soft = render_array(scene(Group(children=(RED_RECT,), effects=(Effect("blur", 8),))))
    assert px(sharp, 22, 50) == (255, 255, 255, 255)
    g = px(soft, 22, 50)[1]
    assert 30 < g < 250  # red bleeds outside the edge
    assert px(soft, 50, 50) == (255, 0, 0, 255)  # the centre stays red


def test_shadow_appears_offset_under_content():
    sh = Effect("shadow", radius=2, dx=8, dy=8, rgba=BLACK)
    a = render_array(scene(Group(children=(RED_RECT,), effects=(sh,))))
    assert px(a, 78, 78)[0] < 60  # shadow to the lower right
    assert px(a, 22, 22) == (255, 255, 255, 255)  # nothing to the upper left
    assert px(a, 70, 70) == (255, 0, 0, 255)  # content drawn on top


def test_glow_brightens_around_the_shape():
    shape = Shape(EllipseGeom(50, 50, 20, 20), Solid(WHITE))
    plain = render_array(scene(Group(children=(shape,)), bg=BLACK))
    glow = render_array(scene(Group(children=(shape,), effects=(Effect("glow", 10, rgba=(1, 0.5, 0, 1)),)), bg=BLACK))
    assert px(plain, 50, 25)[:3] == (0, 0, 0)
    r, g, b, _ = px(glow, 50, 27)  # 3 px outside the circle
    assert r > 100 and g > 30 and b < 10
    assert px(glow, 50, 25)[0] > 40  # still lit at half the radius
    assert px(glow, 50, 50) == (255, 255, 255, 255)
    assert px(glow, 50, 25)[0] > px(glow, 50, 15)[0]  # fades with distance


def test_effects_chain_in_order():
    # blur then shadow: the shadow is of the blurred content
    g = Group(children=(RED_RECT,), effects=(Effect("blur", 4), Effect("shadow", 0, 10, 0, BLACK)))
    a = render_array(scene(g))
    assert px(a, 80, 50)[0] < 100


# ---------------------------------------------------------------- text
def _ink(a):
    return a[..., 0] < 128


def test_text_draws_dark_pixels_and_middle_anchor_centres_it():
    t = Shape(TextGeom("Hello", 100, 60, 32, anchor="middle"), Solid(BLACK))
    a = render_array(scene(t, w=200, h=100))
    ink = _ink(a)
    assert ink.sum() > 100
    cols = np.nonzero(ink.any(axis=0))[0]
    assert abs((cols.min() + cols.max()) / 2 - 100) < 4
    rows = np.nonzero(ink.any(axis=1))[0]
    assert rows.max() <= 61  # y is the baseline; "Hello" has no descenders


def test_text_anchor_start_and_end():
    start = _ink(render_array(scene(Shape(TextGeom("Hi", 50, 50, 30), Solid(BLACK)), w=200)))
    end = _ink(render_array(scene(Shape(TextGeom("Hi", 50, 50, 30, anchor="end"), Solid(BLACK)), w=200)))
    assert abs(np.nonzero(start.any(axis=0))[0].min() - 50) <= 4
    assert abs(np.nonzero(end.any(axis=0))[0].max() - 50) <= 4


def test_text_weight_changes_ink():
    thin = _ink(render_array(scene(Shape(TextGeom("Wm", 10, 70, 60, weight="thin"), Solid(BLACK)), w=200))).sum()
    bold = _ink(render_array(scene(Shape(TextGeom("Wm", 10, 70, 60, weight="black"), Solid(BLACK)), w=200))).sum()
    assert bold > 2 * thin


def test_fonts_are_bundled_roboto_files():
    import font_roboto

    root = os.path.dirname(font_roboto.__file__)
    for weight in fonts.WEIGHTS:
        for italic in (False, True):
            p = fonts.font_path(weight, italic)
            assert p.is_file() and str(p).startswith(root)
            assert ("Italic" in p.name) == italic
    tf = fonts.typeface("bold", True)
    assert tf.getFamilyName() == "Roboto"
    assert fonts.typeface("bold", True) is tf  # cached
    assert fonts.font_path("nonsense").name == "Roboto-Regular.ttf"


# ---------------------------------------------------------------- encoders
def _decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def test_png_round_trips_exactly():
    opaque = render_array(scene(RED_RECT, Shape(EllipseGeom(30, 30, 20, 10), Solid((0, 0.5, 1, 0.5)))))
    im = _decode(encode_image(opaque, "png"))
    assert im.format == "PNG" and im.mode == "RGB"  # opaque: alpha dropped
    assert np.array_equal(np.asarray(im.convert("RGBA")), opaque)
    clear = render_array(scene(Group(children=(RED_RECT,), opacity=0.3), bg=None))
    im2 = _decode(encode_image(clear, "png"))
    assert im2.mode == "RGBA"
    assert np.array_equal(np.asarray(im2), clear)


def test_jpeg_and_webp_decode():
    a = render_array(scene(RED_RECT))
    for fmt, name in (("jpeg", "JPEG"), ("jpg", "JPEG"), ("webp", "WEBP")):
        im = _decode(encode_image(a, fmt))
        assert im.format == name and im.size == (100, 100)
        r, g, b = np.asarray(im.convert("RGB"))[50, 50]
        assert r > 200 and g < 50 and b < 50


def test_jpeg_composites_transparency_on_white():
    a = render_array(scene(RED_RECT, bg=None))
    im = np.asarray(_decode(encode_image(a, "jpeg")).convert("RGB"))
    assert im[5, 5].min() > 245


def test_encode_rejects_bad_input():
    with pytest.raises(ValueError):
        encode_image(np.zeros((4, 4, 4), np.uint8), "gif")
    with pytest.raises(ValueError):
        encode_image(np.zeros((4, 4, 3), np.uint8), "png")


def test_render_is_deterministic():
    s = scene(
        RED_RECT,
        Shape(TextGeom("abc", 10, 90, 20), Solid(BLACK)),
        Group(children=(Shape(EllipseGeom(70, 30, 10, 10), Solid(BLUE)),), effects=(Effect("glow", 6),)),
        Shape(RectGeom(0, 0, 30, 30), Noise("fractal", (0.1, 0.1), 2, 7, (BLACK, WHITE))),
    )
    for fmt in ("png", "svg", "pdf", "webp"):
        assert render_bytes(s, fmt)[0] == render_bytes(s, fmt)[0], fmt


@settings(max_examples=30, deadline=None)
@given(st.tuples(*[st.integers(0, 255)] * 3), st.integers(128, 255))
def test_solid_colour_round_trips_through_straight_alpha(rgb, alpha):
    rgba = tuple(c / 255 for c in rgb) + (alpha / 255,)
    a = render_array(scene(Shape(RectGeom(0, 0, 10, 10), Solid(rgba)), bg=None, w=10, h=10))
    got = px(a, 5, 5)
    assert got[3] == alpha
    assert close(got[:3], rgb, tol=2)


# ---------------------------------------------------------------- SVG
def _svg(s):
    text, diags = render_svg(s)
    return ET.fromstring(text), text, diags


def _all(root, name):
    return root.findall(f".//{SVG_NS}{name}")


def test_svg_is_well_formed_with_expected_elements():
    clip = PathGeom((("M", 0, 0), ("L", 50, 0), ("L", 50, 50), ("Z",)))
    s = scene(
        Shape(RectGeom(0, 0, 50, 50), LinearGradient((0, 0), (50, 0), (Stop(0, RED), Stop(1, BLUE)))),
        Shape(EllipseGeom(50, 50, 20, 10), RadialGradient((50, 50), 20, (Stop(0, RED), Stop(1, (0, 0, 1, 0.5))))),
        Shape(RectGeom(50, 0, 50, 50), Pattern("checker", (BLACK, WHITE), 5, 30)),
        Shape(RectGeom(0, 50, 50, 50), Noise("turbulence", (0.1, 0.2), 3, 4, (BLACK, WHITE))),
        Group(
            children=(RED_RECT,),
            clip=clip,
            transform=(1, 0, 0, 1, 5, 5),
            opacity=0.5,
            blend="multiply",
            effects=(Effect("blur", 2), Effect("shadow", 2, 3, 3), Effect("glow", 4, rgba=GREEN)),
        ),
        Shape(TextGeom("Hi <&>", 10, 90, 12), Solid(BLACK), label='a "label" <&>'),
        Shape(
            PathGeom((("M", 1, 1), ("A", 5, 5, 0, 1, 0, 9, 9), ("Q", 1, 2, 3, 4), ("Z",)), "evenodd"),
            None,
            Stroke(Solid(BLACK), 2, (3, 1), "round", "bevel"),
        ),
    )
    root, text, diags = _svg(s)
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("width") == "100" and root.get("viewBox") == "0 0 100 100"
    assert diags == []
    lg = _all(root, "linearGradient")[0]
    assert lg.get("gradientUnits") == "userSpaceOnUse" and len(lg.findall(f"{SVG_NS}stop")) == 2
    assert _all(root, "radialGradient")[0].findall(f"{SVG_NS}stop")[1].get("stop-opacity") == "0.5"
    assert _all(root, "pattern")[0].get("patternTransform") == "rotate(30)"
    turb = _all(root, "feTurbulence")[0]
    assert turb.get("type") == "turbulence" and turb.get("baseFrequency") == "0.1 0.2"
    assert turb.get("numOctaves") == "3" and turb.get("seed") == "4"
    assert _all(root, "feColorMatrix")
    assert _all(root, "clipPath")[0].get("clipPathUnits") == "userSpaceOnUse"
    assert _all(root, "feGaussianBlur") and _all(root, "feOffset") and _all(root, "feMerge")
    assert _all(root, "feFlood") and _all(root, "feComponentTransfer")
    g = [e for e in _all(root, "g") if e.get("clip-path")][0]
    assert g.get("transform") == "matrix(1 0 0 1 5 5)" and g.get("opacity") == "0.5"
    assert "mix-blend-mode:multiply" in g.get("style") and g.get("filter", "").startswith("url(#f")
    assert not _all(root, "text")  # text is converted to glyph outlines
    glyphs = [e for e in _all(root, "path") if e.get("aria-label") == "Hi <&>"]
    assert glyphs and len(glyphs[0].get("d")) > 50 and glyphs[0].get("data-label") == 'a "label" <&>'
    arc = [e for e in _all(root, "path") if e.get("fill-rule") == "evenodd"][0]
    assert "A5 5 0 1 0 9 9" in arc.get("d")
    assert arc.get("stroke-dasharray") == "3 1" and arc.get("stroke-linecap") == "round"
    assert "<text" not in text
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


def test_svg_numbers_are_compact():
    root, text, _ = _svg(scene(Shape(RectGeom(1 / 3, 2.0, 10.123456, -0.0000001 + 5), Solid(RED))))
    r = _all(root, "rect")[-1]
    assert r.get("x") == "0.333" and r.get("y") == "2" and r.get("width") == "10.123" and r.get("height") == "5"


def test_svg_sweep_is_approximated_with_a_warning():
    s = scene(Shape(RectGeom(0, 0, 100, 100), SweepGradient((50, 50), 0, (Stop(0, RED), Stop(1, BLUE)))))
    root, _, diags = _svg(s)
    assert [d.code for d in diags] == ["W500"]
    assert "sweep" in diags[0].message and not diags[0].is_error
    assert _all(root, "rect")[-1].get("fill") == "#800080"


def test_svg_background_and_transparent():
    root, _, _ = _svg(scene(bg=(0, 0, 1, 0.5)))
    bg = _all(root, "rect")[0]
    assert bg.get("fill") == "#0000ff" and bg.get("fill-opacity") == "0.5"
    root2, _, _ = _svg(scene(bg=None))
    assert not _all(root2, "rect")


# ---------------------------------------------------------------- PDF
def test_pdf_starts_with_header_and_plain_scene_has_no_warnings():
    data, diags = render_pdf(scene(RED_RECT, Shape(TextGeom("pdf", 10, 90, 12), Solid(BLACK))))
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert diags == []


def test_pdf_warns_about_rasterised_effects_and_noise():
    s = scene(
        Group(children=(RED_RECT,), effects=(Effect("blur", 4),)),
        Shape(RectGeom(0, 0, 10, 10), Noise("fractal", (0.1, 0.1), 2, 1, (BLACK, WHITE))),
    )
    data, diags = render_pdf(s)
    assert data.startswith(b"%PDF")
    msgs = " ".join(d.message for d in diags)
    assert all(d.code == "W500" for d in diags)
    assert "blur" in msgs and "noise" in msgs and "rasterised" in msgs
    assert b"/Subtype /Image" in data  # Skia did rasterise them


# ---------------------------------------------------------------- save
@pytest.mark.parametrize(
    "suffix,magic",
    [
        (".png", b"\x89PNG"),
        (".jpg", b"\xff\xd8"),
        (".jpeg", b"\xff\xd8"),
        (".webp", b"RIFF"),
        (".svg", b"<svg"),
        (".pdf", b"%PDF"),
        (".PNG", b"\x89PNG"),
    ],
)
def test_save_picks_format_by_suffix(tmp_path, suffix, magic):
    out = tmp_path / f"pic{suffix}"
    diags = save(scene(RED_RECT), out)
    assert diags == []
    assert out.read_bytes().startswith(magic)
    assert os.listdir(tmp_path) == [out.name]  # no temp file left behind


def test_save_scale_and_overwrite(tmp_path):
    out = tmp_path / "pic.png"
    out.write_bytes(b"old")
    save(scene(RED_RECT), out, scale=0.5)
    assert Image.open(out).size == (50, 50)


def test_save_returns_backend_warnings(tmp_path):
    s = scene(Shape(RectGeom(0, 0, 100, 100), SweepGradient((50, 50), 0, (Stop(0, RED), Stop(1, BLUE)))))
    assert [d.code for d in save(s, tmp_path / "a.svg")] == ["W500"]
    assert save(s, tmp_path / "a.png") == []


def test_save_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError):
        save(scene(RED_RECT), tmp_path / "pic.gif")
    with pytest.raises(ValueError):
        render_bytes(scene(RED_RECT), "bmp")
    assert os.listdir(tmp_path) == []


def test_svg_escapes_control_characters_and_markup():
    s = scene(Shape(TextGeom('a\x01b\n<c>&"d"', 10, 50, 12), Solid(BLACK), label="x\x00y]]>"))
    root, text, _ = _svg(s)
    path = [e for e in _all(root, "path") if e.get("aria-label")][0]
    assert path.get("aria-label") == 'ab\n<c>&"d"'
    assert path.get("data-label") == "xy]]>"
