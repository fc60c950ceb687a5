"""Worker side: compile each program once per process, render its seeds straight to PNG files (atomically), report results."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections import OrderedDict
from dataclasses import dataclass

from ..budgets import Budgets
from ..sandbox import DEFAULT_MEMORY_LIMIT, die_with_parent, limit_memory
import contextlib

# statuses of one image; "ok" images have a file and a hash, the rest are dropped and counted
OK = "ok"
BLANK = "blank"  # blank or nearly uniform render
BUDGET = "budget"  # evaluation exceeded a budget (E4xx)
EVAL_ERROR = "eval_error"  # any other evaluation error (E3xx)
ERROR = "error"  # an unexpected exception while rendering (kept to this image)
TIMEOUT = "timeout"  # the render ran past --timeout (its worker was killed) or the time_limit budget (E412)
MEMORY = "memory"  # the render needed more than --memory-limit (E413, MemoryError under the cap)
CRASH = "crash"  # the worker process died while rendering it
SKIPPED = "skipped"  # not tried: an earlier seed of the same chunk timed out or crashed
IO_ERROR = "io_error"  # the image could not be written: stops the build (never recorded)


@dataclass(frozen=True)
class RenderSettings:
    size: tuple[int, int]
    budgets: Budgets
    min_std: float
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT  # address space per worker above its own (None: no cap)
    labels: bool = False  # also write <name>_<seed>.coco.json (instance boxes and masks) beside each image


@dataclass(frozen=True)
class Unit:
    """A chunk of work: one program and some of its seeds."""

    uid: int
    key: str
    hash: str
    data: bytes
    origin: str
    out_dir: str  # absolute path of images/<folder>
    name: str
    seeds: tuple[int, ...]


# (seed, status, image sha256 or None, PNG bytes, detail or None)
Result = tuple


def _first_error(diags) -> tuple[str, str]:
    errs = [d for d in diags if d.is_error] or list(diags)
    if not errs:
        return EVAL_ERROR, "evaluation failed"
    d = errs[0]
    code = str(d.code)
    status = {"E412": TIMEOUT, "E413": MEMORY}.get(code) or (BUDGET if code.startswith("E4") else EVAL_ERROR)
    return status, f"{code} {d.message}"


def compile_unit(unit: Unit, settings: RenderSettings, cache: OrderedDict):
    """The compiled program for a unit (cached by source hash), or the reason it does not compile."""
    prog = cache.get(unit.hash)
    if prog is None:
        from ..api import compile

        try:
            prog = compile(unit.data, unit.origin, settings.budgets)
        except Exception as e:
            return None, f"internal error while compiling: {type(e).__name__}: {e}"
        cache[unit.hash] = prog
        if len(cache) > 256:
            cache.popitem(last=False)
    else:
        cache.move_to_end(unit.hash)
    if not prog.ok:
        errs = [d for d in prog.diagnostics if d.is_error] or prog.diagnostics
        first = errs[0] if errs else None
        more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
        line = f" at line {first.span.line}" if first is not None and getattr(first, "span", None) else ""
        return None, (f"{first.code} {first.message}{line}{more}" if first else "does not compile")
    return prog, None


def render_one(prog, unit: Unit, seed: int, settings: RenderSettings, parent: int | None = None) -> Result:
    """Render one seed to images/<folder>/<name>_<seed>.png; errors are results, never exceptions."""
    from ..api import fit
    from ..errors import DiagnosticsError
    from ..backends import encode_image, render_array
    from .filters import is_blank

    try:
        scene, diags = prog.evaluate(seed)
        if scene is None:
            status, detail = _first_error(diags)
            return (seed, status, None, 0, detail)
        scene = fit(scene, settings.size, settings.budgets)
        rgba = render_array(scene)
        blank, std = is_blank(rgba, settings.min_std)
        if blank:
            return (seed, BLANK, None, 0, f"blank or nearly uniform (channel std {std:.2f} < {settings.min_std:g})")
        data = encode_image(rgba, "png")
        label_doc = None
        if settings.labels:
            from ..backends.labels import LabelError, label_scene
            from .coco import dumps, image_document

            try:
                label_doc = dumps(image_document(f"{unit.name}_{seed}.png", label_scene(scene))).encode("utf-8")
            except LabelError as e:
                return (seed, ERROR, None, 0, f"labels: {e}")
    except DiagnosticsError as e:
        status, detail = _first_error(e.diagnostics)
        return (seed, status, None, 0, detail)
    except RecursionError:
        return (seed, ERROR, None, 0, "RecursionError while rendering")
    except MemoryError:
        cap = f" ({settings.memory_limit >> 20} MiB)" if settings.memory_limit else ""
        return (seed, MEMORY, None, 0, f"E413 the render needed more memory than the memory cap{cap}")
    except Exception as e:
        return (seed, ERROR, None, 0, f"{type(e).__name__}: {e}")
    sha = hashlib.sha256(data).hexdigest()
    name = f"{unit.name}_{seed}.png"
    # the labels first: an image file on disk always has its labels beside it
    files = ([(f"{unit.name}_{seed}.coco.json", label_doc)] if label_doc is not None else []) + [(name, data)]
    for fname, payload in files:
        path = os.path.join(unit.out_dir, fname)
        err = _write_file(path, payload, parent)
        if err is not None:
            return (seed, IO_ERROR, None, 0, f"cannot write {path}: {err}")
    return (seed, OK, sha, len(data), None)


def _write_file(path: str, data: bytes, parent: int | None) -> str | None:
    """Write data to path atomically (a temp file, then rename); the OS error's text, or None."""
    d, name = os.path.split(path)
    tmp = os.path.join(d, f".{name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        if parent is not None and os.getppid() != parent:  # orphaned: the build is gone, write nothing
            os.unlink(tmp)
            os._exit(0)
        os.replace(tmp, path)
    except OSError as e:  # disk full, permissions: the build's problem, not the program's
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return str(e.strerror or e)
    return None


def warm_up(settings: RenderSettings) -> None:
    """Load the parser tables, the checked stdlib modules, Skia and the PNG encoder once in the parent,
    so that every forked worker starts with them (instead of each loading them again)."""
    from ..sandbox import warm_up as load
    from .filters import is_blank

    load(settings.budgets)
    try:
        import numpy as np

        is_blank(np.zeros((8, 8, 4), np.uint8))
    except Exception:
        pass


def worker_main(conn, heartbeat, settings: RenderSettings, parent: int, close_fds: tuple[int, ...] = ()) -> None:
    """Serve units from conn until None or EOF. heartbeat[:] = (uid, seed index, start time) of the
    render in progress (start 0 when idle), so the parent can kill a render that runs past its limit."""
    die_with_parent()
    if os.getppid() != parent:
        os._exit(0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    for fd in close_fds:  # the build's lock and journal, inherited by fork
        with contextlib.suppress(OSError):
            os.close(fd)
    limit_memory(settings.memory_limit)  # above what the worker holds now (it forked warm)
    cache: OrderedDict = OrderedDict()
    clock = time.monotonic
    while True:
        try:
            unit = conn.recv()
        except (EOFError, OSError):
            break
        if unit is None:
            break
        heartbeat[2] = 0.0
        heartbeat[0] = unit.uid
        heartbeat[1] = -1
        heartbeat[2] = clock()
        prog, err = compile_unit(unit, settings, cache)
        results = []
        if prog is not None:
            for i, seed in enumerate(unit.seeds):
                heartbeat[1] = i
                heartbeat[2] = clock()
                results.append(render_one(prog, unit, seed, settings, parent))
        heartbeat[2] = 0.0
        try:
            conn.send((unit.uid, err, results))
        except (OSError, ValueError):
            break
    os._exit(0)
