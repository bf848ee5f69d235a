"""The results contract: every table a run writes, every KPI name, and the manifest, described once.

The writers (`sim.model.collect`, `sim.runs`, `sim.results.analysis`) validate what they write against
`TABLES`; the reader (`sim.results.results_set.ResultsSet`) reads the columns named here and nothing else;
`docs/results.md` is generated from this module (`python -m sim.results.tables`, checked by the test suite).
KPI names are `<prefix><key>` for per-entity families (`fill_rate.<channel>`) or a plain name (`masks_delivered`): code
builds and parses them with `kpi_name` / `kpi_key` / `kpi_family` instead of spelling prefixes itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import pandas as pd

DType = Literal["string", "int64", "float64", "datetime", "object"]
"""Column types as pandas sees them after `read_parquet` ('object': mixed, as a swept value can be)."""


class Column(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(description="column name; `<x>` marks a family of columns, one per x")
    dtype: DType = Field(description="pandas dtype family after read_parquet")
    unit: str = Field("", description="unit of the values ('' for labels and identifiers)")
    meaning: str = Field(description="what one value is")


class Table(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(description="table name, also the file stem (`<name>.parquet`)")
    one_row_per: str = Field(description="what a row is")
    written_by: str = Field(description="the code that produces the table")
    columns: tuple[Column, ...] = Field(description="fixed columns, in file order")
    families: tuple[Column, ...] = Field((), description="columns that exist once per swept path or KPI")
    note: str = Field("", description="how to read the table")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, dtype: DType, meaning: str, unit: str = "") -> Column:
    return Column(name=name, dtype=dtype, unit=unit, meaning=meaning)


ID_COLUMNS: tuple[Column, ...] = (
    _c("run_id", "string", "`<scenario>/<point>/r<replication>`, unique in an experiment"),
    _c("scenario", "string", "scenario name"),
    _c("replication", "int64", "replication number (0-based); runs of the same number share random numbers"),
)
_DAY = (_c("day", "int64", "whole days since the start date (0 = start date)", "day"),
        _c("date", "datetime", "calendar date of `day`"))
_SITE = (_c("site", "string", "site name (supplier, lab or lane name for supply, certification, transport rows)"),
         _c("group", "string", "the scenario group a site was generated from (`groups:`), '' for a named site"),
         _c("kind", "string", "site kind (textile, esat, ...; supplier / lab / lane for non-site rows)"))

TABLES: dict[str, Table] = {t.name: t for t in (
    Table(
        name="runs", one_row_per="run (replication of a scenario at a sweep point)",
        written_by="`sim.runs`, from `RunResult.kpis` and each run's status",
        columns=(*ID_COLUMNS,
                 _c("seed", "int64", "the run's own seed, derived from the root seed and the run id"),
                 _c("status", "string", "`ok` or `failed`"),
                 _c("error", "string", "`ExceptionType: message` of a failed run, None if ok"),
                 _c("wall_seconds", "float64", "wall-clock time of the run", "s")),
        families=(_c("param.<path>", "object", "value of a swept configuration path at this run's point"),
                  _c("<kpi>", "float64", "one column per KPI (see the KPI registry); NaN where not reached or "
                                         "not applicable, and for failed runs")),
        note="Every KPI of every run; failed runs keep their row with NaN KPIs."),
    Table(
        name="daily", one_row_per="run × day × site × stage",
        written_by="`sim.model.frames` (`RunResult.daily`)",
        columns=(*ID_COLUMNS, *_DAY, _SITE[0], _SITE[2], _c("region", "string", "region of the site ('' if none)"),
                 _c("stage", "string", "stage: supply, certification, cut, sew, inspect, pack, transport"),
                 _c("output", "float64", "masks (or lots' masks) that left the stage that day", "masks"),
                 _c("wip", "float64", "masks waiting in front of the stage at end of day (NaN for non-site rows)",
                    "masks"),
                 _c("working_h", "float64", "hours the stage was working (machines up)", "h"),
                 _c("starved_h", "float64", "hours on shift without input", "h"),
                 _c("blocked_h", "float64", "hours on shift unable to pass work on", "h"),
                 _c("off_shift_h", "float64", "hours outside shifts", "h"),
                 _c("down_h", "float64", "hours of work lost to machines down", "h"),
                 _c("capacity_h", "float64", "nominal person-hours of the team that day", "person-h"),
                 _c("lost_absence_h", "float64", "person-hours lost to absence", "person-h"),
                 _c("lost_breakdown_h", "float64", "person-hours lost to machines down", "person-h"),
                 _c("present", "float64", "people present", "persons"),
                 _SITE[1]),
        note="State hours (working, starved, blocked, off shift, down) add up to 24 per day for stages of a site."),
    Table(
        name="series", one_row_per="run × day × series × key",
        written_by="`sim.model.frames` (`RunResult.series`)",
        columns=(*ID_COLUMNS, *_DAY,
                 _c("series", "string", "series name (see below)"),
                 _c("key", "string", "what the value is of: a channel, a site kind, `<site>:<material>`, a hub, "
                                     "or `all`"),
                 _c("value", "float64", "the value at end of day (or over the day for flows)")),
        note="Series: `delivered` (channel; masks delivered that day), `cum_delivered` (`all`; cumulative masks "
             "delivered), `demand` (channel; masks ordered that day), `sewn_by_kind` (site kind; masks sewn that "
             "day), `stock` (`<site>:<material>`; material stock at end of day), `platform_stock` (hub; masks in "
             "stock), `held` (`all`; masks held awaiting a certification verdict), `in_transit` (`all`; masks on "
             "lanes and last mile), `lab_queue` (`all`; samples waiting at the lab), `lab_wait_days` (`all`; mean "
             "wait in days of samples whose test started that day)."),
    Table(
        name="cohorts", one_row_per="run × day × site × stage × cohort",
        written_by="`sim.model.frames` (`RunResult.cohorts`)",
        columns=(*ID_COLUMNS, *_DAY, _SITE[0], _SITE[2],
                 _c("stage", "string", "the stage the cohort staffs"),
                 _c("cohort", "string", "cohort name"),
                 _c("role", "string", "`skilled` or `trainee` (or another declared role)"),
                 _c("size", "int64", "people in the cohort", "persons"),
                 _c("present", "float64", "people present that day", "persons"),
                 _c("efficiency", "float64", "speed relative to the stage's standard time (1.0 = skilled standard); "
                                             "NaN before the cohort starts", "ratio"),
                 _c("standard_share", "float64", "efficiency / the cohort's ceiling", "ratio"),
                 _SITE[1])),
    Table(
        name="bottlenecks", one_row_per="run × week × level × site × stage",
        written_by="`sim.model.collect` with `sim.results.bottleneck` (active-period method)",
        columns=(*ID_COLUMNS,
                 _c("week_start", "datetime", "first date of the week (weeks start on the start date's weekday)"),
                 _c("week_index", "int64", "week number from the start (0-based)", "week"),
                 _c("level", "string", "`network` (stage groups) or `site` (one site's own stages)"),
                 _c("site", "string", "site name, '' at network level"),
                 _c("stage", "string", "stage (network level: stage kind)"),
                 _c("share", "float64", "share of the week this stage was the momentary bottleneck; shifting "
                                        "periods are split between the stages involved", "ratio")),
        note="Shares of one run, week and level add up to at most 1."),
    Table(
        name="summary", one_row_per="scenario × sweep point × KPI",
        written_by="`sim.results.analysis.summarise` (also as `summary.csv`)",
        columns=(_c("scenario", "string", "scenario name"),
                 _c("point", "string", "`a=1,b=2` from the run's swept paths, '' without a sweep"),
                 _c("kpi", "string", "KPI name, or `P(reached_by_date.<target>)` for a target probability"),
                 _c("n", "int64", "values used (ok runs with a non-NaN value)", "runs"),
                 _c("mean", "float64", "mean over replications (share of runs for a P row)", "KPI unit"),
                 _c("std", "float64", "sample standard deviation (ddof 1)", "KPI unit"),
                 _c("ci_low", "float64", "lower bound of the 95 % interval (Student t; Wilson for P rows)",
                    "KPI unit"),
                 _c("ci_high", "float64", "upper bound of the 95 % interval", "KPI unit"),
                 _c("half_width", "float64", "half width of the interval", "KPI unit"),
                 _c("p5", "float64", "5th percentile over replications", "KPI unit"),
                 _c("p50", "float64", "median over replications", "KPI unit"),
                 _c("p95", "float64", "95th percentile over replications", "KPI unit"),
                 _c("min", "float64", "smallest value", "KPI unit"),
                 _c("max", "float64", "largest value", "KPI unit"),
                 _c("diff_vs_base", "float64", "mean paired difference to the base scenario at the same point "
                                               "(common random numbers)", "KPI unit"),
                 _c("diff_ci_low", "float64", "lower bound of the paired difference's interval", "KPI unit"),
                 _c("diff_ci_high", "float64", "upper bound of the paired difference's interval", "KPI unit"),
                 _c("replications_for_5pct", "float64", "replications for a half width of 5 % of the mean",
                    "runs")),
        note="Only ok runs count; NaN values (a target never reached) are left out, so `n` may be below the "
             "number of runs."),
    Table(
        name="design", one_row_per="design point of an uncertainty study (0 = the nominal point)",
        written_by="`sim.uncertainty.study` (before the runs of an experiment with `uncertain:` and `design:`)",
        columns=(_c("point", "int64", "design point number; 0 is the nominal point (every parameter at its base)"),
                 _c("kind", "string", "`nominal` or `design`")),
        families=(_c("<path>", "object", "value of the uncertain configuration path at this point (numbers as "
                                         "float, dates as ISO text)"),
                  _c("u.<path>", "float64", "the point's coordinate in the unit cube of the design (NaN for the "
                                            "nominal point)")),
        note="See docs/uncertainty.md. The runs of point i have run ids `<scenario>/p<i>/r<rrr>` (scenario "
             "`nominal` for point 0) and the parameter values as `param.<path>` columns of `runs`."),
)}
RUN_TABLES: tuple[str, ...] = ("daily", "series", "cohorts", "bottlenecks")
"""Tables a run returns (`RunResult`), written per run and concatenated by the runner."""
DATE_COLUMNS: tuple[str, ...] = ("date", "week_start")
FLOW_STAGES: tuple[str, ...] = ("supply", "certification", "cut", "sew", "inspect", "pack", "transport")
"""Every `stage` value of the tables, in the order of the flow (a site's own stages are
`sim.config.STAGE_ORDER`, the cut..pack part of it)."""
PARAM_PREFIX = "param."


def _param_text(value: object) -> str:
    import numpy as np

    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def point_labels(frame: pd.DataFrame, params: list[str]) -> pd.Series:
    """'a=1,b=2' per row from the param.* columns (params without a value in that row are left out)."""
    import pandas

    if not params:
        return pandas.Series("", index=frame.index, dtype=object)
    return pandas.Series([",".join(f"{p.removeprefix(PARAM_PREFIX)}={_param_text(v)}"
                                   for p, v in zip(params, values, strict=True) if not pandas.isna(v))
                          for values in frame[params].itertuples(index=False, name=None)],
                         index=frame.index, dtype=object)


# ---------------------------------------------------------------------------------------- KPI registry
class KpiFamily(BaseModel):
    """A KPI name or a family of names `<prefix><key>`, with what it measures."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="the KPI name, or the family's prefix ending with '.'")
    key: str = Field("", description="what follows the prefix (target, channel, site, ...); '' for one KPI")
    meaning: str = Field(description="what the value is")
    unit: str = Field(description="unit of the value")
    higher_is_better: bool | None = Field(description="direction of improvement; None when neither")
    regress: bool = Field(False, description="tracked by the statistical regression (`resilience regress`)")

    @property
    def is_family(self) -> bool:
        return bool(self.key)

    def matches(self, kpi: str) -> bool:
        return kpi.startswith(self.name) if self.is_family else kpi == self.name


def _k(name: str, meaning: str, unit: str, better: bool | None, key: str = "", regress: bool = False) -> KpiFamily:
    return KpiFamily(name=name, key=key, meaning=meaning, unit=unit, higher_is_better=better, regress=regress)


KPIS: tuple[KpiFamily, ...] = (
    _k("masks_started", "masks whose kits were cut", "masks", True),
    _k("masks_sewn", "masks sewn (first pass, rework not counted twice)", "masks", True, regress=True),
    _k("masks_delivered", "masks delivered to any channel by the horizon", "masks", True, regress=True),
    _k("masks_free", "masks delivered to channels with price 0", "masks", True),
    _k("masks_scrapped", "masks scrapped at inspection", "masks", False, regress=True),
    _k("masks_reworked", "masks sent back for rework", "masks", False),
    _k("masks_escaped_defects", "defective masks accepted by sampling", "masks", False),
    _k("first_pass_yield", "share of inspected masks accepted without rework or scrap", "ratio", True, regress=True),
    _k("revenue_eur", "Σ delivered × channel price", "EUR", True),
    _k("mean_lead_time_days", "mask-weighted mean time from cutting to delivery (lot flow time)", "days", False,
       regress=True),
    _k("day_target.", "days from the start date until the target was reached (NaN if never)", "days", False,
       key="target", regress=True),
    _k("reached_by_date.", "1.0 if the target was reached by its `by` date, else 0.0 (NaN if no date)", "0/1", True,
       key="target"),
    _k("delivered.channel.", "masks delivered to the channel", "masks", True, key="channel"),
    _k("fill_rate.", "masks delivered / masks ordered by the horizon", "ratio", True, key="channel", regress=True),
    _k("on_time.", "share of due masks delivered by their due date", "ratio", True, key="channel"),
    _k("mean_days_late.", "mask-weighted mean lateness of delivered orders", "days", False, key="channel"),
    _k("p95_days_late.", "95th percentile of lateness (mask-weighted)", "days", False, key="channel"),
    _k("output.kind.", "masks sewn by sites of the kind", "masks", True, key="site kind", regress=True),
    _k("output.site.", "masks sewn by the site", "masks", True, key="site"),
    _k("output_per_person_day.site.", "masks sewn per person-day present at the site's sewing stage",
       "masks/person-day", True, key="site"),
    _k("approval_days.", "days from the site's first certification sample to approval", "days", False, key="site"),
    _k("cohort.", "`cohort.<site>.<cohort>.days_to_50` / `.days_to_80`: days on the job to reach 50 % / 80 % of "
                  "the cohort's standard rate", "days", False, key="site.cohort.days_to_<level>"),
    _k("lost_capacity_share.", "`absence` / `breakdown`: share of nominal sewing capacity lost", "ratio", False,
       key="cause"),
    _k("trainees", "people in trainee cohorts", "persons", None),
    _k("trainees_reaching_80pct", "trainees who reached 80 % of their ceiling", "persons", True),
    _k("trainee_hours_worked", "trainees' hours at work (present × shift hours)", "person-h", None),
    _k("design_approval_day", "day the mask design passed certification", "days", False),
    _k("lab_mean_wait_days", "mean wait of the network's samples at the lab", "days", False),
    _k("lab_network_samples", "network samples tested by the lab", "samples", None),
    _k("masks_scrapped_on_audit", "held stock scrapped after failed audits", "masks", False, regress=True),
    _k("masks_held_at_end", "masks still held awaiting a verdict at the horizon", "masks", False),
    _k("platform_mean_stock", "time-average stock at the hubs", "masks", None),
    _k("platform_throughput_per_day", "hub shipments per day", "masks/day", True),
    _k("platform_mean_days_in_stock", "mean time in hub stock (Little's law)", "days", False),
    _k("platform_stock_end", "masks in hub stock at the horizon", "masks", None),
)
PROBABILITY_PREFIX = "P("
"""Summary rows `P(reached_by_date.<target>)`: the share of runs reaching a target by its date."""


def kpi_family(kpi: str) -> KpiFamily | None:
    """The registry entry of a KPI name (a plain name first, then the longest matching prefix)."""
    if kpi.startswith(PROBABILITY_PREFIX) and kpi.endswith(")"):
        return kpi_family(kpi[len(PROBABILITY_PREFIX):-1])
    plain = [f for f in KPIS if not f.is_family and f.name == kpi]
    if plain:
        return plain[0]
    families = sorted((f for f in KPIS if f.is_family and f.matches(kpi)), key=lambda f: -len(f.name))
    return families[0] if families else None


def _family(prefix: str) -> KpiFamily:
    family = next((f for f in KPIS if f.name == prefix and f.is_family), None)
    if family is None:
        raise KeyError(f"{prefix!r} is not a KPI family of sim.results.tables.KPIS")
    return family


def kpi_name(prefix: str, key: str) -> str:
    """`<prefix><key>` for a registered family, e.g. kpi_name(FILL_RATE, 'charities')."""
    return _family(prefix).name + key


def kpi_key(prefix: str, kpi: str) -> str | None:
    """The key of `kpi` in the family `prefix` (None if `kpi` is not of that family)."""
    return kpi.removeprefix(prefix) if kpi.startswith(_family(prefix).name) else None


def probability_name(target: str) -> str:
    """The summary's name of a target probability row."""
    return f"{PROBABILITY_PREFIX}{REACHED_BY_DATE}{target})"


def kpis_of(prefix: str, names: Iterable[str]) -> list[str]:
    """The names of `names` in the family `prefix`, in order."""
    family = _family(prefix)
    return [n for n in names if family.matches(n)]


def is_share(kpi: str) -> bool:
    """Values in 0..1 (shown as percentages)."""
    family = kpi_family(kpi)
    return family is not None and family.unit in ("ratio", "0/1")


DAY_TARGET, REACHED_BY_DATE, FILL_RATE = "day_target.", "reached_by_date.", "fill_rate."
OUTPUT_KIND, COHORT, LOST_CAPACITY = "output.kind.", "cohort.", "lost_capacity_share."
CHANNEL_FAMILIES = ("delivered.channel.", FILL_RATE, "on_time.", "mean_days_late.", "p95_days_late.")
SITE_FAMILIES = ("output.site.", "approval_days.", "output_per_person_day.site.")
"""The KPI families with one KPI per channel / per site of the network."""


# ------------------------------------------------------------------------------------------ validation
class ContractError(ValueError):
    """A table does not follow its schema in sim/results/tables.py."""


_ID_NAMES = frozenset(c.name for c in ID_COLUMNS)


def _dtype_ok(dtype: Any, dtype_family: DType, rows: int) -> bool:
    from pandas.api import types as api  # pandas only when validating: the CLI starts without it

    if dtype_family == "float64":
        return api.is_float_dtype(dtype) or (api.is_integer_dtype(dtype) and rows == 0)
    if dtype_family == "int64":
        return api.is_integer_dtype(dtype)
    if dtype_family == "datetime":
        return api.is_datetime64_any_dtype(dtype)
    if dtype_family == "string":
        return api.is_string_dtype(dtype) or api.is_object_dtype(dtype)
    return True


def validate(name: str, frame: pd.DataFrame, *, with_ids: bool = True) -> pd.DataFrame:
    """`frame` unchanged if it has the table's columns with their dtypes, else ContractError.

    `with_ids=False` checks a run's own table before the runner adds run_id, scenario and replication.
    Extra columns are allowed only in tables with column families (runs: param.* and KPIs; design).
    """
    validate_columns(name, dict(zip(map(str, frame.columns), frame.dtypes, strict=True)), len(frame),
                     with_ids=with_ids)
    return frame


def validate_columns(name: str, dtypes: dict[str, Any], rows: int, *, with_ids: bool = True) -> None:
    """`validate` on a table's column dtypes (in file order) and row count, without the table itself: a
    pyarrow table's schema gives them without converting the table to pandas (`sim.runs.combined`)."""
    table = TABLES[name]
    expected = [c for c in table.columns if with_ids or c.name not in _ID_NAMES]
    missing = [c.name for c in expected if c.name not in dtypes]
    if missing:
        raise ContractError(f"{name} table lacks column(s) {', '.join(missing)} (sim/results/tables.py)")
    if rows:  # on dtypes, not columns: taking a frame's column builds a Series, and this runs on every run's tables
        wrong = [f"{c.name} ({dtypes[c.name]}, expected {c.dtype})" for c in expected
                 if not _dtype_ok(dtypes[c.name], c.dtype, rows)]
        if wrong:
            raise ContractError(f"{name} table has column(s) of the wrong type: {', '.join(wrong)}")
    known = set(table.column_names)
    loose = [c for c in dtypes if c not in known]
    if name == "runs":  # param.<path> columns, and one column per registered KPI
        loose = [c for c in loose if not c.startswith(PARAM_PREFIX) and kpi_family(c) is None]
    elif table.families:  # design: one column per uncertain path, any path
        loose = []
    if loose:
        what = "KPI column(s) not in the KPI registry" if name == "runs" else "column(s) not in its schema"
        raise ContractError(f"{name} table has {what}: {', '.join(loose)} (add them to sim/results/tables.py)")


# -------------------------------------------------------------------------------------------- manifest
class RunEntry(BaseModel):
    """One run as manifest.json lists it."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    scenario: str
    replication: int
    point: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    status: str = Field(description="pending, ok or failed")
    error: str | None = None
    wall_seconds: float | None = None
    resumed: bool = False


class Manifest(BaseModel):
    """manifest.json: what was run, with what, and how it went (extra keys are kept, for newer writers)."""

    model_config = ConfigDict(extra="allow")

    experiment: str = Field(description="experiment name (the results folder's name when run directly)")
    status: str = Field("complete", description="running, complete, complete_with_failures or interrupted")
    config_hash: str | None = Field(None, description="SHA-256 of the resolved configuration")
    config: Any = Field(None, description="the resolved configuration of every scenario")
    root_seed: int | list[int] | None = Field(None, description="root seed(s) of the runs")
    start_date: str | None = Field(None, description="the base scenario's start date (ISO)")
    base_scenario: str | None = Field(None, description="scenario that others are compared with")
    scenarios: list[str] = Field(default_factory=list, description="scenario names in file order")
    targets: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                               description="target name -> {masks, by, measure}")
    experiment_file: str | None = Field(None, description="the experiment file that was run")
    horizon_days: int | None = Field(None, description="the base scenario's horizon")
    command: str | None = Field(None, description="the command line that produced the folder")
    assumptions: list[dict[str, Any]] = Field(default_factory=list,
                                              description="every number of the experiment file with its source")
    started_at: str | None = None
    finished_at: str | None = None
    executor: str | None = None
    versions: dict[str, str | None] = Field(default_factory=dict)
    git_commit: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    runs: list[RunEntry] = Field(default_factory=list)


def read_manifest(path: str | Path) -> Manifest:
    return Manifest.model_validate_json(Path(path).read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------- the doc
DOC = Path(__file__).resolve().parents[2] / "docs" / "results.md"
BEGIN = "<!-- BEGIN GENERATED CONTRACT (python -m sim.results.tables) -->"
END = "<!-- END GENERATED CONTRACT -->"


def _column_rows(columns: Iterable[Column]) -> list[str]:
    rows = ["| column | type | unit | meaning |", "|---|---|---|---|"]
    rows += [f"| `{c.name}` | {c.dtype} | {c.unit} | {c.meaning} |" for c in columns]
    return rows


def reference() -> str:
    lines = [BEGIN, "", "## The tables (generated from `sim/results/tables.py`)", ""]
    lines += ["| file | one row per | written by |", "|---|---|---|"]
    for t in TABLES.values():
        file = "`summary.csv`, `summary.parquet`" if t.name == "summary" else f"`{t.name}.parquet`"
        lines.append(f"| {file} | {t.one_row_per} | {t.written_by} |")
    for t in TABLES.values():
        lines += ["", f"### {t.name}", "", f"One row per {t.one_row_per}. {t.note}".rstrip(), ""]
        lines += _column_rows((*t.columns, *t.families))
    lines += ["", "## KPIs (columns of runs.parquet)", "",
              "A family `<prefix><key>` has one KPI per key (a target, a channel, a site ...). "
              "Build and parse names with `sim.results.tables.kpi_name` / `kpi_key`, never by hand.", "",
              "| KPI | key | unit | higher is better | regression | meaning |", "|---|---|---|---|---|---|"]
    better = {True: "yes", False: "no", None: "—"}
    for k in KPIS:
        name = f"`{k.name}<{k.key}>`" if k.is_family else f"`{k.name}`"
        lines.append(f"| {name} | {k.key} | {k.unit} | {better[k.higher_is_better]} | "
                     f"{'tracked' if k.regress else ''} | {k.meaning} |")
    lines += ["", "## manifest.json", "", " ".join((Manifest.__doc__ or "").split()), "",
              "| key | meaning |", "|---|---|"]
    for name, field in Manifest.model_fields.items():
        meaning = field.description or ("one entry per run: " + ", ".join(RunEntry.model_fields)
                                        if name == "runs" else "")
        lines.append(f"| `{name}` | {meaning} |")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def splice_generated(text: str, begin: str, end: str, section: str) -> str:
    """`text` with what stands from `begin` to `end` replaced by `section` (which starts with `begin` and ends
    with `end`): the generated part of a hand-written page (docs/results.md here, docs/experiments.md in
    sim.docgen)."""
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    return head + section.rstrip("\n") + tail


def render(text: str) -> str:
    """`text` with its generated section replaced by the current contract."""
    return splice_generated(text, BEGIN, END, reference())


def main() -> int:
    DOC.write_text(render(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
