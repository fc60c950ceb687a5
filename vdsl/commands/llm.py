"""`vdsl prompt | refine | recognize`: the commands that talk to a model (logic in vdsl.llm)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ..atomic import atomic_write
from ..concepts import slugify
from ..errors import IncompleteRun, Interrupted, UsageError
from ..llm.options import config_from_options, make_client, pop_llm_options
from ..llm.grammar_export import FORMATS, export
from ..llm.prompt import CHARS_PER_TOKEN, DEFAULT_FEEDBACK, PromptTooLarge, estimate_tokens, fit_prompt, letter
from ..llm.recognize import recognize_source, split_choices
from ..llm.files import read_jsonl
from ..llm.refine import (
    SAMPLING_KEYS,
    EndpointFatal,
    RefineAborted,
    RefineSettings,
    load_concept_list,
    print_summary,
    refine,
    refine_many,
    write_summary,
)
from ..llm.report import TRANSCRIPT
from . import constrain_option, fail, prompt_option, stdlib_option


def parse_price(price: str | None) -> tuple[float, float] | None:
    """--price IN,OUT (per 1M tokens) as two numbers; a usage error otherwise."""
    if not price:
        return None
    try:
        prices = tuple(float(x) for x in price.split(","))
        assert len(prices) == 2 and min(prices) >= 0
    except (ValueError, AssertionError):
        raise click.UsageError(f"--price wants IN,OUT (per 1M tokens, e.g. 0.15,0.60), not {price!r}") from None
    return prices[0], prices[1]


class _PassStopped(Exception):
    """A refine pass ended other than ok: its outcome is reported below, no further batch pass."""


def llm_options(f):
    """--model, sampling, retry, concurrency and cache options."""
    opts = [
        click.option(
            "--model",
            envvar="VDSL_MODEL",
            show_envvar=True,
            help="Model name as the endpoint knows it (endpoint: OPENAI_BASE_URL, OPENAI_API_KEY).",
        ),
        click.option("--temperature", type=click.FloatRange(0, 2), default=0.7, show_default=True),
        click.option(
            "--max-tokens",
            type=click.IntRange(1, 1_000_000),
            default=4096,
            show_default=True,
            help="Most tokens in one reply.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(0.01, 3600),
            default=120.0,
            show_default=True,
            help="Seconds one reply may take in all (headers and body); the connection is closed "
            "at that point. A timed-out reply is asked again once at most.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(0, 50),
            default=6,
            show_default=True,
            help="Tries after the first on 429, 5xx, timeouts and connection errors.",
        ),
        click.option(
            "--backoff",
            type=click.FloatRange(0, 600),
            default=1.0,
            show_default=True,
            help="First retry delay in seconds (doubled each retry, jittered; Retry-After wins).",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 256),
            default=4,
            show_default=True,
            help="Most requests in flight at once.",
        ),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache."),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False),
            envvar="VDSL_CACHE_DIR",
            show_envvar=True,
            help="Response cache folder [default: ~/.cache/vdsl].",
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


@click.command("prompt")
@click.option(
    "--tokens",
    "token_target",
    type=click.IntRange(1),
    help="A budget: the richest prompt whose estimate fits (with --prompt: that variant, shrunk), else exit 2 "
    f"saying the smallest size; never silently over it. Estimate: {CHARS_PER_TOKEN:g} characters a token.",
)
@prompt_option(default=None, help_extra="  [default: full, or with --tokens the richest that fits]")
@stdlib_option()
@click.option("--stats", is_flag=True, help="Also print the variant and size estimate to stderr.")
def prompt_cmd(token_target, prompt_variant, stats, stdlib):
    """Print the system prompt given to the model (generated from the signature table, grammar
    overview, stdlib and example programs, so it always matches the language)."""
    try:
        text, variant = fit_prompt(token_target, prompt_variant, stdlib)
    except PromptTooLarge as e:
        raise UsageError(str(e)) from None
    click.echo(text, nl=False)
    if stats:
        click.echo(f"{variant}: {len(text)} characters, about {estimate_tokens(text)} tokens", err=True)


@click.command("grammar")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="gbnf",
    show_default=True,
    help="gbnf: llama.cpp (its server's `grammar` field, llama-cpp-python's LlamaGrammar); ebnf: vLLM's "
    "structured outputs (xgrammar; the same syntax); lark: Lark-based backends (guidance, outlines).",
)
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def grammar_cmd(fmt, out):
    """Print vdsl's grammar in a form servers constrain decoding with, generated from grammar/vdsl.lark:
    the whole reply is one ```vdsl fenced program. `vdsl refine --constrain` sends it for you.

    \b
    vdsl grammar --format gbnf -o vdsl.gbnf
    llama-server -m model.gguf --grammar-file vdsl.gbnf
    """
    text = export(fmt)
    if out:
        atomic_write(Path(out), text)
    else:
        click.echo(text, nl=False)


@click.command("refine")
@click.option("--concept", help='What to draw, e.g. "a parrot in the jungle".')
@click.option(
    "--concepts",
    "concepts_spec",
    metavar="FILE_OR_TIER",
    help="Batch form: a file with one concept per line, or a concept tier name.",
)
@click.option("--limit", type=click.IntRange(1), help="Batch form: only the first N concepts.")
@click.option("--rounds", type=click.IntRange(1, 1000), help="Rounds in all, round 0 included.  [default: 5]")
@click.option(
    "--max-repairs",
    type=click.IntRange(0, 100),
    help="Repair requests per round when the program has errors.  [default: 3]",
)
@click.option(
    "--feedback",
    type=click.Choice(["text", "vision"]),
    help="text: the feedback sentence only (the paper's setting); vision: also the rendered "
    "picture, for multimodal models.  [default: text]",
)
@click.option("--feedback-text", help=f'The improvement request.  [default: "{DEFAULT_FEEDBACK}"]')
@click.option(
    "--sample",
    type=int,
    default=0,
    show_default=True,
    help="Sample index: another number asks afresh instead of reusing cached replies.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed programs are run and rendered at.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Output folder (batch: one subfolder per concept).  [default: refine/CONCEPT, or refine/]",
)
@click.option("--resume", is_flag=True, help="Continue the run(s) in --out after an interrupt or endpoint failure.")
@click.option("--jobs", type=click.IntRange(1, 256), help="Batch form: concepts at once.  [default: --concurrency]")
@click.option("--progress/--no-progress", default=True, help="Batch form: show a progress bar.")
@click.option(
    "--deadline",
    type=click.FloatRange(0.01),
    metavar="SECONDS",
    help="Stop the whole run (every request and wait) after this many seconds; --resume continues.",
)
@click.option(
    "--allow-changed-settings",
    is_flag=True,
    help="With --resume: accept a model, temperature or max-tokens other than the run started with "
    "(the change is recorded). Without it such a change is refused; unnamed ones are restored.",
)
@click.option(
    "--price",
    metavar="IN,OUT",
    help="Price per 1M prompt,completion tokens, e.g. 0.15,0.60: the report gives the cost.",
)
@click.option(
    "--batch",
    "batch_dir",
    type=click.Path(file_okay=False),
    help="Batch form: send the requests through the endpoint's Batch API (files + batches), one batch per "
    "round or repair step, keeping state in this folder (resumable at every step).",
)
@click.option(
    "--batch-export",
    is_flag=True,
    help="With --batch: only write each pass's requests as Batch API JSONL (for `vllm run-batch` or another "
    "account) and stop; `vdsl batch ingest` the results, then rerun with --resume.",
)
@click.option(
    "--poll", type=click.FloatRange(0.01), default=30.0, show_default=True, help="With --batch: seconds between polls."
)
@prompt_option(help_extra=" A resumed run keeps the prompt it started with.")
@constrain_option
@click.option(
    "--stdlib",
    type=click.Choice(["all", "shapes", "none"]),
    help="What programs may `use`, and what the prompt shows: all of the stdlib; shapes (geometry only: "
    "shapes, solids, layout); none (builtins only). A `use` beyond it is E219.  [default: all]",
)
@click.option(
    "--compare",
    "compare_runs",
    is_flag=True,
    help="Put the RUN folders given side by side (samples or models; batches concept by concept) in one "
    "HTML page: --out FILE.html, else compare.html.",
)
@click.argument("runs", nargs=-1, type=click.Path(exists=True, file_okay=False))
@llm_options
def refine_cmd(
    concept,
    concepts_spec,
    limit,
    rounds,
    max_repairs,
    feedback,
    feedback_text,
    sample,
    seed,
    out_dir,
    resume,
    jobs,
    progress,
    deadline,
    allow_changed_settings,
    price,
    batch_dir,
    batch_export,
    poll,
    stdlib,
    compare_runs,
    runs,
    prompt_variant,
    **kw,
):
    """Ask a model to draw a concept, repair it from the diagnostics, then improve it round after round.

    \b
    export OPENAI_BASE_URL=http://localhost:8000/v1 VDSL_MODEL=Qwen/Qwen2.5-Coder-7B-Instruct
    vdsl refine --concept "a parrot in the jungle" --rounds 5 --out runs/parrot
    vdsl refine --concept "a lighthouse" --feedback vision
    vdsl refine --out runs/parrot --resume
    vdsl refine --concepts concepts.txt --limit 20 --out runs/batch
    vdsl refine --concepts objects --out runs/b --batch runs/b/batches
    vdsl refine --compare runs/parrot-gpt runs/parrot-qwen --out compare.html
    vdsl refine --concept "a red kite" --prompt compact --constrain     # a small local model

    Writes round_K.vd / round_K.png per round (round_K.failed.vd for a round that never compiled),
    transcript.jsonl, strip.png and index.html (a batch also summary.md/.csv and an index.html with every
    concept's strip). Exit 0 when some round produced a working program,
    1 when none did or the endpoint failed for good (rerun with --resume), 2 for usage errors or no
    endpoint configured, 130 when interrupted.
    """
    llm = pop_llm_options(kw)
    if runs or compare_runs:
        if not compare_runs:
            raise click.UsageError(f"unexpected argument {runs[0]!r} (folders go with --compare)")
        from ..llm.compare import compare_html

        target = Path(out_dir or "compare.html")
        target = target if target.suffix == ".html" else target / "compare.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, compare_html([Path(r) for r in runs]))
        click.echo(f"compared {len(runs)} runs -> {target}", err=True)
        return
    run_deadline = time.monotonic() + deadline if deadline else None
    ctx = click.get_current_context()
    explicit = {
        k
        for k in SAMPLING_KEYS
        if ctx.get_parameter_source(k)
        in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    }
    prices = parse_price(price)
    if batch_export and not batch_dir:
        raise click.UsageError("--batch-export goes with --batch DIR")
    run_kw = {"deadline": run_deadline, "explicit": explicit, "allow_changed": allow_changed_settings, "price": prices}

    def started_model(folders) -> None:  # --resume without --model: the run's own model
        if resume and not llm["model"]:
            for f in folders:
                st = next((e for e in read_jsonl(Path(f) / TRANSCRIPT) if e.get("event") == "start"), None)
                if st and (st.get("endpoint") or {}).get("model"):
                    llm["model"] = st["endpoint"]["model"]
                    return

    if concept and concepts_spec:
        raise click.UsageError("give --concept or --concepts, not both")
    if limit is not None and not concepts_spec:
        raise click.UsageError("--limit goes with --concepts")
    overrides = {
        k: v
        for k, v in (
            ("rounds", rounds),
            ("max_repairs", max_repairs),
            ("feedback", feedback),
            ("feedback_text", feedback_text),
            ("stdlib", stdlib),
        )
        if v is not None
    }
    settings = RefineSettings(concept or "", sample=sample, seed=seed, prompt=prompt_variant, **overrides)
    if concepts_spec:
        items = load_concept_list(concepts_spec, limit)
        if not items:
            raise click.UsageError(f"no concepts in {concepts_spec!r}")
        out_root = Path(out_dir or "refine")
        if not resume:
            taken = [f for f, _ in items if (out_root / f / TRANSCRIPT).exists()]
            if taken:
                raise click.UsageError(
                    f"{len(taken)} concept folder(s) under {out_root} already hold runs "
                    f"(e.g. {taken[0]}); pass --resume to continue them or choose another --out"
                )
        started_model(out_root / f for f, _ in items)
        cfg = config_from_options(**llm)
        client = make_client(cfg)
        done: dict = {}

        def one_pass(c, first: bool) -> None:
            done["rows"], done["outcome"], done["why"] = refine_many(
                c,
                items,
                out_root,
                settings,
                resume=resume or not first,
                jobs=jobs or cfg.concurrency,
                overrides=overrides,
                progress=progress,
                **run_kw,
            )
            if done["outcome"] != "ok":
                raise _PassStopped()

        try:
            out_root.mkdir(parents=True, exist_ok=True)
            if batch_dir:
                from ..llm.batches import run_batched

                run_batched(client, batch_dir, one_pass, export_only=batch_export, poll_s=poll)
            else:
                one_pass(client, True)
        except _PassStopped:
            pass
        except IncompleteRun:
            if "rows" in done:
                write_summary(out_root, done["rows"])
            raise
        finally:
            client.close()
        rows, outcome, why = done["rows"], done["outcome"], done["why"]
        write_summary(out_root, rows)
        print_summary(rows)
        click.echo(
            f"summary: {out_root / 'summary.md'}, {out_root / 'summary.csv'}; every strip: {out_root / 'index.html'}",
            err=True,
        )
        if isinstance(why, BaseException):  # SIGTERM: exit 143, as the command group maps it
            raise why
        if outcome == "interrupted":
            raise Interrupted("every folder is consistent; rerun with --resume to continue")
        if outcome == "fatal":
            raise EndpointFatal(
                f"{why}\nthe batch stopped; the folders are consistent: fix that, then rerun with --resume"
            )
        if outcome == "aborted":
            raise IncompleteRun(f"{why}\nthe folders are consistent: rerun with --resume to continue")
        if any(r["status"] != "complete" for r in rows):
            fail(1)
        return
    if batch_dir:
        raise click.UsageError("--batch goes with --concepts (a one-line file or a tier is fine)")
    if not concept and not (resume and out_dir and (Path(out_dir) / TRANSCRIPT).exists()):
        raise click.UsageError("give --concept (or --concepts FILE_OR_TIER, or --resume with --out)")
    out = Path(out_dir or Path("refine") / slugify(concept, 60))
    if (out / TRANSCRIPT).exists() and not resume:
        raise click.UsageError(
            f"{out} already holds a refine run; pass --resume to continue it or choose another --out"
        )
    started_model([out])
    client = make_client(config_from_options(**llm))
    try:
        s = refine(client, out, settings, resume=resume, overrides=overrides, **run_kw)
    except RefineAborted as e:
        raise IncompleteRun(
            f"{e}\n{out} is consistent up to the last finished round: rerun with --resume to continue"
        ) from None
    except (KeyboardInterrupt, Interrupted):
        raise Interrupted(f"{out} is consistent; rerun with --resume to continue") from None
    finally:
        client.close()
    st = client.stats
    click.echo(
        f"{s['concept']}: {s['rounds_ok']}/{s['rounds_planned']} rounds ok"
        f" ({'compiled first try' if s['compiled_first_try'] else 'round 0 needed repairs or failed'};"
        f" {s['repairs']} repairs); {st.requests} requests now, {st.cache_hits} from the cache"
        f" -> {out / 'index.html'}",
        err=True,
    )
    if s["final_round"] is None:
        fail(1)


@click.command("recognize")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--choices", help='Comma-separated concepts to choose from, e.g. "sky,lake,terrace".')
@click.option(
    "--programs",
    type=click.Path(exists=True, file_okay=False),
    help="A folder of programs whose `// concept:` headers are known (e.g. the corpus, examples/): score accuracy.",
)
@click.option(
    "--runs",
    type=click.Path(exists=True, file_okay=False),
    help="A folder of `vdsl refine` runs: does the model recognise its own drawings (each run's last working round)?",
)
@click.option(
    "--distractors",
    type=click.IntRange(1, 25),
    default=4,
    show_default=True,
    help="Wrong choices per program, drawn from the concepts of the same tier (all programs, before --limit).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for drawing distractors and order.")
@click.option("--limit", type=click.IntRange(1), help="Only N programs, taken in turn from each tier (seeded).")
@click.option("--keep-comments", is_flag=True, help="Show comments too (the concept header is always removed).")
@click.option(
    "--anonymize/--no-anonymize",
    default=True,
    show_default=True,
    help="Rename the program's own identifiers, drop labels and replace free-text strings (it still compiles).",
)
@click.option(
    "--results",
    type=click.Path(dir_okay=False),
    help="One JSON line per program, written as each is answered (partial results survive a failure).",
)
@click.option("--resume", is_flag=True, help="With --results: keep the answers already there and ask the rest.")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False), help="Write the summary as JSON here.")
@click.option(
    "--deadline",
    type=click.FloatRange(0.01),
    metavar="SECONDS",
    help="Stop asking after this many seconds; what was answered is kept (--results, then --resume).",
)
@click.option("--progress/--no-progress", default=True, help="Print one line per answer on stderr as it comes.")
@click.option(
    "--stdlib",
    type=click.Choice(["all", "shapes", "none"]),
    default="all",
    show_default=True,
    help="Refuse programs that `use` stdlib modules beyond this (shapes: shapes, solids, layout; none: builtins "
    "only): a call such as bird() names the answer, measuring the stdlib instead of the model.",
)
@prompt_option(
    default="minimal",
    help_extra=" Here minimal is a one-paragraph description of vdsl; compact and full add that language reference.",
)
@llm_options
def recognize_cmd(
    file,
    choices,
    programs,
    runs,
    distractors,
    seed,
    limit,
    keep_comments,
    anonymize,
    results,
    resume,
    summary_path,
    deadline,
    progress,
    stdlib,
    prompt_variant,
    **kw,
):
    """Ask a model which concept a program draws, from the program text alone.

    \b
    vdsl recognize scene.vd --choices "sky,lake,terrace,traffic light,sandy beach"
    vdsl recognize --programs examples/ --distractors 4 --results rec.jsonl
    vdsl recognize --runs runs/batch --results own.jsonl

    The image is never shown. The program's `// concept:` header is removed, and comments too unless
    --keep-comments; its identifiers, labels and strings are anonymised unless --no-anonymize. With
    --programs or --runs, prints each answer, the accuracy with its 95% interval and chance level, and the
    answers by letter position; a reply whose letter and name disagree is flagged and counted wrong.
    """
    from ..llm.recognize import RecognitionStopped, folder_questions, recognize_items, summarize

    llm = pop_llm_options(kw)
    if sum(map(bool, (file, programs, runs))) != 1:
        raise UsageError("give a program FILE with --choices, or --programs DIR, or --runs DIR")
    if file:
        opts = split_choices(choices or "")
        if len(opts) < 2:
            raise UsageError("--choices needs at least two comma-separated concepts")
        source = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8", errors="replace")
        _refuse_stdlib([(file, source)], stdlib)
        client = make_client(config_from_options(**llm))
        try:
            r = recognize_source(
                client, source, opts, keep_comments=keep_comments, anonymize=anonymize, prompt=prompt_variant
            )
        finally:
            client.close()
        if r.index is None:
            why = r.flag or "could not tell which choice the answer names"
            click.echo(f"{why}; the reply was:\n{r.reply}", err=True)
            fail(1)
        click.echo(r.choice)
        return
    results_path = Path(results) if results else None
    if resume and results_path is None:
        raise UsageError("--resume needs --results FILE (the answers to keep)")
    if results_path is not None and results_path.exists() and not resume:
        raise UsageError(f"{results_path} exists: pass --resume to continue it, or remove it")
    q = folder_questions(Path(programs or runs), runs=bool(runs), limit=limit, seed=seed)
    chosen, pools, skipped = q.items, q.pools, q.skipped
    what = "file(s) without a concept header" if programs else "run(s) without a concept or a working round"
    if stdlib != "all":
        _refuse_stdlib([(it.key, it.source) for it in chosen], stdlib)

    def show(done: int, total: int, s) -> None:
        if progress:
            mark = "err" if s.answer.error else ("ok" if s.correct else ("flag" if s.answer.flag else "miss"))
            click.echo(f"[{done}/{total}] {mark:4} {s.file}", err=True)

    client = make_client(config_from_options(**llm))
    stopped = None
    try:
        scored = recognize_items(
            client,
            chosen,
            pool=pools,
            distractors=distractors,
            seed=seed,
            anonymize=anonymize,
            keep_comments=keep_comments,
            prompt=prompt_variant,
            journal=results_path,
            progress=show,
            deadline=time.monotonic() + deadline if deadline else None,
        )
    except RecognitionStopped as e:
        scored, stopped = e.scored, e.cause
    finally:
        client.close()
    for s in scored:
        if s.answer.error is not None:
            click.echo(f"err  {s.file}: {s.concept} -> {s.answer.error}")
            continue
        mark = "ok  " if s.correct else ("flag" if s.answer.flag else ("??  " if s.answer.index is None else "miss"))
        click.echo(
            f"{mark} {s.file}: {s.concept} -> {s.answer.choice if s.answer.choice is not None else '(no choice)'}"
            + (f" ({s.answer.flag})" if s.answer.flag else "")
            + f"   [{', '.join(f'{letter(i)}) {c}' for i, c in enumerate(s.choices))}]"
        )
    summary = summarize(scored)
    summary.update(
        distractors=distractors,
        seed=seed,
        anonymized=anonymize,
        pool={t: len(v) for t, v in sorted(pools.items())},
        planned=len(chosen),
        skipped=skipped,
        stopped=None if stopped is None else str(stopped),
    )
    for line in summary_lines(summary, what):
        click.echo(line)
    if summary_path:
        atomic_write(Path(summary_path), json.dumps(summary, indent=2) + "\n")
    if stopped is not None:
        if not isinstance(stopped, Exception | KeyboardInterrupt):  # SIGTERM: exit 143, as the group maps it
            raise stopped
        if isinstance(stopped, KeyboardInterrupt | Interrupted):
            raise Interrupted(
                "stopped" + (f"; {results_path} keeps the answers: --resume continues" if results_path else "")
            )
        raise IncompleteRun(
            f"stopped after {len(scored)} of {len(chosen)} programs: {stopped}\n"
            + (
                f"{results_path} keeps the answers so far: rerun with --resume to ask the rest"
                if results_path
                else "pass --results FILE to keep answers across runs"
            )
        )


def summary_lines(s: dict, skipped_what: str = "file(s) skipped") -> list[str]:
    """The summary of a scored folder as printed: accuracy with its interval and chance, letters, tiers."""

    def acc(d: dict) -> str:
        if not d["n"]:
            return "no programs answered"
        lo, hi = d["ci95"]
        return (
            f"{d['correct']}/{d['n']} = {100 * d['accuracy']:.1f}% "
            f"(95% CI {100 * lo:.1f}-{100 * hi:.1f}%; chance {100 * d['chance']:.1f}%)"
        )

    def letters(d: dict) -> str:
        ans = ", ".join(f"{k} {v}" for k, v in d["answers_by_letter"].items()) or "none"
        tru = ", ".join(f"{k} {v}" for k, v in d["truth_by_letter"].items()) or "none"
        return f"answers by letter: {ans} (the true concept was at: {tru})"

    out = [
        f"accuracy: {acc(s)}"
        + (f"; {s['unparsed']} answer(s) named no choice" if s["unparsed"] else "")
        + (f"; {s['flagged']} flagged (letter and name disagree, counted wrong)" if s["flagged"] else "")
        + (f"; {s['rejected']} request(s) rejected by the endpoint (counted wrong)" if s["rejected"] else "")
        + (f"; {s['skipped']} {skipped_what} skipped" if s.get("skipped") else ""),
        letters(s),
    ]
    for tier, d in s.get("by_tier", {}).items():
        out.append(f"  {tier or '(no tier)'}: {acc(d)}")
    pool = ", ".join(f"{t or '(no tier)'} {n}" for t, n in s.get("pool", {}).items())
    out.append(
        f"distractors: {s['distractors']} per program, seed {s['seed']}, from the same tier's concepts ({pool});"
        f" programs {'anonymised' if s['anonymized'] else 'shown as written'}"
    )
    return out


def _refuse_stdlib(programs: list[tuple[str, str]], policy: str) -> None:
    """UsageError naming the programs that use stdlib modules beyond --stdlib (nothing is asked)."""
    from ..checkup.stdlib_use import beyond

    bad = [(name, mods) for name, src in programs if (mods := beyond(src, policy))]
    if bad:
        name, mods = bad[0]
        raise UsageError(
            f"{len(bad)} program(s) use the stdlib beyond --stdlib {policy} (e.g. {name}: use {', '.join(mods)}; "
            "E219 for the checker); remove them, or pass --stdlib all to ask about them"
        )


COMMANDS = [prompt_cmd, grammar_cmd, refine_cmd, recognize_cmd]
