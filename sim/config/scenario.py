"""The scenario, root of the schema, and the checks across its sections: names that must exist, routes
that go forward in the stage order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, ValidationError, model_validator

from sim.archetype_defaults import ARCHETYPE_DEFAULTS as ARCHETYPES
from sim.config.certification import CertificationSpec, PackagingSpec, QualitySpec
from sim.config.common import MAX_DAYS, NAME_PATTERN, STAGE_ORDER, ReferenceError_, StrictModel, known_names
from sim.config.demand import AllocationSpec, ChannelSpec, TargetSpec
from sim.config.sites import AbsenteeismSpec, Archetype, CalendarSpec, GroupSpec, SiteSpec
from sim.config.supply import ALL_MATERIALS, MaterialSpec, RouteSpec, SupplierSpec
from sim.public_holidays import is_known


class LotSizing(StrictModel):
    """Lots sized per sewing site from its daily output instead of one size for the whole network."""

    day_share: float = Field(gt=0, le=1,
                             description="a sewing site's lot is this share of its nominal output per working day "
                                         "(all sewers present at their ceiling), rounded down to a multiple of "
                                         "lot_size and never below it")
    max_lot: int | None = Field(None, ge=1, le=1_000_000, strict=True, description="largest lot (null: no cap)")


class Scenario(StrictModel):
    name: str = Field(pattern=NAME_PATTERN, description="identifier used for the results directory")
    description: str = Field("", description="free text")
    start: dt.date = Field(description="first simulated day (hour 0 is its midnight)")
    horizon_days: int = Field(ge=1, le=int(MAX_DAYS), strict=True, description="simulated days")
    lot_size: int = Field(ge=1, le=1_000_000, strict=True,
                          description="masks per cut lot: larger is faster, smaller resolves lead times better")
    lot_sizing: LotSizing | None = Field(
        None, description="adaptive lots (null: every lot is lot_size): a sewing site's lots are a share of its "
                          "daily output, in multiples of lot_size (docs/performance.md measures what it changes)")
    seed: int = Field(2020, ge=0, le=2**63 - 1, strict=True, description="root seed of the random streams")
    replications: int = Field(5, ge=1, le=100_000, strict=True, description="default number of replications")
    targets: dict[str, TargetSpec] = Field(default_factory=dict,
                                           description="named goals; each becomes day_target.<name> and "
                                                       "reached_by_date.<name> KPIs")
    holidays: dict[str, list[dt.date]] = Field(default_factory=dict,
                                               description="named lists of dates a calendar can refer to (public "
                                                           "holidays need none: see CalendarSpec.holidays)")
    calendars: dict[str, CalendarSpec] = Field(description="named shift patterns")
    absenteeism: AbsenteeismSpec = Field(default_factory=AbsenteeismSpec,
                                         description="share of people absent each day, and regional waves")
    archetypes: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                  description="overrides of the site-kind defaults (ceiling, "
                                                              "first_mask_min, wright_rate, ...)")
    materials: dict[str, MaterialSpec] = Field(default_factory=dict,
                                               description="bill of materials per mask and the stage that consumes "
                                                           "each")
    suppliers: dict[str, SupplierSpec] = Field(default_factory=dict,
                                               description="material suppliers and the sites they serve")
    sites: dict[str, SiteSpec] = Field(description="production sites and hubs by name")
    groups: dict[str, GroupSpec] = Field(default_factory=dict,
                                         description="families of similar sites expanded into <group>_01, "
                                                     "<group>_02, ...")
    routes: list[RouteSpec] = Field(default_factory=list,
                                    description="where each site's (or group's) output goes, and how")
    channels: dict[str, ChannelSpec] = Field(default_factory=dict,
                                             description="demand: who orders, how much, when, at what price")
    allocation: AllocationSpec = Field(default_factory=AllocationSpec,
                                       description="how a hub shares scarce stock between open orders")
    certification: CertificationSpec = Field(default_factory=CertificationSpec,
                                             description="the test lab, the design's certification and the site "
                                                         "audits")
    quality: QualitySpec | None = Field(None,
                                        description="in-line sampling inspection (needed when a site has an inspect "
                                                    "stage)")
    packaging: PackagingSpec = Field(default_factory=PackagingSpec,
                                     description="carton size (bags are a material: `materials.bags.per_mask` = 1 / "
                                                 "masks per bag)")

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        drop_inactive(self)
        check_references(self)
        return self

    @property
    def end_date(self) -> dt.date:
        return self.start + dt.timedelta(days=self.horizon_days)


def drop_inactive(s: Scenario) -> None:
    """Leave out the sites and groups marked `active: false`, with the routes from them, their places in
    routes and supplier lists, and suppliers left with no customer: how a structural alternative (two
    cutting centres instead of three) is written without copying the network."""
    inactive = {n for n, v in s.sites.items() if not v.active} | {n for n, g in s.groups.items() if not g.active}
    if not inactive:
        return
    s.sites = {n: v for n, v in s.sites.items() if n not in inactive}
    s.groups = {n: g for n, g in s.groups.items() if n not in inactive}
    for sup in s.suppliers.values():
        sup.customers = [c for c in sup.customers if c not in inactive]
    s.suppliers = {n: sup for n, sup in s.suppliers.items() if sup.customers}
    routes = []
    for i, route in enumerate(s.routes):
        if route.source in inactive:
            continue
        kept = [d for d in route.to if d not in inactive]
        if not kept:
            raise ReferenceError_(f"routes[{i}].to", route.to, f"every destination is inactive: the output of "
                                  f"{route.source} would go nowhere (route it to an active site, or make it "
                                  "inactive too)")
        route.to = kept
        route.lanes = {d: lane for d, lane in route.lanes.items() if d not in inactive}
        routes.append(route)
    s.routes = routes


def check_references(s: Scenario) -> None:
    """Names that must exist, and routes that go forward in the stage order (hence without cycles)."""
    clash = set(s.sites) & set(s.groups)
    if clash:
        raise ReferenceError_("groups", sorted(clash)[0], "a group may not share its name with a site")
    nodes = set(s.sites) | set(s.groups)
    kinds = {n: s.sites[n].kind if n in s.sites else s.groups[n].kind for n in nodes}
    stages = {n: set((s.sites[n] if n in s.sites else s.groups[n]).stages) for n in nodes}
    calendars_used: list[tuple[str, Any]] = []
    for name, site in s.sites.items():
        calendars_used.append((f"sites.{name}.calendar", site.calendar))
        for material in site.stocks:
            if material not in s.materials:
                raise ReferenceError_(f"sites.{name}.stocks.{material}", material, known_names("material", s.materials))
    for name, group in s.groups.items():
        calendars_used.append((f"groups.{name}.calendar", group.calendar))
    for section, specs in (("sites", s.sites), ("groups", s.groups)):
        for name, spec in specs.items():
            for material in spec.stock_policies:
                if material != ALL_MATERIALS and material not in s.materials:
                    raise ReferenceError_(f"{section}.{name}.stock_policies.{material}", material,
                                          known_names("material", s.materials) + f", or '{ALL_MATERIALS}'")
    for kind, overrides in s.archetypes.items():
        if kind not in ARCHETYPES:
            raise ReferenceError_(f"archetypes.{kind}", kind, known_names("site kind", ARCHETYPES))
        try:
            Archetype(**{**ARCHETYPES[kind], **overrides})
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise ReferenceError_(f"archetypes.{kind}.{field}", err.get("input"), err["msg"]) from None
    for path, cal in calendars_used:
        if isinstance(cal, str):
            if cal not in s.calendars:
                raise ReferenceError_(path, cal, known_names("calendar", s.calendars))
        else:
            for i, change in enumerate(cal):
                if change.calendar not in s.calendars:
                    raise ReferenceError_(f"{path}[{i}].calendar", change.calendar,
                                          known_names("calendar", s.calendars))
    for name, cal in s.calendars.items():
        if isinstance(cal.holidays, str) and cal.holidays not in s.holidays and not is_known(cal.holidays):
            raise ReferenceError_(f"calendars.{name}.holidays", cal.holidays,
                                  known_names("holiday list", s.holidays) + "; or a country code of the holidays "
                                  "package, alone or with a year (FR, fr_2020, DE_2021)")
    for name, sup in s.suppliers.items():
        if sup.material not in s.materials:
            raise ReferenceError_(f"suppliers.{name}.material", sup.material, known_names("material", s.materials))
        needed_stage = s.materials[sup.material].stage
        for i, customer in enumerate(sup.customers):
            if customer not in nodes:
                raise ReferenceError_(f"suppliers.{name}.customers[{i}]", customer, known_names("site or group", nodes))
            if needed_stage not in stages[customer]:
                raise ReferenceError_(f"suppliers.{name}.customers[{i}]", customer,
                                      f"this site has no '{needed_stage}' stage to use {sup.material}")
    sources: set[str] = set()
    for i, route in enumerate(s.routes):
        if route.source not in nodes:
            raise ReferenceError_(f"routes[{i}].from", route.source, known_names("site or group", nodes))
        if kinds[route.source] == "hub":
            raise ReferenceError_(f"routes[{i}].from", route.source, "a hub ships to channels, not along routes")
        if route.source in sources:
            raise ReferenceError_(f"routes[{i}].from", route.source, "each site or group has one outgoing route")
        sources.add(route.source)
        for dest in route.lanes:
            if dest not in route.to:
                raise ReferenceError_(f"routes[{i}].lanes.{dest}", dest, f"not a destination of this route: one of "
                                      f"{', '.join(route.to)}")
        last = _last_stage(stages[route.source])
        for j, dest in enumerate(route.to):
            if dest not in nodes:
                raise ReferenceError_(f"routes[{i}].to[{j}]", dest, known_names("site or group", nodes))
            first = _first_stage(stages[dest])
            if first is not None and STAGE_ORDER.index(first) <= STAGE_ORDER.index(last):
                raise ReferenceError_(f"routes[{i}].to[{j}]", dest,
                                      f"its first stage '{first}' cannot take the output of '{last}'")
    # No cycle check: every route goes forward in STAGE_ORDER (a destination's first stage comes after the
    # source's last, and hubs ship along no route), so routes cannot form a cycle.
    hubs = {n for n in nodes if kinds[n] == "hub"}
    for name, ch in s.channels.items():
        if ch.hub is not None and ch.hub not in hubs:
            raise ReferenceError_(f"channels.{name}.hub", ch.hub, known_names("hub", hubs))
    if s.channels and not hubs:
        raise ReferenceError_("channels", sorted(s.channels)[0], "channels need a site of kind 'hub' to ship from")
    for n in nodes:
        if kinds[n] != "hub" and n not in sources:
            section = "sites" if n in s.sites else "groups"
            raise ReferenceError_(f"{section}.{n}", n, "this site's output goes nowhere: add a route from it")
    for name, target in s.targets.items():
        if target.by is not None and not s.start <= target.by:
            raise ReferenceError_(f"targets.{name}.by", str(target.by), f"a date on or after start {s.start}")
    for name, wave in ((f"absenteeism.waves[{i}]", w) for i, w in enumerate(s.absenteeism.waves)):
        if wave.end <= wave.start:
            raise ReferenceError_(f"{name}.end", str(wave.end), "must be after start")


def _first_stage(stages: set[str]) -> str | None:
    return next((st for st in STAGE_ORDER if st in stages), None)


def _last_stage(stages: set[str]) -> str:
    return next(st for st in reversed(STAGE_ORDER) if st in stages)

