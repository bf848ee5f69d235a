"""Charts of a calibration: each observation against the model's range before and after, the marginal of each
parameter before and after, and a pairs plot of the parameters the observations constrained. Style and saving
as in sim.report.style (PNG and SVG)."""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.ticker  # mpl.ticker below
import numpy as np
import pandas as pd

from sim.calibration.history_matching import Calibration
from sim.report.formatting import fmt_pct
from sim.report.style import PALETTE, STYLE, headline, new_figure, save_figure

MAX_PAIRS = 6
PAIR_POINTS = 3000
BEFORE, AFTER = "#8C8C8C", PALETTE[0]


def _labels(cal: Calibration) -> dict[str, str]:
    return cal.box.labels() if hasattr(cal.box, "labels") else {n: n for n in cal.box.names}


def _is_date(cal: Calibration, name: str) -> bool:
    return bool(hasattr(cal.box, "is_date") and cal.box.is_date(name))


def _axis_values(cal: Calibration, name: str, values: np.ndarray) -> np.ndarray:
    """Dates (day ordinals) as matplotlib dates; numbers as they are."""
    if _is_date(cal, name):
        return mpl.dates.date2num([dt.date.fromordinal(round(v)) for v in values])
    return values


def observations_chart(cal: Calibration, waves: pd.DataFrame, out_dir: Path) -> Path:
    targets = cal.targets
    cols = min(3, len(targets))
    rows = math.ceil(len(targets) / cols)
    before = waves[waves["wave"] == 1]
    after = waves[waves["nonimplausible"]]
    rng = np.random.default_rng(0)
    with mpl.rc_context(STYLE):
        fig = new_figure(4.0 * cols, 3.2 * rows + 0.6)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, t in zip(axes, targets, strict=False):
            col = f"mean.{t.name}"
            sd_obs, sd_all = math.sqrt(t.obs_var), math.sqrt(t.obs_var + t.discrepancy_var)
            if t.side == "both":
                ax.axhspan(t.observed - 2 * sd_obs, t.observed + 2 * sd_obs, color=PALETTE[1], alpha=0.25, lw=0,
                           label="observed ± 2 sd")
                ax.axhspan(t.observed - 3 * sd_all, t.observed + 3 * sd_all, color=PALETTE[1], alpha=0.08, lw=0,
                           label="± 3 sd incl. discrepancy")
            else:  # one-sided: only the forbidden side has a margin
                sign = -1 if t.side == "at_least" else 1
                ax.axhline(t.observed + sign * 3 * sd_all, color=PALETTE[1], lw=0.8, ls=":",
                           label="3 sd beyond the bound incl. discrepancy")
            ax.axhline(t.observed, color=PALETTE[1], lw=1.2,
                       label=None if t.side == "both" else t.side.replace("_", " "))
            for x, frame, colour in ((0, before, BEFORE), (1, after, AFTER)):
                y = frame[col].to_numpy(dtype=float)
                if len(y):
                    ax.plot(x + rng.uniform(-0.15, 0.15, len(y)), y, "o", ms=3, color=colour, alpha=0.7)
                    ax.plot([x - 0.25, x + 0.25], [np.min(y)] * 2, color=colour, lw=1)
                    ax.plot([x - 0.25, x + 0.25], [np.max(y)] * 2, color=colour, lw=1)
                else:
                    ax.text(x, t.observed, "no point kept", ha="center", fontsize=8, color="#555555")
            ax.set_xticks([0, 1], ["before\n(wave 1 design)", "after\n(points kept)"])
            ax.set_xlim(-0.6, 1.6)
            ax.set_title(t.name, fontsize=9.5)
        for ax in axes[len(targets):]:
            ax.set_visible(False)
        axes[0].legend(loc="best", fontsize=7)
        shares = [w.share_left for w in cal.waves if not math.isnan(w.share_left)]
        left = f"{fmt_pct(shares[-1], 1)} of the parameter space is left" if shares else "no wave finished"
        headline(fig, f"Model runs against the observations: {left}",
                  "Each dot is the mean of one design point's runs: in the first wave (a Latin hypercube of the "
                  "whole space), and among the points kept after the last wave. Bands: the observation ± 2 sd of "
                  "its error, and ± 3 sd of observation error and model discrepancy together.")
        return save_figure(fig, out_dir, "calibration_observations")


def _tick(value: float, _position: int) -> str:
    """'40k', '1.2 M', '0.35', '25'."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:g} M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _choice_bars(ax: Any, alternatives: list[str], prior: np.ndarray, kept: np.ndarray) -> None:
    """Side by side, the share of the prior sample and of the kept points at each alternative (values are
    the alternatives' indices)."""
    index = np.arange(len(alternatives))
    x = index.astype(float)
    before = np.array([np.mean(np.round(prior) == i) for i in index]) if len(prior) else np.zeros(len(index))
    ax.bar(x - 0.2, before, width=0.4, color=BEFORE, alpha=0.5)
    if len(kept):
        ax.bar(x + 0.2, [np.mean(np.round(kept) == i) for i in index], width=0.4, color=AFTER, alpha=0.6)
    ax.set_xticks(x, [textwrap.fill(a.replace("_", " "), 12) for a in alternatives], fontsize=7.5)
    ax.set_yticks([])


def _limits(cal: Calibration, name: str, low: float, high: float) -> tuple[float, float]:
    """The declared range on the axis; a choice's with room for its spread points."""
    lim = _axis_values(cal, name, np.array([low, high]))
    if hasattr(cal.box, "alternatives") and cal.box.alternatives(name):
        return float(lim[0]) - 0.4, float(lim[1]) + 0.4
    return float(lim[0]), float(lim[1])


def _spread(cal: Calibration, name: str, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A choice's indices spread by ± 0.2 so that how many points sit at each alternative shows; else as is."""
    if hasattr(cal.box, "alternatives") and cal.box.alternatives(name):
        return values + rng.uniform(-0.2, 0.2, len(values))
    return values


def marginals_chart(cal: Calibration, out_dir: Path) -> Path:
    names = cal.box.names
    labels = _labels(cal)
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    # the last wave's share sample is uniform over the space; a wave that failed its checks drew none
    prior_unit = cal.share_unit if len(cal.share_unit) else np.random.default_rng(0).random((5000, cal.box.dim))
    prior = cal.box.to_values(prior_unit)
    kept_unit = cal.kept_unit
    kept = cal.box.to_values(kept_unit) if len(kept_unit) else np.empty((0, len(names)))
    with mpl.rc_context(STYLE):
        fig = new_figure(4.0 * cols, 2.6 * rows + 0.6)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for j, (ax, name) in enumerate(zip(axes, names, strict=False)):
            ax.set_yticks([])
            ax.set_title(textwrap.fill(labels.get(name, name), 38), fontsize=9)
            alternatives = cal.box.alternatives(name) if hasattr(cal.box, "alternatives") else []
            if alternatives:  # a choice: the share of points at each alternative, named
                _choice_bars(ax, alternatives, prior[:, j], kept[:, j])
                continue
            a = _axis_values(cal, name, prior[:, j])
            # whole days for dates (finer bins would leave gaps between days)
            bins = (np.arange(np.floor(a.min()) - 0.5, np.ceil(a.max()) + 1.0) if _is_date(cal, name)
                    and a.max() - a.min() <= 90 else np.histogram_bin_edges(a, bins=30))
            ax.hist(a, bins=bins, density=True, color=BEFORE, alpha=0.5, label="before (prior)")
            if len(kept):
                ax.hist(_axis_values(cal, name, kept[:, j]), bins=bins, density=True, color=AFTER, alpha=0.6,
                        label="after (not ruled out)")
            if _is_date(cal, name):
                ax.xaxis.set_major_formatter(mpl.dates.DateFormatter("%d %b"))
            else:  # at most 6 ticks, thousands separated: '100,000' beside '120,000' ran into one another
                ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(6))
                ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(_tick))
        for ax in axes[len(names):]:
            ax.set_visible(False)
        axes[0].legend(loc="best", fontsize=7)
        finding = ("What the observations say about each parameter" if len(kept) else
                   "Nothing is left: under these ranges no parameter values meet every observation")
        headline(fig, finding, "Grey: the declared distribution (a large sample of it). Blue: the part of that "
                                "sample no observation rules out, after the last wave.")
        return save_figure(fig, out_dir, "calibration_marginals")


def pairs_chart(cal: Calibration, chosen: list[str], out_dir: Path) -> Path | None:
    if len(chosen) < 2:
        return None
    chosen = chosen[:MAX_PAIRS]
    labels = _labels(cal)
    index = [cal.box.names.index(n) for n in chosen]
    kept_unit = cal.kept_unit
    if len(kept_unit) > PAIR_POINTS:
        kept_unit = kept_unit[np.random.default_rng(0).choice(len(kept_unit), PAIR_POINTS, replace=False)]
    kept = cal.box.to_values(kept_unit)
    rng = np.random.default_rng(1)  # the spread of a choice's points (drawing only)
    lows = cal.box.to_values(np.zeros((1, cal.box.dim)))[0]
    highs = cal.box.to_values(np.ones((1, cal.box.dim)))[0]
    k = len(chosen)
    with mpl.rc_context({**STYLE, "axes.grid": False}):
        fig = new_figure(2.3 * k, 2.3 * k + 0.5)
        axes = fig.subplots(k, k, squeeze=False)
        for r in range(k):
            for c in range(k):
                ax = axes[r, c]
                if c > r:
                    ax.set_visible(False)
                    continue
                xr, yr = index[c], index[r]
                x = _axis_values(cal, chosen[c], kept[:, xr])
                lim = _limits(cal, chosen[c], lows[xr], highs[xr])
                if r == c:
                    ax.hist(x, bins=25, range=tuple(lim), color=AFTER, alpha=0.7)
                    ax.set_yticks([])
                else:
                    y = _axis_values(cal, chosen[r], kept[:, yr])
                    ax.plot(_spread(cal, chosen[c], x, rng), _spread(cal, chosen[r], y, rng), ".", ms=1.5,
                            color=AFTER, alpha=0.4)
                    ax.set_ylim(*_limits(cal, chosen[r], lows[yr], highs[yr]))
                ax.set_xlim(*lim)
                for axis, name in ((ax.xaxis, chosen[c]), (ax.yaxis, chosen[r])):
                    if axis is ax.yaxis and r == c:
                        continue
                    alternatives = cal.box.alternatives(name) if hasattr(cal.box, "alternatives") else []
                    if _is_date(cal, name):
                        axis.set_major_formatter(mpl.dates.DateFormatter("%d %b"))
                    elif alternatives:  # a choice's indices, named
                        axis.set_major_locator(mpl.ticker.FixedLocator(range(len(alternatives))))
                        axis.set_major_formatter(mpl.ticker.FixedFormatter(
                            [textwrap.fill(a.replace("_", " "), 10) for a in alternatives]))
                    else:  # '0.1500.1750.200' ran together: fewer, compact ticks
                        axis.set_major_locator(mpl.ticker.MaxNLocator(4))
                        axis.set_major_formatter(mpl.ticker.FuncFormatter(_tick))
                # labels on the outer axes only (after the formatters, which would bring them back)
                ax.tick_params(labelbottom=r == k - 1, labelleft=c == 0 and r > 0)
                if r == k - 1:
                    ax.set_xlabel(labels.get(chosen[c], chosen[c]), fontsize=8)
                if c == 0 and r > 0:
                    ax.set_ylabel(labels.get(chosen[r], chosen[r]), fontsize=8)
                ax.tick_params(labelsize=7)
        headline(fig, "Parameter values not ruled out, two by two",
                  "The parameters the observations constrained; each dot a value of the non-implausible set; "
                  "axes span the declared ranges, so empty corners are what the observations ruled out.")
        return save_figure(fig, out_dir, "calibration_pairs")


def draw_all(cal: Calibration, exp: Any, waves: pd.DataFrame, out_dir: Path) -> list[Path]:
    from sim.calibration.history_matching import CONSTRAINED_SD_RATIO, constrained

    made = [observations_chart(cal, waves, out_dir), marginals_chart(cal, out_dir)]
    ratios = constrained(cal)
    chosen = sorted((n for n, r in ratios.items() if r < CONSTRAINED_SD_RATIO), key=lambda n: ratios[n])
    pairs = pairs_chart(cal, chosen, out_dir)
    if pairs is not None:
        made.append(pairs)
    return made
