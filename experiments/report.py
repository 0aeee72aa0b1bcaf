"""`wasim report`: one HTML page that says what an experiment found.

The page holds the experiment's description and provenance, what is missing (a report of a
sweep still running is a report of its finished runs, and says so), a table of outcomes per
design point with 95% t-intervals over replicates, a table of each point's contrast with the
reference point (the spec's ``reference``, else the first point: the difference and its 95%
t-interval, paired by replicate seed when the runs share seeds, else Welch's), every figure of
`wasim plot` (drawn afresh) and the spec. Figures are linked relative to the page
(``figures/*.png``), so the folder can be moved or zipped whole; ``embed`` puts them inside the
page instead, for a single file to send. The same tables, unrounded, go to ``outcomes.csv`` and
``contrasts.csv`` (as ``wasim compare RESULT_DIR --csv`` writes it) beside the page.
"""

from __future__ import annotations

import base64
import datetime
import html
import json
from pathlib import Path

import pandas as pd

from experiments.checks import SpecError
from experiments.compare import point_contrasts
from experiments.designs import DESIGNS
from experiments.figure_style import format_value, outcome_label
from experiments.outcomes import KEY_OUTCOMES, checked_outcomes
from experiments.plotting import plot_results
from experiments.results import Results, load_results, pareto_front, point_table
from experiments.storage import atomic_write

CAPTIONS = {
    "users": "Active users (multi-homers included) of the simulated sample, day by day.",
    "outcomes_over_time": "Revenue, revenue per active user, users lost so far and users also "
                          "on a rival app.",
    "revenue_by_stream": "Each revenue stream on a log scale: streams differ by orders of "
                         "magnitude.",
    "revenue_mix": "The revenue mix: mean revenue per stream, stacked, so the top edge is the "
                   "total.",
    "churn_by_cause": "Users leaving per day, split by cause (ads, privacy, peers, other).",
    "tradeoff": "Each design point's revenue against its churn; the efficient points (no other "
                "point earns more with less churn) are joined.",
    "outcomes_vs_": "The key outcomes against the one factor the design varies.",
    "heatmap": "The key outcomes over the two factors the design varies.",
    "outcomes_vs_factors": "Each design point's outcomes against each factor: a steep, tight "
                           "cloud marks an influential factor.",
    "sensitivity": "Sensitivity indices (wasim analyze) of total revenue and churned share.",
    "pooled_over_time": "Every run of every design point pooled: median and 5-95% band. For a "
                        "posterior design the band covers parameter uncertainty (the posterior "
                        "draws) and replicate noise (the runs of each draw) together.",
    "difference": "Each point's daily outcomes minus the reference point's, with the 95% CI "
                  "band of the difference: over the per-seed differences where the runs share "
                  "replicate seeds (common random numbers), else Welch's.",
}
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }
th { background: #f4f4f4; } td.label, th.label { text-align: left; }
.warning { background: #fff4e0; border-left: 4px solid #E69F00; padding: 0.5em 1em; }
figure { margin: 2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; } pre { background: #f7f7f7; padding: 1em; overflow-x: auto; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; } dt { font-weight: 600; }
"""


def write_report(path: str | Path, outcomes: list[str] | None = None, embed: bool = False) -> Path:
    """Draw the figures, then write ``report.html`` and ``outcomes.csv`` into the folder.
    Outcomes are checked before anything is written: an unknown one exits 2 (SpecError)."""
    results = load_results(path, doing="reporting")
    outcomes = checked_outcomes(results.summary, outcomes or list(KEY_OUTCOMES))
    figures = plot_results(results)
    table = point_table(results, outcomes)
    contrasts: pd.DataFrame | str | None = None
    if len(table) > 1:
        means = point_table(results, ["revenue_total", "churned_share"])
        table["efficient"] = pareto_front(means["revenue_total"], means["churned_share"])
        try:
            contrasts = point_contrasts(results, outcomes=outcomes)
        except SpecError as err:  # the reference point has no finished run yet
            contrasts = str(err)
    csv = results.folder.path / "outcomes.csv"
    atomic_write(csv, lambda p: table.to_csv(p))
    if isinstance(contrasts, pd.DataFrame):
        atomic_write(csv.with_name("contrasts.csv"), lambda p: contrasts.to_csv(p, index=False))
    page = results.folder.path / "report.html"
    text = report_html(results, outcomes, table, figures, embed, contrasts)
    atomic_write(page, lambda p: p.write_text(text, encoding="utf-8"))
    return page


def report_html(results: Results, outcomes: list[str], table: pd.DataFrame, figures: list[Path],
                embed: bool, contrasts: pd.DataFrame | str | None = None) -> str:
    spec, name = results.spec, html.escape(results.spec.name)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{name}</title>"
             f"<style>{STYLE}</style></head><body>",
             f"<h1>Experiment '{name}'</h1>",
             f"<p>{html.escape(spec.description) or '<em>(no description in the spec)</em>'}</p>",
             _facts(results)]
    if results.missing:
        parts.append(f"<p class='warning'><strong>Partial results</strong>: "
                     f"{html.escape(results.missing)}.</p>")
    parts += ["<h2>Outcomes per design point</h2>",
              "<p>Mean over replicates, with its 95% t-interval in brackets; <em>n</em> is the "
              "number of finished runs. A point is on the revenue-churn frontier when no other "
              "point has more total revenue with a smaller churned share (by their means). "
              "Unrounded values are in <a href='outcomes.csv'>outcomes.csv</a>.</p>",
              outcome_table_html(results, outcomes, table),
              *_contrasts_html(contrasts),
              "<h2>Figures</h2>"]
    parts += [_figure_html(results.folder.path, png, embed) for png in figures]
    spec_text = results.folder.spec_path.read_text()
    parts += ["<h2>Spec</h2>", f"<pre>{html.escape(spec_text)}</pre>", "</body></html>"]
    return "\n".join(parts)


def outcome_table_html(results: Results, outcomes: list[str], table: pd.DataFrame) -> str:
    """One row per point: its factor values, n, and each outcome as mean [low, high]."""
    factors = results.factors
    efficient = "efficient" in table
    head = ["point", *factors, "n", *(outcome_label(o) for o in outcomes)]
    head += ["on the revenue-churn frontier"] if efficient else []
    rows = ["<table id='outcomes'><thead><tr>"
            + "".join(f"<th class='label'>{html.escape(h)}</th>" if i <= len(factors) else
                      f"<th>{html.escape(h)}</th>" for i, h in enumerate(head))
            + "</tr></thead><tbody>"]
    for point, row in table.iterrows():
        cells = [f"<td class='label'>{point}</td>",
                 *(f"<td class='label'>{html.escape(str(row[f]))}</td>" for f in factors),
                 f"<td>{row['n']}</td>"]
        for outcome in outcomes:
            mean, low, high = (format_value(outcome, row[f"{outcome}{end}"])
                               for end in ("", "_low", "_high"))
            cells.append(f"<td>{mean} [{low}, {high}]</td>")
        if efficient:
            cells.append(f"<td>{'yes' if row['efficient'] else ''}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(rows) + "</tbody></table>"


def _contrasts_html(contrasts: pd.DataFrame | str | None) -> list[str]:
    """The section of contrasts with the reference point: nothing for a one-point design, the
    reason when they cannot be computed, else one row per other point."""
    if contrasts is None:
        return []
    if isinstance(contrasts, str):
        return ["<h2>Contrasts</h2>", f"<p class='warning'>{html.escape(contrasts)}</p>"]
    reference = html.escape(contrasts["reference"].iloc[0])
    return [f"<h2>Contrasts against '{reference}'</h2>",
            f"<p>Each point's outcome minus that of '{reference}' (the spec's <code>reference</code>, "
            "else the first point), with its 95% t-interval in brackets. Where the two points' runs "
            "were made with the same replicate seeds (common random numbers), the differences are "
            "paired by seed and the interval is that of the per-seed differences, which leaves out "
            "what the seeds share; otherwise the runs are independent samples and the interval is "
            "Welch's. <em>method</em> says which, with the number of seeds paired. Unrounded values "
            "are in <a href='contrasts.csv'>contrasts.csv</a>.</p>",
            contrast_table_html(contrasts)]


def contrast_table_html(contrasts: pd.DataFrame) -> str:
    """One row per point but the reference: the method, and each outcome's difference [low, high]."""
    outcomes = list(dict.fromkeys(contrasts["outcome"]))
    head = ["point", "method", *(f"{outcome_label(o)}: difference" for o in outcomes)]
    rows = ["<table id='contrasts'><thead><tr>"
            + "".join(f"<th class='label'>{html.escape(h)}</th>" if i < 2 else
                      f"<th>{html.escape(h)}</th>" for i, h in enumerate(head))
            + "</tr></thead><tbody>"]
    for point, group in contrasts.groupby("point", sort=False):
        cells = [f"<td class='label'>{html.escape(point)}</td>",
                 f"<td class='label'>{html.escape(group['method'].iloc[0])}</td>"]
        for row in group.itertuples():
            difference, low, high = (format_value(row.outcome, v)
                                     for v in (row.difference, row.ci_low, row.ci_high))
            cells.append(f"<td>{difference} [{low}, {high}]</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(rows) + "</tbody></table>"


def _facts(results: Results) -> str:
    spec = results.spec
    provenance = {}
    if results.folder.provenance_path.is_file():
        provenance = json.loads(results.folder.provenance_path.read_text())
    facts = {
        "design": f"{spec.design_kind}, {len(results.points)} points "
                  f"({', '.join(results.factors) or 'nothing varied'})",
        "runs": f"{len(results.summary)} finished of {results.planned} planned",
        "horizon": f"{spec.days} days" + (f" from {spec.start_date}" if spec.start_date else ""),
        "replicates": f"{results.points['n'].min()}–{results.points['n'].max()} per point"
                      if results.points["n"].nunique() > 1 else f"{results.points['n'].iloc[0]} per point",
        **({"bands": DESIGNS[spec.design_kind].pooled_bands.format(
            points=len(results.points), replicates=results.points["n"].max())}
           if DESIGNS[spec.design_kind].pooled_bands else {}),
        "model": f"code hash {provenance.get('model_hash', '?')}, git {provenance.get('git_commit', '?')}",
        "report made": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts.items()) + "</dl>"


def _figure_html(folder: Path, png: Path, embed: bool) -> str:
    """A figure linked relative to the page (with its SVG), or embedded as a data URI."""
    prefix = "outcomes_vs_" if png.stem.startswith("outcomes_vs_") else ""
    caption = CAPTIONS.get(png.stem) or CAPTIONS.get(prefix, "")
    if embed:
        source, svg = f"data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}", ""
    else:
        source = png.relative_to(folder).as_posix()
        svg = f" (<a href='{png.with_suffix('.svg').relative_to(folder).as_posix()}'>SVG</a>)"
    return (f"<figure id='{png.stem}'><img src='{source}' alt='{html.escape(png.stem)}'>"
            f"<figcaption><strong>{html.escape(png.stem)}</strong>: {html.escape(caption)}{svg}"
            "</figcaption></figure>")
