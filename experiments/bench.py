"""``wasim bench``: speed and memory of the full model (every agent type and mechanism on,
baseline parameters), in this process. ``peak_rss_mb`` is the process's peak resident
memory; ``bytes_per_user`` counts the users' arrays and the graph. With ``--reference``,
the users' rules alone are also timed vectorised and per agent (``model.docking``)."""

from __future__ import annotations

import resource
import time

import numpy as np

from model import WhatsAppMarket
from model.docking import UserWorld


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(users: int, days: int, seed: int = 0) -> dict[str, float]:
    before = _rss_mb()
    started = time.perf_counter()
    model = WhatsAppMarket(rng=np.random.SeedSequence(seed), n_users=users, shopping_section=True,
                           virtual_goods=True, media_shock_day=max(days // 2, 1))
    setup_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(days):
        model.step()
    step_s = time.perf_counter() - started
    peak = _peak_rss_mb()
    return {
        "users": users,
        "days": days,
        "setup_s": round(setup_s, 4),
        "step_s": round(step_s, 4),
        "ms_per_day": round(1000 * step_s / days, 2),
        "user_days_per_s": round(users * days / step_s),
        "peak_rss_mb": round(peak, 1),
        "rss_growth_mb": round(_rss_mb() - before, 1),
        "bytes_per_user": round(population_bytes(model) / len(model.users)),
    }


def reference_bench(users: int, days: int, seed: int = 0) -> dict[str, float]:
    """User-days per second of the same user rules, per agent (``days`` days) and
    vectorised (at least 30 days, for a stable figure), and the speed-up."""
    rates = {}
    for implementation, span in (("reference", days), ("vectorised", max(days, 30))):
        world = UserWorld(implementation=implementation, rng=np.random.SeedSequence(seed), n_users=users)
        started = time.perf_counter()
        for _ in range(span):
            world.step()
        rates[implementation] = users * span / (time.perf_counter() - started)
    return {
        "reference_days": days,
        "reference_user_days_per_s": round(rates["reference"]),
        "users_only_user_days_per_s": round(rates["vectorised"]),
        "speedup_vs_reference": round(rates["vectorised"] / rates["reference"], 1),
    }


def population_bytes(model) -> int:
    """Bytes held by the users' arrays and the social graph."""
    users = model.users
    arrays = [v for v in vars(users).values() if isinstance(v, np.ndarray)]
    arrays += [users.graph.data, users.graph.indices, users.graph.indptr]
    return sum(a.nbytes for a in arrays)
