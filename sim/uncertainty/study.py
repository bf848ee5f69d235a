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
from pydantic import BaseModel, ValidationError

from sim.config import (
    apply_overrides,
    find_path,
    format_validation_error,
    get_path,
    parse_path,
    path_tokens,
    set_path,
    validate_scenario,
)
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
            out.update(param.as_overrides(path, self.values[i - 1, j], self.integer[path]))
        return out

    def value(self, i: int, path: str) -> Any:
        """Parameter `path` at design point i (1-based) as the field takes it (a choice: its index)."""
        j = list(self.params).index(path)
        return self.params[path].cast(self.values[i - 1, j], self.integer[path])

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
                row[path] = self.nominal[path] if i == 0 else self.value(i, path)
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
FRAME_FIELDS = ("name", "start", "horizon_days", "seed", "replications")
"""Top-level fields that frame a study (its period, seeds and sizes): never uncertain parameters."""


class _Blocks(BaseModel):
    """The two blocks validated together, so a problem's path starts at the block (`design.samples`,
    `uncertain.<path>.uniform`), never at a printed mapping."""

    uncertain: dict[str, UncertainParameter]
    design: DesignSpec


def _is_date_text(value: Any) -> bool:
    if isinstance(value, dt.date):
        return True
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _period(data: dict[str, Any]) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(str(data["start"]))
    return start, start + dt.timedelta(days=int(data["horizon_days"]) - 1)


def _check_path(file: str, path: str, param: UncertainParameter, data: dict[str, Any], integer: bool) -> list[str]:
    """Problems with one uncertain path: it must exist, hold a number (or a date) and accept both ends."""
    where = f"{file}: uncertain.{path}"
    if parse_path(path)[0] in FRAME_FIELDS:
        return [f"{where}: {short_repr(path)}: {', '.join(FRAME_FIELDS)} frame the study (its period, seeds and "
                "sizes): set them in the base scenario, not as uncertain parameters"]
    found, base = find_path(data, path, file, "uncertain")
    if not found:  # the walker names the first missing step
        try:
            get_path(data, path, _SCRATCH)
        except ConfigError as exc:
            return [f"{where}: no such field in the scenario ({exc.problems[0].removeprefix(_SCRATCH + ': ')})"]
    if param.is_date and not (base is None or _is_date_text(base)):
        return [f"{where}: {short_repr(base)}: date bounds need a date field"]
    if not param.is_date and not (base is None or (isinstance(base, int | float) and not isinstance(base, bool))):
        return [f"{where}: {short_repr(base)}: not a numeric field; give the path of a number "
                "(e.g. ...size.uniform[1] inside a distribution)"]
    if param.discrete is not None and integer and not param.is_date:
        fractional = [v for v in param.discrete if not float(v).is_integer()]
        if fractional:
            return [f"{where}.discrete: {short_repr(param.discrete)}: whole numbers: this field counts "
                    f"(its base value is {short_repr(base)}); {fractional[0]:g} is not one"]
    if param.is_date:
        first, last = _period(data)
        for value in param.extremes(integer):
            if not first <= dt.date.fromisoformat(value) <= last:
                return [f"{where}.{param.distribution}: {value}: a date inside the simulated period, "
                        f"{first.isoformat()} to {last.isoformat()}"]
    for value in param.extremes(integer):
        trial = copy.deepcopy(data)
        set_path(trial, path, value, _SCRATCH)
        try:
            validate_scenario(trial, _SCRATCH)
        except ConfigError as exc:
            reason = exc.problems[0].removeprefix(_SCRATCH + ": ")
            return [f"{where}: {short_repr(value)}: outside what the field allows ({reason})"]
    return []


def _check_choice(file: str, name: str, param: UncertainParameter, data: dict[str, Any],
                  seen: dict[str, str]) -> list[str]:
    """Problems with a structural choice: each alternative's paths exist, are varied nowhere else, and the
    scenario with the alternative applied validates (a route to an unknown site is one line)."""
    assert param.choice is not None
    problems: list[str] = []
    for alt_name, alternative in param.choice.items():
        where = f"{file}: uncertain.{name}.choice.{alt_name}.set"
        for path in alternative.set:
            if parse_path(path)[0] in FRAME_FIELDS:
                problems.append(f"{where}.{path}: {', '.join(FRAME_FIELDS)} frame the study: not an alternative")
                continue
            other = seen.get(path)
            if other is not None and other != name:
                problems.append(f"{where}.{path}: already varied by uncertain.{other}")
            seen[path] = name
            found, _ = find_path(data, path, file, f"uncertain.{name}.choice.{alt_name}.set")
            if not found:
                try:
                    get_path(data, path, _SCRATCH)
                except ConfigError as exc:
                    problems.append(f"{where}.{path}: no such field in the scenario "
                                    f"({exc.problems[0].removeprefix(_SCRATCH + ': ')})")
        if problems:
            return problems
        trial = copy.deepcopy(data)
        try:
            apply_overrides(trial, alternative.set, _SCRATCH)
            validate_scenario(trial, _SCRATCH)
        except ConfigError as exc:
            reason = exc.problems[0].removeprefix(_SCRATCH + ": ")
            return [f"{where}: this alternative is not a valid scenario ({reason})"]
    return problems


def _whole(param: UncertainParameter, base: Any) -> bool:
    """Draw whole numbers: as `integer:` says, else when the field's base value is a whole number."""
    if param.integer is not None:
        return param.integer
    return isinstance(base, int) and not isinstance(base, bool)


def _check_syntax(file: str, uncertain: dict[str, Any]) -> None:
    """Every key and `also:` entry is a well-formed dotted path (one line naming the first that is not)."""
    for path, raw in uncertain.items():
        path_tokens(path, file, "uncertain")
        also = raw.get("also") if isinstance(raw, dict) else None
        for i, other in enumerate(also if isinstance(also, list) else []):
            path_tokens(other, file, f"uncertain.{path}.also[{i}]")
        choice = raw.get("choice") if isinstance(raw, dict) else None
        for alt_name, alternative in (choice if isinstance(choice, dict) else {}).items():
            overrides = alternative.get("set") if isinstance(alternative, dict) else None
            for other in overrides if isinstance(overrides, dict) else []:
                path_tokens(str(other), file, f"uncertain.{path}.choice.{alt_name}.set")


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
    _check_syntax(file, uncertain)
    blocks = {"uncertain": uncertain, "design": design}
    try:
        validated = _Blocks.model_validate(blocks)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, file, blocks)) from None
    design_spec, params = validated.design, validated.uncertain
    data = copy.deepcopy(base_data)
    apply_overrides(data, base_set, f"{file}: scenarios (base).set")
    late = [day for day in design_spec.checkpoints if day > int(data["horizon_days"])]
    if late and "checkpoints" in design_spec.model_fields_set:  # the defaults (days 21, 42) fit most horizons
        raise ConfigError.at(file, "design.checkpoints", design_spec.checkpoints,
                             f"days within the horizon (1 to {data['horizon_days']}); {late[0]} is after it")
    seen: dict[str, str] = {}
    integer: dict[str, bool] = {}
    nominal: dict[str, Any] = {}
    for path, param in params.items():
        if param.choice is not None:
            problems.extend(_check_choice(file, path, param, data, seen))
            nominal[path] = float("nan")  # the nominal point is the base scenario as written
            integer[path] = True
            continue
        for target in (path, *param.also):
            if target in seen:
                problems.append(f"{file}: uncertain.{path}: {target}: already varied by uncertain.{seen[target]}")
                continue
            seen[target] = path
            _, base = find_path(data, target, file)
            whole = _whole(param, base)
            problems.extend(_check_path(file, target, param, data, whole))
        _, base = find_path(data, path, file)
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

