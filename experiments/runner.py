"""Running experiments: plan the runs, skip those done, execute the rest, summarise.

Workers write their own run files and return small records, so memory stays flat however
long the sweep. A run that raises is recorded with its traceback; the others go on.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from experiments.runs import RunTask, plan_runs
from experiments.spec import ExperimentSpec
from experiments.storage import ResultFolder
from model import WhatsAppMarket
from model.ledger import STREAMS


def simulate(parameters: dict, days: int, rng) -> pd.DataFrame:
    """Run the model for ``days`` and return its daily result rows (day 1 ... days)."""
    model = WhatsAppMarket(rng=rng, **parameters)
    for _ in range(days):
        model.step()
    return model.datacollector.get_model_vars_dataframe().reset_index(drop=True)


def summarise(daily: pd.DataFrame) -> dict[str, float]:
    """Outcomes of one run: final stocks, totals over the horizon, means."""
    last = daily.iloc[-1]
    out = {f"{c}_final": float(last[c]) for c in (
        "users_total", "users_active", "users_multihoming", "users_churned_total",
        "share_data_optout", "share_promo_optin", "share_payments_linked", "mean_concern",
        "mean_annoyance")}
    for c in ("churn_today", "churn_ads", "churn_privacy", "churn_peers", "churn_other"):
        out[c.replace("_today", "") + "_total"] = float(daily[c].sum())
    for stream in (*STREAMS, "total"):
        out[f"revenue_{stream}"] = float(daily[f"revenue_{stream}"].sum())
    out["revenue_per_user_mean"] = float(daily["revenue_per_user"].mean())
    out["churned_share"] = out["churn_total"] / float(daily["users_total"].iloc[-1])
    return out


def execute_run(task: RunTask) -> dict:
    """Run one task and write its file; never raises (failures are recorded)."""
    folder = ResultFolder(task.out_dir)
    started = time.perf_counter()
    record = {"run_id": task.run_id, "point": task.point, "replicate": task.replicate,
              "seed_entropy": task.seed_entropy, "seed_spawn_key": list(task.seed_spawn_key),
              "point_values": json.dumps(task.point_values, sort_keys=True), "days": task.days}
    try:
        daily = simulate(task.parameters, task.days, task.seed_sequence())
        record |= {"status": "done", "elapsed_s": time.perf_counter() - started,
                   "parameters": task.parameters, "outcomes": summarise(daily)}
        folder.write_run(daily, record)
    except Exception:  # a failing run must not stop the sweep
        folder.write_failure(task.run_id, traceback.format_exc())
        record |= {"status": "failed", "elapsed_s": time.perf_counter() - started,
                   "error": traceback.format_exc(limit=1).strip().splitlines()[-1]}
    return {k: v for k, v in record.items() if k not in ("parameters", "outcomes")}


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
                   fresh: bool = False, log=print) -> ExperimentResult:
    """Run every run of ``spec`` not yet in the result folder; return what happened."""
    folder = ResultFolder(out or Path("results") / spec.name)
    folder.prepare(spec, fresh)
    tasks = plan_runs(spec, folder.path)
    todo = [t for t in tasks if folder.read_record(t.run_id) is None]
    result = ExperimentResult(folder, len(tasks), len(tasks) - len(todo))
    if not todo:
        log(f"nothing to do: all {len(tasks)} runs of '{spec.name}' are done in {folder.path}")
    else:
        if result.already_done:
            log(f"resuming '{spec.name}': {result.already_done} of {len(tasks)} runs done")
        workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        try:
            for record in _progress(_execute(todo, workers), len(todo), log):
                if record["status"] == "done":
                    result.done.append(record["run_id"])
                else:
                    result.failed.append(record)
                    log(f"run {record['run_id']} failed: {record['error']} "
                        f"(traceback in {folder.failed_dir / record['run_id']}.txt)")
        except KeyboardInterrupt:
            done = result.already_done + len(result.done)
            log(f"interrupted: {done} of {len(tasks)} runs done; run again to finish")
            folder.write_summary(t.run_id for t in tasks)
            raise
    result.summary = folder.write_summary(t.run_id for t in tasks)
    return result


def _execute(tasks: list[RunTask], workers: int) -> Iterator[dict]:
    """Records of finished tasks, in completion order (local process pool)."""
    if workers == 1:
        yield from map(execute_run, tasks)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending = {pool.submit(execute_run, t) for t in tasks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()


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


