"""The scene-tier examples (examples/scene_*.vd) compile, declare their concept and tier, and render varied, non-blank images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vdsl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCENES = sorted(EXAMPLES.glob("scene_*.vd"))
SIZE = (128, 128)


def _compiled(path: Path) -> vdsl.Program:
    prog = vdsl.compile_file(path)
    assert prog.ok, "\n".join(str(d) for d in prog.diagnostics)
    return prog


def test_there_are_enough_scenes():
    assert len(SCENES) >= 22, [p.name for p in SCENES]


@pytest.mark.parametrize("path", SCENES, ids=lambda p: p.stem)
def test_scene_compiles_and_declares_concept_and_tier(path: Path):
    prog = _compiled(path)
    assert prog.meta.get("concept"), "missing `// concept: ...` header"
    assert prog.meta.get("tier") == "scenes", "missing `// tier: scenes` header"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("// concept: ") and lines[1] == "// tier: scenes" and lines[2].startswith("// ")


@pytest.mark.parametrize("path", SCENES, ids=lambda p: p.stem)
def test_scene_renders_non_blank_and_varies_with_seed(path: Path):
    prog = _compiled(path)
    a = prog.render(0, size=SIZE)
    assert a.shape == (SIZE[1], SIZE[0], 4)
    rgb = a[..., :3].astype(np.int16)
    assert rgb.std() > 8, "the picture is (nearly) a single flat colour"
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50, "too few distinct colours for a scene"
    b = prog.render(1, size=SIZE)
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    assert diff.mean() > 1.0, "seeds 0 and 1 give (nearly) the same picture"
