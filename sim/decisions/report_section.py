"""The decision page: the report's first section, the answers a crisis cell needs on one screen.

Target dates with their probability; the binding constraint this week and next (the simulation's first two
weeks: the run starts "today"); the three best levers with cost and days gained (levers.csv); what it takes
to reach the first dated target with the stated probability (what_it_takes.json); the most damaging shock
(stress.csv). Parts whose file is absent are left out. Draws its charts into <results>/charts/.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sim.charts import ResultsSet, fmt_date_long, fmt_pct, median_with_unreached, stage_name
from sim.decisions.charts import lever_chart, stress_heatmap
from sim.decisions.command import WHAT_IT_TAKES_JSON, summary_line
from sim.decisions.ranking import lever_sentence
from sim.decisions.stress import most_damaging
from sim.decisions.tables import LEVERS_CSV, STRESS_CSV
from sim.results.analysis import wilson_interval
from sim.results.tables import DAY_TARGET, REACHED_BY_DATE, kpi_name


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}"></figure>'


def _money(euros: float) -> str:
    if not euros or math.isnan(euros):
        return "no stated cost"
    return f"€{euros / 1e6:.2f} M" if euros >= 1e5 else f"€{euros:,.0f}"


def _targets(rs: ResultsSet) -> str:
    runs = rs.ok_runs
    base = rs.base_variant
    rows = runs[runs["variant"] == base] if "variant" in runs.columns else runs
    items = []
    for name, target in rs.targets.items():
        column = kpi_name(DAY_TARGET, name)
        if column not in rows.columns:
            continue
        days = rows[column].to_numpy(dtype=float)
        median = median_with_unreached(days)
        when = ("not reached in most runs" if not math.isfinite(median)
                else f"median {fmt_date_long(rs.start_date + pd.Timedelta(days=math.floor(median)))}")
        text = f"<b>{_e(name)}</b> ({int(target['masks']):,} masks): {_e(when)}"
        by = target.get("by")
        reached = kpi_name(REACHED_BY_DATE, name)
        if by and reached in rows.columns:
            outcomes = rows[reached].dropna().to_numpy(dtype=float)
            p, low, high = wilson_interval(int(outcomes.sum()), len(outcomes))
            text += (f"; P(by {_e(fmt_date_long(pd.Timestamp(by)))}) = <b>{_e(fmt_pct(p))}</b> "
                     f"({_e(fmt_pct(low))}–{_e(fmt_pct(high))})")
        items.append(f"<li>{text}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _constraints(rs: ResultsSet) -> str:
    matrix = rs.weekly_bottlenecks()
    if matrix.empty:
        return ""
    parts = []
    for label, (week, shares) in zip(("this week", "next week"), list(matrix.iterrows())[:2], strict=False):
        ranked = shares.sort_values(ascending=False)
        parts.append(f"{label} (from {_e(fmt_date_long(week))}): <b>{_e(stage_name(str(ranked.index[0])))}</b> "
                     f"({_e(fmt_pct(float(ranked.iloc[0])))} of the time)")
    return "<p>Binding constraint " + "; ".join(parts) + ".</p>"


def _binding_from(rs: ResultsSet, primary: str) -> Callable[[str], str | None] | None:
    """date -> the base's most binding stage from that week until the base reaches the primary target."""
    matrix = rs.weekly_bottlenecks()
    if matrix.empty:
        return None
    days = rs.kpi_values(rs.base_variant, kpi_name(DAY_TARGET, primary))
    finite = days[np.isfinite(days)]
    until = rs.start_date + pd.Timedelta(days=float(np.median(finite)) if len(finite) else 10_000)

    def binding(when: str) -> str | None:
        since = pd.Timestamp(when) if when else rs.start_date
        weeks = matrix[(matrix.index + pd.Timedelta(days=7) > since) & (matrix.index <= until)]
        if weeks.empty:
            return None
        shares = weeks.mean()
        return f"{stage_name(str(shares.idxmax()))} ({fmt_pct(float(shares.max()))} of the time)"

    return binding


def _levers(rs: ResultsSet, charts: Path) -> str:
    path = rs.dir / LEVERS_CSV
    if not path.exists():
        return ""
    table = pd.read_csv(path)
    if table.empty:
        return ""
    primary = str(table["target"].iloc[0])
    main = table[table["target"] == primary].sort_values("rank")
    rows = []
    for r in main.head(3).itertuples():
        per = "" if math.isnan(r.days_per_meur) else f"{r.days_per_meur:.1f}"
        rows.append(f"<tr><td>{r.rank}</td><td><b>{_e(r.lever)}</b><br><span class=second>{_e(r.description)}"
                    f"</span></td><td class=num>{r.days_gained:+.1f} ({r.days_gained_low:+.1f} to "
                    f"{r.days_gained_high:+.1f})</td><td class=num>{_e(_money(r.euros))}</td>"
                    f"<td class=num>{r.people:.0f}</td><td class=num>{r.lead_time_days:.0f}</td>"
                    f"<td class=num>{_e(per)}</td></tr>")
    chart = lever_chart(table, primary, charts / "levers_ranked.png")
    sentence = lever_sentence(table, primary, rs.start_date, _binding_from(rs, primary))
    return (f"<h3>Best levers (days gained on {_e(primary)})</h3><p>{_e(sentence)}</p>"
            "<table><tr><th>rank</th><th>lever</th><th>days gained (95 %)</th><th>cost</th><th>people</th>"
            f"<th>lead time (days)</th><th>days per €M</th></tr>{''.join(rows)}</table>"
            f"{_img(chart, 'levers ranked by days gained')}"
            f"<p class=second>All {len(main)} levers and targets: {LEVERS_CSV}. Costs marked 'assumption' in the "
            "experiment file have no source.</p>")


def _what_it_takes(rs: ResultsSet) -> str:
    path = rs.dir / WHAT_IT_TAKES_JSON
    if not path.exists():
        return ""
    answer = json.loads(path.read_text(encoding="utf-8"))
    chart = rs.dir / "charts" / "what_it_takes.png"
    img = _img(chart, "P(target) against the lever's amount") if chart.exists() else ""
    return (f"<h3>What it takes</h3><p class=answer>{_e(summary_line(answer))}</p>"
            f"<p class=second>{_e(answer['method'])}; {_e(answer['error_rates'])}.</p>{img}")


def _stress(rs: ResultsSet, charts: Path) -> str:
    path = rs.dir / STRESS_CSV
    if not path.exists():
        return ""
    table = pd.read_csv(path, keep_default_na=False, na_values=["", "nan", "NaN"])
    if table.empty:
        return ""
    delay_targets = table.loc[table["metric"] == "delay_days", "target"]
    primary = str(delay_targets.iloc[0]) if len(delay_targets) else None
    worst = most_damaging(table, primary)
    chart = stress_heatmap(table, primary, charts / "stress_matrix.png")
    sentence = ""
    if worst is not None:
        lost = table[(table["shock"] == worst.name) & (table["metric"] == "masks_lost_delivered")]
        lost_text = (f" and {lost.iloc[0]['mean'] / 1e6:.2f} M masks fewer delivered by the horizon"
                     if len(lost) and np.isfinite(lost.iloc[0]["mean"]) else "")
        sentence = (f"The most damaging shock is {worst.name} ({worst['description']}): {primary} comes "
                    f"{worst['mean']:.1f} days later ({worst['low']:.1f}–{worst['high']:.1f}){lost_text}.")
    return (f"<h3>Most damaging shock</h3><p class=answer>{_e(sentence)}</p>{_img(chart, 'stress matrix')}")


def decision_section(rs: ResultsSet) -> str:
    """The decision page as an HTML fragment (empty string when the results hold nothing to decide on)."""
    charts = rs.dir / "charts"
    levers, wit, stress = _levers(rs, charts), _what_it_takes(rs), _stress(rs, charts)
    if not (levers or wit or stress):
        return ""
    return (f'<section id="decisions"><h2>Decisions</h2><h3>Targets</h3>{_targets(rs)}{_constraints(rs)}'
            f"{levers}{wit}{stress}</section>")
