"""Rasterise a scene with Skia into an HxWx4 uint8 RGBA array (straight alpha)."""

from __future__ import annotations

import math

import numpy as np
import skia

from ..budgets import DEFAULT, Budgets
from ..deadline import Deadline
from ..ir import Scene
from . import skia_paint as sp
from .canvas import draw_scene
from .cost import check_canvas, check_work, faults_as_errors


def output_size(scene: Scene, scale: float = 1.0) -> tuple[int, int]:
    """(width, height) in pixels: the scene size times scale, rounded, at least 1."""
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be positive, got {scale!r}")
    return max(1, round(scene.width * scale)), max(1, round(scene.height * scale))


def render_array(
    scene: Scene,
    scale: float = 1.0,
    *,
    budgets: Budgets = DEFAULT,
    deadline: Deadline | None = None,
    encoding: str | None = None,
) -> np.ndarray:
    """Draw the scene on a raster surface and read it back as unpremultiplied RGBA uint8.

    Raises DiagnosticsError with E407 when the output (after scaling) is over the canvas budget, E411 when
    the estimated work is over budgets.render_work (before drawing), E412 past the deadline.
    encoding: the format (png, jpeg, webp) the caller will encode the array to, budgeted too."""
    w, h = output_size(scene, scale)
    check_canvas(w, h, budgets)
    check_work(scene, budgets, scale, "raster", encoding)
    surface = skia.Surface.MakeRasterN32Premul(w, h)
    if surface is None:
        raise MemoryError(f"could not allocate a {w}x{h} raster surface")
    canvas = surface.getCanvas()
    # One pass over the pixels: clear straight to the background (what draw_scene would paint).
    bg = scene.background
    canvas.clear(sp.color4f(bg) if bg is not None else skia.Color4f(0, 0, 0, 0))
    if scale != 1.0:
        canvas.scale(scale, scale)
    with faults_as_errors():
        draw_scene(canvas, scene, background=False, deadline=deadline)
    out = np.empty((h, w, 4), dtype=np.uint8)
    info = skia.ImageInfo.Make(w, h, skia.kRGBA_8888_ColorType, skia.kUnpremul_AlphaType)
    if not surface.readPixels(info, out, w * 4, 0, 0):
        raise RuntimeError("reading pixels back from the raster surface failed")
    return out
