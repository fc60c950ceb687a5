"""What `vdsl experiment` runs: the config as steps, each artifact named by the hash of the settings it depends on."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .data import REAL_SETS, program_files
from .sources import (
    CORPUS_SOURCES,
    LABELS,
    PROGRAM_SOURCES,
    TRAINED,
    baseline_files,
    corpus_programs,
    digest_files,
    select_programs,
)

SOURCES = LABELS  # source name → label in the report
STEP_FILE = "step.json"  # written into a data or run folder once its step has finished
POOL_MARGIN = 1.2  # render this many times the seeds a program needs: the builder drops blank and duplicate renders


@dataclass
class ExperimentConfig:
    """The defaults are the pre-registered CPU protocol (bench/protocol.md); scale up with flags on a GPU."""

    out: str = "out/experiment"
    programs: str = "examples"  # the corpus: a folder of .vd programs
    sources: list[str] = field(
        default_factory=lambda: list(TRAINED)
    )  # pre-training sources (random init is always probed)
    images: int = 512  # image budget per source (the same for every source)
    subset_programs: int = 25  # corpus_25: this many programs, drawn with data_seed
    image_size: int = 32
    arch: str = "resnet10-half"
    stem: str = "imagenet"  # torchvision's own stem: 8x cheaper than the CIFAR stem at 32 px
    method: str = "simclr"
    epochs: int = 10
    batch_size: int = 64
    lr: float | None = None
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    real: list[str] = field(default_factory=lambda: list(REAL_SETS))
    data_seed: int = 0
    knn_k: int = 50  # probe: neighbours for k-NN (chosen by cross-validation, bench/protocol.md)
    linear_wd: float | None = 0.1  # probe: a fixed L2 weight (None: chosen on a hold-out of the train photos)
    workers: int | None = None
    render_workers: int = 0  # 0: one per core
    device: str = "auto"
    supervised: bool = False  # also: `supervised` on the corpus concepts (probe + zero-shot), reported apart
    progress: bool = True


@dataclass(frozen=True)
class Step:
    """One unit of work. `settings` is everything its artifact depends on (the keys of the steps it
    reads included), `key` their hash, `path` the artifact: a folder (data, train) or a JSON file."""

    kind: str  # pool | select | build | photos | train | eval | zero_shot
    name: str  # a source (sources.LABELS), corpus_pool or corpus_supervised
    seed: int | None
    real: str | None
    settings: dict
    key: str
    path: Path
    needs: str | None = None  # the key of the step whose artifact this one reads


DATA_KINDS = ("pool", "select", "build", "photos")


def key_of(settings: dict) -> str:
    """12 hex digits of the SHA-256 of the settings as canonical JSON."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def programs_digest(folder: Path) -> str:
    """A hash of the programs a data step renders: their names and bytes."""
    h = hashlib.sha256()
    root = Path(folder)
    for p in program_files(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def source_folders(cfg: ExperimentConfig) -> dict[str, Path]:
    """The program folder of each rendered source. The baselines are shipped programs
    (vdsl/train/baselines), copied into out/programs/NAME so the dataset builder reads them like any corpus."""
    return {"corpus_pool": Path(cfg.programs), **{s: Path(cfg.out) / "programs" / s for s in PROGRAM_SOURCES}}


def training_runs(cfg: ExperimentConfig) -> list[tuple[str, str, str]]:
    """(run name, method, data source) of every trained model, before seeds."""
    unknown = [s for s in cfg.sources if s not in TRAINED]
    if unknown:
        raise ValueError(f"unknown source {', '.join(unknown)}; one of {', '.join(TRAINED)}")
    runs = [(s, cfg.method, s) for s in TRAINED if s in cfg.sources]
    if cfg.supervised:
        runs.append(("corpus_supervised", "supervised", "corpus"))
    return runs


def _step(kind: str, name: str, seed, real, settings: dict, folder: Path, suffix: str = "", needs=None) -> Step:
    key = key_of(settings)
    label = "-".join(
        str(x)
        for x in (name, f"s{seed}" if seed is not None else None, Path(real).name if real else None)
        if x is not None
    )
    return Step(kind, name, seed, real, settings, key, folder / f"{label}-{key}{suffix}", needs)


def corpus_selection(cfg: ExperimentConfig) -> dict[str, list[str]]:
    """The corpus programs of every corpus source in the config."""
    needed = {s for _, _, s in training_runs(cfg)} & set(CORPUS_SOURCES)
    if not needed:
        return {}
    progs = corpus_programs(cfg.programs)
    out = {s: select_programs(s, progs, cfg.subset_programs, cfg.data_seed) for s in CORPUS_SOURCES if s in needed}
    empty = [s for s, names in out.items() if not names]
    if empty:
        raise ValueError(f"{', '.join(empty)}: no program of {cfg.programs} belongs to it")
    return out


def plan(cfg: ExperimentConfig, digests: dict[str, str] | None = None) -> list[Step]:
    """Every step of the experiment, in the order they run. `digests` (rendered source → program
    digest) defaults to hashing the program folders now."""
    from .. import __version__

    out = Path(cfg.out)
    runs = training_runs(cfg)
    used = {source for _, _, source in runs}
    selection = corpus_selection(cfg)
    if digests is None:
        digests = {s: digest_files(baseline_files(s)) for s in PROGRAM_SOURCES if s in used}
        if selection:
            digests["corpus_pool"] = programs_digest(Path(cfg.programs))
    steps: list[Step] = []
    data: dict[str, Step] = {}
    common = {"image_size": cfg.image_size, "data_seed": cfg.data_seed, "vdsl": __version__}
    if selection:  # one render pool for every corpus source: each program's seeds, as many as its smallest source needs
        variants = math.ceil(POOL_MARGIN * max(math.ceil(cfg.images / len(v)) for v in selection.values())) + 1
        s = {"step": "pool", "programs": digests["corpus_pool"], "variants": variants, **common}
        pool = _step("pool", "corpus_pool", None, None, s, out / "data")
        steps.append(pool)
        for source, names in selection.items():
            s = {"step": "select", "source": source, "pool": pool.key, "programs": names, "images": cfg.images}
            data[source] = _step("select", source, None, None, s, out / "data", needs=pool.key)
            steps.append(data[source])
    for source in PROGRAM_SOURCES:
        if source in used:
            s = {"step": "build", "source": source, "programs": digests[source], "images": cfg.images, **common}
            data[source] = _step("build", source, None, None, s, out / "data")
            steps.append(data[source])
    if "real" in used:
        s = {"step": "photos", "real": sorted(cfg.real), "images": cfg.images, **common}
        data["real"] = _step("photos", "real", None, None, s, out / "data")
        steps.append(data["real"])
    trained: dict[tuple[str, int], Step] = {}
    for seed in cfg.seeds:  # seed-major: a stopped run has every source for its first seeds
        for name, method, source in runs:
            s = {
                "step": "train",
                "run": name,  # two sources may hold the same images (a tiny corpus): their runs stay apart
                "data": data[source].key,
                "images": cfg.images,
                "image_size": cfg.image_size,
                "method": method,
                "arch": cfg.arch,
                "stem": cfg.stem,
                "epochs": cfg.epochs,
                "batch_size": cfg.batch_size,
                "lr": cfg.lr,
                "seed": seed,
            }
            trained[(name, seed)] = _step("train", name, seed, None, s, out / "runs", needs=data[source].key)
            steps.append(trained[(name, seed)])
            steps += _evals(cfg, name, seed, trained[(name, seed)], out)
        steps += _evals(cfg, "random", seed, None, out)
    return steps


def _evals(cfg: ExperimentConfig, name: str, seed: int, run: Step | None, out: Path) -> list[Step]:
    model = (
        run.key
        if run
        else {"random": True, "arch": cfg.arch, "image_size": cfg.image_size, "stem": cfg.stem, "seed": seed}
    )
    steps = []
    for real in cfg.real:
        s = {"step": "eval", "model": model, "real": real, "knn_k": cfg.knn_k}
        if cfg.linear_wd is not None:  # absent when None: evaluations made before this setting existed stay valid
            s["linear_wd"] = cfg.linear_wd
        steps.append(_step("eval", name, seed, real, s, out / "evals", ".json", run and run.key))
        if name == "corpus_supervised" and run:  # zero real photos: the concept classifier itself
            s = {"step": "zero_shot", "model": model, "real": real}
            steps.append(_step("zero_shot", name, seed, real, s, out / "evals", ".zero-shot.json", run.key))
    return steps
