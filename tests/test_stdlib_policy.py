"""--stdlib all|shapes|none: what `use` may name (E219 beyond it), what the prompt shows, through compile, sandbox, prompt, refine and dataset build."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fake_openai_server import VALID, FakeOpenAI, fenced, reply
from vdsl.api import compile
from vdsl.checkup.stdlib_use import stdlib_use
from vdsl.cli import main
from vdsl.llm.files import read_jsonl
from vdsl.llm.prompt import system_prompt
from vdsl.modules import STDLIB_POLICIES, stdlib_allowed, stdlib_names

BIRD = "use living\ncanvas(width=64, height=64)\nbird(center=(32, 32), size=40)\n"
STAR = "use shapes\ncanvas(width=64, height=64)\nstar(center=(32, 32), r=20, fill=gold)\n"


def codes(prog) -> list[str]:
    return [d.code for d in prog.diagnostics if d.is_error]


def test_policies_name_real_modules():
    names = set(stdlib_names())
    assert STDLIB_POLICIES["shapes"] <= names and STDLIB_POLICIES["none"] == frozenset()
    assert all(stdlib_allowed(n, "all") for n in names)
    assert not any(stdlib_allowed(n, "none") for n in names)
    assert stdlib_allowed("shapes", "shapes") and not stdlib_allowed("living", "shapes")


@pytest.mark.parametrize("policy", ["shapes", "none"])
def test_use_beyond_the_policy_is_e219_with_a_hint(policy):
    assert compile(BIRD).ok
    p = compile(BIRD, stdlib=policy)
    assert "E219" in codes(p)
    d = next(d for d in p.diagnostics if d.code == "E219")
    assert "`use living`" in d.message and policy in d.message
    assert d.span.line == 1 and "builtins" in d.hint
    assert ("layout, shapes, solids" in d.hint) == (policy == "shapes")


def test_shapes_policy_allows_geometry_and_unknown_modules_stay_e208():
    assert compile(STAR, stdlib="shapes").ok
    assert "E219" in codes(compile(STAR, stdlib="none"))
    assert codes(compile("use planets\ncanvas(width=8, height=8)\n", stdlib="none")) == ["E208"]
    with pytest.raises(ValueError, match="unknown stdlib policy"):
        compile(STAR, stdlib="some")


def test_sandbox_applies_the_policy():
    from vdsl.sandbox import run

    assert run(BIRD, fmt="png").ok
    r = run(BIRD, fmt="png", stdlib="none")
    assert not r.ok and "E219" in [d.code for d in r.diagnostics]


def test_prompt_shows_only_what_the_policy_allows():
    full, shapes, none = (system_prompt(stdlib=p) for p in ("all", "shapes", "none"))
    assert "### use living" in full and "### use shapes" in full
    assert "### use living" not in shapes and "### use shapes" in shapes and "### use solids" in shapes
    assert "### use " not in none and "Not available in this setting" in none
    # the examples shown compile under the policy they are shown with
    for text, policy in ((shapes, "shapes"), (none, "none")):
        blocks = text.split("## Examples", 1)[1].split("```vdsl\n")[1:] if "## Examples" in text else []
        for b in blocks:
            assert compile(b.split("```", 1)[0], stdlib=policy).ok
    r = CliRunner().invoke(main, ["prompt", "--stdlib", "none"])
    assert r.exit_code == 0 and r.output == none
    from vdsl.llm.prompt import fit_prompt

    compact = fit_prompt(None, "compact", "none")[0]
    assert "use living" not in compact and "Not available in this setting" in compact
    assert "use living" in fit_prompt(None, "compact")[0]
    assert (
        "use living" not in fit_prompt(None, "compact", "shapes")[0]
        and "use shapes" in fit_prompt(None, "compact", "shapes")[0]
    )


def test_stdlib_use_names_modules_and_components():
    src = "use living\nuse shapes\ncanvas(width=64, height=64)\nbird(center=(32, 32), size=20)\nfor i in range(2) {\n  star(r=3)\n}\n"
    assert stdlib_use(src) == {"modules": ["living", "shapes"], "components": ["bird", "star"]}
    assert stdlib_use(VALID) == {"modules": [], "components": []}
    assert stdlib_use("}}} not a program") == {"modules": [], "components": []}
    own = "use living\ndef bird(size: number) {\n  circle(r=size)\n}\ncanvas(width=8, height=8)\nbird(size=2)\n"
    assert stdlib_use(own)["components"] == []  # a def of the program's own shadows the stdlib's


def test_refine_with_stdlib_none_repairs_a_stdlib_program(tmp_path):
    with FakeOpenAI([reply(fenced(BIRD)), reply(fenced(VALID))]) as srv:
        r = CliRunner().invoke(
            main,
            [
                "refine",
                "--concept",
                "a bird",
                "--rounds",
                "1",
                "--stdlib",
                "none",
                "--cache-dir",
                str(tmp_path / "cache"),
                "--out",
                str(tmp_path / "run"),
            ],
            env=srv.env(),
            catch_exceptions=False,
        )
        assert r.exit_code == 0, r.output
        first, repair = srv.requests
    assert "### use living" not in first["messages"][0]["content"]
    assert "E219" in repair["messages"][-1]["content"] and "not allowed here" in repair["messages"][-1]["content"]
    ev = read_jsonl(tmp_path / "run" / "transcript.jsonl")
    assert ev[0]["stdlib"] == "none"
    rnd = [e for e in ev if e.get("event") == "round"][0]
    assert rnd["status"] == "ok" and rnd["repairs"] == 1


def test_dataset_build_with_stdlib_none_fails_stdlib_programs(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "bird.vd").write_text("// concept: bird\n" + BIRD)
    (src / "ball.vd").write_text("// concept: ball\n" + VALID)
    for policy, images in (("all", 2), ("none", 1)):
        out = tmp_path / f"ds-{policy}"
        args = ["dataset", "build", "--programs", str(src), "--variants", "1", "--size", "32", "--workers", "1"]
        r = CliRunner().invoke(main, [*args, "--stdlib", policy, "--no-progress", "-o", str(out)])
        assert r.exit_code == 0, r.output
        meta = [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]
        assert len(meta) == images
        if policy == "none":
            fails = [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]
            assert any("E219" in (f.get("detail") or "") and f["program"] == "bird" for f in fails)


def test_recognize_refuses_stdlib_programs_beyond_the_policy(tmp_path):
    (tmp_path / "bird.vd").write_text("// concept: bird\n" + BIRD)
    (tmp_path / "ball.vd").write_text("// concept: ball\n" + VALID)
    with FakeOpenAI(default=lambda body: reply("A")) as srv:
        r = CliRunner().invoke(
            main, ["recognize", str(tmp_path / "bird.vd"), "--choices", "bird,fish", "--stdlib", "none"], env=srv.env()
        )
        assert r.exit_code == 2 and "use living" in r.output and "--stdlib all" in r.output
        r = CliRunner().invoke(main, ["recognize", "--programs", str(tmp_path), "--stdlib", "shapes"], env=srv.env())
        assert r.exit_code == 2 and "1 program(s)" in r.output and "bird.vd" in r.output
        assert srv.count == 0
        r = CliRunner().invoke(
            main, ["recognize", "--programs", str(tmp_path), "--no-cache"], env=srv.env(), catch_exceptions=False
        )
        assert r.exit_code == 0, r.output
        assert srv.count == 2
