"""The platform's policy levers: everything the platform decides, in one object.

Ad load, caps on promotional messages, the data-sharing mode, the rate card and the fees are
read from here and nowhere else (one owner per concept). The platform publishes them each
morning; only dated events change them (``model.events``), between days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from model.params import REGIONS

TEMPLATE_CATEGORIES = ("marketing", "utility", "authentication", "service")
"""Business Platform template categories billed per delivered message (B2)."""


@dataclass(frozen=True)
class Levers:
    """The day's levers (the policy parameters experiments sweep)."""

    ad_load: float
    """Share of Status/Channels items that are ads (A2)."""
    sponsored_cap_per_week: int
    marketing_cap_per_week: int
    data_sharing: str
    """What the platform does with account data: off, opt_out or mandatory (D1)."""
    rate_card: MappingProxyType
    """USD per delivered message, per template category, an array over ``REGIONS`` (B2)."""
    merchant_fee_rate: float
    p2p_fee_rate: float
    shop_commission_rate: float
    shopping_commission_rate: float
    premium_price_usd_month: float
    sticker_price_usd: float

    @classmethod
    def from_params(cls, p) -> Levers:
        card = {cat: np.array([getattr(p, f"price_{cat}_{r}_usd") for r in REGIONS])
                for cat in ("marketing", "utility", "authentication")}
        card["service"] = np.full(len(REGIONS), p.price_service_usd)
        for prices in card.values():
            prices.flags.writeable = False
        return cls(ad_load=p.ad_load, sponsored_cap_per_week=p.sponsored_cap_per_week,
                   marketing_cap_per_week=p.marketing_cap_per_week, data_sharing=p.data_sharing,
                   rate_card=MappingProxyType(card), merchant_fee_rate=p.merchant_fee_rate,
                   p2p_fee_rate=p.p2p_fee_rate, shop_commission_rate=p.shop_commission_rate,
                   shopping_commission_rate=p.shopping_commission_rate,
                   premium_price_usd_month=p.premium_price_usd_month, sticker_price_usd=p.sticker_price_usd)


class LeverBoard:
    """The levers as they stand: ``current`` is replaced, never changed in place, so a day
    that read it keeps a consistent set."""

    def __init__(self, levers: Levers):
        self.current = levers

    def change(self, **changes) -> None:
        """Set some levers (dated events only)."""
        self.current = replace(self.current, **changes)
