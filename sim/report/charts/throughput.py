"""Masks delivered and made: cumulative deliveries against the targets, daily output by kind of site."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.report.charts.base import ChartOutcome, ChartSkipped, Draw, fan_over_runs, n_runs, render_family
from sim.report.formatting import fmt_approx, fmt_count, fmt_date, fmt_pct
from sim.report.labels import in_sentence, target_label, words
from sim.report.style import GREY, PALETTE, count_axis, date_axis, headline, new_figure
from sim.results.results_set import ResultsSet, median_with_unreached

OVERLAID_SCENARIOS = 3  # beyond this, one small panel per scenario: overlaid fans and lines hide the base


def _targets_on(ax: Axes, rs: ResultsSet, shown: list[tuple[str, dict[str, Any]]], labelled: bool) -> None:
    """Dashed lines at the targets drawn (labelled in words on one panel), diamonds at their dates."""
    for name, target in shown:
        masks = float(target["masks"])
        ax.axhline(masks, color=GREY, linestyle="--", linewidth=1, zorder=1)
        by = rs.target_by(name)
        if labelled:
            label = target_label(name, target) + (f" by {fmt_date(by)}" if by is not None else "")
            ax.text(0.01, masks, label, transform=ax.get_yaxis_transform(), va="bottom", ha="left", fontsize=8,
                    color="#333333")
        if by is not None:
            ax.axvline(by, color=GREY, linestyle=":", linewidth=1, zorder=1)
            ax.plot([by], [masks], marker="D", color="#333333", markersize=5, zorder=5, linestyle="none")


def _observations_on(ax: Axes, rs: ResultsSet) -> float:
    """What was seen (docs/calibration.md), ± 2 sd; the highest point drawn (0 if none)."""
    top = 0.0
    for obs in rs.manifest.get("observations") or []:
        if obs.get("kpi") != "cumulative_delivered":
            continue
        spread = 2.0 * float(obs["obs_sd"])
        ax.errorbar([pd.Timestamp(obs["by"])], [float(obs["observed"])], yerr=[[spread], [spread]], fmt="s",
                    color="#B03A2E", markersize=6, capsize=4, zorder=6, label=f"observed: {obs['name']} (± 2 sd)")
        top = max(top, (float(obs["observed"]) + spread) * 1.05)
    return top


def _finding(rs: ResultsSet, cum: pd.DataFrame, several: bool) -> str:
    base, end = rs.base_variant, rs.end_date
    parts = []
    for name, target in sorted(rs.targets.items(), key=lambda kv: float(kv[1]["masks"])):
        median_day = median_with_unreached(rs.target_reach_days(base, name))
        masks = fmt_count(float(target["masks"]))
        if math.isfinite(median_day):
            parts.append(f"{masks} masks reached on {fmt_date(rs.day_to_date(median_day))} (median)")
        else:
            parts.append(f"{masks} not reached by {fmt_date(end)}")
    if not parts:
        last = float(fan_over_runs(cum[cum["variant"] == base])["p50"].iloc[-1])
        parts.append(f"{fmt_count(last)} masks delivered by {fmt_date(end)} (median)")
    return "; ".join(parts) + (f" [{words(base).lower()}]" if several else "")


def draw_cumulative_delivered(rs: ResultsSet) -> tuple[Figure, str]:
    cum = rs.series("cum_delivered")
    if cum.empty:
        raise ChartSkipped("series.parquet has no 'cum_delivered' series")
    cum = cum[cum["key"].astype(str) == "all"] if (cum["key"].astype(str) == "all").any() else cum
    data_max = float(cum["value"].max())
    variants = [v for v in rs.variants if v in set(cum["variant"].unique())]
    base_variant = rs.base_variant
    fans = {v: fan_over_runs(cum[cum["variant"] == v]) for v in variants}
    # Targets far above the curves would flatten them into the x axis; such targets are named in a note
    # instead of drawn, and the title still says whether they were reached.
    shown, off_scale = [], []
    for name, target in sorted(rs.targets.items(), key=lambda kv: float(kv[1]["masks"])):
        (shown if float(target["masks"]) <= 1.6 * data_max else off_scale).append((name, target))
    top = max([data_max] + [float(t["masks"]) for _n, t in shown]) * 1.1
    small_multiples = len(variants) > OVERLAID_SCENARIOS
    if small_multiples:
        columns = 4 if len(variants) > 6 else 3
        rows = math.ceil(len(variants) / columns)
        fig = new_figure(10.5, 1.2 + 2.3 * rows)
        axes = list(fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).flat)
        for ax in axes[len(variants):]:
            ax.set_visible(False)
    else:
        fig = new_figure(9.5, 5.2)
        axes = [fig.add_subplot()]
    for i, variant in enumerate(variants):
        fan, is_base = fans[variant], variant == base_variant or len(variants) == 1
        ax = axes[i] if small_multiples else axes[0]
        colour = PALETTE[0] if small_multiples else PALETTE[i % len(PALETTE)]
        n = n_runs(cum[cum["variant"] == variant])
        if small_multiples:
            if not is_base:  # the base's median in grey on every other panel, as the reference
                base_fan = fans[base_variant]
                ax.plot(base_fan.index, base_fan["p50"], color=GREY, linewidth=1.2, zorder=3)
            ax.fill_between(fan.index, fan["p5"], fan["p95"], color=colour, alpha=0.2, linewidth=0)
            ax.plot(fan.index, fan["p50"], color=colour, linewidth=2, zorder=4)
            # wrapped: a pair of shocks' name is wider than its panel
            ax.set_title(textwrap.fill(f"{words(variant)} ({n} runs)", 36), loc="left", fontsize=9,
                         fontweight="bold" if is_base else "normal")
        else:
            # One band only (the base's): overlapping bands of several scenarios hide the base line.
            if is_base:
                ax.fill_between(fan.index, fan["p5"], fan["p95"], color=colour, alpha=0.18, linewidth=0)
            ax.plot(fan.index, fan["p50"], color=colour, linewidth=2.4 if is_base else 1.3, zorder=4 if is_base
                    else 3, label=f"{words(variant)}: median" + (f" (band p5–p95, {n} runs)" if is_base else ""))
    for i, ax in enumerate(axes[:len(variants)]):
        _targets_on(ax, rs, shown, labelled=i == 0 and not small_multiples)
        top = max(top, _observations_on(ax, rs))
    for ax in axes[:len(variants)]:
        ax.set_ylim(0, top)
        date_axis(ax, cum["date"].min(), rs.end_date)
        count_axis(ax)
    def listed(targets: list[tuple[str, dict[str, Any]]]) -> str:
        return "; ".join(target_label(n, t) + (f" by {fmt_date(rs.target_by(n))}" if t.get("by") else "")
                         for n, t in targets)

    note = f"Off scale: {listed(off_scale)}." if off_scale else ""
    if off_scale and not small_multiples:  # small panels have no room: the note goes below the chart
        axes[0].text(0.01, 0.97, note, transform=axes[0].transAxes, va="top", ha="left", fontsize=8,
                     color="#333333")
    if small_multiples:
        fig.supylabel("Masks delivered, cumulative", fontsize=9.5)
        fig.supxlabel(f"Date ({rs.start_date.year})", fontsize=9.5)
        for i, ax in enumerate(axes[:len(variants)]):
            # dates under every panel with no panel below it (shared axes hide them on the inner ones)
            ax.tick_params(axis="x", labelsize=7.5, labelbottom=i + columns >= len(variants))
    else:
        ax = axes[0]
        ax.set_ylabel("Masks delivered, cumulative")
        ax.set_xlabel(f"Date ({rs.start_date.year})")
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.90) if off_scale else (0.0, 1.0))
    drawn = ("one panel per scenario: median over replications and band 5th–95th percentile, the base's median "
             "in grey on the others" if small_multiples else
             "lines: median over replications, band: 5th–95th percentile of the base")
    targets = f"dashed: {listed(shown)}" if small_multiples and shown else "dashed: targets"
    headline(fig, _finding(rs, cum, len(variants) > 1),
             f"Cumulative masks delivered to all channels; {drawn}; {targets}; diamonds: target dates."
             + (f" {note}" if small_multiples else ""))
    caption = ("Cumulative masks delivered per scenario (" + drawn + "); dashed lines mark the targets and "
               "diamonds their dates.")
    return fig, caption


def median_sewn_by_kind(rs: ResultsSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The base scenario's `sewn_by_kind` rows and their median over runs per day (a column per kind, every day of
    the period, the kinds by output, largest first; kinds that sew nothing, such as hubs, left out): the static
    and the interactive chart draw the same numbers."""
    rows = rs.series("sewn_by_kind", rs.base_variant)
    if rows.empty:
        raise ChartSkipped("series.parquet has no 'sewn_by_kind' series for the base scenario")
    # Kinds as text: read as categories, they would come out in the file's order, not the alphabetical one.
    kind = rows["key"].astype(str)
    median = rows.groupby(["date", kind])["value"].median().unstack("key").fillna(0.0).sort_index()
    full = pd.date_range(median.index.min(), median.index.max(), freq="D")
    median = median.reindex(full, fill_value=0.0)
    totals = median.sum().sort_values(ascending=False)
    totals = totals[totals > 0] if (totals > 0).any() else totals
    return rows, median[list(totals.index)]


def draw_daily_output_by_kind(rs: ResultsSet, rolling_days: int = 7) -> tuple[Figure, str]:
    base = rs.base_variant
    rows, median = median_sewn_by_kind(rs)
    kinds = list(median.columns)  # largest kind at the bottom of the stack, where it is easiest to read
    totals = median.sum()
    smooth = median.rolling(rolling_days, min_periods=1).mean() if rolling_days > 1 else median
    fig = new_figure(9.5, 5.0)
    ax = fig.add_subplot()
    ax.stackplot(
        smooth.index,
        [smooth[k].to_numpy() for k in kinds],
        labels=[words(str(k)) for k in kinds],
        colors=[PALETTE[i % len(PALETTE)] for i in range(len(kinds))],
        alpha=0.9,
        linewidth=0,
    )
    if rolling_days > 1:
        # The raw daily totals as dots on days with output: a line through weekend zeros would draw a
        # comb that hides the trend the smoothed areas show.
        daily_total = median.sum(axis=1)
        worked = daily_total[daily_total > 0]
        ax.plot(
            worked.index,
            worked.to_numpy(),
            linestyle="none",
            marker="o",
            markersize=3,
            color="#444444",
            label="all kinds, single days with output",
        )
    date_axis(ax, median.index.min(), median.index.max())
    count_axis(ax)
    ax.set_ylim(bottom=0)
    unit = (f"per day (areas: {rolling_days}-day mean; dots: single days)" if rolling_days > 1 else "per day")
    ax.set_ylabel(f"Masks sewn {unit}")
    ax.set_xlabel(f"Date ({rs.start_date.year})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the plot, never over the data
    total = smooth.sum(axis=1)
    peak_day = total.idxmax()
    share = totals.iloc[0] / totals.sum() if totals.sum() > 0 else math.nan
    smoothing = f" ({rolling_days}-day mean)" if rolling_days > 1 else ""
    finding = (
        f"Output peaked at {fmt_approx(total.max())} masks/day{smoothing} on {fmt_date(peak_day)}; "
        f"{in_sentence(str(kinds[0]))} sites sewed {fmt_pct(share)} of all masks"
    )
    headline(
        fig,
        finding,
        f"Masks sewn per day by site kind, median over {n_runs(rows)} replications of "
        f"scenario {words(base).lower()}; stacked areas add up to the network's output.",
    )
    return fig, (
        f"Masks sewn per day by kind of site ({unit}, median over replications of scenario {base})"
        + ("; dots are single days." if rolling_days > 1 else ".")
    )


CHARTS: dict[str, Draw] = {
    "cumulative_delivered": draw_cumulative_delivered,
    "daily_output_by_kind": draw_daily_output_by_kind,
}


def render(rs: ResultsSet, out_dir: Path) -> list[ChartOutcome]:
    """Draw this family's charts into `out_dir`."""
    return render_family(CHARTS, rs, out_dir)
