"""Shared fixtures: small, fast model runs."""

from __future__ import annotations

import pytest

from model import WhatsAppMarket

SMALL = {"n_users": 3000, "n_smbs": 40, "n_enterprises": 10, "n_advertisers": 12}


def run_model(days: int = 60, seed: int = 1, **params) -> WhatsAppMarket:
    model = WhatsAppMarket(rng=seed, **(SMALL | params))
    for _ in range(days):
        model.step()
    return model


@pytest.fixture(scope="module")
def small_run():
    model = run_model(days=60, seed=7)
    return model, model.datacollector.get_model_vars_dataframe()
