"""Shard formats of `vdsl dataset build` (WebDataset, Parquet): same images as the folder format, byte-identical rebuilds, SIGKILL resume, --shard + merge, stats, the card, and `vdsl train` reading shards."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("pyarrow")
pytest.importorskip("webdataset")

from vdsl.cli import main
from vdsl.dataset import BuildOptions, build
from vdsl.dataset.readers import ShardError, ShardSet
from vdsl.dataset.sources import shard_of

HEAD = "canvas(width=64, height=64, background=white)\n"


def prog(concept: str, body: str) -> str:
    return f"// concept: {concept}\n// tier: shapes\n" + HEAD + body + "\n"


DOT = prog("dot", "circle(center=(rand(10, 54), rand(10, 54)), r=rand(4, 12), fill=hsl(rand(0, 360), 70%, 50%))")
RING = prog(
    "ring",
    "circle(center=(32, 32), r=rand(10, 25), fill=none, stroke=hsl(rand(0, 360), 60%, 40%), stroke_width=rand(2, 6))",
)
FIXED = prog("dot", "circle(center=(32, 32), r=10, fill=black)")  # every seed the same: duplicates
FILES = {
    "dot_a.vd": DOT,
    "dot.b.vd": DOT.replace("r=rand(4, 12)", "r=rand(3, 9)"),  # a dot in the name: a comma in the key
    "ring.vd": RING,
    "fixed.vd": FIXED,
    "broken.vd": "// concept: ring\ncircle(\n",
    "blank.vd": prog("ring", ""),
}
SHARD_FORMATS = ("webdataset", "parquet")


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def opts(out: Path, src: Path, fmt: str, **kw) -> BuildOptions:
    kw.setdefault("variants", 3)
    kw.setdefault("size", (32, 32))
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    kw.setdefault("shard_size", 4)
    return BuildOptions(out=out, programs=(src,), format=fmt, **kw)


def quiet(s: str) -> None:
    pass


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def shard_bytes(root: Path) -> dict[str, bytes]:
    out = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "shards").iterdir())}
    out["shards.json"] = (root / "shards.json").read_bytes()
    out["metadata.jsonl"] = (root / "metadata.jsonl").read_bytes()
    out["failures.jsonl"] = (root / "failures.jsonl").read_bytes()
    return out


COLS = ("concept_id", "program", "seed", "image_sha256", "program_hash", "width", "height")


def core(row: dict) -> tuple:
    return tuple(row.get(c) for c in COLS)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("shards")
    src = write(base / "src", FILES)
    out = {}
    for fmt in ("files", *SHARD_FORMATS):
        out[fmt] = base / fmt
        build(opts(out[fmt], src, fmt), echo=quiet)
    return src, out


def test_shards_hold_the_folder_builds_images_and_accounting(built):
    _, out = built
    files = out["files"]
    want = lines(files / "metadata.jsonl")
    want_png = [(files / r["file_name"]).read_bytes() for r in want]
    want_fail = sorted((f["program"], f["seed"], f["reason"]) for f in lines(files / "failures.jsonl"))
    assert {"duplicate", "compile_error", "blank"} <= {r for _, _, r in want_fail}  # the filters ran
    for fmt in SHARD_FORMATS:
        root = out[fmt]
        assert not (root / "images").exists()
        rows = lines(root / "metadata.jsonl")
        assert [core(r) for r in rows] == [core(r) for r in want]
        assert all(r["shard"].startswith("shards/shard-") for r in rows)
        assert sorted((f["program"], f["seed"], f["reason"]) for f in lines(root / "failures.jsonl")) == want_fail
        index = json.loads((root / "shards.json").read_text())
        assert [e["images"] for e in index["shards"]] == [4] * (len(want) // 4) + (
            [len(want) % 4] if len(want) % 4 else []
        )
        for e in index["shards"]:
            assert hashlib.sha256((root / e["file"]).read_bytes()).hexdigest() == e["sha256"]
        ss = ShardSet(root)
        assert [ss.image_bytes(s) for s in ss.samples] == want_png
        assert [s.key for s in ss.samples] == [r["key"] for r in rows]
        assert any("," in r["key"] for r in rows)  # dot.b -> dot,b
        st = json.loads((root / "stats.json").read_text())
        ref = json.loads((files / "stats.json").read_text())
        assert {k: v for k, v in st["counts"].items() if k != "bytes"} == {
            k: v for k, v in ref["counts"].items() if k != "bytes"
        }
        assert st["counts"]["bytes"] == sum(e["bytes"] for e in index["shards"])
        assert st["config"]["format"] == fmt and "format" not in ref["config"]
        card = (root / "README.md").read_text()
        assert f"shard-NNNNNN.{'tar' if fmt == 'webdataset' else 'parquet'}" in card and "ImageFolder" not in card
        res = CliRunner().invoke(main, ["dataset", "stats", str(root), "--format", "json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["counts"] == st["counts"]
        grid = root.parent / f"{fmt}-grid.png"
        res = CliRunner().invoke(main, ["dataset", "preview", str(root), "-o", str(grid), "-n", "4", "--cell", "32"])
        assert res.exit_code == 0, res.output
        from PIL import Image

        with Image.open(grid) as im:  # the first cell holds an image, not the red box of an unreadable one
            cell = np.asarray(im.convert("RGB").crop((7, 7, 37, 37))).reshape(-1, 3)
            assert len({tuple(p) for p in cell}) > 3


def test_webdataset_library_reads_the_tar_shards_as_is(built):
    import webdataset as wds

    _, out = built
    root = out["webdataset"]
    rows = lines(root / "metadata.jsonl")
    ds = wds.WebDataset(sorted(glob.glob(str(root / "shards" / "*.tar"))), shardshuffle=False)
    samples = list(ds)
    assert [s["__key__"] for s in samples] == [r["key"] for r in rows]
    assert [json.loads(s["json"]) for s in samples] == [{k: v for k, v in r.items() if k != "shard"} for r in rows]
    assert [hashlib.sha256(s["png"]).hexdigest() for s in samples] == [r["image_sha256"] for r in rows]
    decoded = next(iter(wds.WebDataset(str(root / "shards" / "shard-000000.tar"), shardshuffle=False).decode("pil")))
    assert decoded["png"].size == (32, 32)


def test_datasets_library_reads_the_parquet_shards_as_is(built, tmp_path):
    datasets = pytest.importorskip("datasets")
    _, out = built
    root = out["parquet"]
    rows = lines(root / "metadata.jsonl")
    files = sorted(glob.glob(str(root / "shards" / "*.parquet")))
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == len(rows) and ds["key"] == [r["key"] for r in rows]
    assert ds["concept_id"] == [r["concept_id"] for r in rows] and ds["seed"] == [r["seed"] for r in rows]
    assert ds[0]["image"].size == (32, 32)  # decoded to PIL by the Image feature the schema carries
    raw = ds.cast_column("image", datasets.Image(decode=False))
    assert [hashlib.sha256(x["bytes"]).hexdigest() for x in raw["image"]] == [r["image_sha256"] for r in rows]


@pytest.mark.parametrize("fmt", SHARD_FORMATS)
def test_same_settings_give_byte_identical_shards(built, tmp_path, fmt):
    src, out = built
    again = tmp_path / "again"
    build(opts(again, src, fmt, workers=2, chunk=1), echo=quiet)  # other workers, other completion order
    assert shard_bytes(again) == shard_bytes(out[fmt])
    other = tmp_path / "other"
    build(opts(other, src, fmt, shard_size=5), echo=quiet)
    assert (other / "shards" / f"shard-000000{'.tar' if fmt == 'webdataset' else '.parquet'}").read_bytes() != (
        out[fmt] / "shards" / f"shard-000000{'.tar' if fmt == 'webdataset' else '.parquet'}"
    ).read_bytes()


@pytest.mark.parametrize("fmt", SHARD_FORMATS)
def test_a_damaged_shard_is_named_and_a_rerun_rewrites_it(built, tmp_path, fmt):
    src, out = built
    root = tmp_path / "d"
    build(opts(root, src, fmt), echo=quiet)
    ext = ".tar" if fmt == "webdataset" else ".parquet"
    victim = root / "shards" / f"shard-000001{ext}"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # cut off, as a crash or a copy might leave it
    (root / "shards" / f".shard-000002{ext}.x.tmp").write_bytes(b"partial")
    with pytest.raises(ShardError, match="shard-000001"):
        ShardSet(root)  # its size disagrees with shards.json
    with pytest.raises(ShardError, match="truncated|not a readable"):
        ShardSet(victim)  # and read alone, without the index
    res = CliRunner().invoke(main, ["train", str(root), "-o", str(tmp_path / "run"), "--device", "cpu", "--quiet"])
    assert res.exit_code != 0 and "shard-000001" in res.output and "Traceback" not in res.output
    build(opts(root, src, fmt), echo=quiet)  # the same command again
    assert shard_bytes(root) == shard_bytes(out[fmt])
    assert not list((root / "shards").glob(".*"))


SLOWISH = prog(
    "swarm",
    "for i in range(120) { circle(center=(rand(0, 64), rand(0, 64)), r=rand(1, 6), fill=hsl(rand(0, 360), 70%, 50%)) }",
)


def _run_and_kill(cmd: list[str], ready) -> None:
    """Start the build in its own process group, wait until ready(), then SIGKILL it and its workers."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()


def test_sigkill_while_rendering_and_while_packing_then_rerun_equals_an_uninterrupted_build(tmp_path):
    files = {f"swarm_{i}.vd": SLOWISH.replace("r=rand(1, 6)", f"r=rand(1, {6 + i})") for i in range(5)}
    files["fixed.vd"] = prog("swarm", "circle(center=(32, 32), r=10, fill=black)")
    src = write(tmp_path / "src", files)
    args = ["--programs", str(src), "--variants", "60", "--size", "40", "--workers", "2", "--no-progress"]
    args += ["--format", "webdataset", "--shard-size", "2"]  # many small shards: packing takes a while
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-c", "from vdsl.cli import main; main()", "dataset", "build", *args, "-o", str(killed)]
    journal = killed / ".vdsl-build" / "journal.jsonl"
    _run_and_kill(cmd, lambda: journal.is_file() and journal.read_bytes().count(b"\n") >= 3)
    assert not (killed / "shards").exists()  # killed while rendering
    shards = killed / "shards"
    _run_and_kill(cmd, lambda: shards.is_dir() and len(os.listdir(shards)) >= 3)
    assert shards.is_dir() and not (killed / "shards.json").exists()  # killed while packing
    rerun = CliRunner().invoke(main, ["dataset", "build", *args, "-o", str(killed)])
    assert rerun.exit_code == 0, rerun.output
    whole = tmp_path / "whole"
    res = CliRunner().invoke(main, ["dataset", "build", *args, "-o", str(whole)])
    assert res.exit_code == 0, res.output
    assert shard_bytes(killed) == shard_bytes(whole)
    card = (killed / "README.md").read_text()
    assert card == (whole / "README.md").read_text().replace(str(whole), str(killed))
    assert "--format webdataset --shard-size 2" in card
    assert not list(killed.rglob("*.tmp"))
    # finished renders were not redone: every image is in the journal once
    recs = [json.loads(x) for x in journal.read_text().splitlines() if '"t":"img"' in x]
    assert len(recs) == len({(r["k"], r["s"]) for r in recs}) == 6 * 60


def _names_on_both_shards(prefix: str, folder: str) -> tuple[str, str]:
    names = [f"{prefix}{i}" for i in range(50)]
    return (
        next(n for n in names if shard_of(f"{folder}/{n}", 2) == 0),
        next(n for n in names if shard_of(f"{folder}/{n}", 2) == 1),
    )


@pytest.mark.parametrize("fmt", SHARD_FORMATS)
def test_split_builds_merged_equal_the_whole_build(built, tmp_path, fmt):
    src0, out = built
    a, b = _names_on_both_shards("fixed", "dot")  # the same image on both machines: one is a duplicate
    src = write(tmp_path / "src", dict(FILES, **{f"{a}.vd": FIXED, f"{b}.vd": FIXED}))
    whole = tmp_path / "whole"
    build(opts(whole, src, fmt), echo=quiet)
    parts = [tmp_path / f"p{i}" for i in range(2)]
    for i, p in enumerate(parts):
        build(opts(p, src, fmt, shard=(i, 2)), echo=quiet)
    merged = tmp_path / "merged"
    res = CliRunner().invoke(main, ["dataset", "merge", str(parts[1]), str(parts[0]), "-o", str(merged)])
    assert res.exit_code == 0, res.output
    assert shard_bytes(merged) == shard_bytes(whole)
    st, ref = (json.loads((d / "stats.json").read_text())["counts"] for d in (merged, whole))
    assert st == ref
    # a damaged part stops the merge with its name, and nothing is half-written under a final name
    victim = sorted((parts[0] / "shards").iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:300])
    bad = CliRunner().invoke(main, ["dataset", "merge", str(parts[0]), str(parts[1]), "-o", str(tmp_path / "m2")])
    assert bad.exit_code == 2 and str(parts[0]) in bad.output and "Traceback" not in bad.output


@pytest.mark.parametrize("fmt", ("files", *SHARD_FORMATS))
def test_writers_store_extra_files_with_each_image(tmp_path, fmt):
    """The writer interface other outputs (labels) plug into: add(key, png, row, extra)."""
    from vdsl.dataset.writers import make_writer

    w = make_writer(fmt, tmp_path, shard_size=2)
    w.open()
    rows = []
    for i in range(3):
        row = {"file_name": f"images/c/p_{i}.png" if fmt == "files" else f"c/p_{i}.png", "seed": i}
        rows.append(w.add(f"c/p_{i}", f"png{i}".encode(), row, {"coco.json": b"{}", "mask.png": b"m"}))
    index = w.close()
    if fmt == "files":
        assert index == [] and (tmp_path / "images/c/p_1.png").read_bytes() == b"png1"
        assert (tmp_path / "images/c/p_1.coco.json").read_bytes() == b"{}"
        return
    assert [e["images"] for e in index] == [2, 1] and rows[2]["shard"] == index[1]["file"]
    if fmt == "webdataset":
        import tarfile

        with tarfile.open(tmp_path / index[0]["file"]) as tar:
            assert tar.getnames() == [
                f"c/p_{i}.{x}" for i in range(2) for x in ("png", "json", "coco.json", "mask.png")
            ]
    else:
        import pyarrow.parquet as pq

        t = pq.read_table(tmp_path / index[0]["file"])
        assert t.column("coco_json").to_pylist() == [b"{}", b"{}"] and t.column("mask_png").to_pylist() == [b"m", b"m"]
        assert [x["bytes"] for x in t.column("image").to_pylist()] == [b"png0", b"png1"]


def test_format_is_part_of_the_settings_a_folder_resumes_with(built, tmp_path):
    src, out = built
    root = tmp_path / "x"
    build(opts(root, src, "webdataset"), echo=quiet)
    res = CliRunner().invoke(
        main, ["dataset", "build", "--programs", str(src), "--variants", "3", "--size", "32", "-o", str(root)]
    )
    assert res.exit_code == 2 and "format" in res.output
    args = ["dataset", "build", "--programs", str(src), "--format", "parquet", "--labels", "-o", str(tmp_path / "l")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "--labels" in res.output and "Traceback" not in res.output


# ----------------------------------------------------------------------------- training on shards


@pytest.fixture(scope="module")
def train_shards(tmp_path_factory):
    """Two concepts, 4 programs x 10 seeds, in shards of 5 (8 shards) at 32 px."""
    base = tmp_path_factory.mktemp("train_shards")
    circle = "canvas(width=64, height=64, background=rgb(rand(0, 90), rand(0, 90), rand(0, 90)))\n"
    circle += "circle(center=(rand(24, 40), rand(24, 40)), r=rand(12, 20), fill=rgb(rand(180, 255), 200, 200))\n"
    square = "canvas(width=64, height=64, background=rgb(rand(160, 255), rand(160, 255), 200))\n"
    square += (
        "rect(center=(rand(24, 40), rand(24, 40)), w=rand(20, 34), h=rand(20, 34), fill=rgb(rand(0, 80), 20, 20))\n"
    )
    files = {}
    for i in range(2):
        files[f"circle{i}.vd"] = "// concept: circle\n" + circle.replace("r=rand(12, 20)", f"r=rand({12 + i}, 20)")
        files[f"square{i}.vd"] = "// concept: square\n" + square.replace("w=rand(20, 34)", f"w=rand({20 + i}, 34)")
    src = write(base / "src", files)
    out = {}
    for fmt in SHARD_FORMATS:
        out[fmt] = base / fmt
        build(opts(out[fmt], src, fmt, variants=10, shard_size=5), echo=quiet)
    return out


def test_shard_order_splits_processes_and_is_fixed_by_seed_and_epoch(train_shards):
    torch = pytest.importorskip("torch")
    from vdsl.train.shards import MIX, ShardImages

    ds = ShardImages(train_shards["webdataset"], seed=3)
    assert ds.classes == ["circle", "square"] and len(ds) == 40
    img, label = ds[0]
    assert img.dtype == torch.uint8 and tuple(img.shape) == (3, 32, 32) and label in (0, 1)
    one = ds.epoch_order(0)
    assert sorted(one) == list(range(40)) and one != list(range(40))
    assert ds.epoch_order(0) == one and ds.epoch_order(1) != one
    # within a group of MIX shards the reads stay inside those shards
    shard_of_sample = [s.shard for s in ds.shards.samples]
    assert len({shard_of_sample[i] for i in one[: 5 * MIX]}) == MIX
    world = 3
    parts = [ds.epoch_order(0, r, world) for r in range(world)]
    shard_sets = [{shard_of_sample[i] for i in p} for p in parts]
    assert all(not (x & y) for k, x in enumerate(shard_sets) for y in shard_sets[k + 1 :])  # disjoint shards
    assert sorted(i for p in parts for i in p) == list(range(40))
    batches = [ds.batches(4, 0, r, world) for r in range(world)]
    assert len({len(b) for b in batches}) == 1 and len(batches[0]) == ds.steps_per_epoch(4, world) == 2
    with pytest.raises(ShardError, match="cannot be split over 9"):
        ds.batches(4, 0, 0, 9)
    other = ShardImages(train_shards["parquet"], seed=3)
    assert [s.key for s in other.shards.samples] == [s.key for s in ds.shards.samples]
    assert other.epoch_order(0, 1, 2) == ds.epoch_order(0, 1, 2)
    assert torch.equal(other[7][0], ds[7][0])


def _cfg(out, data, **kw):
    from vdsl.train.loop import TrainConfig

    base = dict(
        out=str(out), data=str(data), method="supervised", arch="resnet18", image_size=32, epochs=2,
        batch_size=8, workers=0, seed=0, progress=False, device="cpu", lr=0.05,
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("fmt", SHARD_FORMATS)
def test_training_on_shards_resumes_exactly(train_shards, tmp_path, fmt):
    torch = pytest.importorskip("torch")
    from vdsl.train.loop import read_metrics, train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = train_shards[fmt]
        whole = [r["loss"] for r in read_metrics(train(_cfg(tmp_path / "whole", data)))]
        assert len(whole) == 2 * 5
        part = train(_cfg(tmp_path / "part", data, max_steps=7, workers=1 if fmt == "webdataset" else 0))
        assert [r["loss"] for r in read_metrics(part)] == whole[:7]
        resumed = train(_cfg(tmp_path / "part", data, epochs=None), resume=True)
        assert [r["loss"] for r in read_metrics(resumed)] == whole
        cfg = json.loads((tmp_path / "whole" / "config.json").read_text())
        assert cfg["resolved"]["images"] == 40 and cfg["resolved"]["steps_per_epoch"] == 5
    finally:
        torch.set_num_threads(threads)


def test_ddp_processes_read_disjoint_shards(train_shards, tmp_path):
    torch = pytest.importorskip("torch")
    from vdsl.train import dist
    from vdsl.train.loop import train

    c = _cfg(tmp_path / "ddp", train_shards["webdataset"], max_steps=3, epochs=1)
    dist.spawn(train, 2, c, threads=1)
    ck = torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=False)
    assert ck["resolved"]["world_size"] == 2 and ck["resolved"]["steps_per_epoch"] == 5
    assert ck["global_step"] == 3
