"""Parsing: source text → typed AST with spans, or syntax diagnostics (never a traceback)."""

from __future__ import annotations

import gc
import re
import threading
from importlib import resources

from lark import Lark
from lark.lexer import Lexer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import nodes as n
from .budgets import DEFAULT, Budgets
from .diagnostics import Diagnostic, Span
from .fastparse import FastParser, SyntaxFailure, Tok
from .syntax_hints import explain_end_of_input, explain_unexpected_token

GRAMMAR_TEXT = resources.files("vdsl.grammar").joinpath("vdsl.lark").read_text(encoding="utf-8")


class _Seq(list):
    """A list of child nodes that remembers its span and nesting depth (blocks, argument lists)."""

    __slots__ = ("span", "_depth")

    def __init__(self, items, span):
        super().__init__(items)
        self.span = span
        d = 0
        for i in items:
            cd = getattr(i, "_depth", 0)
            if cd > d:
                d = cd
        self._depth = d


class _TooDeep(Exception):
    def __init__(self, span: Span):
        self.span = span


def _unescape(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def quote(value: str) -> str:
    """A double-quoted string literal whose value is `value`: the inverse of reading one."""
    return '"' + re.sub(r'[\\"\n\t]', lambda m: _ESCAPES[m.group(0)], value) + '"'


class _Builder:
    """Builds AST nodes as the LALR driver reduces, bottom-up, without Python recursion."""

    def __init__(self):
        super().__init__()
        self.file = "<input>"
        self.max_depth = 64
        self.comments: list[n.Comment] = []

    # -- helpers
    def _tok_span(self, tok: Tok) -> Span:
        return Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1, self.file)

    def _deep(self, node, *children):
        d = 0
        for c in children:
            cd = getattr(c, "_depth", 0)  # None and tokens have no depth
            if cd > d:
                d = cd
        d += 1
        if d > self.max_depth:
            raise _TooDeep(node.span)
        node._depth = d
        return node

    def _deep1(self, node, child):
        """_deep for the common one-child case."""
        d = getattr(child, "_depth", 0) + 1
        if d > self.max_depth:
            raise _TooDeep(node.span)
        node._depth = d
        return node

    def bracket(self, node):
        """`( expr )`: parentheses count toward the nesting budget, though they leave no node."""
        d = getattr(node, "_depth", 0) + 1
        if d > self.max_depth:
            raise _TooDeep(node.span)
        node._depth = d
        return node

    # -- statements (`meta` is the node's span; tokens are read by .value, their text)
    def start(self, meta, *stmts):
        return n.Program(meta, list(stmts), file=self.file)

    def block(self, meta, *stmts):
        return _Seq(stmts, meta)

    def let_stmt(self, meta, name, typ, value):
        return self._deep1(n.Let(meta, name.value, typ, value), value)

    def param_stmt(self, meta, name, typ, value):
        return self._deep1(n.ParamStmt(meta, name.value, typ, value), value)

    def assign_stmt(self, meta, name, op, value):
        return self._deep1(n.Assign(meta, name.value, op.value, value), value)

    def def_stmt(self, meta, name, params, returns, body):
        return self._deep(n.Def(meta, name.value, params or [], returns, body), body, params)

    def param_decls(self, meta, *decls):
        return _Seq(decls, meta)

    def param_decl(self, meta, name, typ, doc, default):
        node = n.ParamDecl(meta, name.value, typ, default, "" if doc is None else _unescape(doc.value))
        return self._deep1(node, default)

    def param_type(self, meta, typ, bounds):
        if bounds is not None:  # a _Seq of two Numbers (or None for an open end)
            typ.min, typ.max = (None if b is None else b.value for b in bounds)
            typ.span = meta
        return typ

    def choice_type(self, meta, *options):
        return n.TypeRef(meta, "string", None, choices=tuple(_unescape(o.value) for o in options))

    def bound_range(self, meta, lo, hi):
        return _Seq([lo, hi], meta)

    def upper_bound(self, meta, hi):
        return _Seq([None, hi], meta)

    def bound(self, meta, sign, num):
        v = float(num.value)
        neg = sign is not None and sign.value == "-"
        return n.Number(meta, -v if neg else v, ("-" if neg else "") + num.value)

    def for_stmt(self, meta, a, b, iterable, body):
        node = n.For(meta, a.value, None if b is None else b.value, iterable, body)
        return self._deep(node, iterable, body)

    def if_stmt(self, meta, cond, then, otherwise):
        if isinstance(otherwise, n.If):
            otherwise = _Seq([otherwise], otherwise.span)
        return self._deep(n.If(meta, cond, then, otherwise), cond, then, otherwise)

    def use_stmt(self, meta, what):
        if isinstance(what, Tok):
            return n.Use(meta, _unescape(what.value), is_path=True)
        return n.Use(meta, what[0])

    def dotted_name(self, meta, *parts):
        return _Seq([".".join(p.value for p in parts)], meta)

    def return_stmt(self, meta, value):
        return self._deep1(n.Return(meta, value), value)

    def call_stmt(self, meta, call, block):
        return self._deep(n.CallStmt(meta, call, block), call, block)

    def type(self, meta, name, arg):
        return n.TypeRef(meta, name.value, arg)

    # -- expressions
    def ternary(self, meta, c, a, b):
        return self._deep(n.Ternary(meta, c, a, b), c, a, b)

    def binary(self, meta, left, op, right):
        o = op.value
        o = _OPERATOR_WORDS.get(o, o)
        return self._deep(n.Binary(meta, o, left, right), left, right)

    def unary(self, meta, op, operand):
        o = "not" if op.value in ("!", "not") else op.value
        return self._deep1(n.Unary(meta, o, operand), operand)

    def field(self, meta, obj, name):
        return self._deep1(n.Field(meta, obj, name.value, self._tok_span(name)), obj)

    def index(self, meta, obj, idx):
        return self._deep(n.Index(meta, obj, idx), obj, idx)

    def number(self, meta, tok):
        try:
            v = float(tok.value)
        except OverflowError:  # pragma: no cover - float() returns inf instead
            v = float("inf")
        return n.Number(meta, v, tok.value)

    def percent(self, meta, tok):
        return n.Percent(meta, float(tok.value[:-1]) / 100.0, tok.value)

    def string(self, meta, tok):
        return n.String(meta, _unescape(tok.value), tok.value)

    def color(self, meta, tok):
        return n.ColorLit(meta, tok.value)

    def true(self, meta, _):
        return n.Bool(meta, True)

    def false(self, meta, _):
        return n.Bool(meta, False)

    def name(self, meta, tok):
        return n.Name(meta, tok.value)

    def point(self, meta, x, y):
        node = n.PointLit(meta, x, y)
        d = max(getattr(x, "_depth", 0), getattr(y, "_depth", 0)) + 1  # _deep, inlined: points are common
        if d > self.max_depth:
            raise _TooDeep(meta)
        node._depth = d
        return node

    def list(self, meta, *items):
        its = [i for i in items if i is not None]
        return self._deep(n.ListLit(meta, its), *its)

    def comprehension(self, meta, item, var, iterable, cond):
        return self._deep(n.Comprehension(meta, item, var.value, iterable, cond), item, iterable, cond)

    def call(self, meta, name, args):
        args = args or []
        return self._deep1(n.Call(meta, name.value, args, self._tok_span(name)), args)

    def args(self, meta, *args):
        return _Seq(args, meta)

    def arg(self, meta, value):
        return self._deep1(n.Arg(meta, None, value), value)

    def kwarg(self, meta, name, value):
        node = n.Arg(meta, name.value, value)
        d = getattr(value, "_depth", 0) + 1  # _deep1, inlined: the commonest node
        if d > self.max_depth:
            raise _TooDeep(meta)
        node._depth = d
        return node


_OPERATOR_WORDS = {"||": "or", "&&": "and"}
_BUILDER = _Builder()
_LOCK = threading.Lock()


def _collect_comment(line: int, col: int, text: str) -> None:
    _BUILDER.comments.append(n.Comment(line, col, text))


class _SharedLexer(Lexer):
    """Lark's lexer is the fast driver's: one token stream, so both parsers accept the same
    language (keywords are reserved everywhere, `orbit` is one name, `!=` one operator)."""

    __future_interface__ = 1

    def __init__(self, lexer_conf):
        pass

    def lex(self, lexer_state, parser_state):
        text = lexer_state.text
        return PARSER.lark_tokens(getattr(text, "text", text), parser_state)


# Lark owns the grammar: it checks it (LALR, strict: no conflicts), builds the tables, and
# explains syntax errors. The fast driver reuses its tables and terminals.
_PLAIN = Lark(GRAMMAR_TEXT, parser="lalr", strict=True, maybe_placeholders=True, lexer=_SharedLexer)
PARSER = FastParser(_PLAIN, _BUILDER, on_comment=_collect_comment)

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}
# Strings are matched unrolled (a run of plain characters, then escapes), one step per character.
_SCAN = re.compile(
    r'//[^\n]*|/\*.*?(\*/|\Z)|"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"?|\'[^\'\\\n]*+(?:\\.[^\'\\\n]*+)*+\'?'
    r"|[()\[\]{}]|\n|#",
    re.S,
)
_CLOSED_STRING = re.compile(r'"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"|\'[^\'\\\n]*+(?:\\.[^\'\\\n]*+)*+\'')
_SURROGATE = re.compile("[\ud800-\udfff]")
_PY_COMMENT = re.compile(r"(?m)^[ \t]*(#(?![0-9a-fA-F]+\b))")


def _offset_to_linecol(starts: list[int], off: int) -> tuple[int, int]:
    import bisect

    i = bisect.bisect_right(starts, off) - 1
    return i + 1, off - starts[i] + 1


def _python_comments(source: str, file: str) -> list[Diagnostic]:
    """`# ...` lines: reported all at once, before parsing (a common LLM habit)."""
    diags: list[Diagnostic] = []
    if "#" not in source:
        return diags
    starts = None
    for m in _PY_COMMENT.finditer(source):
        if starts is None:
            starts = [0] + [m2.end() for m2 in re.finditer("\n", source)]
        line, col = _offset_to_linecol(starts, m.start(1))
        diags.append(
            Diagnostic(
                "E107",
                "`#` starts a comment in Python, not in vdsl",
                Span(line, col, line, col + 1, file),
                "write comments as `// ...` (or `/* ... */`)",
            )
        )
    return diags


def _prescan(source: str, file: str, budgets: Budgets) -> list[Diagnostic]:
    """Lexical checks after a failed parse: bracket balance and bracket nesting depth."""
    diags: list[Diagnostic] = []
    starts = [0] + [m.end() for m in re.finditer("\n", source)]

    def span_at(off: int, length: int = 1) -> Span:
        line, col = _offset_to_linecol(starts, off)
        return Span(line, col, line, col + length, file)

    stack: list[tuple[str, int]] = []
    for m in _SCAN.finditer(source):
        t = m.group(0)
        if t[0] in "\"'" and not _CLOSED_STRING.fullmatch(t):
            return []  # an unterminated string hides the brackets after it: Lark reports the string
        if t in _OPEN:
            stack.append((t, m.start()))
            if len(stack) > budgets.nesting_depth:
                diags.append(
                    Diagnostic(
                        "E409",
                        f"brackets nested deeper than the nesting budget ({budgets.nesting_depth})",
                        span_at(m.start()),
                        "flatten the program: use `let` for intermediate values",
                    )
                )
                return diags
        elif t in _CLOSE:
            if not stack:
                diags.append(
                    Diagnostic(
                        "E102",
                        f"unmatched closing `{t}`",
                        span_at(m.start()),
                        "remove it, or add the opening bracket it closes",
                    )
                )
                return diags
            opener, off = stack.pop()
            if _OPEN[opener] != t:
                diags.append(
                    Diagnostic(
                        "E104",
                        f"`{opener}` is closed by `{t}`",
                        span_at(off),
                        f"close it with `{_OPEN[opener]}` before the `{t}`",
                    )
                )
                return diags
    for opener, off in stack[-1:]:
        diags.append(Diagnostic("E104", f"unclosed `{opener}`", span_at(off), f"add the matching `{_OPEN[opener]}`"))
    return diags


def parse(
    source: str | bytes, file: str = "<input>", budgets: Budgets = DEFAULT
) -> tuple[n.Program | None, list[Diagnostic]]:
    """Parse source into a Program. Returns (program, []) or (None, diagnostics)."""
    if isinstance(source, bytes):
        if len(source) > budgets.source_bytes:
            return None, [_too_big(len(source), file, budgets)]
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError as e:
            return None, [
                Diagnostic(
                    "E108",
                    f"the source is not valid UTF-8 (byte {e.start})",
                    Span(1, 1, 1, 2, file),
                    "save the file as UTF-8 text",
                )
            ]
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > budgets.source_bytes:
        return None, [_too_big(size, file, budgets)]
    if "\x00" in source or _SURROGATE.search(source):
        return None, [
            Diagnostic(
                "E108",
                "the source contains NUL bytes or lone surrogates",
                Span(1, 1, 1, 2, file),
                "save the file as UTF-8 text",
            )
        ]
    diags = _python_comments(source, file)
    if diags:
        return None, diags
    with _LOCK:
        _BUILDER.file = file
        _BUILDER.max_depth = budgets.nesting_depth
        _BUILDER.comments = []
        collecting = gc.isenabled()
        gc.disable()  # the AST has no cycles: collections during the parse would only rescan the heap
        try:
            program = PARSER.parse(source)
        except _TooDeep as e:
            return None, [
                Diagnostic(
                    "E409",
                    f"the program is nested deeper than the nesting budget ({budgets.nesting_depth})",
                    e.span,
                    "split long expressions with `let` and deep blocks into `def`s",
                )
            ]
        except SyntaxFailure as e:
            # Bracket balance and depth first (clearer than "unexpected end of input"), then Lark's view.
            return None, _prescan(source, file, budgets) or [_lark_diagnostic(source, file, e.resume)]
        except RecursionError:
            return None, [Diagnostic("E409", "the source is nested too deeply", Span(1, 1, 1, 2, file))]
        finally:
            if collecting:
                gc.enable()
        program.comments = _BUILDER.comments
    _attach_docs(program, source)
    return program, []


def _too_big(size: int, file: str, budgets: Budgets) -> Diagnostic:
    return Diagnostic(
        "E400",
        f"the source is {size} bytes, more than the source-size budget ({budgets.source_bytes})",
        Span(1, 1, 1, 2, file),
        "draw with loops and functions instead of listing every shape",
    )


def _attach_docs(program: n.Program, source: str) -> None:
    """A def's doc is the block of `//` comment lines directly above it (whole-line comments only)."""
    if not any(isinstance(st, n.Def) for st in program.stmts):
        return
    src_lines = source.split("\n")
    by_line = {
        c.line: c.text
        for c in program.comments
        if c.text.startswith("//") and not src_lines[c.line - 1][: c.col - 1].strip()
    }
    docs: dict[int, str] = {}  # per line: defs that share a line share the comment block above it
    for st in program.stmts:
        if isinstance(st, n.Def):
            if st.span.line not in docs:
                lines, ln = [], st.span.line - 1
                while ln in by_line:
                    lines.append(by_line[ln][2:].strip())
                    ln -= 1
                docs[st.span.line] = "\n".join(reversed(lines))
            st.doc = docs[st.span.line]


def _lark_diagnostic(source: str, file: str, resume: tuple[int, int] | None = None) -> Diagnostic:
    """Re-parse with Lark itself to get its precise error, then explain it.

    Lark re-parses from `resume` (the start of the last complete statement before the error) with
    the text before it blanked out, lines kept: the same error at the same position, at the cost of
    the last statement instead of the whole program (Lark is several times slower than the driver)."""
    text = source
    if resume is not None:
        head = source.split("\n", resume[0] - 1)
        cut = len(source) - len(head[-1]) + resume[1] - 1
        text = "\n".join(" " * len(line) for line in source[:cut].split("\n")) + source[cut:]
    try:
        _PLAIN.parse(text)
    except UnexpectedInput as e:
        return _syntax_diagnostic(e, source, file)
    return Diagnostic("E100", "the source does not parse", Span(1, 1, 1, 2, file))


def _syntax_diagnostic(e: UnexpectedInput, source: str, file: str) -> Diagnostic:
    line, col = getattr(e, "line", 1) or 1, getattr(e, "column", 1) or 1
    if isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        assert pos is not None  # UnexpectedCharacters always records the lexer's position
        ch = source[pos] if pos < len(source) else ""
        sp = Span(line, col, line, col + 1, file)
        if ch in "\"'":
            return Diagnostic("E105", "unterminated string", sp, f"close the string with {ch} on the same line")
        if ch == "#":
            hit = re.match(r"#\w*", source[pos : pos + 40])
            assert hit is not None  # the text starts with "#"
            rest = hit.group(0)
            return Diagnostic(
                "E106",
                f"`{rest}` is not a colour or a comment",
                sp,
                "colours are #rgb, #rgba, #rrggbb or #rrggbbaa; comments are // ...",
            )
        shown = (ch if ch.isprintable() else repr(ch)[1:-1]) if ch else "end of input"
        hint = {
            "@": "vdsl has no decorators",
            "$": "vdsl has no template strings; use + to join strings",
            "`": "strings use double quotes",
            "\\": "a backslash is only allowed inside strings",
            "&": "use `and` (or &&)",
            "|": "use `or` (or ||)",
            "~": "vdsl has no bitwise operators",
            "^": "use ** for powers",
            "\u201c": 'use straight double quotes: "..."',
            "\u201d": 'use straight double quotes: "..."',
            "\u2018": 'use straight quotes: "..."',
            "\u2019": 'use straight quotes: "..."',
            "\u2212": "use the ASCII minus sign -",
            "\u00d7": "use * to multiply",
        }.get(ch)
        if ch == "\\" and re.match(r"\\[A-Za-z]+", source[pos:]):
            hint = (
                "vdsl is not TikZ or LaTeX: write calls such as "
                "line(from=(0, 0), to=(100, 100)) or circle(center=(50, 50), r=20)"
            )
        if hint is None and ch and not ch.isascii() and ch.isalpha():
            hint = "names use ASCII letters, digits and _ (text with any characters goes in strings)"
        return Diagnostic("E101", f"unexpected character `{shown}`", sp, hint)
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        last = source.rstrip()
        ln = last.count("\n") + 1
        col = len(last) - (last.rfind("\n") + 1) + 1
        return Diagnostic(
            "E103", "unexpected end of input", Span(ln, col, ln, col + 1, file), explain_end_of_input(e, source, _PLAIN)
        )
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    sp = Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1, file)
    message, hint = explain_unexpected_token(e, source, _PLAIN)
    return Diagnostic("E102", message, sp, hint)
