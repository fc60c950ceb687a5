"""Render-work estimates: what drawing a scene IR will cost, checked against the budgets before drawing."""

# One work unit is about one nanosecond of one-core Skia time on the calibration machine
# (bench/bench_render_cost.py measures seconds per unit for every op class and reports the worst).
# The estimate walks the IR once, O(IR size), tracking the device transform and the device clip box:
# * a shape costs its device pixels (box clipped to the clip) times its paint's per-pixel weight
#   (noise and patterns cost more), a stroke at most its length times its width, plus a fixed
#   cost per draw call, per path segment, per glyph and per dash segment (length / dash period);
# * a path (and a clip path) costs the pixel rows its edges cross, plus sorting the edges active
#   on each row, quadratic in their number (edges that cross, as in a zigzag, make Skia's scan
#   converter quadratic);
# * a layer (group opacity < 1, a blend mode, a fill+stroke shape with opacity) costs the area
#   Skia allocates for it: the whole device clip, since the layer has no bounds;
# * an effect layer (blur / shadow / glow) costs its area (content box grown by the effects'
#   reach, clipped to the clip grown by the same reach) times the effects' weights, and its
#   children are costed inside that area: a layer inside a layer costs again;
# * `scale` multiplies every area (the device transform starts at scale); encoding the image
#   costs per output pixel, by format.
# The PDF target costs vector drawing per element, dashes per segment (Skia's PDF backend expands
# them into path data), and what it rasterises (effect layers, noise) at its raster DPI.  The SVG
# target costs the text it writes (dashes stay stroke-dasharray, noise stays a filter).
from __future__ import annotations

import math
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..budgets import Budgets
from ..diagnostics import Diagnostic
from ..errors import DiagnosticsError
from ..ir import (
    EllipseGeom,
    Group,
    LinearGradient,
    Matrix,
    Noise,
    PathGeom,
    Pattern,
    RadialGradient,
    RectGeom,
    Scene,
    Shape,
    SweepGradient,
    TextGeom,
    multiply,
)
from ..pathdata import segments_bounds
from ..values import RuntimeFault
from .bounds import Box, effect_margin, grow, shape_box, transform_box, union
from .canvas import drawable
from .skia_paint import dash_intervals

TARGETS = ("raster", "pdf", "svg")

# ---------------------------------------------------------------- weights (units ~ ns, see bench)
BASE_PX = 6.0  # per output pixel: clear, read back, encode
SOLID_PX = 4.0  # per covered pixel, solid colour, anti-aliased source-over
GRADIENT_PX = 16.0  # linear / radial / sweep gradient shader
PATTERN_PX = 32.0  # pattern (a picture shader)
NOISE_PX = 12.0  # Perlin noise: this plus NOISE_OCTAVE_PX per octave
NOISE_OCTAVE_PX = 17.0
# A non-normal blend mode multiplies a shape's pixel cost: the non-separable modes most.
BLEND_FACTOR = {
    "hue": 3.0,
    "saturation": 3.0,
    "color": 3.0,
    "luminosity": 3.0,
    "soft-light": 2.0,
    "color-dodge": 2.0,
    "color-burn": 2.0,
}
BLEND_FACTOR_OTHER = 1.2
STROKE_BAND = 25.0  # a stroke costs (width + this) pixels per unit of length (edge walking)
EDGE_ROW = 25.0  # per pixel row a path edge crosses (scan conversion)
EDGE_SORT = 0.45  # per row, times (edges active on it)^2: sorting crossing edges ...
EDGE_SORT_CAP = 800.0  # ... at most this times the edges (measured on crossing zigzags)
STROKE_EDGES = 2.5  # a stroked path's outline has about this many edges per segment
QUICK_SEGMENTS = 8  # the quick bound measures paths longer than this, bounds shorter ones
LAYER_PX = 4.0  # per pixel of a save-layer (allocate, clear, composite)
BLEND_LAYER_PX = 10.0  # ... composited with a non-normal blend mode
CLIP_PX = 2.0  # per pixel of an anti-aliased clip path's box
BLUR_PX = 80.0  # per pixel an effect filter reads or writes, per Gaussian blur pass
EFFECT_PX = 10.0  # ... per colour filter / merge step
ROTATED_EFFECT = 1.6  # effect layers under a rotation or skew (filtered in a local space) cost more
DRAW = 13000.0  # per draw call (Python and Skia overhead)
GROUP = 1500.0  # per group
SEGMENT = 200.0  # per path segment (building the path)
GLYPH = 1500.0  # per glyph
DASH = 2500.0  # per dash segment, raster (butt / square caps)
DASH_ROUND = 4000.0  # ... round caps
PDF_DRAW = 19000.0  # per element written to the PDF
PDF_IMAGE_PX = 70.0  # per pixel of a layer the PDF rasterises (encoded into an image)
PDF_DASH = 15000.0  # per dash segment expanded into PDF path data (butt / square caps)
PDF_DASH_ROUND = 70000.0  # ... with round caps (each dash becomes curves)
PDF_RASTER_DPI = 144  # where Skia's PDF backend rasterises (effects, noise): pdf.RASTER_DPI
PDF_DPI_SCALE = PDF_RASTER_DPI / 72  # device pixels per scene unit (a point) there
SVG_DRAW = 30000.0  # per element written to the SVG
SVG_SEGMENT = 4000.0  # per path segment formatted
SVG_DOC = 300000.0  # per SVG document
SVG_GLYPH = 100000.0  # per glyph outline converted to path data
# Encoding the image, per output pixel: (smooth drawing, noise/pattern texture), measured on 1024^2
# (fpng; Pillow JPEG quality 90; Pillow WebP method 4): WebP on noise is the slowest by far.
ENCODE_PX = {"png": (15.0, 30.0), "jpeg": (20.0, 45.0), "jpg": (20.0, 45.0), "webp": (80.0, 400.0)}
RASTERISED = ("noise", "pattern")  # paints the PDF backend draws as images over the shape
MAX_DASHES = 1_000_000  # Skia's own cap on dash segments per path (past it, it draws undashed)

# What to suggest when one class of work dominates the estimate.
HINTS = {
    "effects": "use fewer or smaller blur/shadow/glow layers (and nest them less)",
    "layers": "use fewer opacity/blend groups, or clip them to a smaller area",
    "noise": "use fewer or smaller noise() fills, or fewer octaves",
    "pattern": "use fewer or smaller pattern fills",
    "pixels": "use fewer or smaller shapes",
    "dashes": "use longer dashes and gaps (fewer dash segments), or a solid stroke",
    "paths": "use fewer or simpler paths (many edges crossing the same rows are slow to fill)",
    "text": "draw less text",
    "draws": "draw fewer shapes",
    "output": "draw at a smaller size",
}


@dataclass
class Estimate:
    """The estimated work of drawing one scene, in units (~ns), in total and per op class."""

    target: str
    total: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)

    def add(self, part: str, units: float) -> None:
        if not units > 0:  # also drops NaN
            return
        self.parts[part] = self.parts.get(part, 0.0) + units
        self.total += units

    def top(self) -> str:
        return max(self.parts, key=self.parts.__getitem__) if self.parts else "output"


# ---------------------------------------------------------------- geometry helpers
MAX_REACH = 1e6  # pixels past the clip an effect layer is costed for (Skia bounds layers by the device)


def clip_box(b: Box | None, clip: Box) -> Box | None:
    """b intersected with clip; a box with non-finite corners counts as the whole clip."""
    if b is None:
        return None
    if not math.isfinite(b[0] + b[1] + b[2] + b[3]):
        return clip
    x0, y0 = max(b[0], clip[0]), max(b[1], clip[1])
    x1, y1 = min(b[2], clip[2]), min(b[3], clip[3])
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


def area(b: Box | None) -> float:
    """Pixels a box covers (rounded out), as a float: infinity for a box too large to measure."""
    if b is None:
        return 0.0
    if not (math.isfinite(b[2] - b[0]) and math.isfinite(b[3] - b[1])):
        return math.inf
    return float(math.ceil(b[2]) - math.floor(b[0])) * float(math.ceil(b[3]) - math.floor(b[1]))


def matrix_scale(m: Matrix) -> float:
    """How much m stretches lengths, at most (the larger column norm; ~ the larger singular value)."""
    s = max(math.hypot(m[0], m[1]), math.hypot(m[2], m[3]))
    return s if math.isfinite(s) else 0.0


def path_measure(segments) -> tuple[float, float]:
    """(length, rise): upper bounds on the length of IR path segments and on their vertical travel
    (the sum of |dy|, what Skia's scan converter walks), from control polygons for curves and
    the circle through an arc's radius for arcs."""
    total = rise = 0.0
    cx = cy = sx = sy = 0.0
    hyp = math.hypot
    for seg in segments:
        k = seg[0]
        if k == "M":
            cx, cy = sx, sy = seg[1], seg[2]
        elif k == "L":
            total += hyp(seg[1] - cx, seg[2] - cy)
            rise += abs(seg[2] - cy)
            cx, cy = seg[1], seg[2]
        elif k == "C":
            total += (
                hyp(seg[1] - cx, seg[2] - cy)
                + hyp(seg[3] - seg[1], seg[4] - seg[2])
                + hyp(seg[5] - seg[3], seg[6] - seg[4])
            )
            rise += abs(seg[2] - cy) + abs(seg[4] - seg[2]) + abs(seg[6] - seg[4])
            cx, cy = seg[5], seg[6]
        elif k == "Q":
            total += hyp(seg[1] - cx, seg[2] - cy) + hyp(seg[3] - seg[1], seg[4] - seg[2])
            rise += abs(seg[2] - cy) + abs(seg[4] - seg[2])
            cx, cy = seg[3], seg[4]
        elif k == "A":
            chord = hyp(seg[6] - cx, seg[7] - cy)
            r = max(abs(seg[1]), abs(seg[2]), chord / 2)
            arc = max(chord, (2 * math.pi if seg[4] else math.pi) * r)
            total += arc
            rise += arc
            cx, cy = seg[6], seg[7]
        elif k == "Z":
            total += hyp(sx - cx, sy - cy)
            rise += abs(sy - cy)
            cx, cy = sx, sy
    return total, rise


def path_length(segments) -> float:
    """An upper bound on the length of IR path segments."""
    return path_measure(segments)[0]


def edge_cost(rows: float, height: float, most: float | None = None) -> float:
    """Scan-converting edges that cross `rows` pixel rows in all, over `height` rows: linear in the
    rows, plus sorting the edges active on each row (quadratic when they cross, as in a zigzag).
    With `most` (edges per row at most) instead of the height: an upper bound for any height."""
    if not rows > 0:
        return 0.0
    n = rows / max(1.0, height) if most is None else most
    # height * min(EDGE_SORT n^2, EDGE_SORT_CAP n) = rows * min(EDGE_SORT n, EDGE_SORT_CAP)
    return rows * (EDGE_ROW + min(EDGE_SORT * n, EDGE_SORT_CAP))


def geom_length(g) -> float:
    """An upper bound on the outline length of a geometry, in its own units."""
    if isinstance(g, RectGeom):
        return 2 * (abs(g.w) + abs(g.h))
    if isinstance(g, EllipseGeom):
        a, b = abs(g.rx), abs(g.ry)
        return math.pi * (3 * (a + b) - math.sqrt(max(0.0, (3 * a + b) * (a + 3 * b)))) * 1.01
    if isinstance(g, PathGeom):
        return path_length(g.segments)
    if isinstance(g, TextGeom):
        return 4.0 * g.size * len(g.text)
    return 0.0


def dash_count(stroke, length: float) -> float:
    """Dash segments Skia (or the PDF writer) makes along `length`: length / period * dashes per period."""
    iv = dash_intervals(stroke.dash)
    if not iv:
        return 0.0
    n = length / sum(iv) * (len(iv) / 2)
    if not n >= 0:
        return float(MAX_DASHES)  # a non-finite length
    return min(n, float(MAX_DASHES))


def paint_cost(p) -> tuple[str, float]:
    """(op class, per-pixel weight) of a paint."""
    if isinstance(p, Noise):
        return "noise", NOISE_PX + NOISE_OCTAVE_PX * max(1, min(int(p.octaves), 10))
    if isinstance(p, Pattern):
        return "pattern", PATTERN_PX
    if isinstance(p, (LinearGradient, RadialGradient, SweepGradient)):
        return "pixels", GRADIENT_PX
    return "pixels", SOLID_PX


def effect_weight(g: Group) -> float:
    """Per-pixel weight of a group's effect chain (blurs dominate; glow is two blurs and a merge)."""
    w = 0.0
    for e in g.effects:
        if e.kind == "blur":
            w += BLUR_PX if e.radius > 0 else 0.0
        elif e.kind == "shadow":
            w += BLUR_PX + 2 * EFFECT_PX
        elif e.kind == "glow":
            w += 2 * BLUR_PX + 5 * EFFECT_PX
    return w


def _has_effect(g: Group) -> bool:
    return any(e.kind in ("shadow", "glow") or (e.kind == "blur" and e.radius > 0) for e in g.effects)


def _identity(m) -> bool:
    return m is None or tuple(m) == (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


# ---------------------------------------------------------------- the walk
class _Walk:
    def __init__(self, target: str, quick: bool = False):
        self.target = target
        self.quick = quick  # paths, text and effect layers as large as their clip: an upper bound
        self.est = Estimate(target)
        self.parts: defaultdict[str, float] = defaultdict(float)  # the shapes' share, added at the end
        self.boxes: dict[int, Box | None] = {}

    def content(self, g: Group) -> Box | None:
        """bounds.content_box, memoised per group so the whole walk stays O(IR size)."""
        key = id(g)
        if key in self.boxes:
            return self.boxes[key]
        box = None
        for child in g.children:
            if isinstance(child, Group):
                b = self.content(child)
                if b is not None:
                    if child.effects:
                        b = grow(b, effect_margin(child))
                    b = transform_box(b, child.transform)
            else:
                b = shape_box(child)
            box = union(box, b)
        if box is not None and g.clip is not None:
            cb = segments_bounds(g.clip.segments)
            if cb is not None:
                box = (max(box[0], cb[0]), max(box[1], cb[1]), min(box[2], cb[2]), min(box[3], cb[3]))
        self.boxes[key] = box
        return box

    def group(self, g: Group, ctm: Matrix, clip: Box, raster: bool) -> None:
        if g.opacity <= 0 or not g.children:
            return
        add = self.est.add
        add("draws", GROUP)
        if g.transform is not None and not _identity(g.transform):
            ctm = multiply(ctm, g.transform)
        if g.clip is not None:
            add("paths", len(g.clip.segments) * SEGMENT)
            clipped = clip_box(transform_box(segments_bounds(g.clip.segments) or (0, 0, 0, 0), ctm), clip)
            if clipped is None:
                return
            clip = clipped
            if raster:
                add("layers", area(clip) * CLIP_PX)
                length, rise = path_measure(g.clip.segments)
                height = math.ceil(clip[3]) - math.floor(clip[1])
                rows = abs(ctm[3]) * rise if ctm[1] == 0 and ctm[2] == 0 else matrix_scale(ctm) * length
                add("paths", edge_cost(min(rows, len(g.clip.segments) * height), height))
        if self.target != "svg" and _has_effect(g):
            box = None if self.quick else self.content(g)
            if box is None and not self.quick:
                return
            reach = effect_margin(g)
            k = matrix_scale(ctm)
            layer = grow(clip, min(reach * k, MAX_REACH))  # a layer reaches past the clip by its margin
            if box is not None:
                inside = clip_box(transform_box(grow(box, reach), ctm), layer)
                if inside is None:
                    return
                layer = inside
            # the filters read and write the layer plus 3 sigma of border per blur
            border = 1.5 * k * sum(max(0.0, e.radius) for e in g.effects)
            fx = area(clip_box(grow(layer, border), grow(clip, border)))
            a = area(layer)
            turned = 1.0 if ctm[1] == 0 and ctm[2] == 0 else ROTATED_EFFECT
            add("effects", (a * LAYER_PX + fx * effect_weight(g)) * turned)
            if not raster:  # the PDF backend rasterises the layer into an image
                add("effects", a * PDF_IMAGE_PX)
            clip, raster = layer, True
        elif (g.opacity < 1 or g.blend != "normal") and raster:
            add("layers", area(clip) * (LAYER_PX if g.blend == "normal" else BLEND_LAYER_PX))
        clip_px, clip_h = area(clip), math.ceil(clip[3]) - math.floor(clip[1])
        shape = self.shape
        for child in g.children:
            if isinstance(child, Shape):
                shape(child, ctm, clip, raster, clip_px, clip_h)
            else:
                self.group(child, ctm, clip, raster)  # recursion bounded like the renderer's

    def shape(self, s: Shape, ctm: Matrix, clip: Box, raster: bool, clip_px: float, clip_h: float) -> None:
        # The hot path (one call per shape): kept lean so the estimate stays a few % of a render.
        geom = s.geom
        if not s.opacity > 0 or not drawable(geom):
            return
        fill, stroke = s.fill, s.stroke
        if stroke is not None and not 0 < stroke.width < math.inf:
            stroke = None
        if fill is None and stroke is None:
            return
        parts = self.parts
        target = self.target
        calls = (fill is not None) + (stroke is not None)
        if target == "svg":  # dashes stay stroke-dasharray, noise a filter: text out only
            draws = SVG_DRAW * calls
            if type(geom) is PathGeom:
                parts["paths"] += len(geom.segments) * SVG_SEGMENT
            elif type(geom) is TextGeom:
                parts["text"] += len(geom.text) * SVG_GLYPH
            parts["draws"] += draws
            return
        parts["draws"] += (DRAW if raster else PDF_DRAW) * calls
        quick = self.quick
        is_path = type(geom) is PathGeom
        nseg = 0
        length = rise = -1.0  # -1: not measured
        if type(geom) is PathGeom:  # (is_path, narrowed for the type checker)
            nseg = len(geom.segments)
            parts["paths"] += nseg * SEGMENT
            if stroke is not None or (raster and (not quick or nseg > QUICK_SEGMENTS)):
                length, rise = path_measure(geom.segments)
        elif type(geom) is TextGeom:
            parts["text"] += len(geom.text) * GLYPH
        if stroke is not None:
            if length < 0:
                length = geom_length(geom)
            if stroke.dash:
                n = dash_count(stroke, length)
                if raster:  # each dash is a small path: its edges cross ~ its width in rows
                    w = min(stroke.width * matrix_scale(ctm), clip_h)
                    parts["dashes"] += n * (
                        (DASH_ROUND if stroke.cap == "round" else DASH) + STROKE_EDGES * w * EDGE_ROW
                    )
                else:
                    parts["dashes"] += n * (PDF_DASH_ROUND if stroke.cap == "round" else PDF_DASH)
        if quick and (is_path or type(geom) is TextGeom):  # their boxes cost a walk: take the clip
            px, height = clip_px, clip_h
        else:
            px, height = self.pixels(s, ctm, clip)
        if not px:
            return
        full = ctm if s.transform is None or _identity(s.transform) else multiply(ctm, s.transform)
        k = matrix_scale(full)
        if is_path and raster:
            cap = nseg * height  # an edge crosses at most every row of the clipped box
            if rise < 0:
                rows = cap
            else:
                rows = abs(full[3]) * rise if full[1] == 0 and full[2] == 0 else k * length
                rows = rows if rows < cap else cap
            if fill is not None:
                parts["paths"] += edge_cost(rows, height, nseg if quick else None)
            if stroke is not None:
                w = stroke.width * k
                # the stroker's outline does not sort quadratically (measured): rows only
                parts["paths"] += EDGE_ROW * STROKE_EDGES * (rows + nseg * (w if w < height else height))
        factor = 1.0 if s.blend == "normal" else BLEND_FACTOR.get(s.blend, BLEND_FACTOR_OTHER)
        if fill is not None:
            part, w = paint_cost(fill)
            if raster or part in RASTERISED:  # PDF: vector paint costs no pixels of ours
                parts[part] += px * w * factor
        if stroke is not None:
            part, w = paint_cost(stroke.paint)
            if raster or part in RASTERISED:
                band = length * k * (stroke.width * k + STROKE_BAND)
                parts[part] += (band if band < px else px) * w * factor
            if raster and fill is not None and (s.opacity < 1 or s.blend != "normal"):
                parts["layers"] += clip_px * (LAYER_PX if s.blend == "normal" else BLEND_LAYER_PX)

    @staticmethod
    def pixels(s: Shape, ctm: Matrix, clip: Box) -> tuple[float, float]:
        """(area, height) in device pixels of the shape's box inside the clip."""
        box = shape_box(s)
        if box is None:
            return 0.0, 0.0
        a, b, c, d, e, f = ctm
        if b == 0 and c == 0:  # scale + translate: the common case, without transform_box's lists
            x0, x1, y0, y1 = a * box[0] + e, a * box[2] + e, d * box[1] + f, d * box[3] + f
            if x1 < x0:
                x0, x1 = x1, x0
            if y1 < y0:
                y0, y1 = y1, y0
            box = (x0, y0, x1, y1)
        else:
            box = transform_box(box, ctm)
        box = clip_box(box, clip)
        if box is None:
            return 0.0, 0.0
        return area(box), math.ceil(box[3]) - math.floor(box[1])


def estimate(
    scene: Scene, scale: float = 1.0, target: str = "raster", quick: bool = False, encoding: str | None = None
) -> Estimate:
    """The estimated work of drawing `scene` to `target` (raster at `scale`, pdf or svg).

    quick=True skips the boxes of paths, text and effect layers, taking each as large as its clip,
    and bounds short paths' edges by their segment count: a looser upper bound of the same
    estimate, faster to compute (the budget check tries it first).  encoding (png, jpeg, webp)
    adds the cost of encoding the raster image."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")
    walk = _Walk(target, quick)
    k = float(scale) if target == "raster" else PDF_DPI_SCALE if target == "pdf" else 1.0
    W, H = scene.width * k, scene.height * k
    if target == "raster":
        walk.est.add("output", area((0, 0, W, H)) * BASE_PX)
    elif target == "svg":
        walk.est.add("output", SVG_DOC)
    walk.group(scene.root, (k, 0.0, 0.0, k, 0.0, 0.0), (0.0, 0.0, W, H), target == "raster")
    for part, units in walk.parts.items():
        walk.est.add(part, units)
    if target == "raster" and encoding is not None:
        smooth, textured = ENCODE_PX.get(encoding.lower().lstrip("."), (0.0, 0.0))
        busy = walk.est.parts.get("noise", 0.0) + walk.est.parts.get("pattern", 0.0) > 0
        walk.est.add("output", area((0, 0, W, H)) * (textured if busy else smooth))
    return walk.est


def check_canvas(width: int, height: int, budgets: Budgets) -> None:
    """E407 (as a DiagnosticsError) when an output of width x height pixels is over the canvas budget."""
    if width * height > budgets.canvas_pixels or max(width, height) > budgets.canvas_side:
        raise DiagnosticsError(
            [
                Diagnostic(
                    "E407",
                    f"output size {width}x{height} is over the canvas budget "
                    f"({budgets.canvas_pixels} pixels, {budgets.canvas_side} per side)",
                    hint="draw at a smaller size or scale",
                )
            ]
        )


def check_work(
    scene: Scene, budgets: Budgets, scale: float = 1.0, target: str = "raster", encoding: str | None = None
) -> Estimate:
    """The estimate, or E411 (as a DiagnosticsError) when it is over budgets.render_work.

    The quick upper bound decides when it is under the budget; the full estimate otherwise."""
    est = estimate(scene, scale, target, quick=True, encoding=encoding)
    if est.total <= budgets.render_work:
        return est
    est = estimate(scene, scale, target, encoding=encoding)
    if not est.total <= budgets.render_work:
        top = est.top()
        share = 100.0 * est.parts.get(top, 0.0) / est.total if est.total > 0 else 100.0
        what = {"raster": "rendering", "pdf": "writing the PDF", "svg": "writing the SVG"}[target]
        hint = HINTS[top] + ("; or draw at a smaller size" if target == "raster" and top != "output" else "")
        raise DiagnosticsError(
            [
                Diagnostic(
                    "E411",
                    f"{what} would take about {est.total:.3g} units of work, over the render-work "
                    f"budget ({budgets.render_work:.3g}); {share:.0f}% of it is {top}",
                    hint=hint,
                )
            ]
        )
    return est


@contextmanager
def faults_as_errors():
    """Turn a RuntimeFault raised while drawing (the deadline's E412) into a DiagnosticsError."""
    try:
        yield
    except RuntimeFault as f:
        raise DiagnosticsError([Diagnostic(f.code, f.message, hint=f.hint)]) from None
