"""The small calibration case of the tests: a line of 10 sewers and 4 cutters run by the real model for three
weeks. Its sewing time sets both the output and the masks per person-day, absence sets the output only, and
the cutting time (cutting never binds) sets neither: two parameters the observations can inform, one they
cannot.

Lots of 200 masks: half the events of lots of 100 (a run's event loop 9 ms instead of 22 ms), and the tests'
claims held alike at both sizes on 8 seeds of every truth, 8 emulator designs and 10 calibrate designs; at 300
the wave-1 emulators of one design failed their held-back check."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from sim.calibration.observations import Observation, extract
from sim.config import Scenario
from sim.model import simulate
from sim.uncertainty.parameters import UncertainParameter
from tests.scenarios import line, spec_of

PARAMETERS = ["sew_minutes", "absence", "cut_minutes"]
RANGES = {"sew_minutes": (1.5, 3.0), "absence": (0.0, 0.5), "cut_minutes": (0.05, 0.4)}
OBSERVATIONS = {
    "output": {"kpi": "output", "kind": "textile", "from": "2020-03-30", "to": "2020-04-17"},
    "per_person_day": {"kpi": "productivity", "kind": "textile", "from": "2020-03-30", "to": "2020-04-17",
                       "staff": "sewing"},
}
SEED = 7


@dataclass
class LineSpace:
    """The three parameters, each uniform over its range, mapped from the unit cube by the uncertainty
    study's own parameter definitions (what `resilience calibrate` searches through sim.calibration.space)."""

    names: list[str]

    @property
    def dim(self) -> int:
        return len(self.names)

    @property
    def parameters(self) -> list[UncertainParameter]:
        return [UncertainParameter(label=n, source="test range", uniform=RANGES[n]) for n in self.names]

    def to_values(self, unit: np.ndarray) -> np.ndarray:
        return np.column_stack([p.ppf(unit[:, j]) for j, p in enumerate(self.parameters)])

    def snap(self, unit: np.ndarray) -> np.ndarray:
        return np.column_stack([p.snap(unit[:, j]) for j, p in enumerate(self.parameters)])

    def unit_of(self, values: np.ndarray) -> np.ndarray:
        """Values -> unit coordinates (the ranges are uniform): to place a synthetic truth in the cube."""
        low, high = np.array([RANGES[n] for n in self.names]).T
        return (np.asarray(values, dtype=float) - low) / (high - low)


SPACE = LineSpace(PARAMETERS)


def scenario(sew_minutes: float = 2.0, absence: float = 0.1, cut_minutes: float = 0.2) -> dict[str, Any]:
    return line(horizon_days=21, sew_min=sew_minutes, cut_min=cut_minutes, operators={"cut": 4, "sew": 10},
                absence=absence, lot_size=200)


@cache
def observations() -> dict[str, Any]:
    """The observations as `extract` reads them (the observed values do not matter here). Read only."""
    adapter = TypeAdapter(Observation)
    return {k: adapter.validate_python({**v, "value": 1.0, "sd": 1.0, "source": "synthetic"})
            for k, v in OBSERVATIONS.items()}


def outputs(values: np.ndarray, replication: int, seed: int = SEED) -> list[float]:
    """The observations' model values of one run at one point (sew_minutes, absence, cut_minutes)."""
    data = scenario(*map(float, values))
    result = simulate(spec_of(data, replication=replication, seed=seed))
    return list(extract(observations(), Scenario.model_validate(data), result.kpis, result.daily,
                        result.series).values())


def evaluate(replications: int):
    def run(wave: int, values: np.ndarray) -> np.ndarray:
        return np.array([[outputs(v, r) for r in range(replications)] for v in values])

    return run
