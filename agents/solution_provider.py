"""Business solution providers (B4): they onboard enterprises onto the Business Platform
with limited capacity a day and charge a markup on Meta's per-message fee plus a monthly
fee (SOURCES.md#bsp-fees). Their takings are booked in the ledger, but are not the platform's revenue."""

from __future__ import annotations

import mesa

from model.params import DAYS_PER_MONTH


class SolutionProvider(mesa.Agent):
    def __init__(self, model, markup_share: float, monthly_fee_usd: float, capacity_per_day: int):
        super().__init__(model)
        self.markup_share = markup_share
        self.monthly_fee_usd = monthly_fee_usd
        self.capacity_per_day = capacity_per_day
        self.account = model.ledger.open_account(self)
        self.clients = 0
        self._onboarded_today = 0

    def has_room(self) -> bool:
        return self._onboarded_today < self.capacity_per_day

    def onboard(self, enterprise) -> None:
        self._onboarded_today += 1
        self.clients += 1
        enterprise.provider = self

    def daily_cost(self, client, meta_fees_usd: float) -> float:
        """A client's bill for a day: the markup on the Meta fees it paid, plus a 30th of the
        monthly fee and of its chatbot and CRM fees for each real firm the client stands for."""
        monthly = self.monthly_fee_usd + client.tool_fees_usd_month
        return self.markup_share * meta_fees_usd + client.simulated_usd(monthly / DAYS_PER_MONTH)

    @property
    def takings_usd(self) -> float:
        """All its clients have paid it."""
        return self.model.ledger.received_by(self.account)

    def adapt(self) -> None:
        self._onboarded_today = 0
