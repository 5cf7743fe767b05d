"""The campaign calendar and seasonal spread of each yearly plan (sim/calendar.py)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.calendar import CAMPAIGNS, campaigns, seasonal_weights
from sim.config import ActivitiesConfig

SCHOOL = ActivitiesConfig().lecture_school_months
KINDS = ("youth_lectures", "family_health_events", "policy_events", "visits", "even")


@pytest.mark.parametrize("announce", range(1, 13))
def test_every_weight_vector_has_12_nonnegative_values_summing_to_1(announce):
    w = seasonal_weights(SCHOOL, announce)
    assert set(w) == set(KINDS)
    for k in KINDS:
        assert w[k].shape == (12,), k
        assert (w[k] >= 0).all(), k
        assert w[k].sum() == pytest.approx(1.0, abs=1e-12), k


def test_default_values_exactly():
    w = seasonal_weights(SCHOOL, 6)
    # lectures: school months 3-6 and 9-12; September x2, May and December x1.5 (total 10)
    np.testing.assert_allclose(w["youth_lectures"],
                               [0, 0, .1, .1, .15, .1, 0, 0, .2, .1, .1, .15], atol=1e-15)
    # family health: x3 in May, x1.5 in July (total 14.5)
    np.testing.assert_allclose(w["family_health_events"],
                               np.array([1, 1, 1, 1, 3, 1, 1.5, 1, 1, 1, 1, 1]) / 14.5, atol=1e-15)
    # policy: from June, x3 in July (total 9)
    np.testing.assert_allclose(w["policy_events"], np.array([0, 0, 0, 0, 0, 1, 3, 1, 1, 1, 1, 1]) / 9,
                               atol=1e-15)
    # visits: 25 % in January and February, 10 % in May and September, 30 % over the other 8
    np.testing.assert_allclose(w["visits"], [.25, .25, .0375, .0375, .1, .0375, .0375, .0375, .1,
                                             .0375, .0375, .0375], atol=1e-15)
    np.testing.assert_allclose(w["even"], np.full(12, 1 / 12), atol=1e-15)


def test_lectures_are_zero_outside_school_months():
    w = seasonal_weights(SCHOOL, 6)["youth_lectures"]
    months = np.arange(1, 13)
    assert (w[~np.isin(months, SCHOOL)] == 0).all()
    assert (w[np.isin(months, SCHOOL)] > 0).all()
    only_autumn = seasonal_weights((9, 10), 6)["youth_lectures"]
    np.testing.assert_allclose(only_autumn, np.eye(12)[8] * 2 / 3 + np.eye(12)[9] / 3, atol=1e-15)


def test_lectures_without_school_months_spread_evenly():
    np.testing.assert_allclose(seasonal_weights((), 6)["youth_lectures"], np.full(12, 1 / 12))


@pytest.mark.parametrize("announce", range(1, 13))
def test_policy_is_zero_before_the_announcement(announce):
    w = seasonal_weights(SCHOOL, announce)["policy_events"]
    assert (w[:announce - 1] == 0).all()
    assert (w[announce - 1:] > 0).all()
    after = np.arange(announce, 13)
    expected = np.where(after == 7, 3.0, 1.0)
    np.testing.assert_allclose(w[announce - 1:], expected / expected.sum(), atol=1e-15)


def test_visits_january_and_february_are_half_the_year():
    w = seasonal_weights(SCHOOL, 6)["visits"]
    assert w[0] + w[1] == pytest.approx(0.5, abs=1e-15)
    assert w[4] == pytest.approx(0.1) and w[8] == pytest.approx(0.1)


def test_campaigns():
    assert campaigns(1) == ("spring_festival",) and campaigns(2) == ("spring_festival",)
    assert campaigns(5) == ("may29",) and campaigns(7) == ("jul11",)
    assert campaigns(9) == ("school_start",) and campaigns(12) == ("dec1",)
    assert [m for m in range(1, 13) if not campaigns(m)] == [3, 4, 6, 8, 10, 11]
    assert set(CAMPAIGNS) == {1, 2, 5, 7, 9, 12}
