"""vdsl.sandbox: results equal in-process ones; time limit (E412), memory cap (E413), crashes are results, not hangs."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import vdsl
from vdsl.budgets import Budgets
from vdsl.sandbox import CRASH, ERROR, MEMORY, OK, TIMEOUT, Job, Sandbox, execute, limit_memory

SRC = (
    "canvas(width=64, height=48, background=white)\n"
    "circle(center=(32, 24), r=rand(5, 20), fill=hsl(rand(0, 360), 70%, 50%))\n"
)
# ~10M evaluation steps: seconds of work, far past a 1 s limit
SLOW = "canvas(width=64, height=64)\nfor i in range(5000000) { let y = i * i * i * i }\n"
SLOW_BUDGETS = Budgets(fuel=100_000_000, loop_iterations=10_000_000, time_limit=1.0)
BIG = "canvas(width=4096, height=4096, background=white)\ncircle(center=(99, 99), r=50, fill=red)\n"


@pytest.fixture(scope="module")
def sb():
    with Sandbox() as s:
        yield s


def test_results_equal_in_process_rendering(sb):
    prog = vdsl.compile(SRC)
    for seed in (0, 3):
        r = sb.run(SRC, seed=seed)
        assert r.ok and r.status == OK and r.diagnostics == []
        assert r.value == prog.render_bytes("png", seed)[0]
        a = sb.run(SRC, seed=seed, fmt="array")
        assert a.ok and np.array_equal(a.value, prog.render(seed))
    s = sb.run(SRC, seed=3, fmt="scene", size=(32, 32))
    assert s.ok and s.value == prog.scene(3, size=(32, 32))
    svg = sb.run(SRC, fmt="svg")
    assert svg.ok and b"<svg" in svg.value[:300]
    small = sb.run(SRC, fmt="array", max_side=16)
    assert small.value.shape == (12, 16, 4)
    assert execute(Job(SRC, seed=3, fmt="png"))[1] == sb.run(SRC, seed=3).value


def test_errors_are_the_compilers_and_evaluators_diagnostics(sb):
    bad = "canvas(width=64, height=64)\ncircle(center=(1, 2), r=oops)\n"
    r = sb.run(bad)
    assert r.status == ERROR and r.value is None
    assert r.diagnostics == vdsl.compile(bad).diagnostics
    boom = "canvas(width=64, height=64)\nlet xs = [1, 2]\nlet y = xs[5]\n"
    r = sb.run(boom)
    assert r.status == ERROR and [d.code for d in r.diagnostics] == ["E302"]
    assert sb.run(SRC, fmt="gif").status == ERROR
    assert sb.run(SRC, size=(0, 5)).diagnostics[0].code == "E407"
    r = sb.run(SRC, params={"f": lambda: 0})  # cannot be sent to the worker: a result, not an exception
    assert r.status == CRASH and r.diagnostics[0].code == "E300"
    assert sb.run(SRC).ok


def test_past_the_time_limit_is_e412_and_the_next_call_works(sb):
    t0 = time.monotonic()
    r = sb.run(SLOW, budgets=SLOW_BUDGETS)
    assert r.status == TIMEOUT and [d.code for d in r.diagnostics] == ["E412"]
    assert time.monotonic() - t0 < 30  # stopped near the 1 s limit, not after the whole program
    assert sb.run(SRC).ok
    r = sb.run(SLOW, budgets=SLOW_BUDGETS.with_overrides(time_limit=3600), time_limit=1)
    assert r.status == TIMEOUT


def test_over_the_memory_cap_is_e413_and_the_next_call_works():
    with Sandbox(memory_limit=48 << 20) as small:  # a 4096 x 4096 surface alone needs 64 MiB
        r = small.run(BIG)
        assert r.status == MEMORY and [d.code for d in r.diagnostics] == ["E413"]
        assert "48 MiB" in r.diagnostics[0].message
        assert small.run(SRC).ok
    with Sandbox(memory_limit=1 << 30) as roomy:
        assert roomy.run(BIG, fmt="array").value.shape == (4096, 4096, 4)


def test_a_worker_that_dies_is_a_crash_result_then_replaced(sb):
    assert sb.run(SRC).ok
    idle = sb._idle[0]
    os.kill(idle.proc.pid, signal.SIGKILL)  # dead while idle: silently replaced
    idle.proc.join(5)
    assert sb.run(SRC).ok
    pid = sb._idle[0].proc.pid
    threading.Timer(0.5, os.kill, (pid, signal.SIGTERM)).start()
    r = sb.run(SLOW, budgets=SLOW_BUDGETS.with_overrides(time_limit=60))
    assert r.status == CRASH and r.diagnostics[0].code == "E300" and "SIGTERM" in r.diagnostics[0].message
    assert sb.run(SRC).ok


def test_concurrent_calls_from_threads(sb):
    out = {}

    def work(i):
        out[i] = sb.run(SRC, seed=i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    prog = vdsl.compile(SRC)
    assert all(out[i].ok and out[i].value == prog.render_bytes("png", i)[0] for i in range(4))


def test_forkserver_workers_give_the_same_result():
    with Sandbox(start_method="forkserver") as fs:
        r = fs.run(SRC, seed=2)
        assert r.ok and r.value == vdsl.compile(SRC).render_bytes("png", 2)[0]
        assert fs.run(SLOW, budgets=SLOW_BUDGETS).status == TIMEOUT
        assert fs.run(SRC).ok


def test_limit_memory_caps_this_process_only_in_a_child():
    import multiprocessing as mp

    ctx = mp.get_context("fork")

    def child(q):
        ok = limit_memory(32 << 20)
        try:
            bytearray(256 << 20)
            q.put((ok, "allocated"))
        except MemoryError:
            q.put((ok, "MemoryError"))

    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    ok, what = q.get(timeout=60)
    p.join(10)
    assert ok and what == "MemoryError"
    assert limit_memory(None) is False
