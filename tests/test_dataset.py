"""`vdsl dataset`: builds, metadata (HF imagefolder, torchvision ImageFolder), filters, poisoned programs, sharding + merge, resume, stats, preview, the LLM source."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from vdsl.cli import main
from vdsl.dataset import BuildOptions, build
from vdsl.dataset.manifest import Journal
from vdsl.dataset.shard import parse_shard
from vdsl.dataset.sources import shard_of

HEAD = "canvas(width=64, height=64, background=white)\n"


def prog(concept: str, body: str, tier: str | None = "shapes") -> str:
    return f"// concept: {concept}\n" + (f"// tier: {tier}\n" if tier else "") + HEAD + body + "\n"


DOT = prog("dot", "circle(center=(rand(10, 54), rand(10, 54)), r=rand(4, 12), fill=hsl(rand(0, 360), 70%, 50%))")
RING = prog(
    "ring",
    "circle(center=(32, 32), r=rand(10, 25), fill=none, stroke=hsl(rand(0, 360), 60%, 40%), stroke_width=rand(2, 6))",
)
BAR = prog(
    "bar", "rect(x=rand(0, 30), y=rand(0, 30), w=rand(10, 30), h=rand(10, 30), fill=hsl(rand(0, 360), 60%, 40%))"
)
FIXED = prog("dot", "circle(center=(32, 32), r=10, fill=black)")  # no randomness: every seed the same


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


GOOD = {"dot_a.vd": DOT, "dot_b.vd": DOT.replace("r=rand(4, 12)", "r=rand(3, 9)"), "ring.vd": RING, "bar.vd": BAR}


def opts(out: Path, programs: Path, **kw) -> BuildOptions:
    kw.setdefault("variants", 3)
    kw.setdefault("size", (32, 32))
    kw.setdefault("workers", 2)
    kw.setdefault("progress", False)
    return BuildOptions(out=out, programs=(programs,), **kw)


def lines(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the result (images, programs, metadata, failures, program list) with its bytes."""
    out = {}
    for sub in ("images", "programs"):
        for p in sorted((root / sub).rglob("*")):
            if p.is_file():
                out[p.relative_to(root).as_posix()] = p.read_bytes()
    for name in ("metadata.jsonl", "failures.jsonl", "programs.jsonl"):
        out[name] = (root / name).read_bytes()
    return out


def quiet(s: str) -> None:
    pass


# ----------------------------------------------------------------------------- a plain build
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("ds")
    src = write(base / "src", GOOD)
    out = base / "out"
    stats = build(opts(out, src, variants=4), echo=quiet)
    return out, stats


def test_build_counts_and_layout(built):
    out, stats = built
    c = stats["counts"]
    assert c["images"] == 16 and c["programs"] == 4 and c["programs_ok"] == 4
    assert sum(c["images_dropped"].values()) == 0
    assert sorted(p.name for p in (out / "images").iterdir()) == ["bar", "dot", "ring"]
    assert len(list((out / "images" / "dot").glob("*.png"))) == 8
    assert (out / "images" / "dot" / "dot_a_3.png").is_file()
    assert (out / "programs" / "dot" / "dot_a.vd").read_text() == GOOD["dot_a.vd"]
    with Image.open(out / "images" / "bar" / "bar_0.png") as im:
        assert im.size == (32, 32)
    card = (out / "README.md").read_text()
    assert "vdsl dataset build" in card and "| images | 16 |" in card
    assert json.loads((out / "stats.json").read_text())["counts"]["images"] == 16
    assert not list(out.rglob("*.tmp"))


def test_metadata_follows_hf_imagefolder(built):
    out, _ = built
    rows = lines(out / "metadata.jsonl")
    assert len(rows) == 16
    for r in rows:
        assert not os.path.isabs(r["file_name"]) and (out / r["file_name"]).is_file()
        assert set(r) >= {
            "file_name",
            "concept",
            "concept_id",
            "tier",
            "program",
            "program_hash",
            "seed",
            "model",
            "refine_round",
            "width",
            "height",
            "image_sha256",
        }
        assert r["tier"] == "shapes" and r["concept_id"] == f"shapes/{r['concept']}"
        assert r["width"] == r["height"] == 32 and r["model"] is None
        assert r["file_name"] == f"images/{r['concept']}/{r['program']}_{r['seed']}.png"
        assert (out / r["program_file"]).is_file()
    keys = [(r["concept_id"], r["program"], r["seed"]) for r in rows]
    assert keys == sorted(keys)  # deterministic order
    assert len({r["image_sha256"] for r in rows}) == 16
    try:
        import datasets
    except ImportError:
        return
    ds = datasets.load_dataset("imagefolder", data_dir=str(out), split="train")  # pragma: no cover
    assert len(ds) == 16 and "concept" in ds.column_names  # pragma: no cover


def test_imagefolder_layout(built):
    """What torchvision's ImageFolder sees: one class per folder, every file an image it can open."""
    out, _ = built
    classes = sorted(d.name for d in (out / "images").iterdir() if d.is_dir())
    files = [p for p in (out / "images").rglob("*") if p.is_file()]
    assert classes == ["bar", "dot", "ring"] and len(files) == 16
    assert all(p.suffix == ".png" and p.parent.parent == out / "images" for p in files)
    try:
        from torchvision.datasets import ImageFolder
    except ImportError:
        pytest.skip("torchvision is not installed")
    ds = ImageFolder(str(out / "images"))  # pragma: no cover
    assert ds.classes == classes and len(ds) == 16  # pragma: no cover
    img, label = ds[0]  # pragma: no cover
    assert img.size == (32, 32) and ds.classes[label] == "bar"  # pragma: no cover


def test_rerun_of_a_finished_build_changes_nothing(built, tmp_path):
    out, stats = built
    before = snapshot(out)
    said = []
    again = build(opts(out, out.parent / "src", variants=4), echo=said.append)
    assert snapshot(out) == before and again["counts"] == stats["counts"]
    assert not any(s.startswith("rendered") for s in said)  # nothing rendered again


def test_more_variants_reuses_finished_images(built, tmp_path):
    import shutil

    out = tmp_path / "more"
    shutil.copytree(built[0], out)
    said = []
    st = build(opts(out, built[0].parent / "src", variants=6), echo=said.append)
    assert st["counts"]["images"] == 24
    assert any(s.startswith("rendered 8 images") for s in said)  # only the 2 new seeds of 4 programs


# ----------------------------------------------------------------------------- filters and poison
POISON = {
    "good_dot.vd": DOT,
    "good_bar.vd": BAR,
    "fixed.vd": FIXED,  # duplicates
    "syntax.vd": "// concept: dot\ncanvas(width=64 height=64)\ncircle(\n",  # does not compile
    "loop_bomb.vd": prog("bar", "for i in range(1000000) { circle(center=(rand(0, 64), 5), r=1, fill=red) }"),
    "shape_bomb.vd": prog("bar", "for i in range(90000) { circle(center=(rand(0, 64), 5), r=1, fill=red) }"),
    "recursion_bomb.vd": prog("bar", "def f(n: number) { f(n=n + 1) }\nf(n=0)"),
    "blank.vd": prog("bar", ""),
    "divzero.vd": prog("bar", "let z = rand(0, 0)\ncircle(center=(32, 32), r=10 / z, fill=red)"),
    "slow.vd": prog(
        "bar",
        "for i in range(99000) { let y = " + " + ".join(["i * i"] * 50) + " }\ncircle(center=(32, 32), r=10, fill=red)",
    ),
    "no_header.vd": HEAD + "circle(center=(32, 32), r=10, fill=red)\n",
}


def test_poisoned_folder_builds_the_good_part_and_counts_the_rest(tmp_path):
    src = write(tmp_path / "src", POISON)
    out = tmp_path / "out"
    # fuel high enough that slow.vd (~10M steps) runs for seconds: the time limit must stop it
    from vdsl.budgets import DEFAULT

    b = DEFAULT.with_overrides(fuel=100_000_000)
    st = build(opts(out, src, variants=3, timeout=3.0, budgets=b, chunk=3), echo=quiet)
    c = st["counts"]
    rows = lines(out / "metadata.jsonl")
    assert sorted((r["program"], r["seed"]) for r in rows) == [
        ("fixed", 0),
        ("good_bar", 0),
        ("good_bar", 1),
        ("good_bar", 2),
        ("good_dot", 0),
        ("good_dot", 1),
        ("good_dot", 2),
    ]
    assert c["images"] == 7
    assert c["programs_failed"] == {"no_concept": 1, "compile_error": 1, "generation_failed": 0}
    d = c["images_dropped"]
    assert d["budget"] == 9  # loop, shape and recursion bombs, every seed
    assert d["eval_error"] == 3 and d["blank"] == 3 and d["duplicate"] == 2
    assert d["timeout"] == 1 and d["skipped"] == 2 and d["crash"] == 0 and d["error"] == 0
    fails = lines(out / "failures.jsonl")
    assert len(fails) == 2 + 9 + 3 + 3 + 2 + 3
    by = {(f["program"], f["seed"]): f for f in fails}
    assert by[("syntax", None)]["reason"] == "compile_error" and "E10" in by[("syntax", None)]["detail"]
    assert by[("recursion_bomb", 0)]["detail"].startswith("E402")
    assert by[("loop_bomb", 1)]["detail"].startswith("E403")
    assert by[("shape_bomb", 2)]["detail"].startswith("E404")
    assert by[("fixed", 1)]["reason"] == "duplicate" and by[("fixed", 1)]["duplicate_of"] == "images/dot/fixed_0.png"
    assert by[("slow", 0)]["reason"] == "timeout"
    assert any(f["reason"] == "no_concept" and f["program"].endswith("no_header.vd") for f in fails)
    # nothing but the kept images on disk
    assert sorted(p.relative_to(out).as_posix() for p in (out / "images").rglob("*") if p.is_file()) == sorted(
        r["file_name"] for r in rows
    )
    card = (out / "README.md").read_text()
    assert "| renders past the time limit (worker killed) | 1 |" in card


# ----------------------------------------------------------------------------- shards
def _names_on_both_shards(prefix: str, concept_folder: str) -> tuple[str, str]:
    """Two program names of one concept that land on different shards of 2."""
    names = [f"{prefix}{i}" for i in range(50)]
    a = next(n for n in names if shard_of(f"{concept_folder}/{n}", 2) == 0)
    b = next(n for n in names if shard_of(f"{concept_folder}/{n}", 2) == 1)
    return a, b


def test_shards_merged_equal_the_unsharded_build(tmp_path):
    first, second = _names_on_both_shards("fixed", "dot")
    # the first (in name order) of two identical programs must be kept, even across shards
    files = dict(
        GOOD,
        **{
            f"{first}.vd": FIXED,
            f"{second}.vd": FIXED,
            "broken.vd": "// concept: bar\ncircle(\n",
            "blank.vd": prog("ring", ""),
        },
    )
    src = write(tmp_path / "src", files)
    whole = tmp_path / "whole"
    build(opts(whole, src), echo=quiet)
    parts = []
    for i in range(2):
        parts.append(tmp_path / f"part{i}")
        st = build(opts(parts[-1], src, shard=(i, 2)), echo=quiet)
        assert st["shard"] == [i, 2] and st["counts"]["programs"] > 0
    keys0 = {r["program"] for r in lines(parts[0] / "programs.jsonl")}
    keys1 = {r["program"] for r in lines(parts[1] / "programs.jsonl")}
    assert not keys0 & keys1 and len(keys0 | keys1) == len(files)
    merged = tmp_path / "merged"
    res = CliRunner().invoke(main, ["dataset", "merge", str(parts[1]), str(parts[0]), "-o", str(merged)])
    assert res.exit_code == 0, res.output
    assert snapshot(merged) == snapshot(whole)
    dup = [f for f in lines(merged / "failures.jsonl") if f["reason"] == "duplicate"]
    later = max(first, second, key=lambda n: n)
    assert any(f["program"] == later and f["seed"] == 0 for f in dup)
    assert (
        json.loads((merged / "stats.json").read_text())["counts"]
        == json.loads((whole / "stats.json").read_text())["counts"]
    )


def test_merge_refuses_an_incomplete_set(tmp_path):
    src = write(tmp_path / "src", GOOD)
    build(opts(tmp_path / "p0", src, shard=(0, 3)), echo=quiet)
    build(opts(tmp_path / "p1", src, shard=(1, 3)), echo=quiet)
    res = CliRunner().invoke(
        main, ["dataset", "merge", str(tmp_path / "p0"), str(tmp_path / "p1"), "-o", str(tmp_path / "m")]
    )
    assert res.exit_code == 2 and "missing 2/3" in res.output


def test_parse_shard():
    assert parse_shard("1/4") == (1, 4) and parse_shard(None) == (0, 1)
    for bad in ("4/4", "-1/2", "a/b", "1"):
        with pytest.raises(ValueError):
            parse_shard(bad)


# ----------------------------------------------------------------------------- resume
def test_journal_ignores_and_repairs_a_torn_tail(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.open()
    j.append([{"a": 1}, {"a": 2}])
    j.close()
    with open(tmp_path / "j.jsonl", "ab") as f:
        f.write(b'{"a": 3, "b"')  # a write cut off by SIGKILL
    assert Journal(tmp_path / "j.jsonl").load() == [{"a": 1}, {"a": 2}]
    j = Journal(tmp_path / "j.jsonl")
    j.load()
    j.open()
    j.append([{"a": 4}])
    j.close()
    assert Journal(tmp_path / "j.jsonl").load() == [{"a": 1}, {"a": 2}, {"a": 4}]


def test_retry_failed_forgets_timeouts_only():
    from vdsl.dataset.build import _index

    recs = [
        {"t": "img", "k": "a/p", "h": "h", "s": 0, "st": "timeout"},
        {"t": "img", "k": "a/p", "h": "h", "s": 1, "st": "skipped"},
        {"t": "img", "k": "a/p", "h": "h", "s": 2, "st": "budget", "d": "E401"},
        {"t": "img", "k": "a/p", "h": "h", "s": 3, "st": "ok", "sha": "x"},
        {"t": "img", "k": "a/p", "h": "h", "s": 4, "st": "memory", "d": "E413"},
        {"t": "prog", "k": "b/p", "h": "h", "err": "compiling took longer than 1s", "retry": True},
        {"t": "prog", "k": "c/p", "h": "h", "err": "E100 syntax"},
    ]
    done, err = _index(recs, retry_failed=False)
    assert len(done) == 5 and len(err) == 2
    done, err = _index(recs, retry_failed=True)
    assert sorted(k[2] for k in done) == [2, 3] and list(err) == [("c/p", "h")]


# ----------------------------------------------------------------------------- hostile program folders
def test_entries_that_are_not_programs_are_counted_never_read(tmp_path):
    src = write(tmp_path / "src", {"good.vd": DOT, "ring.vd": RING})
    os.mkfifo(src / "pipe.vd")  # reading it would block the build forever
    (src / "folder.vd").mkdir()
    write(src / "folder.vd", {"inside.vd": BAR})  # a folder named *.vd is still scanned
    os.symlink("missing.vd", src / "dangling.vd")
    os.symlink("loop.vd", src / "loop.vd")
    (src / "latin1.vd").write_bytes(DOT.encode() + b"// caf\xe9\n")
    (src / ".hidden").mkdir()
    (src / ".hidden" / "h.vd").write_text(DOT)  # hidden: ignored, as before
    unreadable = 0
    if os.geteuid() != 0:  # root reads files whatever their mode
        (src / "secret.vd").write_text(DOT)
        os.chmod(src / "secret.vd", 0)
        unreadable = 1
    out = tmp_path / "out"
    try:
        st = build(opts(out, src, variants=2), echo=quiet)
    finally:
        if unreadable:
            os.chmod(src / "secret.vd", 0o644)
    c = st["counts"]
    assert c["files_skipped"] == {
        "not_a_file": 1,
        "folder": 1,
        "broken_symlink": 2,
        "unreadable": unreadable,
        "not_utf8": 1,
    }
    assert c["programs"] == 3 and c["images"] == 6
    fails = {Path(f["program"]).name: f for f in lines(out / "failures.jsonl") if f["seed"] is None}
    assert fails["pipe.vd"]["reason"] == "not_a_file" and "FIFO" in fails["pipe.vd"]["detail"]
    assert fails["loop.vd"]["reason"] == "broken_symlink" and "loop" in fails["loop.vd"]["detail"]
    assert fails["latin1.vd"]["reason"] == "not_utf8"
    from vdsl.dataset.stats import summary_lines

    assert any("skipped 1 *.vd entries that are FIFOs" in line for line in summary_lines(c))
    assert "| folders named *.vd | 1 |" in (out / "README.md").read_text()
    again = build(opts(out, src, variants=2), echo=quiet)  # resume: the same accounting
    assert again["counts"]["files_skipped"] == c["files_skipped"] and again["counts"]["images"] == 6


def test_renders_over_the_memory_cap_are_counted_as_memory(tmp_path):
    import subprocess
    import sys

    src = write(tmp_path / "src", {"dot.vd": DOT})

    def cli_build(out: Path, *extra: str) -> dict:
        # a fresh process: the cap is on address space above the worker's own, and a long-lived test
        # process may have freed heap that a forked worker could reuse without growing
        cmd = [
            sys.executable,
            "-c",
            "from vdsl.cli import main; main()",
            "dataset",
            "build",
            "--programs",
            str(src),
            "--variants",
            "2",
            "--size",
            "2048",
            "--workers",
            "1",
            "--no-progress",
            *extra,
            "-o",
            str(out),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return json.loads((out / "stats.json").read_text())

    # a 2048 x 2048 output needs a 16 MiB surface and a 16 MiB array: over a 24 MiB cap
    st = cli_build(tmp_path / "capped", "--memory-limit", "24")
    d = st["counts"]["images_dropped"]
    assert d["memory"] == 2 and st["counts"]["images"] == 0 and d["error"] == 0 and d["crash"] == 0
    fails = lines(tmp_path / "capped" / "failures.jsonl")
    assert {f["reason"] for f in fails} == {"memory"} and all("E413" in f["detail"] for f in fails)
    assert "| renders over the memory cap (E413) | 2 |" in (tmp_path / "capped" / "README.md").read_text()
    st = cli_build(tmp_path / "roomy")
    assert st["counts"]["images"] == 2 and st["counts"]["images_dropped"]["memory"] == 0


SLOWISH = prog(
    "swarm",
    "for i in range(120) { circle(center=(rand(0, 64), rand(0, 64)), r=rand(1, 6), fill=hsl(rand(0, 360), 70%, 50%)) }",
)


def test_sigkill_midway_then_rerun_equals_an_uninterrupted_build(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    files = {f"swarm_{i}.vd": SLOWISH.replace("r=rand(1, 6)", f"r=rand(1, {6 + i})") for i in range(6)}
    files["broken.vd"] = "// concept: swarm\ncanvas(\n"
    files["fixed.vd"] = prog("swarm", "circle(center=(32, 32), r=10, fill=black)")
    src = write(tmp_path / "src", files)
    args = ["--programs", str(src), "--variants", "80", "--size", "40", "--workers", "2", "--no-progress"]
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-c", "from vdsl.cli import main; main()", "dataset", "build", *args, "-o", str(killed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        j = killed / ".vdsl-build" / "journal.jsonl"
        if j.is_file() and j.read_bytes().count(b"\n") >= 3:  # a few chunks finished and recorded
            break
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the build and its workers, at once
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    assert not (killed / "metadata.jsonl").exists()  # it really was midway
    recorded = [r for r in Journal(killed / ".vdsl-build" / "journal.jsonl").load() if r["t"] == "img"]
    assert 0 < len(recorded) < 6 * 80

    rerun = CliRunner().invoke(main, ["dataset", "build", *args, "-o", str(killed)])
    assert rerun.exit_code == 0, rerun.output
    whole = tmp_path / "whole"
    res = CliRunner().invoke(main, ["dataset", "build", *args, "-o", str(whole)])
    assert res.exit_code == 0, res.output
    assert snapshot(killed) == snapshot(whole)
    assert (killed / "metadata.jsonl").read_bytes() == (whole / "metadata.jsonl").read_bytes()
    # finished work was not redone: every image is in the journal once, the recorded ones untouched
    final = [r for r in Journal(killed / ".vdsl-build" / "journal.jsonl").load() if r["t"] == "img"]
    keys = [(r["k"], r["s"]) for r in final]
    assert len(keys) == len(set(keys)) == 7 * 80
    assert final[: len(recorded)] == recorded
    assert not list(killed.rglob("*.tmp"))


# ----------------------------------------------------------------------------- the command line
def test_cli_build_stats_preview(tmp_path):
    src = write(tmp_path / "src", GOOD)
    out = tmp_path / "ds"
    r = CliRunner().invoke(
        main,
        [
            "dataset",
            "build",
            "--programs",
            str(src),
            "--variants",
            "2",
            "--size",
            "48x32",
            "--workers",
            "1",
            "--memory-limit",
            "512",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "8 images of 3 concepts" in r.output
    assert json.loads((out / "stats.json").read_text())["config"]["memory_limit"] == 512 << 20
    with Image.open(out / "images" / "ring" / "ring_1.png") as im:
        assert im.size == (48, 32)
    r = CliRunner().invoke(main, ["dataset", "stats", str(out), "--format", "json"])
    assert r.exit_code == 0
    s = json.loads(r.output)
    assert s["counts"]["per_concept"]["shapes/dot"]["images"] == 4 and s["counts"]["tiers"]["shapes"]["images"] == 8
    r = CliRunner().invoke(main, ["dataset", "stats", str(out)])
    assert r.exit_code == 0 and "shapes/ring" in r.output and "duplicate" in r.output
    grid = tmp_path / "grid.png"
    r = CliRunner().invoke(main, ["dataset", "preview", str(out), "-o", str(grid), "-n", "5", "--cell", "64"])
    assert r.exit_code == 0, r.output
    with Image.open(grid) as im:
        assert im.width > 3 * 64 and im.height > 2 * 64
        assert len(im.convert("L").getcolors(1 << 16)) > 20  # pictures and labels, not a blank sheet


def test_cli_usage_errors(tmp_path):
    src = write(tmp_path / "src", GOOD)
    run = CliRunner().invoke
    r = run(main, ["dataset", "build", "-o", str(tmp_path / "x")])
    assert r.exit_code == 2 and "nothing to build" in r.output
    r = run(main, ["dataset", "build", "--programs", str(src), "--shard", "2/2", "-o", str(tmp_path / "x")])
    assert r.exit_code == 2
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    r = run(main, ["dataset", "build", "--programs", str(src), "-o", str(tmp_path / "busy")])
    assert r.exit_code == 2 and "not empty" in r.output
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    out = tmp_path / "ds"
    assert (
        run(
            main, ["dataset", "build", "--programs", str(src), "--variants", "1", "--size", "32", "-o", str(out)]
        ).exit_code
        == 0
    )
    r = run(main, ["dataset", "build", "--programs", str(src), "--variants", "1", "--size", "64", "-o", str(out)])
    assert r.exit_code == 2 and "other settings" in r.output
    r = run(main, ["dataset", "stats", str(tmp_path / "src")])
    assert r.exit_code == 2


def test_concepts_without_an_endpoint_exit_2_and_fake_nothing(tmp_path, monkeypatch):
    for v in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "VDSL_MODEL"):
        monkeypatch.delenv(v, raising=False)
    (tmp_path / "c.txt").write_text("kite\n")
    out = tmp_path / "ds"
    r = CliRunner().invoke(
        main, ["dataset", "build", "--concepts", str(tmp_path / "c.txt"), "--programs-per-concept", "2", "-o", str(out)]
    )
    assert r.exit_code == 2
    assert "OPENAI_BASE_URL" in r.output
    assert not (out / "images").exists() and not (out / "metadata.jsonl").exists()


# ----------------------------------------------------------------------------- the LLM source, end to end
class _FakeChat(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint for tests: a broken program first for "kite", fixed on repair."""

    calls: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        msgs = body["messages"]
        last = msgs[-1]["content"]
        n = len(self.calls)
        self.calls.append(last)
        if "kite" in msgs[1]["content"] and len(msgs) == 2:
            text = "```vdsl\ncanvas(width=64, height=64\n```"
        else:
            text = (
                "Here it is:\n```vdsl\ncanvas(width=64, height=64, background=white)\n"
                f"circle(center=(rand(10, 54), rand(10, 54)), r=rand(5, 15), fill=hsl({n * 37 % 360}, 70%, 50%))\n```"
            )
        data = json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def test_concepts_generate_programs_with_the_llm_client(tmp_path, monkeypatch):
    pytest.importorskip("openai")
    _FakeChat.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeChat)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        monkeypatch.setenv("VDSL_CACHE_DIR", str(tmp_path / "cache"))
        (tmp_path / "c.txt").write_text("kite\nboat\n")
        out = tmp_path / "ds"
        args = [
            "dataset",
            "build",
            "--concepts",
            str(tmp_path / "c.txt"),
            "--programs-per-concept",
            "2",
            "--model",
            "fake-model",
            "--variants",
            "2",
            "--size",
            "32",
            "--workers",
            "1",
            "-o",
            str(out),
        ]
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 0, r.output
        rows = lines(out / "metadata.jsonl")
        assert len(rows) == 8
        assert {r["model"] for r in rows} == {"fake-model"} and {r["refine_round"] for r in rows} == {0}
        assert {r["concept_id"] for r in rows} == {"c/kite", "c/boat"}
        assert (out / "programs" / "kite" / "p001.vd").read_text().startswith("canvas(")
        assert sum("has errors" in c for c in _FakeChat.calls) == 2  # kite repaired twice
        calls = len(_FakeChat.calls)
    finally:
        server.shutdown()
    before = snapshot(out)
    r = CliRunner().invoke(main, args)  # endpoint gone: nothing left to ask
    assert r.exit_code == 0, r.output
    assert snapshot(out) == before and len(_FakeChat.calls) == calls
