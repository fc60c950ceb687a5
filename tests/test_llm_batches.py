"""Batch API runs end to end: `refine --batch` against a scripted files+batches server, export/ingest of results
files (vllm run-batch's format), partial and out-of-order results, refused requests, resume, no Batch API."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from fake_batch_server import FakeBatchAPI, completion
from fake_openai_server import BROKEN, VALID, VALID_BLUE, fenced
from vdsl.cli import main
from vdsl.llm import batches
from vdsl.llm.files import read_jsonl
from vdsl.llm.report import summarize


def last_user(body: dict) -> str:
    return [m for m in body["messages"] if m["role"] == "user"][-1]["content"]


def model(body: dict) -> str:
    """Round 0 of "a red ball" is broken at first; repairs and the other concepts compile; improvements turn blue."""
    u = last_user(body)
    if "did not compile" in u or "diagnostics" in u.lower():
        return fenced(VALID)
    if "better" in u:
        return fenced(VALID_BLUE)
    return fenced(BROKEN if "a red ball" in u else VALID)


def refine(srv, tmp_path, *args, out="runs"):
    base = ["refine", "--cache-dir", str(tmp_path / "cache"), "--backoff", "0", "--no-progress"]
    base += ["--out", str(tmp_path / out), "--batch", str(tmp_path / "batches"), "--poll", "0.01"]
    return CliRunner().invoke(main, base + list(args), env=srv.env(), catch_exceptions=False)


def concepts(tmp_path) -> str:
    p = tmp_path / "concepts.txt"
    p.write_text("a red ball\na blue box\n")
    return str(p)


def test_refine_proceeds_round_by_round_as_batches(tmp_path):
    with FakeBatchAPI(model, polls=2) as srv:
        r = refine(srv, tmp_path, "--concepts", concepts(tmp_path), "--rounds", "2")
        assert r.exit_code == 0, r.output
        # pass 0: two drawings; pass 1: the repair and one improvement; pass 2: the other improvement
        assert [len(x) for x in srv.inputs] == [2, 2, 1]
        assert not [c for c in srv.calls if c.endswith("/chat/completions")]  # nothing sent live
        assert sum(c == "POST /v1/batches" for c in srv.calls) == 3
        line = srv.inputs[0][0]
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        assert set(line["body"]) >= {"model", "messages", "temperature", "max_tokens"} and "sample" not in line["body"]
    rows = list(csv.DictReader((tmp_path / "runs" / "summary.csv").open()))
    assert [(x["status"], x["rounds"]) for x in rows] == [("complete", "2/2"), ("complete", "2/2")]
    red = summarize(read_jsonl(tmp_path / "runs" / "a-red-ball" / "transcript.jsonl"))
    assert red["repairs"] == 1 and not red["compiled_first_try"]
    assert red["calls"] == 3 and red["prompt_tokens"] == 300  # replays of earlier steps counted once
    st = batches.status(tmp_path / "batches", (1.0, 2.0))
    assert st["ingested"]["ok"] == 5 and st["usage"]["prompt_tokens"] == 500
    assert st["cost"] == round((500 * 1.0 + 250 * 2.0) / 1e6, 6)
    again = CliRunner().invoke(main, ["batch", "status", str(tmp_path / "batches"), "--price", "1,2"])
    assert again.exit_code == 0 and json.loads(again.output)["usage"]["completion_tokens"] == 250


def results_for(requests: Path, answer, skip=lambda body: False) -> str:
    """A results file as `vllm run-batch` writes it, in reverse order, leaving out the requests `skip` names."""
    out = []
    for i, line in enumerate(requests.read_text().splitlines()):
        r = json.loads(line)
        if skip(r["body"]):
            continue
        resp = {"status_code": 200, "request_id": str(i), "body": completion(r["body"], answer(r["body"]))}
        out.append(json.dumps({"id": str(i), "custom_id": r["custom_id"], "response": resp, "error": None}))
    return "\n".join(reversed(out)) + "\n"


def test_export_then_ingest_a_partial_out_of_order_results_file(tmp_path):
    with FakeBatchAPI(model) as srv:  # stands in only for the env; nothing is submitted
        args = ["--concepts", concepts(tmp_path), "--rounds", "1", "--batch-export"]
        r = refine(srv, tmp_path, *args)
        assert r.exit_code == 1 and "requests-000.jsonl" in r.output and "vdsl batch ingest" in r.output
        req0 = tmp_path / "batches" / "requests-000.jsonl"
        assert len(req0.read_text().splitlines()) == 2
        res = tmp_path / "results.jsonl"
        res.write_text(results_for(req0, model, skip=lambda b: "a blue box" in last_user(b)) + '{"not": "a result"}\n')
        ing = CliRunner().invoke(
            main, ["batch", "ingest", str(tmp_path / "batches"), str(res), "--cache-dir", str(tmp_path / "cache")]
        )
        assert ing.exit_code == 0 and "ingested 1 replies" in ing.output and "1 malformed" in ing.output
        r = refine(srv, tmp_path, *args, "--resume")
        assert r.exit_code == 1, r.output
        req1 = tmp_path / "batches" / "requests-001.jsonl"
        lines = req1.read_text().splitlines()
        # the missing reply is asked again, with the red ball's repair (its reply did not compile)
        assert len(lines) == 2
        res.write_text(results_for(req1, model))
        CliRunner().invoke(
            main, ["batch", "ingest", str(tmp_path / "batches"), str(res), "--cache-dir", str(tmp_path / "cache")]
        )
        r = refine(srv, tmp_path, *args, "--resume")
        assert r.exit_code == 0, r.output
        assert srv.calls == []
    rows = list(csv.DictReader((tmp_path / "runs" / "summary.csv").open()))
    assert [x["status"] for x in rows] == ["complete", "complete"]


def test_a_refused_request_fails_its_round_and_the_run_goes_on(tmp_path):
    def answer(body):
        return (400, "context length exceeded") if "a red ball" in last_user(body) else fenced(VALID)

    with FakeBatchAPI(answer) as srv:
        r = refine(srv, tmp_path, "--concepts", concepts(tmp_path), "--rounds", "1")
    assert r.exit_code == 1  # one concept has no program
    rows = {x["concept"]: x["status"] for x in csv.DictReader((tmp_path / "runs" / "summary.csv").open())}
    assert rows == {"a red ball": "no program", "a blue box": "complete"}
    ev = read_jsonl(tmp_path / "runs" / "a-red-ball" / "transcript.jsonl")
    assert any(e.get("event") == "error" and "context length exceeded" in e["error"] for e in ev)


def test_an_endpoint_without_the_batch_api_is_a_clear_usage_error(tmp_path):
    with FakeBatchAPI(model, batch_api=False) as srv:
        r = refine(srv, tmp_path, "--concepts", concepts(tmp_path), "--rounds", "1")
    assert r.exit_code == 2 and "has no Batch API" in r.output and "vllm run-batch" in r.output
    assert (tmp_path / "batches" / "requests-000.jsonl").exists()  # nothing lost: export and run it elsewhere


def test_a_crash_while_polling_resumes_by_polling_not_resubmitting(tmp_path, monkeypatch):
    calls = {"n": 0}

    def crash_once(_s):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt

    with FakeBatchAPI(model, polls=3) as srv:
        monkeypatch.setattr(batches.time, "sleep", crash_once)
        r = refine(srv, tmp_path, "--concepts", concepts(tmp_path), "--rounds", "1")
        assert r.exit_code == 130
        state = json.loads((tmp_path / "batches" / "batch.json").read_text())
        assert state["files"][0]["status"] == "submitted" and state["files"][0]["batch_id"] == "batch-0"
        monkeypatch.setattr(batches.time, "sleep", lambda s: None)
        r = refine(srv, tmp_path, "--concepts", concepts(tmp_path), "--rounds", "1", "--resume")
        assert r.exit_code == 0, r.output
        assert srv.calls.count("POST /v1/batches") == 2  # batch-0 polled to the end, then the repair's batch
        assert srv.calls.count("POST /v1/files") == 2


def test_batch_runs_need_the_cache(tmp_path):
    with FakeBatchAPI(model) as srv:
        r = refine(srv, tmp_path, "--concepts", concepts(tmp_path), "--no-cache")
    assert r.exit_code == 2 and "--no-cache" in r.output


def test_dataset_build_generates_its_programs_through_batches(tmp_path):
    (tmp_path / "c.txt").write_text("a red ball\na blue box\n")
    args = ["dataset", "build", "--concepts", str(tmp_path / "c.txt"), "--programs-per-concept", "2"]
    args += ["--variants", "1", "--size", "32", "--workers", "1", "-o", str(tmp_path / "ds")]
    args += ["--cache-dir", str(tmp_path / "cache"), "--llm-batch", str(tmp_path / "batches")]
    with FakeBatchAPI(model, polls=0) as srv:
        r = CliRunner().invoke(main, args, env=srv.env(), catch_exceptions=False)
        assert r.exit_code == 0, r.output
        assert [len(x) for x in srv.inputs] == [4, 2]  # 2 concepts x 2 programs, then the red ball's 2 repairs
        assert not [c for c in srv.calls if c.endswith("/chat/completions")]
    ds = tmp_path / "ds"
    assert sorted(p.name for p in (ds / "programs" / "a-red-ball").glob("*.vd")) == ["p000.vd", "p001.vd"]
    rows = [json.loads(x) for x in (ds / "metadata.jsonl").read_text().splitlines()]
    assert {x["model"] for x in rows} == {"fake-model"}
    fails = [json.loads(x) for x in (ds / "failures.jsonl").read_text().splitlines()]
    assert {f["reason"] for f in fails} == {"duplicate"}  # the scripted model draws one picture; no LLM failure
