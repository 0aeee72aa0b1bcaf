"""Figures of a result folder: means over replicates with 95% confidence bands."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from scipy import stats  # noqa: E402

from experiments.storage import ResultFolder  # noqa: E402
from model.ledger import STREAMS  # noqa: E402

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000", "#999999", "#882255", "#44AA99"]
"""Okabe-Ito colours (colour-blind safe), extended with two of Tol's."""


def mean_ci(daily: pd.DataFrame, column: str, by: list[str]) -> pd.DataFrame:
    """Mean and 95% t-interval over replicates of ``column`` for each group of ``by``."""
    grouped = daily.groupby(by)[column]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    t = stats.t.ppf(0.975, np.maximum(out["count"] - 1, 1))
    half = np.where(out["count"] > 1, t * out["std"] / np.sqrt(out["count"]), 0.0)
    out["low"], out["high"] = out["mean"] - half, out["mean"] + half
    return out


def money(value: float, _pos=None) -> str:
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"${value / limit:.3g}{suffix}"
    return f"${value:.3g}"


def point_labels(daily: pd.DataFrame) -> dict[int, str]:
    varied = [c for c in daily.columns if c.startswith("factor:")]
    labels = {}
    for point, rows in daily.groupby("point"):
        first = rows.iloc[0]
        labels[point] = ", ".join(f"{c[7:]}={first[c]}" for c in varied) or "baseline"
    return labels


def plot_folder(path: str | Path) -> list[Path]:
    """Write the figure set of a result folder into its figures/; return the files."""
    folder = ResultFolder(path)
    planned = _planned_runs(folder)
    summary = folder.summary()
    if summary.empty:
        raise ValueError(f"{folder.path} has no finished runs to plot")
    if planned is not None and len(summary) < planned:
        warnings.warn(f"{folder.path}: plotting {len(summary)} of {planned} runs; "
                      f"{planned - len(summary)} are missing or failed", stacklevel=2)
    daily = folder.daily()
    daily = daily.rename(columns={c: f"factor:{c}" for c in _varied(summary)})
    folder.figures_dir.mkdir(parents=True, exist_ok=True)
    return [users_figure(daily, folder.figures_dir), revenue_figure(daily, folder.figures_dir)]


def users_figure(daily: pd.DataFrame, out: Path) -> Path:
    labels = point_labels(daily)
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    for i, (point, label) in enumerate(labels.items()):
        band = mean_ci(daily[daily["point"] == point], "users_active", ["day"])
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(band["day"], band["mean"], color=colour, label=label)
        ax.fill_between(band["day"], band["low"], band["high"], color=colour, alpha=0.25)
    ax.set(title="Users on the platform (mean and 95% CI over replicates)",
           xlabel="day", ylabel="active users (simulated sample)")
    if len(labels) > 1:
        ax.legend(fontsize="small")
    return _save(fig, out / "users")


MAX_PANELS = 6
"""Revenue panels drawn at most; larger designs show their first points (issue: sweep plots)."""


def revenue_figure(daily: pd.DataFrame, out: Path) -> Path:
    labels = dict(list(point_labels(daily).items())[:MAX_PANELS])
    n = len(labels)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols + 2, 4 * rows), squeeze=False,
                             sharey=True, layout="constrained")
    streams = [s for s in STREAMS if daily[f"revenue_{s}"].abs().sum() > 0]
    for ax, (point, label) in zip(axes.flat, labels.items(), strict=False):
        rows_of_point = daily[daily["point"] == point]
        for i, stream in enumerate(streams):
            band = mean_ci(rows_of_point, f"revenue_{stream}", ["day"])
            colour = PALETTE[i % len(PALETTE)]
            ax.plot(band["day"], band["mean"], color=colour, label=stream.replace("_", " "))
            ax.fill_between(band["day"], band["low"], band["high"], color=colour, alpha=0.25)
        ax.set(title=label, xlabel="day", ylabel="revenue per day (USD)", yscale="log")
        ax.yaxis.set_major_formatter(FuncFormatter(money))
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside right center", fontsize="small")
    shown = "" if daily["point"].nunique() <= n else f", first {n} of {daily['point'].nunique()} points"
    fig.suptitle(f"Revenue by stream (mean and 95% CI over replicates{shown})")
    return _save(fig, out / "revenue_by_stream")


def _save(fig, stem: Path) -> Path:
    fig.savefig(stem.with_suffix(".png"), dpi=150)
    fig.savefig(stem.with_suffix(".svg"))
    plt.close(fig)
    return stem.with_suffix(".png")


def _varied(summary: pd.DataFrame) -> list[str]:
    keys = set()
    for values in summary["point_values"]:
        keys |= set(json.loads(values))
    return sorted(keys)


def _planned_runs(folder: ResultFolder) -> int | None:
    try:
        return len(folder.planned_runs())
    except (OSError, ValueError):
        return None
