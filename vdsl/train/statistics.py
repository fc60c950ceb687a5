"""Paired comparisons over training seeds: mean difference, 95% confidence interval, paired t-test, Holm–Bonferroni."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

from scipy import stats

from .sources import QUESTIONS

ALPHA = 0.05
LEVEL = 0.95
# The comparisons the experiment makes, per real set and metric: (question, a, b) tests a - b.
PAIRS = tuple((q, a, b) for q, spec in QUESTIONS.items() for a, b in spec["pairs"])
METRICS = ("linear_probe", "knn")


@dataclass
class Paired:
    """a - b over the seeds both have. `low`/`high`: the 95% confidence interval of the mean
    difference; `t`, `p`: the two-sided paired t-test; all None under 2 seeds or with no spread."""

    mean: float
    n: int
    low: float | None = None
    high: float | None = None
    t: float | None = None
    p: float | None = None


def paired(a: dict, b: dict, level: float = LEVEL) -> Paired:
    """The paired difference of two per-seed dicts (the same seed: the same initialisation and data order)."""
    seeds = sorted(set(a) & set(b), key=str)
    d = [a[k] - b[k] for k in seeds]
    mean = statistics.fmean(d) if d else 0.0
    if len(d) < 2 or statistics.stdev(d) == 0:
        return Paired(mean, len(d))
    r = stats.ttest_1samp(d, 0.0)
    ci = r.confidence_interval(level)
    return Paired(mean, len(d), float(ci.low), float(ci.high), float(r.statistic), float(r.pvalue))


def holm(pvalues: list[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values (None stays None and does not count as a test): the
    i-th smallest of m is multiplied by m - i + 1, then made non-decreasing, capped at 1."""
    order = sorted((i for i, p in enumerate(pvalues) if p is not None), key=lambda i: pvalues[i])
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * pvalues[i]))
        out[i] = running
    return out


def compare(per_seed: dict, pairs=PAIRS, metrics=METRICS, alpha: float = ALPHA) -> list[dict]:
    """Every comparison (a vs b, real set, metric) of per_seed[name][real][seed][metric], with its
    paired test, Holm–Bonferroni adjusted over all of them (every question together), and whether it
    is significant at `alpha`. `pairs`: (question, a, b) or (a, b); pairs missing a source are skipped."""
    rows = []
    for pair in pairs:
        q, a, b = pair if len(pair) == 3 else (None, *pair)
        if a not in per_seed or b not in per_seed:
            continue
        for real in per_seed[a]:
            for m in metrics:
                r = paired(
                    {s: v[m] for s, v in per_seed[a][real].items()},
                    {s: v[m] for s, v in per_seed[b].get(real, {}).items()},
                )
                rows.append({"question": q, "a": a, "b": b, "real": real, "metric": m, **asdict(r)})
    for row, p in zip(rows, holm([r["p"] for r in rows])):
        row["p_holm"] = p
        row["significant"] = p is not None and p < alpha
    return rows
