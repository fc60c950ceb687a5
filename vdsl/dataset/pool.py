"""The process pool: hands chunks of (program, seeds) to worker processes, kills renders that run past the time limit, survives worker crashes."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait
from collections.abc import Callable

from ..errors import VdslError
from .worker import CRASH, SKIPPED, TIMEOUT, RenderSettings, Unit, warm_up, worker_main
import contextlib

DEPTH = 2  # units queued per worker, so a worker never waits for the parent between units


def _context():
    methods = mp.get_all_start_methods()
    # fork: workers start in milliseconds with vdsl, skia and numpy already imported. The parent
    # runs no threads while it forks (the progress bar refreshes from the main loop, not a thread).
    return mp.get_context("fork" if "fork" in methods else "spawn")


@dataclass
class _Worker:
    proc: object
    conn: object
    heartbeat: object
    queue: deque = field(default_factory=deque)  # outstanding units, in the order sent


class PoolFailure(VdslError):
    """Workers keep dying before doing any work (e.g. out of memory at start): the build stops."""


class WorkerPool:
    """Run units on n worker processes. on_result(unit, compile_error, results) is called in the
    parent for every finished unit, including timeouts and crashes (as result rows, never exceptions)."""

    def __init__(self, n: int, settings: RenderSettings, timeout: float, close_fds: tuple[int, ...] = ()):
        self.n = max(1, int(n))
        self.settings = settings
        self.timeout = float(timeout)
        self.close_fds = close_fds
        self.ctx = _context()
        self.workers: list[_Worker] = []
        self.deaths_without_progress = 0
        self._next_uid = 0

    # -- workers ---------------------------------------------------------------
    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self.ctx.Pipe(duplex=True)
        hb = self.ctx.RawArray("d", 3)
        proc = self.ctx.Process(
            target=worker_main,
            name="vdsl-dataset-worker",
            daemon=True,
            args=(child_conn, hb, self.settings, os.getpid(), self.close_fds),
        )
        proc.start()
        child_conn.close()
        return _Worker(proc, parent_conn, hb)

    def _kill(self, w: _Worker) -> None:
        with contextlib.suppress(OSError, AttributeError):
            w.proc.kill()
        w.proc.join(5)
        with contextlib.suppress(OSError):
            w.conn.close()

    def close(self) -> None:
        for w in self.workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(None)
        deadline = time.monotonic() + 2
        for w in self.workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            if w.proc.is_alive():
                self._kill(w)
            else:
                with contextlib.suppress(OSError):
                    w.conn.close()
        self.workers = []

    def terminate(self) -> None:
        for w in self.workers:
            self._kill(w)
        self.workers = []

    # -- the loop --------------------------------------------------------------
    def run(self, units: list[Unit], on_result: Callable) -> None:
        pending = deque(units)
        if not pending:
            return
        if self.ctx.get_start_method() == "fork":
            warm_up(self.settings)
        self.workers = [self._spawn() for _ in range(min(self.n, len(pending)))]
        try:
            while pending or any(w.queue for w in self.workers):
                for w in self.workers:
                    while pending and len(w.queue) < DEPTH:
                        u = pending.popleft()
                        try:
                            w.conn.send(u)
                        except (OSError, ValueError):
                            pending.appendleft(u)
                            break
                        w.queue.append(u)
                busy = [w for w in self.workers if w.queue]
                ready = wait([w.conn for w in busy], timeout=self._tick(busy))
                for w in busy:
                    if w.conn in ready:
                        try:
                            uid, err, results = w.conn.recv()
                        except (EOFError, OSError):
                            self._replace(w, pending, on_result, CRASH)
                            continue
                        unit = w.queue.popleft()
                        assert unit.uid == uid, "worker answered out of order"
                        self.deaths_without_progress = 0
                        on_result(unit, err, results)
                now = time.monotonic()
                for w in list(self.workers):
                    start = w.heartbeat[2]
                    if w.queue and start > 0 and now - start > self.timeout:
                        self._replace(w, pending, on_result, TIMEOUT)
        finally:
            self.close()

    def _tick(self, busy: list[_Worker]) -> float:
        """How long to wait for results before checking the time limits again."""
        now = time.monotonic()
        t = 1.0
        for w in busy:
            start = w.heartbeat[2]
            if start > 0:
                t = min(t, start + self.timeout - now + 0.01)
        return max(0.01, t)

    def _replace(self, w: _Worker, pending: deque, on_result: Callable, why: str) -> None:
        """Kill w (stuck or dead), record what it was doing, requeue the rest, start a fresh worker."""
        if why == TIMEOUT:  # take results that arrived meanwhile before killing
            try:
                while w.queue and w.conn.poll(0):
                    uid, err, results = w.conn.recv()
                    unit = w.queue.popleft()
                    on_result(unit, err, results)
            except (EOFError, OSError):
                pass
        uid, idx, start = int(w.heartbeat[0]), int(w.heartbeat[1]), w.heartbeat[2]
        if why == TIMEOUT and (not w.queue or start <= 0 or time.monotonic() - start <= self.timeout):
            return  # it finished after all
        self._kill(w)
        code = w.proc.exitcode
        requeue: list[Unit] = []
        for unit in w.queue:
            if unit.uid == uid and start > 0:
                if idx < 0:  # died or stuck while compiling: the whole program is lost
                    msg = (
                        f"compiling took longer than {self.timeout:g}s"
                        if why == TIMEOUT
                        else f"worker died while compiling (exit code {code})"
                    )
                    on_result(unit, msg, [])
                    continue
                seed = unit.seeds[idx]
                msg = (
                    f"render took longer than {self.timeout:g}s; its worker was killed"
                    if why == TIMEOUT
                    else f"worker died while rendering (exit code {code})"
                )
                rows = [(seed, why, None, 0, msg)]
                rows += [
                    (
                        s,
                        SKIPPED,
                        None,
                        0,
                        f"not rendered: seed {seed} of this program "
                        f"{'timed out' if why == TIMEOUT else 'crashed its worker'}",
                    )
                    for s in unit.seeds[idx + 1 :]
                ]
                if idx > 0:  # rendered but unreported: render again
                    requeue.append(replace(unit, uid=self._uid(), seeds=unit.seeds[:idx]))
                on_result(replace(unit, seeds=unit.seeds[idx:]), None, rows)
            else:
                requeue.append(unit)
        if why == CRASH and start <= 0:
            self.deaths_without_progress += 1
            if self.deaths_without_progress > 3 * self.n + 3:
                raise PoolFailure(f"worker processes keep dying (last exit code {code})")
        pending.extendleft(reversed(requeue))
        i = self.workers.index(w)
        self.workers[i] = self._spawn()

    def _uid(self) -> int:
        self._next_uid -= 1  # fresh ids for requeued parts, never clashing with the plan's
        return self._next_uid
