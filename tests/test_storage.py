"""Result folders (``experiments.storage``): whole files or none, a damaged run file redone, a
folder kept to its own spec and model version, labels rewritten without touching runs."""

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import quiet, without_timing, write_spec

from experiments import runner
from experiments.cli import main
from experiments.plotting import revenue_figure
from experiments.results import load_results
from experiments.spec import load_spec
from experiments.storage import META_KEY, ResultFolder, atomic_write


def test_a_failed_write_leaves_neither_the_file_nor_its_temporary(tmp_path):
    target = tmp_path / "run.parquet"

    def half_then_fail(path):
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert list(tmp_path.iterdir()) == []
    atomic_write(target, lambda path: path.write_bytes(b"whole"))
    assert [p.name for p in tmp_path.iterdir()] == ["run.parquet"] and target.read_bytes() == b"whole"


def test_a_run_file_without_its_record_is_not_a_finished_run(tmp_path):
    folder = ResultFolder(tmp_path)
    folder.runs_dir.mkdir(parents=True)
    pd.DataFrame({"day": [1]}).to_parquet(folder.run_path("foreign"))
    folder.run_path("garbage").write_bytes(b"not parquet")
    assert folder.read_record("foreign") is None and folder.read_record("garbage") is None
    assert folder.read_record("missing") is None


def test_truncated_run_file_is_redone(tmp_path):
    spec = load_spec(str(write_spec(tmp_path)))
    out = tmp_path / "out"
    first = runner.run_experiment(spec, out, workers=1, log=quiet)
    victim = first.folder.run_path(first.summary["run_id"].iloc[0])
    victim.write_bytes(victim.read_bytes()[:100])
    again = runner.run_experiment(spec, out, workers=1, log=quiet)
    assert again.done == [victim.stem]
    pd.testing.assert_frame_equal(without_timing(first.summary), without_timing(again.summary))


@pytest.mark.parametrize("damage", ["no outcomes", "outcome as text", "another run's id"])
def test_a_run_file_whose_record_is_damaged_counts_as_missing_and_is_redone(tmp_path, capsys, damage):
    """A record that is JSON but not as ``write_run`` writes it (a hand edit, another tool)
    is not a finished run: status counts it missing, and run redoes it."""
    spec = load_spec(str(write_spec(tmp_path)))
    out = tmp_path / "out"
    first = runner.run_experiment(spec, out, workers=1, log=quiet)
    victim = first.folder.run_path(first.summary["run_id"].iloc[0])
    table = pq.read_table(victim)
    record = json.loads(table.schema.metadata[META_KEY])
    if damage == "no outcomes":
        del record["outcomes"]
    elif damage == "outcome as text":
        record["outcomes"]["revenue_total"] = "a lot"
    else:
        record["run_id"] = "0" * 16
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata,
                                                  META_KEY: json.dumps(record).encode()}), victim)
    assert first.folder.read_record(victim.stem) is None
    assert main(["status", str(out)]) == 0
    assert "1 missing" in capsys.readouterr().out
    again = runner.run_experiment(spec, out, workers=1, log=quiet)
    assert again.done == [victim.stem]
    pd.testing.assert_frame_equal(without_timing(first.summary), without_timing(again.summary))


def test_folder_of_another_spec_is_refused(tmp_path, capsys):
    path = write_spec(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    before = sorted(p.name for p in (out / "runs").iterdir())
    assert main(["run", str(path), "--out", str(out), "--set", "n_smbs=31"]) == 2
    assert "different spec; use --fresh" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "runs").iterdir()) == before


def test_provenance_is_recorded_and_another_model_version_is_refused(tmp_path, capsys):
    path = write_spec(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    record = json.loads((out / "provenance.json").read_text())
    assert record["libraries"]["mesa"].startswith("3.") and len(record["model_hash"]) == 16
    record["model_hash"] = "0" * 16
    (out / "provenance.json").write_text(json.dumps(record))
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert "another model version" in capsys.readouterr().err
    assert main(["run", str(path), "--out", str(out), "--fresh", "--workers", "1"]) == 0


ROWS_SPEC = """
[experiment]
name = "rows"
days = 4
replicates = 1
seed = 5
[parameters]
n_users = 1000
n_smbs = 30
burn_in_days = 0
[design]
kind = "rows"
points = [{ad_load = 0.0}, {ad_load = 0.1}]
"""


def test_labels_added_to_a_finished_experiment_reach_its_figures_when_run_again(tmp_path, capsys):
    """A folder's figures name points by the labels in its own spec.toml; running the relabelled
    spec again rewrites that file and runs nothing, since labels change no run."""
    path, out = tmp_path / "rows.toml", tmp_path / "out"
    path.write_text(ROWS_SPEC)
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    runs = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    assert load_results(out).points["label"].tolist() == ["ad_load=0", "ad_load=0.1"]

    path.write_text(ROWS_SPEC.replace("{ad_load = 0.0}", '{ad_load = 0.0, label = "no ads"}'))
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert f"nothing to do: all 2 runs of 'rows' are done in {out}" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == runs
    assert 'label = "no ads"' in (out / "spec.toml").read_text()
    results = load_results(out)
    assert results.complete and results.points["label"].tolist() == ["no ads", "ad_load=0.1"]
    assert [ax.get_title() for ax in revenue_figure(results).axes[:2]] == ["no ads", "ad_load=0.1"]
    (out / "runs" / f"{results.summary['run_id'][0]}.parquet").unlink()
    with pytest.warns(UserWarning, match=r"1 missing .*: point 0 \(no ads\): 1 of 1"):
        load_results(out)
