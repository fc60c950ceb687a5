"""Translate IR paints, strokes, blend modes and effects into skia Paints, shaders and image filters."""

# Conventions shared with the SVG backend (svg.py must agree):
# * Blur-like effects use a Gaussian with sigma = radius / 2.
# * Patterns are anchored at the user-space origin (0, 0) of the shape that uses
#   them and rotated clockwise by `angle` degrees about that origin.
#     stripes: bands `size` wide, colors[0] then colors[1], alternating along x.
#     dots:    one dot of `radius` (size/4 when 0) per size x size cell, centred in
#              the cell, colors[0] on colors[1].
#     checker: size x size cells, colors[0] in the cell at the origin.
#     grid:    lines `width` wide (1 when 0) centred on multiples of `size`,
#              colors[0] on colors[1].
#   A missing colour is transparent.
# * Noise is SVG feTurbulence (Skia's Perlin shader is a port of it) whose red
#   channel t maps each channel linearly: colors[0] + t * (colors[1] - colors[0]).
# * Glow: the content's alpha tinted with rgba, dilated by radius/2, blurred with
#   sigma = radius/2, drawn twice (to make it visibly glow) under the content.
from __future__ import annotations

import functools
import math

import skia

from ..ir import Effect, LinearGradient, Noise, Paint, Pattern, RadialGradient, Solid, Stop, Stroke, SweepGradient, RGBA

TRANSPARENT: RGBA = (0.0, 0.0, 0.0, 0.0)

_BLEND = {
    "normal": skia.BlendMode.kSrcOver,
    "multiply": skia.BlendMode.kMultiply,
    "screen": skia.BlendMode.kScreen,
    "overlay": skia.BlendMode.kOverlay,
    "darken": skia.BlendMode.kDarken,
    "lighten": skia.BlendMode.kLighten,
    "color-dodge": skia.BlendMode.kColorDodge,
    "color-burn": skia.BlendMode.kColorBurn,
    "hard-light": skia.BlendMode.kHardLight,
    "soft-light": skia.BlendMode.kSoftLight,
    "difference": skia.BlendMode.kDifference,
    "exclusion": skia.BlendMode.kExclusion,
    "hue": skia.BlendMode.kHue,
    "saturation": skia.BlendMode.kSaturation,
    "color": skia.BlendMode.kColor,
    "luminosity": skia.BlendMode.kLuminosity,
    "plus": skia.BlendMode.kPlus,
}
_CAP = {"butt": skia.Paint.kButt_Cap, "round": skia.Paint.kRound_Cap, "square": skia.Paint.kSquare_Cap}
_JOIN = {"miter": skia.Paint.kMiter_Join, "round": skia.Paint.kRound_Join, "bevel": skia.Paint.kBevel_Join}


def _unit(v: float) -> float:
    v = float(v)
    if not math.isfinite(v):
        return 0.0
    return 0.0 if v < 0.0 else 1.0 if v > 1.0 else v


def clamp_rgba(rgba) -> RGBA:
    """Clamp a colour into [0, 1] per channel (NaN -> 0)."""
    return tuple(_unit(c) for c in rgba)  # type: ignore[return-value]


def color4f(rgba) -> skia.Color4f:
    r, g, b, a = clamp_rgba(rgba)
    return skia.Color4f(r, g, b, a)


def color_int(rgba) -> int:
    """A 32-bit ARGB int (straight alpha), rounding each channel."""
    r, g, b, a = clamp_rgba(rgba)
    return skia.ColorSetARGB(round(a * 255), round(r * 255), round(g * 255), round(b * 255))


def blend_mode(name: str) -> skia.BlendMode:
    return _BLEND.get(name, skia.BlendMode.kSrcOver)


def sigma(radius: float) -> float:
    """The Gaussian standard deviation used for a blur/shadow/glow radius."""
    return max(0.0, float(radius)) / 2.0


# A glow is two tinted, blurred copies of the content under it: a wide soft halo (sigma = radius/2)
# and a tight bright one (sigma = radius/6), each with its alpha multiplied by a gain (then clamped).
GLOW_HALOS = ((0.5, 2.5), (1 / 6, 2.0))  # (sigma as a fraction of the radius, alpha gain)


def clean_stops(stops: tuple[Stop, ...]) -> list[tuple[float, RGBA]]:
    """Stops with offsets clamped to [0, 1] and made non-decreasing (SVG rules)."""
    out: list[tuple[float, RGBA]] = []
    last = 0.0
    for s in stops:
        off = max(last, _unit(s.offset))
        out.append((off, clamp_rgba(s.rgba)))
        last = off
    return out


def pattern_colors(p: Pattern) -> tuple[RGBA, RGBA]:
    cols = [clamp_rgba(c) for c in p.colors[:2]]
    while len(cols) < 2:
        cols.append(TRANSPARENT)
    return cols[0], cols[1]


def pattern_tile(p: Pattern) -> tuple[float, float, list[tuple[str, RGBA, tuple[float, ...]]]]:
    """The pattern tile: (width, height, [(kind, rgba, params)]) with kind rect(x, y, w, h) or
    circle(cx, cy, r), painted in order.  Used by both the Skia and the SVG backends."""
    a, b = pattern_colors(p)
    s = float(p.size)
    if p.kind == "stripes":
        return 2 * s, 2 * s, [("rect", b, (0, 0, 2 * s, 2 * s)), ("rect", a, (0, 0, s, 2 * s))]
    if p.kind == "dots":
        r = float(p.radius) if p.radius > 0 else s / 4
        r = min(r, s / 2)
        return s, s, [("rect", b, (0, 0, s, s)), ("circle", a, (s / 2, s / 2, r))]
    if p.kind == "checker":
        return 2 * s, 2 * s, [("rect", b, (0, 0, 2 * s, 2 * s)), ("rect", a, (0, 0, s, s)), ("rect", a, (s, s, s, s))]
    if p.kind == "grid":
        w = float(p.width) if p.width > 0 else 1.0
        h = min(w / 2, s / 2)
        return (
            s,
            s,
            [
                ("rect", b, (0, 0, s, s)),
                ("rect", a, (0, 0, s, h)),
                ("rect", a, (0, s - h, s, h)),
                ("rect", a, (0, 0, h, s)),
                ("rect", a, (s - h, 0, h, s)),
            ],
        )
    # unknown kind: a flat fill with the first colour
    return s, s, [("rect", a, (0, 0, s, s))]


def average_color(paint: Paint) -> RGBA:
    """A single colour standing in for a paint (used where a format cannot express it)."""
    if isinstance(paint, Solid):
        return clamp_rgba(paint.rgba)
    if isinstance(paint, (LinearGradient, RadialGradient, SweepGradient)):
        stops = clean_stops(paint.stops)
        if not stops:
            return TRANSPARENT
        # integrate the piecewise-linear ramp over [0, 1] (clamped ends)
        pts = [(0.0, stops[0][1])] + stops + [(1.0, stops[-1][1])]
        acc = [0.0, 0.0, 0.0, 0.0]
        for (o0, c0), (o1, c1) in zip(pts, pts[1:]):
            w = max(0.0, o1 - o0)
            for i in range(4):
                acc[i] += w * (c0[i] + c1[i]) / 2
        return tuple(acc)  # type: ignore[return-value]
    if isinstance(paint, Pattern):
        a, b = pattern_colors(paint)
        return tuple((x + y) / 2 for x, y in zip(a, b))  # type: ignore[return-value]
    if isinstance(paint, Noise):
        a, b = (clamp_rgba(c) for c in paint.colors[:2])
        return tuple((x + y) / 2 for x, y in zip(a, b))  # type: ignore[return-value]
    return TRANSPARENT


def noise_matrix(c0: RGBA, c1: RGBA) -> list[float]:
    """A 4x5 row-major colour matrix mapping the red channel t to c0 + t*(c1 - c0) (0..1 units)."""
    rows: list[float] = []
    for i in range(4):
        rows += [c1[i] - c0[i], 0.0, 0.0, 0.0, c0[i]]
    return rows


# ---------------------------------------------------------------- shaders
def _gradient_shader(paint) -> skia.Shader | RGBA | None:
    stops = clean_stops(paint.stops)
    if not stops:
        return None
    if len(stops) == 1:
        return stops[0][1]
    colors = [color_int(c) for _, c in stops]
    pos = [o for o, _ in stops]
    if isinstance(paint, LinearGradient):
        (x0, y0), (x1, y1) = paint.start, paint.end
        if x0 == x1 and y0 == y1:
            return stops[-1][1]  # SVG: a zero-length gradient paints its last stop
        return skia.GradientShader.MakeLinear(
            [skia.Point(x0, y0), skia.Point(x1, y1)], colors, pos, skia.TileMode.kClamp
        )
    if isinstance(paint, RadialGradient):
        if paint.radius <= 0:
            return stops[-1][1]
        cx, cy = paint.center
        return skia.GradientShader.MakeRadial(
            skia.Point(cx, cy), float(paint.radius), colors, pos, skia.TileMode.kClamp
        )
    cx, cy = paint.center
    lm = skia.Matrix.RotateDeg(float(paint.start_angle), skia.Point(cx, cy))
    return skia.GradientShader.MakeSweep(cx, cy, colors, pos, skia.TileMode.kClamp, 0, 360, 0, lm)


def _cached(fn):
    """lru_cache that tolerates unhashable (list-carrying) IR values by skipping the cache."""
    cached = functools.lru_cache(maxsize=256)(fn)

    def call(value):
        try:
            return cached(value)
        except TypeError:
            return fn(value)

    return call


@_cached
def _pattern_shader(p: Pattern) -> skia.Shader | RGBA:
    if not (p.size > 0 and math.isfinite(p.size)):
        return average_color(p)
    tw, th, items = pattern_tile(p)
    rec = skia.PictureRecorder()
    c = rec.beginRecording(skia.Rect.MakeWH(tw, th))
    tile_paint = skia.Paint(AntiAlias=True)
    for kind, rgba, prm in items:
        tile_paint.setColor4f(color4f(rgba))
        if kind == "rect":
            c.drawRect(skia.Rect.MakeXYWH(*prm), tile_paint)
        else:
            c.drawCircle(prm[0], prm[1], prm[2], tile_paint)
    pic = rec.finishRecordingAsPicture()
    lm = skia.Matrix.RotateDeg(float(p.angle))
    return pic.makeShader(
        skia.TileMode.kRepeat, skia.TileMode.kRepeat, skia.FilterMode.kLinear, lm, skia.Rect.MakeWH(tw, th)
    )


@_cached
def _noise_shader(n: Noise) -> skia.Shader:
    fx, fy = (max(0.0, float(f)) for f in n.freq)
    octaves = max(1, min(int(n.octaves), 10))
    make = skia.PerlinNoiseShader.MakeTurbulence if n.kind == "turbulence" else skia.PerlinNoiseShader.MakeFractalNoise
    base = make(fx, fy, octaves, float(n.seed))
    cols = [clamp_rgba(c) for c in n.colors[:2]]
    while len(cols) < 2:
        cols.append(TRANSPARENT)
    return base.makeWithColorFilter(skia.ColorFilters.Matrix(noise_matrix(cols[0], cols[1])))


def set_paint(sk: skia.Paint, paint: Paint, opacity: float = 1.0) -> bool:
    """Set colour/shader of `sk` from an IR paint, multiplying alpha by opacity.
    Returns False when the paint draws nothing."""
    op = _unit(opacity)
    src: skia.Shader | RGBA | None
    if isinstance(paint, Solid):
        src = clamp_rgba(paint.rgba)
    elif isinstance(paint, (LinearGradient, RadialGradient, SweepGradient)):
        src = _gradient_shader(paint)
    elif isinstance(paint, Pattern):
        src = _pattern_shader(paint)
    elif isinstance(paint, Noise):
        src = _noise_shader(paint)
    else:
        src = None
    if src is None:
        return False
    if isinstance(src, tuple):
        r, g, b, a = src
        if a * op <= 0:
            return False
        sk.setColor4f(skia.Color4f(r, g, b, a * op))
        return True
    sk.setShader(src)
    sk.setAlphaf(op)
    return op > 0


# Scenes repeat the same few paints; building a skia.Paint costs more than finding it again.
# The cached Paints are never modified after creation.
_PAINTS: dict = {}


def _memo(kind: str, key, build):
    k = (kind, key)
    try:
        return _PAINTS[k]
    except KeyError:
        pass
    except TypeError:  # an unhashable paint (never produced by the evaluator): build it each time
        return build()
    if len(_PAINTS) > 4096:
        _PAINTS.clear()
    value = _PAINTS[k] = build()
    return value


def fill_paint(paint: Paint, opacity: float, blend: str) -> skia.Paint | None:
    return _memo("fill", (paint, opacity, blend), lambda: _fill_paint(paint, opacity, blend))


def _fill_paint(paint: Paint, opacity: float, blend: str) -> skia.Paint | None:
    sk = skia.Paint(AntiAlias=True)
    if not set_paint(sk, paint, opacity):
        return None
    sk.setBlendMode(blend_mode(blend))
    return sk


def dash_intervals(dash: tuple[float, ...]) -> list[float] | None:
    """SVG stroke-dasharray rules: odd lists repeat; negative or all-zero lists mean solid."""
    vals = [float(d) for d in dash]
    if not vals or any(not math.isfinite(d) or d < 0 for d in vals) or sum(vals) <= 0:
        return None
    if len(vals) % 2:
        vals = vals * 2
    return vals


def stroke_paint(stroke: Stroke, opacity: float, blend: str) -> skia.Paint | None:
    return _memo("stroke", (stroke, opacity, blend), lambda: _stroke_paint(stroke, opacity, blend))


def _stroke_paint(stroke: Stroke, opacity: float, blend: str) -> skia.Paint | None:
    if not (stroke.width > 0 and math.isfinite(stroke.width)):
        return None
    sk = skia.Paint(AntiAlias=True)
    if not set_paint(sk, stroke.paint, opacity):
        return None
    sk.setStyle(skia.Paint.kStroke_Style)
    sk.setStrokeWidth(float(stroke.width))
    sk.setStrokeCap(_CAP.get(stroke.cap, skia.Paint.kButt_Cap))
    sk.setStrokeJoin(_JOIN.get(stroke.join, skia.Paint.kMiter_Join))
    sk.setStrokeMiter(4.0)
    iv = dash_intervals(stroke.dash)
    if iv:
        effect = skia.DashPathEffect.Make(iv, 0.0)
        if effect is not None:  # Skia declines absurd intervals (e.g. 1e308): draw solid
            sk.setPathEffect(effect)
    sk.setBlendMode(blend_mode(blend))
    return sk


# ---------------------------------------------------------------- effects
def effect_filter(effects: tuple[Effect, ...]) -> skia.ImageFilter | None:
    """Chain the effects in order; each one's input is the previous one's output."""
    f: skia.ImageFilter | None = None
    for e in effects:
        s = sigma(e.radius)
        if e.kind == "blur":
            if s > 0:
                f = skia.ImageFilters.Blur(s, s, skia.TileMode.kDecal, f)
        elif e.kind == "shadow":
            f = skia.ImageFilters.DropShadow(float(e.dx), float(e.dy), s, s, color_int(e.rgba), f)
        elif e.kind == "glow":
            # Blurs only: cost does not grow with the radius the way a dilation would.
            tint = skia.ImageFilters.ColorFilter(skia.ColorFilters.Blend(color_int(e.rgba), skia.BlendMode.kSrcIn), f)
            halos = []
            for frac, gain in GLOW_HALOS:
                hs = max(0.0, float(e.radius)) * frac
                halo = skia.ImageFilters.Blur(hs, hs, skia.TileMode.kDecal, tint) if hs > 0 else tint
                matrix = [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, gain, 0]
                halos.append(skia.ImageFilters.ColorFilter(skia.ColorFilters.Matrix(matrix), halo))
            f = skia.ImageFilters.Merge(halos + [f])
    return f
