"""How often the program shown by `vdsl recognize` names its own answer: the corpus (examples/) as shown
before (comments and header removed) and as shown now (anonymised), counted word by word. Writes
bench/results/recognize_leaks.md.

    python bench/bench_recognize_leaks.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vdsl.api import read_meta
from vdsl.llm.recognize import shown_source

STOP = {"with", "made", "shaped", "inside", "from", "that", "this", "their", "into", "over", "under", "above", "below"}


def words(concept: str) -> set[str]:
    """The concept's content words (4+ letters), and a plural's singular."""
    out = set()
    for w in re.findall(r"[a-z]{4,}", concept.lower()):
        if w in STOP:
            continue
        out.add(w)
        if w.endswith("s"):
            out.add(w[:-1])
    return out


def leaks(text: str, concept: str) -> bool:
    low = text.lower()
    return any(re.search(r"(?<![a-z])" + re.escape(w), low) for w in words(concept))


def main() -> None:
    files = sorted((ROOT / "examples").glob("*.vd"))
    rows = []
    for f in files:
        src = f.read_text(encoding="utf-8")
        concept = read_meta(src).get("concept", "")
        tier = read_meta(src).get("tier", "")
        before = leaks(shown_source(src, anonymize=False), concept)
        after = leaks(shown_source(src, anonymize=True), concept)
        rows.append((f.name, tier, concept, before, after))
    n = len(rows)
    tiers = sorted({r[1] for r in rows})
    md = [
        "# Does the program shown by `vdsl recognize` name its answer?",
        "",
        "Corpus: every program in examples/. A program *leaks* when the text shown to the model contains a "
        "content word (4+ letters, or its singular) of its true concept — an identifier such as `def macaw_body`, "
        "a `label=` or a string. Before: header and comments removed (the old default); after: also anonymised "
        "(`--anonymize`, now the default).",
        "",
        "Command: `python bench/bench_recognize_leaks.py`",
        "",
        "| tier | programs | leaking before | leaking after |",
        "|---|---|---|---|",
    ]
    for t in tiers + ["all"]:
        sel = [r for r in rows if t == "all" or r[1] == t]
        md.append(f"| {t} | {len(sel)} | {sum(r[3] for r in sel)} | {sum(r[4] for r in sel)} |")
    still = [r for r in rows if r[4]]
    if still:
        md += [
            "",
            "Still matching after anonymising — only by the language's own builtin and colour names the drawing "
            "uses (`lighten`, `white`, `circle`, `line`):",
            "",
        ]
        md += [f"- {r[0]}: {r[2]}" for r in still]
    out = ROOT / "bench" / "results" / "recognize_leaks.md"
    out.write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))
    print(f"\n{n} programs -> {out}")


if __name__ == "__main__":
    main()
