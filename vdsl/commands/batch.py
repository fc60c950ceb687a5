"""`vdsl batch submit | ingest | status`: Batch API folders written by `refine --batch` and `dataset build --llm-batch`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..llm.batches import ingest, status, submit_and_wait
from ..llm.cache import ResponseCache
from ..llm.config import default_cache_dir
from ..llm.options import config_from_options, make_client
from .llm import llm_options, parse_price


@click.group("batch")
def batch_group():
    """Batch API folders: submit written requests, ingest results run elsewhere, show totals.

    \b
    vdsl refine --concepts objects --out runs/b --batch runs/b/batches --batch-export
    vllm run-batch -i runs/b/batches/requests-000.jsonl -o results.jsonl --model MODEL
    vdsl batch ingest runs/b/batches results.jsonl
    vdsl refine --concepts objects --out runs/b --batch runs/b/batches --batch-export --resume
    """


@batch_group.command("submit")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--poll", type=click.FloatRange(0.01), default=30.0, show_default=True, help="Seconds between polls.")
@llm_options
def submit_cmd(folder, poll, **kw):
    """Submit FOLDER's written requests to the endpoint's Batch API, wait, and ingest the results."""
    client = make_client(config_from_options(**kw))
    try:
        counts = submit_and_wait(folder, client, poll)
    finally:
        client.close()
    click.echo(json.dumps(counts), err=True)


@batch_group.command("ingest")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.argument("results", type=click.Path(exists=True, dir_okay=False))
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Response cache folder.  [default: ~/.cache/vdsl]")
def ingest_cmd(folder, results, cache_dir):
    """Put a Batch API results file (e.g. from `vllm run-batch`) into the response cache; then rerun with --resume."""
    cache = ResponseCache(Path(cache_dir) if cache_dir else default_cache_dir())
    try:
        counts = ingest(folder, cache, Path(results).read_text(encoding="utf-8"), str(results))
    finally:
        cache.close()
    click.echo(
        f"ingested {counts['ok']} replies, {counts['failed']} refused (their rounds fail), {counts['retry']} to ask "
        f"again, {counts['unknown']} not from {folder}, {counts['malformed']} malformed",
        err=True,
    )


@batch_group.command("status")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--price", metavar="IN,OUT", help="Price per 1M prompt,completion tokens: adds the cost.")
def status_cmd(folder, price):
    """Files, their states, ingested counts, tokens and cost of a batch folder (JSON)."""
    click.echo(json.dumps(status(folder, parse_price(price)), indent=1))


COMMANDS = [batch_group]
