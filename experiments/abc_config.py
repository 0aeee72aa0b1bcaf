"""The configuration of ``wasim calibrate --method abc``: which parameters are inferred from
which uniform priors, against which targets (public figures, each with the range its source
allows and the measure of a run it speaks to), at which sizes. It is data,
``experiments/calibration/abc.toml``, checked in full before anything runs or is written: a
mistake names the file, the field and what is allowed (``SpecError``, exit code 2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.calibrate import RUN_MEASURES
from experiments.checks import (
    SpecError,
    check_keys,
    error_reason,
    integer_value,
    read_toml,
    table_array,
    typed_value,
)
from model.metrics import COLUMNS
from model.params import PARAMS, ParameterError, resolve

CONFIG = Path(__file__).parent / "calibration" / "abc.toml"
REDUCTIONS = ("mean", "last", "mean_share_of_active", "sum_per_year", "sum_over_churn", "growth_per_year")
"""How a target's ``column`` becomes one number: its daily mean, its last value, its daily
mean over ``users_active``, its sum per year, its sum over the run's departures, or its growth
per year (exp(365 b) - 1, b the least-squares slope of its log on the day)."""


@dataclass(frozen=True)
class Prior:
    """A uniform prior on [low, high] of a float parameter of the schema."""

    name: str
    low: float
    high: float
    source: str


@dataclass(frozen=True)
class AbcTarget:
    """A public figure: ``value`` with the half-width ``scale`` of the range its source
    allows (the observed range is value ± scale)."""

    name: str
    source: str
    value: float
    scale: float
    measure: str | None = None
    column: str | None = None
    reduce: str | None = None

    @property
    def key(self) -> str:
        """The summary statistic's name in pyabc: the measure, or ``reduce(column)``."""
        return self.measure or f"{self.reduce}({self.column})"

    def of_run(self, daily: pd.DataFrame, params: Mapping[str, Any]) -> float:
        if self.measure is not None:
            return RUN_MEASURES[self.measure](daily, params)
        return reduce_column(daily, self.column, self.reduce)


def reduce_column(daily: pd.DataFrame, column: str, how: str) -> float:
    values = daily[column].to_numpy(float)
    if how == "mean":
        return float(values.mean())
    if how == "last":
        return float(values[-1])
    if how == "mean_share_of_active":
        return float((values / daily["users_active"].to_numpy(float)).mean())
    if how == "sum_per_year":
        return float(values.sum() * 365 / len(values))
    if how == "sum_over_churn":
        return float(values.sum() / max(float(daily["churn_today"].sum()), 1.0))
    if how == "growth_per_year":
        slope = np.polyfit(daily["day"].to_numpy(float), np.log(np.maximum(values, 1e-9)), 1)[0]
        return float(np.expm1(365 * slope))
    raise ValueError(f"unknown reduction {how!r}")  # load_config refuses it first


@dataclass(frozen=True)
class AbcSettings:
    population_size: int = 100
    generations: int = 8
    max_simulations: int = 1300
    """Stop after the generation in which the total (calibration sample included) passes it."""
    replicates: int = 1
    """Runs per evaluation; their measures are averaged."""
    users: int = 20_000
    days: int = 365
    seed: int = 0
    pp_draws: int = 100
    """Posterior predictive: weighted draws from the final particles, one run each."""
    scale_users: tuple[int, ...] = (20_000, 50_000, 100_000)
    scale_replicates: int = 2


@dataclass(frozen=True)
class AbcConfig:
    priors: tuple[Prior, ...]
    targets: tuple[AbcTarget, ...]
    settings: AbcSettings
    fixed: dict[str, Any] = field(default_factory=dict)
    """[parameters]: fixed overrides of the model defaults for every run."""
    path: Path = CONFIG

    def identity(self) -> dict[str, Any]:
        """What fixes the posterior's numbers: a history belongs to one identity."""
        settings = asdict(self.settings)
        for key in ("pp_draws", "scale_users", "scale_replicates"):
            settings.pop(key)
        return {"priors": [asdict(p) for p in self.priors],
                "targets": [{k: v for k, v in asdict(t).items() if v is not None} for t in self.targets],
                "settings": settings, "parameters": self.fixed}

    def with_settings(self, **changes: Any) -> AbcConfig:
        changes = {k: v for k, v in changes.items() if v is not None}
        settings = AbcSettings(**{**asdict(self.settings), **changes})
        _check_settings(settings)
        return AbcConfig(self.priors, self.targets, settings, self.fixed, self.path)


_SETTINGS_KEYS = set(AbcSettings.__dataclass_fields__)
_TARGET_KEYS = {"name", "source", "value", "scale", "measure", "column", "reduce"}


def load_config(path: Path | None = None) -> AbcConfig:
    """The ABC file (default ``CONFIG``), checked in full before anything runs or is written;
    a mistake names the file, the field and what is allowed (``SpecError``, exit code 2)."""
    path = path or CONFIG
    data = read_toml(path, "--config")
    try:
        return parse_config(data, path)
    except SpecError as err:
        raise SpecError(f"{path.name}: {err.field}", error_reason(err)) from err


def parse_config(data: dict[str, Any], path: Path = CONFIG) -> AbcConfig:
    check_keys(data, {"priors", "targets", "settings", "parameters"}, "")
    priors = tuple(_prior(raw, f"priors[{i}]") for i, raw in enumerate(table_array(data, "priors")))
    names = [p.name for p in priors]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(f"priors[{i}].name", f"{name!r} is listed twice; allowed: each once")
    targets = tuple(_target(raw, f"targets[{i}]") for i, raw in enumerate(table_array(data, "targets")))
    keys = [t.key for t in targets]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise SpecError(f"targets[{i}]", f"measures {key}, as targets[{keys.index(key)}] does; "
                                             "allowed: each statistic once")
    fixed = data.get("parameters", {})
    if not isinstance(fixed, dict):
        raise SpecError("parameters", f"got {fixed!r}; allowed: a table")
    for name in fixed:
        if name in names:
            raise SpecError(f"parameters.{name}", "also has a prior; set it in one place")
    try:
        resolve(fixed)
        fixed = {k: PARAMS[k].coerce(v) for k, v in fixed.items()}
    except ParameterError as err:
        raise SpecError(f"parameters.{err.field}", error_reason(err)) from err
    raw = data.get("settings", {})
    if not isinstance(raw, dict):
        raise SpecError("settings", f"got {raw!r}; allowed: a table")
    check_keys(raw, _SETTINGS_KEYS, "settings.")
    defaults = AbcSettings()
    values = {key: raw.get(key, getattr(defaults, key)) for key in _SETTINGS_KEYS}
    sizes = values["scale_users"]
    values["scale_users"] = tuple(sizes) if isinstance(sizes, list | tuple) else (sizes,)
    settings = AbcSettings(**values)
    _check_settings(settings)
    return AbcConfig(priors, targets, settings, fixed, path)


def _prior(raw: dict[str, Any], where: str) -> Prior:
    check_keys(raw, {"name", "low", "high", "source"}, where + ".")
    name = raw.get("name")
    if name not in PARAMS:
        raise SpecError(where + ".name", f"got {name!r}: unknown parameter; allowed: a float "
                                         "parameter of `wasim params`")
    param = PARAMS[name]
    if param.kind is not float:
        raise SpecError(where + ".name", f"got {name!r}, a {param.kind.__name__} parameter; "
                                         "allowed: a float parameter")
    ends = {}
    for end in ("low", "high"):
        value = raw.get(end)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"{where}.{end}", f"got {value!r}; allowed: a number")
        try:
            ends[end] = param.coerce(value)
        except ParameterError as err:
            raise SpecError(f"{where}.{end}", error_reason(err)) from err
    if not ends["low"] < ends["high"]:
        raise SpecError(f"{where}.high", f"got {ends['high']!r}, not above low = {ends['low']!r}: "
                                         "an empty prior range; allowed: low < high")
    source = typed_value(raw, "source", str, "", where + ".")
    if not source.strip():
        raise SpecError(where + ".source", "missing; every prior names its source or stated range "
                                           "(docs/ODD.md)")
    return Prior(name, ends["low"], ends["high"], source)


def _target(raw: dict[str, Any], where: str) -> AbcTarget:
    check_keys(raw, _TARGET_KEYS, where + ".")
    prefix = where + "."
    name = typed_value(raw, "name", str, None, prefix)
    source = typed_value(raw, "source", str, None, prefix)
    value, scale = _number(raw, "value", where), _number(raw, "scale", where)
    if not scale > 0:
        raise SpecError(prefix + "scale", f"got {scale!r}; allowed: a number > 0, the half-width "
                                          "of the range the source allows")
    measure, column, how = raw.get("measure"), raw.get("column"), raw.get("reduce")
    if (measure is None) == (column is None):
        raise SpecError(where, "needs either measure or column (with reduce), not both")
    if measure is not None:
        if measure not in RUN_MEASURES:
            raise SpecError(prefix + "measure", f"got {measure!r}; allowed: one of {', '.join(RUN_MEASURES)}")
        if how is not None:
            raise SpecError(prefix + "reduce", "only with column")
        return AbcTarget(name, source, value, scale, measure=measure)
    if column not in COLUMNS:
        raise SpecError(prefix + "column", f"got {column!r}: no such column of a run's daily rows "
                                           "(model/metrics.py COLUMNS)")
    if how not in REDUCTIONS:
        raise SpecError(prefix + "reduce", f"got {how!r}; allowed: one of {', '.join(REDUCTIONS)}")
    return AbcTarget(name, source, value, scale, column=column, reduce=how)


def _number(raw: dict[str, Any], key: str, where: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{where}.{key}", f"got {value!r}; allowed: a number")
    return float(value)


def _check_settings(s: AbcSettings) -> None:
    for key in ("population_size", "generations", "max_simulations", "replicates", "days",
                "pp_draws", "scale_replicates"):
        integer_value({key: getattr(s, key)}, key, 1, 1, "settings.")
    integer_value({"seed": s.seed}, "seed", 0, 0, "settings.")
    for key, users in [("users", s.users), *(("scale_users", u) for u in s.scale_users)]:
        try:
            PARAMS["n_users"].coerce(users)
        except ParameterError as err:
            raise SpecError(f"settings.{key}", error_reason(err)) from err
    if not s.scale_users:
        raise SpecError("settings.scale_users", "empty; allowed: a list of population sizes")
