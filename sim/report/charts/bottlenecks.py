"""The network's bottleneck week by week."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.report.charts.base import ChartOutcome, ChartSkipped, Draw, render_family, week_ticks
from sim.report.formatting import fmt_date, fmt_pct, stage_name
from sim.report.labels import words
from sim.report.style import headline, new_figure, pct_formatter
from sim.results.results_set import ResultsSet


def draw_bottleneck_timeline(rs: ResultsSet) -> tuple[Figure, str]:
    matrix = rs.weekly_bottlenecks()
    if matrix.empty:
        raise ChartSkipped("bottlenecks.parquet has no network-level rows for the base scenario")
    stages = list(matrix.columns)
    weeks = list(matrix.index)
    values = matrix.to_numpy().T  # stages × weeks
    # Width capped at what a report column or a journal page shows at full size; long horizons get
    # smaller cell labels and slanted week labels instead of a wider figure.
    fig = new_figure(min(11.0, max(6.5, 1.6 + 0.75 * len(weeks))), 1.8 + 0.5 * len(stages))
    ax = fig.add_subplot()
    image = ax.imshow(values, aspect="auto", cmap="Blues", vmin=0, vmax=1)
    ax.grid(False)
    week_ticks(ax, weeks)
    ax.set_yticks(range(len(stages)), [stage_name(s) for s in stages])
    ax.set_xlabel("Week starting")
    cell_font = 8.5 if len(weeks) <= 12 else 7.0 if len(weeks) <= 20 else 0.0
    for (si, wi), value in np.ndenumerate(values if cell_font else np.empty((0, 0))):
        text = "–" if value < 0.005 else f"{value * 100:.0f}" + (" %" if len(weeks) <= 12 else "")
        ax.text(
            wi,
            si,
            text,
            ha="center",
            va="center",
            fontsize=cell_font,
            color="white" if value > 0.55 else "#222222",
        )
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(image, ax=ax, shrink=0.85, pad=0.01, format=pct_formatter())
    bar.set_label("Share of the week as bottleneck")
    finding = _bottleneck_finding(matrix)
    headline(
        fig,
        finding,
        f"Share of each week during which a stage was the network's bottleneck "
        f"(active-period method), mean over replications of scenario {words(rs.base_variant).lower()}.",
    )
    return fig, (
        "Share of each week during which each stage held back the whole network; the darkest cell of a "
        "column is that week's bottleneck."
    )


def _bottleneck_finding(matrix: pd.DataFrame) -> str:
    dominant = matrix.idxmax(axis=1)
    segments: list[tuple[str, pd.Timestamp, pd.Timestamp]] = []
    for week, stage in dominant.items():
        if segments and segments[-1][0] == stage:
            segments[-1] = (stage, segments[-1][1], week)
        else:
            segments.append((stage, week, week))
    if len(segments) == 1:
        stage = segments[0][0]
        return (
            f"{stage_name(stage).capitalize()} was the bottleneck every week "
            f"(mean share {fmt_pct(float(matrix[stage].mean()))})"
        )
    if len(segments) > 4:
        counts = dominant.value_counts()
        return (
            f"The bottleneck shifted {len(segments) - 1} times; most often "
            f"{stage_name(counts.index[0])} ({counts.iloc[0]} of {len(dominant)} weeks)"
        )
    parts = []
    for stage, first, last in segments:
        when = (
            f"week of {fmt_date(first)}" if first == last else f"weeks of {fmt_date(first)}–{fmt_date(last)}"
        )
        parts.append(f"{stage_name(stage)} ({when})")
    return "Bottleneck moved: " + " → ".join(parts)


CHARTS: dict[str, Draw] = {
    "bottleneck_timeline": draw_bottleneck_timeline,
}


def render(rs: ResultsSet, out_dir: Path) -> list[ChartOutcome]:
    """Draw this family's charts into `out_dir`."""
    return render_family(CHARTS, rs, out_dir)
