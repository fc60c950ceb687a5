"""Smoke test of bench/bench_live.py at toy scale: it runs and writes a table with the right rows.
No speed is asserted (timings live in bench/results/, as ratios in one run)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")

ROOT = Path(__file__).resolve().parent.parent


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_live", ROOT / "bench" / "bench_live.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_live_toy_run(tmp_path):
    progs = tmp_path / "programs"
    progs.mkdir()
    for name in ("objects_airplane.vd", "objects_bed.vd"):
        shutil.copy(ROOT / "examples" / name, progs / name)
    out = tmp_path / "live.md"
    text = load_bench().main(
        [
            "--programs",
            str(progs),
            "--sizes",
            "32",
            "--workers",
            "0,1",
            "--batch",
            "2",
            "--batches",
            "2",
            "--warmup",
            "1",
            "--repeat",
            "1",
            "--min-time",
            "0",
            "--max-passes",
            "1",
            "--out",
            str(out),
        ]
    )
    assert out.read_text(encoding="utf-8") == text
    assert "torch" in text and "Command: `python" in text and "ASSUMPTION, not measured" in text
    rows = [line for line in text.splitlines() if line.startswith("| 32 |")]
    main_rows = [r for r in rows if r.count("|") == 11]
    assert [tuple(c.strip() for c in r.split("|")[2:4]) for r in main_rows] == [
        ("moco (2 views)", "0"),
        ("moco (2 views)", "1"),
        ("none", "0"),
        ("none", "1"),
    ]
    for r in main_rows:
        assert "x |" in r and "nan" not in r  # live/PNG and live/RAM ratios are numbers
    feed_rows = [r for r in rows if r.count("|") == 7]
    assert [r.split("|")[2].strip() for r in feed_rows] == ["none"]  # on a GPU the views are cut there
