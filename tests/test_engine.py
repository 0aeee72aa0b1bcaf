"""The experiment engine's backends: the same numbers, bit for bit, on the local process pool
and on a real Dask cluster on loopback; the per-run time limit on both; Ctrl-C; the sweep
benchmark's report."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import SPEC, without_timing, write_spec

from experiments import runner
from experiments.cli import main
from experiments.outcomes import OUTCOMES
from experiments.spec import load_spec
from experiments.storage import ResultFolder
from model.market import WhatsAppMarket


def quiet(_line: str) -> None:
    """A log that prints nothing."""


def assert_identical(one: ResultFolder, other: ResultFolder) -> None:
    """Same runs, same daily rows to the last bit, same records (timing aside), same summary."""
    ids = sorted(p.stem for p in one.runs_dir.glob("*.parquet"))
    assert ids == sorted(p.stem for p in other.runs_dir.glob("*.parquet"))
    for run_id in ids:
        tables = [pq.read_table(f.run_path(run_id)) for f in (one, other)]
        assert tables[0].replace_schema_metadata().equals(tables[1].replace_schema_metadata())
        records = [f.read_record(run_id) for f in (one, other)]
        for record in records:
            del record["elapsed_s"]
        assert records[0] == records[1]
    pd.testing.assert_frame_equal(without_timing(one.summary()), without_timing(other.summary()),
                                  check_exact=True)


def test_local_one_and_two_workers_and_dask_give_identical_results(tmp_path):
    # 12,000 users: above the size at which BLAS splits a dot product across threads, and
    # Dask's workers run with one BLAS thread where the local ones have the machine's default
    spec = load_spec(str(write_spec(tmp_path, days=8, users=12_000)))
    results = {
        "local_1": runner.run_experiment(spec, tmp_path / "local_1", workers=1, log=quiet),
        "local_2": runner.run_experiment(spec, tmp_path / "local_2", workers=2, log=quiet),
        "dask_2": runner.run_experiment(spec, tmp_path / "dask_2", workers=2, log=quiet,
                                        backend="dask"),
    }
    assert all(len(r.done) == 4 and r.exit_code == 0 for r in results.values())
    assert_identical(results["local_1"].folder, results["local_2"].folder)
    assert_identical(results["local_1"].folder, results["dask_2"].folder)


class SlowMarket(WhatsAppMarket):
    """The model, with days of high ad load made slow (the numbers are unchanged)."""

    day_s = 0.6

    def step(self) -> None:
        if self.p.ad_load == 0.1:
            time.sleep(self.day_s)
        super().step()


@pytest.fixture
def slow_high_ad_load(monkeypatch):
    monkeypatch.setattr(runner, "WhatsAppMarket", SlowMarket)


def test_time_limit_fails_slow_runs_keeps_the_others_and_a_larger_limit_completes_them(
        tmp_path, capsys, slow_high_ad_load):
    path, out = write_spec(tmp_path, days=6, users=1000), tmp_path / "out"
    wasim = ["run", str(path), "--out", str(out), "--workers", "1"]
    assert main([*wasim, "--time-limit", "2"]) == 1
    printed = capsys.readouterr().out
    assert printed.count("failed: experiments.runner.TimeLimitExceeded: stopped before day ") == 2
    assert "2 of 4 runs done, 2 failed" in printed
    failures = sorted((out / "failed").glob("*.txt"))
    assert len(failures) == 2
    for failure in failures:
        assert "the time limit of 2 s per run (--time-limit)" in failure.read_text()
    assert len(pd.read_parquet(out / "summary.parquet")) == 2

    assert main([*wasim, "--time-limit", "60"]) == 0
    assert "4 of 4 runs done, 0 failed" in capsys.readouterr().out
    assert not list((out / "failed").glob("*.txt"))
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(summary) == 4 and (summary["elapsed_s"] > 2).sum() == 2


@pytest.fixture
def threaded_dask_cluster():
    """A real Dask scheduler and two workers on 127.0.0.1 over TCP, the workers as threads of
    this process, so that the slow model patched in here is the one they run."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster


def test_time_limit_stops_runs_in_dask_worker_threads(tmp_path, slow_high_ad_load,
                                                      threaded_dask_cluster):
    address = threaded_dask_cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    spec = load_spec(str(write_spec(tmp_path, days=6, users=1000)))
    result = runner.run_experiment(spec, tmp_path / "out", log=quiet, backend="dask",
                                   scheduler=address, time_limit_s=2)
    assert result.exit_code == 1 and len(result.done) == 2
    assert all("TimeLimitExceeded: stopped before day" in r["error"] for r in result.failed)
    assert "execute_run" in threaded_dask_cluster.scheduler.task_prefixes


def test_ctrl_c_stops_the_workers_keeps_whole_files_and_a_rerun_completes(tmp_path):
    # runs of a few seconds each, so the interrupt after the first file lands mid-experiment
    # with room to spare
    path = write_spec(tmp_path, days=120, users=6000)
    whole = runner.run_experiment(load_spec(str(path)), tmp_path / "whole", workers=1, log=quiet)

    out = tmp_path / "out"
    args = ["run", str(path), "--out", str(out), "--workers", "2"]
    # Ctrl-C as a terminal gives it: the command starts with Python's default SIGINT handler
    # whatever this test process's own disposition (an ignored SIGINT is inherited across exec
    # and Python then raises no KeyboardInterrupt; in the full suite in CI the command twice ran
    # to the end despite the interrupt, which that would explain)
    wasim = [sys.executable, "-c", "import signal, sys; from experiments.cli import main; "
             "signal.signal(signal.SIGINT, signal.default_int_handler); sys.exit(main(sys.argv[1:]))",
             *args]
    proc = subprocess.Popen(wasim, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.time() + 120
    while not list((out / "runs").glob("*.parquet")) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C on a terminal: the whole process group
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stderr, stdout, signal.getsignal(signal.SIGINT))

    files = sorted((out / "runs").iterdir())
    done = len(files)
    assert 1 <= done < 4, "the interrupt should land mid-experiment"
    assert f"interrupted: {done} of 4 runs done; run again to finish" in stdout
    assert "Traceback" not in stderr
    folder = ResultFolder(out)
    assert all(f.suffix == ".parquet" and folder.read_record(f.stem) for f in files)
    assert len(folder.summary()) == done

    rerun = subprocess.run(wasim, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resuming 'tiny': {done} of 4 runs done" in rerun.stdout
    pd.testing.assert_frame_equal(without_timing(whole.folder.summary()), without_timing(folder.summary()),
                                  check_exact=True)


@pytest.mark.parametrize("option, message", [
    (["--backend", "spark"], "--backend: got 'spark'; allowed: one of local, dask"),
    (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler: got 'tcp://127.0.0.1:8786' with "
                                              "--backend local; allowed only with --backend dask"),
    (["--time-limit", "0"], "--time-limit: got 0.0; allowed: a number of seconds > 0"),
    (["--workers", "0"], "--workers: got 0; allowed: an integer >= 1"),
])
def test_bad_run_option_exits_2_names_it_and_writes_nothing(tmp_path, capsys, option, message):
    out = tmp_path / "out"
    assert main(["run", str(write_spec(tmp_path, days=3, users=1000)), "--out", str(out),
                 *option]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_bench_sweep_reports_overhead_and_speedup_as_json(capsys):
    assert main(["bench", "--sweep", "--users", "1000", "--days", "2", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) == {"users", "days", "runs", "run_s_mean", "wall_s_1_worker",
                            "wall_s_2_workers", "overhead_ms_per_run", "speedup_2_workers"}
    assert (figures["users"], figures["days"], figures["runs"]) == (1000, 2, 16)
    overhead_ms = 1000 * (figures["wall_s_1_worker"] / figures["runs"] - figures["run_s_mean"])
    assert figures["overhead_ms_per_run"] == pytest.approx(overhead_ms, abs=1)
    speedup = figures["wall_s_1_worker"] / figures["wall_s_2_workers"]
    assert figures["speedup_2_workers"] == pytest.approx(speedup, abs=0.01)


ADAPTIVE = SPEC.replace("replicates = 2", "replicates = {{target = \"revenue_total\", "
                                          "ci_halfwidth = 0.06, max = 16}}")


def test_adaptive_replication_adds_rounds_until_each_interval_is_narrow_or_at_max(tmp_path, capsys):
    from scipy import stats

    from experiments.runs import plan_runs

    path, out = tmp_path / "adaptive.toml", tmp_path / "out"
    path.write_text(ADAPTIVE.format(days=10, users=1000))
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert "adaptive replication: " in capsys.readouterr().out
    summary = pd.read_parquet(out / "summary.parquet")
    counts = summary.groupby("point")["revenue_total"].count()
    assert len(counts) == 2 and counts.sum() > 2 * 3, "some point needs more than 3 replicates"
    for point, n in counts.items():
        values = summary.loc[summary["point"] == point, "revenue_total"]
        halfwidth = stats.t.ppf(0.975, n - 1) * values.std() / n ** 0.5
        assert 3 <= n <= 16 and (n == 16 or halfwidth <= 0.06 * abs(values.mean()))
        assert sorted(summary.loc[summary["point"] == point, "replicate"]) == list(range(n))

    spec = load_spec(str(path))
    fixed = plan_runs(dataclasses.replace(spec, replicates=16, adaptive=None), out)
    assert set(summary["run_id"]) <= {t.run_id for t in fixed}, "seeds stay hierarchical"
    record = ResultFolder(out).read_record(summary["run_id"].iloc[0])
    assert tuple(record["outcomes"]) == OUTCOMES

    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    assert f"nothing to do: all {len(summary)} runs of 'tiny' are done" in capsys.readouterr().out
    assert main(["status", str(out)]) == 0
    assert f"{len(summary)} runs planned, {len(summary)} done, 0 failed, 0 missing" in (
        capsys.readouterr().out)


@pytest.mark.parametrize("replicates, message", [
    ('{target = "revenue_totl", ci_halfwidth = 0.02, max = 50}',
     "experiment.replicates.target: got 'revenue_totl'; allowed: a summary outcome, one of"),
    ('{target = "revenue_total", ci_halfwidth = 0, max = 50}',
     "experiment.replicates.ci_halfwidth: got 0; allowed: a number > 0"),
    ('{target = "revenue_total", ci_halfwidth = 0.02, max = 2}',
     "experiment.replicates.max: got 2; allowed: an integer >= 3"),
    ('{target = "revenue_total", ci_halfwidth = 0.02}', "experiment.replicates.max: missing"),
    ('{target = "revenue_total", ci = 0.02, max = 50}',
     "experiment.replicates.ci: unknown key for adaptive replication"),
    ('"many"', "experiment.replicates: got 'many'; allowed: an integer >= 1, or a table"),
])
def test_bad_adaptive_replicates_exit_2_naming_the_field(tmp_path, capsys, replicates, message):
    path, out = tmp_path / "bad.toml", tmp_path / "out"
    path.write_text(f"[experiment]\nname = 'x'\nreplicates = {replicates}\n")
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
