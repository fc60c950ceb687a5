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

from ..cores import cpu_model, usable_cores
from ..dataset import BuildIncomplete, BuildOptions, build
from . import report, statistics
from .data import FolderImages, find_shared, program_files, resolve_real
from .evaluate import WDS, load_encoder, probe, zero_shot
from .loop import CHECKPOINT, Interrupted, TrainConfig, train
from .plan import DATA_KINDS, SOURCES, STEP_FILE, ExperimentConfig, Step, plan, source_folders
from .sources import PROGRAM_SOURCES, baseline_files, real_images, select_images

__all__ = ["ExperimentConfig", "Interrupted", "hardware", "run"]
PHASE = {"pool": "data_s", "select": "data_s", "build": "data_s", "photos": "data_s"}
PHASE.update(train="train_s", eval="eval_s", zero_shot="eval_s")


def hardware() -> dict:
    """What the numbers were measured on."""
    cpu, nproc = cpu_model(), usable_cores()
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


def _render(step: Step, cfg: ExperimentConfig, programs: Path, variants: int) -> int:
    """Render `variants` seeds of every program in `programs` with the dataset builder (`vdsl dataset build`)."""
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
    return len(FolderImages(step.path, preload=False))


def make_data(step: Step, cfg: ExperimentConfig, steps: dict[str, Step]) -> bool:
    """A source's training images: the corpus render pool, a corpus source's exact selection from it,
    renders of a baseline's programs, or the real-photo anchor's train photos."""
    if (step.path / STEP_FILE).is_file():
        return False
    info: dict = {}
    if step.kind == "pool":
        programs = Path(cfg.programs)
        _say(f"rendering the corpus pool: {step.settings['variants']} seeds of each program in {programs}")
        info["images_available"] = _render(step, cfg, programs, step.settings["variants"])
    elif step.kind == "select":
        if step.path.exists():  # an unfinished selection: start it again
            shutil.rmtree(step.path)
        info = select_images(steps[step.needs].path, step.settings["programs"], cfg.images, step.path)
        info["images_available"] = cfg.images
    elif step.kind == "build":
        programs = source_folders(cfg)[step.name]
        n = len(program_files(programs))
        if n == 0:
            raise ValueError(f"no .vd programs in {programs}")
        _say(f"rendering {cfg.images} images of {SOURCES[step.name]} ({programs}) at {cfg.image_size} px")
        # A little over budget per program: the builder drops blank and duplicate renders.
        info["images_available"] = _render(step, cfg, programs, math.ceil(cfg.images * 1.2 / n) + 1)
    else:
        _say(f"taking {cfg.images} train photos of {', '.join(cfg.real)} at {cfg.image_size} px (no labels used)")
        info = real_images(cfg.real, cfg.images, cfg.image_size, step.path, cfg.data_seed)
        info["images_available"] = info["photos"]
    if info["images_available"] < cfg.images:
        raise ValueError(f"{step.name}: only {info['images_available']} usable images for a budget of {cfg.images}")
    _write_json({"settings": step.settings, **info}, step.path / STEP_FILE)
    return True


def train_model(step: Step, cfg: ExperimentConfig, steps: dict[str, Step]) -> bool:
    """Train, or finish a run that was interrupted (its settings are the same: they name its folder)."""
    if (step.path / STEP_FILE).is_file():
        return False
    s = step.settings
    tc = TrainConfig(
        out=str(step.path),
        data=str(steps[step.needs].path),  # the selection and photo folders hold exactly the budget
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
    wds = (cfg.linear_wd,) if cfg.linear_wd is not None else WDS
    res = {**info, **probe(net, step.real, cfg.image_size, _device(cfg), k=cfg.knn_k, wds=wds)}
    _write_json({"settings": step.settings, "result": res}, step.path)
    return True


def classify_zero_shot(step: Step, cfg: ExperimentConfig, steps: dict[str, Step]) -> bool:
    if step.path.is_file():
        return False
    res = zero_shot(_checkpoint(step, steps), step.real, device=_device(cfg))
    _write_json({"settings": step.settings, "result": res}, step.path)
    return True


RUN = {
    **dict.fromkeys(DATA_KINDS, make_data),
    "train": train_model,
    "eval": evaluate_model,
    "zero_shot": classify_zero_shot,
}


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
        if step.kind in DATA_KINDS:
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


def run(cfg: ExperimentConfig, command: str = "vdsl experiment", protocol: dict | None = None) -> dict:
    """Build every source's data, train each source for every seed, probe those and random init on
    every real set; write results.json, results.md and one chart per question. Steps whose artifact
    exists for the same settings are reused; Ctrl-C or SIGTERM raises Interrupted after saving the
    current training run's checkpoint (a rerun resumes it). `protocol` (file, commit) is recorded."""
    out = Path(cfg.out)
    t0 = time.perf_counter()
    for r in cfg.real:
        resolve_real(r)  # fail early, before any training, if a real set is missing
    for source, folder in source_folders(cfg).items():
        if source in PROGRAM_SOURCES:
            folder.mkdir(parents=True, exist_ok=True)
            for f in baseline_files(source):
                shutil.copyfile(f, folder / f.name)
    steps = plan(cfg)
    timings = {"data_s": 0.0, "train_s": 0.0, "eval_s": 0.0}
    done = _execute(steps, cfg, timings)
    timings["total_s"] = time.perf_counter() - t0
    result = {
        "command": command,
        "config": asdict(cfg),
        "protocol": protocol,
        "hardware": hardware(),
        "timings": timings,
        **collect(steps),
        "steps": done,
        "shared": str(find_shared()),
    }
    result["programs"] = {st.name: st.settings["programs"] for st in steps if st.kind == "select"}
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
    report.charts(result, out / "results")
    _say(
        f"done in {timings['total_s'] / 60:.1f} min ({len(done['computed'])} steps computed, "
        f"{len(done['reused'])} reused): {out / 'results.md'}"
    )
    return result
