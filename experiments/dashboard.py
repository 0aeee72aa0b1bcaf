"""The browser dashboard (``wasim dashboard``): Mesa's SolaraViz on ``WhatsAppMarket``.

Two pages (Solara routes):

- **Live run** (``/``): the main levers, the population, the seed and the dated events as
  SolaraViz controls (Reset rebuilds the model from them); Mesa's plot components draw the
  model's DataCollector columns as the model steps, one step a day; a text panel shows today's
  figures (``model.today``) and the settings of the run on screen.
- **Result folders** (``/results``): a folder under the results root (``results/``, or
  ``$WASIM_RESULTS``), an outcome and design points; each point's daily series with its 95%
  t-band over replicates, read from the finished run files by ``experiments.results`` as
  ``wasim plot`` reads them, so a sweep still running shows the runs it has so far.

Plots are Matplotlib images drawn on the server (Mesa's default backend): the page then needs
no script from a CDN, only the files solara-assets installs, and works offline. Needs the
``viz`` extra (``pip install -e ".[viz]"``); serve it with ``wasim dashboard``.
"""

from __future__ import annotations

import html
import os
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from mesa import DataCollector
from mesa.visualization import SolaraViz, make_plot_component

from experiments.checks import SpecError
from experiments.figure_style import (
    PALETTE,
    STYLE,
    CountFormatter,
    count,
    format_value,
    money,
    outcome_formatter,
    outcome_label,
    percent,
)
from experiments.results import SMOOTH_DAYS, Results, load_results, mean_ci
from model import metrics
from model.ledger import STREAMS
from model.market import WhatsAppMarket
from model.params import DATA_SHARING_MODES, PARAMS, REGIONS, ParameterError, resolve

DASHBOARD_USERS = 20_000
"""Users of the live run at start. A day of 20,000 users takes 10-25 ms here (tests/
test_dashboard.py holds it under 200 ms); redrawing the page after it costs more than the day."""

RESULTS_ENV = "WASIM_RESULTS"
"""Environment variable naming the folder whose result folders the second page lists."""


# --- the model the dashboard drives -------------------------------------------------------------
def users_left(model: WhatsAppMarket) -> int:
    """Users who have left and not come back: beside active and multi-homing, the third state."""
    return model.today["users_churned_total"] - model.today["users_returned_total"]


class DashboardMarket(WhatsAppMarket):
    """``WhatsAppMarket`` as the dashboard's controls build it. Two keywords of its own: the
    Business Platform's marketing and utility prices as multiples of the schema's 2025-26 rate
    card in every region (scaled together, as the ``messaging_pricing`` experiment scales
    them), passed to the model as its ``price_*`` parameters; and the seed as typed in a text
    field. Everything else is the model's own keywords; its DataCollector also records
    ``users_left``.

    Reset must not fail on a combination the controls allow but the schema does not (an
    ultimatum's deadline before it, a seed that is not a number): that would replace the page
    with a traceback. Such a run starts without the ultimatum (or with seed 1), and
    ``not_applied`` says so; the text panel shows it."""

    def __init__(self, *, rng=None, scenario=None, marketing_price_factor: float = 1.0,
                 utility_price_factor: float = 1.0, **params):
        # scenario: Mesa's Reset passes an empty mesa Scenario; this model's parameters are keywords
        self.not_applied: list[str] = []
        try:
            self.seed = seed_from_text(rng)
        except ParameterError as err:
            self.not_applied.append(f"{err}; this run uses seed 1")
            self.seed = 1
        self.price_factors = {"marketing": float(marketing_price_factor),
                              "utility": float(utility_price_factor)}
        for category, factor in self.price_factors.items():
            for region in REGIONS:
                name = f"price_{category}_{region}_usd"
                params[name] = PARAMS[name].default * factor
        try:
            resolve(params)
        except ParameterError as err:
            if err.field not in ("ultimatum_deadline_day", "postponement_day"):
                raise
            self.not_applied.append(f"{err}; this run has no ultimatum")
            params["ultimatum_day"] = 0
        super().__init__(rng=self.seed, **params)
        self.datacollector = DataCollector(model_reporters=metrics.reporters() | {"users_left": users_left})


def seed_from_text(seed) -> int | None:
    """The seed control is a text field: its text as an integer >= 0 (None: a random seed)."""
    if seed is None or isinstance(seed, int):
        return seed
    text = str(seed).strip()
    if not text.isdigit():
        raise ParameterError("seed", f"got {seed!r}; allowed: an integer >= 0")
    return int(text)


# --- the controls ---------------------------------------------------------------------------------
def _slider(name: str, label: str, step, low=None, high=None, value=None) -> dict:
    """A slider over a schema parameter's range (or ``low`` to ``high``), starting at its
    default. The browser snaps a slider to its steps, so the start must be on one
    (tests/test_dashboard.py checks)."""
    p = PARAMS[name]
    kind = "SliderInt" if p.kind is int else "SliderFloat"
    return {"type": kind, "label": label, "value": p.default if value is None else value,
            "min": p.low if low is None else low, "max": p.high if high is None else high, "step": step}


def _factor(label: str) -> dict:
    return {"type": "SliderFloat", "label": label, "value": 1.0, "min": 0.0, "max": 3.0, "step": 0.1}


MODEL_PARAMS: dict[str, dict] = {
    "rng": {"type": "InputText", "label": "seed", "value": "1"},
    "n_users": _slider("n_users", "users", 1000, low=1000, high=100_000, value=DASHBOARD_USERS),
    # the levers
    "ad_load": _slider("ad_load", "Status ad load", 0.01, high=0.3),
    "data_sharing": {"type": "Select", "label": "data sharing", "value": PARAMS["data_sharing"].default,
                     "values": list(DATA_SHARING_MODES)},
    "sponsored_cap_per_week": _slider("sponsored_cap_per_week", "sponsored cap/wk", 1, high=14),
    "marketing_cap_per_week": _slider("marketing_cap_per_week", "marketing cap/wk", 1, high=20),
    "marketing_price_factor": _factor("marketing price ×"),
    "utility_price_factor": _factor("utility price ×"),
    "p2p_fee_rate": _slider("p2p_fee_rate", "P2P fee", 0.001, high=0.1),
    "merchant_fee_rate": _slider("merchant_fee_rate", "merchant fee", 0.0001, high=0.1),
    # dated events (days from 1; 0: none)
    "media_shock_day": _slider("media_shock_day", "media shock day", 1, high=365),
    "ultimatum_day": _slider("ultimatum_day", "ultimatum day", 1, high=365),
    "ultimatum_deadline_day": _slider("ultimatum_deadline_day", "deadline day", 1, high=365, value=60),
    "postponement_day": _slider("postponement_day", "postponed on day", 1, high=365),
    "outage_day": _slider("outage_day", "outage day", 1, high=365),
    "outage_hours": _slider("outage_hours", "outage hours", 1.0),
}
"""SolaraViz's controls: every key is a keyword of ``DashboardMarket`` (Reset rebuilds the
model from them); ranges from the schema, narrowed where it allows far more than a dashboard
needs; short labels, since the sidebar is narrow (the text panel spells the run's settings
out). The deadline starts at day 60, so that an ultimatum set before it is valid at once;
without an ultimatum it is unused (``model.params``)."""

EVENTS_HELP = ("Set the levers and events, then press Reset to start a new run with them. Event "
               "days count from day 1; 0 means no such event. An ultimatum's deadline comes after "
               "it, and a postponement falls between the two. Each step is a day.")


def initial_values() -> dict:
    """The controls' starting values, as the first model is built from them."""
    return {name: control["value"] for name, control in MODEL_PARAMS.items()}


# --- the live plots --------------------------------------------------------------------------------
def _short(column: str) -> str:
    for prefix in ("revenue_", "churn_", "rival_signups_", "users_", "mean_"):
        column = column.removeprefix(prefix)
    return column.replace("_", " ")


def _finish(title: str, formatter=None, legend: str | None = None, log: bool = False):
    """A live plot's post-process of Mesa's Matplotlib axes: title, tick format, a legend
    beside the axes naming the columns without their prefix (when there are several), and the
    lines moved one step right, so that the x axis counts days from 1 as the text panel does
    (Mesa draws the DataCollector's rows from 0 and labels the axis "Step": a step is a day)."""

    def post_process(ax) -> None:
        ax.figure.set_size_inches(6, 3)
        ax.set_title(title, fontsize="medium")
        for line in ax.lines:
            line.set_xdata(np.asarray(line.get_xdata(), dtype=float) + 1)
        ax.relim()
        ax.autoscale_view()
        if log and any((np.asarray(line.get_ydata(), dtype=float) > 0).any() for line in ax.lines):
            ax.set_yscale("log")  # not before the first day: nothing to scale
        ax.yaxis.set_major_formatter(formatter or CountFormatter())
        ax.grid(alpha=0.3)
        handles, names = ax.get_legend_handles_labels()
        if len(handles) > 1:
            ax.legend(handles, [_short(n) for n in names], title=legend, fontsize="small",
                      title_fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        elif ax.get_legend() is not None:
            ax.get_legend().remove()

    return post_process


def _plot(measure: dict[str, str], title: str, legend: str | None = None, formatter=None, log=False):
    return make_plot_component(measure, post_process=_finish(title, formatter, legend, log))


PLOTS = [
    _plot({"users_active": PALETTE[0], "users_multihoming": PALETTE[1], "users_left": PALETTE[3]},
          "users by state (sample, log scale)", "users", FuncFormatter(count), log=True),
    _plot({f"revenue_{s}": PALETTE[i % len(PALETTE)] for i, s in enumerate(STREAMS)},
          "revenue a day by stream (USD)", "stream", FuncFormatter(money)),
    _plot({"churn_ads": PALETTE[0], "churn_privacy": PALETTE[1], "churn_peers": PALETTE[2],
           "churn_other": PALETTE[8]}, "users leaving a day, by cause", "cause"),
    _plot({"rival_signups_privacy": PALETTE[2], "rival_signups_feature": PALETTE[4]},
          "sign-ups on the rival apps a day", "rival app"),
    _plot({"mean_concern": PALETTE[3], "mean_annoyance": PALETTE[1], "media_attention": PALETTE[7]},
          "mean concern, annoyance and media attention", "stock", FuncFormatter(lambda v, _: f"{v:.3g}")),
    _plot({"share_data_optout": PALETTE[5]}, "users opted out of data sharing",
          formatter=FuncFormatter(percent)),
]
"""The live plots: Mesa's ``make_plot_component`` on the model's DataCollector columns, each
column in its colour."""


# --- the text panel ------------------------------------------------------------------------------
TODAY = [("users_active", "active users"), ("users_multihoming", "also on a rival app"),
         ("users_left", "left, not back"), ("churn_today", "left today"),
         ("rival_signups_privacy", "sign-ups, privacy rival"),
         ("rival_signups_feature", "sign-ups, feature rival"),
         ("revenue_total", "revenue today"), ("revenue_per_user", "revenue per active user"),
         ("share_data_optout", "opted out of sharing"), ("mean_concern", "mean concern"),
         ("mean_annoyance", "mean annoyance"), ("media_attention", "media attention"),
         ("data_sharing_mode", "data sharing"), ("ultimatum_pending", "ultimatum pending")]
"""The text panel's figures: a column of ``model.today`` and its label."""


def today_figures(model: WhatsAppMarket) -> list[tuple[str, str]]:
    """Today's figures as (label, text), in TODAY's order; none before the first day."""
    if not model.today:
        return []
    today = model.today | {"users_left": users_left(model)}
    figures = []
    for column, label in TODAY:
        value = today[column]
        if column == "data_sharing_mode":
            shown = DATA_SHARING_MODES[int(value)]
        elif column == "ultimatum_pending":
            shown = "yes" if value else "no"
        elif column.startswith(("mean_", "media_")):
            shown = f"{value:.3f}"
        else:
            shown = format_value(column, value)
        figures.append((label, shown))
    return figures


def run_settings(model: DashboardMarket) -> str:
    """The settings of the run on screen, in words (the sliders show no numbers at rest)."""
    p = model.p
    events = [f"{name} on day {day}" for name, day in (
        ("media shock", p.media_shock_day), ("ultimatum", p.ultimatum_day),
        ("deadline", p.ultimatum_deadline_day if p.ultimatum_day else 0),
        ("postponement", p.postponement_day if p.ultimatum_day else 0),
        (f"{p.outage_hours:g} h outage", p.outage_day)) if day]
    return (f"seed {model.seed}, {p.n_users:,} users; Status ad load {p.ad_load:g}, data sharing "
            f"{p.data_sharing}; caps a week: {p.sponsored_cap_per_week} sponsored, "
            f"{p.marketing_cap_per_week} marketing; prices × {model.price_factors['marketing']:g} "
            f"marketing, × {model.price_factors['utility']:g} utility; fees {p.p2p_fee_rate:.2%} P2P, "
            f"{p.merchant_fee_rate:.2%} merchant; events: {', '.join(events) or 'none'}")


def today_html(model: DashboardMarket) -> str:
    """The text panel: the day, today's figures two to a row, and the run's settings."""
    figures = today_figures(model)
    if not figures:
        head = "<b>Day 0</b>: no day simulated yet; press Step or ▶."
    else:
        head = f"<b>Day {model.today['day']}</b>"
    cells = [f"<td>{html.escape(label)}</td><td class='value'>{html.escape(text)}</td>"
             for label, text in figures]
    rows = "".join(f"<tr>{''.join(cells[i:i + 2])}</tr>" for i in range(0, len(cells), 2))
    problems = "".join(f"<p style='color: #b00020'>Not applied: {html.escape(text)}</p>"
                       for text in model.not_applied)
    return (f"<div class='wasim-today' style='font-size: 13px'>{problems}<p>{head}</p>"
            f"<table style='border-spacing: 12px 2px'>{rows}</table>"
            f"<p style='color: #555'>This run: {html.escape(run_settings(model))}</p></div>")


def TodayPanel(model: DashboardMarket):
    """The text panel (plain HTML: solara's Markdown would ask a CDN for its maths fonts)."""
    return solara.HTML(tag="div", unsafe_innerHTML=today_html(model))


COMPONENTS = [(TodayPanel, 0), *PLOTS]


@solara.component
def LivePage(model: solara.Reactive[DashboardMarket] | None = None):
    """One live run per browser session, driven by SolaraViz's Reset, ▶ and Step (``model``:
    a reactive model to drive instead, which a test can read)."""
    solara.Title("wasim: a live run")
    run = solara.use_memo(lambda: DashboardMarket(**initial_values()) if model is None else model, [])
    SolaraViz(run, components=COMPONENTS, model_params=MODEL_PARAMS,
              name="wasim: WhatsAppMarket, a live run", play_interval=150)
    with solara.Sidebar(), solara.Card("How to"):
        solara.Text(EVENTS_HELP)


# --- the result folders ----------------------------------------------------------------------------
def results_root() -> Path:
    return Path(os.environ.get(RESULTS_ENV, "results"))


def result_folders(root: Path) -> list[str]:
    """The folders under ``root`` that hold a spec.toml (``wasim run`` writes it first, so a
    sweep still running is listed), by name."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "spec.toml").is_file())


def read_folder(path: Path) -> tuple[Results | None, str]:
    """The finished runs of a result folder and what to say about it: what is missing (a sweep
    still running, an interrupted one), or why nothing can be shown."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            results = load_results(path, doing="showing")
        except SpecError as err:
            return None, str(err)
    return results, " ".join(str(w.message) for w in caught)


def series_columns(results: Results) -> list[str]:
    """The daily columns the stored runs give (as ``wasim plot`` reads them)."""
    return [c for c in results.daily.columns if c not in ("day", "point", "replicate")]


def point_bands(results: Results, outcome: str, points: list[int]) -> pd.DataFrame:
    """Each point's daily ``outcome``: mean and 95% t-interval over its replicates, day by day
    (``mean_ci``); flows (revenue, churn) as each run's trailing SMOOTH_DAYS-day mean first."""
    frame = results.smoothed[results.smoothed["point"].isin(points)]
    return mean_ci(frame, outcome, ["point", "day"])


def bands_figure(results: Results, outcome: str, points: list[int]) -> Figure:
    """One line per point, its 95% band around it."""
    bands = point_bands(results, outcome, points)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(10, 5), layout="constrained")
        ax = fig.subplots()
        for i, point in enumerate(points):
            band = bands[bands["point"] == point]
            x = results.time(band["day"])
            label = f"{results.points.loc[point, 'label']} (n = {results.points.loc[point, 'n']})"
            colour = PALETTE[i % len(PALETTE)]
            ax.plot(x, band["mean"], color=colour, label=label)
            ax.fill_between(x, band["low"], band["high"], color=colour, alpha=0.25, linewidth=0)
        flow = outcome.startswith(("revenue_", "churn_"))
        ax.set_title(f"{outcome_label(outcome)}{f' ({SMOOTH_DAYS}-day mean)' if flow else ''}, "
                     f"'{results.spec.name}': mean and 95% CI band over replicates")
        ax.set_xlabel("day of the run" if results.spec.start_date is None else "date")
        ax.yaxis.set_major_formatter(outcome_formatter(outcome))
        ax.legend(title="design point (runs)", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


@solara.component
def ResultsPage():
    """A result folder's daily series by design point, from the runs finished so far."""
    solara.Title("wasim: result folders")
    root = results_root()
    reloads, set_reloads = solara.use_state(0)
    folders = solara.use_memo(lambda: result_folders(root), [root, reloads])
    folder, set_folder = solara.use_state(folders[0] if folders else None)
    results, note = solara.use_memo(lambda: read_folder(root / folder) if folder else (None, ""),
                                    [folder, reloads])
    columns = series_columns(results) if results else []
    outcome, set_outcome = solara.use_state("users_active")
    outcome = outcome if outcome in columns else (columns[0] if columns else None)
    labels = list(results.points["label"]) if results else []
    chosen, set_chosen = solara.use_state(None)
    chosen = [label for label in chosen if label in labels] if chosen else labels[:6]

    with solara.Sidebar(), solara.Card("Result folder"):
        solara.Select("folder", values=folders, value=folder, on_value=set_folder)
        solara.Select("outcome", values=columns, value=outcome, on_value=set_outcome)
        solara.SelectMultiple("design points", all_values=labels, values=chosen, on_value=set_chosen)
        solara.Button("Reload", on_click=lambda: set_reloads(reloads + 1), color="primary")
        solara.Text("Reload reads the runs finished since: a sweep still running fills in.")
    with solara.Column():
        solara.HTML(tag="h3", unsafe_innerHTML=f"Result folders in {html.escape(str(root))}/")
        if not folders:
            solara.Info(f"No result folder in {root}/ yet: `wasim run baseline` makes one.")
            return
        if note:
            (solara.Warning if results is not None else solara.Error)(note)
        if results is None or not chosen:
            return
        points = [results.points.index[labels.index(label)] for label in chosen]
        solara.FigureMatplotlib(bands_figure(results, outcome, points), format="png",
                                dependencies=[folder, reloads, outcome, tuple(chosen)])
        solara.Text(f"{int(results.points['n'].sum())} of {results.planned} runs finished; each "
                    "line is a point's mean over its runs, the band its 95% t-interval.")


routes = [
    solara.Route(path="/", component=LivePage, label="Live run"),
    solara.Route(path="results", component=ResultsPage, label="Result folders"),
]
"""The app's pages (``solara run experiments.dashboard``): the tabs read "Home" and "results"."""
