"""The activity table: every activity the associations run, declared in one place.

For each activity the table says when it runs (its season), what one unit costs and from which
pot and channel (MODEL.md section 4b), how many hours of which roles one unit needs and which
roles may stand in for which (its slots), whom it reaches, the counters it adds to and its row
in the binding table. The monthly step (:meth:`sim.model.OutreachModel.step`) runs the
activities in the table's order, which is the priority order of the plan: entitlements first
(insurance, nursing subsidy, livelihood), then standing duties (contact persons), training,
the education events, online outreach, the province's indivisible campaigns and its divisible
web publicity, visits, and the volunteers' support. Money left over from one activity is never
moved to another within the year; a cut of a pot falls on divisible units first (see
:mod:`sim.plan`). Adding an activity means adding a row here and its submodel function.

Roles (hands): ``staff`` (paid posts of the prefecture, county and township associations),
``officer`` (village association officers, part-time with stipends), ``volunteer`` and
``lecturer`` (volunteers trained as peer lecturers, 同伴教育主持人). A slot's roles are listed in
order of preference; the roles two slots of one activity may use must be nested or disjoint
(so filling the most restricted slot first is optimal; checked by :func:`check_roles`).

References: MODEL.md sections 4b and 5; hunan_2021_reported.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.errors import ConfigError

ROLES = ("staff", "officer", "volunteer", "lecturer")
"""Kinds of hands, in the order of the rows of every hours-by-role array."""
POTS = ("association", "raised", "personnel")
"""Money pots: association budgets (and project funds), raised funds and goods, the personnel budget."""

NONE, MONEY = 0, 1
"""Binding codes are bit flags: MONEY, and one bit per role (``role_bit``) whose hours ran out."""


def role_bit(role: str) -> int:
    """The binding bit of a role: staff 2, officer 4, volunteer 8, lecturer 16."""
    return 2 << ROLES.index(role)


HANDS = sum(role_bit(r) for r in ROLES)
"""Any role's bit: ``code & HANDS`` is non-zero when hands bound."""


@dataclass(frozen=True)
class Slot:
    """Hours one unit of an activity needs from one group of roles.

    Attributes:
        name: The slot's name (``lead``, ``helpers``, ...).
        hours_key: Key in ``cfg.activities`` of the hours per unit.
        roles_key: Key in ``cfg.activities`` of the roles that may fill it, in order of preference.
        permitted: The roles MODEL.md allows for this slot (a config may choose a subset).
    """

    name: str
    hours_key: str
    roles_key: str
    permitted: tuple[str, ...]


@dataclass(frozen=True)
class Activity:
    """One row of the activity table (see the module docstring)."""

    name: str
    level: str
    """Where capacity is counted: ``county`` (county pools of hands), ``village`` or ``province``."""
    season: str
    """Key of :func:`sim.calendar.seasonal_weights` by which the year's plan is released."""
    pot: str
    channel: str
    """The money channel the unit cost is paid from (a key of ``model.money_year``)."""
    unit: str
    unit_cost_key: str | None
    """Key in ``cfg.activities`` of the money per unit (None: no money of its own)."""
    slots: tuple[Slot, ...]
    reaches: str
    counters: tuple[str, ...]
    """County-month counters (keys of ``model.cm``) the activity adds to."""
    divisible: bool
    """False for campaigns that run whole or not at all (a cut falls on divisible units first)."""
    submodel: str
    """``module:function`` in :mod:`sim.submodels` that runs one month of it."""


ALL_HANDS = ("officer", "volunteer", "lecturer", "staff")


def _slot(activity: str, name: str, permitted: tuple[str, ...], hours_key: str | None = None) -> Slot:
    return Slot(name, hours_key or f"{activity}_{name}_hours", f"{activity}_{name}_roles", permitted)


TABLE: tuple[Activity, ...] = (
    Activity("insurance", "county", "even", "association", "insurance", "household", "insurance_premium_yuan",
             (_slot("insurance", "enrol", ("staff", "officer")),),
             "uninsured special families (free health insurance, renewed each January)",
             ("insured_new",), True, "assistance:insurance"),
    Activity("nursing_subsidy", "county", "even", "association", "nursing_subsidy", "person",
             "nursing_subsidy_yuan_per_person", (_slot("nursing_subsidy", "claim", ("staff",)),),
             "hospitalised special-family members", ("hospitalised", "subsidised"), True,
             "assistance:nursing_subsidy"),
    Activity("livelihood", "county", "even", "association", "livelihood", "household",
             "livelihood_cost_yuan_per_household", (_slot("livelihood", "project", ("staff", "officer")),),
             "hardship families", ("livelihood_helped",), True, "assistance:livelihood"),
    Activity("contact_persons", "village", "even", "association", "none", "family-month", None,
             (_slot("contact", "duty", ("officer", "volunteer", "lecturer", "staff"),
                    "contact_hours_per_family_month"),),
             "special families (a contact person, green channel, family doctor)", ("contact_assigned",),
             True, "villages:contact_persons"),
    Activity("lecturer_training", "county", "january", "association", "volunteers", "lecturer",
             "lecturer_training_cost_yuan", (_slot("lecturer_training", "trainer", ("staff",)),),
             "volunteers, who become peer lecturers", ("lecturers_trained",), True,
             "volunteers:lecturer_training"),
    Activity("youth_lectures", "county", "youth_lectures", "association", "youth_lectures", "lecture",
             "youth_lecture_cost_yuan",
             (_slot("youth_lecture", "organiser", ("staff",)), _slot("youth_lecture", "lead", ("lecturer", "staff")),
              _slot("youth_lecture", "helper", ALL_HANDS)),
             "youth aged 10-24 (persons; families with youth counted once)",
             ("youth_lectures", "youth_beneficiaries"), True, "education:youth_lectures"),
    Activity("policy_events", "county", "policy_events", "association", "policy_events", "event",
             "policy_event_cost_yuan",
             (_slot("policy_event", "staff", ("staff",)), _slot("policy_event", "helper", ALL_HANDS)),
             "families on site and online (policy topic)", ("policy_events",), True, "education:policy_events"),
    Activity("family_health_events", "county", "family_health_events", "association", "family_health_events",
             "event", "family_health_event_cost_yuan",
             (_slot("family_health_event", "staff", ("staff",)), _slot("family_health_event", "helper", ALL_HANDS)),
             "families of the site's township", ("family_health_events", "family_health_participants"), True,
             "education:family_health_events"),
    Activity("online", "county", "even", "association", "online", "family", "online_cost_yuan_per_family",
             (_slot("online", "content", ("staff",), "online_staff_hours_per_family"),),
             "families with internet access (every topic)", ("online_reached",), True, "education:online"),
    Activity("livestreams", "province", "campaign", "association", "livestreams", "stream", "livestream_cost_yuan",
             (), "families with internet access (the stream's topic)", (), False, "education:livestreams"),
    Activity("province_web", "province", "even", "association", "province_web", "family",
             "online_cost_yuan_per_family", (), "families with internet access (policy and health)", (), True,
             "education:province_web"),
    Activity("visits", "village", "visits", "raised", "visits", "visit", None,
             (_slot("visit", "visitor", ("officer", "volunteer", "lecturer", "staff"), "visit_hours"),),
             "special, hardship and elderly families in difficulty (persons visited)", ("visits", "person_visits"),
             True, "villages:visits"),
    Activity("volunteer_support", "county", "even", "association", "volunteers", "volunteer-month",
             "volunteer_support_yuan_per_month", (), "active volunteers (insurance, small training)", (), True,
             "volunteers:support"),
)
"""The activities in priority (and step) order."""

NAMES = tuple(a.name for a in TABLE)
BY_NAME = {a.name: a for a in TABLE}


def activity(name: str) -> Activity:
    """The table row of ``name`` (a one-line error listing the names when it is unknown)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not an activity; it must be one of {NAMES}") from None


def slots_with_roles() -> list[tuple[Activity, Slot]]:
    return [(a, s) for a in TABLE for s in a.slots]


def check_roles(acts) -> None:
    """Check every ``<slot>_roles`` of an ``ActivitiesConfig``: known, permitted, no repeats, and
    the slots of one activity nested or disjoint. Raises :class:`ConfigError` naming the key."""
    for a in TABLE:
        sets = []
        for s in a.slots:
            roles = tuple(getattr(acts, s.roles_key))
            key = f"activities.{s.roles_key}"
            if not roles:
                raise ConfigError(key, list(roles), f"must name at least one of {list(s.permitted)}")
            for r in roles:
                if r not in s.permitted:
                    raise ConfigError(key, list(roles), f"may use only roles {list(s.permitted)} "
                                                        f"({r!r} may not do this work)")
            if len(set(roles)) != len(roles):
                raise ConfigError(key, list(roles), "names a role twice")
            sets.append(set(roles))
        for i in range(len(sets)):
            for j in range(i + 1, len(sets)):
                x, y = sets[i], sets[j]
                if x & y and not (x <= y or y <= x):
                    raise ConfigError(f"activities.{a.slots[j].roles_key}", sorted(y),
                                      f"must contain, be contained in or be disjoint from "
                                      f"activities.{a.slots[i].roles_key}={sorted(x)}")
