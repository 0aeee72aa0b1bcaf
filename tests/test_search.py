"""``wasim search``: the [search] table's checks, the robust statistic, a toy whose Pareto set is
known, resuming, and one small search of the real model.

The toy replaces the model's runs (``runner.simulate``, run in this process with one worker):
revenue rises with ``ad_load`` and is scaled by the scenario's ``ad_tolerance_mean``; churn rises
with ``ad_load`` squared and with ``marketing_cap_per_week``. Every Pareto candidate therefore
has the smallest cap, the churn limit caps ``ad_load`` at a known value, and the robust revenue
(min over scenarios) is the ad load's share times the least tolerant scenario's factor.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import folder_bytes, quiet

from experiments import runner
from experiments.checks import SpecError
from experiments.cli import main
from experiments.outcomes import CHURN, FINAL_STOCKS
from experiments.search import run_search
from experiments.search_spec import load_search, parse_search, robust_value, statistic
from model.ledger import STREAMS

TOY = """
[experiment]
name = "toy"
days = 3
replicates = 2
seed = 11

[parameters]
n_users = 100
burn_in_days = 0

[search]
trials = {trials}
batch = 8
constraints = ["churned_share <= 0.25"]
statistic = {{revenue_total = "min", churned_share = "max"}}

[search.levers]
ad_load = {{low = 0.0, high = 0.4}}
marketing_cap_per_week = {{low = 0, high = 10}}
data_sharing = ["off", "opt_out"]

[search.scenarios]
kind = "lhs"
samples = {samples}
[search.scenarios.factors]
ad_tolerance_mean = {{low = 0.3, high = 0.7}}
"""
CHURN_LIMIT = 0.25


def toy_daily(parameters: dict, days: int, rng) -> pd.DataFrame:
    """Daily rows that ``summarise`` reads: revenue_total sums to ad_load / 0.4 times the
    scenario's factor (plus a seed's small luck, shared by every candidate), and the churned share
    is (ad_load / 0.4)^2 + cap / 100."""
    luck = np.random.default_rng(rng).uniform(0, 1e-3)
    share = parameters["ad_load"] / 0.4
    revenue = share * parameters["ad_tolerance_mean"] / 0.5 + luck
    churned = share**2 + parameters["marketing_cap_per_week"] / 100
    users = 1000.0
    columns = {c: np.zeros(days) for c in FINAL_STOCKS} | {c: np.zeros(days) for c in CHURN}
    columns |= {f"revenue_{s}": np.zeros(days) for s in STREAMS}
    columns |= {"users_total": np.full(days, users), "revenue_per_user": np.zeros(days),
                "revenue_total": np.full(days, revenue / days),
                "churn_today": np.full(days, churned * users / days), "day": np.arange(1, days + 1)}
    return pd.DataFrame(columns)


@pytest.fixture
def toy(monkeypatch):
    """The toy in place of the model; counts the runs it makes."""
    calls = []

    def fake(parameters, days, rng):
        calls.append(parameters)
        return toy_daily(parameters, days, rng)

    monkeypatch.setattr(runner, "simulate", fake)
    return calls


def toy_spec(tmp_path, trials: int = 32, samples: int = 2, text: str = TOY):
    path = tmp_path / "toy.toml"
    path.write_text(text.format(trials=trials, samples=samples))
    return path


def test_toy_pareto_set_is_found_within_tolerance(tmp_path, toy):
    search = load_search(str(toy_spec(tmp_path, trials=32, samples=3)))
    tolerance = [s["ad_tolerance_mean"] for s in search.scenarios]
    result = run_search(search, tmp_path / "out", workers=1, log=quiet)
    pareto = result.pareto
    assert len(result.candidates) == 32 and not pareto.empty
    # every Pareto candidate is feasible, with (nearly) the smallest cap; the churn limit holds
    assert pareto["feasible"].all()
    assert (pareto["marketing_cap_per_week"] <= 2).all()
    assert (pareto["churned_share"] <= CHURN_LIMIT + 1e-9).all()
    # the best feasible revenue nears the known optimum: ad_load share sqrt(0.25) = 0.5 at cap 0
    best = pareto["revenue_total"].max()
    optimum = 0.5 * min(tolerance) / 0.5
    assert optimum * 0.8 <= best <= optimum + 1e-3
    # the robust revenue is the minimum over scenarios of the toy's known revenue
    row = pareto.loc[pareto["revenue_total"].idxmax()]
    assert row["revenue_total"] == pytest.approx(row["ad_load"] / 0.4 * min(tolerance) / 0.5, abs=1e-3)
    # each candidate x scenario x replicate ran once
    assert len(toy) == result.candidates["candidate"].nunique() * 3 * 2
    assert (tmp_path / "out" / "figures" / "front.png").is_file()
    assert (tmp_path / "out" / "study.journal").is_file()


def test_stopped_search_resumes_and_ends_where_an_uninterrupted_one_ends(tmp_path, toy, monkeypatch):
    spec = toy_spec(tmp_path, trials=16)
    whole = run_search(load_search(str(spec)), tmp_path / "whole", workers=1, log=quiet)
    runs_whole = len(toy)

    # stopped in the middle of its second batch (Ctrl-C inside a run), then run again
    real = runner.simulate
    count = {"n": 0}

    def interrupted(parameters, days, rng):
        count["n"] += 1
        if count["n"] == 40:  # the first batch made 8 x 2 x 2 runs at most
            raise KeyboardInterrupt
        return real(parameters, days, rng)

    monkeypatch.setattr(runner, "simulate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_search(load_search(str(spec)), tmp_path / "resumed", workers=1, log=quiet)
    monkeypatch.setattr(runner, "simulate", real)
    resumed = run_search(load_search(str(spec)), tmp_path / "resumed", workers=1, log=quiet)
    pd.testing.assert_frame_equal(whole.candidates, resumed.candidates)
    # together, the two calls ran each run once: the stopped one's finished runs were kept
    assert len(toy) - runs_whole == runs_whole

    # adding trials continues the study and redoes no run
    more = run_search(load_search(str(spec), trials=24), tmp_path / "resumed", workers=1, log=quiet)
    told_before = more.candidates.iloc[:16].drop(columns="pareto")  # later trials may dominate
    pd.testing.assert_frame_equal(told_before, whole.candidates.drop(columns="pareto"))
    again = len(toy)
    run_search(load_search(str(spec), trials=24), tmp_path / "resumed", workers=1, log=quiet)
    assert len(toy) == again


def test_robust_value_is_the_statistic_over_scenarios_of_replicate_means():
    outcome = np.array([[1.0, 3.0], [5.0, 7.0], [9.0, 11.0]])  # 3 scenarios x 2 replicates
    value, low, high = robust_value("p10", outcome)
    assert value == pytest.approx(np.percentile([2.0, 6.0, 10.0], 10))
    assert low < value < high
    assert statistic("max", outcome)[0] == 9.0
    assert math.isnan(robust_value("mean", outcome[:, :1])[1])


BAD_TABLES = [
    ("[search.levers]\nad_lode = {low = 0.0, high = 0.2}", "search.levers.ad_lode"),
    ("[search.levers]\nad_load = {low = 0.1, high = 0.1}", "search.levers.ad_load.low"),
    ("[search.levers]\ndata_sharing = []", "search.levers.data_sharing"),
    ("[search.levers]\nad_load = {low = 0.0, high = 0.2}\n[search.objectives]\nad_load = \"maximize\"",
     "search.objectives.ad_load"),
    ("[search]\nconstraints = [\"churn_rate <= 0.05\"]\n[search.levers]\nad_load = {low = 0.0, high = 0.2}",
     "search.constraints[0]"),
    ("[search]\nstatistic = \"p100\"\n[search.levers]\nad_load = {low = 0.0, high = 0.2}",
     "search.statistic"),
    ("[search.levers]\nad_load = {low = 0.0, high = 0.2}\n[search.scenarios]\nkind = \"lhs\"\nsamples = 2\n"
     "[search.scenarios.factors]\nad_load = {low = 0.0, high = 0.1}", "search.levers.ad_load"),
    ("[search]\nstart = [{ad_load = 0.5}]\n[search.levers]\nad_load = {low = 0.0, high = 0.2}",
     "search.start[0].ad_load"),
    ("[search.levers]\nmarketing_price_factor = {low = 0.0, high = 2.0}",
     "search.levers.marketing_price_factor.low"),
]


@pytest.mark.parametrize(("table", "field"), BAD_TABLES)
def test_bad_search_tables_exit_2_naming_the_field(tmp_path, capsys, table, field):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("kept")
    path = tmp_path / "bad.toml"
    path.write_text("[experiment]\nname = \"bad\"\ndays = 3\n" + table + "\n")
    assert main(["search", str(path), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"wasim: error: {field}:" in error
    assert "allowed" in error or "unknown" in error or "also" in error
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]  # nothing written, nothing lost


def test_a_search_key_that_is_not_a_table_exits_2_also_with_trials(tmp_path, capsys):
    path, out = tmp_path / "bad.toml", tmp_path / "out"
    path.write_text("search = 5\n[experiment]\nname = \"bad\"\n")
    assert main(["search", str(path), "--trials", "3", "--out", str(out)]) == 2
    assert "wasim: error: search: got 5; allowed: a table" in capsys.readouterr().err
    assert not out.exists()


def test_search_refuses_a_folder_of_another_search(tmp_path, toy, capsys):
    spec = toy_spec(tmp_path, trials=8)
    assert main(["search", str(spec), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    other = tmp_path / "other.toml"
    other.write_text(spec.read_text().replace("seed = 11", "seed = 12"))
    journal = (tmp_path / "out" / "study.journal").read_bytes()
    assert main(["search", str(other), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    assert "holds another search" in capsys.readouterr().err
    assert (tmp_path / "out" / "study.journal").read_bytes() == journal


def cut_short(journal: bytes) -> bytes:
    """The journal as a kill or a full disk in the middle of its last write leaves it."""
    return journal[:-20]


def garbled(journal: bytes) -> bytes:
    """The journal with its second line overwritten by something that is not JSON."""
    lines = journal.splitlines(keepends=True)
    return b"".join([lines[0], b"\x00" * (len(lines[1]) - 1) + b"\n", *lines[2:]])


@pytest.mark.parametrize(("damage", "reason"), [(cut_short, "is cut short"), (garbled, "line 2 is not JSON")])
def test_search_refuses_a_damaged_journal_and_changes_nothing(tmp_path, toy, capsys, damage, reason):
    """Optuna would skip a cut-short last line, append to it and then read nothing; a garbled
    line stops it with a traceback. Both are refused before search.toml is rewritten or the
    journal appended to; --fresh then starts the search again."""
    spec, out = toy_spec(tmp_path, trials=8), tmp_path / "out"
    wasim = ["search", str(spec), "--out", str(out), "--workers", "1"]
    assert main(wasim) == 0
    journal = out / "study.journal"
    journal.write_bytes(damage(journal.read_bytes()))
    before = folder_bytes(out)
    assert main([*wasim, "--trials", "16"]) == 2
    error = capsys.readouterr().err
    assert f"wasim: error: --out: {journal} is damaged (line " in error and reason in error
    assert "--fresh" in error
    assert folder_bytes(out) == before
    assert main([*wasim, "--fresh"]) == 0


@pytest.mark.parametrize(("scheduler", "message"), [
    ("notanaddress", "--scheduler: got 'notanaddress'; allowed: a scheduler's address"),
    ("{refused}", "--scheduler: cannot reach {refused}: [Errno 111] Connection refused"),
])
def test_search_refuses_an_unusable_scheduler_before_fresh_discards_anything(
        tmp_path, toy, capsys, refused_address, scheduler, message):
    spec, out = toy_spec(tmp_path, trials=8), tmp_path / "out"
    assert main(["search", str(spec), "--out", str(out), "--workers", "1"]) == 0
    before = folder_bytes(out)
    assert main(["search", str(spec), "--out", str(out), "--fresh", "--backend", "dask",
                 "--scheduler", scheduler.format(refused=refused_address)]) == 2
    assert f"wasim: error: {message.format(refused=refused_address)}" in capsys.readouterr().err
    assert folder_bytes(out) == before


def test_parsed_search_is_written_and_read_back_the_same(tmp_path):
    search = load_search(str(toy_spec(tmp_path)))
    again = parse_search(json.loads(json.dumps(search.to_toml_dict())))
    assert again.identity() == search.identity()
    assert [o.direction for o in search.objectives] == ["maximize", "minimize"]  # the defaults
    assert search.constraints[0].violation(0.3) == pytest.approx(0.05)


def test_a_small_search_of_the_real_model_reads_like_any_result_folder(tmp_path, capsys):
    """Two candidates of the real model, one batch: the folder reads as a rows experiment (what
    `wasim plot`, `report` and `compare` load), a point per candidate."""
    from experiments.results import load_results

    path = tmp_path / "real.toml"
    path.write_text("""
[experiment]
name = "real"
days = 4
replicates = 2
seed = 3
[parameters]
n_users = 300
n_smbs = 10
n_enterprises = 4
n_advertisers = 6
burn_in_days = 0
[search]
trials = 2
batch = 2
constraints = ["churned_share <= 0.5"]
start = [{data_sharing = "off", ad_load = 0.1}]
[search.levers]
data_sharing = ["off", "mandatory"]
ad_load = {low = 0.0, high = 0.2, step = 0.1}
""")
    result = run_search(load_search(str(path)), tmp_path / "out", workers=1, log=quiet)
    assert len(result.candidates) == 2 and result.candidates["feasible"].all()
    assert set(result.candidates["ad_load"]) <= {0.0, 0.1, 0.2}
    first = result.candidates.iloc[0]
    assert (first["data_sharing"], first["ad_load"]) == ("off", 0.1)  # the start candidate
    summary = pd.read_parquet(tmp_path / "out" / "summary.parquet")
    assert len(summary) == 2 * result.candidates["candidate"].nunique()
    results = load_results(tmp_path / "out")
    assert results.complete and list(results.points["label"][:2]) == ["candidate 0", "candidate 1"]
    assert main(["status", str(tmp_path / "out")]) == 0
    assert "4 runs planned, 4 done, 0 failed, 0 missing" in capsys.readouterr().out


def test_posterior_scenarios_are_drawn_from_the_file_by_weight(tmp_path):
    """A committed posterior (a CSV of draws with weights): ``samples`` draws without replacement,
    in the file's order, the same every time; a draw of zero weight is never taken."""
    (tmp_path / "posterior.csv").write_text("peer_churn_multiplier,ad_tolerance_mean,weight\n"
                                            "1.2,0.3,1\n1.4,0.4,0\n1.6,0.5,1\n1.8,0.6,1\n")
    text = ("[experiment]\nname = \"p\"\ndays = 3\n[search.levers]\nad_load = {{low = 0.0, high = 0.2}}\n"
            "[search.scenarios]\nkind = \"posterior\"\nfile = \"posterior.csv\"\nsamples = {samples}\n")
    (tmp_path / "p.toml").write_text(text.format(samples=3))
    search = load_search(str(tmp_path / "p.toml"))
    assert [s["peer_churn_multiplier"] for s in search.scenarios] == [1.2, 1.6, 1.8]
    assert load_search(str(tmp_path / "p.toml")).scenarios == search.scenarios
    # the folder's search.toml lists them, so it stands without the file
    listed = parse_search(json.loads(json.dumps(search.to_toml_dict())))
    assert listed.scenarios == search.scenarios and listed.identity() == search.identity()
    (tmp_path / "p.toml").write_text(text.format(samples=5))
    with pytest.raises(SpecError, match="search.scenarios.samples"):
        load_search(str(tmp_path / "p.toml"))
