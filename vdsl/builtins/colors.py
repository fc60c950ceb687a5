"""Colour builtins: the CSS named colours, hex parsing, rgb/hsl constructors and colour arithmetic."""

from __future__ import annotations

import colorsys
import difflib
import functools

from ..types import COLOR, NUMBER
from ..values import Color, RuntimeFault
from . import Param, builtin, constant

# The 148 CSS Color Module Level 4 named colours, plus `none`/`transparent`.
CSS_COLORS = {
    "aliceblue": "f0f8ff",
    "antiquewhite": "faebd7",
    "aqua": "00ffff",
    "aquamarine": "7fffd4",
    "azure": "f0ffff",
    "beige": "f5f5dc",
    "bisque": "ffe4c4",
    "black": "000000",
    "blanchedalmond": "ffebcd",
    "blue": "0000ff",
    "blueviolet": "8a2be2",
    "brown": "a52a2a",
    "burlywood": "deb887",
    "cadetblue": "5f9ea0",
    "chartreuse": "7fff00",
    "chocolate": "d2691e",
    "coral": "ff7f50",
    "cornflowerblue": "6495ed",
    "cornsilk": "fff8dc",
    "crimson": "dc143c",
    "cyan": "00ffff",
    "darkblue": "00008b",
    "darkcyan": "008b8b",
    "darkgoldenrod": "b8860b",
    "darkgray": "a9a9a9",
    "darkgreen": "006400",
    "darkgrey": "a9a9a9",
    "darkkhaki": "bdb76b",
    "darkmagenta": "8b008b",
    "darkolivegreen": "556b2f",
    "darkorange": "ff8c00",
    "darkorchid": "9932cc",
    "darkred": "8b0000",
    "darksalmon": "e9967a",
    "darkseagreen": "8fbc8f",
    "darkslateblue": "483d8b",
    "darkslategray": "2f4f4f",
    "darkslategrey": "2f4f4f",
    "darkturquoise": "00ced1",
    "darkviolet": "9400d3",
    "deeppink": "ff1493",
    "deepskyblue": "00bfff",
    "dimgray": "696969",
    "dimgrey": "696969",
    "dodgerblue": "1e90ff",
    "firebrick": "b22222",
    "floralwhite": "fffaf0",
    "forestgreen": "228b22",
    "fuchsia": "ff00ff",
    "gainsboro": "dcdcdc",
    "ghostwhite": "f8f8ff",
    "gold": "ffd700",
    "goldenrod": "daa520",
    "gray": "808080",
    "green": "008000",
    "greenyellow": "adff2f",
    "grey": "808080",
    "honeydew": "f0fff0",
    "hotpink": "ff69b4",
    "indianred": "cd5c5c",
    "indigo": "4b0082",
    "ivory": "fffff0",
    "khaki": "f0e68c",
    "lavender": "e6e6fa",
    "lavenderblush": "fff0f5",
    "lawngreen": "7cfc00",
    "lemonchiffon": "fffacd",
    "lightblue": "add8e6",
    "lightcoral": "f08080",
    "lightcyan": "e0ffff",
    "lightgoldenrodyellow": "fafad2",
    "lightgray": "d3d3d3",
    "lightgreen": "90ee90",
    "lightgrey": "d3d3d3",
    "lightpink": "ffb6c1",
    "lightsalmon": "ffa07a",
    "lightseagreen": "20b2aa",
    "lightskyblue": "87cefa",
    "lightslategray": "778899",
    "lightslategrey": "778899",
    "lightsteelblue": "b0c4de",
    "lightyellow": "ffffe0",
    "lime": "00ff00",
    "limegreen": "32cd32",
    "linen": "faf0e6",
    "magenta": "ff00ff",
    "maroon": "800000",
    "mediumaquamarine": "66cdaa",
    "mediumblue": "0000cd",
    "mediumorchid": "ba55d3",
    "mediumpurple": "9370db",
    "mediumseagreen": "3cb371",
    "mediumslateblue": "7b68ee",
    "mediumspringgreen": "00fa9a",
    "mediumturquoise": "48d1cc",
    "mediumvioletred": "c71585",
    "midnightblue": "191970",
    "mintcream": "f5fffa",
    "mistyrose": "ffe4e1",
    "moccasin": "ffe4b5",
    "navajowhite": "ffdead",
    "navy": "000080",
    "oldlace": "fdf5e6",
    "olive": "808000",
    "olivedrab": "6b8e23",
    "orange": "ffa500",
    "orangered": "ff4500",
    "orchid": "da70d6",
    "palegoldenrod": "eee8aa",
    "palegreen": "98fb98",
    "paleturquoise": "afeeee",
    "palevioletred": "db7093",
    "papayawhip": "ffefd5",
    "peachpuff": "ffdab9",
    "peru": "cd853f",
    "pink": "ffc0cb",
    "plum": "dda0dd",
    "powderblue": "b0e0e6",
    "purple": "800080",
    "rebeccapurple": "663399",
    "red": "ff0000",
    "rosybrown": "bc8f8f",
    "royalblue": "4169e1",
    "saddlebrown": "8b4513",
    "salmon": "fa8072",
    "sandybrown": "f4a460",
    "seagreen": "2e8b57",
    "seashell": "fff5ee",
    "sienna": "a0522d",
    "silver": "c0c0c0",
    "skyblue": "87ceeb",
    "slateblue": "6a5acd",
    "slategray": "708090",
    "slategrey": "708090",
    "snow": "fffafa",
    "springgreen": "00ff7f",
    "steelblue": "4682b4",
    "tan": "d2b48c",
    "teal": "008080",
    "thistle": "d8bfd8",
    "tomato": "ff6347",
    "turquoise": "40e0d0",
    "violet": "ee82ee",
    "wheat": "f5deb3",
    "white": "ffffff",
    "whitesmoke": "f5f5f5",
    "yellow": "ffff00",
    "yellowgreen": "9acd32",
    "none": "00000000",
    "transparent": "00000000",
}


@functools.lru_cache(maxsize=4096)
def parse_hex(text: str) -> Color | None:
    """`#rgb`, `#rgba`, `#rrggbb` or `#rrggbbaa` (with or without `#`) → Color, else None."""
    h = text[1:] if text.startswith("#") else text
    if len(h) in (3, 4):
        h = "".join(c * 2 for c in h)
    if len(h) not in (6, 8):
        return None
    try:
        v = [int(h[i : i + 2], 16) / 255.0 for i in range(0, len(h), 2)]
    except ValueError:
        return None
    return Color(*v) if len(v) == 4 else Color(v[0], v[1], v[2], 1.0)


def parse_color_text(text: str) -> Color | None:
    """A colour as written in a string: a CSS name or a hex code (never longer than 64 characters)."""
    if len(text) > 64:
        return None
    t = text.strip().lower().replace(" ", "")
    if t in CSS_COLORS:
        return parse_hex(CSS_COLORS[t])
    if t.startswith("#"):
        return parse_hex(t)
    return None


def suggest_color(name: str) -> str | None:
    if len(name) > 64:
        return None
    m = difflib.get_close_matches(name.lower(), list(CSS_COLORS), n=1, cutoff=0.6)
    return m[0] if m else None


for _name, _hex in CSS_COLORS.items():
    constant(_name, COLOR, parse_hex(_hex), f"CSS colour #{_hex}")


def _unit(v: float, scale: float) -> float:
    """Channels: values above 1 are read on the given scale (255 for rgb, 100 for percentages)."""
    return max(0.0, min(1.0, v / scale if v > 1 else v))


@builtin(
    "rgb",
    [
        Param("r", NUMBER, doc="red, 0-255", min=0, max=255),
        Param("g", NUMBER, doc="green, 0-255", min=0, max=255),
        Param("b", NUMBER, doc="blue, 0-255", min=0, max=255),
        Param("a", NUMBER, 1.0, "alpha, 0-1", min=0, max=1),
    ],
    COLOR,
    "A colour from red, green and blue channels (0-255) and alpha (0-1).",
    "colors",
    positional=4,
    example="rgb(255, 128, 0)",
    aliases=("rgba",),
)
def rgb(ctx, r, g, b, a):
    return Color(
        max(0.0, min(1.0, r / 255)), max(0.0, min(1.0, g / 255)), max(0.0, min(1.0, b / 255)), max(0.0, min(1.0, a))
    )


@builtin(
    "hsl",
    [
        Param("h", NUMBER, doc="hue in degrees"),
        Param("s", NUMBER, doc="saturation, 0-100%", min=0, max=100),
        Param("l", NUMBER, doc="lightness, 0-100%", min=0, max=100),
        Param("a", NUMBER, 1.0, "alpha, 0-1", min=0, max=1),
    ],
    COLOR,
    "A colour from hue (degrees), saturation and lightness (percentages such as 80%, "
    "or numbers 0-100), and alpha (0-1).",
    "colors",
    positional=4,
    example="hsl(200, 80%, 50%)",
    aliases=("hsla",),
)
def hsl(ctx, h, s, l, a):
    r, g, b = colorsys.hls_to_rgb((h % 360) / 360.0, _unit(l, 100), _unit(s, 100))
    return Color(r, g, b, max(0.0, min(1.0, a)))


@builtin(
    "gray",
    [
        Param("v", NUMBER, doc="brightness, 0 (black) to 1 (white)", min=0, max=255),
        Param("a", NUMBER, 1.0, min=0, max=1),
    ],
    COLOR,
    "A gray with brightness 0-1 (values above 1 are read as 0-255).",
    "colors",
    positional=2,
    example="gray(0.5)",
    aliases=("grey",),
)
def gray(ctx, v, a):
    x = _unit(v, 255)
    return Color(x, x, x, max(0.0, min(1.0, a)))


@builtin(
    "with_alpha",
    [Param("color", COLOR), Param("a", NUMBER, doc="alpha, 0-1", min=0, max=1)],
    COLOR,
    "The colour with its alpha replaced.",
    "colors",
    positional=2,
    example="with_alpha(red, 0.5)",
    aliases=("alpha",),
)
def with_alpha(ctx, color, a):
    return Color(color.r, color.g, color.b, max(0.0, min(1.0, a)))


@builtin(
    "mix",
    [Param("a", COLOR), Param("b", COLOR), Param("t", NUMBER, 0.5, "0 gives a, 1 gives b", min=0, max=1)],
    COLOR,
    "Linear blend of two colours.",
    "colors",
    positional=3,
    example="mix(red, blue, 0.25)",
)
def mix(ctx, a, b, t):
    t = max(0.0, min(1.0, t))
    return Color(*(x + (y - x) * t for x, y in zip(a, b)))


def _shift_lightness(c: Color, amount: float) -> Color:
    h, l, s = colorsys.rgb_to_hls(c.r, c.g, c.b)
    r, g, b = colorsys.hls_to_rgb(h, max(0.0, min(1.0, l + amount)), s)
    return Color(r, g, b, c.a)


@builtin(
    "lighten",
    [Param("color", COLOR), Param("amount", NUMBER, 0.2, "0-1 of lightness", min=0, max=1)],
    COLOR,
    "The colour made lighter (HSL lightness + amount).",
    "colors",
    positional=2,
    example="lighten(brown, 0.2)",
)
def lighten(ctx, color, amount):
    return _shift_lightness(color, amount)


@builtin(
    "darken",
    [Param("color", COLOR), Param("amount", NUMBER, 0.2, "0-1 of lightness", min=0, max=1)],
    COLOR,
    "The colour made darker (HSL lightness - amount).",
    "colors",
    positional=2,
    example="darken(green, 0.3)",
)
def darken(ctx, color, amount):
    return _shift_lightness(color, -amount)


@builtin(
    "hue_shift",
    [Param("color", COLOR), Param("degrees", NUMBER)],
    COLOR,
    "The colour with its hue rotated.",
    "colors",
    positional=2,
    example="hue_shift(red, 40)",
)
def hue_shift(ctx, color, degrees):
    h, l, s = colorsys.rgb_to_hls(color.r, color.g, color.b)
    r, g, b = colorsys.hls_to_rgb((h + degrees / 360.0) % 1.0, l, s)
    return Color(r, g, b, color.a)


def require_color(text: str) -> Color:
    c = parse_color_text(text)
    if c is None:
        s = suggest_color(text)
        raise RuntimeFault(
            "E216",
            f'unknown colour "{text}"',
            f"did you mean {s}?" if s else "use a CSS colour name (red, steelblue, ...) or hex like #ff8800",
        )
    return c
