"""Live-rendering benchmark: images/s that `LiveRenders` delivers through a DataLoader (as `vdsl train --live`), against the same programs pre-rendered to PNG and read back with `FolderImages`.

Run:  python bench/bench_live.py [--programs examples] [--sizes 64,224] [--workers 0,1] [--quick]
Prints a markdown table and writes bench/results/live.md.  Target (DESIGN.md): live rendering keeps a
GPU fed, i.e. the cores a GPU needs to be fed live stay within what a GPU machine has (8-16 per GPU).

Each cell runs the training data path of vdsl/train/loop.py: `Squares(base, S)`, a DataLoader with a
batch sampler, `collate`, persistent_workers=False, then (augmentation on) `augment.views(batch, method,
S, views, seed)` on the batch in the main process, as training does on a CPU (on a GPU the same code
runs on the device).  Sources, interleaved in every round so load from other
processes hits them alike:

- live:        `LiveRenders(programs, S, ...)`: compile once, render a fresh seed per item;
- folder PNG:  `FolderImages(folder, preload=False)`: decode one PNG per item (the "read from disk" peer;
               the folder is built first with `vdsl.dataset.build` in a temp dir, same programs and size);
- folder RAM:  `FolderImages(folder)`: what `vdsl train --data` does for folders of <= 50,000 images
               (decoded once into memory, so an item is a tensor lookup).

Timing: the first --warmup batches (worker start-up, first compile/decode) are excluded; then whole
passes of --batches batches are timed until --min-time seconds have passed; median of --repeat rounds.
Besides wall images/s the script reads the CPU time of the main process and of the DataLoader worker
(/proc on Linux): "per-core images/s" is images per CPU-second over all of the loader's processes,
which is less sensitive than wall time to other work on the machine, and gives the cores needed to
feed a GPU.  Timings are compared only within one run on one machine, never asserted in tests.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch

from vdsl.cores import cpu_model, usable_cores
from vdsl.train.augment import views as augmented_views
from vdsl.train.data import FolderImages, LiveRenders, Squares, collate, derive, program_files

SOURCES = ("live", "png", "ram")
SOURCE_NAMES = {"live": "live render", "png": "folder, PNG decode", "ram": "folder, in RAM"}
VIEWS = {"moco": 2, "simclr": 2, "supervised": 1}
GPU_RATE_224 = 3000.0  # assumed, not measured: resnet18 @224 px, AMP, one H100 (images/s)
CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except (OSError, IndexError, ValueError):
        return float("nan")


def loader_cpu(it) -> float:
    """CPU seconds so far of this process (all threads) and of the iterator's worker processes."""
    total = time.process_time()
    for w in getattr(it, "_workers", None) or []:
        total += proc_cpu(w.pid)
    return total


def batches_for(n_items: int, batch: int, start: int, count: int, seed: int) -> list[list[int]]:
    """`count` batches of indices start, start+1, ... (mod n_items), shuffled within the block: a
    block of P*k items of LiveRenders covers every program k times (item i renders program i mod P)."""
    g = torch.Generator().manual_seed(seed)
    block = [(start + j) % n_items for j in torch.randperm(count * batch, generator=g).tolist()]
    return [block[i : i + batch] for i in range(0, len(block), batch)]


def measure(
    ds,
    batch: int,
    workers: int,
    warmup: int,
    per_pass: int,
    min_time: float,
    max_passes: int,
    epoch: int,
    seed: int,
    augment=None,
) -> dict:
    """Steady-state rate of one DataLoader over ds: warm-up batches untimed, then whole passes of
    per_pass batches until min_time has passed (at most max_passes)."""
    if hasattr(ds, "set_epoch"):
        ds.set_epoch(epoch)
    n = len(ds)
    sampler = batches_for(n, batch, 0, warmup, derive(seed, epoch, 0))
    for p in range(max_passes):
        sampler += batches_for(n, batch, (warmup + p * per_pass) * batch, per_pass, derive(seed, epoch, p + 1))
    loader = torch.utils.data.DataLoader(
        ds,
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=False,
        persistent_workers=False,
        generator=torch.Generator().manual_seed(derive(seed, 3, epoch)),
    )
    t_start = time.perf_counter()
    it = iter(loader)
    first = None
    for _ in range(warmup):
        next(it)
        if first is None:
            first = time.perf_counter() - t_start
    c0, t0 = loader_cpu(it), time.perf_counter()
    images = 0
    for _pass in range(max_passes):
        for _ in range(per_pass):
            imgs, labels = next(it)
            if augment is not None:
                augment(imgs, images)
            images += len(labels)
        if time.perf_counter() - t0 >= min_time:
            break
    dt, cpu = time.perf_counter() - t0, loader_cpu(it) - c0
    del it, loader  # shuts the worker down (outside the timed window)
    return {"ips": images / dt, "cpu_ms": cpu / images * 1000, "first_ms": (first or 0.0) * 1000, "images": images}


def build_folder(programs: Path, size: int, variants: int, out: Path) -> Path:
    from vdsl.dataset import BuildOptions, build

    folder = out / f"ds{size}"
    build(
        BuildOptions(
            out=folder,
            programs=(programs,),
            variants=variants,
            size=(size, size),
            workers=0,
            progress=False,
            command="bench/bench_live.py",
        ),
        echo=lambda s: None,
    )
    return folder


def fmt_rate(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.0f}"


def run(argv: list[str] | None = None) -> str:
    """Run the benchmark; returns the markdown text (also printed and written to --out)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", default=str(ROOT / "examples"), help="Folder of .vd programs.")
    ap.add_argument("--sizes", default="64,224", help="Image sizes, comma-separated.")
    ap.add_argument("--workers", default="0,1", help="DataLoader worker counts, comma-separated.")
    ap.add_argument("--aug", default="on,off", help="Augmentation settings to run: on, off or both.")
    ap.add_argument(
        "--method", default="moco", choices=sorted(VIEWS), help="Whose train augmentation (and number of views) to use."
    )
    ap.add_argument("--batch", type=int, default=32, help="Images per batch.")
    ap.add_argument(
        "--batches", type=int, default=0, help="Timed batches per pass (0: enough to cover every program once)."
    )
    ap.add_argument("--warmup", type=int, default=2, help="Untimed batches first.")
    ap.add_argument("--min-time", type=float, default=0.5, help="Timed seconds at least per measurement.")
    ap.add_argument("--max-passes", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="Median of this many interleaved rounds.")
    ap.add_argument(
        "--gpu-rate",
        type=float,
        default=GPU_RATE_224,
        help="ASSUMED images/s one GPU consumes at 224 px (not measured here); scaled by pixel count for other sizes.",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads in the main process while measuring (1: with 0 workers the loader "
        "runs on one core, like a DataLoader worker; more threads spin-wait on a busy machine).",
    )
    ap.add_argument("--quick", action="store_true", help="One round, short measurements (~30 s on 2 cores).")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "live.md"))
    a = ap.parse_args(argv)
    if a.quick:
        a.repeat, a.min_time, a.warmup = 1, 0.2, 1
    sizes = [int(s) for s in a.sizes.split(",") if s]
    worker_counts = [int(w) for w in a.workers.split(",") if w]
    augs = [s == "on" for s in a.aug.split(",") if s]
    programs = Path(a.programs)
    n_programs = len(program_files(programs))
    per_pass = a.batches or max(1, math.ceil(n_programs / a.batch))
    if a.quick and not a.batches:
        per_pass = max(1, per_pass // 2)
    items_needed = (a.warmup + per_pass * a.max_passes) * a.batch
    t_all = time.perf_counter()

    tmp = Path(tempfile.mkdtemp(prefix="vdsl-bench-live-"))
    threads_before = torch.get_num_threads()
    torch.set_num_threads(a.threads)
    data: dict[tuple[int, str], object] = {}
    build_s = {}
    try:
        for s in sizes:
            live = LiveRenders(programs, s, length=items_needed, seed=0)
            t = time.perf_counter()
            # enough images that one timed pass sees distinct ones (the builder drops blanks/duplicates)
            folder = build_folder(programs, s, max(2, math.ceil(per_pass * a.batch * 1.2 / len(live.paths))), tmp)
            build_s[s] = time.perf_counter() - t
            data[(s, "live")] = live
            data[(s, "png")] = FolderImages(folder, preload=False)
            data[(s, "ram")] = FolderImages(folder)
        n_folder = {s: len(data[(s, "png")]) for s in sizes}
        n_live_programs = {s: len(data[(s, "live")].paths) for s in sizes}

        views = VIEWS[a.method]
        cells = [(s, aug, w) for s in sizes for aug in augs for w in worker_counts]
        res: dict[tuple, list[dict]] = {}
        loads = []
        for r in range(a.repeat):
            loads.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))
            for s, aug, w in cells:
                for src in SOURCES:
                    base = data[(s, src)]
                    aug_fn = (
                        (lambda b, i, s=s: augmented_views(b, a.method, s, views, derive(0, r, i))) if aug else None
                    )
                    res.setdefault((s, aug, w, src), []).append(
                        measure(
                            Squares(base, s),
                            a.batch,
                            w,
                            a.warmup,
                            per_pass,
                            a.min_time,
                            a.max_passes,
                            epoch=r,
                            seed=0,
                            augment=aug_fn,
                        )
                    )
    finally:
        torch.set_num_threads(threads_before)
        shutil.rmtree(tmp, ignore_errors=True)

    def med(key, field):
        vals = [m[field] for m in res[key] if math.isfinite(m[field])]
        return statistics.median(vals) if vals else float("nan")

    aug_name = {True: f"{a.method} ({views} view{'s' if views > 1 else ''})", False: "none"}
    rows = []
    for s, aug, w in cells:
        ips = {src: med((s, aug, w, src), "ips") for src in SOURCES}
        cpu = {src: med((s, aug, w, src), "cpu_ms") for src in SOURCES}
        core = {src: 1000.0 / cpu[src] if cpu[src] > 0 else float("nan") for src in SOURCES}
        first = {src: med((s, aug, w, src), "first_ms") for src in SOURCES}
        rows.append((s, aug, w, ips, core, first))

    cores = usable_cores()
    cmd = "python " + " ".join(
        shlex.quote(x)
        for x in ([os.path.relpath(__file__, ROOT)] if Path(__file__).is_relative_to(ROOT) else [__file__])
        + (sys.argv[1:] if argv is None else list(argv))
    )
    lines = [
        "# Live rendering benchmark",
        "",
        f"Command: `{cmd}`  ",
        f"Date: {datetime.date.today().isoformat()}; CPU: {cpu_model()}, {cores} cores available to this "
        f"process, shared with other work (1-minute load average at the start of each round: "
        f"{', '.join(f'{x:.1f}' for x in loads)}); Python {platform.python_version()}, torch {torch.__version__}.",
        "",
        f"{n_live_programs[sizes[0]]} programs from `{programs.name}/`; folders built with `vdsl.dataset.build` "
        f"({', '.join(f'{n_folder[s]} images at {s} px' for s in sizes)}). DataLoader, batch {a.batch}, "
        f"`collate`, persistent_workers=False, as in `vdsl train`; main process at {a.threads} torch "
        f"thread{'s' if a.threads > 1 else ''} (workers always run 1); {a.warmup} warm-up batches untimed, "
        f"then passes of {per_pass * a.batch} images for at least {a.min_time:g} s; median of {a.repeat} "
        f'interleaved round{"s" if a.repeat > 1 else ""}. Augmentation on: `augment.views(batch, "{a.method}", S, {views})` '
        f"on each batch in the main process; off: the bare uint8 images. Images/s counts source images "
        f"(each with {views} views when augmented).",
        "",
        "**Per-core images/s** = images per CPU-second of all the loader's processes (main + workers, from "
        "/proc), less sensitive to other load than wall time. live/PNG and live/RAM are wall-rate ratios "
        "in the same run.",
        "",
        "| px | augmentation | workers | live img/s | PNG img/s | RAM img/s | live/PNG | live/RAM "
        "| per-core img/s: live / PNG / RAM | first batch ms: live / PNG |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s, aug, w, ips, core, first in rows:
        lines.append(
            f"| {s} | {aug_name[aug]} | {w} | {fmt_rate(ips['live'])} | {fmt_rate(ips['png'])} | "
            f"{fmt_rate(ips['ram'])} | {ips['live'] / ips['png']:.2f}x | {ips['live'] / ips['ram']:.2f}x | "
            f"{fmt_rate(core['live'])} / {fmt_rate(core['png'])} / {fmt_rate(core['ram'])} | "
            f"{first['live']:,.0f} / {first['png']:,.0f} |"
        )

    # cores to feed a GPU: from the rows with the most workers (the main process's share included)
    w_feed = max(worker_counts)
    lines += [
        "",
        "## Cores to feed one GPU (ASSUMPTION, not measured here)",
        "",
        f"Assumed GPU demand: **{a.gpu_rate:,.0f} images/s at 224 px** (resnet18, AMP, one H100 — an assumed "
        f"figure, not measured by this script); other sizes scaled by pixel count (also an assumption, an "
        f"upper bound: small images use a GPU less efficiently). Cores needed = demand / per-core images/s "
        f"of the {w_feed}-worker rows without augmentation, rounded up; a DataLoader needs about that many "
        f"workers. On a GPU `vdsl train` cuts the views on the GPU, so the loader's cost is the "
        f"no-augmentation row; the augmented rows above are what a CPU-only run spends.",
        "",
        "| px | augmentation | assumed GPU img/s | cores (workers) needed: live | PNG | RAM |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for s, aug, w, _ips, core, _first in rows:
        if w != w_feed or aug:
            continue
        demand = a.gpu_rate * (224 / s) ** 2
        need = {
            src: (math.ceil(demand / core[src]) if core[src] > 0 and math.isfinite(core[src]) else "n/a")
            for src in SOURCES
        }
        lines.append(f"| {s} | {aug_name[aug]} | {demand:,.0f} | {need['live']} | {need['png']} | {need['ram']} |")
    lines += [
        "",
        "Folder builds (not in the rates above): "
        + ", ".join(f"{build_s[s]:.1f} s at {s} px" for s in sizes)
        + f". Whole run: {time.perf_counter() - t_all:.0f} s.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> str:
    return run(argv)


if __name__ == "__main__":
    main()
