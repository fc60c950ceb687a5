"""Front-end linearity: parse+check time per KB for adversarial inputs of each shape, 1 KB to the source budget."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vdsl
from vdsl.budgets import DEFAULT
from vdsl.pathdata import parse_path_data

BUDGET = DEFAULT.source_bytes
SIZES = [1024, 4096, 16384, 65536, BUDGET]
CALLS = (4096, 65536)  # sizes whose calls per KB are compared


def _fill(head: str, unit: str, tail: str, size: int) -> str:
    """head + unit repeated + tail, as long as fits in `size` bytes (ASCII units)."""
    k = max(1, (size - len(head) - len(tail)) // len(unit))
    return head + unit * k + tail


def _nested(depth: int) -> str:
    return "(" * depth + "1" + ")" * depth


# name -> size -> source. Each is one of the shapes an attacker (or a runaway model) can send.
SHAPES = {
    "long number": lambda s: _fill("let a = ", "7", "", s),
    "long number + %": lambda s: _fill("let a = ", "7", "%", s),
    "long fraction": lambda s: _fill("let a = 0.", "7", "e5", s),
    "long string": lambda s: _fill('let a = "', "x", '"', s),
    "unclosed string": lambda s: _fill('let a = "', "x", "", s),
    "long name": lambda s: _fill("let ", "a", " = 1", s),
    "long // comment": lambda s: _fill("// ", "c", "\nlet a = 1", s),
    "long /* comment */": lambda s: _fill("/* ", "c\n", "*/ let a = 1", s),
    "unclosed /* x many": lambda s: _fill("let a = 1 ", "/* ", "", s),
    "long use path": lambda s: _fill('use "', "p", '.vd"', s),
    "long dotted use": lambda s: _fill("use a", ".a", "", s),
    "long line (list)": lambda s: _fill("let a = [0", ", 1", "]", s),
    "many statements, one line": lambda s: _fill("", "circle(center=(1, 2), r=3); ", "", s),
    "many statements": lambda s: _fill("", "circle(center=(1, 2), r=3)\n", "", s),
    "many lets": lambda s: "".join(f"let v{i} = {i}\n" for i in range(s // 20)),
    "deep nesting (at budget)": lambda s: "".join(
        f"let a{i} = {_nested(DEFAULT.nesting_depth - 2)}\n" for i in range(s // (2 * DEFAULT.nesting_depth + 12))
    ),
    "deep nesting (over budget)": lambda s: _fill("let a = ", "(", "", s),
    "long unary chain": lambda s: _fill("let a = ", "-", "1", s),
    "long path data": lambda s: _fill('path(d="M 0 0', " L 1 2", '")', s),
    "unknown names": lambda s: (
        "".join(f"let v{i} = {i}\n" for i in range(s // 32))
        + "let z = ["
        + ", ".join(f"w{i}" for i in range(s // 32))
        + "]"
    ),
    "broken: end of input": lambda s: _fill("", "let a = 1\n", "let b = ", s),
    "broken: colon block": lambda s: _fill("", "let a = 1\n", "if a > 1:", s),
    "broken: long name, bad token": lambda s: _fill("", "a", " = = 1", s),
    "broken: long number, bad char": lambda s: _fill("let a = ", "7", " @", s),
    "broken: unary chain, bad token": lambda s: _fill("let a = ", "-", ")", s),
    "broken: unbalanced": lambda s: _fill("", "f(", "", s),
    "broken: bad token per line": lambda s: _fill("", "let a = = 1\n", "", s),
    "defs on one line under comments": lambda s: (
        _fill("", "// doc\n", "", s // 2) + " ".join(f"def f{i}() {{}}" for i in range(s // 30))
    ),
    "unknown arguments, many parameters": lambda s: (
        "def f("
        + ", ".join(f"p{i}=0" for i in range(s // 20))
        + ") {}\n"
        + "f("
        + ", ".join(f"q{i}=1" for i in range(s // 20))
        + ")"
    ),
}


def outcome(src: str) -> str:
    prog = vdsl.compile(src)
    codes = sorted({d.code for d in prog.diagnostics})
    return "ok" if not codes else ",".join(codes)


def count_calls(src: str) -> int:
    """Python and C function calls made by one compile: work, counted (deterministic, unlike time)."""
    count = 0

    def prof(frame, event, arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(prof)
    try:
        vdsl.compile(src)
    finally:
        sys.setprofile(None)
    return count


def measure(src: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        vdsl.compile(src)
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs per size")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "frontend.md"))
    ap.add_argument("--only", help="run only shapes whose name contains this")
    args = ap.parse_args(argv)
    vdsl.compile("let a = 1")  # warm up: the parser tables are built once per process
    rows = []
    for name, make in SHAPES.items():
        if args.only and args.only not in name:
            continue
        per_kb, result = [], ""
        for size in SIZES:
            src = make(size)
            assert len(src.encode()) <= BUDGET, (name, size)
            dt = measure(src, args.repeat)
            per_kb.append(dt * 1e3 / (len(src) / 1024))
            result = outcome(src)
        ratio = max(per_kb) / min(per_kb)
        grow = per_kb[-1] / per_kb[1]
        small, big = make(CALLS[0]), make(CALLS[1])
        calls = (count_calls(big) / len(big)) / (count_calls(small) / len(small))
        rows.append((name, per_kb, ratio, grow, calls, result))
        print(
            f"{name:32s} " + " ".join(f"{v:8.4f}" for v in per_kb) + f"  max/min {ratio:4.2f}"
            f"  256K/4K {grow:4.2f}  calls {calls:4.2f}  {result}",
            flush=True,
        )
    # Path data alone (the SVG parser, no vdsl around it): 100 KB of segments.
    d = _fill("M 0 0", " L 1 2", "", 100 * 1024)
    pd = measure_pathdata(d, max(args.repeat, 5))
    peer = measure_pathdata(d, max(args.repeat, 5), find_numbers)
    src = 'path(d="' + d + '")'
    print(
        f"path data 100 KB: {pd * 1e3:.1f} ms (parse_path_data), peer {peer * 1e3:.1f} ms "
        f"(re.findall + float of its numbers); compile of path(d=...) {measure(src, args.repeat) * 1e3:.1f} ms"
    )
    if args.only:
        return 0
    write_report(Path(args.out), rows, pd, peer, d)
    return 0


def measure_pathdata(d: str, repeat: int, fn=parse_path_data) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(d)
        best = min(best, time.perf_counter() - t)
    return best


def find_numbers(d: str) -> list[float]:
    """The peer: the least any path parser does, finding every number and converting it."""
    return [float(x) for x in re.findall(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", d)]


def write_report(out: Path, rows, pd: float, peer: float, d: str) -> None:
    compile_ms = measure('path(d="' + d + '")', 3) * 1e3
    lines = [
        "# Front end: parse + check time per KB",
        "",
        "Command: `python bench/bench_frontend.py` (best of 3 per size; `vdsl.compile`, i.e. parse and check,",
        f"with default budgets; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} when it started). "
        "Each row is one adversarial",
        f"shape grown from 1 KB to the source budget ({BUDGET // 1024} KiB); the cells are milliseconds per KB.",
        "Linear work is a flat row. `max/min` is the largest cell over the smallest; `256K/4K` the last cell",
        "over the 4 KB one. `calls` is the deterministic view: function calls (Python and C, counted with",
        "sys.setprofile) per KB at 64 KB over those at 4 KB: 1.00 is exactly linear, a quadratic shape",
        "shows 16. `outcome` is what compile ends in at 256 KiB: `ok` or the diagnostic codes.",
        "",
        "Reading: no shape's calls per KB grow (all at most 1.00; one-token shapes are far below 1 because",
        "a fixed cost dominates at 4 KB, while the token itself is matched by one regex call), so no work",
        "grows faster than the source. Before this change a 20k-digit number took 5 s and 40k 14 s (the",
        "PERCENT regex backtracked over every split of the digits); many unknown names cost names x unknowns",
        "in did-you-mean lookups. Time per KB: the largest 256K/4K over all shapes is "
        f"{max(r[3] for r in rows):.2f} ({max(rows, key=lambda r: r[3])[0]}); a row whose max/min is large falls "
        "with size: fixed costs (one regex call for a one-token shape, the syntax-error classifier's example",
        "parses, the did-you-mean budget) make small inputs the most expensive per KB. Time is noisy on a",
        "loaded machine; calls are not.",
        "",
        "| shape | " + " | ".join(f"{s // 1024} KB" for s in SIZES) + " | max/min | 256K/4K | calls | outcome |",
        "|---|" + "---:|" * len(SIZES) + "---:|---:|---:|---|",
    ]
    for name, per_kb, ratio, grow, calls, result in rows:
        lines.append(
            f"| {name} | "
            + " | ".join(f"{v:.4f}" for v in per_kb)
            + f" | {ratio:.2f} | {grow:.2f} | {calls:.2f} | {result} |"
        )
    lines += [
        "",
        f'Path data of 100 KB ({d.count("L")} segments): `vdsl.compile` of `path(d="...")` '
        f"{compile_ms:.1f} ms (the data is one string token; it is parsed when the scene is evaluated); "
        f"`parse_path_data` {pd * 1e3:.1f} ms, {pd / peer:.1f}x its peer measured in the same run "
        f"(`re.findall` of the numbers and `float` of each: {peer * 1e3:.1f} ms).",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    raise SystemExit(main())
