"""A fast LALR driver over Lark's own tables: lexes with one regex and reduces straight into AST callbacks."""
from __future__ import annotations

import re

from lark import Lark
from lark.lexer import PatternStr
from lark.parsers.lalr_analysis import Shift

from .diagnostics import Span

_SKIP_TERMINALS = ("COMMENT",)


class Tok:
    """A lexed token: its terminal type, text and position (1-based line/col, end exclusive)."""
    __slots__ = ("type", "value", "start_pos", "line", "column", "end_line", "end_column")

    def __init__(self, type, value, start_pos, line, column, end_column):
        self.type = type
        self.value = value
        self.start_pos = start_pos
        self.line = line
        self.column = column
        self.end_line = line
        self.end_column = end_column

    def __str__(self):
        return self.value

    def __repr__(self):
        return f"Tok({self.type}, {self.value!r})"


class SyntaxFailure(Exception):
    """Raised when the input is not in the language; the caller re-parses with Lark for the details."""


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
        self._reducers = {}
        self._build_lexer(lark)

    # ------------------------------------------------------------ lexing
    def _build_lexer(self, lark: Lark) -> None:
        terms = {t.name: t for t in lark.terminals}
        fixed = [t for t in terms.values() if t.name in ("COMMENT",) or t.name.startswith("__IGNORE")]
        lits = [t for t in terms.values() if t.name not in ("NAME", "NUMBER", "PERCENT", "STRING", "COLOR")
                and t not in fixed]
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
        self.op_types = {}
        self.alternatives: dict[str, tuple[str, ...]] = {}
        for text, name in ops:
            if text in self.op_types:
                self.alternatives[text] = self.alternatives.get(text, (self.op_types[text],)) + (name,)
            else:
                self.op_types[text] = name
        parts = [
            r"(?P<NL>\n)",
            f"(?P<COMMENT>{terms['COMMENT'].pattern.to_regexp()})",
            f"(?P<PERCENT>{terms['PERCENT'].pattern.to_regexp()})",
            f"(?P<NUMBER>{terms['NUMBER'].pattern.to_regexp()})",
            f"(?P<STRING>{terms['STRING'].pattern.to_regexp()})",
            f"(?P<COLOR>{terms['COLOR'].pattern.to_regexp()})",
            f"(?P<NAME>{terms['NAME'].pattern.to_regexp()})",
            "(?P<OP>" + "|".join(re.escape(o) for o, _ in ops) + ")",
            r"(?P<EOF>\Z)",
        ]
        # Blanks before a token are consumed by the same match: one regex call per token.
        self.master = re.compile(r"[ \t\r\f\ufeff]*(?:" + "|".join(parts) + ")")

    def tokens(self, text: str, comments: bool = True):
        match = self.master.match
        keywords, op_types = self.keywords, self.op_types
        pos, line, line_start, n = 0, 1, 0, len(text)
        while pos < n:
            m = match(text, pos)
            if m is None:   # point past the blanks at the character no token can start with
                while pos < n and text[pos] in " \t\r\f\ufeff":
                    pos += 1
                raise SyntaxFailure(pos)
            kind = m.lastgroup
            end = m.end()
            pos = m.start(kind)
            if kind == "NL":
                line += 1
                line_start = end
            elif kind == "EOF":
                break
            elif kind == "COMMENT":
                val = m.group(kind)
                if comments and self.on_comment is not None:
                    self.on_comment(line, pos - line_start + 1, val)
                nl = val.count("\n")
                if nl:
                    line += nl
                    line_start = pos + val.rfind("\n") + 1
            else:
                val = m.group(kind)
                if kind == "NAME":
                    kind = keywords.get(val, "NAME")
                elif kind == "OP":
                    kind = op_types[val]
                col = pos - line_start + 1
                yield Tok(kind, val, pos, line, col, col + len(val))
            pos = end
        col = pos - line_start + 1
        yield Tok("$END", "", pos, line, col, col)

    def lark_tokens(self, text: str, parser_state):
        """The same tokens as Lark `Token`s, for Lark's own parser (errors, match_examples).

        Texts shared by several terminals (`=`) are resolved against the parser state exactly
        as `parse` does, so both parsers see one token stream and accept the same language."""
        from lark import Token
        from lark.exceptions import UnexpectedCharacters
        states = parser_state.parse_conf.parse_table.states
        alternatives = self.alternatives
        try:
            for tok in self.tokens(text, comments=False):
                if tok.type == "$END":
                    return
                ttype = tok.type
                if tok.value in alternatives:
                    row = states[parser_state.position]
                    if ttype not in row:
                        ttype = next((a for a in alternatives[tok.value] if a in row), ttype)
                yield Token(ttype, tok.value, tok.start_pos, tok.line, tok.column, tok.end_line,
                            tok.end_column, tok.start_pos + len(tok.value))
        except SyntaxFailure as f:
            pos = f.args[0]
            line = text.count("\n", 0, pos) + 1
            col = pos - (text.rfind("\n", 0, pos) + 1) + 1
            raise UnexpectedCharacters(text, pos, line, col, state=parser_state.position) from None

    # ------------------------------------------------------------ parsing
    def _reducer(self, rule):
        name = rule.alias or rule.origin.name
        inline = name.startswith("_")
        expand1 = rule.options.expand1
        empty = rule.options.empty_indices
        keep = [not (getattr(s, "is_term", False) and (s.filter_out or s.name.startswith("_")))
                for s in rule.expansion]
        if empty:  # absent optional parts `[x]` become None placeholders (maybe_placeholders)
            it = iter(keep)
            keep = [None if e else next(it) for e in empty]
        method = None if inline else getattr(self.builder, name, None)
        expand1 = expand1 and not rule.alias
        file_ref = self.builder
        # `"(" expr ")"` leaves no node of its own; the builder may still count it (nesting budget)
        bracket = getattr(self.builder, "bracket", None) if expand1 and len(rule.expansion) > 1 and \
            getattr(rule.expansion[0], "name", "") == "LPAR" else None

        # Most rules have no placeholders and no inlined children: their kept children are fixed
        # positions, picked without the general loop below.
        inlined = any(not getattr(sym, "is_term", False) and sym.name.startswith("_") for sym in rule.expansion)
        picks = None if (empty or inlined or inline or not rule.expansion) else [i for i, k in enumerate(keep) if k]

        def reduce(children):
            if picks is not None:
                kids = [children[i] for i in picks]
                if expand1 and len(kids) == 1:
                    return kids[0] if bracket is None else bracket(kids[0])
                c0, c1 = children[0], children[-1]
                sl, sc = (c0.line, c0.column) if type(c0) is Tok else _start(children)
                el, ec = (c1.end_line, c1.end_column) if type(c1) is Tok else _end(children)
                return method(Span(sl, sc, el, ec, file_ref.file), *kids)
            kids = []
            ci = 0
            for k in keep:
                if k is None:
                    kids.append(None)
                    continue
                c = children[ci]
                ci += 1
                if type(c) is _Inline:
                    kids.extend(c)
                elif k:
                    kids.append(c)
            if inline:
                return _Inline(kids)
            if expand1 and len(kids) == 1:
                return kids[0] if bracket is None else bracket(kids[0])
            c0 = children[0] if children else None   # the usual cases inline, the rest in _start/_end
            c1 = children[-1] if children else None
            if type(c0) is Tok:
                sl, sc = c0.line, c0.column
            else:
                sl, sc = _start(children)
            if type(c1) is Tok:
                el, ec = c1.end_line, c1.end_column
            else:
                el, ec = _end(children)
            return method(Span(sl, sc, el, ec, file_ref.file), *kids)
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
        self._rows = rows
        self._sizes = [len(r.expansion) for r in rules]
        self._origins = [str(r.origin.name) for r in rules]
        # A unit production of a `?rule` (expr -> ternary -> ... -> atom) passes its child through.
        self._units = [len(r.expansion) == 1 and r.options.expand1 and not r.alias
                       and not getattr(r.expansion[0], "is_term", False) for r in rules]
        self._funcs = [self._reducer(r) for r in rules]
        self._unit_memo: dict = {}

    def parse(self, text: str):
        if not hasattr(self, "_rows"):
            self._compile_tables()
        rows, end_state = self._rows, self.end
        sizes, origins, units, funcs = self._sizes, self._origins, self._units, self._funcs
        state_stack = [self.start]
        values: list = []
        alternatives = self.alternatives
        unit_memo = self._unit_memo
        for tok in self.tokens(text):
            ttype = tok.type
            while True:
                act = rows[state_stack[-1]].get(ttype)
                if act is None and tok.value in alternatives:
                    for alt in alternatives[tok.value]:
                        act = rows[state_stack[-1]].get(alt)
                        if act is not None:
                            tok.type = ttype = alt
                            break
                if act is None:
                    if ttype == "$END" and state_stack[-1] == end_state:
                        return values[-1]
                    raise SyntaxFailure(tok.start_pos)
                if act >= 0:
                    state_stack.append(act)
                    values.append(tok)
                    break
                r = -1 - act
                if units[r]:
                    # A chain of unit reductions (atom -> postfix -> ... -> expr) depends only on
                    # (state below, top state, lookahead): resolve it once and remember the result.
                    key = (state_stack[-2], state_stack[-1], ttype)
                    top = unit_memo.get(key)
                    if top is None:
                        below, top, a = key[0], state_stack[-1], act
                        while a is not None and a < 0 and units[-1 - a]:
                            top = rows[below][origins[-1 - a]]
                            a = rows[top].get(ttype)
                        unit_memo[key] = top
                    state_stack[-1] = top
                    continue
                size = sizes[r]
                if size:
                    children = values[-size:]
                    del values[-size:]
                    del state_stack[-size:]
                else:
                    children = []
                values.append(funcs[r](children))
                state_stack.append(rows[state_stack[-1]][origins[r]])
        raise SyntaxFailure(len(text))  # pragma: no cover - $END always ends the loop


class _Inline(list):
    """Children of an inlined rule (`_stmt`, repetition helpers), spliced into the parent."""
    __slots__ = ()


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
