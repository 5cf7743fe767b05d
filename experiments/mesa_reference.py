"""Plain-Mesa reference of the knowledge-diffusion submodel (MODEL.md section 6), for comparison only.

The rule is the one of :mod:`sim.diffusion`, for one topic and no activities (``d_i = 0``): each
month an unaware family becomes aware with probability

    1 - exp(-(p_ext * digital_i + q * w_v)),
    w_v = (1 - theta) * a_v + theta * sum_u A_vu a_u / sum_u A_vu,

with ``a_v`` the aware share of its village *v* at the start of the month. Here it is written
the textbook Mesa way: one :class:`FamilyAgent` (a ``mesa.Agent``) per family holding its
village, digital flag and awareness state; the model computes ``a_v`` from the agents at the
start of each month, ``w_v`` through the same village network (:func:`sim.diffusion.contact_share`),
then ``self.agents.shuffle_do("step")``, and each agent draws its own uniform from the model's
random generator (``self.random``, Mesa's seeded ``random.Random``; as in Mesa's examples) and
applies the rule. A ``DataCollector`` records the monthly aware share.

Nothing in ``sim`` imports this file: ``python -m sim.bench`` times it against the vectorized
engine on the same province and seed, and ``tests/test_bench.py`` checks that the two agree
statistically on the monthly aware share.
"""

from __future__ import annotations

import math
from enum import Enum

import mesa
import numpy as np
import scipy.sparse as sp

from sim.config import DiffusionConfig
from sim.diffusion import contact_share
from sim.province import Province


class Awareness(Enum):
    UNAWARE = 0
    AWARE = 1


class FamilyAgent(mesa.Agent):
    """One family: its village, whether it has internet access, and whether it knows the topic."""

    def __init__(self, model: DiffusionModel, village: int, digital: bool, aware: bool):
        super().__init__(model)
        self.village = village
        self.digital = digital
        self.state = Awareness.AWARE if aware else Awareness.UNAWARE

    def step(self) -> None:
        """Become aware with probability 1 - exp(-(p_ext * digital + q * w_v))."""
        if self.state is Awareness.AWARE:
            return
        m = self.model
        hazard = m.p_ext * self.digital + m.q * m.w_v[self.village]
        if self.random.random() < 1 - math.exp(-hazard):
            self.state = Awareness.AWARE


class DiffusionModel(mesa.Model):
    """Knowledge diffusion of one topic over families in villages, one ``FamilyAgent`` each.

    Args:
        village: village of each family (families sorted by village or not).
        digital: internet access of each family.
        aware: whether each family knows the topic at the start.
        network: the village network (``None``: well mixed).
        n_villages: number of villages.
        p_ext: monthly broadcast hazard for families with internet access.
        q: word-of-mouth coefficient.
        theta: weight of the network neighbours' aware share in ``w``.
        rng: seed of the model's random generators.
    """

    def __init__(self, village: np.ndarray, digital: np.ndarray, aware: np.ndarray,
                 network: sp.csr_matrix | None, n_villages: int, *, p_ext: float, q: float,
                 theta: float, rng: int | None = None):
        super().__init__(rng=rng)
        self.p_ext, self.q, self.theta = p_ext, q, theta
        self.network = network
        self.n_villages = n_villages
        self.families_v = np.bincount(np.asarray(village), minlength=n_villages)
        self.w_v: list[float] = [0.0] * n_villages
        for v, d, a in zip(np.asarray(village).tolist(), np.asarray(digital).tolist(),
                           np.asarray(aware).tolist(), strict=True):
            FamilyAgent(self, v, d, a)
        self.datacollector = mesa.DataCollector(model_reporters={"aware_share": DiffusionModel.aware_share})

    def aware_share(self) -> float:
        """Share of all families that know the topic."""
        return sum(a.state is Awareness.AWARE for a in self.agents) / max(len(self.agents), 1)

    def village_aware_share(self) -> np.ndarray:
        """``a_v``: the aware share of each village, counted from the agents."""
        counts = np.zeros(self.n_villages)
        for agent in self.agents:
            if agent.state is Awareness.AWARE:
                counts[agent.village] += 1
        return counts / np.maximum(self.families_v, 1)

    def step(self) -> None:
        """One month: contact shares from the start-of-month awareness, then every family's rule."""
        a_v = self.village_aware_share()
        self.w_v = contact_share(a_v, self.network, self.theta, self.families_v).tolist()
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)


def from_province(province: Province, diffusion: DiffusionConfig, aware: np.ndarray, *,
                  seed: int, q: float | None = None) -> DiffusionModel:
    """The reference model on a built province's families and network (``q`` overrides the config's)."""
    f = province.families
    return DiffusionModel(f.village, f.digital, aware, province.network, province.villages.n,
                          p_ext=diffusion.p_ext, q=diffusion.q if q is None else q,
                          theta=diffusion.theta, rng=seed)
