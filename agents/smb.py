"""Small businesses on the Business App (B1): free chats, tools adopted by benefit and
imitation (G1), an optional premium tier, and click-to-chat ads bought from their own return
on ad spend (A3).

Each small business is a Mesa agent that holds its state and makes its own decisions
(``adapt``). Their daily trade — customers opening chats, chats turning into sales, paid
clicks — is the same rule for every firm, so ``SmallBusinesses`` runs it for all of them at
once over one array of their customers (hundreds of firms would otherwise cost more Python
overhead than the users' whole day).
"""

from __future__ import annotations

import numpy as np

from agents.business import MEMORY_DAYS, Business, carry_over, order_values
from model.network import random_contacts
from model.sampling import coin_flips

TOOLS = ("profile", "greetings", "quick_replies", "labels", "catalog")
"""Business App tools: a profile, greeting and away messages, quick replies, chat labels and a
catalog (DIGEST B1). Each answers faster or shows more, so each raises conversion alike."""


LOSING_MONTHS_TO_EXIT = 3
"""A firm closes after three losing months in a row: one bad month is noise, and a new firm's
30-day averages take that long to fill up from zero (assumption)."""


class SmallBusiness(Business):
    on_business_platform = False

    def __init__(self, model, customers, region: int, ad_budget_usd: float, margin: float,
                 real_firms: float):
        super().__init__(model, customers, region, ad_budget_usd, margin, real_firms)
        self.premium = False
        self.chat_sales_avg = 0.0
        self.chats_avg = 0.0
        self._chat_sales_today = 0.0
        self._chats_today = 0
        self.losing_months = 0
        rng = model.org_rng
        self.tools = {tool for tool in TOOLS if rng.random() < model.p.tool_initial_share}

    @property
    def conversion_factor(self) -> float:
        return (1 + self.model.p.tool_conversion_uplift) ** len(self.tools)

    def adapt(self) -> None:
        """Premium when the extra chats it allows earn more margin than it costs (B1); a
        tool when its extra margin beats its monthly effort, sooner the more others use it.
        Both are judged per real firm (``per_real_firm``)."""
        p = self.model.p
        self.chat_sales_avg += (self._chat_sales_today - self.chat_sales_avg) / MEMORY_DAYS
        self.chats_avg += (self._chats_today - self.chats_avg) / MEMORY_DAYS
        monthly_sales = self.per_real_firm(30 * self.chat_sales_avg)
        base_sales = monthly_sales / (1 + p.premium_chat_uplift * self.premium)
        self.premium = base_sales * p.premium_chat_uplift * self.margin > p.premium_price_usd_month
        if monthly_sales * p.tool_conversion_uplift * self.margin > p.tool_effort_usd_month:
            shares = self.model.small_businesses.tool_shares
            for tool in TOOLS:
                chance = p.tool_adoption_rate * (1 + p.tool_imitation_weight * shares[tool])
                if tool not in self.tools and self.rng.random() < chance:
                    self.tools.add(tool)
        super().adapt()

    def monthly_profit_usd(self) -> float:
        """Profit of one of its real firms over the last month: margin on chat and ad-driven
        sales less ad spend, the premium fee, the tools' effort and the fixed cost."""
        p = self.model.p
        trade = 30 * (self.margin * (self.chat_sales_avg + self.ad_sales_avg) - self.ad_cost_avg)
        return (self.per_real_firm(trade) - p.premium_price_usd_month * self.premium
                - p.tool_effort_usd_month * len(self.tools) - p.smb_fixed_cost_usd_month)

    def outlook(self) -> str:
        """The month's verdict (B3): ``"move"`` to the Business Platform when its chats need it
        and its profit pays for it, ``"exit"`` after ``LOSING_MONTHS_TO_EXIT`` losing months
        (``"wait"`` before), ``"grow"`` when it earns."""
        p = self.model.p
        profit = self.monthly_profit_usd()
        if self.per_real_firm(self.chats_avg) >= p.api_move_chats_per_day and (
                profit >= p.api_move_min_profit_usd_month):
            return "move"
        self.losing_months = self.losing_months + 1 if profit < 0 else 0
        if self.losing_months:
            return "exit" if self.losing_months >= LOSING_MONTHS_TO_EXIT else "wait"
        return "grow"

    def grow(self, share: float) -> None:
        """Word of mouth: about ``share`` x its customers more, each a contact of a customer."""
        rng = self.rng
        told = rng.choice(self.customers, rng.poisson(share * len(self.customers)))
        _, contacts = random_contacts(self.model.users.graph, told, rng)
        self.customers = np.union1d(self.customers, contacts).astype(self.customers.dtype)


class SmallBusinesses:
    """The day's trade of every small business at once.

    Their customers lie end to end in one array, with the index of the firm each belongs to;
    a draw over all of them, thinned by each firm's own rate, is the same law as one draw
    per firm (independent thinning).
    """

    def __init__(self, model, firms: list[SmallBusiness]):
        self.model = model
        self.firms = firms
        self.moved_to_platform = 0
        self.exits = 0
        self._index_customers()
        self.survey_tools()

    def _index_customers(self) -> None:
        self.customers = np.concatenate([firm.customers for firm in self.firms])
        self.owner = np.repeat(np.arange(len(self.firms)), [len(firm.customers) for firm in self.firms])
        self.region = np.array([firm.region for firm in self.firms])

    def __len__(self) -> int:
        return len(self.firms)

    def trade(self) -> None:
        """Customers open chats (more for premium firms) and buy; paid clicks open more chats
        and buy at the colder ``ctwa_conversion``; premium firms pay their subscription."""
        p = self.model.p
        premium = np.fromiter((firm.premium for firm in self.firms), bool, len(self))
        chats, chat_owner = self.draw(p.chat_rate * (1 + p.premium_chat_uplift * premium))
        chat_sales = self.convert(chats, chat_owner, p.chat_conversion)
        clickers, click_owner = self.buy_click_to_chat()
        ad_sales = self.convert(clickers, click_owner, p.ctwa_conversion)
        opened = np.bincount(np.concatenate([chat_owner, click_owner]), minlength=len(self))
        platform = self.model.platform
        for firm, chats_today, chat_usd, ad_usd in zip(self.firms, opened.tolist(), chat_sales.tolist(),
                                                       ad_sales.tolist(), strict=True):
            firm._chats_today = chats_today
            firm._chat_sales_today = chat_usd
            firm._ad_sales_today = ad_usd
            if firm.premium:
                platform.charge(firm, "subscriptions", firm.simulated_usd(p.premium_price_usd_month / 30))

    def draw(self, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each of today's active customers of firm f with probability ``rate[f]``: the users
        drawn and their firms."""
        top = float(rate.max())
        rng = self.model.org_rng
        picked = coin_flips(len(self.customers), top, rng)
        owner = self.owner[picked]
        kept = rng.random(len(picked)) * top < rate[owner]
        users, owner = self.customers[picked[kept]], owner[kept]
        active = self.model.users.active_today[users]
        return users[active], owner[active]

    def convert(self, chats: np.ndarray, owner: np.ndarray, conversion: float) -> np.ndarray:
        """Chats that end in a sale, at ``conversion`` times each firm's tool factor (G1).
        Books each firm's sales; returns them per firm in USD."""
        model = self.model
        factors = np.fromiter((firm.conversion_factor for firm in self.firms), float, len(self))
        rng = model.org_rng
        sold = rng.random(len(chats)) < conversion * factors[owner]
        buyers, owner = chats[sold], owner[sold]
        values, in_chat = order_values(model, buyers, rng)
        per_firm = len(self)
        orders = np.bincount(owner, minlength=per_firm)
        sales = np.bincount(owner, values, minlength=per_firm)
        in_chat = np.bincount(owner, in_chat, minlength=per_firm)
        for f in np.flatnonzero(orders):
            self.firms[f].book_sales(int(orders[f]), float(sales[f]), float(in_chat[f]))
        return sales

    def buy_click_to_chat(self) -> tuple[np.ndarray, np.ndarray]:
        """Click-to-chat ads (A3): each firm buys the clicks its paced budget pays for at its
        region's price (``carry_over``); each click opens a free chat with a distinct active user of the
        region (a user answers at most one small business's ad a day; assumption). If the
        firms of a region want more clicks than it has active users, all are scaled down.
        Returns the clickers and their firms; books the spend."""
        model = self.model
        platform = model.platform
        rng = model.org_rng
        cpc = platform.click_to_chat_price[self.region]
        available = np.fromiter((firm.ad_budget_usd + firm.ad_carry_usd for firm in self.firms), float,
                                len(self))
        clicks = np.floor_divide(available, cpc, out=np.zeros(len(self)), where=cpc > 0).astype(np.int64)
        clickers, owners = [], []
        for region in np.unique(self.region):
            firms = np.flatnonzero((self.region == region) & (clicks > 0))
            pool = model.users.active_in_region(int(region))
            wanted = clicks[firms]
            if wanted.sum() > len(pool):
                wanted = wanted * len(pool) // wanted.sum()
                clicks[firms] = wanted
            clickers.append(pool[rng.choice(len(pool), int(wanted.sum()), replace=False)])
            owners.append(np.repeat(firms, wanted))
        spend = clicks * cpc
        for firm, carry in zip(self.firms, carry_over(available, spend, cpc), strict=True):
            firm.ad_carry_usd = float(carry)
        for f in np.flatnonzero(clicks):
            firm = self.firms[f]
            platform.charge(firm, "click_to_chat", float(spend[f]))
            firm._ad_cost_today = float(spend[f])
        platform.clicks_to_chat += int(clicks.sum())
        return np.concatenate(clickers), np.concatenate(owners)

    def review(self) -> None:
        """Once a month every firm takes stock (B3): a profitable one grows, a losing one
        exits, one whose volume and profit justify it moves to the Business Platform (an
        ``Enterprise`` with its customers, region, budget and tier of real firms). A new
        small business takes the place of each that leaves (assumption: steady turnover)."""
        model = self.model
        for i, firm in enumerate(self.firms):
            verdict = firm.outlook()
            if verdict == "grow":
                firm.grow(model.p.smb_growth_per_year / 12)
            if verdict in ("grow", "wait"):
                continue
            if verdict == "move":
                model.move_to_business_platform(firm)
                self.moved_to_platform += 1
            else:
                self.exits += 1
            firm.remove()
            self.firms[i] = model.found_small_business(model.org_rng)
        self._index_customers()

    def survey_tools(self) -> None:
        """What a firm sees others do before it decides: the share using each tool."""
        self.tool_shares = {tool: sum(tool in firm.tools for firm in self.firms) / max(len(self), 1)
                            for tool in TOOLS}
