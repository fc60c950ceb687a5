"""Instance labels from the scene IR: for every labelled shape or group, the mask of the pixels where it shows (paint order, transforms, clips, opacity, occlusion), its box and area.

How pixels are assigned (aliased rasterisation: a pixel belongs to a shape when its centre is inside):

- Every labelled node (a shape with `label=`, a `def` call, a labelled `group`) is an instance; its
  mask is the union of the visible pixels of the shapes under it. Nested labels give nested
  instances (a `wheel` inside a `car`): each has its own mask, and `parent` names the enclosing one.
- Paint order decides occlusion: a shape hides the pixels of everything drawn before it, where it is
  *opaque enough*: its effective alpha (its opacity x its groups' opacities x its paint's lowest
  alpha) is over OPAQUE (0.5), and it and all its groups blend normally. A shape at or under that, or
  with another blend mode, still shows (it has mask pixels) but hides nothing under it.
- A shape that draws nothing (opacity 0, a fully transparent paint, zero size) has no pixels and
  hides nothing. A clip removes the pixels outside it. Fill and stroke both count.
- Masks follow the geometry, not the paint: transparent parts of a gradient or pattern count, and
  group effects (blur, shadow, glow) add no pixels.
- An instance with no visible pixel (hidden, clipped away, off the canvas) is left out.

An IR node, geometry or group field this module does not know raises LabelError rather than
guessing pixels."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import skia

from ..deadline import Deadline
from ..ir import EllipseGeom, Group, LinearGradient, Noise, Pattern, PathGeom, RadialGradient, RectGeom, Scene, Shape
from ..ir import Solid, SweepGradient, TextGeom
from . import skia_paint as sp
from .canvas import Poll, build_path, draw_geom, drawable, is_identity, sk_matrix
from .raster import output_size

OPAQUE = 0.5  # a shape hides what is under it only where its effective alpha is over this

# The node fields this module understands. A field added to the IR later (a new clip or hole kind)
# that is set to anything but its default makes label_scene raise instead of mis-masking.
_KNOWN: dict[type, frozenset[str]] = {
    Group: frozenset({"children", "transform", "opacity", "blend", "clip", "effects", "label", "node"}),
    Shape: frozenset({"geom", "fill", "stroke", "opacity", "blend", "transform", "label", "node"}),
}


class LabelError(ValueError):
    """The scene holds something whose pixels labels cannot tell (an IR feature added after this module)."""


@dataclass
class Instance:
    """One labelled object: id (1-based, paint order of first appearance), its label, the labels of the
    instances around it (outermost first, ending with its own), the enclosing instance's id, and its mask."""

    id: int
    label: str
    path: tuple[str, ...]
    parent: int | None
    mask: np.ndarray  # (H, W) bool

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x, y, width, height) of the tightest pixel box around the mask."""
        ys = np.flatnonzero(self.mask.any(axis=1))
        xs = np.flatnonzero(self.mask.any(axis=0))
        return int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1)


@dataclass
class Labels:
    """All instances of one image, and the instance map: per pixel, the id of the innermost instance
    whose shape shows on top there (0: none)."""

    width: int
    height: int
    instances: list[Instance]
    instance_map: np.ndarray  # (H, W) uint32


_EXTRA: dict[tuple, list[tuple[str, object]]] = {}  # (class, known fields): [(other field, its default)]


def _check_fields(node) -> None:
    cls = type(node)
    known = _KNOWN.get(cls)
    if known is None:  # a subclass of Group or Shape added later
        raise LabelError(f"labels do not know the IR node class {cls.__name__} yet")
    key = (cls, known)
    extra = _EXTRA.get(key)
    if extra is None:
        extra = []
        for f in dataclasses.fields(node):
            if f.name not in key[1]:
                default = f.default if f.default is not dataclasses.MISSING else None
                if f.default_factory is not dataclasses.MISSING:
                    default = f.default_factory()
                extra.append((f.name, default))
        _EXTRA[key] = extra
    for name, default in extra:
        if getattr(node, name) != default:
            raise LabelError(
                f"labels do not know the IR {cls.__name__.lower()} field `{name}` yet "
                "(vdsl/backends/labels.py must handle it before masks can be trusted)"
            )


def _alpha_range(paint) -> tuple[float, float]:
    """(lowest, highest) alpha a paint can have."""
    if isinstance(paint, Solid):
        a = sp.clamp_rgba(paint.rgba)[3]
        return a, a
    if isinstance(paint, (LinearGradient, RadialGradient, SweepGradient)):
        al = [c[3] for _, c in sp.clean_stops(paint.stops)]
    elif isinstance(paint, Pattern):
        al = [c[3] for c in sp.pattern_colors(paint)]
    elif isinstance(paint, Noise):
        al = [sp.clamp_rgba(c)[3] for c in paint.colors[:2]]
    else:
        raise LabelError(f"labels do not know the paint type {type(paint).__name__}")
    return (min(al), max(al)) if al else (0.0, 0.0)


class _Walk:
    """One pass over the scene: draws opaque-enough ops into the id canvas, remembers the rest."""

    def __init__(self, canvas: skia.Canvas, poll: Poll | None):
        self.canvas = canvas
        self.poll = poll
        self.next_op = 1
        self.see_through: list[tuple[int, tuple, Shape, str]] = []  # (op id, groups above, shape, fill|stroke)
        self.nodes: list[list] = []  # [label, path, parent index, first op, last op]

    def group(self, g: Group, groups: tuple, alpha: float, normal: bool, stack: tuple[int, ...]) -> None:
        _check_fields(g)
        if g.opacity <= 0 or not g.children:
            return
        if g.clip is not None and not isinstance(g.clip, PathGeom):
            raise LabelError(f"labels do not know the clip kind {type(g.clip).__name__}")
        c = self.canvas
        count = c.save()
        _enter(c, g)
        alpha *= min(1.0, g.opacity)
        normal = normal and g.blend == "normal"
        groups = groups + (g,)
        for child in g.children:
            if self.poll is not None:
                self.poll()
            self.node(child, groups, alpha, normal, stack)
        c.restoreToCount(count)

    def node(self, n, groups: tuple, alpha: float, normal: bool, stack: tuple[int, ...]) -> None:
        if not isinstance(n, (Group, Shape)):
            raise LabelError(f"labels do not know the IR node kind {getattr(n, 'node', type(n).__name__)!r}")
        k = None
        if n.label is not None:
            k = len(self.nodes)
            path = (self.nodes[stack[-1]][1] if stack else ()) + (n.label,)
            self.nodes.append([n.label, path, stack[-1] if stack else None, self.next_op, 0])
            stack = stack + (k,)
        if isinstance(n, Group):
            self.group(n, groups, alpha, normal, stack)
        else:
            self.shape(n, groups, alpha, normal)
        if k is not None:
            self.nodes[k][4] = self.next_op - 1

    def shape(self, s: Shape, groups: tuple, alpha: float, normal: bool) -> None:
        _check_fields(s)
        if not isinstance(s.geom, (RectGeom, EllipseGeom, PathGeom, TextGeom)):
            raise LabelError(f"labels do not know the geometry kind {getattr(s.geom, 'kind', type(s.geom).__name__)!r}")
        if not drawable(s.geom) or s.opacity <= 0:
            return
        alpha *= min(1.0, s.opacity)
        normal = normal and s.blend == "normal"
        ops = (("fill", s.fill), ("stroke", s.stroke.paint if s.stroke is not None else None))
        for kind, paint in ops:
            if paint is None:
                continue
            lo, hi = _alpha_range(paint)
            sk = _op_paint(s, kind) if alpha * hi > 0 else None
            if sk is None:
                continue
            op = self.next_op
            self.next_op += 1
            if normal and alpha * lo > OPAQUE:
                sk.setColor(_id_color(op))
                _draw(self.canvas, s, sk)
            else:
                self.see_through.append((op, groups, s, kind))


def _id_color(op: int) -> int:
    if op >= 1 << 24:
        raise LabelError("more than 16 million drawn shapes: too many to label")
    return 0xFF000000 | op


def _op_paint(s: Shape, kind: str) -> skia.Paint | None:
    """An aliased, opaque, source-mode paint with the shape's fill or stroke geometry settings."""
    p = skia.Paint()
    if kind == "stroke":
        st = s.stroke
        assert st is not None
        if not (st.width > 0 and np.isfinite(st.width)):
            return None
        p.setStyle(skia.Paint.kStroke_Style)
        p.setStrokeWidth(float(st.width))
        p.setStrokeCap(sp._CAP.get(st.cap, skia.Paint.kButt_Cap))
        p.setStrokeJoin(sp._JOIN.get(st.join, skia.Paint.kMiter_Join))
        p.setStrokeMiter(4.0)
        iv = sp.dash_intervals(st.dash)
        effect = skia.DashPathEffect.Make(iv, 0.0) if iv else None
        if effect is not None:
            p.setPathEffect(effect)
    p.setAntiAlias(False)
    p.setBlendMode(skia.BlendMode.kSrc)
    p.setColor(0xFFFFFFFF)
    return p


def _enter(c: skia.Canvas, g: Group) -> None:
    if g.transform is not None and not is_identity(g.transform):
        c.concat(sk_matrix(g.transform))
    if g.clip is not None:
        c.clipPath(build_path(g.clip), skia.ClipOp.kIntersect, False)


def _draw(c: skia.Canvas, s: Shape, paint: skia.Paint) -> None:
    moved = not is_identity(s.transform)
    if moved:
        c.save()
        assert s.transform is not None
        c.concat(sk_matrix(s.transform))
    draw_geom(c, s.geom, paint, text_as_path=True)  # the glyph outlines the raster draws, fallbacks included
    if moved:
        c.restore()


def _read_ids(surface: skia.Surface, w: int, h: int) -> np.ndarray:
    buf = np.empty((h, w, 4), dtype=np.uint8)
    info = skia.ImageInfo.Make(w, h, skia.kRGBA_8888_ColorType, skia.kUnpremul_AlphaType)
    if not surface.readPixels(info, buf, w * 4, 0, 0):
        raise RuntimeError("reading pixels back from the label surface failed")
    b = buf.astype(np.uint32)
    return (b[..., 0] << 16) | (b[..., 1] << 8) | b[..., 2]


def label_scene(scene: Scene, scale: float = 1.0, *, deadline: Deadline | None = None) -> Labels:
    """The instances of scene rendered at scale (the same pixel grid as backends.render_array).
    Raises LabelError for IR it does not understand; E412 (DiagnosticsError) past the deadline."""
    from .cost import faults_as_errors

    w, h = output_size(scene, scale)
    surface = skia.Surface.MakeRasterN32Premul(w, h)
    if surface is None:
        raise MemoryError(f"could not allocate a {w}x{h} label surface")
    canvas = surface.getCanvas()
    canvas.clear(skia.Color4f(0, 0, 0, 1))  # id 0: no shape
    if scale != 1.0:
        canvas.scale(scale, scale)
    poll = Poll(deadline) if deadline is not None and deadline.at is not None else None
    walk = _Walk(canvas, poll)
    with faults_as_errors():
        walk.node(scene.root, (), 1.0, True, ())
    ids = _read_ids(surface, w, h)  # top opaque-enough op per pixel

    # see-through ops: each rasterised alone, showing where no later opaque op covers it
    top = ids.copy()
    shows: list[tuple[int, np.ndarray]] = []
    for op, groups, s, kind in walk.see_through:
        if poll is not None:
            with faults_as_errors():
                poll()
        canvas.restoreToCount(1)
        canvas.resetMatrix()
        canvas.clear(skia.Color4f(0, 0, 0, 1))
        if scale != 1.0:
            canvas.scale(scale, scale)
        for g in groups:
            _enter(canvas, g)
        sk = _op_paint(s, kind)
        assert sk is not None
        _draw(canvas, s, sk)
        cover = _read_ids(surface, w, h) != 0
        vis = cover & (ids < op)
        if vis.any():
            shows.append((op, vis))
            top[vis & (top < op)] = op

    instances: list[Instance] = []
    new_id: dict[int, int] = {}
    lut = np.zeros(walk.next_op, dtype=np.uint32)
    for k, (label, path, parent, first, last) in enumerate(walk.nodes):
        if last < first:
            continue
        mask = (ids >= first) & (ids <= last)
        for op, vis in shows:
            if first <= op <= last:
                mask |= vis
        if not mask.any():
            continue
        iid = len(instances) + 1
        new_id[k] = iid
        lut[first : last + 1] = iid  # nodes come outer first: inner ones overwrite their ops
        instances.append(Instance(iid, label, path, new_id.get(parent) if parent is not None else None, mask))
    return Labels(w, h, instances, lut[top])
