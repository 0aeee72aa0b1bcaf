"""Enterprises on the Business Platform (B2): template messages by category, billed per
message at the recipient's regional rate; service conversations answered by staff or a
chatbot; CRM and analytics (G1); click-to-chat ads."""

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
        self.chatbot = False
        self.crm = False
        self.service_cost_usd = 0.0
        self._chats_month = 0
        self._sales_at_review = 0.0

    @property
    def conversion_factor(self) -> float:
        """CRM and analytics put the right offer before the right customer (G1)."""
        return 1 + self.model.p.crm_conversion_uplift * self.crm

    @property
    def tool_fees_usd_month(self) -> float:
        """What its chatbot and CRM cost one real firm a month, billed by its provider (B4)."""
        p = self.model.p
        return p.chatbot_fee_usd_month * self.chatbot + p.crm_fee_usd_month * self.crm

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
        self.answer(chats)
        self.convert(chats)
        self.convert(self.draw(p.ctr_sponsored, reached))
        ad_chats = self.buy_click_to_chat()
        self._ad_cost_today += self.answer(ad_chats)  # chats bought must be answered too
        self.convert(ad_chats, from_ads=True)

    def answer(self, chats: np.ndarray) -> float:
        """Staff answer service chats at ``service_cost_per_chat_usd``; a chatbot settles
        ``chatbot_deflection`` of them at no cost per chat (G1, B4). Returns the cost."""
        p = self.model.p
        self._chats_month += len(chats)
        cost = len(chats) * p.service_cost_per_chat_usd * (1 - p.chatbot_deflection * self.chatbot)
        self.service_cost_usd += cost
        return cost

    def review_tools(self) -> None:
        """Once a month, per real firm: keep a chatbot if the staff time it saves on last
        month's chats pays its fee, and CRM if the margin on the sales it adds does
        (cost-benefit adoption, the rule small businesses follow for Business App tools)."""
        p = self.model.p
        chats = self.per_real_firm(self._chats_month)
        self.chatbot = chats * p.service_cost_per_chat_usd * p.chatbot_deflection >= p.chatbot_fee_usd_month
        sales = self.per_real_firm(self.sales_usd - self._sales_at_review) / self.conversion_factor
        self.crm = self.margin * sales * p.crm_conversion_uplift >= p.crm_fee_usd_month
        self._chats_month = 0
        self._sales_at_review = self.sales_usd

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
