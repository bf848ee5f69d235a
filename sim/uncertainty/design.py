"""Designed experiments over the uncertain parameters, drawn on the unit hypercube.

- lhs: a Latin hypercube of `samples` points (scipy.stats.qmc), for propagating uncertainty and rank
  correlations;
- sobol: Saltelli's scheme (SALib), `samples` base points -> samples × (d + 2) points, for first-order and
  total Sobol indices;
- morris: `samples` Morris trajectories of d + 1 points each on a `levels`-level grid (SALib), for screening
  many parameters with few runs.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.config import FieldProblem

DesignMethod = Literal["lhs", "sobol", "morris"]


class DesignSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    method: DesignMethod = Field(description="lhs, sobol (Saltelli) or morris")
    samples: int = Field(ge=2, le=100_000,
                         description="lhs: points; sobol: base samples N (N × (d + 2) points, a power of 2); "
                                     "morris: trajectories (d + 1 points each)")
    levels: int = Field(4, ge=2, le=20, description="morris: grid levels (even)")
    seed: int | None = Field(None, ge=0, description="seed of the design (default: the experiment's root seed)")
    noise_replications: int = Field(10, ge=2, le=1000,
                                    description="replications of the nominal point (all parameters at their "
                                                "base value): the band under noise alone")
    checkpoints: list[int] = Field(default_factory=lambda: [21, 42], min_length=1,
                                   description="days at which cumulative delivered masks become KPIs")
    bootstrap: int = Field(1000, ge=50, le=100_000, description="bootstrap resamples for the intervals")

    @model_validator(mode="after")
    def _coherent(self) -> DesignSpec:
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise FieldProblem("samples", self.samples, "sobol samples must be a power of 2 (Saltelli's scheme keeps "
                                                        "its balance)")
        if "levels" in self.model_fields_set and self.method != "morris":
            raise FieldProblem("levels", self.levels, f"levels are a morris grid's; an {self.method} design has none: "
                                                      "drop it")
        if self.method == "morris" and self.levels % 2:
            raise FieldProblem("levels", self.levels, "morris levels must be even")
        if any(day < 1 for day in self.checkpoints):
            raise FieldProblem("checkpoints", self.checkpoints, "checkpoints are days >= 1")
        if len(set(self.checkpoints)) < len(self.checkpoints):
            raise FieldProblem("checkpoints", self.checkpoints, "distinct days (each becomes a KPI)")
        return self

    def n_points(self, dimensions: int) -> int:
        return {"lhs": self.samples, "sobol": self.samples * (dimensions + 2),
                "morris": self.samples * (dimensions + 1)}[self.method]


def unit_problem(names: list[str]) -> dict:
    """The SALib problem on the unit hypercube (distributions are applied afterwards by each parameter's ppf)."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def unit_sample(design: DesignSpec, names: list[str], seed: int) -> np.ndarray:
    """The design's points in [0, 1]^d, one row per point, in the order the analysis expects."""
    d = len(names)
    if design.method == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=d, seed=np.random.default_rng(seed)).random(design.samples)
    if design.method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(unit_problem(names), design.samples, calc_second_order=False, seed=seed)
    from SALib.sample import morris

    return morris.sample(unit_problem(names), design.samples, num_levels=design.levels, seed=seed)
