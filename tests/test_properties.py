"""Property tests: any input gives a scene or diagnostics (never an exception); both parsers agree."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, example, given, settings, strategies as st

import vdsl
from vdsl import syntax

from parser_pair import fast_accepts, lark_accepts

from conformance.programs import program

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _lines(src) -> int:
    text = src if isinstance(src, str) else src.decode("utf-8", "replace")
    return text.count("\n") + 1


def assert_total(src, seed: int = 0):
    """compile + evaluate never raise; the result is a scene or at least one error with a real span."""
    prog = vdsl.compile(src)
    assert isinstance(prog.ok, bool)
    if not prog.ok:
        errors = [d for d in prog.diagnostics if d.is_error]
        assert errors, "a program that is not ok must say why"
        _assert_spans(errors, src)
        return prog, None
    scene, diags = prog.evaluate(seed)
    if scene is None:
        assert any(d.is_error for d in diags)
        _assert_spans([d for d in diags if d.is_error], src)
    return prog, scene


def _assert_spans(diags, src):
    n = _lines(src)
    for d in diags:
        assert d.code.startswith("E") and len(d.code) == 4, d
        sp = d.span
        assert 1 <= sp.line <= n + 1 and sp.col >= 1, (d, n)
        assert (sp.end_line, sp.end_col) >= (sp.line, sp.col), d


@FAST
@given(st.binary(max_size=300))
@example(b"\xff\xfe\x00")
@example(b"circle(center=(1,2), r=3)\x00")
@example("let x = \u00e9".encode("latin-1"))
def test_random_bytes(data):
    assert_total(data)


@FAST
@given(st.text(max_size=200))
@example("\ud800")
@example("\ufeffcircle(center=(1, 2), r=3)")
@example("let x = 1\r\nlet y = 2\r\n")
def test_random_unicode(text):
    assert_total(text)


# Tokens the grammar knows (keywords and operators come from the parser's own tables), plus literals.
_TOKENS = sorted(set(syntax.PARSER.keywords) | set(syntax.PARSER.op_types)) + [
    "x",
    "y",
    "circle",
    "rect",
    "group",
    "range",
    "center",
    "r",
    "fill",
    "red",
    "f",
    "blur",
    "0",
    "1",
    "2.5",
    "1e3",
    "50%",
    '"s"',
    "'t'",
    "#f80",
    "#ff880080",
    "#12345",
    "\n",
    "// c\n",
    "/* c */",
]
_soup = st.lists(st.sampled_from(_TOKENS), max_size=40).map(" ".join)


_fast_accepts, _lark_accepts = fast_accepts, lark_accepts


@settings(max_examples=200, deadline=None)
@given(_soup)
@example("let x = true || false")  # `||` once fell apart into empty operators
@example("let let = 1")  # keywords are reserved everywhere
@example("let x = 1\norbit(r=1)")  # ... but only as whole words
@example("let x = 1 != 2")
@example("f(a=1)\nx += 2")  # `=` is EQUAL in arguments, ASSIGN_OP in statements
def test_token_soup(src):
    assert _fast_accepts(src) == _lark_accepts(src), src
    assert_total(src)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program(), st.integers(0, 2**31 - 1))
def test_generated_programs_compile_evaluate_and_render(src, seed):
    prog = vdsl.compile(src)
    assert prog.ok, (src, prog.diagnostics)
    scene, diags = prog.evaluate(seed)
    assert scene is not None, (src, diags)
    assert not any(d.is_error for d in diags)
    img = prog.render(seed, size=(48, 48))
    assert img.shape == (48, 48, 4) and img.dtype == np.uint8


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program())
def test_generated_programs_survive_truncation(src):
    # every prefix of a valid program is handled: a scene or diagnostics, never an exception
    for cut in sorted({len(src) // 3, len(src) // 2, len(src) - 2}):
        assert_total(src[: max(0, cut)])


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["nan", "inf", "-inf", "1e308", "-1e308", "1e-308", "0", "-0"]),
    st.sampled_from(
        [
            "circle(center=({v}, {v}), r=abs({v}))",
            "let q = {v} * {v} + {v} / 3",
            "rect(x={v}, y=0, w=abs({v}), h=10, rotate={v})",
            "let p = polar((0, 0), {v}, {v})",
            "text(str({v}), at=(0, {v}))",
            "group(scale={v}) {{ circle(center=(1, 1), r=1) }}",
            "let g = gauss({v}, {v}) + rand({v}, {v})",
            "let s = sqrt(abs({v})) + exp(min({v}, 10))",
        ]
    ),
)
def test_extreme_numbers(v, template):
    src = template.format(v=v)
    prog, scene = assert_total(src)
    if scene is not None:
        prog.render(0, size=(16, 16))


def test_huge_dash_renders():
    prog = vdsl.compile("rect(w=10, h=10, stroke=red, dash=[3, 1e308])")
    assert prog.ok
    prog.render(0, size=(16, 16))
