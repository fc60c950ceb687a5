"""Test helper: does the fast LALR driver accept a source, and does Lark's own parser? (They must agree.)"""

from __future__ import annotations

from lark.exceptions import UnexpectedInput

from vdsl import syntax
from vdsl.fastparse import SyntaxFailure


def fast_accepts(src: str) -> bool:
    with syntax._LOCK:
        syntax._BUILDER.max_depth = 10_000
        syntax._BUILDER.comments = []
        try:
            syntax.PARSER.parse(src)
            return True
        except SyntaxFailure:
            return False


def lark_accepts(src: str) -> bool:
    try:
        syntax._PLAIN.parse(src)
        return True
    except UnexpectedInput:
        return False
