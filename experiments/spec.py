"""Experiment specs: TOML files, checked in full before anything runs or is written.

The [design] table is read by its kind's entry in ``experiments.designs.DESIGNS``. A mistake
raises ``SpecError`` (``experiments.checks``; importable from here too), which names the field
and what is allowed.
"""

from __future__ import annotations

import datetime
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.checks import (
    SpecError,
    check_keys,
    error_reason,
    integer_value,
    read_toml,
    sub_table,
    typed_value,
)
from experiments.designs import DESIGNS, design_points
from experiments.outcomes import OUTCOMES
from model.params import PARAMS, ParameterError, resolve

BUILTIN_DIR = Path(__file__).parent
MAX_SEED = 2**63 - 1
"""The largest experiment seed: the result files store seeds in 64-bit integer columns."""
MAX_DAYS = 100_000
"""The longest run, as long as the schema's dated events may lie (their ``*_day`` range)."""
MAX_REPLICATES = 10_000
"""The most replicates per point: beyond what a workstation runs, and a typo's guard (a
hundred million replicates took minutes to plan before anything was said)."""

_EXPERIMENT_KEYS = {"name", "description", "days", "replicates", "seed", "common_random_numbers",
                    "start_date", "reference"}
_NAMES_SHOWN = 12
"""Design points named at most in the message refusing a ``reference`` (sampled designs have
hundreds)."""
_ADAPTIVE_KEYS = {"target", "ci_halfwidth", "max", "min"}  # replicates = {...}


@dataclass(frozen=True)
class AdaptiveReplicates:
    """``replicates = {target = "revenue_total", ci_halfwidth = 0.02, max = 50}``: each point
    gets ``min`` replicates, then more in rounds until the 95% t-interval of the mean of
    ``target`` is within ``ci_halfwidth`` times the mean, or it has ``max``."""

    target: str
    ci_halfwidth: float
    max: int
    min: int = 3

    def to_toml_dict(self) -> dict[str, Any]:
        return {"target": self.target, "ci_halfwidth": self.ci_halfwidth, "max": self.max,
                "min": self.min}


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    description: str = ""
    days: int = 365
    replicates: int = 1
    """Replicates per point; with adaptive replication, those of the first round."""
    adaptive: AdaptiveReplicates | None = None
    seed: int = 0
    common_random_numbers: bool = False
    start_date: datetime.date | None = None
    """The calendar date of day 1, for figures only (the model counts days)."""
    reference: str | None = None
    """The design point the others are contrasted with (``wasim report``, the difference
    figure), by its label or its values (``point_name``); None: the first point."""
    parameters: dict[str, Any] = field(default_factory=dict)
    design_kind: str = "grid"
    factors: dict[str, list[Any] | dict[str, Any]] = field(default_factory=dict)
    """A list of values (grid; categorical factors of lhs and sobol) or a range {low, high}."""
    options: dict[str, Any] = field(default_factory=dict)
    samples: int | None = None
    """Sample size of a sampled design (base samples for saltelli, trajectories for morris)."""
    points: list[dict[str, Any]] = field(default_factory=list)
    """The explicit points of a rows design: their parameter values, without labels."""
    labels: list[str | None] = field(default_factory=list)
    """Each rows point's ``label``, in the order of ``points``; None for a point without one."""

    def to_toml_dict(self) -> dict[str, Any]:
        """The resolved spec, in the layout of the file it came from."""
        replicates = self.adaptive.to_toml_dict() if self.adaptive else self.replicates
        experiment = {"name": self.name, "description": self.description, "days": self.days,
                      "replicates": replicates, "seed": self.seed,
                      "common_random_numbers": self.common_random_numbers}
        if self.start_date is not None:
            experiment["start_date"] = self.start_date
        if self.reference is not None:
            experiment["reference"] = self.reference
        design: dict[str, Any] = {"kind": self.design_kind}
        if self.samples is not None:
            design["samples"] = self.samples
        if DESIGNS[self.design_kind].lists_points:
            design["points"] = [{"label": label, **point} if label else point
                                for point, label in zip(self.points, self.labels, strict=True)]
        elif DESIGNS[self.design_kind].reader is None:  # a kind of its own shape has no factors
            design["factors"] = self.factors
        if self.options:
            design["options"] = self.options
        return {"experiment": experiment, "parameters": self.parameters, "design": design}

    def identity(self) -> dict[str, Any]:
        """What fixes the runs' numbers: a result folder holds runs of one identity only.
        Replicates, the description, the start date, the reference point and the points'
        labels may change (more replicates extend an experiment; the others only name things or
        choose what reports contrast)."""
        data = self.to_toml_dict()
        data["experiment"] = {k: v for k, v in data["experiment"].items()
                              if k not in ("replicates", "description", "start_date", "reference")}
        if DESIGNS[self.design_kind].lists_points:
            data["design"]["points"] = [dict(point) for point in self.points]
        if DESIGNS[self.design_kind].extends:  # more samples keep every run already done
            data["design"].pop("samples", None)
        return data

    def point_label(self, values: dict[str, Any]) -> str | None:
        """The label of the rows point with these values; None if it has none (or no such point)."""
        for point, label in zip(self.points, self.labels, strict=True):
            if point == values:
                return label
        return None

    def point_name(self, values: dict[str, Any]) -> str:
        """A design point's name: its label (rows designs), else its varied values
        (``ad_load=0.1, data_sharing=off``); empty for the one point of a design that varies
        nothing."""
        return self.point_label(values) or values_name(values)


def values_name(values: dict[str, Any]) -> str:
    """A point's varied values as text, in name order: ``ad_load=0.1, data_sharing=off``."""
    return ", ".join(f"{k}={value_text(v)}" for k, v in sorted(values.items()))


def value_text(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def builtin_specs() -> dict[str, Path]:
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.toml"))}


def load_spec(experiment: str, overrides: dict[str, Any] | None = None) -> ExperimentSpec:
    """Load a built-in experiment by name or a TOML file by path; ``overrides`` are
    ``--set`` values for [parameters]."""
    return parse_spec(read_spec_file(experiment, builtin_specs(), "experiment", "experiment", overrides)[1])


def read_spec_file(name: str, builtins: dict[str, Path], field: str, kind: str,
                   overrides: dict[str, Any] | None) -> tuple[Path, dict[str, Any]]:
    """The TOML of the built-in ``kind`` (experiment, search) called ``name``, or of the file at
    that path, named after its file unless it names itself, with ``overrides`` (``--set``)
    over its [parameters]; a missing file or bad TOML is an error of ``field``."""
    path = builtins.get(name) or Path(name)
    if not path.is_file():
        known = ", ".join(builtins) or "none"
        raise SpecError(field, f"no built-in {kind} or file {name!r}; built-in: {known}")
    data = read_toml(path, field)
    data["experiment"] = sub_table(data, "experiment")
    data["experiment"].setdefault("name", path.stem)
    data["parameters"] = sub_table(data, "parameters") | (overrides or {})
    return path, data


def parse_spec(data: dict[str, Any]) -> ExperimentSpec:
    """Check a spec given as a dict (the parsed TOML) and return it resolved."""
    check_keys(data, {"experiment", "parameters", "design"}, "")
    exp = sub_table(data, "experiment")
    check_keys(exp, _EXPERIMENT_KEYS, "experiment.")
    name = exp.get("name")
    if not isinstance(name, str) or name.strip() in {"", ".", ".."} or "/" in name:
        raise SpecError("experiment.name", f"got {name!r}; allowed: a non-empty name without '/', "
                                           "other than '.' and '..' (it names the result folder)")
    description = typed_value(exp, "description", str, "", "experiment.")
    days = integer_value(exp, "days", 365, 1, "experiment.", high=MAX_DAYS)
    replicates, adaptive = _replicates(exp.get("replicates", 1))
    seed = integer_value(exp, "seed", 0, 0, "experiment.", high=MAX_SEED)
    crn = typed_value(exp, "common_random_numbers", bool, False, "experiment.")
    start_date = _start_date(exp.get("start_date"))

    parameters = sub_table(data, "parameters")
    try:
        resolve(parameters)
        fixed = {k: PARAMS[k].coerce(v) for k, v in parameters.items()}
    except ParameterError as err:
        raise SpecError(f"parameters.{err.field}", error_reason(err)) from err

    spec = ExperimentSpec(name=name.strip(), description=description, days=days,
                          replicates=replicates, adaptive=adaptive, seed=seed,
                          common_random_numbers=crn, start_date=start_date,
                          reference=exp.get("reference"),
                          parameters=fixed, **_design(sub_table(data, "design"), fixed))
    if spec.reference is not None:
        _check_reference(spec)
    return spec


def _check_reference(spec: ExperimentSpec) -> None:
    """``reference`` must name a point of the design, by its label or its values, and there
    must be another point to contrast with it."""
    if not isinstance(spec.reference, str):
        raise SpecError("experiment.reference", f"got {spec.reference!r}; allowed: a design "
                                                "point's label or values, as text")
    points = design_points(spec)
    if len(points) < 2:
        raise SpecError("experiment.reference", f"got {spec.reference!r}, but the design has one "
                                                "point: there is no other point to contrast with it")
    if any(spec.reference in (spec.point_name(v), values_name(v)) for v in points):
        return
    names = [spec.point_name(v) for v in points]
    more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
    raise SpecError("experiment.reference", f"got {spec.reference!r}; allowed: a design point's "
                    f"label or values, one of {', '.join(map(repr, names[:_NAMES_SHOWN]))}{more}")


def _start_date(value: Any) -> datetime.date | None:
    """A TOML date (``start_date = 2026-01-01``) or the same as text; figures then show dates."""
    if value is None or (isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)):
        return value
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise SpecError("experiment.start_date", f"got {value!r}; allowed: a date such as "
                                                 "2026-01-01") from None


def _replicates(value: Any) -> tuple[int, AdaptiveReplicates | None]:
    """Replicates per point: a number, or a table asking for adaptive replication (the first
    round's replicates are then its ``min``)."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_REPLICATES:
        return value, None
    if not isinstance(value, dict):
        raise SpecError("experiment.replicates", f"got {value!r}; allowed: an integer in [1, "
                                                 f"{MAX_REPLICATES}], or a table {{target, "
                                                 "ci_halfwidth, max}} for adaptive replication")
    where = "experiment.replicates."
    check_keys(value, _ADAPTIVE_KEYS, where, " for adaptive replication")
    target = value.get("target")
    if target not in OUTCOMES:
        raise SpecError(where + "target", f"got {target!r}; allowed: a summary outcome, one of "
                                          f"{', '.join(OUTCOMES)}")
    halfwidth = value.get("ci_halfwidth")
    if isinstance(halfwidth, bool) or not isinstance(halfwidth, int | float) or not 0 < halfwidth < math.inf:
        raise SpecError(where + "ci_halfwidth", f"got {halfwidth!r}; allowed: a finite number > 0, "
                                                "the 95% interval's half-width relative to the mean")
    low = integer_value(value, "min", 3, 2, where)  # a t-interval needs two replicates
    if "max" not in value:
        raise SpecError(where + "max", "missing; adaptive replication needs a largest number "
                                       "of replicates per point")
    adaptive = AdaptiveReplicates(target, float(halfwidth),
                                  integer_value(value, "max", low, low, where, high=MAX_REPLICATES), low)
    return low, adaptive


def _design(design: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
    """The [design] table as ExperimentSpec fields, read by its kind (grid when not given)."""
    kind = design.get("kind", "grid")
    if not isinstance(kind, str) or kind not in DESIGNS:  # a list or table is no name
        raise SpecError("design.kind", f"got {kind!r}; allowed: one of {', '.join(DESIGNS)}")
    return DESIGNS[kind].read(design, fixed)


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
