"""KPIs and index values of a study in words, for charts and sentences."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sim.report.formatting import fmt_count, fmt_date, round_sig, stage_name

INDEX_WORDS = {"mu_star": "μ*", "mu": "μ", "sigma": "σ", "S1": "S1", "ST": "ST", "spearman": "ρ"}


def _target(name: str, targets: dict[str, dict[str, Any]]) -> str:
    target = targets.get(name)
    if not target:
        return name.replace("_", " ")
    measure = target.get("measure", "delivered")
    noun = {"delivered": "masks delivered", "free": "free masks delivered", "sewn": "masks sewn"}.get(measure, measure)
    return f"{fmt_count(float(target['masks']))} {noun}"


def kpi_words(kpi: str, targets: dict[str, dict[str, Any]], start: dt.date) -> str:
    """'the date of 2 M masks delivered', 'masks delivered by day 42 (11 May)', ..."""
    kind, _, rest = kpi.partition(".")
    if kind == "day_target":
        return f"the date of {_target(rest, targets)}"
    if kind == "reached_by_date":
        by = targets.get(rest, {}).get("by")
        when = f" by {fmt_date(dt.date.fromisoformat(str(by)))}" if by else ""
        return f"whether {_target(rest, targets)} is reached{when}"
    if kind == "delivered_by_day":
        return f"masks delivered by day {rest} ({fmt_date(start + dt.timedelta(days=int(rest)))})"
    if kind == "fill_rate":
        return f"fill rate of {rest.replace('_', ' ')}"
    if kind == "bottleneck_share":
        return f"share of weeks' time {stage_name(rest)} limits the network"
    return {"masks_delivered": "masks delivered by the end", "masks_sewn": "masks sewn by the end",
            "first_pass_yield": "first-pass yield"}.get(kpi, kpi.replace("_", " "))


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def kpi_unit(kpi: str) -> str:
    if kpi.startswith("day_target."):
        return "days"
    if kpi.startswith(("masks_", "delivered_by_day.")):
        return "masks"
    return "share"


def _number(value: float, kpi: str, index: str) -> str:
    if index not in ("mu_star", "mu", "sigma"):
        return f"{value:.2f}"
    unit = kpi_unit(kpi)
    if unit == "days":
        return f"{value:.1f}"
    if unit == "masks":
        return fmt_count(round_sig(value, 3))
    return f"{value:.2g}"


def _unit(kpi: str, index: str) -> str:
    unit = kpi_unit(kpi)
    return f" {unit}" if index in ("mu_star", "mu", "sigma") and unit in ("days", "masks") else ""


def fmt_effect(value: float, kpi: str, index: str) -> str:
    """An index value as the report writes it: Sobol indices and ρ as 0.46, Morris effects in the KPI's unit
    (days, masks rounded to 3 figures, shares)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return _number(value, kpi, index) + _unit(kpi, index)


def fmt_interval(low: float, high: float, kpi: str, index: str) -> str:
    """'20.4–38.6 days'; '-0.99 to -0.92' (a dash between negative numbers would read as a minus)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "n/a"
    dash = " to " if low < 0 or high < 0 else "–"
    return f"{_number(low, kpi, index)}{dash}{_number(high, kpi, index)}{_unit(kpi, index)}"


def parameter_words(value: Any) -> str:
    """A parameter's value as a reader writes it: 40, 0.45, 2020-04-20 (dates are stored as ISO text)."""
    if isinstance(value, float) and value.is_integer():
        return f"{value:,.0f}"
    if isinstance(value, int | float):
        return f"{value:.3g}"
    return str(value)
