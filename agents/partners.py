"""Partners: airlines (P1), banks (P2) and shops (P3), Business Platform customers whose own
events (flights, transactions, orders) become utility and authentication messages."""

from __future__ import annotations

from agents.business import Business
from model.ledger import USERS

SUPPORT_SHARE = 0.3
"""Share of disrupted passengers who open a support chat (assumption)."""


class Airline(Business):
    """Booking confirmations and real-time delays or gate changes (P1)."""

    def step(self) -> None:
        p = self.model.p
        platform = self.model.platform
        flyers = self.draw(p.flight_rate)
        platform.send(self, "utility", flyers)
        disrupted = self.draw(p.disruption_prob, flyers)
        platform.send(self, "utility", disrupted)
        self.open_conversations(SUPPORT_SHARE, disrupted)


class Bank(Business):
    """Transaction alerts, one-time codes, balance checks and the payment rails (P2, $1)."""

    def step(self) -> None:
        p = self.model.p
        platform = self.model.platform
        chats = self.open_conversations(p.chat_rate)
        self.send_utility(self.draw(p.bank_transaction_rate), window=chats)
        platform.send(self, "authentication", self.draw(p.authentication_rate))
        self.transfer_p2p()

    def transfer_p2p(self) -> None:
        """Adopters send money to contacts; a fee deters transfers (assumption: a 10% fee
        stops them, cal §4: P2P is free where it thrives)."""
        model = self.model
        p = model.p
        users = model.users
        rate = p.p2p_rate * max(0.0, 1 - p.p2p_fee_rate / 0.1)
        senders = self.draw(rate)
        senders = senders[users.payments_linked[senders]]
        volume = float(p.p2p_amount_usd * self.rng.exponential(1.0, len(senders)).sum())
        model.ledger.book(USERS, "payments", volume * p.p2p_fee_rate)
        model.payments_volume["p2p"] += volume


class Shop(Business):
    """Catalog orders placed in the chat, in-chat checkout and order tracking (P3, F1)."""

    def __init__(self, model, customers, region: int):
        super().__init__(model, customers, region)
        self._to_track = customers[:0]

    def step(self) -> None:
        p = self.model.p
        platform = self.model.platform
        platform.send(self, "utility", self._to_track)  # yesterday's orders: tracking update
        section = self.model.shopping_section_open
        rate = p.order_rate * (1 + p.shopping_order_uplift * section)
        buyers = self.draw(rate)
        self._to_track = platform.send(self, "utility", buyers)  # order confirmation
        sales = self.sell(buyers)
        platform.charge(self, "commerce", sales * p.shop_commission_rate)
        if section:
            via_section = sales * p.shopping_order_uplift / (1 + p.shopping_order_uplift)
            platform.charge(self, "commerce", via_section * p.shopping_commission_rate)
