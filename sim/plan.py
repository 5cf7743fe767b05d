"""A year's money and plan: how the pots are split among channels and counties, and what each
county plans to do with its money, its hands and its targets (MODEL.md sections 4 and 4b).

**Pots.** *Association budgets* (scaled by ``funding.multiplier``): the prefecture and county
budgets, whose ``outreach_share`` goes to the county channels (youth lectures, family health
events, policy events, volunteers; ``online_shift`` of the first three moved online), the
provincial operating budget's outreach share (livestreams, then web publicity) and the
provincial project funds (insurance, nursing subsidy, livelihood). *Raised funds and goods*
for the festival visits (``funding.raised_funds_multiplier``). *The personnel budget*: paid
posts, officers' stipends and, when ``staffing.volunteer_stipend_pot=personnel``, the
volunteers' stipends (always paid in full; see :mod:`sim.submodels.volunteers`).

**Allocation among counties** by ``funding.policy`` (:func:`sim.allocation.policy_weights`),
channel by channel: under ``need_based`` each channel goes by its own target group (youth
lectures by youth, family health and policy events by families, volunteers and visits by
visit-eligible families, livelihood by hardship households; online money, moved from the
first three by ``online_shift``, follows them); ``as_reported`` follows the 2021 budget pattern
(and, for the earmarked livelihood and visit funds, their target groups). A county floor per resident
(``county_min_yuan_per_resident``) raises a county's budget, every channel alike.

**Priorities and cuts.** Committed money is set aside first: volunteers' stipends when the
association pays them (a county that cannot pay them in full is a config error), then the
province's indivisible campaigns (the livestreams, in calendar order, whole or not at all);
divisible work takes what is left, so a cut falls on divisible units first (a small cut of the
provincial outreach money shrinks web publicity, not a livestream). Each county then plans its
year in the activity table's priority order: an activity's planned units are the least of its
target, what its channel's money buys and what the year's hours of its roles can staff after the
activities before it (12 times January's hours by role).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.activities import BY_NAME
from sim.allocation import policy_weights
from sim.errors import ConfigError
from sim.resources import capacity, slot_specs

if TYPE_CHECKING:
    from sim.model import OutreachModel

BUDGET_CHANNELS = ("youth_lectures", "family_health_events", "policy_events", "volunteers")
"""County channels of association budget money, with their ``funding.share_*`` keys below."""
SHARE_KEYS = {"youth_lectures": "share_youth_lectures", "family_health_events": "share_family_health",
              "policy_events": "share_policy_events", "volunteers": "share_volunteers"}
NEED_GROUP = {"youth_lectures": "youth", "family_health_events": "families", "policy_events": "families",
              "volunteers": "eligible", "livelihood": "hardship", "visits": "eligible"}
"""The target group by which ``need_based`` splits each channel among counties."""
COUNTY_CHANNELS = ("youth_lectures", "family_health_events", "policy_events", "volunteers", "online",
                   "livelihood", "visits")
PROVINCE_CHANNELS = ("insurance", "nursing_subsidy", "livestreams", "province_web")
PROJECT_CHANNELS = ("insurance", "nursing_subsidy", "livelihood")
PLANNED = ("youth_lectures", "policy_events", "family_health_events")
"""County activities planned for the year (targets, money and hands); the others run on demand."""


def allocate(m: OutreachModel) -> None:
    """Set this year's money by channel (``m.money_year``) and the province's campaigns."""
    fu, st = m.cfg.funding, m.cfg.staffing
    k = fu.multiplier
    # Every split is worked out over the whole province (a region keeps its rows: m.narrow).
    need = {"youth": m.widen(m.youth_members_c, "youth_members"), "families": m.widen(m.families_c, "families"),
            "eligible": m.eligible_province,
            "hardship": m.widen(m.hardship_c, "hardship")}
    population = m.province_counties["population"].to_numpy(float)
    county_pref = m.province_counties["pref"].to_numpy()
    shortfall = m.last_shortfall
    if shortfall is not None and m.region is not None:  # the other counties at the region's mean
        shortfall = m.widen(shortfall, fill=float(shortfall.mean()))

    lv = m.levers

    def weights(channel: str, pattern: np.ndarray) -> np.ndarray:
        w = policy_weights(fu.policy, pattern=pattern, population=population,
                           need=need[NEED_GROUP[channel]], shortfall=shortfall)
        if (lv.county_weight != 1).any():  # levers.weight
            w = w * lv.county_weight
            w = w / w.sum() if w.sum() > 0 else w
        return w

    pref_w = m.pref_pattern * lv.prefecture_weight if (lv.prefecture_weight != 1).any() else m.pref_pattern
    pref_budget = pref_w / pref_w.sum() * fu.prefecture_budget_yuan * k
    pref_budget = np.where(np.isnan(lv.prefecture_budget_yuan), pref_budget, lv.prefecture_budget_yuan)
    m.prefecture_budget_yuan = pref_budget if m.region is None else pref_budget[[m.region.spec.prefecture]]
    county = {}
    from_pref = {}
    for ch in BUDGET_CHANNELS:
        share = getattr(fu, SHARE_KEYS[ch])
        wc = weights(ch, m.county_pattern)
        county[ch] = share * wc * fu.county_budget_yuan * k
        county[ch] = np.where(np.isnan(lv.county_budget_yuan), county[ch], share * lv.county_budget_yuan)
        pref_w = np.bincount(county_pref, weights=wc, minlength=len(pref_budget))
        from_pref[ch] = share * pref_budget[county_pref] * wc / np.maximum(pref_w[county_pref], 1e-300)
    total = sum(county.values())
    floor = np.where(np.isnan(lv.yuan_per_resident), fu.county_min_yuan_per_resident, lv.yuan_per_resident) \
        * population
    lift = np.where(total > 0, np.maximum(total, floor) / np.maximum(total, 1e-300), 1.0)
    for ch in BUDGET_CHANNELS:
        county[ch] = county[ch] * lift
        if not total.any():  # no pattern money at all: the floor alone, by the channel shares
            county[ch] = getattr(fu, SHARE_KEYS[ch]) * floor
    m.county_budget_yuan = m.narrow(sum(county.values()))
    outreach = {ch: (county[ch] + from_pref[ch]) * fu.outreach_share for ch in BUDGET_CHANNELS}
    if fu.extra_outreach_yuan > 0:  # shared like the outreach money itself
        held = sum(v.sum() for v in outreach.values())
        outreach = {ch: v + fu.extra_outreach_yuan * (v / held if held > 0 else 1 / (len(v) * len(outreach)))
                    for ch, v in outreach.items()}
    outreach = {ch: m.narrow(v) for ch, v in outreach.items()}

    # Committed first: the volunteers' stipends when the association pays them.
    commitment = np.zeros(m.n_c)
    if st.volunteer_stipend_pot == "association" and st.volunteer_stipend_yuan_per_month > 0:
        vol = m.volunteers
        active_c = np.bincount(m.v_county[vol.village[vol.active]], minlength=m.n_c)
        commitment = active_c * st.volunteer_stipend_yuan_per_month * 12
        held = sum(outreach.values())
        short = np.flatnonzero(commitment > held + 1e-6)
        if len(short):
            c = short[0]
            raise ConfigError("staffing.volunteer_stipend_yuan_per_month", st.volunteer_stipend_yuan_per_month,
                              f"the association pot of {m.county_names[c]} holds {held[c]:,.0f} yuan of outreach "
                              f"money, less than the {commitment[c]:,.0f} yuan of stipends due "
                              f"({len(short)} counties short); lower the stipend or set "
                              f"staffing.volunteer_stipend_pot=personnel")
        rest = np.where(held > 0, 1 - commitment / np.maximum(held, 1e-300), 0.0)
        outreach = {ch: v * rest for ch, v in outreach.items()}
    shift = fu.online_shift
    money = {
        "youth_lectures": outreach["youth_lectures"] * (1 - shift),
        "family_health_events": outreach["family_health_events"] * (1 - shift),
        "policy_events": outreach["policy_events"] * (1 - shift),
        "volunteers": outreach["volunteers"],
        "stipends": commitment,
        "online": (outreach["youth_lectures"] + outreach["family_health_events"] + outreach["policy_events"]) * shift,
        "livelihood": m.narrow(weights("livelihood", need["hardship"]) * fu.livelihood_funds_yuan * k),
        "visits": m.narrow(weights("visits", need["eligible"]) * fu.raised_visit_funds_yuan
                           * fu.raised_funds_multiplier),
        "insurance": np.array([fu.insurance_funds_yuan * k]) * m.province_share["special"],
        "nursing_subsidy": np.array([fu.nursing_subsidy_funds_yuan * k]) * m.province_share["special"],
    }
    # The province's outreach money: the livestreams first (indivisible, calendar order), the
    # rest to web publicity (divisible). A region pays its share of both.
    a = m.cfg.activities
    prov = fu.provincial_budget_yuan * fu.provincial_outreach_share * k
    n_streams = min(len(a.livestream_months), int(prov // a.livestream_cost_yuan) if a.livestream_cost_yuan > 0
                    else len(a.livestream_months))
    m.streams_funded = n_streams
    streams = n_streams * a.livestream_cost_yuan
    money["livestreams"] = np.array([streams]) * m.province_share["digital"]
    money["province_web"] = np.array([prov - streams]) * m.province_share["digital"]
    topics = np.array([fu.share_policy_events, fu.share_family_health, fu.share_youth_lectures])
    m.online_topic_share = topics / topics.sum() if topics.sum() > 0 else np.full(3, 1 / 3)
    m.money_year = money
    m.spent_year = {ch: np.zeros_like(v) for ch, v in money.items()}


def plan_year(m: OutreachModel) -> None:
    """Each county's planned units of the year (``m.target_year``), in priority order: the least
    of the target, the channel's money and the year's hours of the activity's roles."""
    a = m.cfg.activities
    target = {
        "youth_lectures": m.youth_members_c * a.youth_lecture_target_share / max(a.youth_per_lecture, 1e-12),
        "family_health_events": m.sites_c * a.family_health_events_per_site_year,
        "policy_events": np.full(m.n_c, a.policy_events_per_county_year),
    }
    pool = 12 * m.hands.county_pool()
    m.target_year, m.plan_bound = {}, {}
    for name in PLANNED:
        act = BY_NAME[name]
        cost = float(getattr(a, act.unit_cost_key))
        units, bound, used = capacity(np.floor(target[name] + 1e-9), m.money_year[act.channel], cost, pool,
                                      slot_specs(act, a), whole=True)
        pool = pool - used
        m.target_year[name] = units
        m.plan_bound[name] = bound
    m.done_year = {k: np.zeros(m.n_c) for k in (*PLANNED, "livelihood")}
