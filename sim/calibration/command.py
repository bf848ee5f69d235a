"""`resilience calibrate FILE.yaml`: history matching of an experiment's uncertain parameters to its
observations, every run going through the runner (process pool or Dask, resumable), and the outputs under
`<results>/calibration/`:

    waves.parquet            one row per design point run: wave, point, parameter values, unit coordinates,
                             per observation the mean and sd of its runs and their implausibility, the max
                             implausibility under every wave's emulators and whether the point is kept
    nonimplausible.parquet   the run points kept (kind = run) and the uniform sample points kept (kind = sample)
    summary.json             observations, cut-off, share of the space left after each wave, emulator checks
    emulators.json           each wave's emulators as their public parameters (to evaluate them elsewhere)
    charts/*.png|svg         observations against the model's range before and after, parameter marginals
                             before and after, pairs plot of the constrained parameters
    wave_<n>/                the runner's results directory of wave n (resumable: an interrupted calibration
                             reruns the same designs and reuses every finished run)
"""

from __future__ import annotations

import json
import math
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.history_matching import (
    CONSTRAINED_SD_RATIO,
    Calibration,
    Target,
    Wave,
    alternatives_left,
    conflict,
    constrained,
    history_match,
)
from sim.calibration.observations import DAILY_COLUMNS, SERIES_COLUMNS, extract_runs
from sim.calibration.space import ParameterSpace
from sim.config import apply_overrides, scenario_dict, validate_scenario
from sim.errors import EXIT_FAILED, EXIT_NOTHING_FITS, EXIT_OK, ConfigError
from sim.spec import RunSpec

FOLDER = "calibration"


class CalibrationFailed(RuntimeError):
    """Runs failed or gave no value; the message says which."""


def targets_of(exp: Any) -> list[Target]:
    share = exp.spec.calibration.discrepancy_share
    out = []
    for name, obs in exp.spec.observations.items():
        disc = obs.discrepancy_sd if obs.discrepancy_sd is not None else share * abs(obs.observed)
        out.append(Target(name, obs.observed, obs.obs_sd ** 2, disc ** 2, obs.side))
    return out


# Days simulated past the last observed day: the daily tables' last day is closed at the horizon, so the
# observed days stay clear of it (a margin, not a model parameter).
HORIZON_MARGIN_DAYS = 7


def observed_horizon(observations: Any, scenario: Any) -> int:
    """The days a wave's runs need: up to the last observed day (plus a margin), not the scenario's whole
    horizon. Nothing before a day depends on what comes after it in the model except which draw of a stream
    lands on which day (absences and breakdowns are drawn as arrays over the whole horizon), so the observed
    values have the same distribution, not the same draws; every point of a wave runs the same horizon, so
    common random numbers still hold between points. The 2020 runs take about a third less CPU (13.5 s ->
    8.6 s, 120 -> 68 days). An observation of the day a target is reached needs the whole horizon (it is
    censored at it)."""
    from sim.calibration.observations import TargetDay

    if any(isinstance(obs, TargetDay) for obs in observations.values()):
        return int(scenario.horizon_days)
    last = max(max(obs.dates().values()) for obs in observations.values())
    needed = (last - scenario.start).days + 1 + HORIZON_MARGIN_DAYS
    return min(int(scenario.horizon_days), needed)


class WaveRunner:
    """evaluate(wave, values) for history matching: the wave's points × replications as RunSpecs through
    `run_specs` into `<folder>/wave_<n>/`, then each run's observations read off the combined tables."""

    def __init__(self, exp: Any, space: ParameterSpace, folder: Path, workers: int | None, scheduler: str | None,
                 progress: bool | None, replications: int) -> None:
        self.exp, self.space, self.folder = exp, space, folder
        self.workers, self.scheduler, self.progress = workers, scheduler, progress
        self.replications = replications
        self.base = scenario_dict(exp.base)
        self.base_set = exp.spec.scenarios[exp.spec.base_scenario].set
        self.horizon_days = observed_horizon(exp.spec.observations, exp.base)


    def scenario_at(self, overrides: dict[str, Any]) -> Any:
        data = json.loads(json.dumps(self.base))
        apply_overrides(data, self.base_set, f"{self.exp.file}: scenarios (base).set")
        apply_overrides(data, overrides, f"{self.exp.file}: uncertain")
        data["horizon_days"] = self.horizon_days
        return validate_scenario(data, f"{self.exp.file} (calibration point)")

    def __call__(self, wave: int, values: np.ndarray) -> np.ndarray:
        from sim.runs.driver import RunInterrupted, run_specs

        points = self.space.overrides(values)
        scenarios = [self.scenario_at(p) for p in points]
        specs = [RunSpec(run_id=f"w{wave}/p{i:03d}/r{r:03d}", scenario_name=f"w{wave}", point={}, replication=r,
                         root_seed=self.exp.seed, scenario=scenario_dict(s))
                 for i, s in enumerate(scenarios) for r in range(self.replications)]
        out = self.folder / f"wave_{wave}"
        print(f"wave {wave}: {len(points)} points × {self.replications} replications -> {out}", flush=True)
        try:
            outcome = run_specs(specs, out, workers=self.workers, scheduler=self.scheduler, progress=self.progress,
                                manifest_extra={"experiment": self.exp.name, "command": "calibrate",
                                                "wave": wave, "points": points})
        except RunInterrupted:
            raise KeyboardInterrupt from None
        if outcome.failed:
            raise CalibrationFailed(f"wave {wave}: {len(outcome.failed)} runs failed, e.g. {outcome.failed[0][0]}: "
                                    f"{outcome.failed[0][1]} (see {out / 'manifest.json'})")
        runs = pd.read_parquet(out / "runs.parquet")
        daily = pd.read_parquet(out / "daily.parquet", columns=["run_id", *DAILY_COLUMNS])
        series = pd.read_parquet(out / "series.parquet", columns=["run_id", *SERIES_COLUMNS])
        observations = self.exp.spec.observations
        # one pass over the wave's tables, each run read with its own point's scenario
        ids = [s.run_id for s in specs]  # point-major: point i's replications are rows i*reps .. i*reps + reps-1
        scenario_of = {run_id: scenarios[i // self.replications] for i, run_id in enumerate(ids)}
        values = extract_runs(observations, scenario_of, runs[runs["run_id"].isin(ids)], daily, series)
        result = values.set_index("run_id").reindex(ids)[list(observations)].to_numpy(dtype=float)
        return result.reshape(len(points), self.replications, len(observations))


# --------------------------------------------------------------------------------------------- outputs
def _values_frame(space: Any, values: np.ndarray, unit: np.ndarray) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    for j, name in enumerate(space.names):
        cols[name] = values[:, j]
        cols[f"u.{name}"] = unit[:, j]
    return cols


def waves_frame(cal: Calibration) -> pd.DataFrame:
    frames = []
    names = [t.name for t in cal.targets]
    for wave in cal.waves:
        cols: dict[str, Any] = {"wave": wave.number, "point": np.arange(len(wave.unit))}
        cols.update(_values_frame(cal.box, wave.values, wave.unit))
        own = cal.run_implausibility(wave)
        for j, name in enumerate(names):
            cols[f"mean.{name}"] = wave.outputs[:, :, j].mean(axis=1)
            cols[f"sd.{name}"] = wave.outputs[:, :, j].std(axis=1, ddof=1)
            cols[f"I.{name}"] = own[:, j]
        cols["max_I_runs"] = own.max(axis=1)
        cols["max_I_cv"] = wave.cv_max_i if len(wave.cv_max_i) else np.full(len(wave.unit), np.nan)
        cols["max_I_emulated"] = cal.max_implausibility(wave.unit) if cal.rules else np.zeros(len(wave.unit))
        cols["nonimplausible"] = cols["max_I_emulated"] <= cal.settings.cutoff
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def nonimplausible_frame(cal: Calibration, waves: pd.DataFrame) -> pd.DataFrame:
    runs = waves[waves["nonimplausible"]].copy()
    runs.insert(0, "kind", "run")
    sample_unit = cal.kept_unit if len(cal.kept_unit) else np.empty((0, cal.box.dim))
    sample = pd.DataFrame({"kind": "sample", **_values_frame(cal.box, cal.box.to_values(sample_unit), sample_unit)})
    sample["max_I_emulated"] = cal.max_implausibility(sample_unit)
    return pd.concat([runs, sample], ignore_index=True)


def _describe(space: Any, name: str) -> dict[str, Any]:
    if hasattr(space, "describe"):
        return space.describe(name)
    return {"label": name, "also": [], "is_date": False, "integer": False}


def ruled_out_by(cal: Calibration) -> dict[str, float]:
    """Observation -> share of the last uniform sample it alone rules out (under every wave's emulators): which
    observations the model finds hard to meet."""
    worst = np.zeros((len(cal.share_unit), len(cal.targets)))
    for emulators in cal.rules:
        worst = np.maximum(worst, cal.implausibility(cal.share_unit, emulators))
    return {t.name: float(np.mean(worst[:, j] > cal.settings.cutoff)) for j, t in enumerate(cal.targets)}


def _alternatives(cal: Calibration, name: str) -> dict[str, Any] | None:
    """A choice's alternatives with the share of each one's prior slice left, and their posterior weights."""
    names = cal.box.alternatives(name)
    if not names:
        return None
    shares = alternatives_left(cal, cal.box.names.index(name), len(names))
    if not shares:
        return None
    total = sum(share.value for share in shares)
    return {alt: {**share.as_dict(), "weight": share.value / total if total else None, "prior_weight": 1 / len(names)}
            for alt, share in zip(names, shares, strict=True)}


def summary_dict(cal: Calibration, exp: Any, command: str) -> dict[str, Any]:
    ratios = constrained(cal)
    return {
        "experiment": exp.name,
        "command": command,
        "method": "history matching with Gaussian-process emulators",
        "cutoff": cal.settings.cutoff,
        "settings": exp.spec.calibration.model_dump(mode="json"),
        "observations": {name: {**obs.model_dump(mode="json", by_alias=True, exclude_none=True),
                                "observed": obs.observed, "obs_sd": obs.obs_sd,
                                "discrepancy_sd": math.sqrt(t.discrepancy_var)}
                         for (name, obs), t in zip(exp.spec.observations.items(), cal.targets, strict=True)},
        "parameters": {name: {**_describe(cal.box, name), "sd_ratio": ratios.get(name),
                              "constrained": (ratios[name] < CONSTRAINED_SD_RATIO) if name in ratios else None,
                              "alternatives": _alternatives(cal, name)}
                       for name in cal.box.names},
        "waves": [{"wave": w.number, "points": len(w.unit), "replications": int(w.outputs.shape[1]),
                   "share_left": None if w.share is None else w.share.value,
                   "share": None if w.share is None else {**w.share.as_dict(), "text": w.share.describe()},
                   "emulators": [d.as_dict() for d in w.diagnostics],
                   "misclassification": None if w.misclassification is None else w.misclassification.as_dict()}
                  for w in cal.waves],
        "share_left": [None if w.share is None else w.share.value for w in cal.waves],
        "ruled_out_by": ruled_out_by(cal) if cal.rules else {},
        "stopped_because": cal.stopped_because,
        "failed": cal.failed,
        "nothing_fits": (conflict(cal).sentence(cal) if cal.nothing_fits else None),
        "uniform_sample": cal.settings.uniform_sample,
        "first_wave_points": cal.settings.first_wave(cal.box.dim),
        "kept_sample": cal.kept_method,
        "nonimplausible_sample_points": len(cal.kept_unit),
    }


def write_outputs(cal: Calibration, exp: Any, folder: Path, command: str) -> dict[str, Any]:
    from sim.calibration.charts import draw_all
    from sim.runs.atomic import atomic_write, atomic_write_json

    folder.mkdir(parents=True, exist_ok=True)
    waves = waves_frame(cal)
    atomic_write(folder / "waves.parquet", lambda p: waves.to_parquet(p, index=False))
    kept = nonimplausible_frame(cal, waves)
    atomic_write(folder / "nonimplausible.parquet", lambda p: kept.to_parquet(p, index=False))
    # each wave's fitted emulators, as their public parameters (sim/calibration/emulator.py: the formulas)
    atomic_write_json(folder / "emulators.json", {"parameters": list(cal.box.names), "waves": [
        {"wave": w.number, "emulators": [em.public() for em in w.emulators]} for w in cal.waves]})
    summary = summary_dict(cal, exp, command)
    atomic_write_json(folder / "summary.json", summary)
    summary["charts"] = [str(p) for p in draw_all(cal, exp, waves, folder / "charts")]
    atomic_write_json(folder / "summary.json", summary)
    return summary


def print_summary(summary: dict[str, Any]) -> None:
    print("\nshare of the parameter space left (prior probability), per wave:")
    for w in summary["waves"]:
        share = w["share"]
        checks = ", ".join(f"{e['observation']} {e['within_3sd']:.0%}" for e in w["emulators"])
        print(f"  wave {w['wave']}: {'-' if share is None else share['text']}")
        print(f"    emulators, {w['emulators'][0]['folds'] if w['emulators'] else '-'}-fold over the whole design: "
              f"runs within 3 sd out of fold: {checks}")
        mis = w["misclassification"]
        if mis is not None:
            print(f"    emulators' out-of-fold verdict against the runs' own: {mis['ruled_out_though_kept']} of "
                  f"{mis['kept_by_runs']} runs within the cut-off ruled out ({mis['ruled_out_though_clearly_kept']} "
                  f"of them clearly within it), {mis['kept_though_ruled_out']} of "
                  f"{mis['runs'] - mis['kept_by_runs']} runs beyond it kept")
    if summary["ruled_out_by"]:
        print("share of the space each observation rules out on its own:")
        for name, share in summary["ruled_out_by"].items():
            print(f"  {name:<36} {share:.3g}")
    if summary["nonimplausible_sample_points"] == 0:
        print("nothing is left, so no parameter can be called constrained or free")
    else:
        print(f"calibrated set: {summary['nonimplausible_sample_points']:,} points of the region left "
              f"({summary['kept_sample']})")
        kept = [n for n, p in summary["parameters"].items() if p["constrained"]]
        free = [n for n, p in summary["parameters"].items() if not p["constrained"]]
        print(f"constrained: {', '.join(kept) or 'none'}")
        print(f"left free:   {', '.join(free) or 'none'}")
        for p in summary["parameters"].values():
            if p.get("alternatives"):
                print(f"{p['label']}: share of each alternative's prior left (exact 95 % interval), posterior weight:")
                for alt, a in p["alternatives"].items():
                    low, high = a["ci95"]
                    weight = "-" if a["weight"] is None else f"{a['weight']:.0%}"
                    print(f"  {alt:<20} {a['share']:.3g} ({low:.3g} to {high:.3g}; {a['kept']:,} of {a['n']:,}), "
                          f"weight {weight} (prior {a['prior_weight']:.0%})")
    print(summary["stopped_because"])


def cmd_calibrate(args: Any, load_experiment: Callable[..., Any]) -> int:
    """`load_experiment` comes from the front door (sim.cli): the experiment layer sits beside this package, and
    a command reaching into it would tie the two together both ways (docs/architecture.md)."""
    exp = load_experiment(args.file, args.set)
    if exp.spec.calibration is None:
        raise ConfigError.at(args.file, "calibration", None, "a calibration block (and observations and uncertain "
                                                              "parameters) is needed by 'resilience calibrate'")
    out = Path(args.out) if args.out else Path("results") / exp.name
    folder = out / FOLDER
    space = exp.space
    settings = exp.spec.calibration.settings(exp.seed)
    runner = WaveRunner(exp, space, folder, args.workers, args.scheduler, args.progress, settings.replications)
    command = "resilience " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "calibrate"
    print(f"{exp.name}: history matching over {space.dim} parameters against {len(exp.spec.observations)} "
          f"observations -> {folder}", flush=True)
    try:
        cal = history_match(space, targets_of(exp), runner, settings, on_wave=_report_wave)
    except CalibrationFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    summary = write_outputs(cal, exp, folder, command)
    print_summary(summary)
    print(f"\n{len(summary['charts'])} charts in {folder / 'charts'}")
    if cal.nothing_fits:
        print(f"error: {args.file}: nothing fits: {cal.waves[-1].share.describe()}; {summary['nothing_fits']}",
              file=sys.stderr)
        return EXIT_NOTHING_FITS
    return EXIT_FAILED if cal.failed else EXIT_OK


def _report_wave(cal: Calibration, wave: Wave) -> None:
    share = "-" if wave.share is None else wave.share.describe()
    print(f"wave {wave.number}: share of the space left {share}", flush=True)
