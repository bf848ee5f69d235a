"""Material stocks and the starvation they cause."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.report.charts.base import ChartOutcome, ChartSkipped, Draw, fan_over_runs, map_unique, render_family
from sim.report.formatting import MATERIAL_UNITS, fmt_approx, fmt_date, fmt_pct, stage_name
from sim.report.labels import words
from sim.report.style import PALETTE, count_axis, date_axis, headline, new_figure, pct_axis
from sim.results.results_set import ResultsSet, missing_columns


def _starved_per_day(rs: ResultsSet, base: str) -> pd.DataFrame:
    """Per cutting or sewing stage, run and date: hours starved and hours on shift of all sites, summed while
    daily.parquet is read (no frame of its rows); empty without those rows or columns."""
    daily = rs.rows("daily", base)
    if daily is None or missing_columns(daily, ("stage", "date", "starved_h", "off_shift_h")):
        return pd.DataFrame()
    rows = daily.where_in("stage", ("cut", "sew"))
    if not len(rows):
        return pd.DataFrame()
    return rows.sums(("stage", "run_id", "date"), {"starved_h": rows.number("starved_h"),
                                                   "shift_h": 24.0 - rows.number("off_shift_h")})


def draw_material_stocks(rs: ResultsSet) -> tuple[Figure, str]:
    base = rs.base_variant
    stock = rs.series("stock", base).copy()
    per_day = _starved_per_day(rs, base)
    if stock.empty and per_day.empty:
        raise ChartSkipped("no 'stock' series and no cut/sew starved_h in daily.parquet")
    if not stock.empty:
        stock["material"] = map_unique(stock["key"], lambda key: str(key).rsplit(":", 1)[-1])
        stock["unit"] = map_unique(stock["material"], lambda m: MATERIAL_UNITS.get(str(m), "pieces"))
    # One panel per unit (m² of fabric, m of elastic, pieces): a shared axis would compare metres with
    # square metres.
    units = list(stock["unit"].unique()) if not stock.empty else []  # in order of appearance
    panels = len(units) + int(not per_day.empty)
    fig = new_figure(9.5, 1.6 + 1.9 * panels)
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    parts: list[str] = []
    ax_iter = iter(axes)
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    if not stock.empty:
        by_material = stock.groupby(["unit", "material", "run_id", "date"], as_index=False)["value"].sum()
        worst: tuple[float, str, pd.Timestamp, float, float] | None = None
        colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(set(by_material["material"].unique())))}
        for unit in units:
            ax = next(ax_iter)
            for material, rows in by_material[by_material["unit"] == unit].groupby("material"):
                fan = fan_over_runs(rows)
                colour = colours[material]
                ax.fill_between(fan.index, fan["p5"], fan["p95"], color=colour, alpha=0.18, linewidth=0)
                ax.plot(fan.index, fan["p50"], color=colour, linewidth=2, label=words(str(material)))
                # The scarcest material is the one with the deepest fall from an earlier level (drawdown):
                # a stock that only builds up from a low opening level is not short.
                median = fan["p50"]
                earlier_peak = median.cummax()
                fall = (1 - median / earlier_peak.where(earlier_peak > 0)).fillna(0.0)
                trough = fall.idxmax()
                if worst is None or fall[trough] > worst[0]:
                    worst = (float(fall[trough]), str(material), trough, float(median[trough]),
                             float(earlier_peak[trough]))
            ax.set_ylabel(f"Stock, {unit}\n(all sites, end of day)")
            count_axis(ax)
            ax.set_ylim(bottom=0)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the data, not over it
        first, last = by_material["date"].min(), by_material["date"].max()
        if worst is not None and worst[0] > 0:
            unit = MATERIAL_UNITS.get(worst[1], "pieces")
            parts.append(
                f"{words(worst[1])} stock fell {fmt_pct(worst[0])} to {fmt_approx(worst[3])} "
                f"{unit} on {fmt_date(worst[2])}"
            )
        elif worst is not None:
            parts.append("No material stock fell during the horizon")
    if not per_day.empty:
        ax = next(ax_iter)
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
        first = per_day["date"].min() if first is None else min(first, per_day["date"].min())
        last = per_day["date"].max() if last is None else max(last, per_day["date"].max())
    assert first is not None and last is not None
    for ax in axes:
        date_axis(ax, first, last)
    axes[-1].set_xlabel(f"Date ({rs.start_date.year})")
    finding = "; ".join(parts)
    headline(
        fig,
        finding,
        f"Material stocks summed over sites (median, band p5–p95) and the share of shift "
        f"time cutting and sewing waited for input (days without shifts left out); scenario {words(base).lower()}.",
    )
    return fig, (
        "Material stocks summed over sites, one panel per unit (top), and the share of shift time cutting and "
        "sewing waited for input (bottom)."
    )


CHARTS: dict[str, Draw] = {
    "material_stocks": draw_material_stocks,
}


def render(rs: ResultsSet, out_dir: Path) -> list[ChartOutcome]:
    """Draw this family's charts into `out_dir`."""
    return render_family(CHARTS, rs, out_dir)
