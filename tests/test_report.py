"""`wasim report`: the page holds the description, the spec, the table of outcomes per design
point with 95% intervals (checked against scipy.stats), each point's contrast with the reference
point (paired by seed on common random numbers, else Welch) and every figure, linked or
embedded; a folder with missing runs is reported with a warning; an unknown outcome exits 2,
writing nothing."""

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_plotting import (
    ALWAYS,
    GRID_1,
    crn_spec,
    seeded_daily,
    snapshot,
    spec_dict,
    synthetic_folder,
)

from experiments.cli import main
from experiments.figure_style import format_value
from experiments.report import write_report


def test_report_has_the_table_every_figure_and_the_spec_and_says_what_is_missing(tmp_path, capsys):
    data = spec_dict(GRID_1, replicates=3)
    data["experiment"]["description"] = "Ads against <churn>"
    folder = synthetic_folder(tmp_path / "f", data, keep=lambda t: (t.point, t.replicate) != (0, 2))
    assert main(["report", str(folder.path), "--outcome", "revenue_total", "churned_share"]) == 0
    assert "reporting 8 of 9 runs; 1 missing" in capsys.readouterr().err
    page = (folder.path / "report.html").read_text()

    assert "Ads against &lt;churn&gt;" in page and "Partial results" in page
    assert "[design.factors]" in page  # the spec
    assert "on the revenue-churn frontier" in page
    figures = sorted(p.name for p in folder.figures_dir.glob("*.png"))
    assert {name[:-4] for name in figures} == ALWAYS | {"tradeoff", "revenue_by_point", "outcomes_vs_ad_load"}
    assert sorted(re.findall(r"<img src='figures/([^']+)'", page)) == figures

    table = re.search(r"<table id='outcomes'>.*?</table>", page, re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    assert len(rows) == 3
    runs = pd.DataFrame([folder.read_record(p.stem) for p in folder.runs_dir.glob("*.parquet")])
    csv = pd.read_csv(folder.path / "outcomes.csv", index_col="point")
    for point, row in enumerate(rows):
        values = np.array([r["outcomes"]["revenue_total"] for r in runs.to_dict("records")
                           if r["point"] == point])
        low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
        text = [format_value("revenue_total", v) for v in (values.mean(), low, high)]
        assert f"<td>{len(values)}</td>" in row and len(values) == (2 if point == 0 else 3)
        assert f"{text[0]} [{text[1]}, {text[2]}]" in row
        assert csv.loc[point, ["revenue_total", "revenue_total_low", "revenue_total_high"]].tolist() \
            == pytest.approx([values.mean(), low, high])


def test_embedded_report_is_one_file_with_every_figure_inside(tmp_path):
    folder = synthetic_folder(tmp_path / "f", spec_dict({"kind": "grid"}, replicates=2))
    page = write_report(folder.path, embed=True).read_text()
    assert page.count("<img src='data:image/png;base64,") == len(ALWAYS)
    assert "src='figures/" not in page


def test_unknown_outcome_exits_2_and_writes_nothing(tmp_path, capsys):
    folder = synthetic_folder(tmp_path / "f", spec_dict({"kind": "grid"}, replicates=2))
    before = snapshot(folder.path)
    assert main(["report", str(folder.path), "--outcome", "happiness"]) == 2
    assert "--outcome: got 'happiness'" in capsys.readouterr().err
    assert snapshot(folder.path) == before


def contrast_rows(page: str) -> dict[str, list[str]]:
    table = re.search(r"<table id='contrasts'>.*?</table>", page, re.S).group(0)
    return {cells[0]: cells[1:] for cells in (re.findall(r"<td[^>]*>(.*?)</td>", row)
                                              for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:])}


@pytest.mark.parametrize("crn", [True, False])
def test_report_contrasts_each_point_with_the_spec_s_reference(tmp_path, crn):
    folder = synthetic_folder(tmp_path / "f", crn_spec(4, crn=crn, reference="light"),
                              draw=seeded_daily)
    assert main(["report", str(folder.path), "--outcome", "revenue_display_ads"]) == 0
    page = (folder.path / "report.html").read_text()
    assert "<h2>Contrasts against 'light'</h2>" in page
    assert "<img src='figures/difference.png'" in page
    rows = contrast_rows(page)
    assert list(rows) == ["no ads", "heavy"]
    records = [folder.read_record(p.stem) for p in folder.runs_dir.glob("*.parquet")]
    runs = pd.DataFrame([{"point": r["point"], "replicate": r["replicate"],
                          "value": r["outcomes"]["revenue_display_ads"]} for r in records])
    values = runs.pivot(index="replicate", columns="point", values="value")
    for point, label in ((0, "no ads"), (2, "heavy")):
        if crn:
            interval = stats.ttest_rel(values[point], values[1]).confidence_interval(0.95)
        else:
            interval = stats.ttest_ind(values[point], values[1], equal_var=False).confidence_interval(0.95)
        text = [format_value("revenue_display_ads", v) for v in
                (values[point].mean() - values[1].mean(), interval.low, interval.high)]
        assert rows[label] == ["paired (4 seeds)" if crn else "Welch", f"{text[0]} [{text[1]}, {text[2]}]"]
    csv = pd.read_csv(folder.path / "contrasts.csv").set_index("point")
    assert csv.loc["heavy", "reference"] == "light" and csv.loc["heavy", "n_paired"] == (4 if crn else 0)


def test_report_contrasts_with_the_first_point_when_the_spec_names_none(tmp_path):
    folder = synthetic_folder(tmp_path / "f", spec_dict(GRID_1, replicates=2))
    page = write_report(folder.path).read_text()
    assert "<h2>Contrasts against 'ad_load=0'</h2>" in page
    assert list(contrast_rows(page)) == ["ad_load=0.05", "ad_load=0.1"]
    assert "figures/difference.png" not in page  # drawn when a reference is named


def test_one_point_has_no_contrasts(tmp_path):
    folder = synthetic_folder(tmp_path / "f", spec_dict({"kind": "grid"}, replicates=2))
    assert "Contrasts" not in write_report(folder.path).read_text()
    assert not (folder.path / "contrasts.csv").exists()


def test_a_reference_without_finished_runs_is_said_and_the_rest_reported(tmp_path):
    folder = synthetic_folder(tmp_path / "f", crn_spec(2, reference="light"), draw=seeded_daily,
                              keep=lambda t: t.point != 1)
    with pytest.warns(UserWarning) as caught:
        page = write_report(folder.path).read_text()
    assert any("difference figure left out: experiment.reference: point 'light' has no finished "
               "run yet" in str(w.message) for w in caught)
    assert "<p class='warning'>experiment.reference: point &#x27;light&#x27; has no finished run yet" in page
    assert "figures/difference.png" not in page and "<table id='outcomes'>" in page
