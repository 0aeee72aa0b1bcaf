"""The sampling helpers (``model.sampling``): membership by binary search, coin flips drawn as
gaps between heads, random ranks within groups, counts of ids; each against the plain numpy
operation it replaces, or against its law over many draws (fixed seeds)."""

import math

import numpy as np
import pytest
from scipy import stats

from model.sampling import (
    FEW_COINS,
    coin_flips,
    counts_of,
    distinct,
    members,
    rank_within,
    repeated,
    sorted_difference,
    sorted_union,
    spread_customers,
)


def test_members_agrees_with_isin():
    rng = np.random.default_rng(1)
    for size in (0, 1, 5, 300):
        sorted_set = np.unique(rng.integers(0, 1000, size))
        values = rng.integers(-5, 1010, 2000)
        np.testing.assert_array_equal(members(values, sorted_set), np.isin(values, sorted_set))
    assert members(np.array([7]), np.empty(0, dtype=np.int64)).tolist() == [False]
    assert members(np.array([999, 1000]), np.array([3, 999])).tolist() == [True, False]  # past the end


@pytest.mark.parametrize("n", [FEW_COINS - 1, 5000])
@pytest.mark.parametrize("rate", [0.002, 0.05, 0.6])
def test_coin_flips_are_independent_coins_at_the_rate(n, rate):
    """Below ``FEW_COINS`` each coin is flipped; above, the gaps between heads are drawn.
    Either way: distinct sorted positions in [0, n); the count of heads is binomial (its mean
    within 4 standard errors over 400 draws, its variance within 25% of n p (1 - p)); every
    position is equally likely (chi-square over 10 bins of positions, p > 0.001)."""
    rng = np.random.default_rng(int(n * rate * 1000))
    draws = [coin_flips(n, rate, rng) for _ in range(400)]
    for heads in draws:
        assert heads.dtype.kind == "i" and np.all(np.diff(heads) > 0)
        assert len(heads) == 0 or (heads[0] >= 0 and heads[-1] < n)
    counts = np.array([len(h) for h in draws])
    mean, var = n * rate, n * rate * (1 - rate)
    assert abs(counts.mean() - mean) < 4 * math.sqrt(var / len(draws))
    assert counts.var(ddof=1) == pytest.approx(var, rel=0.25)
    bins = np.bincount(np.concatenate(draws) * 10 // n, minlength=10)
    assert stats.chisquare(bins).pvalue > 0.001


def test_coin_flips_at_the_edges():
    rng = np.random.default_rng(0)
    for n in (10, 5000):
        assert len(coin_flips(n, 0.0, rng)) == 0
        np.testing.assert_array_equal(coin_flips(n, 1.0, rng), np.arange(n))
    assert len(coin_flips(0, 0.5, rng)) == 0


def test_coin_flips_draw_more_gaps_when_the_first_batch_falls_short():
    """A generator whose every gap is one head away: the first batch (about n x rate heads)
    ends before n, so more batches are drawn until every coin is covered."""
    class EveryCoinHeads:
        def geometric(self, p, size):
            return np.ones(size, dtype=np.int64)

    np.testing.assert_array_equal(coin_flips(10_000, 0.5, EveryCoinHeads()), np.arange(10_000))


def test_rank_within_gives_each_group_a_random_order_of_its_members():
    rng = np.random.default_rng(2)
    groups = rng.integers(0, 50, 3000)
    rank = rank_within(groups, rng)
    for g in np.unique(groups):
        np.testing.assert_array_equal(np.sort(rank[groups == g]), np.arange(np.count_nonzero(groups == g)))
    assert len(rank_within(np.empty(0, dtype=np.int64), rng)) == 0


@pytest.mark.parametrize("distinct", [5, 100_000])  # all groups shared; mostly lone elements
def test_rank_within_orders_each_group_by_its_draws_as_a_full_lexsort_would(distinct):
    groups = np.random.default_rng(4).integers(0, distinct, 20_000)
    keys = np.random.default_rng(5).random(len(groups))  # the draws rank_within makes
    order = np.lexsort((keys, groups))
    starts = np.searchsorted(groups[order], groups[order])  # each one's group's first place
    expected = np.empty(len(groups), dtype=np.int64)
    expected[order] = np.arange(len(groups)) - starts
    np.testing.assert_array_equal(rank_within(groups, np.random.default_rng(5)), expected)


def test_repeated_marks_the_values_that_occur_more_than_once():
    np.testing.assert_array_equal(repeated(np.array([3, 1, 3, 2, 7, 7, 7])), [1, 0, 1, 0, 1, 1, 1])
    assert len(repeated(np.empty(0, dtype=np.int64))) == 0


def test_rank_within_keeps_a_uniformly_random_few_of_each_group():
    rng = np.random.default_rng(0)
    groups = np.array([0, 0, 0, 0, 1, 1, 2])
    kept = np.zeros(len(groups))
    for _ in range(4000):
        rank = rank_within(groups, rng)
        assert sorted(rank[:4]) == [0, 1, 2, 3] and sorted(rank[4:6]) == [0, 1] and rank[6] == 0
        kept += rank < np.array([2, 2, 2, 2, 1, 1, 1])
    # each of group 0's four is kept w.p. 1/2, of group 1's two w.p. 1/2: binomial sd 0.008
    assert kept[:6] / 4000 == pytest.approx(np.full(6, 0.5), abs=4 * 0.5 / math.sqrt(4000))
    assert kept[6] == 4000


@pytest.mark.parametrize("n", [10, 100_000])  # counted into an array; sorted (few against n)
def test_counts_of_agrees_with_unique(n):
    values = np.random.default_rng(3).integers(0, 10, 500)
    ids, counts = counts_of(values, n)
    expected_ids, expected_counts = np.unique(values, return_counts=True)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(counts, expected_counts)
    ids, counts = counts_of(np.empty(0, dtype=np.int64), n)
    assert len(ids) == len(counts) == 0


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_distinct_values_are_numpys_unique_ones(dtype):
    rng = np.random.default_rng(5)
    for size in (0, 1, 2, 50, 20_000):
        values = rng.integers(0, max(size // 2, 1), size).astype(dtype)  # many repeats
        got = distinct(values)
        assert got.dtype == dtype and np.array_equal(got, np.unique(values))


def test_sorted_union_and_difference_agree_with_numpy():
    rng = np.random.default_rng(3)
    for _ in range(100):
        ids = np.unique(rng.integers(0, 500, rng.integers(0, 200))).astype(np.int32)
        more = rng.integers(0, 500, rng.integers(0, 200))
        union = sorted_union(ids, more)
        assert union.dtype == np.int32 and np.array_equal(union, np.union1d(ids, more))
        gone = np.sort(rng.permutation(ids)[:rng.integers(0, len(ids) + 1)])
        assert np.array_equal(sorted_difference(ids, gone), np.setdiff1d(ids, gone))
        strangers = rng.integers(0, 500, rng.integers(0, 20))  # not all among the ids
        difference = sorted_difference(ids, strangers)
        assert difference.dtype == np.int32 and np.array_equal(difference, np.setdiff1d(ids, strangers))


def test_spread_customers_takes_each_user_at_her_capped_chance():
    """User i is a customer w.p. min(size / n x affinity_i, 1): over 400 draws each user's
    count is binomial (|z| < 5 for all 3,000 users has chance ~0.998 under the law)."""
    rng = np.random.default_rng(4)
    affinity = rng.lognormal(0, 1, 3_000)
    chance = np.minimum(300 / 3_000 * affinity, 1)
    draws = (spread_customers(300, affinity, float(affinity.max()), rng) for _ in range(400))
    counts = sum(np.bincount(customers, minlength=3_000) for customers in draws)
    z = (counts - 400 * chance) / np.sqrt(np.maximum(400 * chance * (1 - chance), 1e-9))
    assert np.all(np.abs(z[chance < 1]) < 5) and np.all(counts[chance >= 1] == 400)
