"""The metric frame: azimuthal equidistant on WGS84, accurate across all of Ukraine."""

import numpy as np
import pytest
import shapely
from pyproj import Geod

from airshield.geo import Theatre

GEOD = Geod(ellps="WGS84")
# Ukraine's extent with Crimea, degrees (geoBoundaries: 22.14-40.23 E, 44.18-52.38 N).
LAT_RANGE = (44.2, 52.4)
LON_RANGE = (22.1, 40.3)


def random_points(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(*LAT_RANGE, n), rng.uniform(*LON_RANGE, n)


def test_ukraine_theatre_is_centred_on_48_4_n_31_2_e():
    theatre = Theatre.ukraine()
    assert (theatre.lat0, theatre.lon0) == (48.4, 31.2)
    x, y = theatre.to_xy(48.4, 31.2)
    assert abs(x) < 1e-6 and abs(y) < 1e-6


def test_x_points_east_and_y_north_in_metres():
    theatre = Theatre.ukraine()
    x_east, y_east = theatre.to_xy(48.4, 32.2)
    x_north, y_north = theatre.to_xy(49.4, 31.2)
    assert x_east == pytest.approx(74_100, rel=0.01) and abs(y_east) < 1_000  # 1 deg lon at 48.4 N
    assert y_north == pytest.approx(111_200, rel=0.01) and abs(x_north) < 1e-6


def test_scalars_in_give_floats_out():
    x, y = Theatre.ukraine().to_xy(50.45, 30.52)
    assert type(x) is float and type(y) is float
    lat, lon = Theatre.ukraine().to_latlon(x, y)
    assert type(lat) is float and type(lon) is float


def test_arrays_in_give_arrays_of_the_broadcast_shape_out():
    theatre = Theatre.ukraine()
    lat = np.full((3, 4), 50.0)
    x, y = theatre.to_xy(lat, [30.0, 31.0, 32.0, 33.0])
    assert x.shape == y.shape == (3, 4)
    assert x.dtype == np.float64
    lat2, lon2 = theatre.to_latlon(x, y)
    assert lat2.shape == (3, 4)
    np.testing.assert_allclose(lon2[1], [30.0, 31.0, 32.0, 33.0], atol=1e-9)


def test_round_trip_to_xy_to_latlon_is_below_a_millimetre():
    theatre = Theatre.ukraine()
    lat, lon = random_points(20_000, seed=1)
    x, y = theatre.to_xy(lat, lon)
    lat2, lon2 = theatre.to_latlon(x, y)
    _, _, error_m = GEOD.inv(lon, lat, lon2, lat2)
    assert np.max(error_m) < 1e-3
    x2, y2 = theatre.to_xy(lat2, lon2)
    assert np.max(np.hypot(x2 - x, y2 - y)) < 1e-3


def test_theatre_distances_match_geodesic_over_1300_km():
    theatre = Theatre.ukraine()
    lat_a, lon_a = random_points(20_000, seed=2)
    lat_b, lon_b = random_points(20_000, seed=3)
    # The longest span of the country: Zakarpattia to the Luhansk border, about 1,330 km.
    lat_a, lon_a = np.append(lat_a, 48.62), np.append(lon_a, 22.30)
    lat_b, lon_b = np.append(lat_b, 49.10), np.append(lon_b, 40.10)
    xa, ya = theatre.to_xy(lat_a, lon_a)
    xb, yb = theatre.to_xy(lat_b, lon_b)
    planar = np.hypot(xb - xa, yb - ya)
    _, _, geodesic = GEOD.inv(lon_a, lat_a, lon_b, lat_b)
    far = geodesic > 10_000  # relative error of very short pairs is noise
    assert geodesic.max() > 1_300_000
    relative = np.abs(planar[far] - geodesic[far]) / geodesic[far]
    assert relative.max() < 0.003


def test_distances_and_bearings_from_the_centre_are_exact():
    theatre = Theatre.ukraine()
    lat, lon = random_points(1_000, seed=4)
    x, y = theatre.to_xy(lat, lon)
    azimuth, _, geodesic = GEOD.inv(np.full_like(lon, 31.2), np.full_like(lat, 48.4), lon, lat)
    np.testing.assert_allclose(np.hypot(x, y), geodesic, rtol=1e-9)
    np.testing.assert_allclose(np.degrees(np.arctan2(x, y)), azimuth, atol=1e-7)


def test_nan_in_gives_nan_out():
    x, y = Theatre.ukraine().to_xy(np.array([np.nan, 50.0]), np.array([30.0, 30.0]))
    assert np.isnan(x[0]) and np.isfinite(x[1])


def test_geometry_to_xy_projects_every_vertex():
    theatre = Theatre.ukraine()
    polygon = shapely.Polygon([(30.0, 50.0), (31.0, 50.0), (31.0, 51.0), (30.0, 51.0)])
    projected = theatre.geometry_to_xy(polygon)
    lon, lat = shapely.get_coordinates(polygon).T
    x, y = theatre.to_xy(lat, lon)
    np.testing.assert_allclose(shapely.get_coordinates(projected), np.column_stack([x, y]))
    back = theatre.geometry_to_latlon(projected)
    np.testing.assert_allclose(
        shapely.get_coordinates(back), shapely.get_coordinates(polygon), atol=1e-9
    )


def test_theatres_with_the_same_centre_are_equal():
    assert Theatre(48.4, 31.2) == Theatre.ukraine()
    assert hash(Theatre(48.4, 31.2)) == hash(Theatre.ukraine())
    assert Theatre(48.4, 31.2) != Theatre(48.4, 31.3)


@pytest.mark.parametrize(("lat0", "lon0"), [(91.0, 30.0), (48.0, 181.0), (float("nan"), 30.0)])
def test_a_centre_off_the_globe_is_rejected(lat0, lon0):
    with pytest.raises(ValueError, match="Theatre"):
        Theatre(lat0, lon0)
