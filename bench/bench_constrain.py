"""Grammar-constrained decoding against a real llama.cpp server: the GBNF checked by llama.cpp's own parser and grammar sampler, prompt sizes in the model's tokens, and SmolLM2-135M's parse and compile rates with and without --constrain."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LLM_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vdsl-llm"
CONCEPTS = ROOT / "bench" / "writability" / "compact" / "concepts.txt"


def llama_check(job: dict, python: Path) -> dict:
    """bench/llama_grammar_check.py in the llama-cpp-python venv (vdsl does not need to be importable there)."""
    r = subprocess.run(
        [str(python), str(ROOT / "bench" / "llama_grammar_check.py")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise SystemExit(f"llama_grammar_check failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout)


def grammar_section(python: Path, model: Path, limit: int | None) -> tuple[list[str], dict]:
    from vdsl.llm.grammar_export import export
    from vdsl.llm.prompt import estimate_tokens, fit_prompt

    g = export("gbnf")
    examples = sorted((ROOT / "examples").glob("*.vd"), key=lambda p: (p.stat().st_size, p.name))[:limit]
    texts = {p.name: "```vdsl\n" + p.read_text(encoding="utf-8").rstrip() + "\n```" for p in examples}
    wrong = {
        "java (what SmolLM2 wrote unconstrained)": "```vdsl\npublic class Main { public static void main(String[] a) {} }\n```",
        "python": "```vdsl\ndef f():\n    return 1\n```",
        "unclosed call": "```vdsl\ncircle(center=(1, 2), r=3\n```",
        "prose before the fence": "Here:\n```vdsl\ncircle(center=(1, 2), r=3)\n```",
    }
    prompts = {v: fit_prompt(None, v)[0] for v in ("full", "compact", "minimal")}
    t0 = time.monotonic()
    res = llama_check(
        {
            "model": str(model),
            "gbnf": g,
            "grammars": {"vdsl (generated)": g, "a broken one (the harness's own check)": "root ::= undefined-rule"},
            "texts": {**texts, **{f"wrong: {k}": v for k, v in wrong.items()}},
            "count": prompts,
        },
        python,
    )
    secs = time.monotonic() - t0
    ok = [k for k in texts if res["accepts"][k]]
    bad = [k for k in texts if not res["accepts"][k]]
    lines = [
        "## The GBNF in llama.cpp's own parser and grammar sampler",
        "",
        f"llama-cpp-python {res['llama_cpp_version']}; `llama_sampler_init_grammar` (NULL when its parser refuses "
        "a grammar), then each example program, fenced, fed token by token (SmolLM2's tokenizer) through the "
        "grammar sampler, and end-of-text checked at the end.",
        "",
        "| grammar | llama.cpp parses it |",
        "|---|---|",
        *[f"| {k} | {'yes' if v else 'no'} |" for k, v in res["grammars_parsed"].items()],
        "",
        f"Example programs accepted (the {len(texts)} smallest of examples/, up to "
        f"{max((len(t) for t in texts.values()), default=0)} characters): **{len(ok)}/{len(texts)}**"
        + (f" (rejected: {', '.join(bad)})" if bad else ""),
        "",
        "| not vdsl | accepted |",
        "|---|---|",
        *[f"| {k} | {'yes' if res['accepts'][f'wrong: {k}'] else 'no'} |" for k in wrong],
        "",
        f"({secs:.0f} s for the checks.)",
        "",
        "## Prompt sizes",
        "",
        "| --prompt | characters | SmolLM2 tokens | estimate (`vdsl prompt --stats`) | characters per token |",
        "|---|---|---|---|---|",
        *[
            f"| {v} | {len(t)} | {res['tokens'][v]} | {estimate_tokens(t)} | {len(t) / res['tokens'][v]:.2f} |"
            for v, t in prompts.items()
        ],
        "",
    ]
    return lines, res


def refine_batch(out: Path, concepts: Path, limit: int, args, constrain: bool) -> float:
    cmd = [
        sys.executable,
        "-m",
        "vdsl.cli",
        "refine",
        "--concepts",
        str(concepts),
        "--limit",
        str(limit),
        "--rounds",
        "1",
        "--max-repairs",
        str(args.max_repairs),
        "--prompt",
        args.prompt,
        "--max-tokens",
        str(args.max_tokens),
        "--temperature",
        str(args.temperature),
        "--timeout",
        str(args.timeout),
        "--concurrency",
        "1",
        "--jobs",
        "1",
        "--no-cache",
        "--no-progress",
        "--out",
        str(out),
    ] + (["--constrain", "gbnf"] if constrain else [])
    env = {**os.environ, "OPENAI_BASE_URL": args.url, "OPENAI_API_KEY": "EMPTY", "VDSL_MODEL": args.model}
    t0 = time.monotonic()
    subprocess.run(cmd, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


def analyse(out: Path) -> dict:
    """Per batch: first replies whose program parses (Lark; any syntax error E1xx counts as not parsing),
    replies in a vdsl fence, concepts with a working program after repairs, requests, tokens and time."""
    from vdsl.llm.files import read_jsonl
    from vdsl.syntax import parse

    first = parsed_first = parsed_all = calls = ok = n = fenced = cut = 0
    gen_tokens = gen_secs = 0.0
    for d in sorted(p for p in out.iterdir() if (p / "transcript.jsonl").is_file()):
        n += 1
        ev = read_jsonl(d / "transcript.jsonl")
        for e in ev:
            if e.get("event") != "call":
                continue
            calls += 1
            prog = e.get("program")
            good = prog is not None and parse(prog)[1] == []
            parsed_all += good
            fenced += e.get("extracted") == "fenced"
            cut += bool(e.get("cut"))
            gen_tokens += (e.get("usage") or {}).get("completion_tokens", 0) or 0
            gen_secs += e.get("latency_s") or 0.0
            if e.get("step") == 0:
                first += 1
                parsed_first += good
        ok += any(e.get("event") == "round" and e.get("status") == "ok" for e in ev)
    return {
        "concepts": n,
        "first_replies": first,
        "first_parse": parsed_first,
        "calls": calls,
        "all_parse": parsed_all,
        "fenced": fenced,
        "cut": cut,
        "working": ok,
        "completion_tokens": int(gen_tokens),
        "request_seconds": round(gen_secs, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", default="http://127.0.0.1:18111/v1", help="the llama.cpp server (local-llm.sh url)")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--python", type=Path, default=LLM_DIR / "venv" / "bin" / "python")
    ap.add_argument("--gguf", type=Path, default=LLM_DIR / "model.gguf")
    ap.add_argument("--concepts", type=Path, default=CONCEPTS)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--prompt", default="minimal")
    ap.add_argument("--max-tokens", type=int, default=400)
    ap.add_argument("--max-repairs", type=int, default=2)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--examples", type=int, help="check only the N smallest examples against llama.cpp")
    ap.add_argument("--skip-live", action="store_true", help="only the grammar and token checks")
    ap.add_argument("--skip-grammar", action="store_true", help="only the live runs")
    ap.add_argument("--only", choices=("free", "constrained"), help="run this condition; the other is read from --work")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vdsl-bench-constrain"))
    ap.add_argument("-o", "--out", type=Path, default=ROOT / "bench" / "results" / "constrain.md")
    args = ap.parse_args(argv)

    lines = [
        "# Grammar-constrained decoding (`--constrain`) on a real llama.cpp server",
        "",
        f"`python bench/bench_constrain.py {' '.join(argv if argv is not None else sys.argv[1:])}`".replace(" `", "`"),
        "",
    ]
    if not args.skip_grammar:
        glines, _ = grammar_section(args.python, args.gguf, args.examples)
        lines += glines
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if not args.skip_live:
        import shutil

        rows = {}
        for constrain in (False, True):  # the same concepts, one sample each, fresh requests (no cache)
            out = args.work / ("constrained" if constrain else "free")
            if args.only and args.only != out.name and (out / "wall_seconds").is_file():
                secs = float((out / "wall_seconds").read_text())  # the other condition, from an earlier run
            else:
                shutil.rmtree(out, ignore_errors=True)
                secs = refine_batch(out, args.concepts, args.limit, args, constrain)
                (out / "wall_seconds").write_text(str(secs))
            rows[constrain] = {**analyse(out), "wall_seconds": round(secs)}
            print(json.dumps(rows[constrain]), file=sys.stderr)
        lines += [
            "## SmolLM2-135M-Instruct writing vdsl, with and without `--constrain gbnf`",
            "",
            f"llama-cpp-python's server (`/work/shared/tools/local-llm.sh`, 2 threads, n_ctx 8192) on this machine; "
            f"`vdsl refine --concepts {args.concepts.relative_to(ROOT) if args.concepts.is_relative_to(ROOT) else args.concepts} "
            f"--limit {args.limit} --rounds 1 --max-repairs {args.max_repairs} --prompt {args.prompt} "
            f"--max-tokens {args.max_tokens} --temperature {args.temperature} --no-cache` (one sample per concept), "
            "then the same with `--constrain gbnf`. Parses: the extracted program has no syntax error (Lark). "
            "Working: the concept ended with a program that compiles, runs and renders (after up to "
            f"{args.max_repairs} repairs).",
            "",
            "| | first replies that parse | all replies that parse | replies fenced as vdsl | cut at max-tokens "
            "| concepts working after repairs | requests | completion tokens | tokens/s while generating | wall time |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for constrain, r in rows.items():
            tps = r["completion_tokens"] / r["request_seconds"] if r["request_seconds"] else 0.0
            lines.append(
                f"| {'--constrain gbnf' if constrain else 'unconstrained'} | {r['first_parse']}/{r['first_replies']} "
                f"| {r['all_parse']}/{r['calls']} | {r['fenced']}/{r['calls']} | {r['cut']}/{r['calls']} "
                f"| {r['working']}/{r['concepts']} | {r['calls']} | {r['completion_tokens']} | {tps:.1f} "
                f"| {r['wall_seconds']} s |"
            )
        lines.append("")
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
