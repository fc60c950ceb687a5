"""Bundled fonts: find the Roboto TTFs shipped by `font_roboto` and load them as cached skia Typefaces."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from pathlib import Path

import skia

# IR weight name -> Roboto file style stem.  Never falls back to system fonts:
# every typeface comes from a file path inside the font_roboto package (Apache-2.0).
WEIGHTS: dict[str, str] = {
    "thin": "Thin",
    "light": "Light",
    "regular": "Regular",
    "medium": "Medium",
    "bold": "Bold",
    "black": "Black",
}


@functools.lru_cache(maxsize=1)
def font_dir() -> Path:
    """The folder holding the bundled Roboto-*.ttf files."""
    spec = importlib.util.find_spec("font_roboto")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the font_roboto package is not installed; vdsl needs its bundled Roboto fonts")
    for loc in spec.submodule_search_locations:
        d = Path(loc) / "files"
        if (d / "Roboto-Regular.ttf").is_file():
            return d
    raise RuntimeError("font_roboto is installed but Roboto-Regular.ttf was not found in it")


def font_path(weight: str = "regular", italic: bool = False) -> Path:
    """Path of the Roboto TTF for a weight name (unknown names fall back to regular) and slant."""
    stem = WEIGHTS.get(weight, "Regular")
    if italic:
        name = "Roboto-Italic.ttf" if stem == "Regular" else f"Roboto-{stem}Italic.ttf"
    else:
        name = f"Roboto-{stem}.ttf"
    return font_dir() / name


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C-level stderr: Skia's font manager starts fontconfig, which prints warnings about the
    system's font configuration although vdsl never looks up a system font (it loads files by path)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@functools.cache
def typeface(weight: str = "regular", italic: bool = False) -> skia.Typeface:
    """The skia Typeface for (weight, italic), loaded from the bundled file and cached."""
    path = font_path(weight, italic)
    with _quiet_stderr():
        tf = skia.Typeface.MakeFromFile(str(path))
    if tf is None:
        raise RuntimeError(f"could not load bundled font {path}")
    return tf


def make_font(size: float, weight: str = "regular", italic: bool = False) -> skia.Font:
    """An unhinted, subpixel-positioned, anti-aliased font so raster, PDF and SVG glyph layouts agree."""
    font = skia.Font(typeface(weight, italic), float(size))
    font.setSubpixel(True)
    font.setLinearMetrics(True)
    font.setHinting(skia.FontHinting.kNone)
    font.setEdging(skia.Font.Edging.kAntiAlias)
    font.setBaselineSnap(False)
    return font


def layout(text: str, font: skia.Font) -> tuple[list[int], list[tuple[float, float]], float]:
    """Glyph ids, their pen positions relative to the origin, and the total advance."""
    glyphs = list(font.textToGlyphs(text))
    if not glyphs:
        return [], [], 0.0
    pos = font.getPos(glyphs)
    widths = font.getWidths(glyphs)
    advance = float(pos[-1].x() + widths[-1])
    return glyphs, [(float(p.x()), float(p.y())) for p in pos], advance


def text_start_x(x: float, advance: float, anchor: str) -> float:
    """Left pen position for a text anchored at x (start | middle | end) by its measured advance."""
    if anchor == "middle":
        return x - advance / 2.0
    if anchor == "end":
        return x - advance
    return x


@functools.lru_cache(maxsize=64)
def pil_font(size: int, weight: str = "regular"):
    """The bundled Roboto at `size` pixels as a PIL font, for contact sheets, reports and charts."""
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path(weight)), max(1, int(size)))


def fit_text(draw, text: str, font, width: int) -> str:
    """The text, cut with an ellipsis so that it fits `width` pixels when drawn with `font` (PIL)."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"
