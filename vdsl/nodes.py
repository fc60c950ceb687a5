"""The typed AST: one dataclass per construct, every node carrying its source span."""

from __future__ import annotations

from dataclasses import dataclass, field

from .diagnostics import Span


@dataclass(eq=False)
class Node:
    span: Span


# ---------------------------------------------------------------- types
@dataclass(eq=False)
class TypeRef(Node):
    name: str
    arg: "TypeRef" | None = None
    # limits a def parameter's type may carry: `number in 0..1` (min, max; None = open), `"a"|"b"`
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()


# ---------------------------------------------------------------- expressions
@dataclass(eq=False)
class Expr(Node):
    pass


@dataclass(eq=False)
class Number(Expr):
    value: float
    raw: str


@dataclass(eq=False)
class Percent(Expr):
    value: float  # already divided by 100
    raw: str


@dataclass(eq=False)
class String(Expr):
    value: str
    raw: str


@dataclass(eq=False)
class ColorLit(Expr):
    raw: str  # "#rrggbb" as written


@dataclass(eq=False)
class Bool(Expr):
    value: bool


@dataclass(eq=False)
class Name(Expr):
    name: str


@dataclass(eq=False)
class PointLit(Expr):
    x: Expr
    y: Expr


@dataclass(eq=False)
class ListLit(Expr):
    items: list[Expr]


@dataclass(eq=False)
class Comprehension(Expr):
    item: Expr
    var: str
    iterable: Expr
    cond: Expr | None


@dataclass(eq=False)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(eq=False)
class Unary(Expr):
    op: str
    operand: Expr


@dataclass(eq=False)
class Ternary(Expr):
    cond: Expr
    then: Expr
    otherwise: Expr


@dataclass(eq=False)
class Field(Expr):
    obj: Expr
    name: str
    name_span: Span = field(default=None)  # type: ignore[assignment]


@dataclass(eq=False)
class Index(Expr):
    obj: Expr
    index: Expr


@dataclass(eq=False)
class Arg(Node):
    name: str | None
    value: Expr


@dataclass(eq=False)
class Call(Expr):
    name: str
    args: list[Arg]
    name_span: Span = field(default=None)  # type: ignore[assignment]


# ---------------------------------------------------------------- statements
@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class Let(Stmt):
    name: str
    type: TypeRef | None
    value: Expr


@dataclass(eq=False)
class ParamStmt(Stmt):
    name: str
    type: TypeRef | None
    value: Expr


@dataclass(eq=False)
class Assign(Stmt):
    name: str
    op: str
    value: Expr


@dataclass(eq=False)
class ParamDecl(Node):
    name: str
    type: TypeRef | None
    default: Expr | None
    doc: str = ""  # the string after the type: its unit or meaning, e.g. "fraction of w"


@dataclass(eq=False)
class Def(Stmt):
    name: str
    params: list[ParamDecl]
    returns: TypeRef | None
    body: list[Stmt]
    doc: str = ""  # the // comment lines right above the def


@dataclass(eq=False)
class For(Stmt):
    var: str
    var2: str | None  # `for i, x in list` binds the index and the item
    iterable: Expr
    body: list[Stmt]


@dataclass(eq=False)
class If(Stmt):
    cond: Expr
    then: list[Stmt]
    otherwise: list[Stmt] | None  # an `else if` is a one-statement list holding an If


@dataclass(eq=False)
class Use(Stmt):
    module: str
    is_path: bool = False


@dataclass(eq=False)
class Return(Stmt):
    value: Expr


@dataclass(eq=False)
class CallStmt(Stmt):
    call: Call
    block: list[Stmt] | None


@dataclass(eq=False)
class Comment:
    line: int
    col: int
    text: str


@dataclass(eq=False)
class Program(Node):
    stmts: list[Stmt]
    comments: list[Comment] = field(default_factory=list)
    file: str = "<input>"


Statement = Let | ParamStmt | Assign | Def | For | If | Use | Return | CallStmt
