"""Village work: contact persons for special families (with their green-channel and
family-doctor registrations) and the festival and condolence visits (MODEL.md section 5).

Capacity is computed on each village's expected full-scale numbers (households times the
village's shares), not on its sampled families, so the results do not depend on
``population.scale`` beyond sampling error; sampled families are then served with the resulting
probabilities. Both draw on the village's hours of the roles that may do them
(:class:`sim.resources.Hands`): contact-person duty first (a standing duty), visits last, after
the county activities have taken their share of the officers' and volunteers' hours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.activities import MONEY, Activity
from sim.resources import ROLE_BITS, assign_hours, slot_specs

if TYPE_CHECKING:
    from sim.model import OutreachModel


def _roles(m: OutreachModel, act: Activity) -> tuple[int, ...]:
    return slot_specs(act, m.cfg.activities)[0][1]


def _take(m: OutreachModel, act: Activity, hours_v: np.ndarray, roles: tuple[int, ...]) -> None:
    """Take ``hours_v`` hours per village from ``roles`` (in order of preference) and record them."""
    used = assign_hours(hours_v, m.hands.village, [(1.0, roles)])
    m.hands.take_village(used)
    m.use_hours(act.name, np.stack([m.county_sum(u) for u in used]))


def contact_persons(m: OutreachModel, act: Activity) -> None:
    """At most K special families per officer or volunteer, ``contact_hours_per_family_month``
    hours a family and month; contacts register green-channel and family-doctor contracts."""
    a, st = m.cfg.activities, m.cfg.staffing
    f, v, s = m.f, m.v, m.state
    roles = _roles(m, act)
    hours_v = m.hands.village[list(roles)].sum(axis=0)
    n_active_v = m.active_v
    sp_idx = m.idx_special
    sp_v = f.village[sp_idx]
    u = m.draw("contact").random((4, len(sp_idx)), dtype=np.float32)
    slots_v = (st.officers_per_village + n_active_v) * st.max_families_per_contact
    exp_sp = m.expected_v[0]

    def assigned_share() -> np.ndarray:
        has_v = np.bincount(sp_v[s["contact"][sp_idx]], minlength=v.n)
        return np.where(m.n_special_v > 0, has_v / np.maximum(m.n_special_v, 1), a.initial_contact_share)

    share = assigned_share()
    over = np.maximum(exp_sp * share - slots_v, 0)  # fewer volunteers: some lose their contact
    drop = s["contact"][sp_idx] & (u[0] < (over / np.maximum(exp_sp * share, 1e-12))[sp_v])
    s["contact"][sp_idx[drop]] = False
    share = assigned_share()
    per_family = max(a.contact_hours_per_family_month, 1e-12)
    free_v = np.maximum(np.minimum(slots_v, hours_v / per_family) - exp_sp * share, 0)
    want_v = exp_sp * (1 - share) * a.p_contact_assign_month
    p_assign = np.where(want_v > 0, np.minimum(free_v, want_v) / np.maximum(want_v, 1e-12), 0)
    has = s["contact"][sp_idx]
    new = ~has & (u[1] < (p_assign * a.p_contact_assign_month)[sp_v])
    s["contact"][sp_idx[new]] = True
    m.cm["contact_assigned"][m.month] += m.count_by_county(sp_idx[new])
    has = s["contact"][sp_idx]
    s["green_channel"][sp_idx[has & (u[2] < a.p_green_channel_month)]] = True
    s["family_doctor"][sp_idx[has & (u[3] < a.p_family_doctor_month)]] = True
    duty_v = np.minimum(exp_sp * assigned_share() * a.contact_hours_per_family_month, hours_v)
    short_c = m.county_sum(np.maximum(want_v - free_v, 0))
    want_c = m.county_sum(want_v)
    bits = np.bitwise_or.reduce(ROLE_BITS[list(roles)])
    m.bind(act.name, np.where(short_c > 0.01 * want_c, bits, 0).astype(np.int8))
    _take(m, act, duty_v, roles)
    m.contact_hours_v = duty_v


def visits(m: OutreachModel, act: Activity) -> None:
    """Eligible families due this month (the yearly plan's share, at most one visit a month),
    special first, then hardship, then elderly families in difficulty; each visit costs the
    visit's hours plus travel and goods from the raised funds per person visited."""
    a = m.cfg.activities
    f, s = m.f, m.state
    moy = m.month_of_year
    roles = _roles(m, act)
    hours_v = m.hands.village[list(roles)].sum(axis=0)
    rate = min(1.0, a.visits_per_eligible_family_year * m.season["visits"][moy - 1])
    demand_g = m.expected_v * rate
    demand_v = demand_g.sum(axis=0)
    by_hands_v = np.minimum(demand_v, hours_v / m.visit_hours_v)
    goods_per_visit = m.persons_per_eligible * a.visit_goods_yuan_per_person
    by_hands_c = m.county_sum(by_hands_v)
    want_money_c = by_hands_c * goods_per_visit
    money_c = m.available("visits", "visits")
    scale_c = np.where(want_money_c > money_c, money_c / np.maximum(want_money_c, 1e-12), 1.0)
    served_v = by_hands_v * scale_c[m.v_county]
    lost_hands_c = m.county_sum(demand_v - by_hands_v)
    lost_money_c = by_hands_c * (1 - scale_c)
    demand_c = m.county_sum(demand_v)
    hands_bits = np.bitwise_or.reduce(ROLE_BITS[list(roles)])
    m.bind(act.name, (MONEY * (lost_money_c > 0.01 * demand_c)
                      + hands_bits * (lost_hands_c > 0.01 * demand_c)).astype(np.int8))
    left = served_v.copy()
    frac_g = np.zeros_like(demand_g)
    for g in range(3):
        got = np.minimum(left, demand_g[g])
        left -= got
        frac_g[g] = np.where(demand_g[g] > 0, got / np.maximum(demand_g[g], 1e-12), 0)
    e_idx = m.idx_eligible
    u = m.draw("visits").random((3, len(e_idx)), dtype=np.float32)
    chosen = (u[0] < rate) & (u[1] < np.take(frac_g.ravel(), m.elig_key, mode="clip"))
    visited = e_idx[chosen]
    educated = visited[u[2][chosen] < a.p_visit_health_education]
    m.spend(act, m.county_sum(served_v) * goods_per_visit)
    s["visited"][visited] = True
    s["health_reached"][educated] = True
    m.attended["health"].append((educated, m.cfg.diffusion.hazard_attend))
    m.cm["visits"][m.month] += m.count_by_county(visited)
    m.cm["person_visits"][m.month] += m.count_by_county(visited, weights=f.size[visited])
    _take(m, act, served_v * m.visit_hours_v, roles)
    contact_v = getattr(m, "contact_hours_v", 0.0)
    m.hours_used_v = contact_v + served_v * m.visit_hours_v
    m.hours_demand_v = contact_v + demand_v * m.visit_hours_v
    m.hours_avail_v = hours_v + contact_v
