import numpy as np

from model.auction import second_price_auction


def test_highest_bidder_wins_and_pays_the_next_bid():
    units, price = second_price_auction(np.array([1.0, 3.0, 2.0]), np.array([100, 100, 100.0]),
                                        supply=10, reserve=0.5)
    assert units.tolist() == [0.0, 10.0, 0.0]
    assert price[1] == 2.0


def test_budgets_bind_and_supply_passes_down_the_ranking():
    units, price = second_price_auction(np.array([3.0, 2.0, 1.0]), np.array([4.0, 100.0, 100.0]),
                                        supply=10, reserve=0.5)
    assert units[0] == 2.0  # 4 / price 2
    assert units[1] == 8.0 and price[1] == 1.0
    assert units[2] == 0.0


def test_reserve_excludes_low_bids_and_floors_the_price():
    units, price = second_price_auction(np.array([0.4, 0.8]), np.array([100.0, 100.0]),
                                        supply=10, reserve=0.5)
    assert units.tolist() == [0.0, 10.0] and price[1] == 0.5


def test_nobody_pays_more_than_bid_or_budget():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = rng.integers(1, 8)
        bids, budgets = rng.exponential(1, n), rng.exponential(5, n)
        units, price = second_price_auction(bids, budgets, rng.exponential(20), 0.1)
        won = units > 0
        assert np.all(price[won] <= bids[won] + 1e-12)
        assert np.all(units * price <= budgets + 1e-9)
