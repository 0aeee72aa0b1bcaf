"""The built-in experiments (``experiments/*.toml``): each parses, expands to a bounded number
of runs that fit in ten minutes on this 2-core machine, runs, and is listed by ``wasim list``."""

from dataclasses import replace

import pytest

from experiments.cli import main
from experiments.runner import simulate
from experiments.runs import plan_runs
from experiments.spec import builtin_specs, load_spec

SCENARIOS = {"baseline", "ad_load", "data_sharing", "privacy_shock_2021", "messaging_pricing", "payments",
             "future_streams", "sensitivity", "app_vs_api", "optout_2016", "outage_2021", "acquisition_2014"}
MAX_RUNS = 200
WORKERS = 2
MAX_MINUTES = 7.0
"""Estimated wall time allowed on an idle machine: the bar is 10 minutes; the rest is margin for
a busier machine or a slower model."""


def day_cost_s(n_users: int) -> float:
    """One simulated day of the full model on one of 2 workers sharing 2 cores, burn-in days
    included. Fixed costs (organisations) weigh most at small sizes: one process with serial
    blocks, as a worker runs them, took 11.5, 17 and 26 ms a day at 20,000, 50,000 and 100,000
    users (30 Nov 2026); times 1.3 for two workers sharing the machine's memory and caches."""
    return 1.3 * (0.0076 + 0.185e-6 * n_users)


@pytest.mark.parametrize("name", sorted(builtin_specs()))
def test_builtin_experiment_parses_and_fits_in_ten_minutes(name, tmp_path):
    spec = load_spec(name)
    assert spec.description
    runs = plan_runs(spec, tmp_path)  # resolves every point's parameters
    assert 0 < len(runs) <= MAX_RUNS
    n_users = spec.parameters.get("n_users", 100_000)
    days = sum(spec.days + run.parameters["burn_in_days"] for run in runs)  # each run's burn-in too
    minutes = days * day_cost_s(n_users) / WORKERS / 60
    assert minutes <= MAX_MINUTES, f"{name}: {len(runs)} runs, about {minutes:.1f} min"


@pytest.mark.parametrize("name", sorted(builtin_specs()))
def test_builtin_experiment_runs_its_first_and_last_points(name, tmp_path):
    spec = load_spec(name, {"n_users": 300})
    runs = plan_runs(replace(spec, days=2), tmp_path)
    for run in (runs[0], runs[-1]):
        daily = simulate(run.parameters, run.days, run.seed_sequence())
        assert len(daily) == 2 and daily["revenue_total"].notna().all()


def test_list_shows_every_scenario_with_its_description(capsys):
    assert set(builtin_specs()) >= SCENARIOS
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in builtin_specs():
        assert any(line.split()[0] == name and len(line.split()) > 1 for line in lines), name
