"""The tracker: reports in arrival order in, track events out. Pure and deterministic.

One call, :meth:`Tracker.process`, takes the reports that arrived since the
last call and the current time, and returns the track events that follow:

1. convert the reports to position measurements (measurement.py), in
   measurement-time order;
2. gate them against every live track (a coarse distance screen, then the
   Mahalanobis distance with the manoeuvre mode's noise);
3. assign them, per sensor scan, by global nearest neighbour
   (association.py): a sensor reports each target at most once per look, but
   a track may take reports from several sensors at once;
4. update the assigned tracks with the compiled IMM (kernels.py); a report
   older than its track's state (observers report up to a minute late)
   updates the present state through its cross-covariance with the past
   (docs/decisions/0009);
5. start tentative tracks from what is left (initiation), and
6. manage the tracks: confirmation by corroboration, where a track about to
   be confirmed may instead continue a coasting track (keeping its id) or be
   absorbed by a confirmed one it duplicates (docs/decisions/0008); coasting,
   deletion (management rules in config.py), emitting events.

No clocks, randomness or I/O: the same reports and times give the same events.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from airshield.model import CLASSES, AcousticDetection, Report
from airshield.tracking import classification, kernels
from airshield.tracking.association import assign
from airshield.tracking.config import KINDS, TrackerConfig
from airshield.tracking.measurement import (
    LOUD_IDX,
    Converter,
    Measurements,
    loud_scored,
    pass_increment,
    pass_measurement,
)
from airshield.tracking.motion import mode_q

N_MODES = 2
_I_AIRCRAFT = CLASSES.index("aircraft")
_I_BALLISTIC = CLASSES.index("ballistic")
_THREAT_IDX = np.array([CLASSES.index(c) for c in ("drone", "jet", "cruise", "ballistic")])
_LOCATING = (0, 1, 2)  # radar, position, adsb: kinds that measure a position themselves
_TENTATIVE, _CONFIRMED, _COASTING = 1, 2, 3
_RADAR = 0  # KINDS index of radar plots
_ADSB = 2  # KINDS index of ADS-B reports
_ACOUSTIC = 3  # KINDS index of acoustic reports
_OBSERVER = 4  # KINDS index of observers' reports
#: ADS-B reports of one aircraft a track must take before it counts as that aircraft.
ICAO_CONFIRM_REPORTS = 2
_AIRCRAFT_PROBS = tuple(1.0 if c == "aircraft" else 0.0 for c in CLASSES)
assert CLASSES[:4] == ("drone", "jet", "cruise", "ballistic")  # the threat classes, summed in _state
_LOG_2PI = math.log(2.0 * math.pi)
#: Class probabilities and manoeuvre noise of a track before its first refresh: the prior.
_PRIOR = np.exp(classification.LOG_PRIOR) / np.exp(classification.LOG_PRIOR).sum()
_Q_MAN_NEW = float(mode_q(_PRIOR[None, :])[0, 1])
_log = math.log
#: Sorted kind names of every bit mask of KINDS indices (TrackState.kinds).
_KIND_NAMES = tuple(tuple(sorted(KINDS[i] for i in range(len(KINDS)) if m >> i & 1))
                    for m in range(1 << len(KINDS)))


@dataclass(frozen=True)
class TrackState:
    """A track's state at one time (theatre frame).

    Attributes:
        id: track id, never reused. t: time, s since the epoch.
        status: ``tentative``, ``confirmed``, ``coasting`` or ``deleted``.
        x: (x, y, z, vx, vy, vz), m and m/s. pos_sigma_m: 1-sigma horizontal position error.
        probs: class probabilities in model.CLASSES order. cls: the most probable.
        threat: shown as a threat (confirmed, corroborated, not a cooperative aircraft).
        icao: the cooperative aircraft this track is, or None.
        sensors: distinct sensors that reported it. reports: reports it took.
        vel_sigma_mps: 1-sigma horizontal velocity error, m/s (for path prediction).
        kinds: the report kinds (``radar``, ``acoustic``, ...) behind it, sorted.
        az_mps2, az_sigma_mps2: a ballistic track's vertical acceleration, m/s^2, fitted to
            its recent measured heights, and its 1-sigma; NaN for other tracks, or
            where too few heights were measured (Tracker._vertical_accel).
    """

    id: str
    t: float
    status: str
    x: tuple[float, ...]
    pos_sigma_m: float
    probs: tuple[float, ...]
    cls: str
    threat: bool
    icao: str | None
    sensors: int
    reports: int
    vel_sigma_mps: float = 0.0
    kinds: tuple[str, ...] = ()
    az_mps2: float = math.nan
    az_sigma_mps2: float = math.nan


@dataclass(frozen=True)
class TrackEvent:
    """``kind``: new, updated, confirmed, reclassified, coasting, lost, deleted; and the state."""

    kind: str
    state: TrackState


class _Meta:
    """Book-keeping of one track (what the arrays do not hold)."""

    __slots__ = ("id", "status", "born", "last_update", "n", "sensors", "evidence", "icao",
                 "cls", "first_t", "locating", "kind0", "icao_hits", "kinds", "passes", "heights")

    def __init__(self, tid: str, t: float, kind0: int):
        self.id = tid
        self.status = "tentative"
        self.born = t
        self.last_update = t
        self.first_t = t
        self.n = 0
        self.sensors: dict[str, int] = {}
        self.locating: set[str] = set()
        self.evidence = 0.0
        self.icao: str | None = None
        self.icao_hits: dict[str, int] = {}
        self.cls = "unknown"
        self.kind0 = kind0
        self.kinds = 0  # bit mask of KINDS indices
        #: acoustic node -> its current pass: [first, last] report time (s) and the
        #: information booked along and across the path (1/m^2); Tracker._pass_geometry.
        self.passes: dict[str, list[float]] = {}
        #: (t, height, variance) of its latest measured heights (radar, partners), s, m, m^2;
        #: created at the first, at most TrackerConfig.height_fit_points.
        self.heights: deque | None = None


class Tracker:
    """Multi-sensor multi-target tracker (see module doc).

    Args:
        theatre: the metric frame (airshield.geo.Theatre).
        config: parameters; defaults cite their sources in config.py.
    """

    def __init__(self, theatre, config: TrackerConfig | None = None):
        self.cfg = config or TrackerConfig()
        self.theatre = theatre
        self.converter = Converter(theatre, self.cfg.measurement)
        self._consts = kernels.model_constants()
        self._vz_man = float(self._consts[10][1])  # vertical noise factor of the manoeuvre mode (gating)
        #: Score added by a radar plot above the clutter ceiling (config: radar_clutter_ceiling_m).
        self._high_llr = -math.log(self.cfg.radar_high_clutter_factor)
        cap = 256
        self._x = np.zeros((cap, N_MODES, 6))
        self._P = np.zeros((cap, N_MODES, 6, 6))
        self._mu = np.zeros((cap, N_MODES))
        self._t = np.zeros(cap)
        self._ev = np.zeros((cap, len(CLASSES)))
        self._alive = np.zeros(cap, dtype=bool)
        # Caches, refreshed for the tracks an update touches: combined state, class
        # probabilities, manoeuvre-mode noise, times of the last report and emission.
        self._xc = np.zeros((cap, 6))
        self._Pc = np.zeros((cap, 6, 6))
        self._probs = np.zeros((cap, len(CLASSES)))
        self._qman = np.zeros(cap)
        self._last = np.zeros(cap)
        self._status = np.zeros(cap, dtype=np.int8)
        self._meta: list[_Meta | None] = [None] * cap
        self._last_emit = np.full(cap, -np.inf)
        self._tent_timeout = np.zeros(cap)
        # Processing time until which a tentative track built from a backlog is kept (below).
        self._grace = np.full(cap, -np.inf)
        self._score = np.zeros(cap)
        self._locating = np.zeros(cap, dtype=bool)  # a locating sensor (radar, partner, ADS-B) reported it
        self._n_sensors = np.zeros(cap, dtype=np.int32)  # len(meta.sensors), for vectorised queries
        self._coast_after = np.array([self.cfg.coast_after_s[c] for c in CLASSES])
        # Per report kind (KINDS order), for vectorised track creation.
        self._init_sv = np.array([self.cfg.init_speed_sigma[k] for k in KINDS])
        self._init_svz = np.array([self.cfg.init_vspeed_sigma[k] for k in KINDS])
        self._tent_by_kind = np.array([self.cfg.tentative_timeout_s[k] for k in KINDS])
        self._delete_after = np.array([self.cfg.delete_after_s[c] for c in CLASSES])
        self._top_speed = classification._HIGH + 2.0 * classification.SPEED_SOFT
        self._node_known: set[str] = set()
        self._node_order: list[str] = []
        self._node_index: dict[str, int] = {}
        self._node_new: list = []
        self._node_xy = np.zeros((0, 2))
        self._node_grid = None
        self._next_id = 1
        self._n_reports = 0
        self.now = -np.inf

    # ------------------------------------------------------------------ API

    def register_sensors(self, reports: list[Report]) -> None:
        """Learn the positions of the fixed sensors in ``reports`` at once (optional).

        A sensor registry would know them in advance; without it each new sensor
        is projected when its first report arrives. Changes no output.
        """
        self.converter.register(reports)
        self._learn_nodes(reports)

    def _learn_nodes(self, reports: list[Report]) -> None:
        """Remember where the acoustic nodes are (for negative information)."""
        known = self._node_known
        pos = self.converter._pos
        for r in reports:
            if type(r) is AcousticDetection and r.sensor not in known and r.sensor in pos:
                known.add(r.sensor)
                self._node_index[r.sensor] = len(self._node_order)
                self._node_order.append(r.sensor)
                self._node_new.append(pos[r.sensor][2:4])
        if self._node_new:
            self._node_xy = np.vstack([self._node_xy, np.array(self._node_new)])
            self._node_new = []
            # A grid of the nodes (cells of the negative-information radius) for counting.
            cell = max(self.cfg.negative_radius_m, 1.0)
            keys = kernels.cell_keys(self._node_xy, cell)
            order = np.argsort(keys, kind="stable")
            uk, starts, counts = np.unique(keys[order], return_index=True, return_counts=True)
            rank = np.empty(order.size, dtype=np.int64)  # node index -> its row in the grid order
            rank[order] = np.arange(order.size)
            self._node_grid = (cell, uk, starts.astype(np.int64), (starts + counts).astype(np.int64),
                               np.ascontiguousarray(self._node_xy[order]), rank)


    def _negative(self, reported: set[str]) -> None:
        """Negative information: acoustic nodes that should have heard a tentative track and did not.

        A node within ``negative_radius_m`` of where a well-localised, acoustic-only
        tentative track is predicted now, silent for this batch, lowers the track's
        score by ln(1 - ``negative_pd``): a real drone that close is usually heard
        (domain.md: Pd 0.9 within 1 km, less in cities and above 1.5 km, hence the
        lower Pd used); a coincidence of false alarms is not heard again.
        """
        cfg = self.cfg
        if self._node_grid is None or cfg.negative_pd <= 0.0:
            return
        live = self._live()
        cand = live[(self._status[live] == _TENTATIVE) & ~self._locating[live]]
        if cand.size == 0:
            return
        Pc = self._Pc[cand]
        cand = cand[Pc[:, 0, 0] + Pc[:, 1, 1] <= cfg.negative_max_sigma_m ** 2]
        if cand.size == 0:
            return
        dt = self.now - self._t[cand]
        xy = self._xc[cand, :2] + self._xc[cand, 3:5] * dt[:, None]
        r = cfg.negative_radius_m
        # Nodes near each track, less those among them that reported in this batch.
        cell, uk, starts, ends, pts, rank = self._node_grid
        index = self._node_index
        skip = np.zeros(rank.size, dtype=np.bool_)
        skip[rank[[index[s] for s in reported if s in index]]] = True
        silent = kernels.count_near(np.ascontiguousarray(xy), r, cell, uk, starts, ends, pts, skip)
        hit = np.flatnonzero(silent > 0)
        if hit.size == 0:
            return
        step = math.log(1.0 - cfg.negative_pd)
        for k, n in zip(cand[hit].tolist(), silent[hit].tolist(), strict=True):
            meta = self._meta[k]
            meta.evidence += step * n
            self._score[k] = meta.evidence

    def process(self, reports: list[Report], now: float) -> list[TrackEvent]:
        """Take the reports that arrived up to ``now`` (s since the epoch); return the events."""
        events: list[TrackEvent] = []
        self.now = max(self.now, now)
        if reports:
            m = self.converter.convert(reports, self._n_reports)
            self._n_reports += len(reports)
            order = np.lexsort((m.index, m.t))
            m = m.take(order)
            pairs_m, pairs_t, d2, logdet = self._associate(m)
            touched = self._update(m, pairs_m, pairs_t, d2, logdet)
            assigned = np.zeros(len(m), dtype=bool)
            assigned[pairs_m] = True
            touched |= self._initiate(m, np.flatnonzero(~assigned), events)
            self._learn_nodes(reports)
            self._negative(set(m.sensor))
            if touched:
                ks = sorted(touched)
                best = np.argmax(self._probs[ks], axis=1).tolist()
                for k, b in zip(ks, best, strict=True):
                    if self._alive[k]:  # (not merged into a track it continues)
                        self._after_update(k, CLASSES[b], events, touched)
        self._housekeeping(events)
        return events

    def tracks(self) -> list[TrackState]:
        """States of every live track at its own last time, in id order."""
        return [self._state(k) for k in self._live()]

    def undecided(self, min_sensors: int, min_llr: float) -> tuple[np.ndarray, np.ndarray]:
        """Tentative threat tracks the evidence has not yet decided against.

        A tentative track that at least ``min_sensors`` independent sensors reported, whose
        score (a log-likelihood ratio of "a target" against "false alarms") is at least
        ``min_llr``, a threat class more likely than not. The alert policy lets them hold a
        running alert, never raise one (PolicyConfig.heard_min_llr).

        Returns:
            (k, 2) their positions in the frame, m, and (k,) the times of their last
            reports, s; in slot order (deterministic).
        """
        live = self._live()
        ks = live[(self._status[live] == _TENTATIVE) & (self._score[live] >= min_llr)
                  & (self._n_sensors[live] >= min_sensors)]
        ks = ks[self._probs[ks, :4].sum(axis=1) >= 0.5]
        return self._xc[ks, :2].copy(), self._last[ks].copy()

    # ---------------------------------------------------------- internals

    def _live(self) -> np.ndarray:
        return np.flatnonzero(self._alive)

    def _refresh(self, idx: np.ndarray) -> None:
        """Recompute the caches of tracks ``idx`` after their state changed."""
        kernels.refresh(self._consts, np.ascontiguousarray(idx, dtype=np.int64), self._x, self._P, self._mu, self._ev,
                        self._xc, self._Pc, self._probs, self._qman)

    def _associate(self, m: Measurements) -> tuple[np.ndarray, np.ndarray]:
        live = self._live()
        empty = np.zeros(0, dtype=np.int64)
        t_mid = 0.5 * (m.t.min() + m.t.max())
        # A track silent for long takes reports only through a new track that continues it.
        live = live[(self._status[live] != _COASTING) | (t_mid - self._last[live] <= self.cfg.direct_max_silence_s)]
        if live.size == 0:
            return empty, empty, np.zeros(0), np.zeros(0)
        half = 0.5 * (m.t.max() - m.t.min())
        r_meas = 4.0 * np.sqrt(m.R[:, 0, 0] + m.R[:, 1, 1])
        ti, mj, d2, logdet = kernels.gate(live, self._xc, self._Pc, self._t, self._qman, self._vz_man, m.z, m.R,
                                          m.t, r_meas, self.cfg.gate_chi2, t_mid, half)
        ti, mj, d2, logdet, quiet = self._gate_loud(m, live, ti, mj, d2, logdet, t_mid, half)
        if ti.size == 0:
            return empty, empty, np.zeros(0), np.zeros(0)
        # A cooperative aircraft's ADS-B only ever updates its own track (or a track without one).
        has_icao = m.kind[mj] == _ADSB
        if has_icao.any():
            ok = np.ones(ti.size, dtype=bool)
            for p in np.flatnonzero(has_icao).tolist():
                own = self._meta[int(live[ti[p]])].icao
                if own is not None and own != m.icao[int(mj[p])]:
                    ok[p] = False
            ti, mj, d2, logdet = ti[ok], mj[ok], d2[ok], logdet[ok]
        if ti.size == 0:
            return empty, empty, np.zeros(0), np.zeros(0)
        cost = d2 + logdet
        scan = _scan_keys(m)
        pm, pt, pd2, plogdet = assign(mj, ti, cost, scan[mj], self.cfg.gate_chi2, logdet, d2)
        pt = live[pt]
        if quiet is not None:
            # A quiet-scored report assigned to a loud track is a loud source's: filtered so.
            took = np.isin(pm, quiet) & self._is_loud(pt)
            m.R[pm[took], :2, :2] *= self.cfg.measurement.acoustic_loud_factor ** 2
        return pm, pt, pd2, plogdet

    def _is_loud(self, ks: np.ndarray) -> np.ndarray:
        """(len(ks),) bool: the track's most probable class is a jet drone or a cruise missile."""
        top = np.argmax(self._probs[ks], axis=1)
        return (top == LOUD_IDX[0]) | (top == LOUD_IDX[1])

    def _gate_loud(self, m: Measurements, live: np.ndarray, ti: np.ndarray, mj: np.ndarray, d2: np.ndarray,
                   logdet: np.ndarray, t_mid: float, half: float) -> tuple:
        """The gated pairs, with quiet presence-only reports re-gated as loud against loud tracks.

        Returns (ti, mj, d2, logdet) as :func:`kernels.gate`'s, and the rows of ``m`` re-gated
        (or None).

        How far a node hears a target is the target's property, not the report's:
        a Kh-101 is heard out to ~5 km (domain.md; sim.acoustic's
        ``loud_range_factor``) even when the node's classifier took it for a
        Shahed and the report was given a Shahed's 1 km sigma. Against a track
        whose most probable class is a jet drone or a cruise missile, such a
        report is gated (and, if assigned there, filtered) with the loud sigma.
        Before this (attack:2023-12-28), one such report 5 km from a tracked
        cruise missile fell outside its gate, started a track of its own, and
        that track, sitting nearer the next nodes, took the missile's next
        reports: a "false" duplicate trailing the missile.
        """
        f = self.cfg.measurement.acoustic_loud_factor
        unchanged = ti, mj, d2, logdet, None
        if f <= 1.0:
            return unchanged
        is_loud = self._is_loud(live)
        loud = live[is_loud]
        if loud.size == 0:
            return unchanged
        quiet = np.flatnonzero(m.presence & ~loud_scored(m.cls_loglik))
        if quiet.size == 0:
            return unchanged
        R2 = m.R[quiet].copy()
        R2[:, :2, :2] *= f * f
        r_meas = 4.0 * np.sqrt(R2[:, 0, 0] + R2[:, 1, 1])
        ti2, mj2, d22, ld2 = kernels.gate(loud, self._xc, self._Pc, self._t, self._qman, self._vz_man,
                                          np.ascontiguousarray(m.z[quiet]), R2, m.t[quiet], r_meas,
                                          self.cfg.gate_chi2, t_mid, half)
        if ti2.size == 0:
            return unchanged
        # Replace the loud tracks' pairs with quiet reports by the re-gated ones.
        is_quiet = np.zeros(len(m), dtype=bool)
        is_quiet[quiet] = True
        keep = ~(is_quiet[mj] & is_loud[ti])
        ti2 = np.searchsorted(live, loud[ti2])  # rows into ``live``
        return (np.concatenate([ti[keep], ti2]), np.concatenate([mj[keep], quiet[mj2]]),
                np.concatenate([d2[keep], d22]), np.concatenate([logdet[keep], ld2]), quiet)

    def _update(self, m: Measurements, pm: np.ndarray, pt: np.ndarray, d2: np.ndarray,
                logdet: np.ndarray) -> set[int]:
        """Apply assigned measurements in time order (the compiled filter), then book them."""
        if pm.size == 0:
            return set()
        order = np.lexsort((m.index[pm], m.t[pm]))
        pm, pt, d2, logdet = pm[order], pt[order], d2[order], logdet[order]
        z, R = m.z[pm], m.R[pm]
        handled = np.zeros(pm.size, dtype=bool)
        if self.cfg.acoustic_pass_geometry:
            z, R, handled = self._pass_geometry(m, pm, pt, z, R)
        if self.cfg.acoustic_repeat_r:
            R = self._repeat_r(m, pm, pt, R, handled)
        kernels.filter_pairs(self._consts, pt, z, R, m.t[pm], m.cls_loglik[pm], self._x, self._P, self._mu,
                             self._t, self._ev, self._xc, self._Pc, self._probs, self._qman)
        self._book_heights(pt, m, pm, z, R, fast_only=True)
        self._credit(pt.tolist(), m, pm.tolist(), d2.tolist(), logdet.tolist())
        return set(pt.tolist())

    def _pass_geometry(self, m: Measurements, pm: np.ndarray, pt: np.ndarray, z: np.ndarray,
                       R: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``z``, ``R`` with presence-only acoustic reports placed on their pass's chord.

        Applies where the track's velocity is known well enough to say where along
        its path the node heard it (:func:`~airshield.tracking.measurement.pass_measurement`;
        docs/decisions/0019-acoustic-pass-geometry.md). Elsewhere a report stays
        "at the node" with the isotropic covariance (and :meth:`_repeat_r`'s inflation).

        Returns:
            z, R, and a (len(pm),) bool mask of the reports placed on a chord.
        """
        cfg = self.cfg
        handled = np.zeros(pm.size, dtype=bool)
        rows = np.flatnonzero(m.presence[pm])
        if rows.size == 0:
            return z, R, handled
        ks = pt[rows]
        v = self._xc[ks, 3:5]
        speed = np.hypot(v[:, 0], v[:, 1])
        sv = np.sqrt(0.5 * (self._Pc[ks, 3, 3] + self._Pc[ks, 4, 4]))
        ok = (speed >= cfg.pass_min_speed_mps) & (sv <= cfg.pass_max_speed_sigma_ratio * speed)
        if cfg.pass_confirmed_only:
            ok &= self._status[ks] != _TENTATIVE
        scale = np.where(self._is_loud(ks), cfg.pass_loud_range_factor, 1.0)
        # Pass book-keeping, report by report: a pass's information grows with each, and
        # each report adds what the pass gained since the previous one (pass_increment).
        times = m.t_list()
        along = np.zeros(rows.size)
        gain = np.zeros((rows.size, 2))
        looks = self._prior_looks(m, pm, pt, rows)
        for n, (k, j, good, sp, sc, c) in enumerate(zip(ks.tolist(), pm[rows].tolist(), ok.tolist(), speed.tolist(),
                                                        scale.tolist(), looks, strict=True)):
            meta = self._meta[k]
            s, t = m.sensor[j], times[j]
            cur = meta.passes.get(s)
            if cur is None or t - cur[1] > cfg.pass_gap_s:
                cur = meta.passes[s] = [t, t, 0.0, 0.0]
            elif t > cur[1]:
                cur[1] = t
            elif t < cur[0]:  # a late report from before the pass's first: the pass began then
                cur[0] = t
            l_m = sp * (t - cur[0])
            if good:
                along[n], gain[n, 0], gain[n, 1] = pass_increment(cur, l_m, sc)
            else:
                # At the node, weighted as _repeat_r weighs it (c-th look: c times its R; a loud
                # source's report, or one re-gated as loud, has the wider R).
                g = 1.0 / (float(R[rows[n], 0, 0]) * (c + 1))
                cur[2] += g
                cur[3] += g
        if not ok.any():
            return z, R, handled
        sel = rows[ok]
        z, R = z.copy(), R.copy()
        z[sel, :2], R[sel, :2, :2] = pass_measurement(z[sel, :2], v[ok], along[ok], gain[ok])
        handled[sel] = True
        return z, R, handled

    def _repeat_r(self, m: Measurements, pm: np.ndarray, pt: np.ndarray, R: np.ndarray,
                  skip: np.ndarray | None = None) -> np.ndarray:
        """``R`` with the c-th report of an acoustic node on a track inflated c times.

        A node that hears a drone for a minute reports its own position again
        and again: one fact (the drone passed within ~2 km), not independent
        fixes. Taken as independent, a node's burst pins the track to the node
        with a near-zero velocity, and the next node's first report, a few km
        on, falls outside the gate or costs the track its score. Inflating the
        c-th report's covariance c times keeps a burst's information growing
        like ln(c) instead of c. ``skip``: rows already weighted as a pass's increment.
        """
        kinds = m.kind[pm]
        rows = np.flatnonzero((kinds == _ACOUSTIC) if skip is None else (kinds == _ACOUSTIC) & ~skip)
        if rows.size == 0:
            return R
        R = R.copy()
        for r, c in zip(rows.tolist(), self._prior_looks(m, pm, pt, rows), strict=True):
            if c:
                R[r] *= c + 1
        return R

    def _prior_looks(self, m: Measurements, pm: np.ndarray, pt: np.ndarray, rows: np.ndarray) -> list[int]:
        """For each pair of ``rows`` (in order), the reports its sensor gave its track before it:
        those already booked and those of earlier ``rows``."""
        seen: dict[tuple[int, str], int] = {}
        out = []
        for r in rows.tolist():
            k, s = int(pt[r]), m.sensor[int(pm[r])]
            c = seen.get((k, s))
            if c is None:
                meta = self._meta[k]
                c = meta.sensors.get(s, 0) if meta is not None else 0
            seen[(k, s)] = c + 1
            out.append(c)
        return out

    def _credit(self, ks: list[int], m: Measurements, js: list[int], d2s: list[float] | None = None,
                lds: list[float] | None = None) -> None:
        """Book reports ``js`` on tracks ``ks``: counts, sensors and the track score.

        ``d2s``, ``lds``: each report's squared Mahalanobis distance and ln|S|
        against its track before the update; None for reports that start tracks.
        """
        cfg = self.cfg
        kinds, times, sensors, icaos = m.kind_list(), m.t_list(), m.sensor, m.icao
        lo, hi = cfg.score_window_s
        high = self._above_clutter(m)
        for n, (k, j) in enumerate(zip(ks, js, strict=True)):
            meta = self._meta[k]
            code = kinds[j]
            kind = KINDS[code]
            s = sensors[j]
            t_j = times[j]
            seen = meta.sensors.get(s, 0)
            if d2s is None:
                meta.evidence = cfg.score_init[kind] + (self._high_llr if high is not None and high[j] else 0.0)
            elif meta.status != "tentative":
                pass  # the score only decides confirmation
            elif seen and cfg.repeat_llr[kind] is not None:
                meta.evidence += cfg.repeat_llr[kind] if seen < cfg.long_burst_reports else cfg.long_burst_llr
            else:
                window = min(max(abs(t_j - meta.last_update), lo), hi)
                log_g = -0.5 * (d2s[n] + lds[n]) - 1.5 * _LOG_2PI
                meta.evidence += _log(cfg.pd[kind]) + log_g - _log(cfg.clutter_density[kind] * window)
                if high is not None and high[j]:
                    meta.evidence += self._high_llr
            meta.sensors[s] = seen + 1
            self._n_sensors[k] = len(meta.sensors)
            if code == _ACOUSTIC and d2s is None:  # a report that starts a track starts its pass
                iso = 1.0 / cfg.measurement.acoustic_sigma_m ** 2
                meta.passes[s] = [t_j, t_j, iso, iso]
            self._score[k] = meta.evidence
            meta.kinds |= 1 << code
            if code in _LOCATING:
                meta.locating.add(s)
                self._locating[k] = True
            meta.n += 1
            if t_j > meta.last_update:
                meta.last_update = t_j
                self._last[k] = t_j
            if t_j < meta.first_t:
                meta.first_t = t_j
            if icaos[j] is not None and meta.icao != icaos[j]:
                # A track a cooperative aircraft started is that aircraft. Any other track
                # becomes one only after two of its broadcasts: one stray (or spoofed)
                # ADS-B report must not silence a threat.
                meta.icao_hits[icaos[j]] = meta.icao_hits.get(icaos[j], 0) + 1
                if meta.kind0 == _ADSB or meta.icao_hits[icaos[j]] >= ICAO_CONFIRM_REPORTS:
                    meta.icao = icaos[j]

    def _initiate(self, m: Measurements, idx: np.ndarray, events: list[TrackEvent]) -> set[int]:
        """Tentative tracks from unassigned measurements ``idx`` (in time order).

        Reports of this batch that are close to an earlier one from another
        sensor (two nodes hearing the same new drone) join that report's new
        track instead of starting their own. Closeness is screened for all
        pairs at once: the squared Mahalanobis distance of the two positions
        under both covariances plus the new track's speed prior over the time
        between them; the joining reports then update their tracks in rounds.
        """
        if idx.size == 0:
            return set()
        n = idx.size
        leader = np.arange(n)
        if n > 1:
            sensors = [m.sensor[j] for j in idx.tolist()]
            # A citizen's repeated report of one sighting (another look: not in the same
            # half-second scan, _scan_keys) joins the new track her earlier report is on
            # (repeat_llr: no new evidence), instead of starting a second track that would
            # split the next citizens' evidence. No other kind pairs a sensor's report with
            # its own (a radar's two plots of one scan are two targets).
            observer = (m.kind[idx] == _OBSERVER).tolist()
            scan = _scan_slot(m.t[idx]).tolist()  # of one sensor
            taken: list[set[str]] = [set() for _ in range(n)]
            for b, cands in enumerate(self._initiation_pairs(m, idx)):
                for a in cands:
                    if sensors[b] == sensors[a]:
                        if observer[b] and observer[a] and scan[b] != scan[a]:
                            leader[b] = leader[a]
                            break
                        continue
                    if leader[a] == a and sensors[b] not in taken[a]:
                        leader[b] = a
                        taken[a].add(sensors[b])
                        break
        heads = np.flatnonzero(leader == np.arange(n))
        k_new = self._new_tracks(m, idx[heads])
        track_of = dict(zip(heads.tolist(), k_new.tolist(), strict=True))
        followers = np.flatnonzero(leader != np.arange(n))
        if followers.size:
            k_f = np.array([track_of[int(leader[f])] for f in followers.tolist()])
            j_f = idx[followers]
            d2f, ldf = kernels.pair_distances(k_f, self._xc, self._Pc, self._t, self._qman, self._vz_man, m.z[j_f],
                                              m.R[j_f], m.t[j_f])
            self._update(m, j_f, k_f, d2f, ldf)
        events += [TrackEvent("new", self._state(k)) for k in k_new.tolist()]
        return set(k_new.tolist())

    def _initiation_pairs(self, m: Measurements, idx: np.ndarray, block: int = 256) -> list[list[int]]:
        """For each unassigned measurement ``b`` of ``idx`` (in time order), the earlier ones ``a``
        (ascending) close enough to be the same new target: d^2 of the two positions under both
        covariances plus the new track's speed prior over the time between them below the gate.

        Only ``a`` measured at most its kind's ``tentative_timeout_s`` before ``b`` count: a
        tentative track of ``a`` would have timed out before ``b`` came (in a live run it
        never sees ``b``). That also keeps the work linear in a long batch of late reports
        (a gateway's backlog after an outage, an upload of a night out of order), where
        every pair used to be compared. Rows are done ``block`` at a time against the
        columns within the time band, so a batch of n reports costs O(n x band), not O(n^2).
        """
        n = idx.size
        t = m.t[idx]
        z = m.z[idx, :2]
        R = m.R[idx, :2, :2]
        codes = m.kind[idx]
        sv = self._init_sv[codes]
        loud = self._init_speed(m, idx) > sv  # a jet or cruise missile's report: its wider prior
        timeout = self._tent_by_kind[codes]
        first = np.searchsorted(t, t - float(timeout.max()), "left")  # no a before this can lead b
        out: list[list[int]] = []
        for i0 in range(0, n, block):
            i1 = min(i0 + block, n)
            j0 = int(first[i0])
            tb, ta = t[i0:i1, None], t[None, j0:i1]
            dt = np.abs(tb - ta)
            # The loud prior only between two loud reports: with one, a jet-scored report would
            # gather Shahed-scored reports from nodes up to 250 m/s x 180 s away (a backlog).
            pair_sv = np.maximum(sv[i0:i1, None], sv[None, j0:i1])
            both = loud[i0:i1, None] & loud[None, j0:i1]
            grow = (np.where(both, np.maximum(pair_sv, self.cfg.init_speed_sigma_loud), pair_sv) * dt) ** 2
            S = R[i0:i1, None] + R[None, j0:i1] + grow[..., None, None] * np.eye(2)
            d = z[i0:i1, None, :] - z[None, j0:i1, :]
            det = S[..., 0, 0] * S[..., 1, 1] - S[..., 0, 1] * S[..., 1, 0]
            d2 = (S[..., 1, 1] * d[..., 0] ** 2 - 2 * S[..., 0, 1] * d[..., 0] * d[..., 1]
                  + S[..., 0, 0] * d[..., 1] ** 2) / det
            a_idx = np.arange(j0, i1)
            close = ((d2 < self.cfg.gate_chi2) & (a_idx[None, :] < np.arange(i0, i1)[:, None])
                     & (tb - ta <= timeout[None, j0:i1]))
            out += [(a_idx[np.flatnonzero(row)]).tolist() for row in close]
        return out

    def _new_tracks(self, m: Measurements, js: np.ndarray) -> np.ndarray:
        """Start one tentative track per measurement ``js``; returns their slots.

        Position and its covariance from the measurement; velocity unknown (zero
        with the kind's speed prior) unless the report carries one.
        """
        n = js.size
        free = np.flatnonzero(~self._alive)
        while free.size < n:
            self._grow()
            free = np.flatnonzero(~self._alive)
        k = free[:n]
        codes = m.kind[js]
        sv = self._init_speed(m, js)
        svz = self._init_svz[codes]
        x = np.zeros((n, 6))
        x[:, :3] = m.z[js]
        has_v = ~np.isnan(m.vel[js, 0])
        x[has_v, 3:] = m.vel[js][has_v]
        sv = np.where(has_v, np.minimum(sv, 30.0), sv)
        svz = np.where(has_v, np.minimum(svz, 10.0), svz)
        P = np.zeros((n, 6, 6))
        P[:, :3, :3] = m.R[js]
        P[:, 3, 3] = P[:, 4, 4] = sv * sv
        P[:, 5, 5] = svz * svz
        self._x[k] = x[:, None, :]
        self._P[k] = P[:, None, :, :]
        self._mu[k] = (0.8, 0.2)
        self._t[k] = m.t[js]
        self._ev[k] = m.cls_loglik[js]
        self._alive[k] = True
        self._locating[k] = False
        self._n_sensors[k] = 0
        self._status[k] = _TENTATIVE
        self._last_emit[k] = -np.inf
        self._tent_timeout[k] = self._tent_by_kind[codes]
        self._grace[k] = -np.inf
        # Both modes start equal, so the combined state is the initial one.
        self._xc[k], self._Pc[k] = x, P
        self._probs[k] = _PRIOR
        self._qman[k] = _Q_MAN_NEW
        for kk, j, t in zip(k.tolist(), js.tolist(), m.t[js].tolist(), strict=True):
            self._meta[kk] = _Meta(f"T{self._next_id:06d}", t, int(m.kind[j]))
            self._next_id += 1
            self._last[kk] = t
        self._credit(k.tolist(), m, js.tolist())
        self._book_heights(k, m, js, m.z[js], m.R[js], fast_only=False)  # its speed is not known yet
        self._refresh(k)
        return k

    def _init_speed(self, m: Measurements, js: np.ndarray) -> np.ndarray:
        """(len(js),) sigma of a new track's unknown horizontal speed from measurements ``js``, m/s.

        The kind's prior, widened to ``init_speed_sigma_loud`` for an acoustic report whose
        class scores favour a jet drone or a cruise missile over a Shahed (the test of
        ``measurement.acoustic_loud_factor``): such a target flies at 140-220 m/s
        (domain.md), and a 50 m/s prior held its new tracks' speed down. Not for
        observers: people take Shaheds for jets often enough (night-40 seed 11: 99
        reports) that the wide prior delayed drones' confirmation.
        """
        sv = self._init_sv[m.kind[js]]
        fast = self.cfg.init_speed_sigma_loud
        if fast > 0.0:
            loud = (m.kind[js] == _ACOUSTIC) & loud_scored(m.cls_loglik[js])
            sv = np.where(loud, np.maximum(sv, fast), sv)
        return sv

    def _grow(self) -> None:
        cap = self._alive.size
        self._x = np.concatenate([self._x, np.zeros_like(self._x)])
        self._P = np.concatenate([self._P, np.zeros_like(self._P)])
        self._mu = np.concatenate([self._mu, np.zeros_like(self._mu)])
        self._t = np.concatenate([self._t, np.zeros(cap)])
        self._ev = np.concatenate([self._ev, np.zeros_like(self._ev)])
        self._alive = np.concatenate([self._alive, np.zeros(cap, dtype=bool)])
        self._xc = np.concatenate([self._xc, np.zeros_like(self._xc)])
        self._Pc = np.concatenate([self._Pc, np.zeros_like(self._Pc)])
        self._probs = np.concatenate([self._probs, np.zeros_like(self._probs)])
        self._qman = np.concatenate([self._qman, np.zeros(cap)])
        self._last = np.concatenate([self._last, np.zeros(cap)])
        self._status = np.concatenate([self._status, np.zeros(cap, dtype=np.int8)])
        self._last_emit = np.concatenate([self._last_emit, np.full(cap, -np.inf)])
        self._tent_timeout = np.concatenate([self._tent_timeout, np.zeros(cap)])
        self._grace = np.concatenate([self._grace, np.full(cap, -np.inf)])
        self._score = np.concatenate([self._score, np.zeros(cap)])
        self._locating = np.concatenate([self._locating, np.zeros(cap, dtype=bool)])
        self._n_sensors = np.concatenate([self._n_sensors, np.zeros(cap, dtype=np.int32)])
        self._meta += [None] * cap

    def _confirmable(self, meta: _Meta) -> bool:
        cfg = self.cfg
        if meta.icao is not None:
            return True  # a cooperative aircraft announces itself
        span = meta.last_update - meta.first_t
        if len(meta.sensors) >= cfg.min_sensors and meta.evidence >= cfg.confirm_score:
            return bool(meta.locating) or span >= cfg.min_span_s or meta.evidence >= cfg.span_waiver_score
        if len(meta.locating) == 1 and len(meta.sensors) == 1:
            return (meta.n >= cfg.single_sensor_reports and span >= cfg.single_sensor_span_s
                    and meta.evidence >= cfg.confirm_score)
        return False

    def _above_clutter(self, m: Measurements) -> list[bool] | None:
        """Per measurement: a radar plot measured above ``radar_clutter_ceiling_m`` (by one sigma
        of its height); None if the batch has none (the common case, at no cost)."""
        if self._high_llr == 0.0:
            return None
        cached = getattr(m, "_above_clutter", False)  # once per batch, as Measurements.kind_list
        if cached is not False:
            return cached
        # One sigma below the measured height: an airliner at 12 km, 100 km out, is measured
        # with a ~1.7 km sigma and would cross 15 km in one plot of twenty.
        high = ((m.kind == _RADAR) & (m.dim == 3)
                & (m.z[:, 2] - np.sqrt(np.maximum(m.R[:, 2, 2], 0.0)) > self.cfg.radar_clutter_ceiling_m))
        m._above_clutter = high.tolist() if high.any() else None
        return m._above_clutter

    def _book_heights(self, pt: np.ndarray, m: Measurements, pm: np.ndarray, z: np.ndarray, R: np.ndarray,
                      fast_only: bool) -> None:
        """Keep the measured heights of measurements ``pm`` (positions ``z``, covariances ``R``, as
        applied) on tracks ``pt``, for :meth:`_vertical_accel`: radar and partner plots, and with
        ``fast_only`` only on tracks flying ``height_fit_min_speed_mps`` (a ballistic arc's, which
        the fit is for, not a drone's or an airliner's: memory and time on every plot)."""
        measured = (m.dim[pm] == 3) & (m.kind[pm] != _ADSB)
        if fast_only and measured.any():
            measured &= np.hypot(self._xc[pt, 3], self._xc[pt, 4]) >= self.cfg.height_fit_min_speed_mps
        if not measured.any():
            return
        self._keep_heights(pt[measured], m.t[pm][measured], z[measured, 2], R[measured, 2, 2])

    def _keep_heights(self, pt: np.ndarray, t: np.ndarray, h: np.ndarray, var: np.ndarray) -> None:
        """Append heights ``h`` (m, variance ``var`` m^2, at times ``t``, s) to tracks ``pt``. A
        height older than the fit's window before the track's newest is not kept: a backlog of
        late plots would push the window's heights out."""
        keep, window = self.cfg.height_fit_points, self.cfg.height_fit_window_s
        for k, tt, hh, vv in zip(pt.tolist(), t.tolist(), h.tolist(), var.tolist(), strict=True):
            meta = self._meta[k]
            if meta.heights is None:
                meta.heights = deque(maxlen=keep)
            elif tt < max(x[0] for x in meta.heights) - window:
                continue
            meta.heights.append((tt, hh, vv))

    def _vertical_accel(self, meta: _Meta, t_ref: float) -> tuple[float, float]:
        """(acceleration, 1-sigma), m/s^2: a weighted least-squares fit of h = h0 + v t + a t^2 / 2
        to the track's measured heights of the last ``height_fit_window_s`` before ``t_ref``;
        NaN where fewer than ``height_fit_min_points`` span less than ``height_fit_min_span_s``.

        The filter's motion model has no acceleration, and a ballistic arc's vertical
        speed changes by tens of m/s every second: the arc itself tells how fast it
        comes down (the warning's time to impact, prediction.horizons).
        """
        cfg = self.cfg
        hs = [h for h in (meta.heights or ()) if h[0] >= t_ref - cfg.height_fit_window_s]
        if len(hs) < cfg.height_fit_min_points:
            return math.nan, math.nan
        a = np.array(hs)
        tau = a[:, 0] - t_ref
        if float(tau.max() - tau.min()) < cfg.height_fit_min_span_s:
            return math.nan, math.nan
        w = 1.0 / np.maximum(a[:, 2], 1.0)
        basis = np.column_stack([np.ones_like(tau), tau, 0.5 * tau * tau])
        info = basis.T @ (basis * w[:, None])
        try:
            cov = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            return math.nan, math.nan
        coef = cov @ (basis.T @ (w * a[:, 1]))
        return float(coef[2]), math.sqrt(max(float(cov[2, 2]), 0.0))

    def _after_update(self, k: int, cls: str, events: list[TrackEvent], touched: set[int]) -> None:
        """Status and emission after track ``k`` took reports; ``cls`` its most probable class.

        ``touched``: the tracks that took reports in this call.
        """
        meta = self._meta[k]
        if meta.status == "tentative":
            if self.now - meta.last_update > self._tent_timeout[k]:
                # A backlog (a gateway's reports held through an outage, stamped on arrival):
                # already older than its timeout when it arrives, the track would be dropped
                # at once; it gets its timeout from now, to take the rest of the backlog.
                self._grace[k] = self.now + self._tent_timeout[k]
            if self._confirmable(meta):
                old = self._continued(k, cls, touched)
                if old is not None:
                    self._merge(old, k)
                    self._after_update(old, cls, events, touched)
                    return
                dup = self._duplicate_of(k, cls)
                if dup is not None:
                    self._absorb(dup, k)
                    return
                meta.status = "confirmed"
                self._status[k] = _CONFIRMED
                meta.cls = cls
                self._emit(k, "confirmed", events)
            return
        if meta.status == "coasting":
            if self.now - meta.last_update > self.cfg.coast_after_s[cls]:
                # Only late reports: it is still silent. If they are a backlog (held through an
                # outage, later than any sensor's normal delay) and newer than the state it last
                # showed, it shows where they put it.
                if (meta.last_update > self._last_emit[k]
                        and self.now - meta.last_update > self.cfg.backlog_age_s):
                    self._emit(k, "updated", events)
                return
            meta.status = "confirmed"
            self._status[k] = _CONFIRMED
        if cls != meta.cls:
            meta.cls = cls
            self._emit(k, "reclassified", events)
        elif meta.last_update - self._last_emit[k] >= self.cfg.emit_interval_s:
            self._emit(k, "updated", events)

    def _continued(self, k: int, cls: str, touched: set[int]) -> int | None:
        """The coasting track that tentative track ``k``, about to be confirmed, continues; or None.

        A drone crossing a gap in acoustic coverage falls silent and is heard
        again minutes later, as a new track. Before that track gets an id of its
        own, it is compared with the coasting tracks that fell silent before it
        began: one whose predicted position (with its covariance grown by the
        manoeuvre noise over the gap) gates the new track's position, that
        could have got there at its class's top speed, and whose class agrees,
        is continued instead (the cheapest d^2 + ln|S|, ties by slot). Its id
        carries on; ids are still never reused.
        """
        cfg = self.cfg
        if cfg.continuation_chi2 <= 0.0:
            return None
        meta = self._meta[k]
        if meta.icao is not None:
            return None
        live = self._live()
        cand = live[(self._status[live] == _COASTING) & (self._last[live] < meta.first_t)]
        if cand.size == 0:
            return None
        dt, d2, det = self._horizontal_gate(k, cand)
        xo, Po = self._xc[cand], self._Pc[cand]
        # Reachable at the old track's top speed (its likeliest class's band), within 3 sigma.
        jump = np.hypot(*(self._xc[k, :2] - xo[:, :2]).T)
        top = self._top_speed[np.argmax(self._probs[cand], axis=1)]
        # (max 0: a covariance that rounding left a hair below zero must not stop the night)
        slack = 3.0 * (np.sqrt(np.maximum(Po[:, 0, 0] + Po[:, 1, 1], 0.0))
                       + math.sqrt(max(self._Pc[k, 0, 0] + self._Pc[k, 1, 1], 0.0)))
        ok = (d2 < cfg.continuation_chi2) & (jump <= top * dt + slack) & (det > 0.0)
        best, best_cost = None, math.inf
        for i in np.flatnonzero(ok).tolist():
            c = int(cand[i])
            mc = self._meta[c]
            if c in touched or mc.icao is not None or (mc.cls != cls and "unknown" not in (cls, mc.cls)):
                continue
            cost = float(d2[i]) + math.log(float(det[i]))
            if cost < best_cost:  # ties: the first (lowest) slot
                best, best_cost = c, cost
        return best

    def _horizontal_gate(self, k: int, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dt, d^2, |S|) of track ``k``'s horizontal position against tracks ``cand`` predicted to its time.

        S: both position covariances, the candidates' velocity uncertainty over
        dt and their manoeuvre-mode noise (the track-to-track gate of
        continuation and duplicates).
        """
        dt = self._t[k] - self._t[cand]
        xo, Po = self._xc[cand], self._Pc[cand]
        nu = self._xc[k, :2] - (xo[:, :2] + xo[:, 3:5] * dt[:, None])
        S = (Po[:, :2, :2] + dt[:, None, None] * (Po[:, :2, 3:5] + Po[:, 3:5, :2])
             + (dt * dt)[:, None, None] * Po[:, 3:5, 3:5]
             + (self._qman[cand] * np.abs(dt) ** 3 / 3.0)[:, None, None] * np.eye(2) + self._Pc[k, :2, :2])
        det = S[:, 0, 0] * S[:, 1, 1] - S[:, 0, 1] * S[:, 1, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            d2 = (S[:, 1, 1] * nu[:, 0] ** 2 - 2 * S[:, 0, 1] * nu[:, 0] * nu[:, 1]
                  + S[:, 0, 0] * nu[:, 1] ** 2) / det
        return dt, d2, det

    def _duplicate_of(self, k: int, cls: str) -> int | None:
        """A confirmed track that tentative track ``k`` duplicates (its position gates k's), or None."""
        cfg = self.cfg
        if cfg.duplicate_chi2 <= 0.0 or self._meta[k].icao is not None:
            return None
        live = self._live()
        cand = live[self._status[live] == _CONFIRMED]
        if cand.size == 0:
            return None
        _, d2, det = self._horizontal_gate(k, cand)
        # Beside a jet or cruise missile's track, a track of nodes and observers alone whose
        # reports themselves sound loud is that missile's, whatever class its speed gives it:
        # reports at nodes kilometres apart, minutes after the missile passed, make it slow
        # (decision 0023). A track whose reports sound like a Shahed keeps its own: a real
        # Shahed near a cruise missile must not vanish into the missile's track.
        hearsay = (cfg.duplicate_any_class_near_loud and not self._meta[k].locating and cls != "ballistic"
                   and bool(loud_scored(self._ev[k][None])[0]))
        loud = self._is_loud(cand)
        best, best_d2 = None, cfg.duplicate_chi2
        for i in np.flatnonzero((d2 < cfg.duplicate_chi2) & (det > 0.0)).tolist():
            c = int(cand[i])
            mc = self._meta[c]
            same = mc.cls == cls or "unknown" in (cls, mc.cls) or (hearsay and bool(loud[i]))
            if mc.icao is None and same and d2[i] < best_d2:
                best, best_d2 = c, float(d2[i])
        return best

    def _absorb(self, ko: int, kn: int) -> None:
        """Track ``ko`` keeps its state and takes duplicate ``kn``'s sensors and counts; ``kn`` ends unseen."""
        mo, mn = self._meta[ko], self._meta[kn]
        for sensor, c in mn.sensors.items():
            mo.sensors[sensor] = mo.sensors.get(sensor, 0) + c
        self._n_sensors[ko] = len(mo.sensors)
        mo.n += mn.n
        _take_passes(mo, mn, info=False)  # the survivor never took the duplicate's information
        self._alive[kn] = False
        self._status[kn] = 0
        self._meta[kn] = None

    def _merge(self, ko: int, kn: int) -> None:
        """Track ``ko`` (coasting) continues with new track ``kn``'s state and reports; ``kn`` ends unseen."""
        mo, mn = self._meta[ko], self._meta[kn]
        gap = max(self._t[kn] - self._t[ko], 0.0)
        self._x[ko], self._P[ko], self._mu[ko], self._t[ko] = self._x[kn], self._P[kn], self._mu[kn], self._t[kn]
        self._ev[ko] = self._ev[ko] * math.exp(-gap / classification.EVIDENCE_TAU_S) + self._ev[kn]
        self._refresh(np.array([ko]))
        for sensor, c in mn.sensors.items():
            mo.sensors[sensor] = mo.sensors.get(sensor, 0) + c
        self._n_sensors[ko] = len(mo.sensors)
        mo.locating |= mn.locating
        self._locating[ko] = bool(mo.locating)
        mo.kinds |= mn.kinds
        mo.n += mn.n
        _take_passes(mo, mn, info=True)  # the state, and so the passes, are the new track's
        if mn.heights is not None:  # older heights are from before the gap
            mo.heights = mn.heights
        mo.last_update = max(mo.last_update, mn.last_update)
        self._last[ko] = mo.last_update
        self._alive[kn] = False
        self._status[kn] = 0
        self._meta[kn] = None

    def _emit(self, k: int, kind: str, events: list[TrackEvent], t: float | None = None,
              predict: bool = True) -> None:
        st = self._state(k, t, predict)
        self._last_emit[k] = st.t
        events.append(TrackEvent(kind, st))

    def _housekeeping(self, events: list[TrackEvent]) -> None:
        """Time-driven status changes, vectorised over live tracks; only changes loop."""
        now = self.now
        cfg = self.cfg
        live = self._live()
        if live.size == 0:
            return
        silent = now - self._last[live]
        status = self._status[live]
        tent = status == _TENTATIVE
        if tent.any():
            for k in live[tent][self._score[live[tent]] < cfg.drop_score].tolist():
                self._drop(k, events, emit=False)  # hopeless: far more evidence against than for
            live = self._live()
            silent = now - self._last[live]
            status = self._status[live]
            tent = status == _TENTATIVE
        if tent.any():
            # A tentative track whose score has turned positive (corroborated by more
            # than chance) may wait longer for its next report: drones cross gaps of
            # minutes between acoustic nodes; a false alarm's track does not get there.
            timeout = self._tent_timeout[live[tent]] * np.where(
                self._score[live[tent]] >= 0.0, cfg.promising_timeout_factor, 1.0)
            gone = (silent[tent] > timeout) & (now > self._grace[live[tent]])
            for k in live[tent][gone].tolist():
                self._drop(k, events, emit=False)
        held = ~tent
        if not held.any():
            return
        kh, sh, st = live[held], silent[held], status[held]
        cls_i = np.argmax(self._probs[kh], axis=1)
        Pc = self._Pc[kh]
        sigma_now = np.sqrt(np.maximum(Pc[:, 0, 0] + Pc[:, 1, 1], 0.0)) + sh * np.sqrt(
            np.maximum(Pc[:, 3, 3] + Pc[:, 4, 4], 0.0))
        # A coasting track's growing uncertainty matters only to its continuation, which
        # bounds it by the class's top speed; it is kept until delete_after_s.
        delete = (sh > self._delete_after[cls_i]) | ((sigma_now > cfg.max_pos_sigma_m) & (st == _CONFIRMED))
        coast = ~delete & (st == _CONFIRMED) & (sh > self._coast_after[cls_i])
        if cfg.coast_emit_interval_s is None:
            re_emit = np.zeros(kh.size, dtype=bool)
        else:
            re_emit = ~delete & (st == _COASTING) & (now - self._last_emit[kh] >= cfg.coast_emit_interval_s)
        for k in kh[delete].tolist():
            self._drop(k, events, emit=True)
        for k in kh[coast].tolist():
            self._meta[k].status = "coasting"
            self._status[k] = _COASTING
            self._emit(k, "coasting", events, t=None if self.cfg.coast_state_at_last_report else now)
        for k in kh[re_emit].tolist():
            self._emit(k, "updated", events, t=now)

    def _drop(self, k: int, events: list[TrackEvent], emit: bool) -> None:
        meta = self._meta[k]
        if emit:
            meta.status = "deleted"
            # At the time of deletion, but where it was last seen: a prediction over
            # minutes of silence would put the track where nothing is known to be.
            self._emit(k, "deleted", events, t=self.now, predict=False)
        self._alive[k] = False
        self._status[k] = 0
        self._meta[k] = None

    def _state(self, k: int, t: float | None = None, predict: bool = True) -> TrackState:
        """The state of track ``k`` at time ``t`` if given (predicted there if ``predict``).

        Plain Python on a handful of floats: it runs for every emitted event.
        """
        meta = self._meta[k]
        x = self._xc[k].tolist()
        p = self._Pc[k]
        pxx, pyy = float(p[0, 0]), float(p[1, 1])
        t0 = float(self._t[k])
        sig = math.sqrt(max(pxx + pyy, 0.0))
        vsig = math.sqrt(max(float(p[3, 3]) + float(p[4, 4]), 0.0))
        if t is not None and t > t0 and not predict:
            pass
        elif t is not None and t > t0:
            dt = t - t0
            x[0] += x[3] * dt
            x[1] += x[4] * dt
            x[2] += x[5] * dt
            sig += dt * vsig
        else:
            t = t0
        probs = _AIRCRAFT_PROBS if meta.icao is not None else tuple(self._probs[k].tolist())
        best = max(range(len(probs)), key=probs.__getitem__)
        threat = (meta.status in ("confirmed", "coasting") and len(meta.sensors) >= self.cfg.min_sensors
                  and meta.icao is None and probs[0] + probs[1] + probs[2] + probs[3] >= 0.5)
        kinds = _KIND_NAMES[meta.kinds]
        az = az_sigma = math.nan
        if best == _I_BALLISTIC and meta.heights is not None:
            az, az_sigma = self._vertical_accel(meta, t0)
        return TrackState(meta.id, float(t), meta.status, tuple(x), sig, probs, CLASSES[best], threat,
                          meta.icao, len(meta.sensors), meta.n, vsig, kinds, az, az_sigma)


def _take_passes(mo: _Meta, mn: _Meta, info: bool) -> None:
    """Give track ``mo`` the passes of ``mn`` that began after its own pass of that node
    ended; ``info``: with the information ``mn`` booked (else none: ``mo`` never took it)."""
    for sensor, p in mn.passes.items():
        old = mo.passes.get(sensor)
        if old is None or old[1] < p[0]:
            mo.passes[sensor] = p if info else [p[0], p[1], 0.0, 0.0]


def _scan_slot(t: np.ndarray) -> np.ndarray:
    """(n,) the half-second slot of times ``t`` (s): one sensor's reports in one slot are one scan."""
    return np.floor(t * 2.0).astype(np.int64)


def _scan_keys(m: Measurements) -> np.ndarray:
    """(n,) int key of each measurement's sensor scan: same sensor, within half a second."""
    keys: dict[tuple[str, int], int] = {}
    out = np.empty(len(m), dtype=np.int64)
    tq = _scan_slot(m.t).tolist()
    for i, (s, q) in enumerate(zip(m.sensor, tq, strict=True)):
        out[i] = keys.setdefault((s, q), len(keys))
    return out
