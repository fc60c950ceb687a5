"""Crash-safe run files: a line-by-line JSONL transcript that survives a torn last line, and reading it back."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """The complete JSON lines of a file; a torn or unreadable line (a crash mid-write) is skipped."""
    out = []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return out
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


class Transcript:
    """Appends one JSON object per line, flushed and fsynced, so an interrupt loses at most the line being written."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._repair_tail()

    def _repair_tail(self) -> None:
        """Cut a torn last line (no newline at the end) left by a crash, so appends start on a fresh line."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data[: data.rfind(b"\n") + 1]
            with open(self.path, "r+b") as f:
                f.truncate(len(keep))

    def append(self, event: dict) -> None:
        line = json.dumps(event, ensure_ascii=False, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def events(self) -> list[dict]:
        return read_jsonl(self.path)
