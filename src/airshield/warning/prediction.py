"""Predicted paths with growing uncertainty, and when they may reach regions and places.

For a batch of threat tracks at once (numpy, no per-track Python in the
arithmetic), each track's path is its current course at its current speed,
sampled every ``step_s`` out to its class's horizon (ballistic: to the
predicted impact). Around each predicted point lies a disc, the *cone*, of
radius ``cone_k`` times the larger 1-sigma axis of the position error at that
time:

* along track: sigma_p^2 + (sigma_v^2 + s^2) dt^2, with s the class's speed change;
* across track: sigma_p^2 + sigma_v^2 dt^2 + v^2 dt^2 theta^2(dt) / 3, where the
  course is a random walk, theta^2(dt) = min(D dt, theta_max^2): the lateral
  spread of a heading random walk is v^2 D dt^3 / 3;
* plus a manoeuvre spread growing linearly to ``manoeuvre_m`` at the horizon.

A track faster than its class can fly has no velocity worth extrapolating:
it is predicted where it is, its cone growing in every direction. No cone is
ever wider than the disc the class's top speed can reach from the estimated
position.

A threat slower than ``min_speed_mps`` (hovering, loitering) has no course:
its cone grows the same in all directions.

A region (or place) is *touched* at a step when its signed distance from the
predicted point is at most the cone radius. Per (track, region):

* ``t_lo``: the first time the cone touches it (earliest plausible arrival);
* ``t_last``: the last time it does (after that, the threat has passed);
* ``t_in``: the first time the predicted point itself is inside (nominal
  arrival), NaN if it never is;
* ``t_hi``: the nominal arrival delayed by the along-track spread (latest
  plausible arrival), NaN if ``t_in`` is.

Times are interpolated linearly between steps. All times are absolute (s since
the epoch), so a forecast stays valid while the clock runs on: the ETA at time
``now`` is ``t - now``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from airshield.warning.config import PREDICTED, WarningConfig

#: Standard gravity, m/s^2 (ballistic time to impact).
G = 9.80665
_CLS = {c: i for i, c in enumerate(PREDICTED)}


@dataclass(frozen=True)
class Paths:
    """Predicted points of a batch of tracks, flattened (one row per point).

    Attributes:
        track: (m,) index of the point's track in the batch.
        step: (m,) step number within its track's path (0 = the state time).
        t: (m,) time of the point, s.
        x, y: (m,) predicted position, m.
        r: (m,) cone radius, m.
        sigma_along: (m,) 1-sigma along-track position error, m.
        speed: (n,) per track ground speed, m/s.
    """

    track: np.ndarray
    step: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    r: np.ndarray
    sigma_along: np.ndarray
    speed: np.ndarray


def one_track(paths: Paths, a: int, b: int) -> Paths:
    """Points ``a:b`` of ``paths`` (all of one track's) as a one-track Paths (views, not copies)."""
    return Paths(np.zeros(b - a, dtype=np.int64), paths.step[a:b], paths.t[a:b], paths.x[a:b], paths.y[a:b],
                 paths.r[a:b], paths.sigma_along[a:b], paths.speed[paths.track[a:a + 1]])


def split_tracks(paths: Paths) -> list[Paths]:
    """Each track of a batch as its own one-track Paths, in track order."""
    b = np.searchsorted(paths.track, np.arange(paths.speed.size + 1))
    return [one_track(paths, int(b[i]), int(b[i + 1])) for i in range(paths.speed.size)]


@dataclass(frozen=True)
class Impacts:
    """When the tracks of a batch may reach each target (region or place).

    One row per (track, target) pair the cone touches, sorted by track then target.

    Attributes:
        track, target: (q,) indices into the batch and the target list.
        t_lo, t_last, t_in, t_hi: (q,) s (see the module docstring); NaN where unknown.
    """

    track: np.ndarray
    target: np.ndarray
    t_lo: np.ndarray
    t_last: np.ndarray
    t_in: np.ndarray
    t_hi: np.ndarray

    def __len__(self) -> int:
        return int(self.track.size)

    def take(self, sel: np.ndarray) -> Impacts:
        return Impacts(self.track[sel], self.target[sel], self.t_lo[sel], self.t_last[sel], self.t_in[sel],
                       self.t_hi[sel])


def class_index(cls: str) -> int:
    """Index of a predicted class (KeyError for classes that are not predicted)."""
    return _CLS[cls]


def fall_accel(cfg: WarningConfig, az: np.ndarray | None, az_sigma: np.ndarray | None) -> np.ndarray | float:
    """Downward acceleration (m/s^2, positive) a ballistic track comes down with: the fitted
    arc's slow end (``az + fall_sigma_k`` sigma), never less than g nor more than
    ``max_fall_mps2``; g where unknown."""
    if az is None or az_sigma is None or cfg.fall_sigma_k is None:
        return G
    down = -(np.asarray(az, float) + cfg.fall_sigma_k * np.asarray(az_sigma, float))
    return np.where(np.isfinite(down), np.clip(down, G, cfg.max_fall_mps2), G)


def horizons(cfg: WarningConfig, cls_idx: np.ndarray, z: np.ndarray, vz: np.ndarray,
             fall: np.ndarray | float = G) -> np.ndarray:
    """(n,) prediction horizon per track, s: the class's, or a ballistic track's time to impact.

    Time to impact solves z + vz t - a t^2 / 2 = 0 with ``fall`` the downward
    acceleration a (per track, m/s^2; :func:`fall_accel`); at least one step, at
    most the class horizon.
    """
    h = np.array([cfg.models[c].horizon_s for c in PREDICTED])[cls_idx]
    bal = cls_idx == _CLS["ballistic"]
    if bal.any():
        zb = np.maximum(z[bal], 0.0)
        a = np.broadcast_to(np.asarray(fall, float), h.shape)[bal]
        t_imp = (vz[bal] + np.sqrt(vz[bal] ** 2 + 2.0 * a * zb)) / a
        step = cfg.models["ballistic"].step_s
        h[bal] = np.clip(t_imp, step, h[bal])
    return h


def predict(cfg: WarningConfig, t0: np.ndarray, x: np.ndarray, v: np.ndarray, sigma_p: np.ndarray,
            sigma_v: np.ndarray, cls_idx: np.ndarray, fall: np.ndarray | float = G) -> Paths:
    """Predicted points and cone radii for n tracks.

    Args:
        cfg: prediction parameters.
        t0: (n,) state times, s.
        x: (n, 3) positions (x, y, z), m. v: (n, 3) velocities, m/s.
        sigma_p: (n,) 1-sigma horizontal position error (both axes together), m.
        sigma_v: (n,) 1-sigma horizontal velocity error (both axes together), m/s.
        cls_idx: (n,) class index into ``PREDICTED``.
        fall: (n,) or scalar, a ballistic track's downward acceleration, m/s^2 (:func:`fall_accel`).
    """
    n = t0.size
    models = [cfg.models[c] for c in PREDICTED]
    step = np.array([m.step_s for m in models])[cls_idx]
    hor = horizons(cfg, cls_idx, x[:, 2], v[:, 2], fall)
    count = np.floor(hor / step + 1e-9).astype(np.int64) + 1
    track = np.repeat(np.arange(n), count)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    k = np.arange(track.size) - np.repeat(start, count)
    dt = k * step[track]
    speed = np.hypot(v[:, 0], v[:, 1])
    # A speed the class cannot fly is not a velocity to extrapolate (a track mixed up
    # between targets, or pulled by reports minutes apart): its course is unknown, so
    # it is predicted where it is, with a cone that grows in every direction up to
    # the class's top speed (the reachable disc below).
    vmax = np.array([m.max_speed_mps for m in models])[cls_idx]
    unknown = speed > vmax
    if unknown.any():
        v = v.copy()
        v[unknown, :2] = 0.0
        sigma_v = np.where(unknown, 10.0 * vmax, sigma_v)  # the reachable disc below is the real bound
        speed = np.where(unknown, 0.0, speed)
    # Per axis: the track gives both horizontal axes together.
    sp2 = (sigma_p * sigma_p / 2.0)[track]
    sv2 = (sigma_v * sigma_v / 2.0)[track]
    s_chg = np.array([m.speed_change_mps for m in models])[cls_idx][track]
    diff = np.array([m.heading_diffusion for m in models])[cls_idx][track]
    th_max = np.array([m.heading_max_rad for m in models])[cls_idx][track]
    man = np.array([m.manoeuvre_m for m in models])[cls_idx][track]
    # A track moving slower than its class cruises: the shortfall is one more sigma along
    # track (one slower than ``min_speed_mps`` loiters: its cone grows at the speed change).
    lag = np.maximum(np.array([m.min_cruise_mps for m in models])[cls_idx] - speed, 0.0)
    lag = np.where(speed >= cfg.min_speed_mps, lag, 0.0)[track]
    along2 = sp2 + (sv2 + s_chg * s_chg + lag * lag) * dt * dt
    theta2 = np.minimum(diff * dt, th_max * th_max)
    vt = speed[track]
    lat2 = sp2 + sv2 * dt * dt + vt * vt * dt * dt * theta2 / 3.0
    slow = vt < cfg.min_speed_mps
    lat2 = np.where(slow, along2, lat2)
    extra = (man * dt / np.maximum(hor[track], 1.0)) ** 2
    r = cfg.cone_k * np.sqrt(np.maximum(along2, lat2) + extra)
    # Nothing can be farther than the class's top speed takes it: the cone never
    # grows beyond the reachable disc (what matters when a velocity is unknown or wrong).
    r = np.minimum(r, cfg.cone_k * np.sqrt(sp2) + vmax[track] * dt + man * dt / np.maximum(hor[track], 1.0))
    px = x[track, 0] + v[track, 0] * dt
    py = x[track, 1] + v[track, 1] * dt
    return Paths(track, k, t0[track] + dt, px, py, r, np.sqrt(along2 + extra), speed)


def impacts(paths: Paths, pi: np.ndarray, ti: np.ndarray, d: np.ndarray, cone_k: float,
            r_cap: float = math.inf) -> Impacts:
    """Arrival times per (track, target) from signed distances of path points to targets.

    Args:
        paths: the predicted points.
        pi, ti, d: (p,) point index, target index and signed distance (m,
            negative inside) of every (point, target) pair near enough to matter,
            e.g. from :meth:`RegionField.near`.
        cone_k: the cone's sigma multiple (to turn the along-track spread into ``t_hi``).
        r_cap: cone radii are cut to this (the distances are not known beyond it).
    """
    if pi.size == 0:
        e = np.zeros(0)
        return Impacts(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), e, e, e, e)
    r = np.minimum(paths.r[pi], r_cap)
    g = d - r  # <= 0: the cone touches the target
    trk = paths.track[pi]
    stp = paths.step[pi]
    n_t = int(ti.max()) + 1
    key = trk * n_t + ti
    order = np.lexsort((stp, key))
    key, stp, g, d, pi, trk, ti = key[order], stp[order], g[order], d[order], pi[order], trk[order], ti[order]
    t = paths.t[pi]
    # The previous row is the same pair one step earlier?
    prev_ok = np.zeros(key.size, dtype=bool)
    prev_ok[1:] = (key[1:] == key[:-1]) & (stp[1:] == stp[:-1] + 1)
    step_len = np.zeros(key.size)
    step_len[1:] = t[1:] - t[:-1]

    def first_cross(val: np.ndarray) -> np.ndarray:
        """Per row: the interpolated time where ``val`` crosses to <= 0 at this row (NaN if not)."""
        out = np.full(key.size, np.nan)
        hit = val <= 0.0
        at_start = hit & (stp == 0)
        out[at_start] = t[at_start]
        cross = hit & ~at_start
        pv = np.zeros(key.size)
        pv[1:] = val[:-1]
        interp = cross & prev_ok & (pv > 0.0)
        frac = np.where(interp, pv / np.where(interp, pv - val, 1.0), 0.0)
        out[interp] = t[interp] - step_len[interp] + frac[interp] * step_len[interp]
        # No earlier point near enough to interpolate: one step earlier (early is the safe side;
        # where the earlier point was itself a hit, the group minimum takes that one anyway).
        rest = cross & ~interp
        out[rest] = t[rest] - np.where(stp[rest] > 0, _step_of(paths, pi[rest]), 0.0)
        return out

    touch = g <= 0.0
    keys_u, first_row = np.unique(key, return_index=True)
    grp = np.searchsorted(keys_u, key)
    t_lo = _group_min(grp, keys_u.size, first_cross(g))
    t_in = _group_min(grp, keys_u.size, first_cross(d))
    last = np.where(touch, t, -np.inf)
    t_last = np.full(keys_u.size, -np.inf)
    np.maximum.at(t_last, grp, last)
    keep = np.isfinite(t_lo)
    # The cone's last touch lasts until the next step (or the path's end).
    t_last = t_last + _step_of(paths, pi[first_row])
    tr_u, tg_u = trk[first_row], ti[first_row]
    # Latest plausible arrival: the nominal one delayed by the along-track spread there.
    t_hi = np.full(keys_u.size, np.nan)
    has_in = np.isfinite(t_in)
    if has_in.any():
        sp = np.maximum(paths.speed[tr_u[has_in]], 1.0)
        sa = _sigma_at(paths, tr_u[has_in], t_in[has_in])
        t_hi[has_in] = t_in[has_in] + cone_k * sa / sp
    return Impacts(tr_u[keep], tg_u[keep], t_lo[keep], t_last[keep], t_in[keep], t_hi[keep])


def _group_min(grp: np.ndarray, n: int, val: np.ndarray) -> np.ndarray:
    out = np.full(n, np.inf)
    v = np.where(np.isnan(val), np.inf, val)
    np.minimum.at(out, grp, v)
    out[np.isinf(out)] = np.nan
    return out


def _step_of(paths: Paths, pts: np.ndarray) -> np.ndarray:
    """The step length (s) of the tracks of points ``pts``."""
    nxt = np.minimum(pts + 1, paths.t.size - 1)
    same = paths.track[nxt] == paths.track[pts]
    prv = np.maximum(pts - 1, 0)
    d_next = paths.t[nxt] - paths.t[pts]
    d_prev = paths.t[pts] - paths.t[prv]
    return np.where(same & (d_next > 0), d_next, np.where(d_prev > 0, d_prev, 0.0))


def _sigma_at(paths: Paths, trk: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Along-track sigma of tracks ``trk`` at times ``t`` (the nearest path point at or after t)."""
    start = np.searchsorted(paths.track, trk, side="left")
    end = np.searchsorted(paths.track, trk, side="right") - 1
    dt = np.maximum(paths.t[np.minimum(start + 1, end)] - paths.t[start], 1e-9)
    k = np.clip(np.ceil((t - paths.t[start]) / dt).astype(np.int64), 0, end - start)
    return paths.sigma_along[start + k]
