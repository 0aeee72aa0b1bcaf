"""Users: every consumer is an individual, updated all at once over numpy arrays.

One ``UserPopulation`` agent holds the traits and states of all users (RecSim-style
population entity). Each rule is a vectorised function of those arrays; ``docs/ODD.md``
gives each rule with its source. ``population[i]`` shows one user.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import mesa
import numpy as np
import scipy.sparse as sp


class UserState(IntEnum):
    POTENTIAL = 0  # in the reachable pool, not yet joined
    ACTIVE = 1  # on the platform only
    MULTIHOMING = 2  # on the platform and on a rival app
    CHURNED = 3  # left for a rival


@dataclass
class DayOutcome:
    """What the users did today, for the day's metrics."""

    churned: int = 0
    churn_ads: float = 0.0
    churn_privacy: float = 0.0
    churn_peers: float = 0.0
    churn_other: float = 0.0
    returned: int = 0
    joined: int = 0
    started_multihoming: int = 0
    opted_out: int = 0


def beta_with_mean(mean: float, concentration: float, size: int, rng) -> np.ndarray:
    """Beta draws with the given mean; ``concentration`` = a + b sets the spread."""
    return rng.beta(mean * concentration, (1 - mean) * concentration, size).astype(np.float32)


def churn_hazard(annoyance, concern, switching_cost, peer_exposure, p):
    """Daily churn hazards beyond calm attrition, by cause: (ads, privacy, peers).

    Calm attrition is peer-independent (Karsai 2014, cal §6.1); the ad (I1) and
    privacy (I2) hazards are multiplied by ``peer_churn_multiplier`` per recently departed
    contact, capped (Nitzan & Libai 2011; Dasgupta 2008). Privacy only counts above the
    user's switching cost (privacy paradox, cal §6.4).
    """
    h_ads = np.float32(p.ad_churn_slope) * annoyance
    h_privacy = np.float32(p.privacy_churn_slope) * np.maximum(concern - switching_cost, 0)
    multiplier = np.minimum(
        np.exp(np.float32(np.log(p.peer_churn_multiplier)) * peer_exposure),
        np.float32(p.peer_multiplier_cap),
    )
    h_peers = (h_ads + h_privacy) * (multiplier - 1)
    return h_ads, h_privacy, h_peers


class UserPopulation(mesa.Agent):
    """All users of the platform, vectorised; one Mesa agent for the whole population."""

    def __init__(self, model, graph: sp.csr_array, region: np.ndarray, n_initial: int, rng):
        super().__init__(model)
        p = model.p
        self.user_rng = rng
        self.graph = graph
        self.region = region
        n = len(region)
        self.degree = np.maximum(np.diff(graph.indptr), 1).astype(np.float32)

        # traits
        self.daily_active = beta_with_mean(p.daily_active_mean, 8.0, n, rng)
        self.status_propensity = beta_with_mean(p.status_tab_share, 4.0, n, rng)
        self.ad_tolerance = beta_with_mean(p.ad_tolerance_mean, 5.0, n, rng)
        self.privacy_sensitivity = beta_with_mean(p.privacy_sensitivity_mean, 3.0, n, rng)
        self.switching_cost = (
            p.switching_cost_mean * rng.lognormal(-0.5, 1.0, n)  # lognormal with mean 1
        ).astype(np.float32)
        self.sticker_propensity = rng.exponential(1.0, n).astype(np.float32)

        # state
        self.state = np.zeros(n, dtype=np.int8)
        first = rng.permutation(n)
        self.state[first[:n_initial]] = UserState.ACTIVE
        self._pool = first[n_initial:]
        self._sync_on_platform()
        self._joined = 0
        self.promo_optin = rng.random(n) < p.promo_optin_share
        self.data_optout = np.zeros(n, dtype=bool)
        self.payments_linked = rng.random(n) < p.payments_adoption_initial
        self.annoyance = np.zeros(n, dtype=np.float32)
        self.concern = np.zeros(n, dtype=np.float32)
        self.peer_exposure = np.zeros(n, dtype=np.float32)
        self.media_attention = 0.0

        # today's exposure, filled by the platform
        self.active_today = np.zeros(n, dtype=bool)
        self._active_by_region: dict[int, np.ndarray] = {}
        self.status_visit = np.zeros(n, dtype=bool)
        self.display_seen = np.zeros(n, dtype=np.float32)
        self.promo_today = np.zeros(n, dtype=np.int16)
        self.week_phase = self.user_rng.integers(0, 7, n, dtype=np.int8)
        self.sponsored_week = np.zeros(n, dtype=np.int16)
        self.marketing_week = np.zeros(n, dtype=np.int16)
        self.ever_joined = n_initial
        self.churned_total = 0
        self.returned_total = 0

    # --- views ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.state)

    def __getitem__(self, i: int) -> dict:
        """One user's traits and state, for inspection."""
        fields = ("region", "state", "daily_active", "status_propensity", "ad_tolerance",
                  "privacy_sensitivity", "switching_cost", "promo_optin", "data_optout",
                  "payments_linked", "annoyance", "concern", "peer_exposure")
        user = {f: getattr(self, f)[i].item() for f in fields}
        user["state"] = UserState(user["state"]).name.lower()
        user["contacts"] = self.graph.indices[self.graph.indptr[i]:self.graph.indptr[i + 1]]
        return user

    def _sync_on_platform(self) -> None:
        """Refresh the cached on-platform mask after states change (read many times a day)."""
        self.on_platform = (self.state == UserState.ACTIVE) | (self.state == UserState.MULTIHOMING)

    @property
    def personalisable(self) -> np.ndarray:
        """Users whose account data may be used for ad targeting (D1)."""
        mode = self.model.p.data_sharing
        if mode == "off":
            return np.zeros(len(self), dtype=bool)
        if mode == "mandatory":
            return np.ones(len(self), dtype=bool)
        return ~self.data_optout

    def contact_share(self, flag: np.ndarray) -> np.ndarray:
        """Share of each user's contacts for whom ``flag`` holds."""
        return (self.graph @ flag.astype(np.float32)) / self.degree

    # --- 3. who is active today ----------------------------------------------------------
    def start_day(self) -> None:
        """Daily activity falls linearly with annoyance (Pandora, cal §6.5)."""
        p = self.model.p
        engagement = np.clip(1 - np.float32(p.annoyance_engagement_slope) * self.annoyance, 0, 1)
        engagement[self.state == UserState.MULTIHOMING] *= np.float32(p.multihoming_activity_factor)
        draw = self.user_rng.random(len(self), dtype=np.float32)
        self.active_today = self.on_platform & (draw < self.daily_active * engagement)
        self.status_visit = self.active_today & (
            self.user_rng.random(len(self), dtype=np.float32) < self.status_propensity
        )
        self.display_seen[:] = 0
        self.promo_today[:] = 0
        self._active_by_region = {}

    def active_in_region(self, region: int) -> np.ndarray:
        """Ids of today's active users in ``region`` (computed once a day)."""
        if region not in self._active_by_region:
            self._active_by_region[region] = np.flatnonzero(self.active_today & (self.region == region))
        return self._active_by_region[region]

    def roll_weekly_caps(self) -> None:
        """Start a new cap week for the users whose week begins on the coming day. Each user
        has her own weekday (``week_phase``), so promotional sends do not bunch up."""
        due = self.week_phase == (self.model.steps + 1) % 7
        self.sponsored_week[due] = 0
        self.marketing_week[due] = 0

    # --- 8. react ------------------------------------------------------------------------
    def react(self, outcome: DayOutcome) -> None:
        """Annoyance and concern update; opt-outs and opt-in withdrawals; payment adoption."""
        p = self.model.p
        intolerance = 1 - self.ad_tolerance
        self.annoyance *= np.float32(1 - p.annoyance_decay)
        self.annoyance += intolerance * (
            np.float32(p.annoyance_per_ad) * self.display_seen
            + np.float32(p.annoyance_per_message) * self.promo_today
        )

        shares_data = self.personalisable
        pressure = np.where(shares_data, np.float32(p.sharing_pressure), np.float32(0))
        peer_concern = (self.graph @ self.concern) / self.degree
        target = self.privacy_sensitivity * (pressure + np.float32(self.media_attention))
        target += np.float32(p.peer_concern_weight) * peer_concern
        self.concern += np.float32(p.concern_adjust_rate) * (target - self.concern)
        self.media_attention *= 1 - p.media_decay

        on = self.on_platform
        if p.data_sharing == "opt_out":
            may = on & ~self.data_optout & (self.concern > p.optout_threshold)
            opt = may & (self.user_rng.random(len(self), dtype=np.float32) < p.optout_rate)
            self.data_optout |= opt
            outcome.opted_out = int(opt.sum())

        draw = self.user_rng.random(len(self), dtype=np.float32)
        annoyed = self.promo_optin & (self.promo_today > 0)
        withdraw = annoyed & (draw < np.float32(p.promo_optout_rate) * self.annoyance)
        calm = self.active_today & ~self.promo_optin
        join = calm & (draw < np.float32(p.promo_optin_rate) * np.maximum(1 - self.annoyance, 0))
        self.promo_optin = (self.promo_optin & ~withdraw) | join

        candidates = self.active_today & ~self.payments_linked
        adopt = candidates & (
            self.user_rng.random(len(self), dtype=np.float32)
            < np.float32(p.payment_adoption_rate) * (1 - np.minimum(self.concern, 1))
        )
        self.payments_linked |= adopt

    # --- 9. stay, multi-home, leave, return, join ----------------------------------------
    def decide(self, outcome: DayOutcome) -> None:
        p = self.model.p
        n = len(self)
        on = self.on_platform
        here = self.contact_share(on)  # lock-in: share of contacts still on the platform
        multihoming = self.state == UserState.MULTIHOMING
        lockin = self.switching_cost * here
        lockin[multihoming] *= np.float32(p.multihoming_lockin_factor)

        h_base = np.float32(p.baseline_churn_per_year / 365)
        h_ads, h_privacy, h_peers = churn_hazard(
            self.annoyance, self.concern, lockin, self.peer_exposure, p
        )
        hazard = h_base + h_ads + h_privacy + h_peers
        leave = on & (self.user_rng.random(n, dtype=np.float32) < -np.expm1(-hazard))
        h = hazard[leave]
        outcome.churned = int(leave.sum())
        outcome.churn_ads = float(np.sum(h_ads[leave] / h))
        outcome.churn_privacy = float(np.sum(h_privacy[leave] / h))
        outcome.churn_peers = float(np.sum(h_peers[leave] / h))
        outcome.churn_other = outcome.churned - (
            outcome.churn_ads + outcome.churn_privacy + outcome.churn_peers
        )

        start_mh = (self.state == UserState.ACTIVE) & ~leave & (
            self.user_rng.random(n, dtype=np.float32) < np.float32(p.multihoming_rate) * self.concern
        )
        churned = self.state == UserState.CHURNED
        come_back = churned & (
            self.user_rng.random(n, dtype=np.float32) < np.float32(p.return_per_year / 365) * here
        )

        self.state[start_mh] = UserState.MULTIHOMING
        self.state[leave] = UserState.CHURNED
        self.state[come_back] = UserState.ACTIVE
        self.annoyance[come_back] = 0
        self._sync_on_platform()
        outcome.started_multihoming = int(start_mh.sum())
        outcome.returned = int(come_back.sum())
        self.churned_total += outcome.churned
        self.returned_total += outcome.returned

        self.peer_exposure *= np.float32(np.exp(-1 / p.peer_memory_days))
        self.peer_exposure += self.graph @ leave.astype(np.float32)

        outcome.joined = self._join(p)

    def _join(self, p) -> int:
        """Newcomers from the reachable pool, which grows exogenously (cal §1.1)."""
        expected = p.n_users * p.user_growth_per_year / 365
        k = min(int(self.user_rng.poisson(expected)), len(self._pool) - self._joined)
        newcomers = self._pool[self._joined:self._joined + k]
        self.state[newcomers] = UserState.ACTIVE
        self.on_platform[newcomers] = True
        self._joined += k
        self.ever_joined += k
        return k

    def buy_stickers(self, rate: float) -> int:
        """Sticker packs bought today by active users (F2)."""
        buyers = self.active_today & (
            self.user_rng.random(len(self), dtype=np.float32) < np.float32(rate) * self.sticker_propensity
        )
        return int(buyers.sum())
