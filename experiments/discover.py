"""``wasim discover``: which combinations of factors lead to an outcome of interest (scenario
discovery, after Bryant and Lempert 2010), on any result folder, a search's included.

The cases are the folder's design points (a search's: candidate x scenario), each its factors'
values and its outcomes' means over replicates; a case is of interest when the outcome's mean
is above (or below) the threshold. EMA Workbench's analysis modules do the work on that plain
frame, categorical factors (data-sharing mode) as pandas Categoricals:

- PRIM (``prim.Prim``): the peeling trajectory of boxes, from everything (coverage 1) to small
  boxes of high density; the box reported is the one with the highest coverage among those
  whose density reaches ``density`` (else the densest), with its limits;
- CART (``cart.CART``): a classification tree whose leaves are boxes too;
- feature scores (``feature_scoring.get_feature_scores_all``, extra trees): how much each
  factor explains of every outcome.

Written to ``RESULT_DIR/discover/``: ``feature_scores.csv`` and ``.png``; per question
(``<outcome>_above_<x>/``): ``prim_trajectory.csv``, ``prim_box.csv``, ``prim_tradeoff.png``,
``cart_boxes.csv``, ``cart_tree.txt``, ``cart_tree.png``. Figures are saved whole or not at all.
EMA Workbench and scikit-learn are imported when the analysis runs.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.checks import SpecError
from experiments.outcomes import outcome_names
from experiments.results import Results, load_results
from experiments.search_levers import as_levers
from experiments.storage import atomic_write

DENSITY = 0.8
"""The density (share of cases of interest inside the box) a reported PRIM box must reach."""
MASS_MIN = 0.05
"""The smallest box PRIM and CART consider: 5% of the cases, EMA Workbench's default."""
SEED = 20261217
"""Seeds the tree-based estimators (CART's ties, extra trees), so a rerun gives the same answer."""


@dataclass
class Discovery:
    cases: int
    of_interest: int
    box: pd.DataFrame
    """The chosen PRIM box: one row per restricted factor, its limits (min/max, or the levels kept)."""
    box_stats: dict[str, float]
    trajectory: pd.DataFrame
    cart_boxes: pd.DataFrame
    scores: pd.DataFrame
    files: list[Path] = field(default_factory=list)


def cases(results: Results) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The design points as cases: their factors (varied parameters, rate-card prices as their
    multipliers, text and true/false ones as Categoricals) and their outcomes' means."""
    summary = results.summary
    values = pd.DataFrame([json.loads(v) for v in summary["point_values"]], index=summary.index)
    if values.empty:
        raise SpecError("RESULT_DIR", f"{results.folder.path} varies nothing: there is no factor to "
                                      "discover; a sweep or a search varies some")
    names = outcome_names(summary)
    per_point = pd.concat([summary[["point"]], values, summary[names]], axis=1).groupby("point")
    factors = as_levers(per_point[list(values.columns)].first().reset_index(drop=True))
    factors = factors.loc[:, factors.nunique() > 1]
    if factors.empty:  # a grid of one value: no threshold could split its single case
        raise SpecError("RESULT_DIR", f"{results.folder.path} varies nothing: every design point has the "
                                      f"same {', '.join(values.columns)}; a sweep or a search varies some")
    for column in factors.columns:
        if not pd.api.types.is_numeric_dtype(factors[column]) or pd.api.types.is_bool_dtype(factors[column]):
            factors[column] = pd.Categorical(factors[column].astype(str))
    outcomes = per_point[names].mean().reset_index(drop=True)
    return factors, outcomes


def discover(path: str | Path, outcome: str, threshold: float, above: bool,
             density: float = DENSITY, mass_min: float = MASS_MIN) -> Discovery:
    """Scenario discovery on the folder at ``path`` for ``outcome`` above (or below)
    ``threshold``. Checked before anything is written: an unknown outcome, a threshold no
    case (or every case) passes, a folder that varies nothing exit 2."""
    results = load_results(path, doing="discovering on")
    if outcome not in outcome_names(results.summary):
        raise SpecError("--outcome", f"got {outcome!r}; allowed: one of "
                                     f"{', '.join(outcome_names(results.summary))}")
    if not 0 < density <= 1 or not 0 < mass_min < 1:
        raise SpecError("--density/--mass-min", f"got {density}/{mass_min}; allowed: 0 < density <= 1, "
                                                "0 < mass-min < 1")
    x, outcomes = cases(results)
    y = (outcomes[outcome] > threshold) if above else (outcomes[outcome] < threshold)
    side = "above" if above else "below"
    if not y.any() or y.all():
        low, high = outcomes[outcome].min(), outcomes[outcome].max()
        raise SpecError("--above" if above else "--below",
                        f"{'no' if not y.any() else 'every'} case has {outcome} {side} {threshold:g} "
                        f"(the {len(y)} cases range from {low:.6g} to {high:.6g}); choose a "
                        "threshold that splits them")
    y = y.to_numpy()
    trajectory, chosen, box, box_stats = prim_box(x, y, density, mass_min)
    cart_table, tree_text, classifier, names = cart_boxes(x, y, mass_min)
    scores = feature_scores(x, outcomes)

    out = Path(path) / "discover"
    question = out / f"{outcome}_{side}_{threshold:g}"
    question.mkdir(parents=True, exist_ok=True)
    files = []
    for name, frame in ((out / "feature_scores.csv", scores), (question / "prim_trajectory.csv", trajectory),
                        (question / "prim_box.csv", box), (question / "cart_boxes.csv", cart_table)):
        keep_index = name.stem != "cart_boxes"
        atomic_write(name, lambda p, frame=frame, keep=keep_index: frame.to_csv(p, index=keep))
        files.append(name)
    atomic_write(question / "cart_tree.txt", lambda p: p.write_text(tree_text))
    files.append(question / "cart_tree.txt")
    title = f"{outcome} {side} {threshold:g}: {int(y.sum())} of {len(y)} cases"
    files += tradeoff_figure(trajectory, chosen, density, question / "prim_tradeoff", title)
    files += tree_figure(classifier, names, question / "cart_tree", title)
    files += scores_figure(scores, out / "feature_scores")
    return Discovery(len(y), int(y.sum()), box, box_stats, trajectory, cart_table, scores, files)


def prim_box(x: pd.DataFrame, y: np.ndarray, density: float = DENSITY, mass_min: float = MASS_MIN
             ) -> tuple[pd.DataFrame, int, pd.DataFrame, dict[str, float]]:
    """PRIM's first box: the peeling trajectory, the chosen step (highest coverage with density
    >= ``density``, else the densest), its restricted factors' limits and its statistics."""
    prim = _ema("prim")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA's notes on the optional altair
        found = prim.Prim(x, y, peel_alpha=0.05, paste_alpha=0.05, mass_min=mass_min).find_box()
    trajectory = found.peeling_trajectory.reset_index(drop=True)
    dense = trajectory[trajectory["density"] >= density]
    ranked = (dense if not dense.empty else trajectory).sort_values(
        ["coverage", "density"] if not dense.empty else ["density", "coverage"], kind="stable")
    chosen = int(ranked.index[-1])
    found.select(chosen)
    limits, initial = found.box_lims[chosen], found.box_lims[0]
    rows = []
    for factor in x.columns:
        low, high = limits[factor].iloc[0], limits[factor].iloc[1]
        if isinstance(low, set):
            if low != initial[factor].iloc[0]:
                rows.append({"factor": factor, "min": None, "max": None, "levels": ", ".join(sorted(low))})
        elif (low, high) != (initial[factor].iloc[0], initial[factor].iloc[1]):
            rows.append({"factor": factor, "min": float(low), "max": float(high), "levels": None})
    box = pd.DataFrame(rows, columns=["factor", "min", "max", "levels"]).set_index("factor")
    stats = trajectory.loc[chosen, ["coverage", "density", "mass", "res_dim"]].astype(float).to_dict()
    return trajectory, chosen, box, stats


def cart_boxes(x: pd.DataFrame, y: np.ndarray, mass_min: float = MASS_MIN):
    """A classification tree (EMA Workbench's CART, leaves of at least ``mass_min`` of the
    cases, seeded): one row per leaf with its coverage, density, mass and limits, the tree as
    text, the fitted classifier and its feature names.

    The leaves' limits are read from the fitted tree here, not from ``CART.boxes``: in EMA
    Workbench 3.0.0 that property shares one set of levels between the leaves (discarding a
    level in one leaf's box discards it in the next ones') and ignores the right-hand branch
    of a split on a level (``mode == mandatory``), so categorical leaves come out wrong."""
    from sklearn import tree

    cart = _ema("cart")
    analysis = cart.CART(x, y, mass_min=mass_min)
    # build_tree, seeded: scikit-learn breaks ties between equally good splits at random
    classifier = tree.DecisionTreeClassifier(min_samples_leaf=max(1, int(mass_min * len(x))),
                                             random_state=SEED).fit(analysis._x, y)
    names, sep = analysis.feature_names, cart.CART.sep
    leaf_of = classifier.apply(analysis._x)
    rows = []
    for leaf, path in _leaf_paths(classifier.tree_):
        inside = leaf_of == leaf
        limits = _path_limits(classifier.tree_, path, names, sep, x)
        rows.append({"leaf": leaf, "coverage": y[inside].sum() / y.sum(), "density": y[inside].mean(),
                     "mass": inside.mean(), "res_dim": len(limits), "limits": "; ".join(limits.values())})
    text = tree.export_text(classifier, feature_names=names)
    return pd.DataFrame(rows), text, classifier, names


def _leaf_paths(fitted) -> list[tuple[int, list[tuple[int, bool]]]]:
    """Each leaf of a fitted scikit-learn tree with its path: (split node, went right)."""
    leaves, stack = [], [(0, [])]
    while stack:
        node, path = stack.pop()
        if fitted.children_left[node] == -1:
            leaves.append((node, path))
            continue
        stack.append((fitted.children_right[node], [*path, (node, True)]))
        stack.append((fitted.children_left[node], [*path, (node, False)]))
    return sorted(leaves)


def _path_limits(fitted, path, names: list[str], sep: str, x: pd.DataFrame) -> dict[str, str]:
    """A leaf's limits as text by factor: numeric bounds, or the levels kept (a split on a
    level's dummy, ``factor<sep>level``, keeps that level on the right and drops it on the left)."""
    bounds: dict[str, list[float]] = {}
    levels: dict[str, set[str]] = {}
    for node, right in path:
        feature, threshold = names[fitted.feature[node]], float(fitted.threshold[node])
        if sep in feature:
            factor, level = feature.split(sep, 1)
            kept = levels.setdefault(factor, set(x[factor].astype(str).unique()))
            if right:
                kept.intersection_update({level})
            else:
                kept.discard(level)
        else:
            low_high = bounds.setdefault(feature, [-np.inf, np.inf])
            low_high[0 if right else 1] = threshold
    limits = {factor: f"{factor} in {{{', '.join(sorted(kept))}}}" for factor, kept in levels.items()}
    for factor, (low, high) in bounds.items():
        limits[factor] = " ".join(part for part in (f"{low:.4g} <" if low > -np.inf else "", factor,
                                                    f"<= {high:.4g}" if high < np.inf else "") if part)
    return dict(sorted(limits.items()))


def _ema(module: str):
    """An EMA Workbench analysis module, imported without its warning that the optional
    ipyparallel evaluator is missing (only its analysis modules are used here)."""
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return importlib.import_module(f"ema_workbench.analysis.{module}")


def feature_scores(x: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Each factor's extra-trees feature score for every outcome that varies (a row per factor,
    a column per outcome; each column sums to 1, so a lone factor scores 1).

    ``max_features`` is EMA Workbench's default, a third of the factors rounded, but at least 1:
    for a single factor that default is 0, which scikit-learn rejects (a one-factor sweep such
    as ad_load crashed); for several factors the forest is the same as before."""
    feature_scoring = _ema("feature_scoring")
    varying = {name: outcomes[name].to_numpy() for name in outcomes.columns
               if outcomes[name].nunique() > 1}
    scores = feature_scoring.get_feature_scores_all(x, varying, max_features=max(1, round(x.shape[1] / 3)),
                                                    random_state=SEED)
    scores.index.name = "factor"
    return scores[list(varying)]


# --- figures ---------------------------------------------------------------------------------
def tradeoff_figure(trajectory: pd.DataFrame, chosen: int, density: float, stem: Path, title: str
                    ) -> list[Path]:
    """PRIM's coverage-density trade-off: one marker per box of the peeling trajectory, coloured
    by the number of restricted factors; the chosen box circled."""
    import matplotlib.pyplot as plt

    from experiments.figure_style import HEATMAP, PALETTE, STYLE, percent, save_figure

    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
        points = ax.scatter(trajectory["coverage"], trajectory["density"], c=trajectory["res_dim"],
                            cmap=HEATMAP, s=22, zorder=3)
        fig.colorbar(points, ax=ax, label="restricted factors")
        ax.scatter(trajectory.loc[chosen, "coverage"], trajectory.loc[chosen, "density"], s=160,
                   facecolors="none", edgecolors=PALETTE[3], linewidths=2, zorder=4,
                   label=f"chosen box (step {chosen})")
        ax.axhline(density, color=PALETTE[8], ls=":", lw=1, label=f"density {percent(density)}")
        ax.xaxis.set_major_formatter(plt.FuncFormatter(percent))
        ax.yaxis.set_major_formatter(plt.FuncFormatter(percent))
        ax.set_xlabel("coverage (share of the cases of interest inside the box)")
        ax.set_ylabel("density (share of the box's cases of interest)")
        ax.set_title(f"PRIM peeling trajectory: {title}")
        ax.legend(loc="lower left", fontsize=8)
        return save_figure(fig, stem)


def tree_figure(classifier, names: list[str], stem: Path, title: str) -> list[Path]:
    """The CART tree, drawn by scikit-learn (no graphviz needed)."""
    import matplotlib.pyplot as plt
    from sklearn import tree

    from experiments.figure_style import STYLE, save_figure

    with plt.rc_context(STYLE):
        leaves = classifier.get_n_leaves()
        fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * leaves), 1.8 * classifier.get_depth() + 2))
        tree.plot_tree(classifier, feature_names=names, class_names=["other", "of interest"],
                       filled=True, impurity=False, proportion=True, fontsize=8, ax=ax)
        ax.set_title(f"CART: {title}")
        return save_figure(fig, stem)


def scores_figure(scores: pd.DataFrame, stem: Path) -> list[Path]:
    """The feature scores as a heat map: a row per outcome, a column per factor."""
    import matplotlib.pyplot as plt

    from experiments.figure_style import HEATMAP, STYLE, save_figure

    table = scores.T
    with plt.rc_context(STYLE | {"axes.grid": False}):
        fig, ax = plt.subplots(figsize=(2.0 + 1.1 * table.shape[1], 1.0 + 0.28 * table.shape[0]),
                               constrained_layout=True)
        image = ax.imshow(table.to_numpy(float), cmap=HEATMAP, vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(table.shape[1]), table.columns, rotation=30, ha="right")
        ax.set_yticks(range(table.shape[0]), table.index, fontsize=7)
        for (i, j), value in np.ndenumerate(table.to_numpy(float)):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if value < 0.5 else "black")
        fig.colorbar(image, ax=ax, label="feature score (extra trees; each row sums to 1)")
        ax.set_title("Feature scores: each factor's share in explaining each outcome")
        return save_figure(fig, stem)
