"""Damaged result folders: a folder's own files checked before a command reads them.

A result folder has three files of its own beside its runs: ``spec.toml`` (the experiment),
``provenance.json`` (the model code that made the runs) and ``summary.parquet`` (one row per
finished run). A file cut short by a full disk, overwritten by hand or by another program
would otherwise surface as a raw traceback deep inside the command. ``check_folder`` reads
them first:

- a damaged ``spec.toml`` or ``provenance.json`` is an error (``SpecError``, exit 2) naming the
  file and what to do: neither can be recovered from the runs (run ids hash the parameters,
  not the model code);
- a damaged ``summary.parquet`` is rebuilt from the run files, whose records hold everything
  it has (it is derived), saying so; the command then goes on.

Every command that reads a result folder (``run``, ``status``, ``plot``, ``report``,
``compare``, ``analyze``) calls it.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from experiments.checks import SpecError
from experiments.spec import parse_spec
from experiments.storage import ResultFolder

FRESH = "`wasim run EXPERIMENT --out {folder} --fresh` (which discards its runs)"


def check_folder(folder: ResultFolder | str | Path, log=print, field: str = "RESULT_DIR") -> None:
    """Refuse a folder whose spec or provenance is damaged (SpecError on ``field``, the option
    that named the folder: exit 2); rebuild a damaged summary from the runs, telling ``log``.
    A folder without ``spec.toml`` is left to the command (not a result folder, or not yet)."""
    folder = folder if isinstance(folder, ResultFolder) else ResultFolder(folder)
    if not folder.spec_path.is_file():
        return
    fresh = FRESH.format(folder=folder.path)
    try:
        parse_spec(tomllib.loads(folder.spec_path.read_text()))
    except (ValueError, OSError) as err:  # TOMLDecodeError, UnicodeDecodeError, SpecError
        raise SpecError(field, f"{folder.spec_path} is damaged ({_reason(err)}); restore it "
                                      f"from a copy, or start the folder again with {fresh}") from err
    if folder.provenance_path.exists():
        try:
            made_by = json.loads(folder.provenance_path.read_text())
            if not isinstance(made_by, dict) or not isinstance(made_by.get("model_hash"), str):
                raise ValueError("no model_hash in it")
        except (ValueError, OSError) as err:
            raise SpecError(field, f"{folder.provenance_path} is damaged ({_reason(err)}); it "
                                          "records which model code made the runs, which the runs "
                                          f"cannot tell: restore it from a copy, or start again with "
                                          f"{fresh}") from err
    if folder.summary_path.exists() and (err := _unreadable(folder.summary_path)):
        try:
            summary = folder.write_summary(t.run_id for t in folder.planned_runs())
        except OSError as why:
            raise SpecError(field, f"{folder.summary_path} is damaged ({err}) and cannot be "
                                          f"rebuilt here ({why.strerror}); `wasim run` rebuilds it "
                                          "from the runs where the folder can be written") from why
        log(f"{folder.summary_path} was damaged ({err}); rebuilt from its {len(summary)} run files")


def _unreadable(path: Path) -> str | None:
    """Why the Parquet file at ``path`` cannot be read; None if it can."""
    try:
        pq.read_table(path)
    except (OSError, ValueError, pa.ArrowException) as err:
        return _reason(err)
    return None


def _reason(err: BaseException) -> str:
    """An exception's message on one line."""
    text = " ".join(str(err).split())
    return text if len(text) <= 200 else text[:197] + "..."
