"""A small GBNF recogniser for the tests: the generated GBNF text translated rule by rule into a Lark Earley grammar."""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r'\s+|#[^\n]*|(?P<name>[A-Za-z][A-Za-z0-9-]*)|(?P<str>"(?:[^"\\]|\\.)*")|(?P<cls>\[(?:[^\]\\]|\\.)*\])|(?P<op>::=|[|()*+?])'
)


def _unescape(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = body[i + 1]
        simple = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "]": "]", "[": "[", "-": "-", "^": "^"}
        if n in simple:
            out.append(simple[n])
            i += 2
        elif n == "x":
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif n == "u":
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise ValueError(f"unknown escape \\{n}")
    return "".join(out)


def _lark_name(n: str) -> str:
    return "r_" + n.replace("-", "_").lower() + ("_u" if n.isupper() else "")


def _re_char(c: str) -> str:
    if c.isalnum() and c.isascii():
        return c
    if c.isascii() and c.isprintable():
        return "\\" + c  # punctuation: a backslash escape (Lark unescapes \\xHH before compiling)
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c) or f"\\u{ord(c):04x}"


def _cls_regex(tok: str) -> str:
    """[...] as a Lark regex; the exporter escapes every literal '-', so an unescaped one is a range."""
    raw, neg = tok[1:-1], False
    if raw.startswith("^"):
        raw, neg = raw[1:], True
    body, i = "", 0
    while i < len(raw):
        if raw[i] == "\\":
            j = i + 2 + (2 if raw[i + 1] == "x" else 4 if raw[i + 1] == "u" else 0)
            body += _re_char(_unescape(raw[i:j]))
            i = j
        elif raw[i] == "-":
            body += "-"
            i += 1
        else:
            body += _re_char(raw[i])
            i += 1
    return "/[" + ("^" if neg else "") + body + "]/"


def gbnf_to_lark(text: str) -> str:
    toks = []
    for m in _TOKEN.finditer(text):
        if m.lastgroup:
            toks.append((m.lastgroup, m.group(m.lastgroup)))
    rules: list[tuple[str, list]] = []
    for i, (kind, val) in enumerate(toks):
        if kind == "op" and val == "::=":
            rules.append((toks[i - 1][1], []))
        elif rules and not (i + 1 < len(toks) and toks[i + 1] == ("op", "::=")):
            rules[-1][1].append((kind, val))
    out = []
    for name, body in rules:
        parts = []
        for kind, val in body:
            if kind == "name":
                parts.append(_lark_name(val))
            elif kind == "str":
                s = _unescape(val[1:-1])
                parts.append("/" + "".join(_re_char(c) for c in s) + "/")
            elif kind == "cls":
                parts.append(_cls_regex(val))
            else:
                parts.append(val)
        out.append(f"{_lark_name(name)}: {' '.join(parts)}")
    return "\n".join(out) + "\n"


def recogniser(gbnf: str):
    """A function text -> bool: does the GBNF grammar (start rule `root`) accept the whole text?"""
    from lark import Lark
    from lark.exceptions import LarkError

    parser = Lark(gbnf_to_lark(gbnf), start=_lark_name("root"), parser="earley", lexer="dynamic")

    def accepts(text: str) -> bool:
        try:
            parser.parse(text)
            return True
        except LarkError:
            return False

    return accepts
