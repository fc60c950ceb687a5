"""Object-tier example programs: compile, headers, non-blank renders, seed variety, required concepts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vdsl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FILES = sorted(EXAMPLES.glob("objects_*.vd"))

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
STL10 = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
IMAGENETTE = [
    "tench",
    "English springer",
    "cassette player",
    "chain saw",
    "church",
    "French horn",
    "garbage truck",
    "gas pump",
    "golf ball",
    "parachute",
]


def _concepts() -> set[str]:
    return {vdsl.compile_file(f).meta.get("concept", "").lower() for f in FILES}


def test_enough_object_examples():
    assert len(FILES) >= 44


def test_required_concepts_present():
    have = _concepts()
    missing = [c for c in CIFAR10 + STL10 + IMAGENETTE if c.lower() not in have]
    assert not missing, f"no objects_*.vd example declares: {missing}"


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_example(path: Path):
    prog = vdsl.compile_file(path)
    assert prog.ok, "\n".join(str(d) for d in prog.diagnostics)
    assert prog.meta.get("concept"), "missing `// concept:` header"
    assert prog.meta.get("tier") == "objects", "missing `// tier: objects` header"
    a = prog.render(0, size=(128, 128))
    assert a.shape[:2] == (128, 128)
    rgb = a[..., :3].astype(np.int16)
    assert (rgb.max(axis=(0, 1)) - rgb.min(axis=(0, 1))).max() > 30, "render is (nearly) uniform"
    b = prog.render(1, size=(128, 128))
    assert not np.array_equal(a, b), "seeds 0 and 1 give the same image"
