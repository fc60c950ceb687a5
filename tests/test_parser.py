"""The parser: spans, comments, reserved words, the fast LALR driver agreeing with Lark, and byte-level input."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from vdsl import nodes as n
from vdsl.budgets import DEFAULT
from vdsl.syntax import parse

from parser_pair import fast_accepts, lark_accepts

from conformance.harness import load_dir

ROOT = Path(__file__).resolve().parents[1]
CORPUS = load_dir(ROOT / "tests" / "conformance") + load_dir(ROOT / "tests" / "mistakes")


def ok(src: str) -> n.Program:
    prog, diags = parse(src)
    assert prog is not None, diags
    return prog


def err(src) -> tuple[str, int, int, str, str | None]:
    prog, diags = parse(src)
    assert prog is None and len(diags) == 1, diags
    d = diags[0]
    return d.code, d.span.line, d.span.col, d.message, d.hint


# ---------------------------------------------------------------- AST shape and spans
def test_statement_nodes():
    prog = ok(
        "let a = 1\nparam b: number = 2\na += 3\ndef f(x: point = (1, 2)) -> number { return 1 }\n"
        'for i, v in [1] { }\nif true { } else if false { } else { }\nuse nature\nuse "m.vd"\n'
        "group() { circle(center=(0, 0), r=1) }"
    )
    kinds = [type(s).__name__ for s in prog.stmts]
    assert kinds == ["Let", "ParamStmt", "Assign", "Def", "For", "If", "Use", "Use", "CallStmt"]
    assign, fn, loop, cond, use1, use2, call = prog.stmts[2:]
    assert (assign.name, assign.op) == ("a", "+=")
    assert fn.params[0].type.name == "point" and isinstance(fn.params[0].default, n.PointLit)
    assert fn.returns.name == "number"
    assert (loop.var, loop.var2) == ("i", "v")
    assert isinstance(cond.otherwise[0], n.If) and cond.otherwise[0].otherwise == []
    assert (use1.module, use1.is_path, use2.module, use2.is_path) == ("nature", False, "m.vd", True)
    assert call.call.name == "group" and isinstance(call.block[0], n.CallStmt)


def test_expression_precedence():
    e = ok("let x = 1 + 2 * 3 ** -4 ** 5 < 7 and not a or b ? c : d").stmts[0].value
    assert isinstance(e, n.Ternary)
    orr = e.cond
    assert orr.op == "or" and orr.left.op == "and"
    cmp = orr.left.left
    assert cmp.op == "<" and cmp.left.op == "+"
    mul = cmp.left.right
    assert mul.op == "*" and mul.right.op == "**"
    assert isinstance(mul.right.right, n.Unary)  # 3 ** -(4 ** 5): right-assoc through unary
    assert orr.left.right.op == "not"


def test_spans_are_1_based_and_end_exclusive():
    prog = ok("let a = 1\n  circle(center=(1, 2),\n         r=30)")
    let, call = prog.stmts
    assert let.span[:4] == (1, 1, 1, 10)
    assert call.span[:4] == (2, 3, 3, 15)
    c = call.call
    assert c.name_span[:4] == (2, 3, 2, 9)
    assert [a.span[:2] for a in c.args] == [(2, 10), (3, 10)]
    assert c.args[0].value.span[:4] == (2, 17, 2, 23)


def test_crlf_and_tabs_and_bom():
    prog = ok("\ufefflet a = 1\r\n\tlet b = 2\r\n")
    assert [s.span.line for s in prog.stmts] == [1, 2]
    assert prog.stmts[1].span.col == 2


def test_literals():
    vals = [
        s.value
        for s in ok(
            'let a = 12.5e-1\nlet b = 50%\nlet c = "x\\n\\"y\\\\"\nlet d = \'it\'\n'
            "let e = #ABC\nlet f = true\nlet g = .5"
        ).stmts
    ]
    assert vals[0].value == 1.25 and vals[0].raw == "12.5e-1"
    assert vals[1].value == 0.5 and vals[1].raw == "50%"
    assert vals[2].value == 'x\n"y\\' and vals[3].value == "it"
    assert vals[4].raw == "#ABC" and vals[5].value is True and vals[6].value == 0.5


def test_percent_versus_modulo():
    assert isinstance(ok("let a = 5 %3").stmts[0].value, n.Binary)
    assert isinstance(ok("let a = 5%").stmts[0].value, n.Percent)
    assert isinstance(ok("let a = hsl(1, 5%, 5%)").stmts[0].value.args[1].value, n.Percent)


def test_comments_are_collected_and_docs_attached():
    prog = ok("// one\n/* two\n three */ let a = 1 // three\n// doc line 1\n// doc line 2\ndef f() { }\n")
    assert [(c.line, c.col) for c in prog.comments] == [(1, 1), (2, 1), (3, 21), (4, 1), (5, 1)]
    assert prog.stmts[1].doc == "doc line 1\ndoc line 2"


def test_a_trailing_comment_is_not_the_next_defs_doc():
    prog = ok("let a = 1  // about a\ndef f() { }\n")
    assert prog.stmts[1].doc == ""


# ---------------------------------------------------------------- words and operators
@pytest.mark.parametrize(
    "src", ["let let = 1", "let x = for", "circle(r=in)", "let true = 1", "def use() { }", "for return in [1] { }"]
)
def test_keywords_are_reserved_everywhere(src):
    code, *_, msg, hint = err(src)
    assert code == "E102" and "reserved" in msg and hint


@pytest.mark.parametrize(
    "src",
    [
        "let trueish = 1",
        "let orange2 = 1",
        "let android = 1",
        "let elsewhere = 1",
        "let x = 1\norbit(r=1)",
        "let notx = 1",
        "let lettuce = 1",
        "let x_in = 1",
    ],
)
def test_keywords_only_as_whole_words(src):
    prog = ok(src)
    assert isinstance(prog.stmts[0], n.Let)


def test_or_and_not_spellings():
    e = ok("let x = a || b && !c").stmts[0].value
    assert (e.op, e.right.op, e.right.right.op) == ("or", "and", "not")
    e = ok("let x = a != b").stmts[0].value
    assert e.op == "!="


def test_assignment_versus_keyword_argument():
    prog = ok("f(a=1)\nx = 2\nx += 3")
    assert prog.stmts[0].call.args[0].name == "a"
    assert [s.op for s in prog.stmts[1:]] == ["=", "+="]


# ---------------------------------------------------------------- errors
def test_one_syntax_error_with_a_position():
    assert err("let x = (1 + 2")[:3] == ("E104", 1, 9)
    assert err("circle(center=(1, 2) r=3)")[:3] == ("E102", 1, 22)
    assert err('let s = "abc')[:3] == ("E105", 1, 9)
    assert err('let s = "abc\nlet t = (1')[:3] == ("E105", 1, 9)  # the string, not the bracket after it
    assert err('text("hi, at=(1, 2))')[0] == "E105"
    assert err("let x =")[:2] == ("E103", 1)
    assert err("x = 1 }")[:3] == ("E102", 1, 7)


def test_python_comments_all_reported():
    prog, diags = parse("# one\nlet a = 1\n  # two\nlet c = #fff\n")
    assert prog is None and [(d.code, d.span.line, d.span.col) for d in diags] == [("E107", 1, 1), ("E107", 3, 3)]


def test_bad_bytes_and_characters():
    assert err(b'let s = "\xff"')[0] == "E108"
    assert err("let a = 1\x00")[0] == "E108"
    assert err("let a = \ud800")[0] == "E108"
    assert err("let a = 1 @ 2")[:3] == ("E101", 1, 11)
    assert ok(b'let s = "caf\xc3\xa9"').stmts[0].value.value == "café"


def test_source_size_is_measured_in_bytes():
    src = 'let s = "' + "é" * 140_000 + '"'  # 280 kB of UTF-8 in 140k characters
    assert err(src)[0] == "E400"
    assert err(src.encode())[0] == "E400"


def test_nesting_counts_parentheses():
    assert parse("let x = " + "(" * 60 + "1" + ")" * 60)[0] is not None
    assert err("let x = " + "(" * 70 + "1" + ")" * 70)[0] == "E409"
    assert parse("let x = " + "(" * 70 + "1" + ")" * 70, budgets=DEFAULT.with_overrides(nesting_depth=100))[0]


def test_the_corpus_never_needs_the_generic_error():
    # E100 would mean the fast driver rejected a program that Lark accepts
    for case in CORPUS:
        _, diags = parse(case.source)
        assert all(d.code != "E100" for d in diags), (case.id, diags)


_fast, _lark = fast_accepts, lark_accepts


def test_fast_driver_and_lark_agree_on_the_corpus():
    for case in CORPUS:
        assert _fast(case.source) == _lark(case.source), case.id


def test_parse_is_thread_safe():
    srcs = [f"let a{i} = {i}\n" + "circle(center=(1, 2), r=3)\n" * 50 for i in range(8)]
    results: dict[int, str] = {}

    def work(i):
        for _ in range(20):
            prog, diags = parse(srcs[i], f"f{i}.vd")
            assert prog is not None and prog.stmts[0].name == f"a{i}" and prog.stmts[0].span.file == f"f{i}.vd"
        results[i] = "ok"

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8


def test_empty_and_comment_only_programs_parse_to_no_statements():
    for src in ("", "   \n\n", "// just a comment\n", "/* block */"):
        program, diags = parse(src)
        assert diags == [] and program is not None and program.stmts == []
