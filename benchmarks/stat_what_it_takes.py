"""What-it-takes' error claims measured on Bernoulli problems with a known P (a section of bench_statistics.py).

    python benchmarks/stat_what_it_takes.py [--quick]

The tool prints: "each clear call (an amount clearly meets or clearly fails P ≥ p) is wrong with probability
≤ 0.025 whatever the true P". Measured three ways, all through the project's own decision code
(sim/decisions/sequential.py, sim/decisions/what_it_takes.Search), at the default looks (10, 20, ..., 80):
1. exact sums over binomial paths of P(wrong clear call) for true P on a fine grid on both sides of p and
   near it (the largest value is reported), beside the same sum for the Wilson looks the test replaced;
2. Monte Carlo: many problems with a true P drawn near p (and at the worst case), each run through
   `Search.evaluate` on Bernoulli outcomes, counting wrong clear calls;
3. the whole search (`Search.least_amount`) on rising P curves over a grid of 11 amounts, outcomes under
   common random numbers (one uniform per replication shared by every amount, as the model's seeds are):
   how often the answer does not meet p, how often "out of reach" is said of a reachable target, and how
   often the least amount lies outside the stated range.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.decisions.sequential import (
    FAILS,
    MEETS,
    SequentialPlan,
    call_probabilities,
    looks_of,
    plan,
    wrong_call_probability,
)
from sim.decisions.what_it_takes import ALPHA, OUT_OF_REACH, REACHABLE, Search
from sim.results.analysis import wilson_interval

DEFAULT_LOOKS = looks_of(10, 10, 80)
CLAIM = "a clear call is wrong with probability ≤ 0.025"


def row(claim: str, kind: str, stated: float, measured: float, n: int, exact: bool, detail: str) -> dict[str, Any]:
    mc_se = 0.0 if exact else math.sqrt(max(measured * (1 - measured), 1 / n) / n)
    return {"method": "what-it-takes", "claim": claim, "kind": kind, "stated": stated, "measured": measured,
            "n": n, "mc_se": mc_se, "exact": exact, "detail": detail}


def wilson_plan(target: float, looks: tuple[int, ...]) -> SequentialPlan:
    """The test this replaced: a two-sided 95 % Wilson interval at every look, no account of the looks."""
    upper = tuple(next((s for s in range(n + 1) if wilson_interval(s, n, 0.95)[1] >= target), n + 1) for n in looks)
    lower = tuple(next((s for s in range(n, -1, -1) if wilson_interval(s, n, 0.95)[2] < target), -1) for n in looks)
    return SequentialPlan(target, ALPHA, looks, upper, lower)


def p_grid(target: float) -> np.ndarray:
    wide = np.linspace(max(0.001, target - 0.3), min(0.999, target + 0.3), 601)
    near = target + np.linspace(-0.01, 0.01, 201)
    return np.unique(np.concatenate([wide, near, [target, np.nextafter(target, 0)]]))


def exact_rows() -> list[dict[str, Any]]:
    rows = []
    plans = ((0.5, DEFAULT_LOOKS), (0.8, DEFAULT_LOOKS), (0.9, DEFAULT_LOOKS), (0.9, looks_of(10, 10, 40)))
    for target, looks in plans:
        grid = p_grid(target)
        seq = plan(target, looks, ALPHA)
        worst = max(wrong_call_probability(seq, float(p)) for p in grid)
        old = wilson_plan(target, looks)
        old_at = {p: wrong_call_probability(old, p) for p in (target, target + 0.01)}
        rows.append(row(f"{CLAIM} (exact sum, P ≥ {target:g})", "error", ALPHA, worst, len(grid), True,
                        f"largest over {len(grid)} true P in [{grid[0]:.3f}, {grid[-1]:.3f}], looks at "
                        f"{looks[0]}..{looks[-1]} by {looks[1] - looks[0] if len(looks) > 1 else 0}; the Wilson "
                        f"looks it replaced: {old_at[target]:.3f} at P = {target:g}, "
                        f"{old_at[target + 0.01]:.3f} at P = {target + 0.01:g}"))
    return rows


def bernoulli_sampler(uniforms: np.ndarray, curve: dict[float, float]):
    def sample(amounts: dict[str, float], n: int) -> list[float]:
        return list((uniforms[:n] < curve[amounts["x"]]).astype(float))
    return sample


def one_amount_rows(problems: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    for target in (0.8, 0.9):
        seq = plan(target, DEFAULT_LOOKS, ALPHA)
        for label, spread, offset in (("true P uniform in p ± 0.1", 0.1, 0.0),
                                      ("true P = p (a 'fails' is wrong)", 0.0, 0.0),
                                      ("true P = p − 0.005 (a 'meets' is wrong)", 0.0, -0.005)):
            wrong = 0
            for _ in range(problems):
                true_p = float(target + offset + (rng.uniform(-spread, spread) if spread else 0.0))
                search = Search({"x": [0.0]}, bernoulli_sampler(rng.random(DEFAULT_LOOKS[-1]), {0.0: true_p}), seq)
                call = search.evaluate({"x": 0.0}).decision
                wrong += (call == MEETS and true_p < target) or (call == FAILS and true_p >= target)
            rows.append(row(f"{CLAIM} (Search.evaluate, P ≥ {target:g})", "error", ALPHA, wrong / problems,
                            problems, False, f"{label}; Bernoulli outcomes, looks 10..80"))
    return rows


def curve_of(rng: np.random.Generator, target: float, grid: list[float]) -> dict[float, float]:
    """A rising P over the grid: a logistic (steep or gentle), or a shallow line through p (the hard case)."""
    if rng.random() < 0.5:
        location, scale = rng.uniform(-1, 11), rng.uniform(0.2, 3.0)
        values = [1 / (1 + math.exp(-(a - location) / scale)) for a in grid]
    else:
        crossing, slope = rng.uniform(-1, 11), rng.uniform(0.005, 0.05)
        values = [min(1.0, max(0.0, target + slope * (a - crossing))) for a in grid]
    return dict(zip(grid, values, strict=True))


def search_rows(problems: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    grid = [float(a) for a in range(11)]
    rows = []
    for target in (0.8, 0.9):
        seq = plan(target, DEFAULT_LOOKS, ALPHA)
        wrong_answer = wrong_out_of_reach = outside = reachable = 0
        for _ in range(problems):
            curve = curve_of(rng, target, grid)
            search = Search({"x": grid}, bernoulli_sampler(rng.random(DEFAULT_LOOKS[-1]), curve), seq)
            found = search.least_amount("x", {})
            least = next((a for a in grid if curve[a] >= target), None)
            if found["status"] == REACHABLE:
                reachable += 1
                wrong_answer += curve[found["amount"]] < target
                outside += least is None or not found["low"] <= least <= found["amount"]
            elif found["status"] == OUT_OF_REACH:
                wrong_out_of_reach += least is not None
        detail = (f"{problems} rising P curves over 11 amounts (half logistic, half shallow lines through p), "
                  f"CRN outcomes; {reachable} answered")
        rows += [
            row(f"the answer meets P ≥ {target:g}: wrong with probability ≤ 0.025", "error", ALPHA,
                wrong_answer / problems, problems, False, detail),
            row(f"'out of reach' (top clearly fails P ≥ {target:g}): wrong ≤ 0.025", "error", ALPHA,
                wrong_out_of_reach / problems, problems, False, detail),
            row(f"the least amount lies in the stated range (P ≥ {target:g})", "coverage", 1 - 2 * ALPHA,
                1 - outside / problems, problems, False,
                detail + "; the range rests on two clear calls: 1 − 2 × 0.025"),
        ]
    return rows


def checks(quick: bool) -> list[dict[str, Any]]:
    rng = np.random.default_rng(20200420)
    problems = 2000 if quick else 10_000
    return exact_rows() + one_amount_rows(problems, rng) + search_rows(problems, rng)


def exact_table(target: float = 0.9) -> str:
    """P(meets), P(fails), P(undecided) at the default looks for a few true P: the figures docs quote."""
    seq = plan(target, DEFAULT_LOOKS, ALPHA)
    lines = [f"P >= {target:g}, looks {DEFAULT_LOOKS}: {seq.boundary_text()}"]
    for p in (target - 0.1, target - 0.05, target, target + 0.03, target + 0.05, min(0.99, target + 0.09)):
        meets, fails, undecided = call_probabilities(seq, p)
        lines.append(f"  true P {p:.3f}: meets {meets:.3f}, fails {fails:.3f}, undecided {undecided:.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    from bench_statistics import run_alone  # benchmarks/ is on the path when this file runs as a script

    failed = run_alone(__file__)
    for target in (0.8, 0.9):
        print(exact_table(target))
    sys.exit(failed)
