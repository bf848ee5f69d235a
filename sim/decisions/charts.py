"""Charts of the decision layer, in the project's style (sim.report.style.STYLE, Okabe–Ito palette): levers ranked
with their intervals, the stress matrix as a heatmap, P(target) against a lever's amount."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.decisions.ranking import money
from sim.report.labels import words
from sim.report.style import DPI, GREY, PALETTE, STYLE


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, metadata={"Title": fig.get_suptitle(), "Software": "resilience-sim (matplotlib)"})
    return path


def _num(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{round(x, 1) + 0.0:.1f}"


def _masks(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    x = round(x, -3) + 0.0
    return f"{x / 1e6:.2f} M" if abs(x) >= 1e6 else f"{x / 1e3:,.0f} k"


def lever_chart(table: pd.DataFrame, primary: str, path: Path) -> Path:
    """Days gained on the primary target per lever, best rank at the top, with their intervals and costs."""
    main = table[table["target"] == primary].sort_values("rank", ascending=False)
    confidence = float(main["interval_confidence"].iloc[0]) if "interval_confidence" in main.columns else 0.95
    level = f"{(confidence if math.isfinite(confidence) else 0.95):.2%}".replace(".00%", "%").replace("%", " %")
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(8.5, 0.55 * len(main) + 1.6))
        ax = fig.add_subplot()
        y = np.arange(len(main))
        gain = main["days_gained"].to_numpy(float)
        low, high = main["days_gained_low"].to_numpy(float), main["days_gained_high"].to_numpy(float)
        significant = low > 0
        colors = [PALETTE[0] if s else GREY for s in significant]
        err = np.vstack([np.nan_to_num(gain - low), np.nan_to_num(high - gain)])
        ax.barh(y, gain, color=colors, alpha=0.85)
        ax.errorbar(gain, y, xerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
        ax.axvline(0, color="black", lw=0.8)
        labels = [f"{words(r.lever)}\n{money(r.euros)}, {r.people:.0f} people" for r in main.itertuples()]
        ax.set_yticks(y, labels)
        ax.set_xlabel(f"Days gained on {words(primary).lower()} vs base ({level} interval; grey: not significant)")
        for yi, r in zip(y, main.itertuples(), strict=True):
            per = "" if math.isnan(r.days_per_meur) else f"  {r.days_per_meur:.1f} d per €M"
            ax.annotate(f"{r.days_gained:+.1f} d{per}", (max(r.days_gained_high if not math.isnan(
                r.days_gained_high) else r.days_gained, 0), yi), xytext=(6, 0), textcoords="offset points",
                va="center", fontsize=8.5)
        xmax = np.nanmax(np.concatenate([high, gain, [0.5]]))
        xmin = np.nanmin(np.concatenate([low, gain, [0.0]]))
        ax.set_xlim(xmin - 0.1 * (xmax - xmin + 1), xmax + 0.45 * (xmax - xmin + 1))
        best = main.iloc[-1]
        if best["days_gained_low"] > 0:
            title = (f"{words(best['lever'])} buys most days on {words(primary).lower()} per euro: "
                     f"{best['days_gained']:+.1f} days "
                     f"for {money(best['euros'])}")
        else:
            title = f"No lever gains a day on {words(primary).lower()} beyond the noise ({level} intervals)"
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
        return _save(fig, path)


def stress_heatmap(table: pd.DataFrame, primary: str | None, path: Path) -> Path:
    """Shocks × measures, each cell the mean (interval below), colour scaled per column by the worst shock."""
    columns: list[tuple[str, str, str]] = []
    for target in [t for t in table.loc[table["metric"] == "delay_days", "target"].unique()]:
        columns.append(("delay_days", target, f"delay on\n{words(target).lower()} (days)"))
    columns += [("masks_lost_delivered", "", "masks lost\n(delivered)"),
                ("deepest_drop_share", "", "deepest drop\nin daily output"),
                ("recovery_days", "", "days to recover\npre-shock rate"),
                ("extra_recovery_days", "", "of which due\nto the shock (days)")]
    shocks = list(dict.fromkeys(table["shock"]))
    values = np.full((len(shocks), len(columns)), np.nan)
    text = [["" for _ in columns] for _ in shocks]
    for i, shock in enumerate(shocks):
        for j, (metric, target, _) in enumerate(columns):
            row = table[(table["shock"] == shock) & (table["metric"] == metric)
                        & (table["target"].fillna("") == target)]
            if row.empty:
                continue
            r = row.iloc[0]
            values[i, j] = r["mean"]
            mean, low, high = (float(r[k]) + 0.0 for k in ("mean", "low", "high"))  # + 0.0: no "-0"
            if metric == "deepest_drop_share":
                text[i][j] = f"{mean:.0%}\n({low:.0%} to {high:.0%})"
            elif metric.startswith("masks"):
                text[i][j] = _masks(mean) + f"\n({_masks(low)} to {_masks(high)})"
            else:
                text[i][j] = f"{_num(mean)}\n({_num(low)} to {_num(high)})"
    scale = np.nanmax(np.abs(values), axis=0)
    scale[~np.isfinite(scale) | (scale == 0)] = 1.0
    shade = np.clip(values / scale, 0, 1)
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(2.0 * len(columns) + 2.5, 0.62 * len(shocks) + 1.8))
        ax = fig.add_subplot()
        ax.imshow(np.nan_to_num(shade), cmap="Oranges", vmin=0, vmax=1.25, aspect="auto")
        for i in range(len(shocks)):
            for j in range(len(columns)):
                ax.text(j, i, text[i][j] or "–", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(columns)), [c[2] for c in columns])
        ax.xaxis.tick_top()
        ax.set_yticks(range(len(shocks)), [words(s) for s in shocks])
        ax.tick_params(length=0)
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        first = next((j for j, c in enumerate(columns) if c[0] == "delay_days" and c[1] == primary), None)
        worst_col = first if first is not None else len(columns) - 4
        worst = shocks[int(np.nanargmax(values[:, worst_col]))] if np.isfinite(values[:, worst_col]).any() else "?"
        fig.suptitle(f"Stress matrix: {words(worst).lower()} does the most damage (mean and 95 % interval vs base; "
                     "darker = worse)", x=0.01, ha="left", fontweight="bold")
        return _save(fig, path)


def what_it_takes_chart(answer: dict[str, Any], path: Path) -> Path:
    """P(target by its date) against the amount of the (last) lever, with Wilson intervals and the goal."""
    lever = answer["levers"][-1]
    fixed = (answer.get("answer") or {}).get("amounts", {})
    points = [p for p in answer["points"]
              if all(p["amounts"].get(k) == v for k, v in fixed.items() if k != lever)] or answer["points"]
    points = sorted(points, key=lambda p: p["amounts"][lever])
    x = np.array([p["amounts"][lever] for p in points], dtype=float)
    p = np.array([p["p"] for p in points], dtype=float)
    low = np.array([q["low"] for q in points], dtype=float)
    high = np.array([q["high"] for q in points], dtype=float)
    calls = [q["decision"] for q in points]
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(8, 4.2))
        ax = fig.add_subplot()
        ax.axhline(answer["probability"], color=PALETTE[3], ls="--", lw=1,
                   label=f"goal: P ≥ {answer['probability']:.0%}")
        ax.errorbar(x, p, yerr=np.vstack([p - low, high - p]), fmt="-", color=PALETTE[0], capsize=3,
                    label="P̂ and exact 95 % interval")
        for call, marker, color in (("meets", "o", PALETTE[2]), ("fails", "X", PALETTE[1]),
                                    ("undecided", "s", GREY)):
            chosen = [i for i, c in enumerate(calls) if c == call]
            if chosen:
                ax.scatter(x[chosen], p[chosen], marker=marker, color=color, zorder=3, label=f"clearly {call}"
                           if call != "undecided" else "undecided")
        for xi, q in zip(x, points, strict=True):
            ax.annotate(f"n={q['n']}", (xi, q["p"]), xytext=(5, 6), textcoords="offset points", fontsize=7.5,
                        color=GREY)
        bounds = answer.get("bounds", {}).get(lever)
        if bounds:
            lo, hi, step = bounds
            ax.set_xlim(lo - step / 2, hi + step / 2)
        unit = answer["units"].get(lever, "unit")
        ax.set_xlabel(f"{words(lever)} ({unit})")
        ax.set_ylabel(f"P({words(answer['target']).lower()} by {answer['by']})")
        ax.set_ylim(-0.03, 1.03)
        status = answer.get("status", "reachable" if answer["reachable"] else "out of reach")
        top = answer["at_max"]
        if status == "reachable":
            amount = answer["answer"]["amounts"][lever]
            ax.axvline(amount, color=PALETTE[2], lw=1.2, label=f"least amount clearly meeting: {amount:g}")
            title = (f"{answer['target']} by {answer['by']} with P ≥ {answer['probability']:.0%} takes "
                     f"{lever} = {amount:g} ({money(answer['answer']['euros'])})")
        elif status == "out of reach":
            title = (f"{answer['target']} by {answer['by']} is out of reach with {lever} ≤ "
                     f"{top['amounts'][lever]:g}: P clearly below {answer['probability']:.0%}")
        else:
            title = (f"{answer['target']} by {answer['by']}: undecided at {top['n']} replications with {lever} = "
                     f"{top['amounts'][lever]:g} (P̂ = {top['p']:.2f})")
        if status != "reachable":
            why = [part for part in answer.get("why", "").split("; ") if part]
            if why:
                ax.text(0.02, 0.55, "\n".join(why), transform=ax.transAxes, fontsize=8.5,
                        va="center", color="black", wrap=True)
        ax.legend(loc="best", fontsize=8)
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
        return _save(fig, path)
