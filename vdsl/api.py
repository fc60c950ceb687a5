"""The Python API: compile a source once, then evaluate and render it for many seeds."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import ir
from .budgets import DEFAULT, Budgets
from .check import Checked, check
from .deadline import Deadline
from .diagnostics import Diagnostic, Span, has_errors, new_only, sort_diagnostics
from .errors import DiagnosticsError
from .evaluate import evaluate
from .modules import os_reason, read_regular_file
from .syntax import parse
from .values import RuntimeFault


def _internal(e: BaseException, stage: str, file: str = "<input>") -> Diagnostic:
    """The last line of defence: an exception that escaped a stage becomes a diagnostic, never a traceback."""
    sp = Span(1, 1, 1, 2, file)
    if isinstance(e, MemoryError):
        return Diagnostic("E413", f"{stage} ran out of memory", sp, "draw less, or at a smaller size")
    if isinstance(e, RecursionError):
        return Diagnostic("E409", f"{stage} nested too deeply", sp, "split deep nesting into `def`s")
    return Diagnostic(
        "E300",
        f"internal error while {stage}: {type(e).__name__}: {e}"[:500],
        sp,
        "this is a bug in vdsl; please report it with the program",
    )


def _fault(f: RuntimeFault, file: str = "<input>") -> Diagnostic:
    return Diagnostic(f.code, f.message, f.span or Span(1, 1, 1, 2, file), f.hint)


@dataclass
class Program:
    """A compiled vdsl program. `ok` is False when it has errors; `diagnostics` says why."""

    source: str
    file: str
    checked: Checked | None
    diagnostics: list[Diagnostic]
    budgets: Budgets = DEFAULT
    meta: dict[str, str] = field(default_factory=dict)  # `// key: value` header lines

    @property
    def ok(self) -> bool:
        return self.checked is not None and not has_errors(self.diagnostics)

    @property
    def params(self) -> dict:
        return dict(self.checked.params) if self.checked else {}

    def evaluate(
        self,
        seed: int = 0,
        params: dict | None = None,
        budgets: Budgets | None = None,
        deadline: Deadline | None = None,
    ) -> tuple[ir.Scene | None, list[Diagnostic]]:
        """Errors are values: (scene, warnings) or (None, diagnostics). Never raises.

        One Deadline(budgets.time_limit) is made per call unless one is passed (E412 past it)."""
        if self.checked is None or not self.ok:
            return None, list(self.diagnostics)
        budgets = budgets or self.budgets
        deadline = deadline or Deadline(budgets.time_limit)
        if params is not None and not isinstance(params, dict):
            return None, [
                Diagnostic(
                    "E205",
                    f"params must be a dict of name -> value, got {type(params).__name__}",
                    Span(1, 1, 1, 2, self.file),
                )
            ]
        try:
            scene, diags = evaluate(self.checked, seed, budgets, params, deadline=deadline)
            if scene is not None and deadline.expired():  # also when the evaluator never polled it
                deadline.check("evaluating the program")
            return scene, diags
        except RuntimeFault as f:
            return None, [_fault(f, self.file)]
        except Exception as e:
            return None, [_internal(e, "evaluating the program", self.file)]

    def scene(
        self,
        seed: int = 0,
        params: dict | None = None,
        size: tuple[int, int] | None = None,
        deadline: Deadline | None = None,
    ) -> ir.Scene:
        """The scene IR for a seed; raises DiagnosticsError with the diagnostics on failure (and nothing else)."""
        scene, diags = self.evaluate(seed, params, deadline=deadline)
        if scene is None:
            raise DiagnosticsError(diags, self.source)
        return fit(scene, size, self.budgets) if size is not None else scene

    def render(
        self,
        seed: int = 0,
        size: tuple[int, int] | None = None,
        scale: float = 1.0,
        params: dict | None = None,
        deadline: Deadline | None = None,
    ) -> np.ndarray:
        """An HxWx4 uint8 RGBA array; raises DiagnosticsError on failure (and nothing else)."""
        deadline = deadline or Deadline(self.budgets.time_limit)
        scene = self.scene(seed, params, size, deadline)
        return render_scene(scene, "array", scale, self.budgets, deadline, self)[0]

    def render_bytes(
        self,
        fmt: str = "png",
        seed: int = 0,
        size: tuple[int, int] | None = None,
        scale: float = 1.0,
        params: dict | None = None,
        deadline: Deadline | None = None,
    ) -> tuple[bytes, list[Diagnostic]]:
        """Encoded bytes in fmt (png, jpeg/jpg, webp, svg, pdf) and the backend's warnings.
        Raises DiagnosticsError on failure, and ValueError only for an unknown fmt."""
        _check_format(fmt)
        deadline = deadline or Deadline(self.budgets.time_limit)
        scene = self.scene(seed, params, size, deadline)
        return render_scene(scene, fmt, scale, self.budgets, deadline, self)


def _check_format(fmt) -> str:
    from .backends import FORMATS

    f = fmt.lower().lstrip(".") if isinstance(fmt, str) else None
    if f not in FORMATS and f != "array":
        raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return f


def render_scene(
    scene: ir.Scene,
    fmt: str = "array",
    scale: float = 1.0,
    budgets: Budgets = DEFAULT,
    deadline: Deadline | None = None,
    prog: Program | None = None,
):
    """Draw a scene: ("array" → an HxWx4 uint8 array, or png/jpeg/webp/svg/pdf → bytes, warnings).
    Raises DiagnosticsError for a bad scale, an output over the budgets, the deadline, or a backend failure."""
    from .backends import render_array, render_bytes

    f = _check_format(fmt)
    deadline = deadline or Deadline(budgets.time_limit)
    _check_output(scene, scale, budgets)
    if f == "array":
        return _guard(lambda: render_array(scene, scale, budgets=budgets, deadline=deadline), deadline, prog), []
    data, warnings = _guard(lambda: render_bytes(scene, f, scale, budgets=budgets, deadline=deadline), deadline, prog)
    return data, (new_only(warnings, prog.diagnostics) if prog is not None else warnings)


def _guard(draw, deadline: Deadline, prog: Program | None):
    """Run a backend call: its faults and unexpected exceptions become DiagnosticsError; the deadline is
    checked after it (backends that take `deadline=` also poll it between draw calls)."""
    try:
        out = draw()
        deadline.check("rendering")
        return out
    except DiagnosticsError:
        raise
    except RuntimeFault as f:
        raise DiagnosticsError([_fault(f, prog.file if prog else "<input>")], prog.source if prog else None) from None
    except Exception as e:
        raise DiagnosticsError(
            [_internal(e, "rendering", prog.file if prog else "<input>")], prog.source if prog else None
        ) from None


def _check_output(scene: ir.Scene, scale, budgets: Budgets) -> None:
    """E301 for a scale that is not a positive finite number, E407 for an output over the canvas budget."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
        raise DiagnosticsError([Diagnostic("E301", f"scale must be a positive finite number, got {scale!r}"[:200])])
    w, h = max(1, round(scene.width * scale)), max(1, round(scene.height * scale))
    _check_canvas(w, h, budgets)


def _check_canvas(w: int, h: int, budgets: Budgets) -> None:
    if w < 1 or h < 1 or w * h > budgets.canvas_pixels or max(w, h) > budgets.canvas_side:
        raise DiagnosticsError(
            [
                Diagnostic(
                    "E407",
                    f"output size {w}x{h} is over the canvas budget "
                    f"({budgets.canvas_pixels} pixels, {budgets.canvas_side} per side)",
                    hint="draw at a smaller size or scale",
                )
            ]
        )


def read_meta(source: str) -> dict[str, str]:
    """`// concept: parrot` style header lines at the top of a file → {"concept": "parrot"}."""
    meta: dict[str, str] = {}
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


def compile(
    source: str | bytes, file: str = "<input>", budgets: Budgets = DEFAULT, base_dir: str | os.PathLike | None = None
) -> Program:
    """Parse and check. Never raises for bad input: look at `.ok` and `.diagnostics`.

    base_dir enables `use "file.vd"` for files under that folder (off when None)."""
    file = file if isinstance(file, str) else str(file)
    if isinstance(source, (bytearray, memoryview)):
        source = bytes(source)
    if not isinstance(source, (str, bytes)):
        return Program(
            "",
            file,
            None,
            [
                Diagnostic(
                    "E108", f"the source must be str or bytes, got {type(source).__name__}", Span(1, 1, 1, 2, file)
                )
            ],
            budgets,
        )
    text = source if isinstance(source, str) else source.decode("utf-8", "replace")
    try:
        program, diags = parse(source, file, budgets)
        if program is None:
            return Program(text, file, None, sort_diagnostics(diags), budgets, read_meta(text))
        checked = check(program, None if base_dir is None else os.fspath(base_dir), budgets)
    except Exception as e:
        return Program(text, file, None, [_internal(e, "compiling", file)], budgets, read_meta(text))
    return Program(text, file, checked, checked.diagnostics, budgets, read_meta(text))


def compile_file(path: str | os.PathLike, budgets: Budgets = DEFAULT, allow_files: bool = False) -> Program:
    """Read and compile a file (never a FIFO, device or folder: those are E100 like a missing file)."""
    try:
        shown = os.fspath(path)
    except TypeError:
        shown = repr(path)
    shown = shown if isinstance(shown, str) else os.fsdecode(shown)
    try:
        p = Path(path)
        data = read_regular_file(p, max(budgets.source_bytes + 1, 1))
    except (OSError, ValueError, TypeError) as e:
        why = os_reason(e) if isinstance(e, (OSError, ValueError)) else "not a path"
        return Program(
            "", shown, None, [Diagnostic("E100", f"cannot read {shown[:300]}: {why}", Span(0, 0, 0, 0, shown))], budgets
        )
    return compile(data, shown, budgets, str(p.parent) if allow_files else None)


def fit(scene: ir.Scene, size: tuple[int, int], budgets: Budgets = DEFAULT) -> ir.Scene:
    """The scene scaled uniformly to fit size=(W, H), centred (letterboxed) on its background.

    Raises DiagnosticsError (E407) for a size that is not two positive integers within canvas_pixels and canvas_side."""
    try:
        w, h = size
        if isinstance(w, bool) or isinstance(h, bool) or w != int(w) or h != int(h):
            raise ValueError
        w, h = int(w), int(h)
    except (TypeError, ValueError, OverflowError):
        raise DiagnosticsError(
            [Diagnostic("E407", f"output size must be two whole numbers (width, height), got {size!r}"[:200])]
        ) from None
    _check_canvas(w, h, budgets)
    if (w, h) == (scene.width, scene.height):
        return scene
    s = min(w / scene.width, h / scene.height)
    dx, dy = (w - scene.width * s) / 2, (h - scene.height * s) / 2
    root = ir.Group((scene.root,), (s, 0.0, 0.0, s, dx, dy))
    return ir.Scene(w, h, scene.background, root)


def render(
    source: str | bytes,
    seed: int = 0,
    size: tuple[int, int] | None = None,
    scale: float = 1.0,
    params: dict | None = None,
    budgets: Budgets = DEFAULT,
) -> np.ndarray:
    """Compile and render in one call; raises DiagnosticsError when the program has errors (and nothing else).

    One Deadline(budgets.time_limit) covers the compile, the evaluation and the render."""
    deadline = Deadline(budgets.time_limit)
    prog = compile(source, budgets=budgets)
    if not prog.ok:
        raise DiagnosticsError(prog.diagnostics, prog.source)
    try:
        deadline.check("compiling")
    except RuntimeFault as f:
        raise DiagnosticsError([_fault(f)], prog.source) from None
    return prog.render(seed, size, scale, params, deadline)
