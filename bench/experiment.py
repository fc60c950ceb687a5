"""The vision experiment: `python bench/experiment.py [options]` is `vdsl experiment [options]`.

Pre-trains one network identically on the vdsl corpus (examples/), dead leaves and FractalDB-style
fractals (vdsl programs in vdsl/train/baselines), real train photos without labels (the upper anchor),
and the ablation sources (25 programs, the corpus without the evaluation classes, each tier), over 5
seeds, and scores frozen features by linear probe and k-NN on real photos (../shared/data:
cifar10-large, imagenette-large). The defaults are the pre-registered protocol, bench/protocol.md;
bench/results/experiment-protocol.md holds its run.

    python bench/experiment.py --protocol bench/protocol.md -o out/experiment-protocol \
        --report bench/results/experiment-protocol.md
    python bench/gpu_run.py          # the paper's recipe on one GPU (MoCo-v2, ResNet-50, 64 px)
"""

from __future__ import annotations

import sys

from vdsl.commands.train import experiment_cmd

if __name__ == "__main__":
    sys.exit(experiment_cmd.main(prog_name="vdsl experiment"))
