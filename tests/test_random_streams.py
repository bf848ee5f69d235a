"""Named random streams: common random numbers across scenarios, stability when the network grows."""

import copy

import numpy as np

from sim.config import Scenario
from sim.model import Network, simulate
from sim.results.analysis import paired_difference, unpaired_difference
from sim.rng import Streams
from tests.scenarios import line, spec_of


def draws(data: dict, replication: int = 0) -> dict[str, np.ndarray]:
    """Everything a network drew at build time, by cohort and machine park."""
    net = Network(Scenario.model_validate(data), Streams(3, replication))
    out = {}
    for site in net.sites.values():
        for unit in site.stages:
            for c in unit.team.cohorts:
                out[f"{site.name}/{unit.name}/{c.name}"] = c.present.copy()
            out[f"{site.name}/{unit.name}/machines"] = np.asarray(unit.team.machines_up).copy()
    return out


def test_streams_are_reproducible_and_distinct():
    a, b = Streams(1, 0), Streams(1, 0)
    assert a.get("site:x:absence").random() == b.get("site:x:absence").random()
    assert Streams(1, 0).get("site:x").random() != Streams(1, 0).get("site:y").random()
    assert Streams(1, 0).get("site:x").random() != Streams(1, 1).get("site:x").random()
    assert Streams(1, 0).get("site:x").random() != Streams(2, 0).get("site:x").random()


def test_adding_a_site_leaves_every_other_sites_draws_unchanged():
    data = line(horizon_days=30, absence=0.08, operators={"sew": 12, "cut": 3})
    data["sites"]["workshop"]["stages"]["sew"].update({"machines": 12, "mtbf_hours": 50, "mttr_hours": 5})
    bigger = copy.deepcopy(data)
    bigger["sites"] = {"another": {"kind": "esat", "stages": {"sew": {"minutes_per_mask": 2.1, "operators": 9}}},
                       **bigger["sites"]}
    bigger["routes"].insert(0, {"from": "another", "to": "platform"})
    before, after = draws(data), draws(bigger)
    assert set(before) < set(after)
    for key, values in before.items():
        assert np.array_equal(values, after[key]), key


def test_common_random_numbers_make_the_paired_interval_narrower():
    """One more sewer (a small change): the paired interval of the difference in masks sewn over 10
    replications is much narrower than the unpaired one."""
    base, more = [], []
    for r in range(10):
        data = line(horizon_days=30, cv=0.5, absence=0.1, operators={"sew": 10, "cut": 4})
        base.append(simulate(spec_of(data, replication=r)).kpis["masks_sewn"])
        data["sites"]["workshop"]["stages"]["sew"]["operators"] = 11
        more.append(simulate(spec_of(data, replication=r)).kpis["masks_sewn"])
    paired = paired_difference(base, more)
    unpaired = unpaired_difference(base, more)
    assert paired[0] > 0
    assert paired[1] < 0.5 * unpaired[1], (paired, unpaired)


def inspected_line(defect_rate: float) -> dict:
    """Cut, sew, inspect, pack with random times; the sampling plan accepts every lot (accept = sample), so
    a change in defect rate changes no verdict and no amount inspected: only the draws could differ."""
    data = line(horizon_days=12, cv=0.5, lot_size=50, inspect_min=0.5, pack_min=0.6, operators={"sew": 3})
    data["quality"] = {"sampling_plans": [{"max_lot": 100_000, "sample": 20, "accept": 20}]}
    data["sites"]["workshop"]["defect_skilled"] = defect_rate
    return data


def test_changing_defect_rates_leaves_inspection_times_unchanged():
    """Before: inspection drew its times, verdicts and rework from one stream and skipped the verdict draw for
    a lot without defects, so a sewing-quality change shifted every later inspection time."""
    runs = {rate: simulate(spec_of(inspected_line(rate))) for rate in (0.0, 0.05)}
    assert runs[0.0].kpis["masks_escaped_defects"] == 0 < runs[0.05].kpis["masks_escaped_defects"]
    tables = {}
    for rate, result in runs.items():
        inspect = result.daily[(result.daily["site"] == "workshop") & (result.daily["stage"] == "inspect")]
        tables[rate] = inspect[["day", "working_h", "output"]].reset_index(drop=True)
        assert tables[rate]["working_h"].sum() > 0
    assert tables[0.0].equals(tables[0.05])
    assert runs[0.0].kpis["masks_delivered"] == runs[0.05].kpis["masks_delivered"]
