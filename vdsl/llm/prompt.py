"""The system prompt, generated from the signature table, the grammar overview, the stdlib and small examples; and the chat messages built on it."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path


DEFAULT_FEEDBACK = "Can you make it better?"
TOKEN_TARGET = 6000  # the prompt is shrunk (fewer details) until its estimate fits


def estimate_tokens(text: str) -> int:
    """A tokenizer-free, slightly pessimistic estimate: 3.5 characters a token (English runs near 4,
    dense code near 3)."""
    return int(len(text) / 3.5) + 1


def _first_sentence(doc: str) -> str:
    doc = " ".join(doc.split())
    i = doc.find(". ")
    return doc if i < 0 else doc[: i + 1]


def _builtins_section(docs: bool) -> str:
    from ..builtins import CATEGORIES, TABLE
    from ..builtins.shapes import STYLE

    out = [
        "## Builtins",
        "Signatures read `name(param: type = default)`; parameters without a default are required; "
        '`in lo..hi`, `int` and `"a"|"b"` are limits (see Limits). `{ ... }` means the call takes a block '
        "of drawing statements.",
    ]
    for cat in CATEGORIES:
        items = [b for b in TABLE.values() if b.category == cat and b.aliases_of is None]
        if not items:
            continue
        out.append(f"\n### {cat}")
        for b in items:
            sig = b.short_signature() if cat == "shapes" else b.signature()
            out.append(f"- {sig}" + (f" — {_first_sentence(b.doc)}" if docs and b.doc else ""))
        if cat == "shapes":
            from ..values import show

            style = ", ".join(
                f"{p.name}"
                + (
                    f"={show(p.default)}"
                    if p.default not in (None, "", []) and not isinstance(p.default, str)
                    else (f'="{p.default}"' if isinstance(p.default, str) and p.default else "")
                )
                for p in STYLE
            )
            out.append(f"- style (every shape and `group`): {style}")
            choices = "; ".join(f"{p.name}: " + "|".join(p.choices) for p in STYLE if p.choices)
            if choices:
                out.append(f"- style choices: {choices}")
    aliases = sorted(f"{b.name}={b.aliases_of}" for b in TABLE.values() if b.aliases_of)
    if aliases:
        out.append("\nAliases: " + ", ".join(aliases))
    return "\n".join(out)


def _constants_section(all_colors: bool = True) -> str:
    from ..builtins import CONSTANTS

    colors = sorted(k for k, (t, _, _) in CONSTANTS.items() if str(t) == "color")
    others = sorted(k for k, (t, _, _) in CONSTANTS.items() if str(t) != "color")
    shown = colors if all_colors else colors[:: max(1, len(colors) // 16)]
    return (
        "## Constants\nNumbers: " + ", ".join(others) + ", width, height (the canvas size).\n"
        f"Colour names ({len(colors)}, CSS): " + " ".join(shown) + ("" if all_colors else " ...")
    )


def _def_signature(sig, defaults: bool | None = True) -> str:
    """`name(p: type = default)`; defaults=False writes `p?: type` for optional ones, None names only
    (but a parameter's limits, `int`, choices and unit stay at every level: the checker enforces them)."""
    from ..format import expr

    parts = []
    for p, decl in zip(sig.params, sig.node.params):
        if _plain_size(p):  # `number in 0..` on a size: the section's one sentence says it
            p = replace(p, min=None)
        limited = bool(p.choices) or p.integer or p.min is not None or p.max is not None
        if defaults is None:
            shown = f": {p.type_text()}" + (f' "{p.unit}"' if p.unit else "") if limited else ""
            parts.append(p.name + ("?" if not p.required else "") + shown)
            continue
        opt = "?" if not p.required and not defaults else ""
        s = p.name + opt + (f": {p.type_text()}" if decl.type is not None else "")
        s += f' "{p.unit}"' if p.unit else ""
        if not p.required and defaults:
            try:
                s += f" = {expr(p.default)}"
            except Exception:  # an expression form the formatter does not know: show the checker's view
                s += " = …"
        parts.append(s)
    ret = "" if str(sig.returns) == "none" else f" -> {sig.returns}"
    return f"{sig.name}({', '.join(parts)}){ret}"


# Parameters that measure something (sizes, lengths, radii, widths, counts): never negative. The
# stdlib section says so once instead of `in 0..` on each (see _plain_size).
SIZE_NAMES = frozenset(
    ("size", "w", "h", "r", "rx", "ry", "length", "spacing", "stroke_width", "head", "depth", "thickness", "gap")
)
SIZES_RULE = "Sizes, lengths, radii and widths (`size`, `w`, `h`, `r`, `stroke_width`, ...) are never negative."


def _plain_size(p) -> bool:
    """Whether a parameter's only limit is the one SIZES_RULE states (a non-negative size)."""
    return p.name in SIZE_NAMES and p.min == 0 and p.max is None and not p.integer and not p.choices


def _stdlib_modules() -> list[tuple[str, str, list]]:
    """[(module, its first header comment, [DefSig])] for every stdlib module that checks cleanly."""
    from .. import nodes as n
    from ..check import ModuleLoader
    from ..modules import module_header, stdlib_names, stdlib_source

    loader = ModuleLoader()
    out = []
    for name in stdlib_names():
        src = stdlib_source(name)
        if src is None:
            continue
        head = module_header(src.text)
        info = loader.load(n.Use(None, name), [])  # type: ignore[arg-type]
        if info is not None:  # a module with errors is not offered
            out.append((name, head[0] if head else "", list(info.defs.values())))
    return out


def _stdlib_section(modules: list, docs: bool, defaults: bool | None = True) -> str:
    if not modules:
        return ""
    out = [
        "## Standard library",
        "`use NAME` at the top of the program, then call its components "
        "like builtins (by keyword, or in order)."
        + (" `p?` marks an optional parameter." if defaults is not True else "")
        + " "
        + SIZES_RULE,
    ]
    for name, head, defs in modules:
        out.append(f"\n### use {name}" + (f" — {head}" if head and docs else ""))
        for sig in defs:
            doc = _first_sentence(sig.node.doc) if docs and sig.node.doc else ""
            out.append(f"- {_def_signature(sig, defaults)}" + (f" — {doc}" if doc else ""))
    return "\n".join(out)


def _budgets_section() -> str:
    from dataclasses import fields
    from ..budgets import DEFAULT

    return (
        "## Budgets\nEvery program runs within limits; going over one is an error: "
        + ", ".join(f"{f.name}={_num(getattr(DEFAULT, f.name))}" for f in fields(DEFAULT))
        + "."
    )


def _num(v) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def examples_dir() -> Path | None:
    """examples/ of a source checkout (the wheel carries none)."""
    d = Path(__file__).resolve().parents[2] / "examples"
    return d if d.is_dir() else None


def pick_examples(count: int = 2, max_chars: int = 1400) -> list[tuple[str, str]]:
    """The `count` shortest example programs under max_chars that compile and run: [(name, source)]."""
    d = examples_dir()
    if d is None or count <= 0:
        return []
    from ..api import compile

    cands = []
    for p in sorted(d.glob("*.vd")):
        try:
            text = p.read_text(encoding="utf-8")
        except OSError:
            continue
        if len(text) <= max_chars:
            cands.append((len(text), p.name, text))
    out = []
    for _, name, text in sorted(cands):
        prog = compile(text, name)
        if prog.ok and prog.evaluate(0)[0] is not None:
            out.append((name, text.strip()))
            if len(out) == count:
                break
    return out


INTRO = """You write programs in vdsl, a small, safe drawing language (SVG conventions, Python-like expressions, braces for blocks). Programs are type-checked against the signatures below; anything else is an error.

How to answer: reply with ONE complete vdsl program in a single ```vdsl code block. When asked to fix errors or to improve a drawing, reply with the whole new program, not a diff. Draw recognisable shapes with care for composition, colour and detail; use `def` for repeated parts and comments to name the parts."""


# Detail levels, richest first: (builtin docs and every colour name, stdlib docs, stdlib
# defaults: True values / False `p?: type` / None parameter names only, examples).
LEVELS = (
    (True, True, True, 2),
    (True, True, False, 2),
    (True, True, False, 1),
    (True, False, False, 1),
    (False, False, False, 1),
    (False, False, None, 1),
    (False, False, None, 0),
)


def _assemble(
    builtin_docs: bool, stdlib_docs: bool, stdlib_defaults: bool | None, n_examples: int, memo: dict | None = None
) -> str:
    from ..docs import LANGUAGE_OVERVIEW

    memo = {} if memo is None else memo

    def part(key, fn, *args):
        if (key, args) not in memo:
            memo[(key, args)] = fn(*args)
        return memo[(key, args)]

    modules = part("modules", _stdlib_modules)
    parts = [
        INTRO,
        "## The language\n" + LANGUAGE_OVERVIEW.strip(),
        part("builtins", _builtins_section, builtin_docs),
        part("constants", _constants_section, builtin_docs),
        part("stdlib", lambda d, f: _stdlib_section(modules, d, f), stdlib_docs, stdlib_defaults),
        part("budgets", _budgets_section),
    ]
    exs = part("examples", pick_examples, max(n for *_, n in LEVELS))[:n_examples]
    if exs:
        parts.append("## Examples\n" + "\n\n".join(f"```vdsl\n{src}\n```" for _, src in exs))
    return "\n\n".join(p for p in parts if p).strip() + "\n"


@functools.lru_cache(maxsize=8)
def system_prompt(token_target: int = TOKEN_TARGET) -> str:
    """The system prompt, generated now from the table, overview, stdlib and examples.

    Details are dropped in LEVELS order (stdlib default values, an example, stdlib docs, builtin
    docs and most colour names, stdlib parameter types, the last example) until the estimate fits
    token_target; every builtin signature and every stdlib component is always listed."""
    memo: dict = {}
    text = ""
    for level in LEVELS:
        text = _assemble(*level, memo=memo)
        if estimate_tokens(text) <= token_target:
            break
    return text


# ------------------------------------------------------------------ messages
def _fence(program: str) -> str:
    return f"```vdsl\n{program.rstrip()}\n```"


def draw_request(concept: str) -> str:
    return f"Write a vdsl program that draws: {concept}"


def draw_messages(concept: str, system: str | None = None) -> list[dict]:
    """Round 0: ask for a program that draws the concept."""
    return [
        {"role": "system", "content": system or system_prompt()},
        {"role": "user", "content": draw_request(concept)},
    ]


def improve_messages(
    concept: str,
    program: str,
    feedback: str = DEFAULT_FEEDBACK,
    image_url: str | None = None,
    system: str | None = None,
) -> list[dict]:
    """A later round: the model's last good program as its own answer, then the feedback (and the picture)."""
    msgs = draw_messages(concept, system) + [{"role": "assistant", "content": _fence(program)}]
    if image_url:
        msgs.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "This is how your program renders.\n" + feedback},
                    {"type": "image_url", "image_url": {"url": image_url}},
                ],
            }
        )
    else:
        msgs.append({"role": "user", "content": feedback})
    return msgs


def cut_message(max_tokens: int) -> str:
    return (
        f"Your reply was cut off at max_tokens={max_tokens} before it ended, so the program is "
        "incomplete. Write a shorter program that fits, with less explanation."
    )


def repair_message(diagnostics: str | None, cut_at: int | None = None) -> str:
    """The follow-up for a reply that did not compile (diagnostics in compact form) or held no program;
    `cut_at` (the max_tokens) when the reply was cut off (finish_reason "length")."""
    cut = cut_message(cut_at) + "\n" if cut_at is not None else ""
    if not diagnostics:
        return (
            cut + "Your reply did not contain a vdsl program. Reply with the complete program "
            "in one ```vdsl code block."
        )
    return (
        cut
        + "The program has errors (line:col severity code: message):\n"
        + diagnostics
        + "\nFix them and reply with the whole corrected program in one ```vdsl code block."
    )


def repair_messages(base: list[dict], reply: str, diagnostics: str | None, cut_at: int | None = None) -> list[dict]:
    return base + [
        {"role": "assistant", "content": reply},
        {"role": "user", "content": repair_message(diagnostics, cut_at)},
    ]


RECOGNIZE_SYSTEM = (
    "You read programs in vdsl, a small drawing language: shapes such as rect, circle, "
    "ellipse, polygon and SVG path data, drawn in order on a pixel canvas (origin top-left, "
    "y down, angles in degrees), with groups, gradients and `def` components. You answer "
    "multiple-choice questions about what a program draws."
)


def letter(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else str(i + 1)


def recognize_messages(program: str, choices: list[str]) -> list[dict]:
    """Show the program only (never its picture) and ask which concept it draws."""
    opts = "\n".join(f"{letter(i)}) {c}" for i, c in enumerate(choices))
    return [
        {"role": "system", "content": RECOGNIZE_SYSTEM},
        {
            "role": "user",
            "content": "Which of these concepts does this program draw?\n\n"
            + _fence(program)
            + f"\n\nChoices:\n{opts}\n\n"
            "Answer with the letter of one choice, then its name, e.g. `A) " + choices[0] + "`.",
        },
    ]
