"""The network on a map: the sites where they are, the routes between them with widths by the masks they carried,
each site coloured by what held it most each week (working, waiting for input, blocked), a slider to move through
the weeks. Drawn with plotly on a plain longitude/latitude frame (no geo trace, no map tiles: nothing is fetched),
over the outlines of metropolitan France's regions shipped with the package (geodata/fr_regions.json: Natural
Earth, public domain; tools/build_regions.py made it).

A site is placed by its `location: {lat, lon}` (sim/config/sites.py). A site without one, and every member of a
group, is placed around the centre of its region (a spiral, so that they do not cover each other), and its
tooltip says so. Figures are of the base scenario, means over its replications.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.report.charts.base import ChartSkipped, week_start
from sim.report.formatting import fmt_count, stage_name
from sim.report.interactive import Interactive, base_layout, day_words
from sim.report.labels import words
from sim.results.results_set import ResultsSet, missing_columns

REGIONS_FILE = Path(__file__).parent / "geodata" / "fr_regions.json"
WORK_STAGES = ("cut", "sew", "inspect", "pack")
MAIN_STAGE_ORDER = ("sew", "cut", "pack", "inspect")  # the stage that says what a site is doing
STATES = {  # state -> (words, colour); colours of the Okabe-Ito palette, as the static charts
    "working": ("working", "#009E73"),
    "starved": ("waiting for input", "#E69F00"),
    "blocked": ("blocked (no room downstream)", "#D55E00"),
    "idle": ("not working (not started, or no shift)", "#BBBBBB"),
}
ROUTE_CLASSES = 5
FRANCE_CENTRE = (46.6, 2.45)  # (lat, lon): for a region the outlines do not hold ('france')
SPIRAL_STEP_DEG = 0.13
MID_LATITUDE = 46.5  # the frame's aspect: a degree of longitude is cos(46.5°) of a degree of latitude


@cache
def regions() -> dict[str, Any]:
    """The shipped outlines: a GeoJSON FeatureCollection whose features have `id` (the scenario's region names)."""
    return dict(json.loads(REGIONS_FILE.read_text(encoding="utf-8")))


def _outline(region: str) -> np.ndarray | None:
    """The region's largest outline as (x, y) = (lon × cos(mid-latitude), lat): a frame where distances are even."""
    for feature in regions()["features"]:
        if feature["properties"]["id"] == region:
            ring = np.asarray(max((p[0] for p in feature["geometry"]["coordinates"]), key=len), dtype=float)
            return np.column_stack([ring[:, 0] * math.cos(math.radians(MID_LATITUDE)), ring[:, 1]])
    return None


def _spread_in(region: str, count: int) -> list[tuple[float, float]]:
    """`count` (lat, lon) points inside the region, on a spiral from its centroid sized to fill about half of it
    (points falling outside the outline are skipped); around the centre of France for a region without outline."""
    from matplotlib.path import Path as Polygon

    outline = _outline(region)
    golden = math.pi * (3 - math.sqrt(5))
    scale = math.cos(math.radians(MID_LATITUDE))
    if outline is None:
        cx, cy, step, inside = FRANCE_CENTRE[1] * scale, FRANCE_CENTRE[0], SPIRAL_STEP_DEG, None
    else:
        x, y = outline[:, 0], outline[:, 1]
        cross = x * np.roll(y, -1) - np.roll(x, -1) * y
        area = cross.sum() / 2
        cx = float(((x + np.roll(x, -1)) * cross).sum() / (6 * area))
        cy = float(((y + np.roll(y, -1)) * cross).sum() / (6 * area))
        step = min(SPIRAL_STEP_DEG, math.sqrt(0.5 * abs(area) / (math.pi * max(count, 1))))
        inside = Polygon(outline)
    points: list[tuple[float, float]] = []
    i = 0
    while len(points) < count:
        i += 1
        radius = step * math.sqrt(i)
        px, py = cx + radius * math.cos(i * golden), cy + radius * math.sin(i * golden)
        if inside is None or inside.contains_point((px, py)) or i > 50 * count:
            points.append((py, px / scale))
    return points


def place_sites(sites: pd.DataFrame, located: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """`sites` (site, region) with lat, lon and `placed` (True where the scenario gave the location); the others
    spread inside their region (`_spread_in`), in the order given."""
    out = sites.copy()
    unplaced = out[~out["site"].isin(list(located))]
    spread = {region: iter(_spread_in(str(region), len(group))) for region, group in unplaced.groupby("region")}
    lat, lon, placed = [], [], []
    for site, region in zip(out["site"], out["region"], strict=True):
        where = located.get(site) or next(spread[region])
        lat.append(float(where[0]))
        lon.append(float(where[1]))
        placed.append(site in located)
    return out.assign(lat=lat, lon=lon, placed=placed)


def _weekly_states(rs: ResultsSet, base: str) -> pd.DataFrame:
    """Per site and week of the base: hours working, starved, blocked and on shift at its main stage, masks out of
    its last stage, summed over runs (divide by `runs`), with the site's kind and region."""
    daily = rs.rows("daily", base)
    columns = ("site", "kind", "region", "stage", "date", "output", "working_h", "starved_h", "blocked_h",
               "off_shift_h")
    if daily is None or missing_columns(daily, columns):
        raise ChartSkipped("daily.parquet is missing or lacks the site, stage and state-hour columns")
    rows = daily.where_in("stage", WORK_STAGES)
    if not len(rows):
        raise ChartSkipped("daily.parquet has no cut, sew, inspect or pack rows")
    sums = rows.sums(("site", "kind", "region", "stage", "date"), {
        "output": rows.number("output"), "working": rows.number("working_h"), "starved": rows.number("starved_h"),
        "blocked": rows.number("blocked_h"), "shift": 24.0 - rows.number("off_shift_h")})
    sums = sums.astype({"site": str, "kind": str, "region": str, "stage": str})
    sums["week"] = week_start(rs, pd.to_datetime(sums["date"]))
    return sums


def _routes(scenario: dict[str, Any], members: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(sender, receiver) site pairs of the scenario's routes, groups expanded into their members."""
    pairs = []
    for route in scenario.get("routes") or []:
        targets = route.get("to")
        for target in [targets] if isinstance(targets, str) else targets or []:
            for sender in members.get(str(route.get("from")), [str(route.get("from"))]):
                for receiver in members.get(str(target), [str(target)]):
                    pairs.append((sender, receiver))
    return pairs


def route_volumes(pairs: list[tuple[str, str]], out_of: pd.Series, into: pd.Series) -> pd.Series:
    """Masks carried on each (sender, receiver): the sender's output shared among its receivers in proportion to
    what each processed (the model does not record a flow per route; a hub, which processes nothing, gets what
    its senders put out)."""
    volumes = {}
    by_sender: dict[str, list[str]] = {}
    for sender, receiver in pairs:
        by_sender.setdefault(sender, []).append(receiver)
    for sender, receivers in by_sender.items():
        weights = np.array([float(into.get(r, 0.0)) for r in receivers])
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(receivers), 1 / len(receivers))
        for receiver, weight in zip(receivers, weights, strict=True):
            volumes[(sender, receiver)] = float(out_of.get(sender, 0.0)) * weight
    return pd.Series(volumes, dtype=float)


def network_map(rs: ResultsSet) -> Interactive:
    from sim.report.data import base_scenario_config

    scenario = base_scenario_config(rs)
    if not scenario.get("sites"):
        raise ChartSkipped("the manifest holds no scenario configuration (sites, routes)")
    base = rs.base_variant
    runs = max(len(rs.kpi_values(base, "masks_delivered")), 1)
    sums = _weekly_states(rs, base)
    per_stage = sums.groupby(["site", "stage"])[["output", "working", "starved", "blocked", "shift"]].sum() / runs
    site_info = sums.groupby("site")[["kind", "region"]].first()
    main_stage = {site: next(s for s in MAIN_STAGE_ORDER if (site, s) in per_stage.index) for site in site_info.index}
    last_stage = {site: next(s for s in reversed(WORK_STAGES) if (site, s) in per_stage.index)
                  for site in site_info.index}
    first_stage = {site: next(s for s in WORK_STAGES if (site, s) in per_stage.index) for site in site_info.index}
    out_of = pd.Series({s: per_stage.loc[(s, last_stage[s]), "output"] for s in site_info.index})
    into = pd.Series({s: per_stage.loc[(s, first_stage[s]), "output"] for s in site_info.index})
    hubs = {name: spec for name, spec in scenario["sites"].items() if spec.get("kind") == "hub"}
    groups = scenario.get("groups") or {}
    members = {g: sorted(s for s in site_info.index if s.rsplit("_", 1)[0] == g) for g in groups}
    everyone = pd.DataFrame({"site": list(site_info.index) + list(hubs),
                             "region": list(site_info["region"]) + [str(h.get("region")) for h in hubs.values()],
                             "kind": list(site_info["kind"]) + ["hub"] * len(hubs)})
    located = {name: (float(spec["location"]["lat"]), float(spec["location"]["lon"]))
               for name, spec in scenario["sites"].items() if isinstance(spec.get("location"), dict)}
    placed = place_sites(everyone, located).set_index("site")
    traces: list[dict[str, Any]] = []
    # region outlines, one trace: polygons separated by None
    xs: list[float | None] = []
    ys: list[float | None] = []
    for feature in regions()["features"]:
        for polygon in feature["geometry"]["coordinates"]:
            ring = polygon[0]
            xs += [p[0] for p in ring] + [None]
            ys += [p[1] for p in ring] + [None]
    traces.append({"type": "scatter", "mode": "lines", "x": xs, "y": ys, "fill": "toself", "fillcolor": "#F4F6F9",
                   "line": {"color": "#9AA4B2", "width": 0.8}, "hoverinfo": "skip", "showlegend": False,
                   "name": "regions"})
    # routes, in width classes by volume (one trace per class: plotly draws one width per trace)
    volumes = route_volumes(_routes(scenario, members), out_of, into)
    volumes = volumes[[a in placed.index and b in placed.index for a, b in volumes.index]]
    top = float(volumes.max()) if len(volumes) and volumes.max() > 0 else 1.0
    edges = np.linspace(0, top, ROUTE_CLASSES + 1)
    mid_x, mid_y, mid_text = [], [], []
    for k in range(ROUTE_CLASSES):
        chosen = volumes[(volumes > edges[k]) & (volumes <= edges[k + 1])] if k else volumes[volumes <= edges[1]]
        lx: list[float | None] = []
        ly: list[float | None] = []
        for (a, b), masks in chosen.items():
            lx += [placed.loc[a, "lon"], placed.loc[b, "lon"], None]
            ly += [placed.loc[a, "lat"], placed.loc[b, "lat"], None]
            mid_x.append((placed.loc[a, "lon"] + placed.loc[b, "lon"]) / 2)
            mid_y.append((placed.loc[a, "lat"] + placed.loc[b, "lat"]) / 2)
            mid_text.append(f"<b>{words(a)} → {words(b)}</b><br>{fmt_count(masks)} masks carried (mean per run)")
        if lx:
            traces.append({"type": "scatter", "mode": "lines", "x": lx, "y": ly, "hoverinfo": "skip",
                           "line": {"color": "rgba(0,114,178,0.45)", "width": 0.6 + 1.6 * k},
                           "legendgroup": "routes", "showlegend": k == ROUTE_CLASSES - 1,
                           "name": "routes (width: masks carried)"})
    traces.append({"type": "scatter", "mode": "markers", "x": mid_x, "y": mid_y, "text": mid_text,
                   "hovertemplate": "%{text}<extra></extra>", "marker": {"size": 6, "opacity": 0},
                   "legendgroup": "routes", "showlegend": False, "name": "route volumes"})
    # sites, coloured by their main stage's state, week by week
    weekly = sums[[s == main_stage.get(site) for site, s in zip(sums["site"], sums["stage"], strict=True)]]
    weekly = weekly.groupby(["week", "site"])[["working", "starved", "blocked", "shift", "output"]].sum()
    weeks = sorted(weekly.index.get_level_values("week").unique())
    sites = list(site_info.index)
    size = np.sqrt(out_of.reindex(sites).fillna(0.0).to_numpy() / max(float(out_of.max()), 1.0))
    sizes = (7 + 20 * size).round(1).tolist()

    def week_of(week: pd.Timestamp, site: str) -> tuple[str, list[Any]]:
        """(colour, [state in words, working, starved, blocked shares, masks out of the main stage]) of a week."""
        r = weekly.loc[(week, site)] if (week, site) in weekly.index else None
        if r is None or r["shift"] <= 0 or r["working"] + r["starved"] + r["blocked"] <= 0:
            return STATES["idle"][1], [STATES["idle"][0], 0, 0, 0, 0]
        state = max(("working", "starved", "blocked"), key=lambda s: float(r[s]))
        shares = [round(100 * float(r[s] / r["shift"])) for s in ("working", "starved", "blocked")]
        return STATES[state][1], [STATES[state][0], *shares, round(float(r["output"]) / runs)]

    def about(site: str) -> str:
        """What does not change from week to week: the site, where it is placed from, its run's output."""
        where = ("" if placed.loc[site, "placed"] else
                 f"<br><i>placed in {words(str(placed.loc[site, 'region']))} (no location given)</i>")
        head = f"<b>{words(site)}</b> ({words(str(placed.loc[site, 'kind'])).lower()}){where}"
        if site in hubs:
            return f"{head}<br>logistics hub"
        return (f"{head}<br>{fmt_count(out_of.get(site, 0.0))} masks out over the run (mean per run)<br>main stage: "
                f"{stage_name(main_stage[site])}")

    producers = list(site_info.index)
    weeks_of = {w: [week_of(w, s) for s in producers] for w in weeks}

    def template(week: pd.Timestamp) -> str:
        return (f"%{{text}}<br><b>week of {day_words(week)}: %{{customdata[0]}}</b><br>working %{{customdata[1]}} %, "
                "waiting for input %{customdata[2]} %, blocked %{customdata[3]} % of shift time<br>"
                "%{customdata[4]:,.0f} masks out of the main stage that week<extra></extra>")

    first = weeks[0]
    site_trace = len(traces)
    traces.append({"type": "scatter", "mode": "markers", "x": placed.loc[producers, "lon"].round(4).tolist(),
                   "y": placed.loc[producers, "lat"].round(4).tolist(), "ids": producers,
                   "text": [about(s) for s in producers], "customdata": [d for _c, d in weeks_of[first]],
                   "hovertemplate": template(first), "showlegend": False, "name": "sites",
                   "marker": {"size": sizes[:len(producers)], "color": [c for c, _d in weeks_of[first]],
                              "line": {"color": "white", "width": 1}}})
    if hubs:
        traces.append({"type": "scatter", "mode": "markers", "x": placed.loc[list(hubs), "lon"].round(4).tolist(),
                       "y": placed.loc[list(hubs), "lat"].round(4).tolist(), "text": [about(h) for h in hubs],
                       "hovertemplate": "%{text}<extra></extra>", "name": "logistics hub",
                       "marker": {"size": 12, "color": "#444444", "symbol": "square",
                                  "line": {"color": "white", "width": 1}}})
    for label, colour in STATES.values():
        traces.append({"type": "scatter", "mode": "markers", "x": [None], "y": [None], "name": label,
                       "marker": {"size": 10, "color": colour}, "hoverinfo": "skip"})
    steps = [{"label": w.strftime("%-d %b"), "method": "restyle",
              "args": [{"marker.color": [[c for c, _d in weeks_of[w]]], "customdata": [[d for _c, d in weeks_of[w]]],
                        "hovertemplate": template(w)}, [site_trace]]} for w in weeks]
    lon_all = [x for x in xs if x is not None] + placed["lon"].tolist()
    lat_all = [y for y in ys if y is not None] + placed["lat"].tolist()
    layout = base_layout(f"The network, week by week ({words(base).lower()}): what held each site most",
                     height=720, hovermode="closest", showlegend=True,
                     xaxis={"visible": False, "range": [min(lon_all) - 0.3, max(lon_all) + 0.3]},
                     yaxis={"visible": False, "range": [min(lat_all) - 0.3, max(lat_all) + 0.3],
                            "scaleanchor": "x", "scaleratio": 1 / math.cos(math.radians(MID_LATITUDE))},
                     sliders=[{"active": 0, "steps": steps, "currentvalue": {"prefix": "Week of "},
                               "pad": {"t": 30}, "len": 0.95}])
    layout["legend"] = {"orientation": "v", "x": 1.0, "xanchor": "right", "y": 1.0, "bgcolor": "rgba(255,255,255,0.8)"}
    layout["margin"] = {"l": 10, "r": 10, "t": 50, "b": 10}
    return Interactive(
        "network_map", layout["title"]["text"],
        "Each dot is a site (size: masks out over the run), coloured by what its main stage did most of the week's "
        "shift time; lines are the scenario's routes, wider for more masks carried. Move the slider through the "
        "weeks; hover a site or the middle of a route for its figures. Sites without a location in the scenario "
        "(and the members of groups) are spread inside their region. Region outlines: Natural Earth "
        "(public domain).", {"data": traces, "layout": layout})


__all__ = ["REGIONS_FILE", "network_map", "place_sites", "regions", "route_volumes"]
