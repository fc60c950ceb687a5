"""`vdsl checkup` end to end: two scripted models on local servers, the report's every section, bad input, resume; the report in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from fake_openai_server import BROKEN, VALID, FakeOpenAI, fenced, reply, status
from vdsl.checkup.run import CheckupConfig, ModelSpec, run_checkup
from vdsl.cli import main
from vdsl.errors import IncompleteRun

RECOGNIZE = "You read programs"  # the recognition system prompt's first words


def _choices(body: dict) -> list[tuple[str, str]]:
    user = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    return re.findall(r"^([A-Z])\) (.+)$", user, re.M)


def _concept(body: dict) -> str:
    first = [m for m in body["messages"] if m["role"] == "user"][0]["content"]
    return first.split("draws: ", 1)[1].strip()


def good_model(body: dict) -> dict:
    """Draws a circle that grows round after round; recognises the concept its own program's comment names."""
    msgs = body["messages"]
    if msgs[0]["content"].startswith(RECOGNIZE):
        opts = _choices(body)
        pick = max(opts, key=lambda o: (len(o[1]), o[0]))  # the longest name: a deterministic, imperfect rule
        return reply(f"{pick[0]}) {pick[1]}")
    k = sum(m["role"] == "assistant" for m in msgs)
    return reply(fenced(VALID.replace("r=20", f"r={8 + 12 * k}")), 120, 60)


def bad_model(body: dict) -> dict:
    """Never writes a program that compiles."""
    if body["messages"][0]["content"].startswith(RECOGNIZE):
        return reply("A")
    return reply(fenced(BROKEN), 100, 40)


def invoke(*args):
    return CliRunner().invoke(main, ["checkup", *args], catch_exceptions=False)


def base_args(tmp_path: Path, out: str = "ck") -> list[str]:
    return [
        "--tiers",
        "shapes,objects",
        "--concepts-per-tier",
        "2",
        "--samples",
        "2",
        "--rounds",
        "2",
        "--max-repairs",
        "1",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--backoff",
        "0",
        "--retries",
        "0",
        "--no-progress",
        "-o",
        str(tmp_path / out),
    ]


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """One offline check-up of a good and a bad model (each on its own endpoint), shared by the report tests."""
    tmp = tmp_path_factory.mktemp("checkup")
    with FakeOpenAI(default=good_model) as a, FakeOpenAI(default=bad_model) as b:
        r = invoke(
            "--model",
            "good-model",
            "--model",
            "bad-model",
            "--endpoint",
            a.base_url,
            "--endpoint",
            b.base_url,
            "--price",
            "1,2",
            *base_args(tmp),
        )
        requests = (list(a.requests), list(b.requests))
    return tmp / "ck", r, requests


def test_two_models_complete_and_every_section_is_there(two_models):
    out, r, (req_a, req_b) = two_models
    assert r.exit_code == 0, r.output
    for f in ("results.json", "leaderboard.md", "index.html", "checkup.json"):
        assert (out / f).is_file(), f
    for p in ("improvement.png", "compile_rate.png", "recognition.png"):
        data = (out / "plots" / p).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    res = json.loads((out / "results.json").read_text())
    assert set(res) >= {"config", "versions", "seeds", "tasks", "results", "items", "notes", "scorer", "stdlib"}
    assert res["versions"]["vdsl"] and res["stdlib"] == "none" and res["config"]["stdlib"] == "none"
    assert res["config"]["models"][0]["endpoint"] != res["config"]["models"][1]["endpoint"]
    assert "checkup_draw_shapes" in res["tasks"] and "checkup_recognize_objects" in res["tasks"]
    # 2 models x 2 tiers x 2 concepts x 2 samples, each with its per-round scores
    assert len(res["items"]) == 16 and all(len(i["rounds"]) == 2 for i in res["items"])
    good = res["results"]["good-model"]["shapes"]
    bad = res["results"]["bad-model"]["shapes"]
    assert good["first_try"]["k"] == 4 and good["rounds_compiled"]["k"] == 8
    assert bad["first_try"]["k"] == 0 and bad["compiled_any"]["k"] == 0 and bad["repairs"]["value"] == 2.0
    assert good["first_try"]["low"] < 1.0 == good["first_try"]["high"]  # a Wilson interval, not a point
    # recognition of the model's own drawings: 4 questions per tier, chance 1/5, answer positions counted
    assert good["recognition"]["n"] == 4 and abs(good["recognition"]["chance"] - 0.2) < 1e-9
    assert sum(good["answer_positions"].values()) == 4
    assert bad["recognition"]["n"] == 0  # nothing compiled, nothing asked
    assert not any(RECOGNIZE in b["messages"][0]["content"] for b in req_b)
    # tokens and cost from the price table (1 and 2 per 1M tokens)
    assert good["prompt_tokens"] > 0 and good["cost"] == pytest.approx(
        (good["prompt_tokens"] * 1 + good["completion_tokens"] * 2) / 1e6
    )
    md = (out / "leaderboard.md").read_text()
    assert "| good-model | shapes | 4 |" in md and "| bad-model | objects | 4 |" in md
    assert "model bad-model: no program compiled in any round" in md
    assert "scorer pixel: no fidelity scores" in md and "Stdlib: `none`" in md
    assert "answers by letter position" in md
    # the prompt the models saw offered no stdlib module
    sys_prompt = next(b for b in req_a if not b["messages"][0]["content"].startswith(RECOGNIZE))["messages"][0]
    assert "### use living" not in sys_prompt["content"] and "Not available in this setting" in sys_prompt["content"]


def test_rerun_needs_resume_and_resume_asks_nothing_new(two_models, tmp_path):
    out, _, _ = two_models
    work = tmp_path / "copy"
    shutil.copytree(out, work / "ck")
    shutil.copytree(out.parent / "cache", work / "cache")
    with FakeOpenAI(default=good_model) as a, FakeOpenAI(default=bad_model) as b:
        models = ["--model", "good-model", "--model", "bad-model", "--endpoint", a.base_url, "--endpoint", b.base_url]
        r = invoke(*models, "--price", "1,2", *base_args(work))
        assert r.exit_code == 2 and "--resume" in r.output
        r = invoke(*models, "--price", "1,2", *base_args(work), "--resume")
        assert r.exit_code == 0, r.output
        assert a.count == 0 and b.count == 0  # every run finished, every answer journaled
        r = invoke(*models, *base_args(work), "--resume", "--rounds", "3")
        assert r.exit_code == 2 and "rounds" in r.output and "other settings" in r.output


def test_report_renders_in_headless_chromium(two_models, tmp_path):
    out, _, _ = two_models
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    url = (out / "index.html").resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        shot = tmp_path / "shot.png"
        subprocess.run(
            [exe, *flags, f"--user-data-dir={profile}", "--window-size=1200,1400", f"--screenshot={shot}", url],
            capture_output=True,
            timeout=120,
        )
        dom = subprocess.run(
            [exe, *flags, f"--user-data-dir={profile}", "--dump-dom", url], capture_output=True, timeout=120, text=True
        ).stdout
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1200, 1400)
        colours = im.convert("RGB").getcolors(1_000_000)
    assert colours is not None and len(colours) > 50  # text, tables, plots and renders: not a blank page
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom)
    assert loaded, dom[:500]
    n_ok, n_all = map(int, loaded.groups())
    # 3 plots + the good model's 8 renders (2 tiers x 2 concepts x 2 samples); the bad model has none
    assert n_all == 11 and n_ok == n_all
    assert "good-model" in dom and "no program compiled" in dom


@dataclass
class RedScorer:
    """A hand-made scorer: a render counts as recognised (rank 1) when red covers over a quarter of it."""

    name: str = "red-share"
    label: str = "test scorer: rank 1 when red covers > 25 % of the render"

    def fidelity(self, images, truths, candidates):
        from vdsl.checkup.scorers import Fidelity

        import numpy as np

        out = []
        for im, t in zip(images, truths):
            px = np.asarray(im.convert("RGB").resize((32, 32))).reshape(-1, 3).astype(int)
            share = float(((px[:, 0] > 200) & (px[:, 1] < 80) & (px[:, 2] < 80)).mean())
            other = next(c for c in candidates if c != t)
            out.append(Fidelity(1, t, share) if share > 0.25 else Fidelity(2, other, share))
        return out

    def diversity(self, images):
        return 0.5 if len(images) >= 2 else None


def test_fidelity_improvement_and_diversity_reach_the_report(tmp_path, monkeypatch):
    """The circle grows (r 8 -> 20): round 0 is under a quarter red, round 1 over, so top-1 goes 0 -> 1."""
    cfg = CheckupConfig(
        models=[ModelSpec("good-model")],
        tiers=["shapes"],
        concepts_per_tier=3,
        samples=2,
        rounds=2,
        max_repairs=0,
        scorer="red-share",
    )
    with FakeOpenAI(default=good_model) as a:
        monkeypatch.setenv("OPENAI_BASE_URL", a.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        llm = {"cache_dir": str(tmp_path / "cache"), "backoff": 0, "concurrency": 2}
        res = run_checkup(cfg, tmp_path / "ck", llm, progress=False, scorer=RedScorer())
    c = res["results"]["good-model"]["shapes"]
    assert c["fidelity"][0]["top1"]["k"] == 0 and c["fidelity"][1]["top1"]["k"] == 6
    assert c["improvement_top1"]["value"] == 1.0 and c["improvement_top1"]["n"] == 6
    assert c["fidelity"][1]["score"]["value"] > c["fidelity"][0]["score"]["value"]
    assert c["diversity"]["value"] == 0.5 and c["diversity"]["n"] == 3
    md = (tmp_path / "ck" / "leaderboard.md").read_text()
    assert "| good-model | shapes | 6 |" in md and "0% [0–39] (0/6)" in md and "100% [61–100] (6/6)" in md
    assert "no fidelity scores" not in md


def test_endpoint_failing_midway_is_a_report_line_and_resume_finishes(tmp_path):
    served = {"n": 0}

    def flaky(body):
        served["n"] += 1
        return good_model(body) if served["n"] <= 3 else status(500, message="the server fell over")

    with FakeOpenAI(default=flaky) as a, FakeOpenAI(default=good_model) as b:
        models = ["--model", "flaky", "--model", "steady", "--endpoint", a.base_url, "--endpoint", b.base_url]
        r = invoke(*models, *base_args(tmp_path))
        assert r.exit_code == 1, r.output
        assert "flaky: endpoint failed" in r.output and "--resume" in r.output and "Traceback" not in r.output
        md = (tmp_path / "ck" / "leaderboard.md").read_text()
        assert "model flaky: endpoint failed" in md and "items unfinished" in md
        res = json.loads((tmp_path / "ck" / "results.json").read_text())
        assert res["models"]["flaky"]["status"] == "endpoint failed" and res["models"]["steady"]["status"] == "ok"
        assert res["results"]["steady"]["objects"]["rounds_compiled"]["k"] == 8  # the other model finished
        a.default = good_model  # the server is back
        r = invoke(*models, *base_args(tmp_path), "--resume")
        assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "ck" / "results.json").read_text())
    assert res["models"]["flaky"]["status"] == "ok"
    assert res["results"]["flaky"]["shapes"]["rounds_compiled"]["k"] == 8
    assert not any("endpoint failed" in n or "unfinished" in n for n in res["notes"])


def test_scorer_without_weights_is_a_clear_error_and_nothing_is_asked(tmp_path):
    with FakeOpenAI(default=good_model) as a:
        r = invoke(
            "--model",
            "m",
            "--endpoint",
            a.base_url,
            "--scorer",
            "clip:ViT-B-32:/nowhere/weights.pt",
            *base_args(tmp_path),
        )
        assert r.exit_code == 2 and "/nowhere/weights.pt" in r.output and "Traceback" not in r.output
        assert a.count == 0 and not (tmp_path / "ck").exists()


def test_no_endpoint_is_exit_2_and_writes_nothing(tmp_path):
    env = {"OPENAI_BASE_URL": None, "OPENAI_API_KEY": None}
    r = CliRunner().invoke(main, ["checkup", "--model", "m", *base_args(tmp_path)], env=env)
    assert r.exit_code == 2 and "OPENAI_BASE_URL" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "ck").exists()


def test_empty_tier_is_a_report_line_and_only_empty_tiers_an_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# no concepts here\n")
    with FakeOpenAI(default=good_model) as a:
        args = base_args(tmp_path)
        args[args.index("--tiers") + 1] = f"shapes,{empty}"
        r = invoke("--model", "m", "--endpoint", a.base_url, *args)
        assert r.exit_code == 0, r.output
        assert "tier empty: no concepts (empty tier) — skipped" in (tmp_path / "ck" / "leaderboard.md").read_text()
        args = base_args(tmp_path, "ck2")
        args[args.index("--tiers") + 1] = str(empty)
        r = invoke("--model", "m", "--endpoint", a.base_url, *args)
        assert r.exit_code == 2 and "no concepts" in r.output
        r = invoke("--model", "m", "--endpoint", a.base_url, *base_args(tmp_path, "ck3"), "--tiers", "planets")
        assert r.exit_code == 2 and "planets" in r.output and "Traceback" not in r.output


def test_stdlib_rounds_are_flagged_with_stdlib_all(tmp_path):
    """With --stdlib all a model may call bird(); the report counts and lists those rounds."""
    prog = "use living\ncanvas(width=64, height=64)\nbird(center=(32, 32), size=40)\n"

    def stdlib_model(body):
        if body["messages"][0]["content"].startswith(RECOGNIZE):
            return reply("A")
        return reply(fenced(prog))

    with FakeOpenAI(default=stdlib_model) as a:
        args = base_args(tmp_path)
        args[args.index("--tiers") + 1] = "objects"
        r = invoke("--model", "m", "--endpoint", a.base_url, "--stdlib", "all", *args)
        assert r.exit_code == 0, r.output
        res = json.loads((tmp_path / "ck" / "results.json").read_text())
        assert res["results"]["m"]["objects"]["stdlib_rounds"] == 8
        assert res["items"][0]["rounds"][0]["stdlib_components"] == ["bird"]
        assert "8 round(s) called stdlib components" in (tmp_path / "ck" / "leaderboard.md").read_text()
        # the same model under the default (none): every round is refused with E219 and a hint
        args = base_args(tmp_path, "ck-none")
        args[args.index("--tiers") + 1] = "objects"
        r = invoke("--model", "m", "--endpoint", a.base_url, *args)
        assert r.exit_code == 0, r.output
        res = json.loads((tmp_path / "ck-none" / "results.json").read_text())
        assert res["results"]["m"]["objects"]["compiled_any"]["k"] == 0
        repairs = [b for b in a.requests if "E219" in json.dumps(b["messages"][-1])]
        assert repairs and "not allowed here" in json.dumps(repairs[0]["messages"][-1])


def test_run_checkup_raises_incomplete_run_for_an_unreachable_endpoint(tmp_path):
    cfg = CheckupConfig(
        models=[ModelSpec("gone", "http://127.0.0.1:9/v1")], tiers=["shapes"], concepts_per_tier=1, samples=1, rounds=1
    )
    llm = {"cache_dir": None, "no_cache": True, "retries": 0, "backoff": 0, "timeout": 5}
    with pytest.raises(IncompleteRun) as e:
        run_checkup(cfg, tmp_path / "ck", llm, progress=False)
    assert "gone: endpoint failed" in str(e.value)
    assert "model gone: endpoint failed" in (tmp_path / "ck" / "leaderboard.md").read_text()


def concept_colour(concept: str) -> str:
    import hashlib

    return "#" + hashlib.sha256(concept.encode()).hexdigest()[:6]


def colour_model(body: dict) -> dict:
    """Round 0 in grey; from round 1 on, in the colour its concept hashes to (which the scripted judge reads)."""
    if body["messages"][0]["content"].startswith(RECOGNIZE):
        return reply("A")
    k = sum(m["role"] == "assistant" for m in body["messages"])
    fill = "gray" if k == 0 else concept_colour(_concept(body))
    return reply(fenced(f"canvas(width=64, height=64, background=white)\nrect(x=0, y=0, w=64, h=64, fill={fill})\n"))


def colour_judge(body: dict) -> dict:
    """Names the candidate whose colour the render's centre has (none when it matches no candidate)."""
    import base64
    import io

    from PIL import Image

    parts = body["messages"][-1]["content"]
    url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    text = next(p["text"] for p in parts if p["type"] == "text")
    cands = re.findall(r"^- (.+)$", text, re.M)
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as im:
        r, g, b = im.convert("RGB").getpixel((im.width // 2, im.height // 2))
    for c in cands:
        h = concept_colour(c)
        if all(abs(int(h[1 + 2 * i : 3 + 2 * i], 16) - v) <= 2 for i, v in enumerate((r, g, b))):
            return reply(c)
    return reply("I cannot tell")


def test_judge_scorer_through_the_command_measures_improvement(tmp_path):
    with FakeOpenAI(default=colour_model) as a, FakeOpenAI(default=colour_judge) as judge:
        args = base_args(tmp_path)
        args[args.index("--tiers") + 1] = "objects"
        r = invoke(
            "--model",
            "painter",
            "--endpoint",
            a.base_url,
            "--scorer",
            "judge:fake-vlm",
            "--judge-endpoint",
            judge.base_url,
            *args,
        )
        assert r.exit_code == 0, r.output
        # 2 concepts x 2 samples x 2 rounds; the judge's cache answers a repeated render (same image, same
        # candidates' order) unless the two requests were in flight at once
        assert 4 <= judge.count <= 8
    res = json.loads((tmp_path / "ck" / "results.json").read_text())
    assert res["scorer"]["name"] == "judge:fake-vlm" and len(res["scorer"]["replies"]) == 8
    c = res["results"]["painter"]["objects"]
    assert c["fidelity"][0]["top1"]["k"] == 0 and c["fidelity"][1]["top1"]["k"] == 4
    assert c["improvement_top1"]["value"] == 1.0
    item = res["items"][0]
    assert item["rounds"][1]["rank"] == 1 and item["rounds"][1]["chosen"] == item["concept"]
    assert item["rounds"][0]["rank"] == 2
    md = (tmp_path / "ck" / "leaderboard.md").read_text()
    assert "| painter | objects | 4 |" in md and "(0/4)" in md and "(4/4)" in md


def test_ctrl_c_leaves_a_report_and_resume_finishes(tmp_path):
    import os
    import signal
    import sys
    import time

    from fake_openai_server import sleep

    with FakeOpenAI(default=lambda body: sleep(0.3, good_model(body))) as a:
        cmd = [
            sys.executable,
            "-m",
            "vdsl.cli",
            "checkup",
            "--model",
            "m",
            "--endpoint",
            a.base_url,
            *base_args(tmp_path),
        ]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "OPENAI_API_KEY": "k"}
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list((tmp_path / "ck").glob("runs/*/*/*/*/round_0.png")):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "--resume" in err
        md = (tmp_path / "ck" / "leaderboard.md").read_text()
        assert "model m: stopped by Ctrl-C" in md and "items unfinished" in md
        r = invoke("--model", "m", "--endpoint", a.base_url, *base_args(tmp_path), "--resume")
        assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "ck" / "results.json").read_text())
    assert res["models"]["m"]["status"] == "ok"
    assert all(res["results"]["m"][t]["rounds_compiled"]["k"] == 8 for t in ("shapes", "objects"))
    assert sum(res["results"]["m"][t]["recognition"]["n"] for t in ("shapes", "objects")) == 8


def test_clip_scorer_plumbing_through_the_check_up(tmp_path, monkeypatch):
    """open_clip's own code path on a tiny random model (no weights here): CLIP scores, ranks among the
    candidates and embedding diversity reach results.json (the values are meaningless, the plumbing is not)."""
    pytest.importorskip("open_clip")
    import torch

    from test_checkup_scorers import TINY
    from vdsl.checkup.scorers import make_scorer

    (tmp_path / "vdsl-tiny-clip.json").write_text(json.dumps(TINY))
    torch.manual_seed(0)
    scorer = make_scorer("clip:vdsl-tiny-clip", model_config=tmp_path / "vdsl-tiny-clip.json", random_weights=True)
    cfg = CheckupConfig(
        models=[ModelSpec("painter")], tiers=["objects"], concepts_per_tier=2, samples=2, rounds=2, candidates=5
    )
    with FakeOpenAI(default=colour_model) as a:
        monkeypatch.setenv("OPENAI_BASE_URL", a.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        res = run_checkup(
            cfg, tmp_path / "ck", {"cache_dir": str(tmp_path / "cache"), "backoff": 0}, progress=False, scorer=scorer
        )
    assert res["scorer"]["name"] == "clip:vdsl-tiny-clip:random"
    assert len(res["candidates"]["objects"]) == 5
    rounds = [r for i in res["items"] for r in i["rounds"]]
    assert len(rounds) == 8 and all(1 <= r["rank"] <= 5 and r["score"] is not None for r in rounds)
    c = res["results"]["painter"]["objects"]
    assert c["fidelity"][0]["top1"]["n"] == 4 and c["fidelity"][0]["score"]["n"] == 4
    assert c["diversity"]["n"] == 2 and c["diversity"]["value"] >= 0


def test_endpoint_failing_during_recognition_is_reported_and_resumed(tmp_path):
    down = {"recognition": True}

    def model(body):
        if body["messages"][0]["content"].startswith(RECOGNIZE) and down["recognition"]:
            return status(503, message="recognition is down")
        return good_model(body)

    with FakeOpenAI(default=model) as a:
        args = ["--model", "m", "--endpoint", a.base_url, *base_args(tmp_path)]
        r = invoke(*args)
        assert r.exit_code == 1 and "recognition stopped" in r.output and "Traceback" not in r.output
        res = json.loads((tmp_path / "ck" / "results.json").read_text())
        assert res["results"]["m"]["shapes"]["rounds_compiled"]["k"] == 8  # the drawings are all there
        assert res["results"]["m"]["shapes"]["recognition"]["n"] == 0
        down["recognition"] = False
        r = invoke(*args, "--resume")
        assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "ck" / "results.json").read_text())
    assert res["results"]["m"]["shapes"]["recognition"]["n"] == 4 and res["models"]["m"]["status"] == "ok"


def test_ctrl_c_during_recognition_stops_it_and_resume_asks_the_rest(tmp_path):
    import os
    import signal
    import sys
    import time

    from fake_openai_server import sleep

    def slow_recognition(body):
        if body["messages"][0]["content"].startswith(RECOGNIZE):
            return sleep(1.0, good_model(body))
        return good_model(body)

    with FakeOpenAI(default=slow_recognition) as a:
        args = ["--model", "m", "--endpoint", a.base_url, *base_args(tmp_path), "--concurrency", "1"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "vdsl.cli", "checkup", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OPENAI_API_KEY": "k"},
        )
        journal = tmp_path / "ck" / "runs" / "m" / "recognition.jsonl"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (journal.is_file() and journal.read_text().count("\n") >= 1):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        answered = journal.read_text().count("\n")
        assert 1 <= answered < 8  # stopped part-way through the 8 questions
        res = json.loads((tmp_path / "ck" / "results.json").read_text())
        assert sum(res["results"]["m"][t]["recognition"]["n"] for t in ("shapes", "objects")) == answered
        before = a.count
        r = invoke(*args, "--resume")
        assert r.exit_code == 0, r.output
        assert a.count - before == 8 - answered  # only the unanswered questions are asked
