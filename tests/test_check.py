"""The checker: every builtin's arguments against the signature table, types, names, and all errors in one pass."""

from __future__ import annotations

import pytest

import vdsl
from vdsl.builtins import TABLE, Builtin
from vdsl.diagnostics import CODES
from vdsl.hints import did_you_mean
from vdsl.types import BOOL, COLOR, NUMBER, POINT, STRING, assignable, list_of

BUILTINS = [b for b in TABLE.values() if b.aliases_of is None]
WRONG = [('"text"', STRING), ("(1, 2)", POINT), ("5", NUMBER), ("true", BOOL)]
SAMPLE = {
    "number": "1",
    "bool": "true",
    "string": '"round"',
    "color": "red",
    "point": "(1, 2)",
    "paint": "red",
    "any": "1",
}


def sample(t) -> str:
    if t.name == "list":
        return "[" + sample(t.elem) + ", " + sample(t.elem) + "]" if t.elem is not None else "[1]"
    if t.name == "union":
        return sample(t.options[0])
    return SAMPLE[t.name]


def good_args(b: Builtin) -> list[str]:
    """Keyword arguments for every required parameter, with values of the right type."""
    out = []
    for p in b.params:
        if p.required:
            v = f'"{p.choices[0]}"' if p.choices else sample(p.type)
            if p.name == "d":
                v = '"M 0 0 L 10 10"'
            out.append(f"{p.name}={v}")
    return out


# Block builtins that stand only in a context (vdsl/check_clips.py): the program around the call.
CONTEXT = {
    "clip": lambda text: text.replace("{ ", "{ clip_shape() { circle(center=(1, 1), r=1) } ", 1),
    "clip_shape": lambda text: f"clip() {{ {text} circle(center=(1, 1), r=1) }}",
    "cutout": lambda text: f"circle(center=(1, 1), r=1)\n{text}",
}


def call(b: Builtin, args: list[str], block: bool | None = None) -> str:
    text = f"{b.name}({', '.join(args)})"
    if block if block is not None else b.block:
        text += " { circle(center=(1, 1), r=1) }"
    if b.name in CONTEXT:
        return CONTEXT[b.name](text)
    returns = b.returns if not callable(b.returns) else None
    if returns is not None and returns.name == "none":
        return text
    return f"let v = {text}" if not b.block else text


def codes(src: str) -> list[str]:
    return sorted({d.code for d in vdsl.compile(src).diagnostics})


def variadic_ok(b):
    return f"let v = {b.name}(1, 2)"


@pytest.mark.parametrize("b", BUILTINS, ids=lambda b: b.name)
def test_builtin_accepts_its_own_signature(b):
    src = variadic_ok(b) if b.variadic is not None else call(b, good_args(b))
    assert codes(src) == [], src


@pytest.mark.parametrize("b", BUILTINS, ids=lambda b: b.name)
def test_builtin_unknown_and_duplicate_arguments(b):
    if b.variadic is not None:
        assert codes(f"let v = {b.name}(1, bogus=2)") == ["E202"]
        assert codes(f"let v = {b.name}()") == ["E203"]
        assert codes(f'let v = {b.name}(1, "x")') == ["E205"]
        return
    args = good_args(b)
    assert codes(call(b, args + ["bogus_arg=1"])) == ["E202"]
    if not b.params:  # nothing to give twice
        return
    first = b.params[0]
    dup = (
        args + [f"{first.name}={sample(first.type)}"]
        if first.required
        else args + [f"{first.name}={sample(first.type)}"] * 2
    )
    assert codes(call(b, dup)) == ["E206"]


@pytest.mark.parametrize("b", [b for b in BUILTINS if any(p.required for p in b.params)], ids=lambda b: b.name)
def test_builtin_missing_required(b):
    for p in b.params:
        if p.required:
            args = [a for a in good_args(b) if not a.startswith(p.name + "=")]
            diags = vdsl.compile(call(b, args)).diagnostics
            assert [d.code for d in diags] == ["E203"], (p.name, diags)
            assert f"`{p.name}`" in diags[0].message and diags[0].hint


@pytest.mark.parametrize("b", [b for b in BUILTINS if b.variadic is None and b.params], ids=lambda b: b.name)
def test_builtin_wrong_type(b):
    for p in b.params:
        wrong = next((lit for lit, t in WRONG if not assignable(t, p.type)), None)
        if wrong is None:
            continue  # `any` takes everything
        args = [a for a in good_args(b) if not a.startswith(p.name + "=")] + [f"{p.name}={wrong}"]
        want = "E216" if wrong == '"text"' and assignable(COLOR, p.type) else "E205"  # "text" is no colour
        assert codes(call(b, args)) == [want], (p.name, call(b, args))


@pytest.mark.parametrize("b", [b for b in BUILTINS if b.variadic is None], ids=lambda b: b.name)
def test_builtin_positional_limit(b):
    extra = [sample(p.type) for p in b.params[: b.positional]] + ["1"] * (1 if b.positional < len(b.params) else 0)
    if b.positional == len(b.params):
        extra.append("1")
    src = call(
        b, extra + [a for a in good_args(b) if not any(a.startswith(p.name + "=") for p in b.params[: b.positional])]
    )
    assert "E204" in codes(src), src


@pytest.mark.parametrize("b", BUILTINS, ids=lambda b: b.name)
def test_builtin_blocks(b):
    if b.variadic is not None:
        return
    args = good_args(b)
    if b.block:
        assert codes(call(b, args, block=False)) == ["E210"]
        assert codes(f"let v = {b.name}({', '.join(args)})") == ["E205", "E214"]
    else:
        stmt = f"{b.name}({', '.join(args)}) {{ circle(center=(1, 1), r=1) }}"
        assert codes(stmt) == ["E209"], stmt


ENUMS = [(b, p) for b in BUILTINS for p in b.params if p.choices]


@pytest.mark.parametrize("b, p", ENUMS, ids=lambda x: getattr(x, "name", ""))
def test_builtin_enum_choices(b, p):
    base = [a for a in good_args(b) if not a.startswith(p.name + "=")]
    for choice in p.choices:
        assert codes(call(b, base + [f'{p.name}="{choice}"'])) == []
    bad = p.choices[0][:-1] + "x"
    diags = vdsl.compile(call(b, base + [f'{p.name}="{bad}"'])).diagnostics
    assert [d.code for d in diags] == ["E217"]
    assert all(c in diags[0].message for c in p.choices)


RANGES = [(b, p) for b in BUILTINS for p in b.params if p.min is not None or p.max is not None]


@pytest.mark.parametrize("b, p", RANGES, ids=lambda x: getattr(x, "name", ""))
def test_builtin_numeric_ranges(b, p):
    base = [a for a in good_args(b) if not a.startswith(p.name + "=")]

    def lit(v: float) -> str:  # a list parameter's range holds for each item (dash, stops)
        return f"[{v:g}]" if p.type.name == "list" else f"{v:g}"

    if p.min is not None:
        assert codes(call(b, base + [f"{p.name}={lit(p.min - 1)}"])) == ["E301"]  # caught by the checker
        scene, diags = vdsl.compile(f"let k = {lit(p.min - 1)}\n" + call(b, base + [f"{p.name}=k"])).evaluate(0)
        assert scene is None and [d.code for d in diags] == ["E301"]  # ... or at run time
        assert codes(call(b, base + [f"{p.name}={lit(p.min)}"])) in ([], ["W502"])
    if p.max is not None:
        assert codes(call(b, base + [f"{p.name}={lit(p.max + 1)}"])) == ["E301"]
        assert codes(call(b, base + [f"{p.name}={lit(p.max)}"])) == []


def test_every_builtin_is_documented():
    for b in BUILTINS:
        assert b.doc and b.category, b.name
        assert b.signature().startswith(b.name + "(")


# ---------------------------------------------------------------- the checker as a whole
def test_all_errors_in_one_pass_sorted_by_position():
    src = "circle(center=(1, 2), radius=3)\nlet a = undefined\nrect(x=1)\nlet a = 2\nfoo()\n"
    diags = vdsl.compile(src).diagnostics
    assert [(d.span.line, d.code) for d in diags] == [
        (1, "E202"),
        (2, "E200"),
        (3, "E203"),
        (3, "E203"),
        (4, "E207"),
        (5, "E201"),
    ]
    assert all(d.code in CODES and d.span.line >= 1 for d in diags)


def test_inferred_types_of_lets_and_params():
    prog = vdsl.compile(
        'param n = 3\nparam c: color = "red"\nlet p = (1, 2) * n\nlet s = str(n) + "x"\n'
        "let xs = [p, p]\nlet ys = [i * 2 for i in range(n)]\nlet q = lerp(p, p, 0.5)\n"
        "let r = choice(xs)\nlet t = rand() > 0.5 ? 1 : 2"
    )
    v = prog.checked.values
    assert (v["n"], v["p"], v["s"], v["xs"], v["ys"], v["q"], v["r"], v["t"]) == (
        NUMBER,
        POINT,
        STRING,
        list_of(POINT),
        list_of(NUMBER),
        POINT,
        POINT,
        NUMBER,
    )
    assert str(prog.params["c"]) == "color" and prog.params["n"] == NUMBER


def test_def_signatures_and_inferred_returns():
    prog = vdsl.compile('def f(a: number, b = "x", c: list[point] = []) { return a * 2 }\nlet v = f(a=1)')
    sig = prog.checked.defs["f"]
    assert [(p.name, str(p.type), not p.required) for p in sig.params] == [
        ("a", "number", False),
        ("b", "string", True),
        ("c", "list[point]", True),
    ]
    assert sig.returns == NUMBER and prog.checked.values["v"] == NUMBER


def test_string_literals_are_colours_where_colours_go():
    assert codes('circle(center=(1, 1), r=1, fill="red", stroke="#00f")') == []
    assert codes('let g = linear((0, 0), (1, 1), ["red", "#00ff00", blue])') == []
    assert codes('let g = linear((0, 0), (1, 1), ["red", "rde"])') == ["E216"]
    assert codes('let c = "red"\ncircle(center=(1, 1), r=1, fill=c)') == ["E205"]


def test_percent_where_pixels_go_is_a_warning():
    prog = vdsl.compile("rect(x=50%, y=0, w=10, h=10)\nlet c = rgb(100%, 0, 0)\nlet o = hsl(0, 50%, 50%)")
    assert prog.ok
    assert [(d.code, d.span.line) for d in prog.diagnostics] == [("W502", 1), ("W502", 2)]


@pytest.mark.parametrize(
    "word, candidates, aliases, want",
    [
        ("radius", ["center", "r", "fill"], {"radius": "r"}, "r"),
        ("x", ["text", "at"], {"x": ("center", "at")}, "at"),
        ("x", ["center", "r"], {"x": ("center", "at")}, "center"),
        ("FILL", ["fill", "stroke"], None, "fill"),
        ("strok", ["fill", "stroke"], None, "stroke"),
        ("zzzz", ["fill", "stroke"], None, None),
    ],
)
def test_did_you_mean(word, candidates, aliases, want):
    assert did_you_mean(word, candidates, aliases) == want


def test_checker_never_leaks_between_programs():
    a = vdsl.compile("def f() { }\nlet x = 1")
    b = vdsl.compile("let y = f")
    assert a.ok and [d.code for d in b.diagnostics] == ["E200"]


def test_hints_show_the_signature_without_style_only_for_shapes():
    shape = vdsl.compile("rect(x=1)").diagnostics[0].hint
    assert shape.startswith("rect(") and "+ style" in shape and "stroke_width" not in shape
    block = vdsl.compile("clip_rect(x=1) { circle(center=(1, 1), r=1) }").diagnostics[0].hint
    assert block.startswith("clip_rect(") and "style" not in block
    group = vdsl.compile("group(1) { circle(center=(1, 1), r=1) }").diagnostics[0].hint
    assert "rotate" in group and "label" in group and "fill" not in group


def test_function_hints_never_shadow_a_name_the_table_knows():
    """One alias table: real aliases live in the signature table (`aliases=`); the hint table only maps
    names vdsl does not have, so none of its entries can be dead."""
    from vdsl.builtins import TABLE
    from vdsl.hints import FUNCTION_ALIASES

    assert [k for k in FUNCTION_ALIASES if k in TABLE] == []
    assert all((v if isinstance(v, str) else v[0]) in TABLE for v in FUNCTION_ALIASES.values())
