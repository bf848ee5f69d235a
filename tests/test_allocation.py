"""Each allocation policy on hand-made scarce-stock cases, and properties for any input."""

import doctest
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim.allocation
from sim.allocation import (
    POLICIES,
    Demand,
    first_come,
    make_policy,
    proportional,
    strict_priority,
    with_reserved_free_share,
)

ORDERS = [
    Demand(1, "public", 600, priority=1, placed_h=10.0, free=False),
    Demand(2, "charities", 300, priority=2, placed_h=0.0, free=True),
    Demand(3, "region", 400, priority=0, placed_h=20.0, free=False),
]


def test_strict_priority_fills_the_most_urgent_first():
    assert strict_priority(700, ORDERS) == {3: 400, 1: 300}


def test_strict_priority_breaks_equal_priority_by_time_then_id():
    orders = [Demand(7, "a", 100, 0, 5.0, False), Demand(4, "a", 100, 0, 5.0, False),
              Demand(9, "a", 100, 0, 1.0, False)]
    assert strict_priority(250, orders) == {9: 100, 4: 100, 7: 50}


def test_first_come_fills_the_oldest_first():
    assert first_come(700, ORDERS) == {2: 300, 1: 400}


def test_proportional_splits_by_open_demand_with_largest_remainders():
    # 500 over 600:300:400 (total 1300): 230.77, 115.38, 153.85 -> 230, 115, 153 and 2 left over
    # go to the largest remainders: order 3 (0.85) and order 1 (0.77), not order 2 (0.38)
    assert proportional(500, ORDERS) == {1: 231, 2: 115, 3: 154}


def test_proportional_breaks_equal_remainders_by_order_id_not_input_position():
    # 5 over three equal orders: 1.67 each -> 1 each, the 2 left go to the two lowest ids
    orders = [Demand(30, "a", 10, 0, 0.0, False), Demand(10, "b", 10, 0, 0.0, False),
              Demand(20, "c", 10, 0, 0.0, False)]
    assert proportional(5, orders) == {10: 2, 20: 2, 30: 1}


def test_proportional_with_enough_stock_fills_everything():
    assert proportional(5000, ORDERS) == {1: 600, 2: 300, 3: 400}


def test_a_reserved_free_share_goes_to_free_orders_first():
    policy = with_reserved_free_share(strict_priority, 0.2)
    # 20 % of 1000 = 200 to the charity; the other 800 by priority: region 400, public 400
    assert policy(1000, ORDERS) == {2: 200, 3: 400, 1: 400}
    assert make_policy("priority", 0.2)(1000, ORDERS) == {2: 200, 3: 400, 1: 400}


def test_the_reserve_is_split_among_free_orders_by_the_base_policy():
    orders = [Demand(1, "charity_a", 300, 2, 0.0, True), Demand(2, "charity_b", 100, 2, 0.0, True),
              Demand(3, "public", 1000, 0, 0.0, False)]
    # reserve floor(0.5 × 200) = 100, split 300:100 -> 75 / 25; the other 100 proportionally over the
    # remaining needs 225:75:1000 (total 1300): 17.3, 5.8, 76.9 -> 17, 5, 76 + 2 left to orders 2 and 3
    assert with_reserved_free_share(proportional, 0.5)(200, orders) == {1: 75 + 17, 2: 25 + 6, 3: 77}


def test_the_reserve_is_not_wasted_when_free_demand_is_small():
    small = [Demand(1, "public", 900, 1, 0.0, False), Demand(2, "charities", 50, 2, 0.0, True)]
    assert with_reserved_free_share(strict_priority, 0.2)(500, small) == {2: 50, 1: 450}


def test_the_reserve_is_floored_without_float_error():
    orders = [Demand(1, "public", 1000, 0, 0.0, False), Demand(2, "charities", 1000, 1, 0.0, True)]
    assert 0.29 * 100 < 29  # the binary float product falls just below 29
    assert with_reserved_free_share(strict_priority, 0.29)(100, orders) == {2: 29, 1: 71}


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="unknown allocation policy 'lifo'"):
        make_policy("lifo")
    with pytest.raises(ValueError, match="share"):
        make_policy("priority", 1.5)
    with pytest.raises(ValueError, match="share"):
        make_policy("fcfs", -0.1)
    with pytest.raises(ValueError, match="stock"):
        strict_priority(-1, ORDERS)
    with pytest.raises(ValueError, match="unique"):
        proportional(10, [ORDERS[0], ORDERS[0]])
    with pytest.raises(ValueError, match="negative open quantity"):
        first_come(10, [Demand(1, "a", -5, 0, 0.0, False)])


def test_make_policy_without_a_reserve_is_the_plain_policy():
    assert all(make_policy(name) is policy for name, policy in POLICIES.items())


def test_docstring_examples_hold():
    assert doctest.testmod(sim.allocation).failed == 0


demands = st.lists(
    st.builds(Demand, order_id=st.integers(0, 10_000), channel=st.sampled_from(["a", "b"]),
              open_qty=st.integers(0, 5000), priority=st.integers(0, 3), placed_h=st.floats(0, 1000),
              free=st.booleans()),
    max_size=12, unique_by=lambda d: d.order_id)


@given(stock=st.integers(0, 20_000), orders=demands, name=st.sampled_from(sorted(POLICIES)),
       share=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_every_policy_hands_out_what_it_can_and_never_too_much(stock, orders, name, share):
    out = make_policy(name, share)(stock, orders)
    by_id = {d.order_id: d for d in orders}
    assert set(out) <= set(by_id)
    assert all(isinstance(q, int) and q > 0 for q in out.values())
    assert all(q <= by_id[i].open_qty for i, q in out.items())
    assert sum(out.values()) == min(stock, sum(d.open_qty for d in orders))


@given(stock=st.integers(0, 20_000), orders=demands, name=st.sampled_from(sorted(POLICIES)),
       share=st.sampled_from([0.0, 0.3]), data=st.data())
def test_the_order_of_the_input_list_does_not_matter(stock, orders, name, share, data):
    shuffled = data.draw(st.permutations(orders))
    policy = make_policy(name, share)
    assert policy(stock, shuffled) == policy(stock, orders)


@given(stock=st.integers(0, 20_000), orders=demands)
def test_strict_priority_serves_a_later_order_only_when_every_earlier_one_is_full(stock, orders):
    out = strict_priority(stock, orders)
    ranked = sorted(orders, key=lambda d: (d.priority, d.placed_h, d.order_id))
    for i, later in enumerate(ranked):
        if out.get(later.order_id, 0) > 0:
            assert all(out.get(d.order_id, 0) == d.open_qty for d in ranked[:i])


@given(stock=st.integers(0, 20_000), orders=demands)
def test_proportional_is_within_one_mask_of_the_exact_quota(stock, orders):
    out = proportional(stock, orders)
    total = sum(d.open_qty for d in orders)
    for d in orders:
        quota = Fraction(d.open_qty) if total <= stock else Fraction(stock * d.open_qty, total)
        assert abs(out.get(d.order_id, 0) - quota) < 1


@given(stock=st.integers(0, 20_000), orders=demands, name=st.sampled_from(sorted(POLICIES)),
       share=st.sampled_from([0.1, 0.5, 1.0]))
def test_free_orders_get_at_least_the_reserve_they_can_use(stock, orders, name, share):
    out = make_policy(name, share)(stock, orders)
    free_need = sum(d.open_qty for d in orders if d.free)
    free_got = sum(out.get(d.order_id, 0) for d in orders if d.free)
    assert free_got >= min(free_need, int(share * stock + 1e-9))
