"""`wasim compare`: contrasts of outcomes, B - A, between two result folders or between the
design points of one.

``compare_folders(DIR_A, DIR_B)`` matches design points by their varied values (two
single-point folders are compared as they are); ``compare_points(RESULT_DIR, against)`` takes
one point as A (the reference: ``--against``, else the spec's ``reference``, else the first
point) and every other point as B. For each outcome: the means, B - A, its 95% t-interval,
whether it excludes zero, and the method (``results.contrast``): when A's and B's runs were
made with the same replicate seeds (read from their records: common random numbers in one
folder, or two folders of the same root seed), the differences are paired by seed, which
removes the seed's own effect from the interval; otherwise the runs are independent samples and
the interval is Welch's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.checks import SpecError
from experiments.figure_style import format_value
from experiments.outcomes import COMPARED_OUTCOMES, checked_outcomes, outcome_names
from experiments.results import Results, by_seed, contrast, load_results, point_name, welch_ci

METHODS = ("B - A and its 95% t-interval: paired by replicate seed when A's and B's runs share "
           "seeds ('paired (n seeds)': the interval of the n per-seed differences), else the "
           "Welch t-interval on per-run outcomes taken as independent ('Welch')")


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """mean(b) - mean(a) and its Welch t-interval for one outcome (``results.welch_ci``)."""
    difference, low, high = welch_ci(np.asarray(a, float), np.asarray(b, float), level)
    return float(difference), float(low), float(high)


def compare_folders(dir_a: str | Path, dir_b: str | Path,
                    outcomes: list[str] | None = None) -> pd.DataFrame:
    """One row per matched design point and outcome: A's and B's mean and runs, B - A, its
    interval, whether the interval excludes zero, the method and the seeds paired."""
    a, b = load_results(dir_a, doing="comparing"), load_results(dir_b, doing="comparing")
    chosen = _outcomes(a, b, outcomes)
    return pd.concat([contrast_rows(label, runs_a, runs_b, chosen)
                      for label, runs_a, runs_b in matched_points(a, b)], ignore_index=True)


def compare_points(path: str | Path, against: str | None = None,
                   outcomes: list[str] | None = None) -> pd.DataFrame:
    """The contrasts of a result folder's points against one of them (``point_contrasts``)."""
    return point_contrasts(load_results(path, doing="comparing"), against, outcomes)


def point_contrasts(results: Results, against: str | None = None,
                    outcomes: list[str] | None = None) -> pd.DataFrame:
    """Each point but the reference (``Results.reference_point``) minus the reference: one row
    per point and outcome, as ``compare_folders`` gives them, with the reference's name."""
    if len(results.points) < 2:
        raise SpecError("RESULT_DIR", f"{results.folder.path} has runs of one design point only: "
                                      "nothing to contrast it with (compare two folders with "
                                      "`wasim compare DIR_A DIR_B`)")
    reference = results.reference_point(against)
    chosen = _outcomes(results, results, outcomes)
    runs = dict(list(results.summary.groupby("point")))
    tables = [contrast_rows(results.points.loc[point, "label"], runs[reference], runs[point], chosen)
              for point in results.points.index if point != reference]
    table = pd.concat(tables, ignore_index=True)
    table.insert(1, "reference", results.points.loc[reference, "label"])
    return table


def contrast_rows(point: str, runs_a: pd.DataFrame, runs_b: pd.DataFrame,
                  outcomes: list[str]) -> pd.DataFrame:
    """B - A for each outcome of two sets of runs (rows of summaries), paired by seed when they
    share seeds."""
    found = contrast(by_seed(runs_a, outcomes), by_seed(runs_b, outcomes))
    mean_a, mean_b = runs_a[outcomes].mean().to_numpy(), runs_b[outcomes].mean().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(mean_a != 0, found.difference / mean_a, np.nan)
    return pd.DataFrame({
        "point": point, "outcome": outcomes, "mean_a": mean_a, "n_a": len(runs_a),
        "mean_b": mean_b, "n_b": len(runs_b), "difference": found.difference,
        "ci_low": found.low, "ci_high": found.high, "relative": relative,
        "excludes_zero": [bool(lo > 0 or hi < 0) if np.isfinite(lo) else None
                          for lo, hi in zip(found.low, found.high, strict=True)],
        "method": found.method, "n_paired": found.paired})


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
    return [(point_name(a.spec, json.loads(values)), by_values_a[values], by_values_b[values])
            for values in shared]


def format_table(table: pd.DataFrame, a: str, b: str) -> str:
    """The comparison as aligned text, one block per design point; ``a`` and ``b`` say what A
    and B are."""
    lines = [f"A = {a}", f"B = {b}", METHODS, ""]
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
            "method": rows["method"],
        })
        lines.append(text.to_string(index=False))
        lines.append("")
    lines.append("differs: the interval excludes zero (a 5% two-sided test per outcome; with many "
                 "outcomes, expect about 1 in 20 to differ by chance). Paired: B - A is the mean "
                 "of the per-seed differences, over the seeds both have.")
    return "\n".join(lines)


def _interval(outcome: str, low: float, high: float) -> str:
    if not np.isfinite(low):
        return ""
    return f"[{format_value(outcome, low)}, {format_value(outcome, high)}]"
