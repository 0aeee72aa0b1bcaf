"""The benchmark's report (``experiments.bench``, ``wasim bench``): its fields, their types and
units. What the figures are is measured by ``wasim bench`` on a quiet machine, not asserted
here: a test cannot tell a slow machine from a slow model."""

import json
import math
import os

import pytest

from experiments.bench import CALM_MEASURES, calm, measured_apart, median_run
from experiments.cli import main
from model.params import PARAMS

MODEL = {"users": int, "days": int, "setup_s": float, "burn_in_days": int, "burn_in_s": float,
         "step_s": float, "ms_per_day": float, "user_days_per_s": int, "cpu_ms_per_day": float,
         "cores_used": float, "peak_rss_mb": float, "rss_growth_mb": float, "bytes_per_user": int,
         "repeats": int, "ms_per_day_runs": list}
"""Each field of the model's benchmark and its type; the unit is in the name (s, ms, MB,
bytes, user-days per second); ``_runs``: each run's, in the order measured."""
REFERENCE = {"reference_days": int, "reference_user_days_per_s": int, "users_only_user_days_per_s": int,
             "speedup_vs_reference": float, "full_model_speedup_vs_reference": float}
SWEEP = {"users": int, "days": int, "runs": int, "run_s_mean": float, "wall_s_1_worker": float,
         "wall_s_2_workers": float, "overhead_ms_per_run": float, "speedup_2_workers": float,
         "repeats": int, "overhead_ms_per_run_runs": list}


def bench_json(capsys, *args: str) -> dict:
    assert main(["bench", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def check_fields(figures: dict, fields: dict) -> None:
    """The fields and only them, each a finite number of its type (ints for counts), or a list
    of finite numbers, one per run."""
    assert set(figures) == set(fields)
    for name, kind in fields.items():
        value = figures[name]
        assert isinstance(value, kind) and not isinstance(value, bool), (name, value)
        assert all(math.isfinite(v) for v in (value if kind is list else [value])), name


def test_bench_reports_speed_and_memory_as_json(capsys):
    figures = bench_json(capsys, "--users", "2000", "--days", "3")
    check_fields(figures, MODEL)
    assert (figures["users"], figures["days"]) == (2000, 3)
    for name in ("setup_s", "burn_in_s", "step_s", "cpu_ms_per_day", "peak_rss_mb", "bytes_per_user"):
        assert figures[name] > 0, name
    assert 0 < figures["cores_used"] <= os.cpu_count() + 0.05  # CPU time over wall time
    assert figures["burn_in_s"] < figures["setup_s"]  # the set-up includes the burn-in


def test_bench_reference_adds_the_per_agent_figures(capsys):
    figures = bench_json(capsys, "--users", "500", "--days", "2", "--reference", "--reference-days", "2")
    check_fields(figures, MODEL | REFERENCE)
    assert figures["reference_days"] == 2


def test_bench_sweep_reports_overhead_and_speedup_as_json(capsys):
    figures = bench_json(capsys, "--sweep", "--users", "1000", "--days", "2")
    check_fields(figures, SWEEP)
    assert (figures["users"], figures["days"], figures["runs"]) == (1000, 2, 16)


def test_the_median_run_is_reported_with_every_runs_time_in_order():
    """Of an odd number of runs the middle one; of an even number the slower middle one."""
    runs = [{"ms_per_day": t, "days": 2} for t in (30.0, 10.0, 20.0, 40.0)]
    assert median_run(runs[:3], "ms_per_day") == {"ms_per_day": 20.0, "days": 2, "repeats": 3,
                                                  "ms_per_day_runs": [30.0, 10.0, 20.0]}
    assert median_run(runs, "ms_per_day")["ms_per_day"] == 30.0


def test_repeated_measurements_each_run_in_a_process_of_their_own():
    """So each run's peak memory is its own (one run alone runs here)."""
    pids = measured_apart(os.getpid, 3)
    assert len(set(pids)) == 3 and os.getpid() not in pids
    assert measured_apart(os.getpid, 1) == [os.getpid()]


def test_bench_repeat_reports_each_runs_time(capsys):
    figures = bench_json(capsys, "--users", "1000", "--days", "1", "--repeat", "2")
    check_fields(figures, MODEL)
    assert figures["repeats"] == 2 and len(figures["ms_per_day_runs"]) == 2
    assert figures["ms_per_day"] == max(figures["ms_per_day_runs"])  # of two, the slower


@pytest.mark.parametrize("option", [["--repeat", "0"], ["--calm", "--repeat", "2"]])
def test_bench_refuses_a_repeat_it_cannot_make(capsys, option):
    assert main(["bench", "--users", "1000", *option]) == 2
    assert "--repeat: got" in capsys.readouterr().err


def test_bench_prints_one_line_per_field_without_json(capsys):
    assert main(["bench", "--users", "1000", "--days", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(MODEL)
    assert lines[0].split()[1] == "1,000"


def test_bench_refuses_bad_sizes(capsys):
    assert main(["bench", "--users", "10", "--days", "3"]) == 2
    assert "--users/--days/--reference-days: got 10/3/3" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--days", "0"], ["--reference-days", "0"]])
def test_bench_refuses_no_days(capsys, option):
    assert main(["bench", "--users", "1000", *option]) == 2


def test_calm_reports_each_measure_in_year_2_and_the_last_year_with_its_change():
    figures = calm(users=300, years=3, seeds=1)
    assert (figures["users"], figures["years"], figures["seeds"]) == (300, 3, 1)
    for measure in CALM_MEASURES:
        first, last = figures[f"{measure}_year_2"], figures[f"{measure}_year_3"]
        assert first >= 0 and last >= 0 and math.isfinite(first), measure
        change = figures[f"{measure}_change"]
        assert change == pytest.approx(last / first - 1, abs=1e-3) if first > 0 else change is None, measure
    assert 0 < figures["multihoming_share_year_2"] < 1
    # the pool is sized for the whole run: joining never stops
    assert figures["pool_headroom"] > 3 * PARAMS["user_growth_per_year"].default
