"""The threat picture: a forecast for every threat track, kept current from track events.

:class:`ThreatPicture` is fed the tracker's events batch by batch (pure: the
events and the time in, no clock inside). For every confirmed threat track it
keeps a :class:`Forecast`: the predicted path with its cone, and when the
threat may reach each region and each city. Tracks that took reports are
re-predicted from their new state in one vectorised batch; a coasting track
keeps the forecast of its last real update (its cone already grows with time);
a deleted track stays in the picture as a *lost* threat until
``lost_keep_s`` after its last state or its horizon: the sensors lost it, the
threat is still flying.

Which tracks count:

* **corroborated threats**: the tracker's ``threat`` flag (confirmed, reported
  by at least two independent sensors, not a cooperative aircraft, a threat
  class more likely than not). They can raise alerts.
* **uncorroborated threats**: confirmed by one locating sensor only (a single
  radar), threat class more likely than not, no ADS-B. They can raise
  pre-alerts only: one sensor must not sound a siren (issue #3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from airshield.alerting.events import ThreatRef
from airshield.model import CLASSES
from airshield.warning.config import PREDICTED, WarningConfig
from airshield.warning.prediction import class_index, impacts, predict
from airshield.warning.region_field import RegionField

_THREAT_COLS = np.array([CLASSES.index(c) for c in PREDICTED])


@dataclass
class Forecast:
    """One threat's forecast (theatre frame, SI units).

    Attributes:
        track: track id. t0: time of the state it was predicted from, s.
        cls: predicted class (the most probable threat class). confidence: P(threat).
        corroborated: may raise alerts (see the module docstring).
        lost: the track is coasting or was deleted: nothing has been heard for a while.
        deleted: the tracker has given the track up (it stays here as a lost threat).
        expires: the forecast is dropped after this time, s.
        x, v: (3,) position (m) and velocity (m/s) at ``t0``. sigma_p: 1-sigma position, m.
        sensors: report kinds behind the track.
        region: (q,) region indices (into the picture's ``region_ids``); t_lo, t_last,
            t_in, t_hi: (q,) arrival times, s (prediction.py); NaN where unknown.
        site: (s,) site indices; site_t_lo, site_t_in: (s,) s.
        path_t, path_xy, path_r: the predicted points (k,), (k, 2) and cone radii (k,).
    """

    track: str
    t0: float
    cls: str
    confidence: float
    corroborated: bool
    lost: bool
    expires: float
    x: np.ndarray
    v: np.ndarray
    sigma_p: float
    sensors: tuple[str, ...]
    region: np.ndarray
    t_lo: np.ndarray
    t_last: np.ndarray
    t_in: np.ndarray
    t_hi: np.ndarray
    site: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    site_t_lo: np.ndarray = field(default_factory=lambda: np.zeros(0))
    site_t_in: np.ndarray = field(default_factory=lambda: np.zeros(0))
    path_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    path_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    path_r: np.ndarray = field(default_factory=lambda: np.zeros(0))
    deleted: bool = False

    def position(self, t: float) -> np.ndarray:
        """Predicted (x, y) at time t, m (straight line from the state)."""
        dt = max(t - self.t0, 0.0)
        return self.x[:2] + self.v[:2] * dt


@dataclass(frozen=True)
class Table:
    """Every (forecast, region) impact of the picture as columns, for the alert policy.

    Attributes:
        forecasts: the forecasts, in track-id order; ``row`` indexes them.
        row, region: (q,) forecast and region index of each impact; sub: (q,) its
            index in the forecast's own impact arrays.
        cls: (q,) class index into PREDICTED. corroborated, lost: (q,) bool.
        t_lo, t_last, t_in, t_hi, expires: (q,) s.
    """

    forecasts: list[Forecast]
    row: np.ndarray
    sub: np.ndarray
    region: np.ndarray
    cls: np.ndarray
    corroborated: np.ndarray
    lost: np.ndarray
    t_lo: np.ndarray
    t_last: np.ndarray
    t_in: np.ndarray
    t_hi: np.ndarray
    expires: np.ndarray


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
        self.forecasts: dict[str, Forecast] = {}
        self._table: Table | None = None

    # ------------------------------------------------------------------ updates

    def update(self, events: Sequence, now: float) -> set[str]:
        """Take a batch of track events (tracking.TrackEvent); returns the track ids whose forecast changed."""
        changed: set[str] = set()
        fresh: dict[str, object] = {}
        for e in events:
            st = e.state
            if st.status == "tentative":
                continue
            if e.kind == "deleted":
                fresh.pop(st.id, None)
                f = self.forecasts.get(st.id)
                if f is not None:
                    self._lose(f)
                    f.deleted = True
                    changed.add(st.id)
                continue
            if e.kind == "coasting":
                f = self.forecasts.get(st.id)
                if f is not None and not f.lost:
                    self._lose(f)
                    changed.add(st.id)
                continue
            fresh[st.id] = st
        if fresh:
            changed |= self._predict(list(fresh.values()))
        for tid in [k for k, f in self.forecasts.items() if f.expires < now]:
            del self.forecasts[tid]
            changed.add(tid)
        if changed:
            self._table = None
        return changed

    def _lose(self, f: Forecast) -> None:
        """Mark a forecast lost: it ends after ``lost_keep_s`` or once its cone is wider than ``lost_max_radius_m``."""
        f.lost = True
        wide = np.flatnonzero(f.path_r > self.cfg.lost_max_radius_m)
        end = f.t0 + self.cfg.lost_keep_s
        if wide.size:
            end = min(end, float(f.path_t[wide[0]]))
        f.expires = min(f.expires, end)

    def _predict(self, states: list) -> set[str]:
        """Re-predict the tracks of ``states`` (one batch); drop those that are no longer threats."""
        changed: set[str] = set()
        keep = []
        for st in states:
            kind = _threat_kind(st)
            if kind is None:
                if self.forecasts.pop(st.id, None) is not None:
                    changed.add(st.id)
                continue
            keep.append((st, kind))
        if not keep:
            return changed
        n = len(keep)
        probs = np.array([st.probs for st, _ in keep])
        cls_idx = np.argmax(probs[:, _THREAT_COLS], axis=1)
        t0 = np.array([st.t for st, _ in keep])
        x = np.array([st.x for st, _ in keep])
        sp = np.array([st.pos_sigma_m for st, _ in keep])
        sv = np.array([st.vel_sigma_mps for st, _ in keep])
        paths = predict(self.cfg, t0, x[:, :3], x[:, 3:6], sp, sv, cls_idx)
        vmax = np.array([self.cfg.models[c].max_speed_mps for c in PREDICTED])[cls_idx]
        plausible = np.hypot(x[:, 3], x[:, 4]) <= vmax
        pi, ri, d = self.field.near(paths.x, paths.y)
        imp = impacts(paths, pi, ri, d, self.cfg.cone_k, r_cap=self.field.margin)
        site_imp = None
        if self._site_tree is not None:
            pts = np.column_stack([paths.x, paths.y])
            reach = np.minimum(paths.r, self.field.margin) + self.cfg.site_radius_m
            lists = self._site_tree.query_ball_point(pts, reach)
            counts = np.fromiter((len(li) for li in lists), dtype=np.int64, count=len(lists))
            spi = np.repeat(np.arange(len(lists)), counts)
            sti = np.fromiter((j for li in lists for j in li), dtype=np.int64, count=int(counts.sum()))
            sd = np.hypot(paths.x[spi] - self._site_xy[sti, 0], paths.y[spi] - self._site_xy[sti, 1])
            site_imp = impacts(paths, spi, sti, sd - self.cfg.site_radius_m, self.cfg.cone_k,
                               r_cap=self.field.margin)
        r_bounds = np.searchsorted(imp.track, np.arange(n + 1))
        p_bounds = np.searchsorted(paths.track, np.arange(n + 1))
        s_bounds = np.searchsorted(site_imp.track, np.arange(n + 1)) if site_imp is not None else None
        horizon_end = paths.t[p_bounds[1:] - 1]
        for i, (st, corroborated) in enumerate(keep):
            a, b = r_bounds[i], r_bounds[i + 1]
            pa, pb = p_bounds[i], p_bounds[i + 1]
            f = Forecast(
                track=st.id, t0=float(t0[i]), cls=PREDICTED[int(cls_idx[i])],
                confidence=float(probs[i, _THREAT_COLS].sum()),
                corroborated=corroborated and (bool(plausible[i]) or not self.cfg.implausible_prealert_only), lost=False,
                expires=float(horizon_end[i]), x=x[i, :3].copy(), v=x[i, 3:6].copy(), sigma_p=float(sp[i]),
                sensors=tuple(getattr(st, "kinds", ())),
                region=imp.target[a:b], t_lo=imp.t_lo[a:b], t_last=imp.t_last[a:b], t_in=imp.t_in[a:b],
                t_hi=imp.t_hi[a:b],
                path_t=paths.t[pa:pb], path_xy=np.column_stack([paths.x[pa:pb], paths.y[pa:pb]]),
                path_r=paths.r[pa:pb],
            )
            if s_bounds is not None:
                sa, sb = s_bounds[i], s_bounds[i + 1]
                f.site, f.site_t_lo, f.site_t_in = site_imp.target[sa:sb], site_imp.t_lo[sa:sb], site_imp.t_in[sa:sb]
            self.forecasts[st.id] = f
            changed.add(st.id)
        return changed

    # ------------------------------------------------------------------ queries

    def table(self) -> Table:
        """Every impact as columns (cached until the forecasts change)."""
        if self._table is None:
            fs = [self.forecasts[k] for k in sorted(self.forecasts)]
            counts = np.array([f.region.size for f in fs], dtype=np.int64)
            row = np.repeat(np.arange(len(fs)), counts)
            start = np.concatenate([[0], np.cumsum(counts)[:-1]]) if fs else np.zeros(0, dtype=np.int64)
            sub = np.arange(row.size) - np.repeat(start, counts)

            def cat(name: str, dtype=float) -> np.ndarray:
                return np.concatenate([getattr(f, name) for f in fs]).astype(dtype) if fs else np.zeros(0, dtype)

            def per(values: list, dtype) -> np.ndarray:
                return np.array(values, dtype=dtype)[row] if fs else np.zeros(0, dtype)

            self._table = Table(
                fs, row, sub, cat("region", np.int64), per([class_index(f.cls) for f in fs], np.int64),
                per([f.corroborated for f in fs], bool), per([f.lost for f in fs], bool),
                cat("t_lo"), cat("t_last"), cat("t_in"), cat("t_hi"), per([f.expires for f in fs], float),
            )
        return self._table

    def threat_ref(self, f: Forecast, i: int | None, now: float) -> ThreatRef:
        """A forecast as seen at ``now`` for the reason of an event; ``i`` its impact row in ``f`` (or None)."""
        xy = f.position(now)
        lat, lon = self.theatre.to_latlon(xy[0], xy[1])
        north = float(self.theatre.north_angle(lat, lon))
        # Course over ground from true north: the frame's course turned back by the grid convergence.
        heading = (math.degrees(math.atan2(f.v[0], f.v[1]) + north)) % 360.0
        speed = float(math.hypot(f.v[0], f.v[1]))
        eta = eta_lo = eta_hi = None
        inside = False
        if i is not None:
            t_lo, t_in, t_hi = float(f.t_lo[i]), float(f.t_in[i]), float(f.t_hi[i])
            inside = t_lo <= now
            eta_lo = _round(max(t_lo - now, 0.0))
            eta = None if math.isnan(t_in) else _round(max(t_in - now, 0.0))
            eta_hi = None if math.isnan(t_hi) else _round(max(t_hi - now, 0.0))
        return ThreatRef(
            id=f.track, cls=f.cls, confidence=round(f.confidence, 3), inside=inside, eta_s=eta, eta_lo_s=eta_lo,
            eta_hi_s=eta_hi, lat=round(float(lat), 5), lon=round(float(lon), 5), speed_mps=round(speed, 1),
            heading_deg=round(heading, 1), sensors=f.sensors, lost=f.lost,
        )

    def sites_reached(self, f: Forecast, now: float) -> list[tuple[str, float | None, float]]:
        """(site id, nominal ETA or None, earliest ETA) of the places the forecast may reach, nearest first."""
        out = []
        for j, lo, tin in zip(f.site.tolist(), f.site_t_lo.tolist(), f.site_t_in.tolist(), strict=True):
            out.append((self.sites[j].id, None if math.isnan(tin) else max(tin - now, 0.0), max(lo - now, 0.0)))
        return sorted(out, key=lambda s: (s[2], s[0]))


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
