"""The language reference, generated from the signature table, the grammar, the stdlib, the codes and the budgets."""

from __future__ import annotations

from dataclasses import fields

from .budgets import CAPS, DEFAULT
from .builtins import CATEGORIES, CONSTANTS, TABLE, Builtin
from .diagnostics import CODES
from .syntax import GRAMMAR_TEXT
from .values import show

_OVERVIEW = """\
vdsl is a small drawing language. A program is a list of statements; drawing calls add shapes
to the canvas in order (later shapes on top). Canvas units are pixels, origin top-left, y down,
angles in degrees, clockwise (the SVG conventions).

```
canvas(width=512, height=512, background=#cfe8c8)   // optional; 512x512 white by default
use nature                                          // a stdlib module
param hue = rand(0, 40)                             // a knob; each seed draws a new value
let red = hsl(hue, 85%, 50%)                        // names are immutable unless reassigned
def petal(at: point, angle: number, tint: color = red) {{   // components with typed params
  ellipse(center=at, rx=28, ry=9, rotate=angle, fill=tint)
}}
for i in range(8) {{ petal(at=polar((256, 256), 40, i * 45), angle=i * 45) }}
if chance(0.5) {{ circle(center=(256, 256), r=20, fill=gold) }} else {{ circle(center=(256, 256), r=14) }}
group(translate=(100, 100), rotate=-10, opacity=0.8) {{ rect(x=0, y=0, w=50, h=30) }}
glow(radius=18, color=#fff6a0) {{ circle(center=(440, 70), r=35, fill=#ffe066) }}
```

- Comments: `// line` and `/* block */`. Statements may end with `;` (optional).
- Literals: numbers `3`, `-2.5`, `1e3`; percentages `50%` (= 0.5); strings `"text"`; colours `#rgb`,
  `#rgba`, `#rrggbb`, `#rrggbbaa`, CSS names (`steelblue`), `none`; booleans `true`/`false`;
  points `(x, y)`; lists `[a, b, c]` and comprehensions `[f(i) for i in range(n) if cond]`.
- Operators: `+ - * / % **`, comparisons `== != < <= > >=`, `and or not` (also `&& || !`),
  `cond ? a : b`. Points add/subtract and scale: `(1, 2) + (3, 4)`, `2 * p`, `p / 2`; `p.x`, `p.y`.
  Strings and lists join with `+`. `xs[i]` indexes (negative from the end).
- Arguments: drawing calls take keyword arguments: `circle(center=(0, 0), r=5)` (so do
  {keyword_only}). Every other builtin, and every `def`, also takes
  them in order: `rgb(255, 0, 0)`, `polar(c, 40, 90)`; a `*` in a signature ends the positional
  ones (`text("hi", at=(0, 0))`).
- Angles are degrees everywhere: `sin(90)` is 1 (not `sin(pi / 2)`).
  Take degrees: {degree_in}, and every `rotate`, `angle`, `start`, `end`.
  Return degrees: {degree_out}.
- Limits: `number in 0..1` is a range (`0..` no upper end), `int` a whole number, `"a"|"b"` the
  allowed strings; a value outside is an error. Your own `def` parameters may use them too:
  `def gem(sides: int in 3.. = 6, cut: "flat"|"round" = "flat", r: number in 0.. "px" = 20)`.
- Mirror a drawing left-right with `group(scale=(-1, 1), origin=(x, y)) {{ ... }}` (flips about x).
- Also accepted: `else if`, 'single-quoted' strings, trailing commas; `use` lines may come
  anywhere at the top level (put them first).
- A colour may also be written as a string literal: `fill="red"`, `fill="#ff0000"`.
- Types: number, bool, string, color, point, paint (colour, gradient, pattern or noise), list[T].
  `def` parameters and `let` may be annotated (`let n: number = 3`); unannotated ones are inferred.
- `def` components are called like builtins; a `def` with `return` (optionally `-> type`) is a
  function. Whatever a `def` draws is labelled with its name in the scene (masks, boxes).
- `for x in list {{ }}`, `for i, x in list {{ }}` (index and item); loops are bounded by budgets.
- Reassign a `let` or a `def` parameter with `=`, `+=`, `-=`, `*=`, `/=` (not a `param`, a loop
  variable or a name from outside the `def`).
- `width` and `height` hold the canvas size.
- Randomness (`rand`, `gauss`, `choice`, ...) is seeded: the same seed gives the same picture.
- Clips and holes: `clip() {{ clip_shape() {{ circle(...) rect(...) }} ...drawing... }}` draws only inside
  the clip shapes (any drawing calls, text too; with `invert=true`, only outside them);
  `cutout() {{ circle(...) }}` erases that area from what its block drew before it; a `polygon` with
  `holes=[[...]]`, and `fill_rule="evenodd"` on `path` or `polygon`, leave holes.
- Text: symbols such as ♥ ★ → ✓ and CJK draw from bundled Noto fonts; a character none has (chess
  pieces ♔ ♚, for one) warns (W505) and draws as a box: draw such things from shapes.
"""


def keyword_only_builtins() -> list[str]:
    """Builtins that take no positional argument (drawing calls, canvas, groups, patterns)."""
    return [b.name for b in TABLE.values() if b.aliases_of is None and b.variadic is None and b.positional == 0]


def degree_builtins() -> tuple[list[str], list[str]]:
    """(value functions taking an angle in degrees, those returning one), from the table's docs."""
    takes, gives = [], []
    for b in TABLE.values():
        if b.aliases_of is None and b.positional and b.category not in ("shapes", "groups and effects", "canvas"):
            doc = b.doc.lower()
            if "of an angle" in doc or any(
                "degree" in p.doc.lower() or p.name in ("angle", "degrees") for p in b.params
            ):
                takes.append(b.name)
            elif "degree" in doc:
                gives.append(b.name)
    return takes, gives


def _overview() -> str:
    kw = keyword_only_builtins()
    drawing = [k for k in kw if str(TABLE[k].returns) == "none"]
    others = [k for k in kw if k not in drawing]
    takes, gives = degree_builtins()
    return _OVERVIEW.format(
        keyword_only=", ".join(f"`{k}`" for k in others),
        degree_in=", ".join(f"`{k}`" for k in takes),
        degree_out=", ".join(f"`{k}`" for k in gives),
    )


LANGUAGE_OVERVIEW = _overview()


def _default(b: Builtin, p) -> str:
    if p.required:
        return "required"
    if p.default is None:
        return "none"
    if isinstance(p.default, str):
        return f'"{p.default}"'
    return show(p.default)


def builtin_markdown(b: Builtin) -> str:
    out = [f"#### `{b.signature()}`", "", b.doc, ""]
    if b.cost is not None:
        out += [f"Fuel: 1 + {b.cost.doc}.", ""]
    if b.params:
        out += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
        for p in b.params:
            t = p.type_text().replace("|", " \\| " if p.choices else "\\|")
            out.append(f"| `{p.name}` | {t} | {_default(b, p)} | {p.doc} |")
        out.append("")
    if b.example:
        out += ["```", b.example, "```", ""]
    return "\n".join(out)


def stdlib_markdown() -> str:
    from .check import ModuleLoader
    from .diagnostics import Diagnostic  # noqa: F401
    from .modules import module_header, stdlib_names, stdlib_source
    from . import nodes as n

    out = []
    loader = ModuleLoader()
    for name in stdlib_names():
        src = stdlib_source(name)
        out.append(f"### `use {name}`\n")
        head = module_header(src.text)
        if head:
            out.append(" ".join(head) + "\n")
        info = loader.load(n.Use(None, name), [])  # type: ignore[arg-type]
        if info is None:
            out.append("(this module has errors)\n")
            continue
        for _dname, sig in info.defs.items():
            out.append(f"- `{sig.signature(defaults=True)}`" + (f" — {sig.node.doc}" if sig.node.doc else ""))
        out.append("")
    return "\n".join(out)


def reference_markdown() -> str:
    """The whole language reference as Markdown (what `vdsl doc` prints)."""
    parts = [
        "# vdsl language reference",
        "",
        "Generated by `vdsl doc` from the builtin signature table, the grammar, the standard "
        "library, the diagnostic codes and the budgets; do not edit by hand.",
        "",
        "## The language",
        "",
        LANGUAGE_OVERVIEW,
        "## Builtins",
        "",
    ]
    shape_style = None
    for cat in CATEGORIES:
        items = [b for b in TABLE.values() if b.category == cat and b.aliases_of is None]
        if not items:
            continue
        parts += [f"### {cat.capitalize()}", ""]
        for b in items:
            if cat == "shapes":
                own = [p for p in b.params if p.name not in _style_names()]
                from dataclasses import replace

                b = replace(b, params=tuple(own))
                shape_style = True
            parts.append(builtin_markdown(b))
        if cat == "shapes" and shape_style:
            parts += [
                "Every shape also takes the style parameters:",
                "",
                "| parameter | type | default | meaning |",
                "|---|---|---|---|",
            ]
            from .builtins.shapes import STYLE

            for p in STYLE:
                t = p.type_text().replace("|", " \\| " if p.choices else "\\|")
                d = (
                    "none"
                    if p.default is None
                    else (f'"{p.default}"' if isinstance(p.default, str) else show(p.default))
                )
                parts.append(f"| `{p.name}` | {t} | {d} | {p.doc} |")
            parts += [
                "",
                "`line`, `polyline` and open `arc`s default to `fill=none, stroke=black, stroke_width=2`.",
                "",
            ]
    aliases = sorted(f"`{b.name}` → `{b.aliases_of}`" for b in TABLE.values() if b.aliases_of)
    parts += ["### Aliases", "", ", ".join(aliases), ""]
    colors = sorted(k for k, (t, _, _) in CONSTANTS.items() if str(t) == "color")
    others = sorted(k for k, (t, _, _) in CONSTANTS.items() if str(t) != "color")
    parts += [
        "## Constants",
        "",
        "Numbers: " + ", ".join(f"`{c}`" for c in others) + ", `width`, `height` (the canvas size).",
        "",
        f"Colours ({len(colors)} CSS names): " + ", ".join(colors),
        "",
    ]
    parts += ["## Standard library", "", stdlib_markdown()]
    parts += [
        "## Budgets",
        "",
        "Every program runs under these limits (override with `--budget name=value`, up to the cap).",
        "",
        "| budget | default | cap |",
        "|---|---|---|",
    ]
    for f in fields(DEFAULT):
        parts.append(f"| `{f.name}` | {getattr(DEFAULT, f.name):,} | {CAPS[f.name]:,} |")
    parts += ["", cost_markdown()]
    parts += ["", "## Diagnostic codes", "", "| code | name | meaning |", "|---|---|---|"]
    for code, (name, summary) in CODES.items():
        parts.append(f"| {code} | {name} | {summary} |")
    parts += ["", "## Grammar", "", "```lark", GRAMMAR_TEXT.strip(), "```", ""]
    return "\n".join(parts)


def cost_markdown() -> str:
    """How fuel (E401) is charged: one unit per step, more for work that grows with a value."""
    rows = {}
    for b in TABLE.values():
        if b.cost is not None and b.aliases_of is None:
            rows.setdefault(b.cost.doc, []).append(f"`{b.name}`")
    out = [
        "### Fuel",
        "",
        "Every statement and expression costs 1 unit of fuel. Work that grows with a value costs fuel "
        "in proportion, charged before it is done: so evaluation time and memory are linear in the "
        "fuel used. The size of a value is its expanded size: a string's characters; a list's items "
        "plus the size of each (a list referenced twice counts twice). The collection budget (E410) "
        "applies to that size, and lists nest at most `nesting_depth` deep.",
        "",
        "| work | extra fuel |",
        "|---|---|",
        "| `==`, `!=` on lists or strings | size of the smaller side |",
        "| `<` `<=` `>` `>=` on strings | length of the shorter |",
        "| `a + b` (strings or lists) | len(a) + len(b) |",
        "| a `range(...)` stored in a list or passed where a list is needed | its length |",
        "| a list passed where `list[T]` (T not `any`) is needed: every item is checked | its size |",
    ]
    for doc, names in rows.items():
        out.append(f"| {', '.join(names)} | {doc} |")
    return "\n".join(out) + "\n"


def _style_names():
    from .builtins.shapes import STYLE_NAMES

    return STYLE_NAMES
