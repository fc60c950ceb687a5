"""Shared test setup: the harness on sys.path, the recursion limit the evaluator wants, the `slow` marker."""

from __future__ import annotations

import sys
from pathlib import Path

# the data-driven harness (tests/conformance/harness.py, programs.py) is imported as `conformance.*`
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# vdsl.evaluate raises the limit on first use; doing it up front keeps hypothesis from warning
# that the limit changed during a test.
if sys.getrecursionlimit() < 20_000:
    sys.setrecursionlimit(20_000)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a minute")
