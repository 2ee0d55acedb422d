"""Load region sets from the data airshield knows about, or from a file.

Sources:

``"natural-earth"``
    Natural Earth 4.1.0 admin-1 boundaries (public domain), as shipped in
    Debian's ``qgis-common`` package and fetched by ``make data`` into
    ``<repo>/.cache/natural-earth/world_map.gpkg``: layer ``states_provinces``,
    ``iso_a2 = 'UA'`` plus Crimea and Sevastopol (Natural Earth files them
    under RU; ISO 3166-2:UA and Ukraine's alert service list them): 27
    regions. Generalised boundaries; the file is small and loads fast. Ids
    come from the ``fips`` column through `airshield.geo.fips.FIPS_TO_ISO`.
``"geoboundaries"``
    geoBoundaries ADM1 for Ukraine, derived from OpenStreetMap (ODbL-1.0), in
    ``<shared>/data/geo/ukraine-adm1-geoboundaries.geojson``: 27 regions,
    properties ``shapeISO`` (ISO 3166-2) and ``shapeName``.
``"default"``
    natural-earth if its file is there, else geoboundaries (logs a warning).
a path
    A GeoJSON FeatureCollection (.geojson, .json) or a GeoPackage (.gpkg,
    one feature layer) in WGS84 lon/lat, with properties (columns) ``id``,
    ``name``, ``name_uk``, ``level``, ``parent``. geoBoundaries names are
    accepted too: ``shapeISO`` for id, ``shapeName`` for name, ``shapeType``
    ADM1/ADM2/ADM3 for level oblast/raion/hromada. Only ``id`` is required when
    it is an ISO 3166-2:UA code (names and level "oblast" then come from
    `airshield.geo.names_uk.OBLASTS`); other regions also need ``name`` and
    ``level``. A ``parent`` not in the file is allowed (a file of raions only).

All first-level regions, Kyiv city and Sevastopol included (they are
first-level units in ISO 3166-2:UA and in the Constitution, art. 133), get level
"oblast" and, where the ISO code is known, the names of `OBLASTS`, so every
source names a region the same way.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon, shape

from airshield.geo import geopackage
from airshield.geo.fips import FIPS_TO_ISO
from airshield.geo.names_uk import OBLASTS
from airshield.geo.paths import natural_earth_path, shared_dir
from airshield.geo.regions import Region, RegionSet
from airshield.geo.theatre import Theatre, beyond_reach

#: The credit of a user's own areas whose file names none (never the file's path: the
#: credit is public, on the map and in /v1/regions.geojson).
OWN_AREAS_ATTRIBUTION = "own alert areas (no attribution given)"
#: What a region id may not hold: CAP 1.2 3.2.1 forbids these in an <identifier>, and an
#: alert's identifier carries its region's id (alerting.cap uses the same pattern).
BAD_ID_CHARS = re.compile(r"[\s,<&]")
#: The longest region id: the API's `region=` query takes at most this many characters.
MAX_ID_LEN = 64

log = logging.getLogger(__name__)

NATURAL_EARTH = "natural-earth"
GEOBOUNDARIES = "geoboundaries"
#: Crimea and Sevastopol, which Natural Earth files under RU (see load_natural_earth).
CRIMEA_FIPS = ("UP11", "UP20")
NATURAL_EARTH_ATTRIBUTION = "Natural Earth (public domain), via Debian qgis-common"
# geoBoundaries (https://www.geoboundaries.org) is derived from OpenStreetMap and
# licensed ODbL-1.0, which requires this credit wherever the boundaries are shown.
GEOBOUNDARIES_ATTRIBUTION = "© OpenStreetMap contributors, geoBoundaries"
GEOBOUNDARIES_FILE = Path("data") / "geo" / "ukraine-adm1-geoboundaries.geojson"
NATURAL_EARTH_LAYER = "states_provinces"
OBLAST = "oblast"
GEOBOUNDARIES_LEVELS = {"ADM1": OBLAST, "ADM2": "raion", "ADM3": "hromada"}


def load_regions(
    source: str | os.PathLike[str] = "default", theatre: Theatre | None = None, data: bytes | None = None
) -> RegionSet:
    """Load the regions of `source` (see the module docstring) into a RegionSet.

    Args:
        source: "natural-earth", "geoboundaries", "default", or a file path.
        theatre: the metric frame; default `Theatre.ukraine()`.
        data: the bytes of the file `source` names, read instead of it (an event log's copy).

    Raises:
        FileNotFoundError: the file is missing (for natural-earth: run `make data`).
        ValueError: the file lacks the layer, a column or a property, or holds
            something unexpected; the message names the file and the problem.
    """
    theatre = theatre or Theatre.ukraine()
    if data is not None:
        return load_region_file(source, theatre, data=data)
    if source == "default":
        path = natural_earth_path()
        if path.is_file():
            return load_natural_earth(path, theatre)
        log.warning("%s not found (run `make data`); using the geoBoundaries regions", path)
        return load_geoboundaries(theatre=theatre)
    if source == NATURAL_EARTH:
        return load_natural_earth(theatre=theatre)
    if source == GEOBOUNDARIES:
        return load_geoboundaries(theatre=theatre)
    path = Path(source)
    if path.suffix.lower() not in (".geojson", ".json", ".gpkg"):
        raise ValueError(
            f"unknown region source {str(source)!r}: expected 'natural-earth', 'geoboundaries', "
            "'default', or a path to a .geojson, .json or .gpkg file"
        )
    return load_region_file(path, theatre)


def load_natural_earth(path: Path | None = None, theatre: Theatre | None = None) -> RegionSet:
    """Ukraine's 27 regions from the Natural Earth GeoPackage (ids via FIPS).

    Natural Earth files Crimea (FIPS UP11) and Sevastopol (UP20) under
    ``iso_a2 = 'RU'``; they are read by their FIPS codes, because they are
    Ukrainian regions (ISO 3166-2:UA) and Ukraine's alerts cover them.
    """
    path = path or natural_earth_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: Natural Earth GeoPackage not found; run `make data` to fetch it "
            "(or use load_regions('geoboundaries'))"
        )
    features = geopackage.read_layer(
        path, NATURAL_EARTH_LAYER, columns=["fips", "name"], where={"iso_a2": "UA"}
    )
    for fips in CRIMEA_FIPS:
        features += geopackage.read_layer(
            path, NATURAL_EARTH_LAYER, columns=["fips", "name"], where={"fips": fips}
        )
    if not features:
        raise ValueError(
            f"{path}: layer {NATURAL_EARTH_LAYER!r} has no features with iso_a2 = 'UA'"
        )
    regions = []
    for props, geom in features:
        fips, ne_name = props["fips"], props["name"]
        if fips not in FIPS_TO_ISO:
            raise ValueError(f"{path}: unknown FIPS code {fips!r} (region {ne_name!r})")
        iso, expected_name = FIPS_TO_ISO[fips]
        if ne_name != expected_name:
            raise ValueError(
                f"{path}: FIPS {fips} is named {ne_name!r}, but the FIPS to ISO table was "
                f"checked against {expected_name!r}; check airshield/geo/fips.py"
            )
        en, uk = OBLASTS[iso]
        regions.append(Region(iso, en, uk, OBLAST, None, geom))
    return RegionSet(
        regions, theatre or Theatre.ukraine(), NATURAL_EARTH, NATURAL_EARTH_ATTRIBUTION
    )


def load_geoboundaries(path: Path | None = None, theatre: Theatre | None = None) -> RegionSet:
    """Ukraine's 27 first-level regions from geoBoundaries (shared data folder)."""
    path = path or shared_dir() / GEOBOUNDARIES_FILE
    regions = [_region(props, geom, path, i) for i, (props, geom) in enumerate(read_geojson(path))]
    return RegionSet(
        regions, theatre or Theatre.ukraine(), GEOBOUNDARIES, GEOBOUNDARIES_ATTRIBUTION
    )


def load_region_file(path: str | os.PathLike[str], theatre: Theatre | None = None, *,
                     data: bytes | None = None) -> RegionSet:
    """Regions from a GeoJSON or GeoPackage file with id/name/name_uk/level/parent.

    The file is read once; its bytes are kept as ``RegionSet.data`` so that an
    event log can hold the very regions a night was alerted for (replay needs
    neither the file nor that it is unchanged). ``data``: those bytes, read
    instead of the file (``path`` then only names it, in messages).
    """
    path = Path(path)
    if data is None:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such region file")
        wal = path.with_name(path.name + "-wal")
        if path.suffix.lower() == ".gpkg" and wal.is_file() and wal.stat().st_size > 0:
            # QGIS edits a GeoPackage in WAL mode: the file alone lacks the latest edits.
            raise ValueError(f"{path}: it is open for editing ({wal.name} holds changes the file does not "
                             "have yet); save and close it, then try again")
        data = path.read_bytes()
    if path.suffix.lower() == ".gpkg":
        # SQLite reads files, not bytes: a private copy (errors still name ``path``).
        with tempfile.TemporaryDirectory(prefix="airshield-regions-") as tmp:
            copy = Path(tmp) / "regions.gpkg"
            copy.write_bytes(data)
            try:
                features = geopackage.read_layer(copy)
            except ValueError as exc:
                raise ValueError(str(exc).replace(str(copy), str(path))) from None
        attribution = OWN_AREAS_ATTRIBUTION
    else:
        features, attribution = _parse_feature_collection(data, path)
    regions = [_region(props, geom, path, i) for i, (props, geom) in enumerate(features)]
    if not regions:
        raise ValueError(f"{path}: no regions in the file")
    rs = RegionSet(regions, theatre or Theatre.ukraine(), str(path), attribution)
    _check_in_theatre(rs, [r.id for r in regions], path)
    rs.data = data
    return rs


def _check_in_theatre(rs: RegionSet, ids: list[str], path: Path) -> None:
    """Refuse areas that could never alert: outside the theatre, or with no area once projected."""
    for i, rid in enumerate(ids):
        g = rs.geometry_xy(rid)
        where = f"{path}: feature {i} ({rid})"
        if g.is_empty or not g.is_valid or g.area <= 0.0:
            raise ValueError(f"{where} has no area in the theatre's frame: is it far outside Ukraine, "
                             "or wider than a continent?")
        p = g.representative_point()
        # (The frame is azimuthal equidistant: this is the true distance from the centre.)
        far = beyond_reach(float(np.hypot(p.x, p.y)))
        if far:
            raise ValueError(f"{where} {far}: are longitude and latitude swapped? GeoJSON gives "
                             "[longitude, latitude]")


def read_geojson(path: Path) -> list[tuple[dict[str, Any], Any]]:
    """(properties, shapely geometry) of each feature of a GeoJSON FeatureCollection.

    Coordinates must be WGS84 lon/lat (RFC 7946); a legacy ``crs`` member
    naming anything else is refused.
    """
    return _read_feature_collection(path)[0]


def _read_feature_collection(path: Path) -> tuple[list[tuple[dict[str, Any], Any]], str]:
    """(features, attribution) of a GeoJSON file; see `read_geojson`."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such GeoJSON file")
    return _parse_feature_collection(path.read_bytes(), path)


def _parse_feature_collection(raw: bytes, path: Path) -> tuple[list[tuple[dict[str, Any], Any]], str]:
    """(features, attribution) of the bytes of a GeoJSON file named ``path``.

    The attribution is the collection's ``attribution`` member if it has one (a
    foreign member, RFC 7946 section 6.1), the geoBoundaries credit for a
    geoBoundaries file, else "unknown".
    """
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid GeoJSON ({exc})") from exc
    except RecursionError:
        raise ValueError(f"{path}: not valid GeoJSON (nested too deeply)") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: expected a GeoJSON FeatureCollection")
    crs = ((data.get("crs") or {}).get("properties") or {}).get("name", "CRS84")
    if not any(tag in str(crs).upper() for tag in ("CRS84", "4326")):
        raise ValueError(f"{path}: coordinates must be WGS84 lon/lat, the file says crs {crs!r}")
    listed = data.get("features")
    if listed is not None and not isinstance(listed, list):
        raise ValueError(f"{path}: \"features\" must be a list (a JSON array) of Feature objects, "
                         f"got {_JSON_KINDS.get(type(listed), 'something else')}")
    features = []
    for i, feature in enumerate(listed or []):
        if not isinstance(feature, dict) or not feature.get("geometry"):
            raise ValueError(f"{path}: feature {i} has no geometry")
        try:
            with warnings.catch_warnings():  # a NaN coordinate: refused below, by name
                warnings.simplefilter("ignore", RuntimeWarning)
                geom = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{path}: feature {i} has a bad geometry ({exc})") from exc
        if not np.isfinite(shapely.get_coordinates(geom)).all():
            raise ValueError(f"{path}: feature {i} has a coordinate that is not a finite number (NaN or "
                             "Infinity)")
        features.append((dict(feature.get("properties") or {}), geom))
    attribution = data.get("attribution")
    if not isinstance(attribution, str) or not attribution:
        geoboundaries = bool(features) and "shapeID" in features[0][0]
        attribution = (
            GEOBOUNDARIES_ATTRIBUTION if geoboundaries else OWN_AREAS_ATTRIBUTION
        )
    return features, attribution


#: What a JSON value decoded to, in JSON's words (for messages).
_JSON_KINDS = {dict: "an object", str: "a string", int: "a number", float: "a number", bool: "true or false"}

#: The largest circle a point feature may ask for, km: an alert area, not half the country.
MAX_CIRCLE_KM = 300.0
#: Vertices of a circle's polygon: 5 deg apart, the chord lies within 0.1 % of the radius.
CIRCLE_VERTICES = 72


def _circle(point: Any, radius_km: Any, where: str) -> Polygon:
    """The disc of ``radius_km`` around a GeoJSON Point (lon, lat), as a lon/lat polygon.

    A site (a port, a substation) is given as its position and a radius. The
    vertices lie at the true (WGS84 geodesic) distance from the point: they are
    placed in an azimuthal equidistant frame centred on the point itself, which
    keeps distances from its centre exact.
    """
    if isinstance(radius_km, bool) or not isinstance(radius_km, int | float) or not (
            0.0 < float(radius_km) <= MAX_CIRCLE_KM):
        raise ValueError(f"{where} is a point: give it a 'radius_km' property (a number of km in "
                         f"(0, {MAX_CIRCLE_KM:g}]) to alert the circle around it, or give a polygon; "
                         f"radius_km is {radius_km!r}")
    lon, lat = float(point.x), float(point.y)
    if not (-90.0 < lat < 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"{where}: the point ({lon}, {lat}) is not a WGS84 lon/lat position")
    a = np.linspace(0.0, 2.0 * np.pi, CIRCLE_VERTICES, endpoint=False)
    r = 1000.0 * float(radius_km)
    lats, lons = Theatre(lat, lon).to_latlon(r * np.sin(a), r * np.cos(a))
    return Polygon(np.column_stack([lons, lats]))


def _text(props: Mapping[str, Any], *keys: str) -> str | None:
    """The first of `keys` with a non-empty value, as a stripped string."""
    for key in keys:
        value = props.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def _region(props: Mapping[str, Any], geom: Any, path: Path, index: int) -> Region:
    """A Region from one feature's properties (see the module docstring)."""
    where = f"{path}: feature {index}"
    region_id = _text(props, "id", "shapeISO")
    if region_id is None:
        raise ValueError(
            f"{where} has no 'id' (or 'shapeISO') property; properties: {sorted(props)}"
        )
    if BAD_ID_CHARS.search(region_id) or len(region_id) > MAX_ID_LEN:
        # The id names the region in every alert: in CAP <identifier>s (CAP 1.2 3.2.1 forbids
        # spaces, commas, '<' and '&' there) and in the API's `region=` queries.
        raise ValueError(f"{where}: the id {region_id!r} cannot name alerts: use at most {MAX_ID_LEN} "
                         "characters without spaces, commas, '<' or '&' (e.g. 'kharkiv-centre')")
    known = OBLASTS.get(region_id)
    name = _text(props, "name") or (known.en if known else _text(props, "shapeName"))
    if name is None:
        raise ValueError(f"{where} ({region_id}) has no 'name' (or 'shapeName') property")
    name_uk = _text(props, "name_uk") or (known.uk if known else name)
    level = _text(props, "level") or GEOBOUNDARIES_LEVELS.get(_text(props, "shapeType") or "")
    if level is None and known:
        level = OBLAST
    if level is None:
        raise ValueError(f"{where} ({region_id}) has no 'level' property")
    parent = _text(props, "parent")
    if geom.geom_type == "Point":
        geom = _circle(geom, props.get("radius_km"), f"{where} ({region_id})")
    try:
        return Region(region_id, name, name_uk, level, parent, geom)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from exc
