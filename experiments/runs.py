"""Runs: one design point with one replicate seed, named by a stable hash.

Seeds form a hierarchy (numpy SeedSequence): root seed -> design point -> replicate. The
point's key is a hash of its varied values, not its position, so adding points or
replicates never changes a run already done. With common random numbers, all points share
the replicate seeds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.designs import design_points
from experiments.spec import ExperimentSpec
from model.params import resolve


@dataclass(frozen=True)
class RunTask:
    run_id: str
    point: int
    replicate: int
    point_values: dict[str, Any]
    parameters: dict[str, Any]  # every model parameter, resolved
    days: int
    seed_entropy: int
    seed_spawn_key: tuple[int, ...]
    out_dir: Path

    def seed_sequence(self) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed_entropy, spawn_key=self.seed_spawn_key)


def _stable_hash(data: Any, digits: int) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:digits]


def plan_runs(spec: ExperimentSpec, out_dir: Path) -> list[RunTask]:
    """Every run of the experiment, once: a point a design repeats (Morris trajectories share
    points; rounding integer factors can merge points) keeps its first index and is run once."""
    tasks, planned = [], set()
    for point, values in enumerate(design_points(spec)):
        parameters = resolve({**spec.parameters, **values})
        point_key = int(_stable_hash(values, 8), 16)
        for replicate in range(spec.replicates):
            spawn_key = (replicate,) if spec.common_random_numbers else (point_key, replicate)
            run_id = _stable_hash(
                {"parameters": parameters, "days": spec.days, "entropy": spec.seed,
                 "spawn_key": spawn_key}, 16)
            if run_id not in planned:
                planned.add(run_id)
                tasks.append(RunTask(run_id, point, replicate, values, parameters, spec.days,
                                     spec.seed, spawn_key, out_dir))
    return tasks
