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
    order = (-bids).argsort(kind="stable")
    ranked = bids[order]
    unit_price = np.maximum(np.concatenate((ranked[1:], [0.0])), reserve)  # the next bid, or the reserve
    # what each budget buys at its price (all that is left, when the price is 0)
    with np.errstate(over="ignore"):  # a price near 0 buys without limit, like a price of 0
        affordable = np.divide(budgets[order], unit_price, out=np.full(len(bids), np.inf),
                               where=unit_price > 0)
    # the supply left to each in turn, as the loop "each buys what it can" leaves it
    left = np.subtract.accumulate(np.concatenate(([float(supply)], affordable[:-1])))[:len(bids)]
    served = (ranked >= reserve) & (left > 0)  # both hold for a prefix of the ranking
    units = np.zeros(len(bids))
    price = np.zeros(len(bids))
    units[order] = np.where(served, np.minimum(left, affordable), 0.0)
    price[order] = np.where(served, unit_price, 0.0)
    return units, price
