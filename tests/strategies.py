"""Hypothesis strategies for random VALID networks (plain scenario dicts, as a YAML file would load).

    from tests.strategies import valid_scenarios, NETWORK_SETTINGS

    @NETWORK_SETTINGS
    @given(valid_scenarios())
    def test_something(data: dict) -> None: ...

`valid_scenarios()` draws a scenario dict that `Scenario.model_validate` accepts and `sim.model.simulate` runs:
- site kinds and counts: 1-4 sewing sites of random kinds, self-contained (cut + sew) or fed by cutting
  centres, staffed by operators or by cohorts (trainees, trainers, skilled; Wright, exponential or no
  learning), optionally inspecting and packing themselves; 0-2 packaging sites; 1-2 hubs;
- groups: 0-1 group of sewing sites (1-3 members, sizes and starts drawn per member);
- routes forming a tree (a DAG of one outgoing route per site, forward in the stage order) that ends at the
  hubs, with lanes of every mode (immediate, daily trucks, full trucks) and transit times;
- materials (fabric and elastic at cutting, bags at packing) with suppliers, opening stocks and disruptions;
- channels (standing weekly demand and one-off orders, free and paying) under every allocation policy;
- calendars (one or two shifts, weekends, a mid-run change of calendar), absenteeism with a regional wave,
  certification (design and site audits, both policies) and sampling inspection;
- short horizons (4-12 days) and lots of 20-300 masks, so one example runs in well under a second.

Every name, reference and number is chosen inside the schema's allowed ranges, so a mutation of one field
(another helper's invalid-config generator) starts from a config that is known to be good.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

START = dt.date(2020, 3, 30)
SEWING_KINDS = ["industrial", "textile", "adapted", "insertion", "esat", "prison"]
CALENDARS = {
    "one_shift": {"shifts": [["08:00", "15:00"]], "holidays": "fr_2020"},
    "two_shifts": {"shifts": [["06:00", "13:00"], ["13:00", "20:00"]]},
    "all_week": {"shifts": [["09:00", "15:00"]],
                 "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
}

# At least 200 examples in CI (the brief of issue 12); no per-example deadline (a 2-core CI machine is shared).
NETWORK_SETTINGS = settings(max_examples=200, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _date(days: int) -> str:
    return (START + dt.timedelta(days=days)).isoformat()


@st.composite
def _dist(draw: st.DrawFn, low: float, high: float) -> dict[str, Any]:
    """A small distribution in [low, high] (days or people)."""
    kind = draw(st.sampled_from(["const", "tri", "uniform"]))
    a = draw(st.floats(low, high, allow_nan=False))
    b = draw(st.floats(low, high, allow_nan=False))
    lo, hi = min(a, b), max(a, b)
    if kind == "const":
        return {"const": round(a, 2)}
    if kind == "tri":
        return {"tri": [round(lo, 2), round((lo + hi) / 2, 2), round(hi, 2) + 0.01]}
    return {"uniform": [round(lo, 2), round(hi, 2) + 0.01]}


@st.composite
def _stage(draw: st.DrawFn, low: float, high: float, staffed: bool = True) -> dict[str, Any]:
    stage: dict[str, Any] = {"minutes_per_mask": round(draw(st.floats(low, high)), 3),
                             "cv": draw(st.sampled_from([0.0, 0.3, 0.6]))}
    if staffed:
        stage["operators"] = draw(st.integers(1, 12))
    if draw(st.booleans()):
        stage["buffer_days"] = draw(st.sampled_from([None, 0.5, 2.0, 5.0]))
    return stage


@st.composite
def _cohorts(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Sewing cohorts: trainees with a trainer, or skilled people, with one of the learning models."""
    cohorts = []
    model = draw(st.sampled_from(["wright", "exponential", "none"]))
    learning: dict[str, Any] = {"model": model}
    if model == "exponential":
        learning.update({"e0": 0.1, "tau_days": draw(st.sampled_from([3.0, 10.0]))})
    cohorts.append({"name": "trainees", "role": "trainee", "size": draw(st.integers(1, 15)), "learning": learning,
                    "start": _date(draw(st.integers(0, 3)))})
    if draw(st.booleans()):
        cohorts.append({"name": "trainer", "role": "trainer", "size": draw(st.integers(1, 2))})
    if draw(st.booleans()):
        cohorts.append({"name": "skilled", "role": "skilled", "size": draw(st.integers(1, 5)),
                        "absenteeism_factor": 0.5})
    return cohorts


@st.composite
def _sewing_site(draw: st.DrawFn, own_cut: bool) -> dict[str, Any]:
    by_cohorts = draw(st.booleans())
    stages: dict[str, Any] = {}
    if own_cut:
        stages["cut"] = draw(_stage(0.05, 0.5))
    stages["sew"] = draw(_stage(1.5, 3.0, staffed=not by_cohorts))
    if draw(st.booleans()):
        stages["inspect"] = draw(_stage(0.1, 0.4))
    if draw(st.booleans()):
        stages["pack"] = draw(_stage(0.2, 0.6))
    site: dict[str, Any] = {"kind": draw(st.sampled_from(SEWING_KINDS)), "region": draw(st.sampled_from(["north",
                                                                                                       "south"])),
                            "stages": stages, "start": _date(draw(st.integers(0, 2)))}
    if by_cohorts:
        site["cohorts"] = draw(_cohorts())
    calendar = draw(st.sampled_from(["one_shift", "two_shifts", "all_week", "change"]))
    site["calendar"] = ([{"from": _date(0), "calendar": "one_shift"}, {"from": _date(3), "calendar": "two_shifts"}]
                        if calendar == "change" else calendar)
    if draw(st.booleans()):
        site["ceiling"] = round(draw(st.floats(0.2, 1.2)), 2)
    if draw(st.booleans()):
        site["audit"] = {"policy": draw(st.sampled_from(["at_risk", "wait"]))}
    if draw(st.booleans()) and "sew" in stages and not by_cohorts:
        stages["sew"].update({"machines": draw(st.integers(1, 10)), "mtbf_hours": 40.0, "mttr_hours": 4.0})
    return site


@st.composite
def _group(draw: st.DrawFn, own_cut: bool) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    if own_cut:
        stages["cut"] = draw(_stage(0.05, 0.5))
    stages["sew"] = draw(_stage(1.5, 3.0, staffed=False))  # members' people work at sewing
    if draw(st.booleans()):
        stages["inspect"] = draw(_stage(0.1, 0.4))
    return {"kind": draw(st.sampled_from(SEWING_KINDS)), "count": draw(st.integers(1, 3)),
            "regions": ["north", "south"], "size": {"uniform": [2, 12]},
            "start": {"uniform": [_date(0), _date(draw(st.integers(0, 3)))]},
            "role": draw(st.sampled_from(["trainee", "skilled"])), "skilled_share": 0.3, "stages": stages,
            "calendar": draw(st.sampled_from(list(CALENDARS)))}


@st.composite
def _lane(draw: st.DrawFn) -> dict[str, Any]:
    mode = draw(st.sampled_from(["immediate", "daily", "full"]))
    lane: dict[str, Any] = {"mode": mode}
    if mode != "immediate" or draw(st.booleans()):
        lane["truck_cartons"] = draw(st.integers(1, 40))
        lane["trucks"] = draw(st.integers(1, 2))
    if mode == "daily":
        lane["departure_hour"] = draw(st.sampled_from([6.0, 12.5, 17.0]))
    if draw(st.integers(0, 4)) == 0:
        lane["disruptions"] = [{"start": _date(1), "end": _date(3), "factor": draw(st.sampled_from([0.0, 0.5]))}]
    return lane


def _subset(draw: st.DrawFn, names: list[str]) -> list[str]:
    return draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))


@st.composite
def valid_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid scenario (a plain dict; see the module docstring for what varies)."""
    horizon = draw(st.integers(4, 12))
    data: dict[str, Any] = {
        "name": "generated",
        "start": START.isoformat(),
        "horizon_days": horizon,
        "lot_size": draw(st.integers(20, 300)),
        "calendars": {name: dict(spec) for name, spec in CALENDARS.items()},
        "absenteeism": {"rate": draw(st.sampled_from([0.0, 0.05, [[_date(0), 0.08], [_date(3), 0.04]]]))},
        "sites": {},
        "routes": [],
    }
    if draw(st.booleans()):
        data["absenteeism"]["waves"] = [{"region": "north", "start": _date(1), "end": _date(4), "extra_rate": 0.2}]
    sites: dict[str, Any] = data["sites"]
    sewing: list[str] = []
    for i in range(draw(st.integers(1, 4))):
        name = f"sewing_{i}"
        sites[name] = draw(_sewing_site(own_cut=draw(st.booleans())))
        sewing.append(name)
    groups: dict[str, Any] = {}
    if draw(st.booleans()):
        groups["workshops"] = draw(_group(own_cut=draw(st.booleans())))
        data["groups"] = groups
    units = {**sites, **groups}  # sewing sites and groups
    fed = [n for n, u in units.items() if "cut" not in u["stages"]]
    cutters = []
    if fed:
        for i in range(draw(st.integers(1, 2))):
            name = f"cutting_{i}"
            sites[name] = {"kind": draw(st.sampled_from(["textile", "industrial"])),
                           "stages": {"cut": draw(_stage(0.05, 0.3))}}
            cutters.append(name)
    packers = [f"packer_{i}" for i in range(draw(st.integers(0, 2)))]
    for name in packers:
        sites[name] = {"kind": "packaging", "stages": {"pack": draw(_stage(0.2, 0.6))}}
    hubs = [f"hub_{i}" for i in range(draw(st.integers(1, 2)))]
    for name in hubs:
        sites[name] = {"kind": "hub"}

    def route(source: str, to: list[str]) -> None:
        entry: dict[str, Any] = {"from": source, "to": to, "lane": draw(_lane())}
        if draw(st.booleans()):
            entry["transit_days"] = draw(_dist(0.0, 2.0))
        data["routes"].append(entry)

    for name in cutters:  # a cutting centre feeds some of the units without their own cutting
        route(name, _subset(draw, fed))
    for name in fed:  # ... and every one of them is fed by some cutting centre
        if not any(name in r["to"] for r in data["routes"]):
            data["routes"][cutters.index(draw(st.sampled_from(cutters)))]["to"].append(name)
    for name, unit in units.items():
        packs = "pack" in unit["stages"]
        route(name, _subset(draw, hubs if packs or not packers else packers))
    for name in packers:
        route(name, _subset(draw, hubs))

    # materials and suppliers
    cut_units = [n for n in [*sites, *groups] if "cut" in units.get(n, sites.get(n, {})).get("stages", {})]
    pack_units = [n for n in [*sites, *groups] if "pack" in units.get(n, sites.get(n, {})).get("stages", {})]
    if draw(st.booleans()):
        data["materials"] = {"fabric": {"unit": "m2", "per_mask": 0.14},
                             "elastic": {"unit": "m", "per_mask": 0.38}}
        suppliers: dict[str, Any] = {}
        for material in ("fabric", "elastic"):
            if draw(st.integers(0, 4)):  # usually supplied; sometimes only opening stocks
                suppliers[f"{material}_mill"] = {
                    "material": material, "customers": cut_units,
                    "capacity_per_day": draw(st.sampled_from([500.0, 5_000.0, [[_date(0), 200.0],
                                                                              [_date(2), 4_000.0]]])),
                    "lead_time_days": draw(_dist(0.5, 3.0)), "fill_rate": draw(st.sampled_from([1.0, 0.5])),
                    "review_days": draw(st.sampled_from([1.0, 2.0]))}
                if draw(st.integers(0, 3)) == 0:
                    suppliers[f"{material}_mill"]["disruptions"] = [{"start": _date(1), "end": _date(2)}]
        if pack_units and draw(st.booleans()):
            data["materials"]["bags"] = {"unit": "bag", "per_mask": 0.1, "stage": "pack"}
            suppliers["bag_supplier"] = {"material": "bags", "customers": pack_units, "capacity_per_day": 2_000.0,
                                         "lead_time_days": {"const": 1.0}}
        data["suppliers"] = suppliers
        for name in cut_units:
            if name in sites and draw(st.booleans()):
                sites[name]["stocks"] = {"fabric": float(draw(st.integers(0, 2_000))),
                                         "elastic": float(draw(st.integers(0, 6_000)))}

    # certification and quality
    if draw(st.booleans()):
        cert: dict[str, Any] = {
            "lab": {"benches": draw(st.integers(1, 2)),
                    "tests_per_bench_per_day": draw(st.sampled_from([5.0, 50.0])),
                    "report_delay_days": draw(_dist(0.0, 3.0)),
                    "background_per_day": draw(st.sampled_from([0.0, 20.0])),
                    "network_priority": draw(st.booleans()), "instant": draw(st.integers(0, 5)) == 0},
            "site_audit": {"pass_probability": draw(st.sampled_from([0.5, 0.9, 1.0])),
                           "policy": draw(st.sampled_from(["at_risk", "wait"])),
                           "on_fail": draw(st.sampled_from(["scrap", "keep"])), "adjust_days": draw(_dist(0.5, 3.0))},
        }
        if draw(st.booleans()):
            cert["design"] = {"certified": False, "submit": _date(draw(st.integers(0, 2))),
                              "pass_probability": draw(st.sampled_from([0.5, 1.0])), "adjust_days": {"const": 1.0}}
        data["certification"] = cert
    if any("inspect" in u["stages"] for u in units.values()) or draw(st.booleans()):
        sample = draw(st.integers(2, 30))
        data["quality"] = {
            "sampling_plans": [{"max_lot": 100, "sample": min(sample, 8), "accept": 0},
                               {"max_lot": 100_000, "sample": sample, "accept": draw(st.integers(0, min(3, sample)))}],
            "rework_share": draw(st.sampled_from([0.0, 0.7, 1.0])),
            "on_reject": draw(st.sampled_from(["sort", "scrap"]))}

    # demand
    channels: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 3))):
        free = draw(st.booleans())
        channel: dict[str, Any] = {"price": 0.0 if free else 1.8, "priority": draw(st.integers(0, 3)),
                                   "hub": draw(st.sampled_from(hubs)), "due_days": draw(st.sampled_from([0.0, 7.0]))}
        if draw(st.booleans()):
            channel["weekly"] = float(draw(st.integers(100, 20_000)))
            if draw(st.booleans()):
                channel["weekly_until"] = _date(horizon - 1)
        if draw(st.booleans()) or "weekly" not in channel:
            channel["orders"] = [{"date": _date(draw(st.integers(0, horizon - 1))),
                                  "masks": draw(st.integers(1, 5_000))}]
        if draw(st.integers(0, 3)) == 0:
            channel["cancel_open_after"] = _date(horizon - 1)
        channels[f"channel_{i}"] = channel
    if channels:
        data["channels"] = channels
        data["allocation"] = {"policy": draw(st.sampled_from(["priority", "proportional", "fcfs"])),
                              "reserved_free_share": draw(st.sampled_from([0.0, 0.2]))}
    if draw(st.booleans()):
        data["targets"] = {"first": {"masks": draw(st.integers(1, 50_000)), "by": _date(horizon - 1)}}
    return data
