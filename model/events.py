"""Dated privacy and policy events (SOURCES.md#events): the timeline of a run, and the data-sharing lever.

Every event is a Mesa event (``schedule_event``) at *day − 0.5*: it fires between two days,
before the day it belongs to (ODD §3). The timeline moves the data-sharing lever (D1) on the
platform's ``LeverBoard`` and knows the mode users expect, which differs from the lever only
while an ultimatum runs. The same timeline drives the full model (``model.market``) and the users-only
docking world (``agents.docking``) with either implementation of the users, which need only
``attention`` (``model.attention.MediaAttention``), ``outage_install_chance`` and ``lose_opt_outs()``.
"""

from __future__ import annotations

from model.levers import LeverBoard
from model.params import DATA_SHARING_MODES


def event_time(day: float, burn_in_days: int = 0) -> float:
    """Model time at which an event of recorded ``day`` fires: the night before it, after
    ``burn_in_days`` unrecorded days."""
    return burn_in_days + day - 0.5


class PolicyTimeline:
    """The run's dated events and the data-sharing lever they move."""

    def __init__(self, model, users, levers: LeverBoard, burn_in_days: int = 0):
        """``burn_in_days``: unrecorded days before day 1 of the timeline."""
        self.model = model
        self.users = users
        self.levers = levers
        self.ultimatum_pending = False
        self._burn_in_days = burn_in_days
        self._schedule(model.p)

    @property
    def expected_data_sharing(self) -> str:
        """The mode users react to: while an ultimatum runs they act as if sharing were
        already mandatory (they anticipate the deadline; assumption), otherwise the lever's."""
        return "mandatory" if self.ultimatum_pending else self.levers.current.data_sharing

    def _schedule(self, p) -> None:
        if p.media_shock_day > 0:
            self._on(p.media_shock_day, self.media_shock)
        if p.data_sharing_change_day > 0:
            self._on(p.data_sharing_change_day, self.change_data_sharing)
        if p.ultimatum_day > 0:
            self._on(p.ultimatum_day, self.announce_ultimatum)
            self._deadline = self._on(p.ultimatum_deadline_day, self.enforce_deadline)
            if p.postponement_day > 0:
                self._on(p.postponement_day, self.postpone_deadline)
        if p.outage_day > 0:
            self._on(p.outage_day, self.start_outage)

    def _on(self, day: int, event):
        return self.model.schedule_event(event, at=event_time(day, self._burn_in_days))

    # --- the events ----------------------------------------------------------------------
    def media_shock(self) -> None:
        """A privacy announcement draws media attention, which then decays in two phases (I2,
        SOURCES.md#event-2021, ``model.attention``)."""
        self.users.attention.shock(self.model.p.media_shock_size)

    def announce_ultimatum(self) -> None:
        """Users are told to accept data sharing by a deadline or lose access (SOURCES.md#event-2021:
        pop-up of 4-6 Jan 2021, deadline 8 Feb). From now every user feels the pressure of
        mandatory sharing, opted out or not, and nobody opts out any more: there is nothing
        left to opt out of (anticipation; assumption)."""
        self.ultimatum_pending = True

    def enforce_deadline(self) -> None:
        """On the deadline, data sharing becomes mandatory and opt-outs are lost (SOURCES.md#event-2021)."""
        self.ultimatum_pending = False
        self.switch_data_sharing("mandatory")

    def postpone_deadline(self) -> None:
        """The platform moves the deadline ``postponement_days`` later and says no account
        will be deleted (15 Jan 2021: deadline moved to 15 May; SOURCES.md#event-2021,
        SOURCES.md#fact-6). Users stop anticipating, and the reassurance takes a share
        ``postponement_reassurance`` off media attention ([athey2017privacy]: reassuring
        information lowers avoidance; size assumed). The deadline still comes, later."""
        p = self.model.p
        self.ultimatum_pending = False
        self.users.attention.reassure(p.postponement_reassurance)
        self._deadline.cancel()
        self._deadline = self._on(p.ultimatum_deadline_day + p.postponement_days, self.enforce_deadline)

    def change_data_sharing(self) -> None:
        """The lever switches to ``data_sharing_after`` ([hunton2016whatsapp]: off to opt-out on 25 Aug
        2016; SOURCES.md#fact-6: the lever is schedulable)."""
        self.switch_data_sharing(self.model.p.data_sharing_after)

    def switch_data_sharing(self, mode: str) -> None:
        """Mandatory sharing leaves no opt-out standing."""
        self.levers.change(data_sharing=mode)
        if mode == "mandatory":
            self.users.lose_opt_outs()

    def start_outage(self) -> None:
        """The platform is down for ``outage_hours``: each user active that day installs a
        rival w.p. ``outage_install_per_hour`` per hour, on top of her usual chance
        ([chinwag2014telegram], [durov2021outage]: rivals' sign-ups jump an order of magnitude
        on outage days; SOURCES.md#fact-2: installing a second app is more common than leaving,
        so leaving is unchanged). Ends after the day."""
        p = self.model.p
        self.users.outage_install_chance = min(p.outage_install_per_hour * p.outage_hours, 1.0)
        self.model.schedule_event(self.end_outage, after=1)

    def end_outage(self) -> None:
        self.users.outage_install_chance = 0.0

    # --- the day's columns ---------------------------------------------------------------
    def columns(self) -> dict[str, float]:
        """``data_sharing_mode``: index of the lever's mode in off, opt_out, mandatory;
        ``ultimatum_pending``: 1 while an ultimatum runs; ``media_attention``: after today's
        decay."""
        return {"data_sharing_mode": DATA_SHARING_MODES.index(self.levers.current.data_sharing),
                "ultimatum_pending": int(self.ultimatum_pending),
                "media_attention": float(self.users.attention.level)}
