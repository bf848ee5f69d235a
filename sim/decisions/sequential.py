"""A group-sequential exact binomial test of "P ≥ p" with the error spent across the looks.

What-it-takes asks, at one amount of a lever, whether P(target by its date) ≥ p, from 0/1 outcomes of
replications looked at after n_1 < n_2 < ... < n_K of them (`looks`). At look k, with S_k successes:
"meets" when S_k ≥ upper[k], "fails" when S_k ≤ lower[k], else run more; after the last look the amount is
"undecided" (never called on the estimate alone).

The boundaries are computed exactly by summing over binomial paths at P = p (the worst case for both
errors): upper[k] is the smallest count whose probability of being the first crossing, added to what the
earlier looks spent, stays within alpha × n_k / n_K (a linear spending function: what an early look cannot
spend, a later one can); lower[k] likewise from below. Because the chance of stopping on the upper boundary
rises with the true P (couple the paths through one uniform per replication: a higher P gives a path that
is never lower), a wrong "meets" (true P < p) has probability below P(meets | P = p) ≤ alpha and a wrong
"fails" (true P ≥ p) below P(fails | P = p) ≤ alpha: each clear call is wrong with probability ≤ alpha
whatever the true P, with the looks accounted for. `call_probabilities` gives those sums for any true P.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, binom

MEETS, FAILS, UNDECIDED = "meets", "fails", "undecided"
_SLACK = 1e-12  # float noise in the sums of binomial probabilities


@dataclass(frozen=True)
class SequentialPlan:
    target: float
    alpha: float
    looks: tuple[int, ...]
    upper: tuple[int, ...]  # "meets" when successes >= upper[k]; n_k + 1 when impossible at that look
    lower: tuple[int, ...]  # "fails" when successes <= lower[k]; -1 when impossible at that look

    def decide(self, look: int, successes: int) -> str:
        """The call at look index `look` (0-based) with `successes` of looks[look]."""
        if successes >= self.upper[look]:
            return MEETS
        if successes <= self.lower[look]:
            return FAILS
        return UNDECIDED if look == len(self.looks) - 1 else ""

    def worst_error(self) -> float:
        """The largest probability of a wrong clear call over every true P (reached at P = target)."""
        meets, fails, _ = call_probabilities(self, self.target)
        return max(meets, fails)

    def boundary_text(self) -> str:
        parts = []
        for n, up, low in zip(self.looks, self.upper, self.lower, strict=True):
            meet = f"meets if >= {up}" if up <= n else "cannot meet"
            fail = f"fails if <= {low}" if low >= 0 else "cannot fail"
            parts.append(f"at {n}: {meet}, {fail}")
        return "; ".join(parts)


def looks_of(initial: int, batch: int, maximum: int) -> tuple[int, ...]:
    """initial, initial + batch, ..., up to and including maximum."""
    looks = list(range(initial, maximum, batch)) if initial < maximum else []
    return (*looks, maximum)


def _step(dist: np.ndarray, added: int, p: float) -> np.ndarray:
    """Distribution of successes after `added` more Bernoulli(p) replications (paths still running)."""
    return np.convolve(dist, binom.pmf(np.arange(added + 1), added, p)) if added else dist


def plan(target: float, looks: tuple[int, ...], alpha: float) -> SequentialPlan:
    if not 0.0 < target < 1.0:
        raise ValueError(f"target probability must be in (0, 1), got {target}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    if not looks or looks[0] < 1 or any(b <= a for a, b in itertools.pairwise(looks)):
        raise ValueError(f"looks must rise from at least 1, got {looks}")
    dist = np.array([1.0])
    spent_up = spent_low = 0.0
    upper, lower = [], []
    previous = 0
    for n in looks:
        dist = _step(dist, n - previous, target)
        previous = n
        allowed = alpha * n / looks[-1] * (1 + _SLACK)
        tail = np.cumsum(dist[::-1])[::-1]  # tail[s] = P(S >= s and still running)
        head = np.cumsum(dist)  # head[s] = P(S <= s and still running)
        up = next((s for s in range(n + 1) if spent_up + tail[s] <= allowed), n + 1)
        low = next((s for s in range(n, -1, -1) if spent_low + head[s] <= allowed), -1)
        if up <= n:
            spent_up += tail[up]
            dist[up:] = 0.0
        if low >= 0:
            spent_low += head[low]
            dist[:low + 1] = 0.0
        upper.append(up)
        lower.append(low)
    return SequentialPlan(target, alpha, tuple(looks), tuple(upper), tuple(lower))


def call_probabilities(seq: SequentialPlan, true_p: float) -> tuple[float, float, float]:
    """Exact (P(meets), P(fails), P(undecided)) when each replication reaches the target with true_p."""
    dist = np.array([1.0])
    meets = fails = 0.0
    previous = 0
    for n, up, low in zip(seq.looks, seq.upper, seq.lower, strict=True):
        dist = _step(dist, n - previous, true_p)
        previous = n
        if up <= n:
            meets += float(dist[up:].sum())
            dist[up:] = 0.0
        if low >= 0:
            fails += float(dist[:low + 1].sum())
            dist[:low + 1] = 0.0
    return meets, fails, float(dist.sum())


def wrong_call_probability(seq: SequentialPlan, true_p: float) -> float:
    """P(a clear call that is wrong): "meets" when true_p < target, "fails" when true_p >= target."""
    meets, fails, _ = call_probabilities(seq, true_p)
    return meets if true_p < seq.target else fails


def exact_interval(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Clopper–Pearson interval of a proportion (two-sided `confidence`); (nan, nan) when n = 0."""
    if n == 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2
    low = 0.0 if successes == 0 else float(beta.ppf(tail, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1 - tail, successes + 1, n - successes))
    return low, high


def paired_drop_p_value(lower_amount: list[float], higher_amount: list[float]) -> float:
    """One-sided exact (McNemar) p-value against "P does not fall from the lower to the higher amount".

    The outcomes are paired by replication (common random numbers). Under P(lower) ≤ P(higher), among the
    replications where the two differ, "reached at the lower amount only" has probability ≤ 1/2.
    """
    drops = sum(1 for a, b in zip(lower_amount, higher_amount, strict=False) if a and not b)
    rises = sum(1 for a, b in zip(lower_amount, higher_amount, strict=False) if b and not a)
    return float(binom.sf(drops - 1, drops + rises, 0.5)) if drops else 1.0
