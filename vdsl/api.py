"""The Python API: compile a source once, then evaluate and render it for many seeds."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import ir
from .budgets import DEFAULT, Budgets
from .check import Checked, check
from .diagnostics import Diagnostic, Span, has_errors, sort_diagnostics
from .errors import DiagnosticsError
from .evaluate import evaluate
from .syntax import parse


@dataclass
class Program:
    """A compiled vdsl program. `ok` is False when it has errors; `diagnostics` says why."""
    source: str
    file: str
    checked: Checked | None
    diagnostics: list[Diagnostic]
    budgets: Budgets = DEFAULT
    meta: dict[str, str] = field(default_factory=dict)   # `// key: value` header lines

    @property
    def ok(self) -> bool:
        return self.checked is not None and not has_errors(self.diagnostics)

    @property
    def params(self) -> dict:
        return dict(self.checked.params) if self.checked else {}

    def evaluate(self, seed: int = 0, params: dict | None = None,
                 budgets: Budgets | None = None) -> tuple[ir.Scene | None, list[Diagnostic]]:
        """Errors are values: (scene, warnings) or (None, diagnostics)."""
        if not self.ok:
            return None, list(self.diagnostics)
        return evaluate(self.checked, seed, budgets or self.budgets, params)

    def scene(self, seed: int = 0, params: dict | None = None, size: tuple[int, int] | None = None) -> ir.Scene:
        """The scene IR for a seed; raises DiagnosticsError with the diagnostics on failure."""
        scene, diags = self.evaluate(seed, params)
        if scene is None:
            raise DiagnosticsError(diags, self.source)
        return fit(scene, size, self.budgets) if size else scene

    def render(self, seed: int = 0, size: tuple[int, int] | None = None, scale: float = 1.0,
               params: dict | None = None) -> np.ndarray:
        """An HxWx4 uint8 RGBA array."""
        from .backends import render_array
        return render_array(self.scene(seed, params, size), scale)

    def render_bytes(self, fmt: str = "png", seed: int = 0, size: tuple[int, int] | None = None,
                     scale: float = 1.0, params: dict | None = None) -> tuple[bytes, list[Diagnostic]]:
        from .backends import render_bytes
        return render_bytes(self.scene(seed, params, size), fmt, scale)


def read_meta(source: str) -> dict[str, str]:
    """`// concept: parrot` style header lines at the top of a file → {"concept": "parrot"}."""
    meta = {}
    for line in source.splitlines()[:40]:
        s = line.strip()
        if not s:
            continue
        if not s.startswith("//"):
            break
        body = s[2:].strip()
        if ":" in body:
            k, v = body.split(":", 1)
            k = k.strip().lower()
            if k.replace("_", "").replace("-", "").isalnum() and " " not in k:
                meta.setdefault(k, v.strip())
    return meta


def compile(source: str | bytes, file: str = "<input>", budgets: Budgets = DEFAULT,
            base_dir: str | None = None) -> Program:
    """Parse and check. Never raises for bad input: look at `.ok` and `.diagnostics`.

    base_dir enables `use "file.vd"` for files under that folder (off when None)."""
    program, diags = parse(source, file, budgets)
    text = source if isinstance(source, str) else source.decode("utf-8", "replace")
    if program is None:
        return Program(text, file, None, sort_diagnostics(diags), budgets, read_meta(text))
    checked = check(program, base_dir, budgets)
    return Program(text, file, checked, checked.diagnostics, budgets, read_meta(text))


def compile_file(path: str | os.PathLike, budgets: Budgets = DEFAULT, allow_files: bool = False) -> Program:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        return Program("", str(path), None, [Diagnostic("E100", f"cannot read {path}: {e.strerror}",
                                                        Span(0, 0, 0, 0, str(path)))], budgets)
    return compile(data, str(path), budgets, str(p.parent) if allow_files else None)


def fit(scene: ir.Scene, size: tuple[int, int], budgets: Budgets = DEFAULT) -> ir.Scene:
    """The scene scaled uniformly to fit size=(W, H), centred (letterboxed) on its background."""
    w, h = int(size[0]), int(size[1])
    if w < 1 or h < 1 or w * h > budgets.canvas_pixels or max(w, h) > budgets.canvas_side:
        raise DiagnosticsError([Diagnostic("E407", f"output size {w}x{h} is over the canvas budget "
                                    f"({budgets.canvas_pixels} pixels)")])
    if (w, h) == (scene.width, scene.height):
        return scene
    s = min(w / scene.width, h / scene.height)
    dx, dy = (w - scene.width * s) / 2, (h - scene.height * s) / 2
    root = ir.Group((scene.root,), (s, 0.0, 0.0, s, dx, dy))
    return ir.Scene(w, h, scene.background, root)


def render(source: str, seed: int = 0, size: tuple[int, int] | None = None, scale: float = 1.0,
           params: dict | None = None) -> np.ndarray:
    """Compile and render in one call; raises DiagnosticsError when the program has errors."""
    prog = compile(source)
    if not prog.ok:
        raise DiagnosticsError(prog.diagnostics, prog.source)
    return prog.render(seed, size, scale, params)
