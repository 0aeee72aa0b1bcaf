"""Partners: airlines (P1), banks (P2) and shops (P3), Business Platform customers whose own
events (flights, transactions, orders) become utility and authentication messages."""

from __future__ import annotations

import numpy as np

from agents.business import Business
from model.ledger import USERS
from model.network import random_contacts

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

    def transfer_p2p(self) -> tuple[np.ndarray, np.ndarray]:
        """Adopters send money to one of their contacts each ($1). The money arrives only
        in a linked account: a recipient on the platform without one links it when asked,
        with chance ``p2p_invite_link_prob`` (receiving money is the nudge, cal §4.1),
        else the transfer fails. A fee deters transfers (assumption: a 10% fee stops them,
        cal §4: P2P is free where it thrives). Returns the senders and recipients of the
        transfers made."""
        model = self.model
        p = model.p
        users = model.users
        rate = p.p2p_rate * max(0.0, 1 - p.p2p_fee_rate / 0.1)
        senders = self.draw(rate)
        senders, recipients = random_contacts(users.graph, senders[users.payments_linked[senders]], self.rng)
        reachable = users.on_platform[recipients]
        senders, recipients = senders[reachable], recipients[reachable]
        unlinked = ~users.payments_linked[recipients]
        joins = unlinked & (self.rng.random(len(recipients)) < p.p2p_invite_link_prob)
        users.link_payments(np.unique(recipients[joins]))
        made = ~unlinked | joins
        senders, recipients = senders[made], recipients[made]
        volume = float(p.p2p_amount_usd * self.rng.exponential(1.0, len(senders)).sum())
        model.ledger.book(USERS, "payments", volume * p.p2p_fee_rate)
        model.payments_volume["p2p"] += volume
        return senders, recipients


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
