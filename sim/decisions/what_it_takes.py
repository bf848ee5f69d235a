"""What it takes: the least amount of a scalable lever for which P(target reached by its date) ≥ p.

Method (one lever): bisection over the lever's grid of amounts (min + k × step), assuming P rises with the
amount (checked afterwards, see below). At each amount visited, a group-sequential exact binomial test of
"P ≥ p" (sim/decisions/sequential.py) under common random numbers (replications 0, 1, 2, ... of the
experiment's root seed, the same at every amount): looks after `initial`, `initial + batch`, ... up to
`maximum` replications; the amount "meets" or "fails" as soon as the count of runs reaching the target
crosses a boundary computed exactly at P = p with the error spent across the looks; after the last look
it is "undecided", never called on the estimate alone. Replications are thus added only near the boundary.

Error rates: each clear call ("meets" or "fails" at one amount) is wrong with probability ≤ alpha (0.025 by
default) whatever the true P: the exact sums over binomial paths say so (`worst_error`, reached at P = p).
The answer is the smallest amount clearly meeting; the least amount with P ≥ p lies between the amount
after the largest one clearly failing and the answer (the amounts between were undecided or not visited).
The top of the range is tested first: "out of reach" only when the largest amount clearly fails; when it
is undecided the answer is "undecided at N replications".

Monotonicity: every pair of amounts visited (same other levers) is compared on the replications they share
(paired exact test, Bonferroni over the pairs): P falling as the amount rises beyond the noise, or an amount
clearly meeting below one clearly failing, is reported as a warning (the bisection's premise fails there).

Several levers (`--levers A,B,...`): every combination of the amounts of all but the last lever on their
grids (a small grid), and for each the bisection above on the last lever; the cheapest combination (euros)
that clearly meets p wins. Chosen because the grids are small (a handful of steps each), the search is exact
on the grid when P rises with every lever, and bisection keeps the expensive part (the replications)
logarithmic in the last lever's grid; combinations already dearer than the best found are skipped without
running. Every lever at its largest amount is tried first: unless that clearly meets, no combination can.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config import scenario_dict
from sim.decisions.levers import LeverSpec, apply_lever
from sim.decisions.ranking import money
from sim.decisions.sequential import (
    FAILS,
    MEETS,
    UNDECIDED,
    SequentialPlan,
    exact_interval,
    looks_of,
    paired_drop_p_value,
    plan,
)
from sim.errors import ConfigError
from sim.results.tables import REACHED_BY_DATE
from sim.spec import RunSpec

REACHABLE, OUT_OF_REACH = "reachable", "out of reach"  # and UNDECIDED: the answer's three statuses
ALPHA = 0.025  # each clear call is wrong with probability at most this
MONOTONICITY_LEVEL = 0.05  # family-wise, over the pairs of amounts compared

# amounts -> the first n outcomes (0/1: target reached by its date) of replications 0..n-1 at those amounts
Sampler = Callable[[dict[str, float], int], list[float]]


@dataclass
class Evaluation:
    amounts: dict[str, float]
    successes: int = 0
    n: int = 0
    decision: str = ""
    outcomes: list[float] = field(default_factory=list)

    def interval(self, confidence: float) -> tuple[float, float, float]:
        """(P̂, exact Clopper–Pearson interval) of the runs so far."""
        if not self.n:
            return math.nan, math.nan, math.nan
        low, high = exact_interval(self.successes, self.n, confidence)
        return self.successes / self.n, low, high


class Search:
    """Runs the sequential test at the amounts the search visits and keeps every evaluation (by amounts).

    `sample(amounts, n)` gives the outcomes of replications 0..n-1 (the model's runs in `what_it_takes`,
    Bernoulli draws under common random numbers in benchmarks/stat_what_it_takes.py).
    """

    def __init__(self, grids: dict[str, list[float]], sample: Sampler, seq: SequentialPlan) -> None:
        self.grids, self.levers, self.sample, self.seq = grids, list(grids), sample, seq
        self.evaluations: dict[tuple[float, ...], Evaluation] = {}

    def evaluate(self, amounts: dict[str, float]) -> Evaluation:
        key = tuple(amounts[name] for name in self.levers)
        ev = self.evaluations.setdefault(key, Evaluation(dict(amounts)))
        for look, n in enumerate(self.seq.looks):
            if ev.decision:
                break
            ev.outcomes = list(self.sample(amounts, n))[:n]
            ev.n, ev.successes = len(ev.outcomes), int(sum(ev.outcomes))
            ev.decision = self.seq.decide(look, ev.successes)
        return ev

    def least_amount(self, name: str, fixed: dict[str, float]) -> dict[str, Any]:
        """Bisection on `name`'s grid, the other levers at `fixed`: the smallest amount clearly meeting."""
        grid = self.grids[name]

        def ev(i: int) -> Evaluation:
            return self.evaluate({**fixed, name: grid[i]})

        top = ev(len(grid) - 1)
        if top.decision != MEETS:
            status = OUT_OF_REACH if top.decision == FAILS else UNDECIDED
            return {"status": status, "amount": None, "low": None, "top": top}
        lo, hi = -1, len(grid) - 1  # invariant: grid[hi] clearly meets, grid[lo] does not (or lo = -1)
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
        failing = [i for i, e in self.visited(name, fixed).items() if e.decision == FAILS and i < hi]
        low = grid[max(failing) + 1] if failing else grid[0]
        return {"status": REACHABLE, "amount": grid[hi], "low": low, "top": top}

    def visited(self, name: str, fixed: dict[str, float]) -> dict[int, Evaluation]:
        """grid index -> evaluation, at the amounts of `name` visited with the other levers at `fixed`."""
        grid = self.grids[name]
        return {grid.index(e.amounts[name]): e for e in self.evaluations.values()
                if all(e.amounts.get(k) == v for k, v in fixed.items()) and e.amounts[name] in grid}

    def monotonicity_warnings(self, name: str, fixed: dict[str, float]) -> list[dict[str, Any]]:
        """Pairs of visited amounts where P falls as `name` rises beyond the noise (see the module docstring)."""
        visited = sorted(self.visited(name, fixed).items())
        pairs = [(a, b) for i, a in enumerate(visited) for b in visited[i + 1:]]
        found = []
        for (_, low_ev), (_, high_ev) in pairs:
            shared = min(low_ev.n, high_ev.n)
            p_value = paired_drop_p_value(low_ev.outcomes[:shared], high_ev.outcomes[:shared])
            contradiction = low_ev.decision == MEETS and high_ev.decision == FAILS
            if contradiction or p_value < MONOTONICITY_LEVEL / len(pairs):
                found.append({"fixed": fixed, "lever": name, "lower": low_ev.amounts[name],
                              "higher": high_ev.amounts[name], "p_lower": low_ev.successes / low_ev.n,
                              "p_higher": high_ev.successes / high_ev.n, "shared_replications": shared,
                              "p_value": p_value, "calls": [low_ev.decision, high_ev.decision]})
        return found


class ModelSampler:
    """The model's runs at given amounts: replications 0..n-1 of the experiment's root seed (kept on disk
    under <out>/what_it_takes_runs/ and reused), as 0/1 outcomes of the target by its date."""

    def __init__(self, exp: Any, specs: dict[str, LeverSpec], target: str, out: Path, *,
                 workers: int | None = None, scheduler: str | None = None, progress: bool | None = False) -> None:
        self.exp, self.specs, self.target, self.out = exp, specs, target, out
        self.workers, self.scheduler, self.progress = workers, scheduler, progress
        self.dirs: dict[str, Path] = {}
        self.runs = 0

    def label(self, amounts: dict[str, float]) -> str:
        return "+".join(f"{name}={amounts[name]:g}" for name in self.specs)

    def _scenario(self, amounts: dict[str, float]) -> dict[str, Any]:
        from sim.config import validate_scenario

        data = scenario_dict(self.exp.base)
        for name, spec in self.specs.items():
            apply_lever(data, name, spec, amounts[name], self.exp.file)
        return scenario_dict(validate_scenario(data, f"{self.exp.file} ({self.label(amounts)})"))

    def __call__(self, amounts: dict[str, float], n: int) -> list[float]:
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
        runs = runs[runs["replication"] < n]
        return runs[REACHED_BY_DATE + self.target].astype(float).tolist()


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


def _can(seq: SequentialPlan, side: str) -> bool:
    """Whether some look of the plan can call `side` ("meet" or "fail") at all."""
    if side == "meet":
        return any(b <= n for b, n in zip(seq.upper, seq.looks, strict=True))
    return any(b >= 0 for b in seq.lower)


def _check_can_call(seq: SequentialPlan, initial: int, batch: int, alpha: float) -> None:
    """Refuse settings under which no amount can ever clearly meet (or fail) the probability."""
    for side in ("meet", "fail"):
        if _can(seq, side):
            continue
        needed = seq.looks[-1] + 1
        while needed < 100_000 and not _can(plan(seq.target, looks_of(initial, batch, needed), alpha), side):
            needed += 1
        raise ConfigError.at("--max-replications", "", seq.looks[-1],
                             f"enough replications for an amount to clearly {side} P ≥ {seq.target:g} with error "
                             f"≤ {alpha:g} (at least {needed} with --initial {initial} --batch {batch})")


def what_it_takes(exp: Any, levers: list[str], target: str, probability: float, out: Path, *,
                  initial: int = 10, batch: int = 10, maximum: int = 80, alpha: float = ALPHA,
                  workers: int | None = None, scheduler: str | None = None, progress: bool | None = False
                  ) -> dict[str, Any]:
    """Search and return the answer as JSON-able data (see the module docstring)."""
    check_request(exp, levers, target, probability)
    specs: dict[str, LeverSpec] = {name: exp.spec.levers[name] for name in levers}
    grids = {name: spec.scalable.grid() for name, spec in specs.items()}  # type: ignore[union-attr]
    seq = plan(probability, looks_of(initial, batch, maximum), alpha)
    _check_can_call(seq, initial, batch, alpha)
    sampler = ModelSampler(exp, specs, target, out, workers=workers, scheduler=scheduler, progress=progress)
    search = Search(grids, sampler, seq)
    last, others = levers[-1], levers[:-1]
    best: dict[str, Any] | None = None
    tried = []
    warnings: list[dict[str, Any]] = []
    top = {name: grids[name][-1] for name in levers}
    top_eval = search.evaluate(top)
    # every lever at its largest amount first: unless that clearly meets, no combination can (P rises with each)
    combos = itertools.product(*(grids[name] for name in others)) if top_eval.decision == MEETS else iter(())
    for combo in combos:
        fixed = dict(zip(others, combo, strict=True))
        floor_cost = cost_of(specs, {**fixed, last: grids[last][0]})[0]
        if best is not None and floor_cost >= best["euros"]:
            continue
        found = search.least_amount(last, fixed)
        warnings += search.monotonicity_warnings(last, fixed)
        tried.append({"fixed": fixed, "status": found["status"], "amount": found["amount"], "low": found["low"]})
        if found["status"] == REACHABLE:
            amounts = {**fixed, last: found["amount"]}
            euros, people = cost_of(specs, amounts)
            if best is None or euros < best["euros"]:
                best = {"amounts": amounts, "euros": euros, "people": people,
                        "range": {last: [found["low"], found["amount"]]}}
    status = REACHABLE if best is not None else OUT_OF_REACH if top_eval.decision == FAILS else UNDECIDED
    confidence = 1 - 2 * alpha
    p_top, lo_top, hi_top = top_eval.interval(confidence)
    points = []
    for ev in sorted(search.evaluations.values(), key=lambda e: tuple(e.amounts[n] for n in levers)):
        p_hat, low, high = ev.interval(confidence)
        points.append({"amounts": ev.amounts, "n": ev.n, "successes": ev.successes, "p": p_hat, "low": low,
                       "high": high, "decision": ev.decision, "euros": cost_of(specs, ev.amounts)[0]})
    by = exp.base.targets[target].by
    looks = ", ".join(str(n) for n in seq.looks)
    answer: dict[str, Any] = {
        "experiment": exp.name, "target": target, "masks": exp.base.targets[target].masks, "by": by.isoformat(),
        "probability": probability, "levers": levers,
        "units": {n: specs[n].scalable.unit for n in levers},  # type: ignore[union-attr]
        "bounds": {n: [specs[n].scalable.min, specs[n].scalable.max, specs[n].scalable.step]  # type: ignore[union-attr]
                   for n in levers},
        "status": status, "reachable": status == REACHABLE, "answer": best,
        "at_max": {"amounts": top, "n": top_eval.n, "successes": top_eval.successes, "p": p_top, "low": lo_top,
                   "high": hi_top, "decision": top_eval.decision},
        "method": ("bisection on the lever's grid with a group-sequential exact binomial test of P at each amount, "
                   "under common random numbers" if not others else
                   "grid over all but the last lever, bisection on the last (cheapest in euros)"),
        "settings": {"initial": initial, "batch": batch, "maximum": maximum, "looks": list(seq.looks),
                     "alpha": alpha, "boundaries": seq.boundary_text(), "root_seed": exp.seed},
        "worst_error": seq.worst_error(),
        "error_rates": (f"each clear call (an amount clearly meets or clearly fails P ≥ {probability:g}) is wrong "
                        f"with probability ≤ {alpha:g} whatever the true P (exact binomial boundaries at {looks} "
                        f"replications with the error spent across the looks; exact worst case "
                        f"{seq.worst_error():.4f}); an amount neither meets nor fails after {seq.looks[-1]} "
                        "replications is undecided, never called"),
        "monotonicity": warnings,
        "runs": sampler.runs, "points": points, "combinations": tried,
    }
    if status != REACHABLE:
        answer["why"] = _shortfall(sampler.dirs[sampler.label(top)], exp, target)
    return answer


def answer_sentences(answer: dict[str, Any], name: Callable[[str], str] = str) -> list[str]:
    """The answer in plain sentences: the amount (or why none), the error statement, any warnings.

    `name` renders a lever id (the report passes its words). Every statement here agrees with the JSON.
    """
    p = answer["probability"]
    goal = f"{answer['target']} ({answer['masks']:,} masks) by {answer['by']} with P ≥ {p:.0%}"
    units = answer["units"]
    levers = answer["levers"]
    last = levers[-1]

    def amount(lever: str, value: float) -> str:
        return f"{name(lever)} = {value:g} {units[lever]}"

    def runs(point: dict[str, Any]) -> str:
        return f"{point['successes']}/{point['n']} runs reached it"

    status = answer.get("status", REACHABLE if answer["reachable"] else OUT_OF_REACH)
    top = answer["at_max"]
    at_top = ", ".join(amount(k, v) for k, v in top["amounts"].items())
    if status == OUT_OF_REACH:
        first = (f"{goal}: out of reach within the lever's bounds: even at {at_top}, P is clearly below {p:.0%} "
                 f"({runs(top)}){answer.get('why', '')}.")
    elif status == UNDECIDED:
        first = (f"{goal}: undecided at {top['n']} replications: at {at_top}, {runs(top)} (P̂ = {top['p']:.2f}), "
                 f"neither clearly above nor clearly below {p:.0%}{answer.get('why', '')}; more replications "
                 "(--max-replications) may settle it.")
    else:
        best = answer["answer"]
        chosen = ", ".join(amount(k, v) for k, v in best["amounts"].items())
        fixed = {k: v for k, v in best["amounts"].items() if k != last}
        same = [q for q in answer["points"] if all(q["amounts"].get(k) == v for k, v in fixed.items())]
        at = {q["amounts"][last]: q for q in same}
        value = best["amounts"][last]
        low = best["range"][last][0]
        below = [a for a in sorted(at) if a < value]
        cost = money(best["euros"]) + (f", {best['people']:.0f} people" if best["people"] else "")
        meets = f"{value:g} clearly meets it ({runs(at[value])})"
        smallest = answer["bounds"][last][0]
        if value == smallest:
            where = f"{meets}, and it is the lever's smallest amount"
        elif low == value:
            under = at[below[-1]]
            where = f"{meets} and {below[-1]:g} clearly fails ({runs(under)}): {value:g} is the least amount"
        else:
            undecided = [a for a in below if a >= low and at[a]["decision"] == UNDECIDED]
            n_max = answer["settings"]["maximum"]
            why_open = (f"; {', '.join(f'{a:g}' for a in undecided)} undecided after {n_max} replications"
                        if undecided else "")
            where = f"{meets}; the least amount lies between {low:g} and {value:g}{why_open}"
        first = f"{goal}: {chosen} ({cost}). {where[0].upper()}{where[1:]}."
    lines = [first, f"{answer['error_rates'][0].upper()}{answer['error_rates'][1:]}."]
    for w in answer.get("monotonicity", []):
        lower, higher = amount(w["lever"], w["lower"]), f"{w['higher']:g}"
        if w["calls"] == [MEETS, FAILS]:
            seen = f"{lower} clearly meets the goal but {higher} clearly fails it"
        else:
            seen = (f"P̂ falls from {w['p_lower']:.2f} at {lower} to {w['p_higher']:.2f} at {higher} on the same "
                    f"{w['shared_replications']} replications (paired exact test p = {w['p_value']:.2g})")
        lines.append(f"Warning: P does not rise with {name(w['lever'])}: {seen}. The search assumes it does, so "
                     "the answer may be wrong; check the lever.")
    return lines


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
