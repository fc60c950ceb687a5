"""Where clip_shape and cutout blocks may stand: clip_shape directly in a clip, neither empty, a cutout after drawing."""

from __future__ import annotations

from . import nodes as n
from .diagnostics import Diagnostic

CLIP_SYNTAX = "clip() { clip_shape() { circle(...) rect(...) } ...what to draw clipped... }"
# Statements that draw nothing a cutout could cut.
_NOT_DRAWING = (n.Let, n.ParamStmt, n.Assign, n.Def, n.Use, n.Return)


def check_clip_forms(stmts: list[n.Stmt]) -> list[Diagnostic]:
    """E214 for a clip_shape outside a clip or a cutout with nothing drawn before it in its drawing block,
    E210 for a clip without clip_shape and for an empty clip_shape or cutout block."""
    out: list[Diagnostic] = []
    _walk(stmts, None, False, out)
    return out


def _walk(stmts: list[n.Stmt], owner: str | None, drew: bool, out: list[Diagnostic]) -> bool:
    """Check one statement list; owner is the block call it belongs to (None: the top level, a def body).
    `drew`: something was drawn before it in the same drawing block. Returns whether anything is drawn by
    the end of it."""
    for st in stmts:
        if isinstance(st, n.Def):
            _walk(st.body, None, False, out)
        elif isinstance(st, n.For):
            drew = _walk(st.body, owner, drew, out) or drew
        elif isinstance(st, n.If):
            a = _walk(st.then, owner, drew, out)
            b = _walk(st.otherwise, owner, drew, out) if st.otherwise else drew
            drew = a or b
        elif isinstance(st, n.CallStmt):
            drew = _call(st, owner, drew, out)
    return drew


def _call(st: n.CallStmt, owner: str | None, drew: bool, out: list[Diagnostic]) -> bool:
    name, span = st.call.name, st.call.span
    body = st.block
    if name == "clip_shape" and owner != "clip":
        out.append(
            Diagnostic("E214", "`clip_shape` belongs directly inside a `clip` block", span, f"write {CLIP_SYNTAX}")
        )
    if name == "clip" and body is not None and not any(_is_call(s, "clip_shape") for s in body):
        out.append(
            Diagnostic(
                "E210",
                "`clip` needs a `clip_shape() { ... }` block saying what to clip to",
                span,
                f"write {CLIP_SYNTAX}",
            )
        )
    if name in ("clip_shape", "cutout") and body is not None and not any(not isinstance(s, _NOT_DRAWING) for s in body):
        what = "the clip would hide everything" if name == "clip_shape" else "there is no hole to cut"
        out.append(
            Diagnostic(
                "E210",
                f"`{name}` has no shapes in its block: {what}",
                span,
                f"write `{name}() {{ circle(center=(256, 256), r=80) }}` with the shapes of the "
                + ("clip" if name == "clip_shape" else "hole"),
            )
        )
    if name == "cutout" and not drew:
        out.append(
            Diagnostic(
                "E214",
                "`cutout` comes before anything is drawn in its block: it would cut nothing",
                span,
                "draw the shape first, then `cutout() { ... }` after it, in the same block",
            )
        )
    if body is not None:
        _walk(body, name, False, out)
    return drew or name not in ("canvas", "cutout", "clip_shape")


def _is_call(st: n.Stmt, name: str) -> bool:
    return isinstance(st, n.CallStmt) and st.call.name == name
