"""Cross-validation pilots that fix the experiment's settings: train photos only, never the test photos.

Trains one pilot seed (100, not one of the experiment's seeds) of each candidate setting on the vdsl
corpus and on dead leaves at the experiment's scale, and scores frozen features by 5-fold
cross-validation within the train photos of cifar10-large and imagenette-large (`vdsl eval --cv 3`).
Writes bench/results/experiment-pilots-cv.{json,md}; bench/protocol.md records what it chose.

    nice -n 5 python bench/pilot_cv.py            # ~6 min on one free core
    python bench/pilot_cv.py --tiny               # a smoke run (tests)
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import torch

from vdsl.dataset import BuildOptions, build
from vdsl.train.data import REAL_SETS
from vdsl.train.evaluate import load_encoder, probe
from vdsl.train.experiment import hardware
from vdsl.train.loop import TrainConfig, train
from vdsl.train.sources import BASELINES

GRID = {"method": ["moco", "simclr"], "lr": [None]}  # None: each method's published lr (0.06 per 256 images)
FIXED = {"arch": "resnet10-half", "image_size": 32, "stem": "imagenet", "batch_size": 64, "epochs": 10}
FOLDS = 3
SEED = 100


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out/pilots")
    ap.add_argument("--programs", default="examples")
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--real", nargs="+", default=list(REAL_SETS))
    ap.add_argument("--report", default="bench/results/experiment-pilots-cv")
    ap.add_argument("--tiny", action="store_true", help="2 epochs, 128 images, the small photo sets")
    a = ap.parse_args()
    torch.set_num_threads(1)
    fixed, grid = dict(FIXED), dict(GRID)
    if a.tiny:
        a.images, fixed["epochs"], fixed["batch_size"] = 128, 1, 64
        a.real = ["cifar10", "imagenette"]
        grid = {"method": ["moco"], "lr": [None]}
    out = Path(a.out)
    t0 = time.perf_counter()
    data = {}
    for name, programs, n_programs in (
        ("corpus", Path(a.programs), len(list(Path(a.programs).glob("*.vd")))),
        ("dead_leaves", BASELINES, 4),
    ):
        folder = out / "data" / name
        if not (folder / "metadata.jsonl").is_file():
            sub = out / "programs" / name
            sub.mkdir(parents=True, exist_ok=True)
            for p in sorted(programs.glob("*.vd") if name == "corpus" else BASELINES.glob("dead_leaves_*.vd")):
                (sub / p.name).write_bytes(p.read_bytes())
            build(
                BuildOptions(
                    out=folder,
                    programs=(sub,),
                    variants=-(-a.images * 6 // 5 // n_programs) + 1,
                    size=(fixed["image_size"],) * 2,
                    progress=False,
                    command="bench/pilot_cv.py",
                ),
                echo=lambda s: None,
            )
        data[name] = folder
    rows = []
    for name in data:
        for method, lr in itertools.product(grid["method"], grid["lr"]):
            run = out / "runs" / f"{name}-{method}-lr{lr}"
            if not (run / "done").is_file():
                train(
                    TrainConfig(
                        out=str(run),
                        data=str(data[name]),
                        max_images=a.images,
                        method=method,
                        lr=lr,
                        seed=SEED,
                        workers=0,
                        progress=False,
                        **fixed,
                    ),
                    resume=(run / "checkpoint.pt").is_file(),
                )
                (run / "done").write_text("")
            net, _ = load_encoder(str(run / "checkpoint.pt"))
            res = {r: probe(net, r, fixed["image_size"], cv=FOLDS) for r in a.real}
            rows.append({"source": name, "method": method, "lr": lr, "cv": res})
            print(name, method, lr, {r: (v["linear_probe"]["accuracy"], v["knn"]["accuracy"]) for r, v in res.items()})
    rnet, _ = load_encoder("random", fixed["arch"], fixed["image_size"], fixed["stem"], SEED)
    rand = {r: probe(rnet, r, fixed["image_size"], cv=FOLDS) for r in a.real}
    result = {
        "command": "python bench/pilot_cv.py" + (" --tiny" if a.tiny else ""),
        "fixed": fixed,
        "grid": grid,
        "seed": SEED,
        "images": a.images,
        "real": a.real,
        "protocol": f"{FOLDS}-fold cross-validation within the train photos; the test photos are not read",
        "rows": rows,
        "random_init": rand,
        "hardware": hardware(),
        "wall_s": time.perf_counter() - t0,
    }
    Path(a.report).parent.mkdir(parents=True, exist_ok=True)
    Path(a.report + ".json").write_text(json.dumps(result, indent=2) + "\n")
    Path(a.report + ".md").write_text(markdown(result))
    print(markdown(result))


def _score(cv: dict) -> float:
    """The selection criterion: the mean of linear-probe and k-NN CV accuracy over the real sets."""
    return sum(v["linear_probe"]["accuracy"] + v["knn"]["accuracy"] for v in cv.values()) / (2 * len(cv))


def markdown(r: dict) -> str:
    reals = r["real"]
    head = "| source | method | lr | " + " | ".join(f"{x} linear | {x} k-NN" for x in reals) + " | mean |"
    lines = [
        "## Cross-validation pilots (train photos only)",
        "",
        f"`{r['command']}`: one pilot seed ({r['seed']}), {r['images']} images per source, "
        + ", ".join(f"{k} {v}" for k, v in r["fixed"].items())
        + f"; scores: {r['protocol']} (%, linear probe at its best L2 weight, k-NN k=20).",
        "",
        head,
        "|---|---|---:|" + "---:|" * (2 * len(reals) + 1),
    ]
    for row in r["rows"]:
        cells = [f"{100 * row['cv'][x][m]['accuracy']:.1f}" for x in reals for m in ("linear_probe", "knn")]
        lines.append(
            f"| {row['source']} | {row['method']} | {row['lr']} | "
            + " | ".join(cells)
            + f" | {100 * _score(row['cv']):.1f} |"
        )
    cells = [f"{100 * r['random_init'][x][m]['accuracy']:.1f}" for x in reals for m in ("linear_probe", "knn")]
    lines.append("| random init | — | — | " + " | ".join(cells) + f" | {100 * _score(r['random_init']):.1f} |")
    by_setting: dict = {}
    for row in r["rows"]:
        by_setting.setdefault((row["method"], row["lr"]), []).append(_score(row["cv"]))
    best = max(by_setting, key=lambda k: sum(by_setting[k]) / len(by_setting[k]))
    lines += [
        "",
        "Mean over both sources per setting (the criterion): "
        + "; ".join(f"{m} lr {lr}: {100 * sum(v) / len(v):.2f}" for (m, lr), v in by_setting.items())
        + f". **Chosen: {best[0]}, lr {best[1]}.**",
        "",
        "Probe settings by cross-validation (mean over all pilot models and both sets): linear-probe L2 weight "
        + "; ".join(
            f"{w}: {100 * _mean([row['cv'][x]['linear_probe']['by_weight_decay'][w] for row in r['rows'] for x in reals]):.2f}"
            for w in r["rows"][0]["cv"][reals[0]]["linear_probe"]["by_weight_decay"]
        )
        + "; k-NN k "
        + "; ".join(
            f"{k}: {100 * _mean([row['cv'][x]['knn']['by_k'][k] for row in r['rows'] for x in reals]):.2f}"
            for k in r["rows"][0]["cv"][reals[0]]["knn"]["by_k"]
        ),
        "",
        f"Wall time {r['wall_s'] / 60:.1f} min; {r['hardware']['nproc']} cores ({r['hardware']['cpu']}), "
        f"torch {r['hardware']['torch']} with {r['hardware']['torch_threads']} thread(s), GPU: {r['hardware']['gpu'] or 'none'}.",
        "",
    ]
    return "\n".join(lines)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


if __name__ == "__main__":
    main()
