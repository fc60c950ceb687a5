"""`vdsl train | eval | experiment`: training on renders and evaluating on real photos (torch imported lazily)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from ..errors import IncompleteRun, UsageError
from . import fail

INSTALL = "vdsl train/eval/experiment need PyTorch: pip install 'vdsl[train]'"


def _need_torch(*more: str) -> None:
    """The `train` extra is installed (torch, torchvision, and any of `more` this command needs)."""
    import importlib

    try:
        for name in ("torch", "torchvision", *more):
            importlib.import_module(name)
    except ImportError:
        raise UsageError(INSTALL) from None


def _ints(text: str) -> list[int]:
    try:
        return [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None


_METHODS = ["moco", "simclr", "supervised"]
_ARCHS = ["resnet10-half", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
_STEMS = ["auto", "imagenet", "small"]
REAL_SETS = ("cifar10-large", "imagenette-large")  # = vdsl.train.data.REAL_SETS (torch is imported lazily)


@click.command("train", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("data", required=False, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--live",
    type=click.Path(exists=True),
    help="Render these .vd programs on the fly in the "
    "DataLoader workers instead: fresh seeds every epoch, derived from (seed, epoch, index).",
)
@click.option("--images-per-epoch", type=int, default=10_000, show_default=True, help="With --live.")
@click.option("--max-images", type=int, help="Use a class-balanced subset of DATA of this many images.")
@click.option("--method", type=click.Choice(_METHODS), default="moco", show_default=True)
@click.option("--arch", type=click.Choice(_ARCHS), default="resnet18", show_default=True)
@click.option("--image-size", type=int, default=64, show_default=True, help="Input side in pixels (>= 32).")
@click.option(
    "--stem",
    type=click.Choice(_STEMS),
    default="auto",
    show_default=True,
    help="auto: the CIFAR stem (3x3 conv, no max-pool) under 64 px, torchvision's otherwise.",
)
@click.option("--epochs", type=int, help="[default: 10; with --resume: as saved]")
@click.option("--batch-size", type=int, default=256, show_default=True, help="Global, over all processes.")
@click.option("--lr", type=float, help="Default: 0.06 (moco, simclr) or 0.1 (supervised) x batch/256.")
@click.option("--weight-decay", type=float, default=5e-4, show_default=True)
@click.option("--warmup-epochs", type=float, default=0.0, show_default=True)
@click.option("--temperature", type=float, help="Default: 0.2 (moco), 0.5 (simclr).")
@click.option("--proj-dim", type=int, default=128, show_default=True)
@click.option("--moco-queue", type=int, default=4096, show_default=True)
@click.option("--moco-momentum", type=float, default=0.99, show_default=True)
@click.option("--bn-splits", type=int, default=4, show_default=True, help="MoCo shuffle-BN sub-batches.")
@click.option(
    "--workers",
    type=int,
    help="DataLoader workers (default: 0 for a folder held in memory, else cores - 1, at most 8).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option(
    "--amp/--no-amp", default=True, show_default=True, help="Mixed precision: CUDA, and CPUs with native bfloat16."
)
@click.option(
    "--channels-last/--no-channels-last", default=True, show_default=True, help="NHWC tensors, with mixed precision."
)
@click.option(
    "--deterministic",
    is_flag=True,
    help="CUDA: deterministic kernels (slower); CPU runs are reproducible under --seed anyway.",
)
@click.option("-o", "--out", type=click.Path(file_okay=False), help="Run folder (default out/runs/METHOD-ARCH-sSEED).")
@click.option(
    "--resume",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[CKPT]",
    help="Continue exactly where the run in --out (or CKPT) stopped; --epochs may be raised.",
)
@click.option("--max-steps", type=int, help="Stop (with a checkpoint) after this many steps in all.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_cmd(
    data,
    live,
    images_per_epoch,
    max_images,
    method,
    arch,
    image_size,
    stem,
    epochs,
    batch_size,
    lr,
    weight_decay,
    warmup_epochs,
    temperature,
    proj_dim,
    moco_queue,
    moco_momentum,
    bn_splits,
    workers,
    seed,
    device,
    amp,
    channels_last,
    deterministic,
    out,
    resume,
    max_steps,
    quiet,
):
    """Train a ResNet on vdsl renders: MoCo-v2, SimCLR, or supervised on concept labels.

    \b
    vdsl train data/drawings --method moco --image-size 64 --epochs 100 -o out/runs/moco
    vdsl train --live examples/ --images-per-epoch 20000 --method simclr -o out/runs/live
    vdsl train data/wds --method moco -o out/runs/wds      # WebDataset or Parquet shards
    vdsl train -o out/runs/moco --resume                  # after Ctrl-C or a crash
    torchrun --nproc_per_node 4 -m vdsl.cli train data/drawings -o out/runs/ddp

    Writes checkpoint.pt (every epoch and on Ctrl-C), config.json, metrics.csv and loss.png.
    """
    _need_torch()
    from ..train.loop import TrainConfig, train

    if resume is None and (data is None) == (live is None):
        raise UsageError("give a dataset folder (from `vdsl dataset build`) or --live PROGRAMS_DIR (not both)")
    out = out or f"out/runs/{method}-{arch}-s{seed}"
    if epochs is None and resume is None:
        epochs = 10
    cfg = TrainConfig(
        out=out,
        data=data,
        live=live,
        images_per_epoch=images_per_epoch,
        max_images=max_images,
        method=method,
        arch=arch,
        image_size=image_size,
        stem=stem,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        warmup_epochs=warmup_epochs,
        proj_dim=proj_dim,
        temperature=temperature,
        moco_queue=moco_queue,
        moco_momentum=moco_momentum,
        bn_splits=bn_splits,
        workers=workers,
        seed=seed,
        device=device,
        amp=amp,
        channels_last=channels_last,
        deterministic=deterministic,
        max_steps=max_steps,
        progress=not quiet,
    )
    from ..train import dist

    try:
        run_dir = train(cfg, resume=(resume or True) if resume is not None else False)
        main_process = dist.rank() == 0
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(str(e)) from None
    finally:
        dist.teardown()
    if main_process:
        click.echo(str(Path(run_dir) / "checkpoint.pt"))


@click.command("eval", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--checkpoint", required=True, help="A checkpoint.pt from `vdsl train`, or `random`.")
@click.option(
    "--data",
    "datas",
    multiple=True,
    default=REAL_SETS,
    show_default=True,
    help="ImageFolder with train/ and test/ (repeatable); a bare name means ../shared/data/NAME "
    "(the small sets `cifar10` and `imagenette` are for tests).",
)
@click.option(
    "--zero-shot",
    is_flag=True,
    help="Zero-real-photo classification with a supervised model's concept classifier, instead of probing.",
)
@click.option(
    "--class-map",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON {real class: [concept names]} added to the built-in synonyms (--zero-shot).",
)
@click.option("--arch", type=click.Choice(_ARCHS), default="resnet18", show_default=True, help="For random.")
@click.option("--image-size", type=int, help="For random (default 64); a checkpoint says its own.")
@click.option("--stem", type=click.Choice(_STEMS), default="auto", show_default=True, help="For random.")
@click.option("--seed", type=int, default=0, show_default=True, help="For random.")
@click.option("--k", type=int, default=20, show_default=True, help="Neighbours for k-NN.")
@click.option(
    "--cv",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="N > 1: score by N-fold cross-validation within the train photos, never reading the "
    "test photos (for choosing settings); 0: fit on train, score on test.",
)
@click.option(
    "--wd",
    type=float,
    help="A fixed L2 weight for the linear probe (default: chosen on a 20% hold-out of the train photos).",
)
@click.option("--device", default="auto", show_default=True)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False),
    help="JSON file for the results (default: eval.json beside the checkpoint, or eval-random.json here).",
)
def eval_cmd(checkpoint, datas, zero_shot, class_map, arch, image_size, stem, seed, k, cv, wd, device, out):
    """Evaluate frozen features on real photos: linear probe and k-NN accuracy.

    \b
    vdsl eval --checkpoint out/runs/moco/checkpoint.pt       # cifar10-large and imagenette-large
    vdsl eval --checkpoint random --arch resnet18 --image-size 64
    vdsl eval --checkpoint out/runs/moco/checkpoint.pt --cv 5      # validation: train photos only
    vdsl eval --checkpoint out/runs/sup/checkpoint.pt --zero-shot
    """
    _need_torch()
    import torch
    from rich.console import Console
    from rich.table import Table

    from ..train.evaluate import WDS, load_encoder, probe, save_json
    from ..train.evaluate import zero_shot as zero_shot_eval

    if cv == 1:
        raise UsageError("--cv needs at least 2 folds (or 0 for train -> test)")
    if checkpoint != "random" and not Path(checkpoint).is_file():
        raise UsageError(f"no checkpoint {checkpoint} (a checkpoint.pt of `vdsl train`, or `random`)")
    dev = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    extra = json.loads(Path(class_map).read_text()) if class_map else None
    results = []
    try:
        if zero_shot:
            if checkpoint == "random":
                raise UsageError("--zero-shot needs a supervised checkpoint")
            for d in datas:
                results.append(zero_shot_eval(checkpoint, d, device=dev, extra_map=extra))
        else:
            net, info = load_encoder(checkpoint, arch, image_size or 64, stem, seed)
            for d in datas:
                results.append({**info, **probe(net, d, info["image_size"], dev, k, cv, (wd,) if wd else WDS)})
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(str(e)) from None
    table = Table(title=f"{checkpoint}" + (" — zero real photos" if zero_shot else " — frozen features"))
    table.add_column("data")
    if zero_shot:
        for c in ("accuracy", "chance", "classes without a concept"):
            table.add_column(c, justify="right")
        for r in results:
            table.add_row(
                Path(r["data"]).name,
                f"{100 * r['accuracy']:.1f}%",
                f"{100 * r['chance']:.1f}%",
                ", ".join(r["unmapped"]) or "—",
            )
    else:
        for c in ("linear probe", "k-NN", "chance", f"{cv}-fold CV on train" if cv else "train/test"):
            table.add_column(c, justify="right")
        for r in results:
            table.add_row(
                Path(r["data"]).name,
                f"{100 * r['linear_probe']['accuracy']:.1f}%",
                f"{100 * r['knn']['accuracy']:.1f}%",
                f"{100 * r['chance']:.1f}%",
                f"{r['n_train']}" if cv else f"{r['n_train']}/{r['n_test']}",
            )
    Console().print(table)
    if out is None:
        name = "zero-shot.json" if zero_shot else "eval.json"
        out = Path(checkpoint).parent / name if checkpoint != "random" else Path(f"eval-random-s{seed}.json")
    save_json({"command": shlex.join(sys.argv), "results": results}, out)
    click.echo(f"saved {out}", err=True)


SOURCE_NAMES = (  # = vdsl.train.sources.TRAINED
    "corpus",
    "dead_leaves",
    "fractals",
    "real",
    "corpus_25",
    "corpus_heldout",
    "tier_shapes",
    "tier_objects",
    "tier_scenes",
)


def _protocol(path: str | None) -> dict | None:
    """The protocol file and the last commit that changed it (recorded in the results)."""
    if not path:
        return None
    import subprocess

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"no protocol file {path}")
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%H", "--", p.name],
            cwd=p.parent,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", p.name], cwd=p.parent, capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    if not commit or dirty:
        raise UsageError(
            f"{path} must be committed (unchanged since its last commit) before the test photos are scored"
        )
    return {"file": str(path), "commit": commit}


@click.command("experiment", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-o",
    "--out",
    default="out/experiment",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Work folder: data, runs, checkpoints, results.",
)
@click.option(
    "--programs",
    default="examples",
    show_default=True,
    type=click.Path(exists=True),
    help="The corpus of .vd programs.",
)
@click.option(
    "--sources",
    default=",".join(SOURCE_NAMES),
    show_default=True,
    help="Pre-training sources (comma-separated; random init is always probed).",
)
@click.option("--images", type=int, default=512, show_default=True, help="Image budget per source.")
@click.option("--subset-programs", type=int, default=25, show_default=True, help="Programs of corpus_25.")
@click.option("--image-size", type=int, default=32, show_default=True)
@click.option("--arch", type=click.Choice(_ARCHS), default="resnet10-half", show_default=True)
@click.option(
    "--stem",
    type=click.Choice(_STEMS),
    default="imagenet",
    show_default=True,
    help="imagenet: torchvision's stem (cheap at 32 px); small: the CIFAR stem; auto: by size.",
)
@click.option("--method", type=click.Choice(["moco", "simclr"]), default="simclr", show_default=True)
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--lr", type=float)
@click.option("--seeds", default="0,1,2,3,4", show_default=True, help="Training seeds (comma-separated).")
@click.option(
    "--real",
    "reals",
    multiple=True,
    default=REAL_SETS,
    show_default=True,
    help="Real-photo sets (repeatable).",
)
@click.option("--data-seed", type=int, default=0, show_default=True)
@click.option("--knn-k", type=int, default=50, show_default=True, help="Neighbours for the k-NN probe.")
@click.option(
    "--linear-wd",
    type=float,
    default=0.1,
    show_default=True,
    help="A fixed L2 weight for the linear probe; 0: chosen on a hold-out of the train photos instead.",
)
@click.option("--workers", type=int)
@click.option("--render-workers", type=int, default=0, show_default=True, help="0: one per core.")
@click.option("--device", default="auto", show_default=True)
@click.option(
    "--supervised/--no-supervised",
    default=False,
    show_default=True,
    help="Also train supervised on the corpus concepts (reported apart): probe, and classify "
    "real photos with the concept classifier (zero real photos in training).",
)
@click.option(
    "--protocol",
    type=click.Path(dir_okay=False),
    help="The pre-registered protocol file: it must be committed; its file and commit are recorded in the results.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False),
    help="Also copy results.md here (and results.json and the charts beside it, as NAME.json and NAME-QUESTION.png).",
)
@click.option("--quiet", is_flag=True)
def experiment_cmd(
    out,
    programs,
    sources,
    images,
    subset_programs,
    image_size,
    arch,
    stem,
    method,
    epochs,
    batch_size,
    lr,
    seeds,
    reals,
    data_seed,
    knn_k,
    linear_wd,
    workers,
    render_workers,
    device,
    supervised,
    protocol,
    report,
    quiet,
):
    """Pre-train on the vdsl corpus, its subsets, procedural baselines and real photos; probe on real photos.

    Same architecture, schedule and image budget for every source; 5 seeds; linear probe and k-NN on
    cifar10-large and imagenette-large. Sources: the corpus; dead leaves and FractalDB-style fractals
    (vdsl programs in vdsl/train/baselines); real train photos without labels (the upper anchor);
    and, for the ablations, 25 programs of the corpus, the corpus without the evaluation classes, and
    each tier. Data, checkpoints and evaluations are kept under OUT in folders named by the hash of
    the settings they depend on: a rerun reuses exactly those whose settings did not change.
    Ctrl-C (or SIGTERM) saves the current run and stops; the same command resumes.
    Writes OUT/results.md, results.json and results-QUESTION.png.

    \b
    vdsl experiment --protocol bench/protocol.md           # the pre-registered CPU protocol
    vdsl experiment --sources corpus,dead_leaves --seeds 0,1,2 --real cifar10
    """
    _need_torch("scipy")
    from ..dataset.build import BuildIncomplete
    from ..train.experiment import ExperimentConfig, Interrupted, run

    cfg = ExperimentConfig(
        out=out,
        programs=programs,
        sources=[s for s in sources.replace(" ", "").split(",") if s],
        images=images,
        subset_programs=subset_programs,
        image_size=image_size,
        arch=arch,
        stem=stem,
        method=method,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seeds=_ints(seeds),
        real=list(reals),
        data_seed=data_seed,
        knn_k=knn_k,
        linear_wd=linear_wd or None,
        workers=workers,
        render_workers=render_workers,
        device=device,
        supervised=supervised,
        progress=not quiet,
    )
    command = shlex.join(["vdsl", *sys.argv[1:]])
    try:
        result = run(cfg, command=command, protocol=_protocol(protocol))
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(str(e)) from None
    except BuildIncomplete as e:
        raise IncompleteRun(f"rendering the data stopped: {e}") from None
    except Interrupted as e:
        click.echo(
            f"vdsl experiment: stopped by {e}; finished steps and the current run's checkpoint are "
            f"saved in {out} — resume with the same command: {command}",
            err=True,
        )
        fail(e.exit_code)
    if report:
        import shutil

        report = Path(report)
        report.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(out) / "results.md", report)
        shutil.copyfile(Path(out) / "results.json", report.with_suffix(".json"))
        for png in Path(out).glob("results-*.png"):
            shutil.copyfile(png, report.with_name(report.stem + png.name[len("results") :]))
    click.echo((Path(out) / "results.md").read_text())
    return result


COMMANDS = [train_cmd, eval_cmd, experiment_cmd]
