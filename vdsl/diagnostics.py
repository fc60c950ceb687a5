"""Diagnostics as values: a stable code, a span, a message and a hint; collected, sorted, printed."""

from __future__ import annotations

import json
from dataclasses import dataclass, asdict
from typing import NamedTuple
from collections.abc import Iterable


class Span(NamedTuple):
    """A source range: 1-based line/column of the start and the end (end exclusive)."""

    line: int = 1
    col: int = 1
    end_line: int = 1
    end_col: int = 1
    file: str = "<input>"

    @staticmethod
    def point(line: int, col: int, file: str = "<input>") -> "Span":
        return Span(line, col, line, col + 1, file)


NO_SPAN = Span(0, 0, 0, 0)

# Every diagnostic code vdsl can emit: code -> (name, one-line summary).
# Codes are stable: tests, the docs and tools key on them.  E1xx syntax,
# E2xx names and types, E3xx evaluation, E4xx budgets, W5xx backend warnings.
CODES: dict[str, tuple[str, str]] = {
    "E100": ("syntax", "the source does not parse"),
    "E101": ("unexpected-char", "a character that cannot start any token"),
    "E102": ("unexpected-token", "a token where the grammar does not allow it"),
    "E103": ("unexpected-eof", "the source ends in the middle of a construct"),
    "E104": ("unclosed-bracket", "a bracket or brace that is never closed"),
    "E105": ("bad-string", "an unterminated or malformed string literal"),
    "E106": ("bad-color", "a malformed hex colour literal"),
    "E107": ("python-comment", "`#` used as a comment; vdsl comments are // and /* */"),
    "E108": ("bad-encoding", "the source is not valid UTF-8 text"),
    "E200": ("unknown-name", "a name that is not defined"),
    "E201": ("unknown-function", "a call to a function that does not exist"),
    "E202": ("unknown-argument", "a keyword argument the function does not take"),
    "E203": ("missing-argument", "a required argument is missing"),
    "E204": ("too-many-positional", "more positional arguments than the function allows"),
    "E205": ("type-mismatch", "a value of the wrong type"),
    "E206": ("duplicate-argument", "the same argument given twice"),
    "E207": ("redefinition", "a name defined twice in the same scope"),
    "E208": ("unknown-module", "`use` of a module that does not exist"),
    "E209": ("block-not-allowed", "a `{ ... }` block after a call that takes none"),
    "E210": ("block-required", "a call that needs a `{ ... }` block"),
    "E211": ("bad-operator", "an operator applied to operands it does not accept"),
    "E212": ("unknown-type", "a type annotation that is not a vdsl type"),
    "E213": ("unknown-field", "a field that the value does not have"),
    "E214": ("misplaced-statement", "a statement where it is not allowed"),
    "E215": ("assign-immutable", "assignment to a name that cannot be reassigned"),
    "E216": ("unknown-color", "a colour name that vdsl does not know"),
    "E217": ("bad-enum", "a string argument outside the allowed choices"),
    "E218": ("forbidden-module-path", "`use` of a path outside the program's folder"),
    "E300": ("runtime", "an evaluation error"),
    "E301": ("bad-value", "a value outside the range an argument accepts"),
    "E302": ("index-out-of-range", "a list index outside the list"),
    "E303": ("division-by-zero", "division or modulo by zero"),
    "E304": ("bad-path-data", "malformed SVG path data"),
    "E305": ("non-finite", "a NaN or infinite number where a finite one is needed"),
    "E306": ("empty-choice", "choice() from an empty list"),
    "E400": ("budget-source-size", "the source is larger than the source-size budget"),
    "E401": ("budget-fuel", "evaluation took more steps than the fuel budget"),
    "E402": ("budget-call-depth", "calls nested deeper than the call-depth budget"),
    "E403": ("budget-loop", "a loop ran more iterations than the loop budget"),
    "E404": ("budget-primitives", "more shapes than the primitive budget"),
    "E405": ("budget-path-segments", "more path segments than the path budget"),
    "E406": ("budget-text", "more text than the text-length budget"),
    "E407": ("budget-canvas", "a canvas larger than the pixel budget"),
    "E408": ("budget-blur", "a blur, shadow or glow radius above the blur budget"),
    "E409": ("budget-nesting", "source nested deeper than the nesting budget"),
    "E410": ("budget-list", "a list or string longer than the collection budget"),
    "E411": ("budget-render-work", "the image would take more raster work than the render-work budget"),
    "E412": ("deadline", "compiling, evaluating or rendering ran past the time limit"),
    "E413": ("budget-memory", "compiling, evaluating or rendering needed more memory than the memory cap"),
    "W500": ("backend-approximation", "the output format cannot express an effect exactly"),
    "W501": ("unused-param", "a param that is never used"),
    "W502": ("percent-as-pixels", "a percentage (a fraction: 50% = 0.5) where pixels or 0-255 are expected"),
    "W504": ("radians-as-degrees", "`pi` in an angle: vdsl angles are degrees"),
    "W505": ("missing-glyph", "text with a character no bundled font has: it draws as a box"),
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span = NO_SPAN
    hint: str | None = None

    @property
    def severity(self) -> str:
        return "warning" if self.code.startswith("W") else "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def sort_key(self):
        return (self.span.file, self.span.line, self.span.col, self.code, self.message)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["span"] = self.span._asdict()
        d["severity"] = self.severity
        d["name"] = CODES.get(self.code, ("", ""))[0]
        return d

    def compact(self) -> str:
        """One line, for the LLM repair prompt: `line:col code message (hint)`."""
        s = f"{self.span.line}:{self.span.col} {self.severity} {self.code}: {self.message}"
        return s + (f" (hint: {self.hint})" if self.hint else "")


def range_message(param, fname: str, shown: str) -> str:
    """The message for a number outside a parameter's range (checker and evaluator say the same)."""
    lo = "-inf" if param.min is None else f"{param.min:g}"
    hi = "inf" if param.max is None else f"{param.max:g}"
    whole = "a whole number " if getattr(param, "integer", False) else ""
    if whole and param.min is None and param.max is None:
        return f"`{param.name}` of `{fname}` must be a whole number, got {shown}"
    return f"`{param.name}` of `{fname}` must be {whole}in {lo}..{hi}, got {shown}"


def range_hint(param) -> str:
    """The hint for a number outside a parameter's range (checker and evaluator say the same)."""
    unit = f" ({param.unit})" if getattr(param, "unit", "") else ""
    if getattr(param, "integer", False):
        lo = "" if param.min is None else f", at least {param.min:g}"
        hi = "" if param.max is None else f", at most {param.max:g}"
        return f"`{param.name}` is a whole number{lo}{hi}"
    if param.min is None and param.max is None:
        return f"`{param.name}` must be a finite number"
    if (param.min, param.max) == (0, 1):
        if unit:
            return f"`{param.name}` goes from 0 to 1{unit}: half is 0.5 (or 50%)"
        return f"`{param.name}` goes from 0 to 1: half is 0.5 (or 50%)"
    if param.max is None:
        return f"`{param.name}` cannot be less than {param.min:g}{unit}"
    if param.min is None:
        return f"`{param.name}` cannot be more than {param.max:g}{unit}"
    return f"use a value from {param.min:g} to {param.max:g}{unit}"


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diags)


def sort_diagnostics(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in sorted(diags, key=Diagnostic.sort_key):
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def format_text(diags: Iterable[Diagnostic], source: str | None = None, color: bool = False) -> str:
    """rustc-style: `error[E202]: message`, ` --> file:line:col`, the source line and a caret."""
    lines = source.splitlines() if source is not None else []
    out = []
    for d in diags:
        sev = d.severity
        head = f"{sev}[{d.code}]: {d.message}"
        if color:
            head = ("\x1b[1;31m" if sev == "error" else "\x1b[1;33m") + head + "\x1b[0m"
        out.append(head)
        sp = d.span
        if sp.line > 0:
            out.append(f"  --> {sp.file}:{sp.line}:{sp.col}")
            if 0 < sp.line <= len(lines):
                text = lines[sp.line - 1]
                shown = text[:200].expandtabs(1)
                width = max(1, (sp.end_col - sp.col) if sp.end_line == sp.line else len(text) - sp.col + 1)
                width = min(width, max(1, len(shown) - sp.col + 1)) if sp.col <= len(shown) else 1
                gutter = " " * len(str(sp.line))
                out.append(f"{gutter} |")
                out.append(f"{sp.line} | {shown}")
                out.append(f"{gutter} | " + " " * (min(sp.col, len(shown) + 1) - 1) + "^" * width)
        if d.hint:
            out.append(f"  = hint: {d.hint}")
        out.append("")
    return "\n".join(out)


def format_json(diags: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diags], indent=2)


def format_compact(diags: Iterable[Diagnostic]) -> str:
    return "\n".join(d.compact() for d in diags)


def new_only(diags: list[Diagnostic], seen: list[Diagnostic]) -> list[Diagnostic]:
    """diags without those that repeat (same code and message) one in `seen`: a render's warning that
    the checker already gave, with its span, for a constant."""
    known = {(d.code, d.message) for d in seen}
    return [d for d in diags if (d.code, d.message) not in known]
