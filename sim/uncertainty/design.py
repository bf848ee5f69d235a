"""Designed experiments over the uncertain parameters, drawn on the unit hypercube.

- lhs: a Latin hypercube of `samples` points (scipy.stats.qmc), for propagating uncertainty and rank
  correlations;
- sobol: Saltelli's scheme (SALib), `samples` base points -> samples × (d + 2) points, for first-order and
  total Sobol indices;
- morris: `samples` Morris trajectories of d + 1 points each on a `levels`-level grid (SALib), for screening
  many parameters with few runs. At least MIN_TRAJECTORIES (10) by default: the coverage of the Morris
  intervals is measured from 10 trajectories up (benchmarks/stat_sensitivity.py); fewer get a warning.

The nominal point runs `noise_replications` times (10 by default): the noise variance then has 9 degrees
of freedom, and its χ² interval spans a factor of about 0.5 to 3.3 of the estimate (with 4 runs, 0.3 to 14).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.config import FieldProblem

DesignMethod = Literal["lhs", "sobol", "morris"]
MIN_TRAJECTORIES = 10  # Morris trajectories below which a study is warned (and the default)
MIN_NOISE_REPLICATIONS = 10  # nominal runs below which the noise variance is warned as poorly known


class DesignSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    method: DesignMethod = Field(description="lhs, sobol (Saltelli) or morris")
    samples: int | None = Field(None, ge=2, le=100_000,
                                description="lhs: points; sobol: base samples N (N × (d + 2) points, a power of "
                                            "2); morris: trajectories (d + 1 points each, default 10)")
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
        if self.samples is None:
            if self.method != "morris":
                raise ValueError(f"{self.method} needs samples: the number of "
                                 f"{'points' if self.method == 'lhs' else 'base samples (a power of 2)'}")
            self.samples = MIN_TRAJECTORIES
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

    def warnings(self) -> list[str]:
        """What this design's size leaves uncertain, in sentences for the command line and the report."""
        from scipy.stats import chi2

        out = []
        if self.method == "morris" and self.samples < MIN_TRAJECTORIES:
            out.append(f"only {self.samples} Morris trajectories (at least {MIN_TRAJECTORIES} recommended): the "
                       "intervals of μ*, μ and σ are not to be trusted below that (few trajectories can give them "
                       f"any width, none at all where the effects happen to agree): their coverage was measured from "
                       f"{MIN_TRAJECTORIES} trajectories up only")
        if self.noise_replications < MIN_NOISE_REPLICATIONS:
            df = self.noise_replications - 1
            low, high = df / chi2.ppf(0.975, df), df / chi2.ppf(0.025, df)
            out.append(f"the noise comes from {self.noise_replications} runs of the nominal point (at least "
                       f"{MIN_NOISE_REPLICATIONS} recommended): the true noise variance may be {low:.1f} to "
                       f"{high:.0f} times the estimate (95 % χ² interval)")
        return out

    def n_points(self, dimensions: int) -> int:
        return {"lhs": self.samples, "sobol": self.samples * (dimensions + 2),
                "morris": self.samples * (dimensions + 1)}[self.method]


METHOD_WORDS = {"morris": "Morris screening", "lhs": "Latin hypercube", "sobol": "Sobol design"}


def random_rows(method: str, n_points: int, dimensions: int) -> list[int]:
    """The rows (0-based) of a design drawn at random from the declared distributions, the only ones over which
    a distribution, a probability or a variance means something: every row of an LHS design; the base samples
    A and B of a Sobol design (SALib lays out each base sample as A, AB_1..AB_d, B; the AB rows mix the two);
    none of a Morris grid (its levels over-represent the ends of each range)."""
    if method == "lhs":
        return list(range(n_points))
    if method == "sobol":
        block = dimensions + 2
        return [i for i in range(n_points) if i % block in (0, block - 1)]
    return []


def design_words(design: DesignSpec, dimensions: int, n_points: int, replications: int) -> str:
    """'Morris screening: 32 design points (8 trajectories × 4 points on a 4-level grid) × 1 replication over 3
    uncertain parameters, plus the nominal point × 10'."""
    shape = {"morris": f" ({n_points // (dimensions + 1)} trajectories × {dimensions + 1} points on a "
                       f"{design.levels}-level grid)",
             "sobol": f" ({design.samples} base samples × {dimensions + 2}; {2 * design.samples} of them drawn "
                      "at random)",
             "lhs": ""}[design.method]
    drawn = ", drawn at random from the declared ranges" if design.method == "lhs" else ""
    return (f"{METHOD_WORDS[design.method]}: {n_points} design points{shape} × {replications} "
            f"replication{'s' if replications != 1 else ''} over {dimensions} uncertain parameters{drawn}, plus the "
            f"nominal point × {design.noise_replications}")


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
