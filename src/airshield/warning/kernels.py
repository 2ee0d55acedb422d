"""Region impacts of predicted paths, compiled (numba): the warning layer's hot loop.

:func:`region_impacts` does what ``RegionField.near`` followed by
``prediction.impacts`` does (the readable numpy reference, which the tests
compare it with), in one pass over the path points: for each point, the
regions whose raster box holds it, the bilinear signed distance, and the
running first / last touch of each (track, region) pair. On the record night
the numpy pair costs ~1 ms a call in small-array overhead, and the picture is
updated thousands of times (docs/decisions/0010-region-distance-raster.md).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _bilinear(flat, off, x0, y0, nx, ny, res, x, y):
    fx = (x - x0) / res
    fy = (y - y0) / res
    i0 = int(np.floor(fx))
    j0 = int(np.floor(fy))
    i0 = min(max(i0, 0), nx - 2)
    j0 = min(max(j0, 0), ny - 2)
    tx = min(max(fx - i0, 0.0), 1.0)
    ty = min(max(fy - j0, 0.0), 1.0)
    b = off + j0 * nx + i0
    return ((1.0 - ty) * ((1.0 - tx) * flat[b] + tx * flat[b + 1])
            + ty * ((1.0 - tx) * flat[b + nx] + tx * flat[b + nx + 1]))


@njit(cache=True)
def region_impacts(track, step, t, px, py, r, sigma_along, speed, n_tracks, r_cap, cone_k,
                   box, x0, y0, nx, ny, off, flat, res):
    """Arrival times per (track, region) of flattened path points (prediction.Paths).

    Args:
        track, step, t, px, py, r, sigma_along: (m,) the path points, grouped by
            track and ordered by step within a track.
        speed: (n,) ground speed per track, m/s.
        n_tracks: n. r_cap: cone radii are cut to this, m. cone_k: the cone's sigma multiple.
        box, x0, y0, nx, ny, off, flat, res: the RegionField rasters.

    Returns:
        (track, region, t_lo, t_last, t_in, t_hi) of each touched pair, sorted by
        track then region; times in s, NaN where unknown (see prediction.impacts).
    """
    n_reg = box.shape[0]
    m = t.size
    inf = np.inf
    t_lo = np.full((n_tracks, n_reg), inf)
    t_in = np.full((n_tracks, n_reg), inf)
    t_last = np.full((n_tracks, n_reg), -inf)
    prev_k = np.full((n_tracks, n_reg), -2, dtype=np.int64)
    prev_g = np.zeros((n_tracks, n_reg))
    prev_d = np.zeros((n_tracks, n_reg))
    for p in range(m):
        i = track[p]
        k = step[p]
        # Step length of this track (to the next point, or from the previous one at the end).
        if p + 1 < m and track[p + 1] == i:
            dstep = t[p + 1] - t[p]
        elif p > 0 and track[p - 1] == i:
            dstep = t[p] - t[p - 1]
        else:
            dstep = 0.0
        x = px[p]
        y = py[p]
        rr = min(r[p], r_cap)
        for j in range(n_reg):
            if x < box[j, 0] or x > box[j, 2] or y < box[j, 1] or y > box[j, 3]:
                continue
            d = _bilinear(flat, off[j], x0[j], y0[j], nx[j], ny[j], res, x, y)
            g = d - rr
            ok_prev = prev_k[i, j] == k - 1
            if g <= 0.0:
                if t_lo[i, j] == inf:
                    if k == 0:
                        t_lo[i, j] = t[p]
                    elif ok_prev and prev_g[i, j] > 0.0:
                        t_lo[i, j] = t[p] - dstep + dstep * prev_g[i, j] / (prev_g[i, j] - g)
                    else:
                        t_lo[i, j] = t[p] - dstep  # no earlier point to interpolate: early is safe
                t_last[i, j] = t[p] + dstep
            if d <= 0.0 and t_in[i, j] == inf:
                if k == 0:
                    t_in[i, j] = t[p]
                elif ok_prev and prev_d[i, j] > 0.0:
                    t_in[i, j] = t[p] - dstep + dstep * prev_d[i, j] / (prev_d[i, j] - d)
                else:
                    t_in[i, j] = t[p] - dstep
            prev_k[i, j] = k
            prev_g[i, j] = g
            prev_d[i, j] = d
    n_out = 0
    for i in range(n_tracks):
        for j in range(n_reg):
            if t_lo[i, j] < inf:
                n_out += 1
    o_tr = np.empty(n_out, dtype=np.int64)
    o_rg = np.empty(n_out, dtype=np.int64)
    o_lo = np.empty(n_out)
    o_last = np.empty(n_out)
    o_in = np.empty(n_out)
    o_hi = np.empty(n_out)
    q = 0
    # Path start per track, for the along-track sigma at the nominal arrival.
    start = np.zeros(n_tracks + 1, dtype=np.int64)
    for p in range(m):
        start[track[p] + 1] = p + 1
    for i in range(1, n_tracks + 1):
        start[i] = max(start[i], start[i - 1])
    for i in range(n_tracks):
        for j in range(n_reg):
            if t_lo[i, j] == inf:
                continue
            o_tr[q] = i
            o_rg[q] = j
            o_lo[q] = t_lo[i, j]
            o_last[q] = t_last[i, j]
            if t_in[i, j] < inf:
                o_in[q] = t_in[i, j]
                # The along-track sigma at the first path point at or after the arrival.
                a = start[i]
                b = start[i + 1] - 1
                kk = a
                while kk < b and t[kk] < t_in[i, j]:
                    kk += 1
                o_hi[q] = t_in[i, j] + cone_k * sigma_along[kk] / max(speed[i], 1.0)
            else:
                o_in[q] = np.nan
                o_hi[q] = np.nan
            q += 1
    return o_tr, o_rg, o_lo, o_last, o_in, o_hi
