"""The command line's registry: the `vdsl` group and its commands, each group of them in one module of vdsl/commands/."""
from __future__ import annotations

from .commands import concepts, core, llm, main
from .dataset.commands import dataset_group
from .train.commands import eval_cmd, experiment_cmd, train_cmd

for _cmd in core.COMMANDS + llm.COMMANDS + concepts.COMMANDS:
    main.add_command(_cmd)
main.add_command(dataset_group, "dataset")
for _cmd in (train_cmd, eval_cmd, experiment_cmd):
    main.add_command(_cmd)

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    main()
