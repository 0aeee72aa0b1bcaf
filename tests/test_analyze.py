"""Sensitivity analysis (`wasim analyze`): known answers on synthetic outputs, files and
replicate means on tiny real experiments, every refusal exits 2 and writes nothing, and the
example sweep script runs."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import snapshot
from PIL import Image

from experiments import runner
from experiments.analyze import analyze_folder, point_outputs
from experiments.cli import main
from experiments.designs import design_points, salib_problem, sample_matrix
from experiments.runs import plan_runs
from experiments.spec import parse_spec
from experiments.storage import ResultFolder

FACTORS = {"ad_load": {"low": 0.0, "high": 0.2}, "peer_churn_multiplier": {"low": 1.2, "high": 1.8}}
SOBOL_COLUMNS = ["outcome", "factor", "S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["outcome", "factor", "mu", "mu_star", "mu_star_conf", "sigma"]
REPLICATE_OFFSETS = (0.0, 10.0)
"""Added to a synthetic run's outcome by replicate: the point mean is the true value + 5."""


def spec_dict(kind: str, samples: int, replicates: int = 2, days: int = 10, **design) -> dict:
    return {"experiment": {"name": kind, "days": days, "replicates": replicates, "seed": 4},
            "parameters": {"n_users": 300, "n_smbs": 20, "burn_in_days": 0},
            "design": {"kind": kind, "samples": samples, "factors": FACTORS, **design}}


def revenue_of(values: dict) -> float:
    """Synthetic revenue: depends on ad_load only."""
    return 1000.0 * values["ad_load"]


def churn_of(values: dict) -> float:
    """Synthetic churned share: depends on peer_churn_multiplier only."""
    return 0.1 * (values["peer_churn_multiplier"] - 1.2)


def synthetic_folder(path: Path, spec_data: dict, drop: int = 0) -> ResultFolder:
    """A result folder whose summary holds known outcomes instead of model runs (no run files:
    the analysis reads only spec.toml and summary.parquet). ``drop`` leaves out that many runs."""
    spec = parse_spec(spec_data)
    folder = ResultFolder(path)
    folder.prepare(spec, fresh=False)
    rows = [{"run_id": t.run_id, "point": t.point, "replicate": t.replicate,
             "seed_entropy": t.seed_entropy, "point_values": json.dumps(t.point_values, sort_keys=True),
             "days": t.days, "status": "done", "elapsed_s": 0.1, **t.parameters,
             "revenue_total": revenue_of(t.point_values) + REPLICATE_OFFSETS[t.replicate],
             "churned_share": churn_of(t.point_values) + REPLICATE_OFFSETS[t.replicate] / 1e4}
            for t in plan_runs(spec, folder.path)]
    pd.DataFrame(rows[drop:]).to_parquet(folder.summary_path, index=False)
    return folder


def indices(table: pd.DataFrame, outcome: str, factor: str) -> pd.Series:
    rows = table[(table["outcome"] == outcome) & (table["factor"] == factor)]
    assert len(rows) == 1
    return rows.iloc[0]


# --- known answers on synthetic outputs ------------------------------------------------------
@pytest.fixture
def synthetic_saltelli(tmp_path):
    return synthetic_folder(tmp_path / "saltelli", spec_dict("saltelli", 64,
                                                             options={"calc_second_order": False}))


def test_replicates_are_averaged_in_the_order_of_the_sample_matrix(synthetic_saltelli):
    spec = parse_spec(synthetic_saltelli.read_spec_dict())
    outputs = point_outputs(spec, synthetic_saltelli.summary(), ["revenue_total", "churned_share"])
    x = sample_matrix(spec)
    column = {name: x[:, i] for i, name in enumerate(salib_problem(spec)["names"])}
    assert len(outputs) == len(x) == 64 * 4
    np.testing.assert_allclose(outputs["revenue_total"], 1000.0 * column["ad_load"] + 5.0)
    np.testing.assert_allclose(outputs["churned_share"],
                               0.1 * (column["peer_churn_multiplier"] - 1.2) + 5e-4, atol=1e-12)


def test_sobol_indices_give_all_variance_to_the_one_factor_an_outcome_depends_on(synthetic_saltelli):
    table = analyze_folder(synthetic_saltelli.path).table
    assert list(table.columns) == SOBOL_COLUMNS
    for outcome, active, inert in (("revenue_total", "ad_load", "peer_churn_multiplier"),
                                   ("churned_share", "peer_churn_multiplier", "ad_load")):
        on, off = indices(table, outcome, active), indices(table, outcome, inert)
        assert on["ST"] > 0.9 and abs(on["ST"] - 1) <= on["ST_conf"] + 0.02
        assert abs(on["S1"] - 1) <= on["S1_conf"] + 0.02
        assert abs(off["ST"]) < 1e-9 and abs(off["S1"]) <= off["S1_conf"] + 1e-9
        assert on["S1_conf"] > 0 and off["ST_conf"] < 0.01


def test_morris_effects_are_the_change_over_the_factor_range_and_repeated_points_are_found(tmp_path):
    folder = synthetic_folder(tmp_path / "morris", spec_dict("morris", 8))
    spec = parse_spec(folder.read_spec_dict())
    distinct = {t.point for t in plan_runs(spec, folder.path)}
    assert len(distinct) < len(design_points(spec)) == 8 * 3  # Morris trajectories share points

    table = analyze_folder(folder.path).table
    assert list(table.columns) == MORRIS_COLUMNS
    revenue = indices(table, "revenue_total", "ad_load")
    assert revenue["mu_star"] == pytest.approx(1000.0 * 0.2) and revenue["mu"] == pytest.approx(200.0)
    assert revenue["sigma"] == pytest.approx(0.0, abs=1e-9)  # linear: every effect is the same
    churn = indices(table, "churned_share", "peer_churn_multiplier")
    assert churn["mu_star"] == pytest.approx(0.1 * 0.6)
    for outcome, inert in (("revenue_total", "peer_churn_multiplier"), ("churned_share", "ad_load")):
        assert indices(table, outcome, inert)["mu_star"] == pytest.approx(0.0, abs=1e-9)


def test_constant_outcome_has_no_sobol_indices_rather_than_a_division_by_zero(tmp_path):
    folder = synthetic_folder(tmp_path / "s", spec_dict("saltelli", 8, replicates=1,
                                                        options={"calc_second_order": False}))
    summary = folder.summary().assign(revenue_total=42.0)
    summary.to_parquet(folder.summary_path, index=False)
    table = analyze_folder(folder.path).table
    assert table[table["outcome"] == "revenue_total"][["S1", "ST"]].isna().all().all()
    assert table[table["outcome"] == "churned_share"][["S1", "ST"]].notna().all().all()


# --- tiny real experiments through the command line ------------------------------------------
@pytest.fixture(scope="module")
def real_saltelli(tmp_path_factory):
    spec = parse_spec(spec_dict("saltelli", 4, options={"calc_second_order": False}))
    result = runner.run_experiment(spec, tmp_path_factory.mktemp("real") / "saltelli", workers=1,
                                   log=lambda _: None)
    assert result.exit_code == 0 and len(result.summary) == 4 * 4 * 2
    return result.folder


@pytest.fixture(scope="module")
def real_morris(tmp_path_factory):
    spec = parse_spec(spec_dict("morris", 4, replicates=1))
    result = runner.run_experiment(spec, tmp_path_factory.mktemp("real") / "morris", workers=1,
                                   log=lambda _: None)
    assert result.exit_code == 0
    return result.folder


def check_files(folder: ResultFolder, columns: list[str], outcomes: set[str]) -> pd.DataFrame:
    out = folder.path / "analysis"
    table = pd.read_csv(out / "sensitivity.csv")
    assert list(table.columns) == columns
    assert set(table["outcome"]) == outcomes
    assert set(table["factor"]) == set(FACTORS) and len(table) == len(outcomes) * len(FACTORS)
    with Image.open(out / "sensitivity.png") as png:
        assert png.info["dpi"] == pytest.approx((150, 150), abs=0.1)  # stored per metre
        assert png.size[0] > 1000
    assert (out / "sensitivity.svg").read_text().lstrip().startswith("<?xml")
    return table


def test_analyze_saltelli_writes_table_and_figure_and_keeps_everything_else(real_saltelli, capsys):
    before = snapshot(real_saltelli.path)
    assert main(["analyze", str(real_saltelli.path)]) == 0
    printed = capsys.readouterr().out
    check_files(real_saltelli, SOBOL_COLUMNS, {"revenue_total", "churned_share"})
    assert re.search(r"revenue_total\s+ad_load", printed) and "ST_conf" in printed
    assert f"wrote {real_saltelli.path / 'analysis' / 'sensitivity.png'}" in printed
    after = snapshot(real_saltelli.path)
    assert {k: v for k, v in after.items() if not k.startswith("analysis/")} == before


def test_replicate_means_of_a_real_experiment_follow_the_design_rows(real_saltelli):
    spec = parse_spec(real_saltelli.read_spec_dict())
    summary = real_saltelli.summary()
    outputs = point_outputs(spec, summary, ["revenue_total"])
    points = design_points(spec)
    for row, values in enumerate(points):
        first = points.index(values)  # a repeated point's runs are filed under its first index
        runs = summary[summary["point"] == first]
        assert len(runs) == 2
        assert outputs["revenue_total"][row] == pytest.approx(runs["revenue_total"].mean())


def test_analyze_morris_with_chosen_outcomes(real_morris, capsys):
    assert main(["analyze", str(real_morris.path), "--outcome", "revenue_display_ads",
                 "churned_share", "--outcome", "users_active_final"]) == 0
    assert "mu_star_conf" in capsys.readouterr().out
    table = check_files(real_morris, MORRIS_COLUMNS,
                        {"revenue_display_ads", "churned_share", "users_active_final"})
    display = table[table["outcome"] == "revenue_display_ads"].set_index("factor")
    assert display.loc["ad_load", "mu"] > 0  # more Status ads, more display revenue
    assert display.loc["ad_load", "mu_star"] > display.loc["peer_churn_multiplier", "mu_star"]


# --- refusals: exit 2, name the field and what is allowed, write nothing -----------------------
def refuse(path: Path, capsys, *extra: str) -> str:
    before = snapshot(path) if path.exists() else None
    assert main(["analyze", str(path), *extra]) == 2
    assert (snapshot(path) if path.exists() else None) == before
    assert not (path / "analysis").exists()
    return capsys.readouterr().err


@pytest.mark.parametrize("make", ["missing", "empty", "file"])
def test_not_a_result_folder(tmp_path, capsys, make):
    path = tmp_path / "x"
    if make == "empty":
        path.mkdir()
    elif make == "file":
        path.write_text("not a folder")
    err = refuse(path, capsys)
    assert f"RESULT_DIR: {path} has no spec.toml; not a result folder" in err


@pytest.mark.parametrize("design", [{"kind": "grid", "factors": {"ad_load": [0.0, 0.1]}},
                                    {"kind": "lhs", "samples": 4, "factors": FACTORS}],
                         ids=["grid", "lhs"])
def test_design_without_an_analysis(tmp_path, capsys, design):
    spec = parse_spec({"experiment": {"name": "g"}, "design": design})
    ResultFolder(tmp_path / "g").prepare(spec, fresh=False)
    err = refuse(tmp_path / "g", capsys)
    assert f"design.kind: got '{design['kind']}'" in err
    assert "allowed: one of saltelli, morris" in err


def test_unknown_outcome_lists_the_allowed_ones(synthetic_saltelli, capsys):
    err = refuse(synthetic_saltelli.path, capsys, "--outcome", "revenue_total", "revenue")
    assert "--outcome: got 'revenue'; allowed: one of " in err
    allowed = err.split("allowed: one of ")[1].strip().split(", ")
    assert {"revenue_total", "churned_share"} <= set(allowed)
    assert not {"ad_load", "n_users", "point", "replicate", "elapsed_s", "days"} & set(allowed)


def test_missing_runs_say_how_many_and_that_wasim_run_finishes_them(tmp_path, capsys):
    folder = synthetic_folder(tmp_path / "s", spec_dict("saltelli", 8, options={"calc_second_order": False}),
                              drop=3)
    failed = plan_runs(parse_spec(folder.read_spec_dict()), folder.path)[0].run_id
    folder.write_failure(failed, "Traceback: boom")
    err = refuse(folder.path, capsys)
    assert f"RESULT_DIR: 3 of 64 runs missing (1 of them failed) in {folder.path}" in err
    assert f"`wasim run {folder.spec_path} --out {folder.path}` finishes them" in err

    folder.summary_path.unlink()  # as after a crash before the first summary
    assert "64 of 64 runs missing" in refuse(folder.path, capsys)


# --- the example script ----------------------------------------------------------------------
def test_example_sweep_script_runs_and_saves_its_figure(tmp_path):
    script = Path(__file__).parents[1] / "experiments" / "example_sweep.py"
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "results" / "example_sweep"
    assert len(pd.read_parquet(out / "summary.parquet")) == 3 * 2
    figure = out / "figures" / "ad_load.png"
    assert figure.stat().st_size > 10_000
    assert "wrote results/example_sweep/figures/ad_load.png" in proc.stdout
    assert re.search(r"^0\.2\s", proc.stdout, re.M)  # the printed table has a row per ad load
