"""Enterprises (agents/enterprise.py): Bass diffusion of the Business Platform among firms, the
upsell from authentication to utility to marketing, real firms that add up (providers' takings
against the platform's messaging fees) and paid messaging's growth; with fixed seeds."""

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import SMALL

from agents import Enterprise, SmallBusiness
from agents.enterprise import bass_adoptions, upsold_shares
from model.market import WhatsAppMarket
from model.params import PARAMS, REGIONS, resolve

P = SimpleNamespace(**resolve())
PAID = ["revenue_marketing", "revenue_utility", "revenue_authentication", "revenue_service"]


def test_bass_adoptions_follow_p_and_q_and_stop_at_the_potential():
    """(p + q A/M)(M - A) a year ([sultan1990meta]: p 0.03, q 0.38); none at or above M."""
    assert bass_adoptions(0.0, 1000.0, P, 1.0) == pytest.approx(30.0)
    assert bass_adoptions(200.0, 1000.0, P, 0.5) == pytest.approx((0.03 + 0.38 * 0.2) * 800 * 0.5)
    assert bass_adoptions(1000.0, 1000.0, P, 1.0) == 0.0
    assert bass_adoptions(1200.0, 1000.0, P, 1.0) == 0.0  # a dearer WhatsApp: nobody joins, nobody leaves


def test_upsold_shares_are_the_steady_state_of_a_growing_cohort():
    """Entrants at authentication, moves up at rate r, growth g: shares r/(g+r) and its square,
    the fixed point of a month's upsell and dilution (checked by iterating them)."""
    utility, marketing = upsold_shares(0.5, P)
    r = P.upsell_per_year
    assert (utility, marketing) == pytest.approx((r / (0.5 + r), (r / (0.5 + r)) ** 2))
    u, k, dt = 0.0, 0.0, 1 / 1200
    for _ in range(40_000):
        k += r * dt * (u - k)
        u += r * dt * (1 - u)
        u, k = u / (1 + 0.5 * dt), k / (1 + 0.5 * dt)
    assert (u, k) == pytest.approx((utility, marketing), rel=1e-3)
    assert upsold_shares(0.5, SimpleNamespace(upsell_per_year=0.0)) == (0.0, 0.0)


def test_day_zero_cohorts_are_a_small_base_of_real_firms_all_onboarded():
    """5e4 real firms at day 0 ([mobilesquared2020api]), split by size, a fifth or so of their
    market potential; each with a provider; upsold shares below 1."""
    model = WhatsAppMarket(rng=1, **SMALL)
    cohorts = model.firms.of_type(Enterprise)
    assert sum(e.real_firms for e in cohorts) == pytest.approx(P.real_enterprises)
    assert all(e.provider is not None for e in cohorts)
    adopted = sum(e.real_firms for e in cohorts) / sum(e.market_potential() for e in cohorts)
    assert 0.05 < adopted < 0.3
    assert all(0 < e.marketing_share < e.utility_share < 1 for e in cohorts)


def test_enterprises_and_partners_fall_in_every_region_in_proportion_to_their_customers():
    """Their customers are spread over all regions (ids sorted by region): by the first one,
    nearly all of them sat in the India-like region; by a random one, about half do (its
    weight, 0.5), and every region has some."""
    model = WhatsAppMarket(rng=5, **(SMALL | {"n_enterprises": 80}))
    spread = [f for f in model.firms.members if not isinstance(f, SmallBusiness)]
    regions = np.bincount([f.region for f in spread], minlength=len(REGIONS))
    assert len(spread) > 90 and np.all(regions > 0)
    assert regions[0] / len(spread) == pytest.approx(0.5, abs=0.15)  # ~3 sd of a binomial share


def test_the_business_platform_diffuses_from_day_1_not_on_the_night_before():
    """A burn-in of whole months puts a monthly review on the night before day 1, after the
    record has started: its firms must not diffuse (the burn-in settles the world as it stands
    on day 1), while the review before day 31 must."""
    model = WhatsAppMarket(rng=2, **(SMALL | {"burn_in_days": 30}))
    cohort = model.firms.of_type(Enterprise)[0]  # set up on day 0 (graduates join cohorts of their own)
    before = (cohort.real_firms, cohort.utility_share)
    model.step()
    assert (cohort.real_firms, cohort.utility_share) == before
    for _ in range(30):
        model.step()
    assert cohort.real_firms > before[0] and cohort.utility_share > before[1]


def test_a_month_of_diffusion_brings_adopters_with_customers_who_start_with_codes():
    model = WhatsAppMarket(rng=2, **SMALL)
    firm = model.firms.of_type(Enterprise)[0]
    adopters, customers, utility = firm.real_firms, len(firm.customers), firm.utility_share
    expected = bass_adoptions(adopters, firm.market_potential(), model.p, 30 / 365)
    step = model.p.upsell_per_year * 30 / 365
    firm.diffuse()
    assert firm.real_firms == pytest.approx(adopters + expected)
    upsold = utility + step * (1 - utility)
    assert firm.utility_share == pytest.approx(upsold * adopters / (adopters + expected))
    # new customers in proportion to new firms (fewer where some were customers already)
    assert customers < len(firm.customers) <= customers * (1 + 1.5 * expected / adopters) + 5


def test_a_dearer_whatsapp_shrinks_the_market_potential_and_slows_adoption():
    """Onboarding responds to prices through the channel choice: at twice the authentication
    card WhatsApp's share of codes, hence the potential, falls; so do the year's adopters."""
    def adopters_after_a_year(factor):
        prices = {f"price_authentication_{r}_usd": factor * PARAMS[f"price_authentication_{r}_usd"].default
                  for r in REGIONS}
        model = WhatsAppMarket(rng=3, **SMALL, api_move_chats_per_day=1e6, **prices)
        potential = sum(e.market_potential() for e in model.firms.of_type(Enterprise))
        model.step()  # diffusion starts with day 1
        for _ in range(12):
            model.firms.review_month()
        return potential, sum(e.real_firms for e in model.firms.of_type(Enterprise))

    cheap, dear = adopters_after_a_year(0.5), adopters_after_a_year(2.0)
    assert dear[0] < 0.6 * cheap[0]
    assert P.real_enterprises < dear[1] < cheap[1]


def test_providers_take_under_a_fifth_of_the_platform_s_messaging_fees(two_year_baseline):
    """Providers' markups and monthly fees (chatbot and CRM included) over the platform's paid
    messaging, each year (SOURCES.md#bsp-fees: 0-20% on Meta's fee plus $0-350 a month).
    Measured over 4 seeds: 8-15% in year 1 (mean 11.3), 12-19% in year 2 (mean 15.0; sd 3.0
    and 2.8 points a seed); the mean over seeds must stay within 0-20% each year. With
    real_enterprises at the old 1e6 it is several times the messaging fees."""
    for year in (slice(0, 365), slice(365, 730)):
        shares = []
        for df in two_year_baseline:
            taken = df["provider_takings_total"].iloc[year.stop - 1] - (
                df["provider_takings_total"].iloc[year.start - 1] if year.start else 0.0)
            shares.append(taken / df[PAID].iloc[year].to_numpy().sum())
        assert 0 < np.mean(shares) < 0.2, (year, shares)


def test_the_business_side_grows_paid_messaging_as_the_record(two_year_baseline):
    """Year 2 over year 1 of paid messaging with the defaults: Bass adoption, upsell and the
    shift from SMS grow it 37-46% (4 seeds at 10,000 users, mean 42.8%, sd 3.9 points a
    seed), with the users' promotional opt-in steady (35.6% to 33.5%, the warm start); the
    record says +48-59% a year, 40-60% (SOURCES.md#target-12). Bound: the mean over seeds
    within 40-65%."""
    growth = [df[PAID].iloc[365:730].to_numpy().sum() / df[PAID].iloc[:365].to_numpy().sum() - 1
              for df in two_year_baseline]
    assert 0.4 < np.mean(growth) < 0.65, growth
