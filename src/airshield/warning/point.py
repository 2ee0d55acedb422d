"""When a threat may reach a point anyone names: a port, a substation, a home.

Cities get their ETAs from the picture (``ThreatPicture.places``); a port or a
power plant is not in that list, and the region's ETA says when a threat may
enter the region, which can be an hour before it comes near the site. This is
the same cone arithmetic (:func:`airshield.warning.prediction.impacts`) against
one point and a radius: the earliest plausible arrival (the cone first comes
within ``radius_m``), the nominal one (the path itself does) and the latest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from airshield.warning.prediction import Paths, impacts


@dataclass(frozen=True)
class PointEta:
    """When one threat may reach a point (absolute times, s).

    Attributes:
        t_lo: earliest plausible arrival: the cone comes within the radius.
        t_in: nominal arrival: the predicted path does; None if it passes by.
        t_hi: latest plausible arrival; None when the path passes by.
        t_last: the cone last touches the point's circle.
    """

    t_lo: float
    t_in: float | None
    t_hi: float | None
    t_last: float


def point_eta(path: Paths, x: float, y: float, radius_m: float, cone_k: float,
              r_cap: float = math.inf) -> PointEta | None:
    """When the threat of ``path`` (one track's predicted points) may come within ``radius_m``
    of the point (x, y) in the theatre's frame (m); None if its cone never does.

    Args:
        path: one track's path (``ThreatPicture.path_of``).
        x, y: the point, m. radius_m: how near counts as reached, m (>= 0).
        cone_k, r_cap: as the picture predicts (``WarningConfig.cone_k``, the region
            raster's margin), so that a point and a city get the same answer.
    """
    if path.t.size == 0:
        return None
    d = np.hypot(path.x - x, path.y - y) - radius_m  # signed: negative within the radius
    if not np.any(d <= np.minimum(path.r, r_cap)):
        return None  # the cone never comes near (most threats, for any one point): skip the rest
    pi = np.arange(path.t.size)
    imp = impacts(path, pi, np.zeros(pi.size, dtype=np.int64), d, cone_k, r_cap=r_cap)
    if imp.t_lo.size == 0:
        return None
    t_in, t_hi = float(imp.t_in[0]), float(imp.t_hi[0])
    return PointEta(float(imp.t_lo[0]), None if math.isnan(t_in) else t_in, None if math.isnan(t_hi) else t_hi,
                    float(imp.t_last[0]))


class PointIndex:
    """Many threats' paths at once, for point queries against all of them (the service's
    ``/v1/concern``): one vectorised distance test over every predicted point finds the few
    threats whose cone comes near; only those get :func:`point_eta`'s full arithmetic.

    Args:
        paths: one :class:`Paths` per threat (each one track's).
    """

    def __init__(self, paths: list[Paths]):
        self.paths = list(paths)
        n = np.array([p.t.size for p in self.paths], dtype=np.int64)
        self._owner = np.repeat(np.arange(len(self.paths)), n)
        cat = (lambda f: np.concatenate([f(p) for p in self.paths])) if self.paths else (lambda f: np.zeros(0))
        self._x, self._y, self._r = cat(lambda p: p.x), cat(lambda p: p.y), cat(lambda p: p.r)

    def etas(self, x: float, y: float, radius_m: float, cone_k: float,
             r_cap: float = math.inf) -> list[tuple[int, PointEta]]:
        """(index into ``paths``, arrival) of every threat whose cone may come within
        ``radius_m`` of (x, y), in index order."""
        near = np.hypot(self._x - x, self._y - y) - radius_m <= np.minimum(self._r, r_cap)
        out = []
        for i in np.unique(self._owner[near]).tolist():
            e = point_eta(self.paths[i], x, y, radius_m, cone_k, r_cap)
            if e is not None:
                out.append((i, e))
        return out
