"""The built wheel carries grammar/ and stdlib/ and renders an example from a fresh venv (not the checkout)."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".hypothesis")


def _run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # build from a copy, so the checkout gets no build/ folder and concurrent edits cannot race the build
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "vdsl", "grammar", "stdlib"):
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=_SKIP)
        elif p.exists():
            shutil.copy2(p, src / name)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", out], cwd=src)
    wheels = list(out.glob("vdsl-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "vdsl/grammar/vdsl.lark" in names
    assert "vdsl/stdlib/__init__.py" in names
    stdlib = sorted(p.name for p in (ROOT / "stdlib").glob("*.vd"))
    for name in stdlib:
        assert f"vdsl/stdlib/{name}" in names, f"stdlib/{name} is missing from the wheel"
    for init in sorted((ROOT / "vdsl").rglob("__init__.py")):  # every subpackage ships
        rel = init.relative_to(ROOT).as_posix()
        assert rel in names, f"{rel} is missing from the wheel (add its package to pyproject.toml)"
    for module in (
        "vdsl/__init__.py",
        "vdsl/cli.py",
        "vdsl/syntax.py",
        "vdsl/fastparse.py",
        "vdsl/builtins/__init__.py",
        "vdsl/backends/__init__.py",
    ):
        assert module in names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "vdsl = vdsl.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_renders_from_a_fresh_venv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / "python"
    # Dependencies come from the environment running this test (a virtual environment's packages are not
    # the system's, so they are added by path: after the new venv's own, and without their .pth hooks, so an
    # editable install of the checkout stays invisible); the wheel itself goes into the new venv.
    if sys.prefix != sys.base_prefix:
        own = _run([py, "-c", "import site; print(site.getsitepackages()[0])"]).stdout.strip()
        (Path(own) / "_outer_env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([py, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel])

    work = tmp_path / "cwd"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    where = _run(
        [py, "-c", "import vdsl, vdsl.syntax; print(vdsl.__file__); print(vdsl.syntax.__file__)"], cwd=work, env=env
    ).stdout.split()
    venv_root = env_dir.resolve()
    for f in where:
        assert Path(f).resolve().is_relative_to(venv_root), f"vdsl was imported from {f}, not from the venv"
        assert not Path(f).resolve().is_relative_to(ROOT)

    vdsl_exe = bindir / "vdsl"
    assert vdsl_exe.exists()
    shutil.copy2(ROOT / "examples" / "parrot.vd", work / "parrot.vd")
    _run([vdsl_exe, "render", "parrot.vd", "-o", "out.png"], cwd=work, env=env)
    data = (work / "out.png").read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 1000

    # the installed package finds its grammar and stdlib through importlib.resources
    r = _run(
        [
            py,
            "-c",
            "from vdsl.syntax import GRAMMAR_TEXT; from vdsl.modules import stdlib_names; "
            "print(len(GRAMMAR_TEXT) > 100, stdlib_names() == sorted(stdlib_names()))",
        ],
        cwd=work,
        env=env,
    )
    assert r.stdout.split() == ["True", "True"]
    r = _run([vdsl_exe, "check", "parrot.vd"], cwd=work, env=env)
    assert "ok: 1 file" in r.stderr
