"""Small scenarios built in code for the tests (plain dicts, validated like any YAML file)."""

from __future__ import annotations

import copy
from typing import Any

from sim.config import Scenario, scenario_dict
from sim.spec import RunSpec

CALENDARS = {"one_shift": {"shifts": [["08:00", "15:00"]]}}


def line(*, lot_size: int = 100, horizon_days: int = 30, cv: float = 0.0, cut_min: float = 0.5,
         sew_min: float = 2.0, inspect_min: float | None = None, pack_min: float | None = None,
         operators: dict[str, int] | None = None, absence: float = 0.0, materials: bool = False,
         hub: bool = True) -> dict[str, Any]:
    """One site that cuts and sews (and optionally inspects and packs), shipping to a hub."""
    operators = {"cut": 1, "sew": 1, "inspect": 1, "pack": 1, **(operators or {})}
    stages: dict[str, Any] = {
        "cut": {"minutes_per_mask": cut_min, "operators": operators["cut"], "cv": cv},
        "sew": {"minutes_per_mask": sew_min, "operators": operators["sew"], "cv": cv},
    }
    if inspect_min is not None:
        stages["inspect"] = {"minutes_per_mask": inspect_min, "operators": operators["inspect"], "cv": cv}
    if pack_min is not None:
        stages["pack"] = {"minutes_per_mask": pack_min, "operators": operators["pack"], "cv": cv}
    data: dict[str, Any] = {
        "name": "line",
        "start": "2020-03-30",
        "horizon_days": horizon_days,
        "lot_size": lot_size,
        "calendars": copy.deepcopy(CALENDARS),
        "absenteeism": {"rate": absence},
        "sites": {"workshop": {"kind": "textile", "stages": stages}},
        "routes": [],
    }
    if hub:
        data["sites"]["platform"] = {"kind": "hub"}
        data["routes"].append({"from": "workshop", "to": "platform", "transit_days": 0})
    if materials:
        data["materials"] = {"fabric": {"unit": "m2", "per_mask": 0.14}, "elastic": {"unit": "m", "per_mask": 0.38}}
    if inspect_min is not None:
        data["quality"] = {"sampling_plans": [{"max_lot": 100000, "sample": 20, "accept": 1}]}
    return data


def spec_of(data: dict[str, Any], replication: int = 0, seed: int = 1, run_id: str | None = None) -> RunSpec:
    scenario = Scenario.model_validate(data)
    return RunSpec(run_id=run_id or f"test/p0/r{replication:03d}", scenario_name="test", point={},
                   replication=replication, root_seed=seed, scenario=scenario_dict(scenario))
