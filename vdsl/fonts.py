"""Bundled fonts: Roboto (from `font_roboto`) with a per-character fallback chain of Noto fonts, loaded by file path."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import unicodedata
from dataclasses import dataclass
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


# ---------------------------------------------------------------- fallback fonts
# Characters Roboto lacks (symbols, arrows, CJK, other scripts) are drawn from these, first match wins.
# Every file comes from a PyPI package by path, never from the system (all SIL OFL 1.1):
#   manimgx_fonts            (core dependency `manimgx-fonts`, 3.5 MB): Noto Sans, Noto Sans Symbols,
#                            Noto Emoji (monochrome outlines) and Noto Sans for 19 scripts
#   noto_cjk_sans_jp_regular (extra `cjk`, 13.6 MB): Noto Sans CJK JP (Chinese, Japanese, Korean, and
#                            ★ ✓ ■ ● ▲ ◆ and other symbols)
# A package that is not installed is skipped: its characters then draw as missing-glyph boxes and
# the checker and the backends warn (W503) with their code points.
FALLBACKS: tuple[tuple[str, str], ...] = (
    ("manimgx_fonts", "NotoSans[wght].ttf"),
    ("manimgx_fonts", "NotoSansSymbols[wght].ttf"),
    ("noto_cjk_sans_jp_regular", "NotoSansCJKjp-Regular.otf"),
    ("manimgx_fonts", "NotoEmoji[wght].ttf"),
    ("manimgx_fonts", "NotoSans*[wght].ttf"),  # the script fonts, in name order
)
CJK_EXTRA = "cjk"  # the extra that installs noto_cjk_sans_jp_regular


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.lru_cache(maxsize=1)
def fallback_paths() -> tuple[Path, ...]:
    """The fallback font files that are installed, in the order they are tried."""
    out: list[Path] = []
    for package, pattern in FALLBACKS:
        d = _package_dir(package)
        if d is None:
            continue
        found = sorted(d.glob(pattern.replace("[", "[[]")))
        out.extend(f for f in found if f not in out and f.is_file())
    return tuple(out)


@functools.cache
def fallback_typefaces() -> tuple[skia.Typeface, ...]:
    """The fallback Typefaces, loaded from fallback_paths() (a file Skia cannot read is skipped)."""
    faces = []
    with _quiet_stderr():
        for f in fallback_paths():
            tf = skia.Typeface.MakeFromFile(str(f))
            if tf is not None:
                faces.append(tf)
    return tuple(faces)


def ignorable(ch: str) -> bool:
    """Characters that draw nothing and need no glyph: controls, format characters (zero-width joiners,
    marks) and variation selectors (the U+FE0F after an emoji)."""
    cp = ord(ch)
    return unicodedata.category(ch) in ("Cc", "Cf") or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


@functools.lru_cache(maxsize=8192)
def face_index(ch: str, weight: str = "regular", italic: bool = False) -> int:
    """Which typeface draws `ch`: 0 for Roboto, i for fallback_typefaces()[i-1], -1 for an ignorable
    character no font has (drawn as nothing), -2 for a character no font has (drawn as Roboto's box)."""
    cp = ord(ch)
    if typeface(weight, italic).unicharToGlyph(cp):
        return 0
    for i, tf in enumerate(fallback_typefaces(), 1):
        if tf.unicharToGlyph(cp):
            return i
    return -1 if ignorable(ch) else -2


def missing_chars(text: str) -> list[str]:
    """The distinct characters of `text` that no bundled font has (they draw as boxes), in order."""
    out: list[str] = []
    for ch in text:
        if ch not in out and face_index(ch) == -2:
            out.append(ch)
    return out


def describe_missing(chars: list[str]) -> str:
    """`U+E000, U+1F600 ("😀")`: code points as a warning names them."""
    return ", ".join(f"U+{ord(c):04X}" + (f' ("{c}")' if c.isprintable() else "") for c in chars)


def missing_message(chars: list[str]) -> str:
    """The W505 message for characters no bundled font has."""
    s = "" if len(chars) == 1 else "s"
    return f"no bundled font has the character{s} {describe_missing(chars)}: drawn as a missing-glyph box"


def missing_hint(chars: list[str]) -> str:
    """What to do about missing glyphs: install the CJK extra when it would help, else replace them."""
    if _package_dir("noto_cjk_sans_jp_regular") is None:
        return f"install vdsl[{CJK_EXTRA}] for CJK and more symbols, or draw the symbol with shapes"
    return "use another character, or draw the symbol with shapes"


def _run_font(tf: skia.Typeface, size: float, embolden: bool) -> skia.Font:
    font = skia.Font(tf, float(size))
    font.setSubpixel(True)
    font.setLinearMetrics(True)
    font.setHinting(skia.FontHinting.kNone)
    font.setEdging(skia.Font.Edging.kAntiAlias)
    font.setBaselineSnap(False)
    font.setEmbolden(embolden)
    return font


def runs(text: str, size: float, weight: str = "regular", italic: bool = False) -> list[tuple[str, skia.Font]]:
    """The text split into runs that one font draws, each with its font: Roboto where it has the glyph,
    else the first fallback that does (emboldened for bold text: the fallbacks are regular)."""
    out: list[tuple[str, skia.Font]] = []
    cur, cur_i = "", 0
    for ch in text:
        i = face_index(ch, weight, italic)
        if i == -1:
            continue
        i = max(i, 0)
        if cur and i != cur_i:
            out.append((cur, _font_for(cur_i, size, weight, italic)))
            cur = ""
        cur, cur_i = cur + ch, i
    if cur:
        out.append((cur, _font_for(cur_i, size, weight, italic)))
    return out


def _font_for(i: int, size: float, weight: str, italic: bool) -> skia.Font:
    if i == 0:
        return make_font(size, weight, italic)
    return _run_font(fallback_typefaces()[i - 1], size, weight in ("bold", "black"))


@dataclass
class Run:
    """A run of text one font draws: its glyph ids and pen positions relative to the run's start `x`
    (itself relative to the text's origin)."""

    text: str
    font: skia.Font
    x: float
    glyphs: list[int]
    pos: list[tuple[float, float]]


def layout_runs(text: str, size: float, weight: str = "regular", italic: bool = False) -> tuple[list[Run], float]:
    """The text's runs laid out one after another, and the total advance."""
    out = []
    x = 0.0
    for part, font in runs(text, size, weight, italic):
        glyphs, pos, adv = layout(part, font)
        out.append(Run(part, font, x, glyphs, pos))
        x += adv
    return out, x


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
