"""Measurement models: every report kind as a position measurement in the theatre frame.

Each report becomes a *converted measurement*: a position ``z`` (m) with a
full covariance ``R`` (m^2), either horizontal only (``dim`` 2) or 3-D
(``dim`` 3). Linear position updates can then be stacked and vectorised for
all kinds alike (see docs/decisions/0005-converted-measurements.md):

* radar plot: polar (range, azimuth, elevation) -> Cartesian with the
  4/3-earth curvature correction; covariance J diag(sigma^2) J^T;
* position report: as given;
* ADS-B: the broadcast position, sigma ``adsb_sigma_m``;
* presence-only acoustic detection: the node position, with a covariance
  from the hearing range (domain.md: heard out to ~2-3.5 km; a uniform disc
  of radius r has a per-axis sigma of r/2);
* a bearing (acoustic array or citizen observer): a point ``r_typ`` along
  the bearing with an elongated covariance (sigma ``r_sigma`` along it,
  ``sqrt(r_typ^2 + r_sigma^2) sigma_theta`` across it): one bearing constrains
  the target to a wedge, several from different places triangulate it.

The loss against a full EKF on the raw polar / bearing measurement is small
at these sigmas (radar: sub-degree azimuth errors), and the vectorised
update is what lets the record night run at tens of thousands of reports a
second.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from airshield.model import (
    CLASSES,
    MIN_VARIANCE_M2,
    AcousticDetection,
    AdsbReport,
    ObserverReport,
    PositionReport,
    RadarPlot,
    Report,
)

#: Effective Earth radius under standard refraction (4/3 earth), m; as the simulator's radar.
R_EFF_M = 4.0 / 3.0 * 6_371_000.0

KIND_CODES = {"radar": 0, "position": 1, "adsb": 2, "acoustic": 3, "observer": 4}
N_CLASSES = len(CLASSES)
#: Classes heard further than a Shahed (jet drones, cruise missiles: sim.acoustic's LOUD).
LOUD_IDX = (CLASSES.index("jet"), CLASSES.index("cruise"))
_CI = {c: i for i, c in enumerate(CLASSES)}
_DRONE_IDX = CLASSES.index("drone")


def loud_scored(ll: np.ndarray) -> np.ndarray:
    """(n,) bool: reports whose class log-likelihoods ``ll`` (n, 6) favour a jet drone or a
    cruise missile over a Shahed: a loud source, heard further (``acoustic_loud_factor``)."""
    return np.maximum(ll[:, LOUD_IDX[0]], ll[:, LOUD_IDX[1]]) > ll[:, _DRONE_IDX]


@dataclass(frozen=True)
class MeasurementConfig:
    """Measurement-model parameters (m, deg).

    Attributes:
        acoustic_sigma_m: per-axis sigma of a presence-only acoustic detection
            [est: half the ~2 km 50 % hearing range, domain.md].
        acoustic_loud_factor: a presence-only report whose class scores favour a jet drone
            or a cruise missile over a Shahed gets this many times ``acoustic_sigma_m``: they
            are heard further (domain.md: 3-5 km against ~2 km at 50 %; as the pass model's
            ``pass_loud_range_factor``). On a reported night with 20 cruise missiles
            (``attack:2026-02-21``) false confirmed tracks 27 -> 9 (acoustic tracks of the
            missiles, 2-6 km behind them), GOSPA per threat 1,036 -> 1,020 m; night-40 (default
            seed) track ids per threat 3.00 -> 2.90, the rest unchanged [measured, BENCHMARKS.md].
        acoustic_bearing_range_m, acoustic_bearing_range_sigma_m: typical distance
            (and its sigma) of a target an array node takes a bearing on [est].
        observer_range_m, observer_range_sigma_m: typical distance of a target a
            citizen observer points at at night [est: heard or seen within ~3 km].
        adsb_sigma_m: ADS-B position sigma [est: NACp 8, < 93 m].
        acoustic_alt_m, acoustic_alt_sigma_m: soft altitude of what an acoustic node
            hears (domain.md: effectively blind above ~1.5-2 km above ground).
        observer_alt_m, observer_alt_sigma_m: the same for a citizen observer's sighting [est].
        acoustic_class_weight: how far an acoustic node's class scores are trusted (0..1) [est].
        observer_class_correct: probability an observer's class is right (domain.md: 70-80 %).
        position_class_correct: probability a partner's class is right [est].
    """

    acoustic_sigma_m: float = 1000.0
    acoustic_loud_factor: float = 1.75
    acoustic_bearing_range_m: float = 1500.0
    acoustic_bearing_range_sigma_m: float = 900.0
    observer_range_m: float = 1500.0
    observer_range_sigma_m: float = 1200.0
    adsb_sigma_m: float = 50.0
    acoustic_alt_m: float = 700.0
    acoustic_alt_sigma_m: float = 700.0
    observer_alt_m: float = 1000.0
    observer_alt_sigma_m: float = 1500.0
    acoustic_class_weight: float = 0.6
    observer_class_correct: float = 0.75
    position_class_correct: float = 0.9


@dataclass
class Measurements:
    """A batch of converted measurements (n rows).

    Attributes:
        t: (n,) measurement times, s since the epoch.
        z: (n, 3) positions, m (z[:, 2] meaningless where dim == 2).
        R: (n, 3, 3) covariances, m^2 (only the top-left 2x2 used where dim == 2).
        dim: (n,) 3 for measured positions, 2 for horizontal ones whose altitude is only
            a soft prior (acoustic, observers).
        kind: (n,) KIND_CODES.
        sensor: list of n sensor ids.
        cls_loglik: (n, 6) log-likelihood of the report under each true class (CLASSES order).
        icao: list of n ICAO addresses (ADS-B) or None.
        vel: (n, 3) velocity if the report carries one (else NaN), m/s.
        index: (n,) position of the report in the input stream.
        presence: (n,) bool, True for a presence-only acoustic detection (a node that
            says only "heard"; not an array's bearing): the tracker places these on
            the node's pass (decision 0019).
    """

    t: np.ndarray
    z: np.ndarray
    R: np.ndarray
    dim: np.ndarray
    kind: np.ndarray
    sensor: list[str]
    cls_loglik: np.ndarray
    icao: list[str | None]
    vel: np.ndarray
    index: np.ndarray
    presence: np.ndarray

    def __len__(self) -> int:
        return int(self.t.size)

    def kind_list(self) -> list[int]:
        """``kind`` as a Python list (cached): cheaper than numpy scalars in per-report loops."""
        if getattr(self, "_kind_l", None) is None:
            self._kind_l = self.kind.tolist()
        return self._kind_l

    def t_list(self) -> list[float]:
        """``t`` as a Python list (cached)."""
        if getattr(self, "_t_l", None) is None:
            self._t_l = self.t.tolist()
        return self._t_l

    def take(self, idx: np.ndarray) -> Measurements:
        il = idx.tolist()
        return Measurements(self.t[idx], self.z[idx], self.R[idx], self.dim[idx], self.kind[idx],
                            [self.sensor[i] for i in il], self.cls_loglik[idx], [self.icao[i] for i in il],
                            self.vel[idx], self.index[idx], self.presence[idx])


#: A presence-only node's pass, as a function of the chord heard so far l (m): the mean
#: and sigma of where the target was first heard, along its path from the node's
#: closest-approach point (m), and the RMS offset of the path from the node (m); each
#: conditional on the burst having lasted at least l. Derived by
#: ``bench/derive_acoustic_pass.py`` from the simulator's detection model (domain.md:
#: Pd 0.9 at 1 km, 0.5 at 2 km, ~0 beyond 3.5 km; straight passes at 40-60 m/s,
#: 100-1,500 m up, offsets 0-4 km, a look every 5 s);
#: docs/decisions/0019-acoustic-pass-geometry.md.
PASS_CHORD_M = np.array([0.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4000.0, 4500.0, 5000.0])
PASS_FIRST_MEAN_M = np.array([-1362.0, -1591.0, -1641.0, -1706.0, -1777.0, -1866.0, -1975.0, -2109.0, -2270.0,
                              -2463.0, -2645.0])
PASS_FIRST_SIGMA_M = np.array([917.0, 710.0, 666.0, 618.0, 574.0, 527.0, 486.0, 453.0, 430.0, 408.0, 373.0])
PASS_OFFSET_RMS_M = np.array([1636.0, 1404.0, 1357.0, 1290.0, 1214.0, 1119.0, 1019.0, 916.0, 840.0, 755.0, 685.0])
PASS_CHORD_LIST = PASS_CHORD_M.tolist()


_PASS_ROWS = list(zip(PASS_CHORD_M.tolist(), PASS_FIRST_MEAN_M.tolist(), PASS_FIRST_SIGMA_M.tolist(),
                      PASS_OFFSET_RMS_M.tolist(), strict=True))


def _pass_row(chord: float) -> tuple[float, float, float]:
    """The pass table at ``chord`` m, linearly interpolated (clamped at its ends): as
    ``np.interp`` of each column, for one scalar (called once per report)."""
    rows = _PASS_ROWS
    i = bisect.bisect_right(PASS_CHORD_LIST, chord)
    if i == 0:
        return rows[0][1], rows[0][2], rows[0][3]
    if i == len(rows):
        return rows[-1][1], rows[-1][2], rows[-1][3]
    (c0, m0, s0, o0), (c1, m1, s1, o1) = rows[i - 1], rows[i]
    if chord == c0:
        return m0, s0, o0
    d, dc = chord - c0, c1 - c0  # numpy's own formula, so that results are the same to the bit
    return (m1 - m0) / dc * d + m0, (s1 - s0) / dc * d + s0, (o1 - o0) / dc * d + o0


def pass_increment(book: list[float], chord_m: float, scale: float, floor: float = 1e-3
                   ) -> tuple[float, float, float]:
    """What one report of a pass adds: where it puts the target and with what information.

    A node hears a drone over a chord of its path, from before its closest approach
    to as far after it. After ``chord_m`` m of that chord, the target is
    ``first + chord`` along its path from the node's closest-approach point, where
    ``first`` (where it was first heard) has the table's mean and sigma for a burst
    that long (:data:`PASS_FIRST_MEAN_M`, :data:`PASS_FIRST_SIGMA_M`), and across the
    path it is within the offset of such a pass (:data:`PASS_OFFSET_RMS_M`): the
    longer the burst, the closer the path went by.

    The reports of one pass are one fact growing more certain, not independent fixes,
    so each adds only the information the pass gained since the previous one: a pass
    adds up to its table's sigma however many looks it took. Each increment sits at
    the table's mean for its own chord, so the pass's fused first-heard point is the
    information-weighted mean of the table's means along the way: for a long pass a
    few hundred metres ahead of the last one (the table's mean moves back as the
    burst goes on). Placing increments so that the fused point is exactly the last
    mean needs corrections tens of km long with tiny weights, which the IMM's mode
    probabilities take for manoeuvres (tried; decision 0019).

    Args:
        book: the pass's ``[first_t, last_t, info_along, info_across]`` (1/m^2);
            updated in place.
        chord_m: the chord flown since the pass's first report, m.
        scale: range scale of the target's class (1 for a drone; the table scales).
        floor: a report that adds nothing still counts as this share of the
            information (a proper, very weak measurement).

    Returns:
        (along, gain_along, gain_across): the target's position along its path from
        the node's closest-approach point (m) and this report's information (1/m^2).
    """
    mean, sa, sc = _pass_row(chord_m / scale)
    mean *= scale
    ia = 1.0 / (sa * scale) ** 2
    ic = 1.0 / (sc * scale) ** 2
    ga = max(ia - book[2], floor * ia)
    gc = max(ic - book[3], floor * ic)
    book[2], book[3] = max(book[2], ia), max(book[3], ic)
    return mean + chord_m, ga, gc


def pass_measurement(node_xy: np.ndarray, vel: np.ndarray, along: np.ndarray, gain: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Positions and covariances of pass increments (:func:`pass_increment`).

    Args:
        node_xy: (n, 2) node positions, m.
        vel: (n, 2) the track's horizontal velocity, m/s (non-zero): the path's direction.
        along: (n,) position along the path from the node's closest-approach point, m.
        gain: (n, 2) information along and across the path, 1/m^2.

    Returns:
        (n, 2) positions, m, and (n, 2, 2) covariances, m^2.
    """
    u = vel / np.hypot(vel[:, 0], vel[:, 1])[:, None]
    sa2, sc2 = 1.0 / gain[:, 0], 1.0 / gain[:, 1]
    ux, uy = u[:, 0], u[:, 1]
    R = np.empty((len(along), 2, 2))
    R[:, 0, 0] = sa2 * ux * ux + sc2 * uy * uy
    R[:, 1, 1] = sa2 * uy * uy + sc2 * ux * ux
    R[:, 0, 1] = R[:, 1, 0] = (sa2 - sc2) * ux * uy
    return node_xy + u * along[:, None], R


def pass_information(chord: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(n, 2) information (1/m^2) along and across the path of a pass heard over ``chord`` m.

    ``chord`` is in units of a drone's hearing range (divided by ``scale``).
    """
    return np.column_stack([1.0 / (np.interp(chord, PASS_CHORD_M, PASS_FIRST_SIGMA_M) * scale) ** 2,
                            1.0 / (np.interp(chord, PASS_CHORD_M, PASS_OFFSET_RMS_M) * scale) ** 2])


def _bearing_point(ox: float, oy: float, brg_deg: float, sig_deg: float, r: float, sr: float):
    """A point r along a bearing from (ox, oy) and its 2x2 covariance (elongated along the bearing)."""
    th = math.radians(brg_deg)
    ux, uy = math.sin(th), math.cos(th)
    s_along2 = sr * sr
    s_across2 = (r * r + sr * sr) * math.radians(sig_deg) ** 2
    cxx = s_along2 * ux * ux + s_across2 * uy * uy
    cyy = s_along2 * uy * uy + s_across2 * ux * ux
    cxy = (s_along2 - s_across2) * ux * uy
    return ox + r * ux, oy + r * uy, cxx, cxy, cyy


class Converter:
    """Turns reports into :class:`Measurements` in a theatre's frame.

    Sensor positions are projected once per sensor and cached (sensors do not
    move; a sensor that reports from a new position is re-projected).
    """

    def __init__(self, theatre, config: MeasurementConfig | None = None):
        self.theatre = theatre
        self.cfg = config or MeasurementConfig()
        self._pos: dict[str, tuple[float, float, float, float, float]] = {}
        self._north_cache: dict[tuple[int, int], float] = {}
        c = self.cfg
        # Observer class likelihoods: right with p, else one of the other 4 reportable classes.
        self._obs_ll = {}
        for rep in CLASSES:
            ll = np.full(N_CLASSES, math.log((1 - c.observer_class_correct) / 4))
            ll[_CI[rep]] = math.log(c.observer_class_correct)
            self._obs_ll[rep] = ll
        self._pos_ll = {}
        for rep in CLASSES:
            ll = np.full(N_CLASSES, math.log((1 - c.position_class_correct) / 5))
            ll[_CI[rep]] = math.log(c.position_class_correct)
            self._pos_ll[rep] = ll
        self._adsb_ll = np.full(N_CLASSES, math.log(1e-6))
        self._adsb_ll[_CI["aircraft"]] = 0.0
        self._flat = np.zeros(N_CLASSES)

    def north(self, lat: float, lon: float) -> float:
        """Grid convergence (rad), cached on a 0.05 deg grid (it changes by < 0.04 deg across a cell)."""
        key = (round(lat * 20.0), round(lon * 20.0))
        g = self._north_cache.get(key)
        if g is None:
            g = self._north_cache[key] = float(self.theatre.north_angle(key[0] / 20.0, key[1] / 20.0))
        return g

    def register(self, reports: list[Report]) -> None:
        """Project every fixed sensor of ``reports`` at once (a sensor registry, optional); a
        sensor given more than once is where its last report puts it, as in :meth:`_origins`."""
        # One report per sensor: a night's reports give each sensor thousands of times.
        latest: dict[str, Report] = {}
        for r in reports:
            if type(r) not in _MOVING:
                latest[r.sensor] = r
        if latest:
            self._origins(list(latest.values()))

    def north_many(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """:meth:`north` for arrays: the cells not cached yet are computed in one call."""
        keys = list(zip(np.round(lat * 20.0).astype(int).tolist(), np.round(lon * 20.0).astype(int).tolist(),
                        strict=True))
        cache = self._north_cache
        missing = sorted({k for k in keys if k not in cache})
        if missing:
            ka = np.array(missing, dtype=float) / 20.0
            for k, g in zip(missing, np.atleast_1d(self.theatre.north_angle(ka[:, 0], ka[:, 1])).tolist(),
                            strict=True):
                cache[k] = g
        return np.array([cache[k] for k in keys])

    def _xy(self, sensor: str, lat: float, lon: float) -> tuple[float, float, float]:
        """Frame position (m) and grid convergence (deg) of a sensor, cached."""
        hit = self._pos.get(sensor)
        if hit is not None and hit[0] == lat and hit[1] == lon:
            return hit[2], hit[3], hit[4]
        x, y = self.theatre.to_xy(lat, lon)
        g = math.degrees(self.theatre.north_angle(lat, lon))
        self._pos[sensor] = (lat, lon, float(x), float(y), g)
        return float(x), float(y), g

    def convert(self, reports: list[Report], first_index: int = 0) -> Measurements:
        """Convert ``reports`` (any kinds, any order) into one batch, kind by kind in arrays."""
        n = len(reports)
        codes = [_CODE[type(r)] for r in reports]
        kind = np.array(codes, dtype=np.int64)
        t = np.array([r.time.timestamp() for r in reports])
        sensors = [r.sensor for r in reports]
        z = np.zeros((n, 3))
        R = np.zeros((n, 3, 3))
        ll = np.zeros((n, N_CLASSES))
        vel = np.full((n, 3), np.nan)
        icao: list[str | None] = [None] * n
        presence = np.zeros(n, dtype=bool)
        by: dict[int, list[int]] = {}
        for i, cd in enumerate(codes):
            by.setdefault(cd, []).append(i)
        if 3 in by:
            self._acoustic([reports[i] for i in by[3]], np.array(by[3]), z, R, ll, presence)
        if 0 in by:
            self._radar([reports[i] for i in by[0]], np.array(by[0]), z, R)
        if 4 in by:
            self._observer([reports[i] for i in by[4]], np.array(by[4]), z, R, ll)
        moving = by.get(1, []) + by.get(2, [])
        if moving:
            self._moving(reports, moving, z, R, ll, vel, icao)
        dim = np.where((kind == 3) | (kind == 4), 2, 3)
        return Measurements(t, z, R, dim, kind, sensors, ll, icao, vel,
                            np.arange(first_index, first_index + n), presence)

    def _origins(self, reps) -> np.ndarray:
        """(n, 3) frame x, y (m) and grid convergence (deg) of each report's own sensor position.

        The registry's projection where the report's position is the known one;
        a sensor reporting from elsewhere (an observer's phone moves) is projected
        at that report's position, all such reports in one call.
        """
        pos = self._pos
        out = np.empty((len(reps), 3))
        moved = []
        for i, r in enumerate(reps):
            hit = pos.get(r.sensor)
            if hit is not None and hit[0] == r.lat and hit[1] == r.lon:
                out[i] = hit[2:5]
            else:
                moved.append(i)
        if moved:
            lat = np.array([reps[i].lat for i in moved])
            lon = np.array([reps[i].lon for i in moved])
            x, y = self.theatre.to_xy(lat, lon)
            out[moved, 0], out[moved, 1] = x, y
            # Exact here (not the cached grid): sensor positions are few and kept.
            out[moved, 2] = np.degrees(np.atleast_1d(self.theatre.north_angle(lat, lon)))
            for i in moved:  # the registry keeps each sensor's latest position
                r = reps[i]
                pos[r.sensor] = (r.lat, r.lon, *out[i].tolist())
        return out

    def _acoustic(self, reps: list[AcousticDetection], rows: np.ndarray, z, R, ll,
                  presence: np.ndarray) -> None:
        c = self.cfg
        presence[rows] = True
        origin = self._origins(reps)
        z[rows, :2] = origin[:, :2]
        R[rows, 0, 0] = R[rows, 1, 1] = c.acoustic_sigma_m ** 2
        z[rows, 2] = c.acoustic_alt_m
        R[rows, 2, 2] = c.acoustic_alt_sigma_m ** 2
        ll[rows] = scores_loglik([r.scores for r in reps], c.acoustic_class_weight)
        if c.acoustic_loud_factor != 1.0:
            loud = loud_scored(ll[rows])
            R[rows[loud], 0, 0] = R[rows[loud], 1, 1] = (c.acoustic_loud_factor * c.acoustic_sigma_m) ** 2
        for n, (i, r) in enumerate(zip(rows.tolist(), reps, strict=True)):
            if r.bearing_deg is not None:  # an array node: the bearing wedge instead
                presence[i] = False
                ox, oy, g = origin[n].tolist()
                px, py, cxx, cxy, cyy = _bearing_point(
                    ox, oy, r.bearing_deg + g, r.sigma_bearing_deg, c.acoustic_bearing_range_m,
                    c.acoustic_bearing_range_sigma_m)
                z[i, 0], z[i, 1] = px, py
                R[i, 0, 0], R[i, 0, 1], R[i, 1, 0], R[i, 1, 1] = cxx, cxy, cxy, cyy

    def _observer(self, reps: list[ObserverReport], rows: np.ndarray, z, R, ll) -> None:
        c = self.cfg
        origin = self._origins(reps)
        for n, (i, r) in enumerate(zip(rows.tolist(), reps, strict=True)):
            ox, oy, g = origin[n].tolist()
            px, py, cxx, cxy, cyy = _bearing_point(ox, oy, r.bearing_deg + g, r.sigma_bearing_deg,
                                                   c.observer_range_m, c.observer_range_sigma_m)
            z[i, 0], z[i, 1] = px, py
            R[i, 0, 0], R[i, 0, 1], R[i, 1, 0], R[i, 1, 1] = cxx, cxy, cxy, cyy
            ll[i] = self._obs_ll[r.cls]
        z[rows, 2] = c.observer_alt_m
        R[rows, 2, 2] = c.observer_alt_sigma_m ** 2

    def _radar(self, reps: list[RadarPlot], rows: np.ndarray, z, R) -> None:
        """Polar plots -> frame positions and covariances, vectorised (see :func:`radar_to_frame`)."""
        site = self._origins(reps)
        cols = np.array([(r.range_m, r.azimuth_deg, r.elevation_deg, r.sigma_range_m, r.sigma_azimuth_deg,
                          r.sigma_elevation_deg, r.alt_m) for r in reps])
        z[rows], R[rows] = radar_to_frame(site[:, 0], site[:, 1], site[:, 2], cols[:, 6], *cols[:, :6].T)

    def _moving(self, reports, moving: list[int], z, R, ll, vel, icao) -> None:
        """Partner positions and ADS-B: each report its own position, converted in arrays."""
        c = self.cfg
        reps = [reports[i] for i in moving]
        rows = np.array(moving)
        lat = np.array([r.lat for r in reps])
        lon = np.array([r.lon for r in reps])
        mx, my = self.theatre.to_xy(lat, lon)
        g = self.north_many(lat, lon)
        z[rows, 0], z[rows, 1] = mx, my
        z[rows, 2] = [r.alt_m for r in reps]
        is_pos = np.array([type(r) is PositionReport for r in reps])
        if is_pos.any():
            sel = np.flatnonzero(is_pos)
            rot = _grid_from_enu_many(g[sel])
            cov = np.array([reps[i].cov_enu_m2 for i in sel.tolist()]).reshape(-1, 3, 3)
            R[rows[sel]] = rot @ cov @ np.swapaxes(rot, 1, 2)
            for n_, i in enumerate(sel.tolist()):
                r = reps[i]
                if r.vel_enu_mps is not None:
                    vel[moving[i]] = rot[n_] @ np.asarray(r.vel_enu_mps)
                if r.cls is not None:
                    ll[moving[i]] = self._pos_ll[r.cls]
        if (~is_pos).any():
            sel = np.flatnonzero(~is_pos)
            rr = rows[sel]
            s2 = c.adsb_sigma_m ** 2
            R[rr, 0, 0] = R[rr, 1, 1] = s2
            R[rr, 2, 2] = 4 * s2
            th = np.radians([reps[i].track_deg for i in sel.tolist()]) + g[sel]
            gs = np.array([reps[i].ground_speed_mps for i in sel.tolist()])
            vel[rr, 0], vel[rr, 1] = gs * np.sin(th), gs * np.cos(th)
            vel[rr, 2] = [reps[i].vertical_rate_mps for i in sel.tolist()]
            ll[rr] = self._adsb_ll
            for i in sel.tolist():
                icao[moving[i]] = reps[i].icao.upper()


_CODE = {RadarPlot: 0, PositionReport: 1, AdsbReport: 2, AcousticDetection: 3, ObserverReport: 4}
_MOVING = frozenset((AdsbReport, PositionReport))


def scores_loglik(scores: list[dict[str, float]], w: float) -> np.ndarray:
    """(n, 6) log P(scores | class): a tempered mixture of the scores and a flat prior.

    ``unknown`` mass is spread evenly over the classes: a node that cannot
    tell says nothing. ``w`` is how far the scores are trusted (0..1).
    """
    S = np.array([[sc.get(c, 0.0) for c in CLASSES] for sc in scores]).reshape(-1, N_CLASSES)
    unk = S[:, _CI["unknown"]].copy()
    S[:, _CI["unknown"]] = 0.0
    S += (unk / N_CLASSES)[:, None]
    total = S.sum(axis=1, keepdims=True)
    ok = total[:, 0] > 0.0
    out = np.zeros_like(S)
    out[ok] = np.log(w * S[ok] / total[ok] + (1.0 - w) / N_CLASSES)
    return out


def _grid_from_enu_many(north: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotations from [east, north, up] to the frame at points of grid convergence ``north`` (rad)."""
    c, s = np.cos(north), np.sin(north)
    rot = np.zeros((north.size, 3, 3))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1], rot[:, 2, 2] = c, s, -s, c, 1.0
    return rot


def radar_to_frame(ox, oy, north_deg, alt, rng, az_deg, el_deg, s_r, s_az_deg, s_el_deg):
    """Polar plots -> frame positions (n, 3) and covariances (n, 3, 3), vectorised.

    Azimuths are from true north; the frame's north at each radar is turned by
    the grid convergence ``north_deg``. Altitude is above the radar's ground
    plus the 4/3-earth drop; covariance J diag(sigma^2) J^T with J the
    Jacobian of (x, y, h) with respect to (range, azimuth, elevation).
    """
    az = np.radians(az_deg + north_deg)
    el = np.radians(el_deg)
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    ground = rng * ce
    n = rng.size
    z = np.empty((n, 3))
    z[:, 0] = ox + ground * sa
    z[:, 1] = oy + ground * ca
    z[:, 2] = alt + rng * se + ground * ground / (2.0 * R_EFF_M)
    J = np.empty((n, 3, 3))
    J[:, 0, 0], J[:, 0, 1], J[:, 0, 2] = ce * sa, ground * ca, -rng * se * sa
    J[:, 1, 0], J[:, 1, 1], J[:, 1, 2] = ce * ca, -ground * sa, -rng * se * ca
    J[:, 2, 0], J[:, 2, 1], J[:, 2, 2] = se + ground * ce / R_EFF_M, 0.0, rng * ce - ground * rng * se / R_EFF_M
    s_az, s_el = np.radians(s_az_deg), np.radians(s_el_deg)
    Js = J * np.stack([s_r, s_az, s_el], axis=1)[:, None, :]
    R = Js @ np.swapaxes(Js, 1, 2)
    # J's columns are (nearly) orthogonal, so R's eigenvalues are about sigma_range^2 (>= 1 m^2,
    # model.py), (ground sigma_az)^2 and (range sigma_el)^2. A plot straight overhead (ground 0)
    # or a metre away claims to know a direction to less than a metre, or exactly: a singular
    # R, on which a track's covariance loses its positive definiteness (as a partner's 1e-6 m^2
    # did, model.MIN_VARIANCE_M2). No direction is known better than that floor; ordinary plots
    # (a few hundred metres across) are untouched, bit for bit.
    thin = np.minimum(ground * s_az, rng * s_el) < 1.0
    if thin.any():
        R[thin] += MIN_VARIANCE_M2 * np.eye(3)
    return z, R
