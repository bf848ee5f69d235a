"""Charts of one results directory (docs/results.md), for decision-makers and for papers.

Every chart is drawn from the Parquet tables and manifest.json alone, in one style (`STYLE`, an Okabe–Ito
colour-blind-safe palette), with real dates on time axes and a title that states what the data show
(computed, never hard-coded). Each chart is written as `<name>.png` (150 dpi) and `<name>.svg`.

A chart whose data are absent is not drawn: the chart function raises `ChartSkipped` with the reason, and
`make_all` / `render_all` record it (the report lists skipped charts with their reasons).

Figures are built with `matplotlib.figure.Figure` directly, not pyplot: no global figure registry to leak
memory across many charts, no backend switch at import, and safe inside worker processes. Saving to PNG
uses the Agg renderer.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.results import analysis
from sim.results.tables import (
    DATE_COLUMNS,
    DAY_TARGET,
    FILL_RATE,
    FLOW_STAGES,
    PARAM_PREFIX,
    REACHED_BY_DATE,
    RUN_TABLES,
    kpi_family,
    kpi_key,
    kpi_name,
    kpis_of,
)

# --------------------------------------------------------------------------------------------------
# Style
# --------------------------------------------------------------------------------------------------

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies and in greyscale print.
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

STAGE_NAMES: dict[str, str] = {
    "supply": "material supply",
    "certification": "certification",
    "cut": "cutting",
    "sew": "sewing",
    "inspect": "inspection",
    "pack": "packaging",
    "transport": "transport",
}
# Units of the materials of the standard mask (docs: fabric per mask in m², elastic in m).
MATERIAL_UNITS: dict[str, str] = {"fabric": "m²", "elastic": "m"}
MAIN_KPI = "masks_delivered"
MAX_NAMED_COHORTS = 5  # + the grey range and median of the rest: at most ~6 series on the panel
MAX_LINES = 6  # series per panel: beyond that a chart shows the most telling ones and names the rest


class ChartSkipped(Exception):
    """The chart's data are absent or degenerate; `reason` says why, in words for the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------


def fmt_count(value: float) -> str:
    """Masks and other counts: '60 M', '2.5 M', '125,000', '412'."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1e6:
        text = f"{value / 1e6:,.1f}".removesuffix(".0")
        return f"{text} M"
    return f"{value:,.0f}"


def fmt_signed_count(value: float) -> str:
    """'+93,900' / '−1.2 M' (a true minus sign, which does not wrap away from its number)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return ("+" if value > 0 else "−" if value < 0 else "") + fmt_count(abs(value))


def round_sig(value: float, figures: int = 3) -> float:
    """`value` rounded to `figures` significant figures (whole numbers at least)."""
    if value is None or not math.isfinite(value) or value == 0:
        return value
    digits = figures - 1 - math.floor(math.log10(abs(value)))
    return float(round(value, min(digits, 0)))


def fmt_approx(value: float) -> str:
    """A count rounded to 3 significant figures for sentences: '178,000' rather than '177,897'."""
    return fmt_count(round_sig(value))


def fmt_signed_approx(value: float) -> str:
    """A signed difference to 3 significant figures: '+93,900', '−230,000'."""
    return fmt_signed_count(round_sig(value))


def _pct_formatter() -> PercentFormatter:
    # A new formatter per axis: a formatter instance is bound to the axis it is set on.
    return PercentFormatter(1.0, decimals=0, symbol=" %")


def _pct_axis(ax: Axes, axis: str = "y") -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(_pct_formatter())


def fmt_pct(share: float, digits: int = 0) -> str:
    """A share 0..1 as '71 %' (the French and SI spacing used throughout the project)."""
    if share is None or not math.isfinite(share):
        return "n/a"
    return f"{share * 100:.{digits}f} %"


def fmt_date(day: dt.date | pd.Timestamp) -> str:
    """'21 Apr' (day without a leading zero, portable: %-d is glibc-only)."""
    return f"{day.day} {day.strftime('%b')}"


def fmt_date_long(day: dt.date | pd.Timestamp) -> str:
    """'6 April' for sentences in the report."""
    return f"{day.day} {day.strftime('%B')}"


def _count_axis(ax: Axes, axis: str = "y") -> None:
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


def _date_axis(ax: Axes, first: pd.Timestamp, last: pd.Timestamp) -> None:
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


def _wrap(text: str, width: int = 95) -> str:
    return "\n".join(textwrap.wrap(text, width=width))


def _figure(width: float, height: float, **kwargs: Any) -> Figure:
    return Figure(figsize=(width, height), layout="constrained", **kwargs)


def _headline(fig: Figure, finding: str, detail: str) -> None:
    """Finding in bold on the first line, what is plotted in grey below: the reader gets the answer first."""
    fig.suptitle(_wrap(finding, 90), x=0.01, ha="left", fontsize=11.5, fontweight="bold")
    fig.text(
        0.01,
        0.0,
        _wrap(detail, 120),
        ha="left",
        va="top",
        fontsize=8,
        color="#555555",
        transform=fig.transFigure,
    )


# --------------------------------------------------------------------------------------------------
# Statistics: sim.analysis, reduced to the (estimate, low, high) triples the charts draw
# --------------------------------------------------------------------------------------------------


def t_interval(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the Student-t interval of the mean; NaN bounds if n < 2."""
    mean, _, low, high = analysis.t_interval(np.asarray([np.nan if v is None else v for v in values], dtype=float),
                                             confidence)
    return mean, low, high


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """(share, low, high) for a proportion (Wilson score interval)."""
    return analysis.wilson_interval(successes, n, confidence)


def paired_difference(a: pd.Series, b: pd.Series, confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference b - a over replications present in both (indexed by replication): scenarios share
    their random streams replication by replication (common random numbers), so pairs are compared."""
    common = a.index.intersection(b.index)
    diff, _, low, high = analysis.paired_difference(a[common].to_numpy(dtype=float),
                                                    b[common].to_numpy(dtype=float), confidence)
    return diff, low, high


def median_with_unreached(values: Iterable[float]) -> float:
    """Median where NaN means 'never reached': counted as +inf, so the median is inf if most never reach."""
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        return math.nan
    return float(np.median(np.where(np.isnan(x), np.inf, x)))


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------

TABLES: tuple[str, ...] = ("runs", *RUN_TABLES)


class ResultsSet:
    """The results of one experiment, read lazily from a results directory (docs/results.md).

    Tables are read on first use and kept. All tables except `runs` are restricted to runs whose status is
    'ok' (a failed run's partial rows must not bias medians) and get a `variant` column: the scenario name,
    plus the sweep point when runs.parquet has `param.<path>` columns, so that sweep points are never pooled.
    Date columns are parsed to pandas Timestamps whatever the writer used (date32, string, datetime).
    """

    def __init__(self, results_dir: str | Path) -> None:
        self.dir = Path(results_dir)
        if not self.dir.is_dir():
            raise FileNotFoundError(f"results directory {self.dir} does not exist")
        self._tables: dict[str, pd.DataFrame | None] = {}
        self._manifest: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"ResultsSet({str(self.dir)!r})"

    # manifest -----------------------------------------------------------------------------------
    @property
    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            from sim.errors import ResultsError
            from sim.results.folder import read_results_json

            path = self.dir / "manifest.json"
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: is {self.dir} a results directory?")
            manifest = read_results_json(path, "a results directory")
            if not isinstance(manifest, dict):
                raise ResultsError(f"{path}: not a manifest written by 'resilience run' (a JSON object)")
            self._manifest = manifest
        return self._manifest

    @property
    def experiment(self) -> str:
        return str(self.manifest.get("experiment") or self.dir.name)

    @property
    def start_date(self) -> pd.Timestamp:
        start = self.manifest.get("start_date")
        if start:
            return pd.Timestamp(start).normalize()
        for name in ("series", "daily"):
            table = self.table(name)
            if table is not None and not table.empty:
                return table["date"].min()
        raise ValueError(f"{self.dir}: no start_date in manifest.json and no dated table")

    @property
    def targets(self) -> dict[str, dict[str, Any]]:
        return dict(self.manifest.get("targets") or {})

    def target_by(self, name: str) -> pd.Timestamp | None:
        by = self.targets.get(name, {}).get("by")
        return pd.Timestamp(by).normalize() if by else None

    @property
    def base_scenario(self) -> str:
        base = self.manifest.get("base_scenario")
        if base:
            return str(base)
        scenarios = self.manifest.get("scenarios") or []
        if scenarios:
            return str(scenarios[0])
        runs = self.table("runs")
        if runs is not None and not runs.empty:
            return str(runs["scenario"].iloc[0])
        raise ValueError(f"{self.dir}: cannot tell the base scenario")

    # tables -------------------------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame | None:
        """One table (None if the file is absent), restricted to ok runs and tagged with `variant`."""
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; expected one of {TABLES}")
        if name not in self._tables:
            self._tables[name] = self._load(name)
        return self._tables[name]

    def _load(self, name: str) -> pd.DataFrame | None:
        from sim.results.folder import read_results_table

        path = self.dir / f"{name}.parquet"
        if not path.exists():
            return None
        df = read_results_table(path)
        if name != "runs" and df.empty:
            # The runner writes an id-columns-only frame when no run produced the table: treat it as absent.
            return None
        for column in DATE_COLUMNS:
            if column in df.columns:
                df[column] = pd.to_datetime(df[column]).dt.normalize()
        if name == "runs":
            if "status" not in df.columns:
                df["status"] = "ok"
            df["variant"] = self._variant_labels(df)
            return df
        runs = self.table("runs")
        if runs is not None and "run_id" in df.columns:
            ok = runs[runs["status"] == "ok"]
            variant_of = dict(zip(ok["run_id"], ok["variant"], strict=True))
            df = df[df["run_id"].isin(variant_of)].copy()
            df["variant"] = df["run_id"].map(variant_of)
        else:
            df["variant"] = df["scenario"]
        return df

    @staticmethod
    def _variant_labels(runs: pd.DataFrame) -> pd.Series:
        params = [c for c in runs.columns if c.startswith(PARAM_PREFIX)]
        if not params:
            return runs["scenario"].astype(str)

        def label(row: pd.Series) -> str:
            point = ", ".join(f"{c.removeprefix('param.')}={row[c]}" for c in params if pd.notna(row[c]))
            return f"{row['scenario']} ({point})" if point else str(row["scenario"])

        return runs.apply(label, axis=1)

    @property
    def runs(self) -> pd.DataFrame:
        runs = self.table("runs")
        if runs is None:
            raise ChartSkipped("runs.parquet is missing")
        return runs

    @property
    def ok_runs(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] == "ok"]

    @property
    def failed_runs(self) -> pd.DataFrame:
        runs = self.table("runs")
        if runs is None:
            return pd.DataFrame(columns=["run_id", "scenario", "replication", "error"])
        return runs[runs["status"] != "ok"]

    @property
    def variants(self) -> list[str]:
        """Variants in manifest scenario order (base first), then order of appearance."""
        runs = self.table("runs")
        seen: list[str] = list(dict.fromkeys(runs["variant"])) if runs is not None else []
        if not seen:
            seen = [str(s) for s in self.manifest.get("scenarios") or []]
        order = {name: i for i, name in enumerate(self.manifest.get("scenarios") or [])}
        scenario_of = dict(zip(runs["variant"], runs["scenario"], strict=False)) if runs is not None else {}
        base = self.base_scenario
        return sorted(
            seen,
            key=lambda v: (
                scenario_of.get(v, v) != base,
                order.get(scenario_of.get(v, v), len(order)),
                seen.index(v),
            ),
        )

    @property
    def base_variant(self) -> str:
        variants = self.variants
        runs = self.table("runs")
        if runs is not None:
            for v in variants:
                if (runs.loc[runs["variant"] == v, "scenario"] == self.base_scenario).any():
                    return v
        return variants[0] if variants else self.base_scenario

    @property
    def end_date(self) -> pd.Timestamp:
        """Last simulated day present in the dated tables."""
        ends = [
            t["date"].max() for n in ("series", "daily") if (t := self.table(n)) is not None and not t.empty
        ]
        if not ends:
            raise ValueError(f"{self.dir}: no dated table")
        return max(ends)

    def series(self, name: str, variant: str | None = None) -> pd.DataFrame:
        """Rows of one series of series.parquet (optionally one variant); empty frame if absent."""
        table = self.table("series")
        if table is None or _missing(table, ("series", "key", "value", "date")):
            return pd.DataFrame(columns=["run_id", "variant", "date", "key", "value"])
        rows = table[table["series"] == name]
        if variant is not None:
            rows = rows[rows["variant"] == variant]
        return rows

    def summary(self) -> pd.DataFrame | None:
        """summary.csv (the `summary` table of sim/tables.py) as `variant, kpi, n, mean, low, high`, or None.

        Sweeps are not matched (the summary is per scenario), so with sweep points the caller recomputes
        from runs.parquet. A summary without the contract's columns is an error, not a silent fallback.
        """
        path = self.dir / "summary.csv"
        runs = self.table("runs")
        if not path.exists() or (runs is not None and any(c.startswith(PARAM_PREFIX) for c in runs.columns)):
            return None
        raw = pd.read_csv(path)
        missing = _missing(raw, ("scenario", "kpi", "n", "mean", "ci_low", "ci_high"))
        if missing:
            raise ValueError(f"{path} lacks column(s) {', '.join(missing)} of the summary table (sim/tables.py)")
        return pd.DataFrame(
            {
                "variant": raw["scenario"].astype(str),
                "kpi": raw["kpi"].astype(str),
                "mean": pd.to_numeric(raw["mean"], errors="coerce"),
                "low": pd.to_numeric(raw["ci_low"], errors="coerce"),
                "high": pd.to_numeric(raw["ci_high"], errors="coerce"),
                "n": pd.to_numeric(raw["n"], errors="coerce"),
            }
        )

    def kpi_interval(self, variant: str, kpi: str) -> tuple[float, float, float, int]:
        """(mean, low, high, n) of a KPI for one variant: summary.csv if it has it, else a t-interval."""
        values = self.kpi_values(variant, kpi)
        summary = self.summary()
        if summary is not None:
            row = summary[(summary["variant"] == variant) & (summary["kpi"] == kpi)]
            if not row.empty:
                r = row.iloc[0]
                n = int(r["n"]) if pd.notna(r["n"]) else int(np.isfinite(values).sum())
                return (float(r["mean"]), float(r["low"]), float(r["high"]), n)
        mean, low, high = t_interval(values)
        return (mean, low, high, int(np.isfinite(values).sum()))

    def kpi_by_replication(self, variant: str, kpi: str) -> pd.Series:
        """A KPI of the ok runs of `variant`, indexed by replication number (for paired comparisons)."""
        ok = self.ok_runs
        if kpi not in ok.columns:
            return pd.Series(dtype=float)
        rows = ok[ok["variant"] == variant]
        return pd.Series(rows[kpi].to_numpy(dtype=float), index=rows["replication"].to_numpy())

    def kpi_values(self, variant: str, kpi: str) -> np.ndarray:
        ok = self.ok_runs
        if kpi not in ok.columns:
            return np.array([], dtype=float)
        return ok.loc[ok["variant"] == variant, kpi].to_numpy(dtype=float)

    # derived answers shared by charts and report -------------------------------------------------
    def day_to_date(self, day: float) -> pd.Timestamp:
        return self.start_date + pd.Timedelta(days=math.floor(day))

    def target_reach_days(self, variant: str, target: str) -> np.ndarray:
        """Day index at which each ok run of `variant` reached the target (NaN if never).

        From runs.parquet `day_target.<target>`; if that column is absent, from the cum_delivered series.
        """
        column = kpi_name(DAY_TARGET, target)
        ok = self.table("runs")
        if ok is not None and column in ok.columns:
            return self.kpi_values(variant, column)
        masks = float(self.targets[target]["masks"])
        cum = self.series("cum_delivered", variant)
        days: list[float] = []
        for _run, rows in cum.groupby("run_id"):
            hit = rows.sort_values("date")
            hit = hit[hit["value"] >= masks]
            days.append((hit["date"].iloc[0] - self.start_date).days if not hit.empty else math.nan)
        return np.asarray(days, dtype=float)

    def target_probability(self, variant: str, target: str) -> tuple[float, float, float, int, int] | None:
        """(share, low, high, successes, n) of runs that reached the target by its date; None if no date."""
        by = self.target_by(target)
        if by is None:
            return None
        column = kpi_name(REACHED_BY_DATE, target)
        values = self.kpi_values(variant, column)
        if values.size == 0:
            by_day = (by - self.start_date).days
            days = self.target_reach_days(variant, target)
            values = np.where(np.isnan(days), 0.0, (days <= by_day).astype(float))
        values = values[np.isfinite(values)]
        k, n = int((values >= 0.5).sum()), int(values.size)
        share, low, high = wilson_interval(k, n)
        return (share, low, high, k, n)

    def weekly_bottlenecks(self, variant: str | None = None) -> pd.DataFrame:
        """Weeks × stages mean network bottleneck share over the ok runs of `variant` (base by default).

        A stage missing from a run's week had share 0 in that run: zeros are filled before averaging, so
        a stage that was the bottleneck in one replication only is not inflated.
        """
        table = self.table("bottlenecks")
        if table is None or table.empty or _missing(table, ("level", "stage", "share", "week_start")):
            return pd.DataFrame()
        variant = variant or self.base_variant
        rows = table[(table["level"] == "network") & (table["variant"] == variant)]
        if rows.empty:
            return pd.DataFrame()
        per_run = rows.pivot_table(
            index=["run_id", "week_start"], columns="stage", values="share", aggfunc="sum", fill_value=0.0
        )
        matrix = per_run.groupby(level="week_start").mean()
        stages = [s for s in FLOW_STAGES if s in matrix.columns] + sorted(
            s for s in matrix.columns if s not in FLOW_STAGES
        )
        return matrix[stages].sort_index()


def _as_results(results: ResultsSet | str | Path) -> ResultsSet:
    return results if isinstance(results, ResultsSet) else ResultsSet(results)


def stage_name(stage: str) -> str:
    return STAGE_NAMES.get(stage, stage.replace("_", " "))


def _fan(rows: pd.DataFrame, value: str = "value") -> pd.DataFrame:
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


def _missing(table: pd.DataFrame | None, columns: Iterable[str]) -> list[str]:
    """Columns of `columns` absent from `table` (all of them if the table is absent)."""
    return list(columns) if table is None else [c for c in columns if c not in table.columns]


def _require(table: pd.DataFrame | None, name: str, columns: Iterable[str]) -> pd.DataFrame:
    """The table, or ChartSkipped naming the file or the columns a partial writer left out."""
    if table is None or table.empty:
        raise ChartSkipped(f"{name}.parquet is missing or empty")
    missing = _missing(table, columns)
    if missing:
        raise ChartSkipped(f"{name}.parquet lacks column(s) {', '.join(missing)}")
    return table


def _n_runs(rows: pd.DataFrame) -> int:
    return int(rows["run_id"].nunique()) if "run_id" in rows.columns else 0


# --------------------------------------------------------------------------------------------------
# Charts: each _draw_* returns (figure, caption) or raises ChartSkipped
# --------------------------------------------------------------------------------------------------


def _draw_cumulative_delivered(rs: ResultsSet) -> tuple[Figure, str]:
    cum = rs.series("cum_delivered")
    if cum.empty:
        raise ChartSkipped("series.parquet has no 'cum_delivered' series")
    cum = cum[cum["key"].astype(str) == "all"] if (cum["key"].astype(str) == "all").any() else cum
    fig = _figure(9.5, 5.2)
    ax = fig.add_subplot()
    data_max = float(cum["value"].max())
    end = rs.end_date
    variants = [v for v in rs.variants if v in set(cum["variant"])]
    base_variant = rs.base_variant
    left_out: list[str] = []
    if len(variants) > MAX_LINES:  # at most MAX_LINES lines: the base and the scenarios ending farthest from it
        final = cum[cum["date"] == cum["date"].max()].groupby("variant")["value"].median()
        gap = (final - final.get(base_variant, 0.0)).abs().drop(base_variant, errors="ignore")
        keep = [base_variant, *gap.sort_values(ascending=False).index[:MAX_LINES - 1]]
        left_out = [v for v in variants if v not in keep]
        variants = [v for v in variants if v in keep]
    for i, variant in enumerate(variants):
        rows = cum[cum["variant"] == variant]
        fan = _fan(rows)
        colour = PALETTE[i % len(PALETTE)]
        is_base = variant == base_variant or len(variants) == 1
        # One band only (the base's): overlapping bands of many scenarios hide the base line.
        if is_base:
            ax.fill_between(fan.index, fan["p5"], fan["p95"], color=colour, alpha=0.18, linewidth=0)
        ax.plot(
            fan.index,
            fan["p50"],
            color=colour,
            linewidth=2.4 if is_base else 1.3,
            zorder=4 if is_base else 3,
            label=f"{variant}: median" + (f" (band p5–p95, {_n_runs(rows)} runs)" if is_base else ""),
        )

    # Targets far above the curves would flatten them into the x axis; such targets are named in a note
    # instead of drawn, and the title still says whether they were reached.
    shown, off_scale = [], []
    for name, target in sorted(rs.targets.items(), key=lambda kv: float(kv[1]["masks"])):
        (shown if float(target["masks"]) <= 1.6 * data_max else off_scale).append((name, target))
    top = max([data_max] + [float(t["masks"]) for _n, t in shown]) * 1.1
    for name, target in shown:
        masks = float(target["masks"])
        ax.axhline(masks, color=GREY, linestyle="--", linewidth=1, zorder=1)
        by = rs.target_by(name)
        label = f"{name}: {fmt_count(masks)}" + (f" by {fmt_date(by)}" if by is not None else "")
        ax.text(
            0.01,
            masks,
            label,
            transform=ax.get_yaxis_transform(),
            va="bottom",
            ha="left",
            fontsize=8.5,
            color="#333333",
        )
        if by is not None:
            ax.axvline(by, color=GREY, linestyle=":", linewidth=1, zorder=1)
            ax.plot([by], [masks], marker="D", color="#333333", markersize=6, zorder=5, linestyle="none")
    if off_scale:
        note = "Off scale: " + "; ".join(
            f"{n} {fmt_count(float(t['masks']))}"
            + (f" by {fmt_date(rs.target_by(n))}" if t.get("by") else "")
            for n, t in off_scale
        )
        ax.text(0.01, 0.97, note, transform=ax.transAxes, va="top", ha="left", fontsize=8.5, color="#333333")
    for obs in rs.manifest.get("observations") or []:  # what was seen (docs/calibration.md), ± 2 sd
        if obs.get("kpi") != "cumulative_delivered":
            continue
        spread = 2.0 * float(obs["obs_sd"])
        ax.errorbar([pd.Timestamp(obs["by"])], [float(obs["observed"])], yerr=[[spread], [spread]], fmt="s",
                    color="#B03A2E", markersize=6, capsize=4, zorder=6,
                    label=f"observed: {obs['name']} (± 2 sd)")
        top = max(top, (float(obs["observed"]) + spread) * 1.05)
    ax.set_ylim(0, top)
    _date_axis(ax, cum["date"].min(), end)
    _count_axis(ax)
    ax.set_ylabel("Masks delivered, cumulative")
    ax.set_xlabel(f"Date ({rs.start_date.year})")
    if len(variants) > 3:  # a long legend goes beside the plot, not over the early curves
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.90) if off_scale else (0.0, 1.0))

    base = rs.base_variant
    parts = []
    for name, target in sorted(rs.targets.items(), key=lambda kv: float(kv[1]["masks"])):
        median_day = median_with_unreached(rs.target_reach_days(base, name))
        masks = fmt_count(float(target["masks"]))
        if math.isfinite(median_day):
            parts.append(f"{masks} masks reached on {fmt_date(rs.day_to_date(median_day))} (median)")
        else:
            parts.append(f"{masks} not reached by {fmt_date(end)}")
    finding = (
        "; ".join(parts)
        if parts
        else (
            f"{fmt_count(float(_fan(cum[cum['variant'] == base])['p50'].iloc[-1]))} masks delivered by "
            f"{fmt_date(end)} (median)"
        )
    )
    if len(variants) > 1:
        finding += f" [{base}]"
    _headline(
        fig,
        finding,
        "Cumulative masks delivered to all channels; lines: median over replications, "
        "band: 5th–95th percentile of the base; dashed: targets, diamonds: target dates."
        + (f" Not drawn (closest to the base): {', '.join(left_out)}." if left_out else ""),
    )
    caption = (
        "Cumulative masks delivered per scenario: the line is the median run, the band the 5th–95th "
        "percentile of the base's replications; dashed lines mark the targets and diamonds their dates."
        + (f" {len(left_out)} scenarios ending closest to the base are left out: see the scenario comparison."
           if left_out else "")
    )
    return fig, caption


def _draw_daily_output_by_kind(rs: ResultsSet, rolling_days: int = 7) -> tuple[Figure, str]:
    base = rs.base_variant
    rows = rs.series("sewn_by_kind", base)
    if rows.empty:
        raise ChartSkipped("series.parquet has no 'sewn_by_kind' series for the base scenario")
    median = rows.groupby(["date", "key"])["value"].median().unstack("key").fillna(0.0).sort_index()
    full = pd.date_range(median.index.min(), median.index.max(), freq="D")
    median = median.reindex(full, fill_value=0.0)
    totals = median.sum().sort_values(ascending=False)
    totals = totals[totals > 0] if (totals > 0).any() else totals  # kinds that sew nothing (hubs) add no layer
    median = median[list(totals.index)]
    kinds = list(totals.index)  # largest kind at the bottom of the stack, where it is easiest to read
    smooth = median.rolling(rolling_days, min_periods=1).mean() if rolling_days > 1 else median
    fig = _figure(9.5, 5.0)
    ax = fig.add_subplot()
    ax.stackplot(
        smooth.index,
        [smooth[k].to_numpy() for k in kinds],
        labels=[str(k) for k in kinds],
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
    _date_axis(ax, median.index.min(), median.index.max())
    _count_axis(ax)
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
        f"{kinds[0]} sites sewed {fmt_pct(share)} of all masks"
    )
    _headline(
        fig,
        finding,
        f"Masks sewn per day by site kind, median over {_n_runs(rows)} replications of "
        f"scenario {base}; stacked areas add up to the network's output.",
    )
    return fig, (
        f"Masks sewn per day by kind of site ({unit}, median over replications of scenario {base})"
        + ("; dots are single days." if rolling_days > 1 else ".")
    )


def _draw_rampup_cohorts(
    rs: ResultsSet, metric: str = "standard_share", highlight: Sequence[str] | None = None
) -> tuple[Figure, str]:
    table = rs.table("cohorts")
    if metric == "standard_share" and table is not None and "standard_share" not in table.columns:
        metric = "efficiency"  # a writer without ceilings: plot efficiency against the skilled standard
    table = _require(table, "cohorts", ("site", "group", "cohort", "date", metric))
    base = rs.base_variant
    rows = table[table["variant"] == base].copy()
    if rows.empty:
        raise ChartSkipped(f"cohorts.parquet has no rows for the base scenario {base}")
    rows["cid"] = rows["site"].astype(str) + " · " + rows["cohort"].astype(str)
    if "stage" in rows.columns and rows["stage"].nunique() > 1:
        # The model writes a cohort once per stage it staffs; without the stage, cutting and sewing curves
        # of the same cohort would be merged into one median.
        rows["cid"] = rows["cid"] + " (" + rows["stage"].astype(str) + ")"
    # Drawn: the share of the skilled standard rate, so cohorts of different kinds compare (a prison cohort at
    # its ceiling works at 20 % of it). The learning milestone stays 80 % of the cohort's own ceiling.
    drawn = "efficiency" if "efficiency" in rows.columns else metric
    curves = rows.groupby(["cid", "date"])[metric].median().unstack("cid").sort_index()
    plotted = rows.groupby(["cid", "date"])[drawn].median().unstack("cid").sort_index()
    # A cohort's curve starts on its first active day: before that it is not on the job, and zeros
    # there would drag the group envelope down to the axis.
    active = rows.assign(active=(rows.get("present", 1) > 0) & (rows[metric] > 0))
    first_day = active[active["active"]].groupby("cid")["date"].min()
    for cid in curves.columns:
        start = first_day.get(cid)
        if start is None:  # never on the job in this scenario: no curve at all
            curves[cid] = np.nan
            plotted[cid] = np.nan
        else:
            curves.loc[curves.index < start, cid] = np.nan
            plotted.loc[plotted.index < start, cid] = np.nan
    # role and size only label the curves: a table without them still draws.
    rows = rows.assign(role=rows.get("role", ""), size=rows.get("size", np.nan))
    meta = rows.groupby("cid").agg(site=("site", "first"), group=("group", "first"), role=("role", "first"),
                                   size=("size", "max"))
    if highlight:
        chosen = set(highlight)
        named = [c for c in curves.columns if c in chosen or meta.loc[c, "site"] in chosen]
    else:
        named = [c for c in curves.columns if not meta.loc[c, "group"]]
        if len(named) > MAX_NAMED_COHORTS:  # keep the largest; the rest join the grey envelope
            named = list(meta.loc[named, "size"].sort_values(ascending=False).index[:MAX_NAMED_COHORTS])
    members = [c for c in curves.columns if c not in named]
    fig = _figure(9.5, 5.2)
    ax = fig.add_subplot()
    if members:
        env = plotted[members]
        have = env.notna().sum(axis=1) > 0
        ax.fill_between(
            env.index[have],
            env[have].min(axis=1),
            env[have].max(axis=1),
            color=LIGHT_GREY,
            linewidth=0,
            label=f"other cohorts ({len(members)}): range",
        )
        ax.plot(
            env.index[have],
            env[have].median(axis=1),
            color=GREY,
            linewidth=1.4,
            label=f"other cohorts ({len(members)}): median",
        )
    styles = ("-", "--", "-.", ":")
    for i, cid in enumerate(named):
        m = meta.loc[cid]
        ax.plot(
            plotted.index,
            plotted[cid],
            color=PALETTE[i % len(PALETTE)],
            linewidth=2,
            linestyle=styles[(i // len(PALETTE)) % len(styles)],
            label=f"{cid} ({', '.join(str(x) for x in (m['role'], _int_or_none(m['size'])) if x)})",
        )
    reference = "their own ceiling" if metric == "standard_share" else "skilled standard"
    if drawn == metric:  # the milestone is on the drawn scale only when both are the same measure
        ax.axhline(0.8, color="#333333", linestyle="--", linewidth=1)
        ax.text(0.995, 0.8, "80 % of standard", transform=ax.get_yaxis_transform(), ha="right", va="bottom",
                fontsize=8.5, color="#333333")
    _pct_axis(ax)
    top = float(np.nanmax(plotted.to_numpy())) if plotted.notna().any().any() else 1.0
    ax.set_ylim(0, max(1.05, top * 1.05))
    _date_axis(ax, plotted.index.min(), plotted.index.max())
    ax.set_ylabel("Output per person, share of the skilled standard rate")
    ax.set_xlabel(f"Date ({rs.start_date.year})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)

    # Only cohorts that start below the mark are learning; skilled staff at 100 % from day one would
    # make the median "0 days" and hide the ramp-up the chart is about.
    days_to_80 = []
    for cid in curves.columns:
        curve = curves[cid].dropna()
        if curve.empty or curve.iloc[0] >= 0.8:
            continue
        hit = curve[curve >= 0.8]
        days_to_80.append((hit.index[0] - curve.index[0]).days if not hit.empty else math.nan)
    never = int(np.isnan(days_to_80).sum())
    median_days = median_with_unreached(days_to_80)
    end = fmt_date(curves.index.max())
    learners = len(days_to_80)
    if learners == 0:
        finding = f"Every cohort works at 80 % of {reference} or more from its first day"
    elif math.isfinite(median_days):
        finding = (
            f"Half of the {learners} learning cohorts reach 80 % of {reference} within "
            f"{median_days:.0f} days on the job"
        )
        finding += f"; {never} not yet by {end}" if never else ""
    else:
        finding = f"{never} of {learners} learning cohorts do not reach 80 % of {reference} by {end}"
    _headline(
        fig,
        finding,
        f"{len(curves.columns)} cohorts (median over replications of scenario {base}): {len(named)} named in "
        f"colour, {len(members)} of site groups as a grey range; {learners} of the {len(curves.columns)} start "
        f"below 80 % of {reference}.",
    )
    return fig, (
        "Each cohort's output per person as it learns, as a share of the skilled standard rate (a kind whose "
        "ceiling is 20 % of it tops out at 20 %); the title counts days to 80 % of each cohort's own ceiling. "
        "Named sites in colour, cohorts of site groups as a grey range and median."
    )


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None and pd.notna(value) else None


def _draw_bottleneck_timeline(rs: ResultsSet) -> tuple[Figure, str]:
    matrix = rs.weekly_bottlenecks()
    if matrix.empty:
        raise ChartSkipped("bottlenecks.parquet has no network-level rows for the base scenario")
    stages = list(matrix.columns)
    weeks = list(matrix.index)
    values = matrix.to_numpy().T  # stages × weeks
    # Width capped at what a report column or a journal page shows at full size; long horizons get
    # smaller cell labels and slanted week labels instead of a wider figure.
    fig = _figure(min(11.0, max(6.5, 1.6 + 0.75 * len(weeks))), 1.8 + 0.5 * len(stages))
    ax = fig.add_subplot()
    image = ax.imshow(values, aspect="auto", cmap="Blues", vmin=0, vmax=1)
    ax.grid(False)
    _week_ticks(ax, weeks)
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
    bar = fig.colorbar(image, ax=ax, shrink=0.85, pad=0.01, format=_pct_formatter())
    bar.set_label("Share of the week as bottleneck")
    finding = _bottleneck_finding(matrix)
    _headline(
        fig,
        finding,
        f"Share of each week during which a stage was the network's bottleneck "
        f"(active-period method), mean over replications of scenario {rs.base_variant}.",
    )
    return fig, (
        "Share of each week during which each stage held back the whole network; the darkest cell of a "
        "column is that week's bottleneck."
    )


def _week_ticks(ax: Axes, weeks: Sequence[pd.Timestamp]) -> None:
    """Week labels on a heatmap's x axis, slanted when there are too many to sit side by side."""
    many = len(weeks) > 12
    ax.set_xticks(
        range(len(weeks)),
        [fmt_date(w) for w in weeks],
        rotation=45 if many else 0,
        ha="right" if many else "center",
        rotation_mode="anchor" if many else "default",
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


def _week_start(rs: ResultsSet, dates: pd.Series) -> pd.Series:
    """Week (starting on the scenario start date's weekday) that each date belongs to."""
    offset = (dates - rs.start_date).dt.days // 7
    return rs.start_date + pd.to_timedelta(offset * 7, unit="D")


def _draw_utilisation_heatmap(rs: ResultsSet, stage: str = "sew") -> tuple[Figure, str]:
    daily = _require(
        rs.table("daily"), "daily", ("site", "kind", "stage", "date", "working_h", "off_shift_h")
    )
    base = rs.base_variant
    rows = daily[(daily["stage"] == stage) & (daily["variant"] == base)].copy()
    if rows.empty:
        raise ChartSkipped(f"daily.parquet has no '{stage}' rows for the base scenario")
    rows["shift_h"] = 24.0 - rows["off_shift_h"]
    rows["week"] = _week_start(rs, rows["date"])
    # Ratio of sums over the week and the replications: days without a shift weigh nothing, instead of
    # producing 0/0 or a 100 % from one short day.
    agg = rows.groupby(["site", "week"])[["working_h", "shift_h"]].sum()
    util = (agg["working_h"] / agg["shift_h"].where(agg["shift_h"] > 0)).unstack("week")
    starts = rows[rows["shift_h"] > 0].groupby("site")["date"].min()
    kinds = rows.groupby("site")["kind"].first()
    order = sorted(util.index, key=lambda s: (str(kinds[s]), starts.get(s, pd.Timestamp.max), str(s)))
    util = util.loc[order]
    n_sites, n_weeks = util.shape
    label_size = 8.5 if n_sites <= 30 else (7 if n_sites <= 60 else 5.5)
    fig = _figure(
        min(11.0, max(7.0, 2.8 + 0.6 * n_weeks)), min(20.0, 2.6 + (0.26 if n_sites <= 60 else 0.16) * n_sites)
    )
    ax = fig.add_subplot()
    # Grey for weeks before a site started, or without shifts: absent, not 0 %.
    cmap = mpl.colormaps["viridis"].with_extremes(bad=LIGHT_GREY)
    image = ax.imshow(
        np.ma.masked_invalid(util.to_numpy(dtype=float)),
        aspect="auto",
        cmap=cmap,
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    _week_ticks(ax, list(util.columns))
    ax.set_yticks(range(n_sites), [str(s) for s in util.index], fontsize=label_size)
    ax.set_xlabel("Week starting")
    annotated = n_sites * n_weeks <= 200 and n_weeks <= 14
    if annotated:
        for (si, wi), value in np.ndenumerate(util.to_numpy(dtype=float)):
            if math.isfinite(value):
                ax.text(
                    wi,
                    si,
                    f"{value * 100:.0f}",
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="white" if value < 0.6 else "#222222",
                )
    # Kind blocks: a separator line and the kind's name on the right, so the eye can compare like sites.
    ordered_kinds = [str(kinds[s]) for s in util.index]
    blocks: list[tuple[str, int, int]] = []
    for i, kind in enumerate(ordered_kinds):
        if blocks and blocks[-1][0] == kind:
            blocks[-1] = (kind, blocks[-1][1], i)
        else:
            blocks.append((kind, i, i))
    for _kind, first, _last in blocks[1:]:
        ax.axhline(first - 0.5, color="white", linewidth=2.5)
    right = ax.secondary_yaxis("right")
    right.set_yticks([(a + b) / 2 for _k, a, b in blocks], [k for k, _a, _b in blocks])
    right.tick_params(length=0)
    right.spines["right"].set_visible(False)
    bar = fig.colorbar(
        image,
        ax=ax,
        orientation="horizontal",
        shrink=0.5,
        aspect=35,
        pad=0.02,
        format=_pct_formatter(),
        location="bottom",
    )
    bar.set_label(f"Working hours / shift hours of stage '{stage}' (grey: not started or no shift)")
    overall = float(agg["working_h"].sum() / agg["shift_h"].sum()) if agg["shift_h"].sum() > 0 else math.nan
    per_site = rows.groupby("site")[["working_h", "shift_h"]].sum()
    per_site = per_site["working_h"] / per_site["shift_h"].where(per_site["shift_h"] > 0)
    lowest = per_site.idxmin()
    finding = (
        f"{stage_name(stage).capitalize()} lines worked {fmt_pct(overall)} of their shift hours; "
        f"least used: {lowest} ({fmt_pct(float(per_site[lowest]))})"
    )
    _headline(
        fig,
        finding,
        f"Utilisation of stage '{stage}' per site and week{' (numbers in %)' if annotated else ''}, "
        f"pooled over replications of scenario {base}; sites sorted by kind, then start date.",
    )
    return fig, (
        f"Share of shift hours each site's {stage_name(stage)} stage was working, per week; low values mean "
        "the line waited for input, was blocked or broken down."
    )


def _draw_material_stocks(rs: ResultsSet) -> tuple[Figure, str]:
    base = rs.base_variant
    stock = rs.series("stock", base).copy()
    daily = rs.table("daily")
    starve = (
        daily[(daily["variant"] == base) & daily["stage"].isin(["cut", "sew"])].copy()
        if not _missing(daily, ("stage", "date", "starved_h", "off_shift_h"))
        else pd.DataFrame()
    )
    if stock.empty and starve.empty:
        raise ChartSkipped("no 'stock' series and no cut/sew starved_h in daily.parquet")
    panels = int(not stock.empty) + int(not starve.empty)
    fig = _figure(9.5, 2.2 + 2.4 * panels)
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
            fan = _fan(rows)
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
        _count_axis(ax)
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
        _pct_axis(ax)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("Starved, share of\nshift hours (all sites)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        first = starve["date"].min() if first is None else min(first, starve["date"].min())
        last = starve["date"].max() if last is None else max(last, starve["date"].max())
    assert first is not None and last is not None
    for ax in axes:
        _date_axis(ax, first, last)
    axes[-1].set_xlabel(f"Date ({rs.start_date.year})")
    finding = "; ".join(parts)
    _headline(
        fig,
        finding,
        f"Material stocks summed over sites (median, band p5–p95) and the share of shift "
        f"time cutting and sewing waited for input (days without shifts left out); scenario {base}.",
    )
    return fig, (
        "Material stocks summed over sites (top) and the share of shift time cutting and sewing waited "
        "for input (bottom)."
    )


def _draw_certification_queue(rs: ResultsSet) -> tuple[Figure, str]:
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
    fig = _figure(9.5, 1.6 + 2.0 * len(present))
    axes = fig.subplots(len(present), 1, sharex=True, squeeze=False)[:, 0]
    parts: list[str] = []
    first = min(p[3]["date"].min() for p in present)
    last = max(p[3]["date"].max() for p in present)
    for i, (ax, (name, label, _unit, rows, national)) in enumerate(zip(axes, present, strict=True)):
        rows = rows.dropna(subset=["value"])
        fan = _fan(rows)
        colour = PALETTE[i]
        whose = "our audits" if not national.empty else "all samples"
        if not national.empty and national["value"].notna().any():
            context = _fan(national.dropna(subset=["value"]))
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
        _count_axis(ax)
        _date_axis(ax, first, last)
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
    _headline(
        fig,
        finding,
        f"Certification lab at end of day: median over replications of scenario {base}, band p5–p95 "
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


def _draw_fill_rate_by_channel(rs: ResultsSet) -> tuple[Figure, str]:
    runs = rs.table("runs")
    if runs is None:
        raise ChartSkipped("runs.parquet is missing")
    channels = [kpi_key(FILL_RATE, c) for c in kpis_of(FILL_RATE, runs.columns)]
    if not channels:
        raise ChartSkipped("runs.parquet has no fill_rate.<channel> columns")
    variants = rs.variants
    free = "masks_free" in runs.columns and rs.ok_runs["masks_free"].notna().any()
    fig = _figure(9.5, 4.8)
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
    from sim.labels import words

    ax.set_xticks(x, [words(ch) for ch in channels])
    _pct_axis(ax)
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
        _count_axis(ax_free)
        finding += f"; {fmt_approx(rs.kpi_interval(base, 'masks_free')[0])} masks given free (mean, {base})"
    _headline(
        fig,
        finding,
        "Mean over replications with 95 % confidence intervals (error bars); fill rate = "
        "masks delivered / masks demanded per channel by the horizon.",
    )
    return fig, (
        "Share of each channel's demand delivered by the horizon, with 95 % confidence intervals, and the "
        "masks given free."
    )


def _comparison_kpis(rs: ResultsSet) -> list[tuple[str, str, bool]]:
    """(column, label, higher_is_better) of the KPIs worth comparing, present and finite in all runs."""
    ok = rs.ok_runs
    kpis: list[tuple[str, str, bool]] = [(MAIN_KPI, "Masks delivered by the horizon", True)]
    for name, target in sorted(rs.targets.items(), key=lambda kv: float(kv[1]["masks"])):
        kpis.append(
            (kpi_name(DAY_TARGET, name), f"Days to reach {name} ({fmt_count(float(target['masks']))})", False)
        )
    kpis += [
        ("mean_lead_time_days", "Mean lead time, cutting to delivery (days)", False),
        ("masks_free", "Masks given free", True),
    ]
    # A day-to-target that some runs never reach has no meaningful mean: it is left to the report's
    # probability table rather than drawn with a biased interval.
    return [k for k in kpis if k[0] in ok.columns and ok[k[0]].notna().all() and len(ok) > 0][:4]


def _in_days(kpi: str) -> bool:
    family = kpi_family(kpi)
    return family is not None and family.unit == "days"


def _comparison_references(rs: ResultsSet) -> dict[str, tuple[str, str]]:
    """variant -> (the variant it is compared with, the change between them), like with like: another
    scenario at a sweep point against the base scenario at the same point (the change: that scenario);
    the base scenario at another point against the base variant (the change: the sweep point). A variant
    with no base at its point is left out rather than credited with the sweep's effect."""
    ok = rs.ok_runs
    params = [c for c in ok.columns if c.startswith(PARAM_PREFIX)]
    base = rs.base_scenario
    scenario_of: dict[str, str] = {}
    point_of: dict[str, tuple[Any, ...]] = {}
    for row in ok[["variant", "scenario", *params]].drop_duplicates("variant").itertuples(index=False):
        scenario_of[row[0]] = str(row[1])
        point_of[row[0]] = tuple("" if pd.isna(v) else str(v) for v in row[2:])
    base_at = {point_of[v]: v for v in rs.variants if scenario_of.get(v) == base}
    base_variant = rs.base_variant
    refs: dict[str, tuple[str, str]] = {}
    for v in rs.variants:
        if v == base_variant or v not in scenario_of:
            continue
        if scenario_of[v] != base:
            ref = base_at.get(point_of[v])
            if ref is not None:
                point = v.removeprefix(scenario_of[v]).strip()
                refs[v] = (ref, f"Scenario {scenario_of[v]}" + (f" at {point}" if point else ""))
        else:
            refs[v] = (base_variant, f"Sweep point {v.removeprefix(base).strip()}")
    return refs


def _draw_scenario_comparison(rs: ResultsSet) -> tuple[Figure, str]:
    variants = rs.variants
    if len(variants) < 2:
        raise ChartSkipped(f"only one scenario ({variants[0] if variants else 'none'}): nothing to compare")
    if rs.ok_runs.duplicated(["variant", "replication"]).any():  # design points of an uncertainty study
        raise ChartSkipped("runs of one scenario share replication numbers (design points): no paired comparison")
    kpis = _comparison_kpis(rs)
    if not kpis:
        raise ChartSkipped("no KPI is available for every run")
    base = rs.base_variant
    refs = _comparison_references(rs)
    others = [v for v in variants if v != base]
    ordered = [base, *others]
    fig = _figure(9.5, 1.4 + len(kpis) * (0.9 + 0.42 * len(ordered)))
    axes = fig.subplots(len(kpis), 1, squeeze=False)[:, 0]
    finding = ""
    for ax, (column, label, higher_better) in zip(axes, kpis, strict=True):
        ticks = []
        for j, variant in enumerate(ordered):
            mean, low, high, n = rs.kpi_interval(variant, column)
            y = len(ordered) - 1 - j
            colour = PALETTE[variants.index(variant) % len(PALETTE)]
            xerr = np.nan_to_num([[max(mean - low, 0)], [max(high - mean, 0)]])
            ax.errorbar([mean], [y], xerr=xerr, fmt="o", color=colour, capsize=4, markersize=7, linewidth=1.5)
            if variant == base:
                ticks.append(f"{variant} (reference, n={n})")
                continue
            if variant not in refs:
                ticks.append(f"{variant} (n={n})\nno base run at this point")
                continue
            ref = refs[variant][0]
            diff, dlo, dhi = paired_difference(rs.kpi_by_replication(ref, column),
                                               rs.kpi_by_replication(variant, column))
            if _in_days(column):
                text = f"Δ {diff:+.1f} [{dlo:+.1f}, {dhi:+.1f}] days".replace("-", "−")
            else:
                text = f"Δ {fmt_signed_approx(diff)} [{fmt_signed_approx(dlo)}, {fmt_signed_approx(dhi)}]"
            ticks.append(f"{variant} (n={n})\n{text}" + ("" if ref == base else f" vs {ref}"))
        ax.set_yticks(range(len(ordered))[::-1], ticks)
        ax.set_ylim(-0.6, len(ordered) - 0.4)
        ax.grid(axis="x", color="#E5E5E5")
        ax.grid(axis="y", visible=False)
        better = "higher is better" if higher_better else "lower is better"
        ax.set_title(f"{label} — {better}", loc="left")
        if not _in_days(column):
            _count_axis(ax, "x")
    # The finding: the variant that moves the main KPI most, with its interval of the difference.
    # Each variant is credited with its own change only (see _comparison_references).
    if refs and MAIN_KPI in rs.ok_runs.columns:
        diffs = {v: paired_difference(rs.kpi_by_replication(ref, MAIN_KPI), rs.kpi_by_replication(v, MAIN_KPI))
                 for v, (ref, _) in refs.items()}
        best = max(diffs, key=lambda v: diffs[v][0] if math.isfinite(diffs[v][0]) else -math.inf)
        d, lo, hi = diffs[best]
        ref, change = refs[best]
        ci = f" (95 % CI {fmt_signed_approx(lo)} to {fmt_signed_approx(hi)})" if math.isfinite(lo) else ""
        finding = f"{change} delivers {fmt_signed_approx(d)} masks vs {ref}{ci}"
        if math.isfinite(lo) and lo <= 0 <= hi:
            finding += ": not distinguishable from the base with these replications"
    else:
        finding = f"{len(others)} scenarios compared with {base}"
    _headline(
        fig,
        finding,
        "Mean per scenario with 95 % confidence interval; Δ = difference vs the base at the same sweep point "
        "with a 95 % interval of the paired difference (same replications, common random numbers), in the "
        "KPI's unit.",
    )
    return fig, (
        "Key results per scenario with 95 % confidence intervals; Δ is the difference from the base "
        "scenario, with its own interval."
    )


# --------------------------------------------------------------------------------------------------
# Rendering and public API
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartOutcome:
    """What happened to one chart: drawn (path, title, caption) or skipped (reason)."""

    name: str
    path: Path | None
    title: str = ""
    caption: str = ""
    reason: str | None = None


def _save(fig: Figure, out_dir: Path, name: str) -> Path:
    """Write the PNG and SVG each to a temporary file renamed into place, so that a failure (a full disk)
    never leaves a partial chart under the final name."""
    from sim.runs.atomic import atomic_write

    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"{name}.png"
    meta_png = {"Title": fig.get_suptitle(), "Software": "resilience-sim (matplotlib)"}
    atomic_write(png, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, metadata=meta_png))
    atomic_write(out_dir / f"{name}.svg",
                 lambda tmp: fig.savefig(tmp, format="svg", metadata={"Title": fig.get_suptitle(), "Date": None}))
    return png


def _render(
    name: str, draw: Callable[[ResultsSet], tuple[Figure, str]], rs: ResultsSet, out_dir: Path
) -> ChartOutcome:
    with mpl.rc_context(STYLE):
        try:
            fig, caption = draw(rs)
        except ChartSkipped as skipped:
            return ChartOutcome(name, None, reason=skipped.reason)
        path = _save(fig, Path(out_dir), name)
    return ChartOutcome(name, path, title=fig.get_suptitle().replace("\n", " "), caption=caption)


def _public(outcome: ChartOutcome) -> Path:
    if outcome.path is None:
        raise ChartSkipped(outcome.reason or "no data")
    return outcome.path


def cumulative_delivered(results: ResultsSet | str | Path, out_dir: str | Path) -> Path:
    """Cumulative masks delivered per scenario (median, p5–p95 band) against the targets."""
    return _public(
        _render("cumulative_delivered", _draw_cumulative_delivered, _as_results(results), Path(out_dir))
    )


def daily_output_by_kind(
    results: ResultsSet | str | Path, out_dir: str | Path, rolling_days: int = 7
) -> Path:
    """Masks sewn per day, stacked by site kind (base scenario, median; `rolling_days` ≤ 1 for raw days)."""

    def draw(rs: ResultsSet) -> tuple[Figure, str]:
        return _draw_daily_output_by_kind(rs, rolling_days)

    return _public(_render("daily_output_by_kind", draw, _as_results(results), Path(out_dir)))


def rampup_cohorts(
    results: ResultsSet | str | Path,
    out_dir: str | Path,
    metric: str = "standard_share",
    highlight: Sequence[str] | None = None,
) -> Path:
    """Learning curves per cohort; `highlight` names sites or 'site · cohort' ids to draw in colour."""

    def draw(rs: ResultsSet) -> tuple[Figure, str]:
        return _draw_rampup_cohorts(rs, metric, highlight)

    return _public(_render("rampup_cohorts", draw, _as_results(results), Path(out_dir)))


def bottleneck_timeline(results: ResultsSet | str | Path, out_dir: str | Path) -> Path:
    """Weeks × stages heatmap of the network bottleneck share (base scenario, mean over replications)."""
    return _public(
        _render("bottleneck_timeline", _draw_bottleneck_timeline, _as_results(results), Path(out_dir))
    )


def utilisation_heatmap(results: ResultsSet | str | Path, out_dir: str | Path, stage: str = "sew") -> Path:
    """Sites × weeks: working hours / shift hours of one stage (base scenario, pooled over replications)."""

    def draw(rs: ResultsSet) -> tuple[Figure, str]:
        return _draw_utilisation_heatmap(rs, stage)

    return _public(_render("utilisation_heatmap", draw, _as_results(results), Path(out_dir)))


def material_stocks(results: ResultsSet | str | Path, out_dir: str | Path) -> Path:
    """Material stocks by material (top) and starvation of cutting and sewing (bottom), aligned in time."""
    return _public(_render("material_stocks", _draw_material_stocks, _as_results(results), Path(out_dir)))


def certification_queue(results: ResultsSet | str | Path, out_dir: str | Path) -> Path:
    """Lab queue, mean wait of tests started, masks held awaiting a verdict."""
    return _public(
        _render("certification_queue", _draw_certification_queue, _as_results(results), Path(out_dir))
    )


def fill_rate_by_channel(results: ResultsSet | str | Path, out_dir: str | Path) -> Path:
    """Fill rate per channel and scenario with 95 % confidence intervals, and masks given free."""
    return _public(
        _render("fill_rate_by_channel", _draw_fill_rate_by_channel, _as_results(results), Path(out_dir))
    )


def scenario_comparison(results: ResultsSet | str | Path, out_dir: str | Path) -> Path:
    """Key KPIs per scenario with confidence intervals and differences vs the base."""
    return _public(
        _render("scenario_comparison", _draw_scenario_comparison, _as_results(results), Path(out_dir))
    )


CHARTS: dict[str, Callable[[ResultsSet], tuple[Figure, str]]] = {
    "cumulative_delivered": _draw_cumulative_delivered,
    "daily_output_by_kind": _draw_daily_output_by_kind,
    "rampup_cohorts": _draw_rampup_cohorts,
    "bottleneck_timeline": _draw_bottleneck_timeline,
    "utilisation_heatmap": _draw_utilisation_heatmap,
    "material_stocks": _draw_material_stocks,
    "certification_queue": _draw_certification_queue,
    "fill_rate_by_channel": _draw_fill_rate_by_channel,
    "scenario_comparison": _draw_scenario_comparison,
}


def render_all(results: ResultsSet | str | Path, out_dir: str | Path | None = None) -> list[ChartOutcome]:
    """Draw every chart into `out_dir` (default `<results>/charts`); skipped charts carry their reason."""
    rs = _as_results(results)
    target = Path(out_dir) if out_dir is not None else rs.dir / "charts"
    return [_render(name, draw, rs, target) for name, draw in CHARTS.items()]


def make_all(results_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Path | None]:
    """Draw every chart; {name: PNG path, or None where the chart was skipped for lack of data}."""
    return {o.name: o.path for o in render_all(results_dir, out_dir)}
