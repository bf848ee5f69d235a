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

from sim.config import FieldProblem
from sim.config.common import known_names
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
        names: list[str] = []
        for i, ref in enumerate(self.shocks):
            if ref.shock in names:
                raise FieldProblem(f"shocks[{i}].shock", ref.shock, "each shock once (the stress matrix runs it "
                                   "alone; a second severity is a shock file of its own)")
            names.append(ref.shock)
        seen: dict[frozenset[str], int] = {}
        for i, (a, b) in enumerate(self.pairs):
            for n in (a, b):
                if n not in names:
                    raise FieldProblem(f"pairs[{i}]", [a, b], f"{n!r} is not one of the stress shocks; "
                                       f"known: {', '.join(sorted(names))}")
            if a == b:
                raise FieldProblem(f"pairs[{i}]", [a, b], "a pair needs two different shocks")
            if frozenset((a, b)) in seen:
                raise FieldProblem(f"pairs[{i}]", [a, b], f"each pair once (pairs[{seen[frozenset((a, b))]}] is the "
                                   "same pair)")
            seen[frozenset((a, b))] = i
        return self


class DecisionSpec(BaseModel):
    """What the lever and stress tables measure."""

    model_config = ConfigDict(extra="forbid")

    targets: list[str] | None = Field(None, min_length=1, description="targets to report (default: all)")
    masks_by: dt.date | None = Field(None, description="date for 'masks gained by' (default: first dated target)")
    max_replications: int | None = Field(
        None, ge=1, description="most replications per lever: more are added, a batch of `replications` at a "
        "time, until its days-gained interval on the first target excludes 0 (default 4 × replications; "
        "equal to replications: none added)")


def check_decisions(decisions: DecisionSpec, targets: list[str], start: dt.date, horizon_days: int,
                    file: str) -> None:
    """The `decisions:` block against the base scenario: known targets, each once; `masks_by` in the period."""
    for i, name in enumerate(decisions.targets or []):
        if name not in targets:
            raise ConfigError.at(file, f"decisions.targets[{i}]", name, known_names("target", targets))
        if name in (decisions.targets or [])[:i]:
            raise ConfigError.at(file, f"decisions.targets[{i}]", name, "each target once")
    last = start + dt.timedelta(days=horizon_days - 1)
    if decisions.masks_by is not None and not start <= decisions.masks_by <= last:
        raise ConfigError.at(file, "decisions.masks_by", decisions.masks_by.isoformat(),
                             f"a date inside the simulated period, {start.isoformat()} to {last.isoformat()}")


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
