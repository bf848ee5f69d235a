"""Experiments: a base scenario, named scenarios as overrides, sweeps and replications, expanded into
RunSpecs. A plain scenario file is also an experiment (one scenario, named `base`).

Every scenario and sweep point uses the same root seed and replication numbers, so replication r of
every scenario draws from the same named streams: common random numbers.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.config import (
    NAME_PATTERN,
    Scenario,
    apply_overrides,
    config_hash,
    format_validation_error,
    read_yaml,
    scenario_dict,
    validate_scenario,
)
from sim.decisions.levers import LeverSpec
from sim.decisions.shocks import ShockRef
from sim.decisions.variants import DecisionSpec, StressSpec, apply_shock_refs, decision_variants
from sim.errors import ConfigError
from sim.spec import RunSpec

BASE = "base"


class ScenarioVariant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field("", description="what this scenario changes, in words")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value")


class Sweep(BaseModel):
    """Either a full grid over several paths, or an explicit list of points."""

    model_config = ConfigDict(extra="forbid")

    grid: dict[str, list[Any]] | None = Field(None, description="dotted path -> values; every combination")
    points: list[dict[str, Any]] | None = Field(None, description="explicit points: [{path: value, ...}, ...]")

    @model_validator(mode="after")
    def _one(self) -> Sweep:
        if (self.grid is None) == (self.points is None):
            raise ValueError("give either grid or points")
        if self.grid is not None and any(len(v) == 0 for v in self.grid.values()):
            raise ValueError("every grid path needs at least one value")
        return self

    def expand(self) -> list[dict[str, Any]]:
        if self.points is not None:
            return [dict(p) for p in self.points]
        assert self.grid is not None
        paths = list(self.grid)
        return [dict(zip(paths, values, strict=True)) for values in itertools.product(*self.grid.values())]


class ExperimentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="names the results directory")
    description: str = Field("", description="what the experiment asks")
    base: str = Field(description="the base scenario file, relative to the experiment file")
    base_scenario: str = Field(BASE, description="the scenario others are compared with")
    scenarios: dict[str, ScenarioVariant] = Field(default_factory=lambda: {BASE: ScenarioVariant()},
                                                  description="named variants of the base")
    sweep: Sweep | None = Field(None, description="points applied to every scenario")
    replications: int | None = Field(None, ge=1, description="per scenario and point (default: the base's)")
    seed: int | None = Field(None, ge=0, description="root seed (default: the base's)")
    kpis: list[str] | None = Field(None, description="KPIs to summarise (default: all)")
    # the decision layer (sim.decisions): each lever and each stress-matrix shock becomes a scenario
    levers: dict[str, LeverSpec] = Field(default_factory=dict, description="levers, each run as a scenario")
    shocks: list[ShockRef] = Field(default_factory=list, description="shocks applied to the base (every scenario)")
    stress: StressSpec | None = Field(None, description="stress matrix: every shock (and pairs) against the base")
    decisions: DecisionSpec = Field(default_factory=DecisionSpec, description="what lever/stress tables measure")

    @model_validator(mode="after")
    def _base_known(self) -> ExperimentSpec:
        if self.base_scenario not in self.scenarios:
            raise ValueError(f"base_scenario {self.base_scenario!r} is not one of the scenarios")
        return self


class Experiment:
    """A validated experiment: every scenario × sweep point resolved and validated up front."""

    def __init__(self, spec: ExperimentSpec, file: str, base_data: dict[str, Any], base_file: str,
                 cli_overrides: list[str]) -> None:
        self.spec = spec
        self.file = file
        self.base_file = base_file
        self.name = spec.name
        self.cli_overrides = cli_overrides
        apply_overrides(base_data, cli_overrides)
        apply_shock_refs(base_data, spec.shocks, file)
        base = validate_scenario(base_data, base_file)
        self.base = base
        self.replications = spec.replications or base.replications
        self.seed = spec.seed if spec.seed is not None else base.seed
        self.points = spec.sweep.expand() if spec.sweep else [{}]
        self.resolved: dict[tuple[str, int], Scenario] = {}
        for scen_name, variant in spec.scenarios.items():
            for i, point in enumerate(self.points):
                data = scenario_dict(base)
                apply_overrides(data, variant.set, f"{file}: scenarios.{scen_name}.set")
                apply_overrides(data, point, f"{file}: sweep")
                self.resolved[(scen_name, i)] = validate_scenario(data, f"{file} (scenario {scen_name})")
        self.decision_variants = decision_variants(spec.levers, spec.stress, file, set(spec.scenarios))
        for scen_name, (_, change) in self.decision_variants.items():
            for i, point in enumerate(self.points):
                data = scenario_dict(base)
                change(data)
                apply_overrides(data, point, f"{file}: sweep")
                self.resolved[(scen_name, i)] = validate_scenario(data, f"{file} (scenario {scen_name})")

    @property
    def scenario_names(self) -> list[str]:
        return [*self.spec.scenarios, *self.decision_variants]

    def config(self) -> dict[str, Any]:
        """Everything that determines the results (for the manifest and the config hash)."""
        return {
            "experiment": self.spec.model_dump(mode="json"),
            "seed": self.seed,
            "replications": self.replications,
            "cli_overrides": self.cli_overrides,
            "scenarios": {f"{n}/p{i}": scenario_dict(s) for (n, i), s in self.resolved.items()},
        }

    def config_hash(self) -> str:
        return config_hash(self.config())

    def run_specs(self, replications: int | None = None) -> list[RunSpec]:
        reps = replications or self.replications
        specs = []
        for (scen_name, i), scenario in self.resolved.items():
            data = scenario_dict(scenario)
            for r in range(reps):
                specs.append(RunSpec(run_id=f"{scen_name}/p{i}/r{r:03d}", scenario_name=scen_name,
                                     point=dict(self.points[i]), replication=r, root_seed=self.seed, scenario=data))
        return specs


def load_experiment(path: str | Path, overrides: list[str] | None = None, seed: int | None = None) -> Experiment:
    """Load an experiment file, or a scenario file as a one-scenario experiment."""
    path = Path(path)
    data = read_yaml(path)
    if "base" not in data:  # a plain scenario
        spec = ExperimentSpec(name=str(data.get("name", path.stem)), base=path.name)
        base_data, base_file = data, str(path)
    else:
        try:
            spec = ExperimentSpec.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, str(path), data)) from None
        base_path = (path.parent / spec.base).resolve()
        base_data, base_file = read_yaml(base_path), str(path.parent / spec.base)
    if seed is not None:
        spec = spec.model_copy(update={"seed": seed})
    return Experiment(spec, str(path), base_data, base_file, list(overrides or []))
