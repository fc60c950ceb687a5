"""`vdsl recognize`: the program only (never the image), robust answer parsing, and the seeded accuracy test over a folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

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
    assert '"http://not-a-comment"' in text  # strings kept whole
    assert "A) sky\nB) lake\nC) terrace\nD) traffic light\nE) sandy beach" in text


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
        assert "accuracy: 4/6 = 66.7% (chance 25.0%)" in r.output
        assert "1 file(s) without a concept header skipped" in r.output
        lines = [json.loads(l) for l in (tmp_path / "res.jsonl").read_text().splitlines()]
        assert len(lines) == 6 and sum(l["correct"] for l in lines) == 4
        for l in lines:
            assert len(l["choices"]) == 4 and l["concept"] in l["choices"]
            assert len(set(l["choices"])) == 4 and set(l["choices"]) <= set(CONCEPTS)
        first = [b["messages"] for b in srv.requests]
        # the same seed gives the same questions: all from the cache now
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
