"""Make a file of raion- or hromada-sized alert areas: each oblast cut into cells.

Usage:
    .venv/bin/python bench/make_grid_areas.py --cell-km 45 --out bench/out/areas-45km.geojson

Ukraine's raions (136) and hromadas (1,469) are not in ../shared/data, so
this stands in for them in benchmarks: every oblast of the default regions
(Natural Earth, public domain) is cut into cells of about ``--cell-km`` (45 km:
~470 cells, like raions; 22 km: ~1,550, like hromadas), each cell an area with
its oblast as parent. ``bench_alerts.py --regions FILE`` then alerts them.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import shapely
from shapely.geometry import box, mapping

from airshield.geo import load_regions


def cells(cell_km: float) -> list[dict]:
    """GeoJSON features: each oblast's cells of ~cell_km (smaller than a tenth of a cell: dropped)."""
    rs = load_regions()
    dlat = cell_km / 111.32
    feats = []
    for r in rs:
        g = r.geometry
        minx, miny, maxx, maxy = g.bounds
        dlon = cell_km / (111.32 * math.cos(math.radians(0.5 * (miny + maxy))))
        i = 0
        lat = miny
        while lat < maxy:
            lon, j = minx, 0
            while lon < maxx:
                part = g.intersection(box(lon, lat, lon + dlon, lat + dlat))
                polys = [p for p in shapely.get_parts(part) if p.geom_type == "Polygon"]
                area = sum(p.area for p in polys)
                if area >= 0.1 * dlat * dlon:
                    geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
                    feats.append({"type": "Feature", "geometry": mapping(geom), "properties": {
                        "id": f"{r.id}-{i:02d}{j:02d}", "name": f"{r.name}, cell {i}.{j}",
                        "name_uk": f"{r.name_uk}, квадрат {i}.{j}", "level": "cell", "parent": r.id}})
                lon, j = lon + dlon, j + 1
            lat, i = lat + dlat, i + 1
    return feats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cell-km", type=float, default=45.0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    feats = cells(args.cell_km)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"type": "FeatureCollection", "features": feats,
                                    "attribution": "cells of Natural Earth admin-1 (public domain)"}))
    print(f"{len(feats)} areas of ~{args.cell_km:g} km -> {args.out}")


if __name__ == "__main__":
    main()
