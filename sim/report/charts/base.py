"""What every chart family shares: the outcome of drawing one chart, the reason a chart is skipped, rendering
in the house style, and small data helpers (fans over runs, required columns, week bins)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.report.formatting import fmt_date
from sim.report.style import STYLE, save_figure
from sim.results.results_set import ResultsSet, TableMissing, missing_columns
from sim.results.scan import Rows

MAIN_KPI = "masks_delivered"


MAX_NAMED_COHORTS = 5  # + the grey range and median of the rest: at most ~6 series on the panel


class ChartSkipped(Exception):
    """The chart's data are absent or degenerate; `reason` says why, in words for the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ChartOutcome:
    """What happened to one chart: drawn (path, title, caption) or skipped (reason)."""

    name: str
    path: Path | None
    title: str = ""
    caption: str = ""
    reason: str | None = None


def fan_over_runs(rows: pd.DataFrame, value: str = "value") -> pd.DataFrame:
    """Per date: p5, median and p95 over runs, and the number of runs (rows: one per run × date)."""
    per_day = rows.groupby("date")[value]
    out = pd.DataFrame(
        {
            "p5": per_day.quantile(0.05),
            "p50": per_day.median(),
            "p95": per_day.quantile(0.95),
            "n": per_day.count(),
        }
    )
    return out.sort_index()


def require(table: pd.DataFrame | None, name: str, columns: Iterable[str]) -> pd.DataFrame:
    """The table, or ChartSkipped naming the file or the columns a partial writer left out."""
    if table is None or table.empty:
        raise ChartSkipped(f"{name}.parquet is missing or empty")
    missing = missing_columns(table, columns)
    if missing:
        raise ChartSkipped(f"{name}.parquet lacks column(s) {', '.join(missing)}")
    return table


def require_rows(rs: ResultsSet, name: str, columns: Iterable[str], variant: str) -> Rows:
    """The rows of `variant` in a per-run table, read as codes to aggregate while reading (sim.results.scan), or
    ChartSkipped as `require` says it: the table is missing, has no row of an ok run, or lacks columns."""
    every = rs.rows(name)
    if every is None or not len(every):
        raise ChartSkipped(f"{name}.parquet is missing or empty")
    missing = missing_columns(every, columns)
    if missing:
        raise ChartSkipped(f"{name}.parquet lacks column(s) {', '.join(missing)}")
    rows = rs.rows(name, variant)
    assert rows is not None  # the file has rows
    return rows


def n_runs(rows: pd.DataFrame) -> int:
    return int(rows["run_id"].nunique()) if "run_id" in rows.columns else 0


def int_or_none(value: Any) -> int | None:
    return int(value) if value is not None and pd.notna(value) else None


def week_ticks(ax: Axes, weeks: Sequence[pd.Timestamp]) -> None:
    """Week labels on a heatmap's x axis, slanted when there are too many to sit side by side."""
    many = len(weeks) > 12
    ax.set_xticks(
        range(len(weeks)),
        [fmt_date(w) for w in weeks],
        rotation=45 if many else 0,
        ha="right" if many else "center",
        rotation_mode="anchor" if many else "default",
    )


def week_start(rs: ResultsSet, dates: pd.Series) -> pd.Series:
    """Week (starting on the scenario start date's weekday) that each date belongs to."""
    offset = (dates - rs.start_date).dt.days // 7
    return rs.start_date + pd.to_timedelta(offset * 7, unit="D")


Draw = Callable[[ResultsSet], tuple[Figure, str]]
"""A chart: results in, (figure, one-sentence caption) out, or ChartSkipped with the reason."""


def render_chart(name: str, draw: Draw, rs: ResultsSet, out_dir: Path) -> ChartOutcome:
    """Draw one chart in the house style and save it as `<out_dir>/<name>.png` and `.svg`."""
    with mpl.rc_context(STYLE):
        try:
            fig, caption = draw(rs)
        except (ChartSkipped, TableMissing) as skipped:
            return ChartOutcome(name, None, reason=skipped.reason)
        path = save_figure(fig, Path(out_dir), name)
    return ChartOutcome(name, path, title=fig.get_suptitle().replace("\n", " "), caption=caption)


def render_family(charts: dict[str, Draw], rs: ResultsSet, out_dir: Path) -> list[ChartOutcome]:
    """Every chart of one family, in order."""
    return [render_chart(name, draw, rs, out_dir) for name, draw in charts.items()]


def map_unique(values: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """`values.map(fn)` calling `fn` once per distinct value: tables hold millions of rows, a few hundred ids."""
    mapped = values.map({v: fn(v) for v in values.unique()})
    return mapped.astype(str) if isinstance(mapped.dtype, pd.CategoricalDtype) else mapped
