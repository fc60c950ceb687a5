"""grammar/vdsl.lark in the forms servers constrain decoding with: llama.cpp GBNF (also vLLM/xgrammar's EBNF) and a fenced Lark grammar, generated at run time from the one source."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

from ..errors import VdslError

FENCE_OPEN = "```vdsl\n"
FENCE_CLOSE = "\n```"
FORMATS = ("gbnf", "ebnf", "lark")

# How each server takes a grammar in the chat request body (merged in with openai's extra_body).
CONSTRAIN_MODES = ("gbnf", "vllm", "vllm-legacy")

_WORD = re.compile(r"[A-Za-z0-9_]")


class GrammarExportError(VdslError):
    """The grammar uses a construct the exporter cannot translate (a regex feature, an operator)."""


# ------------------------------------------------------------------ the IR
# ("seq", [n]) ("alt", [n]) ("rep", n, "*"|"+"|"?") ("rule", name) ("term", name) ("lit", text)
#   -- a literal token in a rule ("chars", text) -- characters inside a terminal
# ("cls", ((lo, hi), ...), negated)


def _seq(items: list) -> tuple:
    items = [i for i in items if i != ("seq", [])]
    return items[0] if len(items) == 1 else ("seq", items)


def _alt(items: list) -> tuple:
    return items[0] if len(items) == 1 else ("alt", items)


def _from_tree(t, in_terminal: bool) -> tuple:
    """A lark.load_grammar tree (rule or terminal body) as IR."""
    from lark import Token, Tree
    from lark.grammar import NonTerminal, Terminal

    if isinstance(t, NonTerminal):
        return ("rule", t.name)
    if isinstance(t, Terminal):
        return ("term", t.name)
    if isinstance(t, Token):
        raise GrammarExportError(f"unexpected token {t!r} in the grammar")
    assert isinstance(t, Tree)
    kids = t.children
    if t.data == "expansions":
        return _alt([_from_tree(c, in_terminal) for c in kids])
    if t.data == "expansion":
        return _seq([_from_tree(c, in_terminal) for c in kids])
    if t.data == "alias":  # `-> name` shapes the tree, not the language
        return _from_tree(kids[0], in_terminal)
    if t.data == "maybe":
        return ("rep", _from_tree(kids[0], in_terminal), "?")
    if t.data == "expr":
        op = str(kids[1])
        if op not in ("*", "+", "?") or len(kids) != 2:
            raise GrammarExportError(f"the operator {op!r} is not exported")
        return ("rep", _from_tree(kids[0], in_terminal), op)
    if t.data == "value":
        return _from_tree(kids[0], in_terminal)
    if t.data == "literal":
        tok = kids[0]
        if tok.type == "STRING":
            text = tok.value
            if not text.endswith('"'):
                raise GrammarExportError(f"string flags are not exported: {text}")
            import ast

            s = ast.literal_eval(text)
            return ("chars", s) if in_terminal else ("lit", s)
        if tok.type == "REGEXP":
            if not in_terminal:
                raise GrammarExportError(f"a regex inside a rule is not exported: {tok.value}")
            body, _, flags = tok.value[1:].rpartition("/")
            if flags:
                raise GrammarExportError(f"regex flags are not exported: {tok.value}")
            return regex_ir(body)
    raise GrammarExportError(f"the grammar construct {t.data!r} is not exported")


# ------------------------------------------------------------------ regexes
_CATS = {
    "CATEGORY_DIGIT": (((48, 57),), False),
    "CATEGORY_NOT_DIGIT": (((48, 57),), True),
    "CATEGORY_WORD": (((48, 57), (65, 90), (95, 95), (97, 122)), False),  # ASCII: \w as a GBNF class
    "CATEGORY_NOT_WORD": (((48, 57), (65, 90), (95, 95), (97, 122)), True),
    "CATEGORY_SPACE": (((9, 13), (32, 32)), False),
    "CATEGORY_NOT_SPACE": (((9, 13), (32, 32)), True),
}


def regex_ir(pattern: str) -> tuple:
    """A terminal's regex as IR. Lookaheads and \\b are dropped (GBNF has none: the grammar accepts a little
    more than Lark there); `X*?` followed by a two-character terminator becomes the exact
    "anything up to the first terminator" construction; a trailing `[^c]*` (a line comment) ends at its `c`,
    as Lark's longest match does."""
    try:
        import re._parser as sre  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_parse as sre  # type: ignore[no-redef]
    parsed = sre.parse(pattern)
    if parsed.state.flags & (re.I | re.M | re.S | re.X):
        raise GrammarExportError(f"regex flags are not exported: /{pattern}/")
    node = _sre_seq(list(parsed))
    return _end_at_terminator(node)


def _end_at_terminator(node: tuple) -> tuple:
    items = list(node[1]) if node[0] == "seq" else [node]
    last = items[-1] if items else None
    if last and last[0] == "rep" and last[2] == "*" and last[1][0] == "cls" and last[1][2]:
        ranges = last[1][1]
        if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
            return _seq(items + [("chars", chr(ranges[0][0]))])
    if node[0] == "alt":
        return _alt([_end_at_terminator(a) for a in node[1]])
    return node


def _any(node: tuple) -> bool:
    """Does this IR match every single character (`.` with \\n, `(.|\\n)`)?"""
    if node[0] == "cls" and node[2] and node[1] == ((10, 10),):
        return False
    if node[0] == "alt":
        return any(a[0] == "cls" and a[2] and a[1] == ((10, 10),) for a in node[1]) and any(
            a == ("chars", "\n") or (a[0] == "cls" and not a[2] and (10, 10) in a[1]) for a in node[1]
        )
    return False


def _sre_seq(items: list) -> tuple:
    out: list = []
    i = 0
    while i < len(items):
        op, av = items[i]
        name = str(op)
        if name == "MIN_REPEAT":
            lo, _hi, sub = av
            term = ""
            j = i + 1
            while j < len(items) and str(items[j][0]) == "LITERAL":
                term += chr(items[j][1])
                j += 1
            body = _sre_seq(list(sub))
            if lo != 0 or len(term) != 2 or term[0] == term[1] or not _any(body):
                raise GrammarExportError("a lazy repeat is exported only as `(.|\\n)*?` before a 2-character end")
            a, b = ord(term[0]), ord(term[1])
            not_a = ("cls", ((a, a),), True)
            not_ab = ("cls", tuple(sorted({(a, a), (b, b)})), True)
            run_a = ("rep", ("chars", term[0]), "+")
            out.append(("rep", ("alt", [not_a, ("seq", [run_a, not_ab])]), "*"))
            out.append(run_a)
            out.append(("chars", term[1]))
            i = j
            continue
        out.append(_sre_item(name, av))
        i += 1
    flat: list = []
    for x in out:  # join adjacent characters into one literal
        if x is None:
            continue
        if x[0] == "chars" and flat and flat[-1][0] == "chars":
            flat[-1] = ("chars", flat[-1][1] + x[1])
        else:
            flat.append(x)
    return _seq(flat)


def _sre_item(name: str, av):
    if name == "LITERAL":
        return ("chars", chr(av))
    if name == "NOT_LITERAL":
        return ("cls", ((av, av),), True)
    if name == "ANY":
        return ("cls", ((10, 10),), True)
    if name == "IN":
        ranges, neg = [], False
        for op, v in av:
            o = str(op)
            if o == "NEGATE":
                neg = True
            elif o == "LITERAL":
                ranges.append((v, v))
            elif o == "RANGE":
                ranges.append(tuple(v))
            elif o == "CATEGORY":
                rs, n = _CATS[str(v)]
                if n:
                    raise GrammarExportError("a negated category inside a class is not exported")
                ranges.extend(rs)
            else:
                raise GrammarExportError(f"regex class item {o} is not exported")
        return ("cls", tuple(sorted(set(ranges))), neg)
    if name == "CATEGORY":
        rs, n = _CATS[str(av)]
        return ("cls", rs, n)
    if name in ("MAX_REPEAT", "POSSESSIVE_REPEAT"):
        lo, hi, sub = av
        body = _sre_seq(list(sub))
        import re._constants as c  # type: ignore[import-not-found]

        unbounded = hi == c.MAXREPEAT
        if (lo, unbounded) == (0, True):
            return ("rep", body, "*")
        if (lo, unbounded) == (1, True):
            return ("rep", body, "+")
        if (lo, hi) == (0, 1):
            return ("rep", body, "?")
        if not unbounded and hi <= 16:
            return _seq([body] * lo + [("rep", body, "?")] * (hi - lo))
        raise GrammarExportError(f"the repeat {{{lo},{hi}}} is not exported")
    if name == "SUBPATTERN":
        _g, add, dele, sub = av
        if add or dele:
            raise GrammarExportError("inline regex flags are not exported")
        return _sre_seq(list(sub))
    if name == "BRANCH":
        return _alt([_sre_seq(list(b)) for b in av[1]])
    if name in ("AT", "ASSERT_NOT", "ASSERT"):  # \b, lookarounds: GBNF has none; the grammar accepts a bit more
        return None
    raise GrammarExportError(f"the regex construct {name} is not exported")


# ------------------------------------------------------------------ the grammar
@dataclass
class Exported:
    rules: dict  # GBNF name -> IR (rules and terminals), in order
    root: str  # the program rule
    ignore: list  # IR of each %ignore'd terminal


def _gname(name: str, terminal: bool) -> str:
    base = name.strip("_").replace("_", "-")
    return base.upper() if terminal else base.lower()


def _grammar_text() -> str:
    from importlib import resources

    return resources.files("vdsl.grammar").joinpath("vdsl.lark").read_text(encoding="utf-8")


def _load(text: str) -> Exported:
    from lark.load_grammar import load_grammar

    g, _ = load_grammar(text, "vdsl.lark", [], False)
    terms = {name: tree for name, (tree, _prio) in g.term_defs}
    ignored = set(g.ignore)
    rules: dict = {}
    for name, params, tree, _opts in g.rule_defs:
        if params:
            raise GrammarExportError(f"templated rule {name} is not exported")
        rules[("rule", str(name))] = _from_tree(tree, False)
    for name, tree in terms.items():
        if name not in ignored:
            rules[("term", name)] = _from_tree(tree, True)
    ignore = []
    for name in g.ignore:
        node = _from_tree(terms[name], True)
        if node[0] == "rep" and node[2] == "+":  # `[ \t]+` inside ws's own `*`: one character at a time
            node = node[1]
        ignore.append(node)
    return Exported(rules, "start", ignore)


def _strip_left_recursion(name: str, node: tuple) -> tuple:
    """X: X a | X b | c | d  ->  X: (c | d) (a | b)*  (the same language, no left recursion)."""
    alts = node[1] if node[0] == "alt" else [node]
    rec, base = [], []
    for a in alts:
        items = a[1] if a[0] == "seq" else [a]
        if items and items[0] == ("rule", name):
            rec.append(_seq(items[1:]))
        else:
            base.append(a)
    if not rec:
        return node
    if not base:
        raise GrammarExportError(f"rule {name} only recurses on itself")
    return _seq([_alt(base), ("rep", _alt(rec), "*")])


# word-ness: which characters a rule's text can start / end with ("w" word, "n" not) and whether it is empty
class _Words:
    def __init__(self, rules: dict):
        self.rules = rules
        self.first: dict = {k: set() for k in rules}
        self.last: dict = {k: set() for k in rules}
        self.null: dict = dict.fromkeys(rules, False)
        changed = True
        while changed:
            changed = False
            for k, node in rules.items():
                f, l, n = self.info(node)
                if f != self.first[k] or l != self.last[k] or n != self.null[k]:
                    self.first[k], self.last[k], self.null[k] = f, l, n
                    changed = True

    def info(self, node: tuple) -> tuple[set, set, bool]:
        kind = node[0]
        if kind in ("lit", "chars"):
            s = node[1]
            if not s:
                return set(), set(), True
            w = lambda ch: "w" if _WORD.match(ch) else "n"
            return {w(s[0])}, {w(s[-1])}, False
        if kind == "cls":
            ranges, neg = node[1], node[2]
            word = [(48, 57), (65, 90), (95, 95), (97, 122)]
            hits = any(lo <= b and a <= hi for lo, hi in ranges for a, b in word)
            allw = all(any(a <= lo and hi <= b for a, b in word) for lo, hi in ranges)
            kinds = {"w", "n"} if neg or (hits and not allw) else ({"w"} if allw else {"n"})
            return kinds, kinds, False
        if kind in ("rule", "term"):
            key = (kind, node[1])
            return set(self.first.get(key, ())), set(self.last.get(key, ())), self.null.get(key, False)
        if kind == "rep":
            f, l, n = self.info(node[1])
            return f, l, n or node[2] in ("*", "?")
        if kind == "alt":
            f, l, n = set(), set(), False
            for a in node[1]:
                fa, la, na = self.info(a)
                f |= fa
                l |= la
                n = n or na
            return f, l, n
        if kind == "seq":
            infos = [self.info(i) for i in node[1]]
            f, l = set(), set()
            for fi, _li, ni in infos:
                f |= fi
                if not ni:
                    break
            for _fi, li, ni in reversed(infos):
                l |= li
                if not ni:
                    break
            return f, l, all(ni for *_, ni in infos)
        raise AssertionError(kind)


def _gbnf_str(s: str) -> str:
    return '"' + "".join(_esc(ch, '"') for ch in s) + '"'


def _esc(ch: str, quote: str) -> str:
    o = ord(ch)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
    if ch in named:
        return named[ch]
    if ch == quote or ch in ("]", "[", "^", "-") and quote == "]":
        return "\\" + ch
    if o < 32 or o == 127:
        return f"\\x{o:02X}"
    if o > 126:
        return f"\\u{o:04X}" if o <= 0xFFFF else f"\\U{o:08X}"
    return ch


def _gbnf_cls(ranges, neg: bool) -> str:
    body = "".join(_esc(chr(a), "]") if a == b else f"{_esc(chr(a), ']')}-{_esc(chr(b), ']')}" for a, b in ranges)
    return f"[{'^' if neg else ''}{body}]"


def _items(node: tuple) -> list:
    return list(node[1]) if node[0] == "seq" else [node]


def left_factor(node: tuple) -> tuple:
    """A | A b c  ->  A (b c)?  and  "(" e ")" | "(" e "," e ")"  ->  "(" e (")" | "," e ")"), everywhere.

    The same language, but llama.cpp's grammar sampler keeps one parse stack per live alternative: unfactored,
    every nesting level of an expression doubles them (ternary, compare, power all start like their
    operand), and a few levels of nesting made it crawl."""
    kind = node[0]
    if kind == "rep":
        return ("rep", left_factor(node[1]), node[2])
    if kind == "seq":
        return _seq([left_factor(i) for i in node[1]])
    if kind != "alt":
        return node
    groups: dict = {}
    for a in node[1]:
        items = _items(left_factor(a))
        groups.setdefault(repr(items[0]) if items else "", []).append(items)
    out = []
    for members in groups.values():
        if len(members) == 1 or not members[0]:
            out.extend(_seq(m) for m in members)
            continue
        rests = [_seq(m[1:]) for m in members]
        empty = any(r == ("seq", []) for r in rests)
        rest = left_factor(_alt([r for r in rests if r != ("seq", [])]))
        out.append(_seq([members[0][0], ("rep", rest, "?") if empty else rest]))
    return _alt(out)


class _Emitter:
    def __init__(self, ex: Exported):
        self.ex = ex
        self.rules = {
            k: left_factor(_strip_left_recursion(k[1], v) if k[0] == "rule" else v) for k, v in ex.rules.items()
        }
        self.words = _Words(self.rules)
        self.extra: dict = {}  # helper rules made while emitting (name -> IR)

    def always(self, info: tuple[set, set, bool], which: int) -> bool:
        return info[which] == {"w"} and not info[2]

    def emit(self, node: tuple, top: bool = True) -> str:
        kind = node[0]
        if kind == "lit":
            return "ws " + _gbnf_str(node[1])
        if kind == "chars":
            return _gbnf_str(node[1])
        if kind == "cls":
            return _gbnf_cls(node[1], node[2])
        if kind == "term":
            return "ws " + _gname(node[1], True)
        if kind == "rule":
            return _gname(node[1], False)
        if kind == "rep":
            sep = self._separated(node)
            if sep is not None:
                return sep
            inner = self.emit(node[1], True)
            simple = node[1][0] in ("chars", "cls", "rule")  # a single symbol needs no brackets
            return (inner if simple else f"({inner})") + node[2]
        if kind == "alt":
            s = " | ".join(self.emit(a, True) for a in node[1])
            return s if top else f"({s})"
        if kind == "seq":
            parts = []
            items = node[1]
            for i, it in enumerate(items):
                s = self.emit(it, False)
                # two word tokens in a row ("let" NAME, NAME "in") need whitespace between them, as for Lark
                if i and it[0] in ("lit", "term") and s.startswith("ws "):
                    prev = self.words.info(items[i - 1])
                    if self.always(prev, 1) and self.always(self.words.info(it), 0):
                        s = "ws1 " + s[3:]
                parts.append(s)
            s = " ".join(parts)
            return s if top or len(items) <= 1 else f"({s})"
        raise AssertionError(kind)

    def _separated(self, node: tuple) -> str | None:
        """`stmt*` where one statement may end with a word character and the next start with one: GBNF has
        no longest match, so `let a = bc` could end at `b` and `c...` start the next statement, which Lark
        would lex as one name. Such a list becomes `(X (ws1 | ws ";") X ...)?` with X the statement without
        its own optional `;` (kept once at the end): statements are separated by whitespace, a comment or
        a `;`, as every example writes them (Lark also takes `f()g()`, which this refuses)."""
        item = node[1]
        if node[2] not in ("*", "+") or item[0] != "rule":
            return None
        first, last, _ = self.words.info(item)
        body = self.rules.get(item)
        if "w" not in first or "w" not in last or body is None or body[0] != "seq":
            return None
        *core, tail = body[1]
        if tail[0] != "rep" or tail[2] != "?" or "w" in self.words.info(tail[1])[0]:
            return None
        name = _gname(item[1], False) + "-core"
        self.extra[name] = _seq(core)
        t = self.emit(tail[1], True)
        many = f"{name} ((ws1 | {t}) {name})* ({t})?"
        return f"({many})?" if node[2] == "*" else f"({many})"

    def gbnf(self) -> str:
        # the closing fence starts a line: the whitespace before it ends with a newline, or with a line comment
        # (which ends at its newline)
        items = [a for n in self.ex.ignore for a in (n[1] if n[0] == "alt" else [n])]
        nl_items = [_gbnf_str("\n")] + [
            self.emit(n, True) for n in items if n[0] == "seq" and n[1][-1][0] == "chars" and n[1][-1][1].endswith("\n")
        ]
        lines = [
            "# vdsl: generated from grammar/vdsl.lark by `vdsl grammar --format gbnf`; do not edit.",
            "# The reply is one fenced program. Every token may be preceded by whitespace or comments (ws).",
            f"root ::= {_gbnf_str(FENCE_OPEN)} {_gname(self.ex.root, False)} ws-nl {_gbnf_str(FENCE_CLOSE[1:])}",
        ]
        for (kind, name), node in self.rules.items():
            lines.append(f"{_gname(name, kind == 'term')} ::= {self.emit(node)}")
        for name, node in list(self.extra.items()):
            lines.append(f"{name} ::= {self.emit(node)}")
        ign = " | ".join(self.emit(n, True) for n in self.ex.ignore)
        lines.append(f"ws ::= ({ign})*")
        lines.append(f"ws1 ::= ({ign})+")
        lines.append(f"ws-nl ::= ws ({' | '.join(nl_items)})")
        return "\n".join(lines) + "\n"


def _check_no_indirect_left_recursion(em: _Emitter) -> None:
    """llama.cpp cannot run a left-recursive grammar: after rewriting X: X a | b, none may remain."""
    firsts: dict = {}
    for (kind, name), node in em.rules.items():
        if kind != "rule":
            continue
        acc: set = set()
        _leading_rules(node, acc, em.words)
        firsts[name] = acc
    for start in firsts:
        seen, todo = set(), list(firsts[start])
        while todo:
            r = todo.pop()
            if r == start:
                raise GrammarExportError(f"rule {start} is left-recursive through other rules")
            if r not in seen:
                seen.add(r)
                todo.extend(firsts.get(r, ()))


def _leading_rules(node: tuple, acc: set, words: _Words) -> None:
    kind = node[0]
    if kind == "rule":
        acc.add(node[1])
    elif kind == "rep":
        _leading_rules(node[1], acc, words)
    elif kind == "alt":
        for a in node[1]:
            _leading_rules(a, acc, words)
    elif kind == "seq":
        for it in node[1]:
            _leading_rules(it, acc, words)
            if not words.info(it)[2]:
                break


@functools.lru_cache(maxsize=4)
def export(fmt: str = "gbnf", source: str | None = None) -> str:
    """The grammar in `fmt` (gbnf / ebnf / lark) from grammar/vdsl.lark (or `source`): the whole reply is
    "```vdsl\\n" program "\\n```".

    gbnf: llama.cpp's grammar format (the `grammar` field of its server). ebnf: the same text, which is the
    EBNF dialect vLLM's xgrammar backend takes (`structured_outputs.grammar`). lark: the grammar itself, with
    the fence around `start`, for Lark-based backends (guidance/llguidance, outlines)."""
    text = source if source is not None else _grammar_text()
    if fmt == "lark":
        body = re.sub(r"^start:", "program:", text, count=1, flags=re.M)
        return (
            "// vdsl: generated from grammar/vdsl.lark by `vdsl grammar --format lark`; do not edit.\n"
            "start: FENCE_OPEN program FENCE_CLOSE\n"
            'FENCE_OPEN: "```vdsl"\nFENCE_CLOSE: "```"\n\n' + body
        )
    if fmt not in ("gbnf", "ebnf"):
        raise GrammarExportError(f"unknown grammar format {fmt!r}: choose one of {', '.join(FORMATS)}")
    em = _Emitter(_load(text))
    _check_no_indirect_left_recursion(em)
    out = em.gbnf()
    if fmt == "ebnf":
        out = out.replace("--format gbnf", "--format ebnf", 1)
    return out


def grammar_sha(fmt: str = "gbnf") -> str:
    return hashlib.sha256(export(fmt).encode("utf-8")).hexdigest()


def request_fields(mode: str) -> dict:
    """What goes into the chat request body for `--constrain MODE` (merged with openai's extra_body):
    gbnf -> llama.cpp's `grammar`; vllm -> `structured_outputs: {grammar}` (vLLM >= 0.10.2);
    vllm-legacy -> `guided_grammar` (vLLM before 0.12)."""
    if mode == "gbnf":
        return {"grammar": export("gbnf")}
    if mode == "vllm":
        return {"structured_outputs": {"grammar": export("ebnf")}}
    if mode == "vllm-legacy":
        return {"guided_grammar": export("ebnf")}
    raise GrammarExportError(f"unknown --constrain mode {mode!r}: choose one of {', '.join(CONSTRAIN_MODES)}")
