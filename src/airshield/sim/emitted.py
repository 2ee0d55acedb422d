"""Reports of one sensor model as columns, turned into report objects at the end.

Sensor models work on numpy arrays (one row per report) for speed; only the
final, ordered stream becomes :mod:`airshield.model` objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from airshield.model import _EPOCH as EPOCH
from airshield.model import Report


@dataclass
class Emitted:
    """Columns of the reports one sensor model made.

    Attributes:
        kind: report kind (``acoustic`` …).
        time: (n,) measurement times, s since the epoch, rounded to the ms.
        arrival: (n,) arrival times, s, rounded to the ms; >= time.
        sensor: (n,) int index into ``sensor_ids``.
        truth: (n,) index of the true object reported, or -1 for a false alarm.
        sensor_ids: the sensors' string ids.
        build: makes the report objects of the given row indices, in that order.
    """

    kind: str
    time: np.ndarray
    arrival: np.ndarray
    sensor: np.ndarray
    truth: np.ndarray
    sensor_ids: list[str]
    build: Callable[[np.ndarray], list[Report]] = field(repr=False)

    def __len__(self) -> int:
        return int(self.time.size)


def round_ms(t: np.ndarray) -> np.ndarray:
    """Round times (s) to the millisecond, the wire precision of simulated reports."""
    return np.round(np.asarray(t, dtype=float) * 1000.0) / 1000.0


def to_datetimes(t: np.ndarray) -> list[datetime]:
    """Epoch seconds (ms resolution) -> UTC datetimes, exactly (integer ms arithmetic)."""
    ms = np.round(np.asarray(t) * 1000.0).astype(np.int64).tolist()
    return [EPOCH + timedelta(milliseconds=m) for m in ms]


def empty(kind: str, sensor_ids: list[str]) -> Emitted:
    z = np.zeros(0)
    zi = np.zeros(0, dtype=np.int64)
    return Emitted(kind, z, z, zi, zi, sensor_ids, lambda idx: [])


def wrap_deg(a: np.ndarray) -> np.ndarray:
    """Angles (deg) into [0, 360), safe against rounding up to 360."""
    a = np.mod(a, 360.0)
    return np.where(a >= 360.0, 0.0, a)


def bearing_deg(dx: np.ndarray, dy: np.ndarray, north: np.ndarray | float = 0.0) -> np.ndarray:
    """True bearing (deg, clockwise from true north) of a frame displacement (dx, dy).

    ``north``: the grid convergence at the observer (geo.Theatre.north_angle, rad).
    """
    return wrap_deg(np.degrees(np.arctan2(dx, dy) - north))


def enu_from_grid(v: np.ndarray, north: np.ndarray | float) -> np.ndarray:
    """(n, 3) frame velocities -> [east, north, up] at points with grid convergence ``north`` (rad)."""
    c, s = np.cos(north), np.sin(north)
    out = np.empty_like(v)
    out[:, 0] = v[:, 0] * c - v[:, 1] * s
    out[:, 1] = v[:, 0] * s + v[:, 1] * c
    out[:, 2] = v[:, 2]
    return out
