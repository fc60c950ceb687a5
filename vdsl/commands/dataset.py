"""`vdsl dataset build | merge | stats | preview`: datasets of renders (logic in vdsl.dataset)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from ..errors import UsageError
from . import budgets_from, constrain_option, prompt_option, size_from, stdlib_option


def _echo(msg: str) -> None:
    click.echo(msg, err=True)


@click.group("dataset", context_settings={"help_option_names": ["-h", "--help"]})
def dataset_group():
    """Build image datasets from vdsl programs, and inspect them.

    \b
    vdsl dataset build --programs examples/ --variants 8 --size 128 -o data/drawings
    vdsl dataset build --concepts objects --programs-per-concept 4 --variants 16 -o data/objects
    vdsl dataset stats data/drawings
    vdsl dataset preview data/drawings -o grid.png
    """


def _parse_size(text: str) -> tuple[int, int]:
    w, h = size_from(text)
    if not (8 <= w <= 4096 and 8 <= h <= 4096):
        raise click.BadParameter("each side must be 8..4096 pixels", param_hint="--size")
    return w, h


def _command(params: dict) -> str:
    """The canonical command line of a build (machine-local options left out), for the dataset card."""
    parts = ["vdsl", "dataset", "build"]
    for d in params["programs"]:
        parts += ["--programs", d]
    if params["concepts"]:
        parts += ["--concepts", params["concepts"], "--programs-per-concept", str(params["programs_per_concept"])]
        if params["refine_rounds"]:
            parts += ["--refine-rounds", str(params["refine_rounds"])]
        if params["keep_drafts"]:
            parts += ["--keep-drafts"]
        if params["model"]:
            parts += ["--model", params["model"]]
    parts += ["--variants", str(params["variants"])]
    if params["seed_start"]:
        parts += ["--seed-start", str(params["seed_start"])]
    parts += ["--size", params["size"]]
    if params["min_std"] is not None:
        parts += ["--min-std", f"{params['min_std']:g}"]
    for b in params["budgets"]:
        parts += ["--budget", b]
    if params["shard"]:
        parts += ["--shard", params["shard"]]
    if params["fmt"] != "files":
        parts += ["--format", params["fmt"], "--shard-size", str(params["shard_size"])]
    if params.get("labels"):
        parts += ["--labels"]
    if params.get("stdlib", "all") != "all":
        parts += ["--stdlib", params["stdlib"]]
    parts += ["-o", params["out"]]
    return " ".join(shlex.quote(p) for p in parts)


@dataset_group.command("build")
@click.option(
    "--programs",
    "programs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="A folder of .vd files with a `// concept:` header (repeatable). Works offline.",
)
@click.option(
    "--concepts",
    metavar="TIER_OR_FILE",
    help="Generate programs with the LLM for a concept tier (shapes, objects, scenes, compositions, "
    "all) or a file with one concept per line.",
)
@click.option(
    "--programs-per-concept",
    "programs_per_concept",
    type=click.IntRange(1, 10_000),
    default=4,
    show_default=True,
    help="With --concepts: programs K asked for each concept.",
)
@click.option(
    "--refine-rounds",
    type=click.IntRange(0, 100),
    default=0,
    show_default=True,
    help="With --concepts: improvement rounds after the first working program (like `vdsl refine`).",
)
@click.option(
    "--max-repairs",
    type=click.IntRange(0, 100),
    default=3,
    show_default=True,
    help="With --concepts: repair requests per round when a program has errors.",
)
@click.option(
    "--keep-drafts",
    is_flag=True,
    help="With --refine-rounds: keep every working round as a program, not only the last.",
)
@click.option(
    "--model",
    envvar="VDSL_MODEL",
    show_envvar=True,
    help="With --concepts: the model (endpoint from OPENAI_BASE_URL / OPENAI_API_KEY).",
)
@click.option(
    "--llm-concurrency",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="With --concepts: requests in flight at once.",
)
@click.option(
    "--llm-deadline",
    type=click.FloatRange(0.01),
    metavar="SECONDS",
    help="With --concepts: stop generating after this many seconds (every request and wait); rerun to continue.",
)
@click.option(
    "--llm-batch",
    type=click.Path(file_okay=False),
    help="With --concepts: send the requests through the endpoint's Batch API, one batch per round or repair "
    "step, state kept in this folder (see `vdsl batch`).",
)
@click.option(
    "--llm-batch-export",
    is_flag=True,
    help="With --llm-batch: only write each pass's requests (Batch API JSONL, e.g. for `vllm run-batch`) and stop.",
)
@prompt_option(help_extra=" With --concepts.")
@constrain_option
@click.option("--no-cache", is_flag=True, help="With --concepts: neither read nor write the response cache.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    envvar="VDSL_CACHE_DIR",
    show_envvar=True,
    help="With --concepts: response cache folder [default: ~/.cache/vdsl].",
)
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder (created; rerun with the same command to resume).",
)
@click.option(
    "--variants",
    type=click.IntRange(1, 100_000),
    default=8,
    show_default=True,
    help="Images per program, one per seed.",
)
@click.option(
    "--seed-start",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="First seed; program P renders seeds S..S+V-1.",
)
@click.option("--size", default="128", show_default=True, help="Image size S or WxH (the drawing is scaled to fit).")
@click.option("--workers", type=click.IntRange(0, 1024), default=0, help="Render processes [default: all cores].")
@click.option(
    "--timeout",
    type=click.FloatRange(0.05, 86_400),
    default=60.0,
    show_default=True,
    help="Seconds one render may take before its worker is killed and the render recorded as a timeout.",
)
@click.option(
    "--memory-limit",
    "memory_limit",
    type=click.IntRange(0, 1 << 30),
    default=2048,
    show_default=True,
    metavar="MIB",
    help="Address space one render may use above its worker's own, in MiB (0: no cap; "
    "Linux). A render over it is recorded as `memory` (E413).",
)
@click.option(
    "--min-std",
    type=click.FloatRange(0, 255),
    default=None,
    help="Drop renders whose every RGBA channel has a standard deviation below this "
    "(blank or nearly uniform).  [default: 2]",
)
@click.option("--shard", metavar="i/N", help="Build only part i of N (0-based); join the parts with `merge`.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["files", "webdataset", "parquet"]),
    default="files",
    show_default=True,
    help="Output: an image folder, WebDataset .tar shards or Parquet shards (shards/shard-NNNNNN.*).",
)
@click.option(
    "--shard-size",
    type=click.IntRange(1, 10_000_000),
    default=1000,
    show_default=True,
    help="Images per shard (--format webdataset|parquet).",
)
@click.option(
    "--retry-failed", is_flag=True, help="Render again images recorded as timeouts, over the memory cap, or crashes."
)
@click.option(
    "--budget",
    "budgets",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a budget for every program (see `vdsl doc`), e.g. --budget fuel=5000000.",
)
@click.option(
    "--labels",
    is_flag=True,
    help="Also write each image's labelled objects as COCO (boxes, RLE masks) beside it, and "
    "annotations.coco.json for the dataset. Needs pycocotools (the `labels` extra).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="What renders: local worker processes, or Ray tasks (a local Ray instance, or the cluster at "
    "--ray-address). The outputs are the same. Ray needs the `ray` extra.",
)
@click.option(
    "--ray-address", metavar="ADDR", help="With --engine ray: the cluster to join (e.g. ray://head:10001, auto)."
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar (on a terminal).")
@stdlib_option()
def build_cmd(**kw):
    """Render programs x seeds into images/<concept>/<program>_<seed>.png, with metadata.jsonl.

    Killed at any moment, the same command finishes the job without redoing finished work.

    \b
    vdsl dataset build --programs examples/ --variants 8 --size 128 -o data/drawings
    vdsl dataset build --programs examples/ --shard 0/4 -o data/part0      # on machine 0 of 4
    vdsl dataset merge data/part0 data/part1 data/part2 data/part3 -o data/drawings
    vdsl dataset build --programs examples/ --format webdataset --shard-size 1000 -o data/wds
    vdsl dataset build --programs examples/ --labels -o data/labelled   # + COCO boxes and masks
    vdsl dataset build --programs examples/ --engine ray --ray-address auto -o data/drawings
    """
    from ..dataset.build import BuildOptions, build
    from ..dataset.filters import DEFAULT_MIN_STD
    from ..dataset.shard import parse_shard
    from ..dataset.stats import summary_lines

    size = _parse_size(kw["size"])
    try:
        shard = parse_shard(kw["shard"])
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--shard") from None
    if not kw["programs"] and not kw["concepts"]:
        raise UsageError("nothing to build: give --programs DIR and/or --concepts TIER_OR_FILE")
    if kw["ray_address"] and kw["engine"] != "ray":
        raise UsageError("--ray-address is for --engine ray")
    budgets = budgets_from(kw["budgets"])
    llm = {
        "model": kw["model"],
        "concurrency": kw["llm_concurrency"],
        "no_cache": kw["no_cache"],
        "cache_dir": kw["cache_dir"],
        "deadline": kw["llm_deadline"],
        "batch": kw["llm_batch"],
        "batch_export": kw["llm_batch_export"],
        "prompt": kw["prompt_variant"],
        "constrain": kw["constrain"],
    }
    if kw["llm_batch_export"] and not kw["llm_batch"]:
        raise UsageError("--llm-batch-export goes with --llm-batch DIR")
    opts = BuildOptions(
        out=Path(kw["out"]),
        programs=tuple(Path(p) for p in kw["programs"]),
        concepts=kw["concepts"],
        programs_per_concept=kw["programs_per_concept"],
        refine_rounds=kw["refine_rounds"],
        max_repairs=kw["max_repairs"],
        keep_drafts=kw["keep_drafts"],
        llm=llm,
        variants=kw["variants"],
        seed_start=kw["seed_start"],
        size=size,
        workers=kw["workers"],
        timeout=kw["timeout"],
        memory_limit=(kw["memory_limit"] << 20) if kw["memory_limit"] else None,
        min_std=DEFAULT_MIN_STD if kw["min_std"] is None else kw["min_std"],
        budgets=budgets,
        shard=shard,
        retry_failed=kw["retry_failed"],
        progress=kw["progress"],
        labels=kw["labels"],
        engine=kw["engine"],
        ray_address=kw["ray_address"],
        command=_command(kw),
        stdlib=kw["stdlib"],
        format=kw["fmt"],
        shard_size=kw["shard_size"],
    )
    stats = build(opts, echo=_echo)
    for line in summary_lines(stats["counts"]):
        _echo(line)
    _echo(f"dataset: {opts.out}")


@dataset_group.command("merge")
@click.argument("shards", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="The merged dataset folder.")
@click.option("--link", is_flag=True, help="Hard-link images instead of copying them (same file system).")
def merge_cmd(shards, out, link):
    """Join shard folders (built with --shard i/N) into one dataset, equal to an unsharded build.

    \b
    vdsl dataset merge data/part0 data/part1 -o data/drawings
    """
    from ..dataset.shard import merge
    from ..dataset.stats import summary_lines

    command = " ".join(
        shlex.quote(p) for p in ["vdsl", "dataset", "merge", *shards, "-o", out] + (["--link"] if link else [])
    )
    stats = merge(list(shards), out, link=link, command=command, echo=_echo)
    for line in summary_lines(stats["counts"]):
        _echo(line)
    _echo(f"dataset: {out}")


@dataset_group.command("stats")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True)
@click.option(
    "--top", type=click.IntRange(0), default=50, show_default=True, help="Concepts listed in the table (0: all)."
)
def stats_cmd(directory, fmt, top):
    """Counts per concept and tier, what was dropped and why, sizes.

    \b
    vdsl dataset stats data/drawings
    vdsl dataset stats data/drawings --format json
    """
    from ..dataset import manifest as mf
    from ..dataset.stats import compute, load, markdown_tables

    root = Path(directory)
    try:
        st = load(root)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    # recount from the files themselves: they are the truth, stats.json a summary of them
    counts = compute(
        mf.read_jsonl(root / mf.METADATA), mf.read_jsonl(root / mf.FAILURES), mf.read_jsonl(root / mf.PROGRAMS), root
    )
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "counts": counts,
                    "config": st.get("config"),
                    "command": st.get("command"),
                    "complete": st.get("complete"),
                },
                indent=2,
            )
        )
        return
    if fmt == "markdown":
        click.echo(markdown_tables(counts, top or None), nl=False)
        return
    _print_tables(root, st, counts, top)


def _print_tables(root: Path, st: dict, counts: dict, top: int) -> None:
    from rich.console import Console
    from rich.table import Table
    from ..dataset.stats import FILE_REASONS, IMAGE_REASONS, PROGRAM_REASONS, REASON_TEXT, UNTIERED, human_bytes

    con = Console(width=max(100, Console().width))
    c = counts
    con.print(
        f"[bold]{root}[/]  {c['images']} images, {c['concepts']} concepts, {c['programs']} programs "
        f"({c['programs_ok']} kept images), {human_bytes(c.get('bytes', 0))} of PNG; sizes "
        f"{', '.join(f'{k} ({v})' for k, v in c['image_sizes'].items()) or '-'}"
    )
    if st.get("command"):
        con.print(f"built by: {st['command']}")
    if st.get("complete") is False:
        con.print("[yellow]the build is not complete[/]")
    t = Table(title="dropped, by reason")
    t.add_column("reason")
    t.add_column("count", justify="right")
    for r in PROGRAM_REASONS:
        t.add_row(REASON_TEXT[r], str(c["programs_failed"].get(r, 0)))
    for r in IMAGE_REASONS:
        t.add_row(REASON_TEXT[r], str(c["images_dropped"].get(r, 0)))
    for r in FILE_REASONS:
        if c.get("files_skipped", {}).get(r):
            t.add_row(REASON_TEXT[r], str(c["files_skipped"][r]))
    con.print(t)
    t = Table(title="per tier")
    for col in ("tier", "concepts", "programs", "failed to compile", "images", "dropped"):
        t.add_column(col, justify="left" if col == "tier" else "right")
    for name, e in c["tiers"].items():
        t.add_row(
            name, str(e["concepts"]), str(e["programs"]), str(e["programs_failed"]), str(e["images"]), str(e["dropped"])
        )
    con.print(t)
    items = list(c["per_concept"].items())
    t = Table(title=f"per concept ({len(items)})")
    for col in ("concept", "tier", "programs", "failed", "images", "dropped"):
        t.add_column(col, justify="left" if col in ("concept", "tier", "dropped") else "right")
    for cid, e in items[:top] if top else items:
        t.add_row(
            cid,
            e["tier"] or UNTIERED,
            str(e["programs"]),
            str(e["programs_failed"]),
            str(e["images"]),
            ", ".join(f"{r} {n}" for r, n in e["dropped"].items()) or "-",
        )
    con.print(t)
    if top and len(items) > top:
        con.print(f"… {len(items) - top} more concepts (--top 0 lists all)")


@dataset_group.command("preview")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Grid image (.png .jpg .webp).")
@click.option("-n", "count", type=click.IntRange(1, 10_000), default=16, show_default=True, help="Samples shown.")
@click.option("--cols", type=click.IntRange(1, 1000), help="Columns [default: about square].")
@click.option("--cell", type=click.IntRange(32, 1024), default=128, show_default=True, help="Tile size in pixels.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which random samples.")
@click.option("--concept", help="Only images of this concept (name or id).")
@click.option("--boxes", is_flag=True, help="Outline each labelled object (a dataset built with --labels).")
def preview_cmd(directory, output, count, cols, cell, seed, concept, boxes):
    """A labelled grid of random samples of a dataset.

    \b
    vdsl dataset preview data/drawings -o grid.png
    vdsl dataset preview data/drawings -o cars.png --concept car -n 25
    """
    from ..dataset.preview import preview

    try:
        n = preview(directory, output, count, cols, cell, seed, concept, boxes)
    except (FileNotFoundError, ValueError) as e:
        raise UsageError(str(e)) from None
    _echo(f"{output}: {n} samples")


COMMANDS = [dataset_group]
