"""Partners: airlines (P1), banks (P2) and shops (P3), Business Platform customers whose own
events (flights, transactions, orders) become utility and authentication messages. Their
day is carried out with every other firm's by ``agents.firms.Firms``."""

from __future__ import annotations

from agents.business import Business, Plan


class Airline(Business):
    """Booking confirmations and real-time delays or gate changes (P1); disrupted passengers
    may open a support chat."""

    def plan(self) -> Plan:
        p = self.model.p
        return Plan(utility=p.flight_rate, disruption=p.disruption_prob, on_business_platform=True)


class Bank(Business):
    """Transaction alerts, one-time codes, balance checks and the payment rails (P2, $1)."""

    def plan(self) -> Plan:
        p = self.model.p
        return Plan(chat=p.chat_rate, utility=p.bank_transaction_rate,
                    authentication=p.authentication_rate, on_business_platform=True)


class Shop(Business):
    """Catalog orders placed in the chat, in-chat checkout and order tracking (P3, F1): an
    order is confirmed today and tracked tomorrow, both utility templates; the platform
    takes a commission on sales, and a further one on sales through the shopping section."""

    def plan(self) -> Plan:
        p = self.model.p
        section = self.model.shopping_section_open
        return Plan(order=p.order_rate * (1 + p.shopping_order_uplift * section), on_business_platform=True)
