"""The experiment engine: specs, seeds, resume, parallel equality, failures, figures."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import without_timing, write_spec

from experiments import runner
from experiments.cli import main
from experiments.plotting import revenue_figure
from experiments.results import load_results
from experiments.runs import plan_runs
from experiments.spec import SpecError, load_spec, parse_spec


def test_seeds_and_run_ids_are_stable_when_replicates_are_added(tmp_path):
    spec = load_spec(str(write_spec(tmp_path)))
    more = parse_spec(spec.to_toml_dict() | {"experiment": spec.to_toml_dict()["experiment"]
                                              | {"replicates": 3}})
    few, many = plan_runs(spec, tmp_path), plan_runs(more, tmp_path)
    assert len(few) == 4 and len(many) == 6
    assert {t.run_id for t in few} < {t.run_id for t in many}
    assert len({t.seed_spawn_key for t in few}) == 4


def test_one_and_two_workers_give_identical_results(tmp_path):
    spec = load_spec(str(write_spec(tmp_path)))
    one = runner.run_experiment(spec, tmp_path / "one", workers=1, log=lambda _: None)
    two = runner.run_experiment(spec, tmp_path / "two", workers=2, log=lambda _: None)
    pd.testing.assert_frame_equal(without_timing(one.summary), without_timing(two.summary))
    for run_id in one.summary["run_id"]:
        pd.testing.assert_frame_equal(pd.read_parquet(one.folder.run_path(run_id)),
                                      pd.read_parquet(two.folder.run_path(run_id)))


def test_second_run_does_nothing_and_says_so(tmp_path):
    spec = load_spec(str(write_spec(tmp_path)))
    runner.run_experiment(spec, tmp_path / "out", workers=1, log=lambda _: None)
    lines = []
    again = runner.run_experiment(spec, tmp_path / "out", workers=1, log=lines.append)
    assert again.done == [] and again.already_done == 4
    assert lines == [f"nothing to do: all 4 runs of 'tiny' are done in {tmp_path / 'out'}"]


@pytest.fixture
def failing_high_ad_load(monkeypatch):
    """Make the runs with ad_load = 0.1 raise; returns the real simulate to restore."""
    real = runner.simulate

    def flaky(parameters, days, rng):
        if parameters["ad_load"] == 0.1:
            raise RuntimeError("boom")
        return real(parameters, days, rng)

    monkeypatch.setattr(runner, "simulate", flaky)
    return real


def test_failed_run_is_recorded_others_kept_and_retried_next_time(tmp_path, monkeypatch,
                                                                   failing_high_ad_load):
    spec = load_spec(str(write_spec(tmp_path)))
    first = runner.run_experiment(spec, tmp_path / "out", workers=1, log=lambda _: None)
    assert first.exit_code == 1 and len(first.failed) == 2 and len(first.done) == 2
    failed = sorted((tmp_path / "out" / "failed").glob("*.txt"))
    assert len(failed) == 2 and "RuntimeError: boom" in failed[0].read_text()
    assert len(first.summary) == 2

    monkeypatch.setattr(runner, "simulate", failing_high_ad_load)
    second = runner.run_experiment(spec, tmp_path / "out", workers=1, log=lambda _: None)
    assert second.exit_code == 0 and len(second.done) == 2 and len(second.summary) == 4
    assert not list((tmp_path / "out" / "failed").glob("*.txt"))


def test_truncated_run_file_is_redone(tmp_path):
    spec = load_spec(str(write_spec(tmp_path)))
    out = tmp_path / "out"
    first = runner.run_experiment(spec, out, workers=1, log=lambda _: None)
    victim = first.folder.run_path(first.summary["run_id"].iloc[0])
    victim.write_bytes(victim.read_bytes()[:100])
    again = runner.run_experiment(spec, out, workers=1, log=lambda _: None)
    assert again.done == [victim.stem]
    pd.testing.assert_frame_equal(without_timing(first.summary), without_timing(again.summary))


def test_killed_and_resumed_experiment_gives_the_same_summary(tmp_path):
    spec_path = write_spec(tmp_path, days=40, users=6000)
    wasim = [sys.executable, "-m", "experiments.cli", "run", str(spec_path), "--workers", "1"]
    subprocess.run([*wasim, "--out", str(tmp_path / "whole")], check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen([*wasim, "--out", str(killed)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while not list((killed / "runs").glob("*.parquet")) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list((killed / "runs").glob("*.parquet")))
    assert 1 <= done_before < 4, "the kill should land mid-experiment"

    resumed = subprocess.run([*wasim, "--out", str(killed)], capture_output=True, text=True)
    assert resumed.returncode == 0
    assert f"resuming 'tiny': {done_before} of 4 runs done" in resumed.stdout
    whole = pd.read_parquet(tmp_path / "whole" / "summary.parquet")
    again = pd.read_parquet(killed / "summary.parquet")
    pd.testing.assert_frame_equal(without_timing(whole), without_timing(again))
    assert not list((killed / "runs").glob(".*.tmp"))


BAD_SPECS = {
    "unknown parameter": ("[parameters]\nad_lod = 0.1", "parameters.ad_lod"),
    "out of range": ("[parameters]\nad_load = 2.0", r"parameters.ad_load: got 2.0; allowed: a float"),
    "wrong type": ('[parameters]\nn_users = "many"', "parameters.n_users"),
    "unknown key": ("[experiment]\nname = 'x'\nreplicate = 3", "experiment.replicate: unknown key"),
    "negative replicates": ("[experiment]\nname = 'x'\nreplicates = -1", "experiment.replicates"),
    "empty factor": ("[design.factors]\nad_load = []", "design.factors.ad_load: .*non-empty list"),
    "unknown design": ('[design]\nkind = "magic"', "design.kind: got 'magic'; allowed: one of grid"),
    "bad factor value": ('[design.factors]\ndata_sharing = ["off", "maybe"]',
                         "design.factors.data_sharing: got 'maybe'"),
    "empty label": ('[design]\nkind = "rows"\npoints = [{ad_load = 0.0, label = ""}]',
                    r"design.points\[0\].label: got ''; allowed: a non-empty text of at most 60 char"),
    "long label": ('[design]\nkind = "rows"\n[[design.points]]\nad_load = 0.0\nlabel = "' + "x" * 61 + '"',
                   r"design.points\[0\].label: got 'x{61}'; allowed: .*at most 60 characters"),
    "repeated label": ('[design]\nkind = "rows"\npoints = [{ad_load = 0.0, label = "a"}, '
                       '{ad_load = 0.1, label = "a"}]',
                       r"design.points\[1\].label: got 'a', the label of design.points\[0\]; allowed: "
                       "a non-empty text of at most 60 characters, unique within the design"),
    "label not text": ('[design]\nkind = "rows"\npoints = [{ad_load = 0.0, label = 0.5}]',
                       r"design.points\[0\].label: got 0.5; allowed: a non-empty text"),
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_bad_spec_exits_2_names_the_field_and_writes_nothing(tmp_path, capsys, case):
    text, message = BAD_SPECS[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert pytest.importorskip("re").search(message, err), err
    assert not out.exists()


def test_bad_set_value_exits_2_from_the_console(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "run", "baseline",
                           "--set", "ad_load=7", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "parameters.ad_load: got 7" in proc.stderr
    assert not out.exists()


def test_folder_of_another_spec_is_refused(tmp_path, capsys):
    path = write_spec(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    before = sorted(p.name for p in (out / "runs").iterdir())
    assert main(["run", str(path), "--out", str(out), "--set", "n_smbs=31"]) == 2
    assert "different spec; use --fresh" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "runs").iterdir()) == before


ROWS_SPEC = """
[experiment]
name = "rows"
days = 4
replicates = 1
seed = 5
[parameters]
n_users = 1000
n_smbs = 30
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


def test_list_and_params_commands(capsys):
    assert main(["list"]) == 0
    assert "baseline" in capsys.readouterr().out
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "ad_load" in out and "SOURCES.md#rate-cards" in out


def test_spec_error_is_a_value_error_naming_the_field():
    with pytest.raises(SpecError) as err:
        parse_spec({"experiment": {"name": "x", "days": 0}})
    assert err.value.field == "experiment.days"


def test_bench_reports_speed_and_memory_as_json(capsys):
    import json

    assert main(["bench", "--users", "2000", "--days", "3", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["users"] == 2000 and figures["days"] == 3
    assert figures["user_days_per_s"] == pytest.approx(6000 / figures["step_s"], rel=0.02)
    assert figures["peak_rss_mb"] > 0 and figures["bytes_per_user"] > 0
    assert "speedup_vs_reference" not in figures


def test_bench_reference_times_the_same_rules_per_agent(capsys):
    import json

    assert main(["bench", "--users", "500", "--days", "2", "--reference", "--reference-days", "2",
                 "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["reference_days"] == 2
    ratio = figures["users_only_user_days_per_s"] / figures["reference_user_days_per_s"]
    assert figures["speedup_vs_reference"] == pytest.approx(ratio, rel=0.01)
    assert figures["speedup_vs_reference"] > 1  # numpy over a Python loop, even at 500 users


def test_bench_refuses_bad_sizes(capsys):
    assert main(["bench", "--users", "10", "--days", "3"]) == 2
    assert "--users/--days/--reference-days: got 10/3/3" in capsys.readouterr().err


def test_status_counts_done_failed_and_missing_runs(tmp_path, capsys, failing_high_ad_load):
    spec = load_spec(str(write_spec(tmp_path)))
    out = tmp_path / "out"
    result = runner.run_experiment(spec, out, workers=1, log=lambda _: None)
    result.folder.run_path(result.done[0]).unlink()  # as if the process died before writing it
    assert main(["status", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{out}: 4 runs planned, 1 done, 2 failed, 1 missing" in printed
    assert printed.count("failed: ") == 2


def test_simulate_from_reproduces_one_run_alone(tmp_path, capsys):
    spec = load_spec(str(write_spec(tmp_path)))
    result = runner.run_experiment(spec, tmp_path / "out", workers=2, log=lambda _: None)
    run_id = result.summary["run_id"].iloc[3]
    assert main(["simulate", "--from", str(tmp_path / "out"), run_id]) == 0
    assert "identical to the stored run: yes" in capsys.readouterr().out
    assert main(["simulate", "--from", str(tmp_path / "out"), "nope"]) == 2


def test_provenance_is_recorded_and_another_model_version_is_refused(tmp_path, capsys):
    import json

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


def test_points_a_design_repeats_are_run_once(tmp_path):
    spec = parse_spec({"experiment": {"name": "m", "replicates": 2, "seed": 3},
                       "design": {"kind": "morris", "samples": 8,
                                  "factors": {"ad_load": {"low": 0.0, "high": 0.2},
                                              "n_smbs": {"low": 10, "high": 20}}}})
    tasks = plan_runs(spec, tmp_path)
    ids = [t.run_id for t in tasks]
    assert len(ids) == len(set(ids))
    distinct_points = {tuple(sorted(t.point_values.items())) for t in tasks}
    assert len(tasks) == 2 * len(distinct_points)
