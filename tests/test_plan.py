"""A year's money and plan (sim/plan.py): money by channel and county under each policy, the
pots (association budgets, raised funds, personnel), the stipends' commitment, the province's
indivisible livestreams before divisible web publicity, and each county's planned units in
priority order.

Every test builds its own config on the tiny province (weight 1), so the values are exact and
do not move with the calibrated defaults.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sim import plan
from sim.activities import MONEY, NAMES, role_bit
from sim.errors import ConfigError
from sim.metrics import summary
from sim.model import OutreachModel

pytest.register_assert_rewrite("model_fixtures")  # before importing it: it is also a plugin
from model_fixtures import run_config, tiny_province  # noqa: E402

pytest_plugins = ("model_fixtures",)

TINY_FUNDING = dict(
    policy="per_capita", multiplier=2.0, raised_funds_multiplier=1.0, extra_outreach_yuan=0.0,
    county_budget_yuan=1000.0, prefecture_budget_yuan=290.0, outreach_share=0.5, online_shift=0.2,
    county_min_yuan_per_resident=0.0, livelihood_funds_yuan=100.0, raised_visit_funds_yuan=50.0,
    insurance_funds_yuan=30.0, nursing_subsidy_funds_yuan=20.0, provincial_budget_yuan=1000.0,
    provincial_outreach_share=0.1, share_youth_lectures=0.40, share_family_health=0.35,
    share_policy_events=0.15, share_volunteers=0.10)
"""Every funding key, set explicitly."""
TINY_ACTIVITIES = dict(livestream_cost_yuan=60.0, livestream_months=(5, 9, 12), livestream_topics=("health",) * 3,
                       p_view_livestream=(0.5, 0.5, 0.5), elderly_difficulty_share=0.0)
TINY_STAFFING = dict(volunteers_per_village=3, volunteer_stipend_yuan_per_month=0.0,
                     volunteer_stipend_pot="personnel", p_volunteer_leave_month=0.0, p_volunteer_recruit_month=0.0)

# Counts of the tiny province per county (checked in test_tiny_counts).
YOUTH = np.array([2.0, 3.0, 9.0])
FAMILIES = np.array([4.0, 14.0, 32.0])
ELIGIBLE = np.array([2.0, 6.0, 10.0])  # special or hardship (no elderly family in difficulty)
HARDSHIP = np.array([1.0, 4.0, 6.0])
SPECIAL = np.array([1.0, 2.0, 4.0])
VOLUNTEERS = np.array([3.0, 9.0, 18.0])  # 3 in each of 1, 3 and 6 villages
PREF_BUDGET = np.array([200.0, 380.0])  # the 2021 ramp (1.0 M, 1.9 M) scaled to 290 x 2


def _model(funding=None, staffing=None, activities=None, months=1):
    cfg = run_config(months=months, scale=1.0, funding={**TINY_FUNDING, **(funding or {})},
                     staffing={**TINY_STAFFING, **(staffing or {})},
                     activities={**TINY_ACTIVITIES, **(activities or {})})
    return OutreachModel(cfg, tiny_province())


def _allocated(**groups):
    m = _model(**groups)
    m.allocate()
    return m


def test_tiny_counts():
    m = _model()
    np.testing.assert_array_equal(m.youth_members_c, YOUTH)
    np.testing.assert_array_equal(m.families_c, FAMILIES)
    np.testing.assert_array_equal(m.eligible_c, ELIGIBLE)
    np.testing.assert_array_equal(m.hardship_c, HARDSHIP)
    np.testing.assert_array_equal(m.special_c, SPECIAL)
    np.testing.assert_array_equal(np.bincount(m.v_county[m.volunteers.village], minlength=3), VOLUNTEERS)
    m.allocate()
    np.testing.assert_allclose(m.prefecture_budget_yuan, PREF_BUDGET)


def _from_prefectures(share: float, w: np.ndarray) -> np.ndarray:
    """A channel's share of the prefecture budgets, to counties by the channel's weights within
    the prefecture (prefecture 0: counties 0 and 1; prefecture 1: county 2)."""
    return share * np.array([PREF_BUDGET[0] * w[0] / (w[0] + w[1]), PREF_BUDGET[0] * w[1] / (w[0] + w[1]),
                             PREF_BUDGET[1]])


# ---------------------------------------------------------------- allocation by channel


def test_allocate_per_capita_by_hand():
    m = _allocated()
    # weights: population 1000, 3000, 6000 -> 0.1, 0.3, 0.6; county budgets 0.1/0.3/0.6 * 1000 * 2
    np.testing.assert_allclose(m.county_budget_yuan, [200, 600, 1200])
    # prefecture money to counties by weight within the prefecture: 50, 150 | 380
    outreach = (np.array([200, 600, 1200]) + np.array([50, 150, 380])) * 0.5
    np.testing.assert_allclose(outreach, [125, 375, 790])
    expected = {
        "youth_lectures": [40, 120, 252.8],  # outreach * 0.40 * (1 - 0.2)
        "family_health_events": [35, 105, 221.2],  # * 0.35 * 0.8
        "policy_events": [15, 45, 94.8],  # * 0.15 * 0.8
        "volunteers": [12.5, 37.5, 79],  # * 0.10
        "stipends": [0, 0, 0],  # paid by the personnel budget
        "online": [22.5, 67.5, 142.2],  # * 0.90 * 0.2
        "livelihood": [20, 60, 120],  # population weights * 100 * 2
        "visits": [5, 15, 30],  # population weights * 50: raised funds, not scaled by funding.multiplier
        "insurance": [60], "nursing_subsidy": [40],
        "livestreams": [180],  # 1000 * 0.1 * 2 = 200 buys 3 whole streams at 60
        "province_web": [20],  # the rest
    }
    assert set(m.money_year) == set(expected) == {*plan.COUNTY_CHANNELS, *plan.PROVINCE_CHANNELS, "stipends"}
    for ch, v in expected.items():
        np.testing.assert_allclose(m.money_year[ch], v, rtol=1e-12, atol=1e-12, err_msg=ch)
        assert (m.spent_year[ch] == 0).all() and m.spent_year[ch].shape == m.money_year[ch].shape
    assert m.streams_funded == 3
    # every yuan of county and prefecture outreach money goes to some channel
    county_total = sum(m.money_year[ch].sum() for ch in ("youth_lectures", "family_health_events",
                                                        "policy_events", "volunteers", "online", "stipends"))
    assert county_total == pytest.approx((1000 + 290) * 2 * 0.5)
    np.testing.assert_allclose(m.online_topic_share, np.array([0.15, 0.35, 0.40]) / 0.9)


def test_allocate_as_reported_by_hand():
    m = _allocated(funding={"policy": "as_reported"})
    pattern = np.array([1.05e6, 1.35e6, 1.8e6])  # ramp 1.05-1.8 M over populations 1000, 3000, 6000
    np.testing.assert_allclose(m.county_pattern, pattern)
    w = pattern / pattern.sum()
    np.testing.assert_allclose(m.county_budget_yuan, w * 2000)
    np.testing.assert_allclose(m.money_year["youth_lectures"],
                               (0.4 * w * 2000 + _from_prefectures(0.4, w)) * 0.5 * 0.8)
    # earmarked pots go by their natural target: hardship households, visit-eligible families
    np.testing.assert_allclose(m.money_year["livelihood"], HARDSHIP / HARDSHIP.sum() * 200)
    np.testing.assert_allclose(m.money_year["visits"], ELIGIBLE / ELIGIBLE.sum() * 50)


def test_allocate_need_based_splits_each_channel_by_its_own_target_group():
    m = _allocated(funding={"policy": "need_based"})
    groups = {"youth_lectures": (0.40, YOUTH), "family_health_events": (0.35, FAMILIES),
              "policy_events": (0.15, FAMILIES), "volunteers": (0.10, ELIGIBLE)}
    county = {ch: share * w / w.sum() * 2000 for ch, (share, w) in groups.items()}
    np.testing.assert_allclose(m.county_budget_yuan, sum(county.values()))
    outreach = {ch: (county[ch] + _from_prefectures(share, w)) * 0.5 for ch, (share, w) in groups.items()}
    for ch in ("youth_lectures", "family_health_events", "policy_events"):
        np.testing.assert_allclose(m.money_year[ch], outreach[ch] * 0.8, err_msg=ch)
    np.testing.assert_allclose(m.money_year["volunteers"], outreach["volunteers"])
    np.testing.assert_allclose(m.money_year["online"], 0.2 * sum(outreach[ch] for ch in (
        "youth_lectures", "family_health_events", "policy_events")))
    np.testing.assert_allclose(m.money_year["livelihood"], HARDSHIP / HARDSHIP.sum() * 200)
    np.testing.assert_allclose(m.money_year["visits"], ELIGIBLE / ELIGIBLE.sum() * 50)
    # the youth money goes by youth members (2, 3, 9), not by special + hardship families (2, 6, 10):
    # county 2 holds 9/14 of the youth and 10/18 of the families in need
    youth_county = m.money_year["youth_lectures"][2] - _from_prefectures(0.4, YOUTH)[2] * 0.4
    assert youth_county == pytest.approx(0.4 * 2000 * 9 / 14 * 0.4)
    assert youth_county != pytest.approx(0.4 * 2000 * 10 / 18 * 0.4)


def test_allocate_equal():
    m = _allocated(funding={"policy": "equal"})
    np.testing.assert_allclose(m.county_budget_yuan, [2000 / 3] * 3)
    np.testing.assert_allclose(m.money_year["visits"], [50 / 3] * 3)
    np.testing.assert_allclose(m.money_year["livelihood"], [200 / 3] * 3)


def test_allocate_county_floor_per_resident():
    m = _allocated(funding={"county_min_yuan_per_resident": 0.15})  # 150, 450, 900 < 200, 600, 1200
    np.testing.assert_allclose(m.county_budget_yuan, [200, 600, 1200])
    m = _allocated(funding={"county_min_yuan_per_resident": 0.25})  # 250, 750, 1500: the floor binds
    np.testing.assert_allclose(m.county_budget_yuan, [250, 750, 1500])
    np.testing.assert_allclose(m.money_year["volunteers"], (np.array([250, 750, 1500])
                                                            + [50, 150, 380]) * 0.5 * 0.1)
    # with no budget at all the floor alone is the money, by the channel shares
    m = _allocated(funding={"county_min_yuan_per_resident": 0.25, "multiplier": 0.0})
    np.testing.assert_allclose(m.county_budget_yuan, [250, 750, 1500])
    np.testing.assert_allclose(m.money_year["volunteers"], np.array([250, 750, 1500]) * 0.5 * 0.1)


def test_allocation_with_no_outreach_money():
    m = _model(funding={"multiplier": 0.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        m.allocate()
    assert np.isfinite(m.online_topic_share).all()
    for ch, v in m.money_year.items():
        assert np.isfinite(v).all(), ch
        if ch != "visits":
            assert (v == 0).all(), ch


# ---------------------------------------------------------------- pots


def test_raised_funds_have_their_own_lever():
    """The raised visit funds are not association money: funding.multiplier leaves them alone,
    funding.raised_funds_multiplier scales them (and nothing else)."""
    base = _allocated()
    for k in (0.0, 0.5, 3.0):
        m = _allocated(funding={"multiplier": k})
        np.testing.assert_allclose(m.money_year["visits"], [5, 15, 30])
        np.testing.assert_allclose(m.money_year["livelihood"], np.array([10, 30, 60]) * k)
        np.testing.assert_allclose(m.money_year["insurance"], [30 * k])
    m = _allocated(funding={"raised_funds_multiplier": 3.0})
    np.testing.assert_allclose(m.money_year["visits"], [15, 45, 90])
    for ch in m.money_year:
        if ch != "visits":
            np.testing.assert_array_equal(m.money_year[ch], base.money_year[ch], err_msg=ch)


PROVINCE_2021 = dict(provincial_budget_yuan=57.88e6, provincial_outreach_share=0.09)
STREAMS_2021 = dict(livestream_cost_yuan=1.5e6, livestream_months=(5, 9, 12), livestream_topics=("health",) * 3)


@pytest.mark.parametrize("k", [0.997, 0.99])
def test_a_small_cut_keeps_every_livestream_and_shrinks_web_publicity(k):
    """Provincial outreach money 57.88 M x 0.09 = 5.2092 M: three streams of 1.5 M and 0.7092 M of
    web publicity. A cut of 0.3 % (or 1 %) falls on the web publicity alone."""
    base = _allocated(funding={**PROVINCE_2021, "multiplier": 1.0}, activities=STREAMS_2021)
    cut = _allocated(funding={**PROVINCE_2021, "multiplier": k}, activities=STREAMS_2021)
    assert base.streams_funded == cut.streams_funded == 3
    np.testing.assert_array_equal(cut.money_year["livestreams"], [4.5e6])
    assert base.money_year["province_web"][0] == pytest.approx(709_200.0, rel=1e-12)
    assert cut.money_year["province_web"][0] == pytest.approx(5.2092e6 * k - 4.5e6, rel=1e-12)
    assert (base.money_year["province_web"][0] - cut.money_year["province_web"][0]
            == pytest.approx(5.2092e6 * (1 - k), rel=1e-9))


def test_a_small_cut_runs_every_livestream_over_the_year():
    m = _model(funding={**PROVINCE_2021, "multiplier": 0.997}, activities=STREAMS_2021, months=12).run()
    assert m.province_month["livestreams"].sum() == 3
    assert m.spent_year["livestreams"][0] == 4.5e6
    assert m.spent_year["province_web"][0] == pytest.approx(5.2092e6 * 0.997 - 4.5e6, rel=1e-12)
    assert not m.binding[:, NAMES.index("livestreams")].any()
    assert m.ledger.by_use()["province_web"] == pytest.approx(5.2092e6 * 0.997 - 4.5e6, rel=1e-12)


def test_a_cut_below_three_streams_drops_the_last_stream_and_records_money_binding():
    # 5.2092 M x 0.85 = 4.42782 M: two whole streams (3 M), the rest (1.42782 M) to web publicity
    m = _model(funding={**PROVINCE_2021, "multiplier": 0.85}, activities=STREAMS_2021, months=12).run()
    assert m.streams_funded == 2
    np.testing.assert_array_equal(m.money_year["livestreams"], [3.0e6])
    assert m.money_year["province_web"][0] == pytest.approx(5.2092e6 * 0.85 - 3.0e6, rel=1e-12)
    assert m.province_month["livestreams"].tolist() == [0] * 4 + [1] + [0] * 3 + [1] + [0] * 3
    b = m.binding[:, NAMES.index("livestreams")]
    assert (b[11] == MONEY).all() and not b[:11].any()  # December's stream was not paid for


# ---------------------------------------------------------------- stipends


def test_association_stipends_are_taken_first_from_each_county_s_outreach_money():
    base = _allocated()
    m = _allocated(staffing={"volunteer_stipend_pot": "association", "volunteer_stipend_yuan_per_month": 1.0})
    due = VOLUNTEERS * 12  # 36, 108, 216
    np.testing.assert_allclose(m.money_year["stipends"], due)
    outreach = np.array([125.0, 375.0, 790.0])
    rest = 1 - due / outreach
    for ch in ("youth_lectures", "family_health_events", "policy_events", "volunteers", "online"):
        np.testing.assert_allclose(m.money_year[ch], base.money_year[ch] * rest, rtol=1e-12, err_msg=ch)
    county = ("youth_lectures", "family_health_events", "policy_events", "volunteers", "online", "stipends")
    np.testing.assert_allclose(sum(m.money_year[ch] for ch in county), outreach)
    for ch in ("livelihood", "visits", "insurance", "nursing_subsidy", "livestreams", "province_web"):
        np.testing.assert_array_equal(m.money_year[ch], base.money_year[ch], err_msg=ch)
    # the personnel budget paying instead leaves the association's money alone
    p = _allocated(staffing={"volunteer_stipend_pot": "personnel", "volunteer_stipend_yuan_per_month": 1000.0})
    for ch in base.money_year:
        np.testing.assert_array_equal(p.money_year[ch], base.money_year[ch], err_msg=ch)


def test_a_stipend_the_association_cannot_pay_is_a_config_error():
    m = _model(staffing={"volunteer_stipend_pot": "association", "volunteer_stipend_yuan_per_month": 3.5})
    with pytest.raises(ConfigError) as e:
        m.allocate()
    assert e.value.key == "staffing.volunteer_stipend_yuan_per_month"
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("staffing.volunteer_stipend_yuan_per_month=3.5 is not allowed: ")
    # county 0 holds 125 yuan and owes 3 x 3.5 x 12 = 126; county 1 375 < 378; county 2 790 >= 756
    assert "Test County 0 holds 125 yuan" in msg and "126 yuan of stipends due (2 counties short)" in msg
    assert "staffing.volunteer_stipend_pot=personnel" in msg
    # ... and it surfaces from the first step
    with pytest.raises(ConfigError, match="staffing.volunteer_stipend_yuan_per_month"):
        _model(staffing={"volunteer_stipend_pot": "association", "volunteer_stipend_yuan_per_month": 3.5}).step()


POSTS = dict(prefecture_staff=8, county_staff=4, township_staff_share=1.0, township_staff_min=0,
             posts_multiplier=1.0, post_cost_yuan_per_year=100_000.0, officers_per_village=3,
             officer_stipend_yuan_per_year=1400.0)
"""33 paid posts (2 x 8 prefecture, 3 x 4 county, 5 township) and 10 village associations' officers."""


def test_stipends_paid_by_the_personnel_budget_are_booked_in_full():
    m = _model(staffing={**POSTS, "volunteer_stipend_pot": "personnel", "volunteer_stipend_yuan_per_month": 50.0},
               months=12).run()
    assert m.posts == {"prefecture": 16.0, "county": 12.0, "township": 5.0}
    by_use = m.ledger.by_use()
    assert by_use["volunteer_stipends"] == 30 * 50 * 12
    assert by_use["staff_posts"] == 33 * 100_000
    assert by_use["officer_stipends"] == pytest.approx(10 * 1400, rel=1e-12)
    assert m.ledger.by_pot()["personnel"] == pytest.approx(18_000 + 3_300_000 + 14_000, rel=1e-12)
    assert m.ledger.year[("personnel", "volunteer_stipends")] == 18_000
    cost = summary(m)["cost"]
    assert cost["by_pot"]["personnel"] == pytest.approx(3_332_000, rel=1e-12)
    assert cost["by_use"]["volunteer_stipends"] == 18_000
    assert ("association", "volunteer_stipends") not in m.ledger.year
    np.testing.assert_array_equal(m.spent_year["stipends"], 0)
    assert m.stipend_paid_share_c.tolist() == [1.0, 1.0, 1.0]


def test_stipends_paid_by_the_association_are_spent_from_its_pot():
    m = _model(staffing={**POSTS, "volunteer_stipend_pot": "association", "volunteer_stipend_yuan_per_month": 1.0},
               months=12).run()
    np.testing.assert_allclose(m.spent_year["stipends"], VOLUNTEERS * 12)
    assert m.ledger.year[("association", "volunteer_stipends")] == pytest.approx(360.0)
    assert ("personnel", "volunteer_stipends") not in m.ledger.year
    assert m.ledger.by_pot()["personnel"] == pytest.approx(3_300_000 + 14_000, rel=1e-12)
    # county spend counts the stipends
    county = (*plan.COUNTY_CHANNELS, "stipends")
    np.testing.assert_allclose(m.cm["spend_yuan"].sum(axis=0), sum(m.spent_year[ch] for ch in county))


# ---------------------------------------------------------------- the year's plan

AMPLE = dict(county_budget_yuan=1e9, prefecture_budget_yuan=1e9, online_shift=0.0)
ONLY_COUNTY_STAFF = dict(prefecture_staff=0, county_staff=1, township_staff_share=0.0, township_staff_min=0,
                         posts_multiplier=1.0, staff_hours_per_month=100.0, staff_outreach_share=0.5,
                         extra_staff_hours_per_month=0.0, officers_per_village=0, volunteers_per_village=0,
                         lecturer_share=0.0, lecturer_target_share=0.0)
"""50 professional hours a month in each county (600 a year) and no other hands."""
LECTURE_HOURS = dict(youth_lecture_organiser_hours=2.0, youth_lecture_lead_hours=3.0, youth_lecture_helper_hours=1.0,
                     youth_lecture_organiser_roles=("staff",), youth_lecture_lead_roles=("lecturer", "staff"),
                     youth_lecture_helper_roles=("officer", "volunteer", "lecturer", "staff"),
                     policy_event_staff_hours=16.0, policy_event_helper_hours=8.0,
                     family_health_event_staff_hours=16.0, family_health_event_helper_hours=40.0,
                     youth_lecture_cost_yuan=1.0, policy_event_cost_yuan=1.0, family_health_event_cost_yuan=1.0,
                     n_family_health_sites=10)
"""6, 24 and 56 professional hours a lecture, a policy event and a family health event."""


def _plan(funding=None, staffing=None, activities=None):
    m = _model(funding={**AMPLE, **(funding or {})}, staffing={**ONLY_COUNTY_STAFF, **(staffing or {})},
               activities={**LECTURE_HOURS, **(activities or {})})
    m.step()  # January: money, then the plan
    return m


def test_plan_with_ample_money_and_hands_is_the_target():
    m = _plan(staffing={"county_staff": 100},
              activities={"youth_lecture_target_share": 0.5, "youth_per_lecture": 0.25,
                          "family_health_events_per_site_year": 3.0, "policy_events_per_county_year": 4.5})
    np.testing.assert_array_equal(m.sites_c, [1, 3, 6])  # a site in every village
    np.testing.assert_array_equal(m.target_year["youth_lectures"], YOUTH * 0.5 / 0.25)  # 4, 6, 18
    np.testing.assert_array_equal(m.target_year["family_health_events"], [3, 9, 18])
    np.testing.assert_array_equal(m.target_year["policy_events"], [4, 4, 4])  # whole events
    for name in plan.PLANNED:
        assert not m.plan_bound[name].any(), name
    assert set(m.done_year) == {*plan.PLANNED, "livelihood"}


def test_plan_limited_by_money_and_its_binding_in_the_activity_s_months():
    # youth lecture money per county (per capita, shares as above): 40, 120, 252.8 yuan at 50 a lecture
    m = _model(funding={k: TINY_FUNDING[k] for k in ("county_budget_yuan", "prefecture_budget_yuan",
                                                     "online_shift")},
               staffing={**ONLY_COUNTY_STAFF, "county_staff": 100},
               activities={**LECTURE_HOURS, "youth_lecture_cost_yuan": 50.0, "youth_lecture_target_share": 1.0,
                           "youth_per_lecture": 0.25, "lecture_school_months": (2,)}, months=2)
    m.step()
    np.testing.assert_allclose(m.money_year["youth_lectures"], [40, 120, 252.8])
    np.testing.assert_array_equal(m.target_year["youth_lectures"], [0, 2, 5])  # targets 8, 12, 36
    assert m.plan_bound["youth_lectures"].tolist() == [MONEY] * 3
    lectures = NAMES.index("youth_lectures")
    assert m.binding[0, lectures].tolist() == [0, 0, 0]  # no lectures in January: nothing bound
    m.step()
    # February runs the whole plan: the month itself is short of nothing, but the plan was of money
    np.testing.assert_array_equal(m.cm["youth_lectures"][1], [0, 2, 5])
    assert m.binding[1, lectures].tolist() == [MONEY] * 3


def test_plan_limited_by_hands_in_priority_order():
    """600 professional hours a year per county: youth lectures (6 hours each) take theirs first,
    policy events (24) what is left, family health events (56) the rest."""
    m = _plan(activities={"youth_lecture_target_share": 0.25, "youth_per_lecture": 0.01,
                          "policy_events_per_county_year": 10.0, "family_health_events_per_site_year": 1.0})
    np.testing.assert_allclose(m.prof_hours, [50.0, 50.0, 50.0])
    # lectures: targets 50, 75, 225; hands allow 100
    np.testing.assert_array_equal(m.target_year["youth_lectures"], [50, 75, 100])
    # policy events: 300, 150 and 0 hours left -> 12.5, 6.25, 0 events; target 10
    np.testing.assert_array_equal(m.target_year["policy_events"], [10, 6, 0])
    # family health events: 60, 6, 0 hours left -> 1, 0, 0; targets 1, 3, 6 (one a site)
    np.testing.assert_array_equal(m.target_year["family_health_events"], [1, 0, 0])
    every_role = sum(role_bit(r) for r in ("staff", "officer", "volunteer", "lecturer"))
    # with staff the only hands, the tightest set of slots is all of them: every role's bit
    assert m.plan_bound["youth_lectures"].tolist() == [0, 0, every_role]
    # ... and with no hours left at all, the first slot found short: the professional one
    assert m.plan_bound["policy_events"].tolist() == [0, every_role, role_bit("staff")]
    assert m.plan_bound["family_health_events"].tolist() == [0, every_role, role_bit("staff")]
    # the plan used the whole year's hours of county 2, none of them twice
    used = {name: m.target_year[name] * h for name, h in (("youth_lectures", 6), ("policy_events", 24),
                                                          ("family_health_events", 56))}
    np.testing.assert_array_equal(sum(used.values()), [600 - 60 + 56, 600 - 6, 600])
