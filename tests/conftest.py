"""Shared fixtures: simulated nights are made once per test session."""

from __future__ import annotations

import pytest

from airshield.sim import load_scenario, simulate


@pytest.fixture(scope="session")
def night40():
    """The night-40 scenario with its own seed (not written to disk)."""
    return simulate(load_scenario("night-40"))


@pytest.fixture(scope="session")
def missiles():
    """The missiles scenario: Iskander-M at Kharkiv, Kalibr at Odesa."""
    return simulate(load_scenario("missiles"))


@pytest.fixture
def own_areas(tmp_path):
    """A file of alert areas of a user's own, nested: Sumy and Poltava oblasts, a raion-like
    area in Sumy oblast, and a site (a circle of 10 km around Sumy city, where the tiny
    night's drones go)."""
    import json

    import shapely

    from airshield.geo import load_regions

    rs = load_regions()
    feats = [{"type": "Feature", "properties": {"id": rid},
              "geometry": shapely.geometry.mapping(rs[rid].geometry)} for rid in ("UA-53", "UA-59")]
    feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
        [[34.2, 50.6], [35.4, 50.6], [35.4, 51.2], [34.2, 51.2], [34.2, 50.6]]]},
        "properties": {"id": "UA59080000000000000", "name": "Sumy raion (box)", "name_uk": "Сумський район",
                       "level": "raion", "parent": "UA-59"}})
    feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [34.80, 50.91]},
                  "properties": {"id": "sumy-substation", "name": "Sumy substation",
                                 "name_uk": "Сумська підстанція", "level": "site",
                                 "parent": "UA59080000000000000", "radius_km": 10}})
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "attribution": "test areas",
                                "features": feats}), encoding="utf-8")
    return path
