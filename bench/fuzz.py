"""Fuzz vdsl end to end: grammar-walk, builtin-aware and mutation generators, each case in a sandboxed child.

    python bench/fuzz.py --minutes 60 --seed 1 --out /tmp/fuzz1       # an hour, findings under /tmp/fuzz1
    python bench/fuzz.py --cases 200 --seed 2 --out /tmp/f --no-minimize

A case is compiled, evaluated (seed 0) and rendered to PNG as `vdsl render` would, then formatted with
`vdsl fmt` and the formatted text compiled and evaluated again. A finding is a case that
  * raises a Python exception (anything but diagnostics or an image)      kind `exception`
  * runs out of memory (MemoryError, or a crash under RLIMIT_AS)            kind `memory` / `crash`
  * runs past the time limit (its stack is dumped by faulthandler first)   kind `timeout`
  * changes meaning under the formatter: the formatted text does not parse, or evaluates to another
    scene IR / other diagnostics, or formatting it again changes it       kind `format`
Findings are grouped by a signature (kind, exception type, innermost vdsl frame), the first case of each is
minimised by delta debugging (lines, then tokens) and saved as OUT/findings/<kind>-<n>.vd with a header
saying what happened; OUT/summary.json and OUT/summary.md count cases and findings by kind.
"""

from __future__ import annotations

import argparse
import faulthandler
import hashlib
import json
import math
import os
import random
import re
import resource
import select
import signal
import sys
import time
import traceback
from pathlib import Path
import contextlib

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # this tree's vdsl, not whichever one is installed
    sys.path.insert(0, str(ROOT))

GIB = 1 << 30

# ---------------------------------------------------------------------------------------------------------
# running one case
_VDSL_FRAME = re.compile(r'File "([^"]*vdsl[/\\][^"]*)", line (\d+) in (\w+)')


def _innermost_vdsl(frames: list[tuple[str, int, str]]) -> str:
    """`module.py:function` of the innermost frame inside the vdsl package ('?' when none)."""
    for file, _line, fn in reversed(frames):
        parts = Path(file).parts
        if "vdsl" in parts:
            rel = "/".join(parts[len(parts) - parts[::-1].index("vdsl") - 1 :])
            return f"{rel}:{fn}"
    return "?"


def check_case(source: str) -> dict:
    """Runs inside the child: compile → evaluate → PNG, then the formatter round trip.

    Returns {"outcome": "image"|"diag"|"exception"|"format", "codes", "sig", "detail"}."""
    import vdsl
    from vdsl.backends import render_bytes
    from vdsl.errors import DiagnosticsError
    from vdsl.format import format_source

    stage = "compile"

    def mark(s):
        nonlocal stage
        stage = s
        os.write(_STAGE_FD, f"stage:{s}\n".encode()) if _STAGE_FD is not None else None

    def meaning(p):
        """What a compiled program means: its scene IR as JSON, or its error codes."""
        if not p.ok:
            return ("diag", tuple(sorted({d.code for d in p.diagnostics if d.is_error})))
        scene, diags = p.evaluate(0)
        if scene is None:
            return ("diag", tuple(sorted({d.code for d in diags if d.is_error})))
        return ("scene", scene.to_json())

    try:
        mark("compile")
        p = vdsl.compile(source)
        out = {"outcome": "diag", "codes": sorted({d.code for d in p.diagnostics if d.is_error}), "detail": ""}
        scene = None
        if p.ok:
            mark("evaluate")
            scene, diags = p.evaluate(0)
            if scene is None:
                out["codes"] = sorted({d.code for d in diags if d.is_error})
            else:
                mark("render")
                try:
                    _, warns = render_bytes(scene, "png")
                    errs = sorted({d.code for d in warns if d.is_error})
                    out = (
                        {"outcome": "diag", "codes": errs, "detail": ""}
                        if errs
                        else {"outcome": "image", "codes": [], "detail": ""}
                    )
                except DiagnosticsError as e:
                    out["codes"] = sorted({d.code for d in e.diagnostics if d.is_error})
        mark("format")
        text, _ = format_source(source)
        if text is not None:
            mark("format-evaluate")
            before = ("scene", scene.to_json()) if scene is not None else meaning(p)
            mark("format-compile")
            p2 = vdsl.compile(text)
            if p.ok and not p2.ok and any(d.code.startswith("E1") for d in p2.diagnostics):
                return {
                    "outcome": "format",
                    "sig": "format:unparsable",
                    "formatted": text[:20000],
                    "detail": "the formatted text does not parse: " + p2.diagnostics[0].compact()[:200],
                }
            mark("format-evaluate")
            after = meaning(p2)
            if after != before:
                what = (
                    f"{before[0]} {before[1] if before[0] == 'diag' else ''} → {after[0]} "
                    f"{after[1] if after[0] == 'diag' else ''}"
                )
                return {
                    "outcome": "format",
                    "sig": f"format:meaning:{before[0]}->{after[0]}",
                    "formatted": text[:20000],
                    "detail": f"formatting changes the meaning: {what}",
                }
            mark("format")
            again, _ = format_source(text)
            if again != text:
                return {
                    "outcome": "format",
                    "sig": "format:not-idempotent",
                    "formatted": text[:20000],
                    "detail": "fmt(fmt(x)) != fmt(x)",
                }
        return out
    except BaseException as e:
        frames = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(e.__traceback__)]
        kind = "memory" if isinstance(e, MemoryError) else "exception"
        where = _innermost_vdsl(frames)
        return {
            "outcome": kind,
            "sig": f"{kind}:{type(e).__name__}:{stage}:{where}",
            "detail": f"{type(e).__name__} in {stage} at {where}: {str(e)[:200]}",
            "trace": "".join(traceback.format_exception(e))[-3000:],
        }


_STAGE_FD: int | None = None


def run_case(
    source: str, timeout: float = 5.0, mem_bytes: int = 2 * GIB, cpu: int | None = None, wall_factor: float = 6.0
) -> dict:
    """check_case(source) in a forked child pinned to `cpu` under RLIMIT_AS=mem_bytes, stopped after
    `timeout` seconds of CPU time (RLIMIT_CPU; a shared machine's load does not count) or wall_factor times
    that in wall time.

    The child reports its stage as it goes and faulthandler dumps its stack on SIGXCPU (one second
    before the kernel's SIGKILL), so a timeout says where it was stuck."""
    global _STAGE_FD
    r, w = os.pipe()
    sr, sw = os.pipe()  # stage lines + faulthandler's stack dump
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            os.close(sr)
            os.setpgid(0, 0)
            _STAGE_FD = sw
            if cpu is not None and hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, {cpu})
            resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
            soft = max(1, math.ceil(timeout))
            resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
            faulthandler.register(signal.SIGXCPU, file=sw, all_threads=False)
            faulthandler.dump_traceback_later(timeout * wall_factor - 0.5, exit=False, file=sw)
            try:
                res = check_case(source)
            except BaseException as e:
                res = {"outcome": "exception", "sig": f"exception:{type(e).__name__}:harness", "detail": str(e)}
            faulthandler.cancel_dump_traceback_later()
            try:
                data = json.dumps(res).encode()
            except BaseException:
                data = b'{"outcome": "memory", "sig": "memory:encode", "detail": "could not encode the result"}'
            while data:
                data = data[os.write(w, data) :]
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    os.close(w)
    os.close(sw)
    chunks, side, killed = [], [], False
    open_fds = {r, sr}
    try:
        while r in open_fds:
            left = timeout * wall_factor - (time.monotonic() - t0)
            if left <= 0:
                killed = True
                break
            ready, _, _ = select.select(list(open_fds), [], [], left)
            for fd in ready:
                b = os.read(fd, 1 << 16)
                if not b:
                    open_fds.discard(fd)
                else:
                    (chunks if fd == r else side).append(b)
    finally:
        if killed:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        _, status, ru = os.wait4(pid, 0)
        if sr in open_fds:  # whatever faulthandler managed to write
            os.set_blocking(sr, False)
            try:
                while True:
                    b = os.read(sr, 1 << 16)
                    if not b:
                        break
                    side.append(b)
            except BlockingIOError:
                pass
        os.close(r)
        os.close(sr)
    wall = time.monotonic() - t0
    text = b"".join(side).decode("utf-8", "replace")
    stages = re.findall(r"^stage:(\S+)", text, re.M)
    stage = stages[-1] if stages else "start"
    rss = ru.ru_maxrss / 1024
    cpu_s = ru.ru_utime + ru.ru_stime
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    if (
        not killed
        and not chunks
        and sig in (signal.SIGKILL, signal.SIGXCPU)
        and cpu_s >= 0.9 * max(1, math.ceil(timeout))
    ):
        killed = True  # the kernel stopped it at the CPU limit
    if killed:
        frames = [(f, int(ln), fn) for f, ln, fn in _VDSL_FRAME.findall(text)][::-1]  # dump is innermost-first
        where = _innermost_vdsl(frames)
        return {
            "outcome": "timeout",
            "sig": timeout_sig(stage, where),
            "wall": wall,
            "rss_mb": rss,
            "cpu_s": cpu_s,
            "detail": f"no answer in {timeout:g} s of CPU time (stage {stage}, at {where})",
            "trace": text[-3000:],
        }
    try:
        res = json.loads(b"".join(chunks))
    except ValueError:
        kind = "memory" if rss > mem_bytes / 2**20 * 0.5 else "crash"
        res = {
            "outcome": kind,
            "sig": f"{kind}:{stage}:signal {sig}",
            "detail": f"the child died in stage {stage} ({f'signal {sig}' if sig else f'exit {os.WEXITSTATUS(status)}'})"
            f", peak RSS {rss:.0f} MiB",
        }
    res["wall"], res["rss_mb"], res["cpu_s"] = wall, rss, cpu_s
    return res


def timeout_sig(stage: str, where: str) -> str:
    """Timeouts grouped by cause: a slow interpreter loop is one finding wherever it was stopped, a slow
    builtin, lexer, renderer or formatter is one per function."""
    stage = stage.replace("format-", "")
    if stage == "evaluate" and where.startswith(("vdsl/evaluate.py", "vdsl/check.py")):
        where = "interpreter"
    return f"timeout:{stage}:{where}"


FINDING_KINDS = ("exception", "memory", "crash", "timeout", "format")


def is_finding(res: dict) -> bool:
    return res["outcome"] in FINDING_KINDS


# ---------------------------------------------------------------------------------------------------------
# generator 1: walk the Lark grammar
class GrammarGen:
    """Random sentences of grammar/vdsl.lark: expand rules at random, taking the shortest expansion once
    deep; terminals are sampled from names vdsl knows and from extreme literals."""

    def __init__(self, rng: random.Random):
        import lark
        from vdsl.builtins import CONSTANTS, TABLE

        self.rng = rng
        g = lark.Lark((ROOT / "grammar" / "vdsl.lark").read_text(), parser="lalr", maybe_placeholders=False)
        self.rules: dict[str, list[list]] = {}
        for r in g.rules:
            self.rules.setdefault(r.origin.name, []).append(r.expansion)
        self.terms = {t.name: t.pattern for t in g.terminals}
        self.names = (
            list(TABLE)
            + list(CONSTANTS)[:20]
            + ["x", "y", "i", "f", "xs", "a", "b", "number", "list", "point", "color", "string", "bool", "paint"]
        )
        self.min_depth = self._min_depths()

    def _min_depths(self) -> dict[str, int]:
        inf = 10**9
        d = {k: inf for k in self.rules}
        changed = True
        while changed:
            changed = False
            for k, exps in self.rules.items():
                for e in exps:
                    v = 1 + max([d.get(s.name, 0) if not s.is_term else 0 for s in e] or [0])
                    if v < d[k]:
                        d[k], changed = v, True
        return d

    def terminal(self, name: str) -> str:
        rng = self.rng
        if name == "NAME":
            return rng.choice(self.names) if rng.random() < 0.9 else "v" * rng.choice([1, 2, 300])
        if name == "NUMBER":
            return rng.choice(EXTREME_NUMBERS + ["0", "1", "2", "10", "100", "0.5", str(rng.randint(0, 600))])
        if name == "PERCENT":
            return rng.choice(["0%", "50%", "100%", "1e3%", "99999%"]).replace("1e3%", "1000%")
        if name == "STRING":
            return rng.choice(
                [
                    '""',
                    '"a"',
                    '"M 0 0 L 10 10"',
                    '"red"',
                    '"\\n"',
                    '"\\u{1F600}"',
                    '"' + "x" * rng.choice([10, 1000]) + '"',
                    "'#fff'",
                    '"multiply"',
                ]
            )
        if name == "COLOR":
            return rng.choice(["#fff", "#000000", "#12345678", "#abc", "#1", "#123456789"])
        if name in ("OR", "AND", "NOT"):
            return rng.choice({"OR": ["or", "||"], "AND": ["and", "&&"], "NOT": ["not", "!"]}[name])
        if name == "ASSIGN_OP":
            return rng.choice(["=", "+=", "-=", "*=", "/="])
        if name == "CMP_OP":
            return rng.choice(["==", "!=", "<=", ">=", "<", ">"])
        if name == "ADD_OP":
            return rng.choice("+-")
        if name == "MUL_OP":
            return rng.choice("*/%")
        if name == "COMMENT":
            return rng.choice(["// c\n", "/* c */"])
        p = self.terms[name]
        if p.type == "str":
            return p.value
        return {"POW": "**", "__ANON_0": "->", "_ELSE": "else", "TRUE": "true", "FALSE": "false"}.get(
            name, p.value.replace("\\", "")
        )

    def generate(self, max_depth: int = 12, max_tokens: int = 600) -> str:
        out: list[str] = []
        stack: list[tuple[str, int, bool]] = [("start", 0, False)]
        while stack:
            sym, depth, is_term = stack.pop()
            if is_term:
                out.append(self.terminal(sym))
                continue
            exps = self.rules[sym]
            if depth >= max_depth or len(out) > max_tokens:
                best = min(self.min_depth.get(sym, 0), 10**9)
                exps = [
                    e
                    for e in exps
                    if 1 + max([self.min_depth.get(s.name, 0) if not s.is_term else 0 for s in e] or [0]) <= best
                ] or exps
            e = self.rng.choice(exps)
            for s in reversed(e):
                stack.append((s.name, depth + 1, s.is_term))
        return " ".join(out) + "\n"


EXTREME_NUMBERS = [
    "0",
    "1e308",
    "1e-308",
    "5e-324",
    "1e309",
    "1e15",
    "4096",
    "16384",
    "65536",
    "1e9",
    "200",
    "2000",
    "99999",
    "100001",
    "0.000001",
    "1" * 40,
    "9" * 400,
    "255",
    "360",
    "0.0",
]


# ---------------------------------------------------------------------------------------------------------
# generator 2: well-typed calls of the builtin table with extreme values
class BuiltinGen:
    """Programs of well-typed builtin calls (from vdsl.builtins.TABLE) with extreme arguments, loops,
    defs, and nested effect blocks."""

    def __init__(self, rng: random.Random):
        from vdsl.builtins import TABLE

        self.rng = rng
        self.table = {k: b for k, b in TABLE.items() if not b.aliases_of}
        self.by_ret: dict[str, list] = {}
        for b in self.table.values():
            if not callable(b.returns):
                self.by_ret.setdefault(str(b.returns), []).append(b)
        self.shapes = [b for b in self.table.values() if b.category == "shapes"]
        self.blocks = [b for b in self.table.values() if b.block]

    def number(self, depth: int = 0) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return rng.choice(EXTREME_NUMBERS[:16] + ["-1", "-1e308", "0.5", "3", "512", "-4096"])
        if r < 0.6:
            return str(round(rng.uniform(-10, 600), rng.choice([0, 2])))
        if r < 0.7 and depth < 3:
            return f"({self.number(depth + 1)} {rng.choice(['+', '-', '*', '/', '%', '**'])} {self.number(depth + 1)})"
        if r < 0.8 and depth < 3:
            b = rng.choice(self.by_ret.get("number", []))
            return self.call(b, depth + 1)
        return rng.choice(["i", "n", "1", "0", "len(xs)", "rand(0, 512)"])

    def value(self, t, depth: int) -> str:
        rng = self.rng
        name = t.name
        if name == "union":
            return self.value(rng.choice(t.options), depth)
        if name == "number" or name == "any":
            return self.number(depth)
        if name == "bool":
            return rng.choice(["true", "false", "chance(0.5)", "i > 3"])
        if name == "string":
            return rng.choice(
                [
                    '""',
                    '"hello"',
                    '"' + "W" * rng.choice([1, 100, 5000]) + '"',
                    '"M 0 0 L 100 100 Z"',
                    '"M 0 0 A 1e300 1e300 0 1 1 5 5"',
                    "str(xs)",
                    'join(xs, ",")',
                    '"\\u{1F600}"',
                ]
            )
        if name == "color":
            if depth < 3 and rng.random() < 0.3:
                return self.call(rng.choice(self.by_ret.get("color", [])), depth + 1)
            return rng.choice(["red", "#00000000", "#123", "none", "rgb(300, -5, 1e9)", "hsl(1e308, 2, -1)"])
        if name == "point":
            return f"({self.number(depth + 1)}, {self.number(depth + 1)})"
        if name == "paint":
            if depth < 3 and rng.random() < 0.6:
                return self.call(rng.choice(self.by_ret.get("paint", [])), depth + 1)
            return self.value(_T.COLOR, depth)
        if name == "list":
            n = rng.choice([0, 1, 2, 3, 70, 1000, 100000])
            et = t.elem or _T.NUMBER
            if n <= 3:
                return "[" + ", ".join(self.value(et, depth + 1) for _ in range(n)) + "]"
            item = self.value(et, depth + 2) if et.name != "number" else rng.choice(["i", "i * 0.001", "1e308"])
            tail = rng.choice(["", "", " + [5]", ' + ["x"]', " + [(1, 2)]"])
            return f"[{item} for i in range({n})]{tail}"
        return self.number(depth)

    def call(self, b, depth: int = 0, kw: bool = True) -> str:
        rng = self.rng
        if b.variadic is not None:
            return f"{b.name}(" + ", ".join(self.value(b.variadic, depth + 1) for _ in range(rng.randint(1, 9))) + ")"
        args = []
        for i, p in enumerate(b.params):
            if not p.required and rng.random() < 0.6:
                continue
            v = rng.choice(p.choices) if p.choices and rng.random() < 0.9 else None
            v = f'"{v}"' if v is not None else self.value(p.type, depth + 1)
            args.append(v if (b.positional > i and not kw) else f"{p.name}={v}")
        return f"{b.name}(" + ", ".join(args) + ")"

    def stmts(self, depth: int, n: int) -> list[str]:
        rng = self.rng
        out = []
        for _ in range(n):
            r = rng.random()
            if r < 0.45 or depth > 6:
                out.append(self.call(rng.choice(self.shapes), 1))
            elif r < 0.65:
                inner = self.stmts(depth + 1, rng.randint(1, 3))
                out.append(self.call(rng.choice(self.blocks), 1) + " {\n" + "\n".join(inner) + "\n}")
            elif r < 0.75:
                inner = self.stmts(depth + 1, rng.randint(1, 2))
                k = rng.choice(["3", "100", "1000", "20000", "99999"])
                out.append(f"for i in range({k}) {{\n" + "\n".join(inner) + "\n}")
            elif r < 0.85:
                b = rng.choice(list(self.table.values()))
                if b.returns is not None and str(b.returns) != "none" and not b.block:
                    out.append(f"let v{rng.randint(0, 9)} = {self.call(b, 1)}")
            elif r < 0.92:
                out.append(f"n = n + {self.number(1)}")
            else:
                out.append(
                    rng.choice(
                        [
                            "xs = xs + xs",
                            'let s = str(xs) + join(xs, ",")',
                            "if contains(xs, 5) { circle(center=(1, 1), r=1) }",
                            "let t = sum(xs) + len(sort(xs)) + len(reverse(xs)) + len(shuffle(xs))",
                            "deep(3)",
                        ]
                    )
                )
        return out

    def generate(self) -> str:
        rng = self.rng
        w, h = rng.choice(["512", "64", "1", "4096", "16384", "1e9", "0", "-5"]), rng.choice(["512", "1", "4096", "3"])
        head = [f"canvas(width={w}, height={h}, background={rng.choice(['white', 'none', '#0000'])})"]
        head += [
            "let n = 0",
            f"let xs = {self.value(_T.list_of(_T.NUMBER), 1)}",
            "def deep(k: number) { if k > 0 { blur(radius=k) { circle(center=(10, 10), r=5) deep(k - 1) } } }",
        ]
        return "\n".join(head + self.stmts(0, rng.randint(1, 8))) + "\n"


class _T:
    from vdsl.types import COLOR, NUMBER, list_of


# ---------------------------------------------------------------------------------------------------------
# generator 3: mutations and splices of real programs
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|#[0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\w+|\*\*|[=!<>]=|\S|\s+')


class Mutator:
    def __init__(self, rng: random.Random, corpus: list[str]):
        self.rng, self.corpus = rng, corpus
        self.toks = sorted({t for s in corpus[:50] for t in _TOKEN.findall(s) if not t.isspace() and len(t) < 30})

    def mutate(self) -> str:
        rng = self.rng
        src = rng.choice(self.corpus)
        for _ in range(rng.choice([1, 1, 2, 3, 8])):
            src = self._one(src)
        return src

    def _one(self, src: str) -> str:
        rng = self.rng
        k = rng.randrange(9)
        if not src:
            return rng.choice(self.corpus)
        i = rng.randrange(len(src))
        if k == 0:  # flip a byte
            return (
                src[:i]
                + chr(
                    rng.choice(
                        [0, 9, 10, 34, 35, 40, 41, 42, 47, 91, 93, 123, 125, 0x300, 0xFEFF, rng.randrange(32, 127)]
                    )
                )
                + src[i + 1 :]
            )
        if k == 1:  # delete a span
            return src[:i] + src[i + rng.randint(1, 40) :]
        if k == 2:  # duplicate a span
            j = i + rng.randint(1, 200)
            return src[:j] + src[i:j] * rng.choice([1, 2, 10]) + src[j:]
        if k == 3:  # splice another program at a line boundary
            other = rng.choice(self.corpus).splitlines(keepends=True)
            lines = src.splitlines(keepends=True)
            a, b = rng.randrange(len(lines) + 1), rng.randrange(len(other) + 1)
            return "".join(lines[:a] + other[b : b + rng.randint(1, 40)] + lines[a:])
        toks = _TOKEN.findall(src)
        if not toks:
            return src
        j = rng.randrange(len(toks))
        if k == 4:  # replace a number with an extreme one
            nums = [n for n, t in enumerate(toks) if t[:1].isdigit()]
            if nums:
                j = rng.choice(nums)
            toks[j] = rng.choice(EXTREME_NUMBERS + ["-1e308", "0", "100000"])
        elif k == 5:  # replace a token with another known token
            toks[j] = rng.choice(self.toks) if self.toks else toks[j]
        elif k == 6:  # swap two tokens
            m = rng.randrange(len(toks))
            toks[j], toks[m] = toks[m], toks[j]
        elif k == 7:  # repeat a token
            toks[j] = toks[j] * rng.choice([2, 3, 70])
        else:  # wrap a statement-ish line in an effect block or a loop
            lines = src.splitlines()
            ln = rng.randrange(len(lines))
            wrap = rng.choice(
                [
                    "blur(radius=200) {",
                    "for q in range(1000) {",
                    "group(opacity=0.5) {",
                    "shadow(blur=200) {",
                    "glow(radius=200) {",
                ]
            )
            lines[ln] = f"{wrap} {lines[ln]} }}"
            return "\n".join(lines) + "\n"
        return "".join(toks)


def load_corpus(adversarial: bool = True) -> list[str]:
    """Seeds for mutation: examples/*.vd, stdlib/*.vd and (unless told not to) the small adversarial programs."""
    files = (
        sorted((ROOT / "examples").glob("*.vd"))
        + sorted((ROOT / "stdlib").glob("*.vd"))
        + [p for p in sorted((ROOT / "bench" / "adversarial").glob("*.vd")) if adversarial and p.stat().st_size < 4000]
    )
    return [f.read_text(encoding="utf-8", errors="replace") for f in files]


# ---------------------------------------------------------------------------------------------------------
# minimising a finding
def ddmin(parts: list[str], keep, budget: list[int]) -> list[str]:
    """Zeller's ddmin over `parts` (joined with ""), while keep(candidate) holds and budget[0] > 0."""
    n = 2
    while len(parts) >= 2 and budget[0] > 0:
        chunk = max(1, len(parts) // n)
        reduced = False
        for start in range(0, len(parts), chunk):
            if budget[0] <= 0:
                break
            cand = parts[:start] + parts[start + chunk :]
            budget[0] -= 1
            if cand and keep("".join(cand)):
                parts, n, reduced = cand, max(n - 1, 2), True
                break
        if not reduced:
            if n >= len(parts):
                break
            n = min(len(parts), n * 2)
    return parts


def minimise(source: str, sig: str, timeout: float, mem: int, cpu, tries: int) -> str:
    def keep(cand: str) -> bool:
        res = run_case(cand, timeout, mem, cpu)
        return res.get("sig") == sig

    budget = [tries]
    lines = ddmin(source.splitlines(keepends=True), keep, budget)
    toks = ddmin(_TOKEN.findall("".join(lines)), keep, budget)
    return "".join(toks)


# ---------------------------------------------------------------------------------------------------------
def fuzz(
    minutes: float,
    seed: int,
    out: Path,
    timeout: float,
    mem: int,
    cases: int | None,
    do_min: bool,
    min_tries: int,
    log=print,
    cpu: int | None = -1,
    adversarial_seeds: bool = True,
) -> dict:
    import vdsl.backends  # noqa: F401 - import once; every forked child shares it

    rng = random.Random(seed)
    if cpu == -1:
        cpu = max(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    gens = {
        "grammar": GrammarGen(rng),
        "builtin": BuiltinGen(rng),
        "mutation": Mutator(rng, load_corpus(adversarial_seeds)),
    }
    weights = {"grammar": 0.25, "builtin": 0.35, "mutation": 0.40}
    (out / "findings").mkdir(parents=True, exist_ok=True)
    seen: dict[str, dict] = {}
    counts = {g: 0 for g in gens}
    outcomes: dict[str, int] = {}
    t_end = time.monotonic() + minutes * 60
    t0 = time.monotonic()
    n = 0
    while time.monotonic() < t_end and (cases is None or n < cases):
        g = rng.choices(list(weights), list(weights.values()))[0]
        src = gens[g].mutate() if g == "mutation" else gens[g].generate()
        n += 1
        counts[g] += 1
        res = run_case(src, timeout, mem, cpu)
        res["outcome"] if res["outcome"] != "diag" else "diag " + " ".join(res.get("codes", [])[:1])
        outcomes[res["outcome"]] = outcomes.get(res["outcome"], 0) + 1
        if not is_finding(res):
            continue
        sig = res["sig"]
        if sig in seen:
            seen[sig]["count"] += 1
            continue
        log(f"[{n}] new finding {sig}: {res['detail'][:160]}")
        tries = min_tries if res["outcome"] in ("exception", "format") else min(min_tries, 12)
        small = minimise(src, sig, timeout, mem, cpu, tries) if do_min else src
        k = len([s for s in seen.values() if s["kind"] == res["outcome"]]) + 1
        name = f"{res['outcome']}-{k:02d}"
        final = run_case(small, timeout, mem, cpu)
        f = {
            "name": name,
            "kind": res["outcome"],
            "sig": sig,
            "count": 1,
            "generator": g,
            "case": n,
            "detail": final.get("detail", res["detail"]),
            "bytes": len(small),
            "original_bytes": len(src),
            "sha": hashlib.sha1(small.encode()).hexdigest()[:12],
        }
        seen[sig] = f
        head = f"// finding: {res['outcome']}\n// sig: {sig}\n// detail: {f['detail'][:200].replace(chr(10), ' ')}\n"
        (out / "findings" / f"{name}.vd").write_text(head + small + ("" if small.endswith("\n") else "\n"))
        (out / "findings" / f"{name}.orig.vd").write_text(src)
        if final.get("trace") or res.get("trace"):
            (out / "findings" / f"{name}.trace.txt").write_text(final.get("trace") or res.get("trace"))
        _write_summary(out, n, counts, outcomes, seen, time.monotonic() - t0, seed)
    summary = _write_summary(out, n, counts, outcomes, seen, time.monotonic() - t0, seed)
    log(f"{n} cases in {time.monotonic() - t0:.0f} s; {len(seen)} distinct findings")
    return summary


def _write_summary(out: Path, n, counts, outcomes, seen, secs, seed) -> dict:
    summary = {
        "cases": n,
        "seconds": round(secs, 1),
        "seed": seed,
        "by_generator": counts,
        "outcomes": outcomes,
        "findings": sorted(seen.values(), key=lambda f: f["name"]),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    lines = [
        f"{n} cases in {secs:.0f} s (seed {seed}); by generator: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
        "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        "",
        "| finding | kind | signature | hits | generator | bytes (min/orig) | detail |",
        "|---|---|---|---:|---|---|---|",
    ]
    for f in summary["findings"]:
        det = f["detail"].replace("|", "\\|").replace("\n", " ")[:140]
        lines.append(
            f"| {f['name']} | {f['kind']} | `{f['sig']}` | {f['count']} | {f['generator']} | "
            f"{f['bytes']}/{f['original_bytes']} | {det} |"
        )
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--cases", type=int, default=None, help="stop after this many cases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="fuzz-out")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per case (5)")
    ap.add_argument("--mem-gib", type=float, default=2.0, help="RLIMIT_AS per case in GiB (2)")
    ap.add_argument("--cpu", type=int, default=-1, help="core to pin cases to (default: the last one)")
    ap.add_argument("--no-adversarial-seeds", action="store_true", help="mutate only examples/ and stdlib/")
    ap.add_argument("--no-minimize", action="store_true")
    ap.add_argument("--min-tries", type=int, default=150, help="runs allowed to minimise one finding (150)")
    a = ap.parse_args(argv)
    fuzz(
        a.minutes,
        a.seed,
        Path(a.out),
        a.timeout,
        int(a.mem_gib * GIB),
        a.cases,
        not a.no_minimize,
        a.min_tries,
        log=lambda s: print(s, flush=True),
        cpu=a.cpu,
        adversarial_seeds=not a.no_adversarial_seeds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
