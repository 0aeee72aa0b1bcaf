"""Virtual goods (F2): the sticker store's free packs spread from its launch and whet the
appetite for paid ones."""

import math

import numpy as np
import pytest
from conftest import run_model

from model.market import WhatsAppMarket
from model.params import PARAMS


def test_free_sticker_packs_spread_from_launch_and_whet_the_appetite_for_paid_ones():
    """Free packs spread from the launch day; a user holding one buys paid packs
    1 + ``free_pack_gateway`` times as often (100 draws each way, within four binomial
    standard errors of the ratio)."""
    model = run_model(days=12, seed=5, virtual_goods=True, virtual_goods_launch_day=4, free_pack_rate=0.05)
    share = model.datacollector.get_model_vars_dataframe().set_index("day")["share_free_stickers"]
    assert (share.loc[:3] == 0).all() and share.loc[4] > 0 and share.loc[12] > share.loc[4]
    users = model.users
    bought = {}
    for has_free_pack in (False, True):
        users.free_stickers[:] = has_free_pack
        bought[has_free_pack] = sum(users.buy_stickers(0.02, 1.0) for _ in range(100))
    ratio = bought[True] / bought[False]
    se = ratio * math.sqrt(1 / bought[True] + 1 / bought[False])
    assert ratio == pytest.approx(1 + PARAMS["free_pack_gateway"].default, abs=4 * se) and se < 0.05


def test_opening_the_sticker_store_moves_none_of_the_users_other_draws():
    """Sticker sales draw from a stream of their own: a run with the store open has, day for
    day, the users of the same seed without it (common random numbers for F2)."""
    store_open, closed = (run_model(days=20, seed=7, virtual_goods=store, virtual_goods_launch_day=2,
                                    free_pack_rate=0.05) for store in (True, False))
    assert store_open.datacollector.get_model_vars_dataframe()["revenue_stickers"].sum() > 0
    assert store_open.users.free_stickers.any() and not closed.users.free_stickers.any()
    for name in ("state", "rival", "on_platform", "annoyance", "concern", "promo_optin", "payments_linked"):
        np.testing.assert_array_equal(getattr(store_open.users, name), getattr(closed.users, name),
                                      err_msg=name)


def test_holiday_drops_fall_on_their_days_of_the_record_after_a_burn_in_and_overlap_in_full():
    """Drops start on their days of the year counted from recorded day 1 (1 January), not
    from the burn-in's first day, and a drop that ends while another runs leaves the boost on."""
    model = WhatsAppMarket(rng=4, n_users=2000, n_smbs=20, n_enterprises=4, burn_in_days=25,
                           virtual_goods=True, holiday_valentines_day=10, holiday_diwali_day=20,
                           holiday_christmas_day=300, holiday_drop_days=15, holiday_sticker_boost=3.0)
    boosted = []
    for day in range(1, 41):
        model.step()
        boosted += [day] if model.sticker_boost == 3.0 else []
    assert boosted == list(range(10, 35))
