"""Material stocks and the starvation they cause."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.report.charts.base import ChartOutcome, ChartSkipped, Draw, fan_over_runs, render_family
from sim.report.formatting import MATERIAL_UNITS, fmt_approx, fmt_date, fmt_pct, stage_name
from sim.report.style import PALETTE, count_axis, date_axis, headline, new_figure, pct_axis
from sim.results.results_set import ResultsSet, missing_columns


def draw_material_stocks(rs: ResultsSet) -> tuple[Figure, str]:
    base = rs.base_variant
    stock = rs.series("stock", base).copy()
    daily = rs.table("daily")
    starve = (
        daily[(daily["variant"] == base) & daily["stage"].isin(["cut", "sew"])].copy()
        if not missing_columns(daily, ("stage", "date", "starved_h", "off_shift_h"))
        else pd.DataFrame()
    )
    if stock.empty and starve.empty:
        raise ChartSkipped("no 'stock' series and no cut/sew starved_h in daily.parquet")
    panels = int(not stock.empty) + int(not starve.empty)
    fig = new_figure(9.5, 2.2 + 2.4 * panels)
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    parts: list[str] = []
    ax_iter = iter(axes)
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    if not stock.empty:
        ax = next(ax_iter)
        stock["material"] = stock["key"].astype(str).str.rsplit(":", n=1).str[-1]
        by_material = stock.groupby(["material", "run_id", "date"], as_index=False)["value"].sum()
        worst: tuple[float, str, pd.Timestamp, float, float] | None = None
        for i, (material, rows) in enumerate(by_material.groupby("material")):
            fan = fan_over_runs(rows)
            unit = MATERIAL_UNITS.get(str(material), "units")
            colour = PALETTE[i % len(PALETTE)]
            ax.fill_between(fan.index, fan["p5"], fan["p95"], color=colour, alpha=0.18, linewidth=0)
            ax.plot(fan.index, fan["p50"], color=colour, linewidth=2, label=f"{material} ({unit})")
            # The scarcest material is the one with the deepest fall from an earlier level (drawdown):
            # a stock that only builds up from a low opening level is not short.
            median = fan["p50"]
            earlier_peak = median.cummax()
            fall = (1 - median / earlier_peak.where(earlier_peak > 0)).fillna(0.0)
            trough = fall.idxmax()
            if worst is None or fall[trough] > worst[0]:
                worst = (
                    float(fall[trough]),
                    str(material),
                    trough,
                    float(median[trough]),
                    float(earlier_peak[trough]),
                )
        ax.set_ylabel("Stock at end of day\n(all sites, own unit)")
        count_axis(ax)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the data, not over it
        first, last = by_material["date"].min(), by_material["date"].max()
        if worst is not None and worst[0] > 0:
            unit = MATERIAL_UNITS.get(worst[1], "units")
            parts.append(
                f"{worst[1].capitalize()} stock fell {fmt_pct(worst[0])} to {fmt_approx(worst[3])} "
                f"{unit} on {fmt_date(worst[2])}"
            )
        elif worst is not None:
            parts.append("No material stock fell during the horizon")
    if not starve.empty:
        ax = next(ax_iter)
        starve["shift_h"] = 24.0 - starve["off_shift_h"]
        per_day = starve.groupby(["stage", "run_id", "date"], as_index=False)[["starved_h", "shift_h"]].sum()
        per_day["value"] = per_day["starved_h"] / per_day["shift_h"].where(per_day["shift_h"] > 0)
        for stage, rows in per_day.groupby("stage"):
            med = rows.dropna(subset=["value"]).groupby("date")["value"].median()
            colour = PALETTE[3] if stage == "sew" else PALETTE[5]
            ax.plot(
                med.index,
                med.to_numpy(),
                marker="o",
                markersize=2.5,
                linewidth=1.4,
                color=colour,
                label=f"{stage_name(str(stage))}",
            )
            totals = rows[["starved_h", "shift_h"]].sum()
            if stage == "sew" or len(per_day["stage"].unique()) == 1:
                parts.append(
                    f"{stage_name(str(stage))} starved {fmt_pct(totals['starved_h'] / totals['shift_h'])} "
                    f"of shift time"
                )
        pct_axis(ax)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("Starved, share of\nshift hours (all sites)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        first = starve["date"].min() if first is None else min(first, starve["date"].min())
        last = starve["date"].max() if last is None else max(last, starve["date"].max())
    assert first is not None and last is not None
    for ax in axes:
        date_axis(ax, first, last)
    axes[-1].set_xlabel(f"Date ({rs.start_date.year})")
    finding = "; ".join(parts)
    headline(
        fig,
        finding,
        f"Material stocks summed over sites (median, band p5–p95) and the share of shift "
        f"time cutting and sewing waited for input (days without shifts left out); scenario {base}.",
    )
    return fig, (
        "Material stocks summed over sites (top) and the share of shift time cutting and sewing waited "
        "for input (bottom)."
    )


CHARTS: dict[str, Draw] = {
    "material_stocks": draw_material_stocks,
}


def render(rs: ResultsSet, out_dir: Path) -> list[ChartOutcome]:
    """Draw this family's charts into `out_dir`."""
    return render_family(CHARTS, rs, out_dir)
