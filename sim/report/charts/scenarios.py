"""Scenarios side by side: key KPIs with intervals and paired differences against the base."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.report.charts.base import MAIN_KPI, ChartOutcome, ChartSkipped, Draw, render_family
from sim.report.formatting import fmt_signed_approx
from sim.report.labels import target_label, variant_words, words
from sim.report.style import PALETTE, count_axis, headline, new_figure
from sim.results.results_set import ResultsSet, paired_difference
from sim.results.tables import DAY_TARGET, PARAM_PREFIX, kpi_family, kpi_name


def _comparison_kpis(rs: ResultsSet) -> list[tuple[str, str, bool]]:
    """(column, label, higher_is_better) of the KPIs worth comparing, present and finite in all runs."""
    ok = rs.ok_runs
    kpis: list[tuple[str, str, bool]] = [(MAIN_KPI, "Masks delivered by the horizon", True)]
    for name, target in sorted(rs.targets.items(), key=lambda kv: float(kv[1]["masks"])):
        kpis.append(
            (kpi_name(DAY_TARGET, name), f"Days to reach {target_label(name, target)}", False)
        )
    kpis += [
        ("mean_lead_time_days", "Mean lead time, cutting to delivery (days)", False),
        ("masks_free", "Masks given free", True),
    ]
    # A day-to-target that some runs never reach has no meaningful mean: it is left to the report's
    # probability table rather than drawn with a biased interval.
    # A KPI equal in every run (a target every scenario reaches the same day) says nothing about the scenarios.
    return [k for k in kpis if k[0] in ok.columns and ok[k[0]].notna().all() and len(ok) > 0
            and ok[k[0]].nunique() > 1][:4]


def _in_days(kpi: str) -> bool:
    family = kpi_family(kpi)
    return family is not None and family.unit == "days"


def _comparison_references(rs: ResultsSet) -> dict[str, tuple[str, str]]:
    """variant -> (the variant it is compared with, the change between them), like with like: another
    scenario at a sweep point against the base scenario at the same point (the change: that scenario);
    the base scenario at another point against the base variant (the change: the sweep point). A variant
    with no base at its point is left out rather than credited with the sweep's effect."""
    ok = rs.ok_runs
    params = [c for c in ok.columns if c.startswith(PARAM_PREFIX)]
    base = rs.base_scenario
    scenario_of: dict[str, str] = {}
    point_of: dict[str, tuple[Any, ...]] = {}
    for row in ok[["variant", "scenario", *params]].drop_duplicates("variant").itertuples(index=False):
        scenario_of[row[0]] = str(row[1])
        point_of[row[0]] = tuple("" if pd.isna(v) else str(v) for v in row[2:])
    base_at = {point_of[v]: v for v in rs.variants if scenario_of.get(v) == base}
    base_variant = rs.base_variant
    refs: dict[str, tuple[str, str]] = {}
    for v in rs.variants:
        if v == base_variant or v not in scenario_of:
            continue
        if scenario_of[v] != base:
            ref = base_at.get(point_of[v])
            if ref is not None:
                point = v.removeprefix(scenario_of[v]).strip()
                refs[v] = (ref, words(scenario_of[v]) + (f" at {point}" if point else ""))
        else:
            refs[v] = (base_variant, f"Sweep point {v.removeprefix(base).strip()}")
    return refs


def draw_scenario_comparison(rs: ResultsSet) -> tuple[Figure, str]:
    variants = rs.variants
    if len(variants) < 2:
        raise ChartSkipped(f"only one scenario ({variants[0] if variants else 'none'}): nothing to compare")
    if rs.ok_runs.duplicated(["variant", "replication"]).any():  # design points of an uncertainty study
        raise ChartSkipped("runs of one scenario share replication numbers (design points): no paired comparison")
    kpis = _comparison_kpis(rs)
    if not kpis:
        raise ChartSkipped("no KPI is available for every run")
    base = rs.base_variant
    refs = _comparison_references(rs)
    others = [v for v in variants if v != base]
    ordered = [base, *others]
    fig = new_figure(9.5, 1.4 + len(kpis) * (0.9 + 0.42 * len(ordered)))
    axes = fig.subplots(len(kpis), 1, squeeze=False)[:, 0]
    finding = ""
    for ax, (column, label, higher_better) in zip(axes, kpis, strict=True):
        ticks = []
        for j, variant in enumerate(ordered):
            mean, low, high, n = rs.kpi_interval(variant, column)
            y = len(ordered) - 1 - j
            colour = PALETTE[0] if variant == base else "#555555"  # the base in colour, like every chart
            xerr = np.nan_to_num([[max(mean - low, 0)], [max(high - mean, 0)]])
            ax.errorbar([mean], [y], xerr=xerr, fmt="o", color=colour, capsize=4, markersize=7, linewidth=1.5)
            if variant == base:
                ticks.append(f"{variant_words(variant)} (reference, n={n})")
                continue
            if variant not in refs:
                ticks.append(f"{variant_words(variant)} (n={n})\nno base run at this point")
                continue
            ref = refs[variant][0]
            diff, dlo, dhi = paired_difference(rs.kpi_by_replication(ref, column),
                                               rs.kpi_by_replication(variant, column))
            if _in_days(column):
                text = f"Δ {diff:+.1f} [{dlo:+.1f}, {dhi:+.1f}] days".replace("-", "−")
            else:
                text = f"Δ {fmt_signed_approx(diff)} [{fmt_signed_approx(dlo)}, {fmt_signed_approx(dhi)}]"
            versus = "" if ref == base else f" vs {variant_words(ref)}"
            ticks.append(f"{variant_words(variant)} (n={n})\n{text}{versus}")
        ax.set_yticks(range(len(ordered))[::-1], ticks)
        ax.set_ylim(-0.6, len(ordered) - 0.4)
        ax.grid(axis="x", color="#E5E5E5")
        ax.grid(axis="y", visible=False)
        better = "higher is better" if higher_better else "lower is better"
        ax.set_title(f"{label} — {better}", loc="left")
        if not _in_days(column):
            count_axis(ax, "x")
    # The finding: the variant that moves the main KPI most, with its interval of the difference.
    # Each variant is credited with its own change only (see _comparison_references).
    if refs and MAIN_KPI in rs.ok_runs.columns:
        diffs = {v: paired_difference(rs.kpi_by_replication(ref, MAIN_KPI), rs.kpi_by_replication(v, MAIN_KPI))
                 for v, (ref, _) in refs.items()}
        best = max(diffs, key=lambda v: diffs[v][0] if math.isfinite(diffs[v][0]) else -math.inf)
        d, lo, hi = diffs[best]
        ref, change = refs[best]
        ci = f" (95 % CI {fmt_signed_approx(lo)} to {fmt_signed_approx(hi)})" if math.isfinite(lo) else ""
        finding = f"{change} delivers {fmt_signed_approx(d)} masks vs {variant_words(ref).lower()}{ci}"
        if math.isfinite(lo) and lo <= 0 <= hi:
            finding += ": not distinguishable from the base with these replications"
    else:
        finding = f"{len(others)} scenarios compared with {variant_words(base).lower()}"
    headline(
        fig,
        finding,
        "Mean per scenario with 95 % confidence interval; Δ = difference vs the base at the same sweep point "
        "with a 95 % interval of the paired difference (same replications, common random numbers), in the "
        "KPI's unit.",
    )
    return fig, (
        "Key results per scenario with 95 % confidence intervals; Δ is the difference from the base "
        "scenario, with its own interval."
    )


CHARTS: dict[str, Draw] = {
    "scenario_comparison": draw_scenario_comparison,
}


def render(rs: ResultsSet, out_dir: Path) -> list[ChartOutcome]:
    """Draw this family's charts into `out_dir`."""
    return render_family(CHARTS, rs, out_dir)
