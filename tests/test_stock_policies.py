"""Stock policies (order-up-to, reorder point, (s, S)) run through the real model: who orders when, how much,
and what a policy's safety stock buys; bad policies are one line each."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.cli import main
from sim.config import Scenario
from sim.model.builder import Network
from sim.model.conservation import check_conservation
from sim.model.simulation import simulate
from sim.processes.supply import Supplier
from sim.rng import Streams
from tests.scenarios import line, spec_of

DAYS = 40
PER_MASK = 0.38  # elastic, m per mask


def supplied_line(policy: dict | None, lead: object = 3, capacity: float = 1e6) -> dict:
    """One workshop cutting and sewing every day of the week, fabric plentiful, elastic from one mill reviewed
    daily; the workshop opens with 2 days of elastic."""
    data = line(horizon_days=DAYS, materials=True, operators={"sew": 3, "cut": 1})
    data["calendars"]["one_shift"]["weekdays"] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    site = data["sites"]["workshop"]
    site["stocks"] = {"fabric": 1e6, "elastic": 0.0}
    site["cover_days"] = 5
    if policy is not None:
        site["stock_policies"] = {"elastic": policy}
    data["suppliers"] = {"elastic_mill": {"material": "elastic", "capacity_per_day": capacity,
                                          "lead_time_days": lead, "customers": ["workshop"]}}
    return data


def run(data: dict, replication: int = 0) -> tuple[Network, list[tuple[float, float]]]:
    """The built network after its run (conservation checked) and the elastic shipments (hour, quantity)."""
    net = Network(Scenario.model_validate(data), Streams(7, replication))
    shipments: list[tuple[float, float]] = []
    supplier = net.suppliers[0]
    send = Supplier._send

    def record(stock, quantity):
        shipments.append((net.env.now, quantity))
        send(supplier, stock, quantity)

    supplier._send = record  # this supplier only: the instance attribute shadows the method
    net.run()
    check_conservation(net)
    return net, shipments


def daily_use(net: Network) -> float:
    return net.sites["workshop"].daily_consumption("cut", PER_MASK)


def test_no_policy_and_an_explicit_order_up_to_are_the_same_run():
    _plain_net, plain = run(supplied_line(None))
    _explicit_net, explicit = run(supplied_line({"kind": "order_up_to"}))
    assert plain == explicit and len(plain) > DAYS / 2  # the order-up-to rule orders at nearly every review
    _other_net, other = run(supplied_line({"kind": "order_up_to", "cover_days": 10}))
    assert other != plain  # a policy's own cover_days replaces the site's
    assert max(q for _, q in other) > max(q for _, q in plain)


def test_s_S_orders_only_below_s_and_up_to_S():
    s_days, big_s_days = 3.0, 12.0
    net, shipments = run(supplied_line({"kind": "s_S", "s_days": s_days, "S_days": big_s_days}, lead=2))
    use = daily_use(net)
    assert 2 <= len(shipments) <= DAYS / 4  # a batch every several days, not one a review
    first_hour, first = shipments[0]
    assert first_hour == 0 and first == pytest.approx(big_s_days * use)  # from an empty stock: up to S
    for _, quantity in shipments[1:]:
        # ordered when the position was at or below s: at least S - s, at most S
        assert (big_s_days - s_days) * use - 1e-6 <= quantity <= big_s_days * use + 1e-6
    _order_up_to_net, order_up_to = run(supplied_line(None, lead=2))
    assert len(order_up_to) > 3 * len(shipments)


def test_reorder_point_orders_whole_batches_and_its_safety_stock_prevents_starving():
    order_days = 4.0
    policy = {"kind": "reorder_point", "order_days": order_days, "service_level": 0.95, "demand_cv": 0.3}
    lead = {"tri": [1, 3, 8]}
    net, shipments = run(supplied_line(policy, lead=lead))
    quantity = order_days * daily_use(net)
    rule = net.suppliers[0].rules[0]
    # reorder point = d x (mean lead + review) + z x sqrt(P (cv d)^2 + d^2 sd_L^2)
    mean_lead, sd_lead, d = 4.0, float(np.sqrt((1 + 9 + 64 - 3 - 8 - 24) / 18)), daily_use(net)
    protection = mean_lead + 1.0
    expected = d * protection + 1.6448536 * np.sqrt(protection * (0.3 * d) ** 2 + (d * sd_lead) ** 2)
    assert rule.reorder_at == pytest.approx(expected, rel=1e-6)
    for _, q in shipments:
        assert q / quantity == pytest.approx(round(q / quantity)) and round(q / quantity) >= 1
    # the same network with no safety stock (s = 0) starves its cutting while the first orders travel
    with_safety = cut_starved_hours(supplied_line(policy, lead=lead))
    bare = cut_starved_hours(supplied_line({"kind": "s_S", "s_days": 0.0, "S_days": order_days}, lead=lead))
    assert bare > with_safety + 7  # at least a shift more idle for want of elastic


def cut_starved_hours(data: dict) -> float:
    """Starved hours of the workshop's cutting after its first week (it starts from no elastic), summed over
    three replications."""
    total = 0.0
    for replication in range(3):
        daily = simulate(spec_of(data, replication=replication)).daily
        cut = daily[(daily["site"] == "workshop") & (daily["stage"] == "cut") & (daily["day"] >= 7)]
        total += float(cut["starved_h"].sum())
    return total


BAD = {
    "unknown material": ({"glue": {"kind": "order_up_to"}}, "sites.workshop.stock_policies.glue"),
    "s above S": ({"elastic": {"kind": "s_S", "s_days": 9, "S_days": 4}}, "stock_policies.elastic.S_days"),
    "reorder point without quantity": ({"all": {"kind": "reorder_point"}}, "stock_policies.all.order_days"),
    "a field another kind uses": ({"all": {"kind": "order_up_to", "s_days": 2}}, "stock_policies.all.s_days"),
    "unknown kind": ({"all": {"kind": "kanban"}}, "stock_policies.all.kind"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_policy_is_one_line_exit_2(case, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    policies, where = BAD[case]
    data = copy.deepcopy(supplied_line(None))
    data["sites"]["workshop"]["stock_policies"] = policies
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    capsys.readouterr()
    code = main(["validate", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith(f"error: {path}: ") and where in err[0], err
    assert "Traceback" not in "\n".join(err)


def test_groups_hand_their_policy_to_every_member():
    data = supplied_line(None)
    workshop = data["sites"].pop("workshop")
    data["groups"] = {"ateliers": {"kind": "textile", "count": 3, "size": 4, "start": "2020-03-30",
                                   "stages": {"cut": dict(workshop["stages"]["cut"]),
                                              "sew": {"minutes_per_mask": 2.0}},
                                   "stocks": {"fabric": 1e6}, "stock_policies": {
                                       "all": {"kind": "s_S", "s_days": 1, "S_days": 6}}}}
    data["routes"][0]["from"] = "ateliers"
    data["suppliers"]["elastic_mill"]["customers"] = ["ateliers"]
    net = Network(Scenario.model_validate(data), Streams(7, 0))
    kinds = {rule.kind for rule in net.suppliers[0].rules}
    assert kinds == {"s_S"} and len(net.suppliers[0].rules) == 3
    net.run()
    check_conservation(net)


def test_cli_process_says_one_line(tmp_path: Path):
    import sys

    data = supplied_line({"kind": "s_S", "s_days": 5, "S_days": 5})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = subprocess.run([sys.executable, "-m", "sim", "validate", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "S_days" in proc.stderr
