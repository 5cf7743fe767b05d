"""Figures of ``outreach-sim-optimize``: response curves per channel, the optimum marked.

Drawing only: the numbers come from :func:`sim.optimize.response_curves` (``response.csv``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.labels import indicator_label
from sim.plots import PALETTE, _figure, _finish, save, style

CHANNEL_INDICATOR = {"youth_lectures": "youth_education", "family_health_events": "family_health",
                     "policy_events": "policy_awareness", "volunteers": None}
"""The coverage a channel's money buys most directly (drawn beside the objective)."""
CHANNEL_TITLE = {"youth_lectures": "youth lectures", "family_health_events": "family health events",
                 "policy_events": "policy events", "volunteers": "volunteers and training"}


def response_figure(curves: pd.DataFrame, spec, out: str | Path, lang: str = "en") -> list[Path]:
    """One panel per channel: the objective and the channel's own coverage (percent) against the
    channel's money (M yuan a year), every other variable at the optimum; the optimum marked."""
    channels = list(dict.fromkeys(curves["channel"]))
    with style(lang):
        fig = _figure(2.6 * ((len(channels) + 1) // 2) + 0.8, lang)
        axes = fig.subplots((len(channels) + 1) // 2, 2, squeeze=False).ravel()
        for ax, ch in zip(axes, channels, strict=False):
            g = curves[curves["channel"] == ch].sort_values("share")
            x = g["channel_money_yuan"] / 1e6
            ax.plot(x, 100 * g["objective"], "-o", color=PALETTE[0], ms=3.5, label="objective")
            ind = CHANNEL_INDICATOR.get(ch)
            if ind and f"coverage.{ind}" in g:
                ax.plot(x, 100 * g[f"coverage.{ind}"], "--s", color=PALETTE[1], ms=3, label=indicator_label(ind, lang))
            opt = g.iloc[(g["share"] - g["optimum_share"]).abs().argmin()]
            ax.axvline(opt["channel_money_yuan"] / 1e6, color="0.4", lw=0.8, ls=":")
            ax.plot([opt["channel_money_yuan"] / 1e6], [100 * opt["objective"]], "*", color="black", ms=9,
                    label=f"optimum (share {opt['optimum_share']:.2f})")
            infeasible = g[~g["feasible"].astype(bool)]
            if len(infeasible):
                ax.plot(infeasible["channel_money_yuan"] / 1e6, 100 * infeasible["objective"], "x", color="red",
                        ms=5, label="breaks a constraint")
            ax.set_title(CHANNEL_TITLE.get(ch, ch))
            ax.set_xlabel("channel money, M yuan a year")
            ax.set_ylabel("coverage, %")
            ax.legend(frameon=False, fontsize=7)
        for ax in axes[len(channels):]:
            ax.set_visible(False)
        weights = ", ".join(f"{k} {w:g}" for k, w in spec.weights.items())
        _finish(fig, "Response curves: coverage against each channel's money, the rest at the optimum",
                f"Source: outreach-sim-optimize; search scale {spec.search_scale:g}, seeds "
                f"{', '.join(map(str, spec.search_seeds))}; objective = weighted mean coverage ({weights}); the "
                "other channels' shares scaled to keep the sum at 1.")
    out = Path(out)
    return save(fig, out.parent, out.name)
