"""Ground truth of a night: who is launched, from where, towards what, and how each flies.

Pure and deterministic: the same scenario and random generator give the
same objects. Positions are in the theatre's metric frame (m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from airshield.geo import Site, Theatre
from airshield.sim.places import LAUNCH_AREAS, Place, resolve_targets
from airshield.sim.routes import ballistic, dogleg_polyline, flight, insert_loiter
from airshield.sim.scenario import Scenario, Wave
from airshield.sim.threats import THREAT_TYPES, ThreatType
from airshield.sim.trajectory import Trajectory

ID_PREFIX = {"drone": "D", "jet": "J", "cruise": "C", "ballistic": "B", "aircraft": "F"}
#: Lateral scatter of a column member's waypoints around the group's route, m [est].
COLUMN_JITTER_M = 300.0


@dataclass(frozen=True)
class SimObject:
    """One true object of the night.

    Attributes:
        id: truth id (``D0001`` drones, ``J`` jet drones, ``C`` cruise, ``B`` ballistic, ``F`` civil flights).
        model, cls: threat model and class (threats.THREAT_TYPES).
        civil: a cooperative civil aircraft (broadcasts ADS-B, never a threat).
        launch_area: launch area id ("" for civil flights).
        target: target site id, or None.
        group, wave: group and wave numbers (-1 for civil flights).
        trajectory: its path; ends where the object ends.
        end_how: ``impact``, ``shot_down``, ``fuel``, ``left`` or ``scenario_end``.
        icao, callsign: civil flights only.
    """

    id: str
    model: str
    cls: str
    civil: bool
    launch_area: str
    target: str | None
    group: int
    wave: int
    trajectory: Trajectory
    end_how: str
    icao: str | None = None
    callsign: str | None = None


def _disc(rng: np.random.Generator, radius_m: float) -> np.ndarray:
    r = radius_m * np.sqrt(rng.random())
    a = rng.uniform(0.0, 2 * np.pi)
    return np.array([r * np.cos(a), r * np.sin(a)])


def _group_sizes(rng: np.random.Generator, w: Wave) -> list[int]:
    sizes, left = [], w.count
    while left > 0:
        k = int(rng.integers(w.group_size[0], w.group_size[1] + 1))
        sizes.append(min(k, left))
        left -= sizes[-1]
    return sizes


def _end_by_range(traj: Trajectory, max_range_m: float) -> float | None:
    seg = np.linalg.norm(np.diff(traj.xyz, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if cum[-1] <= max_range_m:
        return None
    return float(np.interp(max_range_m, cum, traj.t))


def build_threats(
    sc: Scenario, theatre: Theatre, rng: np.random.Generator, cities: list[Site]
) -> list[SimObject]:
    """All threats of the scenario's waves, in wave, group, member order."""
    areas: dict[str, Place] = dict(LAUNCH_AREAS)
    for a in sc.launch_areas:
        areas[a.id] = Place(a.id, a.name or a.id, a.lat, a.lon, a.radius_km)
    t_start = sc.start.timestamp()
    counters = dict.fromkeys(ID_PREFIX, 0)
    out: list[SimObject] = []
    group_no = 0
    for wi, w in enumerate(sc.waves):
        tt = THREAT_TYPES[w.model]
        targets = resolve_targets(w.targets or sc.targets, cities)
        if not targets:
            raise ValueError(f"wave {wi} ({w.model}) has no targets and the scenario has none")
        sizes = _group_sizes(rng, w)
        t0s = np.sort(rng.uniform(w.start_min * 60, (w.start_min + w.duration_min) * 60, len(sizes)))
        for gi, (size, t0) in enumerate(zip(sizes, t0s, strict=True)):
            area = areas[w.launch_areas[gi % len(w.launch_areas)]]
            target = targets[int(rng.integers(len(targets)))]
            lx, ly = theatre.to_xy(area.lat, area.lon)
            tx, ty = theatre.to_xy(target.lat, target.lon)
            launch = np.array([lx, ly]) + _disc(rng, area.radius_km * 1000.0)
            aim = np.array([tx, ty]) + _disc(rng, 3000.0)  # aim points spread over the city [est]
            route = dogleg_polyline(rng, launch, aim, tt)
            offsets = np.cumsum(np.concatenate([[0.0], rng.uniform(*w.spacing_s, size - 1)]))
            for k in range(size):
                counters[tt.cls] += 1
                oid = f"{ID_PREFIX[tt.cls]}{counters[tt.cls]:04d}"
                traj = _member_flight(rng, tt, route, launch, aim, t_start + t0 + offsets[k])
                end_how = "impact"
                t_fuel = _end_by_range(traj, tt.max_range_m)
                if t_fuel is not None:
                    traj, end_how = traj.truncated(t_fuel), "fuel"
                if rng.random() < w.shot_down:
                    t_down = traj.start + rng.uniform(0.4, 0.98) * (traj.end - traj.start)
                    traj, end_how = traj.truncated(t_down), "shot_down"
                out.append(SimObject(oid, w.model, tt.cls, False, area.id, target.id, group_no, wi,
                                     traj, end_how))
            group_no += 1
    return out


def _member_flight(
    rng: np.random.Generator, tt: ThreatType, route: np.ndarray, launch: np.ndarray,
    aim: np.ndarray, t0: float,
) -> Trajectory:
    if tt.cls == "ballistic":
        return ballistic(rng, launch, aim, tt, t0)
    poly = route.copy()
    if len(poly) > 2:
        poly[1:-1] += rng.normal(0.0, COLUMN_JITTER_M, poly[1:-1].shape)
    if rng.random() < tt.loiter_p:
        poly = insert_loiter(rng, poly, float(np.mean(tt.speed_mps)))
    return flight(rng, poly, tt, t0)


def build_civil(
    sc: Scenario, theatre: Theatre, rng: np.random.Generator
) -> list[SimObject]:
    """Civil flights along the ADS-B corridor (default: over the western regions)."""
    cfg = sc.sensors.adsb
    if cfg is None or cfg.flights == 0:
        return []
    tt = THREAT_TYPES["airliner"]
    (la0, lo0), (la1, lo1) = cfg.corridor[0], cfg.corridor[-1]
    a = np.array(theatre.to_xy(la0, lo0), dtype=float)
    b = np.array(theatre.to_xy(la1, lo1), dtype=float)
    d = b - a
    normal = np.array([-d[1], d[0]]) / np.hypot(*d)
    t_start = sc.start.timestamp()
    out = []
    for i in range(cfg.flights):
        off = normal * rng.uniform(-0.5, 0.5) * cfg.corridor_width_km * 1000.0
        p, q = (a + off, b + off) if rng.random() < 0.5 else (b + off, a + off)
        t0 = t_start + rng.uniform(0.0, sc.duration_h * 3600.0 * 0.85)
        traj = flight(rng, np.vstack([p, q]), tt, t0, dive=False, start_alt=float(rng.uniform(*tt.alt_m)))
        icao = f"{0x508000 + i:06X}"  # unique per flight (a block of Ukraine's 0x508000 range)
        callsign = f"{['LOT', 'TAR', 'WZZ', 'RYR'][i % 4]}{int(rng.integers(100, 9999))}"
        out.append(SimObject(f"F{i + 1:04d}", "airliner", "aircraft", True, "", None, -1, -1, traj,
                             "left", icao, callsign))
    return out
