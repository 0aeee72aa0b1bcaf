"""``wasim bench``: speed and memory of the full model (every agent type and mechanism on,
baseline parameters), in this process (with ``--repeat``, one process a run).
``peak_rss_mb`` is the process's peak resident memory; ``bytes_per_user`` counts the users'
arrays and the graph; ``setup_s`` includes the burn-in, whose own cost is ``burn_in_s``.
``cpu_ms_per_day`` is the CPU time of all the process's threads a day (the day's work,
whatever the cores), and ``cores_used`` that over the wall time (how much of it the model's
threads run in parallel). With ``--reference``,
the users' rules alone are also timed vectorised and per agent (``agents.docking``). With
``--sweep``, the experiment engine itself is timed instead (``sweep``). With ``--calm``, the
calm world's stationarity is measured instead (``calm``). With ``--repeat N``, the model's
benchmark or the sweep is measured N times, each in a process of its own (``measured_apart``,
``median_run``): this machine's speed drifts from one minute to the next."""

from __future__ import annotations

import importlib
import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from agents.docking import UserWorld
from model.blocks import run_blocks_serially
from model.market import WhatsAppMarket
from model.params import PARAMS


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
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(days):
        model.step()
    step_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    peak = _peak_rss_mb()
    return {
        "users": users,
        "days": days,
        "setup_s": round(setup_s, 4),
        "burn_in_days": model.p.burn_in_days,
        "burn_in_s": round(model.burn_in_s, 4),
        "step_s": round(step_s, 4),
        "ms_per_day": round(1000 * step_s / days, 2),
        "user_days_per_s": round(users * days / step_s),
        "cpu_ms_per_day": round(1000 * cpu_s / days, 2),
        "cores_used": round(cpu_s / step_s, 2),
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


def measured_apart(measure, repeats: int) -> list[dict]:
    """``measure()`` (picklable) ``repeats`` times; several runs each in a fresh process, so
    that each run's peak memory is its own and none inherits another's heap."""
    if repeats == 1:
        return [measure()]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn, max_tasks_per_child=1) as pool:
        return [pool.submit(measure).result() for _ in range(repeats)]


def median_run(runs: list[dict], key: str) -> dict:
    """The figures of the run with the median ``key`` (of an even number, the slower of the
    middle two), how many runs there were, and each run's ``key`` in the order measured
    (``<key>_runs``)."""
    median = sorted(runs, key=lambda figures: figures[key])[len(runs) // 2]
    return median | {"repeats": len(runs), f"{key}_runs": [figures[key] for figures in runs]}


SWEEP_RUNS = 16


def sweep(users: int, days: int, runs: int = SWEEP_RUNS, seed: int = 0) -> dict[str, float]:
    """What the experiment engine adds to the runs themselves: ``runs`` replicates of ``users``
    and ``days`` with 1 and with 2 workers (local backend), into a temporary folder.

    The overhead per run is the 1-worker wall time not spent inside the runs' simulations
    (planning, provenance, run files, the summary), divided by the runs; the speed-up is the
    1-worker wall time over the 2-worker one, pool start-up included. Runs compute their
    blocks serially in both cases, as a pool's workers do (``model.blocks``): the model's own
    threads would otherwise let the single worker use part of the second core. The planner's
    libraries (SALib, scipy.stats) are imported before timing: `wasim run` pays that once at
    start-up, not per run."""
    from experiments.runner import run_experiment
    from experiments.spec import parse_spec

    importlib.import_module("experiments.designs")
    was_serial = run_blocks_serially()

    spec = parse_spec({"experiment": {"name": "bench_sweep", "days": days, "replicates": runs,
                                      "seed": seed},
                       "parameters": {"n_users": users, "burn_in_days": 0}})  # the engine's cost alone
    wall_s, simulate_s = {}, {}
    with tempfile.TemporaryDirectory(prefix="wasim-sweep-") as tmp:
        try:
            for workers in (1, 2):
                started = time.perf_counter()
                result = run_experiment(spec, Path(tmp) / f"workers_{workers}", workers=workers,
                                        log=lambda _: None)
                wall_s[workers] = time.perf_counter() - started
                simulate_s[workers] = float(result.summary["elapsed_s"].sum())
        finally:
            run_blocks_serially(was_serial)
    return {
        "users": users,
        "days": days,
        "runs": runs,
        "run_s_mean": round(simulate_s[1] / runs, 3),
        "wall_s_1_worker": round(wall_s[1], 3),
        "wall_s_2_workers": round(wall_s[2], 3),
        "overhead_ms_per_run": round(1000 * (wall_s[1] - simulate_s[1]) / runs, 1),
        "speedup_2_workers": round(wall_s[1] / wall_s[2], 2),
    }


CALM_MEASURES = ("mean_concern", "multihoming_share", "churn_per_active_user_year", "privacy_share_of_churn",
                 "share_promo_optin")
"""The calm world's stocks and rates that should not drift: the four of a stationary calm world,
and the promotional opt-in that paid messaging rides on."""


def calm(users: int = 20_000, years: int = 5, seeds: int = 4) -> dict[str, float | None]:
    """Stationarity of the calm world: ``seeds`` runs of ``years`` years with the defaults and
    no event; each measure of ``CALM_MEASURES`` in year 2 and in the last year (means over the
    seeds), and its change relative to year 2 (None where it is 0 in year 2). The reachable
    pool is sized for the whole run (``pool_headroom``: the burn-in and the years at
    ``user_growth_per_year``, plus 10%), so joining goes on to the end as in a growing market;
    every other parameter is its default. Not a timed figure: a benchmark of the model's dynamics."""
    from experiments.runner import simulate

    days = 365 * years
    burn_in_years = PARAMS["burn_in_days"].default / 365
    headroom = 1.1 * PARAMS["user_growth_per_year"].default * (years + burn_in_years)
    by_year = []
    for seed in range(seeds):
        daily = simulate({"n_users": users, "pool_headroom": headroom}, days, np.random.SeedSequence(seed))
        daily["year"] = (daily["day"] - 1) // 365 + 1
        yearly = daily.groupby("year").agg(
            mean_concern=("mean_concern", "mean"), multihoming=("users_multihoming", "sum"),
            active=("users_active", "sum"), churned=("churn_today", "sum"),
            privacy=("churn_privacy", "sum"), share_promo_optin=("share_promo_optin", "mean"))
        yearly["multihoming_share"] = yearly["multihoming"] / yearly["active"]
        yearly["churn_per_active_user_year"] = yearly["churned"] / yearly["active"] * 365
        yearly["privacy_share_of_churn"] = yearly["privacy"] / yearly["churned"]
        by_year.append(yearly[list(CALM_MEASURES)])
    means = sum(by_year) / seeds
    figures: dict[str, float | None] = {"users": users, "years": years, "seeds": seeds,
                                 "pool_headroom": round(headroom, 3)}
    for measure in CALM_MEASURES:
        first, last = float(means.loc[2, measure]), float(means.loc[years, measure])
        figures[f"{measure}_year_2"] = round(first, 5)
        figures[f"{measure}_year_{years}"] = round(last, 5)
        figures[f"{measure}_change"] = round(last / first - 1, 4) if first > 0 else None
    return figures
