"""Draw a scene onto any skia Canvas: the one drawing routine shared by the raster and PDF backends."""

from __future__ import annotations

import skia

from .bounds import content_box, effect_margin, grow

from .. import fonts
from ..deadline import Deadline
from ..ir import EllipseGeom, Group, Matrix, PathGeom, RectGeom, Scene, Shape, TextGeom
from ..outline import build_path, norm_rect, rect_radii, sk_matrix, text_path  # shared with clip regions and SVG

__all__ = ["build_path", "draw_scene", "norm_rect", "rect_radii", "sk_matrix"]
from . import skia_paint as sp


def is_identity(m: Matrix | None) -> bool:
    return m is None or tuple(m) == (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def draw_geom(canvas: skia.Canvas, geom, paint: skia.Paint, text_as_path: bool = False) -> None:
    """Draw one shape's geometry with `paint` (text as glyph outlines when text_as_path: exact, aliased masks)."""
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
    elif isinstance(geom, TextGeom) and text_as_path:
        canvas.drawPath(text_path(geom), paint)
    elif isinstance(geom, TextGeom):
        parts, adv = fonts.layout_runs(geom.text, geom.size, geom.weight, geom.italic)
        x0 = fonts.text_start_x(geom.x, adv, geom.anchor)
        for run in parts:  # one run per font of the fallback chain
            canvas.drawString(run.text, x0 + run.x, float(geom.y), run.font, paint)


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
        draw_geom(canvas, s.geom, fill)
    if stroke is not None:
        draw_geom(canvas, s.geom, stroke)
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
