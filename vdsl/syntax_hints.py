"""Friendly syntax errors: turns Lark's unexpected-token errors into messages and hints for typical LLM habits."""

from __future__ import annotations

import re

from lark.exceptions import UnexpectedToken

# How terminals read in a message.
_SHOW = {
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "COLON": "`:`",
    "EQUAL": "`=`",
    "DOT": "`.`",
    "SEMICOLON": "`;`",
    "QMARK": "`?`",
    "NAME": "a name",
    "NUMBER": "a number",
    "PERCENT": "a percentage",
    "STRING": "a string",
    "COLOR": "a colour",
    "ASSIGN_OP": "`=`",
    "CMP_OP": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*`, `/` or `%`",
    "POW": "`**`",
    "$END": "end of input",
    "TRUE": "true",
    "FALSE": "false",
    "OR": "`or`",
    "AND": "`and`",
    "NOT": "`not`",
    "_ELSE": "`else`",
    "IN": "`in`",
}

# Words other languages use at the start of a statement, and what vdsl says instead.
_FOREIGN_WORDS = {
    "elif": "write `else if`",
    "function": "define functions with `def name(param: type) { ... }`",
    "func": "define functions with `def name(param: type) { ... }`",
    "fn": "define functions with `def name(param: type) { ... }`",
    "const": "declare values with `let name = value`",
    "var": "declare values with `let name = value`",
    "import": "load a stdlib module with `use name`",
    "from": "load a stdlib module with `use name`",
    "while": "vdsl has only bounded loops: `for i in range(n) { ... }`",
    "class": "vdsl has no classes; use `def` components",
    "lambda": "vdsl has no lambdas; use `def`",
    "print": "vdsl cannot print; draw text with `text(text=..., at=(x, y))`",
    "new": "vdsl has no `new`; call the function directly",
    "local": "declare values with `let name = value`",
    "void": "define functions with `def name(param: type) { ... }`",
}

# Small bad programs, one list per situation, matched by parser state (Lark's match_examples).
_EXAMPLES = {
    "colon-block": ["if x > 1:", "for i in range(3):", "def f(x):", "if a { } else:"],
    "missing-comma": ["f(a=1 b=2)", "f(1 2)", "f(a=(1,2) b=3)", "let a = [1 2]", "f(a=1\nb=2)"],
    "colon-kwarg": ["f(a: 1)", "f(x=1, a: 2)"],
    "call-needs-parens": ["circle", "let a = 1\nfoo"],
    "increment": ["i++", "i--"],
    "double-equal-assign": ["let a == 1"],
    "let-missing-eq": ["let a 1", "let a"],
}

_MESSAGES = {
    "colon-block": ("a block starts with `{` here, not `:`", "vdsl uses braces: `for i in range(3) { ... }`"),
    "missing-comma": (None, "separate arguments and list items with `,`"),
    "colon-kwarg": ("keyword arguments are written `name=value`", "write `name=value`, not `name: value`"),
    "call-needs-parens": (
        None,
        "a statement is a call such as `circle(center=(0, 0), r=5)`, a `let`, a `for`, an `if` or a `def`",
    ),
    "increment": ("vdsl has no `++`/`--`", "write `i += 1`"),
    "double-equal-assign": ("`==` compares; `let` binds with `=`", "write `let name = value`"),
    "let-missing-eq": ("`let` needs `=` and a value", "write `let name = value`"),
}

# The hints look at most this many characters before the bad token: enough for any habit they
# know, and it keeps their regexes (several are searches anchored at `$`, quadratic on a long word
# or digit run) within a fixed cost however big the source is.
_WINDOW = 512

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WORD_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*$")


def _expected(e: UnexpectedToken) -> str:
    exp = sorted({_SHOW.get(t, f"`{t.lower()}`") for t in e.expected if not t.startswith("__")})
    if len(exp) > 6:
        return ""
    return " (expected " + ", ".join(exp) + ")" if exp else ""


def _classify(e: UnexpectedToken, plain_parser) -> str | None:
    try:
        return e.match_examples(plain_parser.parse, _EXAMPLES, use_accepts=True)
    except Exception:  # the classifier must never turn a syntax error into a crash
        return None


_COMMENTS = re.compile(r"//[^\n]*|/\*.*?(?:\*/|\Z)", re.S)
_STRINGS = re.compile(r'"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"?|\'[^\'\\\n]*+(?:\\.[^\'\\\n]*+)*+\'?')
# Words from other languages that make the rest of their line unparsable.
_FOREIGN_IN_LINE = re.compile(r"\b(lambda|function|while|elif|const|var|class|import)\b")
_METHOD_BEFORE = re.compile(r"([A-Za-z_]\w*)\s*\.\s*([A-Za-z_]\w*)\s*$")
_METHOD_AFTER = re.compile(r"\.\s*([A-Za-z_]\w*)\s*\(")
_DASHED_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*)-([A-Za-z_]\w*)\s*$")
_BLOCK_HEAD = re.compile(r"\s*(\}\s*)?(else\b|for\b|if\b|def\b)")
_UNITS = {"px", "pt", "cm", "mm", "in", "em", "rem", "vw", "vh", "deg", "rad", "turn", "s", "ms", "pc"}

# `obj.method(...)` from other languages → what vdsl says instead.
_METHODS = {
    "push": "lists are values: write `xs = xs + [item]`",
    "append": "lists are values: write `xs = xs + [item]`",
    "add": "lists are values: write `xs = xs + [item]`",
    "extend": "lists are values: write `xs = xs + ys`",
    "insert": "lists are values: build a new one with `+`",
    "length": "use len(xs)",
    "len": "use len(xs)",
    "size": "use len(xs)",
    "count": "use len(xs)",
    "map": "use a comprehension: [f(x) for x in xs]",
    "filter": "use a comprehension: [x for x in xs if cond]",
    "forEach": "use a loop: for x in xs { ... }",
    "toString": "use str(x)",
    "format": 'join text with +: "n = " + str(n)',
    "toFixed": "use str(round(x))",
    "join": "use join(xs, sep)",
}


def _method_hint(obj: str, meth: str) -> str:
    from .builtins import TABLE
    from .hints import FUNCTION_ALIASES

    if meth in _METHODS and obj not in ("Math", "math", "np", "numpy", "random", "Random"):
        return _METHODS[meth]
    for cand in (meth, meth.lower(), FUNCTION_ALIASES.get(meth), FUNCTION_ALIASES.get(meth.lower())):
        if cand and cand in TABLE:
            return f"call `{cand}(...)` directly, without `{obj}.`"
    if meth in _METHODS:
        return _METHODS[meth]
    return "call builtins such as circle(...), rand(...) or sin(...) directly"


def _specific(e: UnexpectedToken, source: str) -> tuple[str, str | None] | None:
    """Explanations for habits from Python, JS, CSS, SVG, p5.js and TikZ, keyed on the text around the token."""
    tok = e.token
    val = str(tok.value)
    expected = set(e.expected)
    start = tok.start_pos or 0
    before = source[max(0, start - _WINDOW) : start]
    line_before = before[before.rfind("\n") + 1 :]
    code_before = _STRINGS.sub('""', line_before)
    prev_char = before[-1:]
    m = _WORD_BEFORE.search(before)
    prev_word = m.group(1) if m else None
    after = source[start : start + 200]

    m = _FOREIGN_IN_LINE.search(code_before)
    if m and m.group(1) in _FOREIGN_WORDS:
        return f"`{m.group(1)}` is not a vdsl keyword", _FOREIGN_WORDS[m.group(1)]
    if tok.type == "LPAR" and (m := _METHOD_BEFORE.search(before)):
        obj, meth = m.groups()
        return f"`{obj}.{meth}(...)`: vdsl has no methods or modules", _method_hint(obj, meth)
    if tok.type == "DOT" and prev_word and (m := _METHOD_AFTER.match(after)):
        return f"`{prev_word}.{m.group(1)}(...)`: vdsl has no methods or modules", _method_hint(prev_word, m.group(1))
    if (
        tok.type in ("DOT", "LSQB")
        and prev_word
        and not code_before[: -len(prev_word)].strip()
        and re.match(r"[.\[][^=\n]*?[^=!<>]=(?!=)", after)
    ):
        return (
            "vdsl cannot assign to a field or an item",
            f"values do not change in place: build a new one, e.g. `{prev_word} = ...`",
        )
    if tok.type == "LBRACE" and prev_word and before.rstrip().endswith(prev_word) and "LPAR" in expected:
        return (
            f"`{prev_word} {{`: a call needs its parentheses, even with no arguments",
            f"write `{prev_word}() {{ ... }}`",
        )
    if tok.type == "LBRACE" and "NAME" in expected and not before.rstrip().endswith("("):
        return "vdsl has no objects or dictionaries", "use separate `let`s, or a list [a, b, c]"
    if tok.type == "IF" and "NAME" in expected:
        return "`if` is a statement, not an expression", "for a value that depends on a condition write `cond ? a : b`"
    if tok.type == "_ELSE" and re.search(r"\bif\b", code_before):
        return "vdsl has no `a if cond else b`", "write `cond ? a : b`"
    if tok.type == "NAME" and val == "then":
        return "vdsl has no `then`", "write `if cond { ... }`"
    if tok.type == "LPAR" and prev_word == "for":
        return "vdsl has no C-style `for (...; ...; ...)`", "write `for i in range(n) { ... }`"
    if tok.type == "NAME" and prev_char.isdigit() and val.lower() in _UNITS:
        num = re.search(r"[\d.]+$", before).group(0)
        return f"`{num}{val}`: numbers have no units", f"lengths are pixels and angles degrees: write just `{num}`"
    if tok.type == "NAME" and prev_char == "0" and re.fullmatch(r"[xX][0-9a-fA-F]+", val):
        return f"`0{val}` is not a vdsl number", f"write colours as #{val[1:]} and numbers in decimal"
    if (tok.type == "NUMBER" and val.startswith(".") and prev_char == ".") or val == "..":
        return (
            "vdsl has no `a..b` ranges",
            "write range(a, b) (`..` only writes a def parameter's limits: `n: int in 1..10`)",
        )
    if val == "in" and re.search(r"\b(let|param)\s+\w+\s*:\s*\w+\s*$", code_before):
        return (
            "limits (`in lo..hi`) are only for def parameters",
            "write `let x: number = ...` (limits go on a def's parameters)",
        )
    if val == "|":
        return "`|` is not an operator", 'use `or` (or ||); `|` only separates a def parameter\'s choices: "a"|"b"'
    if tok.type == "STRING" and prev_word in ("f", "r", "b", "rf", "fr") and before.endswith(prev_word):
        return f"vdsl has no {prev_word}-strings", 'join text with +: "n = " + str(n)'
    if tok.type == "CMP_OP" and val == "<" and not code_before.strip() and re.match(r"<\s*/?\s*[A-Za-z!?]", after):
        return "vdsl is not SVG or HTML markup", "write calls such as circle(center=(10, 10), r=5, fill=red)"
    if tok.type == "CMP_OP" and "CMP_OP" not in expected and re.search(r"==|!=|<|>", code_before):
        return "comparisons do not chain", "write `a < b and b < c`"
    if val == "/" and after.startswith("/*"):
        return "a `/*` comment that is never closed", "end the comment with `*/`"
    if tok.type == "COMMA" and expected == {"RPAR"} and re.search(r"\([^()]*,[^()]*$", code_before):
        return (
            "a point has exactly two numbers: (x, y)",
            "for a colour write rgb(255, 0, 0); for more items use a list [a, b, c]",
        )
    if val == "=" and after.startswith("=>"):
        return "vdsl has no arrow functions", "write `def double(x: number) -> number { return x * 2 }`"
    if tok.type == "SEMICOLON":
        return "an empty statement: `;` may only end a statement", "remove the extra `;`"
    if tok.type in ("EQUAL", "ASSIGN_OP") and val == "=" and (m := _DASHED_NAME.search(before)):
        a, b = m.groups()
        return f"`{a}-{b}` is not a name (it reads as `{a} - {b}`)", f"write `{a}_{b}`"
    if tok.type == "LBRACE" and before.rstrip().endswith("("):
        return "vdsl calls take keyword arguments, not objects", "write `circle(center=(10, 10), r=5)`"
    return None


def explain_unexpected_token(e: UnexpectedToken, source: str, plain_parser) -> tuple[str, str | None]:
    """Return (message, hint) for an unexpected token."""
    tok = e.token
    shown = str(tok.value)[:30]
    kind = {"NAME": "name ", "NUMBER": "number ", "STRING": "string ", "COLOR": "colour "}.get(tok.type, "")
    base = f"unexpected {kind}`{shown}`"
    before = source[max(0, tok.start_pos - _WINDOW) : tok.start_pos] if tok.start_pos is not None else ""
    m = _WORD_BEFORE.search(before)
    prev_word = m.group(1) if m else None
    # A statement that starts with a word from another language: `elif`, `function`, `import`, ...
    if prev_word in _FOREIGN_WORDS and tok.type in ("NAME", "LBRACE", "COLON", "STRING", "NUMBER"):
        return f"`{prev_word}` is not a vdsl keyword", _FOREIGN_WORDS[prev_word]
    if tok.type == "NAME" and str(tok.value) in _FOREIGN_WORDS and "NAME" not in e.expected:
        return f"`{tok.value}` is not a vdsl keyword", _FOREIGN_WORDS[str(tok.value)]
    found = _specific(e, source)
    if found is not None:
        return found
    if tok.type != "NAME" and _WORD.match(shown) and "NAME" in e.expected:
        return (f"`{shown}` is a reserved word; it cannot be used as a name", f"pick another name, such as `{shown}_`")
    if tok.type == "ADD_OP" and source[tok.start_pos : tok.start_pos + 2] in ("++", "--"):
        label = "increment"
    else:
        label = _classify(e, plain_parser)
    if label == "colon-block" and tok.type != "COLON":
        label = None
    if label in _MESSAGES:
        msg, hint = _MESSAGES[label]
        return msg or base + _expected(e), hint
    if tok.type == "COLON":
        return base + _expected(e), "vdsl blocks use `{ ... }`; keyword arguments use `name=value`"
    if tok.type == "LBRACE":
        return base + _expected(e), "only calls like group(...), clip_rect(...), glow(...) take a `{ ... }` block"
    if tok.type in ("NAME", "NUMBER", "STRING", "COLOR", "LPAR") and "COMMA" in e.expected:
        return base + _expected(e), "missing `,` before it?"
    line_before = before[before.rfind("\n") + 1 :]
    if "LBRACE" in e.expected and _BLOCK_HEAD.match(line_before):
        return base + _expected(e), "a block is written in braces, even for one statement: `for i in range(3) { ... }`"
    return base + _expected(e), None


def explain_end_of_input(e, source: str, plain_parser) -> str:
    """A hint for a program that stops in the middle of a statement."""
    label = _classify(e, plain_parser) if isinstance(e, UnexpectedToken) else None
    code = _COMMENTS.sub(" ", _STRINGS.sub('""', source))
    last = re.search(r"(\d?)([A-Za-z_]\w*)\s*$", code[-_WINDOW:])
    if last and last.group(1):
        digit, word = last.groups()
        if digit == "0" and re.fullmatch(r"[xX][0-9a-fA-F]+", word):
            return f"`0{word}` is not a vdsl number: write colours as #{word[1:]} and numbers in decimal"
        if word.lower() in _UNITS:
            return "numbers have no units: lengths are pixels and angles degrees"
        if word.startswith("_"):
            return "write numbers without `_` separators: 1000, not 1_000"
    if label == "call-needs-parens" and last:
        return (
            f"`{last.group(2)}` alone is not a statement: a statement is a call such as "
            "`circle(center=(0, 0), r=5)`, a `let`, a `for`, an `if` or a `def`"
        )
    if label in _MESSAGES and _MESSAGES[label][1]:
        return _MESSAGES[label][1]
    expected = set(getattr(e, "expected", ()) or ())
    if "LBRACE" in expected:
        return "add the `{ ... }` block"
    return "the last statement is incomplete"
