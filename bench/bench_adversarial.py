"""Adversarial bench: worst-case programs through compile → evaluate → render, each in a sandboxed child.

    python bench/bench_adversarial.py                  # every bench/adversarial/*.vd → bench/results/adversarial.md
    python bench/bench_adversarial.py --only blur      # programs whose name contains "blur"
    python bench/bench_adversarial.py --overhead 5     # also: examples/*.vd evaluate time vs the baseline commit

Each program runs in a forked child pinned to one core, under RLIMIT_AS and a hard SIGKILL deadline, so
the bench itself never hangs; the table gives the outcome (image / diagnostic codes / killed / exception /
crash), the wall time and the peak RSS of the child. The target is every program ending in 2 s and 1 GiB.

A program's header says what it is and what must come out:
    // class: unmetered builtins in loops
    // expect: E401|E411|image         (any of these is a pass; `image` = it renders, `diag` = any code)
    // formats: png svg pdf            (default png)
    // scale: 16                       (raster scale, as `vdsl render --scale`)
The child-runner (`run_child`, `run_program`) is shared with bench/fuzz.py and tests/test_adversarial.py.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
import contextlib

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # this tree's vdsl, not whichever one is installed
    sys.path.insert(0, str(ROOT))
from vdsl.cores import cpu_model

ADV_DIR = ROOT / "bench" / "adversarial"
RESULTS = ROOT / "bench" / "results" / "adversarial.md"
GIB = 1 << 30
TARGET_S, TARGET_RSS = 2.0, GIB


# ---------------------------------------------------------------------------------------------------------
# the sandboxed child
def _spawn(fn, arg, mem_bytes: int, cpu: int | None, cpu_seconds: float | None = None) -> tuple[int, int]:
    """Fork a child that runs fn(arg) pinned to `cpu` under RLIMIT_AS (and RLIMIT_CPU when cpu_seconds is
    given: the kernel kills it once it has used that much CPU time) and writes its JSON answer to a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(r)
            os.setpgid(0, 0)
            if cpu is not None and hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, {cpu})
            resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
            if cpu_seconds is not None:
                lim = max(1, math.ceil(cpu_seconds))
                resource.setrlimit(resource.RLIMIT_CPU, (lim, lim))
            try:
                res = fn(arg)
            except BaseException as e:
                res = {"outcome": "exception", "detail": f"{type(e).__name__}: {str(e)[:300]}"}
            try:
                data = json.dumps(res).encode()
            except BaseException:
                data = b'{"outcome": "exception", "detail": "could not encode the result"}'
            while data:
                data = data[os.write(w, data) :]
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def run_many(
    fn,
    args: list,
    timeouts: list[float],
    mem_bytes: int = 4 * GIB,
    cpu: int | None = None,
    parallel: int = 1,
    wall_factor: float = 6.0,
) -> list[dict]:
    """fn(arg) for each arg, each in a forked child (at most `parallel` at once) pinned to one core under
    RLIMIT_AS=mem_bytes, killed once it has used its timeout in CPU seconds (RLIMIT_CPU: a loaded, shared
    machine does not make a program look slower than it is) or wall_factor times that in wall time.

    fn returns a JSON-able dict; each answer is that dict plus `wall` (s, as the parent saw it) and `rss_mb`
    (the child's peak RSS) and `cpu_s` (its user + system CPU time), or outcome `killed` / `crash` when the child never answered."""
    results: list[dict | None] = [None] * len(args)
    todo = list(range(len(args)))
    running: dict[int, tuple[int, float, list]] = {}  # read fd -> (index, start, chunks)
    pids: dict[int, int] = {}
    while todo or running:
        while todo and len(running) < max(1, parallel):
            i = todo.pop(0)
            t0 = time.monotonic()
            pid, r = _spawn(fn, args[i], mem_bytes, cpu, timeouts[i])
            running[r], pids[r] = (i, t0, []), pid
        now = time.monotonic()
        wait = min(timeouts[i] * wall_factor - (now - t0) for i, t0, _ in running.values())
        ready, _, _ = select.select(list(running), [], [], max(0.0, wait))
        done = []
        for r in ready:
            b = os.read(r, 1 << 16)
            if b:
                running[r][2].append(b)
            else:
                done.append((r, False))
        now = time.monotonic()
        done += [
            (r, True) for r, (i, t0, _) in running.items() if r not in ready and now - t0 >= timeouts[i] * wall_factor
        ]
        for r, killed in done:
            i, t0, chunks = running.pop(r)
            pid = pids.pop(r)
            os.close(r)
            if killed:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            _, status, ru = os.wait4(pid, 0)
            wall, rss_mb = time.monotonic() - t0, ru.ru_maxrss / 1024
            cpu_s = ru.ru_utime + ru.ru_stime
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            if killed:
                res = {"outcome": "killed", "detail": f"no answer in {timeouts[i] * wall_factor:g} s of wall time"}
            elif sig in (signal.SIGKILL, signal.SIGXCPU) and cpu_s >= 0.9 * max(1, math.ceil(timeouts[i])):
                res = {"outcome": "killed", "detail": f"no answer in {math.ceil(timeouts[i]):g} s of CPU time"}
            else:
                try:
                    res = json.loads(b"".join(chunks))
                except ValueError:
                    res = {
                        "outcome": "crash",
                        "detail": f"signal {sig}" if sig else f"exit status {os.WEXITSTATUS(status)}",
                    }
            res["wall"], res["rss_mb"], res["cpu_s"] = wall, rss_mb, cpu_s
            results[i] = res
    return results  # type: ignore[return-value]


def run_child(
    fn, arg, timeout: float = 30.0, mem_bytes: int = 4 * GIB, cpu: int | None = None, wall_factor: float = 6.0
) -> dict:
    """fn(arg) in one sandboxed child (see run_many)."""
    return run_many(fn, [arg], [timeout], mem_bytes, cpu, 1, wall_factor)[0]


def one_core() -> int | None:
    """The core children are pinned to: the last one this process may use."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return max(os.sched_getaffinity(0))


# ---------------------------------------------------------------------------------------------------------
# one program, the `vdsl render` path
def header(source: str) -> dict[str, str]:
    """The `// key: value` lines at the top of a program."""
    meta = {}
    for line in source.splitlines()[:20]:
        s = line.strip()
        if not s.startswith("//"):
            break
        k, sep, v = s[2:].partition(":")
        if sep and k.strip().isidentifier():
            meta.setdefault(k.strip().lower(), v.strip())
    return meta


def _codes(diags) -> list[str]:
    errs = [d.code for d in diags if getattr(d, "severity", "error") == "error" and not d.code.startswith("W")]
    return errs or [d.code for d in diags]


def render_outcome(args: dict) -> dict:
    """compile → evaluate → render to each format, as `vdsl render` does; runs inside the child.

    args: source, formats (list), scale, seed. Returns {"outcome": "image" | "diag" | "exception",
    "codes": [...], "detail": str, "stages": {stage: seconds}}."""
    import vdsl
    from vdsl.backends import render_bytes
    from vdsl.errors import DiagnosticsError
    from vdsl.values import RuntimeFault

    stages: dict[str, float] = {}
    t = time.perf_counter()
    stage = "compile"

    def lap(name):
        nonlocal t
        now = time.perf_counter()
        stages[name] = round(now - t, 4)
        t = now

    try:
        p = vdsl.compile(args["source"])
        lap("compile")
        if not p.ok:
            return {
                "outcome": "diag",
                "codes": _codes(p.diagnostics),
                "stages": stages,
                "detail": p.diagnostics[0].message[:200] if p.diagnostics else "",
            }
        stage = "evaluate"
        scene, diags = p.evaluate(args.get("seed", 0))
        lap("evaluate")
        if scene is None:
            return {
                "outcome": "diag",
                "codes": _codes(diags),
                "stages": stages,
                "detail": diags[0].message[:200] if diags else "",
            }
        sizes = {}
        for fmt in args.get("formats", ["png"]):
            stage = f"render {fmt}"
            data, warnings = render_bytes(scene, fmt, args.get("scale", 1.0) if fmt not in ("svg", "pdf") else 1.0)
            lap(fmt)
            sizes[fmt] = len(data)
            errs = [d for d in warnings if not d.code.startswith("W")]
            if errs:
                return {"outcome": "diag", "codes": _codes(errs), "stages": stages, "detail": errs[0].message[:200]}
        return {"outcome": "image", "codes": [], "stages": stages, "bytes": sizes, "detail": ""}
    except DiagnosticsError as e:
        lap(stage)
        return {
            "outcome": "diag",
            "codes": _codes(e.diagnostics),
            "stages": stages,
            "detail": f"raised DiagnosticsError in {stage}",
        }
    except RuntimeFault as f:  # a fault that escaped its stage: a code, but also a bug in the API
        lap(stage)
        return {
            "outcome": "exception",
            "codes": [f.code],
            "stages": stages,
            "detail": f"RuntimeFault {f.code} escaped {stage}: {f.message[:200]}",
        }
    except BaseException as e:
        lap(stage)
        return {
            "outcome": "exception",
            "codes": [],
            "stages": stages,
            "detail": f"{type(e).__name__} in {stage}: {str(e)[:200]}",
        }


def program_args(path: Path) -> dict:
    src = path.read_text(encoding="utf-8")
    h = header(src)
    return {
        "source": src,
        "formats": (h.get("formats") or "png").split(),
        "scale": float(h.get("scale") or 1.0),
        "seed": int(h.get("seed") or 0),
        "expect": [e.strip() for e in (h.get("expect") or "image").split("|")],
        "class": h.get("class", ""),
    }


def passes(res: dict, expect: list[str]) -> bool:
    """Did the run end as its header says (an image, or a diagnostic with one of the codes)?"""
    if res["outcome"] == "image":
        return "image" in expect
    if res["outcome"] == "diag":
        return "diag" in expect or any(c in expect for c in res.get("codes", []))
    return False


def run_program(path: Path, timeout: float = 30.0, mem_bytes: int = 4 * GIB, cpu: int | None = None) -> dict:
    args = program_args(path)
    res = run_child(render_outcome, args, timeout, mem_bytes, cpu)
    res.update(name=path.stem, cls=args["class"], expect=args["expect"], formats=args["formats"], scale=args["scale"])
    res["pass"] = passes(res, args["expect"])
    res["on_target"] = on_target(res)
    return res


def run_programs(
    paths: list[Path],
    timeouts: list[float],
    mem_bytes: int = 4 * GIB,
    cpu: int | None = None,
    parallel: int = 1,
    wall_factor: float = 6.0,
) -> list[dict]:
    """run_program for many programs, `parallel` children at a time (timings are only fair with 1)."""
    argss = [program_args(p) for p in paths]
    out = run_many(render_outcome, argss, timeouts, mem_bytes, cpu, parallel, wall_factor)
    for path, args, res in zip(paths, argss, out):
        res.update(
            name=path.stem, cls=args["class"], expect=args["expect"], formats=args["formats"], scale=args["scale"]
        )
        res["pass"] = passes(res, args["expect"])
        res["on_target"] = on_target(res)
    return out


def on_target(res: dict) -> bool:
    """The expected outcome within TARGET_S of CPU time (wall time on a shared machine measures the
    neighbours too) and TARGET_RSS of peak RSS."""
    return res["pass"] and res["cpu_s"] <= TARGET_S and res["rss_mb"] <= TARGET_RSS / 2**20


def programs(only: str | None = None) -> list[Path]:
    return [p for p in sorted(ADV_DIR.glob("*.vd")) if not only or only in p.stem]


# ---------------------------------------------------------------------------------------------------------
# the overhead of the accounting on ordinary programs: examples/*.vd, this tree vs a baseline tree
_TIMER = r"""
import json, sys, time
from pathlib import Path
import vdsl
files = sorted(Path(sys.argv[1]).glob("*.vd"))
progs = [vdsl.compile(f.read_text(), str(f)) for f in files]
for p in progs:          # warm up caches once
    p.evaluate(0)
t = time.process_time()  # CPU time: the machine may be shared
n = 0
for p in progs:
    for seed in range(4):
        scene, diags = p.evaluate(seed)
        n += scene is not None
print(json.dumps({"seconds": time.process_time() - t, "scenes": n, "file": vdsl.__file__}))
"""


def overhead(base_tree: Path, repeats: int, cpu: int | None) -> dict:
    """Evaluate every examples/*.vd at seeds 0-3 in a fresh subprocess per side, sides interleaved."""
    sides = {"current": ROOT, "baseline": base_tree}
    times: dict[str, list[float]] = {k: [] for k in sides}
    scenes, files = {}, {}
    pre = ["taskset", "-c", str(cpu)] if cpu is not None and _has("taskset") else []
    for i in range(repeats):
        for name in list(sides) if i % 2 == 0 else list(sides)[::-1]:
            env = dict(os.environ, PYTHONPATH=str(sides[name]))
            out = subprocess.run(
                pre + [sys.executable, "-c", _TIMER, str(ROOT / "examples")],
                env=env,
                cwd=tempfile.gettempdir(),
                capture_output=True,
                text=True,
                check=True,
            )
            d = json.loads(out.stdout.strip().splitlines()[-1])
            times[name].append(d["seconds"])
            scenes[name], files[name] = d["scenes"], d["file"]
    ratios = [c / b for c, b in zip(times["current"], times["baseline"])]
    return {
        "times": times,
        "ratios": ratios,
        "median_ratio": statistics.median(ratios),
        "min_ratio": min(ratios),
        "max_ratio": max(ratios),
        "scenes": scenes,
        "files": files,
    }


def _has(cmd: str) -> bool:
    from shutil import which

    return which(cmd) is not None


# ---------------------------------------------------------------------------------------------------------
def machine() -> str:
    cpu = cpu_model()
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )


def git_head() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "?"


def _fmt_outcome(r: dict) -> str:
    if r["outcome"] == "image":
        return "image"
    if r["outcome"] == "diag":
        return " ".join(dict.fromkeys(r.get("codes", []))) or "diag"
    return f"**{r['outcome']}**"


def write_table(
    rows: list[dict], cmd: str, ov: dict | None, out: Path, a_timeout: float = 10.0, a_mem: str = "4 GiB"
) -> str:
    ok = sum(r["on_target"] for r in rows)
    lines = [
        "# Adversarial programs",
        "",
        f"`{cmd}` at commit {git_head()} on {machine()}; each program in a child pinned to one core, "
        f"RLIMIT_AS {a_mem}, killed after {a_timeout:g} s of CPU time (RLIMIT_CPU) or 6x that in wall time. Target: the expected outcome within "
        f"{TARGET_S:g} s of CPU time (wall time on a shared machine counts the neighbours too; a killed "
        f"program shows the kill time) and {TARGET_RSS // 2**20} MiB peak RSS. A forked child starts at the parent's "
        f"RSS (vdsl + Skia imported), so ~{_idle_rss():.0f} MiB is the floor.",
        "",
        f"**{ok} of {len(rows)} programs on target.**",
        "",
        "| program | class | expect | outcome | CPU s | wall s | peak RSS MiB | on target | detail |",
        "|---|---|---|---|---:|---:|---:|:-:|---|",
    ]
    for r in rows:
        detail = (r.get("detail") or "").replace("|", "\\|").replace("\n", " ")[:120]
        fmts = "" if r["formats"] == ["png"] else f" ({'+'.join(r['formats'])})"
        sc = "" if r["scale"] == 1.0 else f" ×{r['scale']:g}"
        lines.append(
            f"| {r['name']}{fmts}{sc} | {r['cls']} | {'/'.join(r['expect'])} | {_fmt_outcome(r)} | "
            f"{r['cpu_s']:.2f} | {r['wall']:.2f} | {r['rss_mb']:.0f} | {'yes' if r['on_target'] else '**no**'} | {detail} |"
        )
    if ov:
        lines += [
            "",
            "## Overhead of the accounting on ordinary programs",
            "",
            f"Evaluate (no render) every examples/*.vd at seeds 0-3, each side in a fresh subprocess "
            f"with PYTHONPATH set to its tree, sides interleaved, {len(ov['ratios'])} repeats; CPU seconds "
            f"of the evaluating process (time.process_time).",
            "",
            "| side | median CPU s | min | max | scenes |",
            "|---|---:|---:|---:|---:|",
        ]
        for k, ts in ov["times"].items():
            lines.append(
                f"| {k} ({ov['files'][k]}) | {statistics.median(ts):.3f} | {min(ts):.3f} | "
                f"{max(ts):.3f} | {ov['scenes'][k]} |"
            )
        lines += [
            "",
            f"current / baseline: median ratio **{ov['median_ratio']:.3f}** "
            f"(spread {ov['min_ratio']:.3f} – {ov['max_ratio']:.3f}).",
        ]
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text


def _idle_rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="run only programs whose name contains this")
    ap.add_argument(
        "--timeout", type=float, default=10.0, help="kill after this many CPU seconds, or 6x that in wall time (10)"
    )
    ap.add_argument("--mem-gib", type=float, default=4.0, help="RLIMIT_AS of each child in GiB (4)")
    ap.add_argument(
        "--overhead",
        type=int,
        default=0,
        metavar="N",
        help="also time examples/*.vd vs the baseline tree, N interleaved repeats",
    )
    ap.add_argument("--base", default="/tmp/vdsl-base", help="baseline tree (git worktree add /tmp/vdsl-base 0eb2ad1)")
    ap.add_argument(
        "--vdsl",
        metavar="TREE",
        help="import vdsl from this source tree instead (e.g. another "
        "branch's worktree; run with PYTHONDONTWRITEBYTECODE=1 to leave it untouched)",
    )
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.vdsl:
        sys.path.insert(0, str(Path(a.vdsl).resolve()))
    import vdsl.backends  # noqa: F401 - imported once here, shared by every forked child

    cpu = one_core()
    rows = []
    for path in programs(a.only):
        r = run_program(path, a.timeout, int(a.mem_gib * GIB), cpu)
        rows.append(r)
        if not a.quiet:
            print(
                f"{r['name']:40s} {_fmt_outcome(r):24s} {r['cpu_s']:7.2f}s {r['wall']:7.2f}s {r['rss_mb']:7.0f}MiB "
                f"{'ok' if r['on_target'] else 'MISS'} {r.get('detail', '')[:80]}",
                flush=True,
            )
    ov = overhead(Path(a.base), a.overhead, cpu) if a.overhead else None
    cmd = (
        "python bench/bench_adversarial.py"
        + (f" --overhead {a.overhead}" if a.overhead else "")
        + (f" --timeout {a.timeout:g}" if a.timeout != 10.0 else "")
        + (f" --vdsl {a.vdsl}" if a.vdsl else "")
        + (f" --only {a.only}" if a.only else "")
    )
    text = write_table(rows, cmd, ov, Path(a.out), a.timeout, f"{a.mem_gib:g} GiB")
    if not a.quiet:
        print(text.split("## Overhead")[-1] if ov else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
