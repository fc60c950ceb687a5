"""The build's progress bar (rich, on stderr): images done, images/s, elapsed and remaining time; no refresh thread."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Images per second since the bar started."""

    def render(self, task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        rate = task.completed / elapsed if elapsed else 0.0
        return Text(f"{rate:,.0f} images/s", style="progress.data.speed")


class BuildProgress:
    """Refreshed from the build loop itself (auto_refresh off): the parent runs no extra thread,
    so forking a replacement worker mid-build is safe."""

    def __init__(self, total: int, enabled: bool = True, label: str = "rendering"):
        console = Console(stderr=True)
        self.enabled = enabled and console.is_terminal
        self.progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            auto_refresh=False,
            disable=not self.enabled,
        )
        self.task = self.progress.add_task(label, total=total)
        self._last = 0.0

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.progress.refresh()
        return self.progress.__exit__(*exc)

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)
        now = time.monotonic()
        if self.enabled and now - self._last > 0.1:
            self._last = now
            self.progress.refresh()
