"""The experiment: identical training on vdsl renders vs dead leaves vs nothing, probed on real photos."""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import torch

from ..dataset import BuildIncomplete, BuildOptions, build
from . import report, statistics
from .data import FolderImages, find_shared, program_files, resolve_real
from .evaluate import load_encoder, probe, zero_shot
from .loop import CHECKPOINT, Interrupted, TrainConfig, train
from .plan import DEAD_LEAVES, SOURCES, STEP_FILE, ExperimentConfig, Step, plan, source_folders

__all__ = ["DEAD_LEAVES", "ExperimentConfig", "Interrupted", "hardware", "run"]
PHASE = {"data": "data_s", "train": "train_s", "eval": "eval_s", "zero_shot": "eval_s"}


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
    hw = {
        "nproc": nproc,
        "cpu": cpu,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "gpu": None,
    }
    if torch.cuda.is_available():
        hw["gpu"] = torch.cuda.get_device_name(0)
    return hw


def _say(msg: str) -> None:
    print(f"[experiment] {msg}", file=sys.stderr, flush=True)


def _write_json(obj, path: Path) -> None:
    """Atomically: a file that exists is a finished step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def _device(cfg: ExperimentConfig) -> str:
    return cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")


# ------------------------------------------------------------------ steps: each returns whether it ran


def make_data(step: Step, cfg: ExperimentConfig, steps: dict[str, Step]) -> bool:
    """Render at least cfg.images images of the source with the dataset builder (`vdsl dataset build`);
    training then takes exactly cfg.images of them."""
    if (step.path / STEP_FILE).is_file():
        return False
    programs = source_folders(cfg)[step.name]
    n_programs = len(program_files(programs))
    if n_programs == 0:
        raise ValueError(f"no .vd programs in {programs}")
    _say(f"rendering {cfg.images} images of {SOURCES[step.name]} ({programs}) at {cfg.image_size} px")
    # A little over budget per program: the builder drops blank and duplicate renders.
    variants = math.ceil(cfg.images * 1.2 / n_programs) + 1
    build(
        BuildOptions(
            out=step.path,
            programs=(programs,),
            variants=variants,
            seed_start=cfg.data_seed,
            size=(cfg.image_size, cfg.image_size),
            workers=cfg.render_workers,
            progress=False,
            command="vdsl experiment",
        ),
        echo=lambda s: None,
    )
    have = len(FolderImages(step.path, preload=False))
    if have < cfg.images:
        raise ValueError(f"{step.name}: only {have} usable images for a budget of {cfg.images}")
    _write_json({"settings": step.settings, "images_available": have}, step.path / STEP_FILE)
    return True


def train_model(step: Step, cfg: ExperimentConfig, steps: dict[str, Step]) -> bool:
    """Train, or finish a run that was interrupted (its settings are the same: they name its folder)."""
    if (step.path / STEP_FILE).is_file():
        return False
    s = step.settings
    tc = TrainConfig(
        out=str(step.path),
        data=str(steps[step.needs].path),
        max_images=s["images"],
        method=s["method"],
        arch=s["arch"],
        image_size=s["image_size"],
        stem=s["stem"],
        epochs=s["epochs"],
        batch_size=s["batch_size"],
        lr=s["lr"],
        seed=s["seed"],
        workers=cfg.workers,
        device=cfg.device,
        progress=cfg.progress,
    )
    resume = (step.path / CHECKPOINT).is_file()
    _say(f"{'resuming' if resume else 'training'} {s['method']} {s['arch']} on {SOURCES[step.name]}, seed {step.seed}")
    train(tc, resume=resume, raise_on_signal=True)
    _write_json({"settings": step.settings}, step.path / STEP_FILE)
    return True


def _checkpoint(step: Step, steps: dict[str, Step]) -> str:
    return str(steps[step.needs].path / CHECKPOINT) if step.needs else "random"


def evaluate_model(step: Step, cfg: ExperimentConfig, steps: dict[str, Step]) -> bool:
    """Frozen-feature probes on a real set (random init: the same architecture, untrained)."""
    if step.path.is_file():
        return False
    _say(f"evaluating {SOURCES[step.name]}, seed {step.seed}, on {step.real}")
    net, info = load_encoder(_checkpoint(step, steps), cfg.arch, cfg.image_size, cfg.stem, step.seed)
    res = {**info, **probe(net, step.real, cfg.image_size, _device(cfg), k=cfg.knn_k)}
    _write_json({"settings": step.settings, "result": res}, step.path)
    return True


def classify_zero_shot(step: Step, cfg: ExperimentConfig, steps: dict[str, Step]) -> bool:
    if step.path.is_file():
        return False
    res = zero_shot(_checkpoint(step, steps), step.real, device=_device(cfg))
    _write_json({"settings": step.settings, "result": res}, step.path)
    return True


RUN = {"data": make_data, "train": train_model, "eval": evaluate_model, "zero_shot": classify_zero_shot}


# ------------------------------------------------------------------ signals


class _Signals:
    """Ctrl-C and SIGTERM outside training raise Interrupted (training installs its own handlers:
    finish the step, save a checkpoint, then raise Interrupted)."""

    def __enter__(self):
        self.old = {}
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(s) is not signal.SIG_IGN:
                    self.old[s] = signal.signal(s, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise Interrupted(signum)

    def __exit__(self, *exc):
        for s, old in self.old.items():
            signal.signal(s, old)


def _execute(steps: list[Step], cfg: ExperimentConfig, timings: dict) -> dict[str, list[str]]:
    by_key = {s.key: s for s in steps}
    done: dict[str, list[str]] = {"computed": [], "reused": []}
    with _Signals():
        for step in steps:
            t = time.perf_counter()
            try:
                ran = RUN[step.kind](step, cfg, by_key)
            except BuildIncomplete as e:  # the builder turns Ctrl-C into this: pass the signal on
                if isinstance(e.__context__, Interrupted):
                    raise e.__context__ from None
                if isinstance(e.__context__, KeyboardInterrupt):
                    raise Interrupted(signal.SIGINT) from None
                raise
            except KeyboardInterrupt as e:
                raise e if isinstance(e, Interrupted) else Interrupted(signal.SIGINT) from None
            timings[PHASE[step.kind]] += time.perf_counter() - t
            done["computed" if ran else "reused"].append(step.path.name)
    return done


# ------------------------------------------------------------------ the whole run


def collect(steps: list[Step]) -> dict:
    """The finished artifacts, gathered into per-seed results."""
    per_seed: dict[str, dict] = {}
    chance: dict[str, float] = {}
    zs: dict[str, dict] = {}
    available = {}
    for step in steps:
        if step.kind == "data":
            available[step.name] = json.loads((step.path / STEP_FILE).read_text())["images_available"]
        if step.kind not in ("eval", "zero_shot"):
            continue
        res, key = json.loads(step.path.read_text())["result"], Path(step.real).name
        chance[key] = res["chance"]
        if step.kind == "eval":
            per_seed.setdefault(step.name, {}).setdefault(key, {})[step.seed] = {
                "linear_probe": res["linear_probe"]["accuracy"],
                "knn": res["knn"]["accuracy"],
            }
        else:
            zs.setdefault(
                key, {"chance": res["chance"], "map": res["map"], "unmapped": res["unmapped"], "accuracy": {}}
            )["accuracy"][step.seed] = res["accuracy"]
    return {"images_available": available, "per_seed": per_seed, "chance": chance, "zero_shot": zs}


def run(cfg: ExperimentConfig, command: str = "vdsl experiment") -> dict:
    """Build data, train (a) on the corpus and (b) on dead leaves for every seed, evaluate those
    and (c) random init on every real set; write results.json, results.md and results.png.
    Steps whose artifact exists for the same settings are reused; Ctrl-C or SIGTERM raises
    Interrupted after saving the current training run's checkpoint (a rerun resumes it)."""
    out = Path(cfg.out)
    t0 = time.perf_counter()
    for r in cfg.real:
        resolve_real(r)  # fail early, before any training, if a real set is missing
    dl = source_folders(cfg)["dead_leaves"]
    dl.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEAD_LEAVES, dl / DEAD_LEAVES.name)
    steps = plan(cfg)
    timings = {"data_s": 0.0, "train_s": 0.0, "eval_s": 0.0}
    done = _execute(steps, cfg, timings)
    timings["total_s"] = time.perf_counter() - t0
    result = {
        "command": command,
        "config": asdict(cfg),
        "hardware": hardware(),
        "timings": timings,
        **collect(steps),
        "steps": done,
        "shared": str(find_shared()),
    }
    result["summary"] = {
        name: {
            real: {m: report.mean_sd([v[m] for v in seeds.values()]) for m in statistics.METRICS}
            for real, seeds in reals.items()
        }
        for name, reals in result["per_seed"].items()
    }
    result["comparisons"] = statistics.compare(result["per_seed"])
    _write_json(result, out / "results.json")
    (out / "results.md").write_text(report.markdown(result))
    report.chart(result, out / "results.png")
    _say(
        f"done in {timings['total_s'] / 60:.1f} min ({len(done['computed'])} steps computed, "
        f"{len(done['reused'])} reused): {out / 'results.md'}"
    )
    return result
