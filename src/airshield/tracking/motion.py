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


def transition(dt: np.ndarray) -> np.ndarray:
    """(k, 6, 6) constant-velocity transition matrices for time steps ``dt`` (k,) s."""
    k = dt.size
    F = np.broadcast_to(np.eye(6), (k, 6, 6)).copy()
    F[:, 0, 3] = F[:, 1, 4] = F[:, 2, 5] = dt
    return F


def noise(dt: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(k, 6, 6) white-acceleration process noise for ``|dt|`` (k,) and densities ``q`` (k,)."""
    a = np.abs(dt)
    k = a.size
    Q = np.zeros((k, 6, 6))
    q3, q2, q1 = q * a**3 / 3.0, q * a**2 / 2.0, q * a
    for i in range(3):
        Q[:, i, i] = q3
        Q[:, i, i + 3] = Q[:, i + 3, i] = q2
        Q[:, i + 3, i + 3] = q1
    return Q


_EYE3 = np.eye(3)


def propagate(x: np.ndarray, P: np.ndarray, dt: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Constant-velocity prediction of states ``x`` (k, ..., 6) and covariances ``P`` (k, ..., 6, 6).

    ``dt`` (k,) s, ``q`` (k, ...) noise densities. The same as F x and
    F P F^T + Q(|dt|, q), written out in 3x3 blocks: the transition is so
    sparse that the products cost a few array operations instead of two
    batched 6x6 matrix products.
    """
    extra = x.ndim - 2
    d = dt.reshape((-1,) + (1,) * extra)
    xo = x.copy()
    xo[..., :3] += d[..., None] * x[..., 3:]
    dd = d[..., None, None]
    Ppp, Ppv, Pvp, Pvv = P[..., :3, :3], P[..., :3, 3:], P[..., 3:, :3], P[..., 3:, 3:]
    Po = np.empty_like(P)
    Po[..., :3, 3:] = Ppv + dd * Pvv
    Po[..., 3:, :3] = Pvp + dd * Pvv
    Po[..., :3, :3] = Ppp + dd * (Ppv + Pvp) + dd * dd * Pvv
    Po[..., 3:, 3:] = Pvv
    a = np.abs(d)[..., None, None]
    qq = q[..., None, None] * _EYE3
    q2 = qq * (a * a / 2.0)
    Po[..., :3, :3] += qq * (a * a * a / 3.0)
    Po[..., :3, 3:] += q2
    Po[..., 3:, :3] += q2
    Po[..., 3:, 3:] += qq * a
    return xo, Po


def mode_q(class_probs: np.ndarray) -> np.ndarray:
    """(k, 2) noise densities per IMM mode, the class-probability mixture of ``ACCEL_SIGMA``."""
    return class_probs @ Q_MODES.T


def mode_transition(dt: np.ndarray) -> np.ndarray:
    """(k, 2, 2) Markov mode-switch matrices for steps ``dt`` (k,)."""
    p = 1.0 - np.exp(-np.abs(dt)[:, None] / MODE_SOJOURN_S[None, :])  # (k, 2) leave probability
    T = np.empty((dt.size, 2, 2))
    T[:, 0, 0], T[:, 0, 1] = 1 - p[:, 0], p[:, 0]
    T[:, 1, 0], T[:, 1, 1] = p[:, 1], 1 - p[:, 1]
    return T
