"""Gaussian-process emulators of the model's mean output, one per observation, and their leave-out checks.

Inputs are points of the unit cube (the parameter box rescaled); the output is the mean over a point's
replications. The kernel is Constant x Matern(3/2) with one length scale per parameter (ARD) plus a white
noise term that absorbs what is left of the replication noise in the means (Matern 3/2 rather than 5/2: on the
test line's held-back runs 5/2 was overconfident, 98 % within 3 sd against 100 %). The white term is dropped when
predicting: the emulator's variance is that of the smooth mean function only, and the noise of one run
around that mean enters the implausibility separately (its replication variance).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from scipy.stats import binomtest
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from threadpoolctl import ThreadpoolController  # installed with scikit-learn, which uses it the same way

FAIL_P_VALUE = 0.05
NEIGHBOURS = 5  # replication variance at a new point: mean of the nearest run points' sample variances


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
    """How an emulator did on runs it was not fitted to."""

    observation: str
    held_back: int
    within_3sd: float  # share of held-back points whose standardized error is within +-3
    max_abs_std_error: float
    std_errors: list[float] = field(default_factory=list)
    passed: bool = True

    def as_dict(self) -> dict[str, object]:
        return {"observation": self.observation, "held_back": self.held_back, "within_3sd": self.within_3sd,
                "max_abs_std_error": self.max_abs_std_error, "std_errors": self.std_errors, "passed": self.passed}


class Emulator:
    """E[f(x)] and Var_emulator(x) for one output, and the replication variance Var_rep(x) of one run."""

    def __init__(self, name: str, seed: int = 0) -> None:
        self.name = name
        self.seed = seed
        self._gp: GaussianProcessRegressor | None = None
        self._x = np.empty((0, 0))
        self._rep_var = np.empty(0)
        self.roughness_var = 0.0

    def fit(self, x: np.ndarray, means: np.ndarray, rep_vars: np.ndarray, reps: int) -> Emulator:
        """x: points in the unit cube (n, d); means and sample variances over each point's `reps` replications."""
        d = x.shape[1]
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(d, 0.5), (1e-2, 1e2), nu=1.5)
                  + WhiteKernel(1e-2, (1e-8, 1.0)))
        gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=1,
                                      random_state=self.seed)
        with warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(x, means)
        nugget = float(gp.kernel_.k2.noise_level) * float(np.square(gp._y_train_std))
        self.roughness_var = max(0.0, nugget - float(np.mean(rep_vars)) / reps)
        gp.kernel_ = gp.kernel_.k1  # predict the smooth mean: drop the white noise (see the module docstring)
        self._gp = gp
        self._x = x
        self._rep_var = np.asarray(rep_vars, dtype=float)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the emulated mean output at each row of x."""
        assert self._gp is not None, "fit first"
        with _one_blas_thread():
            mean, sd = self._gp.predict(x, return_std=True)
        return mean, np.square(sd) + self.roughness_var

    def replication_variance(self, x: np.ndarray) -> np.ndarray:
        """Variance of one run around the mean at x, from the nearest run points (noise varies over the space)."""
        k = min(NEIGHBOURS, len(self._x))
        out = np.empty(len(x))
        for start in range(0, len(x), 2048):
            block = x[start:start + 2048]
            dist = ((block[:, None, :] - self._x[None, :, :]) ** 2).sum(axis=2)
            nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
            out[start:start + 2048] = self._rep_var[nearest].mean(axis=1)
        return out


def fit_checked(name: str, x: np.ndarray, means: np.ndarray, rep_vars: np.ndarray, reps: int,
                held_back: np.ndarray, min_within: float = 0.95, seed: int = 0) -> tuple[Emulator, Diagnostics]:
    """Fit on the points not held back, check against the held-back ones, then refit on all of them.

    A held-back point's standardized error is (mean of its runs - emulator mean) / sqrt(Var_emulator +
    Var_rep / reps): the emulator's own uncertainty plus the noise of a mean of `reps` runs (the larger of the
    point's own sample variance and its neighbours'). The emulator fails
    when more held-back points fall outside +-3 than an emulator right `min_within` of the time would leave
    (one-sided binomial test at 5 %: with 5 held-back points one miss is tolerated, two are not).
    """
    train = np.ones(len(x), dtype=bool)
    train[held_back] = False
    check = Emulator(name, seed).fit(x[train], means[train], rep_vars[train], reps)
    mu, var = check.predict(x[held_back])
    # the noise of a held-back mean, pooled from its neighbours: a sample variance of 3 runs is often ~0
    noise = np.maximum(rep_vars[held_back], check.replication_variance(x[held_back])) / reps
    scale = np.sqrt(var + noise)
    errors = (means[held_back] - mu) / np.where(scale > 0, scale, np.finfo(float).tiny)
    misses = int(np.sum(~(np.abs(errors) <= 3.0)))
    within = 1.0 - misses / len(errors) if len(errors) else float("nan")
    p_value = binomtest(misses, len(errors), 1.0 - min_within, alternative="greater").pvalue if len(errors) else 0
    diag = Diagnostics(name, len(errors), within, float(np.max(np.abs(errors))) if len(errors) else float("nan"),
                       [float(e) for e in errors], passed=bool(len(errors) and p_value >= FAIL_P_VALUE))
    return Emulator(name, seed).fit(x, means, rep_vars, reps), diag
