"""Truth and track states at evaluation times.

Evaluation times are a grid (default every 10 s over the scenario). At each
time:

* a true object is *present* from its first to its last truth state, its
  position linearly interpolated between states;
* a track is scored per docs/formats.md ("Tracks"): "`airshield evaluate`
  scores `confirmed` and `coasting` states; a track's state at an evaluation
  time is its latest state at or before that time, predicted forward with its
  velocity, if no older than 60 s and not `deleted`". Tentative and deleted
  latest states are not scored. States of one track with equal times: the
  later line wins.

Prediction moves the state along the local east/north axes on a sphere
(≤ 60 s, so the error is negligible); projection to the metric frame is left
to the caller, so nothing here depends on a map projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: docs/formats.md: a track state older than this is not scored, s.
MAX_STATE_AGE_S = 60.0
#: Statuses that are scored (docs/formats.md, "Tracks").
SCORED_STATUSES = ("confirmed", "coasting")
#: Mean Earth radius, m (IUGG), for the ≤ 60 s forward prediction.
EARTH_RADIUS_M = 6_371_008.8


def eval_grid(start: float, end: float, step_s: float = 10.0) -> np.ndarray:
    """Evaluation times start, start + step, … ≤ end (s); shape (K,)."""
    if step_s <= 0:
        raise ValueError("step_s must be > 0")
    if end < start:
        return np.empty(0)
    k = int(np.floor((end - start) / step_s + 1e-9))
    return start + step_s * np.arange(k + 1)


def _ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand half-open index ranges [lo, hi): (row of each, value)."""
    n = np.clip(hi - lo, 0, None)
    rows = np.repeat(np.arange(len(lo)), n)
    offs = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return rows, lo[rows] + offs


@dataclass(frozen=True)
class TruthAt:
    """True positions at evaluation times; one row per (time, object) present.

    Attributes:
        k: (N,) index into the evaluation grid.
        obj: (N,) object index (into the caller's sorted id list).
        x, y: (N,) interpolated position, m.
    """

    k: np.ndarray
    obj: np.ndarray
    x: np.ndarray
    y: np.ndarray


def truth_at(
    grid: np.ndarray, obj: np.ndarray, t: np.ndarray, x: np.ndarray, y: np.ndarray
) -> TruthAt:
    """Interpolate true states at the grid times.

    Args:
        grid: (K,) sorted evaluation times, s.
        obj: (N,) object index of each state.
        t, x, y: (N,) state time (s) and position (m).
    """
    order = np.lexsort((t, obj))
    obj, t, x, y = obj[order], t[order], x[order], y[order]
    ks, objs, xs, ys = [], [], [], []
    bounds = np.flatnonzero(np.diff(obj)) + 1
    for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(obj)], strict=True):
        if b <= a:
            continue
        lo = np.searchsorted(grid, t[a], "left")
        hi = np.searchsorted(grid, t[b - 1], "right")
        if hi <= lo:
            continue
        g = grid[lo:hi]
        ks.append(np.arange(lo, hi))
        objs.append(np.full(hi - lo, obj[a]))
        xs.append(np.interp(g, t[a:b], x[a:b]))
        ys.append(np.interp(g, t[a:b], y[a:b]))
    if not ks:
        e = np.empty(0)
        return TruthAt(e.astype(np.intp), e.astype(np.intp), e, e)
    k = np.concatenate(ks)
    o = np.lexsort((np.concatenate(objs), k))
    return TruthAt(k[o], np.concatenate(objs)[o], np.concatenate(xs)[o], np.concatenate(ys)[o])


@dataclass(frozen=True)
class TrackAt:
    """Track states scored at evaluation times; one row per (time, track).

    Attributes:
        k: (M,) index into the evaluation grid.
        row: (M,) index of the track state (row of the caller's table) used.
        lat, lon: (M,) state predicted to the evaluation time, degrees.
    """

    k: np.ndarray
    row: np.ndarray
    lat: np.ndarray
    lon: np.ndarray


def tracks_at(
    grid: np.ndarray,
    track: np.ndarray,
    t: np.ndarray,
    scored: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    v_east: np.ndarray,
    v_north: np.ndarray,
    max_age_s: float = MAX_STATE_AGE_S,
) -> TrackAt:
    """Which track state is scored at which evaluation time, predicted forward.

    Args:
        grid: (K,) sorted evaluation times, s.
        track: (N,) track index of each state (any ints).
        t: (N,) state time, s.
        scored: (N,) bool, status is confirmed or coasting.
        lat, lon: (N,) state position, degrees.
        v_east, v_north: (N,) velocity, m/s (0 when unknown).
        max_age_s: states older than this are not scored, s.

    Returns:
        :class:`TrackAt` sorted by (k, track).
    """
    n = len(t)
    order = np.lexsort((np.arange(n), t, track))  # by track, time, then line order
    tr, ts = track[order], t[order]
    t_next = np.full(n, np.inf)
    same = tr[1:] == tr[:-1]
    t_next[:-1][same] = ts[1:][same]
    # A state is the latest for grid times in [t, t_next), and scored while ≤ max_age_s old.
    lo = np.searchsorted(grid, ts, "left")
    hi = np.minimum(
        np.searchsorted(grid, t_next, "left"), np.searchsorted(grid, ts + max_age_s, "right")
    )
    hi = np.where(scored[order], hi, lo)
    idx, k = _ranges(lo, hi)
    row = order[idx]
    dt = grid[k] - t[row]
    lat0 = lat[row]
    new_lat = lat0 + np.degrees(v_north[row] * dt / EARTH_RADIUS_M)
    cos = np.maximum(np.cos(np.radians(lat0)), 1e-6)
    new_lon = lon[row] + np.degrees(v_east[row] * dt / (EARTH_RADIUS_M * cos))
    o = np.lexsort((track[row], k))
    return TrackAt(k[o], row[o], new_lat[o], new_lon[o])
