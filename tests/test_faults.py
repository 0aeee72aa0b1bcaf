"""Failures of the environment (``experiments.faults``): a full disk, permission denied, the
result folder deleted mid-run and a worker killed each stop ``wasim run`` with one line naming
the cause and what to do, exit code 1 and no partial file; the next ``wasim run`` finishes
what is missing. Each fault is injected: a writer that fills the disk (and, where this
machine allows a private mount, a real 64 KiB file system), a folder made read-only, the
folder deleted by the run itself, a worker process killed with SIGKILL at a known point
(the runner's test hook ``runner.HOLD_ENV``)."""

import errno
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from conftest import write_spec

from experiments import pool_worker, runner
from experiments.cli import main
from experiments.storage import ResultFolder

WASIM = [sys.executable, "-m", "experiments.cli"]


def spec_path(tmp_path: Path) -> str:
    return str(write_spec(tmp_path, days=5, users=500))


def check_folder_left(out: Path, runs: int) -> None:
    """``runs`` whole run files, no partial file of any kind, no run recorded as failed."""
    folder = ResultFolder(out)
    files = sorted(p.stem for p in folder.runs_dir.glob("*.parquet"))
    assert len(files) == runs and all(folder.read_record(run_id) for run_id in files)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not folder.failed_ids()


def one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    return err


def rerun_finishes(tmp_path: Path, out: Path, capsys, done_before: int) -> None:
    assert main(["run", spec_path(tmp_path), "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    if done_before:
        assert f"resuming 'tiny': {done_before} of 4 runs done" in printed
    assert "4 of 4 runs done, 0 failed" in printed
    check_folder_left(out, 4)
    assert len(ResultFolder(out).summary()) == 4


def test_a_full_disk_stops_the_sweep_with_one_line_and_the_rerun_finishes(tmp_path, monkeypatch, capsys):
    """The second run file's writer fills the disk half-way through, as pyarrow reports it."""
    out, real, calls = tmp_path / "out", pq.write_table, []

    def fill_the_disk(table, where, **options):
        calls.append(where)
        if len(calls) == 2:
            Path(where).write_bytes(b"PAR1" + bytes(1000))  # what got onto the disk
            raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space "
                                        "left on device")
        return real(table, where, **options)

    monkeypatch.setattr(pq, "write_table", fill_the_disk)
    assert main(["run", spec_path(tmp_path), "--out", str(out), "--workers", "1"]) == 1
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"wasim: error: no space left on the disk holding {out}; free some space")
    assert "`wasim run` again does the runs that are missing (finished ones are kept)" in err
    check_folder_left(out, 1)
    monkeypatch.undo()
    rerun_finishes(tmp_path, out, capsys, done_before=1)


def _can_mount_privately() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_privately(), reason="needs root and mount namespaces (unshare -m)")
def test_a_really_full_file_system_gives_the_same_line_and_a_larger_one_finishes(tmp_path):
    """A 64 KiB tmpfs in a private mount namespace (gone when the test ends) holds the folder's
    spec and provenance but not a run file; remounted at 64 MiB, the rerun does every run."""
    mnt, log = tmp_path / "disk", tmp_path / "log"
    mnt.mkdir()
    out = mnt / "out"
    run = " ".join([*WASIM, "run", spec_path(tmp_path), "--out", str(out), "--workers", "1"])
    script = f"""
        mount -t tmpfs -o size=64k tmpfs {mnt} || exit 99
        cd {Path.cwd()}
        {run} > {log}.1.out 2> {log}.1.err; echo $? > {log}.1.rc
        find {out} > {log}.1.files
        mount -o remount,size=64m {mnt}
        {run} > {log}.2.out 2> {log}.2.err; echo $? > {log}.2.rc
        find {out} > {log}.2.files
    """
    subprocess.run(["unshare", "-m", "sh", "-c", script], check=True, timeout=600)
    read = lambda suffix: Path(f"{log}.{suffix}").read_text()  # noqa: E731
    assert read("1.rc").strip() == "1", read("1.err")
    err = one_line(read("1.err"))
    assert err.startswith(f"wasim: error: no space left on the disk holding {out}; free some space")
    first = read("1.files").split()
    assert not [f for f in first if f.endswith(".tmp") or f.endswith(".parquet")], first
    assert read("2.rc").strip() == "0", read("2.err")
    second = read("2.files").split()
    assert len([f for f in second if f.endswith(".parquet") and "/runs/" in f]) == 4
    assert not [f for f in second if f.endswith(".tmp")]


def test_permission_denied_stops_the_sweep_with_one_line_and_the_rerun_finishes(tmp_path, capsys):
    """runs/ made read-only after two of the four runs. Root ignores file modes, so as root the
    command runs without the capabilities that let it (setpriv)."""
    out = tmp_path / "out"
    assert main(["run", spec_path(tmp_path), "--out", str(out), "--workers", "1"]) == 0
    for run_file in sorted((out / "runs").glob("*.parquet"))[:2]:
        run_file.unlink()
    command = [*WASIM, "run", spec_path(tmp_path), "--out", str(out), "--workers", "1"]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("as root, needs setpriv to drop the capability to ignore file modes")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]
    (out / "runs").chmod(0o555)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    finally:
        (out / "runs").chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    err = one_line(proc.stderr)
    assert err.startswith(f"wasim: error: permission denied writing in {out} ({out / 'runs'}); "
                          "make it writable"), err
    check_folder_left(out, 2)
    capsys.readouterr()
    rerun_finishes(tmp_path, out, capsys, done_before=2)


def test_the_folder_deleted_mid_run_stops_the_sweep_with_one_line_and_the_rerun_redoes_it(
        tmp_path, monkeypatch, capsys):
    out, real, calls = tmp_path / "out", runner.simulate, []

    def delete_the_folder(parameters, days, rng):
        calls.append(1)
        if len(calls) == 3:
            shutil.rmtree(out)
        return real(parameters, days, rng)

    monkeypatch.setattr(runner, "simulate", delete_the_folder)
    assert main(["run", spec_path(tmp_path), "--out", str(out), "--workers", "1"]) == 1
    err = one_line(capsys.readouterr().err)
    assert err == (f"wasim: error: {out} was deleted or moved while the experiment ran; `wasim run` "
                   "again starts it anew\n")
    assert not out.exists()  # nothing written after it went
    monkeypatch.undo()
    rerun_finishes(tmp_path, out, capsys, done_before=0)


def test_a_killed_worker_stops_the_sweep_with_one_line_and_the_rerun_finishes(tmp_path, monkeypatch, capsys):
    """Two workers; once the first run file is written (its worker then holds), one worker is
    killed with SIGKILL, as the out-of-memory killer does."""
    out, release = tmp_path / "out", tmp_path / "release"
    monkeypatch.setenv(runner.HOLD_ENV, str(release))  # the spawned workers inherit it
    killed = []

    def kill_a_worker():
        deadline = time.monotonic() + 600
        while not list((out / "runs").glob("*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = multiprocessing.active_children()[0]
        os.kill(worker.pid, signal.SIGKILL)
        killed.append(worker.pid)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    code = main(["run", spec_path(tmp_path), "--out", str(out), "--workers", "2"])
    killer.join()
    assert killed and code == 1
    err = one_line(capsys.readouterr().err)
    assert err.startswith("wasim: error: a worker process died abruptly (killed by the out-of-memory "
                          "killer or by a signal such as `kill -9`); if memory is short, use fewer "
                          "--workers"), err
    done = len(list((out / "runs").glob("*.parquet")))
    assert 1 <= done <= 2  # each worker wrote at most one run before holding
    check_folder_left(out, done)
    release.touch()
    rerun_finishes(tmp_path, out, capsys, done_before=done)


def test_a_killed_main_process_leaves_no_worker_behind_and_the_rerun_finishes(tmp_path, capsys):
    """``kill -9`` of ``wasim run`` itself: its pool's workers end within seconds
    (``pool_worker``). Held after a run (``runner.HOLD_ENV``), they would otherwise wait for
    ever, as would any worker waiting on its task queue."""
    out, release = tmp_path / "out", tmp_path / "release"
    command = [*WASIM, "run", spec_path(tmp_path), "--out", str(out), "--workers", "2"]
    main_process = subprocess.Popen(command, env={**os.environ, runner.HOLD_ENV: str(release)},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started, workers = psutil.Process(main_process.pid), []
    try:
        deadline = time.monotonic() + 300
        while not list((out / "runs").glob("*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = started.children()
        assert len(workers) >= 2  # the pool's two workers (and multiprocessing's resource tracker)
        main_process.kill()
        main_process.wait()
        deadline = time.monotonic() + 10 * pool_worker.PARENT_CHECK_S + 5
        while not all(map(ended, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [w.pid for w in workers if not ended(w)] == []
    finally:  # whatever failed, nothing of the sweep outlives the test
        release.touch()
        main_process.kill()
        main_process.wait()
        for process in workers:
            if not ended(process):
                process.kill()
    done = len(list((out / "runs").glob("*.parquet")))
    assert 1 <= done <= 2
    rerun_finishes(tmp_path, out, capsys, done_before=done)


def ended(process: psutil.Process) -> bool:
    """Gone, or a zombie that nobody has reaped yet (it runs nothing)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
