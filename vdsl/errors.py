"""The one error hierarchy: every error vdsl raises to its callers is a VdslError carrying its exit code."""

from __future__ import annotations

from collections.abc import Iterable


class VdslError(Exception):
    """Any vdsl error. `exit_code` is what the command line exits with; `diagnostics` may be empty."""

    exit_code = 1

    def __init__(self, message: str = "vdsl error"):
        super().__init__(message)
        self.message = message
        self.diagnostics: list = []


class UsageError(VdslError):
    """The request itself is wrong (bad option, missing input, an output folder already in use): exit 2."""

    exit_code = 2


class IncompleteRun(VdslError):
    """A run stopped before it finished (an endpoint that failed for good, a build that could not complete);
    what it wrote is consistent, and the message says how to resume: exit 1."""

    exit_code = 1


class Interrupted(VdslError):
    """Stopped on request (Ctrl-C, SIGTERM, a batch stopping); what was written is consistent: exit 130."""

    exit_code = 130


class DiagnosticsError(VdslError):
    """A program has errors; carries its diagnostics (already sorted) and its source: exit 1."""

    exit_code = 1

    def __init__(self, diagnostics: Iterable, source: str | None = None):
        from .diagnostics import Diagnostic, format_text

        diags = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__(format_text(diags, source) if diags else "vdsl error")
        self.diagnostics = diags
        self.source = source
