"""Ad auctions: generalised second price over a divisible supply with a reserve.

Bidders are ranked by bid; each in turn buys what its budget allows of the supply left, paying
per unit the next bid below it or the reserve, whichever is higher (GSP; Edelman, Ostrovsky
& Schwarz 2007, [edelman2007gsp]). Nobody pays more than its bid or its budget.
"""

from __future__ import annotations

import numpy as np


def second_price_auction(
    bids: np.ndarray, budgets: np.ndarray, supply: float, reserve: float
) -> tuple[np.ndarray, np.ndarray]:
    """Units won and price per unit for each bidder (zeros for losers).

    ``bids`` and ``reserve`` are per unit; ``budgets`` in money; ``supply`` in units.
    """
    bids = np.asarray(bids, dtype=float)
    budgets = np.asarray(budgets, dtype=float)
    units = np.zeros(len(bids))
    price = np.zeros(len(bids))
    order = np.argsort(-bids, kind="stable")
    ranked = bids[order]
    left = float(supply)
    for rank, i in enumerate(order):
        if left <= 0 or ranked[rank] < reserve:
            break
        runner_up = ranked[rank + 1] if rank + 1 < len(ranked) else 0.0
        unit_price = max(runner_up, reserve)
        if unit_price <= 0:
            units[i] = left
        else:
            units[i] = min(left, budgets[i] / unit_price)
        price[i] = unit_price
        left -= units[i]
    return units, price
