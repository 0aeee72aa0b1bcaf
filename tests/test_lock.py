"""One ``wasim run`` at a time per result folder (``experiments.lock``): a second run into a
busy folder exits 2 naming the holder, ``--wait`` waits for it and then finishes, a lock left
by a killed run is taken over, on both backends.

The first run is held at a known point by the runner's test hook (``runner.HOLD_ENV``: each
run waits after writing its file until a release file exists), so the second one always
meets a busy folder, whatever the machine's load."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import quiet, write_spec

from experiments import runner
from experiments.cli import main
from experiments.lock import LOCK_NAME, FolderBusy, FolderLock, running


@contextmanager
def held_run(tmp_path: Path, out: Path, *options: str):
    """``wasim run`` of the tiny spec into ``out`` in a session of its own, each run held after
    writing its file until ``release`` is called; killed if the test ends first."""
    release = tmp_path / f"release-{out.name}"
    env = os.environ | {runner.HOLD_ENV: str(release)}
    command = [sys.executable, "-m", "experiments.cli", "run", str(write_spec(tmp_path, days=5, users=500)),
               "--out", str(out), *options]
    proc = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.release = release.touch
    try:
        deadline = time.monotonic() + 600  # only so that a broken command cannot hang the suite
        while not list((out / "runs").glob("*.parquet")):
            assert proc.poll() is None, f"the held run ended before a run file: {proc.communicate()}"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_files(out: Path) -> int:
    return len(list((out / "runs").glob("*.parquet")))


def test_a_second_run_into_a_busy_folder_exits_2_naming_the_holder_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    with held_run(tmp_path, out, "--workers", "1") as first:
        before = sorted(p.name for p in out.rglob("*"))
        code = main(["run", str(write_spec(tmp_path, days=5, users=500)), "--out", str(out),
                     "--workers", "1"])
        err = capsys.readouterr().err
        assert code == 2
        host = socket.gethostname()
        assert f"{out} is in use by another `wasim run`: pid {first.pid} on host {host} since " in err
        assert "--wait" in err and err.count("\n") == 1
        assert sorted(p.name for p in out.rglob("*")) == before
        assert running(out)["pid"] == first.pid
        assert main(["status", str(out)]) == 0
        assert f"running now: `wasim run` by pid {first.pid} on host {host} since " in capsys.readouterr().out
        first.release()
        assert first.wait(timeout=300) == 0
    assert run_files(out) == 4 and not (out / LOCK_NAME).exists() and running(out) is None


def test_with_wait_the_second_run_waits_for_the_first_and_then_finishes(tmp_path):
    out = tmp_path / "out"
    with held_run(tmp_path, out, "--workers", "1") as first:
        second = subprocess.Popen([sys.executable, "-u", "-m", "experiments.cli", "run",
                                   str(write_spec(tmp_path, days=5, users=500)), "--out", str(out),
                                   "--workers", "1", "--wait"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waiting = second.stdout.readline()  # said before it blocks
        assert waiting.startswith(f"waiting for pid {first.pid} on host {socket.gethostname()} since ")
        assert second.poll() is None and run_files(out) == 1
        first.release()
        assert first.wait(timeout=300) == 0
        rest, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert f"nothing to do: all 4 runs of 'tiny' are done in {out}" in rest
    assert run_files(out) == 4 and not (out / LOCK_NAME).exists()


def test_the_lock_of_a_killed_run_is_taken_over_and_the_rerun_finishes(tmp_path, capsys):
    out = tmp_path / "out"
    with held_run(tmp_path, out, "--workers", "1") as first:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    left = json.loads((out / LOCK_NAME).read_text())
    assert left["pid"] == first.pid and running(out) is None  # the file stays, the lock went with it
    code = main(["run", str(write_spec(tmp_path, days=5, users=500)), "--out", str(out), "--workers", "1"])
    printed = capsys.readouterr().out
    assert code == 0
    assert (f"taking over the lock of {out} left by pid {first.pid} on host {socket.gethostname()} since "
            f"{left['since']}, which is no longer running" in printed)
    assert "resuming 'tiny': 1 of 4 runs done" in printed
    assert run_files(out) == 4 and not (out / LOCK_NAME).exists()


def test_a_run_on_the_dask_backend_holds_the_folder_too(tmp_path, capsys):
    out = tmp_path / "out"
    with held_run(tmp_path, out, "--backend", "dask", "--workers", "1") as first:
        code = main(["run", str(write_spec(tmp_path, days=5, users=500)), "--out", str(out),
                     "--backend", "dask"])
        assert code == 2 and f"pid {first.pid} on host" in capsys.readouterr().err
        first.release()
        assert first.wait(timeout=300) == 0, first.communicate()
    assert run_files(out) == 4


# --- the lock alone ----------------------------------------------------------------------------
def test_a_lock_file_naming_a_dead_process_is_taken_over(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead = int(gone.stdout)
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead, "host": socket.gethostname(),
                                                  "since": "2026-01-01T00:00:00+00:00"}))
    said = []
    with FolderLock(tmp_path, log=said.append):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert said == [f"taking over the lock of {tmp_path} left by pid {dead} on host {socket.gethostname()} "
                    "since 2026-01-01T00:00:00+00:00, which is no longer running (killed, or it crashed)"]
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_held_lock_refuses_or_makes_a_waiter_wait_until_released(tmp_path):
    holder = FolderLock(tmp_path)
    holder.acquire()
    with pytest.raises(FolderBusy, match=f"pid {os.getpid()} on host"):
        FolderLock(tmp_path).acquire()
    said, got = [], threading.Event()

    def wait_for_it():
        with FolderLock(tmp_path, wait=True, log=said.append):
            got.set()

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    deadline = time.monotonic() + 60
    while not said and time.monotonic() < deadline:
        time.sleep(0.01)
    assert said and said[0].startswith(f"waiting for pid {os.getpid()}") and not got.is_set()
    holder.release()
    waiter.join(timeout=60)
    assert got.is_set() and len(said) == 1  # the released file was not "taken over"
    assert not (tmp_path / LOCK_NAME).exists()


def test_run_experiment_releases_the_lock_when_runs_fail(tmp_path, failing_high_ad_load):
    from experiments.spec import load_spec

    spec = load_spec(str(write_spec(tmp_path, days=5, users=500)))
    assert runner.run_experiment(spec, tmp_path / "out", workers=1, log=quiet).exit_code == 1
    assert running(tmp_path / "out") is None and not (tmp_path / "out" / LOCK_NAME).exists()
