"""The users' traits: each trait's distribution, named once, with the parameter it reads.

``TRAITS`` is the one table both implementations of the users draw from: the vectorised
population (``agents.users``) draws every trait for all users at once with numpy
(``draw_traits``), the per-agent reference (``agents.reference_users``) draws one user's
traits with Python's ``random.Random`` (``draw_user_traits``). ``INITIAL_SETTINGS`` does the
same for the settings a user starts with. A distribution's field is either the name of a
parameter of ``model.params`` or a constant of the model; ``docs/ODD.md`` gives the sources.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

import numpy as np


def _value(p, field: str | float) -> float:
    """A distribution's field: a parameter's value if it names one, else the constant."""
    return getattr(p, field) if isinstance(field, str) else field


class Distribution(Protocol):
    def draw(self, p, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` draws with numpy (the vectorised users)."""

    def draw_one(self, p, rnd: random.Random) -> float | int | bool:
        """One draw with Python's random numbers (the reference users)."""


@dataclass(frozen=True)
class Beta:
    """Beta with the given mean; ``concentration`` = a + b sets the spread (float32)."""

    mean: str | float
    concentration: str | float

    def shape(self, p) -> tuple[float, float]:
        mean, concentration = _value(p, self.mean), _value(p, self.concentration)
        return mean * concentration, (1 - mean) * concentration

    def draw(self, p, size, rng):
        a, b = self.shape(p)
        if a <= 0 or b <= 0:  # a mean of 0 or 1 (allowed): everyone at it; numpy needs a, b > 0
            return np.full(size, float(a > 0), dtype=np.float32)
        return rng.beta(a, b, size).astype(np.float32)

    def draw_one(self, p, rnd):
        a, b = self.shape(p)
        return float(a > 0) if a <= 0 or b <= 0 else rnd.betavariate(a, b)


@dataclass(frozen=True)
class LogNormal:
    """Lognormal with the given mean (not median) and log-scale spread ``sigma`` (float32)."""

    mean: str | float
    sigma: str | float

    def draw(self, p, size, rng):
        sigma = _value(p, self.sigma)
        return (_value(p, self.mean) * rng.lognormal(-sigma**2 / 2, sigma, size)).astype(np.float32)

    def draw_one(self, p, rnd):
        sigma = _value(p, self.sigma)
        return _value(p, self.mean) * rnd.lognormvariate(-sigma**2 / 2, sigma)


@dataclass(frozen=True)
class Exponential:
    """Exponential with the given mean (float32)."""

    mean: str | float

    def draw(self, p, size, rng):
        return rng.exponential(_value(p, self.mean), size).astype(np.float32)

    def draw_one(self, p, rnd):
        return rnd.expovariate(1 / _value(p, self.mean))


@dataclass(frozen=True)
class Zipf:
    """One of ``categories`` categories, category k (from 0) with weight 1 / (k + 1): a few
    broad categories dominate (int16)."""

    categories: str | int

    def weights(self, p) -> np.ndarray:
        weights = 1 / np.arange(1, int(_value(p, self.categories)) + 1)
        return weights / weights.sum()

    def draw(self, p, size, rng):
        weights = self.weights(p)
        return rng.choice(len(weights), size, p=weights).astype(np.int16)

    def draw_one(self, p, rnd):
        weights = self.weights(p)
        return rnd.choices(range(len(weights)), weights=weights.tolist())[0]


@dataclass(frozen=True)
class Bernoulli:
    """True with the given chance (bool)."""

    chance: str | float

    def draw(self, p, size, rng):
        return rng.random(size) < _value(p, self.chance)

    def draw_one(self, p, rnd):
        return rnd.random() < _value(p, self.chance)


TRAITS: dict[str, Distribution] = {
    "daily_active": Beta("daily_active_mean", "daily_active_concentration"),
    "status_propensity": Beta("status_tab_share", "status_tab_concentration"),
    "status_time": LogNormal(1.0, "status_time_sigma"),  # relative time per Updates-tab visit
    "messages_per_day": LogNormal("messages_per_day_mean", "messages_per_day_sigma"),
    "ad_tolerance": Beta("ad_tolerance_mean", "ad_tolerance_concentration"),
    "privacy_sensitivity": Beta("privacy_sensitivity_mean", "privacy_sensitivity_concentration"),
    "feature_appetite": Beta("feature_appetite_mean", "feature_appetite_concentration"),
    "switching_cost": LogNormal("switching_cost_mean", "switching_cost_sigma"),
    "price_sensitivity": LogNormal(1.0, "price_sensitivity_sigma"),
    "payment_propensity": Exponential(1.0),
    "sticker_propensity": Exponential(1.0),
    "interest": Zipf("n_interests"),  # the user's main ad interest
    "adoption_threshold": LogNormal("adoption_threshold_mean", "adoption_threshold_sigma"),
}
"""Every user trait, fixed for life, in the order the vectorised users draw them. Spreads are
parameters; a unit mean (time per visit, price sensitivity, propensities) is a normalisation."""

INITIAL_SETTINGS: dict[str, Distribution] = {
    "promo_optin": Bernoulli("promo_optin_share"),
    "payments_linked": Bernoulli("payments_adoption_initial"),
}
"""The settings a user starts with on day 0 (they change later)."""


def draw_traits(p, size: int, rng: np.random.Generator,
                table: dict[str, Distribution] = TRAITS) -> dict[str, np.ndarray]:
    """Every entry of ``table`` for ``size`` users, vectorised, trait after trait."""
    return {name: distribution.draw(p, size, rng) for name, distribution in table.items()}


def draw_user_traits(p, rnd: random.Random,
                     table: dict[str, Distribution] = TRAITS) -> dict[str, float | int | bool]:
    """Every entry of ``table`` for one user, with Python's random numbers."""
    return {name: distribution.draw_one(p, rnd) for name, distribution in table.items()}


def interest_draws(n_interests: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws of the Zipf interest distribution over ``n_interests`` categories (the
    advertisers' target interests use the users' distribution)."""
    return Zipf(n_interests).draw(None, size, rng)

