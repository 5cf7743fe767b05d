"""Health education: youth lectures, policy and family health events, county online outreach,
the province's livestreams and web publicity (MODEL.md sections 5 and 6).

Reach is counted the same way on every channel: a family reached on a topic counts for that
topic's coverage (youth health: families with youth; family health: every family), and adds
the hazard ``d_i`` of its channel to the family's learning of the topic this month. Reported
participant counts are persons; coverage counts families once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.activities import Activity
from sim.draws import blocks, digital_draws_below, draws_below

if TYPE_CHECKING:
    from sim.model import OutreachModel

FEW_COUNTIES = 8
"""Counties in a block of families with internet access up to which :func:`_online_reach` compares
county by county (a few large counties: large scales) rather than building each row's
probability (many small ones: small scales, where a loop over 122 counties costs more)."""
REACHED_FLAG = {"youth": "youth_reached", "health": "health_reached"}
"""The coverage flag a topic's reach sets (policy coverage is awareness, not attendance)."""


def reach(m: OutreachModel, families: np.ndarray, topic: str, hazard: float) -> None:
    """Families reached on ``topic`` this month: coverage flag and learning hazard."""
    m.attended[topic].append((families, hazard))
    flag = REACHED_FLAG.get(topic)
    if flag == "youth_reached":
        m.state[flag][families[m.f.n_youth[families] > 0]] = True
    elif flag:
        m.state[flag][families] = True


def run_events(m: OutreachModel, act: Activity) -> np.ndarray:
    """Events of a planned county activity this month: the plan's share so far less what was
    done (only in the activity's own months: a county behind its plan catches up in season),
    limited by the channel's money and the hours of the roles that may run them."""
    season = m.season_key(act.season, m.month)
    share = m.cum_season[season][m.month_of_year - 1]
    in_season = m.season[season][m.month_of_year - 1] > 0  # no catching up out of season (school holidays)
    demand = np.floor(m.target_year[act.name] * share - m.done_year[act.name] + 1e-9) * in_season
    units = m.run_county(act, demand, m.available(act.channel, season), whole=True)
    if in_season:  # the plan's own limits, in the activity's months
        m.bind(act.name, m.plan_bound[act.name])
    m.done_year[act.name] += units
    m.cm[act.name][m.month] += units
    return units


def youth_lectures(m: OutreachModel, act: Activity) -> None:
    """Each lecture reaches ``youth_per_lecture`` youth (persons) in expectation: a youth member
    of a village with access ``access_v`` attends one of the county's lectures this month with
    probability ``1 - exp(-lam_c * access_v)``, ``lam_c`` = lectures x youth per lecture / the
    county's access-weighted youth. A family is reached when any of its youth attends; the
    beneficiaries counted are the persons attending (no size bias)."""
    a, d = m.cfg.activities, m.cfg.diffusion
    lectures = run_events(m, act)
    if lectures.sum() == 0:
        return  # (the stream is this month's own: not drawing it changes no other draw)
    lam_c = lectures * a.youth_per_lecture / np.maximum(m.youth_access_c, 1e-12)
    lam_v = lam_c[m.v_county] * m.access_v
    gen = m.draw("youth_lectures")
    if m.youth_by_family is None:  # a table by (village, members 10-24), flattened
        n = np.arange(m.youth_keys, dtype=np.float64)
        p_table = -np.expm1(-(lam_v[:, None] * n)).ravel()
        rows = draws_below(gen, p_table, m.youth_key)
        p_family = p_table[m.youth_key[rows]]
    else:  # the same numbers, family by family
        village, members = m.youth_by_family
        p_each = -np.expm1(-(lam_v[village] * members))
        rows = draws_below(gen, p_each, None)
        p_family = p_each[rows]
    reached = m.idx_youth[rows]
    reach(m, reached, "youth", d.hazard_attend)
    # Persons attending in a reached family: members * p_person / p_family (> 0 when reached).
    village, members = np.divmod(m.youth_key[rows], m.youth_keys)
    p_person = -np.expm1(-lam_v[village])
    persons = members * p_person / np.maximum(p_family, 1e-300)
    m.cm["youth_beneficiaries"][m.month] += m.count_by_county(reached, weights=persons)


def policy_events(m: OutreachModel, act: Activity) -> None:
    """Policy events reach families on site (any family) and online (families with internet)."""
    a, d = m.cfg.activities, m.cfg.diffusion
    events = run_events(m, act)
    if events.sum() == 0:
        return
    lam_on = events * a.onsite_viewers_per_event / a.persons_per_participating_family / np.maximum(
        m.families_c, 1e-12)
    lam_off = events * a.online_viewers_per_event / a.viewers_per_watching_family / np.maximum(m.digital_c, 1e-12)
    hv = np.empty((m.v.n, 2))
    hv[:, 0] = lam_on[m.v_county]
    hv[:, 1] = hv[:, 0] + lam_off[m.v_county]
    reached = draws_below(m.draw("policy_events"), (-np.expm1(-hv)).astype(np.float32).ravel(),
                          m.village_digital, m.f.village_start, village_positive=hv[:, 1] > 0)
    reach(m, reached, "policy", d.hazard_attend)


def family_health_events(m: OutreachModel, act: Activity) -> None:
    """Events are held at the county's sites; participants come from the site's township."""
    a, d = m.cfg.activities, m.cfg.diffusion
    events = run_events(m, act)
    if events.sum() == 0:
        return
    v = m.v
    per_site = events / np.maximum(m.sites_c, 1)
    ev_t = m.township_sum(m.site * per_site[m.v_county])
    per_event = a.participants_per_event / a.persons_per_participating_family
    lam_v = (ev_t * per_event / np.maximum(m.fam_full_t, 1e-12))[v.township]
    p_v = (-np.expm1(-lam_v)).astype(np.float32)
    reached = draws_below(m.draw("family_health_events"), p_v, m.f.village, m.f.village_start,
                          village_positive=p_v > 0)
    reach(m, reached, "health", d.hazard_attend)
    m.cm["family_health_participants"][m.month] += m.count_by_county(reached) * a.persons_per_participating_family


def _online_reach(m: OutreachModel, name: str, families_c: np.ndarray, topic_share: np.ndarray) -> np.ndarray:
    """Families with internet access reached by ``families_c`` (full-scale, per county) of online
    outreach, each on one topic drawn by ``topic_share`` (policy, health, youth).

    One float32 uniform per family with internet access (stream ``name``, block by block): the
    family is reached when ``u < p`` of its county, and its topic is drawn from ``u / p``
    (uniform on [0, 1) given a reach), so a family reached in two scenarios with the same seed
    hears the same topic wherever the shares agree.
    """
    d = m.cfg.diffusion
    share = np.asarray(topic_share, dtype=np.float64)
    if not m.policy_announced:  # nothing to say about a policy not yet announced
        share = share * np.array([0.0, 1.0, 1.0])
    if share.sum() <= 0:
        return np.empty(0, np.intp)
    p_c = (-np.expm1(-families_c / np.maximum(m.digital_c, 1e-12))).astype(np.float32)
    idx, start = m.digital_families
    gen = m.draw(name)
    rows, us = [], []
    for i, j in blocks(len(idx)):
        u = gen.random(j - i, dtype=np.float32)
        # Families are grouped by county (from `start`).
        first, stop = np.searchsorted(start, i, side="right") - 1, np.searchsorted(start, j, side="left")
        if stop - first > FEW_COUNTIES:  # small scales: one comparison with each row's county's p
            p = np.repeat(np.maximum(p_c, 0), np.diff(np.clip(start, i, j)))  # (nobody is below 0)
            hit = np.flatnonzero(u < p)
            rows.append(hit + i)
            us.append(u[hit] / p[hit])
            continue
        for c in range(first, stop):  # large scales: county by county
            lo, hi = max(int(start[c]), i) - i, min(int(start[c + 1]), j) - i
            if hi <= lo or p_c[c] <= 0:
                continue
            hit = np.flatnonzero(u[lo:hi] < p_c[c]) + lo
            rows.append(hit + i)
            us.append(u[hit] / p_c[c])
    rows = np.concatenate(rows) if rows else np.empty(0, np.intp)
    u = np.concatenate(us) if us else np.empty(0, np.float32)
    cum = np.cumsum(share)
    topic = np.searchsorted(cum / cum[-1], u, side="right")
    reached = idx[rows]
    for k, t in enumerate(("policy", "health", "youth")):
        if share[k] > 0:
            reach(m, reached[topic == k], t, d.hazard_online)
    return reached


def online(m: OutreachModel, act: Activity) -> None:
    """County online outreach (``funding.online_shift``): the month's money reaches families with
    internet access at ``online_cost_yuan_per_family``, on the channels' topics, as staff
    hours allow."""
    a = m.cfg.activities
    money = m.available(act.channel, act.season)
    if money.sum() <= 0:
        return
    families = m.run_county(act, money / max(a.online_cost_yuan_per_family, 1e-12), money)
    reached = _online_reach(m, "online", families, m.online_topic_share)
    m.cm["online_reached"][m.month] += m.count_by_county(reached)


def livestreams(m: OutreachModel, act: Activity) -> None:
    """The province's livestream campaigns: whole streams in their months, the first
    ``streams_funded`` of the year (the plan funds them before divisible work)."""
    a = m.cfg.activities
    moy = m.month_of_year
    if moy not in a.livestream_months:
        return
    k = a.livestream_months.index(moy)
    if k >= m.streams_funded:
        m.bind(act.name, np.ones(m.n_c, dtype=np.int8))
        return
    m.spend(act, np.array([a.livestream_cost_yuan]) * m.province_share["digital"])  # a region: its share
    topic = a.livestream_topics[k]
    watch = digital_draws_below(m.draw("livestreams"), m.f.digital, a.p_view_livestream[k])
    if topic == "policy" and not m.policy_announced:
        return
    reach(m, watch, topic, m.cfg.diffusion.hazard_online)
    m.province_month["livestreams"][m.month] += 1
    m.province_month["livestream_viewers"][m.month] += len(watch) * m.W * a.viewers_per_watching_family


def province_web(m: OutreachModel, act: Activity) -> None:
    """The province's web and WeChat publicity (divisible: what the livestreams leave of the
    provincial outreach money), families with internet access on policy and family health."""
    a = m.cfg.activities
    money = float(m.available(act.channel, act.season)[0])
    if money <= 0 or a.online_cost_yuan_per_family <= 0:
        return
    families = money / a.online_cost_yuan_per_family
    m.spend(act, np.array([money]))
    families_c = families * m.digital_c / max(m.digital_c.sum(), 1e-12)
    reached = _online_reach(m, "province_web", families_c, np.array([0.5, 0.5, 0.0]))
    m.province_month["web_reached"][m.month] += len(reached) * m.W
