"""Render-path benchmark: one 200-primitive scene as vdsl, as hand-written skia-python, and as matplotlib (Agg).

Run:  python bench/bench_render.py [--repeat 30]
Prints a markdown table of medians and ratios and writes bench/results/render.md.
Timings are only compared within one run on one machine (ratios), never asserted in tests.
"""

from __future__ import annotations

import argparse
import io
import platform
import random
import statistics
import time
from pathlib import Path

import numpy as np
import skia

import vdsl
from vdsl.backends import encode_image

W = H = 512
N = 200


def make_primitives(seed: int = 7) -> list[tuple]:
    """200 shapes: circles, rects, ellipses, lines and triangles with random opaque colours."""
    rng = random.Random(seed)
    prims = []
    for i in range(N):
        kind = ("circle", "rect", "ellipse", "line", "triangle")[i % 5]
        col = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        x, y = rng.uniform(0, W), rng.uniform(0, H)
        if kind == "circle":
            prims.append((kind, col, x, y, rng.uniform(5, 40)))
        elif kind == "rect":
            prims.append((kind, col, x, y, rng.uniform(10, 80), rng.uniform(10, 80)))
        elif kind == "ellipse":
            prims.append((kind, col, x, y, rng.uniform(5, 50), rng.uniform(5, 30)))
        elif kind == "line":
            prims.append((kind, col, x, y, rng.uniform(0, W), rng.uniform(0, H), rng.uniform(1, 6)))
        else:
            pts = [(x + rng.uniform(-40, 40), y + rng.uniform(-40, 40)) for _ in range(3)]
            prims.append((kind, col, pts))
    return prims


def hexcol(c) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def to_vdsl(prims) -> str:
    lines = [f"canvas(width={W}, height={H}, background=white)"]
    for p in prims:
        kind, col = p[0], hexcol(p[1])
        if kind == "circle":
            lines.append(f"circle(center=({p[2]:.2f}, {p[3]:.2f}), r={p[4]:.2f}, fill={col})")
        elif kind == "rect":
            lines.append(f"rect(x={p[2]:.2f}, y={p[3]:.2f}, w={p[4]:.2f}, h={p[5]:.2f}, fill={col})")
        elif kind == "ellipse":
            lines.append(f"ellipse(center=({p[2]:.2f}, {p[3]:.2f}), rx={p[4]:.2f}, ry={p[5]:.2f}, fill={col})")
        elif kind == "line":
            lines.append(
                f"line(from=({p[2]:.2f}, {p[3]:.2f}), to=({p[4]:.2f}, {p[5]:.2f}), "
                f"stroke={col}, stroke_width={p[6]:.2f})"
            )
        else:
            pts = ", ".join(f"({x:.2f}, {y:.2f})" for x, y in p[2])
            lines.append(f"polygon(points=[{pts}], fill={col})")
    return "\n".join(lines) + "\n"


def skia_array(prims) -> np.ndarray:
    """The same scene with hand-written skia-python calls, read back as RGBA."""
    surface = skia.Surface(W, H)
    canvas = surface.getCanvas()
    canvas.drawColor(skia.ColorWHITE)
    paint = skia.Paint(AntiAlias=True)
    for p in prims:
        kind, (r, g, b) = p[0], p[1]
        paint.setColor(skia.ColorSetRGB(r, g, b))
        if kind == "circle":
            paint.setStyle(skia.Paint.kFill_Style)
            canvas.drawCircle(p[2], p[3], p[4], paint)
        elif kind == "rect":
            paint.setStyle(skia.Paint.kFill_Style)
            canvas.drawRect(skia.Rect.MakeXYWH(p[2], p[3], p[4], p[5]), paint)
        elif kind == "ellipse":
            paint.setStyle(skia.Paint.kFill_Style)
            canvas.drawOval(skia.Rect.MakeLTRB(p[2] - p[4], p[3] - p[5], p[2] + p[4], p[3] + p[5]), paint)
        elif kind == "line":
            paint.setStyle(skia.Paint.kStroke_Style)
            paint.setStrokeWidth(p[6])
            canvas.drawLine(p[2], p[3], p[4], p[5], paint)
        else:
            paint.setStyle(skia.Paint.kFill_Style)
            path = skia.Path()
            path.addPoly([skia.Point(x, y) for x, y in p[2]], True)
            canvas.drawPath(path, paint)
    return surface.makeImageSnapshot().toarray(colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kUnpremul_AlphaType)


def matplotlib_figure(prims):
    """The same scene drawn the paper's way: matplotlib patches on an Agg canvas."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Ellipse, Polygon, Rectangle

    fig = plt.figure(figsize=(W / 100, H / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)
    ax.axis("off")
    for p in prims:
        kind, col = p[0], tuple(c / 255 for c in p[1])
        if kind == "circle":
            ax.add_patch(Circle((p[2], p[3]), p[4], color=col, lw=0))
        elif kind == "rect":
            ax.add_patch(Rectangle((p[2], p[3]), p[4], p[5], color=col, lw=0))
        elif kind == "ellipse":
            ax.add_patch(Ellipse((p[2], p[3]), 2 * p[4], 2 * p[5], color=col, lw=0))
        elif kind == "line":
            ax.plot([p[2], p[4]], [p[3], p[5]], color=col, lw=p[6] * 0.75)  # points → px at 100 dpi
        else:
            ax.add_patch(Polygon(p[2], closed=True, color=col, lw=0))
    return fig, plt


def matplotlib_array(prims) -> np.ndarray:
    fig, plt = matplotlib_figure(prims)
    fig.canvas.draw()
    arr = np.asarray(fig.canvas.buffer_rgba()).copy()
    plt.close(fig)
    return arr


def matplotlib_png(prims) -> bytes:
    fig, plt = matplotlib_figure(prims)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def median_ms(fn, repeat: int) -> float:
    fn()  # warm up (imports, caches)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def program_200_lines() -> str:
    """A realistic 200-line program: defs, loops, lets and shape calls (for parse + check)."""
    body = [to_vdsl(make_primitives(11)[:150]).rstrip("\n")]
    body.append("""
def petal(at: point, angle: number, tint: color = gold) {
  ellipse(center=at, rx=28, ry=9, rotate=angle, fill=tint, stroke=#00000040)
}
param hue = rand(0, 360)
let palette = [hsl(hue, 70%, 50%), hsl(hue + 40, 70%, 60%), hsl(hue + 80, 60%, 45%)]
for i in range(12) {
  let a = i * 30
  petal(at=polar((256, 256), 60, a), angle=a, tint=palette[i % 3])
}
group(translate=(100, 400), rotate=-10) {
  rect(x=0, y=0, w=120, h=60, r=8, fill=linear((0, 0), (0, 60), [skyblue, white]))
  text("vdsl", at=(60, 40), size=24, anchor="middle")
}""")
    src = "\n".join(body)
    lines = src.splitlines()
    while len(lines) < 200:
        lines.append(f"circle(center=({len(lines)}, 20), r=3, fill=black)")
    return "\n".join(lines[:200]) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "render.md"))
    args = ap.parse_args()

    prims = make_primitives()
    src = to_vdsl(prims)
    prog = vdsl.compile(src, "bench.vd")
    assert prog.ok, prog.diagnostics

    # Sanity: the three routes draw the same picture (mean abs difference per channel, 0-255).
    va, sa, ma = prog.render(), skia_array(prims), matplotlib_array(prims)
    d_skia = float(np.abs(va[..., :3].astype(int) - sa[..., :3]).mean())
    d_mpl = float(np.abs(va[..., :3].astype(int) - ma[..., :3]).mean())

    r = args.repeat
    rows = {
        "vdsl: evaluate + render to numpy": median_ms(lambda: prog.render(seed=0), r),
        "skia-python by hand: render to numpy": median_ms(lambda: skia_array(prims), r),
        "matplotlib Agg: render to numpy": median_ms(lambda: matplotlib_array(prims), max(5, r // 3)),
        "vdsl: evaluate + render + PNG": median_ms(lambda: encode_image(prog.render(seed=0), "png"), r),
        "skia-python by hand: render + PNG (Skia encoder)": median_ms(
            lambda: skia.Image.fromarray(skia_array(prims)).encodeToData(), r
        ),
        "matplotlib Agg: render + PNG (savefig)": median_ms(lambda: matplotlib_png(prims), max(5, r // 3)),
    }
    big = program_200_lines()
    assert vdsl.compile(big).ok, vdsl.compile(big).diagnostics
    compile_ms = median_ms(lambda: vdsl.compile(big), r * 2)
    eval_ms = median_ms(lambda: prog.evaluate(0), r)

    vr, sr, mr = (
        rows["vdsl: evaluate + render to numpy"],
        rows["skia-python by hand: render to numpy"],
        rows["matplotlib Agg: render to numpy"],
    )
    vp, mp = rows["vdsl: evaluate + render + PNG"], rows["matplotlib Agg: render + PNG (savefig)"]
    lines = (
        [
            f"Scene: {N} primitives on {W}x{H} (circles, rects, ellipses, lines, triangles). "
            f"Median of {r} runs; Python {platform.python_version()}, skia-python {skia.__version__}, "
            f"{platform.machine()}, {platform.processor() or 'cpu'}.",
            "",
            "| route | median ms |",
            "|---|---:|",
        ]
        + [f"| {k} | {v:.2f} |" for k, v in rows.items()]
        + [
            f"| vdsl: parse + check of a 200-line program | {compile_ms:.2f} |",
            f"| vdsl: evaluate only (scene IR) | {eval_ms:.2f} |",
            "",
            "| ratio | value | target |",
            "|---|---:|---|",
            f"| vdsl / raw skia (render to numpy) | {vr / sr:.2f}x | ≤ 2x |",
            f"| matplotlib / vdsl (render to numpy) | {mr / vr:.1f}x | ≥ 20x |",
            f"| matplotlib / vdsl (render + PNG) | {mp / vp:.1f}x | ≥ 8x |",
            f"| parse + check, 200 lines | {compile_ms:.2f} ms | < 10 ms |",
            "",
            f"Same picture check: mean |vdsl − skia| = {d_skia:.2f}/255, mean |vdsl − matplotlib| = {d_mpl:.2f}/255.",
        ]
    )
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
