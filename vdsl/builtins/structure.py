"""Structure builtins: the canvas, groups with transforms, clipping and group effects (blur, shadow, glow)."""

from __future__ import annotations

import math

from .. import ir
from ..pathdata import PathBudgetExceeded, PathDataError, parse_path_data
from ..types import COLOR, NONE, NUMBER, POINT, STRING, union
from ..values import Color, Point, RuntimeFault
from . import Param, builtin, per_char

WHITE = Color(1.0, 1.0, 1.0, 1.0)
ORIGIN = Point(0.0, 0.0)


@builtin(
    "canvas",
    [
        Param("width", NUMBER, 512.0, min=1),
        Param("height", NUMBER, 512.0, min=1),
        Param("background", COLOR, WHITE, "`none` for transparent"),
    ],
    NONE,
    "Sets the canvas size in pixels and its background; at most once, before drawing. "
    "Without it the canvas is 512x512 white.",
    "canvas",
    example="canvas(width=512, height=512, background=#cfe8c8)",
)
def canvas(ctx, width, height, background):
    ctx.set_canvas(width, height, background)


def group_matrix(translate: Point, rotate: float, scale, skew: Point, origin: Point) -> ir.Matrix | None:
    """translate · (about origin: rotate · skew · scale)."""
    sx, sy = (scale.x, scale.y) if isinstance(scale, Point) else (scale, scale)
    m: ir.Matrix = (sx, 0.0, 0.0, sy, 0.0, 0.0)
    if skew.x or skew.y:
        m = ir.multiply((1.0, math.tan(math.radians(skew.y)), math.tan(math.radians(skew.x)), 1.0, 0.0, 0.0), m)
    if rotate:
        a = math.radians(rotate)
        m = ir.multiply((math.cos(a), math.sin(a), -math.sin(a), math.cos(a), 0.0, 0.0), m)
    m = ir.multiply(
        (1.0, 0.0, 0.0, 1.0, origin.x, origin.y), ir.multiply(m, (1.0, 0.0, 0.0, 1.0, -origin.x, -origin.y))
    )
    m = ir.multiply((1.0, 0.0, 0.0, 1.0, translate.x, translate.y), m)
    return None if m == ir.IDENTITY else m


@builtin(
    "group",
    [
        Param("translate", POINT, ORIGIN, "move the contents by (dx, dy)"),
        Param("rotate", NUMBER, 0.0, "degrees clockwise around origin"),
        Param("scale", union(NUMBER, POINT), 1.0, "a factor, or (sx, sy)"),
        Param("skew", POINT, ORIGIN, "skew angles (x, y) in degrees"),
        Param("origin", POINT, ORIGIN, "centre of rotate/scale/skew, in the group's coordinates"),
        Param("opacity", NUMBER, 1.0, min=0, max=1),
        Param("blend", STRING, "normal", choices=ir.BLEND_MODES),
        Param("label", STRING, ""),
    ],
    NONE,
    "Draws its block as one object: moved, rotated, scaled, skewed (in that order: translate "
    "last), faded or blended together.",
    "groups and effects",
    block=True,
    example="group(translate=(256, 256), rotate=30) { rect(x=-50, y=-20, w=100, h=40) }",
)
def group(ctx, children, translate, rotate, scale, skew, origin, opacity, blend, label):
    ctx.emit_group(
        ir.Group(
            tuple(children),
            group_matrix(translate, rotate, scale, skew, origin),
            opacity,
            blend,
            None,
            (),
            label or None,
        )
    )


def _radius(ctx, r: float, what: str) -> float:
    if r > ctx.budgets.blur_radius:
        raise RuntimeFault(
            "E408",
            f"{what} radius {r:g} is above the blur budget ({ctx.budgets.blur_radius:g})",
            "use a smaller radius",
        )
    return max(0.0, r)


@builtin(
    "blur",
    [Param("radius", NUMBER, 4.0, "blur radius in pixels", min=0)],
    NONE,
    "Gaussian-blurs its block (soft shadows, mist, depth of field).",
    "groups and effects",
    block=True,
    example="blur(radius=6) { circle(center=(256, 256), r=60, fill=white) }",
)
def blur(ctx, children, radius):
    ctx.emit_group(ir.Group(tuple(children), effects=(ir.Effect("blur", _radius(ctx, radius, "blur")),)))


@builtin(
    "shadow",
    [
        Param("dx", NUMBER, 4.0),
        Param("dy", NUMBER, 6.0),
        Param("blur", NUMBER, 8.0, "softness radius", min=0),
        Param("color", COLOR, Color(0.0, 0.0, 0.0, 0.45)),
    ],
    NONE,
    "Draws its block with a soft drop shadow offset by (dx, dy).",
    "groups and effects",
    block=True,
    example="shadow(dx=6, dy=8, blur=10) { rect(x=100, y=100, w=200, h=120, fill=white) }",
)
def shadow(ctx, children, dx, dy, blur, color):
    eff = ir.Effect("shadow", _radius(ctx, blur, "shadow"), dx, dy, tuple(color))
    ctx.emit_group(ir.Group(tuple(children), effects=(eff,)))


@builtin(
    "glow",
    [
        Param("radius", NUMBER, 16.0, "how far the glow spreads", min=0),
        Param("color", COLOR, Color(1.0, 0.96, 0.63, 1.0)),
    ],
    NONE,
    "Draws its block with a coloured glow around it (light bulbs, neon, the sun).",
    "groups and effects",
    block=True,
    example="glow(radius=20, color=#fff6a0) { circle(center=(256, 200), r=50, fill=#ffe066) }",
)
def glow(ctx, children, radius, color):
    eff = ir.Effect("glow", _radius(ctx, radius, "glow"), 0.0, 0.0, tuple(color))
    ctx.emit_group(ir.Group(tuple(children), effects=(eff,)))


def _clip_group(ctx, children, segs):
    ctx.emit_group(ir.Group(tuple(children), clip=ir.PathGeom(tuple(segs))))


@builtin(
    "clip_rect",
    [
        Param("x", NUMBER, 0.0),
        Param("y", NUMBER, 0.0),
        Param("w", NUMBER, min=0),
        Param("h", NUMBER, min=0),
        Param("r", NUMBER, 0.0, "corner radius", min=0),
    ],
    NONE,
    "Draws only the part of its block inside the rectangle.",
    "groups and effects",
    block=True,
    example="clip_rect(x=0, y=0, w=256, h=512) { circle(center=(256, 256), r=100) }",
)
def clip_rect(ctx, children, x, y, w, h, r):
    r = min(r, w / 2, h / 2)
    if r <= 0:
        segs = [("M", x, y), ("L", x + w, y), ("L", x + w, y + h), ("L", x, y + h), ("Z",)]
    else:
        segs = [
            ("M", x + r, y),
            ("L", x + w - r, y),
            ("A", r, r, 0.0, 0, 1, x + w, y + r),
            ("L", x + w, y + h - r),
            ("A", r, r, 0.0, 0, 1, x + w - r, y + h),
            ("L", x + r, y + h),
            ("A", r, r, 0.0, 0, 1, x, y + h - r),
            ("L", x, y + r),
            ("A", r, r, 0.0, 0, 1, x + r, y),
            ("Z",),
        ]
    _clip_group(ctx, children, segs)


@builtin(
    "clip_circle",
    [Param("center", POINT), Param("r", NUMBER, min=0)],
    NONE,
    "Draws only the part of its block inside the circle.",
    "groups and effects",
    block=True,
    example="clip_circle(center=(256, 256), r=120) { rect(x=0, y=0, w=512, h=256, fill=skyblue) }",
)
def clip_circle(ctx, children, center, r):
    cx, cy = center
    segs = [("M", cx + r, cy), ("A", r, r, 0.0, 0, 1, cx - r, cy), ("A", r, r, 0.0, 0, 1, cx + r, cy), ("Z",)]
    _clip_group(ctx, children, segs)


@builtin(
    "clip_path",
    [Param("d", STRING, doc="SVG path data")],
    NONE,
    "Draws only the part of its block inside an SVG path.",
    "groups and effects",
    block=True,
    example='clip_path(d="M 0 0 L 512 0 L 256 512 Z") { rect(x=0, y=0, w=512, h=512, fill=stripes()) }',
    cost=per_char("d"),
)
def clip_path(ctx, children, d):
    try:
        segs = parse_path_data(d, max_segments=ctx.segments_left())
    except PathBudgetExceeded:
        raise RuntimeFault("E405", "clip path has more segments than the path budget allows") from None
    except PathDataError as e:
        raise RuntimeFault("E304", f"bad path data at character {e.offset + 1}: {e.message}") from None
    ctx.use_segments(len(segs))
    _clip_group(ctx, children, segs)
