"""Experiments: a base scenario, named scenarios as overrides, sweeps and replications, expanded into
RunSpecs. A plain scenario file is also an experiment (one scenario, named `base`).

The analysis blocks of an experiment file (levers, shocks, stress, decisions; uncertain, design; observations,
calibration, parameters_from) belong to the packages that read them: each declares its fields and its checks as
a `Block`, and `sim.studies` puts the blocks together into the `ExperimentSpec` a file is read with. This module
imports none of those packages (tests/test_layers.py).

Every scenario and sweep point uses the same root seed and replication numbers, so replication r of
every scenario draws from the same named streams: common random numbers.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from sim.config import (
    NAME_PATTERN,
    Scenario,
    apply_overrides,
    changed_paths,
    format_validation_error,
    parse_assignment,
    paths_overlap,
    read_yaml,
    scenario_dict,
    validate_scenario,
)
from sim.errors import ConfigError
from sim.heap import live_objects_frozen
from sim.results.tables import (
    CHANNEL_FAMILIES,
    COHORT,
    DAY_TARGET,
    KPIS,
    LOST_CAPACITY,
    OUTPUT_KIND,
    REACHED_BY_DATE,
    SITE_FAMILIES,
    kpi_name,
    probability_name,
)

if TYPE_CHECKING:  # imported when used: `validate` of a broken file should not wait for pandas
    from sim.spec import RunSpec

BASE = "base"


def _nothing(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class Block:
    """An analysis package's part of an experiment file: the top-level keys it owns, as pydantic fields in file
    order ({name: (annotation, Field(...))}), and its checks, which `Experiment` calls at fixed stages, every
    block in turn. A check raises ConfigError (one line) for bad input, as the rest of the experiment does."""

    fields: dict[str, tuple[Any, Any]]
    # on the base scenario's data, before it is validated (shocks change the base)
    prepare: Callable[[Experiment, dict[str, Any]], None] = _nothing
    # once the base is validated
    check_base: Callable[[Experiment], None] = _nothing
    # after the experiment's own conflicts: build what the block needs (a study's points, a calibration space)
    build: Callable[[Experiment], None] = _nothing
    # scenario variants the block adds: name -> (what it is, a change applied to the base's data)
    variants: Callable[[Experiment], dict[str, tuple[Any, Callable[[dict[str, Any]], None]]]] = lambda exp: {}
    # once every scenario is resolved: `--set` paths, and the paths the base's own preparation changed
    check_resolved: Callable[[Experiment, list[str], list[str]], None] = _nothing
    # what the manifest records about the block (merged into `manifest_extra`)
    manifest: Callable[[Experiment], dict[str, Any]] = lambda exp: {}


class ScenarioVariant(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    description: str = Field("", description="what this scenario changes, in words")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value")


class Sweep(BaseModel):
    """Either a full grid over several paths, or an explicit list of points."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

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


class ExperimentCore(BaseModel):
    """The keys of an experiment file this module owns; `experiment_spec` adds the analysis blocks'."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    blocks: ClassVar[tuple[Block, ...]] = ()

    name: str = Field(pattern=NAME_PATTERN, description="names the results directory")
    description: str = Field("", description="what the experiment asks")
    base: str = Field(description="the base scenario file, relative to the experiment file")
    base_scenario: str = Field(BASE, description="the scenario others are compared with")
    scenarios: dict[str, ScenarioVariant] = Field(default_factory=lambda: {BASE: ScenarioVariant()},
                                                  description="named variants of the base")
    sweep: Sweep | None = Field(None, description="points applied to every scenario")
    replications: int | None = Field(None, ge=1, le=100_000, strict=True,
                                     description="per scenario and point (default: the base's)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, strict=True, description="root seed (default: the base's)")
    kpis: list[str] | None = Field(None, description="KPIs to summarise (default: all); each must be a KPI the "
                                   "model produces for this experiment")
    @model_validator(mode="after")
    def _base_known(self) -> ExperimentCore:
        if self.base_scenario not in self.scenarios:
            raise ValueError(f"base_scenario {self.base_scenario!r} is not one of the scenarios")
        return self

    @field_validator("scenarios")
    @classmethod
    def _scenario_names(cls, scenarios: dict[str, ScenarioVariant]) -> dict[str, ScenarioVariant]:
        for name in scenarios:
            if not re.fullmatch(NAME_PATTERN, name):
                raise ValueError(f"scenario name {name!r} must start with a letter and use letters, digits, _ or -")
        return scenarios


def experiment_spec(blocks: tuple[Block, ...], rules: Callable[[Any], None]) -> type[ExperimentCore]:
    """The model an experiment file is read with: the core keys, then each block's, in this order; `rules`
    (raising ValueError) checks what involves several blocks."""
    fields = {name: spec for block in blocks for name, spec in block.fields.items()}

    def _rules(spec: Any) -> Any:
        rules(spec)
        return spec

    model = create_model("ExperimentSpec", __base__=ExperimentCore,
                         __validators__={"_block_rules": model_validator(mode="after")(_rules)}, **fields)
    model.blocks = blocks
    return model


class Experiment:
    """A validated experiment: every scenario × sweep point resolved, validated and built up front, so that
    `validate` checks exactly what `run` will build (groups expanded, calendars and schedules resolved)."""

    def __init__(self, spec: ExperimentCore, file: str, base_data: dict[str, Any], base_file: str,
                 cli_overrides: list[str] | dict[str, Any]) -> None:
        """`cli_overrides`: `--set` strings ("path=value"), or {path: value} from the Python API."""
        self.spec = spec
        self.file = file
        self.base_file = base_file
        self.name = spec.name
        self.cli_overrides = cli_overrides
        self.blocks = type(spec).blocks
        apply_overrides(base_data, cli_overrides)
        unprepared = copy.deepcopy(base_data)
        for block in self.blocks:
            block.prepare(self, base_data)
        base = validate_scenario(base_data, base_file)
        self.base = base
        for block in self.blocks:
            block.check_base(self)
        self.replications = spec.replications or base.replications
        self.seed = spec.seed if spec.seed is not None else base.seed
        self.points = spec.sweep.expand() if spec.sweep else [{}]
        set_paths = list(cli_overrides) if isinstance(cli_overrides, dict) else [parse_assignment(o)[0]
                                                                                 for o in cli_overrides]
        check_conflicts(spec, file, set_paths)
        self.set_paths = set_paths
        self.study: Any = None  # an uncertainty study (sim.uncertainty.study): its design points replace the sweep
        self.space: Any = None  # a calibration's parameter space (sim.calibration.space); waves make its points
        self.calibrated: Any = None  # parameters_from: the calibrated set the replications draw from
        for block in self.blocks:
            block.build(self)
        self.resolved: dict[tuple[str, int], Scenario] = {}
        for scen_name, variant in spec.scenarios.items():
            for i, point in enumerate(self.points):
                data = scenario_dict(base)
                apply_overrides(data, variant.set, f"{file}: scenarios.{scen_name}.set")
                apply_overrides(data, point, f"{file}: sweep")
                self.resolved[(scen_name, i)] = validate_scenario(data, f"{file} (scenario {scen_name})")
        # scenarios the blocks add (each lever, each stress-matrix shock)
        self.decision_variants = {name: variant for block in self.blocks
                                  for name, variant in block.variants(self).items()}
        for scen_name, (_, change) in self.decision_variants.items():
            for i, point in enumerate(self.points):
                data = scenario_dict(base)
                change(data)
                apply_overrides(data, point, f"{file}: sweep")
                self.resolved[(scen_name, i)] = validate_scenario(data, f"{file} (scenario {scen_name})")
        prepared = changed_paths(unprepared, base_data)
        for block in self.blocks:
            block.check_resolved(self, set_paths, prepared)
        known: set[str] = set()
        with live_objects_frozen():  # a study builds and drops many networks: see sim/heap.py
            for (scen_name, i), scenario in self.resolved.items():
                where = f"{file} (scenario {scen_name}" + (f", sweep point {i}" if spec.sweep else "") + ")"
                known |= kpi_names(build_check(scenario, where, self.seed))
        if spec.kpis is not None:
            for j, kpi in enumerate(spec.kpis):
                if kpi not in known:
                    close = difflib.get_close_matches(kpi, sorted(known), n=3, cutoff=0.6)
                    hint = f"did you mean {', '.join(close)}?" if close else "see docs/results.md for the KPI names"
                    raise ConfigError.at(file, f"kpis[{j}]", kpi, f"not a KPI of this experiment; {hint}")

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
            "scenarios": {f"{n}/p{i}": scenario_dict(s) for (n, i), s in self.resolved.items()
                          if self.study is None or i == 0},
            **({"design": self.study.config()} if self.study is not None else {}),
            **({"calibrated_draws": self.calibrated_draws(self.replications)} if self.calibrated is not None
               else {}),
        }

    def run_specs(self, replications: int | None = None) -> list[RunSpec]:
        from sim.spec import RunSpec

        reps = replications or self.replications
        specs = []
        for (scen_name, i), scenario in self.resolved.items():
            data = scenario_dict(scenario)
            point, name, n = dict(self.points[i]), scen_name, reps
            if self.study is not None:  # design values live in design.parquet, not in param.* columns
                point, name, n = {}, self.study.scenario_name(i, scen_name), self.study.replications_at(i, reps)
            draws = self.calibrated_draws(n)
            for r in range(n):
                run_data = data if draws is None else self._at_draw(scenario, draws[r], scen_name)
                specs.append(RunSpec(run_id=f"{name}/p{i}/r{r:03d}", scenario_name=name,
                                     point=point, replication=r, root_seed=self.seed, scenario=run_data))
        return specs

    def calibrated_draws(self, n: int) -> list[dict[str, Any]] | None:
        """Replication r's parameter values under `parameters_from` (the same for every scenario)."""
        return None if self.calibrated is None else self.calibrated.draws(n, self.seed)

    def _at_draw(self, scenario: Scenario, draw: dict[str, Any], scen_name: str) -> dict[str, Any]:
        data = scenario_dict(scenario)
        apply_overrides(data, draw, f"{self.file}: parameters_from")
        return scenario_dict(validate_scenario(data, f"{self.file} (scenario {scen_name}, calibrated draw)"))


def load_experiment_as(spec_model: type[ExperimentCore], path: str | Path, overrides: list[str] | None = None,
                       seed: int | None = None) -> Experiment:
    """Load an experiment file, or a scenario file as a one-scenario experiment, read with `spec_model`: the
    whole file's model is sim.studies.ExperimentSpec, and sim.studies.load_experiment is the one to call (this
    module's core alone knows no analysis block, so it has no load_experiment of its own to import by mistake)."""
    path = Path(path)
    data = read_yaml(path)
    if "effects" in data and "sites" not in data:  # a shock file (sim.decisions.shocks) given as an experiment
        raise ConfigError([f"{path}: a shock file (it lists effects), not an experiment or a scenario: name it in an "
                           f"experiment's shocks: or stress.shocks: block as {{shock: {path.stem}}}, and give that "
                           "experiment"])
    if "base" not in data:  # a plain scenario: its own name is checked by the scenario schema
        name = data.get("name")
        spec = spec_model(name=name if isinstance(name, str) and re.fullmatch(NAME_PATTERN, name) else path.stem
                              if re.fullmatch(NAME_PATTERN, path.stem) else "scenario", base=path.name)
        base_data, base_file = data, str(path)
    else:
        try:
            spec = spec_model.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, str(path), data)) from None
        base_path = (path.parent / spec.base).resolve()
        if base_path == path.resolve():
            raise ConfigError.at(str(path), "base", spec.base, "the base scenario file cannot be the experiment itself")
        if not base_path.exists():
            raise ConfigError.at(str(path), "base", spec.base, f"no such scenario file ({path.parent / spec.base}): "
                                 "the base is a scenario file, relative to the experiment file")
        base_data, base_file = read_yaml(base_path), str(path.parent / spec.base)
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**63 - 1:
            raise ConfigError.at("--seed", "", seed, "a whole number between 0 and 2**63 - 1")
        spec = spec.model_copy(update={"seed": seed})
    return Experiment(spec, str(path), base_data, base_file, list(overrides or []))


# ------------------------------------------------------------------------------------------- checks
def check_conflicts(spec: ExperimentCore, file: str, cli_paths: list[str]) -> None:
    """Refuse a path set in two places, where one would silently win: a scenario's `set` and the sweep
    (the sweep is applied last), a `--set` and either of them (both are applied after it). The analysis blocks
    check their own (an uncertain parameter, a calibrated draw)."""
    sweep_paths: list[str] = []
    if spec.sweep is not None:
        for point in spec.sweep.expand():
            sweep_paths.extend(p for p in point if p not in sweep_paths)
    for name, variant in spec.scenarios.items():
        for path in variant.set:
            for swept in sweep_paths:
                if paths_overlap(path, swept):
                    raise ConfigError.at(file, f"scenarios.{name}.set.{path}", variant.set[path],
                                         f"the sweep also sets {swept} and would silently win: set it in one place")
    for path in cli_paths:
        for swept in sweep_paths:
            if paths_overlap(path, swept):
                raise ConfigError.at("--set", path, path, f"the sweep of {file} sets {swept} and would override it")
        for name, variant in spec.scenarios.items():
            for other in variant.set:
                if paths_overlap(path, other):
                    raise ConfigError.at("--set", path, path,
                                         f"scenario {name} of {file} sets {other} and would override it")


def build_check(scenario: Scenario, where: str, seed: int) -> Any:
    """Build (without running) the network `run` will build for replication 0: groups expanded into
    member sites, calendars, schedules and lanes made. A failure here is bad input, named as such."""
    from pydantic import ValidationError as PydanticError

    from sim.model import Network
    from sim.rng import CheckStreams

    try:
        return Network(scenario, CheckStreams(seed, 0))
    except PydanticError as exc:
        lines = [line.removeprefix(f"{where}: ") for line in format_validation_error(exc, where, {})]
        raise ConfigError([f"{where}: a site built from a group is invalid: {lines[0]}"]) from None
    except (ValueError, KeyError, TypeError, OverflowError, ArithmeticError) as exc:
        raise ConfigError([f"{where}: cannot be built: {type(exc).__name__}: {exc}"]) from None


FIXED_KPIS: tuple[str, ...] = (*(f.name for f in KPIS if not f.is_family),
                                *(kpi_name(LOST_CAPACITY, cause) for cause in ("absence", "breakdown")))
"""KPIs every run may produce whatever its network (sim.model.collect), from the registry of
sim/results/tables.py;
tests/test_input_hardening.py checks that every KPI a real run produces is named by `kpi_names`."""


def kpi_names(net: Any) -> set[str]:
    """Every KPI name a run of this built network can produce (and the P(...) rows the summary adds)."""
    s = net.s
    names = set(FIXED_KPIS)
    for target in s.targets:
        names |= {kpi_name(DAY_TARGET, target), kpi_name(REACHED_BY_DATE, target), probability_name(target)}
    for channel in s.channels:
        names |= {kpi_name(family, channel) for family in CHANNEL_FAMILIES}
    names |= {kpi_name(OUTPUT_KIND, kind) for kind in net.site_kinds}
    for site in net.sites.values():
        names |= {kpi_name(family, site.name) for family in SITE_FAMILIES}
        for unit in site.stages:
            for cohort in unit.team.cohorts:
                names |= {kpi_name(COHORT, f"{site.name}.{cohort.name}.days_to_{level}") for level in (50, 80)}
    return names


def manifest_extra(exp: Experiment, command: str) -> dict[str, Any]:
    """What manifest.json records about an experiment: its configuration and hash, dates, targets, seed, the
    command, every number of its base file with its source, and the observations its charts compare with."""
    from sim.assumptions import extract, with_operator_speeds
    from sim.runs.manifest import config_hash

    base = exp.base
    return {
        "experiment": exp.name,
        "experiment_file": exp.file,
        "config_hash": config_hash(exp.config()),
        "config": exp.config(),
        "start_date": base.start.isoformat(),
        "horizon_days": base.horizon_days,
        "targets": {k: t.model_dump(mode="json") for k, t in base.targets.items()},
        "base_scenario": exp.spec.base_scenario,
        "scenarios": exp.scenario_names,
        "root_seed": exp.seed,
        "command": command,
        "assumptions": with_operator_speeds(extract(exp.base_file), base),
        **{key: value for block in exp.blocks for key, value in block.manifest(exp).items()},
    }
