"""Advertisers: buy Status-tab impressions (A2) and sponsored-message slots (A1) at auction;
brand advertisers also pay creators for sponsored posts in Channels (G1)."""

from __future__ import annotations

import mesa

ADAPT_STEP = 0.02
"""Daily relative budget change after a good or bad return (assumption: slow learning)."""

BINDING_SHARE = 0.9
"""Share of its auction budget an advertiser must have spent for the budget to count as binding:
only then does more budget buy more (assumption)."""


class Advertiser(mesa.Agent):
    """Bids its expected value per unit (truthful under GSP's locally envy-free equilibrium,
    cal §7.1): a performance advertiser click value x click-through, a brand advertiser the
    value of being seen (``impression_value_usd``, G1). Moves its budget toward ads that pay."""

    def __init__(self, model, region: int, daily_budget_usd: float, click_value_usd: float,
                 sponsored_share: float, target_interest: int, impression_value_usd: float = 0.0,
                 influencer_share: float = 0.0):
        super().__init__(model)
        self.region = region
        self.target_interest = target_interest
        self.daily_budget_usd = daily_budget_usd
        self.click_value_usd = click_value_usd
        self.impression_value_usd = impression_value_usd
        self.sponsored_share = sponsored_share
        self.influencer_share = influencer_share
        self.spent = 0.0
        self.paid_to_creators = 0.0
        self._today = {"display_ads": 0.0, "sponsored": 0.0}
        self._clicks_today = 0.0
        self._seen_today = 0.0

    @property
    def is_brand(self) -> bool:
        return self.impression_value_usd > 0

    def bid(self, ctr: float) -> float:
        return self.impression_value_usd if self.is_brand else self.click_value_usd * ctr

    def budget_left(self, stream: str) -> float:
        if stream == "sponsored":
            share = self.sponsored_share
        else:
            share = 1 - self.sponsored_share - self.influencer_share
        return max(self.daily_budget_usd * share - self._today[stream], 0.0)

    def record(self, stream: str, spend_usd: float, clicks: float, seen: float) -> None:
        self._today[stream] += spend_usd
        self._clicks_today += clicks
        self._seen_today += seen

    def pay_creators(self) -> float:
        """Today's influencer campaign (G1): sponsored posts by creators in Channels, paid to
        the creators (not platform revenue). Returns the spend."""
        spend = self.daily_budget_usd * self.influencer_share
        self.paid_to_creators += spend
        return spend

    def adapt(self) -> None:
        """Shrink the budget when what it bought (clicks, or impressions for a brand) was worth
        less than 1.05 x its cost; grow it when it was worth more and the budget ran out, since
        an unspent budget buys nothing more (and a brand's creator spend follows the budget)."""
        spend = sum(self._today.values())
        value = self._seen_today * self.impression_value_usd if self.is_brand else \
            self._clicks_today * self.click_value_usd
        auction_budget = self.daily_budget_usd * (1 - self.influencer_share)
        if spend > 0 and value < spend * 1.05:
            self.daily_budget_usd *= 1 - ADAPT_STEP
        elif value > spend * 1.05 and spend >= BINDING_SHARE * auction_budget:
            self.daily_budget_usd *= 1 + ADAPT_STEP
        self._today = dict.fromkeys(self._today, 0.0)
        self._clicks_today = 0.0
        self._seen_today = 0.0
