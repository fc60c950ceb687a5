"""The CPU this runs on: its model name and how many cores this process may use (its affinity mask, not the machine's count)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def usable_cores() -> int:
    """The cores this process may run on (at least 1): what worker pools size themselves by."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what the platform module knows: benchmarks print it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
