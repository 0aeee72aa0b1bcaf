"""Small businesses on the Business App (B1): free chats, tools adopted by benefit and
imitation (G1), an optional premium tier, and click-to-chat ads bought from their own return
on ad spend (A3). Each is a Mesa agent holding its state and making its own decisions; their
daily trade is carried out for all firms at once by ``agents.firms.Firms``."""

from __future__ import annotations

import numpy as np

from agents.business import Business, Plan
from model.network import random_contacts
from model.params import DAYS_PER_MONTH

TOOLS = ("profile", "greetings", "quick_replies", "labels", "catalog")
"""Business App tools: a profile, greeting and away messages, quick replies, chat labels and a
catalog (B1). Each answers faster or shows more, so each raises conversion alike."""


class SmallBusiness(Business):
    def __init__(self, model, customers, region: int, ad_budget_usd: float, margin: float,
                 real_firms: float):
        super().__init__(model, customers, region, ad_budget_usd, margin, real_firms)
        self.premium = False
        self.chat_sales_avg = 0.0
        self.chats_avg = 0.0
        self._chat_sales_today = 0.0
        self._chats_today = 0
        self.losing_months = 0
        rng = model.org_rng
        self.tools = {tool for tool in TOOLS if rng.random() < model.p.tool_initial_share}

    @property
    def conversion_factor(self) -> float:
        return (1 + self.model.p.tool_conversion_uplift) ** len(self.tools)

    def plan(self) -> Plan:
        """Customers chat (more with premium, B1) and buy, at the tools' conversion (G1)."""
        p = self.model.p
        return Plan(chat=p.chat_rate * (1 + p.premium_chat_uplift * self.premium),
                    conversion_factor=self.conversion_factor, buys_click_to_chat=True)

    def close_day(self, sales_usd: float, ad_sales_usd: float, ad_cost_usd: float, chats: int) -> None:
        super().close_day(sales_usd, ad_sales_usd, ad_cost_usd, chats)
        self._chat_sales_today = sales_usd - ad_sales_usd
        self._chats_today = chats

    def adapt(self) -> None:
        """Premium when the extra chats it allows earn more margin than it costs (B1); a
        tool when its extra margin beats its monthly effort, sooner the more others use it.
        Both are judged per real firm (``per_real_firm``)."""
        p = self.model.p
        self.chat_sales_avg += (self._chat_sales_today - self.chat_sales_avg) / p.firm_memory_days
        self.chats_avg += (self._chats_today - self.chats_avg) / p.firm_memory_days
        monthly_sales = self.per_real_firm(DAYS_PER_MONTH * self.chat_sales_avg)
        base_sales = monthly_sales / (1 + p.premium_chat_uplift * self.premium)
        price = self.model.platform.levers.premium_price_usd_month
        self.premium = base_sales * p.premium_chat_uplift * self.margin > price
        if monthly_sales * p.tool_conversion_uplift * self.margin > p.tool_effort_usd_month:
            shares = self.model.firms.tool_shares
            for tool in TOOLS:
                chance = p.tool_adoption_rate * (1 + p.tool_imitation_weight * shares[tool])
                if tool not in self.tools and self.rng.random() < chance:
                    self.tools.add(tool)
        super().adapt()

    def monthly_profit_usd(self) -> float:
        """Profit of one of its real firms over the last month: margin on chat and ad-driven
        sales less ad spend, the premium fee, the tools' effort and the fixed cost."""
        p = self.model.p
        trade = DAYS_PER_MONTH * (self.margin * (self.chat_sales_avg + self.ad_sales_avg) - self.ad_cost_avg)
        return (self.per_real_firm(trade) - self.model.platform.levers.premium_price_usd_month * self.premium
                - p.tool_effort_usd_month * len(self.tools) - p.smb_fixed_cost_usd_month)

    def outlook(self) -> str:
        """The month's verdict (B3): ``"move"`` to the Business Platform when its chats need it
        and its profit pays for it, ``"exit"`` after ``smb_losing_months_to_exit`` losing
        months (``"wait"`` before), ``"grow"`` when it earns."""
        p = self.model.p
        profit = self.monthly_profit_usd()
        if self.per_real_firm(self.chats_avg) >= p.api_move_chats_per_day and (
                profit >= p.api_move_min_profit_usd_month):
            return "move"
        self.losing_months = self.losing_months + 1 if profit < 0 else 0
        if self.losing_months:
            return "exit" if self.losing_months >= p.smb_losing_months_to_exit else "wait"
        return "grow"

    def grow(self, share: float) -> None:
        """Word of mouth: about ``share`` x its customers more, each a contact of a customer."""
        rng = self.rng
        told = rng.choice(self.customers, rng.poisson(share * len(self.customers)))
        _, contacts = random_contacts(self.model.users.graph, told, rng)
        self.customers = np.union1d(self.customers, contacts).astype(self.customers.dtype)
        self.model.firms.customers_changed()
