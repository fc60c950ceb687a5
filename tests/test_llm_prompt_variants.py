"""--prompt full|compact|minimal and --tokens: sizes honoured or refused, every signature still listed, the variant reaching the model, and repair turns that echo only the program."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fake_openai_server import BROKEN, PROSE, VALID, FakeOpenAI, fenced, reply
from vdsl.cli import main
from vdsl.llm.files import read_jsonl
from vdsl.llm.prompt import (
    ECHO_NO_PROGRAM_CHARS,
    PROMPT_VARIANTS,
    RECOGNIZE_SYSTEM,
    PromptTooLarge,
    estimate_tokens,
    fit_prompt,
    system_prompt,
)


def test_variant_sizes():
    full, compact, minimal = (fit_prompt(None, v)[0] for v in ("full", "compact", "minimal"))
    assert estimate_tokens(compact) <= 2000
    assert estimate_tokens(minimal) <= 1000
    assert len(full) > len(compact) > len(minimal)


def test_compact_still_lists_every_builtin_and_stdlib_component():
    from vdsl.builtins import TABLE
    from vdsl.llm.prompt import _stdlib_modules

    compact = fit_prompt(None, "compact")[0]
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", compact))
    for b in TABLE.values():
        if b.aliases_of is None:
            assert b.name in words, b.name
    for name, _, defs in _stdlib_modules():
        assert f"use {name}:" in compact
        for sig in defs:
            assert sig.name in words, sig.name
    minimal = fit_prompt(None, "minimal")[0]
    for b in TABLE.values():
        if b.category == "shapes" and b.aliases_of is None:
            assert f"{b.name}(" in minimal or f"/{b.name}" in minimal or f"{b.name}/" in minimal


@pytest.mark.parametrize("variant", list(PROMPT_VARIANTS))
def test_every_program_in_every_variant_compiles(variant):
    from vdsl.api import compile

    blocks = re.findall(r"```vdsl\n(.*?)\n```", fit_prompt(None, variant)[0], re.S)
    assert blocks, "each variant shows the syntax sample"
    for src in blocks:
        assert compile(src, "prompt.vd").ok, src[:80]


def test_a_token_budget_is_honoured_or_refused():
    text, v = fit_prompt(2000)
    assert v == "compact" and estimate_tokens(text) <= 2000
    text, v = fit_prompt(1000)
    assert v == "minimal" and estimate_tokens(text) <= 1000
    text, v = fit_prompt(1600, "compact")  # shrunk within the variant
    assert v == "compact" and estimate_tokens(text) <= 1600 and text != fit_prompt(None, "compact")[0]
    with pytest.raises(PromptTooLarge, match="try --prompt minimal"):
        fit_prompt(2000, "full")
    with pytest.raises(PromptTooLarge, match="smallest is about"):
        fit_prompt(100)


def test_prompt_command_tokens():
    r = CliRunner().invoke(main, ["prompt", "--tokens", "2000", "--stats"])
    assert r.exit_code == 0
    assert r.stdout == system_prompt(2000, "compact") and estimate_tokens(r.stdout) <= 2000
    assert r.stderr.startswith("compact:")
    r = CliRunner().invoke(main, ["prompt", "--tokens", "100"])
    assert r.exit_code == 2 and "no prompt fits 100 tokens" in r.stderr
    r = CliRunner().invoke(main, ["prompt", "--prompt", "minimal"])
    assert r.exit_code == 0 and r.stdout == fit_prompt(None, "minimal")[0]


def refine(srv, tmp_path, *args, out="run"):
    base = ["refine", "--cache-dir", str(tmp_path / "cache"), "--backoff", "0", "--no-progress"]
    return CliRunner().invoke(main, base + ["--out", str(tmp_path / out), *args], env=srv.env(), catch_exceptions=False)


def test_refine_sends_the_chosen_prompt_and_resume_keeps_it(tmp_path):
    compact = fit_prompt(None, "compact")[0]
    with FakeOpenAI([reply(fenced(VALID))] * 3) as srv:
        r = refine(srv, tmp_path, "--concept", "a ball", "--rounds", "1", "--prompt", "compact")
        assert r.exit_code == 0, r.output
        assert srv.requests[0]["messages"][0] == {"role": "system", "content": compact}
        start = read_jsonl(tmp_path / "run" / "transcript.jsonl")[0]
        assert start["prompt"] == "compact" and start["system_prompt"] == compact
        r = refine(srv, tmp_path, "--rounds", "2", "--resume", "--no-cache")
        assert r.exit_code == 0, r.output
    assert srv.requests[-1]["messages"][0]["content"] == compact


def test_repair_turns_echo_the_program_not_the_prose(tmp_path):
    chatty = fenced(BROKEN, before="Sure! " + "Let me explain my plan at length. " * 40, after="Hope it helps! " * 20)
    with FakeOpenAI([reply(chatty), reply(fenced(VALID))]) as srv:
        r = refine(srv, tmp_path, "--concept", "a ball", "--rounds", "1")
    assert r.exit_code == 0, r.output
    echoed = srv.requests[1]["messages"][-2]
    assert echoed == {"role": "assistant", "content": f"```vdsl\n{BROKEN.rstrip()}\n```"}
    assert "E202" in srv.requests[1]["messages"][-1]["content"]  # the diagnostics follow it


def test_a_reply_without_a_program_is_echoed_only_in_part(tmp_path):
    long_prose = PROSE + " And more words about it." * 60
    with FakeOpenAI([reply(long_prose), reply(fenced(VALID))]) as srv:
        r = refine(srv, tmp_path, "--concept", "a ball", "--rounds", "1")
    assert r.exit_code == 0, r.output
    echoed = srv.requests[1]["messages"][-2]["content"]
    assert echoed.startswith(PROSE) and len(echoed) < ECHO_NO_PROGRAM_CHARS + 60 < len(long_prose)


def test_recognize_prompt_variants(tmp_path):
    prog = tmp_path / "p.vd"
    prog.write_text(VALID)
    with FakeOpenAI([reply("A) ball"), reply("A) ball")]) as srv:
        env = srv.env()
        args = ["recognize", str(prog), "--choices", "ball,kite", "--no-cache"]
        assert CliRunner().invoke(main, args, env=env).exit_code == 0
        assert CliRunner().invoke(main, [*args, "--prompt", "compact"], env=env).exit_code == 0
    assert srv.requests[0]["messages"][0]["content"] == RECOGNIZE_SYSTEM
    sys2 = srv.requests[1]["messages"][0]["content"]
    assert sys2.startswith(RECOGNIZE_SYSTEM) and "## Builtins" in sys2
    assert "Reply with ONE complete vdsl program" not in sys2  # the writing instructions are left out


def test_prompt_file_for_the_cold_measurement_is_current():
    """bench/writability/compact/prompt.md is what fresh writers get: it must be today's compact prompt."""
    p = Path(__file__).resolve().parents[1] / "bench" / "writability" / "compact" / "prompt.md"
    assert p.read_text(encoding="utf-8") == fit_prompt(None, "compact")[0], (
        "regenerate it: vdsl prompt --prompt compact > bench/writability/compact/prompt.md"
    )
