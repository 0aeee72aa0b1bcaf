"""The platform's levers (``model.levers``): read from the parameters, immutable, replaced
whole by a change."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from model.levers import TEMPLATE_CATEGORIES, LeverBoard, Levers
from model.params import REGIONS, resolve


def levers(**params) -> Levers:
    return Levers.from_params(SimpleNamespace(**resolve(params)))


def test_levers_read_the_policy_parameters_and_the_rate_card_by_region():
    prices = {f"price_marketing_{r}_usd": 0.01 * (i + 1) for i, r in enumerate(REGIONS)}
    lv = levers(ad_load=0.2, marketing_cap_per_week=3, data_sharing="off", price_service_usd=0.004,
                merchant_fee_rate=0.05, **prices)
    assert (lv.ad_load, lv.marketing_cap_per_week, lv.data_sharing) == (0.2, 3, "off")
    assert lv.merchant_fee_rate == 0.05
    assert set(lv.rate_card) == set(TEMPLATE_CATEGORIES)
    np.testing.assert_array_equal(lv.rate_card["marketing"], [0.01, 0.02, 0.03])
    np.testing.assert_array_equal(lv.rate_card["service"], np.full(len(REGIONS), 0.004))
    defaults = resolve({})
    utility = [defaults[f"price_utility_{r}_usd"] for r in REGIONS]
    np.testing.assert_array_equal(lv.rate_card["utility"], utility)


def test_the_levers_cannot_be_changed_in_place():
    lv = levers()
    with pytest.raises(dataclasses.FrozenInstanceError):
        lv.ad_load = 0.3
    with pytest.raises(TypeError):
        lv.rate_card["marketing"] = np.zeros(len(REGIONS))
    with pytest.raises(ValueError, match="read-only"):
        lv.rate_card["utility"][0] = 1.0


def test_a_change_replaces_the_board_s_levers_and_leaves_the_old_ones_alone():
    board = LeverBoard(levers(data_sharing="opt_out"))
    before = board.current
    board.change(data_sharing="mandatory", ad_load=0.0)
    assert board.current is not before
    assert (board.current.data_sharing, board.current.ad_load) == ("mandatory", 0.0)
    assert before.data_sharing == "opt_out"
    assert board.current.rate_card is before.rate_card  # what did not change is shared
