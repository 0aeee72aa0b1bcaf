"""The result folder: spec, one Parquet file per run (whole or absent), summary, failures.

Layout::

    spec.toml  provenance.json  runs/<run_id>.parquet  summary.parquet  failed/<run_id>.txt
    figures/

A run file carries its own record (run id, point, replicate, seed, parameters, summary
outcomes) in the Parquet metadata, so the summary can always be rebuilt from the run files,
even after a crash.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import tomli_w

from experiments.checks import SpecError
from experiments.provenance import provenance
from experiments.runs import RunTask, next_round, plan_runs
from experiments.spec import ExperimentSpec, parse_spec

META_KEY = b"wasim.run"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: a reader (or a rerun
    after a crash) sees the whole file or none."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class ResultFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.runs_dir = self.path / "runs"
        self.failed_dir = self.path / "failed"
        self.figures_dir = self.path / "figures"
        self.spec_path = self.path / "spec.toml"
        self.summary_path = self.path / "summary.parquet"
        self.provenance_path = self.path / "provenance.json"

    # --- spec ---------------------------------------------------------------------------
    def prepare(self, spec: ExperimentSpec, fresh: bool) -> None:
        """Create the folder for ``spec``; refuse one made by a different spec. A folder of the
        same spec identity gets the spec as it is now (replicates, description, start date,
        point labels), so rerunning a finished experiment after renaming its points relabels
        its figures without running anything."""
        if fresh and self.path.exists():
            for part in (self.runs_dir, self.failed_dir, self.figures_dir):
                shutil.rmtree(part, ignore_errors=True)
            for part in (self.spec_path, self.summary_path, self.provenance_path):
                part.unlink(missing_ok=True)
        if self.spec_path.exists():
            old = self.read_spec_dict()
            if _identity(old) != spec.identity():
                raise SpecError("--out", f"{self.path} holds results of a different spec; "
                                "use --fresh to replace them or --out for a new folder")
        here = provenance()
        if self.provenance_path.exists():
            made_by = json.loads(self.provenance_path.read_text()).get("model_hash")
            if made_by != here["model_hash"]:
                raise SpecError("--out", f"{self.path} holds results of another model version "
                                f"({made_by}, this one is {here['model_hash']}); use --fresh to "
                                "replace them or --out for a new folder")
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.remove_partial_files()
        atomic_write(self.spec_path, lambda p: p.write_text(tomli_w.dumps(spec.to_toml_dict())))
        atomic_write(self.provenance_path, lambda p: p.write_text(json.dumps(here, indent=2)))

    def read_spec_dict(self) -> dict[str, Any]:
        return tomllib.loads(self.spec_path.read_text())

    def remove_partial_files(self) -> None:
        """Remove the temporary files of writes cut short (``atomic_write``'s, left by a
        process killed while writing); only while no experiment runs into the folder."""
        for part in (self.path, self.runs_dir, self.failed_dir):
            for tmp in part.glob(".*.tmp") if part.is_dir() else ():
                tmp.unlink(missing_ok=True)

    def planned_runs(self) -> list[RunTask]:
        """The runs the folder's own spec.toml asks for; with adaptive replication, those of
        the rounds its finished runs have led to so far."""
        spec = parse_spec(self.read_spec_dict())
        tasks = plan_runs(spec, self.path)
        while spec.adaptive and (outcomes := self.outcomes(tasks, spec.adaptive.target)):
            more = next_round(spec, tasks, outcomes)
            if not more:
                break
            tasks += more
        return tasks

    # --- runs ---------------------------------------------------------------------------
    def run_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.parquet"

    def write_run(self, daily: pd.DataFrame, record: dict[str, Any]) -> None:
        table = pa.Table.from_pandas(daily, preserve_index=False)
        meta = {**(table.schema.metadata or {}), META_KEY: json.dumps(record).encode()}
        table = table.replace_schema_metadata(meta)
        atomic_write(self.run_path(record["run_id"]), lambda p: pq.write_table(table, p))
        (self.failed_dir / f"{record['run_id']}.txt").unlink(missing_ok=True)

    def read_record(self, run_id: str) -> dict[str, Any] | None:
        """The record of a finished run; None if its file is missing, truncated, foreign or
        holds a record ``write_run`` would not write (so the run counts as missing and is redone)."""
        try:
            meta = pq.read_metadata(self.run_path(run_id)).metadata or {}
            record = json.loads(meta[META_KEY])
        except (OSError, KeyError, ValueError, pa.ArrowException):
            return None
        return record if _sound_record(record, run_id) else None

    def outcomes(self, tasks: list[RunTask], name: str) -> dict[str, float] | None:
        """Outcome ``name`` of each task by run id; None unless every task is done."""
        records = [self.read_record(t.run_id) for t in tasks]
        if any(r is None for r in records):
            return None
        return {r["run_id"]: r["outcomes"][name] for r in records}

    def write_failure(self, run_id: str, text: str) -> None:
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.failed_dir / f"{run_id}.txt", lambda p: p.write_text(text))

    def failed_ids(self) -> set[str]:
        return {p.stem for p in self.failed_dir.glob("*.txt")} if self.failed_dir.exists() else set()

    # --- summary ------------------------------------------------------------------------
    def write_summary(self, run_ids: Iterable[str]) -> pd.DataFrame:
        """One row per finished run among ``run_ids``, rebuilt from the run files."""
        summary = summary_frame([r for r in map(self.read_record, run_ids) if r is not None])
        atomic_write(self.summary_path, lambda p: summary.to_parquet(p, index=False))
        return summary

    def summary(self) -> pd.DataFrame:
        return pd.read_parquet(self.summary_path)

    def daily(self) -> pd.DataFrame:
        """Every finished run's daily rows, with run_id, point, replicate and varied values."""
        frames = []
        for record in self.summary().to_dict("records"):
            frame = pd.read_parquet(self.run_path(record["run_id"]))
            varied = json.loads(record["point_values"])
            frames.append(frame.assign(run_id=record["run_id"], point=record["point"],
                                       replicate=record["replicate"], **varied))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


_RECORD_KEYS = {"run_id", "point", "replicate", "seed_entropy", "seed_spawn_key", "days", "parameters",
                "outcomes"}


def _sound_record(record: Any, run_id: str) -> bool:
    """Whether ``record`` is run ``run_id``'s as ``write_run`` writes it: its keys, tables of
    parameters and outcomes, and every outcome a number."""
    if not (isinstance(record, dict) and record.keys() >= _RECORD_KEYS and record["run_id"] == run_id):
        return False
    outcomes = record["outcomes"]
    return (isinstance(record["parameters"], dict) and isinstance(outcomes, dict)
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in outcomes.values()))


def summary_frame(records: list[dict]) -> pd.DataFrame:
    """One row per run record: its ids, every parameter and its outcomes, by point and replicate."""
    summary = pd.DataFrame([{k: v for k, v in r.items() if k not in ("parameters", "outcomes")}
                            | r["parameters"] | r["outcomes"] for r in records])
    if not summary.empty:
        summary = summary.sort_values(["point", "replicate"], ignore_index=True)
    return summary


def _identity(spec_dict: dict[str, Any]) -> dict[str, Any]:
    try:
        return parse_spec(spec_dict).identity()
    except SpecError:
        return {}
