"""`vdsl dataset build`: plan programs x seeds, render them in worker processes, journal every result, then filter, de-duplicate and write the dataset."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable

from ..atomic import atomic_write
from ..budgets import DEFAULT, Budgets
from ..cores import usable_cores
from ..errors import IncompleteRun, UsageError
from ..modules import read_regular_file
from ..version import __version__
from . import manifest as mf
from .card import render_card
from .coco import labels_file
from .filters import DEFAULT_MIN_STD, dedupe, order_key
from .sources import ProgramSpec, SourceError, scan_folder, shard_of, unique_names
from .stats import compute
from ..sandbox import DEFAULT_MEMORY_LIMIT
from .worker import CRASH, IO_ERROR, MEMORY, OK, SKIPPED, TIMEOUT, RenderSettings, Unit
from .writers import DEFAULT_SHARD_SIZE, FORMATS, make_writer, shard_key, write_index

FORMAT = "vdsl-dataset/1"
RETRYABLE = (TIMEOUT, MEMORY, CRASH, SKIPPED)


class DatasetUsageError(UsageError):
    """A build that cannot start as asked (folder in use, settings differ from the folder's): exit 2."""


class BuildIncomplete(IncompleteRun):
    """The build stopped before every image was tried (interrupted, endpoint failed): exit 1; rerun to finish."""


@dataclass
class BuildOptions:
    out: Path
    programs: tuple[Path, ...] = ()
    concepts: str | None = None  # a tier name or a concept list file
    programs_per_concept: int = 1
    refine_rounds: int = 0
    max_repairs: int = 3
    keep_drafts: bool = False
    llm: dict = field(default_factory=dict)
    variants: int = 4
    seed_start: int = 0
    size: tuple[int, int] = (128, 128)
    workers: int = 0  # 0: one per core
    timeout: float = 60.0  # seconds per render before its worker is killed
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT  # bytes of address space per worker above its own
    min_std: float = DEFAULT_MIN_STD
    budgets: Budgets = DEFAULT
    shard: tuple[int, int] = (0, 1)
    retry_failed: bool = False
    progress: bool = True
    chunk: int = 16  # most seeds in one unit of work
    labels: bool = False  # COCO boxes and masks per image and annotations.coco.json for the dataset
    engine: str = "local"  # local (process pool) | ray (Ray tasks); the outputs are the same
    ray_address: str | None = None  # --engine ray: a cluster's address (None: a local Ray instance)
    command: str = "vdsl dataset build"
    stdlib: str = "all"  # what programs may `use` (all, shapes, none); a program using more is a failure (E219)
    format: str = "files"  # files | webdataset | parquet (writers.FORMATS)
    shard_size: int = DEFAULT_SHARD_SIZE  # images per shard (shard formats)


def render_config(o: BuildOptions) -> dict:
    """What decides the bytes of every image: a folder built with other values cannot be resumed."""
    return (
        {
            "size": list(o.size),
            "budgets": asdict(o.budgets),
            "min_std": o.min_std,
            "vdsl": __version__,
            "shard": list(o.shard),
        }
        | _format_config(o)
        | ({"labels": True} if o.labels else {})
        | ({"stdlib": o.stdlib} if o.stdlib != "all" else {})
    )  # absent for defaults: older folders still resume


def _format_config(o) -> dict:
    """The output format, when it is not the image folder (so folders built before formats existed still resume)."""
    return {} if o.format == "files" else {"format": o.format, "shard_size": o.shard_size}


def image_file(key: str, seed: int) -> str:
    return f"{mf.IMAGES}/{key}_{seed}.png"


def stage_dir(out: Path, fmt: str) -> Path:
    """Where workers write PNGs: images/ itself for the files format; for shard formats a staging
    folder inside the build state, packed into shards when the build ends (and kept for resume)."""
    return out / mf.IMAGES if fmt == "files" else out / mf.STATE_DIR / mf.IMAGES


def file_name(fmt: str, folder: str, name: str, seed: int) -> str:
    """A row's file_name: relative to the dataset folder (files) or the member name in its shard."""
    return f"{mf.IMAGES}/{folder}/{name}_{seed}.png" if fmt == "files" else f"{shard_key(folder, name, seed)}.png"


# ----------------------------------------------------------------------------- the build
def build(o: BuildOptions, echo: Callable[[str], None] | None = None) -> dict:
    """Build (or finish) the dataset in o.out; returns its stats.json content."""
    echo = echo or (lambda s: print(s, file=sys.stderr))
    out = Path(o.out)
    state = out / mf.STATE_DIR
    if o.format not in FORMATS:
        raise DatasetUsageError(f"unknown format {o.format!r}; one of {', '.join(FORMATS)}")
    if o.labels:
        if o.format != "files":
            raise DatasetUsageError(
                "--labels writes COCO files beside the images: use it with --format files "
                "(labels inside WebDataset/Parquet shards are not supported yet)"
            )
        from .coco import require

        require()
    _check_folder(out, state)
    state.mkdir(parents=True, exist_ok=True)
    lock = mf.BuildLock(state / mf.LOCK)
    if not lock.acquire():
        raise DatasetUsageError(f"{out} is being built by another process")
    journal = mf.Journal(state / mf.JOURNAL)
    try:
        cfg = render_config(o)
        old = mf.read_json(state / mf.CONFIG)
        if old is not None and old != cfg:
            diff = ", ".join(f"{k} {old.get(k)} -> {cfg[k]}" for k in cfg if old.get(k) != cfg[k])
            raise DatasetUsageError(f"{out} was built with other settings ({diff}); build into a new folder")
        if old is None:
            atomic_write(state / mf.CONFIG, mf.dumps(cfg) + "\n")

        specs, failures = _collect_sources(o, out, state, echo)
        _save_programs(out, specs)
        records = journal.load()
        done, compile_err = _index(records, o.retry_failed)
        seeds = list(range(o.seed_start, o.seed_start + o.variants))
        units, todo = _plan(out, specs, seeds, done, compile_err, o)
        journal.open()
        if units:
            _render(o, out, units, todo, journal, done, compile_err, echo, inherited=(lock.fd, journal.fd))
        stats = finalize(out, o, specs, seeds, done, compile_err, failures)
        return stats
    finally:
        journal.close()
        lock.release()


def _check_folder(out: Path, state: Path) -> None:
    if out.exists() and not out.is_dir():
        raise DatasetUsageError(f"{out} is not a folder")
    if out.is_dir() and not state.is_dir() and any(out.iterdir()):
        raise DatasetUsageError(f"{out} is not empty and holds no dataset build; choose a new or empty folder")


def _collect_sources(o: BuildOptions, out: Path, state: Path, echo) -> tuple[list[ProgramSpec], list[dict]]:
    specs: list[ProgramSpec] = []
    failures: list[dict] = []
    if not o.programs and not o.concepts:
        raise SourceError("nothing to build: give --programs DIR and/or --concepts TIER_OR_FILE")
    i, n = o.shard
    for d in o.programs:
        s, skipped = scan_folder(d, exclude=[out])
        specs += s
        failures += skipped
    specs = [s for s in unique_names(specs) if shard_of(s.key, n) == i]  # unique per folder over all dirs
    failures = [f for f in failures if shard_of(f"{f.get('concept_id')}/{f['program']}", n) == i]
    if o.concepts:  # generate() shards by (concept, j) itself
        from .generate import generate, load_concept_entries

        entries = load_concept_entries(o.concepts)
        s, f = generate(
            entries,
            o.programs_per_concept,
            o.refine_rounds,
            o.max_repairs,
            state,
            o.shard,
            o.llm,
            o.keep_drafts,
            echo,
            stdlib=o.stdlib,
        )
        keys = {x.key: x for x in specs}
        for x in s:
            if x.key in keys:
                raise SourceError(f"program {x.key} of the LLM clashes with {keys[x.key].origin}; rename that file")
        specs += s
        failures += f
    return sorted(specs, key=lambda s: (s.concept_id, s.name)), failures


def _save_programs(out: Path, specs: list[ProgramSpec]) -> None:
    """programs/<concept>/<name>.vd for every program, so the dataset carries its sources."""
    made: set[Path] = set()
    for s in specs:
        p = out / s.program_file
        if p.parent not in made:
            p.parent.mkdir(parents=True, exist_ok=True)
            made.add(p.parent)
        try:
            if read_regular_file(p, len(s.data) + 1) == s.data:  # never blocks on a FIFO put there
                continue
        except OSError:
            pass
        atomic_write(p, s.data)


def _index(records: list[dict], retry_failed: bool):
    """The journal as lookups: (key, hash, seed) -> (status, sha256, detail); (key, hash) -> compile error."""
    done: dict[tuple, tuple] = {}
    compile_err: dict[tuple, str] = {}
    for r in records:
        t = r.get("t")
        if t == "img":
            if retry_failed and r.get("st") in RETRYABLE:
                continue
            done[(r["k"], r["h"], r["s"])] = (r["st"], r.get("sha"), r.get("d"))
        elif t == "prog":
            if retry_failed and r.get("retry"):
                continue
            compile_err[(r["k"], r["h"])] = r["err"]
    return done, compile_err


def _complete(out: Path, key: str, seed: int, labels: bool) -> bool:
    """The image file (and its labels file, when labelling) are on disk."""
    f = image_file(key, seed)
    return os.path.exists(out / f) and (not labels or os.path.exists(out / labels_file(f)))


def _plan(
    out: Path, specs: list[ProgramSpec], seeds: list[int], done: dict, compile_err: dict, o: BuildOptions
) -> tuple[list[Unit], int]:
    """Units of (program, seeds) still to render. A recorded image whose file has gone is rendered
    again, unless an earlier recorded image of its concept has the same hash (a dropped duplicate)."""
    first: dict[tuple[str, str], tuple] = {}
    for s in specs:
        for seed in seeds:
            r = done.get((s.key, s.hash, seed))
            if r and r[0] == OK:
                k = (s.concept_id, r[1])
                ok = (s.concept_id, s.name, seed)
                if k not in first or ok < first[k]:
                    first[k] = ok
    per_program: list[tuple[ProgramSpec, list[int]]] = []
    total = 0
    stage = stage_dir(out, o.format)
    for s in specs:
        if (s.key, s.hash) in compile_err:
            continue
        need = []
        for seed in seeds:
            r = done.get((s.key, s.hash, seed))
            if r is None:
                need.append(seed)
            elif (
                r[0] == OK
                and not (
                    _complete(out, s.key, seed, o.labels)
                    if o.format == "files"
                    else os.path.exists(stage / f"{s.key}_{seed}.png")
                )
                and first.get((s.concept_id, r[1])) == (s.concept_id, s.name, seed)
            ):
                del done[(s.key, s.hash, seed)]
                need.append(seed)
        if need:
            per_program.append((s, need))
            total += len(need)
    workers = o.workers or usable_cores()
    # chunks small enough to spread over the workers, big enough to keep messages rare
    chunk = max(1, min(o.chunk, math.ceil(total / max(1, 4 * workers))))
    units = []
    for s, need in per_program:
        (stage / s.folder).mkdir(parents=True, exist_ok=True)
        for a in range(0, len(need), chunk):
            units.append(
                Unit(
                    len(units),
                    s.key,
                    s.hash,
                    s.data,
                    s.origin,
                    str((stage / s.folder).resolve()),
                    s.name,
                    tuple(need[a : a + chunk]),
                )
            )
    return units, total


def _render(
    o: BuildOptions,
    out: Path,
    units: list[Unit],
    total: int,
    journal: mf.Journal,
    done: dict,
    compile_err: dict,
    echo,
    inherited: tuple = (),
) -> None:
    from .engine import make_engine
    from .progress import BuildProgress

    settings = RenderSettings(tuple(o.size), o.budgets, o.min_std, o.memory_limit, labels=o.labels, stdlib=o.stdlib)
    workers = min(o.workers or usable_cores(), len(units)) if o.engine == "local" or not o.ray_address else o.workers
    # workers close the lock and journal they inherit: the lock dies with this process alone
    close = tuple(x for x in inherited if x is not None)
    pool = make_engine(o.engine, workers, settings, o.timeout, close, o.ray_address)
    workers = pool.workers
    where = "" if o.engine == "local" else " on Ray"
    bar = BuildProgress(total, enabled=o.progress, label=f"rendering ({workers} worker{'s' * (workers != 1)}{where})")
    counts = {"ok": 0}

    def on_result(unit: Unit, err: str | None, results: list) -> None:
        if err is not None:
            rec = {"t": "prog", "k": unit.key, "h": unit.hash, "err": err}
            if err.startswith(("compiling took longer", "worker died")):
                rec["retry"] = True
            journal.append([rec])
            compile_err[(unit.key, unit.hash)] = err
            bar.advance(len(unit.seeds))
            return
        bad = next((r for r in results if r[1] == IO_ERROR), None)
        if bad is not None:
            raise BuildIncomplete(f"{bad[4]}; fix that and rerun the same command to continue")
        recs = []
        for seed, st, sha, nbytes, detail in results:
            r = {"t": "img", "k": unit.key, "h": unit.hash, "s": seed, "st": st}
            if sha is not None:
                r["sha"] = sha
                r["n"] = nbytes
            if detail:
                r["d"] = detail
            recs.append(r)
            done[(unit.key, unit.hash, seed)] = (st, sha, detail)
            counts["ok"] += st == OK
        journal.append(recs)  # one write per unit: the files are in place already
        bar.advance(len(results))

    t0 = time.perf_counter()
    try:
        with bar:
            pool.run(units, on_result)
    except KeyboardInterrupt:
        pool.terminate()
        raise BuildIncomplete("interrupted; finished work is recorded, rerun the same command to continue") from None
    dt = time.perf_counter() - t0
    echo(
        f"rendered {total} images in {dt:.1f}s ({total / dt if dt > 0 else 0:.0f} images/s, "
        f"{workers} worker{'s' * (workers != 1)}{where})"
    )


# ----------------------------------------------------------------------------- finishing
def finalize(
    out: Path,
    o: BuildOptions,
    specs: list[ProgramSpec],
    seeds: list[int],
    done: dict,
    compile_err: dict,
    failures: list[dict],
) -> dict:
    """Turn the journal into the dataset: filter, de-duplicate, write metadata, failures, programs,
    stats and the card (each atomically), and delete files that are not part of the result."""
    w, h = o.size
    programs, candidates, fails = [], [], list(failures)
    for s in specs:
        info = s.info()
        err = compile_err.get((s.key, s.hash))
        if err is not None:
            info["status"], info["error"] = "compile_error", err
            fails.append(
                {
                    "concept_id": s.concept_id,
                    "concept": s.concept,
                    "tier": s.tier,
                    "program": s.name,
                    "seed": None,
                    "file_name": s.program_file,
                    "reason": "compile_error",
                    "detail": err,
                }
            )
            programs.append(info)
            continue
        programs.append(info)
        for seed in seeds:
            r = done.get((s.key, s.hash, seed))
            if r is None:
                raise BuildIncomplete(f"{s.key} seed {seed} was not rendered; rerun the same command to finish")
            if r[0] == OK:
                candidates.append(metadata_row(s, seed, w, h, r[1], o.labels, o.format))
            else:
                fails.append(
                    {
                        "concept_id": s.concept_id,
                        "concept": s.concept,
                        "tier": s.tier,
                        "program": s.name,
                        "seed": seed,
                        "file_name": file_name(o.format, s.folder, s.name, seed),
                        "reason": r[0],
                        "detail": r[2],
                    }
                )
    stats_extra = {"kind": "build", "shard": list(o.shard), "command": o.command, "config": build_config(o)}
    source = None
    if o.format != "files":  # the files format's images are in place already
        stage = stage_dir(out, o.format)
        staged = {
            file_name(o.format, s.folder, s.name, seed): stage / f"{s.key}_{seed}.png" for s in specs for seed in seeds
        }
        source = lambda row: staged[row["file_name"]]
    return write_dataset(out, programs, candidates, fails, [], stats_extra, o.format, o.shard_size, source)


def metadata_row(s: ProgramSpec, seed: int, w: int, h: int, sha: str, labels: bool = False, fmt: str = "files") -> dict:
    """One metadata.jsonl line (Hugging Face imagefolder: file_name relative to the dataset folder;
    shard formats: the member name, with the sample's key and shard added when it is written)."""
    return {
        "file_name": file_name(fmt, s.folder, s.name, seed),
        "concept": s.concept,
        "concept_id": s.concept_id,
        "tier": s.tier,
        "program": s.name,
        "program_hash": s.hash,
        "program_file": s.program_file,
        "seed": seed,
        "model": s.model,
        "refine_round": s.refine_round,
        "width": w,
        "height": h,
        "image_sha256": sha,
    } | ({"labels_file": labels_file(image_file(s.key, seed))} if labels else {})


def build_config(o: BuildOptions) -> dict:
    return (
        {
            "size": list(o.size),
            "variants": o.variants,
            "seed_start": o.seed_start,
            "budgets": {k: v for k, v in asdict(o.budgets).items() if getattr(DEFAULT, k) != v},
            "min_std": o.min_std,
            "timeout": o.timeout,
            "memory_limit": o.memory_limit,
            "programs": [Path(p).as_posix() for p in o.programs],
            "concepts": o.concepts,
            "programs_per_concept": o.programs_per_concept if o.concepts else None,
            "refine_rounds": o.refine_rounds if o.concepts else None,
            "vdsl": __version__,
        }
        | _format_config(o)
        | ({"labels": True} if o.labels else {})
    )


def failure_key(f: dict) -> tuple:
    return (
        f.get("concept_id") or "",
        f.get("program") or "",
        -1 if f.get("seed") is None else int(f["seed"]),
        f.get("reason") or "",
    )


def program_key(p: dict) -> tuple:
    return (p["concept_id"], p["program"])


def write_dataset(
    out: Path,
    programs: list[dict],
    candidates: list[dict],
    failures: list[dict],
    old_dups: list[dict],
    stats_extra: dict,
    fmt: str = "files",
    shard_size: int = DEFAULT_SHARD_SIZE,
    source: Callable[[dict], Path | bytes] | None = None,
    extra: Callable[[dict], dict[str, bytes]] | None = None,
) -> dict:
    """The shared last step of build and merge: de-duplicate, count, write every output file.
    source(row) gives a kept image's PNG (bytes or a file) for the format's writer (the files
    format's build renders in place, so source may be left out there); extra(row) gives files
    stored with the image (suffix -> bytes: beside it, or as members of its sample)."""
    kept, dups = dedupe(candidates, old_dups)
    failures = sorted(failures + dups, key=failure_key)
    per_prog: dict[tuple, int] = {}
    for m in kept:
        per_prog[(m["concept_id"], m["program"])] = per_prog.get((m["concept_id"], m["program"]), 0) + 1
    rows = []
    for p in sorted(programs, key=program_key):
        p = dict(p)
        n = per_prog.get(program_key(p), 0)
        if p.get("status") != "compile_error":
            p["status"] = "ok" if n else "no_images"
            p["error"] = None
        p["images"] = n
        rows.append(p)
    kept.sort(key=order_key)
    if fmt == "files":
        keep_files = {m["file_name"] for m in kept} | {m["labels_file"] for m in kept if m.get("labels_file")}
        if source is not None or extra is not None:
            files = make_writer(fmt, out)
            for m in kept:
                src = source(m) if source is not None else out / m["file_name"]
                more = extra(m) if extra is not None else None
                files.add(m["file_name"][: -len(".png")], src, m, more)
                keep_files |= {f"{m['file_name'][: -len('.png')]}.{x}" for x in more or {}}
        mf.remove_stray_files(out / mf.IMAGES, keep_files, out)
    else:
        assert source is not None, "shard formats need the images' source"
        writer = make_writer(fmt, out, shard_size)
        writer.open()
        keep_staged = set()
        packed = []
        for m in kept:
            src = source(m)
            if isinstance(src, Path):
                keep_staged.add(src.relative_to(out).as_posix() if src.is_relative_to(out) else "")
            packed.append(writer.add(m["file_name"][: -len(".png")], src, m, extra(m) if extra is not None else None))
        write_index(out, fmt, shard_size, writer.close())
        kept = packed
        mf.remove_stray_files(stage_dir(out, fmt), keep_staged, out)
    mf.remove_stray_files(out / mf.PROGRAM_DIR, {p["program_file"] for p in rows}, out)
    atomic_write(out / mf.METADATA, mf.jsonl_text(kept))
    atomic_write(out / mf.FAILURES, mf.jsonl_text(failures))
    atomic_write(out / mf.PROGRAMS, mf.jsonl_text(rows))
    if any(m.get("labels_file") for m in kept):
        from .coco import dumps, merge_documents

        doc = merge_documents(out, [m for m in kept if m.get("labels_file")])
        atomic_write(out / mf.COCO, dumps(doc))
        stats_extra = stats_extra | {
            "labels": {"file": mf.COCO, "annotations": len(doc["annotations"]), "categories": len(doc["categories"])}
        }
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out / mf.COCO)
    stats = {"format": FORMAT, "complete": True, **stats_extra, "counts": compute(kept, failures, rows, out)}
    atomic_write(out / mf.CARD, render_card(stats))
    atomic_write(out / mf.STATS, mf.dumps_pretty(stats))
    return stats
