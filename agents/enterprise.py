"""Enterprises on the Business Platform (B2): template messages by category, billed per
message at the recipient's regional rate; service conversations; click-to-chat ads."""

from __future__ import annotations

import numpy as np

from agents.business import Business


class Enterprise(Business):
    def step(self) -> None:
        p = self.model.p
        platform = self.model.platform
        chats = self.open_conversations(p.chat_rate)
        self.send_utility(self.draw(p.utility_rate), window=chats)
        platform.send(self, "authentication", self.draw(p.authentication_rate))
        reached = platform.send(self, "marketing", self.marketing_audience())
        self.convert(chats)
        self.convert(self.draw(p.ctr_sponsored, reached))
        self.convert(self.buy_click_to_chat(), from_ads=True)

    def marketing_audience(self) -> np.ndarray:
        """Marketing volume falls with price: each active customer is targeted with
        probability ``marketing_rate`` x (price / default price) ^ -elasticity (assumption).
        Drawn at the highest regional rate, then thinned to each customer's own rate."""
        p = self.model.p
        rate = np.minimum(p.marketing_rate * self.model.platform.marketing_volume_factor, 1.0)
        top = rate.max()
        if top <= 0:
            return self.customers[:0]
        picked = self.draw(top)
        keep = self.rng.random(len(picked)) * top < rate[self.model.users.region[picked]]
        return picked[keep]
