"""Score a cold-writing run: every .vd under a folder compiled, run and rendered in the sandbox (as `vdsl refine` checks a reply); prints and writes a markdown table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("folder", type=Path, help="programs written from the prompt alone, one NN_slug.vd per concept")
    ap.add_argument("-o", "--out", type=Path, help="write the markdown table here")
    args = ap.parse_args(argv)
    from vdsl.diagnostics import format_compact
    from vdsl.llm.refine import check_reply

    rows, ok = [], 0
    files = sorted(args.folder.glob("*.vd"))
    for f in files:
        src = f.read_text(encoding="utf-8", errors="replace")
        r = check_reply(f"```vdsl\n{src}\n```", f.name)
        ok += r.ok
        first = format_compact(r.diagnostics).splitlines()[0] if r.diagnostics and not r.ok else ""
        rows.append(f"| {f.name} | {'ok' if r.ok else 'error'} | {first.replace('|', '/')} |")
    text = "\n".join(
        ["| program | result | first diagnostic |", "|---|---|---|", *rows, "", f"working: {ok}/{len(files)}"]
    )
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0 if files else 1


if __name__ == "__main__":
    sys.exit(main())
