"""The users' behaviour (issue 3): contagion, the privacy paradox, lock-in, calm quitting,
opt-outs; on the users alone (``agents.docking.UserWorld``), with fixed seeds.

Controlled comparisons give every user the same traits, so that only the factor under test
differs between the groups compared.
"""

import numpy as np
import pytest
from scipy import stats

from agents.docking import UserWorld
from agents.users import Presence, UserState, presence

SEEDS = range(8)


def same_traits(users) -> None:
    """Every user gets the population's mean traits."""
    for trait in ("daily_active", "status_propensity", "status_time", "ad_tolerance", "privacy_sensitivity",
                  "feature_appetite", "switching_cost"):
        values = getattr(users, trait)
        values[:] = values.mean()


def world(seed: int, **params) -> UserWorld:
    w = UserWorld(rng=seed, **({"n_users": 4000} | params))
    same_traits(w.population.users)
    return w


def left_within(w: UserWorld, days: int) -> np.ndarray:
    users = w.population.users
    ever_left = np.zeros(len(users), dtype=bool)
    for _ in range(days):
        w.step()
        ever_left |= users.state == UserState.CHURNED
    return ever_left


def test_contagion_a_user_whose_contacts_left_leaves_more():
    """Treated: users two or more of whose contacts quit on day 1; control: users with no
    contact who quit. Same traits and the same (settled) concern; the departures are made by
    the model's own rule (an unbearable annoyance), so exposure flows through the graph."""
    treated_rates, control_rates = [], []
    for seed in SEEDS:
        w = world(seed, data_sharing="mandatory", privacy_sensitivity_mean=0.9, switching_cost_mean=0.0,
                  switch_concern_weight=0.0, privacy_churn_slope=0.005, pool_headroom=0.0,
                  user_growth_per_year=0.0)
        users = w.population.users
        users.concern[:] = 0.77  # the level it settles at: 0.9 x 0.6 / (1 - 0.3)
        quitters = np.random.default_rng(seed).choice(len(users), 400, replace=False)
        users.annoyance[quitters] = 1e9  # certain to leave on day 1, by the ad rule
        is_quitter = np.zeros(len(users), dtype=bool)
        is_quitter[quitters] = True
        quitting_contacts = users.graph @ is_quitter.astype(float)
        treated = np.flatnonzero((quitting_contacts >= 2) & ~is_quitter)
        control = np.flatnonzero((quitting_contacts == 0) & ~is_quitter)
        assert len(treated) >= 50
        left = left_within(w, 30)
        assert left[quitters].all()
        treated_rates.append(left[treated].mean())
        control_rates.append(left[control].mean())
    treated_rates, control_rates = np.array(treated_rates), np.array(control_rates)
    assert treated_rates.mean() > 1.5 * control_rates.mean()
    assert stats.ttest_rel(treated_rates, control_rates, alternative="greater").pvalue < 0.01


def test_privacy_paradox_concern_raises_multihoming_far_more_than_leaving():
    def totals(sensitivity):
        rows = []
        for seed in SEEDS:
            w = UserWorld(rng=seed, n_users=3000, data_sharing="mandatory",
                          privacy_sensitivity_mean=sensitivity)
            for _ in range(365):
                w.step()
            df = w.datacollector.get_model_vars_dataframe()
            rows.append((df["multihoming_started"].sum(), df["churn_today"].sum(),
                         df["mean_concern"].mean()))
        return np.array(rows)

    calm, worried = totals(0.2), totals(0.6)
    assert (worried[:, 2] > calm[:, 2]).all()  # concern did rise
    extra_multihoming = worried[:, 0].mean() - calm[:, 0].mean()
    extra_leaving = worried[:, 1].mean() - calm[:, 1].mean()
    assert extra_leaving > 0
    assert extra_multihoming > 3 * extra_leaving


def test_lock_in_users_with_more_contacts_here_leave_less():
    """Half the graph is a pool that has not joined yet, so the share of a user's contacts
    on the platform varies widely; no contagion (multiplier 1) and the same concern."""
    high, low = [], []
    for seed in SEEDS:
        w = world(seed, data_sharing="mandatory", pool_headroom=1.0, user_growth_per_year=0.0,
                  peer_churn_multiplier=1.0, privacy_churn_slope=0.005, switching_cost_mean=1.0,
                  privacy_sensitivity_mean=0.8)
        users = w.population.users
        here = users.contact_share(Presence.HERE_ONLY)
        on = users.on_platform.copy()
        left = left_within(w, 120)
        high.append(left[on & (here >= 0.75)].mean())
        low.append(left[on & (here <= 0.25)].mean())
    assert np.mean(high) < 0.7 * np.mean(low)
    assert stats.ttest_rel(high, low, alternative="less").pvalue < 0.01


def test_calm_period_quitting_does_not_depend_on_contacts():
    """No ads, no data sharing, no events: users whose contacts just left quit at the same
    rate as the others, and no churn is put down to peers, ads or privacy."""
    exposed_left = exposed_days = calm_left = calm_days = 0
    for seed in SEEDS:
        w = UserWorld(rng=seed, n_users=4000, ad_load=0.0, promo_chance=0.0, data_sharing="off",
                      baseline_churn_per_year=1.0, return_per_year=0.0)
        users = w.population.users
        for _ in range(60):
            exposed = users.on_platform & (users.peer_exposure > 0.5)
            calm = users.on_platform & (users.peer_exposure == 0)
            w.step()
            left = users.state == UserState.CHURNED
            exposed_left += np.count_nonzero(exposed & left)
            exposed_days += np.count_nonzero(exposed)
            calm_left += np.count_nonzero(calm & left)
            calm_days += np.count_nonzero(calm)
        df = w.datacollector.get_model_vars_dataframe()
        assert df[["churn_ads", "churn_privacy", "churn_peers"]].to_numpy().sum() == 0
    assert exposed_days > 10_000
    rates = np.array([exposed_left / exposed_days, calm_left / calm_days])
    np.testing.assert_allclose(rates, 1.0 / 365, rtol=0.1)
    table = [[exposed_left, exposed_days - exposed_left], [calm_left, calm_days - calm_left]]
    assert stats.chi2_contingency(table).pvalue > 0.01


def test_without_data_sharing_or_events_privacy_churn_stays_at_zero():
    w = UserWorld(rng=3, n_users=3000, data_sharing="off")
    for _ in range(120):
        w.step()
    df = w.datacollector.get_model_vars_dataframe()
    assert df["churn_privacy"].sum() == 0 and df["mean_concern"].max() == 0
    assert df["rival_signups_privacy"].sum() == 0  # nobody has a reason to pick it
    assert df["rival_signups_feature"].sum() > 0


@pytest.mark.parametrize("mode", ["off", "opt_out", "mandatory"])
def test_opt_outs_appear_only_under_opt_out(mode):
    w = UserWorld(rng=4, n_users=3000, data_sharing=mode, media_shock_day=10, media_shock_size=3.0)
    for _ in range(60):
        w.step()
    opt_outs = w.datacollector.get_model_vars_dataframe()["opt_outs_today"].sum()
    assert (opt_outs > 0) == (mode == "opt_out")
    assert w.population.users.data_optout.any() == (mode == "opt_out")


def test_contact_counts_stay_equal_to_the_graph_after_a_busy_run():
    w = UserWorld(rng=5, n_users=3000, multihoming_rate=0.05, baseline_churn_per_year=1.0,
                  return_per_year=3.0, multihoming_drop_per_year=5.0)
    for _ in range(60):
        w.step()
    users = w.population.users
    group = presence(users.state, users.rival)
    for g in Presence:
        np.testing.assert_array_equal(users.contacts[g], users.graph @ (group == g).astype(np.float32))
    assert len(np.unique(group)) == 6  # every presence group (and the pool) occurs
