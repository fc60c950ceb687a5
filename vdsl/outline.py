"""Outlines of IR shapes as skia Paths, and regions made of drawn shapes (clip blocks, cutouts) as IR path data."""

from __future__ import annotations

import skia

from . import fonts
from .ir import EllipseGeom, Group, Matrix, Node, PathGeom, RectGeom, Segment, TextGeom

# A clip that keeps everything *outside* some shapes is this rectangle minus them: far larger than any
# canvas (the canvas budget caps a side at a few thousand pixels), yet exact in float32.
FAR = 1.0e6


def sk_matrix(m: Matrix) -> skia.Matrix:
    """IR (a, b, c, d, e, f), SVG convention, as a skia Matrix."""
    a, b, c, d, e, f = (float(v) for v in m)
    return skia.Matrix.MakeAll(a, c, e, b, d, f, 0.0, 0.0, 1.0)


def build_path(geom: PathGeom) -> skia.Path:
    """A skia Path from absolute, normalised IR segments."""
    p = skia.Path()
    for seg in geom.segments:
        op = seg[0]
        if op == "M":
            p.moveTo(seg[1], seg[2])
        elif op == "L":
            p.lineTo(seg[1], seg[2])
        elif op == "C":
            p.cubicTo(seg[1], seg[2], seg[3], seg[4], seg[5], seg[6])
        elif op == "Q":
            p.quadTo(seg[1], seg[2], seg[3], seg[4])
        elif op == "A":
            rx, ry, rot, large, sweep, x, y = seg[1:8]
            p.arcTo(
                abs(rx),
                abs(ry),
                rot,
                skia.Path.ArcSize.kLarge_ArcSize if large else skia.Path.ArcSize.kSmall_ArcSize,
                skia.PathDirection.kCW if sweep else skia.PathDirection.kCCW,
                x,
                y,
            )
        elif op == "Z":
            p.close()
    p.setFillType(skia.PathFillType.kEvenOdd if geom.fill_rule == "evenodd" else skia.PathFillType.kWinding)
    return p


def rect_radii(g: RectGeom) -> tuple[float, float]:
    """SVG rules: a missing (zero) radius copies the other; both clamp to half the side."""
    rx, ry = max(0.0, float(g.rx)), max(0.0, float(g.ry))
    if rx == 0:
        rx = ry
    if ry == 0:
        ry = rx
    return min(rx, abs(g.w) / 2), min(ry, abs(g.h) / 2)


def norm_rect(g: RectGeom) -> tuple[float, float, float, float]:
    """x, y, w, h with a negative width/height flipped to extend left/up."""
    x, y, w, h = float(g.x), float(g.y), float(g.w), float(g.h)
    if w < 0:
        x, w = x + w, -w
    if h < 0:
        y, h = y + h, -h
    return x, y, w, h


def text_path(g: TextGeom) -> skia.Path:
    """The text's glyph outlines (Roboto and its fallbacks), laid out exactly as the backends draw it."""
    parts, adv = fonts.layout_runs(g.text, g.size, g.weight, g.italic)
    x0 = fonts.text_start_x(float(g.x), adv, g.anchor)
    whole = skia.Path()
    for run in parts:
        for gp, (px, py) in zip(run.font.getPaths(run.glyphs), run.pos):
            if gp is not None and not gp.isEmpty():
                whole.addPath(gp, x0 + run.x + px, float(g.y) + py)
    return whole


def geom_path(geom) -> skia.Path:
    """The fill outline of one IR geometry, in its own coordinates."""
    if isinstance(geom, PathGeom):
        return build_path(geom)
    p = skia.Path()
    if isinstance(geom, RectGeom):
        x, y, w, h = norm_rect(geom)
        rx, ry = rect_radii(geom)
        r = skia.Rect.MakeXYWH(x, y, w, h)
        if rx > 0 and ry > 0:
            p.addRRect(skia.RRect.MakeRectXY(r, rx, ry))
        elif w > 0 and h > 0:
            p.addRect(r)
    elif isinstance(geom, EllipseGeom):
        if geom.rx > 0 and geom.ry > 0:
            p.addOval(skia.Rect.MakeLTRB(geom.cx - geom.rx, geom.cy - geom.ry, geom.cx + geom.rx, geom.cy + geom.ry))
    elif isinstance(geom, TextGeom):
        return text_path(geom)
    return p


def node_outline(node: Node) -> skia.Path:
    """The area a drawn node covers as an outline: the union of its shapes' fill areas (strokes, paints,
    opacity and effects do not count), each moved by its own transform and its groups', and cut by
    its groups' clips."""
    if isinstance(node, Group):
        out = union([node_outline(c) for c in node.children])
        if node.clip is not None:
            out = skia.Op(out, build_path(node.clip), skia.PathOp.kIntersect_PathOp) or skia.Path()
        if node.transform is not None:
            out.transform(sk_matrix(node.transform))
        return out
    p = geom_path(node.geom)
    if node.transform is not None:
        p.transform(sk_matrix(node.transform))
    return p


def union(paths: list[skia.Path]) -> skia.Path:
    """The union of outlines (each filled by its own rule), as one path."""
    if not paths:
        return skia.Path()
    if len(paths) == 1:
        return paths[0]
    b = skia.OpBuilder()
    for p in paths:
        b.add(p, skia.PathOp.kUnion_PathOp)
    return b.resolve() or skia.Path()


def region(nodes: list[Node], invert: bool = False) -> skia.Path:
    """The union of the nodes' outlines; with invert, everything outside it instead."""
    area = union([node_outline(n) for n in nodes])
    if invert:
        far = skia.Path()
        far.addRect(skia.Rect.MakeLTRB(-FAR, -FAR, FAR, FAR))
        area = skia.Op(far, area, skia.PathOp.kDifference_PathOp) or far
    return area


def path_geom(path: skia.Path) -> PathGeom:
    """A skia Path as IR path data (conics become quadratics)."""
    segs: list[Segment] = []
    it = skia.Path.Iter(path, False)
    while True:
        verb, pts = it.next()
        if verb == skia.Path.kDone_Verb:
            break
        if verb == skia.Path.kMove_Verb:
            segs.append(("M", pts[0].x(), pts[0].y()))
        elif verb == skia.Path.kLine_Verb:
            segs.append(("L", pts[1].x(), pts[1].y()))
        elif verb == skia.Path.kQuad_Verb:
            segs.append(("Q", pts[1].x(), pts[1].y(), pts[2].x(), pts[2].y()))
        elif verb == skia.Path.kCubic_Verb:
            segs.append(("C", pts[1].x(), pts[1].y(), pts[2].x(), pts[2].y(), pts[3].x(), pts[3].y()))
        elif verb == skia.Path.kConic_Verb:
            q = skia.Path.ConvertConicToQuads(pts[0], pts[1], pts[2], it.conicWeight(), 2)
            for i in range(1, len(q) - 1, 2):
                segs.append(("Q", q[i].x(), q[i].y(), q[i + 1].x(), q[i + 1].y()))
        elif verb == skia.Path.kClose_Verb:
            segs.append(("Z",))
    even = path.getFillType() in (skia.PathFillType.kEvenOdd, skia.PathFillType.kInverseEvenOdd)
    return PathGeom(tuple(segs), "evenodd" if even else "nonzero")
