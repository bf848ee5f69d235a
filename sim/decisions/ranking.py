"""levers.csv: what each lever buys against the base, per target, under common random numbers.

Per lever and target: days gained (base day − lever day, paired over replications, a target never reached
counted at the horizon), the change in P(target by its date) (paired 0/1 outcomes), masks delivered more by
a date (paired), and days gained per million euros and per hundred people at the lever's run amount, each
with its interval: the paired days-gained interval divided by the cost (a stated, fixed number), at the
level `selected_confidence` (97.5 % beside a 95 % days interval: see there). Days per €M (per 100 people)
are written only where the days gained are significant (the interval excludes 0) and a cost (people) is
stated; otherwise they are empty and `days_per_meur_note` says why.

Levers are ranked on the primary target (the first listed), in three tiers, each named in `ranked_by`:
significant gains with a stated cost, by days per €M; significant gains without a stated cost, by days
gained ("no cost stated": never ranked as if free); the rest by days gained.
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

NO_COST = "no cost stated"
LEVER_COLUMNS = ("rank", "lever", "target", "description", "amount", "unit", "from", "euros", "people",
                 "lead_time_days", "cost_source", "n", "days_gained", "days_gained_low", "days_gained_high",
                 "censored_pairs", "p_base", "p_lever", "dp", "dp_low", "dp_high", "masks_by", "masks_gained",
                 "masks_gained_low", "masks_gained_high", "days_per_meur", "days_per_meur_low",
                 "days_per_meur_high", "days_per_meur_note", "days_per_100_people", "days_per_100_people_low",
                 "days_per_100_people_high", "ranked_by", "interval_confidence", "replications_stop")
BY_VALUE, BY_DAYS_NO_COST, BY_DAYS_NOT_SIGNIFICANT = (
    "days per €M", f"days gained ({NO_COST})", "days gained (not significant)")
NOT_SIGNIFICANT = "days gained not significant (interval includes 0)"


def lever_table(runs: pd.DataFrame, series: pd.DataFrame, levers: dict[str, LeverSpec], base: str,
                targets: dict[str, dict[str, Any]], target_names: list[str], masks_by_day: int | None,
                masks_by: str, horizon_days: int, confidence: float = 0.95,
                stops: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per lever and target (see the module docstring). `confidence` is the days-gained intervals'
    level, `stops[lever]` why replications stopped being added (sim/decisions/adding.py)."""
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
            gain, low, high, n, censored = day_gain(runs, base, name, target, horizon_days, confidence)
            wide = day_gain(runs, base, name, target, horizon_days, selected_confidence(confidence))[:3]
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
                **per_cost("days_per_meur", wide, euros / 1e6, significant=low > 0),
                "days_per_meur_note": (NO_COST if not euros > 0 else NOT_SIGNIFICANT if not low > 0 else ""),
                **per_cost("days_per_100_people", wide, people / 100, significant=low > 0),
                "interval_confidence": confidence, "replications_stop": (stops or {}).get(name, "")})
    table = pd.DataFrame(rows, columns=[c for c in LEVER_COLUMNS if c != "rank"])
    rank, ranked_by = rank_levers(table, target_names[0] if target_names else None)
    table.insert(0, "rank", rank)
    table["ranked_by"] = ranked_by
    order = {name: i for i, name in enumerate(target_names)}
    table["_target_order"] = table["target"].map(order)
    table = table.sort_values(["rank", "_target_order"], kind="stable").drop(columns="_target_order")
    return table.reset_index(drop=True)


def _days(row: Any) -> str:
    return f"{row['days_gained']:.1f} days ({row['days_gained_low']:.1f}–{row['days_gained_high']:.1f})"


def selected_confidence(confidence: float) -> float:
    """The level of the days-per-cost intervals: they are written only where the days gained are significant,
    and an interval reported only after such a selection holds the truth less often than its level (94 %
    for a 95 % interval, benchmarks/stat_levers.py); halving the error restores it (measured ≥ 95 %)."""
    return 1 - (1 - confidence) / 2


def per_cost(column: str, days: tuple[float, float, float], cost: float, significant: bool) -> dict[str, float]:
    """Days gained per unit of cost with its interval (a paired days interval over the fixed cost, at the
    selected_confidence level), only where the gain is significant and the cost stated; NaN otherwise."""
    gain, low, high = days
    if not (cost > 0 and significant):
        return {column: math.nan, f"{column}_low": math.nan, f"{column}_high": math.nan}
    return {column: gain / cost, f"{column}_low": low / cost, f"{column}_high": high / cost}


def rank_levers(table: pd.DataFrame, primary: str | None) -> tuple[pd.Series, pd.Series]:
    """(rank, ranked_by) per row: rank 1 = best, per lever (the same on every target row); see the docstring."""
    if table.empty or primary is None:
        return pd.Series([], dtype=int), pd.Series([], dtype=str)
    main = table[table["target"] == primary].copy()
    significant = main["days_gained_low"].fillna(-math.inf) > 0
    costed = main["euros"].fillna(0) > 0
    tier = np.where(significant & costed, 0, np.where(significant, 1, 2))
    days = main["days_gained"].fillna(-math.inf)
    main["_tier"] = tier
    main["_key"] = np.where(tier == 0, -main["days_per_meur"].fillna(-math.inf), -days)
    main["_days"] = -days
    order = main.sort_values(["_tier", "_key", "_days"], kind="stable")["lever"].tolist()
    rank = {lever: i + 1 for i, lever in enumerate(order)}
    label = dict(zip(main["lever"], np.array([BY_VALUE, BY_DAYS_NO_COST, BY_DAYS_NOT_SIGNIFICANT])[tier],
                     strict=True))
    return table["lever"].map(rank).astype(int), table["lever"].map(label)


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
    valued = main[main["ranked_by"] == BY_VALUE] if "ranked_by" in main.columns else main.iloc[0:0]
    significant = main[main["days_gained_low"] > 0]
    if len(significant):
        if len(valued):
            best = valued.iloc[0]
            parts.append(f"best value: {best['description']} buys {_days(best)} on {primary} for "
                         f"{money(best['euros'])} ({best['days_per_meur']:.1f} days per €M, "
                         f"{best['days_per_meur_low']:.1f}–{best['days_per_meur_high']:.1f})")
        most = significant.sort_values("days_gained", ascending=False).iloc[0]
        if not len(valued) or most["lever"] != valued.iloc[0]["lever"]:
            parts.append(f"most days: {most['description']}, {_days(most)} for {money(most['euros'])}")
        uncosted = significant[~(significant["euros"].fillna(0) > 0)]
        if len(uncosted):
            parts.append(f"{', '.join(uncosted['lever'])} {'has' if len(uncosted) == 1 else 'have'} no cost stated "
                         f"and {'is' if len(uncosted) == 1 else 'are'} ranked by days alone")
    else:
        top = main.sort_values("days_gained", ascending=False).iloc[0]
        interval = ("" if np.isnan(top["days_gained_low"]) else
                    f" ({top['days_gained_low']:.1f}–{top['days_gained_high']:.1f})")
        parts.append(f"no lever buys a day on {primary} beyond the noise; the largest estimate is "
                     f"{top['lever']}, {top['days_gained']:.1f} days{interval}")
    nothing = main[(main["days_gained_low"] <= 0) & (main["days_gained_high"] >= 0)]
    for when, group in nothing.groupby(nothing["from"].fillna("").astype(str), sort=True):
        names = ", ".join(f"{r['lever']} (after {r['n']} replications, the cap)"
                          if str(r.get("replications_stop", "")).startswith("cap") else str(r["lever"])
                          for _, r in group.iterrows())
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


def money(euros: float) -> str:
    """A lever's cost in words: '€0.87 M', '€12,000', or 'no cost stated' (0 or missing)."""
    if not euros or math.isnan(euros):
        return NO_COST
    return f"€{euros / 1e6:.2f} M" if euros >= 1e5 else f"€{euros:,.0f}"
