"""The parameter schema: the single source of truth for every model parameter.

The model, spec validation, ``wasim params`` and the ODD tables all read ``PARAMS``.
Each ``source`` cites a ``[key]`` of ``docs/references.bib`` or an anchor of
``docs/SOURCES.md`` (``SOURCES.md#...``), or says ``assumption:`` with its reason when no
public figure exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

REGIONS = ("in", "br", "eu")
"""Price regions, named after the rate cards they use: India-like (low prices, low CPMs),
Brazil-like (middle) and Europe-like (high). See SOURCES.md#rate-cards and SOURCES.md#ad-prices."""

DATA_SHARING_MODES = ("off", "opt_out", "mandatory")

DAYS_PER_MONTH = 30
"""Monthly fees and budgets are charged a 30th a day."""


class ParameterError(ValueError):
    """A parameter value that the schema does not allow; names the field and what is allowed."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    unit: str
    meaning: str
    source: str
    group: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def kind(self) -> type:
        return type(self.default)

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind is bool:
            return "true or false"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"a {self.kind.__name__} in [{lo}, {hi}]"

    def coerce(self, value: Any) -> Any:
        """Check ``value`` against the schema and return it in the parameter's type."""
        kind = self.kind
        if kind is bool:
            if not isinstance(value, bool):
                raise ParameterError(self.name, f"got {value!r}; allowed: {self.allowed()}")
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParameterError(self.name, f"got {value!r}; allowed: {self.allowed()}")
            if isinstance(value, float) and not value.is_integer():
                raise ParameterError(self.name, f"got {value!r}; allowed: {self.allowed()}")
            value = int(value)
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParameterError(self.name, f"got {value!r}; allowed: {self.allowed()}")
            value = float(value)
            if not math.isfinite(value):
                raise ParameterError(self.name, f"got {value!r}; allowed: {self.allowed()}")
        elif kind is str and not isinstance(value, str):
            raise ParameterError(self.name, f"got {value!r}; allowed: {self.allowed()}")
        if self.choices is not None and value not in self.choices:
            raise ParameterError(self.name, f"got {value!r}; allowed: {self.allowed()}")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ParameterError(self.name, f"got {value!r}; allowed: {self.allowed()}")
        return value


def _p(name, default, unit, meaning, source, group, low=None, high=None, choices=None) -> Param:
    return Param(name, default, unit, meaning, source, group, low, high, choices)


_SCHEMA: list[Param] = [
    # --- population and scaling -------------------------------------------------------------
    _p("n_users", 100_000, "users", "simulated users on the platform at day 0",
       "assumption: a sample; real_users scales it", "population", 100, 50_000_000),
    _p("real_users", 3.0e9, "users", "real users the initial sample stands for (scales money)",
       "[meta2025mau]: >3.0 B MAU, Apr 2025", "population", 1.0, 1.0e10),
    _p("burn_in_days", 180, "days", "days simulated before day 1 and not recorded, so a run starts in "
       "the calm steady state (counters and books start at day 1; dated events count from day 1)",
       "assumption: the slowest calm stocks (annoyance, multi-homing, advertisers' budgets) settle "
       "within about six months (docs/ODD.md section 5)", "population", 0, 3650),
    _p("pool_headroom", 0.3, "share of n_users", "potential users in the graph who can join later",
       "assumption: room for the burn-in and ~2 years of joining at the calibrated user_growth_per_year",
       "population", 0.0, 2.0),
    _p("user_growth_per_year", 0.0971, "1/year", "exogenous growth of the reachable user pool",
       "calibrated: wasim calibrate (results/calibration) to MAU +8%/yr net of churn, SOURCES.md#target-3, "
       "SOURCES.md#fact-1", "population", 0.0, 1.0),
    _p("region_weight_in", 0.5, "weight", "relative size of the India-like region",
       "[telecomlive2023india]: India ~500 M of ~3 B, plus other low-price markets (assumption)",
       "population",
       0.0, 1.0),
    _p("region_weight_br", 0.3, "weight", "relative size of the Brazil-like region",
       "assumption: LatAm and other mid-price markets", "population", 0.0, 1.0),
    _p("region_weight_eu", 0.2, "weight", "relative size of the Europe-like region",
       "assumption: Europe and other high-price markets", "population", 0.0, 1.0),
    # --- social graph ------------------------------------------------------------------------
    _p("mean_degree", 8.6, "contacts", "mean number of contacts per user",
       "[karsai2016skype]: mean degree 8.56 (Skype, Karsai 2016)", "network", 2.0, 50.0),
    _p("degree_sigma", 1.0, "log-units", "lognormal spread of contact counts (heavy tail)",
       "[karsai2016skype]: lognormal degrees, sigma 1.39 (Karsai 2016), damped for a messenger",
       "network", 0.0, 2.0),
    _p("local_tie_share", 0.5, "share", "share of ties to nearby users (clustering)",
       "assumption: clustered ties (Centola 2010, [centola2010spread])", "network", 0.0, 1.0),
    _p("cross_region_tie_share", 0.03, "share", "share of ties that cross regions",
       "assumption: communities by region", "network", 0.0, 1.0),
    # --- users: activity and traits ----------------------------------------------------------
    _p("daily_active_mean", 0.74, "probability", "mean daily-active probability of a user",
       "calibrated: wasim calibrate (results/calibration) to DAU/MAU 0.72, SOURCES.md#target-2", "users",
       0.0, 1.0),
    _p("messages_per_day_mean", 50.0, "messages/day", "mean messages a user sends a day",
       "[facebook2020q3call]: ~100 B messages a day (Oct 2020) over ~2 B daily users",
       "users", 0.1, 10_000.0),
    _p("messages_per_day_sigma", 1.0, "log-units", "lognormal spread of messages a day; the number "
       "of firms a user deals with scales with it (capped at 2x the mean)",
       "assumption: heavy-tailed activity ([karsai2016skype] lognormal degrees)", "users", 0.0, 3.0),
    _p("daily_active_concentration", 8.0, "a + b", "concentration of users' daily-active propensities "
       "(Beta; larger: more alike)", "assumption: most users are daily users, a tail are occasional",
       "users", 0.1, 1000.0),
    _p("status_tab_concentration", 4.0, "a + b", "concentration of users' Updates-tab propensities (Beta)",
       "assumption: wide spread, some users never open the tab", "users", 0.1, 1000.0),
    _p("ad_tolerance_concentration", 5.0, "a + b", "concentration of users' ad tolerance (Beta)",
       "assumption: a broad spread of attitudes to ads", "users", 0.1, 1000.0),
    _p("privacy_sensitivity_concentration", 3.0, "a + b", "concentration of users' privacy sensitivity "
       "(Beta)", "assumption: a wide spread, a minority very sensitive (SOURCES.md#privacy-paradox)",
       "users", 0.1, 1000.0),
    _p("feature_appetite_concentration", 4.0, "a + b", "concentration of users' appetite for a "
       "feature-rich rival (Beta)", "assumption: a broad spread", "users", 0.1, 1000.0),
    _p("switching_cost_sigma", 1.0, "log-units", "lognormal spread of users' switching costs (mean "
       "switching_cost_mean)", "assumption: heavy-tailed attachment to the platform", "users", 0.0, 3.0),
    _p("business_affinity_cap", 2.0, "x mean", "most businesses a heavy messager deals with, as a "
       "multiple of a user messaging at the mean rate", "assumption: business relations saturate",
       "users", 1.0, 100.0),
    _p("status_tab_share", 0.65, "probability", "mean chance an active user opens the Updates tab",
       "[whatsapp2025updates], [meta2025q4call]: 1.5 B Updates-tab daily users of >2 B DAU",
       "users", 0.0, 1.0),
    _p("status_items_per_visit", 20.0, "items", "status/channel items seen per Updates-tab visit",
       "assumption: no public figure ([whatsapp2025updates])", "users", 1.0, 500.0),
    _p("status_time_sigma", 0.8, "log-units",
       "lognormal spread of users' time per Updates-tab visit (mean 1); ads seen scale with it",
       "assumption: heavy-tailed attention; [whatsapp2025updates] gives tab reach, not time",
       "users", 0.0, 2.0),
    _p("ad_tolerance_mean", 0.5, "0-1", "mean tolerance of ads (1 = never annoyed)",
       "assumption: Beta(2.5, 2.5) spread", "users", 0.01, 0.99),
    _p("privacy_sensitivity_mean", 0.35, "0-1", "mean sensitivity to data sharing",
       "assumption; [pew2019privacy; baruh2017privacy]: 79% concerned (Pew 2019) yet concern does "
       "not predict use",
       "users", 0.01, 0.99),
    _p("promo_optin_share", 0.36, "share", "users opted in to promotional messages at day 0",
       "assumption: opt-in required (A1); [richautomate2026whatsapp] read rates 80-95%; set near the calm "
       "balance of opting in and withdrawing, so the share does not drift", "users", 0.0, 1.0),
    _p("feature_appetite_mean", 0.3, "0-1", "mean appetite for a feature-rich rival's extras",
       "assumption; [durov2025telegram]: Telegram >1 B MAU draws users by features (channels, groups)",
       "users", 0.01, 0.99),
    _p("n_interests", 12, "categories", "ad-interest categories (Zipf-distributed over users)",
       "assumption: interest targeting needs account data (D1)", "users", 1, 1000),
    _p("price_sensitivity_sigma", 0.5, "log-units", "lognormal spread of users' price sensitivity (mean 1)",
       "assumption: heterogeneous willingness to pay (SOURCES.md#stickers-derived)", "users", 0.0, 2.0),
    _p("sticker_price_elasticity", 1.0, "elasticity", "fall in sticker purchases per % price rise, "
       "times the user's price sensitivity", "assumption: unit-elastic impulse purchases "
       "(SOURCES.md#stickers-derived)",
       "users", 0.0, 5.0),
    _p("payments_adoption_initial", 0.05, "share", "users with a linked bank account at day 0",
       "SOURCES.md#payments-derived: <5% of Indian users transact monthly", "users", 0.0, 1.0),
    # --- users: annoyance (I1) ------------------------------------------------------------
    _p("annoyance_per_ad", 0.01, "stock units", "annoyance from one ad seen by a fully intolerant user",
       "assumption, tuned to [huang2018pandora] (-2% use per extra ad/hour)", "users", 0.0, 1.0),
    _p("annoyance_per_message", 0.05, "stock units",
       "annoyance from one sponsored or marketing message (intolerant user)",
       "assumption: chat-list messages are hard to overlook (A1)", "users", 0.0, 2.0),
    _p("annoyance_decay", 0.013, "1/day", "daily decay of the annoyance stock",
       "[goli2025pandora]: long-run effect ~3x the one-month effect: 1/(1-(1-d)^30) = 3",
       "users", 0.001, 1.0),
    _p("annoyance_engagement_slope", 0.05, "1/stock unit", "loss of daily activity per unit annoyance",
       "[goli2025pandora]: usage falls linearly in ad load (Pandora)", "users", 0.0, 1.0),
    _p("promo_optin_rate", 0.003, "1/day", "chance a calm active user opts in to promotions",
       "assumption: opt-ins are collected in business chats (SOURCES.md#frequency-caps); at 0.001 the "
       "share took years to settle and paid messaging stalled as it fell", "users", 0.0, 1.0),
    _p("promo_optout_rate", 0.02, "1/day per stock unit",
       "chance an annoyed user withdraws promotional opt-in",
       "assumption: anti-spam controls (A1)", "users", 0.0, 1.0),
    # --- users: privacy concern (I2) --------------------------------------------------------
    _p("data_sharing", "opt_out", "mode", "data sharing with the parent company for ads (D1)",
       "[hunton2016whatsapp]: opt-out since Aug 2016", "policy", choices=DATA_SHARING_MODES),
    _p("sharing_pressure", 0.6, "concern units", "concern pressure of data sharing on a user who shares",
       "assumption: I2, the share of a sensitive user's concern that data sharing itself explains; "
       "no public figure", "users", 0.0, 5.0),
    _p("concern_adjust_rate", 0.05, "1/day", "speed at which concern moves to its target",
       "assumption: concern builds over weeks", "users", 0.001, 1.0),
    _p("peer_concern_weight", 0.3, "share", "weight of contacts' mean concern in a user's target",
       "assumption: concern spreads through ties (I2)", "users", 0.0, 0.95),
    _p("optout_threshold", 0.3, "concern units", "concern above which a user may opt out (opt_out mode)",
       "assumption; [hunton2016whatsapp]: opt-out within 30 days", "users", 0.0, 5.0),
    _p("optout_rate", 0.05, "1/day", "daily chance a concerned user opts out of data sharing",
       "[hunton2016whatsapp]: users had 30 days to opt out, so those who would mostly did within a "
       "month (rate assumed)", "users", 0.0, 1.0),
    _p("multihoming_rate", 0.005, "1/day per unit pull", "chance to install a rival app, per unit of the "
       "rivals' pull (concern or feature appetite x (reach + share of contacts on the rival))",
       "SOURCES.md#privacy-paradox, SOURCES.md#fact-2: concern mainly raises multi-homing",
       "users", 0.0, 1.0),
    _p("rival_privacy_reach", 0.3, "share", "pull of the privacy-focused rival with no contacts on it",
       "assumption, set so concern mainly raises multi-homing (SOURCES.md#privacy-paradox, "
       "SOURCES.md#fact-2); Signal gains "
       "on privacy news (SOURCES.md#event-2021)", "users", 0.0, 1.0),
    _p("rival_feature_reach", 0.15, "share", "pull of the feature-focused rival with no contacts on it",
       "assumption; [durov2025telegram]: Telegram ~1 B MAU vs ~3 B here", "users", 0.0, 1.0),
    _p("multihoming_drop_per_year", 4.0, "1/year",
       "yearly chance a multi-homer with no contacts on her rival uninstalls it or lets it fall dormant",
       "assumption: a second app nobody one knows uses falls dormant within months, so multi-homing "
       "reaches a plateau; lock-in works both ways (SOURCES.md#privacy-paradox)", "users", 0.0, 20.0),
    _p("switch_concern_weight", 1.0, "concern units",
       "concern a user takes from the share of her contacts who installed the privacy-focused rival "
       "in the last days (bandwagon_memory_days)",
       "assumption: contacts switching for privacy are news that raises concern (I2, SOURCES.md#event-2021); "
       "contacts settled on the rival are not news, so concern habituates to them",
       "users", 0.0, 5.0),
    _p("attention_install_rate", 0.02, "1/day per attention unit",
       "chance to install a rival per unit of media attention, times the user's trait for it (privacy "
       "sensitivity or feature appetite)",
       "calibrated by hand to the 2014 burst (SOURCES.md#event-2014: Telegram downloads x20-x147 after the "
       "acquisition news); the acquisition_2014 experiment checks it", "users", 0.0, 1.0),
    _p("bandwagon_rate", 0.05, "1/day",
       "chance to install a rival on a day when the share of her contacts who installed it recently "
       "is at or above her adoption threshold",
       "assumption; [granovetter1978threshold], [karsai2016skype]: heterogeneous thresholds; "
       "kept below a calm cascade (single-neighbour adoptions stay local, SOURCES.md#fact-5)",
       "users", 0.0, 1.0),
    _p("bandwagon_memory_days", 2.0, "days", "e-folding time of a contact's install in the bandwagon kernel",
       "assumption; [lorenzspreen2019acceleration]: news now loses most of its attention within days",
       "users", 0.1, 60.0),
    _p("adoption_threshold_mean", 0.19, "share of contacts",
       "mean of users' fractional adoption thresholds (lognormal, sigma adoption_threshold_sigma)",
       "[karsai2016skype], SOURCES.md#target-27: lognormal thresholds, mean 0.19", "users", 0.001, 1.0),
    _p("adoption_threshold_sigma", 1.0, "log-units", "lognormal spread of users' adoption thresholds",
       "[karsai2016skype]: sigma_T = 1", "users", 0.0, 3.0),
    _p("privacy_salience_calm", 0.2, "share",
       "salience of privacy without news: the privacy departure hazard is multiplied by "
       "privacy_salience_calm + (1 - privacy_salience_calm) x min(media attention, 1)",
       "assumption; [baruh2017privacy], SOURCES.md#fact-3: concern does not predict use; users act on it "
       "while the issue is in the news", "users", 0.0, 1.0),
    _p("join_attention_dip", 0.5, "1/attention unit",
       "fall of joins while attention is high: joins x exp(-join_attention_dip x attention)",
       "assumption: bad news deters some newcomers; SOURCES.md#target-24: no visible dent in a year",
       "users", 0.0, 10.0),
    _p("multihoming_activity_factor", 0.85, "factor", "activity of a multi-homer relative to others",
       "assumption: a second app takes some use", "users", 0.0, 1.0),
    _p("media_shock_day", 0, "day", "day of a privacy announcement with media attention (0 = none)",
       "SOURCES.md#event-2021: dated policy events", "events", 0, 100_000),
    _p("media_shock_size", 1.0, "attention units", "media attention added on the shock day",
       "assumption: the unit of attention is a major privacy story; sized with the events' tests",
       "events", 0.0, 10.0),
    _p("attention_fast_share", 0.9, "share", "share of a shock's attention in the fast component",
       "[candia2019attention]: communicative (fast) and cultural (slow) memory; share assumed",
       "events", 0.0, 1.0),
    _p("attention_fast_half_life_days", 2.0, "days", "half-life of the fast component of attention",
       "[lorenzspreen2019acceleration]: news topics lose most attention within days; "
       "[candia2019attention]: tau_1 in days", "events", 0.1, 60.0),
    _p("attention_slow_half_life_days", 30.0, "days", "half-life of the slow component of attention",
       "[candia2019attention]: tau_2 in months; value assumed", "events", 1.0, 3650.0),
    _p("ultimatum_day", 0, "day", "day users are told to accept mandatory data sharing by "
       "ultimatum_deadline_day or lose access; they anticipate it from then (0 = none)",
       "SOURCES.md#event-2021: in-app pop-up of 4-6 Jan 2021", "events", 0, 100_000),
    _p("ultimatum_deadline_day", 0, "day", "day the ultimatum's deadline falls: data sharing "
       "becomes mandatory and opt-outs are lost, unless postponed (after ultimatum_day; unused without one)",
       "SOURCES.md#event-2021: deadline 8 Feb 2021", "events", 0, 100_000),
    _p("postponement_day", 0, "day", "day the platform postpones the deadline and says no account "
       "will be deleted; users stop anticipating (0 = none; after ultimatum_day, before the deadline)",
       "SOURCES.md#event-2021, SOURCES.md#fact-6: postponed on 15 Jan 2021, nine days after the "
       "pop-up", "events", 0, 100_000),
    _p("postponement_days", 96, "days", "days the deadline moves on a postponement",
       "SOURCES.md#event-2021: 8 Feb -> 15 May 2021", "events", 1, 100_000),
    _p("postponement_reassurance", 0.5, "share", "share of media attention a postponement's "
       "reassurance takes away", "assumption; [athey2017privacy]: reassuring information lowers avoidance "
       "(Athey et al. 2017)", "events", 0.0, 1.0),
    _p("data_sharing_change_day", 0, "day", "day the data-sharing lever switches to "
       "data_sharing_after (0 = none)",
       "[hunton2016whatsapp], SOURCES.md#fact-6: off -> opt-out on 25 Aug 2016; the lever is "
       "schedulable", "events",
       0, 100_000),
    _p("data_sharing_after", "opt_out", "mode", "data-sharing mode from data_sharing_change_day",
       "[hunton2016whatsapp]: opt-out since Aug 2016", "events", choices=DATA_SHARING_MODES),
    _p("outage_day", 0, "day", "day the platform is down for outage_hours (0 = none)",
       "[chinwag2014telegram], [durov2021outage]: outages of 22 Feb 2014 and 4 Oct 2021",
       "events", 0, 100_000),
    _p("outage_hours", 6.0, "hours", "length of the outage",
       "[durov2021outage]: ~6 h on 4 Oct 2021 (~4 h on 22 Feb 2014, [chinwag2014telegram])",
       "events", 0.0, 24.0),
    _p("outage_install_per_hour", 0.004, "1/hour",
       "chance per outage hour that a user active that day installs a rival",
       "[chinwag2014telegram]: Telegram +4.95 M in a day after a 4-h outage at ~450 M MAU x DAU/MAU "
       "0.7 gives "
       "0.4%/h; [durov2021outage]: +70 M after 6 h at ~2.8 B, 0.6%/h (a claim with reactivations)", "events",
       0.0, 1.0),
    # --- users: churn and return ------------------------------------------------------------
    _p("baseline_churn_per_year", 0.03, "1/year", "peer-independent calm-period attrition",
       "[karsai2014skype], SOURCES.md#target-28: constant, peer-independent termination (Karsai "
       "2014)", "users",
       0.0, 1.0),
    _p("ad_churn_slope", 0.00005, "1/day per stock unit", "churn hazard per unit annoyance",
       "assumption: I1, tuned so ads cost a few % of users a year", "users", 0.0, 0.1),
    _p("privacy_churn_slope", 0.0005, "1/day per concern unit",
       "churn hazard per unit of concern above the switching cost",
       "SOURCES.md#privacy-paradox: leaving needs concern above a switching cost", "users", 0.0, 0.5),
    _p("switching_cost_mean", 1.0, "concern units", "mean switching cost (lognormal, sigma 1)",
       "[karsai2016skype]: lognormal thresholds (Karsai 2016)", "users", 0.0, 10.0),
    _p("peer_churn_multiplier", 1.8, "factor per contact", "hazard multiplier per contact who left",
       "[nitzan2011social]: x1.8 per defecting neighbour (Nitzan & Libai 2011); uncertain 1.2-1.8",
       "users", 1.0, 5.0),
    _p("peer_memory_days", 30.0, "days", "e-folding time of a contact's departure effect",
       "[nitzan2011social]: decays over ~1 month", "users", 1.0, 365.0),
    _p("peer_multiplier_cap", 10.0, "factor", "largest peer multiplier (churn plateaus)",
       "[dasgupta2008churn]: churn rises then plateaus (Dasgupta 2008)", "users", 1.0, 1000.0),
    _p("multihoming_lockin_factor", 0.5, "factor", "switching cost of a multi-homer relative to others",
       "assumption: the rival app is already installed", "users", 0.0, 1.0),
    _p("return_per_year", 1.0, "1/year", "yearly chance a churned user with all contacts here returns",
       "assumption: lock-in pulls users back within about a year (SOURCES.md#fact-11)", "users", 0.0, 10.0),
    # --- advertising (A1, A2) ---------------------------------------------------------------
    _p("ad_load", 0.05, "share of items", "share of Updates-tab items that are ads (A2 lever)",
       "assumption: ads appear after a few status updates ([whatsapp2025updates])", "policy", 0.0, 0.5),
    _p("sponsored_cap_per_week", 2, "messages/user/week", "cap on sponsored messages per user (A1)",
       "[chatondesklimits]: per-user caps protect engagement", "policy", 0, 50),
    _p("marketing_cap_per_week", 4, "messages/user/week",
       "cap on marketing templates per user across all senders (A1)",
       "[chatondesklimits]: dynamic per-user marketing cap", "policy", 0, 100),
    _p("n_advertisers", 40, "agents", "advertiser agents", "assumption: enough bidders per region "
       "for second prices to form; results per real user do not depend on it", "ads", 1, 10_000),
    _p("ad_budget_per_user_year", 1.0, "USD/user/year", "advertisers' total budget for in-app ads",
       "assumption: Status ads new in 2025-26, no revenue disclosed ([whatsapp2025updates])",
       "ads", 0.0, 100.0),
    _p("sponsored_budget_share", 0.3, "share", "share of advertiser budget for sponsored messages",
       "assumption: sponsored messages a minority of in-app ad budgets, as they are newer and "
       "capped", "ads", 0.0, 1.0),
    _p("brand_advertiser_share", 0.3, "share", "share of advertisers buying reach (brand campaigns, "
       "G1) rather than clicks", "assumption: most in-app advertisers buy performance (clicks), a "
       "minority buy reach", "ads", 0.0, 1.0),
    _p("brand_cpm_value_usd", 1.0, "USD/1000", "what a brand advertiser in the India-like region "
       "is willing to pay per thousand impressions (x the region's ad price index)",
       "[superads2025cpm; adamigo2026cpm]: CPM India ~$2, US ~$20 (vendor data); set below the "
       "market CPM", "ads", 0.0, 1000.0),
    _p("influencer_budget_share", 0.2, "share", "share of a brand advertiser's budget paid to creators "
       "for sponsored posts in Channels (G1)", "assumption: creators take a minority of a brand's "
       "budget", "ads", 0.0, 0.7),
    _p("influencer_cpm_usd", 2.0, "USD/1000", "creators' price per thousand views in the India-like "
       "region (x the region's ad price index)", "assumption: about the market CPM "
       "([superads2025cpm; adamigo2026cpm])",
       "ads", 0.01, 1000.0),
    _p("influencer_annoyance_weight", 0.5, "ads", "annoyance of a sponsored post seen, in ads",
       "assumption: native content annoys less ([hohnhold2015ads]: ad quality drives ad blindness)", "users",
       0.0, 5.0),
    _p("click_value_usd", 0.15, "USD/click", "advertiser value of a click in the India-like region",
       "[adamigo2026cpm]: CPC $0.12 (Nigeria) to $2.69 (US)", "ads", 0.0, 100.0),
    _p("ad_price_index_br", 3.0, "factor", "ad prices in the Brazil-like region relative to India-like",
       "SOURCES.md#ad-prices: US ~10x India; assumption for the middle", "ads", 0.1, 100.0),
    _p("ad_price_index_eu", 10.0, "factor", "ad prices in the Europe-like region relative to India-like",
       "[superads2025cpm; adamigo2026cpm]: CPM US ~$20-23 vs India ~$2", "ads", 0.1, 100.0),
    _p("ctr_contextual", 0.004, "clicks/impression", "click-through of an untargeted display ad",
       "assumption: a typical display click-through of 0.4% without targeting; no public figure for "
       "Status ads", "ads", 0.0, 1.0),
    _p("ctr_personalised", 0.008, "clicks/impression", "click-through of a personalised display ad",
       "assumption: targeting doubles CTR (D1)", "ads", 0.0, 1.0),
    _p("ctr_sponsored", 0.03, "clicks/message", "click-through of a sponsored message",
       "assumption; [richautomate2026whatsapp]: read 80-95%, conversion 1-4% of opted-in broadcasts", "ads",
       0.0, 1.0),
    _p("reserve_cpm_usd", 0.5, "USD/1000", "platform reserve price per thousand impressions",
       "assumption: a floor well below the market CPMs of SOURCES.md#ad-prices", "ads", 0.0, 100.0),
    _p("ad_blindness_rate", 0.01, "1/ad", "share of a user's responsiveness to display ads lost per "
       "irrelevant ad seen (a relevant one counts relevant_ad_blindness_weight)",
       "[hohnhold2015ads]: ads blindness is learned from the ads seen, over weeks to months; rate assumed "
       "(SOURCES.md#ad-blindness)", "ads", 0.0, 1.0),
    _p("ad_blindness_recovery", 0.01, "1/day", "daily share of lost responsiveness a user regains",
       "assumption; [goli2025pandora]: effects of ad load take over a year to be fully realised, so "
       "blindness fades over months", "ads", 0.0, 1.0),
    _p("relevant_ad_blindness_weight", 0.5, "factor", "blindness taught by an ad matching the viewer's "
       "interest, relative to an irrelevant one",
       "[hohnhold2015ads]: blindness is driven by the quality (relevance) of past ads; a matching ad is "
       "clicked twice as often (ctr_personalised / ctr_contextual), so it teaches half as much (assumption)",
       "ads", 0.0, 1.0),
    # --- business messaging (B1-B4, P1-P3) --------------------------------------------------
    _p("price_marketing_in_usd", 0.0118, "USD/message", "marketing template price, India-like",
       "SOURCES.md#rate-cards: India 2025-26 ~$0.0118", "prices", 0.0, 1.0),
    _p("price_marketing_br_usd", 0.0625, "USD/message", "marketing template price, Brazil-like",
       "SOURCES.md#rate-cards: Brazil $0.0625", "prices", 0.0, 1.0),
    _p("price_marketing_eu_usd", 0.1365, "USD/message", "marketing template price, Europe-like",
       "SOURCES.md#rate-cards: Germany $0.1365", "prices", 0.0, 1.0),
    _p("price_utility_in_usd", 0.0014, "USD/message", "utility template price, India-like",
       "SOURCES.md#rate-cards: India post Aug 2024 $0.0014", "prices", 0.0, 1.0),
    _p("price_utility_br_usd", 0.0075, "USD/message", "utility template price, Brazil-like",
       "SOURCES.md#rate-cards: Brazil $0.0068-0.008", "prices", 0.0, 1.0),
    _p("price_utility_eu_usd", 0.055, "USD/message", "utility template price, Europe-like",
       "SOURCES.md#rate-cards: Germany $0.055", "prices", 0.0, 1.0),
    _p("price_authentication_in_usd", 0.0014, "USD/message", "authentication price, India-like",
       "SOURCES.md#rate-cards: India $0.0014", "prices", 0.0, 1.0),
    _p("price_authentication_br_usd", 0.0068, "USD/message", "authentication price, Brazil-like",
       "SOURCES.md#rate-cards: Brazil ~$0.0068", "prices", 0.0, 1.0),
    _p("price_authentication_eu_usd", 0.055, "USD/message", "authentication price, Europe-like",
       "SOURCES.md#rate-cards: Germany $0.055", "prices", 0.0, 1.0),
    _p("price_service_usd", 0.0, "USD/conversation", "service conversation price, all regions",
       "[whatools2025changelog]: service free since 1 Nov 2024", "prices", 0.0, 1.0),
    _p("block_per_annoyance", 0.005, "1/message per stock unit",
       "chance a recipient blocks or reports a marketing sender, per unit of her annoyance",
       "assumption: A1, annoyed users block or report; size set so blocks stay rare at default "
       "annoyance", "business", 0.0, 1.0),
    _p("block_rate_low", 0.02, "blocks/message", "weekly block rate above which a sender's quality is low",
       "assumption; [quickreplydocs], SOURCES.md#frequency-caps: low quality lowers the messaging "
       "limit", "business", 0.0, 1.0),
    _p("tier_base_share", 0.001, "share of customers/day",
       "daily marketing limit of the lowest tier; each tier up is 10x, the top one unlimited",
       "[quickreplydocs]: 1 K -> 10 K -> 100 K -> unlimited unique users a day", "business", 0.0, 1.0),
    # --- channel choice against SMS and e-mail (B2; model/channels.py) ----------------------
    _p("sms_price_in_usd", 0.0047, "USD/message", "A2P SMS price per message, India-like",
       "derived: [juniper2025messaging]: WhatsApp authentication is 50-90% below A2P SMS; set 70% "
       "below price_authentication_in_usd (SOURCES.md#business-adoption)", "prices", 0.0001, 1.0),
    _p("sms_price_br_usd", 0.0227, "USD/message", "A2P SMS price per message, Brazil-like",
       "derived: [juniper2025messaging]: 50-90% above WhatsApp authentication; set 70% below "
       "price_authentication_br_usd (SOURCES.md#business-adoption)", "prices", 0.0001, 1.0),
    _p("sms_price_eu_usd", 0.183, "USD/message", "A2P SMS price per message, Europe-like",
       "derived: [juniper2025messaging]: 50-90% above WhatsApp authentication; set 70% below "
       "price_authentication_eu_usd (SOURCES.md#business-adoption)", "prices", 0.0001, 1.0),
    _p("channel_price_coefficient", 2.5, "1/log-price",
       "weight of log(WhatsApp price / SMS price) in the channel logit; WhatsApp's own-price "
       "elasticity is -coefficient x (1 - its share)",
       "assumption: no published elasticity (SOURCES.md#messaging-elasticity); set so the elasticity "
       "of paid WhatsApp volume at today's rate card is near -1 (a sensitivity factor)",
       "business", 0.0, 10.0),
    _p("whatsapp_appeal_authentication", 0.05, "odds", "WhatsApp's appeal against SMS for one-time "
       "codes at equal prices (reach and response), at day 0",
       "assumption: SMS reaches every phone; set so WhatsApp carries about 45% of the codes at today's "
       "prices (SOURCES.md#business-adoption: chat apps win authentication first)", "business", 0.0, 1000.0),
    _p("whatsapp_appeal_utility", 0.075, "odds", "WhatsApp's appeal against SMS for utility "
       "updates at equal prices, at day 0",
       "assumption: set so WhatsApp carries about 53% of utility updates at today's prices "
       "(SOURCES.md#messaging-elasticity)", "business", 0.0, 1000.0),
    _p("whatsapp_appeal_marketing", 24.0, "odds", "WhatsApp's appeal against SMS for marketing "
       "at equal prices (rich messages read and answered), at day 0",
       "assumption; [richautomate2026whatsapp]: read 80-95%; set so WhatsApp carries about 70% of "
       "marketing at today's prices (SOURCES.md#messaging-elasticity: marketing "
       "less elastic)", "business", 0.0, 10_000.0),
    _p("email_appeal", 0.25, "odds", "e-mail's appeal against SMS (it costs next to nothing; few "
       "read it in time)", "assumption: e-mail is a weaker substitute for codes and alerts than SMS",
       "business", 0.0, 100.0),
    _p("chat_app_growth_per_year", 0.2, "1/year", "yearly growth of WhatsApp's appeal against SMS as "
       "business traffic moves to chat apps",
       "[juniper2025messaging]: chat-app business traffic 390 B (2025) -> 560 B (2027) messages, "
       "+20%/yr", "business", 0.0, 2.0),
    # --- diffusion of the Business Platform among firms (B2, B4; agents/enterprise.py) -----
    _p("bass_innovation_per_year", 0.03, "1/year", "Bass innovation coefficient p of the Business "
       "Platform's diffusion among firms", "[sultan1990meta]: mean p = 0.03 over 213 applications",
       "business", 0.0, 1.0),
    _p("bass_imitation_per_year", 0.38, "1/year", "Bass imitation coefficient q of the Business "
       "Platform's diffusion among firms", "[sultan1990meta]: mean q = 0.38 over 213 applications",
       "business", 0.0, 5.0),
    _p("platform_potential_firms", 725000.0, "firms", "real firms whose customer traffic suits the "
       "Business Platform, if all of it went by WhatsApp; the market potential is this times "
       "WhatsApp's logit share of authentication",
       "calibrated: wasim calibrate (results/calibration) to paid messaging's growth, +40-60%/yr "
       "(SOURCES.md#target-12); about a third of the ~2.2 M medium and large firms of "
       "[mobilesquared2020api] (55 k = 2.5%); sets how far diffusion has come at day 0",
       "business", 1.0, 1e9),
    _p("upsell_per_year", 0.6, "1/year", "yearly rate at which an adopter on authentication adds "
       "utility, and one on utility adds marketing",
       "assumption; [juniper2025messaging]: win authentication first, then upsell to marketing",
       "business", 0.0, 12.0),
    # --- organisations ----------------------------------------------------------------------
    _p("n_smbs", 300, "agents", "small businesses on the Business App (B1)",
       "assumption: each stands for a share of ~200 M ([cnbc2023business])", "business", 1, 100_000),
    _p("n_enterprises", 40, "agents", "enterprises on the Business Platform (B2)",
       "assumption: count not disclosed (SOURCES.md#business-app)", "business", 1, 10_000),
    _p("real_smbs", 200e6, "firms", "real small businesses the simulated ones stand for (each "
       "stands for real_smbs / n_smbs alike firms; their decisions and fees are per real firm)",
       "[cnbc2023business]: >200 M Business app monthly users, Jun 2023", "business", 1.0, 1e10),
    _p("real_enterprises", 5e4, "firms", "real firms on the Business Platform at day 0 that the "
       "simulated enterprises stand for (more adopt by diffusion)",
       "[mobilesquared2020api]: 992 API firms end-2019, ~55 k forecast for 2024 (Meta discloses none)",
       "business", 1.0, 1e10),
    _p("n_solution_providers", 4, "agents", "business solution providers onboarding enterprises (B4)",
       "assumption: a few large BSPs (Twilio, Gupshup, ...; [twilio2025pricing; gupshuppricing])",
       "business", 1, 1_000),
    _p("bsp_markup_max", 0.2, "share of Meta's fee", "largest provider markup (markups drawn from 0 to it)",
       "SOURCES.md#bsp-fees: resellers add 0-20% on Meta's rate", "prices", 0.0, 2.0),
    _p("bsp_monthly_fee_max_usd", 350.0, "USD/month", "largest provider monthly fee (drawn from 0 to it)",
       "SOURCES.md#bsp-fees: $0-350 a month per business", "prices", 0.0, 10_000.0),
    _p("bsp_onboarding_capacity", 1, "enterprises/day", "enterprises a provider can onboard a day",
       "assumption: onboarding takes integration work (B4)", "business", 0, 1_000),
    _p("n_airlines", 3, "agents", "airline partners (P1)", "assumption: a few large partners per "
       "kind", "business", 1, 1_000),
    _p("n_banks", 4, "agents", "bank partners (P2)", "assumption: a few large partners per kind",
       "business", 1, 1_000),
    _p("n_shops", 12, "agents", "shop and e-commerce partners (P3)", "assumption: more shops than "
       "airlines or banks", "business",
       1, 10_000),
    _p("smb_relations_per_user", 3.0, "businesses/user", "SMBs a user is a customer of",
       "[meta2023q3call]: >60% of Indian users message businesses", "business", 0.0, 50.0),
    _p("enterprise_relations_per_user", 2.0, "businesses/user", "enterprises a user is a customer of",
       "assumption: a user deals with a couple of large firms on the Business Platform",
       "business", 0.0, 50.0),
    _p("chat_rate", 0.01, "1/customer/day", "chance a customer opens a chat with a business",
       "[reuters2020business]: >175 M people message businesses daily (~8% of DAU)", "business", 0.0, 1.0),
    _p("chat_conversion", 0.1, "share", "share of business chats that end in a sale",
       "assumption; [richautomate2026whatsapp]: conversion 1-4% of broadcasts", "business", 0.0, 1.0),
    _p("order_value_usd", 15.0, "USD", "mean order value in the India-like region",
       "assumption: a small retail basket in the India-like region", "business", 0.0, 10_000.0),
    _p("premium_price_usd_month", 10.0, "USD/month", "Business App premium tier price (B1)",
       "SOURCES.md#business-app, SOURCES.md#virtual-goods: paid tier exists, price not found; "
       "assumption", "prices", 0.0, 1_000.0),
    _p("premium_chat_uplift", 0.2, "share", "extra chats handled by a premium SMB (linked devices)",
       "[gulfnewsbusiness]: premium doubles linked devices (gulfnews); assumption", "business", 0.0, 5.0),
    _p("tool_initial_share", 0.2, "share", "chance a small business uses each Business App tool at day 0",
       "assumption: tools are free but take effort (B1)", "business", 0.0, 1.0),
    _p("tool_conversion_uplift", 0.05, "share", "rise in an SMB's chat conversion per tool it uses",
       "assumption: faster answers and a catalog convert more (B1, G1)", "business", 0.0, 1.0),
    _p("tool_effort_usd_month", 0.25, "USD/month",
       "monthly effort of keeping a tool up, in money, per real firm",
       "assumption: a few minutes a month; WhatsApp sales of a typical small firm are tens of $/month",
       "business", 0.0, 10_000.0),
    _p("tool_adoption_rate", 0.01, "1/day", "chance an SMB takes up a worthwhile tool, per day, alone",
       "assumption: a worthwhile tool is taken up within a few months", "business", 0.0, 1.0),
    _p("tool_imitation_weight", 2.0, "factor", "rise in tool adoption per unit share of SMBs using it",
       "[karsai2014skype]: adoption via influence linear in the adopting share (Karsai 2014); weight assumed",
       "business", 0.0, 50.0),
    _p("smb_fixed_cost_usd_month", 0.5, "USD/month", "monthly cost to a small business of serving "
       "its WhatsApp customers (staff time), per real firm",
       "assumption: sets which firms are unprofitable (B3)", "business", 0.0, 10_000.0),
    _p("smb_growth_per_year", 0.2, "1/year", "yearly customer growth of a profitable small business, by "
       "word of mouth (new customers among its customers' contacts)",
       "assumption: B3, profitable firms grow by word of mouth by a fifth a year", "business", 0.0, 10.0),
    _p("api_move_chats_per_day", 500.0, "chats/day", "chats a day of a real firm above which a small "
       "business needs the Business Platform (volume, B3)",
       "assumption: a team answers the app by hand up to ~500 chats a day; keeps small firms moving "
       "up a minor part of the ~5e4 API firms of [mobilesquared2020api] (B3)", "business",
       0.0, 1e6),
    _p("api_move_min_profit_usd_month", 50.0, "USD/month", "monthly profit per real firm a small business "
       "needs to move to the Business Platform (resources, B3)",
       "assumption: integration through a provider costs up to $350/month (SOURCES.md#bsp-fees)", "business",
       0.0, 1e6),
    _p("service_cost_per_chat_usd", 0.2, "USD/chat", "an enterprise's staff cost of answering a "
       "service chat (G1)", "assumption: a few minutes of an agent's time at India/Brazil wages",
       "business", 0.0, 100.0),
    _p("chatbot_fee_usd_month", 50.0, "USD/month", "what a chatbot costs a real enterprise a month, "
       "billed by its solution provider (G1, B4)",
       "assumption: BSP chatbot plans run $50-500/month, the low end as an add-on to the provider's "
       "plan (SOURCES.md#bsp-fees: add-ons of $10/month); keeps providers' takings within 0-20% of "
       "messaging fees (SOURCES.md#target-11)", "business",
       0.0, 1e6),
    _p("chatbot_deflection", 0.6, "share", "share of service chats a chatbot settles without staff",
       "assumption: vendors claim 50-80%", "business", 0.0, 1.0),
    _p("crm_fee_usd_month", 50.0, "USD/month", "what CRM and analytics cost a real enterprise a month, "
       "billed by its solution provider (G1, B4)", "assumption: an add-on below providers' monthly "
       "fees (SOURCES.md#bsp-fees: $29-349 plans, $10 add-ons)", "business", 0.0, 1e6),
    _p("crm_conversion_uplift", 0.2, "share", "rise in an enterprise's conversion with CRM and "
       "analytics (better targeted offers, G1)", "assumption: better targeted offers convert a "
       "fifth more", "business", 0.0, 5.0),
    _p("ctwa_budget_per_user_year", 3.0, "USD/user/year", "initial click-to-chat ad budgets (A3)",
       "[meta2022q3call]: CTWA $1.5 B run-rate in Q3 2022 growing +80%/yr, i.e. several $ B by 2025; set "
       "with ctwa_clicks_per_user_day and ctwa_conversion so click-to-chat earns above paid "
       "messaging and holds steady (SOURCES.md#fact-7)", "ads", 0.0, 100.0),
    _p("ctwa_cpc_usd", 0.03, "USD/click", "click-to-chat reserve cost per click, India-like",
       "[adamigo2026cpm]: CPC $0.12-2.69; assumption for WhatsApp entry points", "ads", 0.0, 100.0),
    _p("ctwa_clicks_per_user_day", 0.01, "clicks/active user/day",
       "click-to-chat clicks the ad inventory can deliver; beyond it the price rises",
       "assumption: limited Facebook/Instagram inventory (SOURCES.md#ads-products)", "ads", 0.0, 1.0),
    _p("ctwa_conversion", 0.06, "share", "share of click-to-chat conversations that end in a sale",
       "assumption: a user who clicked and wrote is warmer than a broadcast's 1-4% "
       "([richautomate2026whatsapp])",
       "business", 0.0, 1.0),
    _p("utility_rate", 0.03, "1/customer/day", "chance an enterprise upsold to utility sends a customer "
       "a utility update, by any channel",
       "SOURCES.md#template-volume: 0.2-0.5 B paid templates/day; set so that, after the upsold share "
       "and the channel choice, WhatsApp carries the volume of 0.01 a customer (the previous default)",
       "business", 0.0, 1.0),
    _p("authentication_rate", 0.011, "1/customer/day", "chance of a one-time code to a customer, by any "
       "channel", "assumption, SOURCES.md#template-volume; set so that WhatsApp's share of codes "
       "carries the volume of 0.005 a customer (the previous default)", "business", 0.0, 1.0),
    _p("marketing_rate", 0.165, "1/customer/day", "intended marketing sends per customer per day of an "
       "enterprise upsold to marketing, by any channel",
       "calibrated: wasim calibrate (results/calibration) to paid messaging $2 B/yr, "
       "SOURCES.md#target-13", "business", 0.0, 5.0),
    _p("flight_rate", 0.001, "1/customer/day", "chance an airline customer flies today (P1)",
       "assumption: a customer flies a few times a year", "business", 0.0, 1.0),
    _p("disruption_prob", 0.2, "probability", "chance a flight is delayed or changes gate (P1)",
       "assumption: about one flight in five is delayed or changes gate", "business", 0.0, 1.0),
    _p("bank_transaction_rate", 0.05, "1/customer/day", "chance of a bank alert for a customer (P2)",
       "assumption: an alert every few weeks per customer", "business", 0.0, 1.0),
    _p("order_rate", 0.002, "1/customer/day", "chance a shop customer orders in the chat (P3)",
       "assumption: an order in the chat every year or two per shop customer", "business", 0.0, 1.0),
    # --- payments ($1, $2) and commerce (P3, F1) --------------------------------------------
    _p("p2p_rate", 0.02, "1/adopter/day", "chance an adopter sends money to a contact ($1)",
       "[et2024whatsapppay]: 51 M tx/month, Nov 2024", "payments", 0.0, 1.0),
    _p("p2p_invite_link_prob", 0.2, "probability",
       "chance a recipient without a linked account links one to receive a transfer ($1)",
       "assumption: UPI transfers need a linked recipient (SOURCES.md#payments-india); receiving "
       "money is the "
       "strongest nudge to link", "payments", 0.0, 1.0),
    _p("p2p_amount_usd", 20.0, "USD", "mean peer-to-peer transfer", "assumption: small everyday "
       "transfers", "payments",
       0.0, 10_000.0),
    _p("p2p_fee_rate", 0.0, "share", "fee on peer-to-peer transfers ($1)",
       "SOURCES.md#payments-derived: P2P free", "prices", 0.0, 0.2),
    _p("merchant_fee_rate", 0.0399, "share", "fee on in-chat business payments on card rails ($2)",
       "[facebook2020brazil]: Brazil 3.99% (2020)", "prices", 0.0, 0.2),
    _p("card_rail_share_in", 0.0, "share", "share of in-chat business payments on fee-bearing card "
       "rails, India-like", "SOURCES.md#payments-india: UPI carries no merchant fee (zero MDR)",
       "payments", 0.0, 1.0),
    _p("card_rail_share_br", 0.2, "share", "share of in-chat business payments on card rails (3.99% "
       "merchant fee), Brazil-like; the rest go by the fee-free instant rail",
       "assumption: Pix, free, dominates ([facebook2020brazil] cards; SOURCES.md#payments-brazil)",
       "payments", 0.0, 1.0),
    _p("card_rail_share_eu", 0.0, "share", "share of in-chat business payments on card rails, "
       "Europe-like", "assumption: WhatsApp runs no payments in Europe; it takes card fees only where "
       "it runs card payments, Brazil ([facebook2020brazil], SOURCES.md#payments-derived)",
       "payments", 0.0, 1.0),
    _p("incumbent_wallet_share_in", 0.844, "share", "share of the region's payments held by incumbent "
       "wallets; it holds back users' linking of an account in the chat",
       "[digitalsevaa2025upi]: PhonePe 47.7% + Google Pay 36.7% of UPI", "payments", 0.0, 1.0),
    _p("incumbent_wallet_share_br", 0.9, "share", "share of the region's payments held by incumbents "
       "(banks' own apps)", "assumption: Pix in banks' apps dominates (SOURCES.md#payments-brazil)",
       "payments", 0.0, 1.0),
    _p("incumbent_wallet_share_eu", 0.95, "share", "share of the region's payments held by incumbents "
       "(cards, banks' apps)", "assumption: no WhatsApp payments in Europe (SOURCES.md#payments-derived)",
       "payments", 0.0, 1.0),
    _p("upi_cap_day", 0, "day", "day the India-like region's payments open under the regulator's "
       "20 M-user cap, then 40 M, 100 M and none on their dates (0 = no caps, as since 31 Dec 2024)",
       "[npci2020approval; entrackr2022whatsapppay; npci2024cap]: 5 Nov 2020 (20 M), Nov 2021 "
       "(40 M), Apr 2022 (100 M), removed 31 Dec 2024", "events", 0, 100_000),
    _p("upi_base_users", 500e6, "users", "WhatsApp users in India: the caps are shares of them, "
       "applied to the India-like region's users", "[telecomlive2023india]: India ~500 M users",
       "payments", 1.0, 1e10),
    _p("payment_adoption_rate", 0.0005, "1/day", "chance a user links a bank account, per day",
       "assumption: slow adoption, slowed further by privacy concern", "payments", 0.0, 1.0),
    _p("payment_peer_weight", 2.0, "factor", "rise in payment adoption per unit share of contacts who pay",
       "[karsai2014skype]: adoption via influence is linear in the fraction of adopting neighbours "
       "(Karsai 2014); weight assumed", "payments", 0.0, 50.0),
    _p("merchant_fee_elasticity", 1.5, "elasticity",
       "fall in in-chat business payments per % merchant fee rise",
       "assumption: merchants steer buyers to fee-free rails (UPI, Pix; "
       "SOURCES.md#payments-derived)", "payments", 0.0, 10.0),
    _p("shop_commission_rate", 0.01, "share", "platform commission on in-chat shop orders (P3)",
       "assumption: P3, no public figure; a small take on in-chat orders", "prices", 0.0, 0.5),
    _p("shopping_section", False, "switch", "a shopping section with curated offers (F1)",
       "assumption: F1 is a future revenue stream, off by default", "policy"),
    _p("shopping_launch_day", 1, "day", "day the shopping section opens", "assumption: a lever of "
       "the experiment, day 1 by default", "policy",
       1, 100_000),
    _p("shopping_commission_rate", 0.05, "share", "commission on shopping-section orders (F1)",
       "assumption: F1, a marketplace-like take on curated offers", "prices", 0.0, 0.5),
    _p("shopping_order_uplift", 0.5, "share", "extra shop orders through the shopping section",
       "assumption: curated offers add half as many orders again", "business", 0.0, 10.0),
    # --- virtual goods (F2) -----------------------------------------------------------------
    _p("virtual_goods", False, "switch", "sticker store with paid packs (F2)",
       "assumption: F2 is a future revenue stream, off by default", "policy"),
    _p("virtual_goods_launch_day", 1, "day", "day the sticker store opens", "assumption: a lever of "
       "the experiment, day 1 by default",
       "policy", 1, 100_000),
    _p("sticker_price_usd", 0.99, "USD/pack", "price of a personalised sticker pack",
       "[techcrunch2015line; couriermedia2020line]: LINE sticker market", "prices", 0.0, 100.0),
    _p("sticker_purchase_rate", 0.0002, "1/active user/day", "chance an active user buys a pack",
       "SOURCES.md#stickers-derived: <= $0.05-0.2 per MAU per year", "users", 0.0, 1.0),
    _p("free_pack_rate", 0.002, "1/active user/day", "chance an active user without one takes a free "
       "sticker pack from the store (F2)", "[goodyfeed2018stickers]: WhatsApp's own packs are free "
       "(since Oct 2018); "
       "rate assumed", "users", 0.0, 1.0),
    _p("free_pack_gateway", 1.0, "factor", "rise in a user's chance to buy packs once she has a free one",
       "assumption: sampling leads to buying; keeps sticker revenue within "
       "SOURCES.md#stickers-derived's <= $0.05-0.2 "
       "per MAU per year", "users", 0.0, 20.0),
    _p("brand_pack_budget_share", 0.02, "share of a month's budget",
       "what each advertiser pays for a branded sticker pack in a holiday drop (F2)",
       "[goodyfeed2018stickers]: branded packs were used as promotion (Disney 2018); size assumed",
       "prices", 0.0, 1.0),
    _p("holiday_sticker_boost", 3.0, "factor", "purchase boost in a limited-edition holiday week",
       "SOURCES.md#stickers-derived: scarcity and urgency", "users", 1.0, 100.0),
    _p("holiday_drop_days", 7, "days", "length of a limited-edition sticker drop (F2)",
       "assumption: a holiday week", "events", 1, 60),
    _p("holiday_valentines_day", 45, "day of year", "day of year of the Valentine's sticker drop (F2)",
       "assumption: Valentine's Day, 14 February", "events", 1, 365),
    _p("holiday_diwali_day", 305, "day of year", "day of year of the Diwali sticker drop (F2)",
       "assumption: Diwali falls in late October or November; a typical date", "events", 1, 365),
    _p("holiday_christmas_day", 359, "day of year", "day of year of the Christmas sticker drop (F2)",
       "assumption: Christmas, 25 December", "events", 1, 365),
    # --- behavioural constants of the organisations -----------------------------------------
    _p("firm_memory_days", 30.0, "days", "days over which a firm averages its sales, chats and ad returns",
       "assumption: firms review a month of figures", "business", 1.0, 365.0),
    _p("budget_adapt_step", 0.02, "1/day", "daily relative change of a firm's or advertiser's ad budget "
       "after a good or bad return", "assumption: slow learning by small steps", "business", 0.0, 0.5),
    _p("advertiser_return_hurdle", 1.05, "value/cost", "return on spend below which an advertiser cuts "
       "its budget, above which it may raise it", "assumption: a 5% margin over cost", "ads", 0.5, 5.0),
    _p("advertiser_binding_share", 0.9, "share", "share of its auction budget an advertiser must have spent "
       "for the budget to count as binding (only then does more budget buy more)", "assumption: a "
       "budget nearly spent counts as binding", "ads",
       0.0, 1.0),
    _p("advertiser_value_ceiling", 3.0, "x starting budget", "most value an advertiser can draw from "
       "the platform in a day, as a multiple of its starting auction budget: the value of its clicks (or "
       "impressions) is concave, V(c) = V_max (1 - exp(-c v / V_max)), so its marginal return falls as it "
       "buys more", "[simon1980shape]: diminishing returns to advertising from the first unit; ceiling "
       "assumed", "ads", 1.0, 100.0),
    _p("advertiser_budget_sigma", 1.0, "log-units", "lognormal spread of advertisers' starting budgets",
       "assumption: heavy-tailed ad spend", "ads", 0.0, 3.0),
    _p("advertiser_value_sigma", 0.5, "log-units", "lognormal spread of advertisers' click and impression "
       "values around the region's price index (mean 1)", "assumption: advertisers' values spread "
       "by about half around the regional index", "ads", 0.0, 2.0),
    _p("smb_click_to_chat_share", 0.5, "share", "share of click-to-chat ad budgets held by small "
       "businesses rather than enterprises (A3)", "assumption: no public split", "business", 0.0, 1.0),
    _p("smb_size_sigma", 1.5, "log-units", "lognormal spread of small businesses' customer counts, "
       "between the simulated ones and between the real firms each stands for",
       "assumption: heavy-tailed firm sizes", "business", 0.0, 3.0),
    _p("enterprise_size_sigma", 1.0, "log-units", "lognormal spread of enterprises' customer counts",
       "assumption: heavy-tailed firm sizes", "business", 0.0, 3.0),
    _p("partner_size_sigma", 0.5, "log-units", "lognormal spread of partners' customer counts",
       "assumption: a few large airlines, banks and shops", "business", 0.0, 3.0),
    _p("smb_margin_low", 0.2, "share of sales", "lowest gross margin of a small business (drawn uniformly)",
       "assumption: retail and service margins", "business", 0.0, 1.0),
    _p("smb_margin_high", 0.5, "share of sales", "highest gross margin of a small business",
       "assumption: retail and service margins", "business", 0.0, 1.0),
    _p("enterprise_margin", 0.3, "share of sales", "gross margin of an enterprise",
       "assumption: a typical gross margin", "business", 0.0, 1.0),
    _p("smb_losing_months_to_exit", 3, "months", "losing months in a row after which a small business "
       "closes", "assumption: one bad month is noise, and a new firm's 30-day averages take that long "
       "to fill", "business", 1, 24),
    _p("airline_reach", 0.3, "customers/user", "airlines' customers as a share of users (all airlines)",
       "assumption: a minority of users fly with a partner airline", "business", 0.0, 5.0),
    _p("bank_reach", 0.8, "customers/user", "banks' customers as a share of users (all banks)",
       "assumption: most users bank with a partner bank", "business", 0.0, 5.0),
    _p("shop_reach", 1.0, "customers/user", "shops' customers as a share of users (all shops)",
       "assumption: every user is, on average, a customer of one partner shop", "business", 0.0, 5.0),
    _p("disruption_support_share", 0.3, "share", "share of disrupted passengers who open a support chat",
       "assumption: a minority of disrupted passengers ask for help in the chat", "business", 0.0, 1.0),
    _p("p2p_fee_cutoff_rate", 0.1, "share of amount", "P2P fee at which transfers stop (they fall "
       "linearly with the fee up to it)", "assumption; SOURCES.md#payments-derived: P2P is free "
       "where it thrives", "business",
       0.001, 1.0),
]

PARAMS: dict[str, Param] = {p.name: p for p in _SCHEMA}


def defaults() -> dict[str, Any]:
    """Every parameter at its default."""
    return {name: p.default for name, p in PARAMS.items()}


def resolve(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults updated with ``overrides``, each checked against the schema."""
    values = defaults()
    for name, value in (overrides or {}).items():
        if name not in PARAMS:
            raise ParameterError(name, f"unknown parameter; see `wasim params` ({_close(name)})")
        values[name] = PARAMS[name].coerce(value)
    if sum(values[f"region_weight_{r}"] for r in REGIONS) <= 0:
        raise ParameterError("region_weight_in", "at least one region weight must be positive")
    if values["smb_margin_low"] > values["smb_margin_high"]:
        raise ParameterError("smb_margin_low", f"got {values['smb_margin_low']!r}; allowed: at most "
                             f"smb_margin_high ({values['smb_margin_high']!r})")
    _check_ultimatum(values)
    return values


def _check_ultimatum(values: dict[str, Any]) -> None:
    """An ultimatum's dates must come in their only possible order: announcement, then any
    postponement, then the deadline (SOURCES.md#event-2021). Without an ultimatum the other two dates are
    unused, so that a spec can fix them and vary ``ultimatum_day`` (0 or a day)."""
    announced, deadline = values["ultimatum_day"], values["ultimatum_deadline_day"]
    postponed = values["postponement_day"]
    if announced == 0:
        return
    if deadline <= announced:
        raise ParameterError("ultimatum_deadline_day",
                             f"got {deadline}, not after ultimatum_day = {announced}; allowed: a "
                             "day after the announcement")
    if postponed and not announced < postponed < deadline:
        raise ParameterError("postponement_day",
                             f"got {postponed}; allowed: 0 (none) or a day after ultimatum_day = "
                             f"{announced} and before ultimatum_deadline_day = {deadline}")


def _close(name: str) -> str:
    import difflib

    near = difflib.get_close_matches(name, PARAMS, n=3)
    return "did you mean " + ", ".join(near) if near else "no similar name"
