"""Adversarial programs (bench/adversarial) and saved fuzz findings (tests/fuzz_regressions) end as expected.

Each program runs compile → evaluate → render in a forked child under a hard kill, so the suite cannot hang;
the assertion is the outcome (an image, or a diagnostic with an expected code), never a time. Programs that
today hang, blow up or raise are marked xfail (non-strict) and get a short kill instead: the cost-model and
render-work branches fix them, and the merger removes their names from KNOWN_FAILING."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = Path(__file__).resolve().parent / "fuzz_regressions"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, mod)
    spec.loader.exec_module(mod)
    return sys.modules[name]


bench = _load("bench_adversarial")
fuzz = _load("fuzz")

# Programs and saved fuzz findings that fail today (hang, exception, or the wrong outcome), with what
# would fix them; see bench/results/adversarial.md. Empty: every one ends as expected.
KNOWN_FAILING: dict[str, str] = {}
KNOWN_FAILING_FUZZ: dict[str, str] = {}
SAFETY_KILL = 30.0  # CPU seconds for a program expected to pass: killed only if something is badly wrong
FAILING_KILL = 1.0  # CPU seconds for a known failure: do not spend the suite's time waiting for it
WALL = 3.0  # ... or this many times that in wall time
MEM = 4 << 30

ADV = bench.programs()
FUZZ = sorted(REGRESSIONS.glob("*.vd"))


def _mark(name: str, failing: dict) -> list:
    return [pytest.mark.xfail(strict=False, reason=failing[name])] if name in failing else []


@pytest.fixture(scope="module")
def adversarial_results() -> dict:
    """Every adversarial program, run four children at a time (the outcome does not depend on timing)."""
    timeouts = [FAILING_KILL if p.stem in KNOWN_FAILING else SAFETY_KILL for p in ADV]
    return {r["name"]: r for r in bench.run_programs(ADV, timeouts, MEM, None, parallel=4, wall_factor=WALL)}


def _expectation(path: Path) -> list[str]:
    return [
        e.strip()
        for e in (bench.header(path.read_text(encoding="utf-8", errors="replace")).get("expect") or "image|diag").split(
            "|"
        )
    ]


@pytest.fixture(scope="module")
def fuzz_results() -> dict:
    srcs = [p.read_text(encoding="utf-8", errors="replace") for p in FUZZ]
    timeouts = [FAILING_KILL if p.stem in KNOWN_FAILING_FUZZ else SAFETY_KILL for p in FUZZ]
    out = bench.run_many(fuzz.check_case, srcs, timeouts, MEM, None, parallel=4, wall_factor=WALL)
    return {p.stem: r for p, r in zip(FUZZ, out)}


def test_every_program_declares_its_class_and_expectation():
    assert len(ADV) >= 30
    for p in ADV:
        h = bench.header(p.read_text(encoding="utf-8"))
        assert h.get("class") and h.get("expect"), p.name
    assert not (set(KNOWN_FAILING) - {p.stem for p in ADV}), "KNOWN_FAILING names a program that is gone"
    assert not (set(KNOWN_FAILING_FUZZ) - {p.stem for p in FUZZ}), "KNOWN_FAILING_FUZZ names a file that is gone"


def _ends_as_expected(r: dict, expect: list[str]) -> bool:
    """The expected outcome; or the wall-clock deadline (E412), the second line of defence, which a loaded
    machine can reach before a work budget does (the bench reports it; the CPU-time kill is the hang check)."""
    return bench.passes(r, expect) or r.get("codes") == ["E412"]


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=_mark(p.stem, KNOWN_FAILING)) for p in ADV])
def test_adversarial_program(path: Path, adversarial_results):
    r = adversarial_results[path.stem]
    assert r["outcome"] in ("image", "diag"), f"{r['outcome']}: {r.get('detail')}"
    assert _ends_as_expected(r, r["expect"]), (
        f"expected {'|'.join(r['expect'])}, got {r.get('codes') or r['outcome']}: {r.get('detail')}"
    )


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=_mark(p.stem, KNOWN_FAILING_FUZZ)) for p in FUZZ])
def test_fuzz_regression(path: Path, fuzz_results):
    """No exception, no hang, the formatter keeps the meaning; and the outcome is the expected one."""
    r = fuzz_results[path.stem]
    assert not fuzz.is_finding(r) and r["outcome"] in ("image", "diag"), f"{r['outcome']}: {r.get('detail')}"
    expect = _expectation(path)
    assert _ends_as_expected(r, expect), f"expected {'|'.join(expect)}, got {r.get('codes') or r['outcome']}"


def test_the_harness_reports_what_it_sees():
    """The sandbox tells an image, a diagnostic, an exception and a hang apart (so the tests above can fail)."""
    cases = ["circle(center=(1, 1), r=1)\n", "let x = 1 / 0\n", "polygon(points=[(1, 2)] * 2)\n"]
    out = bench.run_many(bench.render_outcome, [{"source": s} for s in cases], [SAFETY_KILL] * 3, MEM)
    assert [r["outcome"] for r in out[:2]] == ["image", "diag"] and out[1]["codes"] == ["E303"]
    assert out[2]["outcome"] == "diag"
    hang = bench.run_child(_spin, None, timeout=0.5)
    assert hang["outcome"] == "killed"
    boom = bench.run_child(_raise, None, timeout=SAFETY_KILL)
    assert boom["outcome"] == "exception" and "ZeroDivisionError" in boom["detail"]
    assert bench.passes({"outcome": "diag", "codes": ["E401"]}, ["E411", "E401"])
    assert bench.passes({"outcome": "diag", "codes": ["E208"]}, ["diag"])
    assert not bench.passes({"outcome": "diag", "codes": ["E208"]}, ["E401", "image"])
    assert not bench.passes({"outcome": "image"}, ["E411"])


def _spin(_):
    while True:
        pass


def _raise(_):
    return 1 // 0
