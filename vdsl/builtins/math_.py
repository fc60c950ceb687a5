"""Math, point and list/string builtins: pure functions of their arguments (angles in degrees)."""

from __future__ import annotations

import math

from ..types import ANY, BOOL, NUMBER, POINT, STRING, list_of, union
from ..values import NumRange, Point, RuntimeFault, finite, new_list, show, size_of, weight
from . import Cost, Param, builtin, constant, elem_of, per_item, returns_doc, same_as

constant("pi", NUMBER, math.pi, "π, 3.14159…")
constant("tau", NUMBER, math.tau, "τ = 2π")

NUM_OR_POINT = union(NUMBER, POINT)


def _unary(name, fn, doc, example, domain=None):
    @builtin(name, [Param("x", NUMBER)], NUMBER, doc, "math", positional=1, example=example)
    def impl(ctx, x):
        if domain is not None and not domain(x):
            raise RuntimeFault("E301", f"{name}({show(x)}) is outside its domain")
        return finite(fn(x), f"{name}({show(x)})")

    return impl


_unary("sin", lambda d: math.sin(math.radians(d)), "Sine of an angle in degrees.", "sin(30)")
_unary("cos", lambda d: math.cos(math.radians(d)), "Cosine of an angle in degrees.", "cos(60)")
_unary("tan", lambda d: math.tan(math.radians(d)), "Tangent of an angle in degrees.", "tan(45)")
_unary("asin", lambda x: math.degrees(math.asin(x)), "Arcsine, in degrees.", "asin(0.5)", lambda x: -1 <= x <= 1)
_unary("acos", lambda x: math.degrees(math.acos(x)), "Arccosine, in degrees.", "acos(0.5)", lambda x: -1 <= x <= 1)
_unary("atan", lambda x: math.degrees(math.atan(x)), "Arctangent, in degrees.", "atan(1)")
_unary("sqrt", math.sqrt, "Square root.", "sqrt(2)", lambda x: x >= 0)
_unary("abs", abs, "Absolute value.", "abs(-3)")
_unary("floor", lambda x: float(math.floor(x)), "Largest whole number <= x.", "floor(2.7)")
_unary("ceil", lambda x: float(math.ceil(x)), "Smallest whole number >= x.", "ceil(2.1)")
_unary("round", lambda x: float(math.floor(x + 0.5)), "Nearest whole number (halves round up).", "round(2.5)")
_unary("exp", math.exp, "e to the power x.", "exp(1)", lambda x: x < 700)
_unary("log", math.log, "Natural logarithm.", "log(10)", lambda x: x > 0)
_unary("sign", lambda x: float((x > 0) - (x < 0)), "-1, 0 or 1.", "sign(-4)")


@builtin(
    "atan2",
    [Param("y", NUMBER), Param("x", NUMBER)],
    NUMBER,
    "Angle of the vector (x, y) in degrees, -180..180 (y down: positive is clockwise).",
    "math",
    positional=2,
    example="atan2(1, 1)",
)
def atan2(ctx, y, x):
    return math.degrees(math.atan2(y, x))


@builtin("min", [], NUMBER, "Smallest of the numbers.", "math", variadic=NUMBER, example="min(3, 1, 2)")
def min_(ctx, *xs):
    return min(xs)


@builtin("max", [], NUMBER, "Largest of the numbers.", "math", variadic=NUMBER, example="max(3, 1, 2)")
def max_(ctx, *xs):
    return max(xs)


@builtin(
    "clamp",
    [Param("x", NUMBER), Param("lo", NUMBER), Param("hi", NUMBER)],
    NUMBER,
    "x limited to lo..hi.",
    "math",
    positional=3,
    example="clamp(12, 0, 10)",
)
def clamp(ctx, x, lo, hi):
    return max(lo, min(hi, x))


@builtin(
    "lerp",
    [Param("a", NUM_OR_POINT), Param("b", NUM_OR_POINT), Param("t", NUMBER)],
    same_as("a", NUM_OR_POINT),
    "Linear interpolation a + (b - a)·t of numbers or points.",
    "math",
    positional=3,
    example="lerp((0, 0), (100, 50), 0.5)",
)
def lerp(ctx, a, b, t):
    if isinstance(a, Point) and isinstance(b, Point):
        return Point(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t)
    if isinstance(a, Point) or isinstance(b, Point):
        raise RuntimeFault("E205", "lerp needs two numbers or two points")
    return a + (b - a) * t


@builtin(
    "remap",
    [
        Param("x", NUMBER),
        Param("from_lo", NUMBER),
        Param("from_hi", NUMBER),
        Param("to_lo", NUMBER),
        Param("to_hi", NUMBER),
    ],
    NUMBER,
    "x mapped linearly from one range to another.",
    "math",
    positional=5,
    example="remap(5, 0, 10, 100, 200)",
)
def remap(ctx, x, from_lo, from_hi, to_lo, to_hi):
    if from_hi == from_lo:
        raise RuntimeFault("E303", "remap from an empty range")
    return to_lo + (x - from_lo) * (to_hi - to_lo) / (from_hi - from_lo)


# ---------------------------------------------------------------- points
@builtin(
    "pt",
    [Param("x", NUMBER), Param("y", NUMBER)],
    POINT,
    "The point (x, y); same as writing (x, y).",
    "points",
    positional=2,
    example="pt(10, 20)",
)
def pt(ctx, x, y):
    return Point(x, y)


@builtin(
    "polar",
    [Param("center", POINT), Param("r", NUMBER), Param("angle", NUMBER, doc="degrees")],
    POINT,
    "The point at distance r and angle (degrees, clockwise from +x) from center.",
    "points",
    positional=3,
    example="polar((256, 256), 100, 45)",
)
def polar(ctx, center, r, angle):
    a = math.radians(angle)
    return Point(center.x + r * math.cos(a), center.y + r * math.sin(a))


@builtin(
    "dist",
    [Param("a", POINT), Param("b", POINT)],
    NUMBER,
    "Distance between two points.",
    "points",
    positional=2,
    example="dist((0, 0), (3, 4))",
)
def dist(ctx, a, b):
    return math.hypot(b.x - a.x, b.y - a.y)


@builtin(
    "angle_to",
    [Param("a", POINT), Param("b", POINT)],
    NUMBER,
    "Direction from a to b in degrees (clockwise from +x).",
    "points",
    positional=2,
    example="angle_to((0, 0), (10, 10))",
)
def angle_to(ctx, a, b):
    return math.degrees(math.atan2(b.y - a.y, b.x - a.x))


@builtin(
    "rotate_point",
    [Param("p", POINT), Param("angle", NUMBER), Param("around", POINT, Point(0.0, 0.0))],
    POINT,
    "p rotated by angle degrees (clockwise) around a centre.",
    "points",
    positional=3,
    example="rotate_point((10, 0), 90)",
)
def rotate_point(ctx, p, angle, around):
    a = math.radians(angle)
    dx, dy = p.x - around.x, p.y - around.y
    return Point(around.x + dx * math.cos(a) - dy * math.sin(a), around.y + dx * math.sin(a) + dy * math.cos(a))


# ---------------------------------------------------------------- lists and strings
@builtin(
    "range",
    [
        Param("a", NUMBER, doc="the end, or the start when b is given"),
        Param("b", NUMBER, None, "the end (exclusive)"),
        Param("step", NUMBER, 1.0),
    ],
    list_of(NUMBER),
    "Numbers from 0 (or a) up to, not including, the end: range(5) is "
    "[0, 1, 2, 3, 4]; range(2, 10, 2) is [2, 4, 6, 8]. Steps may be fractional or negative.",
    "lists and strings",
    positional=3,
    example="range(5)",
)
def range_(ctx, a, b, step):
    start, stop = (0.0, a) if b is None else (a, b)
    if step == 0:
        raise RuntimeFault("E301", "range() step must not be 0")
    r = NumRange(start, stop, step)
    if r.count > ctx.budgets.loop_iterations:
        raise RuntimeFault(
            "E403",
            f"range of {r.count} numbers is longer than the loop budget ({ctx.budgets.loop_iterations})",
            "draw fewer, larger shapes",
        )
    return r


@builtin(
    "len",
    [Param("x", union(list_of(ANY), STRING))],
    NUMBER,
    "Number of items in a list or characters in a string.",
    "lists and strings",
    positional=1,
    example="len([1, 2, 3])",
)
def len_(ctx, x):
    return float(len(x))


@builtin(
    "sum",
    [Param("xs", list_of(NUMBER))],
    NUMBER,
    "Sum of a list of numbers.",
    "lists and strings",
    positional=1,
    example="sum([1, 2, 3])",
    cost=per_item("xs"),
)
def sum_(ctx, xs):
    return finite(float(math.fsum(xs)), "sum")


@builtin(
    "reverse",
    [Param("xs", list_of(ANY))],
    same_as("xs"),
    "The list in reverse order.",
    "lists and strings",
    positional=1,
    example="reverse([1, 2, 3])",
    cost=per_item("xs"),
)
def reverse(ctx, xs):
    return new_list(reversed(xs))


def _sort_cost(a) -> int:
    xs = a["xs"]
    n = len(xs)
    return n * max(1, math.ceil(math.log2(n + 1))) + size_of(xs)


@builtin(
    "sort",
    [Param("xs", union(list_of(NUMBER), list_of(STRING)))],
    same_as("xs"),
    "The numbers (or strings) in ascending order.",
    "lists and strings",
    positional=1,
    example="sort([3, 1, 2])",
    cost=Cost("len(xs)·⌈log2(len(xs)+1)⌉ + size(xs)", _sort_cost),
)
def sort(ctx, xs):
    return new_list(sorted(xs))


@builtin(
    "concat",
    [Param("a", list_of(ANY)), Param("b", list_of(ANY))],
    same_as("a"),
    "The items of a followed by those of b (also written a + b).",
    "lists and strings",
    positional=2,
    example="concat([1], [2, 3])",
    cost=per_item("a", "b"),
)
def concat(ctx, a, b):
    return ctx.joined_lists(a, b)


@builtin(
    "str",
    [Param("x", ANY)],
    STRING,
    "Text form of any value (whole numbers print without .0).",
    "lists and strings",
    positional=1,
    example='str(42) + " cats"',
    cost=Cost("size(x)", lambda a: weight(a["x"])),
)
def str_(ctx, x):
    out = show(x)
    ctx.check_collection(len(out))
    return out


def _join_cost(a) -> int:
    xs = a["xs"]
    return weight(xs) + len(a["sep"]) * len(xs)


@builtin(
    "join",
    [Param("xs", list_of(ANY)), Param("sep", STRING, "")],
    STRING,
    "The items' text forms joined with a separator.",
    "lists and strings",
    positional=2,
    example='join(["a", "b"], "-")',
    cost=Cost("size(xs) + len(sep)·len(xs) + length of the result", _join_cost),
)
def join(ctx, xs, sep):
    parts = [show(x) for x in xs]
    total = sum(map(len, parts)) + len(sep) * max(0, len(parts) - 1)
    ctx.check_collection(total)  # before building it
    ctx.charge(total)
    return sep.join(parts)


@builtin(
    "contains",
    [Param("xs", list_of(ANY)), Param("x", ANY)],
    BOOL,
    "Is x an item of the list?",
    "lists and strings",
    positional=2,
    example="contains([1, 2], 2)",
    cost=Cost("size(xs)", lambda a: weight(a["xs"])),
)
def contains(ctx, xs, x):
    return any(x == y for y in xs)


__all__ = ["NumRange", "elem_of", "returns_doc"]
