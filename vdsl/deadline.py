"""Wall-clock deadlines: the second line of defence behind the work budgets (code E412)."""

from __future__ import annotations

import time

from .values import RuntimeFault


class Deadline:
    """A point in monotonic time after which work stops with E412; `None` seconds means no deadline.

    Stages poll `check()` at bounded intervals (the evaluator every few thousand steps, the backends
    between draw calls), so a deadline is honoured within one bounded unit of work."""

    __slots__ = ("seconds", "at")

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left (infinity without a deadline; negative once passed)."""
        return float("inf") if self.at is None else self.at - time.monotonic()

    def expired(self) -> bool:
        return self.at is not None and time.monotonic() > self.at

    def check(self, stage: str = "the program") -> None:
        if self.at is not None and time.monotonic() > self.at:
            raise RuntimeFault(
                "E412",
                f"{stage} ran past the time limit ({self.seconds:g} s)",
                "draw less, or raise it with --budget time_limit=SECONDS",
            )


NO_DEADLINE = Deadline(None)
