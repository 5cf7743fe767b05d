"""A month's resources: hands by role and money by pot, and what they allow (MODEL.md section 4b).

*Hands.* Hours of each role (:data:`sim.activities.ROLES`) are kept per village (township staff's
village share, officers, volunteers, trained lecturers) and per county (the professional hours
of county, prefecture and township posts for county activities). A county activity draws on the
county pool of each role: for staff the county hours, for the other roles the sum of the
county's villages, which then lose the hours taken in proportion to what each had (the village
work that follows, visits, sees the rest). Village activities draw on their village's hours.

*Capacity with substitution.* An activity's unit needs ``hours`` from each of its slots, a
slot being filled by any of its roles. With hours divisible, ``u`` units can be staffed exactly
when every set of slots needs no more than the roles any of them may use hold (Hall's
condition for the transportation problem), so the most units is the minimum over non-empty
sets ``S`` of slots of ``pool(roles of S) / hours(S)``; the roles of the tightest set are the
ones that bound. The hours are then taken slot by slot, the most restricted slot first and each
slot's roles in their order of preference, which is optimal when the slots' role sets are
nested or disjoint (:func:`sim.activities.check_roles`).

*Money.* :class:`Ledger` keeps a year's cost by pot and by use (activities, posts, stipends,
training, raised goods), in yuan at full province scale.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np
import scipy.sparse as sp

from sim.activities import MONEY, ROLES, Activity

N_ROLES = len(ROLES)
STAFF = ROLES.index("staff")
ROLE_BITS = np.array([2 << r for r in range(N_ROLES)], dtype=np.int8)

SlotSpec = tuple[float, tuple[int, ...]]
"""(hours per unit, role rows in order of preference) of one slot."""


def slot_specs(activity: Activity, acts) -> list[SlotSpec]:
    """The slots of ``activity`` with their hours and role rows from the config ``acts``."""
    return [(float(getattr(acts, s.hours_key)), tuple(ROLES.index(r) for r in getattr(acts, s.roles_key)))
            for s in activity.slots]


class GroupSum:
    """Sums of one value per row by group: ``np.bincount(group, weights=x, minlength=n_groups)``,
    bit for bit, about four times faster (the model sums village values by county dozens of
    times a month, where bincount's per-call work dominates at small scales).

    It is the product with the (groups x rows) 0/1 matrix in CSR form, built once: a group's sum
    starts at 0.0 and adds ``1.0 * x[i]`` (exact) over the group's rows in row order, the same
    additions in the same order as bincount's.

    Args:
        group: Group of each row (non-negative integers below ``n_groups``).
        n_groups: Number of groups (groups without rows sum to 0).
    """

    def __init__(self, group: np.ndarray, n_groups: int):
        group = np.asarray(group, dtype=np.int64)
        n = len(group)
        self.n_groups = n_groups
        self.matrix = sp.csr_matrix((np.ones(n), (group, np.arange(n))), shape=(n_groups, n))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Sum of ``x`` (one value per row) in each group, as float64."""
        return self.matrix @ np.asarray(x, dtype=np.float64)


@lru_cache(maxsize=256)
def _slot_sets(slots: tuple[SlotSpec, ...]) -> tuple[tuple[np.ndarray, float, np.int8], ...]:
    """(role rows, hours per unit, binding bits) of every non-empty set of the slots that need
    hours, in :func:`hands_capacity`'s order: worked out once per distinct set of slots, not
    on every call (the arrays are shared, so read-only)."""
    slots = tuple((h, r) for h, r in slots if h > 0)
    sets = []
    for k in range(1, len(slots) + 1):
        for subset in combinations(slots, k):
            roles = np.array(sorted({r for _, rs in subset for r in rs}), dtype=np.intp)
            roles.flags.writeable = False
            sets.append((roles, sum(h for h, _ in subset), np.bitwise_or.reduce(ROLE_BITS[roles])))
    return tuple(sets)


def hands_capacity(pool: np.ndarray, slots: list[SlotSpec]) -> tuple[np.ndarray, np.ndarray]:
    """Most units the hours ``pool`` (roles x groups) can staff, and the binding role bits.

    Returns (units, bits): units per group (inf when no slot needs hours) and, per group, the
    bits of the roles of the tightest set of slots.
    """
    n = pool.shape[1]
    units = np.full(n, np.inf)
    bits = np.zeros(n, dtype=np.int8)
    for roles, hours, set_bits in _slot_sets(tuple((h, tuple(r)) for h, r in slots)):
        cap = np.maximum(pool[roles].sum(axis=0), 0.0) / hours
        tighter = cap < units
        units = np.where(tighter, cap, units)
        bits = np.where(tighter, set_bits, bits).astype(np.int8)
    return units, bits


def assign_hours(units: np.ndarray, pool: np.ndarray, slots: list[SlotSpec]) -> np.ndarray:
    """Hours taken from each role (roles x groups) to staff ``units``: the most restricted slot
    first, each slot's roles in order of preference (never more than the pool holds)."""
    left = np.maximum(pool, 0.0).astype(np.float64, copy=False)  # (np.maximum made a new array)
    used = np.zeros_like(left)
    for hours, roles in sorted(slots, key=lambda s: len(s[1])):
        need = units * hours
        for r in roles:
            take = np.minimum(need, left[r])
            left[r] -= take
            used[r] += take
            need = need - take
    return used


def capacity(demand: np.ndarray, money: np.ndarray, unit_cost: float, pool: np.ndarray,
             slots: list[SlotSpec], whole: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Units run per group: min(demand, money cap, hands cap), what bound, and the hours used.

    Args:
        demand: Units asked for, per group (county or village).
        money: Money available per group (yuan).
        unit_cost: Money per unit (yuan; 0 means money does not limit).
        pool: Hours left by role (roles x groups).
        slots: The activity's slots (:func:`slot_specs`).
        whole: Round the units down to whole units (events, lectures; ``demand`` is whole).

    Returns:
        (units, bound, used): ``bound`` is 0 where demand bound (or nothing was asked), MONEY
        where money allowed fewer units than asked and no more than hands, the binding roles'
        bits where hands allowed fewer and no more than money (both when they allow the same).
    """
    demand = np.maximum(np.asarray(demand, dtype=np.float64), 0.0)
    money_cap = (np.maximum(money, 0.0) / unit_cost) if unit_cost > 0 else np.full(demand.shape, np.inf)
    hands_cap, bits = hands_capacity(pool, slots)
    units = np.minimum(demand, np.minimum(money_cap, hands_cap))
    if whole:  # what money and hands allow is whole units too
        units = np.floor(units + 1e-9)
        money_cap, hands_cap = np.floor(money_cap + 1e-9), np.floor(hands_cap + 1e-9)
    short = units < demand - 1e-9
    bound = short * (MONEY * (money_cap <= hands_cap) + bits * (hands_cap <= money_cap))
    used = assign_hours(units, pool, slots)
    return units, bound.astype(np.int8), used


class Hands:
    """Hours by role left this month (see the module docstring).

    Args:
        village_hours: Hours by role in each village (roles x villages); the staff row is the
            township posts' village share.
        county_staff: Professional hours for county activities per county.
        v_county: County of each village.
        county_sum: ``GroupSum(v_county, len(county_staff))``, when the caller keeps one (the
            model builds it once per run rather than once a month).
    """

    def __init__(self, village_hours: np.ndarray, county_staff: np.ndarray, v_county: np.ndarray,
                 county_sum: GroupSum | None = None):
        self.village = village_hours.astype(np.float64, copy=True)
        self.county_staff = county_staff.astype(np.float64, copy=True)
        self.v_county = v_county
        self.n_c = len(county_staff)
        self.county_sum = county_sum if county_sum is not None else GroupSum(v_county, self.n_c)
        self.start_village = self.village.copy()
        self.start_county_staff = self.county_staff.copy()

    def county_pool(self) -> np.ndarray:
        """Hours by role per county for county activities (roles x counties)."""
        pool = np.empty((N_ROLES, self.n_c))
        for r in range(N_ROLES):
            if r == STAFF:
                pool[r] = self.county_staff
            else:
                pool[r] = self.county_sum(self.village[r])
        return pool

    def take_county(self, used: np.ndarray, pool: np.ndarray) -> None:
        """Take ``used`` hours (roles x counties) of a county activity, given the ``pool`` they
        were taken from: staff from the county hours, other roles from the villages in
        proportion to their hours."""
        self.county_staff = np.maximum(self.county_staff - used[STAFF], 0.0)
        for r in range(N_ROLES):
            if r == STAFF or not used[r].any():
                continue
            taken = np.divide(used[r], pool[r], out=np.zeros(self.n_c), where=pool[r] > 0)  # (tiny pools too)
            keep = 1 - taken
            self.village[r] *= np.clip(keep, 0.0, 1.0)[self.v_county]

    def take_village(self, used: np.ndarray) -> None:
        """Take ``used`` hours (roles x villages) of a village activity."""
        self.village = np.maximum(self.village - used, 0.0)


class Ledger:
    """A year's cost in yuan by (pot, use); reset every January."""

    def __init__(self):
        self.year: dict[tuple[str, str], float] = {}

    def add(self, pot: str, use: str, yuan) -> None:
        self.year[(pot, use)] = self.year.get((pot, use), 0.0) + float(np.sum(yuan))

    def reset(self) -> None:
        self.year = {}

    def by_pot(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for (pot, _), v in self.year.items():
            out[pot] = out.get(pot, 0.0) + v
        return out

    def by_use(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for (_, use), v in self.year.items():
            out[use] = out.get(use, 0.0) + v
        return out

    def total(self) -> float:
        return float(sum(self.year.values()))
