"""Text never draws tofu silently: characters Roboto lacks come from the bundled Noto fallbacks, and what no
font has is a W505 warning naming its code point (checker for constant text, backends for the rest)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import vdsl
from vdsl import fonts
from vdsl.backends.svg import skpath_d

SYMBOLS = ["♥", "★", "→", "✓", "中", "文"]
MISSING = "\U0001d11e"  # MUSICAL SYMBOL G CLEF: in none of the bundled fonts


def ink(ch: str) -> np.ndarray:
    """The character drawn black at 64 px, as a boolean ink mask."""
    img = vdsl.compile(f'canvas(width=96, height=96)\ntext("{ch}", at=(8, 72), size=64)').render()
    return img[..., 0] < 128


@pytest.fixture(scope="module")
def tofu() -> np.ndarray:
    """What a missing glyph looks like: Roboto's .notdef box."""
    assert fonts.face_index(MISSING) == -2
    box = ink(MISSING)
    assert box.sum() > 50  # the box is drawn (that is the tofu this feature avoids)
    return box


@pytest.mark.parametrize("ch", SYMBOLS)
def test_symbols_and_cjk_draw_real_glyphs(ch, tofu):
    assert fonts.face_index(ch) > 0, "Roboto lacks it: a fallback font draws it"
    got = ink(ch)
    assert got.sum() > 50, "the glyph leaves ink"
    assert (got != tofu).sum() > 0.25 * tofu.sum(), "the glyph is not the missing-glyph box"


def test_roboto_still_draws_what_it_has():
    for ch in "aé€":
        assert fonts.face_index(ch) == 0
    assert [r.text for r in fonts.layout_runs("a→b", 20)[0]] == ["a", "→", "b"]


def test_runs_advance_like_their_fonts():
    runs, adv = fonts.layout_runs("ab中文", 40)
    assert [r.text for r in runs] == ["ab", "中文"]
    assert runs[1].x == pytest.approx(runs[0].font.measureText("ab"))
    assert adv == pytest.approx(runs[1].x + runs[1].font.measureText("中文"))
    assert adv > 40 * 1.5  # two CJK ideographs are about an em each


def test_a_variation_selector_after_a_symbol_is_not_a_box():
    assert fonts.missing_chars("❤\ufe0f") == []


def test_checker_warns_for_a_constant_text_with_its_code_point():
    diags = vdsl.compile(f'text("ok {MISSING} \ue000", at=(10, 40))').diagnostics
    assert [d.code for d in diags] == ["W505"]
    assert "U+1D11E" in diags[0].message and "U+E000" in diags[0].message
    assert diags[0].span.line == 1 and diags[0].hint
    assert vdsl.compile('text("♥ ★ → ✓ 中文", at=(10, 40))').diagnostics == []


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_render_warns_for_computed_text(fmt):
    prog = vdsl.compile(f'let s = "clef " + "{MISSING}"\ntext(s, at=(10, 40))')
    assert prog.diagnostics == []  # not a constant: the checker cannot know
    _, warnings = prog.render_bytes(fmt)
    w505 = [d for d in warnings if d.code == "W505"]
    assert len(w505) == 1 and "U+1D11E" in w505[0].message


def test_without_the_cjk_extra_cjk_degrades_to_a_warning(monkeypatch):
    real = fonts._package_dir
    monkeypatch.setattr(fonts, "_package_dir", lambda p: None if p == "noto_cjk_sans_jp_regular" else real(p))
    caches = (fonts.fallback_paths, fonts.fallback_typefaces, fonts.face_index)
    for c in caches:
        c.cache_clear()
    try:
        assert all("CJK" not in p.name for p in fonts.fallback_paths())
        diags = vdsl.compile('text("♥ 中文", at=(10, 40))').diagnostics
        assert [d.code for d in diags] == ["W505"]
        assert "U+4E2D" in diags[0].message and "vdsl[cjk]" in diags[0].hint
        assert fonts.face_index("♥") > 0  # Noto Emoji (core) still has the heart
    finally:
        monkeypatch.undo()
        for c in caches:
            c.cache_clear()
    assert fonts.face_index("中") > 0


def _fallback_outline_d(ch: str, size: float) -> str:
    """The SVG path data of `ch` taken straight from the fallback typeface that has it."""
    tf = fonts.fallback_typefaces()[fonts.face_index(ch) - 1]
    font = fonts._run_font(tf, size, False)
    glyph = font.textToGlyphs(ch)[0]
    path = font.getPath(glyph)
    path.offset(10.0, 50.0)
    return skpath_d(path)


@pytest.mark.parametrize("ch", ["♥", "→", "中"])
def test_svg_draws_the_fallback_outline(ch):
    svg = vdsl.compile(f'canvas(width=100, height=100)\ntext("{ch}", at=(10, 50), size=40)').render_bytes("svg")[0]
    paths = re.findall(r'<path d="([^"]+)"', svg.decode())
    assert _fallback_outline_d(ch, 40) in paths


def test_pdf_embeds_the_fallback_families():
    pdf, _ = vdsl.compile('text("a → ♥ 中", at=(10, 50), size=30)').render_bytes("pdf")
    names = {n.split(b"+")[-1] for n in re.findall(rb"/FontName\s*/([A-Za-z0-9+\-]+)", pdf)}
    assert b"Roboto-Regular" in names
    assert b"NotoSansSymbols-Regular" in names  # the arrow
    assert b"NotoSansCJKjp-Regular" in names  # the heart and the ideograph


def test_a_constant_text_warns_once_not_again_at_render(tmp_path):
    from vdsl.batch import Outputs, render_seeds

    prog = vdsl.compile(f'text("clef {MISSING}", at=(10, 40))')
    assert [d.code for d in prog.diagnostics] == ["W505"]
    assert prog.render_bytes("png")[1] == []  # the checker said it, with its span
    (done,) = render_seeds(prog, "clef", Outputs(folder=tmp_path))
    assert done.path is not None and done.diagnostics == []


def test_the_prompt_names_what_has_no_glyph_truthfully():
    """The language overview says chess pieces have no glyph (so a model draws them from shapes): keep it true."""
    from vdsl import fonts
    from vdsl.docs import LANGUAGE_OVERVIEW

    assert "♔ ♚" in LANGUAGE_OVERVIEW and "W505" in LANGUAGE_OVERVIEW
    assert fonts.missing_chars("♔♚") and not fonts.missing_chars("♥→")
