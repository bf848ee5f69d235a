"""The charts' one style: an Okabe–Ito colour-blind-safe palette, the matplotlib rc (`STYLE`), axes formatted
for the reader (counts, shares, dates), a headline that states the finding, and saving to PNG and SVG.

Figures are built with `matplotlib.figure.Figure` directly, not pyplot: no global figure registry to leak
memory across many charts, no backend switch at import, and safe inside worker processes."""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.report.formatting import fmt_date

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)


GREY = "#7F7F7F"


LIGHT_GREY = "#D9D9D9"


DPI = 150


STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",  # ships with matplotlib: identical output on every machine
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.7,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.12,
    "svg.fonttype": "none",  # keep text as text in SVG, so papers can restyle and search it
    "svg.hashsalt": "resilience-sim",  # deterministic SVG ids: re-running gives identical files
}


MAX_LINES = 6  # series per panel: beyond that a chart shows the most telling ones and names the rest


def pct_formatter() -> PercentFormatter:
    # A new formatter per axis: a formatter instance is bound to the axis it is set on.
    return PercentFormatter(1.0, decimals=0, symbol=" %")


def pct_axis(ax: Axes, axis: str = "y") -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(pct_formatter())


def count_axis(ax: Axes, axis: str = "y") -> None:
    """Tick labels as '0', '500,000' or '1.5 M', chosen from the axis range so ticks stay short."""

    def label(value: float, _pos: int) -> str:
        lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
        if max(abs(lo), abs(hi)) >= 2e6:
            return "0" if value == 0 else f"{value / 1e6:,.3g} M"
        if float(value).is_integer():
            return f"{value:,.0f}".replace("-", "−")
        return f"{value:,.2g}".replace(
            "-", "−"
        )  # fractional ticks of a narrow range: never round to a duplicate

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(label))


def date_axis(ax: Axes, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Weekly ticks on Mondays for horizons up to ~3 months, else monthly; labels like '6 Apr'."""
    span = (last - first).days
    if span <= 100:
        locator: mdates.DateLocator = mdates.WeekdayLocator(
            byweekday=mdates.MO, interval=1 if span <= 60 else 2
        )
    else:
        locator = mdates.MonthLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: fmt_date(mdates.num2date(x))))
    ax.set_xlim(first - pd.Timedelta(days=0.5), last + pd.Timedelta(days=0.5))


def wrap(text: str, width: int = 95) -> str:
    return "\n".join(textwrap.wrap(text, width=width))


def new_figure(width: float, height: float, **kwargs: Any) -> Figure:
    return Figure(figsize=(width, height), layout="constrained", **kwargs)


def headline(fig: Figure, finding: str, detail: str) -> None:
    """Finding in bold on the first line, what is plotted in grey below: the reader gets the answer first."""
    fig.suptitle(wrap(finding, 90), x=0.01, ha="left", fontsize=11.5, fontweight="bold")
    fig.text(
        0.01,
        0.0,
        wrap(detail, 120),
        ha="left",
        va="top",
        fontsize=8,
        color="#555555",
        transform=fig.transFigure,
    )


def save_figure(fig: Figure, out_dir: Path, name: str) -> Path:
    """Write the PNG and SVG each to a temporary file renamed into place, so that a failure (a full disk)
    never leaves a partial chart under the final name."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from sim.runs.atomic import atomic_write

    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"{name}.png"
    meta_png = {"Title": fig.get_suptitle(), "Software": "resilience-sim (matplotlib)"}
    # An Agg canvas keeps one renderer for the layout and the tight box below, and with it matplotlib's cache
    # of text extents: a bare Figure makes a new renderer, and measures every text again, for each.
    FigureCanvasAgg(fig)
    # Lay the figure out as its first draw would (the layout is all that draw settles; Figure.draw ignores a
    # ValueError of the engine too), then measure the tight box once for both files: bbox_inches="tight"
    # would lay out and draw the figure an extra time per file only to measure it.
    engine = fig.get_layout_engine()
    if fig.axes and engine is not None:
        with contextlib.suppress(ValueError):
            engine.execute(fig)
    box = fig.get_tightbbox().padded(float(mpl.rcParams["savefig.pad_inches"]))
    # Freeze the layout, or each file's draw would solve it again (a third of the time of a chart) to the
    # same positions. The PNG is saved with no layout engine at all: savefig makes a draw with output off
    # before the real one whenever a figure has an engine, even the frozen placeholder, and that draw changes
    # nothing in a PNG (the same pixels).
    fig.set_layout_engine("none")
    frozen = fig.get_layout_engine()
    with mpl.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)  # (None would otherwise mean the rc's default engine)
    atomic_write(png, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, metadata=meta_png, bbox_inches=box))
    # The SVG keeps that draw: it puts the figure at 72 dpi before the box is applied; without it the file's
    # coordinates would differ in their last digits.
    fig.set_layout_engine(frozen)
    atomic_write(out_dir / f"{name}.svg",
                 lambda tmp: fig.savefig(tmp, format="svg", bbox_inches=box,
                                         metadata={"Title": fig.get_suptitle(), "Date": None}))
    return png
