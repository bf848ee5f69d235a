"""Do the sensitivity intervals of an uncertainty study cover the true indices as often as they say (95 %)?

    python benchmarks/stat_sensitivity.py [--quick]        # alone: prints its rows
    python benchmarks/bench_statistics.py --only sensitivity  # through the shared driver

Two analytic functions with known indices, on the unit hypercube as a study sees it:
- Ishigami (a = 7, b = 0.1; three parameters uniform on [-π, π]): S1 = (0.3139, 0.4424, 0),
  ST = (0.5576, 0.4424, 0.2437);
- Sobol G (eight parameters uniform on [0, 1], a = (0, 1, 4.5, 9, 99, 99, 99, 99)): S1_i = V_i / V and
  ST_i = V_i Π_{j≠i}(1 + V_j) / V with V_i = 1 / (3 (1 + a_i)²), V = Π(1 + V_i) - 1.

Each repetition draws a fresh design with the study's own functions (`sim.uncertainty.design.unit_sample`
from a `DesignSpec`, the parameters' quantile functions `UncertainParameter.ppf`), evaluates the function at
its points and computes the indices and intervals with the functions a study calls
(`sim.uncertainty.sensitivity.sobol_indices` and `morris_indices`, default bootstrap of 1,000 resamples).
Coverage is the share of 95 % intervals that hold the truth, pooled over the parameters; its Monte Carlo
error is the standard error over repetitions of each repetition's share (the intervals of one repetition
share its design, so they are not independent). The detail names the parameter covered least often.

Morris' truth is the population of elementary effects of the sampler itself (SALib's trajectories on a
4-level grid, effects per unit of the hypercube), enumerated exactly over the grid (`morris_truth`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.uncertainty.design import MIN_TRAJECTORIES, DesignSpec, unit_sample
from sim.uncertainty.parameters import UncertainParameter
from sim.uncertainty.sensitivity import CONFIDENCE, morris_indices, sobol_indices

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
G_A = np.array([0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0])


class Problem:
    """An analytic function of named uncertain parameters, with its true Sobol indices."""

    def __init__(self, name: str, params: dict[str, UncertainParameter], function: Callable[[np.ndarray], np.ndarray],
                 s1: np.ndarray, st: np.ndarray) -> None:
        self.name, self.params, self.function, self.s1, self.st = name, params, function, s1, st

    @property
    def names(self) -> list[str]:
        return list(self.params)

    def evaluate(self, unit: np.ndarray) -> np.ndarray:
        """The function at design points given on the unit hypercube, mapped as a study maps them."""
        values = np.column_stack([p.ppf(unit[:, j]) for j, p in enumerate(self.params.values())])
        return self.function(values)


def _uniform(low: float, high: float) -> UncertainParameter:
    return UncertainParameter(label="x", source="analytic test function", uniform=(low, high))


def ishigami() -> Problem:
    a, b, pi = ISHIGAMI_A, ISHIGAMI_B, math.pi
    v1 = b * pi**4 / 5 + b**2 * pi**8 / 50 + 0.5
    v2 = a**2 / 8
    v13 = 8 * b**2 * pi**8 / 225
    total = v1 + v2 + v13
    return Problem(
        "Ishigami", {f"x{i + 1}": _uniform(-pi, pi) for i in range(3)},
        lambda x: np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0]),
        np.array([v1, v2, 0.0]) / total, np.array([v1 + v13, v2, v13]) / total)


def sobol_g() -> Problem:
    vi = 1 / (3 * (1 + G_A) ** 2)
    total = float(np.prod(1 + vi) - 1)
    st = np.array([vi[i] * np.prod(np.delete(1 + vi, i)) for i in range(len(G_A))]) / total
    return Problem("Sobol G", {f"x{i + 1}": _uniform(0.0, 1.0) for i in range(len(G_A))},
                   lambda x: np.prod((np.abs(4 * x - 2) + G_A) / (1 + G_A), axis=1), vi / total, st)


def _row(method: str, claim: str, per_rep: np.ndarray, detail: str) -> dict:
    """One claim's row: `per_rep` holds, per repetition, the share of its intervals that held the truth."""
    return {"method": method, "claim": claim, "kind": "coverage", "stated": CONFIDENCE,
            "measured": float(per_rep.mean()), "n": len(per_rep),
            "mc_se": float(per_rep.std(ddof=1) / math.sqrt(len(per_rep))), "exact": False, "detail": detail}


def _covered(rows: list[dict], index: str, names: list[str], truth: np.ndarray) -> np.ndarray:
    """Per parameter (in `names` order): whether the interval of `index` holds the truth."""
    by_name = {r["parameter"]: r for r in rows if r["index"] == index}
    return np.array([by_name[n]["ci_low"] - 1e-12 <= t <= by_name[n]["ci_high"] + 1e-12
                     for n, t in zip(names, truth, strict=True)])


def _worst(hits: np.ndarray, names: list[str]) -> str:
    share = hits.mean(axis=0)
    j = int(np.argmin(share))
    return f"least covered: {names[j]} {share[j]:.3f}"


def sobol_checks(problem: Problem, repetitions: int, base_samples: int) -> list[dict]:
    hits = {"S1": [], "ST": []}
    for rep in range(repetitions):
        design = DesignSpec(method="sobol", samples=base_samples, seed=rep)
        unit = unit_sample(design, problem.names, rep)
        rows = sobol_indices("y", problem.names, problem.evaluate(unit), design, np.random.default_rng(rep))
        hits["S1"].append(_covered(rows, "S1", problem.names, problem.s1))
        hits["ST"].append(_covered(rows, "ST", problem.names, problem.st))
    d = len(problem.names)
    out = []
    for index, truth in (("S1", problem.s1), ("ST", problem.st)):
        matrix = np.array(hits[index])
        out.append(_row("sobol", f"{index} 95 % interval covers the true index", matrix.mean(axis=1),
                        f"{problem.name}, d = {d}, N = {base_samples} ({base_samples * (d + 2)} runs), "
                        f"{repetitions} designs × {d} parameters; {_worst(matrix, problem.names)}; "
                        f"truth {np.round(truth, 3).tolist()}"))
    return out


def morris_truth(problem: Problem, levels: int = 4) -> dict[str, np.ndarray]:
    """μ, μ* and σ of the elementary effects of Morris' sampler, exactly: at the step that moves parameter j, j
    goes from a level of the grid's lower half by Δ = levels / (2 (levels - 1)) and every other parameter sits
    at any level with equal probability, so the population of effects is the whole grid, enumerated. (A sample
    of 20,000 trajectories missed Ishigami x2's μ = 0, whose effects are ±7.875 only, by 0.08: enough to move the
    measured coverage of a discrete mean's interval by 2 points.)"""
    grid = np.arange(levels) / (levels - 1)
    delta = levels / (2 * (levels - 1))
    d = len(problem.names)
    others = np.array(np.meshgrid(*[grid] * (d - 1), indexing="ij")).reshape(d - 1, -1).T
    stats: dict[str, list[float]] = {"mu": [], "mu_star": [], "sigma": []}
    for j in range(d):
        effects = []
        for low in grid[: levels // 2]:
            base = np.insert(others, j, low, axis=1)
            moved = base.copy()
            moved[:, j] += delta
            effects.append((problem.evaluate(moved) - problem.evaluate(base)) / delta)
        population = np.concatenate(effects)
        stats["mu"].append(population.mean())
        stats["mu_star"].append(np.abs(population).mean())
        stats["sigma"].append(population.std())  # the population's own standard deviation
    return {k: np.array(v) for k, v in stats.items()}


def morris_checks(problem: Problem, repetitions: int, trajectories: int) -> list[dict]:
    truth = morris_truth(problem)
    hits: dict[str, list[np.ndarray]] = {"mu_star": [], "mu": [], "sigma": []}
    for rep in range(repetitions):
        design = DesignSpec(method="morris", samples=trajectories, seed=rep)
        unit = unit_sample(design, problem.names, rep)
        rows = morris_indices("y", problem.names, unit, problem.evaluate(unit), design, np.random.default_rng(rep))
        for index in hits:
            hits[index].append(_covered(rows, index, problem.names, truth[index]))
    d = len(problem.names)
    words = {"mu_star": "μ* (bootstrap-t)", "mu": "μ (Student t)", "sigma": "σ (χ²)"}
    return [_row("morris", f"{words[index]} 95 % interval covers the true value", np.array(h).mean(axis=1),
                 f"{problem.name}, d = {d}, {trajectories} trajectories ({trajectories * (d + 1)} runs), "
                 f"{repetitions} designs × {d} parameters; {_worst(np.array(h), problem.names)}")
            for index, h in hits.items()]


def checks(quick: bool) -> list[dict]:
    """The rows of benchmarks/bench_statistics.py (see its interface): Sobol S1/ST and Morris μ*/μ/σ coverage."""
    sobol_reps, base_samples = (150, 256) if quick else (1000, 512)
    morris_reps = 400 if quick else 2000
    rows = []
    for problem in (ishigami(), sobol_g()):
        rows += sobol_checks(problem, sobol_reps, base_samples)
        rows += morris_checks(problem, morris_reps, MIN_TRAJECTORIES)
    return rows


if __name__ == "__main__":
    from bench_statistics import run_alone  # benchmarks/ is on the path when this file runs as a script

    sys.exit(run_alone(__file__))
