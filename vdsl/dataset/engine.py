"""Build engines: what runs the render units of a build (the local process pool, or Ray tasks); one small interface, run(units, on_result)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..errors import UsageError
from .worker import RenderSettings, Unit

ENGINES = ("local", "ray")

# on_result(unit, compile_error or None, [(seed, status, sha256, nbytes, detail), ...]) is called in the
# build's process for every finished unit, after the unit's files are in place in unit.out_dir.
OnResult = Callable[[Unit, "str | None", list], None]


class Engine(Protocol):
    """Runs units and reports each one once through on_result; timeouts and crashes are result rows."""

    name: str
    workers: int  # how many units run at once (for the progress line)

    def run(self, units: list[Unit], on_result: OnResult) -> None: ...

    def terminate(self) -> None: ...


class EngineUnavailable(UsageError):
    """An engine that cannot be used here (its package is missing): exit 2."""


def make_engine(
    name: str,
    workers: int,
    settings: RenderSettings,
    timeout: float,
    close_fds: tuple[int, ...] = (),
    address: str | None = None,
) -> Engine:
    """The engine called name: 'local' (WorkerPool: `workers` forked processes) or 'ray' (Ray tasks on
    the cluster at address, or on a local Ray instance of `workers` CPUs when address is None)."""
    if name == "local":
        from .pool import WorkerPool

        return _Local(WorkerPool(workers, settings, timeout, close_fds=close_fds))
    if name == "ray":
        from .ray_engine import RayEngine

        return RayEngine(workers, settings, timeout, address)
    raise UsageError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")


class _Local:
    """The local process pool behind the Engine interface."""

    name = "local"

    def __init__(self, pool):
        self.pool = pool
        self.workers = pool.n

    def run(self, units: list[Unit], on_result: OnResult) -> None:
        self.pool.run(units, on_result)

    def terminate(self) -> None:
        self.pool.terminate()
