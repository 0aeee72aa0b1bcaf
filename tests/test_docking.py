"""Docking: the vectorised users against the per-agent reference, on the same rules.

Both run in the docking world (``agents.docking.UserWorld``) under ``STRESS``, which makes
every mechanism fire (ads, a media shock, opt-outs, both rivals, contagion, returns). Each
outcome is summed (flows) or read at the end (stocks) per run. The reference is about 40
times slower, so its outcomes for seeds 0-99 are stored (``tests/data/docking_reference.csv``,
written by ``tools/docking_reference.py``) and checked here by re-running a few of its seeds;
the vectorised users run 100 seeds in the test. The implementations agree if no outcome
differs by Welch's t-test at ``ALPHA`` = 0.001 (about 2% family-wise over 22 outcomes) and
every mean is within ``BOUND_SE`` standard errors of the reference's, the standard errors
measured over 100 seeds each: 0.1% (daily actives) to 4.6% (peer churn) for flows, 0.1% to
1.8% for stocks, so that a 20% change in any outcome fails (for the noisiest,
returns and peer churn, with a chance of about 0.9). Measured: vectorised users returning, dropping a rival
or catching churn from peers 20% more each fail it. A negative control shows the test does
catch a rule that differs."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from agents.docking import FLOWS, IMPLEMENTATIONS, OUTCOMES, STOCKS, STRESS, UserWorld, docking_run

STORED = Path(__file__).parent / "data" / "docking_reference.csv"
SEEDS = range(100)
RECHECKED = (0, 99)
"""Stored seeds the test runs the reference for again: their rows must be what it computes."""
ALPHA = 0.001
BOUND_SE = 4

RELATIVE_SE = {
    "churn_today": 0.0138, "churn_ads": 0.0216, "churn_privacy": 0.0244, "churn_peers": 0.0459,
    "churn_other": 0.0131, "returned_today": 0.0287, "multihoming_started": 0.0071,
    "multihoming_stopped": 0.0143, "rival_signups_privacy": 0.0111,
    "rival_signups_feature": 0.0136, "opt_outs_today": 0.0058, "users_daily_active": 0.0014,
    "users_active": 0.0016, "users_multihoming": 0.0083, "users_on_rival_privacy": 0.0127,
    "users_on_rival_feature": 0.0155, "share_data_optout": 0.0058, "share_promo_optin": 0.0052,
    "share_payments_linked": 0.0186, "mean_concern": 0.0029, "mean_annoyance": 0.0051,
    "mean_ad_responsiveness": 0.0011,
}
"""Standard error of (vectorised mean / reference mean - 1) with 100 seeds each, from the
spread of each implementation's outcome over 100 seeds (coefficients of variation 0.009 for
daily actives to 0.28 for returns)."""


def vectorised_outcomes(seeds: range = SEEDS, **params) -> pd.DataFrame:
    return pd.DataFrame([docking_run("vectorised", seed, **params) for seed in seeds])


def welch_pvalues(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    return pd.Series({c: stats.ttest_ind(a[c], b[c], equal_var=False).pvalue for c in RELATIVE_SE})


def relative_differences(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    return pd.Series({c: a[c].mean() / b[c].mean() - 1 for c in RELATIVE_SE})


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(STORED).set_index("seed").loc[list(SEEDS)]


@pytest.fixture(scope="module")
def vectorised() -> pd.DataFrame:
    return vectorised_outcomes()


def test_outcomes_cover_every_docking_column(reference):
    assert set(FLOWS) | set(STOCKS) == set(RELATIVE_SE) <= set(OUTCOMES)
    assert list(reference.columns) == [*FLOWS, *STOCKS]


@pytest.mark.parametrize("seed", RECHECKED)
def test_the_stored_reference_is_what_the_reference_computes(reference, seed):
    """The reference's rules, the docking world and ``STRESS`` still give the stored rows; after
    a change to any of them, rewrite the file with ``tools/docking_reference.py``."""
    computed = pd.Series(docking_run("reference", seed))[reference.columns]
    stale = "stale tests/data/docking_reference.csv: run tools/docking_reference.py"
    np.testing.assert_allclose(computed.to_numpy(float), reference.loc[seed].to_numpy(float), rtol=1e-9,
                               err_msg=stale)


def test_every_mechanism_fires_in_both(reference, vectorised):
    for df in (reference, vectorised):
        for column in FLOWS:
            assert (df[column] > 0).all(), column


def test_vectorised_users_agree_with_the_reference(reference, vectorised):
    pvalues = welch_pvalues(vectorised, reference)
    assert (pvalues > ALPHA).all(), pvalues[pvalues <= ALPHA].to_dict()
    relative = relative_differences(vectorised, reference)
    bound = BOUND_SE * pd.Series(RELATIVE_SE)
    off = relative.abs() > bound
    assert not off.any(), pd.DataFrame({"relative": relative, "bound": bound})[off].to_dict("index")
    assert bound.max() < 0.2


def test_the_docking_test_catches_a_changed_rule(reference):
    """Negative control: vectorised users whose ads annoy twice as fast are told apart, even
    over 24 seeds."""
    changed = vectorised_outcomes(range(24), annoyance_per_ad=2 * 0.01)
    pvalues = welch_pvalues(changed, reference)
    assert pvalues["mean_annoyance"] < 1e-8 and pvalues["churn_ads"] < ALPHA
    bound = BOUND_SE * RELATIVE_SE["mean_annoyance"]
    assert relative_differences(changed, reference)["mean_annoyance"] > bound


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


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_the_payment_rails_open_on_the_day_mesa_counts_as_the_full_model_does(implementation, monkeypatch):
    """Day k's dated caps apply on day k: the docking world passes Mesa's step count (already
    counted for today), as ``WhatsAppMarket.step`` passes its recorded day."""
    world = UserWorld(implementation=implementation, rng=1, n_users=200)
    days = []
    opened = world.payment_rails.open_day

    def open_day(day, linked_share):
        days.append(day)
        opened(day, linked_share)

    monkeypatch.setattr(world.payment_rails, "open_day", open_day)
    for _ in range(3):
        world.step()
    assert days == [1, 2, 3]
