"""Advertisers: buy Status-tab impressions (A2) and sponsored-message slots (A1) at auction."""

from __future__ import annotations

import mesa
import numpy as np

ADAPT_STEP = 0.02
"""Daily relative budget change after a good or bad return (assumption: slow learning)."""


class Advertiser(mesa.Agent):
    """Bids its expected value per unit: click value x click-through (truthful under GSP's
    locally envy-free equilibrium, cal §7.1); moves its budget toward ads that pay."""

    def __init__(self, model, region: int, daily_budget_usd: float, click_value_usd: float,
                 sponsored_share: float, target_interest: int):
        super().__init__(model)
        self.region = region
        self.target_interest = target_interest
        self.daily_budget_usd = daily_budget_usd
        self.click_value_usd = click_value_usd
        self.sponsored_share = sponsored_share
        self.spent = 0.0
        self.value = 0.0
        self._today = {"display_ads": 0.0, "sponsored": 0.0}
        self._clicks_today = 0.0

    def bid(self, ctr: float) -> float:
        return self.click_value_usd * ctr

    def budget_left(self, stream: str) -> float:
        share = self.sponsored_share if stream == "sponsored" else 1 - self.sponsored_share
        return max(self.daily_budget_usd * share - self._today[stream], 0.0)

    def record(self, stream: str, spend_usd: float, clicks: float) -> None:
        self._today[stream] += spend_usd
        self._clicks_today += clicks

    def adapt(self) -> None:
        """Grow the budget when clicks were worth more than they cost, shrink it otherwise."""
        spend = sum(self._today.values())
        value = self._clicks_today * self.click_value_usd
        self.value += value
        if spend > 0:
            self.daily_budget_usd *= 1 + ADAPT_STEP * np.sign(value - spend * 1.05)
        self._today = dict.fromkeys(self._today, 0.0)
        self._clicks_today = 0.0
