"""Data-driven test harness: files of small vdsl programs with their expected diagnostics inline.

A file holds programs separated by a line `---`.  An expectation is a comment on the line it
applies to:

    circle(center=(1, 2), radius=3)   //~ E202
    circle(center=(1, 2), radius=3)   //~ E202 did you mean `r`
    rect(10, 20)                      //~ E204 //~ E203

`//~^ CODE` applies to the line above (one `^` per line).  `@COL-ENDCOL` after the code pins the
span's first and end column on that line (`@COL-LINE:ENDCOL` for a span that ends on a later line);
every expectation in the suite carries one.  Text after that must occur in the diagnostic's message
or hint (case-insensitive).  The exact multiset of (line, col, end, code) produced by compiling and
evaluating the program (seed 0) must equal the expected one.  A program with no error expectation
must also evaluate and render to a non-blank image.

`python tests/conformance/harness.py --bless` writes the spans the compiler gives now into every
expectation (review the diff: it is the test).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import vdsl
from vdsl.diagnostics import CODES, Diagnostic

_MARK = re.compile(r"^(\^*)\s*([EW]\d{3})\b(?:\s*@(\d+)-(?:(\d+):)?(\d+))?\s*(.*?)\s*$")


@dataclass(frozen=True)
class Expect:
    line: int
    code: str
    text: str = ""  # substring of the message or hint ("" = any)
    span: tuple[int, int, int] | None = None  # (col, end_line, end_col), when pinned

    def key(self) -> tuple:
        return (self.line, self.code) + (self.span or ())


@dataclass
class Case:
    file: str
    index: int  # 0-based position of the program in its file
    first_line: int  # line in the file where the program starts (1-based)
    source: str
    expects: list[Expect] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{Path(self.file).stem}-{self.index}"

    @property
    def expects_errors(self) -> bool:
        return any(e.code.startswith("E") for e in self.expects)


def parse_expectations(source: str) -> list[Expect]:
    out = []
    for i, line in enumerate(source.split("\n"), start=1):
        if "//~" not in line:
            continue
        for part in line.split("//~")[1:]:
            m = _MARK.match(part)
            if m is None:
                raise ValueError(f"bad expectation on line {i}: //~{part!r}")
            carets, code, col, end_line, end_col, text = m.groups()
            if code not in CODES:
                raise ValueError(f"unknown diagnostic code {code} on line {i}")
            line = i - len(carets)
            span = None if col is None else (int(col), int(end_line) if end_line else line, int(end_col))
            out.append(Expect(line, code, text, span))
    return out


def load_cases(path: str | Path) -> list[Case]:
    text = Path(path).read_text(encoding="utf-8")
    cases, chunk, start = [], [], 1
    lines = text.split("\n")
    for n, line in enumerate(lines + ["---"], start=1):
        if line.strip() == "---":
            src = "\n".join(chunk)
            if src.strip():
                cases.append(Case(str(path), len(cases), start, src + "\n", parse_expectations(src)))
            chunk, start = [], n + 1
        else:
            chunk.append(line)
    return cases


def load_dir(folder: str | Path) -> list[Case]:
    out = []
    for p in sorted(Path(folder).glob("*.vd")):
        out.extend(load_cases(p))
    return out


def diagnose(source: str, seed: int = 0) -> tuple[vdsl.Program, list[Diagnostic], object]:
    """Compile + evaluate: (program, every diagnostic, scene or None)."""
    prog = vdsl.compile(source, "<case>")
    diags = list(prog.diagnostics)
    scene = None
    if prog.ok:
        scene, rdiags = prog.evaluate(seed)
        diags += rdiags
    return prog, diags, scene


def _key(d: Diagnostic, pinned: bool = True) -> tuple:
    sp = d.span
    return (sp.line, d.code) + ((sp.col, sp.end_line, sp.end_col) if pinned else ())


def describe(diags: list[Diagnostic]) -> str:
    return (
        "\n".join(
            f"  {d.span.line}:{d.span.col} {d.code} {d.message}" + (f"  (hint: {d.hint})" if d.hint else "")
            for d in diags
        )
        or "  (none)"
    )


def check_case(case: Case) -> None:
    """Assert that the case produces exactly its expected diagnostics (and renders when it should)."""
    prog, diags, scene = diagnose(case.source)
    where = f"{case.file}:{case.first_line} (program {case.index})"
    pinned = any(e.span for e in case.expects)
    if pinned:  # spans pinned: every diagnostic counts (a multiset)
        got, want = sorted(_key(d) for d in diags), sorted(e.key() for e in case.expects)
    else:  # (line, code) only: a set, as the mistake corpus states it
        got, want = sorted({_key(d, pinned=False) for d in diags}), sorted({e.key() for e in case.expects})
    assert got == want, (
        f"{where}: diagnostics differ (line, code, col, end line, end col)\n expected {want}\n"
        f" got {got}\n{describe(diags)}"
    )
    for e in case.expects:
        if e.text:
            texts = [f"{d.message} {d.hint or ''}".lower() for d in diags if (d.span.line, d.code) == (e.line, e.code)]
            assert any(e.text.lower() in t for t in texts), (
                f"{where}: no {e.code} on line {e.line} mentions {e.text!r}\n{describe(diags)}"
            )
    for d in diags:
        assert d.span.line >= 1 and d.span.col >= 1, f"{where}: diagnostic without a span: {d}"
    if not case.expects_errors:
        assert scene is not None, f"{where}: expected a scene\n{describe(diags)}"
        img = prog.render(0)
        assert img.ndim == 3 and img.shape[2] == 4
        assert not np.all(img == img[0, 0]), f"{where}: the render is blank (one colour)"


def _span_text(line: int, col: int, end_line: int, end_col: int) -> str:
    return f"@{col}-{end_col}" if end_line == line else f"@{col}-{end_line}:{end_col}"


def bless(path: str | Path) -> int:
    """Rewrite a conformance file so every expectation pins the span the compiler gives now; returns
    how many expectations changed. Expectations must already match by (line, code)."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    changed = 0
    for case in load_cases(path):
        _, diags, _ = diagnose(case.source)
        spans: dict[tuple, list] = {}
        for d in sorted(diags, key=lambda d: (d.span.col, d.span.end_line, d.span.end_col)):
            spans.setdefault((d.span.line, d.code), []).append(d.span)
        for i in range(case.source.count("\n")):
            n = case.first_line - 1 + i
            if "//~" not in lines[n]:
                continue
            head, *parts = lines[n].split("//~")
            out = []
            for part in parts:
                m = _MARK.match(part)
                carets, code, text = m.group(1), m.group(2), m.group(6)
                line = i + 1 - len(carets)
                todo = spans.get((line, code)) or []
                if not todo:
                    raise ValueError(f"{path}:{n + 1}: no {code} on line {line} to pin")
                sp = todo.pop(0)
                new = f" {carets}{code} {_span_text(sp.line, sp.col, sp.end_line, sp.end_col)}" + (
                    f" {text}" if text else ""
                )
                changed += new.rstrip() != part.rstrip()
                out.append(new + (" " if part.endswith(" ") and part is not parts[-1] else ""))
                while todo and not any(
                    _MARK.match(p) and _MARK.match(p).group(2) == code for p in parts[parts.index(part) + 1 :]
                ):
                    sp = todo.pop(0)  # a second diagnostic with the same code on this line
                    out.append(f" {carets}{code} {_span_text(sp.line, sp.col, sp.end_line, sp.end_col)} ")
                    changed += 1
            lines[n] = head + "//~" + "//~".join(o if o is out[-1] else o.rstrip() + " " for o in out)
    path.write_text("\n".join(lines), encoding="utf-8")
    return changed


if __name__ == "__main__":  # python tests/conformance/harness.py --bless
    import sys

    if sys.argv[1:] != ["--bless"]:
        raise SystemExit("usage: python tests/conformance/harness.py --bless")
    for f in sorted(Path(__file__).parent.glob("*.vd")):
        print(f"{f.name}: {bless(f)} expectation(s) pinned")
