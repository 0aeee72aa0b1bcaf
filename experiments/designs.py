"""Design kinds: how a [design] table is read, which parameter values each of its points
takes, and (saltelli, morris) how its runs are analysed.

``DESIGNS`` is the registry: one ``DesignKind`` per kind, holding everything the engine knows
of it. The spec, the planner, the figures and ``wasim analyze`` read a kind's entry, never its
name, so adding a kind is adding one entry (with its sampler and, if it has one, its analysis).

Run ids and seeds derive from the points' values, so a design must give the same points,
in the same order, every time it is read: sampled designs draw from the experiment's seed.

SALib and scipy.stats are imported by the functions that sample and analyse, not at the top:
worker processes import this module (the spec reads [design] tables with it) to receive their
tasks, but never sample or analyse, and start over half a second sooner without them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

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
from model.params import PARAMS, Param, ParameterError, resolve

LABEL_MAX_CHARS = 60
"""A rows point's ``label`` names it in figures: short enough for a panel title or a legend."""
CONF_LEVEL = 0.95
"""Confidence level of the sensitivity indices' bootstrap intervals."""
NUM_RESAMPLES = 1000
"""Bootstrap resamples for the confidence intervals (cheap next to a single model run)."""


class DesignSpec(Protocol):
    """What a design reads of an experiment spec (``experiments.spec.ExperimentSpec``)."""

    design_kind: str
    seed: int
    factors: dict[str, list[Any] | dict[str, Any]]
    options: dict[str, Any]
    samples: int | None
    points: list[dict[str, Any]]


Sampler = Callable[[dict[str, Any], DesignSpec], np.ndarray]
"""Draws a sampled design's raw sample from SALib's problem and the spec (``sample_matrix``)."""


@dataclass(frozen=True)
class Sensitivity:
    """The sensitivity analysis a design's structure allows (``wasim analyze``): its estimator,
    and how the figure of its indices shows them."""

    name: str
    """What it estimates, in words ("Sobol' indices"); the refusal of other designs lists it."""
    indices: Callable[[DesignSpec, np.ndarray], pd.DataFrame]
    """The indices of one outcome, from its value at each row of the sample matrix: one row
    per factor, its name in ``factor`` and the indices in ``columns``."""
    columns: tuple[str, ...]
    bars: tuple[tuple[str, str | None, str], ...]
    """The figure's bars per factor: (column, its interval's column or None, legend label)."""
    xlabel: str
    """The figure's x label; ``{outcome}`` is the panel's outcome."""
    title: str
    """The figure's title; ``{name}``, ``{interval}``, ``{samples}`` and ``{replicates}`` are
    filled in."""
    outcome_units: bool = False
    """The indices are in the outcome's units (revenue outcomes get a money axis)."""


def _no_options(raw: dict[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class DesignKind:
    """One kind of design, as its [design] table gives it.

    Three shapes: a table that lists its points (``lists_points``: rows); factors whose
    listed levels are all combined (grid); or factors a ``sampler`` draws ``samples`` points
    from, seeded by the experiment's seed (sampled designs). Sampled designs draw numbers
    from ranges, and categories (text and true/false parameters) from lists of levels where
    the kind is ``categorical``."""

    name: str
    lists_points: bool = False
    """The table lists its points (``points = [...]``) instead of factors."""
    sampler: Sampler | None = None
    """Draws the raw sample of a sampled design; None for a design that is not sampled."""
    categorical: bool = False
    """Takes categorical factors (text and true/false parameters, as lists of levels); Saltelli
    and Morris designs do not, as SALib's estimators need numbers."""
    power_of_two: bool = False
    """``samples`` must be a power of two: Sobol' points are balanced only at 2^m of them."""
    option_keys: frozenset[str] = frozenset()
    """The keys its [design.options] table may hold."""
    options: Callable[[dict[str, Any]], dict[str, Any]] = _no_options
    """Reads [design.options] (keys already checked): SALib's options with SALib's defaults
    filled in, so that the spec written to a result folder says exactly how it was sampled."""
    sensitivity: Sensitivity | None = None
    """Its analysis, for a design built for one (``wasim analyze``)."""
    reader: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    """Reads a [design] table of its own shape into ExperimentSpec fields (keys ``table_keys``);
    None for the three shapes above."""
    table_keys: frozenset[str] = frozenset()
    drawer: Callable[[DesignSpec], list[dict[str, Any]]] | None = None
    """Gives the points of a kind with a ``reader``."""
    extends: bool = False
    """More ``samples`` only add points: the first ones, their runs and seeds stay, so a result
    folder may grow (``samples`` is not part of the spec's identity)."""
    pooled_bands: str | None = None
    """Figures and reports pool every point's runs into one band, and say what it covers with
    this text; None: one band per point, over its replicates."""

    @property
    def sampled(self) -> bool:
        """Draws ``samples`` points from factor ranges, seeded by the experiment's seed."""
        return self.sampler is not None

    @property
    def keys(self) -> set[str]:
        """The keys its [design] table may hold."""
        if self.reader is not None:
            return set(self.table_keys)
        if self.lists_points:
            return {"kind", "points"}
        return {"kind", "samples", "factors", "options"} if self.sampled else {"kind", "factors"}

    def read(self, design: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
        """The [design] table as ExperimentSpec fields (``fixed``: the [parameters]). Keys the
        kind does not use are errors rather than ignored, so a spec never silently runs a
        different design than its author meant."""
        check_keys(design, self.keys, "design.", f" for a {self.name} design")
        fields: dict[str, Any] = {"design_kind": self.name}
        if self.reader is not None:
            return fields | self.reader(design, fixed)
        if self.lists_points:
            fields["points"], fields["labels"] = _points(design, fixed)
        else:
            fields["factors"] = self._factors(sub_table(design, "factors", "design."), fixed)
        if self.sampled:
            fields["samples"] = self._samples(design)
            options = sub_table(design, "options", "design.")
            check_keys(options, self.option_keys, "design.options.", f" for a {self.name} design")
            fields["options"] = self.options(options)
            if not fields["factors"]:
                raise SpecError("design.factors", f"empty; a {self.name} design needs at least one factor")
        return fields

    def points(self, spec: DesignSpec) -> list[dict[str, Any]]:
        """The varied values of every design point, in a stable order."""
        if self.drawer is not None:
            return self.drawer(spec)
        if self.lists_points:
            return [dict(point) for point in spec.points]
        if not self.sampled:
            return grid(spec.factors)
        problem = salib_problem(spec)
        names = problem["names"]
        return [{name: _value(name, spec.factors[name], x) for name, x in zip(names, row, strict=True)}
                for row in self.sampler(problem, spec)]

    def _factors(self, raw: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
        factors = {}
        for name, value in raw.items():
            where = f"design.factors.{name}"
            if name not in PARAMS:
                raise SpecError(where, "unknown parameter; see `wasim params`")
            if name in fixed:
                raise SpecError(where, "also set in [parameters]; set it in one place")
            factors[name] = self._factor(value, PARAMS[name], where)
        return factors

    def _factor(self, value: Any, param: Param, where: str) -> list[Any] | dict[str, Any]:
        """A grid's factors list their values; sampled designs draw numbers from a range and
        categories from a list, where the kind allows them."""
        if not self.sampled:
            return _levels(value, param, where)
        if param.kind not in (bool, str):
            return parameter_range(value, param, where)
        if not self.categorical:
            allowed = ", ".join(kind.name for kind in DESIGNS.values() if kind.categorical)
            raise SpecError(where, f"categorical parameter; a {self.name} design needs numeric ranges: "
                                   f"fix it in [parameters] or use one of {allowed}")
        return _levels(value, param, where)

    def _samples(self, design: dict[str, Any]) -> int:
        if "samples" not in design:
            raise SpecError("design.samples", f"missing; a {self.name} design needs a sample size "
                                              "(an integer >= 1)")
        samples = integer_value(design, "samples", 1, 1, "design.")
        if self.power_of_two and samples & (samples - 1):
            below = 1 << (samples.bit_length() - 1)
            raise SpecError("design.samples", f"got {samples}; allowed: a power of two for {self.name} "
                                              f"designs (Sobol' points are balanced only then), "
                                              f"e.g. {below} or {2 * below}")
        return samples


# --- points ------------------------------------------------------------------------------------
def design_points(spec: DesignSpec) -> list[dict[str, Any]]:
    """The varied values of every design point, in a stable order."""
    return DESIGNS[spec.design_kind].points(spec)


def grid(factors: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Full factorial: every combination of the factors' values (one empty point if none)."""
    names = list(factors)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(factors[n] for n in names))]


def salib_problem(spec: DesignSpec) -> dict[str, Any]:
    """SALib's problem for a sampled design: one column per factor, in name order because TOML
    writers reorder tables and the points must not change when a spec is written and read back.
    A range factor's bounds are its range; a categorical factor's column holds a level index."""
    names = sorted(spec.factors)
    return {"num_vars": len(names), "names": names,
            "bounds": [_bounds(spec.factors[name]) for name in names]}


def sample_matrix(spec: DesignSpec) -> np.ndarray:
    """The raw sample of a sampled design, one row per design point in order, before integer
    rounding and level lookup: with ``salib_problem`` it is what SALib's analyzers take as X."""
    return DESIGNS[spec.design_kind].sampler(salib_problem(spec), spec)


def _bounds(factor: list[Any] | dict[str, Any]) -> list[float]:
    if isinstance(factor, list):
        return [0.0, float(len(factor))]
    return [float(factor["low"]), float(factor["high"])]


def _value(name: str, factor: list[Any] | dict[str, Any], x: float) -> Any:
    """A raw sample value as a parameter value: a level index picks its level, an integer
    parameter takes the nearest integer. Clipping keeps float error from leaving the range,
    and plain Python types keep the points' hashes (hence run ids) stable."""
    if isinstance(factor, list):
        return factor[min(int(x), len(factor) - 1)]
    x = min(max(float(x), factor["low"]), factor["high"])
    return math.floor(x + 0.5) if PARAMS[name].kind is int else x


# --- reading the [design] table ----------------------------------------------------------------
def _levels(values: Any, param: Param, where: str) -> list[Any]:
    if not isinstance(values, list) or not values:
        raise SpecError(where, f"got {values!r}; allowed: a non-empty list of values")
    levels = [coerced(param, v, where) for v in values]
    if len(set(map(repr, levels))) != len(values):
        raise SpecError(where, f"repeated values in {values!r}")
    return levels


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


def _saltelli_options(raw: dict[str, Any]) -> dict[str, Any]:
    return {"calc_second_order": typed_value(raw, "calc_second_order", bool, True, "design.options.")}


def _morris_options(raw: dict[str, Any]) -> dict[str, Any]:
    levels = integer_value(raw, "num_levels", 4, 2, "design.options.")
    if levels % 2:
        raise SpecError("design.options.num_levels",
                        f"got {levels}; allowed: an even integer >= 2 (odd levels bias the sample)")
    return {"num_levels": levels}


# --- samplers ----------------------------------------------------------------------------------
def _lhs(problem: dict[str, Any], spec: DesignSpec) -> np.ndarray:
    from scipy.stats import qmc

    return _scaled(qmc.LatinHypercube(d=problem["num_vars"], rng=spec.seed), problem, spec.samples)


def _sobol(problem: dict[str, Any], spec: DesignSpec) -> np.ndarray:
    """Scrambled Sobol' points; the spec allows only powers of two, the sizes that keep them balanced."""
    from scipy.stats import qmc

    return _scaled(qmc.Sobol(d=problem["num_vars"], scramble=True, rng=spec.seed), problem, spec.samples)


def _scaled(engine, problem: dict[str, Any], samples: int) -> np.ndarray:
    """``samples`` points of a scipy.stats.qmc engine, scaled from the unit cube to the bounds."""
    from scipy.stats import qmc

    low, high = np.array(problem["bounds"]).T
    return qmc.scale(engine.random(samples), low, high)


def _saltelli(problem: dict[str, Any], spec: DesignSpec) -> np.ndarray:
    """Saltelli's scheme for Sobol' indices: samples * (D + 2) points, or samples * (2D + 2)
    with second-order indices. SALib.sample.sobol replaces the deprecated SALib.sample.saltelli."""
    from SALib.sample import sobol as sobol_sample

    return sobol_sample.sample(problem, spec.samples, seed=spec.seed,
                               calc_second_order=spec.options["calc_second_order"])


def _morris(problem: dict[str, Any], spec: DesignSpec) -> np.ndarray:
    """Morris elementary-effects trajectories: samples * (D + 1) points."""
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(problem, spec.samples, seed=spec.seed,
                                num_levels=spec.options["num_levels"])


# --- estimators --------------------------------------------------------------------------------
SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma")


def sobol_indices(spec: DesignSpec, y: np.ndarray) -> pd.DataFrame:
    """First-order and total Sobol' indices with bootstrap CIs (Saltelli et al. 2010 estimators).
    An outcome that does not vary has no variance to share out: its indices are NaN, where
    SALib would divide by zero."""
    from SALib.analyze import sobol as sobol_analyze

    problem = salib_problem(spec)
    if np.ptp(y) == 0:
        return pd.DataFrame({"factor": problem["names"]} | dict.fromkeys(SOBOL_COLUMNS, np.nan))
    result = sobol_analyze.analyze(problem, y, calc_second_order=spec.options["calc_second_order"],
                                   num_resamples=NUM_RESAMPLES, conf_level=CONF_LEVEL,
                                   seed=_bootstrap_seed(spec))
    return pd.DataFrame({"factor": problem["names"]} | {c: result[c] for c in SOBOL_COLUMNS})


def morris_indices(spec: DesignSpec, y: np.ndarray) -> pd.DataFrame:
    """Morris screening (Campolongo et al. 2007): mu* ranks factors by influence, sigma flags
    interactions or non-linearity. SALib takes the raw (unrounded) sample matrix and measures
    each elementary effect as the change in the outcome over the factor's whole range."""
    from SALib.analyze import morris as morris_analyze

    problem = salib_problem(spec)
    result = morris_analyze.analyze(problem, sample_matrix(spec), y, num_resamples=NUM_RESAMPLES,
                                    conf_level=CONF_LEVEL, num_levels=spec.options["num_levels"],
                                    seed=_bootstrap_seed(spec))
    return pd.DataFrame({"factor": problem["names"]} | {c: result[c] for c in MORRIS_COLUMNS})


def _bootstrap_seed(spec: DesignSpec) -> int:
    """A non-zero seed from the experiment's, so the CIs are the same each time (SALib's Sobol'
    analyzer treats seed 0 as no seed)."""
    return int(np.random.SeedSequence(spec.seed).generate_state(1)[0]) or 1


# --- posterior designs -------------------------------------------------------------------------
POSTERIOR_KEY = 7_919
"""First spawn-key entry of the posterior draws' seeds: SeedSequence(seed, spawn_key=(it, j))
gives particle j its key."""
POSTERIOR_BANDS = ("bands cover parameter uncertainty and replicate noise together: every run of "
                   "every posterior draw ({points} draws x {replicates} replicates) is pooled")
_NOT_PARAMETERS = ("weight", "generation")


def _read_posterior(design: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
    """``samples = N`` and ``posterior = "results/calibration/.../posterior.parquet"`` (the
    particles of ``wasim calibrate --method abc``: a column per parameter and ``weight``).
    Written back to a result folder's spec.toml as [design.options] with the file's SHA-256, so
    a folder never mixes runs of two posteriors under one name."""
    import hashlib

    options = sub_table(design, "options", "design.")
    check_keys(options, {"posterior", "posterior_sha256"}, "design.options.", " for a posterior design")
    where = "design.posterior" if "posterior" in design else "design.options.posterior"
    path = design.get("posterior", options.get("posterior"))
    if not isinstance(path, str) or not path.strip():
        raise SpecError("design.posterior", f"got {path!r}; allowed: the path of a posterior.parquet "
                                            "written by `wasim calibrate --method abc`")
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise SpecError(where, f"cannot read {path}: {err.strerror}") from err
    digest = hashlib.sha256(data).hexdigest()
    if options.get("posterior_sha256", digest) != digest:
        raise SpecError("design.options.posterior_sha256", f"{path} changed since this spec was "
                                                           "written; allowed: the file it was made from")
    particles = _particles(path, where)
    for name in particles.columns.drop("weight"):
        if name in fixed:
            raise SpecError(f"parameters.{name}", "also drawn from the posterior; set it in one place")
    if "samples" not in design:
        raise SpecError("design.samples", "missing; a posterior design needs the number of draws "
                                          "(an integer >= 1)")
    samples = integer_value(design, "samples", 1, 1, "design.")
    drawable = int((particles["weight"] > 0).sum())
    if samples > drawable:
        raise SpecError("design.samples", f"got {samples}; allowed: at most {drawable}, the particles "
                                          f"of positive weight in {path} (each is drawn once)")
    return {"samples": samples, "options": {"posterior": path, "posterior_sha256": digest}}


def _particles(path: str, where: str) -> pd.DataFrame:
    """The posterior's particles: a float parameter of the schema per column, and ``weight``."""
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several kinds for a file that is no Parquet
        raise SpecError(where, f"{path} is not a Parquet file of particles ({err})") from err
    if "weight" not in frame:
        raise SpecError(where, f"{path} has no weight column; allowed: a posterior.parquet written "
                               "by `wasim calibrate --method abc`")
    frame = frame.drop(columns=[c for c in _NOT_PARAMETERS[1:] if c in frame])
    for name in frame.columns.drop("weight"):
        if name not in PARAMS or PARAMS[name].kind is not float:
            raise SpecError(where, f"column {name!r} of {path} is no float parameter of `wasim params`")
    weights = frame["weight"].to_numpy(float)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not weights.sum() > 0:
        raise SpecError(where, f"{path}: weights must be finite, >= 0 and not all 0")
    return frame


def _draw_posterior(spec: DesignSpec) -> list[dict[str, Any]]:
    """``samples`` particles drawn by weight without replacement, seeded by the experiment's
    seed: particle j gets the key log(u_j) / w_j, u_j uniform from its own seed, and the draws
    are the particles of largest key (Efraimidis & Spirakis 2006, sequential sampling in
    proportion to the weights). The order of the keys does not depend on ``samples``, so more
    samples add points after the first ones and change none of them. Each particle is drawn at
    most once, so each draw is its own design point with its own replicate seeds; for a few
    draws out of many particles this is drawing by weight, for nearly all of them it tends to
    taking every particle once (the report's bands then weigh particles equally)."""
    particles = _particles(spec.options["posterior"], "design.posterior")
    weights = particles["weight"].to_numpy(float)
    u = np.array([np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(POSTERIOR_KEY, j)))
                  .random() for j in range(len(weights))])
    with np.errstate(divide="ignore"):
        keys = np.where(weights > 0, np.log(u) / weights, -np.inf)
    order = np.argsort(-keys, kind="stable")[:spec.samples]
    names = sorted(particles.columns.drop("weight"))
    return [{name: float(particles[name].iloc[j]) for name in names} for j in order]


# --- the registry ------------------------------------------------------------------------------
DESIGNS: dict[str, DesignKind] = {kind.name: kind for kind in (
    DesignKind("grid", categorical=True),
    DesignKind("rows", lists_points=True),
    DesignKind("lhs", sampler=_lhs, categorical=True),
    DesignKind("sobol", sampler=_sobol, categorical=True, power_of_two=True),
    DesignKind("saltelli", sampler=_saltelli, power_of_two=True,
               option_keys=frozenset({"calc_second_order"}), options=_saltelli_options,
               sensitivity=Sensitivity(
                   "Sobol' indices", sobol_indices, SOBOL_COLUMNS,
                   bars=(("S1", "S1_conf", "first order S1"), ("ST", "ST_conf", "total ST")),
                   xlabel="share of the outcome's variance",
                   title="Sobol' indices of '{name}' ({interval}; {samples} base samples, {replicates})")),
    DesignKind("morris", sampler=_morris, option_keys=frozenset({"num_levels"}), options=_morris_options,
               sensitivity=Sensitivity(
                   "elementary effects", morris_indices, MORRIS_COLUMNS,
                   bars=(("mu_star", "mu_star_conf", "mu* (mean |effect|)"),
                         ("sigma", None, "sigma (spread)")),
                   xlabel="change in {outcome} over the factor's range",
                   title="Morris screening of '{name}' ({interval} on mu*; {samples} trajectories, "
                         "{replicates})",
                   outcome_units=True)),
    DesignKind("posterior", reader=_read_posterior, drawer=_draw_posterior,
               table_keys=frozenset({"kind", "samples", "posterior", "options"}), extends=True,
               pooled_bands=POSTERIOR_BANDS),
)}
"""Every kind of design, by the name its [design] table gives as ``kind``; the order is the
one error messages list them in."""
