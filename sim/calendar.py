"""The campaign calendar: which campaigns run in which month, and how each activity's yearly
plan is spread over the months (MODEL.md section 4, step 1).

Campaigns: Spring Festival visits (January-February), the 5.29 association-day campaign month
(May), 7.11 World Population Day (July), the school term's "first class" (September; also the
Mid-Autumn visits), 12.1 AIDS awareness week (December).

References: hunan_2021_reported.yaml, plan_2022.campaign_dates.
"""

from __future__ import annotations

import numpy as np

CAMPAIGNS: dict[int, tuple[str, ...]] = {
    1: ("spring_festival",), 2: ("spring_festival",), 5: ("may29",), 7: ("jul11",),
    9: ("school_start",), 12: ("dec1",),
}


def campaigns(month_of_year: int) -> tuple[str, ...]:
    """Campaigns running in ``month_of_year`` (1-12)."""
    return CAMPAIGNS.get(month_of_year, ())


def _norm(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    return w / w.sum()


def seasonal_weights(school_months: tuple[int, ...], policy_announce_month: int) -> dict[str, np.ndarray]:
    """Share of each activity's yearly plan falling in each month (12 values summing to 1).

    Youth lectures run in school months, doubled in September and 1.5x in May and December;
    family health events all year, 3x in the 5.29 month and 1.5x in July; policy events from
    the policy's announcement on, 3x in July (7.11); visits 25 % in January and in February,
    10 % in May and in September, the rest spread evenly.
    """
    m = np.arange(1, 13)
    lectures = np.isin(m, school_months) * np.select([m == 9, np.isin(m, (5, 12))], [2.0, 1.5], 1.0)
    if lectures.sum() == 0:
        lectures = np.ones(12)
    health = np.select([m == 5, m == 7], [3.0, 1.5], 1.0)
    policy = (m >= policy_announce_month) * np.where(m == 7, 3.0, 1.0)
    visits = np.select([m <= 2, np.isin(m, (5, 9))], [0.25, 0.10], 0.30 / 8)
    even = np.ones(12)
    return {
        "youth_lectures": _norm(lectures), "family_health_events": _norm(health),
        "policy_events": _norm(policy), "visits": _norm(visits), "even": _norm(even),
    }
