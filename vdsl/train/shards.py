"""Training from WebDataset or Parquet shards: shard-level shuffling, disjoint shard sets per DDP process, and an order fixed by (seed, epoch, rank) so a resumed run sees the same samples."""

from __future__ import annotations

import io
import os

import numpy as np
import torch
from PIL import Image

from ..dataset.readers import ShardError, ShardSet
from .data import derive, rgba_to_rgb, to_chw

MIX = 4  # shards read together: samples are shuffled within each group of MIX shards


def class_of(key: str, row: dict) -> str:
    """A sample's class: its concept folder (the key's first part, as ImageFolder would name it)."""
    if "/" in key:
        return key.split("/", 1)[0]
    return str(row.get("concept_id") or row.get("concept") or row.get("label") or "unlabelled")


def decode_png(data: bytes) -> torch.Tensor:
    with Image.open(io.BytesIO(data)) as im:
        if im.mode == "RGBA":
            return to_chw(rgba_to_rgb(np.array(im)))
        return to_chw(np.array(im.convert("RGB")))


class ShardImages(torch.utils.data.Dataset):
    """The samples of a shard dataset, yielding (uint8 3xHxW tensor, class index).

    Each epoch the shards are shuffled, dealt round-robin to the processes (disjoint sets), and
    each process reads its shards MIX at a time, samples shuffled within the group: reads stay
    sequential within a few shards, as with WebDataset's shard shuffle plus a shuffle buffer. The
    order depends only on (seed, epoch, rank, world size), never on loader workers or timing, so
    `batches(...)[step:]` after a resume is exactly what the uninterrupted run would have read."""

    def __init__(self, path: str | os.PathLike, seed: int = 0):
        self.shards = ShardSet(path)
        self.seed = seed
        names = [class_of(s.key, s.row) for s in self.shards.samples]
        self.classes: list[str] = sorted(set(names))
        index = {c: i for i, c in enumerate(self.classes)}
        self.targets = [index[c] for c in names]
        self.starts = np.cumsum([0] + [len(p) for p in self.shards.per_shard]).tolist()

    def __len__(self) -> int:
        return len(self.shards)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        s = self.shards.samples[i]
        try:
            img = decode_png(self.shards.image_bytes(s))
        except ShardError:
            raise
        except Exception as e:
            raise ShardError(f"{self.shards.files[s.shard]}: the image of {s.key} does not decode ({e})") from None
        return img, self.targets[i]

    def _check(self, world: int) -> None:
        if len(self.shards.files) < world:
            raise ShardError(
                f"{len(self.shards.files)} shards cannot be split over {world} processes; "
                "build with a smaller --shard-size"
            )

    def steps_per_epoch(self, batch: int, world: int = 1) -> int:
        """Batches every process runs per epoch: what the process dealt the fewest images can
        always fill (its share is at least the world-th of the shards, smallest first)."""
        self._check(world)
        sizes = sorted(len(p) for p in self.shards.per_shard)
        return sum(sizes[: len(sizes) // world]) // batch

    def epoch_order(self, epoch: int, rank: int = 0, world: int = 1) -> list[int]:
        """This process's sample indices for an epoch."""
        self._check(world)
        g = torch.Generator().manual_seed(derive(self.seed, 4, epoch))
        shards = torch.randperm(len(self.shards.files), generator=g).tolist()[rank::world]
        order: list[int] = []
        for a in range(0, len(shards), MIX):
            group = [i for j in shards[a : a + MIX] for i in range(self.starts[j], self.starts[j + 1])]
            g = torch.Generator().manual_seed(derive(self.seed, 5, epoch, rank, a))
            order += [group[k] for k in torch.randperm(len(group), generator=g).tolist()]
        return order

    def batches(self, batch: int, epoch: int, rank: int = 0, world: int = 1) -> list[list[int]]:
        """This process's batches for an epoch; every process gets the same number."""
        order = self.epoch_order(epoch, rank, world)
        n = self.steps_per_epoch(batch, world)
        return [order[k * batch : (k + 1) * batch] for k in range(n)]
