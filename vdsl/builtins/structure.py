"""Structure builtins: the canvas, groups with transforms, clipping and group effects (blur, shadow, glow)."""

from __future__ import annotations

import math

from .. import ir
from ..pathdata import PathBudgetExceeded, PathDataError, parse_path_data
from ..types import BOOL, COLOR, NONE, NUMBER, POINT, STRING, union
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


# ---------------------------------------------------------------- clips and cutouts made of drawn shapes
# `clip { clip_shape { shapes } content }` and `cutout { shapes }` turn the outlines of drawn shapes into
# an ordinary clip path (ir.Group.clip, a PathGeom) while the program runs, so every backend, the cost
# model and anything reading the IR sees only the one clip representation it already knows.


class ClipRegion:
    """What `clip_shape` leaves in its `clip`'s block for the clip to take: the region, as path data.
    Never reaches the IR (the checker puts clip_shape only directly inside a clip)."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: list):
        self.nodes = nodes


def _region_geom(ctx, nodes: list, invert: bool) -> ir.PathGeom:
    """The union of the nodes' fill outlines (inverted: everything outside it) as clip path data, within
    the path budget (E405); fuel is charged per outline segment before the union is computed."""
    from ..outline import path_geom, region

    ctx.charge(sum(_segment_count(n) for n in nodes))
    geom = path_geom(region(nodes, invert))
    if len(geom.segments) > ctx.segments_left():
        raise RuntimeFault(
            "E405", "the clip outline has more segments than the path budget allows", "clip to fewer or simpler shapes"
        )
    ctx.use_segments(len(geom.segments))
    return geom


def _segment_count(node) -> int:
    if isinstance(node, ir.Group):
        return sum(_segment_count(c) for c in node.children) + 1
    g = node.geom
    if isinstance(g, ir.PathGeom):
        return len(g.segments)
    if isinstance(g, ir.TextGeom):
        return 16 * len(g.text)  # a glyph outline is a few dozen segments
    return 4


@builtin(
    "clip",
    [Param("invert", BOOL, False, "keep what lies outside the clip shapes instead (cuts holes)")],
    NONE,
    "Draws only the part of its block inside the shapes of its `clip_shape() { ... }` block (any drawing "
    "calls, text too: their fill areas, united); with invert=true only the part outside them.",
    "groups and effects",
    block=True,
    example="clip() { clip_shape() { circle(center=(200, 256), r=120) circle(center=(320, 256), r=120) } "
    "rect(x=0, y=0, w=512, h=512, fill=stripes()) }",
)
def clip(ctx, children, invert):
    regions = [c for c in children if isinstance(c, ClipRegion)]
    content = tuple(c for c in children if not isinstance(c, ClipRegion))
    shapes = [n for r in regions for n in r.nodes]
    if not content:
        return
    ctx.emit_group(ir.Group(content, clip=_region_geom(ctx, shapes, invert)))


@builtin(
    "clip_shape",
    [],
    NONE,
    "Inside a `clip` block: the shapes to clip to. They are not drawn; only their outlines count "
    "(fill areas, not strokes, colours or effects).",
    "groups and effects",
    block=True,
    example='clip() { clip_shape() { text("SALE", at=(256, 300), size=160, anchor="middle", weight="black") } '
    "rect(x=0, y=0, w=512, h=512, fill=linear(start=(0, 150), end=(0, 300), colors=[red, orange])) }",
)
def clip_shape(ctx, children):
    ctx.stack[-1].append(ClipRegion(list(children)))


MAX_CUTOUT_DEPTH = 64  # cutouts in one drawing block: each nests what came before it one group deeper


@builtin(
    "cutout",
    [],
    NONE,
    "Cuts holes: erases the area its block's shapes cover from everything drawn before it in the same "
    "drawing block (group, clip, def, or the whole picture, where the canvas background shows through). "
    "The shapes themselves are not drawn.",
    "groups and effects",
    block=True,
    example="circle(center=(256, 256), r=150, fill=orange) cutout() { circle(center=(256, 256), r=60) }",
)
def cutout(ctx, children):
    frame = ctx.stack[-1]
    drawn = [c for c in frame if not isinstance(c, ClipRegion)]
    if not drawn or not children:
        return
    if _cutout_depth(drawn[0]) >= MAX_CUTOUT_DEPTH:
        raise RuntimeFault(
            "E301",
            f"more than {MAX_CUTOUT_DEPTH} cutouts in one block",
            "put all the holes in one `cutout() { ... }` block, e.g. around the loop that draws them",
        )
    hole = _region_geom(ctx, list(children), invert=True)
    kept = [c for c in frame if isinstance(c, ClipRegion)]
    frame[:] = kept + [ir.Group(tuple(drawn), clip=hole)]


def _cutout_depth(node) -> int:
    """How many cutout groups nest at the start of a block (each wraps what the block drew before it)."""
    depth = 0
    while isinstance(node, ir.Group) and node.clip is not None and node.transform is None and node.children:
        depth += 1
        node = node.children[0]
    return depth
