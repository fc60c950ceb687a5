"""Conformance suite: every program in tests/conformance/*.vd gives exactly its inline `//~` diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.harness import Case, check_case, load_cases, load_dir, parse_expectations

HERE = Path(__file__).parent / "conformance"
CASES = load_dir(HERE)


def test_the_suite_is_substantial():
    files = sorted(HERE.glob("*.vd"))
    assert len(files) >= 10
    assert len(CASES) >= 150
    assert sum(not c.expects_errors for c in CASES) >= 50  # programs that must render
    codes = {e.code for c in CASES for e in c.expects}
    for code in (
        "E101",
        "E102",
        "E103",
        "E104",
        "E105",
        "E106",
        "E107",
        "E200",
        "E201",
        "E202",
        "E203",
        "E204",
        "E205",
        "E206",
        "E207",
        "E208",
        "E209",
        "E210",
        "E211",
        "E212",
        "E213",
        "E214",
        "E215",
        "E216",
        "E217",
        "E218",
        "E301",
        "E302",
        "E303",
        "E304",
        "E305",
        "E306",
        "E402",
        "E403",
        "E404",
        "E406",
        "E407",
        "E408",
        "E410",
    ):
        assert code in codes, f"no conformance program expects {code}"


def test_every_expectation_pins_its_span():
    loose = [f"{c.id}: {e.code} on line {e.line}" for c in CASES for e in c.expects if e.span is None]
    assert loose == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_program(case: Case):
    check_case(case)


# ---------------------------------------------------------------- the harness itself can fail
def _case(src: str) -> Case:
    return Case("<self-test>", 0, 1, src, parse_expectations(src))


def test_expectation_syntax():
    exp = parse_expectations("a  //~ E202 did you mean\nb //~ E204 //~ E203\nc\n//~^^ E100")
    assert [(e.line, e.code, e.text) for e in exp] == [
        (1, "E202", "did you mean"),
        (2, "E204", ""),
        (2, "E203", ""),
        (2, "E100", ""),
    ]
    with pytest.raises(ValueError):
        parse_expectations("x //~ nonsense")
    with pytest.raises(ValueError):
        parse_expectations("x //~ E999")


def test_files_split_on_dashes(tmp_path):
    f = tmp_path / "t.vd"
    f.write_text("let a = 1\n---\n\n---\nlet b = 2  //~ E207\n  ---  \nlet c = 3\n")
    cases = load_cases(f)
    assert [c.source.strip() for c in cases] == ["let a = 1", "let b = 2  //~ E207", "let c = 3"]
    assert [c.first_line for c in cases] == [1, 5, 7]


@pytest.mark.parametrize(
    "src",
    [
        "circle(center=(1, 2), radius=3)",  # an error nobody expected
        "circle(center=(1, 2), r=3, fill=red)  //~ E202",  # an expected error that does not happen
        "circle(center=(1, 2), radius=3)  //~ E203",  # the wrong code
        "\ncircle(center=(1, 2), radius=3)  //~^ E202",  # the wrong line
        "circle(center=(1, 2), radius=3)  //~ E202 banana",  # the hint does not say it
        "circle(center=(1, 2), radius=3)  //~ E202 @22-31",  # the wrong column
        "circle(center=(1, 2), radius=3)  //~ E202 @23-30",  # the wrong end
        "rect(x=0, y=0, w=10, h=10, fill=white)",  # renders blank (white on white)
        "let x = 1",  # draws nothing
    ],
)
def test_harness_rejects(src):
    with pytest.raises(AssertionError):
        check_case(_case(src))


def test_harness_accepts_runtime_faults():
    check_case(_case("let xs = [1]\nlet y = xs[3]  //~ E302 outside"))


def test_harness_accepts_a_pinned_span():
    check_case(_case("circle(center=(1, 2), radius=3)  //~ E202 @23-31 did you mean"))
    assert parse_expectations("x //~ E202 @3-2:7 hint")[0].span == (3, 2, 7)
