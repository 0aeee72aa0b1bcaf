"""The dashboard (experiments/dashboard.py) without a browser: Solara renders the pages in
this process (``solara.render``, inside an AppLayout so that SolaraViz's sidebar renders, as
Mesa's own tests do), and the tests click its widgets. Also the model it drives, the text
panel, the result-folder page's bands (recomputed here with scipy.stats) and ``wasim
dashboard``'s refusals. The real page in a real browser: test_dashboard_browser.py."""

import importlib.util
import shutil
import socket
import statistics
import time

import numpy as np
import pytest
from conftest import write_spec
from matplotlib.figure import Figure
from scipy import stats

solara = pytest.importorskip("solara", reason='the dashboard needs the viz extra: pip install -e ".[viz]"')
v = pytest.importorskip("ipyvuetify")
widgets = pytest.importorskip("ipywidgets")

from experiments import dashboard  # noqa: E402
from experiments.cli import main  # noqa: E402
from experiments.dashboard import (  # noqa: E402
    MODEL_PARAMS,
    DashboardMarket,
    LivePage,
    ResultsPage,
    bands_figure,
    initial_values,
    point_bands,
    read_folder,
    result_folders,
    series_columns,
    today_figures,
    today_html,
)
from experiments.figure_style import format_value  # noqa: E402
from model.params import PARAMS, REGIONS  # noqa: E402

WIDGETS = {"SliderInt": v.Slider, "SliderFloat": v.Slider, "Select": v.Select, "InputText": v.TextField}


def small_values(**changes) -> dict:
    """The controls' starting values with a small population, so that tests build fast."""
    return initial_values() | {"n_users": 2000} | changes


@pytest.fixture
def live():
    """The live page rendered around a reactive model the test can read: (model, widgets)."""
    model = solara.reactive(DashboardMarket(**small_values()))

    @solara.component
    def Page():
        solara.AppLayout(children=[LivePage(model)])

    _, rc = solara.render(Page(), handle_error=False)
    return model, rc


def control(rc, name: str):
    """The widget of control ``name`` of MODEL_PARAMS, found by its label."""
    options = MODEL_PARAMS[name]
    return rc.find(WIDGETS[options["type"]], label=options["label"]).widget


def panel(rc) -> str:
    """The text panel's HTML (solara.HTML is a widget of Solara's own)."""
    texts = [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets
             if "wasim-today" in (w.unsafe_innerHTML or "")]
    assert len(texts) == 1, "one text panel on the page"
    return texts[0]


def click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


# --- the live page --------------------------------------------------------------------------------
def test_every_control_is_in_the_sidebar_once_with_its_starting_value(live):
    _, rc = live
    for name, options in MODEL_PARAMS.items():
        widget = control(rc, name)
        assert widget.v_model == options["value"], name
        if options["type"].startswith("Slider"):
            assert (widget.min, widget.max) == (options["min"], options["max"]), name
    for label in ("Reset", "Step", "▶"):
        rc.find(v.Btn, children=[label]).assert_single()


def test_the_controls_span_the_schema_and_start_at_its_defaults_but_the_population():
    for name, options in MODEL_PARAMS.items():
        if name in PARAMS:
            p = PARAMS[name]
            if "min" in options:
                assert p.low <= options["min"] and options["max"] <= p.high, name
            if name not in ("n_users", "ultimatum_deadline_day"):
                assert options["value"] == p.default, name
        if "step" in options:  # the browser snaps a slider to its steps: start on one
            steps = (options["value"] - options["min"]) / options["step"]
            assert steps == pytest.approx(round(steps), abs=1e-9), name
    model = DashboardMarket(**initial_values())
    assert model.p.n_users == dashboard.DASHBOARD_USERS and model.seed == 1
    assert model.p.ultimatum_day == 0  # so the dashboard's deadline of day 60 is unused


def test_step_advances_the_model_and_its_data_collector(live):
    model, rc = live
    first = model.value
    assert "Day 0" in panel(rc)
    for day in (1, 2, 3):
        click(rc, "Step")
        frame = model.value.datacollector.get_model_vars_dataframe()
        assert model.value is first and model.value.steps == day
        assert frame["day"].tolist() == list(range(1, day + 1))
        assert f"Day {day}" in panel(rc)
    left = frame["users_churned_total"] - frame["users_returned_total"]
    assert frame["users_left"].equals(left)


def test_reset_rebuilds_the_model_with_the_changed_controls(live):
    model, rc = live
    click(rc, "Step")
    before = model.value
    control(rc, "ad_load").v_model = 0.2
    control(rc, "marketing_price_factor").v_model = 2.0
    control(rc, "data_sharing").v_model = "off"
    seed = control(rc, "rng")
    seed.v_model = "7"
    seed.fire_event("keyup.enter")  # a text field reports its value on Enter or when left
    control(rc, "outage_day").v_model = 30
    click(rc, "Reset")
    after = model.value
    assert after is not before and after.steps == 0
    assert after.datacollector.get_model_vars_dataframe().empty
    assert (after.p.ad_load, after.p.data_sharing, after.seed, after.p.outage_day) == (0.2, "off", 7, 30)
    for region in REGIONS:
        assert after.p.__dict__[f"price_marketing_{region}_usd"] == pytest.approx(
            2 * PARAMS[f"price_marketing_{region}_usd"].default)
        utility = f"price_utility_{region}_usd"
        assert after.p.__dict__[utility] == PARAMS[utility].default
    assert "seed 7" in panel(rc) and "6 h outage on day 30" in panel(rc)
    click(rc, "Step")
    assert after.steps == 1 and before.steps == 1


def test_reset_with_an_ultimatum_after_its_deadline_starts_a_run_without_it_and_says_so(live):
    model, rc = live
    control(rc, "ultimatum_day").v_model = 100  # the deadline control stays at day 60
    click(rc, "Reset")
    assert model.value.p.ultimatum_day == 0
    assert "Not applied: ultimatum_deadline_day: got 60" in panel(rc)
    assert "this run has no ultimatum" in panel(rc)


def test_a_seed_that_is_no_number_runs_seed_1_and_says_so():
    model = DashboardMarket(**small_values(rng="x1"))
    assert model.seed == 1
    assert model.not_applied == ["seed: got 'x1'; allowed: an integer >= 0; this run uses seed 1"]


def test_the_same_seed_gives_the_same_run():
    a, b = (DashboardMarket(**small_values(rng="3")) for _ in range(2))
    for _ in range(5):
        a.step()
        b.step()
    assert a.datacollector.get_model_vars_dataframe().equals(b.datacollector.get_model_vars_dataframe())


def test_price_factors_scale_the_rate_card_and_nothing_else():
    model = DashboardMarket(**small_values(marketing_price_factor=0.5, utility_price_factor=3.0))
    for name, p in PARAMS.items():
        value = model.p.__dict__[name]
        if name.startswith("price_marketing_"):
            assert value == pytest.approx(0.5 * p.default)
        elif name.startswith("price_utility_"):
            assert value == pytest.approx(3.0 * p.default)
        elif name.startswith("price_"):
            assert value == p.default


def test_a_day_at_the_starting_population_takes_under_200_ms():
    """Play steps the model every 150 ms; the day itself must not be what makes it lag."""
    model = DashboardMarket(**initial_values())
    for _ in range(3):
        model.step()
    times = []
    for _ in range(15):
        started = time.perf_counter()
        model.step()
        times.append(time.perf_counter() - started)
    assert statistics.median(times) < 0.2, times


def test_the_text_panel_shows_today_s_figures():
    model = DashboardMarket(**small_values())
    assert today_figures(model) == [] and "Day 0" in today_html(model)
    for _ in range(4):
        model.step()
    figures = dict(today_figures(model))
    today = model.today
    assert figures["active users"] == format_value("users_active", today["users_active"])
    assert figures["left, not back"] == format_value(
        "users_left", today["users_churned_total"] - today["users_returned_total"])
    assert figures["revenue today"] == format_value("revenue_total", today["revenue_total"])
    assert figures["data sharing"] == "opt_out" and figures["ultimatum pending"] == "no"
    assert "<b>Day 4</b>" in today_html(model)


# --- the result folders ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def results_root(tmp_path_factory):
    """results/ with one 2 x 2 experiment, one of its runs lost (a sweep still running), a
    folder that is not a result folder and a file."""
    root = tmp_path_factory.mktemp("results")
    assert main(["run", str(write_spec(root, days=10, users=1000)), "--out", str(root / "tiny"),
                 "--workers", "1"]) == 0
    sorted((root / "tiny" / "runs").glob("*.parquet"))[0].unlink()
    (root / "calibration").mkdir()
    (root / "README.md").write_text("not a folder")
    return root


def test_result_folders_are_those_with_a_spec(results_root):
    assert result_folders(results_root) == ["tiny"]
    assert result_folders(results_root / "absent") == []


def test_a_sweep_still_running_shows_its_finished_runs_and_says_what_is_missing(results_root):
    results, note = read_folder(results_root / "tiny")
    assert results.points["n"].sum() == 3
    assert "showing 3 of 4 runs; 1 missing" in note
    assert {"users_active", "users_multihoming", "revenue_total", "churn_ads"} <= set(series_columns(results))


def test_a_folder_that_cannot_be_shown_says_why(results_root, tmp_path):
    results, note = read_folder(results_root / "calibration")
    assert results is None and "no spec.toml; not a result folder" in note
    (tmp_path / "starting").mkdir()  # a sweep whose first run has not finished yet
    shutil.copy(results_root / "tiny" / "spec.toml", tmp_path / "starting" / "spec.toml")
    assert result_folders(tmp_path) == ["starting"]
    results, note = read_folder(tmp_path / "starting")
    assert results is None and "has no finished run (0 of 4)" in note


def test_each_point_s_band_is_the_95_percent_t_interval_over_its_replicates(results_root):
    results, _ = read_folder(results_root / "tiny")
    points = list(results.points.index)
    bands = point_bands(results, "users_active", points)
    for point in points:
        runs = results.daily[results.daily["point"] == point].pivot(index="day", columns="replicate",
                                                                   values="users_active")
        band = bands[bands["point"] == point].set_index("day")
        mean, sd, n = runs.mean(axis=1), runs.std(axis=1, ddof=1), runs.shape[1]
        assert band["mean"].to_numpy() == pytest.approx(mean.to_numpy())
        if n > 1:
            half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
            assert band["high"].to_numpy() == pytest.approx((mean + half).to_numpy())
        else:
            assert band["low"].equals(band["mean"]) and band["high"].equals(band["mean"])
    fig = bands_figure(results, "revenue_total", points)
    assert len(fig.axes[0].lines) == len(points) and len(fig.axes[0].collections) == len(points)


def test_revenue_is_banded_on_each_run_s_seven_day_mean(results_root):
    results, _ = read_folder(results_root / "tiny")
    point = results.points.index[0]
    runs = results.daily[results.daily["point"] == point].pivot(index="day", columns="replicate",
                                                               values="revenue_total")
    band = point_bands(results, "revenue_total", [point]).set_index("day")
    expected = runs.rolling(7, min_periods=1).mean().mean(axis=1)
    assert band["mean"].to_numpy() == pytest.approx(expected.to_numpy())


def render_results_page(monkeypatch, root):
    monkeypatch.setenv(dashboard.RESULTS_ENV, str(root))

    @solara.component
    def Page():
        solara.AppLayout(children=[ResultsPage()])

    return solara.render(Page(), handle_error=False)[1]


def test_the_results_page_offers_folders_outcomes_and_points_and_draws_the_bands(results_root, monkeypatch):
    rc = render_results_page(monkeypatch, results_root)
    assert rc.find(v.Select, label="folder").widget.items == ["tiny"]
    outcome = rc.find(v.Select, label="outcome").widget
    assert outcome.v_model == "users_active" and "revenue_total" in outcome.items
    points = rc.find(v.Select, label="design points").widget
    assert points.v_model == ["ad_load=0", "ad_load=0.1"]
    assert "showing 3 of 4 runs; 1 missing" in str(rc.find(v.Alert).widget.children)
    figure = rc.find(widgets.Image)  # solara.FigureMatplotlib: the PNG
    figure.assert_single()
    first = bytes(figure.widget.value)
    assert first.startswith(b"\x89PNG")
    outcome.v_model = "revenue_total"
    second = bytes(rc.find(widgets.Image).widget.value)
    points.v_model = ["ad_load=0.1"]
    assert len({first, second, bytes(rc.find(widgets.Image).widget.value)}) == 3
    rc.find(v.Html, children=["3 of 4 runs finished; each line is a point's mean over its runs, the "
                              "band its 95% t-interval."]).assert_single()


def test_the_results_page_without_folders_says_how_to_make_one(tmp_path, monkeypatch):
    rc = render_results_page(monkeypatch, tmp_path)
    rc.find(v.Alert).assert_single()
    assert "wasim run baseline" in str(rc.find(v.Alert).widget.children)


# --- wasim dashboard ---------------------------------------------------------------------------------
def test_dashboard_without_the_viz_extra_exits_2_with_the_install_line(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "solara" else real(name, *args))
    assert main(["dashboard", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert 'pip install -e ".[viz]"' in err and "solara" in err


def test_dashboard_on_a_port_in_use_exits_2(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["999.1.1.1", "192.0.2.1"])  # not an address; not this machine's
def test_dashboard_on_a_host_it_cannot_listen_on_exits_2_naming_host(capsys, host):
    assert main(["dashboard", "--host", host, "--port", "8765"]) == 2
    err = capsys.readouterr().err
    assert f"--host: cannot listen on {host}:8765" in err and "an address of this machine" in err


def test_dashboard_port_out_of_range_exits_2(capsys):
    assert main(["dashboard", "--port", "70000"]) == 2
    assert "--port: got 70000; allowed: 1 to 65535" in capsys.readouterr().err


def test_the_live_plots_count_days_from_1_as_the_panel_does():
    """Mesa draws the DataCollector's rows from 0; the post-process moves them to their day."""
    model = DashboardMarket(**small_values())
    for _ in range(3):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    fig = Figure()
    ax = fig.subplots()
    for column in ("users_active", "users_left"):
        ax.plot(frame[column], label=column)
    dashboard._finish("users", log=True)(ax)
    for line in ax.lines:
        assert list(line.get_xdata()) == frame["day"].tolist() == [1, 2, 3]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["active", "left"]
