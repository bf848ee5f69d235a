"""What-it-takes' sequential test keeps its stated error; the search warns when P does not rise with the amount.

The exact sums over binomial paths (`call_probabilities`) are checked against direct simulation of the
same decision code, and the stated bound (each clear call wrong with probability ≤ alpha) against the exact
sums over a grid of true P on both sides of the target. The search is driven here by Bernoulli outcomes
under common random numbers (one uniform per replication, shared by every amount), as in
benchmarks/stat_what_it_takes.py; the model-driven search is tested in tests/test_decisions.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.decisions.sequential import (
    FAILS,
    MEETS,
    UNDECIDED,
    call_probabilities,
    looks_of,
    paired_drop_p_value,
    plan,
    wrong_call_probability,
)
from sim.decisions.what_it_takes import Search, answer_sentences

PLANS = [(0.9, looks_of(10, 10, 80)), (0.9, looks_of(10, 10, 40)), (0.8, looks_of(10, 10, 80)),
         (0.5, looks_of(6, 6, 30)), (0.2, looks_of(10, 20, 90))]


@pytest.mark.parametrize("target, looks", PLANS)
def test_a_clear_call_is_wrong_with_probability_at_most_alpha_for_every_true_p(target, looks):
    seq = plan(target, looks, 0.025)
    grid = np.unique(np.concatenate([np.linspace(0.001, 0.999, 400), target + np.linspace(-0.02, 0.02, 41)]))
    worst = max(wrong_call_probability(seq, float(p)) for p in grid if 0 < p < 1)
    assert worst <= 0.025
    assert worst == pytest.approx(seq.worst_error(), abs=2e-3)  # the supremum is at P = target
    # the boundaries are not needlessly timid: the worst case spends most of the budget
    assert seq.worst_error() > 0.01


def test_the_exact_sums_match_a_direct_simulation_of_the_decision_code():
    seq = plan(0.8, looks_of(10, 10, 40), 0.025)
    rng = np.random.default_rng(5)
    trials = 20_000
    for true_p in (0.7, 0.8, 0.86):
        counts = {MEETS: 0, FAILS: 0, UNDECIDED: 0}
        outcomes = rng.random((trials, seq.looks[-1])) < true_p
        for row in outcomes:
            for look, n in enumerate(seq.looks):
                call = seq.decide(look, int(row[:n].sum()))
                if call:
                    counts[call] += 1
                    break
        exact = dict(zip((MEETS, FAILS, UNDECIDED), call_probabilities(seq, true_p), strict=True))
        for call, count in counts.items():
            se = np.sqrt(exact[call] * (1 - exact[call]) / trials) + 1e-9
            assert abs(count / trials - exact[call]) <= 4 * se + 1e-4, (true_p, call, count / trials, exact[call])


def bernoulli_search(curve: dict[float, float], target: float, looks: tuple[int, ...], seed: int) -> Search:
    """The search's real code on outcomes U_r < P(amount), U_r shared by every amount (common random numbers)."""
    uniforms = np.random.default_rng(seed).random(looks[-1])
    return Search({"x": sorted(curve)}, lambda amounts, n: list((uniforms[:n] < curve[amounts["x"]]).astype(float)),
                  plan(target, looks, 0.025))


def test_the_search_finds_the_least_amount_and_one_step_below_clearly_fails():
    curve = {0.0: 0.05, 1.0: 0.2, 2.0: 0.45, 3.0: 0.999, 4.0: 1.0, 5.0: 1.0}
    search = bernoulli_search(curve, 0.8, looks_of(10, 10, 80), seed=1)
    found = search.least_amount("x", {})
    assert found["status"] == "reachable" and found["amount"] == 3.0 and found["low"] == 3.0
    assert search.evaluations[(2.0,)].decision == FAILS


def test_a_falling_p_is_reported_as_a_warning_in_plain_words():
    # P falls from 0.95 to 0.05 between amounts 0 and 2, then jumps: the bisection visits the top (meets),
    # 0 (undecided against 0.9 at 40 replications), 2 and 3 (clearly failing at 10): P̂ falls beyond the noise
    # on the 10 replications 0 and 2 share
    curve = {0.0: 0.95, 1.0: 0.5, 2.0: 0.05, 3.0: 0.1, 4.0: 1.0}
    search = bernoulli_search(curve, 0.9, looks_of(10, 10, 40), seed=2)
    found = search.least_amount("x", {})
    warnings = search.monotonicity_warnings("x", {})
    assert found["status"] == "reachable"
    assert any(w["lower"] == 0.0 and w["higher"] in (1.0, 2.0, 3.0) for w in warnings), warnings
    answer = {"target": "goal", "masks": 100, "by": "2020-04-10", "probability": 0.9, "levers": ["x"],
              "units": {"x": "units"}, "bounds": {"x": [0, 4, 1]}, "status": "reachable", "reachable": True,
              "answer": {"amounts": {"x": 4.0}, "euros": 0.0, "people": 0.0, "range": {"x": [found["low"], 4.0]}},
              "at_max": {"amounts": {"x": 4.0}}, "settings": {"maximum": 40}, "error_rates": "each clear call ...",
              "points": [{"amounts": e.amounts, "n": e.n, "successes": e.successes, "decision": e.decision}
                         for e in search.evaluations.values()], "monotonicity": warnings}
    lines = answer_sentences(answer)
    assert any(line.startswith("Warning: P does not rise with x: P̂ falls from 0.") for line in lines)


def test_no_warning_when_p_rises():
    curve = {0.0: 0.1, 1.0: 0.3, 2.0: 0.5, 3.0: 0.7, 4.0: 1.0}
    search = bernoulli_search(curve, 0.9, looks_of(10, 10, 40), seed=3)
    search.least_amount("x", {})
    assert search.monotonicity_warnings("x", {}) == []


def test_paired_drop_p_value():
    assert paired_drop_p_value([1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]) == pytest.approx(0.5 ** 6)
    assert paired_drop_p_value([0, 0, 1], [1, 1, 1]) == 1.0
