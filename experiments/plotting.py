"""Figures of a result folder, chosen by what its experiment varied.

Every band and error bar is the 95% t-interval of the mean over a point's replicates
(``mean_ci``), so a figure never looks surer than its runs allow. The folder is read by
``experiments.results`` from its run files, so a sweep still running or killed plots too.
The figures' look, units and labels, and their saving (each file whole or absent), are
``experiments.figure_style``'s.
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from experiments.analyze import point_outputs, sensitivity_figure, sensitivity_table
from experiments.checks import SpecError
from experiments.designs import DESIGNS
from experiments.figure_style import (
    HEATMAP,
    PALETTE,
    STYLE,
    CountFormatter,
    factor_label,
    format_value,
    money,
    outcome_formatter,
    outcome_label,
    percent,
    save_figure,
)
from experiments.outcomes import CAUSES, KEY_OUTCOMES, SENSITIVITY_OUTCOMES
from experiments.results import (
    SMOOTH_DAYS,
    Results,
    contrast,
    load_results,
    mean_ci,
    pareto_front,
    point_table,
)
from experiments.spec import value_text
from model.ledger import STREAMS

MAX_PANELS = 6
"""Points drawn at most in per-point figures; larger designs show their first points."""
MAX_BARS = 40
"""Most design points shown as bars side by side (a chosen design; sampled ones have many)."""

MAX_LABELS = 8
"""Design points named in the trade-off figure at most; beyond that, names overlap."""
HORIZONS_DAYS = (90, 180, 365, 730, 1460)
"""A quarter, half a year, a year and two: where the revenue-maximising value of a factor is
read (``horizon_figure``), with the run's last day when it is none of these."""
MIN_HORIZON_DAYS = 180
"""Runs shorter than this reach one horizon at most, and there is no move to show."""


# --- the figure set ------------------------------------------------------------------------------
def figure_set(results: Results, outcomes: Sequence[str] = KEY_OUTCOMES, against: str | None = None,
               ) -> dict[str, Callable[[Results, Path], Path]]:
    """The figures that fit what the experiment varied: file name -> what draws and writes it
    (to a stem; PNG and SVG). Deciding costs nothing; drawing is the slow part. ``outcomes``
    (one to four summary columns) are the panels of the figures against the factors. The
    ``difference`` figure is drawn when the spec names a ``reference`` point or ``against``
    names one (a name that fits no point is an error, exit 2)."""
    design = DESIGNS[results.spec.design_kind]
    if design.pooled_bands is not None:  # one band over every run (posterior designs)
        chosen = {"pooled_over_time": pooled_over_time_figure}
        if len(results.points) > 1:
            chosen["tradeoff"] = tradeoff_figure
            chosen["outcomes_vs_factors"] = scatter_figure
        return {name: partial(_write, draw) for name, draw in chosen.items()}
    chosen = {"users": users_figure, "outcomes_over_time": over_time_figure,
              "revenue_by_stream": revenue_figure, "revenue_mix": revenue_mix_figure,
              "churn_by_cause": churn_figure}
    factors, n_points = results.factors, len(results.points)
    if n_points > 1:
        chosen["tradeoff"] = tradeoff_figure
    if 1 < n_points <= MAX_BARS and not design.sampled:
        chosen["revenue_by_point"] = revenue_by_point_figure
    if len(factors) == 1 and n_points > 1:
        chosen[f"outcomes_vs_{factors[0]}"] = partial(factor_figure, outcomes=outcomes)
        if results.spec.days >= MIN_HORIZON_DAYS:
            chosen["revenue_by_horizon"] = horizon_figure
    if len(factors) == 2:
        chosen["heatmap"] = partial(heatmap_figure, outcomes=outcomes)
    if len(factors) > 1 and design.sampled:
        chosen["outcomes_vs_factors"] = scatter_figure
    if n_points > 1 and _has_reference(results, against):
        chosen["difference"] = partial(difference_figure, against=against)
    figures = {name: partial(_write, draw) for name, draw in chosen.items()}
    if design.sensitivity is not None:
        if results.complete:
            figures["sensitivity"] = _write_sensitivity
        else:
            warnings.warn("sensitivity figure left out: its estimators pair runs, so they need "
                          "every planned run", stacklevel=2)
    return figures


def _has_reference(results: Results, against: str | None) -> bool:
    """Whether a point is named to contrast the others with: ``against`` (checked: an unknown
    name exits 2), or the spec's reference when it has finished runs (else the figure is left
    out, with a warning)."""
    if against is not None:
        results.reference_point(against)
        return True
    if results.spec.reference is None:
        return False
    try:
        results.reference_point()
    except SpecError as err:
        warnings.warn(f"difference figure left out: {err}", stacklevel=3)
        return False
    return True


def plot_folder(path: str | Path, outcomes: Sequence[str] = KEY_OUTCOMES,
                against: str | None = None) -> list[Path]:
    """Write the figure set of a result folder into its figures/ (PNG and SVG); return the PNGs."""
    return plot_results(load_results(path), outcomes, against)


def plot_results(results: Results, outcomes: Sequence[str] = KEY_OUTCOMES,
                 against: str | None = None) -> list[Path]:
    out = results.folder.figures_dir
    out.mkdir(parents=True, exist_ok=True)
    figures = figure_set(results, outcomes, against)
    with plt.rc_context(STYLE):
        return [write(results, out / name) for name, write in figures.items()]


def _write(draw: Callable[[Results], Figure], results: Results, stem: Path) -> Path:
    """Draw the figure and save it (PNG and SVG); return the PNG."""
    return save_figure(draw(results), stem)[0]


def _write_sensitivity(results: Results, stem: Path) -> Path:
    """Sobol' indices or Morris screening, drawn and written by ``wasim analyze``'s own code."""
    outputs = point_outputs(results.spec, results.summary, list(SENSITIVITY_OUTCOMES))
    return sensitivity_figure(sensitivity_table(results.spec, outputs), results.spec, stem)[0]


def users_figure(results: Results) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    _band_lines(ax, results, "users_active")
    ax.set(title=f"Active users on the platform, {_name(results)}{_ci_note(results)}",
           ylabel="active users (simulated sample)")
    ax.yaxis.set_major_formatter(CountFormatter())
    _time_axis(ax, results)
    _point_legend(fig, ax, results)
    return fig


def over_time_figure(results: Results) -> Figure:
    """Revenue, revenue per user, users lost and multi-homers: the run's course, per point."""
    panels = [("revenue_total", f"revenue per day (USD, {SMOOTH_DAYS}-day mean)"),
              ("revenue_per_user", f"revenue per active user per day (USD, {SMOOTH_DAYS}-day mean)"),
              ("users_churned_total", "users who have left so far (sample)"),
              ("users_multihoming", "users also on a rival app (sample)")]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), layout="constrained", sharex=True)
    for ax, (column, label) in zip(axes.flat, panels, strict=True):
        _band_lines(ax, results, column, smoothed=column.startswith("revenue"))
        ax.set(title=label)
        ax.yaxis.set_major_formatter(outcome_formatter(column))
        _time_axis(ax, results, label=ax in axes[1])
    fig.suptitle(f"Key outcomes over time, {_name(results)}{_ci_note(results)}")
    _point_legend(fig, axes[0, 0], results)
    return fig


def pooled_over_time_figure(results: Results) -> Figure:
    """Users, revenue, users lost and multi-homers over time, pooled over every run of every
    design point: the median and the 5-95% band, which for a posterior design cover parameter
    uncertainty and replicate noise together (the title says so, from the design kind)."""
    panels = [("users_active", "active users (sample)"),
              ("revenue_total", f"revenue per day (USD, {SMOOTH_DAYS}-day mean)"),
              ("users_churned_total", "users who have left so far (sample)"),
              ("users_multihoming", "users also on a rival app (sample)")]
    note = DESIGNS[results.spec.design_kind].pooled_bands.format(
        points=len(results.points), replicates=_replicates_text(results))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), layout="constrained", sharex=True)
    for ax, (column, label) in zip(axes.flat, panels, strict=True):
        daily = results.smoothed if column.startswith("revenue") else results.daily
        bands = daily.groupby("day")[column].quantile([0.05, 0.5, 0.95]).unstack()
        x = results.time(bands.index.to_series())
        ax.plot(x, bands[0.5], color=PALETTE[0], label="median")
        ax.fill_between(x, bands[0.05], bands[0.95], color=PALETTE[0], alpha=0.25, linewidth=0,
                        label="5-95% of runs")
        ax.set(title=label)
        ax.yaxis.set_major_formatter(outcome_formatter(column))
        _time_axis(ax, results, label=ax in axes[1])
    axes[0, 0].legend()
    band = textwrap.fill(f"median and 5-95% band of {len(results.summary)} runs; {note}", 100)
    fig.suptitle(f"Key outcomes over time, {_name(results)}\n{band}")
    return fig


def _replicates_text(results: Results) -> str:
    n = results.points["n"]
    return str(n.min()) if n.min() == n.max() else f"{n.min()}-{n.max()}"


def revenue_figure(results: Results) -> Figure:
    """Each stream's revenue on a log scale: streams differ by orders of magnitude."""
    streams = _streams(results)
    fig, axes, points = _point_panels(results, sharey=True)
    lowest = np.inf
    for ax, point in zip(axes.flat, points, strict=False):
        rows = results.smoothed[results.smoothed["point"] == point]
        for stream in streams:
            band = mean_ci(rows, f"revenue_{stream}", ["day"])
            band = band[band["mean"] > 0]  # a log axis has no room for days a stream earns nothing
            band["low"] = band["low"].clip(lower=band["mean"] / 10)
            _draw_band(ax, results.time(band["day"]), band, _stream_colour(stream),
                       stream.replace("_", " "))
            lowest = min(lowest, band["mean"].quantile(0.05))
        ax.set(title=_panel_title(results, point), yscale="log",
               ylabel=f"revenue per day (USD, {SMOOTH_DAYS}-day mean)")
        ax.yaxis.set_major_formatter(FuncFormatter(money))
        _time_axis(ax, results)
    axes.flat[0].set_ylim(bottom=lowest / 3)  # a stream's first days, or a wide band, are not
    # worth decades of empty axis
    _finish_panels(fig, axes, len(points), "stream", f"Revenue by stream (log scale), "
                   f"{_name(results)}{_first_note(results, points)}{_ci_note(results)}")
    return fig


def revenue_mix_figure(results: Results) -> Figure:
    """The mix: mean revenue per stream stacked, so the top edge is the total."""
    streams = _streams(results)
    fig, axes, points = _point_panels(results, sharey=True)
    for ax, point in zip(axes.flat, points, strict=False):
        means = results.smoothed[results.smoothed["point"] == point].groupby("day")[
            [f"revenue_{s}" for s in streams]].mean()
        ax.stackplot(results.time(means.index.to_series()), means.T.to_numpy(),
                     colors=[_stream_colour(s) for s in streams],
                     labels=[s.replace("_", " ") for s in streams], linewidth=0)
        ax.set(title=_panel_title(results, point),
               ylabel=f"revenue per day (USD, {SMOOTH_DAYS}-day mean)")
        ax.yaxis.set_major_formatter(FuncFormatter(money))
        _time_axis(ax, results)
    _finish_panels(fig, axes, len(points), "stream (top first)",
                   f"Revenue mix by stream, {_name(results)}{_first_note(results, points)}\n"
                   "mean over replicates, stacked: the top edge is the total", reverse=True)
    return fig


def revenue_by_point_figure(results: Results) -> Figure:
    """Each design point's revenue over the run, by stream: one stacked bar per point (mean over
    replicates), the total's 95% t-interval as a whisker. Every point in one chart, so points
    compare directly, whatever the design (the time-series figures show only the first few)."""
    streams = _streams(results)
    columns = [f"revenue_{s}" for s in streams]
    table = point_table(results, [*columns, "revenue_total"])
    y = np.arange(len(table))[::-1]  # the first point at the top
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.42 * len(table)), layout="constrained")
    left = np.zeros(len(table))
    for stream, column in zip(streams, columns, strict=True):
        ax.barh(y, table[column], left=left, color=_stream_colour(stream), height=0.7,
                label=stream.replace("_", " "))
        left += table[column].to_numpy()
    total = table["revenue_total"]
    ax.errorbar(total, y, xerr=[total - table["revenue_total_low"], table["revenue_total_high"] - total],
                fmt="none", ecolor="black", elinewidth=1, capsize=3)
    ax.set_yticks(y, table["label"])
    ax.set(xlabel="revenue over the run (USD)",
           title=f"Revenue by stream at each design point, {_name(results)}\n"
                 "mean over replicates, stacked; whisker: 95% t-interval of the total")
    ax.xaxis.set_major_formatter(FuncFormatter(money))
    fig.legend(title="stream", loc="outside lower center", ncols=min(len(streams), 6))
    return fig


def churn_figure(results: Results) -> Figure:
    fig, axes, points = _point_panels(results, sharey=True)
    for ax, point in zip(axes.flat, points, strict=False):
        rows = results.smoothed[results.smoothed["point"] == point]
        for i, cause in enumerate(CAUSES):
            band = mean_ci(rows, f"churn_{cause}", ["day"])
            band["low"] = band["low"].clip(lower=0)
            _draw_band(ax, results.time(band["day"]), band, PALETTE[i], cause)
        ax.set(title=_panel_title(results, point),
               ylabel=f"users leaving per day ({SMOOTH_DAYS}-day mean)")
        _time_axis(ax, results)
    _finish_panels(fig, axes, len(points), "cause", f"Users leaving by cause, {_name(results)}"
                   f"{_first_note(results, points)}{_ci_note(results)}")
    return fig


def tradeoff_figure(results: Results, revenue: str = "revenue_total",
                    churn: str = "churned_share") -> Figure:
    """Each point's revenue against its churn; the efficient ones (no point earns more for
    less churn) joined by a line: the choices worth arguing about."""
    table = point_table(results, [revenue, churn])
    efficient = pareto_front(table[revenue], table[churn])
    fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    for mask, style in ((~efficient, {"color": PALETTE[8], "label": "dominated point"}),
                        (efficient, {"color": PALETTE[3], "label": "efficient point"})):
        rows = table[mask]
        ax.errorbar(rows[churn], rows[revenue], fmt="o", capsize=2, markersize=6, elinewidth=0.8,
                    alpha=0.8, **style, xerr=_error_bars(rows, churn), yerr=_error_bars(rows, revenue))
    front = table[efficient].sort_values(churn)
    ax.plot(front[churn], front[revenue], "--", color=PALETTE[3], linewidth=1.5, zorder=1,
            label="efficient frontier")
    if len(table) <= MAX_LABELS:  # more labels would overlap; the report's table marks them
        for _, row in front.iterrows():
            ax.annotate(row["label"], (row[churn], row[revenue]), textcoords="offset points",
                        xytext=(6, 4), fontsize="small",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    ax.set(xlabel=f"{outcome_label(churn)}  (lower is better)",
           ylabel=f"{outcome_label(revenue)}  (higher is better)",
           title=f"Revenue against churn, {_name(results)}: one marker per design point"
                 f"{_ci_note(results, 'bars')}")
    ax.xaxis.set_major_formatter(outcome_formatter(churn))
    ax.yaxis.set_major_formatter(outcome_formatter(revenue))
    ax.legend(loc="best")
    return fig


def _error_bars(rows: pd.DataFrame, outcome: str) -> list[pd.Series]:
    """Distances from the mean to the interval's ends; no bar reaches below zero, where none of
    these outcomes can be (t-intervals of two or three runs are wide)."""
    return [(rows[outcome] - rows[f"{outcome}_low"]).clip(upper=rows[outcome].clip(lower=0)),
            rows[f"{outcome}_high"] - rows[outcome]]


def factor_figure(results: Results, outcomes: Sequence[str] = KEY_OUTCOMES) -> Figure:
    """The outcomes against the one varied factor: a curve with its band for numbers,
    markers with error bars for categories."""
    factor = results.factors[0]
    table = point_table(results, outcomes).sort_values(factor)
    numeric = pd.api.types.is_numeric_dtype(table[factor]) and not pd.api.types.is_bool_dtype(table[factor])
    x = table[factor] if numeric else np.arange(len(table))
    fig, axes = _outcome_panels(len(outcomes), (10, 7), sharex=True)
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        mean, low, high = table[outcome], table[f"{outcome}_low"], table[f"{outcome}_high"]
        if numeric:
            ax.plot(x, mean, "o-", color=PALETTE[0], markersize=4)
            ax.fill_between(x, low, high, color=PALETTE[0], alpha=0.25, linewidth=0)
        else:
            ax.errorbar(x, mean, yerr=[mean - low, high - mean], fmt="o", capsize=4, color=PALETTE[0])
            ax.set_xticks(x, [str(v) for v in table[factor]])
        ax.set(title=outcome_label(outcome))
        ax.yaxis.set_major_formatter(outcome_formatter(outcome))
    if numeric and table[factor].nunique() <= 8:  # the design's levels, not round numbers,
        levels = table[factor].unique()           # slanted: close levels would run together
        axes[-1, 0].set_xticks(levels, [value_text(v) for v in levels])
        for ax in axes[-1]:
            ax.tick_params(axis="x", labelrotation=45)
    for ax in axes[-1]:
        ax.set_xlabel(factor_label(factor))
    fig.suptitle(f"Outcomes against {factor}, {_name(results)}"
                 f"{_ci_note(results, 'band' if numeric else 'bars')}")
    return fig


def horizons(days: int) -> list[int]:
    """The horizons a run of ``days`` days reaches, its last day among them."""
    reached = [h for h in HORIZONS_DAYS if h <= days]
    return reached if days in reached else [*reached, days]


def horizon_revenue(results: Results) -> pd.DataFrame:
    """Cumulative revenue_total of each point up to each horizon, from the daily rows: one row
    per horizon (``horizon_days``) and point, with the factor's value, the mean and 95%
    t-interval (``low``, ``high``) over the point's runs (``count``: those finished, so a
    partial folder counts what it has), and ``best``: the highest mean at its horizon."""
    factor = results.factors[0]
    daily = results.daily  # each run's rows in day order, so a running sum is to that day
    daily = daily.assign(revenue_cumulative=daily.groupby(["point", "replicate"])[
        "revenue_total"].cumsum())
    reached = daily[daily["day"].isin(horizons(results.spec.days))]
    table = mean_ci(reached.rename(columns={"day": "horizon_days"}), "revenue_cumulative",
                    ["horizon_days", "point"])
    table.insert(2, factor, table["point"].map(results.points[factor]))
    table["best"] = table.index.isin(table.groupby("horizon_days")["mean"].idxmax())
    return table


def best_by_horizon(results: Results) -> pd.DataFrame:
    """Per horizon, the point whose runs earned the most up to it: ``horizon_revenue``'s best
    rows (horizon_days, point, the factor's value, mean, low, high, count)."""
    table = horizon_revenue(results)
    return table[table["best"]].drop(columns=["best", "std"]).reset_index(drop=True)


def horizon_figure(results: Results) -> Figure:
    """Where the revenue-maximising value of the one factor lies, and how it moves with the
    horizon: cumulative revenue up to each horizon against the factor, one line per horizon,
    each as a share of its best point's mean; a ring marks the best, annotated with its value
    and revenue.

    One shared axis rather than a panel per horizon: the question is where each curve peaks,
    and peaks compare at a glance on one axis. Revenue grows with the horizon by construction,
    so unscaled lines (or panels on one scale) would flatten the early ones, and panels on
    their own scales would have to be compared tick by tick."""
    factor = results.factors[0]
    table = horizon_revenue(results).sort_values(["horizon_days", factor])
    levels = table[factor].drop_duplicates().sort_values().tolist()
    numeric = pd.api.types.is_numeric_dtype(table[factor]) and not pd.api.types.is_bool_dtype(table[factor])
    fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    shown = table["horizon_days"].unique()
    rank_at: dict = {}  # horizons already annotated at a level: their labels stack upwards
    for i, horizon in enumerate(shown):
        rows = table[table["horizon_days"] == horizon]
        colour, label = PALETTE[i % len(PALETTE)], f"{horizon} days"
        band = (rows[["mean", "low", "high"]] / rows["mean"].max()).clip(lower=0)
        if numeric:
            x = rows[factor]
            _draw_band(ax, x, band, colour, label)
        else:  # markers side by side at each category, so the bars do not hide each other
            x = rows[factor].map(levels.index) + 0.08 * (i - (len(shown) - 1) / 2)
            ax.errorbar(x, band["mean"], yerr=[band["mean"] - band["low"], band["high"] - band["mean"]],
                        fmt="o", capsize=3, markersize=4, color=colour, label=label)
        best = rows["best"].to_numpy()
        ax.plot(x[best], band["mean"][best], "o", markersize=9 + 4 * i, markerfacecolor="none",
                markeredgewidth=2, color=colour, zorder=3)
        level = rows[factor][best].iloc[0]
        rank = rank_at[level] = rank_at.get(level, -1) + 1
        align = {0: "left", len(levels) - 1: "right"}.get(levels.index(level), "center")
        ax.annotate(f"best at {horizon} d: {value_text(level)} ({money(rows['mean'][best].iloc[0])})",
                    (x[best].iloc[0], 1.0), textcoords="offset points", xytext=(0, 12 + 11 * rank),
                    ha=align, fontsize="small", color=colour)
    bottom = max(0.0, ax.get_ylim()[0])
    ax.set_ylim(bottom, bottom + (1 - bottom) / 0.75)  # room above the peaks for their labels
    if numeric:
        if len(levels) <= 8:  # the design's levels, not round numbers
            ax.set_xticks(levels, [value_text(v) for v in levels])
    else:
        ax.set_xticks(range(len(levels)), [value_text(v) for v in levels])
    ax.set(xlabel=factor_label(factor),
           ylabel=f"cumulative revenue, share of the best {factor} at that horizon")
    ax.yaxis.set_major_formatter(FuncFormatter(percent))
    fig.legend(title="revenue up to", loc="outside lower center", ncols=len(shown))
    fig.suptitle(f"Where revenue peaks against {factor}, by horizon, {_name(results)}\n"
                 "cumulative revenue_total up to each horizon, scaled by that horizon's best mean"
                 f"{_ci_note(results, 'band' if numeric else 'bars')}")
    return fig


def heatmap_figure(results: Results, outcomes: Sequence[str] = KEY_OUTCOMES) -> Figure:
    """Two factors: each outcome's point means on the factors' grid, values written in the
    cells; a sampled design's scattered points are coloured by their mean instead."""
    first, second = results.factors
    table = point_table(results, outcomes)
    fig, axes = _outcome_panels(len(outcomes), (11, 8.5))
    rows, cols = sorted(table[second].unique()), sorted(table[first].unique())
    is_grid = len(rows) * len(cols) == len(table)
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        if is_grid:
            grid = table.pivot(index=second, columns=first, values=outcome).loc[rows, cols]
            image = ax.imshow(grid.to_numpy(), cmap=HEATMAP, aspect="auto", origin="lower")
            ax.set_xticks(range(len(cols)), [value_text(v) for v in cols])
            ax.set_yticks(range(len(rows)), [value_text(v) for v in rows])
            ax.grid(False)
            _annotate_cells(ax, grid.to_numpy(), outcome, image)
        else:
            image = ax.scatter(table[first], table[second], c=table[outcome], cmap=HEATMAP, s=40)
        ax.set(title=outcome_label(outcome), xlabel=factor_label(first), ylabel=factor_label(second))
        fig.colorbar(image, ax=ax, format=outcome_formatter(outcome), shrink=0.9)
    fig.suptitle(f"Outcomes over {first} and {second}, {_name(results)}\n"
                 "means over replicates (their 95% CIs are in the report)")
    return fig


DIFFERENCE_PANELS = (("users_active", "active users (sample)"),
                     ("users_multihoming", "users also on a rival app (sample)"),
                     ("users_churned_total", "users who have left so far (sample)"),
                     ("revenue_total", f"revenue per day (USD, {SMOOTH_DAYS}-day mean)"))
"""The daily columns the ``difference`` figure contrasts, one panel each (revenue smoothed)."""


def difference_figure(results: Results, against: str | None = None) -> Figure:
    """Each point's daily outcomes minus the reference point's (``against``, else the spec's
    reference, else the first point), one line per point (the first MAX_PANELS - 1 others),
    with the 95% band of the difference day by day (``contrast``): over the per-seed
    differences when the points' runs share seeds (common random numbers), else Welch's. On
    common random numbers a timeline that departs from the reference on a day is exactly zero
    before it."""
    reference = results.reference_point(against)
    others = [p for p in results.points.index if p != reference][:MAX_PANELS - 1]
    colours = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(results.points.index)}
    fig, axes = _outcome_panels(len(DIFFERENCE_PANELS), (11, 7), sharex=True)
    methods = {}
    for ax, (column, title) in zip(axes.flat, DIFFERENCE_PANELS, strict=True):
        smoothed = column.startswith("revenue")
        base = results.daily_by_seed(reference, column, smoothed)
        for point in others:
            found = contrast(base, results.daily_by_seed(point, column, smoothed))
            methods[point] = found.method
            band = pd.DataFrame({"mean": found.difference, "low": found.low, "high": found.high})
            _draw_band(ax, results.time(base.index.to_series()), band, colours[point],
                       results.points.loc[point, "label"])
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set(title=title)
        ax.yaxis.set_major_formatter(outcome_formatter(column))
        _time_axis(ax, results, label=ax in axes[-1])
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, [f"{name} ({methods[p]})" for name, p in zip(names, others, strict=True)],
               loc="outside lower center", title="design point (95% CI band)",
               ncols=2 if max(map(len, names)) > 24 else 3)
    fig.suptitle(f"Difference from '{results.points.loc[reference, 'label']}', {_name(results)}"
                 f"{_first_note(results, [reference, *others])}\neach point minus the reference, "
                 "day by day; band: 95% CI, paired by seed (else Welch)")
    return fig


def scatter_figure(results: Results) -> Figure:
    """A sampled design seen one factor at a time: each point's mean outcome against each
    factor. A steep, tight cloud marks an influential factor; a flat one, a weak one."""
    factors = results.factors
    table = point_table(results, KEY_OUTCOMES[:2])
    fig, axes = plt.subplots(2, len(factors), figsize=(3.2 * len(factors) + 1.5, 6.5),
                             layout="constrained", sharey="row", squeeze=False)
    for row, outcome in enumerate(KEY_OUTCOMES[:2]):
        for col, factor in enumerate(factors):
            ax = axes[row, col]
            ax.scatter(table[factor], table[outcome], s=12, color=PALETTE[row], alpha=0.7)
            ax.yaxis.set_major_formatter(outcome_formatter(outcome))
            if row == 1:
                ax.set_xlabel(factor_label(factor))
        axes[row, 0].set_ylabel(outcome_label(outcome))
    fig.suptitle(f"Outcomes against each factor, {_name(results)}\n"
                 f"one marker per design point ({len(table)}), mean over replicates")
    return fig


# --- helpers -------------------------------------------------------------------------------------
def _outcome_panels(n: int, size: tuple[float, float], sharex: bool = False):
    """A panel per outcome, two to a row (the 2 x 2 of the default four outcomes)."""
    rows, cols = (n + 1) // 2, min(n, 2)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] / 2 * cols, size[1] / 2 * rows),
                             layout="constrained", sharex=sharex, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes

def _band_lines(ax, results: Results, column: str, smoothed: bool = False) -> None:
    """One line per point (the first MAX_PANELS) with its band. The counts and money drawn
    cannot be negative, so neither is a band (a t-interval of few runs can reach below 0)."""
    shown = list(results.points.index[:MAX_PANELS])
    daily = results.smoothed if smoothed else results.daily
    bands = mean_ci(daily[daily["point"].isin(shown)], column, ["point", "day"])
    bands["low"] = bands["low"].clip(lower=0)
    for i, point in enumerate(shown):
        band = bands[bands["point"] == point]
        _draw_band(ax, results.time(band["day"]), band, PALETTE[i % len(PALETTE)],
                   results.points.loc[point, "label"])


def _draw_band(ax, x, band: pd.DataFrame, colour: str, label: str) -> None:
    """The mean as a line, its interval (``low``, ``high``) as a band around it."""
    ax.plot(x, band["mean"], color=colour, label=label)
    ax.fill_between(x, band["low"], band["high"], color=colour, alpha=0.25, linewidth=0)


def _point_panels(results: Results, sharey: bool):
    """One panel per point (the first MAX_PANELS), up to three across."""
    points = list(results.points.index[:MAX_PANELS])
    cols = min(len(points), 3)
    rows = -(-len(points) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols + 2.5, 4 * rows), squeeze=False,
                             sharey=sharey, sharex=True, layout="constrained")
    for ax in axes.flat[len(points):]:
        ax.set_visible(False)
    return fig, axes, points


def _finish_panels(fig, axes, shown: int, legend_title: str, title: str,
                   reverse: bool = False) -> None:
    """Labels once per row and column, one legend beside the panels (in stacking order when
    ``reverse``), the title."""
    _tidy_panels(axes, shown)
    handles, names = axes.flat[0].get_legend_handles_labels()
    order = slice(None, None, -1 if reverse else 1)
    fig.legend(handles[order], names[order], loc="outside right center", title=legend_title)
    fig.suptitle(title)


def _tidy_panels(axes, shown: int) -> None:
    """Axis labels once per row and column: panels share their axes."""
    rows, cols = axes.shape
    for i, ax in enumerate(axes.flat[:shown]):
        if i % cols:
            ax.set_ylabel("")
        if i + cols < shown:
            ax.set_xlabel("")


def _point_legend(fig, ax, results: Results) -> None:
    """Below the axes: labels of design points are long, and beside they squeeze the data."""
    if len(results.points) > 1:
        handles, names = ax.get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", title="design point",
                   ncols=2 if max(map(len, names)) > 24 else 3)


def _time_axis(ax, results: Results, label: bool = True) -> None:
    if results.spec.start_date is not None:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        formatter = mdates.ConciseDateFormatter(locator)
        formatter.offset_formats = ["", "%Y", "%Y", "%b %Y", "%d %b %Y", "%d %b %Y %H:%M"]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(formatter)
        if label:
            ax.set_xlabel("date")
    elif label:
        ax.set_xlabel("day of the run")


def _name(results: Results) -> str:
    return f"'{results.spec.name}'"


def _ci_note(results: Results, marks: str = "band") -> str:
    """What the lines and their bands (or bars) are, and over how many runs."""
    n = results.points["n"]
    runs = f"n = {n.min()}" if n.min() == n.max() else f"n = {n.min()}–{n.max()}"
    return f"\nmean and 95% CI {marks} over replicates ({runs}{' per point' if len(n) > 1 else ''})"


def _panel_title(results: Results, point: int) -> str:
    return results.points.loc[point, "label"] if len(results.points) > 1 else ""


def _first_note(results: Results, points: list[int]) -> str:
    total = len(results.points)
    return "" if total <= len(points) else f"; first {len(points)} of {total} points"


def _streams(results: Results) -> list[str]:
    """Streams that earn something in some run: the others would only crowd the legend."""
    return [s for s in STREAMS if results.daily[f"revenue_{s}"].abs().sum() > 0]


def _stream_colour(stream: str) -> str:
    """A stream keeps its colour in every figure, whichever streams earn."""
    return PALETTE[STREAMS.index(stream) % len(PALETTE)]


def _annotate_cells(ax, values: np.ndarray, outcome: str, image) -> None:
    """Each cell's value, dark on light cells and light on dark ones."""
    middle = np.nanmean([np.nanmin(values), np.nanmax(values)])
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(j, i, format_value(outcome, value), ha="center", va="center", fontsize="small",
                    color="black" if value > middle else "white")
