"""The monthly outreach model (sim/model.py): capacity limits, allocation, invariants,
zero money and zero staff, determinism, common random numbers, a minimally different world,
relabelling villages, multi-year runs and the thin agent views.

Hand-built tiny provinces (weight 1) give exact values; the real province at scale 0.005
gives the invariants and the couplings at realistic size.
"""

from __future__ import annotations

import dataclasses
import warnings

import mesa
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.agents import CountyAssociation, PrefectureAssociation, ProvincialAssociation
from sim.allocation import county_pattern, policy_weights
from sim.config import POLICIES
from sim.metrics import ACTIVITIES, FAMILY_INDICATORS, summary
from sim.model import (
    COUNTY_CHANNELS,
    MONEY,
    NONE,
    PROVINCE_CHANNELS,
    STAFF,
    OutreachModel,
    _capacity,
)

pytest.register_assert_rewrite("model_fixtures")  # before importing it: it is also a plugin
from model_fixtures import (  # noqa: E402
    AMPLE_MONEY,
    TINY_COUNTY_POP,
    TINY_COUNTY_TOWNSHIPS,
    TINY_PREF_POP,
    TINY_REMOTENESS,
    TINY_TOWNSHIP_COUNTY,
    TINY_VILLAGE_TOWNSHIP,
    ZERO_STAFF,
    deterministic_config,
    differences,
    make_admin,
    make_province,
    permute_villages,
    run_config,
    snapshot,
    tiny_families,
    tiny_province,
)

pytest_plugins = ("model_fixtures",)

NO_MONEY_WARNING = "ignore:invalid value encountered:RuntimeWarning"
"""allocate() warns when there is no outreach money (see test_allocation_with_no_outreach_money)."""

SEASON_OF = {"youth_lectures": "youth_lectures", "family_health_events": "family_health_events",
             "policy_events": "policy_events", "volunteers": "even", "online": "even",
             "livelihood": "even", "visits": "visits"}
"""The release schedule of each county channel's money."""

# ---------------------------------------------------------------- _capacity


def _cap(demand, money, cost, hours, unit_hours):
    units, bound = _capacity(np.asarray(demand, float), np.asarray(money, float), cost,
                             np.asarray(hours, float), unit_hours)
    return units.tolist(), np.asarray(bound).tolist()


def test_capacity_demand_bound():
    assert _cap([5.0], [1000.0], 10.0, [100.0], 1.0) == ([5.0], [NONE])


def test_capacity_money_bound():
    assert _cap([10.0], [55.0], 10.0, [100.0], 1.0) == ([5.5], [MONEY])


def test_capacity_staff_bound():
    assert _cap([10.0], [1000.0], 10.0, [12.0], 4.0) == ([3.0], [STAFF])


def test_capacity_money_and_staff_bound_alike():
    assert _cap([10.0], [40.0], 10.0, [8.0], 2.0) == ([4.0], [MONEY | STAFF])


def test_capacity_zero_money_gives_zero_units():
    assert _cap([3.0, 0.0], [0.0, 0.0], 10.0, [100.0, 100.0], 1.0) == ([0.0, 0.0], [MONEY, NONE])


def test_capacity_zero_hours_gives_zero_units():
    assert _cap([3.0], [1000.0], 10.0, [0.0], 1.0) == ([0.0], [STAFF])


def test_capacity_negative_inputs_and_free_units():
    # negative demand is nothing asked; negative money or hours allow nothing
    assert _cap([-2.0], [100.0], 10.0, [10.0], 1.0) == ([0.0], [NONE])
    assert _cap([2.0], [-5.0], 10.0, [10.0], 1.0) == ([0.0], [MONEY])
    assert _cap([2.0], [100.0], 10.0, [-1.0], 1.0) == ([0.0], [STAFF])
    # no unit cost: money never binds; no unit hours: staff never binds
    assert _cap([7.0], [0.0], 0.0, [3.0], 1.0) == ([3.0], [STAFF])
    assert _cap([7.0], [20.0], 10.0, [0.0], 0.0) == ([2.0], [MONEY])
    assert _cap([7.0], [0.0], 0.0, [0.0], 0.0) == ([7.0], [NONE])


def test_capacity_vectorized():
    units, bound = _cap([5, 10, 10, 10, 0], [1000, 50, 1000, 40, 0], 10.0, [100, 100, 3, 4, 0], 1.0)
    assert units == [5, 5, 3, 4, 0]
    assert bound == [NONE, MONEY, STAFF, MONEY | STAFF, NONE]


# ---------------------------------------------------------------- allocation on the tiny province

TINY_FUNDING = dict(policy="per_capita", county_budget_yuan=1000.0, prefecture_budget_yuan=290.0,
                    multiplier=2.0, outreach_share=0.5, online_shift=0.2, livelihood_funds_yuan=100.0,
                    raised_visit_funds_yuan=50.0, insurance_funds_yuan=30.0,
                    nursing_subsidy_funds_yuan=20.0, provincial_budget_yuan=1000.0,
                    provincial_outreach_share=0.1)


def test_allocate_per_capita_by_hand():
    m = OutreachModel(run_config(scale=1.0, funding=TINY_FUNDING), tiny_province())
    m.allocate()
    # weights: population 1000, 3000, 6000 -> 0.1, 0.3, 0.6
    # county budgets 0.1/0.3/0.6 * 1000 * 2; prefecture budgets (ramp 1.0 M and 1.9 M) 200, 380
    np.testing.assert_allclose(m.county_budget_yuan, [200, 600, 1200])
    np.testing.assert_allclose(m.prefecture_budget_yuan, [200, 380])
    # prefecture money to counties by weight within the prefecture: 50, 150 | 380
    outreach = (np.array([200, 600, 1200]) + np.array([50, 150, 380])) * 0.5
    np.testing.assert_allclose(outreach, [125, 375, 790])
    expected = {
        "youth_lectures": [40, 120, 252.8],  # outreach * 0.40 * (1 - 0.2)
        "family_health_events": [35, 105, 221.2],  # * 0.35 * 0.8
        "policy_events": [15, 45, 94.8],  # * 0.15 * 0.8
        "volunteers": [12.5, 37.5, 79],  # * 0.10
        "online": [22.5, 67.5, 142.2],  # * 0.90 * 0.2
        "livelihood": [20, 60, 120],  # population weights * 100 * 2
        "visits": [10, 30, 60],  # population weights * 50 * 2
        "insurance": [60], "nursing_subsidy": [40], "livestreams": [200],
    }
    assert set(m.money_year) == set(expected) == set(COUNTY_CHANNELS) | set(PROVINCE_CHANNELS)
    for ch, v in expected.items():
        np.testing.assert_allclose(m.money_year[ch], v, rtol=1e-12, err_msg=ch)
        assert (m.spent_year[ch] == 0).all()
    # every yuan of county and prefecture outreach money goes to some channel
    county_total = sum(m.money_year[ch].sum() for ch in ("youth_lectures", "family_health_events",
                                                        "policy_events", "volunteers", "online"))
    assert county_total == pytest.approx((1000 + 290) * 2 * 0.5)
    np.testing.assert_allclose(m.online_topic_share, np.array([0.15, 0.35, 0.40]) / 0.9)


def _tiny_counts(p):
    f = p.families
    county = p.villages.county[f.village].astype(int)
    special = np.bincount(county, weights=f.special, minlength=3)
    hardship = np.bincount(county, weights=f.hardship, minlength=3)
    eligible = np.bincount(county, weights=f.special | f.hardship, minlength=3)
    return special, hardship, eligible


def test_allocate_as_reported_and_need_based_by_hand():
    p = tiny_province()
    special, hardship, eligible = _tiny_counts(p)
    assert special.tolist() == [1, 2, 4] and hardship.tolist() == [1, 4, 6]
    act = {"elderly_difficulty_share": 0.0}
    m = OutreachModel(run_config(scale=1.0, funding=dict(TINY_FUNDING, policy="as_reported"),
                                 activities=act), p)
    m.allocate()
    pattern = np.array([1.05e6, 1.35e6, 1.8e6])  # ramp 1.05-1.8 M over populations 1000, 3000, 6000
    np.testing.assert_allclose(m.county_pattern, pattern)
    np.testing.assert_allclose(m.county_budget_yuan, pattern / pattern.sum() * 2000)
    # earmarked pots go by their natural target: hardship households, visit-eligible families
    np.testing.assert_allclose(m.money_year["livelihood"], hardship / hardship.sum() * 200)
    np.testing.assert_allclose(m.money_year["visits"], eligible / eligible.sum() * 100)

    m = OutreachModel(run_config(scale=1.0, funding=dict(TINY_FUNDING, policy="need_based"),
                                 activities=act), p)
    m.allocate()
    need = special + hardship  # 2, 6, 10
    for ch, total in (("livelihood", 200), ("visits", 100)):
        np.testing.assert_allclose(m.money_year[ch], need / need.sum() * total)
    np.testing.assert_allclose(m.county_budget_yuan, need / need.sum() * 2000)

    m = OutreachModel(run_config(scale=1.0, funding=dict(TINY_FUNDING, policy="equal")), p)
    m.allocate()
    np.testing.assert_allclose(m.county_budget_yuan, [2000 / 3] * 3)
    np.testing.assert_allclose(m.money_year["visits"], [100 / 3] * 3)


def test_allocate_county_floor_per_resident():
    p = tiny_province()
    fu = dict(TINY_FUNDING, county_min_yuan_per_resident=0.15)  # 150, 450, 900 < 200, 600, 1200
    m = OutreachModel(run_config(scale=1.0, funding=fu), p)
    m.allocate()
    np.testing.assert_allclose(m.county_budget_yuan, [200, 600, 1200])
    fu = dict(TINY_FUNDING, county_min_yuan_per_resident=0.25)  # 250, 750, 1500: the floor binds
    m = OutreachModel(run_config(scale=1.0, funding=fu), p)
    m.allocate()
    np.testing.assert_allclose(m.county_budget_yuan, [250, 750, 1500])
    np.testing.assert_allclose(m.money_year["volunteers"], (np.array([250, 750, 1500])
                                                            + [50, 150, 380]) * 0.5 * 0.1)


def test_targets_of_the_year():
    p = tiny_province()
    act = {"youth_lecture_target_share": 0.5, "youth_per_lecture": 2.0,
           "family_health_events_per_site_year": 3.0, "policy_events_per_county_year": 4.0}
    m = OutreachModel(run_config(scale=1.0, activities=act), p)
    m.allocate()
    f = p.families
    youth = np.bincount(p.villages.county[f.village], weights=f.n_youth, minlength=3)
    np.testing.assert_allclose(m.target_year["youth_lectures"], youth * 0.5 / 2.0)
    np.testing.assert_allclose(m.sites_c, [1, 3, 6])  # a site in every village
    np.testing.assert_allclose(m.target_year["family_health_events"], [3, 9, 18])
    np.testing.assert_allclose(m.target_year["policy_events"], [4, 4, 4])


# ---------------------------------------------------------------- invariants


def _check_month(m) -> None:
    """Everything that must hold after every month."""
    tol = 1e-6
    moy = (m.month - 1) % 12 + 1
    for ch, money in m.money_year.items():
        spent = m.spent_year[ch]
        assert spent.shape == money.shape, ch
        assert (spent >= -tol).all(), ch
        assert (spent <= money * (1 + 1e-9) + tol).all(), (ch, spent, money)
    for ch, season in SEASON_OF.items():
        released = m.money_year[ch] * m.cum_season[m.season_key(season, m.month - 1)][moy - 1]
        assert (m.spent_year[ch] <= released * (1 + 1e-9) + tol).all(), ch
    # county spend month by month adds up to the county channels' spend this year
    year = slice(12 * ((m.month - 1) // 12), m.month)
    assert m.cm["spend_yuan"][year].sum(axis=0) == pytest.approx(
        sum(m.spent_year[ch] for ch in COUNTY_CHANNELS), rel=1e-9, abs=1e-6)
    # professional and village hours are never overdrawn
    assert (m.hours_left >= -1e-6).all()
    assert (m.hours_used_v <= m.hours_avail_v + 1e-6).all()
    # counts are non-negative and no family is counted twice in a month
    t = m.month - 1
    cm = {k: v[t] for k, v in m.cm.items()}
    for k, v in cm.items():
        assert (v >= 0).all(), k
    assert ((m.province_month["livestream_viewers"] >= 0) & (m.province_month["livestreams"] >= 0)).all()
    W = m.W
    eps = 1e-6 * max(W, 1)
    assert (cm["visits"] <= m.eligible_c + eps).all()
    persons_elig = m._count_idx_by_county(m.idx_eligible, weights=m.f.size[m.idx_eligible].astype(float))
    assert (cm["person_visits"] <= persons_elig + eps).all()
    assert (cm["youth_beneficiaries"] <= m.youth_members_c + eps).all()
    assert (cm["insured_new"] <= m.special_c + eps).all()
    assert (cm["subsidised"] <= cm["hospitalised"] + eps).all()
    assert (m.cm["livelihood_helped"][year].sum(axis=0) <= m.hardship_c + eps).all()
    assert (cm["online_reached"] <= m.digital_c + eps).all()
    assert (cm["family_health_participants"]
            <= m.families_c * m.cfg.activities.persons_per_participating_family + eps).all()
    assert np.isin(m.binding[t], [NONE, MONEY, STAFF, MONEY | STAFF]).all()
    assert (cm["volunteers_active"].sum() == m.volunteers.n_active)


def _check_summary(m) -> None:
    s = summary(m)
    for k, v in s["coverage"].items():
        assert 0.0 <= v <= 1.0, k
    for k, v in s["reported"].items():
        assert v >= 0, k
    W = m.W
    assert s["reported"]["hardship_households_helped"] <= len(m.idx_hardship) * W * (1 + 1e-12)
    assert s["reported"]["insured_special_households"] <= len(m.idx_special) * W * (1 + 1e-12)
    for name in FAMILY_INDICATORS:
        c = m.county_coverage(name)
        assert ((c >= 0) & (c <= 1 + 1e-12)).all(), name
    assert 0 <= s["execution_rate"] <= 1 + 1e-9
    assert 0 <= s["execution_rate_all"] <= 1 + 1e-9
    assert s["volunteers"]["end"] == s["volunteers"]["start"] + s["volunteers"]["recruited"] - \
        s["volunteers"]["left"]


def _run_checked(m) -> OutreachModel:
    while m.month < m.cfg.months:
        m.step()
        _check_month(m)
    _check_summary(m)
    return m


FUNDING = dict(multiplier=st.floats(0, 2), policy=st.sampled_from(POLICIES),
               online_shift=st.floats(0, 1), raised_visit_funds_yuan=st.floats(0, 5e8),
               county_min_yuan_per_resident=st.sampled_from([0.0, 0.0, 2.0]))
STAFFING = dict(county_staff=st.floats(0, 8), prefecture_staff=st.floats(0, 10),
                township_staff_share=st.floats(0, 1), officers_per_village=st.floats(0, 4),
                volunteers_per_village=st.floats(0, 6), volunteer_stipend_yuan_per_month=st.floats(0, 300))


@pytest.mark.filterwarnings(NO_MONEY_WARNING)
@given(seed=st.integers(0, 10**6), months=st.integers(1, 3), funding=st.fixed_dictionaries(FUNDING),
       staffing=st.fixed_dictionaries(STAFFING), announce=st.integers(1, 3),
       school=st.sampled_from([(1, 2, 3), (3, 4, 5, 6, 9, 10, 11, 12)]))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_invariants_on_the_real_province(small_province, seed, months, funding, staffing, announce, school):
    cfg = run_config(months=months, seed=seed, funding=funding, staffing=staffing,
                     activities={"lecture_school_months": school, "livestream_months": (1, 2, 3)},
                     diffusion={"policy_announce_month": announce})
    _run_checked(OutreachModel(cfg, small_province))


@pytest.mark.filterwarnings(NO_MONEY_WARNING)
@given(seed=st.integers(0, 10**6), funding=st.fixed_dictionaries(FUNDING),
       staffing=st.fixed_dictionaries(STAFFING), network=st.sampled_from(["geo", "well_mixed", "isolated"]))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_invariants_on_the_tiny_province_over_a_year(seed, funding, staffing, network):
    cfg = run_config(months=12, seed=seed, scale=1.0, funding=funding, staffing=staffing,
                     activities={"youth_per_lecture": 1.0, "participants_per_event": 5.0,
                                 "onsite_viewers_per_event": 5.0, "online_viewers_per_event": 10.0,
                                 "livestream_cost_yuan": 10.0})
    _run_checked(OutreachModel(cfg, tiny_province(network)))


def test_baseline_run_satisfies_the_invariants(small_province):
    _run_checked(OutreachModel(run_config(months=12), small_province))


# ---------------------------------------------------------------- zero money, zero staff

NEEDS_MONEY = ("youth_lectures", "youth_beneficiaries", "family_health_events", "family_health_participants",
               "policy_events", "visits", "person_visits", "subsidised", "insured_new",
               "livelihood_helped", "online_reached", "spend_yuan")
NEEDS_HOURS = ("youth_lectures", "youth_beneficiaries", "family_health_events", "family_health_participants",
               "policy_events", "visits", "person_visits", "subsidised", "insured_new", "livelihood_helped")


def _assert_nothing_paid(m) -> None:
    for k in NEEDS_MONEY:
        assert (m.cm[k] == 0).all(), k
    assert (m.province_month["livestreams"] == 0).all()
    assert (m.province_month["livestream_viewers"] == 0).all()
    for k in ("youth_reached", "health_reached", "visited", "livelihood_helped", "insured"):
        assert not m.state[k].any(), k
    s = summary(m)
    for k in ("youth_lectures", "youth_lecture_beneficiaries", "family_health_events",
              "family_health_participants", "policy_events", "person_visits", "insured_special_households",
              "nursing_subsidy_people", "hardship_households_helped", "livestream_viewers"):
        assert s["reported"][k] == 0, k
    assert s["spend_yuan"]["total"] == 0
    assert all(v == 0 for v in s["spend_yuan"].values())
    assert s["execution_rate"] == 0
    assert s["cost_per_family_reached_yuan"] is None
    for k in ("youth_education", "family_health", "special_visited", "special_insured",
              "hardship_assisted"):
        assert s["coverage"][k] == 0, k
    # demand went unmet for lack of money, and it is recorded
    assert s["binding"]["money"] > 0
    assert (m.binding[:, ACTIVITIES.index("visits")] & MONEY).any()
    assert m.cm["hospitalised"].sum() > 0 and s["coverage"]["nursing_subsidy_met"] == 0


def test_zero_multiplier_means_no_paid_activity(small_province):
    cfg = run_config(months=12, funding={"multiplier": 0.0, "online_shift": 0.5})
    m = OutreachModel(cfg, small_province)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # see test_allocation_with_no_outreach_money
        m.run()
    _assert_nothing_paid(m)


def test_every_pot_zero_means_no_paid_activity(small_province):
    zero = {k: 0.0 for k in ("provincial_budget_yuan", "insurance_funds_yuan", "nursing_subsidy_funds_yuan",
                             "livelihood_funds_yuan", "raised_visit_funds_yuan", "prefecture_budget_yuan",
                             "county_budget_yuan")}
    m = OutreachModel(run_config(months=12, funding=zero), small_province)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m.run()
    _assert_nothing_paid(m)


def _assert_no_hours_used(m, months: slice) -> None:
    for k in NEEDS_HOURS:
        assert (m.cm[k][months] == 0).all(), k
    for a in ("insurance", "nursing_subsidy", "livelihood", "youth_lectures", "policy_events",
              "family_health_events", "visits"):
        b = m.binding[months, ACTIVITIES.index(a)]
        assert not (b == MONEY).any(), a  # never money alone: staff binds (too)


def test_zero_staff_means_no_activity_that_needs_hours(small_province):
    cfg = run_config(months=12, funding=AMPLE_MONEY,
                     staffing=dict(ZERO_STAFF, p_volunteer_recruit_month=0.0))
    m = OutreachModel(cfg, small_province)
    green0 = m.state["green_channel"].copy()
    doctor0 = m.state["family_doctor"].copy()
    assert m.state["contact"].any()
    m.run()
    _assert_no_hours_used(m, slice(0, 12))
    assert not m.state["visited"].any() and not m.state["livelihood_helped"].any()
    # youth are reached only by the (digital) youth livestream, never by a lecture
    assert not m.state["youth_reached"][~m.f.digital].any()
    # contact persons need hours: nobody keeps or gets one, so no new registrations either
    assert not m.state["contact"].any()
    assert np.array_equal(m.state["green_channel"], green0)
    assert np.array_equal(m.state["family_doctor"], doctor0)
    assert (m.binding[:, ACTIVITIES.index("visits")] & STAFF).any()
    assert m.volunteers.n_active == 0 and m.recruited == 0
    # what needs no staff-hours still happens: livestreams and the renewal of the insurance
    assert m.province_month["livestream_viewers"].sum() > 0
    assert m.state["insured"].any()


def test_zero_staff_first_month_with_recruitment(small_province):
    cfg = run_config(months=1, funding=AMPLE_MONEY, staffing=ZERO_STAFF)
    m = OutreachModel(cfg, small_province)
    m.step()
    _assert_no_hours_used(m, slice(0, 1))
    assert not m.state["contact"].any() and not m.state["visited"].any()


# ---------------------------------------------------------------- determinism


def _run(province, **kw) -> OutreachModel:
    return OutreachModel(run_config(**kw), province).run()


def test_same_seed_same_results(small_province, baseline_run):
    m = _run(small_province, months=12)
    assert summary(m) == summary(baseline_run)
    assert differences(snapshot(m), snapshot(baseline_run)) == []
    df1 = m.datacollector.get_model_vars_dataframe()
    df2 = baseline_run.datacollector.get_model_vars_dataframe()
    assert df1.equals(df2)


def test_different_seed_different_results(small_province, baseline_run):
    m = _run(small_province, months=12, seed=2)
    diff = differences(snapshot(m), snapshot(baseline_run))
    assert "cm.person_visits" in diff and "state.visited" in diff and "aware.policy" in diff
    assert summary(m)["reported"] != summary(baseline_run)["reported"]


def test_a_run_does_not_change_the_province(small_province, model_cache_dir):
    from sim.province import build_province

    fresh = build_province(dataclasses.replace(run_config(cache_dir=model_cache_dir).population),
                           run_config().network, progress=False)
    _run(small_province, months=2, seed=9, funding={"online_shift": 0.5})
    for name, arr in fresh.families.arrays().items():
        assert np.array_equal(arr, getattr(small_province.families, name)), name
    for f in dataclasses.fields(fresh.villages):
        assert np.array_equal(getattr(fresh.villages, f.name), getattr(small_province.villages, f.name))
    assert (fresh.network != small_province.network).nnz == 0


# ---------------------------------------------------------------- common random numbers


def _monthly_snapshots(m) -> list[dict]:
    out = []
    while m.month < m.cfg.months:
        m.step()
        s = snapshot(m)
        s["province_month"] = {k: v[:m.month].copy() for k, v in m.province_month.items()}
        out.append(s)
    return out


def test_crn_december_livestream(small_province):
    """Only the December stream's audience differs: months 1-11 are identical, month 12 not."""
    a = _monthly_snapshots(OutreachModel(run_config(months=12), small_province))
    views = (0.0182, 0.0333, 0.5)
    b = _monthly_snapshots(OutreachModel(run_config(months=12, activities={"p_view_livestream": views}),
                                         small_province))
    for month in range(11):
        assert differences(a[month], b[month]) == [], f"month {month + 1}"
    diff = differences(a[11], b[11])
    assert "province_month.livestream_viewers" in diff and "aware.health" in diff
    viewers_a, viewers_b = (x[11]["province_month"]["livestream_viewers"][11] for x in (a, b))
    assert viewers_b > 5 * viewers_a


def test_crn_policy_announcement(small_province):
    """Announcing in September instead of June: months 1-5 identical, June differs."""
    a = _monthly_snapshots(OutreachModel(run_config(months=6), small_province))
    b = _monthly_snapshots(OutreachModel(run_config(months=6, diffusion={"policy_announce_month": 9}),
                                         small_province))
    for month in range(5):
        assert differences(a[month], b[month]) == [], f"month {month + 1}"
    assert not b[5]["aware"]["policy"].any()
    assert a[5]["aware"]["policy"].any()
    assert "aware.policy" in differences(a[5], b[5])


# ---------------------------------------------------------------- a minimally different world


def test_one_more_volunteer_changes_only_its_village(small_province):
    """An extra volunteer (with a great many hours) in one village, money ample and every
    eligible family due every month: after month 1 nothing differs outside that village,
    after month 2 nothing outside it and its network neighbours, in any other county
    nothing at all."""
    p = small_province
    cfg = run_config(months=2, funding=AMPLE_MONEY, activities={"visits_per_eligible_family_year": 1000.0})
    base = OutreachModel(cfg, p)
    alt = OutreachModel(cfg, p)
    elig_v = np.bincount(p.families.village[base.idx_eligible], minlength=p.villages.n)
    v = int(np.argmax(elig_v))
    assert elig_v[v] >= 3
    alt.volunteers.append(np.array([v]), 1e6, 0)
    affected = np.array([v])
    county = int(p.villages.county[v])
    others = np.arange(base.n_c) != county
    fam_v = p.families.village
    for month in (1, 2):
        base.step()
        alt.step()
        if month == 2:
            affected = np.union1d(affected, p.network[v].indices)
        outside = ~np.isin(fam_v, affected)
        for k in base.state:
            assert np.array_equal(base.state[k][outside], alt.state[k][outside]), (month, k)
        for t in base.aware:
            assert np.array_equal(base.aware[t][outside], alt.aware[t][outside]), (month, t)
        for k, arr in base.cm.items():
            assert np.array_equal(arr[:, others], alt.cm[k][:, others]), (month, k)
        assert np.array_equal(base.binding[:, :, others], alt.binding[:, :, others])
        # the volunteers of every other village are the same people, equally active
        vb, va = base.volunteers, alt.volunteers
        keep_b, keep_a = vb.village != v, va.village != v
        for name in ("uid", "active", "month_joined", "hours_per_month"):
            assert np.array_equal(getattr(vb, name)[keep_b], getattr(va, name)[keep_a]), (month, name)
        if month == 1:
            inside = fam_v == v
            assert (base.state["visited"][inside] != alt.state["visited"][inside]).any()
            assert alt.state["visited"][inside].sum() > base.state["visited"][inside].sum()


# ---------------------------------------------------------------- relabelling villages

TINY_ORDER = np.array([7, 2, 9, 0, 5, 3, 8, 1, 6, 4])


def _compare_relabelled(a, b, rows) -> None:
    """Runs ``a`` (original) and ``b`` (relabelled, family rows ``rows`` of ``a``) agree."""
    for k in a.state:
        if k == "livelihood_helped":  # chosen at random among a county's hardship families
            continue
        np.testing.assert_array_equal(a.state[k][rows], b.state[k], err_msg=k)
    for t in a.aware:
        np.testing.assert_array_equal(a.aware[t][rows], b.aware[t], err_msg=t)
    for k in a.cm:
        np.testing.assert_allclose(a.cm[k].sum(axis=0), b.cm[k].sum(axis=0), rtol=1e-9, atol=1e-9,
                                   err_msg=k)
    np.testing.assert_array_equal(a.binding, b.binding)
    sa, sb = summary(a), summary(b)
    assert sa["coverage"] == pytest.approx(sb["coverage"])
    assert sa["reported"] == pytest.approx(sb["reported"])
    assert sa["spend_yuan"] == pytest.approx(sb["spend_yuan"])


def test_relabelling_villages_changes_nothing():
    p = tiny_province()
    q, rows = permute_villages(p, TINY_ORDER)
    cfg = deterministic_config(months=3)
    a = OutreachModel(cfg, p).run()
    b = OutreachModel(cfg, q).run()
    # the deterministic setting does something worth comparing
    assert a.cm["visits"].sum() == 54 and a.cm["insured_new"].sum() == 7 and a.cm["subsidised"].sum() > 0
    assert 0 < a.aware["health"].sum() < a.f.n  # word of mouth reached some villages, not all
    assert a.province_month["livestream_viewers"].sum() > 0
    _compare_relabelled(a, b, rows)


@given(order=st.permutations(list(range(10))), network=st.sampled_from(["geo", "well_mixed", "isolated"]))
@settings(max_examples=15, deadline=None)
def test_relabelling_villages_changes_nothing_for_any_order(order, network):
    p = tiny_province(network)
    q, rows = permute_villages(p, np.array(order))
    cfg = deterministic_config(months=2)
    _compare_relabelled(OutreachModel(cfg, p).run(), OutreachModel(cfg, q).run(), rows)


def test_relabelling_check_detects_a_misaligned_network():
    """The comparison has power: relabel villages but not the network, and results differ."""
    p = tiny_province()
    q, rows = permute_villages(p, TINY_ORDER)
    wrong = dataclasses.replace(q, network=p.network)
    cfg = deterministic_config(months=3)
    a = OutreachModel(cfg, p).run()
    c = OutreachModel(cfg, wrong).run()
    assert not np.array_equal(a.aware["health"][rows], c.aware["health"])


# ---------------------------------------------------------------- multi-year runs


def test_two_year_run(small_province):
    cfg = run_config(months=24, funding={"policy": "performance"})
    m = OutreachModel(cfg, small_province)
    for _ in range(12):
        m.step()
    year1_spend = {ch: v.copy() for ch, v in m.spent_year.items()}
    assert sum(v.sum() for v in year1_spend.values()) > 0
    year1_budget = m.county_budget_yuan.copy()
    shortfall = 1 - 0.5 * (m.county_coverage("youth_education") + m.county_coverage("special_visited"))
    m.step()  # month 13: budgets reset
    np.testing.assert_allclose(m.last_shortfall, shortfall)
    w = policy_weights("performance", pattern=county_pattern(small_province.admin.counties),
                       population=m.county_population, need=m.special_c + m.hardship_c, shortfall=shortfall)
    np.testing.assert_allclose(m.county_budget_yuan, w * cfg.funding.county_budget_yuan)
    assert not np.allclose(m.county_budget_yuan, year1_budget)
    # spent_year holds only month 13 (and the insurance renewal)
    county_spent = sum(m.spent_year[ch] for ch in COUNTY_CHANNELS)
    np.testing.assert_allclose(county_spent, m.cm["spend_yuan"][12])
    assert county_spent.sum() < sum(year1_spend[ch].sum() for ch in COUNTY_CHANNELS)
    for ch in ("youth_lectures", "family_health_events", "policy_events"):
        np.testing.assert_allclose(m.done_year[ch], m.cm[ch][12])
    # yearly flags restarted: the families visited so far are month 13's
    assert m.state["visited"].sum() * m.W == pytest.approx(m.cm["visits"][12].sum())
    while m.month < 24:
        m.step()
    with pytest.raises(RuntimeError, match="24 months"):
        m.step()
    s = summary(m)
    assert s["reported"]["youth_lectures"] == m.cm["youth_lectures"][12:].sum()
    assert s["reported"]["person_visits"] == pytest.approx(m.cm["person_visits"][12:].sum())
    viewers = m.province_month["livestream_viewers"]
    assert s["reported"]["livestream_viewers"] == pytest.approx(viewers[12:].sum())
    assert s["reported"]["youth_lectures"] != m.cm["youth_lectures"].sum()
    assert s["spend_yuan"]["total"] == pytest.approx(sum(v.sum() for v in m.spent_year.values()))
    assert len(m.datacollector.get_model_vars_dataframe()) == 24
    for v in s["coverage"].values():
        assert 0 <= v <= 1


@pytest.mark.slow
def test_five_year_run(small_province):
    m = _run_checked(OutreachModel(run_config(months=60), small_province))
    assert len(m.datacollector.get_model_vars_dataframe()) == 60


# ---------------------------------------------------------------- thin views and agents


def test_village_and_family_views(baseline_run):
    m = baseline_run
    v, f = m.v, m.f
    for i in (0, 1234, v.n - 1):
        view = m.village(i)
        assert view.population == v.population[i]
        assert view.urban == bool(v.urban[i])
        assert view.county == m.province.admin.counties["name_en"].iloc[int(v.county[i])]
        assert view.active_volunteers == int((m.volunteers.active & (m.volunteers.village == i)).sum())
        assert view.families == range(int(f.village_start[i]), int(f.village_start[i + 1]))
        assert view.family_health_site == bool(m.site[i])
    assert sum(m.village(i).family_health_site for i in range(v.n)) == 1452
    for i in (0, 777, f.n - 1):
        fam = m.family(i)
        assert fam.size == f.size[i] and fam.village == f.village[i]
        assert fam.special == bool(f.special[i]) and fam.digital == bool(f.digital[i])
        assert fam.visited == bool(m.state["visited"][i]) and fam.insured == bool(m.state["insured"][i])
        assert fam.aware("policy") == bool(m.aware["policy"][i])
        assert isinstance(fam.size, int)
    with pytest.raises(AttributeError):
        m.family(0).no_such_field  # noqa: B018


def test_association_agents(baseline_run):
    m = baseline_run
    admin = m.province.admin
    assert len(m.counties) == 122 and len(m.prefectures) == 14
    assert all(isinstance(c, CountyAssociation) and isinstance(c, mesa.Agent) for c in m.counties)
    assert all(isinstance(p, PrefectureAssociation) for p in m.prefectures)
    assert isinstance(m.provincial, ProvincialAssociation)
    assert len(m.agents) == 1 + 14 + 122
    assert [c.name_zh for c in m.counties] == admin.counties["name_zh"].tolist()
    assert [c.code for c in m.counties] == admin.counties["code"].tolist()
    assert [c.prefecture for c in m.counties] == admin.counties["pref"].tolist()
    assert [p.name_en for p in m.prefectures] == admin.prefectures["name_en"].tolist()
    c = m.counties[5]
    assert set(c.money_yuan) == set(COUNTY_CHANNELS)
    assert c.money_yuan["visits"] == m.money_year["visits"][5]
    assert c.spent_yuan["youth_lectures"] == m.spent_year["youth_lectures"][5]
    assert c.budget_yuan == m.county_budget_yuan[5]
    assert c.professional_hours_per_month == m.prof_hours[5]
    assert m.prefectures[0].budget_yuan == m.prefecture_budget_yuan[0]
    assert m.prefectures[0].staff == 8
    assert sum(p.budget_yuan for p in m.prefectures) == pytest.approx(m.cfg.funding.prefecture_budget_yuan)
    assert m.provincial.budget_yuan == m.cfg.funding.provincial_budget_yuan


# ---------------------------------------------------------------- visits in expectation


def _special_villages_province(n_villages: int = 10, per_village: int = 60):
    """Two counties sharing ``n_villages`` villages, each holding ``per_village`` special families."""
    half = n_villages // 2
    admin = make_admin([2000], [0, 0], [1000, 1000], [1, 1])
    n = n_villages * per_village
    fam = {"village": np.repeat(np.arange(n_villages), per_village), "size": np.full(n, 3),
           "n_youth": np.zeros(n, int), "n_infant": np.zeros(n, int), "n_elderly": np.zeros(n, int),
           "special": np.ones(n, bool), "hardship": np.zeros(n, bool), "migrant": np.zeros(n, bool),
           "digital": np.zeros(n, bool)}
    town = [0] * half + [1] * (n_villages - half)
    return make_province(admin, township_county=[0, 1], village_township=town, families=fam,
                         remoteness=np.zeros(n_villages), network_kind="isolated")


def test_staff_limited_visits_and_health_education_in_expectation():
    """30 village hours, 2 hours a visit, no travel: 15 of 60 due families a village are
    visited in expectation; half of those get health education (its own draw)."""
    p = _special_villages_province()
    visited, educated = 0, 0
    n_seeds = 4
    for seed in range(n_seeds):
        cfg = run_config(months=1, seed=seed, scale=1.0, funding=AMPLE_MONEY,
                         staffing={"officers_per_village": 1, "officer_hours_per_month": 30,
                                   "volunteers_per_village": 0, "township_staff_share": 0.0},
                         activities={"visits_per_eligible_family_year": 1000.0,
                                     "initial_contact_share": 0.0, "p_contact_assign_month": 0.0,
                                     "family_health_events_per_site_year": 0.0})
        m = OutreachModel(cfg, p)
        m.step()
        np.testing.assert_allclose(m.hours_used_v, 30.0)
        assert (m.binding[0, ACTIVITIES.index("visits")] == STAFF).all()
        visited += m.state["visited"].sum()
        educated += (m.state["visited"] & m.state["health_reached"]).sum()
    n = 10 * 60 * n_seeds
    assert abs(visited - n * 0.25) < 4 * np.sqrt(n * 0.25 * 0.75)
    assert abs(educated / visited - 0.5) < 4 * np.sqrt(0.25 / visited)


# ---------------------------------------------------------------- bugs found (see the report)


def _tiny_with_trailing_empty_village():
    fam = tiny_families()
    fam["digital"][49] = True  # the last family of the last non-empty village
    fam["n_youth"][49] = 2
    fam["special"][49] = True
    admin = make_admin(TINY_PREF_POP, [0, 0, 1], TINY_COUNTY_POP, TINY_COUNTY_TOWNSHIPS)
    return make_province(admin, township_county=TINY_TOWNSHIP_COUNTY,
                         village_township=np.r_[TINY_VILLAGE_TOWNSHIP, 4], families=fam,
                         remoteness=np.r_[TINY_REMOTENESS, 12.0], edges=[(0, 1), (9, 10)])


def test_a_trailing_empty_village_runs():
    p = _tiny_with_trailing_empty_village()
    assert p.families.village_start[-1] == p.families.village_start[-2] == 50
    _run_checked(OutreachModel(run_config(months=2, scale=1.0), p))


def test_county_counts_with_a_trailing_empty_village():
    p = _tiny_with_trailing_empty_village()
    f = p.families
    m = OutreachModel(run_config(months=1, scale=1.0), p)
    county = p.villages.county[f.village]
    np.testing.assert_allclose(m.digital_c, np.bincount(county, weights=f.digital, minlength=3))
    np.testing.assert_allclose(m.youth_members_c, np.bincount(county, weights=f.n_youth, minlength=3))
    np.testing.assert_allclose(m.special_c, np.bincount(county, weights=f.special, minlength=3))


def test_family_health_sites_stay_in_their_county():
    # populations 1000, 8000, 1000 give 10 sites as 1, 8, 1; county 1 has a single village
    admin = make_admin([10000], [0, 0, 0], [1000, 8000, 1000], [1, 1, 1])
    fam = tiny_families(np.full(10, 3), no_eligible=())
    p = make_province(admin, township_county=[0, 1, 2], village_township=[0, 1] + [2] * 8, families=fam,
                      network_kind="isolated")
    m = OutreachModel(run_config(scale=1.0), p)
    np.testing.assert_array_equal(m.sites_c, [1, 1, 1])


def test_county_spend_with_a_single_county():
    admin = make_admin([1000], [0], [1000], [1])
    p = make_province(admin, township_county=[0], village_township=[0, 0],
                      families=tiny_families(np.array([6, 6]), no_eligible=()), edges=[(0, 1)])
    m = OutreachModel(run_config(months=1, scale=1.0), p)
    m.step()
    assert m.spent_year["insurance"].sum() > 0
    np.testing.assert_allclose(m.cm["spend_yuan"][0], sum(m.spent_year[ch] for ch in COUNTY_CHANNELS))


def test_allocation_with_no_outreach_money():
    m = OutreachModel(run_config(scale=1.0, funding={"multiplier": 0.0}), tiny_province())
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        m.allocate()
    assert np.isfinite(m.online_topic_share).all()
