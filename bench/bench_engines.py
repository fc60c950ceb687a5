"""Build-engine benchmark: `vdsl dataset build --engine ray` against the local process pool, the same build on this machine, interleaved rounds.

Run:  python bench/bench_engines.py [--programs examples] [--sizes 128,224] [--variants 8] [--rounds 3]
Prints a markdown table and writes bench/results/engines.md. Target: the Ray engine within 25% of the
local pool's wall time on one machine (2 workers each; Ray started once beforehand, as a running
cluster would be; its start-up is reported apart). Each round builds with both engines in
alternating order and checks that the two datasets are byte for byte the same.
Timings are compared only within one run on one machine, never asserted in tests.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vdsl.dataset import BuildOptions, build


def tree(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".vdsl-build" not in p.parts
    }


def one_build(programs: Path, size: int, variants: int, engine: str, workers: int) -> tuple[float, int, dict, int]:
    """Wall seconds of a whole build into a fresh folder, images attempted, the file hashes, bytes."""
    tmp = Path(tempfile.mkdtemp(prefix="vdsl-bench-eng-"))
    try:
        out = tmp / "ds"  # the same folder name for both engines: the card names it
        o = BuildOptions(
            out=out,
            programs=(programs,),
            variants=variants,
            size=(size, size),
            workers=workers,
            progress=False,
            engine=engine,
        )
        t0 = time.perf_counter()
        stats = build(o, echo=lambda s: None)
        dt = time.perf_counter() - t0
        c = stats["counts"]
        attempted = c["images"] + sum(c["images_dropped"].values())
        files = tree(out)
        nbytes = sum(p.stat().st_size for p in (out / "images").rglob("*.png"))
        return dt, attempted, files, nbytes
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def spread(xs: list[float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", default=str(ROOT / "examples"))
    ap.add_argument("--sizes", default="128,224")
    ap.add_argument("--variants", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "engines.md"))
    a = ap.parse_args()
    import ray

    programs = Path(a.programs)
    t0 = time.perf_counter()
    ray.init(num_cpus=a.workers, include_dashboard=False, configure_logging=False, log_to_driver=False)
    ray_start = time.perf_counter() - t0

    rows, notes, loads = [], [], []
    try:
        for size in (int(s) for s in a.sizes.split(",")):
            times: dict[str, list[float]] = {"local": [], "ray": []}
            ratios, same = [], True
            n = nbytes = 0
            # a first, untimed Ray build warms the Ray workers (imports), as a running cluster's are
            one_build(programs, size, 1, "ray", a.workers)
            for r in range(a.rounds):
                loads.append(os.getloadavg()[0])
                order = ("local", "ray") if r % 2 == 0 else ("ray", "local")
                got = {}
                for engine in order:
                    dt, n, files, nbytes = one_build(programs, size, a.variants, engine, a.workers)
                    times[engine].append(dt)
                    got[engine] = files
                same = same and got["local"] == got["ray"]
                ratios.append(times["ray"][-1] / times["local"][-1])
            for engine in ("local", "ray"):
                rate = [n / t for t in times[engine]]
                rows.append(
                    (
                        f"{size}x{size}",
                        engine,
                        str(n),
                        spread(times[engine]),
                        spread(rate, "{:.0f}"),
                        f"{statistics.median(rate) / a.workers:.0f}",
                        f"{nbytes / max(1, n) / 1024:.1f}",
                        "" if engine == "local" else f"{spread(ratios)}x local",
                    )
                )
            med = statistics.median(ratios)
            notes.append(
                f"{size}x{size}: Ray / local wall time, median of {a.rounds} paired rounds: {med:.2f}x "
                f"(target <= 1.25x: **{'met' if med <= 1.25 else 'NOT met'}**); outputs byte for byte the same "
                f"in every round: **{'yes' if same else 'NO'}**."
            )
    finally:
        ray.shutdown()

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    files = len([f for f in programs.glob("*.vd")])
    lines = [
        "# Build engines: Ray against the local pool",
        "",
        f"`vdsl dataset build` of {files} programs from `{programs.name}/` x {a.variants} seeds, {a.workers} workers "
        f"each (the local pool's processes; a local Ray instance of {a.workers} CPUs), {a.rounds} interleaved rounds "
        f"per size, the engines' order alternating. Python {platform.python_version()}, {platform.machine()}, "
        f"{cores} cores shared with other work (1-minute load average at the start of each round: "
        f"{', '.join(f'{x:.1f}' for x in loads)}). Whole builds are timed (plan, render, journal, metadata, "
        "card); Ray was started once before (ray.init: "
        f"{ray_start:.1f} s, not counted) and its workers warmed by one small build, as on a running cluster.",
        "",
        "| size | engine | images | wall s, median (min-max) | images/s | images/s per worker | KiB/image | Ray vs local |",
        "|---|---|---:|---:|---:|---:|---:|---|",
        *[f"| {' | '.join(r)} |" for r in rows],
        "",
        *notes,
        "",
        "A `vdsl dataset build --engine ray` that starts its own local Ray instance pays the ray.init time above "
        "and its workers' first imports once per command; on a cluster given by --ray-address only the latter.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
