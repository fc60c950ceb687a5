"""Tests for vdsl.train: tiny CPU runs of training, resume, live rendering, DDP (gloo), eval and the experiment."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from click.testing import CliRunner  # noqa: E402
from PIL import Image  # noqa: E402

from vdsl import compile_file  # noqa: E402
from vdsl.train import data as D  # noqa: E402
from vdsl.train import evaluate as E  # noqa: E402
from vdsl.train.loop import TrainConfig, read_metrics, train  # noqa: E402

CIRCLE = """// concept: circle
// tier: shapes
canvas(width=64, height=64, background=rgb(rand(0, 90), rand(0, 90), rand(0, 90)))
circle(center=(rand(24, 40), rand(24, 40)), r=rand(12, 20), fill=rgb(rand(180, 255), rand(180, 255), rand(180, 255)))
"""
SQUARE = """// concept: square
// tier: shapes
canvas(width=64, height=64, background=rgb(rand(160, 255), rand(160, 255), rand(160, 255)))
rect(center=(rand(24, 40), rand(24, 40)), w=rand(20, 34), h=rand(20, 34), fill=rgb(rand(0, 80), rand(0, 80), rand(0, 80)))
"""
SIZE = 32


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny tensors on a shared 2-core machine: a second thread only adds contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def programs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("programs")
    (d / "circle.vd").write_text(CIRCLE)
    (d / "square.vd").write_text(SQUARE)
    return d


def build_folder(programs: Path, out: Path, variants: int, seed: int = 0) -> Path:
    """A dataset made by the real builder, as `vdsl dataset build --programs DIR` makes it."""
    from vdsl.dataset import BuildOptions, build

    build(
        BuildOptions(
            out=out,
            programs=(Path(programs),),
            variants=variants,
            seed_start=seed,
            size=(SIZE, SIZE),
            workers=1,
            progress=False,
        ),
        echo=lambda s: None,
    )
    return out


@pytest.fixture(scope="module")
def folder(programs, tmp_path_factory) -> Path:
    """A tiny dataset built by `vdsl dataset build`: 16 renders of each of 2 concepts at 32 px."""
    return build_folder(programs, tmp_path_factory.mktemp("ds") / "tiny", 16)


def cfg(out, folder, **kw) -> TrainConfig:
    base = dict(
        out=str(out),
        data=str(folder),
        method="supervised",
        arch="resnet18",
        image_size=SIZE,
        epochs=1,
        batch_size=8,
        workers=0,
        seed=0,
        progress=False,
        device="cpu",
        moco_queue=32,
        bn_splits=2,
    )
    base.update(kw)
    return TrainConfig(**base)


def losses(run_dir) -> list[float]:
    return [r["loss"] for r in read_metrics(run_dir)]


# ------------------------------------------------------------------------------------- data


def test_training_reads_a_built_dataset(folder):
    files = sorted((folder / "images").rglob("*.png"))
    assert len(files) == 32 and {f.parent.name for f in files} == {"circle", "square"}
    rows = [json.loads(x) for x in (folder / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 32 and all((folder / r["file_name"]).is_file() for r in rows)
    ds = D.FolderImages(folder)
    assert ds.classes == ["circle", "square"] and len(ds) == 32
    img, label = ds[0]
    assert img.dtype == torch.uint8 and tuple(img.shape) == (3, SIZE, SIZE) and label in (0, 1)
    sub = D.FolderImages(folder, limit=10)  # the same image budget for every source
    assert len(sub) == 10 and sub.targets.count(0) == 5


def test_metadata_decides_which_images(folder, tmp_path):
    import shutil

    copy = tmp_path / "ds"
    shutil.copytree(folder, copy)
    rows = (copy / "metadata.jsonl").read_text().splitlines()
    (copy / "metadata.jsonl").write_text("\n".join(rows[:5]) + "\n")
    assert len(D.FolderImages(copy)) == 5


def test_live_loader_new_images_every_epoch(programs):
    live = D.LiveRenders(programs, SIZE, length=4, seed=7)
    assert live.classes == ["circle", "square"]
    first = [live[i][0] for i in range(4)]
    assert all(torch.equal(a, live[i][0]) for i, a in enumerate(first))  # deterministic
    live.set_epoch(1)
    second = [live[i][0] for i in range(4)]
    assert not any(torch.equal(a, b) for a, b in zip(first, second))  # fresh seeds
    assert [live[i][1] for i in range(4)] == [0, 1, 0, 1]

    def through_loader(workers: int, epoch: int):
        live.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(live, batch_size=2, num_workers=workers)
        return torch.cat([x for x, _ in loader])

    # worker processes render the same pictures as the main process; a pickled copy (spawned
    # workers) compiles the programs itself
    import pickle

    copy = pickle.loads(pickle.dumps(live))
    assert copy._programs is None and torch.equal(copy[1][0], live[1][0])
    a, b = through_loader(0, 3), through_loader(2, 3)
    assert torch.equal(a, b)
    assert not torch.equal(a, through_loader(0, 4))


def test_views_are_seeded_and_independent_of_what_ran_before(folder):
    from vdsl.train.augment import views

    batch = D.collate([D.FolderImages(folder)[i] for i in range(8)])[0]
    a = views(batch, "moco", SIZE, 2, seed=5)
    torch.rand(3)  # the global RNG plays no part
    b = views(batch, "moco", SIZE, 2, seed=5)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], a[1])  # two views differ
    assert not torch.equal(a[0], views(batch, "moco", SIZE, 2, seed=6)[0])
    assert a[0].shape == (8, 3, SIZE, SIZE) and a[0].dtype == torch.float32


def test_squares_stack_images_of_any_shape():
    base = [(torch.zeros(3, 40, 60, dtype=torch.uint8), 0), (torch.zeros(3, 50, 30, dtype=torch.uint8), 1)]
    sq = D.Squares(base, 32)
    assert sq.side == 40 and [sq[i][0].shape for i in range(2)] == [(3, 40, 40)] * 2
    assert D.Squares(base, 64)[1][0].shape == (3, 64, 64)


def test_crop_boxes_follow_random_resized_crop():
    from vdsl.train.augment import _crop_boxes

    g = torch.Generator().manual_seed(0)
    b = _crop_boxes(4000, 32, 48, (0.2, 1.0), g, "cpu")
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all() and (b[:, 2] <= 48).all() and (b[:, 3] <= 32).all()
    area = w * h / (32 * 48)
    assert area.min() >= 0.19 and area.max() <= 1.0 and area.std() > 0.1
    r = w / h
    assert r.min() >= 0.7 and r.max() <= 1.4 and (r < 0.9).any() and (r > 1.1).any()
    tall = _crop_boxes(10, 100, 10, (1.0, 1.0), g, "cpu")  # never fits: a centre crop at ratio 3:4 (13 px tall)
    assert torch.equal(tall[0], torch.tensor([0.0, 43.0, 10.0, 56.0]))


def test_colour_operations_match_torchvision():
    from torchvision.transforms.v2 import functional as TF
    from vdsl.train.augment import _gray, _hsv_to_rgb, _jitter, _rgb_to_hsv

    x = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(_hsv_to_rgb(_rgb_to_hsv(x)), x, atol=1e-5)
    assert torch.allclose(_gray(x), TF.rgb_to_grayscale(x), atol=1e-6)
    hsv = _rgb_to_hsv(x)
    shifted = _hsv_to_rgb(torch.cat([(hsv[:, :1] + 0.25) % 1.0, hsv[:, 1:]], 1))
    assert torch.allclose(shifted, TF.adjust_hue(x, 0.25), atol=1e-4)
    off = torch.zeros(6, dtype=torch.bool)
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(_jitter(x, (0.4, 0.4, 0.4, 0.1), off, g), x)  # switched off: unchanged
    on = _jitter(x, (0.4, 0.4, 0.4, 0.1), ~off, g)
    assert not torch.allclose(on, x) and on.min() >= 0 and on.max() <= 1


def test_recipes_crop_flip_and_colour_as_their_papers_say():
    from vdsl.train.augment import MEAN, STD, views

    img = torch.empty(200, 3, 16, 16, dtype=torch.uint8)
    img[:, 0], img[:, 1], img[:, 2] = 200, 90, 30  # orange ...
    img[..., :8] = 0  # ... with a black left half: flips show
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    sup = views(img, "supervised", 16, 1, seed=0)[0] * std + mean
    right = sup[..., -1]  # a column that is orange or black
    assert torch.allclose(right.amax((0, 2)), torch.tensor([200, 90, 30]) / 255, atol=1e-4)  # no jitter
    left_dark = sup[..., :4].mean((1, 2, 3)) < sup[..., -4:].mean((1, 2, 3))
    assert 60 < int(left_dark.sum()) < 140  # about half of them flipped
    sim = views(img, "simclr", 16, 1, seed=0)[0] * std + mean
    grey = (sim[:, 0] - sim[:, 1]).abs().amax((1, 2)) < 1e-4
    assert 20 < int(grey.sum()) < 90  # grayscale p=0.2 (and some fully desaturated)
    hue = sim[~grey].amax((2, 3)).argmax(1)  # the brightest channel after the hue shift
    assert (hue == 0).sum() > 0 and (hue != 0).sum() > 0


def _dead_leaves(name: str, background: str = "colour()") -> str:
    from vdsl.train.sources import BASELINES

    src = (BASELINES / f"dead_leaves_{name}.vd").read_text()
    return src.replace(
        "rect(x=0, y=0, w=side, h=side, fill=colour())", f"rect(x=0, y=0, w=side, h=side, fill={background})"
    )


def test_dead_leaves_programs_render_the_published_variants():
    from vdsl import compile as vcompile
    from vdsl.train.sources import baseline_files

    assert [p.stem for p in baseline_files("dead_leaves")] == [
        "dead_leaves_mixed",
        "dead_leaves_oriented",
        "dead_leaves_squares",
        "dead_leaves_textures",
    ]
    for f in baseline_files("dead_leaves"):
        prog = compile_file(f)
        assert prog.ok, prog.diagnostics
        a, b = prog.render(0, size=(SIZE, SIZE)), prog.render(1, size=(SIZE, SIZE))
        assert a.shape == (SIZE, SIZE, 4) and not np.array_equal(a, b)
        assert len(np.unique(a[..., :3].reshape(-1, 3), axis=0)) > 20  # many coloured leaves
    # painted until the canvas is covered: with a black background (and leaves never pure black),
    # under 0.2% of the pixels stay uncovered
    for name in ("squares", "mixed"):
        prog = vcompile(_dead_leaves(name, "#000000").replace("rand(0, 255)", "rand(1, 255)"), "dl.vd")
        uncovered = [float((prog.render(s, size=(64, 64))[..., :3].max(-1) == 0).mean()) for s in range(3)]
        assert max(uncovered) < 0.002, (name, uncovered)


def test_dead_leaves_radii_follow_the_power_law():
    """Axis-aligned squares have side r * sqrt(2): the radii of 3 images follow p(r) ~ r^-3 - rmax^-3
    on [0.03, 1] x 256 (the published sigma = 3), within sampling error."""
    from vdsl import compile as vcompile

    prog = vcompile(_dead_leaves("squares"), "dl.vd")
    radii = []
    for seed in range(3):
        scene, diags = prog.evaluate(seed=seed)
        assert not diags
        stack = list(scene.root.children)
        while stack:
            node = stack.pop()
            stack.extend(getattr(node, "children", ()))
            if getattr(getattr(node, "geom", None), "kind", None) == "rect" and node.geom.w < 256:
                radii.append(node.geom.w / math.sqrt(2))
    r = np.array(radii)
    rmin, rmax = 0.03 * 256, 256.0
    assert len(r) >= 3 * 700 - 3 and r.min() >= rmin - 1e-6 and r.max() <= rmax + 1e-6

    def tail(x):  # P(R > x) under the published density, integrated exactly
        f = lambda t: -0.5 * t**-2 - t / rmax**3
        return (f(rmax) - f(x)) / (f(rmax) - f(rmin))

    for x in (1.5 * rmin, 2 * rmin, 4 * rmin, 10 * rmin):
        p = tail(x)
        assert abs((r > x).mean() - p) < 4 * math.sqrt(p * (1 - p) / len(r)) + 1e-3, (x, (r > x).mean(), p)


def test_fractal_program_within_the_default_budget_and_a_quarter_of_its_fuel():
    from vdsl import compile as vcompile
    from vdsl.budgets import Budgets
    from vdsl.train.sources import BASELINES

    src = (BASELINES / "fractal_ifs.vd").read_text()
    prog = vcompile(src, "fractal_ifs.vd", budgets=Budgets().with_overrides(fuel=300_000))
    assert prog.ok, prog.diagnostics
    imgs = [prog.render(s, size=(SIZE, SIZE))[..., :3] for s in range(4)]  # fits in 30% of the default fuel
    for a in imgs:
        grey = a[(a > 0).any(-1)]
        assert 0.02 < (a > 0).any(-1).mean() < 0.95  # a figure on black, not an empty or a full canvas
        assert (grey.max(-1) - grey.min(-1)).max() <= 2  # grey points, as the paper's patch_gray
    assert not np.array_equal(imgs[0], imgs[1])


def test_corpus_sources_select_programs():
    from vdsl.train.sources import CORPUS_SOURCES, corpus_programs, held_out, select_programs

    assert held_out("a fishing boat in a harbour") and held_out("English springer") and held_out("parrot")
    assert held_out("a street with a traffic light and cars") and held_out("French horn")
    assert not held_out("a red double-decker bus on a city street") and not held_out("cathedral-like arch")
    assert not held_out("a herd of sheep on a hill") and not held_out("horseshoe")
    progs = corpus_programs(Path(__file__).resolve().parents[1] / "examples")
    sel = {s: select_programs(s, progs, 25, seed=0) for s in CORPUS_SOURCES}
    assert len(sel["corpus"]) == len(progs) and len(sel["corpus_25"]) == 25
    assert (
        sel["corpus_25"]
        == select_programs("corpus_25", progs, 25, seed=0)
        != select_programs("corpus_25", progs, 25, 1)
    )
    tiers = {p["name"]: p["tier"] for p in progs}
    for source, tier in (("tier_shapes", "shapes"), ("tier_objects", "objects"), ("tier_scenes", "scenes")):
        assert sel[source] and all(tiers[n] == tier for n in sel[source])
    concepts = {p["name"]: p["concept"] for p in progs}
    kept = sel["corpus_heldout"]
    assert "objects_cat" not in kept and "objects_airplane" not in kept and 50 < len(kept) < len(progs)
    assert not any(held_out(concepts[n]) for n in kept)


def test_select_images_takes_the_budget_evenly(folder, tmp_path):
    from vdsl.train.sources import select_images

    info = select_images(folder, ["circle", "square"], 11, tmp_path / "sel")
    files = sorted((tmp_path / "sel" / "images").rglob("*.png"))
    assert len(files) == 11 and info["images_per_program"] == {"circle": 6, "square": 5}
    assert all(f.is_symlink() and f.resolve().is_file() for f in files)
    assert len(D.FolderImages(tmp_path / "sel")) == 11
    with pytest.raises(ValueError, match="only 32 images"):
        select_images(folder, ["circle", "square"], 40, tmp_path / "more")


def test_real_anchor_photos(separable, tmp_path):
    from vdsl.train.sources import real_images

    info = real_images([str(separable)], 12, SIZE, tmp_path / "real")
    ds = D.FolderImages(tmp_path / "real")
    assert info["photos"] == 12 and len(ds) == 12 and ds.targets.count(0) == 4  # balanced over classes
    assert all(tuple(ds[i][0].shape) == (3, SIZE, SIZE) for i in range(12))
    assert {c.split("__")[1] for c in ds.classes} == {"blue", "green", "red"}


# ------------------------------------------------------------------------------------- models


@pytest.mark.parametrize(
    "arch,size,stem,spatial",
    [("resnet18", 32, "small", 4), ("resnet18", 64, "imagenet", 2), ("resnet50", 32, "small", 4)],
)
def test_backbones(arch, size, stem, spatial):
    from vdsl.train.models import build_backbone, resolve_stem

    assert resolve_stem("auto", size) == stem
    net, dim = build_backbone(arch, size)
    assert dim == (512 if arch == "resnet18" else 2048)
    assert isinstance(net.maxpool, torch.nn.Identity) == (stem == "small")
    with torch.no_grad():
        assert net.eval()(torch.zeros(2, 3, size, size)).shape == (2, dim)


# ------------------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def supervised_run(folder, tmp_path_factory) -> Path:
    return train(cfg(tmp_path_factory.mktemp("sup") / "run", folder, epochs=8, lr=0.02))


def test_supervised_loss_decreases(supervised_run):
    run = supervised_run
    ls = losses(run)
    assert len(ls) == 32 and all(math.isfinite(x) for x in ls)
    assert np.mean(ls[-4:]) < 0.6 * np.mean(ls[:4])
    for name in ("checkpoint.pt", "config.json", "metrics.csv", "loss.png"):
        assert (run / name).is_file()
    conf = json.loads((run / "config.json").read_text())
    assert conf["method"] == "supervised" and conf["resolved"]["steps_per_epoch"] == 4
    with Image.open(run / "loss.png") as im:
        assert im.size[0] > 100


@pytest.mark.parametrize("method", ["moco", "simclr"])
def test_self_supervised_runs(folder, tmp_path, method):
    run = train(cfg(tmp_path / method, folder, method=method, max_steps=3))
    ls = losses(run)
    assert len(ls) == 3 and all(math.isfinite(x) and x > 0 for x in ls)
    ck = torch.load(run / "checkpoint.pt", weights_only=False)
    assert ck["global_step"] == 3 and ck["epoch"] == 0 and ck["step_in_epoch"] == 3
    if method == "moco":
        assert int(ck["model"]["queue_ptr"]) == (3 * 8) % 32


@pytest.mark.parametrize("method", ["supervised", "moco"])
def test_resume_continues_exactly(folder, tmp_path, method):
    """Stop mid-epoch (as Ctrl-C does, through a checkpoint), resume: the same losses, step for step."""
    whole = losses(train(cfg(tmp_path / "whole", folder, method=method, epochs=2, lr=0.05)))
    assert len(whole) == 8
    part = cfg(tmp_path / "part", folder, method=method, epochs=2, lr=0.05, max_steps=5)
    assert losses(train(part)) == whole[:5]
    ck = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=False)
    assert (ck["epoch"], ck["step_in_epoch"], ck["global_step"]) == (1, 1, 5)
    resumed = train(cfg(tmp_path / "part", folder, epochs=None, max_steps=None), resume=True)
    assert losses(resumed) == whole  # bit-identical on CPU, including the next step
    # and the weights end the same
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)["backbone"]
    b = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=False)["backbone"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_ctrl_c_saves_a_checkpoint_and_resume_matches(folder, tmp_path, monkeypatch):
    """SIGINT during an epoch: the step in flight finishes, a checkpoint is written, the run stops;
    --resume then reproduces the uninterrupted run."""
    import os
    import signal
    from vdsl.train import loop

    whole = losses(train(cfg(tmp_path / "whole", folder, epochs=2)))

    class Interrupting(D.FolderImages):
        calls = 0

        def __getitem__(self, i):
            Interrupting.calls += 1
            if Interrupting.calls == 8 * 2 + 3:  # inside the 3rd batch
                os.kill(os.getpid(), signal.SIGINT)
            return super().__getitem__(i)

    monkeypatch.setattr(loop, "build_data", lambda c: Interrupting(c.data))
    train(cfg(tmp_path / "cut", folder, epochs=2))
    ck = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)
    assert ck["global_step"] == 3 and losses(tmp_path / "cut") == whole[:3]
    monkeypatch.undo()
    assert losses(train(cfg(tmp_path / "cut", folder, epochs=None), resume=True)) == whole


def test_resume_can_extend_epochs(folder, tmp_path):
    train(cfg(tmp_path / "r", folder, epochs=1))
    train(cfg(tmp_path / "r", folder, epochs=2), resume=True)
    assert [r["epoch"] for r in read_metrics(tmp_path / "r")] == [0] * 4 + [1] * 4


def test_live_training(programs, tmp_path):
    run = train(
        TrainConfig(
            out=str(tmp_path / "live"),
            live=str(programs),
            images_per_epoch=16,
            method="simclr",
            image_size=SIZE,
            epochs=2,
            batch_size=8,
            workers=0,
            progress=False,
            device="cpu",
        )
    )
    assert len(losses(run)) == 4


def test_ddp_two_processes_gloo(folder, tmp_path):
    from vdsl.train import dist

    c = cfg(tmp_path / "ddp", folder, method="moco", max_steps=2, batch_size=8)
    dist.spawn(train, 2, c, threads=1)
    ck = torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=False)
    assert ck["global_step"] == 2 and ck["resolved"]["world_size"] == 2
    assert ck["resolved"]["per_process_batch"] == 4
    # keys from both processes went into the queue: 2 steps x 8
    assert int(ck["model"]["queue_ptr"]) == 16
    assert len(losses(tmp_path / "ddp")) == 2


# ------------------------------------------------------------------------------------- evaluation


@pytest.fixture(scope="module")
def separable(tmp_path_factory) -> Path:
    """A synthetic 'real photo' set: 3 classes of noisy red / green / blue images, train and test."""
    root = tmp_path_factory.mktemp("real") / "rgb"
    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("test", 10)):
        for c, name in enumerate(("red", "green", "blue")):
            d = root / split / name
            d.mkdir(parents=True)
            for i in range(n):
                arr = rng.integers(0, 90, (SIZE, SIZE, 3))
                arr[..., c] += 150
                Image.fromarray(arr.astype(np.uint8)).save(d / f"{i}.jpg")
    return root


def test_probe_on_separable_set_beats_chance(separable):
    net, info = E.load_encoder("random", "resnet18", SIZE, seed=0)
    r = E.probe(net, separable, SIZE)
    assert r["chance"] == pytest.approx(1 / 3) and r["n_train"] == 60 and r["n_test"] == 30
    assert r["linear_probe"]["accuracy"] >= 0.9
    assert r["knn"]["accuracy"] >= 0.9


def test_cross_validation_reads_only_the_train_photos(separable, tmp_path):
    import shutil

    train_only = tmp_path / "rgb"
    shutil.copytree(separable / "train", train_only / "train")  # no test/ at all
    net, _ = E.load_encoder("random", "resnet18", SIZE, seed=0)
    r = E.probe(net, train_only, SIZE, cv=3)
    assert r["n_test"] == 0 and r["protocol"].startswith("3-fold")
    assert len(r["knn"]["folds"]) == 3 and r["linear_probe"]["accuracy"] >= 0.9 and r["knn"]["accuracy"] >= 0.9
    y = torch.arange(60) % 3
    fold = E.stratified_folds(y, 5)
    for i in range(5):  # every fold holds every class equally
        assert torch.bincount(y[fold == i], minlength=3).tolist() == [4, 4, 4]
    from vdsl.cli import main

    res = CliRunner().invoke(
        main,
        [
            "eval",
            "--checkpoint",
            "random",
            "--image-size",
            str(SIZE),
            "--data",
            str(train_only),
            "--cv",
            "3",
            "-o",
            str(tmp_path / "cv.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "3-fold CV on train" in res.output
    bad = CliRunner().invoke(main, ["eval", "--checkpoint", "random", "--cv", "1"])
    assert bad.exit_code == 2 and "at least 2 folds" in bad.output


def test_knn_and_linear_probe_on_features():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(4, 16, generator=g) * 4
    ytr, yte = torch.arange(80) % 4, torch.arange(40) % 4
    xtr = centers[ytr] + torch.randn(80, 16, generator=g)
    xte = centers[yte] + torch.randn(40, 16, generator=g)
    assert E.linear_probe(xtr, ytr, xte, yte)["accuracy"] > 0.9
    assert E.knn(xtr, ytr, xte, yte)["accuracy"] > 0.9
    assert E.knn(xtr, ytr[torch.randperm(80, generator=g)], xte, yte)["accuracy"] < 0.6


def test_eval_command_random_and_checkpoint(folder, separable, tmp_path):
    from vdsl.cli import main

    out = tmp_path / "eval.json"
    res = CliRunner().invoke(
        main, ["eval", "--checkpoint", "random", "--image-size", str(SIZE), "--data", str(separable), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "linear probe" in res.output
    saved = json.loads(out.read_text())["results"][0]
    assert saved["method"] == "random-init" and saved["linear_probe"]["accuracy"] >= 0.9
    run = train(cfg(tmp_path / "sup", folder, max_steps=1))
    res = CliRunner().invoke(main, ["eval", "--checkpoint", str(run / "checkpoint.pt"), "--data", str(separable)])
    assert res.exit_code == 0, res.output
    assert json.loads((run / "eval.json").read_text())["results"][0]["image_size"] == SIZE


def test_class_map_names_and_synonyms():
    concepts = ["objects/car", "airplane", "a_ship", "dog", "chainsaw", "gas_pump", "english springer spaniel"]
    m = E.class_map(["automobile", "airplane", "ship", "cat"], concepts)
    assert m == {"automobile": [0], "airplane": [1], "ship": [2], "cat": []}
    m = E.class_map(["chain_saw", "gas_pump", "english_springer"], concepts)
    assert m == {"chain_saw": [4], "gas_pump": [5], "english_springer": [6]}
    assert E.class_map(["cat"], ["kitty"], {"cat": ["kitty"]}) == {"cat": [0]}


def test_zero_real_photo_classification(folder, programs, supervised_run, tmp_path):
    """A supervised model of the concepts 'circle'/'square', applied to a held-out set of those classes."""
    real = build_folder(programs, tmp_path / "heldout", 16, seed=99)
    for sub in ("circle", "square"):  # the layout of a real set: test/<class>/*
        (tmp_path / "real" / "test").mkdir(parents=True, exist_ok=True)
        (real / "images" / sub).rename(tmp_path / "real" / "test" / sub)
    r = E.zero_shot(str(supervised_run / "checkpoint.pt"), tmp_path / "real")
    assert r["map"] == {"circle": ["circle"], "square": ["square"]} and r["unmapped"] == []
    assert r["chance"] == 0.5 and r["accuracy"] >= 0.75
    with pytest.raises(ValueError, match="supervised"):
        E.zero_shot(
            str(train(cfg(tmp_path / "moco", folder, method="moco", max_steps=1)) / "checkpoint.pt"), tmp_path / "real"
        )


@pytest.mark.skipif(D.find_shared() is None, reason="../shared (real photos) not present")
def test_real_photo_sets_load():
    x, y, classes = E.load_split("cifar10", "test", 32)
    assert x.shape == (1000, 3, 32, 32) and len(classes) == 10 and int(y.bincount().min()) == 100
    x, y, classes = E.load_split("imagenette", "train", 32)  # greyscale JPEGs become RGB
    assert x.shape == (1000, 3, 32, 32) and "church" in classes


# ------------------------------------------------------------------------------------- commands


def test_train_command_and_resume(folder, tmp_path):
    from vdsl.cli import main

    out = tmp_path / "cli"
    args = [
        "train",
        str(folder),
        "--method",
        "simclr",
        "--image-size",
        str(SIZE),
        "--batch-size",
        "8",
        "--epochs",
        "1",
        "--workers",
        "0",
        "--device",
        "cpu",
        "--quiet",
        "-o",
        str(out),
        "--max-steps",
        "2",
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        main, ["train", "-o", str(out), "--resume", "--quiet", "--workers", "0", "--device", "cpu"]
    )
    assert res.exit_code == 0, res.output
    assert len(losses(out)) == 4
    assert CliRunner().invoke(main, ["train"]).exit_code == 2


def test_commands_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None; from click.testing import CliRunner; "
        "from vdsl.cli import main; r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
        "assert 'train' in r.output; r = CliRunner().invoke(main, ['train', '.']); "
        "print(r.exit_code); print(r.output)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("2") and "pip install 'vdsl[train]'" in p.stdout


def test_experiment_command_defaults_are_the_config_defaults():
    """`vdsl experiment` with no flags runs ExperimentConfig() as documented (click cannot import it:
    the command must load without torch)."""
    from dataclasses import fields
    from vdsl.commands.train import experiment_cmd
    from vdsl.train.experiment import ExperimentConfig

    cli = {p.name: p.default for p in experiment_cmd.params}
    renamed = {"reals": "real"}
    checked = 0
    for name, default in cli.items():
        field = renamed.get(name, name)
        if field in {f.name for f in fields(ExperimentConfig)}:
            want = getattr(ExperimentConfig(), field)
            got = (
                [int(x) for x in default.split(",")]
                if field == "seeds"
                else default.split(",")
                if field == "sources"
                else (list(default) if isinstance(default, tuple) else default)
            )
            if not isinstance(got, (int, float, str, list)):  # click's "no default"
                got = None
            assert got == want, (field, got, want)
            checked += 1
    assert checked >= 15


def test_paired_differences_confidence_intervals_and_holm():
    from scipy import stats as sst
    from vdsl.train.statistics import compare, holm, paired

    a, b = {0: 0.50, 1: 0.60, 2: 0.55}, {0: 0.40, 1: 0.50, 2: 0.46}
    r = paired(a, b)
    d = [0.10, 0.10, 0.09]
    half = sst.t.ppf(0.975, 2) * np.std(d, ddof=1) / np.sqrt(3)
    assert r.n == 3 and r.mean == pytest.approx(np.mean(d))
    assert (r.low, r.high) == pytest.approx((np.mean(d) - half, np.mean(d) + half))
    assert r.p == pytest.approx(sst.ttest_rel([0.50, 0.60, 0.55], [0.40, 0.50, 0.46]).pvalue) and r.p < 0.05
    noisy = paired(a, {0: 0.45, 1: 0.62, 2: 0.50})
    assert noisy.mean > 0 and noisy.low < 0 < noisy.high and noisy.p > 0.05  # better on average, not reliably
    assert paired({"0": 0.5}, {"0": 0.4}).p is None  # one seed: no test
    assert paired({0: 0.5, 1: 0.6}, {0: 0.4, 1: 0.5}).p is None  # no spread: no test
    # Holm: sorted p x (m - rank), made monotone, capped at 1; untested comparisons are not counted
    assert holm([0.01, 0.04, 0.03, None, 0.5]) == pytest.approx([0.04, 0.09, 0.09, None, 0.5])
    assert holm([0.3, 0.6]) == [0.6, 0.6] and holm([0.9, 0.8]) == [1.0, 1.0]
    per_seed = {
        "corpus": {
            "x": {
                0: {"linear_probe": 0.5, "knn": 0.5},
                1: {"linear_probe": 0.6, "knn": 0.6},
                2: {"linear_probe": 0.55, "knn": 0.52},
            }
        },
        "dead_leaves": {
            "x": {
                0: {"linear_probe": 0.4, "knn": 0.45},
                1: {"linear_probe": 0.5, "knn": 0.62},
                2: {"linear_probe": 0.46, "knn": 0.50},
            }
        },
        "random": {"x": {s: {"linear_probe": 0.1, "knn": 0.1 + s / 100} for s in range(3)}},
    }
    rows = compare(per_seed)
    assert [(r["a"], r["b"], r["metric"]) for r in rows] == [
        ("corpus", "dead_leaves", "linear_probe"),
        ("corpus", "dead_leaves", "knn"),
        ("corpus", "random", "linear_probe"),
        ("corpus", "random", "knn"),
    ]
    assert [r["p_holm"] for r in rows] == pytest.approx(holm([r["p"] for r in rows]))
    assert rows[0]["p_holm"] > rows[0]["p"] and rows[0]["significant"] == (rows[0]["p_holm"] < 0.05)
    assert not rows[1]["significant"]


def tiny_experiment(out, programs, real, **kw):
    from vdsl.train.experiment import ExperimentConfig

    base = dict(
        out=str(out),
        programs=str(programs),
        images=8,
        image_size=SIZE,
        method="moco",
        epochs=1,
        batch_size=8,
        seeds=[0, 1],
        real=[str(real)],
        sources=["corpus", "dead_leaves"],
        workers=0,
        render_workers=1,
        device="cpu",
        progress=False,
    )
    base.update(kw)
    return ExperimentConfig(**base)


@pytest.fixture(scope="module")
def tiny_run(programs, separable, tmp_path_factory):
    """A finished tiny experiment (its config, result): every test below shares its data settings."""
    from vdsl.train.experiment import run

    c = tiny_experiment(tmp_path_factory.mktemp("tiny") / "exp", programs, separable, supervised=True)
    return c, run(c)


def with_data_of(tiny_run, out: Path) -> Path:
    """A new experiment folder holding the rendered data of tiny_run (reused: same data settings)."""
    import shutil

    out.mkdir(parents=True)
    shutil.copytree(Path(tiny_run[0].out) / "data", out / "data")
    return out


def test_experiment_end_to_end_tiny(tiny_run, tmp_path):
    from vdsl.train.experiment import run
    from vdsl.train.plan import plan

    c, result = tiny_run
    s = result["summary"]
    assert set(s) == {"corpus", "dead_leaves", "random", "corpus_supervised"}
    z = result["zero_shot"]["rgb"]  # no concept draws red/green/blue: nothing can be predicted
    assert z["unmapped"] == ["blue", "green", "red"] and set(z["accuracy"].values()) == {0.0}
    for name in s:
        lin, sd = s[name]["rgb"]["linear_probe"]
        assert 0 <= lin <= 1 and sd >= 0
        assert len(result["per_seed"][name]["rgb"]) == 2
    assert len(result["comparisons"]) == 4 and all(r["n"] == 2 for r in result["comparisons"])
    for name in ("results.md", "results.json", "results-main.png"):
        assert (Path(c.out) / name).is_file()
    md = (Path(c.out) / "results.md").read_text()
    assert "dead leaves" in md and "random init" in md and "hardware" in md and "95% CI" in md and "Holm" in md
    # both sources trained on exactly the same number of images, from renders the builder made
    runs = {(st.name, st.seed): st for st in plan(c) if st.kind == "train"}
    pool = next(st for st in plan(c) if st.kind == "pool")
    assert json.loads((pool.path / "stats.json").read_text())["command"] == "vdsl experiment"
    for name in ("corpus", "dead_leaves"):
        conf = json.loads((runs[(name, 0)].path / "config.json").read_text())
        assert conf["resolved"]["images"] == 8 and conf["method"] == "moco"
    linked = list(Path(conf["data"]).parent.glob("corpus-*/images/*/*.png"))  # the corpus: links into the pool
    assert len(linked) == 8 and all(f.resolve().parent.parent.parent == pool.path for f in linked)
    again = run(c)  # a rerun reuses every step and reports the same numbers
    assert again["per_seed"] == result["per_seed"] and again["steps"]["computed"] == []


def test_experiment_every_source_and_question_tiny(separable, tmp_path):
    """All sources on a 3-program corpus (one per tier, one an evaluation class): each question gets its
    comparisons and its chart, Holm runs over all of them, the protocol is recorded."""
    from vdsl.train.experiment import run
    from vdsl.train.sources import TRAINED

    progs = tmp_path / "progs"
    progs.mkdir()
    (progs / "circle.vd").write_text(CIRCLE)
    (progs / "cat.vd").write_text(
        SQUARE.replace("concept: square", "concept: cat").replace("tier: shapes", "tier: objects")
    )
    (progs / "room.vd").write_text(
        CIRCLE.replace("concept: circle", "concept: a room").replace("tier: shapes", "tier: scenes")
    )
    c = tiny_experiment(tmp_path / "exp", progs, separable, sources=list(TRAINED), subset_programs=2, linear_wd=0.01)
    r = run(c, protocol={"file": "bench/protocol.md", "commit": "abc123"})
    assert set(r["summary"]) == {*TRAINED, "random"}
    assert r["programs"]["corpus_heldout"] == ["circle", "room"] and r["programs"]["tier_objects"] == ["cat"]
    assert len(r["programs"]["corpus_25"]) == 2
    questions = [x["question"] for x in r["comparisons"]]
    assert questions.count("main") == 8 and questions.count("programs") == 2
    assert questions.count("classes") == 2 and questions.count("tiers") == 6
    from vdsl.train.statistics import holm

    assert [x["p_holm"] for x in r["comparisons"]] == pytest.approx(holm([x["p"] for x in r["comparisons"]]))
    for q in ("main", "programs", "classes", "tiers"):
        assert (tmp_path / "exp" / f"results-{q}.png").is_file()
    md = (tmp_path / "exp" / "results.md").read_text()
    assert "fixed at commit `abc123`" in md and "FractalDB-style fractals" in md and "Surviving the correction" in md
    evals = [json.loads(f.read_text())["result"] for f in (tmp_path / "exp" / "evals").glob("*.json")]
    assert {e["linear_probe"]["weight_decay"] for e in evals} == {0.01} and all(
        not e["linear_probe"]["holdout"] for e in evals
    )


def test_experiment_cache_is_keyed_by_settings(tiny_run, programs, separable, tmp_path, monkeypatch):
    """Change one setting at a time: exactly the artifacts that depend on it are recomputed."""
    from vdsl.train import experiment as X

    calls = {"build": 0, "train": 0, "probe": 0}

    def counted(name):
        real = getattr(X, name)

        def wrapper(*a, **kw):
            calls[name] += 1
            return real(*a, **kw)

        return wrapper

    for name in calls:
        monkeypatch.setattr(X, name, counted(name))
    out = with_data_of(tiny_run, tmp_path / "exp")

    def artifacts():  # every file of every data set, training run and evaluation
        return {p: p.stat().st_mtime_ns for d in ("data", "runs", "evals") for p in (out / d).rglob("*") if p.is_file()}

    def go(**kw):
        for k in calls:
            calls[k] = 0
        before = artifacts()
        result = X.run(
            tiny_experiment(out, programs, separable, **{"method": "simclr", "seeds": [0], "supervised": False, **kw})
        )
        changed = [p for p, t in before.items() if not p.is_file() or p.stat().st_mtime_ns != t]
        assert changed == []  # an artifact, once made, is never rewritten: new settings, new paths
        return dict(calls), result

    counts, first = go()  # other training settings than tiny_run's, the same data settings
    assert counts == {"build": 0, "train": 2, "probe": 3}
    counts, same = go()  # identical settings: nothing recomputed, nothing rewritten
    assert counts == {"build": 0, "train": 0, "probe": 0} and same["per_seed"] == first["per_seed"]

    counts, r = go(method="moco")  # new checkpoints and their probes; data, random reused
    assert counts == {"build": 0, "train": 2, "probe": 2}
    probed = {json.loads(f.read_text())["result"]["method"] for f in (out / "evals").glob("corpus-*")}
    assert probed == {"simclr", "moco"}  # the old evaluation is kept, not relabelled
    counts, r = go(image_size=40)  # everything depends on the image size
    assert counts == {"build": 2, "train": 2, "probe": 3}
    assert {json.loads(f.read_text())["result"]["image_size"] for f in (out / "evals").glob("*.json")} == {SIZE, 40}
    counts, r = go(epochs=2)  # a new schedule trains from scratch
    assert counts == {"build": 0, "train": 2, "probe": 2}
    two = [
        p
        for p in (out / "runs").glob("corpus-s0-*")
        if json.loads((p / "step.json").read_text())["settings"]["epochs"] == 2
    ]
    assert len(two) == 1 and [row["epoch"] for row in read_metrics(two[0])] == [0, 1]
    counts, r = go(seeds=[0, 1])  # only the new seed is trained and probed
    assert counts == {"build": 0, "train": 2, "probe": 3} and set(r["per_seed"]["corpus"]["rgb"]) == {0, 1}
    assert r["per_seed"]["corpus"]["rgb"][0] == first["per_seed"]["corpus"]["rgb"][0]
    counts, r = go(knn_k=5)  # a probe setting: probes only
    assert counts == {"build": 0, "train": 0, "probe": 3}
    counts, r = go()  # and the first settings are all still there
    assert counts == {"build": 0, "train": 0, "probe": 0} and r["per_seed"] == first["per_seed"]


@pytest.mark.parametrize("signum,code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_experiment_stops_on_a_signal_and_resumes_the_same_run(
    tiny_run, programs, separable, tmp_path, monkeypatch, signum, code
):
    """A signal mid-training: the run's checkpoint is saved, the whole experiment stops (no next run,
    no results), the exit status is 128 + the signal, one line says how to resume; the rerun's plan
    resumes that checkpoint."""
    import os
    import signal
    import time
    from vdsl.train import experiment as X
    from vdsl.train.plan import plan

    out = with_data_of(tiny_run, tmp_path / "exp")
    c = tiny_experiment(out, programs, separable, epochs=500, seeds=[0], supervised=False)
    args = [
        "experiment",
        "-o",
        str(out),
        "--programs",
        str(programs),
        "--real",
        str(separable),
        "--images",
        "8",
        "--image-size",
        str(SIZE),
        "--method",
        "moco",
        "--epochs",
        "500",
        "--batch-size",
        "8",
        "--seeds",
        "0",
        "--no-supervised",
        "--sources",
        "corpus,dead_leaves",
        "--workers",
        "0",
        "--render-workers",
        "1",
        "--device",
        "cpu",
        "--quiet",
    ]
    first = next(st for st in plan(c) if st.kind == "train")
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(repo)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vdsl.cli", *args],
        cwd=repo,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while len(read_metrics(first.path)) < 2:  # training has taken steps
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(getattr(signal, signum))
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, stderr
    last = stderr.strip().splitlines()[-1]
    assert signum in last and "resume with the same command: vdsl experiment" in last
    assert sum("resume" in line for line in stderr.splitlines()) == 1
    ck = torch.load(first.path / "checkpoint.pt", weights_only=False)
    assert 2 <= ck["global_step"] < 500 and len(losses(first.path)) == ck["global_step"]
    assert not (first.path / "step.json").exists() and not (out / "results.md").exists()
    assert not list((out / "runs").glob("dead_leaves-*"))  # the next run never started
    seen = []  # rerun with the same settings: the same folder, resumed from its checkpoint
    monkeypatch.setattr(X, "train", lambda tc, resume, **kw: seen.append((tc.out, resume)))
    X.train_model(first, c, {st.key: st for st in plan(c)})
    assert seen == [(str(first.path), True)]


def test_gpu_run_script_tiny(separable, tmp_path):
    """bench/gpu_run.py, the one-command GPU run, at its CPU smoke size: every source trained and
    probed, the table written."""
    import os

    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "gpu"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(repo)}
    cmd = [sys.executable, str(repo / "bench" / "gpu_run.py"), "--tiny", "--real", str(separable), "--out", str(out)]
    p = subprocess.run([*cmd, "--minutes", "0"], cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    assert set(result["summary"]) == {"corpus", "dead_leaves", "fractals", "real", "random"}
    assert result["config"]["method"] == "moco" and len(result["comparisons"]) == 8
    assert (out / "results-main.png").is_file() and "FractalDB-style fractals" in (out / "results.md").read_text()
    if not torch.cuda.is_available():  # the full size refuses to start without a GPU
        p = subprocess.run(
            cmd[:2] + ["--out", str(tmp_path / "full")], cwd=repo, env=env, capture_output=True, text=True, timeout=300
        )
        assert p.returncode == 2 and "no CUDA device" in p.stderr
