"""The command-line layer (the only place click lives): the `vdsl` group, shared options, and errors to exit codes."""

from __future__ import annotations

import signal
import sys
import threading

import click

from ..budgets import DEFAULT, Budgets
from ..diagnostics import Diagnostic, format_compact, format_json, format_text
from ..errors import DiagnosticsError, Interrupted, UsageError, VdslError


class VdslGroup(click.Group):
    """Maps the one error hierarchy to exit codes, in one place: a VdslError exits with its `exit_code`
    (diagnostics printed rustc-style, anything else as one `error:` line), Ctrl-C and SIGTERM with 130/143."""

    def invoke(self, ctx: click.Context):
        previous = signal.getsignal(signal.SIGTERM)
        ours = previous in (signal.SIG_DFL, None) and threading.current_thread() is threading.main_thread()
        if ours:  # SIGTERM (timeout, Slurm, docker stop) stops like Ctrl-C
            _STOPPING.clear()
            signal.signal(signal.SIGTERM, _terminated)
        try:
            return super().invoke(ctx)
        except DiagnosticsError as e:
            print_diags(e.diagnostics, e.source)
            ctx.exit(e.exit_code)
        except UsageError as e:
            raise click.UsageError(e.message, ctx) from None  # click prints it with the usage line: exit 2
        except Interrupted as e:
            click.echo(f"\ninterrupted: {e.message}", err=True)
            ctx.exit(e.exit_code)
        except VdslError as e:
            click.echo(f"error: {e.message}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            ctx.exit(130)
        except _Terminated:
            click.echo("\nterminated", err=True)
            ctx.exit(143)
        finally:
            if ours:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)


class _Terminated(BaseException):
    """SIGTERM, raised where the program is, so `finally` blocks run as for Ctrl-C."""


_STOPPING = threading.Event()  # set by the first SIGTERM of a command


def _terminated(signum, frame):
    # A second SIGTERM must not interrupt the clean stop (not SIG_IGN: child processes would inherit it).
    if not _STOPPING.is_set():
        _STOPPING.set()
        raise _Terminated()


@click.group(cls=VdslGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vdsl")
def main():
    """vdsl: a small, safe drawing language for language models.

    Programs are parsed, type-checked and evaluated under hard budgets, then drawn with Skia.
    """


def budgets_from(items: tuple[str, ...]) -> Budgets:
    """--budget NAME=VALUE items as Budgets (clamped to the caps)."""
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
            raise click.BadParameter(f"{item!r}: the value must be a number", param_hint="--budget") from None
    try:
        return DEFAULT.with_overrides(**kw)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--budget") from None


def params_from(items: tuple[str, ...]) -> dict:
    """--param NAME=VALUE items as a dict of strings."""
    out = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(f"expected name=value, got {item!r}", param_hint="--param")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def size_from(text: str | None, hint: str = "--size") -> tuple[int, int] | None:
    """`S` or `WxH` as (W, H)."""
    if not text:
        return None
    t = text.lower().strip()
    try:
        w, h = t.split("x", 1) if "x" in t else (t, t)
        return int(w), int(h)
    except ValueError:
        raise click.BadParameter(f"expected S or WxH like 128 or 256x192, got {text!r}", param_hint=hint) from None


def print_diags(diags: list[Diagnostic], source: str | None, fmt: str = "text") -> None:
    if not diags:
        return
    if fmt == "json":
        click.echo(format_json(diags))
    elif fmt == "compact":
        click.echo(format_compact(diags), err=True)
    else:
        click.echo(format_text(diags, source, color=sys.stderr.isatty()), err=True, nl=False)


def fail(code: int = 1) -> None:
    """Exit with `code` after the command has said why."""
    click.get_current_context().exit(code)


budget_option = click.option(
    "--budget",
    "budgets",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a budget (see `vdsl doc`), e.g. --budget fuel=5000000 or --budget time_limit=30.",
)


def stdlib_option(default: str = "all"):
    """--stdlib all|shapes|none: the stdlib shown to the model and accepted by the checker (E219 beyond it)."""
    return click.option(
        "--stdlib",
        type=click.Choice(["all", "shapes", "none"]),
        default=default,
        show_default=True,
        help="What programs may `use`, and what the prompt shows: all of the stdlib; shapes (geometry "
        "only: shapes, solids, layout); none (builtins only, the check-up's setting). A `use` beyond it is E219.",
    )


def prompt_option(default: str = "full", help_extra: str = ""):
    """--prompt full|compact|minimal: which system prompt the model gets (vdsl.llm.prompt.PROMPT_VARIANTS)."""
    from ..llm.options import PROMPT_CHOICES

    return click.option(
        "--prompt",
        "prompt_variant",
        type=click.Choice(PROMPT_CHOICES),
        default=default,
        show_default=default is not None,
        help="The system prompt: full (every signature, types, defaults, docs, examples; about 7k tokens), "
        "compact (under 2k tokens) or minimal (core shapes only, under 1k; for small local models)." + help_extra,
    )


def constrain_option(f):
    """--constrain [auto|gbnf|vllm|vllm-legacy]: grammar-constrained decoding (the option `constrain` goes to
    config_from_options with the other LLM options)."""
    from ..llm.options import CONSTRAIN_CHOICES

    return click.option(
        "--constrain",
        type=click.Choice(CONSTRAIN_CHOICES),
        is_flag=False,
        flag_value="auto",
        default=None,
        help="Constrain decoding to vdsl's grammar (one fenced program), sent with every request: gbnf "
        "(llama.cpp's `grammar`), vllm (`structured_outputs`), vllm-legacy (`guided_grammar`, vLLM < 0.12); "
        "alone or `auto`: vllm when the endpoint's /models says vllm, else gbnf. See `vdsl grammar`.",
    )(f)
