"""The vision check-up experiment: `python bench/experiment.py [options]` is `vdsl experiment [options]`.

Pre-trains one ResNet identically on (a) renders of the vdsl corpus (examples/), (b) the dead-leaves
program (vdsl/train/dead_leaves.vd), (c) nothing (random init), over 3 seeds, and scores frozen features
by linear probe and k-NN on real photos (../shared/data: cifar10, imagenette). The CPU defaults finish in
under 30 minutes on 2 cores; bench/results/experiment.md holds the recorded run.

    python bench/experiment.py --report bench/results/experiment.md
    python bench/experiment.py --images 50000 --epochs 100 --method moco --image-size 64 --stem small   # on a GPU
"""

from __future__ import annotations

import sys

from vdsl.commands.train import experiment_cmd

if __name__ == "__main__":
    sys.exit(experiment_cmd.main(prog_name="vdsl experiment"))
