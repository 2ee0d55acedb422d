"""Evidence too weak to raise an alert, near which regions: citizens' sightings, undecided tracks.

An observer's report is one person's word, not corroboration (issue #3), so it
never makes a threat; but it says that something was seen *here*, now. A
tentative track that two sensors reported but that is not confirmed says that
something like a threat was heard here. The alert policy lets either hold a
running alert (``PolicyConfig.sighting_radius_m``, ``heard_min_llr``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from airshield.model import ObserverReport
from airshield.warning.region_field import RegionField


def sightings(reports: Sequence, theatre, field: RegionField, radius_m: float) -> dict[str, float]:
    """Region id -> time (s) of the latest citizen sighting among ``reports`` within
    ``radius_m`` of it: an observer's report of anything but a civil aircraft, at the
    observer's own position (what they saw is a few km off, in some direction).
    """
    seen = [r for r in reports if type(r) is ObserverReport and r.cls != "aircraft"]
    if not seen:
        return {}
    x, y = theatre.to_xy(np.array([r.lat for r in seen]), np.array([r.lon for r in seen]))
    return latest_near(np.atleast_1d(x), np.atleast_1d(y), [r.time.timestamp() for r in seen], field, radius_m)


def heard(tracker, field: RegionField, radius_m: float, min_sensors: int, min_llr: float) -> dict[str, float]:
    """Region id -> time (s) of the latest report of an undecided tentative threat track
    (:meth:`airshield.tracking.Tracker.undecided`) within ``radius_m`` of it."""
    xy, t = tracker.undecided(min_sensors, min_llr)
    if not t.size:
        return {}
    return latest_near(xy[:, 0], xy[:, 1], t.tolist(), field, radius_m)


def latest_near(x: np.ndarray, y: np.ndarray, t: Sequence[float], field: RegionField,
                radius_m: float) -> dict[str, float]:
    """Region id -> the latest of times ``t`` whose point (``x``, ``y``, m) is within ``radius_m`` of it."""
    pi, ri, d = field.near(x, y)
    near = d <= radius_m
    out: dict[str, float] = {}
    for p, rg in zip(pi[near].tolist(), ri[near].tolist(), strict=True):
        rid = field.ids[rg]
        out[rid] = max(out.get(rid, -math.inf), t[p])
    return out
