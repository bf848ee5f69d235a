"""Distribution: fill rate per channel and masks given free."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.report.charts.base import ChartOutcome, ChartSkipped, Draw, render_family
from sim.report.formatting import fmt_approx, fmt_pct
from sim.report.labels import words
from sim.report.style import GREY, PALETTE, count_axis, headline, new_figure, pct_axis
from sim.results.results_set import ResultsSet
from sim.results.tables import FILL_RATE, kpi_key, kpi_name, kpis_of

if TYPE_CHECKING:
    import pandas as pd


def _bars(ax: Axes, stats: list[tuple[float, float, float, int]], pct: bool) -> None:
    """Horizontal bars, one per scenario (top to bottom), with 95 % error bars and the value written beside."""
    means = np.array([s[0] for s in stats], dtype=float)
    lows, highs = np.array([s[1] for s in stats], dtype=float), np.array([s[2] for s in stats], dtype=float)
    err = np.nan_to_num(np.vstack([np.clip(means - lows, 0, None), np.clip(highs - means, 0, None)]))
    y = np.arange(len(stats))
    colours = [PALETTE[0] if i == 0 else GREY for i in y]  # the base in colour, the others grey
    ax.barh(y, np.nan_to_num(means), 0.7, xerr=err, capsize=2.5, color=colours,
            error_kw={"elinewidth": 1, "ecolor": "#333333"})
    tops = np.where(np.isfinite(highs), np.maximum(highs, means), means)
    right = float(np.nanmax(tops)) if np.isfinite(tops).any() and np.nanmax(tops) > 0 else 1.0  # all 0: a unit axis
    for yi, mean, high in zip(y, means, highs, strict=True):
        if not math.isfinite(mean):
            continue
        if mean < 0.005 * (1 if pct else max(right, 1)):  # a 0 bar has no length: a mark on the axis shows it
            ax.plot([0, 0], [yi - 0.35, yi + 0.35], color="#333333", linewidth=3, solid_capstyle="butt", clip_on=False)
        end = high if math.isfinite(high) else mean
        ax.text(max(end, mean) + 0.02 * (1 if pct else right), yi, fmt_pct(mean) if pct else fmt_approx(mean),
                va="center", ha="left", fontsize=7.5, color="#333333")
    ax.set_xlim(0, 1.22 if pct else right * 1.3)
    if pct:  # no tick past 100 %: the room on the right is for the values, not for impossible shares
        ax.set_xticks([0, 0.5, 1.0])
    ax.set_axisbelow(True)
    ax.grid(axis="x", color="#E5E5E5")
    ax.grid(axis="y", visible=False)


def fill_rate_channels(rs: ResultsSet) -> tuple[pd.DataFrame, list[str]]:
    """The runs table and the channels it has a fill rate for (the static and the interactive chart's data)."""
    runs = rs.table("runs")
    if runs is None:
        raise ChartSkipped("runs.parquet is missing")
    channels = [kpi_key(FILL_RATE, c) for c in kpis_of(FILL_RATE, runs.columns)]
    if not channels:
        raise ChartSkipped("runs.parquet has no fill_rate.<channel> columns")
    return runs, channels


def draw_fill_rate_by_channel(rs: ResultsSet) -> tuple[Figure, str]:
    runs, channels = fill_rate_channels(rs)
    variants = rs.variants
    free = "masks_free" in runs.columns and rs.ok_runs["masks_free"].notna().any()
    # Small multiples: a panel per channel (and one for the free masks), the scenarios as rows. Any number of
    # scenarios stays readable, and the labels (in words) sit horizontally on the shared axis.
    panels = len(channels) + int(free)
    fig = new_figure(min(11.0, 2.2 + 2.6 * panels), 1.6 + 0.32 * len(variants) + 0.6)
    axes = fig.subplots(1, panels, sharey=True, squeeze=False)[0]
    for ax, channel in zip(axes, channels, strict=False):
        _bars(ax, [rs.kpi_interval(v, kpi_name(FILL_RATE, channel)) for v in variants], pct=True)
        pct_axis(ax, "x")
        ax.set_title(words(channel), loc="left")
        ax.set_xlabel("Fill rate")
    axes[0].set_yticks(range(len(variants)), [words(v) for v in variants])
    axes[0].invert_yaxis()  # the base on top
    n = rs.kpi_interval(rs.base_variant, kpi_name(FILL_RATE, channels[0]))[3]
    base = rs.base_variant
    base_stats = {ch: rs.kpi_interval(base, kpi_name(FILL_RATE, ch)) for ch in channels}
    worst = min(channels, key=lambda ch: base_stats[ch][0] if math.isfinite(base_stats[ch][0]) else math.inf)
    m, lo, hi, _n = base_stats[worst]
    ci = f", 95 % CI {fmt_pct(lo)}–{fmt_pct(hi)}" if math.isfinite(lo) else ""
    finding = f"Lowest fill rate: {words(worst).lower()} at {fmt_pct(m)} ({words(base).lower()}{ci})"
    if free:
        ax_free = axes[-1]
        _bars(ax_free, [rs.kpi_interval(v, "masks_free") for v in variants], pct=False)
        count_axis(ax_free, "x")
        ax_free.set_title("Masks given free", loc="left")
        ax_free.set_xlabel("Masks (price 0)")
        finding += f"; {fmt_approx(rs.kpi_interval(base, 'masks_free')[0])} masks given free (mean)"
    headline(
        fig,
        finding,
        f"Mean over replications ({n} in the base) with 95 % confidence intervals; fill rate = masks delivered / "
        "masks demanded per channel by the horizon; the base in colour.",
    )
    return fig, (
        "Share of each channel's demand delivered by the horizon, with 95 % confidence intervals, and the "
        "masks given free; one panel per channel, one row per scenario."
    )


CHARTS: dict[str, Draw] = {
    "fill_rate_by_channel": draw_fill_rate_by_channel,
}


def render(rs: ResultsSet, out_dir: Path) -> list[ChartOutcome]:
    """Draw this family's charts into `out_dir`."""
    return render_family(CHARTS, rs, out_dir)
