"""`wasim compare`: B - A with its Welch t-interval (checked against scipy.stats), a difference
that is there is found and one that is not is not, and bad input exits 2. Contrasts between the
points of one folder, and between folders, are paired by replicate seed when the runs share
seeds (read from their records): on runs with a known seed effect the paired interval is
scipy's paired t-interval, narrower than Welch's by the expected factor, and covers the true
difference; runs on other seeds fall back to Welch and say so. The spec's ``reference`` names a
point, or exits 2 naming those there are, and changes no run id."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_plotting import (
    EFFECT_USD,
    GRID_1,
    LEVELS,
    NOISE_SD_USD,
    SEED_SD_USD,
    crn_spec,
    seeded_daily,
    snapshot,
    spec_dict,
    synthetic_folder,
)

from experiments.checks import SpecError
from experiments.cli import main
from experiments.compare import compare_folders, compare_points, welch_interval
from experiments.runs import plan_runs
from experiments.spec import load_spec, parse_spec
from experiments.storage import ResultFolder


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
    assert table["point"].tolist() == ["ad_load=0", "ad_load=0.1"]  # named as in figures


def test_command_prints_the_table_says_the_method_and_writes_csv(folders, tmp_path, capsys):
    csv = tmp_path / "diff.csv"
    assert main(["compare", str(folders["A"].path), str(folders["B"].path), "--outcome",
                 "revenue_display_ads", "churned_share", "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "Welch t-interval" in out and "revenue_display_ads" in out and "yes" in out
    assert pd.read_csv(csv)["outcome"].tolist() == ["revenue_display_ads", "churned_share"]
    assert pd.read_csv(csv)["method"].tolist() == ["Welch", "Welch"]  # seeds 1 and 3: none shared


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


# --- contrasts paired by replicate seed --------------------------------------------------------------
REPLICATES = 20
DISPLAY = "revenue_display_ads"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """The same three points (no ads, light, heavy) on 20 replicates: on common random numbers
    (every point runs on the same 20 seeds), and not (each point on its own seeds)."""
    root = tmp_path_factory.mktemp("seeded")
    return {crn: synthetic_folder(root / str(crn), crn_spec(REPLICATES, crn=crn), draw=seeded_daily)
            for crn in (True, False)}


def outcome_by_replicate(folder: ResultFolder, point: int, outcome: str = DISPLAY) -> pd.Series:
    records = [folder.read_record(p.stem) for p in folder.runs_dir.glob("*.parquet")]
    return pd.Series({r["replicate"]: r["outcomes"][outcome] for r in records
                      if r["point"] == point}).sort_index()


def test_contrasts_on_shared_seeds_are_paired_and_narrower_by_the_expected_factor(seeded):
    table = compare_points(seeded[True].path, "no ads", [DISPLAY]).set_index("point")
    assert table.index.tolist() == ["light", "heavy"] and set(table["reference"]) == {"no ads"}
    assert set(table["method"]) == {f"paired ({REPLICATES} seeds)"}
    assert set(table["n_paired"]) == {REPLICATES}
    none = outcome_by_replicate(seeded[True], 0)
    # the ratio of a Welch to a paired half-width when the seed effect cancels in the pair
    t_ratio = stats.t.ppf(0.975, 2 * REPLICATES - 2) / stats.t.ppf(0.975, REPLICATES - 1)
    expected_ratio = np.sqrt(1 + SEED_SD_USD ** 2 / NOISE_SD_USD ** 2) * t_ratio  # 9.7
    for point, (label, ad_load) in enumerate([("light", 0.05), ("heavy", 0.2)], start=1):
        row, runs = table.loc[label], outcome_by_replicate(seeded[True], point)
        paired = stats.ttest_rel(runs, none).confidence_interval(0.95)
        welch = stats.ttest_ind(runs, none, equal_var=False).confidence_interval(0.95)
        assert row["difference"] == pytest.approx((runs - none).mean())
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((paired.low, paired.high))
        ratio = (welch.high - welch.low) / (row["ci_high"] - row["ci_low"])
        assert 0.75 * expected_ratio < ratio < 1.33 * expected_ratio, ratio
        assert row["ci_low"] < EFFECT_USD[ad_load] < row["ci_high"]  # covers the true difference
        assert row["excludes_zero"]
    # the light load's $4M is within one seed's spread ($10M): Welch cannot tell it from zero
    light = (outcome_by_replicate(seeded[True], 1), none)
    assert stats.ttest_ind(*light, equal_var=False).confidence_interval(0.95).low < 0


def test_contrasts_on_different_seeds_fall_back_to_welch_and_say_so(seeded, capsys):
    table = compare_points(seeded[False].path, outcomes=[DISPLAY]).set_index("point")
    none = outcome_by_replicate(seeded[False], 0)
    for point, label in ((1, "light"), (2, "heavy")):
        runs = outcome_by_replicate(seeded[False], point)
        welch = stats.ttest_ind(runs, none, equal_var=False).confidence_interval(0.95)
        assert (table.loc[label, "ci_low"], table.loc[label, "ci_high"]) == pytest.approx(
            (welch.low, welch.high))
        assert (table.loc[label, "method"], table.loc[label, "n_paired"]) == ("Welch", 0)
    assert main(["compare", str(seeded[False].path), "--outcome", DISPLAY]) == 0
    out = capsys.readouterr().out
    assert "point 'no ads' (the reference)" in out  # the first point when none is named
    assert out.count(" Welch\n") == 2 and "paired (" not in out.split("\n", 3)[3]


def test_command_contrasts_one_folder_s_points_and_prints_the_method(seeded, tmp_path, capsys):
    csv = tmp_path / "contrasts.csv"
    assert main(["compare", str(seeded[True].path), "--against", "heavy", "--outcome", DISPLAY,
                 "churned_share", "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "point 'heavy' (the reference)" in out and out.count(f"paired ({REPLICATES} seeds)") == 4
    table = pd.read_csv(csv)
    assert table[["point", "reference", "outcome"]].values.tolist() == [
        ["no ads", "heavy", DISPLAY], ["no ads", "heavy", "churned_share"],
        ["light", "heavy", DISPLAY], ["light", "heavy", "churned_share"]]
    heavy, light = outcome_by_replicate(seeded[True], 2), outcome_by_replicate(seeded[True], 1)
    assert table["difference"].iloc[2] == pytest.approx((light - heavy).mean())


def test_points_are_named_by_their_values_when_they_have_no_label(tmp_path):
    grid = {"kind": "grid", "factors": {"ad_load": list(LEVELS)}}
    folder = synthetic_folder(tmp_path / "f", crn_spec(3, design=grid), draw=seeded_daily)
    table = compare_points(folder.path, "ad_load=0.05", [DISPLAY])
    assert table["point"].tolist() == ["ad_load=0", "ad_load=0.2"]
    assert set(table["method"]) == {"paired (3 seeds)"}


@pytest.mark.parametrize("args, message", [
    (["--against", "lots of ads"], "--against: got 'lots of ads'; allowed: a design point's label "
                                   "or values, one of 'no ads', 'light', 'heavy'"),
    (["DIR_B", "--against", "light"], "--against: names a point of one folder"),
])
def test_a_point_that_is_not_there_exits_2_naming_those_that_are(seeded, tmp_path, capsys, args,
                                                                 message):
    folder = seeded[True].path
    args = [str(folder) if a == "DIR_B" else a for a in args]
    before = snapshot(folder)
    assert main(["compare", str(folder), *args, "--csv", str(tmp_path / "x.csv")]) == 2
    assert message in capsys.readouterr().err
    assert snapshot(folder) == before and not (tmp_path / "x.csv").exists()


def test_a_folder_of_one_point_has_nothing_to_contrast(tmp_path, capsys):
    folder = synthetic_folder(tmp_path / "f", spec_dict({"kind": "grid"}, 2))
    assert main(["compare", str(folder.path)]) == 2
    assert "runs of one design point only" in capsys.readouterr().err


@pytest.mark.parametrize("seed_b, method", [(3, f"paired ({REPLICATES} seeds)"), (4, "Welch")])
def test_two_folders_on_the_same_seeds_are_paired_else_welch(tmp_path, seed_b, method, capsys):
    """Two single-point folders of the same root seed and common random numbers ran on the
    same replicate seeds; another root seed gives other seeds."""
    def single(name: str, seed: int, ad_load: float) -> ResultFolder:
        data = crn_spec(REPLICATES, seed=seed, name=name, design={"kind": "grid"})
        data["parameters"]["ad_load"] = ad_load
        return synthetic_folder(tmp_path / name, data, draw=seeded_daily)

    a, b = single("none", 3, 0.0), single("heavy", seed_b, 0.2)
    table = compare_folders(a.path, b.path, [DISPLAY])
    runs_a, runs_b = outcome_by_replicate(a, 0), outcome_by_replicate(b, 0)
    if seed_b == 3:
        expected = stats.ttest_rel(runs_b, runs_a).confidence_interval(0.95)
    else:
        expected = stats.ttest_ind(runs_b, runs_a, equal_var=False).confidence_interval(0.95)
    assert table["method"].tolist() == [method]
    assert (table["ci_low"].iloc[0], table["ci_high"].iloc[0]) == pytest.approx((expected.low, expected.high))
    assert table["ci_low"].iloc[0] < EFFECT_USD[0.2] < table["ci_high"].iloc[0]
    assert main(["compare", str(a.path), str(b.path), "--outcome", DISPLAY]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if DISPLAY in line]
    assert len(rows) == 1 and rows[0].endswith(f" {method}")


def test_runs_are_paired_on_the_seeds_both_points_have(tmp_path):
    """A partial folder: the light point lacks three replicates, so 17 seeds are paired."""
    folder = synthetic_folder(tmp_path / "f", crn_spec(REPLICATES), draw=seeded_daily,
                              keep=lambda t: not (t.point == 1 and t.replicate >= 17))
    with pytest.warns(UserWarning, match="3 missing"):
        table = compare_points(folder.path, "no ads", [DISPLAY]).set_index("point")
    none, light = outcome_by_replicate(folder, 0), outcome_by_replicate(folder, 1)
    expected = stats.ttest_rel(light, none[:17]).confidence_interval(0.95)
    assert table.loc["light", "method"] == "paired (17 seeds)"
    assert (table.loc["light", "n_a"], table.loc["light", "n_b"]) == (REPLICATES, 17)
    assert (table.loc["light", "ci_low"], table.loc["light", "ci_high"]) == pytest.approx(
        (expected.low, expected.high))


# --- the spec's reference point ------------------------------------------------------------------
def test_the_reference_names_a_point_or_exits_2_naming_the_points(tmp_path, capsys):
    assert parse_spec(crn_spec(2, reference="light")).reference == "light"
    assert parse_spec(crn_spec(2, design=GRID_1, reference="ad_load=0.1")).reference == "ad_load=0.1"
    with pytest.raises(SpecError, match="experiment.reference: got 'none'; allowed: a design "
                                        "point's label or values, one of 'no ads', 'light', 'heavy'"):
        parse_spec(crn_spec(2, reference="none"))
    with pytest.raises(SpecError, match="experiment.reference: got 3"):
        parse_spec(crn_spec(2, reference=3))
    with pytest.raises(SpecError, match="the design has one point"):
        parse_spec(crn_spec(2, design={"kind": "grid"}, reference="baseline"))
    spec = tmp_path / "bad.toml"
    spec.write_text('''[experiment]
name = "bad"
days = 5
reference = "ultimatum"
[parameters]
n_users = 1000
burn_in_days = 0
[design]
kind = "rows"
points = [{label = "no event", ad_load = 0.0}, {label = "kept", ad_load = 0.1}]
''')
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "--workers", "1"]) == 2
    assert "allowed: a design point's label or values, one of 'no event', 'kept'" in capsys.readouterr().err
    assert not out.exists()


def test_a_reference_changes_no_run_id_nor_the_identity_of_a_folder(tmp_path):
    plain, named = parse_spec(crn_spec(2)), parse_spec(crn_spec(2, reference="heavy"))
    assert named.identity() == plain.identity()
    assert [t.run_id for t in plan_runs(named, tmp_path)] == [t.run_id for t in plan_runs(plain, tmp_path)]
    folder = synthetic_folder(tmp_path / "f", crn_spec(2), draw=seeded_daily)
    folder.prepare(named, fresh=False)  # a folder made without it takes the spec with it
    assert folder.read_spec_dict()["experiment"]["reference"] == "heavy"
    assert compare_points(folder.path, outcomes=[DISPLAY])["reference"].iloc[0] == "heavy"


def test_privacy_shock_2021_contrasts_with_no_event():
    spec = load_spec("privacy_shock_2021")
    assert spec.reference == "no event" and spec.common_random_numbers
    assert spec.labels[0] == "no event"
