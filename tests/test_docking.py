"""Docking: the vectorised users against the per-agent reference, on the same rules.

Both run in the docking world (``agents.docking.UserWorld``) with parameters that make every
mechanism fire (ads, a media shock, opt-outs, both rivals, contagion, returns). Each outcome
is summed (or read at the end) per run, over ``SEEDS`` independent seeds per implementation,
and compared with Welch's t-test. The implementations agree if no outcome differs at
``ALPHA`` = 0.001 per outcome (about 2% family-wise over the outcomes below). A negative
control shows the same test does catch a rule that differs.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from agents.docking import IMPLEMENTATIONS, OUTCOMES, UserWorld

STRESS = dict(n_users=1000, ad_load=0.1, media_shock_day=25, media_shock_size=2.0,
              privacy_churn_slope=0.01, ad_churn_slope=0.0005, baseline_churn_per_year=0.2,
              multihoming_rate=0.02, return_per_year=2.0, multihoming_drop_per_year=3.0,
              outage_day=15, ultimatum_day=35, ultimatum_deadline_day=70, postponement_day=50)
"""Every mechanism fires, dated events included: an outage, a media shock, an ultimatum
(users anticipate mandatory sharing) postponed past the run's end (the enforced deadline
ends opt-outs, which would leave nothing to compare; see the test of lost opt-outs)."""
DAYS = 80
SEEDS = range(12)
ALPHA = 0.001

FLOWS = ["churn_today", "churn_ads", "churn_privacy", "churn_peers", "churn_other",
         "returned_today", "multihoming_started", "multihoming_stopped", "rival_signups_privacy",
         "rival_signups_feature", "opt_outs_today", "users_daily_active"]
STOCKS = ["users_active", "users_multihoming", "users_on_rival_privacy", "users_on_rival_feature",
          "share_data_optout", "share_promo_optin", "share_payments_linked", "mean_concern",
          "mean_annoyance"]


def outcomes(implementation: str, **params) -> pd.DataFrame:
    """Per seed: flows summed over the run, stocks at the end."""
    rows = []
    for seed in SEEDS:
        world = UserWorld(implementation=implementation, rng=seed, **(STRESS | params))
        for _ in range(DAYS):
            world.step()
        df = world.datacollector.get_model_vars_dataframe()
        rows.append(pd.concat([df[FLOWS].sum(), df[STOCKS].iloc[-1]]))
    return pd.DataFrame(rows)


def welch_pvalues(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    return pd.Series({c: stats.ttest_ind(a[c], b[c], equal_var=False).pvalue for c in a.columns})


@pytest.fixture(scope="module")
def reference():
    return outcomes("reference")


@pytest.fixture(scope="module")
def vectorised():
    return outcomes("vectorised")


def test_outcomes_cover_every_docking_column():
    assert set(FLOWS) | set(STOCKS) <= set(OUTCOMES)


def test_every_mechanism_fires_in_both(reference, vectorised):
    for df in (reference, vectorised):
        for column in FLOWS:
            assert (df[column] > 0).all(), column


def test_vectorised_users_agree_with_the_reference(reference, vectorised):
    pvalues = welch_pvalues(vectorised, reference)
    assert (pvalues > ALPHA).all(), pvalues[pvalues <= ALPHA].to_dict()
    # and no mean is off by more than a few percent of the reference's
    relative = (vectorised.mean() - reference.mean()).abs() / reference.mean().abs()
    assert relative[STOCKS].max() < 0.1, relative[STOCKS].sort_values().tail(3).to_dict()


def test_the_docking_test_catches_a_changed_rule(reference):
    """Negative control: a vectorised engine whose ads annoy twice as fast is told apart."""
    changed = outcomes("vectorised", annoyance_per_ad=2 * 0.01)
    pvalues = welch_pvalues(changed, reference)
    assert pvalues["mean_annoyance"] < ALPHA
    assert pvalues["churn_ads"] < ALPHA


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_an_enforced_deadline_ends_every_opt_out_in_both(implementation):
    """The deadline of an ultimatum (SOURCES.md#event-2021), which the runs above never reach: users who
    opted out lose the opt-out, and nobody opts out from the announcement on."""
    timeline = dict(media_shock_day=5, ultimatum_day=20, ultimatum_deadline_day=30, postponement_day=0)
    world = UserWorld(implementation=implementation, rng=2, **(STRESS | dict(n_users=300) | timeline))
    for _ in range(40):
        world.step()
    df = world.datacollector.get_model_vars_dataframe()
    assert df["share_data_optout"].iloc[18] > 0
    assert df["opt_outs_today"].iloc[19:].sum() == 0
    assert df["share_data_optout"].iloc[29:].eq(0).all()


def test_unknown_implementation_is_refused():
    with pytest.raises(ValueError, match="implementation: got 'numba'; allowed: vectorised, reference"):
        UserWorld(implementation="numba", n_users=100)


def test_reference_user_count_matches_the_graph():
    world = UserWorld(implementation="reference", rng=1, n_users=200)
    users = world.population.users
    assert len(users) == round(200 * (1 + world.p.pool_headroom))
    assert sum(u.on_platform for u in users) == 200
    assert all(len(u.contacts) == len(u.cell.connections) for u in users)
    assert np.mean([len(u.contacts) for u in users]) > 4
