"""Each allocation policy on hand-made scarce-stock cases, and properties for any input."""

from hypothesis import given
from hypothesis import strategies as st

from sim.allocation import Demand, first_come, make_policy, proportional, strict_priority, with_reserved_free_share

ORDERS = [
    Demand(1, "public", 600, priority=1, placed_h=10.0, free=False),
    Demand(2, "charities", 300, priority=2, placed_h=0.0, free=True),
    Demand(3, "region", 400, priority=0, placed_h=20.0, free=False),
]


def test_strict_priority_fills_the_most_urgent_first():
    assert strict_priority(700, ORDERS) == {3: 400, 1: 300}


def test_first_come_fills_the_oldest_first():
    assert first_come(700, ORDERS) == {2: 300, 1: 400}


def test_proportional_splits_by_open_demand_with_largest_remainders():
    # 500 over 600:300:400 (total 1300): 230.77, 115.38, 153.85 -> 230, 115, 153 and 2 left over
    # go to the largest remainders: order 1 (0.77) and order 3 (0.85)
    assert proportional(500, ORDERS) == {1: 231, 2: 115, 3: 154}


def test_proportional_with_enough_stock_fills_everything():
    assert proportional(5000, ORDERS) == {1: 600, 2: 300, 3: 400}


def test_a_reserved_free_share_goes_to_free_orders_first():
    policy = with_reserved_free_share(strict_priority, 0.2)
    # 20 % of 1000 = 200 to the charity; the other 800 by priority: region 400, public 400
    assert policy(1000, ORDERS) == {2: 200, 3: 400, 1: 400}
    assert make_policy("priority", 0.2)(1000, ORDERS) == {2: 200, 3: 400, 1: 400}


def test_the_reserve_is_not_wasted_when_free_demand_is_small():
    small = [Demand(1, "public", 900, 1, 0.0, False), Demand(2, "charities", 50, 2, 0.0, True)]
    assert with_reserved_free_share(strict_priority, 0.2)(500, small) == {2: 50, 1: 450}


demands = st.lists(
    st.builds(Demand, order_id=st.integers(0, 10_000), channel=st.sampled_from(["a", "b"]),
              open_qty=st.integers(0, 5000), priority=st.integers(0, 3), placed_h=st.floats(0, 1000),
              free=st.booleans()),
    max_size=12, unique_by=lambda d: d.order_id)


@given(stock=st.integers(0, 20_000), orders=demands, name=st.sampled_from(["priority", "proportional", "fcfs"]),
       share=st.sampled_from([0.0, 0.1, 0.5]))
def test_every_policy_hands_out_what_it_can_and_never_too_much(stock, orders, name, share):
    out = make_policy(name, share)(stock, orders)
    by_id = {d.order_id: d for d in orders}
    assert all(q >= 0 for q in out.values())
    assert all(q <= by_id[i].open_qty for i, q in out.items())
    assert sum(out.values()) == min(stock, sum(d.open_qty for d in orders))
