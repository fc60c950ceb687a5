"""Golden renders: tests/golden/*.vd must still draw their .png (mean abs diff < 1.0, max < 40)."""

# Regenerate after an intended rendering change with `python tests/test_golden.py --update`
# (or VDSL_UPDATE_GOLDEN=1 pytest tests/test_golden.py), and look at the new images before committing.
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vdsl

HERE = Path(__file__).parent / "golden"
PROGRAMS = sorted(HERE.glob("*.vd"))
SEED = 3
MEAN_TOL, MAX_TOL = 1.0, 40


def render(path: Path) -> np.ndarray:
    prog = vdsl.compile_file(path)
    assert prog.ok, prog.diagnostics
    return prog.render(SEED)


def update() -> list[Path]:
    written = []
    for vd in PROGRAMS:
        png = vd.with_suffix(".png")
        Image.fromarray(render(vd), "RGBA").save(png, optimize=True)
        written.append(png)
    return written


def compare(actual: np.ndarray, expected: np.ndarray) -> tuple[float, int]:
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    return float(diff.mean()), int(diff.max())


def test_golden_set_covers_the_features():
    names = {p.stem for p in PROGRAMS}
    assert {"shapes", "gradients", "patterns", "noise", "effects", "text"} <= names


@pytest.mark.parametrize("vd", PROGRAMS, ids=lambda p: p.stem)
def test_golden(vd):
    if os.environ.get("VDSL_UPDATE_GOLDEN"):
        Image.fromarray(render(vd), "RGBA").save(vd.with_suffix(".png"), optimize=True)
    png = vd.with_suffix(".png")
    assert png.exists(), f"no golden image for {vd.name}: run `python tests/test_golden.py --update`"
    with Image.open(png) as im:
        expected = np.asarray(im.convert("RGBA"))
    mean, worst = compare(render(vd), expected)
    assert mean < MEAN_TOL and worst < MAX_TOL, (
        f"{vd.name}: render differs from {png.name} (mean abs diff {mean:.3f}, max {worst}); "
        "if the change is intended, run `python tests/test_golden.py --update`"
    )


def test_the_comparison_can_fail():
    img = render(HERE / "shapes.vd")
    other = render(HERE / "text.vd")
    mean, worst = compare(img, other)
    assert mean >= MEAN_TOL or worst >= MAX_TOL
    nudged = img.copy()
    nudged[10:20, 10:20, 0] ^= 0x80  # a small but real change is caught by the max
    assert compare(nudged, img)[1] >= MAX_TOL
    assert compare(img, img) == (0.0, 0)


if __name__ == "__main__":
    if "--update" in sys.argv[1:]:
        for p in update():
            print(p)
    else:
        print("usage: python tests/test_golden.py --update")
