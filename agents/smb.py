"""Small businesses on the Business App (B1): free chats, tools adopted by benefit and
imitation (G1), an optional premium tier, and click-to-chat ads bought from their own return
on ad spend (A3)."""

from __future__ import annotations

from agents.business import MEMORY_DAYS, Business

TOOLS = ("profile", "greetings", "quick_replies", "labels", "catalog")
"""Business App tools: a profile, greeting and away messages, quick replies, chat labels and a
catalog (DIGEST B1). Each answers faster or shows more, so each raises conversion alike."""


def tool_shares(smbs) -> dict[str, float]:
    """Share of small businesses using each tool (what a firm sees others do)."""
    return {tool: sum(tool in s.tools for s in smbs) / max(len(smbs), 1) for tool in TOOLS}


class SmallBusiness(Business):
    on_business_platform = False

    def __init__(self, model, customers, region: int, ad_budget_usd: float, margin: float):
        super().__init__(model, customers, region, ad_budget_usd, margin)
        self.premium = False
        self.chat_sales_avg = 0.0
        self._chat_sales_today = 0.0
        rng = model.org_rng
        self.tools = {tool for tool in TOOLS if rng.random() < model.p.tool_initial_share}

    def step(self) -> None:
        p = self.model.p
        rate = p.chat_rate * (1 + p.premium_chat_uplift * self.premium)
        self._chat_sales_today = self.convert(self.open_conversations(rate))
        self.convert(self.buy_click_to_chat(), from_ads=True)
        if self.premium:
            self.model.platform.charge(self, "subscriptions", p.premium_price_usd_month / 30)

    @property
    def conversion_factor(self) -> float:
        return (1 + self.model.p.tool_conversion_uplift) ** len(self.tools)

    def adapt(self) -> None:
        """Premium when the extra chats it allows earn more margin than it costs (B1); a
        tool when its extra margin beats its monthly effort, sooner the more others use it."""
        p = self.model.p
        self.chat_sales_avg += (self._chat_sales_today - self.chat_sales_avg) / MEMORY_DAYS
        base_sales = self.chat_sales_avg / (1 + p.premium_chat_uplift * self.premium)
        premium_gain = 30 * base_sales * p.premium_chat_uplift * self.margin
        self.premium = premium_gain > p.premium_price_usd_month
        tool_gain = 30 * self.chat_sales_avg * p.tool_conversion_uplift * self.margin
        if tool_gain > p.tool_effort_usd_month:
            shares = self.model.smb_tool_shares
            for tool in TOOLS:
                chance = p.tool_adoption_rate * (1 + p.tool_imitation_weight * shares[tool])
                if tool not in self.tools and self.rng.random() < chance:
                    self.tools.add(tool)
        super().adapt()
