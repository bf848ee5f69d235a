"""A study: an experiment's uncertain parameters and design, validated against the base scenario and
turned into design points that the ordinary experiment machinery runs.

Point 0 is the nominal point (every parameter at its base value), run `noise_replications` times under the
scenario name `nominal`: the spread under noise alone. Points 1..n are the design's, run `replications`
times each with the same seeds (replication r of every point uses the same root seed and replication
number: common random numbers), under the base scenario's name. Their run ids are `<scenario>/p<i>/r<rrr>`.

Every path is checked when the experiment is loaded (so `validate` catches it): it must name an existing
numeric or date field of the scenario (after the base scenario's own `set:`), and the scenario must accept
both ends of its range (each value of a discrete set) through the normal validation.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim.config import apply_overrides, format_validation_error, parse_path, set_path, validate_scenario
from sim.errors import ConfigError, short_repr
from sim.uncertainty.design import DesignSpec, design_words, random_rows, unit_sample
from sim.uncertainty.parameters import UncertainParameter, parameter_table

NOMINAL = "nominal"
DESIGN_FILE = "design.parquet"
PARAMETERS_FILE = "parameters.csv"
_SCRATCH = "scenario"  # file name given to the scenario checks, stripped from their messages


@dataclass
class Study:
    params: dict[str, UncertainParameter]
    design: DesignSpec
    integer: dict[str, bool]
    nominal: dict[str, Any]  # path -> base value
    unit: np.ndarray  # design points in [0, 1]^d
    values: np.ndarray  # the same points as parameter values (floats; day ordinals for dates)
    seed: int

    @property
    def names(self) -> list[str]:
        return list(self.params)

    @property
    def n_design(self) -> int:
        return len(self.unit)

    def point(self, i: int) -> dict[str, Any]:
        """The overrides of design point i (1-based; 0 is the nominal point: no override)."""
        if i == 0:
            return {}
        out: dict[str, Any] = {}
        for j, (path, param) in enumerate(self.params.items()):
            value = param.cast(self.values[i - 1, j], self.integer[path])
            for target in (path, *param.also):
                out[target] = value
        return out

    @property
    def points(self) -> list[dict[str, Any]]:
        return [self.point(i) for i in range(self.n_design + 1)]

    def scenario_name(self, i: int, name: str) -> str:
        return NOMINAL if i == 0 else name

    def replications_at(self, i: int, replications: int) -> int:
        return self.design.noise_replications if i == 0 else replications

    def design_frame(self) -> pd.DataFrame:
        """design.parquet: one row per point (0 = nominal): its parameter values and unit coordinates."""
        rows = []
        for i in range(self.n_design + 1):
            row: dict[str, Any] = {"point": i, "kind": NOMINAL if i == 0 else "design"}
            for path in self.params:
                row[path] = self.nominal[path] if i == 0 else self.point(i)[path]
            for j, path in enumerate(self.params):
                row[f"u.{path}"] = np.nan if i == 0 else float(self.unit[i - 1, j])
            rows.append(row)
        frame = pd.DataFrame(rows)
        for path in self.params:  # one type per column (dates as ISO text, numbers as float)
            frame[path] = frame[path].map(str) if self.params[path].is_date else frame[path].astype(float)
        return frame

    def config(self) -> dict[str, Any]:
        return {"method": self.design.method, "seed": self.seed, "points": self.points[1:]}

    def random_points(self) -> list[int]:
        """The design points (1-based) drawn at random from the declared distributions (none for Morris)."""
        return [i + 1 for i in random_rows(self.design.method, self.n_design, len(self.params))]

    def headline(self, replications: int) -> str:
        """The design in words, then a warning line per shortfall of its size (DesignSpec.warnings)."""
        return "\n".join([design_words(self.design, len(self.params), self.n_design, replications),
                          *(f"warning: {w}" for w in self.design.warnings())])


# ------------------------------------------------------------------------------------------- loading
def _model_problems(exc: ValidationError, file: str, prefix: str, data: Any) -> list[str]:
    lines = format_validation_error(exc, file, data)
    return [line.replace(f"{file}: ", f"{file}: {prefix}.", 1) if not line.startswith(f"{file}: {prefix}")
            else line for line in lines]


def _lookup(data: Any, path: str) -> tuple[bool, Any]:
    node = data
    for token in parse_path(path):
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def _is_date_text(value: Any) -> bool:
    if isinstance(value, dt.date):
        return True
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _check_path(file: str, path: str, param: UncertainParameter, data: dict[str, Any], integer: bool) -> list[str]:
    """Problems with one uncertain path: it must exist, hold a number (or a date) and accept both ends."""
    where = f"{file}: uncertain.{path}"
    try:
        parse_path(path)
    except ValueError:
        return [f"{where}: {short_repr(path)}: a dotted path like sites.NAME.stages.sew.minutes_per_mask"]
    found, base = _lookup(data, path)
    if not found:
        try:  # set_path names the first missing step
            set_path(copy.deepcopy(data), path, 0, _SCRATCH)
        except ConfigError as exc:
            return [f"{where}: no such field in the scenario ({exc.problems[0].removeprefix(_SCRATCH + ': ')})"]
        return [f"{where}: no such field in the scenario"]
    if param.is_date and not (base is None or _is_date_text(base)):
        return [f"{where}: {short_repr(base)}: date bounds need a date field"]
    if not param.is_date and not (base is None or (isinstance(base, int | float) and not isinstance(base, bool))):
        return [f"{where}: {short_repr(base)}: not a numeric field; give the path of a number "
                "(e.g. ...size.uniform[1] inside a distribution)"]
    for value in param.extremes(integer):
        trial = copy.deepcopy(data)
        set_path(trial, path, value, _SCRATCH)
        try:
            validate_scenario(trial, _SCRATCH)
        except ConfigError as exc:
            reason = exc.problems[0].removeprefix(_SCRATCH + ": ")
            return [f"{where}: {short_repr(value)}: outside what the field allows ({reason})"]
    return []


def _whole(param: UncertainParameter, base: Any) -> bool:
    """Draw whole numbers: as `integer:` says, else when the field's base value is a whole number."""
    if param.integer is not None:
        return param.integer
    return isinstance(base, int) and not isinstance(base, bool)


def build_study(file: str, uncertain: dict[str, Any] | None, design: dict[str, Any] | None,
                base_data: dict[str, Any], base_set: dict[str, Any], seed: int) -> Study:
    """Validate the `uncertain:` and `design:` blocks of experiment `file` and draw the design points.

    `base_data` is the resolved base scenario (plain data); `base_set` the base scenario variant's `set:`,
    applied first so that the paths are checked where the design points will be applied.
    """
    problems: list[str] = []
    if not uncertain:
        raise ConfigError.at(file, "uncertain", uncertain, "a design needs at least one uncertain parameter")
    if design is None:
        raise ConfigError.at(file, "design", None, "uncertain parameters need a design: {method: lhs | sobol | "
                                                   "morris, samples: N}")
    try:
        design_spec = DesignSpec.model_validate(design)
    except ValidationError as exc:
        raise ConfigError(_model_problems(exc, file, "design", design)) from None
    data = copy.deepcopy(base_data)
    apply_overrides(data, base_set, f"{file}: scenarios (base).set")
    params: dict[str, UncertainParameter] = {}
    for path, raw in uncertain.items():
        try:
            params[path] = UncertainParameter.model_validate(raw)
        except ValidationError as exc:
            problems.extend(line.replace(f"{file}: ", f"{file}: uncertain.{path}.", 1)
                            for line in format_validation_error(exc, file, raw))
    if problems:
        raise ConfigError(problems)
    seen: dict[str, str] = {}
    integer: dict[str, bool] = {}
    nominal: dict[str, Any] = {}
    for path, param in params.items():
        for target in (path, *param.also):
            if target in seen:
                problems.append(f"{file}: uncertain.{path}: {target}: already varied by uncertain.{seen[target]}")
                continue
            seen[target] = path
            _, base = _lookup(data, target)
            whole = _whole(param, base)
            problems.extend(_check_path(file, target, param, data, whole))
        _, base = _lookup(data, path)
        nominal[path] = base
        integer[path] = _whole(param, base)
    if problems:
        raise ConfigError(problems)
    design_seed = design_spec.seed if design_spec.seed is not None else seed
    unit = unit_sample(design_spec, list(params), design_seed)
    values = np.column_stack([p.ppf(unit[:, j]) for j, p in enumerate(params.values())])
    return Study(params, design_spec, integer, nominal, unit, values, design_seed)


# ----------------------------------------------------------------------------------- command hooks
def before_run(study: Study, out: Path) -> None:
    """Write design.parquet and parameters.csv (atomically) before any run starts."""
    from sim.results.tables import validate
    from sim.runs.atomic import atomic_write

    out.mkdir(parents=True, exist_ok=True)
    frame = validate("design", study.design_frame())
    atomic_write(out / DESIGN_FILE, lambda p: frame.to_parquet(p, index=False))
    table = pd.DataFrame(parameter_table(study.params))
    atomic_write(out / PARAMETERS_FILE, lambda p: table.to_csv(p, index=False))

