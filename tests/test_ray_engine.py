"""`dataset build --engine ray`: on a local Ray instance (2 CPUs) the same files byte for byte as the local pool, the same failure rows (time limit, budgets, crashes), labels, resume, and a Ray worker that dies."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_dataset import GOOD, POISON, opts, quiet, write
from vdsl.budgets import DEFAULT
from vdsl.cli import main
from vdsl.dataset import build
from vdsl.errors import IncompleteRun
from vdsl.dataset.ray_engine import DIE_ENV, RayWorkerDied

ray = pytest.importorskip("ray")

DIE_KEY = "ring/zz_die"  # a task holding this program exits its Ray worker (set before Ray starts)


@pytest.fixture(scope="module")
def ray_instance():
    os.environ[DIE_ENV] = DIE_KEY  # the Ray workers inherit it
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        os.environ.pop(DIE_ENV, None)


def tree(out: Path) -> dict[str, str]:
    """sha256 of every file of a dataset but its build state."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".vdsl-build" not in p.parts
    }


def both(tmp_path: Path, src: Path, **kw) -> tuple[Path, Path]:
    """The same build with each engine, into folders of the same name (the card names the folder)."""
    outs = []
    for engine in ("local", "ray"):
        out = tmp_path / engine / "ds"
        build(opts(out, src, engine=engine, **kw), echo=quiet)
        outs.append(out)
    return outs[0], outs[1]


def test_ray_build_is_byte_for_byte_the_local_build(ray_instance, tmp_path):
    src = write(tmp_path / "src", GOOD)
    local, remote = both(tmp_path, src, variants=5, size=(48, 48), chunk=2)
    a, b = tree(local), tree(remote)
    assert len([f for f in a if f.endswith(".png")]) > 10
    assert a == b


def test_ray_build_records_failures_as_the_local_pool_does(ray_instance, tmp_path):
    """Budgets, compile errors, run-time errors, blanks, duplicates, programs without a concept."""
    src = write(tmp_path / "src", {k: v for k, v in POISON.items() if k != "slow.vd"})
    local, remote = both(tmp_path, src, variants=3, chunk=3)
    assert tree(local) == tree(remote)
    fails = (remote / "failures.jsonl").read_text()
    assert '"reason":"budget"' in fails and '"reason":"compile_error"' in fails and '"reason":"blank"' in fails


def test_ray_tasks_keep_the_render_time_limit(ray_instance, tmp_path):
    """A render past --timeout is killed inside its Ray task and recorded as the local pool records it
    (compared row by row: the time limit makes whole folders depend on the machine's load)."""
    src = write(tmp_path / "src", {k: POISON[k] for k in ("slow.vd", "good_dot.vd")})
    b = DEFAULT.with_overrides(fuel=100_000_000)
    local, remote = both(tmp_path, src, variants=3, timeout=3.0, budgets=b, chunk=3)
    rows = [[json.loads(l) for l in (d / "failures.jsonl").read_text().splitlines()] for d in (local, remote)]
    slow = [[(f["seed"], f["reason"], f["detail"]) for f in r if f["program"] == "slow"] for r in rows]
    # 6 images on 2 workers: one seed per unit, so every seed of slow runs (and is killed) on its own
    assert slow[0] == slow[1] == [(s, "timeout", "render took longer than 3s; its worker was killed") for s in range(3)]
    assert not [r for r in rows[1] if r["program"] == "good_dot"]  # the good program is unharmed


def test_ray_build_with_labels(ray_instance, tmp_path):
    pytest.importorskip("pycocotools")
    body = (
        'rect(x=rand(0, 30), y=5, w=20, h=20, fill=red, label="box")\n'
        'circle(center=(32, 32), r=rand(5, 15), fill=blue, label="ball")'
    )
    src = write(tmp_path / "src", {"a.vd": "// concept: toy\ncanvas(width=64, height=64, background=white)\n" + body})
    local, remote = both(tmp_path, src, variants=4, size=(32, 32), labels=True)
    a = tree(local)
    assert "annotations.coco.json" in a and len([f for f in a if f.endswith(".coco.json")]) == 5
    assert a == tree(remote)


def test_a_dying_ray_worker_stops_the_build_resumably(ray_instance, tmp_path):
    src = write(tmp_path / "src", GOOD)
    die = "// concept: ring\ncanvas(width=64, height=64, background=white)\ncircle(center=(rand(9, 50), 32), r=9, fill=red)\n"
    (src / "zz_die.vd").write_text(die)
    out = tmp_path / "ds"
    said: list[str] = []
    with pytest.raises(RayWorkerDied, match="Ray task died.*rerun the same command") as e:
        build(opts(out, src, engine="ray", variants=4, chunk=1), echo=said.append)
    assert isinstance(e.value, IncompleteRun)  # exit 1, resumable
    journal = (out / ".vdsl-build" / "journal.jsonl").read_text().splitlines()
    done = sum('"t":"img"' in line for line in journal)
    assert 0 < done < 5 * 4  # finished tasks were recorded before the build stopped
    (src / "zz_die.vd").unlink()
    said.clear()
    build(opts(out, src, engine="ray", variants=4, chunk=1), echo=said.append)
    rendered = int(next(s for s in said if s.startswith("rendered")).split()[1])
    assert rendered == 4 * 4 - done  # nothing recorded is rendered again
    ref = tmp_path / "ref" / "ds"
    build(opts(ref, src, variants=4, chunk=1), echo=quiet)
    assert tree(ref) == tree(out)


def test_engine_usage_errors(tmp_path, monkeypatch):
    src = write(tmp_path / "src", GOOD)
    r = CliRunner().invoke(
        main, ["dataset", "build", "--programs", str(src), "--ray-address", "auto", "-o", str(tmp_path / "x")]
    )
    assert r.exit_code == 2 and "--engine ray" in r.output
    monkeypatch.setitem(sys.modules, "ray", None)
    r = CliRunner().invoke(
        main,
        ["dataset", "build", "--programs", str(src), "--engine", "ray", "--no-progress", "-o", str(tmp_path / "y")],
    )
    assert r.exit_code == 2 and "pip install 'vdsl[ray]'" in r.output


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_ray_build_writes_the_same_shards_as_the_local_build(ray_instance, tmp_path, fmt):
    pytest.importorskip("pyarrow")
    src = write(tmp_path / "src", GOOD)
    local, remote = both(tmp_path, src, variants=3, size=(32, 32), format=fmt, shard_size=4)
    a, b = tree(local), tree(remote)
    assert [f for f in a if f.startswith("shards/shard-")] and a == b
