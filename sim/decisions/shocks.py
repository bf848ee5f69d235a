"""Named, reusable shocks (experiments/shocks/*.yaml) mapped onto the model's existing fields.

A shock file names the shock, says what it is in words, gives default parameters (start, duration_days,
severity) and lists its effects. Severity scales every effect: 0 is no shock at all (the scenario runs
bit for bit as the base), 1 the full shock the file describes. Effects and the fields they change:

- supplier_outage: a supplier's capacity × (1 − severity × share) during the window (suppliers.X.disruptions)
- lane_outage: departures of every lane leaving a site × (1 − severity × share) (routes[i].lane.disruptions)
- absence_wave: a region loses severity × extra_rate more of its people (absenteeism.waves)
- lab_surge: severity × extra_per_day more outside samples a day at the lab (certification.lab.background_per_day)
- site_closure: a site stops for the first round(severity × duration) working days (extra holidays in a copy
  of its calendar): a failed audit, the site idle while it fixes the finding and is re-audited
- site_delay: a site (and its dated cohorts) starts round(severity × duration) days late (sites.X.start)
- demand_surge: one extra order of severity × masks on a channel, placed at the start, due at the end

Effects whose size is zero (a wave of 0 %, an order of 0 masks, 0 days closed or late) are not written;
window factors of 1.0 are written and are exact no-ops.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from sim.config import MAX_DAYS, MAX_MASKS, NAME_PATTERN, format_validation_error, read_yaml
from sim.config.common import known_names
from sim.decisions.edits import as_date, get_path, named, transform_between
from sim.errors import ConfigError
from sim.public_holidays import holiday_dates

EFFECT_KINDS = ("supplier_outage", "lane_outage", "absence_wave", "lab_surge", "site_closure", "site_delay",
                "demand_surge")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


MAX_EXTRA_SAMPLES = 100_000.0
"""Most extra samples a day a lab surge may add (the lab's outside flow is at most 1e6 a day)."""


class Effect(_Strict):
    """One effect: exactly one of the kinds below names its target."""

    supplier_outage: str | None = Field(None, description="supplier name")
    lane_outage: str | None = Field(None, description="lanes leaving this site")
    absence_wave: str | None = Field(None, description="region")
    lab_surge: bool | None = Field(None, description="the test lab")
    site_closure: str | None = Field(None, description="site name")
    site_delay: str | None = Field(None, description="site name")
    demand_surge: str | None = Field(None, description="channel name")
    share: float = Field(1.0, ge=0, le=1, strict=True, description="outages: share of capacity lost at severity 1")
    extra_rate: float = Field(0.2, gt=0, le=1, strict=True,
                              description="absence_wave: extra absence rate at severity 1")
    extra_per_day: float = Field(0.0, ge=0, le=MAX_EXTRA_SAMPLES, strict=True,
                                 description="lab_surge: extra samples a day at severity 1")
    masks: int = Field(0, ge=0, le=MAX_MASKS, strict=True, description="demand_surge: masks ordered at severity 1")

    @model_validator(mode="after")
    def _one(self) -> Effect:
        given = [k for k in EFFECT_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(EFFECT_KINDS)} (got {given or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in EFFECT_KINDS if getattr(self, k) is not None)

    @property
    def target(self) -> Any:
        return getattr(self, self.kind)


class ShockParams(_Strict):
    start: dt.date | None = None
    duration_days: int | None = Field(None, ge=1, le=int(MAX_DAYS), strict=True,
                                      description="length of the window in days")
    severity: float | None = Field(None, ge=0, le=1, strict=True, description="0 = no shock, 1 = the full shock")


class ShockSpec(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field(min_length=1)
    start: dt.date
    duration_days: int = Field(ge=1, le=int(MAX_DAYS), strict=True)
    severity: float = Field(1.0, ge=0, le=1, strict=True)
    effects: list[Effect] = Field(min_length=1)
    source: str = Field("assumption", description="where the shock's size comes from")
    # where it was read, for one-line errors at the file and field that hold a bad value (set by `resolve`)
    _file: str = PrivateAttr("")
    _ref: str = PrivateAttr("")  # the experiment's field that named it, e.g. stress.shocks[2]
    _ref_fields: frozenset[str] = PrivateAttr(frozenset())  # parameters the experiment gave (start, ...)

    def problem(self, experiment_file: str, field: str, value: Any, allowed: str) -> ConfigError:
        """One line at the place that gave `field`: the experiment's reference when it overrides the field,
        else the shock file."""
        if field in self._ref_fields:
            return ConfigError.at(experiment_file, f"{self._ref}.{field}", value, allowed)
        return ConfigError.at(self._file or experiment_file, field, value, allowed)

    def with_params(self, params: ShockParams) -> ShockSpec:
        update = {k: v for k, v in params.model_dump().items() if v is not None}
        return self.model_copy(update=update)

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.duration_days)


class ShockRef(ShockParams):
    """A shock used by an experiment: its file (by name in shocks/ next to the experiment, or a path)."""

    shock: str = Field(description="name of a file in shocks/ next to the experiment, or a path to a YAML file")


def shock_file(ref: str, experiment_file: str) -> Path:
    base = Path(experiment_file).parent
    path = Path(ref)
    if path.suffix in (".yaml", ".yml"):
        return path if path.is_absolute() else base / path
    return base / "shocks" / f"{ref}.yaml"


def load_shock(path: Path) -> ShockSpec:
    data = read_yaml(path)
    try:
        shock = ShockSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path), data)) from None
    if shock.name != path.stem:
        raise ConfigError.at(str(path), "name", shock.name, f"the file's own name, {path.stem!r}: a shock is known by "
                             "its file (experiments name the file; stress.csv names the shock)")
    shock._file = str(path)
    return shock


def resolve(ref: ShockRef, experiment_file: str, where: str) -> ShockSpec:
    path = shock_file(ref.shock, experiment_file)
    if not path.exists():
        available = sorted(p.stem for p in path.parent.glob("*.yaml")) if path.parent.is_dir() else []
        raise ConfigError.at(experiment_file, f"{where}.shock", ref.shock,
                             f"no shock file {path}" + (f"; known: {', '.join(available)}" if available else ""))
    shock = load_shock(path).with_params(ref)
    shock._file, shock._ref = str(path), where
    shock._ref_fields = frozenset(k for k in ShockParams.model_fields if getattr(ref, k) is not None)
    return shock


def apply_shock(data: dict[str, Any], shock: ShockSpec, file: str) -> None:
    """Apply the shock to scenario data in place (a target the scenario does not have is one line at the shock
    file's effect; a start outside the simulated period, at the field that gave it)."""
    start = as_date(data["start"])
    last = start + dt.timedelta(days=int(data["horizon_days"]) - 1)
    if not start <= shock.start <= last:
        raise shock.problem(file, "start", shock.start.isoformat(), f"a date inside the simulated period, "
                                                                    f"{start.isoformat()} to {last.isoformat()}")
    sev = shock.severity
    where = shock._file or f"{file} (shock {shock.name})"
    for i, effect in enumerate(shock.effects):
        field = f"effects[{i}].{effect.kind}"
        here = f"{where}: {field}"
        kind, target = effect.kind, effect.target
        if kind == "supplier_outage":
            supplier = named(data, "suppliers", target, where, field, "supplier")
            supplier.setdefault("disruptions", []).append(_window(shock, 1.0 - sev * effect.share))
        elif kind == "lane_outage":
            routes = [r for r in data.get("routes", []) if r.get("from") == target]
            if not routes:
                raise ConfigError.at(where, field, target, "a site or group with a route leaving it")
            for route in routes:
                lane = route.setdefault("lane", {})
                lane.setdefault("disruptions", []).append(_window(shock, 1.0 - sev * effect.share))
        elif kind == "absence_wave":
            regions = _regions(data)
            if target not in regions:
                raise ConfigError.at(where, field, target, known_names("region", regions))
            rate = sev * effect.extra_rate
            if rate > 0:
                waves = data.setdefault("absenteeism", {}).setdefault("waves", [])
                waves.append({"region": target, "start": shock.start.isoformat(), "end": shock.end.isoformat(),
                              "extra_rate": rate})
        elif kind == "lab_surge":
            lab = (data.get("certification") or {}).get("lab")
            if lab is None:
                raise ConfigError.at(where, field, target, "a scenario with a test lab (certification.lab)")
            extra = sev * effect.extra_per_day
            lab["background_per_day"] = transform_between(lab.get("background_per_day", 0.0), shock.start,
                                                           shock.end, start, lambda v, e=extra: v + e)
        elif kind == "site_closure":
            named(data, "sites", target, where, field, "site")
            _close_site(data, target, shock, here)
        elif kind == "site_delay":
            named(data, "sites", target, where, field, "site")
            _delay_site(data, target, round(sev * shock.duration_days), start, here)
        elif kind == "demand_surge":
            channel = named(data, "channels", target, where, field, "channel")
            masks = round(sev * effect.masks)
            if masks > 0:
                channel.setdefault("orders", []).append(
                    {"date": shock.start.isoformat(), "masks": masks, "due": shock.end.isoformat()})


def _regions(data: dict[str, Any]) -> set[str]:
    """Regions the scenario's people live in (sites' `region`, groups' `regions`; both default to france)."""
    regions = {str((site or {}).get("region") or "france") for site in (data.get("sites") or {}).values()}
    for group in (data.get("groups") or {}).values():
        regions |= set((group or {}).get("regions") or ["france"])
    return regions


def _window(shock: ShockSpec, factor: float) -> dict[str, Any]:
    return {"start": shock.start.isoformat(), "end": shock.end.isoformat(), "factor": max(0.0, factor)}


def _close_site(data: dict[str, Any], site_name: str, shock: ShockSpec, where: str) -> None:
    days = round(shock.severity * shock.duration_days)
    if days == 0:
        return
    site = get_path(data, f"sites.{site_name}", where)
    closed = [shock.start + dt.timedelta(days=d) for d in range(days)]
    calendars = data["calendars"]
    named = data.get("holidays", {})

    def closure_copy(name: str) -> str:
        if name not in calendars:
            raise ConfigError.at(where, f"sites.{site_name}.calendar", name, "a calendar of the scenario")
        new_name = f"{name}__closed_{shock.name}_{site_name}"
        cal = copy.deepcopy(calendars[name])
        holidays = cal.get("holidays")
        if isinstance(holidays, str) and holidays in named:
            base_days = [as_date(d) for d in named[holidays]]
        elif isinstance(holidays, str):  # public holidays by country code: every day the calendar may cover
            first = as_date(data["start"])
            last = first + dt.timedelta(days=int(data["horizon_days"]) + 366)
            base_days = sorted(holiday_dates(holidays, first, last))
        else:
            base_days = [as_date(d) for d in holidays or []]
        cal["holidays"] = [d.isoformat() for d in sorted(set(base_days) | set(closed))]
        calendars[new_name] = cal
        return new_name

    current = site.get("calendar", "one_shift")
    if isinstance(current, str):
        site["calendar"] = closure_copy(current)
    else:
        site["calendar"] = [{**c, "calendar": closure_copy(c["calendar"])} for c in current]


def _delay_site(data: dict[str, Any], site_name: str, days: int, scenario_start: dt.date, where: str) -> None:
    if days == 0:
        return
    site = get_path(data, f"sites.{site_name}", where)
    old = as_date(site["start"]) if site.get("start") else scenario_start
    site["start"] = (old + dt.timedelta(days=days)).isoformat()
    for cohort in site.get("cohorts", []):
        if cohort.get("start"):
            cohort["start"] = (as_date(cohort["start"]) + dt.timedelta(days=days)).isoformat()
