"""The activity table (sim/activities.py): every row resolves to config keys, a submodel, counters
and a money channel; role sets are validated with one-line errors that name the key and the
roles allowed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim import plan
from sim.activities import (
    BY_NAME,
    HANDS,
    MONEY,
    NAMES,
    POTS,
    ROLES,
    TABLE,
    activity,
    check_roles,
    role_bit,
    slots_with_roles,
)
from sim.config import ActivitiesConfig
from sim.errors import ConfigError
from sim.model import COUNTERS, OutreachModel
from sim.resources import slot_specs
from sim.submodels import SUBMODELS

pytest.register_assert_rewrite("model_fixtures")  # before importing it: it is also a plugin
from model_fixtures import run_config, tiny_province  # noqa: E402

ACTIVITY_KEYS = {f.name for f in dataclasses.fields(ActivitiesConfig)}


def test_names_are_unique_and_in_priority_order():
    assert len(set(NAMES)) == len(NAMES) == len(TABLE)
    assert NAMES == ("insurance", "nursing_subsidy", "livelihood", "contact_persons", "lecturer_training",
                     "youth_lectures", "policy_events", "family_health_events", "online", "livestreams",
                     "province_web", "visits", "volunteer_support")
    assert BY_NAME == {a.name: a for a in TABLE}
    # the province's indivisible campaigns come before its divisible web publicity
    assert NAMES.index("livestreams") < NAMES.index("province_web")
    assert [a.name for a in TABLE if not a.divisible] == ["livestreams"]


def test_every_slot_names_keys_of_the_activities_config():
    for a, s in slots_with_roles():
        assert s.hours_key in ACTIVITY_KEYS, (a.name, s.hours_key)
        assert s.roles_key in ACTIVITY_KEYS, (a.name, s.roles_key)
        assert s.roles_key.endswith("_roles") and s.permitted
        assert set(s.permitted) <= set(ROLES), (a.name, s.name)
    for a in TABLE:
        assert a.unit_cost_key is None or a.unit_cost_key in ACTIVITY_KEYS, a.name
        assert len({s.name for s in a.slots}) == len(a.slots), a.name
    # every ``*_roles`` key of the config belongs to one slot
    roles_keys = [s.roles_key for _, s in slots_with_roles()]
    assert sorted(roles_keys) == sorted(k for k in ACTIVITY_KEYS if k.endswith("_roles"))


def test_every_row_resolves():
    assert set(SUBMODELS) == set(NAMES)
    for a in TABLE:
        module, func = a.submodel.split(":")
        assert callable(SUBMODELS[a.name]) and SUBMODELS[a.name].__name__ == func, a.name
        assert SUBMODELS[a.name].__module__ == f"sim.submodels.{module}", a.name
        assert a.pot in POTS, a.name
        assert a.level in ("county", "village", "province"), a.name
        assert set(a.counters) <= set(COUNTERS), a.name
        assert a.channel == "none" or a.channel in (*plan.COUNTY_CHANNELS, *plan.PROVINCE_CHANNELS), a.name


def test_the_table_s_permitted_roles_follow_model_md():
    """Lectures by staff or trained volunteers; visits and contact-person duty by volunteers and
    officers (staff too); policy events mostly professional hours."""
    lead = {s.name: s for s in activity("youth_lectures").slots}["lead"]
    assert set(lead.permitted) == {"lecturer", "staff"}
    for name in ("visits", "contact_persons"):
        (slot,) = activity(name).slots
        assert {"volunteer", "officer"} <= set(slot.permitted), name
    assert {s.name: s.permitted for s in activity("policy_events").slots}["staff"] == ("staff",)
    # the permitted sets of one activity are themselves nested or disjoint
    for a in TABLE:
        sets = [set(s.permitted) for s in a.slots]
        for i in range(len(sets)):
            for j in range(i + 1, len(sets)):
                x, y = sets[i], sets[j]
                assert not (x & y) or x <= y or y <= x, a.name


def test_activity_lookup():
    assert activity("visits") is BY_NAME["visits"]
    with pytest.raises(KeyError, match="'visit' is not an activity; it must be one of"):
        activity("visit")


def test_binding_bits():
    assert MONEY == 1
    assert {r: role_bit(r) for r in ROLES} == {"staff": 2, "officer": 4, "volunteer": 8, "lecturer": 16}
    assert HANDS == 2 | 4 | 8 | 16


# ---------------------------------------------------------------- check_roles


def _error(**roles) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        ActivitiesConfig(**roles)
    assert "\n" not in str(e.value)
    return e.value


def test_the_config_checks_its_roles():
    acts = ActivitiesConfig(youth_lecture_organiser_roles=("staff",), youth_lecture_lead_roles=("lecturer", "staff"),
                            youth_lecture_helper_roles=("officer", "volunteer", "lecturer", "staff"))
    check_roles(acts)  # does not raise


def test_a_role_not_permitted_is_an_error_naming_the_key_and_the_allowed_roles():
    e = _error(youth_lecture_lead_roles=("lecturer", "volunteer"))
    assert e.key == "activities.youth_lecture_lead_roles"
    assert str(e) == ("activities.youth_lecture_lead_roles=['lecturer', 'volunteer'] is not allowed: may use only "
                      "roles ['lecturer', 'staff'] ('volunteer' may not do this work)")
    e = _error(nursing_subsidy_claim_roles=("officer",))
    assert e.key == "activities.nursing_subsidy_claim_roles" and "['staff']" in str(e)


def test_an_unknown_role_is_an_error():
    e = _error(visit_visitor_roles=("volunteer", "boss"))
    assert e.key == "activities.visit_visitor_roles"
    assert "'boss' may not do this work" in str(e)
    assert "['officer', 'volunteer', 'lecturer', 'staff']" in str(e)


def test_a_role_named_twice_is_an_error():
    e = _error(contact_duty_roles=("officer", "volunteer", "officer"))
    assert e.key == "activities.contact_duty_roles"
    assert str(e) == ("activities.contact_duty_roles=['officer', 'volunteer', 'officer'] is not allowed: "
                      "names a role twice")


def test_no_role_is_an_error():
    e = _error(insurance_enrol_roles=())
    assert e.key == "activities.insurance_enrol_roles"
    assert "must name at least one of ['staff', 'officer']" in str(e)


def test_overlapping_role_sets_that_do_not_nest_are_an_error():
    # lead (lecturer, staff) and helpers (officer, staff) share staff, and neither holds the other
    e = _error(youth_lecture_organiser_roles=("staff",), youth_lecture_lead_roles=("lecturer", "staff"),
               youth_lecture_helper_roles=("officer", "staff"))
    assert e.key == "activities.youth_lecture_helper_roles"
    assert str(e) == ("activities.youth_lecture_helper_roles=['officer', 'staff'] is not allowed: must contain, be "
                      "contained in or be disjoint from activities.youth_lecture_lead_roles=['lecturer', 'staff']")
    # nested or disjoint sets are fine
    ActivitiesConfig(youth_lecture_organiser_roles=("staff",), youth_lecture_lead_roles=("lecturer",),
                     youth_lecture_helper_roles=("officer", "volunteer"))
    ActivitiesConfig(youth_lecture_organiser_roles=("staff",), youth_lecture_lead_roles=("staff", "lecturer"),
                     youth_lecture_helper_roles=("lecturer", "staff", "volunteer"))


def test_a_config_with_restricted_roles_runs_a_month():
    """A config choosing a subset of the permitted roles flows into the model's slots."""
    cfg = run_config(scale=1.0, activities={"visit_visitor_roles": ("officer",), "contact_duty_roles": ("officer",)})
    m = OutreachModel(cfg, tiny_province())
    assert slot_specs(activity("visits"), cfg.activities)[0][1] == (ROLES.index("officer"),)
    m.step()
    used = m.hours_used[0, NAMES.index("visits")]
    assert used[ROLES.index("officer")] > 0
    assert np.count_nonzero(used) == 1  # officers only
