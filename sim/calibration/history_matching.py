"""Bayesian history matching in waves (Vernon, Goldstein & Bower 2010; Andrianakis et al. 2015).

A point x of the parameter space is ruled out when, for some observation z,

    I(x) = d(z, E[f(x)]) / sqrt(Var_emulator(x) + Var_observation + Var_discrepancy + Var_replications(x))

exceeds the cut-off (default 3, Pukelsheim's three-sigma rule holds for any unimodal distribution); d is |z - E|
for a value, and only the shortfall (zero on the allowed side) for a one-sided observation (`at_least`,
`at_most`). Each wave runs a space-filling design inside what earlier waves left, fits one emulator per
observation, cross-validates it over the whole design (k-fold, faces included) and compares its verdicts with
the runs' own, and adds the emulators to the rules: a point is non-implausible when no wave's emulators rule it
out.

After each wave, two samples, drawn from separate streams:
- the **share of the space left** (prior probability) is estimated on a fresh uniform sample of
  `uniform_sample` points, with an exact (Clopper-Pearson) 95 % interval: k of N points kept;
- the **kept region** is sampled for the next design and the calibrated set (as hmer does): uniform points
  are drawn in batches until `kept_points` are kept (or `max_uniform` have been tried); when fewer are found,
  the points kept so far (and the run points the emulators keep) seed importance sampling: proposals from a
  Gaussian mixture around them, each kept one accepted with probability q_min / q(x), so that what is accepted
  is spread as the prior over the region the mixture covers (sampling-importance rejection).

The model itself is reached only through `evaluate(wave, values) -> outputs[point, replication, observation]`,
so the same code calibrates the real network through the runner and a test's small line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.special import logsumexp
from scipy.stats import binomtest, qmc

from sim.calibration.emulator import FOLDS, Diagnostics, Emulator, fit_checked, folds_of

Evaluate = Callable[[int, np.ndarray], np.ndarray]
MIN_POINTS = 6  # a wave needs at least this many points (and half its planned size) to fit and check emulators
POINTS_PER_PARAMETER = 10  # the first wave's default size: 10 x the number of parameters (Loeppky et al. 2009)
SIDES = ("both", "at_least", "at_most")


class Space(Protocol):
    """What history matching needs of a parameter space: names and the map from the unit cube."""

    names: list[str]

    @property
    def dim(self) -> int: ...

    def to_values(self, unit: np.ndarray) -> np.ndarray: ...

    def snap(self, unit: np.ndarray) -> np.ndarray:
        """Unit points with discrete and choice coordinates at their bins' centres (continuous ones unchanged)."""
        ...


@dataclass
class Target:
    """One observation as history matching sees it: z, the variances of its errors, and which side it bounds
    (`both` for a value; `at_least` / `at_most` for a one-sided observation)."""

    name: str
    observed: float
    obs_var: float
    discrepancy_var: float
    side: str = "both"

    def distance(self, mean: np.ndarray) -> np.ndarray:
        """How far the model's mean is from the observation; zero on the allowed side of a one-sided one."""
        gap = self.observed - np.asarray(mean, dtype=float)
        if self.side == "at_least":
            return np.maximum(gap, 0.0)
        if self.side == "at_most":
            return np.maximum(-gap, 0.0)
        return np.abs(gap)


@dataclass
class Settings:
    waves: int = 4
    points_per_wave: int = 40
    first_wave_points: int | None = None  # default POINTS_PER_PARAMETER x the number of parameters
    replications: int = 3
    cutoff: float = 3.0
    folds: int = FOLDS
    min_within_3sd: float = 0.95
    uniform_sample: int = 20_000  # points of each wave's share estimate (and of each batch of the kept search)
    kept_points: int = 1000  # points of the kept region sought for the next design and the calibrated set
    max_uniform: int = 200_000  # uniform points tried for them before importance sampling takes over
    stop_ratio: float = 0.9  # stop when a wave keeps more than this share of what the previous wave left
    seed: int = 0

    def first_wave(self, dim: int) -> int:
        return self.first_wave_points or POINTS_PER_PARAMETER * dim


@dataclass
class Share:
    """k of n uniform points kept, and the exact 95 % interval of the share of the space they estimate."""

    kept: int
    n: int

    @property
    def value(self) -> float:
        return self.kept / self.n

    @property
    def interval(self) -> tuple[float, float]:
        ci = binomtest(self.kept, self.n).proportion_ci(0.95, method="exact")
        return float(ci.low), float(ci.high)

    def describe(self) -> str:
        low, high = self.interval
        if self.kept == 0:
            return (f"none of {self.n:,} sampled points kept (share below 3/N = {3 / self.n:.2g}; "
                    f"exact 95 % interval 0 to {high:.2g})")
        return f"{self.value:.3g} (exact 95 % interval {low:.3g} to {high:.3g}; {self.kept:,} of {self.n:,} points)"

    def as_dict(self) -> dict[str, object]:
        low, high = self.interval
        return {"kept": self.kept, "n": self.n, "share": self.value, "ci95": [low, high]}


@dataclass
class Misclassification:
    """The emulators' out-of-fold verdict on a wave's runs against each run's own verdict (its mean and spread)."""

    runs: int
    kept_by_runs: int
    ruled_out_though_kept: int  # the emulators rule the point out, its own runs are within the cut-off
    kept_though_ruled_out: int  # the reverse: the emulators keep a point its own runs rule out
    ruled_out_though_clearly_kept: int  # ruled out, though its own runs are within the cut-off - CLEAR_MARGIN

    def as_dict(self) -> dict[str, object]:
        out_by_runs = self.runs - self.kept_by_runs
        return {"runs": self.runs, "kept_by_runs": self.kept_by_runs,
                "ruled_out_though_kept": self.ruled_out_though_kept,
                "ruled_out_though_kept_share": (self.ruled_out_though_kept / self.kept_by_runs
                                                if self.kept_by_runs else None),
                "ruled_out_though_clearly_kept": self.ruled_out_though_clearly_kept,
                "kept_though_ruled_out": self.kept_though_ruled_out,
                "kept_though_ruled_out_share": (self.kept_though_ruled_out / out_by_runs if out_by_runs else None)}


@dataclass
class Wave:
    number: int
    unit: np.ndarray  # design points in the unit cube
    values: np.ndarray  # the same in parameter units
    outputs: np.ndarray  # [point, replication, observation]
    emulators: list[Emulator]
    diagnostics: list[Diagnostics]
    cv_max_i: np.ndarray = field(default_factory=lambda: np.empty(0))  # out-of-fold emulated max implausibility
    misclassification: Misclassification | None = None
    share: Share | None = None  # of the original space, after this wave's emulators were added

    @property
    def share_left(self) -> float:
        return math.nan if self.share is None else self.share.value


@dataclass
class Calibration:
    box: Space
    targets: list[Target]
    settings: Settings
    waves: list[Wave] = field(default_factory=list)
    share_unit: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # the last share estimate's sample
    share_max_i: np.ndarray = field(default_factory=lambda: np.empty(0))  # its max implausibility, all waves
    kept_unit: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # the kept region's sample
    kept_method: str = ""  # how kept_unit was drawn (uniform, or uniform + importance sampling)
    stopped_because: str = ""
    failed: bool = False
    nothing_fits: bool = False

    @property
    def rules(self) -> list[list[Emulator]]:
        return [w.emulators for w in self.waves if w.emulators]

    def implausibility(self, unit: np.ndarray, emulators: Sequence[Emulator]) -> np.ndarray:
        """[point, observation] implausibility under one wave's emulators (at the snapped point: the emulators
        were fitted on snapped run points)."""
        return implausibility(self.box.snap(unit), emulators, self.targets)

    def max_implausibility(self, unit: np.ndarray) -> np.ndarray:
        """Max over observations and over every wave's emulators (a point must pass all of them)."""
        out = np.zeros(len(unit))
        for emulators in self.rules:
            out = np.maximum(out, self.implausibility(unit, emulators).max(axis=1))
        return out

    def is_kept(self, unit: np.ndarray) -> np.ndarray:
        """The same verdict as max_implausibility <= cutoff, each wave's emulators run only on what earlier
        waves' emulators kept (most points fall at the first)."""
        kept = np.ones(len(unit), dtype=bool)
        for emulators in self.rules:
            idx = np.flatnonzero(kept)
            if not len(idx):
                break
            kept[idx] = self.implausibility(unit[idx], emulators).max(axis=1) <= self.settings.cutoff
        return kept

    def run_implausibility(self, wave: Wave) -> np.ndarray:
        """[point, observation] implausibility of run points from their own replications (no emulator)."""
        mean = wave.outputs.mean(axis=1)
        rep_var = wave.outputs.var(axis=1, ddof=1) if wave.outputs.shape[1] > 1 else np.zeros_like(mean)
        fixed = np.array([t.obs_var + t.discrepancy_var for t in self.targets])
        reps = wave.outputs.shape[1]
        gaps = np.column_stack([t.distance(mean[:, j]) for j, t in enumerate(self.targets)])
        return gaps / np.sqrt(np.maximum(fixed + rep_var * (1.0 + 1.0 / reps), np.finfo(float).tiny))


def implausibility(unit: np.ndarray, emulators: Sequence[Emulator], targets: Sequence[Target]) -> np.ndarray:
    out = np.empty((len(unit), len(targets)))
    for j, (em, t) in enumerate(zip(emulators, targets, strict=True)):
        mean, var = em.predict(unit)
        total = var + t.obs_var + t.discrepancy_var + em.run_variance(unit)
        out[:, j] = t.distance(mean) / np.sqrt(np.maximum(total, np.finfo(float).tiny))
    return out


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


# ------------------------------------------------------------------------------------ sampling the kept region
IMPORTANCE_ROUNDS = 30
MIXTURE_SEEDS = 200  # seeds of the proposal mixture at most (its density costs proposals x seeds x dimensions)


def _mixture_log_density(x: np.ndarray, seeds: np.ndarray, width: np.ndarray) -> np.ndarray:
    z = (x[:, None, :] - seeds[None, :, :]) / width
    return logsumexp(-0.5 * (z ** 2).sum(axis=2), axis=1)  # up to a constant: only ratios are used


def importance_sample(cal: Calibration, seeds: np.ndarray, wanted: int, rng: np.random.Generator) -> np.ndarray:
    """Points of the kept region around `seeds`, spread as the prior (uniform in the unit cube) over the region
    the proposal mixture covers: proposals x ~ q = mixture of normals around the seeds (Silverman's width per
    dimension, at least 0.02), those inside the cube and kept are accepted with probability q_min / q(x)."""
    d = seeds.shape[1]
    found: list[np.ndarray] = []
    total = 0
    for _ in range(IMPORTANCE_ROUNDS):
        if total >= wanted:
            break
        mix = seeds if len(seeds) <= MIXTURE_SEEDS else seeds[rng.choice(len(seeds), MIXTURE_SEEDS, replace=False)]
        spread = mix.std(axis=0) if len(mix) > 1 else np.full(d, 0.1)
        width = np.maximum(spread * (4.0 / ((d + 2) * len(mix))) ** (1.0 / (d + 4)), 0.02)
        proposals = mix[rng.integers(len(mix), size=4 * wanted)] + rng.standard_normal((4 * wanted, d)) * width
        proposals = proposals[((proposals >= 0) & (proposals <= 1)).all(axis=1)]
        kept = proposals[cal.is_kept(proposals)]
        if not len(kept):
            continue
        log_q = _mixture_log_density(kept, mix, width)
        accepted = kept[rng.random(len(kept)) < np.exp(log_q.min() - log_q)]
        found.append(accepted)
        total += len(accepted)
        seeds = np.concatenate([seeds, accepted])  # the region found so far seeds the next round
    return np.concatenate(found)[:wanted] if found else np.empty((0, d))


def sample_kept_region(cal: Calibration, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """`kept_points` points of the region no wave's emulators rule out (fewer when it is too small to find),
    and how they were drawn."""
    s, d = cal.settings, cal.box.dim
    found: list[np.ndarray] = []
    drawn = kept = 0
    while kept < s.kept_points and drawn < s.max_uniform:
        batch = rng.random((s.uniform_sample, d))
        drawn += len(batch)
        found.append(batch[cal.is_kept(batch)])
        kept += len(found[-1])
    uniform = np.concatenate(found)
    method = f"uniform: {kept:,} of {drawn:,} uniform points kept"
    if kept >= s.kept_points:
        return uniform[: s.kept_points], method
    earlier = cal.kept_unit[cal.is_kept(cal.kept_unit)] if len(cal.kept_unit) else np.empty((0, d))
    runs = np.concatenate([w.unit for w in cal.waves])
    seeds = np.concatenate([uniform, earlier, runs[cal.is_kept(runs)]])
    if not len(seeds):
        return uniform, method
    extra = importance_sample(cal, seeds, s.kept_points - kept, rng)
    return (np.concatenate([uniform, extra]),
            f"{method}; {len(extra):,} more by importance sampling around {len(seeds):,} kept points")


def _next_design(cal: Calibration, rng: np.random.Generator) -> np.ndarray:
    """Wave 1: a Latin hypercube of the space. Later: a space-filling subset of the kept region's sample."""
    s = cal.settings
    if not cal.waves:
        return qmc.LatinHypercube(d=cal.box.dim, seed=rng).random(s.first_wave(cal.box.dim))
    return maximin_subset(cal.kept_unit, s.points_per_wave, rng)


CLEAR_MARGIN = 1.0  # a run is clearly kept when its own implausibility is at least this far below the cut-off


def _misclassification(cal: Calibration, wave: Wave, cv_mean: np.ndarray, cv_var: np.ndarray,
                       cv_rep: np.ndarray) -> None:
    """Compare the out-of-fold emulators' verdict on each run point with the runs' own."""
    cutoff = cal.settings.cutoff
    emulated = np.column_stack([t.distance(cv_mean[:, j]) / np.sqrt(np.maximum(
        cv_var[:, j] + t.obs_var + t.discrepancy_var + cv_rep[:, j] * (1 + 1 / wave.outputs.shape[1]),
        np.finfo(float).tiny))
        for j, t in enumerate(cal.targets)])
    wave.cv_max_i = emulated.max(axis=1)
    own_i = cal.run_implausibility(wave).max(axis=1)
    own, by_emulators = own_i <= cutoff, wave.cv_max_i <= cutoff
    wave.misclassification = Misclassification(len(own), int(own.sum()), int((own & ~by_emulators).sum()),
                                               int((~own & by_emulators).sum()),
                                               int(((own_i <= cutoff - CLEAR_MARGIN) & ~by_emulators).sum()))


def training_set(cal: Calibration, wave: Wave) -> tuple[np.ndarray, np.ndarray]:
    """The points a wave's emulators learn from: the wave's own runs first, then every earlier wave's runs
    that the emulators so far still keep (they lie in the region this wave emulates, as in hmer: runs are
    the costly part, and a wave of 5 x d points alone is thin for d length scales)."""
    units, outputs = [wave.unit], [wave.outputs]
    for earlier in cal.waves:
        if earlier is wave:
            continue
        inside = cal.is_kept(earlier.unit) if cal.rules else np.ones(len(earlier.unit), dtype=bool)
        units.append(earlier.unit[inside])
        outputs.append(earlier.outputs[inside])
    return np.concatenate(units), np.concatenate(outputs)


def _fit_wave(cal: Calibration, wave: Wave, rng: np.random.Generator) -> list[str]:
    """Fit and cross-validate the wave's emulators on its training set; the failures, in words."""
    s = cal.settings
    unit, outputs = training_set(cal, wave)
    means = outputs.mean(axis=1)
    rep_vars = outputs.var(axis=1, ddof=1)
    folds = folds_of(len(unit), rng, s.folds)
    failures = []
    cv = np.empty((3, len(unit), len(cal.targets)))
    for j, t in enumerate(cal.targets):
        em, diag, *out_of_fold = fit_checked(t.name, unit, means[:, j], rep_vars[:, j], outputs.shape[1],
                                             folds, s.min_within_3sd, seed=s.seed + wave.number)
        cv[:, :, j] = out_of_fold
        wave.emulators.append(em)
        wave.diagnostics.append(diag)
        if not diag.passed:
            failures.append(f"{t.name} ({diag.within_3sd:.0%} of {diag.held_back} runs within 3 sd out of fold, "
                            f"worst standardized error {diag.max_abs_std_error:.1f})")
    _misclassification(cal, wave, *cv[:, :len(wave.unit)])  # the wave's own points come first
    return failures


def history_match(box: Space, targets: list[Target], evaluate: Evaluate, settings: Settings | None = None,
                  on_wave: Callable[[Calibration, Wave], None] | None = None) -> Calibration:
    """Run waves until the non-implausible share stops shrinking, nothing is left, an emulator fails its
    cross-validation, or `settings.waves` waves have run. `on_wave` sees each finished wave (for writing)."""
    s = settings or Settings()
    design_rng, share_rng, kept_rng = (np.random.default_rng(seq) for seq in np.random.SeedSequence(s.seed).spawn(3))
    cal = Calibration(box, targets, s)
    previous = 1.0
    for number in range(1, s.waves + 1):
        unit = box.snap(_next_design(cal, design_rng))
        if len(unit) < max(MIN_POINTS, s.points_per_wave // 2):
            cal.stopped_because = (f"wave {number}: only {len(unit)} non-implausible points could be found for the "
                                   "next design: the region left is too small to emulate further")
            break
        outputs = np.asarray(evaluate(number, box.to_values(unit)), dtype=float)
        wave = Wave(number, unit, box.to_values(unit), outputs, [], [])
        cal.waves.append(wave)
        if not np.all(np.isfinite(outputs)):
            bad = sorted({targets[j].name for j in np.argwhere(~np.isfinite(outputs))[:, 2]})
            cal.failed, cal.stopped_because = True, f"wave {number}: runs gave no value for {', '.join(bad)}"
            break
        failures = _fit_wave(cal, wave, design_rng)
        if failures:
            wave.emulators = []  # never used to rule anything out
            cal.failed = True
            cal.stopped_because = (f"wave {number}: emulator failed its cross-validation, so the wave stops: "
                                   f"{'; '.join(failures)}; run more points per wave or replications")
            if on_wave:
                on_wave(cal, wave)
            break
        cal.share_unit = share_rng.random((s.uniform_sample, box.dim))
        cal.share_max_i = cal.max_implausibility(cal.share_unit)
        wave.share = Share(int(np.sum(cal.share_max_i <= s.cutoff)), s.uniform_sample)
        kept_unit, cal.kept_method = sample_kept_region(cal, kept_rng)
        cal.kept_unit = box.snap(kept_unit)
        if on_wave:
            on_wave(cal, wave)
        if not len(cal.kept_unit):
            cal.failed = cal.nothing_fits = True
            cal.stopped_because = (f"wave {number}: nothing kept: {wave.share.describe()}, nor any point of the "
                                   f"kept-region search ({cal.kept_method})")
            break
        if number > 1 and wave.share_left > s.stop_ratio * previous:
            cal.stopped_because = (f"wave {number}: the non-implausible share stopped shrinking "
                                   f"({previous:.3g} -> {wave.share_left:.3g})")
            break
        previous = wave.share_left
    else:
        cal.stopped_because = f"the set number of waves ({s.waves}) ran"
    return cal


# ------------------------------------------------------------------------------------------- reading the result
CONSTRAINED_SD_RATIO = 0.8  # a parameter is constrained when the kept set's sd (unit scale) is below 0.8 x prior
PINNED_P_VALUE = 0.01  # a parameter is pinned when the runs' misfit falls towards one of its bounds this clearly


def alternatives_left(cal: Calibration, j: int, levels: int) -> list[Share]:
    """For a parameter of `levels` values (a choice, a discrete set), the share of each value's prior slice
    that the last share estimate keeps, from the uniform points that fell in that slice: the observations'
    verdict on each alternative with its exact interval (equal priors, so the kept shares are proportional
    to the alternatives' posterior weights)."""
    if not len(cal.share_unit):
        return []
    index = np.minimum((cal.share_unit[:, j] * levels).astype(int), levels - 1)
    kept = cal.share_max_i <= cal.settings.cutoff
    return [Share(int(np.sum(kept & (index == a))), int(np.sum(index == a))) for a in range(levels)]


PRIOR_GRID = 27_720  # unit grid for the prior's sd: divisible by every number of values up to 12


def constrained(cal: Calibration) -> dict[str, float]:
    """Parameter -> sd of the kept sample over the prior's sd (unit scale; a discrete parameter or a choice on
    its snapped scale)."""
    if len(cal.kept_unit) < 2:
        return {}
    # the prior's sd on the same (snapped) scale: 1/sqrt(12) for a continuous parameter, less for one of k values
    prior = cal.box.snap(np.tile(((np.arange(PRIOR_GRID) + 0.5) / PRIOR_GRID)[:, None], (1, cal.box.dim)))
    ratio = cal.kept_unit.std(axis=0) / prior.std(axis=0)
    return {name: float(r) for name, r in zip(cal.box.names, ratio, strict=True)}


@dataclass
class Conflict:
    """Why nothing fits, read off the runs themselves (no emulator)."""

    runs: int
    compatible_runs: int  # runs whose own implausibility is within the cut-off on every observation
    observations: dict[str, float]  # observation -> the lowest implausibility any run reached on it
    pinned: dict[str, tuple[str, float]]  # parameter -> (low end | high end, the bound's value)

    def sentence(self, cal: Calibration) -> str:
        cutoff = cal.settings.cutoff
        runs = (f"every one of the {self.runs} runs is incompatible with the observations" if not self.compatible_runs
                else f"{self.compatible_runs} of the {self.runs} runs are compatible on their own (the region is "
                     "too small to find by sampling, or the emulators are too rough)")
        conflict = ", ".join(f"{name} (best run I = {best:.3g} > {cutoff:g})" if best > cutoff else name
                             for name, best in self.observations.items()) or "none alone"
        pinned = ", ".join(f"{name} at its {end} {value:g}" for name, (end, value) in self.pinned.items()) or "none"
        return f"{runs}; observations in conflict: {conflict}; parameters pinned at a bound: {pinned}"


def conflict(cal: Calibration) -> Conflict:
    """The observations no run meets even alone (if none, those the run nearest to fitting misses), and the
    parameters pinned at a bound: those along which the runs' misfit on those observations falls clearly
    (Spearman's rank correlation over every run, p < 0.01) towards one end of the range, so the runs would fit
    better beyond it."""
    from scipy.stats import spearmanr

    cutoff = cal.settings.cutoff
    own = np.concatenate([cal.run_implausibility(w) for w in cal.waves])
    unit = np.concatenate([w.unit for w in cal.waves])
    best = own.min(axis=0)
    alone = [j for j in range(len(cal.targets)) if best[j] > cutoff]
    missed = alone or [int(j) for j in np.flatnonzero(own[np.argmin(own.max(axis=1))] > cutoff)]
    misfit = own[:, missed].max(axis=1) if missed else own.max(axis=1)
    lows, highs = cal.box.to_values(np.zeros((1, cal.box.dim)))[0], cal.box.to_values(np.ones((1, cal.box.dim)))[0]
    pinned = {}
    for j, name in enumerate(cal.box.names):
        test = spearmanr(unit[:, j], misfit)
        if np.isfinite(test.statistic) and test.pvalue < PINNED_P_VALUE:
            pinned[name] = ("low end", float(lows[j])) if test.statistic > 0 else ("high end", float(highs[j]))
    return Conflict(len(own), int((own.max(axis=1) <= cutoff).sum()),
                    {cal.targets[j].name: float(best[j]) for j in missed}, pinned)
