"""The paper's recipe on one GPU, in one command, sized to finish in under 9 minutes on one H100.

Renders the training images on the machine's CPU cores from the vdsl programs (the corpus and the
baseline programs), pre-trains MoCo-v2 on a ResNet-50 at 64 px for each source (vdsl corpus, dead
leaves, FractalDB-style fractals, real photos without labels) over 3 seeds, probes those and random
init on cifar10-large and imagenette-large (linear probe and k-NN, the protocol's probe settings),
and writes the table with paired 95% CIs and Holm over every comparison. The settings below are fixed
in this committed file before the run (its commit is recorded in the results, as bench/protocol.md's
is for the CPU run); the probe settings are the ones cross-validation chose for the CPU protocol.

    python bench/gpu_run.py                                    # on the GPU machine: bench/results/gpu-run.md
    python bench/gpu_run.py --tiny --real PATH --out DIR       # a CPU smoke run of the same code (CI)

Time budget on one H100 (estimates, not measured: no GPU was lent to the session that wrote this):
rendering 3,000 images per source on 16 cores ~3 min; 12 MoCo-v2 runs of 40 epochs x 3,000 images
~3 min; 15 evaluations ~2 min. `--minutes` stops the experiment cleanly (exit 143, resumable) if it
runs over.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FULL = [
    "--sources", "corpus,dead_leaves,fractals,real",
    "--arch", "resnet50",
    "--method", "moco",
    "--image-size", "64",
    "--stem", "imagenet",
    "--images", "3000",
    "--epochs", "40",
    "--batch-size", "256",
    "--seeds", "0,1,2",
    "--linear-wd", "0.1",
    "--knn-k", "50",
    "--render-workers", "0",
]  # fmt: skip
TINY = [
    "--sources", "corpus,dead_leaves,fractals,real",
    "--arch", "resnet10-half",
    "--method", "moco",
    "--image-size", "32",
    "--images", "8",
    "--epochs", "1",
    "--batch-size", "8",
    "--seeds", "0,1",
    "--linear-wd", "0.01",
    "--render-workers", "1",
    "--workers", "0",
    "--device", "cpu",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="a few images and steps on the CPU (tests)")
    ap.add_argument("--out", default="out/gpu-run")
    ap.add_argument("--report", default=None, help="default: bench/results/gpu-run.md (none with --tiny)")
    ap.add_argument("--real", action="append", help="real-photo sets (default: cifar10-large, imagenette-large)")
    ap.add_argument("--programs", default=str(REPO / "examples"))
    ap.add_argument("--minutes", type=float, default=8.5, help="stop cleanly (SIGTERM) after this long")
    ap.add_argument("--allow-cpu", action="store_true", help="run the full size without a GPU (hours)")
    a = ap.parse_args(argv)
    import torch

    if not a.tiny and not torch.cuda.is_available() and not a.allow_cpu:
        print("gpu_run: no CUDA device; use --tiny for a CPU smoke run or --allow-cpu", file=sys.stderr)
        return 2
    args = ["experiment", "-o", a.out, "--programs", a.programs, "--quiet", *(TINY if a.tiny else FULL)]
    for r in a.real or []:
        args += ["--real", r]
    report = a.report or (None if a.tiny else str(REPO / "bench" / "results" / "gpu-run.md"))
    if report:
        args += ["--report", report]
    if not a.tiny:  # this script, committed, is the GPU run's pre-registration: its commit is recorded
        args += ["--protocol", str(Path(__file__).resolve())]
    if a.minutes > 0:  # the experiment turns SIGTERM into a clean, resumable stop
        timer = threading.Timer(a.minutes * 60, lambda: os.kill(os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()
    if a.tiny:
        torch.set_num_threads(1)
    from vdsl.cli import main as cli

    try:
        cli.main(args=args, prog_name="vdsl", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
