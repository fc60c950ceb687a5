"""Draw a scene onto any skia Canvas: the one drawing routine shared by the raster and PDF backends."""

from __future__ import annotations

import skia

from .bounds import content_box, effect_margin, grow

from .. import fonts
from ..deadline import Deadline
from ..ir import EllipseGeom, Group, Matrix, PathGeom, RectGeom, Scene, Shape, TextGeom
from . import skia_paint as sp


def sk_matrix(m: Matrix) -> skia.Matrix:
    """IR (a, b, c, d, e, f), SVG convention, as a skia Matrix."""
    a, b, c, d, e, f = (float(v) for v in m)
    return skia.Matrix.MakeAll(a, c, e, b, d, f, 0.0, 0.0, 1.0)


def is_identity(m: Matrix | None) -> bool:
    return m is None or tuple(m) == (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


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


def _draw_geom(canvas: skia.Canvas, geom, paint: skia.Paint) -> None:
    if isinstance(geom, RectGeom):
        x, y, w, h = norm_rect(geom)
        rx, ry = rect_radii(geom)
        r = skia.Rect.MakeXYWH(x, y, w, h)
        if rx > 0 and ry > 0:
            canvas.drawRRect(skia.RRect.MakeRectXY(r, rx, ry), paint)
        else:
            canvas.drawRect(r, paint)
    elif isinstance(geom, EllipseGeom):
        canvas.drawOval(
            skia.Rect.MakeLTRB(geom.cx - geom.rx, geom.cy - geom.ry, geom.cx + geom.rx, geom.cy + geom.ry), paint
        )
    elif isinstance(geom, PathGeom):
        canvas.drawPath(build_path(geom), paint)
    elif isinstance(geom, TextGeom):
        font = fonts.make_font(geom.size, geom.weight, geom.italic)
        _, _, adv = fonts.layout(geom.text, font)
        x0 = fonts.text_start_x(geom.x, adv, geom.anchor)
        canvas.drawString(geom.text, x0, float(geom.y), font, paint)


def drawable(geom) -> bool:
    """False for geometry that SVG would not render (zero-size rects/ellipses, empty text)."""
    if isinstance(geom, RectGeom):
        return geom.w != 0 and geom.h != 0
    if isinstance(geom, EllipseGeom):
        return geom.rx > 0 and geom.ry > 0
    if isinstance(geom, TextGeom):
        return bool(geom.text) and geom.size > 0
    if isinstance(geom, PathGeom):
        return bool(geom.segments)
    return False


def draw_shape(canvas: skia.Canvas, s: Shape) -> None:
    if not drawable(s.geom) or s.opacity <= 0:
        return
    both = s.fill is not None and s.stroke is not None
    layered = both and (s.opacity < 1 or s.blend != "normal")
    paint_opacity = 1.0 if layered else s.opacity
    paint_blend = "normal" if layered else s.blend
    fill = sp.fill_paint(s.fill, paint_opacity, paint_blend) if s.fill is not None else None
    stroke = sp.stroke_paint(s.stroke, paint_opacity, paint_blend) if s.stroke is not None else None
    if fill is None and stroke is None:
        return
    moved = not is_identity(s.transform)
    count = canvas.save() if (moved or layered) else None
    if moved:
        assert s.transform is not None  # is_identity(None) is True
        canvas.concat(sk_matrix(s.transform))
    if layered:
        lp = skia.Paint()
        lp.setAlphaf(max(0.0, min(1.0, s.opacity)))
        lp.setBlendMode(sp.blend_mode(s.blend))
        canvas.saveLayer(None, lp)
    if fill is not None:
        _draw_geom(canvas, s.geom, fill)
    if stroke is not None:
        _draw_geom(canvas, s.geom, stroke)
    if count is not None:
        canvas.restoreToCount(count)


class Poll:
    """Checks a deadline every `every` calls: cheap enough to call between draw calls."""

    __slots__ = ("deadline", "every", "left")

    def __init__(self, deadline: Deadline, every: int = 16):
        self.deadline, self.every, self.left = deadline, every, every

    def __call__(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.left = self.every
            self.deadline.check("rendering")


def draw_group(canvas: skia.Canvas, g: Group, poll: Poll | None = None) -> None:
    if g.opacity <= 0 or not g.children:
        return
    count = canvas.save()
    if g.transform is not None and not is_identity(g.transform):
        canvas.concat(sk_matrix(g.transform))
    if g.clip is not None:
        canvas.clipPath(build_path(g.clip), skia.ClipOp.kIntersect, True)
    filt = sp.effect_filter(g.effects) if g.effects else None
    if g.opacity < 1 or g.blend != "normal" or filt is not None:
        lp = skia.Paint()
        lp.setAlphaf(max(0.0, min(1.0, g.opacity)))
        lp.setBlendMode(sp.blend_mode(g.blend))
        bounds = None
        if filt is not None:
            lp.setImageFilter(filt)
            box = content_box(g)  # process only the pixels the effect can touch
            if box is None:
                canvas.restoreToCount(count)
                return
            bounds = skia.Rect.MakeLTRB(*grow(box, effect_margin(g)))
        canvas.saveLayer(bounds, lp)
    for child in g.children:
        if poll is not None:
            poll()
        if isinstance(child, Group):
            draw_group(canvas, child, poll)  # recursion is bounded: IR nesting depth is ~100 at most
        else:
            draw_shape(canvas, child)
    canvas.restoreToCount(count)


def draw_scene(canvas: skia.Canvas, scene: Scene, background: bool = True, deadline: Deadline | None = None) -> None:
    """Paint the background (if any, unless the caller cleared to it) and the root group onto
    `canvas` in scene units, checking `deadline` (E412) between draw calls when one is given."""
    if background and scene.background is not None:
        canvas.drawColor(sp.color4f(scene.background))
    poll = Poll(deadline) if deadline is not None and deadline.at is not None else None
    draw_group(canvas, scene.root, poll)
    if poll is not None:
        poll.deadline.check("rendering")
