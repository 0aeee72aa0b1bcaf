"""``wasim calibrate --method abc``: a posterior over the uncertain behavioural parameters by
approximate Bayesian computation with sequential Monte Carlo (pyabc; Toni et al. 2009,
Beaumont et al. 2009), its history in SQLite.

What is inferred, from which priors, against which targets and at which sizes is data:
``experiments/calibration/abc.toml`` (read by ``experiments.abc_config``; a mistake exits 2
naming the field). Outputs (``experiments.abc_outputs``) go beside the history in the output folder.

Summary statistics: one number per target, the target's measure of a run (the same measures
as the Nelder-Mead fit, ``experiments.calibrate.RUN_MEASURES``, or a column of the daily rows
reduced by a named statistic), averaged over ``replicates`` runs of ``users`` users for
``days`` days. Each is a quantity a public figure speaks to, so it is sufficient for that
figure by construction; their scales differ by ten orders of magnitude (dollars a year against
shares), hence the adaptive distance.

Distance: ``AdaptivePNormDistance`` (Prangle 2017), p = 1, each statistic divided by its median
absolute deviation over the previous generation's simulations, accepted and rejected (pyabc's
default, ``all_particles_for_scale``), refitted each generation. An L1 norm is less dominated
by the worst-fitting statistic than L2. A run that fails gives NaN statistics and an infinite
distance: it is rejected, and the calibration goes on.

Reproducibility: pyabc's own parallel samplers reseed every worker from the operating system
(``np.random.seed()`` in ``eps_mixin.py`` and ``multicore_evaluation_parallel.py``), so which
particles are accepted depends on timing. ``SeededSampler`` instead gives proposal ``i`` of
generation ``t`` the seed ``SeedSequence(seed, spawn_key=(t + 1, i))`` and keeps the first
``n`` accepted proposals in index order: the posterior is the same for any number of workers,
on either backend, and a resumed calibration ends where an uninterrupted one ends.

Resuming: pyabc commits each generation to SQLite. The same command finds the history, checks
that it was made by the same configuration (``run.toml``), and continues it (``ABCSMC.load``).
The only state pyabc keeps in memory between generations is the adaptive distance's scales,
fitted on the rejected particles too; ``SeededSampler`` stores every generation's particles
(``samples/t<t>.pkl``, written before pyabc commits the generation), and ``ResumableDistance``
refits the scales from them on resume, exactly as the uninterrupted run did.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import random
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from experiments import pool_worker
from experiments.abc_config import AbcConfig, AbcSettings, AbcTarget
from experiments.checks import SpecError
from experiments.provenance import source_path, stamp
from model.params import resolve

DEFAULT_OUT = Path("results/calibration/abc")
HISTORY = "abc.db"
RUN_FILE = "run.toml"
SAMPLES_DIR = "samples"
BACKENDS = ("local", "dask")
PP_KEY = 1_000_003
"""First spawn-key entry of the posterior predictive draws' seeds (generations use t + 1)."""
SCALE_KEY = 1_000_033
"""First spawn-key entry of the scale table's seeds."""


# --- the simulator ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Simulator:
    """pyabc's model: a parameter set -> one summary statistic per target, each the mean of
    ``replicates`` runs. The runs' seeds are drawn from numpy's global generator, which
    ``SeededSampler`` seeds for each proposal, so a proposal's statistics are fixed by its seed."""

    targets: tuple[AbcTarget, ...]
    fixed: dict[str, Any]
    users: int
    days: int
    replicates: int

    def __call__(self, parameter: Mapping[str, float]) -> dict[str, float]:
        # pyabc's proposals draw from numpy's global generator, seeded per proposal
        entropy = int(np.random.randint(0, 2**63 - 1, dtype=np.int64))  # noqa: NPY002
        return self.statistics(dict(parameter), entropy)

    def statistics(self, values: Mapping[str, float], entropy: int) -> dict[str, float]:
        from experiments.runner import simulate  # the engine's run; imported where runs happen

        try:
            varied = {k: float(v) for k, v in values.items()}
            params = resolve({**self.fixed, "n_users": self.users, **varied})
            runs = []
            for r in range(self.replicates):
                daily = simulate(params, self.days, np.random.SeedSequence(entropy, spawn_key=(r,)))
                runs.append([t.of_run(daily, params) for t in self.targets])
            means = np.mean(np.array(runs, dtype=float), axis=0)
        except Exception as err:  # a failed run is rejected, not fatal (module docstring)
            if isinstance(err, MemoryError | OSError):
                raise
            logging.getLogger("wasim.abc").warning("a run failed at %s: %r", dict(values), err)
            means = np.full(len(self.targets), np.nan)
        return {t.key: float(m) for t, m in zip(self.targets, means, strict=True)}


def observed(config: AbcConfig) -> dict[str, float]:
    return {t.key: t.value for t in config.targets}


# --- the distance -----------------------------------------------------------------------------
def nan_mad(*, samples: np.ndarray, s0: np.ndarray, s_ids: list, t: int) -> np.ndarray:
    """pyabc's median absolute deviation, ignoring failed runs' NaN statistics."""
    samples = np.asarray(samples, dtype=float)
    return np.nanmedian(np.abs(samples - np.nanmedian(samples, axis=0)), axis=0)


def make_distance(resume: Callable[[], Any] | None = None):
    import pyabc

    class ResumableDistance(pyabc.AdaptivePNormDistance):
        """AdaptivePNormDistance whose first scales, on resume, are fitted on the stored
        particles of the last generation (rejected included), as the uninterrupted run's
        were; NaN distances (failed runs) are infinite."""

        def initialize(self, t, get_sample, x_0, total_sims):
            super().initialize(t=t, get_sample=resume or get_sample, x_0=x_0, total_sims=total_sims)

        def __call__(self, x, x_0, t=None, par=None):
            d = super().__call__(x, x_0, t, par)
            return np.inf if np.isnan(d) else d

    return ResumableDistance(p=1, scale_function=nan_mad)


# --- the sampler ------------------------------------------------------------------------------
def proposal_seed(seed: int, t: int, index: int) -> int:
    """The seed of proposal ``index`` of generation ``t`` (t = -1: the calibration sample)."""
    return int(np.random.SeedSequence(seed, spawn_key=(t + 1, index)).generate_state(1)[0])


def run_seeded(payload: bytes, seed: int):
    """One proposal: pyabc's ``simulate_one`` with numpy's and Python's generators seeded."""
    import cloudpickle

    simulate_one = _unpickled(payload, cloudpickle.loads)
    np.random.seed(seed)  # noqa: NPY002 - pyabc draws proposals from the global generator
    random.seed(seed)
    return simulate_one()


_CACHE: dict[str, Any] = {}


def _unpickled(payload: bytes, loads):
    """A generation's ``simulate_one``, unpickled once per worker and generation."""
    key = hashlib.sha256(payload).hexdigest()
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = loads(payload)
    return _CACHE[key]


Mapper = Callable[[Callable[[bytes, int], Any], bytes, list[int]], list[Any]]
"""``map_(func, payload, seeds)``: ``func(payload, seed)`` for each seed, results in seed order."""


PROGRESS_EVERY_S = 60.0
"""A progress line at most this often within a generation, and one when it ends."""


def make_sampler(seed: int, mapper: Mapper, batch: int, samples_dir: Path | None, log=None):
    import time

    import cloudpickle
    from pyabc.sampler import Sampler

    class SeededSampler(Sampler):
        """Proposals with fixed seeds, in batches, keeping the first ``n`` accepted in index
        order (module docstring). Every generation's particles are stored before pyabc commits
        it, so a resumed run can refit the distance's scales."""

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                    ana_vars=None):
            payload = cloudpickle.dumps(simulate_one)
            sample = self._create_empty_sample()
            accepted = index = 0
            started = shown = time.perf_counter()
            what = "calibration sample" if t < 0 else f"generation {t}"
            while accepted < n and index < max_eval:
                size = max(batch, 1)
                seeds = [proposal_seed(seed, t, i) for i in range(index, index + size)]
                for particle in mapper(run_seeded, payload, seeds):
                    index += 1
                    sample.append(particle)
                    accepted += bool(particle.accepted)
                    if accepted == n:
                        break
                now = time.perf_counter()
                if log is not None and (accepted == n or now - shown >= PROGRESS_EVERY_S):
                    shown = now
                    log(f"{what}: {accepted} of {n} accepted after {index} simulations "
                        f"({index / (now - started):.2f} simulations/s)")
            self.nr_evaluations_ = index
            if samples_dir is not None:
                _write_atomic(samples_dir / f"t{t}.pkl", pickle.dumps(sample.all_particles))
            return sample

    return SeededSampler()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def stored_sample(samples_dir: Path, t: int):
    """The particles generation ``t`` left, rejected included, as a pyabc Sample."""
    from pyabc.population import Sample

    sample = Sample(record_rejected=True)
    for particle in pickle.loads((samples_dir / f"t{t}.pkl").read_bytes()):
        sample.append(particle)
    return sample


@contextmanager
def mapper(backend: str, workers: int | None, scheduler: str | None) -> Iterator[Mapper]:
    """A map over this machine's cores (a pool of spawned processes; this process for one
    worker) or a Dask cluster (the one at ``scheduler``, else a local one on loopback). The
    Dask cluster is created here, called from ``wasim``'s entry point, whose script runs it
    under ``if __name__ == "__main__"``: its nannies spawn processes that re-import the main
    module, which must not start another cluster."""
    count = workers or os.cpu_count() or 1
    if backend == "dask":
        from experiments.runner import dask_client

        with dask_client(count, scheduler) as client:

            def dask_map(func, payload: bytes, seeds: list[int]) -> list[Any]:
                # the payload travels with each task (tens of kB): a scattered copy was lost
                # by LocalCluster's workers ("Could not find data"), cancelling the batch
                return client.gather(client.map(func, [payload] * len(seeds), seeds, pure=False))

            yield dask_map
        return
    if count == 1:
        yield lambda func, payload, seeds: [func(payload, s) for s in seeds]
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                               initializer=pool_worker.start)
    try:
        yield lambda func, payload, seeds: list(pool.map(func, [payload] * len(seeds), seeds))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- the run ----------------------------------------------------------------------------------
def priors(config: AbcConfig):
    import pyabc

    return pyabc.Distribution(**{p.name: pyabc.RV("uniform", p.low, p.high - p.low) for p in config.priors})


def check_history(config: AbcConfig, out: Path) -> bool:
    """True if ``out`` holds a history of this configuration to continue, False if there is
    none; a history of another configuration is refused (exit 2), never overwritten."""
    run_file, db = out / RUN_FILE, out / HISTORY
    if not db.exists():
        return False
    if not run_file.exists():
        raise SpecError("--out", f"{db} exists without {RUN_FILE}: not a history of `wasim "
                                 "calibrate --method abc`; allowed: another --out")
    stored = tomllib.loads(run_file.read_text()).get("identity")
    if _canonical(stored) != _canonical(config.identity()):
        raise SpecError("--out", f"{db} holds a calibration of another configuration ({run_file}); "
                                 "allowed: the same configuration (to continue it) or another --out")
    return True


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def _write_run_file(config: AbcConfig, out: Path, made_by: dict, backend: str, workers: int | None) -> None:
    _write_atomic(out / RUN_FILE, tomli_w.dumps({
        "identity": json.loads(_canonical(config.identity())),
        "config": source_path(config.path),
        "started": {**made_by, "backend": backend, "workers": workers or os.cpu_count() or 1},
    }).encode())


@dataclass
class AbcRun:
    history: Any
    """pyabc's History."""
    resumed_from: int
    """Generations already in the history when this call started."""
    generations: int
    simulations: int
    elapsed_s: float
    made_by: dict
    """``provenance.stamp`` at this call's start, before it wrote to the history."""


def run_abc(config: AbcConfig, out: Path, *, workers: int | None = None, backend: str = "local",
            scheduler: str | None = None, log=print, stop_after: int | None = None) -> AbcRun:
    """Run, or continue, the calibration of ``config`` into ``out``. ``stop_after``: end after
    that many generations in all (tests stop a calibration half-way with it)."""
    _check_backend(backend, workers, scheduler)
    resume, made_by = check_history(config, out), stamp()
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        _write_run_file(config, out, made_by, backend, workers)
    s = config.settings
    simulator = Simulator(config.targets, config.fixed, s.users, s.days, s.replicates)
    if resume:
        log(f"continuing the calibration in {out}")
    else:
        log(f"calibrating {len(config.priors)} parameters on {len(config.targets)} targets into {out}")
    return run_smc(simulator, priors(config), observed(config), out, s, workers=workers, backend=backend,
                   scheduler=scheduler, log=log, stop_after=stop_after, made_by=made_by)


def run_smc(model: Callable[[Mapping[str, float]], dict[str, float]], prior, observed_stats: dict[str, float],
            out: Path, settings: AbcSettings, *, workers: int | None = None, backend: str = "local",
            scheduler: str | None = None, log=print, stop_after: int | None = None,
            made_by: dict | None = None) -> AbcRun:
    """pyabc's ABC-SMC of ``model`` (parameters -> statistics) under ``prior``, its history in
    ``out/abc.db``: started, or continued when the history holds generations. Uses the
    population size, generations, simulation budget and seed of ``settings``. ``made_by``: the
    caller's ``provenance.stamp``, read before it wrote anything (default: read now)."""
    import time

    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / HISTORY
    db = f"sqlite:///{db_path.absolute()}"
    samples_dir = out / SAMPLES_DIR
    started, made_by = time.perf_counter(), made_by or stamp()
    resume = db_path.exists() and _has_run(db)
    done = pyabc.History(db).max_t + 1 if resume else 0
    count = workers or os.cpu_count() or 1
    with mapper(backend, workers, scheduler) as map_:
        sampler = make_sampler(settings.seed, map_, count, samples_dir, log)
        resume_sample = (lambda: stored_sample(samples_dir, done - 1)) if done > 0 else None
        abc = pyabc.ABCSMC(model, prior, make_distance(resume_sample),
                           population_size=settings.population_size, sampler=sampler)
        history = abc.load(db, 1) if resume else abc.new(db, observed_stats)
        if done:
            log(f"{done} generations and {history.total_nr_simulations} simulations already in {db_path}")
        last = min(settings.generations, stop_after or settings.generations)
        if last > done and history.total_nr_simulations < settings.max_simulations:
            history = abc.run(max_nr_populations=last - done,
                              max_total_nr_simulations=settings.max_simulations)
    generations = history.max_t + 1
    log(f"{generations} generations, {history.total_nr_simulations} simulations; history in {db_path}")
    return AbcRun(history, done, generations, history.total_nr_simulations, time.perf_counter() - started,
                  made_by)


def _has_run(db: str) -> bool:
    """The history holds a run (``abc.new`` was done): a history killed before it is empty."""
    import pyabc

    try:
        return pyabc.History(db).n_populations >= 0 and bool(pyabc.History(db).all_runs())
    except Exception:  # an empty file: no tables yet
        return False


def _check_backend(backend: str, workers: int | None, scheduler: str | None) -> None:
    if backend not in BACKENDS:
        raise SpecError("--backend", f"got {backend!r}; allowed: one of {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise SpecError("--scheduler", f"got {scheduler!r} with --backend {backend}; allowed only "
                                       "with --backend dask")
    if workers is not None and workers < 1:
        raise SpecError("--workers", f"got {workers}; allowed: an integer >= 1")


def final_particles(history) -> pd.DataFrame:
    """The last generation's particles: one column per parameter, ``weight``, ``generation``."""
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    frame = frame.reset_index(drop=True)
    frame.columns.name = None
    return frame.assign(weight=np.asarray(weights, float), generation=history.max_t)


# --- posterior draws and their runs -----------------------------------------------------------
def weighted_draws(weights: np.ndarray, n: int, seed: int, key: int) -> np.ndarray:
    """``n`` indices drawn with replacement in proportion to ``weights``; draw ``i`` is fixed
    by (seed, key, i) alone, so more draws never change the first ones."""
    cumulative = np.cumsum(np.asarray(weights, float))
    cumulative /= cumulative[-1]
    u = [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key, i))).random() for i in range(n)]
    return np.minimum(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1)


def run_statistics(tasks: list[tuple[dict[str, float], int, int]], simulator_args: dict[str, Any],
                   workers: int | None, backend: str, scheduler: str | None) -> list[dict[str, float]]:
    """Each task's statistics: (values, users, entropy) run by ``Simulator.statistics`` through
    the same backends as the calibration, in task order."""
    import cloudpickle

    payload = cloudpickle.dumps((tasks, simulator_args))
    with mapper(backend, workers, scheduler) as map_:
        return map_(run_task, payload, list(range(len(tasks))))


def run_task(payload: bytes, index: int) -> dict[str, float]:
    import cloudpickle

    tasks, simulator_args = _unpickled(payload, cloudpickle.loads)
    values, users, entropy = tasks[index]
    return Simulator(**{**simulator_args, "users": users}).statistics(values, entropy)
