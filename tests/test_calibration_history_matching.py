"""History matching on the small line run by the real model: emulators hold their 3-sigma bands on held-back
runs and under k-fold cross-validation, their public parameters give sklearn's own predictions, a synthetic truth
is recovered (never ruled out, identifiable parameters narrowed, the uninformed one left wide), the share left
comes with an exact interval that covers a known share, the kept region's sample stays inside it and spreads over
it, one-sided observations rule out one side only, and an impossible observation leaves nothing, named."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.stats import qmc

from sim.calibration.emulator import Emulator, fit_checked, folds_of
from sim.calibration.history_matching import Settings, Target, history_match, maximin_subset
from tests import calibration_case as case

REPS = 3


DESIGN = qmc.LatinHypercube(d=3, seed=11).random(40)


@functools.cache
def _outputs_of_design() -> np.ndarray:
    """40 Latin-hypercube points of the space, 3 runs each: [point, replication, observation]."""
    return case.evaluate(REPS)(1, case.SPACE.to_values(DESIGN))


@pytest.fixture(scope="module")
def design():
    return DESIGN, _outputs_of_design()


@pytest.mark.slow
def test_emulators_hold_their_three_sigma_band_on_held_back_runs(design):
    unit, out = design
    means, rep_vars = out.mean(axis=1), out.var(axis=1, ddof=1)
    train, test = np.arange(0, 40, 2), np.arange(1, 40, 2)  # two interleaved Latin hypercube halves
    errors = []
    for j in range(out.shape[2]):
        em = Emulator("o").fit(unit[train], means[train, j], rep_vars[train, j], REPS)
        mu, var = em.predict(unit[test])
        noise = np.maximum(rep_vars[test, j], em.replication_variance(unit[test])) / REPS
        errors.extend((means[test, j] - mu) / np.sqrt(var + noise))
    errors = np.abs(np.asarray(errors))
    assert np.mean(errors <= 3.0) >= 0.95, np.sort(errors)[-5:]
    assert np.median(errors) > 0.05  # the band is not absurdly wide either


def test_an_emulator_that_misses_its_held_back_runs_fails(design):
    """k-fold over the whole design: the real outputs pass; with a fifth of the points 50 % off (as if part of
    the space behaved unlike the rest), the folds that hold them miss them and the emulator fails."""
    unit, out = design
    means, rep_vars = out.mean(axis=1), out.var(axis=1, ddof=1)
    folds = folds_of(len(unit), np.random.default_rng(0))
    _, good, *_ = fit_checked("output", unit, means[:, 0], rep_vars[:, 0], REPS, folds)
    assert good.passed and good.held_back == 40 and good.folds == 5, good
    wrong = means[:, 0].copy()
    odd = folds == 2
    wrong[odd] *= 1.5
    _, bad, *_ = fit_checked("output", unit, wrong, rep_vars[:, 0], REPS, folds)
    assert not bad.passed and np.mean(np.abs(np.asarray(bad.std_errors)[odd]) > 3) >= 0.5, bad


def test_the_emulator_predicts_from_its_public_parameters_as_sklearn_does(design):
    """The mean and variance come from the exported parameters (no private attribute, no kernel swapped after
    the fit), and agree with scikit-learn's own prediction of the smooth part."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern

    unit, out = design
    means, rep_vars = out.mean(axis=1), out.var(axis=1, ddof=1)
    em = Emulator("output").fit(unit, means[:, 0], rep_vars[:, 0], REPS)
    public = em.public()
    new = np.random.default_rng(3).random((50, 3))
    kernel = ConstantKernel(public["signal_variance"]) * Matern(public["length_scales"], nu=public["nu"])
    x_train, alpha = np.asarray(public["x_train"]), np.asarray(public["alpha"])
    by_hand = public["y_mean"] + public["y_scale"] * kernel(new, x_train) @ alpha
    mean, var = em.predict(new)
    assert np.allclose(mean, by_hand, rtol=1e-9), np.abs(mean - by_hand).max()
    # scikit-learn's predictive sd of the same smooth kernel, conditioned on the same noisy training data
    noisy = kernel + __import__("sklearn.gaussian_process.kernels", fromlist=["WhiteKernel"]).WhiteKernel(
        public["noise_variance"], "fixed")
    gp = GaussianProcessRegressor(noisy, optimizer=None).fit(x_train, (means[:, 0] - public["y_mean"])
                                                               / public["y_scale"])
    k_star = kernel(new, x_train)
    sk_var = kernel.diag(new) - np.einsum("ij,ji->i", k_star, np.linalg.solve(gp.kernel_(x_train), k_star.T))
    assert np.allclose(var - public["roughness_var"], public["y_scale"] ** 2 * sk_var, rtol=1e-6, atol=1e-9)
    assert len(public["length_scales"]) == 3 and public["y_scale"] > 0


def test_a_wave_refuses_to_go_on_with_a_failing_emulator(monkeypatch):
    """A fold of wave 1 comes out 50 % higher than the model says: the emulator of that output fails its
    cross-validation, the wave stops and rules nothing out."""
    from sim.calibration import history_matching

    real = history_matching.fit_checked

    def with_odd_fold(name, x, means, rep_vars, reps, folds, *args, **kwargs):
        means = means.copy()
        means[folds == 0] *= 1.5
        return real(name, x, means, rep_vars, reps, folds, *args, **kwargs)

    monkeypatch.setattr(history_matching, "fit_checked", with_odd_fold)
    targets = [Target(n, 1.0, 1.0, 0.0) for n in case.OBSERVATIONS]
    cal = history_match(case.SPACE, targets, case.evaluate(2), Settings(waves=3, points_per_wave=12,
                                                                        uniform_sample=2000))
    assert cal.failed and "emulator failed its cross-validation" in cal.stopped_because, cal.stopped_because
    assert len(cal.waves) == 1 and cal.rules == [] and all(not d.passed for d in cal.waves[0].diagnostics)
    assert not cal.nothing_fits


def test_maximin_subset_spreads_points():
    rng = np.random.default_rng(0)
    candidates = rng.random((2000, 2))
    chosen = maximin_subset(candidates, 20, rng)
    d = np.sqrt(((chosen[:, None] - chosen[None]) ** 2).sum(-1)) + np.eye(20) * 9
    random = candidates[:20]
    d_random = np.sqrt(((random[:, None] - random[None]) ** 2).sum(-1)) + np.eye(20) * 9
    assert d.min() > 2 * d_random.min()


def _synthetic_targets(truth: np.ndarray, seed: int, noise_sd: float = 0.02) -> list[Target]:
    """One run at the truth (its own seed) plus observation noise; discrepancy sd 1 %."""
    clean = case.outputs(truth, replication=99, seed=1000 + seed)
    rng = np.random.default_rng(seed)
    return [Target(name, z * (1 + noise_sd * rng.standard_normal()), (noise_sd * z) ** 2, (0.01 * z) ** 2)
            for name, z in zip(case.OBSERVATIONS, clean, strict=True)]


@pytest.mark.slow
@pytest.mark.parametrize(("truth", "seed"), [((2.2, 0.12, 0.2), 1), ((1.7, 0.3, 0.35), 2), ((2.8, 0.05, 0.1), 3)])
def test_synthetic_truth_is_recovered(truth, seed):
    truth = np.asarray(truth)
    settings = Settings(waves=3, points_per_wave=16, replications=REPS, uniform_sample=5000, seed=seed)
    cal = history_match(case.SPACE, _synthetic_targets(truth, seed), case.evaluate(REPS), settings)
    assert not cal.failed, cal.stopped_because
    assert len(cal.waves[0].unit) == 30  # 10 x the 3 parameters by default
    assert cal.max_implausibility(case.SPACE.unit_of(truth[None]))[0] <= settings.cutoff  # never ruled out
    share = cal.waves[-1].share
    assert share.interval[1] < 0.20, share.describe()  # sewing time and absence are narrowed (cutting is not)
    kept = case.SPACE.to_values(cal.kept_unit)
    assert len(kept) == settings.kept_points and cal.is_kept(cal.kept_unit).all()
    widths = (kept.max(axis=0) - kept.min(axis=0)) / np.ptp(np.array(list(case.RANGES.values())), axis=1)
    assert widths[0] < 0.5, widths  # the sewing time is pinned by the masks per person-day
    assert widths[2] > 0.9, widths  # the cutting time, which never binds, stays as wide as it started
    # the identifiable pair alone: the kept share of the (sew, absence) plane, on a 20 x 20 grid
    cells = {tuple(c) for c in np.floor(cal.kept_unit[:, :2] * 20).astype(int)}
    assert len(cells) / 400 < 0.20, len(cells) / 400
    mis = cal.waves[-1].misclassification
    assert mis is not None and mis.runs == len(cal.waves[-1].unit)


def _fitted_calibration(targets: list[Target], settings: Settings):
    """A calibration whose one wave's emulators are fitted on the test design (no runs beyond it)."""
    from sim.calibration.history_matching import Calibration, Wave, _fit_wave

    cal = Calibration(case.SPACE, targets, settings)
    wave = Wave(1, DESIGN, case.SPACE.to_values(DESIGN), _outputs_of_design(), [], [])
    cal.waves.append(wave)
    assert not _fit_wave(cal, wave, np.random.default_rng(0))
    return cal


def test_share_interval_covers_the_share_measured_on_a_large_sample():
    """The share left after a wave, from 2,000 uniform points, has an exact interval that covers the share
    measured on 100,000 other points; and the kept region's sample is kept by every emulator and spreads
    like the uniform points kept (its mean within 0.05 of theirs on each unit axis)."""
    from sim.calibration.history_matching import Share, sample_kept_region

    out = _outputs_of_design()
    z = out[:, :, 0].mean(axis=1)
    targets = [Target("output", float(np.median(z)), (0.03 * np.median(z)) ** 2, 0.0),
               Target("per_person_day", float(np.median(out[:, :, 1])), 1e6, 0.0)]  # the second says nothing
    settings = Settings(uniform_sample=2000, kept_points=400)
    cal = _fitted_calibration(targets, settings)
    rng = np.random.default_rng(5)
    small = rng.random((2000, 3))
    share = Share(int(cal.is_kept(small).sum()), 2000)
    big = rng.random((100_000, 3))
    truth = cal.is_kept(big).mean()
    low, high = share.interval
    assert low <= truth <= high and 0.02 < truth < 0.6, (share.describe(), truth)
    kept, method = sample_kept_region(cal, rng)
    assert len(kept) == 400 and cal.is_kept(kept).all() and method.startswith("uniform")
    assert np.all(np.abs(kept.mean(axis=0) - big[cal.is_kept(big)].mean(axis=0)) < 0.05)


def test_importance_sampling_finds_a_small_region_and_spreads_over_it():
    """A region too small for the uniform search (a narrow band of sewing time): importance sampling around
    the few points found fills it, every point kept, spread along the free axes as the uniform would be."""
    from sim.calibration.history_matching import importance_sample

    out = _outputs_of_design()
    per_day = out[:, :, 1].mean(axis=1)
    z = float(np.median(per_day))
    targets = [Target("output", 1.0, 1e30, 0.0), Target("per_person_day", z, (0.002 * z) ** 2, 0.0)]
    cal = _fitted_calibration(targets, Settings())
    rng = np.random.default_rng(8)
    uniform = rng.random((20_000, 3))
    seeds = uniform[cal.is_kept(uniform)][:20]
    assert len(seeds) >= 3, len(seeds)
    found = importance_sample(cal, seeds, 500, rng)
    assert len(found) == 500 and cal.is_kept(found).all()
    # the cutting time never binds: along it the kept region is the whole range, and so is the sample
    assert found[:, 2].min() < 0.1 and found[:, 2].max() > 0.9 and abs(found[:, 2].mean() - 0.5) < 0.1


def test_a_one_sided_observation_rules_out_one_side_only():
    """at_least: zero implausibility at and above the bound, the usual one below it; at_most the reverse."""
    mean = np.array([80.0, 100.0, 130.0])
    at_least = Target("x", 100.0, 25.0, 0.0, side="at_least")
    at_most = Target("x", 100.0, 25.0, 0.0, side="at_most")
    both = Target("x", 100.0, 25.0, 0.0)
    assert at_least.distance(mean).tolist() == [20.0, 0.0, 0.0]
    assert at_most.distance(mean).tolist() == [0.0, 0.0, 30.0]
    assert both.distance(mean).tolist() == [20.0, 0.0, 30.0]


def test_an_impossible_observation_leaves_nothing_and_is_named():
    """Ten times the line's best output: no run comes near it, nothing is kept, and the conflict names that
    observation (not the other) and the sewing time pinned at its fast end."""
    from sim.calibration.history_matching import conflict

    out = _outputs_of_design()
    targets = [Target("output", 10 * float(out[:, :, 0].max()), 1.0, 0.0),
               Target("per_person_day", float(np.median(out[:, :, 1])), 1e6, 0.0)]
    cal = history_match(case.SPACE, targets, case.evaluate(2), Settings(waves=2, uniform_sample=2000, seed=11))
    assert cal.nothing_fits and cal.failed and len(cal.waves) == 1, cal.stopped_because
    assert cal.waves[0].share.kept == 0 and "none of 2,000 sampled points kept" in cal.stopped_because
    found = conflict(cal)
    assert list(found.observations) == ["output"] and found.compatible_runs == 0
    assert found.pinned == {"sew_minutes": ("low end", 1.5)}, found.pinned  # faster sewing comes nearer
    sentence = found.sentence(cal)
    assert "every one of the 30 runs is incompatible" in sentence and "output (best run I" in sentence
