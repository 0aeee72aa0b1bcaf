import pytest

from model.ledger import STREAMS, USERS, Ledger


def test_close_day_returns_per_stream_totals_and_resets():
    ledger = Ledger()
    ledger.book("a", "utility", 1.5)
    ledger.book("a", "utility", 0.5)
    ledger.book(USERS, "stickers", 3.0)
    day = ledger.close_day()
    assert set(day) == set(STREAMS)
    assert day["utility"] == 2.0 and day["stickers"] == 3.0
    assert sum(day.values()) == 5.0
    assert ledger.paid_by == {"a": 2.0, USERS: 3.0}
    assert sum(ledger.close_day().values()) == 0.0
    assert ledger.lifetime.sum() == 5.0


@pytest.mark.parametrize("amount", [-1.0, float("nan"), float("inf")])
def test_negative_or_non_finite_bookings_are_refused(amount):
    with pytest.raises(ValueError, match="finite amount >= 0"):
        Ledger().book("a", "utility", amount)


def test_unknown_stream_is_refused_with_the_list():
    with pytest.raises(KeyError, match="unknown revenue stream 'tips'.*sponsored"):
        Ledger().book("a", "tips", 1.0)
