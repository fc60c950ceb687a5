"""Quality filters: blank or nearly uniform renders, and exact duplicate images within a concept."""

from __future__ import annotations

import numpy as np

DEFAULT_MIN_STD = 2.0  # on the 0..255 scale; below it in every RGBA channel a render is "blank"


def detail_std(rgba: np.ndarray) -> float:
    """The largest per-channel standard deviation of an RGBA render, on a grid of at most 64x64 pixels.

    Near 0 means blank or nearly uniform. Subsampling keeps the check ~20x cheaper than a render."""
    h, w = rgba.shape[:2]
    step = max(1, -(-max(h, w) // 64))  # at most 64 x 64 samples: int32 sums cannot overflow
    sub = rgba[::step, ::step].reshape(-1, rgba.shape[2])
    first = sub[0]
    if not (sub != first).any():  # exactly uniform: the common blank case, no float math
        return 0.0
    x = sub.astype(np.int32)  # exact integer sums: var = E[x^2] - E[x]^2
    n = x.shape[0]
    mean = x.sum(axis=0) / n
    var = np.einsum("ij,ij->j", x, x) / n - mean * mean
    return float(np.sqrt(max(0.0, float(var.max()))))


def is_blank(rgba: np.ndarray, min_std: float = DEFAULT_MIN_STD) -> tuple[bool, float]:
    std = detail_std(rgba)
    return std < min_std, std


def order_key(row: dict) -> tuple:
    """The one order of images in a dataset: concept, program, seed. Metadata lines follow it and
    de-duplication keeps the first image of each hash in it, so every build, resumed or sharded, agrees."""
    return (row["concept_id"], row["program"], int(row["seed"]))


def dedupe(candidates: list[dict], old_dups: list[dict] = ()) -> tuple[list[dict], list[dict]]:
    """Split rendered images (rows with concept_id, program, seed, image_sha256, file_name) into
    (kept, duplicates): within a concept only the first image of each hash, in order_key order, is kept.

    old_dups (duplicate rows found earlier, e.g. inside shards) are re-pointed at the image kept now,
    so a merge of shards reports exactly what an unsharded build would."""
    kept: list[dict] = []
    dups: list[dict] = []
    first: dict[tuple[str, str], str] = {}
    for row in sorted(candidates, key=order_key):
        k = (row["concept_id"], row["image_sha256"])
        if k in first:
            dups.append(_dup_row(row, first[k]))
        else:
            first[k] = row["file_name"]
            kept.append(row)
    for row in old_dups:
        k = (row["concept_id"], row["image_sha256"])
        d = dict(row)
        d["duplicate_of"] = first.get(k, row.get("duplicate_of"))
        d["detail"] = f"same image as {d['duplicate_of']}"
        dups.append(d)
    return kept, dups


def _dup_row(row: dict, of: str) -> dict:
    return {
        "concept_id": row["concept_id"],
        "concept": row["concept"],
        "tier": row["tier"],
        "program": row["program"],
        "seed": row["seed"],
        "file_name": row["file_name"],
        "reason": "duplicate",
        "detail": f"same image as {of}",
        "image_sha256": row["image_sha256"],
        "duplicate_of": of,
    }
