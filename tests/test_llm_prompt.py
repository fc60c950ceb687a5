"""The system prompt is generated (table, overview, stdlib, examples) and compact; replies are read robustly."""

from __future__ import annotations

import dataclasses
import re

import pytest
from click.testing import CliRunner

from vdsl.api import compile
from vdsl.builtins import CONSTANTS, TABLE
from vdsl.cli import main
from vdsl.docs import LANGUAGE_OVERVIEW
from vdsl.llm import extract_program, parse_choice, strip_comments, strip_meta, system_prompt
from vdsl.llm.prompt import LEVELS, TOKEN_TARGET, _assemble, estimate_tokens, examples_dir, pick_examples
from vdsl.modules import stdlib_names


@pytest.fixture(autouse=True)
def fresh_prompt():
    system_prompt.cache_clear()
    yield
    system_prompt.cache_clear()


def test_prompt_lists_every_builtin_constant_module_and_component():
    p = system_prompt()
    for b in TABLE.values():
        assert re.search(rf"\b{re.escape(b.name)}\(" if b.aliases_of is None else rf"\b{b.name}={b.aliases_of}\b", p), (
            b.name
        )
    for name, (typ, _, _) in CONSTANTS.items():
        if str(typ) != "color":
            assert re.search(rf"\b{re.escape(name)}\b", p), name
    assert LANGUAGE_OVERVIEW.strip() in p
    from vdsl import nodes as n
    from vdsl.check import ModuleLoader

    loader = ModuleLoader()
    for mod in stdlib_names():
        info = loader.load(n.Use(None, mod), [])
        if info is None:
            continue
        assert f"### use {mod}" in p
        for d in info.defs:
            assert f"- {d}(" in p, d


def test_prompt_follows_the_signature_table(monkeypatch):
    b = TABLE["circle"]
    monkeypatch.setitem(TABLE, "blob_xyz", dataclasses.replace(b, name="blob_xyz", doc="A test-only blob."))
    assert "blob_xyz(center: point, r: number in 0..)" in system_prompt()


def test_prompt_is_compact():
    p = system_prompt()
    assert estimate_tokens(p) <= TOKEN_TARGET
    smaller = system_prompt(3000)
    assert len(smaller) < len(p) and "rect(" in smaller  # shrinks but keeps every signature
    sizes = [len(_assemble(*lv)) for lv in LEVELS]
    assert sizes[0] == max(sizes) and sizes[-1] == min(sizes)


def test_prompt_examples_come_from_examples_and_compile():
    if examples_dir() is None:
        pytest.skip("no examples/ folder")
    blocks = re.findall(r"```vdsl\n(.*?)\n```", system_prompt(), re.S)
    assert blocks, "no example program in the prompt"
    picked = dict(pick_examples(2))
    for src in blocks:
        assert src in picked.values()
        prog = compile(src)
        assert prog.ok and prog.evaluate(0)[0] is not None


def test_prompt_command_prints_it():
    r = CliRunner().invoke(main, ["prompt", "--stats"])
    assert r.exit_code == 0
    assert r.stdout == system_prompt()
    assert "tokens" in r.stderr


# ------------------------------------------------------------------ extraction
def test_extract_fenced_with_prose_around():
    e = extract_program("Sure! Here it is:\n```vdsl\ncircle(center=(1, 1), r=2)\n```\nIt draws a dot.")
    assert e.program == "circle(center=(1, 1), r=2)\n" and e.how == "fenced"


def test_extract_prefers_the_vdsl_block_then_the_longest():
    e = extract_program(
        "```\nshort\n```\ntext\n```vdsl\nrect(w=1, h=1)\n```\n```python\nprint('much longer block')\n```"
    )
    assert e.program == "rect(w=1, h=1)\n"
    e = extract_program("```\na()\n```\n```js\nlonger_one()\n```")
    assert e.program == "longer_one()\n"


def test_extract_unclosed_fence_runs_to_the_end():
    e = extract_program("```vdsl\ncanvas(width=10, height=10)\ncircle(center=(5, 5), r=")
    assert e.how == "unclosed-fence" and e.program.startswith("canvas(")


def test_extract_bare_and_trimmed_and_none():
    assert extract_program("circle(center=(1, 1), r=2)\n").how == "bare"
    e = extract_program("Here you go:\nlet c = red\ncircle(center=(1, 1), r=2, fill=c)\nThat is all, enjoy.")
    assert e.how == "trimmed" and e.program == "let c = red\ncircle(center=(1, 1), r=2, fill=c)\n"
    assert extract_program("I can't help with that.").program is None
    assert extract_program("").program is None


def test_strip_comments_and_meta_keep_strings():
    src = '// concept: cat\n// tier: objects\nlet u = "a // b /* c */"  // tail\n/* block\n comment */rect(w=1, h=1)\n'
    assert strip_meta(src).startswith("let u")
    assert strip_comments(strip_meta(src)) == 'let u = "a // b /* c */"\nrect(w=1, h=1)\n'


@pytest.mark.parametrize(
    "answer,expected",
    [
        ("B", 1),
        ("(b)", 1),
        ("3", 2),
        ("3.", 2),
        ("**C**", 2),
        ("E) sandy beach", 4),
        ("The answer is **B) lake**.", 1),
        ("Answer: D", 3),
        ("answer: b", 1),
        ("Option 2", 1),
        ("I think it is a traffic light.", 3),
        ("It looks like a Sandy-Beach.", 4),
        ("The answer is a lake.", 1),  # "a" is an article here, not choice A
        ("answer: sandy beach, not the lake", 4),
        ("A lake under the sky", None),  # two names, nothing to choose between them
        ("zzz", None),
        ("", None),
        ("9", None),
    ],
)
def test_parse_choice(answer, expected):
    assert parse_choice(answer, ["sky", "lake", "terrace", "traffic light", "sandy beach"]) == expected


def test_parse_choice_prefers_the_longer_overlapping_name():
    assert parse_choice("It is a sandy beach.", ["beach", "sandy beach", "sky"]) == 1
