"""A world of users alone, under a fixed stylised exposure, for docking and timing.

The same rules run either vectorised (``agents.users.UserPopulation``, the engine) or one
agent per user (``agents.reference_users``, the readable specification). Organisations are
replaced by a fixed exposure so that only the users' rules differ: every Updates-tab visit
shows ``ad_load x status_items_per_visit`` ads times the user's relative time in the tab,
and every active, opted-in user under her weekly marketing cap gets a marketing message with
probability ``promo_chance``. The dated privacy and policy events are the model's
(``model.events``), fired by Mesa's event scheduler as in the full model.
"""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import mesa

from agents.reference_users import ReferencePopulation
from agents.users import DayOutcome, UserPopulation
from model.events import PolicyTimeline
from model.metrics import user_metrics
from model.network import population_graph
from model.params import resolve

IMPLEMENTATIONS = ("vectorised", "reference")

OUTCOMES = (
    "users_active", "users_daily_active", "users_multihoming", "users_on_rival_privacy",
    "users_on_rival_feature", "churn_today", "churn_ads", "churn_privacy", "churn_peers",
    "churn_other", "returned_today", "users_joined", "multihoming_started", "multihoming_stopped",
    "rival_signups_privacy", "rival_signups_feature", "opt_outs_today", "share_data_optout",
    "share_promo_optin", "share_payments_linked", "mean_concern", "mean_annoyance",
)
"""Daily outcomes both implementations report, with the meanings of ``model.metrics``."""


class UserWorld(mesa.Model):
    """Users under a fixed exposure; ``implementation`` picks the engine or the reference."""

    def __init__(self, *, implementation: str = "vectorised", promo_chance: float = 0.05,
                 rng=None, **params):
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"implementation: got {implementation!r}; allowed: {', '.join(IMPLEMENTATIONS)}")
        super().__init__(rng=rng)
        self.p = SimpleNamespace(**resolve(params))
        graph_rng, user_rng = self.rng.spawn(2)
        graph, region = population_graph(self.p, graph_rng)
        if implementation == "vectorised":
            users = UserPopulation(self, graph, region, self.p.n_users, user_rng)
            self.population = VectorisedPopulation(users)
        else:
            users = self.population = ReferencePopulation(self, graph, region, self.p.n_users)
        self.policy = PolicyTimeline(self, users)
        self.ads_per_visit = self.p.ad_load * self.p.status_items_per_visit
        self.promo_chance = promo_chance
        self.today: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={name: partial(_read, name=name) for name in OUTCOMES}
        )

    def step(self) -> None:
        self.today = self.population.day(self.ads_per_visit, self.promo_chance)
        self.datacollector.collect(self)


def _read(model: UserWorld, name: str) -> float:
    return model.today[name]


class VectorisedPopulation:
    """The engine's users, driven through the docking world's day."""

    def __init__(self, users: UserPopulation):
        self.users = users

    def day(self, ads_per_visit: float, promo_chance: float) -> dict[str, float]:
        users = self.users
        p = users.model.p
        users.marketing_week[users.week_phase(users.model.steps)] = 0
        users.start_day()
        visits = users.status_visit
        users.display_seen[visits] = ads_per_visit * users.status_time[visits]
        eligible = users.active_today & users.promo_optin & (users.marketing_week < p.marketing_cap_per_week)
        got = eligible & (users.user_rng.random(len(users)) < promo_chance)
        users.marketing_week[got] += 1
        users.promo_today[got] += 1
        outcome = DayOutcome()
        users.react(outcome)
        users.decide(outcome)
        return user_metrics(users, outcome)
