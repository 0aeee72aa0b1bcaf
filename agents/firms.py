"""Every firm's day at once: the one trade path of small businesses, enterprises and partners.

``Firms`` is the registry of all firms. Their customers lie end to end in one array, with
the index of the firm each belongs to; a draw over all of them, thinned by each firm's own
rate, is the same law as one draw per firm (independent thinning). Each firm's decisions
stay in its Mesa agent (its ``plan``, budget, tools, provider); here they are carried out:
customers open chats, firms send templates through the platform, chats turn into sales,
paid clicks open more chats, and every fee goes through the ledger.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from agents.business import Business, Plan, carry_over
from agents.enterprise import Enterprise
from agents.partners import Bank, Shop
from agents.smb import TOOLS, SmallBusiness
from model.blocks import in_background
from model.channels import PRICED_CATEGORIES, chat_app_appeal, sms_prices, whatsapp_share
from model.ledger import PLATFORM, USERS
from model.levers import TEMPLATE_CATEGORIES
from model.network import random_contacts
from model.params import DAYS_PER_MONTH, PARAMS, REGIONS
from model.sampling import coin_flips, distinct, members


class Firms:
    """The registry of firms and their daily trade."""

    def __init__(self, model):
        self.model = model
        self.members: list[Business] = []
        self.moved_to_platform = 0
        self.exits = 0
        self.tool_shares = dict.fromkeys(TOOLS, 0.0)
        self._dirty = True
        self._to_track = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))

    # --- the registry --------------------------------------------------------------------
    def add(self, firm: Business) -> None:
        self.members.append(firm)
        self._dirty = True

    def discard(self, firm: Business) -> None:
        self.members.remove(firm)
        self._dirty = True

    def start_record(self) -> None:
        """The record starts (after a burn-in): exits and moves count from here."""
        self.exits = 0
        self.moved_to_platform = 0

    def customers_changed(self) -> None:
        self._dirty = True

    def __len__(self) -> int:
        return len(self.members)

    def of_type(self, cls: type) -> list[Business]:
        return [f for f in self.members if isinstance(f, cls)]

    def _index(self) -> None:
        """Customers end to end, their firms, and the firms' fixed attributes."""
        firms = self.members
        sizes = np.array([len(f.customers) for f in firms])
        self.customers = np.concatenate([f.customers for f in firms])  # int32: millions of them
        self._sizes = sizes
        self._starts = np.cumsum(sizes) - sizes
        self.region = np.array([f.region for f in firms])
        self.account = np.array([f.account for f in firms], dtype=np.int64)
        self.is_shop = np.array([isinstance(f, Shop) for f in firms])
        self.is_smb = np.array([isinstance(f, SmallBusiness) for f in firms])
        self.is_enterprise = np.array([isinstance(f, Enterprise) for f in firms])
        self.real_firms = np.array([f.real_firms for f in firms])
        self.is_bank = np.array([isinstance(f, Bank) for f in firms])
        self.model.platform.enrol_senders(self.account, sizes)
        self._dirty = False

    # --- the day -------------------------------------------------------------------------
    def trade(self) -> None:
        """Every firm's day, as its plan says (B1-B4, A3, P1-P3, $1, $2)."""
        plan = self.plans()
        self._onboard_waiting()
        self._choose_channels()
        chats = self._converse(plan)
        self._send_utility(plan, window=chats)
        self._send_authentication(plan)
        reached = self._send_marketing(plan)
        self._bill_providers(plan)
        orders = self._orders(plan)
        clicks, ad_cost = self._answer_clicks_to_chat(plan)
        sales, ad_sales = self._sell_to(plan, chats, reached, orders, clicks)
        self._charge_commissions(sales)
        self._charge_monthly_fees()
        self.transfer_p2p()
        opened = np.bincount(np.concatenate([chats[1], clicks[1]]), minlength=len(self))
        for firm, s, a, c, n in zip(self.members, (sales + ad_sales).tolist(), ad_sales.tolist(),
                                    ad_cost.tolist(), opened.tolist(), strict=True):
            firm.close_day(s, a, c, n)

    def _onboard_waiting(self) -> None:
        """Enterprises without a provider seek one, in random order; one that signs trades
        from tomorrow, by its plan (B4)."""
        waiting = [f for f in self.of_type(Enterprise) if f.provider is None]
        for i in self.model.org_rng.permutation(len(waiting)):
            waiting[i].seek_provider()

    def _answer_clicks_to_chat(self, plan: Plan) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """Click-to-chat ads bought (``buy_clicks_to_chat``); each click opens a chat, free
        as an entry point ([meta2025pricing]), that an enterprise's staff must answer: the
        answering counts in the ads' cost. Returns (clickers, their firms) and each firm's ad
        cost."""
        clickers, owner, ad_cost = self.buy_clicks_to_chat(plan)
        ad_cost += self._answer(clickers, owner)
        api = plan.on_business_platform[owner].astype(bool)
        self.model.platform.send("service", self.account[owner.compress(api)], clickers.compress(api),
                                 np.zeros(np.count_nonzero(api)))
        return (clickers, owner), ad_cost

    def _sell_to(self, plan: Plan, chats, reached, orders, clicks) -> tuple[np.ndarray, np.ndarray]:
        """The day's sales per firm: chats that convert, marketing recipients who click and
        convert, catalog orders; and apart, the colder chats bought with ads
        (``ctwa_conversion``), whose sales count toward the ads' return."""
        p = self.model.p
        chat_conversion = p.chat_conversion * plan.conversion_factor
        users, owner = reached
        clicked = self.model.org_rng.random(len(users)) < self.model.users.click_through("message", users)
        sales = self.sell(*self.convert(*chats, chat_conversion))
        sales += self.sell(*self.convert(users.compress(clicked), owner.compress(clicked), chat_conversion))
        sales += self.sell(*orders)
        ad_sales = self.sell(*self.convert(*clicks, p.ctwa_conversion * plan.conversion_factor))
        return sales, ad_sales

    def plans(self) -> Plan:
        """Every firm's plan for today, as arrays over the firms (refreshes the index)."""
        if self._dirty:
            self._index()
        plans = np.fromiter(chain.from_iterable(f.plan() for f in self.members), float,
                            count=len(self) * len(Plan._fields))
        return Plan(*plans.reshape(len(self), len(Plan._fields)).T)

    def draw(self, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each of today's active customers of firm f with probability ``rate[f]``: the users
        drawn and their firms (a user who is a customer of two firms may be drawn by both).
        A rate above 1 (a rate times an uplift) is a certainty, and leaves the others' alone."""
        rate = np.minimum(rate, 1.0)
        top = float(rate.max(initial=0.0))
        if top <= 0:
            return self.customers[:0], np.empty(0, dtype=np.int64)
        rng = self.model.org_rng
        firms = np.flatnonzero(rate > 0)  # only their customers' coins are flipped
        sizes = self._sizes[firms]
        ends = np.cumsum(sizes)
        picked = coin_flips(int(ends[-1]), top, rng)  # sorted: each firm's heads are one run
        heads = np.diff(np.searchsorted(picked, ends), prepend=0)
        owner = np.repeat(firms, heads)
        position = picked + np.repeat(self._starts[firms] - (ends - sizes), heads)
        kept = rng.random(len(picked)) * top < np.repeat(rate[firms], heads)
        users, owner = self.customers[position.compress(kept)], owner.compress(kept)
        active = self.model.users.active_today[users]
        return users.compress(active), owner.compress(active)

    def _converse(self, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
        """Customers open service conversations (user-initiated, SOURCES.md#pricing-history), and some
        passengers of a disrupted flight open a support chat; Business Platform firms pay
        the service rate for them. Flight updates go out here too: the flyers and, a
        second time, the disrupted (P1)."""
        rng = self.model.org_rng
        chats, owner = self.draw(plan.chat)
        flyers, flyer_owner = self.draw(plan.utility * (plan.disruption > 0))
        hit = rng.random(len(flyers)) < plan.disruption[flyer_owner]
        disrupted, disrupted_owner = flyers.compress(hit), flyer_owner.compress(hit)
        self._utility_events = [(flyers, flyer_owner), (disrupted, disrupted_owner)]
        asks = rng.random(len(disrupted)) < self.model.p.disruption_support_share
        chats = np.concatenate([chats, disrupted.compress(asks)])
        owner = np.concatenate([owner, disrupted_owner.compress(asks)])
        api = plan.on_business_platform[owner].astype(bool)
        self.model.platform.send("service", self.account[owner.compress(api)], chats.compress(api))
        self._answer(chats, owner)
        return chats, owner

    def _answer(self, chats: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """Enterprises' staff time for the chats (a cost to the firm, not a fee); per firm."""
        cost = np.zeros(len(self))
        counts = np.bincount(owner, minlength=len(self))
        for f in np.flatnonzero(counts * self.is_enterprise):
            firm = self.members[f]
            cost[f] = counts[f] * firm.cost_per_chat_usd
            firm.service_cost_usd += cost[f]
        return cost

    def _choose_channels(self) -> None:
        """Today's WhatsApp share of each firm's messages by category and recipient's region
        (``model.channels``): the logit against SMS and e-mail at the price the firm pays, its
        provider's markup included."""
        p = self.model.p
        card = self.model.platform.levers.rate_card
        markup = np.array([getattr(f, "markup_share", 0.0) for f in self.members])
        price_factor = 1 + markup[:, None]
        sms = sms_prices(p)
        self.channel_share = {
            category: whatsapp_share(card[category][None, :] * price_factor, sms,
                                     chat_app_appeal(p, category, self.model.trend_day), p)
            for category in PRICED_CATEGORIES}

    def _kept_on_whatsapp(self, category: str, users: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """Which of the firms' ``category`` messages to ``users`` go by WhatsApp, each with
        its firm's logit share in the user's region; the rest go by SMS or e-mail."""
        share = self.channel_share[category][owner, self.model.users.region[users]]
        return self.model.org_rng.random(len(users)) < share

    def _draw_on_whatsapp(self, category: str, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Today's active customers each firm f messages in ``category`` by WhatsApp: each w.p.
        ``rate[f]`` times the firm's WhatsApp share in her region, drawn at the firm's highest
        regional chance and thinned to hers (the firm's messages that go by SMS or e-mail are
        never drawn). Returns the users and their firms."""
        rates = np.minimum(rate[:, None] * self.channel_share[category], 1.0)
        top = rates.max(axis=1)
        users, owner = self.draw(top)
        region = self.model.users.region[users]
        keep = self.model.org_rng.random(len(users)) * top[owner] < rates[owner, region]
        return users.compress(keep), owner.compress(keep)

    def _send_utility(self, plan: Plan, window: tuple[np.ndarray, np.ndarray]) -> None:
        """Utility templates: flight updates (which come before any support chat they cause)
        and tracking of yesterday's orders, each by WhatsApp w.p. the firm's share; and bank and
        enterprise alerts. An alert is free to a user inside an open 24-h service window, i.e.
        who opened a chat with the firm today ([meta2025pricing]: rules of 1 Jul 2025), and then
        always goes by WhatsApp: each of today's chats brings one w.p. the firm's rate. Outside
        a window an alert is paid and goes by WhatsApp w.p. the rate times the share."""
        tracked, tracked_account = self._to_track  # accounts: firms' positions may have moved
        tracking = (tracked, np.searchsorted(self.account, tracked_account))
        events = [*self._utility_events, tracking]
        users = np.concatenate([b[0] for b in events])
        owner = np.concatenate([b[1] for b in events])
        keep = self._kept_on_whatsapp("utility", users, owner)
        rate = plan.utility * (plan.disruption == 0)
        alerted, alert_owner = self._draw_on_whatsapp("utility", rate)
        n_users = len(self.model.users)
        outside = ~members(alert_owner * n_users + alerted, np.sort(window[1] * n_users + window[0]))
        chatted, chat_owner = window
        in_window = self.model.org_rng.random(len(chatted)) < rate[chat_owner]
        users = np.concatenate([users.compress(keep), alerted.compress(outside), chatted.compress(in_window)])
        owner = np.concatenate([owner.compress(keep), alert_owner.compress(outside),
                                chat_owner.compress(in_window)])
        free = np.arange(len(users)) >= len(users) - np.count_nonzero(in_window)
        card = self.model.platform.levers.rate_card["utility"]
        price = np.where(free, 0.0, card[self.model.users.region[users]])
        sent = self.model.platform.send("utility", self.account[owner], users, price)
        self.model.ledger.tally.messages_utility_free += int(np.count_nonzero(free & sent))

    def _send_authentication(self, plan: Plan) -> None:
        users, owner = self._draw_on_whatsapp("authentication", plan.authentication)
        self.model.platform.send("authentication", self.account[owner], users)

    def _send_marketing(self, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
        """Marketing templates by WhatsApp (``_draw_on_whatsapp``; the rest go by SMS or
        e-mail); returns who got one, and from whom."""
        users, owner = self._draw_on_whatsapp("marketing", plan.marketing)
        sent = self.model.platform.send("marketing", self.account[owner], users)
        return users.compress(sent), owner.compress(sent)

    def _bill_providers(self, plan: Plan) -> None:
        """Each enterprise trading today pays its provider a markup on today's Meta fees and a
        30th of the monthly fees (B4, SOURCES.md#bsp-fees)."""
        ledger = self.model.ledger
        clients = np.flatnonzero(plan.on_business_platform.astype(bool) & self.is_enterprise)
        fees = ledger.paid_today(self.account[clients], *TEMPLATE_CATEGORIES).tolist()
        bills: dict[object, list] = {}
        for f, meta_fees in zip(clients.tolist(), fees, strict=True):
            firm = self.members[f]
            bills.setdefault(firm.provider, []).append((firm.account, firm.provider_fees_usd(meta_fees)))
        for provider, billed in bills.items():
            accounts, amounts = zip(*billed, strict=True)
            ledger.book_many(np.array(accounts), provider.account, "provider_fees", np.array(amounts))

    def _orders(self, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
        """Catalog orders in the chat (P3, F1); confirmed now, tracked tomorrow."""
        buyers, owner = self.draw(plan.order)
        keep = self._kept_on_whatsapp("utility", buyers, owner)
        confirmed, seller = buyers.compress(keep), owner.compress(keep)
        sent = self.model.platform.send("utility", self.account[seller], confirmed)
        self._to_track = (confirmed.compress(sent), self.account[seller.compress(sent)])
        return buyers, owner

    def convert(self, chats: np.ndarray, owner: np.ndarray,
                 rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chats that end in a sale, at each firm's ``rate``."""
        sold = self.model.org_rng.random(len(chats)) < rate[owner]
        return chats.compress(sold), owner.compress(sold)

    def sell(self, buyers: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """Orders from ``buyers``: each order's value is exponential around ``order_value_usd``
        scaled by the square root of the regional price index (assumption: purchasing
        power). Buyers with a linked account pay in the chat, less so the dearer the
        merchant fee; the platform takes the fee on the part paid on card rails, a share
        that depends on the buyer's region's rails (``model.payment_rails``, $2). Returns the
        sales per firm."""
        model = self.model
        p = model.p
        users = model.users
        levers = model.platform.levers
        region = users.region[buyers]
        values = (p.order_value_usd * np.sqrt(model.platform.ad_price_index[region])
                  * model.org_rng.exponential(1.0, len(buyers)))
        in_chat = values * users.payments_linked[buyers] * self._in_chat_share(levers.merchant_fee_rate)
        card_share = model.payment_rails.card_share[region]
        model.ledger.book_many(self.account[owner], PLATFORM, "payments",
                               in_chat * card_share * levers.merchant_fee_rate)
        tally = model.ledger.tally
        tally.purchases += len(buyers)
        tally.payment_volume_merchant += float(in_chat.sum())
        return np.bincount(owner, values, minlength=len(self)).astype(float)

    def _in_chat_share(self, fee_rate: float) -> float:
        """Share of linked buyers' order value paid in the chat: 1 up to the default merchant
        fee, falling with a dearer fee as merchants steer buyers to fee-free rails."""
        ratio = fee_rate / PARAMS["merchant_fee_rate"].default
        return 1.0 if ratio <= 1 else ratio ** -self.model.p.merchant_fee_elasticity

    def buy_clicks_to_chat(self, plan: Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Click-to-chat ads (A3): each buying firm buys the clicks its paced budget pays for
        at its region's price (``carry_over``); each click opens a chat with a distinct
        active user of the region (a user answers at most one firm's ad a day; assumption).
        If the firms of a region want more clicks than it has active users, all are scaled
        down. Returns the clickers, their firms and each firm's ad cost."""
        model = self.model
        platform = model.platform
        buying = plan.buys_click_to_chat.astype(bool)
        budget = np.array([f.ad_budget_usd for f in self.members]) * buying
        platform.price_click_to_chat(np.bincount(self.region, budget, minlength=len(REGIONS)))
        cpc = platform.click_to_chat_price[self.region]
        carry = np.array([f.ad_carry_usd for f in self.members])
        available = (budget + carry) * buying
        clicks = np.floor_divide(available, cpc, out=np.zeros(len(self)), where=cpc > 0).astype(np.int64)
        clickers, owners = [self.customers[:0]], [np.empty(0, dtype=np.int64)]
        for region in np.unique(self.region[clicks > 0]):
            firms = np.flatnonzero((self.region == region) & (clicks > 0))
            pool = model.users.active_in_region(int(region))
            wanted = clicks[firms]
            if wanted.sum() > len(pool):
                wanted = wanted * len(pool) // wanted.sum()
                clicks[firms] = wanted
            clickers.append(pool[model.org_rng.choice(len(pool), int(wanted.sum()), replace=False)])
            owners.append(np.repeat(firms, wanted))
        cost = platform.sell_clicks_to_chat(self.account, clicks, self.region)
        carry = carry_over(available, cost, cpc)
        for f in np.flatnonzero(buying):
            self.members[f].ad_carry_usd = float(carry[f])
        return np.concatenate(clickers), np.concatenate(owners), cost

    def _charge_commissions(self, sales: np.ndarray) -> None:
        """The platform's commission on shops' sales, and a further one on sales through the
        shopping section, if open (F1)."""
        levers = self.model.platform.levers
        p = self.model.p
        rate = levers.shop_commission_rate
        if self.model.shopping_section_open:
            rate += levers.shopping_commission_rate * p.shopping_order_uplift / (1 + p.shopping_order_uplift)
        shops = np.flatnonzero(self.is_shop)
        self.model.ledger.book_many(self.account[shops], PLATFORM, "commerce", sales[shops] * rate)

    def _charge_monthly_fees(self) -> None:
        """Small businesses on the premium tier pay its monthly price, a 30th a day, for each
        real firm they stand for (B1)."""
        smbs = np.flatnonzero(self.is_smb)
        premium = np.fromiter((self.members[f].premium for f in smbs), bool, len(smbs))
        price = self.model.platform.levers.premium_price_usd_month / DAYS_PER_MONTH
        fees = premium * price * self.real_firms[smbs] / self.model.scale
        self.model.ledger.book_many(self.account[smbs], PLATFORM, "subscriptions", fees)

    def transfer_p2p(self) -> tuple[np.ndarray, np.ndarray]:
        """Banks' customers with a linked account send money to one of their contacts each
        ($1). The money arrives only in a linked account: a recipient on the platform
        without one links it when asked, with chance ``p2p_invite_link_prob`` (receiving
        money is the nudge, SOURCES.md#payments-india) as far as her region's room allows
        (incumbent wallets, a user cap: ``model.payment_rails``), else the transfer fails. A fee
        deters transfers, linearly up to ``p2p_fee_cutoff_rate`` (SOURCES.md#payments-derived:
        P2P is free where it thrives). Returns the senders and recipients of the transfers made."""
        model = self.model
        p = model.p
        users = model.users
        rng = model.org_rng
        fee = model.platform.levers.p2p_fee_rate
        rate = p.p2p_rate * max(0.0, 1 - fee / p.p2p_fee_cutoff_rate)
        senders, _ = self.draw(rate * self.is_bank)
        senders, recipients = random_contacts(users.graph, senders[users.payments_linked[senders]], rng)
        reachable = users.on_platform[recipients]
        senders, recipients = senders.compress(reachable), recipients.compress(reachable)
        unlinked = ~users.payments_linked[recipients]
        room = model.payment_rails.room[users.region[recipients]]
        joins = unlinked & (rng.random(len(recipients)) < p.p2p_invite_link_prob * room)
        users.link_payments(distinct(recipients.compress(joins)))
        made = ~unlinked | joins
        volume = float(p.p2p_amount_usd * rng.exponential(1.0, int(made.sum())).sum())
        model.ledger.book(USERS, PLATFORM, "payments", volume * fee)
        model.ledger.tally.payment_volume_p2p += volume
        return senders.compress(made), recipients.compress(made)

    # --- the month -----------------------------------------------------------------------
    def review_month(self) -> None:
        """Once a month every small business takes stock (B3): its real firms that outgrew
        the app move to the Business Platform (``SmallBusiness.outgrown``), then a profitable
        one grows, a losing one exits; a new small business takes the place of each that
        leaves (assumption: steady turnover). Enterprises' cohorts diffuse and are upsold
        (``Enterprise.diffuse``; not before day 1: the burn-in, and the review on the night
        before day 1 that closes it, settle the world as it stands on day 1), then review
        their chatbot and CRM."""
        model = self.model
        referred = []
        for firm in self.of_type(SmallBusiness):
            movers = firm.outgrown()
            if movers is not None:
                model.move_to_business_platform(firm, movers)
                self.moved_to_platform += movers.real_firms
                if firm.real_firms <= 0:  # all of them moved
                    firm.leave()
                    model.found_small_business(model.org_rng)
                    continue
            verdict = firm.outlook()
            if verdict == "grow":
                referred.append((firm, firm.word_of_mouth(model.p.smb_growth_per_year / 12)))
            elif verdict == "exit":
                self.exits += 1
                firm.leave()
                model.found_small_business(model.org_rng)
        # taking on the referred draws nothing and touches only each its own firm's customers:
        # on the other core, while the enterprises diffuse
        taken_on = in_background(lambda: [firm.take_on(contacts) for firm, contacts in referred])
        for firm in self.of_type(Enterprise):
            if model.trend_day > 0:
                firm.diffuse()
            firm.review_tools()
        taken_on.result()

    def survey_tools(self) -> None:
        """What a small business sees others do before it decides: the share using each tool."""
        smbs = self.of_type(SmallBusiness)
        self.tool_shares = {tool: sum(tool in f.tools for f in smbs) / max(len(smbs), 1) for tool in TOOLS}

    def columns(self) -> dict[str, float]:
        """The firms' result columns."""
        smbs = self.of_type(SmallBusiness)
        enterprises = self.of_type(Enterprise)
        return {
            "smb_premium": sum(1 for f in smbs if f.premium),
            "smb_tools_mean": sum(len(f.tools) for f in smbs) / max(len(smbs), 1),
            "smb_exits": self.exits,
            "smbs_moved_to_platform": self.moved_to_platform,
            "enterprises": len(enterprises),
            "platform_firms": sum(e.real_firms for e in enterprises if e.provider is not None),
            "enterprises_onboarded": sum(1 for e in enterprises if e.provider is not None),
            "enterprises_chatbot": sum(1 for e in enterprises if e.chatbot),
            "enterprises_crm": sum(1 for e in enterprises if e.crm),
        }
