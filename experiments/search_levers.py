"""The policy levers of a search: a model parameter, or a rate-card multiplier that scales one
message category's prices in every region, and the values it may take (``[search.levers]``).

A lever is what Optuna suggests (``Lever.suggest``) and what the engine sets (``Lever.parameters``);
``as_levers`` reads a result folder's varied prices back as multipliers for ``wasim discover``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.checks import SpecError, check_keys, coerced, parameter_range
from model.params import PARAMS, REGIONS

PRICE_FACTORS = {f"{category}_price_factor": tuple(f"price_{category}_{r}_usd" for r in REGIONS)
                 for category in ("marketing", "utility", "authentication")}
"""Rate-card multipliers: a lever that scales one message category's price in every region
from the schema's 2025-26 rate card, as ``messaging_pricing`` and the dashboard scale them."""


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


def raw_value(value: Any, lever: Lever) -> Any:
    """A start value in the lever's type (an integer lever's 2.0 is 2)."""
    if lever.choices is not None:
        return value
    return int(value) if lever.is_int else float(value)


def parse_levers(raw: dict[str, Any], fixed: dict[str, Any], scenario_factors: set[str]) -> tuple[Lever, ...]:
    """``[search.levers]``; a lever may not also be fixed in [parameters] or be a scenario's
    uncertain factor."""
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
