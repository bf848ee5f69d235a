"""Certification: the lab queue, waits and masks held awaiting a verdict."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.report.charts.base import ChartOutcome, ChartSkipped, Draw, fan_over_runs, render_family
from sim.report.formatting import fmt_approx, fmt_date
from sim.report.labels import words
from sim.report.style import GREY, PALETTE, count_axis, date_axis, headline, new_figure
from sim.results.results_set import ResultsSet


def draw_certification_queue(rs: ResultsSet) -> tuple[Figure, str]:
    base = rs.base_variant
    specs = [
        ("lab_queue", "Samples waiting\nat the lab", "samples"),
        ("lab_wait_days", "Wait before the\ntest starts (days)", "days"),
        ("held", "Masks held awaiting\na verdict", "masks"),
    ]

    def own(series: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(the network's own samples, every sender's) of a lab series; the first is empty for old results."""
        rows = rs.series(series, base)
        if rows.empty or series == "held":
            return rows, pd.DataFrame()
        keys = rows["key"].astype(str)
        return (rows[keys == "network"], rows[keys == "all"]) if (keys == "network").any() else (rows, pd.DataFrame())

    present = [(s, label, unit, *own(s)) for s, label, unit in specs]
    present = [p for p in present if not p[3].empty and p[3]["value"].notna().any()]
    if not present:
        raise ChartSkipped("series.parquet has none of 'lab_queue', 'lab_wait_days', 'held'")
    fig = new_figure(9.5, 1.6 + 2.0 * len(present))
    axes = fig.subplots(len(present), 1, sharex=True, squeeze=False)[:, 0]
    parts: list[str] = []
    first = min(p[3]["date"].min() for p in present)
    last = max(p[3]["date"].max() for p in present)
    for i, (ax, (name, label, _unit, rows, national)) in enumerate(zip(axes, present, strict=True)):
        rows = rows.dropna(subset=["value"])
        fan = fan_over_runs(rows)
        colour = PALETTE[i]
        whose = "our audits" if not national.empty else "all samples"
        if not national.empty and national["value"].notna().any():
            context = fan_over_runs(national.dropna(subset=["value"]))
            ax.plot(context.index, context["p50"], color=GREY, linewidth=1.2, linestyle=":",
                    label="national queue (other senders; our audits go first)" if i == 0 else "all senders")
        ax.fill_between(fan.index, fan["p5"], fan["p95"], color=colour, alpha=0.18, linewidth=0)
        if name == "lab_wait_days":  # a daily figure exists only on days tests started: dots, not a line
            ax.plot(fan.index, fan["p50"], color=colour, linestyle="none", marker="o", markersize=3,
                    label=f"{whose}: median of each day's tests")
        else:
            ax.plot(fan.index, fan["p50"], color=colour, linewidth=1.8,
                    label=whose if name != "held" else "masks held")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        count_axis(ax)
        date_axis(ax, first, last)
        if not national.empty:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        peak = fan["p50"].idxmax()
        national_peak = (float(national["value"].max()) if not national.empty and national["value"].notna().any()
                         else math.nan)
        if name == "lab_queue" and fan["p50"].max() < 0.5 and math.isfinite(national_peak):
            parts.append(f"our audits never queue at the lab (they go first; the national queue reaches "
                         f"{fmt_approx(national_peak)} samples)")
        elif name == "lab_queue":
            parts.append(f"{whose} waiting at the lab peaked at {fmt_approx(fan['p50'].max())} samples on "
                         f"{fmt_date(peak)}")
        elif name == "lab_wait_days" and fan["p50"].max() < 0.05 and math.isfinite(national_peak):
            parts.append(f"they wait no time for a test (others up to {national_peak:.0f} days)")
        elif name == "lab_wait_days":
            parts.append(f"{whose} waited up to {fan['p50'].max():.1f} days for a test")
        else:
            parts.append(f"up to {fmt_approx(fan['p50'].max())} masks held ({fmt_date(peak)})")
    axes[-1].set_xlabel(f"Date ({rs.start_date.year})")
    finding = "; ".join(parts)
    finding = finding[0].upper() + finding[1:]
    headline(
        fig,
        finding,
        f"Certification lab at end of day: median over replications of scenario {words(base).lower()}, band p5–p95 "
        + ("(the network's own audits; dotted grey: every sender, for context)"
           if any(not p[4].empty for p in present) else "(every sender: these results do not split the queue)")
        + "; waits are single days on which tests started.",
    )
    return (
        fig,
        "The network's audit samples waiting at the certification lab and their wait before testing (dotted "
        "grey: the national queue, which the network's audits pass when the lab gives them priority), and masks "
        "held back until a verdict.",
    )


CHARTS: dict[str, Draw] = {
    "certification_queue": draw_certification_queue,
}


def render(rs: ResultsSet, out_dir: Path) -> list[ChartOutcome]:
    """Draw this family's charts into `out_dir`."""
    return render_family(CHARTS, rs, out_dir)
