"""Work on both cores: elementwise work split into a fixed number of blocks run in threads,
and a whole operation run in a thread of its own while the day goes on (``in_background``).

numpy's loops, its random fills and scipy's sparse products release the GIL, so they run in
parallel with the caller. The blocks are fixed (not one per thread), and a background
operation computes what the caller would, so the results are the same bit for bit whatever
the number of threads. Processes that share the cores with others (a sweep's workers) run
everything one after another: ``run_blocks_serially``.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache

import numpy as np

BLOCKS = 2

THREADS_FROM = 200_000
"""Blocks run in threads only for at least this many users: below it, handing a block to a
thread costs more than the second core saves (``wasim bench``: 100,000 users ran about 4%
faster one block after another, 1 M users 3-17% faster in threads)."""

_serial = False


def run_blocks_serially(serial: bool = True) -> bool:
    """Run blocks one after another in this process (or again in threads); returns the
    previous setting."""
    global _serial
    previous, _serial = _serial, serial
    return previous


def map_blocks(function, items, rows: int) -> list:
    """``function`` over ``items``, blocks of ``rows`` users in all: in threads, unless this
    process runs blocks serially or the blocks are too small to gain (``THREADS_FROM``)."""
    if _serial or rows < THREADS_FROM:
        return list(map(function, items))
    return list(_threads().map(function, items))


def in_background(function) -> Future:
    """``function()`` in a thread of its own while the caller goes on (numpy and scipy release
    the GIL in their loops, so it runs on the other core), unless this process runs blocks
    serially: then now. The result is the same either way; ``.result()`` waits for it."""
    if _serial:
        done = Future()
        done.set_result(function())
        return done
    return _background().submit(function)


@cache
def _background() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="wasim-background")


@cache
def _threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(min(BLOCKS, os.cpu_count() or 1), thread_name_prefix="wasim-block")


def block_bounds(n: int, blocks: int = BLOCKS) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, blocks + 1).astype(np.int64)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def blockwise(function, n: int, outputs: dict[str, np.dtype]) -> dict[str, np.ndarray]:
    """``function(block)`` (``block`` a slice of the ``n`` users) returns elementwise results for
    the users of the block; they are written, in the block's own thread, into arrays of all
    ``n`` users. Elementwise work gives the same numbers as one call over everyone, and runs
    on both cores (numpy's loops release the GIL)."""
    out = {name: np.empty(n, dtype=dtype) for name, dtype in outputs.items()}

    def fill(bounds: tuple[int, int]) -> None:
        block = slice(*bounds)
        for name, values in function(block).items():
            out[name][block] = values

    map_blocks(fill, block_bounds(n), n)
    return out


class BlockUniforms:
    """Uniform draws for ``n`` users, each block from its own random stream (spawned from
    ``rng``). ``draw_ahead`` draws the next ``ahead`` arrays in the background
    (``in_background``) while the day's other work goes on: one thread draws them in the order
    they will be asked for, so each stream gives the same numbers as when drawn on demand."""

    def __init__(self, rng: np.random.Generator, n: int, blocks: int = BLOCKS, ahead: int = 4):
        self.n = n
        self.bounds = block_bounds(n, blocks)
        self.streams = rng.spawn(blocks)
        self.ahead = ahead
        self._drawn: deque[Future] = deque()

    def __call__(self) -> np.ndarray:
        """The next array: drawn ahead, or now if none is."""
        return self._drawn.popleft().result() if self._drawn else self._draw()

    def draw_ahead(self) -> None:
        """Draw arrays in the background until ``ahead`` are drawn or on their way (call it
        when the other core has the least to do)."""
        while len(self._drawn) < self.ahead:
            self._drawn.append(in_background(self._draw))

    def _draw(self) -> np.ndarray:
        out = np.empty(self.n, dtype=np.float32)
        for stream, (lo, hi) in zip(self.streams, self.bounds, strict=True):
            stream.random(out=out[lo:hi], dtype=np.float32)
        return out
