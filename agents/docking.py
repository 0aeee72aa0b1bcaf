"""A world of users alone, under a fixed stylised exposure, for docking and timing.

The same rules run either vectorised (``agents.users.UserPopulation``, the engine) or one
agent per user (``agents.reference_users``, the readable specification). Organisations are
replaced by a fixed exposure so that only the users' rules differ, and the world fills the
same typed record the platform fills in the full model (``model.exposure.Exposure``) for
either implementation, from the same random stream: every Updates-tab visit shows
``ad_load x status_items_per_visit`` ads times the user's relative time in the tab (a share
``RELEVANT_SHARE`` of them matching her interest), and
every active, opted-in user under her weekly marketing cap gets a marketing message from one
stylised sender with probability ``promo_chance``. The world keeps the weekly marketing
counters, each user's week starting on her own weekday, as the platform does. The dated
privacy and policy events are the model's (``model.events``), fired by Mesa's event
scheduler as in the full model, on the world's own lever board.
"""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import mesa
import numpy as np

from agents.reference_users import ReferencePopulation
from agents.users import DayOutcome, UserPopulation
from model.events import PolicyTimeline
from model.exposure import Exposure
from model.levers import LeverBoard, Levers
from model.network import population_graph
from model.params import resolve
from model.payment_rails import PaymentRails, linked_share_by_region

IMPLEMENTATIONS = ("vectorised", "reference")

OUTCOMES = (
    "users_active", "users_daily_active", "users_multihoming", "users_on_rival_privacy",
    "users_on_rival_feature", "churn_today", "churn_ads", "churn_privacy", "churn_peers",
    "churn_other", "returned_today", "users_joined", "multihoming_started", "multihoming_stopped",
    "rival_signups_privacy", "rival_signups_feature", "opt_outs_today", "share_data_optout",
    "share_promo_optin", "share_payments_linked", "mean_concern", "mean_annoyance", "mean_ad_responsiveness",
)
"""Daily outcomes both implementations report, with the meanings of ``model.metrics``."""

RELEVANT_SHARE = 0.5
"""Share of the docking world's display ads that match the viewer's interest."""

MARKETER = 0
"""Sender id of the docking world's one stylised marketer."""

STRESS = dict(n_users=1000, ad_load=0.1, media_shock_day=25, media_shock_size=2.0, peer_churn_multiplier=2.5,
              privacy_churn_slope=0.01, ad_churn_slope=0.0005, baseline_churn_per_year=0.4,
              multihoming_rate=0.02, return_per_year=5.0, multihoming_drop_per_year=3.0,
              outage_day=15, ultimatum_day=35, ultimatum_deadline_day=70, postponement_day=50,
              incumbent_wallet_share_in=0.0, incumbent_wallet_share_br=0.0, incumbent_wallet_share_eu=0.0)
"""The docking runs' parameters: every mechanism fires, dated events included (an outage, a
media shock, an ultimatum, during which users anticipate mandatory sharing, postponed past
the run's end: an enforced deadline ends opt-outs, which would leave nothing to compare).
Incumbent wallets leave all the room to link a payment account, so that adoption fires as
often as it can (both implementations multiply it by the room: ``tests/test_payment_rails.py``
checks the room itself)."""
STRESS_DAYS = 80

FLOWS = ("churn_today", "churn_ads", "churn_privacy", "churn_peers", "churn_other",
         "returned_today", "multihoming_started", "multihoming_stopped", "rival_signups_privacy",
         "rival_signups_feature", "opt_outs_today", "users_daily_active")
"""Outcomes compared as sums over a docking run."""
STOCKS = ("users_active", "users_multihoming", "users_on_rival_privacy", "users_on_rival_feature",
          "share_data_optout", "share_promo_optin", "share_payments_linked", "mean_concern",
          "mean_annoyance", "mean_ad_responsiveness")
"""Outcomes compared at the end of a docking run."""


class UserWorld(mesa.Model):
    """Users under a fixed exposure; ``implementation`` picks the engine or the reference."""

    def __init__(self, *, implementation: str = "vectorised", promo_chance: float = 0.05,
                 rng=None, **params):
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"implementation: got {implementation!r}; allowed: {', '.join(IMPLEMENTATIONS)}")
        super().__init__(rng=rng)
        self.p = SimpleNamespace(**resolve(params))
        graph_rng, user_rng, self._exposure_rng = self.rng.spawn(3)
        graph, region = population_graph(self.p, graph_rng)
        if implementation == "vectorised":
            users = UserPopulation(self, graph, region, self.p.n_users, user_rng)
            self.population = VectorisedPopulation(users)
        else:
            users = self.population = ReferencePopulation(self, graph, region, self.p.n_users)
        self.levers = LeverBoard(Levers.from_params(self.p))
        self.payment_rails = PaymentRails(self.p)
        self.policy = PolicyTimeline(self, users, self.levers)
        self.promo_chance = promo_chance
        n = len(region)
        self.marketing_week = np.zeros(n, dtype=np.int16)  # marketing messages this cap week
        self._cap_weekday = self._exposure_rng.integers(0, 7, n, dtype=np.int8)
        self.today: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={name: partial(_read, name=name) for name in OUTCOMES}
        )

    def step(self) -> None:
        population = self.population
        self.payment_rails.open_day(self.steps, lambda: self._linked_share(population))  # Mesa counted today
        population.start_day()
        exposure = self.expose(population)
        population.react(exposure)
        population.decide()
        self.today = population.columns()
        self.datacollector.collect(self)

    @staticmethod
    def _linked_share(population) -> np.ndarray:
        """Share of each region's users on the platform with a linked account (either
        implementation)."""
        if isinstance(population, ReferencePopulation):
            users = population.users
            return linked_share_by_region(np.array([u.region for u in users]),
                                          np.array([u.on_platform for u in users]),
                                          np.array([u.payments_linked for u in users]))
        users = population.users
        return linked_share_by_region(users.region, users.on_platform, users.payments_linked)

    def expose(self, population) -> Exposure:
        """Today's stylised exposure of ``population`` (either implementation), after
        ``start_day``."""
        levers = self.levers.current
        n = len(self.marketing_week)
        exposure = Exposure.open(n)
        self.marketing_week[self._cap_weekday == self.steps % 7] = 0  # a new cap week
        visits = population.status_visit
        exposure.display_ads[visits] = (levers.ad_load * self.p.status_items_per_visit
                                        * population.status_time[visits])
        exposure.relevant_ads[visits] = RELEVANT_SHARE * exposure.display_ads[visits]
        eligible = (population.active_today & population.promo_optin
                    & (self.marketing_week < levers.marketing_cap_per_week))
        got = np.flatnonzero(eligible & (self._exposure_rng.random(n) < self.promo_chance))
        self.marketing_week[got] += 1
        exposure.deliver_marketing(MARKETER, got)
        return exposure


def _read(model: UserWorld, name: str) -> float:
    return model.today[name]


class VectorisedPopulation:
    """The engine's users, driven through the docking world's day; the arrays the exposure
    is filled from are the users' own."""

    def __init__(self, users: UserPopulation):
        self.users = users
        self.outcome = DayOutcome()

    @property
    def active_today(self) -> np.ndarray:
        return self.users.active_today

    @property
    def status_visit(self) -> np.ndarray:
        return self.users.status_visit

    @property
    def status_time(self) -> np.ndarray:
        return self.users.status_time

    @property
    def promo_optin(self) -> np.ndarray:
        return self.users.promo_optin

    def start_day(self) -> None:
        self.outcome = DayOutcome()
        self.users.start_day()

    def react(self, exposure: Exposure) -> None:
        self.users.react(exposure, self.outcome)  # the blocks change no user: nobody reads them

    def decide(self) -> None:
        self.users.decide(self.outcome)

    def columns(self) -> dict[str, float]:
        return self.users.columns(self.outcome)


def docking_run(implementation: str, seed: int, **params) -> dict[str, float]:
    """One docking run of ``implementation`` under ``STRESS`` (and ``params``) for
    ``STRESS_DAYS``: its ``FLOWS`` summed over the days, its ``STOCKS`` at the end."""
    world = UserWorld(implementation=implementation, rng=seed, **(STRESS | params))
    for _ in range(STRESS_DAYS):
        world.step()
    df = world.datacollector.get_model_vars_dataframe()
    return {**df[list(FLOWS)].sum().to_dict(), **df[list(STOCKS)].iloc[-1].to_dict()}
