"""Families learn: knowledge diffuses by the exact rule of :mod:`sim.diffusion` (MODEL.md
section 6), with this month's attendance hazards; the policy topic only once it is announced."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.config import TOPICS
from sim.diffusion import attended_hazards, contact_share, hazard_tables, step_block, village_aware_share
from sim.draws import blocks

if TYPE_CHECKING:
    from sim.model import OutreachModel


def diffuse(m: OutreachModel) -> None:
    """One month of learning for every topic, in one pass over the families."""
    d = m.cfg.diffusion
    f = m.f
    bl = blocks(f.n)
    edges = [i for i, _ in bl] + [f.n]
    topics = []  # (aware, tables, attended, their hazards, where blocks start in them, generator)
    for t in TOPICS:  # every topic's contact shares from the start-of-month awareness
        aware = m.aware[t]
        if d.forgetting_month > 0:
            forget = m.draw(f"forgetting.{t}").random(f.n, dtype=np.float32) < d.forgetting_month
            aware &= ~forget
        a_v = village_aware_share(aware, f.village_start)
        w_v = contact_share(a_v, m.network_f64, d.theta, m.n_v, m.degree_v)
        p_ext = d.p_ext if t != "policy" or m.policy_announced else 0.0
        tables = hazard_tables(w_v, p_ext, d.q)
        idx, h = attended_hazards(m.attended[t])
        if not len(idx) and not tables[1].any():
            continue  # nobody can learn it this month (the policy before its announcement)
        # One uniform per family from the topic's stream, drawn block by block.
        topics.append((aware, tables, idx, h, np.searchsorted(idx, edges), m.draw(f"diffusion.{t}")))
    for b, (i, j) in enumerate(bl):
        village_digital = m.village_digital[i:j].astype(np.intp)
        for aware, tables, idx, h, cut, gen in topics:
            a0, a1 = cut[b], cut[b + 1]
            step_block(aware[i:j], gen.random(j - i, dtype=np.float32), village_digital, tables,
                       idx[a0:a1] - i, h[a0:a1] if a1 > a0 else 0.0, count=False)
