"""What every business on the platform has: customers among the users, a region, a spend
account, chats that turn into sales, and click-to-chat ads steered by their return."""

from __future__ import annotations

import mesa
import numpy as np

from agents.quality import SenderQuality
from model.sampling import coin_flips, members

MEMORY_DAYS = 30.0
"""Days over which a firm averages its sales and ad returns (assumption: a month)."""

BUDGET_STEP = 0.02
"""Daily relative change of an ad budget after a good or bad return (assumption)."""


class Business(mesa.Agent):
    """A firm with customers among the users; all its fees go through ``model.platform``."""

    on_business_platform = True
    """Business Platform (API) firms pay per conversation and template; Business App firms
    chat for free (DIGEST B1, B2)."""

    def __init__(self, model, customers: np.ndarray, region: int, ad_budget_usd: float = 0.0,
                 margin: float = 0.3, real_firms: float = 1.0):
        super().__init__(model)
        self.customers = customers
        self.real_firms = real_firms
        self.region = region
        self.ad_budget_usd = ad_budget_usd
        self.margin = margin
        self.spent = 0.0
        self.sales_usd = 0.0
        self.ad_cost_avg = 0.0
        self.ad_sales_avg = 0.0
        self._ad_cost_today = 0.0
        self._ad_sales_today = 0.0
        self.ad_carry_usd = 0.0  # click-to-chat budget left over from yesterday, under one click
        p = model.p
        self.quality = SenderQuality(p.block_rate_low, p.tier_base_share)
        self.blocked = customers[:0]  # customers who blocked this sender (sorted)

    conversion_factor = 1.0
    """Multiplies conversion; small businesses raise it with tools (G1)."""

    @property
    def rng(self) -> np.random.Generator:
        return self.model.org_rng

    def per_real_firm(self, amount: float) -> float:
        """What an amount of this agent (USD, chats) comes to for one of the ``real_firms``
        alike firms it stands for: its customers stand for ``model.scale`` real users each.
        Firms decide on these figures, so their choices do not depend on ``n_users``."""
        return amount * self.model.scale / self.real_firms

    def simulated_usd(self, usd_per_real_firm: float) -> float:
        """A price or cost per real firm as this agent's simulated USD (the inverse)."""
        return usd_per_real_firm * self.real_firms / self.model.scale

    def draw(self, rate: float, pool: np.ndarray | None = None) -> np.ndarray:
        """Each of today's active users in ``pool`` (default: the firm's customers),
        independently with probability ``rate``.

        Coins are flipped for the whole pool and the picks thinned to today's active users:
        the same law as one coin per active user (independent thinning).
        """
        pool = self.customers if pool is None else pool
        picked = pool[coin_flips(len(pool), rate, self.rng)]
        return picked[self.model.users.active_today[picked]]

    def sell(self, buyers: np.ndarray) -> float:
        """Orders from ``buyers`` (see ``order_values``); returns the sales in USD."""
        if len(buyers) == 0:
            return 0.0
        values, in_chat = order_values(self.model, buyers, self.rng)
        return self.book_sales(len(buyers), float(values.sum()), float(in_chat.sum()))

    def book_sales(self, orders: int, sales_usd: float, in_chat_usd: float) -> float:
        """Count the orders; book the merchant fee on the part paid in the chat on card
        rails to the platform ($2). Returns the sales."""
        model = self.model
        p = model.p
        model.platform.charge(self, "payments", in_chat_usd * p.card_rail_share * p.merchant_fee_rate)
        model.payments_volume["merchant"] += in_chat_usd
        model.purchases += orders
        self.sales_usd += sales_usd
        return sales_usd

    def open_conversations(self, rate: float, pool: np.ndarray | None = None,
                           entry_point: bool = False) -> np.ndarray:
        """Users who start a service conversation today (user-initiated, cal §2.1).

        Chats opened from a click-to-chat ad are a free entry point (cal §2.1, 72-h window).
        """
        openers = self.draw(rate, pool)
        if self.on_business_platform:
            free = 0.0 if entry_point else None
            openers = self.model.platform.send(self, "service", openers, unit_price=free)
        return openers

    def send_utility(self, recipients: np.ndarray, window: np.ndarray) -> None:
        """Utility templates, free to users inside an open 24-h service window, i.e. who
        opened a chat with this firm today (cal §2.1: rules of 1 Jul 2025)."""
        platform = self.model.platform
        in_window = members(recipients, np.sort(window))
        platform.free_utility += len(platform.send(self, "utility", recipients[in_window], unit_price=0.0))
        platform.send(self, "utility", recipients[~in_window])

    def buy_click_to_chat(self) -> np.ndarray:
        """Click-to-chat ads (A3): each paid click opens a chat with an active user of the
        firm's region; the budget is paced (``carry_over``). Returns who clicked; books the
        spend."""
        model = self.model
        cpc = model.platform.click_to_chat_price[self.region]
        available = self.ad_budget_usd + self.ad_carry_usd
        clicks = int(available // cpc) if cpc > 0 else 0
        pool = model.users.active_in_region(self.region)
        clicks = min(clicks, len(pool))  # one click per user at most
        self.ad_carry_usd = float(carry_over(available, clicks * cpc, cpc))
        if clicks == 0:
            return pool[:0]
        clickers = pool[self.rng.choice(len(pool), clicks, replace=False, shuffle=False)]
        model.platform.charge(self, "click_to_chat", clicks * cpc)
        model.platform.clicks_to_chat += clicks
        self._ad_cost_today = clicks * cpc
        return self.open_conversations(1.0, clickers, entry_point=True)

    def convert(self, chats: np.ndarray, from_ads: bool = False) -> float:
        """Chats that end in a sale; chats from ads reach colder prospects (``ctwa_conversion``)
        and count toward the return on ad spend."""
        p = self.model.p
        rate = (p.ctwa_conversion if from_ads else p.chat_conversion) * self.conversion_factor
        sales = self.sell(self.draw(rate, chats))
        if from_ads:
            self._ad_sales_today += sales
        return sales

    def adapt(self) -> None:
        """The ad budget follows the return on the ads' cost over the last month (the clicks,
        and for enterprises the staff time the chats they open take); the quality rating and
        messaging tier follow the week's blocks."""
        self.quality.end_day()
        w = 1 / MEMORY_DAYS
        self.ad_cost_avg += w * (self._ad_cost_today - self.ad_cost_avg)
        self.ad_sales_avg += w * (self._ad_sales_today - self.ad_sales_avg)
        if self.ad_cost_avg > 0:
            roas = self.margin * self.ad_sales_avg / self.ad_cost_avg
            self.ad_budget_usd *= 1 + BUDGET_STEP * np.sign(roas - 1)
        self._ad_cost_today = 0.0
        self._ad_sales_today = 0.0


def carry_over(available_usd, spent_usd, cpc_usd):
    """What a click-to-chat budget carries to tomorrow: what it did not spend today, up to one
    click. A budget below a click's price then buys one every few days instead of none, and
    whole clicks lose nothing to rounding however small the sample's firms (assumption: ad
    platforms pace daily budgets over days). Works on numbers and arrays alike."""
    return np.minimum(available_usd - spent_usd, cpc_usd)


def order_values(model, buyers: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each buyer's order value and the part of it paid in the chat ($2).

    Values are exponential around ``order_value_usd`` scaled by the square root of the
    regional price index (assumption: purchasing power). Buyers with a linked account pay in
    the chat, less so the dearer the merchant fee (``Platform.in_chat_share``).
    """
    platform = model.platform
    users = model.users
    values = (model.p.order_value_usd * np.sqrt(platform.ad_price_index[users.region[buyers]])
              * rng.exponential(1.0, len(buyers)))
    return values, values * users.payments_linked[buyers] * platform.in_chat_share
