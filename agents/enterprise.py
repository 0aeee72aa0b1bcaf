"""Enterprises on the Business Platform (B2): template messages by category, billed per
message at the recipient's regional rate; service conversations; click-to-chat ads."""

from __future__ import annotations

import numpy as np

from agents.business import Business


class Enterprise(Business):
    """Joins the Business Platform through a solution provider (B4), then sends templates,
    answers chats and buys click-to-chat ads; pays its provider a markup and a fee."""

    def __init__(self, model, customers, region: int, ad_budget_usd: float, real_firms: float):
        super().__init__(model, customers, region, ad_budget_usd, real_firms=real_firms)
        self.provider = None
        self.paid_to_provider = 0.0

    def step(self) -> None:
        if self.provider is None:
            self.seek_provider()
            return
        p = self.model.p
        platform = self.model.platform
        spent_before = self.spent
        chats = self.open_conversations(p.chat_rate)
        self.send_utility(self.draw(p.utility_rate), window=chats)
        platform.send(self, "authentication", self.draw(p.authentication_rate))
        reached = platform.send(self, "marketing", self.marketing_audience())
        self.paid_to_provider += self.provider.bill(self, self.spent - spent_before)
        self.convert(chats)
        self.convert(self.draw(p.ctr_sponsored, reached))
        self.convert(self.buy_click_to_chat(), from_ads=True)

    def seek_provider(self) -> None:
        """Sign with the provider that costs least for this firm's expected Meta fees,
        among those with onboarding room today (B4)."""
        open_ = [s for s in self.model.solution_providers if s.has_room()]
        if open_:
            fees = self.expected_daily_fees_usd()
            min(open_, key=lambda s: s.daily_cost(self, fees)).onboard(self)

    def expected_daily_fees_usd(self) -> float:
        """Meta fees at the rate card's mean, for the intended utility and marketing sends to
        today's typical active customers (a rough figure a firm can know in advance)."""
        p = self.model.p
        card = self.model.platform.rate_card
        sends = len(self.customers) * p.daily_active_mean
        return sends * (p.utility_rate * card["utility"].mean() + p.marketing_rate * card["marketing"].mean())

    def marketing_audience(self) -> np.ndarray:
        """Marketing volume falls with price: each active customer is targeted with
        probability ``marketing_rate`` x (price x (1 + provider markup) / default price) ^
        -elasticity (assumption).
        Drawn at the highest regional rate, then thinned to each customer's own rate."""
        p = self.model.p
        markup = (1 + self.provider.markup_share) ** -p.marketing_price_elasticity
        rate = np.minimum(p.marketing_rate * self.model.platform.marketing_volume_factor * markup, 1.0)
        top = rate.max()
        if top <= 0:
            return self.customers[:0]
        picked = self.draw(top)
        keep = self.rng.random(len(picked)) * top < rate[self.model.users.region[picked]]
        return picked[keep]
