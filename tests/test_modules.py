"""`use` modules: per-module name resolution, private names, defaults, labels and error locations."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import vdsl
from vdsl.diagnostics import CODES
from vdsl.modules import FileAccessDenied, file_source, read_regular_file


def _write(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)


def _compile(tmp_path: Path, main: str) -> vdsl.Program:
    (tmp_path / "main.vd").write_text(main)
    return vdsl.compile_file(tmp_path / "main.vd", allow_files=True)


A = (
    "def dot(at: point) { circle(center=at, r=10, fill=red) }\n"
    "def _helper() -> number { return 7 }\nlet _secret = 3\nlet shared = 5\n"
)
B = 'use "a.vd"\ndef two_dots() { dot(at=(50, 50))\n dot(at=(80, 50)) }\n'


def test_a_module_calls_the_defs_of_the_modules_it_uses(tmp_path):
    _write(tmp_path, {"a.vd": A, "b.vd": B})
    prog = _compile(tmp_path, 'use "b.vd"\ntwo_dots()\n')
    assert prog.ok, prog.diagnostics
    scene = prog.scene(0)
    shapes = [s for s, _ in scene.iter_shapes()]
    assert len(shapes) == 2


def test_a_user_def_does_not_replace_a_module_internal(tmp_path):
    _write(tmp_path, {"a.vd": A, "b.vd": B})
    # The user's `dot` draws blue squares; the module's two_dots must still draw its own red circles.
    prog = _compile(
        tmp_path,
        'use "b.vd"\ndef dot(at: point) { rect(center=at, w=5, h=5, fill=blue) }\ntwo_dots()\ndot(at=(10, 10))\n',
    )
    assert prog.ok, prog.diagnostics
    kinds = [s.geom.kind for s, _ in prog.scene(0).iter_shapes()]
    assert kinds == ["ellipse", "ellipse", "rect"]


def test_names_starting_with_underscore_stay_private(tmp_path):
    _write(tmp_path, {"a.vd": A})
    prog = _compile(tmp_path, 'use "a.vd"\nlet a = _secret\nlet b = _helper()\nlet c = shared\n')
    codes = sorted((d.span.line, d.code) for d in prog.diagnostics)
    assert codes == [(2, "E200"), (3, "E201")]


def test_a_default_may_use_earlier_parameters():
    prog = vdsl.compile(
        "def f(fill: color = red, stroke: color = darken(fill)) {\n"
        "  circle(center=(50, 50), r=20, fill=fill, stroke=stroke, stroke_width=4)\n}\n"
        "f(fill=blue)\n"
    )
    assert prog.ok, prog.diagnostics
    shape = next(s for s, _ in prog.scene(0).iter_shapes())
    assert shape.fill.rgba[2] == 1.0 and shape.stroke.paint.rgba[2] < 1.0


def test_a_def_call_may_carry_a_label():
    prog = vdsl.compile('def blob() { circle(center=(5, 5), r=4) }\nblob(label="cell")\nblob()\nblob(label=3)\n')
    assert [(d.span.line, d.code) for d in prog.diagnostics] == [(4, "E205")]
    ok = vdsl.compile('def blob() { circle(center=(5, 5), r=4) }\nblob(label="cell")\nblob()\n')
    labels = [s.label for s, _ in ok.scene(0).iter_shapes()]
    assert labels == ["cell", "blob"]


def test_a_fault_inside_a_module_def_points_at_the_callers_line(tmp_path):
    _write(tmp_path, {"m.vd": "def bad(i: number) -> number { return [1, 2][i] }\n"})
    prog = _compile(tmp_path, 'use "m.vd"\nlet x = 1\nlet y = bad(i=5)\n')
    assert prog.ok
    scene, diags = prog.evaluate(0)
    assert scene is None
    (d,) = diags
    assert d.code == "E302" and d.span.line == 3 and d.span.file.endswith("main.vd")
    assert "inside `bad`" in d.message and "m.vd:1" in d.message


def test_stdlib_modules_are_checked_once_per_process():
    from vdsl.check import _STDLIB_CACHE

    vdsl.compile("use shapes\nstar(center=(50, 50), r=20)\n")
    n = len(_STDLIB_CACHE)
    info = next(v for (name, _), v in _STDLIB_CACHE.items() if name == "shapes")
    prog = vdsl.compile("use shapes\nstar(center=(60, 60), r=10)\n")
    assert prog.ok and len(_STDLIB_CACHE) == n
    assert prog.checked.uses[0] is info


# ----------------------------------------------------------------------------- bad module names and paths
# Every way a `use` can fail is a diagnostic (E208 no such module, E218 a path that must not or cannot be
# used, E108 a module that is not UTF-8), never an exception out of vdsl.compile.


@pytest.fixture
def hostile(tmp_path):
    """A program folder with every kind of bad entry a module path can point at."""
    d = tmp_path / "prog"
    d.mkdir()
    (d / "ok.vd").write_text("def dot() { circle(center=(5, 5), r=4) }\n")
    (d / "latin1.vd").write_bytes(b"// caf\xe9\ndef dot() { circle(center=(5, 5), r=4) }\n")
    (d / "folder.vd").mkdir()
    os.mkfifo(d / "pipe.vd")
    os.symlink("loop_b", d / "loop_a")
    os.symlink("loop_a", d / "loop_b")
    os.symlink("loop_self.vd", d / "loop_self.vd")
    os.symlink("missing.vd", d / "dangling.vd")
    os.symlink(tmp_path, d / "up")  # a symlink out of the folder
    (tmp_path / "secret.vd").write_text("def leak() { }\n")
    return d


def _codes(prog: vdsl.Program) -> list[str]:
    return [d.code for d in prog.diagnostics]


@pytest.mark.parametrize(
    "path, code, words",
    [
        ("ok.vd", None, None),
        ("latin1.vd", "E108", "UTF-8"),
        ("folder.vd", "E218", "a directory"),
        ("pipe.vd", "E218", "a FIFO"),  # never opened: reading a FIFO blocks forever
        ("loop_a", "E218", "symlink loop"),
        ("loop_a/x.vd", "E218", "symlink loop"),
        ("loop_self.vd", "E218", "symlink loop"),
        ("dangling.vd", "E208", None),
        ("nothing/here.vd", "E208", None),
        ("up/secret.vd", "E218", "inside the program's folder"),
        ("../secret.vd", "E218", None),
        ("a" * 300 + ".vd", "E218", "too long"),
        ("/".join(["d" * 200] * 30) + "/x.vd", "E218", None),
        ("é/ü.vd", "E208", None),
    ],
)
def test_bad_module_paths_are_diagnostics(hostile, path, code, words):
    (hostile / "main.vd").write_text(f'use "{path}"\n')
    prog = vdsl.compile_file(hostile / "main.vd", allow_files=True)
    if code is None:
        assert prog.ok, prog.diagnostics
        return
    assert code in _codes(prog), prog.diagnostics
    if words:
        assert any(words in d.message or words in (d.hint or "") for d in prog.diagnostics), prog.diagnostics


def test_a_long_stdlib_name_is_an_unknown_module():
    prog = vdsl.compile("use " + "a" * 300 + "\n")
    assert _codes(prog) == ["E208"]
    prog = vdsl.compile("use " + ".".join(["b" * 250] * 8) + "\n")
    assert _codes(prog) == ["E208"]


def test_an_unusable_base_dir_refuses_file_modules(tmp_path):
    for base in ("bad\x00dir", tmp_path / ("x" * 5000), tmp_path / "missing"):
        prog = vdsl.compile('use "m.vd"\n', base_dir=base)
        assert set(_codes(prog)) <= {"E208", "E218"} and _codes(prog), (base, prog.diagnostics)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_module_is_e218(tmp_path):
    (tmp_path / "m.vd").write_text("def f() { }\n")
    os.chmod(tmp_path / "m.vd", 0)
    try:
        prog = vdsl.compile('use "m.vd"\n', base_dir=tmp_path)
    finally:
        os.chmod(tmp_path / "m.vd", stat.S_IRUSR | stat.S_IWUSR)
    assert _codes(prog) == ["E218"] and "permission" in prog.diagnostics[0].message


def test_read_regular_file_never_opens_a_fifo_and_caps_what_it_reads(tmp_path):
    os.mkfifo(tmp_path / "p")
    with pytest.raises(OSError, match="FIFO"):
        read_regular_file(tmp_path / "p")  # returns at once: no writer is waited for
    (tmp_path / "big").write_bytes(b"x" * 1000)
    assert read_regular_file(tmp_path / "big", 10) == b"x" * 10


_PATH_CHARS = st.sampled_from(
    [
        "a",
        "b",
        "é",
        "日",
        "/",
        ".",
        "..",
        "\x00",
        " ",
        "\n",
        "\\",
        ":",
        "~",
        "loop_a",
        "pipe.vd",
        "folder.vd",
        "up",
        "ok.vd",
        ".vd",
        "a" * 120,
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_PATH_CHARS, min_size=0, max_size=12), long=st.integers(0, 3))
def test_any_module_path_gives_a_module_or_a_refusal(hostile, parts, long):
    rel = "".join(parts) + "x" * (300 * long)
    try:
        src = file_source(rel, str(hostile))
    except FileAccessDenied:
        return
    assert src is None or isinstance(src.text, str)


def _literal(path: str) -> str:
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.text(st.characters(blacklist_categories=("Cs",)), max_size=400) | st.lists(_PATH_CHARS).map("".join),
    name=st.text(max_size=300),
)
def test_compile_never_raises_for_any_use(hostile, path, name):
    for source in (f"use {_literal(path)}\n", f"use {name}\n", f"use {_literal(name)}\n"):
        for base in (hostile, None):
            prog = vdsl.compile(source, base_dir=base)
            assert all(d.code in CODES for d in prog.diagnostics)
            assert prog.ok or prog.diagnostics
