"""``wasim dashboard``: serve ``experiments.dashboard`` with Solara's server in a child process,
say where, and stop it cleanly on Ctrl-C.

Kept apart from the app so that the command can say which extra to install before anything
imports Solara (without the ``viz`` extra it exits 2 with the install line).
"""

from __future__ import annotations

import errno
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from experiments.checks import SpecError

INSTALL_LINE = '.venv/bin/pip install -e ".[viz]"'
APP = "experiments.dashboard"
START_TIMEOUT_S = 120.0
"""How long the server may take to listen (it imports Mesa, Solara and the model first)."""
STOP_TIMEOUT_S = 10.0


def check_viz_extra() -> None:
    """SpecError (exit 2) naming the install line when the ``viz`` extra is missing."""
    missing = [name for name in ("solara", "altair") if importlib.util.find_spec(name) is None]
    if missing:
        raise SpecError("dashboard", f"needs the viz extra ({', '.join(missing)} not installed); "
                                     f"install it with: {INSTALL_LINE}")


def check_port(host: str, port: int) -> None:
    """SpecError (exit 2) when ``port`` is out of range or cannot be had on ``host`` (taken,
    or privileged), or when ``host`` is no address of this machine: each names its option."""
    if not 1 <= port <= 65535:
        raise SpecError("--port", f"got {port}; allowed: 1 to 65535")
    try:
        with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
            # as the server binds: a port whose last connections linger in TIME_WAIT is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as err:
        if err.errno in (errno.EADDRINUSE, errno.EACCES):
            raise SpecError("--port", f"cannot listen on {host}:{port} ({err.strerror}); choose "
                                      "another with --port") from err
        raise SpecError("--host", f"cannot listen on {host}:{port} ({err.strerror or err}); allowed: "
                                  "an address of this machine, such as 127.0.0.1 or 0.0.0.0") from err


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(host: str, port: int, results: Path) -> int:
    """Run the dashboard until Ctrl-C (or SIGTERM); 0 once the server has stopped, 1 if it
    failed on its own. The server runs in its own session, so that Ctrl-C reaches this process
    alone, which then stops the server once, cleanly."""
    check_viz_extra()
    check_port(host, port)
    env = os.environ | {"WASIM_RESULTS": str(results.resolve()),
                        "PYTHONWARNINGS": "ignore:Cookies with samesite=none:UserWarning"}
    command = [sys.executable, "-m", "solara", "run", APP, "--host", host, "--port", str(port),
               "--production", "--no-open", "--no-check-version", "--log-level", "warning"]
    # the server's own lines (its start, warnings) go to stderr: stdout says where to look, once
    server = subprocess.Popen(command, env=env, stdout=sys.stderr, start_new_session=True)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if not _wait_listening(server, host, port):
            why = (f"did not listen within {START_TIMEOUT_S:g} s" if server.poll() is None else
                   f"stopped on its own (exit code {server.returncode})")
            print(f"wasim: error: the dashboard server {why}", file=sys.stderr)
            return 1
        print(f"wasim dashboard: {url(host, port)} (result folders from {results}/; Ctrl-C stops it)",
              flush=True)
        server.wait()
        print(f"wasim: error: the dashboard server stopped on its own (exit code {server.returncode})",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _stop(server)
        print("wasim dashboard: stopped", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            _stop(server)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _wait_listening(server: subprocess.Popen, host: str, port: int) -> bool:
    """Whether the server listens before it exits or START_TIMEOUT_S passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server (uvicorn closes its connections and exits, as on Ctrl-C, without
    click's "Aborted."), then SIGKILL if it has not gone in STOP_TIMEOUT_S."""
    for send in (server.terminate, server.kill):
        if server.poll() is not None:
            return
        send()
        try:
            server.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue
