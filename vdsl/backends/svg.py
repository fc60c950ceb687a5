"""Write a scene as a standalone SVG document (text as glyph outlines, paints and effects as defs)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import skia

from ..budgets import DEFAULT, Budgets
from ..deadline import Deadline
from ..diagnostics import Diagnostic, sort_diagnostics
from ..ir import (
    BLEND_MODES,
    IDENTITY,
    EllipseGeom,
    Group,
    LinearGradient,
    Matrix,
    Noise,
    Paint,
    PathGeom,
    Pattern,
    RadialGradient,
    RectGeom,
    Scene,
    Shape,
    Solid,
    SweepGradient,
    TextGeom,
    multiply,
)
from . import skia_paint as sp
from ..outline import path_geom, text_path
from .canvas import Poll, drawable, is_identity, norm_rect, rect_radii
from .cost import check_work, faults_as_errors


# ---------------------------------------------------------------- formatting
def num(v: float) -> str:
    """Compact number: at most 3 decimals, no trailing zeros, no '-0'; non-finite -> 0."""
    v = float(v)
    if not math.isfinite(v):
        return "0"
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def esc(text: object) -> str:
    """Escape text for an XML attribute value (double-quoted) or character data."""
    out = (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )
    # drop characters XML 1.0 cannot carry at all
    return "".join(
        ch
        for ch in out
        if (ch >= " " or ch in "\n\r\t") and ch not in "\ufffe\uffff" and not "\ud800" <= ch <= "\udfff"
    )


def hex_color(rgba) -> str:
    r, g, b, _ = sp.clamp_rgba(rgba)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


# An element's attributes in order; a None value leaves the attribute out.
Attrs = Sequence[tuple[str, object]]


def tag(name: str, attrs: Attrs, children: list[str] | None = None) -> str:
    a = "".join(f' {k}="{esc(v)}"' for k, v in attrs if v is not None)
    if not children:
        return f"<{name}{a}/>"
    return f"<{name}{a}>" + "".join(children) + f"</{name}>"


def matrix_attr(m: Matrix) -> str:
    return "matrix(" + " ".join(num(v) for v in m) + ")"


def segments_d(segments) -> str:
    out = []
    for seg in segments:
        op = seg[0]
        if op == "A":
            rx, ry, rot, large, sweep, x, y = seg[1:8]
            out.append(
                f"A{num(abs(rx))} {num(abs(ry))} {num(rot)} {1 if large else 0} {1 if sweep else 0} {num(x)} {num(y)}"
            )
        elif op == "Z":
            out.append("Z")
        else:
            out.append(op + " ".join(num(v) for v in seg[1:]))
    return "".join(out)


def skpath_d(path: skia.Path) -> str:
    """SVG path data for a skia Path (conics become quads)."""
    return segments_d(path_geom(path).segments)


def text_d(g: TextGeom) -> str:
    """The text's glyph outlines from the bundled fonts (Roboto and its fallbacks), laid out exactly as the raster backend."""
    return skpath_d(text_path(g))


def _invert(m: Matrix) -> Matrix | None:
    a, b, c, d, e, f = m
    det = a * d - b * c
    if not math.isfinite(det) or abs(det) < 1e-12:
        return None
    return (d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det)


# ---------------------------------------------------------------- writer
class _Writer:
    def __init__(self, scene: Scene, poll: Poll | None = None):
        self.scene = scene
        self.poll = poll
        self.defs: list[str] = []
        self.diags: list[Diagnostic] = []
        self.counters: dict[str, int] = {}

    def new_id(self, prefix: str) -> str:
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return f"{prefix}{n}"

    def warn(self, message: str, hint: str | None = None) -> None:
        self.diags.append(Diagnostic("W500", message, hint=hint))

    def region(self, ctm: Matrix, margin: float) -> list[tuple[str, object]] | None:
        """A userSpaceOnUse filter region covering the visible canvas in local coordinates."""
        inv = _invert(ctm)
        if inv is None:
            return None
        a, b, c, d, e, f = inv
        W, H = float(self.scene.width), float(self.scene.height)
        xs, ys = [], []
        for x, y in ((0, 0), (W, 0), (0, H), (W, H)):
            xs.append(a * x + c * y + e)
            ys.append(b * x + d * y + f)
        x0, y0 = min(xs) - margin, min(ys) - margin
        return [
            ("filterUnits", "userSpaceOnUse"),
            ("x", num(x0)),
            ("y", num(y0)),
            ("width", num(max(xs) + margin - x0)),
            ("height", num(max(ys) + margin - y0)),
            ("color-interpolation-filters", "sRGB"),
        ]

    # ------------------------------------------------------------ paints
    def paint_ref(self, paint: Paint) -> tuple[str, float | None]:
        """(fill/stroke value, opacity or None) for a non-noise paint."""
        if isinstance(paint, Solid):
            return self._solid(sp.clamp_rgba(paint.rgba))
        if isinstance(paint, SweepGradient):
            avg = sp.average_color(paint)
            self.warn(
                f"sweep gradient approximated by its average colour {hex_color(avg)} (SVG 1.1 has no conic gradient)",
                hint="use a linear or radial gradient for exact SVG output",
            )
            return self._solid(avg)
        if isinstance(paint, (LinearGradient, RadialGradient)):
            stops = sp.clean_stops(paint.stops)
            if not stops:
                return "none", None
            degenerate = (
                len(stops) == 1
                or (isinstance(paint, LinearGradient) and tuple(paint.start) == tuple(paint.end))
                or (isinstance(paint, RadialGradient) and paint.radius <= 0)
            )
            if degenerate:
                return self._solid(stops[-1][1])
            gid = self.new_id("g")
            kids = []
            for off, rgba in stops:
                attrs = [("offset", num(off)), ("stop-color", hex_color(rgba))]
                if rgba[3] < 1:
                    attrs.append(("stop-opacity", num(rgba[3])))
                kids.append(tag("stop", attrs))
            if isinstance(paint, LinearGradient):
                (x1, y1), (x2, y2) = paint.start, paint.end
                self.defs.append(
                    tag(
                        "linearGradient",
                        [
                            ("id", gid),
                            ("gradientUnits", "userSpaceOnUse"),
                            ("x1", num(x1)),
                            ("y1", num(y1)),
                            ("x2", num(x2)),
                            ("y2", num(y2)),
                        ],
                        kids,
                    )
                )
            else:
                cx, cy = paint.center
                self.defs.append(
                    tag(
                        "radialGradient",
                        [
                            ("id", gid),
                            ("gradientUnits", "userSpaceOnUse"),
                            ("cx", num(cx)),
                            ("cy", num(cy)),
                            ("r", num(paint.radius)),
                        ],
                        kids,
                    )
                )
            return f"url(#{gid})", None
        if isinstance(paint, Pattern):
            if not (paint.size > 0 and math.isfinite(paint.size)):
                return self._solid(sp.average_color(paint))
            tw, th, items = sp.pattern_tile(paint)
            kids = []
            for kind, rgba, prm in items:
                if rgba[3] <= 0:
                    continue
                fill: list[tuple[str, object]] = [
                    ("fill", hex_color(rgba)),
                    ("fill-opacity", num(rgba[3]) if rgba[3] < 1 else None),
                ]
                if kind == "rect":
                    x, y, w, h = prm
                    kids.append(
                        tag("rect", [("x", num(x)), ("y", num(y)), ("width", num(w)), ("height", num(h))] + fill)
                    )
                else:
                    kids.append(tag("circle", [("cx", num(prm[0])), ("cy", num(prm[1])), ("r", num(prm[2]))] + fill))
            pid = self.new_id("p")
            self.defs.append(
                tag(
                    "pattern",
                    [
                        ("id", pid),
                        ("patternUnits", "userSpaceOnUse"),
                        ("width", num(tw)),
                        ("height", num(th)),
                        ("patternTransform", f"rotate({num(paint.angle)})" if paint.angle else None),
                    ],
                    kids or [tag("rect", [("width", num(tw)), ("height", num(th)), ("fill", "none")])],
                )
            )
            return f"url(#{pid})", None
        return "none", None

    @staticmethod
    def _solid(rgba) -> tuple[str, float | None]:
        if rgba[3] <= 0:
            return "none", None
        return hex_color(rgba), (rgba[3] if rgba[3] < 1 else None)

    def noise_filter(self, n: Noise, ctm: Matrix) -> str | None:
        reg = self.region(ctm, 0.0)
        if reg is None:
            return None
        fx, fy = (max(0.0, float(f)) for f in n.freq)
        cols = [sp.clamp_rgba(c) for c in n.colors[:2]]
        while len(cols) < 2:
            cols.append(sp.TRANSPARENT)
        fid = self.new_id("n")
        kids = [
            tag(
                "feTurbulence",
                [
                    ("type", "turbulence" if n.kind == "turbulence" else "fractalNoise"),
                    ("baseFrequency", f"{num(fx)} {num(fy)}"),
                    ("numOctaves", max(1, min(int(n.octaves), 10))),
                    ("seed", round(float(n.seed))),
                    ("result", "t"),
                ],
            ),
            tag(
                "feColorMatrix",
                [
                    ("in", "t"),
                    ("type", "matrix"),
                    ("values", " ".join(num(v) for v in sp.noise_matrix(*cols))),
                    ("result", "c"),
                ],
            ),
            tag("feComposite", [("in", "c"), ("in2", "SourceAlpha"), ("operator", "in")]),
        ]
        self.defs.append(tag("filter", [("id", fid)] + reg, kids))
        return fid

    def effects_filter(self, g: Group, ctm: Matrix) -> str | None:
        margin = 0.0
        for e in g.effects:
            margin += 4 * sp.sigma(e.radius) + abs(float(e.dx)) + abs(float(e.dy))
        kids: list[str] = []
        prev = "SourceGraphic"
        for e in g.effects:
            s = sp.sigma(e.radius)
            rid = f"r{len(kids) + 1}"
            if e.kind == "blur":
                if s <= 0:
                    continue
                kids.append(tag("feGaussianBlur", [("in", prev), ("stdDeviation", num(s)), ("result", rid)]))
            elif e.kind == "shadow":
                # SVG 1.1 primitives rather than feDropShadow, which e.g. librsvg 2.54 ignores
                c = sp.clamp_rgba(e.rgba)
                kids.append(
                    tag("feFlood", [("flood-color", hex_color(c)), ("flood-opacity", num(c[3])), ("result", rid + "f")])
                )
                kids.append(
                    tag("feComposite", [("in", rid + "f"), ("in2", prev), ("operator", "in"), ("result", rid + "t")])
                )
                cur = rid + "t"
                if s > 0:
                    kids.append(tag("feGaussianBlur", [("in", cur), ("stdDeviation", num(s)), ("result", rid + "b")]))
                    cur = rid + "b"
                kids.append(tag("feOffset", [("in", cur), ("dx", num(e.dx)), ("dy", num(e.dy)), ("result", rid + "o")]))
                kids.append(
                    tag(
                        "feMerge",
                        [("result", rid)],
                        [tag("feMergeNode", [("in", rid + "o")]), tag("feMergeNode", [("in", prev)])],
                    )
                )
            elif e.kind == "glow":
                c = sp.clamp_rgba(e.rgba)
                kids.append(
                    tag("feFlood", [("flood-color", hex_color(c)), ("flood-opacity", num(c[3])), ("result", rid + "f")])
                )
                kids.append(
                    tag("feComposite", [("in", rid + "f"), ("in2", prev), ("operator", "in"), ("result", rid + "t")])
                )
                nodes = []
                for i, (frac, gain) in enumerate(sp.GLOW_HALOS):
                    cur = rid + "t"
                    hs = max(0.0, float(e.radius)) * frac
                    if hs > 0:
                        kids.append(
                            tag("feGaussianBlur", [("in", cur), ("stdDeviation", num(hs)), ("result", f"{rid}b{i}")])
                        )
                        cur = f"{rid}b{i}"
                    kids.append(
                        tag(
                            "feComponentTransfer",
                            [("in", cur), ("result", f"{rid}g{i}")],
                            [tag("feFuncA", [("type", "linear"), ("slope", num(gain))])],
                        )
                    )
                    nodes.append(tag("feMergeNode", [("in", f"{rid}g{i}")]))
                kids.append(tag("feMerge", [("result", rid)], nodes + [tag("feMergeNode", [("in", prev)])]))
            else:
                continue
            prev = rid
        if not kids:
            return None
        reg = self.region(ctm, margin)
        if reg is None:
            return None
        fid = self.new_id("f")
        self.defs.append(tag("filter", [("id", fid)] + reg, kids))
        return fid

    def blend_style(self, blend: str) -> str | None:
        if blend == "normal" or blend not in BLEND_MODES:
            return None
        if blend == "plus":
            self.warn(
                "blend mode 'plus' written as mix-blend-mode: plus-lighter, which some SVG renderers do not support"
            )
            return "mix-blend-mode:plus-lighter"
        return f"mix-blend-mode:{blend}"

    # ------------------------------------------------------------ nodes
    def geom_element(self, geom, paint_attrs: list[tuple[str, object]]) -> str:
        if isinstance(geom, RectGeom):
            x, y, w, h = norm_rect(geom)
            rx, ry = rect_radii(geom)
            attrs = [("x", num(x)), ("y", num(y)), ("width", num(w)), ("height", num(h))]
            if rx > 0 and ry > 0:
                attrs += [("rx", num(rx)), ("ry", num(ry))]
            return tag("rect", attrs + paint_attrs)
        if isinstance(geom, EllipseGeom):
            if geom.rx == geom.ry:
                return tag("circle", [("cx", num(geom.cx)), ("cy", num(geom.cy)), ("r", num(geom.rx))] + paint_attrs)
            return tag(
                "ellipse",
                [("cx", num(geom.cx)), ("cy", num(geom.cy)), ("rx", num(geom.rx)), ("ry", num(geom.ry))] + paint_attrs,
            )
        if isinstance(geom, PathGeom):
            rule = [("fill-rule", "evenodd")] if geom.fill_rule == "evenodd" else []
            return tag("path", [("d", segments_d(geom.segments))] + rule + paint_attrs)
        d = text_d(geom)
        return tag("path", [("d", d or "M0 0"), ("aria-label", geom.text)] + paint_attrs)

    def stroke_attrs(self, s, paint_value: str, op: float | None) -> list[tuple[str, object]]:
        st = s.stroke
        attrs: list[tuple[str, object]] = [("stroke", paint_value)]
        if op is not None:
            attrs.append(("stroke-opacity", num(op)))
        attrs.append(("stroke-width", num(st.width)))
        iv = sp.dash_intervals(st.dash)
        if iv:
            attrs.append(("stroke-dasharray", " ".join(num(v) for v in iv)))
        if st.cap in ("round", "square"):
            attrs.append(("stroke-linecap", st.cap))
        if st.join in ("round", "bevel"):
            attrs.append(("stroke-linejoin", st.join))
        return attrs

    def shape(self, s: Shape, ctm: Matrix) -> str | None:
        if not drawable(s.geom) or s.opacity <= 0:
            return None
        stroke = s.stroke if s.stroke is not None and s.stroke.width > 0 and math.isfinite(s.stroke.width) else None
        if s.fill is None and stroke is None:
            return None
        moved = None if s.transform is None or is_identity(s.transform) else s.transform
        local = ctm if moved is None else multiply(ctm, moved)
        outer: list[tuple[str, object]] = []
        if moved is not None:
            outer.append(("transform", matrix_attr(moved)))
        if s.opacity < 1:
            outer.append(("opacity", num(s.opacity)))
        outer.append(("style", self.blend_style(s.blend)))
        outer.append(("data-label", s.label))
        noisy = isinstance(s.fill, Noise) or (stroke is not None and isinstance(stroke.paint, Noise))
        if not noisy:
            attrs: list[tuple[str, object]] = []
            fv, fo = self.paint_ref(s.fill) if s.fill is not None else ("none", None)
            attrs.append(("fill", fv))
            if fo is not None:
                attrs.append(("fill-opacity", num(fo)))
            if stroke is not None:
                sv, so = self.paint_ref(stroke.paint)
                if sv != "none":
                    attrs += self.stroke_attrs(s, sv, so)
            if fv == "none" and not any(k == "stroke" for k, _ in attrs):
                return None
            return self.geom_element(s.geom, outer + attrs)
        # noise paints are filters on separately drawn fill / stroke elements
        parts = []
        if s.fill is not None:
            if isinstance(s.fill, Noise):
                fid = self.noise_filter(s.fill, local)
                if fid:
                    parts.append(self.geom_element(s.geom, [("filter", f"url(#{fid})")]))
            else:
                fv, fo = self.paint_ref(s.fill)
                if fv != "none":
                    parts.append(
                        self.geom_element(s.geom, [("fill", fv), ("fill-opacity", num(fo) if fo is not None else None)])
                    )
        if stroke is not None:
            if isinstance(stroke.paint, Noise):
                fid = self.noise_filter(stroke.paint, local)
                if fid:
                    parts.append(
                        self.geom_element(
                            s.geom,
                            [("fill", "none")] + self.stroke_attrs(s, "#000", None) + [("filter", f"url(#{fid})")],
                        )
                    )
            else:
                sv, so = self.paint_ref(stroke.paint)
                if sv != "none":
                    parts.append(self.geom_element(s.geom, [("fill", "none")] + self.stroke_attrs(s, sv, so)))
        if not parts:
            return None
        return tag("g", outer, parts)

    def group(self, g: Group, ctm: Matrix) -> str | None:
        if g.opacity <= 0 or not g.children:
            return None
        moved = None if g.transform is None or is_identity(g.transform) else g.transform
        local = ctm if moved is None else multiply(ctm, moved)
        kids = []
        poll = self.poll
        for child in g.children:
            if poll is not None:
                poll()
            # recursion is bounded: IR nesting depth is ~100 at most
            out = self.group(child, local) if isinstance(child, Group) else self.shape(child, local)
            if out:
                kids.append(out)
        if not kids:
            return None
        attrs: list[tuple[str, object]] = []
        if moved is not None:
            attrs.append(("transform", matrix_attr(moved)))
        if g.clip is not None:
            cid = self.new_id("c")
            rule = [("clip-rule", "evenodd")] if g.clip.fill_rule == "evenodd" else []
            self.defs.append(
                tag(
                    "clipPath",
                    [("id", cid), ("clipPathUnits", "userSpaceOnUse")],
                    [tag("path", [("d", segments_d(g.clip.segments) or "M0 0")] + rule)],
                )
            )
            attrs.append(("clip-path", f"url(#{cid})"))
        if g.effects:
            fid = self.effects_filter(g, local)
            if fid:
                attrs.append(("filter", f"url(#{fid})"))
        if g.opacity < 1:
            attrs.append(("opacity", num(g.opacity)))
        attrs.append(("style", self.blend_style(g.blend)))
        attrs.append(("data-label", g.label))
        if not any(v is not None for _, v in attrs):
            return "".join(kids)
        return tag("g", attrs, kids)


def render_svg(
    scene: Scene, *, budgets: Budgets = DEFAULT, deadline: Deadline | None = None
) -> tuple[str, list[Diagnostic]]:
    """The scene as an SVG document string, plus W500 warnings for what SVG approximates.

    Dashes stay stroke-dasharray and noise an feTurbulence filter, so the document grows with the
    IR only; E411 (DiagnosticsError) when the estimated writing work is over budgets.render_work, E412 past
    the deadline."""
    check_work(scene, budgets, 1.0, "svg")
    w = _Writer(scene, Poll(deadline) if deadline is not None and deadline.at is not None else None)
    with faults_as_errors():
        body = w.group(scene.root, IDENTITY) or ""
    W, H = num(scene.width), num(scene.height)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">']
    if w.defs:
        parts.append("<defs>" + "".join(w.defs) + "</defs>")
    if scene.background is not None and scene.background[3] > 0:
        bg = sp.clamp_rgba(scene.background)
        parts.append(
            tag(
                "rect",
                [
                    ("width", W),
                    ("height", H),
                    ("fill", hex_color(bg)),
                    ("fill-opacity", num(bg[3]) if bg[3] < 1 else None),
                ],
            )
        )
    parts.append(body)
    parts.append("</svg>\n")
    return "\n".join(p for p in parts if p), sort_diagnostics(w.diags)
