"""The monthly outreach model (MODEL.md sections 4-6) as a vectorized ``mesa.Model``.

Each step is one month, in this order:

1. **Hands.** This month's hours by role (:mod:`sim.resources`): paid posts (county,
   prefecture and township), village officers, volunteers and trained lecturers.
2. **Calendar and plan** (January). The year's counters reset, the pots are split among
   channels and counties and each county plans its year from its money, hands and targets
   (:mod:`sim.plan`); the free insurance is renewed as money allows.
3. **Activities**, in the priority order of the activity table (:mod:`sim.activities`), each
   by its own submodel (:mod:`sim.submodels`) and limited by its money and by the hours of the
   roles that may do it, whichever binds first (:func:`sim.resources.capacity`): insurance
   enrolment, nursing-subsidy claims (this month's hospitalisations of special-family members),
   livelihood projects, contact persons (green channel and family doctor), training of peer
   lecturers (January), youth lectures, policy events, family health events, county online
   outreach, the province's livestreams and web publicity, festival and condolence visits, the
   volunteers' support and stipends (from the named pot). What bound (money, or which roles'
   hours) is recorded per county, month and activity; unspent money carries over within the year.
4. **Families.** Attendance and visits add the hazard ``d_i``; knowledge diffuses by the exact
   rule of :mod:`sim.diffusion` (the policy topic only once the policy is announced).
5. **Volunteers** leave (more when overloaded) and are recruited (more with activity and
   the stipend paid).
6. **Costs and metrics.** The month's personnel costs (posts, officers' stipends) are booked;
   a model-level series (Mesa DataCollector) and county arrays are collected.

Every random decision draws from its own named stream (``self.draw``) for all rows of a fixed
set and then masks (:mod:`sim.draws`), so two scenarios with the same seed draw the same
numbers for the same families. Money is in yuan and hours in hours, both at full province
scale: a simulated family stands for ``weight`` families and costs ``weight`` times the unit cost.
"""

from __future__ import annotations

import numpy as np
from mesa import DataCollector, Model

from sim import plan
from sim.activities import NAMES, ROLES, TABLE, Activity, activity
from sim.admin import largest_remainder
from sim.agents import (
    CountyAssociation,
    FamilyView,
    PrefectureAssociation,
    ProvincialAssociation,
    VillageView,
)
from sim.allocation import county_pattern, prefecture_pattern
from sim.calendar import seasonal_weights
from sim.config import TOPICS, RunConfig
from sim.diffusion import network_degree, per_village_sum
from sim.draws import blocks, select
from sim.levers import resolve as resolve_levers
from sim.metrics import family_indicator
from sim.population import make_volunteers
from sim.province import Province, province_for
from sim.resources import N_ROLES, STAFF, GroupSum, Hands, Ledger, capacity, slot_specs
from sim.rng import keyed_uniform, stream
from sim.submodels import SUBMODELS, diffuse, turnover

FLAGS = ("youth_reached", "health_reached", "visited", "livelihood_helped", "insured", "contact",
         "green_channel", "family_doctor", "eligible_visit")
COUNTERS = ("spend_yuan", "youth_lectures", "youth_beneficiaries", "family_health_events",
            "family_health_participants", "policy_events", "visits", "person_visits", "hospitalised",
            "subsidised", "insured_new", "livelihood_helped", "online_reached", "contact_assigned",
            "lecturers_trained", "volunteers_active", "money_bound", "hands_bound")
"""County-month counters (``model.cm``), full-scale."""


class OutreachModel(Model):
    """Hunan's family planning association outreach, one month per step (see module docstring).

    Args:
        cfg: The run's configuration.
        province: A built province (built or loaded from the cache when omitted).
    """

    def __init__(self, cfg: RunConfig | None = None, province: Province | None = None):
        cfg = cfg or RunConfig()
        super().__init__(rng=cfg.seed)
        self.cfg = cfg
        self.province = province or province_for(cfg, progress=cfg.progress)
        p = self.province
        simulated = "" if p.region is None else str(p.region.spec.code)
        if simulated != cfg.region:
            raise ValueError(f"the config's region {cfg.region or 'province'!r} is not the province's "
                             f"({simulated or 'province'!r}): build it with sim.province.province_for(cfg)")
        self.v, self.f = p.villages, p.families
        self.W = self.f.weight
        self.month = 0  # months run so far; the month being run is self.month + 1
        self.n_c = p.n_counties
        self.county_names = p.admin.counties["name_en"].tolist()
        self._digital = None
        self._setup_scope()
        self._setup_static()
        self._setup_staff()
        self._setup_state()
        self.provincial = ProvincialAssociation(self)
        self.prefectures = [PrefectureAssociation(self, i) for i in range(p.n_prefectures)]
        self.counties = [CountyAssociation(self, i) for i in range(self.n_c)]
        self.datacollector = DataCollector(model_reporters={
            "month": lambda m: m.month,
            **{f"aware_{t}": (lambda m, t=t: m._mean(m.aware[t])) for t in TOPICS},
            "youth_reached": lambda m: m._youth_share("youth_reached"),
            "special_visited": lambda m: m._share("visited", m.idx_special),
            "special_contact": lambda m: m._share("contact", m.idx_special),
            "volunteers_active": lambda m: m.volunteers.n_active,
            "spend_yuan_year_to_date": lambda m: float(sum(v.sum() for v in m.spent_year.values())),
            "cost_yuan_year_to_date": lambda m: m.ledger.total(),
        })

    # ------------------------------------------------------------------ setup
    def _setup_scope(self) -> None:
        """What the run needs of the whole province when it simulates one region
        (:mod:`sim.region`): the province's county table, and the region's share of
        province-level money (1 in a province run)."""
        p = self.province
        self.region = p.region
        admin = p.admin if p.region is None else p.region.province_admin
        self.province_counties = admin.counties
        self.province_prefectures = admin.prefectures
        r = p.region
        self.levers = resolve_levers(self.cfg.levers, admin.counties, admin.prefectures)
        """Per-county and per-prefecture levers of the whole province (:mod:`sim.levers`)."""
        self.province_share = {"special": 1.0 if r is None else r.share("special"),
                               "digital": 1.0 if r is None else r.share("digital")}
        """The region's share of the provincial project funds for insurance and the nursing
        subsidy (``special``) and of the provincial outreach money (``digital``)."""

    def widen(self, values: np.ndarray, name: str | None = None, fill: float | None = None) -> np.ndarray:
        """A per-county array made one of the whole province (itself in a province run; see
        :meth:`sim.region.Region.widen`)."""
        return values if self.region is None else self.region.widen(values, name, fill)

    def narrow(self, values: np.ndarray) -> np.ndarray:
        """The run's counties' rows of a whole-province per-county array (itself in a province run)."""
        return values if self.region is None else values[self.region.counties]

    @staticmethod
    def _province_uniforms(rng: np.random.Generator, n_province: int, rows: np.ndarray | None) -> np.ndarray:
        """Uniforms of ``rng`` drawn for every unit of the province, kept for the run's own
        (``rows``): a region's villages and townships get the values they get in a province run."""
        u = rng.random(n_province)
        return u if rows is None else u[rows]

    def family_uniforms(self, rs: np.random.Generator, dtype=np.float64):
        """Yield (i, j, u) over the run's families in blocks: ``u`` the uniforms ``rs`` gives
        families ``i`` to ``j`` in a province run (a region run draws the province's and keeps
        its families', so the same families start the same in both)."""
        for i, j, u, _ in self.province_family_uniforms(rs, dtype):
            yield i, j, u

    def province_family_uniforms(self, rs: np.random.Generator, dtype=np.float64):
        """:meth:`family_uniforms`, with the province's block: yield (i, j, u, (pi, pj, u_province)),
        for every block of the province's families (``i == j`` where it holds none of the run's)."""
        if self.region is None:
            for i, j in blocks(self.f.n):
                u = rs.random(j - i, dtype=dtype)
                yield i, j, u, (i, j, u)
            return
        rows, k = self.region.families, 0
        for i, j in blocks(self.region.n_families_province):
            u = rs.random(j - i, dtype=dtype)
            e = int(np.searchsorted(rows, j))
            yield k, e, u[rows[k:e] - i], (i, j, u)
            k = e

    def _setup_static(self) -> None:
        cfg, p, v, f = self.cfg, self.province, self.v, self.f
        a = cfg.activities
        self.season = seasonal_weights(a.lecture_school_months, cfg.diffusion.policy_announce_month)
        # After the first year the policy is known: policy events run all year.
        self.season["policy_events_later"] = seasonal_weights(a.lecture_school_months, 1)["policy_events"]
        self.cum_season = {k: np.cumsum(w) for k, w in self.season.items()}
        vc = v.county.astype(np.int64)
        self.v_county = vc
        self.county_sum = GroupSum(vc, p.n_counties)
        """Village values summed by county (``np.bincount(v_county, weights=...)``, faster)."""
        self.n_v = np.diff(f.village_start)
        self.degree_v = network_degree(p.network)
        # The network in float64 for the month's products with the (float64) aware shares: the
        # same numbers (scipy converts the matrix to float64 for them), converted once.
        self.network_f64 = None if p.network is None else p.network.astype(np.float64)
        self.fam_full_v = self.n_v * self.W
        self.n_v_c = np.bincount(v.county, weights=self.n_v, minlength=p.n_counties).astype(float)
        self.county_population = p.admin.counties["population"].to_numpy(float)
        self.county_pref = p.admin.counties["pref"].to_numpy()

        # Fixed sets of families (independent of policy, so draws over them are shared).
        # int32 (like f.village): half the memory of flatnonzero's int64, filled block by block.
        self.idx_youth = np.empty(np.count_nonzero(f.n_youth), dtype=np.int32)
        k = 0
        for i, j in blocks(f.n):
            rows = np.flatnonzero(f.n_youth[i:j])
            self.idx_youth[k:k + len(rows)] = rows + i
            k += len(rows)
        self.idx_special = np.flatnonzero(f.special)
        self.idx_hardship = np.flatnonzero(f.hardship)
        # Visit-eligible: special, hardship, or members 60+ and in difficulty (one uniform per family).
        rs = stream(cfg.seed, "setup.elderly_difficulty")
        rows = []
        r = self.region
        if r is not None:  # and the other counties' (for the splits among counties by need)
            other = np.unpackbits(r.elderly_other_bits, count=r.n_families_province).view(bool)
            hits_c = np.zeros(len(r.county_family_start) - 1)
        for i, j, u, (pi, pj, u_province) in self.province_family_uniforms(rs):
            if r is not None:
                hit = np.flatnonzero((u_province < a.elderly_difficulty_share) & other[pi:pj]) + pi
                hits_c += np.bincount(np.searchsorted(r.county_family_start, hit, side="right") - 1,
                                      minlength=len(hits_c))
            eligible = (u < a.elderly_difficulty_share) & (f.n_elderly[i:j] > 0)
            eligible |= f.special[i:j]
            eligible |= f.hardship[i:j]
            rows.append(np.flatnonzero(eligible) + i)
        self.idx_eligible = np.concatenate(rows) if rows else np.empty(0, np.intp)
        self.elig_group = np.where(f.special[self.idx_eligible], 0, np.where(f.hardship[self.idx_eligible], 1, 2))
        self.idx_elderly = self.idx_eligible[self.elig_group == 2]
        # Row of (group, village) in a (3, n_villages) table, for each eligible family.
        self.elig_key = self.elig_group * v.n + f.village[self.idx_eligible]
        self.village_digital = f.village * 2  # int32, like f.village
        self.village_digital += f.digital
        # Youth lectures' hazard table key of each family with youth: (village, members 10-24).
        n_youth = f.n_youth[self.idx_youth]
        self.youth_keys = int(n_youth.max(initial=0)) + 1
        self.youth_key = f.village[self.idx_youth]
        self.youth_key *= self.youth_keys
        self.youth_key += n_youth
        # At small scales there are fewer families with youth than (village, members) pairs: the
        # lectures then work out each family's probability rather than the whole table.
        self.youth_by_family = None
        if len(self.idx_youth) < v.n * self.youth_keys:
            self.youth_by_family = (f.village[self.idx_youth].astype(np.intp), n_youth.astype(np.float64))
        # Expected full-scale visit-eligible households per village and group (special,
        # hardship, elderly in difficulty), from the village's shares.
        hh = v.households.astype(np.float64)
        sp, hd = v.special_share.astype(np.float64), v.hardship_share.astype(np.float64)
        p_elderly = float((f.n_elderly > 0).mean()) if f.n else 0.0
        if r is not None:  # the province's
            p_elderly = r.families_stats["p_elderly"]
        self.expected_v = np.stack([hh * sp, hh * hd * (1 - sp),
                                    hh * (1 - sp) * (1 - hd) * p_elderly * a.elderly_difficulty_share])
        self.n_special_v = np.bincount(f.village[self.idx_special], minlength=v.n)
        self.persons_per_eligible = float(f.size[self.idx_eligible].mean()) if len(self.idx_eligible) else 0.0
        if r is not None:
            self.persons_per_eligible = r.persons_per_eligible(a.elderly_difficulty_share)

        # Family health sites: n_sites allotted to counties by population, villages at random.
        n_v_province = v.n if r is None else r.n_villages_province
        n_sites = self.narrow(largest_remainder(min(a.n_family_health_sites, n_v_province),
                                                self.province_counties["population"].to_numpy(float)))
        self.site = np.zeros(v.n, dtype=bool)
        own = None if r is None else r.villages
        order = np.argsort(self._province_uniforms(stream(p.seed, "setup.sites"), n_v_province, own))
        by_county = order[np.argsort(vc[order], kind="stable")]
        starts = np.searchsorted(vc[by_county], np.arange(self.n_c))
        ends = np.append(starts[1:], len(by_county))
        for c in range(self.n_c):
            self.site[by_county[starts[c]:min(starts[c] + n_sites[c], ends[c])]] = True
        self.sites_c = np.bincount(vc, weights=self.site, minlength=self.n_c)
        # Family health events draw participants from the site's township.
        self.township_sum = GroupSum(v.township, len(v.township_county))
        """Village values summed by township (``np.bincount(v.township, weights=...)``, faster)."""
        self.fam_full_t = self.township_sum(self.fam_full_v)

        # Full-scale counts per county.
        youth_v = self._per_village(f.n_youth)
        self.youth_members_c = self.county_sum(youth_v) * self.W  # exact integer sums
        self.families_c = np.bincount(vc, weights=self.fam_full_v, minlength=self.n_c)
        self.digital_c = self._per_county(f.digital) * self.W
        self.special_c = self._per_county(f.special) * self.W
        self.hardship_c = self._per_county(f.hardship) * self.W
        self.eligible_c = np.bincount(vc, weights=np.bincount(
            f.village[self.idx_eligible], minlength=v.n), minlength=self.n_c) * self.W
        self.eligible_province = self.eligible_c if r is None else (r.context["eligible_fixed_n"] + hits_c) * self.W
        """Visit-eligible families of every county of the province, as a province run counts them."""
        self.access_v = (1 - 0.5 * np.minimum(1, v.remoteness_min / 60.0)).astype(np.float32)
        # Youth members weighted by their village's access, per county: lectures reach persons.
        self.youth_access_c = np.bincount(vc, weights=youth_v * self.access_v, minlength=self.n_c) * self.W
        self.travel_hours_v = a.travel_minutes_per_remoteness_minute * v.remoteness_min / 60.0
        self.visit_hours_v = a.visit_hours + self.travel_hours_v

        # Budget patterns (of the whole province: a region gets its rows of every split).
        self.county_pattern = county_pattern(self.province_counties)
        self.pref_pattern = prefecture_pattern(self.province_prefectures)

    def _setup_staff(self) -> None:
        """Paid posts by level (and their hours), officers, and the extra-hours levers; the
        per-county levers (:mod:`sim.levers`) set a county's or prefecture's posts and a
        county's township posts in place of the staffing config's."""
        st, v, lv = self.cfg.staffing, self.v, self.levers
        k = st.posts_multiplier
        n_t = len(v.township_county)
        r = self.region
        u = self._province_uniforms(stream(self.cfg.seed, "setup.township_staff"),
                                    n_t if r is None else r.n_townships_province, None if r is None else r.townships)
        staffed = u < st.township_staff_share
        self.township_staff = np.maximum(staffed.astype(float), st.township_staff_min) * k
        tcounty = v.township_county.astype(np.int64)
        town_lever = self.narrow(lv.township_posts)[tcounty]
        self.township_staff = np.where(np.isnan(town_lever), self.township_staff, town_lever)
        self.township_posts_c = np.bincount(tcounty, weights=self.township_staff, minlength=self.n_c)
        """Township posts of each county."""
        pc = self.province_counties
        pref_of = self.narrow(pc["pref"].to_numpy())
        pref_pop = np.bincount(pc["pref"].to_numpy(), weights=pc["population"].to_numpy(float))
        pref_share = self.county_population / pref_pop[pref_of]
        county_posts = np.where(np.isnan(self.narrow(lv.county_posts)), st.county_staff * k,
                                self.narrow(lv.county_posts))
        pref_posts = np.where(np.isnan(lv.prefecture_posts), st.prefecture_staff * k, lv.prefecture_posts)
        if r is not None:  # a region pays the prefecture posts in the share of their hours its counties get
            pref_total = float((pref_posts[pref_of] * pref_share).sum())
        else:
            pref_total = pref_posts.sum() if np.isfinite(lv.prefecture_posts).any() \
                else st.prefecture_staff * k * len(pref_pop)
        hours = st.staff_hours_per_month * st.staff_outreach_share
        county_total = county_posts.sum() if np.isfinite(lv.county_posts).any() else st.county_staff * k * self.n_c
        self.posts = {"prefecture": pref_total, "county": county_total,
                      "township": float(self.township_staff.sum())}
        self.county_posts = county_posts
        """Paid posts of each county association."""
        self.prof_hours = (county_posts + pref_posts[pref_of] * st.prefecture_hours_to_counties * pref_share
                           + (1 - st.township_hours_to_villages) * self.township_posts_c) * hours
        town_to_v = st.township_hours_to_villages * self.township_staff * hours
        n_v_town = np.bincount(v.township, minlength=n_t)
        self.township_hours_v = (town_to_v / np.maximum(n_v_town, 1))[v.township]
        self.township_hours_c = self.county_sum(self.township_hours_v)
        """The township posts' village share per county (hours available, not a county pool)."""
        self.officer_hours_v = np.full(v.n, float(st.officers_per_village * st.officer_hours_per_month))
        if self.prof_hours.sum() > 0:
            self.prof_hours = self.prof_hours + st.extra_staff_hours_per_month * self.prof_hours / self.prof_hours.sum()
        if self.officer_hours_v.sum() > 0:
            self.officer_hours_v += st.extra_officer_hours_per_month * self.officer_hours_v / self.officer_hours_v.sum()

    def _setup_state(self) -> None:
        cfg, f = self.cfg, self.f
        a, d, st = cfg.activities, cfg.diffusion, cfg.staffing
        n = f.n
        self.state = {k: np.zeros(n, dtype=bool) for k in FLAGS}
        self.state["eligible_visit"][self.idx_eligible] = True
        r = stream(cfg.seed, "setup.initial_state")
        reg = self.region
        if reg is None:
            u = r.random((4, len(self.idx_special)))
        else:  # the province's special families' draws, the region's kept
            u = r.random((4, reg.n_special_province))[:, reg.special_rank]
        sp_idx = self.idx_special
        self.state["insured"][sp_idx] = u[0] < a.initial_insured_share
        self.state["contact"][sp_idx] = u[1] < a.initial_contact_share
        self.state["green_channel"][sp_idx] = u[2] < a.initial_green_channel_share
        self.state["family_doctor"][sp_idx] = u[3] < a.initial_family_doctor_share
        self.aware = {t: np.zeros(n, dtype=bool) for t in TOPICS}
        for i, j, u in self.family_uniforms(r, np.float32):
            self.aware["health"][i:j] = u < d.initial_health_aware
        self.volunteers = make_volunteers(self.v.n, st.volunteers_per_village, st.volunteer_hours_per_month,
                                          None if reg is None else reg.villages)
        self.trained = self.lecturer_draw() < st.lecturer_share
        self.volunteers_start = self.volunteers.n_active
        self.recruited = 0
        self.left = 0
        self.last_shortfall = None
        self.stipend_paid_share_c = np.ones(self.n_c)
        self.claims_pending = np.zeros(len(self.idx_special), dtype=np.int64)
        """Nursing-subsidy claims (persons) of each special family waiting to be paid."""
        months = cfg.months
        self.cm = {k: np.zeros((months, self.n_c)) for k in COUNTERS}
        self.binding = np.zeros((months, len(TABLE), self.n_c), dtype=np.int8)
        self.hours_used = np.zeros((months, len(TABLE), N_ROLES))
        """Hours by activity and role, province total per month."""
        self.hours_available = np.zeros((months, N_ROLES))
        self.hours_available_c = np.zeros((months, N_ROLES, self.n_c))
        self.hours_used_c = np.zeros((months, N_ROLES, self.n_c))
        self.province_month = {k: np.zeros(months) for k in ("livestream_viewers", "livestreams", "web_reached")}
        self.ledger = Ledger()
        self.money_year: dict[str, np.ndarray] = {}
        self.spent_year: dict[str, np.ndarray] = {}

    def lecturer_draw(self) -> np.ndarray:
        """One uniform per volunteer, by id: below ``lecturer_share`` trained at the start, below
        ``lecturer_target_share`` designated for training (the same volunteers in every scenario)."""
        return keyed_uniform(self.cfg.seed, "volunteers.lecturer", 0, self.volunteers.uid)

    # ------------------------------------------------------------------ helpers
    def draw(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` for the month being run."""
        return stream(self.cfg.seed, name, self.month + 1)

    def village_uniforms(self, name: str) -> np.ndarray:
        """One uniform per village from this month's stream ``name``: a region's villages get the
        values they get in a province run."""
        r = self.region
        return self._province_uniforms(self.draw(name), self.v.n if r is None else r.n_villages_province,
                                       None if r is None else r.villages)

    def select(self, group: np.ndarray, key: np.ndarray, candidate: np.ndarray, units: np.ndarray,
               name: str, people: np.ndarray | None = None) -> np.ndarray:
        """:func:`sim.draws.select` with this month's ``name + '.round'`` stream."""
        return select(self.draw(name + ".round"), self.W, group, key, candidate, units, people)

    def _per_village(self, values: np.ndarray) -> np.ndarray:
        return per_village_sum(values, self.f.village_start)

    def _per_county(self, values: np.ndarray) -> np.ndarray:
        return self.county_sum(self._per_village(values))

    def count_by_county(self, idx: np.ndarray, weights=None) -> np.ndarray:
        """Full-scale count of families ``idx`` (optionally weighted) per county.

        Counts, and integer weights, add up exactly in any order (below 2**53), so they are
        counted by county at once; other weights are summed by village, then by county (the
        order in which these float sums were always taken: another order could change their
        last digits)."""
        if weights is None or np.asarray(weights).dtype.kind in "biu":
            return np.bincount(self.county_of(idx), weights=weights, minlength=self.n_c) * self.W
        per_v = np.bincount(self.f.village[idx], weights=weights, minlength=self.v.n)
        return self.county_sum(per_v) * self.W

    _count_idx_by_county = count_by_county

    def county_of(self, idx: np.ndarray) -> np.ndarray:
        return self.v_county[self.f.village[idx]]

    @staticmethod
    def _mean(flags: np.ndarray) -> float:
        """``flags.mean()`` (the same float), counted rather than summed in float64."""
        return np.count_nonzero(flags) / len(flags) if len(flags) else float("nan")

    @property
    def idx_digital(self) -> np.ndarray:
        """Families with internet access."""
        return self.digital_families[0]

    @property
    def digital_families(self) -> tuple[np.ndarray, np.ndarray]:
        """(families with internet access, grouped by county; index in them of each county's
        first), found once when first asked. Built provinces number villages county by county, so
        this is family order; a province whose villages are not (relabelled) is ordered by county,
        then family."""
        if self._digital is None:
            parts = [np.flatnonzero(self.f.digital[i:j]) + i for i, j in blocks(self.f.n)]
            idx = np.concatenate(parts).astype(np.int32) if parts else np.empty(0, np.int32)
            if (np.diff(self.v_county) < 0).any():  # villages not numbered county by county
                idx = idx[np.argsort(self.v_county[self.f.village[idx]], kind="stable")]
                self._digital = (idx, np.searchsorted(self.v_county[self.f.village[idx]], np.arange(self.n_c + 1)))
            else:
                fam_start_c = self.f.village_start[np.searchsorted(self.v_county, np.arange(self.n_c + 1))]
                self._digital = (idx, np.searchsorted(idx, fam_start_c))
        return self._digital

    def _youth_share(self, flag: str) -> float:
        n = len(self.idx_youth)
        return np.count_nonzero(np.logical_and(self.state[flag], self.f.n_youth)) / n if n else 0.0

    def _share(self, flag: str, idx: np.ndarray) -> float:
        return float(self.state[flag][idx].mean()) if len(idx) else 0.0

    def village(self, i: int) -> VillageView:
        return VillageView(self, i)

    def family(self, i: int) -> FamilyView:
        return FamilyView(self, i)

    @property
    def month_of_year(self) -> int:
        return self.month % 12 + 1

    @property
    def policy_announced(self) -> bool:
        """The new fertility policy is announced in the first year's ``policy_announce_month``."""
        return self.month >= 12 or self.month_of_year >= self.cfg.diffusion.policy_announce_month

    def season_key(self, season: str, month_index: int) -> str:
        """The seasonal profile in force in month ``month_index`` (0-based): after the first
        year, the ``<name>_later`` profile where there is one."""
        later = f"{season}_later"
        return later if month_index >= 12 and later in self.season else season

    def available(self, channel: str, season: str) -> np.ndarray:
        """Money of ``channel`` released so far this year by ``season`` less what was spent."""
        share = 1.0 if season == "january" else self.cum_season[season][self.month_of_year - 1]
        return np.maximum(self.money_year[channel] * share - self.spent_year[channel], 0.0)

    _available = available

    def spend(self, act: Activity | str, amount, channel: str | None = None) -> None:
        """Book ``amount`` (yuan, per county or one province value) to ``act``'s channel and pot."""
        act = activity(act) if isinstance(act, str) else act
        channel = channel or act.channel
        amount = np.asarray(amount, dtype=np.float64)
        if self.spent_year[channel].shape == (1,) and amount.size > 1:  # a province pot spent by counties
            amount = np.array([amount.sum()])
        amount = np.broadcast_to(amount, self.spent_year[channel].shape)
        self.spent_year[channel] = self.spent_year[channel] + amount
        self.ledger.add(act.pot, act.name, amount)
        if channel in plan.COUNTY_CHANNELS or channel == "stipends":
            self.cm["spend_yuan"][self.month] += amount

    def bind(self, act: str, bound: np.ndarray) -> None:
        self.binding[self.month, NAMES.index(act)] |= bound.astype(np.int8)

    def use_hours(self, act: str, used_c: np.ndarray) -> None:
        """Record hours by role (roles x counties) used by ``act`` this month."""
        self.hours_used[self.month, NAMES.index(act)] += used_c.sum(axis=1)
        self.hours_used_c[self.month] += used_c

    def run_county(self, act: Activity, demand: np.ndarray, money: np.ndarray, *,
                   whole: bool = False) -> np.ndarray:
        """Run ``act`` in every county: units limited by demand, ``money`` and the county pools of
        the roles that may do it; books hours, binding and money. Returns the units per county."""
        a = self.cfg.activities
        cost = float(getattr(a, act.unit_cost_key)) if act.unit_cost_key else 0.0
        pool = self.hands.county_pool()
        units, bound, used = capacity(demand, money, cost, pool, slot_specs(act, a), whole)
        self.hands.take_county(used, pool)
        self.bind(act.name, bound)
        self.use_hours(act.name, used)
        if cost > 0:
            self.spend(act, units * cost)
        return units

    def province_pot_by_demand(self, channel: str, demand_c: np.ndarray) -> np.ndarray:
        """What is left of a province pot this year, shared among counties by this month's demand."""
        money = max(self.money_year[channel][0] - self.spent_year[channel][0], 0.0)
        return money * demand_c / max(demand_c.sum(), 1e-12)

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """Advance one month (the order is the module docstring's)."""
        if self.month >= self.cfg.months:
            raise RuntimeError(f"the run has {self.cfg.months} months; no month {self.month + 1}")
        self.hands = self._month_hands()
        if self.month_of_year == 1:
            self._new_year()
        self.attended = {t: [] for t in TOPICS}
        for act in TABLE:
            SUBMODELS[act.name](self, act)
        diffuse(self)
        turnover(self)
        self._book_personnel()
        self._record()
        self.month += 1
        self.datacollector.collect(self)

    def run(self) -> OutreachModel:
        """Run all ``cfg.months`` months."""
        from sim.progress import Progress

        with Progress("running", self.cfg.months, enabled=None if self.cfg.progress else False) as bar:
            while self.month < self.cfg.months:
                self.step()
                bar.step(f"month {self.month}")
        return self

    def _month_hands(self) -> Hands:
        """This month's hours by role: township posts' village share, officers, untrained and
        trained active volunteers per village; professional hours per county."""
        st, vol = self.cfg.staffing, self.volunteers
        n_v = self.v.n
        village = np.zeros((N_ROLES, n_v))
        village[STAFF] = self.township_hours_v
        village[ROLES.index("officer")] = self.officer_hours_v
        # Active volunteers' hours by (village, trained) in one pass: each village's untrained and
        # trained hours are summed in volunteer order, as two separate sums would be.
        active = vol.active
        vil = vol.village[active]
        key = vil * 2 + self.trained[active]
        by_trained = np.bincount(key, weights=vol.hours_per_month[active], minlength=2 * n_v).reshape(n_v, 2)
        self.active_v = np.bincount(vil, minlength=n_v)
        """Active volunteers per village: this month's until :func:`turnover` (which alone changes
        them, last in the month) sets the month's end."""
        for role, trained in (("volunteer", 0), ("lecturer", 1)):
            r = ROLES.index(role)
            village[r] = by_trained[:, trained]
            extra = getattr(st, f"extra_{role}_hours_per_month")
            if extra > 0 and village[r].sum() > 0:
                village[r] += extra * village[r] / village[r].sum()
        hands = Hands(village, self.prof_hours, self.v_county, self.county_sum)
        pool = hands.county_pool()
        pool[STAFF] += self.township_hours_c
        self.hours_available[self.month] = pool.sum(axis=1)
        self.hours_available_c[self.month] = pool
        return hands

    def _new_year(self) -> None:
        if self.month > 0:
            self.last_shortfall = 1 - 0.5 * (self.county_coverage("youth_education")
                                             + self.county_coverage("special_visited"))
        for k in ("youth_reached", "health_reached", "visited", "livelihood_helped"):
            self.state[k][:] = False
        self.ledger.reset()
        self.provincial.set_budgets()
        plan.plan_year(self)
        # Renew the free insurance of the families insured last year, as money allows.
        a = self.cfg.activities
        sp_idx = self.idx_special
        insured = self.state["insured"]
        was = insured[sp_idx]
        insured[sp_idx] = False
        want = was.sum() * self.W
        units = min(want, self.money_year["insurance"][0] / a.insurance_premium_yuan) if a.insurance_premium_yuan > 0 \
            else want
        zero = np.zeros(len(sp_idx), dtype=np.int64)
        renew = self.select(zero, self.draw("insurance.renew").random(len(sp_idx)), was, np.array([units]),
                            "insurance.renew")
        insured[sp_idx[renew]] = True
        self.spend("insurance", np.array([units * a.insurance_premium_yuan]))

    def allocate(self) -> None:
        """Set this year's money by channel (called in January; see :mod:`sim.plan`)."""
        plan.allocate(self)

    def _book_personnel(self) -> None:
        """The month's posts and officers' stipends, from the personnel budget."""
        st = self.cfg.staffing
        self.ledger.add("personnel", "staff_posts", sum(self.posts.values()) * st.post_cost_yuan_per_year / 12)
        self.ledger.add("personnel", "officer_stipends",
                        self.v.n * st.officer_stipend_yuan_per_year * st.officers_per_village / 3 / 12)

    def _record(self) -> None:
        m = self.month
        b = self.binding[m]
        self.cm["money_bound"][m] = (b & 1).any(axis=0)
        self.cm["hands_bound"][m] = (b & ~1).any(axis=0)
        self.cm["volunteers_active"][m] = self.county_sum(self.active_v)  # after turnover

    # ------------------------------------------------------------------ results
    def county_coverage(self, indicator: str) -> np.ndarray:
        """Coverage of a family indicator in each county (fractions of the eligible families)."""
        n, d = self.county_counts(indicator)
        return np.where(d > 0, n / np.maximum(d, 1e-12), 0.0)

    def county_counts(self, indicator: str) -> tuple[np.ndarray, np.ndarray]:
        """(reached, eligible) full-scale families of a family indicator in each county."""
        subset, reached = family_indicator(self, indicator)
        if subset is None:
            return self._per_county(reached) * self.W, self.n_v_c * self.W
        return self.count_by_county(subset[reached]), self.count_by_county(subset)

    @property
    def hours_left(self) -> np.ndarray:
        """Professional hours for county activities left this month (per county)."""
        return self.hands.county_staff
