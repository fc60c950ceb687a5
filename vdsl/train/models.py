"""torchvision ResNet backbones (with a small-input stem) and the MLP heads the methods put on them."""

from __future__ import annotations

import torch
import torchvision
from torch import nn

ARCHS = ("resnet10-half", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
SMALL = {"resnet10-half": ([1, 1, 1, 1], (32, 64, 128, 256))}  # blocks per stage, widths
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
    net = small_resnet(*SMALL[arch]) if arch in SMALL else getattr(torchvision.models, arch)(weights=None)
    if resolve_stem(stem, image_size) == "small":
        width = net.conv1.out_channels
        net.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
        net.maxpool = nn.Identity()
    dim = net.fc.in_features
    net.fc = nn.Identity()
    return net, dim


def small_resnet(blocks: list[int], widths: tuple[int, ...]) -> torchvision.models.ResNet:
    """A torchvision ResNet of BasicBlocks at other widths (resnet10-half: one block per stage, half
    of resnet18's widths, ~1/8 of its compute): the CPU experiment's network."""
    from torchvision.models.resnet import BasicBlock, ResNet

    class Narrow(ResNet):
        def __init__(self):
            nn.Module.__init__(self)
            self._norm_layer = nn.BatchNorm2d
            self.inplanes, self.dilation, self.groups, self.base_width = widths[0], 1, 1, 64
            self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(BasicBlock, widths[0], blocks[0])
            self.layer2 = self._make_layer(BasicBlock, widths[1], blocks[1], stride=2)
            self.layer3 = self._make_layer(BasicBlock, widths[2], blocks[2], stride=2)
            self.layer4 = self._make_layer(BasicBlock, widths[3], blocks[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(widths[3], 1000)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    return Narrow()


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
