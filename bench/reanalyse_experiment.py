"""Re-analyse a finished `vdsl experiment` result file with the current statistics (no retraining).

python bench/reanalyse_experiment.py bench/results/experiment.json -o bench/results/experiment-reanalysis.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vdsl.train.report import comparisons_table
from vdsl.train.statistics import compare


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result", type=Path)
    ap.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args()
    result = json.loads(a.result.read_text())
    result["comparisons"] = compare(result["per_seed"])
    n = len(result["comparisons"])
    lines = [
        f"# Re-analysis of `{a.result}`",
        "",
        f"`python bench/reanalyse_experiment.py {a.result} -o {a.out}`: the per-seed scores of that run "
        f"(command: `{result.get('command', '?')}`), tested again with two-sided paired t-tests over seeds "
        f"and Holm–Bonferroni over all {n} comparisons (`vdsl/train/statistics.py`). Nothing was retrained.",
        "",
        *comparisons_table(result),
        "",
    ]
    a.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
