"""Augmentations: the MoCo-v2, SimCLR and supervised view recipes, applied to whole batches on the training device."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
_LUMA = (0.2989, 0.587, 0.114)  # ITU-R 601 weights, as torchvision's rgb_to_grayscale


@dataclass(frozen=True)
class Recipe:
    """One method's view distribution (the papers' settings; blur only from 64 px, as they do at CIFAR scale)."""

    crop_scale: tuple[float, float]
    jitter: tuple[float, float, float, float] | None = None  # brightness, contrast, saturation, hue
    jitter_p: float = 0.8
    grayscale_p: float = 0.0
    blur_p: float = 0.0


RECIPES = {
    "moco": Recipe((0.2, 1.0), (0.4, 0.4, 0.4, 0.1), grayscale_p=0.2, blur_p=0.5),  # MoCo-v2 "aug_plus"
    "simclr": Recipe((0.08, 1.0), (0.8, 0.8, 0.8, 0.2), grayscale_p=0.2, blur_p=0.5),  # colour strength 0.8
    "supervised": Recipe((0.35, 1.0)),
}
BLUR_FROM = 64


def recipe(method: str) -> Recipe:
    if method not in RECIPES:
        raise ValueError(f"unknown method {method!r}")
    return RECIPES[method]


def _uniform(n: int, lo: float, hi: float, g: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, generator=g, device=device) * (hi - lo) + lo


def _chance(n: int, p: float, g: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, generator=g, device=device) < p


def _crop_boxes(
    n: int, h: int, w: int, scale, g: torch.Generator, device, ratio=(3 / 4, 4 / 3), tries: int = 10
) -> torch.Tensor:
    """RandomResizedCrop's boxes (x0, y0, x1, y1) in pixels: area fraction in `scale`, log-uniform aspect
    ratio; as torchvision, up to `tries` draws, then the whole image clipped to the ratio range."""
    area = h * w
    box = torch.zeros(n, 4, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    lr = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(tries):
        a = _uniform(n, *scale, g, device) * area
        r = torch.exp(_uniform(n, *lr, g, device))
        cw, ch = torch.sqrt(a * r).round(), torch.sqrt(a / r).round()
        ok = ~done & (cw > 0) & (ch > 0) & (cw <= w) & (ch <= h)
        x0 = torch.floor(torch.rand(n, generator=g, device=device) * (w - cw + 1))
        y0 = torch.floor(torch.rand(n, generator=g, device=device) * (h - ch + 1))
        box[ok] = torch.stack([x0, y0, x0 + cw, y0 + ch], 1)[ok]
        done |= ok
    if not done.all():  # torchvision's fallback: the whole image, cut to the nearest allowed ratio
        cw, ch = w, h
        if w / h < ratio[0]:
            ch = round(w / ratio[0])
        elif w / h > ratio[1]:
            cw = round(h * ratio[1])
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        box[~done] = torch.tensor([x0, y0, x0 + cw, y0 + ch], dtype=box.dtype, device=device)
    return box


def _gray(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.unbind(1)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).unsqueeze(1)


def _rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.unbind(1)
    mx, _ = x.max(1)
    mn, _ = x.min(1)
    d = mx - mn
    s = torch.where(mx > 0, d / mx.clamp_min(1e-12), torch.zeros_like(mx))
    dd = d.clamp_min(1e-12)
    h = torch.where(mx == r, (g - b) / dd, torch.where(mx == g, (b - r) / dd + 2, (r - g) / dd + 4))
    h = torch.where(d > 0, (h / 6) % 1.0, torch.zeros_like(h))
    return torch.stack([h, s, mx], 1)


def _hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    h, s, v = x.unbind(1)
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], 1)
    return v.unsqueeze(1) - (v * s).unsqueeze(1) * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def _per_sample(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, 1, 1, 1)


def _jitter(x: torch.Tensor, strength, on: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """ColorJitter with per-image factors, the four adjustments in a random order (one per batch);
    images where `on` is false keep factors of 1 and no hue shift."""
    n, dev = x.shape[0], x.device
    bri, con, sat, hue = strength
    one = torch.ones(n, device=dev)
    f_b = torch.where(on, _uniform(n, max(0.0, 1 - bri), 1 + bri, g, dev), one)
    f_c = torch.where(on, _uniform(n, max(0.0, 1 - con), 1 + con, g, dev), one)
    f_s = torch.where(on, _uniform(n, max(0.0, 1 - sat), 1 + sat, g, dev), one)
    f_h = torch.where(on, _uniform(n, -hue, hue, g, dev), torch.zeros(n, device=dev))
    for op in torch.randperm(4, generator=g, device=dev).tolist():
        if op == 0 and bri:
            x = (x * _per_sample(f_b)).clamp(0, 1)
        elif op == 1 and con:
            m = _gray(x).mean((1, 2, 3), keepdim=True)
            x = ((x - m) * _per_sample(f_c) + m).clamp(0, 1)
        elif op == 2 and sat:
            gx = _gray(x)
            x = ((x - gx) * _per_sample(f_s) + gx).clamp(0, 1)
        elif op == 3 and hue:
            hsv = _rgb_to_hsv(x)
            hsv = torch.cat([(hsv[:, :1] + _per_sample(f_h)) % 1.0, hsv[:, 1:]], 1)
            x = _hsv_to_rgb(hsv).clamp(0, 1)
    return x


def _blur(x: torch.Tensor, on: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Gaussian blur, kernel ~10% of the side, sigma in [0.1, 2] per image (MoCo-v2 / SimCLR)."""
    n, c, h, w = x.shape
    k = max(3, int(0.1 * h) // 2 * 2 + 1)
    sigma = _uniform(n, 0.1, 2.0, g, x.device)
    t = torch.arange(k, device=x.device, dtype=x.dtype) - k // 2
    ker = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None] ** 2))
    ker = ker / ker.sum(1, keepdim=True)
    ker = ker.repeat_interleave(c, 0)  # one kernel per (image, channel)
    y = x.reshape(1, n * c, h, w)
    y = F.conv2d(F.pad(y, (k // 2, k // 2, 0, 0), mode="reflect"), ker.view(n * c, 1, 1, k), groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, k // 2, k // 2), mode="reflect"), ker.view(n * c, 1, k, 1), groups=n * c)
    return torch.where(_per_sample(on), y.view(n, c, h, w), x)


def normalise(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] floats to the ImageNet-normalised input the networks take."""
    mean = torch.tensor(MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def augment(images: torch.Tensor, method: str, size: int, g: torch.Generator) -> torch.Tensor:
    """One view of every image in a uint8 Bx3xHxW batch: random resized crop to `size`, horizontal
    flip, colour jitter, grayscale and blur as the method's recipe says, each drawn per image from
    `g`; returns normalised float32 Bx3xSxS on the images' device."""
    rc = recipe(method)
    n, _, h, w = images.shape
    dev = images.device
    x = images.float().div_(255)
    boxes = _crop_boxes(n, h, w, rc.crop_scale, g, dev)
    rois = torch.cat([torch.arange(n, device=dev, dtype=x.dtype)[:, None], boxes], 1)
    x = roi_align(x, rois, output_size=size, spatial_scale=1.0, sampling_ratio=-1, aligned=True)
    flip = _chance(n, 0.5, g, dev)
    x = torch.where(_per_sample(flip), x.flip(-1), x)
    if rc.jitter:
        x = _jitter(x, rc.jitter, _chance(n, rc.jitter_p, g, dev), g)
    if rc.grayscale_p:
        x = torch.where(_per_sample(_chance(n, rc.grayscale_p, g, dev)), _gray(x).expand(-1, 3, -1, -1), x)
    if rc.blur_p and size >= BLUR_FROM:
        x = _blur(x, _chance(n, rc.blur_p, g, dev), g)
    return normalise(x)


def views(images: torch.Tensor, method: str, size: int, count: int, seed: int) -> list[torch.Tensor]:
    """`count` independent views of a batch, drawn from a generator seeded with `seed` on the batch's
    device: the same seed gives the same views, whatever ran before."""
    g = torch.Generator(device=images.device).manual_seed(seed)
    return [augment(images, method, size, g) for _ in range(count)]
