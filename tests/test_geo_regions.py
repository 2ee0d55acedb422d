"""Region sets: loading the oblasts, and which region a point is in."""

import json
import logging
import time

import numpy as np
import pycountry
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box

from airshield.geo import (
    Region,
    RegionSet,
    Theatre,
    load_regions,
    natural_earth_path,
    region_sources,
)
from airshield.geo.fips import FipsRegion

GEOD = Geod(ellps="WGS84")
ISO_UA = {s.code for s in pycountry.subdivisions.get(country_code="UA")}
SOURCES = ["natural-earth", "geoboundaries"]

KYIV = (50.45, 30.52)
LVIV = (49.84, 24.03)
ODESA = (46.48, 30.73)
KHARKIV = (49.99, 36.23)
WARSAW = (52.23, 21.01)
LUBLIN = (51.25, 22.57)  # Poland, 70 km from the Ukrainian border


@pytest.fixture(scope="module")
def geoboundaries():
    return load_regions("geoboundaries")


@pytest.fixture(scope="module")
def natural_earth():
    if not natural_earth_path().is_file():
        pytest.skip(f"{natural_earth_path()} absent (run `make data`)")
    return load_regions("natural-earth")


@pytest.fixture(params=SOURCES)
def regions(request):
    return request.getfixturevalue(request.param.replace("-", "_"))


def write_geojson(path, features, **members):
    collection = {"type": "FeatureCollection", "features": features, **members}
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path


def feature(geom, **properties):
    return {"type": "Feature", "properties": properties, "geometry": shapely.geometry.mapping(geom)}


# -- the oblasts ---------------------------------------------------------------


def test_geoboundaries_loads_27_first_level_regions_with_iso_ids(geoboundaries):
    assert len(geoboundaries) == 27
    assert set(geoboundaries.ids) == ISO_UA
    assert geoboundaries.levels == ["oblast"]
    assert geoboundaries.source == "geoboundaries"
    assert geoboundaries.attribution == "© OpenStreetMap contributors, geoBoundaries"


def test_geoboundaries_kyiv_city_lies_inside_kyiv_oblast_bbox(geoboundaries):
    city = geoboundaries["UA-30"].geometry.bounds
    oblast = geoboundaries["UA-32"].geometry.bounds
    assert oblast[0] < city[0] and oblast[1] < city[1]
    assert city[2] < oblast[2] and city[3] < oblast[3]


def test_natural_earth_loads_all_27_regions_crimea_and_sevastopol_included(natural_earth):
    # Natural Earth files Crimea and Sevastopol under RU; they are Ukraine's regions.
    assert len(natural_earth) == 27
    assert set(natural_earth.ids) == ISO_UA
    assert natural_earth.source == "natural-earth"
    assert "Natural Earth" in natural_earth.attribution


def test_regions_have_english_and_ukrainian_names_and_valid_geometry(regions):
    kyiv = regions["UA-30"]
    assert (kyiv.name, kyiv.name_uk, kyiv.level, kyiv.parent) == ("Kyiv", "Київ", "oblast", None)
    assert regions["UA-32"].name_uk == "Київська область"
    assert regions["UA-51"].name == "Odesa Oblast"
    for region in regions:
        assert region.geometry.is_valid
        assert region.geometry.geom_type in ("Polygon", "MultiPolygon")
        assert region.geometry.bounds[0] > 22.0 and region.geometry.bounds[2] < 40.3


def test_regions_are_sorted_by_id_and_behave_like_a_container(regions):
    assert regions.ids == sorted(regions.ids)
    assert [r.id for r in regions] == regions.ids == [r.id for r in regions.regions]
    assert "UA-46" in regions and "UA-99" not in regions
    assert regions["UA-46"].name == "Lviv Oblast"
    with pytest.raises(KeyError, match="UA-99"):
        regions["UA-99"]
    assert regions.children("UA-32") == []


# -- locating points -------------------------------------------------------------


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        (KYIV, "UA-30"),
        (LVIV, "UA-46"),
        (ODESA, "UA-51"),
        (KHARKIV, "UA-63"),
        (WARSAW, None),
        (LUBLIN, None),
    ],
)
def test_locate_finds_the_region_of_a_city(regions, place, expected):
    assert regions.locate(*place) == expected


def test_kyiv_city_wins_over_kyiv_oblast_where_they_overlap(regions):
    # Whether or not a source cuts Kyiv out of its oblast, the city is the answer.
    assert regions.locate(*KYIV) == "UA-30"
    assert regions.locate(50.45, 30.0) == "UA-32"  # Irpin area, west of the city


def test_locate_is_vectorised_and_keeps_the_shape(regions):
    lat = np.array([[KYIV[0], LVIV[0]], [ODESA[0], WARSAW[0]]])
    lon = np.array([[KYIV[1], LVIV[1]], [ODESA[1], WARSAW[1]]])
    found = regions.locate(lat, lon)
    assert found.shape == (2, 2) and found.dtype == object
    assert found.tolist() == [["UA-30", "UA-46"], ["UA-51", None]]
    x, y = regions.theatre.to_xy(lat, lon)
    assert regions.locate_xy(x, y).tolist() == found.tolist()


def test_locate_of_nan_is_none(regions):
    assert regions.locate(np.array([np.nan, KYIV[0]]), np.array([30.0, KYIV[1]])).tolist() == [
        None,
        "UA-30",
    ]


def test_locate_of_100k_points_agrees_with_shapely_point_by_point(regions):
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(44.0, 52.6, 100_000), rng.uniform(21.9, 40.5, 100_000)
    start = time.perf_counter()
    found = regions.locate(lat, lon)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0  # vectorised: about 0.3 s; a Python loop per point takes minutes
    assert 0.3 < np.mean(found != None) < 0.6  # noqa: E711 (elementwise)
    for i in rng.choice(len(lat), 200, replace=False):
        point = shapely.Point(lon[i], lat[i])
        containing = [r.id for r in regions if r.geometry.covers(point)]
        if found[i] is None:
            assert containing == []
        else:
            assert found[i] in containing


def test_outline_is_the_country(regions):
    outline = regions.outline_xy()
    assert outline is regions.outline_xy()  # computed once
    x, y = regions.theatre.to_xy(
        np.array([KYIV[0], LVIV[0], WARSAW[0]]), np.array([KYIV[1], LVIV[1], WARSAW[1]])
    )
    assert shapely.contains_xy(outline, x, y).tolist() == [True, True, False]
    # Ukraine is 603,600 km2 with Crimea; Natural Earth generalises, and geoBoundaries' coastal regions take in some sea.
    assert 5.5e11 < outline.area < 6.5e11  # m2
    # The frame is not equal-area, but over Ukraine it is within 0.2 % of the ellipsoid.
    ellipsoidal = sum(abs(GEOD.geometry_area_perimeter(r.geometry)[0]) for r in regions)
    projected = sum(regions.geometry_xy(r.id).area for r in regions)
    assert projected == pytest.approx(ellipsoidal, rel=0.002)


def test_geometry_xy_is_the_projected_geometry(regions):
    projected = regions.geometry_xy("UA-46")
    assert projected is regions.geometry_xy("UA-46")
    assert shapely.equals_exact(
        projected, regions.theatre.geometry_to_xy(regions["UA-46"].geometry), 1e-6
    )
    assert 2.0e10 < projected.area < 2.3e10  # Lviv Oblast: 21,800 km2


# -- choosing the source -----------------------------------------------------------


def test_default_is_natural_earth_when_its_file_is_present(natural_earth):
    assert load_regions().source == "natural-earth"


def test_default_falls_back_to_geoboundaries_with_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("AIRSHIELD_NATURAL_EARTH", str(tmp_path / "absent.gpkg"))
    with caplog.at_level(logging.WARNING, logger="airshield.geo"):
        regions = load_regions("default")
    assert regions.source == "geoboundaries" and len(regions) == 27
    assert "absent.gpkg" in caplog.text and "make data" in caplog.text


def test_missing_natural_earth_file_says_to_run_make_data(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRSHIELD_NATURAL_EARTH", str(tmp_path / "absent.gpkg"))
    with pytest.raises(FileNotFoundError, match=r"absent\.gpkg.*make data"):
        load_regions("natural-earth")


def test_natural_earth_names_must_match_the_fips_table(natural_earth, monkeypatch):
    monkeypatch.setitem(region_sources.FIPS_TO_ISO, "UP13", FipsRegion("UA-32", "Kyivska"))
    with pytest.raises(ValueError, match="UP13.*'Kiev'"):
        load_regions("natural-earth")


def test_regions_can_use_another_theatre():
    theatre = Theatre(50.0, 30.0)
    regions = load_regions("geoboundaries", theatre=theatre)
    assert regions.theatre is theatre
    assert regions.locate(*KYIV) == "UA-30"


# -- files of your own ---------------------------------------------------------------


def nested_features():
    """An oblast split into two raions, one with a hromada; all near Vinnytsia."""
    return [
        feature(
            box(28.0, 49.0, 30.0, 50.0),
            id="X-1",
            name="Test Oblast",
            name_uk="Тестова область",
            level="oblast",
        ),
        feature(
            box(28.0, 49.0, 29.0, 50.0), id="X-1-01", name="West Raion", level="raion", parent="X-1"
        ),
        feature(
            box(29.0, 49.0, 30.0, 50.0), id="X-1-02", name="East Raion", level="raion", parent="X-1"
        ),
        feature(
            box(28.2, 49.2, 28.5, 49.5),
            id="X-1-01-1",
            name="Small Hromada",
            level="hromada",
            parent="X-1-01",
        ),
    ]


def test_a_geojson_file_with_nested_levels_locates_the_finest(tmp_path):
    path = write_geojson(tmp_path / "nested.geojson", nested_features(), attribution="test data")
    regions = load_regions(str(path))
    assert regions.source == str(path) and regions.attribution == "test data"
    assert regions.levels == ["hromada", "oblast", "raion"]
    assert [r.id for r in regions.children("X-1")] == ["X-1-01", "X-1-02"]
    assert regions["X-1"].name_uk == "Тестова область"
    assert regions["X-1-02"].name_uk == "East Raion"  # no Ukrainian name given

    lat = np.array([49.3, 49.7, 49.5, 48.0])
    lon = np.array([28.3, 28.7, 29.5, 29.0])
    assert regions.locate(lat, lon).tolist() == ["X-1-01-1", "X-1-01", "X-1-02", None]
    assert regions.locate(lat, lon, level="raion").tolist() == ["X-1-01", "X-1-01", "X-1-02", None]
    assert regions.locate(lat, lon, level="oblast").tolist() == ["X-1", "X-1", "X-1", None]
    with pytest.raises(ValueError, match="'district'.*hromada"):
        regions.locate(lat, lon, level="district")
    # The outline is the top level only.
    assert regions.outline_xy().area == pytest.approx(regions.geometry_xy("X-1").area)


def test_a_site_given_as_a_point_and_radius_is_a_disc_of_that_radius(tmp_path):
    # A port or a substation is known by its position; its alert area is a circle around it.
    site = feature(shapely.Point(30.745, 46.497), id="port-odesa", name="Port of Odesa",
                   level="site", radius_km=5)
    regions = load_regions(write_geojson(tmp_path / "site.geojson", [site]))
    ring = np.asarray(regions["port-odesa"].geometry.exterior.coords)
    _, _, dist = Geod(ellps="WGS84").inv(np.full(len(ring), 30.745), np.full(len(ring), 46.497),
                                         ring[:, 0], ring[:, 1])
    assert np.allclose(dist, 5000.0, atol=0.5)  # every vertex on the geodesic circle
    assert regions.geometry_xy("port-odesa").area == pytest.approx(np.pi * 5000.0 ** 2, rel=0.002)
    assert regions.locate(46.52, 30.745) == "port-odesa"  # 2.5 km north
    assert regions.locate(46.55, 30.745) is None  # 5.9 km north
    assert regions.data == (tmp_path / "site.geojson").read_bytes()  # kept for the event log


@pytest.mark.parametrize("radius", [None, 0, -3, "5", True, 1000])
def test_a_point_without_a_sane_radius_is_a_clear_error(tmp_path, radius):
    props = {"id": "port-odesa", "name": "Port of Odesa", "level": "site"}
    if radius is not None:
        props["radius_km"] = radius
    path = write_geojson(tmp_path / "site.geojson", [feature(shapely.Point(30.745, 46.497), **props)])
    with pytest.raises(ValueError, match=r"site.geojson: feature 0 \(port-odesa\) is a point: .*radius_km"):
        load_regions(path)


@pytest.mark.parametrize(("where", "message"), [
    (shapely.Point(46.497, 30.745), r"lies 2,\d{3} km from the theatre's centre.*swapped"),  # [lat, lon]
    (shapely.Point(151.2, -33.9), r"lies \d+,\d{3} km from the theatre's centre"),  # Sydney
])
def test_an_area_far_outside_the_theatre_is_refused(tmp_path, where, message):
    site = feature(where, id="port", name="Port", level="site", radius_km=5)
    with pytest.raises(ValueError, match=r"site.geojson: feature 0 \(port\) " + message):
        load_regions(write_geojson(tmp_path / "site.geojson", [site]))


def test_nesting_decides_before_area():
    # A child drawn larger than its parent (bad data) still wins where they overlap.
    theatre = Theatre.ukraine()
    parent = Region("P", "Parent", "Parent", "oblast", None, box(30.0, 49.0, 30.5, 49.5))
    child = Region("C", "Child", "Child", "raion", "P", box(30.0, 49.0, 31.0, 50.0))
    regions = RegionSet([parent, child], theatre, "test", "")
    assert regions.locate(49.2, 30.2) == "C"


def test_overlapping_regions_of_the_same_depth_prefer_the_smaller(tmp_path):
    theatre = Theatre.ukraine()
    big = Region("A-BIG", "Big", "Big", "oblast", None, box(30.0, 49.0, 31.0, 50.0))
    small = Region("Z-SMALL", "Small", "Small", "oblast", None, box(30.4, 49.4, 30.6, 49.6))
    for order in ([big, small], [small, big]):
        regions = RegionSet(order, theatre, "test", "")
        assert regions.locate(49.5, 30.5) == "Z-SMALL"
        assert regions.locate(49.1, 30.1) == "A-BIG"


def test_a_file_with_geoboundaries_properties_gets_names_from_the_oblast_table(tmp_path):
    features = [feature(box(30.0, 49.0, 31.0, 50.0), shapeISO="UA-71", shapeName="Cherkasy Oblast")]
    regions = load_regions(write_geojson(tmp_path / "one.json", features))
    assert (regions["UA-71"].name_uk, regions["UA-71"].level) == ("Черкаська область", "oblast")


def test_an_invalid_polygon_is_repaired():
    bowtie = shapely.Polygon([(30, 49), (31, 50), (31, 49), (30, 50)])
    region = Region("B", "Bowtie", "Bowtie", "oblast", None, bowtie)
    assert region.geometry.is_valid and region.geometry.area == pytest.approx(0.5)


# -- errors ------------------------------------------------------------------------


def test_a_missing_file_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.geojson"):
        load_regions(str(tmp_path / "missing.geojson"))


def test_an_unknown_source_lists_the_choices():
    with pytest.raises(ValueError, match="natural-earth.*geoboundaries"):
        load_regions("openstreetmap")


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            [feature(box(30, 49, 31, 50), name="No id", level="oblast")],
            r"feature 0 has no 'id'.*\['level', 'name'\]",
        ),
        ([feature(box(30, 49, 31, 50), id="R-1", level="raion")], r"R-1.*no 'name'"),
        ([feature(box(30, 49, 31, 50), id="R-1", name="No level")], r"R-1.*no 'level'"),
        ([feature(shapely.Point(30, 49), id="R-1", name="Point", level="city")], r"R-1.*point.*radius_km.*polygon"),
        ([], "no regions"),
        ([feature(shapely.LineString([(30, 49), (31, 50)]), id="R-1", name="Line", level="raion")],
         r"R-1.*got LineString"),
        # An id names its region's alerts, CAP identifiers included (CAP 1.2 3.2.1).
        ([feature(box(30, 49, 31, 50), id="kharkiv centre", name="Centre", level="raion")],
         r"feature 0: the id 'kharkiv centre' cannot name alerts"),
        ([feature(box(30, 49, 31, 50), id="A&B", name="A and B", level="raion")], r"the id 'A&B' cannot"),
        ([feature(box(30, 49, 31, 50), id="x" * 65, name="Long", level="raion")], r"at most 64 characters"),
    ],
)
def test_bad_properties_are_reported_with_the_file_and_feature(tmp_path, features, message):
    path = write_geojson(tmp_path / "bad.geojson", features)
    with pytest.raises(ValueError, match=message) as excinfo:
        load_regions(str(path))
    assert "bad.geojson" in str(excinfo.value)


def test_not_a_feature_collection_is_refused(tmp_path):
    path = tmp_path / "geometry.geojson"
    path.write_text(json.dumps({"type": "Polygon", "coordinates": []}))
    with pytest.raises(ValueError, match="FeatureCollection"):
        load_regions(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid GeoJSON"):
        load_regions(path)


def test_features_that_are_not_a_list_are_named_as_such(tmp_path):
    path = tmp_path / "areas.geojson"
    path.write_text('{"type": "FeatureCollection", "features": {"type": "Feature"}}')
    with pytest.raises(ValueError, match=r'"features" must be a list .* got an object'):
        load_regions(path)


def test_a_projected_geojson_is_refused(tmp_path):
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    path = write_geojson(tmp_path / "mercator.geojson", nested_features(), crs=crs)
    with pytest.raises(ValueError, match="WGS84"):
        load_regions(path)


def test_duplicate_ids_are_refused():
    square = box(30.0, 49.0, 31.0, 50.0)
    twins = [
        Region("T", "One", "One", "oblast", None, square),
        Region("T", "Two", "Two", "oblast", None, square),
    ]
    with pytest.raises(ValueError, match=r"duplicate region ids \['T'\]"):
        RegionSet(twins, Theatre.ukraine(), "test", "")
