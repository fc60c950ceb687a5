"""Shards: parse `--shard i/N`, and `vdsl dataset merge` joining shard folders into one dataset equal to an unsharded build."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from collections.abc import Callable

from ..atomic import atomic_write
from . import manifest as mf
from .build import DatasetUsageError, write_dataset
from .filters import dedupe
from .writers import DEFAULT_SHARD_SIZE
import contextlib

# settings that may differ between shards (machine-local); everything else in the config must agree
LOCAL_SETTINGS = ("timeout", "memory_limit", "programs")


def parse_shard(text: str | None) -> tuple[int, int]:
    """ "i/N" -> (i, N) with 0 <= i < N; None -> (0, 1). Raises ValueError."""
    if not text:
        return (0, 1)
    try:
        a, b = text.split("/", 1)
        i, n = int(a), int(b)
    except ValueError:
        raise ValueError(f"expected i/N like 0/4, got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"shard {text!r}: need 0 <= i < N")
    return (i, n)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _place(src: Path, dst: Path, link: bool, sha: str | None = None) -> None:
    """dst becomes a copy (or hard link) of src, atomically; an identical dst is left alone."""
    try:
        if dst.stat().st_size == src.stat().st_size and (
            (sha is not None and _sha256(dst) == sha) or (sha is None and dst.read_bytes() == src.read_bytes())
        ):
            return
    except OSError:
        pass
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link:
        tmp = dst.parent / f".{dst.name}.{os.getpid()}.link.tmp"
        try:
            if tmp.exists():
                tmp.unlink()
            os.link(src, tmp)
            os.replace(tmp, dst)
            return
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
    atomic_write(dst, src.read_bytes())


def merge(
    shards: list[str | os.PathLike],
    out: str | os.PathLike,
    link: bool = False,
    command: str = "",
    echo: Callable[[str], None] | None = None,
) -> dict:
    """Join complete shard builds (--shard 0/N ... N-1/N of one command) into `out`.

    Images are de-duplicated again across shards with the build's rule (first in concept, program,
    seed order), so the result (images, programs, metadata, failures) equals an unsharded build."""
    echo = echo or (lambda s: None)
    out = Path(out)
    dirs = [Path(s) for s in shards]
    infos = []
    for d in dirs:
        st = mf.read_json(d / mf.STATS)
        if st is None or st.get("format") is None:
            raise DatasetUsageError(f"{d}: not a dataset built by `vdsl dataset build` (no {mf.STATS})")
        if not st.get("complete") or st.get("kind") != "build":
            raise DatasetUsageError(f"{d}: not a finished shard build")
        infos.append(st)
    ns = {tuple(st["shard"])[1] for st in infos}
    if len(ns) != 1:
        raise DatasetUsageError(f"the shards come from different splits: {sorted(ns)} shards")
    n = ns.pop()
    got = sorted(st["shard"][0] for st in infos)
    if got != list(range(n)):
        missing = sorted(set(range(n)) - set(got))
        dup = sorted({i for i in got if got.count(i) > 1})
        raise DatasetUsageError(
            f"need each of the {n} shards once: "
            + (f"missing {', '.join(f'{i}/{n}' for i in missing)}" if missing else "")
            + (f"{'; ' if missing else ''}given twice {', '.join(f'{i}/{n}' for i in dup)}" if dup else "")
        )
    base = {k: v for k, v in infos[0]["config"].items() if k not in LOCAL_SETTINGS}
    for d, st in zip(dirs, infos):
        cfg = {k: v for k, v in st["config"].items() if k not in LOCAL_SETTINGS}
        if cfg != base:
            diff = ", ".join(k for k in sorted(set(cfg) | set(base)) if cfg.get(k) != base.get(k))
            raise DatasetUsageError(f"{d} was built with other settings than {dirs[0]} ({diff})")
    if out.exists():
        if not out.is_dir():
            raise DatasetUsageError(f"{out} is not a folder")
        prev = mf.read_json(out / mf.STATS)
        if any(out.iterdir()) and not (prev and prev.get("kind") == "merge"):
            raise DatasetUsageError(f"{out} is not empty and holds no merged dataset; choose a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)

    programs, candidates, failures, old_dups = [], [], [], []
    where: dict[str, Path] = {}
    order = sorted(range(len(dirs)), key=lambda k: infos[k]["shard"][0])
    for k in order:
        d = dirs[k]
        for p in mf.read_jsonl(d / mf.PROGRAMS):
            programs.append(
                {x: v for x, v in p.items() if x not in ("status", "images", "error")}
                | ({"status": "compile_error", "error": p.get("error")} if p.get("status") == "compile_error" else {})
            )
            where[p["program_file"]] = d
        for m in mf.read_jsonl(d / mf.METADATA):
            candidates.append(m)
            where[m["file_name"]] = d
        for f in mf.read_jsonl(d / mf.FAILURES):
            (old_dups if f.get("reason") == "duplicate" else failures).append(f)
    kept, _ = dedupe(candidates)
    fmt = base.get("format", "files")
    echo(f"merging {len(dirs)} shards: {len(kept)} images, {len(programs)} programs")
    source = None
    if fmt == "files":
        for m in kept:
            _place(where[m["file_name"]] / m["file_name"], out / m["file_name"], link, m.get("image_sha256"))
            if m.get("labels_file"):
                _place(where[m["file_name"]] / m["labels_file"], out / m["labels_file"], link)
    else:
        source = _shard_source(dirs)
    for p in programs:
        _place(where[p["program_file"]] / p["program_file"], out / p["program_file"], link)
    first = infos[order[0]]
    extra = {
        "kind": "merge",
        "shard": None,
        "command": command or "vdsl dataset merge",
        "build_command": first.get("command"),
        "merged_from": [d.as_posix() for d in dirs],
        "config": first["config"],
    }
    return write_dataset(
        out, programs, candidates, failures, old_dups, extra, fmt, base.get("shard_size", DEFAULT_SHARD_SIZE), source
    )


def _shard_source(dirs: list[Path]) -> Callable[[dict], bytes]:
    """PNG bytes of a row of a shard-format build, read from the shard it names in its folder
    (checked against the row's sha256, so a damaged shard stops the merge instead of spreading)."""
    from .readers import ShardError, ShardSet

    sets: dict[Path, tuple[ShardSet, dict]] = {}
    owner: dict[str, Path] = {}
    for d in dirs:
        ss = ShardSet(d)
        sets[d] = (ss, {s.key: s for s in ss.samples})
        for m in mf.read_jsonl(d / mf.METADATA):
            owner[m["key"]] = d

    def read(row: dict) -> bytes:
        d = owner[row["key"]]
        ss, by_key = sets[d]
        sample = by_key.get(row["key"])
        if sample is None:
            raise ShardError(f"{d}: {row['key']} is listed in {mf.METADATA} but in none of its shards; rebuild it")
        data = ss.image_bytes(sample)
        if row.get("image_sha256") and hashlib.sha256(data).hexdigest() != row["image_sha256"]:
            raise ShardError(f"{d}: the image of {row['key']} does not match its sha256; rebuild that shard")
        return data

    return read
