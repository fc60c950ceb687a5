"""Small Pillow charts (no matplotlib): a loss curve and a grouped bar chart with error bars."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

from ..fonts import pil_font

PALETTE = [(66, 133, 244), (234, 67, 53), (251, 188, 5), (52, 168, 83), (155, 89, 182), (90, 90, 90)]


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def line_chart(
    path: str | Path,
    series: dict[str, tuple[list[float], list[float]]],
    title: str = "",
    xlabel: str = "step",
    ylabel: str = "",
    size: tuple[int, int] = (800, 480),
) -> Path:
    """Lines {name: (xs, ys)} on shared axes, saved as PNG."""
    W, H = size
    L, R, T, B = 70, 20, 40, 50
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    f, fs = pil_font(14), pil_font(12)
    pts = [(x, y) for xs, ys in series.values() for x, y in zip(xs, ys) if math.isfinite(y)]
    if pts:
        x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
        y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    else:
        x0, x1, y0, y1 = 0, 1, 0, 1
    x1 = x1 if x1 > x0 else x0 + 1
    pad = (y1 - y0) * 0.05 or 0.5
    y0, y1 = y0 - pad, y1 + pad
    sx = lambda x: L + (x - x0) / (x1 - x0) * (W - L - R)
    sy = lambda y: H - B - (y - y0) / (y1 - y0) * (H - T - B)
    for t in _ticks(y0, y1):
        d.line([(L, sy(t)), (W - R, sy(t))], fill=(230, 230, 230))
        d.text((L - 6, sy(t)), _fmt(t), fill="black", font=fs, anchor="rm")
    for t in _ticks(x0, x1):
        d.text((sx(t), H - B + 6), _fmt(t), fill="black", font=fs, anchor="mt")
    d.rectangle([L, T, W - R, H - B], outline="black")
    for i, (name, (xs, ys)) in enumerate(series.items()):
        line = [(sx(x), sy(y)) for x, y in zip(xs, ys) if math.isfinite(y)]
        colour = PALETTE[i % len(PALETTE)]
        if len(line) > 1:
            d.line(line, fill=colour, width=2)
        elif line:
            d.ellipse([line[0][0] - 2, line[0][1] - 2, line[0][0] + 2, line[0][1] + 2], fill=colour)
        d.text((W - R - 8, T + 8 + 18 * i), name, fill=colour, font=f, anchor="ra")
    d.text((W / 2, 12), title, fill="black", font=f, anchor="mt")
    d.text((W / 2, H - 10), xlabel, fill="black", font=fs, anchor="mb")
    d.text((8, T - 20), ylabel, fill="black", font=fs)
    path = Path(path)
    img.save(path)
    return path


def bar_chart(
    path: str | Path,
    groups: list[str],
    bars: dict[str, list[tuple[float, float]]],
    title: str = "",
    ylabel: str = "",
    chance: float | None = None,
    size: tuple[int, int] = (900, 500),
) -> Path:
    """Grouped bars: for each name in `bars`, one (mean, spread) per group; spread drawn as an error bar."""
    W, H = size
    L, R, T, B = 70, 20, 84, 60
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    f, fs = pil_font(14), pil_font(12)
    top = max([m + s for vals in bars.values() for m, s in vals] + [chance or 0, 1e-6])
    y1 = top * 1.12
    sy = lambda y: H - B - y / y1 * (H - T - B)
    for t in _ticks(0, y1):
        if t <= y1:
            d.line([(L, sy(t)), (W - R, sy(t))], fill=(230, 230, 230))
            d.text((L - 6, sy(t)), _fmt(t), fill="black", font=fs, anchor="rm")
    gw = (W - L - R) / max(1, len(groups))
    bw = gw * 0.8 / max(1, len(bars))
    for gi, g in enumerate(groups):
        d.text((L + gw * (gi + 0.5), H - B + 8), g, fill="black", font=f, anchor="mt")
        for bi, (_name, vals) in enumerate(bars.items()):
            m, s = vals[gi]
            x = L + gw * gi + gw * 0.1 + bw * bi
            colour = PALETTE[bi % len(PALETTE)]
            d.rectangle([x + 2, sy(m), x + bw - 2, sy(0)], fill=colour)
            cx = x + bw / 2
            if s > 0:
                d.line([(cx, sy(m - s)), (cx, sy(m + s))], fill="black", width=2)
                d.line([(cx - 5, sy(m + s)), (cx + 5, sy(m + s))], fill="black", width=2)
                d.line([(cx - 5, sy(m - s)), (cx + 5, sy(m - s))], fill="black", width=2)
            d.text((cx, sy(m + s) - 4), f"{m:.3f}", fill="black", font=fs, anchor="mb")
    if chance is not None:
        y = sy(chance)
        for x in range(L, W - R, 12):
            d.line([(x, y), (x + 6, y)], fill=(120, 120, 120), width=1)
    d.rectangle([L, T, W - R, H - B], outline="black")
    x = L
    for bi, name in enumerate(bars):
        d.rectangle([x, 34, x + 14, 48], fill=PALETTE[bi % len(PALETTE)])
        d.text((x + 20, 41), name, fill="black", font=fs, anchor="lm")
        x += 20 + d.textlength(name, font=fs) + 28
    if chance is not None:
        for xx in range(int(x), int(x) + 24, 8):
            d.line([(xx, 41), (xx + 4, 41)], fill=(120, 120, 120), width=2)
        d.text((x + 30, 41), "chance", fill="black", font=fs, anchor="lm")
    d.text((W / 2, 10), title, fill="black", font=f, anchor="mt")
    d.text((8, T - 20), ylabel, fill="black", font=fs)
    path = Path(path)
    img.save(path)
    return path
