"""Augmentations: the MoCo-v2 and SimCLR view pipelines, supervised crops, and the evaluation resize."""
from __future__ import annotations

import torch
from torchvision.transforms import v2 as T

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _finish() -> list:
    return [T.ToDtype(torch.float32, scale=True), T.Normalize(MEAN, STD)]


def _blur(size: int, p: float) -> list:
    # The papers blur with a kernel ~10% of the image side; at CIFAR scale (<64 px) they leave blur out.
    if size < 64:
        return []
    k = max(3, int(0.1 * size) // 2 * 2 + 1)
    return [T.RandomApply([T.GaussianBlur(k, sigma=(0.1, 2.0))], p=p)]


def train_transform(method: str, size: int) -> T.Compose:
    """One view's augmentation, applied to a uint8 CxHxW tensor; the method's standard recipe."""
    if method == "moco":        # MoCo-v2 (the "aug_plus" pipeline)
        ops = [T.RandomResizedCrop(size, scale=(0.2, 1.0), antialias=True),
               T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
               T.RandomGrayscale(p=0.2), *_blur(size, 0.5), T.RandomHorizontalFlip()]
    elif method == "simclr":    # SimCLR, colour strength 0.8
        ops = [T.RandomResizedCrop(size, scale=(0.08, 1.0), antialias=True),
               T.RandomHorizontalFlip(),
               T.RandomApply([T.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
               T.RandomGrayscale(p=0.2), *_blur(size, 0.5)]
    elif method == "supervised":
        ops = [T.RandomResizedCrop(size, scale=(0.35, 1.0), antialias=True), T.RandomHorizontalFlip()]
    else:
        raise ValueError(f"unknown method {method!r}")
    return T.Compose(ops + _finish())


def eval_transform(size: int) -> T.Compose:
    """Resize the shorter side to `size`, centre-crop a square, normalise."""
    return T.Compose([T.Resize(size, antialias=True), T.CenterCrop(size)] + _finish())
