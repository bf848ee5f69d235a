"""The report's interactive charts: the same numbers as the static charts (sim.report.charts), drawn with plotly so
that a reader can read the value under the cursor, switch scenarios and levers on and off from the legend, zoom
(drag) and reset (double-click).

Every figure is built from aggregated series only (per date or week: medians and percentiles over runs, means with
their intervals), never from per-run rows: 7 scenarios × 30 replications make a page of a few hundred kilobytes of
data besides plotly.js (measured: benchmarks/bench_report.py). plotly.js is inlined once in the page (`plotly_js`,
its cartesian bundle: no geo or map trace, which would fetch map data from a CDN); the figures are plain JSON that
one script draws as they come near the screen (templates/interactive.js).

Hover texts say things in words: dates as "Wednesday 15 April 2020", masks with thousands separators, intervals
with what they are. Where a figure has a point a day, the words come from the numbers by plotly's hover templates
(d3 formats), so that the file carries no sentence a point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.report.charts.base import ChartSkipped, fan_over_runs, n_runs
from sim.report.charts.distribution import fill_rate_channels
from sim.report.charts.throughput import median_sewn_by_kind
from sim.report.formatting import fmt_count, fmt_pct, stage_name
from sim.report.labels import target_label, words
from sim.report.style import PALETTE
from sim.results.results_set import ResultsSet, TableMissing
from sim.results.tables import FILL_RATE, kpi_name

# plotly.js's cartesian bundle (scatter, bar, heatmap: every trace these figures use), a third of the full one
VENDORED_PLOTLY = Path(__file__).parent / "vendor" / "plotly-cartesian.min.js"
VENDORED_PLOTLY_VERSION = "4.1.1"
CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False,
          "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
BAND_OPACITY = 0.16


@dataclass(frozen=True)
class Interactive:
    """One interactive figure: its id on the page, title, caption and the plotly figure as plain data."""

    name: str
    title: str
    caption: str
    figure: dict[str, Any]


def day_words(day: pd.Timestamp) -> str:
    """'Wednesday 15 April 2020'."""
    day = pd.Timestamp(day)
    return f"{day.strftime('%A')} {day.day} {day.strftime('%B')} {day.year}"


def _rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def base_layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "margin": {"l": 70, "r": 20, "t": 60, "b": 50}, "height": 440,
        "hovermode": "closest", "hoverlabel": {"align": "left"},
        "legend": {"orientation": "h", "y": -0.18, "itemclick": "toggle", "itemdoubleclick": "toggleothers"},
        "separators": ".,",  # 1,234,567 on the axes as in the text
        "plot_bgcolor": "white", "paper_bgcolor": "white",
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
    }
    layout.update(extra)
    return layout


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title, "standoff": 8}, "gridcolor": "#E5E5E5", "zeroline": False, "showline": True,
            "linecolor": "#999999", "automargin": True, **extra}


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _dates(index: pd.Index) -> list[str]:
    return [pd.Timestamp(d).strftime("%Y-%m-%d") for d in index]


DATE_WORDS = "%{x|%A %-d %B %Y}"  # 'Wednesday 15 April 2020' in a hover template (d3 time format)


def _rounded(values: Any, digits: int = 1) -> list[float]:
    """Numbers for the page: a tenth of a mask is plenty, and 17 digits a number would weigh the file down."""
    return [round(float(v), digits) for v in values]


def _fan_traces(fan: pd.DataFrame, colour: str, name: str, group: str, width: float, what: str
                ) -> list[dict[str, Any]]:
    """A median line over a 5th-95th percentile band, one legend entry for both; the hover states the day in
    words, the median and the band (from the numbers, by the hover template: no text per point in the file)."""
    x = _dates(fan.index)
    band = {"type": "scatter", "x": x + x[::-1], "y": _rounded(fan["p95"]) + _rounded(fan["p5"])[::-1],
            "fill": "toself", "fillcolor": _rgba(colour, BAND_OPACITY), "line": {"width": 0}, "hoverinfo": "skip",
            "legendgroup": group, "showlegend": False, "name": f"{name} p5–p95"}
    median = {"type": "scatter", "mode": "lines", "x": x, "y": _rounded(fan["p50"]), "name": name,
              "legendgroup": group, "line": {"color": colour, "width": width},
              "customdata": [[lo, hi] for lo, hi in zip(_rounded(fan["p5"]), _rounded(fan["p95"]), strict=True)],
              "hovertemplate": f"<b>{name}</b><br>{DATE_WORDS}<br>%{{y:,.0f}} {what}<br>90 % of runs between "
                               "%{customdata[0]:,.0f} and %{customdata[1]:,.0f}<extra></extra>"}
    return [band, median]


# ------------------------------------------------------------------------------------------------ figures
def cumulative_delivered(rs: ResultsSet) -> Interactive:
    cum = rs.series("cum_delivered")
    if cum.empty:
        raise ChartSkipped("series.parquet has no 'cum_delivered' series")
    keys = cum["key"].astype(str)
    cum = cum[keys == "all"] if (keys == "all").any() else cum
    traces: list[dict[str, Any]] = []
    base = rs.base_variant
    present = set(cum["variant"].unique())
    for i, variant in enumerate(v for v in rs.variants if v in present):
        rows = cum[cum["variant"] == variant]
        fan, n = fan_over_runs(rows), n_runs(rows)
        group = f"v{i}"
        traces += _fan_traces(fan, _colour(i), words(variant), group, 3 if variant == base else 1.8,
                              f"masks delivered (median of {n} runs)")
    for name, target in sorted(rs.targets.items(), key=lambda kv: float(kv[1]["masks"])):
        masks = float(target["masks"])
        if masks > 1.6 * float(cum["value"].max()):
            continue  # far above the curves: it would flatten them (the first screen states it)
        by = rs.target_by(name)
        label = target_label(name, target)
        first, last = cum["date"].min(), cum["date"].max()
        text = f"<b>Target: {label}</b><br>{fmt_count(masks)} masks" + (f" by {day_words(by)}" if by is not None
                                                                          else "")
        traces.append({"type": "scatter", "mode": "lines", "x": _dates(pd.Index([first, last])), "y": [masks, masks],
                       "name": f"target: {label}", "line": {"color": "#777777", "dash": "dash", "width": 1},
                       "text": [text, text], "hovertemplate": "%{text}<extra></extra>", "legendgroup": f"t-{name}"})
        if by is not None:
            traces.append({"type": "scatter", "mode": "markers", "x": _dates(pd.Index([by])), "y": [masks],
                           "marker": {"symbol": "diamond", "size": 10, "color": "#333333"}, "showlegend": False,
                           "legendgroup": f"t-{name}", "text": [text], "hovertemplate": "%{text}<extra></extra>"})
    layout = base_layout("Cumulative masks delivered: median and band of 90 % of runs, per scenario",
                     xaxis=_axis(f"Date ({rs.start_date.year})", type="date", tickformat="%-d %b"),
                     yaxis=_axis("Masks delivered, cumulative", rangemode="tozero", tickformat=",d"))
    return Interactive("cumulative_delivered", layout["title"]["text"],
                       "Lines: median over replications; bands: 5th–95th percentile; dashed: targets, diamonds: their "
                       "dates. Click a scenario in the legend to hide or show it, double-click to see it alone.",
                       {"data": traces, "layout": layout})


def daily_output_by_kind(rs: ResultsSet) -> Interactive:
    base = rs.base_variant
    rows, median = median_sewn_by_kind(rs)
    kinds = [str(k) for k in median.columns]
    n = n_runs(rows)
    traces = []
    for i, k in enumerate(kinds):
        traces.append({"type": "scatter", "mode": "lines", "stackgroup": "kinds", "x": _dates(median.index),
                       "y": _rounded(median[k]), "name": words(k), "line": {"width": 0.5, "color": _colour(i)},
                       "hovertemplate": f"<b>{words(k)}</b> sites<br>{DATE_WORDS}<br>%{{y:,.0f}} masks sewn (median of "
                                        f"{n} runs)<extra></extra>"})
    layout = base_layout(f"Masks sewn per day by kind of site ({words(base).lower()})",
                     xaxis=_axis(f"Date ({rs.start_date.year})", type="date", tickformat="%-d %b"),
                     yaxis=_axis("Masks sewn per day", rangemode="tozero", tickformat=",d"))
    return Interactive("daily_output_by_kind", layout["title"]["text"],
                       f"Median over {n} replications of each day's output per kind of site, stacked: the top edge is "
                       "the network's output. Click a kind in the legend to take it out of the stack.",
                       {"data": traces, "layout": layout})


def bottleneck_timeline(rs: ResultsSet) -> Interactive:
    matrix = rs.weekly_bottlenecks()
    if matrix.empty:
        raise ChartSkipped("bottlenecks.parquet has no network-level rows for the base scenario")
    runs = len(rs.network_shares(rs.base_variant).index.get_level_values("run_id").unique())
    stages = list(matrix.columns)
    weeks = list(matrix.index)
    text = [[f"Week of {day_words(w)}<br><b>{stage_name(s)}</b> held the network back {fmt_pct(matrix.loc[w, s])} "
             f"of the week<br>(mean of {runs} runs)" for w in weeks] for s in stages]
    trace = {"type": "heatmap", "x": _dates(pd.Index(weeks)), "y": [stage_name(s) for s in stages],
             "z": matrix.to_numpy().T.round(4).tolist(), "zmin": 0, "zmax": 1,
             "colorscale": "Blues", "reversescale": True,  # plotly's Blues runs from dark to light
             "colorbar": {"title": {"text": "share of<br>the week"}, "tickformat": ".0%"},
             "text": text, "hovertemplate": "%{text}<extra></extra>", "xgap": 2, "ygap": 2}
    layout = base_layout(f"Which stage held the network back, week by week ({words(rs.base_variant).lower()})",
                         xaxis=_axis("Week starting", type="date", tickformat="%-d %b"),
                     yaxis=_axis("", autorange="reversed"))
    return Interactive("bottleneck_timeline", layout["title"]["text"],
                       "Share of each week during which each stage was the network's bottleneck (active-period "
                       "method), mean over replications; the darkest cell of a column is that week's bottleneck.",
                       {"data": [trace], "layout": layout})


def _interval_text(mean: float, low: float, high: float, fmt: Callable[[float], str]) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return fmt(mean)
    return f"{fmt(mean)} (95 % CI {fmt(low)} to {fmt(high)})"


def fill_rates(rs: ResultsSet) -> Interactive:
    _, channels = fill_rate_channels(rs)
    traces = []
    for i, variant in enumerate(rs.variants):
        stats = [rs.kpi_interval(variant, kpi_name(FILL_RATE, c)) for c in channels]
        means = [s[0] for s in stats]
        text = [f"<b>{words(c)}</b>, {words(variant).lower()}<br>fill rate {_interval_text(*s[:3], fmt_pct)}"
                f"<br>{s[3]} runs" for c, s in zip(channels, stats, strict=True)]
        traces.append({"type": "bar", "x": [words(c) for c in channels], "y": means, "name": words(variant),
                       "marker": {"color": _colour(i)}, "text": text, "textposition": "none",
                       "hovertemplate": "%{text}<extra></extra>",
                       "error_y": {"type": "data", "symmetric": False, "color": "#333333",
                                   "array": [max(s[2] - s[0], 0) if math.isfinite(s[2]) else 0 for s in stats],
                                   "arrayminus": [max(s[0] - s[1], 0) if math.isfinite(s[1]) else 0 for s in stats]}})
    layout = base_layout("Share of each channel's demand delivered by the horizon",
                     barmode="group", xaxis=_axis("Channel"),
                     yaxis=_axis("Fill rate", tickformat=".0%", range=[0, 1.05]))
    return Interactive("fill_rates", layout["title"]["text"],
                       "Mean over replications with its 95 % confidence interval, one bar per scenario; click a "
                       "scenario in the legend to hide or show it.", {"data": traces, "layout": layout})


def lab_queue(rs: ResultsSet) -> Interactive:
    rows = rs.series("lab_queue")
    if rows.empty or not rows["value"].notna().any():
        raise ChartSkipped("series.parquet has no 'lab_queue' series")
    keys = rows["key"].astype(str)
    own = (keys == "network").any()
    national = rows[(keys == "all") & (rows["variant"] == rs.base_variant)].dropna(subset=["value"]) if own else None
    rows = rows[keys == "network"] if own else rows
    whose = "the network's own samples" if own else "all samples"
    traces = []
    if national is not None and len(national):  # context: the queue of every sender, which our audits may pass
        fan = fan_over_runs(national)
        traces.append({"type": "scatter", "mode": "lines", "x": _dates(fan.index), "y": _rounded(fan["p50"]),
                       "name": f"national queue, every sender ({words(rs.base_variant).lower()})",
                       "line": {"color": "#999999", "dash": "dot", "width": 1.5},
                       "hovertemplate": f"<b>National queue</b> (every sender)<br>{DATE_WORDS}<br>%{{y:,.0f}} samples "
                                        f"waiting (median of {n_runs(national)} runs)<extra></extra>"})
    present = set(rows["variant"].unique())
    for i, variant in enumerate(v for v in rs.variants if v in present):
        part = rows[rows["variant"] == variant].dropna(subset=["value"])
        fan, n = fan_over_runs(part), n_runs(part)
        traces += _fan_traces(fan, _colour(i), words(variant), f"v{i}", 2, f"samples waiting (median of {n} runs)")
    layout = base_layout(f"Samples waiting at the certification lab ({whose})",
                     xaxis=_axis(f"Date ({rs.start_date.year})", type="date", tickformat="%-d %b"),
                     yaxis=_axis("Samples waiting, end of day", rangemode="tozero", tickformat=",d"))
    return Interactive("lab_queue", layout["title"]["text"],
                       "Median over replications and band of 90 % of runs, per scenario"
                       + ("; dotted grey: every sender's queue, which the network's audits pass when the lab gives "
                          "them priority." if national is not None and len(national) else "."),
                       {"data": traces, "layout": layout})


def levers_days_gained(rs: ResultsSet) -> Interactive:
    from sim.decisions.ranking import money
    from sim.report.data import interval_words, levers_table

    found = levers_table(rs)
    if found is None:
        raise ChartSkipped("no levers.csv in these results")
    table, primary = found
    main = table[table["target"] == primary].sort_values("days_gained")
    traces = []
    for i, r in enumerate(main.itertuples()):
        label = str(r.description) if isinstance(r.description, str) and r.description else words(r.lever)
        euros = money(r.euros)
        low, high = float(r.days_gained_low), float(r.days_gained_high)
        text = (f"<b>{label}</b><br>{_interval_text(r.days_gained, low, high, lambda v: f'{v:+.1f} days')} on "
                f"{target_label(primary, rs.targets.get(primary, {}))}<br>{euros} · {int(r.n)} paired runs")
        traces.append({"type": "bar", "orientation": "h", "y": [label], "x": [float(r.days_gained)],
                       "name": label, "marker": {"color": _colour(i)}, "text": [text], "textposition": "none",
                       "hovertemplate": "%{text}<extra></extra>",
                       "error_x": {"type": "data", "symmetric": False, "color": "#333333",
                                   "array": [max(high - r.days_gained, 0) if math.isfinite(high) else 0],
                                   "arrayminus": [max(r.days_gained - low, 0) if math.isfinite(low) else 0]}})
    layout = base_layout(f"Days gained on {target_label(primary, rs.targets.get(primary, {})).lower()} by each lever",
                     xaxis=_axis(f"Days gained (paired with the base, {interval_words(main)})"), yaxis=_axis(""),
                     height=max(300, 120 + 45 * len(main)), showlegend=True)
    layout["margin"]["l"] = 220
    return Interactive("levers_days_gained", layout["title"]["text"],
                       "Days gained against the base replication by replication (common random numbers), with the "
                       f"{interval_words(main)} of the paired difference; click a lever in the legend to hide or "
                       "show it.",
                       {"data": traces, "layout": layout})


STRESS_MEASURES = (("masks_lost_delivered", "masks lost (delivered)", fmt_count),
                   ("deepest_drop_share", "deepest drop in daily output", fmt_pct),
                   ("recovery_days", "days to recover the pre-shock rate", lambda v: f"{v:.1f}"),
                   ("extra_recovery_days", "of which due to the shock (days)", lambda v: f"{v:.1f}"))


def stress_matrix(rs: ResultsSet) -> Interactive:
    from sim.decisions.tables import STRESS_CSV

    path = rs.dir / STRESS_CSV
    if not path.exists():
        raise ChartSkipped("no stress.csv in these results")
    table = pd.read_csv(path)
    if table.empty:
        raise ChartSkipped("stress.csv is empty")
    columns: list[tuple[str, str, str, Callable[[float], str]]] = [
        ("delay_days", t, f"delay on {words(t).lower()} (days)", lambda v: f"{v:.1f}")
        for t in table.loc[table["metric"] == "delay_days", "target"].dropna().unique()]
    columns += [(m, "", label, fmt) for m, label, fmt in STRESS_MEASURES]
    shocks = list(dict.fromkeys(table["shock"]))
    values = np.full((len(shocks), len(columns)), np.nan)
    text = [["no value" for _ in columns] for _ in shocks]
    cells = [["–" for _ in columns] for _ in shocks]  # the mean, written in the cell
    for i, shock in enumerate(shocks):
        for j, (metric, target, label, fmt) in enumerate(columns):
            row = table[(table["shock"] == shock) & (table["metric"] == metric)
                        & (table["target"].fillna("") == target)]
            if row.empty:
                continue
            r = row.iloc[0]
            values[i, j] = float(r["mean"])
            stated = _interval_text(float(r["mean"]), float(r["low"]), float(r["high"]), fmt)
            text[i][j] = f"<b>{words(shock)}</b><br>{label}: {stated}<br>{int(r['n'])} runs"
            cells[i][j] = fmt(float(r["mean"]))
    measured = np.isfinite(values).any(axis=0)  # a measure stress.csv does not hold is not a column
    values, columns = values[:, measured], [c for c, keep in zip(columns, measured, strict=True) if keep]
    text = [[t for t, keep in zip(row, measured, strict=True) if keep] for row in text]
    cells = [[t for t, keep in zip(row, measured, strict=True) if keep] for row in cells]
    scale = np.nanmax(np.abs(values), axis=0)
    scale[~np.isfinite(scale) | (scale == 0)] = 1.0
    shade = np.clip(values / scale, 0, 1)
    trace = {"type": "heatmap", "x": [c[2] for c in columns], "y": [words(s) for s in shocks],
             "z": [[None if not math.isfinite(v) else round(float(v), 4) for v in row] for row in shade],
             "zmin": 0, "zmax": 1.25, "colorscale": "Oranges", "showscale": False, "customdata": text,
             "text": cells, "texttemplate": "%{text}", "hovertemplate": "%{customdata}<extra></extra>",
             "xgap": 2, "ygap": 2}
    layout = base_layout("What each shock costs", xaxis=_axis("", side="top"),
                         yaxis=_axis("", autorange="reversed"), height=max(300, 140 + 45 * len(shocks)))
    layout["margin"].update({"l": 200, "t": 110})
    return Interactive("stress_matrix", layout["title"]["text"],
                       "Each cell: the mean over replications (hover for its 95 % interval); colour scaled per column "
                       "by the worst shock.", {"data": [trace], "layout": layout})


FIGURES: tuple[Callable[[ResultsSet], Interactive], ...] = (
    cumulative_delivered, daily_output_by_kind, bottleneck_timeline, fill_rates, lab_queue, levers_days_gained,
    stress_matrix)


def build_figures(rs: ResultsSet) -> tuple[list[Interactive], list[dict[str, str]]]:
    """(figures drawn, [{name, reason}] of those skipped for lack of data)."""
    drawn, skipped = [], []
    for build in FIGURES:
        try:
            drawn.append(build(rs))
        except (ChartSkipped, TableMissing) as why:
            skipped.append({"name": build.__name__, "reason": why.reason})
    return drawn, skipped


def plotly_js() -> str:
    """plotly.js to inline once in the page: plotly's own cartesian partial bundle (sim/report/vendor/README.md)
    when it is the version the installed Python plotly writes figures for, else that package's full bundle."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    if VENDORED_PLOTLY.exists() and get_plotlyjs_version() == VENDORED_PLOTLY_VERSION:
        return VENDORED_PLOTLY.read_text(encoding="utf-8")
    return str(get_plotlyjs())


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element (no '</' that would end it)."""
    import plotly.io as pio

    text = pio.to_json(data, validate=False, remove_uids=True)
    return text.replace("</", "<\\/")


def figures_payload(figures: list[Interactive], whatif: dict[str, Any] | None = None) -> str:
    """The page's data, one JSON document: plotly's config, the figures and the what-if panel's emulators."""
    return script_json({"config": CONFIG, "figures": {f.name: f.figure for f in figures}, "whatif": whatif})


__all__ = ["CONFIG", "FIGURES", "Interactive", "build_figures", "day_words", "figures_payload", "plotly_js",
           "script_json"]
