"""`vdsl concepts | gallery`: concept lists and contact sheets."""

from __future__ import annotations

import json

import click

from ..concepts.lists import Concept, generate_compositions, generate_shape_concepts, load_concepts, sample_concepts
from . import fail


def _line(c: Concept) -> str:
    extra = []
    if c.aliases:
        extra.append("aliases: " + ", ".join(c.aliases))
    if c.sources:
        extra.append("sources: " + ", ".join(c.sources))
    if c.parts and c.tier == "compositions":
        extra.append("parts: " + ", ".join(c.parts))
    return f"{c.id}\t{c.name}" + (f"\t({'; '.join(extra)})" if extra else "")


@click.command("concepts")
@click.argument("tier", default="all", metavar="[TIER]")
@click.option("--sample", "n", type=int, default=None, help="Print N concepts drawn at random (per --seed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --sample and --generate.")
@click.option(
    "--generate",
    "gen",
    type=int,
    default=0,
    help="Also print N generated concepts (shapes: attribute compositions; compositions: "
    "random pairings); deterministic per --seed.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "names"]),
    default="text",
    show_default=True,
    help="text: id, name and extras, tab-separated; json: a list of "
    "objects; names: bare names, one a line (a file `vdsl concepts` reads back).",
)
def concepts_cmd(tier, n, seed, gen, fmt):
    """Print a concept list: TIER is shapes, objects, scenes, compositions or all (default),
    or the path of a text file with one concept per line.

    \b
    vdsl concepts objects
    vdsl concepts scenes --sample 10 --seed 3
    vdsl concepts compositions --generate 20 --seed 1 --format json
    """
    try:
        items = load_concepts(tier)
    except (ValueError, OSError) as e:
        raise click.BadParameter(str(e), param_hint="TIER") from None
    if n is not None:
        if n < 0:
            raise click.BadParameter("must be >= 0", param_hint="--sample")
        items = sample_concepts(items, n, seed)
    if gen:
        if gen < 0 or gen > 100_000:
            raise click.BadParameter("must be 0..100000", param_hint="--generate")
        if tier not in ("shapes", "compositions", "all"):
            raise click.BadParameter("only the shapes and compositions tiers have generators", param_hint="--generate")
        if tier in ("shapes", "all"):
            items = items + generate_shape_concepts(gen, seed)
        if tier in ("compositions", "all"):
            items = items + generate_compositions(gen, seed)
    if fmt == "json":
        click.echo(json.dumps([c.to_dict() for c in items], indent=2, ensure_ascii=False))
    elif fmt == "names":
        for c in items:
            click.echo(c.name)
    else:
        for c in items:
            click.echo(_line(c))


@click.command("gallery")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default="gallery.png",
    show_default=True,
    help="The contact sheet (.png, .jpg, .webp).",
)
@click.option("--seeds", type=int, default=3, show_default=True, help="Seeds per program (0, 1, ...).")
@click.option("--size", type=int, default=128, show_default=True, help="Cell size in pixels.")
@click.option(
    "--columns", type=int, default=None, help="Cells per row (default: whole programs per row, about 8 cells)."
)
@click.option("--strict", is_flag=True, help="Exit 1 when any cell failed.")
@click.option("--boxes", is_flag=True, help="Outline every labelled object with its label.")
def gallery_cmd(folder, output, seeds, size, columns, strict, boxes):
    """Render every .vd in FOLDER at several seeds into one labelled contact sheet.

    Each cell is labelled with the file's `// concept:` header (or its name) and the seed;
    a program that fails shows as a red cell with its error code.

    \b
    vdsl gallery examples -o sheet.png --seeds 3 --size 128
    vdsl gallery examples -o boxes.png --boxes
    """
    from ..gallery import gallery

    if columns is not None and columns < 1:
        raise click.BadParameter("must be >= 1", param_hint="--columns")
    try:
        cells = gallery(folder, output, seeds=seeds, size=size, columns=columns, boxes=boxes)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    failed = [c for c in cells if not c.ok]
    for c in failed:
        click.echo(f"{c.file} seed {c.seed}: {c.code} {c.message}", err=True)
    files = len({c.file for c in cells})
    click.echo(f"{output}: {files} programs x {seeds} seeds, {len(failed)} failed", err=True)
    if strict and failed:
        fail(1)


COMMANDS = [concepts_cmd, gallery_cmd]
