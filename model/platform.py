"""The platform: routes and bills every message and ad impression.

Firms and advertisers never touch users or money directly: they hand the platform a batch of
sends (sender account and recipient per message) or a bid, and the platform applies its
rules (on-platform recipients only, promotional opt-in, per-user weekly caps, senders'
quality limits and users' blocks), delivers, books the fees in the ledger and writes what
each user was exposed to into the day's ``Exposure`` (ABIDES-style kernel, STYLE.md).
Anti-spam and billing are one mechanism. The platform reads the users' states but writes
none of their arrays, and draws from its own random stream.
"""

from __future__ import annotations

import numpy as np

from model.auction import second_price_auction
from model.exposure import Blocks, Exposure
from model.ledger import CREATORS, PLATFORM, Ledger
from model.levers import LeverBoard, Levers
from model.params import REGIONS
from model.quality import SenderRatings
from model.sampling import counts_of, members, rank_within, sorted_union

PROMOTIONAL = ("marketing", "sponsored")


class Platform:
    """Levers, routing, billing, the senders' ratings and the ad auctions."""

    def __init__(self, model, ledger: Ledger, levers: LeverBoard, rng: np.random.Generator):
        self.model = model
        self.ledger = ledger
        self.board = levers
        self.levers: Levers = levers.current
        self.rng = rng
        p = model.p
        self.ad_price_index = np.array([1.0, p.ad_price_index_br, p.ad_price_index_eu])
        self.ratings = SenderRatings(p.block_rate_low, p.tier_base_share)
        self._blocked = np.empty(0, dtype=np.int64)  # sender account x n_users + user, sorted
        n = len(model.users)
        self._week = {cat: np.zeros(n, dtype=np.int16) for cat in PROMOTIONAL}
        week_phase = rng.integers(0, 7, n, dtype=np.int8)
        self._cap_week_members = [np.flatnonzero(week_phase == d) for d in range(7)]
        self.exposure = Exposure.open(n)
        self.click_to_chat_price = p.ctwa_cpc_usd * self.ad_price_index

    def open_day(self) -> Exposure:
        """Publish today's levers and open today's exposure record."""
        self.levers = self.board.current
        self.exposure = Exposure.open(len(self.model.users))
        return self.exposure

    def roll_weekly_caps(self) -> None:
        """Start a new cap week for the users whose week begins on the coming day. Each user
        has her own weekday, so promotional sends do not bunch up."""
        due = self.week_phase(int(self.model.time) + 1)  # the coming day, burn-in included
        for week in self._week.values():
            week[due] = 0

    # --- messages ------------------------------------------------------------------------
    def send(self, category: str, senders: np.ndarray, recipients: np.ndarray,
             unit_price_usd: np.ndarray | None = None) -> np.ndarray:
        """Deliver ``category`` messages from ``senders`` (an account per message) to
        ``recipients`` those the rules allow, and bill each sender.

        Template messages are billed at the rate card of the recipient's region, unless
        ``unit_price_usd`` (per message) says otherwise: free entry points, free utility
        inside a service window, a sponsored message's auction price. A promotional sender
        sends at most one message to a user per call. Returns which messages were delivered
        (a mask).
        """
        users = self.model.users
        ok = users.on_platform[recipients]
        if category in PROMOTIONAL:
            ok &= users.promo_optin[recipients]
            if category == "marketing":
                at = np.flatnonzero(ok)
                ok[at] = self._within_quality_limits(senders[at], recipients[at])
            at = np.flatnonzero(ok)
            ok[at] = self._within_weekly_cap(category, recipients[at])
        to, by = recipients.compress(ok), senders.compress(ok)
        if category == "marketing":
            self.exposure.deliver_marketing(by, to)
        elif category == "sponsored":
            self.exposure.deliver_sponsored(to)  # distinct users, one slot each
        price = (self.levers.rate_card[category][users.region[to]] if unit_price_usd is None
                 else unit_price_usd.compress(ok))
        self.ledger.book_many(by, PLATFORM, category, price)
        self.ledger.tally.messages[category] += len(to)
        return ok

    def _within_weekly_cap(self, category: str, recipients: np.ndarray) -> np.ndarray:
        """Per-user weekly caps on promotional messages across all senders (A1,
        [chatondesklimits]): when a user is offered more than her room this week, a random few
        get through. Sponsored slots go to distinct users (one slot each), so none is ranked."""
        week = self._week[category]
        cap = (self.levers.marketing_cap_per_week if category == "marketing"
               else self.levers.sponsored_cap_per_week)
        room = cap - week[recipients]
        if category == "sponsored":
            ok = room > 0
            week[recipients.compress(ok)] += 1
            return ok
        ok = rank_within(recipients, self.rng) < room
        ids, counts = counts_of(recipients.compress(ok), len(week))
        week[ids] += counts.astype(week.dtype)
        return ok

    def _within_quality_limits(self, senders: np.ndarray, recipients: np.ndarray) -> np.ndarray:
        """Marketing skips users who blocked the sender, and stops at the sender's tier's
        daily limit on unique users (A1; [quickreplydocs], SOURCES.md#frequency-caps), a random few over it
        turned away."""
        ok = ~self.has_blocked(senders, recipients)
        unblocked = np.flatnonzero(ok)
        limit = self.ratings.daily_limit(senders[unblocked])
        limited = np.flatnonzero(np.isfinite(limit))  # top-tier senders have no limit to rank by
        within = rank_within(senders[unblocked[limited]], self.rng) < limit[limited]
        self.ledger.tally.marketing_over_limit += int(np.count_nonzero(~within))
        ok[unblocked[limited[~within]]] = False
        return ok

    def has_blocked(self, senders: np.ndarray, users: np.ndarray) -> np.ndarray:
        """Whether each user has blocked the sender beside her."""
        return members(senders * len(self.model.users) + users, self._blocked)

    def week_phase(self, day: int) -> np.ndarray:
        """Users whose cap week starts on weekday ``day % 7``."""
        return self._cap_week_members[day % 7]

    def record_blocks(self, blocks: Blocks) -> None:
        """The users' blocks and reports of today's marketing: the block lists and each
        sender's quality rating count them."""
        senders = np.fromiter(blocks.delivered_by, np.int64, len(blocks.delivered_by))
        delivered = np.fromiter(blocks.delivered_by.values(), np.int64, len(senders))
        per_sender = blocks.per_sender()
        blocked = np.array([per_sender.get(s, 0) for s in senders.tolist()], dtype=np.int64)
        self.ratings.record(senders, delivered, blocked)
        if len(blocks.users):
            keys = blocks.senders * len(self.model.users) + blocks.users
            self._blocked = sorted_union(self._blocked, keys)
        self.ledger.tally.blocks += len(blocks.users)

    def enrol_senders(self, accounts: np.ndarray, customers: np.ndarray) -> None:
        """Business senders and their customer counts (the base of their messaging tiers)."""
        self.ratings.enrol(accounts, customers)

    # --- click-to-chat ads (A3) -----------------------------------------------------------
    def price_click_to_chat(self, budget_by_region_usd: np.ndarray) -> None:
        """Today's cost per click in each region: the reserve, or the uniform price at which
        the firms' budgets just buy the click inventory (``ctwa_clicks_per_user_day`` per
        active user), whichever is higher. Rising prices cap the firms' returns."""
        p = self.model.p
        users = self.model.users
        reserve = p.ctwa_cpc_usd * self.ad_price_index
        supply = np.array([len(users.active_in_region(r)) for r in range(len(REGIONS))])
        clearing = budget_by_region_usd / np.maximum(supply * p.ctwa_clicks_per_user_day, 1e-9)
        self.click_to_chat_price = np.maximum(reserve, clearing)

    def sell_clicks_to_chat(self, buyers: np.ndarray, clicks: np.ndarray, regions: np.ndarray) -> np.ndarray:
        """Bill ``clicks`` to each buyer account at today's price in its region; returns the
        cost of each."""
        cost = clicks * self.click_to_chat_price[regions]
        self.ledger.book_many(buyers, PLATFORM, "click_to_chat", cost)
        self.ledger.tally.clicks_to_chat += int(clicks.sum())
        return cost

    # --- ad auctions (A1, A2) ------------------------------------------------------------
    def run_ad_auctions(self, advertisers) -> None:
        """Sell today's display (Status) impressions and sponsored-message slots by region to
        the ``advertisers`` (a group offering ``in_region``, ``bids``, ``budget_left``,
        ``record``); then brands' influencer posts reach the same tab.
        A visit holds ``ad_load x status_items_per_visit`` slots times the viewer's relative
        time in the tab."""
        users = self.model.users
        for r in range(len(REGIONS)):
            bidders = advertisers.in_region(r)
            if not len(bidders):
                continue
            span = users.region_span[r]
            visitors = span.start + np.flatnonzero(users.status_visit[span])
            time = users.status_time[visitors]  # each visitor's relative time in the tab
            personal = users.sharing_under(self.levers.data_sharing, visitors)
            self._sell_personalised(bidders, visitors.compress(personal), time.compress(personal))
            self._sell_contextual(bidders, visitors.compress(~personal), time.compress(~personal))
            self._show_influencer_posts(bidders, visitors, time, r)
            eligible = span.start + np.flatnonzero(
                users.active_today[span] & users.promo_optin[span]
                & (self._week["sponsored"][span] < self.levers.sponsored_cap_per_week)
            )
            self._sell_sponsored(bidders, eligible)

    @property
    def _slots_per_visit(self) -> float:
        return self.levers.ad_load * self.model.p.status_items_per_visit

    def _sell_personalised(self, bidders, viewers: np.ndarray, time: np.ndarray) -> None:
        """Interest by interest: an advertiser whose target interest matches the viewer's
        gets the personalised click-through, the others the contextual one (D1: matching
        needs account data). The matching share of what is sold is the ads' relevance, which
        falls as a heavier load digs into advertisers who do not match ([hohnhold2015ads]).
        ``time``: the viewers' time in the tab."""
        users = self.model.users
        p = self.model.p
        slots = self._slots_per_visit
        interest = users.interest[viewers]
        supply = slots * np.bincount(interest, weights=time, minlength=p.n_interests)
        fill = np.zeros(p.n_interests)
        relevant = np.zeros(p.n_interests)
        # each interest's audience: targeted and untargeted click-through
        targeted, untargeted = users.click_through_by_group(("personalised", "contextual"), viewers, interest,
                                                            p.n_interests, time)
        # each bidder's click-through in each interest's auction, one row per interest
        matches = bidders.target == np.arange(p.n_interests)[:, None]
        ctr = np.where(matches, targeted[:, None], untargeted[:, None])
        for k in np.flatnonzero(supply > 0):
            units = self._auction(bidders, supply[k], ctr[k])
            sold = float(units.sum())
            fill[k] = sold / supply[k]
            relevant[k] = float(units[matches[k]].sum()) / sold if sold > 0 else 0.0
            self.ledger.tally.impressions_personalised += sold
        seen = (slots * fill)[interest] * time
        self.exposure.display_ads[viewers] = seen
        self.exposure.relevant_ads[viewers] = seen * relevant[interest]

    def _sell_contextual(self, bidders, viewers: np.ndarray, time: np.ndarray) -> None:
        """One auction for the region's untargeted impressions."""
        supply = self._slots_per_visit * float(time.sum())
        ctr = np.full(len(bidders), self.model.users.click_through("contextual", viewers, time))
        sold = float(self._auction(bidders, supply, ctr).sum())
        if supply > 0:
            self.exposure.display_ads[viewers] = self._slots_per_visit * sold / supply * time
        self.ledger.tally.impressions_contextual += sold

    def _show_influencer_posts(self, bidders, visitors: np.ndarray, time: np.ndarray, region: int) -> None:
        """Brands' sponsored posts by creators in Channels (G1): the creators are paid, not
        the platform (assumption: its only reported take from Channels is on subscriptions,
        [particle2025channels]). The posts bought at ``influencer_cpm_usd`` (x the price index) are seen by
        the tab's visitors in proportion to their time there."""
        spend = float(bidders.creator_budget.sum())
        self.ledger.book_many(bidders.account, CREATORS, "creator_payments", bidders.creator_budget)
        if spend <= 0 or len(visitors) == 0:
            return
        posts = spend / (self.model.p.influencer_cpm_usd / 1000 * self.ad_price_index[region])
        self.exposure.influencer_posts[visitors] += np.float32(posts / time.sum()) * time

    def _auction(self, bidders, supply: float, ctr: np.ndarray) -> np.ndarray:
        """Generalised second-price auction for display impressions; each bidder's
        click-through is its own. Returns the impressions each bidder won."""
        bids = bidders.bids(ctr)
        budgets = bidders.budget_left(self.ledger, "display_ads")
        units, price = second_price_auction(bids, budgets, supply, self.model.p.reserve_cpm_usd / 1000)
        won = (units > 0).nonzero()[0]
        bought = units[won]
        self.ledger.book_many(bidders.account[won], PLATFORM, "display_ads", bought * price[won])
        clicks = bought * ctr[won]
        bidders.record(won, clicks, bought)
        self.ledger.tally.display_clicks += float(clicks.sum())
        return units

    def _sell_sponsored(self, bidders, eligible: np.ndarray) -> None:
        """One slot per eligible user today; winners' messages go through ``send``."""
        if len(eligible) == 0:
            return
        ctr = self.model.users.click_through("message", eligible)
        bids = bidders.bids(np.full(len(bidders), ctr))
        budgets = bidders.budget_left(self.ledger, "sponsored")
        units, price = second_price_auction(bids, budgets, len(eligible), self.model.p.reserve_cpm_usd / 1000)
        units = np.floor(units).astype(np.int64)
        winners = np.flatnonzero(units > 0)
        if not len(winners):
            return
        order = self.rng.choice(eligible, int(units.sum()), replace=False)  # in random order
        winner_of = np.repeat(winners, units[winners])
        got = self.send("sponsored", bidders.account[winner_of], order, price[winner_of])
        delivered = np.bincount(winner_of[got], minlength=len(bidders))[winners]
        bidders.record(winners, delivered * ctr, delivered)
        self.ledger.tally.sponsored_clicks += float(delivered.sum()) * ctr

    def close_day(self) -> None:
        """Senders' ratings and tiers follow the day's blocks."""
        self.ratings.end_day()

    # --- the day's columns ---------------------------------------------------------------
    def columns(self) -> dict[str, float]:
        """``senders_low_quality``: business senders rated low today."""
        return {"senders_low_quality": int(np.count_nonzero(self.ratings.low))}

