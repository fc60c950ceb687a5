"""Atomic file writes: a temp file beside the target, then os.replace — readers see the old file or the new, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
import contextlib


def atomic_write(path: str | os.PathLike, data: bytes | str, mode: int | None = None, fsync: bool = False) -> None:
    """Replace `path` with `data` in one step. mode None keeps the replaced file's mode (else 0o644);
    fsync makes the data durable before the rename (slower; for records that must survive power loss)."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if mode is None:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp makes files 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
