"""Training objectives as modules returning a loss: supervised cross-entropy, MoCo-v2 and SimCLR."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from . import dist
from .models import build_backbone, mlp_head

METHODS = ("moco", "simclr", "supervised")


def _chunked(net: nn.Module, x: torch.Tensor, splits: int) -> torch.Tensor:
    """Forward in `splits` chunks so BatchNorm sees sub-batches (MoCo's shuffle-BN on one device)."""
    if splits <= 1 or x.shape[0] < 2 * splits:
        return net(x)
    return torch.cat([net(c) for c in torch.chunk(x, splits)], 0)


class Supervised(nn.Module):
    """Cross-entropy on the dataset's concept labels; `classifier` maps features to concepts."""

    views = 1

    def __init__(self, arch: str, image_size: int, stem: str, num_classes: int):
        super().__init__()
        if num_classes < 2:
            raise ValueError("supervised training needs at least 2 concepts in the data")
        self.backbone, dim = build_backbone(arch, image_size, stem)
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.classifier(self.backbone(images)), labels)


class SimCLR(nn.Module):
    """SimCLR (Chen et al. 2020): NT-Xent between two views; negatives are the rest of the (local) batch."""

    views = 2

    def __init__(self, arch: str, image_size: int, stem: str, dim: int = 128, temperature: float = 0.5):
        super().__init__()
        self.backbone, feat = build_backbone(arch, image_size, stem)
        self.head = mlp_head(feat, feat, dim)
        self.temperature = temperature

    def forward(self, views: list[torch.Tensor], labels: torch.Tensor | None = None) -> torch.Tensor:
        x1, x2 = views
        n = x1.shape[0]
        z = F.normalize(self.head(self.backbone(torch.cat([x1, x2], 0))).float(), dim=1)
        sim = z @ z.t() / self.temperature
        sim.fill_diagonal_(float("-inf"))
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(sim.device)
        return F.cross_entropy(sim, target)


class MoCo(nn.Module):
    """MoCo-v2 (Chen et al. 2020): query encoder, momentum key encoder, a queue of negative keys,
    an MLP projection head and InfoNCE at temperature T; BatchNorm is shuffled across `bn_splits`
    sub-batches (the single-device form of shuffle-BN)."""

    views = 2

    def __init__(
        self,
        arch: str,
        image_size: int,
        stem: str,
        dim: int = 128,
        queue: int = 4096,
        momentum: float = 0.99,
        temperature: float = 0.2,
        bn_splits: int = 4,
    ):
        super().__init__()
        self.backbone, feat = build_backbone(arch, image_size, stem)
        self.head = mlp_head(feat, feat, dim)
        self.backbone_k = copy.deepcopy(self.backbone)
        self.head_k = copy.deepcopy(self.head)
        for p in list(self.backbone_k.parameters()) + list(self.head_k.parameters()):
            p.requires_grad = False
        self.momentum, self.temperature, self.bn_splits = momentum, temperature, bn_splits
        self.register_buffer("queue", F.normalize(torch.randn(dim, queue), dim=0))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def _momentum_update(self) -> None:
        m = self.momentum
        for online, target in ((self.backbone, self.backbone_k), (self.head, self.head_k)):
            for p, pk in zip(online.parameters(), target.parameters()):
                pk.mul_(m).add_(p.detach(), alpha=1 - m)

    @torch.no_grad()
    def _keys(self, x: torch.Tensor) -> torch.Tensor:
        perm = torch.randperm(x.shape[0], device=x.device)
        k = self.head_k(_chunked(self.backbone_k, x[perm], self.bn_splits))
        k = F.normalize(k.float(), dim=1)
        out = torch.empty_like(k)
        out[perm] = k
        return out

    @torch.no_grad()
    def _enqueue(self, keys: torch.Tensor) -> None:
        size = self.queue.shape[1]
        keys = keys[:size]
        ptr = int(self.queue_ptr)
        idx = (torch.arange(keys.shape[0], device=keys.device) + ptr) % size
        self.queue[:, idx] = keys.t().to(self.queue.dtype)
        self.queue_ptr.fill_((ptr + keys.shape[0]) % size)

    def forward(self, views: list[torch.Tensor], labels: torch.Tensor | None = None) -> torch.Tensor:
        x_q, x_k = views
        q = F.normalize(self.head(_chunked(self.backbone, x_q, self.bn_splits)).float(), dim=1)
        self._momentum_update()
        k = self._keys(x_k)
        l_pos = (q * k).sum(1, keepdim=True)
        l_neg = q @ self.queue.clone().detach().float()
        logits = torch.cat([l_pos, l_neg], 1) / self.temperature
        loss = F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long, device=q.device))
        self._enqueue(dist.all_gather(k))
        return loss


def build_method(cfg: dict, num_classes: int) -> nn.Module:
    """The method module a training configuration names."""
    m, arch, size, stem = cfg["method"], cfg["arch"], cfg["image_size"], cfg["stem"]
    if m == "supervised":
        return Supervised(arch, size, stem, num_classes)
    if m == "simclr":
        return SimCLR(arch, size, stem, cfg["proj_dim"], cfg["temperature"] or 0.5)
    if m == "moco":
        return MoCo(
            arch,
            size,
            stem,
            cfg["proj_dim"],
            cfg["moco_queue"],
            cfg["moco_momentum"],
            cfg["temperature"] or 0.2,
            cfg["bn_splits"],
        )
    raise ValueError(f"unknown method {m!r}; one of {', '.join(METHODS)}")
