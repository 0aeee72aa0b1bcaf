"""The social graph (``model.network``): simple and undirected, its degrees, clustering from
local ties, regional communities."""

import numpy as np
import pytest

from model.network import clustering_coefficient, degrees, region_blocks, social_graph


@pytest.fixture(scope="module")
def graph():
    region = region_blocks(50_000, np.array([0.5, 0.3, 0.2]))
    return region, social_graph(region, 8.6, 1.0, 0.5, 0.03, np.random.default_rng(2))


def test_graph_is_simple_and_undirected(graph):
    _, g = graph
    assert (g != g.T).nnz == 0
    assert g.diagonal().sum() == 0
    assert set(np.unique(g.data)) == {1.0}


def test_mean_degree_and_heavy_tail(graph):
    _, g = graph
    k = degrees(g)
    assert 7.5 < k.mean() < 9.5
    assert k.max() > 5 * k.mean()  # heavy tail, unlike a Poisson graph of the same mean


def test_clustering_comes_from_local_ties_far_above_a_random_graph(graph):
    """Measured over 8 graph seeds: clustering 0.208 (sd 0.003) with half the ties local, 0.187
    with 40% (the same ring ties, fewer random ones), 0.335 with 60%, 0.0016 with a quarter
    (one ring neighbour a side). It must be within 4 sd of 0.208, so a 20% change in local
    ties either way fails; a random graph of the same degree would have 0.0002."""
    _, g = graph
    sample = np.random.default_rng(0).choice(g.shape[0], 2000, replace=False)
    random_graph_clustering = degrees(g).mean() / g.shape[0]
    clustering = clustering_coefficient(g, sample)
    assert clustering == pytest.approx(0.208, abs=4 * 0.003)
    assert clustering > 100 * random_graph_clustering


def test_each_node_is_tied_to_its_next_ring_neighbours_in_its_region(graph):
    """Local ties: round(8.6 x 0.5 / 2) = 2 ring neighbours on each side, within the region."""
    region, g = graph
    nodes = np.arange(g.shape[0] - 2)
    for k in (1, 2):
        same = region[nodes] == region[nodes + k]
        assert np.all(g[nodes[same], nodes[same] + k] == 1), k
    ring = np.abs(np.repeat(np.arange(g.shape[0]), degrees(g)) - g.indices)
    assert np.count_nonzero(ring <= 2) == pytest.approx(2 * 2 * g.shape[0], rel=0.01)


def test_ties_mostly_stay_within_regions(graph):
    region, g = graph
    rows = np.repeat(np.arange(g.shape[0]), degrees(g))
    assert np.mean(region[rows] == region[g.indices]) > 0.95
