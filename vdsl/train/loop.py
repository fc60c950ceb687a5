"""The training loop: configuration, optimiser and schedule, AMP/DDP, checkpoints, resume, metrics."""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import random
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from ..cores import usable_cores
from . import dist
from .augment import views as augmented_views
from .data import FolderImages, LiveRenders, Squares, collate, derive, epoch_batches
from .methods import METHODS, build_method

BASE_LR = {"moco": 0.06, "simclr": 0.06, "supervised": 0.1}  # per 256 images in a batch
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.csv"
METRIC_FIELDS = ["epoch", "step", "loss", "lr", "images_per_s", "elapsed_s"]
# Settings a resumed run may change; everything else comes from the checkpoint.
RESUMABLE = {"epochs", "workers", "progress", "max_steps", "device"}


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as config.json and in every checkpoint."""

    out: str = "out/runs/train"
    data: str | None = None  # a `vdsl dataset build` folder (or any ImageFolder)
    live: str | None = None  # or: a folder of .vd programs rendered on the fly
    images_per_epoch: int = 10_000  # live rendering: images per epoch
    max_images: int | None = None  # a folder: use a class-balanced subset of this many images
    method: str = "moco"
    arch: str = "resnet18"
    image_size: int = 64
    stem: str = "auto"  # auto | imagenet | small (3x3 conv, no max-pool)
    epochs: int = 10
    batch_size: int = 256  # global: over all processes
    lr: float | None = None  # None: BASE_LR[method] * batch_size / 256
    weight_decay: float = 5e-4
    momentum: float = 0.9
    warmup_epochs: float = 0.0
    proj_dim: int = 128
    temperature: float | None = None  # None: 0.2 for MoCo-v2, 0.5 for SimCLR
    moco_queue: int = 4096
    moco_momentum: float = 0.99
    bn_splits: int = 4  # MoCo shuffle-BN sub-batches per device
    workers: int | None = None  # DataLoader workers; None: 0 for a folder held in memory, else cores - 1 (at most 8)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision: CUDA, and CPUs with native bfloat16 (AVX512-BF16/AMX)
    channels_last: bool = True  # with mixed precision: NHWC tensors
    deterministic: bool = False  # CUDA: deterministic kernels (CPU runs are reproducible anyway)
    max_steps: int | None = None  # stop (with a checkpoint) after this many steps in all
    progress: bool = True

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; one of {', '.join(METHODS)}")
        if (self.data is None) == (self.live is None):
            raise ValueError("give exactly one of a dataset folder (data) or --live PROGRAMS_DIR")
        if self.batch_size < 2 or not self.epochs or self.epochs < 1 or self.image_size < 32:
            raise ValueError("need batch_size >= 2, epochs >= 1 and image_size >= 32")


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def rng_state() -> dict:
    st = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict) -> None:
    torch.set_rng_state(st["torch"])
    np.random.set_state(st["numpy"])
    random.setstate(st["python"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_lambda(total: int, warmup: int):
    """Linear warm-up, then cosine decay to zero, per step."""

    def f(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        t = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))

    return f


def save_atomic(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def read_metrics(run_dir: str | Path) -> list[dict]:
    p = Path(run_dir) / METRICS
    if not p.exists():
        return []
    with open(p, newline="") as f:
        return [
            {k: (float(v) if k not in ("epoch", "step") else int(v)) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def plot_losses(run_dir: Path, rows: list[dict]) -> None:
    from .plots import line_chart

    if not rows:
        return
    steps, losses = [r["step"] for r in rows], [r["loss"] for r in rows]
    k = max(1, len(rows) // 50)
    smooth = [
        sum(losses[max(0, i - k + 1) : i + 1]) / len(losses[max(0, i - k + 1) : i + 1]) for i in range(len(losses))
    ]
    series = {"loss": (steps, losses)}
    if k > 1:
        series[f"mean of {k}"] = (steps, smooth)
    line_chart(run_dir / "loss.png", series, title=f"training loss — {run_dir.name}", ylabel="loss")


class Interrupted(KeyboardInterrupt):
    """Stopped by SIGINT (Ctrl-C) or SIGTERM; `exit_code` is the shell's 128 + signal number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


class _Stop:
    """The first Ctrl-C or SIGTERM asks the loop to checkpoint and stop after the current step; a
    second one aborts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum: int | None = None
        self._old: dict = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise Interrupted(signum)
        self.signum = signum
        print(
            f"\nvdsl train: {signal.Signals(signum).name} — saving a checkpoint (Ctrl-C again to abort)",
            file=sys.stderr,
        )

    def __exit__(self, *exc):
        for s, old in self._old.items():
            signal.signal(s, old)


class _Progress:
    """A rich progress bar with loss and images/s on rank 0; silent elsewhere."""

    def __init__(self, enabled: bool):
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )

    def __enter__(self):
        if self.bar:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.__exit__(*exc)

    def epoch(self, epoch: int, epochs: int, total: int, done: int):
        if self.bar:
            self.task = self.bar.add_task(f"epoch {epoch + 1}/{epochs}", total=total, completed=done, info="")

    def step(self, loss: float, ips: float):
        if self.bar:
            self.bar.update(self.task, advance=1, info=f"loss {loss:.4f}  {ips:,.0f} img/s")


def build_data(cfg: TrainConfig):
    if cfg.live:
        return LiveRenders(cfg.live, cfg.image_size, cfg.images_per_epoch, cfg.seed)
    from ..dataset.readers import shard_files

    if cfg.data is not None and shard_files(cfg.data) is not None:
        from .shards import ShardImages

        if cfg.max_images is not None:
            raise ValueError("--max-images takes a subset of an image folder; shard datasets are read whole")
        return ShardImages(cfg.data, cfg.seed)
    return FolderImages(cfg.data, limit=cfg.max_images)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (elsewhere it is emulated, and slower than float32)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def default_loader_workers() -> int:
    """DataLoader workers: one per usable core but one (the training process's), at most 8."""
    return max(0, min(8, usable_cores() - 1))


def train(cfg: TrainConfig | dict, resume: bool | str = False, raise_on_signal: bool = False) -> Path:
    """Run (or continue) a training run; returns its folder, which holds checkpoint.pt,
    config.json, metrics.csv and loss.png. `resume`: True for out/checkpoint.pt, or a path.
    Ctrl-C or SIGTERM saves a checkpoint and stops the run; with `raise_on_signal` train then
    raises Interrupted instead of returning."""
    cfg = TrainConfig.from_dict(cfg) if isinstance(cfg, dict) else cfg
    out = Path(cfg.out)
    ckpt = None
    if resume:
        path = Path(resume) if isinstance(resume, (str, os.PathLike)) else out / CHECKPOINT
        if path.is_dir():
            path = path / CHECKPOINT
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        saved = TrainConfig.from_dict(ckpt["config"])
        for k in RESUMABLE:
            if k != "epochs" or cfg.epochs is not None:  # epochs=None: as saved
                setattr(saved, k, getattr(cfg, k))
        saved.out = str(path.parent)
        cfg, out = saved, path.parent
    cfg.validate()

    device = pick_device(cfg.device)
    rank, world, local_rank = dist.setup(device.type)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = not cfg.deterministic
        if cfg.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.deterministic = True
            torch.use_deterministic_algorithms(True, warn_only=True)
    if cfg.batch_size % world:
        raise ValueError(f"batch size {cfg.batch_size} does not split over {world} processes")
    per_batch = cfg.batch_size // world
    main = rank == 0
    if main:
        out.mkdir(parents=True, exist_ok=True)

    seed_everything(cfg.seed)
    base = build_data(cfg)
    if cfg.workers is None:  # images already in memory need no worker processes
        cfg.workers = 0 if getattr(base, "cache", None) is not None else default_loader_workers()
    method_module = build_method(asdict(cfg), len(base.classes))
    images = Squares(base, cfg.image_size)
    sharded = hasattr(base, "batches")  # shards: each process reads its own shards
    steps_per_epoch = base.steps_per_epoch(per_batch, world) if sharded else len(images) // world // per_batch
    if steps_per_epoch == 0:
        raise ValueError(f"{len(images)} images are fewer than one batch of {cfg.batch_size}")
    total_steps = cfg.epochs * steps_per_epoch

    use_cuda = device.type == "cuda"
    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if use_cuda else torch.bfloat16
    amp = bool(cfg.amp and (use_cuda or cpu_has_bf16()))
    memory_format = torch.channels_last if (cfg.channels_last and amp) else torch.contiguous_format
    model = method_module.to(device, memory_format=memory_format)
    params = [p for p in model.parameters() if p.requires_grad]
    lr = cfg.lr if cfg.lr is not None else BASE_LR[cfg.method] * cfg.batch_size / 256
    opt = torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(total_steps, int(cfg.warmup_epochs * steps_per_epoch)))
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if use_cuda else None)

    epoch, step_in_epoch, global_step, elapsed = 0, 0, 0, 0.0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"])
        epoch, step_in_epoch, global_step = ckpt["epoch"], ckpt["step_in_epoch"], ckpt["global_step"]
        elapsed = ckpt.get("elapsed_s", 0.0)

    resolved = {
        "lr": lr,
        "world_size": world,
        "per_process_batch": per_batch,
        "device": str(device),
        "amp": str(amp_dtype).replace("torch.", "") if amp else None,
        "channels_last": memory_format == torch.channels_last,
        "images": len(images),
        "classes": len(base.classes),
        "steps_per_epoch": steps_per_epoch,
        "total_steps": total_steps,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_threads": torch.get_num_threads(),
    }
    import torchvision

    resolved["torchvision"] = torchvision.__version__
    if main:
        (out / "config.json").write_text(json.dumps({**asdict(cfg), "resolved": resolved}, indent=2) + "\n")
        rows = [r for r in read_metrics(out) if r["step"] <= global_step]  # drop steps after the checkpoint
        with open(out / METRICS, "w", newline="") as f:
            w = csv.DictWriter(f, METRIC_FIELDS)
            w.writeheader()
            w.writerows(rows)

    def checkpoint() -> None:
        if not main:
            return
        state = {
            "config": asdict(cfg),
            "resolved": resolved,
            "classes": list(base.classes),
            "model": model.state_dict(),
            "backbone": model.backbone.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "scaler": scaler.state_dict(),
            "rng": rng_state(),
            "epoch": epoch,
            "step_in_epoch": step_in_epoch,
            "global_step": global_step,
            "elapsed_s": elapsed,
        }
        if cfg.method == "supervised":
            state["classifier"] = model.classifier.state_dict()
        save_atomic(state, out / CHECKPOINT)

    def inputs(batch: torch.Tensor, step: int):
        """The method's views of a uint8 batch, cut on the device from a seed fixed by (run seed,
        epoch, step, rank): a resumed run draws exactly what an uninterrupted one would."""
        vs = augmented_views(
            batch.to(device, non_blocking=True),
            cfg.method,
            cfg.image_size,
            method_module.views,
            derive(cfg.seed, 1, epoch, step, rank),
        )
        vs = [v.contiguous(memory_format=memory_format) for v in vs]
        return vs if len(vs) > 1 else vs[0]

    stopped = False
    metrics_file = open(out / METRICS, "a", newline="") if main else None  # noqa: SIM115 - closed in the finally below
    writer = csv.DictWriter(metrics_file, METRIC_FIELDS) if main else None
    try:
        with _Stop() as stop, _Progress(cfg.progress and main) as bar:
            model.train()
            while epoch < cfg.epochs and not stopped:
                images.set_epoch(epoch)
                if sharded:
                    batches = base.batches(per_batch, epoch, rank, world)
                else:
                    batches = epoch_batches(len(images), per_batch, cfg.seed, epoch, rank, world)
                loader = torch.utils.data.DataLoader(
                    images,
                    batch_sampler=batches[step_in_epoch:],
                    num_workers=cfg.workers,
                    collate_fn=collate,
                    pin_memory=use_cuda,
                    persistent_workers=False,
                    # its own generator: making an iterator must not draw from the global RNG
                    generator=torch.Generator().manual_seed(derive(cfg.seed, 3, epoch)),
                )
                bar.epoch(epoch, cfg.epochs, steps_per_epoch, step_in_epoch)
                t_last = time.perf_counter()
                try:
                    for batch, labels in loader:
                        x, labels = inputs(batch, step_in_epoch), labels.to(device, non_blocking=True)
                        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
                            loss = net(x, labels)
                        opt.zero_grad(set_to_none=True)
                        scaler.scale(loss).backward()
                        scaler.step(opt)
                        scaler.update()
                        sched.step()
                        loss_value = dist.mean(float(loss.detach()), device)
                        if not math.isfinite(loss_value):
                            raise FloatingPointError(f"loss is {loss_value} at step {global_step + 1}")
                        now = time.perf_counter()
                        dt, t_last = now - t_last, now
                        elapsed += dt
                        global_step += 1
                        step_in_epoch += 1
                        ips = cfg.batch_size / dt if dt > 0 else 0.0
                        if main:
                            writer.writerow(
                                {
                                    "epoch": epoch,
                                    "step": global_step,
                                    "loss": f"{loss_value:.6f}",
                                    "lr": f"{sched.get_last_lr()[0]:.6g}",
                                    "images_per_s": f"{ips:.1f}",
                                    "elapsed_s": f"{elapsed:.2f}",
                                }
                            )
                        bar.step(loss_value, ips)
                        if stop.requested or (cfg.max_steps and global_step >= cfg.max_steps):
                            stopped = True
                            break
                except (RuntimeError, KeyboardInterrupt):
                    if not stop.requested:  # a worker killed by the same Ctrl-C is not an error
                        raise
                    stopped = True
                del loader
                if not stopped:
                    epoch, step_in_epoch = epoch + 1, 0
                if main:
                    metrics_file.flush()
                checkpoint()
                if main:
                    plot_losses(out, read_metrics(out))
        if stopped and main and epoch < cfg.epochs and not raise_on_signal:
            print(
                f"vdsl train: stopped at epoch {epoch + 1}, step {global_step}; continue with --resume", file=sys.stderr
            )
    finally:
        if metrics_file:
            metrics_file.close()
    dist.barrier()  # the checkpoint is on disk before any process returns
    if raise_on_signal and stop.signum is not None:
        raise Interrupted(stop.signum)
    return out
