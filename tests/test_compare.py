"""`wasim compare`: B - A with its Welch t-interval (checked against scipy.stats), a difference
that is there is found and one that is not is not, and bad input exits 2."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_plotting import GRID_1, spec_dict, synthetic_folder

from experiments.cli import main
from experiments.compare import compare_folders, welch_interval


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A: no Status ads; A2: the same with other seeds; B: ads at 20% (more display revenue
    and more ad churn in the synthetic runs)."""
    root = tmp_path_factory.mktemp("compare")
    single = {"kind": "grid"}
    return {"A": synthetic_folder(root / "a", spec_dict(single, 6, "a", 1, ad_load=0.0)),
            "A2": synthetic_folder(root / "a2", spec_dict(single, 5, "a2", 2, ad_load=0.0)),
            "B": synthetic_folder(root / "b", spec_dict(single, 6, "b", 3, ad_load=0.2))}


def runs(folder, outcome: str) -> np.ndarray:
    return pd.DataFrame([folder.read_record(p.stem)["outcomes"]
                         for p in folder.runs_dir.glob("*.parquet")])[outcome].to_numpy()


def test_welch_interval_is_scipys():
    rng = np.random.default_rng(0)
    a, b = rng.normal(10, 1, 5), rng.normal(11, 3, 9)
    expected = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    difference, low, high = welch_interval(a, b)
    assert difference == pytest.approx(b.mean() - a.mean())
    assert (low, high) == pytest.approx((expected.low, expected.high))


def test_a_difference_that_is_there_is_found(folders):
    table = compare_folders(folders["A"].path, folders["B"].path).set_index("outcome")
    for outcome in ("revenue_display_ads", "churn_ads_total"):
        row = table.loc[outcome]
        expected = stats.ttest_ind(runs(folders["B"], outcome), runs(folders["A"], outcome),
                                   equal_var=False).confidence_interval(0.95)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((expected.low, expected.high))
        assert row["difference"] > 0 and row["excludes_zero"]
        assert (row["n_a"], row["n_b"]) == (6, 6)


def test_no_difference_is_found_where_there_is_none(folders):
    table = compare_folders(folders["A"].path, folders["A2"].path).set_index("outcome")
    for outcome in ("revenue_display_ads", "churn_ads_total", "revenue_total", "churned_share"):
        row = table.loc[outcome]
        assert row["ci_low"] < 0 < row["ci_high"] and not row["excludes_zero"]
    assert (table["n_a"].iloc[0], table["n_b"].iloc[0]) == (6, 5)
    assert "revenue_stickers" not in table.index  # zero in both: left out by default


def test_design_points_are_matched_by_their_values(tmp_path):
    a = synthetic_folder(tmp_path / "a", spec_dict(GRID_1, 2, "a", 1))
    b = synthetic_folder(tmp_path / "b", spec_dict({"kind": "grid", "factors": {
        "ad_load": [0.1, 0.0, 0.3]}}, 2, "b", 2))
    table = compare_folders(a.path, b.path, ["revenue_display_ads"])
    assert table["point"].tolist() == ["ad_load=0.0", "ad_load=0.1"]


def test_command_prints_the_table_says_the_method_and_writes_csv(folders, tmp_path, capsys):
    csv = tmp_path / "diff.csv"
    assert main(["compare", str(folders["A"].path), str(folders["B"].path), "--outcome",
                 "revenue_display_ads", "churned_share", "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "Welch t-interval" in out and "revenue_display_ads" in out and "yes" in out
    assert pd.read_csv(csv)["outcome"].tolist() == ["revenue_display_ads", "churned_share"]


@pytest.mark.parametrize("case, message", [
    ("unknown outcome", "--outcome: got 'revenue_of_mars'; allowed: one of"),
    ("not a result folder", "no spec.toml; not a result folder"),
])
def test_bad_input_exits_2_names_the_problem_and_writes_nothing(folders, tmp_path, capsys, case,
                                                                message):
    b = folders["B"].path if case == "unknown outcome" else tmp_path / "nowhere"
    outcome = "revenue_of_mars" if case == "unknown outcome" else "revenue_total"
    assert main(["compare", str(folders["A"].path), str(b), "--outcome", outcome,
                 "--csv", str(tmp_path / "x.csv")]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_output_to_a_reader_that_stopped_exits_quietly():
    """`wasim params | head` once ended in a BrokenPipeError traceback. Here the reader closes
    the pipe before wasim has started, so every write meets a broken pipe."""
    wasim = Path(sys.executable).parent / "wasim"
    process = subprocess.Popen([wasim, "params"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == b""
