"""The social graph: heavy-tailed, clustered, with regional communities, as scipy CSR.

Generated with numpy and scipy (no networkx, which costs ~10 s and 1.2 GB at a million
nodes). Nodes are laid out region by region on a ring; each user's ties are split into
*local* ties to ring neighbours (which close triangles: clustering) and *random* ties drawn
Chung-Lu style with probability proportional to a lognormal activity weight (heavy-tailed
degree, [karsai2016skype; centola2010spread]), mostly within the user's region (communities) and a few
across regions.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from model.params import REGIONS


def population_graph(p, rng: np.random.Generator) -> tuple[sp.csr_array, np.ndarray]:
    """The contact graph of everyone who is or may become a user (``n_users`` plus the
    growth pool), and each node's region, from the parameters ``p``."""
    n_nodes = int(round(p.n_users * (1 + p.pool_headroom)))
    weights = np.array([getattr(p, f"region_weight_{r}") for r in REGIONS])
    region = region_blocks(n_nodes, weights)
    graph = social_graph(region, p.mean_degree, p.degree_sigma, p.local_tie_share,
                         p.cross_region_tie_share, rng)
    return graph, region


def region_blocks(n: int, weights: np.ndarray) -> np.ndarray:
    """Region code of each node, in contiguous blocks sized by ``weights``."""
    shares = np.asarray(weights, dtype=float) / np.sum(weights)
    sizes = np.floor(shares * n).astype(np.int64)
    sizes[np.argmax(shares)] += n - sizes.sum()
    return np.repeat(np.arange(len(sizes), dtype=np.int8), sizes)


def social_graph(
    region: np.ndarray,
    mean_degree: float,
    degree_sigma: float,
    local_tie_share: float,
    cross_region_tie_share: float,
    rng: np.random.Generator,
) -> sp.csr_array:
    """Undirected contact graph as a symmetric 0/1 CSR matrix with int32 indices."""
    n = len(region)
    half_local = max(int(round(mean_degree * local_tie_share / 2)), 0)
    n_random = int(round(n * mean_degree * (1 - local_tie_share) / 2))

    # local ties: each node to its next `half_local` ring neighbours inside its region block
    src_parts, dst_parts = [], []
    nodes = np.arange(n, dtype=np.int32)
    for k in range(1, half_local + 1):
        dst = nodes + k
        keep = dst < n
        keep[keep] &= region[dst[keep]] == region[nodes[keep]]
        src_parts.append(nodes[keep])
        dst_parts.append(dst[keep].astype(np.int32))

    # random ties: Chung-Lu with lognormal weights, within region except a few
    weight = rng.lognormal(0.0, degree_sigma, n)
    src = _weighted_draw(weight, n_random, rng)
    cross = rng.random(n_random) < cross_region_tie_share
    dst = np.empty(n_random, dtype=np.int32)
    dst[cross] = _weighted_draw(weight, int(cross.sum()), rng)
    starts = np.searchsorted(region, np.arange(region.max() + 1))
    ends = np.append(starts[1:], n)
    for r, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        pick = ~cross & (region[src] == r)
        dst[pick] = lo + _weighted_draw(weight[lo:hi], int(pick.sum()), rng)
    src_parts.append(src)
    dst_parts.append(dst)

    rows = np.concatenate(src_parts)
    cols = np.concatenate(dst_parts)
    not_loop = rows != cols
    rows, cols = rows[not_loop], cols[not_loop]
    data = np.ones(2 * len(rows), dtype=np.float32)
    graph = sp.coo_array(
        (data, (np.concatenate([rows, cols]), np.concatenate([cols, rows]))), shape=(n, n)
    ).tocsr()
    graph.sum_duplicates()
    graph.data[:] = 1.0
    graph.indices = graph.indices.astype(np.int32, copy=False)
    graph.indptr = graph.indptr.astype(np.int64 if graph.nnz >= 2**31 else np.int32, copy=False)
    return graph


def _weighted_draw(weight: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices drawn with probability proportional to ``weight`` (inverse-CDF sampling);
    none from an empty ``weight`` (a region without users: its weight may be 0)."""
    if size == 0:
        return np.empty(0, dtype=np.int32)
    cdf = np.cumsum(weight)
    picks = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
    return np.minimum(picks, len(weight) - 1).astype(np.int32)


def degrees(graph: sp.csr_array) -> np.ndarray:
    return np.diff(graph.indptr)


def random_contacts(graph: sp.csr_array, nodes: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One contact of each node, uniformly among its contacts: the nodes that have any, and
    their contacts, aligned (nodes without contacts are left out)."""
    start, degree = graph.indptr[nodes], graph.indptr[nodes + 1] - graph.indptr[nodes]
    some = degree > 0
    offset = (rng.random(int(some.sum())) * degree[some]).astype(np.int64)
    return nodes[some], graph.indices[start[some] + offset]


def clustering_coefficient(graph: sp.csr_array, sample: np.ndarray) -> float:
    """Mean local clustering of the ``sample`` nodes (triangles over possible pairs)."""
    sub = graph[sample]
    triangles = (sub @ graph).multiply(sub).sum(axis=1) / 2
    k = degrees(graph)[sample]
    possible = k * (k - 1) / 2
    ok = possible > 0
    return float(np.mean(triangles[ok] / possible[ok]))


class NeighbourCounts:
    """For every node, how many of its neighbours are in each of ``groups`` groups.

    Kept up to date as nodes move between groups, at a cost proportional to the movers'
    degrees instead of one sparse product per group and day. Counts are float32 (exact
    below 2**24) so they enter the hazard arithmetic without a cast.
    """

    def __init__(self, graph: sp.csr_array, groups: int):
        self.graph = graph
        self.counts = np.zeros((groups, graph.shape[0]), dtype=np.float32)

    def __getitem__(self, group: int) -> np.ndarray:
        return self.counts[group]

    def move(self, nodes: np.ndarray, old: np.ndarray | int, new: np.ndarray | int) -> None:
        """Nodes leave group ``old`` (-1: none) and join group ``new`` (-1: none)."""
        if len(nodes) == 0:
            return
        neighbours, owner = self.neighbours(nodes)
        flat = self.counts.reshape(-1)  # one flat index: numpy's fast path for ``add.at``
        for group, sign in ((old, -1), (new, 1)):
            group = np.broadcast_to(group, len(nodes))[owner]
            inside = group >= 0
            np.add.at(flat, group[inside] * self.counts.shape[1] + neighbours[inside], np.float32(sign))

    def neighbours(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The neighbours of ``nodes`` (with repeats), and for each the position in ``nodes``
        of the node it neighbours."""
        indptr = self.graph.indptr
        starts, ends = indptr[nodes], indptr[nodes + 1]
        lengths = (ends - starts).astype(np.int64)
        owner = np.repeat(np.arange(len(nodes)), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return self.graph.indices[starts[owner] + offsets], owner
