"""Runtime values of vdsl (numbers are floats; colours and points are small tuples) and runtime faults."""
from __future__ import annotations

import math
from typing import NamedTuple

from . import ir
from .types import ANY, BOOL, COLOR, NONE, NUMBER, PAINT, POINT, STRING, Type


class Color(NamedTuple):
    """Straight-alpha RGBA, each channel a float in [0, 1]."""
    r: float
    g: float
    b: float
    a: float = 1.0

    def hex(self) -> str:
        ch = [round(max(0.0, min(1.0, c)) * 255) for c in self]
        return "#" + "".join(f"{c:02x}" for c in (ch if ch[3] != 255 else ch[:3]))


class Point(NamedTuple):
    x: float
    y: float


class RuntimeFault(Exception):
    """An evaluation error raised inside a builtin or operator; becomes a Diagnostic at the call's span."""

    def __init__(self, code: str, message: str, hint: str | None = None, span=None):
        super().__init__(message)
        self.code, self.message, self.hint, self.span = code, message, hint, span


PAINT_CLASSES = (ir.Solid, ir.LinearGradient, ir.RadialGradient, ir.SweepGradient, ir.Pattern, ir.Noise)


def type_of(v) -> Type:
    from .types import list_of
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, float):
        return NUMBER
    if isinstance(v, int):
        return NUMBER
    if isinstance(v, str):
        return STRING
    if isinstance(v, Color):
        return COLOR
    if isinstance(v, Point):
        return POINT
    if isinstance(v, PAINT_CLASSES):
        return PAINT
    if isinstance(v, list):
        return list_of(type_of(v[0]) if v else ANY)
    if v is None:
        return NONE
    return ANY


def matches(v, t: Type) -> bool:
    """Does runtime value v have (a subtype of) static type t?"""
    n = t.name
    if n == "any":
        return True
    if n == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if n == "bool":
        return isinstance(v, bool)
    if n == "string":
        return isinstance(v, str)
    if n == "color":
        return isinstance(v, Color)
    if n == "point":
        return isinstance(v, Point)
    if n == "paint":
        return isinstance(v, (Color,) + PAINT_CLASSES)
    if n == "list":
        return isinstance(v, list) and (t.elem is None or t.elem.name == "any" or all(matches(x, t.elem) for x in v[:64]))
    if n == "union":
        return any(matches(v, o) for o in t.options)
    if n == "none":
        return v is None
    return False


def finite(x: float, what: str = "number") -> float:
    if not math.isfinite(x):
        raise RuntimeFault("E305", f"{what} is {x!r}, not a finite number",
                           "check for a division by a tiny number or a huge power")
    return x


def to_paint(v) -> "ir.Paint | None":
    if v is None:
        return None
    if isinstance(v, Color):
        return None if v.a <= 0 else ir.Solid(tuple(v))
    return v


def show(v) -> str:
    """How a value prints in messages and in str()."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.6g}"
    if isinstance(v, Color):
        return v.hex()
    if isinstance(v, Point):
        return f"({show(v.x)}, {show(v.y)})"
    if isinstance(v, list):
        return "[" + ", ".join(show(x) for x in v[:20]) + (", ..." if len(v) > 20 else "") + "]"
    if isinstance(v, str):
        return v
    return type(v).__name__
