"""Volunteers: a site kind sewing from kits at pick-up points, its masks inspected there and collected on
rounds (daily lanes with `weekdays`), run through the real model with conservation checked."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
import yaml

from sim.archetype_defaults import ARCHETYPE_DEFAULTS
from sim.cli import main
from sim.model.simulation import simulate
from sim.processes.transport import Lane
from tests.scenarios import CALENDARS, spec_of

START = dt.date(2020, 3, 30)  # a Monday


def volunteer_network(kind: str = "volunteer", rounds: list[str] | None = None) -> dict:
    """A cutting centre sends kits to three pick-up points of 40 people each, who sew 3 h a day, six days a
    week; each point inspects at collection and its masks go to a packer on rounds."""
    lane = {"mode": "daily", "departure_hour": 17}
    if rounds is not None:
        lane["weekdays"] = rounds
    return {
        "name": "volunteers", "start": START.isoformat(), "horizon_days": 28, "lot_size": 100,
        "calendars": {**copy.deepcopy(CALENDARS),
                      "volunteer_hours": {"shifts": [["14:00", "17:00"]],
                                          "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat"]}},
        "quality": {"sampling_plans": [{"max_lot": 100000, "sample": 20, "accept": 1}]},
        "sites": {"cutting": {"kind": "textile", "stages": {"cut": {"minutes_per_mask": 0.05, "operators": 4}}},
                  "packer": {"kind": "packaging", "stages": {"pack": {"minutes_per_mask": 0.1, "operators": 10}}},
                  "platform": {"kind": "hub"}},
        "groups": {"points": {"kind": kind, "count": 3, "size": 40, "start": START.isoformat(),
                              "calendar": "volunteer_hours", "skilled_share": 0.0,
                              "stages": {"sew": {"minutes_per_mask": 2.1, "buffer_days": 4},
                                         "inspect": {"minutes_per_mask": 0.3, "operators": 2}}}},
        "routes": [{"from": "cutting", "to": "points", "transit_days": 1,
                    "lanes": {"points": {**lane, "departure_hour": 9}}},  # kits handed out on the same rounds
                   {"from": "points", "to": "packer", "transit_days": 1, "lane": lane},
                   {"from": "packer", "to": "platform", "transit_days": 0}],
        "channels": {"buyers": {"price": 1.0, "priority": 0, "weekly": 1_000_000}},
    }


def test_collection_rounds_leave_only_on_their_days(monkeypatch: pytest.MonkeyPatch):
    departures: list[tuple[str, float]] = []
    ship = Lane._ship

    def record(self, lots, since, depart):
        departures.append((self.name, depart))
        return ship(self, lots, since, depart)

    monkeypatch.setattr(Lane, "_ship", record)
    result = simulate(spec_of(volunteer_network(rounds=["mon", "thu"])))
    rounds = [t for name, t in departures if name.startswith("points_")]
    assert rounds and result.kpis["output.kind.volunteer"] > 0
    days = {(START + dt.timedelta(days=int(t // 24))).strftime("%a") for t in rounds}
    assert days <= {"Mon", "Thu"} and all(t % 24 == 17 for t in rounds), days
    hand_outs = [t for name, t in departures if name.startswith("cutting->")]
    assert hand_outs and {(START + dt.timedelta(days=int(t // 24))).strftime("%a") for t in hand_outs} <= {"Mon", "Thu"}
    assert all(t % 24 == 9 for t in hand_outs)
    # masks wait longer for a twice-weekly round than for a daily one
    departures.clear()
    daily = simulate(spec_of(volunteer_network(rounds=None)))
    assert {(START + dt.timedelta(days=int(t // 24))).strftime("%a") for name, t in departures
            if name.startswith("points_")} > {"Mon", "Thu"}
    assert result.kpis["mean_lead_time_days"] > daily.kpis["mean_lead_time_days"]


def test_volunteers_are_slower_and_less_exact_than_a_workshop_of_the_same_people():
    """Same people, hours and kits: the volunteer archetype (domestic machines, ceiling 0.5, 15 % defects as
    novices) makes fewer masks and more rejected lots than an insertion workshop (ceiling 0.8, 10 %)."""
    volunteer = simulate(spec_of(volunteer_network()))
    workshop = simulate(spec_of(volunteer_network(kind="insertion")))
    assert ARCHETYPE_DEFAULTS["volunteer"]["defect_trainee"] > ARCHETYPE_DEFAULTS["insertion"]["defect_trainee"]
    assert 0 < volunteer.kpis["masks_sewn"] < workshop.kpis["masks_sewn"]
    assert volunteer.kpis["first_pass_yield"] < workshop.kpis["first_pass_yield"]
    # people per day: three points of 40 volunteers at 3 h a day make at most 40 x 3 x 60 / 2.1 x 0.5 a day each
    per_point_cap = 40 * 3 * 60 / 2.1 * 0.5 * 24
    assert volunteer.kpis["output.kind.volunteer"] < 3 * per_point_cap


def validate_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: dict) -> str:
    """`validate` of the scenario: exit 2 and its one line of error."""
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    capsys.readouterr()
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: "), err
    return err[0]


def test_a_lane_for_a_destination_the_route_does_not_have_is_one_line(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]):
    data = volunteer_network(rounds=["mon"])
    data["routes"][0]["lanes"] = {"packer": {"mode": "daily"}}
    line = validate_error(tmp_path, capsys, data)
    assert "routes[0].lanes.packer" in line and "not a destination" in line, line


def test_rounds_need_a_daily_lane(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data = volunteer_network(rounds=["mon"])
    data["routes"][1]["lane"]["mode"] = "immediate"
    line = validate_error(tmp_path, capsys, data)
    assert "routes[1].lane.weekdays" in line and "mode 'daily'" in line, line
