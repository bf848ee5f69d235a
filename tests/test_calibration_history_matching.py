"""History matching on the small line run by the real model: emulators hold their 3-sigma bands on held-back
runs, and a synthetic truth is recovered (never ruled out, identifiable parameters narrowed, the uninformed one
left wide)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from sim.calibration.emulator import Emulator, fit_checked
from sim.calibration.history_matching import Settings, Target, history_match, maximin_subset
from tests import calibration_case as case

REPS = 3


@pytest.fixture(scope="module")
def design():
    """40 Latin-hypercube points of the box, 3 runs each: [point, replication, observation]."""
    unit = qmc.LatinHypercube(d=3, seed=11).random(40)
    return unit, case.evaluate(REPS)(1, case.BOX.to_values(unit))


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
    unit, out = design
    means, rep_vars = out.mean(axis=1), out.var(axis=1, ddof=1)
    held = np.arange(30, 38)
    _, good = fit_checked("output", unit, means[:, 0], rep_vars[:, 0], REPS, held)
    assert good.passed and good.held_back == 8
    wrong = means[:, 0].copy()
    wrong[held] *= 1.5  # the held-back runs disagree with the others: no emulator can predict them
    _, bad = fit_checked("output", unit, wrong, rep_vars[:, 0], REPS, held)
    assert not bad.passed and bad.within_3sd < 0.5


def test_a_wave_refuses_to_go_on_with_a_failing_emulator(monkeypatch):
    """The runs held back in wave 1 come out 50 % higher than the model says (as if part of the space behaved
    unlike the rest): the emulator of that output fails its check, the wave stops and rules nothing out."""
    from sim.calibration import history_matching

    real = history_matching.fit_checked

    def with_odd_held_back(name, x, means, rep_vars, reps, held, *args, **kwargs):
        means = means.copy()
        means[held] *= 1.5
        return real(name, x, means, rep_vars, reps, held, *args, **kwargs)

    monkeypatch.setattr(history_matching, "fit_checked", with_odd_held_back)
    targets = [Target(n, 1.0, 1.0, 0.0) for n in case.OBSERVATIONS]
    cal = history_match(case.BOX, targets, case.evaluate(2), Settings(waves=3, points_per_wave=12,
                                                                      uniform_sample=2000))
    assert cal.failed and "emulator failed its held-back check" in cal.stopped_because, cal.stopped_because
    assert len(cal.waves) == 1 and cal.rules == [] and all(not d.passed for d in cal.waves[0].diagnostics)


def test_maximin_subset_spreads_points():
    rng = np.random.default_rng(0)
    candidates = rng.random((2000, 2))
    chosen = maximin_subset(candidates, 20, rng)
    d = np.sqrt(((chosen[:, None] - chosen[None]) ** 2).sum(-1)) + np.eye(20) * 9
    random = candidates[:20]
    d_random = np.sqrt(((random[:, None] - random[None]) ** 2).sum(-1)) + np.eye(20) * 9
    assert d.min() > 2 * d_random.min()


@pytest.mark.slow
@pytest.mark.parametrize(("truth", "seed"), [((2.2, 0.12, 0.2), 1), ((1.7, 0.3, 0.35), 2), ((2.8, 0.05, 0.1), 3)])
def test_synthetic_truth_is_recovered(truth, seed):
    """Observations are one run at the truth (its own seed) plus 2 % observation noise; discrepancy sd 1 %."""
    truth = np.asarray(truth)
    clean = case.outputs(truth, replication=99, seed=1000 + seed)
    rng = np.random.default_rng(seed)
    noise_sd = 0.02
    targets = [Target(name, z * (1 + noise_sd * rng.standard_normal()), (noise_sd * z) ** 2, (0.01 * z) ** 2)
               for name, z in zip(case.OBSERVATIONS, clean, strict=True)]
    settings = Settings(waves=3, points_per_wave=16, replications=REPS, uniform_sample=5000, seed=seed)
    cal = history_match(case.BOX, targets, case.evaluate(REPS), settings)
    assert not cal.failed, cal.stopped_because
    shares = [w.share_left for w in cal.waves]
    assert cal.max_implausibility(case.BOX.to_unit(truth[None]))[0] <= settings.cutoff  # never ruled out
    assert shares[-1] < 0.20, shares  # sewing time and absence are narrowed (cutting is not: see below)
    kept = case.BOX.to_values(cal.nonimplausible_sample())
    widths = (kept.max(axis=0) - kept.min(axis=0)) / (case.BOX.high - case.BOX.low)
    assert widths[0] < 0.5, widths  # the sewing time is pinned by the masks per person-day
    assert widths[2] > 0.9, widths  # the cutting time, which never binds, stays as wide as it started
    # the identifiable pair alone: the kept share of the (sew, absence) plane, on a 20 x 20 grid
    cells = {tuple(c) for c in np.floor(cal.nonimplausible_sample()[:, :2] * 20).astype(int)}
    assert len(cells) / 400 < 0.20, len(cells) / 400
