"""What a run reports: coverage (with provenance), reported totals, money and cost by pot and use,
hands by role, equity, binding limits, volunteers.

Coverage follows MODEL.md section 6 (families counted once, over the last simulated year);
reported totals are full-province counts comparable to ``hunan_2021_reported.yaml`` (persons
or person-times where the report counts them); equity statistics are across the 122 counties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.activities import MONEY, NAMES, ROLES, role_bit

ACTIVITIES = NAMES
"""Activities whose binding limit is recorded (rows of ``model.binding``): the activity table's."""

if TYPE_CHECKING:
    from sim.model import OutreachModel

FAMILY_INDICATORS = ("youth_education", "family_health", "policy_awareness", "special_visited",
                     "special_insured", "special_contact_person", "special_three_full",
                     "hardship_assisted", "elderly_visited")
COVERAGE = FAMILY_INDICATORS[:7] + ("nursing_subsidy_met", "hardship_assisted", "elderly_visited")
EQUITY_INDICATORS = ("youth_education", "special_visited")

INPUT, CALIBRATED, PREDICTED = "input", "calibrated", "predicted"
PROVENANCE: dict[str, tuple[str, str]] = {
    "coverage.youth_education": (PREDICTED, "lecture counts and reach are fitted; which families they reach is not"),
    "coverage.family_health": (PREDICTED, "event counts are fitted; visits' and online health education are not"),
    "coverage.policy_awareness": (PREDICTED, "word of mouth and broadcast (q, p_ext) are assumed, not fitted"),
    "coverage.special_visited": (PREDICTED, "visit rate fitted to hardship households helped, not to special families"),
    "coverage.special_insured": (INPUT, "initial 90 % insured and premium = 15 M / 90,000 (accounting)"),
    "coverage.special_contact_person": (INPUT, "initial share and monthly assignment rate are assumptions"),
    "coverage.special_three_full": (INPUT, "initial shares and registration rates are assumptions"),
    "coverage.nursing_subsidy_met": (INPUT, "subsidy per person = 18 M / 16,390 (accounting): all claims paid"),
    "coverage.hardship_assisted": (CALIBRATED, "visits per eligible family fitted to 180,000 households helped"),
    "coverage.elderly_visited": (PREDICTED, "the elderly-in-difficulty share is assumed, not fitted"),
    "reported.youth_lectures": (CALIBRATED, "lecture cost fitted"),
    "reported.youth_lecture_beneficiaries": (CALIBRATED, "youth per lecture fitted"),
    "reported.family_health_events": (CALIBRATED, "event cost fitted"),
    "reported.family_health_participants": (CALIBRATED, "participants per event fitted"),
    "reported.policy_events": (CALIBRATED, "policy event cost fitted"),
    "reported.person_visits": (CALIBRATED, "goods per person fitted"),
    "reported.insured_special_households": (INPUT, "premium = 15 M / 90,000 (accounting)"),
    "reported.nursing_subsidy_people": (CALIBRATED, "hospitalisation rate fitted (all claims paid)"),
    "reported.hospitalised_special_people": (CALIBRATED, "hospitalisation rate fitted"),
    "reported.hardship_households_helped": (CALIBRATED, "visits per eligible family fitted"),
    "reported.livestream_viewers": (INPUT, "viewing probabilities = viewers / households online (accounting)"),
    "reported.policy_event_viewers": (INPUT, "viewers per event = 0.5 M online + 0.1 M on site / 400 events"),
    "reported.web_reached_families": (PREDICTED, "web publicity reach at the online cost per family (assumed)"),
    "reported.elderly_households_visited": (PREDICTED, "not reported; the eligible share is assumed"),
    "execution_rate": (CALIBRATED, "livelihood target share fitted"),
    "cost.by_pot.personnel": (INPUT, "posts x assumed post cost, officers' stipends from the report, stipends set"),
    "cost.by_pot.raised": (INPUT, "the raised funds (216 M), spent in full at 2021"),
    "cost.by_pot.association": (PREDICTED, "what counties' plans spend of their budgets"),
    "cost.total_yuan": (PREDICTED, "sum of the pots"),
    "cost.by_use": (PREDICTED, "what each activity spends"),
    "spend_yuan": (PREDICTED, "what each channel spends"),
    "families_reached": (PREDICTED, "families reached by any channel"),
    "cost_per_family_reached_yuan": (PREDICTED, "total cost per family reached"),
    "equity": (PREDICTED, "spread of county coverage"),
    "binding": (PREDICTED, "which limit bound rests on assumed hours by role"),
    "hands": (PREDICTED, "hours used rest on assumed hours by role"),
}
"""Where each coverage and reported figure comes from (MODEL.md section 7): ``input`` (set by an
assumption or an accounting identity), ``calibrated`` (a fitted parameter makes it match a
reported figure) or ``predicted`` (a model result no fitted parameter pins), with the reason."""


def family_indicator(m: OutreachModel, name: str) -> tuple[np.ndarray | None, np.ndarray]:
    """(eligible families as indices, or None for all; reached flag over them) of ``name``."""
    s = m.state
    if name == "youth_education":
        return m.idx_youth, s["youth_reached"][m.idx_youth]
    if name == "family_health":
        return None, s["health_reached"]
    if name == "policy_awareness":
        return None, m.aware["policy"]
    if name == "hardship_assisted":
        h = m.idx_hardship
        return h, s["livelihood_helped"][h] | s["visited"][h]
    if name == "elderly_visited":
        e = m.idx_elderly
        return e, s["visited"][e]
    sp = m.idx_special
    if name == "special_visited":
        return sp, s["visited"][sp]
    if name == "special_insured":
        return sp, s["insured"][sp]
    if name == "special_contact_person":
        return sp, s["contact"][sp]
    if name == "special_three_full":
        return sp, s["contact"][sp] & s["green_channel"][sp] & s["family_doctor"][sp]
    raise KeyError(f"{name!r} is not a family indicator; it must be one of {FAMILY_INDICATORS}")


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = all equal)."""
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return 0.0
    return max(0.0, float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum())))


def cv(x: np.ndarray) -> float:
    """Coefficient of variation (population standard deviation / mean)."""
    x = np.asarray(x, dtype=np.float64)
    return float(x.std() / x.mean()) if x.mean() > 0 else 0.0


def equity(values: np.ndarray) -> dict[str, float]:
    return {"county_coverage_min": float(values.min()), "county_coverage_max": float(values.max()),
            "county_coverage_cv": cv(values), "county_coverage_gini": gini(values)}


def last_year(m: OutreachModel) -> slice:
    """Months of the last simulated (possibly partial) year."""
    return slice(12 * ((m.month - 1) // 12), m.month)


def binding_shares(b: np.ndarray) -> dict:
    """Shares of county-months in which money or hands bound, overall and per activity and role,
    from binding codes ``b`` (months x activities x counties)."""
    hands = ~np.int8(MONEY)
    return {
        "money": float((b & MONEY).any(axis=1).mean()) if b.size else 0.0,
        "hands": float((b & hands).any(axis=1).mean()) if b.size else 0.0,
        "by_activity": {act: {"money": float(((b[:, i] & MONEY) > 0).mean()) if b.size else 0.0,
                              "hands": float(((b[:, i] & hands) > 0).mean()) if b.size else 0.0,
                              "by_role": {r: float(((b[:, i] & role_bit(r)) > 0).mean()) if b.size else 0.0
                                          for r in ROLES}}
                        for i, act in enumerate(ACTIVITIES)},
    }


def summary(m: OutreachModel) -> dict:
    """The run's summary: coverage (with counts and provenance), reported totals, money, cost by
    pot and use, hands by role, equity, binding limits and volunteers (last simulated year)."""
    ly = last_year(m)
    cm = {k: v[ly] for k, v in m.cm.items()}
    W = m.W
    coverage, counts = {}, {}
    for name in FAMILY_INDICATORS:
        subset, reached = family_indicator(m, name)
        coverage[name] = float(reached.mean()) if len(reached) else 0.0
        counts[name] = {"reached": float(np.count_nonzero(reached) * W), "eligible": float(len(reached) * W)}
    hosp = cm["hospitalised"].sum()
    # (claims of last December paid in January count in the year they are paid: at most 1)
    coverage["nursing_subsidy_met"] = min(1.0, float(cm["subsidised"].sum() / hosp)) if hosp > 0 else 1.0
    counts["nursing_subsidy_met"] = {"reached": float(cm["subsidised"].sum()), "eligible": float(hosp)}
    coverage = {k: coverage[k] for k in COVERAGE}
    counts = {k: counts[k] for k in COVERAGE}

    sp = m.idx_special
    a = m.cfg.activities
    reported = {
        "youth_lectures": float(cm["youth_lectures"].sum()),
        "youth_lecture_beneficiaries": float(cm["youth_beneficiaries"].sum()),
        "family_health_events": float(cm["family_health_events"].sum()),
        "family_health_participants": float(cm["family_health_participants"].sum()),
        "policy_events": float(cm["policy_events"].sum()),
        "policy_event_viewers": float(cm["policy_events"].sum() * (a.online_viewers_per_event
                                                                   + a.onsite_viewers_per_event)),
        "person_visits": float(cm["person_visits"].sum()),
        "insured_special_households": float(m.state["insured"][sp].sum() * W),
        "nursing_subsidy_people": float(cm["subsidised"].sum()),
        "hospitalised_special_people": float(hosp),
        "hardship_households_helped": float(family_indicator(m, "hardship_assisted")[1].sum() * W),
        "elderly_households_visited": counts["elderly_visited"]["reached"],
        "livestream_viewers": float(m.province_month["livestream_viewers"][ly].sum()),
        "web_reached_families": float(m.province_month["web_reached"][ly].sum()),
    }
    by_channel = {ch: float(v.sum()) for ch, v in m.spent_year.items()}
    money = {ch: float(v.sum()) for ch, v in m.money_year.items()}
    spend_total = sum(by_channel.values())
    project_money = sum(money[c] for c in ("insurance", "nursing_subsidy", "livelihood"))
    project_spent = sum(by_channel[c] for c in ("insurance", "nursing_subsidy", "livelihood"))
    reached_any = np.zeros(m.f.n, dtype=bool)
    for k in ("youth_reached", "health_reached", "visited", "livelihood_helped"):
        reached_any |= m.state[k]
    families_reached = float(reached_any.sum() * W)
    eq = {}
    for name in EQUITY_INDICATORS:
        eq[name] = equity(m.county_coverage(name))
    cost_total = m.ledger.total()
    avail = m.hours_available[ly].sum(axis=0)
    used = m.hours_used[ly].sum(axis=0)  # activities x roles
    hands = {r: {"available_hours": float(avail[i]), "used_hours": float(used[:, i].sum()),
                 "used_share": float(used[:, i].sum() / avail[i]) if avail[i] > 0 else 0.0,
                 "by_activity": {act: float(used[j, i]) for j, act in enumerate(ACTIVITIES) if used[j, i] > 0}}
             for i, r in enumerate(ROLES)}
    st = m.cfg.staffing
    return {
        "coverage": coverage,
        "coverage_counts": counts,
        "reported": reported,
        "provenance": dict(PROVENANCE_LABELS),
        "spend_yuan": {"total": spend_total, **by_channel},
        "money_yuan": {"total": sum(money.values()), **money},
        "cost": {"by_pot": m.ledger.by_pot(), "by_use": m.ledger.by_use(), "total_yuan": cost_total},
        "execution_rate": project_spent / project_money if project_money > 0 else 0.0,
        "execution_rate_all": spend_total / sum(money.values()) if sum(money.values()) > 0 else 0.0,
        "families_reached": families_reached,
        "cost_per_family_reached_yuan": cost_total / families_reached if families_reached > 0 else None,
        "equity": eq,
        "binding": binding_shares(m.binding[ly]),
        "hands": hands,
        "posts": {**{k: float(v) for k, v in m.posts.items()}, "total": float(sum(m.posts.values()))},
        "volunteers": {"start": int(m.volunteers_start), "end": int(m.volunteers.n_active),
                       "recruited": int(m.recruited), "left": int(m.left),
                       "lecturers_end": int((m.trained & m.volunteers.active).sum()),
                       "stipend_yuan_per_month": st.volunteer_stipend_yuan_per_month,
                       "stipend_pot": st.volunteer_stipend_pot,
                       "stipend_paid_share": float(m.stipend_paid_share_c.mean())},
    }


PROVENANCE_LABELS = {k: v[0] for k, v in PROVENANCE.items()}
