"""A metric frame for a country-wide theatre.

WGS84 degrees are for the edges of the system; inside, positions are metres in
a local frame (see docs/architecture.md, "Conventions"). The frame is the
azimuthal equidistant projection on the WGS84 ellipsoid centred on the theatre
(PROJ ``aeqd``): distances and bearings from the centre are exact, and the scale
error grows with the square of the distance rho from it: about (rho / R)**2 / 6
across the radial direction. Ukraine's far west and east ends are 670 km from
the centre, where that is 0.19 %, so distances between any two points in the
country are right to better than 0.3 % (tests/test_geo_theatre.py checks this
against geodesics), with no flat-earth shortcut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer

# Centre of the Ukraine theatre: 48.4 N, 31.2 E, about the middle of the
# country's extent (22.1-40.2 E, 44.2-52.4 N), 80 km west of Kropyvnytskyi; no
# point of the country is more than 671 km from it (the geoBoundaries outline).
UKRAINE_CENTRE = (48.4, 31.2)
#: How far from the theatre's centre a report or an alert area may lie, m. Ukraine reaches
#: 671 km from it and the launch areas ~1,100 km (Shatalovo, Volgodonsk); a report at
#: "null island" (0, 0) or an area with latitude and longitude swapped lies 2,000+ km out.
REACH_M = 1_500_000.0


def beyond_reach(distance_m: float) -> str | None:
    """Why a point ``distance_m`` from the theatre's centre is refused (the words every refusal
    uses), or None within reach."""
    if distance_m <= REACH_M:
        return None
    return f"lies {distance_m / 1000:,.0f} km from the theatre's centre (at most {REACH_M / 1000:,.0f} km)"


@lru_cache(maxsize=64)
def _transformers(lat0: float, lon0: float) -> tuple[Transformer, Transformer]:
    """(forward lon/lat -> x/y, inverse) for the frame centred on (lat0, lon0).

    Cached: building a Transformer costs milliseconds, applying it microseconds.
    pyproj >= 3.1 Transformers are safe to share between threads (each thread
    gets its own PROJ context; pyproj issue #782).
    """
    crs = CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat0!r} +lon_0={lon0!r} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    )
    forward = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inverse = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return forward, inverse


def local_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance between two WGS84 points, m, on the equirectangular approximation: within
    0.5 % of the geodesic up to some tens of km (a quick test, not a measurement)."""
    dy = math.radians(lat2 - lat1)
    dx = math.radians(lon2 - lon1) * math.cos(math.radians(0.5 * (lat1 + lat2)))
    return 6_371_000.0 * math.hypot(dx, dy)


def _apply(transformer: Transformer, a: Any, b: Any) -> tuple[Any, Any]:
    """Transform (a, b): scalars give floats; anything else gives float64 arrays of the broadcast shape."""
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        u, v = transformer.transform(float(a), float(b), errcheck=False)
        return float(u), float(v)
    a_arr, b_arr = np.broadcast_arrays(
        np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    )
    u, v = transformer.transform(a_arr.ravel(), b_arr.ravel(), errcheck=False)
    return np.asarray(u).reshape(a_arr.shape), np.asarray(v).reshape(a_arr.shape)


@dataclass(frozen=True)
class Theatre:
    """Azimuthal equidistant frame (WGS84 ellipsoid) centred on (lat0, lon0).

    x points east, y north, both in metres; the centre is (0, 0).

    Attributes:
        lat0: latitude of the centre, degrees north.
        lon0: longitude of the centre, degrees east.
    """

    lat0: float
    lon0: float

    def __post_init__(self) -> None:
        lat0, lon0 = float(self.lat0), float(self.lon0)
        if not (math.isfinite(lat0) and -90.0 <= lat0 <= 90.0):
            raise ValueError(f"Theatre: lat0 must be in [-90, 90] degrees, got {self.lat0!r}")
        if not (math.isfinite(lon0) and -180.0 <= lon0 <= 180.0):
            raise ValueError(f"Theatre: lon0 must be in [-180, 180] degrees, got {self.lon0!r}")
        object.__setattr__(self, "lat0", lat0)
        object.__setattr__(self, "lon0", lon0)

    @classmethod
    def ukraine(cls) -> Theatre:
        """The Ukraine theatre, centred on 48.4 N, 31.2 E (middle of the country's extent)."""
        return cls(*UKRAINE_CENTRE)

    @property
    def crs(self) -> CRS:
        """The projected CRS of the frame (pyproj)."""
        return _transformers(self.lat0, self.lon0)[0].target_crs

    def to_xy(self, lat: Any, lon: Any) -> tuple[Any, Any]:
        """Degrees to metres.

        Args:
            lat, lon: WGS84 latitude and longitude in degrees; scalars or
                array-likes of broadcastable shapes.

        Returns:
            (x, y) in metres east and north of the centre: floats for scalar
            input, else float64 arrays of the broadcast shape. NaN in, NaN out.
        """
        return _apply(_transformers(self.lat0, self.lon0)[0], lon, lat)

    def distance_from_centre_m(self, lat: Any, lon: Any) -> Any:
        """Great-circle distance from the centre, m (haversine on a 6,371 km sphere);
        scalars or arrays, vectorised."""
        la, lo = np.radians(lat), np.radians(lon)
        la0, lo0 = math.radians(self.lat0), math.radians(self.lon0)
        h = np.sin(0.5 * (la - la0)) ** 2 + np.cos(la) * math.cos(la0) * np.sin(0.5 * (lo - lo0)) ** 2
        return 2.0 * 6_371_000.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))

    def to_latlon(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Metres to degrees: the inverse of `to_xy`, returning (lat, lon), same shapes."""
        lon, lat = _apply(_transformers(self.lat0, self.lon0)[1], x, y)
        return lat, lon

    def north_angle(self, lat: Any, lon: Any) -> Any:
        """Grid convergence: the frame bearing of true north at (lat, lon), radians.

        Clockwise from the frame's +y axis. The frame's axes point east and
        north only at the centre; elsewhere true north is turned by this angle
        (about 5 deg at Lviv). A true bearing b (from a compass, a radar's
        azimuth, an ADS-B track) is the frame bearing ``b + north_angle``.
        Floats for scalar input, else arrays.
        """
        lat_a, lon_a = np.broadcast_arrays(np.asarray(lat, dtype=float), np.asarray(lon, dtype=float))
        # One projection call for both points (a call costs more than its points).
        x, y = self.to_xy(np.concatenate([lat_a.ravel(), lat_a.ravel() + 1e-4]),
                          np.concatenate([lon_a.ravel(), lon_a.ravel()]))
        n = lat_a.size
        g = np.arctan2(x[n:] - x[:n], y[n:] - y[:n]).reshape(lat_a.shape)
        return float(g) if g.ndim == 0 else g

    def geometry_to_xy(self, geom: Any) -> Any:
        """A shapely geometry (or array of them) in lon/lat degrees, in the metric frame.

        Every vertex is projected (vectorised with `shapely.transform`); edges
        stay straight lines between projected vertices, which for the short
        edges of boundary data is within metres of the true geodesic.
        """
        forward = _transformers(self.lat0, self.lon0)[0]

        def project(coords: np.ndarray) -> np.ndarray:
            x, y = forward.transform(coords[:, 0], coords[:, 1], errcheck=False)
            return np.column_stack([x, y])

        return shapely.transform(geom, project)

    def geometry_to_latlon(self, geom: Any) -> Any:
        """The inverse of `geometry_to_xy`: a metric-frame geometry back in lon/lat degrees."""
        inverse = _transformers(self.lat0, self.lon0)[1]

        def unproject(coords: np.ndarray) -> np.ndarray:
            lon, lat = inverse.transform(coords[:, 0], coords[:, 1], errcheck=False)
            return np.column_stack([lon, lat])

        return shapely.transform(geom, unproject)
