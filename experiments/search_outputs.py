"""What a search leaves in its folder besides the runs: ``candidates.csv``, ``pareto.csv`` and
``figures/front.png`` (the front among every candidate), and the Pareto set as text for the
command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from experiments.search_spec import SearchSpec
from experiments.storage import ResultFolder, atomic_write


def write_outputs(folder: ResultFolder, search: SearchSpec, candidates: pd.DataFrame,
                  pareto: pd.DataFrame) -> list[Path]:
    files = []
    for name, frame in (("candidates.csv", candidates), ("pareto.csv", pareto)):
        path = folder.path / name
        atomic_write(path, lambda p, frame=frame: frame.to_csv(p, index=False))
        files.append(path)
    if not candidates.empty:
        files += front_figure(folder, search, candidates)
    return files


def front_figure(folder: ResultFolder, search: SearchSpec, candidates: pd.DataFrame) -> list[Path]:
    """The first two objectives of every candidate (feasible filled, infeasible hollow), the
    Pareto set highlighted with its 95% intervals and joined. One objective: value by trial."""
    import matplotlib.pyplot as plt

    from experiments.figure_style import PALETTE, STYLE, outcome_formatter, outcome_label, save_figure

    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
        first = search.objectives[0]
        if len(search.objectives) == 1:
            x_name, x_values = "trial", candidates["trial"]
        else:
            second = search.objectives[1]
            x_name, x_values = second.outcome, candidates[second.outcome]
        y = candidates[first.outcome]
        feasible, pareto = candidates["feasible"].to_numpy(bool), candidates["pareto"].to_numpy(bool)
        ax.scatter(x_values[~feasible], y[~feasible], facecolors="none", edgecolors=PALETTE[8],
                   label="infeasible", zorder=2)
        ax.scatter(x_values[feasible & ~pareto], y[feasible & ~pareto], color=PALETTE[0], alpha=0.6,
                   label="feasible", zorder=3)
        front = candidates[pareto].sort_values(x_name if x_name != "trial" else first.outcome)
        if not front.empty:
            x_front = front[x_name]
            xerr = None
            if x_name != "trial":
                xerr = [x_front - front[f"{x_name}_low"], front[f"{x_name}_high"] - x_front]
            ax.errorbar(x_front, front[first.outcome],
                        yerr=[front[first.outcome] - front[f"{first.outcome}_low"],
                              front[f"{first.outcome}_high"] - front[first.outcome]],
                        xerr=xerr, fmt="o", color=PALETTE[3], ls="--", capsize=3, elinewidth=0.8,
                        label="Pareto set (95% CI over replicates)", zorder=4)
        for i in range(len(search.start)):  # the start candidates (today's policy ...), named
            row = candidates[candidates["trial"] == i]
            if not row.empty:
                ax.annotate(f"start {i}", (row[x_name].iloc[0], row[first.outcome].iloc[0]),
                            xytext=(6, -10), textcoords="offset points", fontsize=8, color=PALETTE[7])
        for constraint in search.constraints:
            line = ax.axvline if constraint.outcome == x_name else \
                ax.axhline if constraint.outcome == first.outcome else None
            if line is not None:
                line(constraint.bound, color=PALETTE[7], ls=":", lw=1, label=constraint.text)
        _zoom(ax, x_values, y, search.constraints, x_name, first.outcome)
        if x_name != "trial":
            ax.xaxis.set_major_formatter(outcome_formatter(x_name))
            ax.set_xlabel(f"{outcome_label(x_name)}, {search.statistics[x_name]} over scenarios "
                          f"({_better(second.direction)})")
        else:
            ax.set_xlabel("trial")
        ax.yaxis.set_major_formatter(outcome_formatter(first.outcome))
        ax.set_ylabel(f"{outcome_label(first.outcome)}, {search.statistics[first.outcome]} over "
                      f"scenarios ({_better(first.direction)})")
        ax.set_title(f"Search '{search.experiment.name}': {len(candidates)} trials, "
                     f"{len(search.scenarios)} scenarios x {search.experiment.replicates} replicates")
        ax.legend(loc="best", fontsize=8)
        folder.figures_dir.mkdir(parents=True, exist_ok=True)
        return save_figure(fig, folder.figures_dir / "front")


def _better(direction: str) -> str:
    return "higher is better" if direction == "maximize" else "lower is better"


def _zoom(ax, x: pd.Series, y: pd.Series, constraints, x_name: str, y_name: str) -> None:
    """Axes around the candidates (and the constraint lines), not around their intervals, which
    with few replicates can be many times wider than the cloud; the intervals run off the edge."""
    for values, name, limits in ((x, x_name, ax.set_xlim), (y, y_name, ax.set_ylim)):
        ends = [float(values.min()), float(values.max())]
        ends += [c.bound for c in constraints if c.outcome == name]
        low, high = min(ends), max(ends)
        pad = 0.12 * (high - low) or 0.05 * abs(high) or 1.0
        limits(low - pad, high + pad)


def format_pareto(search: SearchSpec, pareto: pd.DataFrame) -> str:
    """The Pareto set as text: levers, then each objective's value [95% interval]."""
    from experiments.figure_style import format_value

    if pareto.empty:
        return "no feasible candidate yet: the Pareto set is empty"
    lines = []
    for row in pareto.sort_values(search.objectives[0].outcome, ascending=False).itertuples(index=False):
        row = row._asdict()
        levers = ", ".join(f"{lever.name}={_shown(row[lever.name])}" for lever in search.levers)
        values = "; ".join(f"{o.outcome} ({search.statistics[o.outcome]}) "
                           f"{format_value(o.outcome, row[o.outcome])} "
                           f"[{format_value(o.outcome, row[o.outcome + '_low'])}, "
                           f"{format_value(o.outcome, row[o.outcome + '_high'])}]"
                           for o in search.objectives)
        lines.append(f"  trial {row['trial']}: {levers}: {values}")
    return "\n".join(lines)


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
