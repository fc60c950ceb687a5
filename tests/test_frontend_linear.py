"""The front end on big adversarial inputs: every one ends in an AST or the right diagnostic, with work linear in its size."""

from __future__ import annotations

import importlib.util

import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import vdsl
from vdsl.budgets import DEFAULT
from vdsl.fastparse import _linear
from vdsl.pathdata import parse_path_data
from vdsl.fastparse import SyntaxFailure
from vdsl.syntax import _LOCK, PARSER, _PLAIN, _lark_diagnostic, parse

from conformance.harness import load_cases

ROOT = Path(__file__).resolve().parents[1]

BIG = DEFAULT.source_bytes - 64  # room for the text around the repeated part


def fill(head: str, unit: str, tail: str = "", size: int = BIG) -> str:
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def codes(src: str) -> list[str]:
    return sorted({d.code for d in vdsl.compile(src).diagnostics})


# (source, the diagnostic codes compile ends in; [] = it compiles). One token, a whole source long.
BIG_TOKENS = {
    "200k-digit number": (fill("let a = ", "7"), ["E305"]),  # too big for a float: out of range
    "number then %": (fill("let a = ", "7", "%"), ["E305"]),
    "long fraction": (fill("let a = 0.", "7", "e5"), []),
    "long string": (fill('let a = "', "x", '"'), []),
    "unclosed string": (fill('let a = "', "x"), ["E105"]),
    "long name": (fill("let ", "a", " = 1"), []),
    "long // comment": (fill("// ", "c", "\nlet a = 1"), []),
    "long /* comment */": (fill("/* ", "c\n", "*/ let a = 1"), []),
    "long use path": (fill('use "', "p", '.vd"'), ["E218"]),
    "long colour": (fill("let a = #", "f", "g"), ["E106"]),
    "digits then a bad character": (fill("let a = ", "7", " @"), ["E101"]),
    "long name then a bad token": (fill("", "a", " = = 1"), ["E102"]),
    "digits then #": (fill("let a = ", "7", "#"), ["E106"]),
}


@pytest.mark.parametrize("name", BIG_TOKENS)
def test_one_huge_token_ends_in_its_outcome(name):
    src, want = BIG_TOKENS[name]
    assert len(src.encode()) <= DEFAULT.source_bytes
    assert codes(src) == want


MID = 64 * 1024
BIG_PROGRAMS = {
    "many statements": (fill("", "circle(center=(1, 2), r=3)\n", size=MID), []),
    "many statements on one line": (fill("", "circle(center=(1, 2), r=3); ", size=MID), []),
    "long list on one line": (fill("let a = [0", ", 1", "]", size=MID), []),
    "deep nesting at the budget, repeated": (
        "".join(f"let a{i} = " + "(" * 62 + "1" + ")" * 62 + "\n" for i in range(MID // 140)),
        [],
    ),
    "brackets over the nesting budget": (fill("let a = ", "(", size=MID), ["E409"]),
    "unary chain over the nesting budget": (fill("let a = ", "-", "1", size=MID), ["E409"]),
    "unclosed /* many times": (fill("let a = 1 ", "/* ", size=MID), ["E102"]),
    "dotted use": (fill("use a", ".a", size=MID), ["E208"]),
    "path data": (fill('path(d="M 0 0', " L 1 2", '")', size=MID), []),
    "ends in the middle of a statement": (fill("", "let a = 1\n", "let b = ", size=MID), ["E103"]),
    "colon block at the end": (fill("", "let a = 1\n", "if a > 1:", size=MID), ["E102"]),
    "unary chain, then a bad token": (fill("let a = ", "-", ")", size=MID), ["E102"]),
    "unbalanced calls": (fill("", "f(", size=MID), ["E409"]),
    "many unknown names": (
        "".join(f"let v{i} = {i}\n" for i in range(MID // 32))
        + "let z = ["
        + ", ".join(f"w{i}" for i in range(MID // 32))
        + "]",
        ["E200"],
    ),
}


@pytest.mark.parametrize("name", BIG_PROGRAMS)
def test_big_program_ends_in_its_outcome(name):
    src, want = BIG_PROGRAMS[name]
    assert codes(src) == want


def test_a_huge_number_is_a_number_when_it_fits():
    prog, diags = parse("let a = 0." + "7" * 200_000 + "%")
    assert not diags and prog.stmts[0].value.value == pytest.approx(7 / 900)


def test_unclosed_block_comments_still_lex_as_slash_star():
    """After a `/*` that is never closed, the rest lexes as before: `/` and `*` operators, names."""
    toks = [t.type for t in PARSER.tokens("a /* /* b */ c /* d /* e")]
    assert toks == ["NAME", "NAME", "MUL_OP", "MUL_OP", "NAME", "MUL_OP", "MUL_OP", "NAME", "$END"]


def _failure(src: str):
    try:
        PARSER.parse(src)
    except SyntaxFailure as e:
        return e
    return None


PREFIXES = ["", "let a = 1\n", "// note\ndef f(x: number) {\n  return x\n}\nlet a = 1; let b = [1,\n 2]\n"]


def test_lark_from_the_last_statement_explains_errors_as_lark_from_the_start():
    """Lark re-parses from the last complete statement: the same diagnostic as a re-parse of it all."""
    checked = 0
    paths = sorted((ROOT / "tests" / "mistakes").glob("*.vd")) + sorted((ROOT / "tests" / "conformance").glob("*.vd"))
    for case in (c for path in paths for c in load_cases(path)):
        for prefix in PREFIXES:
            src = prefix + case.source
            with _LOCK:
                failure = _failure(src)
            if failure is None or failure.resume is None:
                continue
            assert _lark_diagnostic(src, "x.vd", failure.resume) == _lark_diagnostic(src, "x.vd"), case.id
            checked += 1
    assert checked > 50


def test_defs_on_one_line_share_their_doc():
    src = "// doc line\n" * 500 + "def f() {} " + " ".join(f"def g{i}() {{}}" for i in range(2000))
    prog, diags = parse(src)
    assert not diags and {st.doc for st in prog.stmts} == {"\n".join(["doc line"] * 500)}


# ---------------------------------------------------------------- work, counted (not timed)
def _bench():
    """bench/bench_frontend.py, whose call counter is the measure of work both use."""
    spec = importlib.util.spec_from_file_location("bench_frontend", ROOT / "bench" / "bench_frontend.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


calls = _bench().count_calls

SHAPES = {
    "statements": lambda k: "circle(center=(1, 2), r=3)\n" * k,
    "list": lambda k: "let a = [" + ", ".join(["1"] * k) + "]",
    "nesting at the budget": lambda k: "".join(
        f"let a{i} = " + "(" * 60 + "1" + ")" * 60 + "\n" for i in range(k // 8)
    ),
    "unknown names": lambda k: (
        "".join(f"let v{i} = {i}\n" for i in range(k)) + "let z = [" + ", ".join(f"w{i}" for i in range(k)) + "]"
    ),
    "unknown arguments of a def with many parameters": lambda k: (
        "def f("
        + ", ".join(f"p{i}: number = 0" for i in range(k))
        + ") {}\n"
        + "f("
        + ", ".join(f"q{i}=1" for i in range(k))
        + ")"
    ),
    "broken at the end": lambda k: "let a = 1\n" * k + "let b = ",
    "bad colon at the end": lambda k: "let a = 1\n" * k + "if a > 1:",
}


@pytest.mark.parametrize("name", SHAPES)
def test_work_grows_linearly(name):
    make = SHAPES[name]
    small, big = calls(make(400)), calls(make(1600))
    assert big <= 4 * small * 1.25, (small, big)


def test_token_count_is_linear_in_the_statements():
    one = len(PARSER.tokens("circle(center=(1, 2), r=3)\n"))
    assert len(PARSER.tokens("circle(center=(1, 2), r=3)\n" * 5000)) == 5000 * (one - 1) + 1


def test_path_data_work_is_linear():
    d = "M 0 0" + " L 1 2" * 20_000
    assert len(parse_path_data(d)) == 20_001


# ---------------------------------------------------------------- the lexer's possessive loops
TERMS = {
    t.name: t.pattern.to_regexp()
    for t in _PLAIN.terminals
    if t.name in ("PERCENT", "NUMBER", "STRING", "COLOR", "COMMENT")
}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(TERMS)), st.text(alphabet="0123456789.%eE+-\"'\\ \nabfgx#_(/*", max_size=30))
def test_possessive_terminals_match_what_the_grammar_matches(term, text):
    grammar, lexer = re.compile(TERMS[term]), re.compile(_linear(TERMS[term]))
    assert _linear(TERMS[term]) != TERMS[term]  # each of these had a backtracking loop
    for i in range(len(text) + 1):
        a, b = grammar.match(text, i), lexer.match(text, i)
        assert (a and a.group(0)) == (b and b.group(0)), (text, i)
