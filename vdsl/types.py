"""The static types of vdsl values, their names as written in source, and assignability."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Type:
    name: str
    elem: "Type | None" = None  # for list[T]
    options: tuple["Type", ...] = ()  # for unions (builtin signatures only)

    def __str__(self) -> str:
        if self.name == "list":
            return f"list[{self.elem}]"
        if self.name == "union":
            return " or ".join(str(o) for o in self.options)
        return self.name


NUMBER = Type("number")
BOOL = Type("bool")
STRING = Type("string")
COLOR = Type("color")
POINT = Type("point")
PAINT = Type("paint")  # a colour, gradient, pattern or noise
NONE = Type("none")  # what drawing calls return
ANY = Type("any")  # unknown: unannotated parameters, results after an error


def list_of(t: Type) -> Type:
    return Type("list", t)


def union(*ts: Type) -> Type:
    return Type("union", None, tuple(ts))


NAMED = {"number": NUMBER, "bool": BOOL, "string": STRING, "color": COLOR, "point": POINT, "paint": PAINT, "any": ANY}
# Spellings other languages use, for hints.
TYPE_ALIASES = {
    "int": "number",
    "float": "number",
    "double": "number",
    "str": "string",
    "boolean": "bool",
    "colour": "color",
    "vec2": "point",
    "tuple": "point",
    "array": "list",
    "List": "list",
    "Point": "point",
    "Color": "color",
}


def assignable(src: Type, dst: Type) -> bool:
    """Can a value of type src be passed where dst is expected?"""
    if src is dst or src == dst or src is ANY or dst is ANY or src.name == "any" or dst.name == "any":
        return True
    if dst.name == "union":
        return any(assignable(src, o) for o in dst.options)
    if src.name == "union":
        return all(assignable(o, dst) for o in src.options)
    if dst == PAINT and src == COLOR:
        return True
    if src.name == "list" and dst.name == "list":
        return src.elem is None or dst.elem is None or assignable(src.elem, dst.elem)
    return False


def join(a: Type, b: Type) -> Type:
    """The type of a value that may be a or b (list items, ternary branches)."""
    if assignable(a, b):
        return b if a.name != "any" else a
    if assignable(b, a):
        return a
    if {a, b} == {COLOR, PAINT}:
        return PAINT
    return ANY
