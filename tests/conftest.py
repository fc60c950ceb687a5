"""Shared test setup: the harness on sys.path, the `slow` marker."""

from __future__ import annotations

import sys
from pathlib import Path

# the data-driven harness (tests/conformance/harness.py, programs.py) is imported as `conformance.*`
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# No recursion limit is raised here: the library runs deep programs at Python's default limit
# (tests/test_binder.py proves the deepest legal one does), and the tests run as users do.


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a minute")
