"""Bayesian history matching in waves (Vernon, Goldstein & Bower 2010; Andrianakis et al. 2015).

A point x of the parameter box is ruled out when, for some observation z,

    I(x) = |z - E[f(x)]| / sqrt(Var_emulator(x) + Var_observation + Var_discrepancy + Var_replications(x))

exceeds the cut-off (default 3, Pukelsheim's three-sigma rule holds for any unimodal distribution). Each wave
runs a space-filling design inside what earlier waves left, fits one emulator per observation, checks the
emulators against held-back runs, and adds them to the rules: a point is non-implausible when no wave's
emulators rule it out. The share of the original box left is estimated on a large uniform sample.

The model itself is reached only through `evaluate(wave, values) -> outputs[point, replication, observation]`,
so the same code calibrates the real network through the runner and a test's small line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.stats import qmc

from sim.calibration.emulator import Diagnostics, Emulator, fit_checked

Evaluate = Callable[[int, np.ndarray], np.ndarray]
MIN_POINTS = 6  # a wave needs at least this many points (and half its planned size) to fit and check emulators


class Space(Protocol):
    """What history matching needs of a parameter space: names and the map from the unit cube."""

    names: list[str]

    @property
    def dim(self) -> int: ...

    def to_values(self, unit: np.ndarray) -> np.ndarray: ...


@dataclass
class Box:
    """The uncertain parameters' ranges; `log` ranges are searched uniformly in log space."""

    names: list[str]
    low: np.ndarray
    high: np.ndarray
    log: np.ndarray

    def __post_init__(self) -> None:
        self.low = np.asarray(self.low, dtype=float)
        self.high = np.asarray(self.high, dtype=float)
        self.log = np.asarray(self.log, dtype=bool)

    @property
    def dim(self) -> int:
        return len(self.names)

    def to_values(self, unit: np.ndarray) -> np.ndarray:
        lo = np.where(self.log, np.log(np.where(self.log, self.low, 1.0)), self.low)
        hi = np.where(self.log, np.log(np.where(self.log, self.high, 1.0)), self.high)
        v = lo + unit * (hi - lo)
        return np.where(self.log, np.exp(v), v)

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        lo = np.where(self.log, np.log(np.where(self.log, self.low, 1.0)), self.low)
        hi = np.where(self.log, np.log(np.where(self.log, self.high, 1.0)), self.high)
        v = np.where(self.log, np.log(np.where(self.log, values, 1.0)), values)
        return (v - lo) / (hi - lo)


@dataclass
class Target:
    """One observation as history matching sees it: z and the variances of its errors."""

    name: str
    observed: float
    obs_var: float
    discrepancy_var: float


@dataclass
class Settings:
    waves: int = 4
    points_per_wave: int = 40
    replications: int = 3
    cutoff: float = 3.0
    holdout_share: float = 0.25
    min_within_3sd: float = 0.95
    uniform_sample: int = 20_000
    stop_ratio: float = 0.9  # stop when a wave keeps more than this share of what the previous wave left
    seed: int = 0


@dataclass
class Wave:
    number: int
    unit: np.ndarray  # design points in the unit cube
    values: np.ndarray  # the same in parameter units
    outputs: np.ndarray  # [point, replication, observation]
    emulators: list[Emulator]
    diagnostics: list[Diagnostics]
    share_left: float = math.nan  # of the original box, after this wave's emulators were added


@dataclass
class Calibration:
    box: Space
    targets: list[Target]
    settings: Settings
    waves: list[Wave] = field(default_factory=list)
    sample_unit: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # the uniform sample
    sample_max_i: np.ndarray = field(default_factory=lambda: np.empty(0))  # its max implausibility, all waves
    stopped_because: str = ""
    failed: bool = False

    @property
    def rules(self) -> list[list[Emulator]]:
        return [w.emulators for w in self.waves if w.emulators]

    def implausibility(self, unit: np.ndarray, emulators: Sequence[Emulator]) -> np.ndarray:
        """[point, observation] implausibility under one wave's emulators."""
        return implausibility(unit, emulators, self.targets)

    def max_implausibility(self, unit: np.ndarray) -> np.ndarray:
        """Max over observations and over every wave's emulators (a point must pass all of them)."""
        out = np.zeros(len(unit))
        for emulators in self.rules:
            out = np.maximum(out, self.implausibility(unit, emulators).max(axis=1))
        return out

    def nonimplausible_sample(self) -> np.ndarray:
        return self.sample_unit[self.sample_max_i <= self.settings.cutoff]

    def run_implausibility(self, wave: Wave) -> np.ndarray:
        """[point, observation] implausibility of run points from their own replications (no emulator)."""
        mean = wave.outputs.mean(axis=1)
        rep_var = wave.outputs.var(axis=1, ddof=1) if wave.outputs.shape[1] > 1 else np.zeros_like(mean)
        z = np.array([t.observed for t in self.targets])
        fixed = np.array([t.obs_var + t.discrepancy_var for t in self.targets])
        reps = wave.outputs.shape[1]
        return np.abs(z - mean) / np.sqrt(fixed + rep_var * (1.0 + 1.0 / reps))


def implausibility(unit: np.ndarray, emulators: Sequence[Emulator], targets: Sequence[Target]) -> np.ndarray:
    out = np.empty((len(unit), len(targets)))
    for j, (em, t) in enumerate(zip(emulators, targets, strict=True)):
        mean, var = em.predict(unit)
        total = var + t.obs_var + t.discrepancy_var + em.replication_variance(unit)
        out[:, j] = np.abs(t.observed - mean) / np.sqrt(np.maximum(total, np.finfo(float).tiny))
    return out


def held_back(unit: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Points to check the emulators on: a random share of the design, drawn from its more interior half. Points
    are ranked by their distance to the nearest face of the design's bounding box, then by their mean distance
    to the faces (in many dimensions nearly every point is extreme in some parameter). The final emulator is
    fitted to the outer points too, so checking it there would test an extrapolation it never makes."""
    lo, hi = unit.min(axis=0), unit.max(axis=0)
    gaps = np.minimum(unit - lo, hi - unit)
    order = np.lexsort((-gaps.mean(axis=1), -gaps.min(axis=1)))  # last key first: min distance, then mean
    interior = order[: max(1, len(unit) // 2)]
    size = min(len(interior), max(1, round(share * len(unit))))
    return np.sort(rng.choice(interior, size=size, replace=False))


def maximin_subset(candidates: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy maximin: start anywhere, then always add the candidate farthest from those chosen."""
    if len(candidates) <= n:
        return candidates.copy()
    chosen = [int(rng.integers(len(candidates)))]
    nearest = ((candidates - candidates[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(n - 1):
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        nearest = np.minimum(nearest, ((candidates - candidates[nxt]) ** 2).sum(axis=1))
    return candidates[chosen]


def _next_design(cal: Calibration, rng: np.random.Generator) -> np.ndarray:
    """Wave 1: a Latin hypercube of the box. Later: a space-filling subset of non-implausible candidates,
    drawn from the survivors' bounding box (widened a little) until there are enough of them."""
    s = cal.settings
    d = cal.box.dim
    if not cal.waves:
        return qmc.LatinHypercube(d=d, seed=rng).random(s.points_per_wave)
    pool = [cal.nonimplausible_sample()]
    survivors = pool[0]
    lo, hi = survivors.min(axis=0), survivors.max(axis=0)
    margin = 0.1 * (hi - lo) + 1.0 / max(1, len(survivors))
    lo, hi = np.clip(lo - margin, 0, 1), np.clip(hi + margin, 0, 1)
    wanted = 20 * s.points_per_wave
    for _ in range(20):
        if sum(len(p) for p in pool) >= wanted:
            break
        fresh = lo + qmc.LatinHypercube(d=d, seed=rng).random(5 * wanted) * (hi - lo)
        pool.append(fresh[cal.max_implausibility(fresh) <= s.cutoff])
    return maximin_subset(np.concatenate(pool), s.points_per_wave, rng)


def history_match(box: Space, targets: list[Target], evaluate: Evaluate, settings: Settings | None = None,
                  on_wave: Callable[[Calibration, Wave], None] | None = None) -> Calibration:
    """Run waves until the non-implausible share stops shrinking, nothing is left, an emulator fails its
    held-back check, or `settings.waves` waves have run. `on_wave` sees each finished wave (for writing)."""
    s = settings or Settings()
    rng = np.random.default_rng(s.seed)
    cal = Calibration(box, targets, s)
    cal.sample_unit = rng.random((s.uniform_sample, box.dim))
    cal.sample_max_i = np.zeros(s.uniform_sample)
    previous = 1.0
    for number in range(1, s.waves + 1):
        unit = _next_design(cal, rng)
        if len(unit) < max(MIN_POINTS, s.points_per_wave // 2):
            cal.stopped_because = (f"wave {number}: only {len(unit)} non-implausible points could be found for the "
                                   "next design: the region left is too small to emulate further")
            break
        values = box.to_values(unit)
        outputs = np.asarray(evaluate(number, values), dtype=float)
        wave = Wave(number, unit, values, outputs, [], [])
        cal.waves.append(wave)
        if not np.all(np.isfinite(outputs)):
            bad = sorted({targets[j].name for j in np.argwhere(~np.isfinite(outputs))[:, 2]})
            cal.failed, cal.stopped_because = True, f"wave {number}: runs gave no value for {', '.join(bad)}"
            break
        means = outputs.mean(axis=1)
        rep_vars = outputs.var(axis=1, ddof=1)
        held = held_back(unit, s.holdout_share, rng)
        failures = []
        for j, t in enumerate(targets):
            em, diag = fit_checked(t.name, unit, means[:, j], rep_vars[:, j], outputs.shape[1], held,
                                   s.min_within_3sd, seed=s.seed + number)
            wave.emulators.append(em)
            wave.diagnostics.append(diag)
            if not diag.passed:
                failures.append(f"{t.name} ({diag.within_3sd:.0%} of {diag.held_back} held-back runs within 3 sd, "
                                f"worst standardized error {diag.max_abs_std_error:.1f})")
        if failures:
            wave.emulators = []  # never used to rule anything out
            cal.failed = True
            cal.stopped_because = (f"wave {number}: emulator failed its held-back check, so the wave stops: "
                                   f"{'; '.join(failures)}; run more points per wave or replications")
            if on_wave:
                on_wave(cal, wave)
            break
        cal.sample_max_i = np.maximum(cal.sample_max_i,
                                      cal.implausibility(cal.sample_unit, wave.emulators).max(axis=1))
        wave.share_left = float(np.mean(cal.sample_max_i <= s.cutoff))
        if on_wave:
            on_wave(cal, wave)
        if wave.share_left == 0.0:
            cal.stopped_because = (f"wave {number}: no parameter values are left: the observations and the model "
                                   "disagree everywhere in the box (widen ranges or check the observations)")
            break
        if number > 1 and wave.share_left > s.stop_ratio * previous:
            cal.stopped_because = (f"wave {number}: the non-implausible share stopped shrinking "
                                   f"({previous:.3g} -> {wave.share_left:.3g})")
            break
        previous = wave.share_left
    else:
        cal.stopped_because = f"the set number of waves ({s.waves}) ran"
    return cal


CONSTRAINED_SD_RATIO = 0.8  # a parameter is constrained when the kept set's sd (unit scale) is below 0.8 x prior


def constrained(cal: Calibration) -> dict[str, float]:
    """Parameter -> sd of the kept sample over the prior's sd (unit scale, uniform: 1/sqrt(12))."""
    kept = cal.nonimplausible_sample()
    if len(kept) < 2:
        return {}
    ratio = kept.std(axis=0) / (1.0 / math.sqrt(12.0))
    return {name: float(r) for name, r in zip(cal.box.names, ratio, strict=True)}
