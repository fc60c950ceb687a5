"""The experiment: identical training on vdsl renders vs dead leaves vs nothing, probed on real photos."""
from __future__ import annotations

import json
import math
import os
import platform
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .data import find_shared, program_files
from .evaluate import load_encoder, probe, save_json, zero_shot
from .loop import CHECKPOINT, TrainConfig, train

DEAD_LEAVES = Path(__file__).with_name("dead_leaves.vd")
SOURCES = {"corpus": "vdsl corpus", "dead_leaves": "dead leaves", "random": "random init",
           "corpus_supervised": "vdsl corpus, supervised*"}


@dataclass
class ExperimentConfig:
    """The CPU default finishes in well under 30 minutes on 2 cores; scale up with flags on a GPU."""
    out: str = "out/experiment"
    programs: str = "examples"           # the corpus: a folder of .vd programs
    images: int = 2000                   # image budget per source (the same for corpus and dead leaves)
    image_size: int = 32
    arch: str = "resnet18"
    stem: str = "imagenet"               # torchvision's own stem: 8x cheaper than the CIFAR stem at 32 px
    method: str = "simclr"
    epochs: int = 60
    batch_size: int = 128
    lr: float | None = None
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    real: list[str] = field(default_factory=lambda: ["cifar10", "imagenette"])
    data_seed: int = 0
    workers: int | None = None
    render_workers: int = 0              # 0: one per core
    device: str = "auto"
    supervised: bool = True              # also: `supervised` on the corpus concepts (probe + zero-shot)
    progress: bool = True


def hardware() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        nproc = os.cpu_count()
    hw = {"nproc": nproc, "cpu": cpu, "torch": torch.__version__, "python": platform.python_version(),
          "torch_threads": torch.get_num_threads(), "gpu": None}
    if torch.cuda.is_available():
        hw["gpu"] = torch.cuda.get_device_name(0)
    return hw


def _say(msg: str) -> None:
    print(f"[experiment] {msg}", file=sys.stderr, flush=True)


def build_source(name: str, programs: Path, out: Path, cfg: ExperimentConfig) -> tuple[Path, int]:
    """Render at least cfg.images images of `programs` into out (with `vdsl dataset build` when
    importable, else directly through the API); training then takes exactly cfg.images of them.
    Returns (folder, images available)."""
    from .data import FolderImages
    n_programs = len(program_files(programs))
    if n_programs == 0:
        raise ValueError(f"no .vd programs in {programs}")
    if (out / "metadata.jsonl").is_file():
        have = len(FolderImages(out, preload=False))
        if have >= cfg.images:
            return out, have
    try:
        from ..dataset import BuildOptions, build
    except ImportError:
        build = None
    if build is not None:
        # A little over budget per program: the builder drops blank and duplicate renders.
        variants = math.ceil(cfg.images * 1.2 / n_programs) + 1
        build(BuildOptions(out=out, programs=(programs,), variants=variants, seed_start=cfg.data_seed,
                           size=(cfg.image_size, cfg.image_size), workers=cfg.render_workers,
                           progress=False, command="vdsl experiment"),
              echo=lambda s: None)
    else:
        from .data import render_folder
        render_folder(programs, out, cfg.images, cfg.image_size, cfg.data_seed,
                      cfg.render_workers or os.cpu_count() or 1)
    have = len(FolderImages(out, preload=False))
    if have < cfg.images:
        raise RuntimeError(f"{name}: only {have} usable images for a budget of {cfg.images}")
    return out, have


def _train_cfg(cfg: ExperimentConfig, data: Path, out: Path, seed: int, method: str | None = None) -> TrainConfig:
    return TrainConfig(out=str(out), data=str(data), max_images=cfg.images, method=method or cfg.method,
                       arch=cfg.arch, image_size=cfg.image_size, stem=cfg.stem, epochs=cfg.epochs,
                       batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, workers=cfg.workers,
                       device=cfg.device, progress=cfg.progress)


def _train_once(tc: TrainConfig) -> float:
    """Train, or finish an interrupted run, or skip a finished one; returns seconds spent."""
    ck = Path(tc.out) / CHECKPOINT
    t = time.perf_counter()
    if ck.is_file():
        done = torch.load(ck, map_location="cpu", weights_only=False)
        if done["epoch"] >= tc.epochs and done["config"]["epochs"] == tc.epochs:
            return 0.0
        train(tc, resume=True)
    else:
        train(tc)
    return time.perf_counter() - t


def _mean_sd(xs: list[float]) -> tuple[float, float]:
    return (statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0)


# One-sided 5% critical values of Student's t, by degrees of freedom (beyond 30: the value at 30,
# slightly conservative).
T_CRITICAL_5 = (6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771,
                1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706,
                1.703, 1.701, 1.699, 1.697)


def t_critical(df: int) -> float:
    return T_CRITICAL_5[min(df, len(T_CRITICAL_5)) - 1]


def paired_gain(a: dict, b: dict) -> tuple[float, float | None, bool]:
    """Mean of a - b over the seeds both have (the same seed: the same initialisation and order),
    its paired t statistic (None under 2 seeds or with no spread), and whether a > b is significant
    by a one-sided paired t-test at 5%."""
    seeds = sorted(set(a) & set(b), key=str)
    d = [a[k] - b[k] for k in seeds]
    mean = statistics.fmean(d) if d else 0.0
    if len(d) < 2 or statistics.stdev(d) == 0:
        return mean, None, False
    t = mean / (statistics.stdev(d) / math.sqrt(len(d)))
    return mean, t, t > t_critical(len(d) - 1)


def run(cfg: ExperimentConfig, command: str = "vdsl experiment") -> dict:
    """Build data, train (a) on the corpus and (b) on dead leaves for every seed, evaluate those
    and (c) random init on every real set; write results.json, results.md and results.png."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    for r in cfg.real:
        from .data import resolve_real
        resolve_real(r)    # fail early, before any training, if a real set is missing

    # 1. data, one folder per source, the same budget
    dl_dir = out / "programs" / "dead_leaves"
    dl_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEAD_LEAVES, dl_dir / DEAD_LEAVES.name)
    sources = {"corpus": Path(cfg.programs), "dead_leaves": dl_dir}
    data, available = {}, {}
    t = time.perf_counter()
    for name, progs in sources.items():
        _say(f"rendering {cfg.images} images of {SOURCES[name]} ({progs}) at {cfg.image_size} px")
        data[name], available[name] = build_source(name, progs, out / "data" / name, cfg)
    timings["data_s"] = time.perf_counter() - t

    # 2. identical training on each source, every seed (+ the labelled variant, apart)
    t = time.perf_counter()
    runs: dict[tuple[str, int], Path] = {}
    plan = [("corpus", cfg.method, "corpus"), ("dead_leaves", cfg.method, "dead_leaves")]
    if cfg.supervised:
        plan.append(("corpus_supervised", "supervised", "corpus"))
    for name, method, source in plan:
        for seed in cfg.seeds:
            run_dir = out / "runs" / f"{name}-s{seed}"
            _say(f"training {method} {cfg.arch} on {SOURCES[source]}, seed {seed}")
            _train_once(_train_cfg(cfg, data[source], run_dir, seed, method))
            runs[(name, seed)] = run_dir
    timings["train_s"] = time.perf_counter() - t

    # 3. frozen-feature evaluation on real photos (random init: the same architecture, untrained)
    t = time.perf_counter()
    device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    per_seed: dict[str, dict] = {}
    chance: dict[str, float] = {}
    zs: dict[str, dict] = {}
    for name in [p[0] for p in plan] + ["random"]:
        for seed in cfg.seeds:
            run_dir = runs.get((name, seed), out / "runs" / f"random-s{seed}")
            ckpt = str(run_dir / CHECKPOINT) if name != "random" else "random"
            net = None
            for real in cfg.real:
                key = Path(real).name
                res_path = run_dir / f"eval-{key}.json"
                if res_path.is_file():
                    res = json.loads(res_path.read_text())
                else:
                    if net is None:
                        _say(f"evaluating {SOURCES[name]}, seed {seed}")
                        net, info = load_encoder(ckpt, cfg.arch, cfg.image_size, cfg.stem, seed)
                    res = {**info, **probe(net, real, cfg.image_size, device)}
                    save_json(res, res_path)
                chance[key] = res["chance"]
                per_seed.setdefault(name, {}).setdefault(key, {})[seed] = {
                    "linear_probe": res["linear_probe"]["accuracy"], "knn": res["knn"]["accuracy"]}
                if name == "corpus_supervised":    # zero real photos: the concept classifier itself
                    zs_path = run_dir / f"zero-shot-{key}.json"
                    if zs_path.is_file():
                        z = json.loads(zs_path.read_text())
                    else:
                        z = zero_shot(ckpt, real, device=device)
                        save_json(z, zs_path)
                    zs.setdefault(key, {"chance": z["chance"], "map": z["map"], "unmapped": z["unmapped"],
                                        "accuracy": {}})["accuracy"][seed] = z["accuracy"]
    timings["eval_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    summary = {name: {real: {metric: _mean_sd([v[metric] for v in seeds.values()])
                             for metric in ("linear_probe", "knn")}
                      for real, seeds in reals.items()} for name, reals in per_seed.items()}
    result = {"command": command, "config": asdict(cfg), "hardware": hardware(), "timings": timings,
              "images_available": available, "per_seed": per_seed, "summary": summary, "chance": chance,
              "zero_shot": zs,
              "shared": str(find_shared())}
    save_json(result, out / "results.json")
    (out / "results.md").write_text(report_markdown(result))
    chart(result, out / "results.png")
    _say(f"done in {timings['total_s'] / 60:.1f} min: {out / 'results.md'}")
    return result


def chart(result: dict, path: Path) -> Path:
    from .plots import bar_chart
    reals = list(next(iter(result["summary"].values())).keys())
    groups = [f"{r} {'linear' if m == 'linear_probe' else 'k-NN'}" for r in reals for m in ("linear_probe", "knn")]
    bars = {SOURCES[name]: [tuple(result["summary"][name][r][m]) for r in reals for m in ("linear_probe", "knn")]
            for name in ("corpus", "dead_leaves", "random", "corpus_supervised") if name in result["summary"]}
    c = result["config"]
    return bar_chart(path, groups, bars, chance=max(result["chance"].values()),
                     ylabel="top-1 accuracy on real test photos",
                     title=f"{c['method']} {c['arch']} {c['image_size']}px, {c['images']} images x {c['epochs']} "
                           f"epochs; mean ± sd over seeds {c['seeds']}")


def report_markdown(result: dict) -> str:
    c, hw, s = result["config"], result["hardware"], result["summary"]
    reals = list(next(iter(s.values())).keys())
    lines = ["| pre-training data | " + " | ".join(f"{r} linear | {r} k-NN" for r in reals) + " |",
             "|---|" + "---:|---:|" * len(reals)]
    main = [n for n in ("corpus", "dead_leaves", "random") if n in s]
    best = {(r, m): max(s[n][r][m][0] for n in main) for r in reals for m in ("linear_probe", "knn")}
    for name in ("corpus", "dead_leaves", "random", "corpus_supervised"):
        if name not in s:
            continue
        cells = []
        for r in reals:
            for m in ("linear_probe", "knn"):
                mu, sd = s[name][r][m]
                cell = f"{100 * mu:.1f} ± {100 * sd:.1f}" if len(c["seeds"]) > 1 else f"{100 * mu:.1f}"
                cells.append(f"**{cell}**" if mu == best[(r, m)] else cell)
        lines.append(f"| {SOURCES[name]} | " + " | ".join(cells) + " |")
    seeds_rows = ["| pre-training data | seed | " + " | ".join(f"{r} linear | {r} k-NN" for r in reals) + " |",
                  "|---|---:|" + "---:|---:|" * len(reals)]
    for name, per in result["per_seed"].items():
        for seed in c["seeds"]:
            vals = []
            for r in reals:
                v = per[r].get(seed) or per[r].get(str(seed))
                vals += [f"{100 * v['linear_probe']:.1f}", f"{100 * v['knn']:.1f}"]
            seeds_rows.append(f"| {SOURCES[name]} | {seed} | " + " | ".join(vals) + " |")
    verdict = []
    for r in reals:
        for m, label in (("linear_probe", "linear probe"), ("knn", "k-NN")):
            a, b, rnd = (s[n][r][m] for n in ("corpus", "dead_leaves", "random"))
            win = a[0] > b[0] and a[0] > rnd[0]
            gains = []
            for other in ("dead_leaves", "random"):
                per = result["per_seed"]
                mean, t, sig = paired_gain({k: v[m] for k, v in per["corpus"][r].items()},
                                           {k: v[m] for k, v in per[other][r].items()})
                gains.append(f"{100 * mean:+.1f} vs {SOURCES[other]}"
                             + (f" (t = {t:.1f}{', significant' if sig else ''})" if t is not None else ""))
            verdict.append(f"- {r}, {label}: corpus {100 * a[0]:.1f}% vs dead leaves {100 * b[0]:.1f}% vs random "
                           f"{100 * rnd[0]:.1f}% — corpus {'best' if win else 'NOT best'}; paired over seeds: "
                           + "; ".join(gains))
    t = result["timings"]
    zs_lines = []
    if result.get("zero_shot"):
        zs_lines = ["", "### Zero-real-photo classification (the supervised* models' concept classifier "
                    "on the real test photos; no real photo used in training or fitting)", "",
                    "| real set | accuracy (mean ± sd) | chance | per seed | classes without a concept |",
                    "|---|---:|---:|---|---|"]
        for r, z in result["zero_shot"].items():
            accs = list(z["accuracy"].values())
            mu, sd = _mean_sd(accs)
            zs_lines.append(f"| {r} | {100 * mu:.1f} ± {100 * sd:.1f} | {100 * z['chance']:.1f} | "
                            + ", ".join(f"{100 * a:.1f}" for a in accs) + f" | {', '.join(z['unmapped']) or '—'} |")
        zs_lines += ["", "Class map (real class ← corpus concepts): " + "; ".join(
            f"{rc} ← {', '.join(cs) or '—'}" for z in result["zero_shot"].values() for rc, cs in z["map"].items())]
    return "\n".join([
        "## Results: pre-training on vdsl renders vs dead leaves vs random init",
        "",
        "Top-1 accuracy (%) on the real test photos (chance: " + ", ".join(
            f"{r} {100 * p:.0f}%" for r, p in result["chance"].items()) + "), frozen "
        f"{c['arch']} features at {c['image_size']} px; mean ± sample sd over seeds {c['seeds']}. "
        "Linear probe: logistic regression on standardised features, L2 chosen on a 20% hold-out of the "
        "train photos; k-NN: k=20, cosine, weighted votes (T=0.07).",
        "",
        *lines,
        "",
        *(["\\* not part of the identical-training comparison: the same network and schedule, but "
           "trained with the corpus' concept labels (dead leaves has none), cross-entropy instead of "
           f"{c['method']}.", ""] if "corpus_supervised" in s else []),
        *verdict,
        *(["", "Paired over seeds: the same seed gives every source the same initialisation and data order; "
           "t is the paired t statistic of the per-seed differences, *significant* a one-sided paired t-test "
           f"at 5% (t > {t_critical(len(c['seeds']) - 1):.2f} with {len(c['seeds'])} seeds)."]
          if len(c["seeds"]) > 1 else []),
        "",
        "Per seed:",
        "",
        *seeds_rows,
        *zs_lines,
        "",
        "### Setup",
        "",
        f"- command: `{result['command']}`",
        f"- hardware: {hw['nproc']} cores ({hw['cpu']}), GPU: {hw['gpu'] or 'none'}; torch {hw['torch']}, "
        f"{hw['torch_threads']} threads, Python {hw['python']}",
        f"- method {c['method']}, {c['arch']} (stem {c['stem']}), {c['image_size']} px, batch {c['batch_size']}, "
        f"{c['epochs']} epochs over {c['images']} images per source (images rendered with data seed "
        f"{c['data_seed']}; available: {result['images_available']}); training seeds {c['seeds']} vary "
        "initialisation, augmentation and order. Random init: the same network, untrained, per seed.",
        f"- corpus: `{c['programs']}`; dead leaves: `vdsl/train/dead_leaves.vd`",
        f"- wall time: data {t['data_s']:.0f} s, training {t['train_s']:.0f} s, evaluation {t['eval_s']:.0f} s"
        + f"; total {t['total_s'] / 60:.1f} min",
        "",
    ])
