"""Probability distributions named in configs, and how to draw from them.

A config writes a distribution as a plain number (a constant) or a one-key mapping:
`{tri: [min, mode, max]}`, `{uniform: [low, high]}`, `{exp: mean}`, `{normal: [mean, sd]}` (truncated at
zero), `{lognormal: [mean, cv]}`, `{const: value}`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

KINDS = ("const", "tri", "uniform", "exp", "normal", "lognormal")
MAX_PARAMETER = 1e6
"""Every parameter is a finite number in [0, MAX_PARAMETER]: distributions here describe delays in days
and people per site, never negative; each use states a tighter bound of its own (see sim.config)."""

Number = Annotated[float, Strict()]


class Dist(BaseModel):
    """A distribution: parameters are finite, >= 0 and <= 1e6 (each use may bound its mean further)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    const: Number | None = Field(None, description="a constant")
    tri: tuple[Number, Number, Number] | None = Field(None, description="triangular [min, mode, max]")
    uniform: tuple[Number, Number] | None = Field(None, description="uniform [low, high]")
    exp: Number | None = Field(None, description="exponential with this mean")
    normal: tuple[Number, Number] | None = Field(None, description="normal [mean, sd], truncated at 0")
    lognormal: tuple[Number, Number] | None = Field(None, description="lognormal [mean, cv]")

    @model_validator(mode="before")
    @classmethod
    def _number_is_constant(cls, data: Any) -> Any:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"const": data}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Dist:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(KINDS)} (or a plain number)")
        params = getattr(self, given[0])
        for value in params if isinstance(params, tuple) else (params,):
            if not 0.0 <= value <= MAX_PARAMETER:
                raise ValueError(f"{given[0]} parameters must be between 0 and {MAX_PARAMETER:g} (days or people, "
                                 "never negative)")
        if self.tri is not None:
            a, m, b = self.tri
            if not a <= m <= b:
                raise ValueError("tri needs min <= mode <= max")
        if self.uniform is not None and self.uniform[0] > self.uniform[1]:
            raise ValueError("uniform needs low <= high")
        for name in ("exp",):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} mean must be > 0")
        if self.lognormal is not None and (self.lognormal[0] <= 0 or self.lognormal[1] <= 0):
            raise ValueError("lognormal needs mean > 0 and cv > 0")
        return self

    @property
    def mean(self) -> float:
        if self.const is not None:
            return self.const
        if self.tri is not None:
            return sum(self.tri) / 3.0
        if self.uniform is not None:
            return (self.uniform[0] + self.uniform[1]) / 2.0
        if self.exp is not None:
            return self.exp
        if self.normal is not None:
            return self.normal[0]
        assert self.lognormal is not None
        return self.lognormal[0]

    @property
    def sd(self) -> float:
        """Standard deviation (of the untruncated normal for `normal`)."""
        if self.const is not None:
            return 0.0
        if self.tri is not None:
            a, m, b = self.tri
            return math.sqrt((a * a + m * m + b * b - a * m - a * b - m * b) / 18.0)
        if self.uniform is not None:
            return (self.uniform[1] - self.uniform[0]) / math.sqrt(12.0)
        if self.exp is not None:
            return self.exp
        if self.normal is not None:
            return self.normal[1]
        assert self.lognormal is not None
        return self.lognormal[0] * self.lognormal[1]

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        """Draw one value (size None) or an array of `size` values."""
        if self.const is not None:
            return self.const if size is None else np.full(size, self.const)
        if self.tri is not None:
            a, m, b = self.tri
            if a == b:
                return a if size is None else np.full(size, a)
            return rng.triangular(a, m, b, size)
        if self.uniform is not None:
            return rng.uniform(self.uniform[0], self.uniform[1], size)
        if self.exp is not None:
            return rng.exponential(self.exp, size)
        if self.normal is not None:
            return np.maximum(rng.normal(self.normal[0], self.normal[1], size), 0.0)
        assert self.lognormal is not None
        mean, cv = self.lognormal
        sigma2 = math.log(1.0 + cv * cv)
        return rng.lognormal(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2), size)


def gamma_sum(rng: np.random.Generator, n: int, mean_each: float, cv: float) -> float:
    """Total of `n` independent per-item times with mean `mean_each` and coefficient of variation `cv`.

    Per-item times are gamma distributed, so the total is exactly Gamma(n/cv², mean·cv²): a lot's service
    time has the same distribution as the sum of its masks' times, with one draw instead of n.
    """
    if n <= 0:
        return 0.0
    if cv <= 0.0:
        return n * mean_each
    shape_each = 1.0 / (cv * cv)
    return float(rng.gamma(n * shape_each, mean_each / shape_each))
