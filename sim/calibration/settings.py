"""The `calibration:` block of an experiment: how many waves, points and replications, the cut-off and the
model discrepancy assumed when an observation does not state its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # history matching pulls in scikit-learn and scipy.stats: loaded only when a calibration runs
    from sim.calibration.history_matching import Settings


class CalibrationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waves: int = Field(4, ge=1, le=20, description="at most this many waves")
    points_per_wave: int = Field(40, ge=8, description="design points run per wave")
    replications: int = Field(3, ge=2, description="runs per design point (their variance enters I)")
    cutoff: float = Field(3.0, gt=0, description="a point is ruled out when max implausibility exceeds this")
    discrepancy_share: float = Field(
        0.05, ge=0, description="model discrepancy sd as a share of the observed value (assumption), unless an "
                                "observation gives discrepancy_sd")
    holdout_share: float = Field(0.25, gt=0, lt=1, description="share of a wave's points held back to check "
                                                              "the emulators")
    min_within_3sd: float = Field(0.95, gt=0, le=1, description="an emulator passes when at least this share "
                                                                "of held-back points lies within 3 sd")
    uniform_sample: int = Field(20_000, ge=1000, description="uniform points estimating the share of space left")
    stop_ratio: float = Field(0.9, gt=0, lt=1, description="stop when a wave keeps more than this share of "
                                                           "what the previous wave left")

    def settings(self, seed: int) -> Settings:
        from sim.calibration.history_matching import Settings

        return Settings(waves=self.waves, points_per_wave=self.points_per_wave, replications=self.replications,
                        cutoff=self.cutoff, holdout_share=self.holdout_share, min_within_3sd=self.min_within_3sd,
                        uniform_sample=self.uniform_sample, stop_ratio=self.stop_ratio, seed=seed)
