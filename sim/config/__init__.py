"""The scenario schema (pydantic, `extra="forbid"`), YAML loading and dotted-path overrides.

A scenario file is validated up front, references and the stage order of routes included, so that a typo fails at
once with one line naming the file, the field path, the bad value and what is allowed, instead of deep inside a run.

The modules, by area (each imports only the ones above it, and nothing of the package but sim.errors,
sim.yamlsafe, sim.distributions, sim.public_holidays and sim.archetype_defaults):

- `common`: the strict base model, limits of every number, names and stage order, schedules, delays, windows;
- `sites`: calendars, stages, cohorts and learning, archetypes, audits, groups, absenteeism;
- `supply`: materials, suppliers, routes and lanes;
- `certification`: the lab, the design, site audits, quality sampling, packaging;
- `demand`: channels and orders, allocation, targets;
- `scenario`: the root `Scenario` and the checks across its sections;
- `overrides`: dotted paths and `--set`;  `messages`: validation errors as one line each;
- `loading`: reading a file, validating, the plain data and hash of a scenario.

The public names are re-exported here: `from sim.config import Scenario`.
"""

from sim.config.certification import (
    CertificationSpec,
    DesignSpec,
    LabSpec,
    PackagingSpec,
    QualitySpec,
    SamplingPlan,
    SiteAuditSpec,
)
from sim.config.common import (
    MAX_DAYS,
    MAX_FACTOR,
    MAX_MASKS,
    MAX_MINUTES,
    MAX_PEOPLE,
    MAX_PRICE,
    MAX_QUANTITY,
    NAME_PATTERN,
    STAGE_ORDER,
    DateUniform,
    FieldProblem,
    Schedule,
    SiteKind,
    StageName,
    StrictModel,
    Weekday,
    Window,
    render_path,
)
from sim.config.demand import AllocationSpec, ChannelSpec, OrderSpec, TargetSpec
from sim.config.loading import apply_overrides, read_yaml, scenario_dict, validate_scenario
from sim.config.messages import format_validation_error
from sim.config.overrides import (
    PATH_EXAMPLE,
    changed_paths,
    find_path,
    get_path,
    locate,
    parse_assignment,
    parse_path,
    path_tokens,
    paths_overlap,
    set_path,
)
from sim.config.scenario import LotSizing, Scenario, check_references
from sim.config.sites import (
    AbsenteeismSpec,
    Archetype,
    AuditSpec,
    CalendarChange,
    CalendarSpec,
    Cohort,
    GroupSpec,
    Learning,
    SiteSpec,
    StageSpec,
    Supervision,
    Wave,
)
from sim.config.supply import LaneSpec, MaterialSpec, RouteSpec, StockPolicySpec, SupplierSpec

__all__ = [
    "MAX_DAYS", "MAX_FACTOR", "MAX_MASKS", "MAX_MINUTES", "MAX_PEOPLE", "MAX_PRICE", "MAX_QUANTITY", "NAME_PATTERN",
    "PATH_EXAMPLE", "STAGE_ORDER", "AbsenteeismSpec", "AllocationSpec", "Archetype", "AuditSpec", "CalendarChange",
    "CalendarSpec", "CertificationSpec", "ChannelSpec", "Cohort", "DateUniform", "DesignSpec", "FieldProblem",
    "GroupSpec", "LabSpec", "LaneSpec", "Learning", "LotSizing", "MaterialSpec", "OrderSpec", "PackagingSpec",
    "QualitySpec", "RouteSpec", "SamplingPlan", "Scenario", "Schedule", "SiteAuditSpec", "SiteKind", "SiteSpec",
    "StageName", "StageSpec", "StockPolicySpec", "StrictModel", "Supervision", "SupplierSpec", "TargetSpec", "Wave",
    "Weekday", "Window", "apply_overrides", "changed_paths", "check_references", "find_path",
    "format_validation_error", "get_path", "locate", "parse_assignment", "parse_path", "path_tokens", "paths_overlap",
    "read_yaml", "render_path",
    "scenario_dict", "set_path", "validate_scenario",
]
