"""Write the per-agent reference users' docking outcomes, one row per seed, for
``tests/test_docking.py``.

The reference (``agents.reference_users``) is the readable specification of the users' rules,
one Python object per user: about 40 times slower than the vectorised users. Its outcomes are
a deterministic function of the code and the seed, so they are computed once here, stored,
and compared in every test run with the vectorised users' outcomes on the same seeds; the
test re-runs a few stored seeds and fails, pointing here, when the stored rows are no longer
what the reference computes (after a change to its rules, the docking world or ``STRESS``).

    .venv/bin/python tools/docking_reference.py            # 100 seeds, about 6 min on 2 cores
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.docking import FLOWS, STOCKS, docking_run  # noqa: E402

STORED = ROOT / "tests" / "data" / "docking_reference.csv"


def reference_outcomes(seeds: range, workers: int = 2) -> pd.DataFrame:
    """The reference's docking outcomes, one row per seed (column ``seed`` first)."""
    with ProcessPoolExecutor(workers) as pool:
        rows = list(pool.map(partial(docking_run, "reference"), seeds))
    return pd.DataFrame([{"seed": s, **r} for s, r in zip(seeds, rows, strict=True)],
                        columns=["seed", *FLOWS, *STOCKS])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="seeds 0 ... N-1 (default 100)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=STORED)
    args = parser.parse_args(argv)
    table = reference_outcomes(range(args.seeds), args.workers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, float_format="%.17g")
    print(f"wrote {len(table)} seeds to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
