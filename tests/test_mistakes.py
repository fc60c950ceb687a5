"""The LLM-mistake corpus: each typical mistake gets its diagnostic code, line and a helpful hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.harness import Case, check_case, diagnose, load_dir

HERE = Path(__file__).parent / "mistakes"
CASES = load_dir(HERE)


def test_corpus_size_and_shape():
    assert len(CASES) >= 50
    assert sum(c.expects_errors for c in CASES) >= 50
    assert len({Path(c.file).stem for c in CASES}) >= 5  # one file per habit: python, js, p5, svg/css, tikz...
    for c in CASES:
        assert c.source.lstrip().startswith("// mistake:"), f"{c.id}: say what the mistake is"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_mistake(case: Case):
    for e in case.expects:
        assert e.text, f"{case.id}: every expectation in the mistake corpus names a hint substring"
    check_case(case)
    _, diags, _ = diagnose(case.source)
    expected = {(e.line, e.code) for e in case.expects}
    for d in diags:
        if (d.span.line, d.code) in expected:
            assert d.hint, f"{case.id}: {d.code} on line {d.span.line} has no hint: {d.message}"
