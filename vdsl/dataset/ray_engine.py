"""The Ray engine: a build's units as Ray tasks on a local Ray instance or a cluster; each task renders in a one-process WorkerPool (the same time and memory limits as the local pool) and returns the files' bytes, which the build writes and journals.

What this gives and what it does not, next to the local pool:
- The same outputs byte for byte, the same journal (resume after a kill) and the same failure rows:
  a render past --timeout or over --memory-limit, or one that crashes its process, is recorded exactly
  as the local pool records it, because inside each task the local pool's machinery does the work.
- Files travel back to the build's machine as task results, so cluster nodes need no shared disk;
  every node needs vdsl (and pycocotools for --labels) installed in the same Python version.
- A Ray worker or node that dies loses only the task it ran: Ray retries it once; if it fails again
  the build stops with a message, everything finished so far is journaled, and the same command
  continues it.
- Results arrive per task (a group of units), not per unit, so the progress bar moves in steps and a
  kill loses at most the tasks in flight. Ray schedules by CPUs and the `memory` resource (the
  memory limit plus headroom); it does not itself cap a task's time or memory: the in-task pool does.
- The build's lock and journal stay on the machine that runs the command; a second build of the same
  folder is refused there as with the local engine."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import replace

from ..errors import IncompleteRun
from .engine import EngineUnavailable, OnResult
from .worker import IO_ERROR, OK, RenderSettings, Unit, _write_file

TASKS_PER_CPU = 2  # tasks per CPU: enough to balance uneven programs, few enough to keep overhead low
HEADROOM = 512 << 20  # bytes reserved per task on top of the render memory limit (the task's own process)
RETRIES = 1  # how often Ray reruns a task whose worker or node died
DIE_ENV = "VDSL_TEST_RAY_DIE_ON"  # tests only: a task holding this program key exits its Ray worker


class RayWorkerDied(IncompleteRun):
    """A Ray worker or node died (twice) while rendering: the build stops, consistent and resumable (exit 1)."""


def _ray():
    try:
        import ray
    except ImportError:
        raise EngineUnavailable("--engine ray needs Ray: pip install 'vdsl[ray]' (or pip install ray)") from None
    return ray


def render_task(units: list[Unit], settings: RenderSettings, timeout: float) -> list:
    """Run in a Ray worker: render units in a one-process WorkerPool writing into a private temporary
    folder, then return [(unit, compile_error, results, [(file name, bytes), ...]), ...] with each unit's
    out_dir as the build gave it."""
    from .pool import WorkerPool

    die = os.environ.get(DIE_ENV)
    if die and any(u.key == die for u in units):
        os._exit(1)  # a Ray worker that dies, for the tests
    tmp = tempfile.mkdtemp(prefix="vdsl-ray-")
    try:
        where: dict[str, str] = {}
        local = []
        for i, u in enumerate(units):
            d = os.path.join(tmp, str(i))
            os.mkdir(d)
            where[d] = u.out_dir
            local.append(replace(u, out_dir=d))
        out: list = []

        def collect(unit: Unit, err, results) -> None:
            files = []
            for seed, status, *_ in results:
                if status != OK:
                    continue
                for name in (f"{unit.name}_{seed}.coco.json", f"{unit.name}_{seed}.png"):  # labels first
                    p = os.path.join(unit.out_dir, name)
                    if os.path.exists(p):
                        with open(p, "rb") as f:
                            files.append((name, f.read()))
            out.append((replace(unit, out_dir=where[unit.out_dir]), err, results, files))

        WorkerPool(1, settings, timeout).run(local, collect)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class RayEngine:
    """Units as Ray tasks; files written and results reported in this process, as the local pool does."""

    name = "ray"

    def __init__(self, workers: int, settings: RenderSettings, timeout: float, address: str | None = None):
        self.ray = _ray()
        self.settings = settings
        self.timeout = float(timeout)
        self.address = address
        self.started = False
        if not self.ray.is_initialized():
            kw: dict = {"include_dashboard": False, "configure_logging": False, "log_to_driver": False}
            if address:
                self.ray.init(address=address, **kw)
            else:
                self.ray.init(num_cpus=max(1, workers), **kw)
            self.started = True
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, min(workers, cpus) if workers else cpus)
        self.pending: list = []

    def _tasks(self, units: list[Unit]) -> list[list[Unit]]:
        """Consecutive groups of units, about TASKS_PER_CPU per CPU (never splitting a unit)."""
        n = max(1, min(len(units), TASKS_PER_CPU * self.workers))
        size = math.ceil(len(units) / n)
        return [units[i : i + size] for i in range(0, len(units), size)]

    def run(self, units: list[Unit], on_result: OnResult) -> None:
        if not units:
            return
        ray = self.ray
        opts: dict = {"num_cpus": 1, "max_retries": RETRIES, "retry_exceptions": False}
        if self.settings.memory_limit:
            opts["memory"] = self.settings.memory_limit + HEADROOM
        remote = ray.remote(render_task).options(**opts)
        settings = ray.put(self.settings)
        queue = self._tasks(units)
        running: dict = {}
        try:
            while queue or running:
                while queue and len(running) < self.workers:
                    group = queue.pop(0)
                    running[remote.remote(group, settings, self.timeout)] = group
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    group = running.pop(ref)
                    try:
                        items = ray.get(ref)
                    except Exception as e:  # the task's worker or node died (after the retry), or it failed
                        self._drain(running, on_result)
                        raise RayWorkerDied(
                            f"a Ray task died while rendering {len(group)} unit(s) "
                            f"(first: {group[0].key}): {type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}; "
                            "finished work is recorded, rerun the same command to continue"
                        ) from None
                    self._deliver(items, on_result)
        finally:
            for ref in running:
                ray.cancel(ref, force=True)
            if self.started:
                ray.shutdown()
                self.started = False

    def _drain(self, running: dict, on_result: OnResult) -> None:
        """Report the tasks that finished meanwhile, so nothing done is lost; cancel the rest."""
        ready, _ = self.ray.wait(list(running), num_returns=len(running), timeout=0)
        for ref in ready:
            running.pop(ref)
            try:
                items = self.ray.get(ref)
            except Exception:
                continue
            self._deliver(items, on_result)

    def _deliver(self, items: list, on_result: OnResult) -> None:
        for unit, err, results, files in items:
            for name, data in files:
                e = _write_file(os.path.join(unit.out_dir, name), data, None)
                if e is not None:
                    results = [
                        (r[0], IO_ERROR, None, 0, f"cannot write {os.path.join(unit.out_dir, name)}: {e}")
                        if name.startswith(f"{unit.name}_{r[0]}.")
                        else r
                        for r in results
                    ]
            on_result(unit, err, results)

    def terminate(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False
