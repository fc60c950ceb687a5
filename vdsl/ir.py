"""Scene IR: the evaluated, JSON-serialisable scene graph that every backend draws.

Nodes are immutable by convention (never modified after creation; derive with dataclasses.replace)
and hashable by value. They are not `frozen` dataclasses only because frozen ones take ~5x longer
to create, and the evaluator creates several per shape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, asdict
from typing import Any

# A colour is (r, g, b, a), each a float in [0, 1] (straight, not premultiplied alpha).
RGBA = tuple[float, float, float, float]
# An affine transform (a, b, c, d, e, f) mapping (x, y) -> (a*x + c*y + e, b*x + d*y + f),
# the SVG `matrix(a b c d e f)` convention.
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

# Path segments, absolute coordinates only (the path-data parser normalises
# relative forms, H/V, S/T shorthands):
#   ("M", x, y) ("L", x, y) ("C", x1, y1, x2, y2, x, y) ("Q", x1, y1, x, y)
#   ("A", rx, ry, x_axis_rotation, large_arc(0|1), sweep(0|1), x, y) ("Z",)
Segment = tuple


# ---------------------------------------------------------------- paints
@dataclass(unsafe_hash=True)
class Solid:
    rgba: RGBA
    type: str = "solid"


@dataclass(unsafe_hash=True)
class Stop:
    offset: float  # 0..1
    rgba: RGBA


@dataclass(unsafe_hash=True)
class LinearGradient:
    start: tuple[float, float]
    end: tuple[float, float]
    stops: tuple[Stop, ...]
    type: str = "linear"


@dataclass(unsafe_hash=True)
class RadialGradient:
    center: tuple[float, float]
    radius: float
    stops: tuple[Stop, ...]
    type: str = "radial"


@dataclass(unsafe_hash=True)
class SweepGradient:
    center: tuple[float, float]
    start_angle: float  # degrees, clockwise from +x (y down)
    stops: tuple[Stop, ...]
    type: str = "sweep"


@dataclass(unsafe_hash=True)
class Pattern:
    """A repeating tile pattern. kind is one of:
    stripes  (colors=[a, b], size=stripe width, angle)
    dots     (colors=[dot, background], size=spacing, radius)
    checker  (colors=[a, b], size=cell size, angle)
    grid     (colors=[line, background], size=cell size, width=line width)
    """

    kind: str
    colors: tuple[RGBA, ...]
    size: float
    angle: float = 0.0
    radius: float = 0.0
    width: float = 0.0
    type: str = "pattern"


@dataclass(unsafe_hash=True)
class Noise:
    """Perlin noise mapped between two colours (SVG feTurbulence semantics).
    kind: "fractal" or "turbulence"; freq: base frequency per pixel (x, y)."""

    kind: str
    freq: tuple[float, float]
    octaves: int
    seed: int
    colors: tuple[RGBA, RGBA]
    type: str = "noise"


Paint = Solid | LinearGradient | RadialGradient | SweepGradient | Pattern | Noise


@dataclass(unsafe_hash=True)
class Stroke:
    paint: Paint
    width: float = 1.0
    dash: tuple[float, ...] = ()
    cap: str = "butt"  # butt | round | square
    join: str = "miter"  # miter | round | bevel


# ---------------------------------------------------------------- geometry
@dataclass(unsafe_hash=True)
class RectGeom:
    x: float
    y: float
    w: float
    h: float
    rx: float = 0.0
    ry: float = 0.0
    kind: str = "rect"


@dataclass(unsafe_hash=True)
class EllipseGeom:
    cx: float
    cy: float
    rx: float
    ry: float
    kind: str = "ellipse"


@dataclass(unsafe_hash=True)
class PathGeom:
    segments: tuple[Segment, ...]
    fill_rule: str = "nonzero"  # nonzero | evenodd
    kind: str = "path"


@dataclass(unsafe_hash=True)
class TextGeom:
    text: str
    x: float
    y: float  # baseline
    size: float
    anchor: str = "start"  # start | middle | end
    weight: str = "regular"  # regular | bold | light | medium | black | thin
    italic: bool = False
    kind: str = "text"


Geometry = RectGeom | EllipseGeom | PathGeom | TextGeom


# ---------------------------------------------------------------- nodes
@dataclass(unsafe_hash=True)
class Shape:
    geom: Geometry
    fill: Paint | None = None
    stroke: Stroke | None = None
    opacity: float = 1.0
    blend: str = "normal"
    transform: Matrix | None = None
    label: str | None = None
    node: str = "shape"


@dataclass(unsafe_hash=True)
class Effect:
    """A group effect. kind:
    blur   (radius)
    shadow (dx, dy, radius, rgba): a blurred, offset copy under the content
    glow   (radius, rgba): a blurred, tinted copy of the content under it, no offset
    """

    kind: str
    radius: float = 0.0
    dx: float = 0.0
    dy: float = 0.0
    rgba: RGBA = (0.0, 0.0, 0.0, 1.0)


@dataclass(unsafe_hash=True)
class Group:
    children: tuple["Node", ...] = ()
    transform: Matrix | None = None
    opacity: float = 1.0
    blend: str = "normal"
    # The one clip form: a path in the group's own (transformed) coordinates; content outside it is not
    # drawn. clip_rect/clip_circle/clip_path give it directly; a `clip` block's clip_shape shapes (their
    # united fill outlines, inverted for clip(invert=true)) and a `cutout` (what came before it in its
    # block, wrapped in a group clipped to everything outside the hole) are turned into it while the
    # program runs (vdsl/outline.py), so readers of the IR (backends, masks) handle only this.
    clip: PathGeom | None = None
    effects: tuple[Effect, ...] = ()
    label: str | None = None
    node: str = "group"


Node = Shape | Group

BLEND_MODES = (
    "normal",
    "multiply",
    "screen",
    "overlay",
    "darken",
    "lighten",
    "color-dodge",
    "color-burn",
    "hard-light",
    "soft-light",
    "difference",
    "exclusion",
    "hue",
    "saturation",
    "color",
    "luminosity",
    "plus",
)


@dataclass(unsafe_hash=True)
class Scene:
    width: int
    height: int
    background: RGBA | None
    root: Group = field(default_factory=Group)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def iter_shapes(self):
        """Yield (shape, ancestors) for every shape, depth first, in paint order."""
        stack: list[tuple[Node, tuple[Group, ...]]] = [(self.root, ())]
        while stack:
            node, anc = stack.pop()
            if isinstance(node, Group):
                for child in reversed(node.children):
                    stack.append((child, anc + (node,)))
            else:
                yield node, anc


def multiply(m: Matrix, n: Matrix) -> Matrix:
    """Return m·n: apply n first, then m."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + c * B, b * A + d * B, a * C + c * D, b * C + d * D, a * E + c * F + e, b * E + d * F + f)
