"""Sandbox overhead: per-call time of vdsl.sandbox (a worker process, time limit, memory cap) vs the job in-process.

Run:  python bench/bench_sandbox.py [--calls 200]
Prints a markdown table and writes bench/results/sandbox.md. Compared only within one run on one
machine, never asserted in tests. Both sides are warmed up first; the sandbox reuses its worker.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vdsl.budgets import Budgets
from vdsl.sandbox import Job, Sandbox, execute

PROGRAMS = {
    "tiny (64x64 png)": (
        "canvas(width=64, height=64, background=white)\n"
        "circle(center=(32, 32), r=rand(5, 20), fill=hsl(rand(0, 360), 70%, 50%))\n",
        "png",
    ),
    "example (png)": ((ROOT / "examples" / "scenes" / "house.vd"), "png"),
    "512x512 array": (
        "canvas(width=512, height=512, background=white)\n"
        "for i in range(200) { circle(center=(rand(0, 512), rand(0, 512)), r=rand(5, 40), "
        "fill=hsl(rand(0, 360), 70%, 50%), opacity=0.6) }\n",
        "array",
    ),
}


def per_call(f, calls: int) -> float:
    """Median seconds of one call, over `calls` calls in batches of 10."""
    times = []
    for _ in range(max(1, calls // 10)):
        t = time.perf_counter()
        for _ in range(10):
            f()
        times.append((time.perf_counter() - t) / 10)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sandbox.md"))
    a = ap.parse_args()
    rows = []
    with Sandbox() as sb:
        for name, (src, fmt) in PROGRAMS.items():
            if isinstance(src, Path):
                if not src.is_file():
                    src = next((ROOT / "examples").rglob("*.vd"))
                name = f"{src.name} ({fmt})"
                src = src.read_text(encoding="utf-8")
            job = Job(src, seed=1, fmt=fmt)
            assert execute(job)[0] == "ok" and sb.run_job(job).ok, name
            inproc = per_call(lambda job=job: execute(job), a.calls)
            boxed = per_call(lambda job=job: sb.run_job(job), a.calls)
            rows.append((name, inproc, boxed))
        # a kill and a restart: a program past a 0.2 s limit, then the next call
        slow = Job(
            "canvas(width=8, height=8)\nfor i in range(9000000) { let y = i * i }\n",
            budgets=Budgets(fuel=100_000_000, loop_iterations=10_000_000, time_limit=0.2),
        )
        t = time.perf_counter()
        r = sb.run_job(slow)
        killed = time.perf_counter() - t
        t = time.perf_counter()
        sb.run_job(Job(PROGRAMS["tiny (64x64 png)"][0]))
        after = time.perf_counter() - t
    lines = [
        f"Sandbox overhead ({platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"median of {a.calls} calls)",
        "",
        "| job | in-process | sandbox | overhead per call | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, i, b in rows:
        lines.append(f"| {name} | {i * 1e3:.2f} ms | {b * 1e3:.2f} ms | {(b - i) * 1e3:+.2f} ms | {b / i:.2f}x |")
    lines += [
        "",
        f"A program past a 0.2 s limit returned {r.status} after {killed:.2f} s (its worker killed); "
        f"the next call, on a fresh worker, took {after * 1e3:.1f} ms.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(a.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
