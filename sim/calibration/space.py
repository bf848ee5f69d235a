"""The space a calibration searches: the experiment's `uncertain:` parameters (sim.uncertainty), each mapped
from [0, 1] by its quantile function, so the share of the space left is a share of prior probability.

Declaring, checking and applying the parameters is the uncertainty study's code; only the design differs
(history matching makes its own, wave by wave), so the study is built with a placeholder design that is
never run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.uncertainty.study import Study, build_study

PLACEHOLDER_DESIGN = {"method": "lhs", "samples": 2, "seed": 0}  # validated, never run


@dataclass
class ParameterSpace:
    study: Study

    @classmethod
    def build(cls, file: str, uncertain: dict[str, Any] | None, base_data: dict[str, Any], base_set: dict[str, Any],
              seed: int) -> ParameterSpace:
        return cls(build_study(file, uncertain, PLACEHOLDER_DESIGN, base_data, base_set, seed))

    @property
    def names(self) -> list[str]:
        return self.study.names

    @property
    def dim(self) -> int:
        return len(self.study.params)

    def labels(self) -> dict[str, str]:
        return {path: p.label for path, p in self.study.params.items()}

    def to_values(self, unit: np.ndarray) -> np.ndarray:
        """Unit points -> parameter values (floats; day ordinals for dates)."""
        return np.column_stack([p.ppf(unit[:, j]) for j, p in enumerate(self.study.params.values())])

    def snap(self, unit: np.ndarray) -> np.ndarray:
        """Unit points with each discrete or choice coordinate moved to the centre of its value's bin: points
        that give the model the same input get the same coordinates, so the emulators see a step, not noise."""
        unit = np.asarray(unit, dtype=float)
        if not len(unit):
            return unit
        return np.column_stack([p.snap(unit[:, j]) for j, p in enumerate(self.study.params.values())])

    def alternatives(self, name: str) -> list[str]:
        """A choice's alternatives in index order (empty for any other parameter)."""
        choice = self.study.params[name].choice
        return list(choice) if choice is not None else []

    def overrides(self, values: np.ndarray) -> list[dict[str, Any]]:
        """Each row of values -> the scenario overrides (dotted path -> value, `also` paths included)."""
        study = dataclasses.replace(self.study, unit=np.empty_like(values), values=np.asarray(values))
        return [study.point(i + 1) for i in range(len(values))]

    def is_date(self, name: str) -> bool:
        return self.study.params[name].is_date

    def describe(self, name: str) -> dict[str, Any]:
        """What a forecast needs to apply a value of this parameter (summary.json)."""
        p = self.study.params[name]
        return {"label": p.label, "source": p.source, "distribution": p.describe(), "also": list(p.also),
                "is_date": p.is_date, "integer": bool(self.study.integer[name]),
                "definition": p.model_dump(mode="json", exclude_none=True)}
