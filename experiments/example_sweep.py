"""A small sweep from Python, start to finish: define, run, load, plot (about 10 s).

Run it from the repository root::

    .venv/bin/python experiments/example_sweep.py

It runs three Status-ad loads with two replicates each, 1,000 users for 30 days, into
results/example_sweep/ (a second run finds it done and only redraws the figure), prints what
each ad load earned and cost in users, and saves results/example_sweep/figures/ad_load.png.
The same experiment as a TOML file would run with `wasim run FILE`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from experiments.figure_style import PALETTE, money, save_figure
from experiments.runner import run_experiment
from experiments.spec import parse_spec
from experiments.storage import ResultFolder

# 1. The experiment, as the dict a TOML spec parses to. parse_spec checks it in full (a mistake
#    raises SpecError naming the field) and fills in the rest from the model's defaults.
SPEC = {
    "experiment": {"name": "example_sweep", "days": 30, "replicates": 2, "seed": 11,
                   "description": "Status-ad load against users and revenue, small and quick"},
    "parameters": {"n_users": 1_000},
    "design": {"kind": "grid", "factors": {"ad_load": [0.0, 0.1, 0.2]}},
}


def main() -> None:
    # 2. Run it: 3 points x 2 replicates = 6 runs, each written to results/example_sweep/runs/.
    #    Rerunning skips the runs already done. workers=None would use every core (the numbers
    #    are the same); runs this short are quickest in this one process.
    result = run_experiment(parse_spec(SPEC), workers=1)

    # 3. The summary has one row per run: its point, replicate, every parameter, and outcomes.
    summary = result.summary
    print(summary.groupby("ad_load")[["revenue_total", "revenue_display_ads", "churned_share"]]
          .mean().to_string(float_format=lambda v: f"{v:.4g}"))

    # 4. The daily rows of every run, with the varied factor (ad_load) as a column.
    folder = ResultFolder(result.folder.path)
    daily = folder.daily()
    means = daily.groupby(["ad_load", "day"])[["users_active", "revenue_total"]].mean()

    # 5. One figure: users and daily revenue over time, one line per ad load (replicate means).
    fig, (users_ax, revenue_ax) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for colour, (ad_load, rows) in zip(PALETTE, means.groupby(level="ad_load"), strict=False):
        days = rows.index.get_level_values("day")
        users_ax.plot(days, rows["users_active"], color=colour, label=f"ad_load = {ad_load:g}")
        revenue_ax.plot(days, rows["revenue_total"], color=colour, label=f"ad_load = {ad_load:g}")
    users_ax.set(title="Users on the platform", xlabel="day", ylabel="active users (simulated sample)")
    revenue_ax.set(title="Revenue, all streams", xlabel="day", ylabel="revenue per day (USD)")
    revenue_ax.yaxis.set_major_formatter(FuncFormatter(money))
    users_ax.legend()
    fig.suptitle("Status-ad load: users against revenue (mean of 2 replicates)")
    folder.figures_dir.mkdir(exist_ok=True)
    [path] = save_figure(fig, folder.figures_dir / "ad_load", formats=["png"])  # 150 dpi, atomic
    print(f"wrote {path}")


if __name__ == "__main__":  # the worker processes import this file; only the parent runs it
    main()
