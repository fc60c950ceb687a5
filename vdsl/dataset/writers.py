"""Dataset outputs behind one interface: an image folder, WebDataset .tar shards or Parquet shards, written deterministically and crash-safely."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
from pathlib import Path

from ..atomic import atomic_write
from ..errors import UsageError

FORMATS = ("files", "webdataset", "parquet")
SHARD_DIR = "shards"  # shard formats: OUT/shards/shard-000000.tar (or .parquet)
SHARD_INDEX = "shards.json"  # OUT/shards.json: every shard with its images, bytes and sha256
DEFAULT_SHARD_SIZE = 1000
EXTENSION = {"webdataset": ".tar", "parquet": ".parquet"}
# metadata columns of a Parquet shard, in order (the image comes first, then the key)
PARQUET_COLUMNS = (
    ("concept", "string"),
    ("concept_id", "string"),
    ("tier", "string"),
    ("program", "string"),
    ("program_hash", "string"),
    ("program_file", "string"),
    ("seed", "int64"),
    ("model", "string"),
    ("refine_round", "int64"),
    ("width", "int64"),
    ("height", "int64"),
    ("image_sha256", "string"),
)


class ShardsMissing(UsageError):
    """The library a shard format needs is not installed (pip install 'vdsl[shards]')."""


def shard_key(folder: str, name: str, seed: int) -> str:
    """A sample's key in a shard: `<concept folder>/<program>_<seed>`. WebDataset splits a member
    name at its first dot, so dots in a program name become commas (names never hold a comma)."""
    return f"{folder}/{name.replace('.', ',')}_{seed}"


def shard_name(fmt: str, i: int) -> str:
    return f"{SHARD_DIR}/shard-{i:06d}{EXTENSION[fmt]}"


class DatasetWriter:
    """Where kept images go, in the dataset's one order (concept, program, seed).

    open() starts a fresh output; add(key, png, row, extra) takes one image (PNG bytes, or the path
    of a file holding them), its metadata row and optional extra files (name suffix -> bytes, e.g.
    {"coco.json": ...}) and returns the row as the dataset lists it; close() finishes and returns
    the shard index (empty for files). A writer never leaves a partial file under a final name."""

    format = "files"

    def __init__(self, out: Path, shard_size: int = DEFAULT_SHARD_SIZE):
        self.out = Path(out)
        self.shard_size = max(1, int(shard_size))

    def open(self) -> None:
        pass

    def add(self, key: str, png: bytes | Path, row: dict, extra: dict[str, bytes] | None = None) -> dict:
        raise NotImplementedError

    def close(self) -> list[dict]:
        return []


class FilesWriter(DatasetWriter):
    """images/<concept>/<program>_<seed>.png (torchvision ImageFolder + Hugging Face imagefolder).
    The build's workers render straight into place, so add() copies only what is elsewhere."""

    format = "files"

    def add(self, key: str, png: bytes | Path, row: dict, extra: dict[str, bytes] | None = None) -> dict:
        dst = self.out / row["file_name"]
        if not (isinstance(png, Path) and (png == dst or png.resolve() == dst.resolve())):
            dst.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(dst, png.read_bytes() if isinstance(png, Path) else png)
        for suffix, data in (extra or {}).items():
            atomic_write(dst.with_name(f"{dst.stem}.{suffix}"), data)
        return row


class _ShardWriter(DatasetWriter):
    """Shards of shard_size images, each written to a temp file, fsynced, then renamed into place."""

    def open(self) -> None:
        (self.out / SHARD_DIR).mkdir(parents=True, exist_ok=True)
        for p in (self.out / SHARD_DIR).glob(".*.tmp"):  # a shard cut off by a crash: never a final name
            with contextlib.suppress(OSError):
                p.unlink()
        self.index: list[dict] = []
        self.current: list[tuple[str, bytes, dict, dict]] = []

    def add(self, key: str, png: bytes | Path, row: dict, extra: dict[str, bytes] | None = None) -> dict:
        data = png.read_bytes() if isinstance(png, Path) else png
        name = shard_name(self.format, len(self.index))
        row = {**row, "key": key, "shard": name}
        self.current.append((key, data, row, extra or {}))
        if len(self.current) >= self.shard_size:
            self._flush()
        return row

    def close(self) -> list[dict]:
        if self.current:
            self._flush()
        os_fsync_dir(self.out / SHARD_DIR)
        keep = {Path(e["file"]).name for e in self.index}
        for p in (self.out / SHARD_DIR).iterdir():  # shards of an earlier, larger result
            if p.suffix == EXTENSION[self.format] and p.name not in keep:
                p.unlink()
        return self.index

    def _flush(self) -> None:
        import hashlib

        name = shard_name(self.format, len(self.index))
        data = self.encode(self.current)
        atomic_write(self.out / name, data, fsync=True)
        self.index.append(
            {
                "file": name,
                "images": len(self.current),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "first": self.current[0][0],
                "last": self.current[-1][0],
            }
        )
        self.current = []

    def encode(self, samples: list) -> bytes:
        raise NotImplementedError


def _public(row: dict) -> dict:
    """The row as a sample carries it (its shard is where it is)."""
    return {k: v for k, v in row.items() if k != "shard"}


class WebDatasetWriter(_ShardWriter):
    """WebDataset: {key}.png + {key}.json (the metadata row) per sample, POSIX tar members with
    fixed owner, mode and mtime, so the same images give the same bytes."""

    format = "webdataset"

    def encode(self, samples: list) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for key, png, row, extra in samples:
                members = [("png", png), ("json", json.dumps(_public(row), ensure_ascii=False).encode())]
                members += sorted(extra.items())
                for ext, data in members:
                    info = tarfile.TarInfo(f"{key}.{ext}")
                    info.size, info.mtime, info.mode = len(data), 0, 0o644
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ShardsMissing("--format parquet needs pyarrow: pip install 'vdsl[shards]'") from None
    return pa, pq


def parquet_schema(extra: tuple[str, ...] = ()):
    """image (Hugging Face Image: struct of bytes and path), key, the metadata columns, then one
    binary column per extra file suffix ("coco.json" -> coco_json); the schema carries the
    `datasets` features, so load_dataset("parquet") decodes images as is."""
    pa, _ = _pyarrow()
    types = {"string": pa.string(), "int64": pa.int64()}
    fields = [
        pa.field("image", pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])),
        pa.field("key", pa.string()),
    ]
    fields += [pa.field(n, types[t]) for n, t in PARQUET_COLUMNS]
    fields += [pa.field(extra_column(x), pa.binary()) for x in extra]
    features = {"image": {"_type": "Image"}, "key": {"dtype": "string", "_type": "Value"}}
    features |= {n: {"dtype": t, "_type": "Value"} for n, t in PARQUET_COLUMNS}
    features |= {extra_column(x): {"dtype": "binary", "_type": "Value"} for x in extra}
    hf = json.dumps({"info": {"features": features}}, separators=(",", ":"))
    return pa.schema(fields, metadata={"huggingface": hf})


class ParquetWriter(_ShardWriter):
    """Parquet: one row group per shard, uncompressed (PNG is compressed already), no statistics."""

    format = "parquet"

    def open(self) -> None:
        _pyarrow()
        super().open()

    def encode(self, samples: list) -> bytes:
        pa, pq = _pyarrow()
        extra = tuple(sorted({x for _, _, _, e in samples for x in e}))
        schema = parquet_schema(extra)
        cols: dict[str, list] = {
            "image": [{"bytes": png, "path": f"{key}.png"} for key, png, _, _ in samples],
            "key": [key for key, _, _, _ in samples],
        }
        for n, _t in PARQUET_COLUMNS:
            cols[n] = [row.get(n) for _, _, row, _ in samples]
        for x in extra:
            cols[extra_column(x)] = [e.get(x) for _, _, _, e in samples]
        table = pa.Table.from_pydict(cols, schema=schema)
        sink = pa.BufferOutputStream()
        pq.write_table(
            table, sink, row_group_size=len(samples), compression="none", write_statistics=False, use_dictionary=False
        )
        return sink.getvalue().to_pybytes()


def extra_column(suffix: str) -> str:
    return suffix.replace(".", "_").replace("-", "_")


WRITERS = {"files": FilesWriter, "webdataset": WebDatasetWriter, "parquet": ParquetWriter}


def make_writer(fmt: str, out: Path, shard_size: int = DEFAULT_SHARD_SIZE) -> DatasetWriter:
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    return WRITERS[fmt](out, shard_size)


def write_index(out: Path, fmt: str, shard_size: int, index: list[dict]) -> None:
    """OUT/shards.json, written after every shard is in place (so a listed shard is complete)."""
    doc = {"format": fmt, "shard_size": shard_size, "images": sum(e["images"] for e in index), "shards": index}
    atomic_write(out / SHARD_INDEX, json.dumps(doc, indent=2) + "\n", fsync=True)


def os_fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
