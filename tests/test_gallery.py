"""Tests for `vdsl gallery`: contact-sheet layout, labels, red failure cells with codes, and the command."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import vdsl
from vdsl import gallery as g
from vdsl.cli import main

GOOD = """// concept: a blue dot
// tier: shapes
canvas(width=200, height=200, background=#ffffff)
param r = rand(30, 60)
circle(center=(100, 100), r=r, fill=#0000ff)
"""
BROKEN = "circle(center=(1, 2), radius=3)\n"  # E202 unknown argument
RUNTIME = "let xs = [1]\ncircle(center=(10, 10), r=xs[5])\n"  # E302 at run time


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "progs"
    d.mkdir()
    (d / "a_good.vd").write_text(GOOD)
    (d / "b_broken.vd").write_text(BROKEN)
    (d / "notes.txt").write_text("not a program")
    return d


def _cell_origin(i: int, columns: int, size: int) -> tuple[int, int]:
    return (g.GAP + (i % columns) * (size + g.GAP), g.GAP + (i // columns) * (size + g.label_height(size) + g.GAP))


def test_sheet_has_the_right_size_with_a_good_and_a_broken_program(folder, tmp_path):
    out = tmp_path / "sheet.png"
    cells = g.gallery(folder, out, seeds=2, size=64, columns=2)
    assert [(c.label, c.seed, c.ok) for c in cells] == [
        ("a blue dot", 0, True),
        ("a blue dot", 1, True),
        ("b_broken", 0, False),
        ("b_broken", 1, False),
    ]
    img = Image.open(out)
    # 2 programs x 2 seeds in 2 columns: 2 rows of 64 px cells, a 28 px label strip, 6 px gaps
    assert img.size == (2 * (64 + 6) + 6, 2 * (64 + 28 + 6) + 6) == g.sheet_size(4, 2, 64)


def test_failures_are_red_cells_with_their_code(folder, tmp_path):
    (folder / "c_runtime.vd").write_text(RUNTIME)
    cells = g.render_cells(g.find_programs(folder), seeds=1, size=48)
    assert [c.code for c in cells] == ["", "E202", "E302"]
    assert "radius" in cells[1].message
    sheet = np.asarray(g.contact_sheet(cells, size=48, columns=3).convert("RGB")).astype(int)
    for i, cell in enumerate(cells):
        x, y = _cell_origin(i, 3, 48)
        corner = sheet[y + 2, x + 2]
        if cell.ok:
            assert tuple(corner) == (255, 255, 255)  # the program's white background
            assert (np.abs(sheet[y + 24, x + 24] - (0, 0, 255)) < 40).all()  # its blue dot
        else:
            assert tuple(corner) == g.FAIL_FILL
            # the code is written in white in the middle of the red cell
            assert (sheet[y + 14 : y + 34, x + 4 : x + 44] > 200).all(axis=-1).any()


def test_cells_match_the_programs_own_renders(folder):
    cells = g.render_cells([folder / "a_good.vd"], seeds=3, size=40, first_seed=5)
    prog = vdsl.compile(GOOD)
    assert [c.seed for c in cells] == [5, 6, 7]
    for c in cells:
        assert c.image.shape == (40, 40, 4)
        assert np.array_equal(c.image, prog.render(c.seed, size=(40, 40)))
    assert not np.array_equal(cells[0].image, cells[1].image)


def test_unreadable_and_empty_programs_never_crash(tmp_path):
    d = tmp_path / "odd"
    d.mkdir()
    (d / "empty.vd").write_text("")
    (d / "binary.vd").write_bytes(b"\xff\xfe\x00garbage(((")
    (d / "huge.vd").write_text("canvas(width=100000, height=100000)\n")
    cells = g.render_cells(g.find_programs(d), seeds=1, size=32)
    by_name = {c.label: c for c in cells}
    assert by_name["empty"].ok  # an empty program is a blank canvas
    assert not by_name["binary"].ok and by_name["binary"].code.startswith("E1")
    assert not by_name["huge"].ok and by_name["huge"].code.startswith("E")
    g.contact_sheet(cells, size=32, columns=2)


def test_labels_are_cut_to_the_cell_width():
    long = g.Cell("x.vd", "a very long concept name " * 5, 0, np.zeros((32, 32, 4), np.uint8))
    sheet = g.contact_sheet([long], size=32, columns=1)
    assert sheet.size == g.sheet_size(1, 1, 32)


def test_default_columns_keep_a_programs_seeds_together():
    assert g.default_columns(1) == 8
    assert g.default_columns(3) == 6
    assert g.default_columns(4) == 8
    assert g.default_columns(10) == 10


def test_cli_gallery(folder, tmp_path):
    out = tmp_path / "out" / "sheet.png"
    r = CliRunner().invoke(main, ["gallery", str(folder), "-o", str(out), "--seeds", "3", "--size", "64"])
    assert r.exit_code == 0, r.output
    assert "E202" in r.output and "2 programs x 3 seeds, 3 failed" in r.output
    assert Image.open(out).size == g.sheet_size(6, 6, 64)
    r = CliRunner().invoke(
        main, ["gallery", str(folder), "-o", str(out), "--seeds", "1", "--size", "32", "--columns", "1", "--strict"]
    )
    assert r.exit_code == 1
    assert Image.open(out).size == g.sheet_size(2, 1, 32)


def test_cli_gallery_usage_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = CliRunner().invoke(main, ["gallery", str(empty), "-o", str(tmp_path / "s.png")])
    assert r.exit_code == 2 and "no .vd files" in r.output
    r = CliRunner().invoke(main, ["gallery", str(empty), "--seeds", "0"])
    assert r.exit_code == 2


def test_label_font_is_the_bundled_roboto(monkeypatch, folder, tmp_path):
    from PIL import ImageFont
    from vdsl import fonts

    used = []
    real = ImageFont.truetype

    def spy(font, *a, **k):
        used.append(str(font))
        return real(font, *a, **k)

    monkeypatch.setattr(ImageFont, "truetype", spy)
    fonts.pil_font.cache_clear()  # loaded fonts are cached: load them again, through the spy
    g.gallery(folder, tmp_path / "s.png", seeds=1, size=32)
    assert used and all(u.startswith(str(fonts.font_dir())) for u in used)
