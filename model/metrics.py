"""The day's result row: every column of DESIGN.md, measured inside the step.

``day_metrics`` reads the users, the platform and the ledger once at the end of the day;
the DataCollector's reporters just pick the values (RecSim-style metrics entity).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from agents.enterprise import Enterprise
from agents.users import RIVALS, DayOutcome, UserState
from model.ledger import STREAMS
from model.platform import MESSAGE_CATEGORIES

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
    "mean_concern", "mean_annoyance", "opt_outs_today",
    "data_sharing_mode", "ultimatum_pending", "media_attention",
    "smb_premium", "smb_tools_mean", "smb_exits", "smbs_moved_to_platform", "enterprises",
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


def user_metrics(users, outcome: DayOutcome) -> dict[str, float]:
    """The users' columns of the day's row (also the docking world's outcomes)."""
    on = users.on_platform
    n_on = max(int(np.count_nonzero(on)), 1)
    on_weight = on.astype(np.float32)  # means over users on the platform, as dot products
    row: dict[str, float] = {
        "users_total": users.ever_joined,
        "users_active": int(np.count_nonzero(on)),
        "users_multihoming": int(np.count_nonzero(users.state == UserState.MULTIHOMING)),
        "users_churned_total": users.churned_total,
        "users_returned_total": users.returned_total,
        "users_daily_active": int(np.count_nonzero(users.active_today)),
        "users_joined": outcome.joined,
        "churn_today": outcome.churned,
        "churn_ads": outcome.churn_ads,
        "churn_privacy": outcome.churn_privacy,
        "churn_peers": outcome.churn_peers,
        "churn_other": outcome.churn_other,
        "returned_today": outcome.returned,
        "multihoming_started": outcome.started_multihoming,
        "multihoming_stopped": outcome.stopped_multihoming,
        "share_promo_optin": float(np.count_nonzero(users.promo_optin & on)) / n_on,
        "share_data_optout": float(np.count_nonzero(users.data_optout & on)) / n_on,
        "share_payments_linked": float(np.count_nonzero(users.payments_linked & on)) / n_on,
        "mean_concern": float(users.concern @ on_weight) / n_on,
        "mean_annoyance": float(users.annoyance @ on_weight) / n_on,
        "opt_outs_today": outcome.opted_out,
    }
    for rival in RIVALS:
        name = rival.name.lower()
        row[f"rival_signups_{name}"] = outcome.rival_signups[name]
        row[f"users_on_rival_{name}"] = int(np.count_nonzero(users.rival == rival))
    return row


def day_metrics(model, outcome: DayOutcome, revenue: dict[str, float]) -> dict[str, float]:
    platform = model.platform
    scale = model.scale
    smbs = model.small_businesses.firms
    row: dict[str, float] = {"day": model.steps} | user_metrics(model.users, outcome)
    row |= model.policy.columns()
    for stream, usd in revenue.items():
        row[f"revenue_{stream}"] = usd * scale
    total = sum(revenue.values())
    row["revenue_total"] = total * scale
    row["revenue_per_user"] = total / max(row["users_active"], 1)
    users = model.users
    row["share_free_stickers"] = float(np.count_nonzero(users.free_stickers & users.on_platform)) / max(
        row["users_active"], 1)
    for category, count in platform.sent.items():
        row[f"messages_{category}"] = count
    row.update(
        impressions_personalised=platform.impressions["personalised"],
        impressions_contextual=platform.impressions["contextual"],
        ad_clicks=sum(platform.clicks.values()),
        display_clicks=platform.clicks["display"],
        clicks_to_chat=platform.clicks_to_chat,
        influencer_spend=platform.paid_to_creators * scale,
        smb_premium=sum(1 for b in smbs if b.premium),
        smb_tools_mean=sum(len(b.tools) for b in smbs) / max(len(smbs), 1),
        smb_exits=model.small_businesses.exits,
        smbs_moved_to_platform=model.small_businesses.moved_to_platform,
        enterprises=len(model.agents_by_type[Enterprise]),
        messages_utility_free=platform.free_utility,
        enterprises_onboarded=sum(s.clients for s in model.solution_providers),
        enterprises_chatbot=sum(1 for e in model.agents_by_type[Enterprise] if e.chatbot),
        enterprises_crm=sum(1 for e in model.agents_by_type[Enterprise] if e.crm),
        provider_takings_total=sum(s.takings_usd for s in model.solution_providers) * scale,
        blocks_today=platform.blocks,
        marketing_over_limit=platform.over_limit,
        senders_low_quality=sum(1 for b in model.businesses if b.quality.rating == "low"),
        purchases=model.purchases,
        payment_volume_p2p=model.payments_volume["p2p"] * scale,
        payment_volume_merchant=model.payments_volume["merchant"] * scale,
    )
    return row
