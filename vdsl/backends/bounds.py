"""Conservative bounding boxes of IR nodes, so effect layers only process the pixels they touch."""

from __future__ import annotations

from ..ir import EllipseGeom, Group, Matrix, PathGeom, RectGeom, Shape, TextGeom
from ..pathdata import segments_bounds

Box = tuple[float, float, float, float]


def transform_box(b: Box, m: Matrix | None) -> Box:
    if m is None:
        return b
    a, bb, c, d, e, f = m
    xs, ys = [], []
    for x, y in ((b[0], b[1]), (b[2], b[1]), (b[0], b[3]), (b[2], b[3])):
        xs.append(a * x + c * y + e)
        ys.append(bb * x + d * y + f)
    return (min(xs), min(ys), max(xs), max(ys))


def union(a: Box | None, b: Box | None) -> Box | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def grow(b: Box, m: float) -> Box:
    return (b[0] - m, b[1] - m, b[2] + m, b[3] + m)


def effect_margin(g: Group) -> float:
    """How far a group's effects can spread paint beyond its content (4 sigma, plus offsets)."""
    m = 0.0
    for e in g.effects:
        spread = 2.0 * e.radius  # 4 sigma with sigma = radius / 2: the tail past it rounds to 0
        if e.kind == "shadow":
            m += spread + max(abs(e.dx), abs(e.dy))
        else:
            m += spread
    return m + 2.0


def shape_box(s: Shape) -> Box | None:
    g = s.geom
    if isinstance(g, RectGeom):
        b = (g.x, g.y, g.x + g.w, g.y + g.h)
    elif isinstance(g, EllipseGeom):
        b = (g.cx - g.rx, g.cy - g.ry, g.cx + g.rx, g.cy + g.ry)
    elif isinstance(g, PathGeom):
        pb = segments_bounds(g.segments)
        if pb is None:
            return None
        b = pb
    elif isinstance(g, TextGeom):
        w = g.size * (0.75 if g.text.isascii() else 1.1) * len(g.text)  # CJK and symbols are ~1 em wide
        x0 = {"start": g.x, "middle": g.x - w / 2, "end": g.x - w}.get(g.anchor, g.x)
        b = (x0 - g.size, g.y - 1.2 * g.size, x0 + w + g.size, g.y + 0.5 * g.size)
    else:
        return None
    if s.stroke is not None:
        b = grow(b, s.stroke.width * 2.0)  # miter joins may reach past width / 2
    return transform_box(b, s.transform)


def content_box(g: Group) -> Box | None:
    """The box of a group's children in the group's own coordinates (its transform not applied)."""
    box = None
    for child in g.children:
        box = union(box, node_box(child))
    if box is not None and g.clip is not None:
        cb = segments_bounds(g.clip.segments)
        if cb is not None:
            box = (max(box[0], cb[0]), max(box[1], cb[1]), min(box[2], cb[2]), min(box[3], cb[3]))
    return box


def node_box(node) -> Box | None:
    if isinstance(node, Group):
        b = content_box(node)
        if b is None:
            return None
        if node.effects:
            b = grow(b, effect_margin(node))
        return transform_box(b, node.transform)
    return shape_box(node)
