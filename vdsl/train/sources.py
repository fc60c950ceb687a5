"""The experiment's pre-training sources: the vdsl corpus and its subsets, the procedural baselines, real photos."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from pathlib import Path

from ..api import read_meta
from ..concepts import slugify
from .data import program_files

BASELINES = Path(__file__).with_name("baselines")  # dead_leaves_*.vd, fractal_ifs.vd
PROGRAM_SOURCES = {"dead_leaves": "dead_leaves_*.vd", "fractals": "fractal_ifs.vd"}
CORPUS_SOURCES = ("corpus", "corpus_25", "corpus_heldout", "tier_shapes", "tier_objects", "tier_scenes")
TRAINED = ("corpus", "dead_leaves", "fractals", "real", *CORPUS_SOURCES[1:])
LABELS = {
    "corpus": "vdsl corpus",
    "dead_leaves": "dead leaves",
    "fractals": "FractalDB-style fractals",
    "real": "real photos, no labels (anchor)",
    "random": "random init",
    "corpus_25": "corpus, 25 programs",
    "corpus_heldout": "corpus without the evaluation classes",
    "tier_shapes": "corpus, shapes tier",
    "tier_objects": "corpus, objects tier",
    "tier_scenes": "corpus, scenes tier",
    "corpus_supervised": "vdsl corpus, supervised*",
}
# The questions, each with the sources it needs and its comparisons (a - b).
QUESTIONS = {
    "main": {
        "title": "Pre-training source: vdsl corpus vs procedural baselines, random init and real photos",
        "sources": ("corpus", "dead_leaves", "fractals", "real", "random"),
        "pairs": (("corpus", "dead_leaves"), ("corpus", "fractals"), ("corpus", "random"), ("real", "corpus")),
    },
    "programs": {
        "title": "(a) Distinct programs vs seeds per program at a fixed image budget",
        "sources": ("corpus_25", "corpus"),
        "pairs": (("corpus", "corpus_25"),),
    },
    "classes": {
        "title": "(b) The corpus with vs without the evaluation classes",
        "sources": ("corpus_heldout", "corpus"),
        "pairs": (("corpus", "corpus_heldout"),),
    },
    "tiers": {
        "title": "(c) Tiers: shapes vs objects vs scenes",
        "sources": ("tier_shapes", "tier_objects", "tier_scenes"),
        "pairs": (("tier_objects", "tier_shapes"), ("tier_scenes", "tier_shapes"), ("tier_scenes", "tier_objects")),
    },
}
TIERS = {"tier_shapes": "shapes", "tier_objects": "objects", "tier_scenes": "scenes"}

# Every class of the real sets the corpus was written for (CIFAR-10, STL-10, Imagenette), with the
# names and kinds a program may use for it: a program whose concept names any of them is held out.
EVALUATION_CLASSES = {
    "airplane": ["airplane", "aeroplane", "plane", "jet", "airliner", "aircraft"],
    "automobile": ["automobile", "car", "sedan"],
    "bird": ["bird", "parrot"],
    "cat": ["cat", "kitten"],
    "deer": ["deer"],
    "dog": ["dog", "puppy", "english springer", "spaniel"],
    "frog": ["frog"],
    "horse": ["horse"],
    "ship": ["ship", "boat", "sailboat"],
    "truck": ["truck", "lorry", "garbage truck"],
    "monkey": ["monkey"],
    "tench": ["tench", "fish"],
    "cassette_player": ["cassette player", "cassette"],
    "chain_saw": ["chain saw", "chainsaw"],
    "church": ["church", "chapel"],
    "french_horn": ["french horn", "horn"],
    "gas_pump": ["gas pump", "petrol pump", "fuel pump"],
    "golf_ball": ["golf ball"],
    "parachute": ["parachute"],
}
_HELD_OUT = re.compile(
    r"\b("
    + "|".join(sorted({re.escape(w) for ws in EVALUATION_CLASSES.values() for w in ws}, key=len, reverse=True))
    + r")(s|es)?\b"
)


def held_out(concept: str) -> bool:
    """Whether a concept names an evaluation class (word match, plurals included)."""
    return bool(_HELD_OUT.search(re.sub(r"[^a-z0-9]+", " ", concept.lower())))


def corpus_programs(folder: str | os.PathLike) -> list[dict]:
    """Every .vd program of the corpus with its header: name (file stem), concept, tier."""
    root = Path(folder)
    out = []
    for p in program_files(root):
        meta = read_meta(p.read_text(encoding="utf-8"))
        out.append({"name": p.stem, "concept": meta.get("concept") or p.stem, "tier": meta.get("tier", "")})
    return out


def select_programs(source: str, programs: list[dict], subset: int = 25, seed: int = 0) -> list[str]:
    """The names of the corpus programs a corpus source renders (sorted)."""
    names = sorted(p["name"] for p in programs)
    if source == "corpus":
        return names
    if source == "corpus_25":
        if subset > len(names):
            raise ValueError(f"corpus_25: the corpus has {len(names)} programs, fewer than {subset}")
        return sorted(random.Random(seed).sample(names, subset))
    if source == "corpus_heldout":
        return sorted(p["name"] for p in programs if not held_out(p["concept"]))
    if source in TIERS:
        return sorted(p["name"] for p in programs if p["tier"] == TIERS[source])
    raise ValueError(f"{source} is not a corpus source; one of {', '.join(CORPUS_SOURCES)}")


def baseline_files(source: str) -> list[Path]:
    return sorted(BASELINES.glob(PROGRAM_SOURCES[source]))


def digest_files(files: list[Path]) -> str:
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def select_images(pool: Path, programs: list[str], images: int, out: Path) -> dict:
    """Link exactly `images` renders of `programs` from the pool (a `vdsl dataset build` folder) into
    out/images/CONCEPT/: round-robin over the programs, each program's seeds in order, so every
    program gives within one image of the same number."""
    rows = [json.loads(line) for line in (pool / "metadata.jsonl").read_text(encoding="utf-8").splitlines() if line]
    by_program: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: (r["program"], r["seed"])):
        by_program.setdefault(r["program"], []).append(r)
    missing = [p for p in programs if p not in by_program]
    if missing:
        raise ValueError(f"the pool has no images of {', '.join(missing[:5])}")
    chosen: list[dict] = []
    depth = 0
    while len(chosen) < images:
        took = False
        for p in programs:
            if depth < len(by_program[p]) and len(chosen) < images:
                chosen.append(by_program[p][depth])
                took = True
        if not took:
            raise ValueError(f"{len(programs)} programs have only {len(chosen)} images for a budget of {images}")
        depth += 1
    for r in chosen:
        dst = out / "images" / slugify(r["program"]) / Path(r["file_name"]).name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            os.symlink(os.path.relpath((pool / r["file_name"]).resolve(), dst.parent.resolve()), dst)
    counts: dict[str, int] = {}
    for r in chosen:
        counts[r["program"]] = counts.get(r["program"], 0) + 1
    return {"programs": programs, "images_per_program": counts}


def real_images(reals: list[str], images: int, size: int, out: Path, seed: int = 0) -> dict:
    """The real-photo anchor's data: `images` train photos (no labels are used), balanced over the
    real sets and their classes, resized (shorter side) and centre-cropped to `size` as PNG."""
    from PIL import Image

    from .data import IMAGE_EXTS, resolve_real

    pools = []
    for r in reals:
        root = resolve_real(r) / "train"
        for c in sorted(d.name for d in root.iterdir() if d.is_dir()):
            files = sorted(p for p in (root / c).iterdir() if p.suffix.lower() in IMAGE_EXTS)
            random.Random(f"{seed}:{r}:{c}").shuffle(files)
            pools.append((f"{Path(r).name}__{c}", files))
    chosen: list[tuple[str, Path]] = []
    depth = 0
    while len(chosen) < images:
        took = False
        for name, files in pools:
            if depth < len(files) and len(chosen) < images:
                chosen.append((name, files[depth]))
                took = True
        if not took:
            raise ValueError(f"only {len(chosen)} real train photos for a budget of {images}")
        depth += 1
    for name, f in chosen:
        dst = out / "images" / name / (f.stem + ".png")
        dst.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(f) as im:
            im = im.convert("RGB")
            s = size / min(im.size)
            im = im.resize((max(size, round(im.width * s)), max(size, round(im.height * s))), Image.BILINEAR)
            left, top = (im.width - size) // 2, (im.height - size) // 2
            im.crop((left, top, left + size, top + size)).save(dst)
    return {"reals": list(reals), "photos": len(chosen)}
