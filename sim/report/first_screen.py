"""The first screen of the report: four answers a crisis cell reads in five minutes.

1. When is each target reached, and how sure are we? (median date and the range of the middle 80 % of
   replications; P(by its date) with a Wilson interval; for a target the runs do not reach, P(reached by the
   horizon) and a projected date, labelled as a straight-line projection beyond the model);
2. What holds us back, and where? (the stage that binds the network, with its spread across replications,
   beside the branches whose sites wait for their supplier: sim.report.branches);
3. Which lever buys how many days? (levers.csv of the decision layer, by days gained);
4. What did we assume? (the assumptions count and the parameters behind the headline: sim.report).

One statistic per quantity: a date is the median over replications (a run that never reaches a target counts
as later than any), a number of masks is the mean; every figure says which. Identifiers get words
(sim.report.labels) with the id kept as a tooltip. Rendered by a Jinja2 template with autoescaping.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.report.formatting import fmt_date_long, fmt_pct, stage_name
from sim.report.labels import target_label, words
from sim.report.templating import render
from sim.results.results_set import wilson_interval

if TYPE_CHECKING:
    from sim.results.results_set import ResultsSet

PROJECTION_WINDOW_DAYS = 14


def _date(rs: ResultsSet, day: float) -> str:
    return fmt_date_long(rs.day_to_date(day)) if math.isfinite(day) else "not reached"


def _wilson(k: int, n: int) -> tuple[float, float, float]:
    return wilson_interval(k, n)


def projected_day(rs: ResultsSet, masks: float) -> float | None:
    """Day on which the base's median cumulative delivery would reach `masks` if it went on at its rate of the
    last PROJECTION_WINDOW_DAYS days (None when it has no rate). A projection, not a model result."""
    series = rs.series("cum_delivered", rs.base_variant)
    if series.empty:
        return None
    median = series.groupby("day")["value"].median().sort_index()
    if len(median) <= PROJECTION_WINDOW_DAYS:
        return None
    last_day, last = float(median.index[-1]), float(median.iloc[-1])
    rate = (last - float(median.iloc[-1 - PROJECTION_WINDOW_DAYS])) / PROJECTION_WINDOW_DAYS
    if rate <= 0:
        return None
    return last_day + (masks - last) / rate


def target_answers(rs: ResultsSet) -> list[dict[str, Any]]:
    base = rs.base_variant
    answers = []
    for name, target in sorted(rs.targets.items(), key=lambda kv: float(kv[1].get("masks", 0))):
        days = rs.target_reach_days(base, name)
        if days.size == 0:
            continue
        later = np.where(np.isnan(days), np.inf, days)
        reached = int(np.isfinite(days).sum())
        median = float(np.median(later))
        low, high = (float(q) for q in np.quantile(later, [0.1, 0.9], method="inverted_cdf"))
        answer: dict[str, Any] = {"id": name, "label": target_label(name, target), "runs": int(days.size),
                                  "reached": reached, "median": _date(rs, median), "low": _date(rs, low),
                                  "high": _date(rs, high), "ok": math.isfinite(median)}
        by = rs.target_by(name)
        if by is not None:
            on_time = int(np.sum(later < (by - rs.start_date).days + 1))
            p, p_low, p_high = _wilson(on_time, int(days.size))
            answer["by"] = fmt_date_long(by)
            answer["p"] = f"{fmt_pct(p)} (95 % CI {fmt_pct(p_low)}–{fmt_pct(p_high)}, {on_time}/{days.size} runs)"
        if not math.isfinite(median):
            p, p_low, p_high = _wilson(reached, int(days.size))
            answer["p_horizon"] = (f"{fmt_pct(p)} (95 % CI {fmt_pct(p_low)}–{fmt_pct(p_high)}, {reached}/{days.size} "
                                   "runs)")
            day = projected_day(rs, float(target["masks"]))
            when = rs.day_to_date(day) if day is not None and day < 3650 else None
            answer["projected"] = f"{fmt_date_long(when)} {when.year}" if when is not None else None
        answers.append(answer)
    return answers


def stage_answer(rs: ResultsSet) -> dict[str, Any] | None:
    """The stage binding the whole network most over the run, its mean share of the time and the range of that
    share across replications."""
    weekly = rs.network_shares(rs.base_variant)
    if weekly.empty:
        return None
    per_run = weekly.groupby(level="run_id").mean()  # over the run's weeks (0 where a stage never bound)
    per_run = per_run.drop(columns=[c for c in per_run.columns if c == "none"])
    mean = per_run.mean().sort_values(ascending=False)
    stage = str(mean.index[0])
    return {"stage": stage_name(stage), "id": stage, "mean": fmt_pct(float(mean.iloc[0])),
            "low": fmt_pct(float(per_run[stage].min())), "high": fmt_pct(float(per_run[stage].max())),
            "runs": len(per_run),
            "second": stage_name(str(mean.index[1])) if len(mean) > 1 else None,
            "second_mean": fmt_pct(float(mean.iloc[1])) if len(mean) > 1 else None}


def branch_answers(rs: ResultsSet, scenario: dict[str, Any], limit: int = 3) -> list[dict[str, Any]]:
    from sim.report.branches import branch_table, feeder_loads

    table = branch_table(rs, scenario)
    if table.empty:
        return []
    loads = feeder_loads(scenario)
    out = []
    for r in table.head(limit).itertuples():
        feeders = [f for f in str(r.feeder).split(" + ") if not f.startswith("(")]
        out.append({
            "unit": words(r.unit), "unit_id": r.unit, "sites": r.sites, "kind": r.kind,
            "feeder": " and ".join(words(f) for f in feeders), "feeder_id": r.feeder,
            "feeds": sum(loads.get(f, 0) for f in feeders),
            "starved": fmt_pct(r.starved), "low": fmt_pct(r.starved_low), "high": fmt_pct(r.starved_high),
            "runs": r.runs, "worst": ", ".join(words(s) for s in r.worst_sites)})
    return out


def lever_answers(rs: ResultsSet, limit: int = 3) -> dict[str, Any] | None:
    from sim.decisions.ranking import money
    from sim.report.data import levers_table

    found = levers_table(rs)
    if found is None:
        return None
    table, primary = found
    main = table[table["target"] == primary].sort_values("days_gained", ascending=False)
    items = []
    for r in main.head(limit).itertuples():
        # the interval's own level: with replications added per lever it is wider than 95 % (Bonferroni)
        level = float(getattr(r, "interval_confidence", math.nan))
        named = f"{100 * level:.4g} % CI" if math.isfinite(level) else "interval"  # never a level not written
        interval = ("" if not (math.isfinite(r.days_gained_low) and math.isfinite(r.days_gained_high))
                    else f" ({named} {r.days_gained_low:+.1f} to {r.days_gained_high:+.1f})")
        items.append({"label": str(r.description) or words(r.lever), "id": r.lever,
                      "days": f"{r.days_gained:+.1f} days{interval}", "cost": money(r.euros), "n": int(r.n)})
    pairs = sorted({int(n) for n in main["n"]})  # replications are added per lever until it is significant
    counted = f"{pairs[0]}" if len(pairs) == 1 else f"{pairs[0]} to {pairs[-1]}"
    return {"target": target_label(primary, rs.targets.get(primary, {})), "rows": items, "count": len(main),
            "pairs": counted}


def scenario_definitions(rs: ResultsSet) -> list[dict[str, str]]:
    """What each scenario (lever, shock) changes, in the experiment's own words."""
    experiment = (rs.manifest.get("config") or {}).get("experiment") or {}
    out = []
    for name, variant in (experiment.get("scenarios") or {}).items():
        changes = ", ".join(f"{k} = {v}" for k, v in (variant.get("set") or {}).items())
        out.append({"id": name, "label": words(name), "what": variant.get("description") or changes or "as stated"})
    for name, lever in (experiment.get("levers") or {}).items():
        out.append({"id": name, "label": words(name), "what": str(lever.get("description") or "")})
    return out


def parameter_label(path: str) -> str:
    """'sites.packing_north.stages.pack.operators' -> 'Packing north, pack: operators'."""
    parts = [p for p in path.replace("[", ".[").split(".") if p not in ("sites", "groups", "stages", "archetypes")]
    if len(parts) == 1:
        return words(parts[0])
    owner = ", ".join(words(p) if i == 0 else words(p).lower() for i, p in enumerate(parts[:-1]))
    return f"{owner}: {words(parts[-1]).lower()}"


def first_screen_context(rs: ResultsSet) -> dict[str, Any]:
    from sim.report.data import assumption_counts, assumption_rows, base_scenario_config, headline_drivers

    scenario = base_scenario_config(rs)
    rows = assumption_rows(rs)
    drivers, how = headline_drivers(rs, rows, limit=5)
    from sim.uncertainty.report_section import study_line  # a study: its design in words (sim.uncertainty)

    return {
        "study": study_line(rs.dir),
        "experiment": words(rs.experiment), "experiment_id": rs.experiment,
        "base": words(rs.base_variant), "base_id": rs.base_variant,
        "runs": len(rs.kpi_values(rs.base_variant, "masks_delivered")) or len(rs.ok_runs),
        "horizon": fmt_date_long(rs.end_date),
        "targets": target_answers(rs), "stage": stage_answer(rs), "branches": branch_answers(rs, scenario),
        "levers": lever_answers(rs), "counts": assumption_counts(rows) if rows else None,
        "drivers": [{"label": d.get("label") or parameter_label(str(d["path"])),
                     "id": d["path"], "value": d.get("value"), "guess": d["guess"], "why": d.get("why"),
                     "drawn": d.get("drawn")}
                    for d in drivers],
        "drivers_how": how,
        "scenarios": scenario_definitions(rs),
        "calibrated": calibrated_words(rs),
    }


def calibrated_words(rs: ResultsSet) -> str:
    """A forecast: where its parameters come from and what its intervals hold, in one sentence ('' otherwise)."""
    cal = rs.manifest.get("calibrated_from")
    if not isinstance(cal, dict):
        return ""
    share = float(cal.get("discrepancy_share") or 0.0)
    held = (f" The masks' intervals include the model's own error assumed in calibration (sd {share:.0%} of the "
            "value); dates and probabilities are the runs' own." if share > 0 else "")
    return (f"A forecast: each replication runs at its own point of a calibrated set ({int(cal['points']):,} "
            f"points of {int(cal['parameters'])} parameters that {int(cal['observations'])} observations did not "
            f"rule out).{held}")


def first_screen_html(rs: ResultsSet) -> str:
    return render("first_screen.html.j2", **first_screen_context(rs))
