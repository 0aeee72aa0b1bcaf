"""Work on both cores (``model.blocks``): the blocks' uniform draws do not depend on threads
or on being drawn ahead, the blocks cover the users once, in order, and a background
operation gives what the caller would have computed, in a thread of its own unless the
process runs serially."""

import threading

import numpy as np
import pandas as pd
import pytest
from conftest import run_model

from agents.docking import UserWorld
from model.blocks import (
    BlockUniforms,
    block_bounds,
    blockwise,
    in_background,
    map_blocks,
    run_blocks_serially,
)


@pytest.fixture
def threads(monkeypatch):
    """Blocks in threads for the test, whatever the process ran before and however few the
    users."""
    monkeypatch.setattr("model.blocks.THREADS_FROM", 0)
    previous = run_blocks_serially(False)
    yield
    run_blocks_serially(previous)


def test_block_uniforms_do_not_depend_on_threads_or_on_drawing_ahead(threads):
    """The same seed gives the same draws whether they are drawn ahead in the background
    thread (some of them, then on demand once those are used up) or all on demand, each
    block from its own stream spawned from the seed."""
    ahead = BlockUniforms(np.random.default_rng(9), 10_001, ahead=3)
    draws = [ahead()]  # none drawn ahead yet: on demand
    ahead.draw_ahead()
    draws += [ahead() for _ in range(2)]
    ahead.draw_ahead()  # one still waiting: two more
    draws += [ahead() for _ in range(4)]  # the last one on demand
    run_blocks_serially(True)
    on_demand = BlockUniforms(np.random.default_rng(9), 10_001, ahead=0)
    for expected in draws:
        np.testing.assert_array_equal(on_demand(), expected)
    streams = np.random.default_rng(9).spawn(2)
    by_hand = np.concatenate([s.random(hi - lo, dtype=np.float32)
                              for s, (lo, hi) in zip(streams, block_bounds(10_001), strict=True)])
    np.testing.assert_array_equal(draws[0], by_hand)
    assert draws[0].dtype == np.float32 and draws[0].min() >= 0 and draws[0].max() < 1
    assert not np.array_equal(draws[0], draws[1])  # each call draws afresh


def test_block_uniforms_are_drawn_ahead_in_the_background_thread(threads, monkeypatch):
    """Draws ahead are made by the background thread, at most ``ahead`` at a time; draws on
    demand, and any draw of a process that runs serially, by the caller."""
    drawn_in: dict[int, list[str]] = {}
    original = BlockUniforms._draw

    def spy(self):
        drawn_in.setdefault(id(self), []).append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(BlockUniforms, "_draw", spy)
    me = threading.current_thread().name
    ahead = BlockUniforms(np.random.default_rng(2), 100, ahead=2)
    ahead()
    ahead.draw_ahead()
    ahead.draw_ahead()  # two are on their way already: no more
    ahead(), ahead()
    assert drawn_in[id(ahead)][0] == me and len(drawn_in[id(ahead)]) == 3
    assert all(name.startswith("wasim-background") for name in drawn_in[id(ahead)][1:])
    run_blocks_serially(True)
    serial = BlockUniforms(np.random.default_rng(2), 100, ahead=2)
    serial.draw_ahead()
    serial()
    assert drawn_in[id(serial)] == [me] * 2


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


def test_blocks_run_in_threads_only_when_they_are_large_enough(threads, monkeypatch):
    """Below ``THREADS_FROM`` users the blocks run in the calling thread; from it, in the
    pool's threads (unless the process runs blocks serially)."""
    monkeypatch.setattr("model.blocks.THREADS_FROM", 100)

    def where(_):
        return threading.current_thread().name.startswith("wasim-block")

    assert map_blocks(where, range(2), 99) == [False, False]
    assert map_blocks(where, range(2), 100) == [True, True]
    run_blocks_serially(True)
    assert map_blocks(where, range(2), 10**9) == [False, False]


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


def test_a_background_operation_runs_in_its_own_thread_unless_the_process_runs_serially(threads):
    def where():
        return threading.current_thread().name

    assert in_background(where).result().startswith("wasim-background")
    run_blocks_serially(True)
    done = in_background(where)
    assert done.done() and done.result() == threading.current_thread().name


def test_a_background_operation_s_error_reaches_the_caller(threads):
    def fail():
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        in_background(fail).result()


def test_the_users_sum_their_contacts_concern_in_the_background_as_they_would_serially():
    """The neighbour sum of concern, computed on the other core while firms trade, leaves
    every user array as computing it in the reaction phase does."""
    worlds = []
    for serial in (False, True):
        previous = run_blocks_serially(serial)
        try:
            world = UserWorld(rng=6, n_users=3000)
            for _ in range(20):
                world.step()
        finally:
            run_blocks_serially(previous)
        worlds.append(vars(world.population.users))
    background, serial = worlds
    arrays = [name for name, value in serial.items() if isinstance(value, np.ndarray)]
    assert "concern" in arrays and float(serial["concern"].max()) > 0
    for name in arrays:
        np.testing.assert_array_equal(background[name], serial[name], err_msg=name)


def test_a_market_with_work_on_the_other_core_gives_the_rows_of_one_run_serially(monkeypatch):
    """The neighbour sum, the draws ahead, the blocks and the sticker sales run beside the
    day's other work; the market's daily rows are the same as with everything one after
    another."""
    monkeypatch.setattr("model.blocks.THREADS_FROM", 0)  # blocks in threads too, at this size
    rows = []
    for serial in (False, True):
        previous = run_blocks_serially(serial)
        try:
            model = run_model(days=15, seed=3, virtual_goods=True, virtual_goods_launch_day=2,
                              free_pack_rate=0.05)
        finally:
            run_blocks_serially(previous)
        rows.append(model.datacollector.get_model_vars_dataframe())
    assert rows[0]["revenue_stickers"].iloc[-1] > 0 and rows[0]["share_free_stickers"].iloc[-1] > 0
    pd.testing.assert_frame_equal(rows[0], rows[1])
