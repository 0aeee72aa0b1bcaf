"""The ``[search]`` table of a search spec, read and checked in full before anything runs: its
levers (``experiments.search_levers``), objectives, constraints, scenarios of uncertain
parameters, start candidates, and the statistic over scenarios, which ``robust_value`` computes.
Every mistake names its field (``SpecError``, exit code 2).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.checks import SpecError, check_keys, coerced, error_reason, integer_value, sub_table
from experiments.designs import DESIGNS, design_points
from experiments.outcomes import OUTCOMES
from experiments.search_levers import Lever, parse_levers, raw_value
from experiments.spec import BUILTIN_DIR, ExperimentSpec, parse_spec, read_spec_file
from model.params import PARAMS, ParameterError, resolve

SEARCH_KEYS = {"trials", "batch", "levers", "objectives", "constraints", "statistic", "scenarios", "start"}
DIRECTIONS = ("maximize", "minimize")
DEFAULT_OBJECTIVES = {"revenue_total": "maximize", "churned_share": "minimize"}
SCENARIO_KINDS = ("lhs", "posterior", "rows")
"""Scenarios drawn by Latin hypercube from ranges, drawn from a committed posterior (a CSV or
Parquet file of draws, one column per parameter, an optional ``weight``), or listed."""
STATISTICS = "mean, median, min, max, or a percentile p1 ... p99 (p10: the 10th)"
SEARCH_DIR = BUILTIN_DIR / "searches"
"""Built-in search specs (``policy_search``), apart from the experiments ``wasim run`` takes."""
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(<=|>=)\s*([-+0-9.eE_]+)\s*$")
SAMPLER_KEY = 0x5EA4C4
"""Spawn-key prefix of the samplers' seeds (``experiments.search``, one per trial number), so
they share no stream with any run's seed."""
SCENARIO_KEY = 0x5CE7A0
"""Spawn key of the posterior scenarios' draw: apart from every sampler's and run's stream."""


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
    path, data = read_spec_file(path_or_name, builtin_searches(), "SPEC", "search", overrides)
    if trials is not None:
        if trials < 1:
            raise SpecError("--trials", f"got {trials}; allowed: an integer >= 1")
        data["search"] = sub_table(data, "search") | {"trials": trials}
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
    levers = parse_levers(sub_table(search, "levers", "search."), fixed, scenario_factors)
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
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SCENARIO_KEY,)))
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
