"""The revenue ledger: the only way money reaches the platform.

Every payment is booked from a payer to the platform under one revenue stream, so revenue
cannot appear from nowhere and the per-stream sum always equals the total.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

STREAMS = (
    "sponsored",
    "display_ads",
    "click_to_chat",
    "marketing",
    "utility",
    "authentication",
    "service",
    "subscriptions",
    "payments",
    "commerce",
    "stickers",
)
"""Revenue streams, one result column ``revenue_<stream>`` each (DESIGN.md)."""

USERS = "users"
"""Payer key for consumers, who pay as a population (stickers, P2P fees)."""

_INDEX = {s: i for i, s in enumerate(STREAMS)}


class Ledger:
    """Books payments per stream and per payer; ``close_day`` hands over the day's totals."""

    def __init__(self) -> None:
        self.today = np.zeros(len(STREAMS))
        self.lifetime = np.zeros(len(STREAMS))
        self.paid_by: dict[object, float] = defaultdict(float)

    def book(self, payer: object, stream: str, amount_usd: float) -> None:
        """Move ``amount_usd`` from ``payer`` (an agent's unique_id or USERS) to the platform."""
        if stream not in _INDEX:
            raise KeyError(f"unknown revenue stream {stream!r}; streams: {', '.join(STREAMS)}")
        if not (amount_usd >= 0 and math.isfinite(amount_usd)):
            raise ValueError(f"a booking must be a finite amount >= 0, got {amount_usd!r}")
        if amount_usd == 0:
            return
        self.today[_INDEX[stream]] += amount_usd
        self.paid_by[payer] += amount_usd

    def close_day(self) -> dict[str, float]:
        """The day's revenue per stream; starts a new day."""
        day = dict(zip(STREAMS, self.today.tolist(), strict=True))
        self.lifetime += self.today
        self.today = np.zeros(len(STREAMS))
        return day
