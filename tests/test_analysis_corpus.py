"""A generated corpus of the analysis layer (issue 24), as tests/test_generated_networks.py and
tests/test_input_mutations.py are for the core: VALID uncertainty studies, lever sets, stress matrices with their
shock files, calibrations (as their block stands) and forecasts from a calibration folder (`parameters_from:`),
drawn at random on a small network with every shock kind something to hit, must each validate (and a few of
each kind run for real, writing their tables); MUTATIONS of them, one fault each from the classes of issue 24,
must each be refused by `resilience validate` in exactly one line, exit 2, naming the file that holds the fault
(the experiment or the shock file); RANDOM wrong values at random places of the analysis blocks must give
exit 0 or that one line, never an internal error or a traceback.

Cases are drawn from seeded `random.Random` generators (the same corpus on every run). `validate` runs in this
process (`sim.cli.main`). The counts of each are printed (pytest -s) and asserted.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import math
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from sim.cli import main
from tests.scenarios import line

START = dt.date(2020, 3, 30)
HORIZON = 14
VALID_PER_KIND = {"study": 16, "levers": 16, "stress": 16, "calibration": 8, "forecast": 8}
RUN_PER_KIND = 1  # of each kind, run for real (the others validate only: the CPU stays well under a minute)
MUTANTS_PER_FAULT = 2
RANDOM_MUTANTS = 40
COUNTS: Counter[str] = Counter()


def day(offset: int) -> str:
    return (START + dt.timedelta(days=offset)).isoformat()


def network() -> dict[str, Any]:
    """One workshop with materials, a supplier, a lab, a daily lane to the hub, a channel and two targets."""
    data = line(horizon_days=HORIZON, cv=0.3, absence=0.05, materials=True, operators={"sew": 3, "cut": 2},
                lot_size=200)
    data["calendars"]["two_shifts"] = {"shifts": [["06:00", "13:00"], ["13:00", "20:00"]]}
    data["sites"]["workshop"].update(region="north", start=day(0), stocks={"fabric": 300, "elastic": 800})
    data["suppliers"] = {"mill": {"material": "fabric", "capacity_per_day": 400, "lead_time_days": 2,
                                  "customers": ["workshop"]},
                         "elastics": {"material": "elastic", "capacity_per_day": 1200, "lead_time_days": 2,
                                      "customers": ["workshop"]}}
    data["routes"][0].update(lane={"mode": "daily", "departure_hour": 17}, transit_days=1)
    data["certification"] = {"lab": {"benches": 1, "tests_per_bench_per_day": 20, "report_delay_days": 2,
                                     "background_per_day": 5}}
    data["channels"] = {"public": {"price": 1.9, "priority": 1, "weekly": 3000, "due_days": 7}}
    data["targets"] = {"first": {"masks": 1000, "by": day(10)}, "second": {"masks": 4000}}
    return data


# ------------------------------------------------------------------------------------------ valid cases
NUMBERS = [  # (path, low, high, whole): fields a study or a calibration may vary on this network
    ("sites.workshop.stages.sew.minutes_per_mask", 1.5, 3.0, False),
    ("sites.workshop.stages.cut.minutes_per_mask", 0.2, 0.8, False),
    ("sites.workshop.stages.sew.operators", 1, 5, True),
    ("certification.lab.benches", 1, 3, True),
    ("certification.lab.tests_per_bench_per_day", 10.0, 40.0, False),
    ("suppliers.mill.capacity_per_day", 200.0, 800.0, False),
    ("absenteeism.rate", 0.0, 0.2, False),
]
DATES = [("sites.workshop.start", 0, 6)]  # (path, first day, last day)


def distribution(rng: random.Random, low: float, high: float, whole: bool) -> dict[str, Any]:
    a, b = sorted(rng.uniform(low, high) for _ in range(2))
    a, b = (round(a), round(b) + 1) if whole else (round(a, 3), round(b, 3) + 0.01)
    kind = rng.choice(["uniform", "triangular", "discrete"] + ([] if whole else ["loguniform", "truncnormal"]))
    if kind == "triangular":
        return {kind: [a, round((a + b) / 2, 3), b]}
    if kind == "discrete":
        return {kind: sorted({a, b, round((a + b) / 2) if whole else round((a + b) / 2, 3)})}
    if kind == "loguniform":
        return {kind: [max(a, 0.01), b]}
    if kind == "truncnormal":
        return {kind: {"mean": round((a + b) / 2, 3), "sd": round((b - a) / 3 + 0.01, 3), "low": a, "high": b}}
    return {kind: [a, b]}


def uncertain_block(rng: random.Random) -> dict[str, Any]:
    chosen = rng.sample(NUMBERS + DATES, rng.randint(1, 3))
    block = {}
    for entry in chosen:
        if len(entry) == 3:  # a date
            path, first, last = entry
            a, b = sorted(rng.sample(range(first, last + 1), 2))
            dist: dict[str, Any] = {"uniform": [day(a), day(b)]}
        else:
            path, low, high, whole = entry
            dist = distribution(rng, low, high, whole)
        block[path] = {"label": path.split(".")[-1], "source": "assumption: generated", **dist}
    return block


def study(rng: random.Random) -> dict[str, Any]:
    method = rng.choice(["lhs", "sobol", "morris"])
    design: dict[str, Any] = {"method": method, "samples": {"lhs": rng.randint(2, 5), "sobol": rng.choice([2, 4]),
                                                            "morris": 2}[method],
                              "noise_replications": 2, "checkpoints": sorted(rng.sample(range(3, HORIZON + 1), 2))}
    if method == "morris" and rng.random() < 0.5:
        design["levels"] = rng.choice([2, 4])
    return {"replications": 1, "uncertain": uncertain_block(rng), "design": design}


def lever(rng: random.Random, i: int) -> dict[str, Any]:
    cost = {"euros": round(rng.uniform(0, 1e6)), "people_per_unit": rng.choice([0, 1, 2]),
            "lead_time_days": rng.randint(0, 10), "source": "assumption: generated"}
    step = rng.choice([1, 2, 5])
    scalable = {"min": 0, "max": step * rng.randint(1, 4), "step": step, "unit": "units"}
    scalable["default"] = step * rng.randint(0, scalable["max"] // step)
    kind = rng.choice(["set", "add_schedule", "cohorts", "add_benches", "calendar"])
    if kind == "set":
        return {"description": f"lever {i}", "set": {"sites.workshop.stages.sew.operators": rng.randint(1, 6)},
                "cost": cost}
    if kind == "add_schedule":
        return {"description": f"lever {i}", "from": day(rng.randint(1, HORIZON - 1)),
                "add": {"suppliers.mill.capacity_per_day": 50}, "scalable": scalable, "cost": cost}
    if kind == "cohorts":
        return {"description": f"lever {i}", "from": day(rng.randint(0, HORIZON - 1)), "scalable": scalable,
                "cohorts": [{"site": "workshop", "stage": "sew", "role": rng.choice(["trainee", "skilled"]),
                             "size_per_unit": 1}], "cost": cost}
    if kind == "add_benches":
        return {"description": f"lever {i}", "add": {"certification.lab.benches": 1}, "scalable": scalable,
                "cost": cost}
    return {"description": f"lever {i}", "from": day(rng.randint(1, HORIZON - 1)),
            "set": {"sites.workshop.calendar": "two_shifts"}, "cost": cost}


def levers(rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {"replications": 2, "levers": {f"lever_{i}": lever(rng, i) for i in range(rng.randint(1, 3))}}
    if rng.random() < 0.7:
        out["decisions"] = {"targets": rng.sample(["first", "second"], rng.randint(1, 2)),
                            **({"masks_by": day(rng.randint(0, HORIZON - 1))} if rng.random() < 0.5 else {})}
    return out


EFFECTS = [{"supplier_outage": "mill", "share": 1.0}, {"supplier_outage": "elastics", "share": 0.5},
           {"lane_outage": "workshop"}, {"absence_wave": "north", "extra_rate": 0.4},
           {"lab_surge": True, "extra_per_day": 100}, {"site_closure": "workshop"}, {"site_delay": "workshop"},
           {"demand_surge": "public", "masks": 2000}]


def shock_file(rng: random.Random, name: str) -> dict[str, Any]:
    return {"name": name, "description": f"generated shock {name}", "start": day(rng.randint(1, HORIZON - 2)),
            "duration_days": rng.randint(1, 10), "severity": round(rng.uniform(0, 1), 2),
            "effects": rng.sample(EFFECTS, rng.randint(1, 2))}


def stress(rng: random.Random) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    names = [f"shock_{i}" for i in range(rng.randint(1, 4))]
    shocks = {name: shock_file(rng, name) for name in names}
    refs = [{"shock": n, **({"severity": round(rng.uniform(0, 1), 2)} if rng.random() < 0.3 else {})} for n in names]
    pairs = [[a, b] for i, a in enumerate(names) for b in names[i + 1:] if rng.random() < 0.4]
    if rng.random() < 0.25:  # a shock on the base of every scenario instead of a stress matrix
        return {"replications": 2, "shocks": refs[:1]}, shocks
    return {"replications": 2, "stress": {"shocks": refs, "pairs": pairs}}, shocks


def calibration(rng: random.Random) -> dict[str, Any]:
    observations = {
        "delivered": {"kpi": "cumulative_delivered", "by": day(rng.randint(7, HORIZON - 1)),
                      "value": rng.randint(500, 3000), "sd": 300, "source": "generated"},
        "output": {"kpi": "output", "site": "workshop", "from": day(3), "to": day(HORIZON - 1),
                   "per": "working_day", "interval": [200, 900], "source": "generated"}}
    return {"uncertain": uncertain_block(rng), "observations": dict(rng.sample(sorted(observations.items()),
                                                                                rng.randint(1, 2))),
            "calibration": {"waves": rng.randint(1, 3), "points_per_wave": 8, "replications": 2}}


LAB_FLOW = ("certification.lab.background_per_day", 0.0, 20.0, False)  # what a lab surge changes


def calibration_folder(rng: random.Random, folder: Path, also: tuple = ()) -> list[str]:
    """A folder as `resilience calibrate` writes it (summary.json, nonimplausible.parquet), its points inside
    the fields' ranges: what a forecast's `parameters_from:` reads. Returns the calibrated paths."""
    chosen = [*also, *rng.sample(NUMBERS, rng.randint(1, 3))]
    folder.mkdir(parents=True, exist_ok=True)
    parameters = {path: {"label": path, "source": "generated", "also": [], "is_date": False, "integer": whole,
                         "definition": {"label": path, "source": "generated", "uniform": [low, high]}}
                  for path, low, high, whole in chosen}
    (folder / "summary.json").write_text(json.dumps({"experiment": "generated", "failed": False,
                                                     "parameters": parameters}))
    n = rng.randint(3, 12)
    frame = pd.DataFrame({"kind": ["sample"] * n, **{path: [rng.uniform(low, high) for _ in range(n)]
                                                     for path, low, high, _ in chosen}})
    frame.to_parquet(folder / "nonimplausible.parquet", index=False)
    return [path for path, *_ in chosen]


class Case:
    """One generated experiment: its blocks, the shock files beside it, its calibration folder (forecasts)."""

    def __init__(self, kind: str, seed: int) -> None:
        self.kind, self.seed = kind, seed
        rng = random.Random(f"{kind}-{seed}")
        self.shocks: dict[str, dict[str, Any]] = {}
        self.calibrated: list[str] = []
        self.folder_seed = rng.randint(0, 2**31)
        if kind == "study":
            blocks = study(rng)
        elif kind == "levers":
            blocks = levers(rng)
        elif kind == "stress":
            blocks, self.shocks = stress(rng)
        elif kind == "calibration":
            blocks = calibration(rng)
        else:
            blocks = {"replications": 2, "parameters_from": "calibrated"}
        self.experiment = {"name": f"{kind}_{seed}", "base": "net.yaml", "seed": seed, **blocks}

    def write(self, folder: Path, text_edit: Callable[[str], str] | None = None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "net.yaml").write_text(yaml.safe_dump(network(), sort_keys=False))
        if self.shocks:
            (folder / "shocks").mkdir(exist_ok=True)
            for name, data in self.shocks.items():
                (folder / "shocks" / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        if self.kind == "forecast":
            self.calibrated = calibration_folder(random.Random(self.folder_seed), folder / "calibrated",
                                                 getattr(self, "calibrate_also", ()))
        text = yaml.safe_dump(self.experiment, sort_keys=False)
        path = folder / "experiment.yaml"
        path.write_text(text_edit(text) if text_edit else text)
        return path


def validate(path: Path) -> tuple[int, list[str], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    return code, out.getvalue().strip().splitlines(), err.getvalue().strip().splitlines()


CASES = [Case(kind, seed) for kind, n in VALID_PER_KIND.items() for seed in range(n)]


@pytest.mark.parametrize("kind", list(VALID_PER_KIND))
def test_every_generated_valid_file_validates_and_some_run(kind, tmp_path):
    cases = [c for c in CASES if c.kind == kind]
    for i, case in enumerate(cases):
        path = case.write(tmp_path / str(i))
        code, out, err = validate(path)
        assert code == 0 and out[0].startswith("ok: "), (case.experiment, case.shocks, err)
        COUNTS[f"valid {kind}"] += 1
        COUNTS["valid shock files"] += len(case.shocks)
    for case in cases[:RUN_PER_KIND]:
        if kind == "calibration":
            continue  # a calibration runs waves of emulators: tests/test_calibration_cli.py runs one for real
        folder = tmp_path / f"run_{case.seed}"
        path = case.write(folder)
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["run", str(path), "--out", str(folder / "out"), "--workers", "1", "--no-report",
                         "--no-progress"]) == 0
        runs = pd.read_parquet(folder / "out" / "runs.parquet")
        assert (runs["status"] == "ok").all() and len(runs) >= 2
        written = {"study": "sensitivity.parquet", "levers": "levers.csv", "stress": "stress.csv",
                   "forecast": "summary.parquet"}[kind]
        if kind == "stress" and "stress" not in case.experiment:
            written = "summary.parquet"  # a base shock: no stress matrix to tabulate
        assert (folder / "out" / written).exists()
        COUNTS[f"ran {kind}"] += 1


# ------------------------------------------------------------------------------------------- mutations
Mutation = Callable[[Case], str | None]  # edits the case in place; returns "shock:<name>" when the fault is there


def _uncertain(case: Case) -> dict[str, Any]:
    return case.experiment["uncertain"]


def _first(case: Case, kind: str) -> str:
    return next(iter(case.experiment[kind]))


def _set_param(case: Case, path: str, **dist: Any) -> None:
    _uncertain(case)[path] = {"label": "x", "source": "test", **dist}


def _lever(case: Case) -> dict[str, Any]:
    return case.experiment["levers"][_first(case, "levers")]


def _scalable_lever(case: Case) -> dict[str, Any]:
    case.experiment["levers"]["scaled"] = {"description": "scaled", "add": {"certification.lab.benches": 1},
                                           "scalable": {"max": 4, "step": 1, "default": 2},
                                           "cost": {"euros_per_unit": 10, "source": "test"}}
    return case.experiment["levers"]["scaled"]


def _stress_refs(case: Case) -> list[dict[str, Any]]:
    if "stress" not in case.experiment:
        case.experiment["stress"] = {"shocks": case.experiment.pop("shocks"), "pairs": []}
    return case.experiment["stress"]["shocks"]


def _first_shock(case: Case) -> str:
    return next(iter(case.shocks))


def _shock_edit(field: str, value: Any) -> Mutation:
    def edit(case: Case) -> str:
        name = _first_shock(case)
        case.shocks[name][field] = value
        return f"shock:{name}"
    return edit


def _effect_edit(effect: dict[str, Any]) -> Mutation:
    def edit(case: Case) -> str:
        name = _first_shock(case)
        case.shocks[name]["effects"] = [effect]
        return f"shock:{name}"
    return edit


def _pair(case: Case, pair: list[str]) -> None:
    case.experiment.setdefault("stress", {"shocks": case.experiment.pop("shocks", []), "pairs": []})
    case.experiment["stress"].setdefault("pairs", []).append(pair)


def _two_shocks(case: Case) -> list[str]:
    refs = _stress_refs(case)
    if len(refs) < 2:
        case.shocks["extra"] = {**copy.deepcopy(case.shocks[_first_shock(case)]), "name": "extra"}
        refs.append({"shock": "extra"})
    return [refs[0]["shock"], refs[1]["shock"]]


def _calibrated_folder_edit(edit: Callable[[Path], None]) -> Mutation:
    def mutate(case: Case) -> None:
        case.folder_edit = edit  # type: ignore[attr-defined]
    return mutate


def _truncate(name: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
    return edit


def _kept(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        frame = pd.read_parquet(folder / "nonimplausible.parquet")
        change(frame).to_parquet(folder / "nonimplausible.parquet", index=False)
    return edit


def _summary(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        summary = json.loads((folder / "summary.json").read_text())
        (folder / "summary.json").write_text(json.dumps(change(summary)))
    return edit


def _another_network(folder: Path) -> None:
    """The folder of a calibration of another network: its first parameter is a site this one does not have."""
    summary = json.loads((folder / "summary.json").read_text())
    old = next(iter(summary["parameters"]))
    new = "sites.elsewhere.stages.sew.minutes_per_mask"
    summary["parameters"] = {new: summary["parameters"][old]}
    (folder / "summary.json").write_text(json.dumps(summary))
    _kept(lambda k: k.rename(columns={old: new}))(folder)


FAULTS: dict[str, tuple[str, Mutation]] = {
    # uncertainty studies
    "discrete fractional on a count": ("study", lambda c: _set_param(c, "certification.lab.benches",
                                                                     discrete=[1.5, 2.5])),
    "discrete value twice": ("study", lambda c: _set_param(c, "sites.workshop.stages.sew.operators",
                                                           discrete=[2, 2])),
    "date before the start": ("study", lambda c: _set_param(c, "sites.workshop.start",
                                                            uniform=["2020-01-01", day(3)])),
    "date after the horizon": ("study", lambda c: _set_param(c, "sites.workshop.start",
                                                             uniform=[day(1), day(HORIZON + 30)])),
    "horizon_days uncertain": ("study", lambda c: _set_param(c, "horizon_days", uniform=[10, 20])),
    "checkpoint after the horizon": ("study", lambda c: c.experiment["design"].update(checkpoints=[HORIZON + 50])),
    "checkpoint twice": ("study", lambda c: c.experiment["design"].update(checkpoints=[5, 5])),
    "no checkpoints": ("study", lambda c: c.experiment["design"].update(checkpoints=[])),
    "levels with lhs": ("study", lambda c: c.experiment["design"].update(method="lhs", samples=3, levels=4)),
    "sobol samples not a power of 2": ("study", lambda c: c.experiment["design"].update(method="sobol",
                                                                                        samples=3)),
    "set on an uncertain path": ("study", lambda c: c.experiment.update(scenarios={"base": {"set": {
        next(iter(_uncertain(c))): 1}}})),
    "path with [-1]": ("study", lambda c: _set_param(c, "sites.workshop.cohorts[-1].size", uniform=[1, 2])),
    "path with [x]": ("study", lambda c: _set_param(c, "routes[x].transit_days", uniform=[1, 2])),
    "path with ..": ("study", lambda c: _set_param(c, "sites..workshop.start", uniform=[1, 2])),
    "empty path": ("study", lambda c: _set_param(c, "", uniform=[1, 2])),
    "unknown site": ("study", lambda c: _set_param(c, "sites.nowhere.stages.sew.operators", uniform=[1, 2])),
    "uniform reversed": ("study", lambda c: _set_param(c, "absenteeism.rate", uniform=[0.2, 0.1])),
    "NaN bound": ("study", lambda c: _set_param(c, "absenteeism.rate", uniform=[math.nan, 0.1])),
    # levers and decisions
    "cost inf": ("levers", lambda c: _lever(c)["cost"].update(euros=math.inf)),
    "cost true": ("levers", lambda c: _lever(c)["cost"].update(euros_per_unit=True)),
    "step inf": ("levers", lambda c: _scalable_lever(c)["scalable"].update(step=math.inf)),
    "step true": ("levers", lambda c: _scalable_lever(c)["scalable"].update(step=True)),
    "default off the grid": ("levers", lambda c: _scalable_lever(c)["scalable"].update(default=1.5)),
    "from before the start": ("levers", lambda c: _lever(c).update({"from": "2019-12-01"})),
    "from after the horizon": ("levers", lambda c: _lever(c).update({"from": day(HORIZON + 10)})),
    "unknown target": ("levers", lambda c: c.experiment.update(decisions={"targets": ["moon_landing"]})),
    "no targets": ("levers", lambda c: c.experiment.update(decisions={"targets": []})),
    "masks_by after the horizon": ("levers", lambda c: c.experiment.update(decisions={"masks_by": day(400)})),
    "lever path malformed": ("levers", lambda c: _lever(c).update(set={"sites.workshop..calendar": "x"})),
    # stress and shocks
    "shock start outside (reference)": ("stress", lambda c: _stress_refs(c)[0].update(start=day(HORIZON + 3))),
    "shock start outside (file)": ("stress", _shock_edit("start", "2019-06-01")),
    "shock file name differs": ("stress", _shock_edit("name", "not_its_file")),
    "duration 1e9": ("stress", _shock_edit("duration_days", 10**9)),
    "shock value 1e300": ("stress", _effect_edit({"lab_surge": True, "extra_per_day": 1e300})),
    "surge of 1e300 masks": ("stress", _effect_edit({"demand_surge": "public", "masks": 1e300})),
    "absence wave in an unknown region": ("stress", _effect_edit({"absence_wave": "mars"})),
    "unknown supplier": ("stress", _effect_edit({"supplier_outage": "nobody"})),
    "same shock twice": ("stress", lambda c: _stress_refs(c).append(dict(_stress_refs(c)[0]))),
    "pair with an unknown shock": ("stress", lambda c: _pair(c, [_stress_refs(c)[0]["shock"], "meteor"])),
    "pair twice": ("stress", lambda c: (_pair(c, _two_shocks(c)), _pair(c, _two_shocks(c)[::-1]))),
    # parameters_from
    "summary.json truncated": ("forecast", _calibrated_folder_edit(_truncate("summary.json"))),
    "summary.json a list": ("forecast", _calibrated_folder_edit(_summary(lambda s: [s]))),
    "nonimplausible.parquet truncated": ("forecast", _calibrated_folder_edit(_truncate("nonimplausible.parquet"))),
    "nonimplausible.parquet empty": ("forecast", _calibrated_folder_edit(
        lambda f: (f / "nonimplausible.parquet").write_bytes(b""))),
    "kept column missing": ("forecast", _calibrated_folder_edit(_kept(lambda k: k.drop(columns=[k.columns[-1]])))),
    "kept NaN": ("forecast", _calibrated_folder_edit(_kept(lambda k: k.assign(**{k.columns[-1]: math.nan})))),
    "kept negative": ("forecast", _calibrated_folder_edit(_kept(lambda k: k.assign(**{k.columns[-1]: -5.0})))),
    "another network's calibration": ("forecast", _calibrated_folder_edit(_another_network)),
    "set on a calibrated path": ("forecast", lambda c: setattr(c, "conflict", "set")),
    "sweep on a calibrated path": ("forecast", lambda c: setattr(c, "conflict", "sweep")),
    "lever on a calibrated path": ("forecast", lambda c: setattr(c, "conflict", "lever")),
    "shock on a calibrated path": ("forecast", lambda c: (setattr(c, "conflict", "shock"),
                                                          setattr(c, "calibrate_also", (LAB_FLOW,)))),
    # any experiment
    "base that does not exist": ("levers", lambda c: c.experiment.update(base="nowhere.yaml")),
    "a key given twice": ("levers", lambda c: setattr(c, "text_edit", lambda t: t + "name: again\n")),
}


def _mutants() -> list[tuple[str, Case]]:
    out = []
    for fault, (kind, _) in FAULTS.items():
        for seed in range(MUTANTS_PER_FAULT):
            out.append((fault, Case(kind, 1000 + seed)))
    return out


def _write_mutant(fault: str, case: Case, folder: Path) -> tuple[Path, Path]:
    """Apply the fault and write the files; (file to validate, file the one line must name)."""
    where = FAULTS[fault][1](case)
    where = where if isinstance(where, str) else None  # "shock:<name>": the fault is in that shock file
    path = case.write(folder, getattr(case, "text_edit", None))
    conflict = getattr(case, "conflict", None)  # a change on a path the calibration draws (known once written)
    if conflict is not None:
        drawn = case.calibrated[-1]
        value = 2
        if conflict == "set":
            case.experiment["scenarios"] = {"base": {"set": {drawn: value}}}
        elif conflict == "sweep":
            case.experiment["sweep"] = {"grid": {drawn: [value, value + 1]}}
        elif conflict == "lever":
            case.experiment["levers"] = {"change": {"description": "x", "set": {drawn: value},
                                                    "cost": {"source": "test"}}}
        else:
            case.shocks = {"surge": {"name": "surge", "description": "x", "start": day(2), "duration_days": 3,
                                     "effects": [{"lab_surge": True, "extra_per_day": 50}]}}
            case.experiment["shocks"] = [{"shock": "surge"}]
        path = case.write(folder)
    if hasattr(case, "folder_edit"):
        case.folder_edit(folder / "calibrated")
    named = folder / "shocks" / f"{where.split(':', 1)[1]}.yaml" if where else path
    return path, named


def test_every_mutation_is_refused_in_one_line_naming_its_file(tmp_path):
    failures = []
    for i, (fault, case) in enumerate(_mutants()):
        path, named = _write_mutant(fault, case, tmp_path / str(i))
        code, out, err = validate(path)
        COUNTS["invalid files"] += 1
        if not (code == 2 and len(err) == 1 and err[0].startswith(f"error: {named}: ") and "Traceback" not in
                "".join(err)):
            failures.append((fault, code, err or out))
    assert not failures, failures
    COUNTS["fault classes"] = len(FAULTS)


WRONG = [math.nan, math.inf, -1, 0, 1e300, True, "abc", None, [], {}, [1, 2], "2020-02-30", -1e9]


def _leaves(node: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in [(*prefix, k), *_leaves(v, (*prefix, k))]]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in [(*prefix, i), *_leaves(v, (*prefix, i))]]
    return []


def test_random_wrong_values_in_the_analysis_blocks_are_refused_in_one_line_or_validate(tmp_path):
    rng = random.Random(24)
    outcomes: Counter[str] = Counter()
    failures = []
    for i in range(RANDOM_MUTANTS):
        case = Case(rng.choice(["study", "levers", "stress", "calibration"]), 2000 + i)
        blocks = {k: v for k, v in case.experiment.items() if k not in ("name", "base", "seed")}
        if case.shocks and rng.random() < 0.4:  # a wrong value in a shock file
            target, holder = _leaves(case.shocks), case.shocks
        else:
            target, holder = _leaves(blocks), case.experiment
        where = rng.choice(target)
        node = holder
        for step in where[:-1]:
            node = node[step]
        node[where[-1]] = copy.deepcopy(rng.choice(WRONG))
        path = case.write(tmp_path / str(i))
        code, _, err = validate(path)
        outcomes["validated" if code == 0 else "refused in one line" if code == 2 and len(err) == 1 else "other"] += 1
        if not (code == 0 or (code == 2 and len(err) == 1 and err[0].startswith("error: "))):
            failures.append((where, code, err))
    COUNTS.update({f"random mutants {k}": v for k, v in outcomes.items()})
    COUNTS["invalid files"] += outcomes["refused in one line"]
    assert not failures, failures


def test_zz_corpus_counts_are_reported(capsys):
    """Runs last in this module: the corpus's counts, printed (pytest -s shows them) and checked."""
    with capsys.disabled():
        print(f"\nanalysis corpus: {dict(sorted(COUNTS.items()))}")
    if COUNTS:
        valid = sum(v for k, v in COUNTS.items() if k.startswith("valid ") and k != "valid shock files")
        assert valid == sum(VALID_PER_KIND.values())
