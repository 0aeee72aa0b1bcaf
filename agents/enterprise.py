"""Enterprises on the Business Platform (B2): template messages by category, billed per
message at the recipient's regional rate; service conversations answered by staff or a
chatbot; CRM and analytics (G1); click-to-chat ads."""

from __future__ import annotations

import numpy as np

from agents.business import Business, Plan
from model.params import PARAMS, REGIONS


class Enterprise(Business):
    """Joins the Business Platform through a solution provider (B4), then sends templates,
    answers chats and buys click-to-chat ads; pays its provider a markup and a fee."""

    def __init__(self, model, customers, region: int, ad_budget_usd: float, real_firms: float):
        super().__init__(model, customers, region, ad_budget_usd, model.p.enterprise_margin, real_firms)
        self.provider = None
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

    @property
    def cost_per_chat_usd(self) -> float:
        """Staff answer service chats at ``service_cost_per_chat_usd``; a chatbot settles
        ``chatbot_deflection`` of them at no cost per chat (G1, B4)."""
        p = self.model.p
        return p.service_cost_per_chat_usd * (1 - p.chatbot_deflection * self.chatbot)

    def plan(self) -> Plan:
        """Nothing until a provider has onboarded it (B4)."""
        if self.provider is None:
            return Plan()
        p = self.model.p
        return Plan(chat=p.chat_rate, utility=p.utility_rate, authentication=p.authentication_rate,
                    conversion_factor=self.conversion_factor, on_business_platform=True,
                    buys_click_to_chat=True)

    def marketing_rate(self) -> np.ndarray:
        """Chance each active customer gets a marketing template today, by region."""
        if self.provider is None:
            return np.zeros(len(REGIONS))
        card = self.model.platform.levers.rate_card["marketing"]
        return marketing_chance(self.model.p, card, np.array([self.provider.markup_share]))[0]

    def close_day(self, sales_usd: float, ad_sales_usd: float, ad_cost_usd: float, chats: int) -> None:
        super().close_day(sales_usd, ad_sales_usd, ad_cost_usd, chats)
        self._chats_month += chats

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
        card = self.model.platform.levers.rate_card
        sends = len(self.customers) * p.daily_active_mean
        return sends * (p.utility_rate * card["utility"].mean() + p.marketing_rate * card["marketing"].mean())

    def provider_fees_usd(self, meta_fees_usd: float) -> float:
        """Today's bill from its provider for ``meta_fees_usd`` paid to the platform."""
        return self.provider.daily_cost(self, meta_fees_usd)


def marketing_chance(p, card: np.ndarray, markup: np.ndarray) -> np.ndarray:
    """Marketing volume falls with price: each active customer is targeted with probability
    ``marketing_rate`` x (price x (1 + provider markup) / default price) ^ -elasticity
    (assumption), for each sender's ``markup`` (rows) and region of ``card`` (columns)."""
    default = np.array([PARAMS[f"price_marketing_{r}_usd"].default for r in REGIONS])
    with np.errstate(divide="ignore", over="ignore"):  # a price of (nearly) 0: demand is inf
        relative = card[None, :] * (1 + markup[:, None]) / default
        demand = relative ** -p.marketing_price_elasticity
    if p.marketing_rate <= 0:  # none, even where the price is 0 (0 x inf would be NaN)
        return np.zeros_like(relative)
    return np.minimum(p.marketing_rate * demand, 1.0)
