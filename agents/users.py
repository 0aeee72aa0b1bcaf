"""Users: every consumer is an individual, updated all at once over numpy arrays.

One ``UserPopulation`` agent holds the traits and states of all users (RecSim-style
population entity). Each response of a user is a small vectorised function of those arrays,
defined here and testable alone (``annoyance_after``, ``block_draws``, ``churn_hazard``...);
``docs/ODD.md`` gives each rule with its source, and ``agents.reference_users`` states the
same rules one user at a time (the docking oracle). ``population[i]`` shows one user.

The users write only their own arrays. What the platform showed them today reaches them as
one typed record (``model.exposure.Exposure``), which ``react`` consumes; the blocks they
make go back as a ``Blocks`` record; their columns of the day's row come from ``columns``.
The traits' distributions are ``agents.traits``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

import mesa
import numpy as np
import scipy.sparse as sp

from agents.traits import INITIAL_SETTINGS, draw_traits
from agents.traits import interest_draws as interest_draws  # the model's advertisers draw it too
from model.attention import MediaAttention
from model.blocks import BlockUniforms, block_bounds, blockwise, in_background, map_blocks
from model.exposure import Blocks, Exposure
from model.network import NeighbourCounts
from model.params import REGIONS
from model.sampling import distinct


class UserState(IntEnum):
    POTENTIAL = 0  # in the reachable pool, not yet joined
    ACTIVE = 1  # on the platform only
    MULTIHOMING = 2  # on the platform and on a rival app
    CHURNED = 3  # left for a rival


class Rival(IntEnum):
    NONE = 0
    PRIVACY = 1  # Signal-like: pulls the privacy-concerned
    FEATURE = 2  # Telegram-like: pulls those who want its extra features


RIVALS = (Rival.PRIVACY, Rival.FEATURE)


class Presence(IntEnum):
    """Where a user can be reached, the groups of ``UserPopulation.contacts``."""

    HERE_ONLY = 0
    MULTIHOMING_PRIVACY = 1
    MULTIHOMING_FEATURE = 2
    LEFT_PRIVACY = 3
    LEFT_FEATURE = 4


def presence(state: np.ndarray, rival: np.ndarray) -> np.ndarray:
    """Presence group of users in ``state`` on ``rival`` (-1: not yet joined)."""
    group = np.full(len(state), -1, dtype=np.int64)
    group[state == UserState.ACTIVE] = Presence.HERE_ONLY
    mh = state == UserState.MULTIHOMING
    group[mh] = rival[mh]
    left = state == UserState.CHURNED
    group[left] = 2 + rival[left].astype(np.int64)
    return group


@dataclass
class DayOutcome:
    """What the users did today, for the day's metrics."""

    churned: int = 0
    churn_ads: float = 0.0
    churn_privacy: float = 0.0
    churn_peers: float = 0.0
    churn_other: float = 0.0
    returned: int = 0
    joined: int = 0
    started_multihoming: int = 0
    stopped_multihoming: int = 0
    rival_signups: dict[str, int] = field(default_factory=lambda: {r.name.lower(): 0 for r in RIVALS})
    opted_out: int = 0


# --- the users' responses, one pure function each --------------------------------------------
def annoyance_after(annoyance: np.ndarray, intolerance: np.ndarray, exposure: Exposure, p) -> np.ndarray:
    """Tomorrow's annoyance stock (I1): it decays by ``annoyance_decay`` a day and grows with
    today's exposure times the user's intolerance (1 - ad tolerance): ``annoyance_per_ad`` per
    display ad, a creator's sponsored post counting as ``influencer_annoyance_weight`` of an ad
    (native content annoys less, [hohnhold2015ads]), and ``annoyance_per_message`` per promotional
    message (chat-list messages are hard to overlook, A1). The long-run effect is about
    three times the one-month effect ([goli2025pandora])."""
    ads = exposure.display_ads + np.float32(p.influencer_annoyance_weight) * exposure.influencer_posts
    messages = exposure.promo_messages
    growth = np.float32(p.annoyance_per_ad) * ads + np.float32(p.annoyance_per_message) * messages
    return annoyance * np.float32(1 - p.annoyance_decay) + intolerance * growth


def block_draws(senders: np.ndarray, recipients: np.ndarray, annoyance: np.ndarray, p,
                rng: np.random.Generator) -> Blocks:
    """Each marketing delivery (``senders[k]`` to ``recipients[k]``) is blocked or reported
    with chance ``block_per_annoyance`` x the recipient's ``annoyance`` of the morning (A1: annoyed users
    block or report). Returns the blocks and each sender's deliveries."""
    chance = np.float32(p.block_per_annoyance) * annoyance[recipients]
    blocked = rng.random(len(recipients), dtype=np.float32) < chance
    ids, counts = np.unique(senders, return_counts=True)
    delivered_by = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    return Blocks(senders=senders[blocked], users=recipients[blocked], delivered_by=delivered_by)


def concern_after(concern: np.ndarray, privacy_sensitivity: np.ndarray, pressure: np.ndarray,
                  media_attention: float, peer_concern: np.ndarray, privacy_switchers: np.ndarray,
                  p) -> np.ndarray:
    """Privacy concern moves by ``concern_adjust_rate`` toward a target (I2, SOURCES.md#privacy-paradox): the
    user's sensitivity times the pressure of data sharing and media attention, plus her
    contacts' mean concern and the share of her contacts who recently installed the privacy
    rival (``privacy_switchers``, the bandwagon kernel). Without news the target is her
    personal baseline, so concern habituates back to it: contacts settled on the rival are no
    news (assumption)."""
    target = privacy_sensitivity * (pressure + np.float32(media_attention))
    target += np.float32(p.peer_concern_weight) * peer_concern
    target += np.float32(p.switch_concern_weight) * privacy_switchers
    return concern + np.float32(p.concern_adjust_rate) * (target - concern)


def responsiveness_after(responsiveness: np.ndarray, display_ads: np.ndarray, relevant_ads: np.ndarray,
                         p) -> np.ndarray:
    """Tomorrow's responsiveness to display ads (learned ad blindness, [hohnhold2015ads]): each
    ad seen takes a share ``ad_blindness_rate`` of it, an ad matching the viewer's interest
    ``relevant_ad_blindness_weight`` of that (blindness is driven by the quality of past ads);
    a share ``ad_blindness_recovery`` of what is lost comes back each day."""
    irrelevant = display_ads - relevant_ads
    relevant = np.float32(p.relevant_ad_blindness_weight) * relevant_ads
    taught = np.float32(p.ad_blindness_rate) * (irrelevant + relevant)
    kept = responsiveness * np.maximum(1 - taught, 0)
    return kept + np.float32(p.ad_blindness_recovery) * (1 - responsiveness)


def data_opt_outs(may_opt_out: np.ndarray, concern: np.ndarray, p, rng: np.random.Generator) -> np.ndarray:
    """Ids of the users who opt out of data sharing today (D1, [hunton2016whatsapp]): of those who may
    (``may_opt_out``: on the platform, not opted out, while users expect ``opt_out``), each
    whose concern is above ``optout_threshold`` opts out w.p. ``optout_rate``."""
    may = np.flatnonzero(may_opt_out & (concern > p.optout_threshold))
    return may[rng.random(len(may), dtype=np.float32) < p.optout_rate]


def promo_optin_after(optin: np.ndarray, promoted: np.ndarray, active: np.ndarray, annoyance: np.ndarray,
                      unworried: np.ndarray, draw: np.ndarray, p) -> np.ndarray:
    """Promotional opt-in tomorrow (A1), one uniform ``draw`` per user: an opted-in
    user who got a promotional message today (``promoted``) withdraws w.p.
    ``promo_optout_rate`` x annoyance; an active user not opted in opts in w.p.
    ``promo_optin_rate`` x (1 - annoyance) x ``unworried`` (1 - concern)."""
    withdraw = optin & promoted & (draw < np.float32(p.promo_optout_rate) * annoyance)
    willing = np.float32(p.promo_optin_rate) * np.maximum(1 - annoyance, 0) * unworried
    join = active & ~optin & (draw < willing)
    return (optin & ~withdraw) | join


def payment_adoption_chance(payment_propensity: np.ndarray, unworried: np.ndarray,
                            linked_share: np.ndarray, room: np.ndarray, p) -> np.ndarray:
    """Daily chance of linking a bank account (F1): the user's propensity, held back by
    concern and by her region's ``room`` (what incumbent wallets and a user cap leave,
    ``model.payment_rails``), rising linearly with the share of her contacts who pay
    (``payment_peer_weight``)."""
    adoption = np.float32(p.payment_adoption_rate) * payment_propensity * unworried * room
    adoption *= 1 + np.float32(p.payment_peer_weight) * linked_share
    return adoption


CLICK_THROUGH = {"personalised": "ctr_personalised", "contextual": "ctr_contextual",
                 "message": "ctr_sponsored"}
"""The parameter giving each kind of ad's click-through: personalised and contextual display
ads, sponsored messages."""


BLINDING_KINDS = ("personalised", "contextual")
"""Display ads, whose click-through falls with the viewer's learned blindness; sponsored
messages arrive in the chats, away from the tab where blindness is learned (assumption)."""


def click_through(kind: str, p) -> float:
    """Clicks per ad of ``kind`` (one of ``CLICK_THROUGH``) seen by a fully responsive user;
    targeting doubles it (D1)."""
    if kind not in CLICK_THROUGH:
        raise ValueError(f"click-through kind: got {kind!r}; allowed: {', '.join(CLICK_THROUGH)}")
    return getattr(p, CLICK_THROUGH[kind])


def privacy_salience(media_attention: float, p) -> float:
    """How present privacy is in users' minds today: ``privacy_salience_calm`` without news,
    rising linearly to 1 with media attention (assumption; SOURCES.md#fact-3)."""
    calm = p.privacy_salience_calm
    return calm + (1 - calm) * min(media_attention, 1.0)


def churn_hazard(annoyance, concern, switching_cost, peer_exposure, salience, p):
    """Daily churn hazards beyond calm attrition, by cause: (ads, privacy, peers).

    Calm attrition is peer-independent (Karsai 2014, [karsai2014skype]); the ad (I1) and
    privacy (I2) hazards are multiplied by ``peer_churn_multiplier`` per recently departed
    contact, capped (Nitzan & Libai 2011; Dasgupta 2008). Privacy only counts above the
    user's switching cost (privacy paradox, SOURCES.md#privacy-paradox), and mostly while
    it is salient (``privacy_salience``).
    """
    h_ads = np.float32(p.ad_churn_slope) * annoyance
    h_privacy = np.float32(p.privacy_churn_slope * salience) * np.maximum(concern - switching_cost, 0)
    with np.errstate(over="ignore"):  # a steep multiplier's overflow is capped like any other
        multiplier = np.minimum(
            np.exp(np.float32(np.log(p.peer_churn_multiplier)) * peer_exposure),
            np.float32(p.peer_multiplier_cap),
        )
    h_peers = (h_ads + h_privacy) * (multiplier - 1)
    return h_ads, h_privacy, h_peers


def install_hazards(concern, privacy_sensitivity, feature_appetite, on_privacy, on_feature,
                    media_attention: float, bandwagon_privacy, bandwagon_feature, p):
    """Daily chances to install each rival: (privacy rival, feature rival).

    Three drives add up: a calm pull, concern or feature appetite times the rival's reach
    plus the share of contacts on it (adoption linear in adopting contacts,
    [karsai2014skype]); news, media attention times the user's own trait for that rival
    (privacy sensitivity, feature appetite; [candia2019attention]); and a bandwagon, on days
    when the share of her contacts who installed the rival recently is at or above her
    adoption threshold (``bandwagon_*``, booleans; [granovetter1978threshold],
    [karsai2016skype])."""
    rate = np.float32(p.multihoming_rate)
    news = np.float32(p.attention_install_rate * media_attention)
    bandwagon = np.float32(p.bandwagon_rate)
    privacy = rate * concern * (np.float32(p.rival_privacy_reach) + on_privacy)
    privacy += news * privacy_sensitivity + bandwagon * bandwagon_privacy
    feature = rate * feature_appetite * (np.float32(p.rival_feature_reach) + on_feature)
    feature += news * feature_appetite + bandwagon * bandwagon_feature
    return privacy, feature


def _above(largest_chance: float) -> float:
    """A bound just above ``largest_chance``: a draw at or over it cannot fall below any
    chance computed in float32 that it bounds (the margin is far above float32 rounding).
    Rules evaluated only for the draws below it give the same outcome as for everyone."""
    return largest_chance * (1 + 1e-4) + 1e-9


def _least_float32_from(bound: float) -> np.float32:
    """The least float32 at or above ``bound``: a float32 draw lies below it exactly when it
    lies below ``bound`` (a float32 comparison, without widening a million draws)."""
    rounded = np.float32(bound)
    return rounded if float(rounded) >= bound else np.nextafter(rounded, np.float32(np.inf))


class Bandwagons(NamedTuple):
    """Who is in each rival's bandwagon: a flag for every user by rival, and the ids of the
    members of any."""

    flags: list[np.ndarray]
    members: np.ndarray


class DayChances(NamedTuple):
    """Users' chances today (``UserPopulation.chances``), one entry per user."""

    leave: np.ndarray  # of leaving (calm attrition and the causes below)
    leave_by_cause: tuple[np.ndarray, np.ndarray, np.ndarray]  # ads, privacy, peers (``churn_hazard``)
    switch: np.ndarray  # of installing a rival, or for multi-homers of dropping theirs
    pulls: tuple[np.ndarray, np.ndarray]  # of installing the privacy and the feature rival
    come_back: np.ndarray  # of a churned user returning


class UserPopulation(mesa.Agent):
    """All users of the platform, vectorised; one Mesa agent for the whole population."""

    def __init__(self, model, graph: sp.csr_array, region: np.ndarray, n_initial: int, rng):
        super().__init__(model)
        p = model.p
        self._rival_rng = rng  # the users' own: traits at set-up, then the choice of rival; nobody else's
        self._uniforms = BlockUniforms(rng, len(region))  # one per user, drawn ahead
        # blocks have a stream of their own: how many messages firms send moves no other draw
        (self._block_rng,) = rng.spawn(1)
        # so have sticker sales: how many users are active moves none of the users' other draws
        (self._sticker_rng,) = rng.spawn(1)
        # and opt-outs and joins: how many opt out or move moves none of the users' other draws
        self._optout_rng, self._join_rng = rng.spawn(2)
        self.graph = graph
        self.region = region
        n = len(region)
        # each region's users are one run of ids (network.region_blocks): regional work
        # reads slices instead of masks
        assert np.all(np.diff(region) >= 0), "regions must be contiguous blocks of ids"
        edges = np.searchsorted(region, np.arange(len(REGIONS) + 1))
        self.region_span = [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
        self._contacts_concern = None  # the day's, summed while firms trade (start_day)
        self._bandwagons = None  # the day's, read while firms trade (start_day)

        # traits (agents.traits.TRAITS: daily_active, status_propensity, status_time,
        # messages_per_day, ad_tolerance, ... interest)
        for name, values in draw_traits(p, n, rng).items():
            setattr(self, name, values)
        capped = np.minimum(self.messages_per_day / np.float32(p.messages_per_day_mean),
                            np.float32(p.business_affinity_cap))
        self.business_affinity = capped / capped.mean()  # relative number of firms she deals with
        self.most_business_affinity = float(self.business_affinity.max())  # bounds firms' draws of customers
        # the traits' largest values bound the day's chances (``_above``); traits never change
        self._most_sensitive = float(self.privacy_sensitivity.max())
        self._most_feature_hungry = float(self.feature_appetite.max())
        self._most_payment_prone = float(self.payment_propensity.max())
        self._most_sticker_prone = float(self.sticker_propensity.max())
        self._price_sensitivity_range = np.array([self.price_sensitivity.min(), self.price_sensitivity.max()],
                                                 dtype=np.float64)

        # state
        self.state = np.zeros(n, dtype=np.int8)
        self.rival = np.zeros(n, dtype=np.int8)
        first = rng.permutation(n)
        self.state[first[:n_initial]] = UserState.ACTIVE
        self._pool = first[n_initial:]
        self.on_platform = self.state == UserState.ACTIVE
        self._joined = 0
        self.contacts = NeighbourCounts(graph, len(Presence))
        self.contacts.move(np.sort(first[:n_initial]), -1, Presence.HERE_ONLY)
        settings = draw_traits(p, n, rng, INITIAL_SETTINGS)
        self.promo_optin = settings["promo_optin"]
        self.data_optout = np.zeros(n, dtype=bool)
        self.payments_linked = settings["payments_linked"]
        self.linked_contacts = NeighbourCounts(graph, 1)  # joined contacts with a linked account
        # Contacts who have joined (here, on a rival or gone) are the denominator of every
        # contact share: people still in the pool message nobody yet, so as the pool joins,
        # shares do not drift with it
        self.joined = np.zeros(n, dtype=bool)
        self.joined_contacts = NeighbourCounts(graph, 1)
        self._inverse_joined = np.ones(n, dtype=np.float32)
        self._mark_joined(np.sort(first[:n_initial]))
        self.free_stickers = np.zeros(n, dtype=bool)  # has taken a free sticker pack (F2)
        self.annoyance = np.zeros(n, dtype=np.float32)
        self.concern = np.zeros(n, dtype=np.float32)
        self.peer_exposure = np.zeros(n, dtype=np.float32)
        self.responsiveness = np.ones(n, dtype=np.float32)  # to display ads (learned blindness)
        # contacts' recent installs of each rival, a kernel decaying in bandwagon_memory_days
        self.recent_installs = np.zeros((len(RIVALS), n), dtype=np.float32)
        self.attention = MediaAttention(p)
        self.outage_install_chance = 0.0  # set for an outage day (model.events)

        # who is on the app today (start_day)
        self.active_today = np.zeros(n, dtype=bool)
        self._active_by_region: dict[int, np.ndarray] = {}
        self.status_visit = np.zeros(n, dtype=bool)
        self.ever_joined = n_initial
        self.churned_total = 0
        self.returned_total = 0

    # --- views ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.state)

    def __getitem__(self, i: int) -> dict:
        """One user's traits and state, for inspection."""
        fields = ("region", "state", "rival", "daily_active", "messages_per_day", "status_propensity",
                  "status_time", "ad_tolerance", "privacy_sensitivity", "feature_appetite", "switching_cost",
                  "price_sensitivity", "payment_propensity", "sticker_propensity", "interest",
                  "business_affinity", "promo_optin", "data_optout", "payments_linked", "free_stickers",
                  "adoption_threshold", "annoyance", "concern", "peer_exposure", "responsiveness")
        user = {f: getattr(self, f)[i].item() for f in fields}
        user["state"] = UserState(user["state"]).name.lower()
        user["rival"] = Rival(user["rival"]).name.lower()
        user["contacts"] = self.graph.indices[self.graph.indptr[i]:self.graph.indptr[i + 1]]
        return user

    def sharing_under(self, mode: str, block: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Users (of ``block``: a slice, or ids) whose account data is shared under data-sharing
        ``mode`` (D1)."""
        optout = self.data_optout[block]
        if mode == "off":
            return np.zeros(len(optout), dtype=bool)
        if mode == "mandatory":
            return np.ones(len(optout), dtype=bool)
        return ~optout

    def lose_opt_outs(self) -> None:
        """Mandatory sharing: no opt-out stands any more (SOURCES.md#event-2021)."""
        self.data_optout[:] = False

    def contact_share(self, *groups: Presence, block: slice = slice(None)) -> np.ndarray:
        """Share of each user's (of ``block``) contacts who are in any of the presence ``groups``."""
        count = self.contacts[groups[0]][block]
        for group in groups[1:]:
            count = count + self.contacts[group][block]
        return count * self._inverse_joined[block]

    # --- 3. who is active today ----------------------------------------------------------
    def start_day(self) -> None:
        """Daily activity falls linearly with annoyance (Pandora, [goli2025pandora])."""
        draw = self._uniforms()
        today = blockwise(lambda block: self._show_up(block, draw[block]), len(self),
                          dict(active=bool, visit=bool))
        self.active_today, self.status_visit = today["active"], today["visit"]
        self._active_by_region = {}
        # nothing changes concern or who has joined before the reaction phase, nor the
        # bandwagon kernels before the users decide
        self._contacts_concern = in_background(self._sum_of_contacts_concern)
        self._bandwagons = in_background(self._in_bandwagons)
        self._uniforms.draw_ahead()  # the day's other draws, and tomorrow morning's

    def _sum_of_contacts_concern(self) -> np.ndarray:
        """Each user's sum of her joined contacts' concern: the neighbour sum ``graph @ C``,
        the day's largest single operation, run on the other core while firms trade."""
        return self.graph @ np.where(self.joined, self.concern, np.float32(0))

    def _in_bandwagons(self) -> Bandwagons:
        """For each rival, whether each user is in its bandwagon (the share of her contacts who
        installed it recently is at or above her adoption threshold), and who is in any."""
        flags = [self.recent_install_share(rival) >= self.adoption_threshold for rival in RIVALS]
        return Bandwagons(flags, np.flatnonzero(np.logical_or.reduce(flags)))

    def _show_up(self, block: slice, draw: np.ndarray) -> dict[str, np.ndarray]:
        """Who of ``block`` is active and who opens the Updates tab (elementwise). One uniform
        settles both: active if u < a, and opens the tab if also u < a * s, which happens for
        a share s of the active (s <= 1)."""
        p = self.model.p
        engagement = np.clip(1 - np.float32(p.annoyance_engagement_slope) * self.annoyance[block], 0, 1)
        multihoming = self.state[block] == UserState.MULTIHOMING
        engagement *= 1 - np.float32(1 - p.multihoming_activity_factor) * multihoming
        active_chance = self.daily_active[block] * engagement
        on_platform = self.on_platform[block]
        return dict(active=on_platform & (draw < active_chance),
                    visit=on_platform & (draw < active_chance * self.status_propensity[block]))

    def active_in_region(self, region: int) -> np.ndarray:
        """Ids of today's active users in ``region`` (computed once a day)."""
        if region not in self._active_by_region:
            span = self.region_span[region]
            self._active_by_region[region] = span.start + np.flatnonzero(self.active_today[span])
        return self._active_by_region[region]

    def click_through(self, kind: str, viewers: np.ndarray, time: np.ndarray | None = None) -> float:
        """Click-through of ads of ``kind`` (``CLICK_THROUGH``) shown to ``viewers`` (ids): for
        display ads, the kind's times the viewers' mean responsiveness, weighted by their time
        in the tab (impressions follow it; ``time``: theirs, if the caller has read it)."""
        (by_group,) = self.click_through_by_group((kind,), viewers, np.zeros(len(viewers), np.intp), 1, time)
        return float(by_group[0])

    def click_through_by_group(self, kinds: tuple[str, ...], viewers: np.ndarray, group: np.ndarray,
                               groups: int, time: np.ndarray | None = None) -> list[np.ndarray]:
        """``click_through`` of each kind of ``kinds`` for each of ``groups`` audiences at once:
        ``group[i]`` is viewer ``i``'s audience (an audience without viewers gets the kind's own
        click-through). The audiences' responsiveness is weighed once for all kinds."""
        bases = [click_through(kind, self.model.p) for kind in kinds]
        pull = np.ones(groups)
        if any(kind in BLINDING_KINDS for kind in kinds):
            time = self.status_time[viewers] if time is None else time
            held = np.bincount(group, weights=time * self.responsiveness[viewers], minlength=groups)
            total = np.bincount(group, weights=time, minlength=groups)
            np.divide(held, total, out=pull, where=total > 0)
        return [base * pull if kind in BLINDING_KINDS else np.full(groups, base)
                for kind, base in zip(kinds, bases, strict=True)]

    def recent_install_share(self, rival: Rival, block: slice = slice(None)) -> np.ndarray:
        """Share of each user's (of ``block``) contacts who installed ``rival`` in the last days
        (the bandwagon kernel)."""
        return self.recent_installs[rival - 1, block] * self._inverse_joined[block]

    # --- 8. react ------------------------------------------------------------------------
    def react(self, exposure: Exposure, outcome: DayOutcome) -> Blocks:
        """The users' reaction to the day's ``exposure``: first they block or report
        marketing senders (by the morning's annoyance), then annoyance and concern update,
        then promotional opt-in changes and, beside them, opt-outs of data sharing and payment
        adoption. Returns the blocks, for the platform's quality ratings."""
        p = self.model.p
        blocks = block_draws(*exposure.marketing_deliveries, self.annoyance, p, self._block_rng)
        expected = self.model.policy.expected_data_sharing  # mandatory during an ultimatum
        # the morning's concern of joined contacts
        pending, self._contacts_concern = self._contacts_concern, None
        peer_concern = pending.result() if pending is not None else self._sum_of_contacts_concern()
        map_blocks(lambda bounds: self._feel(slice(*bounds), exposure, expected, peer_concern),
                   block_bounds(len(self)), len(self))

        opt_in_draw, link_draw = self._uniforms(), self._uniforms()
        most_unworried = self._most_unworried()  # concern is settled for the day
        # opt-outs and account linking touch nothing opt-in does: on the other core meanwhile
        sharing_and_payments = in_background(
            lambda: self._settle_sharing_and_payments(expected, outcome, link_draw, most_unworried, p))
        self._settle_promo_optin(exposure, opt_in_draw, most_unworried, p)
        sharing_and_payments.result()
        return blocks

    def _settle_sharing_and_payments(self, expected: str, outcome: DayOutcome, link_draw: np.ndarray,
                                     most_unworried: float, p) -> None:
        """Opt-outs of data sharing, while users expect ``opt_out``, then account linking."""
        if expected == "opt_out":
            opt = data_opt_outs(self.on_platform & ~self.data_optout, self.concern, p, self._optout_rng)
            self.data_optout[opt] = True
            outcome.opted_out = len(opt)
        self.link_payments(self._payment_adopters(link_draw, most_unworried, p))

    def _feel(self, block: slice, exposure: Exposure, expected: str, peer_concern: np.ndarray) -> None:
        """Annoyance, responsiveness to ads and concern of the users in ``block`` take in the
        day (elementwise, so blocks run in parallel): ``peer_concern`` is the sum of contacts'
        morning concern."""
        p = self.model.p
        seen = exposure.rows(block)
        self.annoyance[block] = annoyance_after(self.annoyance[block], 1 - self.ad_tolerance[block], seen, p)
        self.responsiveness[block] = responsiveness_after(self.responsiveness[block], seen.display_ads,
                                                          seen.relevant_ads, p)
        privacy_switchers = self.recent_install_share(Rival.PRIVACY, block)
        pressure = self.sharing_under(expected, block) * np.float32(p.sharing_pressure)
        contacts_concern = peer_concern[block] * self._inverse_joined[block]
        self.concern[block] = concern_after(self.concern[block], self.privacy_sensitivity[block], pressure,
                                            self.attention.level, contacts_concern, privacy_switchers, p)

    def _settle_promo_optin(self, exposure: Exposure, draw: np.ndarray, most_unworried: float, p) -> None:
        """Promotional opt-in changes (``promo_optin_after``, one uniform ``draw`` per user),
        evaluated only where one can happen: for users who got a promotional message today and
        drew below the largest chance of withdrawing, and for users who drew below the largest
        chance of opting in."""
        withdraw_most = p.promo_optout_rate * float(self.annoyance.max(initial=0))
        may_change = draw < _above(p.promo_optin_rate * most_unworried)
        may_change |= (exposure.promo_messages > 0) & (draw < _above(withdraw_most))
        who = np.flatnonzero(may_change)
        unworried = 1 - np.minimum(self.concern[who], 1)
        self.promo_optin[who] = promo_optin_after(self.promo_optin[who], exposure.promo_messages[who] > 0,
                                                  self.active_today[who], self.annoyance[who], unworried,
                                                  draw[who], p)

    def _most_unworried(self) -> float:
        """The largest ``1 - min(concern, 1)`` of any user (the factor concern leaves of
        opt-in and payment adoption)."""
        return 1 - min(float(self.concern.min()), 1)

    def _payment_adopters(self, draw: np.ndarray, most_unworried: float, p) -> np.ndarray:
        """Today's active users who link a bank account (``payment_adoption_chance``, one
        uniform ``draw`` per user): concern holds adoption back, the share of contacts who pay
        raises it. Evaluated only for users who drew below the largest chance anyone has."""
        room = self.model.payment_rails.room
        largest = (p.payment_adoption_rate * self._most_payment_prone * most_unworried
                   * float(room.max()) * (1 + p.payment_peer_weight))
        who = np.flatnonzero(draw < _above(largest))
        who = who[self.active_today[who] & ~self.payments_linked[who]]
        unworried = 1 - np.minimum(self.concern[who], 1)
        linked_share = self.linked_contacts[0][who] * self._inverse_joined[who]
        adoption = payment_adoption_chance(self.payment_propensity[who], unworried, linked_share,
                                           room[self.region[who]], p)
        return who[draw[who] < adoption]

    def link_payments(self, users: np.ndarray) -> None:
        """``users`` (distinct, none linked yet) link a bank account ($1)."""
        self.payments_linked[users] = True
        self.linked_contacts.move(users, -1, 0)

    # --- 9. stay, multi-home, leave, return, join ----------------------------------------
    def decide(self, outcome: DayOutcome) -> None:
        """One uniform draw u per user settles her day against her daily chances
        (``chances``): she leaves if u < p_leave, else starts (or stops) multi-homing if
        u < p_leave + p_switch; churned users return if u < p_return. The chances are small,
        so they are used as daily probabilities directly. Then the day's attention decays.

        The chances are evaluated only for the users whose draw lies below a bound on their
        chances (``_may_move``): nobody else can change state today, so the outcome is the
        same as evaluating everyone, at a few percent of the cost."""
        p = self.model.p
        u = self._uniforms()
        who, in_bandwagon = self._may_move(u, p)
        u = u[who]
        state = self.state[who]
        active = state == UserState.ACTIVE
        chance = self.chances(who, in_bandwagon, p)
        leave = self.on_platform[who] & (u < chance.leave)
        switch = ~leave & (u < chance.leave + chance.switch)
        install = switch & active
        uninstall = switch & (state == UserState.MULTIHOMING)
        come_back = (state == UserState.CHURNED) & (u < chance.come_back)

        self._count_churn(outcome, leave, chance.leave, *chance.leave_by_cause)
        # newcomers to a rival: installs, and leavers who were not multi-homing yet
        new_to_rival = install | (leave & active)
        weight_privacy = chance.pulls[0][new_to_rival]
        total = weight_privacy + chance.pulls[1][new_to_rival]
        # by pull; a user without any pull to the privacy rival never picks it
        pick_privacy = self._rival_rng.random(len(total), dtype=np.float32) * total < weight_privacy

        to_rival, leavers = who[new_to_rival], who[leave]
        back_here = who[uninstall | come_back]
        movers = who[leave | install | uninstall | come_back]
        old_group = presence(self.state[movers], self.rival[movers])
        self.rival[to_rival] = np.where(pick_privacy, Rival.PRIVACY, Rival.FEATURE)
        self.state[who[install]] = UserState.MULTIHOMING
        self.state[leavers] = UserState.CHURNED
        self.state[back_here] = UserState.ACTIVE
        self.rival[back_here] = Rival.NONE
        self.annoyance[who[come_back]] = 0
        self.contacts.move(movers, old_group, presence(self.state[movers], self.rival[movers]))
        self.on_platform[movers] = self.state[movers] != UserState.CHURNED  # movers only move on or off

        outcome.started_multihoming = int(np.count_nonzero(install))
        outcome.stopped_multihoming = int(np.count_nonzero(uninstall))
        outcome.returned = int(np.count_nonzero(come_back))
        for rival in RIVALS:
            outcome.rival_signups[rival.name.lower()] = int(np.count_nonzero(self.rival[to_rival] == rival))
        self.churned_total += outcome.churned
        self.returned_total += outcome.returned

        self.peer_exposure *= np.float32(np.exp(-1 / p.peer_memory_days))
        # a float32 one takes numpy's fast path for ``add.at`` (a Python int, a slow one)
        np.add.at(self.peer_exposure, self.contacts.neighbours(leavers)[0], np.float32(1))
        self._remember_installs(to_rival, p)
        outcome.joined = self._join(p)
        self.attention.decay()

    def chances(self, who: np.ndarray, in_bandwagon: list[np.ndarray], p) -> DayChances:
        """The daily chances of users ``who`` (ids; ``in_bandwagon``: for each rival, whether
        each is in its bandwagon). Rivals pull by the share of contacts on them (lock-in both
        ways, SOURCES.md#privacy-paradox), by news and by a bandwagon (``install_hazards``);
        on an outage day today's active users have an extra chance to install one
        (``model.events``); multi-homers drop the rival the fewer of their contacts are on it."""
        multihoming = self.state[who] == UserState.MULTIHOMING
        only_here = self.contact_share(Presence.HERE_ONLY, block=who)  # contacts reachable only here
        on_privacy = self.contact_share(Presence.MULTIHOMING_PRIVACY, Presence.LEFT_PRIVACY, block=who)
        on_feature = self.contact_share(Presence.MULTIHOMING_FEATURE, Presence.LEFT_FEATURE, block=who)

        attention = self.attention.level
        lockin = self.switching_cost[who] * only_here
        lockin[multihoming] *= np.float32(p.multihoming_lockin_factor)
        by_cause = churn_hazard(self.annoyance[who], self.concern[who], lockin, self.peer_exposure[who],
                                privacy_salience(attention, p), p)
        leave = np.float32(p.baseline_churn_per_year / 365) + by_cause[0] + by_cause[1] + by_cause[2]

        pulls = install_hazards(self.concern[who], self.privacy_sensitivity[who], self.feature_appetite[who],
                                on_privacy, on_feature, attention, *in_bandwagon, p)
        switch = pulls[0] + pulls[1]  # install
        if self.outage_install_chance:  # an outage pushes today's active users to a rival
            switch += np.float32(self.outage_install_chance) * self.active_today[who]
        own_rival_share = np.where(self.rival[who][multihoming] == Rival.PRIVACY,
                                   on_privacy[multihoming], on_feature[multihoming])
        switch[multihoming] = np.float32(p.multihoming_drop_per_year / 365) * (1 - own_rival_share)
        come_back = np.float32(p.return_per_year / 365) * only_here
        return DayChances(leave, by_cause, switch, pulls, come_back)

    def _may_move(self, u: np.ndarray, p) -> tuple[np.ndarray, list[np.ndarray]]:
        """Ids of the users whose draw ``u`` lies below a bound on their chance of changing
        state today, and for each rival whether each of them is in its bandwagon. The bound
        is the largest chance any user could have without a bandwagon, plus
        ``bandwagon_rate`` for each rival whose bandwagon she is in, with a margin far above
        float32 rounding. Who is in a bandwagon was read while firms traded (``start_day``);
        the members (a few percent) are checked apart, so everyone else is checked against
        the calm bound alone, which admits few."""
        calm = self._largest_calm_chance(p)
        pending, self._bandwagons = self._bandwagons, None
        bandwagons = pending.result() if pending is not None else self._in_bandwagons()

        def bound(in_how_many) -> np.ndarray:
            return _above(calm + p.bandwagon_rate * in_how_many)

        members = bandwagons.members
        in_how_many = np.add(*(flags[members] for flags in bandwagons.flags), dtype=np.int8)
        near_calm = np.flatnonzero(u < _least_float32_from(bound(0)))
        who = distinct(np.concatenate([near_calm, members.compress(u[members] < bound(in_how_many))]))
        return who, [flags[who] for flags in bandwagons.flags]

    def _largest_calm_chance(self, p) -> float:
        """A number no user's chance of leaving, switching or returning today exceeds, but
        for bandwagons: each term of the chances at its largest over all users."""
        salience = privacy_salience(self.attention.level, p)
        concern = float(self.concern.max(initial=0))
        churn = (p.ad_churn_slope * float(self.annoyance.max(initial=0))
                 + p.privacy_churn_slope * salience * concern)
        peers = np.log(p.peer_churn_multiplier) * float(self.peer_exposure.max(initial=0))
        churn *= np.exp(min(peers, np.log(p.peer_multiplier_cap)))
        news = p.attention_install_rate * self.attention.level
        privacy = p.multihoming_rate * concern * (p.rival_privacy_reach + 1) + news * self._most_sensitive
        appetite = self._most_feature_hungry
        feature = p.multihoming_rate * appetite * (p.rival_feature_reach + 1) + news * appetite
        switch = max(privacy + feature + self.outage_install_chance, p.multihoming_drop_per_year / 365)
        return max(p.baseline_churn_per_year / 365 + churn + switch, p.return_per_year / 365)

    def _remember_installs(self, newcomers: np.ndarray, p) -> None:
        """Today's newcomers to each rival enter their contacts' bandwagon kernels."""
        self.recent_installs *= np.float32(np.exp(-1 / p.bandwagon_memory_days))
        for rival in RIVALS:
            installers = newcomers[self.rival[newcomers] == rival]
            np.add.at(self.recent_installs[rival - 1], self.contacts.neighbours(installers)[0], np.float32(1))

    @staticmethod
    def _count_churn(outcome: DayOutcome, leavers, hazard, h_ads, h_privacy, h_peers) -> None:
        """Each leaver's churn is split over causes by their shares of her hazard
        (``leavers`` selects them from the hazards)."""
        h = hazard[leavers]
        outcome.churned = int(np.count_nonzero(leavers))
        outcome.churn_ads = float(np.sum(h_ads[leavers] / h))
        outcome.churn_privacy = float(np.sum(h_privacy[leavers] / h))
        outcome.churn_peers = float(np.sum(h_peers[leavers] / h))
        explained = outcome.churn_ads + outcome.churn_privacy + outcome.churn_peers
        outcome.churn_other = outcome.churned - explained

    def _join(self, p) -> int:
        """Newcomers from the reachable pool, which grows exogenously (SOURCES.md#users-growth-fit); they join
        the graph where their contacts already are. Bad news deters some: joins fall by
        exp(-``join_attention_dip`` x attention) (assumption)."""
        dip = np.exp(-p.join_attention_dip * self.attention.level)
        expected = p.n_users * p.user_growth_per_year / 365 * dip
        k = min(int(self._join_rng.poisson(expected)), len(self._pool) - self._joined)
        newcomers = self._pool[self._joined:self._joined + k]
        self.state[newcomers] = UserState.ACTIVE
        self.on_platform[newcomers] = True
        self.contacts.move(newcomers, -1, Presence.HERE_ONLY)
        self._mark_joined(newcomers)
        self._joined += k
        self.ever_joined += k
        return k

    def _mark_joined(self, newcomers: np.ndarray) -> None:
        """``newcomers`` join the messaging world: they count in their contacts' shares from
        now on (and, if linked, among their contacts who pay)."""
        self.joined[newcomers] = True
        self.joined_contacts.move(newcomers, -1, 0)
        self.linked_contacts.move(newcomers[self.payments_linked[newcomers]], -1, 0)
        touched = self.contacts.neighbours(newcomers)[0]
        self._inverse_joined[touched] = 1 / np.maximum(self.joined_contacts[0][touched], 1)

    def start_record(self) -> None:
        """The record starts (after a burn-in): the users on the platform are its first
        users; departures and returns count from here."""
        self.ever_joined = int(np.count_nonzero(self.on_platform))
        self.churned_total = 0
        self.returned_total = 0

    def take_free_stickers(self, rate: float) -> None:
        """Active users without one take a free sticker pack today w.p. ``rate`` (F2)."""
        candidates = np.flatnonzero(self.active_today & ~self.free_stickers)
        takes = self._sticker_rng.random(len(candidates), dtype=np.float32) < rate
        self.free_stickers[candidates[takes]] = True

    def buy_stickers(self, rate: float, price_ratio: float) -> int:
        """Sticker packs bought today by active users (F2): free packs whet the appetite
        (``free_pack_gateway``); dearer packs deter the price sensitive (``price_ratio`` =
        price / default price). Chances are evaluated only for the draws below the largest."""
        p = self.model.p
        active = np.flatnonzero(self.active_today)
        draw = self._sticker_rng.random(len(active), dtype=np.float32)
        elasticities = -p.sticker_price_elasticity * self._price_sensitivity_range
        with np.errstate(divide="ignore", over="ignore"):  # free packs: no bound, every draw may buy
            deterrence = np.float64(price_ratio) ** elasticities
        largest = rate * self._most_sticker_prone * (1 + p.free_pack_gateway) * float(deterrence.max())
        near = np.flatnonzero(draw < _above(min(largest, 1.0)))  # a chance of 1 or more: every draw
        buyers = active[near]
        chance = np.float32(rate) * self.sticker_propensity[buyers]
        chance *= 1 + np.float32(p.free_pack_gateway) * self.free_stickers[buyers]
        if price_ratio != 1:
            with np.errstate(divide="ignore", over="ignore"):  # free packs: an infinite chance buys
                chance *= np.float32(price_ratio) ** (
                    -np.float32(p.sticker_price_elasticity) * self.price_sensitivity[buyers]
                )
        return int(np.count_nonzero(draw[near] < chance))

    # --- the day's columns -----------------------------------------------------------------
    def columns(self, outcome: DayOutcome) -> dict[str, float]:
        """The users' columns of the day's row (``model.metrics.COLUMNS``; also the docking
        world's outcomes): stocks as they stand, flows from today's ``outcome``."""
        on = self.on_platform
        n_on = max(int(np.count_nonzero(on)), 1)
        on_weight = on.astype(np.float32)  # means over users on the platform, as dot products
        row: dict[str, float] = {
            "users_total": self.ever_joined,
            "users_active": int(np.count_nonzero(on)),
            "users_multihoming": int(np.count_nonzero(self.state == UserState.MULTIHOMING)),
            "users_churned_total": self.churned_total,
            "users_returned_total": self.returned_total,
            "users_daily_active": int(np.count_nonzero(self.active_today)),
            "users_joined": outcome.joined,
            "churn_today": outcome.churned,
            "churn_ads": outcome.churn_ads,
            "churn_privacy": outcome.churn_privacy,
            "churn_peers": outcome.churn_peers,
            "churn_other": outcome.churn_other,
            "returned_today": outcome.returned,
            "multihoming_started": outcome.started_multihoming,
            "multihoming_stopped": outcome.stopped_multihoming,
            "share_promo_optin": float(np.count_nonzero(self.promo_optin & on)) / n_on,
            "share_data_optout": float(np.count_nonzero(self.data_optout & on)) / n_on,
            "share_payments_linked": float(np.count_nonzero(self.payments_linked & on)) / n_on,
            "share_free_stickers": float(np.count_nonzero(self.free_stickers & on)) / n_on,
            "mean_concern": float(self.concern @ on_weight) / n_on,
            "mean_annoyance": float(self.annoyance @ on_weight) / n_on,
            "mean_ad_responsiveness": float(self.responsiveness @ on_weight) / n_on,
            "opt_outs_today": outcome.opted_out,
        }
        for rival in RIVALS:
            name = rival.name.lower()
            row[f"rival_signups_{name}"] = outcome.rival_signups[name]
            row[f"users_on_rival_{name}"] = int(np.count_nonzero(self.rival == rival))
        return row
