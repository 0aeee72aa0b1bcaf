"""``wasim search``: robust multi-objective search over the policy levers, on the engine.

A search spec is an experiment spec whose ``[design]`` is replaced by a ``[search]`` table: the
levers and their ranges or choices, the objectives (outcomes to maximise or minimise), the
constraints (``churned_share <= 0.05``), and a set of scenarios of uncertain parameters with the
statistic taken over them (the mean, or a percentile: the 10th of revenue is what a cautious
planner can count on, the 90th of churn what she must be ready for).

How it runs (Optuna's ask-and-tell):

1. Optuna's TPE sampler (multi-objective, multivariate) asks for a batch of candidates.
2. The batch is one sweep of the engine (``run_experiment``): every candidate x every scenario x
   the replicates, on common random numbers, so two candidates differ by their levers only. The
   folder's ``spec.toml`` is a ``rows`` design of every candidate x scenario evaluated so far, so
   ``wasim status``, ``plot``, ``report`` and ``compare`` read the folder as any other.
3. Each candidate's objective is the statistic over scenarios of its per-scenario replicate means;
   each constraint's the same for its column. They are told to the study, the constraints through
   ``trial.set_constraint`` (feasible when <= 0), which TPE reads.

Resuming: the study lives in the result folder (``study.journal``, Optuna's
``JournalStorage(JournalFileBackend(...))``) and the runs in ``runs/``. Each trial's sampler is
seeded from the experiment's seed and the trial's number, so a trial's candidate depends only on
the trials told before its batch (and those asked before it in the batch), never on how often the
search was started: a stopped search, run again, asks what an uninterrupted one would have asked,
finds the runs already made and ends where it would have ended. Raising ``trials`` continues the
study; no run is done twice (a run's id is a hash of its parameters and seed). A journal whose
last write was cut short (a kill, a full disk) is refused before anything is written (exit 2):
Optuna would append to its broken line and then read nothing of the study.

Outputs: ``candidates.csv`` (every trial: levers, objective statistics with 95% intervals over
replicates, constraint values, feasibility, Pareto membership), ``pareto.csv`` (the feasible
Pareto set, Optuna's ``best_trials``), ``figures/front.png`` (the front among every candidate).

The [search] table is read by ``experiments.search_spec`` (its levers by
``experiments.search_levers``); the outputs are written by ``experiments.search_outputs``. Optuna
is imported by the functions that use it: ``wasim`` starts without it.
"""

from __future__ import annotations

import json
import shutil
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from experiments.checks import SpecError
from experiments.lock import FolderLock
from experiments.search_outputs import write_outputs
from experiments.search_spec import SAMPLER_KEY, SearchSpec, parse_search, robust_value
from experiments.spec import ExperimentSpec, parse_spec
from experiments.storage import ResultFolder, atomic_write

STUDY_NAME = "search"
SEARCH_FILE, JOURNAL_FILE, LOCK_FILE = "search.toml", "study.journal", "search.lock"


@dataclass
class SearchResult:
    folder: Path
    candidates: pd.DataFrame
    pareto: pd.DataFrame
    files: list[Path]
    failed: int = 0
    timing: dict[str, float] = field(default_factory=dict)
    """Wall time, time in the engine's sweeps, and the runs' own simulation time (seconds)."""

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def run_search(search: SearchSpec, out: str | Path | None = None, workers: int | None = None,
               fresh: bool = False, log=print, *, backend: str = "local", scheduler: str | None = None,
               time_limit_s: float | None = None) -> SearchResult:
    """Run (or continue) ``search`` into its result folder; return its candidates and Pareto set.

    Every batch of candidates is one ``run_experiment`` sweep. A folder holding another search
    (or an experiment that is not a search) is refused (exit 2) unless ``fresh``. Failed runs
    stop the search before their batch is told (exit 1); the next call retries them."""
    from experiments.runner import check_options, dask_client, run_experiment

    started = time.perf_counter()
    check_options(workers, backend, scheduler, time_limit_s)
    if scheduler is not None:
        # a cluster it cannot use is refused before the lock makes the folder or --fresh empties
        # it; each batch's sweep then connects on its own
        with dask_client(None, scheduler):
            pass
    folder = ResultFolder(out or Path("results") / search.experiment.name)
    lock = FolderLock(folder.path, log=log)
    lock.path = folder.path / LOCK_FILE  # the search's own lock; each sweep takes run.lock
    with lock:
        _prepare(folder, search, fresh)
        study = _study(folder, search)
        timing = {"sweeps_s": 0.0, "runs_s": 0.0}
        failed = 0
        while (batch := _next_batch(study, search)) is not None:
            trials, first = batch
            log(f"batch of trials {first}-{first + len(trials) - 1} of {search.trials}: "
                f"{len(trials)} candidates x {len(search.scenarios)} scenarios x "
                f"{search.experiment.replicates} replicates")
            spec, points = engine_spec(search, _candidates(study))
            _extend_spec(folder, spec)
            sweep_started = time.perf_counter()
            result = run_experiment(spec, folder.path, workers, log=log, backend=backend,
                                    scheduler=scheduler, time_limit_s=time_limit_s)
            timing["sweeps_s"] += time.perf_counter() - sweep_started
            timing["runs_s"] += _runs_time(folder, result.done)
            if result.failed:
                failed = len(result.failed)
                log(f"{failed} runs failed: the batch is not told; `wasim search` again retries them")
                break
            table = evaluate(search, spec, points, result.summary)
            _tell(study, search, trials, table)
        candidates = candidate_table(search, study, folder)
        pareto = candidates[candidates["pareto"]].reset_index(drop=True)
        files = write_outputs(folder, search, candidates, pareto)
    timing["wall_s"] = time.perf_counter() - started
    return SearchResult(folder.path, candidates, pareto, files, failed, timing)


def _runs_time(folder: ResultFolder, run_ids: list[str]) -> float:
    """The simulation time of the runs just made, as their records give it."""
    return sum((folder.read_record(run_id) or {}).get("elapsed_s", 0.0) for run_id in run_ids)


def _prepare(folder: ResultFolder, search: SearchSpec, fresh: bool) -> None:
    """Make the folder the search's: refuse one holding another search or an experiment, or
    whose study journal cannot be read back, before writing anything; with ``fresh``, discard
    what it holds first."""
    search_path = folder.path / SEARCH_FILE
    if fresh and folder.path.exists():
        for part in (folder.runs_dir, folder.failed_dir, folder.figures_dir, folder.path / "discover"):
            shutil.rmtree(part, ignore_errors=True)
        for name in (SEARCH_FILE, JOURNAL_FILE, "spec.toml", "summary.parquet", "provenance.json",
                     "candidates.csv", "pareto.csv", "report.html", "outcomes.csv", "contrasts.csv"):
            (folder.path / name).unlink(missing_ok=True)
    if search_path.exists():
        try:
            old = parse_search(tomllib.loads(search_path.read_text())).identity()
        except (ValueError, OSError) as err:
            raise SpecError("--out", f"{search_path} is damaged ({err}); restore it, or start again "
                                     "with --fresh (which discards the folder's runs)") from err
        if old != search.identity():
            raise SpecError("--out", f"{folder.path} holds another search (levers, objectives, "
                                     "scenarios, horizon, replicates or seed differ); use --fresh to "
                                     "replace it or --out for a new folder")
    elif folder.spec_path.exists():
        raise SpecError("--out", f"{folder.path} holds an experiment that is not a search; use "
                                 "--fresh to replace it or --out for a new folder")
    journal = folder.path / JOURNAL_FILE
    if journal.exists() and (damage := _journal_damage(journal)):
        raise SpecError("--out", f"{journal} is damaged ({damage}), so the study cannot be read "
                                 "back; restore it from a copy, or start the search again with "
                                 "--fresh (which discards the folder's runs)")
    folder.path.mkdir(parents=True, exist_ok=True)
    atomic_write(search_path, lambda p: p.write_text(tomli_w.dumps(search.to_toml_dict())))


def _journal_damage(path: Path) -> str | None:
    """What makes the journal at ``path`` unreadable; None if every line is a whole JSON entry.
    A write cut short (a kill, a full disk) leaves a last line without its newline, which
    Optuna skips as another process's write in progress and then appends its next entry to,
    after which it can read nothing: a search must not start on it."""
    try:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, 1):
                if not line.endswith(b"\n"):
                    return f"line {number} is cut short"
                try:
                    entry = json.loads(line)
                except ValueError:
                    return f"line {number} is not JSON"
                if not isinstance(entry, dict) or "op_code" not in entry:
                    return f"line {number} is not a journal entry"
    except OSError as err:
        return f"it cannot be read: {err.strerror}"
    return None


def _extend_spec(folder: ResultFolder, spec: ExperimentSpec) -> None:
    """Give the folder's spec.toml the batch's design before the sweep: the engine refuses a
    folder whose spec differs, and a search's grows by the new candidates' points. Only a
    growth is written: the points already in it must lead the new design, in order."""
    if not folder.spec_path.exists():
        return
    old = parse_spec(folder.read_spec_dict())
    if old.points != spec.points[:len(old.points)]:
        raise SpecError("--out", f"{folder.spec_path} lists points this search never asked for; "
                                 "use --fresh to start the search again")
    atomic_write(folder.spec_path, lambda p: p.write_text(tomli_w.dumps(spec.to_toml_dict())))


def _study(folder: ResultFolder, search: SearchSpec):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(folder.path / JOURNAL_FILE)))
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, load_if_exists=True,
                                directions=[o.direction for o in search.objectives])
    if not study.get_trials(deepcopy=False):
        for candidate in search.start:
            study.enqueue_trial(candidate)
    return study


def _sampler(search: SearchSpec, number: int):
    """Trial ``number``'s sampler: multivariate TPE seeded from the experiment's seed and the
    trial's number, so a trial's candidate never depends on where the search was restarted."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.samplers import TPESampler

    seed = int(np.random.SeedSequence(search.experiment.seed,
                                      spawn_key=(SAMPLER_KEY, number)).generate_state(1)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return TPESampler(multivariate=True, seed=seed)


def _next_batch(study, search: SearchSpec):
    """The trials of the next batch to evaluate and the first's number, asking those not yet
    asked; None when every trial is told. Batches are fixed by trial number: trials
    ``k * batch`` to ``(k + 1) * batch - 1``."""
    from optuna.trial import Trial, TrialState

    trials = study.get_trials(deepcopy=False)
    open_ = [t.number for t in trials if t.state != TrialState.COMPLETE]
    if not open_ and len(trials) >= search.trials:
        return None
    first = (min(open_) if open_ else len(trials)) // search.batch * search.batch
    end = max(min(first + search.batch, search.trials), first + 1)
    # ask until the batch's trials exist and none waits (start candidates are enqueued, waiting)
    while len(trials) < end or any(t.state == TrialState.WAITING for t in trials[first:end]):
        waiting = [t.number for t in trials if t.state == TrialState.WAITING]
        study.sampler = _sampler(search, waiting[0] if waiting else len(trials))
        trial = study.ask()
        for lever in search.levers:
            lever.suggest(trial)
        trials = study.get_trials(deepcopy=False)
    end = max(end, min(len(trials), first + search.batch))
    # a trial asked before a restart is reopened by its storage id (FrozenTrial keeps it private)
    batch = [Trial(study, t._trial_id) for t in trials[first:end] if t.state != TrialState.COMPLETE]
    return batch, first


def _levers_of(trial, search: SearchSpec) -> dict[str, Any]:
    return {lever.name: trial.params[lever.name] for lever in search.levers}


def _candidates(study) -> list[dict[str, Any]]:
    """Every distinct candidate asked so far (its levers), in order of first asking; start
    candidates still waiting to be asked are not candidates yet."""
    from optuna.trial import TrialState

    seen: dict[str, dict[str, Any]] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.COMPLETE)):
        key = json.dumps(trial.params, sort_keys=True)
        seen.setdefault(key, dict(trial.params))
    return list(seen.values())


def engine_spec(search: SearchSpec, candidates: list[dict[str, Any]]
                ) -> tuple[ExperimentSpec, list[tuple[int, int]]]:
    """The experiment the engine runs: a rows design of every candidate x scenario (candidate
    by candidate), on common random numbers, and each point's (candidate, scenario)."""
    levers = {lever.name: lever for lever in search.levers}
    points, index = [], []
    for c, candidate in enumerate(candidates):
        values = {}
        for name, value in candidate.items():
            values |= levers[name].parameters(value)
        for s, scenario in enumerate(search.scenarios):
            label = f"candidate {c}" + (f", scenario {s}" if len(search.scenarios) > 1 else "")
            points.append({"label": label, **values, **scenario})
            index.append((c, s))
    exp = search.experiment
    spec = parse_spec({"experiment": {"name": exp.name, "description": exp.description,
                                      "days": exp.days, "replicates": exp.replicates,
                                      "seed": exp.seed, "common_random_numbers": True},
                       "parameters": dict(exp.parameters),
                       "design": {"kind": "rows", "points": points}})
    return spec, index


def evaluate(search: SearchSpec, spec: ExperimentSpec, index: list[tuple[int, int]],
             summary: pd.DataFrame) -> dict[int, dict[str, float]]:
    """Each candidate's robust value of every column the search reads, with its interval:
    ``{candidate: {column: value, column_low: ..., column_high: ...}}``."""
    replicates = search.experiment.replicates
    runs = summary.set_index(["point", "replicate"]).sort_index()
    by_candidate: dict[int, list[int]] = {}
    for point, (c, _s) in enumerate(index):
        by_candidate.setdefault(c, []).append(point)
    table = {}
    for c, points in by_candidate.items():
        row = {}
        for column in search.columns:
            outcome = np.array([[runs.loc[(p, r), column] for r in range(replicates)] for p in points])
            value, low, high = robust_value(search.statistics[column], outcome)
            row |= {column: value, f"{column}_low": low, f"{column}_high": high}
        table[c] = row
    return table


def _tell(study, search: SearchSpec, trials: list, table: dict[int, dict[str, float]]) -> None:
    keys = {json.dumps(c, sort_keys=True): i for i, c in enumerate(_candidates(study))}
    for trial in trials:
        row = table[keys[json.dumps(trial.params, sort_keys=True)]]
        for constraint in search.constraints:
            trial.set_constraint(constraint.text, constraint.violation(row[constraint.outcome]))
        study.tell(trial, [row[o.outcome] for o in search.objectives])


def candidate_table(search: SearchSpec, study, folder: ResultFolder) -> pd.DataFrame:
    """One row per told trial: its number, candidate, levers, every column's robust value with
    its 95% interval, the constraints' values, feasibility, and whether it is on the Pareto set
    (Optuna's ``best_trials``: feasible and not dominated)."""
    from optuna.trial import TrialState

    told = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if not told:
        return pd.DataFrame(columns=["trial", "candidate", "feasible", "pareto"])
    candidates = _candidates(study)
    spec, index = engine_spec(search, candidates)
    summary = folder.summary()
    table = evaluate(search, spec, index, summary[summary["run_id"].isin(_planned_ids(spec, folder))])
    keys = {json.dumps(c, sort_keys=True): i for i, c in enumerate(candidates)}
    best = {t.number for t in study.best_trials}
    rows = []
    for trial in told:
        c = keys[json.dumps(trial.params, sort_keys=True)]
        constraints = {f"constraint: {k}": v for k, v in trial.constraints.items()}
        rows.append({"trial": trial.number, "candidate": c, **_levers_of(trial, search), **table[c],
                     **constraints, "feasible": all(v <= 0 for v in trial.constraints.values()),
                     "pareto": trial.number in best})
    frame = pd.DataFrame(rows)
    first = ~frame.duplicated("candidate")  # a candidate asked twice is one point of the front
    frame["pareto"] &= first
    return frame


def _planned_ids(spec: ExperimentSpec, folder: ResultFolder) -> set[str]:
    from experiments.runs import plan_runs

    return {t.run_id for t in plan_runs(spec, folder.path)}
