"""What it takes: the least amount of a scalable lever for which P(target reached by its date) ≥ p.

Method (one lever): bisection over the lever's grid of amounts (min + k × step), assuming P rises with the
amount. At each amount visited, a sequential test of the probability under common random numbers
(replications 0, 1, 2, ... of the experiment's root seed, the same at every amount): start with `initial`
replications, compute the Wilson interval of P̂ (two-sided `confidence`), call the amount "meets" when the
interval lies above p and "fails" when it lies below; otherwise add `batch` replications, up to `maximum`,
after which the call is made on P̂ alone and marked unsure. Replications are thus added only near the
boundary, where P is close to p. The top of the range is tested first: if even the largest amount clearly
fails, the target is out of reach within the lever's bounds.

Error rates: a clear call is wrong with probability at most about (1 − confidence)/2 per amount visited
(one side of the Wilson interval); unsure calls are what the answer's range expresses: the answer lies
between the largest amount clearly failing (exclusive) and the smallest amount clearly meeting.

Several levers (`--levers A,B,...`): every combination of the amounts of all but the last lever on their
grids (a small grid), and for each the bisection above on the last lever; the cheapest combination (euros)
that meets p wins. Chosen because the grids are small (a handful of steps each), the search is exact on the
grid when P rises with every lever, and bisection keeps the expensive part (the replications) logarithmic
in the last lever's grid; combinations already dearer than the best found are skipped without running.
Every lever at its largest amount is tried first: if that fails, no combination can meet p.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config import scenario_dict
from sim.decisions.levers import LeverSpec, apply_lever
from sim.errors import ConfigError
from sim.results.analysis import wilson_interval
from sim.results.tables import REACHED_BY_DATE
from sim.spec import RunSpec

MEETS, FAILS = "meets", "fails"


@dataclass
class Evaluation:
    amounts: dict[str, float]
    successes: int = 0
    n: int = 0
    decision: str = ""
    sure: bool = False
    outcomes: list[float] = field(default_factory=list)

    def interval(self, confidence: float) -> tuple[float, float, float]:
        return wilson_interval(self.successes, self.n, confidence) if self.n else (math.nan, math.nan, math.nan)


class Search:
    """Runs the replications of the search and keeps every evaluation (cached by amounts)."""

    def __init__(self, exp: Any, levers: list[str], target: str, probability: float, out: Path, *,
                 initial: int = 10, batch: int = 10, maximum: int = 40, confidence: float = 0.95,
                 workers: int | None = None, scheduler: str | None = None, progress: bool | None = False) -> None:
        self.exp, self.levers, self.target, self.p = exp, levers, target, probability
        self.out, self.workers, self.scheduler, self.progress = out, workers, scheduler, progress
        self.initial, self.batch, self.maximum, self.confidence = initial, batch, maximum, confidence
        self.specs: dict[str, LeverSpec] = {name: exp.spec.levers[name] for name in levers}
        self.evaluations: dict[tuple[float, ...], Evaluation] = {}
        self.dirs: dict[str, Path] = {}
        self.runs = 0

    # ------------------------------------------------------------------------------------ one point
    def label(self, amounts: dict[str, float]) -> str:
        return "+".join(f"{name}={amounts[name]:g}" for name in self.levers)

    def _scenario(self, amounts: dict[str, float]) -> dict[str, Any]:
        data = scenario_dict(self.exp.base)
        for name in self.levers:
            apply_lever(data, name, self.specs[name], amounts[name], self.exp.file)
        from sim.config import validate_scenario

        return scenario_dict(validate_scenario(data, f"{self.exp.file} ({self.label(amounts)})"))

    def _run(self, amounts: dict[str, float], n: int) -> list[float]:
        from sim.runs.driver import run_specs

        label = self.label(amounts)
        data = self._scenario(amounts)
        specs = [RunSpec(run_id=f"{label}/p0/r{r:03d}", scenario_name=label, point={}, replication=r,
                         root_seed=self.exp.seed, scenario=copy.deepcopy(data)) for r in range(n)]
        where = self.out / "what_it_takes_runs" / label.replace("=", "_")
        self.dirs[label] = where
        outcome = run_specs(specs, where, workers=self.workers, scheduler=self.scheduler, progress=self.progress,
                            manifest_extra={"experiment": f"{self.exp.name}: what it takes", "scenarios": [label]})
        self.runs += len(outcome.completed)
        if outcome.failed:
            run_id, error = outcome.failed[0]
            raise RuntimeError(f"{len(outcome.failed)} runs failed at {label}, e.g. {run_id}: {error}")
        runs = pd.read_parquet(where / "runs.parquet").sort_values("replication")
        return runs[REACHED_BY_DATE + self.target].astype(float).tolist()

    def evaluate(self, amounts: dict[str, float]) -> Evaluation:
        key = tuple(amounts[name] for name in self.levers)
        ev = self.evaluations.setdefault(key, Evaluation(dict(amounts)))
        if ev.decision:
            return ev
        n = max(self.initial, ev.n)
        while True:
            ev.outcomes = self._run(amounts, n)
            ev.n, ev.successes = len(ev.outcomes), int(sum(ev.outcomes))
            p_hat, low, high = ev.interval(self.confidence)
            if low >= self.p:
                ev.decision, ev.sure = MEETS, True
            elif high < self.p:
                ev.decision, ev.sure = FAILS, True
            elif n >= self.maximum:
                ev.decision, ev.sure = (MEETS if p_hat >= self.p else FAILS), False
            if ev.decision:
                return ev
            n = min(self.maximum, n + self.batch)

    # ------------------------------------------------------------------------------ one lever, bisection
    def least_amount(self, name: str, fixed: dict[str, float]) -> dict[str, Any]:
        grid = self.specs[name].scalable.grid()  # type: ignore[union-attr]
        at = {**fixed}

        def ev(i: int) -> Evaluation:
            return self.evaluate({**at, name: grid[i]})

        top = ev(len(grid) - 1)
        if top.decision == FAILS:
            return {"reachable": False, "amount": None, "low": None, "high": None, "top": top}
        lo, hi = -1, len(grid) - 1  # invariant: grid[lo] fails (or lo = -1), grid[hi] meets
        if ev(0).decision == MEETS:
            hi = 0
        else:
            lo = 0
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if ev(mid).decision == MEETS:
                    hi = mid
                else:
                    lo = mid
        # the answer's range: after the largest clearly failing amount, up to the smallest clearly meeting one
        visited = {grid.index(e.amounts[name]): e for e in self.evaluations.values()
                   if all(e.amounts.get(k) == v for k, v in fixed.items()) and e.amounts[name] in grid}
        sure_fail = [i for i, e in visited.items() if e.decision == FAILS and e.sure and i < hi]
        sure_meet = [i for i, e in visited.items() if e.decision == MEETS and e.sure and i >= hi]
        low = grid[max(sure_fail) + 1] if sure_fail else grid[0]
        high = grid[min(sure_meet)] if sure_meet else None
        return {"reachable": True, "amount": grid[hi], "low": low, "high": high, "top": top}


def cost_of(specs: dict[str, LeverSpec], amounts: dict[str, float]) -> tuple[float, float]:
    euros = people = 0.0
    for name, amount in amounts.items():
        e, p = specs[name].cost_at(amount)
        euros, people = euros + e, people + p
    return euros, people


def check_request(exp: Any, levers: list[str], target: str, probability: float) -> None:
    file = exp.file
    if not 0.0 < probability < 1.0:
        raise ConfigError.at("--probability", "", probability, "a probability strictly between 0 and 1")
    if target not in exp.base.targets:
        raise ConfigError.at(file, "targets", target, f"one of the targets: {', '.join(exp.base.targets) or 'none'}")
    if exp.base.targets[target].by is None:
        raise ConfigError.at(file, f"targets.{target}.by", None, "a target with a `by` date")
    if not levers:
        raise ConfigError.at("--lever", "", "", "name at least one lever")
    for name in levers:
        if name not in exp.spec.levers:
            raise ConfigError.at(file, "levers", name, f"one of the levers: {', '.join(exp.spec.levers) or 'none'}")
        if exp.spec.levers[name].scalable is None:
            raise ConfigError.at(file, f"levers.{name}.scalable", None, "a scalable lever (with min, max, step)")
    if len(set(levers)) != len(levers):
        raise ConfigError.at("--levers", "", ",".join(levers), "each lever once")


def what_it_takes(exp: Any, levers: list[str], target: str, probability: float, out: Path, **options: Any
                  ) -> dict[str, Any]:
    """Search and return the answer as JSON-able data (see the module docstring)."""
    check_request(exp, levers, target, probability)
    search = Search(exp, levers, target, probability, out, **options)
    specs = search.specs
    last = levers[-1]
    others = levers[:-1]
    grids = [specs[name].scalable.grid() for name in others]  # type: ignore[union-attr]
    best: dict[str, Any] | None = None
    tried = []
    top = {name: specs[name].scalable.max for name in levers}  # type: ignore[union-attr]
    # every lever at its largest amount first: if that fails, so does every combination (P rises with each)
    combos = itertools.product(*grids) if search.evaluate(top).decision == MEETS else iter(())
    for combo in combos:
        fixed = dict(zip(others, combo, strict=True))
        floor_cost = cost_of(specs, {**fixed, last: specs[last].scalable.min})[0]  # type: ignore[union-attr]
        if best is not None and floor_cost >= best["euros"]:
            continue
        found = search.least_amount(last, fixed)
        entry = {"fixed": fixed, **{k: v for k, v in found.items() if k != "top"}}
        tried.append(entry)
        if found["reachable"]:
            amounts = {**fixed, last: found["amount"]}
            euros, people = cost_of(specs, amounts)
            if best is None or euros < best["euros"]:
                best = {"amounts": amounts, "euros": euros, "people": people,
                        "range": {last: [found["low"], found["high"]]}}
    top_eval = search.evaluate(top)
    p_top, lo_top, hi_top = top_eval.interval(search.confidence)
    points = []
    for ev in sorted(search.evaluations.values(), key=lambda e: tuple(e.amounts[n] for n in levers)):
        p_hat, low, high = ev.interval(search.confidence)
        points.append({"amounts": ev.amounts, "n": ev.n, "successes": ev.successes, "p": p_hat, "low": low,
                       "high": high, "decision": ev.decision, "sure": ev.sure,
                       "euros": cost_of(specs, ev.amounts)[0]})
    by = exp.base.targets[target].by
    answer: dict[str, Any] = {
        "experiment": exp.name, "target": target, "masks": exp.base.targets[target].masks, "by": by.isoformat(),
        "probability": probability, "levers": levers,
        "units": {n: specs[n].scalable.unit for n in levers},  # type: ignore[union-attr]
        "bounds": {n: [specs[n].scalable.min, specs[n].scalable.max, specs[n].scalable.step]  # type: ignore[union-attr]
                   for n in levers},
        "reachable": best is not None, "answer": best,
        "at_max": {"amounts": top, "p": p_top, "low": lo_top, "high": hi_top},
        "method": ("bisection on the lever's grid with sequential Wilson tests of P under common random numbers"
                   if not others else "grid over all but the last lever, bisection on the last (cheapest in euros)"),
        "settings": {"initial": search.initial, "batch": search.batch, "maximum": search.maximum,
                     "confidence": search.confidence, "root_seed": exp.seed},
        "error_rates": (f"each clear call is wrong with probability <= {(1 - search.confidence) / 2:.3f}; calls "
                        f"at {search.maximum} replications are on the estimate alone (marked sure=false)"),
        "runs": search.runs, "points": points, "combinations": tried,
    }
    if best is None:
        answer["why"] = (f"even at the largest amounts ({', '.join(f'{k}={v:g}' for k, v in top.items())}) "
                         f"P({target} by {by.isoformat()}) = {p_top:.2f} ({lo_top:.2f}–{hi_top:.2f}) < {probability}"
                         + _shortfall(search.dirs[search.label(top)], exp, target))
    return answer


def _shortfall(runs_dir: Path, exp: Any, target: str) -> str:
    """How far the largest amounts fall short by the date, and what bound the network in the weeks before it."""
    spec = exp.base.targets[target]
    by_day = (spec.by - exp.base.start).days
    parts = []
    series_path, bottlenecks_path = runs_dir / "series.parquet", runs_dir / "bottlenecks.parquet"
    measure = {"delivered": "cum_delivered", "sewn": "sewn_by_kind", "free": "delivered"}[spec.measure]
    if series_path.exists() and spec.measure != "free":
        series = pd.read_parquet(series_path, columns=["replication", "day", "series", "value"])
        rows = series[(series["series"] == measure) & (series["day"] <= by_day)]
        per_run = rows.groupby(["replication", "day"])["value"].sum()
        reached = (per_run.groupby("replication").cumsum() if measure == "sewn_by_kind" else per_run)
        at_date = reached.xs(by_day, level="day") if by_day in reached.index.get_level_values("day") else None
        if at_date is not None:
            parts.append(f"; by then {at_date.mean():,.0f} masks {spec.measure} on average (of {spec.masks:,})")
    if bottlenecks_path.exists():
        table = pd.read_parquet(bottlenecks_path)
        rows = table[(table["level"] == "network") & (table["week_index"] * 7 < by_day)]
        if not rows.empty:
            shares = rows.groupby("stage")["share"].sum() / rows.groupby(["run_id", "week_index"]).ngroups
            stage = str(shares.idxmax())
            parts.append(f"; the binding constraint before the date is {stage} ({shares.max():.0%} of the time)")
    return "".join(parts)
