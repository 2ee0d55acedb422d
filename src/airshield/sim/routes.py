"""Routes from launch areas to targets: dog-legs, loiters, climbs and dives.

All positions are in the theatre's metric frame (m). A route is built in two
steps: a horizontal polyline (shared by a group flying in a column), then a
trajectory for one member (its own jitter, altitude profile and speed).
"""

from __future__ import annotations

import math

import numpy as np

from airshield.sim.threats import ThreatType
from airshield.sim.trajectory import Trajectory

#: Terminal dive angle of a Shahed-type drone [est]: a steep final dive is
#: reported in news footage; 30 deg keeps the dive a few km long.
DIVE_ANGLE_RAD = math.radians(30.0)
#: Climb gradient after launch [est]: ~1:8 (a few m/s of climb at 45 m/s).
CLIMB_GRADIENT = 1.0 / 8.0
#: Points per loiter lap: chords of a 2-5 km circle are then < 2 km long.
LOITER_POINTS_PER_LAP = 16
#: Knot spacing of a ballistic arc, s.
BALLISTIC_KNOT_S = 2.0


def polyline_length(p: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())


def dogleg_polyline(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray, tt: ThreatType
) -> np.ndarray:
    """(k, 2) horizontal waypoints from ``start`` to ``end`` with dog-legs.

    The number of legs and the detour ratio (route / straight line) are drawn
    from the threat type; lateral offsets are scaled so the route has exactly
    that detour ratio (domain.md: straight line +30 % for Shahed dog-legs).
    """
    n = int(rng.integers(tt.dog_legs[0], tt.dog_legs[1] + 1))
    direct = end - start
    dist = float(np.hypot(*direct))
    if n == 0 or dist < 1.0:
        return np.vstack([start, end])
    frac = np.sort(rng.uniform(0.15, 0.85, n))
    side = rng.uniform(-1.0, 1.0, n)
    normal = np.array([-direct[1], direct[0]]) / dist
    base = start + frac[:, None] * direct
    want = rng.uniform(*tt.detour) * dist

    def route(scale: float) -> np.ndarray:
        return np.vstack([start, base + (scale * side * dist)[:, None] * normal, end])

    lo, hi = 0.0, 4.0
    if polyline_length(route(hi)) < want:
        return route(hi)
    for _ in range(40):  # bisection: length grows monotonically with the scale
        mid = 0.5 * (lo + hi)
        if polyline_length(route(mid)) < want:
            lo = mid
        else:
            hi = mid
    return route(0.5 * (lo + hi))


def insert_loiter(
    rng: np.random.Generator, poly: np.ndarray, speed: float
) -> np.ndarray:
    """Insert one loiter circle (radius 2-5 km, 5-20 min) [est] at 55-90 % of the route."""
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(poly, axis=0), axis=1))])
    s = rng.uniform(0.55, 0.9) * cum[-1]
    i = int(np.searchsorted(cum, s, side="right") - 1)
    i = min(i, len(poly) - 2)
    f = (s - cum[i]) / max(cum[i + 1] - cum[i], 1e-9)
    p = poly[i] + f * (poly[i + 1] - poly[i])
    heading = math.atan2(*(poly[i + 1] - poly[i])[::-1])
    radius = rng.uniform(2000.0, 5000.0)
    duration = rng.uniform(300.0, 1200.0)
    laps = max(1, round(duration * speed / (2 * math.pi * radius)))
    sgn = 1.0 if rng.random() < 0.5 else -1.0
    # Circle tangent to the route at p: its centre lies to one side.
    centre = p + radius * sgn * np.array([-math.sin(heading), math.cos(heading)])
    a0 = math.atan2(*(p - centre)[::-1])
    # Centre on the left (sgn > 0) means turning left: counter-clockwise, increasing angle.
    ang = a0 + sgn * np.linspace(0.0, 2 * math.pi * laps, laps * LOITER_POINTS_PER_LAP + 1)
    circle = centre + radius * np.column_stack([np.cos(ang), np.sin(ang)])
    return np.vstack([poly[: i + 1], circle, poly[i + 1 :]])


def _resample(poly: np.ndarray, s_new: np.ndarray) -> np.ndarray:
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(poly, axis=0), axis=1))])
    return np.column_stack([np.interp(s_new, cum, poly[:, 0]), np.interp(s_new, cum, poly[:, 1])])


def flight(
    rng: np.random.Generator,
    poly: np.ndarray,
    tt: ThreatType,
    t0: float,
    *,
    dive: bool = True,
    start_alt: float = 0.0,
) -> Trajectory:
    """Trajectory of one member along horizontal polyline ``poly`` (k, 2).

    Climbs from ``start_alt`` at CLIMB_GRADIENT to a cruise altitude drawn from
    the type, may change altitude at waypoints (drones: 30 % per waypoint
    [est]), and dives at DIVE_ANGLE_RAD onto the last point when ``dive``.
    Speed is drawn per flight, +-5 % per leg [est], capped at the type maximum.
    """
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(poly, axis=0), axis=1))])
    total = float(cum[-1])
    alt = rng.uniform(*tt.alt_m)
    # Altitude knots (s, z) along the horizontal path.
    s_climb = min(abs(alt - start_alt) / CLIMB_GRADIENT, 0.3 * total)
    s_dive = min(alt / math.tan(DIVE_ANGLE_RAD), 0.2 * total) if dive else 0.0
    alt_s = [0.0, s_climb]
    alt_z = [start_alt, alt]
    for s in cum[1:-1]:
        if s_climb < s < total - s_dive and rng.random() < 0.3 and tt.cls == "drone":
            alt = rng.uniform(*tt.alt_m)
            alt_s += [float(s)]
            alt_z += [alt]
    alt_s += [total - s_dive, total]
    alt_z += [alt, 0.0 if dive else alt]
    alt_s_arr = np.maximum.accumulate(np.array(alt_s))
    s_all = np.unique(np.concatenate([cum, alt_s_arr]))
    xy = _resample(poly, s_all)
    z = np.interp(s_all, alt_s_arr, np.array(alt_z))
    pts = np.column_stack([xy, z])
    v = rng.uniform(*tt.speed_mps)
    dh = np.diff(s_all)
    leg_v = np.minimum(v * rng.uniform(0.95, 1.05, dh.size), tt.max_speed_mps)
    t = t0 + np.concatenate([[0.0], np.cumsum(dh / leg_v)])
    return Trajectory(t, pts)


def ballistic(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, tt: ThreatType, t0: float) -> Trajectory:
    """A ballistic arc from ``start`` to ``end`` (2-D points, m).

    Apogee a quarter of the range, capped at 50 km [est, a minimum-energy
    trajectory has apogee ~range/4]; horizontal speed drawn from the type
    (~2 km/s, domain.md); the boost phase is not modelled. Flight time for 73 km
    (Belgorod -> Kharkiv) comes to about a minute, under the 2 min reported.
    """
    dist = float(np.hypot(*(end - start)))
    v = rng.uniform(*tt.speed_mps)
    apogee = min(dist / 4.0, 50_000.0)
    t_arc = dist / v
    n = max(3, int(math.ceil(t_arc / BALLISTIC_KNOT_S)) + 1)
    f = np.linspace(0.0, 1.0, n)
    xy = start + f[:, None] * (end - start)
    z = 4.0 * apogee * f * (1.0 - f)
    return Trajectory(t0 + f * t_arc, np.column_stack([xy, z]))
