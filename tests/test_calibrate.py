"""`wasim calibrate`: the distance, the table, the search's budget, the files, bad input, and
that --check at the defaults reproduces a fit's table (tiny runs: 2,000 users, a few days)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
import tomli_w

from experiments.calibrate import CONFIG, distance, fit_table, load_calibration
from experiments.cli import main
from experiments.provenance import source_path
from model.params import PARAMS

FAST = ["--users", "2000", "--days", "5", "--replicates", "1", "--workers", "1"]
COLUMNS = ["target", "source", "value", "model", "error", "role", "ok"]


def write_config(tmp_path, edit=lambda data: None):
    """The shipped calibration file, with the 2016 switch on day 3 (runs here last 5 days) and
    ``edit`` applied."""
    data = tomllib.loads(CONFIG.read_text())
    data["change_2016"]["changed"]["data_sharing_change_day"] = 3
    edit(data)
    path = tmp_path / "calibration.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def test_distance_is_zero_on_every_target_and_grows_with_the_error():
    targets = load_calibration().fitted_targets
    on_target = {t.measure: t.value for t in targets}
    assert distance(on_target, targets) == 0
    first = targets[0]
    off_by = [distance(on_target | {first.measure: first.value + k * first.scale}, targets)
              for k in (0.5, 1, 2, -2)]
    assert off_by == pytest.approx([0.25, 1, 4, 4])


def test_table_has_one_row_per_target_and_says_pass_or_miss():
    targets = load_calibration().targets
    inside = {"near": 0, "above": 1, "below": -1}  # the direction that passes each test
    hit = fit_table({t.measure: t.value + 0.001 * inside[t.test] for t in targets}, targets)
    assert list(hit.columns) == COLUMNS
    assert list(hit["target"]) == [t.name for t in targets]
    assert (hit["ok"] == "pass").all()
    misses = {t.measure: t.value - (2 * t.scale + 1) * (inside[t.test] or -1) for t in targets}
    missed = fit_table(misses, targets)
    assert (missed["ok"] == "miss").all()
    assert list(missed["error"]) == pytest.approx([misses[t.measure] - t.value for t in targets])


def test_calibrate_writes_the_table_the_trace_and_the_values_within_its_budget(tmp_path, capsys, monkeypatch):
    out, config = tmp_path / "out", write_config(tmp_path)
    # the commit reads dirty once outputs exist (as results/calibration's tracked files do)
    monkeypatch.setattr("experiments.provenance.git_commit",
                        lambda: "c0ffee-dirty" if (out / "fit.csv").exists() else "c0ffee")
    assert main(["calibrate", *FAST, "--max-evals", "5", "--out", str(out), "--config", str(config)]) == 0
    trace = pd.read_csv(out / "trace.csv")
    table = pd.read_csv(out / "fit.csv")
    calibrated = tomllib.loads((out / "calibrated.toml").read_text())
    assert 1 <= len(trace) <= 5
    names = [p.name for p in load_calibration().parameters]
    starts = [p.start for p in load_calibration().parameters]
    assert trace.loc[0, names].tolist() == pytest.approx(starts)  # the search starts where the file says
    best = trace.loc[trace["distance"].idxmin()]
    assert calibrated["parameters"] == {n: float(f"{best[n]:.3g}") for n in names}
    assert calibrated["settings"]["users"] == 2000 and calibrated["fit"]["evaluations"] == len(trace)
    assert calibrated["provenance"]["git_commit"] == "c0ffee"  # read before anything was written
    assert calibrated["settings"]["config"] == str(config.resolve())  # outside the checkout: absolute
    assert list(table.columns) == COLUMNS and len(table) == len(load_calibration().targets)
    assert "defaults to set in model/params.py" in capsys.readouterr().out


def test_provenance_shows_a_file_of_the_checkout_relative_to_it_and_another_absolute(tmp_path):
    """Shipped configurations are recorded the same on every clone; others where they are."""
    assert source_path(CONFIG) == "experiments/calibration/calibration.toml"
    assert source_path(tmp_path / "mine.toml") == str((tmp_path / "mine.toml").resolve())


def test_check_at_the_defaults_reproduces_a_fit_started_there(tmp_path, capsys):
    """A search of one evaluation ends where it started; started at the schema's defaults,
    its table is the one --check prints: the same runs, seeds and measures."""
    def start_at_defaults(data):
        for p in data["parameters"]:
            p["start"] = PARAMS[p["name"]].default
    config = str(write_config(tmp_path, start_at_defaults))
    assert main(["calibrate", *FAST, "--max-evals", "1", "--out", str(tmp_path / "out"),
                 "--config", config]) == 0
    fitted = capsys.readouterr().out
    assert main(["calibrate", *FAST, "--check", "--config", config]) == 0
    checked = capsys.readouterr().out

    def table(printed):
        lines = printed.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("target "))
        return lines[header:lines.index("", header)]
    assert table(checked) == table(fitted)
    assert len(table(checked)) == 1 + len(load_calibration().targets)


@pytest.mark.parametrize(("edit", "args", "field", "allowed"), [
    (lambda d: d["parameters"][0].update(name="daily_active_mea"), [],
     "calibration.toml: parameters[0].name", "daily_active_mean"),
    (lambda d: d["parameters"][0].update(high=1.5), [], "calibration.toml: parameters[0].high",
     "a float in [0, 1]"),
    (lambda d: d["parameters"][1].update(start=0.5), [], "calibration.toml: parameters[1].start",
     "[0.02, 0.25]"),
    (lambda d: d["targets"][0].update(measure="dau"), [], "calibration.toml: targets[0].measure",
     "dau_over_mau"),
    (lambda d: d["targets"][0].update(scale=0), [], "calibration.toml: targets[0].scale", "> 0"),
    (lambda d: None, ["--users", "10"], "--users", "[100, 5e+07]"),
    (lambda d: None, ["--days", "2"], "--days", "days >= 3"),
])
def test_bad_input_exits_2_naming_the_field_and_writes_nothing(tmp_path, capsys, edit, args, field, allowed):
    out = tmp_path / "out"
    code = main(["calibrate", *FAST, *args, "--out", str(out), "--config", str(write_config(tmp_path, edit))])
    err = capsys.readouterr().err
    assert code == 2
    assert f"wasim: error: {field}: " in err and allowed in err
    assert not out.exists()


def test_the_schema_defaults_are_the_committed_fit():
    """Each fitted parameter's default is the value in results/calibration/calibrated.toml,
    and its source says it was calibrated (what `wasim calibrate --check` then reproduces)."""
    fit = tomllib.loads((Path(__file__).parents[1] / "results/calibration/calibrated.toml").read_text())
    assert set(fit["parameters"]) == {p.name for p in load_calibration().parameters}
    for name, value in fit["parameters"].items():
        assert PARAMS[name].default == value, name
        assert PARAMS[name].source.startswith("calibrated: wasim calibrate"), name
