"""People: cohorts' learning curves and the utilisation of each site's shift."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.report.branches import group_of
from sim.report.charts.base import (
    MAX_NAMED_COHORTS,
    ChartOutcome,
    ChartSkipped,
    Draw,
    int_or_none,
    map_unique,
    render_family,
    require_rows,
    week_start,
    week_ticks,
)
from sim.report.data import base_scenario_config
from sim.report.formatting import fmt_date, fmt_pct, stage_name
from sim.report.labels import words
from sim.report.style import GREY, LIGHT_GREY, PALETTE, date_axis, headline, new_figure, pct_axis, pct_formatter
from sim.results.results_set import ResultsSet, median_with_unreached


def _cohort_curves(rs: ResultsSet, base: str, metric: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """Dates × cohorts: the median over the base's replications of `metric` (the curves the milestone is read on)
    and of efficiency (the curves drawn, or `metric` without it), blank before each cohort's first active day; each
    cohort's labels; the column drawn. Computed while cohorts.parquet is read (a row per run × cohort × day:
    millions at a thousand runs), in one pass of groups per cohort and date; a cohort numbered in order of first
    appearance."""
    rows = require_rows(rs, "cohorts", ("site", "group", "cohort", "date", metric), base)
    if not len(rows):
        raise ChartSkipped(f"cohorts.parquet has no rows for the base scenario {base}")
    # Drawn: the share of the skilled standard rate, so cohorts of different kinds compare (a prison cohort at
    # its ceiling works at 20 % of it). The learning milestone stays 80 % of the cohort's own ceiling.
    drawn = "efficiency" if "efficiency" in rows.columns else metric
    values = rows.number(metric)
    # A cohort's curve starts on its first active day (`active` counts its rows at work): before that it is
    # not on the job, and zeros there would drag the group envelope down to the axis.
    active = values > 0
    if "present" in rows.columns:
        active &= rows.number("present") > 0
    labels = [c for c in ("group", "role") if c in rows.columns]

    def per_day(keys: list[str]) -> pd.DataFrame:
        return rows.aggregate(
            [*keys, "date"], sums={"active": active}, firsts=labels, keep_missing=[*keys, "date"],
            maxima={"size": rows.number("size")} if "size" in rows.columns else {},
            medians={metric: values, drawn: values if drawn == metric else rows.number(drawn)})

    # The model writes a cohort once per stage it staffs; without the stage, cutting and sewing curves of the
    # same cohort would be merged into one median. With a single stage the stage is no key.
    keys = ["site", "cohort"] + (["stage"] if "stage" in rows.columns else [])
    groups = per_day(keys)
    if "stage" in keys and groups["stage"].nunique() <= 1:
        keys = ["site", "cohort"]
        if groups["stage"].isna().any():  # rows without a stage join their cohort's other rows
            groups = per_day(keys)
    groups = groups.sort_values("first_row", kind="stable")  # cohorts in order of first appearance
    cohort = groups.groupby(keys, sort=False, dropna=False)
    groups["cid"] = cohort.ngroup()
    ids = cohort.size().reset_index()[keys]  # one row per cohort, in the order of the codes
    ids["words"] = [words(str(r.site)) + " · " + words(str(r.cohort)).lower()
                    + (f" ({stage_name(str(r.stage))})" if "stage" in keys else "") for r in ids.itertuples()]
    ids["name"] = [" · ".join(str(getattr(r, k)) for k in keys[:2]) for r in ids.itertuples()]
    # role and size only label the curves: a table without them still draws. A label is the cohort's first row's
    # (the table's first value, as pandas' first(), unless that row lacks it: then the first row that has it).
    per_cohort = groups.groupby("cid").agg(**{c: (c, "first") for c in labels},
                                           **({"size": ("size", "max")} if "size" in groups.columns else {}))
    if any(groups.groupby("cid")[c].nth(0).isna().any() for c in labels):
        seen = rows.distinct([*keys, *labels])
        seen["cid"] = seen.groupby(keys, sort=False, dropna=False).ngroup()
        per_cohort[labels] = seen.groupby("cid")[labels].first()
    meta = ids.join(per_cohort).assign(role=lambda m: m.get("role", ""), size=lambda m: m.get("size", np.nan))
    dated = groups[groups["date"].notna()]
    curves = dated.pivot(index="date", columns="cid", values=metric).sort_index()
    plotted = dated.pivot(index="date", columns="cid", values=drawn).sort_index()
    first_day = dated[dated["active"] > 0].groupby("cid")["date"].min()
    for cid in curves.columns:
        start = first_day.get(cid)
        if start is None:  # never on the job in this scenario: no curve at all
            curves[cid] = np.nan
            plotted[cid] = np.nan
        else:
            curves.loc[curves.index < start, cid] = np.nan
            plotted.loc[plotted.index < start, cid] = np.nan
    return curves, plotted, meta, drawn


def draw_rampup_cohorts(
    rs: ResultsSet, metric: str = "standard_share", highlight: Sequence[str] | None = None
) -> tuple[Figure, str]:
    every = rs.rows("cohorts")
    if metric == "standard_share" and every is not None and "standard_share" not in every.columns:
        metric = "efficiency"  # a writer without ceilings: plot efficiency against the skilled standard
    base = rs.base_variant
    curves, plotted, meta, drawn = _cohort_curves(rs, base, metric)
    if highlight:
        chosen = set(highlight)
        named = [c for c in curves.columns if meta.loc[c, "name"] in chosen or meta.loc[c, "site"] in chosen]
    else:
        named = [c for c in curves.columns if not meta.loc[c, "group"]]
        if len(named) > MAX_NAMED_COHORTS:  # keep the largest; the rest join the grey envelope
            named = list(meta.loc[named, "size"].sort_values(ascending=False).index[:MAX_NAMED_COHORTS])
    members = [c for c in curves.columns if c not in named]
    fig = new_figure(9.5, 5.2)
    ax = fig.add_subplot()
    if members:
        env = plotted[members]
        have = env.notna().sum(axis=1) > 0
        ax.fill_between(
            env.index[have],
            env[have].min(axis=1),
            env[have].max(axis=1),
            color=LIGHT_GREY,
            linewidth=0,
            label=f"other cohorts ({len(members)}): range",
        )
        ax.plot(
            env.index[have],
            env[have].median(axis=1),
            color=GREY,
            linewidth=1.4,
            label=f"other cohorts ({len(members)}): median",
        )
    styles = ("-", "--", "-.", ":")
    for i, cid in enumerate(named):
        m = meta.loc[cid]
        ax.plot(
            plotted.index,
            plotted[cid],
            color=PALETTE[i % len(PALETTE)],
            linewidth=2,
            linestyle=styles[(i // len(PALETTE)) % len(styles)],
            label=f"{m['words']} ({', '.join(str(x) for x in (m['role'], int_or_none(m['size'])) if x)})",
        )
    reference = "their own ceiling" if metric == "standard_share" else "skilled standard"
    if drawn == metric:  # the milestone is on the drawn scale only when both are the same measure
        ax.axhline(0.8, color="#333333", linestyle="--", linewidth=1)
        ax.text(0.995, 0.8, "80 % of standard", transform=ax.get_yaxis_transform(), ha="right", va="bottom",
                fontsize=8.5, color="#333333")
    pct_axis(ax)
    top = float(np.nanmax(plotted.to_numpy())) if plotted.notna().any().any() else 1.0
    ax.set_ylim(0, max(1.05, top * 1.05))
    date_axis(ax, plotted.index.min(), plotted.index.max())
    ax.set_ylabel("Output per person, share of the skilled standard rate")
    ax.set_xlabel(f"Date ({rs.start_date.year})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)

    # Only cohorts that start below the mark are learning; skilled staff at 100 % from day one would
    # make the median "0 days" and hide the ramp-up the chart is about.
    days_to_80 = []
    for cid in curves.columns:
        curve = curves[cid].dropna()
        if curve.empty or curve.iloc[0] >= 0.8:
            continue
        hit = curve[curve >= 0.8]
        days_to_80.append((hit.index[0] - curve.index[0]).days if not hit.empty else math.nan)
    never = int(np.isnan(days_to_80).sum())
    median_days = median_with_unreached(days_to_80)
    end = fmt_date(curves.index.max())
    learners = len(days_to_80)
    if learners == 0:
        finding = f"Every cohort works at 80 % of {reference} or more from its first day"
    elif math.isfinite(median_days):
        finding = (
            f"Half of the {learners} learning cohorts reach 80 % of {reference} within "
            f"{median_days:.0f} days on the job"
        )
        finding += f"; {never} not yet by {end}" if never else ""
    else:
        finding = f"{never} of {learners} learning cohorts do not reach 80 % of {reference} by {end}"
    headline(
        fig,
        finding,
        f"{len(curves.columns)} cohorts (median over replications of scenario {base}): {len(named)} named in "
        f"colour, {len(members)} of site groups as a grey range; {learners} of the {len(curves.columns)} start "
        f"below 80 % of {reference}.",
    )
    return fig, (
        "Each cohort's output per person as it learns, as a share of the skilled standard rate (a kind whose "
        "ceiling is 20 % of it tops out at 20 %); the title counts days to 80 % of each cohort's own ceiling. "
        "Named sites in colour, cohorts of site groups as a grey range and median."
    )


MAX_HEATMAP_ROWS = 40  # beyond this, the members of a site group share one row


def draw_utilisation_heatmap(rs: ResultsSet, stage: str = "sew") -> tuple[Figure, str]:
    base = rs.base_variant
    daily = require_rows(rs, "daily", ("site", "kind", "stage", "date", "working_h", "off_shift_h"), base)
    daily = daily.where_in("stage", [stage])
    if not len(daily):
        raise ChartSkipped(f"daily.parquet has no '{stage}' rows for the base scenario")
    # Summed per site and date over the replications while daily.parquet is read (a row per run × day × site ×
    # stage); `shifts` counts the rows with shift hours, for the date each site started.
    shift_h = 24.0 - daily.number("off_shift_h")
    rows = daily.sums(("site", "kind", "date"), {"working_h": daily.number("working_h"), "shift_h": shift_h,
                                                 "shifts": shift_h > 0})
    rows["week"] = week_start(rs, rows["date"])
    pooled = rows["site"].nunique() > MAX_HEATMAP_ROWS
    if pooled:  # one row per site group (its members pooled), named sites alone: a page, not 140 tiny rows
        groups = set((base_scenario_config(rs).get("groups") or {}).keys())
        unit = map_unique(rows["site"], lambda s: group_of(str(s), groups))
        members = rows.groupby(unit)["site"].nunique()
        rows["site"] = map_unique(unit, lambda u: f"{words(u)} ({members[u]} sites)" if members[u] > 1 else words(u))
    else:
        rows["site"] = map_unique(rows["site"], lambda s: words(str(s)))
    # Ratio of sums over the week and the replications: days without a shift weigh nothing, instead of
    # producing 0/0 or a 100 % from one short day.
    agg = rows.groupby(["site", "week"])[["working_h", "shift_h"]].sum()
    util = (agg["working_h"] / agg["shift_h"].where(agg["shift_h"] > 0)).unstack("week")
    starts = rows[rows["shifts"] > 0].groupby("site")["date"].min()
    kinds = rows.groupby("site")["kind"].first()
    order = sorted(util.index, key=lambda s: (str(kinds[s]), starts.get(s, pd.Timestamp.max), str(s)))
    util = util.loc[order]
    n_sites, n_weeks = util.shape
    label_size = 8.5 if n_sites <= 30 else (7 if n_sites <= 60 else 5.5)
    fig = new_figure(
        min(11.0, max(7.0, 2.8 + 0.6 * n_weeks)), min(20.0, 2.6 + (0.26 if n_sites <= 60 else 0.16) * n_sites)
    )
    ax = fig.add_subplot()
    # Grey for weeks before a site started, or without shifts: absent, not 0 %.
    cmap = mpl.colormaps["viridis"].with_extremes(bad=LIGHT_GREY)
    image = ax.imshow(
        np.ma.masked_invalid(util.to_numpy(dtype=float)),
        aspect="auto",
        cmap=cmap,
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    week_ticks(ax, list(util.columns))
    ax.set_yticks(range(n_sites), list(util.index), fontsize=label_size)
    ax.set_xlabel("Week starting")
    annotated = n_sites * n_weeks <= 200 and n_weeks <= 14
    if annotated:
        for (si, wi), value in np.ndenumerate(util.to_numpy(dtype=float)):
            if math.isfinite(value):
                ax.text(
                    wi,
                    si,
                    f"{value * 100:.0f}",
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="white" if value < 0.6 else "#222222",
                )
    # Kind blocks: a separator line and the kind's name on the right, so the eye can compare like sites.
    ordered_kinds = [str(kinds[s]) for s in util.index]
    blocks: list[tuple[str, int, int]] = []
    for i, kind in enumerate(ordered_kinds):
        if blocks and blocks[-1][0] == kind:
            blocks[-1] = (kind, blocks[-1][1], i)
        else:
            blocks.append((kind, i, i))
    for _kind, first, _last in blocks[1:]:
        ax.axhline(first - 0.5, color="white", linewidth=2.5)
    right = ax.secondary_yaxis("right")
    right.set_yticks([(a + b) / 2 for _k, a, b in blocks], [words(k) for k, _a, _b in blocks])
    right.tick_params(length=0)
    right.spines["right"].set_visible(False)
    bar = fig.colorbar(
        image,
        ax=ax,
        orientation="horizontal",
        shrink=0.5,
        aspect=35,
        pad=0.02,
        format=pct_formatter(),
        location="bottom",
    )
    bar.set_label(f"Working hours / shift hours of {stage_name(stage)} (grey: not started or no shift)")
    overall = float(agg["working_h"].sum() / agg["shift_h"].sum()) if agg["shift_h"].sum() > 0 else math.nan
    per_site = rows.groupby("site")[["working_h", "shift_h"]].sum()
    per_site = per_site["working_h"] / per_site["shift_h"].where(per_site["shift_h"] > 0)
    lowest = per_site.idxmin()
    finding = (
        f"{stage_name(stage).capitalize()} lines worked {fmt_pct(overall)} of their shift hours; "
        f"least used: {lowest} ({fmt_pct(float(per_site[lowest]))})"
    )
    headline(
        fig,
        finding,
        f"Utilisation of {stage_name(stage)} per site and week{' (numbers in %)' if annotated else ''}, "
        f"pooled over replications of scenario {words(base).lower()}; sites sorted by kind, then start date"
        + ("; the members of each site group pooled into one row." if pooled else "."),
    )
    return fig, (
        f"Share of shift hours each site's {stage_name(stage)} stage was working, per week; low values mean "
        "the line waited for input, was blocked or broken down."
    )


CHARTS: dict[str, Draw] = {
    "rampup_cohorts": draw_rampup_cohorts,
    "utilisation_heatmap": draw_utilisation_heatmap,
}


def render(rs: ResultsSet, out_dir: Path) -> list[ChartOutcome]:
    """Draw this family's charts into `out_dir`."""
    return render_family(CHARTS, rs, out_dir)
