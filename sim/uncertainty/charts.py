"""Charts of a study: ranked parameters with intervals per KPI, and cumulative delivered under parameter
uncertainty beside the same under noise alone. Drawn with the style of sim.report.style; PNG and SVG."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd

from sim.report.formatting import fmt_count, round_sig
from sim.report.style import PALETTE, STYLE, count_axis, date_axis, headline, new_figure, pct_formatter, save_figure
from sim.uncertainty.design import METHOD_WORDS
from sim.uncertainty.labels import INDEX_WORDS, capitalised, kpi_unit, kpi_words
from sim.uncertainty.sensitivity import RANK_INDEX, ranking
from sim.uncertainty.study import NOMINAL

MAX_PARAMETERS = 12
SECONDARY = {"mu_star": "sigma", "ST": "S1"}


def ranking_chart(table: pd.DataFrame, kpi: str, method: str, labels: dict[str, str], targets: dict[str, Any],
                  start: dt.date, out_dir: Path, name: str) -> Path | None:
    """Dot-and-interval chart of the leading parameters of one KPI (None if the KPI has no index)."""
    ranked = ranking(table, kpi).head(MAX_PARAMETERS)
    if ranked.empty:
        return None
    index = RANK_INDEX[method]
    secondary = SECONDARY.get(index)
    rows = table[table["kpi"] == kpi]
    words = kpi_words(kpi, targets, start)
    with mpl.rc_context({**STYLE, "axes.grid.axis": "x"}):
        fig = new_figure(9.5, 1.3 + 0.36 * len(ranked))
        ax = fig.add_subplot()
        ypos = np.arange(len(ranked))[::-1]
        ax.hlines(ypos, ranked["ci_low"], ranked["ci_high"], color=PALETTE[0], linewidth=2.4, alpha=0.55)
        ax.plot(ranked["value"], ypos, "o", color=PALETTE[0], markersize=6,
                label=f"{INDEX_WORDS[index]} with its 95 % interval")
        if secondary is not None:
            other = rows[rows["index"] == secondary].set_index("parameter").reindex(ranked["parameter"])
            ax.plot(other["value"].to_numpy(), ypos, "D", markerfacecolor="none", color=PALETTE[1], markersize=5,
                    label=INDEX_WORDS[secondary] + (" (interactions, non-linearity)" if secondary == "sigma"
                                                     else " (alone, without interactions)"))
        if method == "lhs":
            ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_yticks(ypos, [labels.get(p, p) for p in ranked["parameter"]])
        unit = kpi_unit(kpi)
        if index == "mu_star":
            ax.set_xlabel(f"mean absolute change across the parameter's range ({unit})")
            if unit == "masks":
                count_axis(ax, "x")
        elif index == "ST":
            ax.set_xlabel("share of the variance (Sobol index)")
        else:
            ax.set_xlabel("Spearman rank correlation")
        ax.set_xlim(left=min(0.0, float(ranked["ci_low"].min())) if method == "lhs" else 0.0)
        ax.legend(loc="lower right")
        top = ranked.iloc[0]
        finding = f"{capitalised(words)}: most influential is {labels.get(top['parameter'], top['parameter'])}"
        bars = {"morris": "95 % intervals over the trajectories (bootstrap-t)",
                "sobol": "95 % bootstrap intervals (SALib)",
                "lhs": "95 % bootstrap intervals over the points"}[method]
        headline(fig, finding, f"{len(ranked)} most influential of the uncertain parameters "
                                f"({METHOD_WORDS[method]}); bars: {bars}.")
        return save_figure(fig, out_dir, name)


def fan_chart(series: pd.DataFrame, runs: pd.DataFrame, targets: dict[str, Any], start: dt.date,
              out_dir: Path, name: str = "uncertainty_fan") -> Path | None:
    """Cumulative delivered: the band over design points (parameters and noise) beside the nominal point's
    band (noise alone), same axes."""
    cum = series[(series["series"] == "cum_delivered") & (series["key"] == "all")]
    scenario = runs.set_index("run_id")["scenario"]
    cum = cum.assign(scenario=cum["run_id"].map(scenario))
    panels = [("design", cum[cum["scenario"] != NOMINAL], "parameters drawn from their ranges (and noise)"),
              (NOMINAL, cum[cum["scenario"] == NOMINAL], "parameters at their base values: noise alone")]
    if any(rows.empty for _, rows, _ in panels):
        return None
    top = float(cum["value"].max()) * 1.08
    with mpl.rc_context(STYLE):
        fig = new_figure(10.5, 4.6)
        axes = fig.subplots(1, 2, sharey=True)
        spread = {}
        for ax, (key, rows, title) in zip(axes, panels, strict=True):
            q = rows.groupby("day")["value"].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
            dates = pd.to_datetime(start) + pd.to_timedelta(q.index, unit="D")
            colour = PALETTE[0] if key == "design" else PALETTE[2]
            ax.fill_between(dates, q[0.05], q[0.95], color=colour, alpha=0.15, linewidth=0, label="5th–95th percentile")
            ax.fill_between(dates, q[0.25], q[0.75], color=colour, alpha=0.3, linewidth=0, label="25th–75th")
            ax.plot(dates, q[0.5], color=colour, linewidth=2, label="median")
            for target in targets.values():
                masks = float(target["masks"])
                if masks <= top:
                    ax.axhline(masks, color="#7F7F7F", linestyle="--", linewidth=0.9)
                    ax.text(0.01, masks, fmt_count(masks), transform=ax.get_yaxis_transform(), va="bottom",
                            fontsize=8, color="#333333")
            n = rows["run_id"].nunique()
            ax.set_title(f"{title} ({n} {'points' if key == 'design' else 'runs'})")
            date_axis(ax, dates.min(), dates.max())
            count_axis(ax)
            ax.set_ylim(0, top)
            spread[key] = float(q[0.95].iloc[-1] - q[0.05].iloc[-1])
        axes[0].set_ylabel("Masks delivered, cumulative")
        axes[0].legend(loc="upper left")
        if spread[NOMINAL] > 0:
            finding = (f"The assumptions widen the final 5–95 % band {spread['design'] / spread[NOMINAL]:.0f}-fold "
                       f"over noise alone ({fmt_count(round_sig(spread['design']))} vs "
                       f"{fmt_count(round_sig(spread[NOMINAL]))} masks)")
        else:  # no spread under noise alone: a ratio would be infinite
            finding = (f"The assumptions spread the final deliveries over {fmt_count(round_sig(spread['design']))} "
                       "masks (5–95 %); noise alone, not at all")
        headline(fig, finding, "Left: the design points drawn at random from the ranges; right: the nominal "
                                "point's replications. Dashed: targets.")
        return save_figure(fig, out_dir, name)


def bottleneck_agreement_chart(agreement: pd.DataFrame, out_dir: Path, name: str = "uncertainty_bottleneck",
                               noun: str = "design points") -> Path | None:
    """Per week, the share of the design's points (`noun`: 'grid points', 'points drawn at random') in which
    each stage is the network's main bottleneck."""
    if agreement.empty:
        return None
    from sim.report.formatting import stage_name
    from sim.results.tables import FLOW_STAGES

    table = agreement.pivot_table(index="week_start", columns="stage", values="share_of_points", fill_value=0.0)
    stages = [s for s in FLOW_STAGES if s in table.columns] + [s for s in table.columns if s not in FLOW_STAGES]
    with mpl.rc_context(STYLE):
        fig = new_figure(10, 4.2)
        ax = fig.add_subplot()
        bottom = np.zeros(len(table))
        labels = [f"{d.day} {d.strftime('%b')}" for d in pd.to_datetime(table.index)]
        for i, stage in enumerate(stages):
            ax.bar(labels, table[stage], bottom=bottom, color=PALETTE[i % len(PALETTE)], label=stage_name(stage))
            bottom += table[stage].to_numpy()
        ax.axhline(0.9, color="#333333", linestyle="--", linewidth=0.9)
        ax.text(1.01, 0.9, "90 %: robust", transform=ax.transAxes, fontsize=8, va="center")
        ax.set_ylim(0, 1.0)
        ax.yaxis.set_major_formatter(pct_formatter())
        ax.set_ylabel(f"Share of the {noun}")
        ax.set_xlabel("Week starting")
        ax.tick_params(axis="x", labelrotation=45)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 0.8))
        robust = agreement.groupby("week_start")["share_of_points"].max() >= 0.9
        headline(fig, f"The main bottleneck is the same in ≥ 90 % of the {noun} in {int(robust.sum())} of "
                       f"{len(robust)} weeks",
                  f"Per week: in what share of the {noun} each stage is the network's main bottleneck.")
        return save_figure(fig, out_dir, name)
