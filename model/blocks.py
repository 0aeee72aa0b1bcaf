"""Work split into a fixed number of blocks, run in threads on both cores.

numpy's random fills and scipy's sparse products release the GIL, so the users' biggest
daily array operations run block by block in parallel. The blocks are fixed (not one per
thread), so the results are the same bit for bit whatever the number of threads. Processes
that share the cores with others (a sweep's workers) run their blocks one after another:
``run_blocks_serially``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
import scipy.sparse as sp

BLOCKS = 2

THREADS_FROM = 200_000
"""Blocks run in threads only for at least this many users: below it, handing a block to a
thread costs more than the second core saves (``wasim bench``: 100,000 users ran about 4%
faster one block after another, 1 M users 5-15% faster in threads)."""

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


class RowBlocks:
    """``graph @ x`` by row blocks. Each row sums in the same order as in the whole
    product, so the result equals ``graph @ x`` bit for bit. The blocks are views of the
    graph's arrays: no copy."""

    def __init__(self, graph: sp.csr_array, blocks: int = BLOCKS):
        self.rows = graph.shape[0]
        self.blocks = [self._view(graph, lo, hi) for lo, hi in block_bounds(self.rows, blocks)]

    @staticmethod
    def _view(graph: sp.csr_array, lo: int, hi: int) -> sp.csr_array:
        """Rows ``lo:hi`` sharing the graph's arrays (scipy's constructor would copy small
        views, so the arrays are set after construction)."""
        ptr = graph.indptr
        block = sp.csr_array((hi - lo, graph.shape[1]), dtype=graph.dtype)
        block.indptr = ptr[lo:hi + 1] - ptr[lo]
        block.indices = graph.indices[ptr[lo]:ptr[hi]]
        block.data = graph.data[ptr[lo]:ptr[hi]]
        return block

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate(map_blocks(lambda block: block @ x, self.blocks, self.rows))


class BlockUniforms:
    """Uniform draws for ``n`` users, each block from its own random stream (spawned from
    ``rng``), filled in parallel."""

    def __init__(self, rng: np.random.Generator, n: int, blocks: int = BLOCKS):
        self.n = n
        self.bounds = block_bounds(n, blocks)
        self.streams = rng.spawn(blocks)

    def __call__(self) -> np.ndarray:
        out = np.empty(self.n, dtype=np.float32)

        def fill(k: int) -> None:
            lo, hi = self.bounds[k]
            self.streams[k].random(out=out[lo:hi], dtype=np.float32)

        map_blocks(fill, range(len(self.streams)), self.n)
        return out
