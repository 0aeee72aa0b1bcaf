"""The platform: routes and bills every message and ad impression.

Businesses and advertisers never touch users or money directly: they hand the platform a
typed send (sender, category, recipients) or a bid, and the platform applies the rules
(on-platform recipients only, promotional opt-in, per-user weekly caps), delivers, and books
the fee in the ledger (ABIDES-style kernel, STYLE.md). Anti-spam and billing are therefore
one mechanism.
"""

from __future__ import annotations

import numpy as np

from model.auction import second_price_auction
from model.ledger import Ledger
from model.params import PARAMS, REGIONS
from model.sampling import members

TEMPLATE_CATEGORIES = ("marketing", "utility", "authentication", "service")
PROMOTIONAL = ("marketing", "sponsored")
MESSAGE_CATEGORIES = (*TEMPLATE_CATEGORIES, "sponsored")


class Platform:
    """Policy levers, rate card, routing and the ad auctions."""

    def __init__(self, model, ledger: Ledger):
        self.model = model
        self.ledger = ledger
        p = model.p
        self.rate_card = {
            cat: np.array([getattr(p, f"price_{cat}_{r}_usd") for r in REGIONS])
            for cat in ("marketing", "utility", "authentication")
        }
        self.rate_card["service"] = np.full(len(REGIONS), p.price_service_usd)
        self.ad_price_index = np.array([1.0, p.ad_price_index_br, p.ad_price_index_eu])
        self.marketing_volume_factor = np.minimum(
            self._price_response("marketing", p.marketing_price_elasticity), 1 / max(p.marketing_rate, 1e-9))
        self.share_kept_on_whatsapp = {
            "utility": np.minimum(self._price_response("utility", p.utility_price_elasticity), 1.0),
            "authentication": np.minimum(
                self._price_response("authentication", p.authentication_price_elasticity), 1.0),
        }
        # share of linked buyers' order value paid in the chat: 1 up to the default merchant
        # fee, falling with a dearer fee as merchants steer buyers to fee-free rails
        fee_ratio = p.merchant_fee_rate / PARAMS["merchant_fee_rate"].default
        self.in_chat_share = min(1.0, fee_ratio ** -p.merchant_fee_elasticity) if fee_ratio > 0 else 1.0
        self.open_day()

    def _price_response(self, category: str, elasticity: float) -> np.ndarray:
        """(price / default price) ^ -elasticity in each region: the volume of a template
        category relative to today's rate card."""
        default = np.array([PARAMS[f"price_{category}_{r}_usd"].default for r in REGIONS])
        with np.errstate(divide="ignore"):
            return (self.rate_card[category] / default) ** -elasticity

    def open_day(self) -> None:
        """Reset today's traffic counters; prices and levers hold for the whole day."""
        self.sent = dict.fromkeys(MESSAGE_CATEGORIES, 0)
        self.impressions = {"personalised": 0.0, "contextual": 0.0}
        self.clicks = {"display": 0.0, "sponsored": 0.0}
        self.clicks_to_chat = 0
        self.paid_to_creators = 0.0
        self.blocks = 0
        self.over_limit = 0
        self.free_utility = 0

    # --- messages ------------------------------------------------------------------------
    def send(self, sender, category: str, recipients: np.ndarray,
             unit_price: float | None = None) -> np.ndarray:
        """Deliver ``category`` messages to those ``recipients`` the rules allow; bill them.

        Template messages are billed at the rate card of each recipient's region;
        sponsored messages at the ``unit_price`` their auction set. ``recipients`` must be
        distinct (one message each). Returns who got one.
        """
        users = self.model.users
        to = recipients[users.on_platform[recipients]]
        if category in PROMOTIONAL:
            week = users.marketing_week if category == "marketing" else users.sponsored_week
            cap = (self.model.p.marketing_cap_per_week if category == "marketing"
                   else self.model.p.sponsored_cap_per_week)
            to = to[users.promo_optin[to] & (week[to] < cap)]
            if category == "marketing":
                to = self._within_quality_limit(sender, to)
            week[to] += 1
            users.promo_today[to] += 1
        if category == "marketing":
            self._blocks(sender, to)
        if category in self.share_kept_on_whatsapp and unit_price is None:
            to = self._kept_on_whatsapp(category, to)
        if unit_price is None:
            cost = float(self.rate_card[category][users.region[to]].sum())
        else:
            cost = unit_price * len(to)
        self.charge(sender, category, cost)
        self.sent[category] += len(to)
        return to

    def _kept_on_whatsapp(self, category: str, to: np.ndarray) -> np.ndarray:
        """At a dearer rate card than the default, senders move a share of their paid
        utility and authentication messages to SMS or e-mail (the ``*_price_elasticity``);
        a cheaper one adds none, as the firm's events set the volume (assumption)."""
        share = self.share_kept_on_whatsapp[category]
        if share.min() >= 1.0:
            return to
        users = self.model.users
        return to[users.user_rng.random(len(to)) < share[users.region[to]]]

    def _within_quality_limit(self, sender, to: np.ndarray) -> np.ndarray:
        """Marketing skips users who blocked the sender and stops at its tier's daily limit
        on deliveries (A1; cal §1.3, §7.3)."""
        to = to[~members(to, sender.blocked)]
        limit = sender.quality.daily_limit(len(sender.customers))
        if len(to) > limit:
            self.over_limit += len(to) - int(limit)
            to = np.sort(self.model.users.user_rng.choice(to, int(limit), replace=False))
        return to

    def _blocks(self, sender, to: np.ndarray) -> None:
        """Annoyed recipients block or report the sender w.p. ``block_per_annoyance`` x
        annoyance; the sender's quality rating counts them."""
        users = self.model.users
        chance = np.float32(self.model.p.block_per_annoyance) * users.annoyance[to]
        blockers = to[users.user_rng.random(len(to), dtype=np.float32) < chance]
        sender.quality.record(len(to), len(blockers))
        if len(blockers):
            sender.blocked = np.union1d(sender.blocked, blockers)
        self.blocks += len(blockers)

    def charge(self, payer, stream: str, amount_usd: float) -> None:
        """Book a fee from an organisation and keep its own spend account in step."""
        self.ledger.book(payer.unique_id, stream, amount_usd)
        payer.spent += amount_usd

    # --- click-to-chat ads (A3) -----------------------------------------------------------
    def price_click_to_chat(self, buyers) -> None:
        """Today's cost per click in each region: the reserve, or the uniform price at which
        the firms' budgets just buy the click inventory (``ctwa_clicks_per_user_day`` per
        active user), whichever is higher. Rising prices cap the firms' returns."""
        p = self.model.p
        users = self.model.users
        budget = np.zeros(len(REGIONS))
        for firm in buyers:
            budget[firm.region] += firm.ad_budget_usd
        reserve = p.ctwa_cpc_usd * self.ad_price_index
        supply = np.array([len(users.active_in_region(r)) for r in range(len(REGIONS))])
        clearing = budget / np.maximum(supply * p.ctwa_clicks_per_user_day, 1e-9)
        self.click_to_chat_price = np.maximum(reserve, clearing)

    # --- ad auctions (A1, A2) ------------------------------------------------------------
    def run_ad_auctions(self, advertisers) -> None:
        """Sell today's display (Status) impressions and sponsored-message slots by region;
        then brands' influencer posts reach the same tab.
        A visit holds ``ad_load x status_items_per_visit`` slots times the viewer's relative
        time in the tab."""
        if not len(advertisers):
            return
        users = self.model.users
        p = self.model.p
        personal = users.personalisable
        for r in range(len(REGIONS)):
            bidders = [a for a in advertisers if a.region == r]
            if not bidders:
                continue
            span = users.region_span[r]
            visits = users.status_visit[span]
            self._sell_personalised(bidders, span.start + np.flatnonzero(visits & personal[span]))
            self._sell_contextual(bidders, span.start + np.flatnonzero(visits & ~personal[span]))
            self._show_influencer_posts(bidders, span.start + np.flatnonzero(visits), r)
            eligible = span.start + np.flatnonzero(
                users.active_today[span] & users.promo_optin[span]
                & (users.sponsored_week[span] < p.sponsored_cap_per_week)
            )
            self._sell_sponsored(bidders, eligible, p)

    def _sell_personalised(self, bidders, viewers: np.ndarray) -> None:
        """Interest by interest: an advertiser whose target interest matches the viewer's
        gets the personalised click-through, the others the contextual one (D1: matching
        needs account data)."""
        users = self.model.users
        p = self.model.p
        slots = p.ad_load * p.status_items_per_visit
        targets = np.array([a.target_interest for a in bidders])
        interest = users.interest[viewers]
        time = users.status_time[viewers]
        supply = slots * np.bincount(interest, weights=time, minlength=p.n_interests)
        fill = np.zeros(p.n_interests)
        for k in np.flatnonzero(supply > 0):
            ctr = np.where(targets == k, p.ctr_personalised, p.ctr_contextual)
            sold = self._auction(bidders, "display_ads", supply[k], ctr, p.reserve_cpm_usd / 1000)
            fill[k] = sold / supply[k]
            self.impressions["personalised"] += sold
        users.display_seen[viewers] = slots * fill[interest] * time

    def _sell_contextual(self, bidders, viewers: np.ndarray) -> None:
        """One auction for the region's untargeted impressions."""
        users = self.model.users
        p = self.model.p
        time = users.status_time[viewers]
        supply = p.ad_load * p.status_items_per_visit * float(time.sum())
        ctr = np.full(len(bidders), p.ctr_contextual)
        sold = self._auction(bidders, "display_ads", supply, ctr, p.reserve_cpm_usd / 1000)
        if supply > 0:
            users.display_seen[viewers] = p.ad_load * p.status_items_per_visit * sold / supply * time
        self.impressions["contextual"] += sold

    def _show_influencer_posts(self, bidders, visitors: np.ndarray, region: int) -> None:
        """Brands' sponsored posts by creators in Channels (G1): the creators are paid, not
        the platform (assumption: its only reported take from Channels is on subscriptions,
        cal §8). The posts bought at ``influencer_cpm_usd`` (x the price index) are seen by
        the tab's visitors in proportion to their time there and annoy at
        ``influencer_annoyance_weight`` of an ad (native content, cal §6.5: quality matters)."""
        spend = sum(a.pay_creators() for a in bidders if a.influencer_share > 0)
        self.paid_to_creators += spend  # paid whether or not anyone visits the tab today
        if spend <= 0 or len(visitors) == 0:
            return
        users = self.model.users
        p = self.model.p
        posts = spend / (p.influencer_cpm_usd / 1000 * self.ad_price_index[region])
        time = users.status_time[visitors]
        users.display_seen[visitors] += np.float32(p.influencer_annoyance_weight * posts / time.sum()) * time

    def _auction(self, bidders, stream: str, supply: float, ctr: np.ndarray, reserve: float) -> float:
        """Generalised second-price auction; each bidder's click-through is its own."""
        bids = np.array([a.bid(c) for a, c in zip(bidders, ctr, strict=True)])
        budgets = np.array([a.budget_left(stream) for a in bidders])
        units, price = second_price_auction(bids, budgets, supply, reserve)
        for a, q, unit_price, c in zip(bidders, units, price, ctr, strict=True):
            if q > 0:
                self.charge(a, stream, q * unit_price)
                a.record(stream, q * unit_price, q * c, q)
                self.clicks["display"] += q * c
        return float(units.sum())

    def _sell_sponsored(self, bidders, eligible: np.ndarray, p) -> None:
        """One slot per eligible user today; winners' messages go through ``send``."""
        if len(eligible) == 0:
            return
        ctr = p.ctr_sponsored
        bids = np.array([a.bid(ctr) for a in bidders])
        budgets = np.array([a.budget_left("sponsored") for a in bidders])
        units, price = second_price_auction(bids, budgets, len(eligible), p.reserve_cpm_usd / 1000)
        units = np.floor(units).astype(int)
        order = self.model.users.user_rng.permutation(eligible)
        start = 0
        for a, q, unit_price in zip(bidders, units, price, strict=True):
            if q <= 0:
                continue
            got = self.send(a, "sponsored", order[start:start + q], unit_price=unit_price)
            start += q
            a.record("sponsored", unit_price * len(got), len(got) * ctr, len(got))
            self.clicks["sponsored"] += len(got) * ctr
