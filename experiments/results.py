"""A result folder as figures, reports and comparisons read it: its finished runs (the
folder may still be filling or have been interrupted), what is missing, outcomes per design
point with their 95% t-intervals over replicates (``mean_ci``), and contrasts between two sets
of runs (``contrast``): paired by replicate seed when the runs share seeds (common random
numbers), else Welch's."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from experiments.checks import SpecError
from experiments.designs import design_points
from experiments.outcomes import CAUSES, KEY_OUTCOMES
from experiments.spec import ExperimentSpec, parse_spec, values_name
from experiments.storage import ResultFolder, summary_frame
from model.ledger import STREAMS

SMOOTH_DAYS = 7
"""Flows per day (revenue, churn) are drawn as each run's trailing 7-day mean."""
_DAILY_COLUMNS = ["day", "users_active", "users_multihoming", "users_churned_total", "users_total",
                  "revenue_per_user", *(f"churn_{c}" for c in CAUSES),
                  *(f"revenue_{s}" for s in (*STREAMS, "total"))]


# --- reading a result folder, finished or not ----------------------------------------------------
@dataclass
class Results:
    """The finished runs of a result folder, and what is missing."""

    folder: ResultFolder
    spec: ExperimentSpec
    summary: pd.DataFrame
    """One row per finished run, as in ``summary.parquet``."""
    planned: int
    missing: str
    """What is missing, in words ("5 of 6 runs; 1 missing ..."); empty when every planned run
    is done."""
    complete: bool
    """Every planned run is done (the runs' ids match the spec's plan)."""

    @property
    def factors(self) -> list[str]:
        """The parameters the design varies, in name order."""
        keys = set()
        for values in self.summary["point_values"]:
            keys |= set(json.loads(values))
        return sorted(keys)

    @cached_property
    def points(self) -> pd.DataFrame:
        """One row per point with finished runs: its label, replicates and factor values. The
        label is the one the folder's spec gives the point (rows designs), else its values."""
        rows = []
        for point, runs in self.summary.groupby("point"):
            values = json.loads(runs["point_values"].iloc[0])
            rows.append({"point": point, "label": point_name(self.spec, values) or "baseline",
                         "n": len(runs), **values})
        return pd.DataFrame(rows).set_index("point")

    @cached_property
    def daily(self) -> pd.DataFrame:
        """The daily rows of every finished run, with its point and replicate."""
        frames = []
        for run in self.summary.itertuples():
            path = self.folder.run_path(run.run_id)
            try:
                frame = pd.read_parquet(path, columns=_DAILY_COLUMNS)
            except (OSError, ValueError, pa.ArrowException) as err:
                raise SpecError("RESULT_DIR", f"{path} is not a readable run file ({err}); delete "
                                              "it and `wasim run` redoes the run") from err
            frames.append(frame.assign(point=run.point, replicate=run.replicate))
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def seeds(self) -> pd.Series:
        """Each finished run's replicate seed (``seed_keys``), by point and replicate."""
        return pd.Series(seed_keys(self.summary).to_numpy(),
                         index=pd.MultiIndex.from_frame(self.summary[["point", "replicate"]]))

    def daily_by_seed(self, point: int, column: str, smoothed: bool = False) -> pd.DataFrame:
        """One daily column of a point's runs: a row per day, a column per run named by its
        replicate seed, as ``contrast`` takes them."""
        daily = self.smoothed if smoothed else self.daily
        wide = daily[daily["point"] == point].pivot(index="day", columns="replicate", values=column)
        wide.columns = pd.Index([self.seeds[(point, r)] for r in wide.columns], dtype=object)
        return wide

    def reference_point(self, name: str | None = None) -> int:
        """The point the others are contrasted with: the one ``name`` names (``--against``), else
        the one the spec's ``reference`` names, else the first point with finished runs. A
        point is named by its label or its values (``point_name``); a name that fits no point
        with finished runs is an error (exit 2) naming those there are."""
        where = "--against" if name is not None else "experiment.reference"
        name = name if name is not None else self.spec.reference
        if name is None:
            return int(self.points.index[0])
        for point, runs in self.summary.groupby("point"):
            values = json.loads(runs["point_values"].iloc[0])
            if name in (point_name(self.spec, values), values_name(values)):
                return int(point)
        if any(name in (point_name(self.spec, v), values_name(v)) for v in design_points(self.spec)):
            raise SpecError(where, f"point {name!r} has no finished run yet; `wasim run` makes them")
        names = ", ".join(repr(label) for label in self.points["label"])
        raise SpecError(where, f"got {name!r}; allowed: a design point's label or values, one of "
                               f"{names}")

    @cached_property
    def smoothed(self) -> pd.DataFrame:
        """``daily`` with each run's flows (revenue and churn per day) as trailing means over
        SMOOTH_DAYS days: a day's revenue or churn of a sample is noisy, its course is not."""
        flows = [c for c in self.daily.columns if c.startswith(("revenue_", "churn_"))]
        runs = self.daily.groupby(["point", "replicate"], sort=False)[flows]
        means = runs.transform(lambda column: column.rolling(SMOOTH_DAYS, min_periods=1).mean())
        return self.daily.assign(**{c: means[c] for c in flows})

    def time(self, days: pd.Series) -> pd.Series:
        """Days as dates when the spec gives a start date, else as they are."""
        if self.spec.start_date is None:
            return days
        return pd.Timestamp(self.spec.start_date) + pd.to_timedelta(days - 1, unit="D")


def load_results(path: str | Path, doing: str = "plotting") -> Results:
    """The finished runs of the folder at ``path``; warns (``doing`` them) about missing ones.
    A folder that is not a result folder, a run file that cannot be read and a folder with no
    finished run are errors (SpecError, exit 2): there is nothing honest to show."""
    folder = ResultFolder(path)
    if not folder.spec_path.is_file():
        raise SpecError("RESULT_DIR", f"{folder.path} has no spec.toml; not a result folder "
                                      "(make one with `wasim run EXPERIMENT --out DIR`)")
    try:
        spec = parse_spec(folder.read_spec_dict())
        tasks = folder.planned_runs()
    except ValueError as err:  # TOMLDecodeError and SpecError are ValueErrors
        raise SpecError("RESULT_DIR", f"{folder.spec_path} is not a valid spec ({err})") from err
    on_disk = _records_on_disk(folder)
    planned = {t.run_id for t in tasks}
    if on_disk and not planned & set(on_disk):
        done, complete = list(on_disk.values()), False
        missing = (f"{len(on_disk)} runs of another model version (none is among the {len(tasks)} "
                   "runs its spec plans today: the parameters, hence the run ids, differ); which "
                   "runs are missing cannot be told")
    else:
        done = [on_disk[t.run_id] for t in tasks if t.run_id in on_disk]
        missing = _missing(folder, spec, tasks, set(on_disk))
        complete = not missing
    if not done:
        raise SpecError("RESULT_DIR", f"{folder.path} has no finished run (0 of {len(tasks)}); "
                                      "`wasim run` makes them, `wasim status` says what failed")
    summary = summary_frame(done)
    if missing:
        warnings.warn(f"{folder.path}: {doing} {missing}", stacklevel=2)
    return Results(folder, spec, summary, len(tasks), missing, complete)


def _records_on_disk(folder: ResultFolder) -> dict[str, dict]:
    """The record of every run file, by run id; a file without one is corrupt (run files are
    written whole or not at all), which is an error rather than a run to skip in silence."""
    records = {}
    for path in sorted(folder.runs_dir.glob("*.parquet")):
        record = folder.read_record(path.stem)
        if record is None:
            raise SpecError("RESULT_DIR", f"{path} is not a readable run file (truncated or "
                                          "corrupt); delete it and `wasim run` redoes the run")
        records[path.stem] = record
    return records


def _missing(folder: ResultFolder, spec: ExperimentSpec, tasks, done: set[str]) -> str:
    """Which runs are missing, by point: ``wasim run`` finishes them."""
    absent = {t.run_id for t in tasks} - done
    if not absent:
        return ""
    failed = len(absent & folder.failed_ids())
    by_point: dict[int, list] = {}
    for task in tasks:
        by_point.setdefault(task.point, []).append(task)
    shown = []
    for point in sorted({t.point for t in tasks if t.run_id in absent}):
        lacking = sum(t.run_id in absent for t in by_point[point])
        name = point_name(spec, by_point[point][0].point_values)
        shown.append(f"point {point}{f' ({name})' if name else ''}: {lacking} of "
                     f"{len(by_point[point])}")
    more = f" and {len(shown) - 5} more points" if len(shown) > 5 else ""
    return (f"{len(tasks) - len(absent)} of {len(tasks)} runs; {len(absent)} missing ({failed} "
            f"failed; `wasim status` lists them): {'; '.join(shown[:5])}{more}")


def point_name(spec: ExperimentSpec, values: dict) -> str:
    """A design point's name: its label in the spec (rows designs), else its varied values."""
    return spec.point_name(values)


def seed_keys(summary: pd.DataFrame) -> pd.Series:
    """Each run's replicate seed as text, ``<root seed>/<spawn key>`` (``20261203/0``), as its
    record stores it: runs with the same key drew the same random numbers, which is what
    pairing them rests on. None for a record without its seed."""
    if not {"seed_entropy", "seed_spawn_key"} <= set(summary.columns):
        return pd.Series(None, index=summary.index, dtype=object)
    return pd.Series([None if entropy is None or key is None or pd.isna(entropy) else
                      f"{int(entropy)}/{'.'.join(str(int(k)) for k in key)}"
                      for entropy, key in zip(summary["seed_entropy"], summary["seed_spawn_key"],
                                              strict=True)], index=summary.index, dtype=object)


def by_seed(runs: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Outcomes of some runs (rows of a summary): a row per outcome, a column per run named by
    its replicate seed, as ``contrast`` takes them."""
    wide = runs[outcomes].T
    wide.columns = pd.Index(seed_keys(runs).to_numpy(), dtype=object)
    return wide


# --- statistics --------------------------------------------------------------------------------
def mean_ci(frame: pd.DataFrame, column: str, by: list[str]) -> pd.DataFrame:
    """Mean and 95% t-interval over replicates of ``column`` for each group of ``by``
    (one run: no interval, low = high = mean)."""
    grouped = frame.groupby(by)[column]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    t = stats.t.ppf(0.975, np.maximum(out["count"] - 1, 1))
    half = np.where(out["count"] > 1, t * out["std"] / np.sqrt(out["count"]), 0.0)
    out["low"], out["high"] = out["mean"] - half, out["mean"] + half
    return out


@dataclass(frozen=True)
class Contrast:
    """B - A for each row of two tables of runs (an outcome, a day): the mean difference and its
    95% t-interval, paired by replicate seed or, when the runs share no seeds, Welch's."""

    difference: np.ndarray
    low: np.ndarray
    high: np.ndarray
    paired: int
    """The replicate seeds the runs were paired on; 0 when they were taken as independent."""

    @property
    def method(self) -> str:
        return f"paired ({self.paired} seeds)" if self.paired else "Welch"


def contrast(a: pd.DataFrame, b: pd.DataFrame, level: float = 0.95) -> Contrast:
    """B - A row by row, for two tables whose columns are runs named by their replicate seed
    (``by_seed``, ``Results.daily_by_seed``). Runs that share seeds (``shared_seeds``) are
    paired: the interval is the t-interval of the per-seed differences, far narrower than
    Welch's when the seed's own effect dominates the noise (common random numbers); runs of
    either side without a partner are left out. Otherwise the runs are independent samples and
    the interval is Welch's."""
    seeds = shared_seeds(a.columns, b.columns)
    if seeds:
        difference, low, high = paired_ci(b[seeds].to_numpy(float) - a[seeds].to_numpy(float), level)
    else:
        difference, low, high = welch_ci(a.to_numpy(float), b.to_numpy(float), level)
    return Contrast(difference, low, high, len(seeds))


def shared_seeds(a: pd.Index, b: pd.Index) -> list[str]:
    """The replicate seeds two sets of runs can be paired on: those both were made with, in
    A's order, when they are two or more and every run's seed is known and used once on its
    side; [] otherwise. Read from the runs' records, never assumed from the spec: common random
    numbers give every point of a folder the same seeds, and two folders of the same root seed
    and points share them too."""
    if a.hasnans or b.hasnans or not (a.is_unique and b.is_unique):
        return []
    shared = [seed for seed in a if seed in set(b)]
    return shared if len(shared) >= 2 else []


def paired_ci(differences: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of paired differences (runs along the last axis) and its t-interval (n - 1 degrees
    of freedom); NaN bounds with fewer than two pairs."""
    n = differences.shape[-1]
    mean = differences.mean(axis=-1)
    if n < 2:
        return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * differences.std(axis=-1, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def welch_ci(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mean(b) - mean(a) (runs along the last axis) and its Welch t-interval (unequal variances
    and run counts; Welch-Satterthwaite degrees of freedom). NaN bounds with fewer than two runs
    a side; no spread on either side (a stream that earns nothing) gives a point interval."""
    na, nb = a.shape[-1], b.shape[-1]
    difference = b.mean(axis=-1) - a.mean(axis=-1)
    if na < 2 or nb < 2:
        return difference, np.full_like(difference, np.nan), np.full_like(difference, np.nan)
    va, vb = a.var(axis=-1, ddof=1) / na, b.var(axis=-1, ddof=1) / nb
    spread = va + vb
    with np.errstate(divide="ignore", invalid="ignore"):
        df = spread ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
        half = np.where(spread > 0, stats.t.ppf(0.5 + level / 2, df) * np.sqrt(spread), 0.0)
    return difference, difference - half, difference + half


def point_table(results: Results, outcomes: list[str] | tuple[str, ...] = KEY_OUTCOMES) -> pd.DataFrame:
    """Outcomes per design point: ``<outcome>`` (mean), ``<outcome>_low`` and ``_high`` (its 95%
    t-interval over replicates), with the point's label, factor values and runs ``n``."""
    table = results.points.copy()
    for outcome in outcomes:
        ci = mean_ci(results.summary, outcome, ["point"]).set_index("point")
        table[outcome], table[f"{outcome}_low"], table[f"{outcome}_high"] = (
            ci["mean"], ci["low"], ci["high"])
    return table


def pareto_front(revenue: np.ndarray, churn: np.ndarray) -> np.ndarray:
    """Whether each point is efficient: no other point has as much revenue or more with as
    little churn or less, and is better in one of them."""
    revenue, churn = np.asarray(revenue, float), np.asarray(churn, float)
    better_or_equal = (revenue[None, :] >= revenue[:, None]) & (churn[None, :] <= churn[:, None])
    strictly = (revenue[None, :] > revenue[:, None]) | (churn[None, :] < churn[:, None])
    return ~(better_or_equal & strictly).any(axis=1)
