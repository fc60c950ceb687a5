"""vdsl: a small, safe, typed drawing language for language models, compiled to Skia."""

from .api import Program, compile, compile_file, fit, render
from .budgets import Budgets
from .diagnostics import Diagnostic, Span
from .errors import DiagnosticsError, IncompleteRun, Interrupted, UsageError, VdslError
from .version import __version__

__all__ = [
    "Budgets",
    "Diagnostic",
    "DiagnosticsError",
    "IncompleteRun",
    "Interrupted",
    "Program",
    "Span",
    "UsageError",
    "VdslError",
    "compile",
    "compile_file",
    "fit",
    "render",
    "__version__",
]
