"""End-of-horizon truncation bias as a function of the lot size (see docs/performance.md).

    python benchmarks/bench_lot_truncation.py [--replications 8]

The line of tests/test_model_basics.py: cut 0.8, sew 2.0 (the bottleneck, one skilled sewer), inspect 0.5,
pack 0.6 minutes a mask, gamma times with cv 0.5, one 7 h shift on weekdays, 40 days from 30 March 2020
(30 working days: a capacity of 30 x 7 x 60 / 2.0 = 6,300 masks sewn). Prints, per lot size, the mean
masks sewn, and packed to the platform, over the horizon with their standard errors, and their bias against lots of one
mask (the per-mask model). The bias comes from both ends of the horizon: the first lot must be cut whole
before sewing starts, and the lot the sewer holds at the horizon is not counted until it is finished.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.model import simulate  # noqa: E402
from tests.scenarios import line, spec_of  # noqa: E402

CAPACITY = 30 * 7 * 60 / 2.0


def measure(lot_size: int, replications: int) -> dict[str, float]:
    sewn, delivered = [], []
    for r in range(replications):
        data = line(lot_size=lot_size, horizon_days=40, cv=0.5, cut_min=0.8, sew_min=2.0, inspect_min=0.5,
                    pack_min=0.6, operators={"sew": 1})
        data["quality"]["sampling_plans"] = [{"max_lot": 100_000, "sample": 20, "accept": 20}]  # no rework
        k = simulate(spec_of(data, replication=r)).kpis
        sewn.append(k["masks_sewn"])
        delivered.append(k["platform_stock_end"])  # no channels: what reached the platform
    s, d = np.array(sewn), np.array(delivered)
    return {"sewn": s.mean(), "sewn_se": s.std(ddof=1) / math.sqrt(len(s)),
            "delivered": d.mean(), "delivered_se": d.std(ddof=1) / math.sqrt(len(d))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=8)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 50, 200, 500, 2000])
    args = parser.parse_args()
    rows = {size: measure(size, args.replications) for size in args.sizes}
    ref = rows[min(rows)]
    print(f"capacity of the sewer over the horizon: {CAPACITY:,.0f} masks; {args.replications} replications")
    print("| lot size | masks sewn (± SE) | vs lots of 1 | vs capacity | at the platform (± SE) | vs lots of 1 |")
    print("|---|---|---|---|---|---|")
    for size, r in rows.items():
        print(f"| {size:,} | {r['sewn']:,.0f} ± {r['sewn_se']:,.0f} | {r['sewn'] / ref['sewn'] - 1:+.1%} "
              f"| {r['sewn'] / CAPACITY - 1:+.1%} "
              f"| {r['delivered']:,.0f} ± {r['delivered_se']:,.0f} | {r['delivered'] / ref['delivered'] - 1:+.1%} |")


if __name__ == "__main__":
    main()
