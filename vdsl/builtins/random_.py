"""Seeded randomness: every draw comes from the evaluation's own RNG, so a seed fixes the picture."""

from __future__ import annotations

import math

from ..types import ANY, BOOL, COLOR, NUMBER, list_of
from ..values import Color, RuntimeFault, new_list
from . import Param, builtin, elem_of, per_item, same_as

# Only Random.random() is used (its Mersenne Twister stream is stable across Python versions);
# helpers such as choice/randrange/gauss are derived here so results never depend on CPython internals.


@builtin(
    "rand",
    [Param("lo", NUMBER, 0.0), Param("hi", NUMBER, 1.0)],
    NUMBER,
    "A uniform random number in [lo, hi).",
    "random",
    positional=2,
    example="rand(0, 512)",
    aliases=("uniform", "random"),
)
def rand(ctx, lo, hi):
    return lo + (hi - lo) * ctx.rng.random()


@builtin(
    "randint",
    [Param("lo", NUMBER), Param("hi", NUMBER)],
    NUMBER,
    "A uniform random whole number in lo..hi, both included.",
    "random",
    positional=2,
    example="randint(3, 7)",
)
def randint(ctx, lo, hi):
    lo, hi = math.ceil(lo), math.floor(hi)
    if hi < lo:
        raise RuntimeFault("E301", f"randint({lo}, {hi}): the range is empty")
    return float(lo + min(int(ctx.rng.random() * (hi - lo + 1)), hi - lo))


@builtin(
    "gauss",
    [Param("mean", NUMBER, 0.0), Param("sd", NUMBER, 1.0, "standard deviation", min=0)],
    NUMBER,
    "A normally distributed random number.",
    "random",
    positional=2,
    example="gauss(100, 15)",
    aliases=("normal",),
)
def gauss(ctx, mean, sd):
    u1 = 1.0 - ctx.rng.random()  # (0, 1]
    u2 = ctx.rng.random()
    return mean + sd * math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2)


@builtin(
    "choice",
    [Param("xs", list_of(ANY))],
    elem_of("xs"),
    "A random item of a non-empty list.",
    "random",
    positional=1,
    example="choice([red, gold, teal])",
    aliases=("pick",),
)
def choice(ctx, xs):
    if not xs:
        raise RuntimeFault("E306", "choice() from an empty list")
    return xs[min(int(ctx.rng.random() * len(xs)), len(xs) - 1)]


@builtin(
    "chance",
    [Param("p", NUMBER, 0.5, "probability of true", min=0, max=1)],
    BOOL,
    "true with probability p.",
    "random",
    positional=1,
    example="chance(0.3)",
)
def chance(ctx, p):
    return ctx.rng.random() < p


@builtin(
    "shuffle",
    [Param("xs", list_of(ANY))],
    same_as("xs"),
    "The list in a random order.",
    "random",
    positional=1,
    example="shuffle(range(5))",
    cost=per_item("xs"),
)
def shuffle(ctx, xs):
    out = list(xs)
    for i in range(len(out) - 1, 0, -1):
        j = min(int(ctx.rng.random() * (i + 1)), i)
        out[i], out[j] = out[j], out[i]
    return new_list(out)


@builtin(
    "rand_color",
    [Param("saturation", NUMBER, 0.7, min=0, max=1), Param("lightness", NUMBER, 0.55, min=0, max=1)],
    COLOR,
    "A colour of random hue with the given saturation and lightness (0-1).",
    "random",
    positional=2,
    example="rand_color()",
)
def rand_color(ctx, saturation, lightness):
    import colorsys

    r, g, b = colorsys.hls_to_rgb(ctx.rng.random(), max(0.0, min(1.0, lightness)), max(0.0, min(1.0, saturation)))
    return Color(r, g, b, 1.0)
