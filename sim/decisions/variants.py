"""The experiment blocks of the decision layer (`levers:`, `shocks:`, `stress:`, `decisions:`) and the
scenario variants they add to an experiment: one per lever (at its run amount), one per shock and per
chosen pair of shocks in the stress matrix. Each variant is the base plus a change to its data; the
experiment validates it like any scenario and runs it with the same seeds as the base (CRN).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.decisions.levers import LeverSpec, apply_lever, check_lever_name, run_amount
from sim.decisions.shocks import ShockRef, ShockSpec, apply_shock, resolve
from sim.errors import ConfigError

Change = Callable[[dict[str, Any]], None]


class StressSpec(BaseModel):
    """The stress matrix: every shock alone against the base, and chosen pairs together."""

    model_config = ConfigDict(extra="forbid")

    shocks: list[ShockRef] = Field(min_length=1, description="shocks to run one at a time")
    pairs: list[tuple[str, str]] = Field(default_factory=list, description="pairs of shock names run together")
    recovery_window_days: int = Field(7, ge=1, le=28, description="days averaged for the daily rate")

    @model_validator(mode="after")
    def _pairs_known(self) -> StressSpec:
        names = {r.shock for r in self.shocks}
        for a, b in self.pairs:
            for n in (a, b):
                if n not in names:
                    raise ValueError(f"pair member {n!r} is not one of the shocks ({', '.join(sorted(names))})")
            if a == b:
                raise ValueError(f"a pair needs two different shocks, got {a!r} twice")
        return self


class DecisionSpec(BaseModel):
    """What the lever and stress tables measure."""

    model_config = ConfigDict(extra="forbid")

    targets: list[str] | None = Field(None, description="targets to report (default: all)")
    masks_by: dt.date | None = Field(None, description="date for 'masks gained by' (default: first dated target)")
    max_replications: int | None = Field(
        None, ge=1, description="most replications per lever: more are added, a batch of `replications` at a "
        "time, until its days-gained interval on the first target excludes 0 (default 4 × replications; "
        "equal to replications: none added)")


def shock_variants(stress: StressSpec, file: str) -> dict[str, tuple[str, list[ShockSpec]]]:
    """name -> (description, shocks) for every shock alone and every pair."""
    resolved = {ref.shock: resolve(ref, file, f"stress.shocks[{i}]") for i, ref in enumerate(stress.shocks)}
    out: dict[str, tuple[str, list[ShockSpec]]] = {
        name: (shock.description, [shock]) for name, shock in resolved.items()}
    for a, b in stress.pairs:
        out[f"{a}+{b}"] = (f"{resolved[a].description}; and {resolved[b].description}", [resolved[a], resolved[b]])
    return out


def decision_variants(levers: dict[str, LeverSpec], stress: StressSpec | None, file: str,
                      taken: set[str]) -> dict[str, tuple[str, Change]]:
    """name -> (description, change to scenario data) for the levers and the stress matrix."""
    out: dict[str, tuple[str, Change]] = {}
    for name, lever in levers.items():
        check_lever_name(name, file)
        amount = run_amount(lever)

        def change(data: dict[str, Any], name: str = name, lever: LeverSpec = lever, amount: float = amount) -> None:
            apply_lever(data, name, lever, amount, file)

        out[name] = (lever.description, change)
    if stress is not None:
        for name, (description, shocks) in shock_variants(stress, file).items():
            def shock_change(data: dict[str, Any], shocks: list[ShockSpec] = shocks) -> None:
                for shock in shocks:
                    apply_shock(data, shock, file)

            out[name] = (description, shock_change)
    for name in out:
        if name in taken:
            raise ConfigError.at(file, f"levers/stress: {name}", name, "a name not already used by a scenario")
    return out


def apply_shock_refs(data: dict[str, Any], refs: list[ShockRef], file: str) -> None:
    """The experiment's `shocks:` block: applied to the base, so to every scenario."""
    for i, ref in enumerate(refs):
        apply_shock(data, resolve(ref, file, f"shocks[{i}]"), file)
