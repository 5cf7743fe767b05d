"""Figures of ``outreach-sim-optimize``: response curves per channel, the optimum marked, and the
coverage/equity frontier of a ``--mode pareto`` search (drawn by the memo, :mod:`sim.report.optimize`).

Drawing only: the numbers come from :func:`sim.optimize.response_curves` (``response.csv``) and
the search's ``trials.parquet`` and ``pareto.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sim.labels import indicator_label, text
from sim.plots import PALETTE, _figure, _finish, save, style

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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


def pareto_figure(trials: pd.DataFrame, front: pd.DataFrame, *, equity_indicator: str, lang: str = "en",
                  source: str = "") -> Figure:
    """The frontier of a ``--mode pareto`` search: every trial's objective (x) against its lowest
    county coverage of ``equity_indicator`` (y), in percent; the trials meeting the constraints,
    those breaking one, the frontier (``pareto.csv``) as a step line and the 2021 allocation marked.
    ``trials`` is ``trials.parquet`` (trials that were not run, objective NaN, are left out)."""
    ind = indicator_label(equity_indicator, lang)
    with style(lang):
        fig = _figure(4.2, lang)
        ax = fig.subplots()
        t = trials.dropna(subset=["objective", "equity"])
        feasible = t["feasible"].astype(bool)
        ax.scatter(100 * t.loc[feasible, "objective"], 100 * t.loc[feasible, "equity"], s=16, color=PALETTE[4],
                   alpha=0.7, label=text("optimize.f_feasible", lang))
        if (~feasible).any():
            ax.scatter(100 * t.loc[~feasible, "objective"], 100 * t.loc[~feasible, "equity"], s=16, marker="x",
                       color="0.6", label=text("optimize.f_infeasible", lang))
        f = front.dropna(subset=["objective", "equity"]).sort_values("objective")
        if len(f):
            ax.plot(100 * f["objective"], 100 * f["equity"], "-o", drawstyle="steps-post" if len(f) > 1 else None,
                    color=PALETTE[0], ms=5, label=text("optimize.f_front", lang))
        base = t[t.get("label", pd.Series("", index=t.index)).astype(str) == "2021 allocation"]
        if len(base):
            ax.plot(100 * base["objective"], 100 * base["equity"], "D", color="black", ms=6,
                    label=text("optimize.f_2021", lang))
        ax.set_xlabel(text("optimize.f_pareto_x", lang))
        ax.set_ylabel(text("optimize.f_pareto_y", lang, ind=ind))
        ax.legend(frameon=False, fontsize=7)
        _finish(fig, text("optimize.f_pareto_title", lang, ind=ind), source)
    return fig
