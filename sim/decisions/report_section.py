"""The decision page: the report's first section, the answers a crisis cell needs on one screen.

Target dates with their probability; the binding constraint this week and next (the simulation's first two
weeks: the run starts "today"); the three best levers with cost and days gained (levers.csv); what it takes
to reach the first dated target with the stated probability (what_it_takes.json); the most damaging shock
(stress.csv). Parts whose file is absent are left out. Draws its charts into <results>/charts/ and renders
templates/decisions.html.j2 (autoescaped); identifiers are shown in words with the id as a tooltip.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sim.decisions.charts import lever_chart, stress_heatmap
from sim.decisions.command import WHAT_IT_TAKES_JSON
from sim.decisions.ranking import lever_sentence, money
from sim.decisions.stress import most_damaging
from sim.decisions.tables import LEVERS_CSV, STRESS_CSV
from sim.decisions.what_it_takes import answer_sentences
from sim.report.data import levers_table
from sim.report.formatting import fmt_date_long, fmt_pct, stage_name
from sim.report.labels import target_label, words
from sim.report.templating import data_uri, render
from sim.results.results_set import ResultsSet, median_with_unreached, wilson_interval
from sim.results.tables import DAY_TARGET, REACHED_BY_DATE, kpi_name


def _target_words(rs: ResultsSet, name: str) -> str:
    return target_label(name, rs.targets.get(name, {}))


def _targets(rs: ResultsSet) -> list[dict[str, Any]]:
    runs = rs.ok_runs
    rows = runs[runs["variant"] == rs.base_variant] if "variant" in runs.columns else runs
    items = []
    for name, target in rs.targets.items():
        column = kpi_name(DAY_TARGET, name)
        if column not in rows.columns:
            continue
        median = median_with_unreached(rows[column].to_numpy(dtype=float))
        when = ("not reached in most runs" if not math.isfinite(median)
                else f"median {fmt_date_long(rs.start_date + pd.Timedelta(days=math.floor(median)))}")
        item = {"id": name, "label": _target_words(rs, name), "when": when, "p": None}
        by, reached = target.get("by"), kpi_name(REACHED_BY_DATE, name)
        if by and reached in rows.columns:
            outcomes = rows[reached].dropna().to_numpy(dtype=float)
            p, low, high = wilson_interval(int(outcomes.sum()), len(outcomes))
            item["p"] = {"by": fmt_date_long(pd.Timestamp(by)), "share": fmt_pct(p), "low": fmt_pct(low),
                         "high": fmt_pct(high)}
        items.append(item)
    return items


def _constraints(rs: ResultsSet) -> list[dict[str, str]]:
    matrix = rs.weekly_bottlenecks()
    out = []
    for label, (week, shares) in zip(("this week", "next week"), list(matrix.iterrows())[:2], strict=False):
        ranked = shares.sort_values(ascending=False)
        out.append({"when": label, "week": fmt_date_long(week), "stage": stage_name(str(ranked.index[0])),
                    "share": fmt_pct(float(ranked.iloc[0]))})
    return out


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


def _levers(rs: ResultsSet) -> dict[str, Any] | None:
    found = levers_table(rs)
    if found is None:
        return None
    table, primary = found
    main = table[table["target"] == primary].sort_values("rank")
    rows = [{"rank": r.rank, "id": r.lever, "label": words(r.lever), "description": r.description,
             "ranked_by": _text(getattr(r, "ranked_by", "")),
             "days": f"{r.days_gained:+.1f} ({r.days_gained_low:+.1f} to {r.days_gained_high:+.1f})",
             "cost": money(r.euros), "people": f"{r.people:.0f}", "lead": f"{r.lead_time_days:.0f}",
             "per_meur": _per_meur(r), "replications": _replications(r)}
            for r in main.head(3).itertuples()]
    confidence = main["interval_confidence"].iloc[0] if "interval_confidence" in main.columns else math.nan
    level = "95 %" if not math.isfinite(confidence) else f"{confidence:.2%}".replace("%", " %")
    chart = lever_chart(table, primary, rs.dir / "charts" / "levers_ranked.png")
    # The sentence names levers and the target in words: the same table with labels for ids.
    labelled = table.assign(lever=table["lever"].map(words), target=table["target"].map(
        lambda t: _target_words(rs, str(t))))
    sentence = lever_sentence(labelled, _target_words(rs, primary), rs.start_date, _binding_from(rs, primary))
    return {"target": _target_words(rs, primary), "target_id": primary, "sentence": sentence, "rows": rows,
            "level": level,
            "chart": data_uri(chart), "count": len(main), "file": LEVERS_CSV}


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _per_meur(r: Any) -> str:
    """'291.7 (149.0–434.4)', or why there is no value (no cost stated, gain not significant)."""
    if math.isnan(r.days_per_meur):
        return _text(getattr(r, "days_per_meur_note", ""))
    low, high = getattr(r, "days_per_meur_low", math.nan), getattr(r, "days_per_meur_high", math.nan)
    return f"{r.days_per_meur:.1f}" + ("" if math.isnan(low) else f" ({low:.1f}–{high:.1f})")


def _replications(r: Any) -> str:
    """'24 (cap of 24 replications reached)' or '6 (interval excludes 0)'."""
    stop = _text(getattr(r, "replications_stop", ""))
    return f"{r.n}" + (f" ({stop})" if stop else "")


def _what_it_takes(rs: ResultsSet) -> dict[str, Any] | None:
    path = rs.dir / WHAT_IT_TAKES_JSON
    if not path.exists():
        return None
    answer = json.loads(path.read_text(encoding="utf-8"))
    lines = answer_sentences(dict(answer, target=_target_words(rs, str(answer["target"]))), words)
    chart = rs.dir / "charts" / "what_it_takes.png"
    return {"line": lines[0], "method": answer["method"], "error_rates": answer["error_rates"],
            "warnings": lines[2:],
            "chart": data_uri(chart) if chart.exists() else None}


def _stress(rs: ResultsSet) -> dict[str, Any] | None:
    path = rs.dir / STRESS_CSV
    if not path.exists():
        return None
    table = pd.read_csv(path, keep_default_na=False, na_values=["", "nan", "NaN"])
    if table.empty:
        return None
    delay_targets = table.loc[table["metric"] == "delay_days", "target"]
    primary = str(delay_targets.iloc[0]) if len(delay_targets) else None
    worst = most_damaging(table, primary)
    chart = stress_heatmap(table, primary, rs.dir / "charts" / "stress_matrix.png")
    sentence = ""
    if worst is not None:
        lost = table[(table["shock"] == worst.name) & (table["metric"] == "masks_lost_delivered")]
        lost_text = (f" and {lost.iloc[0]['mean'] / 1e6:.2f} M masks fewer delivered by the horizon"
                     if len(lost) and np.isfinite(lost.iloc[0]["mean"]) else "")
        target = _target_words(rs, primary) if primary else "the target"
        sentence = (f"The most damaging shock is {words(str(worst.name)).lower()} ({worst['description']}): {target} "
                    f"comes {worst['mean']:.1f} days later ({worst['low']:.1f}–{worst['high']:.1f}){lost_text}.")
    return {"sentence": sentence, "chart": data_uri(chart)}


def decision_section(rs: ResultsSet) -> str:
    """The decision page as an HTML fragment (empty string when the results hold nothing to decide on)."""
    levers, wit, stress = _levers(rs), _what_it_takes(rs), _stress(rs)
    if not (levers or wit or stress):
        return ""
    return render("decisions.html.j2", targets=_targets(rs), constraints=_constraints(rs), levers=levers,
                  what_it_takes=wit, stress=stress)
