"""The experiment file as a whole: the keys `sim.experiment` owns, and the blocks the analysis packages own and
check (decisions: levers, shocks, stress; uncertainty: uncertain, design; calibration: observations,
calibration, parameters_from), put together. Read an experiment file through `load_experiment` here: the
front doors (sim.cli, sim.api) and the regression do; the analysis commands receive it from the CLI.

`sim.experiment` imports none of the analysis packages, and they import neither it nor this module
(tests/test_layers.py): this module is the one place that knows them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim import experiment as core
from sim.calibration import block as calibration
from sim.decisions import block as decisions
from sim.experiment import Block, Experiment, manifest_extra
from sim.uncertainty import block as uncertainty

BLOCKS: tuple[Block, ...] = (
    Block(decisions.FIELDS, prepare=decisions.prepare, check_base=decisions.check_base, variants=decisions.variants),
    Block(uncertainty.FIELDS, build=uncertainty.build),
    Block(calibration.FIELDS, build=calibration.build, check_resolved=calibration.check_resolved,
          manifest=calibration.manifest),
)


def _rules(spec: Any) -> None:
    """What involves several blocks (ValueError: pydantic names the file)."""
    if (spec.uncertain or spec.design) and (spec.sweep is not None or len(spec.scenarios) > 1 or spec.levers
                                            or spec.stress is not None):
        raise ValueError("a design (uncertain + design) runs on one scenario: no sweep, levers or stress")
    if spec.calibration is not None and spec.design is not None:
        raise ValueError("a calibration designs its own waves: give calibration or design, not both")
    if spec.calibration is not None and not (spec.observations and spec.uncertain):
        raise ValueError("a calibration needs observations and uncertain parameters")
    if spec.parameters_from is not None and (spec.uncertain or spec.design or spec.calibration):
        raise ValueError("parameters_from takes its parameters from a calibration: give no uncertain, design "
                         "or calibration block with it")


ExperimentSpec = core.experiment_spec(BLOCKS, _rules)


def load_experiment(path: str | Path, overrides: list[str] | None = None, seed: int | None = None) -> Experiment:
    """Load an experiment file, or a scenario file as a one-scenario experiment."""
    return core.load_experiment_as(ExperimentSpec, path, overrides, seed)


__all__ = ["BLOCKS", "Experiment", "ExperimentSpec", "load_experiment", "manifest_extra"]
