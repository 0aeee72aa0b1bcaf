"""Payment rails by region ($1, $2): which share of in-chat business payments bears a card
merchant fee, and how much room users have to link an account in the chat.

The India-like region pays over a zero-fee instant rail (UPI: no merchant discount rate,
SOURCES.md#payments-india); the Brazil-like one over cards (3.99% to merchants,
[facebook2020brazil]) beside a fee-free instant rail (Pix); the Europe-like one over cards.
Incumbent wallets hold most payments in each region, and users link an account in the chat
only in the room they leave. In the India-like region the regulator's dated user caps
(20 M -> 40 M -> 100 M -> none) bound the share of users who may link, as a share of India's
users applied to the region's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from model.params import REGIONS

UPI_CAPS = ((0, 20e6), (365, 40e6), (524, 100e6), (1517, None))
"""(Days after the approval, users allowed from then): 20 M from 5 Nov 2020 [npci2020approval],
40 M from Nov 2021 (dated 5 Nov) and 100 M from 13 Apr 2022 [entrackr2022whatsapppay], no cap from 31 Dec
2024 [npci2024cap]."""

INDIA_LIKE = REGIONS.index("in")


class PaymentRails:
    """The rails of each region and today's room to link an account there."""

    def __init__(self, p):
        self.card_share = np.array([getattr(p, f"card_rail_share_{r}") for r in REGIONS])
        """Share of in-chat business payments on fee-bearing card rails, by region."""
        self.free_share = 1 - np.array([getattr(p, f"incumbent_wallet_share_{r}") for r in REGIONS])
        self.cap_day = p.upi_cap_day
        self.base_users = p.upi_base_users
        self.room = self.free_share.astype(np.float32)
        """Today's factor on users' chance to link an account, by region (0 where a cap is full)."""

    def cap_share(self, day: int) -> float:
        """Share of the India-like region's users allowed to link on ``day``: none before the
        approval, then the dated caps over India's users, unbounded (inf) once lifted or
        without caps (``upi_cap_day`` 0)."""
        if not self.cap_day:
            return np.inf
        since = day - self.cap_day
        if since < 0:
            return 0.0
        cap = next(users for start, users in reversed(UPI_CAPS) if since >= start)
        return np.inf if cap is None else cap / self.base_users

    def open_day(self, day: int, linked_share: Callable[[], np.ndarray]) -> None:
        """Today's room: the incumbents' leftover everywhere, closed in the India-like region
        while its share of linked users (``linked_share()``, by region, asked only under a
        cap) has reached the cap."""
        room = self.free_share.copy()
        cap = self.cap_share(day)
        if np.isfinite(cap) and linked_share()[INDIA_LIKE] >= cap:
            room[INDIA_LIKE] = 0.0
        self.room = room.astype(np.float32)


def linked_share_by_region(region: np.ndarray, on_platform: np.ndarray, linked: np.ndarray) -> np.ndarray:
    """Share of each region's users on the platform with a linked account (arrays over users)."""
    on = np.bincount(region, on_platform, minlength=len(REGIONS))
    return np.bincount(region, on_platform & linked, minlength=len(REGIONS)) / np.maximum(on, 1)
