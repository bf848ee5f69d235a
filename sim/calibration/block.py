"""The `observations:`, `calibration:` and `parameters_from:` blocks of an experiment file: their fields, and
the checks `Experiment` calls (sim.experiment.Block; put together in sim.studies)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from pydantic import Field

from sim.calibration.observations import Observation, check_observations
from sim.calibration.settings import CalibrationSpec
from sim.config import changed_paths, paths_overlap, scenario_dict
from sim.errors import ConfigError

FIELDS: dict[str, tuple[Any, Any]] = {
    "observations": (dict[str, Observation], Field(default_factory=dict,
                                                   description="what was observed, to calibrate against")),
    "calibration": (CalibrationSpec | None, Field(None, description="settings of `resilience calibrate`")),
    "parameters_from": (str | None, Field(
        None, description="a calibration folder (relative to this file): each replication runs at its own point "
                          "of the non-implausible set")),
}


def build(exp: Any) -> None:
    """Check the observations against the base; load the calibrated set `parameters_from` names; build a
    calibration's parameter space."""
    spec, file = exp.spec, exp.file
    check_observations(spec.observations, exp.base, file)
    if spec.parameters_from is not None:
        from sim.calibration.calibrated_folder import check_against
        from sim.calibration.forecast import CalibratedSet

        exp.calibrated = CalibratedSet.load(Path(file).parent / spec.parameters_from, file)
        check_against(exp.calibrated.folder, file, "parameters_from", exp.calibrated.parameters,
                      exp.calibrated.values, scenario_dict(exp.base))
    if spec.calibration is not None:
        from sim.calibration.space import ParameterSpace

        base_set = spec.scenarios[spec.base_scenario].set
        exp.space = ParameterSpace.build(file, spec.uncertain, scenario_dict(exp.base), base_set, exp.seed)
        spec.calibration.check_first_wave(exp.space.dim, file)


def check_resolved(exp: Any, cli_paths: list[str], shocked: list[str]) -> None:
    """A path that `parameters_from:` draws for every replication, also changed by a `--set`, the `shocks:`
    block, a scenario's `set`, the sweep, a lever or a stress shock: one of the two would silently win."""
    if exp.calibrated is None:
        return
    spec, file = exp.spec, exp.file
    levers = getattr(spec, "levers", {})
    drawn = [(name, target) for name, definition in exp.calibrated.definitions.items()
             for target in definition.targets(name)]
    changes: list[tuple[str, str, Any]] = [("--set", path, path) for path in cli_paths]
    changes += [("shocks", path, [r.shock for r in getattr(spec, "shocks", [])]) for path in shocked]
    changes += [(f"scenarios.{name}.set.{path}", path, value) for name, variant in spec.scenarios.items()
                for path, value in variant.set.items()]
    changes += [("sweep", path, path) for point in exp.points for path in point]
    base = scenario_dict(exp.base)
    for name, lever in levers.items():  # what it declares (a value equal to the base's is still a change)
        changes += [(f"levers.{name}", path, name) for path in [*lever.set, *lever.add]]
        changes += [(f"levers.{name}", f"sites.{c.site}.cohorts", name) for c in lever.cohorts]
    for name, (_, change) in exp.decision_variants.items():
        data = copy.deepcopy(base)
        change(data)
        field = f"levers.{name}" if name in levers else "stress.shocks"
        changes += [(field, path, name) for path in changed_paths(base, data)]
    for field, path, value in changes:
        for name, target in drawn:
            if paths_overlap(path, target):
                raise ConfigError.at(file, field, value, f"changes {path}, which parameters_from draws from the "
                                     f"calibration ({name}) for every replication: one of the two would silently "
                                     "win; drop the change, or calibrate with it")


def manifest(exp: Any) -> dict[str, Any]:
    """The experiment's observations, and those of the calibration it takes its parameters from (for charts)."""
    out = [{"name": name, **obs.model_dump(mode="json", by_alias=True, exclude_none=True), "observed": obs.observed,
            "obs_sd": obs.obs_sd} for name, obs in exp.spec.observations.items()]
    calibrated = {}
    if exp.calibrated is not None:
        summary = json.loads((exp.calibrated.folder / "summary.json").read_text())
        out.extend({"name": name, **obs} for name, obs in summary.get("observations", {}).items()
                   if name not in exp.spec.observations)
        # what the report says of a forecast: where its parameters come from, and what its bands hold
        calibrated = {"calibrated_from": {
            "folder": str(exp.calibrated.folder), "points": len(exp.calibrated.values),
            "observations": len(summary.get("observations", {})), "parameters": len(exp.calibrated.parameters),
            "discrepancy_share": exp.calibrated.discrepancy_share}}
    return {"observations": out, **calibrated}
