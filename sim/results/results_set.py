"""`ResultsSet`: the results of one experiment, read lazily from a results folder through the tables' contract
(sim.results.tables), with the statistics the charts and the report share (intervals, paired differences, medians where
'never reached' counts as later than any day)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.results import analysis
from sim.results.scan import CodedTable, Rows, open_table
from sim.results.tables import (
    DATE_COLUMNS,
    DAY_TARGET,
    FLOW_STAGES,
    PARAM_PREFIX,
    REACHED_BY_DATE,
    RUN_TABLES,
    kpi_name,
)

STUDY_NOMINAL = "nominal"  # sim.uncertainty.study.NOMINAL (a layer above): a study's nominal point


class TableMissing(LookupError):
    """A table the caller needs is absent or lacks columns; `reason` says which, in words for the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def missing_columns(table: pd.DataFrame | Rows | None, columns: Iterable[str]) -> list[str]:
    """Columns of `columns` absent from `table` (a frame, or the rows of a table read as codes; all of them if the
    table is absent)."""
    return list(columns) if table is None else [c for c in columns if c not in table.columns]


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


TABLES: tuple[str, ...] = ("runs", *RUN_TABLES)


class ResultsSet:
    """The results of one experiment, read lazily from a results directory (docs/results.md).

    Tables are read on first use and kept. All tables except `runs` are restricted to runs whose status is
    'ok' (a failed run's partial rows must not bias medians) and get a `variant` column: the scenario name,
    plus the sweep point when runs.parquet has `param.<path>` columns, so that sweep points are never pooled.
    Date columns are parsed to pandas Timestamps whatever the writer used (date32, string, datetime).
    """

    def __init__(self, results_dir: str | Path, columns: dict[str, Iterable[str]] | None = None) -> None:
        """`columns`: for some tables, the only columns to read (those the file has); a thousand runs' daily and
        cohorts tables hold tens of millions of rows, and their unread columns would cost gigabytes."""
        self.dir = Path(results_dir)
        self.columns = {name: list(cols) for name, cols in (columns or {}).items()}
        if not self.dir.is_dir():
            raise FileNotFoundError(f"results directory {self.dir} does not exist")
        self._tables: dict[str, pd.DataFrame | None] = {}
        self._coded: dict[str, CodedTable | None] = {}
        self._reader: Executor | None = None  # the thread reading big tables ahead (`prefetch`)
        self._manifest: dict[str, Any] | None = None
        # Aggregates that several charts and sections read (site shares of shift time, ...), computed once.
        self.derived: dict[Any, Any] = {}

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
        spans = self._date_spans()
        if spans:
            return spans[0][0]
        raise ValueError(f"{self.dir}: no start_date in manifest.json and no dated table")

    @property
    def targets(self) -> dict[str, dict[str, Any]]:
        return dict(self.manifest.get("targets") or {})

    def target_by(self, name: str) -> pd.Timestamp | None:
        by = self.targets.get(name, {}).get("by")
        return pd.Timestamp(by).normalize() if by else None

    @property
    def is_study(self) -> bool:
        """An uncertainty study's folder (design.parquet beside runs.parquet). Its design points are a design,
        not replications of one scenario: the report's section "What drives the answer" describes them by what
        the design supports, and the rest of the report reads the nominal point's replications as its scenario."""
        return (self.dir / "design.parquet").exists()

    @property
    def base_scenario(self) -> str:
        if self.is_study:
            return STUDY_NOMINAL
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

        path = self.dir / f"{name}.parquet"
        if not path.exists():
            return None
        df = self._read(path, self.columns.get(name))
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
            # Vectorised over the run ids, not the rows (millions at a thousand runs): codes of each row's run,
            # its variant looked up once per run; rows of failed runs dropped only when there are any.
            codes, run_ids = pd.factorize(df["run_id"])
            kept = np.array([r in variant_of for r in run_ids], dtype=bool)
            if not kept.all():
                keep_rows = kept[codes] & (codes >= 0)
                df, codes = df[keep_rows].copy(), codes[keep_rows]
            df["variant"] = _labels(codes, [variant_of.get(r) for r in run_ids], df.index)
        else:
            df["variant"] = df["scenario"]
        return df

    def rows(self, name: str, variant: str | None = None) -> Rows | None:
        """The rows of the ok runs (of `variant`) of a per-run table, to aggregate while reading (sim.results.scan)
        instead of a pandas frame of its rows (tens of millions at a thousand runs); None if the file is absent or
        empty. Identifiers and dates are read once as integer codes and kept; numbers are read when asked for."""
        table = self._coded_table(name)
        if table is None or table.num_rows == 0:
            return None
        runs = self.table("runs")
        if runs is None or "run_id" not in table.columns:  # no runs table: the variant is the scenario
            return table.rows() if variant is None else table.rows().where_in("scenario", [variant])
        ok = runs[runs["status"] == "ok"]
        return table.rows().where_in("run_id", ok["run_id"] if variant is None else
                                     ok.loc[ok["variant"] == variant, "run_id"])

    def prefetch(self, plan: Iterable[tuple[str, Iterable[str], Iterable[str]]]) -> None:
        """Read ahead, in one background thread, the (table, key columns, number columns) of `plan` in that order,
        while the caller draws: the work of `rows` then waits less. Stopped by `close`."""
        from concurrent.futures import ThreadPoolExecutor

        if self._reader is None:
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="resultsset-prefetch")
        for name, keys, numbers in plan:
            table = self._coded_table(name)
            if table is not None:
                table.prefetch(self._reader, ["run_id", *keys], numbers)

    def close(self) -> None:
        """Stop reading ahead (what is not read yet is dropped)."""
        if self._reader is not None:
            self._reader.shutdown(wait=False, cancel_futures=True)
            self._reader = None

    def _coded_table(self, name: str) -> CodedTable | None:
        if name not in RUN_TABLES:
            raise KeyError(f"rows of the per-run tables only ({', '.join(RUN_TABLES)}), not {name!r}")
        if name not in self._coded:
            path = self.dir / f"{name}.parquet"
            self._coded[name] = open_table(path) if path.exists() else None
        return self._coded[name]

    @staticmethod
    def _read(path: Path, columns: list[str] | None) -> pd.DataFrame:
        from sim.results.folder import read_results_table

        if columns is None:
            return read_results_table(path)
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pq.read_schema(path)
            wanted = [c for c in columns if c in schema.names]
            # Identifiers (run ids, sites, stages) repeat over millions of rows: read as categories, a code per row.
            ids = [c for c in wanted if pa.types.is_string(schema.field(c).type)
                   or pa.types.is_large_string(schema.field(c).type)]
            return pq.read_table(path, columns=wanted, read_dictionary=ids).to_pandas()
        except Exception:
            return read_results_table(path)

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
            raise TableMissing("runs.parquet is missing")
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
        if self.is_study:  # the design points are left to the study's own section
            seen = [v for v in seen if scenario_of.get(v, v) == STUDY_NOMINAL]
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

    def _date_spans(self) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """(first, last) date of series.parquet, then of daily.parquet (ok runs), for those that have rows; computed
        once (the report asks for the horizon dozens of times)."""
        if "date_spans" in self.derived:
            return self.derived["date_spans"]
        spans = []
        series = self.table("series")
        if series is not None and not series.empty:
            spans.append((series["date"].min(), series["date"].max()))
        daily = self.rows("daily")
        if daily is not None and len(daily) and "date" in daily.columns:
            dates = daily.observed("date")
            spans.append((dates[0], dates[-1]) if len(dates) else (pd.NaT, pd.NaT))
        self.derived["date_spans"] = spans
        return spans

    @property
    def end_date(self) -> pd.Timestamp:
        """Last simulated day present in the dated tables."""
        ends = [last for _first, last in self._date_spans()]
        if not ends:
            raise ValueError(f"{self.dir}: no dated table")
        return max(ends)

    def series(self, name: str, variant: str | None = None) -> pd.DataFrame:
        """Rows of one series of series.parquet (optionally one variant); empty frame if absent."""
        table = self.table("series")
        if table is None or missing_columns(table, ("series", "key", "value", "date")):
            return pd.DataFrame(columns=["run_id", "variant", "date", "key", "value"])
        rows = table[table["series"] == name]
        if variant is not None:
            rows = rows[rows["variant"] == variant]
        return rows

    def summary(self) -> pd.DataFrame | None:
        """summary.csv (the `summary` table of sim/results/tables.py) as `variant, kpi, n, mean, low, high`, or None.

        Sweeps are not matched (the summary is per scenario), so with sweep points the caller recomputes
        from runs.parquet. A summary without the contract's columns is an error, not a silent fallback.
        """
        path = self.dir / "summary.csv"
        runs = self.table("runs")
        if not path.exists() or (runs is not None and any(c.startswith(PARAM_PREFIX) for c in runs.columns)):
            return None
        raw = pd.read_csv(path)
        missing = missing_columns(raw, ("scenario", "kpi", "n", "mean", "ci_low", "ci_high"))
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

    def network_shares(self, variant: str) -> pd.DataFrame:
        """(run_id, week_start) × stage: the share of each week a stage held the whole network back, in each ok
        run of `variant` (0 where the stage never did). Computed once per variant."""
        key = ("network_shares", variant)
        if key not in self.derived:
            # Summed while bottlenecks.parquet is read (its site-level rows, most of them, are never a frame).
            rows = self.rows("bottlenecks", variant)
            network = (rows.where_in("level", ["network"]) if rows is not None and not missing_columns(
                rows, ("run_id", "level", "stage", "share", "week_start")) else None)
            if network is None or not len(network):
                self.derived[key] = pd.DataFrame()
            else:
                sums = network.sums(("run_id", "week_start", "stage"), {"share": network.number("share")})
                # Identifiers as text, as pandas reads them: runs and stages in alphabetical order, not the file's.
                sums = sums.astype({"run_id": str, "stage": str})
                self.derived[key] = (sums.groupby(["run_id", "week_start", "stage"])["share"].sum()
                                     .unstack("stage", fill_value=0.0))
        return self.derived[key]

    def weekly_bottlenecks(self, variant: str | None = None) -> pd.DataFrame:
        """Weeks × stages mean network bottleneck share over the ok runs of `variant` (base by default).

        A stage missing from a run's week had share 0 in that run: zeros are filled before averaging, so
        a stage that was the bottleneck in one replication only is not inflated.
        """
        per_run = self.network_shares(variant or self.base_variant)
        if per_run.empty:
            return pd.DataFrame()
        matrix = per_run.groupby(level="week_start").mean()
        stages = [s for s in FLOW_STAGES if s in matrix.columns] + sorted(
            s for s in matrix.columns if s not in FLOW_STAGES
        )
        return matrix[stages].sort_index()


def _labels(codes: np.ndarray, labels: list[str | None], index: pd.Index) -> pd.Series:
    """labels[code] for each row as a string column, built by pyarrow from the codes (not one Python string a row)."""
    import pyarrow as pa

    strings = pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), pa.array(labels, type=pa.string()))
    return pd.Series(pd.array(strings.cast(pa.string()), dtype="str"), index=index)


def as_results(results: ResultsSet | str | Path) -> ResultsSet:
    return results if isinstance(results, ResultsSet) else ResultsSet(results)
