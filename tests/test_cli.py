"""The command line (``experiments.cli``): list, params, status, simulate, and a bad value from
the console, each with what it prints and its exit code."""

import subprocess
import sys

import pandas as pd
from conftest import quiet, write_spec

from experiments import runner
from experiments.cli import main, params_markdown
from experiments.spec import load_spec


def test_list_and_params_commands(capsys):
    assert main(["list"]) == 0
    assert "baseline" in capsys.readouterr().out
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "ad_load" in out and "SOURCES.md#rate-cards" in out


def test_params_markdown_prints_the_odd_s_table(capsys):
    assert main(["params", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == params_markdown().strip()
    assert out.lstrip().startswith("|") and "| `ad_load` |" in out


def test_bad_set_value_exits_2_from_the_console(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "run", "baseline",
                           "--set", "ad_load=7", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "parameters.ad_load: got 7" in proc.stderr
    assert not out.exists()


def test_status_counts_done_failed_and_missing_runs(tmp_path, capsys, failing_high_ad_load):
    spec = load_spec(str(write_spec(tmp_path)))
    out = tmp_path / "out"
    result = runner.run_experiment(spec, out, workers=1, log=quiet)
    result.folder.run_path(result.done[0]).unlink()  # as if the process died before writing it
    assert main(["status", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{out}: 4 runs planned, 1 done, 2 failed, 1 missing" in printed
    assert printed.count("failed: ") == 2


def test_status_of_a_folder_that_is_not_a_result_folder_exits_2(tmp_path, capsys):
    assert main(["status", str(tmp_path)]) == 2
    assert f"{tmp_path} has no spec.toml; not a result folder" in capsys.readouterr().err


def test_simulate_from_reproduces_one_run_alone(tmp_path, capsys):
    spec = load_spec(str(write_spec(tmp_path)))
    result = runner.run_experiment(spec, tmp_path / "out", workers=2, log=quiet)
    run_id = result.summary["run_id"].iloc[3]
    assert main(["simulate", "--from", str(tmp_path / "out"), run_id]) == 0
    assert "identical to the stored run: yes" in capsys.readouterr().out
    assert main(["simulate", "--from", str(tmp_path / "out"), "nope"]) == 2


def test_simulate_writes_the_daily_rows_with_out(tmp_path, capsys):
    path = tmp_path / "daily.parquet"
    args = ["--set", "n_users=1000", "--days", "3", "--seed", "4"]
    assert main(["simulate", *args, "--out", str(path)]) == 0
    assert f"daily rows written to {path}" in capsys.readouterr().out
    daily = pd.read_parquet(path)
    assert daily["day"].tolist() == [1, 2, 3]
    assert main(["simulate", *args, "--out", str(tmp_path / "again.parquet")]) == 0
    pd.testing.assert_frame_equal(daily, pd.read_parquet(tmp_path / "again.parquet"))
    assert main(["simulate", "--days", "0"]) == 2


def test_outputs_and_seeds_are_checked_before_any_work_and_leave_files_alone(tmp_path, capsys):
    """A bad --out, --csv or --seed exits 2 naming the option before anything runs (a
    calibration would otherwise run for half an hour, then fail to write); a file given as a
    result folder is left as it was."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("kept")
    cases = [
        (["simulate", "--days", "1", "--set", "n_users=500", "--seed", "-1"],
         "--seed: got -1; allowed: an integer in [0, 9223372036854775807]"),
        (["simulate", "--days", "1", "--set", "n_users=500", "--out", str(tmp_path / "no" / "x.parquet")],
         "allowed: a file in an existing folder"),
        (["simulate", "--days", "1", "--set", "n_users=500", "--out", str(tmp_path)],
         "allowed: a file in an existing folder"),
        (["calibrate", "--out", str(a_file)], f"--out: got '{a_file}', a file; allowed: a folder"),
        (["calibrate", "--method", "abc", "--out", str(a_file)], "allowed: a folder (made if missing)"),
        (["run", "baseline", "--out", str(a_file)], f"--out: got '{a_file}', a file; allowed: a folder"),
        (["compare", str(tmp_path), "--csv", str(tmp_path / "no" / "t.csv")],
         "--csv: got"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        captured = capsys.readouterr()
        assert message in captured.err, (args, captured.err)
        assert "days," not in captured.out  # nothing was simulated
    assert a_file.read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
