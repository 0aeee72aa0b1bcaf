"""The users' daily rules written a second time, the plain Mesa way: one agent per user.

This is the readable specification of ``agents.users.UserPopulation`` and the oracle it is
docked against (``tests/test_docking.py``): the same rules, user by user, in Python floats
and with Python's random numbers, with no vectorisation. A rule changed in one is changed
in the other in the same commit. ``docs/ODD.md`` gives the sources of each rule.

Users sit on the nodes of a Mesa ``Network`` space built from the same social graph.
Updates are synchronous, as in the vectorised engine: every user first reads her contacts'
states of the morning, then all commit.
"""

from __future__ import annotations

import math

import networkx as nx
import scipy.sparse as sp
from mesa.discrete_space import FixedAgent, Network

from agents.users import Rival, UserState


class ReferenceUser(FixedAgent):
    """One consumer: traits, state, and the day's rules for one person."""

    def __init__(self, model, cell, region: int):
        super().__init__(model)
        self.cell = cell
        p = model.p
        rnd = self.random
        self.region = region
        self.daily_active = rnd.betavariate(*_beta(p.daily_active_mean, 8.0))
        self.status_propensity = rnd.betavariate(*_beta(p.status_tab_share, 4.0))
        self.status_time = rnd.lognormvariate(-p.status_time_sigma**2 / 2, p.status_time_sigma)
        self.ad_tolerance = rnd.betavariate(*_beta(p.ad_tolerance_mean, 5.0))
        self.privacy_sensitivity = rnd.betavariate(*_beta(p.privacy_sensitivity_mean, 3.0))
        self.feature_appetite = rnd.betavariate(*_beta(p.feature_appetite_mean, 4.0))
        self.switching_cost = p.switching_cost_mean * rnd.lognormvariate(-0.5, 1.0)
        self.payment_propensity = rnd.expovariate(1.0)

        self.state = UserState.POTENTIAL
        self.rival = Rival.NONE
        self.promo_optin = rnd.random() < p.promo_optin_share
        self.data_optout = False
        self.payments_linked = rnd.random() < p.payments_adoption_initial
        self.annoyance = 0.0
        self.concern = 0.0
        self.peer_exposure = 0.0
        self.cap_weekday = rnd.randrange(7)
        self.marketing_week = 0
        self.contacts: list[ReferenceUser] = []
        self.active = self.status_visit = False
        self.display_seen = 0.0
        self.promo_today = 0

    @property
    def on_platform(self) -> bool:
        return self.state in (UserState.ACTIVE, UserState.MULTIHOMING)

    def reachable_on(self, rival: Rival) -> bool:
        return self.state in (UserState.MULTIHOMING, UserState.CHURNED) and self.rival == rival

    def share_of_contacts(self, condition) -> float:
        return sum(1 for c in self.contacts if condition(c)) / max(len(self.contacts), 1)

    # --- the day -------------------------------------------------------------------------
    def start_day(self) -> None:
        """Active with her daily-active chance, lowered linearly by annoyance; if active,
        opens the Updates tab with her Status propensity."""
        p = self.model.p
        self.display_seen, self.promo_today = 0.0, 0
        if self.model.steps % 7 == self.cap_weekday:
            self.marketing_week = 0
        if not self.on_platform:
            self.active = self.status_visit = False
            return
        engagement = min(max(1 - p.annoyance_engagement_slope * self.annoyance, 0.0), 1.0)
        if self.state == UserState.MULTIHOMING:
            engagement *= p.multihoming_activity_factor
        self.active = self.random.random() < self.daily_active * engagement
        self.status_visit = self.active and self.random.random() < self.status_propensity

    def receive_exposure(self, ads_per_visit: float, promo_chance: float, cap: int) -> None:
        """The docking world's stylised exposure (``model.docking.UserWorld``); a longer
        visit to the Updates tab shows more ads."""
        if self.status_visit:
            self.display_seen = ads_per_visit * self.status_time
        eligible = self.active and self.promo_optin and self.marketing_week < cap
        if eligible and self.random.random() < promo_chance:
            self.marketing_week += 1
            self.promo_today += 1

    def update_concern(self) -> None:
        """Annoyance decays and grows with ads seen; concern moves toward a target set by
        data sharing, media attention, contacts' concern and contacts on the privacy rival.
        Computed from the morning's values, committed by ``commit_concern``."""
        p = self.model.p
        self.annoyance = self.annoyance * (1 - p.annoyance_decay) + (1 - self.ad_tolerance) * (
            p.annoyance_per_ad * self.display_seen + p.annoyance_per_message * self.promo_today
        )
        expected = self.model.policy.expected_data_sharing  # mandatory during an ultimatum
        pressure = p.sharing_pressure if self.shares_data_under(expected) else 0.0
        peer_concern = sum(c.concern for c in self.contacts) / max(len(self.contacts), 1)
        on_privacy_rival = self.share_of_contacts(lambda c: c.reachable_on(Rival.PRIVACY))
        self._linked_share = self.share_of_contacts(lambda c: c.payments_linked)  # for settings
        target = (self.privacy_sensitivity * (pressure + self.model.population.media_attention)
                  + p.peer_concern_weight * peer_concern + p.switch_concern_weight * on_privacy_rival)
        self._next_concern = self.concern + p.concern_adjust_rate * (target - self.concern)

    def shares_data_under(self, mode: str) -> bool:
        """Whether her account data is shared under data-sharing ``mode`` (D1)."""
        return mode == "mandatory" or (mode == "opt_out" and not self.data_optout)

    def commit_concern(self) -> None:
        self.concern = self._next_concern

    def choose_settings(self) -> None:
        """Opt out of data sharing (only when users expect ``opt_out``, so not during an
        ultimatum), withdraw or give promotional opt-in, link a bank account (more likely the
        more contacts pay, as of the morning); concern holds back the last two."""
        p = self.model.p
        rnd = self.random
        if (self.model.policy.expected_data_sharing == "opt_out" and self.on_platform and not self.data_optout
                and self.concern > p.optout_threshold and rnd.random() < p.optout_rate):
            self.data_optout = True
            self.model.population.opted_out += 1
        unworried = 1 - min(self.concern, 1.0)
        if self.promo_optin:
            if self.promo_today > 0 and rnd.random() < p.promo_optout_rate * self.annoyance:
                self.promo_optin = False
        elif self.active and rnd.random() < p.promo_optin_rate * max(1 - self.annoyance, 0.0) * unworried:
            self.promo_optin = True
        adoption = p.payment_adoption_rate * self.payment_propensity * unworried
        adopt = rnd.random() < adoption * (1 + p.payment_peer_weight * self._linked_share)
        if self.active and not self.payments_linked and adopt:
            self.payments_linked = True

    def decide(self) -> None:
        """Leave, start or stop multi-homing, or return, from the morning's contacts; on an
        outage day an active user has an extra chance to install a rival."""
        p = self.model.p
        only_here = self.share_of_contacts(lambda c: c.state == UserState.ACTIVE)
        on_privacy = self.share_of_contacts(lambda c: c.reachable_on(Rival.PRIVACY))
        on_feature = self.share_of_contacts(lambda c: c.reachable_on(Rival.FEATURE))
        self._next = (self.state, self.rival)
        u = self.random.random()

        if self.state == UserState.CHURNED:
            if u < p.return_per_year / 365 * only_here:
                self._next = (UserState.ACTIVE, Rival.NONE)
            return
        if not self.on_platform:
            return

        lockin = self.switching_cost * only_here
        if self.state == UserState.MULTIHOMING:
            lockin *= p.multihoming_lockin_factor
        h_ads = p.ad_churn_slope * self.annoyance
        h_privacy = p.privacy_churn_slope * max(self.concern - lockin, 0.0)
        multiplier = min(p.peer_churn_multiplier ** self.peer_exposure, p.peer_multiplier_cap)
        h_peers = (h_ads + h_privacy) * (multiplier - 1)
        p_leave = p.baseline_churn_per_year / 365 + h_ads + h_privacy + h_peers
        pull_privacy = self.concern * (p.rival_privacy_reach + on_privacy)
        pull_feature = self.feature_appetite * (p.rival_feature_reach + on_feature)

        if self.state == UserState.ACTIVE:
            p_switch = p.multihoming_rate * (pull_privacy + pull_feature)
            if self.active:
                p_switch += self.model.population.outage_install_chance
        else:
            own = on_privacy if self.rival == Rival.PRIVACY else on_feature
            p_switch = p.multihoming_drop_per_year / 365 * (1 - own)

        if u < p_leave:
            rival = self.rival if self.state == UserState.MULTIHOMING else self._pick_rival(
                pull_privacy, pull_feature)
            self._next = (UserState.CHURNED, rival)
            self.model.population.record_churn(h_ads / p_leave, h_privacy / p_leave, h_peers / p_leave)
        elif u < p_leave + p_switch:
            if self.state == UserState.ACTIVE:
                self._next = (UserState.MULTIHOMING, self._pick_rival(pull_privacy, pull_feature))
            else:
                self._next = (UserState.ACTIVE, Rival.NONE)

    def _pick_rival(self, pull_privacy: float, pull_feature: float) -> Rival:
        """A rival in proportion to its pull; an unconcerned user never picks the privacy one."""
        total = pull_privacy + pull_feature
        return Rival.PRIVACY if self.random.random() * total < pull_privacy else Rival.FEATURE

    def commit_state(self) -> None:
        state, rival = self._next
        if state == self.state and rival == self.rival:
            return
        tally = self.model.population
        if state == UserState.CHURNED:
            tally.leavers.append(self)
        elif self.state == UserState.CHURNED:
            tally.returned += 1
            self.annoyance = 0.0
        elif state == UserState.MULTIHOMING:
            tally.started_multihoming += 1
        else:
            tally.stopped_multihoming += 1
        if self.state == UserState.ACTIVE and rival != Rival.NONE:
            tally.rival_signups[rival] += 1
        self.state, self.rival = state, rival

    def forget_departures(self) -> None:
        self.peer_exposure *= math.exp(-1 / self.model.p.peer_memory_days)


class ReferencePopulation:
    """All reference users, the day's order of their rules, and the day's tally."""

    def __init__(self, model, graph: sp.csr_array, region, n_initial: int):
        self.model = model
        space = network_space(graph, model.random)
        self.users = [ReferenceUser(model, space[i], int(region[i])) for i in range(len(region))]
        for user in self.users:
            user.contacts = [a for cell in user.cell.connections.values() for a in cell.agents]
        order = list(range(len(self.users)))
        model.random.shuffle(order)
        for i in order[:n_initial]:
            self.users[i].state = UserState.ACTIVE
        self._pool = [self.users[i] for i in order[n_initial:]]
        self.agents = model.agents_by_type[ReferenceUser]
        self.media_attention = 0.0
        self.outage_install_chance = 0.0

    def day(self, ads_per_visit: float, promo_chance: float) -> dict[str, float]:
        p = self.model.p
        self.opted_out = self.returned = self.started_multihoming = self.stopped_multihoming = 0
        self.churn = {"ads": 0.0, "privacy": 0.0, "peers": 0.0}
        self.rival_signups = dict.fromkeys((Rival.PRIVACY, Rival.FEATURE), 0)
        self.leavers: list[ReferenceUser] = []

        self.agents.do("start_day")
        self.agents.do("receive_exposure", ads_per_visit, promo_chance, p.marketing_cap_per_week)
        self.agents.do("update_concern")
        self.agents.do("commit_concern")
        self.media_attention *= 1 - p.media_decay
        self.agents.do("choose_settings")
        self.agents.do("decide")
        self.agents.do("commit_state")
        self.agents.do("forget_departures")
        for leaver in self.leavers:
            for contact in leaver.contacts:
                contact.peer_exposure += 1
        return self._summary(self._join())

    def lose_opt_outs(self) -> None:
        """Mandatory sharing: no opt-out stands any more."""
        for user in self.users:
            user.data_optout = False

    def record_churn(self, ads: float, privacy: float, peers: float) -> None:
        """A leaver's churn split over causes by their shares of her daily chance."""
        self.churn["ads"] += ads
        self.churn["privacy"] += privacy
        self.churn["peers"] += peers

    def _join(self) -> int:
        p = self.model.p
        k = min(int(self.model.rng.poisson(p.n_users * p.user_growth_per_year / 365)), len(self._pool))
        for user in self._pool[:k]:
            user.state = UserState.ACTIVE
        self._pool = self._pool[k:]
        return k

    def _summary(self, joined: int) -> dict[str, float]:
        on = [u for u in self.users if u.on_platform]
        n_on = max(len(on), 1)
        churned = len(self.leavers)
        return {
            "users_active": len(on),
            "users_daily_active": sum(u.active for u in self.users),
            "users_multihoming": sum(u.state == UserState.MULTIHOMING for u in on),
            "users_on_rival_privacy": sum(u.rival == Rival.PRIVACY for u in self.users),
            "users_on_rival_feature": sum(u.rival == Rival.FEATURE for u in self.users),
            "churn_today": churned,
            "churn_ads": self.churn["ads"],
            "churn_privacy": self.churn["privacy"],
            "churn_peers": self.churn["peers"],
            "churn_other": churned - sum(self.churn.values()),
            "returned_today": self.returned,
            "users_joined": joined,
            "multihoming_started": self.started_multihoming,
            "multihoming_stopped": self.stopped_multihoming,
            "rival_signups_privacy": self.rival_signups[Rival.PRIVACY],
            "rival_signups_feature": self.rival_signups[Rival.FEATURE],
            "opt_outs_today": self.opted_out,
            "share_data_optout": sum(u.data_optout for u in on) / n_on,
            "share_promo_optin": sum(u.promo_optin for u in on) / n_on,
            "share_payments_linked": sum(u.payments_linked for u in on) / n_on,
            "mean_concern": sum(u.concern for u in on) / n_on,
            "mean_annoyance": sum(u.annoyance for u in on) / n_on,
        }


def _beta(mean: float, concentration: float) -> tuple[float, float]:
    return mean * concentration, (1 - mean) * concentration


def network_space(graph: sp.csr_array, random) -> Network:
    """A Mesa ``Network`` space with one cell per node of the scipy graph."""
    return Network(nx.from_scipy_sparse_array(graph), random=random, layout=None)
