"""Evaluator cost benchmark: time and memory per unit of fuel in the worst cases, and what the accounting costs.

Run:  python bench/bench_cost.py                       # µs and bytes per fuel unit, per adversarial program
      python bench/bench_cost.py --baseline DIR        # also the corpus (examples/*.vd, evaluate only)
                                                       # against an older checkout in DIR, interleaved
      (make DIR with: mkdir DIR && git archive 0eb2ad1 | tar -x -C DIR)
Writes bench/results/cost.md. Timings are only compared within one run on one machine, never asserted in tests.
Each program runs in its own subprocess (a fresh interpreter: peak RSS is its own).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Programs that spend their fuel on the most expensive work per unit each charging path allows.
# Each runs until it is stopped (E401 fuel, E410 collection) or ends; the constant is the worst ratio.
ADVERSARIAL = {
    "statements": "let x = 0\nfor i in range(100000) { x = x + i * 2 }",
    "def calls": "def f(a: number) -> number { return a + 1 }\nfor i in range(100000) { let y = f(i) }",
    "sum(range)": "for i in range(100000) { let s = sum(range(99999)) }",
    "sort numbers": "let xs = [rand() for i in range(50000)]\nfor i in range(1000) { let s = sort(xs) }",
    "sort strings": "let xs = [str(rand()) for i in range(20000)]\nfor i in range(1000) { let s = sort(xs) }",
    "shuffle": "let xs = range(50000)\nfor i in range(1000) { let s = shuffle(xs) }",
    "str(shared)": "let a: list[any] = [1]\nfor i in range(15) { a = [a, a] }\nfor i in range(1000) { let s = str(a) }",
    "== shared": (
        "let a: list[any] = [1]\nlet b: list[any] = [1]\nfor i in range(15) { a = [a, a]\n b = [b, b] }\n"
        "for i in range(1000) { let t = a == b }"
    ),
    "join numbers": 'let xs = [rand() for i in range(10000)]\nfor i in range(1000) { let s = join(xs, ", ") }',
    "contains": "let xs = [rand() for i in range(90000)]\nfor i in range(1000) { let t = contains(xs, 5) }",
    "string +": 'let s = "ab"\nfor i in range(15) { s = s + s }\nfor i in range(10000) { let t = s + "x" }',
    "list +": "let xs = range(50000)\nfor i in range(1000) { let ys = xs + [1] }",
    "nested build": "let xs = [[i, i, i] for i in range(20000)]\nfor i in range(1000) { let ys = [xs, xs] }",
    "range items": "let xs = [range(5000) for i in range(1000)]",
    "choice(range)": "for i in range(100000) { let x = choice(range(9999)) }",
    "polygon": "let ps = [(rand(0, 512), rand(0, 512)) for i in range(2000)]\nfor i in range(90) { polygon(points=ps) }",
    "path": (
        'let d = "M 0 0"\nfor i in range(12) { d = d + " L 1 2 L 3 4" }\nfor i in range(1000) { path(d=d, fill=red) }'
    ),
    "text": 'let s = "abcdefghij"\nfor i in range(900) { text(s, at=(10, 10)) }',
}

CHILD_CONSTANT = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import vdsl
from vdsl.api import compile
from vdsl.budgets import DEFAULT
from vdsl.evaluate import Evaluator
from vdsl.values import RuntimeFault
src = sys.stdin.read()
prog = compile(src)
assert prog.ok, prog.diagnostics
ev = Evaluator(prog.checked, 0, DEFAULT, None)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
try:
    ev.run()
    code = "ok"
except RuntimeFault as f:
    code = f.code
dt = time.perf_counter() - t
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
used = DEFAULT.fuel - max(ev.ctx.fuel_left(), 0)
print(json.dumps({"code": code, "seconds": dt, "fuel": used, "rss_bytes": (rss1 - rss0) * 1024}))
"""

CHILD_CORPUS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from vdsl.api import compile_file
from vdsl.evaluate import evaluate
files, seeds = json.loads(sys.stdin.read())
progs = [compile_file(f) for f in files]
progs = [p for p in progs if p.ok]
for p in progs:   # warm caches (prepared call sites) once
    evaluate(p.checked, 0, p.budgets)
t = time.process_time()   # CPU time: less disturbed by other processes on a shared machine
for p in progs:
    for s in range(seeds):
        evaluate(p.checked, s, p.budgets)
print(json.dumps({"seconds": time.process_time() - t, "programs": len(progs)}))
"""


def run_child(code: str, root: Path, stdin: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, str(root)],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        cwd="/",
        timeout=600,
    )
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def constant_table() -> tuple[list[str], float, float]:
    rows = [
        "| program | stopped by | fuel used | seconds | µs / fuel | bytes / fuel (peak RSS) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    worst_t = worst_m = 0.0
    for name, src in ADVERSARIAL.items():
        r = run_child(CHILD_CONSTANT, ROOT, src)
        us = r["seconds"] * 1e6 / max(1, r["fuel"])
        by = max(0, r["rss_bytes"]) / max(1, r["fuel"])
        worst_t, worst_m = max(worst_t, us), max(worst_m, by)
        rows.append(f"| {name} | {r['code']} | {r['fuel']} | {r['seconds']:.3f} | {us:.3f} | {by:.1f} |")
        print(rows[-1], flush=True)
    return rows, worst_t, worst_m


def corpus_ratio(baseline: Path, rounds: int, seeds: int) -> list[str]:
    files = sorted(str(p) for p in (ROOT / "examples").glob("*.vd"))
    payload = json.dumps([files, seeds])
    ratios, new_t, base_t = [], [], []
    for i in range(rounds):  # interleaved, alternating which goes first
        order = [("base", baseline), ("new", ROOT)] if i % 2 == 0 else [("new", ROOT), ("base", baseline)]
        got = {k: run_child(CHILD_CORPUS, root, payload)["seconds"] for k, root in order}
        new_t.append(got["new"])
        base_t.append(got["base"])
        ratios.append(got["new"] / got["base"])
        print(
            f"round {i + 1}: new {got['new']:.3f} s, baseline {got['base']:.3f} s, ratio {ratios[-1]:.3f}", flush=True
        )
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    return [
        f"Corpus: {len(files)} examples × {seeds} seeds, evaluate only, {rounds} interleaved rounds "
        f"against `{baseline}`.",
        "",
        "| CPU time | median s | min s | max s |",
        "|---|---:|---:|---:|",
        f"| this tree | {statistics.median(new_t):.3f} | {min(new_t):.3f} | {max(new_t):.3f} |",
        f"| baseline | {statistics.median(base_t):.3f} | {min(base_t):.3f} | {max(base_t):.3f} |",
        "",
        f"Ratio this/baseline: median {statistics.median(ratios):.3f}, quartiles {q[0]:.3f}-{q[2]:.3f}, "
        f"range {min(ratios):.3f}-{max(ratios):.3f}.",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="a checkout of an older vdsl to compare the corpus against")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--skip-constant", action="store_true")
    args = ap.parse_args()
    lines = [
        "# Evaluator cost",
        "",
        f"Machine: {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}.",
        "",
    ]
    if not args.skip_constant:
        sys.path.insert(0, str(ROOT))
        from vdsl.budgets import DEFAULT

        rows, wt, wm = constant_table()
        lines += rows + [
            "",
            f"Worst case: {wt:.2f} µs and {wm:.0f} bytes per unit of fuel "
            f"(default fuel {DEFAULT.fuel:,}: at most {wt * DEFAULT.fuel / 1e6:.1f} s and "
            f"{wm * DEFAULT.fuel / 1e6:.0f} MB).",
        ]
    if args.baseline:
        lines += [""] + corpus_ratio(args.baseline.resolve(), args.rounds, args.seeds)
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "bench" / "results" / "cost.md").write_text(text)


if __name__ == "__main__":
    main()
