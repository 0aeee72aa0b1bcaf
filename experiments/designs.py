"""Sampling designs: which parameter values each design point takes."""

from __future__ import annotations

import itertools
from typing import Any

from experiments.spec import ExperimentSpec


def design_points(spec: ExperimentSpec) -> list[dict[str, Any]]:
    """The varied values of every design point, in a stable order."""
    if spec.design_kind == "grid":
        return grid(spec.factors)
    raise ValueError(f"unknown design kind {spec.design_kind!r}")


def grid(factors: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Full factorial: every combination of the factors' values (one empty point if none)."""
    names = list(factors)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(factors[n] for n in names))]
