"""Advertisers: buy Status-tab impressions (A2) and sponsored-message slots (A1) at auction;
brand advertisers also pay creators for sponsored posts in Channels (G1)."""

from __future__ import annotations

import copy
import math

import mesa
import numpy as np


def value_of(units: float, unit_value_usd: float, ceiling_usd: float) -> float:
    """What ``units`` (clicks, or impressions for a brand) of a day are worth to an advertiser
    whose first unit is worth ``unit_value_usd``: concave, V = V_max (1 - exp(-u v / V_max)),
    never above ``ceiling_usd`` = V_max (diminishing returns from the first unit,
    [simon1980shape])."""
    return ceiling_usd * -math.expm1(-units * unit_value_usd / ceiling_usd)


def marginal_return(units: float, unit_value_usd: float, ceiling_usd: float, spend_usd: float) -> float:
    """Value of the day's last unit over the average price paid per unit: dV/du x u / spend."""
    return unit_value_usd * math.exp(-units * unit_value_usd / ceiling_usd) * units / spend_usd


class Advertiser(mesa.Agent):
    """Bids its expected value per unit (truthful under GSP's locally envy-free equilibrium,
    [edelman2007gsp]): a performance advertiser click value x the click-through the audience
    actually gives (blindness included), a brand advertiser the value of being seen
    (``impression_value_usd``, G1). Moves its budget toward ads that pay, until the return of
    the last unit falls to its hurdle. What it spent is read from the ledger."""

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
        # the market behind the advertiser: the most its ads can be worth in a day
        self.value_ceiling_usd = model.p.advertiser_value_ceiling * daily_budget_usd * (1 - influencer_share)
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

    def auction_budget_usd(self, stream: str) -> float:
        """Today's budget for ``stream`` (display_ads or sponsored); the rest of the daily
        budget goes to creators. Sponsored messages get their share of what the creators leave
        (all of it when the two shares add up to more than the budget), display ads the rest."""
        sponsored = min(self.sponsored_share, 1 - self.influencer_share)
        if stream == "sponsored":
            return self.daily_budget_usd * sponsored
        return self.daily_budget_usd * (1 - sponsored - self.influencer_share)

    def record(self, clicks: float, seen: float) -> None:
        """What today's ads brought: clicks, and units seen (impressions or messages)."""
        self._clicks_today += clicks
        self._seen_today += seen

    def adapt(self) -> None:
        """Shrink the budget when what it bought (clicks, or impressions for a brand) was worth
        less than ``advertiser_return_hurdle`` x its cost; grow it when the last unit bought
        was still worth more than that and the budget ran out, since an unspent budget buys
        nothing more (and a brand's creator spend follows the budget). Values are concave
        (``value_of``), so budgets stop growing when marginal returns fall."""
        p = self.model.p
        spend = float(self.model.ledger.paid_today(self.account, "display_ads", "sponsored"))
        units, unit_value = ((self._seen_today, self.impression_value_usd) if self.is_brand
                             else (self._clicks_today, self.click_value_usd))
        auction_budget = self.daily_budget_usd * (1 - self.influencer_share)
        hurdle, ceiling = p.advertiser_return_hurdle, self.value_ceiling_usd
        if spend > 0 and value_of(units, unit_value, ceiling) < spend * hurdle:
            self.daily_budget_usd *= 1 - p.budget_adapt_step
        elif (spend >= p.advertiser_binding_share * auction_budget and spend > 0
              and marginal_return(units, unit_value, ceiling, spend) > hurdle):
            self.daily_budget_usd *= 1 + p.budget_adapt_step
        self._clicks_today = 0.0
        self._seen_today = 0.0


class Advertisers:
    """Advertisers as arrays for a day's auctions: their values and budgets are read once,
    what they won is handed back to each."""

    def __init__(self, advertisers: list[Advertiser]):
        self.members = advertisers
        self.region = np.array([a.region for a in advertisers], dtype=np.int64)
        self.account = np.array([a.account for a in advertisers], dtype=np.int64)
        self.target = np.array([a.target_interest for a in advertisers])
        self.brand = np.array([a.is_brand for a in advertisers], dtype=bool)
        self.click_value = np.array([a.click_value_usd for a in advertisers])
        self.impression_value = np.array([a.impression_value_usd for a in advertisers])
        self.creator_budget = np.array([a.creator_budget_usd for a in advertisers])
        self.budget = {stream: np.array([a.auction_budget_usd(stream) for a in advertisers])
                       for stream in ("display_ads", "sponsored")}

    def __len__(self) -> int:
        return len(self.members)

    def in_region(self, region: int) -> Advertisers:
        """The members in ``region``, in the group's order; their arrays are taken from the
        group's, not read from the agents again (a region's group is made once per day)."""
        index = np.flatnonzero(self.region == region)
        group = copy.copy(self)
        group.members = [self.members[i] for i in index.tolist()]
        for name, values in vars(self).items():
            if isinstance(values, np.ndarray):
                setattr(group, name, values[index])
        group.budget = {stream: budget[index] for stream, budget in self.budget.items()}
        return group

    def bids(self, ctr: np.ndarray) -> np.ndarray:
        """Each bids its expected value per unit: a performance advertiser its click value x
        its click-through, a brand the value of being seen (G1)."""
        return np.where(self.brand, self.impression_value, self.click_value * ctr)

    def budget_left(self, ledger, stream: str) -> np.ndarray:
        """Today's budget for ``stream`` less what each has spent on it today (the ledger)."""
        return np.maximum(self.budget[stream] - ledger.paid_today(self.account, stream), 0.0)

    def record(self, winners: np.ndarray, clicks: np.ndarray, seen: np.ndarray) -> None:
        for w, c, n in zip(winners.tolist(), clicks.tolist(), seen.tolist(), strict=True):
            self.members[w].record(c, n)
