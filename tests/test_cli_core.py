"""The core CLI: `vdsl render | check | fmt | doc`, their outputs, files and exit codes (0 ok, 1 diagnostics, 2 usage)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from vdsl.cli import main

ROOT = Path(__file__).resolve().parents[1]
PARROT = ROOT / "examples" / "parrot.vd"
SMALL = "canvas(width=64, height=48, background=white)\ncircle(center=(32, 24), r=rand(8, 20), fill=red)\n"
BAD = "circle(center=(1, 2), radius=3)\nrect(x=0, y=0, w=10)\n"
RUNTIME_BAD = "let xs = [1]\nlet y = xs[3]\n"


@pytest.fixture()
def cli(tmp_path, monkeypatch):
    """Run the CLI in a temporary folder with small programs written there."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.vd").write_text(SMALL)
    (tmp_path / "bad.vd").write_text(BAD)
    (tmp_path / "runtime_bad.vd").write_text(RUNTIME_BAD)

    def run(*args, input=None):
        return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


def image(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA"))


# ---------------------------------------------------------------- render
@pytest.mark.parametrize(
    "fmt, magic",
    [
        ("png", b"\x89PNG"),
        ("jpg", b"\xff\xd8"),
        ("jpeg", b"\xff\xd8"),
        ("webp", b"RIFF"),
        ("svg", b"<"),
        ("pdf", b"%PDF"),
    ],
)
def test_render_formats_by_suffix(cli, tmp_path, fmt, magic):
    r = cli("render", "small.vd", "-o", f"out.{fmt}")
    assert r.exit_code == 0, r.output
    data = (tmp_path / f"out.{fmt}").read_bytes()
    assert data.startswith(magic) or (fmt == "svg" and b"<svg" in data[:300])


def test_render_default_name_and_format_option(cli, tmp_path):
    assert cli("render", "small.vd").exit_code == 0
    assert image(tmp_path / "small.png").shape == (48, 64, 4)
    assert cli("render", "small.vd", "--format", "webp").exit_code == 0
    assert (tmp_path / "small.webp").read_bytes()[8:12] == b"WEBP"


def test_render_size_letterboxes(cli, tmp_path):
    assert cli("render", "small.vd", "--size", "100x100", "-o", "a.png").exit_code == 0
    assert image(tmp_path / "a.png").shape == (100, 100, 4)
    assert cli("render", "small.vd", "--size", "32", "-o", "b.png").exit_code == 0
    assert image(tmp_path / "b.png").shape == (32, 32, 4)


def test_render_scale(cli, tmp_path):
    assert cli("render", "small.vd", "--scale", "2", "-o", "s.png").exit_code == 0
    assert image(tmp_path / "s.png").shape == (96, 128, 4)


def test_render_seed_changes_a_random_program(cli, tmp_path):
    cli("render", "small.vd", "--seed", "1", "-o", "one.png")
    cli("render", "small.vd", "--seed", "1", "-o", "one_again.png")
    cli("render", "small.vd", "--seed", "2", "-o", "two.png")
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "one_again.png").read_bytes()
    assert not np.array_equal(image(tmp_path / "one.png"), image(tmp_path / "two.png"))


def test_render_variants_into_a_folder(cli, tmp_path):
    r = cli("render", "small.vd", "--variants", "3", "--seed", "5", "-o", "vars")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "vars").iterdir()) == ["small_5.png", "small_6.png", "small_7.png"]


def test_render_several_files_into_a_folder(cli, tmp_path):
    (tmp_path / "other.vd").write_text("rect(x=0, y=0, w=20, h=20, fill=blue)")
    r = cli("render", "small.vd", "other.vd", "-o", "out/", "--format", "svg")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["other.svg", "small.svg"]


def test_render_several_outputs_need_a_folder(cli, tmp_path):
    assert cli("render", "small.vd", "--variants", "2", "-o", "one.png").exit_code == 2
    assert not (tmp_path / "one.png").exists()


def test_render_creates_missing_folders(cli, tmp_path):
    assert cli("render", "small.vd", "-o", "deep/er/x.png").exit_code == 0
    assert (tmp_path / "deep" / "er" / "x.png").exists()


def test_render_params_and_json_ir(cli, tmp_path):
    (tmp_path / "p.vd").write_text("param r = 5\ncircle(center=(50, 50), r=r, fill=red)")
    r = cli("render", "p.vd", "--param", "r=17", "--json-ir", "-o", "p.json")
    assert r.exit_code == 0, r.output
    scene = json.loads((tmp_path / "p.json").read_text())
    assert '"rx": 17' in json.dumps(scene).replace(".0", "")
    r = cli("render", "p.vd", "--param", "nope=1", "-o", "q.png")
    assert r.exit_code == 0 and "has no param `nope`" in r.stderr


def test_render_stdin(cli, tmp_path):
    r = cli("render", "-", "-o", "from_stdin.png", input=SMALL)
    assert r.exit_code == 0, r.output
    assert image(tmp_path / "from_stdin.png").shape == (48, 64, 4)


def test_render_reports_diagnostics_and_exits_1(cli, tmp_path):
    r = cli("render", "bad.vd", "small.vd", "-o", "out")
    assert r.exit_code == 1
    assert "error[E202]" in r.stderr and "error[E203]" in r.stderr and "bad.vd:1:" in r.stderr
    assert (tmp_path / "out" / "small.png").exists()  # the good file is still rendered
    r = cli("render", "runtime_bad.vd")
    assert r.exit_code == 1 and "E302" in r.stderr
    assert not (tmp_path / "runtime_bad.png").exists()


def test_render_budget_option(cli):
    assert cli("render", "small.vd", "--budget", "fuel=1", "-o", "x.png").exit_code == 1
    assert cli("render", "small.vd", "--budget", "primitves=10").exit_code == 2
    assert cli("render", "small.vd", "--budget", "fuel").exit_code == 2


@pytest.mark.parametrize(
    "args",
    [
        ["--size", "big"],
        ["--scale", "0"],
        ["--scale", "100"],
        ["--variants", "0"],
        ["--param", "novalue"],
        ["-o", "out.xyz"],
        ["--format", "gif"],
    ],
)
def test_render_usage_errors_exit_2(cli, args):
    assert cli("render", "small.vd", *args).exit_code == 2


def test_render_oversized_output_is_a_diagnostic(cli):
    r = cli("render", "small.vd", "--size", "100000x100000")
    assert r.exit_code == 1 and "E407" in r.stderr


# ---------------------------------------------------------------- check
def test_check_ok(cli):
    r = cli("check", "small.vd", str(PARROT))
    assert r.exit_code == 0 and "ok: 2 files" in r.stderr


def test_check_text(cli):
    r = cli("check", "bad.vd")
    assert r.exit_code == 1
    assert "error[E202]: unknown argument `radius` for `circle`" in r.stderr
    assert "  --> bad.vd:1:23" in r.stderr and "= hint: did you mean `r`?" in r.stderr
    assert "^" in r.stderr


def test_check_json(cli):
    r = cli("check", "bad.vd", "small.vd", "--format", "json")
    assert r.exit_code == 1
    diags = json.loads(r.stdout)
    assert {d["code"] for d in diags} == {"E202", "E203"}
    d = next(d for d in diags if d["code"] == "E202")
    assert d["span"]["line"] == 1 and d["span"]["file"] == "bad.vd" and d["severity"] == "error"
    assert d["name"] == "unknown-argument" and "`r`" in d["hint"]
    ok = cli("check", "small.vd", "--format", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout) == []


def test_check_compact(cli):
    r = cli("check", "bad.vd", "--format", "compact")
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("1:23 error E202: unknown argument `radius`") and "(hint: did you mean `r`?)" in lines[0]
    assert all(line[0].isdigit() for line in lines)


def test_check_runs_the_program_unless_told_not_to(cli):
    assert cli("check", "runtime_bad.vd").exit_code == 1
    assert cli("check", "runtime_bad.vd", "--no-run").exit_code == 0


def test_check_warnings_do_not_fail(cli, tmp_path):
    (tmp_path / "warn.vd").write_text("rect(x=10%, y=0, w=10, h=10, fill=red)")
    r = cli("check", "warn.vd")
    assert r.exit_code == 0 and "warning[W502]" in r.stderr
    r = cli("render", "warn.vd")  # render shows them too, and still renders
    assert r.exit_code == 0 and "warning[W502]" in r.stderr and (tmp_path / "warn.png").exists()


@pytest.mark.parametrize("args", [["missing.vd"], [], ["small.vd", "--format", "xml"], ["small.vd", "--seed", "x"]])
def test_check_usage_errors_exit_2(cli, args):
    assert cli("check", *args).exit_code == 2


def test_check_reads_stdin_and_bad_bytes(cli, tmp_path):
    assert cli("check", "-", input=SMALL).exit_code == 0
    (tmp_path / "latin1.vd").write_bytes('let s = "caf\xe9"'.encode("latin-1"))
    r = cli("check", "latin1.vd")
    assert r.exit_code == 1 and "E108" in r.stderr


# ---------------------------------------------------------------- fmt
UGLY = "circle(center=(1,2),r=3)   // keep me\nlet  x=1+2\n"
PRETTY = "circle(center=(1, 2), r=3)  // keep me\nlet x = 1 + 2\n"


def test_fmt_prints(cli, tmp_path):
    (tmp_path / "u.vd").write_text(UGLY)
    r = cli("fmt", "u.vd")
    assert r.exit_code == 0 and r.stdout == PRETTY
    assert (tmp_path / "u.vd").read_text() == UGLY


def test_fmt_check_and_write(cli, tmp_path):
    (tmp_path / "u.vd").write_text(UGLY)
    r = cli("fmt", "--check", "u.vd")
    assert r.exit_code == 1 and "would reformat u.vd" in r.stderr
    assert (tmp_path / "u.vd").read_text() == UGLY
    r = cli("fmt", "--write", "u.vd")
    assert r.exit_code == 0 and (tmp_path / "u.vd").read_text() == PRETTY
    assert cli("fmt", "--check", "u.vd").exit_code == 0
    before = (tmp_path / "u.vd").stat().st_mtime_ns
    assert cli("fmt", "-w", "u.vd").exit_code == 0
    assert (tmp_path / "u.vd").stat().st_mtime_ns == before  # nothing to change, nothing written


def test_fmt_syntax_error(cli, tmp_path):
    (tmp_path / "s.vd").write_text("circle(center=(1, 2) r=3)\n")
    r = cli("fmt", "--write", "s.vd")
    assert r.exit_code == 1 and "E102" in r.stderr
    assert (tmp_path / "s.vd").read_text() == "circle(center=(1, 2) r=3)\n"


def test_fmt_never_rewrites_bytes_it_cannot_read(cli, tmp_path):
    raw = 'let s = "caf\xe9"\n'.encode("latin-1")
    (tmp_path / "latin1.vd").write_bytes(raw)
    r = cli("fmt", "--write", "latin1.vd")
    assert r.exit_code == 1 and "E108" in r.stderr
    assert (tmp_path / "latin1.vd").read_bytes() == raw


def test_fmt_stdin(cli):
    r = cli("fmt", "-", input=UGLY)
    assert r.exit_code == 0 and r.stdout == PRETTY


# ---------------------------------------------------------------- doc and help
def test_doc(cli, tmp_path):
    r = cli("doc")
    assert r.exit_code == 0
    for needle in ("# vdsl language reference", "`circle(", "E202", "fuel"):
        assert needle in r.stdout
    assert cli("doc", "-o", "ref/reference.md").exit_code == 0
    assert (tmp_path / "ref" / "reference.md").read_text().strip() == r.stdout.strip()


def test_checked_in_reference_is_current(cli):
    """docs/reference.md is `vdsl doc` output; regenerate it with `vdsl doc -o docs/reference.md`."""
    r = cli("doc")
    current = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert current.strip() == r.stdout.strip(), "docs/reference.md is stale: run `vdsl doc -o docs/reference.md`"


@pytest.mark.parametrize("cmd", [[], ["render"], ["check"], ["fmt"], ["doc"]])
def test_help(cli, cmd):
    for flag in ("--help", "-h"):
        r = cli(*cmd, flag)
        assert r.exit_code == 0 and "Usage:" in r.stdout


def test_version(cli):
    r = cli("--version")
    assert r.exit_code == 0 and "0.1.0" in r.stdout


def test_unknown_command_is_a_usage_error(cli):
    assert cli("draw", "x.vd").exit_code == 2


# ---------------------------------------------------------------- a real process
def test_real_subprocess(tmp_path):
    out = tmp_path / "parrot.png"
    env = dict(os.environ)
    r = subprocess.run(
        [sys.executable, "-m", "vdsl.cli", "render", str(PARROT), "-o", str(out), "--size", "128x128"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert image(out).shape == (128, 128, 4)
    r = subprocess.run(
        [sys.executable, "-m", "vdsl.cli", "check", "-"],
        input=BAD,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert r.returncode == 1 and "E202" in r.stderr and "Traceback" not in r.stderr
