"""The writability benchmark's scorer: counts compile, render, diagnostics and review verdicts correctly."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("writability", ROOT / "bench" / "writability.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_counts_compile_render_and_verdicts(tmp_path, bench):
    run = tmp_path / "r1"
    run.mkdir()
    (run / "prompt.txt").write_text("the prompt")
    (run / "01-ok.vd").write_text("canvas(width=32, height=32)\ncircle(center=(16, 16), r=8, fill=red)\n")
    (run / "02-syntax.vd").write_text("canvas(width=32 height=32)\n")
    (run / "03-runtime.vd").write_text(
        "canvas(width=32, height=32)\nlet xs = [1, 2]\ncircle(center=(16, 16), r=xs[5])\n"
    )
    (run / "findings.tsv").write_text("01-ok\twrong-silent\tdrew a square\n02-syntax\tok\t\n")
    res = bench.measure(run)
    rows = {r["program"]: r for r in res["rows"]}
    assert (res["programs"], res["first_try_compiled"], res["first_try_rendered"]) == (3, 2, 1)
    assert rows["02-syntax"]["errors"] == 1 and not rows["02-syntax"]["compiled"]
    assert rows["03-runtime"]["compiled"] and not rows["03-runtime"]["rendered"] and rows["03-runtime"]["errors"] == 1
    assert (run / "renders" / "01-ok.png").exists() and not (run / "renders" / "03-runtime.png").exists()
    assert res["verdicts"]["wrong-silent"] == 1 and res["reviewed"] == 2
    assert "silent wrong pictures: 1" in bench.markdown(res)
    json.dumps(res)


def test_unknown_verdict_is_refused(tmp_path, bench):
    (tmp_path / "findings.tsv").write_text("x\tfine\t\n")
    with pytest.raises(SystemExit):
        bench.findings(tmp_path)


def test_concept_list_is_our_own(bench):
    items = bench.concepts(ROOT / "bench" / "writability" / "concepts.txt")
    assert len(items) >= 40
    examples = {p.stem.split("_", 1)[-1].replace("_", " ") for p in (ROOT / "examples").rglob("*.vd")}
    assert not [c for _, c in items if c.removeprefix("a ").removeprefix("an ") in examples]
