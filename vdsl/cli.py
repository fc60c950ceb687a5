"""The command line: `vdsl render | check | fmt | doc | ...` (click); exit 0 ok, 1 diagnostics, 2 usage."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .budgets import DEFAULT, Budgets
from .diagnostics import Diagnostic, Span, format_compact, format_json, format_text, has_errors


class DiagnosticsFound(click.ClickException):
    exit_code = 1

    def show(self, file=None):  # diagnostics were printed already
        pass


def _budgets(items: tuple[str, ...]) -> Budgets:
    if not items:
        return DEFAULT
    kw = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(f"expected name=value, got {item!r}", param_hint="--budget")
        k, v = item.split("=", 1)
        try:
            kw[k.strip()] = float(v) if "." in v else int(v)
        except ValueError:
            raise click.BadParameter(f"{item!r}: the value must be a number", param_hint="--budget")
    try:
        return DEFAULT.with_overrides(**kw)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--budget")


def _params(items: tuple[str, ...]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(f"expected name=value, got {item!r}", param_hint="--param")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    t = text.lower().strip()
    try:
        w, h = t.split("x", 1) if "x" in t else (t, t)
        return int(w), int(h)
    except ValueError:
        raise click.BadParameter(f"expected S or WxH like 128 or 256x192, got {text!r}", param_hint="--size")


def _print_diags(diags: list[Diagnostic], source: str | None, fmt: str = "text") -> None:
    if not diags:
        return
    if fmt == "json":
        click.echo(format_json(diags))
    elif fmt == "compact":
        click.echo(format_compact(diags), err=True)
    else:
        click.echo(format_text(diags, source, color=sys.stderr.isatty()), err=True, nl=False)


budget_option = click.option("--budget", "budgets", multiple=True, metavar="NAME=VALUE",
                             help="Override a budget (see `vdsl doc`), e.g. --budget fuel=5000000.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vdsl")
def main():
    """vdsl: a small, safe drawing language for language models.

    Programs are parsed, type-checked and evaluated under hard budgets, then drawn with Skia.
    """


def _read_program(path: str, budgets: Budgets, allow_files: bool):
    from .api import compile, compile_file
    if path == "-":
        data = sys.stdin.buffer.read()
        return compile(data, "<stdin>", budgets, "." if allow_files else None)
    return compile_file(path, budgets, allow_files)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("-o", "--output", type=click.Path(), help="Output file (.png .jpg .webp .svg .pdf), or a "
              "folder when rendering several files or seeds. Default: FILE's name with .png.")
@click.option("--size", help="Output size WxH in pixels; the drawing is scaled to fit (letterboxed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for param/rand/choice/gauss.")
@click.option("--variants", type=int, default=1, show_default=True,
              help="Render this many seeds (seed, seed+1, ...) of each file: NAME_SEED.png.")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Raster scale factor.")
@click.option("--format", "fmt", type=click.Choice(["png", "jpg", "jpeg", "webp", "svg", "pdf"]),
              help="Output format when -o is a folder or omitted (default png).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a `param`.")
@click.option("--allow-files", is_flag=True, help="Allow `use \"file.vd\"` under the program's folder.")
@click.option("--json-ir", is_flag=True, help="Write the scene IR as JSON instead of an image.")
@budget_option
def render(files, output, size, seed, variants, scale, fmt, params, allow_files, json_ir, budgets):
    """Render vdsl programs to images.

    \b
    vdsl render examples/parrot.vd -o parrot.png
    vdsl render examples/*.vd -o out/ --size 256x256
    vdsl render scene.vd --variants 8 -o variants/
    """
    from .api import fit
    from .diagnostics import VdslError
    from .backends import FORMATS, save
    b = _budgets(budgets)
    sz = _size(size)
    pv = _params(params)
    if scale <= 0 or scale > 16:
        raise click.BadParameter("must be in (0, 16]", param_hint="--scale")
    if variants < 1 or variants > 10_000:
        raise click.BadParameter("must be 1..10000", param_hint="--variants")
    many = len(files) > 1 or variants > 1
    out_dir = None
    if output and many and Path(output).suffix.lower().lstrip(".") in FORMATS + ("jpeg", "json"):
        raise click.BadParameter("give a folder when rendering several files or seeds (e.g. -o out/)",
                                 param_hint="-o")
    if output and (many or output.endswith(("/", "\\")) or Path(output).is_dir()):
        out_dir = Path(output)
        out_dir.mkdir(parents=True, exist_ok=True)
    ext = (fmt or "png").replace("jpeg", "jpg")
    failed = False
    for f in files:
        prog = _read_program(f, b, allow_files)
        _print_diags(prog.diagnostics, prog.source)       # errors, or warnings of a program that runs
        if not prog.ok:
            failed = True
            continue
        for name in sorted(set(pv) - set(prog.params)):
            click.echo(f"warning: {f} has no param `{name}` (it has: {', '.join(prog.params) or 'none'})",
                       err=True)
        stem = Path(f).stem if f != "-" else "stdin"
        for s in range(seed, seed + variants):
            scene, diags = prog.evaluate(s, pv)
            if scene is None:
                _print_diags(diags, prog.source)
                failed = True
                break
            try:
                if sz:
                    scene = fit(scene, sz, b)
                name = f"{stem}_{s}" if variants > 1 else stem
                if out_dir is not None:
                    target = out_dir / f"{name}.{'json' if json_ir else ext}"
                elif output:
                    target = Path(output)
                else:
                    target = Path(f"{name}.{'json' if json_ir else ext}")
                target.parent.mkdir(parents=True, exist_ok=True)
                if json_ir:
                    target.write_text(scene.to_json())
                    warnings = []
                else:
                    warnings = save(scene, target, scale)
            except OSError as e:
                raise click.ClickException(f"cannot write {target}: {e.strerror or e}")
            except VdslError as e:
                _print_diags(e.diagnostics, prog.source)
                failed = True
                break
            except ValueError as e:
                raise click.UsageError(str(e))
            _print_diags(warnings, prog.source)
            click.echo(str(target), err=True)
    if failed:
        raise DiagnosticsFound("errors")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "compact"]), default="text",
              show_default=True, help="text: rustc-style with source and caret; json: for tools; "
              "compact: one line each (the LLM repair form).")
@click.option("--run/--no-run", default=True, show_default=True,
              help="Also evaluate at --seed to catch run-time errors and budget overruns.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--allow-files", is_flag=True)
@budget_option
def check(files, fmt, run, seed, allow_files, budgets):
    """Check programs and print every diagnostic.

    \b
    vdsl check scene.vd
    vdsl check examples/*.vd --format json
    """
    b = _budgets(budgets)
    all_json = []
    failed = False
    for f in files:
        prog = _read_program(f, b, allow_files)
        diags = list(prog.diagnostics)
        if prog.ok and run:
            _, rdiags = prog.evaluate(seed)
            diags += rdiags
        if has_errors(diags):
            failed = True
        if fmt == "json":
            all_json.extend(d.to_dict() for d in diags)
        else:
            _print_diags(diags, prog.source, fmt)
    if fmt == "json":
        click.echo(json.dumps(all_json, indent=2))
    if failed:
        raise DiagnosticsFound("errors")
    if fmt == "text":
        click.echo(f"ok: {len(files)} file{'s' if len(files) != 1 else ''}", err=True)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if any file is not formatted; change nothing.")
@click.option("--write", "-w", is_flag=True, help="Rewrite the files in place.")
def fmt(files, check_only, write):
    """Format programs canonically (comments kept).

    \b
    vdsl fmt scene.vd            # print the formatted program
    vdsl fmt --write examples/*.vd
    vdsl fmt --check examples/*.vd
    """
    from .format import format_source
    failed = unformatted = False
    for f in files:
        data = sys.stdin.buffer.read() if f == "-" else Path(f).read_bytes()
        try:
            src = data.decode("utf-8")
        except UnicodeDecodeError as e:   # never rewrite bytes we could not read
            _print_diags([Diagnostic("E108", f"the source is not valid UTF-8 (byte {e.start})",
                                     Span(1, 1, 1, 2, f), "save the file as UTF-8 text")], None)
            failed = True
            continue
        out, diags = format_source(src, f)
        if out is None:
            _print_diags(diags, src)
            failed = True
            continue
        if check_only:
            if out != src:
                click.echo(f"would reformat {f}", err=True)
                unformatted = True
        elif write and f != "-":
            if out != src:
                from .atomic import atomic_write; atomic_write(f, out)  # noqa: E702  (readers never see half a file)
                click.echo(f"reformatted {f}", err=True)
        else:
            click.echo(out, nl=False)
    if failed or unformatted:
        raise DiagnosticsFound("errors")


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
def doc(output):
    """Print the language reference (Markdown), generated from the signature table.

    \b
    vdsl doc -o docs/reference.md
    """
    from .docs import reference_markdown
    text = reference_markdown()
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text)


# Commands defined by other stages register here (one line each).
# -- command registrations --
from .dataset.commands import dataset_group; main.add_command(dataset_group, "dataset")  # noqa: E402,E702
from .llm import register_commands; register_commands(main)  # noqa: E402,E702  (prompt, refine, recognize)
from .concepts.commands import concepts_cmd, gallery_cmd; main.add_command(concepts_cmd, "concepts"); main.add_command(gallery_cmd, "gallery")  # noqa: E402,E702
from .train.commands import train_cmd, eval_cmd, experiment_cmd; [main.add_command(c) for c in (train_cmd, eval_cmd, experiment_cmd)]  # noqa: E402,E702

if __name__ == "__main__":  # pragma: no cover
    main()
