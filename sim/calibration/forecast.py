"""Forecasting from a calibration: `parameters_from: <calibration folder>` in an experiment makes every
replication run at its own point of the non-implausible set (drawn from `nonimplausible.parquet`'s uniform
sample kept), so the bands of `resilience run` hold parameter uncertainty that the observations left, as well
as the noise between runs. Replication r of every scenario uses draw r (common random numbers and common
parameter draws across scenarios)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import ConfigError


@dataclass
class CalibratedSet:
    folder: Path
    parameters: dict[str, dict[str, Any]]  # path -> {label, also, is_date, integer}
    values: Any  # pandas.DataFrame: the kept sample: one column per path

    @classmethod
    def load(cls, folder: Path, file: str, field: str = "parameters_from") -> CalibratedSet:
        summary_path, kept_path = folder / "summary.json", folder / "nonimplausible.parquet"
        if not summary_path.exists() or not kept_path.exists():
            raise ConfigError.at(file, field, str(folder), "a calibration folder written by 'resilience calibrate' "
                                                           "(with summary.json and nonimplausible.parquet)")
        from sim.calibration.calibrated_folder import read_kept, read_summary  # every fault: one line

        parameters = read_summary(folder, file, field)
        return cls(folder, parameters, read_kept(folder, file, field, parameters))

    def draws(self, n: int, seed: int) -> list[dict[str, Any]]:
        """n points of the kept set (without replacement while it lasts), as scenario overrides."""
        rng = np.random.default_rng([seed, 16])  # a stream of its own: the runs' streams are untouched
        rows = rng.choice(len(self.values), size=n, replace=n > len(self.values))
        out = []
        for row in rows:
            point: dict[str, Any] = {}
            for path, meta in self.parameters.items():
                value = float(self.values.at[int(row), path])
                if meta["is_date"]:
                    cast: Any = dt.date.fromordinal(round(value)).isoformat()
                elif meta["integer"]:
                    cast = round(value)
                else:
                    cast = value
                for target in (path, *meta["also"]):
                    point[target] = cast
            out.append(point)
        return out
