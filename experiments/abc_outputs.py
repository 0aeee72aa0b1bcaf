"""What ``wasim calibrate --method abc`` leaves beside its history, and ``--check``.

- ``posterior.parquet``: the final generation's particles, one column per parameter, ``weight``;
- ``credible_intervals.csv``: each parameter's prior range, weighted mean, median and 95% interval;
- ``generations.csv`` / ``generations.png``: epsilon, acceptance rate and effective sample size
  per generation;
- ``marginals.png``: 1-D marginals on the diagonal, 2-D below (particles' weights);
- ``pp_draws.parquet``, ``pp.csv``, ``pp.png``: the posterior predictive check, ``pp_draws``
  parameter sets drawn by weight from the particles and run afresh, each on its own seed;
- ``scale.csv``: every target at the posterior mean at each of ``scale_users`` users;
- ``result.toml``: generations, simulations, wall time, provenance.

The posterior predictive check runs new simulations rather than reusing the accepted
particles' statistics: those were selected for being close to the targets, so they would
flatter the fit. ``--check`` repeats those runs from ``posterior.parquet`` and compares.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
from scipy.stats import sem

from experiments.abc import PP_KEY, SCALE_KEY, check_history, final_particles, run_statistics, weighted_draws
from experiments.abc_config import AbcConfig
from experiments.checks import SpecError
from experiments.provenance import source_path

POSTERIOR = "posterior.parquet"
PP_TABLE = "pp.csv"
PP_LEVEL = 0.90
CI_LEVEL = 0.95
CHECK_RTOL = 1e-9
"""--check: a reproduced number may differ from the committed one by float rounding only."""


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of a weighted sample (pyabc's definition: interpolated on the
    weights' cumulative sum at the midpoints)."""
    from pyabc.weighted_statistics import weighted_quantile as wq

    return float(wq(np.asarray(values, float), np.asarray(weights, float), alpha=q))


def credible_intervals(config: AbcConfig, posterior: pd.DataFrame) -> pd.DataFrame:
    w = posterior["weight"].to_numpy(float)
    low, high = (1 - CI_LEVEL) / 2, 1 - (1 - CI_LEVEL) / 2
    return pd.DataFrame([
        {"parameter": p.name, "prior_low": p.low, "prior_high": p.high,
         "mean": float(np.average(posterior[p.name], weights=w)),
         "median": weighted_quantile(posterior[p.name], w, 0.5),
         "ci95_low": weighted_quantile(posterior[p.name], w, low),
         "ci95_high": weighted_quantile(posterior[p.name], w, high),
         "share_of_prior_range": (weighted_quantile(posterior[p.name], w, high)
                                  - weighted_quantile(posterior[p.name], w, low)) / (p.high - p.low)}
        for p in config.priors])


def generations_table(history) -> pd.DataFrame:
    """Epsilon, simulations, acceptance rate and effective sample size per generation."""
    from pyabc.weighted_statistics import effective_sample_size

    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    rows = []
    for _, row in pops.iterrows():
        _, w = history.get_distribution(m=0, t=int(row["t"]))
        rows.append({"generation": int(row["t"]), "epsilon": float(row["epsilon"]),
                     "simulations": int(row["samples"]), "particles": len(w),
                     "acceptance_rate": len(w) / int(row["samples"]),
                     "ess": float(effective_sample_size(np.asarray(w, float)))})
    return pd.DataFrame(rows)


def posterior_mean(config: AbcConfig, posterior: pd.DataFrame) -> dict[str, float]:
    w = posterior["weight"].to_numpy(float)
    return {p.name: float(np.average(posterior[p.name], weights=w)) for p in config.priors}


def _simulator_args(config: AbcConfig) -> dict[str, Any]:
    s = config.settings
    return {"targets": config.targets, "fixed": config.fixed, "users": s.users, "days": s.days,
            "replicates": s.replicates}


def pp_draws(config: AbcConfig, posterior: pd.DataFrame, workers=None, backend="local",
             scheduler=None) -> pd.DataFrame:
    """``pp_draws`` weighted draws from the particles, each run once on its own seed."""
    s = config.settings
    names = [p.name for p in config.priors]
    picks = weighted_draws(posterior["weight"].to_numpy(float), s.pp_draws, s.seed, PP_KEY)
    values = [{n: float(posterior[n].iloc[i]) for n in names} for i in picks]
    entropies = [_entropy(s.seed, PP_KEY, i) for i in range(len(values))]
    stats = run_statistics([(v, s.users, e) for v, e in zip(values, entropies, strict=True)],
                           _simulator_args(config), workers, backend, scheduler)
    return pd.DataFrame([{"draw": i, "particle": int(p), **v, **st}
                         for i, (p, v, st) in enumerate(zip(picks, values, stats, strict=True))])


def _entropy(seed: int, key: int, index: int) -> int:
    return int(np.random.SeedSequence(seed, spawn_key=(key, index)).generate_state(2, np.uint64)[0] >> 1)


def pp_table(config: AbcConfig, draws: pd.DataFrame) -> pd.DataFrame:
    """Per target: the observed range (value ± scale), the posterior predictive median and 90%
    interval (over the draws that ran; failed runs are counted), and ``inside``: whether the
    90% interval reaches into the observed range, i.e. whether the model, with what the targets
    left uncertain, can produce a figure the source allows."""
    rows = []
    tail = (1 - PP_LEVEL) / 2
    for t in config.targets:
        values = draws[t.key].to_numpy(float)
        ok = values[~np.isnan(values)]
        low, med, high = (np.quantile(ok, q) if len(ok) else np.nan for q in (tail, 0.5, 1 - tail))
        rows.append({"target": t.name, "statistic": t.key, "source": t.source, "value": t.value,
                     "observed_low": t.value - t.scale, "observed_high": t.value + t.scale,
                     "pp_median": med, "pp_low": low, "pp_high": high,
                     "failed_runs": int(np.isnan(values).sum()),
                     "inside": "yes" if low <= t.value + t.scale and high >= t.value - t.scale else "no"})
    return pd.DataFrame(rows)


def scale_table(config: AbcConfig, posterior: pd.DataFrame, workers=None, backend="local",
                scheduler=None) -> pd.DataFrame:
    """Every target at the posterior mean at each size of ``scale_users``, the mean of
    ``scale_replicates`` runs each on common seeds; ``agrees``: every size's mean within the
    target's tolerance (its scale) of the mean at the calibration's size (``users``; the first
    size if it is not among them). ``largest_standard_error`` (of a size's mean, over its
    runs) says how much of a difference is the seeds' noise."""
    s = config.settings
    mean = posterior_mean(config, posterior)
    tasks = [(mean, users, _entropy(s.seed, SCALE_KEY, r))
             for users in s.scale_users for r in range(s.scale_replicates)]
    args = {**_simulator_args(config), "replicates": 1}
    stats = run_statistics(tasks, args, workers, backend, scheduler)
    rows = []
    for t in config.targets:
        runs = {users: np.array([st[t.key] for (_, u, _), st in zip(tasks, stats, strict=True) if u == users])
                for users in s.scale_users}
        by_size = {users: float(np.mean(values)) for users, values in runs.items()}
        standard_error = max(float(sem(values)) if len(values) > 1 else np.nan for values in runs.values())
        reference = by_size[s.users if s.users in by_size else s.scale_users[0]]
        spread = max(abs(v - reference) for v in by_size.values())
        rows.append({"target": t.name, "statistic": t.key, "tolerance": t.scale,
                     **{f"users_{u}": v for u, v in by_size.items()},
                     "largest_difference": spread, "largest_standard_error": standard_error,
                     "agrees": "yes" if spread <= t.scale else "no"})
    return pd.DataFrame(rows)


# --- figures -------------------------------------------------------------------------------------
def marginals_figure(config: AbcConfig, posterior: pd.DataFrame, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from experiments.figure_style import STYLE, save_figure

    names = [p.name for p in config.priors]
    w = posterior["weight"].to_numpy(float)
    k = len(names)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(k, k, figsize=(1.6 * k + 1, 1.6 * k + 1), squeeze=False)
        for i, yi in enumerate(config.priors):
            for j, xj in enumerate(config.priors):
                ax = axes[i, j]
                if j > i:
                    ax.set_visible(False)
                    continue
                if i == j:
                    ax.hist(posterior[xj.name], bins=15, range=(xj.low, xj.high), weights=w, color="#0072B2")
                    ax.set_yticks([])
                else:
                    ax.scatter(posterior[xj.name], posterior[yi.name], s=4 + 400 * w, alpha=0.5,
                               color="#0072B2", linewidths=0)
                    ax.set_ylim(yi.low, yi.high)
                ax.set_xlim(xj.low, xj.high)
                ax.tick_params(labelsize=6)
                if i == k - 1:
                    ax.set_xlabel(xj.name, fontsize=7)
                if j == 0 and i > 0:
                    ax.set_ylabel(yi.name, fontsize=7)
        fig.suptitle("Posterior: 1-D marginals (diagonal, weighted histograms over the prior "
                     "range) and 2-D (particles, size by weight)")
        fig.tight_layout()
        return save_figure(fig, stem)


def generations_figure(table: pd.DataFrame, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from experiments.figure_style import STYLE, save_figure

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
        for ax, column, label in zip(axes, ("epsilon", "acceptance_rate", "ess"),
                                     ("epsilon (distance threshold)", "acceptance rate",
                                      "effective sample size"), strict=True):
            ax.plot(table["generation"], table[column], marker="o")
            ax.set_xlabel("generation")
            ax.set_title(label)
        axes[0].set_yscale("log")
        axes[1].set_yscale("log")
        fig.suptitle("ABC-SMC per generation (the distance is rescaled between generations, so "
                     "epsilons compare within a generation's scale)")
        fig.tight_layout()
        return save_figure(fig, stem)


def pp_figure(config: AbcConfig, draws: pd.DataFrame, table: pd.DataFrame, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from experiments.figure_style import STYLE, save_figure

    k = len(config.targets)
    cols = 4
    rows = -(-k // cols)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
        for ax, t, (_, row) in zip(axes.flat, config.targets, table.iterrows(), strict=False):
            values = draws[t.key].to_numpy(float)
            ax.hist(values[~np.isnan(values)], bins=20, color="#999999")
            ax.axvspan(t.value - t.scale, t.value + t.scale, color="#009E73", alpha=0.25,
                       label="observed range")
            ax.axvline(t.value, color="#009E73")
            ax.axvline(row["pp_low"], color="#D55E00", ls="--", label="PP 90%")
            ax.axvline(row["pp_high"], color="#D55E00", ls="--")
            ax.set_title(f"{t.name} ({'inside' if row['inside'] == 'yes' else 'outside'})", fontsize=8)
            ax.tick_params(labelsize=6)
        for ax in list(axes.flat)[k:]:
            ax.set_visible(False)
        axes.flat[0].legend(fontsize=6)
        fig.suptitle(f"Posterior predictive check: {len(draws)} runs at parameter sets drawn from "
                     "the posterior (parameter uncertainty and run noise together)")
        fig.tight_layout()
        return save_figure(fig, stem)


# --- writing and checking ------------------------------------------------------------------------
def write_outputs(config: AbcConfig, out: Path, run, *, workers=None, backend="local", scheduler=None,
                  scale: bool = True, log=print) -> list[Path]:
    history = run.history
    posterior = final_particles(history)
    paths = []
    posterior.to_parquet(out / POSTERIOR, index=False)
    paths.append(out / POSTERIOR)
    credible_intervals(config, posterior).to_csv(out / "credible_intervals.csv", index=False)
    paths.append(out / "credible_intervals.csv")
    gens = generations_table(history)
    gens.to_csv(out / "generations.csv", index=False)
    paths += [out / "generations.csv", *generations_figure(gens, out / "generations")]
    paths += marginals_figure(config, posterior, out / "marginals")
    log(f"posterior predictive check: {config.settings.pp_draws} runs")
    draws = pp_draws(config, posterior, workers, backend, scheduler)
    draws.to_parquet(out / "pp_draws.parquet", index=False)
    table = pp_table(config, draws)
    table.to_csv(out / PP_TABLE, index=False)
    paths += [out / "pp_draws.parquet", out / PP_TABLE, *pp_figure(config, draws, table, out / "pp")]
    if scale:
        s = config.settings
        log(f"scale table: {len(s.scale_users)} sizes x {s.scale_replicates} runs")
        scale_table(config, posterior, workers, backend, scheduler).to_csv(out / "scale.csv", index=False)
        paths.append(out / "scale.csv")
    (out / "result.toml").write_text(tomli_w.dumps({
        "result": {"generations": run.generations, "simulations": run.simulations,
                   "elapsed_s_this_call": round(run.elapsed_s, 1),
                   "generations_before_this_call": run.resumed_from},
        "provenance": {**run.made_by, "config": source_path(config.path)}}))
    paths.append(out / "result.toml")
    return paths


def check(config: AbcConfig, out: Path, *, workers=None, backend="local", scheduler=None
          ) -> tuple[pd.DataFrame, list[str]]:
    """The posterior predictive table rerun from the stored particles, and the cells that
    differ from the committed one (empty: reproduced)."""
    for name in (POSTERIOR, PP_TABLE):
        if not (out / name).is_file():
            raise SpecError("--out", f"no {name} in {out}; allowed: the folder of a finished "
                                     "`wasim calibrate --method abc`")
    check_history(config, out)  # the configuration that made it, or exit 2
    posterior = pd.read_parquet(out / POSTERIOR)
    missing = [p.name for p in config.priors if p.name not in posterior]
    if missing:
        raise SpecError("--config", f"{out / POSTERIOR} has no column {missing[0]!r}: another "
                                    "configuration made it; allowed: the configuration of that run")
    committed = pd.read_csv(out / PP_TABLE)
    table = pp_table(config, pp_draws(config, posterior, workers, backend, scheduler))
    return table, differences(committed, table)


def differences(committed: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    found = []
    if list(committed["statistic"]) != list(table["statistic"]):
        return [f"targets differ: {list(committed['statistic'])} against {list(table['statistic'])}"]
    for column in ("pp_median", "pp_low", "pp_high", "inside", "failed_runs"):
        for stat, a, b in zip(table["statistic"], committed[column], table[column], strict=True):
            same = (a == b) if isinstance(a, str) else bool(np.isclose(a, b, rtol=CHECK_RTOL, atol=0,
                                                                         equal_nan=True))
            if not same:
                found.append(f"{stat} {column}: committed {a}, reproduced {b}")
    return found


def read_result(out: Path) -> dict[str, Any]:
    return tomllib.loads((out / "result.toml").read_text())
