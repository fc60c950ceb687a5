"""Hypothesis strategies that write random *well-formed, well-typed* vdsl programs (for property tests)."""

from __future__ import annotations

from hypothesis import strategies as st

NAMES = ["a", "b", "c", "k", "n"]
TEXTS = ['"hi"', '"vdsl"', "str(1)", "'quoted'"]
COLORS = ["red", "teal", "gold", "navy", "#f80", "#12345678", '"tomato"', "none"]


@st.composite
def number(draw, vars: tuple[str, ...] = (), depth: int = 0) -> str:
    """A number expression that never divides by zero and stays finite."""
    leaves = [
        st.integers(-500, 500).map(str),
        st.floats(-100, 100, allow_nan=False).map(lambda f: f"{f:.3f}"),
        st.integers(0, 100).map(lambda i: f"{i}%"),
        st.sampled_from(["pi", "tau", "width", "height"]),
    ]
    if vars:
        leaves.append(st.sampled_from(vars))
    if depth >= 3:
        return draw(st.one_of(leaves))
    sub = number(vars, depth + 1)
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        return draw(st.one_of(leaves))
    if kind == 4:
        return f"({draw(sub)} {draw(st.sampled_from(['+', '-', '*']))} {draw(sub)})"
    if kind == 5:
        return f"{draw(sub)} / (abs({draw(sub)}) + 1)"
    if kind == 6:
        return f"{draw(st.sampled_from(['sin', 'cos', 'abs', 'floor', 'round', 'sign']))}({draw(sub)})"
    if kind == 7:
        return f"{draw(st.sampled_from(['min', 'max']))}({draw(sub)}, {draw(sub)})"
    if kind == 8:
        return f"({draw(sub)} {draw(st.sampled_from(['<', '<=', '>', '>=', '==', '!=']))} {draw(sub)} ? {draw(sub)} : {draw(sub)})"
    return f"clamp({draw(sub)}, 0, 400)"


def size(vars=()) -> st.SearchStrategy[str]:
    """A non-negative number expression (radii, widths)."""
    return number(vars).map(lambda e: f"clamp({e}, 0, 300)")


@st.composite
def point(draw, vars=()) -> str:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return f"({draw(number(vars))}, {draw(number(vars))})"
    if kind == 1:
        return f"polar((256, 256), {draw(size(vars))}, {draw(number(vars))})"
    return f"({draw(number(vars))}, {draw(number(vars))}) + (10, -10)"


@st.composite
def color(draw, vars=()) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.sampled_from(COLORS))
    if kind == 1:
        # channels are 0-255 (outside is an error): any number is brought into range
        return "rgb(" + ", ".join(f"clamp({draw(number(vars))}, 0, 255)" for _ in range(3)) + ")"
    if kind == 2:
        return f"hsl({draw(number(vars))}, {draw(st.integers(0, 100))}%, {draw(st.integers(0, 100))}%)"
    return f"mix({draw(st.sampled_from(COLORS[:5]))}, {draw(st.sampled_from(COLORS[:5]))}, 0.5)"


@st.composite
def shape(draw, vars=()) -> str:
    fill = draw(color(vars))
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return f"circle(center={draw(point(vars))}, r={draw(size(vars))}, fill={fill})"
    if kind == 1:
        return (
            f"rect(x={draw(number(vars))}, y={draw(number(vars))}, w={draw(size(vars))}, "
            f"h={draw(size(vars))}, fill={fill}, rotate={draw(number(vars))})"
        )
    if kind == 2:
        return f"ellipse(center={draw(point(vars))}, rx={draw(size(vars))}, ry={draw(size(vars))}, fill={fill})"
    if kind == 3:
        return (
            f"line(from={draw(point(vars))}, to={draw(point(vars))}, stroke={fill}, "
            f"stroke_width={draw(st.integers(0, 20))})"
        )
    if kind == 4:
        pts = ", ".join(draw(point(vars)) for _ in range(draw(st.integers(2, 5))))
        return f"polygon(points=[{pts}], fill={fill}, opacity={draw(st.integers(0, 100))}%)"
    if kind == 5:
        words = draw(st.sampled_from(TEXTS))
        return f"text({words}, at={draw(point(vars))}, size=20, fill={fill})"
    return f'path(d="M 10 10 L 200 50 Q 300 300 50 400 Z", fill={fill})'


@st.composite
def statement(draw, vars: tuple[str, ...], depth: int = 0) -> tuple[str, tuple[str, ...]]:
    """One statement and the names in scope after it."""
    kind = draw(st.integers(0, 6 if depth < 2 else 2))
    if kind == 0:
        name = draw(st.sampled_from([v for v in NAMES if v not in vars] or ["z"]))
        if name in vars:
            return draw(shape(vars)), vars
        return f"let {name} = {draw(number(vars))}", vars + (name,)
    if kind in (1, 2):
        return draw(shape(vars)), vars
    if kind == 3:
        var = draw(st.sampled_from(["i", "j"]))
        inner = tuple(v for v in vars if v != var) + (var,)
        body = draw(block(inner, depth + 1))
        return f"for {var} in range({draw(st.integers(0, 6))}) {{\n{body}\n}}", vars
    if kind == 4:
        cond = f"{draw(number(vars))} < {draw(number(vars))}"
        other = f" else {{\n{draw(block(vars, depth + 1))}\n}}" if draw(st.booleans()) else ""
        return f"if {cond} {{\n{draw(block(vars, depth + 1))}\n}}{other}", vars
    if kind == 5:
        return (
            f"group(translate={draw(point(vars))}, rotate={draw(number(vars))}, "
            f"opacity=0.8) {{\n{draw(block(vars, depth + 1))}\n}}"
        ), vars
    eff = draw(
        st.sampled_from(
            ["blur(radius=3)", "shadow(dx=2, dy=2)", "glow(radius=5)", "clip_circle(center=(256, 256), r=200)"]
        )
    )
    return f"{eff} {{\n{draw(block(vars, depth + 1))}\n}}", vars


@st.composite
def block(draw, vars: tuple[str, ...], depth: int) -> str:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        s, vars = draw(statement(vars, depth))
        out.append(s)
    return "\n".join(out)


@st.composite
def program(draw) -> str:
    """A whole program: an optional canvas, an optional def, then statements."""
    lines = []
    if draw(st.booleans()):
        lines.append(
            f"canvas(width={draw(st.integers(16, 300))}, height={draw(st.integers(16, 300))}, "
            f"background={draw(st.sampled_from(['white', 'black', 'none', '#abc']))})"
        )
    vars: tuple[str, ...] = ()
    if draw(st.booleans()):
        lines.append(
            "def blob(at: point, r: number = 20, tint: color = red) {\n  circle(center=at, r=abs(r), fill=tint)\n}"
        )
        lines.append(f"blob(at={draw(point())})")
    for _ in range(draw(st.integers(1, 6))):
        s, vars = draw(statement(vars))
        lines.append(s)
    return "\n".join(lines) + "\n"
