"""The books: transfers payer to payee, revenue by stream, the day tally, and a whole run
reconciled account by account."""

import numpy as np
import pytest
from conftest import run_model

from agents import Advertiser, Airline, Bank, Enterprise, Shop, SmallBusiness
from model.ledger import CREATORS, KINDS, PLATFORM, STREAMS, USERS, Ledger


def test_close_day_returns_revenue_by_stream_other_transfers_and_the_tally_and_resets():
    ledger = Ledger()
    firm, provider = ledger.open_account("firm"), ledger.open_account("provider")
    ledger.book(firm, PLATFORM, "utility", 1.5)
    ledger.book_many(np.array([firm, firm]), PLATFORM, "utility", np.array([0.25, 0.25]))
    ledger.book(USERS, PLATFORM, "stickers", 3.0)
    ledger.book(firm, provider, "provider_fees", 0.7)
    ledger.book(firm, CREATORS, "creator_payments", 0.3)
    ledger.tally.purchases += 4
    revenue, others, tally = ledger.close_day()
    assert set(revenue) == set(STREAMS)
    assert revenue["utility"] == 2.0 and revenue["stickers"] == 3.0 and sum(revenue.values()) == 5.0
    assert others == {"provider_fees": 0.7, "creator_payments": 0.3}
    assert tally.purchases == 4 and ledger.tally.purchases == 0
    assert ledger.paid_by(firm) == pytest.approx(3.0) and ledger.paid_by(firm, "provider_fees") == 0.7
    assert ledger.paid_by(USERS) == 3.0
    assert ledger.received_by(provider) == 0.7 and ledger.received_by(PLATFORM) == 5.0
    assert ledger.total_paid == pytest.approx(ledger.total_received)
    assert sum(ledger.close_day()[0].values()) == 0.0
    assert ledger.lifetime.sum() == 5.0


def test_paid_today_counts_by_kind_and_resets_at_the_close():
    ledger = Ledger()
    firm = ledger.open_account("firm")
    ledger.book(firm, PLATFORM, "marketing", 2.0)
    ledger.book(firm, PLATFORM, "service", 1.0)
    assert ledger.paid_today(firm, "marketing", "service") == 3.0
    assert ledger.paid_today(np.array([firm, USERS]), "marketing").tolist() == [2.0, 0.0]
    ledger.close_day()
    assert ledger.paid_today(firm, "marketing") == 0.0 and ledger.paid_by(firm) == 3.0


def test_accounts_grow_past_the_first_block():
    ledger = Ledger()
    accounts = [ledger.open_account(i) for i in range(200)]
    ledger.book_many(np.array(accounts), PLATFORM, "sponsored", np.ones(200))
    assert ledger.paid_by(accounts[-1]) == 1.0 and ledger.received_by(PLATFORM) == 200.0


@pytest.mark.parametrize("amount", [-1.0, float("nan"), float("inf")])
def test_negative_or_non_finite_bookings_are_refused(amount):
    with pytest.raises(ValueError, match="finite amount >= 0"):
        Ledger().book(USERS, PLATFORM, "utility", amount)
    with pytest.raises(ValueError, match="finite amount >= 0"):
        Ledger().book_many(np.array([USERS]), PLATFORM, "utility", np.array([amount]))


def test_unknown_kinds_and_wrong_payees_are_refused_with_the_rule():
    with pytest.raises(KeyError, match="unknown kind of transfer 'tips'.*sponsored"):
        Ledger().book(USERS, PLATFORM, "tips", 1.0)
    with pytest.raises(ValueError, match="'utility' is platform revenue; payee must be the platform"):
        Ledger().book(USERS, CREATORS, "utility", 1.0)
    with pytest.raises(ValueError, match="'provider_fees' is not platform revenue"):
        Ledger().book(USERS, PLATFORM, "provider_fees", 1.0)


def test_a_whole_run_reconciles_every_payer_payee_and_revenue_column():
    """Over 40 days with every stream on: everything paid equals everything received; what
    the platform received equals the revenue columns; providers' takings and creators'
    payments are transfers in the books, outside revenue; every kind of firm paid."""
    model = run_model(days=40, seed=9, virtual_goods=True, shopping_section=True, brand_advertiser_share=0.5)
    ledger = model.ledger
    df = model.datacollector.get_model_vars_dataframe()
    revenue = df[[f"revenue_{s}" for s in STREAMS]].sum()
    assert ledger.total_paid == pytest.approx(ledger.total_received, rel=1e-12)
    assert ledger.received_by(PLATFORM) * model.scale == pytest.approx(revenue.sum(), rel=1e-9)
    assert ledger.lifetime * model.scale == pytest.approx(revenue.to_numpy(), rel=1e-9)
    assert df["revenue_total"].sum() == pytest.approx(revenue.sum(), rel=1e-12)
    providers = np.array([s.account for s in model.solution_providers])
    assert df["provider_takings_total"].iloc[-1] == pytest.approx(ledger.received_by(providers) * model.scale)
    assert ledger.received_by(providers) > 0
    assert df["influencer_spend"].sum() == pytest.approx(ledger.received_by(CREATORS) * model.scale)
    assert ledger.received_by(CREATORS) > 0
    paid = sum(ledger.paid_by(a) for a in range(len(ledger._holders)))
    assert paid == pytest.approx(ledger.total_paid, rel=1e-12)
    for kind in (SmallBusiness, Enterprise, Advertiser, Airline, Bank, Shop):
        assert sum(ledger.paid_by(a.account) for a in model.agents_by_type[kind]) > 0, kind.__name__
    assert ledger.paid_by(USERS, "stickers") > 0
    assert set(KINDS) == set(STREAMS) | {"provider_fees", "creator_payments"}
