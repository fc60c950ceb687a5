"""Research-grade model runs: true deadlines, retries on record, fail-forward, honest resume and cache (real openai client, scripted server)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from click.testing import CliRunner

from fake_openai_server import (
    BROKEN,
    VALID,
    VALID_BLUE,
    FakeOpenAI,
    fenced,
    reply,
    sleep,
    status,
    trickle,
    trickle_headers,
)
from vdsl.cli import main
from vdsl.llm.files import read_jsonl
from vdsl.llm.report import index_html, summarize

ROOT = Path(__file__).resolve().parents[1]


def run(srv, tmp_path, *args, out="run", env=None):
    base = ["refine", "--cache-dir", str(tmp_path / "cache"), "--backoff", "0", "--no-progress"]
    if out is not None:
        base += ["--out", str(tmp_path / out)]
    return CliRunner().invoke(main, base + list(args), env={**srv.env(), **(env or {})}, catch_exceptions=False)


def events(folder: Path, kind: str | None = None) -> list[dict]:
    return [e for e in read_jsonl(folder / "transcript.jsonl") if kind is None or e.get("event") == kind]


def last_user(body: dict) -> str:
    c = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    return c if isinstance(c, str) else " ".join(p.get("text", "") for p in c if p.get("type") == "text")


# ------------------------------------------------------------------ 1. deadlines
def test_timeout_is_a_deadline_for_the_whole_reply_not_per_read(tmp_path):
    """Headers at once, then one byte a second: --timeout 2 ends each try at ~2 s (httpx's per-read
    timeout alone would wait for ever), a timeout is asked again once at most, and both land in the transcript."""
    with FakeOpenAI(default=trickle(1.0)) as srv:
        t0 = time.monotonic()
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1", "--timeout", "2")
        took = time.monotonic() - t0
        assert srv.count == 2  # one retry on timeout, no pile-up
    assert took < 15, took
    assert r.exit_code == 1 and "--resume" in r.output
    err = events(tmp_path / "run", "error")[-1]
    assert "timeout" in err["error"] and err["attempts"] == 2
    assert [x["reason"].split(" ")[0] for x in err["retries"]] == ["timeout"]
    assert "retry 1/" in r.output and "timeout" in r.output  # the retry was printed


def test_timeout_holds_against_trickled_headers_too():
    """A server that sends its headers one byte a second (each read succeeds, so no per-read timeout fires)."""
    from vdsl.llm import LLMClient, LLMConfig, LLMError

    with FakeOpenAI(default=trickle_headers(0.5)) as srv:
        client = LLMClient(
            LLMConfig(model="m", base_url=srv.base_url, timeout=1.5, retries=0), cache=None, log=lambda line: None
        )
        t0 = time.monotonic()
        try:
            client.complete([{"role": "user", "content": "hi"}])
            raise AssertionError("a reply came")
        except LLMError as e:
            assert "timeout" in str(e) and e.kind == "unavailable"
        finally:
            client.close()
        assert time.monotonic() - t0 < 15


def test_run_deadline_caps_retry_after(tmp_path):
    """Retry-After: 86400 does not put the run to sleep for a day (nor 10 minutes): past --deadline it stops."""
    with FakeOpenAI(default=status(429, retry_after="86400")) as srv:
        t0 = time.monotonic()
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "2", "--deadline", "3")
        assert time.monotonic() - t0 < 15
        assert srv.count == 1
    assert r.exit_code == 1 and "deadline" in r.output
    ev = events(tmp_path / "run")
    assert [e["event"] for e in ev] == ["start", "error", "deadline"]
    assert ev[1]["error_kind"] == "deadline" and "asked to wait" in ev[1]["error"]
    assert summarize(ev)["deadline_reached"]


def test_run_deadline_stops_between_rounds_and_resume_continues(tmp_path):
    with FakeOpenAI([reply(fenced(VALID)), sleep(30, reply(fenced(VALID)))], default=reply(fenced(VALID_BLUE))) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "3", "--deadline", "2")
        assert r.exit_code == 1, r.output
        assert [x["round"] for x in events(tmp_path / "run", "round")] == [0]
        assert events(tmp_path / "run", "deadline")
        again = run(srv, tmp_path, "--resume")
        assert again.exit_code == 0, again.output
    assert [x["round"] for x in events(tmp_path / "run", "round")] == [0, 1, 2]


def test_every_retry_is_printed_and_recorded_with_its_reason(tmp_path):
    with FakeOpenAI([status(503), status(429, retry_after="0")], default=reply(fenced(VALID))) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1")
    assert r.exit_code == 0, r.output
    call = events(tmp_path / "run", "call")[0]
    assert [x["reason"] for x in call["retries"]] == ["HTTP 503", "HTTP 429"] and call["attempts"] == 3
    assert r.output.count("retry ") == 2 and "HTTP 503" in r.output
    s = summarize(events(tmp_path / "run"))
    assert s["retries"] == 2 and s["retry_reasons"] == ["HTTP 503", "HTTP 429"]
    assert "HTTP 503" in (tmp_path / "run" / "index.html").read_text()


# ------------------------------------------------------------------ 2. fail forward
def test_context_overflow_on_a_repair_fails_that_round_and_the_run_goes_on(tmp_path):
    with FakeOpenAI(
        [reply(fenced(BROKEN)), status(400, message="maximum context length exceeded")], default=reply(fenced(VALID))
    ) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "2")
        assert srv.count == 3
    assert r.exit_code == 0, r.output
    rounds = events(tmp_path / "run", "round")
    assert [x["status"] for x in rounds] == ["failed", "ok"]
    assert "context length" in rounds[0]["reason"]
    assert events(tmp_path / "run", "error")[0]["error_kind"] == "rejected"
    assert "context length" in (tmp_path / "run" / "index.html").read_text()
    assert summarize(events(tmp_path / "run"))["aborted_by"] is None


def test_one_concepts_overflow_never_stops_the_batch(tmp_path):
    concepts = tmp_path / "c.txt"
    concepts.write_text("a huge castle\na red ball\na blue ball\n")

    def answer(body):
        if "huge castle" in last_user(body):
            return status(400, message="maximum context length exceeded")
        return reply(fenced(VALID))

    with FakeOpenAI(default=answer) as srv:
        r = run(srv, tmp_path, "--concepts", str(concepts), "--rounds", "1", "--jobs", "1", out="batch")
    rows = list(csv.DictReader((tmp_path / "batch" / "summary.csv").open()))
    assert [x["status"] for x in rows] == ["no program", "complete", "complete"]
    assert r.exit_code == 1  # not every concept produced a program
    assert "context length" in events(tmp_path / "batch" / "a-huge-castle", "round")[0]["reason"]


def test_a_bad_key_stops_with_what_to_change(tmp_path):
    concepts = tmp_path / "c.txt"
    concepts.write_text("one\ntwo\nthree\n")
    with FakeOpenAI(default=status(401, message="invalid api key")) as srv:
        r = run(srv, tmp_path, "--concepts", str(concepts), "--rounds", "1", "--jobs", "1", out="batch")
        assert srv.count == 1  # no retries, no other concept tried
    assert r.exit_code == 2
    assert "OPENAI_API_KEY" in r.output and "Resuming will not help" in r.output
    rows = list(csv.DictReader((tmp_path / "batch" / "summary.csv").open()))
    assert [x["status"] for x in rows] == ["endpoint refused", "not started", "not started"]


def test_an_unknown_model_names_the_model_option(tmp_path):
    with FakeOpenAI(default=status(404, message="model not found")) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1")
    assert r.exit_code == 2 and "--model" in r.output and "OPENAI_BASE_URL" in r.output


def test_a_cut_reply_is_named_in_the_repair_request(tmp_path):
    cut = "```vdsl\ncanvas(width=64, height=64)\ncircle(center=(32, 32), r=20, fill="
    with FakeOpenAI([reply(cut, finish_reason="length")], default=reply(fenced(VALID))) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1", "--max-tokens", "300")
        assert r.exit_code == 0, r.output
        assert "cut off at max_tokens=300" in last_user(srv.requests[1])
    assert events(tmp_path / "run", "call")[0]["cut"] is True


# ------------------------------------------------------------------ 3. honest resume and cache
def _interrupted_run(srv, tmp_path, *args):
    """Round 0 done, then the endpoint goes down: a run to resume."""
    srv.push(reply(fenced(VALID)))
    srv.default = status(503)
    r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "2", "--retries", "0", *args)
    assert r.exit_code == 1, r.output
    srv.default = reply(fenced(VALID_BLUE))


def test_resume_restores_sampling_settings(tmp_path):
    with FakeOpenAI() as srv:
        _interrupted_run(srv, tmp_path, "--max-tokens", "1024", "--temperature", "0.2", "--model", "model-a")
        r = run(srv, tmp_path, "--resume", env={"VDSL_MODEL": None})
        assert r.exit_code == 0, r.output
        last = srv.requests[-1]
    assert last["max_tokens"] == 1024 and last["temperature"] == 0.2 and last["model"] == "model-a"


def test_resume_refuses_changed_settings_unless_allowed(tmp_path):
    with FakeOpenAI() as srv:
        _interrupted_run(srv, tmp_path, "--model", "model-a")
        n = srv.count
        r = run(srv, tmp_path, "--resume", "--model", "model-b", "--temperature", "0")
        assert r.exit_code == 2 and "model" in r.output and "temperature" in r.output
        assert "--allow-changed-settings" in r.output and srv.count == n
        r = run(srv, tmp_path, "--resume", "--model", "model-b", "--allow-changed-settings")
        assert r.exit_code == 0, r.output
        assert srv.requests[-1]["model"] == "model-b"
    resume = events(tmp_path / "run", "resume")[-1]
    assert resume["changed_settings"] == {"model": ["model-a", "model-b"]}
    assert summarize(events(tmp_path / "run"))["model"] == "model-a, then model-b"


def test_identical_repair_requests_are_sampled_not_replayed_from_the_cache(tmp_path):
    """The model gives the same broken reply twice: repair steps 2 and 3 send identical messages, and both
    must reach the model (the step is part of the cache key)."""
    with FakeOpenAI([reply(fenced(BROKEN))] * 3, default=reply(fenced(VALID))) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1", "--max-repairs", "3")
        assert r.exit_code == 0, r.output
        assert srv.count == 4
        assert srv.requests[1]["messages"] == srv.requests[2]["messages"]
    calls = events(tmp_path / "run", "call")
    assert not any(c["cached"] for c in calls) and events(tmp_path / "run", "round")[0]["repairs"] == 3


def test_tokens_survive_a_cached_rerun(tmp_path):
    with FakeOpenAI(default=reply(fenced(VALID), prompt_tokens=100, completion_tokens=50)) as srv:
        assert run(srv, tmp_path, "--concept", "a red ball", "--rounds", "2", "--price", "1,2").exit_code == 0
        assert run(srv, tmp_path, "--concept", "a red ball", "--rounds", "2", out="again").exit_code == 0
        assert srv.count == 2
    first, again = summarize(events(tmp_path / "run")), summarize(events(tmp_path / "again"))
    assert first["prompt_tokens"] == again["prompt_tokens"] == 200
    assert again["cached_prompt_tokens"] == 200 and first["cached_prompt_tokens"] == 0
    assert first["cost"] == (200 * 1 + 100 * 2) / 1e6 and again["cost"] is None
    assert "of which from the cache: 200 + 100" in (tmp_path / "again" / "index.html").read_text()


def test_a_resumed_round_lists_its_calls_once(tmp_path):
    with FakeOpenAI([reply(fenced(BROKEN))], default=status(503)) as srv:
        r = run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1", "--retries", "0")
        assert r.exit_code == 1
        srv.default = reply(fenced(VALID))
        assert run(srv, tmp_path, "--resume").exit_code == 0
    # the first session: draw (broken) + the repair that failed; the resumed one: draw (cached) + repair
    assert len(events(tmp_path / "run", "call")) == 3 and len(events(tmp_path / "run", "error")) == 1
    page = index_html(tmp_path / "run")
    assert page.count("<summary>call ") == 2 and "endpoint error:" not in page


def test_report_metadata(tmp_path):
    with FakeOpenAI(default=reply(fenced(VALID))) as srv:
        assert run(srv, tmp_path, "--concept", "a red ball", "--rounds", "1", "--seed", "7").exit_code == 0
    s = summarize(events(tmp_path / "run"))
    assert s["seed"] == 7 and s["max_tokens"] == 4096 and s["server_models"] == ["fake-model"]
    assert len(s["system_prompt_sha256"]) == 64 and s["vdsl_version"] and s["started"]
    page = (tmp_path / "run" / "index.html").read_text()
    assert "system prompt sha256" in page and "server-reported model" in page


def test_sigterm_records_an_interrupted_event(tmp_path):
    arrived = threading.Event()
    with FakeOpenAI([reply(fenced(VALID)), sleep(30, reply(fenced(VALID)))]) as srv:
        srv.on_request = lambda body: arrived.set() if srv.count == 2 else None
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
                "3",
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
            assert arrived.wait(60), "round 1's request never came"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 143, err
    last = events(out)[-1]
    assert last["event"] == "interrupted" and last["signal"] == "SIGTERM"


# ------------------------------------------------------------------ the dataset's LLM path
def _build(srv, tmp_path, *extra):
    (tmp_path / "c.txt").write_text("kite\nboat\n")
    args = [
        "dataset",
        "build",
        "--concepts",
        str(tmp_path / "c.txt"),
        "--programs-per-concept",
        "1",
        "--variants",
        "1",
        "--size",
        "32",
        "--workers",
        "1",
        "--no-progress",
        "-o",
        str(tmp_path / "ds"),
        *extra,
    ]
    return CliRunner().invoke(
        main, args, env={**srv.env(), "VDSL_CACHE_DIR": str(tmp_path / "cache")}, catch_exceptions=False
    )


def test_dataset_generation_goes_on_past_a_rejected_concept(tmp_path):
    def answer(body):
        if "kite" in last_user(body):
            return status(400, message="maximum context length exceeded")
        return reply(fenced(VALID))

    with FakeOpenAI(default=answer) as srv:
        r = _build(srv, tmp_path)
        assert srv.count == 2
    assert (tmp_path / "ds" / "programs" / "boat" / "p000.vd").is_file(), r.output
    assert not (tmp_path / "ds" / "programs" / "kite").exists()
    kite = [x for x in read_jsonl(tmp_path / "ds" / "failures.jsonl") if x.get("concept") == "kite"]
    assert kite and kite[0]["reason"] == "generation_failed" and "context length" in kite[0]["detail"]


def test_dataset_generation_stops_at_a_bad_key_with_what_to_change(tmp_path):
    with FakeOpenAI(default=status(401, message="invalid api key")) as srv:
        r = _build(srv, tmp_path, "--llm-concurrency", "1")
        assert srv.count == 1
    assert r.exit_code == 2 and "OPENAI_API_KEY" in r.output


def test_dataset_generation_deadline(tmp_path):
    with FakeOpenAI(default=sleep(30, reply(fenced(VALID)))) as srv:
        t0 = time.monotonic()
        r = _build(srv, tmp_path, "--llm-deadline", "1")
        assert time.monotonic() - t0 < 15
    assert r.exit_code == 1 and "deadline" in r.output


def test_sigterm_in_a_batch_records_interrupted_events_and_writes_the_summary(tmp_path):
    concepts = tmp_path / "c.txt"
    concepts.write_text("one\ntwo\n")
    arrived = threading.Event()
    with FakeOpenAI(default=sleep(3, reply(fenced(VALID)))) as srv:
        srv.on_request = lambda body: arrived.set()
        out = tmp_path / "batch"
        env = {**os.environ, **srv.env(), "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vdsl.cli",
                "refine",
                "--concepts",
                str(concepts),
                "--rounds",
                "3",
                "--jobs",
                "1",
                "--no-progress",
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
            assert arrived.wait(60), "no request came"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 143, err
    assert events(out / "one")[-1]["event"] == "interrupted"
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [x["status"] for x in rows] == ["interrupted", "not started"]


def test_recognize_goes_on_past_a_rejected_program(tmp_path):
    root = tmp_path / "progs"
    root.mkdir()
    for i, c in enumerate(["cat", "dog", "boat"]):
        (root / f"{c}.vd").write_text(
            f"// concept: {c}\ncanvas(width=32, height=32)\ncircle(center=(16, 16), r={10 + i})\n"
        )

    def answer(body):
        text = last_user(body)
        if "r=10" in text:
            return status(400, message="maximum context length exceeded")
        return reply("I cannot tell.")

    with FakeOpenAI(default=answer) as srv:
        r = CliRunner().invoke(
            main,
            ["recognize", "--no-cache", "--backoff", "0", "--programs", str(root), "--distractors", "1"],
            env=srv.env(),
            catch_exceptions=False,
        )
        assert srv.count == 3
    assert r.exit_code == 0, r.output
    assert "err  cat.vd: cat -> HTTP 400" in r.output and "1 request(s) rejected" in r.output
    assert "accuracy: 0/3" in r.output and "2 answer(s) named no choice" in r.output


def test_resumed_sampling_restores_what_was_not_given_and_reports_what_was():
    from vdsl.llm.refine import resumed_sampling

    start = {"endpoint": {"model": "a", "temperature": 0.7, "max_tokens": 1024, "base_url": "u"}}
    now = {"model": "b", "temperature": 0.0, "max_tokens": 4096, "base_url": "u"}
    use, changed = resumed_sampling(start, now, {"model"})
    assert use == {"model": "b", "temperature": 0.7, "max_tokens": 1024} and changed == {"model": ["a", "b"]}
    use, changed = resumed_sampling(start, now, None)  # programmatic: everything counts as given
    assert use == {"model": "b", "temperature": 0.0, "max_tokens": 4096} and set(changed) == {
        "model",
        "temperature",
        "max_tokens",
    }
    assert resumed_sampling(start, {**start["endpoint"]}, None)[1] == {}
