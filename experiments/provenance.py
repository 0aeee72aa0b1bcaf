"""Provenance of a result folder: which code and libraries produced it.

``model_hash`` fingerprints the source of the ``model`` and ``agents`` packages, so runs made
by different model code are never mixed in one folder, whether or not the code is committed.
"""

from __future__ import annotations

import datetime
import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

LIBRARIES = ("mesa", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "SALib", "dask", "distributed")
_ROOT = Path(__file__).resolve().parents[1]


def model_hash() -> str:
    digest = hashlib.sha256()
    for package in ("model", "agents"):
        for path in sorted((_ROOT / package).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def git_commit() -> str | None:
    """The checkout's commit, with ``-dirty`` if files differ from it; None outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=_ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-dirty" if dirty.strip() else "")


def stamp() -> dict[str, object]:
    """The date and the code a computation starts from. Read before it writes anything: its
    own outputs, when tracked (``results/``), would otherwise mark the checkout dirty."""
    return {"date": datetime.date.today(), "model_hash": model_hash(),
            "git_commit": git_commit() or "unknown"}


def source_path(path: str | Path) -> str:
    """``path`` as a provenance record shows it: relative to the checkout when inside it (the
    same on every machine that clones the project), else absolute."""
    path = Path(path).resolve()
    return path.relative_to(_ROOT).as_posix() if path.is_relative_to(_ROOT) else str(path)


def provenance() -> dict[str, object]:
    return {
        "wasim": metadata.version("wasim"),
        "model_hash": model_hash(),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "libraries": {name: metadata.version(name) for name in LIBRARIES},
    }
