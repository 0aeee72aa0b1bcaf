"""`wasim compare DIR_A DIR_B`: the same outcomes of two result folders, side by side.

For each outcome, B - A with its 95% Welch t-interval on the per-run outcomes (unequal
variances and replicate counts allowed), and whether that interval excludes zero. Runs are
treated as independent samples: folders that share seeds (common random numbers) would allow a
tighter paired interval, which this does not claim. Design points are matched by their varied
values; two single-point folders (a baseline and a variant) are compared as they are.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from experiments.checks import SpecError
from experiments.figure_style import format_value
from experiments.outcomes import COMPARED_OUTCOMES, checked_outcomes, outcome_names
from experiments.results import Results, load_results

METHOD = "B - A with its 95% Welch t-interval on per-run outcomes (runs taken as independent)"


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """mean(b) - mean(a) and its Welch t-interval; NaN bounds with fewer than 2 runs a side.
    Outcomes with no spread on either side (a stream that earns nothing) give a point interval."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    difference = b.mean() - a.mean()
    if len(a) < 2 or len(b) < 2:
        return difference, np.nan, np.nan
    if a.var() + b.var() == 0:
        return difference, difference, difference
    interval = stats.ttest_ind(b, a, equal_var=False).confidence_interval(level)
    return difference, float(interval.low), float(interval.high)


def compare_folders(dir_a: str | Path, dir_b: str | Path,
                    outcomes: list[str] | None = None) -> pd.DataFrame:
    """One row per matched design point and outcome: A's and B's mean and runs, B - A, its
    interval and whether the interval excludes zero."""
    a, b = load_results(dir_a, doing="comparing"), load_results(dir_b, doing="comparing")
    chosen = _outcomes(a, b, outcomes)
    rows = []
    for label, runs_a, runs_b in matched_points(a, b):
        for outcome in chosen:
            difference, low, high = welch_interval(runs_a[outcome], runs_b[outcome])
            mean_a = runs_a[outcome].mean()
            rows.append({"point": label, "outcome": outcome, "mean_a": mean_a,
                         "n_a": len(runs_a), "mean_b": runs_b[outcome].mean(), "n_b": len(runs_b),
                         "difference": difference, "ci_low": low, "ci_high": high,
                         "relative": difference / mean_a if mean_a else np.nan,
                         "excludes_zero": bool(low > 0 or high < 0) if np.isfinite(low) else None})
    return pd.DataFrame(rows)


def _outcomes(a: Results, b: Results, outcomes: list[str] | None) -> list[str]:
    """Named outcomes must exist in both folders (exit 2 if not); by default, the standard ones
    that either folder has and that are not zero in both (streams not yet launched)."""
    if outcomes:
        checked_outcomes(a.summary, outcomes)
        return checked_outcomes(b.summary, outcomes)
    both = set(outcome_names(a.summary)) & set(outcome_names(b.summary))
    return [o for o in COMPARED_OUTCOMES if o in both
            and (a.summary[o].abs().sum() > 0 or b.summary[o].abs().sum() > 0)]


def matched_points(a: Results, b: Results) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """(label, A's runs, B's runs) of each design point both folders hold, by varied values;
    two single-point folders are one pair whatever their values."""
    if len(a.points) == 1 and len(b.points) == 1:
        return [("all runs", a.summary, b.summary)]
    by_values_a = dict(list(a.summary.groupby("point_values")))
    by_values_b = dict(list(b.summary.groupby("point_values")))
    shared = [v for v in by_values_a if v in by_values_b]
    if not shared:
        raise SpecError("DIR_B", f"no design point of {b.folder.path} has the values of one of "
                                 f"{a.folder.path}; compare single-point folders, or folders "
                                 "whose designs share points")
    return [(_label(values), by_values_a[values], by_values_b[values]) for values in shared]


def _label(point_values: str) -> str:
    values = json.loads(point_values)
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "all runs"


def format_table(table: pd.DataFrame, dir_a: str | Path, dir_b: str | Path) -> str:
    """The comparison as aligned text, one block per design point."""
    lines = [f"A = {dir_a}", f"B = {dir_b}", METHOD, ""]
    for point, rows in table.groupby("point", sort=False):
        first = rows.iloc[0]
        lines.append(f"{point}  (A: {first['n_a']} runs, B: {first['n_b']} runs)")
        text = pd.DataFrame({
            "outcome": rows["outcome"],
            "A": [format_value(o, v) for o, v in zip(rows["outcome"], rows["mean_a"], strict=True)],
            "B": [format_value(o, v) for o, v in zip(rows["outcome"], rows["mean_b"], strict=True)],
            "B - A": [format_value(o, v) for o, v in zip(rows["outcome"], rows["difference"], strict=True)],
            "95% CI": [_interval(o, lo, hi) for o, lo, hi in
                       zip(rows["outcome"], rows["ci_low"], rows["ci_high"], strict=True)],
            "change": [f"{100 * r:+.1f}%" if np.isfinite(r) else "" for r in rows["relative"]],
            "differs": [{True: "yes", False: "no", None: "n/a (<2 runs)"}[x] for x in rows["excludes_zero"]],
        })
        lines.append(text.to_string(index=False))
        lines.append("")
    lines.append("differs: the interval excludes zero (a 5% two-sided test per outcome; with many "
                 "outcomes, expect about 1 in 20 to differ by chance).")
    return "\n".join(lines)


def _interval(outcome: str, low: float, high: float) -> str:
    if not np.isfinite(low):
        return ""
    return f"[{format_value(outcome, low)}, {format_value(outcome, high)}]"
