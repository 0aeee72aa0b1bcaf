"""Senders' quality ratings and messaging tiers (``model.quality``, A1): the weekly block rate,
the rating it sets, the tier that follows a day at a time, and each tier's daily limit."""

import math

import numpy as np
import pytest

from model.quality import TIER_STEP, TIERS, WEEK, SenderRatings


def test_sender_ratings_fall_with_blocks_and_recover():
    ratings = SenderRatings(block_rate_low=0.02, tier_base_share=0.001)
    one = np.array([5])
    ratings.enrol(one, np.array([10_000]))
    limits = [ratings.daily_limit(one)[0]]
    for _ in range(5):
        ratings.record(one, np.array([1000]), np.array([100]))  # 10% blocked: low quality
        ratings.end_day()
        limits.append(ratings.daily_limit(one)[0])
    assert ratings.low[5] and limits == [math.inf, 1000, 100, 10, 10, 10]
    for _ in range(30):
        ratings.record(one, np.array([1000]), np.array([0]))
        ratings.end_day()
    assert not ratings.low[5] and ratings.daily_limit(one)[0] == math.inf
    ratings.enrol(np.array([200]), np.array([50]))  # room for new accounts, starting unlimited
    assert ratings.daily_limit(np.array([200]))[0] == math.inf and ratings.daily_limit(one)[0] == math.inf


def test_the_block_rate_is_a_weekly_average_of_blocks_over_deliveries():
    """Blocks and deliveries each move a seventh of the way to the day's count; a day
    without sends leaves both, and the tier, as they were."""
    ratings = SenderRatings(block_rate_low=0.5, tier_base_share=0.01)
    a = np.array([3])
    ratings.enrol(a, np.array([100]))
    ratings.record(a, np.array([70]), np.array([7]))
    ratings.end_day()
    assert ratings.block_rate[3] == pytest.approx((7 / WEEK) / (70 / WEEK))
    ratings.record(a, np.array([140]), np.array([0]))
    ratings.end_day()
    delivered = 10 + (140 - 10) / WEEK
    blocks = 1 + (0 - 1) / WEEK
    assert ratings.block_rate[3] == pytest.approx(blocks / delivered)
    tier, rate = ratings.tier.copy(), ratings.block_rate.copy()
    ratings.end_day()  # no sends today
    np.testing.assert_array_equal(ratings.tier, tier)
    np.testing.assert_array_equal(ratings.block_rate, rate)
    assert ratings.block_rate[0] == 0  # an account that never sent


def test_deliveries_and_blocks_of_one_day_add_up_per_account():
    ratings = SenderRatings(block_rate_low=0.5, tier_base_share=0.01)
    ratings.record(np.array([1, 1, 2]), np.array([10, 20, 5]), np.array([1, 2, 0]))
    ratings.end_day()
    assert ratings.block_rate[1] == pytest.approx(3 / 30)
    assert ratings.block_rate[2] == 0


def test_a_low_rating_drops_one_tier_a_day_down_to_the_lowest_and_a_good_one_climbs():
    ratings = SenderRatings(block_rate_low=0.01, tier_base_share=0.001)
    a = np.array([0])
    tiers = []
    for blocked in [50] * 6 + [0] * 40:
        ratings.record(a, np.array([100]), np.array([blocked]))
        ratings.end_day()
        tiers.append(int(ratings.tier[0]))
    assert tiers[:4] == [2, 1, 0, 0]  # never below 0
    assert tiers[-1] == TIERS - 1 and max(tiers) == TIERS - 1  # never above the top
    assert all(abs(b - a) <= 1 for a, b in zip(tiers, tiers[1:], strict=False))


def test_each_tier_allows_ten_times_the_one_below_and_at_least_one_user():
    ratings = SenderRatings(block_rate_low=0.02, tier_base_share=0.001)
    accounts = np.array([0, 1, 2, 3, 4])
    ratings.enrol(accounts, np.array([50_000, 50_000, 50_000, 50_000, 10]))
    ratings.tier[accounts] = [0, 1, 2, 3, 0]
    limits = ratings.daily_limit(accounts)
    assert limits.tolist() == [50, 50 * TIER_STEP, 50 * TIER_STEP**2, math.inf, 1]


def test_enrolling_past_the_arrays_grows_them_keeping_what_was_there():
    ratings = SenderRatings(block_rate_low=0.02, tier_base_share=0.001, accounts=4)
    ratings.enrol(np.array([1]), np.array([500]))
    ratings.tier[1] = 0
    ratings.enrol(np.array([5]), np.array([700]))
    assert len(ratings.tier) >= 8 and len(ratings.customers) == len(ratings.tier)
    assert ratings.tier[1] == 0 and ratings.customers[1] == 500 and ratings.customers[5] == 700
    assert ratings.tier[5] == TIERS - 1
