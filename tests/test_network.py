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


def test_clustering_far_above_a_random_graph(graph):
    _, g = graph
    sample = np.random.default_rng(0).choice(g.shape[0], 2000, replace=False)
    random_graph_clustering = degrees(g).mean() / g.shape[0]
    assert clustering_coefficient(g, sample) > 100 * random_graph_clustering


def test_ties_mostly_stay_within_regions(graph):
    region, g = graph
    rows = np.repeat(np.arange(g.shape[0]), degrees(g))
    assert np.mean(region[rows] == region[g.indices]) > 0.95
