"""A fast LALR driver over Lark's own tables: lexes with one regex and reduces straight into AST callbacks."""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import itemgetter
from typing import Any, NamedTuple

from lark import Lark
from lark.lexer import PatternStr
from lark.parsers.lalr_analysis import Shift

from .diagnostics import Span

_SKIP_TERMINALS = ("COMMENT",)


class Tok(NamedTuple):
    """A lexed token: its terminal type, text and position (1-based line/col, end exclusive).

    A tuple, because the lexer makes one per token: building it is a single C call."""

    type: str
    value: str
    start_pos: int
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self):
        return self.value

    def __repr__(self):
        return f"Tok({self.type}, {self.value!r})"


class SyntaxFailure(Exception):
    """Raised when the input is not in the language; the caller re-parses with Lark for the details.

    `resume` is the (line, column) where the last complete top-level statement starts (None if
    there is none): the parser's stack there is the same as after any other statement, so a
    re-parse from it (what comes before blanked out) fails at the same token, in the same state."""

    def __init__(self, pos: int, resume: tuple[int, int] | None = None):
        super().__init__(pos)
        self.resume = resume


class FastParser:
    """Parses with the tables of a Lark LALR parser built from grammar/vdsl.lark.

    Lark remains the grammar's source and its error reporter; this driver only removes
    the per-token and per-reduction overhead (parse-tree building, position propagation)
    from the hot path. Reductions call ``builder.<rule or alias>(span, *children)``."""

    def __init__(self, lark: Lark, builder, on_comment=None):
        self.builder = builder
        self.on_comment = on_comment
        table = lark.parser.parser.parser.parse_table
        self.states = table.states
        self.start = table.start_states["start"]
        self.end = table.end_states["start"]
        self._reducers: dict[Any, Callable[[list], Any]] = {}
        self._build_lexer(lark)

    # ------------------------------------------------------------ lexing
    def _build_lexer(self, lark: Lark) -> None:
        terms = {t.name: t for t in lark.terminals}
        fixed = [t for t in terms.values() if t.name in ("COMMENT",) or t.name.startswith("__IGNORE")]
        lits = [
            t
            for t in terms.values()
            if t.name not in ("NAME", "NUMBER", "PERCENT", "STRING", "COLOR") and t not in fixed
        ]
        word = re.compile(r"[A-Za-z_]\w*\Z")
        # Literal terminals: words become keywords looked up after a NAME match; the rest
        # (operators, punctuation) are tried longest first.
        self.keywords: dict[str, str] = {}
        ops: list[tuple[str, str]] = []
        for t in lits:
            if isinstance(t.pattern, PatternStr):
                alts = [t.pattern.value]
            else:  # `"or" | "||"` arrives as `(?:or|\|\|)`: split on unescaped bars, then unescape
                body = t.pattern.value.removeprefix("(?:").removesuffix(")")
                alts = [re.sub(r"\\(.)", r"\1", a) for a in re.split(r"(?<!\\)\|", body)]
            if not all(alts):
                raise ValueError(f"cannot read the literal alternatives of terminal {t.name}")
            for a in alts:
                (self.keywords.__setitem__(a, t.name) if word.match(a) else ops.append((a, t.name)))
        ops.sort(key=lambda x: -len(x[0]))
        # Some texts belong to several terminals (`=` is EQUAL and ASSIGN_OP): like Lark's
        # contextual lexer, the parser picks the one its current state accepts.
        self.op_types: dict[str, str] = {}
        self.alternatives: dict[str, tuple[str, ...]] = {}
        for text, name in ops:
            if text in self.op_types:
                self.alternatives[text] = self.alternatives.get(text, (self.op_types[text],)) + (name,)
            else:
                self.op_types[text] = name
        # Operators and names, the commonest tokens, are tried first; a `.` followed by a digit is
        # left to NUMBER/PERCENT (`.5`), and `//`, `/*` to COMMENT, which comes before them.
        op_alts = [re.escape(o) + (r"(?!\d)" if o == "." else "") for o, _ in ops]

        def master(comment: str, open_comment: bool):
            parts = [
                r"(?P<NL>\n)",
                f"(?P<COMMENT>{comment})",
                # `/*` where COMMENT failed: a block comment that is never closed (lexed as `/` `*`)
                r"(?P<OPEN_COMMENT>/(?=\*))" if open_comment else None,
                "(?P<OP>" + "|".join(op_alts) + ")",
                f"(?P<NAME>{_linear(terms['NAME'].pattern.to_regexp())})",
                f"(?P<PERCENT>{_linear(terms['PERCENT'].pattern.to_regexp())})",
                f"(?P<NUMBER>{_linear(terms['NUMBER'].pattern.to_regexp())})",
                f"(?P<STRING>{_linear(terms['STRING'].pattern.to_regexp())})",
                f"(?P<COLOR>{_linear(terms['COLOR'].pattern.to_regexp())})",
                r"(?P<EOF>\Z)",
                r"(?P<BAD>[\s\S])",  # any other character: a lexing error, where no token can start
            ]
            # Blanks before a token are consumed by the same match, and every character is in some
            # match: one finditer over the text yields the tokens back to back.
            return re.compile(r"[ \t\r\f\ufeff]*(?:" + "|".join(p for p in parts if p) + ")")

        self.master = master(_linear(terms["COMMENT"].pattern.to_regexp()), True)
        # After a `/*` that is never closed no later `/*` closes either (no `*/` follows): the
        # rest is lexed without block comments, so each `/*` is not scanned to the end again.
        line_comment = next(a for a in _alternatives(terms["COMMENT"].pattern.to_regexp()) if a.startswith(r"\/\/"))
        self.master_unclosed = master(line_comment, False)

    def tokens(self, text: str, comments: bool = True) -> list[Tok]:
        """All tokens, ending with `$END`; at a character no token can start with, the list ends
        with an `$ERROR` token instead, which no parser state accepts (it fails there, not sooner)."""
        keywords, op_types = self.keywords, self.op_types
        on_comment = self.on_comment if comments else None
        new = tuple.__new__  # Tok(...) without the Python-level __new__ (one call per token)
        out: list[Tok] = []
        append = out.append
        line, line_start = 1, 0
        pos = 0
        # One scan, or two where a `/*` is never closed: a list that grows while it is iterated.
        scans = [self.master.finditer(text)]
        for scan in scans:
            for m in scan:
                kind = m.lastgroup
                pos, end = m.span(kind)  # the token's own span, after the blanks before it
                if kind == "OP":
                    val = m.group(kind)
                    append(new(Tok, (op_types[val], val, pos, line, pos - line_start + 1, line, end - line_start + 1)))
                elif kind == "NAME":
                    val = m.group(kind)
                    append(
                        new(
                            Tok,
                            (
                                keywords.get(val, "NAME"),
                                val,
                                pos,
                                line,
                                pos - line_start + 1,
                                line,
                                end - line_start + 1,
                            ),
                        )
                    )
                elif kind == "NL":
                    line += 1
                    line_start = end
                elif kind == "COMMENT":
                    val = m.group(kind)
                    if on_comment is not None:
                        on_comment(line, pos - line_start + 1, val)
                    nl = val.count("\n")
                    if nl:
                        line += nl
                        line_start = pos + val.rfind("\n") + 1
                elif kind == "EOF":
                    break
                elif kind == "OPEN_COMMENT":
                    append(new(Tok, (op_types["/"], "/", pos, line, pos - line_start + 1, line, end - line_start + 1)))
                    scans.append(self.master_unclosed.finditer(text, end))  # no block comments from here
                    break
                elif kind == "BAD":
                    col = pos - line_start + 1
                    append(new(Tok, ("$ERROR", "", pos, line, col, line, col)))
                    return out
                else:
                    append(new(Tok, (kind, m.group(kind), pos, line, pos - line_start + 1, line, end - line_start + 1)))
        col = pos - line_start + 1
        append(new(Tok, ("$END", "", pos, line, col, line, col)))
        return out

    def lark_tokens(self, text: str, parser_state):
        """The same tokens as Lark `Token`s, for Lark's own parser (errors, match_examples).

        Texts shared by several terminals (`=`) are resolved against the parser state exactly
        as `parse` does, so both parsers see one token stream and accept the same language."""
        from lark import Token
        from lark.exceptions import UnexpectedCharacters

        states = parser_state.parse_conf.parse_table.states
        alternatives = self.alternatives
        for tok in self.tokens(text, comments=False):
            if tok.type == "$END":
                return
            if tok.type == "$ERROR":
                pos = tok.start_pos
                line = text.count("\n", 0, pos) + 1
                col = pos - (text.rfind("\n", 0, pos) + 1) + 1
                raise UnexpectedCharacters(text, pos, line, col, state=parser_state.position)
            ttype = tok.type
            if tok.value in alternatives:
                row = states[parser_state.position]
                if ttype not in row:
                    ttype = next((a for a in alternatives[tok.value] if a in row), ttype)
            yield Token(
                ttype,
                tok.value,
                tok.start_pos,
                tok.line,
                tok.column,
                tok.end_line,
                tok.end_column,
                tok.start_pos + len(tok.value),
            )

    # ------------------------------------------------------------ parsing
    def _reducer(self, rule):
        name = rule.alias or rule.origin.name
        inline = name.startswith("_")
        expansion = rule.expansion
        keep = [not (getattr(s, "is_term", False) and (s.filter_out or s.name.startswith("_"))) for s in expansion]
        empty = rule.options.empty_indices
        if empty:  # absent optional parts `[x]` become None placeholders (maybe_placeholders)
            it = iter(keep)
            keep = [None if e else next(it) for e in empty]
        # The plan: per kept child (or placeholder), its position among the children (None for a
        # placeholder) and whether it is spliced (the list an inlined rule like `_stmt` reduces to).
        plan: list[tuple[int | None, bool]] = []
        ci = 0
        for k in keep:
            if k is None:
                plan.append((None, False))
                continue
            if k:
                sym = expansion[ci]
                plan.append((ci, not getattr(sym, "is_term", False) and sym.name.startswith("_")))
            ci += 1

        if inline:
            return self._inline_reducer(plan, len(expansion))

        method = getattr(self.builder, name, None)
        expand1 = rule.options.expand1 and not rule.alias
        builder = self.builder
        # `"(" expr ")"` leaves no node of its own; the builder may still count it (nesting budget)
        bracket = (
            getattr(self.builder, "bracket", None)
            if expand1 and len(expansion) > 1 and getattr(expansion[0], "name", "") == "LPAR"
            else None
        )
        # Where the span starts and ends: a token's position, a node's (or _Seq's) span, or else
        # (inlined lists, empty rules) the first/last child that has a position.
        first = _edge(expansion[0]) if expansion else None
        last = _edge(expansion[-1]) if expansion else None
        new = tuple.__new__  # Span(...) without the Python-level __new__ (one call per reduction)

        if any(spliced for _, spliced in plan):

            def reduce(children):
                kids = []
                for i, spliced in plan:
                    if i is None:
                        kids.append(None)
                    elif spliced:
                        kids.extend(children[i])
                    else:
                        kids.append(children[i])
                if expand1 and len(kids) == 1:
                    return kids[0] if bracket is None else bracket(kids[0])
                return method(new(Span, _span_of(children, first, last) + (builder.file,)), *kids)

            return reduce

        # No spliced children: the kept ones are fixed positions, picked by one itemgetter;
        # a placeholder picks the None appended after the children.
        pad = any(i is None for i, _ in plan)
        size = len(expansion)
        picks = [size if i is None else i for i, _ in plan]
        if expand1 and len(picks) == 1:
            pick = picks[0]
            if bracket is None:
                return lambda children: children[pick]
            return lambda children: bracket(children[pick])
        if size == 1 and first == "tok" and picks == [0]:  # `atom: NUMBER -> number`: the token's span

            def reduce_token(children):
                c = children[0]
                return method(new(Span, (c.line, c.column, c.end_line, c.end_column, builder.file)), c)

            return reduce_token
        get = itemgetter(*picks) if picks else None
        one = len(picks) == 1
        tok_first, tok_last = first == "tok", last == "tok"
        node_first, node_last = first == "node", last == "node"

        def reduce(children):
            if tok_first:
                c = children[0]
                sl, sc = c.line, c.column
            elif node_first:
                sp = children[0].span
                sl, sc = sp[0], sp[1]
            else:
                sl, sc = _start(children)
            if tok_last:
                c = children[-1]
                el, ec = c.end_line, c.end_column
            elif node_last:
                sp = children[-1].span
                el, ec = sp[2], sp[3]
            else:
                el, ec = _end(children)
            span = new(Span, (sl, sc, el, ec, builder.file))
            if pad:
                children.append(None)
            if get is None:
                return method(span)
            if one:
                return method(span, get(children))
            return method(span, *get(children))

        return reduce

    @staticmethod
    def _inline_reducer(plan, size: int):
        """An inlined rule (`_stmt`, repetition helpers) reduces to a plain list of its kept
        children, spliced into its parent. Each value is consumed by one reduction only, so the
        children list and a left-recursive rule's own list (`xs: xs "," x`) are reused in place."""
        if plan == [(0, False)] and size == 1:  # `_stmt: call_stmt`
            return lambda children: children
        if plan and plan[0][1]:
            head, rest = plan[0][0], plan[1:]
        else:
            head, rest = None, plan
        if head is not None and len(rest) == 1 and rest[0][0] is not None:  # `xs: xs "," x`
            i, spliced = rest[0]
            if spliced:

                def extend(children):
                    out = children[head]
                    out.extend(children[i])
                    return out

                return extend

            def append(children):
                out = children[head]
                out.append(children[i])
                return out

            return append

        def reduce(children):
            out = [] if head is None else children[head]
            for i, spliced in rest:
                if i is None:
                    out.append(None)
                elif spliced:
                    out.extend(children[i])
                else:
                    out.append(children[i])
            return out

        return reduce

    def _compile_tables(self):
        """Flatten Lark's table: per state, terminal/nonterminal -> int (>=0 shift, <0 reduce rule)."""
        rules, index = [], {}
        rows = {}
        for st, row in self.states.items():
            out = {}
            for sym, (action, arg) in row.items():
                if action is Shift:
                    out[str(sym)] = arg
                else:
                    if arg not in index:
                        index[arg] = len(rules)
                        rules.append(arg)
                    out[str(sym)] = -1 - index[arg]
            rows[st] = out
        if sorted(rows) == list(range(len(rows))):  # states are 0..n-1: index a list, not a dict
            rows = [rows[i] for i in range(len(rows))]
        self._rows = rows
        self._sizes = [len(r.expansion) for r in rules]
        self._origins = [str(r.origin.name) for r in rules]
        # A unit production of a `?rule` (expr -> ternary -> ... -> atom) passes its child through.
        self._units = [
            len(r.expansion) == 1
            and r.options.expand1
            and not r.alias
            and not getattr(r.expansion[0], "is_term", False)
            for r in rules
        ]
        self._funcs = [self._reducer(r) for r in rules]
        self._unit_memo: dict = {}

    def parse(self, text: str):
        if not hasattr(self, "_rows"):
            self._compile_tables()
        rows, end_state = self._rows, self.end
        sizes, origins, units, funcs = self._sizes, self._origins, self._units, self._funcs
        state = self.start
        state_stack: list = []  # the states under `state`
        values: list = []
        push_state, push_value = state_stack.append, values.append
        alternatives = self.alternatives
        unit_memo = self._unit_memo
        for tok in self.tokens(text):
            ttype = tok.type
            while True:
                act = rows[state].get(ttype)
                if act is None:
                    if tok.value in alternatives:
                        for alt in alternatives[tok.value]:
                            act = rows[state].get(alt)
                            if act is not None:
                                ttype = alt  # the token keeps its lexed type: the builder reads only text and position
                                break
                    if act is None:
                        if ttype == "$END" and state == end_state:
                            return values[-1]
                        done = values[0] if values else None  # the top-level statements so far
                        raise SyntaxFailure(
                            tok.start_pos, (done[-1].span[0], done[-1].span[1]) if type(done) is list and done else None
                        )
                if act >= 0:
                    push_state(state)
                    state = act
                    push_value(tok)
                    break
                r = -1 - act
                if units[r]:
                    # A chain of unit reductions (atom -> postfix -> ... -> expr) depends only on
                    # (state below, top state, lookahead): resolve it once and remember the result.
                    key = (state_stack[-1], state, ttype)
                    top = unit_memo.get(key)
                    if top is None:
                        below, top, a = key[0], state, act
                        while a is not None and a < 0 and units[-1 - a]:
                            top = rows[below][origins[-1 - a]]
                            a = rows[top].get(ttype)
                        unit_memo[key] = top
                    state = top
                    continue
                size = sizes[r]
                if size:  # pop `size` states: the one left on top is `below`
                    children = values[-size:]
                    del values[-size:]
                    below = state_stack[-size]
                    if size > 1:
                        del state_stack[1 - size :]
                else:
                    children = []
                    below = state
                    push_state(state)
                push_value(funcs[r](children))
                state = rows[below][origins[r]]
        raise SyntaxFailure(len(text))  # pragma: no cover - $END always ends the loop


def _edge(sym) -> str | None:
    """What a rule's first or last child is: "tok" (a terminal), "node" (a value with a span) or
    None (an inlined rule's list, maybe empty: looked for among the children)."""
    if getattr(sym, "is_term", False):
        return "tok"
    return None if sym.name.startswith("_") else "node"


def _span_of(children: list, first: str | None, last: str | None) -> tuple:
    # "tok" and "node" edges are fixed grammar symbols, so children is never empty for them
    if first == "tok":
        sl, sc = children[0].line, children[0].column
    elif first == "node":
        sl, sc = children[0].span[0], children[0].span[1]
    else:
        sl, sc = _start(children)
    if last == "tok":
        el, ec = children[-1].end_line, children[-1].end_column
    elif last == "node":
        el, ec = children[-1].span[2], children[-1].span[3]
    else:
        el, ec = _end(children)
    return sl, sc, el, ec


def _start(children):
    for c in children:
        p = _pos(c, True)
        if p is not None:
            return p
    return (0, 0)


def _end(children):
    for c in reversed(children):
        p = _pos(c, False)
        if p is not None:
            return p
    return (0, 0)


def _pos(v, start: bool):
    if v is None:
        return None
    if type(v) is Tok:
        return (v.line, v.column) if start else (v.end_line, v.end_column)
    sp = getattr(v, "span", None)
    if sp is not None:
        return (sp.line, sp.col) if start else (sp.end_line, sp.end_col)
    if isinstance(v, list) and v:
        return _pos(v[0] if start else v[-1], start)
    return None


# Loops in the grammar's terminals that cost more than one step per character, and forms that
# match the same strings in one (possessive loops: giving back characters can never succeed):
_LINEAR_FORMS = [
    # a long digit run with no `%` after it fails PERCENT: backtracking tried every split of the
    # run between `\d+` and `\d*` (quadratic: 5 s for 20k digits)
    (r"\d+\.?\d*", r"\d++\.?+\d*+"),
    (r"\d+(\.(?!\.)\d*)?", r"\d++(?:\.(?!\.)\d*+)?+"),  # NUMBER: `0..1` is 0, `..`, 1
    # a string: one alternation per character, unwound one by one when the string is unclosed;
    # unrolled (runs of plain characters, then escapes) it is 6x faster, and flat in its length
    *((f"(?:[^{q}\\\\\n]|\\\\.)*", f"[^{q}\\\\\n]*+(?:\\\\.[^{q}\\\\\n]*+)*+") for q in "\"'"),
    # `#fff...fg`: no shorter run of hex digits ends at a word boundary either
    (r"[0-9a-fA-F]+\b", r"[0-9a-fA-F]++\b"),
    # a block comment: the capturing group saves its mark at every character (30x slower)
    ("(.|\n)*?", r"[\s\S]*?"),  # (Lark writes the newline out)
]


def _linear(pattern: str) -> str:
    """A terminal's regex with the slow loops of _LINEAR_FORMS replaced."""
    for loop, linear in _LINEAR_FORMS:
        pattern = pattern.replace(loop, linear)
    return pattern


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex such as Lark's `(?:a|b)` for a terminal `/a/ | /b/`."""
    if pattern.startswith("(?:") and pattern.endswith(")"):
        pattern = pattern[3:-1]
    out, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":  # a character class: skip to its end (a `]` first in it is literal)
            i += 2 if pattern.startswith("[^", i) else 1
            i += pattern.startswith("]", i)
            while pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
            i += 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    out.append(pattern[start:])
    return out
