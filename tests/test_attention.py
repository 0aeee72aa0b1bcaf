"""Media attention (``model.attention``): a shock splits into a fast and a slow part, each
halving in its own half-life; a reassurance takes a share off both."""

from types import SimpleNamespace

import pytest

from model.attention import MediaAttention

P = SimpleNamespace(attention_fast_share=0.8, attention_fast_half_life_days=2.0,
                    attention_slow_half_life_days=40.0)


def test_a_shock_decays_in_two_phases():
    attention = MediaAttention(P)
    attention.shock(1.0)
    assert (attention.fast, attention.slow) == pytest.approx((0.8, 0.2))
    levels = []
    for _ in range(80):
        attention.decay()
        levels.append(attention.level)
    # after 2 days the fast part has halved, after 40 the slow one
    assert levels[1] == pytest.approx(0.8 * 0.5 + 0.2 * 0.5 ** (2 / 40))
    assert levels[39] == pytest.approx(0.8 * 0.5**20 + 0.2 * 0.5)
    # most of the burst is gone within a week, a tail of the slow part stays for months
    assert levels[6] < 0.3 and levels[59] > 0.05
    day_to_day = [b / a for a, b in zip(levels, levels[1:], strict=False)]
    assert day_to_day[0] < day_to_day[30]  # the fall slows down: two phases, not one


def test_a_reassurance_scales_both_parts():
    attention = MediaAttention(P)
    attention.shock(2.0)
    attention.decay()
    fast, slow = attention.fast, attention.slow
    attention.reassure(0.5)
    assert (attention.fast, attention.slow) == pytest.approx((fast / 2, slow / 2))
