"""Did-you-mean data: names, arguments and functions other languages use, mapped to vdsl's."""
from __future__ import annotations

import difflib
from typing import Iterable

# Argument names from SVG, CSS, p5.js, matplotlib, TikZ, PIL → vdsl's.
ARG_ALIASES = {
    "radius": "r", "rad": "r", "width": "w", "height": "h", "color": "fill", "colour": "fill",
    "fill_color": "fill", "fillcolor": "fill", "fillColor": "fill", "facecolor": "fill", "fc": "fill",
    "background_color": "background", "bg": "background", "bgcolor": "background",
    "stroke_color": "stroke", "strokeColor": "stroke", "edgecolor": "stroke", "ec": "stroke",
    "outline": "stroke", "border": "stroke", "line_color": "stroke",
    "strokeWidth": "stroke_width", "stroke-width": "stroke_width", "linewidth": "stroke_width",
    "lineWidth": "stroke_width", "line_width": "stroke_width", "lw": "stroke_width",
    "thickness": "stroke_width", "weight": "stroke_width", "border_width": "stroke_width",
    "alpha": "opacity", "transparency": "opacity", "angle": "rotate", "rotation": "rotate",
    "pos": "center", "position": "center", "centre": "center", "c": "center", "xy": "center",
    "cx": "center", "cy": "center", "origin": "center", "at": "center",
    "x1": "from", "y1": "from", "x2": "to", "y2": "to", "start": "from", "end": "to", "p1": "from",
    "p2": "to", "a": "from", "b": "to",
    "pts": "points", "vertices": "points", "coords": "points", "xy_list": "points",
    "font_size": "size", "fontSize": "size", "fontsize": "size", "font_weight": "weight",
    "text_anchor": "anchor", "align": "anchor", "textAlign": "anchor", "ha": "anchor",
    "content": "text", "string": "text", "label_text": "text", "s": "text",
    "dasharray": "dash", "stroke_dasharray": "dash", "linestyle": "dash", "dashes": "dash",
    "linecap": "cap", "stroke_linecap": "cap", "linejoin": "join", "stroke_linejoin": "join",
    "rx_ry": "rx", "corner_radius": "r", "rounded": "r", "border_radius": "r", "corner": "r",
    "data": "d", "path": "d", "mode": "blend", "blend_mode": "blend", "composite": "blend",
    "offset": "translate", "move": "translate", "translation": "translate", "rotation_deg": "rotate",
    "sigma": "radius", "amount": "radius", "size_px": "size", "colors_list": "colors",
    "stop_colors": "colors", "offsets": "stops", "left": "x", "top": "y", "x0": "x", "y0": "y",
    "r1": "rx", "r2": "ry", "width_radius": "rx", "height_radius": "ry", "a_": "rx",
    "start_angle": "start", "end_angle": "end", "startAngle": "start", "endAngle": "end",
    "theta1": "start", "theta2": "end",
}

# Function names from other drawing APIs → vdsl's.
FUNCTION_ALIASES = {
    "rectangle": "rect", "square": "rect", "fill_rect": "rect", "fillRect": "rect", "Rectangle": "rect",
    "rounded_rect": "rect", "roundrect": "rect", "oval": "ellipse", "Ellipse": "ellipse",
    "Circle": "circle", "draw_circle": "circle", "drawCircle": "circle", "dot": "circle",
    "triangle": "polygon", "poly": "polygon", "Polygon": "polygon", "quad": "polygon",
    "lines": "polyline", "draw_line": "line", "Line": "line", "segment": "line",
    "curve": "path", "bezier": "path", "beginShape": "polygon", "svg_path": "path", "Path": "path",
    "label": "text", "fillText": "text", "write": "text", "Text": "text", "print": "text",
    "color": "rgb", "colour": "rgb", "rgba": "rgb", "Color": "rgb", "hex": "rgb",
    "translate": "group", "rotate": "group", "scale": "group", "transform": "group", "push": "group",
    "g": "group", "layer": "group", "clip": "clip_rect", "mask": "clip_path",
    "gaussian_blur": "blur", "drop_shadow": "shadow", "dropshadow": "shadow", "neon": "glow",
    "linear_gradient": "linear", "linearGradient": "linear", "LinearGradient": "linear",
    "radial_gradient": "radial", "radialGradient": "radial", "conic": "sweep", "conic_gradient": "sweep",
    "random": "rand", "randrange": "randint", "random_int": "randint", "uniform_int": "randint",
    "normal": "gauss", "gaussian": "gauss", "sample": "choice", "pick": "choice",
    "size": "canvas", "createCanvas": "canvas", "background": "canvas", "setup": "canvas",
    "length": "len", "map": "remap", "constrain": "clamp", "distance": "dist", "toString": "str",
    "radians": "sin", "degrees": "atan2", "pow": "sqrt", "int": "floor", "float": "str",
    "list": "range", "enumerate": "range", "append": "concat", "checkerboard": "checker",
    "polka": "dots", "perlin": "noise", "fractal_noise": "noise", "turbulence": "noise",
}

# Value names from Python, JS, CSS → vdsl's.
NAME_ALIASES = {
    "True": "true", "False": "false", "TRUE": "true", "FALSE": "false", "None": "none",
    "null": "none", "nil": "none", "undefined": "none", "PI": "pi", "Pi": "pi", "M_PI": "pi",
    "TWO_PI": "tau", "TAU": "tau", "WIDTH": "width", "HEIGHT": "height", "W": "width", "H": "height",
}


def did_you_mean(word: str, candidates: Iterable[str], aliases: dict[str, str] | None = None,
                 cutoff: float = 0.6) -> str | None:
    """The best replacement for an unknown word among candidates, or None."""
    cands = list(candidates)
    cset = set(cands)
    if aliases:
        for key in (word, word.lower()):
            target = aliases.get(key)
            if target and target in cset:
                return target
    lower = {c.lower(): c for c in cands}
    if word.lower() in lower:
        return lower[word.lower()]
    m = difflib.get_close_matches(word, cands, n=1, cutoff=cutoff)
    if m:
        return m[0]
    m = difflib.get_close_matches(word.lower(), list(lower), n=1, cutoff=cutoff)
    return lower[m[0]] if m else None
