"""Module resolution for `use`: stdlib modules by name, and (only when allowed) files under the program's folder."""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .budgets import CAPS

# The most bytes read from any source file: one more than the largest source-size budget, so an
# oversized file is still reported as E400 by the parser, and a huge file is never read whole.
MAX_READ = int(CAPS["source_bytes"]) + 1
MAX_PATH_CHARS = 1024  # longer `use "..."` paths are refused before touching the file system
_STDLIB_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


# What `use` may name, per stdlib policy (--stdlib): "all" of it; "shapes", the geometry that draws no
# named concept (stars, polygons, shaded solids, point layouts); "none", the builtins only.
STDLIB_POLICIES: dict[str, frozenset[str] | None] = {
    "all": None,
    "shapes": frozenset({"shapes", "solids", "layout"}),
    "none": frozenset(),
}


def stdlib_allowed(name: str, policy: str = "all") -> bool:
    """Whether a program may `use` the stdlib module `name` under `policy` (all, shapes or none)."""
    allowed = STDLIB_POLICIES[policy]
    return allowed is None or name in allowed


def check_policy(policy: str) -> str:
    """The policy itself, or ValueError naming the ones there are."""
    if policy not in STDLIB_POLICIES:
        raise ValueError(f"unknown stdlib policy {policy!r}: expected one of {', '.join(STDLIB_POLICIES)}")
    return policy


@dataclass(frozen=True)
class ModuleSource:
    name: str  # as written after `use`
    file: str  # shown in diagnostics
    text: str


def stdlib_names() -> list[str]:
    return sorted(_stdlib_names())


@lru_cache(maxsize=1)
def _stdlib_names() -> frozenset[str]:
    root = resources.files("vdsl.stdlib")
    return frozenset(p.name[:-3] for p in root.iterdir() if p.name.endswith(".vd") and p.is_file())


def stdlib_source(name: str) -> ModuleSource | None:
    """A stdlib module by name, or None. Only names of shipped modules reach the file system."""
    if not isinstance(name, str) or not _STDLIB_NAME.fullmatch(name) or name not in _stdlib_names():
        return None
    f = resources.files("vdsl.stdlib").joinpath(name + ".vd")
    try:
        return ModuleSource(name, f"stdlib/{name}.vd", f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):  # pragma: no cover - a broken installation
        return None


def module_header(text: str) -> list[str]:
    """A module's description: the leading block of `//` lines, comment markers removed."""
    head = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        head.append(line[2:].strip())
    return head


class FileAccessDenied(Exception):
    """A module path that exists (or may) but must not or cannot be used: check.py reports E218."""


class NotRegularFile(OSError):
    """A path that is a directory, FIFO, socket or device: never opened for reading (a FIFO would block)."""

    def __init__(self, path: str, kind: str):
        super().__init__(errno.EINVAL, f"it is {kind}, not a regular file", path)
        self.kind = kind


def file_kind(mode: int) -> str:
    """What a st_mode is, in words, for messages and skip reasons."""
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def read_regular_file(path: str | os.PathLike, max_bytes: int = MAX_READ) -> bytes:
    """The first max_bytes bytes of a regular file (following symlinks). Raises OSError, incl.
    NotRegularFile for directories, FIFOs, sockets and devices, which are never read: the file is
    opened non-blocking (so a FIFO cannot block) and checked with fstat before any read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise NotRegularFile(os.fspath(path), "a directory") from None
    except ValueError as e:  # an embedded NUL byte: no such file can exist
        raise FileNotFoundError(errno.ENOENT, str(e), os.fspath(path)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(os.fspath(path), file_kind(st.st_mode))
        chunks, left = [], max_bytes
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_source(data: bytes) -> str:
    """UTF-8 text; undecodable bytes become lone surrogates, which the parser reports as E108."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def os_reason(e: BaseException) -> str:
    """An OSError (or a symlink-loop RuntimeError) in a few words, without the path (paths can be huge)."""
    if isinstance(e, NotRegularFile):
        assert e.strerror is not None  # NotRegularFile.__init__ always sets it
        return e.strerror
    if isinstance(e, RuntimeError) or getattr(e, "errno", None) == errno.ELOOP:
        return "the path is a symlink loop"
    if getattr(e, "errno", None) == errno.ENAMETOOLONG:
        return "the path is too long"
    if isinstance(e, PermissionError):
        return "permission denied"
    if isinstance(e, ValueError):
        return "the path contains a NUL byte"
    return (getattr(e, "strerror", None) or type(e).__name__).lower()


_MISSING = (errno.ENOENT, errno.ENOTDIR)


def file_source(rel: str, base_dir: str | os.PathLike | None) -> ModuleSource | None:
    """A program-relative module file, or None when there is no such .vd file.

    Absolute paths, `..` escapes and symlinks out of the folder are refused; so are paths that
    cannot be used (too long, NUL bytes, symlink loops, unreadable, directories, FIFOs, devices):
    every refusal is FileAccessDenied with the reason (E218), never another exception."""
    if base_dir is None:
        raise FileAccessDenied("file modules are not allowed here (pass --allow-files to enable them)")
    if not isinstance(rel, str) or not rel or "\x00" in rel or len(rel) > MAX_PATH_CHARS:
        raise FileAccessDenied("not a usable module path (empty, too long or with a NUL byte)")
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts or rel.startswith(("/", "\\")) or ":" in rel:
        raise FileAccessDenied("module paths must stay inside the program's folder (no absolute paths or `..`)")
    try:
        base = Path(base_dir).resolve()
    except (OSError, ValueError, RuntimeError, TypeError) as e:
        raise FileAccessDenied(f"the program's folder cannot be used: {os_reason(e)}") from None
    try:
        target = (base / p).resolve()
    except (OSError, ValueError, RuntimeError) as e:
        if getattr(e, "errno", None) in _MISSING:
            return None
        raise FileAccessDenied(os_reason(e)) from None
    if base not in target.parents:
        raise FileAccessDenied("module paths must stay inside the program's folder")
    if target.suffix != ".vd":
        return None
    try:
        data = read_regular_file(target)
    except OSError as e:
        if e.errno in _MISSING:
            return None
        raise FileAccessDenied(os_reason(e)) from None
    return ModuleSource(rel, str(target), decode_source(data))
