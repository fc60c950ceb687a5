"""Write a scene as a one-page PDF with Skia's PDF backend, using the shared canvas drawing code."""

from __future__ import annotations

import skia

from ..budgets import DEFAULT, Budgets
from ..deadline import Deadline
from ..diagnostics import Diagnostic, sort_diagnostics
from ..ir import Group, Noise, Pattern, Scene, Shape
from .canvas import draw_scene
from .cost import PDF_RASTER_DPI, check_work, faults_as_errors

# Resolution at which Skia's PDF backend rasterises what PDF cannot express as vectors
# (image-filter layers, noise and pattern shaders).  Scene units are PDF points (1/72 in),
# so 144 dpi is 2x the scene's pixel size.
RASTER_DPI = PDF_RASTER_DPI  # 144, declared with the cost model, which costs rasterising at it


def pdf_warnings(scene: Scene) -> list[Diagnostic]:
    """W500 warnings for the parts of a scene Skia's PDF backend rasterises or cannot express.
    (Verified on skia-python 144: blur/shadow/glow layers and noise/pattern shaders become
    /Image XObjects; blend mode plus is written as /BM /Normal.)"""
    kinds: set[str] = set()
    blend_plus = False
    noise = pattern = False
    stack: list = [scene.root]
    while stack:
        node = stack.pop()
        if isinstance(node, Group):
            kinds.update(e.kind for e in node.effects if e.kind in ("blur", "shadow", "glow"))
            blend_plus |= node.blend == "plus"
            stack.extend(node.children)
        elif isinstance(node, Shape):
            blend_plus |= node.blend == "plus"
            paints = [node.fill] + ([node.stroke.paint] if node.stroke is not None else [])
            noise |= any(isinstance(p, Noise) for p in paints)
            pattern |= any(isinstance(p, Pattern) for p in paints)
    out = []
    if kinds:
        out.append(
            Diagnostic(
                "W500",
                f"PDF: {', '.join(sorted(kinds))} effects are rasterised into "
                f"images at {RASTER_DPI} dpi (SVG keeps them as filters)",
            )
        )
    if noise:
        out.append(Diagnostic("W500", f"PDF: noise paints are rasterised into image tiles at {RASTER_DPI} dpi"))
    if pattern:
        out.append(Diagnostic("W500", f"PDF: pattern tiles are rasterised at {RASTER_DPI} dpi"))
    if blend_plus:
        out.append(Diagnostic("W500", "PDF has no 'plus' blend mode; it is drawn as normal"))
    return out


def render_pdf(
    scene: Scene, *, budgets: Budgets = DEFAULT, deadline: Deadline | None = None
) -> tuple[bytes, list[Diagnostic]]:
    """The scene as a deterministic one-page PDF (page size = scene size in points).

    Raises DiagnosticsError with E411 when the estimated work (dash segments expanded into path data,
    rasterised effects and noise, elements) is over budgets.render_work, E412 past the deadline."""
    check_work(scene, budgets, 1.0, "pdf")
    stream = skia.DynamicMemoryWStream()
    meta = skia.PDF.Metadata()
    meta.fCreator = "vdsl"
    meta.fRasterDPI = RASTER_DPI
    doc = skia.PDF.MakeDocument(stream, meta)
    if doc is None:
        raise RuntimeError("Skia could not create a PDF document")
    canvas = doc.beginPage(float(scene.width), float(scene.height))
    try:
        with faults_as_errors():
            draw_scene(canvas, scene, deadline=deadline)
    except BaseException:
        doc.abort()  # an open page left to the garbage collector crashes Skia
        raise
    doc.endPage()
    doc.close()
    return bytes(stream.detachAsData()), sort_diagnostics(pdf_warnings(scene))
