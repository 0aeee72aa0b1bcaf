"""Running experiments: plan the runs, skip those done, execute the rest, summarise.

Workers write their own run files and return small records, so memory stays flat however
long the sweep. A run that raises or passes its time limit is recorded with its traceback;
the others go on. Two backends execute runs behind one interface: ``local`` (this machine's
cores, a process pool) and ``dask`` (a Dask distributed cluster); a run's numbers depend only
on its task, so they are the same bit for bit whatever the backend or number of workers.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import ExitStack, closing, contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
from tqdm import tqdm

from experiments import pool_worker
from experiments.checks import SpecError
from experiments.faults import describe as describe_fault
from experiments.faults import is_environment_fault
from experiments.integrity import check_folder
from experiments.lock import FolderLock
from experiments.outcomes import summarise
from experiments.provenance import model_hash
from experiments.runs import RunTask, next_round, plan_runs
from experiments.spec import ExperimentSpec
from experiments.storage import ResultFolder
from model.market import WhatsAppMarket

BACKENDS = ("local", "dask")
SCHEDULER_SCHEMES = ("tcp", "tls")
"""How ``--scheduler`` may reach a cluster elsewhere: the TCP-based protocols of Dask's
scheduler (``tcp://HOST:PORT``; ``tls://`` with Dask's security configured)."""

_time_limit: ContextVar[tuple[float, float] | None] = ContextVar("wasim_time_limit", default=None)
"""(start, seconds) of the run this thread executes, set by ``execute_run``. It reaches
``simulate`` through the context rather than as an argument so that ``simulate`` keeps the
(parameters, days, rng) signature that ``wasim simulate``, scripts and test doubles call."""


_stop = None
"""In a local pool worker, the pool's stop event (see ``_init_local_worker``)."""

HOLD_ENV = "WASIM_TEST_HOLD_AFTER_RUN"
"""Test hook: with this environment variable set to a path, a run that has written its file
waits, before it returns, until that path exists or the experiment is stopped (at most
``HOLD_MAX_S``). A test can then kill or interrupt a sweep at a known point (after a run
file, with no further run started by that worker) instead of racing the runs. Unset, it
costs nothing."""
HOLD_MAX_S = 600.0
"""The longest a held run waits, so that a sweep whose test died does not wait for ever."""


class TimeLimitExceeded(TimeoutError):
    """A run went past its time limit (``--time-limit``)."""


class RunStopped(KeyboardInterrupt):
    """The main process was interrupted (Ctrl-C) and asked this worker's run to stop."""


def simulate(parameters: dict, days: int, rng) -> pd.DataFrame:
    """Run the model for ``days`` and return its daily result rows (day 1 ... days).

    The run may stop between two days, when it passes its time limit or its pool is told to
    stop: cooperative checks, because signals cannot reach a Dask worker's thread and a run
    stopped by a check never leaves a half-written file."""
    model = WhatsAppMarket(rng=rng, **parameters)
    for day in range(1, days + 1):
        _between_days(day, days)
        model.step()
    return model.datacollector.get_model_vars_dataframe().reset_index(drop=True)


def _between_days(day: int, days: int) -> None:
    if _stop is not None and _stop.is_set():
        raise RunStopped(f"stopped before day {day} of {days}: the experiment was interrupted")
    limit = _time_limit.get()
    if limit is not None and (spent := time.perf_counter() - limit[0]) > limit[1]:
        raise TimeLimitExceeded(f"stopped before day {day} of {days}: {spent:.1f} s is over the "
                                f"time limit of {limit[1]:g} s per run (--time-limit)")


def execute_run(task: RunTask, time_limit_s: float | None = None) -> dict:
    """Run one task and write its file; never raises (failures, time limit included, are
    recorded). ``elapsed_s`` is the simulation's own time, so the engine's overhead is what
    a sweep's wall time adds to it."""
    folder = ResultFolder(task.out_dir)
    started = time.perf_counter()
    record = {"run_id": task.run_id, "point": task.point, "replicate": task.replicate,
              "seed_entropy": task.seed_entropy, "seed_spawn_key": list(task.seed_spawn_key),
              "point_values": json.dumps(task.point_values, sort_keys=True), "days": task.days}
    limit = _time_limit.set(None if time_limit_s is None else (started, time_limit_s))
    try:
        daily = simulate(task.parameters, task.days, task.seed_sequence())
        record |= {"status": "done", "elapsed_s": time.perf_counter() - started,
                   "parameters": task.parameters, "outcomes": summarise(daily)}
        folder.write_run(daily, record)
    except Exception as err:  # a failing run must not stop the sweep...
        if is_environment_fault(err):  # ...but a full disk or a lost folder stops every run
            raise
        folder.write_failure(task.run_id, traceback.format_exc())
        record |= {"status": "failed", "elapsed_s": time.perf_counter() - started,
                   "error": traceback.format_exc(limit=1).strip().splitlines()[-1]}
    finally:
        _time_limit.reset(limit)
    if os.environ.get(HOLD_ENV):
        _hold(Path(os.environ[HOLD_ENV]))
    return {k: v for k, v in record.items() if k not in ("parameters", "outcomes")}


def _hold(release: Path) -> None:
    """Wait until ``release`` exists or the pool is told to stop (``HOLD_ENV``)."""
    until = time.monotonic() + HOLD_MAX_S
    while not release.exists() and not (_stop is not None and _stop.is_set()):
        if time.monotonic() > until:
            return
        time.sleep(0.02)


@dataclass
class ExperimentResult:
    folder: ResultFolder
    planned: int
    already_done: int
    done: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    summary: pd.DataFrame | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def run_experiment(spec: ExperimentSpec, out: str | Path | None = None, workers: int | None = None,
                   fresh: bool = False, log=print, *, backend: str = "local",
                   scheduler: str | None = None, time_limit_s: float | None = None,
                   wait: bool = False) -> ExperimentResult:
    """Run every run of ``spec`` not yet in the result folder; return what happened.

    ``backend`` is ``"local"`` (``workers`` processes, default all cores) or ``"dask"`` (the
    cluster at ``scheduler``, or a local one of ``workers`` processes on loopback when no
    address is given). A cluster at ``scheduler`` that cannot be reached, or whose workers run
    other model code or cannot see the folder, is refused (exit 2) before anything in the
    folder changes. A run still going after ``time_limit_s`` seconds is recorded as failed.
    With adaptive replication the runs come in rounds, each planned from the outcomes of the
    runs before it, so a pool or local cluster is started once per round (one client of the
    cluster at ``scheduler`` serves them all).

    One experiment at a time runs into a folder (``experiments.lock``): a folder another
    process is running into is refused (``FolderBusy``, exit 2) or, with ``wait``, waited
    for. A full disk, a folder one may not write or that was deleted, and a worker killed
    raise ``EnvironmentFault``
    (exit 1) with one line saying what to do; finished runs are kept.
    """
    check_options(workers, backend, scheduler, time_limit_s)
    folder = ResultFolder(out or Path("results") / spec.name)
    # planned first: a point whose parameters clash (an ultimatum's deadline before its
    # announcement) is refused before anything is written; absolute: workers elsewhere write there
    new = plan_runs(spec, folder.path.absolute())
    try:
        with ExitStack() as stack:
            # reached before the lock makes the folder or --fresh empties it
            client = stack.enter_context(dask_client(None, scheduler)) if scheduler else None
            stack.enter_context(FolderLock(folder.path, wait=wait, log=log))
            if client is not None:  # the lock made the folder; nothing in it has changed yet
                check_workers(client, folder.path.absolute())
            return _run_rounds(spec, folder, new, fresh, log, workers, backend, client, time_limit_s)
    except Exception as err:
        if (fault := describe_fault(err, folder.path)) is None:
            raise
        with suppress(OSError):  # the folder may be gone, or not ours to clean
            folder.remove_partial_files()
        raise fault from err


def _run_rounds(spec: ExperimentSpec, folder: ResultFolder, new: list[RunTask], fresh: bool, log,
                workers: int | None, backend: str, client, time_limit_s: float | None
                ) -> ExperimentResult:
    """``run_experiment``'s work, once it holds the folder: the rounds of runs, the summary.
    ``client`` is the cluster at --scheduler (None: a local pool or cluster for each round)."""
    if not fresh:  # a damaged spec.toml or provenance.json: exit 2 naming it
        check_folder(folder, log, field="--out")
    folder.prepare(spec, fresh)
    run = partial(execute_run, time_limit_s=time_limit_s)
    result = ExperimentResult(folder, 0, 0)
    tasks: list[RunTask] = []
    try:
        while new:  # one round, or more with adaptive replication
            tasks += new
            todo = [t for t in new if folder.read_record(t.run_id) is None]
            result.planned = len(tasks)
            result.already_done += len(new) - len(todo)
            if todo:
                _announce(spec, result, tasks, todo, log)
                with closing(execute_runs(todo, run, workers, backend, client)) as records:
                    for record in _progress(records, len(todo), log):
                        _note(result, record, log)
            if result.failed or spec.adaptive is None:
                break
            new = next_round(spec, tasks, folder.outcomes(tasks, spec.adaptive.target))
    except KeyboardInterrupt:  # the backend is shut down; count what reached the disk
        done = len(folder.write_summary(t.run_id for t in tasks))
        log(f"interrupted: {done} of {len(tasks)} runs done; run again to finish")
        raise
    if not (result.done or result.failed):
        log(f"nothing to do: all {len(tasks)} runs of '{spec.name}' are done in {folder.path}")
    result.summary = folder.write_summary(t.run_id for t in tasks)
    return result


def _workers(asked: int | None, todo: list[RunTask]) -> int:
    """Workers for a round: as asked (default all cores), never more than its runs."""
    return max(1, min(asked or os.cpu_count() or 1, len(todo)))


def _announce(spec: ExperimentSpec, result: ExperimentResult, tasks: list[RunTask],
              todo: list[RunTask], log) -> None:
    """Say, before a round's runs start, that earlier runs are reused or why more are added."""
    if result.done:
        points = len({t.point for t in todo})
        log(f"adaptive replication: {len(todo)} more runs for {points} points whose 95% interval "
            f"of {spec.adaptive.target} is wider than ±{100 * spec.adaptive.ci_halfwidth:g}% "
            "of the mean")
    elif result.already_done:
        log(f"resuming '{spec.name}': {result.already_done} of {len(tasks)} runs done")


def check_options(workers: int | None, backend: str, scheduler: str | None,
                  time_limit_s: float | None) -> None:
    """Refuse bad run options before anything is written (exit code 2)."""
    if backend not in BACKENDS:
        raise SpecError("--backend", f"got {backend!r}; allowed: one of {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise SpecError("--scheduler", f"got {scheduler!r} with --backend {backend}; "
                                       "allowed only with --backend dask")
    if scheduler is not None:  # its form; whether it answers, ``dask_client`` finds out
        scheduler_endpoint(scheduler)
    if workers is not None and workers < 1:
        raise SpecError("--workers", f"got {workers}; allowed: an integer >= 1")
    if workers is not None and scheduler is not None:
        raise SpecError("--workers", "the cluster at --scheduler has its own workers; "
                                     "allowed only without --scheduler")
    if time_limit_s is not None and not time_limit_s > 0:
        raise SpecError("--time-limit", f"got {time_limit_s}; allowed: a number of seconds > 0")


def scheduler_endpoint(scheduler: str) -> tuple[str, int]:
    """The host and port of a scheduler's address, ``tcp://HOST:PORT`` or ``tls://HOST:PORT``
    (a bare ``HOST:PORT`` is tcp, as Dask reads it); a SpecError on --scheduler otherwise, so
    that a mistyped address is refused before anything is written rather than by Dask."""
    parts = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = None
    if (parts.scheme not in SCHEDULER_SCHEMES or not parts.hostname or not port
            or "@" in parts.netloc or parts.path or parts.query or parts.fragment):
        raise SpecError("--scheduler", f"got {scheduler!r}; allowed: a scheduler's address, "
                                       + " or ".join(f"{s}://HOST:PORT" for s in SCHEDULER_SCHEMES))
    return parts.hostname, port


def _note(result: ExperimentResult, record: dict, log) -> None:
    """Add a finished run's record to the result; say where a failure's traceback is."""
    if record["status"] == "done":
        result.done.append(record["run_id"])
    else:
        result.failed.append(record)
        log(f"run {record['run_id']} failed: {record['error']} "
            f"(traceback in {result.folder.failed_dir / record['run_id']}.txt)")


def execute_runs(tasks: list[RunTask], run: Callable[[RunTask], dict], workers: int | None = None,
                 backend: str = "local", client=None) -> Iterator[dict]:
    """What ``run`` returns for each task, in completion order, from the chosen backend (as
    ``run_experiment`` takes it; options unchecked). ``run`` is a module-level function, so
    that worker processes can import it; ``workers`` defaults to all cores, never more than
    the tasks. With the dask backend the runs go to ``client``'s cluster (``dask_client``), or
    to one started for them. Closing the iterator (at the end, or on Ctrl-C) shuts the backend
    down, or releases the runs not yet started from ``client``'s cluster."""
    count = _workers(workers, tasks)
    if backend == "dask":
        return _execute_dask(tasks, run, count, client)
    return _execute_local(tasks, run, count)


def _execute_local(tasks: list[RunTask], run: Callable[[RunTask], dict],
                   workers: int) -> Iterator[dict]:
    """This machine's cores: a pool of fresh (spawned) processes, or this process itself for
    one worker, which costs no start-up."""
    if workers == 1:
        yield from map(run, tasks)
        return
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_local_worker,
                             initargs=(stop,)) as pool:
        with _started_ignoring_ctrl_c():  # the pool starts its processes as tasks come
            pending = {pool.submit(run, t) for t in tasks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:  # on Ctrl-C (or an early close) the runs going end at their next day
            stop.set()
            for future in pending:
                future.cancel()


@contextmanager
def _started_ignoring_ctrl_c() -> Iterator[None]:
    """Processes started inside ignore Ctrl-C from their first instruction (an ignored SIGINT
    stays ignored across exec), so that a Ctrl-C while a worker is still importing cannot kill
    it with a traceback before ``_init_local_worker`` runs. The main process ignores it only
    while it starts them (and only where it can: in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _init_local_worker(stop) -> None:
    """Pool workers leave Ctrl-C to the main process, which sets ``stop`` instead: their runs
    (and a queued one) end cleanly at their next day, so the pool shuts down within a day's
    time and with no traceback from each worker (``pool_worker``)."""
    global _stop
    pool_worker.start()
    _stop = stop


def _execute_dask(tasks: list[RunTask], run: Callable[[RunTask], dict], workers: int,
                  client=None) -> Iterator[dict]:
    """A Dask distributed cluster: ``client``'s, or one started here on loopback with
    ``workers`` single-threaded processes and closed afterwards. Workers write the run files
    themselves and return small records, as local workers do. Closing the iterator cancels
    the runs not yet done: a client of a cluster elsewhere stays open for further rounds."""
    from distributed import as_completed

    with ExitStack() as stack:
        if client is None:
            client = stack.enter_context(dask_client(workers, None, tasks[0].out_dir))
        futures = client.map(run, tasks, pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            if left := [f for f in futures if not f.done()]:
                client.cancel(left)


@contextmanager
def dask_client(workers: int | None, scheduler: str | None, out_dir: Path | None = None):
    """A Dask client of the cluster at ``scheduler``, or of one started here on loopback with
    ``workers`` single-threaded processes and closed afterwards. It refuses (SpecError on
    --scheduler) a cluster it cannot reach, one whose workers run other model code (their
    results would belong to another model) or, given ``out_dir``, cannot see that folder
    (their run files would be lost)."""
    from distributed import Client, LocalCluster

    with ExitStack() as stack:
        if scheduler is None:
            scheduler = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                silence_logs=logging.ERROR))
        else:
            _reach(scheduler)
        try:
            client = stack.enter_context(Client(scheduler))
        except OSError as err:
            raise SpecError("--scheduler", f"cannot reach {scheduler}: {err}") from err
        check_workers(client, out_dir)
        yield client


def _reach(scheduler: str) -> None:
    """Open and close a connection to the scheduler's port. A refused one fails here at once,
    where Dask's client tries again for its whole connect timeout (30 s) before saying so;
    a silent host still takes that timeout. (The scheduler logs, at INFO, a connection
    closed before its handshake.)"""
    import dask
    from dask.utils import parse_timedelta

    timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="s")
    try:
        socket.create_connection(scheduler_endpoint(scheduler), timeout=timeout).close()
    except OSError as err:
        raise SpecError("--scheduler", f"cannot reach {scheduler}: {err}; start its scheduler, "
                                       "or give the address of a running one") from err


def check_workers(client, out_dir: Path | None = None) -> None:
    """Refuse (SpecError on --scheduler) a cluster whose workers run other model code or,
    given ``out_dir``, cannot see that folder."""
    here = model_hash()
    for worker, (their_hash, sees_folder) in client.run(_worker_view, out_dir).items():
        if their_hash != here:
            raise SpecError("--scheduler", f"worker {worker} runs model code {their_hash}, this "
                                           f"checkout {here}; install the same wasim on the workers")
        if not sees_folder:
            raise SpecError("--scheduler", f"worker {worker} cannot see {out_dir}; workers need "
                                           "the result folder at the same path (a shared disk)")


def _worker_view(out_dir: Path | None) -> tuple[str, bool]:
    """What a worker runs and whether it sees ``out_dir`` (if any), for ``check_workers``."""
    return model_hash(), out_dir is None or out_dir.is_dir()


def _progress(records: Iterator[dict], total: int, log) -> Iterator[dict]:
    """A progress bar on a terminal, one plain line per run elsewhere (CI logs)."""
    if sys.stderr.isatty():
        yield from tqdm(records, total=total, unit="run", desc="runs")
        return
    started = time.perf_counter()
    for i, record in enumerate(records, 1):
        rate = i / max(time.perf_counter() - started, 1e-9)
        log(f"[{i}/{total}] run {record['run_id']} {record['status']} in "
            f"{record['elapsed_s']:.1f} s; {rate:.2f} runs/s, ~{(total - i) / rate:.0f} s left")
        yield record


