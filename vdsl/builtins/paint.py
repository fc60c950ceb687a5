"""Paint builtins: linear, radial and sweep gradients, tiled patterns and fractal noise."""

from __future__ import annotations

from .. import ir
from ..types import COLOR, NUMBER, PAINT, POINT, STRING, list_of
from ..values import Color, Point, RuntimeFault
from . import Param, builtin, per_item

COLORS = list_of(COLOR)
OFFSETS = list_of(NUMBER)


def _stops(colors: list, offsets: list) -> tuple[ir.Stop, ...]:
    if len(colors) < 2:
        raise RuntimeFault("E301", "a gradient needs at least 2 colours", "pass a list like [red, blue]")
    if len(colors) > 64:
        raise RuntimeFault("E301", "a gradient takes at most 64 colours")
    if offsets:
        if len(offsets) != len(colors):
            raise RuntimeFault(
                "E301",
                f"{len(offsets)} stops for {len(colors)} colours",
                "give one stop offset (0-1) per colour, or none for even spacing",
            )
        offs = [max(0.0, min(1.0, o)) for o in offsets]
        offs = [max(offs[: i + 1]) for i in range(len(offs))]  # never decreasing
    else:
        offs = [i / (len(colors) - 1) for i in range(len(colors))]
    return tuple(ir.Stop(o, tuple(c)) for o, c in zip(offs, colors))


@builtin(
    "linear",
    [
        Param("start", POINT),
        Param("end", POINT),
        Param("colors", COLORS),
        Param("stops", OFFSETS, [], "offsets 0-1, one per colour", min=0, max=1),
    ],
    PAINT,
    "A linear gradient from start to end (canvas coordinates).",
    "paint",
    positional=4,
    example="linear((0, 0), (0, 512), [skyblue, white])",
    cost=per_item("colors", "stops"),
)
def linear(ctx, start, end, colors, stops):
    return ir.LinearGradient(tuple(start), tuple(end), _stops(colors, stops))


@builtin(
    "radial",
    [
        Param("center", POINT),
        Param("r", NUMBER, min=0),
        Param("colors", COLORS),
        Param("stops", OFFSETS, [], min=0, max=1),
    ],
    PAINT,
    "A radial gradient from center (first colour) out to radius r (last colour).",
    "paint",
    positional=4,
    example="radial((256, 256), 200, [white, gold, orange])",
    cost=per_item("colors", "stops"),
)
def radial(ctx, center, r, colors, stops):
    return ir.RadialGradient(tuple(center), max(r, 1e-3), _stops(colors, stops))


@builtin(
    "sweep",
    [
        Param("center", POINT),
        Param("colors", COLORS),
        Param("start", NUMBER, 0.0, "degrees"),
        Param("stops", OFFSETS, [], min=0, max=1),
    ],
    PAINT,
    "A conic (sweep) gradient around center, clockwise from angle start.",
    "paint",
    positional=2,
    example="sweep((256, 256), [red, yellow, lime, cyan, blue, magenta, red])",
    cost=per_item("colors", "stops"),
)
def sweep(ctx, center, colors, start, stops):
    return ir.SweepGradient(tuple(center), start, _stops(colors, stops))


def _pattern(kind, color, background, size, **kw):
    if size <= 0.5:
        raise RuntimeFault("E301", f"{kind} size must be more than 0.5 pixels")
    return ir.Pattern(kind, (tuple(color), tuple(background)), float(size), **kw)


@builtin(
    "stripes",
    [
        Param("color", COLOR, Color(0, 0, 0, 1)),
        Param("background", COLOR, Color(1, 1, 1, 1)),
        Param("width", NUMBER, 8.0, "stripe width in pixels", min=0.5),
        Param("angle", NUMBER, 45.0, unit="degrees across the stripes: 0 = vertical stripes, 90 = horizontal"),
    ],
    PAINT,
    "Parallel stripes of two colours, each `width` wide, at an angle (0 = vertical stripes).",
    "paint",
    example="stripes(color=navy, background=white, width=6, angle=0)",
)
def stripes(ctx, color, background, width, angle):
    return _pattern("stripes", color, background, width, angle=angle)


@builtin(
    "dots",
    [
        Param("color", COLOR, Color(0, 0, 0, 1)),
        Param("background", COLOR, Color(1, 1, 1, 1)),
        Param("spacing", NUMBER, 12.0, min=0.5),
        Param("r", NUMBER, 3.0, "dot radius", min=0),
        Param("angle", NUMBER, 0.0, unit="degrees the pattern is turned"),
    ],
    PAINT,
    "A grid of dots (polka dots).",
    "paint",
    example="dots(color=white, background=red, spacing=20, r=5)",
)
def dots(ctx, color, background, spacing, r, angle):
    return _pattern("dots", color, background, spacing, radius=max(0.0, r), angle=angle)


@builtin(
    "checker",
    [
        Param("color", COLOR, Color(0, 0, 0, 1)),
        Param("background", COLOR, Color(1, 1, 1, 1)),
        Param("size", NUMBER, 16.0, "cell size", min=0.5),
        Param("angle", NUMBER, 0.0, unit="degrees the pattern is turned"),
    ],
    PAINT,
    "A checkerboard of two colours.",
    "paint",
    example="checker(color=black, background=white, size=32)",
)
def checker(ctx, color, background, size, angle):
    return _pattern("checker", color, background, size, angle=angle)


@builtin(
    "grid",
    [
        Param("color", COLOR, Color(0, 0, 0, 1)),
        Param("background", COLOR, Color(1, 1, 1, 1)),
        Param("size", NUMBER, 16.0, "cell size", min=0.5),
        Param("width", NUMBER, 1.0, "line width", min=0),
        Param("angle", NUMBER, 0.0, unit="degrees the pattern is turned"),
    ],
    PAINT,
    "Grid lines over a background (tiles, graph paper, windows).",
    "paint",
    example="grid(color=gray, background=white, size=20, width=2)",
)
def grid(ctx, color, background, size, width, angle):
    return _pattern("grid", color, background, size, width=max(0.0, width), angle=angle)


@builtin(
    "noise",
    [
        Param("color", COLOR, Color(0, 0, 0, 1)),
        Param("background", COLOR, Color(1, 1, 1, 1)),
        Param("frequency", NUMBER, 0.02, "base frequency per pixel; larger is finer", min=0.0001, max=2.0),
        Param("octaves", NUMBER, 4.0, "layers of detail, 1-8", min=1, max=8, integer=True),
        Param("kind", STRING, "fractal", choices=("fractal", "turbulence")),
        Param("seed", NUMBER, None, "noise seed; by default drawn from the program's seed"),
    ],
    PAINT,
    "Perlin fractal noise (or turbulence) between two colours: clouds, stone, wood grain, water.",
    "paint",
    example="noise(color=darkgreen, background=olive, frequency=0.05)",
)
def noise(ctx, color, background, frequency, octaves, kind, seed):
    s = int(ctx.rng.random() * 1_000_000) if seed is None else int(seed) % 1_000_000
    return ir.Noise(kind, (frequency, frequency), int(octaves), s, (tuple(color), tuple(background)))


__all__ = ["Point"]
