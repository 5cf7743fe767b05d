"""A month's resources (sim/resources.py): capacity with substitution among roles (Hall's
condition), the order in which hours are taken, what bound, the hands of a month and the
ledger of costs.

Exact values on hand-made pools; hypothesis checks the capacity against an independent linear
programme and checks that the units it allows can always be staffed, and not one more.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from sim.activities import HANDS, MONEY, NONE, ROLES, activity, role_bit
from sim.config import ActivitiesConfig
from sim.resources import (
    ROLE_BITS,
    STAFF,
    GroupSum,
    Hands,
    Ledger,
    assign_hours,
    capacity,
    hands_capacity,
    slot_specs,
)

S, OF, V, L = (ROLES.index(r) for r in ("staff", "officer", "volunteer", "lecturer"))
"""Rows of the roles in every hours-by-role array."""
ALL = (OF, V, L, S)
"""Every role, in the order of preference of the default helper slots."""
STAFF_BIT, OFFICER_BIT, VOLUNTEER_BIT, LECTURER_BIT = (role_bit(r) for r in ("staff", "officer", "volunteer",
                                                                            "lecturer"))

ORGANISER = (2.0, (S,))
LEAD = (3.0, (L, S))
HELPER = (2.0, ALL)
LECTURE = [ORGANISER, LEAD, HELPER]
"""A youth lecture: an organiser (staff), a lead (a trained lecturer or staff) and helpers (anyone)."""


def pool(*groups: dict) -> np.ndarray:
    """Hours by role (roles x groups) from one dict per group, e.g. ``{S: 10, L: 3}``."""
    out = np.zeros((len(ROLES), len(groups)))
    for g, hours in enumerate(groups):
        for r, h in hours.items():
            out[r, g] = h
    return out


def test_role_bits():
    assert [role_bit(r) for r in ROLES] == [2, 4, 8, 16] == ROLE_BITS.tolist()
    assert (STAFF_BIT, OFFICER_BIT, VOLUNTEER_BIT, LECTURER_BIT) == (2, 4, 8, 16)
    assert HANDS == 30 and MONEY & HANDS == 0 and NONE == 0
    assert ROLES[STAFF] == "staff"


# ---------------------------------------------------------------- one slot (staff only)


def _cap(demand, money, cost, staff_hours, unit_hours):
    """The capacity of an activity needing ``unit_hours`` of staff a unit."""
    units, bound, used = capacity(np.asarray(demand, float), np.asarray(money, float), cost,
                                  pool(*({S: h} for h in staff_hours)), [(unit_hours, (S,))])
    return units.tolist(), bound.tolist()


def test_capacity_demand_bound():
    assert _cap([5.0], [1000.0], 10.0, [100.0], 1.0) == ([5.0], [NONE])


def test_capacity_money_bound():
    assert _cap([10.0], [55.0], 10.0, [100.0], 1.0) == ([5.5], [MONEY])


def test_capacity_staff_bound():
    assert _cap([10.0], [1000.0], 10.0, [12.0], 4.0) == ([3.0], [STAFF_BIT])


def test_capacity_money_and_staff_bound_alike():
    assert _cap([10.0], [40.0], 10.0, [8.0], 2.0) == ([4.0], [MONEY | STAFF_BIT])


def test_capacity_zero_money_gives_zero_units():
    assert _cap([3.0, 0.0], [0.0, 0.0], 10.0, [100.0, 100.0], 1.0) == ([0.0, 0.0], [MONEY, NONE])


def test_capacity_zero_hours_gives_zero_units():
    assert _cap([3.0], [1000.0], 10.0, [0.0], 1.0) == ([0.0], [STAFF_BIT])


def test_capacity_negative_inputs_and_free_units():
    # negative demand is nothing asked; negative money or hours allow nothing
    assert _cap([-2.0], [100.0], 10.0, [10.0], 1.0) == ([0.0], [NONE])
    assert _cap([2.0], [-5.0], 10.0, [10.0], 1.0) == ([0.0], [MONEY])
    assert _cap([2.0], [100.0], 10.0, [-1.0], 1.0) == ([0.0], [STAFF_BIT])
    # no unit cost: money never binds; no unit hours: hands never bind
    assert _cap([7.0], [0.0], 0.0, [3.0], 1.0) == ([3.0], [STAFF_BIT])
    assert _cap([7.0], [20.0], 10.0, [0.0], 0.0) == ([2.0], [MONEY])
    assert _cap([7.0], [0.0], 0.0, [0.0], 0.0) == ([7.0], [NONE])


def test_capacity_vectorized():
    units, bound = _cap([5, 10, 10, 10, 0], [1000, 50, 1000, 40, 0], 10.0, [100, 100, 3, 4, 0], 1.0)
    assert units == [5, 5, 3, 4, 0]
    assert bound == [NONE, MONEY, STAFF_BIT, MONEY | STAFF_BIT, NONE]


def test_capacity_whole_units_round_down_and_take_only_their_hours():
    units, bound, used = capacity(np.array([10.0]), np.array([1e9]), 1.0, pool({S: 13.0}), [(4.0, (S,))],
                                  whole=True)
    assert units.tolist() == [3.0] and bound.tolist() == [STAFF_BIT]
    assert used[:, 0].tolist() == [12.0, 0.0, 0.0, 0.0]
    # a whole number of units that fits exactly is not lost to rounding (13 / 4.333... = 3)
    units, _, _ = capacity(np.array([10.0]), np.array([1e9]), 1.0, pool({S: 13.0}), [(13 / 3, (S,))], whole=True)
    assert units.tolist() == [3.0]


def test_capacity_with_no_slot_is_limited_by_money_and_demand_only():
    units, bound, used = capacity(np.array([4.0, 9.0]), np.array([100.0, 50.0]), 10.0, pool({}, {}), [])
    assert units.tolist() == [4.0, 5.0] and bound.tolist() == [NONE, MONEY]
    assert not used.any()


# ---------------------------------------------------------------- substitution among roles


def test_one_slot_any_of_two_roles():
    # insurance enrolment: staff or officers, 0.5 hours a household
    units, bits = hands_capacity(pool({S: 1.0, OF: 2.0}, {S: 0.0, OF: 0.0}), [(0.5, (S, OF))])
    assert units.tolist() == [6.0, 0.0]
    assert bits.tolist() == [STAFF_BIT | OFFICER_BIT] * 2
    used = assign_hours(units, pool({S: 1.0, OF: 2.0}, {}), [(0.5, (S, OF))])
    assert used[:, 0].tolist() == [1.0, 2.0, 0.0, 0.0]  # staff first, then officers (order of preference)


def test_two_slots_lead_and_helpers():
    # lead (lecturer or staff) 3 h + helpers (anyone) 2 h
    slots = [LEAD, HELPER]
    p = pool({S: 10, L: 2, V: 4},  # everything binds: 16 hours / 5 = 3.2 lectures
             {S: 3, L: 3, V: 100},  # the lead binds: (3 + 3) / 3 = 2 lectures
             {S: 30, V: 1})  # helpers alone do not bind: they may be staff too; 31 / 5 = 6.2
    units, bits = hands_capacity(p, slots)
    assert units.tolist() == [3.2, 2.0, 6.2]
    assert bits.tolist() == [STAFF_BIT | OFFICER_BIT | VOLUNTEER_BIT | LECTURER_BIT,
                             STAFF_BIT | LECTURER_BIT,
                             STAFF_BIT | OFFICER_BIT | VOLUNTEER_BIT | LECTURER_BIT]
    used = assign_hours(units, p, slots)
    # lead first (the more restricted slot): lecturers, then staff; then helpers: officers,
    # volunteers, lecturers, staff
    np.testing.assert_allclose(used[:, 0], [10, 0, 4, 2])
    np.testing.assert_allclose(used[:, 1], [3, 0, 4, 3])
    np.testing.assert_allclose(used[:, 2], [30, 0, 1, 0])


def test_three_slots_youth_lecture():
    p = pool({S: 10, L: 3, OF: 8, V: 6})
    # subsets: {org} 10/2 = 5, {lead} 13/3, {helper} 27/2, {org, lead} 13/5 = 2.6, {org, helper}
    # 27/4, {lead, helper} 27/5, all 27/7: the organiser and the lead bind, staff and lecturers
    units, bits = hands_capacity(p, LECTURE)
    assert units.tolist() == [2.6]
    assert bits.tolist() == [STAFF_BIT | LECTURER_BIT]
    used = assign_hours(units, p, LECTURE)
    # organiser 5.2 h of staff; lead 7.8 h: 3 of lecturers, 4.8 of staff; helpers 5.2 h of officers
    np.testing.assert_allclose(used[:, 0], [10.0, 5.2, 0.0, 3.0])


def test_trained_lecturers_stand_in_for_staff():
    """Without lecturers the staff must both organise and lead (5 hours a lecture); with enough
    lecturers only the organiser's 2 hours are staff's, and then staff alone binds."""
    slots = LECTURE
    without, bits0 = hands_capacity(pool({S: 4, OF: 100}), slots)
    with_, bits1 = hands_capacity(pool({S: 4, OF: 100, L: 6}), slots)
    assert without.tolist() == [0.8] and bits0.tolist() == [STAFF_BIT | LECTURER_BIT]
    # {org}: 4 / 2 = 2 and {org, lead}: 10 / 5 = 2 tie; the smaller set (found first) is reported
    assert with_.tolist() == [2.0] and bits1.tolist() == [STAFF_BIT]
    used = assign_hours(with_, pool({S: 4, OF: 100, L: 6}), slots)
    np.testing.assert_allclose(used[:, 0], [4.0, 4.0, 0.0, 6.0])


def test_a_slot_of_zero_hours_never_binds():
    units, bits = hands_capacity(pool({S: 6.0}), [(0.0, (L,)), (3.0, (S,))])
    assert units.tolist() == [2.0] and bits.tolist() == [STAFF_BIT]
    units, bits = hands_capacity(pool({S: 6.0}), [(0.0, (L,))])
    assert units.tolist() == [np.inf] and bits.tolist() == [NONE]


def test_the_default_slots_of_the_youth_lecture_are_read_from_the_config():
    acts = ActivitiesConfig(youth_lecture_organiser_hours=1.5, youth_lecture_organiser_roles=("staff",),
                            youth_lecture_lead_hours=2.5, youth_lecture_lead_roles=("staff", "lecturer"),
                            youth_lecture_helper_hours=0.5, youth_lecture_helper_roles=("volunteer", "officer"))
    assert slot_specs(activity("youth_lectures"), acts) == [(1.5, (S,)), (2.5, (S, L)), (0.5, (V, OF))]
    assert slot_specs(activity("livestreams"), acts) == []


# ---------------------------------------------------------------- what bound


def test_bound_money_hands_or_both():
    p = pool({S: 10, L: 3, OF: 8, V: 6}, {S: 10, L: 3, OF: 8, V: 6}, {S: 10, L: 3, OF: 8, V: 6},
             {S: 10, L: 3, OF: 8, V: 6})
    # hands allow 2.6 lectures; money at 100 yuan a lecture allows 1, 2.6, 5; demand 2 in the last
    units, bound, used = capacity(np.array([5.0, 5.0, 5.0, 2.0]), np.array([100.0, 260.0, 500.0, 500.0]), 100.0,
                                  p, LECTURE)
    np.testing.assert_allclose(units, [1.0, 2.6, 2.6, 2.0])
    assert bound.tolist() == [MONEY, MONEY | STAFF_BIT | LECTURER_BIT, STAFF_BIT | LECTURER_BIT, NONE]
    assert bound.dtype == np.int8
    # hours are taken for the units run only
    np.testing.assert_allclose(used.sum(axis=0), units * 7.0)


def test_whole_units_short_of_demand_bind():
    units, bound, _ = capacity(np.array([3.0]), np.array([1e9]), 1.0, pool({S: 10, L: 3, OF: 8, V: 6}), LECTURE,
                               whole=True)
    assert units.tolist() == [2.0] and bound.tolist() == [STAFF_BIT | LECTURER_BIT]


def test_whole_units_both_bind_when_both_allow_the_same_whole_number():
    """Money for 2.5 events and hands for 2.7: either allows 2 whole events, so more of either
    alone would not give a third; both bind. Divisible units: money alone binds (2.5)."""
    args = (np.array([5.0]), np.array([25.0]), 10.0, pool({S: 2.7}), [(1.0, (S,))])
    units, bound, _ = capacity(*args, whole=True)
    assert units.tolist() == [2.0] and bound.tolist() == [MONEY | STAFF_BIT]
    units, bound, _ = capacity(*args)
    assert units.tolist() == [2.5] and bound.tolist() == [MONEY]
    # money for 3.1: hands alone bind, in whole units too
    units, bound, _ = capacity(np.array([5.0]), np.array([31.0]), 10.0, pool({S: 2.7}), [(1.0, (S,))], whole=True)
    assert units.tolist() == [2.0] and bound.tolist() == [STAFF_BIT]


# ---------------------------------------------------------------- hypothesis: Hall's condition


def _laminar(sets) -> bool:
    """Every two role sets are nested or disjoint (what sim.activities.check_roles requires)."""
    return all(not (set(a) & set(b)) or set(a) <= set(b) or set(b) <= set(a) for a, b in combinations(sets, 2))


def _lp_capacity(pool_g: np.ndarray, slots) -> float:
    """Most units by linear programming (an independent method): maximise u subject to each
    slot's hours u*h_s being covered by hours x[s, r] of its roles, no role giving more than it has."""
    slots = [(h, rs) for h, rs in slots if h > 0]
    if not slots:
        return np.inf
    pairs = [(k, r) for k, (_, rs) in enumerate(slots) for r in rs]
    n = len(pairs) + 1  # the x's, then u
    c = np.zeros(n)
    c[-1] = -1.0
    a_eq = np.zeros((len(slots), n))
    for j, (k, _) in enumerate(pairs):
        a_eq[k, j] = 1.0
    for k, (h, _) in enumerate(slots):
        a_eq[k, -1] = -h
    a_ub = np.zeros((len(ROLES), n))
    for j, (_, r) in enumerate(pairs):
        a_ub[r, j] = 1.0
    res = linprog(c, A_ub=a_ub, b_ub=np.maximum(pool_g, 0), A_eq=a_eq, b_eq=np.zeros(len(slots)),
                  bounds=[(0, None)] * n, method="highs")
    assert res.status == 0, res.message
    return float(res.x[-1])


ROLE_LISTS = st.lists(st.sampled_from(range(len(ROLES))), min_size=1, max_size=len(ROLES), unique=True)
SLOTS = st.lists(st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.5, 16.0]), ROLE_LISTS), min_size=1,
                 max_size=3)
HOURS = st.lists(st.sampled_from([0.0, 0.0, 1.0, 2.5, 3.0, 8.0, 40.0, 123.4]), min_size=len(ROLES),
                 max_size=len(ROLES))
POOLS = st.lists(HOURS, min_size=1, max_size=4)


@given(slots=SLOTS, pools=POOLS)
@settings(max_examples=150, deadline=None)
def test_hands_capacity_is_the_linear_programme_optimum(slots, pools):
    """The minimum over sets of slots is exact for any role sets (nested or not)."""
    p = np.array(pools, dtype=float).T
    units, bits = hands_capacity(p, slots)
    for g in range(p.shape[1]):
        lp = _lp_capacity(p[:, g], slots)
        if np.isinf(lp):
            assert np.isinf(units[g]) and bits[g] == NONE
        else:
            assert units[g] == pytest.approx(lp, rel=1e-7, abs=1e-9)
            assert bits[g] & ~HANDS == 0 and (bits[g] != NONE)


@given(slots=SLOTS, pools=POOLS, share=st.sampled_from([1.0, 1.0, 0.5, 0.0]))
@settings(max_examples=200, deadline=None)
def test_the_units_capacity_allows_can_be_staffed_and_one_more_cannot(slots, pools, share):
    """With nested or disjoint role sets, ``assign_hours`` staffs the units ``capacity`` allows
    (never more than a role has, every slot's hours covered in full); one more unit would break
    Hall's condition for some set of slots, and then ``assign_hours`` leaves hours uncovered."""
    assume(_laminar([rs for _, rs in slots]))
    p = np.array(pools, dtype=float).T
    full, _ = hands_capacity(p, slots)
    finite = np.isfinite(full)
    units = np.where(finite, full, 0.0) * share  # also fewer units than allowed
    used = assign_hours(units, p, slots)
    if share == 1.0:  # what capacity itself takes when hands bind
        run, _, taken = capacity(np.where(finite, 1e6, 0.0), np.full(p.shape[1], 1e9), 1.0, p, slots)
        np.testing.assert_array_equal(run, units)
        np.testing.assert_array_equal(taken, used)
    need = units * sum(h for h, _ in slots)
    tol = 1e-9 * (1 + p.sum(axis=0))
    assert (used >= 0).all()
    assert (used <= p + tol).all(), "a role gave more hours than it had"
    for r in range(len(ROLES)):  # only roles some slot may use give hours
        if not any(r in rs for h, rs in slots if h > 0):
            assert (used[r] == 0).all()
    # every slot takes at most its own need from its own roles, so equal totals mean every
    # slot's hours are covered in full
    np.testing.assert_allclose(used.sum(axis=0), need, rtol=1e-9, atol=1e-9)

    more = np.where(finite, np.where(finite, full, 0.0) * (1 + 1e-6) + 1e-6, 0.0)
    for g in np.flatnonzero(finite):
        violated = [sub for k in range(1, len(slots) + 1) for sub in combinations([s for s in slots if s[0] > 0], k)
                    if p[sorted({r for _, rs in sub for r in rs}), g].sum() < more[g] * sum(h for h, _ in sub)]
        assert violated, "one more unit still satisfies Hall's condition"
    short = assign_hours(more, p, slots)
    total = more * sum(h for h, _ in slots)
    assert (short.sum(axis=0)[finite] < total[finite] - 1e-9).all()


def test_filling_the_most_restricted_slot_first_is_why_role_sets_must_nest():
    """With overlapping, non-nested role sets the greedy order can fail where a feasible
    assignment exists: slot A may use (volunteer, officer), slot B (officer, lecturer) with no
    lecturer hours. Hall allows 1 unit (A from volunteers, B from officers); greedy A takes
    officers first, by preference, and leaves B short. check_roles rejects such sets."""
    p = pool({OF: 1.0, V: 1.0})
    slots = [(1.0, (OF, V)), (1.0, (OF, L))]
    units, _ = hands_capacity(p, slots)
    assert units.tolist() == [1.0]
    used = assign_hours(units, p, slots)
    assert used.sum() == 1.0 < 2.0  # B got nothing
    assert not _laminar([rs for _, rs in slots])


# ---------------------------------------------------------------- the month's hands


def _hands() -> Hands:
    """Two counties: villages 0 and 1 in county 0, village 2 in county 1."""
    village = np.zeros((len(ROLES), 3))
    village[S] = [1.0, 1.0, 2.0]  # township posts' village share
    village[OF] = [10.0, 30.0, 5.0]
    village[V] = [4.0, 0.0, 6.0]
    return Hands(village, np.array([20.0, 8.0]), np.array([0, 0, 1]))


def test_county_pool_is_county_staff_and_the_villages_other_roles():
    h = _hands()
    p = h.county_pool()
    assert p[S].tolist() == [20.0, 8.0]  # the county's professional hours, not the villages' staff row
    assert p[OF].tolist() == [40.0, 5.0]
    assert p[V].tolist() == [4.0, 6.0]
    assert p[L].tolist() == [0.0, 0.0]


def test_take_county_scales_village_hours_in_proportion():
    h = _hands()
    p = h.county_pool()
    used = np.zeros((len(ROLES), 2))
    used[S] = [5.0, 8.0]
    used[OF] = [10.0, 0.0]  # a quarter of county 0's officer hours
    used[V] = [4.0, 3.0]  # all of county 0's volunteer hours, half of county 1's
    h.take_county(used, p)
    assert h.county_staff.tolist() == [15.0, 0.0]
    assert h.village[OF].tolist() == [7.5, 22.5, 5.0]
    assert h.village[V].tolist() == [0.0, 0.0, 3.0]
    assert h.village[S].tolist() == [1.0, 1.0, 2.0]  # the villages' staff hours are not county hours
    np.testing.assert_allclose(h.county_pool(), p - used)
    # the month's starting hours are kept
    assert h.start_village[OF].tolist() == [10.0, 30.0, 5.0] and h.start_county_staff.tolist() == [20.0, 8.0]


def test_group_sum_is_bincount_bit_for_bit():
    """Sums by county of village values: the same float64 numbers as np.bincount, whatever the
    order of the groups, with empty groups and values of very different sizes (where the order
    of the additions shows in the last digits)."""
    rng = np.random.default_rng(1)
    for sort in (False, True):
        group = rng.integers(0, 50, 5000)
        group = np.sort(group) if sort else group
        group[group == 7] = 8  # group 7 empty
        gs = GroupSum(group, 52)  # and the last two
        for _ in range(5):
            x = rng.standard_normal(5000) * 10.0 ** rng.integers(-8, 9, 5000)
            assert gs(x).tobytes() == np.bincount(group, weights=x, minlength=52).tobytes()
        flags = rng.random(5000) < 0.5
        assert gs(flags).tobytes() == np.bincount(group, weights=flags, minlength=52).tobytes()
    assert GroupSum(np.zeros(0, np.int64), 3)(np.zeros(0)).tolist() == [0.0, 0.0, 0.0]


def test_hands_with_the_model_s_county_sum_are_the_same():
    h = _hands()
    g = Hands(h.village, h.county_staff, h.v_county, GroupSum(h.v_county, 2))
    np.testing.assert_array_equal(g.county_pool(), h.county_pool())


def test_take_village_never_goes_below_zero():
    h = _hands()
    used = np.zeros((len(ROLES), 3))
    used[OF] = [2.0, 30.0, 6.0]
    h.take_village(used)
    assert h.village[OF].tolist() == [8.0, 0.0, 0.0]


def test_county_activity_through_the_hands():
    """A county activity staffed from the county pools takes officers' hours from the villages
    that have them; the village work after it sees the rest."""
    h = _hands()
    p = h.county_pool()
    slots = [(4.0, (S,)), (8.0, (OF, V))]
    units, bound, used = capacity(np.array([10.0, 10.0]), np.array([1e9, 1e9]), 1.0, p, slots, whole=True)
    # county 0: staff 20/4 = 5, helpers 44/8 = 5.5, both 64/12 = 5.33 -> 5 (staff);
    # county 1: staff 8/4 = 2, helpers 11/8, both 19/12 -> 1 (helpers, then whole)
    assert units.tolist() == [5.0, 1.0]
    assert bound.tolist() == [STAFF_BIT, OFFICER_BIT | VOLUNTEER_BIT]
    h.take_county(used, p)
    assert h.county_staff.tolist() == [0.0, 4.0]
    assert h.village[OF].tolist() == [0.0, 0.0, 0.0]  # 40 of county 0's 40 officer hours; county 1's 5 of 5
    assert h.village[V].tolist() == [4.0, 0.0, 3.0]  # county 0 needed none; county 1 the other 3


# ---------------------------------------------------------------- the ledger


def test_ledger_sums_by_pot_and_use():
    led = Ledger()
    led.add("association", "youth_lectures", np.array([100.0, 50.0]))
    led.add("association", "insurance", 30.0)
    led.add("raised", "visits", [5.0, 5.0, 5.0])
    led.add("personnel", "staff_posts", 1000.0)
    led.add("personnel", "staff_posts", 1000.0)
    led.add("association", "volunteer_stipends", np.zeros(3))
    assert led.by_pot() == {"association": 180.0, "raised": 15.0, "personnel": 2000.0}
    assert led.by_use() == {"youth_lectures": 150.0, "insurance": 30.0, "visits": 15.0, "staff_posts": 2000.0,
                            "volunteer_stipends": 0.0}
    assert led.total() == 2195.0 == sum(led.by_pot().values()) == sum(led.by_use().values())
    led.reset()
    assert led.total() == 0.0 and led.by_pot() == {} and led.by_use() == {}
