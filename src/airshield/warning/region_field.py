"""Signed distances from points to regions, for whole arrays of points at once.

The warning layer asks, thousands of times a second on the record night,
"which regions are within r of this predicted point, and how far inside or
outside each is it". Exact polygon distances (shapely) cost microseconds per
point-region pair on detailed boundaries; this module answers from a raster
instead (see docs/decisions/0010-region-distance-raster.md):

* each region gets its own grid over its bounding box plus a margin, holding
  the signed distance to its boundary (negative inside), from scipy's exact
  Euclidean distance transform of the rasterised region;
* a query finds the candidate regions of every point by their boxes (one
  vectorised comparison), then reads the distance by bilinear interpolation.

Accuracy: about half a cell (1 km at the default 2 km cells) near the
boundary; beyond the margin a region counts as "farther than the margin". An
area smaller than a cell holds the one cell it lies in.
Regions are independent, so nested levels (oblast, raion, hromada) just work.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry.base import BaseGeometry


class RegionField:
    """Signed-distance rasters of regions in the theatre frame.

    Args:
        geoms: region id -> (Multi)Polygon in metres (theatre frame).
        res_m: cell size, m.
        margin_m: distances are known out to this far outside each region, m.

    Attributes:
        ids: region ids, sorted; queries return indices into this list.
    """

    def __init__(self, geoms: Mapping[str, BaseGeometry], res_m: float = 1000.0, margin_m: float = 100_000.0):
        self.ids: list[str] = sorted(geoms)
        self.res = float(res_m)
        self.margin = float(margin_m)
        n = len(self.ids)
        self._x0 = np.zeros(n)  # centre of cell (0, 0)
        self._y0 = np.zeros(n)
        self._nx = np.zeros(n, dtype=np.int64)
        self._ny = np.zeros(n, dtype=np.int64)
        self._off = np.zeros(n, dtype=np.int64)
        self._box = np.zeros((n, 4))  # minx, miny, maxx, maxy of the known area
        chunks = []
        off = 0
        for i, rid in enumerate(self.ids):
            g = geoms[rid]
            minx, miny, maxx, maxy = g.bounds
            pad = int(np.ceil(self.margin / self.res)) + 1
            nx = int(np.ceil((maxx - minx) / self.res)) + 2 * pad + 1
            ny = int(np.ceil((maxy - miny) / self.res)) + 2 * pad + 1
            x0 = minx - pad * self.res
            y0 = miny - pad * self.res
            xs = x0 + self.res * np.arange(nx)
            ys = y0 + self.res * np.arange(ny)
            # Rasterise the region's box only (the margin is outside by construction).
            ix = np.flatnonzero((xs >= minx - self.res) & (xs <= maxx + self.res))
            iy = np.flatnonzero((ys >= miny - self.res) & (ys <= maxy + self.res))
            gx, gy = np.meshgrid(xs[ix], ys[iy])
            shapely.prepare(g)
            inside = np.zeros((ny, nx), dtype=bool)
            inside[np.ix_(iy, ix)] = shapely.contains_xy(g, gx, gy)
            if not inside.any():
                # An area smaller than a cell (a site of a few hundred metres) holds no cell
                # centre and would never alert: it takes the cell it lies in.
                p = g.representative_point()
                inside[int(round((p.y - y0) / self.res)), int(round((p.x - x0) / self.res))] = True
            sdf = _signed_distance(inside) * self.res
            chunks.append(sdf.astype(np.float32).ravel())
            self._x0[i], self._y0[i], self._nx[i], self._ny[i], self._off[i] = x0, y0, nx, ny, off
            self._box[i] = (x0, y0, x0 + (nx - 1) * self.res, y0 + (ny - 1) * self.res)
            off += nx * ny
        self._flat = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """Memory held by the rasters, bytes."""
        return int(self._flat.nbytes)

    def rasters(self) -> tuple:
        """(box, x0, y0, nx, ny, off, flat, res): the raw rasters, for compiled kernels (kernels.py)."""
        return self._box, self._x0, self._y0, self._nx, self._ny, self._off, self._flat, self.res

    def near(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (point, region) pair within the margin, with the signed distance.

        Args:
            x, y: (n,) points, m.

        Returns:
            (point index, region index, signed distance in m: negative inside),
            each (p,), sorted by point then region.
        """
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        b = self._box
        cand = ((x[:, None] >= b[None, :, 0]) & (x[:, None] <= b[None, :, 2])
                & (y[:, None] >= b[None, :, 1]) & (y[:, None] <= b[None, :, 3]))
        pi, ri = np.nonzero(cand)
        if pi.size == 0:
            return pi, ri, np.zeros(0)
        fx = (x[pi] - self._x0[ri]) / self.res
        fy = (y[pi] - self._y0[ri]) / self.res
        nx, ny = self._nx[ri], self._ny[ri]
        i0 = np.clip(np.floor(fx).astype(np.int64), 0, nx - 2)
        j0 = np.clip(np.floor(fy).astype(np.int64), 0, ny - 2)
        tx = np.clip(fx - i0, 0.0, 1.0)
        ty = np.clip(fy - j0, 0.0, 1.0)
        base = self._off[ri] + j0 * nx + i0
        f = self._flat
        d = ((1 - ty) * ((1 - tx) * f[base] + tx * f[base + 1])
             + ty * ((1 - tx) * f[base + nx] + tx * f[base + nx + 1]))
        return pi, ri, d.astype(np.float64)

    def distance(self, region: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Signed distance (m) of points to one region; +inf beyond its margin."""
        i = self.ids.index(region)
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        out = np.full(x.size, np.inf)
        pi, ri, d = self.near(x, y)
        sel = ri == i
        out[pi[sel]] = d[sel]
        return out


def _signed_distance(inside: np.ndarray) -> np.ndarray:
    """Signed distance in cells from each cell centre to the region boundary (negative inside).

    The exact Euclidean distance transform gives centre-to-centre distances to
    the nearest cell of the other kind; the boundary lies about half a cell
    before that centre, hence the 0.5.
    """
    if not inside.any():
        return np.full(inside.shape, 1e6)
    d_out = ndimage.distance_transform_edt(~inside)
    d_in = ndimage.distance_transform_edt(inside)
    return np.where(inside, -(d_in - 0.5), d_out - 0.5)
