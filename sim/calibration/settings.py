"""The `calibration:` block of an experiment: how many waves, points and replications, the cut-off and the
model discrepancy assumed when an observation does not state its own."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # history matching pulls in scikit-learn and scipy.stats: loaded only when a calibration runs
    from sim.calibration.history_matching import Settings

CUTOFF_RANGE = (1.0, 6.0)  # 3 is Pukelsheim's rule; below 1 nearly everything is ruled out, above 6 nothing is
DISCREPANCY_RANGE = (0.0, 1.0)  # a discrepancy sd above the observed value itself says the model says nothing


def finite_number(low: float, high: float, what: str = "") -> BeforeValidator:
    """A real number (not a string, not true/false), finite, within [low, high]: one clear line otherwise."""
    allowed = f"a finite number from {low:g} to {high:g}{what}"

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(allowed)
        if not low <= value <= high:
            raise ValueError(allowed)
        return float(value)

    return BeforeValidator(check)


class CalibrationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waves: int = Field(4, ge=1, le=20, strict=True, description="at most this many waves")
    points_per_wave: int = Field(40, ge=8, strict=True, description="design points run per wave after the first")
    first_wave_points: int | None = Field(
        None, ge=8, strict=True, description="design points of wave 1 (default: 10 x the number of parameters); "
                                             "fewer than that needs first_wave_reason")
    first_wave_reason: str | None = Field(None, min_length=1, description="why wave 1 has fewer than 10 x the "
                                                                          "number of parameters")
    replications: int = Field(3, ge=2, strict=True, description="runs per design point (their variance enters I)")
    cutoff: Annotated[float, finite_number(*CUTOFF_RANGE, " (3 by Pukelsheim's three-sigma rule)")] = Field(
        3.0, description="a point is ruled out when max implausibility exceeds this (a finite number from 1 to 6)")
    discrepancy_share: Annotated[float, finite_number(*DISCREPANCY_RANGE)] = Field(
        0.05, description="model discrepancy sd as a share of the observed value (assumption; a finite number "
                          "from 0 to 1), unless an observation gives discrepancy_sd")
    folds: int = Field(5, ge=2, le=20, strict=True, description="k of the k-fold cross-validation of the emulators "
                                                                "over each wave's whole design")
    min_within_3sd: float = Field(0.95, gt=0, le=1, description="an emulator passes when at least this share "
                                                                "of out-of-fold runs lies within 3 sd")
    uniform_sample: int = Field(20_000, ge=1000, strict=True, description="uniform points estimating the share "
                                                                           "of space left after each wave")
    kept_points: int = Field(1000, ge=50, strict=True, description="points of the region left sought for the "
                                                                    "next design and the calibrated set")
    stop_ratio: float = Field(0.9, gt=0, lt=1, description="stop when a wave keeps more than this share of "
                                                           "what the previous wave left")

    @model_validator(mode="after")
    def _reason(self) -> CalibrationSpec:
        if self.first_wave_reason is not None and self.first_wave_points is None:
            raise ValueError("first_wave_reason explains a first_wave_points below 10 x the parameters: give both")
        return self

    def check_first_wave(self, dim: int, file: str) -> None:
        """Wave 1 below 10 x the parameters must say why (the emulators fit one length scale per parameter)."""
        from sim.calibration.history_matching import POINTS_PER_PARAMETER
        from sim.errors import ConfigError

        wanted = POINTS_PER_PARAMETER * dim
        if self.first_wave_points is not None and self.first_wave_points < wanted and not self.first_wave_reason:
            raise ConfigError.at(file, "calibration.first_wave_points", self.first_wave_points,
                                 f"at least {wanted} (10 x the {dim} parameters), or a first_wave_reason saying "
                                 "why fewer")

    def settings(self, seed: int) -> Settings:
        from sim.calibration.history_matching import Settings

        return Settings(waves=self.waves, points_per_wave=self.points_per_wave,
                        first_wave_points=self.first_wave_points, replications=self.replications,
                        cutoff=self.cutoff, folds=self.folds, min_within_3sd=self.min_within_3sd,
                        uniform_sample=self.uniform_sample, kept_points=self.kept_points,
                        max_uniform=max(200_000, 10 * self.uniform_sample), stop_ratio=self.stop_ratio, seed=seed)
