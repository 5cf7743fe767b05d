"""The association agents (Mesa) and thin views over the vectorized agents.

Provincial, prefecture and county associations are few and differ, so they are ``mesa.Agent``
subclasses; their money and staff live in the model's county/prefecture arrays, and the agent
objects read and act on their own row. Village associations, volunteers and families are rows
of arrays (:mod:`sim.population`); :class:`VillageView` and :class:`FamilyView` give a user one
row as an object for inspection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from sim.model import OutreachModel


def _admin_columns(model: OutreachModel, table: str) -> dict[str, list]:
    """Code, names (and prefecture) of every row of the admin ``table`` ("counties" or
    "prefectures"), read once per model: pandas row access (``iloc``) costs about 0.1 ms a
    call, a good part of a small run's set-up with 122 counties."""
    cache = model.__dict__.setdefault("_admin_columns", {})
    if table not in cache:
        df = getattr(model.province.admin, table)
        keys = ("code", "name_zh", "name_en", "pref") if table == "counties" else ("code", "name_zh", "name_en")
        cache[table] = {k: df[k].tolist() for k in keys}
    return cache[table]


class ProvincialAssociation(mesa.Agent):
    """The provincial association: sets every year's budgets and runs the livestreams.

    Owns the province-level pots (insurance, nursing subsidy, livestreams) and the allocation
    policy (``funding.policy``) by which county-level pots are split.
    """

    def set_budgets(self) -> None:
        """Split this year's money among counties by the scenario's policy (model.allocate)."""
        self.model.allocate()

    @property
    def budget_yuan(self) -> float:
        return float(self.model.cfg.funding.provincial_budget_yuan * self.model.cfg.funding.multiplier)


class PrefectureAssociation(mesa.Agent):
    """A prefecture association (14): budget and staff passed on to its counties."""

    def __init__(self, model: OutreachModel, index: int):
        super().__init__(model)
        self.index = index
        col = _admin_columns(model, "prefectures")
        self.code, self.name_zh, self.name_en = int(col["code"][index]), col["name_zh"][index], col["name_en"][index]

    @property
    def budget_yuan(self) -> float:
        return float(self.model.prefecture_budget_yuan[self.index])

    @property
    def staff(self) -> float:
        return float(self.model.cfg.staffing.prefecture_staff)


class CountyAssociation(mesa.Agent):
    """A county association (122): its money by channel, staff-hours and results are rows of
    the model's county arrays."""

    def __init__(self, model: OutreachModel, index: int):
        super().__init__(model)
        self.index = index
        col = _admin_columns(model, "counties")
        self.code, self.name_zh, self.name_en = int(col["code"][index]), col["name_zh"][index], col["name_en"][index]
        self.prefecture = int(col["pref"][index])

    @property
    def budget_yuan(self) -> float:
        return float(self.model.county_budget_yuan[self.index])

    @property
    def money_yuan(self) -> dict[str, float]:
        """This year's money by channel."""
        return {ch: float(v[self.index]) for ch, v in self.model.money_year.items() if len(v) > 1}

    @property
    def spent_yuan(self) -> dict[str, float]:
        return {ch: float(v[self.index]) for ch, v in self.model.spent_year.items() if len(v) > 1}

    @property
    def professional_hours_per_month(self) -> float:
        return float(self.model.prof_hours[self.index])


@dataclass(frozen=True)
class VillageView:
    """One village association, read from the arrays."""

    model: OutreachModel
    index: int

    @property
    def county(self) -> str:
        return self.model.province.admin.counties["name_en"].iloc[int(self.model.v.county[self.index])]

    @property
    def population(self) -> int:
        return int(self.model.v.population[self.index])

    @property
    def urban(self) -> bool:
        return bool(self.model.v.urban[self.index])

    @property
    def active_volunteers(self) -> int:
        vol = self.model.volunteers
        return int(np.count_nonzero(vol.active & (vol.village == self.index)))

    @property
    def families(self) -> range:
        s = self.model.f.village_start
        return range(int(s[self.index]), int(s[self.index + 1]))

    @property
    def family_health_site(self) -> bool:
        return bool(self.model.site[self.index])


@dataclass(frozen=True)
class FamilyView:
    """One simulated family, read from the arrays."""

    model: OutreachModel
    index: int

    def __getattr__(self, name: str):
        m = self.model
        for arrays in (m.f.arrays(), m.state):
            if name in arrays:
                value = arrays[name][self.index]
                return value.item() if hasattr(value, "item") else value
        raise AttributeError(name)

    def aware(self, topic: str) -> bool:
        return bool(self.model.aware[topic][self.index])
