"""Track-to-truth association over time, and the tracking metrics built on it.

metrics.md ("Tracking"). At each evaluation time, every scored track (see
:mod:`airshield.evaluation.sampling`) is assigned to a true object by the
GOSPA assignment (pairs with d < c) between **all** true objects present —
threats and civil aircraft alike — and the tracks. One assignment per time
feeds every metric below. Choices where metrics.md leaves room:

* **GOSPA (threat metrics)** is between the true threats (not civil) and the
  tracks *not assigned to a civil aircraft*: a track on an airliner is
  neither a false track nor a missed threat here (showing it as a threat is
  scored by ``civil_tracks_as_threat``). The restriction of the joint optimal
  assignment to this sub-problem is itself optimal for it, so its cost is the
  GOSPA of the sub-problem. Every scored track takes part whatever its
  ``threat`` flag: GOSPA scores tracking, not classification.
  Times at which no threat is present and no such track exists (GOSPA = 0
  trivially) are left out of the means; ``gospa_per_threat_m`` is the mean of
  GOSPA / max(1, threats present).
* ``position_rmse_m``: √(mean d²) over assigned (time, threat, track) pairs;
  d is horizontal, m.
* **continuity**: per true threat, the distinct track ids assigned over its
  life; ``track_ids_per_threat`` is the mean over threats assigned at least
  once (a never-tracked threat shows as GOSPA misses, not as 0 ids). An
  **id switch** is a change of a threat's assigned track id from one id to a
  different one between consecutive assigned times (gaps are skipped: A, –, A
  is no switch; A, –, B is one).
* ``false_confirmed_tracks``: track ids scored at some time but never
  assigned to any true object. Tracks assigned only to civil aircraft are
  not false (they follow a real object); they are counted in
  ``civil_only_tracks``.
* ``civil_tracks_as_threat``: distinct track ids assigned to a civil aircraft
  at some time while that state's ``threat`` flag was true.
* ``class_accuracy``: share of assigned (time, object, track) samples,
  threats and civil aircraft, whose most probable class equals the true class
  (civil aircraft are class ``aircraft``).
* ``time_to_confirm``: per threat reported by a sensor, the first evaluation
  time at or after its first report time (the earliest ``first_arrival``) it
  is assigned a scored track, minus that first report time; resolution is the
  evaluation step. A track assigned to it earlier follows another threat (a
  drone of the same column): no track can come from reports not yet made.
  ``time_to_confirm_p95_s`` uses numpy's linear-interpolation percentile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .gospa import DEFAULT_C_M, DEFAULT_P, gospa


@dataclass(frozen=True)
class Association:
    """Assignments at every evaluation time.

    Pair arrays (one row per assigned (time, object, track) pair, sorted by
    (k, obj)):

    Attributes:
        k: (P,) evaluation time index.
        obj: (P,) true object index.
        track: (P,) track index.
        sample: (P,) index of the track sample (row of the track samples).
        dist: (P,) horizontal distance, m.

    Per evaluation time (shape (K,)):

    Attributes:
        n_threats: true threats present.
        n_tracks: scored tracks.
        gospa: threat GOSPA distance, m.
        localisation: Σ d^p over threat pairs, m^p.
        missed: threats without a track.
        false: tracks assigned to no true object.
        scored: times that enter the GOSPA means.
        scored_tracks: sorted distinct track indices scored at some time.
    """

    k: np.ndarray
    obj: np.ndarray
    track: np.ndarray
    sample: np.ndarray
    dist: np.ndarray
    n_threats: np.ndarray
    n_tracks: np.ndarray
    gospa: np.ndarray
    localisation: np.ndarray
    missed: np.ndarray
    false: np.ndarray
    scored: np.ndarray
    scored_tracks: np.ndarray


def _bounds(k: np.ndarray, n_times: int) -> np.ndarray:
    return np.searchsorted(k, np.arange(n_times + 1), "left")


def associate(
    n_times: int,
    truth_k: np.ndarray,
    truth_obj: np.ndarray,
    truth_xy: np.ndarray,
    civil: np.ndarray,
    track_k: np.ndarray,
    track_id: np.ndarray,
    track_xy: np.ndarray,
    c: float = DEFAULT_C_M,
    p: float = DEFAULT_P,
) -> Association:
    """Assign tracks to true objects at each evaluation time (GOSPA assignment).

    Args:
        n_times: K, the number of evaluation times.
        truth_k, truth_obj: (N,) time index and object index of each truth
            sample, sorted by time index.
        truth_xy: (N, 2) true positions, m.
        civil: (n_obj,) bool, the object is a civil aircraft (not a threat).
        track_k, track_id: (M,) time index and track index of each track
            sample, sorted by time index.
        track_xy: (M, 2) track positions, m.
        c, p: GOSPA cut-off (m) and order.
    """
    tb, kb = _bounds(truth_k, n_times), _bounds(track_k, n_times)
    half = c**p / 2.0
    n_thr = np.zeros(n_times, np.intp)
    n_trk = np.diff(kb).astype(np.intp)
    loc = np.zeros(n_times)
    missed = np.zeros(n_times, np.intp)
    false = np.zeros(n_times, np.intp)
    pk, po, ps, pd = [], [], [], []
    for k in range(n_times):
        a, b, s, e = tb[k], tb[k + 1], kb[k], kb[k + 1]
        threat_here = ~civil[truth_obj[a:b]]
        n_thr[k] = int(threat_here.sum())
        res = gospa(truth_xy[a:b], track_xy[s:e], c=c, p=p)
        rows, cols = res.assignment[:, 0], res.assignment[:, 1]
        on_threat = threat_here[rows]
        loc[k] = float(np.sum(res.distances[on_threat] ** p))
        missed[k] = n_thr[k] - int(on_threat.sum())
        false[k] = res.false
        pk.append(np.full(len(rows), k))
        po.append(truth_obj[a + rows])
        ps.append(s + cols)
        pd.append(res.distances)
    dist_g = (loc + half * (missed + false)) ** (1.0 / p)
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt)) if pk else (lambda xs, dt: np.empty(0, dt))
    samples = cat(ps, np.intp)
    return Association(
        k=cat(pk, np.intp),
        obj=cat(po, np.intp),
        track=track_id[samples] if len(samples) else np.empty(0, np.intp),
        sample=samples,
        dist=cat(pd, float),
        n_threats=n_thr,
        n_tracks=n_trk,
        gospa=dist_g,
        localisation=loc,
        missed=missed,
        false=false,
        scored=(n_thr > 0) | (false > 0),
        scored_tracks=np.unique(track_id),
    )


def _mean(x: np.ndarray) -> float | None:
    return float(np.mean(x)) if len(x) else None


def gospa_summary(a: Association) -> dict[str, float | int | None]:
    """GOSPA means over the scored evaluation times (metrics.md keys)."""
    s = a.scored
    return {
        "gospa_mean_m": _mean(a.gospa[s]),
        "gospa_per_threat_m": _mean(a.gospa[s] / np.maximum(1, a.n_threats[s])),
        "gospa_localisation_m": _mean(a.localisation[s]),
        "gospa_missed_mean": _mean(a.missed[s]),
        "gospa_false_mean": _mean(a.false[s]),
        "gospa_times": int(s.sum()),
    }


def continuity(a: Association, civil: np.ndarray) -> tuple[dict[int, int], dict[int, int]]:
    """Per true threat: (distinct track ids, id switches), threats assigned ≥ once.

    Args:
        a: the association.
        civil: (n_obj,) bool, civil aircraft (left out).

    Returns:
        Two dicts keyed by object index, sorted.
    """
    m = ~civil[a.obj]
    obj, k, trk = a.obj[m], a.k[m], a.track[m]
    order = np.lexsort((k, obj))
    obj, trk = obj[order], trk[order]
    n = len(civil)
    present = np.unique(obj)
    same = obj[1:] == obj[:-1]
    switched = obj[1:][same & (trk[1:] != trk[:-1])]
    n_switches = np.bincount(switched, minlength=n)
    width = int(trk.max()) + 1 if len(trk) else 1
    distinct = np.unique(obj.astype(np.int64) * width + trk) // width  # distinct (obj, track)
    n_ids = np.bincount(distinct, minlength=n)
    return (
        {int(o): int(n_ids[o]) for o in present},
        {int(o): int(n_switches[o]) for o in present},
    )


def tracking_metrics(
    a: Association,
    grid: np.ndarray,
    civil: np.ndarray,
    truth_cls: Sequence[str] | np.ndarray,
    first_report: np.ndarray,
    track_cls: np.ndarray,
    track_threat: np.ndarray,
) -> dict[str, float | int | None]:
    """All tracking metrics of metrics.md from an association.

    Args:
        a: from :func:`associate`.
        grid: (K,) evaluation times, s.
        civil: (n_obj,) bool, civil aircraft.
        truth_cls: (n_obj,) true class per object (civil → ``aircraft``).
        first_report: (n_obj,) first report time, s, NaN if never reported.
        track_cls: (M,) most probable class per track *sample*.
        track_threat: (M,) ``threat`` flag per track sample.
    """
    truth_cls = np.asarray(truth_cls, dtype=object)
    truth_cls = np.where(civil, "aircraft", truth_cls)
    on_threat = ~civil[a.obj]
    ids, switches = continuity(a, civil)

    d = a.dist[on_threat]
    all_tracks = a.scored_tracks
    assigned_any = np.unique(a.track)
    assigned_threat = np.unique(a.track[on_threat])
    on_civil = ~on_threat
    civil_threat = np.unique(a.track[on_civil & track_threat[a.sample].astype(bool)])

    right = track_cls[a.sample].astype(object) == truth_cls[a.obj]

    # time to confirm: first assigned time per reported threat − first report. A track
    # assigned before the threat's own first report follows another (a column neighbour):
    # no track can come from reports not yet made.
    after = on_threat & (grid[a.k] >= first_report[a.obj])
    first_k = np.full(len(civil), -1)
    objs, first = np.unique(a.obj[after], return_index=True)  # pairs are sorted by k
    first_k[objs] = a.k[after][first]
    reported = ~civil & ~np.isnan(first_report)
    confirmed = reported & (first_k >= 0)
    delays = grid[first_k[confirmed]] - first_report[confirmed]
    never = int(np.sum(reported & (first_k < 0)))
    return gospa_summary(a) | {
        "position_rmse_m": float(np.sqrt(np.mean(d**2))) if len(d) else None,
        "track_ids_per_threat": _mean(np.asarray(list(ids.values()), float)),
        "id_switches": int(sum(switches.values())),
        "threats_tracked": len(ids),
        "tracks_scored": int(len(all_tracks)),
        "false_confirmed_tracks": int(len(np.setdiff1d(all_tracks, assigned_any))),
        "civil_only_tracks": int(len(np.setdiff1d(assigned_any, assigned_threat))),
        "civil_tracks_as_threat": int(len(civil_threat)),
        "class_accuracy": float(np.mean(right)) if len(right) else None,
        "time_to_confirm_p95_s": float(np.percentile(delays, 95)) if len(delays) else None,
        "time_to_confirm_median_s": float(np.median(delays)) if len(delays) else None,
        "threats_reported_never_tracked": never,
    }
