"""Durable state: atomic file writes, the append-only build journal (torn tails ignored), JSONL files and the build lock."""

from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path

from collections.abc import Iterable, Iterator

STATE_DIR = ".vdsl-build"  # inside the output folder: journal, config, lock
JOURNAL = "journal.jsonl"
CONFIG = "config.json"
LOCK = "lock"

METADATA = "metadata.jsonl"  # kept images, Hugging Face imagefolder convention (file_name column)
FAILURES = "failures.jsonl"  # every dropped program and image, with the reason
PROGRAMS = "programs.jsonl"  # every program: concept, tier, hash, status, images kept
STATS = "stats.json"  # counts, config and the command that built it
CARD = "README.md"  # the dataset card
COCO = "annotations.coco.json"  # with --labels: every kept image's instances (COCO, RLE masks)
IMAGES = "images"
PROGRAM_DIR = "programs"


def dumps(record: dict) -> str:
    """One JSONL line (no newline): compact, key order as given, non-ASCII kept."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def dumps_pretty(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def jsonl_text(records: Iterable[dict]) -> str:
    return "".join(dumps(r) + "\n" for r in records)


def read_jsonl(path: str | os.PathLike, strict: bool = True) -> list[dict]:
    """All records of a JSONL file ([] when it does not exist). strict=False skips lines that do not parse."""
    p = Path(path)
    if not p.is_file():
        return []
    out = []
    with open(p, "rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                if strict:
                    raise ValueError(f"{p}:{n}: not a JSON line") from None
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out


def read_json(path: str | os.PathLike) -> dict | None:
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class Journal:
    """An append-only JSONL log of finished work.

    Each append is one os.write of whole lines to an O_APPEND descriptor. A build killed
    mid-write (SIGKILL included) can at worst leave a torn last line: `load` ignores it and
    truncates the file back to the last complete line before new records are appended."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.fd: int | None = None

    def load(self) -> list[dict]:
        """The complete records, repairing a torn tail."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1  # bytes after the last newline are a torn write
        records = []
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # cannot happen with whole-line writes; be lenient
            if isinstance(rec, dict):
                records.append(rec)
        if end != len(data):
            with open(self.path, "r+b") as f:
                f.truncate(end)
        return records

    def open(self) -> "Journal":
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self

    def append(self, records: Iterable[dict]) -> None:
        data = "".join(dumps(r) + "\n" for r in records).encode("utf-8")
        if not data:
            return
        assert self.fd is not None, "journal not open"
        view = memoryview(data)
        while view:  # regular files take it in one call; loop for safety
            n = os.write(self.fd, view)
            view = view[n:]

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class BuildLock:
    """An exclusive flock on STATE_DIR/lock, released by the kernel when the process dies (even by SIGKILL)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> bool:
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self.fd)
            self.fd = None
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def remove_stray_files(root: Path, keep: set[str], base: Path) -> int:
    """Delete files under root whose path relative to base is not in keep (leftover temps, dropped
    duplicates, images of programs no longer built); remove folders left empty. Returns the count."""
    removed = 0
    if not root.is_dir():
        return 0
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        d = Path(dirpath)
        for name in filenames:
            rel = (d / name).relative_to(base).as_posix()
            if rel not in keep:
                try:
                    os.unlink(d / name)
                    removed += 1
                except FileNotFoundError:
                    pass
        if d != root:
            with contextlib.suppress(OSError):
                os.rmdir(d)  # only succeeds when empty
    return removed


def iter_lines(path: str | os.PathLike) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield line.rstrip("\n")
