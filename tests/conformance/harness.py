"""Data-driven test harness: files of small vdsl programs with their expected diagnostics inline.

A file holds programs separated by a line `---`.  An expectation is a comment on the line it
applies to:

    circle(center=(1, 2), radius=3)   //~ E202
    circle(center=(1, 2), radius=3)   //~ E202 did you mean `r`
    rect(10, 20)                      //~ E204 //~ E203

`//~^ CODE` applies to the line above (one `^` per line).  Text after the code must occur in the
diagnostic's message or hint (case-insensitive).  The exact set of (line, code) pairs produced by
compiling and evaluating the program (seed 0) must equal the expected set.  A program with no
error expectation must also evaluate and render to a non-blank image.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import vdsl
from vdsl.diagnostics import CODES, Diagnostic

_MARK = re.compile(r"^(\^*)\s*([EW]\d{3})\b\s*(.*?)\s*$")


@dataclass(frozen=True)
class Expect:
    line: int
    code: str
    text: str = ""      # substring of the message or hint ("" = any)


@dataclass
class Case:
    file: str
    index: int          # 0-based position of the program in its file
    first_line: int     # line in the file where the program starts (1-based)
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
            carets, code, text = m.groups()
            if code not in CODES:
                raise ValueError(f"unknown diagnostic code {code} on line {i}")
            out.append(Expect(i - len(carets), code, text))
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


def describe(diags: list[Diagnostic]) -> str:
    return "\n".join(f"  {d.span.line}:{d.span.col} {d.code} {d.message}" + (f"  (hint: {d.hint})" if d.hint else "")
                     for d in diags) or "  (none)"


def check_case(case: Case) -> None:
    """Assert that the case produces exactly its expected diagnostics (and renders when it should)."""
    prog, diags, scene = diagnose(case.source)
    where = f"{case.file}:{case.first_line} (program {case.index})"
    got = {(d.span.line, d.code) for d in diags}
    want = {(e.line, e.code) for e in case.expects}
    assert got == want, (f"{where}: diagnostics differ\n expected {sorted(want)}\n got {sorted(got)}\n"
                         f"{describe(diags)}")
    for e in case.expects:
        if e.text:
            texts = [f"{d.message} {d.hint or ''}".lower() for d in diags if (d.span.line, d.code) == (e.line, e.code)]
            assert any(e.text.lower() in t for t in texts), \
                f"{where}: no {e.code} on line {e.line} mentions {e.text!r}\n{describe(diags)}"
    for d in diags:
        assert d.span.line >= 1 and d.span.col >= 1, f"{where}: diagnostic without a span: {d}"
    if not case.expects_errors:
        assert scene is not None, f"{where}: expected a scene\n{describe(diags)}"
        img = prog.render(0)
        assert img.ndim == 3 and img.shape[2] == 4
        assert not np.all(img == img[0, 0]), f"{where}: the render is blank (one colour)"
