"""Small businesses on the Business App (B1): free chats, an optional premium tier, and
click-to-chat ads bought from their own return on ad spend (A3)."""

from __future__ import annotations

from agents.business import MEMORY_DAYS, Business


class SmallBusiness(Business):
    on_business_platform = False

    def __init__(self, model, customers, region: int, ad_budget_usd: float, margin: float):
        super().__init__(model, customers, region, ad_budget_usd, margin)
        self.premium = False
        self.chat_sales_avg = 0.0
        self._chat_sales_today = 0.0

    def step(self) -> None:
        p = self.model.p
        rate = p.chat_rate * (1 + p.premium_chat_uplift * self.premium)
        self._chat_sales_today = self.convert(self.open_conversations(rate))
        self.convert(self.buy_click_to_chat(), from_ads=True)
        if self.premium:
            self.model.platform.charge(self, "subscriptions", p.premium_price_usd_month / 30)

    def adapt(self) -> None:
        """Premium when the extra chats it allows earn more margin than it costs (B1)."""
        p = self.model.p
        self.chat_sales_avg += (self._chat_sales_today - self.chat_sales_avg) / MEMORY_DAYS
        base_sales = self.chat_sales_avg / (1 + p.premium_chat_uplift * self.premium)
        premium_gain = 30 * base_sales * p.premium_chat_uplift * self.margin
        self.premium = premium_gain > p.premium_price_usd_month
        super().adapt()
