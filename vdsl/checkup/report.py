"""The check-up's report from its run folders: scores per item, results.json, a Markdown leaderboard with intervals, PNG plots and a self-contained index.html."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import platform
import random
import statistics
import sys
from pathlib import Path

from ..atomic import atomic_write
from ..version import __version__

PLOTS = ("improvement.png", "compile_rate.png", "recognition.png")
THUMB = 160  # side of a render in index.html
Z95 = 1.959963984540054


# ------------------------------------------------------------------ intervals
def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """The Wilson score interval of a binomial proportion k/n (95 %); (None, None) for n = 0."""
    if n <= 0:
        return None, None
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def bootstrap_mean(values: list[float], seed: int = 0, n: int = 2000) -> tuple[float | None, float | None]:
    """A seeded percentile-bootstrap 95 % interval of the mean; (None, None) under two values."""
    if len(values) < 2:
        return None, None
    rng = random.Random(f"vdsl-checkup-bootstrap:{seed}")
    m = len(values)
    means = sorted(statistics.fmean(rng.choices(values, k=m)) for _ in range(n))
    return means[int(0.025 * n)], means[min(n - 1, int(0.975 * n))]


def proportion(k: int, n: int) -> dict:
    lo, hi = wilson(k, n)
    return {"k": k, "n": n, "value": k / n if n else None, "low": lo, "high": hi, "interval": "wilson95"}


def mean_of(values: list[float], seed: int = 0) -> dict:
    lo, hi = bootstrap_mean(values, seed)
    return {
        "n": len(values),
        "value": statistics.fmean(values) if values else None,
        "low": lo,
        "high": hi,
        "interval": "bootstrap95",
    }


def paired_change(after: dict, before: dict) -> dict:
    """The paired difference after - before over the items both have (vdsl.train.statistics.paired: a
    t-interval and test, when scipy is installed; else a bootstrap interval of the mean difference)."""
    keys = sorted(set(after) & set(before))
    try:
        from ..train.statistics import paired
    except ImportError:
        r = mean_of([after[k] - before[k] for k in keys])
        return {**r, "p": None}
    p = paired({k: after[k] for k in keys}, {k: before[k] for k in keys})
    return {"n": p.n, "value": p.mean if keys else None, "low": p.low, "high": p.high, "p": p.p, "interval": "t95"}


# ------------------------------------------------------------------ scoring the run folders
def _versions() -> dict:
    from importlib import metadata

    out = {"vdsl": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("openai", "numpy", "pillow", "skia-python", "matplotlib", "open_clip_torch", "torch"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _load_png(path: Path):
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, ValueError):
        return None


def collect(out: Path, cfg, pl, scorer) -> tuple[list[dict], list[dict], list[str]]:
    """(per item records, per (model, tier, concept) diversity records, notes) scored from the run folders."""
    from ..llm.files import read_jsonl
    from ..llm.report import TRANSCRIPT, rounds_of, summarize
    from .run import RECOGNITION, _read_recognitions
    from .stdlib_use import stdlib_use

    records, notes = [], []
    images: dict[tuple[str, str, int], object] = {}  # (model, item key, round) -> image (carried forward)
    for m in cfg.models:
        by_item = _read_recognitions(out / "runs" / m.slug / RECOGNITION)
        for it in pl.items:
            folder = it.path(out, m)
            events = read_jsonl(folder / TRANSCRIPT)
            s = summarize(events) if events else None
            rounds = rounds_of(events)
            per_round, last_img = [], None
            for k in range(cfg.rounds):
                r = rounds.get(k)
                use = stdlib_use(r.get("program")) if r else {"modules": [], "components": []}
                if r and r.get("status") == "ok":
                    img = _load_png(folder / f"round_{k}.png")
                    if img is not None:
                        last_img = img
                if last_img is not None:
                    images[(m.name, it.key, k)] = last_img
                per_round.append(
                    {
                        "round": k,
                        "status": None if r is None else r.get("status"),
                        "repairs": None if r is None else r.get("repairs", 0),
                        "image": f"round_{k}.png" if r and r.get("status") == "ok" else None,
                        "scored_image_from": None,
                        "stdlib_modules": use["modules"],
                        "stdlib_components": use["components"],
                        "rank": None,
                        "chosen": None,
                        "score": None,
                    }
                )
            rec = {
                "model": m.name,
                "tier": it.tier,
                "concept": it.concept,
                "sample": it.sample,
                "key": it.key,
                "folder": str(folder.relative_to(out)),
                "started": s is not None,
                "compiled_first_try": bool(s and s["compiled_first_try"]),
                "compiled_any": bool(s and s["final_round"] is not None),
                "final_round": s["final_round"] if s else None,
                "rounds_ok": s["rounds_ok"] if s else 0,
                "rounds_done": s["rounds_done"] if s else 0,
                "repairs": s["repairs"] if s else 0,
                "prompt_tokens": s["prompt_tokens"] if s else 0,
                "completion_tokens": s["completion_tokens"] if s else 0,
                "latency_s": s["latency_s"] if s else 0.0,
                "cost": s["cost"] if s else None,
                "endpoint_errors": s["endpoint_errors"] if s else 0,
                "rounds": per_round,
                "recognition": by_item.get(it.key),
            }
            last = None
            for pr in per_round:
                if pr["image"]:
                    last = pr["round"]
                pr["scored_image_from"] = last
            records.append(rec)
    # fidelity: one batch per model and tier and round (the scorer ranks the tier's candidates)
    for m in cfg.models:
        for tier, cands in pl.candidates.items():
            for k in range(cfg.rounds):
                batch = [
                    (r, images[(m.name, r["key"], k)])
                    for r in records
                    if r["model"] == m.name and r["tier"] == tier and (m.name, r["key"], k) in images
                ]
                if not batch or len(cands) < 2:
                    continue
                try:
                    fid = scorer.fidelity([b[1] for b in batch], [b[0]["concept"] for b in batch], list(cands))
                except Exception as e:  # a scorer failure is a line in the report, never a traceback
                    notes.append(f"scorer {scorer.name} failed on {m.name}/{tier} round {k}: {type(e).__name__}: {e}")
                    fid = None
                if fid is None:
                    continue
                for (r, _), f in zip(batch, fid):
                    r["rounds"][k].update(rank=f.rank, chosen=f.chosen, score=f.score)
    # diversity: the final renders of one concept's K samples
    div = []
    for m in cfg.models:
        groups: dict[tuple[str, str], list] = {}
        for r in records:
            if r["model"] != m.name:
                continue
            img = images.get((m.name, r["key"], cfg.rounds - 1))
            groups.setdefault((r["tier"], r["concept"]), [])
            if img is not None:
                groups[(r["tier"], r["concept"])].append(img)
        for (tier, concept), imgs in groups.items():
            value = None
            if len(imgs) >= 2:
                try:
                    value = scorer.diversity(imgs)
                except Exception as e:
                    notes.append(
                        f"scorer {scorer.name} diversity failed on {m.name}/{concept}: {type(e).__name__}: {e}"
                    )
            div.append({"model": m.name, "tier": tier, "concept": concept, "samples": len(imgs), "diversity": value})
    return records, div, notes


# ------------------------------------------------------------------ aggregation
def aggregate(cfg, records: list[dict], div: list[dict], tiers: list[str]) -> dict:
    """model -> tier -> measures (each with its interval)."""
    out: dict = {}
    for m in cfg.models:
        out[m.name] = {}
        for tier in tiers:
            rs = [r for r in records if r["model"] == m.name and r["tier"] == tier]
            started = [r for r in rs if r["started"]]
            n = len(rs)
            rounds_planned = n * cfg.rounds
            final = cfg.rounds - 1
            fid_rounds = []
            for k in range(cfg.rounds):
                ranked = [r["rounds"][k]["rank"] for r in rs if r["rounds"][k]["rank"] is not None]
                scores = [r["rounds"][k]["score"] for r in rs if r["rounds"][k]["score"] is not None]
                fid_rounds.append(
                    {
                        "round": k,
                        "top1": proportion(sum(x == 1 for x in ranked), len(ranked)),
                        "score": mean_of(scores, cfg.seed),
                        "have_program": proportion(sum(r["rounds"][k]["scored_image_from"] is not None for r in rs), n),
                    }
                )

            def per_item(k, what, rs=rs):
                """item -> top-1 (0/1) or score at round k, for the items that have one."""
                field = "rank" if what == "top1" else "score"
                return {
                    f"{r['concept']}#{r['sample']}": float(
                        (r["rounds"][k]["rank"] == 1) if what == "top1" else r["rounds"][k]["score"]
                    )
                    for r in rs
                    if r["rounds"][k][field] is not None
                }

            recog = [r["recognition"] for r in rs if r["recognition"]]
            positions: dict[str, int] = {}
            truths: dict[str, int] = {}
            for x in recog:
                key = x.get("answer_letter") or "none"
                positions[key] = positions.get(key, 0) + 1
                if x.get("truth_letter"):
                    truths[x["truth_letter"]] = truths.get(x["truth_letter"], 0) + 1
            chance = statistics.fmean(1 / len(x["choices"]) for x in recog) if recog else None
            stdlib_rounds = [
                pr for r in rs for pr in r["rounds"] if pr["status"] is not None and pr["stdlib_components"]
            ]
            divs = [
                d["diversity"] for d in div if d["model"] == m.name and d["tier"] == tier and d["diversity"] is not None
            ]
            out[m.name][tier] = {
                "items": n,
                "started": len(started),
                "first_try": proportion(sum(r["compiled_first_try"] for r in rs), n),
                "compiled_any": proportion(sum(r["compiled_any"] for r in rs), n),
                "rounds_compiled": proportion(sum(r["rounds_ok"] for r in rs), rounds_planned),
                "repairs": mean_of([float(r["repairs"]) for r in started], cfg.seed),
                "fidelity": fid_rounds,
                "improvement_top1": paired_change(per_item(final, "top1"), per_item(0, "top1"))
                if cfg.rounds > 1
                else None,
                "improvement_score": paired_change(per_item(final, "score"), per_item(0, "score"))
                if cfg.rounds > 1
                else None,
                "recognition": {**proportion(sum(bool(x.get("correct")) for x in recog), len(recog)), "chance": chance},
                "answer_positions": dict(sorted(positions.items())),
                "truth_positions": dict(sorted(truths.items())),
                "recognition_flagged": sum(bool(x.get("flag")) for x in recog),
                "diversity": mean_of(divs, cfg.seed),
                "stdlib_rounds": len(stdlib_rounds),
                "rounds_done": sum(r["rounds_done"] for r in rs),
                "unfinished": sum(r["rounds_done"] < cfg.rounds for r in rs),
                "prompt_tokens": sum(r["prompt_tokens"] for r in rs)
                + sum((x.get("usage") or {}).get("prompt_tokens", 0) or 0 for x in recog),
                "completion_tokens": sum(r["completion_tokens"] for r in rs)
                + sum((x.get("usage") or {}).get("completion_tokens", 0) or 0 for x in recog),
                "latency_s": round(sum(r["latency_s"] for r in rs), 3),
            }
            price = m.price
            cell = out[m.name][tier]
            cell["cost"] = (
                round((cell["prompt_tokens"] * price[0] + cell["completion_tokens"] * price[1]) / 1e6, 6)
                if price
                else None
            )
    return out


# ------------------------------------------------------------------ formatting
def _pct(d: dict | None) -> str:
    if not d or d.get("value") is None:
        return "—"
    s = f"{100 * d['value']:.0f}%"
    if d.get("low") is not None:
        s += f" [{100 * d['low']:.0f}–{100 * d['high']:.0f}]"
    return s + (f" ({d['k']}/{d['n']})" if "k" in d else "")


def _num(d: dict | None, digits: int = 2, signed: bool = False) -> str:
    if not d or d.get("value") is None:
        return "—"
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    s = f.format(d["value"])
    if d.get("low") is not None:
        s += f" [{f.format(d['low'])}, {f.format(d['high'])}]"
    return s


def leaderboard_rows(cfg, agg: dict, tiers: list[str], has_fidelity: bool) -> tuple[list[str], list[list[str]]]:
    head = [
        "model",
        "tier",
        "n",
        "compiled first try",
        "compiled at all",
        "rounds compiled",
        "repairs / item",
        "fidelity top-1, round 0",
        "fidelity top-1, final",
        "improvement (top-1, final − 0)",
        "recognition (chance)",
        "diversity",
        "stdlib rounds",
        "tokens",
        "latency s",
        "cost",
    ]
    rows = []
    for m in cfg.models:
        for tier in tiers:
            c = agg[m.name][tier]
            f0, fl = c["fidelity"][0], c["fidelity"][-1]
            rec = c["recognition"]
            rows.append(
                [
                    m.name,
                    tier,
                    str(c["items"]),
                    _pct(c["first_try"]),
                    _pct(c["compiled_any"]),
                    _pct(c["rounds_compiled"]),
                    _num(c["repairs"]),
                    _pct(f0["top1"]) if has_fidelity else "n/a",
                    _pct(fl["top1"]) if has_fidelity else "n/a",
                    _num(c["improvement_top1"], 2, True) if has_fidelity else "n/a",
                    _pct(rec) + (f" ({100 * rec['chance']:.0f}%)" if rec.get("chance") is not None else ""),
                    _num(c["diversity"], 3),
                    str(c["stdlib_rounds"]),
                    str(c["prompt_tokens"] + c["completion_tokens"]),
                    f"{c['latency_s']:.1f}",
                    "—" if c["cost"] is None else f"${c['cost']:.4f}",
                ]
            )
    return head, rows


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(esc(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def notes_for(cfg, agg: dict, tiers: list[str], outcomes: dict, scorer, extra: list[str]) -> list[str]:
    """The report's plain lines about what went wrong or what a number does not cover."""
    out = list(extra)
    for m in cfg.models:
        o = outcomes.get(m.name)
        if o is not None and o.status != "ok":
            out.append(f"model {m.name}: {o.message}")
        n = sum(agg[m.name][t]["items"] for t in tiers)
        ok = sum(agg[m.name][t]["compiled_any"]["k"] for t in tiers)
        started = sum(agg[m.name][t]["started"] for t in tiers)
        if started and ok == 0:
            out.append(
                f"model {m.name}: no program compiled in any round ({ok}/{n} items) — nothing to score or recognise"
            )
        unfinished = sum(agg[m.name][t]["unfinished"] for t in tiers)
        if unfinished:
            out.append(
                f"model {m.name}: {unfinished} of {n} items unfinished ({n - started} not started) — the run stopped "
                "early; rerun with --resume"
            )
    if not any(
        agg[m.name][t]["fidelity"][k]["top1"]["n"] for m in cfg.models for t in tiers for k in range(cfg.rounds)
    ):
        out.append(
            f"scorer {scorer.name}: no fidelity scores (it cannot judge what a render shows); improvement is "
            "reported as rounds compiled only — pass --scorer clip:... or judge:... to measure it"
        )
    if cfg.samples > 1 and not any(agg[m.name][t]["diversity"]["n"] for m in cfg.models for t in tiers):
        out.append(
            f"scorer {scorer.name}: no diversity values (it has no diversity measure, or no concept had two "
            "compiled samples); --scorer pixel or clip:... measures it"
        )
    used = sum(agg[m.name][t]["stdlib_rounds"] for m in cfg.models for t in tiers)
    if used:
        out.append(
            f"stdlib: {used} round(s) called stdlib components (listed per round in results.json: stdlib_components)"
        )
    return out


# ------------------------------------------------------------------ plots
def write_plots(out: Path, cfg, agg: dict, tiers: list[str], has_fidelity: bool) -> list[str]:
    """improvement.png, compile_rate.png, recognition.png; [] with a note when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    d = out / "plots"
    d.mkdir(parents=True, exist_ok=True)
    written = []
    # score vs round, per tier, one line per model
    fig, axes = plt.subplots(1, len(tiers), figsize=(4 * len(tiers), 3.2), squeeze=False)
    for ax, tier in zip(axes[0], tiers):
        for m in cfg.models:
            fr = agg[m.name][tier]["fidelity"]
            key = "top1" if has_fidelity else "have_program"
            ys = [x[key]["value"] for x in fr]
            lo = [x[key]["low"] for x in fr]
            hi = [x[key]["high"] for x in fr]
            xs = [x["round"] for x in fr]
            ax.plot(xs, [y if y is not None else float("nan") for y in ys], marker="o", label=m.name)
            if all(v is not None for v in lo + hi):
                ax.fill_between(xs, lo, hi, alpha=0.15)
        ax.set_title(tier)
        ax.set_xlabel("refinement round")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xticks(range(cfg.rounds))
    axes[0][0].set_ylabel("fidelity top-1" if has_fidelity else "items with a compiled program")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(d / "improvement.png", dpi=90)
    plt.close(fig)
    written.append("plots/improvement.png")
    # compile rates and recognition vs chance: grouped bars
    for name, key, label in (
        ("compile_rate.png", "first_try", "compiled first try"),
        ("recognition.png", "recognition", "recognition accuracy"),
    ):
        fig, ax = plt.subplots(figsize=(max(4, 1.6 * len(tiers) * len(cfg.models)), 3.2))
        width = 0.8 / max(1, len(cfg.models))
        for i, m in enumerate(cfg.models):
            vals = [agg[m.name][t][key]["value"] or 0.0 for t in tiers]
            errs = [[0.0] * len(tiers), [0.0] * len(tiers)]
            for j, t in enumerate(tiers):
                cell = agg[m.name][t][key]
                if cell["value"] is not None and cell["low"] is not None:
                    errs[0][j] = max(0.0, cell["value"] - cell["low"])  # Wilson bounds can sit a rounding off
                    errs[1][j] = max(0.0, cell["high"] - cell["value"])
            xs = [j + i * width for j in range(len(tiers))]
            ax.bar(xs, vals, width, yerr=errs, capsize=3, label=m.name)
            if key == "recognition":
                for j, t in enumerate(tiers):
                    ch = agg[m.name][t]["recognition"]["chance"]
                    if ch is not None:
                        ax.hlines(ch, xs[j] - width / 2, xs[j] + width / 2, colors="k", linestyles="dashed")
        ax.set_xticks([j + width * (len(cfg.models) - 1) / 2 for j in range(len(tiers))], tiers)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(label + (" (dashed: chance)" if key == "recognition" else ""))
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(d / name, dpi=90)
        plt.close(fig)
        written.append(f"plots/{name}")
    return written


# ------------------------------------------------------------------ index.html
def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _thumb(path: Path) -> str | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((THUMB, THUMB))
            buf = io.BytesIO()
            im.save(buf, "PNG")
            return _data_url(buf.getvalue())
    except (OSError, ValueError):
        return None


def index_html(out: Path, cfg, pl, records: list[dict], head, rows, notes: list[str], plots: list[str]) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>vdsl check-up</title><style>",
        "body{font:14px system-ui,sans-serif;margin:20px;color:#222}table{border-collapse:collapse;margin:8px 0}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:12px;vertical-align:top}th{background:#f4f4f4}"
        ".r{text-align:center}.r img{display:block;margin:2px auto;border:1px solid #ddd;max-width:160px}"
        ".bad{color:#a00}.note{color:#733}.cap{font-size:11px;color:#555}img.plot{max-width:100%;margin:4px}",
        "</style></head><body>",
        "<h1>vdsl check-up</h1>",
        f"<p>models: {', '.join(e(m.name) for m in cfg.models)}; tiers: {', '.join(e(t) for t in pl.candidates)}; "
        f"{cfg.concepts_per_tier} concepts per tier, {cfg.samples} samples, {cfg.rounds} rounds; "
        f"scorer <code>{e(cfg.scorer)}</code>; stdlib <code>{e(cfg.stdlib)}</code>; seed {cfg.seed}.</p>",
        "<h2>Leaderboard</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>",
    ]
    parts += ["<tr>" + "".join(f"<td>{e(x)}</td>" for x in r) + "</tr>" for r in rows]
    parts.append("</table>")
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li class='note'>{e(n)}</li>" for n in notes) + "</ul>")
    if plots:
        parts.append("<h2>Plots</h2>")
        for p in plots:
            parts.append(f"<img class='plot' alt='{e(p)}' src='{_data_url((out / p).read_bytes())}'>")
    parts.append("<h2>Renders</h2><p>The last program that compiled in each sample, per model, side by side.</p>")
    by = {(r["model"], r["tier"], r["concept"], r["sample"]): r for r in records}
    for tier in pl.candidates:
        concepts = list(dict.fromkeys(it.concept for it in pl.items if it.tier == tier))
        if not concepts:
            continue
        parts.append(f"<h3>{e(tier)}</h3><table><tr><th>concept</th>")
        parts += [f"<th>{e(m.name)}</th>" for m in cfg.models]
        parts.append("</tr>")
        for c in concepts:
            parts.append(f"<tr><td>{e(c)}</td>")
            for m in cfg.models:
                cell = []
                for k in range(cfg.samples):
                    r = by.get((m.name, tier, c, k))
                    if r is None:
                        continue
                    if r["final_round"] is None:
                        cell.append(
                            f"<div class='bad'>sample {k}: {'no program compiled' if r['started'] else 'not run'}</div>"
                        )
                        continue
                    url = _thumb(out / r["folder"] / f"round_{r['final_round']}.png")
                    rec = r["recognition"]
                    said = (
                        ""
                        if not rec
                        else f"; recognised: {'yes' if rec.get('correct') else 'no (' + e(str(rec.get('answer'))) + ')'}"
                    )
                    if url:
                        cell.append(
                            f"<img alt='{e(m.name)} {e(c)} sample {k}' src='{url}'>"
                            f"<div class='cap'>s{k}, round {r['final_round']}{said}</div>"
                        )
                parts.append("<td class='r'>" + "".join(cell) + "</td>")
            parts.append("</tr>")
        parts.append("</table>")
    parts.append(
        "<script>window.addEventListener('load',function(){var i=document.images,n=0;"
        "for(var j=0;j<i.length;j++){if(i[j].complete&&i[j].naturalWidth>0)n++;}"
        "document.body.setAttribute('data-images-loaded',n+'/'+i.length);});</script>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


# ------------------------------------------------------------------ everything
def write_report(out: Path, cfg, pl, scorer, outcomes: dict) -> dict:
    """Score the run folders and write results.json, leaderboard.md, plots/*.png and index.html; returns the results."""
    records, div, extra = collect(out, cfg, pl, scorer)
    tiers = list(pl.candidates)
    agg = aggregate(cfg, records, div, tiers)
    has_fidelity = any(
        agg[m.name][t]["fidelity"][k]["top1"]["n"] for m in cfg.models for t in tiers for k in range(cfg.rounds)
    )
    notes = list(pl.notes) + notes_for(cfg, agg, tiers, outcomes, scorer, extra)
    plots = write_plots(out, cfg, agg, tiers, has_fidelity)
    if not plots:
        notes.append("plots: skipped, matplotlib is not installed (pip install 'vdsl[checkup]')")
    tasks = {
        f"checkup_{meas}_{t}": {"measure": meas, "tier": t}
        for t in tiers
        for meas in ("draw", "improve", "recognize", "diversity")
    }
    results = {
        "config": cfg.to_dict(),
        "versions": _versions(),
        "seeds": {
            "concepts": cfg.seed,
            "candidates": cfg.seed,
            "distractors": cfg.seed,
            "render": cfg.seed,
            "samples": list(range(cfg.samples)),
        },
        "scorer": {"name": scorer.name, "label": scorer.label},
        "stdlib": cfg.stdlib,
        "tasks": tasks,
        "candidates": pl.candidates,
        "pool_sizes": {t: len(v) for t, v in pl.pools.items()},
        "models": {
            m.name: {
                "status": outcomes[m.name].status if m.name in outcomes else "ok",
                "message": outcomes[m.name].message if m.name in outcomes else None,
            }
            for m in cfg.models
        },
        "results": agg,
        "notes": notes,
        "items": records,
        "diversity": div,
    }
    if getattr(scorer, "replies", None):  # a judge's every reply, for audit
        results["scorer"]["replies"] = list(scorer.replies)
    atomic_write(out / "results.json", json.dumps(results, indent=1, default=str) + "\n", fsync=True)
    head, rows = leaderboard_rows(cfg, agg, tiers, has_fidelity)
    md = [
        "# vdsl check-up",
        "",
        f"Models: {', '.join(m.name for m in cfg.models)}. Tiers: {', '.join(tiers)}; {cfg.concepts_per_tier} concepts "
        f"per tier{f' (limit {cfg.limit})' if cfg.limit else ''}, {cfg.samples} samples each, {cfg.rounds} rounds "
        f"(round 0 included), up to {cfg.max_repairs} repairs per round. Stdlib: `{cfg.stdlib}`. "
        f"Scorer: `{scorer.name}` — {scorer.label}. Seed {cfg.seed}.",
        "",
        "Intervals are 95 %: Wilson for proportions, a seeded bootstrap for means, paired t for improvement. "
        "Recognition: the model is shown its own last program (never the picture) with "
        f"{cfg.distractors} distractors from the whole tier; chance in brackets.",
        "",
        _md_table(head, rows),
        "",
    ]
    pos = [
        f"- {m.name} / {t}: answers "
        + ", ".join(f"{k} {v}" for k, v in agg[m.name][t]["answer_positions"].items())
        + "; truth at "
        + ", ".join(f"{k} {v}" for k, v in agg[m.name][t]["truth_positions"].items())
        + (
            f"; {agg[m.name][t]['recognition_flagged']} flagged (letter and name disagree)"
            if agg[m.name][t]["recognition_flagged"]
            else ""
        )
        for m in cfg.models
        for t in tiers
        if agg[m.name][t]["answer_positions"]
    ]
    if pos:
        md += ["Recognition answers by letter position:", "", *pos, ""]
    if notes:
        md += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    if plots:
        md += ["## Plots", "", *[f"![{p}]({p})" for p in plots], ""]
    atomic_write(out / "leaderboard.md", "\n".join(md), fsync=True)
    atomic_write(out / "index.html", index_html(out, cfg, pl, records, head, rows, notes, plots), fsync=True)
    return results
