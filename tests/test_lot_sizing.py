"""Adaptive lot sizes (scenario.lot_sizing): a sewing site's lots are a share of its nominal daily output in
multiples of lot_size; the cutting centre cuts each lot in the size of the destination it goes to."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from sim.config import Scenario
from sim.model import Network, simulate
from sim.rng import Streams
from tests.scenarios import CALENDARS, spec_of


def network(lot_sizing: dict[str, Any] | None) -> dict[str, Any]:
    """A cutting centre feeding a 40-sewer and a 2-sewer workshop, both sending to one packer."""
    sew = {"minutes_per_mask": 2.0, "cv": 0.3}
    data: dict[str, Any] = {
        "name": "sizing", "start": "2020-03-30", "horizon_days": 20, "lot_size": 50,
        "calendars": copy.deepcopy(CALENDARS),
        "sites": {
            "centre": {"kind": "textile", "stages": {"cut": {"minutes_per_mask": 0.05, "operators": 4,
                                                             "buffer_days": None}}},
            "big": {"kind": "textile", "stages": {"sew": {**sew, "operators": 40}}},
            "small": {"kind": "textile", "stages": {"sew": {**sew, "operators": 2}}},
            "packer": {"kind": "packaging", "stages": {"pack": {"minutes_per_mask": 0.2, "operators": 4}}},
            "platform": {"kind": "hub"},
        },
        "routes": [{"from": "centre", "to": ["big", "small"], "transit_days": 0},
                   {"from": "big", "to": "packer", "transit_days": 0},
                   {"from": "small", "to": "packer", "transit_days": 0},
                   {"from": "packer", "to": "platform", "transit_days": 0}],
    }
    if lot_sizing is not None:
        data["lot_sizing"] = lot_sizing
    return data


def test_each_sewing_site_gets_a_share_of_its_daily_output_in_multiples_of_lot_size():
    net = Network(Scenario.model_validate(network({"day_share": 0.25})), Streams(1, 0))
    # big: 40 sewers x 60 / 2 min x 7 h = 8,400 a day; a quarter is 2,100 = 42 lots of 50
    assert net.sites["big"].lot_size == 2100
    # small: 2 x 30 x 7 = 420 a day; a quarter is 105, rounded down to 2 x 50
    assert net.sites["small"].lot_size == 100
    # lots of several sizes reach the packer: its buffer counts masks (5 days of its nominal work), not lots
    packer = net.sites["packer"].input
    assert packer.capacity_lots is None and packer.capacity_masks > 0
    capped = Network(Scenario.model_validate(network({"day_share": 0.25, "max_lot": 1000})), Streams(1, 0))
    assert capped.sites["big"].lot_size == 1000


def test_without_lot_sizing_every_lot_has_lot_size():
    net = Network(Scenario.model_validate(network(None)), Streams(1, 0))
    assert {site.lot_size for site in net.sites.values()} == {50}


def test_the_cutting_centre_cuts_each_lot_in_the_size_of_its_destination():
    result = simulate(spec_of(network({"day_share": 0.25})))  # conservation is checked inside
    daily = result.daily[result.daily["stage"] == "sew"]
    big = daily[daily["site"] == "big"]["output"].to_numpy()
    small = daily[daily["site"] == "small"]["output"].to_numpy()
    assert big.sum() > 0 and small.sum() > 0
    # a lot is sized for the destination chosen when it is cut; the choice is made again when it leaves, so a
    # few lots end up elsewhere: most of each workshop's output still comes in its own lot size
    assert big[big % 2100 == 0].sum() > 0.8 * big.sum()
    assert np.all(small % 50 == 0) and small[small % 100 == 0].sum() > 0.8 * small.sum()
    assert small.sum() < 0.2 * big.sum()  # the dispatcher still sends work by each workshop's speed
