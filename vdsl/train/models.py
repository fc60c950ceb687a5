"""torchvision ResNet backbones (with a small-input stem) and the MLP heads the methods put on them."""

from __future__ import annotations

import torch
import torchvision
from torch import nn

ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
STEMS = ("auto", "imagenet", "small")
SMALL_STEM_BELOW = 64  # `auto`: inputs smaller than this get the CIFAR stem


def resolve_stem(stem: str, image_size: int) -> str:
    """`auto` picks the CIFAR-style stem (3x3 conv, stride 1, no max-pool) for inputs under 64 px."""
    if stem not in STEMS:
        raise ValueError(f"unknown stem {stem!r}; one of {', '.join(STEMS)}")
    if stem == "auto":
        return "small" if image_size < SMALL_STEM_BELOW else "imagenet"
    return stem


def build_backbone(arch: str = "resnet18", image_size: int = 224, stem: str = "auto") -> tuple[nn.Module, int]:
    """A torchvision ResNet without its classifier: (module mapping Bx3xHxW to BxD features, D)."""
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; one of {', '.join(ARCHS)}")
    if image_size < 32:
        raise ValueError(f"image size {image_size} is under the 32 px minimum")
    net = getattr(torchvision.models, arch)(weights=None)
    if resolve_stem(stem, image_size) == "small":
        net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
        net.maxpool = nn.Identity()
    dim = net.fc.in_features
    net.fc = nn.Identity()
    return net, dim


def mlp_head(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    """The 2-layer projection head of MoCo-v2 / SimCLR."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def backbone_from_checkpoint(ckpt: dict) -> nn.Module:
    """Rebuild the trained backbone a checkpoint describes, weights loaded, in eval mode."""
    cfg = ckpt["config"]
    net, _ = build_backbone(cfg["arch"], cfg["image_size"], cfg["stem"])
    net.load_state_dict(ckpt["backbone"])
    return net.eval()


def random_backbone(arch: str, image_size: int, stem: str = "auto", seed: int = 0) -> nn.Module:
    """The random-init baseline: the same architecture, initialised under a seed, never trained."""
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        net, _ = build_backbone(arch, image_size, stem)
    finally:
        torch.random.set_rng_state(state)
    return net.eval()
