"""The experiment report: Markdown tables (results, paired comparisons, per seed, zero-shot, setup) and a chart per question."""

from __future__ import annotations

import statistics
from pathlib import Path

from .sources import LABELS, QUESTIONS
from .statistics import ALPHA, LEVEL

METRIC_LABEL = {"linear_probe": "linear", "knn": "k-NN"}
ORDER = (
    "corpus",
    "dead_leaves",
    "fractals",
    "real",
    "random",
    "corpus_25",
    "corpus_heldout",
    "tier_shapes",
    "tier_objects",
    "tier_scenes",
    "corpus_supervised",
)
SOURCES = LABELS


def mean_sd(xs: list[float]) -> tuple[float, float]:
    return (statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0)


def _pct(x: float | None, sign: bool = False) -> str:
    return "—" if x is None else (f"{100 * x:+.1f}" if sign else f"{100 * x:.1f}")


def _p(x: float | None) -> str:
    return "—" if x is None else (f"{x:.3f}" if x >= 0.001 else f"{x:.1e}")


def _reals(result: dict) -> list[str]:
    return list(next(iter(result["summary"].values())).keys())


def _header(first: list[str], reals: list[str]) -> list[str]:
    cols = [f"{r} {METRIC_LABEL[m]}" for r in reals for m in METRIC_LABEL]
    return ["| " + " | ".join(first + cols) + " |", "|---|" + "---:|" * (len(first) - 1 + len(cols))]


def _seeds(result: dict, name: str) -> int:
    return min(len(v) for v in result["per_seed"][name].values())


def results_table(result: dict) -> list[str]:
    """Mean ± sd per source (and the number of seeds); the best procedural source in bold."""
    s, reals = result["summary"], _reals(result)
    rivals = [n for n in ("corpus", "dead_leaves", "fractals", "random") if n in s]
    best = {(r, m): max(s[n][r][m][0] for n in rivals) for r in reals for m in METRIC_LABEL} if rivals else {}
    lines = _header(["pre-training data", "seeds"], reals)
    for name in (n for n in ORDER if n in s):
        cells = []
        for r in reals:
            for m in METRIC_LABEL:
                mu, sd = s[name][r][m]
                cell = f"{100 * mu:.1f} ± {100 * sd:.1f}"
                cells.append(f"**{cell}**" if name in rivals and mu == best[(r, m)] else cell)
        lines.append(f"| {SOURCES[name]} | {_seeds(result, name)} | " + " | ".join(cells) + " |")
    return lines


def verdict(c: dict) -> str:
    if c["p_holm"] is None:
        return "untested (fewer than 2 seeds or no spread)"
    if c["significant"]:
        return f"**{SOURCES[c['a'] if c['mean'] > 0 else c['b']]} better (survives Holm)**"
    if c["p"] is not None and c["p"] < ALPHA:
        return "p < 0.05 alone; does not survive Holm"
    return "no significant difference"


def comparisons_table(result: dict) -> list[str]:
    """One row per paired comparison: difference, its 95% CI, p and Holm-adjusted p."""
    lines = [
        f"| question | comparison | real set | metric | mean difference (points) | {LEVEL:.0%} CI | t | p | "
        "p (Holm) | verdict |",
        "|---|---|---|---|---:|---|---:|---:|---:|---|",
    ]
    for c in result["comparisons"]:
        ci = "—" if c["low"] is None else f"[{_pct(c['low'], True)}, {_pct(c['high'], True)}]"
        t = "—" if c["t"] is None else f"{c['t']:.2f}"
        lines.append(
            f"| {c.get('question') or '—'} | {SOURCES[c['a']]} − {SOURCES[c['b']]} | {c['real']} | "
            f"{METRIC_LABEL[c['metric']]} | {_pct(c['mean'], True)} | {ci} | {t} | {_p(c['p'])} | "
            f"{_p(c['p_holm'])} | {verdict(c)} |"
        )
    return lines


def survivors(result: dict) -> list[str]:
    """One line per comparison that survives Holm, or a line saying none does."""
    won = [c for c in result["comparisons"] if c["significant"]]
    if not won:
        return ["**No difference survives the Holm–Bonferroni correction.**"]
    return [
        f"- {SOURCES[c['a']]} − {SOURCES[c['b']]}, {c['real']} {METRIC_LABEL[c['metric']]}: "
        f"{_pct(c['mean'], True)} points ({LEVEL:.0%} CI [{_pct(c['low'], True)}, {_pct(c['high'], True)}], "
        f"Holm p = {_p(c['p_holm'])})"
        for c in won
    ]


def per_seed_table(result: dict) -> list[str]:
    reals = _reals(result)
    lines = _header(["pre-training data", "seed"], reals)
    for name in (n for n in ORDER if n in result["per_seed"]):
        per = result["per_seed"][name]
        for seed in result["config"]["seeds"]:
            vals = []
            for r in reals:
                v = per[r].get(seed) or per[r].get(str(seed))
                vals += [_pct(v["linear_probe"]), _pct(v["knn"])] if v else ["—", "—"]
            lines.append(f"| {SOURCES[name]} | {seed} | " + " | ".join(vals) + " |")
    return lines


def zero_shot_table(result: dict) -> list[str]:
    if not result.get("zero_shot"):
        return []
    lines = [
        "",
        "### Zero-real-photo classification (the supervised* models' concept classifier "
        "on the real test photos; no real photo used in training or fitting)",
        "",
        "| real set | accuracy (mean ± sd) | chance | per seed | classes without a concept |",
        "|---|---:|---:|---|---|",
    ]
    for r, z in result["zero_shot"].items():
        accs = list(z["accuracy"].values())
        mu, sd = mean_sd(accs)
        lines.append(
            f"| {r} | {100 * mu:.1f} ± {100 * sd:.1f} | {100 * z['chance']:.1f} | "
            + ", ".join(_pct(a) for a in accs)
            + f" | {', '.join(z['unmapped']) or '—'} |"
        )
    return lines


def setup_lines(result: dict) -> list[str]:
    c, hw, t, steps = result["config"], result["hardware"], result["timings"], result["steps"]
    proto = result.get("protocol") or {}
    programs = result.get("programs") or {}
    lines = [
        "### Setup",
        "",
        f"- command: `{result['command']}`",
    ]
    if proto:
        lines.append(
            f"- protocol: `{proto.get('file')}`, fixed at commit `{proto.get('commit')}` before any test photo "
            "was scored; the test photos were scored once, by this run"
        )
    lines += [
        f"- hardware: {hw['nproc']} cores ({hw['cpu']}), GPU: {hw['gpu'] or 'none'}; torch {hw['torch']}, "
        f"{hw['torch_threads']} thread(s), Python {hw['python']}",
        f"- method {c['method']}, {c['arch']} (stem {c['stem']}), {c['image_size']} px, batch {c['batch_size']}, "
        f"lr {c['lr'] if c['lr'] is not None else 'default'}, {c['epochs']} epochs over {c['images']} images per "
        f"source; training seeds {c['seeds']} (the same seed: the same initialisation, augmentation and order for "
        f"every source); data seed {c['data_seed']} (the same images for every training seed). Random init: the "
        "same network, untrained, per seed.",
        "- probes: linear — logistic regression on standardised features, L2 weight "
        + (
            f"{c['linear_wd']} (fixed by cross-validation)"
            if c.get("linear_wd") is not None
            else "chosen on a 20% hold-out of the train photos"
        )
        + f"; k-NN — k={c['knn_k']}, cosine, weighted votes (T=0.07); fit on the train photos, scored on the test photos",
        f"- corpus: `{c['programs']}`; baselines: `vdsl/train/baselines/` (dead_leaves_*.vd, fractal_ifs.vd); "
        "images available per data step: "
        + ", ".join(f"{SOURCES.get(k, k)} {v}" for k, v in result["images_available"].items()),
    ]
    for name, names in programs.items():
        lines.append(
            f"- {SOURCES[name]}: {len(names)} programs" + (f" ({', '.join(names)})" if len(names) <= 40 else "")
        )
    lines += [
        f"- wall time of this invocation: data {t['data_s']:.0f} s, training {t['train_s']:.0f} s, "
        f"evaluation {t['eval_s']:.0f} s; total {t['total_s'] / 60:.1f} min ({len(steps['computed'])} steps "
        f"computed, {len(steps['reused'])} reused from earlier runs with the same settings)",
        "",
    ]
    return lines


def markdown(result: dict) -> str:
    c = result["config"]
    tested = sum(x["p"] is not None for x in result["comparisons"])
    asked = [q for q, spec in QUESTIONS.items() if any(x.get("question") == q for x in result["comparisons"])]
    return "\n".join(
        [
            "## Results: what pre-training on vdsl renders gives frozen features on real photos",
            "",
            "Top-1 accuracy (%) on the real test photos (chance: "
            + ", ".join(f"{r} {100 * p:.0f}%" for r, p in result["chance"].items())
            + f"), frozen {c['arch']} features at {c['image_size']} px; mean ± sample sd over the training seeds.",
            "",
            *results_table(result),
            "",
            "### Paired comparisons over seeds",
            "",
            *comparisons_table(result),
            "",
            "The same seed gives every source the same initialisation and data order, so each comparison "
            f"is over per-seed differences: their mean, its {LEVEL:.0%} t confidence interval and a two-sided "
            f"paired t-test; p (Holm) is Holm–Bonferroni adjusted over all {tested} tested comparisons "
            f"(every question together), significant below {ALPHA}. Questions: "
            + "; ".join(f"{q}: {QUESTIONS[q]['title']}" for q in asked)
            + ".",
            "",
            "Surviving the correction:",
            "",
            *survivors(result),
            "",
            "Per seed:",
            "",
            *per_seed_table(result),
            *zero_shot_table(result),
            "",
            *setup_lines(result),
        ]
    )


def charts(result: dict, stem: Path) -> list[Path]:
    """One bar chart per question whose sources all ran: STEM-QUESTION.png."""
    from .plots import bar_chart

    reals = _reals(result)
    groups = [f"{r} {METRIC_LABEL[m]}" for r in reals for m in METRIC_LABEL]
    c = result["config"]
    out = []
    for q, spec in QUESTIONS.items():
        names = [n for n in spec["sources"] if n in result["summary"]]
        if len(names) < 2 or not any(x.get("question") == q for x in result["comparisons"]):
            continue
        bars = {SOURCES[n]: [tuple(result["summary"][n][r][m]) for r in reals for m in METRIC_LABEL] for n in names}
        path = Path(f"{stem}-{q}.png")
        out.append(
            bar_chart(
                path,
                groups,
                bars,
                chance=max(result["chance"].values()),
                ylabel="top-1 accuracy on real test photos (mean ± sd over seeds)",
                title=f"{spec['title']} — {c['method']} {c['arch']} {c['image_size']}px, {c['images']} images x "
                f"{c['epochs']} epochs, seeds {c['seeds']}",
                size=(1200, 520),
            )
        )
    return out
