"""``wasim search``: robust multi-objective search over the policy levers, on the engine.

A search spec is an experiment spec whose ``[design]`` is replaced by a ``[search]`` table: the
levers and their ranges or choices, the objectives (outcomes to maximise or minimise), the
constraints (``churned_share <= 0.05``), and a set of scenarios of uncertain parameters with the
statistic taken over them (the mean, or a percentile: the 10th of revenue is what a cautious
planner can count on, the 90th of churn what she must be ready for).

How it runs (Optuna's ask-and-tell):

1. Optuna's TPE sampler (multi-objective, multivariate) asks for a batch of candidates.
2. The batch is one sweep of the engine (``run_experiment``): every candidate x every scenario x
   the replicates, on common random numbers, so two candidates differ by their levers only. The
   folder's ``spec.toml`` is a ``rows`` design of every candidate x scenario evaluated so far, so
   ``wasim status``, ``plot``, ``report`` and ``compare`` read the folder as any other.
3. Each candidate's objective is the statistic over scenarios of its per-scenario replicate means;
   each constraint's the same for its column. They are told to the study, the constraints through
   ``trial.set_constraint`` (feasible when <= 0), which TPE reads.

Resuming: the study lives in the result folder (``study.journal``, Optuna's
``JournalStorage(JournalFileBackend(...))``) and the runs in ``runs/``. Each trial's sampler is
seeded from the experiment's seed and the trial's number, so a trial's candidate depends only on
the trials told before its batch (and those asked before it in the batch), never on how often the
search was started: a stopped search, run again, asks what an uninterrupted one would have asked,
finds the runs already made and ends where it would have ended. Raising ``trials`` continues the
study; no run is done twice (a run's id is a hash of its parameters and seed).

Outputs: ``candidates.csv`` (every trial: levers, objective statistics with 95% intervals over
replicates, constraint values, feasibility, Pareto membership), ``pareto.csv`` (the feasible
Pareto set, Optuna's ``best_trials``), ``figures/front.png`` (the front among every candidate).

Optuna is imported by the functions that use it: ``wasim`` starts without it.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
from scipy import stats

from experiments.checks import (
    SpecError,
    check_keys,
    coerced,
    error_reason,
    integer_value,
    parameter_range,
    sub_table,
)
from experiments.designs import DESIGNS, design_points
from experiments.lock import FolderLock
from experiments.outcomes import OUTCOMES
from experiments.spec import BUILTIN_DIR, ExperimentSpec, parse_spec
from experiments.storage import ResultFolder, atomic_write
from model.params import PARAMS, REGIONS, ParameterError, resolve

SEARCH_KEYS = {"trials", "batch", "levers", "objectives", "constraints", "statistic", "scenarios", "start"}
DIRECTIONS = ("maximize", "minimize")
DEFAULT_OBJECTIVES = {"revenue_total": "maximize", "churned_share": "minimize"}
SCENARIO_KINDS = ("lhs", "posterior", "rows")
"""Scenarios drawn by Latin hypercube from ranges, drawn from a committed posterior (a CSV or
Parquet file of draws, one column per parameter, an optional ``weight``), or listed."""
STATISTICS = "mean, median, min, max, or a percentile p1 ... p99 (p10: the 10th)"
OPERATORS = ("<=", ">=")
PRICE_FACTORS = {f"{category}_price_factor": tuple(f"price_{category}_{r}_usd" for r in REGIONS)
                 for category in ("marketing", "utility", "authentication")}
"""Rate-card multipliers: a lever that scales one message category's price in every region
from the schema's 2025-26 rate card, as ``messaging_pricing`` and the dashboard scale them."""
STUDY_NAME = "search"
SEARCH_FILE, JOURNAL_FILE, LOCK_FILE = "search.toml", "study.journal", "search.lock"
SEARCH_DIR = BUILTIN_DIR / "searches"
"""Built-in search specs (``policy_search``), apart from the experiments ``wasim run`` takes."""
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(<=|>=)\s*([-+0-9.eE_]+)\s*$")
_SAMPLER_KEY = 0x5EA4C4
"""Spawn-key prefix of the samplers' seeds, so they share no stream with any run's seed."""


# --- the [search] table ----------------------------------------------------------------------
@dataclass(frozen=True)
class Lever:
    """A policy lever: a model parameter (or a rate-card multiplier) and the values it may take,
    a range ``{low, high}`` (optionally ``step``) or a list of choices."""

    name: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def is_int(self) -> bool:
        return self.name in PARAMS and PARAMS[self.name].kind is int

    def suggest(self, trial) -> Any:
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.is_int:
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1))
        return trial.suggest_float(self.name, self.low, self.high, step=self.step)

    def contains(self, value: Any) -> bool:
        """Whether the lever can take ``value`` (on its step, if it has one)."""
        if self.choices is not None:
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not self.low <= value <= self.high:
            return False
        steps = (value - self.low) / self.step if self.step else 0.0
        return abs(steps - round(steps)) < 1e-9 and (not self.is_int or float(value).is_integer())

    def parameters(self, value: Any) -> dict[str, Any]:
        """The model parameters the lever sets at ``value``."""
        if self.name in PRICE_FACTORS:
            return {name: PARAMS[name].default * float(value) for name in PRICE_FACTORS[self.name]}
        return {self.name: value}

    def to_toml(self) -> Any:
        if self.choices is not None:
            return list(self.choices)
        table = {"low": self.low, "high": self.high}
        return table | ({"step": self.step} if self.step is not None else {})


@dataclass(frozen=True)
class Objective:
    outcome: str
    direction: str
    statistic: str


@dataclass(frozen=True)
class Constraint:
    """``outcome <= bound`` (or ``>=``) on the outcome's statistic over scenarios."""

    outcome: str
    operator: str
    bound: float
    statistic: str

    @property
    def text(self) -> str:
        return f"{self.outcome} {self.operator} {self.bound:g}"

    def violation(self, value: float) -> float:
        """Optuna's constraint value: <= 0 when the constraint holds."""
        return value - self.bound if self.operator == "<=" else self.bound - value


@dataclass(frozen=True)
class SearchSpec:
    experiment: ExperimentSpec
    """Name, horizon, replicates, seed and fixed [parameters]; its design is unused."""
    trials: int
    batch: int
    levers: tuple[Lever, ...]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    statistics: dict[str, str]
    """The statistic over scenarios of each objective's and constraint's outcome."""
    scenarios: tuple[dict[str, Any], ...]
    """The uncertain parameters' values of each scenario; one empty scenario when none vary."""
    scenario_source: dict[str, Any] = field(default_factory=dict)
    """How the scenarios were drawn (kind, samples, factors or file), for the record."""
    start: tuple[dict[str, Any], ...] = ()
    """Candidates evaluated first (today's policy, a grid's best), before the sampler's own."""

    @property
    def columns(self) -> list[str]:
        """The outcomes the search reads: objectives', then constraints' not already among them."""
        return list(dict.fromkeys([o.outcome for o in self.objectives]
                                  + [c.outcome for c in self.constraints]))

    def to_toml_dict(self) -> dict[str, Any]:
        """The resolved search spec: scenarios listed (``kind = "rows"``), so the folder holds
        what was run even if a posterior file changes later."""
        experiment = {k: v for k, v in self.experiment.to_toml_dict()["experiment"].items()
                      if k != "common_random_numbers"}
        search: dict[str, Any] = {"trials": self.trials, "batch": self.batch,
                  "levers": {lever.name: lever.to_toml() for lever in self.levers},
                  "objectives": {o.outcome: o.direction for o in self.objectives},
                  "constraints": [c.text for c in self.constraints],
                  "statistic": dict(self.statistics)}
        if self.start:
            search["start"] = [dict(candidate) for candidate in self.start]
        if self.scenarios != ({},):
            search["scenarios"] = {"kind": "rows", "points": [dict(s) for s in self.scenarios]}
            if self.scenario_source:
                search["scenarios"]["drawn_from"] = self.scenario_source
        return {"experiment": experiment, "parameters": dict(self.experiment.parameters),
                "search": search}

    def identity(self) -> dict[str, Any]:
        """What fixes the trials and runs: all but the number of trials (more extend the study)
        and the description."""
        data = self.to_toml_dict()
        data["experiment"].pop("description", None)
        data["search"].pop("trials")
        data["search"].get("scenarios", {}).pop("drawn_from", None)
        return json.loads(json.dumps(data, sort_keys=True, default=str))


def load_search(path_or_name: str, overrides: dict[str, Any] | None = None,
                trials: int | None = None) -> SearchSpec:
    """A search spec by built-in name or path to a TOML file; ``overrides`` are ``--set``
    values for [parameters], ``trials`` (``--trials``) replaces ``search.trials``."""
    path = builtin_searches().get(path_or_name) or Path(path_or_name)
    if not path.is_file():
        raise SpecError("SPEC", f"no built-in search or file {path_or_name!r}; built-in: "
                                f"{', '.join(builtin_searches()) or 'none'}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise SpecError(str(path), f"not valid TOML: {err}") from err
    data.setdefault("experiment", {}).setdefault("name", path.stem)
    data.setdefault("parameters", {}).update(overrides or {})
    if trials is not None:
        if trials < 1:
            raise SpecError("--trials", f"got {trials}; allowed: an integer >= 1")
        data.setdefault("search", {})["trials"] = trials
    return parse_search(data, path.parent)


def builtin_searches() -> dict[str, Path]:
    """The built-in search specs by name: those of ``experiments/searches/`` with a [search]."""
    return {p.stem: p for p in sorted(SEARCH_DIR.glob("*.toml")) if "search" in tomllib.loads(p.read_text())}


def parse_search(data: dict[str, Any], base: Path | None = None) -> SearchSpec:
    """Check a search spec given as a dict (the parsed TOML); ``base`` is the folder relative
    paths (a posterior file) are read from. Every mistake names its field (``SpecError``)."""
    check_keys(data, {"experiment", "parameters", "search"}, "")
    exp = dict(sub_table(data, "experiment"))
    if exp.get("common_random_numbers", True) is not True:
        raise SpecError("experiment.common_random_numbers",
                        f"got {exp['common_random_numbers']!r}; allowed: true (a search compares "
                        "candidates on common random numbers)")
    if isinstance(exp.get("replicates"), dict):
        raise SpecError("experiment.replicates", "got a table; allowed: an integer >= 1 (a search "
                                                 "gives every candidate the same replicates)")
    if "reference" in exp:
        raise SpecError("experiment.reference", "unknown key for a search; the candidates are "
                                                "compared in candidates.csv and pareto.csv")
    exp["common_random_numbers"] = True
    experiment = parse_spec({"experiment": exp, "parameters": sub_table(data, "parameters")})
    fixed = experiment.parameters

    search = sub_table(data, "search")
    check_keys(search, SEARCH_KEYS, "search.")
    trials = integer_value(search, "trials", 32, 1, "search.")
    batch = integer_value(search, "batch", 8, 1, "search.")
    scenario_factors, scenarios, source = _scenarios(sub_table(search, "scenarios", "search."), fixed,
                                                     experiment.seed, base)
    levers = _levers(sub_table(search, "levers", "search."), fixed, scenario_factors)
    statistic = search.get("statistic", "mean")
    objectives_raw = sub_table(search, "objectives", "search.") if "objectives" in search \
        else DEFAULT_OBJECTIVES
    if not objectives_raw:
        raise SpecError("search.objectives", "empty; allowed: a table of outcomes with maximize or "
                                             "minimize, e.g. {revenue_total = \"maximize\"}")
    constraints_raw = search.get("constraints", [])
    if not isinstance(constraints_raw, list):
        raise SpecError("search.constraints", f"got {constraints_raw!r}; allowed: a list of texts "
                                              "such as \"churned_share <= 0.05\"")
    columns = list(objectives_raw) + [_constraint_column(c, i) for i, c in enumerate(constraints_raw)]
    statistics = _statistics(statistic, columns)
    objectives = tuple(_objective(name, direction, statistics) for name, direction in objectives_raw.items())
    constraints = tuple(_constraint(text, i, statistics) for i, text in enumerate(constraints_raw))
    start = _start(search.get("start", []), levers)
    return SearchSpec(experiment, trials, batch, levers, objectives, constraints, statistics,
                      scenarios, source, start)


def _start(raw: Any, levers: tuple[Lever, ...]) -> tuple[dict[str, Any], ...]:
    """``start = [{ad_load = 0.05, ...}, ...]``: candidates to evaluate first, each giving every
    lever a value it can take."""
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise SpecError("search.start", f"got {raw!r}; allowed: a list of tables giving every lever "
                                        "a value, e.g. [{ad_load = 0.05, data_sharing = \"opt_out\"}]")
    by_name = {lever.name: lever for lever in levers}
    for i, candidate in enumerate(raw):
        for name, value in candidate.items():
            if name not in by_name:
                raise SpecError(f"search.start[{i}].{name}", f"not a lever; allowed: {', '.join(by_name)}")
            if not by_name[name].contains(value):
                raise SpecError(f"search.start[{i}].{name}", f"got {value!r}; allowed: a value of the "
                                                             f"lever, {by_name[name].to_toml()!r}")
        if missing := [name for name in by_name if name not in candidate]:
            raise SpecError(f"search.start[{i}]", f"no value for {', '.join(missing)}; a start "
                                                  "candidate gives every lever one")
    return tuple({lever.name: raw_value(c[lever.name], lever) for lever in levers} for c in raw)


def raw_value(value: Any, lever: Lever) -> Any:
    """A start value in the lever's type (an integer lever's 2.0 is 2)."""
    if lever.choices is not None:
        return value
    return int(value) if lever.is_int else float(value)


def _levers(raw: dict[str, Any], fixed: dict[str, Any], scenario_factors: set[str]) -> tuple[Lever, ...]:
    if not raw:
        raise SpecError("search.levers", "empty; allowed: a table of levers, e.g. "
                                         "{ad_load = {low = 0.0, high = 0.2}, data_sharing = "
                                         "[\"off\", \"opt_out\"]}")
    levers = []
    for name, value in raw.items():
        where = f"search.levers.{name}"
        if name not in PARAMS and name not in PRICE_FACTORS:
            raise SpecError(where, "unknown lever; allowed: a model parameter (see `wasim params`) "
                                   f"or a rate-card multiplier, one of {', '.join(PRICE_FACTORS)}")
        sets = PRICE_FACTORS.get(name, (name,))
        for parameter in sets:
            if parameter in fixed:
                raise SpecError(where, f"{parameter} is also set in [parameters]; set it in one place")
            if parameter in scenario_factors:
                raise SpecError(where, f"{parameter} is also an uncertain factor of "
                                       "search.scenarios; a lever is chosen, a scenario is not")
        levers.append(_price_factor(name, value, where) if name in PRICE_FACTORS
                      else _lever(name, value, where))
    return tuple(levers)


def _lever(name: str, value: Any, where: str) -> Lever:
    param = PARAMS[name]
    if isinstance(value, list):
        if not value:
            raise SpecError(where, "got an empty list; allowed: a non-empty list of choices")
        choices = tuple(coerced(param, v, where) for v in value)
        if len(set(map(repr, choices))) != len(choices):
            raise SpecError(where, f"repeated choices in {value!r}")
        return Lever(name, choices=choices)
    if param.kind in (bool, str):
        raise SpecError(where, f"got {value!r}; allowed: a list of choices, {param.allowed()}")
    step = _step(value, where)
    bounds = parameter_range({k: v for k, v in value.items() if k != "step"}, param, where)
    return Lever(name, bounds["low"], bounds["high"], step)


def _price_factor(name: str, value: Any, where: str) -> Lever:
    """A rate-card multiplier: a range of factors > 0 whose prices the schema allows."""
    if not isinstance(value, dict):
        raise SpecError(where, f"got {value!r}; allowed: a range {{low = 0.5, high = 2.0}} of "
                               "multiples of the 2025-26 rate card")
    step = _step(value, where)
    check_keys(value, {"low", "high", "step"}, where + ".")
    low, high = value.get("low"), value.get("high")
    for end, factor in (("low", low), ("high", high)):
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 0:
            raise SpecError(f"{where}.{end}", f"got {factor!r}; allowed: a number > 0")
        for parameter in PRICE_FACTORS[name]:
            coerced(PARAMS[parameter], PARAMS[parameter].default * factor, f"{where}.{end}")
    if low >= high:
        raise SpecError(f"{where}.low", f"got {low!r}, not below high = {high!r}; allowed: low < high")
    return Lever(name, float(low), float(high), step)


def _step(value: Any, where: str) -> float | None:
    if not isinstance(value, dict) or "step" not in value:
        return None
    step, low, high = value["step"], value.get("low"), value.get("high")
    if isinstance(step, bool) or not isinstance(step, int | float) or not step > 0:
        raise SpecError(f"{where}.step", f"got {step!r}; allowed: a number > 0")
    if isinstance(low, int | float) and isinstance(high, int | float) and step > high - low:
        raise SpecError(f"{where}.step", f"got {step!r}; allowed: at most high - low = {high - low:g}")
    return float(step)


def _scenarios(raw: dict[str, Any], fixed: dict[str, Any], seed: int, base: Path | None
               ) -> tuple[set[str], tuple[dict[str, Any], ...], dict[str, Any]]:
    """The scenarios' factors, their values, and how they were drawn. No table: one scenario,
    the [parameters] as they are."""
    if not raw:
        return set(), ({},), {}
    kind = raw.get("kind")
    if kind not in SCENARIO_KINDS:
        raise SpecError("search.scenarios.kind", f"got {kind!r}; allowed: one of {', '.join(SCENARIO_KINDS)}")
    if kind == "lhs":
        try:
            fields = DESIGNS["lhs"].read(raw, fixed)
        except SpecError as err:
            where = err.field.replace("design.", "search.scenarios.", 1)
            raise SpecError(where, error_reason(err)) from err
        sample = _DesignView(seed=seed, factors=fields["factors"], samples=fields["samples"])
        points = design_points(sample)
        source = {"kind": "lhs", "samples": fields["samples"], "factors": fields["factors"]}
    elif kind == "posterior":
        check_keys(raw, {"kind", "file", "samples"}, "search.scenarios.", " for posterior scenarios")
        points, source = _posterior(raw, fixed, seed, base)
    else:
        check_keys(raw, {"kind", "points", "drawn_from"}, "search.scenarios.", " for rows scenarios")
        try:
            points = DESIGNS["rows"].read({"kind": "rows", "points": raw.get("points")}, fixed)["points"]
        except SpecError as err:
            raise SpecError(err.field.replace("design.", "search.scenarios.", 1), error_reason(err)) from err
        source = raw.get("drawn_from", {})
    for i, point in enumerate(points):
        try:
            resolve({**fixed, **point})
        except ParameterError as err:
            raise SpecError(f"search.scenarios: scenario {i}", error_reason(err)) from err
    factors = {name for point in points for name in point}
    return factors, tuple(points), source


@dataclass
class _DesignView:
    """An LHS design over the scenarios' factors, as ``design_points`` reads one."""

    seed: int
    factors: dict[str, Any]
    samples: int
    design_kind: str = "lhs"
    options: dict[str, Any] = field(default_factory=dict)
    points: list[dict[str, Any]] = field(default_factory=list)


def _posterior(raw: dict[str, Any], fixed: dict[str, Any], seed: int, base: Path | None
               ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``samples`` draws of a posterior file (CSV or Parquet, a column per parameter, an optional
    ``weight``): drawn without replacement, in proportion to the weights, from the experiment's
    seed, and listed in the file's order."""
    name = raw.get("file")
    if not isinstance(name, str) or not name:
        raise SpecError("search.scenarios.file", f"got {name!r}; allowed: the path of a CSV or "
                                                 "Parquet file of posterior draws")
    path = Path(name) if Path(name).is_absolute() or base is None else base / name
    if not path.is_file() and Path(name).is_file():
        path = Path(name)
    try:
        draws = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise SpecError("search.scenarios.file", f"cannot read {path}: {err}") from err
    weights = draws.pop("weight").to_numpy(float) if "weight" in draws else np.ones(len(draws))
    for column in draws.columns:
        if column not in PARAMS:
            raise SpecError("search.scenarios.file", f"{path}: column {column!r} is no model "
                                                     "parameter; allowed: parameters and weight")
        if column in fixed:
            raise SpecError("search.scenarios.file", f"{path}: {column} is also set in [parameters]")
    samples = integer_value(raw, "samples", min(len(draws), 8), 1, "search.scenarios.")
    if samples > len(draws) or not len(draws) or not (weights >= 0).all() or not weights.sum() > 0:
        raise SpecError("search.scenarios.samples", f"got {samples}; allowed: at most the {len(draws)} "
                                                    f"draws of {path}, with weights >= 0 not all 0")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SAMPLER_KEY, 1)))
    chosen = np.sort(rng.choice(len(draws), size=samples, replace=False, p=weights / weights.sum()))
    points = [{c: coerced(PARAMS[c], _plain(draws[c].iloc[i]), f"search.scenarios.file ({path}, row {i})")
               for c in draws.columns} for i in chosen]
    return points, {"kind": "posterior", "file": str(name), "samples": samples}


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value the schema checks."""
    return value.item() if isinstance(value, np.generic) else value


def _constraint_column(text: Any, i: int) -> str:
    match = _CONSTRAINT.match(text) if isinstance(text, str) else None
    if match is None:
        raise SpecError(f"search.constraints[{i}]", f"got {text!r}; allowed: \"OUTCOME <= NUMBER\" or "
                                                    "\"OUTCOME >= NUMBER\", e.g. \"churned_share <= 0.05\"")
    if match.group(1) not in OUTCOMES:
        raise SpecError(f"search.constraints[{i}]", f"unknown column {match.group(1)!r}; allowed: an "
                                                    f"outcome, one of {', '.join(OUTCOMES)}")
    return match.group(1)


def _constraint(text: str, i: int, statistics: dict[str, str]) -> Constraint:
    column, operator, number = _CONSTRAINT.match(text).groups()
    try:
        bound = float(number)
    except ValueError:
        raise SpecError(f"search.constraints[{i}]", f"got {text!r}: {number!r} is no number") from None
    return Constraint(column, operator, bound, statistics[column])


def _objective(name: str, direction: Any, statistics: dict[str, str]) -> Objective:
    if name not in OUTCOMES:
        raise SpecError(f"search.objectives.{name}", f"not an outcome; allowed: one of {', '.join(OUTCOMES)}")
    if direction not in DIRECTIONS:
        raise SpecError(f"search.objectives.{name}", f"got {direction!r}; allowed: one of "
                                                     f"{', '.join(DIRECTIONS)}")
    return Objective(name, direction, statistics[name])


def _statistics(statistic: Any, columns: list[str]) -> dict[str, str]:
    """The statistic over scenarios of each column: one for all (``"mean"``) or a table by
    column, ``mean`` for columns it does not name."""
    if isinstance(statistic, str):
        _check_statistic(statistic, "search.statistic")
        return dict.fromkeys(columns, statistic)
    if not isinstance(statistic, dict):
        raise SpecError("search.statistic", f"got {statistic!r}; allowed: {STATISTICS}, or a table "
                                            "of them by outcome")
    for name, value in statistic.items():
        if name not in columns:
            raise SpecError(f"search.statistic.{name}", "not an objective or constrained outcome; "
                                                        f"allowed: {', '.join(columns)}")
        _check_statistic(value, f"search.statistic.{name}")
    return {column: statistic.get(column, "mean") for column in columns}


def _check_statistic(name: Any, where: str) -> None:
    if name in ("mean", "median", "min", "max"):
        return
    if isinstance(name, str) and re.fullmatch(r"p([1-9]\d?)", name):
        return
    raise SpecError(where, f"got {name!r}; allowed: {STATISTICS}")


# --- statistics over scenarios ---------------------------------------------------------------
def statistic(name: str, values: np.ndarray, axis: int = 0) -> np.ndarray:
    """The statistic ``name`` of ``values`` along ``axis`` (percentiles interpolate linearly)."""
    if name == "mean":
        return np.mean(values, axis=axis)
    if name == "median":
        return np.median(values, axis=axis)
    if name in ("min", "max"):
        return getattr(np, name)(values, axis=axis)
    return np.percentile(values, float(name[1:]), axis=axis)


def robust_value(name: str, outcome: np.ndarray) -> tuple[float, float, float]:
    """``outcome[s, r]`` (scenario s, replicate r) -> the statistic over scenarios of the
    replicate means, and a 95% interval: the t-interval of the statistic computed replicate by
    replicate (on common random numbers, a replicate is one draw of luck shared by every
    candidate), centred on the value. NaN interval with one replicate."""
    value = float(statistic(name, outcome.mean(axis=1)))
    replicates = outcome.shape[1]
    if replicates < 2:
        return value, math.nan, math.nan
    per_replicate = statistic(name, outcome, axis=0)
    half = float(stats.t.ppf(0.975, replicates - 1) * np.std(per_replicate, ddof=1) / math.sqrt(replicates))
    return value, value - half, value + half


# --- running ---------------------------------------------------------------------------------
@dataclass
class SearchResult:
    folder: Path
    candidates: pd.DataFrame
    pareto: pd.DataFrame
    files: list[Path]
    failed: int = 0
    timing: dict[str, float] = field(default_factory=dict)
    """Wall time, time in the engine's sweeps, and the runs' own simulation time (seconds)."""

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def run_search(search: SearchSpec, out: str | Path | None = None, workers: int | None = None,
               fresh: bool = False, log=print, *, backend: str = "local", scheduler: str | None = None,
               time_limit_s: float | None = None) -> SearchResult:
    """Run (or continue) ``search`` into its result folder; return its candidates and Pareto set.

    Every batch of candidates is one ``run_experiment`` sweep. A folder holding another search
    (or an experiment that is not a search) is refused (exit 2) unless ``fresh``. Failed runs
    stop the search before their batch is told (exit 1); the next call retries them."""
    from experiments.runner import check_options, run_experiment

    started = time.perf_counter()
    check_options(workers, backend, scheduler, time_limit_s)
    folder = ResultFolder(out or Path("results") / search.experiment.name)
    lock = FolderLock(folder.path, log=log)
    lock.path = folder.path / LOCK_FILE  # the search's own lock; each sweep takes run.lock
    with lock:
        _prepare(folder, search, fresh)
        study = _study(folder, search)
        timing = {"sweeps_s": 0.0, "runs_s": 0.0}
        failed = 0
        while (batch := _next_batch(study, search)) is not None:
            trials, first = batch
            log(f"batch of trials {first}-{first + len(trials) - 1} of {search.trials}: "
                f"{len(trials)} candidates x {len(search.scenarios)} scenarios x "
                f"{search.experiment.replicates} replicates")
            spec, points = engine_spec(search, _candidates(study))
            _extend_spec(folder, spec)
            sweep_started = time.perf_counter()
            result = run_experiment(spec, folder.path, workers, log=log, backend=backend,
                                    scheduler=scheduler, time_limit_s=time_limit_s)
            timing["sweeps_s"] += time.perf_counter() - sweep_started
            timing["runs_s"] += _runs_time(folder, result.done)
            if result.failed:
                failed = len(result.failed)
                log(f"{failed} runs failed: the batch is not told; `wasim search` again retries them")
                break
            table = evaluate(search, spec, points, result.summary)
            _tell(study, search, trials, table)
        candidates = candidate_table(search, study, folder)
        pareto = candidates[candidates["pareto"]].reset_index(drop=True)
        files = write_outputs(folder, search, candidates, pareto)
    timing["wall_s"] = time.perf_counter() - started
    return SearchResult(folder.path, candidates, pareto, files, failed, timing)


def _runs_time(folder: ResultFolder, run_ids: list[str]) -> float:
    """The simulation time of the runs just made, as their records give it."""
    return sum((folder.read_record(run_id) or {}).get("elapsed_s", 0.0) for run_id in run_ids)


def _prepare(folder: ResultFolder, search: SearchSpec, fresh: bool) -> None:
    """Make the folder the search's: refuse one holding another search or an experiment; with
    ``fresh``, discard what it holds first."""
    search_path = folder.path / SEARCH_FILE
    if fresh and folder.path.exists():
        for part in (folder.runs_dir, folder.failed_dir, folder.figures_dir, folder.path / "discover"):
            shutil.rmtree(part, ignore_errors=True)
        for name in (SEARCH_FILE, JOURNAL_FILE, "spec.toml", "summary.parquet", "provenance.json",
                     "candidates.csv", "pareto.csv", "report.html", "outcomes.csv", "contrasts.csv"):
            (folder.path / name).unlink(missing_ok=True)
    if search_path.exists():
        try:
            old = parse_search(tomllib.loads(search_path.read_text())).identity()
        except (ValueError, OSError) as err:
            raise SpecError("--out", f"{search_path} is damaged ({err}); restore it, or start again "
                                     "with --fresh (which discards the folder's runs)") from err
        if old != search.identity():
            raise SpecError("--out", f"{folder.path} holds another search (levers, objectives, "
                                     "scenarios, horizon, replicates or seed differ); use --fresh to "
                                     "replace it or --out for a new folder")
    elif folder.spec_path.exists():
        raise SpecError("--out", f"{folder.path} holds an experiment that is not a search; use "
                                 "--fresh to replace it or --out for a new folder")
    folder.path.mkdir(parents=True, exist_ok=True)
    atomic_write(search_path, lambda p: p.write_text(tomli_w.dumps(search.to_toml_dict())))


def _extend_spec(folder: ResultFolder, spec: ExperimentSpec) -> None:
    """Give the folder's spec.toml the batch's design before the sweep: the engine refuses a
    folder whose spec differs, and a search's grows by the new candidates' points. Only a
    growth is written: the points already in it must lead the new design, in order."""
    if not folder.spec_path.exists():
        return
    old = parse_spec(folder.read_spec_dict())
    if old.points != spec.points[:len(old.points)]:
        raise SpecError("--out", f"{folder.spec_path} lists points this search never asked for; "
                                 "use --fresh to start the search again")
    atomic_write(folder.spec_path, lambda p: p.write_text(tomli_w.dumps(spec.to_toml_dict())))


def _study(folder: ResultFolder, search: SearchSpec):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(folder.path / JOURNAL_FILE)))
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, load_if_exists=True,
                                directions=[o.direction for o in search.objectives])
    if not study.get_trials(deepcopy=False):
        for candidate in search.start:
            study.enqueue_trial(candidate)
    return study


def _sampler(search: SearchSpec, number: int):
    """Trial ``number``'s sampler: multivariate TPE seeded from the experiment's seed and the
    trial's number, so a trial's candidate never depends on where the search was restarted."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.samplers import TPESampler

    seed = int(np.random.SeedSequence(search.experiment.seed,
                                      spawn_key=(_SAMPLER_KEY, number)).generate_state(1)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return TPESampler(multivariate=True, seed=seed)


def _next_batch(study, search: SearchSpec):
    """The trials of the next batch to evaluate and the first's number, asking those not yet
    asked; None when every trial is told. Batches are fixed by trial number: trials
    ``k * batch`` to ``(k + 1) * batch - 1``."""
    from optuna.trial import Trial, TrialState

    trials = study.get_trials(deepcopy=False)
    open_ = [t.number for t in trials if t.state != TrialState.COMPLETE]
    if not open_ and len(trials) >= search.trials:
        return None
    first = (min(open_) if open_ else len(trials)) // search.batch * search.batch
    end = max(min(first + search.batch, search.trials), first + 1)
    # ask until the batch's trials exist and none waits (start candidates are enqueued, waiting)
    while len(trials) < end or any(t.state == TrialState.WAITING for t in trials[first:end]):
        waiting = [t.number for t in trials if t.state == TrialState.WAITING]
        study.sampler = _sampler(search, waiting[0] if waiting else len(trials))
        trial = study.ask()
        for lever in search.levers:
            lever.suggest(trial)
        trials = study.get_trials(deepcopy=False)
    end = max(end, min(len(trials), first + search.batch))
    # a trial asked before a restart is reopened by its storage id (FrozenTrial keeps it private)
    batch = [Trial(study, t._trial_id) for t in trials[first:end] if t.state != TrialState.COMPLETE]
    return batch, first


def _levers_of(trial, search: SearchSpec) -> dict[str, Any]:
    return {lever.name: trial.params[lever.name] for lever in search.levers}


def _candidates(study) -> list[dict[str, Any]]:
    """Every distinct candidate asked so far (its levers), in order of first asking; start
    candidates still waiting to be asked are not candidates yet."""
    from optuna.trial import TrialState

    seen: dict[str, dict[str, Any]] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.COMPLETE)):
        key = json.dumps(trial.params, sort_keys=True)
        seen.setdefault(key, dict(trial.params))
    return list(seen.values())


def engine_spec(search: SearchSpec, candidates: list[dict[str, Any]]
                ) -> tuple[ExperimentSpec, list[tuple[int, int]]]:
    """The experiment the engine runs: a rows design of every candidate x scenario (candidate
    by candidate), on common random numbers, and each point's (candidate, scenario)."""
    levers = {lever.name: lever for lever in search.levers}
    points, index = [], []
    for c, candidate in enumerate(candidates):
        values = {}
        for name, value in candidate.items():
            values |= levers[name].parameters(value)
        for s, scenario in enumerate(search.scenarios):
            label = f"candidate {c}" + (f", scenario {s}" if len(search.scenarios) > 1 else "")
            points.append({"label": label, **values, **scenario})
            index.append((c, s))
    exp = search.experiment
    spec = parse_spec({"experiment": {"name": exp.name, "description": exp.description,
                                      "days": exp.days, "replicates": exp.replicates,
                                      "seed": exp.seed, "common_random_numbers": True},
                       "parameters": dict(exp.parameters),
                       "design": {"kind": "rows", "points": points}})
    return spec, index


def evaluate(search: SearchSpec, spec: ExperimentSpec, index: list[tuple[int, int]],
             summary: pd.DataFrame) -> dict[int, dict[str, float]]:
    """Each candidate's robust value of every column the search reads, with its interval:
    ``{candidate: {column: value, column_low: ..., column_high: ...}}``."""
    replicates = search.experiment.replicates
    runs = summary.set_index(["point", "replicate"]).sort_index()
    by_candidate: dict[int, list[int]] = {}
    for point, (c, _s) in enumerate(index):
        by_candidate.setdefault(c, []).append(point)
    table = {}
    for c, points in by_candidate.items():
        row = {}
        for column in search.columns:
            outcome = np.array([[runs.loc[(p, r), column] for r in range(replicates)] for p in points])
            value, low, high = robust_value(search.statistics[column], outcome)
            row |= {column: value, f"{column}_low": low, f"{column}_high": high}
        table[c] = row
    return table


def _tell(study, search: SearchSpec, trials: list, table: dict[int, dict[str, float]]) -> None:
    keys = {json.dumps(c, sort_keys=True): i for i, c in enumerate(_candidates(study))}
    for trial in trials:
        row = table[keys[json.dumps(trial.params, sort_keys=True)]]
        for constraint in search.constraints:
            trial.set_constraint(constraint.text, constraint.violation(row[constraint.outcome]))
        study.tell(trial, [row[o.outcome] for o in search.objectives])


# --- outputs ---------------------------------------------------------------------------------
def candidate_table(search: SearchSpec, study, folder: ResultFolder) -> pd.DataFrame:
    """One row per told trial: its number, candidate, levers, every column's robust value with
    its 95% interval, the constraints' values, feasibility, and whether it is on the Pareto set
    (Optuna's ``best_trials``: feasible and not dominated)."""
    from optuna.trial import TrialState

    told = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if not told:
        return pd.DataFrame(columns=["trial", "candidate", "feasible", "pareto"])
    candidates = _candidates(study)
    spec, index = engine_spec(search, candidates)
    summary = folder.summary()
    table = evaluate(search, spec, index, summary[summary["run_id"].isin(_planned_ids(spec, folder))])
    keys = {json.dumps(c, sort_keys=True): i for i, c in enumerate(candidates)}
    best = {t.number for t in study.best_trials}
    rows = []
    for trial in told:
        c = keys[json.dumps(trial.params, sort_keys=True)]
        constraints = {f"constraint: {k}": v for k, v in trial.constraints.items()}
        rows.append({"trial": trial.number, "candidate": c, **_levers_of(trial, search), **table[c],
                     **constraints, "feasible": all(v <= 0 for v in trial.constraints.values()),
                     "pareto": trial.number in best})
    frame = pd.DataFrame(rows)
    first = ~frame.duplicated("candidate")  # a candidate asked twice is one point of the front
    frame["pareto"] &= first
    return frame


def _planned_ids(spec: ExperimentSpec, folder: ResultFolder) -> set[str]:
    from experiments.runs import plan_runs

    return {t.run_id for t in plan_runs(spec, folder.path)}


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


def as_levers(values: pd.DataFrame) -> pd.DataFrame:
    """Varied parameters as levers: the prices of a rate-card multiplier (all its regions at
    the same multiple of the rate card) become one column, ``<category>_price_factor``."""
    values = values.copy()
    for factor, names in PRICE_FACTORS.items():
        if set(names) <= set(values.columns):
            ratios = np.column_stack([values[n].to_numpy(float) / PARAMS[n].default for n in names])
            if np.allclose(ratios, ratios[:, :1], rtol=1e-9):
                values = values.drop(columns=list(names)).assign(**{factor: ratios[:, 0]})
    return values
