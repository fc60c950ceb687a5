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
from ..llm.prompt import DEFAULT_FEEDBACK, TOKEN_TARGET, estimate_tokens, letter, system_prompt
from ..llm.recognize import recognize_folder, recognize_source, split_choices
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
from . import fail


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
    type=int,
    default=TOKEN_TARGET,
    show_default=True,
    help="Shrink the prompt (fewer docs and examples) until its estimate fits this many tokens.",
)
@click.option("--stats", is_flag=True, help="Also print the size estimate to stderr.")
def prompt_cmd(token_target, stats):
    """Print the system prompt given to the model (generated from the signature table, grammar
    overview, stdlib and example programs, so it always matches the language)."""
    text = system_prompt(token_target)
    click.echo(text, nl=False)
    if stats:
        click.echo(f"{len(text)} characters, about {estimate_tokens(text)} tokens", err=True)


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

    Writes round_K.vd / round_K.png per round (round_K.failed.vd for a round that never compiled),
    transcript.jsonl, strip.png and index.html. Exit 0 when some round produced a working program,
    1 when none did or the endpoint failed for good (rerun with --resume), 2 for usage errors or no
    endpoint configured, 130 when interrupted.
    """
    llm = pop_llm_options(kw)
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
        )
        if v is not None
    }
    settings = RefineSettings(concept or "", sample=sample, seed=seed, **overrides)
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
        click.echo(f"summary: {out_root / 'summary.md'}, {out_root / 'summary.csv'}", err=True)
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
    help="A folder of programs whose `// concept:` headers are known: score accuracy.",
)
@click.option(
    "--distractors",
    type=click.IntRange(1, 25),
    default=4,
    show_default=True,
    help="Wrong choices per program, drawn from the other programs' concepts.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for drawing distractors and order.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N programs (sorted by path).")
@click.option("--keep-comments", is_flag=True, help="Show comments too (the concept header is always removed).")
@click.option("--results", type=click.Path(dir_okay=False), help="Write one JSON line per program here.")
@llm_options
def recognize_cmd(file, choices, programs, distractors, seed, limit, keep_comments, results, **kw):
    """Ask a model which concept a program draws, from the program text alone.

    \b
    vdsl recognize scene.vd --choices "sky,lake,terrace,traffic light,sandy beach"
    vdsl recognize --programs examples/ --distractors 4

    The image is never shown. The program's `// concept:` header is removed, and comments too unless
    --keep-comments. With --programs, prints each answer and the accuracy (and chance level).
    """
    llm = pop_llm_options(kw)
    if bool(file) == bool(programs):
        raise UsageError("give a program FILE with --choices, or --programs DIR")
    if file:
        opts = split_choices(choices or "")
        if len(opts) < 2:
            raise UsageError("--choices needs at least two comma-separated concepts")
        source = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8", errors="replace")
        client = make_client(config_from_options(**llm))
        try:
            r = recognize_source(client, source, opts, keep_comments=keep_comments)
        finally:
            client.close()
        if r.index is None:
            click.echo(f"could not tell which choice the answer names; the reply was:\n{r.reply}", err=True)
            fail(1)
        click.echo(r.choice)
        return
    client = make_client(config_from_options(**llm))
    try:
        scored, skipped = recognize_folder(
            client, Path(programs), distractors=distractors, seed=seed, limit=limit, keep_comments=keep_comments
        )
    finally:
        client.close()
    correct = sum(s.correct for s in scored)
    rejected = sum(s.answer.error is not None for s in scored)
    unparsed = sum(s.answer.index is None for s in scored) - rejected
    for s in scored:
        if s.answer.error is not None:
            click.echo(f"err  {s.file}: {s.concept} -> {s.answer.error}")
            continue
        mark = "ok  " if s.correct else ("??  " if s.answer.index is None else "miss")
        click.echo(
            f"{mark} {s.file}: {s.concept} -> {s.answer.choice if s.answer.choice is not None else '(no choice)'}"
            f"   [{', '.join(f'{letter(i)}) {c}' for i, c in enumerate(s.choices))}]"
        )
    n = len(scored)
    chance = sum(1 / len(s.choices) for s in scored) / n if n else 0.0
    click.echo(
        f"accuracy: {correct}/{n} = {100 * correct / n:.1f}% (chance {100 * chance:.1f}%)"
        + (f"; {unparsed} answer(s) named no choice" if unparsed else "")
        + (f"; {rejected} request(s) rejected by the endpoint (counted wrong)" if rejected else "")
        + (f"; {skipped} file(s) without a concept header skipped" if skipped else "")
    )
    if results:
        atomic_write(Path(results), "".join(json.dumps(s.to_dict()) + "\n" for s in scored))


COMMANDS = [prompt_cmd, refine_cmd, recognize_cmd]
