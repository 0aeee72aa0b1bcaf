"""``wasim discover``: PRIM finds the box that generated the cases of interest, CART and the
feature scores name the factors that matter, and bad input exits 2 writing nothing.

The result folder is synthetic: an LHS design's runs are written as the engine writes them
(one record per run), with outcomes made by a known rule instead of the model: churn is high
exactly where ``ad_load > 0.15`` and data sharing is mandatory; revenue follows ``ad_load``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.discover import prim_box
from experiments.outcomes import OUTCOMES
from experiments.runs import plan_runs
from experiments.spec import parse_spec
from experiments.storage import ResultFolder

SPEC = {
    "experiment": {"name": "synthetic", "days": 2, "replicates": 1, "seed": 4,
                   "common_random_numbers": True},
    "parameters": {"n_users": 100},
    "design": {"kind": "lhs", "samples": 150, "factors": {
        "ad_load": {"low": 0.0, "high": 0.3},
        "privacy_sensitivity_mean": {"low": 0.2, "high": 0.6},
        "data_sharing": ["off", "opt_out", "mandatory"]}},
}


def churn_rule(values: dict) -> float:
    return 0.1 if values["ad_load"] > 0.15 and values["data_sharing"] == "mandatory" else 0.02


def write_folder(table: dict, path, outcomes_of) -> Path:
    """A result folder of ``table``'s design as the engine writes it, each run's outcomes (zero
    unless named) from ``outcomes_of(point_values)``."""
    spec = parse_spec(table)
    folder = ResultFolder(path)
    folder.prepare(spec, fresh=False)
    for task in plan_runs(spec, folder.path):
        values = task.point_values
        outcomes = dict.fromkeys(OUTCOMES, 0.0) | outcomes_of(values)
        record = {"run_id": task.run_id, "point": task.point, "replicate": task.replicate,
                  "seed_entropy": task.seed_entropy, "seed_spawn_key": list(task.seed_spawn_key),
                  "point_values": json.dumps(values, sort_keys=True), "days": task.days,
                  "status": "done", "elapsed_s": 0.0, "parameters": task.parameters,
                  "outcomes": outcomes}
        folder.write_run(pd.DataFrame({"day": [1, 2]}), record)
    folder.write_summary(t.run_id for t in plan_runs(spec, folder.path))
    return folder.path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    rng = np.random.default_rng(0)
    return write_folder(SPEC, tmp_path_factory.mktemp("discover") / "synthetic", lambda values: {
        "churned_share": churn_rule(values) + rng.uniform(0, 0.005),
        "revenue_total": 1e6 * values["ad_load"] + rng.normal(0, 1e3),
        "users_active_final": 90.0 + 10 * values["privacy_sensitivity_mean"]})


def test_prim_finds_the_box_that_made_the_cases_of_interest(synthetic, capsys):
    assert main(["discover", str(synthetic), "--outcome", "churned_share", "--above", "0.06"]) == 0
    out = synthetic / "discover" / "churned_share_above_0.06"
    box = pd.read_csv(out / "prim_box.csv", index_col="factor")
    assert set(box.index) == {"ad_load", "data_sharing"}  # privacy sensitivity plays no part
    assert box.loc["ad_load", "min"] == pytest.approx(0.15, abs=0.01)
    assert box.loc["ad_load", "max"] == pytest.approx(0.3, abs=0.01)
    assert box.loc["data_sharing", "levels"] == "mandatory"
    trajectory = pd.read_csv(out / "prim_trajectory.csv")
    assert trajectory["coverage"].iloc[0] == 1.0 and trajectory["density"].max() == 1.0
    # CART's purest leaf is the same box
    leaves = pd.read_csv(out / "cart_boxes.csv")
    pure = leaves[leaves["density"] == 1.0].iloc[0]
    assert "mandatory" in pure["limits"] and "ad_load" in pure["limits"]
    # feature scores: ad_load explains revenue, privacy sensitivity the active users
    scores = pd.read_csv(synthetic / "discover" / "feature_scores.csv", index_col="factor")
    assert scores["revenue_total"].idxmax() == "ad_load"
    assert scores["users_active_final"].idxmax() == "privacy_sensitivity_mean"
    for figure in ("prim_tradeoff.png", "cart_tree.png"):
        assert (out / figure).is_file()
    assert (synthetic / "discover" / "feature_scores.png").is_file()
    assert "2 restricted factors" in capsys.readouterr().out


def test_prim_box_on_a_plain_frame_with_a_categorical_column():
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"a": rng.uniform(0, 1, 500), "b": rng.uniform(0, 1, 500),
                      "mode": pd.Categorical(rng.choice(["x", "y", "z"], 500))})
    y = ((x["a"] < 0.4) & (x["b"] > 0.5) & (x["mode"] != "z")).to_numpy()
    _trajectory, _chosen, box, stats = prim_box(x, y)
    assert box.loc["a", "max"] == pytest.approx(0.4, abs=0.03)
    assert box.loc["b", "min"] == pytest.approx(0.5, abs=0.03)
    assert box.loc["mode", "levels"] == "x, y"
    assert stats["density"] >= 0.8 and stats["coverage"] >= 0.8


@pytest.mark.parametrize(("args", "field", "question"), [
    (["--outcome", "churn_rate", "--above", "0.06"], "--outcome", "churn_rate_above_0.06"),
    (["--outcome", "churned_share", "--above", "0.5"], "--above", "churned_share_above_0.5"),
    (["--outcome", "churned_share", "--below", "0.0"], "--below", "churned_share_below_0"),
])
def test_bad_questions_exit_2_and_write_nothing(synthetic, capsys, args, field, question):
    before = sorted(synthetic.rglob("*"))
    assert main(["discover", str(synthetic), *args]) == 2
    assert f"wasim: error: {field}:" in capsys.readouterr().err
    assert sorted(synthetic.rglob("*")) == before and not (synthetic / "discover" / question).exists()


def one_factor(values: dict) -> dict:
    return {"churned_share": 0.1 if values.get("ad_load", 0) > 0.15 else 0.02,
            "revenue_total": 1e6 * values.get("ad_load", 0)}


def test_one_factor_gets_feature_scores_and_a_box(tmp_path, capsys):
    """A one-factor sweep, ad_load's shape, crashed in scikit-learn: EMA Workbench's default
    max_features (a third of the factors, rounded) is 0 for a single factor."""
    table = SPEC | {"design": {"kind": "grid",
                               "factors": {"ad_load": [0.0, 0.025, 0.05, 0.1, 0.2, 0.4]}}}
    folder = write_folder(table, tmp_path / "one_factor", one_factor)
    assert main(["discover", str(folder), "--outcome", "churned_share", "--above", "0.06"]) == 0
    scores = pd.read_csv(folder / "discover" / "feature_scores.csv", index_col="factor")
    assert list(scores.index) == ["ad_load"] and set(scores.columns) == {"churned_share", "revenue_total"}
    assert (scores.loc["ad_load"] == 1.0).all()  # a score is a share: a lone factor's is 1
    out = folder / "discover" / "churned_share_above_0.06"
    box = pd.read_csv(out / "prim_box.csv", index_col="factor")
    assert 0.1 <= box.loc["ad_load", "min"] <= 0.2
    leaves = pd.read_csv(out / "cart_boxes.csv")
    assert leaves["density"].max() == 1.0 and len(leaves) == 2
    for name in ("prim_trajectory.csv", "cart_tree.txt", "prim_tradeoff.png", "cart_tree.png"):
        assert (out / name).is_file()
    assert (folder / "discover" / "feature_scores.png").is_file()
    printed = capsys.readouterr().out
    assert "ad_load is the only factor" in printed and "1 restricted factor\n" in printed


@pytest.mark.parametrize("design", [None, {"kind": "grid", "factors": {"ad_load": [0.1]}}])
def test_a_folder_that_varies_nothing_exits_2(tmp_path, capsys, design):
    """One design point, with no factor or a factor of one value: nothing to discover."""
    table = {key: value for key, value in SPEC.items() if key != "design"}
    if design:
        table["design"] = design
    folder = write_folder(table, tmp_path / "one_point", one_factor)
    before = sorted(folder.rglob("*"))
    assert main(["discover", str(folder), "--outcome", "revenue_total", "--above", "1"]) == 2
    err = capsys.readouterr().err
    assert "wasim: error: RESULT_DIR:" in err and "varies nothing" in err
    assert sorted(folder.rglob("*")) == before
