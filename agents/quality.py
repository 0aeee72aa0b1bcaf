"""A sender's quality rating and messaging tier (anti-spam, DIGEST A1; cal §1.3, §7.3).

Users who are annoyed block or report a sender; the sender's block rate, averaged over a
week, sets its quality rating (low above ``block_rate_low``, else good); a low rating moves
its daily messaging limit down one tier a day, a good one up one tier a day. Tiers grow
tenfold, like Meta's 1 K → 10 K → 100 K → unlimited unique users a day (cal §1.3), here as
shares of the firm's customers.
"""

from __future__ import annotations

import math

TIERS = 4
"""Tier 0 … 2 reach ``tier_base_share`` x 10^tier of the customers a day; tier 3 is unlimited."""

WEEK = 7.0


class SenderQuality:
    """Block-rate average, rating and tier of one business sender."""

    def __init__(self, block_rate_low: float, tier_base_share: float):
        self.block_rate_low = block_rate_low
        self.tier_base_share = tier_base_share
        self.tier = TIERS - 1  # established senders start unlimited
        self._delivered_avg = 0.0
        self._blocks_avg = 0.0
        self._delivered = 0
        self._blocks = 0

    @property
    def block_rate(self) -> float:
        """Blocks per delivered message over about a week (both averaged, so a day with few
        sends weighs little)."""
        return self._blocks_avg / self._delivered_avg if self._delivered_avg else 0.0

    @property
    def rating(self) -> str:
        return "low" if self.block_rate > self.block_rate_low else "good"

    def daily_limit(self, customers: int) -> float:
        """Unique users the sender may message today (``inf`` at the top tier)."""
        if self.tier == TIERS - 1:
            return math.inf
        return max(1, math.floor(customers * self.tier_base_share * 10**self.tier))

    def record(self, delivered: int, blocks: int) -> None:
        self._delivered += delivered
        self._blocks += blocks

    def end_day(self) -> None:
        """Update the weekly block rate from today's sends, then the tier: a low rating
        drops it one tier, a good one raises it one tier (days without sends change nothing)."""
        if self._delivered:
            self._delivered_avg += (self._delivered - self._delivered_avg) / WEEK
            self._blocks_avg += (self._blocks - self._blocks_avg) / WEEK
            step = -1 if self.rating == "low" else 1
            self.tier = min(max(self.tier + step, 0), TIERS - 1)
        self._delivered = self._blocks = 0
