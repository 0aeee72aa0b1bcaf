"""Experiment specs: TOML files, checked in full before anything runs or is written."""

from __future__ import annotations

import datetime
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.checks import (
    SpecError,
    check_keys,
    coerced,
    error_reason,
    integer_value,
    parameter_range,
    sub_table,
    typed_value,
)
from experiments.outcomes import OUTCOMES
from model.params import PARAMS, Param, ParameterError, resolve

BUILTIN_DIR = Path(__file__).parent
DESIGN_KINDS = ("grid", "rows", "lhs", "sobol", "saltelli", "morris")
SAMPLED_KINDS = ("lhs", "sobol", "saltelli", "morris")
"""Designs that draw ``samples`` points from factor ranges, seeded by the experiment's seed."""

_EXPERIMENT_KEYS = {"name", "description", "days", "replicates", "seed", "common_random_numbers",
                    "start_date"}
_ADAPTIVE_KEYS = {"target", "ci_halfwidth", "max", "min"}  # replicates = {...}
_DESIGN_KEYS = {"grid": {"kind", "factors"}, "rows": {"kind", "points"},
                **{kind: {"kind", "samples", "factors", "options"} for kind in SAMPLED_KINDS}}
_OPTION_KEYS = {"saltelli": {"calc_second_order"}, "morris": {"num_levels"}}
_CATEGORICAL_KINDS = ("grid", "lhs", "sobol")  # SALib's Sobol' and Morris estimators need numbers
_POWER_OF_TWO_KINDS = ("sobol", "saltelli")  # Sobol' points are balanced only at 2^m of them
LABEL_MAX_CHARS = 60
"""A rows point's ``label`` names it in figures: short enough for a panel title or a legend."""


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
        design: dict[str, Any] = {"kind": self.design_kind}
        if self.samples is not None:
            design["samples"] = self.samples
        if self.design_kind == "rows":
            design["points"] = [{"label": label, **point} if label else point
                                for point, label in zip(self.points, self.labels, strict=True)]
        else:
            design["factors"] = self.factors
        if self.options:
            design["options"] = self.options
        return {"experiment": experiment, "parameters": self.parameters, "design": design}

    def identity(self) -> dict[str, Any]:
        """What fixes the runs' numbers: a result folder holds runs of one identity only.
        Replicates, the description, the start date and the points' labels may change (more
        replicates extend an experiment; the others only name things in figures)."""
        data = self.to_toml_dict()
        data["experiment"] = {k: v for k, v in data["experiment"].items()
                              if k not in ("replicates", "description", "start_date")}
        if self.design_kind == "rows":
            data["design"]["points"] = [dict(point) for point in self.points]
        return data

    def point_label(self, values: dict[str, Any]) -> str | None:
        """The label of the rows point with these values; None if it has none (or no such point)."""
        for point, label in zip(self.points, self.labels, strict=True):
            if point == values:
                return label
        return None


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
    check_keys(data, {"experiment", "parameters", "design"}, "")
    exp = sub_table(data, "experiment")
    check_keys(exp, _EXPERIMENT_KEYS, "experiment.")
    name = exp.get("name")
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise SpecError("experiment.name", f"got {name!r}; allowed: a non-empty name without '/'")
    description = typed_value(exp, "description", str, "", "experiment.")
    days = integer_value(exp, "days", 365, 1, "experiment.")
    replicates, adaptive = _replicates(exp.get("replicates", 1))
    seed = integer_value(exp, "seed", 0, 0, "experiment.")
    crn = typed_value(exp, "common_random_numbers", bool, False, "experiment.")
    start_date = _start_date(exp.get("start_date"))

    parameters = sub_table(data, "parameters")
    try:
        resolve(parameters)
        fixed = {k: PARAMS[k].coerce(v) for k, v in parameters.items()}
    except ParameterError as err:
        raise SpecError(f"parameters.{err.field}", error_reason(err)) from err

    return ExperimentSpec(name=name.strip(), description=description, days=days,
                          replicates=replicates, adaptive=adaptive, seed=seed,
                          common_random_numbers=crn, start_date=start_date,
                          parameters=fixed, **_design(sub_table(data, "design"), fixed))


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
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value, None
    if not isinstance(value, dict):
        raise SpecError("experiment.replicates", f"got {value!r}; allowed: an integer >= 1, or a "
                                                 "table {target, ci_halfwidth, max} for adaptive "
                                                 "replication")
    where = "experiment.replicates."
    check_keys(value, _ADAPTIVE_KEYS, where, " for adaptive replication")
    target = value.get("target")
    if target not in OUTCOMES:
        raise SpecError(where + "target", f"got {target!r}; allowed: a summary outcome, one of "
                                          f"{', '.join(OUTCOMES)}")
    halfwidth = value.get("ci_halfwidth")
    if isinstance(halfwidth, bool) or not isinstance(halfwidth, int | float) or not halfwidth > 0:
        raise SpecError(where + "ci_halfwidth", f"got {halfwidth!r}; allowed: a number > 0, the "
                                                "95% interval's half-width relative to the mean")
    low = integer_value(value, "min", 3, 2, where)  # a t-interval needs two replicates
    if "max" not in value:
        raise SpecError(where + "max", "missing; adaptive replication needs a largest number "
                                       "of replicates per point")
    adaptive = AdaptiveReplicates(target, float(halfwidth), integer_value(value, "max", low, low, where),
                                  low)
    return low, adaptive


def _design(design: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
    """The [design] table as ExperimentSpec fields. Keys a kind does not use are errors rather
    than ignored, so a spec never silently runs a different design than its author meant."""
    kind = design.get("kind", "grid")
    if kind not in DESIGN_KINDS:
        raise SpecError("design.kind", f"got {kind!r}; allowed: one of {', '.join(DESIGN_KINDS)}")
    check_keys(design, _DESIGN_KEYS[kind], "design.", f" for a {kind} design")
    fields: dict[str, Any] = {"design_kind": kind}
    if kind == "rows":
        fields["points"], fields["labels"] = _points(design, fixed)
    else:
        fields["factors"] = _factors(sub_table(design, "factors", "design."), fixed, kind)
    if kind in SAMPLED_KINDS:
        fields["samples"] = _samples(design, kind)
        fields["options"] = _options(sub_table(design, "options", "design."), kind)
        if not fields["factors"]:
            raise SpecError("design.factors", f"empty; a {kind} design needs at least one factor")
    return fields


def _factors(raw: dict[str, Any], fixed: dict[str, Any], kind: str) -> dict[str, Any]:
    factors = {}
    for name, value in raw.items():
        where = f"design.factors.{name}"
        if name not in PARAMS:
            raise SpecError(where, "unknown parameter; see `wasim params`")
        if name in fixed:
            raise SpecError(where, "also set in [parameters]; set it in one place")
        factors[name] = _factor(value, PARAMS[name], where, kind)
    return factors


def _factor(value: Any, param: Param, where: str, kind: str) -> list[Any] | dict[str, Any]:
    """Grid factors list their values; sampled designs draw numbers from a range and
    categories (text and true/false parameters) from a list, where the design allows them."""
    if kind == "grid":
        return _levels(value, param, where)
    if param.kind not in (bool, str):
        return parameter_range(value, param, where)
    if kind not in _CATEGORICAL_KINDS:
        raise SpecError(where, f"categorical parameter; a {kind} design needs numeric ranges: fix it "
                               f"in [parameters] or use one of {', '.join(_CATEGORICAL_KINDS)}")
    return _levels(value, param, where)


def _levels(values: Any, param: Param, where: str) -> list[Any]:
    if not isinstance(values, list) or not values:
        raise SpecError(where, f"got {values!r}; allowed: a non-empty list of values")
    levels = [coerced(param, v, where) for v in values]
    if len(set(map(repr, levels))) != len(values):
        raise SpecError(where, f"repeated values in {values!r}")
    return levels


def _samples(design: dict[str, Any], kind: str) -> int:
    if "samples" not in design:
        raise SpecError("design.samples", f"missing; a {kind} design needs a sample size (an integer >= 1)")
    samples = integer_value(design, "samples", 1, 1, "design.")
    if kind in _POWER_OF_TWO_KINDS and samples & (samples - 1):
        below = 1 << (samples.bit_length() - 1)
        raise SpecError("design.samples", f"got {samples}; allowed: a power of two for {kind} designs "
                                          f"(Sobol' points are balanced only then), "
                                          f"e.g. {below} or {2 * below}")
    return samples


def _options(raw: dict[str, Any], kind: str) -> dict[str, Any]:
    """Options passed to SALib, with SALib's defaults filled in so that the spec written to a
    result folder says exactly how it was sampled."""
    check_keys(raw, _OPTION_KEYS.get(kind, set()), "design.options.", f" for a {kind} design")
    if kind == "saltelli":
        return {"calc_second_order": typed_value(raw, "calc_second_order", bool, True, "design.options.")}
    if kind == "morris":
        levels = integer_value(raw, "num_levels", 4, 2, "design.options.")
        if levels % 2:
            raise SpecError("design.options.num_levels",
                            f"got {levels}; allowed: an even integer >= 2 (odd levels bias the sample)")
        return {"num_levels": levels}
    return {}


def _points(design: dict[str, Any], fixed: dict[str, Any]
            ) -> tuple[list[dict[str, Any]], list[str | None]]:
    """A rows design's points and their labels. Each point is checked like [parameters]; a
    repeated point would give the same runs twice, so it is refused (replicates are the way to
    repeat a point). A point's optional ``label`` only names it: it is taken out here, so it
    never reaches the model, the run ids or the spec's identity."""
    raw = design.get("points")
    if not isinstance(raw, list) or not raw or not all(isinstance(p, dict) for p in raw):
        raise SpecError("design.points", f"got {raw!r}; allowed: a non-empty list of tables, "
                                         "e.g. points = [{ad_load = 0.0}, {ad_load = 0.1}]")
    points: list[dict[str, Any]] = []
    labels: list[str | None] = []
    for i, point in enumerate(raw):
        where = f"design.points[{i}]"
        point = dict(point)
        labels.append(_label(point.pop("label"), labels, f"{where}.label") if "label" in point else None)
        for name in point:
            if name in fixed:
                raise SpecError(f"{where}.{name}", "also set in [parameters]; set it in one place")
        try:
            resolve({**fixed, **point})
        except ParameterError as err:
            raise SpecError(f"{where}.{err.field}", error_reason(err)) from err
        resolved = {name: PARAMS[name].coerce(v) for name, v in point.items()}
        if resolved in points:
            raise SpecError(where, f"same as design.points[{points.index(resolved)}]; "
                                   "list each point once (replicates repeat it)")
        points.append(resolved)
    return points, labels


def _label(value: Any, taken: list[str | None], where: str) -> str:
    allowed = (f"allowed: a non-empty text of at most {LABEL_MAX_CHARS} characters, unique within "
               'the design, e.g. label = "marketing x0.5"')
    if not isinstance(value, str) or not value.strip() or len(value) > LABEL_MAX_CHARS:
        raise SpecError(where, f"got {value!r}; {allowed}")
    if value in taken:
        raise SpecError(where, f"got {value!r}, the label of design.points[{taken.index(value)}]; "
                               f"{allowed}")
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
