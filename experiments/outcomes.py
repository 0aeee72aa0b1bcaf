"""The outcomes of a run: the summary of its daily rows, and which of them are shown by default.

A run's summary (``summarise``) is stored in its run file's record and, one row per run, in
``summary.parquet``; every command that reads outcomes takes their names from here and checks
the names it is given with ``checked_outcomes``.
"""

from __future__ import annotations

import pandas as pd

from experiments.checks import SpecError
from model.ledger import STREAMS
from model.params import PARAMS

FINAL_STOCKS = ("users_total", "users_active", "users_multihoming", "users_churned_total",
                "share_data_optout", "share_promo_optin", "share_payments_linked", "mean_concern",
                "mean_annoyance")
"""Daily columns whose last day is an outcome (``<column>_final``)."""
CAUSES = ("ads", "privacy", "peers", "other")
"""Why users leave: each has a daily ``churn_<cause>`` column."""
CHURN = ("churn_today", *(f"churn_{cause}" for cause in CAUSES))
"""Daily churn columns whose sum over the run is an outcome (``churn_total``,
``churn_<cause>_total``)."""
OUTCOMES = (*(f"{c}_final" for c in FINAL_STOCKS), *(c.replace("_today", "") + "_total" for c in CHURN),
            *(f"revenue_{stream}" for stream in (*STREAMS, "total")), "revenue_per_user_mean",
            "churned_share")
"""The summary outcomes of a run, in the order ``summarise`` gives them."""

KEY_OUTCOMES = ("revenue_total", "churned_share", "users_active_final", "revenue_per_user_mean")
"""The default outcomes: shown against factors, in heat maps, reports and comparisons. The
other defaults are drawn from it: the first two (revenue against churn) are analysed by
``wasim analyze``, and ``wasim compare`` adds revenue by stream and churn by cause."""
SENSITIVITY_OUTCOMES = KEY_OUTCOMES[:2]
"""Analysed when none are named (``wasim analyze``, the plots' sensitivity figure)."""
COMPARED_OUTCOMES = (*KEY_OUTCOMES, *(f"revenue_{s}" for s in STREAMS),
                     *(f"churn_{c}_total" for c in CAUSES))
"""Compared when none are named (``wasim compare``): the key outcomes, revenue by stream and
churn by cause."""

_RUN_COLUMNS = {"point", "replicate", "seed_entropy", "days", "elapsed_s"}
"""Numeric summary columns that describe a run, not an outcome of it."""


def summarise(daily: pd.DataFrame) -> dict[str, float]:
    """Outcomes of one run (``OUTCOMES``): final stocks, totals over the horizon, means."""
    last = daily.iloc[-1]
    out = {f"{c}_final": float(last[c]) for c in FINAL_STOCKS}
    for c in CHURN:
        out[c.replace("_today", "") + "_total"] = float(daily[c].sum())
    for stream in (*STREAMS, "total"):
        out[f"revenue_{stream}"] = float(daily[f"revenue_{stream}"].sum())
    out["revenue_per_user_mean"] = float(daily["revenue_per_user"].mean())
    out["churned_share"] = out["churn_total"] / float(daily["users_total"].iloc[-1])
    return out


def outcome_names(summary: pd.DataFrame) -> list[str]:
    """Numeric summary columns that are outcomes: not a parameter, not run bookkeeping."""
    return [c for c in summary.columns if c not in PARAMS and c not in _RUN_COLUMNS
            and pd.api.types.is_numeric_dtype(summary[c]) and not pd.api.types.is_bool_dtype(summary[c])]


def checked_outcomes(summary: pd.DataFrame, outcomes: list[str] | None) -> list[str]:
    """``outcomes`` (``SENSITIVITY_OUTCOMES`` when none), each once, all outcomes of
    ``summary``; an unknown name is refused (``--outcome``, exit 2) with the list of those
    allowed."""
    allowed = outcome_names(summary)
    chosen = list(dict.fromkeys(outcomes or SENSITIVITY_OUTCOMES))
    for name in chosen:
        if name not in allowed:
            raise SpecError("--outcome", f"got {name!r}; allowed: one of {', '.join(allowed)}")
    return chosen
