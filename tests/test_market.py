"""The assembled model (``model.market.WhatsAppMarket``): the day's row and its accounting
identities, reproducibility, Mesa's tools, future streams after their launch, the effect of
ad load and of data sharing, customers in proportion to business affinity."""

import numpy as np
import pandas as pd
import pytest
from conftest import run_model
from scipy import stats

from agents import Enterprise, SmallBusiness, UserPopulation
from model.ledger import STREAMS
from model.market import WhatsAppMarket
from model.metrics import COLUMNS
from model.params import PARAMS


def test_defaults_construct_and_step():
    model = WhatsAppMarket(rng=0, n_users=2000)
    model.step()
    assert model.today["day"] == 1
    assert model.today["users_active"] > 1900


def test_collects_every_result_column_each_day(small_run):
    _, df = small_run
    assert list(df.columns) == COLUMNS
    assert df["day"].tolist() == list(range(1, 61))


def test_revenue_streams_sum_to_total_each_day(small_run):
    _, df = small_run
    streams = df[[f"revenue_{s}" for s in STREAMS]].sum(axis=1)
    np.testing.assert_allclose(streams, df["revenue_total"], rtol=1e-12)
    assert (df["revenue_total"] > 0).all()
    assert df["revenue_total"].nunique() > 50  # revenue moves day by day, it is not a constant


def test_user_accounting_identity_each_day(small_run):
    _, df = small_run
    identity = df["users_total"] - df["users_churned_total"] + df["users_returned_total"]
    assert (df["users_active"] == identity).all()
    assert df["users_churned_total"].iloc[-1] > 0 and df["users_joined"].sum() > 0


def test_churn_causes_add_up_to_churn(small_run):
    _, df = small_run
    causes = df[["churn_ads", "churn_privacy", "churn_peers", "churn_other"]].sum(axis=1)
    np.testing.assert_allclose(causes, df["churn_today"], atol=1e-6)


def _replicated(seeds, **params) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        df = run_model(days=90, seed=seed, **params).datacollector.get_model_vars_dataframe()
        rows.append({"seed": seed, "display": df["revenue_display_ads"].sum(),
                     "churn_ads": df["churn_ads"].sum(), "churn_privacy": df["churn_privacy"].sum(),
                     "annoyance": df["mean_annoyance"].iloc[-1]})
    return pd.DataFrame(rows)


def test_more_ad_load_raises_display_revenue_and_ad_churn():
    """The direction through the whole model, seed by seed: measured over 12 seeds, ad load 0.2
    against 0.02 gives 4.4 times the display revenue (per-seed sd 1.05), 2.4 times the
    annoyance (sd 0.38) and 2.2 times the ad-driven churn (sd 0.53). Replicates this noisy
    cannot size the rules: annoyance per ad and the ad churn slope are pinned exactly by
    ``test_users.py`` (``annoyance_after``, ``churn_hazard``)."""
    seeds = range(6)
    low = _replicated(seeds, ad_load=0.02)
    high = _replicated(seeds, ad_load=0.2)
    assert (high["display"] > low["display"]).all()
    assert (high["annoyance"] > low["annoyance"]).all()
    # paired over common seeds: one-sided t-test on the extra ad-driven churn
    diff = high["churn_ads"] - low["churn_ads"]
    assert diff.mean() > 0
    assert stats.ttest_1samp(diff, 0, alternative="greater").pvalue < 0.01


def test_no_data_sharing_means_no_privacy_churn_and_no_opt_outs():
    model = run_model(days=90, seed=2, data_sharing="off")
    df = model.datacollector.get_model_vars_dataframe()
    assert df["churn_privacy"].sum() == 0
    assert df["opt_outs_today"].sum() == 0
    assert df["impressions_personalised"].sum() == 0
    shared = run_model(days=90, seed=2, data_sharing="mandatory").datacollector
    assert shared.get_model_vars_dataframe()["churn_privacy"].sum() > 0


def test_same_seed_same_numbers_and_other_seed_differs():
    a = run_model(days=15, seed=11).datacollector.get_model_vars_dataframe()
    b = run_model(days=15, seed=11).datacollector.get_model_vars_dataframe()
    c = run_model(days=15, seed=12).datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(a, b)
    assert not a["revenue_total"].equals(c["revenue_total"])


def test_future_streams_only_after_launch_day():
    df = run_model(days=40, seed=4, shopping_section=True, shopping_launch_day=20,
                   virtual_goods=True, virtual_goods_launch_day=30).datacollector
    df = df.get_model_vars_dataframe()
    assert (df.loc[df["day"] < 30, "revenue_stickers"] == 0).all()
    assert df.loc[df["day"] >= 30, "revenue_stickers"].sum() > 0
    commerce_before = df.loc[df["day"].between(1, 19), "revenue_commerce"].mean()
    commerce_after = df.loc[df["day"] >= 20, "revenue_commerce"].mean()
    assert commerce_after > 1.2 * commerce_before


def test_the_users_are_one_mesa_agent(small_run):
    model, _ = small_run
    assert len(model.agents_by_type[UserPopulation]) == 1


def test_one_user_can_be_inspected(small_run):
    model, _ = small_run
    user = model.users[5]
    assert user["state"] in {"potential", "active", "multihoming", "churned"}
    assert 0 <= user["privacy_sensitivity"] <= 1
    assert len(user["contacts"]) >= 1


def test_mesa_batch_run_runs_the_model_unchanged():
    import mesa

    rows = mesa.batch_run(WhatsAppMarket, parameters={"n_users": 1000, "ad_load": [0.0, 0.1]},
                          rng=[1], max_steps=5, data_collection_period=1, number_processes=1,
                          display_progress=False)
    df = pd.DataFrame(rows)
    assert len(df) == 10
    assert {"revenue_total", "users_active", "ad_load"} <= set(df.columns)
    assert df.loc[df["ad_load"] == 0.0, "revenue_display_ads"].sum() == 0
    assert df.loc[df["ad_load"] == 0.1, "revenue_display_ads"].sum() > 0


def test_heavier_messagers_deal_with_more_businesses():
    """Firms draw customers in proportion to business affinity (capped messages a day), so
    a user's number of business relations is proportional to her affinity."""
    model = WhatsAppMarket(rng=5, n_users=20_000, burn_in_days=0)  # the firms as drawn
    users = model.users
    relations = np.zeros(len(users))
    for firm in model.firms.of_type(SmallBusiness | Enterprise):
        np.add.at(relations, firm.customers, 1)
    affinity = users.business_affinity
    assert affinity.mean() == pytest.approx(1.0, rel=1e-5)
    low, high = affinity < np.quantile(affinity, 0.2), affinity > np.quantile(affinity, 0.8)
    assert affinity[high].mean() > 3 * affinity[low].mean()
    observed = relations[high].mean() / relations[low].mean()
    assert observed == pytest.approx(affinity[high].mean() / affinity[low].mean(), rel=0.15)
    per_user = model.p.smb_relations_per_user + model.p.enterprise_relations_per_user
    assert relations.mean() == pytest.approx(per_user, rel=0.1)


# --- the warm start ------------------------------------------------------------------------------
def concern_first_month_over_next_three(burn_in_days: int, seed: int) -> float:
    model = WhatsAppMarket(rng=seed, n_users=3000, burn_in_days=burn_in_days)
    for _ in range(120):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    return df.loc[df["day"] <= 30, "mean_concern"].mean() / df.loc[df["day"] > 30, "mean_concern"].mean()


def test_a_run_starts_in_its_calm_state_after_the_burn_in():
    """Measured at 5,000 users over 4 seeds with the default burn-in: mean concern over days
    1-30 is 1.011-1.020 times that over days 31-120; here, at 3,000 users on 2 seeds, it must
    be within 5%. A cold start (no burn-in) begins with nobody concerned: about 0.6."""
    for seed in (0, 1):
        assert concern_first_month_over_next_three(PARAMS["burn_in_days"].default, seed) == pytest.approx(
            1.0, abs=0.05)
    assert concern_first_month_over_next_three(0, 0) < 0.8


def test_the_record_starts_on_day_1_after_the_burn_in_and_events_keep_their_dates():
    model = WhatsAppMarket(rng=3, n_users=2000, burn_in_days=40, media_shock_day=5)
    assert model.steps == 0 and model.time == 40
    for _ in range(8):
        model.step()
    df = model.datacollector.get_model_vars_dataframe().set_index("day")
    assert list(df.index) == list(range(1, 9))
    assert (df.loc[1:4, "media_attention"] == 0).all() and df.loc[5, "media_attention"] > 0
    # the books and counters start at day 1: the identity of the user stocks holds from there
    identity = df["users_total"] - df["users_churned_total"] + df["users_returned_total"]
    assert (identity == df["users_active"]).all()
    assert df["users_churned_total"].iloc[0] == df["churn_today"].iloc[0]
    assert model.ledger.lifetime.sum() == pytest.approx(df["revenue_total"].sum() / model.scale)
