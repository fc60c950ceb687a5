"""Grammar-constrained decoding: the GBNF / EBNF / Lark forms generated from grammar/vdsl.lark, `vdsl grammar`, and `--constrain` sending them with every request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fake_openai_server import BROKEN, VALID, FakeOpenAI, fenced, reply
from gbnf_check import recogniser
from vdsl.cli import main
from vdsl.llm.files import read_jsonl
from vdsl.llm.grammar_export import FENCE_CLOSE, FENCE_OPEN, GrammarExportError, export, regex_ir, request_fields

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.vd"), key=lambda p: len(p.read_text(encoding="utf-8")))


def fence(src: str) -> str:
    return FENCE_OPEN + src.rstrip() + FENCE_CLOSE


@pytest.fixture(scope="module")
def accepts():
    return recogniser(export("gbnf"))


# Every construct of the grammar once: comments of both kinds, strings with escapes, percentages, colours,
# typed defs with defaults and returns, for with index, if / else if / else, comprehensions, ternaries,
# unary and power operators, fields and indexes, kwargs, blocks after calls, `use` of both forms, `;`.
CONSTRUCTS = """// a line comment
/* a block comment with * and / inside */
use nature
use "shapes"
canvas(width=64, height=64, background=#87ceeb)
param hue: number = rand(0, 40);
let xs: list[number] = [1, 2.5, .5, 1e3, -3,]
let c = hsl(hue, 85%, 50%)
let s = "say \\"hi\\"" + 'it\\'s'
def dot(at: point, r: number = 2) -> number {
  circle(center=at, r=r ** 2, fill=c)
  return at.x
}
for i, x in xs { dot(at=(i * 10, x % 7)) }
if not true and (1 < 2 or !false) { dot(at=(1, 2)) } else if 1 >= 2 { dot(at=(3, 4)) } else { hue2 += 1 }
let ys = [x * 2 for x in xs if x != 0]
let t = len(ys) > 1 ? ys[-1] : 0
group(translate=(1, 2)) { rect(x=0, y=0, w=5, h=5) }
"""


def test_gbnf_has_the_fenced_root_and_defines_every_rule_it_uses():
    g = export("gbnf")
    assert re.search(r'^root ::= "```vdsl\\n" start ws-nl "```"$', g, re.M)
    defined = set(re.findall(r"^([A-Za-z0-9-]+) ::=", g, re.M))
    body = re.sub(r'"(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]|#[^\n]*', " ", g)  # drop literals, classes, comments
    used = set(re.findall(r"\b([A-Za-z][A-Za-z0-9-]*)\b", body.replace("::=", " ")))
    assert used <= defined
    # the expression rules lost their left recursion (llama.cpp cannot run it): `sum ::= product (...)*`
    assert re.search(r"^sum ::= product \(ws ADD-OP product\)\*$", g, re.M)
    for name in defined:
        for alt in re.search(rf"^{re.escape(name)} ::= (.*)$", g, re.M).group(1).split(" | "):
            assert not alt.startswith(name + " "), f"{name} is left-recursive"


def test_the_ebnf_for_vllm_is_the_same_grammar():
    assert export("ebnf").splitlines()[2:] == export("gbnf").splitlines()[2:]


def test_gbnf_accepts_example_programs_and_every_construct(accepts):
    for p in EXAMPLES[:3]:  # the recogniser is a character-level Earley parser: the short ones keep this quick
        assert accepts(fence(p.read_text(encoding="utf-8"))), p.name
    assert accepts(fence(CONSTRUCTS))
    from vdsl.syntax import parse

    assert parse(CONSTRUCTS)[1] == []  # Lark accepts it too (syntax only: the checker is not under test)


@pytest.mark.parametrize(
    "text",
    [
        "public class Main { public static void main(String[] a) {} }",  # what SmolLM2 wrote unconstrained
        "def f():\n    return 1",  # Python
        "circle(center=(1, 2), r=3",  # unclosed
        "let x 3",
        "letx y = 1",  # a keyword glued to a name is a name: two names in a row
        "const = canvas().begin(ctx)",  # what SmolLM2 wrote: `.b` then `egin(ctx)` as a statement; Lark sees `begin`
        "/* never closed",
        'let s = "no end',
    ],
)
def test_gbnf_rejects_what_is_not_vdsl(accepts, text):
    assert not accepts(fence(text))


def test_gbnf_constrains_the_whole_reply_to_one_fence(accepts):
    assert not accepts("Here it is:\n" + fence(VALID))
    assert not accepts(fence(VALID) + "\nDone.")
    assert not accepts(VALID)
    assert accepts(fence("// only a comment\n"))
    assert accepts(FENCE_OPEN + "// a last comment\n```") and accepts(FENCE_OPEN + "x = 1 // c\n\n```")
    assert not accepts(FENCE_OPEN + "x = 1```")  # the closing fence starts a line
    assert accepts(fence("x = 1;y = 2;")) and accepts(fence("g(){f()}")) and not accepts(fence("let a = 1let b = 2"))


def test_lark_form_parses_every_example():
    from lark import Lark

    parser = Lark(export("lark"), parser="lalr")
    for p in EXAMPLES:
        parser.parse(fence(p.read_text(encoding="utf-8")))
    with pytest.raises(Exception):
        parser.parse(fence("circle(center=(1, 2)"))


def test_llama_cpp_parses_and_runs_the_gbnf():
    """llama.cpp's own grammar parser and sampler (bench/llama_grammar_check.py). llama-cpp-python has no
    prebuilt wheel here (a 5-20 minute source build), so this runs where /work/shared/tools/local-llm.sh has
    built it (its venv and model under ~/.cache/vdsl-llm) and skips elsewhere; bench/results/constrain.md
    records the run over every example."""
    import json
    import os
    import subprocess

    d = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vdsl-llm"
    python, model = d / "venv" / "bin" / "python", d / "model.gguf"
    if not (python.is_file() and model.is_file()):
        pytest.skip("llama-cpp-python and the SmolLM2 GGUF are not installed (local-llm.sh start builds them)")
    texts = {p.name: fence(p.read_text(encoding="utf-8")) for p in EXAMPLES[:3]}
    texts["constructs"] = fence(CONSTRUCTS)
    texts["java"] = fence("public class Main { public static void main(String[] a) {} }")
    texts["prose first"] = "Here:\n" + fence(VALID)
    job = {"model": str(model), "gbnf": export("gbnf"), "texts": texts, "count": {}}
    job["grammars"] = {"vdsl": export("gbnf"), "broken": "root ::= undefined-rule"}
    r = subprocess.run(
        [str(python), str(ROOT / "bench" / "llama_grammar_check.py")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    res = json.loads(r.stdout)
    assert res["grammars_parsed"] == {"vdsl": True, "broken": False}
    assert {k: v for k, v in res["accepts"].items()} == {
        **{k: True for k in texts},
        "java": False,
        "prose first": False,
    }


def test_regex_translation():
    # a lazy block comment becomes the exact "up to the first */" construction
    ir = regex_ir(r"/\*(.|\n)*?\*/")
    assert ir[0] == "seq" and ir[1][0] == ("chars", "/*") and ir[1][-1] == ("chars", "/")
    # a trailing [^\n]* ends at its newline, as Lark's longest match does
    assert regex_ir(r"//[^\n]*")[1][-1] == ("chars", "\n")
    # a lookahead is dropped (GBNF has none)
    assert "ASSERT" not in repr(regex_ir(r"\d+%(?![\w(])"))
    with pytest.raises(GrammarExportError):
        regex_ir(r"a*?b")  # a lazy repeat the exporter cannot make exact
    with pytest.raises(GrammarExportError):
        regex_ir(r"(?i)abc")


def test_left_factoring_keeps_llama_cpp_stacks_few():
    from vdsl.llm.grammar_export import left_factor

    a, b, c = ("rule", "a"), ("lit", "b"), ("lit", "c")
    assert left_factor(("alt", [a, ("seq", [a, b, c])])) == ("seq", [a, ("rep", ("seq", [b, c]), "?")])
    assert left_factor(("alt", [("seq", [b, a, c]), ("seq", [b, a, b])])) == ("seq", [b, ("seq", [a, ("alt", [c, b])])])
    g = export("gbnf")  # no rule of the exported grammar has two alternatives that start alike
    assert re.search(r"^ternary ::= or-expr \(ws \"\?\" expr ws \":\" expr\)\?$", g, re.M)


def test_grammar_changes_flow_in_and_indirect_left_recursion_is_refused():
    src = (ROOT / "grammar" / "vdsl.lark").read_text(encoding="utf-8")
    more = src.replace('use_stmt: "use"', 'use_stmt: "import" dotted_name | "use"')
    assert 'ws "import"' in export("gbnf", more)
    bad = 'start: a\na: b "x" | "y"\nb: a "z"\n%ignore " "\n'
    with pytest.raises(GrammarExportError, match="left-recursive"):
        export("gbnf", bad)


def test_request_fields_per_server():
    assert request_fields("gbnf") == {"grammar": export("gbnf")}
    assert request_fields("vllm") == {"structured_outputs": {"grammar": export("ebnf")}}
    assert request_fields("vllm-legacy") == {"guided_grammar": export("ebnf")}
    with pytest.raises(GrammarExportError):
        request_fields("outlines")


def test_grammar_command(tmp_path):
    r = CliRunner().invoke(main, ["grammar"])
    assert r.exit_code == 0 and r.output == export("gbnf")
    r = CliRunner().invoke(main, ["grammar", "--format", "lark", "-o", str(tmp_path / "g.lark")])
    assert r.exit_code == 0 and (tmp_path / "g.lark").read_text() == export("lark")
    assert CliRunner().invoke(main, ["grammar", "--format", "regex"]).exit_code == 2


# ------------------------------------------------------------------ --constrain on the wire
def refine(srv, tmp_path, *args, out="run"):
    base = ["refine", "--cache-dir", str(tmp_path / "cache"), "--backoff", "0", "--no-progress"]
    return CliRunner().invoke(main, base + ["--out", str(tmp_path / out), *args], env=srv.env(), catch_exceptions=False)


@pytest.mark.parametrize(
    "mode,field",
    [("gbnf", "grammar"), ("vllm", "structured_outputs"), ("vllm-legacy", "guided_grammar")],
)
def test_constrain_sends_the_grammar_with_every_request(tmp_path, mode, field):
    with FakeOpenAI([reply(fenced(BROKEN)), reply(fenced(VALID))]) as srv:
        r = refine(srv, tmp_path, "--concept", "a ball", "--rounds", "1", "--constrain", mode)
    assert r.exit_code == 0, r.output
    assert len(srv.requests) == 2  # the draw and the repair both carry it
    for body in srv.requests:
        sent = body[field]["grammar"] if field == "structured_outputs" else body[field]
        assert sent == export("gbnf" if mode == "gbnf" else "ebnf")
    start = read_jsonl(tmp_path / "run" / "transcript.jsonl")[0]
    assert start["endpoint"]["constrain"] == mode


def test_no_constrain_sends_no_grammar_and_keys_the_cache_apart(tmp_path):
    with FakeOpenAI([reply(fenced(VALID)), reply(fenced(VALID))]) as srv:
        assert refine(srv, tmp_path, "--concept", "a ball", "--rounds", "1", out="a").exit_code == 0
        # the same request constrained is another request: not answered from the unconstrained cache
        r = refine(srv, tmp_path, "--concept", "a ball", "--rounds", "1", "--constrain", "gbnf", out="b")
    assert r.exit_code == 0, r.output
    assert len(srv.requests) == 2
    assert not {"grammar", "structured_outputs", "guided_grammar"} & set(srv.requests[0])
    assert "grammar" in srv.requests[1]


@pytest.mark.parametrize("owner,field", [("vllm", "structured_outputs"), ("llamacpp", "grammar"), (None, "grammar")])
def test_constrain_auto_asks_the_endpoint_what_it_is(tmp_path, owner, field):
    with FakeOpenAI([reply(fenced(VALID))]) as srv:
        srv.models_owned_by = owner  # None: /models answers 404 and the client says it assumes llama.cpp
        r = refine(srv, tmp_path, "--concept", "a ball", "--rounds", "1", "--constrain")
    assert r.exit_code == 0, r.output
    assert field in srv.requests[0]
    if owner is None:
        assert "could not list the endpoint's models" in r.output


def test_prompt_and_constrain_on_dataset_build(tmp_path):
    concepts = tmp_path / "c.txt"
    concepts.write_text("a ball\n")
    with FakeOpenAI(default=reply(fenced(VALID))) as srv:
        r = CliRunner().invoke(
            main,
            ["dataset", "build", "--concepts", str(concepts), "--programs-per-concept", "1", "--variants", "1",
             "--size", "32", "--workers", "1", "--no-cache", "--no-progress", "-o", str(tmp_path / "ds"),
             "--prompt", "minimal", "--constrain", "gbnf"],
            env=srv.env(),
            catch_exceptions=False,
        )  # fmt: skip
    assert r.exit_code == 0, r.output
    from vdsl.llm.prompt import fit_prompt

    assert srv.requests and all(b["grammar"] == export("gbnf") for b in srv.requests)
    assert srv.requests[0]["messages"][0]["content"] == fit_prompt(None, "minimal")[0]
