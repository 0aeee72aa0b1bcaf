"""Soak: ten simulated years at 20,000 users with every kind of dated event stay finite, and
resident memory stays flat after the first year (less than 10% growth). Behind the ``slow``
marker (``pytest -m slow tests/test_soak.py -s`` prints the yearly figures).

Memory is read from /proc/self/statm after a garbage collection and glibc's ``malloc_trim``,
so that it counts what the process holds, not freed heap the allocator keeps for later (the
users' day runs in threads, whose arenas fragment); the raw figure is printed beside it. Some
growth is the model's own: the data collector keeps every day's row (about 0.8 MB a year) and
profitable small businesses keep adding customers by word of mouth."""

import ctypes
import gc
import os
import time

import numpy as np
import pytest

from model.market import WhatsAppMarket

YEARS = 10
EVENTS = {
    "media_shock_day": 200, "ultimatum_day": 400, "postponement_day": 409, "ultimatum_deadline_day": 433,
    "postponement_days": 96, "outage_day": 1000, "shopping_section": True, "shopping_launch_day": 1500,
    "virtual_goods": True, "virtual_goods_launch_day": 700, "data_sharing_change_day": 2500,
    "data_sharing_after": "mandatory",
}
"""A privacy shock, an ultimatum postponed and then enforced, an outage, the shopping section
and the sticker store (with their holiday drops every year after), and a later switch of the
data-sharing lever."""


def resident_mb() -> float:
    """This process's resident memory (/proc/self/statm: its second field, in pages)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def held_mb() -> float:
    """Resident memory once freed heap has gone back to the system (where glibc allows)."""
    gc.collect()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)
    return resident_mb()


@pytest.mark.slow
def test_ten_years_at_20000_users_with_dated_events_stay_finite_and_memory_flat():
    model = WhatsAppMarket(rng=2026, n_users=20_000, **EVENTS)
    started, memory = time.perf_counter(), []
    for year in range(1, YEARS + 1):
        for _ in range(365):
            model.step()
        raw = resident_mb()
        memory.append(held_mb())
        print(f"year {year:2d}: {memory[-1]:6.1f} MB resident ({raw:.1f} before trimming), "
              f"{time.perf_counter() - started:4.0f} s, {model.today['users_active']:,} users active")
    daily = model.datacollector.get_model_vars_dataframe()
    numbers = daily.select_dtypes("number").to_numpy(float)
    assert len(daily) == 365 * YEARS
    assert np.isfinite(numbers).all()
    assert (daily.filter(like="revenue_") >= 0).all().all() and (daily["users_active"] > 0).all()
    for stock in ("annoyance", "concern", "peer_exposure"):
        assert np.isfinite(getattr(model.users, stock)).all()
    growth = max(memory[1:]) / memory[0] - 1
    print(f"resident memory after year 1: {memory[0]:.1f} MB; largest growth since: {100 * growth:.1f}%")
    assert growth < 0.10, memory
