"""Motion models: near-constant velocity in 3-D, two IMM modes, class-dependent noise.

State per mode: [x, y, z, vx, vy, vz] (m, m/s) in the theatre frame. The
process noise is white acceleration with spectral density q (m^2/s^3) per
axis; the quiet mode models straight flight, the manoeuvre mode dog-legs,
loiter turns, climbs and dives (an IMM, Blom & Bar-Shalom 1988).
"""

from __future__ import annotations

import numpy as np

from airshield.model import CLASSES

#: Acceleration sigma (m/s^2) of the quiet and the manoeuvring mode per class [est]:
#: a Shahed's 90 deg dog-leg at 45 m/s over ~30 s needs ~2 m/s^2, a loiter circle of
#: 3 km radius ~0.7 m/s^2; cruise missiles turn harder; a ballistic arc has gravity (10 m/s^2).
ACCEL_SIGMA = {
    "drone": (0.15, 2.5),
    "jet": (0.5, 8.0),
    "cruise": (0.5, 10.0),
    "ballistic": (8.0, 40.0),
    "aircraft": (0.3, 3.0),
    "unknown": (0.3, 4.0),
}
Q_MODES = np.array([[ACCEL_SIGMA[c][m] ** 2 for c in CLASSES] for m in range(2)])  # (2, 6)
#: Mean sojourn time in each mode, s [est]: a Shahed flies straight legs of many minutes
#: between dog-legs (routes of hours with a few turns, domain.md); a turn lasts tens of seconds.
MODE_SOJOURN_S = np.array([900.0, 40.0])
#: Vertical noise density per mode as a multiple of the horizontal one [est]: a Shahed's
#: terminal dive (domain.md) and a cruise missile's pop-up accelerate vertically at up to
#: ~g, four times the drone's horizontal manoeuvre sigma; straight flight is level.
VERTICAL_Q_FACTOR = np.array([1.0, 16.0])


def mode_q(class_probs: np.ndarray) -> np.ndarray:
    """(k, 2) noise densities per IMM mode, the class-probability mixture of ``ACCEL_SIGMA``."""
    return class_probs @ Q_MODES.T
