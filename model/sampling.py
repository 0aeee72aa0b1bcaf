"""Fast draws and look-ups over user ids, for firms that touch a few of millions of users.

The day's hot paths select from large arrays with ``x.compress(mask)``, or gather at
``np.flatnonzero(mask)`` when several arrays share a mask: numpy's boolean indexing
``x[mask]`` takes another path, 2-5x slower at the densities of a day's sends (measured
with numpy 2.5; the elements and their order are the same).
"""

from __future__ import annotations

import math

import numpy as np

FEW_COINS = 1000
"""Below this many coins, flipping each is cheaper than drawing the gaps between heads."""


def members(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Which ``values`` are in ``sorted_set`` (sorted): a binary search each, which beats
    ``np.isin`` when the set is small against the range of user ids."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def coin_flips(n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Positions of the heads among ``n`` independent coins with P(head) = ``rate``.

    Few coins are flipped one by one. For many, the gaps between heads are drawn instead
    (geometric), so the cost is proportional to the heads, not to ``n`` (firms flip millions
    of coins a day for a few thousand messages).
    """
    if n < FEW_COINS:
        return np.flatnonzero(rng.random(n) < rate)
    if rate <= 0:
        return np.empty(0, dtype=np.int64)
    if rate >= 1:
        return np.arange(n)
    expected = n * rate
    batch = int(expected + 6 * math.sqrt(expected) + 16)
    # a gap of n + 1 or more ends the heads all the same; capped, a tiny rate's gaps (numpy
    # saturates them at 2**63 - 1) cannot overflow the sum and loop for ever
    heads = np.minimum(rng.geometric(rate, batch), n + 1).cumsum() - 1
    while heads[-1] < n:  # more heads than the batch holds: rare
        heads = np.concatenate([heads, heads[-1] + np.minimum(rng.geometric(rate, batch), n + 1).cumsum()])
    return heads[:heads.searchsorted(n)]


def rank_within(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each element's rank (0, 1, ...) among the elements of its group, in random order:
    ``rank_within(g, rng) < room[g]`` keeps a random ``room`` of each group. Only groups of
    two or more are sorted (a lone element's rank is 0): most users get one message a day."""
    keys = rng.random(len(groups))
    rank = np.zeros(len(groups), dtype=np.int64)
    shared = np.flatnonzero(repeated(groups))
    order = shared[np.lexsort((keys[shared], groups[shared]))]
    ranked = groups[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    rank[order] = np.arange(len(order)) - np.repeat(starts, sizes)
    return rank


def repeated(values: np.ndarray) -> np.ndarray:
    """Which ``values`` occur more than once."""
    ordered = np.sort(values)
    again = ordered[1:][ordered[1:] == ordered[:-1]]  # sorted, with repeats: fine to search
    return members(values, again)


def counts_of(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``values`` (ids below ``n``) and how often each occurs: by sorting when
    they are few against ``n``, else by counting into an array of ``n``."""
    if len(values) * 8 < n:
        return np.unique(values, return_counts=True)
    counts = np.bincount(values, minlength=n)
    ids = np.flatnonzero(counts)
    return ids, counts[ids]


def spread_customers(size: float, affinity: np.ndarray, most_affinity: float,
                     rng: np.random.Generator) -> np.ndarray:
    """About ``size`` customers spread over the whole population: user i w.p. size / n x
    affinity_i (capped at 1), and at least one (small populations). Candidates are drawn at
    the highest user's chance (``most_affinity`` is ``affinity.max()``, which the caller
    knows: traits never change) and each kept w.p. her chance over it (``coin_flips``; the
    same law as a coin per user, at a cost in the customers, not the population)."""
    n_nodes = len(affinity)
    scale = size / n_nodes
    top = min(scale * most_affinity, 1.0)
    candidates = coin_flips(n_nodes, top, rng)
    chance = np.minimum(scale * affinity[candidates], 1.0)
    customers = candidates[rng.random(len(candidates)) * top < chance].astype(np.int32)
    return customers if len(customers) else rng.integers(n_nodes, size=1, dtype=np.int32)


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct ``values``, sorted, as ``np.unique(values)`` gives them, but by sorting:
    numpy 2.5's ``np.unique`` hashes integers instead, 15-30x slower for thousands to
    hundreds of thousands of ids (measured here)."""
    ordered = np.sort(values)
    first = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered.compress(first)


def sorted_union(ids: np.ndarray, more: np.ndarray) -> np.ndarray:
    """``ids`` (sorted, distinct) with the distinct ``more`` that are not among them, still
    sorted and in ``ids``'s dtype: one merge, in time linear in ``ids`` (``np.union1d``
    sorts everything again)."""
    more = distinct(more)
    new = more[~members(more, ids)]
    return np.insert(ids, np.searchsorted(ids, new), new.astype(ids.dtype))


def sorted_difference(ids: np.ndarray, gone: np.ndarray) -> np.ndarray:
    """``ids`` (sorted, distinct) without the ``gone``, order kept: a binary search for each
    of the few gone, not for each of the many ids."""
    if len(ids) == 0:
        return ids
    at = np.minimum(np.searchsorted(ids, gone), len(ids) - 1)
    keep = np.ones(len(ids), dtype=bool)
    keep[at[ids[at] == gone]] = False
    return ids.compress(keep)
