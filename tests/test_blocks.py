"""Work split into fixed blocks (``model.blocks``): the blocked sparse product equals the whole
one bit for bit, the blocks' uniform draws do not depend on threads, and the blocks cover
the users once, in order."""

import threading

import numpy as np
import pytest
import scipy.sparse as sp

from model.blocks import BlockUniforms, RowBlocks, block_bounds, blockwise, map_blocks, run_blocks_serially
from model.network import region_blocks, social_graph


@pytest.fixture(scope="module")
def graph():
    region = region_blocks(20_000, np.array([0.5, 0.3, 0.2]))
    return social_graph(region, 8.6, 1.0, 0.5, 0.03, np.random.default_rng(4))


@pytest.fixture
def threads(monkeypatch):
    """Blocks in threads for the test, whatever the process ran before and however few the
    users."""
    monkeypatch.setattr("model.blocks.THREADS_FROM", 0)
    previous = run_blocks_serially(False)
    yield
    run_blocks_serially(previous)


@pytest.mark.parametrize("blocks", [1, 2, 3, 7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_blocks_equal_the_whole_product_bit_for_bit(graph, threads, blocks, dtype):
    x = np.random.default_rng(blocks).random(graph.shape[1]).astype(dtype)
    blocked = RowBlocks(graph, blocks) @ x
    whole = graph @ x
    assert blocked.dtype == whole.dtype and blocked.shape == whole.shape
    np.testing.assert_array_equal(blocked, whole)  # equal, not close


def test_row_blocks_handle_empty_rows_and_more_blocks_than_rows():
    graph = sp.csr_array(np.array([[0, 1, 0], [0, 0, 0], [1, 1, 0]], dtype=np.float32))
    x = np.array([0.1, 0.2, 0.3], dtype=np.float32)
    for blocks in (1, 2, 5):
        np.testing.assert_array_equal(RowBlocks(graph, blocks) @ x, graph @ x)


def test_row_blocks_share_the_graph_s_arrays(graph):
    for block in RowBlocks(graph, 3).blocks:
        assert np.shares_memory(block.indices, graph.indices)
        assert np.shares_memory(block.data, graph.data)


def test_block_uniforms_do_not_depend_on_threads(threads):
    """The same seed gives the same draws in threads and one block after another, each
    block from its own stream spawned from the seed."""
    threaded = BlockUniforms(np.random.default_rng(9), 10_001)
    draws = [threaded(), threaded()]
    run_blocks_serially(True)
    serial = BlockUniforms(np.random.default_rng(9), 10_001)
    for expected in draws:
        np.testing.assert_array_equal(serial(), expected)
    streams = np.random.default_rng(9).spawn(2)
    by_hand = np.concatenate([s.random(hi - lo, dtype=np.float32)
                              for s, (lo, hi) in zip(streams, block_bounds(10_001), strict=True)])
    np.testing.assert_array_equal(draws[0], by_hand)
    assert draws[0].dtype == np.float32 and draws[0].min() >= 0 and draws[0].max() < 1
    assert not np.array_equal(draws[0], draws[1])  # each call draws afresh


def test_block_bounds_cover_every_row_once_in_order():
    for n, blocks in ((0, 2), (1, 2), (10, 3), (1001, 2)):
        bounds = block_bounds(n, blocks)
        assert len(bounds) == blocks and bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(lo <= hi for lo, hi in bounds)
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))


def test_map_blocks_keeps_the_order_of_its_items(threads):
    assert map_blocks(lambda k: k * k, range(10), 10) == [k * k for k in range(10)]
    previous = run_blocks_serially(True)
    assert previous is False
    assert map_blocks(lambda k: -k, range(3), 3) == [0, -1, -2]


def test_blocks_run_in_threads_only_when_they_are_large_enough(monkeypatch):
    """Below ``THREADS_FROM`` users the blocks run in the calling thread; from it, in the
    pool's threads (unless the process runs blocks serially)."""
    monkeypatch.setattr("model.blocks.THREADS_FROM", 100)
    previous = run_blocks_serially(False)
    try:
        def where(_):
            return threading.current_thread().name.startswith("wasim-block")

        assert map_blocks(where, range(2), 99) == [False, False]
        assert map_blocks(where, range(2), 100) == [True, True]
        run_blocks_serially(True)
        assert map_blocks(where, range(2), 10**9) == [False, False]
    finally:
        run_blocks_serially(previous)


def test_blockwise_equals_one_call_over_everyone_in_threads_and_serially(threads):
    """Elementwise work block by block gives the arrays one call over all users would, in
    the outputs' dtypes, whether the blocks run in threads or one after another."""
    x = np.random.default_rng(5).random(10_001).astype(np.float32)

    def day(block: slice) -> dict[str, np.ndarray]:
        return {"double": 2 * x[block], "big": x[block] > 0.5}

    whole = day(slice(None))
    outputs = {"double": np.float32, "big": bool}
    for serial in (False, True):
        run_blocks_serially(serial)
        out = blockwise(day, len(x), outputs)
        assert set(out) == set(outputs) and out["double"].dtype == np.float32 and out["big"].dtype == bool
        np.testing.assert_array_equal(out["double"], whole["double"])
        np.testing.assert_array_equal(out["big"], whole["big"])
