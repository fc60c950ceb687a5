"""`use` modules: per-module name resolution, private names, defaults, labels and error locations."""
from __future__ import annotations

from pathlib import Path

import vdsl


def _write(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)


def _compile(tmp_path: Path, main: str) -> vdsl.Program:
    (tmp_path / "main.vd").write_text(main)
    return vdsl.compile_file(tmp_path / "main.vd", allow_files=True)


A = 'def dot(at: point) { circle(center=at, r=10, fill=red) }\n' \
    'def _helper() -> number { return 7 }\nlet _secret = 3\nlet shared = 5\n'
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
    prog = _compile(tmp_path, 'use "b.vd"\ndef dot(at: point) { rect(center=at, w=5, h=5, fill=blue) }\n'
                              'two_dots()\ndot(at=(10, 10))\n')
    assert prog.ok, prog.diagnostics
    kinds = [s.geom.kind for s, _ in prog.scene(0).iter_shapes()]
    assert kinds == ["ellipse", "ellipse", "rect"]


def test_names_starting_with_underscore_stay_private(tmp_path):
    _write(tmp_path, {"a.vd": A})
    prog = _compile(tmp_path, 'use "a.vd"\nlet a = _secret\nlet b = _helper()\nlet c = shared\n')
    codes = sorted((d.span.line, d.code) for d in prog.diagnostics)
    assert codes == [(2, "E200"), (3, "E201")]


def test_a_default_may_use_earlier_parameters():
    prog = vdsl.compile("def f(fill: color = red, stroke: color = darken(fill)) {\n"
                        "  circle(center=(50, 50), r=20, fill=fill, stroke=stroke, stroke_width=4)\n}\n"
                        "f(fill=blue)\n")
    assert prog.ok, prog.diagnostics
    shape = next(s for s, _ in prog.scene(0).iter_shapes())
    assert shape.fill.rgba[2] == 1.0 and shape.stroke.paint.rgba[2] < 1.0


def test_a_def_call_may_carry_a_label():
    prog = vdsl.compile('def blob() { circle(center=(5, 5), r=4) }\nblob(label="cell")\nblob()\n'
                        'blob(label=3)\n')
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
