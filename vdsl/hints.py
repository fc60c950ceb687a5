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
    "pos": ("center", "at"), "position": ("center", "at"), "centre": "center", "c": "center",
    "xy": ("center", "at"), "cx": ("center", "at"), "cy": ("center", "at"), "origin": "center",
    "at": "center", "x": ("center", "at"), "y": ("center", "at"), "rx": "r", "ry": "r", "r": "rx",
    "radius_x": "rx", "radius_y": "ry", "text_align": "anchor", "textAnchor": "anchor",
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
    "node": "text", "draw": "path", "fill_path": "path", "Point": "pt", "point": "pt", "vec2": "pt", "vec": "pt", "Vector": "pt", "Vector2": "pt",
    "createVector": "pt", "PVector": "pt", "make_point": "pt",
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


# Words from other languages that parse as names in vdsl, and what to write instead.
FOREIGN_NAMES = {
    "new": "vdsl has no `new`: call the function directly, e.g. pt(1, 2)",
    "this": "vdsl has no objects; pass values to `def` parameters",
    "self": "vdsl has no objects; pass values to `def` parameters",
    "undefined": "vdsl has no undefined; use `none` for no paint",
    "NaN": "vdsl numbers are always finite",
    "nan": "vdsl numbers are always finite",
    "inf": "vdsl numbers are always finite; use a large number such as 1e6",
    "Infinity": "vdsl numbers are always finite; use a large number such as 1e6",
}

# Arguments with no vdsl counterpart, and what to do instead.
ARG_HINTS = {
    "font": "text uses the bundled Roboto font; choose `weight=` (\"bold\", ...) and `italic=`",
    "font_family": "text uses the bundled Roboto font; choose `weight=` (\"bold\", ...) and `italic=`",
    "fontFamily": "text uses the bundled Roboto font; choose `weight=` (\"bold\", ...) and `italic=`",
    "transform": "wrap the shapes in group(translate=(x, y), rotate=a, scale=s) { ... }",
    "style": "pass the style as arguments: fill=..., stroke=..., stroke_width=...",
    "closed": "use polygon(points=...) for a closed shape and polyline(points=...) for an open one",
    "close": "use polygon(points=...) for a closed shape and polyline(points=...) for an open one",
}

# p5.js / Processing / canvas calls that set drawing state; vdsl passes style to each shape.
STATE_CALLS = {
    "fill": "pass `fill=` to each shape, e.g. circle(center=(256, 256), r=50, fill=rgb(255, 0, 0))",
    "noFill": "pass `fill=none` to the shape",
    "stroke": "pass `stroke=` to each shape, e.g. rect(x=0, y=0, w=50, h=50, stroke=black)",
    "noStroke": "shapes have no stroke unless you pass `stroke=`; nothing to call",
    "strokeWeight": "pass `stroke_width=` to each shape",
    "lineWidth": "pass `stroke_width=` to each shape",
    "setLineWidth": "pass `stroke_width=` to each shape",
    "set_color": "pass `fill=` or `stroke=` to each shape",
    "setColor": "pass `fill=` or `stroke=` to each shape",
    "textSize": "pass `size=` to text(...)",
    "textAlign": "pass `anchor=\"middle\"` (or \"start\", \"end\") to text(...)",
    "push": "wrap the shapes in group(translate=(x, y), rotate=a) { ... } instead of push()/pop()",
    "pop": "wrap the shapes in group(translate=(x, y), rotate=a) { ... } instead of push()/pop()",
    "save": "wrap the shapes in group(...) { ... } instead of save()/restore()",
    "restore": "wrap the shapes in group(...) { ... } instead of save()/restore()",
    "translate": "move shapes with group(translate=(x, y)) { ... }",
    "rotate": "turn shapes with group(rotate=degrees) { ... }, or pass rotate= to one shape",
    "scale": "scale shapes with group(scale=s) { ... }",
    "beginShape": "collect the points in a list: polygon(points=[(x1, y1), (x2, y2), ...])",
    "vertex": "collect the points in a list: polygon(points=[(x1, y1), (x2, y2), ...])",
    "endShape": "collect the points in a list: polygon(points=[(x1, y1), (x2, y2), ...])",
    "beginPath": "draw outlines with path(d=\"M x y L ...\") or polyline(points=[...])",
    "moveTo": "draw outlines with path(d=\"M x y L ...\") or polyline(points=[...])",
    "lineTo": "draw outlines with path(d=\"M x y L ...\") or polyline(points=[...])",
    "closePath": "draw outlines with path(d=\"M x y L ... Z\") or polygon(points=[...])",
    "background": "set the background once: canvas(width=512, height=512, background=skyblue)",
    "colorMode": "vdsl colours are rgb(r, g, b), hsl(h, s%, l%), names or #hex; no colour modes",
    "draw": "a vdsl program draws from top to bottom; there is no draw() or setup() function",
    "setup": "call canvas(width=..., height=..., background=...) at the top instead of setup()",
}

# Values for enum-like arguments in other vocabularies (CSS, SVG, matplotlib) → vdsl's choices.
CHOICE_ALIASES = {
    "center": "middle", "centre": "middle", "left": "start", "right": "end", "rounded": "round",
    "flat": "butt", "none": "butt", "projecting": "square", "mitre": "miter", "sharp": "miter",
    "normal": "regular", "400": "regular", "700": "bold", "even-odd": "evenodd", "even_odd": "evenodd",
    "non-zero": "nonzero", "add": "plus", "additive": "plus", "dodge": "color-dodge", "burn": "color-burn",
    "color_dodge": "color-dodge", "color_burn": "color-burn", "hard_light": "hard-light",
    "soft_light": "soft-light", "source-over": "normal", "noise": "fractal",
}


def did_you_mean(word: str, candidates: Iterable[str], aliases: dict | None = None,
                 cutoff: float = 0.6) -> str | None:
    """The best replacement for an unknown word among candidates, or None.

    An alias may name one replacement or a tuple of them (the first that is a candidate wins)."""
    cands = list(candidates)
    cset = set(cands)
    if aliases:
        for key in (word, word.lower()):
            target = aliases.get(key)
            for t in ((target,) if isinstance(target, str) else target or ()):
                if t in cset:
                    return t
    lower = {c.lower(): c for c in cands}
    if word.lower() in lower:
        return lower[word.lower()]
    m = difflib.get_close_matches(word, cands, n=1, cutoff=cutoff)
    if m:
        return m[0]
    m = difflib.get_close_matches(word.lower(), list(lower), n=1, cutoff=cutoff)
    return lower[m[0]] if m else None
