"""What a run reports: coverage, reported totals, spend, equity, binding limits, volunteers.

Coverage follows MODEL.md section 6 (families counted once, over the last simulated year);
reported totals are full-province counts comparable to ``hunan_2021_reported.yaml`` (persons
or person-times where the report counts them); equity statistics are across the 122 counties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

ACTIVITIES = ("insurance", "nursing_subsidy", "livelihood", "youth_lectures", "policy_events",
              "family_health_events", "visits")
"""Activities whose binding limit is recorded (rows of ``model.binding``)."""

if TYPE_CHECKING:
    from sim.model import OutreachModel

FAMILY_INDICATORS = ("youth_education", "family_health", "policy_awareness", "special_visited",
                     "special_insured", "special_contact_person", "special_three_full",
                     "hardship_assisted")
COVERAGE = FAMILY_INDICATORS[:7] + ("nursing_subsidy_met", "hardship_assisted")
EQUITY_INDICATORS = ("youth_education", "special_visited")


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


def summary(m: OutreachModel) -> dict:
    """The run's summary (see the model issue's list of keys)."""
    ly = last_year(m)
    cm = {k: v[ly] for k, v in m.cm.items()}
    W = m.W
    coverage = {}
    for name in FAMILY_INDICATORS:
        subset, reached = family_indicator(m, name)
        coverage[name] = float(reached.mean()) if len(reached) else 0.0
    hosp = cm["hospitalised"].sum()
    coverage["nursing_subsidy_met"] = float(cm["subsidised"].sum() / hosp) if hosp > 0 else 1.0
    coverage = {k: coverage[k] for k in COVERAGE}

    sp = m.idx_special
    reported = {
        "youth_lectures": float(cm["youth_lectures"].sum()),
        "youth_lecture_beneficiaries": float(cm["youth_beneficiaries"].sum()),
        "family_health_events": float(cm["family_health_events"].sum()),
        "family_health_participants": float(cm["family_health_participants"].sum()),
        "policy_events": float(cm["policy_events"].sum()),
        "person_visits": float(cm["person_visits"].sum()),
        "insured_special_households": float(m.state["insured"][sp].sum() * W),
        "nursing_subsidy_people": float(cm["subsidised"].sum()),
        "hospitalised_special_people": float(hosp),
        "hardship_households_helped": float(family_indicator(m, "hardship_assisted")[1].sum() * W),
        "livestream_viewers": float(m.province_month["livestream_viewers"][ly].sum()),
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
    b = m.binding[ly]
    return {
        "coverage": coverage,
        "reported": reported,
        "spend_yuan": {"total": spend_total, **by_channel},
        "money_yuan": {"total": sum(money.values()), **money},
        "execution_rate": project_spent / project_money if project_money > 0 else 0.0,
        "execution_rate_all": spend_total / sum(money.values()) if sum(money.values()) > 0 else 0.0,
        "families_reached": families_reached,
        "cost_per_family_reached_yuan": spend_total / families_reached if families_reached > 0 else None,
        "equity": eq,
        "binding": {"money": float((b & 1).any(axis=1).mean()), "staff": float((b & 2).any(axis=1).mean()),
                    "by_activity": {act: {"money": float(((b[:, i] & 1) > 0).mean()),
                                          "staff": float(((b[:, i] & 2) > 0).mean())}
                                    for i, act in enumerate(ACTIVITIES)}},
        "volunteers": {"start": int(m.volunteers_start), "end": int(m.volunteers.n_active),
                       "recruited": int(m.recruited), "left": int(m.left)},
    }
