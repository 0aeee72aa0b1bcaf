"""Experiment specs (``experiments.spec``, ``experiments.checks``): a bad spec exits 2, names
the field and the allowed values, and writes nothing."""

import re

import pytest

from experiments.cli import main
from experiments.spec import SpecError, parse_spec

BAD_SPECS = {
    "unknown parameter": ("[parameters]\nad_lod = 0.1", "parameters.ad_lod"),
    "out of range": ("[parameters]\nad_load = 2.0", r"parameters.ad_load: got 2.0; allowed: a float"),
    "wrong type": ('[parameters]\nn_users = "many"', "parameters.n_users"),
    "unknown key": ("[experiment]\nname = 'x'\nreplicate = 3", "experiment.replicate: unknown key"),
    "negative replicates": ("[experiment]\nname = 'x'\nreplicates = -1", "experiment.replicates"),
    "empty factor": ("[design.factors]\nad_load = []", "design.factors.ad_load: .*non-empty list"),
    "unknown design": ('[design]\nkind = "magic"', "design.kind: got 'magic'; allowed: one of grid"),
    "bad factor value": ('[design.factors]\ndata_sharing = ["off", "maybe"]',
                         "design.factors.data_sharing: got 'maybe'"),
    "empty label": ('[design]\nkind = "rows"\npoints = [{ad_load = 0.0, label = ""}]',
                    r"design.points\[0\].label: got ''; allowed: a non-empty text of at most 60 char"),
    "long label": ('[design]\nkind = "rows"\n[[design.points]]\nad_load = 0.0\nlabel = "' + "x" * 61 + '"',
                   r"design.points\[0\].label: got 'x{61}'; allowed: .*at most 60 characters"),
    "repeated label": ('[design]\nkind = "rows"\npoints = [{ad_load = 0.0, label = "a"}, '
                       '{ad_load = 0.1, label = "a"}]',
                       r"design.points\[1\].label: got 'a', the label of design.points\[0\]; allowed: "
                       "a non-empty text of at most 60 characters, unique within the design"),
    "label not text": ('[design]\nkind = "rows"\npoints = [{ad_load = 0.0, label = 0.5}]',
                       r"design.points\[0\].label: got 0.5; allowed: a non-empty text"),
    "name of the parent folder": ('[experiment]\nname = ".."',
                                  r"experiment.name: got '..'; allowed: .*other than '.' and '..'"),
    "seed past 64 bits": ("[experiment]\nname = 'x'\nseed = 18446744073709551616",
                          r"experiment.seed: got 18446744073709551616; allowed: an integer in "
                          r"\[0, 9223372036854775807\]"),
    "experiment not a table": ("experiment = 5", "experiment: got 5; allowed: a table"),
    "days past the longest run": ("[experiment]\nname = 'x'\ndays = 1000000000000",
                                  r"experiment.days: got 1000000000000; allowed: "
                                  r"an integer in \[1, 100000\]"),
    "parameters not a table": ("parameters = 5", "parameters: got 5; allowed: a table"),
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_bad_spec_exits_2_names_the_field_and_writes_nothing(tmp_path, capsys, case):
    text, message = BAD_SPECS[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert not out.exists()


def test_a_spec_that_is_not_utf8_exits_2_naming_the_file(tmp_path, capsys):
    path, out = tmp_path / "latin1.toml", tmp_path / "out"
    path.write_bytes('[experiment]\nname = "café"\n'.encode("latin-1"))
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert f"{path}: not UTF-8 text (invalid continuation byte at byte" in capsys.readouterr().err
    assert not out.exists()


def test_spec_error_is_a_value_error_naming_the_field():
    with pytest.raises(SpecError) as err:
        parse_spec({"experiment": {"name": "x", "days": 0}})
    assert err.value.field == "experiment.days"
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("replicates, message", [
    ('{target = "revenue_totl", ci_halfwidth = 0.02, max = 50}',
     "experiment.replicates.target: got 'revenue_totl'; allowed: a summary outcome, one of"),
    ('{target = "revenue_total", ci_halfwidth = 0, max = 50}',
     "experiment.replicates.ci_halfwidth: got 0; allowed: a finite number > 0"),
    ('{target = "revenue_total", ci_halfwidth = 0.02, max = 2}',
     "experiment.replicates.max: got 2; allowed: an integer in [3, 10000]"),
    ('{target = "revenue_total", ci_halfwidth = 0.02}', "experiment.replicates.max: missing"),
    ('{target = "revenue_total", ci = 0.02, max = 50}',
     "experiment.replicates.ci: unknown key for adaptive replication"),
    ('"many"', "experiment.replicates: got 'many'; allowed: an integer in [1, 10000], or a table"),
    ("100000000", "experiment.replicates: got 100000000; allowed: an integer in [1, 10000]"),
    ('{target = "revenue_total", ci_halfwidth = inf, max = 50}',
     "experiment.replicates.ci_halfwidth: got inf; allowed: a finite number > 0"),
    ('{target = "revenue_total", ci_halfwidth = 0.02, max = 20000}',
     "experiment.replicates.max: got 20000; allowed: an integer in [3, 10000]"),
])
def test_bad_adaptive_replicates_exit_2_naming_the_field(tmp_path, capsys, replicates, message):
    path, out = tmp_path / "bad.toml", tmp_path / "out"
    path.write_text(f"[experiment]\nname = 'x'\nreplicates = {replicates}\n")
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
