"""Refine runs side by side: `vdsl refine --compare RUN...` (samples or models, round by round or concept by
concept) and a batch's index.html with every concept's strip; self-contained HTML, images inline."""

from __future__ import annotations

import io
from pathlib import Path

from ..errors import UsageError
from .files import read_jsonl
from .report import CSS, TRANSCRIPT, _data_url, _e, round_png, rounds_of, strip_png, summarize

THUMB = 256  # pictures are embedded at most this many pixels wide

COMPARE_CSS = (
    CSS
    + """
table.cmp{border-collapse:collapse;margin:1em 0}table.cmp td,table.cmp th{border:1px solid #ddd;padding:6px;
text-align:center;vertical-align:top;font-size:13px}table.cmp th{background:#f6f8fa}
table.cmp img{width:200px;height:auto;display:block;margin:0 auto 4px}.none{color:#999}
.strips section{margin:1.5em 0}.strips img{max-width:100%;border:1px solid #ddd}"""
)


def _thumb(png: bytes | None, side: int = THUMB) -> bytes | None:
    if png is None:
        return None
    from PIL import Image

    try:
        im = Image.open(io.BytesIO(png))
        if max(im.size) > side:
            im.thumbnail((side, side), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "PNG")
        return buf.getvalue()
    except Exception:
        return None


def run_folders(path: Path) -> list[Path]:
    """The refine runs at path: itself when it holds a transcript, else the folders below it that do."""
    if (path / TRANSCRIPT).is_file():
        return [path]
    return sorted(p.parent for p in path.rglob(TRANSCRIPT))


def _label(path: Path, s: dict) -> str:
    return f"{path.name} · {s.get('model') or '?'}"


def _meta_rows(runs: list[tuple[str, dict]]) -> str:
    keys = [
        ("concept", lambda s: s.get("concept")),
        ("model", lambda s: s.get("model")),
        ("sample", lambda s: s.get("sample")),
        ("rounds ok", lambda s: f"{s.get('rounds_ok', 0)}/{s.get('rounds_planned', 0)}"),
        ("compiled first try", lambda s: "yes" if s.get("compiled_first_try") else "no"),
        ("repairs", lambda s: s.get("repairs")),
        ("tokens", lambda s: (s.get("prompt_tokens") or 0) + (s.get("completion_tokens") or 0)),
        ("cost", lambda s: "" if s.get("cost") is None else f"{s['cost']:.4f}"),
    ]
    out = []
    for name, get in keys:
        out.append(f"<tr><th>{_e(name)}</th>" + "".join(f"<td>{_e(get(s))}</td>" for _, s in runs) + "</tr>")
    return "".join(out)


def _cell(png: bytes | None, caption: str, failed: bool) -> str:
    t = _thumb(png)
    pic = f'<img alt="{_e(caption)}" src="{_data_url(t)}">' if t is not None else '<div class="none">—</div>'
    return f'<td>{pic}<span class="{"failed" if failed else ""}">{_e(caption)}</span></td>'


def compare_html(paths: list[Path]) -> str:
    """Runs side by side. Single runs (samples of one concept, or models): a column per run, a row per
    round. Batch folders: a column per batch, a row per concept folder (its final round)."""
    if len(paths) < 2:
        raise UsageError("--compare needs at least two runs (folders written by vdsl refine)")
    expanded = [run_folders(p) for p in paths]
    for p, runs in zip(paths, expanded, strict=True):
        if not runs:
            raise UsageError(f"{p} holds no refine run (no {TRANSCRIPT} in it or below it)")
    single = [len(r) == 1 and r[0] == p for p, r in zip(paths, expanded, strict=True)]
    if any(single) and not all(single):
        raise UsageError("--compare takes single runs or batch folders, not a mix of both")
    head = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">', "<title>vdsl refine: compare</title>"]
    head.append(f"<style>{COMPARE_CSS}</style></head><body>")
    if all(single):
        events = [read_jsonl(p / TRANSCRIPT) for p in paths]
        sums = [summarize(ev) for ev in events]
        for s_, ev in zip(sums, events, strict=True):  # the sample index is the start event's
            s_.setdefault("sample", next((e.get("sample") for e in ev if e.get("event") == "start"), None))
        rounds = [rounds_of(ev) for ev in events]
        concepts = sorted({s.get("concept") or "" for s in sums})
        title = concepts[0] if len(concepts) == 1 else f"{len(concepts)} concepts"
        body = [f"<h1>Compare: {_e(title)}</h1>", '<table class="cmp"><tr><th></th>']
        body += [f"<th>{_e(_label(p, s))}</th>" for p, s in zip(paths, sums, strict=True)]
        body.append("</tr>" + _meta_rows(list(zip([str(p) for p in paths], sums, strict=True))))
        n = max((max(r) + 1 for r in rounds if r), default=0)
        for k in range(n):
            body.append(f"<tr><th>round {k}</th>")
            for p, r in zip(paths, rounds, strict=True):
                rec = r.get(k)
                if rec is None:
                    body.append('<td class="none">not run</td>')
                    continue
                ok = rec.get("status") == "ok"
                n_rep = rec.get("repairs") or 0
                cap = ("ok" if ok else "failed") + (f" · {n_rep} repair{'s' if n_rep != 1 else ''}" if n_rep else "")
                body.append(_cell(round_png(p, rec) if ok else None, cap, not ok))
            body.append("</tr>")
        body.append("</table>")
    else:
        roots = list(paths)
        by_root = [
            {r.relative_to(root).as_posix(): r for r in runs} for root, runs in zip(roots, expanded, strict=True)
        ]
        names: list[str] = []
        for m in by_root:
            names += [k for k in m if k not in names]
        body = [f"<h1>Compare {len(roots)} batches</h1>", '<table class="cmp"><tr><th>concept</th>']
        body += [f"<th>{_e(r)}</th>" for r in roots]
        body.append("</tr>")
        for name in names:
            body.append(f"<tr><th>{_e(name)}</th>")
            for m in by_root:
                d = m.get(name)
                if d is None:
                    body.append('<td class="none">not in this batch</td>')
                    continue
                ev = read_jsonl(d / TRANSCRIPT)
                s, rs = summarize(ev), rounds_of(ev)
                final = s.get("final_round")
                png = round_png(d, rs[final]) if final is not None and final in rs else None
                cap = f"{s.get('model') or '?'} · {s.get('rounds_ok', 0)}/{s.get('rounds_planned', 0)} rounds ok"
                body.append(_cell(png, cap, final is None))
            body.append("</tr>")
        body.append("</table>")
    return "\n".join(head + body) + "\n</body></html>\n"


def batch_index_html(out_root: Path, rows: list[dict]) -> str:
    """A batch's index.html: its summary table and every concept's strip (all rounds), inline."""
    cols = [
        ("concept", "concept"),
        ("status", "status"),
        ("compiled_first_try", "compiled first try"),
        ("repairs", "repairs"),
        ("rounds", "rounds"),
        ("tokens", "tokens"),
    ]
    p = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>vdsl refine: {_e(out_root.name)}</title>",
        f"<style>{COMPARE_CSS}</style></head><body>",
        f"<h1>{_e(out_root.name)}: {len(rows)} concepts</h1>",
        '<table class="cmp"><tr>' + "".join(f"<th>{_e(t)}</th>" for _, t in cols) + "</tr>",
    ]
    for r in rows:
        p.append(
            "<tr>"
            + "".join(
                f'<td><a href="#{_e(r["folder"])}">{_e(r[k])}</a></td>'
                if k == "concept"
                else f"<td>{_e(r.get(k))}</td>"
                for k, _ in cols
            )
            + "</tr>"
        )
    p.append('</table><div class="strips">')
    for r in rows:
        d = out_root / r["folder"]
        p.append(f'<section id="{_e(r["folder"])}"><h2>{_e(r["concept"])}</h2>')
        if (d / TRANSCRIPT).is_file():
            f = d / "strip.png"
            png = f.read_bytes() if f.is_file() else strip_png(d)
            p.append(f'<p><img alt="{_e(r["concept"])}: all rounds" src="{_data_url(png)}"></p>')
            p.append(f'<p class="msg">{_e(r["status"])} · details: {_e(r["folder"])}/index.html</p>')
        else:
            p.append(f'<p class="none">{_e(r["status"])}</p>')
        p.append("</section>")
    p.append("</div></body></html>")
    return "\n".join(p) + "\n"
