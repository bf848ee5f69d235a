"""levers.csv: what each lever buys against the base, per target, under common random numbers.

Per lever and target: days gained (base day − lever day, paired over replications, a target never reached
counted at the horizon), the change in P(target by its date) (paired 0/1 outcomes), masks delivered more by
a date (paired), and days gained per million euros and per hundred people at the lever's run amount.
Levers are ranked on the primary target (the first listed): those whose gain is significantly positive
first, by days gained per million euros, then the others by days gained.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sim.decisions.levers import LeverSpec, run_amount
from sim.decisions.paired import aligned, daily_series, day_gain
from sim.results.analysis import paired_difference
from sim.results.tables import REACHED_BY_DATE

LEVER_COLUMNS = ("rank", "lever", "target", "description", "amount", "unit", "from", "euros", "people",
                 "lead_time_days", "cost_source", "n", "days_gained", "days_gained_low", "days_gained_high",
                 "censored_pairs", "p_base", "p_lever", "dp", "dp_low", "dp_high", "masks_by", "masks_gained",
                 "masks_gained_low", "masks_gained_high", "days_per_meur", "days_per_100_people")


def lever_table(runs: pd.DataFrame, series: pd.DataFrame, levers: dict[str, LeverSpec], base: str,
                targets: dict[str, dict[str, Any]], target_names: list[str], masks_by_day: int | None,
                masks_by: str, horizon_days: int) -> pd.DataFrame:
    cum = daily_series(series, "cum_delivered", "all") if masks_by_day is not None else None
    rows: list[dict[str, Any]] = []
    for name, lever in levers.items():
        amount = run_amount(lever)
        euros, people = lever.cost_at(amount)
        masks = (math.nan, math.nan, math.nan)
        if cum is not None and masks_by_day is not None and masks_by_day in cum.columns:
            a = cum.loc[base][masks_by_day]
            b = cum.loc[name][masks_by_day]
            common = a.index.intersection(b.index)
            m, _, lo, hi = paired_difference(a.loc[common].to_numpy(), b.loc[common].to_numpy())
            masks = (m, lo, hi)
        for target in target_names:
            gain, low, high, n, censored = day_gain(runs, base, name, target, horizon_days)
            p_base = p_lever = dp = dp_low = dp_high = math.nan
            if targets.get(target, {}).get("by") and REACHED_BY_DATE + target in runs.columns:
                pa, pb = aligned(runs, base, name, REACHED_BY_DATE + target)
                p_base, p_lever = float(np.nanmean(pa)), float(np.nanmean(pb))
                dp, _, dp_low, dp_high = paired_difference(pa, pb)
            rows.append({
                "lever": name, "target": target, "description": lever.description, "amount": amount,
                "unit": lever.scalable.unit if lever.scalable else "", "from": str(lever.from_ or ""),
                "euros": euros, "people": people, "lead_time_days": lever.cost.lead_time_days,
                "cost_source": lever.cost.source, "n": n, "days_gained": gain, "days_gained_low": low,
                "days_gained_high": high, "censored_pairs": censored, "p_base": p_base, "p_lever": p_lever,
                "dp": dp, "dp_low": dp_low, "dp_high": dp_high, "masks_by": masks_by, "masks_gained": masks[0],
                "masks_gained_low": masks[1], "masks_gained_high": masks[2],
                "days_per_meur": gain / (euros / 1e6) if euros > 0 else math.nan,
                "days_per_100_people": gain / (people / 100) if people > 0 else math.nan})
    table = pd.DataFrame(rows, columns=[c for c in LEVER_COLUMNS if c != "rank"])
    table.insert(0, "rank", rank_levers(table, target_names[0] if target_names else None))
    order = {name: i for i, name in enumerate(target_names)}
    table["_target_order"] = table["target"].map(order)
    table = table.sort_values(["rank", "_target_order"], kind="stable").drop(columns="_target_order")
    return table.reset_index(drop=True)


def rank_levers(table: pd.DataFrame, primary: str | None) -> pd.Series:
    """Rank 1 = best, per lever (the same rank on every target row)."""
    if table.empty or primary is None:
        return pd.Series([], dtype=int)
    main = table[table["target"] == primary].copy()
    significant = main["days_gained_low"].fillna(-math.inf) > 0
    # significant first; among them more days per M€ first (no cost: treated as infinitely cheap);
    # then the rest by days gained
    per_eur = main["days_per_meur"].where(main["euros"] > 0, math.inf)
    main["_key1"] = (~significant).astype(int)
    main["_key2"] = np.where(significant, -per_eur, -main["days_gained"].fillna(-math.inf))
    main["_key3"] = -main["days_gained"].fillna(-math.inf)
    order = main.sort_values(["_key1", "_key2", "_key3"], kind="stable")["lever"].tolist()
    rank = {lever: i + 1 for i, lever in enumerate(order)}
    return table["lever"].map(rank).astype(int)


def lever_sentence(table: pd.DataFrame, primary: str, start_date: Any,
                   constraint_from: Callable[[str], str | None] | None = None) -> str:
    """'a second shift ... buys 4.1 days (3.2–5.0) for €0.30 M; ... buys nothing measurable ...'.

    `constraint_from(date)` (ISO date or '' for the start), when given, names the base's binding constraint
    from that date on; it explains why a lever that adds capacity elsewhere buys nothing.
    """
    main = table[table["target"] == primary].sort_values("rank")
    if main.empty:
        return ""
    parts = []
    best = main.iloc[0]
    if best["days_gained_low"] > 0:
        parts.append(f"best value: {best['description']} buys {best['days_gained']:.1f} days "
                     f"({best['days_gained_low']:.1f}–{best['days_gained_high']:.1f}) on {primary} for "
                     f"{money(best['euros'])}")
        most = main.sort_values("days_gained", ascending=False).iloc[0]
        if most["lever"] != best["lever"] and most["days_gained_low"] > 0:
            parts.append(f"most days: {most['description']}, {most['days_gained']:.1f} days "
                         f"({most['days_gained_low']:.1f}–{most['days_gained_high']:.1f}) for {money(most['euros'])}")
    else:
        top = main.sort_values("days_gained", ascending=False).iloc[0]
        interval = ("" if np.isnan(top["days_gained_low"]) else
                    f" ({top['days_gained_low']:.1f}–{top['days_gained_high']:.1f})")
        parts.append(f"no lever buys a day on {primary} beyond the noise; the largest estimate is "
                     f"{top['lever']}, {top['days_gained']:.1f} days{interval}")
    nothing = main[(main["days_gained_low"] <= 0) & (main["days_gained_high"] >= 0)]
    for when, group in nothing.groupby(nothing["from"].fillna("").astype(str), sort=True):
        names = ", ".join(group["lever"].tolist())
        binding = constraint_from(when) if constraint_from is not None else None
        # '2020-04-06' -> '6 April': the sentence is read on the decision page
        day = f"{dt.date.fromisoformat(when[:10]).day} {dt.date.fromisoformat(when[:10]):%B}" if when else "the start"
        reason = (f"from {day} the binding constraint is {binding}, not what "
                  f"{'it adds' if len(group) == 1 else 'they add'}" if binding else
                  f"what {'it adds' if len(group) == 1 else 'they add'} is not the constraint on that target")
        parts.append(f"{names} buy{'s' if len(group) == 1 else ''} no day measurable within the interval: {reason}")
    worse = main[main["days_gained_high"] < 0]
    if len(worse):
        parts.append(f"{', '.join(worse['lever'])} delay{'s' if len(worse) == 1 else ''} it")
    return "; ".join(parts) + "." if parts else ""


NO_COST = "no cost stated"


def money(euros: float) -> str:
    """A lever's cost in words: '€0.87 M', '€12,000', or 'no cost stated' (0 or missing)."""
    if not euros or math.isnan(euros):
        return NO_COST
    return f"€{euros / 1e6:.2f} M" if euros >= 1e5 else f"€{euros:,.0f}"
