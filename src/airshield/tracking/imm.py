"""A vectorised interacting-multiple-model (IMM) Kalman filter.

Arrays, for k tracks at once (Blom & Bar-Shalom 1988; Bar-Shalom, Li and
Kirubarajan, *Estimation with Applications to Tracking*, ch. 11.6):

* ``x``: (k, M, 6) state per mode, ``P``: (k, M, 6, 6), ``mu``: (k, M) mode probabilities;
* measurements are 3-D positions ``z`` (k, 3) with covariance ``R`` (k, 3, 3).

Every function is pure: arrays in, new arrays out.
"""

from __future__ import annotations

import numpy as np

from airshield.tracking.motion import mode_transition, propagate

LOG_2PI = float(np.log(2.0 * np.pi))


def predict(x: np.ndarray, P: np.ndarray, mu: np.ndarray, dt: np.ndarray, q: np.ndarray):
    """IMM mixing and prediction over ``dt`` (k,) s with per-mode noise densities ``q`` (k, M).

    Returns (x, P, c): predicted per-mode states, covariances and the
    predicted mode probabilities (the prior of the mode likelihood update).
    ``dt`` may be negative (a late report): the state is then retrodicted,
    with the process noise of ``|dt|`` added.
    """
    T = mode_transition(dt)  # (k, i, j)
    c = np.einsum("ki,kij->kj", mu, T)
    c = np.maximum(c, 1e-12)
    w = mu[:, :, None] * T / c[:, None, :]  # mixing weights mu_{i|j}
    wt = np.swapaxes(w, 1, 2)  # (k, j, i)
    x0 = wt @ x
    k = x.shape[0]
    P0 = (wt @ P.reshape(k, P.shape[1], 36)).reshape(P.shape)
    for j in range(x.shape[1]):  # spread of the means: sum_i w_ij d d^T
        d = x - x0[:, j:j + 1, :]  # (k, i, 6)
        P0[:, j] += np.swapaxes(d * w[:, :, j, None], 1, 2) @ d
    xp, Pp = propagate(x0, P0, dt, q)
    return xp, Pp, c


def update(xp: np.ndarray, Pp: np.ndarray, c: np.ndarray, z: np.ndarray, R: np.ndarray):
    """Kalman update of every mode with position measurements; mode probabilities re-weighted.

    Returns (x, P, mu, d2): the updated per-mode states, covariances, mode
    probabilities, and the combined squared Mahalanobis distance of the
    innovation (k,).
    """
    nu = z[:, None, :] - xp[:, :, :3]  # (k, M, 3)
    S = Pp[:, :, :3, :3] + R[:, None, :, :]
    S = 0.5 * (S + np.swapaxes(S, -1, -2))
    Sinv = np.linalg.inv(S)
    PHt = Pp[:, :, :, :3]  # (k, M, 6, 3)
    K = PHt @ Sinv  # (k, M, 6, 3)
    x = xp + np.einsum("kmab,kmb->kma", K, nu)
    # Joseph form keeps P symmetric and positive definite: (I-KH)P(I-KH)^T + K R K^T.
    IKH = np.broadcast_to(np.eye(6), K.shape[:2] + (6, 6)).copy()
    IKH[:, :, :, :3] -= K
    P = IKH @ Pp @ np.swapaxes(IKH, -1, -2) + K @ R[:, None] @ np.swapaxes(K, -1, -2)
    d2m = np.einsum("kma,kmab,kmb->km", nu, Sinv, nu)
    _, logdet = np.linalg.slogdet(S)
    loglik = -0.5 * (d2m + logdet + 3 * LOG_2PI)
    a = np.log(c) + loglik
    a -= a.max(axis=1, keepdims=True)
    mu = np.exp(a)
    mu /= mu.sum(axis=1, keepdims=True)
    mu = np.maximum(mu, 1e-6)
    mu /= mu.sum(axis=1, keepdims=True)
    d2 = np.einsum("km,km->k", c / c.sum(axis=1, keepdims=True), d2m)
    return x, P, mu, d2


def combine(x: np.ndarray, P: np.ndarray, mu: np.ndarray):
    """Moment-matched single Gaussian of the modes: (k, 6) state and (k, 6, 6) covariance."""
    xc = np.einsum("km,kma->ka", mu, x)
    d = x - xc[:, None, :]
    Pc = np.einsum("km,kmab->kab", mu, P) + np.einsum("km,kma,kmb->kab", mu, d, d)
    return xc, Pc


def gate_distances(xc: np.ndarray, Pc: np.ndarray, dt: np.ndarray, q: np.ndarray, z: np.ndarray, R: np.ndarray):
    """Squared Mahalanobis distance and log|S| of measurement/track pairs (vectorised over pairs).

    ``xc``, ``Pc``: (k, 6), (k, 6, 6) combined states at their own times;
    ``dt``: (k,) to each measurement time; ``q``: (k,) the noise density to
    use (the manoeuvre mode's, so that the gate admits a turn).
    """
    xp, Pp = propagate(xc, Pc, dt, q)
    S = Pp[:, :3, :3] + R
    nu = z - xp[:, :3]
    Sinv = np.linalg.inv(S)
    d2 = np.einsum("ka,kab,kb->k", nu, Sinv, nu)
    _, logdet = np.linalg.slogdet(S)
    return d2, logdet
