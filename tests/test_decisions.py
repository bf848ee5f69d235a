"""The decision layer: levers ranked by what they buy, what it takes, shocks and the stress matrix.

Everything runs the real SimPy model on small lines (tests/scenarios.py) through the real experiment
loader, runner and command line.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.cli import main
from sim.decisions.sequential import exact_interval
from sim.decisions.shocks import Effect, ShockSpec, apply_shock
from sim.decisions.stress import recovery_days, trailing_mean
from sim.model import simulate
from sim.studies import load_experiment
from tests.scenarios import line, spec_of

START = dt.date(2020, 3, 30)  # a Monday
SEW_MIN = 2.0
PER_OPERATOR_DAY = 7 * 60 / SEW_MIN  # one skilled sewer on a 7 h day: 210 masks


def write(path, data) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def experiment_files(tmp_path, base: dict, experiment: dict) -> str:
    write(tmp_path / "base.yaml", base)
    return write(tmp_path / "exp.yaml", {"name": "exp", "base": "base.yaml", **experiment})


# ------------------------------------------------------------------------------------------------ levers
def test_the_lever_at_the_bottleneck_ranks_first_and_a_lever_elsewhere_buys_nothing(tmp_path):
    # sewing is the bottleneck: 2 sewers x 210 = 420 masks a day against 840 a day of cutting
    base = line(horizon_days=21, cv=0.3, absence=0.05, operators={"sew": 2, "cut": 1}, sew_min=SEW_MIN,
                cut_min=0.5)
    base["targets"] = {"goal": {"masks": 4000, "by": "2020-04-14", "measure": "sewn"}}
    base["channels"] = {"public": {"price": 1.9, "weekly": 100_000, "due_days": 7}}
    levers = {
        "more_sewers": {"description": "two more sewers from the start", "add": {
            "sites.workshop.stages.sew.operators": 1}, "scalable": {"min": 0, "max": 4, "step": 1, "default": 2},
            "cost": {"euros_per_unit": 10000, "people_per_unit": 1, "source": "assumption"}},
        "more_cutters": {"description": "two more cutters from the start", "add": {
            "sites.workshop.stages.cut.operators": 1}, "scalable": {"min": 0, "max": 4, "step": 1, "default": 2},
            "cost": {"euros_per_unit": 1000, "people_per_unit": 1, "source": "assumption"}},
        # the same sewers with no cost stated: a cost of 0 would once give infinite days per euro and rank first
        "free_sewers": {"description": "two more sewers, cost unknown", "add": {
            "sites.workshop.stages.sew.operators": 1}, "scalable": {"min": 0, "max": 4, "step": 1, "default": 2},
            "cost": {"source": "assumption"}},
    }
    file = experiment_files(tmp_path, base, {"replications": 6, "seed": 7, "levers": levers})
    assert main(["run", file, "--workers", "1", "--no-report", "--out", str(tmp_path / "out")]) == 0
    table = pd.read_csv(tmp_path / "out" / "levers.csv", keep_default_na=False, na_values=[""])
    goal = table[table["target"] == "goal"].set_index("lever")
    assert goal["rank"].to_dict() == {"more_sewers": 1, "free_sewers": 2, "more_cutters": 3}
    assert goal["ranked_by"].to_dict() == {"more_sewers": "days per €M", "free_sewers": "days gained (no cost stated)",
                                           "more_cutters": "days gained (not significant)"}
    assert goal.loc["more_sewers", "days_gained_low"] > 0
    assert goal.loc["more_cutters", "days_gained_low"] <= 0 <= goal.loc["more_cutters", "days_gained_high"]
    assert goal.loc["more_sewers", "euros"] == 20000 and goal.loc["more_sewers", "people"] == 2
    sewers = goal.loc["more_sewers"]
    assert sewers["days_per_meur"] == pytest.approx(sewers["days_gained"] / 0.02)
    # its interval: the paired days interval over the cost in M€, at half the error of the days interval (it is
    # written only where the days are significant, a selection that would otherwise cost it coverage)
    error = 1 - sewers["interval_confidence"]
    widen = stats.t.ppf(1 - error / 4, sewers["n"] - 1) / stats.t.ppf(1 - error / 2, sewers["n"] - 1)
    for end in ("_low", "_high"):
        days_half = sewers[f"days_gained{end}"] - sewers["days_gained"]
        assert sewers[f"days_per_meur{end}"] == pytest.approx((sewers["days_gained"] + widen * days_half) / 0.02)
    assert math.isnan(goal.loc["more_cutters", "days_per_meur"])  # not significant: no value per euro
    assert goal.loc["more_cutters", "days_per_meur_note"] == "days gained not significant (interval includes 0)"
    assert math.isnan(goal.loc["free_sewers", "days_per_meur"])
    assert goal.loc["free_sewers", "days_per_meur_note"] == "no cost stated"
    assert sewers["masks_gained_low"] > 0  # masks by the goal's date, paired
    # replications: 6 at first, a batch of 6 more while the interval includes 0, up to 4 x 6 = 24; every look
    # at the Bonferroni level 1 - 0.05/4
    assert goal["interval_confidence"].tolist() == pytest.approx([1 - 0.05 / 4] * 3)
    assert sewers["n"] == 6 and sewers["replications_stop"] == "interval excludes 0"
    cutters = goal.loc["more_cutters"]
    assert cutters["n"] == 24 and cutters["replications_stop"] == "cap of 24 replications reached"
    assert (tmp_path / "out" / "lever_runs" / "runs.parquet").exists()
    main_runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert main_runs.groupby("scenario")["replication"].max().max() == 5  # the main results stay as run


def test_a_dated_lever_changes_nothing_before_its_date():
    base = line(horizon_days=21, cv=0.3, absence=0.05, operators={"sew": 2, "cut": 2})
    exp_data = copy.deepcopy(base)
    from sim.decisions.levers import LeverSpec, apply_lever

    lever = LeverSpec.model_validate({"description": "x", "from": "2020-04-06", "cohorts": [
        {"site": "workshop", "stage": "sew", "role": "skilled", "size_per_unit": 1}],
        "scalable": {"max": 3, "step": 1}, "cost": {"source": "assumption"}})
    apply_lever(exp_data, "x", lever, 3, "test")
    a = simulate(spec_of(base)).daily
    b = simulate(spec_of(exp_data)).daily
    sew = lambda d: d[(d["stage"] == "sew")].set_index("day")["output"]  # noqa: E731
    assert (sew(a).loc[:6] == sew(b).loc[:6]).all()          # identical until 5 April (CRN, same streams)
    assert sew(b).loc[7:].sum() > sew(a).loc[7:].sum()       # more from 6 April


# -------------------------------------------------------------------------------------------- what it takes
def deterministic_sewers_case(tmp_path, masks: int = 10_000) -> tuple[str, int]:
    """A line with one sewer and no randomness; a lever adds sewers. Returns (file, sewers to add)."""
    by = dt.date(2020, 4, 10)
    workdays = int(np.busday_count(START, by + dt.timedelta(days=1)))  # Mon 30 Mar .. Fri 10 Apr: 10
    base_sewers = 1
    expected = math.ceil(masks / (workdays * PER_OPERATOR_DAY)) - base_sewers  # 10,000: 5 sewers needed, 4 more
    base = line(horizon_days=14, cv=0.0, operators={"sew": base_sewers, "cut": 3}, sew_min=SEW_MIN)
    base["targets"] = {"goal": {"masks": masks, "by": by.isoformat(), "measure": "sewn"}}
    levers = {"sewers": {"description": "more sewers", "add": {"sites.workshop.stages.sew.operators": 1},
                         "scalable": {"min": 0, "max": 10, "step": 1, "unit": "sewers"},
                         "cost": {"euros_per_unit": 5000, "source": "assumption"}}}
    return experiment_files(tmp_path, base, {"replications": 2, "seed": 3, "levers": levers}), expected


def test_what_it_takes_finds_the_capacity_formula_answer_on_a_deterministic_line(tmp_path, capsys):
    file, expected = deterministic_sewers_case(tmp_path)
    out = tmp_path / "out"
    # P is 0 or 1 here. With P >= 0.5 and error 0.025, 6 of 6 reached is the least evidence that can clearly
    # meet (0.5^6 = 0.016), 0 of 6 clearly fails: every call is clear at 6 replications
    code = main(["what-it-takes", file, "--target", "goal", "--probability", "0.5", "--lever", "sewers",
                 "--out", str(out), "--workers", "1", "--initial", "6", "--max-replications", "6"])
    assert code == 0
    answer = yaml.safe_load((out / "what_it_takes.json").read_text())
    assert answer["status"] == "reachable" and answer["reachable"]
    assert answer["answer"]["amounts"]["sewers"] == expected
    assert answer["answer"]["range"]["sewers"] == [expected, expected]
    calls = {p["amounts"]["sewers"]: p["decision"] for p in answer["points"]}
    assert calls[expected] == "meets" and calls[expected - 1] == "fails"  # one step lower fails
    assert answer["answer"]["euros"] == 5000 * expected
    printed = capsys.readouterr().out
    assert (f"sewers = {expected} sewers (€{5000 * expected:,}). {expected} clearly meets it "
            f"(6/6 runs reached it) and {expected - 1} clearly fails (0/6 runs reached it): {expected} is the "
            "least amount.") in printed
    assert "probability ≤ 0.025 whatever the true P" in printed and "between" not in printed
    assert (out / "charts" / "what_it_takes.png").stat().st_size > 10_000


def test_what_it_takes_refuses_settings_under_which_nothing_can_be_called(tmp_path, capsys):
    # 4 of 4 reached happens with probability 1/16 > 0.025 at P = 0.5: no amount could ever clearly meet
    file, _ = deterministic_sewers_case(tmp_path)
    code = main(["what-it-takes", file, "--target", "goal", "--probability", "0.5", "--lever", "sewers",
                 "--out", str(tmp_path / "out"), "--workers", "1", "--initial", "4", "--max-replications", "4"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-replications" in err[0] and "at least 6" in err[0]
    assert not (tmp_path / "out" / "what_it_takes.json").exists()


def test_what_it_takes_says_when_the_target_is_out_of_reach(tmp_path, capsys):
    base = line(horizon_days=14, cv=0.0, operators={"sew": 1, "cut": 3}, sew_min=SEW_MIN)
    base["targets"] = {"goal": {"masks": 50_000, "by": "2020-04-10", "measure": "sewn"}}  # needs 24 sewers
    levers = {"sewers": {"description": "more sewers", "add": {"sites.workshop.stages.sew.operators": 1},
                         "scalable": {"min": 0, "max": 6, "step": 2}, "cost": {"source": "assumption"}}}
    file = experiment_files(tmp_path, base, {"levers": levers})
    code = main(["what-it-takes", file, "--target", "goal", "--probability", "0.9", "--lever", "sewers",
                 "--out", str(tmp_path / "out"), "--workers", "1", "--initial", "5"])
    assert code == 0
    answer = yaml.safe_load((tmp_path / "out" / "what_it_takes.json").read_text())
    assert answer["status"] == "out of reach" and not answer["reachable"] and answer["at_max"]["p"] == 0.0
    assert answer["at_max"]["decision"] == "fails"
    assert answer["runs"] == 5  # the top of the range clearly fails: nothing else is run
    # 7 sewers x 210 x 10 days = 14,700 by the date, less the first lot's cutting; sewing binds
    assert re.search(r"by then 14,[0-7]00 masks sewn", answer["why"])
    assert "binding constraint before the date is sew" in answer["why"]
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("goal (50,000 masks) by 2020-04-10 with P ≥ 90%: out of reach within the lever's "
                            "bounds: even at sewers = 6 unit, P is clearly below 90% (0/5 runs reached it); by then")


def test_what_it_takes_is_undecided_rather_than_out_of_reach_when_the_top_is_unclear(tmp_path, capsys):
    # stochastic line: 4 sewers (2 + the lever's 2) reach 8,000 by 10 April in 4 of 20 runs with this seed;
    # against P >= 0.3 that is neither clearly above nor clearly below after 20 replications
    base = line(horizon_days=14, cv=0.3, absence=0.08, operators={"sew": 2, "cut": 4}, sew_min=SEW_MIN)
    base["targets"] = {"goal": {"masks": 8000, "by": "2020-04-10", "measure": "sewn"}}
    levers = {"sewers": {"description": "more sewers", "add": {"sites.workshop.stages.sew.operators": 1},
                         "scalable": {"min": 0, "max": 2, "step": 1, "unit": "sewers"},
                         "cost": {"source": "assumption"}}}
    file = experiment_files(tmp_path, base, {"levers": levers, "seed": 11})
    code = main(["what-it-takes", file, "--target", "goal", "--probability", "0.3", "--lever", "sewers",
                 "--out", str(tmp_path / "out"), "--workers", "1", "--initial", "10", "--max-replications", "20"])
    assert code == 0
    answer = yaml.safe_load((tmp_path / "out" / "what_it_takes.json").read_text())
    assert answer["status"] == "undecided" and not answer["reachable"] and answer["answer"] is None
    top = answer["at_max"]
    assert top["decision"] == "undecided" and top["n"] == 20 and 0 < top["successes"] < 20
    first = capsys.readouterr().out.splitlines()[0]
    assert f"undecided at 20 replications: at sewers = 2 sewers, {top['successes']}/20 runs reached it" in first
    assert "out of reach" not in first


def test_the_cheapest_combination_of_two_levers(tmp_path):
    # 5 sewers needed (see the deterministic test): 4 more; 4 dear ones cost 36,000, 4 cheap ones 4,000.
    # With dear = 4 the cheap lever's floor cost already exceeds the best found, so it is never run.
    base = line(horizon_days=14, cv=0.0, operators={"sew": 1, "cut": 3}, sew_min=SEW_MIN)
    base["targets"] = {"goal": {"masks": 10_000, "by": "2020-04-10", "measure": "sewn"}}
    levers = {
        "dear": {"description": "dear sewers", "add": {"sites.workshop.stages.sew.operators": 1},
                 "scalable": {"min": 0, "max": 4, "step": 4}, "cost": {"euros_per_unit": 9000, "source": "assumption"}},
        "cheap": {"description": "cheap sewers", "add": {"sites.workshop.stages.sew.operators": 1},
                  "scalable": {"min": 0, "max": 5, "step": 1},
                  "cost": {"euros_per_unit": 1000, "source": "assumption"}},
    }
    file = experiment_files(tmp_path, base, {"levers": levers})
    code = main(["what-it-takes", file, "--target", "goal", "--probability", "0.5", "--levers", "dear,cheap",
                 "--out", str(tmp_path / "out"), "--workers", "1", "--initial", "6", "--max-replications", "6"])
    assert code == 0
    answer = yaml.safe_load((tmp_path / "out" / "what_it_takes.json").read_text())
    assert answer["answer"]["amounts"] == {"dear": 0, "cheap": 4}
    assert answer["answer"]["euros"] == 4000
    assert len(answer["combinations"]) == 1  # dear = 4 (36,000 at the least) was skipped unrun


@pytest.mark.slow
def test_the_amount_found_meets_the_probability_on_fresh_replications_and_one_less_does_not(tmp_path):
    """Stochastic line (time cv 0.3, 8 % absence). The search uses root seed 11; the check uses 80 fresh
    replications from root seed 12 at the amount returned and one step below. Pass if the exact 95 %
    interval of P at the amount reaches 0.8 (the call "meets" is right, else this fails with probability
    <= 2.5 %) and, when the search called one step below "fails", that interval there does not lie wholly
    above 0.8 (same error). An amount too large fails the second check: one below it then meets."""
    base = line(horizon_days=14, cv=0.3, absence=0.08, operators={"sew": 2, "cut": 4}, sew_min=SEW_MIN)
    base["targets"] = {"goal": {"masks": 8000, "by": "2020-04-10", "measure": "sewn"}}
    levers = {"sewers": {"description": "more sewers", "add": {"sites.workshop.stages.sew.operators": 1},
                         "scalable": {"min": 0, "max": 6, "step": 1}, "cost": {"source": "assumption"}}}
    file = experiment_files(tmp_path, base, {"levers": levers, "seed": 11})
    assert main(["what-it-takes", file, "--target", "goal", "--probability", "0.8", "--lever", "sewers",
                 "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    answer = yaml.safe_load((tmp_path / "out" / "what_it_takes.json").read_text())
    amount = int(answer["answer"]["amounts"]["sewers"])
    calls = {int(p["amounts"]["sewers"]): p["decision"] for p in answer["points"]}
    assert amount > 0 and calls[amount - 1] == "fails"

    def fresh(extra: int) -> tuple[float, float]:
        data = copy.deepcopy(base)
        data["sites"]["workshop"]["stages"]["sew"]["operators"] += extra
        hits = [simulate(spec_of(data, replication=r, seed=12)).kpis["reached_by_date.goal"] for r in range(80)]
        return exact_interval(int(sum(hits)), len(hits), 0.95)

    assert fresh(amount)[1] >= 0.8
    assert fresh(amount - 1)[0] < 0.8


# ------------------------------------------------------------------------------------------------- shocks
def rich_line() -> dict:
    """A line with suppliers, a lab, a daily lane and channels: every shock kind has something to hit."""
    data = line(horizon_days=35, cv=0.3, absence=0.05, materials=True, operators={"sew": 3, "cut": 2})
    data["sites"]["workshop"].update(region="north", stocks={"fabric": 200, "elastic": 500})
    data["suppliers"] = {
        "mill": {"material": "fabric", "capacity_per_day": 400, "lead_time_days": {"tri": [1, 2, 3]},
                 "customers": ["workshop"]},
        "elastic_mill": {"material": "elastic", "capacity_per_day": 1000, "lead_time_days": {"tri": [1, 2, 4]},
                         "customers": ["workshop"]}}
    data["routes"][0]["lane"] = {"mode": "daily", "departure_hour": 17}
    data["routes"][0]["transit_days"] = 1
    data["certification"] = {
        "lab": {"benches": 1, "tests_per_bench_per_day": 20, "report_delay_days": 2, "background_per_day": 5},
        "site_audit": {"required": True, "pass_probability": 0.8, "policy": "at_risk", "adjust_days": 3,
                       "on_fail": "scrap"}}
    data["channels"] = {"public": {"price": 1.9, "priority": 1, "weekly": 3000, "due_days": 7}}
    return data


EFFECTS = [{"supplier_outage": "mill", "share": 1.0}, {"lane_outage": "workshop"},
           {"absence_wave": "north", "extra_rate": 0.5}, {"lab_surge": True, "extra_per_day": 200},
           {"site_closure": "workshop"}, {"site_delay": "workshop"}, {"demand_surge": "public", "masks": 5000}]


def shock(effect: dict, severity: float) -> ShockSpec:
    return ShockSpec(name="s", description="test", start=dt.date(2020, 4, 6), duration_days=7, severity=severity,
                     effects=[Effect.model_validate(effect)])


def frames_equal(a, b) -> bool:
    return (a.kpis.keys() == b.kpis.keys()
            and all((x == y) or (math.isnan(x) and math.isnan(y))
                    for x, y in zip(a.kpis.values(), b.kpis.values(), strict=True))
            and a.daily.equals(b.daily) and a.series.equals(b.series) and a.bottlenecks.equals(b.bottlenecks))


@pytest.mark.parametrize("effect", EFFECTS, ids=[next(iter(e)) for e in EFFECTS])
def test_a_shock_of_severity_zero_changes_nothing_bit_for_bit(effect):
    base = rich_line()
    reference = simulate(spec_of(base, replication=1))
    zero = copy.deepcopy(base)
    apply_shock(zero, shock(effect, 0.0), "test")
    assert frames_equal(simulate(spec_of(zero, replication=1)), reference)
    full = copy.deepcopy(base)
    apply_shock(full, shock(effect, 1.0), "test")
    assert full != base  # severity 1 does write a change into the scenario


def test_recovery_on_a_constructed_series():
    # 100 a day on weekdays (weekends 0) for 4 weeks, closed for the week from day 14 (a Monday)
    days = np.arange(35)
    daily = np.where(days % 7 < 5, 100.0, 0.0)
    shocked = daily.copy()
    shocked[14:21] = 0.0
    # pre-shock trailing 7-day mean: 500 / 7. It falls on day 14; the window [d-6, d] holds five open
    # weekdays again first on day 25 (Friday of the week after: Sat..Fri of days 19..25): 11 days after day 14
    assert trailing_mean(daily, 7)[13] == pytest.approx(500 / 7)
    assert recovery_days(shocked, 14, 7) == 11
    assert recovery_days(daily, 14, 7) == 0  # never falls below
    never = daily.copy()
    never[14:] = 0
    assert math.isnan(recovery_days(never, 14, 7))


def test_stress_matrix_recovery_on_a_deterministic_line_matches_the_hand_computed_value(tmp_path):
    # 1 sewer, no randomness: 210 a day on weekdays; lots of 10 keep the daily output whole (21 lots)
    base = line(horizon_days=35, cv=0.0, lot_size=10, operators={"sew": 1, "cut": 3}, sew_min=SEW_MIN)
    base["targets"] = {"goal": {"masks": 3000, "measure": "sewn"}}
    shocks = tmp_path / "shocks"
    shocks.mkdir()
    write(shocks / "closure.yaml", {"name": "closure", "description": "the workshop shuts for a week",
                                    "start": "2020-04-13", "duration_days": 7,
                                    "effects": [{"site_closure": "workshop"}]})
    file = experiment_files(tmp_path, base, {"replications": 2, "stress": {"shocks": [{"shock": "closure"}]}})
    assert main(["run", file, "--workers", "1", "--no-report", "--out", str(tmp_path / "out")]) == 0
    table = pd.read_csv(tmp_path / "out" / "stress.csv").set_index("metric")
    # the line's calendar has no holidays, so the closure takes Mon 13 - Fri 17 (5 working days) and the
    # weekend, as in the constructed series: back at 5 open weekdays in the window on Fri 24: 11 days
    assert table.loc["recovery_days", "mean"] == 11
    assert table.loc["extra_recovery_days", "mean"] == 11  # the base never dips
    assert table.loc["masks_lost_sewn", "mean"] == 5 * 210
    assert table.loc["deepest_drop", "mean"] == pytest.approx(5 * 210 / 7)  # all five days of a week
    delay = table[table["target"] == "goal"]  # day 3000 is reached: 15 weekdays, a week later
    assert delay.loc["delay_days", "mean"] == 7


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("lever, message", [
    ({"description": "x", "add": {"sites.nowhere.stages.sew.operators": 1}, "scalable": {"max": 2, "step": 1},
      "cost": {"source": "assumption"}}, "nowhere"),
    ({"description": "x", "from": "2020-04-06", "add": {"certification.lab.benches": 1},
      "scalable": {"max": 2, "step": 1}, "cost": {"source": "assumption"}}, "cannot change on a date"),
    ({"description": "x", "set": {}, "cost": {"source": "assumption"}}, "at least one of set, add or cohorts"),
    ({"description": "x", "add": {"sites.workshop.stages.sew.operators": 1},
      "scalable": {"min": 3, "max": 2, "step": 1}, "cost": {"source": "assumption"}}, "below min"),
    ({"description": "x", "add": {"sites.workshop.stages.sew.operators": 1}, "cost": {}}, "source"),
])
def test_bad_lever_specs_are_one_line_errors_with_exit_2(tmp_path, capsys, lever, message):
    base = line(horizon_days=10)
    base["certification"] = {"lab": {"benches": 1, "tests_per_bench_per_day": 20}}
    file = experiment_files(tmp_path, base, {"levers": {"bad": lever}})
    assert main(["validate", file]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "exp.yaml" in err[0]


@pytest.mark.parametrize("shock_file, message", [
    (None, "no shock file"),
    ({"name": "s", "description": "x", "start": "2020-04-06", "duration_days": 7,
      "effects": [{"supplier_outage": "a", "lane_outage": "b"}]}, "exactly one of"),
    ({"name": "s", "description": "x", "start": "2020-04-06", "duration_days": 7, "severity": 1.5,
      "effects": [{"site_closure": "workshop"}]}, "severity"),
    ({"name": "s", "description": "x", "start": "2020-04-06", "duration_days": 7,
      "effects": [{"site_closure": "nowhere"}]}, "nowhere"),
])
def test_bad_shock_specs_are_one_line_errors_with_exit_2(tmp_path, capsys, shock_file, message):
    (tmp_path / "shocks").mkdir()
    if shock_file is not None:
        write(tmp_path / "shocks" / "s.yaml", shock_file)
    file = experiment_files(tmp_path, line(horizon_days=10), {"stress": {"shocks": [{"shock": "s"}]}})
    assert main(["validate", file]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


@pytest.mark.parametrize("args, message", [
    (["--lever", "nope"], "one of the levers"),
    (["--lever", "fixed"], "a scalable lever"),
    (["--lever", "sewers", "--target", "undated"], "a target with a `by` date"),
    (["--lever", "sewers", "--probability", "1.5"], "strictly between 0 and 1"),
])
def test_bad_what_it_takes_requests_are_one_line_errors_with_exit_2(tmp_path, capsys, args, message):
    base = line(horizon_days=10)
    base["targets"] = {"goal": {"masks": 100, "by": "2020-04-03"}, "undated": {"masks": 100}}
    levers = {"sewers": {"description": "x", "add": {"sites.workshop.stages.sew.operators": 1},
                         "scalable": {"max": 2, "step": 1}, "cost": {"source": "assumption"}},
              "fixed": {"description": "x", "set": {"sites.workshop.stages.sew.operators": 3},
                        "cost": {"source": "assumption"}}}
    file = experiment_files(tmp_path, base, {"levers": levers})
    argv = ["what-it-takes", file, "--target", "goal", "--out", str(tmp_path / "o"), *args]
    if "--target" in args:
        argv = ["what-it-takes", file, "--out", str(tmp_path / "o"), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "o" / "what_it_takes.json").exists()


def test_an_experiment_applies_its_shocks_to_every_scenario(tmp_path):
    (tmp_path / "shocks").mkdir()
    write(tmp_path / "shocks" / "closure.yaml", {"name": "closure", "description": "shut a week",
                                                 "start": "2020-04-06", "duration_days": 7,
                                                 "effects": [{"site_closure": "workshop"}]})
    file = experiment_files(tmp_path, line(horizon_days=21), {
        "shocks": [{"shock": "closure", "duration_days": 3, "severity": 0.5}],
        "scenarios": {"base": {}, "more": {"set": {"sites.workshop.stages.sew.operators": 2}}}})
    exp = load_experiment(file)
    for spec in exp.run_specs(1):
        calendar = spec.scenario["sites"]["workshop"]["calendar"]
        holidays = spec.scenario["calendars"][calendar]["holidays"]
        assert holidays == ["2020-04-06", "2020-04-07"]  # round(0.5 x 3) = 2 days closed from 6 April
