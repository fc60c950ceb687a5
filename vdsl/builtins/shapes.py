"""Shape builtins: rect, circle, ellipse, line, polyline, polygon, arc, path and text, with shared style."""

from __future__ import annotations

import math

from .. import ir
from ..pathdata import PathBudgetExceeded, PathDataError, parse_path_data, segments_bounds
from ..types import BOOL, NONE, NUMBER, PAINT, POINT, STRING, list_of
from ..values import Color, Point, RuntimeFault, to_paint
from . import Param, builtin, per_char, per_item

BLACK = Color(0.0, 0.0, 0.0, 1.0)
CAPS = ("butt", "round", "square")
JOINS = ("miter", "round", "bevel")

# Every shape takes these; the docs list them once.
STYLE = [
    Param("fill", PAINT, BLACK, "fill paint: a colour, gradient or pattern; `none` for no fill"),
    Param("stroke", PAINT, None, "outline paint; none by default"),
    Param("stroke_width", NUMBER, 1.0, "outline width in pixels", min=0, max=10_000),
    Param("dash", list_of(NUMBER), [], "dash pattern, e.g. [8, 4]", min=0),
    Param("cap", STRING, "butt", "line ends", choices=CAPS),
    Param("join", STRING, "miter", "outline corners", choices=JOINS),
    Param("opacity", NUMBER, 1.0, "0 (invisible) to 1", min=0, max=1),
    Param("blend", STRING, "normal", "how it mixes with what is below", choices=ir.BLEND_MODES),
    Param("rotate", NUMBER, 0.0, "degrees clockwise around the shape's centre"),
    Param("label", STRING, "", "object label kept in the scene (masks, boxes)"),
]
STYLE_NAMES = frozenset(p.name for p in STYLE)
# Open shapes draw an outline, not a fill, by default.
OPEN_STYLE = [
    Param("fill", PAINT, None, "fill paint; none by default"),
    Param("stroke", PAINT, BLACK, "line paint"),
    Param("stroke_width", NUMBER, 2.0, "line width in pixels", min=0, max=10_000),
] + STYLE[3:]
# Arcs choose by `pie`: an open arc is stroked black, a pie slice filled black, unless told otherwise.
ARC_STYLE = [
    Param("fill", PAINT, None, "fill paint; black for a pie slice when neither fill nor stroke is given"),
    Param("stroke", PAINT, None, "outline paint; black for an open arc when not given"),
] + OPEN_STYLE[2:]


def rotation_about(cx: float, cy: float, degrees: float) -> ir.Matrix | None:
    if not degrees:
        return None
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return (c, s, -s, c, cx - c * cx + s * cy, cy - s * cx - c * cy)


def emit(ctx, geom, center: tuple[float, float], style: dict) -> None:
    if len(style["dash"]) > 64:
        raise RuntimeFault("E301", "a dash pattern takes at most 64 numbers")
    stroke_paint = to_paint(style["stroke"])
    stroke = None
    if stroke_paint is not None and style["stroke_width"] > 0:
        dash = tuple(max(0.0, d) for d in style["dash"])
        if dash and sum(dash) <= 0:
            dash = ()
        stroke = ir.Stroke(stroke_paint, float(style["stroke_width"]), dash, style["cap"], style["join"])
    fill = to_paint(style["fill"])
    if fill is None and stroke is None:
        return
    ctx.emit(
        ir.Shape(
            geom,
            fill,
            stroke,
            float(style["opacity"]),
            style["blend"],
            rotation_about(center[0], center[1], style["rotate"]),
            style["label"] or None,
        )
    )


@builtin(
    "rect",
    [
        Param("x", NUMBER, 0.0, "left"),
        Param("y", NUMBER, 0.0, "top"),
        Param("w", NUMBER, doc="width", min=0),
        Param("h", NUMBER, doc="height", min=0),
        Param("r", NUMBER, 0.0, "corner radius", min=0),
        Param("center", POINT, None, "centre instead of x/y"),
    ]
    + STYLE,
    NONE,
    "A rectangle with top-left (x, y) — or its centre — width w, height h and rounded corners of radius r.",
    "shapes",
    example="rect(x=20, y=20, w=200, h=100, r=12, fill=teal)",
)
def rect(ctx, x, y, w, h, r, center, **style):
    if center is not None:
        x, y = center.x - w / 2, center.y - h / 2
    r = min(r, w / 2, h / 2)
    emit(ctx, ir.RectGeom(x, y, w, h, r, r), (x + w / 2, y + h / 2), style)


@builtin(
    "circle",
    [Param("center", POINT), Param("r", NUMBER, doc="radius", min=0)] + STYLE,
    NONE,
    "A circle.",
    "shapes",
    example="circle(center=(256, 256), r=80, fill=gold)",
)
def circle(ctx, center, r, **style):
    emit(ctx, ir.EllipseGeom(center.x, center.y, r, r), center, style)


@builtin(
    "ellipse",
    [
        Param("center", POINT),
        Param("rx", NUMBER, doc="horizontal radius", min=0),
        Param("ry", NUMBER, doc="vertical radius", min=0),
    ]
    + STYLE,
    NONE,
    "An ellipse; `rotate` turns it.",
    "shapes",
    example="ellipse(center=(256, 300), rx=120, ry=40, rotate=15, fill=brown)",
)
def ellipse(ctx, center, rx, ry, **style):
    emit(ctx, ir.EllipseGeom(center.x, center.y, rx, ry), center, style)


def _poly(ctx, points, close: bool, style):
    if len(points) < 2:
        raise RuntimeFault("E301", f"needs at least 2 points, got {len(points)}")
    ctx.use_segments(len(points) + 1)
    segs: list[ir.Segment] = [("M", points[0].x, points[0].y)] + [("L", p.x, p.y) for p in points[1:]]
    if close:
        segs.append(("Z",))
    xs = [p.x for p in points]
    ys = [p.y for p in points]
    emit(ctx, ir.PathGeom(tuple(segs)), ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2), style)


@builtin(
    "line",
    [Param("from", POINT), Param("to", POINT)] + OPEN_STYLE,
    NONE,
    "A straight line (stroked black, 2 px, by default).",
    "shapes",
    example='line(from=(10, 10), to=(200, 120), stroke=black, stroke_width=3, cap="round")',
)
def line(ctx, to, **kw):
    start = kw.pop("from")
    _poly(ctx, [start, to], False, kw)


@builtin(
    "polyline",
    [Param("points", list_of(POINT))] + OPEN_STYLE,
    NONE,
    "Connected line segments through the points (stroked, not filled, by default).",
    "shapes",
    example="polyline(points=[(0, 100), (50, 20), (100, 100)], stroke=red)",
    cost=per_item("points"),
)
def polyline(ctx, points, **style):
    _poly(ctx, list(points), False, style)


@builtin(
    "polygon",
    [
        Param("points", list_of(POINT)),
        Param("holes", list_of(list_of(POINT)), [], "point lists of rings cut out of it (1 fuel per point)"),
        Param(
            "fill_rule",
            STRING,
            "nonzero",
            "evenodd: where the outline crosses itself is a hole",
            choices=("nonzero", "evenodd"),
        ),
    ]
    + STYLE,
    NONE,
    "A closed, filled shape through the points; `holes` cuts rings out of it (a frame, a window, a donut).",
    "shapes",
    example="polygon(points=[(256, 100), (356, 300), (156, 300)], fill=orange)",
    cost=per_item("points"),
)
def polygon(ctx, points, holes, fill_rule, **style):
    if holes:  # the holes' points, like the outline's, cost 1 fuel each (charged before the work)
        ctx.charge(sum(len(h) for h in holes))
    rings = [list(points)] + [list(h) for h in holes]
    for ring in rings:
        if len(ring) < 2:
            raise RuntimeFault("E301", f"needs at least 2 points, got {len(ring)}")
    ctx.use_segments(sum(len(r) + 1 for r in rings))
    geoms = [
        ir.PathGeom(tuple([("M", r[0].x, r[0].y)] + [("L", p.x, p.y) for p in r[1:]] + [("Z",)]), fill_rule)
        for r in rings
    ]
    geom = geoms[0] if not holes else _cut_holes(geoms)
    xs = [p.x for p in points]
    ys = [p.y for p in points]
    emit(ctx, geom, ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2), style)


def _cut_holes(geoms: list[ir.PathGeom]) -> ir.PathGeom:
    """The first ring minus the others (each must overlap it: a hole outside the shape is a mistake)."""
    import skia

    from ..outline import build_path, path_geom

    outer = shape = build_path(geoms[0])
    for i, g in enumerate(geoms[1:], 1):
        hole = build_path(g)
        if (skia.Op(outer, hole, skia.PathOp.kIntersect_PathOp) or skia.Path()).isEmpty():
            raise RuntimeFault(
                "E301",
                f"hole {i} lies outside the polygon: it would cut nothing",
                "give hole points inside `points`",
            )
        shape = skia.Op(shape, hole, skia.PathOp.kDifference_PathOp) or skia.Path()
    return path_geom(shape)


@builtin(
    "curve",
    [
        Param("points", list_of(POINT), doc="the curve passes through every point"),
        Param("closed", BOOL, False, "join the last point back to the first"),
        Param("smooth", NUMBER, 1.0, "0 gives straight segments, 1 a natural curve", min=0, max=2),
    ]
    + OPEN_STYLE,
    NONE,
    "A smooth curve (Catmull-Rom spline) through the points: outlines of leaves, hills, hair, "
    "animal bodies. Stroked by default; give `fill` (and closed=true) for a filled blob.",
    "shapes",
    example="curve(points=[(50, 300), (150, 200), (300, 260), (450, 150)], stroke=green, stroke_width=4)",
    cost=per_item("points"),
)
def curve(ctx, points, closed, smooth, **style):
    pts = list(points)
    if len(pts) < 2:
        raise RuntimeFault("E301", f"a curve needs at least 2 points, got {len(pts)}")
    n = len(pts)
    ctx.use_segments(n + 2)
    k = smooth / 6.0

    def at(i):
        if closed:
            return pts[i % n]
        return pts[min(max(i, 0), n - 1)]

    segs: list = [("M", pts[0].x, pts[0].y)]
    for i in range(n if closed else n - 1):
        p0, p1, p2, p3 = at(i - 1), at(i), at(i + 1), at(i + 2)
        segs.append(
            (
                "C",
                p1.x + (p2.x - p0.x) * k,
                p1.y + (p2.y - p0.y) * k,
                p2.x - (p3.x - p1.x) * k,
                p2.y - (p3.y - p1.y) * k,
                p2.x,
                p2.y,
            )
        )
    if closed:
        segs.append(("Z",))
    xs = [p.x for p in pts]
    ys = [p.y for p in pts]
    emit(ctx, ir.PathGeom(tuple(segs)), ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2), style)


@builtin(
    "arc",
    [
        Param("center", POINT),
        Param("r", NUMBER, min=0),
        Param("start", NUMBER, doc="degrees"),
        Param("end", NUMBER, doc="degrees; clockwise from start"),
        Param("pie", BOOL, False, "close through the centre as a pie slice (filled)"),
    ]
    + ARC_STYLE,
    NONE,
    "A circular arc from angle start to end (degrees, clockwise from +x, y down); with pie=true a filled slice.",
    "shapes",
    example="arc(center=(256, 256), r=100, start=200, end=340, stroke=black, stroke_width=6)",
)
def arc(ctx, center, r, start, end, pie, **style):
    sweep = end - start
    if abs(sweep) >= 360:
        sweep = 359.999 if sweep > 0 else -359.999
    n = max(1, math.ceil(abs(sweep) / 90))
    ctx.use_segments(n + 3)
    a0 = math.radians(start)
    p0 = (center.x + r * math.cos(a0), center.y + r * math.sin(a0))
    segs: list = [("M", center.x, center.y), ("L", *p0)] if pie else [("M", *p0)]
    for i in range(1, n + 1):
        a = math.radians(start + sweep * i / n)
        segs.append(("A", r, r, 0.0, 0, 1 if sweep > 0 else 0, center.x + r * math.cos(a), center.y + r * math.sin(a)))
    if pie:
        segs.append(("Z",))
        if style["fill"] is None and style["stroke"] is None:
            style["fill"] = BLACK
    elif style["stroke"] is None:
        style["stroke"] = BLACK
    emit(ctx, ir.PathGeom(tuple(segs)), (center.x, center.y), style)


@builtin(
    "path",
    [
        Param("d", STRING, doc="SVG path data: M L H V C S Q T A Z, relative forms too"),
        Param("fill_rule", STRING, "nonzero", choices=("nonzero", "evenodd")),
    ]
    + STYLE,
    NONE,
    "A shape from SVG path data, exactly as in SVG's <path d=...>.",
    "shapes",
    example='path(d="M 100 300 Q 256 100 412 300 Z", fill=green)',
    cost=per_char("d"),
)
def path(ctx, d, fill_rule, **style):
    budget = ctx.segments_left()
    try:
        segs = parse_path_data(d, max_segments=budget)
    except PathBudgetExceeded:
        raise RuntimeFault(
            "E405", f"path data has more segments than the path budget allows ({budget} left)", "simplify the path"
        ) from None
    except PathDataError as e:
        raise RuntimeFault(
            "E304",
            f"bad path data at character {e.offset + 1}: {e.message}",
            'path data is SVG\'s: commands M L H V C S Q T A Z with numbers, e.g. "M 0 0 L 10 10 Z"',
        ) from None
    ctx.use_segments(len(segs))
    if not segs:
        return
    b = segments_bounds(segs) or (0, 0, 0, 0)
    emit(ctx, ir.PathGeom(tuple(segs), fill_rule), ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), style)


WEIGHTS = ("regular", "bold", "light", "medium", "black", "thin")


@builtin(
    "text",
    [
        Param("text", STRING),
        Param("at", POINT, doc="anchor point on the baseline"),
        Param("size", NUMBER, 16.0, "font size in pixels", min=0.1, max=2000),
        Param("anchor", STRING, "start", "horizontal alignment at `at`", choices=("start", "middle", "end")),
        Param("weight", STRING, "regular", choices=WEIGHTS),
        Param("italic", BOOL, False),
    ]
    + STYLE,
    NONE,
    "Text in the bundled Roboto font (symbols, arrows and CJK from bundled Noto fonts); `at` is on the "
    "baseline; `rotate` turns it around `at`.",
    "shapes",
    positional=1,
    example='text("Hello", at=(256, 256), size=48, anchor="middle")',
    cost=per_char("text"),
)
def text(ctx, text, at, size, anchor, weight, italic, **style):
    ctx.use_text(len(text))
    if not text:
        return
    emit(ctx, ir.TextGeom(text, at.x, at.y, size, anchor, weight, italic), (at.x, at.y), style)


__all__ = ["Point", "STYLE_NAMES"]
