"""The books: every transfer of money in the model, from a payer to a payee, by kind.

Money moves only through ``Ledger.book``: fees to the platform (its revenue, by stream), a
provider's markup and monthly fees, brands' payments to creators. Every account, users as a
population included, has a number, so a day's many small fees are booked as arrays. What
each payer paid and each payee received is read from the books, never kept twice. Beside
the books, a ``DayTally`` counts the day's volumes (messages, clicks, purchases, payment
volumes); both close together at the end of the day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from model.levers import TEMPLATE_CATEGORIES

MESSAGE_CATEGORIES = (*TEMPLATE_CATEGORIES, "sponsored")
"""Messages the platform delivers and counts, by category."""

STREAMS = (
    "sponsored",
    "display_ads",
    "click_to_chat",
    "marketing",
    "utility",
    "authentication",
    "service",
    "subscriptions",
    "payments",
    "commerce",
    "stickers",
)
"""The platform's revenue streams, one result column ``revenue_<stream>`` each."""

OTHER_TRANSFERS = ("provider_fees", "creator_payments")
"""Transfers that are not the platform's revenue: to solution providers (B4) and creators (G1)."""

KINDS = STREAMS + OTHER_TRANSFERS

PLATFORM = 0
"""Account of the platform (payee of every revenue stream)."""
USERS = 1
"""Account of the consumers, who pay as a population (stickers, P2P fees)."""
CREATORS = 2
"""Account of the creators paid for sponsored posts in Channels (G1)."""

_KIND = {k: i for i, k in enumerate(KINDS)}
_INITIAL_ACCOUNTS = 64


@dataclass
class DayTally:
    """The day's volumes, counted beside the books."""

    messages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MESSAGE_CATEGORIES, 0))
    messages_utility_free: int = 0
    impressions_personalised: float = 0.0
    impressions_contextual: float = 0.0
    display_clicks: float = 0.0
    sponsored_clicks: float = 0.0
    clicks_to_chat: int = 0
    blocks: int = 0
    marketing_over_limit: int = 0
    purchases: int = 0
    payment_volume_p2p: float = 0.0
    payment_volume_merchant: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Ledger:
    """Accounts and the transfers between them; ``close_day`` hands over the day."""

    def __init__(self) -> None:
        self._holders: list[object] = ["platform", "users", "creators"]
        self._today = np.zeros((_INITIAL_ACCOUNTS, len(KINDS)))
        self._paid = np.zeros((_INITIAL_ACCOUNTS, len(KINDS)))
        self._received = np.zeros(_INITIAL_ACCOUNTS)
        self._received_today = np.zeros(len(KINDS))
        self.lifetime = np.zeros(len(STREAMS))
        """Platform revenue per stream since day 0."""
        self.tally = DayTally()

    # --- accounts ------------------------------------------------------------------------
    def open_account(self, holder: object) -> int:
        """A new account number for ``holder`` (an agent)."""
        self._holders.append(holder)
        number = len(self._holders) - 1
        if number >= len(self._paid):
            grow = len(self._paid)
            self._today = np.vstack([self._today, np.zeros((grow, len(KINDS)))])
            self._paid = np.vstack([self._paid, np.zeros((grow, len(KINDS)))])
            self._received = np.concatenate([self._received, np.zeros(grow)])
        return number

    def paid_by(self, account: int, *kinds: str) -> float:
        """All an account has paid since day 0 (for ``kinds``, default: every kind)."""
        columns = [_KIND[k] for k in kinds] if kinds else slice(None)
        return float(self._paid[account, columns].sum())

    def received_by(self, account: int | np.ndarray) -> float:
        """All an account (or accounts) received since day 0."""
        return float(np.sum(self._received[account]))

    def paid_today(self, account: int | np.ndarray, *kinds: str) -> np.ndarray:
        """What ``account`` (or each of an array of accounts) paid today for ``kinds``."""
        if len(kinds) == 1:
            return self._today[account, _KIND[kinds[0]]]
        return self._today[account][..., [_KIND[k] for k in kinds]].sum(axis=-1)

    @property
    def total_paid(self) -> float:
        return float(self._paid.sum())

    @property
    def total_received(self) -> float:
        return float(self._received.sum())

    # --- transfers -----------------------------------------------------------------------
    def book(self, payer: int, payee: int, kind: str, amount_usd: float) -> None:
        """Move ``amount_usd`` from ``payer`` to ``payee``; revenue streams go to the platform."""
        self._check(payee, kind)
        if not (amount_usd >= 0 and math.isfinite(amount_usd)):
            raise ValueError(f"a booking must be a finite amount >= 0, got {amount_usd!r}")
        if amount_usd == 0:
            return
        k = _KIND[kind]
        self._today[payer, k] += amount_usd
        self._paid[payer, k] += amount_usd
        self._received[payee] += amount_usd
        self._received_today[k] += amount_usd

    def book_many(self, payers: np.ndarray, payee: int, kind: str, amounts_usd: np.ndarray) -> None:
        """``book`` for many payers at once (an amount each; a payer may repeat)."""
        self._check(payee, kind)
        amounts_usd = np.asarray(amounts_usd, dtype=float)
        valid = (amounts_usd >= 0) & np.isfinite(amounts_usd)
        if not valid.all():
            raise ValueError(f"a booking must be a finite amount >= 0, got {amounts_usd[~valid][0]!r}")
        k = _KIND[kind]
        per_payer = np.bincount(payers, weights=amounts_usd, minlength=len(self._paid))
        self._today[:, k] += per_payer
        self._paid[:, k] += per_payer
        total = float(amounts_usd.sum())
        self._received[payee] += total
        self._received_today[k] += total

    @staticmethod
    def _check(payee: int, kind: str) -> None:
        if kind not in _KIND:
            raise KeyError(f"unknown kind of transfer {kind!r}; kinds: {', '.join(KINDS)}")
        if (kind in STREAMS) != (payee == PLATFORM):
            raise ValueError(f"{kind!r} is {'' if kind in STREAMS else 'not '}platform revenue; "
                             f"payee must {'' if kind in STREAMS else 'not '}be the platform")

    def open_books(self) -> None:
        """Totals "since day 0" restart here (the end of a burn-in); balances stay matched,
        as everything paid and received restarts together."""
        self._paid[:] = 0
        self._received[:] = 0
        self.lifetime[:] = 0

    def close_day(self) -> tuple[dict[str, float], dict[str, float], DayTally]:
        """The day's platform revenue per stream, the other transfers by kind, and the tally;
        opens a new day."""
        today = self._received_today.tolist()
        revenue = dict(zip(STREAMS, today[:len(STREAMS)], strict=True))
        others = dict(zip(OTHER_TRANSFERS, today[len(STREAMS):], strict=True))
        tally = self.tally
        self.lifetime += self._received_today[:len(STREAMS)]
        self._received_today = np.zeros(len(KINDS))
        self._today[:] = 0
        self.tally = DayTally()
        return revenue, others, tally
