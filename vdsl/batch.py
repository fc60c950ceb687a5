"""Render many programs × seeds to files: the output-path rules and the loop behind `vdsl render`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterator

from .api import Program, fit
from .atomic import atomic_write
from .backends import FORMATS, save
from .budgets import Budgets
from .deadline import Deadline
from .diagnostics import Diagnostic, new_only
from .errors import DiagnosticsError, UsageError, VdslError


@dataclass
class Outputs:
    """Where renders go: one file (`target`), a folder (`folder`), or next to the working directory."""

    target: Path | None = None
    folder: Path | None = None
    ext: str = "png"

    @classmethod
    def plan(cls, output: str | None, many: bool, fmt: str | None, json_ir: bool) -> "Outputs":
        """-o FILE for one image; -o DIR/ (or any -o when rendering several files or seeds) for a folder."""
        ext = "json" if json_ir else (fmt or "png").replace("jpeg", "jpg")
        if output and many and Path(output).suffix.lower().lstrip(".") in FORMATS + ("jpeg", "json"):
            raise UsageError("give a folder when rendering several files or seeds (e.g. -o out/)")
        if output and (many or output.endswith(("/", "\\")) or Path(output).is_dir()):
            return cls(folder=Path(output), ext=ext)
        return cls(target=Path(output) if output else None, ext=ext)

    def path(self, name: str) -> Path:
        if self.folder is not None:
            return self.folder / f"{name}.{self.ext}"
        return self.target if self.target is not None else Path(f"{name}.{self.ext}")


@dataclass
class Rendered:
    """One finished (or failed) image: its file, or the diagnostics that stopped it; and any warnings."""

    program: Program
    seed: int
    path: Path | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.path is not None


def render_seeds(
    prog: Program,
    stem: str,
    outputs: Outputs,
    *,
    seed: int = 0,
    variants: int = 1,
    size: tuple[int, int] | None = None,
    scale: float = 1.0,
    params: dict | None = None,
    budgets: Budgets | None = None,
    json_ir: bool = False,
    after: Callable | None = None,
) -> Iterator[Rendered]:
    """Evaluate and save prog at seed, seed+1, ... (NAME_SEED when variants > 1); stops at the first
    seed that fails. Each image gets its own deadline of budgets.time_limit seconds.
    after(scene, path, scale) runs once each image is written (e.g. to write its labels)."""
    b = budgets or prog.budgets
    for s in range(seed, seed + variants):
        deadline = Deadline(b.time_limit)
        scene, diags = prog.evaluate(s, params, b, deadline=deadline)
        if scene is None:
            yield Rendered(prog, s, None, diags)
            return
        target = outputs.path(f"{stem}_{s}" if variants > 1 else stem)
        try:
            if size:
                scene = fit(scene, size, b)
            target.parent.mkdir(parents=True, exist_ok=True)
            if json_ir:
                atomic_write(target, scene.to_json())
                warnings: list[Diagnostic] = []
            else:
                warnings = new_only(save(scene, target, scale, budgets=b, deadline=deadline), prog.diagnostics)
            if after is not None:
                after(scene, target, scale if target.suffix.lower() not in (".svg", ".pdf", ".json") else 1.0)
        except DiagnosticsError as e:
            yield Rendered(prog, s, None, list(e.diagnostics))
            return
        except OSError as e:
            raise VdslError(f"cannot write {target}: {e.strerror or e}") from None
        except ValueError as e:  # an output suffix no backend knows
            raise UsageError(str(e)) from None
        yield Rendered(prog, s, target, list(warnings))
