"""Media attention to the platform's privacy: a stock with a fast and a slow component.

Collective attention decays in two phases ([candia2019attention]): a fast "communicative"
part, sustained by conversation, that is gone within days, and a slow "cultural" part,
sustained by records, that lasts months. Bursts have grown steeper and shorter
([lorenzspreen2019acceleration]). A shock adds ``size`` units, a share
``attention_fast_share`` of them to the fast part; each part then halves in its own
half-life. Users read ``level`` (installs of rivals, concern, joins: ``agents.users``).
"""

from __future__ import annotations


class MediaAttention:
    """A[t] = fast[t] + slow[t], each decaying exponentially with its own half-life."""

    def __init__(self, p):
        self._fast_share = p.attention_fast_share
        self._keep_fast = 0.5 ** (1 / p.attention_fast_half_life_days)
        self._keep_slow = 0.5 ** (1 / p.attention_slow_half_life_days)
        self.fast = 0.0
        self.slow = 0.0

    @property
    def level(self) -> float:
        return self.fast + self.slow

    def shock(self, size: float) -> None:
        """News: ``size`` units of attention, split between the fast and the slow part."""
        self.fast += size * self._fast_share
        self.slow += size * (1 - self._fast_share)

    def reassure(self, share: float) -> None:
        """A reassuring statement takes ``share`` off both parts ([athey2017privacy])."""
        self.fast *= 1 - share
        self.slow *= 1 - share

    def decay(self) -> None:
        """One day passes."""
        self.fast *= self._keep_fast
        self.slow *= self._keep_slow
