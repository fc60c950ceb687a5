"""Calibrate the render-work estimate (vdsl/backends/cost.py) against real Skia time, per op class.

Run:  python bench/bench_render_cost.py [--repeat 3] [--quick]
Renders a grid of scenes per op class (fills, gradients, patterns, noise, strokes, dashes, layers,
blends, clips, blur / shadow / glow layers, nested blurs, scale, text, paths, crossing edges, many
draws, encoders; PDF and SVG writers too), measures one-core CPU seconds (time.process_time, the least of --repeat runs, so
other processes on the machine do not count) and prints, per scene, nanoseconds per estimated unit.
The budget question is the worst ratio: an image at the default budget takes at most
render_work x worst ns/unit.  Also reports the correlation of estimate and time (log-log), the
estimate's own cost as a share of the render's (and, on the examples, the budget check's), and the examples' estimates against the budget.
Writes bench/results/render_cost.md.
"""

from __future__ import annotations

import argparse
import glob
import math
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vdsl.api import compile_file, fit
from vdsl.backends import check_work, estimate, render_array, render_bytes, render_pdf, render_svg
from vdsl.budgets import DEFAULT, Budgets
from vdsl.ir import (
    Effect,
    EllipseGeom,
    Group,
    LinearGradient,
    Noise,
    PathGeom,
    Pattern,
    RectGeom,
    Scene,
    Shape,
    Solid,
    Stop,
    Stroke,
    TextGeom,
)

UNLIMITED = Budgets(render_work=10**15, canvas_pixels=10**9, canvas_side=10**6)
HALF_RED = Solid((1.0, 0.0, 0.0, 0.5))
GRAD = LinearGradient((0, 0), (300, 200), (Stop(0, (1, 0, 0, 1)), Stop(1, (0, 0, 1, 0.8))))


def scene(w, *children, h=None) -> Scene:
    return Scene(w, h or w, (1.0, 1.0, 1.0, 1.0), Group(tuple(children)))


def rects(n, w, paint, blend="normal"):
    return [Shape(RectGeom(i % 7, i % 5, w - 7, w - 5), paint, blend=blend) for i in range(n)]


def nest(node, depth, **group):
    for _ in range(depth):
        node = Group((node,), **group)
    return node


def cases():
    """(class, name, scene, target, scale) for every calibration scene."""
    out = []
    for w in (256, 1024, 2048):
        out.append(("output", f"empty {w}", scene(w), "raster", 1.0))
    for w in (512, 1024):
        out.append(("pixels", f"solid 20 rects {w}", scene(w, *rects(20, w, HALF_RED)), "raster", 1.0))
        out.append(("pixels", f"gradient 10 rects {w}", scene(w, *rects(10, w, GRAD)), "raster", 1.0))
        out.append(
            (
                "pixels",
                f"ellipses 20 {w}",
                scene(w, *[Shape(EllipseGeom(w / 2, w / 2, w / 2 - i, w / 3), HALF_RED) for i in range(20)]),
                "raster",
                1.0,
            )
        )
        out.append(("blend", f"multiply 10 rects {w}", scene(w, *rects(10, w, HALF_RED, "multiply")), "raster", 1.0))
        out.append(("blend", f"hue 10 rects {w}", scene(w, *rects(10, w, HALF_RED, "hue")), "raster", 1.0))
        for kind in ("stripes", "dots", "checker"):
            p = Pattern(kind, ((0, 0, 0, 1), (1, 1, 0, 1)), 9.0, 20.0)
            out.append(("pattern", f"{kind} 5 rects {w}", scene(w, *rects(5, w, p)), "raster", 1.0))
        for octv in (1, 3, 6, 10):
            nz = Noise("fractal", (0.02, 0.03), octv, 3, ((0, 0, 0, 1), (1, 1, 1, 1)))
            out.append(("noise", f"noise oct {octv} x2 {w}", scene(w, *rects(2, w, nz)), "raster", 1.0))
        nz = Noise("turbulence", (0.05, 0.05), 4, 3, ((0, 0, 0, 1), (1, 1, 1, 1)))
        out.append(("noise", f"turbulence oct 4 x2 {w}", scene(w, *rects(2, w, nz)), "raster", 1.0))
        for sw in (1.0, 8.0, 40.0):
            lines = [
                Shape(
                    PathGeom((("M", 0.0, float(i % w)), ("L", float(w), float((i * 7) % w)))),
                    None,
                    Stroke(Solid((0, 0, 0, 0.7)), sw),
                )
                for i in range(200)
            ]
            out.append(("strokes", f"200 lines width {sw:g} {w}", scene(w, *lines), "raster", 1.0))
        for n in (20, 100):
            out.append(
                (
                    "layers",
                    f"{n} opacity groups {w}",
                    scene(
                        w,
                        *[Group((Shape(RectGeom(i, i, 20, 20), Solid((0, 0, 1, 1))),), opacity=0.5) for i in range(n)],
                    ),
                    "raster",
                    1.0,
                )
            )
            out.append(
                (
                    "layers",
                    f"{n} multiply groups {w}",
                    scene(
                        w,
                        *[
                            Group((Shape(RectGeom(i, i, 20, 20), Solid((0, 0, 1, 1))),), blend="multiply")
                            for i in range(n)
                        ],
                    ),
                    "raster",
                    1.0,
                )
            )
        out.append(
            (
                "layers",
                f"30 nested opacity {w}",
                scene(w, nest(Shape(RectGeom(0, 0, w, w), HALF_RED), 30, opacity=0.9)),
                "raster",
                1.0,
            )
        )
        clip = PathGeom((("M", 10.0, 10.0), ("L", w - 10.0, 30.0), ("L", w / 2, w - 10.0), ("Z",)))
        out.append(
            (
                "layers",
                f"50 clip groups {w}",
                scene(w, *[Group((Shape(RectGeom(0, 0, w, w), HALF_RED),), clip=clip) for _ in range(50)]),
                "raster",
                1.0,
            )
        )
        for r in (2.0, 10.0, 50.0, 200.0):
            for size in (w / 8, w):
                kids = [
                    Group(
                        (Shape(RectGeom(w / 2 - size / 2, w / 2 - size / 2, size, size), HALF_RED),),
                        effects=(Effect("blur", r),),
                    )
                    for _ in range(4)
                ]
                out.append(("effects", f"4 blur r{r:g} box {size:g} {w}", scene(w, *kids), "raster", 1.0))
        for kind in ("shadow", "glow"):
            for r in (4.0, 40.0):
                kids = [
                    Group(
                        (Shape(EllipseGeom(w / 2, w / 2, w / 3, w / 4), Solid((0, 1, 0, 1))),),
                        effects=(Effect(kind, r, 5.0, 8.0, (0, 0, 0, 0.5)),),
                    )
                    for _ in range(4)
                ]
                out.append(("effects", f"4 {kind} r{r:g} {w}", scene(w, *kids), "raster", 1.0))
        for depth in (2, 4):
            for r in (50.0, 200.0):
                inner = Shape(RectGeom(w / 2 - 10, w / 2 - 10, 20, 20), Solid((1, 0, 0, 1)))
                out.append(
                    (
                        "nested",
                        f"blur r{r:g} nested {depth} {w}",
                        scene(w, nest(inner, depth, effects=(Effect("blur", r),))),
                        "raster",
                        1.0,
                    )
                )
        for period in (2.0, 8.0):
            for cap in ("butt", "round"):
                circ = [
                    Shape(
                        EllipseGeom(w / 2, w / 2, w / 2 - 5 - 9 * i, w / 2 - 5 - 9 * i),
                        None,
                        Stroke(Solid((0, 0, 0, 1)), 3.0, (period / 2, period / 2), cap),
                    )
                    for i in range(10)
                ]
                out.append(("dashes", f"10 dashed circles p{period:g} {cap} {w}", scene(w, *circ), "raster", 1.0))
        out.append(
            (
                "draws",
                f"5000 small rects {w}",
                scene(w, *[Shape(RectGeom(i % w, (i * 13) % w, 6, 6), Solid((0, 0, 0, 1))) for i in range(5000)]),
                "raster",
                1.0,
            )
        )
        out.append(
            (
                "paths",
                f"200 paths x 100 segs {w}",
                scene(
                    w,
                    *[
                        Shape(
                            PathGeom(
                                (("M", 0.0, 0.0),)
                                + tuple(("L", float((j * 37) % w), float((j * 11 + i) % w)) for j in range(100))
                            ),
                            Solid((0, 0, 0, 0.3)),
                        )
                        for i in range(200)
                    ],
                ),
                "raster",
                1.0,
            )
        )
        out.append(
            (
                "text",
                f"40 lines of text {w}",
                scene(
                    w,
                    *[
                        Shape(
                            TextGeom("The quick brown fox jumps over the lazy dog", 5, 20 + i * 12, 14.0),
                            Solid((0, 0, 0, 1)),
                        )
                        for i in range(40)
                    ],
                ),
                "raster",
                1.0,
            )
        )
    for n in (100, 400, 1000):  # crossing full-height edges: Skia's scan converter goes quadratic
        zig = PathGeom(
            (("M", 0.0, 0.0),) + tuple(("L", float((i * 0.5) % 256), 0.0 if i % 2 else 512.0) for i in range(n))
        )
        out.append(("edges", f"zigzag {n} crossing edges fill 512", scene(512, Shape(zig, HALF_RED)), "raster", 1.0))
        out.append(
            (
                "edges",
                f"zigzag {n} crossing edges stroke 512",
                scene(512, Shape(zig, None, Stroke(Solid((0, 0, 0, 1)), 2.0))),
                "raster",
                1.0,
            )
        )
    for s in (2.0, 4.0):
        out.append(
            (
                "scale",
                f"blur + rects at scale {s:g}",
                scene(
                    256,
                    *rects(10, 256, HALF_RED),
                    Group((Shape(EllipseGeom(128, 128, 80, 60), HALF_RED),), effects=(Effect("blur", 20.0),)),
                ),
                "raster",
                s,
            )
        )
    # encoders (render + encode)
    nz = Noise("fractal", (0.05, 0.05), 1, 3, ((0, 0, 0, 1), (1, 1, 1, 1)))
    for fmt in ("png", "jpeg", "webp"):
        out.append(("encode", f"{fmt} noise 512", scene(512, *rects(1, 512, nz)), fmt, 1.0))
        out.append(
            (
                "encode",
                f"{fmt} ellipses 512",
                scene(512, *[Shape(EllipseGeom(256, 256, 250 - 9 * i, 200), HALF_RED) for i in range(10)]),
                fmt,
                1.0,
            )
        )
    # PDF and SVG writers
    for period in (1.0, 4.0):
        for cap in ("butt", "round"):
            circ = [
                Shape(
                    EllipseGeom(256, 256, 250 - 9 * i, 250 - 9 * i),
                    None,
                    Stroke(Solid((0, 0, 0, 1)), 3.0, (period / 2, period / 2), cap),
                )
                for i in range(10)
            ]
            out.append(("pdf", f"pdf 10 dashed circles p{period:g} {cap}", scene(512, *circ), "pdf", 1.0))
            out.append(("svg", f"svg 10 dashed circles p{period:g} {cap}", scene(512, *circ), "svg", 1.0))
    nz = Noise("fractal", (0.02, 0.03), 4, 3, ((0, 0, 0, 1), (1, 1, 1, 1)))
    out.append(("pdf", "pdf noise x2", scene(512, *rects(2, 512, nz)), "pdf", 1.0))
    out.append(
        (
            "pdf",
            "pdf 4 blurs r20",
            scene(
                512,
                *[
                    Group((Shape(EllipseGeom(256, 256, 150, 100), HALF_RED),), effects=(Effect("blur", 20.0),))
                    for _ in range(4)
                ],
            ),
            "pdf",
            1.0,
        )
    )
    out.append(
        (
            "pdf",
            "pdf 2000 rects",
            scene(512, *[Shape(RectGeom(i % 500, i % 300, 9, 9), HALF_RED) for i in range(2000)]),
            "pdf",
            1.0,
        )
    )
    out.append(
        (
            "svg",
            "svg 2000 rects",
            scene(512, *[Shape(RectGeom(i % 500, i % 300, 9, 9), HALF_RED) for i in range(2000)]),
            "svg",
            1.0,
        )
    )
    out.append(
        (
            "svg",
            "svg 40 lines of text",
            scene(
                512,
                *[
                    Shape(
                        TextGeom("The quick brown fox jumps over the lazy dog", 5, 20 + i * 12, 14.0),
                        Solid((0, 0, 0, 1)),
                    )
                    for i in range(40)
                ],
            ),
            "svg",
            1.0,
        )
    )
    out.append(
        (
            "svg",
            "svg 200 paths x 100 segs",
            scene(
                512,
                *[
                    Shape(
                        PathGeom((("M", 0.0, 0.0),) + tuple(("L", float(j * 3), float(j * 5 + i)) for j in range(100))),
                        HALF_RED,
                    )
                    for i in range(200)
                ],
            ),
            "svg",
            1.0,
        )
    )
    return out


def draw(sc: Scene, target: str, scale: float):
    if target == "raster":
        return render_array(sc, scale, budgets=UNLIMITED)
    if target in ("png", "jpeg", "webp"):
        return render_bytes(sc, target, scale, budgets=UNLIMITED)
    if target == "pdf":
        return render_pdf(sc, budgets=UNLIMITED)
    return render_svg(sc, budgets=UNLIMITED)


def cpu(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def pearson(xs, ys) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="only the 512 px scenes")
    args = ap.parse_args()
    rows = []
    for cls, name, sc, target, scale in cases():
        if args.quick and name.endswith(("1024", "2048")):
            continue
        if target in ("png", "jpeg", "webp"):
            units = estimate(sc, scale, "raster", encoding=target).total
        else:
            units = estimate(sc, scale, target).total
        secs = cpu(lambda: draw(sc, target, scale), args.repeat)
        est_secs = cpu(
            lambda: estimate(sc, scale, "raster" if target in ("png", "jpeg", "webp") else target), args.repeat
        )
        rows.append((cls, name, units, secs, secs * 1e9 / units, est_secs / secs))
        print(f"{cls:8} {name:42} {units:10.3g} units {secs * 1e3:9.2f} ms {rows[-1][4]:6.2f} ns/unit", flush=True)
    ratios = [r[4] for r in rows]
    worst = max(rows, key=lambda r: r[4])
    corr = pearson([math.log(r[2]) for r in rows], [math.log(r[3]) for r in rows])
    lines = [
        "# Render-work estimate vs one-core CPU time",
        "",
        f"`python bench/bench_render_cost.py --repeat {args.repeat}` on {platform.machine()} "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}.  CPU time (process_time), "
        f"least of {args.repeat} runs.",
        "",
        "| class | scene | estimate (units) | CPU ms | ns / unit | estimate cost / render |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for cls, name, units, secs, ratio, share in rows:
        lines.append(f"| {cls} | {name} | {units:.3g} | {secs * 1e3:.2f} | {ratio:.2f} | {share:.1%} |")
    lines += ["", "| class | median ns/unit | max ns/unit |", "|---|---:|---:|"]
    for cls in dict.fromkeys(r[0] for r in rows):
        rs = [r[4] for r in rows if r[0] == cls]
        lines.append(f"| {cls} | {statistics.median(rs):.2f} | {max(rs):.2f} |")
    budget = DEFAULT.render_work
    lines += [
        "",
        f"Scenes: {len(rows)}.  Correlation of log(estimate) and log(time): {corr:.3f}.  "
        f"Median {statistics.median(ratios):.2f} ns/unit; worst {worst[4]:.2f} ns/unit ({worst[1]}).",
        f"At the default budget ({budget:.3g} units) the worst ratio means at most "
        f"{budget * worst[4] / 1e9:.2f} s of one-core CPU per image.",
        f"Estimate cost / render cost: median {statistics.median(r[5] for r in rows):.2%}, "
        f"max {max(r[5] for r in rows):.2%}.",
    ]
    # examples against the budget
    ex = []
    for f in sorted(glob.glob(str(ROOT / "examples" / "*.vd"))):
        prog = compile_file(f)
        sc = prog.scene(0)
        own = estimate(sc)
        big = estimate(fit(sc, (1024, 1024)))
        t_est = cpu(lambda: check_work(sc, DEFAULT), args.repeat)
        t_ren = cpu(lambda: render_array(sc), args.repeat)
        ex.append((Path(f).name, own.total, big.total, t_est / t_ren, t_ren * 1e9 / own.total))
    top = max(ex, key=lambda r: r[2])
    lines += [
        "",
        f"Examples ({len(ex)}): largest estimate at their own size "
        f"{max(r[1] for r in ex) / budget:.1%} of the budget, at --size 1024 "
        f"{top[2] / budget:.1%} ({top[0]}).  Budget check (check_work) cost / render cost: median "
        f"{statistics.median(r[3] for r in ex):.2%}, max {max(r[3] for r in ex):.2%}.  "
        f"ns/unit on the examples: median {statistics.median(r[4] for r in ex):.2f}, "
        f"max {max(r[4] for r in ex):.2f}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "bench" / "results" / "render_cost.md"
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
