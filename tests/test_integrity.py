"""Damaged result folders (``experiments.integrity``): a corrupt ``spec.toml`` or
``provenance.json`` makes every command that reads the folder exit 2 with one line naming the
file and what to do, and write nothing; a corrupt ``summary.parquet`` is rebuilt from the run
files, equal to the one it replaces, and the command goes on. Each command x each damage, on
a small Morris folder (the one design every command, ``analyze`` included, accepts)."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
import tomli_w
from conftest import quiet, snapshot

from experiments.cli import main
from experiments.runner import run_experiment
from experiments.spec import parse_spec
from experiments.storage import ResultFolder

SPEC = {"experiment": {"name": "damaged", "days": 5, "replicates": 1, "seed": 3},
        "parameters": {"n_users": 300, "n_smbs": 10, "burn_in_days": 0},
        "design": {"kind": "morris", "samples": 2,
                   "factors": {"ad_load": {"low": 0.0, "high": 0.2},
                               "peer_churn_multiplier": {"low": 1.2, "high": 1.8}}}}

COMMANDS = {
    "run": lambda folder: ["run", str(folder.parent / "damaged.toml"), "--out", str(folder),
                           "--workers", "1"],
    "status": lambda folder: ["status", str(folder)],
    "plot": lambda folder: ["plot", str(folder)],
    "report": lambda folder: ["report", str(folder)],
    "compare": lambda folder: ["compare", str(folder)],
    "analyze": lambda folder: ["analyze", str(folder)],
}

DAMAGE = {
    "spec.toml": lambda path: path.write_text("[experiment\nname = 'damaged'\n"),   # not TOML
    "spec.toml fields": lambda path: path.write_text("[experiment]\nname = 3\n"),  # TOML, not a spec
    "provenance.json": lambda path: path.write_text(path.read_text()[:40]),       # cut short
    "summary.parquet": lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished Morris folder (3 runs of 300 users x 5 days: its trajectories share points)."""
    folder = tmp_path_factory.mktemp("finished") / "damaged"
    run_experiment(parse_spec(SPEC), folder, workers=1, log=quiet)
    return folder


@pytest.mark.parametrize("damage", ["spec.toml", "spec.toml fields", "provenance.json"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_spec_or_provenance_exits_2_naming_the_file_and_writes_nothing(
        finished, tmp_path, capsys, command, damage):
    folder = tmp_path / "damaged"
    shutil.copytree(finished, folder)
    (tmp_path / "damaged.toml").write_text(tomli_w.dumps(SPEC))
    damaged = folder / damage.split()[0]
    DAMAGE[damage](damaged)
    before = snapshot(folder)
    assert main(COMMANDS[command](folder)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    option = "--out" if command == "run" else "RESULT_DIR"
    assert err.startswith(f"wasim: error: {option}: {damaged} is damaged ("), err
    assert "restore it from a copy" in err
    assert f"`wasim run EXPERIMENT --out {folder} --fresh` (which discards its runs)" in err
    assert snapshot(folder) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_summary_is_rebuilt_from_the_runs_and_the_command_goes_on(finished, tmp_path, capsys,
                                                                           command):
    folder = tmp_path / "damaged"
    shutil.copytree(finished, folder)
    (tmp_path / "damaged.toml").write_text(tomli_w.dumps(SPEC))
    original = ResultFolder(finished).summary()
    DAMAGE["summary.parquet"](folder / "summary.parquet")
    assert main(COMMANDS[command](folder)) == 0
    said = capsys.readouterr()
    assert (f"{folder / 'summary.parquet'} was damaged (" in said.err + said.out
            and f"); rebuilt from its {len(original)} run files" in said.err + said.out)
    pd.testing.assert_frame_equal(ResultFolder(folder).summary(), original, check_exact=True)


def test_fresh_replaces_a_folder_whose_spec_is_damaged(finished, tmp_path, capsys):
    folder = tmp_path / "damaged"
    shutil.copytree(finished, folder)
    (tmp_path / "damaged.toml").write_text(tomli_w.dumps(SPEC))
    DAMAGE["spec.toml"](folder / "spec.toml")
    assert main([*COMMANDS["run"](folder), "--fresh"]) == 0
    assert "3 of 3 runs done, 0 failed" in capsys.readouterr().out
    assert main(["status", str(folder)]) == 0
