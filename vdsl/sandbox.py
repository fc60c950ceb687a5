"""Run untrusted programs (compile + evaluate + render) in a child process under a wall-clock limit and a memory cap."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field, replace

from .budgets import DEFAULT, Budgets
from .diagnostics import Diagnostic, Span

# Address space a program may use on top of its worker's own (the interpreter, numpy, Skia: ~250 MiB):
# 2 GiB holds the largest default canvas (4096 x 4096) several times over, with blur layers and encoders.
DEFAULT_MEMORY_LIMIT = 2 << 30
GRACE = 0.5  # seconds past the time limit (+5 %) before the parent kills a worker
START_TIMEOUT = 120.0  # seconds a fresh worker may take to import vdsl and Skia

OK, ERROR, TIMEOUT, MEMORY, CRASH = "ok", "error", "timeout", "memory", "crash"
FORMATS = ("png", "jpeg", "jpg", "webp", "svg", "pdf", "array", "scene")


@dataclass(frozen=True)
class Job:
    """What to run: one program, one seed, one output. Picklable; sent to the worker as is."""

    source: str | bytes
    seed: int = 0
    fmt: str = "png"  # png jpeg webp svg pdf (bytes), array (HxWx4 uint8), scene (IR)
    size: tuple[int, int] | None = None  # fit the drawing to (W, H), letterboxed
    max_side: int | None = None  # or scale it down so that its longer side is at most this
    scale: float = 1.0
    params: dict | None = None
    file: str = "<input>"
    budgets: Budgets = DEFAULT
    stdlib: str = "all"  # what `use` may name (vdsl.modules.STDLIB_POLICIES); outside it is E219


@dataclass
class SandboxResult:
    """status: ok, error (diagnostics say why), timeout (E412), memory (E413) or crash (E300).
    value: bytes, an array or a scene when ok; diagnostics: the warnings when ok, else the errors."""

    status: str
    value: object = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == OK


def _diag(code: str, message: str, file: str = "<input>", hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, Span(1, 1, 1, 2, file), hint)


def status_of(diags: list[Diagnostic]) -> str:
    """The status a failed run's diagnostics amount to."""
    codes = {d.code for d in diags if d.is_error}
    return TIMEOUT if "E412" in codes else MEMORY if "E413" in codes else ERROR


def memory_diagnostic(limit: int | None, file: str = "<input>") -> Diagnostic:
    cap = f" ({limit / (1 << 20):.0f} MiB)" if limit else ""
    return _diag(
        "E413",
        f"the program needed more memory than the memory cap{cap}",
        file,
        "draw less or smaller; the cap is Sandbox(memory_limit=...) / --memory-limit",
    )


# ----------------------------------------------------------------------------- the work (any process)
def execute(job: Job) -> tuple[str, object, list[Diagnostic]]:
    """Compile, evaluate and render one job in this process under one Deadline(budgets.time_limit).
    Returns (status, value, diagnostics); never raises (MemoryError included)."""
    from .api import compile, fit, render_scene
    from .deadline import Deadline
    from .diagnostics import has_errors
    from .errors import DiagnosticsError
    from .values import RuntimeFault

    budgets = job.budgets
    deadline = Deadline(budgets.time_limit)
    try:
        if job.fmt not in FORMATS:
            return (
                ERROR,
                None,
                [_diag("E217", f"unknown output format {job.fmt!r}; expected one of {', '.join(FORMATS)}", job.file)],
            )
        prog = compile(job.source, job.file, budgets, stdlib=job.stdlib)
        diags = list(prog.diagnostics)
        if not prog.ok:
            return status_of(diags), None, diags
        deadline.check("compiling")
        scene, rdiags = prog.evaluate(job.seed, job.params, deadline=deadline)
        diags += rdiags
        if scene is None or has_errors(diags):
            return status_of(diags), None, diags
        if job.size is not None:
            scene = fit(scene, job.size, budgets)
        elif job.max_side and max(scene.width, scene.height) > job.max_side:
            s = job.max_side / max(scene.width, scene.height)
            scene = fit(scene, (max(1, round(scene.width * s)), max(1, round(scene.height * s))), budgets)
        if job.fmt == "scene":
            return OK, scene, diags
        value, warnings = render_scene(scene, job.fmt, job.scale, budgets, deadline, prog)
        return OK, value, diags + list(warnings)
    except DiagnosticsError as e:
        return status_of(e.diagnostics), None, list(e.diagnostics)
    except RuntimeFault as f:
        d = _diag(f.code, f.message, job.file, f.hint)
        return status_of([d]), None, [d]
    except MemoryError:
        return MEMORY, None, [memory_diagnostic(None, job.file)]
    except Exception as e:
        return CRASH, None, [_diag("E300", f"internal error: {type(e).__name__}: {e}"[:500], job.file)]


# ----------------------------------------------------------------------------- process limits (Linux)
def address_space() -> int | None:
    """This process's virtual memory size in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def limit_memory(extra: int | None) -> bool:
    """Cap this process's address space (RLIMIT_AS) at its current size plus `extra` bytes, so that an
    allocation past it fails with MemoryError (numpy, Skia surfaces) instead of swapping the machine.
    Returns False where that is not possible (not Linux, no resource module); None disables it."""
    if extra is None:
        return False
    _fresh_allocations()
    try:
        import resource

        now = address_space()
        if now is None:
            return False
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = now + int(extra)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, OSError, ValueError, AttributeError):
        return False
    return True


def _fresh_allocations() -> None:
    """glibc: serve large allocations with fresh mmaps again and return free heap to the system, so a
    worker forked from a process that once freed big buffers cannot quietly reuse that memory past
    the cap (glibc raises its mmap and trim thresholds after such frees)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD back to the default (fixes it: no more raising)
        libc.mallopt(-1, 128 * 1024)  # M_TRIM_THRESHOLD
        libc.malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


def die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent dies, however it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def warm_up(budgets: Budgets = DEFAULT) -> None:
    """Load the parser tables, the checked stdlib modules, Skia and the encoders once, so that forked
    workers start with them (instead of each loading them again)."""
    from .api import compile, render_scene
    from .modules import stdlib_names

    try:
        for name in stdlib_names():
            compile(f"use {name}\ncanvas(width=8, height=8)\n", "<warm-up>", budgets)
        prog = compile(
            "canvas(width=8, height=8, background=white)\ncircle(center=(4, 4), r=2, fill=red)\n", "<warm-up>", budgets
        )
        render_scene(prog.scene(0), "png", 1.0, budgets)
    except Exception:
        pass


# ----------------------------------------------------------------------------- the worker process
def _send_result(conn, status: str, value, diags: list, seconds: float) -> None:
    """Header first (pickled), then large payloads as raw bytes (no pickled copy under the memory cap)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        conn.send((status, "array", (value.shape, str(value.dtype)), diags, seconds))
        conn.send_bytes(memoryview(np.ascontiguousarray(value)).cast("B"))
    elif isinstance(value, (bytes, bytearray)):
        conn.send((status, "bytes", None, diags, seconds))
        conn.send_bytes(value)
    else:
        conn.send((status, "object", value, diags, seconds))


def _serve(conn, memory_limit: int | None, parent: int | None) -> None:
    """The worker: run jobs from conn until EOF. Exits after a job that ran out of memory (its heap
    may be fragmented); the parent starts a fresh worker. parent: the caller's pid when it is our
    parent (fork, spawn), None under a forkserver (EOF on conn still ends us when the caller dies)."""
    if parent is not None:
        die_with_parent()
        if os.getppid() != parent:
            os._exit(0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    import vdsl.backends  # noqa: F401 - loaded before the cap, not counted against the program

    limit_memory(memory_limit)
    try:
        conn.send(("ready", os.getpid()))
    except (OSError, ValueError):
        os._exit(0)
    clock = time.perf_counter
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            break
        except MemoryError:
            break
        if job is None:
            break
        t0 = clock()
        try:
            status, value, diags = execute(job)
        except MemoryError:  # pragma: no cover - execute catches it; a last resort
            status, value, diags = MEMORY, None, []
        if status == MEMORY:
            value, diags = (
                None,
                [d if d.code != "E413" else memory_diagnostic(memory_limit, job.file) for d in diags]
                or [memory_diagnostic(memory_limit, job.file)],
            )
        try:
            _send_result(conn, status, value, diags, clock() - t0)
        except MemoryError:
            value = None
            try:
                _send_result(conn, MEMORY, None, [memory_diagnostic(memory_limit, job.file)], clock() - t0)
            except Exception:
                break
            status = MEMORY
        except (OSError, EOFError):
            break
        except Exception as e:
            try:
                _send_result(
                    conn,
                    CRASH,
                    None,
                    [_diag("E300", f"internal error: cannot send the result: {type(e).__name__}: {e}"[:300], job.file)],
                    clock() - t0,
                )
            except Exception:
                break
        del value
        if status == MEMORY:
            break
    os._exit(0)


def _start_method() -> str:
    """fork when it is safe (no other thread in this process: a lock held by another thread at fork
    time would be held forever in the child), else forkserver (a clean single-threaded server
    that forks the workers), else spawn."""
    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


class _Worker:
    def __init__(self, ctx, memory_limit: int | None):
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        parent = None if ctx.get_start_method() == "forkserver" else os.getpid()
        self.proc = ctx.Process(
            target=_serve, name="vdsl-sandbox", daemon=True, args=(child_conn, memory_limit, parent)
        )
        self.proc.start()
        child_conn.close()
        self.conn = parent_conn
        self.ready = False

    def wait_ready(self, timeout: float) -> bool:
        if self.ready:
            return True
        try:
            if self.conn.poll(timeout):
                msg = self.conn.recv()
                self.ready = isinstance(msg, tuple) and msg[:1] == ("ready",)
        except (EOFError, OSError):
            self.ready = False
        return self.ready

    def kill(self) -> None:
        with suppress(OSError, AttributeError, ValueError):
            self.proc.kill()
        self.proc.join(5)
        with suppress(OSError):
            self.conn.close()

    def close(self) -> None:
        with suppress(OSError, ValueError):
            self.conn.send(None)
        self.proc.join(1)
        if self.proc.is_alive():
            self.kill()
        else:
            with suppress(OSError):
                self.conn.close()


class Sandbox:
    """Runs jobs in worker processes: never hangs the caller, never raises, returns SandboxResult.

    A worker is reused across calls (its Python, numpy and Skia are loaded once); one that runs past
    the time limit is killed and a fresh one started at once; one that hits the memory cap answers
    E413 and is replaced. Thread-safe: concurrent calls use separate workers (keep_idle are kept).

        with Sandbox() as sb:
            r = sb.run(source, seed=3, fmt="png", max_side=512)
            if r.ok: png = r.value
            else: print(r.status, r.diagnostics)

    time_limit defaults to budgets.time_limit (E412); memory_limit is the address space a program may
    use above its worker's own (default DEFAULT_MEMORY_LIMIT, 2 GiB; None: no cap; Linux only)."""

    def __init__(
        self,
        budgets: Budgets = DEFAULT,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        keep_idle: int = 1,
        start_method: str | None = None,
    ):
        self.budgets = budgets
        self.memory_limit = memory_limit
        self.keep_idle = max(0, int(keep_idle))
        self.start_method = start_method
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._warm = False
        self._closed = False

    # -- workers
    def _new_worker(self) -> _Worker:
        method = self.start_method or _start_method()
        ctx = mp.get_context(method)
        if method == "fork" and not self._warm:
            warm_up(self.budgets)  # once: every forked worker starts with it all loaded
            self._warm = True
        elif method == "forkserver":
            ctx.set_forkserver_preload(["vdsl.sandbox", "vdsl.api", "vdsl.backends"])
        return _Worker(ctx, self.memory_limit)

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                w = self._idle.pop()
                if w.proc.is_alive():
                    return w
                w.kill()
        return self._new_worker()

    def _give_back(self, w: _Worker) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.keep_idle:
                self._idle.append(w)
                return
        w.close()

    def _replace(self, w: _Worker) -> None:
        """Kill a worker and start its successor now, so the next call finds it (nearly) ready."""
        w.kill()
        if self._closed:
            return
        try:
            fresh = self._new_worker()
        except (OSError, ValueError, RuntimeError):
            return
        self._give_back(fresh)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            w.close()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - best effort at interpreter exit
        with suppress(Exception):
            self.close()

    # -- running
    def run(
        self,
        source: str | bytes,
        seed: int = 0,
        fmt: str = "png",
        size: tuple[int, int] | None = None,
        max_side: int | None = None,
        scale: float = 1.0,
        params: dict | None = None,
        file: str = "<input>",
        budgets: Budgets | None = None,
        time_limit: float | None = None,
        stdlib: str = "all",
    ) -> SandboxResult:
        """Compile, evaluate and render source in a worker. Never raises, never waits much past the limit."""
        budgets = budgets or self.budgets
        if time_limit is not None:
            budgets = replace(budgets, time_limit=float(time_limit))
        return self.run_job(Job(source, seed, fmt, size, max_side, scale, params, file, budgets, stdlib))

    def run_job(self, job: Job) -> SandboxResult:
        t0 = time.monotonic()
        try:
            w = self._take()
        except Exception as e:
            return SandboxResult(
                CRASH,
                None,
                [_diag("E300", f"internal error: cannot start the sandbox: {e}", job.file)],
                time.monotonic() - t0,
            )
        if not w.wait_ready(START_TIMEOUT):
            w.kill()
            return SandboxResult(
                CRASH,
                None,
                [
                    _diag(
                        "E300",
                        f"internal error: the sandbox process did not start (exit code {w.proc.exitcode})",
                        job.file,
                    )
                ],
                time.monotonic() - t0,
            )
        t0 = time.monotonic()
        try:
            w.conn.send(job)
        except Exception as e:
            self._replace(w)
            return SandboxResult(
                CRASH,
                None,
                [_diag("E300", f"internal error: cannot send the job: {type(e).__name__}: {e}"[:300], job.file)],
                0.0,
            )
        try:
            return self._answer(w, job, t0)
        except BaseException:  # Ctrl-C while waiting: the worker's state is unknown
            w.kill()
            raise

    def _answer(self, w: _Worker, job: Job, t0: float) -> SandboxResult:
        """Wait for the worker's answer up to the time limit (+ grace); kill it past that."""
        limit = job.budgets.time_limit
        wait = limit * 1.05 + GRACE
        try:
            answered = w.conn.poll(wait)
        except (OSError, ValueError):
            answered = True  # EOF: read it below
        if not answered:
            self._replace(w)
            return SandboxResult(
                TIMEOUT,
                None,
                [
                    _diag(
                        "E412",
                        f"the program ran past the time limit ({limit:g} s); its process was stopped",
                        job.file,
                        "draw less, or raise it with --budget time_limit=SECONDS",
                    )
                ],
                time.monotonic() - t0,
            )
        try:
            status, kind, meta, diags, seconds = w.conn.recv()
            if kind == "array":
                import numpy as np

                shape, dtype = meta
                value = np.empty(shape, dtype=dtype)  # received in place: no extra copy
                w.conn.recv_bytes_into(memoryview(value).cast("B"))
            elif kind == "bytes":
                value = w.conn.recv_bytes()
            else:
                value = meta
        except (EOFError, OSError, ValueError, TypeError):
            w.proc.join(5)
            code = w.proc.exitcode
            self._replace(w)
            if code == -signal.SIGKILL:  # killed by the kernel's OOM killer, not by us
                return SandboxResult(
                    MEMORY, None, [memory_diagnostic(self.memory_limit, job.file)], time.monotonic() - t0
                )
            why = (
                f"signal {signal.Signals(-code).name}"
                if code is not None and code < 0 and -code in signal.valid_signals()
                else f"exit code {code}"
            )
            return SandboxResult(
                CRASH,
                None,
                [
                    _diag(
                        "E300",
                        f"internal error: the sandbox process died ({why})",
                        job.file,
                        "this is a bug in vdsl; please report it",
                    )
                ],
                time.monotonic() - t0,
            )
        if status == MEMORY:
            self._replace(w)  # it exits after a MemoryError; start its successor now
        else:
            self._give_back(w)
        return SandboxResult(status, value, list(diags), seconds)


_DEFAULT: Sandbox | None = None
_DEFAULT_LOCK = threading.Lock()


def default_sandbox() -> Sandbox:
    """One shared Sandbox per process (default budgets and memory cap)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Sandbox()
        return _DEFAULT


def run(source: str | bytes, **kw) -> SandboxResult:
    """Sandbox.run on the shared sandbox: `vdsl.sandbox.run(text, seed=1, fmt="png", max_side=512)`."""
    return default_sandbox().run(source, **kw)
