"""Region entries: when a true trajectory crosses into a region polygon.

metrics.md ("Warning"): "For every time a true threat enters a region (its
true position crosses into the region polygon), call it an **entry**".

Trajectories are sampled (every ``truth_step_s`` ≈ 10 s); between samples the
position is linear in time. Each sample is tested with vectorised
``shapely.contains_xy`` (after a cheap bounding-box filter); a crossing
between two samples is then refined by bisection on the segment to within
``tol_s`` seconds.

Choices where metrics.md leaves room:

* A trajectory whose first sample (launch) is inside a region *enters it at
  launch*: that counts as an entry at the launch time, so threats launched
  inside a region are not lost.
* A threat still inside at its last sample (impact, shot down, end of data)
  leaves the region at that time.
* Points on the boundary are outside (``contains`` semantics).
* Only x, y count (regions are 2-D).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

#: Bisection tolerance for crossing times, seconds (the brief: "to ~1 s").
DEFAULT_TOL_S = 0.5


@dataclass(frozen=True)
class Entry:
    """One entry of one trajectory into one region.

    Attributes:
        threat: trajectory (threat) id.
        region: region id.
        t_entry: time the true position crossed into the region, s.
        t_exit: time it left the region, or its last sample time, s.
        at_launch: True when the trajectory started inside the region.
    """

    threat: str
    region: str
    t_entry: float
    t_exit: float
    at_launch: bool = False


@dataclass(frozen=True)
class Samples:
    """All trajectories concatenated, sorted by (owner, t).

    Attributes:
        ids: (k,) trajectory ids, sorted; ``owner`` indexes into it.
        owner: (N,) int index of each sample's trajectory.
        t, x, y: (N,) sample time (s) and position (m).
    """

    ids: list[str]
    owner: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def from_trajectories(cls, trajectories: Mapping[str, np.ndarray]) -> Samples:
        """From id → (k, ≥3) arrays with columns t (s), x (m), y (m).

        Rows are sorted by t; trajectories with no rows are dropped.
        """
        ids = sorted(i for i, a in trajectories.items() if len(a))
        arrays = [np.asarray(trajectories[i], dtype=float)[:, :3] for i in ids]
        arrays = [a[np.argsort(a[:, 0], kind="stable")] for a in arrays]
        owner = np.repeat(np.arange(len(ids)), [len(a) for a in arrays])
        stacked = np.concatenate(arrays) if arrays else np.empty((0, 3))
        return cls(ids, owner, stacked[:, 0], stacked[:, 1], stacked[:, 2])


def _contains(geom: BaseGeometry, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """contains_xy with a bounding-box prefilter; (N,) bool."""
    minx, miny, maxx, maxy = geom.bounds
    box = (x > minx) & (x < maxx) & (y > miny) & (y < maxy)
    inside = np.zeros(len(x), dtype=bool)
    if box.any():
        inside[box] = shapely.contains_xy(geom, x[box], y[box])
    return inside


def _refine(
    geom: BaseGeometry, s: Samples, i: np.ndarray, inside_at_i: np.ndarray, tol_s: float
) -> np.ndarray:
    """Crossing times on segments (i, i+1) by bisection; (len(i),) seconds."""
    t0, t1 = s.t[i], s.t[i + 1]
    x0, x1, y0, y1 = s.x[i], s.x[i + 1], s.y[i], s.y[i + 1]
    lo, hi = np.zeros(len(i)), np.ones(len(i))
    span = float(np.max(t1 - t0)) if len(i) else 0.0
    n_iter = max(0, math.ceil(math.log2(span / tol_s))) if span > tol_s else 0
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        same = _contains(geom, x0 + mid * (x1 - x0), y0 + mid * (y1 - y0)) == inside_at_i
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    return t0 + 0.5 * (lo + hi) * (t1 - t0)


def region_entries(
    samples: Samples, region_id: str, geom: BaseGeometry, tol_s: float = DEFAULT_TOL_S
) -> list[Entry]:
    """Every entry of every trajectory into one region, sorted by (threat, t_entry)."""
    s = samples
    n = len(s.t)
    if n == 0:
        return []
    shapely.prepare(geom)
    inside = _contains(geom, s.x, s.y)
    same_owner = s.owner[1:] == s.owner[:-1]
    change = same_owner & (inside[1:] != inside[:-1])
    seg = np.flatnonzero(change)
    t_cross = _refine(geom, s, seg, inside[seg], tol_s)
    into = ~inside[seg]  # outside at the segment start → an entry

    first = np.ones(n, dtype=bool)
    first[1:] = ~same_owner
    last = np.ones(n, dtype=bool)
    last[:-1] = ~same_owner
    launch = np.flatnonzero(first & inside)  # inside at launch → entry at launch
    final = np.flatnonzero(last & inside)  # inside at the end → exit at the end

    # Entries and exits, each sorted by (sample index, time): they alternate
    # per owner, so the k-th entry pairs with the k-th exit.
    ent_key = np.concatenate([launch.astype(float), seg[into] + 0.5])
    ent_t = np.concatenate([s.t[launch], t_cross[into]])
    ent_launch = np.concatenate([np.ones(len(launch), bool), np.zeros(int(into.sum()), bool)])
    ext_key = np.concatenate([seg[~into] + 0.5, final.astype(float)])
    ext_t = np.concatenate([t_cross[~into], s.t[final]])
    oe, ox = np.argsort(ent_key, kind="stable"), np.argsort(ext_key, kind="stable")
    ent_owner = s.owner[np.floor(ent_key[oe]).astype(int)]
    return [
        Entry(s.ids[o], region_id, float(te), float(tx), bool(al))
        for o, te, tx, al in zip(ent_owner, ent_t[oe], ext_t[ox], ent_launch[oe], strict=True)
    ]


def find_entries(
    trajectories: Mapping[str, np.ndarray] | Samples,
    regions: Mapping[str, BaseGeometry],
    tol_s: float = DEFAULT_TOL_S,
) -> list[Entry]:
    """All entries of all trajectories into all regions.

    Args:
        trajectories: id → (k, ≥3) array with columns t (s), x (m), y (m) in
            the metric frame, or ready-made :class:`Samples`.
        regions: region id → shapely (multi)polygon in the same frame, metres.
        tol_s: crossing-time tolerance, seconds (error ≤ tol_s / 2).

    Returns:
        Entries sorted by (region, threat, t_entry).
    """
    s = (
        trajectories
        if isinstance(trajectories, Samples)
        else Samples.from_trajectories(trajectories)
    )
    out: list[Entry] = []
    for rid in sorted(regions):
        out.extend(region_entries(s, rid, regions[rid], tol_s))
    return out
