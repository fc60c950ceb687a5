"""Formatter: idempotent, keeps the AST (ignoring spans) and every comment, and renders pixel-identically."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import vdsl
from vdsl.format import format_source
from vdsl.syntax import parse

from conformance.harness import load_cases
from conformance.programs import program

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.vd"))
DATA_FILES = sorted((ROOT / "tests" / "conformance").glob("*.vd")) + sorted((ROOT / "tests" / "mistakes").glob("*.vd"))
_NOT_AST = ("span", "name_span", "comments", "doc", "file")


def dump(node):
    """The AST as nested tuples, without positions (spans) or comments."""
    if isinstance(node, list):
        return [dump(x) for x in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple(
            (f.name, dump(getattr(node, f.name))) for f in dataclasses.fields(node) if f.name not in _NOT_AST)
    return node


def comments(src: str) -> list[str]:
    prog, _ = parse(src)
    return [c.text.strip() for c in prog.comments]


def assert_roundtrip(src: str, where: str = "") -> str:
    before, diags = parse(src)
    assert before is not None, diags
    out, diags = format_source(src)
    assert out is not None, (where, diags)
    again, _ = format_source(out)
    assert again == out, f"{where}: fmt is not idempotent"
    after, diags = parse(out)
    assert after is not None, (where, diags, out)
    assert dump(after) == dump(before), f"{where}: fmt changed the program\n{out}"
    assert comments(out) == comments(src), f"{where}: fmt lost or reordered comments"
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_roundtrip_and_render_identically(path):
    src = path.read_text(encoding="utf-8")
    out = assert_roundtrip(src, path.name)
    a, b = vdsl.compile(src), vdsl.compile(out)
    assert a.ok and b.ok
    assert np.array_equal(a.render(1, size=(96, 96)), b.render(1, size=(96, 96)))


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_data_programs_roundtrip(path):
    for case in load_cases(path):
        if parse(case.source)[0] is None:
            continue                          # syntax-error cases have nothing to format
        out = assert_roundtrip(case.source, case.id)
        if not case.expects_errors:
            a, b = vdsl.compile(case.source), vdsl.compile(out)
            assert np.array_equal(a.render(0, size=(48, 48)), b.render(0, size=(48, 48))), case.id
        else:   # formatting keeps the diagnostics too (their lines may move)
            want = sorted(d.code for d in vdsl.compile(case.source).diagnostics)
            assert sorted(d.code for d in vdsl.compile(out).diagnostics) == want, case.id


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program())
def test_generated_programs_roundtrip(src):
    out = assert_roundtrip(src)
    a, b = vdsl.compile(src), vdsl.compile(out)
    assert a.scene(0).to_json() == b.scene(0).to_json()


def test_canonical_spacing():
    out, _ = format_source("circle(center=(1,2),r=3,fill=red);let  x=1+2*3\nif x>2{rect(w=1,h=2)}else{rect(w=2,h=1)}")
    assert out == ("circle(center=(1, 2), r=3, fill=red)\nlet x = 1 + 2 * 3\n"
                   "if x > 2 {\n  rect(w=1, h=2)\n} else {\n  rect(w=2, h=1)\n}\n")


def test_precedence_needs_only_the_parentheses_it_needs():
    out, _ = format_source("let a = ((1 + 2)) * (3)\nlet b = (-2) ** 2\nlet c = -(2 ** 2)\nlet d = (true ? 1 : 2) + 3\n"
                           "let e = not (1 == 2)\nlet f = (1 - 2) - (3 - 4)")
    assert out == ("let a = (1 + 2) * 3\nlet b = (-2) ** 2\nlet c = -2 ** 2\nlet d = (true ? 1 : 2) + 3\n"
                   "let e = not 1 == 2\nlet f = 1 - 2 - (3 - 4)\n")


def test_comments_are_kept_in_place():
    src = ("// header: parrot\n\n/* block\n   comment */\nlet a = 1  // trailing\n// before def\n"
           "def f(x: number) {\n  // inside\n  circle(center=(x, x), r=1)\n  // last in block\n}\n// the end\n")
    out = assert_roundtrip(src)
    assert out == src
    prog, _ = parse(out)
    assert prog.stmts[1].doc == "before def"


def test_long_calls_wrap_and_still_parse():
    args = ", ".join(f"{k}={v}" for k, v in [("x", 100), ("y", 200), ("w", 300), ("h", 400), ("r", 12),
                                              ("fill", "linear((0, 0), (0, 512), [skyblue, white])"),
                                              ("stroke", "black"), ("stroke_width", 3)])
    out = assert_roundtrip(f"rect({args})")
    assert out.startswith("rect(\n  x=100, y=200,") and out.endswith("\n)\n")
    assert all(len(line) <= 100 for line in out.splitlines())
    assert max(len(line) for line in out.splitlines()) <= 100


def test_blank_lines_are_kept_but_collapsed():
    out = assert_roundtrip("let a = 1\n\n\n\nlet b = 2\nlet c = 3\n")
    assert out == "let a = 1\n\nlet b = 2\nlet c = 3\n"


def test_syntax_errors_are_not_formatted():
    out, diags = format_source("circle(center=(1, 2) r=3)")
    assert out is None and [d.code for d in diags] == ["E102"]
