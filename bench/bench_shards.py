"""Shard-format benchmark: `vdsl dataset build` throughput and bytes per image in the files, WebDataset and Parquet formats at 128 and 224 px, and training-loader images/s per loader core from tar shards vs the PNG folder vs live rendering at 64 and 224 px.

Run:  nice python bench/bench_shards.py [--programs examples] [--variants 4] [--repeat 3]
Writes bench/results/shards.md and shards.json. Targets: each shard format's build rate within 10 %
of the files format's (ratio >= 0.90), measured in the same rounds. Every figure is the median of
`--repeat` interleaved rounds (formats in rotated order each round), with the min..max spread;
ratios are taken within a round, against the peer measured next to it. Nothing here is asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vdsl.api import read_meta
from vdsl.dataset import BuildOptions, build

FORMATS = ("files", "webdataset", "parquet")


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the build's workers)."""
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def output_bytes(root: Path, fmt: str) -> int:
    """Bytes of the images as the format stores them: PNG files, or the shard files."""
    d = root / ("images" if fmt == "files" else "shards")
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


def build_once(programs: Path, size: int, variants: int, fmt: str, shard_size: int, keep: Path | None = None) -> dict:
    """One full build with one worker into a fresh folder: wall images/s, images per CPU second
    (this process and the worker together), bytes per kept image."""
    tmp = Path(tempfile.mkdtemp(prefix="vdsl-bench-shards-"))
    out = keep or tmp / "ds"
    try:
        o = BuildOptions(
            out=out,
            programs=(programs,),
            variants=variants,
            size=(size, size),
            workers=1,
            progress=False,
            format=fmt,
            shard_size=shard_size,
        )
        c0, t0 = cpu_seconds(), time.perf_counter()
        stats = build(o, echo=lambda s: None)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        c = stats["counts"]
        attempted = c["images"] + sum(c["images_dropped"].values())
        return {
            "images_per_s": attempted / wall,
            "images_per_cpu_s": attempted / cpu,
            "attempted": attempted,
            "kept": c["images"],
            "bytes_per_image": output_bytes(out, fmt) / max(1, c["images"]),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def summary(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}


# ----------------------------------------------------------------------------- loaders
def loader_rate(ds, order: list[int], limit: int) -> float:
    """Images per CPU second of this one process (one loader core) reading `limit` samples in order."""
    idx = (order * (limit // max(1, len(order)) + 1))[:limit]
    c0 = time.process_time()
    for i in idx:
        ds[i]
    return limit / (time.process_time() - c0)


def loader_round(folder: Path, shards: Path, programs: Path, size: int, n: int, live_n: int, rnd: int) -> dict:
    import torch

    from vdsl.train.data import FolderImages, LiveRenders, epoch_batches
    from vdsl.train.shards import ShardImages

    torch.set_num_threads(1)
    fol = FolderImages(folder, preload=False)  # decoded per item, as a folder too big for memory is
    sh = ShardImages(shards, seed=rnd)
    live = LiveRenders(programs, size, live_n, seed=rnd)
    fol_order = [i for b in epoch_batches(len(fol), 1, rnd, 0) for i in b]
    sources = [
        ("tar shards", lambda: loader_rate(sh, sh.epoch_order(0), n)),
        ("PNG folder", lambda: loader_rate(fol, fol_order, n)),
        ("--live rendering", lambda: loader_rate(live, list(range(live_n)), live_n)),
    ]
    k = rnd % len(sources)
    out = {}
    for name, fn in sources[k:] + sources[:k]:
        out[name] = fn()
    sh.shards.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", default=str(ROOT / "examples"))
    ap.add_argument("--variants", type=int, default=4, help="Seeds per program in each build.")
    ap.add_argument("--repeat", type=int, default=3, help="Interleaved rounds.")
    ap.add_argument("--shard-size", type=int, default=100)
    ap.add_argument("--loader-images", type=int, default=600, help="Samples read per loader measurement.")
    ap.add_argument("--live-images", type=int, default=60, help="Renders per --live measurement.")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "shards.md"))
    a = ap.parse_args()
    programs = Path(a.programs)
    n_programs = sum(1 for f in programs.glob("*.vd") if read_meta(f.read_text(errors="replace")).get("concept"))
    uptime = [subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()]
    t_start = time.time()

    # (a) build throughput, formats interleaved in rotated order each round
    builds: dict[int, dict] = {}
    for size in (128, 224):
        runs: dict[str, list[dict]] = {f: [] for f in FORMATS}
        ratios: dict[str, list[float]] = {f: [] for f in FORMATS[1:]}
        cpu_ratios: dict[str, list[float]] = {f: [] for f in FORMATS[1:]}
        for r in range(a.repeat):
            order = FORMATS[r % 3 :] + FORMATS[: r % 3]
            got = {f: build_once(programs, size, a.variants, f, a.shard_size) for f in order}
            for f in FORMATS:
                runs[f].append(got[f])
            for f in FORMATS[1:]:
                ratios[f].append(got[f]["images_per_s"] / got["files"]["images_per_s"])
                cpu_ratios[f].append(got[f]["images_per_cpu_s"] / got["files"]["images_per_cpu_s"])
            print(f"build {size}px round {r + 1}: " + ", ".join(f"{f} {got[f]['images_per_s']:.1f}/s" for f in FORMATS))
        builds[size] = {
            f: {
                "images_per_s": summary([x["images_per_s"] for x in runs[f]]),
                "images_per_cpu_s": summary([x["images_per_cpu_s"] for x in runs[f]]),
                "bytes_per_image": statistics.median(x["bytes_per_image"] for x in runs[f]),
                "attempted": runs[f][0]["attempted"],
                "kept": runs[f][0]["kept"],
                **(
                    {"ratio_to_files": summary(ratios[f]), "cpu_ratio_to_files": summary(cpu_ratios[f])}
                    if f != "files"
                    else {}
                ),
            }
            for f in FORMATS
        }
    uptime.append(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())

    # (b) loader images/s per loader core: tar shards vs PNG folder vs live rendering
    loaders: dict[int, dict] = {}
    for size in (64, 224):
        tmp = Path(tempfile.mkdtemp(prefix="vdsl-bench-loaders-"))
        try:
            build_once(programs, size, a.variants, "files", a.shard_size, keep=tmp / "files")
            build_once(programs, size, a.variants, "webdataset", a.shard_size, keep=tmp / "wds")
            rounds = [
                loader_round(tmp / "files", tmp / "wds", programs, size, a.loader_images, a.live_images, r)
                for r in range(a.repeat)
            ]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        names = list(rounds[0])
        loaders[size] = {
            nm: {
                "images_per_cpu_s": summary([x[nm] for x in rounds]),
                **(
                    {"ratio_to_folder": summary([x[nm] / x["PNG folder"] for x in rounds])}
                    if nm != "PNG folder"
                    else {}
                ),
            }
            for nm in names
        }
        print(
            f"loaders {size}px: "
            + ", ".join(f"{k} {v['images_per_cpu_s']['median']:.0f}" for k, v in loaders[size].items())
        )
    uptime.append(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())

    doc = {
        "command": "nice python bench/bench_shards.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "uptime_start_mid_end": uptime,
        "minutes": round((time.time() - t_start) / 60, 1),
        "programs": n_programs,
        "variants": a.variants,
        "repeat": a.repeat,
        "shard_size": a.shard_size,
        "build": builds,
        "loaders": loaders,
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    out.write_text(markdown(doc))
    print(markdown(doc))


def _s(x: dict, fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(x['median'])} ({fmt.format(x['min'])}..{fmt.format(x['max'])})"


def markdown(d: dict) -> str:
    lines = [
        "# Shard formats: build throughput and loader speed",
        "",
        f"Command: `{d['command']}` ({d['minutes']} min). Machine: {d['machine']}; it was shared with other "
        "jobs, so compare only within a table (every row measured in the same interleaved rounds).",
        "",
        "Load (`uptime`) at the start, between the parts and at the end:",
        "",
        *[f"    {u}" for u in d["uptime_start_mid_end"]],
        "",
        f"## Build: `vdsl dataset build --workers 1`, {d['programs']} example programs x {d['variants']} seeds",
        "",
        f"Median of {d['repeat']} interleaved rounds (min..max). Images/s counts every image tried; "
        "images per CPU second counts the build process and its worker together (one core's worth of work). "
        f"Shards of {d['shard_size']} images. Target: shard formats >= 0.90x the files format.",
        "",
        "| size | format | images/s (wall) | x files (same round) | images per CPU s | x files (CPU) "
        "| bytes per image | images kept |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for size, per in d["build"].items():
        for f, r in per.items():
            ratio = _s(r["ratio_to_files"], "{:.2f}") if "ratio_to_files" in r else "1.00"
            cratio = _s(r["cpu_ratio_to_files"], "{:.2f}") if "cpu_ratio_to_files" in r else "1.00"
            lines.append(
                f"| {size} px | {f} | {_s(r['images_per_s'])} | {ratio} | {_s(r['images_per_cpu_s'])} | {cratio} "
                f"| {r['bytes_per_image']:,.0f} | {r['kept']} |"
            )
    lines += [
        "",
        "## Training loader: images per second per loader core",
        "",
        "One process, one torch thread, reading and decoding samples as a DataLoader worker does "
        "(`__getitem__`: PNG bytes -> uint8 tensor); CPU time of that process. Tar shards in "
        "`ShardImages`' epoch order (shard shuffle, groups of 4 shards); the PNG folder through "
        "`FolderImages(preload=False)` in a shuffled order; `--live` renders each image "
        "(`LiveRenders`). Files were in the page cache (built just before).",
        "",
        "| size | source | images per CPU s | x PNG folder (same round) |",
        "|---|---|---:|---:|",
    ]
    for size, per in d["loaders"].items():
        for nm, r in per.items():
            ratio = _s(r["ratio_to_folder"], "{:.2f}") if "ratio_to_folder" in r else "1.00"
            lines.append(f"| {size} px | {nm} | {_s(r['images_per_cpu_s'], '{:,.0f}')} | {ratio} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
