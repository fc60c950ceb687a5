"""`vdsl recognize`: the program only (never the image), robust answer parsing, and the seeded accuracy test over a folder."""

from __future__ import annotations

import json
import re

import pytest
from pathlib import Path

from click.testing import CliRunner
from scipy.stats import binomtest

from fake_openai_server import FakeOpenAI, reply
from vdsl.cli import main
from vdsl.llm.recognize import choices_for

SCENE = """// concept: lake
// tier: scenes
// A calm lake at dusk
canvas(width=64, height=64, background=#ffcc99)
/* the water */
rect(x=0, y=40, w=64, h=24, fill=steelblue)   // water
text("http://not-a-comment", at=(2, 10), size=6)
"""


def run(srv, tmp_path, *args, env=None):
    return CliRunner().invoke(
        main,
        ["recognize", "--cache-dir", str(tmp_path / "cache"), *args],
        env={**(srv.env() if srv else {}), **(env or {})},
        catch_exceptions=False,
    )


def user_text(body) -> str:
    return body["messages"][-1]["content"]


def test_recognize_one_program_shows_the_code_only(tmp_path):
    f = tmp_path / "scene.vd"
    f.write_text(SCENE)
    with FakeOpenAI([reply("Looking at the blue band at the bottom, the answer is **B) lake**.")]) as srv:
        r = run(srv, tmp_path, str(f), "--choices", "sky, lake,terrace,traffic light,sandy beach")
    assert r.exit_code == 0, r.output
    assert r.output.strip() == "lake"
    assert srv.count == 1
    body = srv.requests[0]
    text = user_text(body)
    assert all(isinstance(m["content"], str) for m in body["messages"])  # no image anywhere
    assert "rect(x=0, y=40, w=64, h=24, fill=steelblue)" in text
    assert "// concept" not in text and "tier:" not in text and "calm lake" not in text  # no leaks
    assert "// water" not in text and "the water" not in text
    assert "http://not-a-comment" not in text and 'text("s1"' in text  # free text anonymised by default
    assert "A) sky\nB) lake\nC) terrace\nD) traffic light\nE) sandy beach" in text
    assert "`<letter>) <name>`" in text and text.count("A)") == 1  # the format primes no position
    with FakeOpenAI([reply("B) lake")]) as srv:
        r = run(srv, tmp_path, str(f), "--choices", "sky,lake", "--no-anonymize", "--no-cache")
    assert r.exit_code == 0 and '"http://not-a-comment"' in user_text(srv.requests[0])  # strings kept whole


def test_answers_by_number_or_name(tmp_path):
    f = tmp_path / "scene.vd"
    f.write_text(SCENE)
    for answer, expected in (("3", "terrace"), ("I am fairly sure it shows a Sandy Beach.", "sandy beach")):
        with FakeOpenAI([reply(answer)]) as srv:
            r = run(srv, tmp_path, str(f), "--choices", "sky,lake,terrace,traffic light,sandy beach", "--no-cache")
        assert r.exit_code == 0 and r.output.strip() == expected


def test_an_answer_naming_no_choice_exits_1(tmp_path):
    f = tmp_path / "scene.vd"
    f.write_text(SCENE)
    with FakeOpenAI([reply("It is hard to say.")]) as srv:
        r = run(srv, tmp_path, str(f), "--choices", "sky,lake")
    assert r.exit_code == 1 and "It is hard to say." in r.output


def test_usage_and_endpoint_errors(tmp_path):
    f = tmp_path / "scene.vd"
    f.write_text(SCENE)
    r = run(
        None,
        tmp_path,
        str(f),
        "--choices",
        "sky,lake",
        env={"OPENAI_BASE_URL": None, "OPENAI_API_KEY": None, "VDSL_MODEL": None},
    )
    assert r.exit_code == 2 and "OPENAI_BASE_URL" in r.output
    with FakeOpenAI() as srv:
        assert run(srv, tmp_path, str(f), "--choices", "sky").exit_code == 2
        assert run(srv, tmp_path).exit_code == 2
        assert srv.count == 0


CONCEPTS = ["cat", "dog", "boat", "tree", "house", "car"]


def make_programs(root: Path) -> None:
    for i, c in enumerate(CONCEPTS):
        sub = root / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{c}.vd").write_text(
            f"// concept: {c}\ncanvas(width=32, height=32)\ncircle(center=(16, 16), r={10 + i})\n"
        )
    (root / "unlabelled.vd").write_text("circle(center=(1, 1), r=1)\n")


def oracle(right: set[str]):
    """Answers correctly (by letter) for programs of the concepts in `right`, else picks a wrong choice by name."""

    def answer(body):
        text = user_text(body)
        r = int(re.search(r"r=(\d+)", text).group(1))
        truth = CONCEPTS[r - 10]
        opts = re.findall(r"^([A-Z])\) (.+)$", text, re.M)
        if truth in right:
            return reply(f"Answer: {next(l for l, c in opts if c == truth)}")
        return reply(f"It draws a {next(c for l, c in opts if c != truth)}.")

    return answer


def test_accuracy_over_a_folder_with_seeded_distractors(tmp_path):
    progs = tmp_path / "progs"
    make_programs(progs)
    with FakeOpenAI(default=oracle({"cat", "dog", "boat", "tree"})) as srv:
        r = run(
            srv,
            tmp_path,
            "--programs",
            str(progs),
            "--distractors",
            "3",
            "--seed",
            "7",
            "--results",
            str(tmp_path / "res.jsonl"),
        )
        assert r.exit_code == 0, r.output
        assert srv.count == 6
        lo, hi = binomtest(4, 6).proportion_ci(method="wilson")
        assert f"accuracy: 4/6 = 66.7% (95% CI {100 * lo:.1f}-{100 * hi:.1f}%; chance 25.0%)" in r.output
        assert "[6/6]" in r.output  # progress
        assert "1 file(s) without a concept header skipped" in r.output
        lines = [json.loads(l) for l in (tmp_path / "res.jsonl").read_text().splitlines()]
        assert len(lines) == 6 and sum(l["correct"] for l in lines) == 4
        for l in lines:
            assert len(l["choices"]) == 4 and l["concept"] in l["choices"]
            assert len(set(l["choices"])) == 4 and set(l["choices"]) <= set(CONCEPTS)
        first = [b["messages"] for b in srv.requests]
        # the same seed gives the same questions: all from the cache now
        refused = run(srv, tmp_path, "--programs", str(progs), "--results", str(tmp_path / "res.jsonl"))
        assert refused.exit_code == 2 and "exists: pass --resume" in refused.output
        again = run(srv, tmp_path, "--programs", str(progs), "--distractors", "3", "--seed", "7")
        assert again.exit_code == 0 and srv.count == 6 and "accuracy: 4/6" in again.output
        # another seed draws other distractors or another order
        run(srv, tmp_path, "--programs", str(progs), "--distractors", "3", "--seed", "8", "--no-cache")
        assert [b["messages"] for b in srv.requests[6:]] != first


def test_choices_are_seeded_per_program():
    pool = ["a", "b", "c", "d", "e", "f"]
    x = choices_for("x.vd", "a", pool, 3, seed=1)
    assert x == choices_for("x.vd", "a", pool, 3, seed=1)
    assert "a" in x and len(x) == 4 and len(set(x)) == 4
    assert choices_for("x.vd", "a", ["a", "b"], 4, seed=1) in (["a", "b"], ["b", "a"])  # as many as exist


# ------------------------------------------------------------------ answers: letter and name must agree
from vdsl.llm.recognize import (  # noqa: E402
    Item,
    read_answer,
    recognize_drawings,
    recognize_items,
    RecognitionStopped,
    summarize,
    wilson,
)


@pytest.mark.parametrize(
    "reply_text, expected, flagged",
    [
        ("B) lake", 1, False),
        ("B", 1, False),
        ("lake", 1, False),
        ("**B) Lake**", 1, False),
        ("A) lake", None, True),  # the letter says sky, the name says lake: flagged, not scored by the letter
        ("The answer is C) sky", None, True),
        ("B) lake, not sky", 1, False),  # two names: the letter decides
        ("2", 1, False),
        ("no idea", None, False),
    ],
)
def test_read_answer(reply_text, expected, flagged):
    index, _, _, flag = read_answer(reply_text, ["sky", "lake", "terrace"])
    assert index == expected and (flag is not None) == flagged


def test_wilson_matches_scipy():
    for k, n in ((0, 5), (4, 6), (17, 40), (40, 40)):
        lo, hi = binomtest(k, n).proportion_ci(method="wilson")
        assert wilson(k, n) == (pytest.approx(lo), pytest.approx(hi))
    assert wilson(0, 0) == (0.0, 1.0)


def test_a_disagreeing_reply_is_flagged_in_the_folder_summary(tmp_path):
    progs = tmp_path / "progs"
    make_programs(progs)

    def contradict(body):  # names the truth but with another choice's letter
        text = user_text(body)
        truth = CONCEPTS[int(re.search(r"r=(\d+)", text).group(1)) - 10]
        opts = re.findall(r"^([A-Z])\) (.+)$", text, re.M)
        return reply(f"{next(l for l, c in opts if c != truth)}) {truth}")

    with FakeOpenAI(default=contradict) as srv:
        r = run(srv, tmp_path, "--programs", str(progs), "--summary", str(tmp_path / "s.json"))
    assert r.exit_code == 0, r.output
    assert "accuracy: 0/6" in r.output and "6 flagged (letter and name disagree, counted wrong)" in r.output
    assert r.output.count("flag ") >= 6
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["flagged"] == 6 and s["correct"] == 0 and s["answers_by_letter"] == {}


# ------------------------------------------------------------------ distractors: same tier, the whole pool
def make_tiered(root: Path) -> dict[str, list[str]]:
    tiers = {"objects": ["cat", "dog", "boat", "tree", "car"], "scenes": ["lake", "beach", "forest", "street", "farm"]}
    for tier, names in tiers.items():
        for i, c in enumerate(names):
            (root / tier).mkdir(parents=True, exist_ok=True)
            (root / tier / f"{c}.vd").write_text(
                f"// concept: {c}\n// tier: {tier}\ncanvas(width=32, height=32)\n"
                f'def {c}_part(size) {{\n  circle(center=(16, 16), r=size, label="{c} body")\n}}\n'
                f"let {c}_size = {3 + i}\n{c}_part(size={c}_size)\n"
            )
    return tiers


def test_distractors_come_from_the_same_tier_and_the_whole_pool(tmp_path):
    progs = tmp_path / "progs"
    tiers = make_tiered(progs)
    seen: dict[str, set[str]] = {"objects": set(), "scenes": set()}
    for seed in range(6):
        with FakeOpenAI(default=lambda body: reply("A")) as srv:
            r = run(srv, tmp_path, "--programs", str(progs), "--limit", "2", "--seed", str(seed), "--no-cache")
            assert r.exit_code == 0, r.output
            assert srv.count == 2  # --limit 2: one program of each tier (stratified) ...
            assert "distractors: 4 per program" in r.output and "objects 5, scenes 5" in r.output
            for body in srv.requests:
                opts = {c for _, c in re.findall(r"^([A-Z])\) (.+)$", user_text(body), re.M)}
                tier = "objects" if opts <= set(tiers["objects"]) else "scenes"
                assert opts <= set(tiers[tier]) and len(opts) == 5  # ... with distractors of its own tier
                seen[tier] |= opts
    # ... drawn from every program of the tier, not only the ones --limit kept
    assert seen == {t: set(v) for t, v in tiers.items()}


def test_the_shown_program_is_anonymised_and_draws_the_same(tmp_path):
    from vdsl.api import compile as compile_program, render
    from vdsl.llm.recognize import shown_source

    progs = tmp_path / "progs"
    make_tiered(progs)
    src = (progs / "objects" / "cat.vd").read_text()
    shown = shown_source(src, anonymize=True)
    for leak in ("cat", "body", "size", "label"):
        assert leak not in shown
    assert "def part1(v1)" in shown and "part1(v1=v2)" in shown
    assert (render(shown, seed=3) == render(src, seed=3)).all()
    # the corpus: every example still compiles once anonymised, and draws the same picture
    examples = sorted((Path(__file__).parent.parent / "examples").glob("*.vd"))
    assert len(examples) > 50
    compared = 0
    for i, p in enumerate(examples):
        text = p.read_text()
        anon = shown_source(text, anonymize=True)
        assert compile_program(anon).ok, p.name
        assert "// concept" not in anon and "label=" not in anon
        if i % 20 == 0 and "text(" not in text:  # (text() shows free text: anonymised, so drawn otherwise)
            assert (render(anon, seed=1, size=(96, 96)) == render(text, seed=1, size=(96, 96))).all(), p.name
            compared += 1
    assert compared >= 3


# ------------------------------------------------------------------ failures keep what was answered
def test_partial_results_survive_a_failure_and_resume_asks_the_rest(tmp_path):
    from fake_openai_server import status

    progs = tmp_path / "progs"
    make_programs(progs)
    res = tmp_path / "res.jsonl"
    with FakeOpenAI([reply("A"), reply("B"), reply("C")], default=status(503)) as srv:
        r = run(srv, tmp_path, "--programs", str(progs), "--results", str(res), "--retries", "0", "--concurrency", "1")
    assert r.exit_code == 1, r.output
    assert "stopped after 3 of 6 programs" in r.output and "rerun with --resume" in r.output
    assert "accuracy: " in r.output and "Traceback" not in r.output
    kept = [json.loads(l) for l in res.read_text().splitlines()]
    assert len(kept) == 3
    with res.open("a") as f:
        f.write('{"file": "b/cat.vd", "concept": "ca')  # a line cut by a crash: ignored, then dropped
    with FakeOpenAI(default=oracle(set(CONCEPTS))) as srv:
        r = run(srv, tmp_path, "--programs", str(progs), "--results", str(res), "--resume", "--seed", "5")
        assert r.exit_code == 2 and "holds answers to other questions" in r.output and srv.count == 0
        r = run(srv, tmp_path, "--programs", str(progs), "--results", str(res), "--resume", "--no-cache")
        assert r.exit_code == 0, r.output
        assert srv.count == 3  # only the rest
    lines = [json.loads(l) for l in res.read_text().splitlines()]
    assert len(lines) == 6 and len({l["file"] for l in lines}) == 6 and "/6 = " in r.output


def test_deadline_stops_the_run_with_a_clear_message(tmp_path):
    from fake_openai_server import sleep

    progs = tmp_path / "progs"
    make_programs(progs)
    with FakeOpenAI(default=sleep(30)) as srv:
        r = run(srv, tmp_path, "--programs", str(progs), "--deadline", "0.5", "--results", str(tmp_path / "r.jsonl"))
    assert r.exit_code == 1 and "deadline" in r.output and "Traceback" not in r.output


# ------------------------------------------------------------------ the model's own drawings
def test_recognize_drawings_for_the_checkup():
    from vdsl.concepts import load_concepts

    drawings = [
        ("canvas(width=32, height=32)\ncircle(center=(16, 16), r=9)\n", "cat", "objects"),
        ("canvas(width=32, height=32)\nrect(x=0, y=20, w=32, h=12, fill=blue)\n", "lake", "scenes"),
    ]
    objects = {c.name for c in load_concepts("objects")}
    scenes = {c.name for c in load_concepts("scenes")}
    with FakeOpenAI(default=lambda body: reply("C")) as srv:
        from vdsl.llm.client import LLMClient
        from vdsl.llm.config import LLMConfig

        client = LLMClient(LLMConfig(model="m", base_url=srv.base_url))
        ticks: list[int] = []
        scored = recognize_drawings(client, drawings, seed=1, progress=lambda d, t, s: ticks.append(d))
        client.close()
    assert [s.file for s in scored] == ["objects/cat/#0", "scenes/lake/#1"] and sorted(ticks) == [1, 2]
    assert set(scored[0].choices) <= objects | {"cat"} and set(scored[1].choices) <= scenes | {"lake"}
    assert all(len(s.choices) == 5 for s in scored)
    summary = summarize(scored)
    assert set(summary["by_tier"]) == {"objects", "scenes"} and summary["answers_by_letter"] == {"C": 2}
    assert summary["chance"] == pytest.approx(0.2)


def test_recognize_runs_uses_each_runs_last_working_round(tmp_path):
    runs = tmp_path / "runs"
    for concept, r in (("cat", 9), ("lake", 12), ("nothing", 0)):
        d = runs / concept
        d.mkdir(parents=True)
        (d / "transcript.jsonl").write_text(json.dumps({"event": "start", "concept": concept}) + "\n")
        if r:
            (d / "round_0.vd").write_text("canvas(width=32, height=32)\n")
            (d / "round_1.vd").write_text(f"canvas(width=32, height=32)\ncircle(center=(16, 16), r={r})\n")
    with FakeOpenAI(default=lambda body: reply("B")) as srv:
        r = run(srv, tmp_path, "--runs", str(runs))
        assert r.exit_code == 0, r.output
        assert srv.count == 2 and all("r=" in user_text(b) for b in srv.requests)
    assert "cat/round_1.vd" in r.output and "1 run(s) without a concept or a working round skipped" in r.output
    assert "objects" in r.output  # tier looked up in the shipped lists: distractors from the whole tier


def test_stopped_runs_raise_with_what_finished():
    class Down:
        class config:
            concurrency = 1

        def complete(self, *a, **k):
            from vdsl.llm.client import LLMError

            raise LLMError("down for good")

    items = [Item("a", "canvas(width=8, height=8)\n", "cat"), Item("b", "canvas(width=8, height=8)\n", "dog")]
    with pytest.raises(RecognitionStopped) as e:
        recognize_items(Down(), items)
    assert e.value.scored == [] and "down for good" in str(e.value.cause)


def test_ctrl_c_keeps_the_answers_so_far(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import threading

    from fake_openai_server import sleep

    progs = tmp_path / "progs"
    make_programs(progs)
    res = tmp_path / "res.jsonl"
    arrived = threading.Event()
    with FakeOpenAI([reply("A"), reply("B"), sleep(30, reply("C"))], default=reply("D")) as srv:
        srv.on_request = lambda body: arrived.set() if srv.count == 3 else None
        env = {**os.environ, **srv.env(), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        cmd = [sys.executable, "-m", "vdsl.cli", "recognize", "--programs", str(progs), "--results", str(res)]
        proc = subprocess.Popen(
            [*cmd, "--no-cache", "--concurrency", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert arrived.wait(60), "the third request never came"
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, err
        assert "--resume continues" in err and "Traceback" not in err
        assert len(res.read_text().splitlines()) == 2


def test_recognize_folder_api(tmp_path):
    from vdsl.llm.client import LLMClient
    from vdsl.llm.config import LLMConfig
    from vdsl.llm.recognize import recognize_folder

    progs = tmp_path / "progs"
    tiers = make_tiered(progs)
    (progs / "no-header.vd").write_text("canvas(width=8, height=8)\n")
    with FakeOpenAI(default=lambda body: reply("B")) as srv:
        client = LLMClient(LLMConfig(model="m", base_url=srv.base_url))
        scored, skipped = recognize_folder(client, progs, limit=4, distractors=2, seed=3)
        client.close()
        assert "_part" not in "".join(user_text(b) for b in srv.requests)  # anonymised by default
    assert skipped == 1 and len(scored) == 4
    assert sorted(s.tier for s in scored) == ["objects", "objects", "scenes", "scenes"]
    for s in scored:
        assert len(s.choices) == 3 and set(s.choices) <= set(tiers[s.tier])


def test_prompt_variant_reaches_every_question_of_a_folder(tmp_path):
    progs = tmp_path / "progs"
    make_programs(progs)
    with FakeOpenAI(default=lambda body: reply("A")) as srv:
        r = run(srv, tmp_path, "--programs", str(progs), "--limit", "2", "--prompt", "compact")
        assert r.exit_code == 0, r.output
        assert srv.count == 2
        assert all("The language reference" in b["messages"][0]["content"] for b in srv.requests)
        r = run(srv, tmp_path, "--programs", str(progs), "--limit", "2", "--no-cache")
        assert all("The language reference" not in b["messages"][0]["content"] for b in srv.requests[2:])
