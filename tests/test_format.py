"""Formatter: idempotent, keeps the AST (ignoring spans) and every comment, and renders pixel-identically."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

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
            (f.name, dump(getattr(node, f.name))) for f in dataclasses.fields(node) if f.name not in _NOT_AST
        )
    return node


def comments(src: str) -> list[str]:
    """The comments' texts, less the blanks fmt drops: around each, and at the end of their lines."""
    prog, _ = parse(src)
    return ["\n".join(line.rstrip() for line in c.text.split("\n")).strip() for c in prog.comments]


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
            continue  # syntax-error cases have nothing to format
        out = assert_roundtrip(case.source, case.id)
        if not case.expects_errors:
            a, b = vdsl.compile(case.source), vdsl.compile(out)
            assert np.array_equal(a.render(0, size=(48, 48)), b.render(0, size=(48, 48))), case.id
        else:  # formatting keeps the diagnostics too (their lines may move)
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
    assert out == (
        "circle(center=(1, 2), r=3, fill=red)\nlet x = 1 + 2 * 3\n"
        "if x > 2 {\n  rect(w=1, h=2)\n} else {\n  rect(w=2, h=1)\n}\n"
    )


def test_precedence_needs_only_the_parentheses_it_needs():
    out, _ = format_source(
        "let a = ((1 + 2)) * (3)\nlet b = (-2) ** 2\nlet c = -(2 ** 2)\nlet d = (true ? 1 : 2) + 3\n"
        "let e = not (1 == 2)\nlet f = (1 - 2) - (3 - 4)"
    )
    assert out == (
        "let a = (1 + 2) * 3\nlet b = (-2) ** 2\nlet c = -2 ** 2\nlet d = (true ? 1 : 2) + 3\n"
        "let e = not 1 == 2\nlet f = 1 - 2 - (3 - 4)\n"
    )


def test_comments_are_kept_in_place():
    src = (
        "// header: parrot\n\n/* block\n   comment */\nlet a = 1  // trailing\n// before def\n"
        "def f(x: number) {\n  // inside\n  circle(center=(x, x), r=1)\n  // last in block\n}\n// the end\n"
    )
    out = assert_roundtrip(src)
    assert out == src
    prog, _ = parse(out)
    assert prog.stmts[1].doc == "before def"


def test_long_calls_wrap_and_still_parse():
    args = ", ".join(
        f"{k}={v}"
        for k, v in [
            ("x", 100),
            ("y", 200),
            ("w", 300),
            ("h", 400),
            ("r", 12),
            ("fill", "linear((0, 0), (0, 512), [skyblue, white])"),
            ("stroke", "black"),
            ("stroke_width", 3),
        ]
    )
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


# Every line separator str.splitlines knows; only "\n" ends a line (and a `//` comment) in vdsl.
SEPARATORS = ["\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("sep", SEPARATORS, ids=lambda s: repr(s)[1:-1])
def test_comments_stay_comments_for_every_line_separator(sep):
    code = "circle(center=(1, 2), r=3)"
    src = (
        f"// lead{sep}{code}\nlet a = 1  // trailing{sep}{code}\n"
        f"def f() {{\n  // inside{sep}{code}\n  rect(w=1, h=1)\n}}\n/* block{sep}{code}\n  more{sep}x */\n"
        f"// last{sep}{code}"
    )
    out = assert_roundtrip(src, repr(sep))  # the same statements and comments
    prog, _ = parse(out)
    circles = sum(isinstance(st, vdsl.nodes.CallStmt) and st.call.name == "circle" for st in prog.stmts)
    assert circles == (3 if sep == "\r\n" else 0), out  # "\r\n" ends a `//` comment: its "\n" does
    assert len(prog.comments) == 5


@pytest.mark.parametrize(
    "path", ['q\\"uote.vd', "back\\\\slash.vd", "tab\\there.vd", "new\\nline.vd", "plain/dir.vd", "\u2028sep\r.vd"]
)
def test_use_paths_are_printed_escaped(path):
    src = f'use "{path}"\ncircle(center=(1, 2), r=3)\n'
    out = assert_roundtrip(src, path)
    assert parse(out)[0].stmts[0].module == parse(src)[0].stmts[0].module


def test_single_quoted_use_path():
    out = assert_roundtrip("use 'it\\'s \"here\".vd'\n")
    assert out == 'use "it\'s \\"here\\".vd"\n'


def test_quote_reads_back_as_the_same_value():
    from vdsl.syntax import _unescape, quote

    for value in ["", 'a"b', "a\\b", "\\", '\\"', "x\ny\tz", "\r\v\f\x85\u2028", "'"]:
        assert _unescape(quote(value)) == value
        prog, diags = parse(f"let a = {quote(value)}")
        assert not diags and prog.stmts[0].value.value == value


def test_field_of_a_number_keeps_its_parentheses():
    """`(1).e5` is a field of a number; printed as `1.e5` it would read as the number 100000."""
    out = assert_roundtrip("let a = (1).e5\nlet b = (2.).x\n")
    assert "(1).e5" in out


_COMMENT_TEXT = st.lists(
    st.sampled_from(list("ab */(){}=\"'\\;") + SEPARATORS + ["circle(center=(1, 1), r=1)"]), max_size=12
).map("".join)


@st.composite
def commented_program(draw):
    """A generated program with comments (any separator inside them) between and after its lines,
    and a text whose string needs escapes."""
    lines = draw(program()).rstrip("\n").split("\n")
    out = []
    for line in lines:
        if draw(st.booleans()):
            text = draw(_COMMENT_TEXT).replace("\n", " ")
            out.append(f"// {text}" if draw(st.booleans()) else f"/* {text.replace('*/', '* /')} */")
        tail = draw(_COMMENT_TEXT).replace("\n", " ")
        out.append(line + (f"  // {tail}" if draw(st.booleans()) else ""))
    value = draw(st.text(alphabet='ab"\\\t\r\u2028 ', max_size=8))
    from vdsl.syntax import quote

    out.append(f"text(text={quote(value)}, at=(5, 10), size=8)")
    return "\n".join(out) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commented_program())
def test_generated_programs_with_comments_and_escapes_keep_their_scene(src):
    out = assert_roundtrip(src)
    a, b = vdsl.compile(src), vdsl.compile(out)
    assert [d.code for d in a.diagnostics] == [d.code for d in b.diagnostics]
    if a.ok:
        assert a.scene(0).to_json() == b.scene(0).to_json()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_keep_their_scene(path):
    src = path.read_text(encoding="utf-8")
    out, _ = format_source(src)
    assert vdsl.compile(src).scene(0).to_json() == vdsl.compile(out).scene(0).to_json()


def test_fmt_write_replaces_files_atomically(tmp_path, monkeypatch):
    import os

    from click.testing import CliRunner

    from vdsl.cli import main

    f = tmp_path / "a.vd"
    f.write_text("let  a=1\n// note\u2028circle(center=(1, 2), r=3)\n", encoding="utf-8")
    f.chmod(0o640)
    replaced = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append(Path(b)), real(a, b)))
    result = CliRunner().invoke(main, ["fmt", "--write", str(f)])
    assert result.exit_code == 0, result.output
    assert replaced == [f]
    assert f.read_text(encoding="utf-8") == "let a = 1\n// note\u2028circle(center=(1, 2), r=3)\n"
    assert f.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.vd"]  # no temporary file left behind
