"""The experiment report: Markdown tables (results, paired comparisons, per seed, zero-shot, setup) and the bar chart."""

from __future__ import annotations

import statistics
from pathlib import Path

from .plan import SOURCES
from .statistics import ALPHA, LEVEL

METRIC_LABEL = {"linear_probe": "linear", "knn": "k-NN"}
ORDER = ("corpus", "dead_leaves", "random", "corpus_supervised")


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


def results_table(result: dict) -> list[str]:
    """Mean ± sd per source; the best of the identical-training sources in bold."""
    s, seeds, reals = result["summary"], result["config"]["seeds"], _reals(result)
    main = [n for n in ("corpus", "dead_leaves", "random") if n in s]
    best = {(r, m): max(s[n][r][m][0] for n in main) for r in reals for m in METRIC_LABEL}
    lines = _header(["pre-training data"], reals)
    for name in (n for n in ORDER if n in s):
        cells = []
        for r in reals:
            for m in METRIC_LABEL:
                mu, sd = s[name][r][m]
                cell = f"{100 * mu:.1f} ± {100 * sd:.1f}" if len(seeds) > 1 else f"{100 * mu:.1f}"
                cells.append(f"**{cell}**" if name in main and mu == best[(r, m)] else cell)
        lines.append(f"| {SOURCES[name]} | " + " | ".join(cells) + " |")
    return lines


def comparisons_table(result: dict) -> list[str]:
    """One row per paired comparison: difference, its 95% CI, p and Holm-adjusted p."""
    lines = [
        f"| comparison | real set | metric | mean difference (points) | {LEVEL:.0%} CI | t | p | p (Holm) | verdict |",
        "|---|---|---|---:|---|---:|---:|---:|---|",
    ]
    for c in result["comparisons"]:
        ci = "—" if c["low"] is None else f"[{_pct(c['low'], True)}, {_pct(c['high'], True)}]"
        if c["p_holm"] is None:
            verdict = "untested (fewer than 2 seeds or no spread)"
        elif c["significant"]:
            verdict = f"**{SOURCES[c['a'] if c['mean'] > 0 else c['b']]} better**"
        else:
            verdict = "no significant difference"
        t = "—" if c["t"] is None else f"{c['t']:.2f}"
        lines.append(
            f"| {SOURCES[c['a']]} − {SOURCES[c['b']]} | {c['real']} | {METRIC_LABEL[c['metric']]} | "
            f"{_pct(c['mean'], True)} | {ci} | {t} | {_p(c['p'])} | {_p(c['p_holm'])} | {verdict} |"
        )
    return lines


def per_seed_table(result: dict) -> list[str]:
    reals = _reals(result)
    lines = _header(["pre-training data", "seed"], reals)
    for name, per in result["per_seed"].items():
        for seed in result["config"]["seeds"]:
            vals = []
            for r in reals:
                v = per[r].get(seed) or per[r].get(str(seed))
                vals += [_pct(v["linear_probe"]), _pct(v["knn"])]
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
    return lines + [
        "",
        "Class map (real class ← corpus concepts): "
        + "; ".join(
            f"{rc} ← {', '.join(cs) or '—'}" for z in result["zero_shot"].values() for rc, cs in z["map"].items()
        ),
    ]


def setup_lines(result: dict) -> list[str]:
    c, hw, t, steps = result["config"], result["hardware"], result["timings"], result["steps"]
    return [
        "### Setup",
        "",
        f"- command: `{result['command']}`",
        f"- hardware: {hw['nproc']} cores ({hw['cpu']}), GPU: {hw['gpu'] or 'none'}; torch {hw['torch']}, "
        f"{hw['torch_threads']} threads, Python {hw['python']}",
        f"- method {c['method']}, {c['arch']} (stem {c['stem']}), {c['image_size']} px, batch {c['batch_size']}, "
        f"{c['epochs']} epochs over {c['images']} images per source (rendered by `vdsl dataset build` with "
        f"data seed {c['data_seed']}; available: {result['images_available']}); training seeds {c['seeds']} "
        "vary initialisation, augmentation and order. Random init: the same network, untrained, per seed.",
        f"- corpus: `{c['programs']}`; dead leaves: `vdsl/train/dead_leaves.vd`",
        f"- wall time of this invocation: data {t['data_s']:.0f} s, training {t['train_s']:.0f} s, "
        f"evaluation {t['eval_s']:.0f} s; total {t['total_s'] / 60:.1f} min ({len(steps['computed'])} steps "
        f"computed, {len(steps['reused'])} reused from earlier runs with the same settings)",
        "",
    ]


def markdown(result: dict) -> str:
    c = result["config"]
    supervised = "corpus_supervised" in result["summary"]
    tested = sum(x["p"] is not None for x in result["comparisons"])
    return "\n".join(
        [
            "## Results: pre-training on vdsl renders vs dead leaves vs random init",
            "",
            "Top-1 accuracy (%) on the real test photos (chance: "
            + ", ".join(f"{r} {100 * p:.0f}%" for r, p in result["chance"].items())
            + "), frozen "
            f"{c['arch']} features at {c['image_size']} px; mean ± sample sd over seeds {c['seeds']}. "
            "Linear probe: logistic regression on standardised features, L2 chosen on a 20% hold-out of the "
            f"train photos; k-NN: k={c['knn_k']}, cosine, weighted votes (T=0.07).",
            "",
            *results_table(result),
            "",
            *(
                [
                    "\\* not part of the identical-training comparison: the same network and schedule, but "
                    "trained with the corpus' concept labels (dead leaves has none), cross-entropy instead of "
                    f"{c['method']}.",
                    "",
                ]
                if supervised
                else []
            ),
            "### Paired comparisons over seeds",
            "",
            *comparisons_table(result),
            "",
            "The same seed gives every source the same initialisation and data order, so each comparison "
            f"is over per-seed differences: their mean, its {LEVEL:.0%} t confidence interval and a two-sided "
            f"paired t-test; p (Holm) is Holm–Bonferroni adjusted over the {tested} tested comparisons, "
            f"significant below {ALPHA}.",
            "",
            "Per seed:",
            "",
            *per_seed_table(result),
            *zero_shot_table(result),
            "",
            *setup_lines(result),
        ]
    )


def chart(result: dict, path: Path) -> Path:
    from .plots import bar_chart

    reals = _reals(result)
    groups = [f"{r} {METRIC_LABEL[m]}" for r in reals for m in METRIC_LABEL]
    bars = {
        SOURCES[name]: [tuple(result["summary"][name][r][m]) for r in reals for m in METRIC_LABEL]
        for name in ORDER
        if name in result["summary"]
    }
    c = result["config"]
    return bar_chart(
        path,
        groups,
        bars,
        chance=max(result["chance"].values()),
        ylabel="top-1 accuracy on real test photos",
        title=f"{c['method']} {c['arch']} {c['image_size']}px, {c['images']} images x {c['epochs']} "
        f"epochs; mean ± sd over seeds {c['seeds']}",
    )
