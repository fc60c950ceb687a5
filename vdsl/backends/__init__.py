"""Backends: draw a scene IR to raster arrays, PNG/JPEG/WebP, SVG or PDF, and save by file suffix."""

from __future__ import annotations

import os
from pathlib import Path

from ..atomic import atomic_write
from ..budgets import DEFAULT, Budgets
from ..deadline import Deadline
from .. import fonts
from ..diagnostics import Diagnostic
from ..ir import Scene, TextGeom
from .canvas import draw_scene
from .cost import Estimate, check_canvas, check_work, estimate, faults_as_errors
from .encode import RASTER_FORMATS, encode_image
from .pdf import render_pdf
from .raster import render_array
from .svg import render_svg

FORMATS = RASTER_FORMATS + ("svg", "pdf")

__all__ = [
    "FORMATS",
    "Estimate",
    "check_canvas",
    "check_work",
    "draw_scene",
    "glyph_warnings",
    "encode_image",
    "estimate",
    "render_array",
    "render_bytes",
    "render_pdf",
    "render_svg",
    "save",
]


def render_bytes(
    scene: Scene, fmt: str, scale: float = 1.0, *, budgets: Budgets = DEFAULT, deadline: Deadline | None = None
) -> tuple[bytes, list[Diagnostic]]:
    """Render to encoded bytes in fmt (png, jpeg/jpg, webp, svg, pdf).  scale applies to raster only.
    Over a budget (E407 canvas, E411 render work) or past the deadline (E412): DiagnosticsError."""
    fmt = fmt.lower().lstrip(".")
    if fmt == "svg":
        text, diags = render_svg(scene, budgets=budgets, deadline=deadline)
        return text.encode("utf-8"), glyph_warnings(scene) + diags
    if fmt == "pdf":
        data, diags = render_pdf(scene, budgets=budgets, deadline=deadline)
        return data, glyph_warnings(scene) + diags
    if fmt in RASTER_FORMATS:
        rgba = render_array(scene, scale, budgets=budgets, deadline=deadline, encoding=fmt)
        if deadline is not None:
            with faults_as_errors():
                deadline.check("encoding")
        return encode_image(rgba, fmt), glyph_warnings(scene)
    raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")


def glyph_warnings(scene: Scene) -> list[Diagnostic]:
    """One W505 for the characters of the scene's texts that no bundled font has (drawn as boxes):
    the render-time twin of the checker's warning, which sees only constant texts."""
    missing: list[str] = []
    for s, _ in scene.iter_shapes():
        if isinstance(s.geom, TextGeom):
            missing.extend(c for c in fonts.missing_chars(s.geom.text) if c not in missing)
    if not missing:
        return []
    return [Diagnostic("W505", fonts.missing_message(missing), hint=fonts.missing_hint(missing))]


def save(
    scene: Scene,
    path: str | os.PathLike,
    scale: float = 1.0,
    *,
    budgets: Budgets = DEFAULT,
    deadline: Deadline | None = None,
) -> list[Diagnostic]:
    """Render to `path`, picking the format from its suffix; the file is replaced atomically.
    Raises DiagnosticsError (E407/E411/E412) like render_bytes, before writing anything."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(
            f"cannot tell the output format from {path.name!r}; use one of: {', '.join('.' + f for f in FORMATS)}"
        )
    data, diags = render_bytes(scene, fmt, scale, budgets=budgets, deadline=deadline)
    atomic_write(path, data)
    return diags
