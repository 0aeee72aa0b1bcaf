"""The platform's rules: caps, opt-in, senders' quality limits and users' blocks, billing at
the rate card, targeting that needs data, click-to-chat prices; and its separation from the
users (no user array written, its own random stream)."""

import math

import numpy as np
import pytest
from conftest import SMALL, run_model, totals

from agents import Enterprise
from agents.advertiser import Advertisers
from model.exposure import Blocks, Exposure
from model.market import WhatsAppMarket
from model.params import PARAMS, REGIONS

SEEDS = range(4)


def recording_sends(model, categories):
    """Wrap ``platform.send`` to keep (category, senders, recipients, recipients' opt-in at
    the time) of what it delivered."""
    log = []
    send = model.platform.send

    def recording(category, senders, recipients, unit_price_usd=None):
        ok = send(category, senders, recipients, unit_price_usd)
        if category in categories:
            got = recipients[ok]
            log.append((category, senders[ok].copy(), got.copy(), model.users.promo_optin[got].copy()))
        return ok

    model.platform.send = recording
    return log


def test_promotional_messages_reach_only_opted_in_users_within_weekly_caps():
    model = WhatsAppMarket(rng=3, **SMALL, sponsored_cap_per_week=1, marketing_cap_per_week=2)
    log = recording_sends(model, ("sponsored", "marketing"))
    n = len(model.users)
    weekly = {"sponsored": np.zeros(n, int), "marketing": np.zeros(n, int)}
    for _ in range(28):
        for counts in weekly.values():  # each user's cap week starts on her own weekday
            counts[model.platform.week_phase(int(model.time) + 1)] = 0  # the coming day, burn-in counted
        log.clear()
        model.step()
        for category, _, got, opted_in in log:
            assert opted_in.all()
            np.add.at(weekly[category], got, 1)
        assert weekly["sponsored"].max() <= 1 and weekly["marketing"].max() <= 2
    df = model.datacollector.get_model_vars_dataframe()
    assert df["messages_sponsored"].sum() > 0 and df["messages_marketing"].sum() > 0


def test_a_weekly_cap_binds_across_senders_for_messages_offered_the_same_day():
    """Three senders offer one user three marketing messages under a cap of two: two get
    through, whichever senders they are."""
    model = WhatsAppMarket(rng=1, **SMALL, marketing_cap_per_week=2, promo_optin_share=1.0)
    model.platform.open_day()
    user = int(np.flatnonzero(model.users.on_platform)[0])
    senders = np.array([f.account for f in model.firms.of_type(Enterprise)[:3]])
    ok = model.platform.send("marketing", senders, np.full(3, user))
    assert ok.sum() == 2
    assert model.platform.exposure.promo_messages[user] == 2
    assert not model.platform.send("marketing", senders[:1], np.array([user])).any()


def test_templates_are_billed_at_the_recipient_s_regional_rate():
    model = WhatsAppMarket(rng=2, **SMALL)
    model.platform.open_day()
    users = model.users
    firm = model.firms.of_type(Enterprise)[0]
    spans = [users.region_span[r] for r in range(len(REGIONS))]
    recipients = np.array([span.start + np.flatnonzero(users.on_platform[span])[0] for span in spans])
    model.platform.send("utility", np.full(3, firm.account), recipients)
    expected = sum(PARAMS[f"price_utility_{r}_usd"].default for r in REGIONS)
    assert model.ledger.paid_today(firm.account, "utility") == pytest.approx(expected, rel=1e-12)
    free = model.platform.send("utility", np.full(3, firm.account), recipients, np.zeros(3))
    assert free.all() and model.ledger.paid_today(firm.account, "utility") == pytest.approx(expected)


def test_a_sender_whose_quality_falls_gets_a_lower_limit_and_blockers_hear_no_more():
    model = WhatsAppMarket(rng=3, **SMALL, block_per_annoyance=0.05)
    users = model.users
    spammer = max(model.firms.of_type(Enterprise), key=lambda e: len(e.customers))
    log = recording_sends(model, ("marketing",))
    history = []
    for _ in range(40):
        users.annoyance[spammer.customers] = 5.0  # its audience is furious
        limit = model.platform.ratings.daily_limit(np.array([spammer.account]))[0]
        blocked_before = model.platform._blocked.copy()
        log.clear()
        model.step()
        got = np.concatenate([r[s == spammer.account] for _, s, r, _ in log])
        history.append((got, blocked_before, limit))
    limits = [limit for _, _, limit in history]
    assert limits[0] == math.inf and limits[-1] < 0.01 * len(spammer.customers)
    assert all(len(got) <= limit for got, _, limit in history)
    n = len(users)
    assert all(not np.isin(spammer.account * n + got, blocked).any() for got, blocked, _ in history)
    assert model.platform.ratings.low[spammer.account]
    df = model.datacollector.get_model_vars_dataframe()
    assert df["marketing_over_limit"].sum() > 0 and df["blocks_today"].sum() > 0
    assert df["senders_low_quality"].iloc[-1] >= 1


def test_a_blocked_sender_reaches_its_blockers_no_more():
    """A block recorded today stops that sender's marketing to that user from tomorrow on,
    and only that sender's, and only to that user."""
    model = WhatsAppMarket(rng=1, **SMALL, promo_optin_share=1.0, marketing_cap_per_week=50)
    platform = model.platform
    platform.open_day()
    users = np.flatnonzero(model.users.on_platform)[:3]
    a, b = (f.account for f in model.firms.of_type(Enterprise)[:2])
    platform.record_blocks(Blocks(senders=np.array([a]), users=users[:1], delivered_by={a: 1}))
    assert platform.has_blocked(np.array([a, a, b]), np.array([users[0], users[1], users[0]])).tolist() == [
        True, False, False]
    sent = platform.send("marketing", np.array([a, a, b]), np.array([users[0], users[1], users[0]]))
    assert sent.tolist() == [False, True, True]


def test_without_data_sharing_no_impression_is_personalised_and_click_through_falls():
    for seed in SEEDS:
        off = totals(30, seed, data_sharing="off")
        on = totals(30, seed, data_sharing="mandatory")
        assert off["impressions_personalised"] == 0 and on["impressions_personalised"] > 0
        ctr_off = off["display_clicks"] / off["impressions_contextual"]
        ctr_on = on["display_clicks"] / (on["impressions_personalised"] + on["impressions_contextual"])
        # below the untargeted click-through by the viewers' learned blindness, not far below
        assert 0.7 * PARAMS["ctr_contextual"].default < ctr_off < PARAMS["ctr_contextual"].default
        assert ctr_on > 1.1 * ctr_off


def test_click_to_chat_price_clears_budgets_against_inventory_above_the_reserve():
    model = WhatsAppMarket(rng=4, **SMALL)
    model.users.start_day()
    platform = model.platform
    supply = np.array([len(model.users.active_in_region(r)) for r in range(len(REGIONS))])
    platform.price_click_to_chat(np.zeros(len(REGIONS)))
    reserve = model.p.ctwa_cpc_usd * platform.ad_price_index
    assert platform.click_to_chat_price == pytest.approx(reserve)
    budget = 100 * reserve * supply * model.p.ctwa_clicks_per_user_day
    platform.price_click_to_chat(budget)
    assert platform.click_to_chat_price == pytest.approx(100 * reserve)


def test_the_platform_writes_no_user_array_and_fills_the_exposure_record():
    """After routing and auctions, every user array is as the users left it; what crossed
    is in the day's ``Exposure``."""
    model = run_model(days=3, seed=5)
    users = model.users
    exposure = model.platform.open_day()
    users.start_day()
    before = {k: v.copy() for k, v in vars(users).items() if isinstance(v, np.ndarray)}
    model.firms.trade()
    model.platform.run_ad_auctions(Advertisers(model.advertisers))
    for name, array in before.items():
        if name != "payments_linked":  # P2P recipients link their accounts (a user's choice)
            assert np.array_equal(array, getattr(users, name)), name
    assert isinstance(exposure, Exposure)
    assert exposure.display_ads.sum() > 0 and exposure.promo_messages.sum() > 0
    senders, recipients = exposure.marketing_deliveries
    assert len(senders) == len(recipients) > 0


def test_more_firm_traffic_does_not_shift_the_users_random_draws():
    """The platform and the firms draw from their own streams: with every user reaction to
    messages switched off, doubling the firms' marketing leaves the users' days identical."""
    quiet = dict(annoyance_per_message=0.0, block_per_annoyance=0.0, promo_optout_rate=0.0,
                 promo_optin_rate=0.0, ad_churn_slope=0.0)
    a = run_model(days=20, seed=6, **quiet).datacollector.get_model_vars_dataframe()
    double = 2 * PARAMS["marketing_rate"].default
    b = run_model(days=20, seed=6, marketing_rate=double, **quiet).datacollector.get_model_vars_dataframe()
    assert b["messages_marketing"].sum() > 1.5 * a["messages_marketing"].sum()
    for column in ("users_daily_active", "churn_today", "multihoming_started", "opt_outs_today",
                   "users_joined", "mean_concern"):
        assert a[column].equals(b[column]), column
