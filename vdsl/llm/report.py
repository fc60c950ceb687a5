"""Refine reports from a run folder's transcript: a summary, strip.png (every round side by side, labelled) and a self-contained index.html."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from ..fonts import pil_font
from ..atomic import atomic_write
from .files import read_jsonl

TRANSCRIPT = "transcript.jsonl"
TILE, PAD, LABEL_H, TITLE_H = 256, 16, 30, 44


# ------------------------------------------------------------------ summary
def rounds_of(events: list[dict]) -> dict[int, dict]:
    """round -> its (last) round event; a round redone after a resume keeps the newest record."""
    out: dict[int, dict] = {}
    for e in events:
        if e.get("event") == "round" and isinstance(e.get("round"), int):
            out[e["round"]] = e
    return dict(sorted(out.items()))


def _seconds(t0: str | None, t1: str | None) -> float | None:
    from datetime import datetime

    try:
        return (
            datetime.strptime(t1, "%Y-%m-%dT%H:%M:%S%z") - datetime.strptime(t0, "%Y-%m-%dT%H:%M:%S%z")
        ).total_seconds()
    except (TypeError, ValueError):
        return None


def duration_s(events: list[dict]) -> float:
    """Wall time of the run: each session (start or resume to its last event) added up."""
    total, t0, t1 = 0.0, None, None
    for e in events:
        if e.get("event") in ("start", "resume"):
            total += _seconds(t0, t1) or 0.0
            t0 = t1 = e.get("time")
        elif e.get("time"):
            t1 = e["time"]
    return total + (_seconds(t0, t1) or 0.0)


def summarize(events: list[dict]) -> dict:
    """What a run did, derived from its transcript alone. Tokens count every call, cached ones too
    (they are labelled: cached_*_tokens), so a cached rerun or a resume reports the run's real size."""
    starts = [e for e in events if e.get("event") in ("start", "resume")]
    first = next((e for e in events if e.get("event") == "start"), {})
    planned = starts[-1].get("rounds", first.get("rounds", 0)) if starts else 0
    rounds = rounds_of(events)
    calls, seen = [], set()
    for e in events:  # a step replayed from the cache after a resume or a batch pass counts once
        if e.get("event") == "call" and (e.get("key") is None or e["key"] not in seen):
            calls.append(e)
            seen.add(e.get("key"))
    fresh = [c for c in calls if not c.get("cached")]
    ok = [k for k, r in rounds.items() if r.get("status") == "ok"]
    r0 = rounds.get(0)
    last = events[-1].get("event") if events else None
    cached = [c for c in calls if c.get("cached")]

    def tok(cs, k):
        return sum((c.get("usage") or {}).get(k, 0) or 0 for c in cs)

    models = []
    for e in starts:
        m = (e.get("endpoint") or {}).get("model")
        if m and m not in models:
            models.append(m)
    served = sorted({c["model"] for c in calls if c.get("model")})
    errors = [e for e in events if e.get("event") == "error"]
    stopping = [e for e in errors if e.get("error_kind") != "rejected"]
    retries = [r for e in calls + errors for r in (e.get("retries") or [])]
    price = next((e.get("price_per_1m") for e in reversed(starts) if e.get("price_per_1m")), None)
    pt, ct = tok(calls, "prompt_tokens"), tok(calls, "completion_tokens")
    return {
        "concept": first.get("concept", ""),
        "model": ", then ".join(models) if models else (first.get("endpoint") or {}).get("model", ""),
        "server_models": served,
        "started": first.get("time"),
        "duration_s": duration_s(events),
        "vdsl_version": first.get("vdsl_version"),
        "seed": first.get("seed"),
        "max_tokens": (starts[-1].get("endpoint") or {}).get("max_tokens") if starts else None,
        "system_prompt_sha256": first.get("system_prompt_sha256"),
        "settings_changed": [e["changed_settings"] for e in starts if e.get("changed_settings")],
        "rounds_planned": planned,
        "rounds_done": len(rounds),
        "rounds_ok": len(ok),
        "rounds_failed": len(rounds) - len(ok),
        "compiled_first_try": bool(r0 and r0.get("status") == "ok" and r0.get("repairs", 0) == 0),
        "repairs": sum(r.get("repairs", 0) for r in rounds.values()),
        "final_round": ok[-1] if ok else None,
        "complete": len(rounds) >= planned > 0,
        "calls": len(calls),
        "requests": sum(c.get("attempts", 1) for c in fresh)
        + sum(e.get("attempts", 1) or 0 for e in events if e.get("event") == "error"),
        "cached_calls": len(calls) - len(fresh),
        "prompt_tokens": pt,
        "completion_tokens": ct,
        "cached_prompt_tokens": tok(cached, "prompt_tokens"),
        "cached_completion_tokens": tok(cached, "completion_tokens"),
        "cost": round((pt * price[0] + ct * price[1]) / 1e6, 6) if price else None,
        "retries": len(retries),
        "retry_reasons": [r.get("reason") for r in retries],
        "rejected_requests": len(errors) - len(stopping),
        "aborted_by": stopping[-1].get("error") if stopping and last != "end" else None,
        "latency_s": round(sum(c.get("latency_s", 0) or 0 for c in fresh), 3),
        "endpoint_errors": sum(1 for e in events if e.get("event") == "error"),
        "interrupted": last == "interrupted",
        "deadline_reached": any(e.get("event") == "deadline" for e in events),
    }


# ------------------------------------------------------------------ images
def round_png(out_dir: Path, r: dict) -> bytes | None:
    """The round's picture: its PNG file, else rendered again from the program in the transcript."""
    if r.get("status") != "ok":
        return None
    f = out_dir / (r.get("image") or f"round_{r['round']}.png")
    if f.is_file():
        return f.read_bytes()
    src = r.get("program")
    if not src:
        return None
    from ..sandbox import run as run_sandboxed  # a model's program: never run in-process

    res = run_sandboxed(src, seed=r.get("seed", 0), fmt="png", file=f"round_{r['round']}.vd")
    return res.value if res.ok else None


def strip_png(out_dir: str | Path, events: list[dict] | None = None, tile: int = TILE) -> bytes:
    """All rounds side by side, each labelled (round, repairs or failure), the concept as a title."""
    from PIL import Image, ImageDraw

    out_dir = Path(out_dir)
    events = read_jsonl(out_dir / TRANSCRIPT) if events is None else events
    rounds = list(rounds_of(events).values())
    s = summarize(events)
    n = max(1, len(rounds))
    w, h = PAD + n * (tile + PAD), TITLE_H + tile + LABEL_H + PAD
    img = Image.new("RGB", (max(w, 360), h), "white")
    d = ImageDraw.Draw(img)
    title = f"{s['concept']}" + (f"  ·  {s['model']}" if s["model"] else "")
    d.text((PAD, 12), title[:120], fill="#222222", font=pil_font(20, "bold"))
    label_font, small = pil_font(15), pil_font(13)
    if not rounds:
        d.text((PAD, TITLE_H + tile // 2), "no rounds yet", fill="#888888", font=label_font)
    for i, r in enumerate(rounds):
        x, y = PAD + i * (tile + PAD), TITLE_H
        d.rectangle([x - 1, y - 1, x + tile, y + tile], outline="#cccccc")
        data = round_png(out_dir, r)
        if data is not None:
            try:
                pic = Image.open(io.BytesIO(data)).convert("RGBA")
                s = min(tile / pic.width, tile / pic.height)  # fit the tile, small canvases scaled up
                pic = pic.resize((max(1, round(pic.width * s)), max(1, round(pic.height * s))), Image.LANCZOS)
                bg = Image.new("RGBA", pic.size, "white")
                bg.alpha_composite(pic)
                img.paste(bg.convert("RGB"), (x + (tile - pic.width) // 2, y + (tile - pic.height) // 2))
            except Exception:
                data = None
        if data is None:
            d.rectangle([x, y, x + tile - 1, y + tile - 1], fill="#f1f1f1")
            d.line([x + 20, y + 20, x + tile - 20, y + tile - 20], fill="#e0b4b4", width=3)
            d.line([x + tile - 20, y + 20, x + 20, y + tile - 20], fill="#e0b4b4", width=3)
            errs = sum(1 for dg in r.get("diagnostics") or [] if str(dg.get("code", "E")).startswith("E"))
            msg = "failed" + (f" ({errs} error{'s' if errs != 1 else ''})" if errs else "")
            tw = d.textlength(msg, font=label_font)
            tx, ty = x + (tile - tw) / 2, y + tile / 2 - 9
            d.rectangle([tx - 6, ty - 4, tx + tw + 6, ty + 22], fill="#f1f1f1")
            d.text((tx, ty), msg, fill="#b00020", font=label_font)
        label = f"round {r['round']}"
        if r.get("status") != "ok":
            label += " · failed"
        elif r.get("repairs"):
            label += f" · {r['repairs']} repair{'s' if r['repairs'] != 1 else ''}"
        tw = d.textlength(label, font=small)
        d.text(
            (x + (tile - tw) / 2, y + tile + 8),
            label,
            fill="#b00020" if r.get("status") != "ok" else "#333333",
            font=small,
        )
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


# ------------------------------------------------------------------ html
CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table.meta td{padding:2px 12px 2px 0;vertical-align:top}img.strip{max-width:100%;border:1px solid #ddd}
img.round{max-width:384px;border:1px solid #ddd;float:right;margin:0 0 1em 1em}
pre{background:#f6f8fa;padding:.7em;overflow:auto;font-size:13px;white-space:pre-wrap;word-break:break-word}
.ok{color:#137333}.failed{color:#b00020}details{margin:.4em 0}summary{cursor:pointer;color:#444}
section{overflow:auto}.msg{color:#555;font-size:13px;margin:.3em 0 .1em}"""


def _e(x) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _diag_lines(diags: list) -> str:
    out = []
    for dg in diags or []:
        if isinstance(dg, str):
            out.append(dg)
            continue
        sp = dg.get("span") or {}
        line = f"{sp.get('line', 0)}:{sp.get('col', 0)} {dg.get('severity', 'error')} {dg.get('code', '')}: {dg.get('message', '')}"
        if dg.get("hint"):
            line += f" (hint: {dg['hint']})"
        out.append(line)
    return "\n".join(out)


def _message_text(m: dict) -> str:
    c = m.get("content")
    if isinstance(c, list):
        return "\n".join(
            p.get("text", "") if p.get("type") == "text" else f"[image: {(p.get('image_url') or {}).get('url', '')}]"
            for p in c
            if isinstance(p, dict)
        )
    return "" if c is None else str(c)


def index_html(out_dir: str | Path, events: list[dict] | None = None, strip: bytes | None = None) -> str:
    """The whole run as one HTML file: images inline as data URLs, every string escaped."""
    out_dir = Path(out_dir)
    events = read_jsonl(out_dir / TRANSCRIPT) if events is None else events
    s = summarize(events)
    start = next((e for e in events if e.get("event") == "start"), {})
    ep = start.get("endpoint") or {}
    rounds = rounds_of(events)
    calls: dict[int, list[dict]] = {}
    session, seen_in = 0, {}
    for e in events:
        if e.get("event") == "resume":
            session += 1
        if e.get("event") in ("call", "error") and isinstance(e.get("round"), int):
            if seen_in.get(e["round"]) != session:  # a round redone after a resume: its new calls only
                seen_in[e["round"]] = session
                calls[e["round"]] = []
            calls[e["round"]].append(e)
    p = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>vdsl refine: {_e(s['concept'])}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(s['concept'])}</h1>",
    ]
    meta = [
        ("model", s["model"]),
        ("server-reported model", ", ".join(s["server_models"])),
        ("endpoint", ep.get("base_url")),
        ("temperature", ep.get("temperature")),
        ("max_tokens", s["max_tokens"]),
        ("seed", s["seed"]),
        ("date", s["started"]),
        ("duration", f"{s['duration_s']:.0f} s"),
        ("vdsl version", s["vdsl_version"]),
        ("system prompt sha256", (s["system_prompt_sha256"] or "")[:16]),
        ("feedback", f"{start.get('feedback', '')}: {start.get('feedback_text', '')}"),
        (
            "rounds",
            f"{s['rounds_ok']} ok, {s['rounds_failed']} failed, of {s['rounds_planned']} planned"
            + ("" if s["complete"] else " (incomplete: rerun with --resume)"),
        ),
        ("compiled first try", "yes" if s["compiled_first_try"] else "no"),
        ("repairs", s["repairs"]),
        ("final round", s["final_round"]),
        ("requests", f"{s['requests']} sent, {s['cached_calls']} calls from the cache"),
        (
            "tokens",
            f"{s['prompt_tokens']} prompt + {s['completion_tokens']} completion (of which from the "
            f"cache: {s['cached_prompt_tokens']} + {s['cached_completion_tokens']})",
        ),
        ("cost", "" if s["cost"] is None else f"{s['cost']:.4f} (at the --price given)"),
        ("latency", f"{s['latency_s']} s in all"),
        ("endpoint errors", s["endpoint_errors"]),
        ("retries", f"{s['retries']}" + (f": {'; '.join(s['retry_reasons'][:10])}" if s["retries"] else "")),
        ("aborted by", s["aborted_by"] or ""),
        ("settings changed on resume", s["settings_changed"] or ""),
    ]
    p.append(
        '<table class="meta">' + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in meta) + "</table>"
    )
    strip = strip if strip is not None else strip_png(out_dir, events)
    p.append(f'<p><img class="strip" alt="all rounds" src="{_data_url(strip)}"></p>')
    for k, r in rounds.items():
        status = r.get("status", "failed")
        p.append(f'<section id="round-{k}"><h2>Round {k} <span class="{_e(status)}">{_e(status)}</span></h2>')
        png = round_png(out_dir, r)
        if png is not None:
            p.append(f'<img class="round" alt="round {k}" src="{_data_url(png)}">')
        note = f"{r.get('kind', '')}" + (f" from round {r['from_round']}" if r.get("from_round") is not None else "")
        p.append(f"<p>{_e(note)}; {_e(r.get('repairs', 0))} repair(s)</p>")
        if r.get("reason"):
            p.append(f'<p class="failed">{_e(r["reason"])}</p>')
        if r.get("diagnostics"):
            p.append(f"<p>diagnostics</p><pre>{_e(_diag_lines(r['diagnostics']))}</pre>")
        if r.get("program"):
            p.append(f"<p>program ({_e(r.get('file') or '')})</p><pre>{_e(r['program'])}</pre>")
        for i, c in enumerate(calls.get(k, [])):
            if c.get("event") == "error":
                p.append(f'<p class="failed">endpoint error: {_e(c.get("error"))}</p>')
                continue
            for rt in c.get("retries") or []:
                p.append(
                    f'<p class="msg">retry {_e(rt.get("attempt"))} after {_e(rt.get("delay_s"))} s: '
                    f"{_e(rt.get('reason'))}</p>"
                )
            u = c.get("usage") or {}
            head = (
                f"call {i}: {c.get('kind', '')} · {u.get('prompt_tokens', '?')}+{u.get('completion_tokens', '?')}"
                f" tokens · {c.get('latency_s', 0)} s"
                + (" · cached" if c.get("cached") else "")
                + (" · cut off at max_tokens" if c.get("cut") else "")
                + (" · compiled" if c.get("ok") else " · errors")
            )
            last_user = next((m for m in reversed(c.get("messages") or []) if m.get("role") == "user"), {})
            p.append(
                f"<details><summary>{_e(head)}</summary>"
                f'<div class="msg">request (last message)</div><pre>{_e(_message_text(last_user))}</pre>'
                f'<div class="msg">reply</div><pre>{_e(c.get("reply"))}</pre>'
                + (
                    f'<div class="msg">diagnostics</div><pre>{_e(_diag_lines(c.get("diagnostics")))}</pre>'
                    if c.get("diagnostics")
                    else ""
                )
                + "</details>"
            )
        p.append("</section>")
    errors = [e for e in events if e.get("event") == "error" and not isinstance(e.get("round"), int)]
    for e in errors:
        p.append(f'<p class="failed">endpoint error: {_e(e.get("error"))}</p>')
    p.append(f"<h2>Summary</h2><pre>{_e(json.dumps(s, indent=2))}</pre></body></html>")
    return "\n".join(p) + "\n"


def write_report(out_dir: str | Path, events: list[dict] | None = None) -> None:
    """(Re)write strip.png and index.html from the transcript, atomically."""
    out_dir = Path(out_dir)
    events = read_jsonl(out_dir / TRANSCRIPT) if events is None else events
    strip = strip_png(out_dir, events)
    atomic_write(out_dir / "strip.png", strip, fsync=True)
    atomic_write(out_dir / "index.html", index_html(out_dir, events, strip), fsync=True)
