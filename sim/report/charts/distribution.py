"""Distribution: fill rate per channel and masks given free."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim.report.charts.base import ChartOutcome, ChartSkipped, Draw, render_family
from sim.report.formatting import fmt_approx, fmt_pct
from sim.report.style import PALETTE, count_axis, headline, new_figure, pct_axis
from sim.results.results_set import ResultsSet
from sim.tables import FILL_RATE, kpi_key, kpi_name, kpis_of


def draw_fill_rate_by_channel(rs: ResultsSet) -> tuple[Figure, str]:
    runs = rs.table("runs")
    if runs is None:
        raise ChartSkipped("runs.parquet is missing")
    channels = [kpi_key(FILL_RATE, c) for c in kpis_of(FILL_RATE, runs.columns)]
    if not channels:
        raise ChartSkipped("runs.parquet has no fill_rate.<channel> columns")
    variants = rs.variants
    free = "masks_free" in runs.columns and rs.ok_runs["masks_free"].notna().any()
    fig = new_figure(9.5, 4.8)
    if free:
        ax, ax_free = fig.subplots(1, 2, width_ratios=[3, 1])
    else:
        ax, ax_free = fig.subplots(1, 1), None
    width = 0.8 / len(variants)
    x = np.arange(len(channels))
    for i, variant in enumerate(variants):
        stats = [rs.kpi_interval(variant, kpi_name(FILL_RATE, ch)) for ch in channels]
        means = np.array([s[0] for s in stats])
        lows = np.array([s[1] for s in stats])
        highs = np.array([s[2] for s in stats])
        err = np.vstack([np.clip(means - lows, 0, None), np.clip(highs - means, 0, None)])
        err = np.nan_to_num(err)
        ax.bar(
            x + (i - (len(variants) - 1) / 2) * width,
            means,
            width * 0.92,
            yerr=err,
            capsize=3,
            color=PALETTE[i % len(PALETTE)],
            label=f"{variant} (n={stats[0][3]})",
            error_kw={"elinewidth": 1, "ecolor": "#333333"},
        )
        tops = np.where(np.isfinite(highs), np.maximum(highs, means), means)
        for xi, mean, top in zip(x + (i - (len(variants) - 1) / 2) * width, means, tops, strict=True):
            if math.isfinite(mean):  # a 0 % bar has no height: a flat mark (and a label when few bars) shows it
                if len(variants) <= 3:
                    ax.text(xi, top + 0.015, fmt_pct(mean), ha="center", va="bottom", fontsize=7.5, color="#333333")
                if mean < 0.005:
                    ax.plot([xi - width * 0.46, xi + width * 0.46], [0, 0], color=PALETTE[i % len(PALETTE)],
                            linewidth=3, solid_capstyle="butt", clip_on=False)
    from sim.report.labels import words

    ax.set_xticks(x, [words(ch) for ch in channels])
    pct_axis(ax)
    ax.set_ylim(0, 1.18)
    ax.set_ylabel("Fill rate (share of demand delivered)")
    ax.set_xlabel("Channel")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    base = rs.base_variant
    base_stats = {ch: rs.kpi_interval(base, kpi_name(FILL_RATE, ch)) for ch in channels}
    worst = min(channels, key=lambda ch: base_stats[ch][0] if math.isfinite(base_stats[ch][0]) else math.inf)
    m, lo, hi, _n = base_stats[worst]
    ci = f", 95 % CI {fmt_pct(lo)}–{fmt_pct(hi)}" if math.isfinite(lo) else ""
    finding = f"Lowest fill rate: {worst} at {fmt_pct(m)} ({base}{ci})"
    if ax_free is not None:
        for i, variant in enumerate(variants):
            mean, low, high, _n = rs.kpi_interval(variant, "masks_free")
            err = np.nan_to_num([[max(mean - low, 0)], [max(high - mean, 0)]])
            ax_free.bar(
                [i],
                [mean],
                0.7,
                yerr=err,
                capsize=3,
                color=PALETTE[i % len(PALETTE)],
                error_kw={"elinewidth": 1, "ecolor": "#333333"},
            )
        ax_free.set_xticks(
            range(len(variants)),
            variants,
            rotation=20 if len(variants) > 2 else 0,
            ha="right" if len(variants) > 2 else "center",
        )
        ax_free.set_ylabel("Masks given free (price 0)")
        ax_free.set_title("Free masks", loc="left")
        count_axis(ax_free)
        finding += f"; {fmt_approx(rs.kpi_interval(base, 'masks_free')[0])} masks given free (mean, {base})"
    headline(
        fig,
        finding,
        "Mean over replications with 95 % confidence intervals (error bars); fill rate = "
        "masks delivered / masks demanded per channel by the horizon.",
    )
    return fig, (
        "Share of each channel's demand delivered by the horizon, with 95 % confidence intervals, and the "
        "masks given free."
    )


CHARTS: dict[str, Draw] = {
    "fill_rate_by_channel": draw_fill_rate_by_channel,
}


def render(rs: ResultsSet, out_dir: Path) -> list[ChartOutcome]:
    """Draw this family's charts into `out_dir`."""
    return render_family(CHARTS, rs, out_dir)
