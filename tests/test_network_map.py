"""The network map's inputs: a site's optional location in the scenario schema (validated, one line on error, absent
from the configuration when not given), the shipped region outlines, where sites without a location are placed, and
how the masks a route carried are estimated. Cheap: no simulation (tests/test_report_browser.py draws the map of a
real run in Chromium)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.path import Path as Polygon

from sim.cli import main
from sim.config import Scenario, scenario_dict
from sim.report.network_map import REGIONS_FILE, place_sites, regions, route_volumes
from tests.scenarios import line

ROOT = Path(__file__).resolve().parent.parent


def _line_file(tmp_path: Path, location: object) -> Path:
    import yaml

    data = line()
    data["sites"]["workshop"]["location"] = location
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("location", "field", "allowed"), [
    ({"lat": 95.0, "lon": 2.0}, "sites.workshop.location.lat: 95.0", "less than or equal to 90"),
    ({"lat": 50.0, "lon": -181.0}, "sites.workshop.location.lon: -181.0", "greater than or equal to -180"),
    ({"lat": float("nan"), "lon": 2.0}, "sites.workshop.location.lat: nan", "finite"),
    ({"lat": 50.0}, "sites.workshop.location.lon", "required"),
    ({"lat": "north", "lon": 2.0}, "sites.workshop.location.lat: 'north'", "number"),
])
def test_a_bad_location_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, location: object,
                                               field: str, allowed: str) -> None:
    path = _line_file(tmp_path, location)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}") and field in err[0] and allowed in err[0], err


def test_a_location_is_kept_and_its_absence_changes_no_configuration() -> None:
    """A site without a location dumps as before the field existed: configuration hashes (regression baselines,
    stored runs) of scenarios that give none do not move."""
    plain = scenario_dict(Scenario.model_validate(line()))
    assert "location" not in plain["sites"]["workshop"]
    data = line()
    data["sites"]["workshop"]["location"] = {"lat": 50.69, "lon": 3.18}
    located = scenario_dict(Scenario.model_validate(data))
    assert located["sites"]["workshop"]["location"] == {"lat": 50.69, "lon": 3.18}
    assert {k: v for k, v in located["sites"]["workshop"].items() if k != "location"} == plain["sites"]["workshop"]


def test_the_2020_case_locates_every_named_site_in_its_region(shipped_experiment) -> None:
    exp = shipped_experiment("projet_resilience.yaml")
    sites = exp.config()["scenarios"]["base/p0"]["sites"]
    outlines = {f["properties"]["id"]: [Polygon(p[0]) for p in f["geometry"]["coordinates"]]
                for f in regions()["features"]}
    for name, site in sites.items():
        assert site.get("location"), f"{name} has no location"
        point = (site["location"]["lon"], site["location"]["lat"])
        # within 0.1° of its region's simplified outline (towns near a border, outlines simplified by ~2 km)
        assert any(p.contains_point(point, radius=0.1) or p.contains_point(point, radius=-0.1)
                   for p in outlines[site["region"]]), (name, site["region"], point)


def test_the_shipped_outlines_are_the_13_regions_with_their_licence() -> None:
    data = regions()
    assert len(data["features"]) == 13 and "public domain" in data["licence"] and "Natural Earth" in data["source"]
    ids = {f["properties"]["id"] for f in data["features"]}
    assert {"hauts_de_france", "normandie", "grand_est", "ile_de_france", "auvergne_rhone_alpes"} <= ids
    assert REGIONS_FILE.stat().st_size < 50_000


def test_sites_without_a_location_are_placed_inside_their_region_apart_from_each_other() -> None:
    sites = pd.DataFrame({"site": [f"w{i:02d}" for i in range(40)] + ["located"],
                          "region": ["normandie"] * 40 + ["normandie"]})
    placed = place_sites(sites, {"located": (49.27, 1.21)}).set_index("site")
    assert tuple(placed.loc["located", ["lat", "lon"]]) == (49.27, 1.21) and placed.loc["located", "placed"]
    others = placed.drop(index="located")
    assert not others["placed"].any()
    normandie = next(f for f in regions()["features"] if f["properties"]["id"] == "normandie")
    outline = Polygon(max((p[0] for p in normandie["geometry"]["coordinates"]), key=len))
    inside = outline.contains_points(others[["lon", "lat"]].to_numpy())
    assert inside.all(), others[~inside]
    xy = others[["lon", "lat"]].to_numpy()
    gaps = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)) + np.eye(len(xy)) * 9
    assert gaps.min() > 0.05  # no two on top of each other


def test_a_senders_output_is_shared_among_its_receivers_by_what_they_processed() -> None:
    pairs = [("cut", "a"), ("cut", "b"), ("cut", "c"), ("a", "hub"), ("b", "hub")]
    out_of = pd.Series({"cut": 1000.0, "a": 300.0, "b": 100.0, "c": 0.0})
    into = pd.Series({"a": 600.0, "b": 200.0, "c": 200.0})
    volumes = route_volumes(pairs, out_of, into)
    assert volumes[("cut", "a")] == pytest.approx(600.0) and volumes[("cut", "c")] == pytest.approx(200.0)
    assert volumes[[p for p in volumes.index if p[0] == "cut"]].sum() == pytest.approx(1000.0)
    assert volumes[("a", "hub")] == 300.0  # a hub processes nothing: it gets what its senders put out


def test_report_static_flag_is_accepted() -> None:
    from sim.cli import _parser

    assert _parser().parse_args(["report", "somewhere", "--static"]).static
    assert not _parser().parse_args(["report", "somewhere"]).static
