"""What every firm has: customers among the users, a region, an account in the books, an ad
budget steered by its return, and the day's plan of what it does with its customers.

The firm decides (its plan, its budget, its tools, its provider); ``agents.firms.Firms``
carries out every firm's day at once. A firm never touches users or money: its messages go
through the platform, its payments through the ledger.
"""

from __future__ import annotations

from typing import NamedTuple

import mesa
import numpy as np


class Plan(NamedTuple):
    """What a firm does today, as chances per active customer (B1-B2, P1-P3)."""

    chat: float = 0.0
    """A customer opens a conversation (user-initiated, SOURCES.md#pricing-history)."""
    utility: float = 0.0
    """A utility template (alerts, confirmations, flight updates)."""
    authentication: float = 0.0
    """A one-time code."""
    marketing: float = 0.0
    """A marketing template, before the channel choice and the platform's rules (A1)."""
    order: float = 0.0
    """A customer orders from the catalog in the chat (shops, P3)."""
    conversion_factor: float = 0.0
    """Multiplies the chance a conversation ends in a sale (0: its chats are support only;
    tools raise it, G1)."""
    disruption: float = 0.0
    """A flyer's flight is disrupted: a second update and maybe a support chat (airlines, P1)."""
    on_business_platform: bool = False
    """Business Platform (API) firms pay per template; Business App firms chat for free (B1, B2)."""
    buys_click_to_chat: bool = False
    """Spends its ad budget on click-to-chat ads today (A3)."""


class Business(mesa.Agent):
    """A firm with customers among the users."""

    def __init__(self, model, customers: np.ndarray, region: int, ad_budget_usd: float = 0.0,
                 margin: float = 0.0, real_firms: float = 1.0):
        super().__init__(model)
        self.customers = customers
        self.real_firms = real_firms
        self.region = region
        self.ad_budget_usd = ad_budget_usd
        self.margin = margin
        self.account = model.ledger.open_account(self)
        self.sales_usd = 0.0
        self.ad_cost_avg = 0.0
        self.ad_sales_avg = 0.0
        self.ad_carry_usd = 0.0  # click-to-chat budget left over from yesterday, under one click
        self._ad_cost_today = 0.0
        self._ad_sales_today = 0.0
        model.firms.add(self)

    @property
    def rng(self) -> np.random.Generator:
        return self.model.org_rng

    def plan(self) -> Plan:
        """Today's plan; a firm without one does nothing with its customers."""
        return Plan()

    def per_real_firm(self, amount: float) -> float:
        """What an amount of this agent (USD, chats) comes to for one of the ``real_firms``
        alike firms it stands for: its customers stand for ``model.scale`` real users each.
        Firms decide on these figures, so their choices do not depend on ``n_users``."""
        return amount * self.model.scale / self.real_firms

    def simulated_usd(self, usd_per_real_firm: float) -> float:
        """A price or cost per real firm as this agent's simulated USD (the inverse)."""
        return usd_per_real_firm * self.real_firms / self.model.scale

    def close_day(self, sales_usd: float, ad_sales_usd: float, ad_cost_usd: float, chats: int) -> None:
        """Today's trade, as ``Firms`` carried it out."""
        self.sales_usd += sales_usd
        self._ad_sales_today = ad_sales_usd
        self._ad_cost_today = ad_cost_usd

    def adapt(self) -> None:
        """The ad budget follows the return on the ads' cost over the last month (the clicks,
        and for enterprises the staff time the chats they open take)."""
        p = self.model.p
        w = 1 / p.firm_memory_days
        self.ad_cost_avg += w * (self._ad_cost_today - self.ad_cost_avg)
        self.ad_sales_avg += w * (self._ad_sales_today - self.ad_sales_avg)
        if self.ad_cost_avg > 0:
            roas = self.margin * self.ad_sales_avg / self.ad_cost_avg
            # the sign of roas - 1 as a Python int (np.sign would make the budget a numpy scalar)
            self.ad_budget_usd *= 1 + p.budget_adapt_step * ((roas > 1) - (roas < 1))

    def leave(self) -> None:
        """Close: out of the registry of firms and the model."""
        self.model.firms.discard(self)
        self.remove()


def carry_over(available_usd, spent_usd, cpc_usd):
    """What a click-to-chat budget carries to tomorrow: what it did not spend today, up to one
    click. A budget below a click's price then buys one every few days instead of none, and
    whole clicks lose nothing to rounding however small the sample's firms (assumption: ad
    platforms pace daily budgets over days). Works on numbers and arrays alike."""
    return np.minimum(available_usd - spent_usd, cpc_usd)
