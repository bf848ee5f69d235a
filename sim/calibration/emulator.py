"""Gaussian-process emulators of the model's mean output, one per observation, and their cross-validation.

Inputs are points of the unit cube (each parameter's quantile); the output is the mean over a point's
replications, standardized by the emulator itself (`y_mean`, `y_scale`). The kernel is Constant x Matern(3/2)
with one length scale per parameter (ARD) plus a white noise term that absorbs what is left of the replication
noise in the means (Matern 3/2 rather than 5/2: on the test line's held-back runs 5/2 was overconfident, 98 %
within 3 sd against 100 %). The white term is left out when predicting: the emulator's variance is that of the
smooth mean function only, and the noise of one run around that mean enters the implausibility separately (its
replication variance).

Predictions are computed here from the fitted process's public attributes (`kernel_.k1`, `X_train_`, `alpha_`,
`L_`), so the emulator can be written out and evaluated elsewhere (the report) from `Emulator.public()`:

    mean(x) = y_mean + y_scale * k(x, X) @ alpha
    var(x)  = y_scale^2 * (k(x, x) - |L^-1 k(X, x)|^2) + roughness_var
    k(a, b) = signal_variance * Matern_3/2(|(a - b) / length_scales|)   (the white noise left out)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from scipy.linalg import solve_triangular
from scipy.stats import binomtest
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from threadpoolctl import ThreadpoolController  # installed with scikit-learn, which uses it the same way

FAIL_P_VALUE = 0.05
NEIGHBOURS = 5  # replication variance at a new point: mean of the nearest run points' sample variances
FOLDS = 5  # k-fold cross-validation over the whole design (faces included)
NU = 1.5


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # finding the loaded BLAS libraries takes milliseconds: once per process


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Fit and predict on one BLAS thread. The matrices are a few dozen design points square (a few thousand
    sample points by that when predicting): too small to share out, and OpenBLAS's idle threads spin between
    calls. On the test line's history matching the fits took 4.4 s of CPU with the default two threads and
    1.0 s with one, to the same numbers bit for bit."""
    with _blas().limit(limits=1, user_api="blas"):
        yield


@dataclass
class Diagnostics:
    """How an emulator did on runs it was not fitted to: k-fold cross-validation over the whole design."""

    observation: str
    held_back: int  # design points predicted out of fold (every point of the design)
    folds: int
    within_3sd: float  # share of points whose standardized error is within +-3
    max_abs_std_error: float
    std_errors: list[float] = field(default_factory=list)
    passed: bool = True

    def as_dict(self) -> dict[str, object]:
        return {"observation": self.observation, "held_back": self.held_back, "folds": self.folds,
                "within_3sd": self.within_3sd, "max_abs_std_error": self.max_abs_std_error,
                "std_errors": self.std_errors, "passed": self.passed}


class Emulator:
    """E[f(x)] and Var_emulator(x) for one output, and the replication variance Var_rep(x) of one run."""

    def __init__(self, name: str, seed: int = 0) -> None:
        self.name = name
        self.seed = seed
        self.x_train = np.empty((0, 0))
        self.alpha = np.empty(0)
        self.y_mean, self.y_scale = 0.0, 1.0
        self.signal_variance, self.length_scales, self.noise_variance = 1.0, np.empty(0), 0.0
        self.roughness_var = 0.0
        self._smooth: Any = None  # the fitted kernel without its white term
        self._chol = np.empty((0, 0))
        self._rep_var = np.empty(0)
        self.reps = 1

    def fit(self, x: np.ndarray, means: np.ndarray, rep_vars: np.ndarray, reps: int) -> Emulator:
        """x: points in the unit cube (n, d); means and sample variances over each point's `reps` replications."""
        d = x.shape[1]
        means = np.asarray(means, dtype=float)
        self.y_mean = float(means.mean())
        spread = float(means.std())
        self.y_scale = spread if spread > 0 else 1.0
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(d, 0.5), (1e-2, 1e2), nu=NU)
                  + WhiteKernel(1e-2, (1e-8, 1.0)))
        gp = GaussianProcessRegressor(kernel, normalize_y=False, n_restarts_optimizer=1, random_state=self.seed)
        with warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(x, (means - self.y_mean) / self.y_scale)
        self._smooth = gp.kernel_.k1
        self.signal_variance = float(gp.kernel_.k1.k1.constant_value)
        self.length_scales = np.atleast_1d(np.asarray(gp.kernel_.k1.k2.length_scale, dtype=float))
        self.noise_variance = float(gp.kernel_.k2.noise_level)
        self.x_train, self.alpha, self._chol = np.asarray(x, dtype=float), gp.alpha_.ravel(), gp.L_
        nugget = self.noise_variance * self.y_scale ** 2
        self.roughness_var = max(0.0, nugget - float(np.mean(rep_vars)) / reps)
        self._rep_var = np.asarray(rep_vars, dtype=float)
        self.reps = int(reps)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the emulated mean output at each row of x."""
        assert self._smooth is not None, "fit first"
        mean, var = np.empty(len(x)), np.empty(len(x))
        with _one_blas_thread():
            for start in range(0, len(x), 4096):
                block = x[start:start + 4096]
                cross = self._smooth(block, self.x_train)
                v = solve_triangular(self._chol, cross.T, lower=True, check_finite=False)
                mean[start:start + 4096] = cross @ self.alpha
                var[start:start + 4096] = self.signal_variance - np.einsum("ij,ij->j", v, v)
        return (self.y_mean + self.y_scale * mean,
                self.y_scale ** 2 * np.maximum(var, 0.0) + self.roughness_var)

    def replication_variance(self, x: np.ndarray) -> np.ndarray:
        """Variance of one run around the mean at x, from the nearest run points (noise varies over the space)."""
        k = min(NEIGHBOURS, len(self.x_train))
        out = np.empty(len(x))
        for start in range(0, len(x), 2048):
            block = x[start:start + 2048]
            dist = ((block[:, None, :] - self.x_train[None, :, :]) ** 2).sum(axis=2)
            nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
            out[start:start + 2048] = self._rep_var[nearest].mean(axis=1)
        return out

    def run_variance(self, x: np.ndarray) -> np.ndarray:
        """What the implausibility adds for the runs' noise at x: one run's variance (reality is one
        realisation) plus that of the mean of `reps` runs the emulator learnt. Every design point runs the same
        replication streams (common random numbers), so the means share one noise draw the emulator cannot see
        as noise: on the test line, at a truth with 10 runs averaging 15,320 masks (sd 985), the 2-replication
        emulator said 14,194 with an sd of 77, and the truth was ruled out in 3 of 40 synthetic calibrations
        (benchmarks/stat_calibration.py) until this term was added."""
        return self.replication_variance(x) * (1.0 + 1.0 / self.reps)

    def public(self) -> dict[str, Any]:
        """Everything needed to evaluate the emulator elsewhere (see the module docstring for the formulas).
        Inputs are unit-cube coordinates (each parameter's prior quantile)."""
        return {"observation": self.name, "kernel": f"constant x Matern nu={NU} (ARD), white noise left out",
                "inputs": "unit cube: each parameter's prior quantile", "nu": NU,
                "signal_variance": self.signal_variance, "length_scales": self.length_scales.tolist(),
                "noise_variance": self.noise_variance, "y_mean": self.y_mean, "y_scale": self.y_scale,
                "roughness_var": self.roughness_var, "replications": self.reps, "x_train": self.x_train.tolist(),
                "alpha": self.alpha.tolist()}


def folds_of(n: int, rng: np.random.Generator, k: int = FOLDS) -> np.ndarray:
    """Fold number of each design point: a random balanced split of the whole design (faces included)."""
    return rng.permutation(np.arange(n) % min(k, n))


def cross_validate(name: str, x: np.ndarray, means: np.ndarray, rep_vars: np.ndarray, reps: int,
                   folds: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold emulated mean, its variance, and the replication variance of one run (from the neighbours)
    at every design point, each fold predicted by an emulator refitted without it."""
    mean, var, rep = np.empty(len(x)), np.empty(len(x)), np.empty(len(x))
    for fold in np.unique(folds):
        out = folds == fold
        em = Emulator(name, seed).fit(x[~out], means[~out], rep_vars[~out], reps)
        mean[out], var[out] = em.predict(x[out])
        rep[out] = em.replication_variance(x[out])
    return mean, var, rep


def fit_checked(name: str, x: np.ndarray, means: np.ndarray, rep_vars: np.ndarray, reps: int,
                folds: np.ndarray, min_within: float = 0.95, seed: int = 0
                ) -> tuple[Emulator, Diagnostics, np.ndarray, np.ndarray, np.ndarray]:
    """k-fold cross-validation over the whole design, then a fit on all of it.

    Each point's standardized error is (mean of its runs - out-of-fold prediction) / sqrt(Var_emulator +
    Var_rep / reps), Var_rep the larger of the point's own sample variance and its neighbours' (a sample
    variance of 2-3 runs is often near 0). The emulator fails when more points fall outside +-3 than an
    emulator right `min_within` of the time would leave (one-sided binomial test at 5 %). Returns the emulator,
    its diagnostics, and the out-of-fold means, variances and replication variances (for the misclassification
    check against the runs' own verdicts).
    """
    mu, var, rep = cross_validate(name, x, means, rep_vars, reps, folds, seed)
    scale = np.sqrt(var + np.maximum(rep_vars, rep) / reps)
    errors = (means - mu) / np.where(scale > 0, scale, np.finfo(float).tiny)
    misses = int(np.sum(~(np.abs(errors) <= 3.0)))
    p_value = binomtest(misses, len(errors), 1.0 - min_within, alternative="greater").pvalue
    diag = Diagnostics(name, len(errors), len(np.unique(folds)), 1.0 - misses / len(errors),
                       float(np.max(np.abs(errors))), [float(e) for e in errors], passed=bool(p_value >= FAIL_P_VALUE))
    return Emulator(name, seed).fit(x, means, rep_vars, reps), diag, mu, var, rep
