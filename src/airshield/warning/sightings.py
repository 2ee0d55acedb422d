"""Citizens' sightings: which regions a citizen observer's report of a threat is near.

An observer's report is one person's word, not corroboration (issue #3), so it
never makes a threat; but it says that something was seen *here*, now. The
alert policy lets it hold a running alert (``PolicyConfig.sighting_radius_m``).
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
    pi, ri, d = field.near(np.atleast_1d(x), np.atleast_1d(y))
    near = d <= radius_m
    t = [r.time.timestamp() for r in seen]
    out: dict[str, float] = {}
    for p, rg in zip(pi[near].tolist(), ri[near].tolist(), strict=True):
        rid = field.ids[rg]
        out[rid] = max(out.get(rid, -math.inf), t[p])
    return out
