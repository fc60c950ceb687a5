"""The formatter: prints an AST back as canonical vdsl source, keeping comments; fmt(fmt(x)) == fmt(x)."""

from __future__ import annotations

from . import nodes as n
from .syntax import quote

INDENT = "  "
WIDTH = 100

_PREC = {
    "or": 2,
    "and": 3,
    "==": 5,
    "!=": 5,
    "<": 5,
    "<=": 5,
    ">": 5,
    ">=": 5,
    "+": 6,
    "-": 6,
    "*": 7,
    "/": 7,
    "%": 7,
    "**": 9,
}


def expr(e: n.Expr, need: int = 0) -> str:
    """Source of e, parenthesised if its precedence is below `need`."""
    s, p = _expr(e)
    return f"({s})" if p < need else s


def _expr(e: n.Expr) -> tuple[str, int]:
    if isinstance(e, (n.Number, n.Percent)):
        return e.raw, 11
    if isinstance(e, n.String):
        return e.raw or quote(e.value), 11  # raw: the literal as written (escaped, either quote)
    if isinstance(e, n.ColorLit):
        return e.raw, 11
    if isinstance(e, n.Bool):
        return ("true" if e.value else "false"), 11
    if isinstance(e, n.Name):
        return e.name, 11
    if isinstance(e, n.PointLit):
        return f"({expr(e.x)}, {expr(e.y)})", 11
    if isinstance(e, n.ListLit):
        return "[" + ", ".join(expr(i) for i in e.items) + "]", 11
    if isinstance(e, n.Comprehension):
        cond = f" if {expr(e.cond)}" if e.cond is not None else ""
        return f"[{expr(e.item)} for {e.var} in {expr(e.iterable)}{cond}]", 11
    if isinstance(e, n.Call):
        return call(e), 11
    if isinstance(e, n.Field):
        if isinstance(e.obj, n.Number):  # `(1).e5`, not `1.e5` (a number)
            return f"({e.obj.raw}).{e.name}", 10
        return f"{expr(e.obj, 10)}.{e.name}", 10
    if isinstance(e, n.Index):
        return f"{expr(e.obj, 10)}[{expr(e.index)}]", 10
    if isinstance(e, n.Unary):
        if e.op == "not":
            return f"not {expr(e.operand, 4)}", 4
        return f"{e.op}{expr(e.operand, 8)}", 8
    if isinstance(e, n.Binary):
        p = _PREC[e.op]
        if e.op == "**":
            return f"{expr(e.left, 10)} ** {expr(e.right, 8)}", 9
        if p == 5:  # comparisons do not chain
            return f"{expr(e.left, 6)} {e.op} {expr(e.right, 6)}", 5
        return f"{expr(e.left, p)} {e.op} {expr(e.right, p + 1)}", p
    if isinstance(e, n.Ternary):
        return f"{expr(e.cond, 2)} ? {expr(e.then)} : {expr(e.otherwise)}", 1
    raise TypeError(type(e).__name__)  # pragma: no cover


def _arg(a: n.Arg) -> str:
    return f"{a.name}={expr(a.value)}" if a.name else expr(a.value)


def call(c: n.Call, indent: str = "") -> str:
    one = f"{c.name}(" + ", ".join(_arg(a) for a in c.args) + ")"
    if len(indent) + len(one) <= WIDTH or len(c.args) < 2:
        return one
    # Too long for one line: the arguments packed into lines of at most WIDTH, one indent deeper.
    inner = indent + INDENT
    lines, cur = [], ""
    for a in c.args:
        piece = _arg(a) + ","
        if cur and len(inner) + len(cur) + 1 + len(piece) > WIDTH:
            lines.append(cur)
            cur = piece
        else:
            cur = f"{cur} {piece}" if cur else piece
    lines.append(cur)
    return f"{c.name}(\n" + "".join(f"{inner}{line}\n" for line in lines) + f"{indent})"


def _type(t: n.TypeRef | None) -> str:
    if t is None:
        return ""
    if t.choices:
        return "|".join(quote(c) for c in t.choices)
    out = t.name + (f"[{_type(t.arg)}]" if t.arg is not None else "")
    if t.min is not None or t.max is not None:
        out += " in " + ("" if t.min is None else _bound(t.min)) + ".." + ("" if t.max is None else _bound(t.max))
    return out


def _bound(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(v)


class _Printer:
    def __init__(self, comments: list[n.Comment]):
        self.comments = sorted(comments, key=lambda c: (c.line, c.col))
        self.ci = 0
        self.out: list[str] = []
        self.last_line = 0  # source line of the last statement printed

    def _comments_before(self, line: int, indent: str) -> None:
        while self.ci < len(self.comments) and self.comments[self.ci].line < line:
            c = self.comments[self.ci]
            if self.out and self.last_line and c.line > self.last_line + 1 and self.out[-1] != "":
                self.out.append("")
            # Split at "\n" only, the one line break of the lexer: str.splitlines also splits at
            # \r, \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029, which would end a `//` comment early
            # and turn the rest of it into code.
            lines = c.text.split("\n")
            self.out.append(indent + lines[0].strip())
            self.out.extend(line.rstrip() for line in lines[1:])  # block comments stay verbatim
            self.last_line = c.line + c.text.count("\n")
            self.ci += 1

    def _trailing(self, line: int) -> None:
        while (
            self.ci < len(self.comments)
            and self.comments[self.ci].line == line
            and "\n" not in self.comments[self.ci].text
        ):
            self.out[-1] += "  " + self.comments[self.ci].text.strip()
            self.ci += 1

    def block(self, stmts: list[n.Stmt], indent: str, end_line: int | None) -> None:
        for st in stmts:
            self.stmt(st, indent)
        if end_line is not None:
            self._comments_before(end_line, indent)

    def stmt(self, st: n.Stmt, indent: str) -> None:
        self._comments_before(st.span.line, indent)
        if (
            self.out
            and self.last_line
            and st.span.line > self.last_line + 1
            and self.out[-1] != ""
            and not self.out[-1].endswith("{")
        ):
            self.out.append("")
        if isinstance(st, n.Let):
            ann = f": {_type(st.type)}" if st.type else ""
            self.out.append(f"{indent}let {st.name}{ann} = {expr(st.value)}")
        elif isinstance(st, n.ParamStmt):
            ann = f": {_type(st.type)}" if st.type else ""
            self.out.append(f"{indent}param {st.name}{ann} = {expr(st.value)}")
        elif isinstance(st, n.Assign):
            self.out.append(f"{indent}{st.name} {st.op} {expr(st.value)}")
        elif isinstance(st, n.Use):
            self.out.append(f"{indent}use " + (quote(st.module) if st.is_path else st.module))
        elif isinstance(st, n.Return):
            self.out.append(f"{indent}return {expr(st.value)}")
        elif isinstance(st, n.CallStmt):
            head = indent + call(st.call, indent)
            if st.block is None:
                self.out.append(head)
            else:
                self._open_block(head, st.block, indent, st.span.end_line)
        elif isinstance(st, n.Def):
            params = ", ".join(
                p.name
                + (f": {_type(p.type)}" if p.type else "")
                + (f" {quote(p.doc)}" if p.doc else "")
                + (f" = {expr(p.default)}" if p.default is not None else "")
                for p in st.params
            )
            ret = f" -> {_type(st.returns)}" if st.returns else ""
            self._open_block(f"{indent}def {st.name}({params}){ret}", st.body, indent, st.span.end_line)
        elif isinstance(st, n.For):
            names = st.var + (f", {st.var2}" if st.var2 else "")
            self._open_block(f"{indent}for {names} in {expr(st.iterable)}", st.body, indent, st.span.end_line)
        elif isinstance(st, n.If):
            self._if(st, indent, f"{indent}if ")
        self.last_line = st.span.end_line
        self._trailing(st.span.end_line)

    def _open_block(self, head: str, body: list[n.Stmt], indent: str, end_line: int) -> None:
        if not body and not self._has_comments_before(end_line):
            self.out.append(head + " {}")
            return
        self.out.append(head + " {")
        self.last_line = 0
        self.block(body, indent + INDENT, end_line)
        self.out.append(indent + "}")

    def _has_comments_before(self, line: int) -> bool:
        return self.ci < len(self.comments) and self.comments[self.ci].line < line

    def _if(self, st: n.If, indent: str, prefix: str) -> None:
        then_end = st.otherwise[0].span.line if st.otherwise else st.span.end_line
        self._open_block(f"{prefix}{expr(st.cond)}", st.then, indent, then_end)
        if st.otherwise is None:
            return
        closing = self.out.pop()
        if len(st.otherwise) == 1 and isinstance(st.otherwise[0], n.If) and st.otherwise[0].span.line == then_end:
            self._if(st.otherwise[0], indent, f"{closing} else if ")
        else:
            self._open_block(f"{closing} else", st.otherwise, indent, st.span.end_line)


def format_program(program: n.Program) -> str:
    p = _Printer(program.comments)
    p.block(program.stmts, "", None)
    p._comments_before(10**9, "")
    while p.out and p.out[-1] == "":
        p.out.pop()
    return "\n".join(p.out) + "\n"


def format_source(source: str, file: str = "<input>"):
    """(formatted text, diagnostics); the text is None when the source does not parse."""
    from .syntax import parse

    program, diags = parse(source, file)
    if program is None:
        return None, diags
    return format_program(program), []
