"""The monthly outreach model (sim/model.py): invariants, zero money and zero staff, determinism,
common random numbers, minimally different worlds (one more volunteer, more staff hours, more
posts), relabelling villages, reach counted in persons, multi-year runs and the thin agent views.

Capacity (sim/resources.py), the activity table (sim/activities.py) and the year's money and
plan (sim/plan.py) have their own test modules. Hand-built tiny provinces (weight 1) give exact
values; the real province at scale 0.005 gives the invariants and the couplings at realistic size.
"""

from __future__ import annotations

import dataclasses
import math

import mesa
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import plan
from sim.activities import HANDS, MONEY, NAMES, ROLES, TABLE, role_bit
from sim.agents import CountyAssociation, PrefectureAssociation, ProvincialAssociation
from sim.allocation import county_pattern, policy_weights
from sim.config import POLICIES
from sim.errors import ConfigError
from sim.metrics import FAMILY_INDICATORS, summary
from sim.model import OutreachModel
from sim.resources import slot_specs
from sim.submodels.education import _online_reach

pytest.register_assert_rewrite("model_fixtures")  # before importing it: it is also a plugin
from model_fixtures import (  # noqa: E402
    AMPLE_MONEY,
    TINY_COUNTY_POP,
    TINY_COUNTY_TOWNSHIPS,
    TINY_PREF_POP,
    TINY_REMOTENESS,
    TINY_TOWNSHIP_COUNTY,
    TINY_VILLAGE_TOWNSHIP,
    ZERO_MONEY,
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

SEASON_OF = {"youth_lectures": "youth_lectures", "family_health_events": "family_health_events",
             "policy_events": "policy_events", "online": "even", "livelihood": "even", "visits": "visits",
             "province_web": "even"}
"""The release schedule of each channel's money (the volunteers channel pays the lecturers'
training from the whole year's money in January, and the support month by month)."""
COUNTY_SPEND = (*plan.COUNTY_CHANNELS, "stipends")
"""The channels whose spend is counted per county and month (``cm['spend_yuan']``)."""
ACT = {name: i for i, name in enumerate(NAMES)}
"""Row of each activity in ``model.binding`` and ``model.hours_used``."""
STAFF_BIT = role_bit("staff")


# ---------------------------------------------------------------- invariants


def _allowed_bits(m) -> np.ndarray:
    """Per activity, the binding bits it may record: MONEY where money limits it, and the bits of
    the roles its slots may use in this config."""
    out = np.zeros(len(TABLE), dtype=np.int64)
    for i, act in enumerate(TABLE):
        roles = {r for _, rs in slot_specs(act, m.cfg.activities) for r in rs}
        out[i] = sum(role_bit(ROLES[r]) for r in roles)
        if act.unit_cost_key is not None or act.channel == "visits":
            out[i] |= MONEY
    return out


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
    # the volunteers channel: the lecturers' training from the whole year's money, the support as released
    training = m.ledger.year.get(("association", "lecturer_training"), 0.0)
    released = m.money_year["volunteers"].sum() * m.cum_season["even"][moy - 1]
    assert m.spent_year["volunteers"].sum() <= training + released * (1 + 1e-9) + tol
    if m.cfg.staffing.volunteer_stipend_pot == "personnel":
        assert not m.money_year["stipends"].any() and not m.spent_year["stipends"].any()
    # county spend month by month adds up to the county channels' spend this year
    year = slice(12 * ((m.month - 1) // 12), m.month)
    assert m.cm["spend_yuan"][year].sum(axis=0) == pytest.approx(
        sum(m.spent_year[ch] for ch in COUNTY_SPEND), rel=1e-9, abs=1e-6)
    # the ledger holds this year's spend of every channel (the personnel budget on top)
    assoc_raised = sum(v for (pot, _), v in m.ledger.year.items() if pot != "personnel")
    assert assoc_raised == pytest.approx(sum(v.sum() for v in m.spent_year.values()), rel=1e-9, abs=1e-6)
    # hours are never overdrawn: professional, village, and by role and county
    t = m.month - 1
    assert (m.hours_left >= -1e-6).all()
    assert (m.hours_used_v <= m.hours_avail_v + 1e-6).all()
    avail, used = m.hours_available_c[t], m.hours_used_c[t]
    assert (used >= -1e-9).all()
    assert (used <= avail * (1 + 1e-9) + 1e-6).all(), (used - avail).max()
    np.testing.assert_allclose(m.hours_used[t].sum(axis=0), used.sum(axis=1), rtol=1e-9, atol=1e-6)
    # counts are non-negative and no family is counted twice in a month
    cm = {k: v[t] for k, v in m.cm.items()}
    for k, v in cm.items():
        assert (v >= 0).all(), k
    for k, v in m.province_month.items():
        assert (v >= 0).all(), k
    W = m.W
    eps = 1e-6 * max(W, 1)
    assert (cm["visits"] <= m.eligible_c + eps).all()
    persons_elig = m.count_by_county(m.idx_eligible, weights=m.f.size[m.idx_eligible].astype(float))
    assert (cm["person_visits"] <= persons_elig + eps).all()
    assert (cm["youth_beneficiaries"] <= m.youth_members_c + eps).all()
    assert (cm["insured_new"] <= m.special_c + eps).all()
    # claims wait for hands or money, so a month may pay more than it hospitalised, never the run
    run_ = slice(0, m.month)
    assert (m.cm["subsidised"][run_].sum(axis=0) <= m.cm["hospitalised"][run_].sum(axis=0) + eps).all()
    assert (m.claims_pending >= 0).all()
    assert m.count_by_county(m.idx_special, weights=m.claims_pending) == pytest.approx(
        m.cm["hospitalised"][run_].sum(axis=0) - m.cm["subsidised"][run_].sum(axis=0), rel=1e-9, abs=eps)
    assert (m.cm["livelihood_helped"][year].sum(axis=0) <= m.hardship_c + eps).all()
    assert (cm["online_reached"] <= m.digital_c + eps).all()
    assert (cm["family_health_participants"]
            <= m.families_c * m.cfg.activities.persons_per_participating_family + eps).all()
    # binding codes use only the defined bits, and of each activity only its own
    b = m.binding[t].astype(np.int64)
    assert ((b >= 0) & (b & ~(MONEY | HANDS) == 0)).all()
    assert (b & ~_allowed_bits(m)[:, None] == 0).all()
    assert not (b[ACT["contact_persons"]] & MONEY).any()
    np.testing.assert_array_equal(cm["money_bound"], (b & MONEY).any(axis=0))
    np.testing.assert_array_equal(cm["hands_bound"], (b & HANDS).any(axis=0))
    assert cm["volunteers_active"].sum() == m.volunteers.n_active
    assert len(m.trained) == len(m.volunteers.uid)


def _check_summary(m) -> None:
    s = summary(m)
    for k, v in s["coverage"].items():
        assert 0.0 <= v <= 1.0, k
        c = s["coverage_counts"][k]
        assert 0 <= c["reached"] <= c["eligible"] * (1 + 1e-12), k
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
    cost = s["cost"]
    assert cost["total_yuan"] == pytest.approx(sum(cost["by_pot"].values()), rel=1e-12, abs=1e-6)
    assert cost["total_yuan"] == pytest.approx(sum(cost["by_use"].values()), rel=1e-12, abs=1e-6)
    assert all(v >= 0 for v in cost["by_pot"].values())
    for r, h in s["hands"].items():
        assert 0 <= h["used_hours"] <= h["available_hours"] * (1 + 1e-9) + 1e-6, r
        assert 0 <= h["used_share"] <= 1 + 1e-9, r
    bind = s["binding"]
    assert 0 <= bind["money"] <= 1 and 0 <= bind["hands"] <= 1
    for act, v in bind["by_activity"].items():
        assert 0 <= v["money"] <= bind["money"] + 1e-12 and 0 <= v["hands"] <= bind["hands"] + 1e-12, act
        assert max(v["by_role"].values()) <= v["hands"] + 1e-12, act
    assert s["volunteers"]["end"] == s["volunteers"]["start"] + s["volunteers"]["recruited"] - \
        s["volunteers"]["left"]


def _run_checked(m) -> OutreachModel | None:
    """Run ``m`` checking every month; None when the association cannot pay the stipends asked
    (a ConfigError naming the stipend, raised in a January)."""
    while m.month < m.cfg.months:
        try:
            m.step()
        except ConfigError as e:
            st_ = m.cfg.staffing
            assert e.key == "staffing.volunteer_stipend_yuan_per_month", e
            assert st_.volunteer_stipend_pot == "association" and st_.volunteer_stipend_yuan_per_month > 0
            assert m.month_of_year == 1 and "\n" not in str(e)
            return None
        _check_month(m)
    _check_summary(m)
    return m


FUNDING = dict(multiplier=st.floats(0, 2), policy=st.sampled_from(POLICIES),
               online_shift=st.floats(0, 1), raised_visit_funds_yuan=st.floats(0, 5e8),
               raised_funds_multiplier=st.sampled_from([0.0, 1.0, 1.5]),
               county_min_yuan_per_resident=st.sampled_from([0.0, 0.0, 2.0]))
STAFFING = dict(county_staff=st.floats(0, 8), prefecture_staff=st.floats(0, 10),
                township_staff_share=st.floats(0, 1), officers_per_village=st.floats(0, 4),
                volunteers_per_village=st.floats(0, 6), volunteer_stipend_yuan_per_month=st.floats(0, 300),
                volunteer_stipend_pot=st.sampled_from(["personnel", "personnel", "association"]),
                posts_multiplier=st.sampled_from([0.0, 1.0, 1.2]), lecturer_share=st.sampled_from([0.0, 0.02, 0.3]),
                lecturer_target_share=st.sampled_from([0.0, 0.1, 0.5]),
                extra_staff_hours_per_month=st.sampled_from([0.0, 500.0]),
                extra_lecturer_hours_per_month=st.sampled_from([0.0, 500.0]))
ROLE_CHOICES = dict(youth_lecture_lead_roles=st.sampled_from([("lecturer", "staff"), ("staff",), ("lecturer",)]),
                    youth_lecture_helper_roles=st.sampled_from([("officer", "volunteer", "lecturer", "staff"),
                                                                ("volunteer",)]),
                    visit_visitor_roles=st.sampled_from([("volunteer", "officer", "lecturer", "staff"),
                                                         ("officer",)]),
                    insurance_enrol_roles=st.sampled_from([("staff", "officer"), ("officer",)]))


@given(seed=st.integers(0, 10**6), months=st.integers(1, 3), funding=st.fixed_dictionaries(FUNDING),
       staffing=st.fixed_dictionaries(STAFFING), announce=st.integers(1, 3),
       school=st.sampled_from([(1, 2, 3), (3, 4, 5, 6, 9, 10, 11, 12)]))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_invariants_on_the_real_province(small_province, seed, months, funding, staffing, announce, school):
    cfg = run_config(months=months, seed=seed, funding=funding, staffing=staffing,
                     activities={"lecture_school_months": school, "livestream_months": (1, 2, 3)},
                     diffusion={"policy_announce_month": announce})
    _run_checked(OutreachModel(cfg, small_province))


@given(seed=st.integers(0, 10**6), funding=st.fixed_dictionaries(FUNDING),
       staffing=st.fixed_dictionaries(STAFFING), roles=st.fixed_dictionaries(ROLE_CHOICES),
       network=st.sampled_from(["geo", "well_mixed", "isolated"]))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_invariants_on_the_tiny_province_over_a_year(seed, funding, staffing, roles, network):
    cfg = run_config(months=12, seed=seed, scale=1.0, funding=funding, staffing=staffing,
                     activities={"youth_per_lecture": 1.0, "participants_per_event": 5.0,
                                 "onsite_viewers_per_event": 5.0, "online_viewers_per_event": 10.0,
                                 "livestream_cost_yuan": 10.0, **roles})
    _run_checked(OutreachModel(cfg, tiny_province(network)))


@pytest.mark.parametrize("break_it", ["overspend", "early_spend", "overdrawn_hours", "undefined_bit", "foreign_bit",
                                      "contact_money"])
def test_the_invariant_checks_have_power(break_it):
    """Each invariant fails when the model's books are made wrong by hand."""
    m = OutreachModel(run_config(months=2, scale=1.0, funding={"policy": "per_capita"}), tiny_province())
    m.step()
    _check_month(m)  # as run: fine
    if break_it == "overspend":
        m.spent_year["insurance"] = m.money_year["insurance"] * 1.01 + 1
    elif break_it == "early_spend":  # youth lecture money of the year spent in January
        m.spent_year["youth_lectures"] = m.money_year["youth_lectures"].copy()
    elif break_it == "overdrawn_hours":
        m.hours_used_c[0, ROLES.index("officer"), 1] = m.hours_available_c[0, ROLES.index("officer"), 1] + 1
    elif break_it == "undefined_bit":
        m.binding[0, ACT["visits"], 0] = 32
    elif break_it == "foreign_bit":  # policy events' professional slot is staff only; no officer helpers
        m.cfg.activities.policy_event_helper_roles = ("volunteer",)
        m.binding[0, ACT["policy_events"], 0] = role_bit("officer")
    elif break_it == "contact_money":
        m.binding[0, ACT["contact_persons"], 2] = MONEY
    with pytest.raises(AssertionError):
        _check_month(m)


def test_baseline_run_satisfies_the_invariants(small_province):
    assert _run_checked(OutreachModel(run_config(months=12), small_province)) is not None


# ---------------------------------------------------------------- zero money, zero staff

NEEDS_MONEY = ("youth_lectures", "youth_beneficiaries", "family_health_events", "family_health_participants",
               "policy_events", "subsidised", "insured_new", "livelihood_helped", "online_reached",
               "lecturers_trained")
"""Counters of activities paid from the association budgets and project funds."""
RAISED = ("visits", "person_visits")
"""Counters of the visits, paid from the raised funds."""
NEEDS_HOURS = ("youth_lectures", "youth_beneficiaries", "family_health_events", "family_health_participants",
               "policy_events", "visits", "person_visits", "subsidised", "insured_new", "livelihood_helped",
               "lecturers_trained", "contact_assigned")


def _assert_no_association_money_spent(m) -> dict:
    for k in NEEDS_MONEY:
        assert (m.cm[k] == 0).all(), k
    for k in ("livestreams", "livestream_viewers", "web_reached"):
        assert (m.province_month[k] == 0).all(), k
    for k in ("youth_reached", "livelihood_helped", "insured"):
        assert not m.state[k].any(), k
    s = summary(m)
    for k in ("youth_lectures", "youth_lecture_beneficiaries", "family_health_events",
              "family_health_participants", "policy_events", "insured_special_households",
              "nursing_subsidy_people", "livestream_viewers", "web_reached_families"):
        assert s["reported"][k] == 0, k
    for ch, v in s["spend_yuan"].items():
        assert v == 0 or ch in ("visits", "total"), ch
    assert s["spend_yuan"]["total"] == s["spend_yuan"]["visits"]
    assert s["execution_rate"] == 0
    for k in ("youth_education", "special_insured"):
        assert s["coverage"][k] == 0, k
    # the association paid nothing; the personnel budget still pays the posts and officers
    assert s["cost"]["by_pot"].get("association", 0.0) == 0
    assert s["cost"]["by_pot"]["personnel"] > 0
    # demand went unmet for lack of money, and it is recorded
    assert s["binding"]["money"] > 0
    for act in ("youth_lectures", "insurance", "nursing_subsidy"):
        assert (m.binding[:, ACT[act]] & MONEY).any(), act
    assert (m.binding[:, ACT["livestreams"]] == MONEY).any()
    assert m.cm["hospitalised"].sum() > 0 and s["coverage"]["nursing_subsidy_met"] == 0
    return s


def test_zero_multiplier_means_no_association_paid_activity(small_province):
    """funding.multiplier scales the association budgets and project funds, not the raised funds:
    with it at 0 the festival visits still happen, and nothing else that needs money."""
    cfg = run_config(months=12, funding={"multiplier": 0.0, "online_shift": 0.5, "raised_funds_multiplier": 1.0,
                                         "county_min_yuan_per_resident": 0.0, "raised_visit_funds_yuan": 2.16e8})
    m = OutreachModel(cfg, small_province).run()
    s = _assert_no_association_money_spent(m)
    assert s["spend_yuan"]["visits"] > 0
    assert s["cost"]["by_pot"]["raised"] == pytest.approx(s["spend_yuan"]["visits"], rel=1e-12)
    assert m.cm["person_visits"].sum() > 0 and s["coverage"]["special_visited"] > 0


def test_every_pot_zero_means_no_paid_activity(small_province):
    zero = {k: 0.0 for k in ("provincial_budget_yuan", "insurance_funds_yuan", "nursing_subsidy_funds_yuan",
                             "livelihood_funds_yuan", "raised_visit_funds_yuan", "prefecture_budget_yuan",
                             "county_budget_yuan", "county_min_yuan_per_resident")}
    for funding in (zero, ZERO_MONEY):
        m = OutreachModel(run_config(months=12, funding=funding), small_province).run()
        s = _assert_no_association_money_spent(m)
        for k in RAISED:
            assert (m.cm[k] == 0).all(), k
        assert not m.state["visited"].any()
        assert s["spend_yuan"]["total"] == 0 and s["cost"]["by_pot"].get("raised", 0.0) == 0
        assert s["cost_per_family_reached_yuan"] is None
        for k in ("special_visited", "hardship_assisted", "elderly_visited"):
            assert s["coverage"][k] == 0, k
        assert (m.binding[:, ACT["visits"]] & MONEY).any()


def _assert_no_hours_used(m, months: slice) -> None:
    for k in NEEDS_HOURS:
        assert (m.cm[k][months] == 0).all(), k
    assert not m.hours_used_c[months].any()
    for a in ("insurance", "nursing_subsidy", "livelihood", "youth_lectures", "policy_events",
              "family_health_events", "visits"):
        b = m.binding[months, ACT[a]]
        assert not (b == MONEY).any(), a  # never money alone: hands bind (too)


def test_zero_staff_means_no_activity_that_needs_hours(small_province):
    cfg = run_config(months=12, funding=AMPLE_MONEY,
                     staffing=dict(ZERO_STAFF, p_volunteer_recruit_month=0.0))
    m = OutreachModel(cfg, small_province)
    green0 = m.state["green_channel"].copy()
    doctor0 = m.state["family_doctor"].copy()
    assert m.state["contact"].any()
    m.run()
    _assert_no_hours_used(m, slice(0, 12))
    assert not m.hours_available.any()
    assert not m.state["visited"].any() and not m.state["livelihood_helped"].any()
    # youth are reached only by the (digital) youth livestream, never by a lecture
    assert not m.state["youth_reached"][~m.f.digital].any()
    # contact persons need hours: nobody keeps or gets one, so no new registrations either
    assert not m.state["contact"].any()
    assert np.array_equal(m.state["green_channel"], green0)
    assert np.array_equal(m.state["family_doctor"], doctor0)
    assert (m.binding[:, ACT["visits"]] & HANDS).any()
    assert (m.binding[:, ACT["contact_persons"]] & HANDS).any()
    assert m.volunteers.n_active == 0 and m.recruited == 0
    # what needs no hours still happens: livestreams, web publicity, the renewal of the insurance
    assert m.province_month["livestream_viewers"].sum() > 0
    assert m.province_month["web_reached"].sum() > 0
    assert m.state["insured"].any()
    assert summary(m)["posts"]["total"] == 0


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


STREAMS = {"livestream_months": (5, 9, 12), "livestream_topics": ("health", "youth", "health")}


def test_crn_december_livestream(small_province):
    """Only the December stream's audience differs: months 1-11 are identical, month 12 not."""
    a = _monthly_snapshots(OutreachModel(run_config(months=12, activities={
        **STREAMS, "p_view_livestream": (0.0182, 0.0333, 0.0473)}), small_province))
    b = _monthly_snapshots(OutreachModel(run_config(months=12, activities={
        **STREAMS, "p_view_livestream": (0.0182, 0.0333, 0.5)}), small_province))
    for month in range(11):
        assert differences(a[month], b[month]) == [], f"month {month + 1}"
    diff = differences(a[11], b[11])
    assert "province_month.livestream_viewers" in diff and "aware.health" in diff
    assert "state.health_reached" in diff  # a family reached on the health topic counts for its coverage
    # nothing that does not depend on who watched: money, hours, binding, plans
    for k in ("spent_year", "binding", "hours_used_c", "ledger", "cm.youth_lectures", "cm.visits"):
        assert not any(d == k or d.startswith(k + ".") for d in diff), k
    viewers_a, viewers_b = (x[11]["province_month"]["livestream_viewers"][11] for x in (a, b))
    assert viewers_b > 5 * viewers_a


def test_crn_policy_announcement(small_province):
    """Announcing in September instead of June: months 1-5 identical, June differs."""
    a = _monthly_snapshots(OutreachModel(run_config(months=6, diffusion={"policy_announce_month": 6}),
                                         small_province))
    b = _monthly_snapshots(OutreachModel(run_config(months=6, diffusion={"policy_announce_month": 9}),
                                         small_province))
    for month in range(5):
        assert differences(a[month], b[month]) == [], f"month {month + 1}"
    assert not b[5]["aware"]["policy"].any()
    assert a[5]["aware"]["policy"].any()
    assert "aware.policy" in differences(a[5], b[5])


# ---------------------------------------------------------------- minimally different worlds

STAFF_ONLY_COUNTY_WORK = {
    "youth_lecture_organiser_roles": ("staff",), "youth_lecture_lead_roles": ("lecturer", "staff"),
    "youth_lecture_helper_roles": ("staff",), "policy_event_staff_roles": ("staff",),
    "policy_event_helper_roles": ("staff",), "family_health_event_staff_roles": ("staff",),
    "family_health_event_helper_roles": ("staff",), "insurance_enrol_roles": ("staff",),
    "livelihood_project_roles": ("staff",), "nursing_subsidy_claim_roles": ("staff",)}
"""County activities staffed by paid posts (and trained lecturers) only: a village's officers'
and volunteers' hours serve its own village alone."""


def _one_more_volunteer(p, activities: dict):
    """Two models on ``p``, the second with one extra (untrained) volunteer of a great many hours
    in the village with the most visit-eligible families; money ample, every eligible family due
    every month, no lecturers trained during the run."""
    cfg = run_config(months=2, funding=AMPLE_MONEY,
                     staffing={"lecturer_share": 0.02, "lecturer_target_share": 0.0,
                               "volunteer_stipend_yuan_per_month": 0.0},
                     activities={"visits_per_eligible_family_year": 1000.0, **activities})
    base = OutreachModel(cfg, p)
    alt = OutreachModel(cfg, p)
    elig_v = np.bincount(p.families.village[base.idx_eligible], minlength=p.villages.n)
    v = int(np.argmax(elig_v))
    assert elig_v[v] >= 3
    alt.volunteers.append(np.array([v]), 1e6, 0)
    alt.trained = np.append(alt.trained, False)
    return base, alt, v


def test_one_more_volunteer_changes_only_its_village(small_province):
    """After month 1 nothing differs outside the extra volunteer's village, after month 2
    nothing outside it and its network neighbours, in any other county nothing at all."""
    p = small_province
    base, alt, v = _one_more_volunteer(p, STAFF_ONLY_COUNTY_WORK)
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
        assert np.array_equal(base.hours_used_c[:, :, others], alt.hours_used_c[:, :, others])
        # the county's professional hours did exactly the same county work
        assert np.array_equal(base.hands.county_staff, alt.hands.county_staff)
        # the volunteers of every other village are the same people, equally active
        vb, va = base.volunteers, alt.volunteers
        keep_b, keep_a = vb.village != v, va.village != v
        for name in ("uid", "active", "month_joined", "hours_per_month"):
            assert np.array_equal(getattr(vb, name)[keep_b], getattr(va, name)[keep_a]), (month, name)
        if month == 1:
            inside = fam_v == v
            assert (base.state["visited"][inside] != alt.state["visited"][inside]).any()
            assert alt.state["visited"][inside].sum() > base.state["visited"][inside].sum()


def test_one_more_volunteer_helping_county_work_changes_only_its_county(small_province):
    """When county activities may use volunteers' hours (helpers), the extra hours join the
    county's pool: the villages of the county lose less to county work, but no other county
    changes in the first month."""
    p = small_province
    roles = {**STAFF_ONLY_COUNTY_WORK, "youth_lecture_helper_roles": ("officer", "volunteer", "lecturer", "staff"),
             "family_health_event_helper_roles": ("volunteer", "officer", "lecturer", "staff")}
    base, alt, v = _one_more_volunteer(p, roles)
    base.step()
    alt.step()
    county = int(p.villages.county[v])
    others = np.arange(base.n_c) != county
    outside = p.villages.county[p.families.village] != county
    for k in base.state:
        assert np.array_equal(base.state[k][outside], alt.state[k][outside]), k
    for k, arr in base.cm.items():
        assert np.array_equal(arr[:, others], alt.cm[k][:, others]), k
    assert np.array_equal(base.hours_used_c[:, :, others], alt.hours_used_c[:, :, others])
    volunteer = ROLES.index("volunteer")
    assert alt.hours_available_c[0, volunteer, county] == base.hours_available_c[0, volunteer, county] + 1e6


LECTURE_WORLD = dict(
    funding=dict(AMPLE_MONEY, policy="per_capita", multiplier=1.0, county_budget_yuan=1000.0,
                 prefecture_budget_yuan=0.0, outreach_share=1.0, online_shift=0.0, share_youth_lectures=0.4,
                 share_family_health=0.35, share_policy_events=0.15, share_volunteers=0.1),
    staffing=dict(prefecture_staff=0, county_staff=1, township_staff_share=0.0, township_staff_min=0,
                  posts_multiplier=1.0, staff_hours_per_month=100.0, staff_outreach_share=0.5,
                  officers_per_village=3, officer_hours_per_month=8.0, volunteers_per_village=0,
                  lecturer_share=0.0, lecturer_target_share=0.0, extra_staff_hours_per_month=0.0,
                  volunteer_stipend_yuan_per_month=0.0, p_volunteer_recruit_month=0.0),
    activities=dict(lecture_school_months=(1,), youth_lecture_target_share=1.0, youth_per_lecture=0.01,
                    youth_lecture_cost_yuan=10.0, youth_lecture_organiser_hours=2.0, youth_lecture_lead_hours=3.0,
                    youth_lecture_helper_hours=1.0, youth_lecture_organiser_roles=("staff",),
                    youth_lecture_lead_roles=("lecturer", "staff"),
                    youth_lecture_helper_roles=("officer", "volunteer", "lecturer", "staff"),
                    policy_events_per_county_year=0.0, family_health_events_per_site_year=0.0,
                    livelihood_target_share=0.0, visits_per_eligible_family_year=0.0,
                    initial_insured_share=1.0, p_insurance_enrol_month=0.0, p_hospital_person_month=0.0,
                    initial_contact_share=0.0, p_contact_assign_month=0.0))
"""The tiny province, one month of youth lectures (all the year's lectures in January): 50
professional hours a county (5 a lecture without trained lecturers: 10 lectures), officers as
helpers; the lecture money (1000 yuan x 0.4 by population: 40, 120, 240) buys 4, 12 and 24
lectures at 10 yuan. Nothing else needs money or hours."""


def _lecture_world(extra_staff_hours: float) -> OutreachModel:
    g = LECTURE_WORLD
    cfg = run_config(months=1, scale=1.0, funding=g["funding"],
                     staffing={**g["staffing"], "extra_staff_hours_per_month": extra_staff_hours},
                     activities=g["activities"])
    m = OutreachModel(cfg, tiny_province())
    m.step()
    return m


def test_more_staff_hours_raise_lectures_only_where_hands_bind():
    base = _lecture_world(0.0)
    alt = _lecture_world(150.0)  # 50 more hours in each county (shared by professional hours)
    np.testing.assert_allclose(base.prof_hours, [50, 50, 50])
    np.testing.assert_allclose(alt.prof_hours, [100, 100, 100])
    np.testing.assert_allclose(base.money_year["youth_lectures"], [40, 120, 240])
    # money allows 4, 12, 24; staff 10 (base) or 20 (alt)
    assert base.cm["youth_lectures"][0].tolist() == [4, 10, 10]
    assert alt.cm["youth_lectures"][0].tolist() == [4, 12, 20]
    hands = STAFF_BIT | role_bit("lecturer")  # organiser and lead: staff, or trained lecturers for the lead
    b0, b1 = base.binding[0, ACT["youth_lectures"]], alt.binding[0, ACT["youth_lectures"]]
    # the year's plan is money-bound everywhere (the target is 200, 300, 900 lectures)
    assert b0.tolist() == [MONEY, MONEY | hands, MONEY | hands]
    assert b1.tolist() == [MONEY, MONEY, MONEY | hands]
    np.testing.assert_allclose(base.spent_year["youth_lectures"], [40, 100, 100])
    np.testing.assert_allclose(alt.spent_year["youth_lectures"], [40, 120, 200])
    staff = ROLES.index("staff")
    np.testing.assert_allclose(base.hours_used_c[0, staff], [20, 50, 50])
    np.testing.assert_allclose(alt.hours_used_c[0, staff], [20, 60, 100])
    np.testing.assert_allclose(alt.hours_used_c[0, ROLES.index("officer")], [4, 12, 20])
    # county 0, where money binds, is the same in every respect
    for k in base.cm:
        assert base.cm[k][0, 0] == alt.cm[k][0, 0], k
    c0 = base.v_county[base.f.village] == 0
    for k in base.state:
        assert np.array_equal(base.state[k][c0], alt.state[k][c0]), k
    # and elsewhere only what lectures touch changed
    diff = differences(snapshot(base), snapshot(alt))
    assert set(diff) <= {"state.youth_reached", "aware.youth", "cm.youth_lectures", "cm.youth_beneficiaries",
                         "cm.spend_yuan", "cm.hands_bound", "binding", "hours_used_c",
                         "spent_year.youth_lectures", "ledger.association.youth_lectures"}, diff
    assert {"cm.youth_lectures", "spent_year.youth_lectures", "hours_used_c", "binding"} <= set(diff)
    assert alt.state["youth_reached"].sum() >= base.state["youth_reached"].sum()  # (the same uniforms)


def test_more_money_raises_lectures_only_where_money_binds():
    """The other side of the interaction: with more lecture money (and the same hands), only the
    county where money bound gives more lectures."""
    g = LECTURE_WORLD
    cfg = run_config(months=1, scale=1.0, funding={**g["funding"], "county_budget_yuan": 2000.0},
                     staffing=g["staffing"], activities=g["activities"])
    m = OutreachModel(cfg, tiny_province())
    m.step()
    assert m.cm["youth_lectures"][0].tolist() == [8, 10, 10]  # money allows 8, 24, 48
    hands = STAFF_BIT | role_bit("lecturer")
    assert m.binding[0, ACT["youth_lectures"]].tolist() == [MONEY, MONEY | hands, MONEY | hands]


def test_trained_lecturers_stand_in_for_staff():
    """The same world with one volunteer a village, all trained as peer lecturers (6 hours a
    month each: 6, 18 and 36 per county): lectures need 2 professional hours instead of 5, the
    lecturers lead (3 hours each) until their hours run out."""
    g = LECTURE_WORLD
    cfg = run_config(months=1, scale=1.0, funding=g["funding"],
                     staffing={**g["staffing"], "volunteers_per_village": 1, "volunteer_hours_per_month": 6.0,
                               "lecturer_share": 1.0, "lecturer_target_share": 1.0},
                     activities=g["activities"])
    m = OutreachModel(cfg, tiny_province())
    assert m.trained.all()
    m.step()
    # county 0: money (4); county 1: (50 + 18) / 5 = 13.6, money 12; county 2: (50 + 36) / 5 = 17.2
    assert m.cm["youth_lectures"][0].tolist() == [4, 12, 17]
    lecturer = ROLES.index("lecturer")
    np.testing.assert_allclose(m.hours_available_c[0, lecturer], [6, 18, 36])
    np.testing.assert_allclose(m.hours_used_c[0, lecturer], [6, 18, 36])  # all led by lecturers first
    np.testing.assert_allclose(m.hours_used_c[0, ROLES.index("staff")], [4 * 2 + 6, 12 * 2 + 18, 17 * 5 - 36])
    assert summary(m)["volunteers"]["lecturers_end"] == 10


def test_january_training_of_peer_lecturers():
    """Every volunteer designated (lecturer_target_share 1) and none trained: each county trains as
    many as its professional hours allow (8 hours a trainee: 50 // 8 = 6), paid from the
    volunteers channel (600 yuan each); the trainees lead lectures from then on."""
    g = LECTURE_WORLD
    cfg = run_config(months=2, scale=1.0, funding=g["funding"],
                     staffing={**g["staffing"], "volunteers_per_village": 3, "volunteer_hours_per_month": 6.0,
                               "lecturer_share": 0.0, "lecturer_target_share": 1.0,
                               "p_volunteer_leave_month": 0.0},
                     activities={**g["activities"], "lecture_school_months": (2,), "lecturer_training_cost_yuan": 1.0,
                                 "lecturer_training_trainer_hours": 8.0, "lecturer_training_trainer_roles": ("staff",),
                                 "volunteer_support_yuan_per_month": 0.0})
    m = OutreachModel(cfg, tiny_province())
    assert not m.trained.any()
    m.step()
    assert m.cm["lecturers_trained"][0].tolist() == [3, 6, 6]  # 3, 9, 18 volunteers
    trained_c = np.bincount(m.v_county[m.volunteers.village[m.trained]], minlength=3)
    assert trained_c.tolist() == [3, 6, 6]
    assert m.binding[0, ACT["lecturer_training"]].tolist() == [0, STAFF_BIT, STAFF_BIT]
    np.testing.assert_allclose(m.hours_used[0, ACT["lecturer_training"], ROLES.index("staff")], 15 * 8)
    assert m.ledger.by_use()["lecturer_training"] == 15.0
    np.testing.assert_allclose(m.spent_year["volunteers"], [3, 6, 6])  # (and no volunteer support: 0 yuan)
    # the same volunteers are chosen in any scenario: the first of each county by their uniform
    u = m.lecturer_draw()
    for c in range(3):
        rows = np.flatnonzero(m.v_county[m.volunteers.village] == c)
        chosen = rows[np.argsort(u[rows], kind="stable")][:trained_c[c]]
        np.testing.assert_array_equal(np.flatnonzero(m.trained[rows]), np.searchsorted(rows, np.sort(chosen)))
    m.step()  # February: the trained lead
    lecturer = ROLES.index("lecturer")
    np.testing.assert_allclose(m.hours_available_c[1, lecturer], [18, 36, 36])
    assert m.hours_used_c[1, lecturer].sum() > 0
    assert m.cm["lecturers_trained"][1].tolist() == [0, 0, 0]  # training is in January only


def test_extra_hours_levers_add_exactly_their_hours():
    """staffing.extra_<role>_hours_per_month adds that many hours a month (province total),
    shared in proportion to the role's own hours."""
    base_staffing = dict(LECTURE_WORLD["staffing"], volunteers_per_village=2, volunteer_hours_per_month=6.0,
                         lecturer_share=0.5, lecturer_target_share=0.5, p_volunteer_leave_month=0.0)
    extra = {"staff": 30.0, "officer": 20.0, "volunteer": 12.0, "lecturer": 9.0}
    runs = []
    for over in ({}, {f"extra_{r}_hours_per_month": h for r, h in extra.items()}):
        cfg = run_config(months=1, scale=1.0, funding=LECTURE_WORLD["funding"], staffing={**base_staffing, **over},
                         activities=LECTURE_WORLD["activities"])
        m = OutreachModel(cfg, tiny_province())
        m.step()
        runs.append(m)
    a, b = runs
    for r, h in extra.items():
        i = ROLES.index(r)
        assert b.hours_available[0, i] == pytest.approx(a.hours_available[0, i] + h, rel=1e-12), r
        # in proportion to the role's own hours, county by county
        np.testing.assert_allclose(b.hours_available_c[0, i] - a.hours_available_c[0, i],
                                   h * a.hours_available_c[0, i] / a.hours_available_c[0, i].sum(), err_msg=r)


POSTS = dict(prefecture_staff=8, county_staff=4, township_staff_share=1.0, township_staff_min=0,
             post_cost_yuan_per_year=100_000.0, officer_stipend_yuan_per_year=1400.0,
             volunteer_stipend_yuan_per_month=0.0, extra_staff_hours_per_month=0.0)
"""33 paid posts on the tiny province (2 x 8 prefecture, 3 x 4 county, 5 township)."""


def test_more_posts_cost_exactly_the_posts():
    runs = {}
    for k in (1.0, 1.5):
        cfg = run_config(months=12, scale=1.0, staffing={**POSTS, "posts_multiplier": k})
        runs[k] = OutreachModel(cfg, tiny_province()).run()
    a, b = runs[1.0], runs[1.5]
    assert a.posts == {"prefecture": 16.0, "county": 12.0, "township": 5.0}
    assert b.posts == {"prefecture": 24.0, "county": 18.0, "township": 7.5}
    sa, sb = summary(a), summary(b)
    assert sb["posts"]["total"] - sa["posts"]["total"] == 16.5
    assert sa["cost"]["by_use"]["staff_posts"] == 33 * 100_000
    assert sb["cost"]["by_pot"]["personnel"] - sa["cost"]["by_pot"]["personnel"] == pytest.approx(
        16.5 * 100_000, rel=1e-12)
    assert sb["cost"]["by_use"]["officer_stipends"] == sa["cost"]["by_use"]["officer_stipends"]
    # and the posts bring their hours
    np.testing.assert_allclose(b.prof_hours, 1.5 * a.prof_hours)
    staff = ROLES.index("staff")
    np.testing.assert_allclose(b.hours_available[0, staff], 1.5 * a.hours_available[0, staff])


# ---------------------------------------------------------------- reach


def _youth_province(n_pairs: int):
    """One county, one village (no remoteness) of ``n_pairs`` families with one youth and as many
    with four; one more county with one family."""
    admin = make_admin([2000], [0, 0], [1000, 1000], [1, 1])
    n = 2 * n_pairs + 1
    n_youth = np.r_[np.tile([1, 4], n_pairs), 0]
    fam = {"village": np.r_[np.zeros(2 * n_pairs, int), 1], "size": n_youth + 1, "n_youth": n_youth,
           "n_infant": np.zeros(n, int), "n_elderly": np.zeros(n, int), "special": np.zeros(n, bool),
           "hardship": np.zeros(n, bool), "migrant": np.zeros(n, bool), "digital": np.zeros(n, bool)}
    return make_province(admin, township_county=[0, 1], village_township=[0, 1], families=fam,
                         remoteness=np.zeros(2), network_kind="isolated")


def test_youth_lectures_reach_persons_without_size_bias():
    """Lectures reach persons: each youth attends with probability 1 - exp(-lam), lam = lectures x
    youth per lecture / youth. Beneficiaries are the persons attending (in expectation youth x
    (1 - exp(-lam)), not all the youth of every family one of whose members attended), and a
    family is reached when any of its youth attends."""
    n_pairs = 10_000
    p = _youth_province(n_pairs)
    youth = 5 * n_pairs
    lam = 0.3  # target share 0.3: 50,000 x 0.3 / 100 = 150 lectures, all in January
    cfg = run_config(months=1, scale=1.0, seed=3, funding=AMPLE_MONEY,
                     staffing={"county_staff": 100, "prefecture_staff": 0, "staff_hours_per_month": 100.0,
                               "staff_outreach_share": 1.0},
                     activities={"lecture_school_months": (1,), "youth_lecture_target_share": lam,
                                 "youth_per_lecture": 100.0, "youth_lecture_cost_yuan": 1.0,
                                 "youth_lecture_organiser_hours": 1.0, "youth_lecture_lead_hours": 1.0,
                                 "youth_lecture_helper_hours": 0.0, "policy_events_per_county_year": 0.0,
                                 "family_health_events_per_site_year": 0.0})
    m = OutreachModel(cfg, p)
    m.step()
    assert m.cm["youth_lectures"][0].tolist() == [150, 0]
    p1 = -math.expm1(-lam)
    sizes = np.array([1, 4])
    p_fam = -np.expm1(-lam * sizes)
    per_reached = sizes * p1 / p_fam  # persons attending in a reached family, in expectation
    expected = youth * p1
    sd = math.sqrt(n_pairs * (per_reached**2 * p_fam * (1 - p_fam)).sum())
    got = m.cm["youth_beneficiaries"][0, 0]
    assert abs(got - expected) < 4 * sd
    size_biased = n_pairs * (sizes * p_fam).sum()  # what counting every youth of a reached family gives
    assert size_biased - expected > 20 * sd
    # coverage: families with youth reached
    reached = m.state["youth_reached"][m.idx_youth]
    expected_families = n_pairs * p_fam.sum()
    assert abs(reached.sum() - expected_families) < 4 * math.sqrt(n_pairs * (p_fam * (1 - p_fam)).sum())


def _online_attended(m, topic: str) -> np.ndarray:
    """Families reached online on ``topic`` this month (their hazard is ``hazard_online``)."""
    parts = [np.asarray(f) for f, h in m.attended[topic] if np.all(h == m.cfg.diffusion.hazard_online)]
    return np.unique(np.concatenate(parts)) if parts else np.empty(0, np.intp)


def test_web_publicity_reaches_health_before_the_policy_is_announced():
    """The province's web publicity (what the livestreams leave) reaches families with internet
    access, each on one topic; a family reached on health counts for family-health coverage, and
    before the policy is announced the publicity is all about health."""
    over = {"funding": {"provincial_budget_yuan": 1e12, "provincial_outreach_share": 0.5},
            "activities": {"online_cost_yuan_per_family": 3.0, "livestream_months": (2, 3, 4)}}
    diffusion = {"hazard_online": 50.0, "hazard_attend": 60.0}
    m = OutreachModel(deterministic_config(months=1, diffusion={**diffusion, "policy_announce_month": 2}, **over),
                      tiny_province())
    m.step()
    dig = m.f.digital
    assert m.money_year["province_web"][0] > 1e10
    np.testing.assert_array_equal(_online_attended(m, "health"), np.flatnonzero(dig))
    assert len(_online_attended(m, "policy")) == 0 and len(_online_attended(m, "youth")) == 0
    np.testing.assert_array_equal(m.state["health_reached"] & dig, dig)  # every family online, on health
    assert m.province_month["web_reached"][0] == dig.sum()
    # announced: the publicity is about the policy or about health, one topic a family
    m = OutreachModel(deterministic_config(months=1, diffusion={**diffusion, "policy_announce_month": 1}, **over),
                      tiny_province())
    m.step()
    health, policy = _online_attended(m, "health"), _online_attended(m, "policy")
    assert len(health) > 0 and len(policy) > 0 and len(_online_attended(m, "youth")) == 0
    assert len(np.intersect1d(health, policy)) == 0
    np.testing.assert_array_equal(np.union1d(health, policy), np.flatnonzero(dig))
    assert m.state["health_reached"][health].all()
    visited = m.state["visited"]  # (visits educate on health too)
    assert not (m.state["health_reached"][policy] & ~visited[policy]).any()


def test_elderly_visited_counts_only_elderly_families_in_difficulty():
    """Visit-eligible: special, hardship, or members 60+ and in difficulty; elderly_visited's
    denominator is the last group only (neither special nor hardship)."""
    cfg = deterministic_config(months=1, activities={"elderly_difficulty_share": 1.0})
    m = OutreachModel(cfg, tiny_province())
    f = m.f
    elderly_only = (f.n_elderly > 0) & ~f.special & ~f.hardship
    np.testing.assert_array_equal(m.idx_elderly, np.flatnonzero(elderly_only))
    assert len(m.idx_elderly) == 6
    assert len(m.idx_eligible) == 18 + 6
    m.step()  # every eligible family is due and visited
    s = summary(m)
    assert s["coverage"]["elderly_visited"] == 1.0
    assert s["coverage_counts"]["elderly_visited"] == {"reached": 6.0, "eligible": 6.0}
    assert s["reported"]["elderly_households_visited"] == 6.0
    assert m.cm["visits"][0].sum() == 24
    # with the share 0 nobody is elderly-in-difficulty, and the indicator has no families
    m = OutreachModel(deterministic_config(months=1, activities={"elderly_difficulty_share": 0.0}), tiny_province())
    m.step()
    assert len(m.idx_elderly) == 0 and summary(m)["coverage"]["elderly_visited"] == 0.0
    assert m.cm["visits"][0].sum() == 18


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


@pytest.mark.parametrize("few", [0, 8])
@pytest.mark.parametrize("order", [np.arange(10), TINY_ORDER])
def test_online_reach_goes_to_each_county_s_own_families(order, few, monkeypatch):
    """Online outreach of one county reaches families with internet access of that county only,
    however the villages are numbered."""
    monkeypatch.setattr("sim.submodels.education.FEW_COUNTIES", few)  # one comparison, or county by county
    q, _ = permute_villages(tiny_province(), order)
    m = OutreachModel(run_config(months=1, scale=1.0, diffusion={"policy_announce_month": 1}), q)
    m.attended = {t: [] for t in m.aware}
    county = m.v_county[m.f.village]
    for c in range(3):
        families_c = np.zeros(3)
        families_c[c] = 1e12  # every family online in county c, none elsewhere
        got = _online_reach(m, "online", families_c, np.array([0.0, 1.0, 0.0]))
        np.testing.assert_array_equal(np.sort(got), np.flatnonzero(m.f.digital & (county == c)))


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
    # spent_year holds only month 13 (and the insurance renewal); so does the ledger
    county_spent = sum(m.spent_year[ch] for ch in COUNTY_SPEND)
    np.testing.assert_allclose(county_spent, m.cm["spend_yuan"][12])
    assert county_spent.sum() < sum(year1_spend[ch].sum() for ch in COUNTY_SPEND)
    assert m.ledger.by_use()["staff_posts"] == pytest.approx(
        sum(m.posts.values()) * cfg.staffing.post_cost_yuan_per_year / 12, rel=1e-12)
    for ch in plan.PLANNED:
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
    assert s["cost"]["total_yuan"] == pytest.approx(m.ledger.total())
    assert s["cost"]["by_use"]["staff_posts"] == pytest.approx(
        sum(m.posts.values()) * cfg.staffing.post_cost_yuan_per_year, rel=1e-12)  # the last year's
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 24
    assert df["cost_yuan_year_to_date"].iloc[-1] == pytest.approx(m.ledger.total())
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
    assert sum(m.village(i).family_health_site for i in range(v.n)) == min(m.cfg.activities.n_family_health_sites,
                                                                           v.n)
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
    assert set(c.money_yuan) == set(COUNTY_SPEND)
    assert c.money_yuan["visits"] == m.money_year["visits"][5]
    assert c.spent_yuan["youth_lectures"] == m.spent_year["youth_lectures"][5]
    assert c.budget_yuan == m.county_budget_yuan[5]
    assert c.professional_hours_per_month == m.prof_hours[5]
    assert m.prefectures[0].budget_yuan == m.prefecture_budget_yuan[0]
    assert m.prefectures[0].staff == m.cfg.staffing.prefecture_staff
    fu = m.cfg.funding
    assert sum(p.budget_yuan for p in m.prefectures) == pytest.approx(fu.prefecture_budget_yuan * fu.multiplier)
    assert m.provincial.budget_yuan == fu.provincial_budget_yuan * fu.multiplier


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


def test_hands_limited_visits_and_health_education_in_expectation():
    """30 officer hours a village, 2 hours a visit, no travel: 15 of 60 due families a village are
    visited in expectation; half of those get health education (its own draw)."""
    p = _special_villages_province()
    visited, educated = 0, 0
    n_seeds = 4
    for seed in range(n_seeds):
        cfg = run_config(months=1, seed=seed, scale=1.0, funding=AMPLE_MONEY,
                         staffing={"officers_per_village": 1, "officer_hours_per_month": 30,
                                   "volunteers_per_village": 0, "township_staff_share": 0.0,
                                   "township_staff_min": 0, "county_staff": 4, "prefecture_staff": 0,
                                   "extra_officer_hours_per_month": 0.0},
                         activities={"visits_per_eligible_family_year": 1000.0, "visit_hours": 2.0,
                                     "visit_visitor_roles": ("officer",), "contact_duty_roles": ("officer",),
                                     "insurance_enrol_roles": ("staff",), "p_visit_health_education": 0.5,
                                     "initial_contact_share": 0.0, "p_contact_assign_month": 0.0,
                                     "family_health_events_per_site_year": 0.0,
                                     "policy_events_per_county_year": 0.0})
        m = OutreachModel(cfg, p)
        m.step()
        np.testing.assert_allclose(m.hours_used_v, 30.0)
        assert (m.binding[0, ACT["visits"]] == role_bit("officer")).all()
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
    np.testing.assert_allclose(m.cm["spend_yuan"][0], sum(m.spent_year[ch] for ch in COUNTY_SPEND))


# ---------------------------------------------------------------- shortcuts that change no number


def test_poisson_inverse_is_scipy_s_bit_for_bit():
    """Recruits per village: the inverse CDF without scipy's slow ``pdtrik`` gives scipy's own
    ``poisson.ppf``, also for ``q`` at (or a rounding error either side of) a CDF value, where
    scipy's ``pdtrik`` and the least ``k`` with ``cdf(k) >= q`` may disagree."""
    from scipy.special import pdtr
    from scipy.stats import poisson

    from sim.submodels.volunteers import _poisson_ppf, _recruits_any

    rng = np.random.default_rng(11)
    # (Checked on more than 40 M inputs when written; a sample here.)
    mu = np.concatenate([rng.random(60_000) * 0.5, rng.random(60_000) * 30, [0.0, np.nan, -1.0, 1e4, np.inf]])
    q = rng.random(len(mu))
    k = rng.integers(0, 40, len(mu)).astype(float)
    cdf = pdtr(k, mu)
    qs = [q, cdf, np.nextafter(cdf, 0), np.nextafter(cdf, 1), cdf * (1 + 1e-15), cdf * (1 - 1e-9), cdf * (1 + 2e-9)]
    for q in qs:
        ok = (q > 0) & (q < 1)
        np.testing.assert_array_equal(_poisson_ppf(q[ok], mu[ok]), poisson.ppf(q[ok], mu[ok]))
    rate = np.concatenate([rng.random(100_000) * 40, [0.0, np.nan, np.inf, 1e-300, 720.0, 720.0]])
    u = np.concatenate([rng.random(100_000), [0.5, 0.5, 0.5, 0.5, 0.0, 1e-320]])
    u[:1000] = pdtr(0, rate[:1000])  # at P(0) itself (not above it)
    u[1000:2000] = np.nextafter(pdtr(0, rate[1000:2000]), 1)  # just above
    np.testing.assert_array_equal(_recruits_any(u, rate), u > pdtr(0, rate))


@pytest.mark.parametrize("min_skip", [0, 2, 4096, 10**12])
def test_drawing_through_short_gaps_draws_the_same_numbers(small_province, monkeypatch, min_skip):
    """Villages of probability 0 are skipped with ``advance`` in runs of at least ``MIN_SKIP``
    families and drawn through otherwise: any threshold chooses the same families."""
    import sim.draws
    from sim.draws import draws_below

    p = small_province
    f = p.families
    m = OutreachModel(run_config(), p)
    rng = np.random.default_rng(4)
    p_v = (rng.random(p.villages.n) * 0.3 * (rng.random(p.villages.n) < 0.5)).astype(np.float32)
    p_v[:5] = p_v[-5:] = 0.0
    p_v[1000:9000] = 0.0  # a long run of unreachable villages
    monkeypatch.setattr(sim.draws, "MIN_SKIP", min_skip)
    got = draws_below(m.draw("family_health_events"), p_v, f.village, f.village_start, village_positive=p_v > 0)
    u = m.draw("family_health_events").random(f.n, dtype=np.float32)
    np.testing.assert_array_equal(got, np.flatnonzero(u < p_v[f.village]))
    # one probability per row (no table)
    per_row = p_v[f.village]
    np.testing.assert_array_equal(draws_below(m.draw("family_health_events"), per_row, None), got)


def test_counts_by_county_at_once_are_the_village_then_county_sums(baseline_run):
    """Counts and integer weights are counted by county at once; they are the same numbers as
    the sums by village, then by county."""
    m = baseline_run
    f = m.f
    for idx in (m.idx_special, m.idx_eligible, np.flatnonzero(m.state["visited"]), np.empty(0, np.int64)):
        for weights in (None, f.size[idx], f.size[idx].astype(np.int64) * 3):
            per_v = np.bincount(f.village[idx], weights=weights, minlength=m.v.n)
            want = np.bincount(m.v_county, weights=per_v, minlength=m.n_c) * m.W
            assert m.count_by_county(idx, weights).tobytes() == want.tobytes()


def test_youth_lectures_family_by_family_are_the_table_s_numbers(small_province):
    """At small scales the lectures' reach is worked out family by family rather than as a table
    by (village, members): the same run, bit for bit."""
    cfg = run_config(months=12)
    by_family = OutreachModel(cfg, small_province)
    assert by_family.youth_by_family is not None
    by_table = OutreachModel(cfg, small_province)
    by_table.youth_by_family = None
    by_family.run()
    by_table.run()
    assert by_family.cm["youth_beneficiaries"].sum() > 0
    assert differences(snapshot(by_family), snapshot(by_table)) == []
    assert by_family.cm["youth_beneficiaries"].tobytes() == by_table.cm["youth_beneficiaries"].tobytes()


def test_online_reach_by_row_or_by_county_is_the_same(small_province, monkeypatch):
    """Online reach compares each family's uniform with its county's probability either in one
    comparison (many counties in a block) or county by county: the same families, topics and
    uniforms."""
    m = OutreachModel(run_config(diffusion={"policy_announce_month": 1}), small_province)
    families_c = np.random.default_rng(2).random(m.n_c) * m.digital_c * 0.3
    families_c[::7] = 0.0
    got = []
    for few in (0, 10**6):
        monkeypatch.setattr("sim.submodels.education.FEW_COUNTIES", few)
        m.attended = {t: [] for t in m.aware}
        reached = _online_reach(m, "online", families_c, np.array([0.2, 0.5, 0.3]))
        got.append((reached, {t: [x[0] for x in v] for t, v in m.attended.items()}))
    assert len(got[0][0]) > 1000
    np.testing.assert_array_equal(got[0][0], got[1][0])
    for t in m.aware:
        assert [x.tolist() for x in got[0][1][t]] == [x.tolist() for x in got[1][1][t]]
