"""Assistance run by the county associations from the provincial project funds: the free health
insurance of special families, the hospital nursing subsidy and the hardship families'
livelihood projects (MODEL.md section 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.activities import Activity

if TYPE_CHECKING:
    from sim.model import OutreachModel


def insurance(m: OutreachModel, act: Activity) -> None:
    """Uninsured special families ask to enrol (``p_insurance_enrol_month``); enrolment costs the
    premium (province pot, shared by demand) and the enrolment hours (staff or officers)."""
    a = m.cfg.activities
    sp_idx = m.idx_special
    u = m.draw("insurance.enrol").random((2, len(sp_idx)))
    want = ~m.state["insured"][sp_idx] & (u[0] < a.p_insurance_enrol_month)
    demand_c = m.count_by_county(sp_idx[want])
    units = m.run_county(act, demand_c, m.province_pot_by_demand("insurance", demand_c))
    new = m.select(m.county_of(sp_idx), u[1], want, units, "insurance.enrol")
    m.state["insured"][sp_idx[new]] = True
    m.cm["insured_new"][m.month] += m.count_by_county(sp_idx[new])


def nursing_subsidy(m: OutreachModel, act: Activity) -> None:
    """Special-family members are hospitalised; each claims the nursing subsidy (province pot,
    claim hours of staff) while the money lasts. A claim the county cannot process this month for
    want of hands or money waits for the next (claims are kept per family), so a month's lumpy
    demand at a small scale is not lost."""
    a = m.cfg.activities
    sp_idx = m.idx_special
    hosp = m.draw("hospital").binomial(m.f.size[sp_idx], a.p_hospital_person_month)
    key = m.draw("nursing_subsidy").random(len(sp_idx))
    claims = hosp + m.claims_pending
    people_c = m.count_by_county(sp_idx, weights=claims)
    units = m.run_county(act, people_c, m.province_pot_by_demand("nursing_subsidy", people_c))
    paid = m.select(m.county_of(sp_idx), key, claims > 0, units, "nursing_subsidy", people=claims)
    m.claims_pending = np.where(paid, 0, claims)
    m.cm["hospitalised"][m.month] += m.count_by_county(sp_idx, weights=hosp)
    m.cm["subsidised"][m.month] += m.count_by_county(sp_idx, weights=np.where(paid, claims, 0))


def livelihood(m: OutreachModel, act: Activity) -> None:
    """Livelihood projects for hardship families not yet helped this year: the year's plan
    (``livelihood_target_share`` of them) spread evenly, limited by money and hands."""
    a = m.cfg.activities
    h_idx = m.idx_hardship
    not_yet = ~m.state["livelihood_helped"][h_idx]
    target = m.hardship_c * a.livelihood_target_share * m.cum_season["even"][m.month_of_year - 1]
    demand = np.minimum(target - m.done_year["livelihood"], m.count_by_county(h_idx[not_yet]))
    units = m.run_county(act, demand, m.available("livelihood", "even"))
    m.done_year["livelihood"] += units
    key = m.draw("livelihood").random(len(h_idx))
    new = h_idx[m.select(m.county_of(h_idx), key, not_yet, units, "livelihood")]
    m.state["livelihood_helped"][new] = True
    m.cm["livelihood_helped"][m.month] += m.count_by_county(new)
