"""Experiment specs: TOML files, checked in full before anything runs or is written."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.params import PARAMS, ParameterError, resolve

BUILTIN_DIR = Path(__file__).parent
DESIGN_KINDS = ("grid",)

_EXPERIMENT_KEYS = {"name", "description", "days", "replicates", "seed", "common_random_numbers"}
_DESIGN_KEYS = {"kind", "factors", "options"}


class SpecError(ValueError):
    """A mistake in an experiment spec; names the field and what is allowed."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    description: str = ""
    days: int = 365
    replicates: int = 1
    seed: int = 0
    common_random_numbers: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    design_kind: str = "grid"
    factors: dict[str, list[Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def to_toml_dict(self) -> dict[str, Any]:
        """The resolved spec, in the layout of the file it came from."""
        experiment = {"name": self.name, "description": self.description, "days": self.days,
                      "replicates": self.replicates, "seed": self.seed,
                      "common_random_numbers": self.common_random_numbers}
        design = {"kind": self.design_kind, "factors": self.factors}
        if self.options:
            design["options"] = self.options
        return {"experiment": experiment, "parameters": self.parameters, "design": design}

    def identity(self) -> dict[str, Any]:
        """What fixes the runs' numbers: a result folder holds runs of one identity only.
        Replicates and the description may change (more replicates extend an experiment)."""
        data = self.to_toml_dict()
        data["experiment"] = {k: v for k, v in data["experiment"].items()
                              if k not in ("replicates", "description")}
        return data


def builtin_specs() -> dict[str, Path]:
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.toml"))}


def load_spec(experiment: str, overrides: dict[str, Any] | None = None) -> ExperimentSpec:
    """Load a built-in experiment by name or a TOML file by path; ``overrides`` are
    ``--set`` values for [parameters]."""
    path = builtin_specs().get(experiment) or Path(experiment)
    if not path.is_file():
        known = ", ".join(builtin_specs()) or "none"
        raise SpecError("experiment", f"no built-in experiment or file {experiment!r}; "
                                      f"built-in: {known}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise SpecError(str(path), f"not valid TOML: {err}") from err
    data.setdefault("experiment", {}).setdefault("name", path.stem)
    data.setdefault("parameters", {}).update(overrides or {})
    return parse_spec(data)


def parse_spec(data: dict[str, Any]) -> ExperimentSpec:
    """Check a spec given as a dict (the parsed TOML) and return it resolved."""
    _no_unknown(data, {"experiment", "parameters", "design"}, "")
    exp = _table(data, "experiment")
    _no_unknown(exp, _EXPERIMENT_KEYS, "experiment.")
    name = exp.get("name")
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise SpecError("experiment.name", f"got {name!r}; allowed: a non-empty name without '/'")
    description = _typed(exp, "description", str, "", "experiment.")
    days = _integer(exp, "days", 365, 1, "experiment.")
    replicates = _integer(exp, "replicates", 1, 1, "experiment.")
    seed = _integer(exp, "seed", 0, 0, "experiment.")
    crn = _typed(exp, "common_random_numbers", bool, False, "experiment.")

    parameters = _table(data, "parameters")
    try:
        resolve(parameters)
        fixed = {k: PARAMS[k].coerce(v) for k, v in parameters.items()}
    except ParameterError as err:
        raise SpecError(f"parameters.{err.field}", str(err).split(": ", 1)[1]) from err

    design = _table(data, "design")
    _no_unknown(design, _DESIGN_KEYS, "design.")
    kind = design.get("kind", "grid")
    if kind not in DESIGN_KINDS:
        raise SpecError("design.kind", f"got {kind!r}; allowed: one of {', '.join(DESIGN_KINDS)}")
    factors = _factors(_table(design, "factors", "design."), fixed)
    options = _table(design, "options", "design.")
    return ExperimentSpec(name.strip(), description, days, replicates, seed, crn, fixed, kind,
                          factors, options)


def _factors(raw: dict[str, Any], fixed: dict[str, Any]) -> dict[str, list[Any]]:
    factors = {}
    for name, values in raw.items():
        where = f"design.factors.{name}"
        if name not in PARAMS:
            raise SpecError(where, "unknown parameter; see `wasim params`")
        if name in fixed:
            raise SpecError(where, "also set in [parameters]; set it in one place")
        if not isinstance(values, list) or not values:
            raise SpecError(where, f"got {values!r}; allowed: a non-empty list of values")
        try:
            factors[name] = [PARAMS[name].coerce(v) for v in values]
        except ParameterError as err:
            raise SpecError(where, str(err).split(": ", 1)[1]) from err
        if len(set(map(repr, factors[name]))) != len(values):
            raise SpecError(where, f"repeated values in {values!r}")
    return factors


def _table(data: dict, key: str, prefix: str = "") -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise SpecError(prefix + key, f"got {value!r}; allowed: a table")
    return value


def _no_unknown(data: dict, allowed: set[str], prefix: str) -> None:
    for key in data:
        if key not in allowed:
            raise SpecError(prefix + key, f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _typed(data: dict, key: str, kind: type, default: Any, prefix: str) -> Any:
    value = data.get(key, default)
    if not isinstance(value, kind):
        raise SpecError(prefix + key, f"got {value!r}; allowed: a {kind.__name__}")
    return value


def _integer(data: dict, key: str, default: int, low: int, prefix: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SpecError(prefix + key, f"got {value!r}; allowed: an integer >= {low}")
    return value


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """``--set k=v`` pairs; values are read as TOML (numbers, true/false, "text"), else text."""
    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise SpecError("--set", f"got {pair!r}; allowed: name=value")
        try:
            values[key.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            values[key.strip()] = raw
    return values
