"""`vdsl render | check | fmt | doc`: the language core's commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..diagnostics import Diagnostic, Span, has_errors
from . import budget_option, budgets_from, fail, params_from, print_diags, size_from

FILES = click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True))


def _read_program(path: str, budgets, allow_files: bool):
    from ..api import compile, compile_file

    if path == "-":
        return compile(sys.stdin.buffer.read(), "<stdin>", budgets, "." if allow_files else None)
    return compile_file(path, budgets, allow_files)


@click.command()
@FILES
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Output file (.png .jpg .webp .svg .pdf), or a "
    "folder when rendering several files or seeds. Default: FILE's name with .png.",
)
@click.option("--size", help="Output size WxH in pixels; the drawing is scaled to fit (letterboxed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for param/rand/choice/gauss.")
@click.option(
    "--variants",
    type=click.IntRange(1, 10_000),
    default=1,
    show_default=True,
    help="Render this many seeds (seed, seed+1, ...) of each file: NAME_SEED.png.",
)
@click.option(
    "--scale", type=click.FloatRange(0, 16, min_open=True), default=1.0, show_default=True, help="Raster scale factor."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["png", "jpg", "jpeg", "webp", "svg", "pdf"]),
    help="Output format when -o is a folder or omitted (default png).",
)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a `param`.")
@click.option("--allow-files", is_flag=True, help='Allow `use "file.vd"` under the program\'s folder.')
@click.option("--json-ir", is_flag=True, help="Write the scene IR as JSON instead of an image.")
@click.option(
    "--labels",
    is_flag=True,
    help="Also write NAME.coco.json (COCO boxes and RLE masks of every labelled object) and "
    "NAME.instances.png (16-bit instance ids) beside each image. Needs pycocotools (the `labels` extra).",
)
@budget_option
def render(files, output, size, seed, variants, scale, fmt, params, allow_files, json_ir, labels, budgets):
    """Render vdsl programs to images.

    \b
    vdsl render examples/parrot.vd -o parrot.png
    vdsl render examples/*.vd -o out/ --size 256x256
    vdsl render scene.vd --variants 8 -o variants/
    vdsl render scene.vd --labels            # scene.png, scene.coco.json, scene.instances.png
    """
    from ..batch import Outputs, render_seeds

    after = None
    if labels:
        from ..dataset import coco

        coco.require()
        after = coco.write_image_labels
    b, sz, pv = budgets_from(budgets), size_from(size), params_from(params)
    outputs = Outputs.plan(output, len(files) > 1 or variants > 1, fmt, json_ir)
    failed = False
    for f in files:
        prog = _read_program(f, b, allow_files)
        print_diags(prog.diagnostics, prog.source)  # errors, or warnings of a program that runs
        if not prog.ok:
            failed = True
            continue
        for name in sorted(set(pv) - set(prog.params)):
            click.echo(f"warning: {f} has no param `{name}` (it has: {', '.join(prog.params) or 'none'})", err=True)
        stem = Path(f).stem if f != "-" else "stdin"
        for r in render_seeds(
            prog,
            stem,
            outputs,
            seed=seed,
            variants=variants,
            size=sz,
            scale=scale,
            params=pv,
            budgets=b,
            json_ir=json_ir,
            after=after,
        ):
            print_diags(r.diagnostics, prog.source)
            if r.ok:
                click.echo(str(r.path), err=True)
            else:
                failed = True
    if failed:
        fail(1)


@click.command()
@FILES
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "compact"]),
    default="text",
    show_default=True,
    help="text: rustc-style with source and caret; json: for tools; compact: one line each (the LLM repair form).",
)
@click.option(
    "--run/--no-run",
    default=True,
    show_default=True,
    help="Also evaluate at --seed to catch run-time errors and budget overruns.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--allow-files", is_flag=True)
@budget_option
def check(files, fmt, run, seed, allow_files, budgets):
    """Check programs and print every diagnostic.

    \b
    vdsl check scene.vd
    vdsl check examples/*.vd --format json
    """
    b = budgets_from(budgets)
    all_json = []
    failed = False
    for f in files:
        prog = _read_program(f, b, allow_files)
        diags = list(prog.diagnostics)
        if prog.ok and run:
            _, rdiags = prog.evaluate(seed)
            diags += rdiags
        failed = failed or has_errors(diags)
        if fmt == "json":
            all_json.extend(d.to_dict() for d in diags)
        else:
            print_diags(diags, prog.source, fmt)
    if fmt == "json":
        click.echo(json.dumps(all_json, indent=2))
    if failed:
        fail(1)
    if fmt == "text":
        click.echo(f"ok: {len(files)} file{'s' if len(files) != 1 else ''}", err=True)


@click.command()
@FILES
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if any file is not formatted; change nothing.")
@click.option("--write", "-w", is_flag=True, help="Rewrite the files in place (atomically).")
def fmt(files, check_only, write):
    """Format programs canonically (comments kept).

    \b
    vdsl fmt scene.vd            # print the formatted program
    vdsl fmt --write examples/*.vd
    vdsl fmt --check examples/*.vd
    """
    from ..atomic import atomic_write
    from ..format import format_source

    failed = unformatted = False
    for f in files:
        data = sys.stdin.buffer.read() if f == "-" else Path(f).read_bytes()
        try:
            src = data.decode("utf-8")
        except UnicodeDecodeError as e:  # never rewrite bytes we could not read
            print_diags(
                [
                    Diagnostic(
                        "E108",
                        f"the source is not valid UTF-8 (byte {e.start})",
                        Span(1, 1, 1, 2, f),
                        "save the file as UTF-8 text",
                    )
                ],
                None,
            )
            failed = True
            continue
        out, diags = format_source(src, f)
        if out is None:
            print_diags(diags, src)
            failed = True
            continue
        if check_only:
            if out != src:
                click.echo(f"would reformat {f}", err=True)
                unformatted = True
        elif write and f != "-":
            if out != src:
                atomic_write(Path(f), out)
                click.echo(f"reformatted {f}", err=True)
        else:
            click.echo(out, nl=False)
    if failed or unformatted:
        fail(1)


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
def doc(output):
    """Print the language reference (Markdown), generated from the signature table.

    \b
    vdsl doc -o docs/reference.md
    """
    from ..atomic import atomic_write
    from ..docs import reference_markdown

    text = reference_markdown()
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(Path(output), text)
    else:
        click.echo(text)


COMMANDS = [render, check, fmt, doc]
