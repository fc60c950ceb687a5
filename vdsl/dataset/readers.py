"""Reading WebDataset and Parquet shards back: an index of every sample (shard, key, metadata row), random access to its PNG, clear errors for truncated or corrupt shards."""

from __future__ import annotations

import json
import os
import tarfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .writers import EXTENSION, SHARD_DIR, SHARD_INDEX, _pyarrow


class ShardError(UsageError):
    """A shard that cannot be read as a whole (truncated, corrupt, a sample without its image)."""


@dataclass(frozen=True)
class Sample:
    shard: int  # index into ShardSet.files
    key: str
    row: dict
    offset: int  # tar: byte offset of the PNG; parquet: row number
    size: int  # tar: PNG bytes; parquet: 0


def shard_files(path: str | os.PathLike) -> tuple[str, list[Path]] | None:
    """(format, shard files in name order) of a dataset folder, a shards folder or one shard file;
    None when there are no shards there."""
    p = Path(path)
    if p.is_file():
        for fmt, ext in EXTENSION.items():
            if p.name.endswith(ext):
                return fmt, [p]
        return None
    if not p.is_dir():
        return None
    index = p / SHARD_INDEX
    if index.is_file():
        try:
            doc = json.loads(index.read_text(encoding="utf-8"))
            files = [(p / e["file"], int(e["bytes"])) for e in doc["shards"]]
            fmt = doc["format"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ShardError(f"{index}: not a shard index; rebuild or remove it") from None
        for f, n in files:
            try:
                size = f.stat().st_size
            except OSError:
                raise ShardError(f"{f}: listed in {SHARD_INDEX} but missing; rerun the build") from None
            if size != n:
                raise ShardError(
                    f"{f}: {size} bytes where {SHARD_INDEX} says {n} (truncated or replaced); rerun the build"
                )
        return fmt, [f for f, _ in files]
    d = p / SHARD_DIR if (p / SHARD_DIR).is_dir() else p
    for fmt, ext in EXTENSION.items():
        files = sorted(q for q in d.iterdir() if q.is_file() and q.name.endswith(ext) and not q.name.startswith("."))
        if files:
            return fmt, files
    return None


def _scan_tar(path: Path, n: int) -> list[Sample]:
    size = path.stat().st_size
    groups: OrderedDict[str, dict] = OrderedDict()
    try:
        with tarfile.open(path, "r:") as tar:
            for m in tar:
                if not m.isfile():
                    continue
                base = m.name.rsplit("/", 1)
                stem, _, ext = base[-1].partition(".")
                key = f"{base[0]}/{stem}" if len(base) == 2 else stem
                if m.offset_data + m.size > size:
                    raise ShardError(f"{path}: truncated inside {m.name}; rebuild it (rerun the build)")
                g = groups.setdefault(key, {})
                if ext == "json":
                    f = tar.extractfile(m)
                    assert f is not None
                    try:
                        g["json"] = json.loads(f.read())
                    except ValueError:
                        raise ShardError(f"{path}: {m.name} is not JSON") from None
                elif ext in ("png", "jpg", "jpeg", "webp"):
                    g["img"] = (m.offset_data, m.size)
            end = tar.offset  # where the end-of-archive marker (two zero blocks) must follow
        with open(path, "rb") as f:
            f.seek(end)
            marker = f.read(1024)
        if len(marker) < 1024 or marker.count(0) != 1024:
            raise ShardError(f"{path}: truncated (no end-of-archive marker after its last sample); rebuild it")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ShardError(f"{path}: not a readable tar shard ({e}); rebuild it") from None
    out = []
    for key, g in groups.items():
        if "img" not in g:
            raise ShardError(f"{path}: sample {key} has no image")
        out.append(Sample(n, key, g.get("json") or {}, g["img"][0], g["img"][1]))
    return out


def _scan_parquet(path: Path, n: int) -> list[Sample]:
    _pa, pq = _pyarrow()
    try:
        f = pq.ParquetFile(path)
        cols = [c for c in f.schema_arrow.names if c != "image"]
        if "image" not in f.schema_arrow.names:
            raise ShardError(f"{path}: no `image` column")
        table = f.read(columns=cols)
    except ShardError:
        raise
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... for a cut-off file
        raise ShardError(f"{path}: not a readable Parquet shard ({e}); rebuild it") from None
    rows = table.to_pylist()
    return [Sample(n, str(r.get("key", i)), r, i, 0) for i, r in enumerate(rows)]


class ShardSet:
    """Every sample of a set of shards, in shard then file order; image bytes on demand.

    Each process (each DataLoader worker) opens the files it needs once and keeps them open."""

    def __init__(self, path: str | os.PathLike):
        found = shard_files(path)
        if found is None:
            raise ShardError(f"{path}: no .tar or .parquet shards there")
        self.format, self.files = found
        for f in self.files:
            if not f.is_file():
                raise ShardError(f"{f}: listed in {SHARD_INDEX} but missing; rerun the build")
        scan = _scan_tar if self.format == "webdataset" else _scan_parquet
        self.per_shard: list[list[Sample]] = [scan(f, i) for i, f in enumerate(self.files)]
        self.samples: list[Sample] = [s for part in self.per_shard for s in part]
        self._fds: dict[int, int] = {}
        self._tables: OrderedDict[int, object] = OrderedDict()
        self._pid = os.getpid()

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_fds"], d["_tables"] = {}, OrderedDict()
        return d

    def __len__(self) -> int:
        return len(self.samples)

    def image_bytes(self, s: Sample) -> bytes:
        if self._pid != os.getpid():  # forked into a loader worker: descriptors are per process
            self._fds, self._tables, self._pid = {}, OrderedDict(), os.getpid()
        if self.format == "webdataset":
            fd = self._fds.get(s.shard)
            if fd is None:
                fd = self._fds[s.shard] = os.open(self.files[s.shard], os.O_RDONLY)
            data = os.pread(fd, s.size, s.offset)
            if len(data) != s.size:
                raise ShardError(f"{self.files[s.shard]}: truncated at {s.key}")
            return data
        col = self._tables.get(s.shard)
        if col is None:
            _pa, pq = _pyarrow()
            col = pq.read_table(self.files[s.shard], columns=["image"]).column("image").combine_chunks()
            self._tables[s.shard] = col
            if len(self._tables) > 8:
                self._tables.popitem(last=False)
        else:
            self._tables.move_to_end(s.shard)
        return col[s.offset]["bytes"].as_py()  # type: ignore[index]

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}
