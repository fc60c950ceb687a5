"""Counts of a dataset per concept and tier, failures by reason, sizes on disk; read back from a dataset folder."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from . import manifest
import contextlib

# every reason a program or an image is dropped, in report order
PROGRAM_REASONS = ("no_concept", "generation_failed", "compile_error")
IMAGE_REASONS = ("budget", "eval_error", "error", "timeout", "memory", "crash", "skipped", "blank", "duplicate")
# `*.vd` entries of a programs folder that are not programs (sources.SKIP_REASONS): never read as one
FILE_REASONS = ("not_a_file", "folder", "broken_symlink", "unreadable", "not_utf8")
REASON_TEXT = {
    "no_concept": "files without a `// concept:` header",
    "generation_failed": "LLM programs that never compiled (after repairs)",
    "compile_error": "programs that fail to compile",
    "budget": "renders over a budget (E4xx)",
    "eval_error": "renders with an evaluation error (E3xx)",
    "error": "renders that raised an unexpected error",
    "timeout": "renders past the time limit (worker killed)",
    "memory": "renders over the memory cap (E413)",
    "crash": "renders whose worker died",
    "skipped": "renders not tried after a timeout/crash of the same program",
    "blank": "blank or nearly uniform renders",
    "duplicate": "exact duplicate images within a concept",
    "not_a_file": "*.vd entries that are FIFOs, sockets or devices (never opened)",
    "folder": "folders named *.vd",
    "broken_symlink": "*.vd symlinks that lead nowhere",
    "unreadable": "*.vd files that cannot be read",
    "not_utf8": "*.vd files that are not UTF-8 text",
}
UNTIERED = "(none)"


def compute(
    metadata: list[dict], failures: list[dict], programs: list[dict], root: str | os.PathLike | None = None
) -> dict:
    """Counts from the three record lists. With root, also the bytes of the kept images on disk
    (of their shards, for the shard formats)."""
    per: dict[str, dict] = {}

    def entry(cid: str, concept, tier) -> dict:
        if cid not in per:
            per[cid] = {
                "concept": concept,
                "tier": tier,
                "programs": 0,
                "programs_failed": 0,
                "images": 0,
                "dropped": {},
            }
        return per[cid]

    for p in programs:
        e = entry(p["concept_id"], p["concept"], p["tier"])
        e["programs"] += 1
        if p.get("status") == "compile_error":
            e["programs_failed"] += 1
    for m in metadata:
        entry(m["concept_id"], m["concept"], m["tier"])["images"] += 1
    dropped: Counter = Counter()
    for f in failures:
        dropped[f["reason"]] += 1
        if f.get("concept_id") is not None and f["reason"] in IMAGE_REASONS:
            d = entry(f["concept_id"], f["concept"], f["tier"])["dropped"]
            d[f["reason"]] = d.get(f["reason"], 0) + 1
    tiers: dict[str, dict] = {}
    for cid in sorted(per):
        e = per[cid]
        e["dropped"] = {r: e["dropped"][r] for r in IMAGE_REASONS if r in e["dropped"]}
        t = tiers.setdefault(
            e["tier"] or UNTIERED, {"concepts": 0, "programs": 0, "programs_failed": 0, "images": 0, "dropped": 0}
        )
        t["concepts"] += 1
        t["programs"] += e["programs"]
        t["programs_failed"] += e["programs_failed"]
        t["images"] += e["images"]
        t["dropped"] += sum(e["dropped"].values())
    sizes = Counter(f"{m['width']}x{m['height']}" for m in metadata if "width" in m)
    out = {
        "images": len(metadata),
        "concepts": sum(1 for e in per.values() if e["images"]),
        "concepts_total": len(per),
        "programs": len(programs),
        "programs_ok": sum(1 for p in programs if p.get("status") == "ok"),
        "programs_failed": {r: dropped.get(r, 0) for r in PROGRAM_REASONS},
        "images_dropped": {r: dropped.get(r, 0) for r in IMAGE_REASONS},
        "files_skipped": {r: dropped.get(r, 0) for r in FILE_REASONS},
        "image_sizes": dict(sorted(sizes.items())),
        "tiers": dict(sorted(tiers.items())),
        "per_concept": {cid: per[cid] for cid in sorted(per)},
    }
    if root is not None:
        total = 0
        shards = {m["shard"] for m in metadata if m.get("shard")}
        for name in sorted(shards) if shards else (m["file_name"] for m in metadata):
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_size
        out["bytes"] = total
    return out


def load(root: str | os.PathLike) -> dict:
    """stats.json of a finished dataset, recomputed from its files when it is missing."""
    root = Path(root)
    st = manifest.read_json(root / manifest.STATS)
    if st is None:
        meta = manifest.read_jsonl(root / manifest.METADATA)
        if not meta and not (root / manifest.IMAGES).is_dir():
            raise FileNotFoundError(f"{root}: not a vdsl dataset (no {manifest.STATS} or {manifest.METADATA})")
        st = {
            "complete": None,
            "counts": compute(
                meta, manifest.read_jsonl(root / manifest.FAILURES), manifest.read_jsonl(root / manifest.PROGRAMS), root
            ),
        }
    return st


def human_bytes(n: int) -> str:
    f = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if f < 1024 or unit == "TB":
            return f"{f:.0f} {unit}" if unit == "B" else f"{f:.1f} {unit}"
        f /= 1024
    return f"{n} B"


def summary_lines(counts: dict) -> list[str]:
    """A few plain lines: totals and every non-zero drop reason."""
    c = counts
    lines = [
        f"{c['images']} images of {c['concepts']} concepts from {c['programs_ok']}/{c['programs']} programs"
        + (f", {human_bytes(c['bytes'])}" if "bytes" in c else "")
    ]
    for r in PROGRAM_REASONS:
        if c["programs_failed"].get(r):
            lines.append(f"  dropped {c['programs_failed'][r]} {REASON_TEXT[r]}")
    for r in IMAGE_REASONS:
        if c["images_dropped"].get(r):
            lines.append(f"  dropped {c['images_dropped'][r]} {REASON_TEXT[r]}")
    for r in FILE_REASONS:
        if c.get("files_skipped", {}).get(r):
            lines.append(f"  skipped {c['files_skipped'][r]} {REASON_TEXT[r]}")
    return lines


def markdown_tables(counts: dict, max_concepts: int | None = None) -> str:
    """Markdown: totals, drops by reason, per tier, per concept (the dataset card and `stats --format md`)."""
    c = counts
    out = [
        "| | count |",
        "|---|---:|",
        f"| images | {c['images']} |",
        f"| concepts with images | {c['concepts']} |",
        f"| programs | {c['programs']} |",
        f"| programs with kept images | {c['programs_ok']} |",
    ]
    if "bytes" in c:
        out.append(f"| size on disk | {human_bytes(c['bytes'])} |")
    out.append(f"| image sizes | {', '.join(f'{k} ({v})' for k, v in c['image_sizes'].items()) or '-'} |")
    out += ["", "Dropped, never silently:", "", "| reason | count |", "|---|---:|"]
    for r in PROGRAM_REASONS:
        out.append(f"| {REASON_TEXT[r]} | {c['programs_failed'].get(r, 0)} |")
    for r in IMAGE_REASONS:
        out.append(f"| {REASON_TEXT[r]} | {c['images_dropped'].get(r, 0)} |")
    for r in FILE_REASONS:
        if c.get("files_skipped", {}).get(r):
            out.append(f"| {REASON_TEXT[r]} | {c['files_skipped'][r]} |")
    out += [
        "",
        "| tier | concepts | programs | failed to compile | images | images dropped |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t, e in c["tiers"].items():
        out.append(
            f"| {t} | {e['concepts']} | {e['programs']} | {e['programs_failed']} | {e['images']} | {e['dropped']} |"
        )
    out += ["", "| concept | tier | programs | failed to compile | images | dropped |", "|---|---|---:|---:|---:|---|"]
    items = list(c["per_concept"].items())
    for cid, e in items[:max_concepts] if max_concepts else items:
        drops = ", ".join(f"{r} {n}" for r, n in e["dropped"].items()) or "-"
        out.append(
            f"| {e['concept']} (`{cid}`) | {e['tier'] or UNTIERED} | {e['programs']} | "
            f"{e['programs_failed']} | {e['images']} | {drops} |"
        )
    if max_concepts and len(items) > max_concepts:
        out.append(f"| … {len(items) - max_concepts} more (see stats.json) | | | | | |")
    return "\n".join(out) + "\n"
