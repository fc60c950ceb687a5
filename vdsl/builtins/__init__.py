"""The builtin signature table: the ONE place builtins are declared; checker, docs, hints and prompt read it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from ..types import ANY, Type

REQUIRED = object()  # marks a parameter with no default


@dataclass(frozen=True)
class Param:
    name: str
    type: Type
    default: Any = REQUIRED  # a runtime value, or REQUIRED
    doc: str = ""
    choices: tuple[str, ...] = ()  # allowed strings, for enum-like parameters
    min: float | None = None  # inclusive range checked at run time
    max: float | None = None
    integer: bool = False  # a whole number (a count, a number of sides): shown as type `int`
    unit: str = ""  # what the number is in, shown after its range: "fraction of w", "degrees"

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def in_range(self, v: float) -> bool:
        return (
            (self.min is None or v >= self.min)
            and (self.max is None or v <= self.max)
            and (not self.integer or float(v).is_integer())
        )

    def type_text(self) -> str:
        """The parameter's type as a def header writes it: `number in 0..1`, `int in 3..`, `"a"|"b"`."""
        if self.choices:
            return "|".join(f'"{c}"' for c in self.choices)
        t = "int" if self.integer and self.type.name == "number" else str(self.type)
        if self.min is not None or self.max is not None:
            lo = "" if self.min is None else f"{self.min:g}"
            hi = "" if self.max is None else f"{self.max:g}"
            t += f" in {lo}..{hi}"
        return t

    def text(self, default: str | None = None, doc: bool = True) -> str:
        """`name: type in lo..hi "doc" = default`: one parameter as signatures show it (default=None:
        the default is not shown)."""
        s = f"{self.name}: {self.type_text()}"
        if doc and self.unit:
            s += f' "{self.unit}"'
        return s + ("" if default is None else f" = {default}")


@dataclass(frozen=True)
class Cost:
    """The fuel a builtin charges beyond the one step of its call, from its bound arguments: charged
    before it runs, so work is refused before it is done. `doc` is how the reference prints it."""

    doc: str
    fuel: Callable[[dict[str, Any]], int]


def per_item(*params: str) -> Cost:
    """1 per item of the named list arguments (work that touches each item once)."""
    if len(params) == 1:
        p = params[0]
        return Cost(f"len({p})", lambda a: len(a[p]))
    return Cost(" + ".join(f"len({p})" for p in params), lambda a: sum(len(a[p]) for p in params))


def per_char(param: str) -> Cost:
    """1 per character of a string argument (parsing it)."""
    return Cost(f"len({param})", lambda a: len(a[param]))


@dataclass(frozen=True)
class Builtin:  # noqa: PLR0902 - a signature has many parts
    name: str
    params: tuple[Param, ...]
    returns: Type | Callable[[dict[str, Type]], Type]
    doc: str
    category: str
    impl: Callable[..., Any]
    positional: int = 0  # how many leading parameters may be passed positionally
    block: bool = False  # takes a `{ ... }` block of drawing statements
    variadic: Type | None = None  # takes any number (>= 1) of positional arguments of this type
    example: str = ""
    aliases_of: str | None = None  # this name is an alias of another builtin
    cost: Cost | None = None  # fuel beyond one step, for work that grows with the arguments

    def param(self, name: str) -> Param | None:
        return self.param_map.get(name)

    @functools.cached_property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @functools.cached_property
    def param_map(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    @functools.cached_property
    def defaults(self) -> dict[str, Any]:
        """The parameters that have defaults, with them (what a call starts from)."""
        return {p.name: p.default for p in self.params if not p.required}

    def result_type(self, args: dict[str, Type]) -> Type:
        return self.returns(args) if callable(self.returns) else self.returns

    def short_signature(self) -> str:
        """The signature without the shared style parameters of shapes (for hints)."""
        return self._short_signature

    @functools.cached_property
    def _short_signature(self) -> str:
        from .shapes import STYLE_NAMES
        from dataclasses import replace

        if not {p.name for p in self.params} >= STYLE_NAMES:  # not a shape: nothing shared to drop
            return self.signature()
        own = tuple(p for p in self.params if p.name not in STYLE_NAMES)
        s = replace(self, params=own).signature()
        if len(own) == len(self.params):
            return s
        # style defaults of this shape that differ from the shared ones (a line is stroked black, unfilled)
        from .shapes import STYLE
        from ..values import show

        shared = {p.name: p.default for p in STYLE}
        own_defaults = [
            f"{p.name}={'none' if p.default is None else show(p.default)}"
            for p in self.params
            if p.name in shared and p.default != shared[p.name]
        ]
        return s + (
            f" + style (defaults here: {', '.join(own_defaults)})" if own_defaults else " + style (fill, stroke, ...)"
        )

    def signature(self) -> str:
        """`name(a: number, b: color = red) -> color`, as docs and the prompt show it."""
        from ..values import show

        if self.variadic is not None:
            ps = f"*values: {self.variadic}"
        else:
            parts = []
            for i, p in enumerate(self.params):
                s = p.text(
                    None
                    if p.required
                    else "none"
                    if p.default is None
                    else (f'"{p.default}"' if isinstance(p.default, str) else show(p.default)),
                )
                parts.append(s)
                if self.positional and i == self.positional - 1 and i < len(self.params) - 1:
                    parts.append("*")
            ps = ", ".join(parts)
        ret = self.returns if not callable(self.returns) else getattr(self.returns, "doc", "any")
        tail = " { ... }" if self.block else ""
        return f"{self.name}({ps}){tail}" + ("" if str(ret) == "none" else f" -> {ret}")


TABLE: dict[str, Builtin] = {}
CONSTANTS: dict[str, tuple[Type, Any, str]] = {}  # name -> (type, value, doc)


def builtin(
    name: str,
    params: list[Param],
    returns,
    doc: str,
    category: str,
    *,
    positional: int = 0,
    block: bool = False,
    variadic: Type | None = None,
    example: str = "",
    aliases: tuple[str, ...] = (),
    cost: Cost | None = None,
):
    """Decorator registering an implementation under its signature (and its cost, see Cost)."""

    def register(fn):
        b = Builtin(name, tuple(params), returns, doc, category, fn, positional, block, variadic, example, cost=cost)
        TABLE[name] = b
        for a in aliases:
            TABLE[a] = Builtin(
                a,
                tuple(params),
                returns,
                f"Alias of `{name}`. " + doc,
                category,
                fn,
                positional,
                block,
                variadic,
                "",
                aliases_of=name,
                cost=cost,
            )
        return fn

    return register


def constant(name: str, typ: Type, value: Any, doc: str) -> None:
    CONSTANTS[name] = (typ, value, doc)


def returns_doc(doc: str):
    """Attach a readable description to a computed return type."""

    def wrap(fn):
        fn.doc = doc
        return fn

    return wrap


def same_as(param: str, fallback: Type = ANY):
    @returns_doc(f"type of {param}")
    def f(args: dict[str, Type]) -> Type:
        return args.get(param, fallback)

    return f


def elem_of(param: str):
    @returns_doc(f"item type of {param}")
    def f(args: dict[str, Type]) -> Type:
        t = args.get(param)
        return t.elem if t is not None and t.name == "list" and t.elem is not None else ANY

    return f


CATEGORIES = [
    "canvas",
    "shapes",
    "groups and effects",
    "paint",
    "colors",
    "math",
    "points",
    "lists and strings",
    "random",
]

# Importing the modules fills TABLE and CONSTANTS.
from . import colors, math_, paint, random_, shapes, structure  # noqa: E402,F401
