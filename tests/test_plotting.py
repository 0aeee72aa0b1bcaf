"""Figures (`wasim plot`): each kind for the designs it belongs to and no others, bands that are
the replicate confidence intervals (recomputed here with scipy.stats), and partial or broken
result folders. Result folders are synthetic: run files with known numbers, written through the
storage layer, so the tests take seconds, not model runs."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_spec
from scipy import stats

from experiments import plotting
from experiments.checks import SpecError
from experiments.cli import main
from experiments.outcomes import summarise
from experiments.plotting import (
    best_by_horizon,
    difference_figure,
    factor_figure,
    figure_set,
    heatmap_figure,
    horizon_figure,
    horizons,
    plot_folder,
    plot_results,
    revenue_by_point_figure,
    tradeoff_figure,
    users_figure,
)
from experiments.results import load_results, pareto_front, point_table
from experiments.runs import plan_runs
from experiments.spec import parse_spec
from experiments.storage import ResultFolder
from model.ledger import STREAMS

DAYS = 20
ALWAYS = {"users", "outcomes_over_time", "revenue_by_stream", "revenue_mix", "churn_by_cause"}


def spec_dict(design: dict, replicates: int = 3, name: str = "synthetic", seed: int = 3,
              **parameters) -> dict:
    return {"experiment": {"name": name, "days": DAYS, "replicates": replicates, "seed": seed},
            "parameters": {"n_users": 1000, **parameters}, "design": design}


def synthetic_daily(parameters: dict, rng: np.random.Generator, days: int = DAYS) -> pd.DataFrame:
    """A run's days with the model's columns: display-ad revenue and ad churn grow with ad_load,
    privacy churn only with data sharing; everything else is noise around a constant."""
    ad_load, sharing = parameters["ad_load"], parameters["data_sharing"] != "off"
    day = np.arange(1, days + 1)
    churn = {"churn_ads": rng.poisson(1 + 40 * ad_load, days),
             "churn_privacy": rng.poisson(3, days) * sharing,
             "churn_peers": rng.poisson(0.5, days), "churn_other": rng.poisson(2, days)}
    churned = np.cumsum(sum(churn.values()))
    users_total = 1000 + np.cumsum(rng.poisson(8, days))
    revenue = {f"revenue_{s}": np.abs(rng.normal(1e5 * (i + 1), 1e4, days)) * (s != "stickers")
               for i, s in enumerate(STREAMS)}
    revenue["revenue_display_ads"] = rng.normal(2e6 * (1 + 10 * ad_load), 1e5, days)
    revenue["revenue_total"] = sum(revenue.values())
    users_active = users_total - churned
    stocks = {name: rng.uniform(0, 1, days) for name in (
        "share_data_optout", "share_promo_optin", "share_payments_linked", "mean_concern",
        "mean_annoyance")}
    return pd.DataFrame({"day": day, "users_total": users_total, "users_active": users_active,
                         "users_multihoming": rng.poisson(50, days), "users_churned_total": churned,
                         "churn_today": sum(churn.values()), **churn, **revenue,
                         "revenue_per_user": revenue["revenue_total"] / users_active, **stocks})


def synthetic_folder(path: Path, data: dict, keep=lambda task: True,
                     draw=synthetic_daily) -> ResultFolder:
    """A result folder of ``data``'s spec whose runs (those ``keep`` keeps) are synthetic (by
    ``draw``), each drawn from its own run seed, written and recorded as the runner does."""
    spec = parse_spec(data)
    folder = ResultFolder(path)
    folder.prepare(spec, fresh=False)
    for task in plan_runs(spec, folder.path):
        if keep(task):
            daily = draw(task.parameters, np.random.default_rng(task.seed_sequence()), task.days)
            folder.write_run(daily, {
                "run_id": task.run_id, "point": task.point, "replicate": task.replicate,
                "seed_entropy": task.seed_entropy, "seed_spawn_key": list(task.seed_spawn_key),
                "point_values": json.dumps(task.point_values, sort_keys=True), "days": task.days,
                "status": "done", "elapsed_s": 0.01, "parameters": task.parameters,
                "outcomes": summarise(daily)})
    return folder


# --- runs on common random numbers: a seed's own effect that every point run on it shares -------
LEVELS = (0.0, 0.05, 0.2)
EFFECT_USD = {0.0: 0.0, 0.05: 4e6, 0.2: 1.6e7}
"""Display-ad revenue over the run that each ad load adds to the no-ads point: the true contrasts."""
SEED_SD_USD, NOISE_SD_USD = 1e7, 1e6
"""A replicate seed's own effect on display-ad revenue, shared by every point run on that seed,
and each run's own noise: paired by seed, the contrast's spread is the noise's alone."""
LABELLED = {"kind": "rows", "points": [{"label": "no ads", "ad_load": 0.0},
                                       {"label": "light", "ad_load": 0.05},
                                       {"label": "heavy", "ad_load": 0.2}]}


def seeded_daily(parameters: dict, rng: np.random.Generator, days: int = DAYS) -> pd.DataFrame:
    """``synthetic_daily`` with display-ad revenue over the run = $50M + the point's effect +
    the seed's effect + the run's noise, spread evenly over the days; active users carry the
    seed's effect too (a seed's sample is bigger or smaller from day 1). Both effects are drawn
    first, so every point on a seed gets the same seed effect; the noise is drawn for every
    level and the point takes its own, so it differs between points."""
    seed_effect, users_shift = rng.normal(0, SEED_SD_USD), rng.normal(0, 200)
    noise = rng.normal(0, NOISE_SD_USD, len(LEVELS))[LEVELS.index(parameters["ad_load"])]
    daily = synthetic_daily(parameters, rng, days)
    daily["revenue_display_ads"] = (5e7 + EFFECT_USD[parameters["ad_load"]] + seed_effect + noise) / days
    daily["revenue_total"] = daily[[f"revenue_{s}" for s in STREAMS]].sum(axis=1)
    daily["users_active"] += round(users_shift)
    daily["revenue_per_user"] = daily["revenue_total"] / daily["users_active"]
    return daily


def crn_spec(replicates: int = 20, crn: bool = True, seed: int = 3, name: str = "crn",
             reference: str | None = None, design: dict = LABELLED) -> dict:
    """A spec of ``design`` whose points share replicate seeds (``crn``) or not."""
    data = spec_dict(design, replicates, name, seed)
    data["experiment"]["common_random_numbers"] = crn
    if reference is not None:
        data["experiment"]["reference"] = reference
    return data


GRID_1 = {"kind": "grid", "factors": {"ad_load": [0.0, 0.05, 0.1]}}
GRID_2 = {"kind": "grid", "factors": {"ad_load": [0.0, 0.1], "data_sharing": ["off", "opt_out"]}}
RANGES = {"ad_load": {"low": 0.0, "high": 0.2}, "peer_churn_multiplier": {"low": 1.2, "high": 1.8}}
DESIGNS = {
    "single": ({"kind": "grid"}, set()),
    "one factor": (GRID_1, {"tradeoff", "outcomes_vs_ad_load", "revenue_by_point"}),
    "two factors": (GRID_2, {"tradeoff", "heatmap", "revenue_by_point"}),
    "rows": ({"kind": "rows", "points": [{"ad_load": 0.0}, {"ad_load": 0.2}]},
             {"tradeoff", "outcomes_vs_ad_load", "revenue_by_point"}),
    "lhs, three factors": ({"kind": "lhs", "samples": 6, "factors": {
        **RANGES, "data_sharing": ["off", "opt_out"]}}, {"tradeoff", "outcomes_vs_factors"}),
    "morris": ({"kind": "morris", "samples": 4, "factors": RANGES},
               {"tradeoff", "heatmap", "outcomes_vs_factors", "sensitivity"}),
    "saltelli": ({"kind": "saltelli", "samples": 4, "factors": RANGES,
                  "options": {"calc_second_order": False}},
                 {"tradeoff", "heatmap", "outcomes_vs_factors", "sensitivity"}),
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("plots")
    return {name: synthetic_folder(root / name.replace(" ", "_").replace(",", ""),
                                   spec_dict(design, replicates=1 if name == "saltelli" else 2))
            for name, (design, _) in DESIGNS.items()}


@pytest.mark.parametrize("design", DESIGNS)
def test_each_figure_kind_is_chosen_for_its_designs_only(folders, design):
    assert set(figure_set(load_results(folders[design].path))) == ALWAYS | DESIGNS[design][1]


def test_plot_writes_every_chosen_figure_as_png_and_svg(tmp_path):
    design = {"kind": "morris", "samples": 2, "factors": RANGES}  # 6 points: every kind but one
    folder = synthetic_folder(tmp_path / "f", spec_dict(design, replicates=1))
    files = plot_folder(folder.path)
    assert {f.stem for f in files} == ALWAYS | {"tradeoff", "heatmap", "outcomes_vs_factors",
                                                 "sensitivity"}
    for png in files:
        assert png.parent == folder.figures_dir and png.stat().st_size > 10_000
        assert png.with_suffix(".svg").stat().st_size > 10_000
    assert not (folder.path / "analysis").exists()  # `wasim analyze`'s own files are its own


def replicate_ci(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the mean, the textbook way."""
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    return float(np.mean(values)), low, high


def band_of(collection) -> pd.DataFrame:
    """The lower and upper edge of a fill_between band, by x."""
    vertices = np.concatenate([path.vertices for path in collection.get_paths()])
    frame = pd.DataFrame(vertices, columns=["x", "y"])
    return frame.groupby("x")["y"].agg(["min", "max"])


def test_time_series_band_is_the_replicate_confidence_interval(tmp_path):
    folder = synthetic_folder(tmp_path / "f", spec_dict(GRID_1, replicates=5))
    results = load_results(folder.path)
    ax = users_figure(results).axes[0]
    daily = pd.concat([pd.read_parquet(p).assign(point=folder.read_record(p.stem)["point"])
                       for p in folder.runs_dir.glob("*.parquet")])
    for i, point in enumerate(sorted(daily["point"].unique())):
        band, line = band_of(ax.collections[i]), ax.lines[i]
        for day in (1, 7, DAYS):
            values = daily[(daily["point"] == point) & (daily["day"] == day)]["users_active"]
            assert len(values) == 5
            mean, low, high = replicate_ci(values.to_numpy(float))
            assert line.get_ydata()[day - 1] == pytest.approx(mean)
            assert band.loc[day, "min"] == pytest.approx(low)
            assert band.loc[day, "max"] == pytest.approx(high)


def test_outcome_band_against_the_factor_is_the_replicate_confidence_interval(tmp_path):
    folder = synthetic_folder(tmp_path / "f", spec_dict(GRID_1, replicates=4))
    figure = factor_figure(load_results(folder.path))
    summary = pd.DataFrame([folder.read_record(p.stem) for p in folder.runs_dir.glob("*.parquet")])
    summary["ad_load"] = [r["ad_load"] for r in summary["parameters"]]
    summary["revenue_total"] = [o["revenue_total"] for o in summary["outcomes"]]
    band = band_of(figure.axes[0].collections[0])  # the first panel is revenue_total
    for ad_load, runs in summary.groupby("ad_load"):
        mean, low, high = replicate_ci(runs["revenue_total"].to_numpy())
        assert band.loc[ad_load, "min"] == pytest.approx(low)
        assert band.loc[ad_load, "max"] == pytest.approx(high)
        assert figure.axes[0].lines[0].get_ydata()[list(band.index).index(ad_load)] == pytest.approx(mean)


def test_dates_replace_days_when_the_spec_gives_a_start_date(tmp_path):
    data = spec_dict({"kind": "grid"})
    data["experiment"]["start_date"] = "2026-03-01"
    results = load_results(synthetic_folder(tmp_path / "f", data).path)
    x = users_figure(results).axes[0].lines[0].get_xdata()
    assert pd.Timestamp(x[0]) == pd.Timestamp("2026-03-01")
    assert pd.Timestamp(x[-1]) == pd.Timestamp("2026-03-01") + pd.Timedelta(days=DAYS - 1)


def test_pareto_front_keeps_the_points_nothing_beats():
    revenue = np.array([10.0, 8.0, 12.0, 7.0, 12.0])
    churn = np.array([0.1, 0.05, 0.2, 0.06, 0.25])
    # 3 is beaten by 1 (more revenue, less churn); 4 by 2 (same revenue, less churn)
    assert pareto_front(revenue, churn).tolist() == [True, True, True, False, False]


def test_tradeoff_marks_the_efficient_points(folders):
    results = load_results(folders["two factors"].path)
    table = point_table(results, ["revenue_total", "churned_share"])
    ax = tradeoff_figure(results).axes[0]
    frontier = next(line for line in ax.lines if line.get_label() == "efficient frontier")
    efficient = table[pareto_front(table["revenue_total"], table["churned_share"])]
    assert sorted(frontier.get_xdata()) == pytest.approx(sorted(efficient["churned_share"]))
    # data sharing adds privacy churn and no revenue: (0.1, opt_out) earns no more than
    # (0.1, off) beyond noise and loses more users
    assert not efficient["data_sharing"].eq("opt_out").all()


def test_revenue_by_point_stacks_each_point_s_stream_means_and_whiskers_the_total(folders):
    results = load_results(folders["two factors"].path)
    ax = revenue_by_point_figure(results).axes[0]
    summary = results.summary.groupby("point")
    bars = [patch for patch in ax.patches if patch.get_width() > 0]
    widths = pd.DataFrame([(round(p.get_y() + p.get_height() / 2), p.get_x() + p.get_width()) for p in bars],
                          columns=["row", "right"]).groupby("row")["right"].max()
    # the first point is the top row: the stack's right edge is the point's mean total revenue
    totals = summary["revenue_total"].mean().to_numpy()[::-1]
    assert widths.to_numpy() == pytest.approx(totals, rel=1e-9)
    assert [t.get_text() for t in ax.get_yticklabels()] == results.points["label"].tolist()


def test_missing_runs_are_named_by_point(tmp_path):
    folder = synthetic_folder(tmp_path / "f", spec_dict(GRID_1, replicates=2),
                              keep=lambda t: not (t.point == 2 and t.replicate == 1))
    with pytest.warns(UserWarning, match=r"plotting 5 of 6 runs; 1 missing \(0 failed.*point 2 "
                                         r"\(ad_load=0.1\): 1 of 2"):
        results = load_results(folder.path)
    assert results.points["n"].tolist() == [2, 2, 1]


def test_partial_saltelli_leaves_out_only_its_sensitivity_figure(tmp_path):
    folder = synthetic_folder(tmp_path / "f", spec_dict(DESIGNS["saltelli"][0], replicates=1),
                              keep=lambda t: t.point != 0)
    with pytest.warns(UserWarning, match="1 missing"):
        results = load_results(folder.path)
    with pytest.warns(UserWarning, match="sensitivity figure left out"):
        chosen = figure_set(results)
    assert set(chosen) == ALWAYS | DESIGNS["saltelli"][1] - {"sensitivity"}


def test_a_real_experiment_with_a_missing_run_plots_and_warns_on_stderr(tmp_path, capsys):
    """End to end on the model's own columns: a tiny run experiment, one run file lost."""
    out = tmp_path / "out"
    assert main(["run", str(write_spec(tmp_path, days=8, users=1000)), "--out", str(out),
                 "--workers", "1"]) == 0
    next((out / "runs").glob("*.parquet")).unlink()
    capsys.readouterr()
    assert main(["plot", str(out)]) == 0
    captured = capsys.readouterr()
    assert "wasim: warning:" in captured.err and "plotting 3 of 4 runs; 1 missing" in captured.err
    assert captured.out.count("wrote ") == len(ALWAYS) + 3  # tradeoff, revenue_by_point, outcomes_vs_ad_load
    assert (out / "figures" / "outcomes_vs_ad_load.svg").is_file()


# --- the revenue-maximising factor value by horizon ---------------------------------------------
LONG_DAYS = 400
GRID_HORIZON = {"kind": "grid", "factors": {"ad_load": [0.0, 0.1, 0.2]}}
BEST_AD_LOAD = {90: 0.2, 180: 0.1, 365: 0.0, 400: 0.0}
"""Where ``fading_ads_daily``'s cumulative revenue peaks (by its closed form: the best beats the
runner-up by 14%, 2.7%, 25% and 30% of its revenue, far beyond the noise)."""


def fading_ads_daily(parameters: dict, rng: np.random.Generator, days: int) -> pd.DataFrame:
    """Ads that pay at once and wear off: revenue per day 1e6 (1 + 10 ad_load) exp(-ad_load day / 15)
    plus a little noise, so heavy ads earn the most early and none the most late. The other
    columns are ``synthetic_daily``'s at no ad load (its ad churn would empty the sample)."""
    daily = synthetic_daily(parameters | {"ad_load": 0.0}, rng, days)
    ad_load = parameters["ad_load"]
    fading = 1e6 * (1 + 10 * ad_load) * np.exp(-ad_load * daily["day"] / 15)
    return daily.assign(revenue_total=fading + rng.normal(0, 1e4, days))


def long_spec(design: dict, days: int = LONG_DAYS, replicates: int = 2) -> dict:
    data = spec_dict(design, replicates=replicates)
    data["experiment"]["days"] = days
    return data


@pytest.fixture(scope="module")
def fading(tmp_path_factory):
    return synthetic_folder(tmp_path_factory.mktemp("fading"), long_spec(GRID_HORIZON, replicates=3),
                            draw=fading_ads_daily)


def test_horizons_are_those_the_run_reaches_and_its_last_day():
    assert horizons(180) == [90, 180]
    assert horizons(LONG_DAYS) == [90, 180, 365, LONG_DAYS]
    assert horizons(730) == [90, 180, 365, 730]
    assert horizons(1000) == [90, 180, 365, 730, 1000]


@pytest.mark.parametrize("design, days, chosen", [
    (GRID_HORIZON, 180, True), (GRID_HORIZON, 60, False), (GRID_2, 180, False),
    ({"kind": "grid"}, 180, False)])
def test_revenue_by_horizon_needs_one_factor_and_half_a_year(tmp_path, design, days, chosen):
    folder = synthetic_folder(tmp_path / "f", long_spec(design, days=days, replicates=1),
                              draw=fading_ads_daily)
    assert ("revenue_by_horizon" in figure_set(load_results(folder.path))) is chosen


def test_best_ad_load_moves_from_heavy_to_none_with_the_horizon(fading):
    results = load_results(fading.path)
    best = best_by_horizon(results)
    assert dict(zip(best["horizon_days"], best["ad_load"], strict=True)) == BEST_AD_LOAD
    # the mean and interval are those of each run's revenue summed to the horizon
    runs = [(fading.read_record(p.stem), pd.read_parquet(p)) for p in fading.runs_dir.glob("*.parquet")]
    for _, row in best.iterrows():
        totals = [daily.loc[daily["day"] <= row["horizon_days"], "revenue_total"].sum()
                  for record, daily in runs if record["point"] == row["point"]]
        assert len(totals) == row["count"] == 3
        mean, low, high = replicate_ci(np.array(totals))
        assert (row["mean"], row["low"], row["high"]) == pytest.approx((mean, low, high))


def test_horizon_figure_rings_each_horizons_best(fading):
    ax = horizon_figure(load_results(fading.path)).axes[0]
    rings = [line for line in ax.lines if line.get_markerfacecolor() == "none"]
    assert [float(ring.get_xdata()[0]) for ring in rings] == list(BEST_AD_LOAD.values())
    assert all(ring.get_ydata()[0] == pytest.approx(1.0) for ring in rings)
    assert [t.get_text().split(":")[0] for t in ax.texts] == [f"best at {h} d" for h in BEST_AD_LOAD]


def test_horizon_figure_uses_the_runs_a_partial_folder_has(tmp_path):
    folder = synthetic_folder(tmp_path / "f", long_spec(GRID_HORIZON), draw=fading_ads_daily,
                              keep=lambda t: not (t.point == 1 and t.replicate == 0))
    with pytest.warns(UserWarning, match="1 missing"):
        results = load_results(folder.path)
    best = best_by_horizon(results)
    assert dict(zip(best["horizon_days"], best["ad_load"], strict=True)) == BEST_AD_LOAD
    assert best.set_index("horizon_days")["count"].to_dict() == {90: 2, 180: 1, 365: 2, 400: 2}
    ax = horizon_figure(results).axes[0]
    assert len([line for line in ax.lines if line.get_markerfacecolor() == "none"]) == 4


def test_plot_writes_revenue_by_horizon(tmp_path, monkeypatch):
    """Only this figure of the set is drawn: the others take ten seconds at this length and
    ``test_plot_writes_every_chosen_figure_as_png_and_svg`` writes them."""
    design = {"kind": "grid", "factors": {"ad_load": [0.0, 0.2]}}
    folder = synthetic_folder(tmp_path / "f", long_spec(design, days=180, replicates=1),
                              draw=fading_ads_daily)
    every = plotting.figure_set
    monkeypatch.setattr(plotting, "figure_set", lambda results, *choices: {
        name: write for name, write in every(results).items() if name == "revenue_by_horizon"})
    png = folder.figures_dir / "revenue_by_horizon.png"
    assert plot_results(load_results(folder.path)) == [png]
    assert png.stat().st_size > 10_000 and png.with_suffix(".svg").stat().st_size > 10_000


def snapshot(path: Path) -> dict[str, int]:
    return {str(p.relative_to(path)): p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()}


@pytest.mark.parametrize("breakage, message", [
    ("no spec", "no spec.toml; not a result folder"),
    ("no runs", "no finished run"),
    ("corrupt run", "not a readable run file"),
    ("bad spec", "spec.toml is damaged"),
])
def test_bad_folders_exit_2_name_the_problem_and_change_nothing(tmp_path, capsys, breakage, message):
    folder = synthetic_folder(tmp_path / "f", spec_dict(GRID_1, replicates=2),
                              keep=lambda t: breakage != "no runs")
    if breakage == "no spec":
        folder.spec_path.unlink()
    elif breakage == "corrupt run":
        run = next(folder.runs_dir.glob("*.parquet"))
        run.write_bytes(run.read_bytes()[:200])
    elif breakage == "bad spec":
        folder.spec_path.write_text("[experiment\n")
    before = snapshot(folder.path)
    assert main(["plot", str(folder.path)]) == 2
    assert message in capsys.readouterr().err
    assert snapshot(folder.path) == before


def test_plot_of_a_folder_that_does_not_exist_exits_2(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    assert "not a result folder" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def test_chosen_outcomes_are_the_panels_of_the_heatmap(folders):
    results = load_results(folders["two factors"].path)
    chosen = ["revenue_payments", "share_payments_linked_final", "revenue_display_ads"]
    fig = heatmap_figure(results, chosen)
    visible = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in visible] == [plotting.outcome_label(o) for o in chosen]
    cells = [float(t.get_text().strip("$%kMB")) for t in visible[0].texts]
    assert len(cells) == len(results.points)


@pytest.mark.parametrize(("outcomes", "message"), [
    (["revenue_paymnts"], "allowed: one of"),
    (["revenue_total", "churned_share", "revenue_payments", "revenue_commerce", "revenue_utility"],
     "allowed: one to four"),
])
def test_plot_with_bad_outcomes_exits_2_naming_them_and_writes_nothing(folders, capsys, outcomes, message):
    folder = folders["two factors"]
    before = snapshot(folder.path)
    assert main(["plot", str(folder.path), "--outcome", *outcomes]) == 2
    err = capsys.readouterr().err
    assert "--outcome" in err and message in err
    assert snapshot(folder.path) == before


# --- the difference figure: each point minus the reference, paired by seed -------------------------
def test_difference_figure_is_chosen_when_the_spec_names_a_reference_or_one_is_asked_for(tmp_path):
    plain = load_results(synthetic_folder(tmp_path / "a", crn_spec(4)).path)
    named = load_results(synthetic_folder(tmp_path / "b", crn_spec(4, reference="light")).path)
    assert "difference" not in figure_set(plain)
    assert "difference" in figure_set(plain, against="no ads")
    assert "difference" in figure_set(named)
    with pytest.raises(SpecError, match="--against: got 'lots'; allowed: .*'no ads', 'light', 'heavy'"):
        figure_set(plain, against="lots")


def daily_runs(folder: ResultFolder, column: str) -> pd.DataFrame:
    """One daily column of every run: a row per day, a column per (point, replicate)."""
    frames = {(r["point"], r["replicate"]): pd.read_parquet(folder.run_path(r["run_id"]))
              .set_index("day")[column] for r in map(folder.read_record, (
                  p.stem for p in folder.runs_dir.glob("*.parquet")))}
    return pd.DataFrame(frames)


@pytest.mark.parametrize("crn", [True, False])
def test_difference_band_is_the_paired_interval_on_shared_seeds_else_welch(tmp_path, crn):
    folder = synthetic_folder(tmp_path / "f", crn_spec(5, crn=crn, reference="light"),
                              draw=seeded_daily)
    fig = difference_figure(load_results(folder.path))
    ax = fig.axes[0]  # active users
    assert ax.get_title() == "active users (sample)"
    runs = daily_runs(folder, "users_active")
    for line, collection, point in zip(ax.lines[:2], ax.collections, (0, 2), strict=True):
        band = band_of(collection)
        for day in (1, 7, DAYS):
            reference, other = runs.loc[day, 1].sort_index(), runs.loc[day, point].sort_index()
            if crn:  # replicate r of every point ran on the same seed
                expected = stats.ttest_rel(other, reference).confidence_interval(0.95)
            else:
                expected = stats.ttest_ind(other, reference, equal_var=False).confidence_interval(0.95)
            assert line.get_ydata()[day - 1] == pytest.approx(other.mean() - reference.mean())
            assert (band.loc[day, "min"], band.loc[day, "max"]) == pytest.approx(
                (expected.low, expected.high))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    method = "paired (5 seeds)" if crn else "Welch"
    assert legend == [f"no ads ({method})", f"heavy ({method})"]
    assert "Difference from 'light'" in fig._suptitle.get_text()


def test_plot_writes_the_difference_figure(tmp_path):
    folder = synthetic_folder(tmp_path / "f", crn_spec(3, reference="no ads"), draw=seeded_daily)
    files = plot_folder(folder.path)
    png = folder.figures_dir / "difference.png"
    assert png in files and png.stat().st_size > 10_000
    assert png.with_suffix(".svg").stat().st_size > 10_000
