"""Volunteers: training of peer lecturers, their support and stipends, leaving and recruitment
(MODEL.md sections 4 and 4b)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import pdtr, pdtrik

from sim.activities import Activity
from sim.rng import keyed_uniform

if TYPE_CHECKING:
    from sim.model import OutreachModel


def lecturer_training(m: OutreachModel, act: Activity) -> None:
    """In January the counties train the volunteers designated as lecturers and not yet trained
    (in a county, in order of their id's uniform), paying the course from the volunteers channel
    and the trainers' professional hours."""
    if m.month_of_year != 1:
        return
    st = m.cfg.staffing
    vol = m.volunteers
    u = m.lecturer_draw()
    want = vol.active & ~m.trained & (u < st.lecturer_target_share)
    county = m.v_county[vol.village]
    demand = np.bincount(county[want], minlength=m.n_c).astype(float)
    units = m.run_county(act, demand, m.available(act.channel, "january"), whole=True)
    # Volunteers are full-scale rows: train the first `units` of each county by their uniform.
    rows = np.flatnonzero(want)
    order = rows[np.lexsort((u[rows], county[rows]))]
    rank = np.arange(len(order)) - np.searchsorted(county[order], county[order])
    m.trained[order[rank < units[county[order]]]] = True
    m.cm["lecturers_trained"][m.month] += units


def support(m: OutreachModel, act: Activity) -> None:
    """Insurance and small training of every active volunteer (volunteers channel), and their
    stipends from the named pot: the personnel budget pays them in full; the association pays
    them from the money it set aside in January (:func:`sim.plan.allocate`)."""
    st, a = m.cfg.staffing, m.cfg.activities
    active_c = m.county_sum(m.active_v)
    want = active_c * a.volunteer_support_yuan_per_month
    pay = np.minimum(want, m.available(act.channel, act.season))
    m.spend(act, pay)
    due = active_c * st.volunteer_stipend_yuan_per_month
    if st.volunteer_stipend_pot == "personnel":
        m.ledger.add("personnel", "volunteer_stipends", due)
        paid = due
    else:
        paid = np.minimum(due, np.maximum(m.money_year["stipends"] - m.spent_year["stipends"], 0.0))
        m.spent_year["stipends"] = m.spent_year["stipends"] + paid
        m.ledger.add("association", "volunteer_stipends", paid)
        m.cm["spend_yuan"][m.month] += paid
    m.stipend_paid_share_c = np.where(due > 0, paid / np.maximum(due, 1e-12), 1.0)


def turnover(m: OutreachModel) -> None:
    """Volunteers leave (more when their village is overloaded) and are recruited (more with
    the village's activity and the stipend actually paid)."""
    st = m.cfg.staffing
    vol = m.volunteers
    load_v = m.hours_demand_v / np.maximum(m.hours_avail_v, 1e-12)
    p_leave = st.p_volunteer_leave_month * (1 + st.rel_leave_overload * np.maximum(load_v - 1, 0))
    u = keyed_uniform(m.cfg.seed, "volunteers.leave", m.month + 1, vol.uid)
    leave = vol.active & (u < p_leave[vol.village])
    vol.active[leave] = False
    m.left += int(leave.sum())
    # Recruitment rises with the village's activity (share of its hours used) and the stipend.
    use_v = np.minimum(m.hours_used_v / np.maximum(m.hours_avail_v, 1e-12), 1.0)
    n_active_v = np.bincount(vol.village[vol.active], minlength=m.v.n)
    stipend = st.volunteer_stipend_yuan_per_month * m.stipend_paid_share_c[m.v_county]
    rate_v = (st.p_volunteer_recruit_month * np.maximum(n_active_v, 1) * (0.5 + use_v)
              * (1 + st.rel_recruit_stipend_per_100yuan * stipend / 100))
    u = m.village_uniforms("volunteers.recruit")
    # One uniform per village, inverse CDF; u <= P(0 recruits) means 0, so the (slow) inverse
    # only runs for the few villages that recruit.
    new = np.zeros(m.v.n, dtype=np.int64)
    some = _recruits_any(u, rate_v)
    new[some] = np.maximum(_poisson_ppf(u[some], rate_v[some]), 0).astype(np.int64)
    if new.sum():
        vol.append(np.repeat(np.arange(m.v.n), new), st.volunteer_hours_per_month, m.month + 1)
        m.recruited += int(new.sum())
        n_new = int(new.sum())
        m.trained = np.concatenate([m.trained, np.zeros(n_new, dtype=bool)])
    m.active_v = n_active_v + new  # (recruits are active) for the month's record


def _recruits_any(u: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """``u > pdtr(0, rate)`` (P(no recruit) of a Poisson), with scipy's ``pdtr`` (slow: an
    incomplete gamma function) evaluated only near the few villages that recruit.

    ``pdtr(0, r)`` is ``exp(-r)`` to within 1e-13 (relative) wherever ``exp(-r)`` is a normal
    float; there ``u`` at or below ``exp(-r) * (1 - 1e-9)`` is at or below ``pdtr(0, r)`` too,
    and every other village (NaN rates, and rates above about 690 too) is compared with ``pdtr``
    itself, so the result is ``u > pdtr(0, rate)`` exactly.
    """
    p0 = np.exp(-rate)
    maybe = np.flatnonzero(~((u <= p0 * (1 - 1e-9)) & (p0 >= 1e-300)))
    some = np.zeros(len(u), dtype=bool)
    some[maybe] = u[maybe] > pdtr(0, rate[maybe])
    return some


def _poisson_ppf(q: np.ndarray, mu: np.ndarray, max_steps: int = 64) -> np.ndarray:
    """``scipy.stats.poisson.ppf(q, mu)`` for ``0 < q < 1``, bit for bit, mostly without scipy's
    inverse ``pdtrik`` (a root search costing about 1.5 us a value: a millisecond a month).

    scipy takes ``k = ceil(pdtrik(q, mu))`` and steps down to ``k - 1`` when ``pdtr(k - 1, mu) >= q``:
    the least ``k`` with ``pdtr(k, mu) >= q``, unless ``pdtrik``'s error (about 1e-13 relative
    in ``q``) moves it across an integer, which only happens for ``q`` within that error of
    ``pdtr(k - 1, mu)`` or ``pdtr(k, mu)``. So the least ``k`` is found by stepping up with
    ``pdtr``, and scipy's own formula (:func:`_scipy_poisson_ppf`) decides wherever ``q`` is within
    1e-9 (relative) of either, where ``max_steps`` did not reach ``k``, and for invalid ``mu``.
    """
    k = np.zeros(len(q))
    below = np.full(len(q), -np.inf)  # pdtr(k - 1, mu)
    at = pdtr(k, mu)  # pdtr(k, mu)
    todo = np.flatnonzero(at < q)  # (NaN: never done, left to scipy)
    for _ in range(max_steps):
        if not len(todo):
            break
        k[todo] += 1
        below[todo] = at[todo]
        at[todo] = pdtr(k[todo], mu[todo])
        todo = todo[at[todo] < q[todo]]
    near = (q <= below * (1 + 1e-9)) | (q >= at * (1 - 1e-9)) | ~(at >= q) | ~(mu >= 0)
    near[todo] = True
    k[near] = _scipy_poisson_ppf(q[near], mu[near])
    return k


def _scipy_poisson_ppf(q: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``scipy.stats.poisson.ppf(q, mu)`` for ``0 < q < 1``: the distribution's own ``_ppf``
    (scipy 1.18) without the generic wrapper (invalid ``mu``, negative or NaN, gives NaN like
    the wrapper)."""
    vals = np.ceil(pdtrik(q, mu))
    vals1 = np.maximum(vals - 1, 0)
    temp = pdtr(vals1, mu)
    return np.where(mu >= 0, np.where(temp >= q, vals1, vals), np.nan)
