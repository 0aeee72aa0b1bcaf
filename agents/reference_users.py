"""The users' daily rules written a second time, the plain Mesa way: one agent per user.

This is the readable specification of ``agents.users.UserPopulation`` and the oracle it is
docked against (``tests/test_docking.py``): the same rules, user by user, in Python floats
and with Python's random numbers, with no vectorisation. A rule changed in one is changed
in the other in the same commit. ``docs/ODD.md`` gives the sources of each rule.

Users sit on the nodes of a Mesa ``Network`` space built from the same social graph.
Updates are synchronous, as in the vectorised engine: every user first reads her contacts'
states of the morning, then all commit. Traits are drawn from the same table
(``agents.traits.TRAITS``), one user at a time; the day's exposure is the same typed record
(``model.exposure.Exposure``), of which user ``i`` reads entry ``i``.

Blocks are not restated here: blocking or reporting a sender changes no user's state (only
the sender's quality rating and block list, which the platform keeps), so no outcome of the
users depends on it. The vectorised rule (``agents.users.block_draws``) is tested alone.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import scipy.sparse as sp
from mesa.discrete_space import FixedAgent, Network

from agents.traits import INITIAL_SETTINGS, draw_user_traits
from agents.users import RIVALS, Rival, UserState
from model.attention import MediaAttention
from model.exposure import Exposure


class ReferenceUser(FixedAgent):
    """One consumer: traits, state, and the day's rules for one person."""

    def __init__(self, model, cell, index: int, region: int):
        super().__init__(model)
        self.cell = cell
        self.index = index  # her entry in the day's exposure record
        p = model.p
        self.region = region
        for name, value in draw_user_traits(p, self.random).items():  # daily_active, ... interest
            setattr(self, name, value)

        self.state = UserState.POTENTIAL
        self.rival = Rival.NONE
        settings = draw_user_traits(p, self.random, INITIAL_SETTINGS)
        self.promo_optin = settings["promo_optin"]
        self.data_optout = False
        self.payments_linked = settings["payments_linked"]
        self.annoyance = 0.0
        self.concern = 0.0
        self.peer_exposure = 0.0
        self.responsiveness = 1.0
        self.recent_installs = dict.fromkeys(RIVALS, 0.0)  # contacts' recent installs, by rival
        self.contacts: list[ReferenceUser] = []
        self.active = self.status_visit = False

    @property
    def on_platform(self) -> bool:
        return self.state in (UserState.ACTIVE, UserState.MULTIHOMING)

    def reachable_on(self, rival: Rival) -> bool:
        return self.state in (UserState.MULTIHOMING, UserState.CHURNED) and self.rival == rival

    @property
    def joined_contacts(self) -> list[ReferenceUser]:
        """Contacts who have joined (here, on a rival or gone): people still in the pool
        message nobody yet, so they count in no share."""
        return [c for c in self.contacts if c.state != UserState.POTENTIAL]

    def share_of_contacts(self, condition) -> float:
        joined = self.joined_contacts
        return sum(1 for c in joined if condition(c)) / max(len(joined), 1)

    def recent_install_share(self, rival: Rival) -> float:
        return self.recent_installs[rival] / max(len(self.joined_contacts), 1)

    # --- the day -------------------------------------------------------------------------
    def start_day(self) -> None:
        """Active with her daily-active chance, lowered linearly by annoyance; if active,
        opens the Updates tab with her Status propensity."""
        p = self.model.p
        if not self.on_platform:
            self.active = self.status_visit = False
            return
        engagement = min(max(1 - p.annoyance_engagement_slope * self.annoyance, 0.0), 1.0)
        if self.state == UserState.MULTIHOMING:
            engagement *= p.multihoming_activity_factor
        self.active = self.random.random() < self.daily_active * engagement
        self.status_visit = self.active and self.random.random() < self.status_propensity

    def update_concern(self, exposure: Exposure) -> None:
        """Annoyance decays and grows with today's exposure: display ads, creators' sponsored
        posts (each ``influencer_annoyance_weight`` of an ad) and promotional messages;
        responsiveness to ads falls with each ad seen (less for a relevant one) and recovers;
        concern moves toward a target set by data sharing, media attention, contacts' concern
        and contacts' recent installs of the privacy rival. Computed from the morning's
        values, committed by ``commit_concern``."""
        p = self.model.p
        i = self.index
        display = float(exposure.display_ads[i])
        relevant = float(exposure.relevant_ads[i])
        taught = p.ad_blindness_rate * (display - relevant + p.relevant_ad_blindness_weight * relevant)
        self._next_responsiveness = (self.responsiveness * max(1 - taught, 0.0)
                                     + p.ad_blindness_recovery * (1 - self.responsiveness))
        ads = display + p.influencer_annoyance_weight * float(exposure.influencer_posts[i])
        self.annoyance = self.annoyance * (1 - p.annoyance_decay) + (1 - self.ad_tolerance) * (
            p.annoyance_per_ad * ads + p.annoyance_per_message * int(exposure.promo_messages[i])
        )
        expected = self.model.policy.expected_data_sharing  # mandatory during an ultimatum
        pressure = p.sharing_pressure if self.shares_data_under(expected) else 0.0
        joined = self.joined_contacts
        peer_concern = sum(c.concern for c in joined) / max(len(joined), 1)
        privacy_switchers = self.recent_install_share(Rival.PRIVACY)
        self._linked_share = self.share_of_contacts(lambda c: c.payments_linked)  # for settings
        target = (self.privacy_sensitivity * (pressure + self.model.population.attention.level)
                  + p.peer_concern_weight * peer_concern + p.switch_concern_weight * privacy_switchers)
        self._next_concern = self.concern + p.concern_adjust_rate * (target - self.concern)

    def shares_data_under(self, mode: str) -> bool:
        """Whether her account data is shared under data-sharing ``mode`` (D1)."""
        return mode == "mandatory" or (mode == "opt_out" and not self.data_optout)

    def commit_concern(self) -> None:
        self.concern = self._next_concern
        self.responsiveness = self._next_responsiveness

    def choose_settings(self, exposure: Exposure) -> None:
        """Opt out of data sharing (only when users expect ``opt_out``, so not during an
        ultimatum), withdraw promotional opt-in (if she got a promotional message today) or
        give it, link a bank account (more likely the more contacts pay, as of the morning);
        concern holds back the last two."""
        p = self.model.p
        rnd = self.random
        if (self.model.policy.expected_data_sharing == "opt_out" and self.on_platform and not self.data_optout
                and self.concern > p.optout_threshold and rnd.random() < p.optout_rate):
            self.data_optout = True
            self.model.population.opted_out += 1
        unworried = 1 - min(self.concern, 1.0)
        if self.promo_optin:
            promoted = exposure.promo_messages[self.index] > 0
            if promoted and rnd.random() < p.promo_optout_rate * self.annoyance:
                self.promo_optin = False
        elif self.active and rnd.random() < p.promo_optin_rate * max(1 - self.annoyance, 0.0) * unworried:
            self.promo_optin = True
        room = float(self.model.payment_rails.room[self.region])
        adoption = p.payment_adoption_rate * self.payment_propensity * unworried * room
        adopt = rnd.random() < adoption * (1 + p.payment_peer_weight * self._linked_share)
        if self.active and not self.payments_linked and adopt:
            self.payments_linked = True

    def decide(self) -> None:
        """Leave, start or stop multi-homing, or return, from the morning's contacts. Privacy
        departures weigh by how salient privacy is today; a rival pulls by concern or feature
        appetite (its reach plus contacts on it), by news (attention times her trait for it)
        and by a bandwagon (contacts' recent installs at or above her threshold); on an outage
        day an active user has an extra chance to install one."""
        p = self.model.p
        attention = self.model.population.attention.level
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
        salience = p.privacy_salience_calm + (1 - p.privacy_salience_calm) * min(attention, 1.0)
        h_privacy = p.privacy_churn_slope * salience * max(self.concern - lockin, 0.0)
        multiplier = min(p.peer_churn_multiplier ** self.peer_exposure, p.peer_multiplier_cap)
        h_peers = (h_ads + h_privacy) * (multiplier - 1)
        p_leave = p.baseline_churn_per_year / 365 + h_ads + h_privacy + h_peers
        news = p.attention_install_rate * attention
        threshold = self.adoption_threshold
        pull_privacy = (p.multihoming_rate * self.concern * (p.rival_privacy_reach + on_privacy)
                        + news * self.privacy_sensitivity
                        + p.bandwagon_rate * (self.recent_install_share(Rival.PRIVACY) >= threshold))
        pull_feature = (p.multihoming_rate * self.feature_appetite * (p.rival_feature_reach + on_feature)
                        + news * self.feature_appetite
                        + p.bandwagon_rate * (self.recent_install_share(Rival.FEATURE) >= threshold))

        if self.state == UserState.ACTIVE:
            p_switch = pull_privacy + pull_feature
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
        """A rival in proportion to its pull; without any pull to the privacy one, never it."""
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
            tally.installers.append((self, rival))
        self.state, self.rival = state, rival

    def forget(self) -> None:
        """Contacts' departures and installs fade from memory."""
        p = self.model.p
        self.peer_exposure *= math.exp(-1 / p.peer_memory_days)
        for rival in RIVALS:
            self.recent_installs[rival] *= math.exp(-1 / p.bandwagon_memory_days)


class ReferencePopulation:
    """All reference users, the day's order of their rules, and the day's tally. The day
    runs as the vectorised population's: ``start_day``, ``react`` to the exposure, ``decide``,
    then ``columns``."""

    def __init__(self, model, graph: sp.csr_array, region, n_initial: int):
        self.model = model
        space = network_space(graph, model.random)
        self.users = [ReferenceUser(model, space[i], i, int(region[i])) for i in range(len(region))]
        for user in self.users:
            user.contacts = [a for cell in user.cell.connections.values() for a in cell.agents]
        order = list(range(len(self.users)))
        model.random.shuffle(order)
        for i in order[:n_initial]:
            self.users[i].state = UserState.ACTIVE
        self._pool = [self.users[i] for i in order[n_initial:]]
        self.agents = model.agents_by_type[ReferenceUser]
        self.attention = MediaAttention(model.p)
        self.outage_install_chance = 0.0

    # --- what the exposure is filled from, as arrays over users -----------------------------
    @property
    def active_today(self) -> np.ndarray:
        return np.array([u.active for u in self.users], dtype=bool)

    @property
    def status_visit(self) -> np.ndarray:
        return np.array([u.status_visit for u in self.users], dtype=bool)

    @property
    def status_time(self) -> np.ndarray:
        return np.array([u.status_time for u in self.users], dtype=np.float32)

    @property
    def promo_optin(self) -> np.ndarray:
        return np.array([u.promo_optin for u in self.users], dtype=bool)

    # --- the day -------------------------------------------------------------------------
    def start_day(self) -> None:
        self.opted_out = self.returned = self.started_multihoming = self.stopped_multihoming = 0
        self.churn = {"ads": 0.0, "privacy": 0.0, "peers": 0.0}
        self.rival_signups = dict.fromkeys((Rival.PRIVACY, Rival.FEATURE), 0)
        self.leavers: list[ReferenceUser] = []
        self.installers: list[tuple[ReferenceUser, Rival]] = []  # newcomers to a rival today
        self.agents.do("start_day")

    def react(self, exposure: Exposure) -> None:
        self.agents.do("update_concern", exposure)
        self.agents.do("commit_concern")
        self.agents.do("choose_settings", exposure)

    def decide(self) -> None:
        self.agents.do("decide")
        self.agents.do("commit_state")
        self.agents.do("forget")
        for leaver in self.leavers:
            for contact in leaver.contacts:
                contact.peer_exposure += 1
        for installer, rival in self.installers:
            for contact in installer.contacts:
                contact.recent_installs[rival] += 1
        self.joined = self._join()
        self.attention.decay()

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
        dip = math.exp(-p.join_attention_dip * self.attention.level)
        expected = p.n_users * p.user_growth_per_year / 365 * dip
        k = min(int(self.model.rng.poisson(expected)), len(self._pool))
        for user in self._pool[:k]:
            user.state = UserState.ACTIVE
        self._pool = self._pool[k:]
        return k

    def columns(self) -> dict[str, float]:
        """The day's outcomes, with the meanings of ``UserPopulation.columns``."""
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
            "users_joined": self.joined,
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
            "mean_ad_responsiveness": sum(u.responsiveness for u in on) / n_on,
        }


def network_space(graph: sp.csr_array, random) -> Network:
    """A Mesa ``Network`` space with one cell per node of the scipy graph."""
    return Network(nx.from_scipy_sparse_array(graph), random=random, layout=None)
