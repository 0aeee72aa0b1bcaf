"""Sampling designs: which parameter values each design point takes.

Run ids and seeds derive from the points' values, so a design must give the same points,
in the same order, every time it is read: sampled designs draw from the experiment's seed.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from scipy.stats import qmc

from experiments.spec import ExperimentSpec
from model.params import PARAMS


def design_points(spec: ExperimentSpec) -> list[dict[str, Any]]:
    """The varied values of every design point, in a stable order."""
    if spec.design_kind == "grid":
        return grid(spec.factors)
    if spec.design_kind == "rows":
        return [dict(point) for point in spec.points]
    names = salib_problem(spec)["names"]
    return [{name: _value(name, spec.factors[name], x) for name, x in zip(names, row, strict=True)}
            for row in sample_matrix(spec)]


def grid(factors: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Full factorial: every combination of the factors' values (one empty point if none)."""
    names = list(factors)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(factors[n] for n in names))]


def salib_problem(spec: ExperimentSpec) -> dict[str, Any]:
    """SALib's problem for a sampled design: one column per factor, in name order because TOML
    writers reorder tables and the points must not change when a spec is written and read back.
    A range factor's bounds are its range; a categorical factor's column holds a level index."""
    names = sorted(spec.factors)
    return {"num_vars": len(names), "names": names,
            "bounds": [_bounds(spec.factors[name]) for name in names]}


def sample_matrix(spec: ExperimentSpec) -> np.ndarray:
    """The raw sample of a sampled design, one row per design point in order, before integer
    rounding and level lookup: with ``salib_problem`` it is what SALib's analyzers take as X."""
    return _SAMPLERS[spec.design_kind](salib_problem(spec), spec)


def _bounds(factor: list[Any] | dict[str, Any]) -> list[float]:
    if isinstance(factor, list):
        return [0.0, float(len(factor))]
    return [float(factor["low"]), float(factor["high"])]


def _lhs(problem: dict[str, Any], spec: ExperimentSpec) -> np.ndarray:
    return _scaled(qmc.LatinHypercube(d=problem["num_vars"], rng=spec.seed), problem, spec.samples)


def _sobol(problem: dict[str, Any], spec: ExperimentSpec) -> np.ndarray:
    """Scrambled Sobol' points; the spec allows only powers of two, the sizes that keep them balanced."""
    return _scaled(qmc.Sobol(d=problem["num_vars"], scramble=True, rng=spec.seed), problem, spec.samples)


def _scaled(engine: qmc.QMCEngine, problem: dict[str, Any], samples: int) -> np.ndarray:
    low, high = np.array(problem["bounds"]).T
    return qmc.scale(engine.random(samples), low, high)


def _saltelli(problem: dict[str, Any], spec: ExperimentSpec) -> np.ndarray:
    """Saltelli's scheme for Sobol' indices: samples * (D + 2) points, or samples * (2D + 2)
    with second-order indices. SALib.sample.sobol replaces the deprecated SALib.sample.saltelli."""
    return sobol_sample.sample(problem, spec.samples, seed=spec.seed,
                               calc_second_order=spec.options["calc_second_order"])


def _morris(problem: dict[str, Any], spec: ExperimentSpec) -> np.ndarray:
    """Morris elementary-effects trajectories: samples * (D + 1) points."""
    return morris_sample.sample(problem, spec.samples, seed=spec.seed,
                                num_levels=spec.options["num_levels"])


_SAMPLERS = {"lhs": _lhs, "sobol": _sobol, "saltelli": _saltelli, "morris": _morris}


def _value(name: str, factor: list[Any] | dict[str, Any], x: float) -> Any:
    """A raw sample value as a parameter value: a level index picks its level, an integer
    parameter takes the nearest integer. Clipping keeps float error from leaving the range,
    and plain Python types keep the points' hashes (hence run ids) stable."""
    if isinstance(factor, list):
        return factor[min(int(x), len(factor) - 1)]
    x = min(max(float(x), factor["low"]), factor["high"])
    return math.floor(x + 0.5) if PARAMS[name].kind is int else x
