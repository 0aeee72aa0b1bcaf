"""What a pool's worker process does first, in the engine's pool (``runner``) and the
calibration's (``abc``) alike: it leaves Ctrl-C to the main process, ends when the main
process ends, and runs the model's blocks one after another (the pool already uses every
core)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

from model.blocks import run_blocks_serially

PARENT_CHECK_S = 0.5
"""How often a worker checks that its main process is still there."""


def start() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent()
    run_blocks_serially()


def _end_with_parent() -> None:
    """End this worker soon after its main process, however that ended. A ``kill -9`` leaves
    the main process no chance to shut its pool, and its workers would wait on their task
    queue for ever: each holds the queue's other end itself, so no end-of-file ever comes.
    A daemon thread watches the parent instead (portable, unlike Linux's parent-death
    signal); a run cut short leaves at most a temporary file, which the next ``wasim run``
    removes."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by multiprocessing: nothing to watch
        return

    def watch() -> None:
        while os.getppid() == parent.pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="wasim-parent-watch", daemon=True).start()
