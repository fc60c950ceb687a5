"""The Python API: totality (a result or DiagnosticsError, nothing else), vdsl.render twice, deadline plumbing."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import vdsl
from vdsl.budgets import Budgets
from vdsl.deadline import NO_DEADLINE, Deadline
from vdsl.diagnostics import CODES

SRC = (
    "param n: number = 3\nparam c: color = red\ncanvas(width=100, height=50, background=white)\n"
    "circle(center=(50, 25), r=n * 5, fill=c)\n"
)


def test_vdsl_render_works_twice_and_after_importing_the_backends():
    first = vdsl.render(SRC, 1)
    assert vdsl.render(SRC, 1).tobytes() == first.tobytes()
    import importlib

    importlib.import_module("vdsl.backends")  # used to shadow vdsl.render when the backends lived in vdsl/render/
    assert callable(vdsl.render)
    again = vdsl.render(SRC, 1)
    assert again.shape == (50, 100, 4) and again.tobytes() == first.tobytes()
    assert (first[25, 50, :3] == (255, 0, 0)).all() and (first[0, 0, :3] == 255).all()


def _raises_only_vdsl_error(f) -> list[str]:
    """Call f; return the diagnostic codes of its DiagnosticsError ([] when it succeeds). Anything else fails."""
    try:
        f()
    except vdsl.DiagnosticsError as e:
        assert e.diagnostics and all(d.code in CODES for d in e.diagnostics)
        return [d.code for d in e.diagnostics]
    return []


@pytest.mark.parametrize(
    "kw, code",
    [
        ({"params": [1, 2]}, "E205"),
        ({"params": {"n": "x"}}, "E205"),
        ({"params": {"n": float("nan")}}, "E305"),
        ({"size": ("a", 5)}, "E407"),
        ({"size": (float("nan"), 5)}, "E407"),
        ({"size": (float("inf"), 5)}, "E407"),
        ({"size": (5,)}, "E407"),
        ({"size": 5}, "E407"),
        ({"size": (0, 5)}, "E407"),
        ({"size": (20000, 8)}, "E407"),  # one side over canvas_side
        ({"scale": 0}, "E301"),
        ({"scale": float("nan")}, "E301"),
        ({"scale": "2"}, "E301"),
        ({"scale": 300}, "E407"),  # 30000 x 15000 after scaling: over the pixel budget
        ({"scale": 1e6}, "E407"),
    ],
)
def test_bad_render_arguments_are_vdsl_errors(kw, code):
    prog = vdsl.compile(SRC)
    assert code in _raises_only_vdsl_error(lambda: prog.render(**kw))
    assert code in _raises_only_vdsl_error(lambda: vdsl.render(SRC, **kw))
    if "scale" not in kw:
        assert code in _raises_only_vdsl_error(lambda: prog.scene(**kw))


def test_fit_applies_canvas_side_from_the_budgets():
    prog = vdsl.compile(SRC, budgets=Budgets(canvas_side=128))
    assert _raises_only_vdsl_error(lambda: prog.scene(size=(128, 128))) == []
    assert _raises_only_vdsl_error(lambda: prog.scene(size=(129, 8))) == ["E407"]
    assert _raises_only_vdsl_error(lambda: vdsl.fit(prog.scene(), (8, 129), prog.budgets)) == ["E407"]


@pytest.mark.parametrize(
    "source",
    [
        None,
        5,
        b"\xff\xfe",
        bytearray(b"canvas(width=4, height=4)\n"),
        "\x00",
        "\ud800",
        "(" * 100_000,
        "use " + "a" * 300,
        'use "x.vd"',
    ],
)
def test_compile_never_raises(source):
    prog = vdsl.compile(source)
    assert all(d.code in CODES for d in prog.diagnostics)
    assert prog.ok == (isinstance(source, bytearray))
    _raises_only_vdsl_error(lambda: vdsl.render(source))


def test_compile_file_never_raises_and_never_opens_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "pipe.vd")
    (tmp_path / "dir.vd").mkdir()
    for path in (
        tmp_path / "pipe.vd",
        tmp_path / "dir.vd",
        tmp_path / "missing.vd",
        "a\x00b.vd",
        tmp_path / ("x" * 5000),
        None,
    ):
        prog = vdsl.compile_file(path, allow_files=True)
        assert not prog.ok and [d.code for d in prog.diagnostics] == ["E100"], path
    assert "FIFO" in vdsl.compile_file(tmp_path / "pipe.vd").diagnostics[0].message


def test_render_bytes_refuses_an_unknown_format_with_value_error():
    prog = vdsl.compile(SRC)
    with pytest.raises(ValueError):
        prog.render_bytes("gif")
    data, warnings = prog.render_bytes("png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and warnings == []


# ----------------------------------------------------------------------------- deadlines
def test_one_deadline_from_budgets_time_limit_per_call():
    prog = vdsl.compile(SRC, budgets=Budgets(time_limit=1e-9))  # unclamped: already past when drawing ends
    assert _raises_only_vdsl_error(lambda: prog.scene()) == ["E412"]
    assert _raises_only_vdsl_error(lambda: prog.render()) == ["E412"]
    assert _raises_only_vdsl_error(lambda: vdsl.render(SRC, budgets=Budgets(time_limit=1e-9))) == ["E412"]
    scene, diags = prog.evaluate(0)
    assert scene is None and [d.code for d in diags] == ["E412"]
    # an explicit deadline replaces the budget's
    assert prog.render(deadline=NO_DEADLINE).shape == (50, 100, 4)
    ok = vdsl.compile(SRC)
    assert _raises_only_vdsl_error(lambda: ok.render(deadline=Deadline(1e-9))) == ["E412"]


def test_the_same_deadline_reaches_the_evaluator_and_the_backend(monkeypatch):
    import vdsl.api as api
    import vdsl.backends as backends

    seen = []
    real_eval, real_render = api.evaluate, backends.render_array

    def spy_evaluate(checked, seed, budgets, params, deadline=None):
        seen.append(("evaluate", deadline, budgets))
        return real_eval(checked, seed, budgets, params, deadline=deadline)

    def spy_render(scene, scale=1.0, *, budgets=None, deadline=None):
        seen.append(("render", deadline, budgets))
        return real_render(scene, scale, budgets=budgets, deadline=deadline)

    monkeypatch.setattr(api, "evaluate", spy_evaluate)
    monkeypatch.setattr(backends, "render_array", spy_render)
    b = Budgets(time_limit=7.5)
    out = vdsl.compile(SRC, budgets=b).render(2)
    assert isinstance(out, np.ndarray)
    (_, d1, b1), (_, d2, b2) = seen
    assert d1 is d2 and isinstance(d1, Deadline) and d1.seconds == 7.5 and b1 is b and b2 is b
    seen.clear()
    vdsl.compile(SRC, budgets=b).render(2)
    assert seen[0][1] is not d1  # a fresh deadline per call


_NUM = st.one_of(
    st.integers(-5, 300),
    st.sampled_from([10**9, -(10**30), 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)
_VALUE = st.one_of(_NUM, st.lists(_NUM, max_size=3), st.tuples(_NUM, _NUM))


@settings(max_examples=200, deadline=None)
@given(
    seed=st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.none()),
    size=st.one_of(st.none(), st.tuples(_NUM, _NUM), _NUM, st.lists(_NUM, max_size=3)),
    scale=st.one_of(st.floats(0.01, 4), st.floats(allow_nan=True, allow_infinity=True), _NUM),
    params=st.one_of(
        st.none(),
        st.dictionaries(st.sampled_from(["n", "c", "zz", ""]), _VALUE, max_size=3),
        st.lists(_NUM, max_size=2),
    ),
)
def test_any_arguments_give_an_image_or_a_vdsl_error(seed, size, scale, params):
    prog = _PROG
    codes = _raises_only_vdsl_error(lambda: prog.scene(seed, params, size))
    codes += _raises_only_vdsl_error(lambda: prog.render(seed, size, scale, params))
    assert all(c in CODES for c in codes)


_PROG = vdsl.compile(SRC)
