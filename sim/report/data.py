"""What the report's pages compute from a results folder for the reader: the parameter rows with their
assumption flags, the parameters behind the headline, and images inlined as data URIs. Shared by the long
report (sim.report.page), its first screen (sim.report.first_screen) and the printable summary
(sim.report.summary), below all three so that none of them imports another's page code."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.report.formatting import stage_name

if TYPE_CHECKING:
    from sim.results.results_set import ResultsSet


def base_scenario_config(rs: ResultsSet) -> dict[str, Any]:
    """The base scenario as run (plain data from the manifest's config), {} when not recorded."""
    scenarios = (rs.manifest.get("config") or {}).get("scenarios") or {}
    return scenarios.get(f"{rs.base_scenario}/p0") or next(iter(scenarios.values()), {}) if scenarios else {}


def binding_stages(rs: ResultsSet, least_share: float = 0.2) -> list[str]:
    """Stages that bound the whole network at least `least_share` of the weeks' time (base, mean over runs)."""
    matrix = rs.weekly_bottlenecks()
    if matrix.empty:
        return []
    shares = matrix.drop(columns=[c for c in matrix.columns if c == "none"]).mean().sort_values(ascending=False)
    return [str(s) for s, v in shares.items() if v >= least_share] or [str(shares.index[0])]


def assumption_rows(rs: ResultsSet) -> list[dict[str, Any]]:
    """Every parameter row of the page: the scenario file's numbers (manifest) and the site-kind defaults of the
    kinds the scenario uses (sim/entities/archetypes.py), each with `assumed`, `guess` and `default` flags."""
    from sim.assumptions import archetype_rows, is_assumption, is_guess

    rows = [dict(r, default=False) for r in rs.manifest.get("assumptions") or []]
    scenario = base_scenario_config(rs)
    kinds = {str(v.get("kind")) for part in ("sites", "groups") for v in (scenario.get(part) or {}).values()
             if isinstance(v, dict)}
    rows += [dict(r, default=True) for r in archetype_rows(kinds or None, scenario.get("archetypes") or {})]
    drawn = calibrated_values(rs)
    for row in rows:
        row["assumed"] = is_assumption(row.get("source"))
        row["guess"] = is_guess(row.get("source"))
        path = str(row.get("path"))
        here = [words for key, words in drawn.items() if key == path or key.startswith(f"{path}.")]
        if here and not row["default"]:  # a forecast ran other values than the file's: say which
            row["drawn"] = f"in this forecast drawn from the calibration: {'; '.join(here)}"
    return rows


def calibrated_values(rs: ResultsSet) -> dict[str, str]:
    """A forecast's calibrated draws in words, per path: 'minutes per mask 0.36–0.59 over 20 runs' (numbers
    and dates: lowest to highest; anything else: how many distinct values). Empty for any other results."""
    draws = (rs.manifest.get("config") or {}).get("calibrated_draws") or []
    out: dict[str, str] = {}
    for path in dict.fromkeys(key for draw in draws for key in draw):
        values = [draw[path] for draw in draws if path in draw]
        name = path.rsplit(".", 1)[-1].replace("_", " ")
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) == len(values):
            low, high = min(numbers), max(numbers)
            shown = f"{low:.3g}–{high:.3g}" if low != high else f"{low:.3g}"
        elif all(isinstance(v, str) for v in values):
            shown = f"{min(values)} to {max(values)}" if len(set(values)) > 1 else str(values[0])
        else:
            distinct = {repr(v) for v in values}
            shown = f"{len(distinct)} alternatives" if len(distinct) > 1 else "one alternative"
        out[path] = f"{name} {shown} over {len(values)} runs"
    return out


def headline_drivers(rs: ResultsSet, rows: list[dict[str, Any]], limit: int = 8) -> tuple[list[dict[str, Any]], str]:
    """(rows, how they were chosen): the parameters behind the headline. From the uncertainty study's
    sensitivity.csv when the results hold one (largest index on the first headline KPI); otherwise the
    assumptions (GUESS first) that act on the stages binding the network."""
    from sim.report.labels import acts_on

    sensitivity = rs.dir / "sensitivity.csv"
    if sensitivity.exists():
        from sim.uncertainty.labels import INDEX_WORDS, kpi_unit, kpi_words
        from sim.uncertainty.report_section import RANK_INDEX, driver_labels, headline_kpis

        words = driver_labels(rs.dir)  # 'packers per packing centre: 40 (range 20–60)'
        table = pd.read_csv(sensitivity)
        kpis = headline_kpis(table)
        if kpis:
            ranked = table[(table["kpi"] == kpis[0]) & table["index"].isin(RANK_INDEX.values())
                           & (table["parameter"] != "(all)")]
            order = ranked.assign(size=ranked["value"].abs()).sort_values("size", ascending=False)
            start = dt.date.fromisoformat(str(rs.manifest["start_date"]))
            kpi = kpi_words(kpis[0], dict(rs.manifest.get("targets") or {}), start)  # 'the date of 2 M masks ...'
            days = " days" if kpi_unit(kpis[0]) == "days" else ""  # μ*, μ, σ are in the KPI's unit
            picked = []
            for parameter, size, index in zip(order["parameter"], order["size"], order["index"], strict=True):
                if parameter in {p["path"] for p in picked}:
                    continue
                match = next((r for r in rows if str(r.get("path")) == parameter or parameter.startswith(
                    f"{r.get('path')}.")), None)
                label, _, value = words.get(parameter, "").partition(": ")
                picked.append({"path": parameter, "label": label or None,
                               "value": value or (match.get("value") if match else "(a range)"),
                               "source": match.get("source") if match else "see parameters.csv",
                               "assumed": bool(match and match["assumed"]), "guess": bool(match and match["guess"]),
                               "default": False,
                               "why": f"{INDEX_WORDS.get(index, index)} {size:.3g}"
                                      f"{days if index in ('mu_star', 'mu', 'sigma') else ''} on {kpi}"})
            measure = {"mu_star": "Morris μ*: how far each moves", "ST": "Sobol ST: the share of the variance of",
                       "S1": "Sobol S1: the share of the variance of", "spearman": "Spearman ρ with"}
            used = str(order["index"].iloc[0]) if len(order) else ""
            words_of_index = measure.get(used, INDEX_WORDS.get(used, used))
            return picked[:limit], f"ranked by the uncertainty study's {words_of_index} {kpi}"
    stages = binding_stages(rs)
    picked = []
    for stage in stages:  # the most binding stage first; within it GUESS first, the scenario's own values first
        on_stage = [dict(r, why=f"acts on {stage_name(stage)}") for r in rows
                    if r["assumed"] and acts_on(str(r.get("path")), stage)]
        picked += sorted(on_stage, key=lambda r: (not r["guess"], r["default"]))
    unique = list({r["path"]: r for r in picked}.values())
    words = " and ".join(stage_name(s) for s in stages)
    return unique[:limit], (f"assumptions (GUESS first) on the stages that bind the network most, {words}; "
                            "no sensitivity study in these results")


def assumption_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {"total": len(rows), "assumed": sum(r["assumed"] for r in rows), "guess": sum(r["guess"] for r in rows),
            "defaults": sum(r["default"] for r in rows), "defaults_assumed": sum(r["assumed"] and r["default"]
                                                                                  for r in rows)}


def interval_words(table: pd.DataFrame) -> str:
    """The level of levers.csv's days-gained intervals in words ('98.75 % interval'): 95 % only when no
    replications were added; an older file without the column says 'interval' with no level."""
    import math

    levels = pd.to_numeric(table.get("interval_confidence", pd.Series(dtype=float)), errors="coerce").dropna()
    if levels.empty or not all(math.isfinite(v) for v in levels):
        return "interval"
    return f"{100 * float(levels.min()):.4g} % interval"


def levers_table(rs: ResultsSet) -> tuple[pd.DataFrame, str] | None:
    """levers.csv of the decision layer and its primary target (the first listed); None when absent or empty."""
    path = rs.dir / "levers.csv"
    if not path.exists():
        return None
    table = pd.read_csv(path)
    return None if table.empty else (table, str(table["target"].iloc[0]))
