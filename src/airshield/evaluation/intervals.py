"""Time intervals: alert intervals from alert events, unions and overlaps.

Times are float seconds since the Unix epoch (UTC). An interval is a pair
``(start, end)`` with ``start <= end``; an alert still open at the end of a
run has ``end = None`` until it is clipped with :func:`closed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

#: The region state that counts as "in alert" (docs/formats.md, "Alerts").
ALERT_STATE = "alert"


@dataclass(frozen=True)
class AlertInterval:
    """One alert in one region.

    Attributes:
        region: region id.
        start: time of the event that put the region into ``alert``, s.
        end: time of the event that took it out of ``alert`` (the all-clear), s,
            or None if the region was still in alert at the end of the run.
        alert_id: id of the alert, from the starting event ("" if unknown).
    """

    region: str
    start: float
    end: float | None
    alert_id: str = ""


def alert_intervals(
    region: Sequence[str],
    t: Sequence[float],
    state: Sequence[str],
    alert_id: Sequence[str] | None = None,
) -> dict[str, list[AlertInterval]]:
    """Alert intervals per region from alert events (docs/formats.md, "Alerts").

    "An alert lasts from the event that puts the region into ``alert`` to the
    event that takes it out of ``alert`` (the all-clear)": events are walked
    per region in time order (ties in input order); ``update`` events that
    keep the state ``alert`` do not split an alert, pre-alerts do not count.

    Args:
        region, t, state, alert_id: equal-length columns of the events.

    Returns:
        region id → its alerts in time order; regions sorted by id.
    """
    n = len(t)
    ids = list(alert_id) if alert_id is not None else [""] * n
    tt = np.asarray(t, dtype=float)
    regs = np.asarray(region, dtype=object)
    order = np.lexsort((np.arange(n), tt, regs.astype(str))) if n else np.arange(0)
    out: dict[str, list[AlertInterval]] = {}
    open_start: dict[str, tuple[float, str]] = {}
    for i in order:
        r, ti, in_alert = str(regs[i]), float(tt[i]), state[i] == ALERT_STATE
        out.setdefault(r, [])
        if in_alert and r not in open_start:
            open_start[r] = (ti, ids[i])
        elif not in_alert and r in open_start:
            s, aid = open_start.pop(r)
            out[r].append(AlertInterval(r, s, ti, aid))
    for r in sorted(open_start):
        s, aid = open_start[r]
        out[r].append(AlertInterval(r, s, None, aid))
    return {r: out[r] for r in sorted(out)}


def closed(start: float, end: float | None, t_end: float) -> tuple[float, float]:
    """(start, end) with an open end (None) replaced by ``max(start, t_end)``."""
    return start, max(start, t_end) if end is None else end


def union(intervals: Iterable[tuple[float, float]]) -> np.ndarray:
    """Union of intervals as a (k, 2) array of disjoint, sorted intervals.

    Intervals that touch (one ends where the next starts) are merged.
    """
    arr = np.asarray(sorted(intervals), dtype=float).reshape(-1, 2)
    if len(arr) == 0:
        return arr
    merged = [list(arr[0])]
    for s, e in arr[1:]:
        if s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return np.asarray(merged, dtype=float)


def overlap_seconds(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each interval of ``a``, its overlap in seconds with the union ``b``.

    Args:
        a: (n, 2) intervals.
        b: (m, 2) disjoint intervals (e.g. from :func:`union`).

    Returns:
        (n,) overlaps, seconds.
    """
    a = np.asarray(a, dtype=float).reshape(-1, 2)
    b = np.asarray(b, dtype=float).reshape(-1, 2)
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a))
    lo = np.maximum(a[:, None, 0], b[None, :, 0])
    hi = np.minimum(a[:, None, 1], b[None, :, 1])
    return np.clip(hi - lo, 0.0, None).sum(axis=1)


def intersects(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each closed interval of ``a``, whether it meets any interval of ``b``.

    Closed on both ends, so a zero-length interval or one that only touches
    counts. Shapes (n, 2) and (m, 2) → (n,) bool.
    """
    a = np.asarray(a, dtype=float).reshape(-1, 2)
    b = np.asarray(b, dtype=float).reshape(-1, 2)
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a), dtype=bool)
    return np.any((a[:, None, 0] <= b[None, :, 1]) & (b[None, :, 0] <= a[:, None, 1]), axis=1)
