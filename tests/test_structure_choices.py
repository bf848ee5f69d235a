"""Structure as uncertain inputs: sites left out (`active: false`) and `choice` parameters selecting among
named alternatives, validated like any range and run through the real model."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.config import validate_scenario
from sim.errors import ConfigError
from tests.scenarios import line


def two_workshops() -> dict[str, Any]:
    """Two sewing workshops (the second twice the first's team) shipping to one hub."""
    data = line(horizon_days=10, cv=0.3, operators={"sew": 2})
    data["sites"]["workshop_b"] = copy.deepcopy(data["sites"]["workshop"])
    data["sites"]["workshop_b"]["stages"]["sew"]["operators"] = 4
    data["routes"].append({"from": "workshop_b", "to": "platform", "transit_days": 0})
    return data


CHOICE = {"label": "which workshops take part", "source": "test",
          "choice": {"both": {"set": {}}, "only_a": {"set": {"sites.workshop_b.active": False}},
                     "only_b": {"set": {"sites.workshop.active": False}, "source": "assumption"}}}


def write_study(tmp_path: Path, uncertain: dict[str, Any], base: dict[str, Any] | None = None) -> Path:
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(base or two_workshops()), encoding="utf-8")
    experiment = {"name": "structure", "base": "two.yaml", "replications": 1, "seed": 5, "uncertain": uncertain,
                  "design": {"method": "lhs", "samples": 6, "noise_replications": 2}}
    path = tmp_path / "structure.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False), encoding="utf-8")
    return path


def test_an_inactive_site_leaves_with_its_routes_and_supply():
    data = two_workshops()
    data["materials"] = {"fabric": {"unit": "m2", "per_mask": 0.14}}
    data["suppliers"] = {"mill": {"material": "fabric", "capacity_per_day": 1000, "lead_time_days": 1,
                                  "customers": ["workshop", "workshop_b"]}}
    data["sites"]["workshop_b"]["active"] = False
    scenario = validate_scenario(data, "two.yaml")
    assert set(scenario.sites) == {"workshop", "platform"}
    assert scenario.suppliers["mill"].customers == ["workshop"]
    assert [r.source for r in scenario.routes] == ["workshop"]
    data["sites"]["platform"]["active"] = False  # the workshop's output would go nowhere
    with pytest.raises(ConfigError) as caught:
        validate_scenario(data, "two.yaml")
    assert caught.value.problems == ["two.yaml: routes[0].to: ['platform']: every destination is inactive: the output "
                                     "of workshop would go nowhere (route it to an active site, or make it inactive "
                                     "too)"]


def test_a_choice_runs_each_alternative_and_the_design_records_which(tmp_path: Path):
    file = write_study(tmp_path, {"workshops": CHOICE})
    assert main(["validate", str(file)]) == 0
    out = tmp_path / "out"
    assert main(["run", str(file), "--workers", "1", "--out", str(out), "--no-report"]) == 0
    design = pd.read_parquet(out / "design.parquet")
    runs = pd.read_parquet(out / "runs.parquet")
    chosen = design[design["kind"] == "design"].set_index("point")["workshops"]
    assert set(chosen) <= {0.0, 1.0, 2.0} and len(set(chosen)) == 3  # six LHS points reach all three
    assert pd.isna(design.loc[design["kind"] == "nominal", "workshops"]).all()
    runs = runs[runs["scenario"] == "base"]
    point = runs["run_id"].str.split("/").str[1].str.removeprefix("p").astype(int)  # base/p<i>/r000
    sewn = runs.set_index(point)["masks_sewn"]
    by_choice = {c: sewn[chosen[chosen == c].index].mean() for c in (0.0, 1.0, 2.0)}
    # both > only b (4 sewers) > only a (2 sewers): each alternative ran the network it names
    assert by_choice[0.0] > by_choice[2.0] > by_choice[1.0] > 0, by_choice
    parameters = pd.read_csv(out / "parameters.csv")
    assert parameters.loc[0, "distribution"] == "one of 0: both, 1: only_a, 2: only_b"


BAD = {
    "unknown site in a route": ({"choice": {"a": {"set": {}}, "b": {"set": {"routes[0].to": ["warehouse"]}}}},
                                "uncertain.w.choice.b.set: this alternative is not a valid scenario (routes[0].to[0]: "
                                "'warehouse'"),
    "no such field": ({"choice": {"a": {"set": {}}, "b": {"set": {"sites.workshop.activ": False}}}},
                      "uncertain.w.choice.b.set.sites.workshop.activ: no such field"),
    "one alternative": ({"choice": {"a": {"set": {}}}}, "uncertain.w.choice"),
    "also on a choice": ({"choice": {"a": {"set": {}}, "b": {"set": {}}}, "also": ["x"]}, "uncertain.w.also"),
    "bad path syntax": ({"choice": {"a": {"set": {}}, "b": {"set": {"routes[x": 1}}}}, "uncertain.w.choice.b.set"),
    "varied twice": ({"choice": {"a": {"set": {}}, "b": {"set": {"sites.workshop.stages.sew.operators": 3}}}},
                     "already varied by uncertain.sites.workshop.stages.sew.operators"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_choice_is_one_line_exit_2(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    extra, expected = BAD[case]
    uncertain = {"w": {"label": "w", "source": "test", **extra}}
    if case == "varied twice":
        uncertain = {"sites.workshop.stages.sew.operators": {"label": "sewers", "source": "test",
                                                              "uniform": [1, 3]}, **uncertain}
    file = write_study(tmp_path, uncertain)
    capsys.readouterr()
    assert main(["validate", str(file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {file}: ") and expected in err[0], err


def test_a_scenario_set_on_a_path_a_choice_varies_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    file = write_study(tmp_path, {"workshops": CHOICE})
    data = yaml.safe_load(file.read_text())
    data["scenarios"] = {"base": {"set": {"sites.workshop_b.active": True}}}
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    capsys.readouterr()
    assert main(["validate", str(file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "uncertain.workshops varies sites.workshop_b.active" in err[0], err


def test_the_2020_study_varies_the_structure_within_the_sources(shipped_experiment):
    exp = shipped_experiment("uncertainty_2020.yaml")  # loaded once a session (test_docs loads it too)
    assert exp.study is not None
    params = exp.study.params
    assert {"network_size", "cutting_network", "packing_network"} <= set(params)
    named_sewing = 11
    for alternative in params["network_size"].choice.values():
        counts = {"insertion_workshops": 40, "esat_workshops": 20, "ea_workshops": 10, "textile_smes": 10}
        counts.update({p.split(".")[1]: v for p, v in alternative.set.items()})
        assert 65 <= named_sewing + sum(counts.values()) <= 100
    # every alternative of every point resolved to a valid network (exp.resolved holds them all)
    cutting = [p for p in exp.study.points[1:] if "sites.cutting_east.active" in p]
    assert cutting and all("cutting_east" not in exp.resolved[("base", i)].sites
                           for i, p in enumerate(exp.study.points) if "sites.cutting_east.active" in p)


def test_the_what_if_panel_gives_a_choice_no_slider_and_says_so(tmp_path: Path):
    """An alternative's index is no range a slider moves along, nor a value `--set` takes: the panel's sliders are
    the numeric drivers only, and the page names the choice whose effect joins the scatter."""
    from sim.report.page import build_html
    from sim.report.whatif import whatif_panel
    from sim.results.results_set import ResultsSet

    sewing = {"label": "sewing time", "source": "test", "uniform": [1.5, 3.0]}
    file = write_study(tmp_path, {"workshops": CHOICE, "sites.workshop.stages.sew.minutes_per_mask": sewing})
    experiment = yaml.safe_load(file.read_text(encoding="utf-8"))
    experiment["design"]["samples"] = 12
    file.write_text(yaml.safe_dump(experiment, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(file), "--workers", "1", "--out", str(out), "--no-report"]) == 0
    rs = ResultsSet(out)
    panel = whatif_panel(rs)
    assert panel is not None
    assert panel["names"] == ["sites.workshop.stages.sew.minutes_per_mask"]
    assert [s["path"] for s in panel["sliders"]] == panel["names"]
    assert panel["choices"] == ["which workshops take part"]
    html = build_html(rs, [], static=False)
    assert "The structural choices (which workshops take part) have no" in html
