"""Aggregating the big tables while they are read (sim.results.scan, `ResultsSet.rows`) gives what pandas gives on
the full frame: on the real fixture (`results_dir` in tests/conftest.py: two scenarios, a failed run), the report's
aggregates are recomputed here the way the report computed them before, from `ResultsSet.table` frames, and
compared; then the edge cases the fixture lacks (missing keys and values, times of day, two rows of one run)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.report.branches import HOURS, site_shares
from sim.report.charts.materials import _starved_per_day
from sim.report.charts.workforce import _cohort_curves
from sim.results import scan
from sim.results.results_set import ResultsSet
from sim.results.scan import CodedTable

SUM_TOLERANCE = 1e-12  # sums add in row order, pandas with Kahan compensation: the last bits may differ


def _as_text(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Identifiers as text and rows sorted by the keys, so that frames of categories and of text compare."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].astype(str)
    return out.sort_values(keys).reset_index(drop=True)


def _same(got: pd.DataFrame, expected: pd.DataFrame, keys: list[str], exact: bool = False) -> None:
    assert len(got) == len(expected) > 0
    pd.testing.assert_frame_equal(_as_text(got, keys)[list(expected.columns)], _as_text(expected, keys),
                                  check_dtype=False, check_exact=exact, rtol=SUM_TOLERANCE, atol=0)


@pytest.fixture(scope="module")
def rs(results_dir: Path) -> ResultsSet:
    return ResultsSet(results_dir)


def test_rows_are_the_ok_runs_of_a_variant(rs: ResultsSet) -> None:
    daily = rs.table("daily")
    assert daily is not None
    for variant in rs.variants:
        rows = rs.rows("daily", variant)
        assert rows is not None
        assert len(rows) == int((daily["variant"] == variant).sum()) > 0
    every = rs.rows("daily")
    assert every is not None and len(every) == len(daily)  # the failed run's rows are left out of both
    assert rs.end_date == max(daily["date"].max(), rs.table("series")["date"].max())
    assert list(every.observed("date")) == sorted(daily["date"].unique())


def test_sums_match_pandas_groupby(rs: ResultsSet) -> None:
    daily = rs.table("daily")
    for variant in rs.variants:
        mine = daily[daily["variant"] == variant]
        rows = rs.rows("daily", variant)
        for keys in (["run_id", "site", "kind", "stage"], ["stage", "run_id", "date"], ["site", "kind", "date"]):
            got = rows.sums(keys, {h: rows.number(h) for h in (*HOURS, "wip")})  # wip has NaN: adds nothing
            _same(got, mine.groupby(keys)[[*HOURS, "wip"]].sum().reset_index(), keys)
        sewing = rows.where_in("stage", ["sew"])
        shift = 24.0 - sewing.number("off_shift_h")
        got = sewing.sums(["site", "date"], {"shift_h": shift, "shifts": shift > 0})
        sew = mine[mine["stage"] == "sew"].assign(shift_h=lambda f: 24.0 - f["off_shift_h"])
        expected = sew.assign(shifts=sew["shift_h"] > 0).groupby(["site", "date"])[["shift_h", "shifts"]].sum()
        _same(got, expected.reset_index(), ["site", "date"])


@pytest.mark.parametrize("in_blocks", [True, False])
def test_medians_maxima_and_first_rows_match_pandas(rs: ResultsSet, monkeypatch: pytest.MonkeyPatch,
                                                    in_blocks: bool) -> None:
    """Both ways: runs of the same rows in the same order (as the runner writes them), and any rows."""
    if in_blocks:
        assert rs.rows("cohorts", rs.base_variant)._block(["site", "cohort", "stage", "date"], "run_id")
    else:
        monkeypatch.setattr(scan.Rows, "_block", lambda *_: None)
    cohorts = rs.table("cohorts")
    keys = ["site", "cohort", "stage", "date"]
    for variant in rs.variants:
        mine = cohorts[cohorts["variant"] == variant].reset_index(drop=True)
        rows = rs.rows("cohorts", variant)
        got = rows.aggregate(keys, medians={c: rows.number(c) for c in ("standard_share", "efficiency")},
                             maxima={"size": rows.number("size")}, firsts=["role", "group"])
        grouped = mine.groupby(keys)
        expected = grouped[["standard_share", "efficiency"]].median().join(grouped["size"].max())
        _same(got[[*keys, "standard_share", "efficiency", "size"]], expected.reset_index(), keys, exact=True)
        first = grouped.apply(lambda g: g.index[0], include_groups=False).rename("first_row")
        expected = grouped[["role", "group"]].first().join(first).reset_index()
        _same(got[[*keys, "role", "group", "first_row"]], expected, keys, exact=True)
        seen = rows.distinct(["site", "cohort", "stage"])
        order = mine.groupby(["site", "cohort", "stage"], sort=False, dropna=False).size().reset_index()
        assert seen.astype(str).values.tolist() == order[["site", "cohort", "stage"]].astype(str).values.tolist()


def test_report_aggregates_match_the_full_frame_computation(rs: ResultsSet) -> None:
    """Each aggregate the report draws, as it computed it before from the whole frame."""
    base = rs.base_variant
    daily = rs.table("daily")
    mine = daily[daily["variant"] == base]
    sums = mine.groupby(["run_id", "site", "kind", "stage"])[list(HOURS)].sum().reset_index()
    shift = sums[list(HOURS)].sum(axis=1)
    expected = sums[shift > 0].assign(starved_share=lambda f: f["starved_h"] / shift[shift > 0],
                                      blocked_share=lambda f: f["blocked_h"] / shift[shift > 0])
    _same(site_shares(rs), expected, ["run_id", "site", "kind", "stage"])

    starve = mine[mine["stage"].isin(["cut", "sew"])].assign(shift_h=lambda f: 24.0 - f["off_shift_h"])
    expected = starve.groupby(["stage", "run_id", "date"])[["starved_h", "shift_h"]].sum().reset_index()
    _same(_starved_per_day(rs, base), expected, ["stage", "run_id", "date"])

    bottlenecks = rs.table("bottlenecks")
    network = bottlenecks[(bottlenecks["level"] == "network") & (bottlenecks["variant"] == base)]
    expected = network.groupby(["run_id", "week_start", "stage"])["share"].sum().unstack("stage", fill_value=0.0)
    pd.testing.assert_frame_equal(rs.network_shares(base), expected, check_exact=False, rtol=SUM_TOLERANCE,
                                  check_index_type=False, check_column_type=False, check_names=False)

    curves, plotted, meta, drawn = _cohort_curves(rs, base, "standard_share")
    cohorts = rs.table("cohorts")
    rows = cohorts[cohorts["variant"] == base]
    cid = rows.groupby(["site", "cohort", "stage"], sort=False, dropna=False).ngroup().rename("cid")
    rows = rows.assign(cid=cid)
    for column, got in (("standard_share", curves), (drawn, plotted)):
        expected = rows.groupby(["cid", "date"])[column].median().unstack("cid").sort_index()
        first_day = rows[(rows["present"] > 0) & (rows["standard_share"] > 0)].groupby("cid")["date"].min()
        for c in expected.columns:
            expected.loc[expected.index < first_day.get(c, pd.Timestamp.max), c] = np.nan
        pd.testing.assert_frame_equal(got, expected, check_names=False, check_column_type=False)
    labels = rows.groupby("cid").agg(group=("group", "first"), role=("role", "first"), size=("size", "max"))
    assert meta[["group", "role"]].astype(str).equals(labels[["group", "role"]].astype(str))
    assert meta["size"].tolist() == labels["size"].astype(float).tolist()


# ------------------------------------------------------------------------------------ edge cases
@pytest.fixture()
def ragged(tmp_path: Path) -> Path:
    """A small table with what the fixture lacks: missing keys and values, times of day in the dates, a run
    with two rows of one group (the median then cannot be read from a groups × runs matrix), two row groups."""
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({
        "run_id": rng.choice(["a/p0/r0", "a/p0/r1", "b/p0/r0", None], n, p=[0.4, 0.3, 0.25, 0.05]),
        "site": rng.choice(["x", "y", "z", None], n),
        "date": pd.Timestamp("2020-03-30") + pd.to_timedelta(rng.integers(0, 5 * 24, n), unit="h"),
        "value": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "size": rng.integers(1, 9, n),
    })
    frame.loc[7, "date"] = pd.NaT
    path = tmp_path / "ragged.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=150)
    return path


def _frame(path: Path) -> pd.DataFrame:
    frame = pq.read_table(path, read_dictionary=["run_id", "site"]).to_pandas()
    return frame.assign(date=pd.to_datetime(frame["date"]).dt.normalize())


@pytest.mark.parametrize("dense", [True, False])
def test_edge_cases_match_pandas(ragged: Path, monkeypatch: pytest.MonkeyPatch, dense: bool) -> None:
    if not dense:  # groups numbered by pandas.factorize instead of a lookup array
        monkeypatch.setattr(scan, "_DENSE_SPACE", 1)
    frame = _frame(ragged)
    rows = CodedTable(ragged).rows()
    for keys in (["site", "date"], ["run_id", "site"], ["date"]):
        got = rows.aggregate(keys, sums={"value": rows.number("value")}, medians={"median": rows.number("value")},
                             maxima={"size": rows.number("size")})
        grouped = frame.groupby(keys, observed=True)
        expected = pd.concat([grouped["value"].sum(), grouped["value"].median().rename("median"),
                              grouped["size"].max()], axis=1).reset_index()
        _same(got, expected, keys)
    got = rows.sums(["site", "date"], {"value": rows.number("value")}, keep_missing=["site"])
    expected = frame.groupby(["site", "date"], dropna=False, observed=True)["value"].sum().reset_index()
    _same(got, expected[expected["date"].notna()], ["site", "date"])
    seen = rows.distinct(["site", "run_id"])
    order = frame.groupby(["site", "run_id"], sort=False, dropna=False, observed=True).size().reset_index()
    assert seen.astype(str).values.tolist() == order[["site", "run_id"]].astype(str).values.tolist()
    kept = rows.where_in("run_id", ["a/p0/r1", "b/p0/r0"])
    assert len(kept) == int(frame["run_id"].isin(["a/p0/r1", "b/p0/r0"]).sum())
    assert list(rows.observed("date")) == sorted(frame["date"].dropna().unique())


def test_row_medians_with_many_counts_match_numpy() -> None:
    """Rows with more distinct counts of values than one partition serves: each count partitioned apart."""
    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(60, 25))
    matrix[rng.random(matrix.shape) < 0.4] = np.nan
    matrix[0] = np.nan
    expected = [math.nan if np.isnan(row).all() else float(np.nanmedian(row)) for row in matrix]
    np.testing.assert_array_equal(scan._row_medians(matrix.copy()), expected)
