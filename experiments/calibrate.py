"""``wasim calibrate``: fit the free behavioural parameters to the targets of SOURCES.md#targets.

What is fitted, within which bounds, and against which targets (each with its SOURCES.md
anchor, value, tolerance and role) is data: ``experiments/calibration/calibration.toml``.

Distance: D = sum over the fitted targets of ((model - value) / scale)^2, where ``model`` is
the target's measure averaged over R replicate runs and ``scale`` its tolerance, the
half-width of the range its source allows (a term of 1 puts the model at the edge of that
range). Checked targets are reported, pass or miss, and stay out of D.

Common random numbers: every evaluation runs the same R seeds, replicate r seeded
``SeedSequence(seed, spawn_key=(r,))`` as in experiments with common random numbers. D then
moves only with the parameters, not with a fresh draw of luck, and Nelder-Mead's comparisons
of two points are not comparisons of noise.

Optimiser: ``scipy.optimize.minimize(method="Nelder-Mead")`` over the fitted parameters
scaled to the unit cube by their bounds. The bounds span at most a factor of 30 and the
targets respond about linearly inside them, so a log scale would gain nothing; in the cube
one simplex step and one tolerance mean the same share of every parameter's plausible range.
The initial simplex steps ``SIMPLEX_STEP`` of each range from the start, and the search stops
after ``max_evals`` evaluations if the simplex has not converged before.

Defaults are committed with ``SIGNIFICANT_DIGITS`` digits, so the final table is run at the
rounded values: ``wasim calibrate --check``, which runs the schema's defaults on the same seeds,
reproduces it once they are committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
from scipy.optimize import minimize

from experiments.checks import (
    SpecError,
    check_keys,
    coerced,
    error_reason,
    parameter_range,
    read_toml,
    sub_table,
    table_array,
    typed_value,
)
from experiments.provenance import source_path, stamp
from experiments.runner import execute_runs, simulate
from experiments.runs import RunTask, plan_runs
from experiments.spec import parse_spec
from model.params import PARAMS, REGIONS, ParameterError, resolve

CONFIG = Path(__file__).parent / "calibration" / "calibration.toml"
SIMPLEX_STEP = 0.1
"""Initial simplex: each vertex moves one parameter by this share of its bounds' range."""
XATOL, FATOL = 0.005, 0.01
"""Nelder-Mead stops when the simplex is within 0.5% of every range and its distances within
0.01 (a hundredth of one target at the edge of its range)."""
SIGNIFICANT_DIGITS = 3
TESTS = ("near", "above", "below")
ROLES = ("fitted", "check")
PAID_MESSAGING = ("revenue_marketing", "revenue_utility", "revenue_authentication", "revenue_service")
"""The Business Platform's per-message streams: SOURCES.md#target-13's 'paid messaging'."""


# --- measures of a run -------------------------------------------------------------------
def dau_over_mau(daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
    return float((daily["users_daily_active"] / daily["users_active"]).mean())


def mau_growth_per_year(daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
    """Net MAU growth from the users on the platform on day 1, per year."""
    first, last = float(daily["users_active"].iloc[0]), float(daily["users_active"].iloc[-1])
    return (last / first - 1) * 365 / (len(daily) - 1)


def paid_messaging_usd_per_year(daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
    return _paid_messaging_usd(daily) * 365 / len(daily)


def click_to_chat_over_paid_messaging(daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
    return float(daily["revenue_click_to_chat"].sum()) / _paid_messaging_usd(daily)


def payments_over_paid_messaging(daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
    return float(daily["revenue_payments"].sum()) / _paid_messaging_usd(daily)


def paid_messaging_growth_per_year(daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
    """exp(365 b) - 1, b the least-squares slope of log daily paid messaging on the day: a
    yearly rate from a run of any length, little moved by a day's noise."""
    paid = daily[list(PAID_MESSAGING)].to_numpy().sum(axis=1)
    slope = np.polyfit(daily["day"].to_numpy(float), np.log(np.maximum(paid, 1e-9)), 1)[0]
    return float(np.expm1(365 * slope))


def providers_over_paid_messaging(daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
    """Solution providers' takings (markups and monthly fees, B4) over paid messaging."""
    return float(daily["provider_takings_total"].iloc[-1]) / _paid_messaging_usd(daily)


def peer_share_of_churn(daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
    """Share of departures put down to contacts who left, in a run without events (calm)."""
    return float(daily["churn_peers"].sum()) / max(float(daily["churn_today"].sum()), 1.0)


def marketing_over_utility_price(daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
    """Ratio of the rate cards' means over regions, weighted by the regions' sizes."""
    weights = np.array([params[f"region_weight_{r}"] for r in REGIONS])
    marketing = np.array([params[f"price_marketing_{r}_usd"] for r in REGIONS])
    utility = np.array([params[f"price_utility_{r}_usd"] for r in REGIONS])
    return float(weights @ marketing / (weights @ utility))


def peer_churn_multiplier(daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
    """The parameter itself: it is set from its source ([nitzan2011social]), the table shows it."""
    return float(params["peer_churn_multiplier"])


def _paid_messaging_usd(daily: pd.DataFrame) -> float:
    return float(daily[list(PAID_MESSAGING)].to_numpy().sum())


RUN_MEASURES: dict[str, Callable[[pd.DataFrame, Mapping[str, Any]], float]] = {
    f.__name__: f for f in (dau_over_mau, mau_growth_per_year, paid_messaging_usd_per_year,
                            paid_messaging_growth_per_year, click_to_chat_over_paid_messaging,
                            payments_over_paid_messaging, providers_over_paid_messaging,
                            peer_share_of_churn, marketing_over_utility_price, peer_churn_multiplier)
}
CHANGE_2016 = "mau_change_2016"
"""Final MAU of the runs that switch data sharing on (``[change_2016] changed``) over those that
stay off (``unchanged``), minus 1: a mean over replicates paired by seed."""
MEASURES = (*RUN_MEASURES, CHANGE_2016)


def measure_run(task: RunTask) -> dict[str, Any]:
    """One run's measures: what a worker sends back instead of the daily rows."""
    daily = simulate(task.parameters, task.days, task.seed_sequence())
    return {"point": task.point, "replicate": task.replicate,
            "mau_final": float(daily["users_active"].iloc[-1]),
            **{name: measure(daily, task.parameters) for name, measure in RUN_MEASURES.items()}}


# --- the calibration file ----------------------------------------------------------------
@dataclass(frozen=True)
class FittedParameter:
    name: str
    low: float
    high: float
    start: float

    def from_unit(self, x: float) -> float:
        return self.low + float(np.clip(x, 0.0, 1.0)) * (self.high - self.low)

    def to_unit(self, value: float) -> float:
        return (value - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class Target:
    name: str
    source: str
    measure: str
    value: float
    scale: float
    test: str
    role: str

    def passes(self, model: float) -> bool:
        if self.test == "above":
            return model > self.value
        if self.test == "below":
            return model < self.value
        return abs(model - self.value) <= self.scale

    def term(self, model: float) -> float:
        """This target's share of the distance."""
        return ((model - self.value) / self.scale) ** 2

    def shown(self) -> str:
        if self.test == "above":
            return f"> {self.value:.4g}"
        if self.test == "below":
            return f"< {self.value:.4g}"
        return f"{self.value:.4g} ± {self.scale:.4g}" if self.scale else f"{self.value:.4g}"


@dataclass(frozen=True)
class Calibration:
    parameters: tuple[FittedParameter, ...]
    targets: tuple[Target, ...]
    change_2016: dict[str, dict[str, Any]]
    """``unchanged`` and ``changed``: the parameters of the two runs of the 2016 check."""
    path: Path

    @property
    def fitted_targets(self) -> list[Target]:
        return [t for t in self.targets if t.role == "fitted"]

    def values_at(self, x: np.ndarray) -> dict[str, float]:
        return {p.name: p.from_unit(xi) for p, xi in zip(self.parameters, x, strict=True)}

    def defaults(self) -> dict[str, float]:
        """The schema's defaults of the fitted parameters: what ``--check`` runs."""
        return {p.name: PARAMS[p.name].default for p in self.parameters}


_TARGET_KEYS = {"name", "source", "measure", "value", "scale", "test", "role"}


def load_calibration(path: Path | None = None) -> Calibration:
    """The calibration file (default ``CONFIG``), checked in full; a mistake names the file, the
    field and what is allowed (``SpecError``, exit code 2)."""
    path = path or CONFIG
    data = read_toml(path, "--config")
    try:
        return _parse(data, path)
    except SpecError as err:
        raise SpecError(f"{path.name}: {err.field}", error_reason(err)) from err


def _parse(data: dict[str, Any], path: Path) -> Calibration:
    check_keys(data, {"parameters", "targets", "change_2016"}, "")
    parameters = tuple(_parameter(raw, f"parameters[{i}]")
                       for i, raw in enumerate(table_array(data, "parameters")))
    names = [p.name for p in parameters]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(f"parameters[{i}].name", f"{name!r} is listed twice; allowed: each once")
    targets = tuple(_target(raw, f"targets[{i}]") for i, raw in enumerate(table_array(data, "targets")))
    if not any(t.role == "fitted" for t in targets):
        raise SpecError("targets", 'no target has role = "fitted"; allowed: at least one')
    needs_change = any(t.measure == CHANGE_2016 for t in targets)
    change = _change_2016(sub_table(data, "change_2016")) if needs_change else {}
    return Calibration(parameters, targets, change, path)


def _parameter(raw: dict[str, Any], where: str) -> FittedParameter:
    """A fitted parameter: a float of the schema, bounds inside its range, a start inside them."""
    check_keys(raw, {"name", "low", "high", "start"}, where + ".")
    name = raw.get("name")
    if name not in PARAMS:
        raise SpecError(where + ".name", f"got {name!r}: unknown parameter; allowed: a float "
                                         f"parameter of `wasim params` ({_suggestion(str(name))})")
    param = PARAMS[name]
    if param.kind is not float:
        raise SpecError(where + ".name", f"got {name!r}, a {param.kind.__name__} parameter; allowed: "
                                         "a float parameter (Nelder-Mead moves continuously)")
    bounds = parameter_range({k: raw[k] for k in ("low", "high") if k in raw}, param, where)
    if "start" not in raw:
        raise SpecError(where + ".start", "missing; a fitted parameter needs a start value")
    start = coerced(param, raw["start"], where + ".start")
    if not bounds["low"] <= start <= bounds["high"]:
        raise SpecError(where + ".start", f"got {start!r}; allowed: a number in "
                                          f"[{bounds['low']:g}, {bounds['high']:g}] (low, high)")
    return FittedParameter(name, bounds["low"], bounds["high"], start)


def _suggestion(name: str) -> str:
    """What ``resolve`` suggests for a name that is no parameter: "did you mean ...", or "no
    similar name" (the parenthesis that ends its message)."""
    try:
        resolve({name: None})
    except ParameterError as err:
        message = error_reason(err)
        return message[message.rfind("(") + 1:].removesuffix(")")
    raise ValueError(f"{name!r} is a parameter")  # callers ask only about unknown names


def _target(raw: dict[str, Any], where: str) -> Target:
    check_keys(raw, _TARGET_KEYS, where + ".")
    prefix = where + "."
    name, source = typed_value(raw, "name", str, None, prefix), typed_value(raw, "source", str, None, prefix)
    measure = _choice(raw, "measure", MEASURES, where)
    test, role = _choice(raw, "test", TESTS, where), _choice(raw, "role", ROLES, where)
    value, scale = _number(raw, "value", where), _number(raw, "scale", where)
    if scale < 0 or (role == "fitted" and scale == 0):
        raise SpecError(prefix + "scale", f"got {scale!r}; allowed: a number > 0 for a fitted "
                                          "target (it divides the error), >= 0 for a check")
    if role == "fitted" and test != "near":
        raise SpecError(prefix + "test", f'got {test!r}; allowed: "near" for a fitted target')
    return Target(name, source, measure, value, scale, test, role)


def _choice(raw: dict[str, Any], key: str, allowed: tuple[str, ...], where: str) -> str:
    value = raw.get(key)
    if value not in allowed:
        raise SpecError(f"{where}.{key}", f"got {value!r}; allowed: one of {', '.join(allowed)}")
    return value


def _number(raw: dict[str, Any], key: str, where: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{where}.{key}", f"got {value!r}; allowed: a number")
    return float(value)


def _change_2016(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    check_keys(raw, {"unchanged", "changed"}, "change_2016.")
    runs = {}
    for side in ("unchanged", "changed"):
        overrides = sub_table(raw, side, "change_2016.")
        try:
            resolve(overrides)
        except ParameterError as err:
            raise SpecError(f"change_2016.{side}.{err.field}", error_reason(err)) from err
        runs[side] = overrides
    return runs


# --- runs and the distance ---------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    users: int = 20_000
    days: int = 365
    replicates: int = 3
    seed: int = 0
    workers: int | None = None
    """Processes running an evaluation's replicates (default all cores); results do not
    depend on it."""


def check_settings(settings: Settings, calibration: Calibration, max_evals: int = 1) -> None:
    """Refuse settings the runs cannot honour, before any run (exit code 2)."""
    try:
        PARAMS["n_users"].coerce(settings.users)
    except ParameterError as err:
        raise SpecError("--users", error_reason(err)) from err
    workers = 1 if settings.workers is None else settings.workers
    for flag, value in (("--days", settings.days), ("--replicates", settings.replicates),
                        ("--max-evals", max_evals), ("--workers", workers)):
        if value < 1:
            raise SpecError(flag, f"got {value}; allowed: an integer >= 1")
    if settings.seed < 0:
        raise SpecError("--seed", f"got {settings.seed}; allowed: an integer >= 0")
    change_day = calibration.change_2016.get("changed", {}).get("data_sharing_change_day", 0)
    if settings.days < change_day:
        raise SpecError("--days", f"got {settings.days}; the 2016 check switches data sharing on day "
                                  f"{change_day} ([change_2016] in {calibration.path.name}); allowed: "
                                  f"days >= {change_day}")


def evaluate(calibration: Calibration, values: Mapping[str, float], settings: Settings,
             measures: set[str]) -> dict[str, float]:
    """Each measure at the fitted ``values``, a mean over the replicates; the two runs of the
    2016 check are added only when ``measures`` asks for their measure."""
    points = {"fit": dict(values)}
    if CHANGE_2016 in measures:
        points |= {side: {**values, **extra} for side, extra in calibration.change_2016.items()}
    runs = run_points(points, settings)
    model = {name: float(np.mean([r[name] for r in runs["fit"]])) for name in RUN_MEASURES}
    if CHANGE_2016 in measures:
        pairs = zip(runs["unchanged"], runs["changed"], strict=True)
        model[CHANGE_2016] = float(np.mean([c["mau_final"] / u["mau_final"] - 1 for u, c in pairs]))
    return model


def run_points(points: Mapping[str, Mapping[str, Any]], settings: Settings) -> dict[str, list[dict]]:
    """The replicates' measures of each labelled point, in replicate order, run through the
    experiment engine's seeds and worker pool. Points that resolve to the same parameters are
    run once (the engine would merge their runs anyway)."""
    resolved = {label: resolve({"n_users": settings.users, **p}) for label, p in points.items()}
    unique: list[dict[str, Any]] = []
    for parameters in resolved.values():
        if parameters not in unique:
            unique.append(parameters)
    spec = parse_spec({
        "experiment": {"name": "calibration", "days": settings.days, "replicates": settings.replicates,
                       "seed": settings.seed, "common_random_numbers": True},
        "design": {"kind": "rows", "points": unique}})
    tasks = plan_runs(spec, Path.cwd())  # the measures come back; no run file is written
    with closing(execute_runs(tasks, measure_run, settings.workers)) as records:
        done = sorted(records, key=lambda r: (r["point"], r["replicate"]))
    return {label: [r for r in done if r["point"] == unique.index(p)] for label, p in resolved.items()}


def distance(model: Mapping[str, float], targets: list[Target]) -> float:
    """Sum of squared scaled errors over ``targets`` (the fitted ones)."""
    return float(sum(t.term(model[t.measure]) for t in targets))


def fit_table(model: Mapping[str, float], targets: tuple[Target, ...]) -> pd.DataFrame:
    """One row per target; ``error`` is model - value in the target's units."""
    return pd.DataFrame([
        {"target": t.name, "source": t.source, "value": t.shown(), "model": model[t.measure],
         "error": model[t.measure] - t.value, "role": t.role,
         "ok": "pass" if t.passes(model[t.measure]) else "miss"}
        for t in targets])


# --- the command -------------------------------------------------------------------------
@dataclass
class Result:
    values: dict[str, float]
    """The fitted parameters the table was run at."""
    table: pd.DataFrame
    distance: float
    settings: Settings
    elapsed_s: float
    made_by: dict
    """``provenance.stamp`` when the run started, before anything was written."""
    trace: pd.DataFrame | None = None
    """The optimiser's evaluations; None for ``--check``."""
    best_distance: float | None = None
    """The optimiser's best distance, before the values were rounded."""


class _BudgetSpent(Exception):
    """Raised by the objective at its ``max_evals``-th call: Nelder-Mead checks its budget only
    between iterations, and an iteration may evaluate several points."""


def calibrate(calibration: Calibration, settings: Settings, max_evals: int, log=print) -> Result:
    """Fit the parameters with Nelder-Mead, then run every target at the rounded best values."""
    check_settings(settings, calibration, max_evals)
    started, made_by = time.perf_counter(), stamp()
    trace = _search(calibration, settings, max_evals, log)
    best = trace.loc[trace["distance"].idxmin()]
    values = {p.name: float(f"{best[p.name]:.{SIGNIFICANT_DIGITS}g}") for p in calibration.parameters}
    log(f"best of {len(trace)} evaluations: distance {best['distance']:.4g}; running every "
        "target at the rounded values")
    result = _table_at(calibration, values, settings, started, made_by)
    result.trace, result.best_distance = trace, float(best["distance"])
    return result


def check(calibration: Calibration, settings: Settings) -> Result:
    """Every target at the schema's defaults: no search."""
    check_settings(settings, calibration)
    return _table_at(calibration, calibration.defaults(), settings, time.perf_counter(), stamp())


def _table_at(calibration: Calibration, values: dict[str, float], settings: Settings,
              started: float, made_by: dict) -> Result:
    model = evaluate(calibration, values, settings, {t.measure for t in calibration.targets})
    return Result(values, fit_table(model, calibration.targets),
                  distance(model, calibration.fitted_targets), settings, time.perf_counter() - started,
                  made_by)


def _search(calibration: Calibration, settings: Settings, max_evals: int, log) -> pd.DataFrame:
    """Nelder-Mead in the unit cube; every evaluation (values, distance, fitted measures)."""
    targets = calibration.fitted_targets
    measures = {t.measure for t in targets}
    rows: list[dict[str, float]] = []

    def objective(x: np.ndarray) -> float:
        if len(rows) == max_evals:
            raise _BudgetSpent
        values, started = calibration.values_at(x), time.perf_counter()
        model = evaluate(calibration, values, settings, measures)
        rows.append({"evaluation": len(rows) + 1, **values, "distance": distance(model, targets),
                     **{t.measure: model[t.measure] for t in targets}})
        log(f"evaluation {len(rows)}/{max_evals}: "
            + ", ".join(f"{name} {value:.4g}" for name, value in values.items())
            + f" -> distance {rows[-1]['distance']:.4g} ({time.perf_counter() - started:.0f} s)")
        return rows[-1]["distance"]

    start = np.array([p.to_unit(p.start) for p in calibration.parameters])
    with suppress(_BudgetSpent):
        minimize(objective, start, method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(start),
                 options={"maxfev": max_evals, "initial_simplex": _simplex(start),
                          "xatol": XATOL, "fatol": FATOL})
    return pd.DataFrame(rows)


def _simplex(start: np.ndarray) -> np.ndarray:
    """The start and one vertex per parameter, SIMPLEX_STEP along it (back, near the upper
    bound), so that every vertex stays inside the cube."""
    steps = np.where(start + SIMPLEX_STEP <= 1.0, SIMPLEX_STEP, -SIMPLEX_STEP)
    return np.vstack([start, start + np.diag(steps)])


def report(result: Result) -> str:
    """The table, the distance and how it is defined; after a search, what to commit."""
    lines = [*_aligned(result.table), "",
             f"distance = sum over fitted targets of ((model - value) / scale)^2 = {result.distance:.4g}"
             f"  ({result.settings.replicates} replicates of {result.settings.users:,} users x "
             f"{result.settings.days} days, seed {result.settings.seed}; {result.elapsed_s:.0f} s)"]
    if result.trace is not None:
        lines += [f"search: {len(result.trace)} evaluations, best distance {result.best_distance:.4g} "
                  f"before rounding to {SIGNIFICANT_DIGITS} digits", "",
                  'defaults to set in model/params.py (source "calibrated: wasim calibrate"):']
        lines += [f"  {name} = {value!r}" for name, value in result.values.items()]
    else:
        lines += ["at the schema's defaults: " + ", ".join(f"{k} = {v!r}" for k, v in result.values.items())]
    return "\n".join(lines)


def _aligned(table: pd.DataFrame) -> list[str]:
    """The table as left-aligned text columns, numbers to 4 digits."""
    text = table.assign(model=table["model"].map("{:.4g}".format),
                        error=table["error"].map("{:+.3g}".format))
    widths = {c: max(len(c), *text[c].map(len)) for c in text}
    return ["  ".join(f"{value:<{widths[c]}}" for c, value in row.items()).rstrip()
            for row in [dict(zip(text, text.columns, strict=True)), *text.to_dict("records")]]


def write_results(out: Path, result: Result, calibration: Calibration, max_evals: int) -> list[Path]:
    """fit.csv (the table), trace.csv (every evaluation) and calibrated.toml (the values, the
    distance, the settings and where they came from)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "fit.csv", out / "trace.csv", out / "calibrated.toml"]
    result.table.to_csv(paths[0], index=False)
    result.trace.to_csv(paths[1], index=False)
    s = result.settings
    paths[2].write_text(tomli_w.dumps({
        "parameters": result.values,
        "fit": {"distance": result.distance, "best_distance_unrounded": result.best_distance,
                "distance_definition": "sum over fitted targets of ((model - value) / scale)^2",
                "evaluations": len(result.trace), "elapsed_s": round(result.elapsed_s, 1)},
        "settings": {"users": s.users, "days": s.days, "replicates": s.replicates, "seed": s.seed,
                     "max_evals": max_evals, "config": source_path(calibration.path)},
        "provenance": result.made_by,
    }))
    return paths
