"""`vdsl checkup`: score several models on drawing, improving and recognising concepts, in one run and one report (logic in vdsl.checkup)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..errors import UsageError
from . import stdlib_option


def _prices(values: tuple[str, ...], n: int) -> list[tuple[float, float] | None]:
    out = []
    for v in values:
        try:
            p = tuple(float(x) for x in v.split(","))
            if len(p) != 2 or min(p) < 0:
                raise ValueError
        except ValueError:
            raise click.BadParameter(
                f"expected IN,OUT per 1M tokens (e.g. 0.15,0.60), not {v!r}", param_hint="--price"
            ) from None
        out.append(p)
    if not out:
        return [None] * n
    if len(out) == 1:
        return out * n
    if len(out) != n:
        raise click.BadParameter(
            f"give one --price for all models or one per --model ({n}), not {len(out)}", param_hint="--price"
        )
    return out


@click.command("checkup")
@click.option("--model", "models", multiple=True, required=True, help="A model to check (repeatable).")
@click.option(
    "--endpoint",
    "endpoints",
    multiple=True,
    metavar="URL",
    help="The OpenAI-compatible endpoint of each --model, in order (one for all, or one per model); "
    "default OPENAI_BASE_URL. The key is OPENAI_API_KEY.",
)
@click.option(
    "--tiers",
    default="shapes,objects,scenes",
    show_default=True,
    help="Comma-separated concept tiers (shapes, objects, scenes, compositions) or concept files.",
)
@click.option("--concepts-per-tier", type=click.IntRange(1, 10_000), default=5, show_default=True)
@click.option(
    "--samples", type=click.IntRange(1, 100), default=2, show_default=True, help="Drawings per concept (diversity)."
)
@click.option(
    "--rounds", type=click.IntRange(1, 100), default=3, show_default=True, help="Rounds in all, round 0 included."
)
@click.option("--max-repairs", type=click.IntRange(0, 100), default=3, show_default=True)
@click.option(
    "--scorer",
    default="pixel",
    show_default=True,
    help="pixel (needs nothing; diversity only), clip:ARCH:PRETRAINED (open_clip, e.g. clip:ViT-B-32:laion2b_s34b_b79k, "
    "or clip:ARCH:/path/to/weights), judge:MODEL (a vision-language model on --judge-endpoint).",
)
@click.option(
    "--judge-endpoint", metavar="URL", help="With --scorer judge:MODEL: its endpoint [default: OPENAI_BASE_URL]."
)
@stdlib_option("none")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Concept sampling, candidates, distractors, renders."
)
@click.option("--limit", type=click.IntRange(1), help="At most N concepts per tier (the distractor pool stays whole).")
@click.option(
    "--candidates",
    type=click.IntRange(2, 1000),
    default=16,
    show_default=True,
    help="Concepts per tier the scorer ranks.",
)
@click.option(
    "--distractors",
    type=click.IntRange(1, 25),
    default=4,
    show_default=True,
    help="Wrong choices per recognition question.",
)
@click.option(
    "--price",
    "prices",
    multiple=True,
    metavar="IN,OUT",
    help="Price per 1M prompt,completion tokens (one, or one per model).",
)
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.7, show_default=True)
@click.option("--max-tokens", type=click.IntRange(1, 1_000_000), default=4096, show_default=True)
@click.option(
    "--timeout", type=click.FloatRange(0.01, 3600), default=120.0, show_default=True, help="Seconds per reply."
)
@click.option("--retries", type=click.IntRange(0, 50), default=6, show_default=True)
@click.option("--backoff", type=click.FloatRange(0, 600), default=1.0, show_default=True)
@click.option(
    "--concurrency", type=click.IntRange(1, 256), default=4, show_default=True, help="Requests in flight per model."
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar="VDSL_CACHE_DIR", show_envvar=True)
@click.option("-o", "--out", "out_dir", default="runs/checkup", show_default=True, type=click.Path(file_okay=False))
@click.option(
    "--resume", is_flag=True, help="Continue the check-up in -o after Ctrl-C, a crash or an endpoint failure."
)
@click.option(
    "--deadline",
    type=click.FloatRange(0.01),
    metavar="SECONDS",
    help="Stop asking after this many seconds; --resume continues.",
)
@click.option("--progress/--no-progress", default=True)
def checkup_cmd(models, endpoints, tiers, judge_endpoint, prices, out_dir, resume, deadline, progress, **kw):
    """The vision check-up: each model draws concepts of each tier, repairs and improves them round after
    round, recognises its own programs, and is scored; one report compares them.

    \b
    vdsl checkup --model gpt-4o-mini --model Qwen/Qwen2.5-Coder-7B-Instruct \\
        --endpoint https://api.openai.com/v1 --endpoint http://localhost:8000/v1 \\
        --tiers shapes,objects,scenes --concepts-per-tier 10 --samples 3 --rounds 3 -o runs/checkup
    vdsl checkup ... -o runs/checkup --resume

    Writes results.json (config, versions, seeds, every per-item score), leaderboard.md, plots/*.png and a
    self-contained index.html. Exit 0 when every model finished, 1 when one did not (the report says
    why; rerun with --resume), 2 for usage errors, 130 when interrupted.
    """
    from ..checkup.run import CheckupConfig, ModelSpec, run_checkup
    from ..checkup.scorers import make_scorer

    names = list(models)
    if len(set(names)) != len(names):
        raise UsageError("each --model once")
    eps = list(endpoints)
    if eps and len(eps) not in (1, len(names)):
        raise UsageError(f"give one --endpoint for all models or one per --model ({len(names)}), not {len(eps)}")
    eps = eps * len(names) if len(eps) == 1 else eps or [None] * len(names)
    price = _prices(prices, len(names))
    specs = [ModelSpec(n, e, p) for n, e, p in zip(names, eps, price)]
    cfg = CheckupConfig(
        models=specs,
        tiers=[t.strip() for t in tiers.split(",") if t.strip()],
        concepts_per_tier=kw["concepts_per_tier"],
        samples=kw["samples"],
        rounds=kw["rounds"],
        max_repairs=kw["max_repairs"],
        scorer=kw["scorer"],
        stdlib=kw["stdlib"],
        seed=kw["seed"],
        limit=kw["limit"],
        candidates=kw["candidates"],
        distractors=kw["distractors"],
        temperature=kw["temperature"],
        max_tokens=kw["max_tokens"],
    )
    if not cfg.tiers:
        raise UsageError("--tiers names no tier")
    llm = {k: kw[k] for k in ("timeout", "retries", "backoff", "concurrency", "no_cache", "cache_dir")}
    llm.update(temperature=kw["temperature"], max_tokens=kw["max_tokens"])
    options = {"base_url": judge_endpoint} if judge_endpoint else {}
    if cfg.scorer.startswith("judge:"):
        options.update({k: llm[k] for k in ("timeout", "retries", "concurrency")})
        if not llm["no_cache"]:
            options["cache_dir"] = llm["cache_dir"]
    scorer = make_scorer(cfg.scorer, **options)  # missing weights: a clear UsageError, nothing asked
    out = Path(out_dir)
    results = run_checkup(
        cfg,
        out,
        llm,
        resume=resume,
        progress=progress,
        deadline=time.monotonic() + deadline if deadline else None,
        scorer=scorer,
    )
    click.echo((out / "leaderboard.md").read_text(encoding="utf-8"))
    click.echo(f"report: {out / 'index.html'}, {out / 'results.json'}", err=True)
    return results


COMMANDS = [checkup_cmd]
