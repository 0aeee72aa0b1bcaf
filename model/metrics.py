"""The day's result row: every result column, measured inside the step.

``day_row`` gathers the columns each component reports at the end of the day; the
DataCollector's reporters just pick the values (RecSim-style metrics entity).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from model.ledger import MESSAGE_CATEGORIES, STREAMS

REVENUE_COLUMNS = [f"revenue_{s}" for s in STREAMS]

COLUMNS = [
    "day",
    "users_total", "users_active", "users_multihoming", "users_churned_total",
    "users_returned_total", "users_daily_active", "users_joined",
    "churn_today", "churn_ads", "churn_privacy", "churn_peers", "churn_other",
    "returned_today", "multihoming_started", "multihoming_stopped",
    "rival_signups_privacy", "rival_signups_feature", "users_on_rival_privacy", "users_on_rival_feature",
    *REVENUE_COLUMNS, "revenue_total", "revenue_per_user",
    *[f"messages_{c}" for c in MESSAGE_CATEGORIES], "messages_utility_free",
    "impressions_personalised", "impressions_contextual", "ad_clicks", "display_clicks",
    "clicks_to_chat", "influencer_spend",
    "share_promo_optin", "share_data_optout", "share_payments_linked", "share_free_stickers",
    "mean_concern", "mean_annoyance", "mean_ad_responsiveness", "opt_outs_today",
    "data_sharing_mode", "ultimatum_pending", "media_attention",
    "smb_premium", "smb_tools_mean", "smb_exits", "smbs_moved_to_platform", "enterprises",
    "platform_firms",
    "enterprises_onboarded", "enterprises_chatbot", "enterprises_crm", "provider_takings_total",
    "blocks_today",
    "marketing_over_limit", "senders_low_quality", "purchases",
    "payment_volume_p2p", "payment_volume_merchant",
]
"""Result columns, in order. Money is in USD of the real population the sample stands for
(``real_users / n_users`` per simulated user); ``revenue_per_user`` is USD per active user
per day; counts of users and messages are of the simulated sample."""


def read_metric(model, column: str) -> float:
    return model.today[column]


def reporters() -> dict[str, partial]:
    """DataCollector reporters, one per column (picklable partials of ``read_metric``)."""
    return {c: partial(read_metric, column=c) for c in COLUMNS}


def day_row(model, outcome) -> dict[str, float]:
    """The day's row: each component reports its own columns; the books close. Money is
    scaled from the sample to the real population."""
    scale = model.scale
    revenue, transfers, tally = model.ledger.close_day()
    row: dict[str, float] = {"day": model.steps} | model.users.columns(outcome) | model.policy.columns()
    for stream, usd in revenue.items():
        row[f"revenue_{stream}"] = usd * scale
    total = sum(revenue.values())
    row["revenue_total"] = total * scale
    row["revenue_per_user"] = total / max(row["users_active"], 1)
    for category, count in tally.messages.items():
        row[f"messages_{category}"] = count
    row |= {
        "messages_utility_free": tally.messages_utility_free,
        "impressions_personalised": tally.impressions_personalised,
        "impressions_contextual": tally.impressions_contextual,
        "ad_clicks": tally.display_clicks + tally.sponsored_clicks,
        "display_clicks": tally.display_clicks,
        "clicks_to_chat": tally.clicks_to_chat,
        "influencer_spend": transfers["creator_payments"] * scale,
        "provider_takings_total": model.ledger.received_by(
            np.array([s.account for s in model.solution_providers], dtype=np.int64)) * scale,
        "blocks_today": tally.blocks,
        "marketing_over_limit": tally.marketing_over_limit,
        "purchases": tally.purchases,
        "payment_volume_p2p": tally.payment_volume_p2p * scale,
        "payment_volume_merchant": tally.payment_volume_merchant * scale,
    }
    return row | model.platform.columns() | model.firms.columns()
