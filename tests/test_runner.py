"""Running experiments (``experiments.runner``): the same numbers bit for bit on one or two
local workers and on a real Dask cluster on loopback; resuming after a failure, a kill or
Ctrl-C; the per-run time limit on both backends; adaptive replication; bad run options and
clusters that cannot run the experiment, refused before the result folder is touched.

The kill and Ctrl-C tests stop a sweep at a known point: the runner's test hook
(``runner.HOLD_ENV``) holds each run after it has written its file, so no timing or machine
load decides how many runs are done when the signal arrives."""

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import SPEC, folder_bytes, quiet, without_timing, write_spec

from experiments import runner
from experiments.cli import main
from experiments.outcomes import OUTCOMES
from experiments.spec import load_spec
from experiments.storage import ResultFolder
from model.market import WhatsAppMarket


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


def test_second_run_does_nothing_and_says_so(tmp_path):
    spec = load_spec(str(write_spec(tmp_path)))
    runner.run_experiment(spec, tmp_path / "out", workers=1, log=quiet)
    lines = []
    again = runner.run_experiment(spec, tmp_path / "out", workers=1, log=lines.append)
    assert again.done == [] and again.already_done == 4
    assert lines == [f"nothing to do: all 4 runs of 'tiny' are done in {tmp_path / 'out'}"]


def test_failed_run_is_recorded_others_kept_and_retried_next_time(tmp_path, monkeypatch,
                                                                   failing_high_ad_load):
    spec = load_spec(str(write_spec(tmp_path)))
    first = runner.run_experiment(spec, tmp_path / "out", workers=1, log=quiet)
    assert first.exit_code == 1 and len(first.failed) == 2 and len(first.done) == 2
    failed = sorted((tmp_path / "out" / "failed").glob("*.txt"))
    assert len(failed) == 2 and "RuntimeError: boom" in failed[0].read_text()
    assert len(first.summary) == 2

    monkeypatch.setattr(runner, "simulate", failing_high_ad_load)
    second = runner.run_experiment(spec, tmp_path / "out", workers=1, log=quiet)
    assert second.exit_code == 0 and len(second.done) == 2 and len(second.summary) == 4
    assert not list((tmp_path / "out" / "failed").glob("*.txt"))


@contextmanager
def held_command(command: list[str], tmp_path: Path, **popen):
    """The command started in a session of its own, its runs held after writing their files
    for good (the release file never appears: the test's signal ends the command); killed
    with its workers if the test ends first."""
    env = os.environ | {runner.HOLD_ENV: str(tmp_path / "never-released")}
    proc = subprocess.Popen(command, start_new_session=True, env=env, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for_first_run_file(folder: Path, proc: subprocess.Popen) -> None:
    """Until the command has written a run file (and holds); a long deadline only so that a
    broken command cannot hang the suite."""
    deadline = time.monotonic() + 600
    while not list((folder / "runs").glob("*.parquet")):
        assert proc.poll() is None, f"the command ended (exit {proc.returncode}) before a run file"
        assert time.monotonic() < deadline, "no run file after 10 minutes"
        time.sleep(0.05)


def test_killed_and_resumed_experiment_gives_the_same_summary(tmp_path):
    """SIGKILL while the first run is held after writing its file: exactly one of the four
    runs is done, whatever the machine's load; the rerun does the other three."""
    spec_path = write_spec(tmp_path)
    whole = runner.run_experiment(load_spec(str(spec_path)), tmp_path / "whole", workers=1, log=quiet)
    killed = tmp_path / "killed"
    wasim = [sys.executable, "-m", "experiments.cli", "run", str(spec_path), "--workers", "1",
             "--out", str(killed)]
    with held_command(wasim, tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        wait_for_first_run_file(killed, proc)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(list((killed / "runs").glob("*.parquet"))) == 1

    resumed = subprocess.run(wasim, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming 'tiny': 1 of 4 runs done" in resumed.stdout
    pd.testing.assert_frame_equal(without_timing(whole.summary),
                                  without_timing(pd.read_parquet(killed / "summary.parquet")))
    assert not list((killed / "runs").glob(".*.tmp"))


def test_ctrl_c_stops_the_workers_keeps_whole_files_and_a_rerun_completes(tmp_path):
    """Ctrl-C after the first run file of two workers: each worker holds after its own first
    file, so one or two of the four runs are done, never more, whatever the load."""
    path = write_spec(tmp_path)
    whole = runner.run_experiment(load_spec(str(path)), tmp_path / "whole", workers=1, log=quiet)

    out = tmp_path / "out"
    args = ["run", str(path), "--out", str(out), "--workers", "2"]
    # Ctrl-C as a terminal gives it: the command starts with Python's default SIGINT handler
    # whatever this test process's own disposition (an ignored SIGINT is inherited across exec,
    # and Python then raises no KeyboardInterrupt)
    wasim = [sys.executable, "-c", "import signal, sys; from experiments.cli import main; "
             "signal.signal(signal.SIGINT, signal.default_int_handler); sys.exit(main(sys.argv[1:]))",
             *args]
    with held_command(wasim, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        wait_for_first_run_file(out, proc)
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C on a terminal: the whole process group
        stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, (stderr, stdout, signal.getsignal(signal.SIGINT))

    files = sorted((out / "runs").iterdir())
    done = len(files)
    assert done in (1, 2), files
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


class RunClock(threading.local):
    """The runner's clock (its ``time``), each thread's own, advanced only by the slow model's
    days: the time limit is tested without sleeping and whatever the machine's speed or load."""

    now = 0.0

    def perf_counter(self) -> float:
        return self.now

    monotonic = perf_counter

    def sleep(self, seconds: float) -> None:
        self.now += seconds


DAY_S = 0.6
"""Seconds on the run clock of a day at high ad load (the others take none)."""


@pytest.fixture
def slow_high_ad_load(monkeypatch):
    """Days of high ad load take ``DAY_S`` on the runner's clock; the numbers are unchanged."""
    clock = RunClock()

    class SlowMarket(WhatsAppMarket):
        def step(self) -> None:
            if self.p.ad_load == 0.1:
                clock.now += DAY_S
            super().step()

    monkeypatch.setattr(runner, "WhatsAppMarket", SlowMarket)
    monkeypatch.setattr(runner, "time", clock)


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
    assert sorted(summary["elapsed_s"]) == [0, 0, pytest.approx(6 * DAY_S), pytest.approx(6 * DAY_S)]


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


@pytest.mark.parametrize("scheduler, message", [
    ("notanaddress", "--scheduler: got 'notanaddress'; allowed: a scheduler's address, "
                     "tcp://HOST:PORT or tls://HOST:PORT"),
    ("{refused}", "--scheduler: cannot reach {refused}: [Errno 111] Connection refused"),
])
def test_unusable_scheduler_exits_2_before_fresh_discards_anything_or_a_folder_is_made(
        tmp_path, capsys, refused_address, scheduler, message):
    """A mistyped --scheduler, or one where no scheduler listens: the runs that --fresh would
    discard are all still there, byte for byte, and a new --out is not made."""
    path, out = write_spec(tmp_path, days=3, users=1000), tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    before = folder_bytes(out)
    dask = ["--backend", "dask", "--scheduler", scheduler.format(refused=refused_address)]
    assert main(["run", str(path), "--out", str(out), "--fresh", *dask]) == 2
    assert main(["run", str(path), "--out", str(tmp_path / "new"), *dask]) == 2
    error = capsys.readouterr().err
    assert error.count(f"wasim: error: {message.format(refused=refused_address)}") == 2, error
    assert folder_bytes(out) == before
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("worker_view, message", [
    (lambda out_dir: ("0123456789ab", True), "runs model code 0123456789ab, this checkout"),
    (lambda out_dir: (runner.model_hash(), out_dir is None), "cannot see"),
])
def test_cluster_whose_workers_cannot_run_the_experiment_is_refused_before_fresh_discards(
        tmp_path, capsys, monkeypatch, threaded_dask_cluster, worker_view, message):
    """Workers with other model code, or that do not see the result folder: exit 2 on
    --scheduler, and the runs that --fresh would discard are all still there."""
    path, out = write_spec(tmp_path, days=3, users=1000), tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    before = folder_bytes(out)
    monkeypatch.setattr(runner, "_worker_view", worker_view)
    assert main(["run", str(path), "--out", str(out), "--fresh", "--backend", "dask",
                 "--scheduler", threaded_dask_cluster.scheduler_address]) == 2
    error = capsys.readouterr().err
    assert "wasim: error: --scheduler: worker tcp://127.0.0.1:" in error and message in error
    assert folder_bytes(out) == before


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
