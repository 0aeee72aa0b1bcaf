"""Small businesses over months (B3): growth, exit, the move to the Business Platform, and
decisions taken per real firm whatever the sample size; with fixed seeds."""

import numpy as np
import pytest
from conftest import SMALL

from agents import Enterprise, SmallBusiness
from model.market import WhatsAppMarket


def months(model: WhatsAppMarket, n: int) -> WhatsAppMarket:
    for _ in range(30 * n + 1):  # the review runs before day 31, 61, ...
        model.step()
    return model


def test_losing_firms_exit_after_three_months_and_entrants_keep_the_count():
    model = months(WhatsAppMarket(rng=1, **SMALL, smb_fixed_cost_usd_month=1000.0), 4)
    assert model.today["smb_exits"] == SMALL["n_smbs"]  # all lose; each closes after 3 reviews
    assert len(model.agents_by_type[SmallBusiness]) == SMALL["n_smbs"]
    assert model.firms.of_type(SmallBusiness) == list(model.agents_by_type[SmallBusiness])
    free = months(WhatsAppMarket(rng=1, **SMALL, smb_fixed_cost_usd_month=0.0,
                                 tool_effort_usd_month=0.0, premium_price_usd_month=1000.0), 4)
    assert free.today["smb_exits"] < 0.2 * SMALL["n_smbs"]  # only those whose ads lose money


def test_profitable_firms_grow_by_word_of_mouth():
    """Three monthly reviews at 20% a month: at most 1.2^3 = 1.73x the customers, less for
    firms that lose money or whose new customers were theirs already. Measured over 10 seeds:
    1.356x the customers of the same firms without growth (per-seed sd 0.116, smallest 1.18).
    Here, on 4 seeds, each ratio must be above 1.05 and below 1.73, and their mean within 4
    standard errors of 1.356. A growth rate 20% lower gives 1.28 (10 seeds), which this cannot
    tell apart: the rate is pinned exactly by the two tests below."""
    def customers(growth, seed):
        model = months(WhatsAppMarket(rng=seed, **SMALL, smb_fixed_cost_usd_month=0.0,
                                      smb_growth_per_year=growth), 3)
        model.firms.plans()  # refreshes the index of customers
        everyone = np.concatenate([f.customers for f in model.firms.members])
        assert np.array_equal(model.firms.customers, everyone)
        return sum(len(f.customers) for f in model.firms.of_type(SmallBusiness))

    ratios = [customers(2.4, seed) / customers(0.0, seed) for seed in range(4)]
    assert min(ratios) > 1.05 and max(ratios) < 1.2**3
    assert np.mean(ratios) == pytest.approx(1.356, abs=4 * 0.116 / 2)


def test_word_of_mouth_tells_a_share_of_the_customers_and_adds_their_contacts():
    """``grow(share)``: a Poisson number of customers, of mean share x customers, each tell one
    of their contacts, who become customers (the old ones stay)."""
    model = WhatsAppMarket(rng=2, **SMALL)
    firm = max(model.firms.of_type(SmallBusiness), key=lambda f: len(f.customers))
    stream, means = model.org_rng, []

    class RecordingStream:
        """The firms' stream, recording the mean of each Poisson draw."""

        def __getattr__(self, name):
            return getattr(stream, name)

        def poisson(self, lam, *args, **kwargs):
            means.append(lam)
            return stream.poisson(lam, *args, **kwargs)

    model.org_rng = RecordingStream()
    before = firm.customers.copy()
    firm.grow(0.2)
    assert means == [pytest.approx(0.2 * len(before))]
    new = np.setdiff1d(firm.customers, before)
    assert len(new) > 0 and np.isin(before, firm.customers).all()
    graph = model.users.graph
    for user in new:  # each a contact of an old customer
        assert np.isin(graph.indices[graph.indptr[user]:graph.indptr[user + 1]], before).any()


def test_each_monthly_review_grows_the_firms_that_earn_by_a_twelfth_of_the_yearly_rate(monkeypatch):
    verdicts, shares = [], []
    outlook, grow = SmallBusiness.outlook, SmallBusiness.grow

    def recording_outlook(firm):
        verdicts.append(outlook(firm))
        return verdicts[-1]

    def recording_grow(firm, share):
        shares.append(share)
        grow(firm, share)

    monkeypatch.setattr(SmallBusiness, "outlook", recording_outlook)
    monkeypatch.setattr(SmallBusiness, "grow", recording_grow)
    months(WhatsAppMarket(rng=1, **SMALL, smb_fixed_cost_usd_month=0.0, smb_growth_per_year=2.4), 1)
    assert len(verdicts) == SMALL["n_smbs"] and verdicts.count("grow") > SMALL["n_smbs"] / 2
    assert shares == [pytest.approx(0.2)] * verdicts.count("grow")


def test_firms_move_to_the_business_platform_when_volume_and_profit_justify_it():
    def run(**thresholds):
        model = WhatsAppMarket(rng=3, **SMALL, **thresholds)
        before = {f.unique_id: f.customers for f in model.firms.of_type(SmallBusiness)}
        months(model, 2)
        return model, before

    model, _ = run(api_move_chats_per_day=1e6)
    assert model.today["smbs_moved_to_platform"] == 0
    # no costs, no ads: every firm's profit is >= 0, so every firm moves at the first review,
    # and their entrants at the second
    model, before = run(api_move_chats_per_day=0.0, api_move_min_profit_usd_month=0.0,
                        smb_fixed_cost_usd_month=0.0, tool_effort_usd_month=0.0,
                        premium_price_usd_month=1000.0, ctwa_budget_per_user_year=0.0)
    moved = model.today["smbs_moved_to_platform"]
    assert moved == 2 * SMALL["n_smbs"]
    enterprises = list(model.agents_by_type[Enterprise])
    assert model.today["enterprises"] == len(enterprises) == SMALL["n_enterprises"] + moved
    newcomers = [e for e in enterprises if e.real_firms == pytest.approx(model.p.real_smbs / model.p.n_smbs)]
    assert len(newcomers) == moved
    originals = {tuple(c) for c in before.values()}
    assert sum(tuple(e.customers) in originals for e in newcomers) == SMALL["n_smbs"]
    assert sum(model.ledger.paid_by(e.account) for e in newcomers) > 0  # onboarded, they pay per message


@pytest.fixture(scope="module")
def per_real_firm_by_size() -> dict[int, np.ndarray]:
    """Per seed (rows): the mean over small businesses of chats and chat sales a day per real
    firm (columns) after 30 days, at 4,000 and 16,000 simulated users."""
    def means(n_users, seed):
        model = WhatsAppMarket(rng=seed, n_users=n_users, n_smbs=60, n_enterprises=10, n_advertisers=12)
        for _ in range(30):
            model.step()
        firms = model.firms.of_type(SmallBusiness)
        return [np.mean([f.per_real_firm(f.chats_avg) for f in firms]),
                np.mean([f.per_real_firm(f.chat_sales_avg) for f in firms])]

    return {n: np.array([means(n, seed) for seed in range(12)]) for n in (4000, 16_000)}


@pytest.mark.parametrize(("column", "statistic", "sd"), [(0, "chats", 0.028), (1, "sales", 0.131)])
def test_firm_figures_per_real_firm_do_not_depend_on_the_sample_size(per_real_firm_by_size, column,
                                                                      statistic, sd):
    """A firm's decisions read its figures per real firm, so they must be the same at 4,000 and
    16,000 simulated users. The same seed gives the same firm sizes at both (their customers
    scale with the users), so the ratio is taken seed by seed: measured over 20 seeds, 0.998
    for chats (sd 0.028 a seed) and 0.957 for sales (sd 0.131; exponential order values). The
    mean of 12 seeds' ratios must be within 4 standard errors of 1 (0.032 and 0.151): a size
    bias of 20% fails either."""
    ratios = per_real_firm_by_size[16_000][:, column] / per_real_firm_by_size[4000][:, column]
    assert np.mean(ratios) == pytest.approx(1.0, abs=4 * sd / np.sqrt(len(ratios))), statistic
