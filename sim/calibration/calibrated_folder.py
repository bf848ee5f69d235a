"""Reading a calibration folder named by an experiment's `parameters_from:`, as `validate` must: every fault of
the folder (a truncated or foreign summary.json, an unreadable nonimplausible.parquet, a parameter column
missing, kept values that are not finite numbers) and every mismatch with the experiment's network (a
calibrated path this scenario does not have, kept values its fields refuse) is one line at
`<experiment>: parameters_from`, naming the folder's file and what to do.

What a calibration writes is sim.calibration.command's (`summary.json` lists each parameter's paths and type,
`nonimplausible.parquet` the kept points); this module only reads it back, and refuses what it cannot use.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

from sim.config import set_path, validate_scenario
from sim.errors import ConfigError, short_repr

SUMMARY, KEPT = "summary.json", "nonimplausible.parquet"
REWRITE = "run 'resilience calibrate' again to rewrite the folder"
_SCRATCH = "calibrated"


def _refuse(file: str, field: str, folder: Path, why: str) -> ConfigError:
    return ConfigError.at(file, field, str(folder), why)


def read_summary(folder: Path, file: str, field: str) -> dict[str, dict[str, Any]]:
    """summary.json's parameters: path -> {label, also, is_date, integer}, each checked for what draws use."""
    path = folder / SUMMARY
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _refuse(file, field, folder, f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                      f"{exc.msg}): truncated or corrupted; {REWRITE}") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise _refuse(file, field, folder, f"{path.name} cannot be read ({exc.__class__.__name__}); {REWRITE}") \
            from None
    if not isinstance(summary, dict):
        raise _refuse(file, field, folder, f"{path.name} holds {type(summary).__name__}, not the JSON object "
                      f"'resilience calibrate' writes; {REWRITE}")
    parameters = summary.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise _refuse(file, field, folder, f"{path.name} lists no calibrated parameters; {REWRITE}")
    for name, meta in parameters.items():
        if not isinstance(meta, dict) or "also" not in meta:
            raise _refuse(file, field, folder, f"{path.name}: parameter {name!r} has no list of paths (`also`): "
                          f"written by an older version; {REWRITE}")
        if not (isinstance(meta["also"], list) and all(isinstance(a, str) for a in meta["also"])
                and isinstance(meta.get("is_date"), bool) and isinstance(meta.get("integer"), bool)):
            raise _refuse(file, field, folder, f"{path.name}: parameter {name!r} is not described as "
                          f"'resilience calibrate' writes it (also: [paths], is_date, integer); {REWRITE}")
    if summary.get("failed"):
        why = summary.get("stopped_because", "") or "no point of the space is left"
        raise _refuse(file, field, folder, f"a calibration that kept some points ({why})")
    return parameters


def read_kept(folder: Path, file: str, field: str, parameters: dict[str, dict[str, Any]]) -> Any:
    """The uniform sample kept (one column per parameter, finite numbers), from nonimplausible.parquet."""
    import pandas as pd
    import pyarrow

    path = folder / KEPT
    try:
        kept = pd.read_parquet(path)
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        first = (str(exc).splitlines() or [exc.__class__.__name__])[0].split(". ")[0].split(": ")[-1]
        raise _refuse(file, field, folder, f"{path.name} cannot be read ({first[:100]}): truncated or corrupted; "
                      f"{REWRITE}") from None
    missing = [c for c in ("kind", *parameters) if c not in kept.columns]
    if missing:
        raise _refuse(file, field, folder, f"{path.name} has no column {missing[0]!r} (summary.json lists it); "
                      f"{REWRITE}")
    sample = kept[kept["kind"] == "sample"]
    if sample.empty:
        raise _refuse(file, field, folder, f"a calibration that kept some points ({path.name} keeps none)")
    values = sample[list(parameters)].reset_index(drop=True)
    for name in parameters:
        column = pd.to_numeric(values[name], errors="coerce")
        bad = [i for i, v in enumerate(column) if not math.isfinite(v)]
        if bad:
            shown = short_repr(_plain(values[name][bad[0]]))
            raise _refuse(file, field, folder, f"{path.name}: column {name!r} holds {shown} (row {bad[0]} of the kept "
                          f"sample): kept points are finite numbers; {REWRITE}")
        values[name] = column.astype(float)
    return values


def _plain(value: Any) -> Any:
    """A numpy scalar as the plain Python value a user reads (nan, not np.float64(nan))."""
    return value.item() if hasattr(value, "item") else value


def check_against(folder: Path, file: str, field: str, parameters: dict[str, dict[str, Any]], values: Any,
                  base_data: dict[str, Any]) -> None:
    """Every calibrated path exists in this experiment's base scenario, and takes the smallest and the largest
    kept value (a choice: every alternative kept): a calibration of another network, or kept values the fields
    refuse, is one line."""
    from sim.uncertainty.parameters import UncertainParameter

    for name, meta in parameters.items():
        definition = UncertainParameter.model_validate(meta["definition"])
        column = values[name]
        tried = sorted(set(column.round())) if definition.choice is not None else (column.min(), column.max())
        for value in tried:
            trial = copy.deepcopy(base_data)
            overrides = definition.as_overrides(name, float(value), meta["integer"])
            for target, cast in overrides.items():
                try:  # as a draw is applied: a missing section the schema has is created
                    set_path(trial, target, cast, _SCRATCH)
                except ConfigError as exc:
                    reason = exc.problems[0].removeprefix(_SCRATCH + ": ")
                    raise _refuse(file, field, folder, f"calibrates {target}, which this experiment's network does "
                                  f"not have ({reason}): a calibration of another network?") from None
            try:
                validate_scenario(trial, _SCRATCH)
            except ConfigError as exc:
                reason = exc.problems[0].removeprefix(_SCRATCH + ": ")
                shown = list(definition.choice)[round(value)] if definition.choice is not None else overrides[name]
                raise _refuse(file, field, folder, f"kept value {short_repr(shown)} of {name} does not fit this "
                              f"network ({reason})") from None
