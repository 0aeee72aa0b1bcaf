"""Runs: one design point with one replicate seed, named by a stable hash.

Seeds form a hierarchy (numpy SeedSequence): root seed -> design point -> replicate. The
point's key is a hash of its varied values, not its position, so adding points or
replicates never changes a run already done. With common random numbers, all points share
the replicate seeds.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.designs import design_points
from experiments.spec import AdaptiveReplicates, ExperimentSpec
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


def plan_runs(spec: ExperimentSpec, out_dir: Path,
              replicates: Mapping[int, int] | None = None) -> list[RunTask]:
    """Every run of the experiment, once: a point a design repeats (Morris trajectories share
    points; rounding integer factors can merge points) keeps its first index and is run once.
    ``replicates`` gives points (by index) another number of replicates than the spec's, as
    adaptive replication does."""
    tasks, planned = [], set()
    for point, values in enumerate(design_points(spec)):
        parameters = resolve({**spec.parameters, **values})
        point_key = int(_stable_hash(values, 8), 16)
        for replicate in range((replicates or {}).get(point, spec.replicates)):
            spawn_key = (replicate,) if spec.common_random_numbers else (point_key, replicate)
            run_id = _stable_hash(
                {"parameters": parameters, "days": spec.days, "entropy": spec.seed,
                 "spawn_key": spawn_key}, 16)
            if run_id not in planned:
                planned.add(run_id)
                tasks.append(RunTask(run_id, point, replicate, values, parameters, spec.days,
                                     spec.seed, spawn_key, out_dir))
    return tasks


def next_round(spec: ExperimentSpec, planned: list[RunTask], outcomes: Mapping[str, float]
               ) -> list[RunTask]:
    """The runs adaptive replication adds once the ``planned`` runs are done (``outcomes``: the
    target outcome by run id): more replicates of each point whose interval is still too wide;
    none when no point needs more. The rounds depend only on the planned runs' outcomes, so a
    resumed experiment replays them and arrives at the same runs."""
    values: dict[int, list[float]] = defaultdict(list)
    for task in planned:
        values[task.point].append(outcomes[task.run_id])
    counts = {point: replicates_needed(v, spec.adaptive) for point, v in values.items()}
    known = {task.run_id for task in planned}
    return [t for t in plan_runs(spec, planned[0].out_dir, counts) if t.run_id not in known]


def replicates_needed(values: list[float], adaptive: AdaptiveReplicates) -> int:
    """Replicates a point should have: those it has once the 95% t-interval of its mean is
    within ``ci_halfwidth`` of the mean (or it has ``max``); else as many as its spread says
    will do, at least one more and at most twice as many, so that an early, noisy spread does
    not ask for the maximum at once."""
    from scipy import stats

    n = len(values)
    mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    halfwidth = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    allowed = adaptive.ci_halfwidth * abs(mean)
    if n >= adaptive.max or halfwidth <= allowed:
        return n
    wanted = math.ceil(n * (halfwidth / allowed) ** 2) if allowed else adaptive.max
    return min(adaptive.max, max(n + 1, min(2 * n, wanted)))
