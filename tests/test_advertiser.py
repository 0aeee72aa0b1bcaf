"""Advertisers: budgets that grow only when they bind and pay, brands that buy reach and pay
creators in the books but outside revenue, branded sticker packs in holiday drops."""

import numpy as np
import pytest
from conftest import run_model

from agents import Advertiser
from agents.advertiser import Advertisers
from model.ledger import CREATORS, PLATFORM


@pytest.mark.parametrize(("spent_share", "worth", "ceiling", "change"), [
    (1.0, 2.0, 1e12, 1.02),  # the budget ran out and paid: more budget would buy more
    (0.5, 2.0, 1e12, 1.0),   # it paid but half was left: more budget would buy nothing
    (0.5, 1.0, 1e12, 0.98),  # it was worth less than 1.05 x its cost
    # near its ceiling: on average it paid (150 (1 - e^-4/3) = 110.5 for 100), but the last
    # click was worth 2 e^-4/3 = 0.53 of its price, so the budget stops growing
    (1.0, 2.0, 150.0, 1.0),
    (1.0, 2.0, 50.0, 0.98),  # the value saturated below the spend: it shrinks
])
def test_advertisers_grow_budgets_only_when_they_bind_and_pay_at_the_margin(spent_share, worth, ceiling,
                                                                             change):
    model = run_model(days=1, seed=1, brand_advertiser_share=0.0)
    advertiser = next(iter(model.agents_by_type[Advertiser]))
    advertiser.daily_budget_usd = budget = 100.0
    advertiser.value_ceiling_usd = ceiling
    model.ledger.book(advertiser.account, PLATFORM, "display_ads", spent_share * budget)
    advertiser.record(clicks=spent_share * budget * worth / advertiser.click_value_usd, seen=0.0)
    advertiser.adapt()
    assert advertiser.daily_budget_usd == pytest.approx(budget * change)


def test_brands_pay_for_sticker_packs_in_holiday_drops_only():
    """Stickers from users start at the store's launch; brands pay on each drop's first day."""
    model = run_model(days=50, seed=3, virtual_goods=True, virtual_goods_launch_day=40,
                      holiday_sticker_boost=3.0)
    df = model.datacollector.get_model_vars_dataframe().set_index("day")
    assert (df.loc[:39, "revenue_stickers"] == 0).all()
    budgets = sum(a.daily_budget_usd for a in model.agents_by_type[Advertiser])
    assert budgets > 0
    # the store opens on day 40, after day 45's drop of the year was scheduled: a drop on day 45
    brand = df.loc[45, "revenue_stickers"] - df.loc[46, "revenue_stickers"]
    assert brand > 0.5 * 0.02 * 30 * budgets * model.scale


def test_brands_bid_for_reach_and_pay_creators_outside_revenue_and_their_posts_annoy():
    def run(weight):
        return run_model(days=20, seed=6, brand_advertiser_share=0.5, influencer_budget_share=0.3,
                         influencer_annoyance_weight=weight)

    model = run(1.0)
    ledger = model.ledger
    advertisers = list(model.agents_by_type[Advertiser])
    brands = [a for a in advertisers if a.is_brand]
    assert brands and len(brands) < len(advertisers)
    for a in advertisers:
        assert (ledger.paid_by(a.account, "creator_payments") > 0) == a.is_brand
    group = Advertisers(advertisers)
    low, high = group.bids(np.full(len(group), 0.001)), group.bids(np.full(len(group), 0.01))
    assert np.array_equal(low[group.brand], group.impression_value[group.brand])  # reach, not clicks
    assert np.array_equal(high[group.brand], low[group.brand])
    assert np.allclose(high[~group.brand], 10 * low[~group.brand])
    df = model.datacollector.get_model_vars_dataframe()
    assert df["influencer_spend"].sum() == pytest.approx(ledger.received_by(CREATORS) * model.scale, rel=1e-9)
    revenue = df["revenue_total"].sum()
    assert ledger.received_by(PLATFORM) * model.scale == pytest.approx(revenue, rel=1e-9)
    assert model.today["mean_annoyance"] > run(0.0).today["mean_annoyance"]


def test_a_regions_group_holds_the_same_rows_as_a_group_of_its_members():
    model = run_model(days=3, seed=2, brand_advertiser_share=0.5, influencer_budget_share=0.3)
    group = Advertisers(model.advertisers)
    for region in np.unique(group.region).tolist():
        taken = group.in_region(region)
        built = Advertisers([a for a in model.advertisers if a.region == region])
        assert taken.members == built.members and len(taken) > 0
        for name, values in vars(built).items():
            if isinstance(values, np.ndarray):
                assert np.array_equal(getattr(taken, name), values), name
        for stream, budget in built.budget.items():
            assert np.array_equal(taken.budget[stream], budget), stream
