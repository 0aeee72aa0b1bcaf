"""Small businesses on the Business App (B1): free chats, tools adopted by benefit and
imitation (G1), an optional premium tier, and click-to-chat ads bought from their own return
on ad spend (A3). Each is a Mesa agent holding its state and making its own decisions; their
daily trade is carried out for all firms at once by ``agents.firms.Firms``."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from agents.business import Business, Plan
from model.network import random_contacts
from model.params import DAYS_PER_MONTH
from model.sampling import sorted_difference, sorted_union

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
        self.size_cut = math.inf
        """Its real firms larger than this (a multiple of the cohort's mean size at founding)
        have moved to the Business Platform."""
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

    def fixed_costs_usd_month(self) -> float:
        """What one of its real firms pays a month whatever its size: premium, tools' effort
        and the fixed cost."""
        p = self.model.p
        return (self.model.platform.levers.premium_price_usd_month * self.premium
                + p.tool_effort_usd_month * len(self.tools) + p.smb_fixed_cost_usd_month)

    def monthly_profit_usd(self) -> float:
        """Profit of one of its real firms over the last month: margin on chat and ad-driven
        sales less ad spend, the premium fee, the tools' effort and the fixed cost."""
        return self._trade_usd_month() - self.fixed_costs_usd_month()

    def _trade_usd_month(self) -> float:
        """Margin on its sales less ad spend, per real firm and month (grows with a firm's size)."""
        trade = DAYS_PER_MONTH * (self.margin * (self.chat_sales_avg + self.ad_sales_avg) - self.ad_cost_avg)
        return self.per_real_firm(trade)

    def outgrown(self) -> Movers | None:
        """Its real firms that outgrew the app this month (B3), taken out of the cohort. Their
        sizes differ: lognormal with spread ``smb_size_sigma`` around the cohort's mean at
        founding, chats and trade in proportion to size, and those above ``size_cut`` gone
        already. A firm moves when its chats reach ``api_move_chats_per_day`` and its profit
        ``api_move_min_profit_usd_month``; the movers take their share of customers (drawn at
        random; none move while that share rounds to no customer of the sample), of the ad
        budget and of the running averages."""
        p = self.model.p
        sigma = p.smb_size_sigma
        chats, trade = self.per_real_firm(self.chats_avg), self._trade_usd_month()
        if chats <= 0 or trade <= 0:
            return None
        mean_size = remaining_mean_size(self.size_cut, sigma)
        needs = max(p.api_move_chats_per_day / chats,
                    (p.api_move_min_profit_usd_month + self.fixed_costs_usd_month()) / trade)
        threshold = mean_size * needs
        if threshold >= self.size_cut:
            return None
        firm_share, customer_share = outgrown_shares(self.size_cut, threshold, sigma)
        count = int(self.rng.binomial(len(self.customers), customer_share))
        if count == 0:
            return None
        self.size_cut = threshold
        moving = self.rng.choice(self.customers, count, replace=False)
        movers = Movers(self.real_firms * firm_share, np.sort(moving), self.ad_budget_usd * customer_share)
        self.customers = sorted_difference(self.customers, movers.customers)
        self.real_firms = 0.0 if firm_share >= 1 else self.real_firms - movers.real_firms
        kept = 1 - customer_share
        self.ad_budget_usd *= kept
        for average in ("chat_sales_avg", "chats_avg", "ad_sales_avg", "ad_cost_avg"):
            setattr(self, average, getattr(self, average) * kept)
        self.model.firms.customers_changed()
        return movers

    def outlook(self) -> str:
        """The month's verdict (B3): ``"exit"`` after ``smb_losing_months_to_exit`` losing
        months (``"wait"`` before), ``"grow"`` when it earns."""
        p = self.model.p
        profit = self.monthly_profit_usd()
        self.losing_months = self.losing_months + 1 if profit < 0 else 0
        if self.losing_months:
            return "exit" if self.losing_months >= p.smb_losing_months_to_exit else "wait"
        return "grow"

    def word_of_mouth(self, share: float) -> np.ndarray:
        """Growth by word of mouth: about ``share`` x its customers tell a contact each; returns
        the contacts (some already customers, some told twice) for ``take_on``."""
        rng = self.rng
        told = rng.choice(self.customers, rng.poisson(share * len(self.customers)))
        return random_contacts(self.model.users.graph, told, rng)[1]

    def take_on(self, customers: np.ndarray) -> None:
        """``customers`` (any, repeats allowed) become customers; it draws nothing."""
        self.customers = sorted_union(self.customers, customers)
        self.model.firms.customers_changed()


class Movers(NamedTuple):
    """Real firms of a small business's cohort that move to the Business Platform (B3)."""

    real_firms: float
    customers: np.ndarray
    ad_budget_usd: float


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _below(size: float, shift: float, sigma: float) -> float:
    """P(ln X + shift < ln size) / sigma-scaled: Phi((ln size + shift) / sigma), 1 at infinity."""
    if math.isinf(size):
        return 1.0
    if size <= 0:
        return 0.0
    if sigma <= 0:
        return float(math.log(size) + shift > 0)
    return _normal_cdf((math.log(size) + shift) / sigma)


def remaining_mean_size(cut: float, sigma: float) -> float:
    """Mean size of a cohort's firms below ``cut``, sizes lognormal with mean 1 and spread
    ``sigma``: E[X | X < cut] = Phi((ln cut - s^2/2)/s) / Phi((ln cut + s^2/2)/s)."""
    below = _below(cut, sigma**2 / 2, sigma)
    return _below(cut, -sigma**2 / 2, sigma) / below if below > 0 else 0.0


def outgrown_shares(cut: float, threshold: float, sigma: float) -> tuple[float, float]:
    """Of a cohort's firms below ``cut`` (sizes lognormal, mean 1, spread ``sigma``), the shares
    of firms and of size (customers) between ``threshold`` and ``cut``."""
    firms_below = _below(cut, sigma**2 / 2, sigma)
    size_below = _below(cut, -sigma**2 / 2, sigma)
    if firms_below <= 0 or size_below <= 0:
        return 0.0, 0.0
    firms = (firms_below - _below(threshold, sigma**2 / 2, sigma)) / firms_below
    size = (size_below - _below(threshold, -sigma**2 / 2, sigma)) / size_below
    return firms, size
