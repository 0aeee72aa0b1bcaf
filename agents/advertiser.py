"""Advertisers: buy Status-tab impressions (A2) and sponsored-message slots (A1) at auction;
brand advertisers also pay creators for sponsored posts in Channels (G1)."""

from __future__ import annotations

import mesa


class Advertiser(mesa.Agent):
    """Bids its expected value per unit (truthful under GSP's locally envy-free equilibrium,
    cal §7.1): a performance advertiser click value x click-through, a brand advertiser the
    value of being seen (``impression_value_usd``, G1). Moves its budget toward ads that pay.
    What it spent is read from the ledger."""

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
        self.account = model.ledger.open_account(self)
        self._clicks_today = 0.0
        self._seen_today = 0.0

    @property
    def is_brand(self) -> bool:
        return self.impression_value_usd > 0

    @property
    def creator_budget_usd(self) -> float:
        """Today's influencer campaign (G1): sponsored posts by creators in Channels."""
        return self.daily_budget_usd * self.influencer_share

    def bid(self, ctr: float) -> float:
        return self.impression_value_usd if self.is_brand else self.click_value_usd * ctr

    def budget_left(self, stream: str) -> float:
        if stream == "sponsored":
            share = self.sponsored_share
        else:
            share = 1 - self.sponsored_share - self.influencer_share
        spent = float(self.model.ledger.paid_today(self.account, stream))
        return max(self.daily_budget_usd * share - spent, 0.0)

    def record(self, clicks: float, seen: float) -> None:
        """What today's ads brought: clicks, and units seen (impressions or messages)."""
        self._clicks_today += clicks
        self._seen_today += seen

    def adapt(self) -> None:
        """Shrink the budget when what it bought (clicks, or impressions for a brand) was worth
        less than ``advertiser_return_hurdle`` x its cost; grow it when it was worth more and
        the budget ran out, since an unspent budget buys nothing more (and a brand's creator
        spend follows the budget)."""
        p = self.model.p
        spend = float(self.model.ledger.paid_today(self.account, "display_ads", "sponsored"))
        value = self._seen_today * self.impression_value_usd if self.is_brand else \
            self._clicks_today * self.click_value_usd
        auction_budget = self.daily_budget_usd * (1 - self.influencer_share)
        if spend > 0 and value < spend * p.advertiser_return_hurdle:
            self.daily_budget_usd *= 1 - p.budget_adapt_step
        elif (value > spend * p.advertiser_return_hurdle
              and spend >= p.advertiser_binding_share * auction_budget):
            self.daily_budget_usd *= 1 + p.budget_adapt_step
        self._clicks_today = 0.0
        self._seen_today = 0.0
