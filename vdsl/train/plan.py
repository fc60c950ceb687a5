"""What `vdsl experiment` runs: the config as steps, each artifact named by the hash of the settings it depends on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .data import program_files

DEAD_LEAVES = Path(__file__).with_name("dead_leaves.vd")
SOURCES = {
    "corpus": "vdsl corpus",
    "dead_leaves": "dead leaves",
    "random": "random init",
    "corpus_supervised": "vdsl corpus, supervised*",
}
STEP_FILE = "step.json"  # written into a data or run folder once its step has finished


@dataclass
class ExperimentConfig:
    """The CPU default finishes in well under 30 minutes on 2 cores; scale up with flags on a GPU."""

    out: str = "out/experiment"
    programs: str = "examples"  # the corpus: a folder of .vd programs
    images: int = 2000  # image budget per source (the same for corpus and dead leaves)
    image_size: int = 32
    arch: str = "resnet18"
    stem: str = "imagenet"  # torchvision's own stem: 8x cheaper than the CIFAR stem at 32 px
    method: str = "simclr"
    epochs: int = 60
    batch_size: int = 128
    lr: float | None = None
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    real: list[str] = field(default_factory=lambda: ["cifar10", "imagenette"])
    data_seed: int = 0
    knn_k: int = 20  # probe: neighbours for k-NN
    workers: int | None = None
    render_workers: int = 0  # 0: one per core
    device: str = "auto"
    supervised: bool = True  # also: `supervised` on the corpus concepts (probe + zero-shot)
    progress: bool = True


@dataclass(frozen=True)
class Step:
    """One unit of work. `settings` is everything its artifact depends on (the keys of the steps it
    reads included), `key` their hash, `path` the artifact: a folder (data, train) or a JSON file."""

    kind: str  # data | train | eval | zero_shot
    name: str  # corpus | dead_leaves | corpus_supervised | random
    seed: int | None
    real: str | None
    settings: dict
    key: str
    path: Path
    needs: str | None = None  # the key of the step whose artifact this one reads


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
    """The program folder of each source. Dead leaves is one shipped program, copied into its own
    folder under out/programs so the dataset builder can read it like any corpus."""
    return {"corpus": Path(cfg.programs), "dead_leaves": Path(cfg.out) / "programs" / "dead_leaves"}


def training_runs(cfg: ExperimentConfig) -> list[tuple[str, str, str]]:
    """(run name, method, data source) of every trained model, before seeds."""
    runs = [("corpus", cfg.method, "corpus"), ("dead_leaves", cfg.method, "dead_leaves")]
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


def plan(cfg: ExperimentConfig, digests: dict[str, str] | None = None) -> list[Step]:
    """Every step of the experiment, in the order they run. `digests` (source → programs_digest)
    defaults to hashing the source folders now; dead leaves is hashed from the shipped program."""
    from .. import __version__

    out = Path(cfg.out)
    if digests is None:
        digests = {
            "corpus": programs_digest(Path(cfg.programs)),
            "dead_leaves": hashlib.sha256(DEAD_LEAVES.read_bytes()).hexdigest()[:16],
        }
    steps: list[Step] = []
    data: dict[str, Step] = {}
    for source in source_folders(cfg):
        s = {
            "step": "data",
            "source": source,
            "programs": digests[source],
            "images": cfg.images,
            "image_size": cfg.image_size,
            "data_seed": cfg.data_seed,
            "vdsl": __version__,
        }
        data[source] = _step("data", source, None, None, s, out / "data")
        steps.append(data[source])
    trained: dict[tuple[str, int], Step] = {}
    for name, method, source in training_runs(cfg):
        for seed in cfg.seeds:
            s = {
                "step": "train",
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
    for name in [r[0] for r in training_runs(cfg)] + ["random"]:
        for seed in cfg.seeds:
            run = trained.get((name, seed))
            model = (
                run.key
                if run
                else {"random": True, "arch": cfg.arch, "image_size": cfg.image_size, "stem": cfg.stem, "seed": seed}
            )
            for real in cfg.real:
                s = {"step": "eval", "model": model, "real": real, "knn_k": cfg.knn_k}
                steps.append(_step("eval", name, seed, real, s, out / "evals", ".json", run and run.key))
                if name == "corpus_supervised":  # zero real photos: the concept classifier itself
                    s = {"step": "zero_shot", "model": model, "real": real}
                    steps.append(_step("zero_shot", name, seed, real, s, out / "evals", ".zero-shot.json", run.key))
    return steps
