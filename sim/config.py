"""Typed configuration of a run: one plain dataclass per Hydra config group.

The CLI converts Hydra's config to these dataclasses at once (``OmegaConf.to_object``);
nothing below it sees a ``DictConfig``. Every range is checked in ``__post_init__`` and a
bad value raises :class:`sim.errors.ConfigError` naming the key and the allowed range.
Units are in the names (``_yuan``, ``_hours``, ``_month``). Defaults are the 2021 baseline;
values marked *calibrated* are overwritten by ``sim/conf/calibration/fitted.yaml``.

References: ../docs/ODD.md (what each parameter does and where its default comes from).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from sim.activities import check_roles
from sim.errors import ConfigError, check_choice, check_range
from sim.levers import LEVERS, merge_file, normalise_codes

NETWORK_KINDS = ("geo", "well_mixed", "isolated")
POLICIES = ("as_reported", "per_capita", "equal", "need_based", "performance")
STIPEND_POTS = ("personnel", "association")
TOPICS = ("policy", "health", "youth")
FULL_SCALE_HOUSEHOLDS = 22_900_000
"""Households of the embedded province (2020 census), about."""
MIN_SCALE = 5e-5
"""The smallest ``population.scale``: about 1,000 simulated families (scale x 22.9 million
households); below it a run would simulate a handful of families or none."""


def _nonneg(obj, *names: str, prefix: str) -> None:
    for n in names:
        check_range(f"{prefix}.{n}", getattr(obj, n), 0)


def _share(obj, *names: str, prefix: str) -> None:
    for n in names:
        check_range(f"{prefix}.{n}", getattr(obj, n), 0, 1)


@dataclass
class PopulationConfig:
    """The synthetic province: who lives where (MODEL.md section 3)."""

    seed: int = 2021
    """Seed of the province build (separate from the run seed, so a sweep shares one province)."""
    scale: float = 0.1
    """Fraction of families simulated, in (0, 1]; reported counts are rescaled to the province."""
    n_villages: int = 29213
    urban_share: float = 0.18
    avg_household_size: float = 2.67
    family_household_share: float = 0.91988
    """Share of residents living in family households (61,121,055 / 66,444,864, 2020 census)."""
    special_households: int = 90000
    hardship_households: int = 200000
    youth_share: float = 0.165
    """Residents aged 10-24 (derived from the census 0-14 and 15-59 shares)."""
    infant_share: float = 0.045
    """Residents aged 0-3."""
    elderly_share: float = 0.1988
    """Residents aged 60+ (2020 census)."""
    cache_dir: str = ""
    """Where built provinces are cached; empty means $OUTREACH_SIM_CACHE or ~/.cache/outreach-sim."""
    use_cache: bool = True

    def __post_init__(self):
        p = "population"
        check_range(f"{p}.seed", self.seed, 0, 2**63 - 1)
        check_range(f"{p}.scale", self.scale, 0, 1, low_open=True)
        if self.scale < MIN_SCALE:
            raise ConfigError(f"{p}.scale", self.scale,
                              f"simulates about {self.scale * FULL_SCALE_HOUSEHOLDS:.3g} families; must be in "
                              f"[{MIN_SCALE:g}, 1] (at least about 1,000 of the {FULL_SCALE_HOUSEHOLDS:,} households)")
        check_range(f"{p}.n_villages", self.n_villages, 1)
        check_range(f"{p}.avg_household_size", self.avg_household_size, 1, 10)
        _share(self, "urban_share", "family_household_share", "youth_share", "infant_share",
               "elderly_share", prefix=p)
        _nonneg(self, "special_households", "hardship_households", prefix=p)
        check_range(f"{p}.youth_share+infant_share+elderly_share",
                    self.youth_share + self.infant_share + self.elderly_share, 0, 1)


@dataclass
class NetworkConfig:
    """The village network (MODEL.md section 3)."""

    kind: str = "geo"
    k_near: int = 4
    """Nearest villages of the same township each village links to (plus a spanning tree)."""
    p_shortcut: float = 0.1
    """Per village, probability of one small-world shortcut to a village of another township."""
    p_migrant_link: float = 0.35
    """Per rural village, probability of a link to an urban community of its prefecture."""

    def __post_init__(self):
        check_choice("network.kind", self.kind, NETWORK_KINDS)
        check_range("network.k_near", self.k_near, 0, 50)
        _share(self, "p_shortcut", "p_migrant_link", prefix="network")


@dataclass
class FundingConfig:
    """Money per year (2021 yuan) and how it is allocated (MODEL.md sections 4-6)."""

    policy: str = "as_reported"
    multiplier: float = 1.0
    """Scales every association budget and project fund (budget_cut_20 = 0.8); not the raised funds."""
    raised_funds_multiplier: float = 1.0
    """Scales the funds and goods raised for festival visits (donations: their own lever)."""
    extra_outreach_yuan: float = 0.0
    """Extra association money for county outreach a year (province total), shared among counties
    and channels like the rest of it: the money lever of ``outreach-sim-marginal``."""
    provincial_budget_yuan: float = 57.88e6
    provincial_outreach_share: float = 0.09
    """Share of the provincial operating budget spent on province-run outreach: the livestreams
    (indivisible campaigns, paid first) and, with the rest, web and WeChat publicity (divisible)."""
    insurance_funds_yuan: float = 15.0e6
    nursing_subsidy_funds_yuan: float = 18.0e6
    livelihood_funds_yuan: float = 13.08e6
    """Project funds (46.08 M in all) less insurance and nursing subsidy."""
    raised_visit_funds_yuan: float = 216.0e6
    """Funds and goods raised for festival visits (not from association budgets)."""
    prefecture_budget_yuan: float = 24.36e6
    """All 14 prefecture budgets together: the sum of the 2021 pattern (each >= 1 M; Changsha 3.86 M)."""
    county_budget_yuan: float = 100.1e6
    """All 122 county budgets together: the sum of the 2021 pattern (0.2-3.2 M; 27 counties above 1 M)."""
    outreach_share: float = 0.35
    """Share of prefecture and county budgets available to outreach activities (rest: staff, offices)."""
    county_min_yuan_per_resident: float = 0.0
    """Floor on a county's budget per resident (per_capita_2yuan = 2)."""
    online_shift: float = 0.0
    """Share of in-person activity money moved to online channels (digital_first)."""
    share_youth_lectures: float = 0.40
    share_family_health: float = 0.35
    share_policy_events: float = 0.15
    share_volunteers: float = 0.10
    """Channel shares of county outreach money; they must sum to 1."""

    def __post_init__(self):
        p = "funding"
        check_choice(f"{p}.policy", self.policy, POLICIES)
        check_range(f"{p}.multiplier", self.multiplier, 0, 10)
        check_range(f"{p}.raised_funds_multiplier", self.raised_funds_multiplier, 0, 10)
        _nonneg(self, "provincial_budget_yuan", "insurance_funds_yuan", "nursing_subsidy_funds_yuan",
                "livelihood_funds_yuan", "raised_visit_funds_yuan", "prefecture_budget_yuan",
                "county_budget_yuan", "county_min_yuan_per_resident", "extra_outreach_yuan", prefix=p)
        _share(self, "provincial_outreach_share", "outreach_share", "online_shift",
               "share_youth_lectures", "share_family_health", "share_policy_events",
               "share_volunteers", prefix=p)
        total = (self.share_youth_lectures + self.share_family_health + self.share_policy_events
                 + self.share_volunteers)
        if abs(total - 1) > 1e-6:
            raise ConfigError(f"{p}.share_youth_lectures+share_family_health+share_policy_events+share_volunteers",
                              round(total, 6), "the channel shares must sum to 1")


@dataclass
class StaffingConfig:
    """Hands by role and what they cost (MODEL.md section 4b and 'Defaults to start from').

    Paid posts are paid from the personnel budget (``post_cost_yuan_per_year`` each); a post
    gives ``staff_hours_per_month * staff_outreach_share`` hours a month to the modelled
    activities. Village officers give ``officer_hours_per_month`` each and are paid their
    stipends from the personnel budget; volunteers give ``volunteer_hours_per_month`` each, and
    a share of them are trained peer lecturers.
    """

    prefecture_staff: float = 8
    county_staff: float = 4
    township_staff_share: float = 0.5
    """Share of townships with one full-time staffer (2021: half)."""
    township_staff_min: int = 0
    """Minimum full-time staff in every township (township_staff_1 = 1)."""
    posts_multiplier: float = 1.0
    """Scales the paid posts at every level (staff_plus_20 = 1.2), at their cost."""
    post_cost_yuan_per_year: float = 125000.0
    """Yearly cost of a paid post to the personnel budget: about the province's average wage of
    urban non-private units (about 90 thousand yuan in 2021) plus employer on-costs (social
    insurance and housing fund, about 35 %); an assumption, range +-30 %."""
    staff_hours_per_month: float = 160
    staff_outreach_share: float = 0.12
    """Share of a post's hours given to the modelled activities (about 19 hours a month); the rest
    goes to the association's other work the report names (family insurance for 1.1 M households,
    eugenics insurance, entrepreneurship projects, village association elections, statistics),
    administration and meetings. Not identifiable from the 2021 figures: chosen so that, as the
    report's staffing reform says, some counties are short of hands in peak months at 2021
    (range 0.06-0.3; MODEL.md's starting value 0.6 leaves every post idle most of the month)."""
    prefecture_hours_to_counties: float = 0.5
    """Share of prefecture posts' outreach hours spent on county activities (by population)."""
    officers_per_village: float = 3
    officer_hours_per_month: float = 8
    officer_stipend_yuan_per_year: float = 1400.0
    """Stipends of one village association's three officers a year: vice-president 800 and
    information officer 600 yuan, the president unpaid (the report, Ningxiang), from the personnel
    budget; scaled by ``officers_per_village / 3``."""
    volunteers_per_village: float = 3
    volunteer_hours_per_month: float = 6
    volunteer_stipend_yuan_per_month: float = 0.0
    volunteer_stipend_pot: str = "personnel"
    """Pot that pays the volunteer stipends, in full: ``personnel`` (government money on top of the
    association budgets) or ``association`` (taken first from each county's outreach money)."""
    lecturer_share: float = 0.02
    """Share of volunteers already trained as peer lecturers at the start (MODEL.md: at first a
    small share, range 2-10 %)."""
    lecturer_target_share: float = 0.02
    """Share of volunteers the counties keep trained as lecturers: each January they train the
    volunteers designated (the same volunteers, by id, in every scenario) and not yet trained, at
    the training's cost in money and professional hours (trained_lecturers = 0.1)."""
    p_volunteer_leave_month: float = 0.015
    rel_leave_overload: float = 2.0
    """Leaving hazard multiplier per unit of overload (hours demanded / hours available - 1)."""
    p_volunteer_recruit_month: float = 0.016
    """Recruits per existing volunteer per month at average activity, no stipend."""
    rel_recruit_stipend_per_100yuan: float = 0.5
    max_families_per_contact: int = 10
    """K: special families one volunteer or officer can be the contact person of."""
    township_hours_to_villages: float = 0.5
    """Share of township staff hours spent in the villages (visits, contact persons), the rest on
    county activities."""
    extra_staff_hours_per_month: float = 0.0
    extra_officer_hours_per_month: float = 0.0
    extra_volunteer_hours_per_month: float = 0.0
    extra_lecturer_hours_per_month: float = 0.0
    """Extra hours of a role a month, province total, shared among counties (and villages) in
    proportion to the role's own hours: the levers of ``outreach-sim-marginal``."""

    def __post_init__(self):
        p = "staffing"
        _nonneg(self, "prefecture_staff", "county_staff", "township_staff_min", "officers_per_village",
                "volunteers_per_village", "volunteer_stipend_yuan_per_month", "rel_leave_overload",
                "rel_recruit_stipend_per_100yuan", "post_cost_yuan_per_year", "officer_stipend_yuan_per_year",
                "extra_staff_hours_per_month", "extra_officer_hours_per_month", "extra_volunteer_hours_per_month",
                "extra_lecturer_hours_per_month", prefix=p)
        check_range(f"{p}.posts_multiplier", self.posts_multiplier, 0, 10)
        check_range(f"{p}.staff_hours_per_month", self.staff_hours_per_month, 0, 744)
        check_range(f"{p}.officer_hours_per_month", self.officer_hours_per_month, 0, 744)
        check_range(f"{p}.volunteer_hours_per_month", self.volunteer_hours_per_month, 0, 744)
        _share(self, "township_staff_share", "staff_outreach_share", "township_hours_to_villages",
               "p_volunteer_leave_month", "p_volunteer_recruit_month", "prefecture_hours_to_counties",
               "lecturer_share", "lecturer_target_share", prefix=p)
        check_range(f"{p}.max_families_per_contact", self.max_families_per_contact, 1)
        check_choice(f"{p}.volunteer_stipend_pot", self.volunteer_stipend_pot, STIPEND_POTS)


@dataclass
class ActivitiesConfig:
    """Unit costs (yuan), staff-hours and reach of each activity (MODEL.md section 5)."""

    youth_lecture_cost_yuan: float = 1575.0
    youth_lecture_organiser_hours: float = 2.0
    """Professional hours per lecture arranging it with the school and reporting it."""
    youth_lecture_organiser_roles: tuple[str, ...] = ("staff",)
    youth_lecture_lead_hours: float = 3.0
    """Hours of the lecturer (preparation, travel, the lecture), a staffer or a trained volunteer."""
    youth_lecture_lead_roles: tuple[str, ...] = ("lecturer", "staff")
    youth_lecture_helper_hours: float = 2.0
    """Hours of helpers (arranging with the school, gathering the youth)."""
    youth_lecture_helper_roles: tuple[str, ...] = ("officer", "volunteer", "lecturer", "staff")
    youth_per_lecture: float = 234.0
    youth_lecture_target_share: float = 0.5
    """Yearly plan: lectures enough for this share of the county's youth."""
    lecture_school_months: tuple[int, ...] = (3, 4, 5, 6, 9, 10, 11, 12)
    family_health_event_cost_yuan: float = 14700.0
    family_health_events_per_site_year: float = 1.0
    family_health_event_staff_hours: float = 16.0
    """Professional hours per event (planning with the health bureau, programme, report)."""
    family_health_event_staff_roles: tuple[str, ...] = ("staff",)
    family_health_event_helper_hours: float = 40.0
    """Officers' and volunteers' hours per event (mobilising families, running the site)."""
    family_health_event_helper_roles: tuple[str, ...] = ("officer", "volunteer", "lecturer", "staff")
    participants_per_event: float = 1600.0
    persons_per_participating_family: float = 1.6
    n_family_health_sites: int = 1452
    policy_event_cost_yuan: float = 15000.0
    policy_events_per_county_year: float = 5.0
    policy_event_staff_hours: float = 16.0
    """Professional hours per event (content, the online broadcast, the on-site session)."""
    policy_event_staff_roles: tuple[str, ...] = ("staff",)
    policy_event_helper_hours: float = 8.0
    policy_event_helper_roles: tuple[str, ...] = ("officer", "volunteer", "lecturer", "staff")
    online_viewers_per_event: float = 1250.0
    onsite_viewers_per_event: float = 250.0
    livestream_cost_yuan: float = 1.5e6
    p_view_livestream: tuple[float, ...] = (0.0182, 0.0333, 0.0473)
    """Per digital family, probability of watching the 5.29 launch, youth and family-health streams."""
    livestream_months: tuple[int, ...] = (5, 9, 12)
    livestream_topics: tuple[str, ...] = ("health", "youth", "health")
    online_cost_yuan_per_family: float = 3.0
    """Money per family reached by online outreach (county, digital_first; province web publicity)."""
    online_staff_hours_per_family: float = 0.002
    """Professional hours per family reached online (content, moderation: 2 hours per 1,000)."""
    online_content_roles: tuple[str, ...] = ("staff",)
    viewers_per_watching_family: float = 1.2
    visit_hours: float = 2.0
    """Hours of a home visit, plus travel that grows with the village's remoteness."""
    visit_visitor_roles: tuple[str, ...] = ("volunteer", "officer", "lecturer", "staff")
    travel_minutes_per_remoteness_minute: float = 2.0
    """Round-trip travel minutes per minute of village remoteness."""
    visit_goods_yuan_per_person: float = 94.0
    visits_per_eligible_family_year: float = 2.0
    elderly_difficulty_share: float = 0.07
    """Share of families with members 60+ that count as in difficulty (visit-eligible)."""
    p_visit_health_education: float = 0.5
    insurance_premium_yuan: float = 166.7
    insurance_enrol_hours: float = 0.5
    insurance_enrol_roles: tuple[str, ...] = ("officer", "staff")
    """Village officers collect the forms; staff stand in."""
    initial_insured_share: float = 0.9
    p_insurance_enrol_month: float = 0.3
    p_hospital_person_month: float = 0.0075
    nursing_subsidy_yuan_per_person: float = 1098.0
    nursing_subsidy_claim_hours: float = 2.0
    nursing_subsidy_claim_roles: tuple[str, ...] = ("staff",)
    livelihood_cost_yuan_per_household: float = 400.0
    livelihood_target_share: float = 0.15
    """Yearly plan: livelihood projects for this share of the county's hardship households."""
    livelihood_project_hours: float = 1.0
    livelihood_project_roles: tuple[str, ...] = ("staff", "officer")
    contact_hours_per_family_month: float = 1.0
    contact_duty_roles: tuple[str, ...] = ("volunteer", "officer", "lecturer", "staff")
    lecturer_training_cost_yuan: float = 600.0
    """Money per volunteer trained as a peer lecturer (course, materials, travel), from the
    volunteers channel; an assumption, range 300-1,200."""
    lecturer_training_trainer_hours: float = 8.0
    """Professional hours per volunteer trained (a share of a two-day course); range 4-16."""
    lecturer_training_trainer_roles: tuple[str, ...] = ("staff",)
    volunteer_support_yuan_per_month: float = 3.0
    """Insurance and small training per active volunteer, from the county's volunteer money."""
    initial_contact_share: float = 0.5
    p_contact_assign_month: float = 0.06
    initial_green_channel_share: float = 0.6
    p_green_channel_month: float = 0.04
    initial_family_doctor_share: float = 0.55
    p_family_doctor_month: float = 0.04

    def __post_init__(self):
        p = "activities"
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name.endswith("_roles"):
                continue
            if f.name == "livestream_topics":
                for i, t in enumerate(v):
                    check_choice(f"{p}.{f.name}[{i}]", t, TOPICS)
            elif f.name.startswith("p_view"):
                for i, x in enumerate(v):
                    check_range(f"{p}.{f.name}[{i}]", x, 0, 1)
            elif f.name.endswith("months"):
                for i, m in enumerate(v):
                    check_range(f"{p}.{f.name}[{i}]", m, 1, 12)
            elif f.name.startswith(("p_", "initial_")) or f.name.endswith("_share"):
                check_range(f"{p}.{f.name}", v, 0, 1)
            else:
                check_range(f"{p}.{f.name}", v, 0)
        check_roles(self)
        for name in ("p_view_livestream", "livestream_topics"):
            if len(getattr(self, name)) != len(self.livestream_months):
                check_range(f"{p}.{name} (length)", len(getattr(self, name)),
                            len(self.livestream_months), len(self.livestream_months))


@dataclass
class DiffusionConfig:
    """Knowledge diffusion, MODEL.md section 6: hazard d_i + p_ext*digital_i + q*w_i."""

    p_ext: float = 0.004
    """Monthly broadcast hazard for families with digital access."""
    q: float = 0.25
    """Word-of-mouth coefficient."""
    theta: float = 0.2
    """Weight of network neighbours' aware share in w_i."""
    hazard_attend: float = 1.2
    """Hazard d_i for a family that attended an activity on the topic this month (comprehension)."""
    hazard_online: float = 0.4
    """Hazard d_i of a family reached online (livestream or online outreach) this month."""
    forgetting_month: float = 0.0
    policy_announce_month: int = 6
    """Month of year the new fertility policy is announced (no broadcast or events before it)."""
    initial_health_aware: float = 0.3

    def __post_init__(self):
        p = "diffusion"
        _nonneg(self, "p_ext", "q", "hazard_attend", "hazard_online", prefix=p)
        _share(self, "theta", "forgetting_month", "initial_health_aware", prefix=p)
        check_range(f"{p}.policy_announce_month", self.policy_announce_month, 1, 12)


@dataclass
class LeversConfig:
    """Levers of single counties and prefectures, keyed by admin code (``sim/levers.py``).

    Each map sends a 6-digit admin code (a county, e.g. 431126, or a prefecture, e.g. 430100
    or 4301) to a value: on the command line ``levers.budget_yuan={430121:3.0e6}`` or
    ``levers.budget_yuan.430121=3.0e6``; in a scenario file a YAML map. ``file`` names a CSV a
    planner edits (``python -m sim.levers --template FILE`` writes one with today's values),
    with a ``code`` column and any of the lever columns (an empty cell leaves that lever
    alone); the command line's values win over the file's for the same code and lever. The
    run's saved config holds the file's values too, so its hash changes when the file does.
    """

    file: str = ""
    """A CSV file of levers by admin code (columns ``code`` and any of :data:`LEVERS`)."""
    budget_yuan: dict[Any, float] | None = None
    """A county's (or prefecture's) association budget in yuan a year, in place of its share of
    ``funding.county_budget_yuan`` (``prefecture_budget_yuan``); the other units keep theirs."""
    posts: dict[Any, float] | None = None
    """Paid posts of a county (or prefecture) association, in place of ``staffing.county_staff``
    (``prefecture_staff``) times ``posts_multiplier``, at their cost."""
    township_posts: dict[Any, float] | None = None
    """Full-time staff in every township of a county (county codes only), in place of
    ``staffing.township_staff_share`` and ``township_staff_min`` there (Ningyuan: 2)."""
    weight: dict[Any, float] | None = None
    """Multiplies a county's weight when ``funding.policy`` splits a pot among counties (a
    prefecture's, when the prefecture budgets are split); the totals stay, the others get less."""
    yuan_per_resident: dict[Any, float] | None = None
    """Floor on a county's budget per resident, in place of ``funding.county_min_yuan_per_resident``
    (a prefecture code sets it for each of its counties; Xinhua: 2)."""

    def __post_init__(self):
        for name in LEVERS:
            setattr(self, name, normalise_codes(name, getattr(self, name)))
        if self.file:
            merge_file(self)


@dataclass
class ScenarioConfig:
    """A named scenario: what it is and why (the levers live in the other groups)."""

    name: str = "baseline_2021"
    description: str = "2021 budgets, staff and volunteers as reported."
    description_zh: str = ""
    """The description in Chinese (for ``outreach-sim-report --lang zh``); changes no result."""

    def __post_init__(self):
        n = self.name
        if not isinstance(n, str) or not n.strip() or any(c in n for c in "/\\\0") or ".." in n:
            raise ConfigError("scenario.name", n, "must be a non-empty folder name without '/', '\\', '..' "
                              "or NUL (it names the run's output folder)")


@dataclass
class RunConfig:
    """Everything one run needs."""

    seed: int = 1
    months: int = 12
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    funding: FundingConfig = field(default_factory=FundingConfig)
    staffing: StaffingConfig = field(default_factory=StaffingConfig)
    activities: ActivitiesConfig = field(default_factory=ActivitiesConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    levers: LeversConfig = field(default_factory=LeversConfig)
    region: str = ""
    """Simulate one prefecture or county only (``sim/region.py``): an admin code (430100, 4301,
    431126), a Chinese name (长沙市) or pinyin (changsha); empty for the whole province."""
    progress: bool = True

    def __post_init__(self):
        check_range("seed", self.seed, 0, 2**63 - 1)
        check_range("months", self.months, 1, 60)
        if self.region != "":
            from sim.levers import check_region
            from sim.region import resolve_region

            self.region = str(resolve_region(self.region).code)  # one spelling: the admin code
            check_region(self.levers, int(self.region))
