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


class NumRange:
    """A lazy range of numbers (range(a, b, step)); never materialised beyond the budget."""

    __slots__ = ("start", "stop", "step", "count")

    def __init__(self, start: float, stop: float, step: float):
        self.start, self.stop, self.step = start, stop, step
        n = math.ceil((stop - start) / step)
        self.count = max(0, int(n))

    def __len__(self):
        return self.count

    def __iter__(self):
        s, st = self.start, self.step
        return (s + i * st for i in range(self.count))

    def item(self, i: int) -> float:
        """The i-th number (0 <= i < count), without building the list."""
        return self.start + i * self.step


class VList(list):
    """A list value of a running program. vdsl lists are never changed in place, so each carries its
    expanded `size` and nesting `depth`, computed once when it is built (see new_list)."""

    __slots__ = ("size", "depth")
    size: int
    depth: int


def size_of(v) -> int:
    """The expanded size of a value: 0 for a scalar, the characters of a string, and for a list its
    items plus the size of each item, so shared sublists count as often as they are referenced.
    Comparing, printing or joining a value is linear in 1 + size_of(value)."""
    t = type(v)
    if t is VList:
        return v.size
    if t is str:
        return len(v)
    if t is float or t is Point or t is Color or t is bool or v is None:
        return 0
    if isinstance(v, list):  # a plain list from outside (a default, a param): small, measured once
        return len(v) + sum(size_of(x) for x in v)
    if t is NumRange:
        return v.count
    return 0


def weight(v) -> int:
    """Fuel for work linear in a value's real (expanded) size: 1 + size_of(v)."""
    t = type(v)
    if t is VList:
        return 1 + v.size
    if t is str:
        return 1 + len(v)
    return 1 + size_of(v)


def new_list(items) -> VList:
    """A list value with its expanded size and nesting depth (callers check them against the budget)."""
    out = VList(items)
    size, depth = len(out), 1
    for x in out:
        t = type(x)
        if t is float or t is Point or t is Color:
            continue
        if t is VList:
            size += x.size
            if x.depth >= depth:
                depth = x.depth + 1
        elif t is str:
            size += len(x)
        elif isinstance(x, list):
            x = new_list(x)
            size += x.size
            depth = max(depth, x.depth + 1)
        else:
            size += size_of(x)
    out.size, out.depth = size, depth
    return out


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
    if n == "list":  # every item: callers charge fuel for it (see checks_items)
        if not isinstance(v, list):
            return False
        e = t.elem
        if e is None or e.name == "any":
            return True
        simple = _SIMPLE.get(e.name)
        if simple is not None:
            return all(type(x) is simple for x in v)
        return (
            all(type(x) is float or matches(x, e) for x in v) if e.name == "number" else all(matches(x, e) for x in v)
        )
    if n == "union":
        return any(matches(v, o) for o in t.options)
    if n == "none":
        return v is None
    return False


_SIMPLE = {"point": Point, "color": Color, "string": str, "bool": bool}


def checks_items(t: Type) -> bool:
    """Does matches(v, t) look at every item of a list v (so costs fuel linear in its size)?"""
    if t.name == "list":
        return t.elem is not None and t.elem.name != "any"
    if t.name == "union":
        return any(checks_items(o) for o in t.options)
    return False


def first_mismatch(v: list, t: Type) -> int | None:
    """The index of the first item of list v that is not of t's item type (for messages)."""
    if t.name == "list" and t.elem is not None:
        for i, x in enumerate(v):
            if not matches(x, t.elem):
                return i
    return None


def finite(x: float, what: str = "number") -> float:
    if not math.isfinite(x):
        raise RuntimeFault(
            "E305", f"{what} is {x!r}, not a finite number", "check for a division by a tiny number or a huge power"
        )
    return x


def to_paint(v) -> "ir.Paint | None":
    if v is None:
        return None
    if isinstance(v, Color):
        return None if v.a <= 0 else ir.Solid((v.r, v.g, v.b, v.a))
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
