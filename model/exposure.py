"""What each user was exposed to today: the typed record between the platform and the users.

The platform opens a record each morning and fills it while it routes messages and sells ad
impressions; the users consume it in their reaction phase (annoyance, blocks, opt-outs). It
is the only thing that crosses from routing to reactions, so neither side writes the other's
arrays (typed boundary, ABIDES-style). The docking world fills the same record with its
stylised exposure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model.sampling import counts_of


@dataclass
class Exposure:
    """One day's exposure of ``n`` users (ids index the arrays)."""

    display_ads: np.ndarray
    """Status-tab ads seen, in ad impressions (float32)."""
    relevant_ads: np.ndarray
    """Of those, ads matching the viewer's interest (personalised, from an advertiser targeting
    it; float32): they teach less ad blindness."""
    influencer_posts: np.ndarray
    """Creators' sponsored posts seen in Channels, in posts (float32)."""
    promo_messages: np.ndarray
    """Promotional messages received: marketing templates and sponsored messages (int16)."""
    _senders: list[np.ndarray] = field(default_factory=list)
    _recipients: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def open(cls, n: int) -> Exposure:
        """An empty record for ``n`` users."""
        def zeros():
            return np.zeros(n, dtype=np.float32)
        return cls(zeros(), zeros(), zeros(), np.zeros(n, dtype=np.int16))

    def __len__(self) -> int:
        return len(self.display_ads)

    def rows(self, users: slice) -> Exposure:
        """The exposure of the users in ``users`` (views, without the deliveries)."""
        return Exposure(self.display_ads[users], self.relevant_ads[users], self.influencer_posts[users],
                        self.promo_messages[users])

    def deliver_marketing(self, senders: np.ndarray | int, recipients: np.ndarray) -> None:
        """Marketing messages from ``senders`` (a sender id per recipient, or one for all) to
        ``recipients`` (distinct per sender); they count as promotional messages."""
        senders = np.broadcast_to(np.asarray(senders, dtype=np.int64), recipients.shape)
        self._senders.append(senders)
        self._recipients.append(recipients)
        self._count(recipients)

    def deliver_sponsored(self, recipients: np.ndarray) -> None:
        """Sponsored messages to distinct ``recipients``."""
        self.promo_messages[recipients] += 1

    def _count(self, recipients: np.ndarray) -> None:
        """One more promotional message for each recipient (a user may repeat)."""
        ids, counts = counts_of(recipients, len(self))
        self.promo_messages[ids] += counts.astype(np.int16)

    @property
    def marketing_deliveries(self) -> tuple[np.ndarray, np.ndarray]:
        """(sender id, recipient) of every marketing message delivered today."""
        if not self._senders:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(self._senders), np.concatenate(self._recipients)


@dataclass(frozen=True)
class Blocks:
    """Users who blocked or reported a sender today, one pair per block, and the deliveries
    each sender made (the quality tiers need both, A1)."""

    senders: np.ndarray
    users: np.ndarray
    delivered_by: dict[int, int]

    def per_sender(self) -> dict[int, int]:
        """Blocks per sender id (senders without blocks left out)."""
        ids, counts = np.unique(self.senders, return_counts=True)
        return dict(zip(ids.tolist(), counts.tolist(), strict=True))
