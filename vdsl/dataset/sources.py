"""Program sources: folders of .vd files with a `// concept:` header, and LLM-generated programs per concept."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ..api import read_meta
from ..concepts import slugify
from ..errors import UsageError
from ..modules import NotRegularFile, file_kind, os_reason, read_regular_file

_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")


class SourceError(UsageError):
    """A source that cannot be used at all (missing folder, no LLM endpoint): the command exits 2."""


@dataclass(frozen=True)
class ProgramSpec:
    """One program of the dataset and where its images go: images/<folder>/<name>_<seed>.png."""

    concept_id: str  # "objects/car" (tier/slug), or the slug when the program names no tier
    concept: str  # "car"
    tier: str | None
    folder: str  # class folder under images/ and programs/: the concept's slug
    name: str  # unique within the folder
    data: bytes  # the source
    hash: str  # sha256 of the source, 16 hex digits
    origin: str  # the file it came from, or "llm:<model>"
    model: str | None = None
    refine_round: int | None = None

    @property
    def key(self) -> str:
        """Unique within a dataset; the unit of sharding and of the journal."""
        return f"{self.folder}/{self.name}"

    @property
    def program_file(self) -> str:
        return f"programs/{self.folder}/{self.name}.vd"

    def info(self) -> dict:
        """The program's row in programs.jsonl (status and counts are added when the build ends)."""
        return {
            "concept_id": self.concept_id,
            "concept": self.concept,
            "tier": self.tier,
            "program": self.name,
            "program_hash": self.hash,
            "program_file": self.program_file,
            "origin": self.origin,
            "model": self.model,
            "refine_round": self.refine_round,
        }


def program_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def concept_ids(concept: str, tier: str | None) -> tuple[str, str]:
    """(concept_id, folder) for a concept name and tier, matching vdsl.concepts ids ("objects/car")."""
    slug = slugify(concept)
    return (f"{slugify(tier)}/{slug}" if tier else slug), slug


def safe_name(stem: str) -> str:
    return _NAME_BAD.sub("_", stem).strip("._") or "program"


def _int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


# why a `*.vd` entry of a programs folder is not a program: every one is a failure row, counted
SKIP_REASONS = ("not_a_file", "folder", "broken_symlink", "unreadable", "not_utf8")


def _skip(path: Path, reason: str, detail: str) -> dict:
    return {
        "concept_id": None,
        "concept": None,
        "tier": None,
        "program": path.as_posix(),
        "seed": None,
        "file_name": None,
        "reason": reason,
        "detail": detail,
    }


def _inside(p: Path, excl: list[Path]) -> bool:
    try:
        rp = p.resolve()
    except (OSError, RuntimeError):
        return False
    return any(rp == e or e in rp.parents for e in excl)


def _entries(root: Path, excl: list[Path], skipped: list[dict]) -> list[Path]:
    """Every non-hidden `*.vd` entry under root (files, folders, symlinks, FIFOs ...), sorted; symlinked
    folders are not descended into (as before: Path.rglob does not follow them either)."""
    found: list[Path] = []

    def unreadable_dir(e: OSError) -> None:
        p = Path(e.filename) if e.filename else root
        if p != root:
            skipped.append(_skip(p, "unreadable", f"cannot list the folder: {os_reason(e)}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable_dir, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            full = here / d
            if d.startswith(".") or (excl and _inside(full, excl)):
                continue
            if d.endswith(".vd"):
                found.append(full)
            if not full.is_symlink():
                keep.append(d)
        dirnames[:] = keep
        found += [here / f for f in filenames if f.endswith(".vd") and not f.startswith(".")]
    return sorted(found)


def _read_program(p: Path) -> tuple[bytes | None, dict | None]:
    """(the file's bytes, None), or (None, a skip row). Never opens a FIFO, socket or device."""
    try:
        st = os.stat(p)
    except (OSError, ValueError) as e:
        if os.path.islink(p):
            why = "a symlink loop" if getattr(e, "errno", None) == errno.ELOOP else "its target does not exist"
            return None, _skip(p, "broken_symlink", f"a symlink that leads nowhere ({why})")
        return None, _skip(p, "unreadable", f"cannot read it: {os_reason(e)}")
    if stat.S_ISDIR(st.st_mode):
        why = (
            "a symlink to a folder, named like a program (*.vd): not followed"
            if os.path.islink(p)
            else "a folder named like a program (*.vd); the files in it are scanned"
        )
        return None, _skip(p, "folder", why)
    if not stat.S_ISREG(st.st_mode):
        return None, _skip(p, "not_a_file", f"{file_kind(st.st_mode)}, not a regular file: never read")
    try:
        data = read_regular_file(p)
    except NotRegularFile as e:
        return None, _skip(p, "not_a_file", f"{e.kind}, not a regular file: never read")
    except OSError as e:
        return None, _skip(p, "unreadable", f"cannot read it: {os_reason(e)}")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, _skip(p, "not_utf8", f"not UTF-8 text (byte {e.start})")
    return data, None


def scan_folder(root: str | Path, exclude: list[Path] = ()) -> tuple[list[ProgramSpec], list[dict]]:
    """Every .vd file under root (sorted, hidden folders skipped) that declares `// concept: NAME`
    (and optionally `// tier:`, `// model:`, `// refine_round:`). Files without a concept are returned
    as failure rows (reason "no_concept"), and so is every `*.vd` entry that is not a readable UTF-8
    file (SKIP_REASONS: FIFOs and devices, folders, broken symlinks, unreadable, not UTF-8): nothing
    is dropped silently, and nothing but regular files is ever opened."""
    root = Path(root)
    if not root.is_dir():
        raise SourceError(f"--programs {root}: not a folder")
    excl = [e.resolve() for e in exclude]
    specs, skipped = [], []
    for p in _entries(root, excl, skipped):
        if excl and _inside(p, excl):
            continue
        data, skip = _read_program(p)
        if skip is not None:
            skipped.append(skip)
            continue
        meta = read_meta(data.decode("utf-8"))
        concept = " ".join(meta.get("concept", "").split())
        origin = p.as_posix()
        if not concept:
            skipped.append(
                {
                    "concept_id": None,
                    "concept": None,
                    "tier": None,
                    "program": origin,
                    "seed": None,
                    "file_name": None,
                    "reason": "no_concept",
                    "detail": "no `// concept: NAME` header line at the top of the file",
                }
            )
            continue
        tier = " ".join(meta.get("tier", "").split()).lower() or None
        cid, folder = concept_ids(concept, tier)
        specs.append(
            ProgramSpec(
                cid,
                concept,
                tier,
                folder,
                safe_name(p.stem),
                data,
                program_hash(data),
                origin,
                meta.get("model") or None,
                _int(meta.get("refine_round", meta.get("round"))),
            )
        )
    return unique_names(specs), skipped


def unique_names(specs: list[ProgramSpec]) -> list[ProgramSpec]:
    """Make names unique within each folder: clashing names get -<hash8> (then -2, -3 ... by origin)."""
    from collections import defaultdict
    from dataclasses import replace

    by_key: dict[str, list[ProgramSpec]] = defaultdict(list)
    for s in specs:
        by_key[s.key].append(s)
    out = []
    taken = {k for k, v in by_key.items() if len(v) == 1}
    for _k, group in by_key.items():
        if len(group) == 1:
            out.append(group[0])
            continue
        for s in sorted(group, key=lambda s: s.origin):
            name = f"{s.name}-{s.hash[:8]}"
            n = 2
            while f"{s.folder}/{name}" in taken:
                name = f"{s.name}-{s.hash[:8]}-{n}"
                n += 1
            taken.add(f"{s.folder}/{name}")
            out.append(replace(s, name=name))
    return sorted(out, key=lambda s: (s.concept_id, s.name))


def shard_of(key: str, n: int) -> int:
    """Which of n shards owns a program: a stable hash of its key, so every machine agrees."""
    if n <= 1:
        return 0
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % n
