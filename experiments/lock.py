"""One ``wasim run`` at a time per result folder: a lock file held with ``flock``.

Two runs into one folder would both compute every missing run (the files stay whole, but
the work is doubled and the progress lines interleave), so ``run_experiment`` holds
``RESULT_DIR/run.lock`` while it works. The lock is the kernel's ``flock`` on that file: it
is released when the holder exits, however it exits (a ``kill -9`` or the out-of-memory
killer included), so a lock left by a dead process is never mistaken for a live one. The
file's content, JSON with the holder's pid, host and start time, only serves the messages:
who holds the folder, or whose lock was left behind and is taken over. The holder removes
the file when it is done; a file left by a killed process names it.

The lock is taken by the process that runs the experiment, whichever backend executes the
runs (local processes or a Dask cluster): the workers write run files, never the lock.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket
from pathlib import Path

from experiments.checks import SpecError

LOCK_NAME = "run.lock"


class FolderBusy(SpecError):
    """Another process is running an experiment into the folder (exit code 2)."""


def holder_text(holder: dict | None) -> str:
    """'pid 123 on host h since 2026-11-30 08:01:02' (or what the lock file lets one tell)."""
    if not holder:
        return "a process whose lock file says nothing (written by an older wasim, or being written)"
    return (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')} "
            f"since {holder.get('since', '?')}")


def read_holder(path: Path) -> dict | None:
    """What the lock file at ``path`` says of its holder; None if absent or unreadable."""
    try:
        holder = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def alive_here(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


class FolderLock:
    """The lock of the result folder at ``folder``: ``acquire`` it (or fail naming its
    holder, or wait for it), ``release`` it; or use it as a context manager."""

    def __init__(self, folder: str | Path, wait: bool = False, log=print):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.wait = wait
        self.log = log
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock. Held by another process: raise ``FolderBusy`` naming it, or with
        ``wait`` say whom we wait for and block until it is released. A lock file whose
        holder is gone is taken over, saying so."""
        self.folder.mkdir(parents=True, exist_ok=True)
        told = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = read_holder(self.path)
                if not self.wait:
                    os.close(fd)
                    raise FolderBusy("--out", f"{self.folder} is in use by another `wasim run`: "
                                              f"{holder_text(holder)}; wait for it to finish (or "
                                              "run again with --wait), or choose another --out") from None
                if not told:
                    self.log(f"waiting for {holder_text(holder)}, which is running an experiment "
                             f"into {self.folder} (--wait)")
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)  # blocks until the holder releases or dies
            if not self._still_linked(fd):  # the holder removed the file as we waited: again
                os.close(fd)
                continue
            left = read_holder(self.path)
            if left:
                self.log(f"taking over the lock of {self.folder} left by {holder_text(left)}, "
                         f"{_why_gone(left)}")
            self._fd = fd
            self._write_holder()
            return

    def release(self) -> None:
        """Remove the lock file and let go of it (both while holding it, so a waiter never
        locks a file that is about to go)."""
        if self._fd is None:
            return
        try:
            if self._still_linked(self._fd):
                self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None

    def _still_linked(self, fd: int) -> bool:
        """Whether the file we hold is still the one at ``path``."""
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def _write_holder(self) -> None:
        since = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text.encode(), 0)


def _why_gone(holder: dict) -> str:
    """Why a lock file's holder no longer holds it, in words."""
    pid = holder.get("pid")
    if holder.get("host") == socket.gethostname() and isinstance(pid, int) and not alive_here(pid):
        return "which is no longer running (killed, or it crashed)"
    if holder.get("host") == socket.gethostname():
        return "which holds it no more (killed or crashed; its pid now belongs to another process)"
    return "which holds it no more"


def running(folder: str | Path) -> dict | None:
    """The holder of the folder's lock if a process holds it now (for ``wasim status``);
    None when no run is going."""
    path = Path(folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(path) or {}
    finally:
        os.close(fd)
    return None
