"""Tests for the standard library (stdlib/*.vd): every module compiles cleanly, every def is documented, draws something, and the layout functions return the right points."""

from __future__ import annotations

import math

import numpy as np
import pytest

import vdsl
from vdsl import ir
from vdsl import nodes as n
from vdsl.check import ModuleLoader
from vdsl.modules import stdlib_names, stdlib_source
from vdsl.syntax import parse
from vdsl.types import NONE

EXPECTED_MODULES = {"shapes", "solids", "textures", "nature", "living", "things", "effects", "layout"}
SIZE = 256
BACKGROUND = "#7f9fbf"  # mid-tone, so white things (clouds, fog, snow) and black things both show


def _module(name: str):
    diags: list = []
    info = ModuleLoader().load(n.Use(None, name), diags)  # type: ignore[arg-type]
    return info, diags


def _all_defs():
    out = []
    for name in sorted(stdlib_names()):
        info, _ = _module(name)
        if info is not None:
            out += [(name, dname, sig) for dname, sig in info.defs.items()]
    return out


ALL_DEFS = _all_defs()
DRAWING_DEFS = [d for d in ALL_DEFS if d[2].returns == NONE]
VALUE_DEFS = [d for d in ALL_DEFS if d[2].returns != NONE]

# Values for required arguments, by parameter name first, then by type.
BY_NAME = {
    "n": "5",
    "cols": "3",
    "rows": "4",
    "from": "(40, 128)",
    "to": "(216, 128)",
    "points": "[(10, 200), (30, 20), (50, 120), (70, 20)]",
}
BY_TYPE = {
    "number": "60",
    "point": "(128, 128)",
    "color": "#cc3333",
    "paint": "#cc3333",
    "bool": "true",
    "string": '"x"',
    "list[point]": "[(10, 200), (30, 20), (50, 120)]",
    "list[number]": "[1, 2, 3]",
    "list[color]": "[red, blue]",
}


def _call(dname, sig) -> str:
    args = []
    for p in sig.params:
        if p.required:
            args.append(f"{p.name}={BY_NAME.get(p.name) or BY_TYPE[str(p.type)]}")
    return f"{dname}({', '.join(args)})"


def _program(module: str, body: str) -> str:
    return f"canvas(width={SIZE}, height={SIZE}, background={BACKGROUND})\nuse {module}\n{body}\n"


def _compile_ok(src: str):
    prog = vdsl.compile(src)
    assert prog.ok and not prog.diagnostics, "\n".join(str(d) for d in prog.diagnostics)
    return prog


def _changed(img) -> float:
    """The share of pixels that differ visibly from BACKGROUND."""
    bg = np.array([0x7F, 0x9F, 0xBF, 255])
    return float(np.any(np.abs(img.astype(int) - bg) > 8, axis=2).mean())


def _shapes(node):
    """Every Shape in the scene, in drawing order."""
    if isinstance(node, ir.Shape):
        yield node
    else:
        for c in node.children:
            yield from _shapes(c)


def _labels(node):
    if node.label:
        yield node.label
    if isinstance(node, ir.Group):
        for c in node.children:
            yield from _labels(c)


def _centres(src: str, seed: int = 0) -> list[tuple[float, float]]:
    scene = _compile_ok(src).scene(seed)
    return [(s.geom.cx, s.geom.cy) for s in _shapes(scene.root) if isinstance(s.geom, ir.EllipseGeom)]


# ---------------------------------------------------------------- modules
def test_the_stdlib_has_every_module():
    assert set(stdlib_names()) >= EXPECTED_MODULES


def test_there_are_defs_to_test():
    assert len(DRAWING_DEFS) >= 80 and len(VALUE_DEFS) >= 10


@pytest.mark.parametrize("name", sorted(stdlib_names()))
def test_module_compiles_without_diagnostics(name):
    info, diags = _module(name)
    assert info is not None and not diags, "\n".join(str(d) for d in diags)
    assert info.defs, f"module {name} defines nothing"
    _compile_ok(f"use {name}\n")


@pytest.mark.parametrize("name", sorted(stdlib_names()))
def test_module_has_a_header_and_only_definitions(name):
    src = stdlib_source(name)
    lines = src.text.splitlines()
    header = []
    for line in lines:
        if not line.startswith("//"):
            break
        header.append(line)
    assert 1 <= len(header) <= 3, f"{name}: a module header of 1-3 `//` lines comes first"
    # `vdsl doc` takes the header from the `//` lines among the first 8; no def doc may sit there.
    assert [l for l in lines[:8] if l.startswith("//")] == header
    program, diags = parse(src.text, src.file)
    assert program is not None and not diags
    for st in program.stmts:
        assert isinstance(st, (n.Def, n.Let, n.Use)), f"{name}: top-level {type(st).__name__}"


@pytest.mark.parametrize("module,dname,sig", ALL_DEFS, ids=[f"{m}.{d}" for m, d, _ in ALL_DEFS])
def test_every_def_is_documented(module, dname, sig):
    assert sig.node.doc.strip(), f"{module}.{dname} has no `//` doc comment above it"
    assert len(sig.node.doc.splitlines()) <= 4


def test_def_names_are_unique_across_modules():
    # `use a` and `use b` together must not shadow each other's defs.
    seen: dict[str, str] = {}
    for module, dname, _ in ALL_DEFS:
        assert dname not in seen, f"{dname} is defined in both {seen[dname]} and {module}"
        seen[dname] = module


COMMON_TYPES = {
    "at": {"point"},
    "center": {"point"},
    "size": {"number"},
    "rotate": {"number"},
    "fill": {"color", "paint"},
    "stroke": {"color", "paint"},
    "stroke_width": {"number"},
    "flip": {"bool"},
    "x": {"number"},
    "y": {"number"},
    "w": {"number"},
    "h": {"number"},
    "r": {"number"},
    "n": {"number"},
    "opacity": {"number"},
}


@pytest.mark.parametrize("module,dname,sig", ALL_DEFS, ids=[f"{m}.{d}" for m, d, _ in ALL_DEFS])
def test_parameter_names_mean_the_same_everywhere(module, dname, sig):
    names = [p.name for p in sig.params]
    for p in sig.params:
        if p.name in COMMON_TYPES:
            assert str(p.type) in COMMON_TYPES[p.name], f"{dname}({p.name}: {p.type})"
    assert not ("at" in names and "center" in names), f"{dname} takes both `at` and `center`"


# ---------------------------------------------------------------- drawing defs
@pytest.mark.parametrize("module,dname,sig", DRAWING_DEFS, ids=[f"{m}.{d}" for m, d, _ in DRAWING_DEFS])
def test_def_draws_something_with_only_required_arguments(module, dname, sig):
    prog = _compile_ok(_program(module, _call(dname, sig)))
    scene = prog.scene(seed=1)
    assert dname in set(_labels(scene.root)), f"{dname} drew nothing (no object labelled {dname})"
    img = prog.render(seed=1)
    assert img.shape == (SIZE, SIZE, 4)
    changed = _changed(img)
    assert changed > 0.005, f"{dname} changed only {changed:.2%} of the canvas"
    assert not (img == img[0, 0]).all()


@pytest.mark.parametrize("module,dname,sig", DRAWING_DEFS, ids=[f"{m}.{d}" for m, d, _ in DRAWING_DEFS])
def test_def_defaults_stay_on_a_small_canvas(module, dname, sig):
    """With defaults (sized from the canvas) most of what a def draws is on the canvas."""
    src = f"canvas(width=128, height=96, background={BACKGROUND})\nuse {module}\n{_call(dname, sig)}\n"
    img = _compile_ok(src).render(seed=2)
    assert _changed(img) > 0.005


def test_position_and_size_move_and_scale_the_drawing():
    def bbox(body):
        img = _compile_ok(f"canvas(width=256, height=256, background=white)\nuse living\n{body}\n").render()
        ys, xs = np.nonzero(np.any(img[:, :, :3] < 200, axis=2))
        return xs.min(), ys.min(), xs.max(), ys.max()

    x0, y0, x1, y1 = bbox("cat(at=(64, 200), size=80)")
    assert x0 > 20 and x1 < 110 and y1 <= 203 and y0 > 110
    x0b, y0b, x1b, y1b = bbox("cat(at=(160, 250), size=160)")
    assert (y1b - y0b) > 1.7 * (y1 - y0) and x0b > x0


def test_flip_mirrors():
    a = _compile_ok(_program("living", "dog(at=(128, 200), size=100)")).render()
    b = _compile_ok(_program("living", "dog(at=(128, 200), size=100, flip=true)")).render()
    assert not np.array_equal(a, b)
    assert np.abs(a.astype(int) - b[:, ::-1].astype(int)).mean() < 3


def test_stdlib_renders_are_deterministic_per_seed():
    src = _program("nature", "star_sky()\ntree()")
    prog = _compile_ok(src)
    assert np.array_equal(prog.render(seed=3), prog.render(seed=3))
    assert not np.array_equal(prog.render(seed=3), prog.render(seed=4))


def test_module_lets_do_not_clash_with_the_program():
    src = _program(
        "nature", "let leaf_green = blue\nlet bark = red\ntree()\ncircle(center=(10, 10), r=5, fill=leaf_green)"
    )
    _compile_ok(src).render()


# ---------------------------------------------------------------- value defs
EXPECTED_COUNTS = {
    "row_points": 5,
    "column_points": 5,
    "line_points": 5,
    "grid_points": 12,
    "ring_points": 5,
    "arc_points": 5,
    "spiral_points": 5,
    "scatter_points": 5,
    "spread_points": 5,
    "depth_sorted": 4,
    "polygon_points": 6,
    "star_points": 10,
}


@pytest.mark.parametrize("module,dname,sig", VALUE_DEFS, ids=[f"{m}.{d}" for m, d, _ in VALUE_DEFS])
def test_value_def_returns_what_it_says(module, dname, sig):
    call = _call(dname, sig)
    if str(sig.returns) == "list[point]":
        assert dname in EXPECTED_COUNTS, f"add {dname} to EXPECTED_COUNTS"
        pts = _centres(_program(module, f"for p in {call} {{ circle(center=p, r=2, fill=black) }}"))
        assert len(pts) == EXPECTED_COUNTS[dname]
        assert all(math.isfinite(x) and math.isfinite(y) for x, y in pts)
    elif str(sig.returns) == "paint":
        img = _compile_ok(_program(module, f"rect(x=0, y=0, w={SIZE}, h={SIZE}, fill={call})")).render()
        assert img[:, :, :3].std() > 1
    else:
        pytest.fail(f"no test for {dname} returning {sig.returns}")


@pytest.mark.parametrize("n_", [0, 1, 2, 7])
def test_layout_counts(n_):
    calls = {
        "row_points": n_,
        "column_points": n_,
        "line_points": n_,
        "ring_points": n_,
        "arc_points": n_,
        "spiral_points": n_,
        "scatter_points": n_,
        "spread_points": n_,
    }
    for f, want in calls.items():
        assert len(_centres(_program("layout", f"for p in {f}({n_}) {{ circle(center=p, r=2) }}"))) == want, f
    assert len(_centres(_program("layout", f"for p in grid_points({n_}, 3) {{ circle(center=p, r=2) }}"))) == 3 * n_


def test_row_column_and_grid_geometry():
    assert _centres(
        _program("layout", "for p in row_points(3, start=(10, 20), step=15) { circle(center=p, r=1) }")
    ) == [(10, 20), (25, 20), (40, 20)]
    assert _centres(
        _program("layout", "for p in column_points(3, start=(10, 20), step=15) { circle(center=p, r=1) }")
    ) == [(10, 20), (10, 35), (10, 50)]
    assert _centres(
        _program("layout", "for p in line_points(3, from=(0, 0), to=(100, 50)) { circle(center=p, r=1) }")
    ) == [(0, 0), (50, 25), (100, 50)]
    grid = _centres(
        _program("layout", "for p in grid_points(3, 2, origin=(5, 7), dx=10, dy=20) { circle(center=p, r=1) }")
    )
    assert grid == [(5, 7), (15, 7), (25, 7), (5, 27), (15, 27), (25, 27)]
    # default grid: centred cells covering the canvas
    grid = _centres(_program("layout", "for p in grid_points(4, 2) { circle(center=p, r=1) }"))
    assert grid[0] == (32, 64) and grid[-1] == (224, 192)


def test_ring_arc_and_spiral_geometry():
    ring = _centres(_program("layout", "for p in ring_points(4, center=(100, 100), r=50) { circle(center=p, r=1) }"))
    want = [(100, 50), (150, 100), (100, 150), (50, 100)]
    assert all(math.dist(a, b) < 1e-6 for a, b in zip(ring, want)) and len(ring) == 4
    arc = _centres(
        _program(
            "layout", "for p in arc_points(3, center=(100, 100), r=50, start=0, end=180) { circle(center=p, r=1) }"
        )
    )
    assert all(math.dist(a, b) < 1e-6 for a, b in zip(arc, [(150, 100), (100, 150), (50, 100)]))
    spiral = _centres(
        _program("layout", "for p in spiral_points(20, center=(128, 128), r=100) { circle(center=p, r=1) }")
    )
    radii = [math.dist(p, (128, 128)) for p in spiral]
    assert radii == sorted(radii) and abs(radii[-1] - 100) < 1e-6


def test_scatter_and_spread_stay_inside_and_follow_the_seed():
    src = _program("layout", "for p in scatter_points(50, x=10, y=20, w=30, h=40) { circle(center=p, r=1) }")
    a, b = _centres(src, seed=1), _centres(src, seed=2)
    assert all(10 <= x <= 40 and 20 <= y <= 60 for x, y in a + b)
    assert a != b and a == _centres(src, seed=1)
    spread = _centres(
        _program("layout", "for p in spread_points(16, x=0, y=0, w=200, h=200, gap=30) { circle(center=p, r=1) }")
    )
    assert len(spread) == 16 and all(0 <= x <= 200 and 0 <= y <= 200 for x, y in spread)
    assert min(math.dist(p, q) for i, p in enumerate(spread) for q in spread[i + 1 :]) >= 30 - 1e-6


def test_depth_sorted_orders_by_y():
    got = _centres(
        _program("layout", "for p in depth_sorted([(1, 50), (2, 10), (3, 30), (4, 10)]) { circle(center=p, r=1) }")
    )
    assert got == [(2, 10), (4, 10), (3, 30), (1, 50)]


def test_shape_point_helpers():
    star = _centres(
        _program(
            "shapes", "for p in star_points(center=(100, 100), r=40, points=4, inner=0.5) { circle(center=p, r=1) }"
        )
    )
    radii = [round(math.dist(p, (100, 100)), 6) for p in star]
    assert radii == [40, 20] * 4
    poly = _centres(
        _program("shapes", "for p in polygon_points(center=(0, 0), r=10, sides=3) { circle(center=p, r=1) }")
    )
    assert len(poly) == 3 and math.dist(poly[0], (0, -10)) < 1e-6
