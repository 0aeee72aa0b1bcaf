"""Failures of the environment, not of a run: a full disk, a folder one may not write, a
result folder deleted while the experiment runs, a worker process killed (by the
out-of-memory killer or a ``kill -9``).

A run that raises is the run's failure: it is recorded and the sweep goes on. These are not:
every later run would meet them too. So a worker lets them through (``is_environment_fault``),
the experiment stops, and the command prints one line naming the cause and what to do, with
exit code 1 (``EnvironmentFault``). Files are written whole or not at all
(``storage.atomic_write``), so what finished is kept and the next ``wasim run`` does the rest.
"""

from __future__ import annotations

import errno
import re
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}
GONE = {errno.ENOENT, errno.ESTALE}


class EnvironmentFault(Exception):
    """The experiment stopped for a cause outside it (exit code 1); the message is one line:
    what happened and what to do."""


def is_environment_fault(err: BaseException) -> bool:
    """Whether ``err`` is the environment's fault (disk, permissions, a lost folder) rather
    than the run's."""
    return isinstance(err, OSError) and err.errno in DISK_FULL | NOT_ALLOWED | GONE


def describe(err: BaseException, folder: str | Path) -> EnvironmentFault | None:
    """The one-line ``EnvironmentFault`` for ``err`` met while running an experiment into
    ``folder``; None when ``err`` is not the environment's fault (it is then raised as it is)."""
    folder = Path(folder)
    again = "then `wasim run` again does the runs that are missing (finished ones are kept)"
    if isinstance(err, BrokenProcessPool) or _killed_dask_worker(err):
        return EnvironmentFault(
            "a worker process died abruptly (killed by the out-of-memory killer or by a signal "
            "such as `kill -9`); if memory is short, use fewer --workers or fewer --set n_users; "
            f"{again}")
    if not isinstance(err, OSError) or not is_environment_fault(err):
        return None
    filename = err.filename or _quoted_file(err.strerror or "")
    where = f" ({_shown(filename)})" if filename else ""
    if err.errno in DISK_FULL:
        return EnvironmentFault(f"no space left on the disk holding {folder}{where}; free some "
                                f"space (or use --out on another disk), {again}")
    if err.errno in NOT_ALLOWED:
        return EnvironmentFault(f"permission denied writing in {folder}{where}; make it writable "
                                f"(or use --out for a folder you may write), {again}")
    if not folder.is_dir():
        return EnvironmentFault(f"{folder} was deleted or moved while the experiment ran; "
                                "`wasim run` again starts it anew")
    return EnvironmentFault(f"a file of {folder} vanished while the experiment ran{where}; was "
                            f"something else changing the folder? {again}")


def _quoted_file(message: str) -> str | None:
    """The file pyarrow names in its message ("Failed to open local file '/x/y'. Detail: ..."),
    as its errors carry no ``filename``."""
    found = re.search(r"file '([^']+)'", message)
    return found.group(1) if found else None


def _shown(filename) -> str:
    """A file named in a message: the folder of a temporary file (``atomic_write``'s
    ``.<name>.<pid>.tmp``), whose own name would mean nothing to the reader."""
    path = Path(filename)
    return str(path.parent) if path.name.startswith(".") and path.name.endswith(".tmp") else str(path)


def _killed_dask_worker(err: BaseException) -> bool:
    """Dask gives up on a run whose workers died several times (``KilledWorker``); Dask is
    imported only by its backend, so it is looked up only if it was imported."""
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(err, distributed.KilledWorker)
