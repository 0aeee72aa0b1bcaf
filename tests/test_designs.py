"""Sampling designs: sizes, ranges and types, reproducibility, and the specs they refuse."""

import re
import tomllib

import pytest
import tomli_w

from experiments.designs import design_points, salib_problem, sample_matrix
from experiments.runs import plan_runs
from experiments.spec import SpecError, parse_spec
from model.params import DATA_SHARING_MODES

RANGES = {"ad_load": {"low": 0.0, "high": 0.2}, "n_smbs": {"low": 100, "high": 500},
          "peer_churn_multiplier": {"low": 1.2, "high": 1.8}}
CATEGORIES = {"data_sharing": list(DATA_SHARING_MODES), "shopping_section": [False, True]}


def spec_of(seed: int = 7, **design):
    return parse_spec({"experiment": {"name": "d", "seed": seed}, "design": design})


def sampled(kind: str, samples: int = 16, factors: dict = RANGES, seed: int = 7, **design):
    return spec_of(seed, kind=kind, samples=samples, factors=factors, **design)


def check_ranges_and_types(points: list[dict], factors: dict) -> None:
    for point in points:
        assert set(point) == set(factors)
        for name, factor in factors.items():
            value = point[name]
            if isinstance(factor, list):
                assert value in factor
            else:
                assert type(value) is type(factor["low"])
                assert factor["low"] <= value <= factor["high"]


@pytest.mark.parametrize(("kind", "options", "size"), [
    ("lhs", {}, 16),
    ("sobol", {}, 16),
    ("saltelli", {"calc_second_order": False}, 16 * (3 + 2)),
    ("saltelli", {}, 16 * (2 * 3 + 2)),
    ("morris", {"num_levels": 6}, 16 * (3 + 1)),
])
def test_sampled_designs_have_their_size_and_stay_in_range(kind, options, size):
    spec = sampled(kind, options=options)
    points = design_points(spec)
    assert len(points) == size == len(sample_matrix(spec))
    check_ranges_and_types(points, RANGES)
    assert all(isinstance(p["n_smbs"], int) for p in points)
    assert len({p["ad_load"] for p in points}) > 1


def test_saltelli_and_morris_fill_in_salib_defaults():
    assert sampled("saltelli").options == {"calc_second_order": True}
    assert sampled("morris").options == {"num_levels": 4}


@pytest.mark.parametrize("kind", ["lhs", "sobol"])
def test_categorical_factors_take_every_allowed_value_and_only_those(kind):
    factors = RANGES | CATEGORIES
    points = design_points(sampled(kind, samples=64, factors=factors))
    check_ranges_and_types(points, factors)
    for name, levels in CATEGORIES.items():
        assert {p[name] for p in points} == set(levels)


@pytest.mark.parametrize("kind", ["lhs", "sobol", "saltelli", "morris"])
def test_same_spec_gives_the_same_points_and_another_seed_other_points(kind):
    assert design_points(sampled(kind)) == design_points(sampled(kind))
    assert design_points(sampled(kind)) != design_points(sampled(kind, seed=8))


def test_factor_order_in_the_file_does_not_change_the_points():
    factors = RANGES | CATEGORIES
    reordered = dict(reversed(factors.items()))
    assert design_points(sampled("lhs", factors=factors)) == design_points(sampled("lhs", factors=reordered))


def test_salib_problem_lists_factors_in_name_order_with_their_bounds():
    problem = salib_problem(sampled("lhs", factors=RANGES | {"data_sharing": ["off", "mandatory"]}))
    assert problem == {"num_vars": 4, "names": ["ad_load", "data_sharing", "n_smbs", "peer_churn_multiplier"],
                       "bounds": [[0.0, 0.2], [0.0, 2.0], [100.0, 500.0], [1.2, 1.8]]}


def test_rows_design_passes_its_points_through():
    points = [{"ad_load": 0.0, "data_sharing": "off"}, {"ad_load": 0.1, "data_sharing": "mandatory"},
              {"n_smbs": 200.0}]
    spec = spec_of(kind="rows", points=points)
    assert design_points(spec) == [*points[:2], {"n_smbs": 200}]
    assert isinstance(design_points(spec)[2]["n_smbs"], int)


def test_grid_keeps_its_full_factorial():
    spec = spec_of(kind="grid", factors={"ad_load": [0.0, 0.1], "data_sharing": ["off", "opt_out"]})
    assert design_points(spec) == [
        {"ad_load": 0.0, "data_sharing": "off"}, {"ad_load": 0.0, "data_sharing": "opt_out"},
        {"ad_load": 0.1, "data_sharing": "off"}, {"ad_load": 0.1, "data_sharing": "opt_out"}]


@pytest.mark.parametrize("spec", [
    sampled("lhs", factors=RANGES | CATEGORIES),
    sampled("saltelli", options={"calc_second_order": False}),
    spec_of(kind="rows", points=[{"ad_load": 0.1}, {"shopping_section": True}]),
], ids=["lhs", "saltelli", "rows"])
def test_spec_round_trips_through_toml_with_its_design_in_the_identity(spec):
    again = parse_spec(tomllib.loads(tomli_w.dumps(spec.to_toml_dict())))
    assert again == spec and design_points(again) == design_points(spec)
    assert spec.identity()["design"] == spec.to_toml_dict()["design"]


LABELLED_INLINE = """
[experiment]
name = "labelled"
[design]
kind = "rows"
points = [
    {label = "no ads", ad_load = 0.0},
    {ad_load = 0.1, data_sharing = "opt_out", label = "ads, sharing"},
    {ad_load = 0.2},
]
"""
LABELLED_TABLES = """
[experiment]
name = "labelled"
[design]
kind = "rows"
[[design.points]]
label = "no ads"
ad_load = 0.0
[[design.points]]
ad_load = 0.1
data_sharing = "opt_out"
label = "ads, sharing"
[[design.points]]
ad_load = 0.2
"""
UNLABELLED = [{"ad_load": 0.0}, {"ad_load": 0.1, "data_sharing": "opt_out"}, {"ad_load": 0.2}]


@pytest.mark.parametrize("text", [LABELLED_INLINE, LABELLED_TABLES], ids=["inline", "tables"])
def test_rows_labels_parse_in_both_forms_and_stay_out_of_the_points(text):
    spec = parse_spec(tomllib.loads(text))
    assert spec.labels == ["no ads", "ads, sharing", None]
    assert design_points(spec) == spec.points == UNLABELLED
    assert spec.point_label({"ad_load": 0.1, "data_sharing": "opt_out"}) == "ads, sharing"
    assert spec.point_label({"ad_load": 0.2}) is None
    again = parse_spec(tomllib.loads(tomli_w.dumps(spec.to_toml_dict())))
    assert again == spec


def test_labels_change_neither_the_identity_nor_the_run_ids_and_seeds(tmp_path):
    """Labels only name points: adding, changing or dropping one leaves every run as it was,
    so a result folder run before its spec had labels stays complete."""
    specs = [spec_of(kind="rows", points=UNLABELLED),
             spec_of(kind="rows", points=[p | {"label": f"point {i}"} for i, p in enumerate(UNLABELLED)]),
             spec_of(kind="rows", points=[UNLABELLED[0], UNLABELLED[1] | {"label": "other"}, UNLABELLED[2]])]
    assert specs[0].identity() == specs[1].identity() == specs[2].identity()
    plans = [[(t.run_id, t.seed_spawn_key, t.point_values, t.parameters) for t in plan_runs(spec, tmp_path)]
             for spec in specs]
    assert plans[0] == plans[1] == plans[2]
    assert not any("label" in values or "label" in parameters for _, _, values, parameters in plans[0])


BAD_DESIGNS = {
    "low above high": ({"kind": "lhs", "samples": 8, "factors": {"ad_load": {"low": 0.3, "high": 0.2}}},
                       "design.factors.ad_load.low", "allowed: low < high"),
    "outside the schema": ({"kind": "lhs", "samples": 8, "factors": {"ad_load": {"low": 0.0, "high": 0.9}}},
                           "design.factors.ad_load.high", "got 0.9; allowed: a float in"),
    "range key typo": ({"kind": "lhs", "samples": 8, "factors": {"ad_load": {"low": 0.0, "hi": 0.1}}},
                       "design.factors.ad_load.hi", "unknown key"),
    "unknown kind": ({"kind": "latin"}, "design.kind", "allowed: one of grid, rows, lhs, sobol"),
    "empty factor list": ({"kind": "sobol", "samples": 8, "factors": {"data_sharing": []}},
                          "design.factors.data_sharing", "non-empty list"),
    "no factors": ({"kind": "lhs", "samples": 8, "factors": {}}, "design.factors", "at least one factor"),
    "missing samples": ({"kind": "lhs", "factors": RANGES}, "design.samples", "missing"),
    "zero samples": ({"kind": "lhs", "samples": 0, "factors": RANGES}, "design.samples", "integer >= 1"),
    "text samples": ({"kind": "lhs", "samples": "64", "factors": RANGES}, "design.samples", "integer"),
    "sobol size": ({"kind": "sobol", "samples": 100, "factors": RANGES}, "design.samples", "64 or 128"),
    "samples in grid": ({"kind": "grid", "samples": 8}, "design.samples", "unknown key for a grid"),
    "categorical in saltelli": ({"kind": "saltelli", "samples": 8, "factors": CATEGORIES},
                                "design.factors.data_sharing", "categorical parameter"),
    "list for a number": ({"kind": "lhs", "samples": 8, "factors": {"ad_load": [0.0, 0.1]}},
                          "design.factors.ad_load", "a range"),
    "unknown option": ({"kind": "morris", "samples": 4, "factors": RANGES, "options": {"levels": 4}},
                       "design.options.levels", "allowed: num_levels"),
    "odd levels": ({"kind": "morris", "samples": 4, "factors": RANGES, "options": {"num_levels": 5}},
                   "design.options.num_levels", "even"),
    "unknown key in a point": ({"kind": "rows", "points": [{"ad_load": 0.1}, {"ad_lod": 0.1}]},
                               "design.points[1].ad_lod", "unknown parameter"),
    "bad value in a point": ({"kind": "rows", "points": [{"data_sharing": "maybe"}]},
                             "design.points[0].data_sharing", "got 'maybe'"),
    "repeated point": ({"kind": "rows", "points": [{"ad_load": 0.1}, {"ad_load": 0.1}]},
                       "design.points[1]", "same as design.points[0]"),
    "no points": ({"kind": "rows", "points": []}, "design.points", "non-empty list"),
    "empty label": ({"kind": "rows", "points": [{"ad_load": 0.0, "label": ""}]},
                    "design.points[0].label", "got ''; allowed: a non-empty text of at most 60"),
    "blank label": ({"kind": "rows", "points": [{"ad_load": 0.0, "label": "  "}]},
                    "design.points[0].label", "non-empty text"),
    "long label": ({"kind": "rows", "points": [{"ad_load": 0.0, "label": "x" * 61}]},
                   "design.points[0].label", "at most 60 characters"),
    "label not text": ({"kind": "rows", "points": [{"ad_load": 0.0, "label": 1}]},
                       "design.points[0].label", "got 1; allowed"),
    "repeated label": ({"kind": "rows", "points": [{"ad_load": 0.0, "label": "a"}, {"ad_load": 0.1},
                                                   {"ad_load": 0.2, "label": "a"}]},
                       "design.points[2].label", "the label of design.points[0]; allowed: a non-empty"),
    "label alone repeats a point": ({"kind": "rows", "points": [{"ad_load": 0.1, "label": "a"},
                                                                {"ad_load": 0.1, "label": "b"}]},
                                    "design.points[1]", "same as design.points[0]"),
}


@pytest.mark.parametrize("case", BAD_DESIGNS)
def test_bad_design_raises_a_spec_error_naming_the_field(case):
    design, field, message = BAD_DESIGNS[case]
    with pytest.raises(SpecError, match=re.escape(message)) as err:
        parse_spec({"experiment": {"name": "d"}, "design": design})
    assert err.value.field == field


# --- posterior designs -------------------------------------------------------------------------
def posterior_file(tmp_path, weights=(0.4, 0.3, 0.2, 0.05, 0.05, 0.0), **columns):
    """A posterior.parquet as `wasim calibrate --method abc` writes it."""
    import pandas as pd

    n = len(weights)
    frame = pd.DataFrame({"peer_churn_multiplier": [1.2 + 0.1 * i for i in range(n)],
                          "ad_blindness_rate": [0.005 + 0.001 * i for i in range(n)],
                          **columns, "weight": list(weights), "generation": [5] * n})
    path = tmp_path / "posterior.parquet"
    frame.to_parquet(path, index=False)
    return str(path)


def posterior_spec(path: str, samples: int, seed: int = 7, replicates: int = 2):
    return parse_spec({"experiment": {"name": "p", "seed": seed, "replicates": replicates},
                       "design": {"kind": "posterior", "samples": samples, "posterior": path}})


def test_posterior_design_is_reproducible_and_extends_stably(tmp_path):
    path = posterior_file(tmp_path)
    three, five = posterior_spec(path, 3), posterior_spec(path, 5)
    assert design_points(three) == design_points(posterior_spec(path, 3))
    assert design_points(five)[:3] == design_points(three)
    assert len({tuple(p.values()) for p in design_points(five)}) == 5  # each particle once
    assert all(p["peer_churn_multiplier"] != 1.7 for p in design_points(five))  # weight 0: never
    runs = {t.run_id: t for t in plan_runs(three, tmp_path)}
    more = {t.run_id: t for t in plan_runs(five, tmp_path)}
    assert set(runs) < set(more)  # adding samples keeps every run (id, values, seed) already done
    assert all(more[i].seed_spawn_key == t.seed_spawn_key and more[i].parameters == t.parameters
               for i, t in runs.items())
    assert three.identity() == five.identity()  # so a result folder may grow
    assert design_points(posterior_spec(path, 3, seed=8)) != design_points(three)


def test_posterior_design_draws_by_weight(tmp_path):
    path = posterior_file(tmp_path, weights=(0.9, 0.025, 0.025, 0.025, 0.025, 0.0))
    first = [design_points(posterior_spec(path, 1, seed=s))[0]["peer_churn_multiplier"] for s in range(60)]
    assert first.count(1.2) >= 45  # weight 0.9: first in ~90% of seeds


def test_posterior_design_round_trips_through_its_written_spec(tmp_path):
    path = posterior_file(tmp_path)
    spec = posterior_spec(path, 4)
    again = parse_spec(tomllib.loads(tomli_w.dumps(spec.to_toml_dict())))
    assert design_points(again) == design_points(spec)
    posterior_file(tmp_path, weights=(0.1, 0.1, 0.2, 0.3, 0.3, 0.0))  # the file changes
    with pytest.raises(SpecError, match="posterior_sha256"):
        parse_spec(tomllib.loads(tomli_w.dumps(spec.to_toml_dict())))


@pytest.mark.parametrize(("change", "field"), [
    ({"posterior": "no/such/posterior.parquet"}, "design.posterior"),
    ({"samples": 6}, "design.samples"),  # 5 particles of positive weight
    ({"samples": None}, "design.samples"),
    ({"factors": {"ad_load": [0.1]}}, "design.factors"),
])
def test_posterior_design_refuses_bad_tables(tmp_path, change, field):
    design = {"kind": "posterior", "samples": 2, "posterior": posterior_file(tmp_path), **change}
    design = {k: v for k, v in design.items() if v is not None}
    with pytest.raises(SpecError) as err:
        parse_spec({"experiment": {"name": "p"}, "design": design})
    assert err.value.field == field


def test_posterior_design_refuses_a_column_that_is_no_parameter(tmp_path):
    path = posterior_file(tmp_path, no_such_parameter=[0.0] * 6)
    with pytest.raises(SpecError, match="no_such_parameter"):
        posterior_spec(path, 2)
    with pytest.raises(SpecError, match="parameters.ad_blindness_rate"):
        parse_spec({"experiment": {"name": "p"}, "parameters": {"ad_blindness_rate": 0.01},
                    "design": {"kind": "posterior", "samples": 2, "posterior": posterior_file(tmp_path)}})


def test_posterior_experiment_pools_its_bands_and_says_so(tmp_path):
    from experiments.report import write_report
    from experiments.runner import run_experiment

    spec = parse_spec({"experiment": {"name": "p", "days": 5, "replicates": 1},
                       "parameters": {"n_users": 300, "n_smbs": 10, "n_enterprises": 3, "n_advertisers": 3,
                                      "burn_in_days": 0},
                       "design": {"kind": "posterior", "samples": 2, "posterior": posterior_file(tmp_path)}})
    result = run_experiment(spec, tmp_path / "out", workers=1, log=lambda _: None)
    assert result.exit_code == 0 and len(result.done) == 2
    page = write_report(tmp_path / "out").read_text()
    assert (tmp_path / "out" / "figures" / "pooled_over_time.png").is_file()
    assert not (tmp_path / "out" / "figures" / "users.png").exists()  # no per-point bands
    assert "parameter uncertainty and replicate noise together" in page
