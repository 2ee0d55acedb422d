"""The scenario of the Stone Soup peer benchmark (issue #3), made deterministically from a seed.

N targets move at near-constant velocity (~50 m/s, random headings, white
acceleration noise) inside a 200 km x 200 km square centred on the theatre
frame's origin. Every 5 s one sensor scans the square: each target is
detected with probability Pd = 0.9 and measured with sigma = 200 m per axis
(2-D positions); false alarms, Poisson with mean 10 per scan, fall uniformly
over the square. Everything comes from one ``numpy.random.default_rng(seed)``
in a fixed order, so the same (n, minutes, seed) always gives the same input.

Start positions are drawn so that each target's straight path over the run
stays inside the square (a target at 50 m/s covers 90 km in 30 min); the
acceleration noise can still push one out, and then it is reflected off the
border (position mirrored, that velocity component negated), so N stays
constant throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Half the side of the square, m: the area is [-HALF_SIDE_M, HALF_SIDE_M]^2.
HALF_SIDE_M = 100_000.0
#: Scan period, s.
SCAN_S = 5.0
#: Nominal target speed and the spread around it, m/s.
SPEED_MPS, SPEED_SPREAD_MPS = 50.0, 5.0
#: Standard deviation of the white acceleration noise of the targets, m/s^2.
ACCEL_SIGMA_MPS2 = 0.05
#: Detection probability, measurement sigma per axis (m), mean false alarms per scan.
PD, SIGMA_M, FALSE_ALARMS = 0.9, 200.0, 10.0
#: Distance from the border the straight paths keep, m.
MARGIN_M = 2_000.0


@dataclass(frozen=True)
class Scenario:
    """Truth and measurements of one run.

    Attributes:
        n_targets, seed: what it was made from.
        times: (S,) scan times, s from the start.
        truth: (S, N, 4) true (x, y, vx, vy) at each scan, m and m/s.
        meas: per scan, (k, 2) measured (x, y), m, in a shuffled order.
        is_target: per scan, (k,) True for a target's detection, False for a false alarm.
    """

    n_targets: int
    seed: int
    times: np.ndarray
    truth: np.ndarray
    meas: list[np.ndarray]
    is_target: list[np.ndarray]

    @property
    def n_scans(self) -> int:
        return len(self.times)

    @property
    def n_reports(self) -> int:
        """Measurements over the run, false alarms included."""
        return sum(len(m) for m in self.meas)

    @property
    def n_false_alarms(self) -> int:
        return sum(int((~t).sum()) for t in self.is_target)


def make_scenario(n_targets: int, minutes: float, seed: int) -> Scenario:
    """Make the scenario: ``n_targets`` targets, scans every 5 s for ``minutes``."""
    rng = np.random.default_rng(seed)
    n_scans = int(round(minutes * 60.0 / SCAN_S)) + 1
    duration = (n_scans - 1) * SCAN_S
    half = HALF_SIDE_M

    heading = rng.uniform(0.0, 2.0 * np.pi, n_targets)
    speed = rng.uniform(SPEED_MPS - SPEED_SPREAD_MPS, SPEED_MPS + SPEED_SPREAD_MPS, n_targets)
    vel = np.column_stack([speed * np.sin(heading), speed * np.cos(heading)])  # east, north
    travel = vel * duration
    lo = -half + MARGIN_M + np.maximum(0.0, -travel)
    hi = half - MARGIN_M - np.maximum(0.0, travel)
    pos = lo + rng.random((n_targets, 2)) * np.maximum(hi - lo, 0.0)

    truth = np.empty((n_scans, n_targets, 4))
    meas: list[np.ndarray] = []
    is_target: list[np.ndarray] = []
    for s in range(n_scans):
        if s:
            acc = rng.normal(0.0, ACCEL_SIGMA_MPS2, (n_targets, 2))
            pos = pos + vel * SCAN_S + 0.5 * acc * SCAN_S**2
            vel = vel + acc * SCAN_S
            for out, wall in ((pos > half, half), (pos < -half, -half)):
                pos = np.where(out, 2.0 * wall - pos, pos)
                vel = np.where(out, -vel, vel)
        truth[s, :, :2], truth[s, :, 2:] = pos, vel
        detected = rng.random(n_targets) < PD
        z_true = pos[detected] + rng.normal(0.0, SIGMA_M, (int(detected.sum()), 2))
        n_fa = int(rng.poisson(FALSE_ALARMS))
        z_false = rng.uniform(-half, half, (n_fa, 2))
        z = np.concatenate([z_true, z_false])
        flags = np.concatenate([np.ones(len(z_true), bool), np.zeros(n_fa, bool)])
        order = rng.permutation(len(z))
        meas.append(z[order])
        is_target.append(flags[order])
    return Scenario(n_targets, seed, np.arange(n_scans) * SCAN_S, truth, meas, is_target)
