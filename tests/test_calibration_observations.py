"""Observations: validation of the selectors (one-line errors) and the model values read off real runs."""

from __future__ import annotations

import math

import pytest
from pydantic import TypeAdapter, ValidationError

from sim.calibration.observations import Observation, check_observations, extract
from sim.config import Scenario
from sim.errors import ConfigError
from sim.model import simulate
from tests.scenarios import line, spec_of


def scenario_data(absence: float = 0.0) -> dict:
    """10 sewers at 2 min/mask, 7 h days, no noise: 2,100 masks a full working day; two channels."""
    data = line(horizon_days=28, sew_min=2.0, cut_min=0.3, operators={"cut": 5, "sew": 10}, absence=absence,
                lot_size=50)
    data["channels"] = {"public": {"price": 1.9, "priority": 1, "weekly": 6000, "due_days": 7},
                        "charities": {"price": 0, "priority": 0, "weekly": 2000, "due_days": 7}}
    data["targets"] = {"twenty_k": {"masks": 20_000}}
    return data


def parse(spec: dict) -> object:
    return TypeAdapter(Observation).validate_python(spec)


@pytest.fixture(scope="module")
def run():
    data = scenario_data()
    return Scenario.model_validate(data), simulate(spec_of(data))


def test_values_read_off_a_real_run(run):
    scenario, result = run
    observations = {
        "week2": parse({"kpi": "output", "kind": "textile", "week": "2020-04-06", "value": 1, "sd": 1, "source": "t"}),
        "rate": parse({"kpi": "output", "site": "workshop", "from": "2020-04-06", "to": "2020-04-19",
                       "per": "working_day", "value": 1, "sd": 1, "source": "t"}),
        "sewers": parse({"kpi": "productivity", "kind": "textile", "from": "2020-04-06", "to": "2020-04-19",
                         "staff": "sewing", "value": 1, "sd": 1, "source": "t"}),
        "site": parse({"kpi": "productivity", "site": "workshop", "from": "2020-04-06", "to": "2020-04-19",
                       "value": 1, "sd": 1, "source": "t"}),
        "all": parse({"kpi": "cumulative_delivered", "by": "2020-04-26", "value": 1, "sd": 1, "source": "t"}),
        "both": parse({"kpi": "channel_delivered", "channels": ["public", "charities"], "by": "2020-04-26",
                       "value": 1, "sd": 1, "source": "t"}),
        "free": parse({"kpi": "channel_delivered", "channels": ["charities"], "by": "2020-04-19", "value": 1,
                       "sd": 1, "source": "t"}),
        "day": parse({"kpi": "target_day", "target": "twenty_k", "value": 10, "sd": 1, "source": "t"}),
    }
    check_observations(observations, scenario, "exp.yaml")
    v = extract(observations, scenario, result.kpis, result.daily, result.series)
    assert v["week2"] == 5 * 2100  # five full working days, one weekend
    assert v["rate"] == 2100
    assert v["sewers"] == pytest.approx(210.0)  # 2,100 masks by 10 sewers
    assert v["site"] == pytest.approx(2100 / 15)  # and 5 cutters
    assert v["all"] == v["both"] == result.kpis["masks_delivered"]  # the last day of the horizon
    delivered = result.series[(result.series["series"] == "delivered") & (result.series["key"] == "charities")]
    assert v["free"] == delivered.loc[delivered["day"] <= 20, "value"].sum() > 0
    assert v["day"] == result.kpis["day_target.twenty_k"] and not math.isnan(v["day"])


def test_absence_lowers_output_not_productivity():
    data = scenario_data(absence=0.2)
    scenario = Scenario.model_validate(data)
    result = simulate(spec_of(data))
    obs = {"rate": parse({"kpi": "output", "site": "workshop", "from": "2020-04-06", "to": "2020-04-19",
                          "per": "working_day", "value": 1, "sd": 1, "source": "t"}),
           "sewers": parse({"kpi": "productivity", "kind": "textile", "from": "2020-04-06", "to": "2020-04-19",
                            "staff": "sewing", "value": 1, "sd": 1, "source": "t"})}
    v = extract(obs, scenario, result.kpis, result.daily, result.series)
    assert v["rate"] < 0.9 * 2100
    assert v["sewers"] == pytest.approx(210.0, rel=0.03)


def test_a_target_never_reached_counts_as_the_horizon(run):
    scenario, result = run
    data = scenario_data()
    data["targets"] = {"never": {"masks": 10**9}}
    scenario = Scenario.model_validate(data)
    result = simulate(spec_of(data))
    obs = {"d": parse({"kpi": "target_day", "target": "never", "value": 10, "sd": 1, "source": "t"})}
    assert extract(obs, scenario, result.kpis, result.daily, result.series)["d"] == 28


def test_interval_reads_as_a_95_percent_range():
    obs = parse({"kpi": "target_day", "target": "x", "interval": [10, 18], "source": "t"})
    assert obs.observed == 14 and obs.obs_sd == 2


@pytest.mark.parametrize(("spec", "message"), [
    ({"kpi": "masks_made", "by": "2020-04-01", "value": 1, "sd": 1, "source": "t"},
     "observations.o.kpi: 'masks_made': one of"),
    ({"kpi": "cumulative_delivered", "by": "2020-04-01", "value": 1, "sd": -5, "source": "t"}, "greater than 0"),
    ({"kpi": "cumulative_delivered", "by": "2020-04-01", "value": 1, "interval": [5, 2], "source": "t"}, "low < high"),
    ({"kpi": "cumulative_delivered", "by": "2020-04-01", "value": 1, "source": "t"}, "exactly one of sd"),
    ({"kpi": "cumulative_delivered", "by": "2020-04-01", "value": 1, "sd": 1}, "required"),
    ({"kpi": "output", "site": "a", "kind": "b", "week": "2020-04-01", "value": 1, "sd": 1, "source": "t"},
     "exactly one of site or kind"),
])
def test_bad_specs_are_one_line_errors(tmp_path, spec, message):
    from sim.studies import load_experiment

    (tmp_path / "base.yaml").write_text(__import__("yaml").safe_dump(scenario_data()))
    exp = {"name": "e", "base": "base.yaml", "observations": {"o": spec}}
    (tmp_path / "e.yaml").write_text(__import__("yaml").safe_dump(exp))
    with pytest.raises(ConfigError) as err:
        load_experiment(tmp_path / "e.yaml")
    assert len(err.value.problems) == 1, err.value.problems
    line_ = err.value.problems[0]
    assert "\n" not in line_ and "e.yaml: observations.o" in line_ and message in line_, line_


@pytest.mark.parametrize(("spec", "path", "allowed"), [
    ({"kpi": "cumulative_delivered", "by": "2020-05-30"}, "observations.o.by", "within the horizon"),
    ({"kpi": "output", "kind": "textile", "week": "2020-04-24"}, "observations.o.week", "within the horizon"),
    ({"kpi": "channel_delivered", "channels": ["public", "press"], "by": "2020-04-10"}, "observations.o.channels[1]",
     "a channel of the scenario: public, charities"),
    ({"kpi": "output", "site": "nowhere", "week": "2020-04-06"}, "observations.o.site", "a sewing site"),
    ({"kpi": "productivity", "kind": "prison", "week": "2020-04-06"}, "observations.o.kind",
     "a kind of sewing site: textile"),
    ({"kpi": "target_day", "target": "two_m"}, "observations.o.target", "a target of the scenario: twenty_k"),
])
def test_selectors_are_checked_against_the_scenario(spec, path, allowed):
    scenario = Scenario.model_validate(scenario_data())
    obs = parse({**spec, "value": 1, "sd": 1, "source": "t"})
    with pytest.raises(ConfigError) as err:
        check_observations({"o": obs}, scenario, "exp.yaml")
    assert err.value.problems == [err.value.problems[0]]
    assert err.value.problems[0].startswith(f"exp.yaml: {path}: ") and allowed in err.value.problems[0]


def test_source_must_not_be_empty():
    with pytest.raises(ValidationError):
        parse({"kpi": "target_day", "target": "x", "value": 1, "sd": 1, "source": ""})


def test_a_run_shows_its_cumulative_observations_on_the_cumulative_chart(tmp_path):
    import matplotlib as mpl
    import yaml

    from sim.cli import main
    from sim.report.charts.throughput import draw_cumulative_delivered
    from sim.report.style import STYLE
    from sim.results.results_set import ResultsSet

    (tmp_path / "base.yaml").write_text(yaml.safe_dump(scenario_data()))
    (tmp_path / "e.yaml").write_text(yaml.safe_dump({"name": "e", "base": "base.yaml", "replications": 2,
                                                     "observations": {"seen": {
                                                         "kpi": "cumulative_delivered", "by": "2020-04-19",
                                                         "value": 30_000, "sd": 2_000, "source": "t"}}}))
    out = tmp_path / "res"
    assert main(["run", str(tmp_path / "e.yaml"), "--out", str(out), "--workers", "1", "--no-report",
                 "--no-progress"]) == 0
    rs = ResultsSet(out)
    assert rs.manifest["observations"][0]["observed"] == 30_000
    with mpl.rc_context(STYLE):
        fig, _ = draw_cumulative_delivered(rs)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "observed: seen (± 2 sd)" in labels
    fig.savefig(tmp_path / "cumulative.png")


def test_waves_simulate_only_up_to_the_last_observed_day_plus_a_margin():
    import datetime as dt
    from types import SimpleNamespace

    from pydantic import TypeAdapter

    from sim.calibration.command import HORIZON_MARGIN_DAYS, observed_horizon
    from sim.calibration.observations import Observation

    parse = TypeAdapter(Observation).validate_python
    scenario = SimpleNamespace(start=dt.date(2020, 3, 30), horizon_days=120)
    observed = {"late_april": parse({"kpi": "channel_delivered", "channels": ["charities"], "by": "2020-04-30",
                                     "value": 125_000, "sd": 10_000, "source": "test"}),
                "may": parse({"kpi": "output", "kind": "prison", "from": "2020-05-18", "to": "2020-05-29",
                              "value": 5_500, "sd": 275, "source": "test"})}
    assert observed_horizon(observed, scenario) == 61 + HORIZON_MARGIN_DAYS  # 29 May is day 60
    # never longer than the scenario's own horizon
    assert observed_horizon(observed, SimpleNamespace(start=scenario.start, horizon_days=40)) == 40
    # the day a target is reached is censored at the horizon: the whole horizon is kept
    observed["day_2m"] = parse({"kpi": "target_day", "target": "first_goal", "value": 50, "sd": 5,
                                "source": "test"})
    assert observed_horizon(observed, scenario) == 120


def test_network_output_is_every_sewing_site_s_masks_read_back_from_the_tables(run):
    """The whole network's output, cumulative and over a period, against the daily table summed by hand."""
    scenario, result = run
    observations = {
        "to_date": parse({"kpi": "network_output", "by": "2020-04-19", "at_most": 1e6, "sd": 1, "source": "t"}),
        "week2": parse({"kpi": "network_output", "from": "2020-04-06", "by": "2020-04-12", "value": 1, "sd": 1,
                        "source": "t"}),
        "all": parse({"kpi": "network_output", "by": "2020-04-26", "value": 1, "sd": 1, "source": "t"}),
    }
    check_observations(observations, scenario, "exp.yaml")
    v = extract(observations, scenario, result.kpis, result.daily, result.series)
    sewn = result.daily[result.daily["stage"] == "sew"]
    assert v["to_date"] == sewn.loc[sewn["day"] <= 20, "output"].sum() > 0
    assert v["week2"] == 5 * 2100  # the same week as the kind's output above
    assert v["all"] == result.kpis["masks_sewn"]  # the last day of the horizon


@pytest.mark.parametrize(("spec", "path", "allowed"), [
    ({"kpi": "network_output", "by": "2020-05-30"}, "observations.o.by", "within the horizon"),
    ({"kpi": "network_output", "from": "2020-03-01", "by": "2020-04-10"}, "observations.o.from",
     "within the horizon"),
])
def test_network_output_days_are_checked_against_the_horizon(spec, path, allowed):
    scenario = Scenario.model_validate(scenario_data())
    obs = parse({**spec, "at_most": 1, "sd": 1, "source": "t"})
    with pytest.raises(ConfigError) as err:
        check_observations({"o": obs}, scenario, "exp.yaml")
    assert len(err.value.problems) == 1 and err.value.problems[0].startswith(f"exp.yaml: {path}: ")
    assert allowed in err.value.problems[0]


def test_network_output_by_before_from_is_refused():
    with pytest.raises(ValidationError, match="by must not be before from"):
        parse({"kpi": "network_output", "from": "2020-04-10", "by": "2020-04-06", "at_most": 1, "sd": 1,
               "source": "t"})
