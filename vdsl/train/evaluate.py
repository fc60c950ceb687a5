"""Frozen-feature evaluation on real photos: features, linear probe, k-NN, zero-real-photo classification."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
import torch.nn.functional as F

from .augment import normalise as normalise_pixels
from .data import FolderImages, load_image, resolve_real
from .models import backbone_from_checkpoint, random_backbone, resolve_stem

# Real class → names the corpus may use for it (compared after `normalise`). Extend with --class-map.
SYNONYMS: dict[str, list[str]] = {
    "airplane": ["airplane", "aeroplane", "plane", "jet", "airliner", "aircraft"],
    "automobile": ["automobile", "car", "sedan"],
    "bird": ["bird"],
    "cat": ["cat"],
    "deer": ["deer"],
    "dog": ["dog"],
    "frog": ["frog"],
    "horse": ["horse"],
    "ship": ["ship", "boat"],
    "truck": ["truck", "lorry"],
    "tench": ["tench", "fish"],
    "english_springer": ["english springer", "english springer spaniel", "springer spaniel", "spaniel"],
    "cassette_player": ["cassette player", "cassette", "tape player", "cassette recorder"],
    "chain_saw": ["chain saw", "chainsaw"],
    "church": ["church", "chapel"],
    "french_horn": ["french horn", "horn"],
    "garbage_truck": ["garbage truck", "refuse truck", "trash truck", "dustcart"],
    "gas_pump": ["gas pump", "petrol pump", "fuel pump", "fuel dispenser"],
    "golf_ball": ["golf ball"],
    "parachute": ["parachute"],
}

_SPLITS: dict = {}


def normalise(name: str) -> str:
    """`objects/An_English-Springer` → `english springer` (no tier, lower case, words, no article)."""
    s = re.sub(r"[^a-z0-9]+", " ", name.rsplit("/", 1)[-1].lower()).strip()
    return re.sub(r"^(a|an|the) ", "", s)


def load_split(data: str | Path, split: str, size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """A real-photo split as uint8 Nx3xSxS (shorter side resized to S, centre crop), labels, classes.
    Cached per process, so several models are evaluated on one decode."""
    from torchvision.transforms import v2 as T

    root = resolve_real(str(data)) / split
    key = (str(root.resolve()), size)
    if key not in _SPLITS:
        folder = FolderImages(root, preload=False)
        tf = T.Compose([T.Resize(size, antialias=True), T.CenterCrop(size)])
        x = (
            torch.stack([tf(load_image(p)) for p, _ in folder.samples])
            if folder.samples
            else torch.empty(0, 3, size, size, dtype=torch.uint8)
        )
        _SPLITS[key] = (x, torch.tensor(folder.targets, dtype=torch.long), folder.classes)
    return _SPLITS[key]


@torch.inference_mode()
def features(
    net: torch.nn.Module, images: torch.Tensor, device: torch.device | str = "cpu", batch: int = 256
) -> torch.Tensor:
    """Frozen features (eval mode) of uint8 images, as float32 on the CPU."""
    device = torch.device(device)
    net = net.to(device).eval()
    cuda = device.type == "cuda"
    if cuda:
        net = net.to(memory_format=torch.channels_last)
    out = []
    for i in range(0, images.shape[0], batch):
        x = normalise_pixels(images[i : i + batch].to(device, non_blocking=True).float() / 255)
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            out.append(net(x).float().cpu())
    return torch.cat(out) if out else torch.empty(0)


def _fit_logreg(x: torch.Tensor, y: torch.Tensor, classes: int, wd: float, iters: int = 300) -> torch.nn.Linear:
    torch.manual_seed(0)
    lin = torch.nn.Linear(x.shape[1], classes).double()
    torch.nn.init.zeros_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    opt = torch.optim.LBFGS(
        lin.parameters(),
        lr=1,
        max_iter=iters,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-6,
        tolerance_change=1e-9,
    )

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(lin(x), y) + 0.5 * wd * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lin


def _standardise(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    mu, sd = train.mean(0, keepdim=True), train.std(0, keepdim=True).clamp_min(1e-6)
    return [((t.double() - mu) / sd) for t in (train, *others)]


WDS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # the linear probe's L2 weights to choose from
KS = (10, 20, 50, 100)  # k-NN neighbour counts reported by cross-validation


def linear_probe(
    xtr: torch.Tensor,
    ytr: torch.Tensor,
    xte: torch.Tensor,
    yte: torch.Tensor,
    wds: tuple[float, ...] = WDS,
    seed: int = 0,
) -> dict:
    """Multinomial logistic regression on standardised frozen features (L-BFGS). With several L2
    weights, the weight is chosen on a stratified 20% hold-out of the train split, then refit on all
    of it; with one, that weight is used (fixed beforehand, e.g. by `vdsl eval --cv`). The test split
    is used once."""
    classes = int(max(ytr.max(), yte.max())) + 1
    scores = {}
    if len(wds) > 1:
        g = torch.Generator().manual_seed(seed)
        hold = torch.zeros(len(ytr), dtype=torch.bool)
        for c in range(classes):
            idx = (ytr == c).nonzero().flatten()
            idx = idx[torch.randperm(len(idx), generator=g)]
            hold[idx[: max(1, len(idx) // 5)] if len(idx) > 1 else idx[:0]] = True
        a, b = _standardise(xtr[~hold], xtr[hold])
        for wd in wds:
            lin = _fit_logreg(a, ytr[~hold], classes, wd)
            with torch.no_grad():
                scores[wd] = (lin(b).argmax(1) == ytr[hold]).double().mean().item()
    best = max(wds, key=lambda w: (scores.get(w, 0.0), w))  # ties → the stronger regulariser
    a, b = _standardise(xtr, xte)
    lin = _fit_logreg(a, ytr, classes, best)
    with torch.no_grad():
        acc = (lin(b).argmax(1) == yte).double().mean().item()
    return {"accuracy": acc, "weight_decay": best, "holdout": {str(k): v for k, v in scores.items()}}


def knn(
    xtr: torch.Tensor, ytr: torch.Tensor, xte: torch.Tensor, yte: torch.Tensor, k: int = 20, temperature: float = 0.07
) -> dict:
    """Weighted k-NN on cosine similarity (the InstDisc/DINO protocol): neighbour votes exp(sim/T)."""
    classes = int(max(ytr.max(), yte.max())) + 1
    a, b = F.normalize(xtr.float(), dim=1), F.normalize(xte.float(), dim=1)
    k = min(k, len(ytr))
    sim, idx = (b @ a.t()).topk(k, dim=1)
    votes = torch.zeros(len(yte), classes).scatter_add_(1, ytr[idx], (sim / temperature).exp())
    return {"accuracy": (votes.argmax(1) == yte).double().mean().item(), "k": k, "temperature": temperature}


def load_encoder(
    checkpoint: str, arch: str = "resnet18", image_size: int = 64, stem: str = "auto", seed: int = 0
) -> tuple[torch.nn.Module, dict]:
    """A frozen backbone and what it is: a checkpoint of `vdsl train`, or `random` (random init)."""
    if checkpoint == "random":
        info = {
            "checkpoint": "random",
            "arch": arch,
            "image_size": image_size,
            "stem": resolve_stem(stem, image_size),
            "seed": seed,
            "method": "random-init",
        }
        return random_backbone(arch, image_size, stem, seed), info
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = ckpt["config"]
    info = {
        "checkpoint": str(checkpoint),
        "arch": cfg["arch"],
        "image_size": cfg["image_size"],
        "stem": resolve_stem(cfg["stem"], cfg["image_size"]),
        "seed": cfg["seed"],
        "method": cfg["method"],
        "epochs_done": ckpt["epoch"],
        "steps": ckpt["global_step"],
    }
    return backbone_from_checkpoint(ckpt), info


def stratified_folds(y: torch.Tensor, folds: int, seed: int = 0) -> torch.Tensor:
    """A fold index per sample, each class dealt round-robin over the folds after a seeded shuffle."""
    g = torch.Generator().manual_seed(seed)
    fold = torch.empty(len(y), dtype=torch.long)
    for c in y.unique():
        idx = (y == c).nonzero().flatten()
        fold[idx[torch.randperm(len(idx), generator=g)]] = torch.arange(len(idx)) % folds
    return fold


def cross_validate(f: torch.Tensor, y: torch.Tensor, folds: int = 5, k: int = 20) -> dict:
    """Linear probe and k-NN scored by stratified k-fold cross-validation within one split: for
    choosing settings without looking at the test photos. Every L2 weight of WDS and every k of KS
    (and `k`) is scored on the same folds; `accuracy` is the best one's mean over the folds (optimistic
    by that choice), `by_weight_decay` and `by_k` hold them all."""
    fold = stratified_folds(y, folds)
    ks = sorted({*KS, k})
    lin: dict[float, list[float]] = {w: [] for w in WDS}
    nn_: dict[int, list[float]] = {kk: [] for kk in ks}
    for i in range(folds):
        tr, te = fold != i, fold == i
        for w in WDS:
            lin[w].append(linear_probe(f[tr], y[tr], f[te], y[te], wds=(w,))["accuracy"])
        for kk in ks:
            nn_[kk].append(knn(f[tr], y[tr], f[te], y[te], kk)["accuracy"])
    by_wd = {w: sum(v) / folds for w, v in lin.items()}
    by_k = {kk: sum(v) / folds for kk, v in nn_.items()}
    best_wd = max(WDS, key=lambda w: (by_wd[w], w))
    return {
        "linear_probe": {
            "accuracy": by_wd[best_wd],
            "weight_decay": best_wd,
            "folds": lin[best_wd],
            "by_weight_decay": {str(w): v for w, v in by_wd.items()},
        },
        "knn": {"accuracy": by_k[k], "folds": nn_[k], "k": k, "by_k": {str(kk): v for kk, v in by_k.items()}},
    }


def probe(
    net: torch.nn.Module,
    data: str | Path,
    image_size: int,
    device: str = "cpu",
    k: int = 20,
    cv: int = 0,
    wds: tuple[float, ...] = WDS,
) -> dict:
    """Linear-probe and k-NN accuracy of frozen features: fit on data/train, score on data/test;
    with `cv` folds, cross-validated within data/train instead (the test photos are not read)."""
    xtr, ytr, classes = load_split(data, "train", image_size)
    ftr = features(net, xtr, device)
    head = {
        "data": str(data),
        "image_size": image_size,
        "classes": len(classes),
        "n_train": len(ytr),
        "chance": 1.0 / len(classes),
        "feature_dim": ftr.shape[1],
    }
    if cv:
        return {
            **head,
            "protocol": f"{cv}-fold cross-validation on train",
            "n_test": 0,
            **cross_validate(ftr, ytr, cv, k),
        }
    xte, yte, classes_te = load_split(data, "test", image_size)
    if classes != classes_te:
        raise ValueError(f"{data}: train and test have different classes")
    fte = features(net, xte, device)
    return {
        **head,
        "protocol": "train -> test",
        "n_test": len(yte),
        "linear_probe": linear_probe(ftr, ytr, fte, yte, wds),
        "knn": knn(ftr, ytr, fte, yte, k),
    }


def class_map(
    real_classes: list[str], concepts: list[str], extra: dict[str, list[str]] | None = None
) -> dict[str, list[int]]:
    """Real class → indices of the model's concepts that depict it (by name and SYNONYMS)."""
    by_name: dict[str, list[int]] = {}
    for i, c in enumerate(concepts):
        by_name.setdefault(normalise(c), []).append(i)
    taken: set[int] = set()
    out = {}
    for rc in real_classes:
        names = [rc] + list((extra or {}).get(rc, [])) + SYNONYMS.get(rc, [])
        idx = []
        for n in names:
            for i in by_name.get(normalise(n), []):
                if i not in taken and i not in idx:
                    idx.append(i)
        taken.update(idx)
        out[rc] = idx
    return out


@torch.inference_mode()
def zero_shot(
    checkpoint: str,
    data: str | Path,
    split: str = "test",
    device: str = "cpu",
    extra_map: dict[str, list[str]] | None = None,
) -> dict:
    """Classify real photos with a `supervised` model trained on drawings only: its concept logits,
    restricted to the concepts mapped to the real classes, pick the class. A real class with no
    concept in the model can never be predicted (it counts as wrong)."""
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if "classifier" not in ckpt:
        raise ValueError(
            f"{checkpoint} was trained with --method {ckpt['config']['method']}; "
            "zero-real-photo classification needs a `supervised` model"
        )
    concepts = ckpt["classes"]
    net = backbone_from_checkpoint(ckpt)
    head = torch.nn.Linear(ckpt["classifier"]["weight"].shape[1], len(concepts))
    head.load_state_dict(ckpt["classifier"])
    size = ckpt["config"]["image_size"]
    x, y, real = load_split(data, split, size)
    mapping = class_map(real, concepts, extra_map)
    cols = [(ri, ci) for ri, rc in enumerate(real) for ci in mapping[rc]]
    result = {
        "checkpoint": str(checkpoint),
        "data": str(data),
        "split": split,
        "n": len(y),
        "classes": len(real),
        "chance": 1.0 / len(real),
        "map": {rc: [concepts[i] for i in idx] for rc, idx in mapping.items()},
        "unmapped": [rc for rc, idx in mapping.items() if not idx],
    }
    if not cols:
        return {**result, "accuracy": 0.0, "per_class": {}}
    logits = head(features(net, x, device))
    real_of_col = torch.tensor([r for r, _ in cols])
    pred = real_of_col[logits[:, [c for _, c in cols]].argmax(1)]
    correct = pred == y
    per_class = {rc: correct[y == i].double().mean().item() for i, rc in enumerate(real) if (y == i).any()}
    return {**result, "accuracy": correct.double().mean().item(), "per_class": per_class}


def save_json(obj, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(obj, indent=2) + "\n")
    return p
