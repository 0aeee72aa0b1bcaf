"""Channel choice (model/channels.py): the logit between WhatsApp, SMS and e-mail, its own-price
elasticity at today's rate card, and price changes that move WhatsApp's volume both ways."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import totals

from model.channels import chat_app_appeal, own_price_elasticity, sms_prices, whatsapp_share
from model.market import WhatsAppMarket
from model.params import PARAMS, REGIONS, resolve

P = SimpleNamespace(**resolve())


def test_whatsapp_share_is_the_logit_against_sms_and_e_mail():
    """odds = appeal x (price / SMS price)^-beta; share = odds / (odds + 1 + e-mail's appeal)."""
    p = SimpleNamespace(**resolve({"channel_price_coefficient": 2.0, "email_appeal": 0.5}))
    price = np.array([0.001, 0.002, 0.004])
    share = whatsapp_share(price, 0.002, 3.0, p)
    odds = 3.0 * (price / 0.002) ** -2.0
    np.testing.assert_allclose(share, odds / (odds + 1.5), rtol=1e-12)
    assert np.all(np.diff(share) < 0)  # dearer, smaller share
    assert whatsapp_share(np.array(0.0), 0.002, 3.0, p) == pytest.approx(1.0)  # free: all of it
    assert whatsapp_share(np.array(1e3), 0.002, 3.0, p) < 1e-9  # prohibitive: none
    assert whatsapp_share(np.array([0.0, 0.001]), 0.002, 0.0, p).tolist() == [0.0, 0.0]  # no appeal: none


def test_own_price_elasticity_is_the_logit_derivative():
    """-beta (1 - share) equals d ln share / d ln price, numerically, at any share."""
    price = np.array([0.0005, 0.0014, 0.01, 0.1])
    sms = sms_prices(P)[0]
    appeal = chat_app_appeal(P, "utility", 0)
    step = 1e-6
    numeric = (np.log(whatsapp_share(price * (1 + step), sms, appeal, P))
               - np.log(whatsapp_share(price * (1 - step), sms, appeal, P))) / (2 * step)
    np.testing.assert_allclose(own_price_elasticity(whatsapp_share(price, sms, appeal, P), P), numeric,
                               rtol=1e-5)


def test_whatsapp_s_appeal_grows_as_traffic_moves_to_chat_apps():
    """+20%/yr ([juniper2025messaging]): after a year the odds are 1.2 times the day-0 odds."""
    assert chat_app_appeal(P, "marketing", 365) == pytest.approx(1.2 * P.whatsapp_appeal_marketing)
    assert chat_app_appeal(P, "authentication", 0) == P.whatsapp_appeal_authentication


def test_sms_is_dearer_than_whatsapp_authentication_by_the_record():
    """WhatsApp's authentication rates are 50-90% below A2P SMS ([juniper2025messaging])."""
    card = np.array([P.__dict__[f"price_authentication_{r}_usd"] for r in REGIONS])
    below = 1 - card / sms_prices(P)
    assert np.all((below >= 0.5) & (below <= 0.9))


def test_elasticity_of_whatsapp_volume_at_today_s_rate_card_is_near_minus_one():
    """At day 1 of a default run: each firm's intended sends by category and recipient's region,
    on WhatsApp at its logit share, weigh the elasticity -beta (1 - share). The record has no
    estimate (SOURCES.md#messaging-elasticity): near -1 overall, most elastic for codes (SMS is
    the closest substitute), least for marketing. Deterministic given the seed: -0.95 overall,
    marketing -0.68, utility -1.17, authentication -1.39 (seed 1, 20,000 users)."""
    model = WhatsAppMarket(rng=1, n_users=20_000)
    model.step()
    firms = model.firms
    plan = firms.plans()
    customers = np.array([np.bincount(model.users.region[f.customers], minlength=len(REGIONS))
                          for f in firms.members], dtype=float)
    elasticity, volume = {}, {}
    for category, rate in (("marketing", plan.marketing), ("utility", plan.utility + plan.order),
                           ("authentication", plan.authentication)):
        share = firms.channel_share[category]
        weight = rate[:, None] * customers * share
        volume[category] = weight.sum()
        elasticity[category] = (weight * own_price_elasticity(share, model.p)).sum() / weight.sum()
    overall = sum(elasticity[c] * volume[c] for c in volume) / sum(volume.values())
    assert -1.3 <= overall <= -0.7
    assert elasticity["authentication"] < elasticity["utility"] < elasticity["marketing"] < 0


@pytest.mark.parametrize("category", ["utility", "authentication"])
def test_a_price_cut_wins_whatsapp_volume_and_a_rise_loses_it(category):
    """Through the whole model (20 days, before any diffusion): with SMS priced at the
    category's default card, WhatsApp's appeal 1, no e-mail and no markup, WhatsApp's odds
    are 1 at the default card, 2 at half of it and 1/2 at twice it (beta 1): paid sends go
    from 1/2 to 2/3 and 1/3 of the firms' need, ratios 4/3 and 2/3. Over 10 seeds one seed's
    ratio has sd 0.040 and 0.027 (utility, 2,100 sends), 0.058 and 0.027 (authentication, 630):
    the mean of 5 seeds must be within 4 standard errors. Measured means: 1.348, 0.669
    (utility); 1.313, 0.676 (authentication). A beta of 2 (ratios 1.6 and 0.4), of 0.5 (1.17,
    0.83) or of 0.8 (0.73 at twice the card) fails."""
    default = {r: PARAMS[f"price_{category}_{r}_usd"].default for r in REGIONS}
    setting = {f"sms_price_{r}_usd": default[r] for r in REGIONS} | {
        "channel_price_coefficient": 1.0, f"whatsapp_appeal_{category}": 1.0, "email_appeal": 0.0,
        "bsp_markup_max": 0.0, "chat_rate": 0.0}  # no chats: no free utility in a service window

    def paid(factor, seed):
        prices = {f"price_{category}_{r}_usd": factor * default[r] for r in REGIONS}
        return totals(20, seed, **setting, **prices)[f"messages_{category}"]

    ratios = {factor: [] for factor in (0.5, 2.0)}
    for seed in range(5):
        base = paid(1.0, seed)
        for factor in ratios:
            ratios[factor].append(paid(factor, seed) / base)
    sd = {"utility": (0.040, 0.027), "authentication": (0.058, 0.027)}[category]
    assert np.mean(ratios[0.5]) == pytest.approx(4 / 3, abs=4 * sd[0] / math.sqrt(5))
    assert np.mean(ratios[2.0]) == pytest.approx(2 / 3, abs=4 * sd[1] / math.sqrt(5))
