"""The monthly outreach model (MODEL.md sections 4-6) as a vectorized ``mesa.Model``.

Each step is one month, in this order:

1. **Calendar.** The month's campaigns switch on (:mod:`sim.calendar`). In month 1 of each year
   the year's counters reset, budgets are set (step 2) and the free insurance is renewed.
2. **Allocation** (January). The provincial association splits the county-level pots by
   ``funding.policy`` (:mod:`sim.allocation`): county outreach money by channel (youth lectures,
   family health events, policy events, volunteers; ``online_shift`` of the in-person money to
   online), livelihood funds and raised visit funds. Insurance, nursing subsidy and livestream
   money stay with the province.
3. **Activities.** Each county runs this month's share of its yearly plan (the plan's share by
   the calendar, plus what is behind), limited by money (the channel's money released so far
   less what is spent; unspent money carries over within the year) and by professional
   staff-hours (county, prefecture share and township staff), whichever binds first. Order:
   insurance enrolment, nursing-subsidy claims, livelihood projects, youth lectures, policy
   events, family health events, online outreach; the province runs its livestreams. What
   bound (money, staff, or neither) is recorded per county, month and activity. Nursing-subsidy
   claims are those of this month's hospitalisations of special-family members (step 5 of
   MODEL.md, run here because the claims need this month's county staff-hours).
4. **Villages.** Contact persons are assigned (at most K special families per officer or
   volunteer, one hour per family a month) and register green-channel and family-doctor
   contracts; volunteers and officers make the month's visits (special, then hardship, then
   elderly families in difficulty), each costing 2 hours plus travel that grows with the
   village's remoteness, and goods from the raised visit funds per person visited.
5. **Families.** Attendance and visits add the hazard ``d_i``; knowledge diffuses by the exact
   rule of :mod:`sim.diffusion` (the policy topic only once the policy is announced).
6. **Volunteers** leave (more when overloaded) and are recruited (more with activity and
   stipend).
7. **Metrics** are collected: a model-level series (Mesa DataCollector) and county arrays.

Every random decision draws from its own named stream (``self.draw``) for all rows of a fixed
set (all families, families with youth, special families, ...) and then masks, so two
scenarios with the same seed draw the same numbers for the same families. Per-family draws
and comparisons run in blocks of ``sim.diffusion.BLOCK`` families (the same numbers as one
draw; no per-family temporary is allocated), a month's stream that no decision uses is not
drawn, and runs of families that cannot be reached (probability 0) are skipped with PCG64's
``advance``: none of this changes any family's number.

Money is in yuan and hours in staff-hours, both at full province scale: a simulated family
stands for ``weight`` families and costs ``weight`` times the unit cost.
"""

from __future__ import annotations

import numpy as np
from mesa import DataCollector, Model
from scipy.special import pdtr
from scipy.stats import poisson

from sim.agents import (
    CountyAssociation,
    FamilyView,
    PrefectureAssociation,
    ProvincialAssociation,
    VillageView,
)
from sim.allocation import county_pattern, policy_weights, prefecture_pattern
from sim.calendar import seasonal_weights
from sim.config import TOPICS, RunConfig
from sim.diffusion import (
    BLOCK,
    attended_hazards,
    contact_share,
    hazard_tables,
    network_degree,
    per_village_sum,
    step_block,
    village_aware_share,
)
from sim.metrics import ACTIVITIES, family_indicator
from sim.population import make_volunteers
from sim.province import Province, build_province
from sim.rng import keyed_uniform, stream

COUNTY_CHANNELS = ("youth_lectures", "family_health_events", "policy_events", "volunteers", "online",
                   "livelihood", "visits")
PROVINCE_CHANNELS = ("insurance", "nursing_subsidy", "livestreams")
PROJECT_CHANNELS = ("insurance", "nursing_subsidy", "livelihood")
NONE, MONEY, STAFF = 0, 1, 2
"""Binding codes are bit flags: MONEY | STAFF (3) when both limits cut the activity."""
FLAGS = ("youth_reached", "health_reached", "visited", "livelihood_helped", "insured", "contact",
         "green_channel", "family_doctor", "eligible_visit")


def _blocks(stop: int, start: int = 0) -> list[tuple[int, int]]:
    """(start, stop) of the blocks of ``BLOCK`` rows that cover rows ``start`` to ``stop``."""
    return [(i, min(i + BLOCK, stop)) for i in range(start, stop, BLOCK)]


def _lexsort_group_key(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``np.lexsort((key, group))``: by group, then key, then row.

    Keys drawn by ``Generator.random`` are multiples of 2**-53 in [0, 1), so (group, key) packs
    exactly into one uint64 whose stable argsort is the same order, 3-4 times faster than
    lexsort. Other keys or groups fall back to lexsort.
    """
    k = key * 2.0**53
    if (len(key) and key.dtype == np.float64 and 0 <= group.min() and group.max() < 2**10
            and 0 <= k.min() and k.max() < 2.0**53 and np.array_equal(k, np.floor(k))):
        packed = k.astype(np.uint64) | (group.astype(np.uint64) << np.uint64(53))
        return np.argsort(packed, kind="stable")
    return np.lexsort((key, group))


def _capacity(demand, money_available, unit_cost, hours_available, unit_hours):
    """Units run, and what bound: min(demand, money cap, staff cap) per county.

    Returns (units, bound) with bound NONE where demand bound (or nothing was asked),
    MONEY where money allowed fewer units than staff and demand, STAFF likewise, and
    MONEY | STAFF where both allowed the same number of units, fewer than asked.
    """
    demand = np.maximum(demand, 0.0)
    money_cap = np.where(unit_cost > 0, money_available / np.maximum(unit_cost, 1e-12), np.inf)
    staff_cap = np.where(unit_hours > 0, hours_available / np.maximum(unit_hours, 1e-12), np.inf)
    money_cap = np.maximum(money_cap, 0.0)
    staff_cap = np.maximum(staff_cap, 0.0)
    units = np.minimum(demand, np.minimum(money_cap, staff_cap))
    short = units < demand - 1e-9
    bound = short * (MONEY * (money_cap <= staff_cap) + STAFF * (staff_cap <= money_cap))
    return units, bound


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
        self.province = province or build_province(cfg.population, cfg.network, progress=cfg.progress)
        p = self.province
        self.v, self.f = p.villages, p.families
        self.W = self.f.weight
        self.month = 0  # months run so far; the month being run is self.month + 1
        self.n_c = p.n_counties
        self._setup_static()
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
        })

    # ------------------------------------------------------------------ setup
    def _setup_static(self) -> None:
        cfg, p, v, f = self.cfg, self.province, self.v, self.f
        a, st = cfg.activities, cfg.staffing
        self.season = seasonal_weights(a.lecture_school_months, cfg.diffusion.policy_announce_month)
        # After the first year the policy is known: policy events run all year.
        self.season["policy_events_later"] = seasonal_weights(a.lecture_school_months, 1)["policy_events"]
        self.cum_season = {k: np.cumsum(w) for k, w in self.season.items()}
        vc = v.county.astype(np.int64)
        self.v_county = vc
        self.n_v = np.diff(f.village_start)
        self.degree_v = network_degree(p.network)
        self.fam_full_v = self.n_v * self.W
        self.n_v_c = np.bincount(v.county, weights=self.n_v, minlength=p.n_counties).astype(float)
        self.county_population = p.admin.counties["population"].to_numpy(float)
        self.county_pref = p.admin.counties["pref"].to_numpy()

        # Fixed sets of families (independent of policy, so draws over them are shared).
        # int32 (like f.village): half the memory of flatnonzero's int64, filled block by block.
        self.idx_youth = np.empty(np.count_nonzero(f.n_youth), dtype=np.int32)
        k = 0
        for i, j in _blocks(f.n):
            rows = np.flatnonzero(f.n_youth[i:j])
            self.idx_youth[k:k + len(rows)] = rows + i
            k += len(rows)
        self.idx_special = np.flatnonzero(f.special)
        self.idx_hardship = np.flatnonzero(f.hardship)
        # Visit-eligible: special, hardship, or members 60+ and in difficulty (one uniform per family).
        rs = stream(cfg.seed, "setup.elderly_difficulty")
        rows = []
        for i, j in _blocks(f.n):
            eligible = (rs.random(j - i) < a.elderly_difficulty_share) & (f.n_elderly[i:j] > 0)
            eligible |= f.special[i:j]
            eligible |= f.hardship[i:j]
            rows.append(np.flatnonzero(eligible) + i)
        self.idx_eligible = np.concatenate(rows) if rows else np.empty(0, np.intp)
        self.elig_group = np.where(f.special[self.idx_eligible], 0, np.where(f.hardship[self.idx_eligible], 1, 2))
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
        # Expected full-scale visit-eligible households per village and group (special,
        # hardship, elderly in difficulty), from the village's shares.
        hh = v.households.astype(np.float64)
        sp, hd = v.special_share.astype(np.float64), v.hardship_share.astype(np.float64)
        p_elderly = float((f.n_elderly > 0).mean()) if f.n else 0.0
        self.expected_v = np.stack([hh * sp, hh * hd * (1 - sp),
                                    hh * (1 - sp) * (1 - hd) * p_elderly * a.elderly_difficulty_share])
        self.n_special_v = np.bincount(f.village[self.idx_special], minlength=v.n)
        self.persons_per_eligible = float(f.size[self.idx_eligible].mean()) if len(self.idx_eligible) else 0.0

        # Family health sites: n_sites allotted to counties by population, villages at random.
        from sim.admin import largest_remainder

        n_sites = largest_remainder(min(a.n_family_health_sites, v.n), self.county_population)
        rs = stream(p.seed, "setup.sites")
        self.site = np.zeros(v.n, dtype=bool)
        order = np.argsort(rs.random(v.n))
        by_county = order[np.argsort(vc[order], kind="stable")]
        starts = np.searchsorted(vc[by_county], np.arange(self.n_c))
        ends = np.append(starts[1:], len(by_county))
        for c in range(self.n_c):
            self.site[by_county[starts[c]:min(starts[c] + n_sites[c], ends[c])]] = True
        self.sites_c = np.bincount(vc, weights=self.site, minlength=self.n_c)

        # Full-scale counts per county.
        self.youth_members_c = self._per_county(f.n_youth) * self.W  # exact integer sums
        self.families_c = np.bincount(vc, weights=self.fam_full_v, minlength=self.n_c)
        self.digital_c = self._per_county(f.digital) * self.W
        self.special_c = self._per_county(f.special) * self.W
        self.hardship_c = self._per_county(f.hardship) * self.W
        self.eligible_c = np.bincount(vc, weights=np.bincount(
            f.village[self.idx_eligible], minlength=v.n), minlength=self.n_c) * self.W
        self.access_v = (1 - 0.5 * np.minimum(1, v.remoteness_min / 60.0)).astype(np.float32)

        # Staff: township offices, professional hours per county-month, village hours.
        rt = stream(cfg.seed, "setup.township_staff")
        n_t = len(v.township_county)
        staffed = rt.random(n_t) < st.township_staff_share
        self.township_staff = np.maximum(staffed.astype(float), st.township_staff_min)
        tcounty = v.township_county.astype(np.int64)
        town_staff_c = np.bincount(tcounty, weights=self.township_staff, minlength=self.n_c)
        pref_pop = np.bincount(self.county_pref, weights=self.county_population)
        pref_share = self.county_population / pref_pop[self.county_pref]
        hours = st.staff_hours_per_month * st.staff_outreach_share
        self.prof_hours = (st.county_staff + st.prefecture_staff * pref_share
                           + (1 - st.township_hours_to_villages) * town_staff_c) * hours
        town_to_v = st.township_hours_to_villages * self.township_staff * hours
        n_v_town = np.bincount(v.township, minlength=n_t)
        self.township_hours_v = (town_to_v / np.maximum(n_v_town, 1))[v.township]
        self.travel_hours_v = a.travel_minutes_per_remoteness_minute * v.remoteness_min / 60.0
        self.visit_hours_v = a.visit_hours + self.travel_hours_v

        # Budget patterns.
        self.county_pattern = county_pattern(p.admin.counties)
        self.pref_pattern = prefecture_pattern(p.admin.prefectures)

    def _setup_state(self) -> None:
        cfg, f = self.cfg, self.f
        a, d = cfg.activities, cfg.diffusion
        n = f.n
        self.state = {k: np.zeros(n, dtype=bool) for k in FLAGS}
        self.state["eligible_visit"][self.idx_eligible] = True
        r = stream(cfg.seed, "setup.initial_state")
        u = r.random((4, len(self.idx_special)))
        sp_idx = self.idx_special
        self.state["insured"][sp_idx] = u[0] < a.initial_insured_share
        self.state["contact"][sp_idx] = u[1] < a.initial_contact_share
        self.state["green_channel"][sp_idx] = u[2] < a.initial_green_channel_share
        self.state["family_doctor"][sp_idx] = u[3] < a.initial_family_doctor_share
        self.aware = {t: np.zeros(n, dtype=bool) for t in TOPICS}
        for i, j in _blocks(n):
            self.aware["health"][i:j] = r.random(j - i, dtype=np.float32) < d.initial_health_aware
        self.volunteers = make_volunteers(self.v.n, cfg.staffing.volunteers_per_village,
                                          cfg.staffing.volunteer_hours_per_month)
        self.volunteers_start = self.volunteers.n_active
        self.recruited = 0
        self.left = 0
        self.last_shortfall = None
        months = cfg.months
        self.cm = {k: np.zeros((months, self.n_c)) for k in (
            "spend_yuan", "youth_lectures", "youth_beneficiaries", "family_health_events",
            "family_health_participants", "policy_events", "visits", "person_visits",
            "hospitalised", "subsidised", "insured_new", "livelihood_helped", "online_reached",
            "volunteers_active", "money_bound", "staff_bound")}
        self.binding = np.zeros((months, len(ACTIVITIES), self.n_c), dtype=np.int8)
        self.province_month = {k: np.zeros(months) for k in ("livestream_viewers", "livestreams")}

    # ------------------------------------------------------------------ helpers
    def draw(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` for the month being run."""
        return stream(self.cfg.seed, name, self.month + 1)

    def _draws_below(self, name: str, p_table: np.ndarray, key: np.ndarray,
                     village_positive: np.ndarray | None = None) -> np.ndarray:
        """Rows ``i`` (sorted) where ``u[i] < p_table[key[i]]``, ``u`` one float32 uniform per row
        of ``key`` from stream ``name`` (drawn block by block: the same numbers as one draw).

        With ``village_positive`` (rows are families; False where the village's probability is
        0, so that no uniform is below it), the families of runs of such villages are not drawn:
        PCG64 makes two float32 uniforms of each 64-bit output, so skipping an even number of
        them with ``advance`` is exact and every other family gets its usual uniform.
        """
        gen = self.draw(name)
        if village_positive is None:
            runs = [(0, len(key))]
        else:  # families of runs of positive villages, widened to even rows
            edge = np.diff(village_positive.astype(np.int8), prepend=0, append=0)
            vs = self.f.village_start
            runs = zip(vs[np.flatnonzero(edge == 1)] // 2 * 2,
                       np.minimum((vs[np.flatnonzero(edge == -1)] + 1) // 2 * 2, len(key)), strict=True)
        rows, at = [], 0  # `at`: rows drawn or skipped so far (even until the last row)
        for start, stop in runs:
            start = max(int(start), at)
            if start >= stop:
                continue
            if start > at:
                gen.bit_generator.advance((start - at) // 2)
            rows += [np.flatnonzero(gen.random(j - i, dtype=np.float32) < np.take(p_table, key[i:j], mode="clip")) + i
                     for i, j in _blocks(int(stop), start)]
            at = int(stop)
        return np.concatenate(rows) if rows else np.empty(0, np.intp)

    def _digital_draws_below(self, name: str, p: float) -> np.ndarray:
        """Families with internet access (sorted) whose uniform is below ``p``: one float32 uniform
        per such family, in family order, from stream ``name`` (the same numbers as one draw)."""
        gen = self.draw(name)
        rows = []
        for i, j in _blocks(self.f.n):
            dig = np.flatnonzero(self.f.digital[i:j])
            rows.append(dig[gen.random(len(dig), dtype=np.float32) < p] + i)
        return np.concatenate(rows) if rows else np.empty(0, np.intp)

    def _per_village(self, values: np.ndarray) -> np.ndarray:
        return per_village_sum(values, self.f.village_start)

    def _per_county(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.v_county, weights=self._per_village(values), minlength=self.n_c)

    def _count_idx_by_county(self, idx: np.ndarray, weights=None) -> np.ndarray:
        """Full-scale count of families ``idx`` (optionally weighted) per county."""
        vil = self.f.village[idx]
        per_v = np.bincount(vil, weights=weights, minlength=self.v.n)
        return np.bincount(self.v_county, weights=per_v, minlength=self.n_c) * self.W

    @staticmethod
    def _mean(flags: np.ndarray) -> float:
        """``flags.mean()`` (the same float), counted rather than summed in float64."""
        return np.count_nonzero(flags) / len(flags) if len(flags) else float("nan")

    @property
    def idx_digital(self) -> np.ndarray:
        """Families with internet access (computed when asked: most months do not need it)."""
        return np.flatnonzero(self.f.digital)

    def _youth_share(self, flag: str) -> float:
        """``_share(flag, idx_youth)``, counted over the families with youth without gathering them."""
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

    def _available(self, channel: str, season: str) -> np.ndarray:
        released = self.money_year[channel] * self.cum_season[season][self.month_of_year - 1]
        return np.maximum(released - self.spent_year[channel], 0.0)

    def _spend(self, channel: str, amount: np.ndarray) -> None:
        amount = np.broadcast_to(amount, self.spent_year[channel].shape)
        self.spent_year[channel] = self.spent_year[channel] + amount
        if channel in COUNTY_CHANNELS:
            self.cm["spend_yuan"][self.month] += amount

    # ------------------------------------------------------------------ step 2: allocation
    def allocate(self) -> None:
        """Set this year's money by channel (called in January)."""
        fu = self.cfg.funding
        k = fu.multiplier
        need = self.special_c + self.hardship_c
        w = lambda pattern: policy_weights(fu.policy, pattern=pattern, population=self.county_population,  # noqa: E731
                                           need=need, shortfall=self.last_shortfall)
        pref_budget = self.pref_pattern / self.pref_pattern.sum() * fu.prefecture_budget_yuan * k
        self.prefecture_budget_yuan = pref_budget
        # Prefecture money reaches counties in proportion to the county weights within the prefecture.
        wc = w(self.county_pattern)
        pref_total_w = np.bincount(self.county_pref, weights=wc)
        pref_to_c = pref_budget[self.county_pref] * wc / pref_total_w[self.county_pref]
        county_budget = wc * fu.county_budget_yuan * k
        county_budget = np.maximum(county_budget, fu.county_min_yuan_per_resident * self.county_population)
        self.county_budget_yuan = county_budget
        outreach = (county_budget + pref_to_c) * fu.outreach_share
        shift = fu.online_shift
        self.money_year = {
            "youth_lectures": outreach * fu.share_youth_lectures * (1 - shift),
            "family_health_events": outreach * fu.share_family_health * (1 - shift),
            "policy_events": outreach * fu.share_policy_events * (1 - shift),
            "volunteers": outreach * fu.share_volunteers,
            "online": outreach * (fu.share_youth_lectures + fu.share_family_health
                                  + fu.share_policy_events) * shift,
            "livelihood": w(self.hardship_c) * fu.livelihood_funds_yuan * k,
            "visits": w(self.eligible_c) * fu.raised_visit_funds_yuan * k,
            "insurance": np.array([fu.insurance_funds_yuan * k]),
            "nursing_subsidy": np.array([fu.nursing_subsidy_funds_yuan * k]),
            "livestreams": np.array([fu.provincial_budget_yuan * fu.provincial_outreach_share * k]),
        }
        topics = np.array([fu.share_policy_events, fu.share_family_health, fu.share_youth_lectures])
        self.online_topic_share = topics / topics.sum() if topics.sum() > 0 else np.full(3, 1 / 3)
        self.spent_year = {ch: np.zeros_like(m) for ch, m in self.money_year.items()}
        a = self.cfg.activities
        self.target_year = {
            "youth_lectures": self.youth_members_c * a.youth_lecture_target_share / a.youth_per_lecture,
            "family_health_events": self.sites_c * a.family_health_events_per_site_year,
            "policy_events": np.full(self.n_c, a.policy_events_per_county_year),
        }
        self.done_year = {k: np.zeros(self.n_c) for k in (*self.target_year, "livelihood")}

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """Advance one month (the order is the module docstring's)."""
        if self.month >= self.cfg.months:
            raise RuntimeError(f"the run has {self.cfg.months} months; no month {self.month + 1}")
        moy = self.month_of_year
        if moy == 1:
            self._new_year()
        self.hours_left = self.prof_hours.copy()
        self.attended = {t: [] for t in TOPICS}
        self._insurance()
        self._nursing_subsidy()
        self._livelihood()
        self._youth_lectures()
        self._policy_events()
        self._family_health_events()
        self._online()
        self._livestreams()
        self._villages()
        self._diffuse()
        self._volunteers_turnover()
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

    def _new_year(self) -> None:
        if self.month > 0:
            self.last_shortfall = 1 - 0.5 * (self.county_coverage("youth_education")
                                             + self.county_coverage("special_visited"))
        for k in ("youth_reached", "health_reached", "visited", "livelihood_helped"):
            self.state[k][:] = False
        self.provincial.set_budgets()
        # Renew the free insurance of the families insured last year, as money allows.
        a = self.cfg.activities
        sp_idx = self.idx_special
        insured = self.state["insured"]
        was = insured[sp_idx]
        insured[sp_idx] = False
        want = was.sum() * self.W
        units = min(want, self.money_year["insurance"][0] / a.insurance_premium_yuan)
        zero = np.zeros(len(sp_idx), dtype=np.int64)
        renew = self._select(zero, self.draw("insurance.renew").random(len(sp_idx)), was,
                             np.array([units]), "insurance.renew")
        insured[sp_idx[renew]] = True
        self._spend("insurance", np.array([units * a.insurance_premium_yuan]))

    # ------------------------------------------------------------------ step 3: activities
    def _bind(self, activity: str, bound: np.ndarray) -> None:
        self.binding[self.month, ACTIVITIES.index(activity)] = bound

    def _select(self, group: np.ndarray, key: np.ndarray, candidate: np.ndarray, units: np.ndarray,
                name: str, people: np.ndarray | None = None) -> np.ndarray:
        """Choose candidates, in order of ``key`` within each group, up to ``units`` (full-scale
        families, or people when ``people`` is given) per group.

        ``units / weight`` is rounded stochastically (one uniform per group from stream
        ``name + '.round'``), so the reach is right in expectation at any scale while the money
        (accounted as ``units`` times the unit cost) never exceeds what is available.
        """
        n_groups = len(units)
        u = self.draw(name + ".round").random(n_groups)
        limit = np.floor(units / self.W + u)
        cost = np.ones(len(group)) if people is None else people.astype(np.float64)
        cost = np.where(candidate, cost, 0.0)
        chosen = np.zeros(len(group), dtype=bool)
        if people is None or np.issubdtype(people.dtype, np.integer):
            # Whole-number costs add up exactly in any order, so in a group whose candidates
            # all fit every candidate is chosen, and elsewhere only candidates need sorting
            # (the others cost nothing and are never chosen).
            fits = (np.bincount(group, weights=cost, minlength=n_groups) <= limit + 1e-9)[group]
            chosen[fits] = cost[fits] > 0
            rows = np.flatnonzero(~fits & (cost > 0))
        else:
            rows = np.arange(len(group))
        order = rows[_lexsort_group_key(group[rows], key[rows])]
        g = group[order]
        c = cost[order]
        cum = np.cumsum(c)
        new_group = np.ones(len(g), dtype=bool)
        np.not_equal(g[1:], g[:-1], out=new_group[1:])
        first = np.maximum.accumulate(np.where(new_group, np.arange(len(g)), 0))  # of each row's group
        within = cum - (cum[first] - c[first])
        chosen[order] = (within <= limit[g] + 1e-9) & (c > 0)
        return chosen

    def _province_pot_by_demand(self, channel: str, demand_c: np.ndarray) -> np.ndarray:
        """What is left of a province pot this year, shared among counties by this month's demand."""
        money = max(self.money_year[channel][0] - self.spent_year[channel][0], 0.0)
        return money * demand_c / max(demand_c.sum(), 1e-12)

    def _county_of(self, idx: np.ndarray) -> np.ndarray:
        return self.v_county[self.f.village[idx]]

    def _insurance(self) -> None:
        """Uninsured special families ask to enrol (p_insurance_enrol_month); enrolment costs the
        premium (province pot) and 0.5 staff-hours (county)."""
        a = self.cfg.activities
        sp_idx = self.idx_special
        u = self.draw("insurance.enrol").random((2, len(sp_idx)))
        want = ~self.state["insured"][sp_idx] & (u[0] < a.p_insurance_enrol_month)
        demand_c = self._count_idx_by_county(sp_idx[want])
        units, bound = _capacity(demand_c, self._province_pot_by_demand("insurance", demand_c),
                                 a.insurance_premium_yuan, self.hours_left,
                                 a.insurance_enrol_hours)
        self._bind("insurance", bound)
        self.hours_left -= units * a.insurance_enrol_hours
        new = self._select(self._county_of(sp_idx), u[1], want, units, "insurance.enrol")
        self.state["insured"][sp_idx[new]] = True
        self._spend("insurance", np.array([units.sum() * a.insurance_premium_yuan]))
        self.cm["insured_new"][self.month] += self._count_idx_by_county(sp_idx[new])

    def _nursing_subsidy(self) -> None:
        """Special-family members are hospitalised; each claims the nursing subsidy (province
        pot, 2 staff-hours at the county) while the money lasts."""
        a = self.cfg.activities
        sp_idx = self.idx_special
        hosp = self.draw("hospital").binomial(self.f.size[sp_idx], a.p_hospital_person_month)
        key = self.draw("nursing_subsidy").random(len(sp_idx))
        people_c = self._count_idx_by_county(sp_idx, weights=hosp)
        units, bound = _capacity(people_c, self._province_pot_by_demand("nursing_subsidy", people_c),
                                 a.nursing_subsidy_yuan_per_person, self.hours_left,
                                 a.claim_hours)
        self._bind("nursing_subsidy", bound)
        self.hours_left -= units * a.claim_hours
        paid = self._select(self._county_of(sp_idx), key, hosp > 0, units, "nursing_subsidy", people=hosp)
        self._spend("nursing_subsidy", np.array([units.sum() * a.nursing_subsidy_yuan_per_person]))
        self.cm["hospitalised"][self.month] += people_c
        self.cm["subsidised"][self.month] += self._count_idx_by_county(sp_idx, weights=np.where(paid, hosp, 0))

    def _livelihood(self) -> None:
        """Livelihood projects for hardship families not yet helped this year: the year's plan
        (``livelihood_target_share`` of them) spread evenly, limited by money and staff."""
        a = self.cfg.activities
        h_idx = self.idx_hardship
        not_yet = ~self.state["livelihood_helped"][h_idx]
        plan = self.hardship_c * a.livelihood_target_share * self.cum_season["even"][self.month_of_year - 1]
        demand = np.minimum(plan - self.done_year["livelihood"], self._count_idx_by_county(h_idx[not_yet]))
        units, bound = _capacity(demand, self._available("livelihood", "even"),
                                 a.livelihood_cost_yuan_per_household, self.hours_left, a.livelihood_hours)
        self._bind("livelihood", bound)
        self.hours_left -= units * a.livelihood_hours
        self.done_year["livelihood"] += units
        key = self.draw("livelihood").random(len(h_idx))
        new = h_idx[self._select(self._county_of(h_idx), key, not_yet, units, "livelihood")]
        self.state["livelihood_helped"][new] = True
        self._spend("livelihood", units * a.livelihood_cost_yuan_per_household)
        self.cm["livelihood_helped"][self.month] += self._count_idx_by_county(new)

    def _run_events(self, activity: str, unit_cost: float, unit_hours: float) -> np.ndarray:
        """Events of a county-level activity this month: the plan's share so far less what was
        done, limited by the channel's money and the professional hours."""
        moy = self.month_of_year
        season = self.season_key(activity, self.month)
        demand = np.floor(self.target_year[activity] * self.cum_season[season][moy - 1]
                          - self.done_year[activity] + 1e-9)
        units, bound = _capacity(demand, self._available(activity, season), unit_cost,
                                 self.hours_left, unit_hours)
        units = np.floor(units + 1e-9)
        self._bind(activity, bound)
        self.hours_left -= units * unit_hours
        self.done_year[activity] += units
        self._spend(activity, units * unit_cost)
        self.cm[activity][self.month] += units
        return units

    def _youth_lectures(self) -> None:
        a, d = self.cfg.activities, self.cfg.diffusion
        lectures = self._run_events("youth_lectures", a.youth_lecture_cost_yuan, a.youth_lecture_hours)
        if lectures.sum() == 0:
            return  # (the stream is this month's own: not drawing it changes no other draw)
        idx = self.idx_youth
        lam_c = lectures * a.youth_per_lecture / np.maximum(self.youth_members_c, 1e-12)
        # Hazard lam_c * access * n_youth takes one value per (village, n_youth): a table.
        lam_v = lam_c[self.v_county] * self.access_v
        p_table = -np.expm1(-(lam_v[:, None] * np.arange(self.youth_keys, dtype=np.uint8))).ravel()
        reached = idx[self._draws_below("youth_lectures", p_table, self.youth_key)]
        self.state["youth_reached"][reached] = True
        self.attended["youth"].append((reached, d.hazard_attend))
        self.cm["youth_beneficiaries"][self.month] += self._count_idx_by_county(
            reached, weights=self.f.n_youth[reached].astype(float))

    def _policy_events(self) -> None:
        a, d = self.cfg.activities, self.cfg.diffusion
        events = self._run_events("policy_events", a.policy_event_cost_yuan, a.policy_event_hours)
        if events.sum() == 0:
            return
        lam_on = events * a.onsite_viewers_per_event / a.persons_per_participating_family / np.maximum(
            self.families_c, 1e-12)
        lam_off = events * a.online_viewers_per_event / a.viewers_per_watching_family / np.maximum(
            self.digital_c, 1e-12)
        hv = np.empty((self.v.n, 2))
        hv[:, 0] = lam_on[self.v_county]
        hv[:, 1] = hv[:, 0] + lam_off[self.v_county]
        reached = self._draws_below("policy_events", (-np.expm1(-hv)).astype(np.float32).ravel(),
                                    self.village_digital, village_positive=hv[:, 1] > 0)
        self.attended["policy"].append((reached, d.hazard_attend))

    def _family_health_events(self) -> None:
        a, d = self.cfg.activities, self.cfg.diffusion
        events = self._run_events("family_health_events", a.family_health_event_cost_yuan,
                                  a.family_health_event_hours)
        if events.sum() == 0:
            return
        v = self.v
        # Events are held at the county's sites; participants come from the site's township.
        per_site = events / np.maximum(self.sites_c, 1)
        ev_t = np.bincount(v.township, weights=self.site * per_site[self.v_county],
                           minlength=len(v.township_county))
        fam_t = np.bincount(v.township, weights=self.fam_full_v, minlength=len(v.township_county))
        per_event = a.participants_per_event / a.persons_per_participating_family
        lam_v = (ev_t * per_event / np.maximum(fam_t, 1e-12))[v.township]
        p_v = (-np.expm1(-lam_v)).astype(np.float32)
        reached = self._draws_below("family_health_events", p_v, self.f.village, village_positive=p_v > 0)
        self.state["health_reached"][reached] = True
        self.attended["health"].append((reached, d.hazard_attend))
        self.cm["family_health_participants"][self.month] += self._count_idx_by_county(reached) * \
            a.persons_per_participating_family

    def _online(self) -> None:
        a, d = self.cfg.activities, self.cfg.diffusion
        money = self._available("online", "even")
        if money.sum() <= 0:
            return
        idx = self.idx_digital
        u = self.draw("online").random((2, len(idx)), dtype=np.float32)
        reach_c = money / a.online_cost_yuan_per_family
        self._spend("online", money)
        lam = reach_c / np.maximum(self.digital_c, 1e-12)
        vil = self.f.village[idx]
        hit = u[0] < -np.expm1(-lam[self.v_county[vil]])
        cum = np.cumsum(self.online_topic_share)
        topic = np.searchsorted(cum / cum[-1], u[1])
        for k, t in enumerate(("policy", "health", "youth")):
            if t == "policy" and not self.policy_announced:
                continue  # nothing to say about a policy not yet announced
            got = idx[hit & (topic == k)]
            self.attended[t].append((got, d.hazard_online))
            if t == "youth":
                self.state["youth_reached"][got[self.f.n_youth[got] > 0]] = True
        self.cm["online_reached"][self.month] += self._count_idx_by_county(idx[hit])

    def _livestreams(self) -> None:
        a, d = self.cfg.activities, self.cfg.diffusion
        moy = self.month_of_year
        if moy not in a.livestream_months:
            return
        k = a.livestream_months.index(moy)
        money = self.money_year["livestreams"][0] - self.spent_year["livestreams"][0]
        if money < a.livestream_cost_yuan:
            return
        self._spend("livestreams", np.array([a.livestream_cost_yuan]))
        watch = self._digital_draws_below("livestreams", a.p_view_livestream[k])
        topic = a.livestream_topics[k]
        if topic == "policy" and not self.policy_announced:
            return
        self.attended[topic].append((watch, d.hazard_online))
        if topic == "youth":
            self.state["youth_reached"][watch[self.f.n_youth[watch] > 0]] = True
        self.province_month["livestreams"][self.month] += 1
        self.province_month["livestream_viewers"][self.month] += len(watch) * self.W * a.viewers_per_watching_family

    # ------------------------------------------------------------------ step 4: villages
    def _villages(self) -> None:
        """Contact persons, registrations and visits, village by village (vectorized).

        Capacity is computed on each village's expected full-scale numbers (households times
        the village's shares), not on its sampled families, so the results do not depend on
        ``population.scale`` beyond sampling error; sampled families are then served with the
        resulting probabilities.
        """
        a, st = self.cfg.activities, self.cfg.staffing
        f, v, s = self.f, self.v, self.state
        moy = self.month_of_year
        vol = self.volunteers
        n_active_v = np.bincount(vol.village[vol.active], minlength=v.n)
        hours_v = (st.officers_per_village * st.officer_hours_per_month
                   + np.bincount(vol.village[vol.active], weights=vol.hours_per_month[vol.active], minlength=v.n)
                   + self.township_hours_v)

        # Contact persons: at most K families per officer or volunteer, 1 hour a family-month.
        sp_idx = self.idx_special
        sp_v = f.village[sp_idx]
        u = self.draw("contact").random((4, len(sp_idx)), dtype=np.float32)
        slots_v = (st.officers_per_village + n_active_v) * st.max_families_per_contact
        exp_sp = self.expected_v[0]

        def assigned_share() -> np.ndarray:
            has_v = np.bincount(sp_v[s["contact"][sp_idx]], minlength=v.n)
            return np.where(self.n_special_v > 0, has_v / np.maximum(self.n_special_v, 1),
                            a.initial_contact_share)

        share = assigned_share()
        over = np.maximum(exp_sp * share - slots_v, 0)  # fewer volunteers: some lose their contact
        drop = s["contact"][sp_idx] & (u[0] < (over / np.maximum(exp_sp * share, 1e-12))[sp_v])
        s["contact"][sp_idx[drop]] = False
        share = assigned_share()
        free_v = np.maximum(np.minimum(slots_v, hours_v / a.contact_hours_per_family_month) - exp_sp * share, 0)
        want_v = exp_sp * (1 - share) * a.p_contact_assign_month
        p_assign = np.where(want_v > 0, np.minimum(free_v, want_v) / np.maximum(want_v, 1e-12), 0)
        has = s["contact"][sp_idx]
        s["contact"][sp_idx[~has & (u[1] < (p_assign * a.p_contact_assign_month)[sp_v])]] = True
        has = s["contact"][sp_idx]
        s["green_channel"][sp_idx[has & (u[2] < a.p_green_channel_month)]] = True
        s["family_doctor"][sp_idx[has & (u[3] < a.p_family_doctor_month)]] = True
        contact_hours_v = exp_sp * assigned_share() * a.contact_hours_per_family_month
        hours_v = np.maximum(hours_v - contact_hours_v, 0)

        # Visits: eligible families due this month (the yearly plan's share, at most one visit
        # a month), special first, then hardship, then elderly families in difficulty.
        rate = min(1.0, a.visits_per_eligible_family_year * self.season["visits"][moy - 1])
        demand_g = self.expected_v * rate
        demand_v = demand_g.sum(axis=0)
        by_staff_v = np.minimum(demand_v, hours_v / self.visit_hours_v)
        goods_per_visit = self.persons_per_eligible * a.visit_goods_yuan_per_person
        want_money_c = np.bincount(self.v_county, weights=by_staff_v, minlength=self.n_c) * goods_per_visit
        money_c = self._available("visits", "visits")
        scale_c = np.where(want_money_c > money_c, money_c / np.maximum(want_money_c, 1e-12), 1.0)
        served_v = by_staff_v * scale_c[self.v_county]
        lost_staff_c = np.bincount(self.v_county, weights=demand_v - by_staff_v, minlength=self.n_c)
        lost_money_c = np.bincount(self.v_county, weights=by_staff_v, minlength=self.n_c) * (1 - scale_c)
        demand_c = np.bincount(self.v_county, weights=demand_v, minlength=self.n_c)
        self._bind("visits", MONEY * (lost_money_c > 0.01 * demand_c) + STAFF * (lost_staff_c > 0.01 * demand_c))
        left = served_v.copy()
        frac_g = np.zeros_like(demand_g)
        for g in range(3):
            got = np.minimum(left, demand_g[g])
            left -= got
            frac_g[g] = np.where(demand_g[g] > 0, got / np.maximum(demand_g[g], 1e-12), 0)
        e_idx = self.idx_eligible
        u = self.draw("visits").random((3, len(e_idx)), dtype=np.float32)
        chosen = (u[0] < rate) & (u[1] < np.take(frac_g.ravel(), self.elig_key, mode="clip"))
        visited = e_idx[chosen]
        educated = visited[u[2][chosen] < a.p_visit_health_education]
        self._spend("visits", np.bincount(self.v_county, weights=served_v, minlength=self.n_c) * goods_per_visit)
        s["visited"][visited] = True
        s["health_reached"][educated] = True
        self.attended["health"].append((educated, self.cfg.diffusion.hazard_attend))
        self.cm["visits"][self.month] += self._count_idx_by_county(visited)
        self.cm["person_visits"][self.month] += self._count_idx_by_county(
            visited, weights=f.size[visited].astype(float))
        self.hours_used_v = contact_hours_v + served_v * self.visit_hours_v
        self.hours_demand_v = contact_hours_v + demand_v * self.visit_hours_v
        self.hours_avail_v = hours_v + contact_hours_v
        # Volunteer stipends and training from the volunteers channel.
        per_vol = st.volunteer_stipend_yuan_per_month + st.volunteer_training_yuan_per_month
        want_c = np.bincount(self.v_county, weights=n_active_v, minlength=self.n_c) * per_vol
        pay_c = np.minimum(want_c, self._available("volunteers", "even"))
        self._spend("volunteers", pay_c)
        self.stipend_paid_share_c = np.where(want_c > 0, pay_c / np.maximum(want_c, 1e-12), 1.0)

    # ------------------------------------------------------------------ step 5: families
    def _diffuse(self) -> None:
        d = self.cfg.diffusion
        f = self.f
        blocks = _blocks(f.n)
        edges = [i for i, _ in blocks] + [f.n]
        topics = []  # (aware, tables, attended, their hazards, where blocks start in them, generator)
        for t in TOPICS:  # every topic's contact shares from the start-of-month awareness
            aware = self.aware[t]
            if d.forgetting_month > 0:
                forget = self.draw(f"forgetting.{t}").random(f.n, dtype=np.float32) < d.forgetting_month
                aware &= ~forget
            a_v = village_aware_share(aware, f.village_start)
            w_v = contact_share(a_v, self.province.network, d.theta, self.n_v, self.degree_v)
            p_ext = d.p_ext if t != "policy" or self.policy_announced else 0.0
            tables = hazard_tables(w_v, p_ext, d.q)
            idx, h = attended_hazards(self.attended[t])
            if not len(idx) and not tables[1].any():
                continue  # nobody can learn it this month (the policy before its announcement)
            # One uniform per family from the topic's stream, drawn block by block.
            topics.append((aware, tables, idx, h, np.searchsorted(idx, edges), self.draw(f"diffusion.{t}")))
        for b, (i, j) in enumerate(blocks):  # all topics in one pass over the families
            village_digital = self.village_digital[i:j].astype(np.intp)
            for aware, tables, idx, h, cut, gen in topics:
                a0, a1 = cut[b], cut[b + 1]
                step_block(aware[i:j], gen.random(j - i, dtype=np.float32), village_digital, tables,
                           idx[a0:a1] - i, h[a0:a1] if a1 > a0 else 0.0, count=False)

    # ------------------------------------------------------------------ step 6: volunteers
    def _volunteers_turnover(self) -> None:
        st = self.cfg.staffing
        vol = self.volunteers
        load_v = self.hours_demand_v / np.maximum(self.hours_avail_v, 1e-12)
        p_leave = st.p_volunteer_leave_month * (1 + st.rel_leave_overload * np.maximum(load_v - 1, 0))
        u = keyed_uniform(self.cfg.seed, "volunteers.leave", self.month + 1, vol.uid)
        leave = vol.active & (u < p_leave[vol.village])
        vol.active[leave] = False
        self.left += int(leave.sum())
        # Recruitment rises with the village's activity (share of its hours used) and the stipend.
        use_v = np.minimum(self.hours_used_v / np.maximum(self.hours_avail_v, 1e-12), 1.0)
        n_active_v = np.bincount(vol.village[vol.active], minlength=self.v.n)
        stipend = st.volunteer_stipend_yuan_per_month * self.stipend_paid_share_c[self.v_county]
        rate_v = (st.p_volunteer_recruit_month * np.maximum(n_active_v, 1) * (0.5 + use_v)
                  * (1 + st.rel_recruit_stipend_per_100yuan * stipend / 100))
        u = self.draw("volunteers.recruit").random(self.v.n)
        # One uniform per village, inverse CDF; u <= P(0 recruits) means 0, so scipy's (slow)
        # inverse only runs for the few villages that recruit.
        new = np.zeros(self.v.n, dtype=np.int64)
        some = u > pdtr(0, rate_v)
        new[some] = np.maximum(poisson.ppf(u[some], rate_v[some]), 0).astype(np.int64)
        if new.sum():
            vol.append(np.repeat(np.arange(self.v.n), new), st.volunteer_hours_per_month, self.month + 1)
            self.recruited += int(new.sum())

    # ------------------------------------------------------------------ step 7: metrics
    def _record(self) -> None:
        m = self.month
        b = self.binding[m]
        self.cm["money_bound"][m] = (b & MONEY).any(axis=0)
        self.cm["staff_bound"][m] = (b & STAFF).any(axis=0)
        self.cm["volunteers_active"][m] = np.bincount(
            self.v_county[self.volunteers.village[self.volunteers.active]], minlength=self.n_c)

    def county_coverage(self, indicator: str) -> np.ndarray:
        """Coverage of a family indicator in each county (fractions of the eligible families)."""
        subset, reached = family_indicator(self, indicator)
        if subset is None:
            n, d = self._per_county(reached), self.n_v_c
        else:
            n, d = self._count_idx_by_county(subset[reached]), self._count_idx_by_county(subset)
        return np.where(d > 0, n / np.maximum(d, 1e-12), 0.0)
