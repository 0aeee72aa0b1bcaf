"""Planning an experiment's runs (``experiments.runs``): one run per design point and replicate,
hierarchical seeds and stable run ids, a repeated point run once."""

from conftest import write_spec

from experiments.runs import plan_runs
from experiments.spec import load_spec, parse_spec


def test_seeds_and_run_ids_are_stable_when_replicates_are_added(tmp_path):
    spec = load_spec(str(write_spec(tmp_path)))
    more = parse_spec(spec.to_toml_dict() | {"experiment": spec.to_toml_dict()["experiment"]
                                              | {"replicates": 3}})
    few, many = plan_runs(spec, tmp_path), plan_runs(more, tmp_path)
    assert len(few) == 4 and len(many) == 6
    assert {t.run_id for t in few} < {t.run_id for t in many}
    assert len({t.seed_spawn_key for t in few}) == 4


def test_points_a_design_repeats_are_run_once(tmp_path):
    spec = parse_spec({"experiment": {"name": "m", "replicates": 2, "seed": 3},
                       "design": {"kind": "morris", "samples": 8,
                                  "factors": {"ad_load": {"low": 0.0, "high": 0.2},
                                              "n_smbs": {"low": 10, "high": 20}}}})
    tasks = plan_runs(spec, tmp_path)
    ids = [t.run_id for t in tasks]
    assert len(ids) == len(set(ids))
    distinct_points = {tuple(sorted(t.point_values.items())) for t in tasks}
    assert len(tasks) == 2 * len(distinct_points)
