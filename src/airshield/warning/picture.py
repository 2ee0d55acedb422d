"""The threat picture: a forecast for every threat track, kept current from track events.

:class:`ThreatPicture` is fed the tracker's events batch by batch (pure: the
events and the time in, no clock inside). For every confirmed threat track it
keeps a *forecast*: the predicted path with its cone, and when the threat may
reach each region and each city (prediction.py). Tracks that took reports are
re-predicted from their new state in one vectorised batch; a coasting track
keeps the forecast of its last real update (its cone already grows with time);
a deleted track stays in the picture as a *lost* threat until
``lost_keep_s`` after its last state, its horizon, or the moment its cone is
wider than ``lost_max_radius_m``: the sensors lost it, the threat is still
flying.

Which tracks count:

* **corroborated threats**: the tracker's ``threat`` flag (confirmed, reported
  by at least two independent sensors, not a cooperative aircraft, a threat
  class more likely than not). They can raise alerts.
* **uncorroborated threats**: confirmed by one locating sensor only (a single
  radar), threat class more likely than not, no ADS-B. They can raise
  pre-alerts only: one sensor must not sound a siren (issue #3).

Storage is columnar (one slot per forecast, one row per region impact), so
the alert policy reads every impact of the night's picture as a few arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from airshield.alerting.events import PlaceEta, ThreatRef
from airshield.model import CLASSES
from airshield.warning.config import PREDICTED, WarningConfig
from airshield.warning.kernels import region_impacts
from airshield.warning.prediction import (
    Impacts,
    Paths,
    class_index,
    fall_accel,
    impacts,
    one_track,
    predict,
)
from airshield.warning.region_field import RegionField

_THREAT_COLS = np.array([CLASSES.index(c) for c in PREDICTED])


@dataclass(frozen=True)
class Forecast:
    """One threat's forecast, as a read-only view (theatre frame, SI units).

    Attributes:
        track: track id. t0: time of the state it was predicted from, s.
        cls: predicted class (the most probable threat class). confidence: P(threat).
        corroborated: may raise alerts (see the module docstring).
        lost: the track is coasting or was deleted. deleted: the tracker gave it up.
        expires: the forecast is dropped after this time, s.
        x, v: (3,) position (m) and velocity (m/s) at ``t0`` (``v`` as predicted:
            zero when the track's speed is not one its class can fly).
        sigma_p: 1-sigma horizontal position error, m. sensors: report kinds behind it.
        regions: region ids it may reach; t_lo, t_last, t_in, t_hi: (q,) s (prediction.py).
        sites: (site index, t_lo, t_in) of the places it may reach (computed on request).
        path_t, path_xy, path_r: the predicted points (k,), (k, 2) and cone radii (k,), m.
    """

    track: str
    t0: float
    cls: str
    confidence: float
    corroborated: bool
    lost: bool
    deleted: bool
    expires: float
    x: np.ndarray
    v: np.ndarray
    sigma_p: float
    sensors: tuple[str, ...]
    regions: list[str]
    t_lo: np.ndarray
    t_last: np.ndarray
    t_in: np.ndarray
    t_hi: np.ndarray
    sites: list[tuple[int, float, float]]
    path_t: np.ndarray
    path_xy: np.ndarray
    path_r: np.ndarray

    def position(self, t: float) -> np.ndarray:
        """Predicted (x, y) at time t, m (straight line from the state)."""
        return self.x[:2] + self.v[:2] * max(t - self.t0, 0.0)


@dataclass(frozen=True)
class Table:
    """Every (forecast, region) impact of the picture as columns, for the alert policy.

    Attributes:
        row: (q,) forecast slot of each impact (:meth:`ThreatPicture.track_id`).
        region: (q,) region index (into ``ThreatPicture.region_ids``).
        cls: (q,) class index into PREDICTED. corroborated, lost: (q,) bool.
        t_lo, t_last, t_in, t_hi, expires: (q,) s.
        hold: (q,) s, until when the forecast may still hold a running alert (>= expires).
    """

    row: np.ndarray
    region: np.ndarray
    cls: np.ndarray
    corroborated: np.ndarray
    lost: np.ndarray
    t_lo: np.ndarray
    t_last: np.ndarray
    t_in: np.ndarray
    t_hi: np.ndarray
    expires: np.ndarray
    hold: np.ndarray

    def __len__(self) -> int:
        return int(self.row.size)


_IMP_COLS = ("slot", "region", "t_lo", "t_last", "t_in", "t_hi")


def _empty(cols: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {c: np.zeros(0, dtype=np.int64 if c in ("slot", "region", "site") else float) for c in cols}


class ThreatPicture:
    """Forecasts of every threat, updated from track events (see module doc).

    Args:
        theatre: the metric frame (airshield.geo.Theatre).
        field: signed-distance rasters of the alert regions.
        sites: places to give ETAs for (airshield.geo.Site), or None.
        config: prediction parameters.
    """

    def __init__(self, theatre, field: RegionField, sites: Sequence | None = None,
                 config: WarningConfig | None = None):
        self.cfg = config or WarningConfig()
        self.theatre = theatre
        self.field = field
        self.region_ids = field.ids
        self.sites = list(sites or [])
        if self.sites:
            sx, sy = theatre.to_xy(np.array([s.lat for s in self.sites]), np.array([s.lon for s in self.sites]))
            self._site_xy = np.column_stack([np.atleast_1d(sx), np.atleast_1d(sy)])
            self._site_tree = cKDTree(self._site_xy)
        else:
            self._site_xy = np.zeros((0, 2))
            self._site_tree = None
        big = np.array([s.population >= self.cfg.target_population for s in self.sites], dtype=bool)
        self._big_tree = cKDTree(self._site_xy[big]) if big.any() else None
        # The places inside each region (a place in a raion is also in its oblast).
        self._region_sites: dict[int, np.ndarray] = {}
        if self.sites:
            pi, ri, d = field.near(self._site_xy[:, 0], self._site_xy[:, 1])
            inside = d < 0.0
            for r in np.unique(ri[inside]).tolist():
                self._region_sites[r] = pi[inside & (ri == r)]
        self._rasters = field.rasters()
        self._vmax = np.array([self.cfg.models[c].max_speed_mps for c in PREDICTED])
        cap = 64
        self._slot: dict[str, int] = {}
        self._ids: list[str | None] = [None] * cap
        self._sensors: list[tuple[str, ...]] = [()] * cap
        self._paths: list[tuple[Paths, int, int] | None] = [None] * cap
        self._t0 = np.zeros(cap)
        self._conf = np.zeros(cap)
        self._expires = np.zeros(cap)
        self._hold = np.zeros(cap)  # until when a forecast may still hold a running alert, s
        self._sigma_p = np.zeros(cap)
        self._cls = np.zeros(cap, dtype=np.int64)
        self._corr = np.zeros(cap, dtype=bool)
        self._lost = np.zeros(cap, dtype=bool)
        self._deleted = np.zeros(cap, dtype=bool)
        self._x = np.zeros((cap, 3))
        self._v = np.zeros((cap, 3))
        self._imp = _empty(_IMP_COLS)
        self._table: Table | None = None
        self._superseded_at = -math.inf
        # (path batch, first point, region) -> places reached; dropped with the forecasts.
        self._places_cache: dict[tuple[int, int, int], list] = {}

    # ------------------------------------------------------------------ views

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._slot

    @property
    def track_ids(self) -> list[str]:
        """Ids of the tracks in the picture, sorted."""
        return sorted(self._slot)

    def track_id(self, slot: int) -> str:
        return self._ids[slot]

    def sensors_of(self, slot: int) -> tuple[str, ...]:
        return self._sensors[slot]

    def forecast(self, track_id: str) -> Forecast:
        """A read-only view of one track's forecast (KeyError if it has none)."""
        k = self._slot[track_id]
        imp = self._imp
        sel = np.flatnonzero(imp["slot"] == k)
        paths, a, b = self._paths[k]
        sites: list[tuple[int, float, float]] = []
        if self._site_tree is not None:
            si = self._site_impacts(paths, a, b)
            sites = list(zip(si.target.tolist(), si.t_lo.tolist(), si.t_in.tolist(), strict=True))
        return Forecast(
            track=track_id, t0=float(self._t0[k]), cls=PREDICTED[int(self._cls[k])],
            confidence=float(self._conf[k]), corroborated=bool(self._corr[k]), lost=bool(self._lost[k]),
            deleted=bool(self._deleted[k]), expires=float(self._expires[k]), x=self._x[k].copy(),
            v=self._v[k].copy(), sigma_p=float(self._sigma_p[k]), sensors=self._sensors[k],
            regions=[self.region_ids[i] for i in imp["region"][sel].tolist()], t_lo=imp["t_lo"][sel],
            t_last=imp["t_last"][sel], t_in=imp["t_in"][sel], t_hi=imp["t_hi"][sel],
            sites=sites,
            path_t=paths.t[a:b], path_xy=np.column_stack([paths.x[a:b], paths.y[a:b]]), path_r=paths.r[a:b],
        )

    def forecasts(self) -> list[Forecast]:
        """Every forecast, in track-id order."""
        return [self.forecast(t) for t in self.track_ids]

    def counts(self, now: float) -> tuple[dict[str, int], int]:
        """(class -> number of forecasts in force at ``now``, how many of them are lost)."""
        ks = [k for k in self._slot.values() if self._expires[k] >= now]
        by: dict[str, int] = {}
        for k in ks:
            c = PREDICTED[int(self._cls[k])]
            by[c] = by.get(c, 0) + 1
        return by, sum(1 for k in ks if self._lost[k])

    def positions(self, now: float, live_only: bool = False) -> tuple[list[str], np.ndarray]:
        """(track ids, (n, 2) predicted positions at ``now``) of the corroborated threats.

        ``live_only``: leave out deleted tracks (the naive baseline's "confirmed threat").
        """
        ks = [k for t, k in sorted(self._slot.items()) if self._corr[k] and not (live_only and self._deleted[k])]
        if not ks:
            return [], np.zeros((0, 2))
        ka = np.array(ks)
        dt = np.maximum(now - self._t0[ka], 0.0)
        return [self._ids[k] for k in ks], self._x[ka, :2] + self._v[ka, :2] * dt[:, None]

    # ------------------------------------------------------------------ updates

    def update(self, events: Sequence, now: float) -> set[str]:
        """Take a batch of track events (tracking.TrackEvent); returns the track ids whose forecast changed."""
        changed: set[str] = set()
        fresh: dict[str, object] = {}
        for e in events:
            st = e.state
            if st.status == "tentative":
                continue
            if e.kind in ("deleted", "coasting"):
                seen = fresh.pop(st.id, None)
                if seen is not None:
                    # Confirmed (or taken up again, or updated) and lost in one step: an
                    # observer's report that arrives a minute late can confirm a track whose
                    # last report is already older than its coasting time. Predict it from
                    # that state first, or its loss would erase it (a new track) or keep
                    # the forecast of its previous loss (a track taken up again).
                    changed |= self._predict([seen])
                k = self._slot.get(st.id)
                if k is not None and (e.kind == "deleted" or not self._lost[k]):
                    self._lose(k)
                    self._deleted[k] |= e.kind == "deleted"
                    changed.add(st.id)
                continue
            fresh[st.id] = st
        if fresh:
            changed |= self._predict([st for st in fresh.values() if not self._still_good(st)])
        gone = [t for t, k in self._slot.items() if self._hold[k] < now]
        if now - self._superseded_at >= self.cfg.supersede_every_s:
            self._superseded_at = now
            superseded = self._superseded(now, set(gone))
            if self.cfg.superseded_holds and self.cfg.lost_wide_holds:
                # Another drone may stand for it, or not: it starts nothing, but still holds.
                for t in superseded:
                    k = self._slot[t]
                    if self._expires[k] >= now:
                        self._expires[k] = now - 1e-6
                        changed.add(t)
            else:
                gone += superseded
        if gone:
            self._remove([self._slot[t] for t in gone])
            changed.update(gone)
        if changed:
            self._table = None
        return changed

    def _superseded(self, now: float, skip: set[str]) -> list[str]:
        """Lost threats that a live track now stands for: a live threat of the same class is
        inside the lost one's cone (the tracker lost the threat and picked it up again under a
        new id, or a neighbour in its column goes the same way)."""
        lost = [k for t, k in self._slot.items() if self._lost[k] and t not in skip
                and (not self.cfg.superseded_holds or self._expires[k] >= now)]  # (not one already held)
        live = [k for k in self._slot.values() if not self._lost[k] and self._corr[k]]
        if not lost or not live or not self.cfg.supersede_lost:
            return []
        lk, la = np.array(lost), np.array(live)
        cx, cy = self._at(lk, now)
        lx, ly = self._at(la, now)
        r = np.array([self._radius_at(k, now) for k in lost])
        inside = np.hypot(cx[:, None] - lx[None, :], cy[:, None] - ly[None, :]) <= r[:, None]
        same = self._cls[lk][:, None] == self._cls[la][None, :]
        return [self._ids[k] for k in lk[np.any(inside & same, axis=1)].tolist()]

    def _at(self, ks: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Predicted (x, y) of forecasts ``ks`` at ``now``, m."""
        dt = np.maximum(now - self._t0[ks], 0.0)
        return self._x[ks, 0] + self._v[ks, 0] * dt, self._x[ks, 1] + self._v[ks, 1] * dt

    def _radius_at(self, k: int, now: float) -> float:
        """The cone radius of forecast ``k`` at ``now`` (its last point's beyond the horizon), m."""
        paths, a, b = self._paths[k]
        if b - a < 2:
            return float(paths.r[a])
        step = paths.t[a + 1] - paths.t[a]
        i = min(a + max(int(math.ceil((now - paths.t[a]) / step)), 0), b - 1)
        return float(paths.r[i])

    def _still_good(self, st) -> bool:
        """True when a live track's new state is what its forecast said (no re-prediction needed).

        A forecast is refreshed at least every ``repredict_s``, and at once when the
        track's class or corroboration changed or it has strayed more than one
        sigma from its predicted path (a dog-leg shows at once).
        """
        k = self._slot.get(st.id)
        if k is None or self._lost[k] or st.t - self._t0[k] >= self.cfg.repredict_s:
            return False
        if self._cls[k] == _BALLISTIC:
            return False  # each state refines its arc, and so its time to impact
        kind = _threat_kind(st)
        if kind is None or kind != self._corr[k]:
            return False
        probs = st.probs
        if max(range(len(_THREAT_COLS)), key=lambda i: probs[_THREAT_COLS[i]]) != self._cls[k]:
            return False
        paths, a, b = self._paths[k]
        i = min(a + int(np.searchsorted(paths.t[a:b], st.t)), b - 1)
        sigma = paths.r[i] / self.cfg.cone_k
        dt = st.t - self._t0[k]
        px = self._x[k, 0] + self._v[k, 0] * dt
        py = self._x[k, 1] + self._v[k, 1] * dt
        return math.hypot(st.x[0] - px, st.x[1] - py) <= max(sigma, st.pos_sigma_m)

    def _lose(self, k: int) -> None:
        """Mark a forecast lost. It ends after ``lost_keep_s``, once its cone is wider than
        ``lost_max_radius_m``, ``target_end_s`` after it was lost over a big city (its likely
        target), or, for a drone lost in a dive, soon after it would have hit the ground
        (domain.md: Shaheds end in a terminal dive). With ``lost_wide_holds``, a cone grown
        too wide no longer starts alerts but still holds running ones until ``lost_keep_s``;
        with ``target_end_holds`` so does a threat lost over a big city (a dive still ends both)."""
        self._lost[k] = True
        paths, a, b = self._paths[k]
        keep = self._t0[k] + self.cfg.lost_keep_s
        wide = np.flatnonzero(paths.r[a:b] > self.cfg.lost_max_radius_m)
        too_wide = float(paths.t[a + wide[0]]) if wide.size else math.inf
        city = dive = math.inf  # the threat has most likely hit its target or the ground
        if self._big_tree is not None and self.cfg.target_end_s is not None and self._big_tree.query_ball_point(
                self._x[k, :2], self.cfg.target_radius_m, return_length=True) > 0:
            city = self._t0[k] + self.cfg.target_end_s
        vz = float(self._v[k, 2])
        if PREDICTED[int(self._cls[k])] == "drone" and vz < -self.cfg.dive_vz_mps:
            to_ground = max(float(self._x[k, 2]), 0.0) / -vz
            dive = self._t0[k] + min(to_ground, self.cfg.dive_max_s) + self.cfg.dive_after_s
        gone = min(city, dive)
        end = min(keep, too_wide, gone)
        hold = min(keep, dive if self.cfg.target_end_holds else gone) if self.cfg.lost_wide_holds else end
        # min with what was set before: a track lost twice (coasting, then deleted) keeps the
        # earlier ends; hold >= end, so the hold never ends before the forecast does.
        self._hold[k] = min(self._hold[k], hold)
        self._expires[k] = min(self._expires[k], end)

    def _remove(self, slots: list[int]) -> None:
        if not slots:
            return
        for k in slots:
            del self._slot[self._ids[k]]
            self._ids[k] = None
            paths, a, _ = self._paths[k]
            for r in [key for key in self._places_cache if key[0] == id(paths) and key[1] == a]:
                del self._places_cache[r]
            self._paths[k] = None
        drop = np.array(slots, dtype=np.int64)
        keep = ~np.isin(self._imp["slot"], drop)
        self._imp = {c: a[keep] for c, a in self._imp.items()}

    def _free_slots(self, n: int) -> list[int]:
        free = [k for k, i in enumerate(self._ids) if i is None]
        while len(free) < n:
            cap = len(self._ids)
            self._ids += [None] * cap
            self._sensors += [()] * cap
            self._paths += [None] * cap
            for name in ("_t0", "_conf", "_expires", "_hold", "_sigma_p", "_cls", "_corr", "_lost", "_deleted", "_x", "_v"):
                a = getattr(self, name)
                setattr(self, name, np.concatenate([a, np.zeros_like(a)]))
            free = [k for k, i in enumerate(self._ids) if i is None]
        return free[:n]

    def _predict(self, states: list) -> set[str]:
        """Re-predict the tracks of ``states`` (one batch); drop those that are no longer threats."""
        changed: set[str] = set()
        keep, kinds = [], []
        drop = []
        for st in states:
            kind = _threat_kind(st)
            if kind is None:
                if st.id in self._slot:
                    drop.append(self._slot[st.id])
                    changed.add(st.id)
                continue
            keep.append(st)
            kinds.append(kind)
        self._remove(drop + [self._slot[st.id] for st in keep if st.id in self._slot])
        if not keep:
            return changed
        n = len(keep)
        probs = np.array([st.probs for st in keep])
        cls_idx = np.argmax(probs[:, _THREAT_COLS], axis=1)
        t0 = np.array([st.t for st in keep])
        x = np.array([st.x for st in keep])
        sp = np.array([st.pos_sigma_m for st in keep])
        sv = np.array([st.vel_sigma_mps for st in keep])
        fall = fall_accel(self.cfg, np.array([st.az_mps2 for st in keep]), np.array([st.az_sigma_mps2 for st in keep]))
        paths = predict(self.cfg, t0, x[:, :3], x[:, 3:6], sp, sv, cls_idx, fall)
        plausible = np.hypot(x[:, 3], x[:, 4]) <= self._vmax[cls_idx]
        imp = Impacts(*region_impacts(paths.track, paths.step, paths.t, paths.x, paths.y, paths.r,
                                      paths.sigma_along, paths.speed, n, self.field.margin, self.cfg.cone_k,
                                      *self._rasters))
        slots = np.array(self._free_slots(n), dtype=np.int64)
        v = x[:, 3:6].copy()
        v[~plausible, :2] = 0.0  # as predicted: an implausible course is not extrapolated
        corr = np.array(kinds, dtype=bool)
        bounds = np.searchsorted(paths.track, np.arange(n + 1))
        self._t0[slots], self._cls[slots], self._x[slots], self._v[slots] = t0, cls_idx, x[:, :3], v
        self._conf[slots] = probs[:, _THREAT_COLS].sum(axis=1)
        self._sigma_p[slots] = sp
        self._corr[slots] = corr
        self._lost[slots] = self._deleted[slots] = False
        self._expires[slots] = self._hold[slots] = paths.t[bounds[1:] - 1]
        for i, (st, k) in enumerate(zip(keep, slots.tolist(), strict=True)):
            self._slot[st.id] = k
            self._ids[k] = st.id
            self._sensors[k] = tuple(st.kinds)
            self._paths[k] = (paths, int(bounds[i]), int(bounds[i + 1]))
            changed.add(st.id)
        self._append(self._imp, imp, slots, "region")
        return changed

    def path_of(self, track_id: str) -> Paths:
        """One track's predicted points as a one-track :class:`Paths` (views: the picture never
        changes a path in place, it predicts a new one), KeyError if it has no forecast."""
        paths, a, b = self._paths[self._slot[track_id]]
        return one_track(paths, a, b)

    def _site_impacts(self, paths: Paths, a: int, b: int) -> Impacts:
        """When the path points ``a:b`` of ``paths`` (one track) may reach each place."""
        paths = one_track(paths, a, b)
        pts = np.column_stack([paths.x, paths.y])
        reach = np.minimum(paths.r, self.field.margin) + self.cfg.site_radius_m
        lists = self._site_tree.query_ball_point(pts, reach)
        counts = np.fromiter((len(li) for li in lists), dtype=np.int64, count=len(lists))
        spi = np.repeat(np.arange(len(lists)), counts)
        sti = np.fromiter((j for li in lists for j in li), dtype=np.int64, count=int(counts.sum()))
        sd = np.hypot(paths.x[spi] - self._site_xy[sti, 0], paths.y[spi] - self._site_xy[sti, 1])
        return impacts(paths, spi, sti, sd - self.cfg.site_radius_m, self.cfg.cone_k, r_cap=self.field.margin)

    @staticmethod
    def _append(store: dict[str, np.ndarray], imp: Impacts, slots: np.ndarray, target: str) -> None:
        new = {"slot": slots[imp.track], target: imp.target, "t_lo": imp.t_lo, "t_last": imp.t_last,
               "t_in": imp.t_in, "t_hi": imp.t_hi}
        for c in store:
            store[c] = np.concatenate([store[c], new[c]])

    # ------------------------------------------------------------------ queries

    def table(self) -> Table:
        """Every impact as columns, sorted by region (cached until the picture changes)."""
        if self._table is None:
            imp = self._imp
            o = np.argsort(imp["region"], kind="stable")  # by region, then in insertion order
            s = imp["slot"][o]
            self._table = Table(s, imp["region"][o], self._cls[s], self._corr[s], self._lost[s], imp["t_lo"][o],
                                imp["t_last"][o], imp["t_in"][o], imp["t_hi"][o], self._expires[s],
                                self._hold[s])
        return self._table

    def describe(self, rows: Sequence[int], now: float, table: Table | None = None) -> list[ThreatRef]:
        """The threats of impact ``rows`` (of :meth:`table`) as seen at ``now``, for an event's reason."""
        tab = table or self.table()
        if not len(rows):
            return []
        r = np.asarray(rows, dtype=np.int64)
        k = tab.row[r]
        dt = np.maximum(now - self._t0[k], 0.0)
        px = self._x[k, 0] + self._v[k, 0] * dt
        py = self._x[k, 1] + self._v[k, 1] * dt
        lat, lon = self.theatre.to_latlon(px, py)
        lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
        north = np.atleast_1d(self.theatre.north_angle(lat, lon))
        # Course over ground from true north: the frame's course turned by the grid convergence.
        heading = np.degrees(np.arctan2(self._v[k, 0], self._v[k, 1]) + north) % 360.0
        speed = np.hypot(self._v[k, 0], self._v[k, 1])
        out = []
        for j, (slot, i) in enumerate(zip(k.tolist(), r.tolist(), strict=True)):
            t_lo, t_in, t_hi = float(tab.t_lo[i]), float(tab.t_in[i]), float(tab.t_hi[i])
            out.append(ThreatRef(
                id=self._ids[slot], cls=PREDICTED[int(self._cls[slot])], confidence=round(float(self._conf[slot]), 3),
                inside=bool(t_lo <= now), eta_s=None if math.isnan(t_in) else _round(max(t_in - now, 0.0)),
                eta_lo_s=_round(max(t_lo - now, 0.0)),
                eta_hi_s=None if math.isnan(t_hi) else _round(max(t_hi - now, 0.0)),
                lat=round(float(lat[j]), 5), lon=round(float(lon[j]), 5), speed_mps=round(float(speed[j]), 1),
                heading_deg=round(float(heading[j]), 1), sensors=self._sensors[slot], lost=bool(self._lost[slot]),
            ))
        return out

    def places(self, rows: Sequence[int], now: float, table: Table | None = None, limit: int = 5) -> list[PlaceEta]:
        """Cities of the region of impact ``rows`` (one region) that those threats may reach, soonest first."""
        tab = table or self.table()
        if not len(rows):
            return []
        sites = self._region_sites.get(int(tab.region[rows[0]]))
        if sites is None or not sites.size:
            return []
        region = int(tab.region[rows[0]])
        best: dict[int, tuple[float, float]] = {}  # site -> (earliest, nominal) arrival
        for slot in dict.fromkeys(tab.row[np.asarray(rows)].tolist()):
            for j, lo, last, tin in self._slot_places(slot, region, sites):
                if last < now:
                    continue  # passed already
                old = best.get(j, (math.inf, math.inf))
                best[j] = (min(old[0], lo), min(old[1], math.inf if math.isnan(tin) else tin))
        out = []
        for j, (lo, tin) in sorted(best.items(), key=lambda kv: (kv[1][0], kv[0]))[:limit]:
            site = self.sites[int(sites[j])]
            out.append(PlaceEta(id=site.id, name=site.name, name_uk=site.name_uk,
                                eta_s=None if math.isinf(tin) else _round(max(tin - now, 0.0)),
                                eta_lo_s=_round(max(lo - now, 0.0))))
        return out

    def _slot_places(self, slot: int, region: int, sites: np.ndarray) -> list[tuple[int, float, float, float]]:
        """(site index in ``sites``, t_lo, t_last, t_in) of one forecast against one region's places
        (absolute times: cached until the forecast is made again)."""
        paths, a, b = self._paths[slot]
        key = (id(paths), a, region)
        hit = self._places_cache.get(key)
        if hit is not None:
            return hit
        sub = Paths(np.zeros(b - a, dtype=np.int64), paths.step[a:b], paths.t[a:b], paths.x[a:b],
                    paths.y[a:b], paths.r[a:b], paths.sigma_along[a:b], paths.speed[paths.track[a:a + 1]])
        pi = np.repeat(np.arange(b - a), sites.size)
        si = np.tile(np.arange(sites.size), b - a)
        d = np.hypot(sub.x[pi] - self._site_xy[sites[si], 0], sub.y[pi] - self._site_xy[sites[si], 1])
        imp = impacts(sub, pi, si, d - self.cfg.site_radius_m, self.cfg.cone_k, r_cap=self.field.margin)
        out = list(zip(imp.target.tolist(), imp.t_lo.tolist(), imp.t_last.tolist(), imp.t_in.tolist(),
                       strict=True))
        self._places_cache[key] = out
        return out

    def sites_reached(self, track_id: str, now: float) -> list[tuple[str, float | None, float]]:
        """(site id, nominal ETA or None, earliest ETA) of the places a track may reach, nearest first."""
        f = self.forecast(track_id)
        out = [(self.sites[j].id, None if math.isnan(tin) else max(tin - now, 0.0), max(lo - now, 0.0))
               for j, lo, tin in f.sites]
        return sorted(out, key=lambda s: (s[2], s[0]))


_BALLISTIC = class_index("ballistic")


def _threat_kind(st) -> bool | None:
    """True: a corroborated threat; False: an uncorroborated one; None: not a threat to predict."""
    if st.status not in ("confirmed", "coasting") or st.icao is not None:
        return None
    if st.threat:
        return True
    p_threat = sum(st.probs[c] for c in _THREAT_COLS.tolist())
    return False if p_threat >= 0.5 else None


def _round(s: float) -> float:
    return round(s, 1)

