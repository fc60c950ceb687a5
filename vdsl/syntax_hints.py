"""Friendly syntax errors: turns Lark's unexpected-token errors into messages and hints for typical LLM habits."""
from __future__ import annotations

import re

from lark.exceptions import UnexpectedToken

# How terminals read in a message.
_SHOW = {
    "LPAR": "`(`", "RPAR": "`)`", "LBRACE": "`{`", "RBRACE": "`}`", "LSQB": "`[`", "RSQB": "`]`",
    "COMMA": "`,`", "COLON": "`:`", "EQUAL": "`=`", "DOT": "`.`", "SEMICOLON": "`;`", "QMARK": "`?`",
    "NAME": "a name", "NUMBER": "a number", "PERCENT": "a percentage", "STRING": "a string",
    "COLOR": "a colour", "ASSIGN_OP": "`=`", "CMP_OP": "a comparison", "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*`, `/` or `%`", "POW": "`**`", "$END": "end of input", "TRUE": "true", "FALSE": "false",
    "OR": "`or`", "AND": "`and`", "NOT": "`not`", "_ELSE": "`else`", "IN": "`in`",
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
    "call-needs-parens": (None, "a statement is a call such as `circle(center=(0, 0), r=5)`, a `let`, "
                                "a `for`, an `if` or a `def`"),
    "increment": ("vdsl has no `++`/`--`", "write `i += 1`"),
    "double-equal-assign": ("`==` compares; `let` binds with `=`", "write `let name = value`"),
    "let-missing-eq": ("`let` needs `=` and a value", "write `let name = value`"),
}

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


def explain_unexpected_token(e: UnexpectedToken, source: str, plain_parser) -> tuple[str, str | None]:
    """Return (message, hint) for an unexpected token."""
    tok = e.token
    shown = str(tok.value)[:30]
    kind = {"NAME": "name ", "NUMBER": "number ", "STRING": "string ", "COLOR": "colour "}.get(tok.type, "")
    base = f"unexpected {kind}`{shown}`"
    before = source[:tok.start_pos] if tok.start_pos is not None else ""
    m = _WORD_BEFORE.search(before)
    prev_word = m.group(1) if m else None
    # A statement that starts with a word from another language: `elif`, `function`, `import`, ...
    if prev_word in _FOREIGN_WORDS and tok.type in ("NAME", "LBRACE", "COLON", "STRING", "NUMBER"):
        return f"`{prev_word}` is not a vdsl keyword", _FOREIGN_WORDS[prev_word]
    if tok.type == "NAME" and str(tok.value) in _FOREIGN_WORDS and "NAME" not in e.expected:
        return f"`{tok.value}` is not a vdsl keyword", _FOREIGN_WORDS[str(tok.value)]
    if tok.type == "ADD_OP" and source[tok.start_pos:tok.start_pos + 2] in ("++", "--"):
        label = "increment"
    else:
        label = _classify(e, plain_parser)
    if label in _MESSAGES:
        msg, hint = _MESSAGES[label]
        return msg or base + _expected(e), hint
    if tok.type == "COLON":
        return base + _expected(e), "vdsl blocks use `{ ... }`; keyword arguments use `name=value`"
    if tok.type == "LBRACE":
        return base + _expected(e), "only calls like group(...), clip_rect(...), glow(...) take a `{ ... }` block"
    if tok.type in ("NAME", "NUMBER", "STRING", "COLOR", "LPAR") and "COMMA" in e.expected:
        return base + _expected(e), "missing `,` before it?"
    return base + _expected(e), None
