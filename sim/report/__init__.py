"""Figures and a policy memo from finished runs.

``outreach-sim-report RUN_OR_SWEEP_DIR... [--baseline NAME] [--lang en|zh] [--out DIR]`` reads
only run outputs (``summary.json``, ``.hydra/overrides.yaml``, ``config.json``,
``counties.parquet``, ``monthly.parquet``) and writes ``memo.html`` (self-contained: figures
embedded, opens offline), ``memo.md`` and the figures (``figures/*.png`` at 300 dpi and
``*.svg``) into ``--out`` (default: ``report/`` in the first folder).

Which figures apply depends on what the folders hold:

* always, for the baseline (or the reference cell of a sweep): a county map of the chosen
  indicator and a map of the binding limit (4), monthly cumulative reach (6), a Lorenz curve of
  county coverage (7);
* several scenarios: paired differences from the baseline (1), prefecture bars baseline vs each
  scenario (5), cost per additional family reached (8);
* a sweep over ``funding.multiplier`` (and a ``staffing.*`` key): dose-response (2) and a
  funding x staffing heatmap with the target contour (3).

The memo states the question, the scenarios compared, the headline differences with their
90 % intervals across seeds (each indicator with its provenance: input, calibrated or predicted,
MODEL.md section 7), the cost of each scenario by pot (association budgets, raised funds,
personnel budget) and, against the baseline, the cost per additional family reached per
indicator (:func:`sim.analysis.cost_per_additional_family`), the figures with one-sentence
captions and a provenance footer (version, git commit, config hashes, seeds, scale). ``--lang zh``
writes it in Chinese when a CJK font is installed (e.g. Debian's ``fonts-noto-cjk``); otherwise it
says so and writes English.

Bad input is one line on stderr and exit status 2, before anything is written: no complete
runs, a ``--baseline`` that matches no run, an ``--out`` that is a file or cannot be made or
written. A ``summary.json`` that is not a JSON object counts as incomplete; runs of different
package versions or git commits are kept apart (one line says so, see :mod:`sim.compare`). Text
from the runs (scenario names) is escaped in ``memo.md`` as in ``memo.html``.

**Sensitivity folders.** A folder holding ``sensitivity.json`` (written by
``outreach-sim-sensitivity``) is read as a sensitivity analysis, alone or beside run and sweep
folders: the memo gets an uncertainty section (what was varied, which conclusions are robust,
what to measure first, its figures; :mod:`~sim.report.uncertainty`) after its figures. Given only
sensitivity folders, the memo is the question, that section and a provenance footer. A
sensitivity folder without ``indices.csv``, ``robustness.csv`` or ``measure_first.csv`` is bad
input (one line, exit status 2).

**Optimisation folders.** A folder holding ``optimize.json`` (written by ``outreach-sim-optimize``)
is read as an optimisation, alone or beside run, sweep and sensitivity folders: the memo gets an
optimisation section (the question, what could change, the best allocation against 2021, its
verification on fresh seeds, whether the budget, floor and targets hold, how much of the search's
gain survives, the response curves and, in pareto mode, the frontier; :mod:`~sim.report.optimize`)
after the uncertainty section. Given no run folders, the memo is the question, the section(s) and
a provenance footer. An ``optimize.json`` that cannot be read, or status ``ok`` without
``verification.csv``, is bad input (one line, exit status 2).

**One region.** ``--region REGION`` (an admin code, a Chinese name or pinyin, as ``region=`` of a
run takes it) writes the memo of one prefecture or county instead (:mod:`~sim.report.region`), from
run folders of the whole province (the region's counties are kept) or of the region alone
(``outreach-sim region=...``): its coverage from the eligible and reached families summed over its
counties, a table and a map of its counties, the scenarios compared and, for runs of the region
alone, how its border was treated. A ``REGION`` that names no unit or several, a run of another
region, or a sensitivity or optimisation folder beside it is bad input (one line, exit status 2).

The steps, one module each: :mod:`~sim.report.plan` (what sections and figures the runs call
for), :mod:`~sim.report.figures` and :mod:`~sim.report.assemble` (the figures with their
captions; the memo's text and tables), :mod:`~sim.report.render` (markdown and HTML).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim import plots
from sim.compare import compare
from sim.errors import UserError
from sim.report.assemble import build_memo
from sim.report.figures import draw_figures
from sim.report.optimize import draw_parts as draw_optimisation_parts
from sim.report.optimize import is_optimisation_dir, load_optimisation, optimisation_report
from sim.report.plan import make_plan
from sim.report.region import region_report
from sim.report.render import render_html, render_md
from sim.report.uncertainty import draw_parts, is_sensitivity_dir, load_sensitivity, uncertainty_report
from sim.runs import check_out_dir, runs_table, version_note


def report(dirs: list[str], *, baseline: str | None = None, lang: str = "en", out: str | Path | None = None,
           indicator: str | None = None, target: float = 0.8, region: str | None = None, log=print) -> dict:
    """Write the memo and figures (of one prefecture or county with ``region``); returns the paths.
    Raises :class:`UserError` on bad input."""
    if region is not None:
        others = [d for d in dirs if is_sensitivity_dir(d) or is_optimisation_dir(d)]
        if others:
            raise UserError(f"--region {region}: give run or sweep folders only ({others[0]} is a sensitivity or "
                            "optimisation folder)")
        return region_report(dirs, region=region, baseline=baseline, lang=lang, out=out, indicator=indicator, log=log)
    sensitivities = [load_sensitivity(d) for d in dirs if is_sensitivity_dir(d)]
    optimisations = [load_optimisation(d) for d in dirs if is_optimisation_dir(d)]
    run_dirs = [d for d in dirs if not is_sensitivity_dir(d) and not is_optimisation_dir(d)]
    if not run_dirs and optimisations:
        return optimisation_report(optimisations, sensitivities, out=Path(out) if out else Path(dirs[0]) / "report",
                                   lang=lang, indicator=indicator, baseline=baseline, log=log)
    if not run_dirs:
        return uncertainty_report(sensitivities, out=Path(out) if out else Path(dirs[0]) / "report", lang=lang,
                                  indicator=indicator, baseline=baseline, log=log)
    runs, missing, failed = runs_table(run_dirs)
    if runs.empty:
        raise UserError(f"no complete runs under {', '.join(map(str, run_dirs))} "
                        f"({len(missing)} incomplete, {len(failed)} failed)")
    if target > 1:
        target = target / 100
    if not 0 < target <= 1:
        raise UserError(f"--target {target}: must be a share in (0, 1] or a percentage in (1, 100]")
    out = Path(out) if out else Path(dirs[0]) / "report"
    plan = make_plan(runs, baseline, indicator, target)  # bad input is refused before anything is written
    if sensitivities:
        plan.sections.insert(plan.sections.index("provenance"), "uncertainty")
    if optimisations:
        plan.sections.insert(plan.sections.index("provenance"), "optimisation")
    check_out_dir(out)
    note = version_note(runs)
    if note:
        log(note)
    log(f"read {len(runs)} complete runs in {runs['group'].nunique()} groups "
        f"({len(missing)} incomplete, {len(failed)} failed)")
    cmp = compare(runs, plan.baseline) if plan.multi else None
    log(f"baseline {plan.baseline}; indicator {plan.indicator}; county figures: {plan.county_indicator}")
    fig_dir = out / "figures"
    for old in (*fig_dir.glob("fig*.png"), *fig_dir.glob("fig*.svg")):  # figures of an earlier report
        old.unlink()
    with plots.style(lang):
        figures = draw_figures(plan, runs, cmp, lang, fig_dir, log)
        parts = draw_parts(sensitivities, lang, fig_dir, indicator=indicator, prefer=plan.indicator, log=log)
        oparts = draw_optimisation_parts(optimisations, lang, fig_dir, log=log)
    memo = build_memo(plan, runs, cmp, figures, lang, [str(d) for d in run_dirs], missing, failed, parts, oparts)
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / "memo.md", out / "memo.html"
    md.write_text(render_md(memo, out), encoding="utf-8")
    page.write_text(render_html(memo), encoding="utf-8")
    return {"html": page, "md": md, "figures": fig_dir,
            "n_figures": len(figures) + sum(len(p.figures) for p in (*parts, *oparts))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="outreach-sim-report", description=__doc__.split("\n\n")[1])
    ap.add_argument("dirs", nargs="+", metavar="RUN_OR_SWEEP_DIR",
                    help="run or sweep folders, sensitivity folders (outreach-sim-sensitivity --out) and "
                         "optimisation folders (outreach-sim-optimize --out)")
    ap.add_argument("--baseline", default=None,
                    help="baseline scenario NAME, or key=value[,key=value] "
                         "(default: baseline_2021 if present)")
    ap.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the memo and figures")
    ap.add_argument("--out", default=None,
                    help="output folder (default: <first dir>/report, with --region <first dir>/report-<code>)")
    ap.add_argument("--indicator", default=None,
                    help="coverage indicator for the headline, maps and sweep figures "
                         "(default: chosen by effect size)")
    ap.add_argument("--target", type=float, default=0.8,
                    help="coverage target of the heatmap contour (default 0.8)")
    ap.add_argument("--region", default=None,
                    help="the memo of one prefecture or county: an admin code (430100), a Chinese name (长沙市) "
                         "or pinyin (changsha)")
    args = ap.parse_args(argv)
    lang = args.lang
    if lang == "zh" and plots.cjk_font() is None:
        print("note: no CJK font found; writing the memo in English", file=sys.stderr)
        lang = "en"
    try:
        paths = report(args.dirs, baseline=args.baseline, lang=lang, out=args.out, indicator=args.indicator,
                       target=args.target, region=args.region)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    n = paths["n_figures"]
    print(f"memo: {paths['html']}\n      {paths['md']}\n"
          f"figures: {paths['figures']} ({n} PNG at 300 dpi + SVG)")
    return 0
