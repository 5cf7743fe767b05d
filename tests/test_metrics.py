"""What a run reports (sim/metrics.py): inequality statistics, the last year, binding shares, the
summary's keys and values (coverage and its provenance, money, cost by pot and use, hands by
role, posts), coverage definitions on hand-set states."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.activities import HANDS, MONEY, NAMES, ROLES, role_bit
from sim.metrics import (
    ACTIVITIES,
    COVERAGE,
    FAMILY_INDICATORS,
    PROVENANCE,
    binding_shares,
    cv,
    equity,
    family_indicator,
    gini,
    last_year,
    summary,
)
from sim.model import OutreachModel
from sim.plan import COUNTY_CHANNELS, PROVINCE_CHANNELS

pytest.register_assert_rewrite("model_fixtures")  # before importing it: it is also a plugin
from model_fixtures import run_config, tiny_province  # noqa: E402

pytest_plugins = ("model_fixtures",)

# ---------------------------------------------------------------- gini, cv, equity


def _gini_pairs(x) -> float:
    """Gini as the mean absolute difference over all ordered pairs / (2 * mean)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    return sum(abs(a - b) for a, b in itertools.product(x, x)) / (2 * n * n * x.mean())


def test_gini_known_values():
    assert gini(np.full(7, 1.0)) == 0.0
    assert gini(np.full(7, 0.3)) == pytest.approx(0.0, abs=1e-15)
    # n = 4: sum_i (2i - n - 1) x_(i) / (n sum x) = (3 * 1) / (4 * 1); pairs: 6 / (2*16*0.25)
    assert gini(np.array([0.0, 0.0, 0.0, 1.0])) == 0.75
    assert _gini_pairs([0, 0, 0, 1]) == 0.75
    assert gini(np.array([1.0, 0.0, 0.0, 0.0])) == 0.75  # order does not matter
    assert gini(np.array([1.0, 3.0])) == pytest.approx(0.25)  # |1-3|*2 / (2*4*2)
    assert gini(np.array([])) == 0.0
    assert gini(np.zeros(5)) == 0.0


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=12))
@settings(max_examples=60, deadline=None)
def test_gini_equals_the_mean_absolute_difference_formula(xs):
    x = np.array(xs)
    if x.sum() == 0:
        assert gini(x) == 0.0
        return
    g = gini(x)
    assert g == pytest.approx(_gini_pairs(x), rel=1e-9, abs=1e-12)
    assert 0 <= g <= 1 - 1 / len(x) + 1e-12
    assert gini(3.5 * x) == pytest.approx(g, rel=1e-9, abs=1e-12)  # scale invariant


def test_cv_known_values():
    assert cv(np.array([1.0, 1.0, 1.0])) == 0.0
    assert cv(np.array([1.0, 3.0])) == pytest.approx(0.5)  # sd 1 (population), mean 2
    assert cv(np.array([2, 4, 4, 4, 5, 5, 7, 9])) == pytest.approx(0.4)  # sd 2, mean 5
    assert cv(np.zeros(3)) == 0.0


def test_equity():
    e = equity(np.array([0.0, 0.0, 0.0, 1.0]))
    assert e == {"county_coverage_min": 0.0, "county_coverage_max": 1.0,
                 "county_coverage_cv": pytest.approx(np.sqrt(3)), "county_coverage_gini": 0.75}


class _M:
    def __init__(self, month):
        self.month = month


@pytest.mark.parametrize("month,expected", [(1, (0, 1)), (5, (0, 5)), (12, (0, 12)), (13, (12, 13)),
                                            (24, (12, 24)), (25, (24, 25)), (60, (48, 60))])
def test_last_year(month, expected):
    s = last_year(_M(month))
    assert (s.start, s.stop) == expected


# ---------------------------------------------------------------- binding shares


def test_binding_shares_by_hand():
    """Shares of county-months (2 months x 2 counties) in which money or hands bound, overall
    (any activity) and per activity and role."""
    b = np.zeros((2, len(NAMES), 2), dtype=np.int8)
    lectures, visits = NAMES.index("youth_lectures"), NAMES.index("visits")
    b[0, lectures, 0] = MONEY | role_bit("staff") | role_bit("lecturer")
    b[0, visits, 0] = role_bit("volunteer")
    b[1, visits, 1] = MONEY
    b[1, lectures, 1] = role_bit("staff")
    s = binding_shares(b)
    assert s["money"] == 2 / 4 and s["hands"] == 2 / 4
    assert set(s["by_activity"]) == set(NAMES)
    assert s["by_activity"]["youth_lectures"] == {
        "money": 1 / 4, "hands": 2 / 4,
        "by_role": {"staff": 2 / 4, "officer": 0.0, "volunteer": 0.0, "lecturer": 1 / 4}}
    assert s["by_activity"]["visits"] == {
        "money": 1 / 4, "hands": 1 / 4, "by_role": {"staff": 0.0, "officer": 0.0, "volunteer": 1 / 4, "lecturer": 0.0}}
    assert s["by_activity"]["insurance"] == {"money": 0.0, "hands": 0.0, "by_role": dict.fromkeys(ROLES, 0.0)}
    empty = binding_shares(np.zeros((0, len(NAMES), 2), dtype=np.int8))
    assert empty["money"] == empty["hands"] == 0.0


# ---------------------------------------------------------------- the summary of a real run

COVERAGE_KEYS = {"youth_education", "family_health", "policy_awareness", "special_visited",
                 "special_insured", "special_contact_person", "special_three_full",
                 "nursing_subsidy_met", "hardship_assisted", "elderly_visited"}
REPORTED_KEYS = {"youth_lectures", "youth_lecture_beneficiaries", "family_health_events",
                 "family_health_participants", "policy_events", "policy_event_viewers", "person_visits",
                 "insured_special_households", "nursing_subsidy_people", "hospitalised_special_people",
                 "hardship_households_helped", "elderly_households_visited", "livestream_viewers",
                 "web_reached_families"}
EQUITY_KEYS = {"county_coverage_min", "county_coverage_max", "county_coverage_cv", "county_coverage_gini"}
CHANNELS = {*COUNTY_CHANNELS, *PROVINCE_CHANNELS, "stipends"}


def test_summary_has_every_key(baseline_run):
    s = summary(baseline_run)
    assert set(s) == {"coverage", "coverage_counts", "reported", "provenance", "spend_yuan", "money_yuan", "cost",
                      "execution_rate", "execution_rate_all", "families_reached", "cost_per_family_reached_yuan",
                      "equity", "binding", "hands", "posts", "volunteers"}
    assert set(s["coverage"]) == set(s["coverage_counts"]) == COVERAGE_KEYS == set(COVERAGE)
    for k, c in s["coverage_counts"].items():
        assert set(c) == {"reached", "eligible"}, k
    assert set(s["reported"]) == REPORTED_KEYS
    assert set(s["spend_yuan"]) == set(s["money_yuan"]) == {"total", *CHANNELS}
    assert set(s["cost"]) == {"by_pot", "by_use", "total_yuan"}
    assert set(s["cost"]["by_pot"]) == {"association", "raised", "personnel"}
    assert {"staff_posts", "officer_stipends", "visits", "youth_lectures", "insurance"} <= set(s["cost"]["by_use"])
    assert set(s["equity"]) == {"youth_education", "special_visited"}
    for name in ("youth_education", "special_visited"):
        assert set(s["equity"][name]) == EQUITY_KEYS
    assert set(s["binding"]) == {"money", "hands", "by_activity"}
    assert set(s["binding"]["by_activity"]) == set(NAMES) == set(ACTIVITIES)
    for act, v in s["binding"]["by_activity"].items():
        assert set(v) == {"money", "hands", "by_role"} and set(v["by_role"]) == set(ROLES), act
    assert set(s["hands"]) == set(ROLES)
    for r, h in s["hands"].items():
        assert set(h) == {"available_hours", "used_hours", "used_share", "by_activity"}, r
        assert set(h["by_activity"]) <= set(NAMES), r
    assert set(s["posts"]) == {"prefecture", "county", "township", "total"}
    assert set(s["volunteers"]) == {"start", "end", "recruited", "left", "lecturers_end", "stipend_yuan_per_month",
                                    "stipend_pot", "stipend_paid_share"}


def test_provenance_of_every_indicator():
    """Every coverage indicator and every reported figure but a few says where it comes from."""
    assert {k for k in PROVENANCE if k.startswith("coverage.")} == {f"coverage.{k}" for k in COVERAGE_KEYS}
    assert {k.split(".", 1)[1] for k in PROVENANCE if k.startswith("reported.")} <= REPORTED_KEYS
    for k, (label, why) in PROVENANCE.items():
        assert label in ("input", "calibrated", "predicted") and why, k


def test_summary_values_follow_the_model_arrays(baseline_run):
    m = baseline_run
    s = summary(m)
    cm = m.cm
    rep = s["reported"]
    assert rep["youth_lectures"] == cm["youth_lectures"].sum()
    assert rep["youth_lecture_beneficiaries"] == pytest.approx(cm["youth_beneficiaries"].sum())
    assert rep["family_health_events"] == cm["family_health_events"].sum()
    assert rep["person_visits"] == pytest.approx(cm["person_visits"].sum())
    assert rep["nursing_subsidy_people"] == pytest.approx(cm["subsidised"].sum())
    assert rep["hospitalised_special_people"] == pytest.approx(cm["hospitalised"].sum())
    assert rep["livestream_viewers"] == pytest.approx(m.province_month["livestream_viewers"].sum())
    assert rep["web_reached_families"] == pytest.approx(m.province_month["web_reached"].sum())
    W = m.W
    sp, h = m.idx_special, m.idx_hardship
    assert rep["insured_special_households"] == pytest.approx(m.state["insured"][sp].sum() * W)
    helped = (m.state["livelihood_helped"][h] | m.state["visited"][h]).sum() * W
    assert rep["hardship_households_helped"] == pytest.approx(helped)
    assert rep["elderly_households_visited"] == pytest.approx(m.state["visited"][m.idx_elderly].sum() * W)

    cov = s["coverage"]
    assert cov["youth_education"] == pytest.approx(m.state["youth_reached"][m.idx_youth].mean())
    assert cov["family_health"] == pytest.approx(m.state["health_reached"].mean())
    assert cov["policy_awareness"] == pytest.approx(m.aware["policy"].mean())
    assert cov["special_visited"] == pytest.approx(m.state["visited"][sp].mean())
    assert cov["elderly_visited"] == pytest.approx(m.state["visited"][m.idx_elderly].mean())
    three = m.state["contact"] & m.state["green_channel"] & m.state["family_doctor"]
    assert cov["special_three_full"] == pytest.approx(three[sp].mean())
    assert cov["nursing_subsidy_met"] == pytest.approx(cm["subsidised"].sum() / cm["hospitalised"].sum())
    for k, v in cov.items():
        assert 0.0 <= v <= 1.0
        c = s["coverage_counts"][k]
        if k != "nursing_subsidy_met":
            assert c["reached"] / c["eligible"] == pytest.approx(v), k
    assert s["coverage_counts"]["special_visited"]["eligible"] == pytest.approx(len(sp) * W)

    spend = s["spend_yuan"]
    assert spend["total"] == pytest.approx(sum(v for k, v in spend.items() if k != "total"))
    for ch in CHANNELS:
        assert spend[ch] == pytest.approx(m.spent_year[ch].sum())
        assert s["money_yuan"][ch] == pytest.approx(m.money_year[ch].sum())
    # county spend recorded month by month adds up to the county channels' spend (stipends included)
    assert cm["spend_yuan"].sum() == pytest.approx(sum(spend[ch] for ch in (*COUNTY_CHANNELS, "stipends")))
    project = ("insurance", "nursing_subsidy", "livelihood")
    money = {ch: m.money_year[ch].sum() for ch in project}
    assert s["execution_rate"] == pytest.approx(sum(spend[c] for c in project) / sum(money.values()))
    assert 0 < s["execution_rate"] <= 1 + 1e-9
    assert s["execution_rate_all"] == pytest.approx(spend["total"] / s["money_yuan"]["total"])

    # cost: the ledger, by pot and use; cost per family reached is on the total cost
    cost = s["cost"]
    assert cost["by_pot"] == m.ledger.by_pot() and cost["by_use"] == m.ledger.by_use()
    assert cost["total_yuan"] == pytest.approx(sum(cost["by_pot"].values()))
    assert cost["by_pot"]["raised"] == pytest.approx(spend["visits"])
    assert cost["by_pot"]["association"] + cost["by_pot"]["raised"] == pytest.approx(spend["total"])
    st_ = m.cfg.staffing
    assert cost["by_use"]["staff_posts"] == pytest.approx(s["posts"]["total"] * st_.post_cost_yuan_per_year)
    assert cost["by_use"]["officer_stipends"] == pytest.approx(m.v.n * st_.officer_stipend_yuan_per_year)
    assert s["cost_per_family_reached_yuan"] == pytest.approx(cost["total_yuan"] / s["families_reached"])
    assert s["posts"]["total"] == pytest.approx(sum(m.posts.values()))

    for name in ("youth_education", "special_visited"):
        c = m.county_coverage(name)
        e = s["equity"][name]
        assert e["county_coverage_min"] == c.min() and e["county_coverage_max"] == c.max()
        assert e["county_coverage_gini"] == pytest.approx(gini(c))
        assert e["county_coverage_cv"] == pytest.approx(cv(c))

    b = m.binding
    assert s["binding"]["money"] == pytest.approx(((b & MONEY) > 0).any(axis=1).mean())
    assert s["binding"]["hands"] == pytest.approx(((b & HANDS) > 0).any(axis=1).mean())
    assert 0 <= s["binding"]["money"] <= 1 and 0 <= s["binding"]["hands"] <= 1
    for i, act in enumerate(NAMES):
        v = s["binding"]["by_activity"][act]
        assert v["hands"] == pytest.approx(((b[:, i] & HANDS) > 0).mean()), act
        for r in ROLES:
            assert v["by_role"][r] == pytest.approx(((b[:, i] & role_bit(r)) > 0).mean()), (act, r)

    for i, r in enumerate(ROLES):
        hd = s["hands"][r]
        assert hd["available_hours"] == pytest.approx(m.hours_available[:, i].sum())
        assert hd["used_hours"] == pytest.approx(m.hours_used[:, :, i].sum())
        assert hd["used_hours"] == pytest.approx(m.hours_used_c[:, i].sum())
        assert sum(hd["by_activity"].values()) == pytest.approx(hd["used_hours"])

    vol = s["volunteers"]
    assert vol["start"] == round(m.cfg.staffing.volunteers_per_village * m.v.n)
    assert vol["end"] == vol["start"] + vol["recruited"] - vol["left"] == m.volunteers.n_active
    assert vol["recruited"] == len(m.volunteers.uid) - vol["start"]
    assert vol["lecturers_end"] == (m.trained & m.volunteers.active).sum()


def test_county_coverage_weighted_mean_is_the_province_coverage(baseline_run):
    m = baseline_run
    s = summary(m)
    for name, idx in (("youth_education", m.idx_youth), ("special_visited", m.idx_special),
                      ("hardship_assisted", m.idx_hardship)):
        c = m.county_coverage(name)
        d = m._count_idx_by_county(idx)
        assert ((c >= 0) & (c <= 1)).all()
        assert (c[d == 0] == 0).all()
        assert (c * d).sum() / d.sum() == pytest.approx(s["coverage"][name])
    c = m.county_coverage("family_health")
    assert (c * m.n_v_c).sum() / m.n_v_c.sum() == pytest.approx(s["coverage"]["family_health"])


def test_family_indicator_rejects_unknown_names(baseline_run):
    with pytest.raises(KeyError, match="special_visited"):
        family_indicator(baseline_run, "special_visits")


# ---------------------------------------------------------------- hand-set states


def test_coverage_on_a_hand_set_state():
    """Set the tiny province's state by hand and read the coverage (weight 1, exact)."""
    p = tiny_province()
    m = OutreachModel(run_config(months=12, scale=1.0, activities={"elderly_difficulty_share": 1.0}), p)
    m.allocate()
    f = p.families
    sp, h, y = np.flatnonzero(f.special), np.flatnonzero(f.hardship), np.flatnonzero(f.n_youth > 0)
    e = np.flatnonzero((f.n_elderly > 0) & ~f.special & ~f.hardship)  # elderly, in difficulty (share 1)
    assert (len(sp), len(h), len(y), len(e)) == (7, 11, 14, 6)
    np.testing.assert_array_equal(m.idx_elderly, e)
    for k in m.state:
        if k != "eligible_visit":
            m.state[k][:] = False
    for t in m.aware:
        m.aware[t][:] = False
    m.state["visited"][sp[:3]] = True
    m.state["visited"][h[:2]] = True
    m.state["visited"][e[[0, 4]]] = True
    old_special = sp[(f.n_elderly[sp] > 0)]  # special families with elderly members: not in e
    assert len(old_special) > 0
    m.state["visited"][old_special] = True
    m.state["livelihood_helped"][h[1:5]] = True  # h[1] both visited and helped: counted once
    m.state["youth_reached"][y[:7]] = True
    m.state["youth_reached"][np.flatnonzero(f.n_youth == 0)[:5]] = True  # not in the denominator
    m.state["health_reached"][:10] = True
    m.aware["policy"][:25] = True
    m.state["insured"][sp[:6]] = True
    m.state["contact"][sp[:4]] = True
    m.state["green_channel"][sp[1:7]] = True
    m.state["family_doctor"][sp[[1, 3, 5]]] = True
    m.month = 12
    m.cm["hospitalised"][:] = 0
    m.cm["subsidised"][:] = 0
    m.cm["hospitalised"][3, 0], m.cm["subsidised"][3, 0] = 4, 3
    special_visited = np.union1d(sp[:3], old_special)
    s = summary(m)
    assert s["coverage"] == {
        "youth_education": 7 / 14, "family_health": 10 / 50, "policy_awareness": 25 / 50,
        "special_visited": len(special_visited) / 7, "special_insured": 6 / 7, "special_contact_person": 4 / 7,
        "special_three_full": 2 / 7,  # sp[1] and sp[3]
        "nursing_subsidy_met": 3 / 4, "hardship_assisted": 5 / 11,
        "elderly_visited": 2 / 6,  # special and hardship families with elderly members do not count
    }
    assert s["coverage_counts"]["elderly_visited"] == {"reached": 2.0, "eligible": 6.0}
    assert s["coverage_counts"]["youth_education"] == {"reached": 7.0, "eligible": 14.0}
    assert s["coverage_counts"]["nursing_subsidy_met"] == {"reached": 3.0, "eligible": 4.0}
    rep = s["reported"]
    assert rep["hardship_households_helped"] == 5
    assert rep["insured_special_households"] == 6
    assert rep["elderly_households_visited"] == 2
    np.testing.assert_array_equal(m.county_counts("elderly_visited")[1],
                                  np.bincount(m.v_county[f.village[e]], minlength=3))
    # nothing hospitalised: the subsidy need is met
    m.cm["hospitalised"][:] = 0
    m.cm["subsidised"][:] = 0
    assert summary(m)["coverage"]["nursing_subsidy_met"] == 1.0


def test_summary_counts_only_the_last_year():
    p = tiny_province()
    m = OutreachModel(run_config(months=24, scale=1.0), p)
    m.allocate()
    m.month = 14
    m.cm["youth_lectures"][:] = 1.0  # 3 counties, every month
    m.province_month["livestream_viewers"][:] = 10.0
    m.hours_available[:] = 5.0
    m.hours_used[:] = 0.0
    m.hours_used[2, NAMES.index("visits"), 1] = 4.0  # year 1: not counted
    m.hours_used[13, NAMES.index("visits"), 1] = 1.0
    m.binding[:] = 0
    m.binding[12, NAMES.index("visits"), 1] = MONEY
    m.binding[13, NAMES.index("visits"), 2] = MONEY | role_bit("staff")
    m.binding[13, NAMES.index("youth_lectures"), 0] = role_bit("lecturer")
    m.binding[2, NAMES.index("visits"), :] = role_bit("staff")  # year 1: not counted
    s = summary(m)
    assert s["reported"]["youth_lectures"] == 2 * 3
    assert s["reported"]["livestream_viewers"] == 20.0
    assert s["binding"]["money"] == pytest.approx(2 / 6)  # 2 county-months of 6
    assert s["binding"]["hands"] == pytest.approx(2 / 6)
    assert s["binding"]["by_activity"]["visits"]["by_role"]["staff"] == pytest.approx(1 / 6)
    assert s["binding"]["by_activity"]["youth_lectures"]["by_role"]["lecturer"] == pytest.approx(1 / 6)
    officer = s["hands"]["officer"]
    assert officer["available_hours"] == 10.0 and officer["used_hours"] == 1.0 and officer["used_share"] == 0.1
    assert officer["by_activity"] == {"visits": 1.0}
    assert s["hands"]["staff"]["by_activity"] == {}


def test_family_indicators_cover_the_coverage_table():
    assert set(FAMILY_INDICATORS) | {"nursing_subsidy_met"} == COVERAGE_KEYS
