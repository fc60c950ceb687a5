"""Training data: dataset folders (from `vdsl dataset build`), live rendering of vdsl programs, square batches and samplers."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..concepts import slugify

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
PRELOAD_LIMIT = 50_000
# The real-photo sets `vdsl eval` and `vdsl experiment` score on by default (in ../shared/data; the
# small `cifar10` and `imagenette` sets, 100 test photos per class, are for tests).
REAL_SETS = ("cifar10-large", "imagenette-large")  # folders up to this many images are decoded once into memory


def derive(*parts: int) -> int:
    """A 63-bit seed that depends on every part (e.g. base seed, epoch, index) and nothing else."""
    h = hashlib.blake2b(":".join(str(int(p)) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") & 0x7FFF_FFFF_FFFF_FFFF


def rgba_to_rgb(arr: np.ndarray) -> np.ndarray:
    """Composite an HxWx4 uint8 render over white (renders are usually opaque already)."""
    if arr.shape[-1] == 3:
        return arr
    rgb, a = arr[..., :3].astype(np.float32), arr[..., 3:4].astype(np.float32) / 255.0
    if (arr[..., 3] == 255).all():
        return np.ascontiguousarray(arr[..., :3])
    # Skia hands back premultiplied colour, so compositing over white is rgb + (1 - a) * 255.
    return np.clip(rgb + (1.0 - a) * 255.0, 0, 255).astype(np.uint8)


def to_chw(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).contiguous()


def load_image(path: str | os.PathLike) -> torch.Tensor:
    """A uint8 3xHxW tensor from any image file (greyscale and RGBA converted to RGB)."""
    with Image.open(path) as im:
        if im.mode == "RGBA":
            return to_chw(rgba_to_rgb(np.array(im)))
        return to_chw(np.array(im.convert("RGB")))


# ---------------------------------------------------------------------------------- folders


def find_shared() -> Path | None:
    """The project's ../shared folder: $VDSL_SHARED, else a `shared` beside the repository or cwd."""
    env = os.environ.get("VDSL_SHARED")
    if env:
        return Path(env) if Path(env).is_dir() else None
    repo = Path(__file__).resolve().parents[2]
    for cand in (repo.parent / "shared", *(b / "shared" for b in (Path.cwd(), *Path.cwd().parents))):
        if (cand / "data").is_dir():
            return cand
    return None


def resolve_real(name: str) -> Path:
    """A real-photo set by path, or by name (`cifar10-large`, `imagenette`, ...) under ../shared/data."""
    p = Path(name)
    if p.is_dir():
        return p
    shared = find_shared()
    if shared and (shared / "data" / name).is_dir():
        return shared / "data" / name
    raise FileNotFoundError(
        f"no image folder {name!r} (not a folder, and not a set in ../shared/data; "
        "set VDSL_SHARED to the shared folder)"
    )


def image_root(path: str | os.PathLike) -> Path:
    """The ImageFolder root of a dataset folder: DIR/images when `vdsl dataset build` made it."""
    p = Path(path)
    return p / "images" if (p / "images").is_dir() else p


class FolderImages(torch.utils.data.Dataset):
    """An ImageFolder (class per sub-folder) yielding (uint8 3xHxW tensor, class index).

    A `vdsl dataset build` folder is read through its metadata.jsonl (only the images it lists);
    `limit` keeps a class-balanced subset (round-robin over classes, files in name order), so runs
    on different sources can be held to the same image budget. Small folders are decoded once."""

    def __init__(self, root: str | os.PathLike, preload: bool | None = None, limit: int | None = None):
        from torchvision.datasets import ImageFolder

        self.root = image_root(root)
        folder = ImageFolder(str(self.root), loader=lambda p: p, is_valid_file=lambda p: p.lower().endswith(IMAGE_EXTS))
        samples = list(folder.samples)
        meta_root = (
            self.root.parent
            if (self.root.name == "images" and (self.root.parent / "metadata.jsonl").is_file())
            else self.root
        )
        listed = listed_files(meta_root)
        if listed is not None:
            kept = [s for s in samples if Path(s[0]).resolve() in listed]
            samples = kept or samples
        if limit is not None and limit < len(samples):
            samples = balanced_subset(samples, limit)
        self.samples: list[tuple[str, int]] = samples
        self.classes: list[str] = list(folder.classes)
        self.targets = [t for _, t in self.samples]
        self.cache: list[torch.Tensor] | None = None
        if preload if preload is not None else len(self.samples) <= PRELOAD_LIMIT:
            self.cache = [load_image(p) for p, _ in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = self.cache[i] if self.cache is not None else load_image(self.samples[i][0])
        return img, self.samples[i][1]


def listed_files(root: Path) -> set[Path] | None:
    """The images metadata.jsonl lists (Hugging Face imagefolder `file_name`), or None without one."""
    meta = root / "metadata.jsonl"
    if not meta.is_file():
        return None
    out = set()
    with open(meta, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                name = json.loads(line).get("file_name")
                if name:
                    out.add((root / name).resolve())
    return out


def balanced_subset(samples: list[tuple[str, int]], n: int) -> list[tuple[str, int]]:
    """n samples taken round-robin over classes (each class's files in name order)."""
    by_class: dict[int, list] = {}
    for s in sorted(samples):
        by_class.setdefault(s[1], []).append(s)
    queues = [by_class[c] for c in sorted(by_class)]
    out, depth = [], 0
    while len(out) < n:
        for q in queues:
            if depth < len(q) and len(out) < n:
                out.append(q[depth])
        depth += 1
    return sorted(out, key=lambda s: (s[1], s[0]))


def program_files(path: str | os.PathLike) -> list[Path]:
    p = Path(path)
    if p.is_file():
        return [p]
    return sorted(q for q in p.rglob("*.vd") if q.is_file())


def concept_of(program) -> str:
    return slugify(program.meta.get("concept") or Path(program.file).stem)


def compile_programs(paths: list[Path], size: int, warn=True) -> list:
    """Compile each program once; keep those that compile and render at seed 0."""
    from .. import api

    good = []
    for path in paths:
        prog = api.compile_file(path)
        ok = prog.ok
        if ok:
            try:
                prog.render(0, size=(size, size))
            except Exception:
                ok = False
        if ok:
            good.append(prog)
        elif warn:
            print(f"vdsl train: skipping {path} (does not compile or render)", file=sys.stderr)
    return good


def render_seeded(program, seed: int, size: int, tries: int = 8) -> tuple[np.ndarray, int]:
    """Render at `seed`; if that seed fails (a budget, a bad random draw) try derived seeds."""
    err = None
    for t in range(tries):
        s = seed if t == 0 else derive(seed, t) & 0x7FFF_FFFF
        try:
            return rgba_to_rgb(program.render(s, size=(size, size))), s
        except Exception as e:
            err = e
    raise RuntimeError(f"{program.file}: no render in {tries} seeds from {seed}: {err}")


class LiveRenders(torch.utils.data.Dataset):
    """Renders vdsl programs on the fly: item i of epoch e is program i mod P at a seed derived from
    (base seed, epoch, i), so every epoch sees new images and every run is reproducible.

    Each process (each DataLoader worker) compiles the programs once, on first use."""

    def __init__(self, programs: str | os.PathLike, size: int, length: int, seed: int = 0):
        self.paths = program_files(programs)
        progs = compile_programs(self.paths, size)
        if not progs:
            raise ValueError(f"no usable .vd programs in {programs}")
        self.paths = [Path(p.file) for p in progs]
        self.concepts = [concept_of(p) for p in progs]
        self.classes = sorted(set(self.concepts))
        self.targets_of_program = [self.classes.index(c) for c in self.concepts]
        self.size, self.length, self.seed, self.epoch = size, length, seed, 0
        self._programs = progs

    def __getstate__(self):  # workers started by spawn recompile instead of unpickling programs
        d = dict(self.__dict__)
        d["_programs"] = None
        return d

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def seed_of(self, i: int) -> int:
        return derive(self.seed, self.epoch, i) & 0x7FFF_FFFF

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        if self._programs is None:
            self._programs = compile_programs(self.paths, self.size, warn=False)
        k = i % len(self._programs)
        arr, _ = render_seeded(self._programs[k], self.seed_of(i), self.size)
        return to_chw(arr), self.targets_of_program[k]


class Squares(torch.utils.data.Dataset):
    """A base dataset's images as uint8 squares of one side, so a batch stacks and the views are
    cut on the training device (augment.views). The side is the first image's shorter side, at
    least `min_side`; images of another shape are resized (shorter side) and centre-cropped to it.
    Rendered datasets are square already, so for them this is a pass-through."""

    def __init__(self, base, min_side: int):
        self.base = base
        first = base[0][0] if len(base) else None
        self.side = max(min_side, min(first.shape[-2:])) if first is not None else min_side

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.base, "set_epoch"):
            self.base.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img, label = self.base[i]
        if img.shape[-2:] != (self.side, self.side):
            from torchvision.transforms.v2 import functional as TF

            img = TF.center_crop(TF.resize(img, self.side, antialias=True), self.side)
        return img, label


def epoch_batches(n: int, batch: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> list[list[int]]:
    """This process's batches for an epoch: a seeded permutation split evenly over processes,
    incomplete batches dropped. `batch` is the per-process batch size."""
    g = torch.Generator().manual_seed(derive(seed, 2, epoch))
    perm = torch.randperm(n, generator=g).tolist()
    mine = perm[rank::world][: n // world]
    return [mine[i : i + batch] for i in range(0, len(mine) - batch + 1, batch)]


def collate(items):
    imgs, labels = zip(*items)
    return torch.stack(imgs), torch.as_tensor(labels, dtype=torch.long)
