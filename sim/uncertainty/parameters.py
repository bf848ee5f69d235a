"""Uncertain parameters: a distribution over the plausible values of one numeric (or date) field.

An experiment's `uncertain:` block maps a dotted path (as `--set` accepts) to one of

    {uniform: [low, high]}          {triangular: [low, mode, high]}      {loguniform: [low, high]}
    {truncnormal: {mean: m, sd: s, low: a, high: b}}                     {discrete: [v1, v2, ...]}

with a `label` in words (shown in the report) and a `source` (domain.md reference, or "assumption: wide
range"). `also: [path, ...]` applies the same draw to further fields (one standard sewing time for every
workshop). Bounds may be dates for uniform, triangular and discrete: the draw is then a whole day.

A structural alternative (which cutting centre feeds which workshops, two cutting centres or three) is a
`choice` among named alternatives, each a set of overrides applied together, equally likely:

    routing: {label: ..., source: ..., choice: {as_built: {set: {}}, shared: {set: {routes[1].to: [...]}}}}

Its key is a name, not a path; its value in a design is the alternative's index (0, 1, ...) in the order
written, and the nominal point is the base scenario as written.

Sampling designs work on the unit hypercube; `UncertainParameter.ppf` maps a unit value u in [0, 1] to a
parameter value by the distribution's quantile function, so a design is independent of the distributions.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.config import FieldProblem

Bound = float | dt.date
DISTRIBUTIONS = ("uniform", "triangular", "loguniform", "truncnormal", "discrete", "choice")


class Alternative(BaseModel):
    """One structural alternative: the overrides (dotted path -> value) that make it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    set: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value; empty: the base as is")
    source: str | None = Field(None, description="where this alternative comes from (or 'assumption')")


class TruncNormal(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    mean: float
    sd: float = Field(gt=0)
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> TruncNormal:
        if not self.low < self.high:
            raise FieldProblem("high", self.high, f"truncnormal needs low < high (low is {self.low:g})")
        return self


def _ordinal(value: Bound) -> float:
    return float(value.toordinal()) if isinstance(value, dt.date) else float(value)


class UncertainParameter(BaseModel):
    """One uncertain field: exactly one distribution, its label and source."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    label: str = Field(min_length=1, description="the parameter in words, as the report shows it")
    source: str = Field(min_length=1, description="where the range comes from (or 'assumption: ...')")
    uniform: tuple[Bound, Bound] | None = Field(None, description="[low, high]: numbers or dates")
    triangular: tuple[Bound, Bound, Bound] | None = Field(None, description="[low, mode, high]: numbers or dates")
    loguniform: tuple[float, float] | None = Field(None, description="[low, high], 0 < low: uniform in log")
    truncnormal: TruncNormal | None = Field(None, description="normal(mean, sd) truncated to [low, high]")
    discrete: list[Bound] | None = Field(None, min_length=1, description="equally likely values")
    choice: dict[str, Alternative] | None = Field(None, min_length=2,
                                                  description="equally likely named alternatives, each {set: "
                                                              "{path: value, ...}}")
    integer: bool | None = Field(None, description="round draws to whole numbers (default: as the base value)")
    also: list[str] = Field(default_factory=list, description="further paths given the same value")

    @field_validator("uniform", "triangular", "loguniform", "discrete", mode="before")
    @classmethod
    def _no_booleans(cls, bounds: Any) -> Any:
        """true/false would pass as 1/0 (pydantic's lax numbers): a bound must be a number or a date."""
        if isinstance(bounds, list | tuple) and any(isinstance(b, bool) for b in bounds):
            raise ValueError("numbers or dates (true/false is not a bound)")
        return bounds

    @model_validator(mode="after")
    def _one_distribution(self) -> UncertainParameter:
        given = [k for k in DISTRIBUTIONS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one distribution of {', '.join(DISTRIBUTIONS)} "
                             f"(got {', '.join(given) or 'none'})")
        name = given[0]
        if self.choice is not None:
            if self.also:
                raise FieldProblem("also", self.also, "a choice sets its own paths in each alternative's set")
            if self.integer is not None:
                raise FieldProblem("integer", self.integer, "a choice draws an alternative, not a number: remove it")
            return self
        bounds = self._raw_bounds()
        if len({isinstance(b, dt.date) for b in bounds}) > 1:
            raise FieldProblem(name, bounds, "bounds must be all dates or all numbers")
        if self.uniform is not None and not _ordinal(self.uniform[0]) < _ordinal(self.uniform[1]):
            raise FieldProblem(name, list(self.uniform), "uniform needs [low, high] with low < high")
        if self.triangular is not None:
            a, m, b = (_ordinal(v) for v in self.triangular)
            if not (a <= m <= b and a < b):
                raise FieldProblem(name, list(self.triangular),
                                   "triangular needs [low, mode, high] with low <= mode <= high and low < high")
        if self.loguniform is not None and not 0 < self.loguniform[0] < self.loguniform[1]:
            raise FieldProblem(name, list(self.loguniform), "loguniform needs [low, high] with 0 < low < high")
        if self.discrete is not None and len({_ordinal(v) for v in self.discrete}) < len(self.discrete):
            raise FieldProblem(name, self.discrete, "distinct values (each is equally likely: a value given twice "
                                                    "would be twice as likely; say so with another distribution)")
        return self

    # ------------------------------------------------------------------------------------------ shape
    @property
    def distribution(self) -> str:
        return next(k for k in DISTRIBUTIONS if getattr(self, k) is not None)

    @property
    def is_date(self) -> bool:
        return isinstance(self._raw_bounds()[0], dt.date)

    def _raw_bounds(self) -> list[Any]:
        if self.uniform is not None:
            return list(self.uniform)
        if self.triangular is not None:
            return list(self.triangular)
        if self.loguniform is not None:
            return list(self.loguniform)
        if self.truncnormal is not None:
            return [self.truncnormal.low, self.truncnormal.high]
        if self.choice is not None:
            return list(range(len(self.choice)))
        assert self.discrete is not None
        return list(self.discrete)

    def extremes(self, integer: bool | None = None) -> list[Any]:
        """The values to validate: both ends of the range (every value of a discrete set), as the field takes them."""
        raw = self._raw_bounds()
        if self.discrete is None and self.choice is None:
            raw = [raw[0], raw[-1]]
        return [self.cast(_ordinal(v), integer=self.integer if integer is None else integer) for v in raw]

    def describe(self) -> str:
        """The distribution in words, e.g. 'uniform 1.7 to 2.5'."""
        def show(v: Any) -> str:
            return v.isoformat() if isinstance(v, dt.date) else f"{v:g}"

        if self.uniform is not None:
            return f"uniform {show(self.uniform[0])} to {show(self.uniform[1])}"
        if self.triangular is not None:
            a, m, b = self.triangular
            return f"triangular {show(a)} to {show(b)}, mode {show(m)}"
        if self.loguniform is not None:
            return f"log-uniform {show(self.loguniform[0])} to {show(self.loguniform[1])}"
        if self.truncnormal is not None:
            t = self.truncnormal
            return f"normal mean {t.mean:g}, sd {t.sd:g}, truncated to {t.low:g}..{t.high:g}"
        if self.choice is not None:
            return "one of " + ", ".join(f"{i}: {name}" for i, name in enumerate(self.choice))
        assert self.discrete is not None
        return "one of " + ", ".join(show(v) for v in self.discrete)

    def range_words(self) -> str:
        """The range for a reader: 'range 20–60', 'range 0.3–0.6, most likely 0.4', 'one of 1, 2, 3'."""
        def show(v: Any) -> str:
            return v.isoformat() if isinstance(v, dt.date) else f"{v:g}"

        if self.choice is not None:
            return "one of " + ", ".join(self.choice)
        if self.discrete is not None:
            return "one of " + ", ".join(show(v) for v in self.discrete)
        if self.triangular is not None:
            a, m, b = self.triangular
            return f"range {show(a)}–{show(b)}, most likely {show(m)}"
        if self.truncnormal is not None:
            t = self.truncnormal
            return f"range {t.low:g}–{t.high:g}, around {t.mean:g} ± {t.sd:g}"
        low, high = self._raw_bounds()
        return f"range {show(low)}–{show(high)}" + (", log-uniform" if self.loguniform is not None else "")

    # ------------------------------------------------------------------------------------- sampling
    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Unit values in [0, 1] -> parameter values (floats; day ordinals for dates), by the quantile function."""
        # scipy.stats imported here, not with the module: it costs a second, which every report paid (the report
        # imports this module through its uncertainty section) though only sampling a design needs it.
        from scipy import stats

        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self.uniform is not None:
            a, b = (_ordinal(v) for v in self.uniform)
            return a + u * (b - a)
        if self.triangular is not None:
            a, m, b = (_ordinal(v) for v in self.triangular)
            return stats.triang.ppf(u, (m - a) / (b - a), loc=a, scale=b - a)
        if self.loguniform is not None:
            a, b = self.loguniform
            return np.exp(math.log(a) + u * (math.log(b) - math.log(a)))
        if self.truncnormal is not None:
            t = self.truncnormal
            lo, hi = (t.low - t.mean) / t.sd, (t.high - t.mean) / t.sd
            return stats.truncnorm.ppf(u, lo, hi, loc=t.mean, scale=t.sd)
        assert self.discrete is not None or self.choice is not None
        values = np.array([_ordinal(v) for v in self._raw_bounds()])
        index = np.minimum((u * len(values)).astype(int), len(values) - 1)
        return values[index]

    def cast(self, value: float, integer: bool | None) -> Any:
        """A sampled float as the field takes it: an ISO date, a whole number or a float."""
        if self.is_date:
            return dt.date.fromordinal(round(value)).isoformat()
        if integer or self.choice is not None:
            return round(value)
        return float(value)

    def overrides(self, value: float) -> dict[str, Any]:
        """A choice's value (an alternative's index) as the overrides that make the alternative."""
        assert self.choice is not None
        return dict(list(self.choice.values())[round(value)].set)

    def as_overrides(self, path: str, value: float, integer: bool | None) -> dict[str, Any]:
        """A sampled value as scenario overrides: a choice's alternative, else the cast value on `path` and its
        `also` paths."""
        if self.choice is not None:
            return self.overrides(value)
        cast = self.cast(value, integer)
        return {target: cast for target in (path, *self.also)}

    def targets(self, path: str) -> list[str]:
        """The scenario paths a value of this parameter sets: a choice's alternatives' paths, else `path` and
        its `also` paths."""
        if self.choice is not None:
            return sorted({target for alternative in self.choice.values() for target in alternative.set})
        return [path, *self.also]

    @property
    def levels(self) -> int:
        """How many values a discrete set or a choice takes (0: a continuous distribution)."""
        return len(self._raw_bounds()) if self.discrete is not None or self.choice is not None else 0

    def snap(self, u: np.ndarray) -> np.ndarray:
        """Unit values -> the centre of the quantile bin `ppf` maps them to, for a discrete set or a choice (so
        that points giving the same model input have the same coordinates); unchanged for a continuous one."""
        k = self.levels
        if not k:
            return np.asarray(u, dtype=float)
        index = np.minimum((np.clip(np.asarray(u, dtype=float), 0.0, 1.0) * k).astype(int), k - 1)
        return (index + 0.5) / k


def parameter_table(params: dict[str, UncertainParameter]) -> list[dict[str, Any]]:
    """One row per parameter: path, label, distribution in words, source (for parameters.csv and the report)."""
    return [{"parameter": path, "label": p.label, "distribution": p.describe(), "range": p.range_words(),
             "source": p.source, "also": ", ".join(p.also)} for path, p in params.items()]
