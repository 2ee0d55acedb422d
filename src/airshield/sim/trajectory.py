"""Piecewise-linear trajectories in the theatre's metric frame.

A trajectory is a list of knots (time, x, y, z): the object moves in a
straight line at constant velocity between knots. Dog-legs, loiter circles
(polygons of short chords), climbs and dives are all knots; evaluation at any
times is one vectorised ``np.interp`` per axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Trajectory:
    """Knots of a trajectory.

    Attributes:
        t: (n,) knot times, s since the Unix epoch, strictly increasing.
        xyz: (n, 3) knot positions, m (x east, y north, z up above ground).
    """

    t: np.ndarray
    xyz: np.ndarray

    @property
    def start(self) -> float:
        return float(self.t[0])

    @property
    def end(self) -> float:
        return float(self.t[-1])

    def position(self, times: np.ndarray) -> np.ndarray:
        """(m, 3) positions at ``times`` (clamped to the ends)."""
        times = np.asarray(times, dtype=float)
        out = np.empty((times.size, 3))
        for k in range(3):
            out[:, k] = np.interp(times, self.t, self.xyz[:, k])
        return out

    def velocity(self, times: np.ndarray) -> np.ndarray:
        """(m, 3) velocities (m/s) at ``times``: the slope of the segment each time lies in."""
        times = np.asarray(times, dtype=float)
        seg_v = np.diff(self.xyz, axis=0) / np.diff(self.t)[:, None]
        i = np.clip(np.searchsorted(self.t, times, side="right") - 1, 0, len(seg_v) - 1)
        return seg_v[i]

    def truncated(self, t_end: float) -> Trajectory:
        """The same path ending at ``t_end`` (e.g. shot down)."""
        if t_end >= self.end:
            return self
        keep = self.t < t_end
        t = np.append(self.t[keep], t_end)
        xyz = np.vstack([self.xyz[keep], self.position(np.array([t_end]))])
        return Trajectory(t, xyz)

    def length_m(self) -> float:
        """Path length along the knots, m."""
        return float(np.linalg.norm(np.diff(self.xyz, axis=0), axis=1).sum())


def from_legs(t0: float, points: np.ndarray, speeds: np.ndarray) -> Trajectory:
    """Trajectory through ``points`` (n, 3), flying leg i at ``speeds[i]`` m/s (3-D speed)."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    keep = np.concatenate([[True], seg > 1e-6])
    points = points[keep]
    speeds = speeds[keep[1:]]
    seg = seg[keep[1:]]
    t = t0 + np.concatenate([[0.0], np.cumsum(seg / speeds)])
    return Trajectory(t, points)
