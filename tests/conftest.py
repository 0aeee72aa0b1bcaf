"""Shared fixtures: small, fast model runs, a tiny experiment spec, runs that fail, a scheduler
address that refuses connections and a folder's files (sizes and times, or bytes)."""

from __future__ import annotations

import socket
from pathlib import Path

import pandas as pd
import pytest

from experiments import runner
from model.market import WhatsAppMarket

SMALL = {"n_users": 3000, "n_smbs": 40, "n_enterprises": 10, "n_advertisers": 12, "burn_in_days": 0}
"""A small world that starts cold, so a mechanism can be watched from a known day 0; the warm
start itself is tested in ``test_market.py``."""


def run_model(days: int = 60, seed: int = 1, **params) -> WhatsAppMarket:
    model = WhatsAppMarket(rng=seed, **(SMALL | params))
    for _ in range(days):
        model.step()
    return model


def two_years(seed: int, **params) -> pd.DataFrame:
    """Daily rows of a two-year run at 10,000 users (the default firms and advertisers)."""
    model = WhatsAppMarket(rng=seed, n_users=10_000, **params)
    for _ in range(730):
        model.step()
    return model.datacollector.get_model_vars_dataframe()


@pytest.fixture(scope="session")
def two_year_baseline() -> list[pd.DataFrame]:
    """Two years of the defaults, seeds 0-3 (business figures by year: tests of enterprises and
    payment rails)."""
    return [two_years(seed) for seed in range(4)]


@pytest.fixture(scope="module")
def small_run():
    model = run_model(days=60, seed=7)
    return model, model.datacollector.get_model_vars_dataframe()


SPEC = """
[experiment]
name = "tiny"
days = {days}
replicates = 2
seed = 5
[parameters]
n_users = {users}
n_smbs = 30
burn_in_days = 0
[design]
kind = "grid"
[design.factors]
ad_load = [0.0, 0.1]
"""
"""A 2 x 2 grid experiment; ``days`` and ``users`` are filled in by ``write_spec``."""


def write_spec(tmp_path: Path, days: int = 15, users: int = 2000, text: str = SPEC) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(text.format(days=days, users=users))
    return path


def without_timing(summary: pd.DataFrame) -> pd.DataFrame:
    """A summary without the one column that measures the machine rather than the model."""
    return summary.drop(columns=["elapsed_s"]).sort_values("run_id").reset_index(drop=True)


def quiet(_line: str) -> None:
    """A log that prints nothing."""


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time: what a command that
    writes nothing leaves as it was, not even rewritten."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by its path in it, with its bytes: what a refusal that
    loses and changes nothing leaves as it was."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def totals(days: int, seed: int, **params) -> pd.Series:
    """A small run's daily rows summed over its days."""
    return run_model(days=days, seed=seed, **params).datacollector.get_model_vars_dataframe().sum()


@pytest.fixture
def refused_address():
    """A loopback address nothing listens on: its port is bound here and never listened on, so
    a connection is refused at once and no other process can take the port meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"tcp://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def failing_high_ad_load(monkeypatch):
    """Make the runs with ad_load = 0.1 raise; returns the real simulate to restore."""
    real = runner.simulate

    def flaky(parameters, days, rng):
        if parameters["ad_load"] == 0.1:
            raise RuntimeError("boom")
        return real(parameters, days, rng)

    monkeypatch.setattr(runner, "simulate", flaky)
    return real
