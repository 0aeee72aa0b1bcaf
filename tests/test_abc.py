"""ABC-SMC calibration (experiments/abc.py, abc_config.py, abc_outputs.py): a known posterior is
recovered, a stopped calibration ends where an uninterrupted one ends, the result does not
depend on the workers, and bad configuration files exit 2 naming the field."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import tomli_w

import experiments.abc as abc
from experiments.abc import run_smc, weighted_draws
from experiments.abc_config import CONFIG, AbcSettings, load_config
from experiments.abc_outputs import differences
from experiments.checks import SpecError
from experiments.cli import main

pyabc = pytest.importorskip("pyabc")

TOLERANCE = 0.15
"""Normal-normal: prior mu ~ N(0, 1), y | mu ~ N(mu, 1), y = 1 observed, so the posterior is
N(0.5, 1/2). Its ABC estimate from 150 particles (effective size ~110) has a standard error of
~0.07 in the mean; the threshold of the last generation (~0.3) widens the sd by ~2%. The
tolerance, on the mean and on the sd, is two standard errors: the prior (0, 1) or the
likelihood alone (1, 1) fail it."""


def normal_toy(parameter) -> dict[str, float]:
    return {"y": float(parameter["mu"] + np.random.normal(0.0, 1.0))}  # noqa: NPY002 - pyabc seeds it


def two_statistics(parameter) -> dict[str, float]:
    """Two statistics on scales 10x apart, so the adaptive distance's weights matter."""
    mu = parameter["mu"]
    return {"a": float(mu + np.random.normal(0, 1)), "b": float(10 * mu + np.random.normal(0, 5))}  # noqa: NPY002


CALLS = {"left": None}


def interrupted(parameter) -> dict[str, float]:
    """two_statistics that raises KeyboardInterrupt (Ctrl-C) at a set call."""
    if CALLS["left"] is not None:
        CALLS["left"] -= 1
        if CALLS["left"] < 0:
            raise KeyboardInterrupt
    return two_statistics(parameter)


def normal_prior():
    return pyabc.Distribution(mu=pyabc.RV("norm", 0, 1))


def posterior(history) -> pd.DataFrame:
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    return frame.assign(weight=weights).sort_values("mu").reset_index(drop=True)


def test_normal_normal_posterior_is_recovered(tmp_path):
    settings = AbcSettings(population_size=150, generations=3, max_simulations=10**6, seed=3)
    run = run_smc(normal_toy, normal_prior(), {"y": 1.0}, tmp_path, settings, workers=1, log=lambda _: None)
    post = posterior(run.history)
    mean = np.average(post["mu"], weights=post["weight"])
    sd = np.sqrt(np.average((post["mu"] - mean) ** 2, weights=post["weight"]))
    assert abs(mean - 0.5) < TOLERANCE
    assert abs(sd - np.sqrt(0.5)) < TOLERANCE
    assert run.generations == 3


def test_a_stopped_calibration_ends_where_an_uninterrupted_one_ends(tmp_path):
    settings = AbcSettings(population_size=30, generations=3, max_simulations=10**6, seed=11)
    prior, observed = normal_prior(), {"a": 1.0, "b": 10.0}
    quiet = {"workers": 1, "log": lambda _: None}
    whole = run_smc(two_statistics, prior, observed, tmp_path / "whole", settings, **quiet)

    # stopped cleanly after two generations, then the same call again
    run_smc(two_statistics, prior, observed, tmp_path / "stopped", settings, stop_after=2, **quiet)
    resumed = run_smc(two_statistics, prior, observed, tmp_path / "stopped", settings, **quiet)
    assert resumed.resumed_from == 2

    # Ctrl-C in the middle of the last generation: its particles are lost, the history is not
    sims = whole.history.get_all_populations().set_index("t")["samples"]
    CALLS["left"] = int(sims[sims.index < 2].sum() + sims[2] // 2)
    with pytest.raises(KeyboardInterrupt):
        run_smc(interrupted, prior, observed, tmp_path / "killed", settings, **quiet)
    CALLS["left"] = None
    kept = pyabc.History(f"sqlite:///{tmp_path / 'killed' / 'abc.db'}")
    assert kept.max_t + 1 == 2
    again = run_smc(interrupted, prior, observed, tmp_path / "killed", settings, **quiet)

    for run in (resumed, again):
        assert run.generations == whole.generations == 3
        assert run.simulations == whole.simulations
        pd.testing.assert_frame_equal(posterior(run.history), posterior(whole.history), rtol=1e-12)


def uniform_proposal():
    """A proposal accepted when its draw is below 0.3, as pyabc's simulate_one returns it."""
    u = float(np.random.random())  # noqa: NPY002 - seeded by the sampler
    return pyabc.Particle(m=0, parameter=pyabc.Parameter(u=u), weight=1.0, sum_stat={"u": u}, distance=u,
                          accepted=u < 0.3)


def test_a_generation_does_not_depend_on_batches_or_completion_order():
    """What makes the posterior the same whatever the workers: the batch is the number of
    workers, and results come back in any order (here: computed last to first)."""
    def backwards(func, payload, seeds):
        return [func(payload, s) for s in reversed(seeds)][::-1]

    found = []
    for batch in (1, 2, 7):
        sampler = abc.make_sampler(seed=4, mapper=backwards, batch=batch, samples_dir=None)
        sample = sampler.sample_until_n_accepted(10, uniform_proposal, t=3)
        found.append(([p.parameter["u"] for p in sample.accepted_particles], sampler.nr_evaluations_))
    assert found[0] == found[1] == found[2]
    assert len(found[0][0]) == 10 and found[0][1] > 10
    other = abc.make_sampler(seed=5, mapper=backwards, batch=1, samples_dir=None)
    assert [p.parameter["u"] for p in other.sample_until_n_accepted(10, uniform_proposal, t=3)
            .accepted_particles] != found[0][0]


@pytest.mark.slow
def test_the_posterior_does_not_depend_on_the_number_of_workers(tmp_path):
    settings = AbcSettings(population_size=20, generations=2, max_simulations=10**6, seed=5)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # spawned workers need the toy
    try:
        runs = [run_smc(two_statistics, normal_prior(), {"a": 1.0, "b": 10.0}, tmp_path / str(w),
                        settings, workers=w, log=lambda _: None) for w in (1, 2)]
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    pd.testing.assert_frame_equal(posterior(runs[0].history), posterior(runs[1].history), rtol=1e-12)
    assert runs[0].simulations == runs[1].simulations


@pytest.mark.slow
def test_the_posterior_is_the_same_on_dask(tmp_path):
    settings = AbcSettings(population_size=20, generations=2, max_simulations=10**6, seed=5)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        runs = [run_smc(two_statistics, normal_prior(), {"a": 1.0, "b": 10.0}, tmp_path / backend,
                        settings, workers=2, backend=backend, log=lambda _: None)
                for backend in ("local", "dask")]
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    pd.testing.assert_frame_equal(posterior(runs[0].history), posterior(runs[1].history), rtol=1e-12)


def test_weighted_draws_follow_the_weights_and_extend_stably():
    weights = np.array([0.7, 0.0, 0.2, 0.1])
    draws = weighted_draws(weights, 2000, seed=1, key=3)
    assert 1 not in draws
    shares = np.bincount(draws, minlength=4) / len(draws)
    assert np.allclose(shares, weights, atol=0.03)
    assert np.array_equal(weighted_draws(weights, 50, seed=1, key=3), draws[:50])


def test_check_names_the_numbers_that_differ():
    committed = pd.DataFrame({"statistic": ["x", "y"], "pp_median": [1.0, 2.0], "pp_low": [0.5, 1.0],
                              "pp_high": [1.5, 3.0], "inside": ["yes", "no"], "failed_runs": [0, 0]})
    assert differences(committed, committed.copy()) == []
    changed = committed.assign(pp_high=[1.5, 3.0000001])
    assert differences(committed, changed) == ["y pp_high: committed 3.0, reproduced 3.0000001"]


# --- the configuration file and the command ------------------------------------------------
def tiny_config(tmp_path: Path, **changes) -> Path:
    """The committed configuration cut to two priors and four targets, tiny sizes and a
    small cold world."""
    data = tomllib.loads(CONFIG.read_text())
    data["priors"] = [p for p in data["priors"] if p["name"] in ("daily_active_mean", "marketing_rate")]
    data["targets"] = data["targets"][:3] + [t for t in data["targets"] if "column" in t][:1]
    data["settings"] = {"population_size": 3, "generations": 1, "max_simulations": 20, "users": 3000,
                        "days": 20, "seed": 1, "pp_draws": 2, "scale_users": [3000, 2000],
                        "scale_replicates": 2}
    data["parameters"] = {"n_smbs": 40, "n_enterprises": 10, "n_advertisers": 12, "burn_in_days": 0}
    for key, value in changes.items():
        data[key] = value
    path = tmp_path / f"abc{len(list(tmp_path.glob('abc*.toml')))}.toml"  # a new file each call
    path.write_text(tomli_w.dumps(data))
    return path


def test_the_committed_configuration_meets_the_issue():
    config = load_config()
    assert len(config.priors) >= 8 and len(config.targets) >= 12
    assert all(p.source for p in config.priors)
    assert not any("2021" in t.source for t in config.targets)  # the 2021 outcomes are held out
    odd = (Path(__file__).resolve().parents[1] / "docs" / "ODD.md").read_text()
    assert all(f"`{p.name}`" in odd.split("### 8.1")[1].split("\n## ")[0] for p in config.priors)


def test_the_committed_posterior_is_of_the_committed_configuration():
    """results/calibration/abc/ holds a finished history of abc.toml as it stands (so the same
    command continues it and `--check` reruns it), its particles inside the priors, and a
    predictive and a scale row for every target."""
    out = Path(__file__).resolve().parents[1] / abc.DEFAULT_OUT
    config = load_config()
    assert abc.check_history(config, out)  # refuses a history of another configuration
    particles = pd.read_parquet(out / "posterior.parquet")
    assert sorted(particles.columns.drop(["weight", "generation"])) == sorted(p.name for p in config.priors)
    assert len(particles) == config.settings.population_size
    assert particles["weight"].sum() == pytest.approx(1.0) and (particles["weight"] >= 0).all()
    for prior in config.priors:
        assert particles[prior.name].between(prior.low, prior.high).all(), prior.name
    targets = [t.name for t in config.targets]
    assert list(pd.read_csv(out / "pp.csv")["target"]) == targets
    scale = pd.read_csv(out / "scale.csv")
    assert list(scale["target"]) == targets
    assert [c for c in scale if c.startswith("users_")] == [f"users_{n}" for n in config.settings.scale_users]
    result = tomllib.loads((out / "result.toml").read_text())["result"]
    assert result["generations"] == config.settings.generations
    assert result["simulations"] <= config.settings.max_simulations


@pytest.mark.parametrize(("where", "change", "field"), [
    ("priors", {"name": "no_such_parameter"}, "priors[0].name"),
    ("priors", {"low": 0.7, "high": 0.7}, "priors[0].high"),
    ("targets", {"column": "no_such_column", "reduce": "mean", "measure": None}, "targets[0].column"),
])
def test_bad_input_exits_2_naming_the_field(tmp_path, capsys, where, change, field):
    data = tomllib.loads(tiny_config(tmp_path).read_text())
    entry = {k: v for k, v in {**data[where][0], **change}.items() if v is not None}
    path = tiny_config(tmp_path, **{where: [entry, *data[where][1:]]})
    out = tmp_path / "out"
    assert main(["calibrate", "--method", "abc", "--config", str(path), "--out", str(out)]) == 2
    assert field in capsys.readouterr().err
    assert not out.exists()


def test_calibrate_abc_writes_every_output_and_check_reproduces_it(tmp_path, capsys, monkeypatch):
    path, out = tiny_config(tmp_path), tmp_path / "out"
    # the commit reads dirty once the run file exists (as results/calibration/abc's tracked one does)
    monkeypatch.setattr("experiments.provenance.git_commit",
                        lambda: "c0ffee-dirty" if (out / "run.toml").exists() else "c0ffee")
    args = ["calibrate", "--method", "abc", "--config", str(path), "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    for name in ("abc.db", "run.toml", "posterior.parquet", "credible_intervals.csv", "generations.csv",
                 "generations.png", "marginals.png", "pp.csv", "pp.png", "pp_draws.parquet", "scale.csv",
                 "result.toml"):
        assert (out / name).is_file(), name
    for name, table in (("run.toml", "started"), ("result.toml", "provenance")):  # read before writing
        assert tomllib.loads((out / name).read_text())[table]["git_commit"] == "c0ffee", name
    table = pd.read_csv(out / "pp.csv")
    assert len(table) == len(load_config(path).targets)
    assert set(table["inside"]) <= {"yes", "no"}
    scale = pd.read_csv(out / "scale.csv")  # the sizes' means, compared with the fitted size's
    difference = (scale["users_2000"] - scale["users_3000"]).abs()
    assert np.allclose(scale["largest_difference"], difference)
    assert list(scale["agrees"]) == np.where(difference <= scale["tolerance"], "yes", "no").tolist()
    assert (scale["largest_standard_error"] >= 0).any()
    assert main([*args, "--check"]) == 0
    assert "reproduced" in capsys.readouterr().out
    # the same command again continues (nothing left to do) and never replaces the history
    assert main(args) == 0

    other = tiny_config(tmp_path, settings={**tomllib.loads(path.read_text())["settings"], "seed": 2})
    with pytest.raises(SpecError, match="--out"):
        abc.run_abc(load_config(other), out, workers=1, log=lambda _: None)
    assert main(["calibrate", "--method", "abc", "--config", str(other), "--out", str(out), "--check"]) == 2
    # a committed table that the particles do not give is reported, exit 1
    pd.read_csv(out / "pp.csv").assign(pp_median=lambda t: t["pp_median"] * 1.01).to_csv(out / "pp.csv",
                                                                                          index=False)
    assert main([*args, "--check"]) == 1
    assert "not reproduced" in capsys.readouterr().out
