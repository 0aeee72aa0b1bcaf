"""Senders' quality ratings and messaging tiers (anti-spam, A1; [quickreplydocs], SOURCES.md#frequency-caps).

Users who are annoyed block or report a sender; the sender's block rate, averaged over a
week, sets its quality rating (low above ``block_rate_low``, else good); a low rating moves
its daily messaging limit down one tier a day, a good one up one tier a day. Tiers grow
tenfold, like Meta's 1 K → 10 K → 100 K → unlimited unique users a day ([quickreplydocs]), here as
shares of the sender's customers. The platform rates every sender account at once.
"""

from __future__ import annotations

import numpy as np

TIERS = 4
"""Tier 0 … 2 reach ``tier_base_share`` x 10^tier of the customers a day; tier 3 is unlimited."""

TIER_STEP = 10
"""Each tier allows ten times the one below ([quickreplydocs])."""

WEEK = 7.0


class SenderRatings:
    """Block-rate averages, ratings and tiers of the sender accounts (index = account)."""

    def __init__(self, block_rate_low: float, tier_base_share: float, accounts: int = 64):
        self.block_rate_low = block_rate_low
        self.tier_base_share = tier_base_share
        self.tier = np.full(accounts, TIERS - 1)  # established senders start unlimited
        self.customers = np.zeros(accounts, dtype=np.int64)
        self._delivered_avg = np.zeros(accounts)
        self._blocks_avg = np.zeros(accounts)
        self._delivered = np.zeros(accounts, dtype=np.int64)
        self._blocks = np.zeros(accounts, dtype=np.int64)

    def enrol(self, accounts: np.ndarray, customers: np.ndarray) -> None:
        """Make room for ``accounts`` and set how many customers each has (its tiers' base)."""
        top = int(accounts.max(initial=-1)) + 1
        if top > len(self.tier):
            extra = max(top - len(self.tier), len(self.tier))  # at least double
            self.tier = np.concatenate([self.tier, np.full(extra, TIERS - 1)])
            for name in ("customers", "_delivered_avg", "_blocks_avg", "_delivered", "_blocks"):
                array = getattr(self, name)
                setattr(self, name, np.concatenate([array, np.zeros(extra, dtype=array.dtype)]))
        self.customers[accounts] = customers

    @property
    def block_rate(self) -> np.ndarray:
        """Blocks per delivered message over about a week (both averaged, so a day with few
        sends weighs little)."""
        return np.divide(self._blocks_avg, self._delivered_avg, out=np.zeros_like(self._blocks_avg),
                         where=self._delivered_avg > 0)

    @property
    def low(self) -> np.ndarray:
        """Accounts rated low."""
        return self.block_rate > self.block_rate_low

    def daily_limit(self, accounts: np.ndarray) -> np.ndarray:
        """Unique users each sender may message today (``inf`` at the top tier)."""
        tier = self.tier[accounts]
        limit = np.maximum(1, np.floor(self.customers[accounts] * self.tier_base_share
                                       * float(TIER_STEP) ** tier))
        return np.where(tier == TIERS - 1, np.inf, limit)

    def record(self, accounts: np.ndarray, delivered: np.ndarray, blocks: np.ndarray) -> None:
        np.add.at(self._delivered, accounts, delivered)
        np.add.at(self._blocks, accounts, blocks)

    def end_day(self) -> None:
        """Update the weekly block rates from today's sends, then the tiers: a low rating
        drops a tier, a good one raises it (days without sends change nothing)."""
        sent = self._delivered > 0
        self._delivered_avg[sent] += (self._delivered[sent] - self._delivered_avg[sent]) / WEEK
        self._blocks_avg[sent] += (self._blocks[sent] - self._blocks_avg[sent]) / WEEK
        step = np.where(self.low, -1, 1)
        self.tier[sent] = np.clip(self.tier[sent] + step[sent], 0, TIERS - 1)
        self._delivered[:] = 0
        self._blocks[:] = 0
