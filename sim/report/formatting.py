"""Words and numbers as the report and the charts print them: counts ('2.5 M'), shares ('71 %'), dates
('6 April'), stage names. No matplotlib here, so that text-only modules (the first screen, the uncertainty
labels) do not pay for it."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

STAGE_NAMES: dict[str, str] = {
    "supply": "material supply",
    "certification": "certification",
    "cut": "cutting",
    "sew": "sewing",
    "inspect": "inspection",
    "pack": "packaging",
    "transport": "transport",
    "none": "no bottleneck",
}


MATERIAL_UNITS: dict[str, str] = {"fabric": "m²", "elastic": "m"}


def fmt_count(value: float) -> str:
    """Masks and other counts: '60 M', '2.5 M', '125,000', '412'."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1e6:
        text = f"{value / 1e6:,.1f}".removesuffix(".0")
        return f"{text} M"
    return f"{value:,.0f}"


def fmt_signed_count(value: float) -> str:
    """'+93,900' / '−1.2 M' (a true minus sign, which does not wrap away from its number)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return ("+" if value > 0 else "−" if value < 0 else "") + fmt_count(abs(value))


def round_sig(value: float, figures: int = 3) -> float:
    """`value` rounded to `figures` significant figures (whole numbers at least)."""
    if value is None or not math.isfinite(value) or value == 0:
        return value
    digits = figures - 1 - math.floor(math.log10(abs(value)))
    return float(round(value, min(digits, 0)))


def fmt_approx(value: float) -> str:
    """A count rounded to 3 significant figures for sentences: '178,000' rather than '177,897'."""
    return fmt_count(round_sig(value))


def fmt_signed_approx(value: float) -> str:
    """A signed difference to 3 significant figures: '+93,900', '−230,000'."""
    return fmt_signed_count(round_sig(value))


def fmt_pct(share: float, digits: int = 0) -> str:
    """A share 0..1 as '71 %' (the French and SI spacing used throughout the project)."""
    if share is None or not math.isfinite(share):
        return "n/a"
    return f"{share * 100:.{digits}f} %"


def fmt_date(day: dt.date | pd.Timestamp) -> str:
    """'21 Apr' (day without a leading zero, portable: %-d is glibc-only)."""
    return f"{day.day} {day.strftime('%b')}"


def fmt_date_long(day: dt.date | pd.Timestamp) -> str:
    """'6 April' for sentences in the report."""
    return f"{day.day} {day.strftime('%B')}"


def stage_name(stage: str) -> str:
    return STAGE_NAMES.get(stage, stage.replace("_", " "))
