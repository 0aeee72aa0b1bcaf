import warnings

import numpy as np

from model.auction import second_price_auction


def test_a_price_near_zero_buys_the_whole_supply_without_a_warning():
    """A budget over a price of 2e-310 overflows to infinity: the winner takes the whole
    supply, as at a price of 0, and numpy's overflow warning is not the caller's business."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        units, price = second_price_auction(np.array([3e-310, 2e-310]), np.array([1.0, 1.0]),
                                            supply=10, reserve=0.0)
    assert units.tolist() == [10.0, 0.0]
    assert price[0] == 2e-310


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


def test_the_runner_up_s_bid_sets_the_price_when_above_the_reserve():
    budgets = np.array([100.0, 100.0])
    units, price = second_price_auction(np.array([2.0, 1.5]), budgets, supply=10, reserve=1.0)
    assert price[0] == 1.5 and units.tolist() == [10.0, 0.0]
    units, price = second_price_auction(np.array([2.0, 0.5]), budgets, supply=10, reserve=1.0)
    assert price[0] == 1.0 and units[0] == 10.0  # a runner-up below the reserve does not lower it


def test_each_bidder_pays_the_bid_below_its_own():
    units, price = second_price_auction(np.array([4.0, 3.0, 2.0]), np.array([8.0, 6.0, 100.0]),
                                        supply=100, reserve=0.5)
    assert price.tolist() == [3.0, 2.0, 0.5]
    assert units.tolist() == [8 / 3, 3.0, 100 - 8 / 3 - 3]


def test_ties_go_to_the_first_bidder_who_pays_the_tied_bid():
    units, price = second_price_auction(np.array([1.0, 2.0, 2.0]), np.array([2.0, 2.0, 100.0]),
                                        supply=10, reserve=0.1)
    assert units.tolist() == [0.0, 1.0, 9.0]  # the first of the tied pays 2 for one unit
    assert price.tolist() == [0.0, 2.0, 1.0]  # the supply ran out before the lowest bid


def test_free_supply_goes_whole_to_the_top_bidder():
    """With no reserve and no runner-up the price is zero: the budget does not bind."""
    units, price = second_price_auction(np.array([1.0]), np.array([0.0]), supply=7, reserve=0.0)
    assert units.tolist() == [7.0] and price.tolist() == [0.0]


def test_nothing_is_sold_without_supply_or_bidders():
    units, price = second_price_auction(np.array([1.0, 2.0]), np.array([5.0, 5.0]), supply=0, reserve=0.1)
    assert units.tolist() == [0.0, 0.0] and price.tolist() == [0.0, 0.0]
    units, price = second_price_auction(np.array([]), np.array([]), supply=10, reserve=0.1)
    assert len(units) == len(price) == 0


def test_supply_sold_never_exceeds_the_supply():
    rng = np.random.default_rng(4)
    for _ in range(200):
        n = rng.integers(1, 8)
        supply = rng.exponential(20)
        units, _ = second_price_auction(rng.exponential(1, n), rng.exponential(5, n), supply, 0.1)
        assert units.sum() <= supply * (1 + 1e-12) and np.all(units >= 0)


def _one_bidder_at_a_time(bids, budgets, supply, reserve):
    """The auction's rule stated as a loop down the ranking (the oracle of the vectorised one)."""
    units, price = np.zeros(len(bids)), np.zeros(len(bids))
    order = np.argsort(-bids, kind="stable")
    left = supply
    for rank, i in enumerate(order):
        if left <= 0 or bids[i] < reserve:
            break
        price[i] = max(bids[order[rank + 1]] if rank + 1 < len(bids) else 0.0, reserve)
        units[i] = left if price[i] <= 0 else min(left, budgets[i] / price[i])
        left -= units[i]
    return units, price


def test_the_vectorised_auction_is_the_loop_down_the_ranking():
    rng = np.random.default_rng(11)
    for _ in range(500):
        n = int(rng.integers(0, 12))
        bids = np.round(rng.exponential(1, n), 1)  # rounded: ties happen
        budgets = rng.exponential(5, n) * (rng.random(n) < 0.9)
        supply, reserve = rng.exponential(20), rng.choice([0.0, 0.1, 0.5])
        expected = _one_bidder_at_a_time(bids, budgets, supply, reserve)
        for got, want in zip(second_price_auction(bids, budgets, supply, reserve), expected, strict=True):
            np.testing.assert_array_equal(got, want)
