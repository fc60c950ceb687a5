"""The command line's registry: the `vdsl` group and its commands, each group of them in one module of vdsl/commands/."""

from __future__ import annotations

from .commands import batch, concepts, core, dataset, llm, main, train

for _module in (core, llm, batch, concepts, dataset, train):
    for _cmd in _module.COMMANDS:
        main.add_command(_cmd)

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    main()
