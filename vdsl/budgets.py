"""Budgets: the hard limits every compile and evaluation runs under, with documented defaults and caps."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Budgets:
    """Every limit is checked as the program runs; exceeding one is a diagnostic with its own code.

    Defaults suit one drawing; each may be raised up to its hard cap (see CAPS)."""

    source_bytes: int = 256 * 1024  # E400: size of the source text
    nesting_depth: int = 64  # E409: brackets/blocks/expression nesting in the source
    fuel: int = 1_000_000  # E401: evaluation steps (every expression and statement, and work: see Cost)
    call_depth: int = 32  # E402: nested calls of `def` functions
    loop_iterations: int = 100_000  # E403: iterations of all loops and comprehensions together
    primitives: int = 20_000  # E404: shapes drawn
    path_segments: int = 200_000  # E405: path segments over all paths, polylines and polygons
    text_chars: int = 10_000  # E406: characters of text drawn, all text() calls together
    canvas_pixels: int = 4096 * 4096  # E407: canvas width x height (and output size, after scaling)
    canvas_side: int = 16384  # E407: pixels per side of the canvas or output
    blur_radius: float = 200.0  # E408: radius of blur / shadow / glow
    collection_size: int = 100_000  # E410: length of any list or string built at run time
    render_work: int = 1_000_000_000  # E411: estimated render work of one image (units ~ ns of one core)
    time_limit: float = 10.0  # E412: wall-clock seconds for one compile + evaluate + render

    def clamp(self) -> "Budgets":
        """Return a copy with every value limited to its hard cap (and at least 1)."""
        return replace(
            self,
            **{
                f.name: type(getattr(self, f.name))(max(1, min(getattr(self, f.name), CAPS[f.name])))
                for f in fields(self)
            },
        )

    def with_overrides(self, **kw) -> "Budgets":
        unknown = set(kw) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown budget(s): {', '.join(sorted(unknown))}")
        return replace(self, **kw).clamp()


CAPS = {
    "source_bytes": 4 * 1024 * 1024,
    "nesting_depth": 200,
    "fuel": 100_000_000,
    "call_depth": 200,
    "loop_iterations": 10_000_000,
    "primitives": 1_000_000,
    "path_segments": 5_000_000,
    "text_chars": 1_000_000,
    "canvas_pixels": 8192 * 8192,
    "canvas_side": 16384,
    "blur_radius": 1000.0,
    "collection_size": 5_000_000,
    "render_work": 200_000_000_000,
    "time_limit": 3600.0,
}

DEFAULT = Budgets()
