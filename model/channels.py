"""Channel choice: how a firm splits a category of business messages between WhatsApp, SMS
and e-mail (B2).

A multinomial logit (random utility: each message, or each firm, takes the channel of
highest utility plus a Gumbel shock, so shares are logit shares). The utilities are
measured against SMS, the incumbent every phone receives, in each region:

    V_sms = 0,   V_whatsapp = ln(appeal_c) - beta ln(price_c / sms_price),   V_email = ln(email_appeal)

``appeal_c`` is WhatsApp's reach and response against SMS for category c, growing as business
traffic moves to chat apps ([juniper2025messaging]); e-mail costs next to nothing per message
and is held back by its reach, so its utility carries no price. Log prices keep the shares
alike across regions whose prices differ 40-fold (SOURCES.md#rate-cards) when WhatsApp's
rates stand alike against SMS there. The own-price elasticity of WhatsApp's volume is then
-beta (1 - share): no published figure exists (SOURCES.md#messaging-elasticity), so ``beta``
is a sensitivity factor, set so that it is near -1 at today's rate card.
"""

from __future__ import annotations

import numpy as np

from model.params import REGIONS

PRICED_CATEGORIES = ("marketing", "utility", "authentication")
"""Template categories a firm could send by SMS instead (service chats are the user's)."""


def sms_prices(p) -> np.ndarray:
    """A2P SMS price per message in each region (USD)."""
    return np.array([getattr(p, f"sms_price_{r}_usd") for r in REGIONS])


def chat_app_appeal(p, category: str, day: float) -> float:
    """WhatsApp's appeal against SMS for ``category`` on ``day``: it grows by
    ``chat_app_growth_per_year`` as business traffic moves from SMS to chat apps."""
    return getattr(p, f"whatsapp_appeal_{category}") * (1 + p.chat_app_growth_per_year) ** (day / 365)


def whatsapp_share(price_usd: np.ndarray, sms_price_usd: np.ndarray, appeal: float, p) -> np.ndarray:
    """Logit share of WhatsApp among WhatsApp, SMS and e-mail at ``price_usd`` (what the firm
    pays per WhatsApp message, its provider's markup included), elementwise against
    ``sms_price_usd`` (broadcast). A free WhatsApp message takes all but e-mail's and SMS's
    vanishing shares; with no appeal (nobody reachable) WhatsApp takes none, however cheap."""
    ratio = np.asarray(price_usd, dtype=float) / sms_price_usd
    if appeal <= 0:
        return np.zeros_like(ratio)
    with np.errstate(divide="ignore", over="ignore"):
        odds = appeal * ratio ** -p.channel_price_coefficient
    odds = np.minimum(odds, 1e300)  # a price of 0: WhatsApp takes it all
    return odds / (odds + 1.0 + p.email_appeal)


def own_price_elasticity(share: np.ndarray, p) -> np.ndarray:
    """d ln(WhatsApp volume) / d ln(WhatsApp price) at logit ``share``: -beta (1 - share)."""
    return -p.channel_price_coefficient * (1 - np.asarray(share))
