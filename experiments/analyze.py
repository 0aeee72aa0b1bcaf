"""Sensitivity analysis of a result folder: which factors move which outcomes, and how much.

A ``saltelli`` design gets Sobol' indices (first order S1, total ST), a ``morris`` design
Morris' elementary-effect statistics (mu, mu*, sigma), both from SALib with bootstrap
confidence intervals; the estimators belong to their design kinds (``experiments.designs``).
SALib's analyzers read one output per row of the design's sample matrix, in its order; a result
folder holds runs instead (points x replicates, and a point the design repeats is run once
under its first index). So the replicates of each point are averaged first, and each row of
the matrix looks its point up by value (``point_values``), which finds the runs of a repeated
point wherever they were filed.

Everything is checked before anything is written: a folder the analysis cannot use exits 2
(SpecError) and is left as it was. The analysis writes only into ``RESULT_DIR/analysis/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from experiments.checks import SpecError
from experiments.designs import CONF_LEVEL, DESIGNS, design_points
from experiments.figure_style import PALETTE, money, save_figure
from experiments.outcomes import checked_outcomes
from experiments.runs import plan_runs
from experiments.spec import ExperimentSpec, parse_spec
from experiments.storage import ResultFolder, atomic_write


@dataclass(frozen=True)
class Analysis:
    kind: str
    table: pd.DataFrame
    """Tidy: one row per outcome and factor, with the index columns of ``kind``."""
    files: list[Path]


def analyze_folder(path: str | Path, outcomes: list[str] | None = None) -> Analysis:
    """Check the folder, compute the indices of ``outcomes`` and write table and figure."""
    folder = ResultFolder(path)
    spec = analysable_spec(folder)
    summary = complete_summary(folder, spec)
    outcomes = checked_outcomes(summary, outcomes)
    table = sensitivity_table(spec, point_outputs(spec, summary, outcomes))
    return Analysis(spec.design_kind, table, write_analysis(folder, spec, table))


# --- checks: each raises SpecError (exit 2) before anything is written -------------------------
def analysable_spec(folder: ResultFolder) -> ExperimentSpec:
    """The folder's own spec, if it is a result folder of a design that has an analysis."""
    if not folder.spec_path.is_file():
        raise SpecError("RESULT_DIR", f"{folder.path} has no spec.toml; not a result folder "
                                      "(make one with `wasim run EXPERIMENT --out DIR`)")
    try:
        spec = parse_spec(folder.read_spec_dict())
    except ValueError as err:  # tomllib.TOMLDecodeError is a ValueError, and so is SpecError
        raise SpecError("RESULT_DIR", f"{folder.spec_path} is not a valid spec ({err}); "
                                      "not a result folder") from err
    if DESIGNS[spec.design_kind].sensitivity is None:
        analysed = [kind for kind in DESIGNS.values() if kind.sensitivity is not None]
        estimates = ", ".join(f"{kind.sensitivity.name} for {kind.name}" for kind in analysed)
        raise SpecError("design.kind", f"got {spec.design_kind!r} in {folder.spec_path}; "
                                       f"allowed: one of {', '.join(kind.name for kind in analysed)} "
                                       f"({estimates})")
    return spec


def complete_summary(folder: ResultFolder, spec: ExperimentSpec) -> pd.DataFrame:
    """The summary rows of every planned run. Both estimators pair rows of the sample matrix
    (a base row with its one-factor change), so one missing run spoils its whole block: it is an
    error to report, not a gap to skip."""
    planned = [t.run_id for t in plan_runs(spec, folder.path)]
    summary = folder.summary() if folder.summary_path.is_file() else pd.DataFrame()
    if "run_id" not in summary:  # no summary yet, or one written before any run finished
        summary = pd.DataFrame({"run_id": pd.Series(dtype=str)})
    summary = summary[summary["run_id"].isin(planned)]
    missing = set(planned) - set(summary["run_id"])
    if missing:
        failed = len(missing & folder.failed_ids())
        raise SpecError("RESULT_DIR", f"{len(missing)} of {len(planned)} runs missing "
                                      f"({failed} of them failed) in {folder.path}; "
                                      f"`wasim run {folder.spec_path} --out {folder.path}` "
                                      "finishes them")
    return summary


# --- the analysis ----------------------------------------------------------------------------
def point_outputs(spec: ExperimentSpec, summary: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """One row per row of the design's sample matrix, in its order: each outcome averaged over
    the replicates of that row's point. Rows are matched by the point's values, written by the
    runner as sorted JSON, so repeated points share the runs of their first index."""
    means = summary.groupby("point_values")[outcomes].mean()
    keys = [json.dumps(values, sort_keys=True) for values in design_points(spec)]
    return means.loc[keys].reset_index(drop=True)


def sensitivity_table(spec: ExperimentSpec, outputs: pd.DataFrame) -> pd.DataFrame:
    """The indices of every outcome, stacked into one tidy table."""
    sensitivity = DESIGNS[spec.design_kind].sensitivity
    frames = [sensitivity.indices(spec, outputs[name].to_numpy(dtype=float)).assign(outcome=name)
              for name in outputs.columns]
    table = pd.concat(frames, ignore_index=True)
    return table[["outcome", "factor", *sensitivity.columns]]


# --- output ----------------------------------------------------------------------------------
def write_analysis(folder: ResultFolder, spec: ExperimentSpec, table: pd.DataFrame) -> list[Path]:
    out = folder.path / "analysis"
    out.mkdir(exist_ok=True)
    csv = out / "sensitivity.csv"
    atomic_write(csv, lambda p: table.to_csv(p, index=False))
    return [csv, *sensitivity_figure(table, spec, out / "sensitivity")]


def sensitivity_figure(table: pd.DataFrame, spec: ExperimentSpec, stem: Path) -> list[Path]:
    """Horizontal bars per factor, one panel per outcome. Each panel keeps its own axis: Morris
    effects are in each outcome's units, and a Sobol' panel with wide intervals (few samples)
    would otherwise squash the bars of the others."""
    outcomes = list(dict.fromkeys(table["outcome"]))
    factors = list(dict.fromkeys(table["factor"]))
    sensitivity = DESIGNS[spec.design_kind].sensitivity
    bars = sensitivity.bars
    fig, axes = plt.subplots(1, len(outcomes), figsize=(5.5 * len(outcomes) + 1, 2.5 + 0.6 * len(factors)),
                             squeeze=False, layout="constrained")
    positions = np.arange(len(factors))
    height = 0.8 / len(bars)
    for ax, outcome in zip(axes.flat, outcomes, strict=True):
        rows = table[table["outcome"] == outcome].set_index("factor").loc[factors]
        for i, (column, conf, label) in enumerate(bars):
            ax.barh(positions + (i - (len(bars) - 1) / 2) * height, rows[column], height,
                    xerr=rows[conf] if conf else None, capsize=3, color=PALETTE[i], label=label)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(positions, factors)
        ax.invert_yaxis()
        ax.set(title=outcome.replace("_", " "), xlabel=sensitivity.xlabel.format(outcome=outcome))
        if sensitivity.outcome_units and outcome.startswith("revenue_"):
            ax.xaxis.set_major_formatter(FuncFormatter(money))
    axes.flat[0].set_ylabel("factor")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(bars), fontsize="small")
    fig.suptitle(_title(spec))
    return save_figure(fig, stem)


def _title(spec: ExperimentSpec) -> str:
    replicates = (f"means of {spec.replicates} replicates per point" if spec.replicates > 1
                  else "1 run per point")
    return DESIGNS[spec.design_kind].sensitivity.title.format(
        name=spec.name, interval=f"{CONF_LEVEL:.0%} bootstrap CI", samples=spec.samples,
        replicates=replicates)
