"""How money is split among the 14 prefectures and 122 counties (MODEL.md section 4, step 2).

The ``as_reported`` pattern synthesises 2021 budgets from what the report says:

* prefectures: Changsha 3.86 M; Xiangtan, Changde, Zhangjiajie and Loudi above 2 M (2.1 M);
  the rest 1.0-1.9 M rising with population. Scaled to ``funding.prefecture_budget_yuan``.
* counties: Yizhang and Yongxing above 3 M (3.2 M); the eight counties named above 2 M (2.3 M);
  the most populous others up to 27 counties in all above 1 M (1.05-1.8 M); the rest 0.2-0.95 M
  rising with population. Scaled to ``funding.county_budget_yuan``.

Policies split a pot among counties with weights: ``as_reported`` (the pattern above, and for
earmarked pots their natural target: livelihood funds by hardship households, visit funds by
visit-eligible families), ``per_capita`` (population), ``equal``, ``need_based`` (special plus
hardship households) and ``performance`` (as reported, tilted towards last year's coverage
shortfall: weight x (1 + shortfall - mean shortfall); the first year as reported).

References: hunan_2021_reported.yaml, funding.*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COUNTIES_OVER_3M = ("宜章县", "永兴县")
COUNTIES_OVER_2M = ("苏仙区", "北湖区", "湘潭县", "桃江县", "安仁县", "资兴市", "溆浦县", "新化县")
PREFECTURES_OVER_2M = ("湘潭市", "常德市", "张家界市", "娄底市")
N_COUNTIES_OVER_1M = 27


def _ramp(pop: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if len(pop) == 0:
        return pop.astype(float)
    span = pop.max() - pop.min()
    t = (pop - pop.min()) / span if span > 0 else np.zeros(len(pop))
    return lo + (hi - lo) * t


def prefecture_pattern(prefectures: pd.DataFrame) -> np.ndarray:
    """2021 prefecture budgets in yuan (before scaling to the configured total)."""
    pop = prefectures["population"].to_numpy(float)
    b = _ramp(pop, 1.0e6, 1.9e6)
    b[prefectures["name_zh"].isin(PREFECTURES_OVER_2M).to_numpy()] = 2.1e6
    b[(prefectures["name_zh"] == "长沙市").to_numpy()] = 3.86e6
    return b


def county_pattern(counties: pd.DataFrame) -> np.ndarray:
    """2021 county budgets in yuan (before scaling to the configured total)."""
    pop = counties["population"].to_numpy(float)
    names = counties["name_zh"]
    b = np.zeros(len(counties))
    over3 = names.isin(COUNTIES_OVER_3M).to_numpy()
    over2 = names.isin(COUNTIES_OVER_2M).to_numpy()
    b[over3], b[over2] = 3.2e6, 2.3e6
    rest = np.flatnonzero(~(over3 | over2))
    n_more = N_COUNTIES_OVER_1M - int(over3.sum() + over2.sum())
    by_pop = rest[np.argsort(-pop[rest], kind="stable")]
    over1, low = by_pop[:n_more], by_pop[n_more:]
    b[over1] = _ramp(pop[over1], 1.05e6, 1.8e6)
    b[low] = _ramp(pop[low], 0.2e6, 0.95e6)
    return b


def policy_weights(policy: str, *, pattern: np.ndarray, population: np.ndarray, need: np.ndarray,
                   shortfall: np.ndarray | None) -> np.ndarray:
    """County weights (summing to 1) for splitting a pot under ``policy``."""
    if policy == "per_capita":
        w = population.astype(float)
    elif policy == "equal":
        w = np.ones(len(population))
    elif policy == "need_based":
        w = need.astype(float)
    elif policy == "performance" and shortfall is not None:
        w = pattern * np.clip(1 + shortfall - shortfall.mean(), 0.05, None)
    else:  # as_reported, and performance in its first year
        w = pattern.astype(float)
    w = np.clip(w, 0, None)
    return w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))
