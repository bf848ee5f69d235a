"""Coverage of the levers' paired intervals on synthetic problems with a known answer (a section of
bench_statistics.py).

    python benchmarks/stat_levers.py [--quick]

levers.csv states, per lever: days gained with an interval (95 %, or the Bonferroni level 1 − 0.05/K when
replications are added in K looks) and days per €M with the same interval over the cost. Each problem here
is a base and a lever observed over replications as the model reports them (whole days to a target, paired
by replication through a shared component, as under common random numbers, a target never reached counted
at the horizon): base day = round(20 + 3·Z_r), lever day = round(20 + 3·Z_r − g + s·E_r), Z and E standard
normal. The true mean gain is g: rounding a variable spread over many whole days (sd 3) changes its mean by
far less than 1e-10 (clipping at 0 and the horizon, 6 sd away, likewise). The intervals come from the
project's code: `day_gain`, `selected_confidence` and `per_cost`, the calls `lever_table` makes per lever and target
(sim/decisions/ranking.py; calling them directly keeps 10,000 problems within a minute), on the synthetic
runs, and for the added replications `sequential_additions` (sim/decisions/adding.py) with new replications
drawn on demand.
Gains g in {0, 0.5, 1.5, 4} days, noise s in {0.3, 1, 3}, cost €200,000.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.decisions.adding import look_confidence, replication_looks, sequential_additions
from sim.decisions.paired import day_gain
from sim.decisions.ranking import per_cost, selected_confidence
from sim.results.tables import DAY_TARGET, REACHED_BY_DATE

HORIZON = 60
EUROS = 200_000.0
FAMILIES = [(g, s) for g in (0.0, 0.5, 1.5, 4.0) for s in (0.3, 1.0, 3.0)]


def days(rng: np.random.Generator, gain: float, noise: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    z, e = rng.standard_normal(n), rng.standard_normal(n)
    base = np.clip(np.round(20 + 3 * z), 0, HORIZON)
    lever = np.clip(np.round(20 + 3 * z - gain + noise * e), 0, HORIZON)
    return base, lever




def runs_frame(base: np.ndarray, lever: np.ndarray, first: int = 0) -> pd.DataFrame:
    reps = np.arange(first, first + len(base))
    rows = []
    for scenario, values in (("base", base), ("lever", lever)):
        rows.append(pd.DataFrame({"scenario": scenario, "replication": reps, "status": "ok",
                                  DAY_TARGET + "goal": values, REACHED_BY_DATE + "goal": (values <= 25).astype(float)}))
    return pd.concat(rows, ignore_index=True)


def table_of(runs: pd.DataFrame, confidence: float = 0.95) -> dict[str, float]:
    """The lever's days gained and days per €M as lever_table computes them."""
    gain, low, high, _, _ = day_gain(runs, "base", "lever", "goal", HORIZON, confidence)
    wide = day_gain(runs, "base", "lever", "goal", HORIZON, selected_confidence(confidence))[:3]
    return {"days_gained": gain, "days_gained_low": low, "days_gained_high": high,
            **per_cost("days_per_meur", wide, EUROS / 1e6, significant=low > 0)}


def row(claim: str, stated: float, covered: int, n: int, detail: str) -> dict[str, Any]:
    measured = covered / n if n else math.nan
    mc_se = math.sqrt(max(measured * (1 - measured), 1 / n) / n) if n else math.nan
    return {"method": "levers", "claim": claim, "kind": "coverage", "stated": stated, "measured": measured,
            "n": n, "mc_se": mc_se, "exact": False, "detail": detail}


def fixed_rows(problems: int, replications: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    covered = written = per_covered = 0
    total = 0
    worst = (1.0, None)
    for gain, noise in FAMILIES:
        truth = gain
        family_covered = 0
        for _ in range(problems):
            r = table_of(runs_frame(*days(rng, gain, noise, replications)))
            hit = r["days_gained_low"] <= truth <= r["days_gained_high"]
            family_covered += hit
            if not math.isnan(r["days_per_meur"]):
                written += 1
                per_covered += r["days_per_meur_low"] <= truth / (EUROS / 1e6) <= r["days_per_meur_high"]
        covered += family_covered
        total += problems
        worst = min(worst, (family_covered / problems, (gain, noise)))
    detail = (f"{len(FAMILIES)} families × {problems} problems, {replications} paired replications; lowest "
              f"family {worst[0]:.3f} at gain {worst[1][0]:g}, noise {worst[1][1]:g}")
    return [row(f"days gained: 95 % paired interval holds the true gain ({replications} reps)", 0.95, covered, total,
                detail),
            row(f"days per €M: the interval holds the true value where written ({replications} reps, no additions)",
                0.95, per_covered, written, f"{written} of {total} problems significant (others: no value, by design)")]


def sequential_rows(problems: int, replications: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    looks = replication_looks(replications, None)
    confidence = look_confidence(looks)
    covered = total = excluded_null = nulls = written = per_covered = 0
    for gain, noise in FAMILIES:
        truth = gain
        for _ in range(problems):
            runs = runs_frame(*days(rng, gain, noise, replications))

            def more(wanted: dict[str, int], gain: float = gain, noise: float = noise) -> pd.DataFrame:
                nonlocal runs
                have = int(runs["replication"].max()) + 1
                need = max(wanted.values())
                if need > have:
                    runs = pd.concat([runs, runs_frame(*days(rng, gain, noise, need - have), first=have)],
                                     ignore_index=True)
                return runs

            final, stops = sequential_additions(runs, ["lever"], "base", "goal", HORIZON, looks, more)
            r = table_of(final, confidence)
            covered += r["days_gained_low"] <= truth <= r["days_gained_high"]
            total += 1
            if not math.isnan(r["days_per_meur"]):
                written += 1
                per_covered += r["days_per_meur_low"] <= truth / (EUROS / 1e6) <= r["days_per_meur_high"]
            if truth == 0:
                nulls += 1
                excluded_null += stops["lever"] == "interval excludes 0"
    looks_text = ", ".join(str(n) for n in looks)
    return [row(f"days gained after replications added until 0 is excluded (looks {looks_text})", 0.95, covered,
                total, f"every look at {confidence:.4f} (Bonferroni over {len(looks)} looks); "
                f"{len(FAMILIES)} families × {problems}"),
            row("days per €M: the interval holds the true value where written (replications added)", 0.95,
                per_covered, written, f"{written} of {total} problems significant (others: no value, by design)"),
            row("a lever with no effect is not called significant (added replications)", 0.95,
                nulls - excluded_null, nulls, f"gain 0: {excluded_null} of {nulls} stopped on 'interval excludes 0'")]


def checks(quick: bool) -> list[dict[str, Any]]:
    rng = np.random.default_rng(20200406)
    problems = 200 if quick else 1000
    return (fixed_rows(problems, 6, rng) + fixed_rows(problems, 20, rng)
            + sequential_rows(problems // 2 if quick else problems, 6, rng))


if __name__ == "__main__":
    from bench_statistics import run_alone  # benchmarks/ is on the path when this file runs as a script

    sys.exit(run_alone(__file__))
