"""`vdsl refine` end to end: the real openai client against a scripted local server; files, repairs, failures, resume, cache, batch."""

from __future__ import annotations

import base64
import csv
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from fake_openai_server import (
    BROKEN,
    GARBAGE,
    PROSE,
    RUNTIME_ERROR,
    VALID,
    VALID_BLUE,
    FakeOpenAI,
    fenced,
    reply,
    sleep,
    status,
)
from vdsl.cli import main
from vdsl.llm.files import read_jsonl

ROOT = Path(__file__).resolve().parents[1]


def run(srv, tmp_path, *args, env=None, out="run"):
    base = ["refine", "--cache-dir", str(tmp_path / "cache"), "--backoff", "0", "--no-progress"]
    if out is not None:
        base += ["--out", str(tmp_path / out)]
    return CliRunner().invoke(
        main, base + list(args), env={**(srv.env() if srv else {}), **(env or {})}, catch_exceptions=False
    )


def events(folder: Path, kind: str | None = None) -> list[dict]:
    ev = read_jsonl(folder / "transcript.jsonl")
    return [e for e in ev if kind is None or e.get("event") == kind]


def last_user(body: dict) -> str:
    m = [m for m in body["messages"] if m["role"] == "user"][-1]
    c = m["content"]
    return c if isinstance(c, str) else " ".join(p.get("text", "") for p in c if p.get("type") == "text")


def test_no_endpoint_stops_at_once_with_exit_2(tmp_path):
    r = run(
        None,
        tmp_path,
        "--concept",
        "a parrot",
        env={"OPENAI_BASE_URL": None, "OPENAI_API_KEY": None, "VDSL_MODEL": None},
    )
    assert r.exit_code == 2
    assert "OPENAI_BASE_URL" in r.output and "OPENAI_API_KEY" in r.output and "VDSL_MODEL" in r.output
    assert "localhost:8000/v1" in r.output  # a local server example
    assert not (tmp_path / "run").exists()  # nothing attempted, nothing written


def test_no_model_is_exit_2(tmp_path):
    r = run(
        None,
        tmp_path,
        "--concept",
        "a parrot",
        env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": None, "VDSL_MODEL": None},
    )
    assert r.exit_code == 2 and "--model" in r.output


def test_valid_rounds_write_every_file(tmp_path):
    with FakeOpenAI(default=reply(fenced(VALID))) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "3")
    assert r.exit_code == 0, r.output
    assert srv.count == 3
    out = tmp_path / "run"
    for k in range(3):
        assert (out / f"round_{k}.vd").read_text() == VALID
        assert (out / f"round_{k}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "strip.png").is_file() and (out / "index.html").is_file()
    ev = events(out)
    assert [e["event"] for e in ev] == ["start", "call", "round", "call", "round", "call", "round", "end"]
    start = ev[0]
    assert start["concept"] == "a red ball" and start["system_prompt"].startswith("You write programs in vdsl")
    calls = events(out, "call")
    assert [c["kind"] for c in calls] == ["draw", "improve", "improve"]
    assert all(c["usage"]["total_tokens"] == 150 and c["latency_s"] >= 0 for c in calls)
    # round 0 asks to draw; later rounds show the last program and ask the paper's question
    assert "a red ball" in last_user(srv.requests[0])
    assert last_user(srv.requests[1]) == "Can you make it better?"
    assert srv.requests[1]["messages"][-2] == {"role": "assistant", "content": f"```vdsl\n{VALID.rstrip()}\n```"}
    assert srv.requests[0]["messages"][0]["role"] == "system"
    summary = ev[-1]["summary"]
    assert summary["compiled_first_try"] and summary["rounds_ok"] == 3 and summary["repairs"] == 0


def test_broken_program_is_repaired_from_compact_diagnostics(tmp_path):
    with FakeOpenAI([reply(fenced(BROKEN)), reply(fenced(VALID))]) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1")
    assert r.exit_code == 0, r.output
    assert srv.count == 2
    fix = last_user(srv.requests[1])
    assert "E202" in fix and "radius" in fix and "did you mean `r`" in fix
    assert srv.requests[1]["messages"][-2]["role"] == "assistant"  # its own broken reply, then the errors
    rnd = events(tmp_path / "run", "round")[0]
    assert rnd["status"] == "ok" and rnd["repairs"] == 1 and rnd["first_try"] is False
    calls = events(tmp_path / "run", "call")
    assert calls[0]["ok"] is False and calls[0]["diagnostics"][0]["code"] == "E202"
    assert calls[1]["kind"] == "repair" and calls[1]["ok"] is True


def test_runtime_errors_count_as_diagnostics(tmp_path):
    with FakeOpenAI([reply(fenced(RUNTIME_ERROR)), reply(fenced(VALID))]) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1")
    assert r.exit_code == 0
    assert srv.count == 2 and "E302" in last_user(srv.requests[1])


def test_prose_without_code_asks_for_a_program(tmp_path):
    with FakeOpenAI([reply(PROSE), reply("Sure!\n" + VALID + "Hope you like it.")]) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1")
    assert r.exit_code == 0
    assert "did not contain a vdsl program" in last_user(srv.requests[1])
    calls = events(tmp_path / "run", "call")
    assert calls[0]["extracted"] == "none" and calls[1]["extracted"] == "trimmed"
    assert (tmp_path / "run" / "round_0.vd").read_text() == VALID


def test_failed_round_is_recorded_and_the_loop_goes_on_from_the_last_good_program(tmp_path):
    script = [
        reply(fenced(VALID)),  # round 0 ok
        reply(fenced(BROKEN)),
        reply(GARBAGE),  # round 1: broken, repair gives garbage -> failed
        reply(fenced(VALID_BLUE)),
    ]  # round 2 improves round 0's program
    with FakeOpenAI(script) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "3", "--max-repairs", "1")
    assert r.exit_code == 0, r.output
    assert srv.count == 4
    out = tmp_path / "run"
    rounds = events(out, "round")
    assert [x["status"] for x in rounds] == ["ok", "failed", "ok"]
    assert rounds[1]["diagnostics"] and rounds[2]["from_round"] == 0
    assert not (out / "round_1.png").exists() and not (out / "round_1.vd").exists()
    assert (out / "round_1.failed.vd").is_file()
    assert (out / "round_2.vd").read_text() == VALID_BLUE
    # round 2's request carries round 0's program, not the failed attempt
    assert srv.requests[3]["messages"][-2]["content"] == f"```vdsl\n{VALID.rstrip()}\n```"
    html = (out / "index.html").read_text()
    assert "failed" in html and "E202" in html


def test_round_0_failing_everything_exits_1(tmp_path):
    with FakeOpenAI(default=reply(GARBAGE)) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "2", "--max-repairs", "1")
    assert r.exit_code == 1
    assert srv.count == 4
    rounds = events(tmp_path / "run", "round")
    assert [x["status"] for x in rounds] == ["failed", "failed"]
    assert [c["kind"] for c in events(tmp_path / "run", "call")] == ["draw", "repair", "draw", "repair"]


def test_429_and_500_inside_a_run_are_retried(tmp_path):
    with FakeOpenAI([status(429, retry_after="0"), status(500), reply(fenced(VALID))]) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1")
    assert r.exit_code == 0
    assert srv.count == 3
    assert events(tmp_path / "run", "call")[0]["attempts"] == 3


def test_rerun_is_served_from_the_cache_and_no_cache_asks_again(tmp_path):
    with FakeOpenAI([reply(fenced(BROKEN))], default=reply(fenced(VALID))) as srv:
        assert run(srv, tmp_path, "--concept", "a red ball", "--rounds", "3", out="a").exit_code == 0
        assert srv.count == 4
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "3", out="b")
        assert r.exit_code == 0 and srv.count == 4  # zero new requests
        assert "0 requests now, 4 from the cache" in r.output
        for k in range(3):
            assert (tmp_path / "a" / f"round_{k}.vd").read_text() == (tmp_path / "b" / f"round_{k}.vd").read_text()
        assert all(c["cached"] for c in events(tmp_path / "b", "call"))
        assert run(srv, tmp_path, "--concept", "a red ball", "--rounds", "3", "--sample", "1", out="c").exit_code == 0
        assert srv.count == 7  # another sample asks afresh
        assert run(srv, tmp_path, "--concept", "a red ball", "--rounds", "3", "--no-cache", out="d").exit_code == 0
        assert srv.count == 10


def test_existing_run_needs_resume(tmp_path):
    with FakeOpenAI(default=reply(fenced(VALID))) as srv:
        assert run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1").exit_code == 0
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1")
        assert r.exit_code == 2 and "--resume" in r.output
        r = run(srv, tmp_path, "--concept", "a blue ball", "--rounds", "1", "--resume")
        assert r.exit_code == 2 and "a red ball" in r.output


def test_endpoint_crash_leaves_a_consistent_folder_and_resume_continues(tmp_path):
    script = [reply(fenced(VALID)), reply(fenced(VALID_BLUE))] + [status(500)] * 3
    with FakeOpenAI(script) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "4", "--retries", "2")
        assert r.exit_code == 1
        assert "--resume" in r.output and "HTTP 500" in r.output
        assert srv.count == 5
        out = tmp_path / "run"
        assert [p.name for p in sorted(out.glob("round_*"))] == [
            "round_0.png",
            "round_0.vd",
            "round_1.png",
            "round_1.vd",
        ]
        err = events(out, "error")
        assert len(err) == 1 and err[0]["round"] == 2 and err[0]["attempts"] == 3
        assert "endpoint error" in (out / "index.html").read_text()
        assert not list(out.glob(".*.tmp"))  # no half-written files
        srv.default = reply(fenced(VALID))
        # --no-cache: what is already done comes from the folder, not from the cache
        r = run(srv, tmp_path, "--resume", "--no-cache")
        assert r.exit_code == 0, r.output
        assert srv.count == 7  # rounds 2 and 3 only
    rounds = events(out, "round")
    assert [x["round"] for x in rounds] == [0, 1, 2, 3]
    assert rounds[2]["from_round"] == 1
    assert events(out, "resume") and events(out)[-1]["event"] == "end"
    assert events(out)[-1]["summary"]["complete"]


def test_resume_can_extend_the_rounds(tmp_path):
    with FakeOpenAI(default=reply(fenced(VALID))) as srv:
        assert run(srv, tmp_path, "--concept", "a red ball", "--rounds", "2").exit_code == 0
        assert run(srv, tmp_path, "--resume").exit_code == 0
        assert srv.count == 2  # complete: nothing to do
        assert run(srv, tmp_path, "--resume", "--rounds", "3").exit_code == 0
        assert srv.count == 3
    assert (tmp_path / "run" / "round_2.png").is_file()


def test_torn_transcript_line_is_survived(tmp_path):
    with FakeOpenAI(default=reply(fenced(VALID))) as srv:
        assert run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1").exit_code == 0
        t = tmp_path / "run" / "transcript.jsonl"
        with open(t, "a") as f:
            f.write('{"event": "call", "round": 1, "rep')  # a crash mid-line
        assert run(srv, tmp_path, "--resume", "--rounds", "2").exit_code == 0
    for line in t.read_text().splitlines():
        json.loads(line)  # every line is whole again


def test_vision_feedback_attaches_the_rendered_picture(tmp_path):
    with FakeOpenAI(default=reply(fenced(VALID))) as srv:
        r = run(
            srv,
            tmp_path,
            "--concept",
            "a red ball",
            "--rounds",
            "2",
            "--feedback",
            "vision",
            "--feedback-text",
            "Make it shinier.",
        )
    assert r.exit_code == 0
    content = srv.requests[1]["messages"][-1]["content"]
    assert isinstance(content, list)
    assert content[0]["type"] == "text" and "Make it shinier." in content[0]["text"]
    url = content[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == (tmp_path / "run" / "round_0.png").read_bytes()
    logged = events(tmp_path / "run", "call")[1]["messages"][-1]["content"][1]
    assert logged == {"type": "image_url", "image_url": {"url": "round_0.png"}}  # no blobs in the transcript
    assert all(isinstance(m["content"], str) for m in srv.requests[0]["messages"])


def test_batch_refines_many_concepts_with_a_summary(tmp_path):
    concepts = tmp_path / "concepts.txt"
    concepts.write_text("# test concepts\na red ball\na blue ball\na green ball\n")
    with FakeOpenAI([reply(fenced(BROKEN))], default=reply(fenced(VALID))) as srv:
        r = run(
            srv,
            tmp_path,
            "--concepts",
            str(concepts),
            "--limit",
            "2",
            "--rounds",
            "2",
            "--concurrency",
            "2",
            out="batch",
        )
        assert r.exit_code == 0, r.output
        assert srv.count == 5  # 2 concepts x 2 rounds + 1 repair
        out = tmp_path / "batch"
        assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["a-blue-ball", "a-red-ball"]
        rows = list(csv.DictReader((out / "summary.csv").open()))
        assert [r_["concept"] for r_ in rows] == ["a red ball", "a blue ball"]
        assert all(r_["status"] == "complete" and r_["rounds"] == "2/2" for r_ in rows)
        assert sorted(r_["compiled_first_try"] for r_ in rows) == ["no", "yes"]
        assert sum(int(r_["repairs"]) for r_ in rows) == 1
        assert "compiled first try" in (out / "summary.md").read_text()
        assert "refine summary" in r.output
        again = run(srv, tmp_path, "--concepts", str(concepts), "--limit", "2", "--rounds", "2", out="batch")
        assert again.exit_code == 2 and "--resume" in again.output
        resumed = run(srv, tmp_path, "--concepts", str(concepts), "--rounds", "2", "--resume", out="batch")
        assert resumed.exit_code == 0
        assert srv.count == 7  # only the third concept was new
        assert (out / "a-green-ball" / "round_1.png").is_file()


def test_batch_stops_when_the_endpoint_is_down(tmp_path):
    concepts = tmp_path / "c.txt"
    concepts.write_text("one\ntwo\nthree\n")
    with FakeOpenAI(default=status(503)) as srv:
        r = run(
            srv, tmp_path, "--concepts", str(concepts), "--rounds", "1", "--retries", "1", "--jobs", "1", out="batch"
        )
    assert r.exit_code == 1 and "--resume" in r.output
    assert srv.count == 2  # the first concept's two tries, then stop
    rows = list(csv.DictReader((tmp_path / "batch" / "summary.csv").open()))
    assert [r_["status"] for r_ in rows] == ["endpoint error", "not started", "not started"]


def test_batch_from_a_concept_tier(tmp_path):
    pytest.importorskip("vdsl.concepts")
    from vdsl.concepts import load_concepts

    first = load_concepts("shapes")[0]
    with FakeOpenAI(default=reply(fenced(VALID))) as srv:
        r = run(srv, tmp_path, "--concepts", "shapes", "--limit", "1", "--rounds", "1", out="tier")
    assert r.exit_code == 0, r.output
    assert srv.count == 1 and first.name in last_user(srv.requests[0])


def test_ctrl_c_leaves_a_consistent_folder_and_resume_continues(tmp_path):
    arrived = threading.Event()
    with FakeOpenAI(
        [reply(fenced(VALID)), reply(fenced(VALID)), sleep(30, reply(fenced(VALID)))], default=reply(fenced(VALID_BLUE))
    ) as srv:
        srv.on_request = lambda body: arrived.set() if srv.count == 3 else None
        out = tmp_path / "run"
        env = {**os.environ, **srv.env(), "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vdsl.cli",
                "refine",
                "--concept",
                "a red ball",
                "--rounds",
                "4",
                "--out",
                str(out),
                "--cache-dir",
                str(tmp_path / "cache"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert arrived.wait(60), "round 2's request never came"
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, err
        assert "--resume" in err
        assert events(out)[-1]["event"] == "interrupted"
        assert [x["round"] for x in events(out, "round")] == [0, 1]
        assert (out / "index.html").is_file() and (out / "strip.png").is_file()
        assert not list(out.glob(".*.tmp"))
        r = run(srv, tmp_path, "--resume")
        assert r.exit_code == 0, r.output
        assert srv.count == 5  # rounds 2 and 3 asked again, 0 and 1 kept
    assert [x["round"] for x in events(out, "round")] == [0, 1, 2, 3]
    assert (out / "round_3.vd").read_text() == VALID_BLUE


def test_model_programs_run_in_the_sandbox_under_its_time_limit(monkeypatch):
    """check_reply runs the model's program in the sandbox's worker process, under the time limit."""
    import dataclasses

    from vdsl import sandbox
    from vdsl.llm.refine import check_reply

    box = sandbox.default_sandbox()
    monkeypatch.setattr(box, "budgets", dataclasses.replace(box.budgets, time_limit=0.05))
    heavy = "```vdsl\nfor i in range(20000) { circle(center=(rand(0, 512), rand(0, 512)), r=200, fill=noise()) }\n```"
    r = check_reply(heavy, "round_0.vd")
    assert not r.ok and r.png is None
    assert {d.code for d in r.diagnostics} & {"E412", "E411"}
    monkeypatch.undo()
    ok = check_reply("```vdsl\ncircle(center=(50, 50), r=20, fill=red)\n```", "round_1.vd")
    assert ok.ok and ok.png.startswith(b"\x89PNG")
