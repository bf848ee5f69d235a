"""The `levers:`, `shocks:`, `stress:` and `decisions:` blocks of an experiment file: their fields, and the
checks `Experiment` calls (sim.experiment.Block; put together in sim.studies). Each lever and each stress-matrix
shock becomes a scenario of the experiment."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sim.decisions.levers import LeverSpec
from sim.decisions.shocks import ShockRef
from sim.decisions.variants import DecisionSpec, StressSpec, apply_shock_refs, check_decisions, decision_variants

FIELDS: dict[str, tuple[Any, Any]] = {
    "levers": (dict[str, LeverSpec], Field(default_factory=dict, description="levers, each run as a scenario")),
    "shocks": (list[ShockRef], Field(default_factory=list,
                                     description="shocks applied to the base (every scenario)")),
    "stress": (StressSpec | None, Field(None, description="stress matrix: every shock (and pairs) against the base")),
    "decisions": (DecisionSpec, Field(default_factory=DecisionSpec,
                                      description="what lever/stress tables measure")),
}


def prepare(exp: Any, base_data: dict[str, Any]) -> None:
    """The `shocks:` block changes the base, so every scenario."""
    apply_shock_refs(base_data, exp.spec.shocks, exp.file)


def check_base(exp: Any) -> None:
    base = exp.base
    check_decisions(exp.spec.decisions, list(base.targets), base.start, base.horizon_days, exp.file)


def variants(exp: Any) -> dict[str, Any]:
    spec = exp.spec
    return decision_variants(spec.levers, spec.stress, exp.file, set(spec.scenarios))
