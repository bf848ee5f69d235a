"""The big per-run tables (daily, cohorts, bottlenecks: tens of millions of rows at a thousand replications)
aggregated while they are read, so that no chart or table needs a pandas frame of their rows.

`CodedTable` reads one Parquet table a column at a time: an identifier or date column becomes integer codes into
its distinct values, kept (one or two bytes a row); a number column is read when asked for and not kept; both
can be read ahead in a background thread. `Rows` is a selection of its rows (the ok runs of one variant, some
stages, ...) with the aggregates the report needs: per group, sums, maxima, medians (over the runs) and the
values of its first row; the distinct combinations of some columns in order of first appearance.

Each gives what pandas gives on the full frame read with identifiers as categories (as `ResultsSet.table` reads
it): groups ordered by the keys (categories in order of first appearance in the file, dates in time order), NaN
skipped by sums and medians, groups with a missing key dropped. One difference: a sum adds its rows in file order
without pandas' compensated (Kahan) summation, so it may differ from pandas' in its last bits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.results.tables import DATE_COLUMNS

_DENSE_SPACE = 1 << 24  # up to this many possible key combinations, groups are numbered through a lookup array


def open_table(path: Path) -> CodedTable:
    """A big table read column by column; a file pyarrow cannot read is one ResultsError line."""
    import pyarrow

    from sim.results.folder import unreadable

    try:
        return CodedTable(path)
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        raise unreadable(path, exc) from None


class CodedTable:
    """One Parquet table of a results folder, read column by column (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        metadata = pq.read_metadata(self.path)
        self.schema = metadata.schema.to_arrow_schema()
        self.num_rows = int(metadata.num_rows)
        self._keys: dict[str, tuple[np.ndarray, pd.Index]] = {}
        self._pending: dict[tuple[str, str], Future[Any]] = {}  # columns being read ahead, by kind and name

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def rows(self) -> Rows:
        return Rows(self, None)

    def prefetch(self, executor: Executor, keys: Iterable[str] = (), numbers: Iterable[str] = ()) -> None:
        """Read these columns ahead on `executor` (pyarrow and numpy work without the interpreter lock, so the
        reading overlaps whatever the caller does meanwhile): keys are then kept as usual; a number is handed over
        to its first reader and not kept. Columns the file lacks are left out."""
        for kind, columns, read in (("key", keys, self._read_key), ("number", numbers, self._read_number)):
            for column in columns:
                if column in self.columns and column not in self._keys and (kind, column) not in self._pending:
                    self._pending[kind, column] = executor.submit(read, column)

    def key(self, column: str) -> tuple[np.ndarray, pd.Index]:
        """(code of each row, -1 where missing; the distinct values): identifiers in order of first appearance (the
        order of the categories pandas makes of a dictionary-encoded column), dates normalised and in time order."""
        if column not in self._keys:
            ahead = self._pending.pop(("key", column), None)
            self._keys[column] = ahead.result() if ahead is not None else self._read_key(column)
        return self._keys[column]

    def number(self, column: str) -> np.ndarray:
        """The column as float64, NaN where missing (read each time: at eight bytes a row it is not kept)."""
        ahead = self._pending.pop(("number", column), None)
        return ahead.result() if ahead is not None else self._read_number(column)

    def _read_number(self, column: str) -> np.ndarray:
        import pyarrow.parquet as pq

        data = pq.read_table(self.path, columns=[column]).column(0)
        out = np.empty(len(data), dtype=float)
        start = 0
        for chunk in data.chunks:  # into one array, without a second whole copy of the column
            out[start:start + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
            start += len(chunk)
        return out

    def _read_key(self, column: str) -> tuple[np.ndarray, pd.Index]:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        kind = self.schema.field(column).type
        text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        data = pq.read_table(self.path, columns=[column], read_dictionary=[column] if text else None).column(0)
        if column in DATE_COLUMNS and (pa.types.is_date32(kind) or (pa.types.is_timestamp(kind) and kind.tz is None)):
            return _day_codes(data)
        if not pa.types.is_dictionary(data.type):
            data = pc.dictionary_encode(data)
        # One dictionary for every row group (in order of first appearance: the categories pandas makes of the
        # column), the rows' codes its indices.
        data = pa.table({column: data}).unify_dictionaries().column(0)
        if not data.num_chunks:
            return np.empty(0, dtype=np.int8), pd.Index([])
        codes = np.concatenate([(pc.fill_null(c.indices, -1) if c.null_count else c.indices).to_numpy()
                                for c in data.chunks])
        raw = data.chunk(0).dictionary
        if text:
            return codes.astype(np.min_scalar_type(-max(len(raw), 1))), pd.Index(raw.to_pylist())
        # Other types: missing values and, for dates, values of the same day share a code.
        if column in DATE_COLUMNS:
            plain = [None if pd.isna(t) else t for t in pd.to_datetime(pd.Series(raw.to_pandas())).dt.normalize()]
        else:
            plain = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in raw.to_pylist()]
        seen: dict[Any, int] = {}
        lookup = np.array([-1 if v is None else seen.setdefault(v, len(seen)) for v in plain] + [-1], dtype=np.int64)
        values = pd.Index(list(seen))
        if column in DATE_COLUMNS:  # in time order, as pandas sorts a date key
            order = np.argsort(values.to_numpy(), kind="stable")
            rank = np.append(np.argsort(order), -1)
            lookup, values = rank[lookup], values[order]
        return lookup[codes].astype(np.min_scalar_type(-max(len(values), 1))), values


def _day_codes(data: Any) -> tuple[np.ndarray, pd.Index]:
    """Codes of a date or naive timestamp column by whole days (pandas' normalize()), in time order: integer
    arithmetic on the stored numbers, no per-value conversion."""
    import pyarrow as pa

    unit = data.type.unit if pa.types.is_timestamp(data.type) else "D"  # date32: days since the epoch
    per_day = {"D": 1, "s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}[unit]
    raw = np.concatenate([c.to_numpy(zero_copy_only=False).astype(f"datetime64[{unit}]", copy=False).view(np.int64)
                          for c in data.chunks]) if data.num_chunks else np.empty(0, dtype=np.int64)
    missing = raw == np.iinfo(np.int64).min  # NaT
    gaps = int(missing.sum())
    if gaps == len(raw):
        return np.full(len(raw), -1, dtype=np.int8), pd.DatetimeIndex([])
    if gaps:
        raw[missing] = raw[~missing].min()
    first_day = int(raw.min()) // per_day
    raw -= first_day * per_day
    raw //= per_day  # whole days since the first day, in place
    counts = np.bincount(raw)
    counts[0] -= gaps
    offsets = np.flatnonzero(counts)  # the days present
    number = np.full(len(counts), -1, dtype=np.min_scalar_type(-max(len(offsets), 1)))
    number[offsets] = np.arange(len(offsets))
    codes = number[raw]
    if gaps:
        codes[missing] = -1
    return codes, pd.DatetimeIndex(((offsets + first_day) * per_day).astype(f"datetime64[{unit}]"))


@dataclass(frozen=True)
class Rows:
    """A selection of the rows of a `CodedTable` (`index`: their positions, None for every row)."""

    table: CodedTable
    index: np.ndarray | None

    def __len__(self) -> int:
        return self.table.num_rows if self.index is None else len(self.index)

    @property
    def columns(self) -> list[str]:
        return self.table.columns

    def _take(self, values: np.ndarray) -> np.ndarray:
        return values if self.index is None else values[self.index]

    def codes(self, column: str) -> np.ndarray:
        return self._take(self.table.key(column)[0])

    def number(self, column: str) -> np.ndarray:
        """The column's values on the selected rows (float64, NaN where missing)."""
        return self._take(self.table.number(column))

    def where(self, keep: np.ndarray) -> Rows:
        """The selected rows where `keep` (one bool a selected row) holds."""
        keep = np.asarray(keep, dtype=bool)
        if keep.all():
            return self
        return Rows(self.table, np.flatnonzero(keep) if self.index is None else self.index[keep])

    def where_in(self, column: str, allowed: Iterable[Any]) -> Rows:
        """The selected rows whose `column` is one of `allowed` (tested once per distinct value, not per row)."""
        codes, values = self.table.key(column)
        wanted = np.append(values.isin(list(allowed)), False)  # the last entry: code -1, a missing value
        if wanted[:-1].all() and codes.min(initial=0) >= 0:  # every value is wanted: no test per row
            return self
        return self.where(wanted[self.codes(column)])

    def observed(self, column: str) -> pd.Index:
        """The distinct values of `column` in the selected rows (in code order: dates in time order)."""
        codes, values = self.table.key(column)
        present = np.zeros(len(values) + 1, dtype=bool)
        present[self._take(codes)] = True  # a missing value (-1) marks the last entry, which is not read
        return values[present[:-1]]

    def sums(self, by: Sequence[str], values: Mapping[str, np.ndarray], keep_missing: Sequence[str] = ()
             ) -> pd.DataFrame:
        """One row per group of `by` in the selected rows (pandas' groupby(by, observed=True).sum()): the keys and
        the sum of each array of `values` (one value a selected row; NaN adds nothing; a bool array counts).
        A missing key drops its rows, except in the columns `keep_missing` (groupby's dropna=False)."""
        return self.aggregate(by, sums=values, keep_missing=keep_missing)

    def aggregate(self, by: Sequence[str], sums: Mapping[str, np.ndarray] | None = None,
                  maxima: Mapping[str, np.ndarray] | None = None, medians: Mapping[str, np.ndarray] | None = None,
                  firsts: Sequence[str] = (), over: str = "run_id", keep_missing: Sequence[str] = ()
                  ) -> pd.DataFrame:
        """`sums` as `Rows.sums`, the largest value of each array of `maxima`, the median of each array of
        `medians` (NaN skipped, as pandas' max and median), and with `firsts` the value of those columns in the
        group's first row and that row's place among the selected rows (`first_row`), per group, in one frame.
        With at most one row per group and value of `over` (a run's one value a day), the medians come from a
        groups × runs matrix partitioned row by row, instead of sorting every row."""
        block = self._block(by, over)
        if block:  # the groups of the first run's rows, repeated run after run
            head = Rows(self.table, np.arange(block) if self.index is None else self.index[:block])
            first_run, keys, kept = head._groups(by, keep_missing)
            group = np.tile(first_run, len(self) // block)
        else:
            group, keys, kept = self._groups(by, keep_missing)
        out = keys.copy()
        for name, array in (sums or {}).items():
            out[name] = _group_sums(group, len(keys), np.asarray(array))
        for name, array in (maxima or {}).items():
            largest = np.full(len(keys), np.nan)
            np.fmax.at(largest, group, np.asarray(array, dtype=float))
            out[name] = largest
        if medians and block and len(keys) == block:  # a run's rows are its groups, once each: no scatter
            matrix = np.empty((len(keys), len(self) // block))
            for name, array in medians.items():
                matrix[group[:block]] = np.asarray(array, dtype=float).reshape(-1, block).T
                out[name] = _row_medians(matrix)
            medians = None
        for name, middle in (self._medians(group, len(keys), medians, over) if medians else {}).items():
            out[name] = middle
        if firsts:
            place = np.int32 if len(group) < 1 << 31 else np.int64  # one type for both: ufunc.at's fast path
            first = np.full(len(keys), len(group), dtype=place)
            np.minimum.at(first, group, np.arange(len(group), dtype=place))
            out["first_row"] = first
            at = first if self.index is None else self.index[first]
            for column in firsts:
                codes, values = self.table.key(column)
                out[column] = _decoded(codes[at].astype(np.int64), values, column)
        return out[kept].reset_index(drop=True)

    def distinct(self, by: Sequence[str]) -> pd.DataFrame:
        """The combinations of `by` in the selected rows, in order of first appearance, missing values kept
        (pandas' groupby(by, sort=False, dropna=False) groups, in the order ngroup() numbers them)."""
        group, keys, _kept = self._groups(by, by)
        return keys.iloc[pd.unique(group)].reset_index(drop=True)

    def _block(self, by: Sequence[str], over: str) -> int | None:
        """P when the selected rows are consecutive blocks of P rows, one per value of `over` (a run), whose `by`
        keys repeat block after block (the runner writes every run's rows in the same order): each run's rows
        then have the first run's groups; None otherwise (or with `over` among the keys)."""
        if over in by or over not in self.columns or not len(self) or not by:
            return None
        runs = self.codes(over)
        starts = np.flatnonzero(runs[1:] != runs[:-1]) + 1
        if len(self) % (len(starts) + 1):
            return None
        block = len(self) // (len(starts) + 1)
        if not np.array_equal(starts, np.arange(1, len(starts) + 1) * block) or len(np.unique(runs[::block])) != len(
                starts) + 1:
            return None
        for column in by:
            codes = self.codes(column).reshape(-1, block)
            if not (codes == codes[0]).all():
                return None
        return block

    def _medians(self, group: np.ndarray, groups: int, values: Mapping[str, np.ndarray], over: str
                 ) -> dict[str, np.ndarray]:
        run, present = _numbered(self.codes(over), len(self.table.key(over)[1]) + 1)
        runs = len(present)
        cells = groups * runs
        cell = group.astype(np.int32 if cells < 1 << 31 else np.int64)
        cell *= runs
        cell += run
        filled = np.zeros(cells, dtype=bool)
        filled[cell] = True
        one_per_run = int(np.count_nonzero(filled)) == len(cell)
        del filled, run
        out = {}
        matrix = np.empty(cells if one_per_run else 0)  # one buffer for every array (each fills it anew)
        for name, array in values.items():
            if one_per_run:
                matrix.fill(np.nan)
                matrix[cell] = array
                out[name] = _row_medians(matrix.reshape(groups, runs))
            else:  # a group has two rows of one run: pandas' median of the rows
                frame = pd.DataFrame({"group": group, "value": np.asarray(array, dtype=float)})
                out[name] = frame.groupby("group")["value"].median().reindex(range(groups)).to_numpy()
        return out

    def _groups(self, by: Sequence[str], keep_missing: Sequence[str] = ()
                ) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
        """(group of each selected row, numbered in the keys' code order; the keys of each group; whether a group
        is kept: its keys present, but for the columns `keep_missing`)."""
        radices = [len(self.table.key(column)[1]) + 1 for column in by]  # code + 1: 0 is a missing value
        dtype = np.int32 if np.prod(radices, dtype=float) < 1 << 31 else np.int64
        # The groups' numbers in a mixed radix, code + 1 per key: Σ code·weight by Horner's rule, in place on one
        # array, and Σ weight (the + 1s) added once at the end.
        combined = np.zeros(len(self), dtype=dtype)
        space, ones, renumbered = 1, 0, False
        for column, radix in zip(by, radices, strict=True):
            if space * radix >= 1 << 62:  # renumber the groups so far before the next key overflows 64 bits
                combined += ones
                combined, kept = _numbered(combined, space)
                space, ones, renumbered = len(kept), 0, True
            combined *= radix
            combined += self.codes(column)
            space, ones = space * radix, ones * radix + 1
        combined += ones
        group, uniques = _numbered(combined, space)
        del combined
        if renumbered:  # the keys of a group from any one of its rows
            example = np.zeros(len(uniques), dtype=np.int64)
            example[group] = np.arange(len(group))
            codes = {column: self.codes(column)[example].astype(np.int64) for column in by}
        else:  # the keys of a group from its number in the mixed radix
            rest, codes = uniques.astype(np.int64), {}
            for column, radix in reversed(list(zip(by, radices, strict=True))):
                codes[column] = rest % radix - 1
                rest //= radix
        keys = pd.DataFrame({column: _decoded(codes[column], self.table.key(column)[1], column) for column in by})
        required = [c for c in by if c not in keep_missing]
        kept = keys[required].notna().all(axis=1).to_numpy() if required else np.ones(len(keys), dtype=bool)
        return group, keys, kept


def _group_sums(group: np.ndarray, groups: int, values: np.ndarray) -> np.ndarray:
    """Sum of `values` per group, in row order; a bool array is counted (only its true rows are read)."""
    if values.dtype == bool:
        return np.bincount(group[values], minlength=groups).astype(float)
    values = values.astype(float, copy=False)
    if np.isnan(values).any():
        values = np.where(np.isnan(values), 0.0, values)
    return np.bincount(group, weights=values, minlength=groups)


def _numbered(codes: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """The number 0..G-1 of each entry's value among the distinct values of `codes` (in increasing order; values
    in 0..space - 1, or -1 read as space - 1: a missing code), and those values."""
    if space <= _DENSE_SPACE:
        present = np.zeros(space, dtype=bool)
        present[codes] = True
        uniques = np.flatnonzero(present)
        number = np.zeros(space, dtype=np.int32)
        number[uniques] = np.arange(len(uniques), dtype=np.int32)
        return number[codes], uniques
    numbers, uniques = pd.factorize(np.where(codes < 0, space - 1, codes), sort=True)
    return numbers, np.asarray(uniques)


def _decoded(codes: np.ndarray, values: pd.Index, column: str) -> Any:
    """Codes back to values: a categorical of every value of the table for identifiers (as pandas reads a
    dictionary-encoded column), dates as datetimes; -1 is missing."""
    if column not in DATE_COLUMNS:
        return pd.Categorical.from_codes(codes, categories=values)
    if not len(values):
        return pd.Series(pd.NaT, index=range(len(codes)), dtype="datetime64[ns]")
    return pd.Series(values.take(np.maximum(codes, 0))).where(codes >= 0)


def _row_medians(matrix: np.ndarray) -> np.ndarray:
    """Median of each row skipping NaN, as pandas computes it: the middle value, or the mean of the two middle
    values (upper + lower) / 2. Overwrites `matrix`."""
    missing = np.isnan(matrix)
    counts = matrix.shape[1] - np.count_nonzero(missing, axis=1)
    if counts.min(initial=matrix.shape[1]) < matrix.shape[1]:
        matrix[missing] = np.inf  # after every value: the k-th smallest of a row's values is in place k
    del missing
    out = np.full(matrix.shape[0], np.nan)
    sizes = np.unique(counts[counts > 0])
    lower, upper = (sizes - 1) // 2, sizes // 2
    if len(sizes) <= 8:  # few distinct counts: one partition of the whole matrix in place, at every place needed
        matrix.partition(np.union1d(lower, upper), axis=1)
        for count, low, high in zip(sizes, lower, upper, strict=True):
            rows = np.flatnonzero(counts == count)
            out[rows] = (matrix[rows, high] + matrix[rows, low]) / 2
        return out
    for count, low, high in zip(sizes, lower, upper, strict=True):
        rows = np.flatnonzero(counts == count)
        block = matrix[rows]
        block.partition(sorted({int(low), int(high)}), axis=1)
        out[rows] = (block[:, high] + block[:, low]) / 2
    return out
