"""The real model, for the runner's tests: specs of a small real scenario, and a thin wrapper that can
slow each run down so a subprocess running an experiment can be interrupted midway.

`simulate` is `sim.model.simulate` preceded by a sleep of `SLOW_MODEL_SLEEP` seconds (0 by default);
the sleep never changes a result. A failing run is a real one: its scenario holds a value the model
rejects when it validates the spec.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sim.config import Scenario, scenario_dict
from sim.model import simulate as model_simulate
from sim.spec import RunResult, RunSpec
from tests.scenarios import line


def simulate(spec: RunSpec) -> RunResult:
    delay = float(os.environ.get("SLOW_MODEL_SLEEP", "0") or 0)
    if delay > 0:
        time.sleep(delay)
    return model_simulate(spec)


def make_specs(replications: int = 3, *, root_seed: int = 20200330, failing: bool = False) -> list[RunSpec]:
    """Two scenarios of a small real line, the second swept over two points, `replications` each; with
    `failing`, a third scenario whose runs raise (a negative lot size reaches the model's validation)."""
    base = scenario_dict(Scenario.model_validate(line(horizon_days=12, cv=0.4, absence=0.05,
                                                      operators={"sew": 3, "cut": 2})))
    faster = scenario_dict(Scenario.model_validate(line(horizon_days=12, cv=0.4, absence=0.05,
                                                        operators={"sew": 4, "cut": 2})))
    plan: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [("base", "p0", {}, base)]
    for p, lot in enumerate((50, 200)):
        plan.append(("more_sewers", f"p{p}", {"lot_size": lot}, {**faster, "lot_size": lot}))
    if failing:
        plan.append(("broken", "p0", {}, {**base, "lot_size": -5}))
    return [
        RunSpec(run_id=f"{name}/{point_id}/r{r:03d}", scenario_name=name, point=point, replication=r,
                root_seed=root_seed, scenario=scenario)
        for name, point_id, point, scenario in plan
        for r in range(replications)
    ]
