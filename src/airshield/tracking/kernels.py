"""Compiled inner loops of the tracker (numba): gating and the IMM filter, one pair at a time.

The IMM of :mod:`.motion` with the class model of :mod:`.classification`
(whose constants they take as an argument), written as plain loops over small
fixed-size matrices so that a report costs microseconds instead of the tens
of microseconds of numpy's per-call overhead on 6x6 arrays. The tests check
the filter against the textbook Kalman filter. See docs/decisions/0007-compiled-kernels.md.

Conventions: states (x, y, z, vx, vy, vz) in m and m/s; two IMM modes;
classes in model.CLASSES order. No fastmath: results are bit-for-bit
repeatable run to run.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from airshield.tracking import classification as _cls
from airshield.tracking import motion as _mot

LOG_2PI = math.log(2.0 * math.pi)


def model_constants() -> tuple:
    """The model's constants, passed to the kernels as an argument.

    Passed, not read as globals: numba bakes globals into the compiled code
    and its on-disk cache would keep old values after a change in
    classification.py or motion.py.
    """
    return (_cls.LOG_PRIOR.copy(), _cls._LOW.copy(), _cls._HIGH.copy(), _cls.SPEED_SOFT.copy(),
            _cls._ALT_LOW.copy(), _cls._ALT_HIGH.copy(), _cls.ALT_SOFT.copy(),
            np.ascontiguousarray(_mot.Q_MODES, dtype=np.float64), _mot.MODE_SOJOURN_S.astype(np.float64),
            float(_cls.EVIDENCE_TAU_S), _mot.VERTICAL_Q_FACTOR.astype(np.float64))


@njit(cache=True)
def _logaddexp0(a):
    """log(1 + exp(a)) without overflow."""
    if a > 0.0:
        return a + math.log1p(math.exp(-a))
    return math.log1p(math.exp(a))


@njit(cache=True)
def _propagate(x, P, dt, q, qz, xo, Po):
    """CV prediction of one state/covariance by ``dt`` with noise density ``q`` (``qz`` vertically; into xo, Po)."""
    for i in range(3):
        xo[i] = x[i] + dt * x[i + 3]
        xo[i + 3] = x[i + 3]
    for i in range(3):
        for j in range(3):
            pv = P[i, j + 3]
            vp = P[i + 3, j]
            vv = P[i + 3, j + 3]
            Po[i, j] = P[i, j] + dt * (pv + vp) + dt * dt * vv
            Po[i, j + 3] = pv + dt * vv
            Po[i + 3, j] = vp + dt * vv
            Po[i + 3, j + 3] = vv
    a = abs(dt)
    for i in range(3):
        qi = qz if i == 2 else q
        q3 = qi * a * a * a / 3.0
        q2 = qi * a * a / 2.0
        Po[i, i] += q3
        Po[i, i + 3] += q2
        Po[i + 3, i] += q2
        Po[i + 3, i + 3] += qi * a


@njit(cache=True)
def _inv3(S, Si):
    """Inverse of a 3x3 matrix into Si; returns its determinant."""
    a, b, c = S[0, 0], S[0, 1], S[0, 2]
    d, e, f = S[1, 0], S[1, 1], S[1, 2]
    g, h, k = S[2, 0], S[2, 1], S[2, 2]
    A = e * k - f * h
    B = -(d * k - f * g)
    C = d * h - e * g
    det = a * A + b * B + c * C
    inv = 1.0 / det
    Si[0, 0] = A * inv
    Si[0, 1] = -(b * k - c * h) * inv
    Si[0, 2] = (b * f - c * e) * inv
    Si[1, 0] = B * inv
    Si[1, 1] = (a * k - c * g) * inv
    Si[1, 2] = -(a * f - c * d) * inv
    Si[2, 0] = C * inv
    Si[2, 1] = -(a * h - b * g) * inv
    Si[2, 2] = (a * e - b * d) * inv
    return det


@njit(cache=True)
def _mahalanobis(xp, Pp, z, R, Si, S):
    """(d^2, ln|S|) of position measurement z (3,), R (3, 3) against predicted xp, Pp."""
    for i in range(3):
        for j in range(3):
            S[i, j] = Pp[i, j] + R[i, j]
    det = _inv3(S, Si)
    n0 = z[0] - xp[0]
    n1 = z[1] - xp[1]
    n2 = z[2] - xp[2]
    d2 = (n0 * (Si[0, 0] * n0 + Si[0, 1] * n1 + Si[0, 2] * n2)
          + n1 * (Si[1, 0] * n0 + Si[1, 1] * n1 + Si[1, 2] * n2)
          + n2 * (Si[2, 0] * n0 + Si[2, 1] * n1 + Si[2, 2] * n2))
    if det <= 0.0:  # a degenerate innovation covariance gates nothing
        return math.inf, 700.0
    return d2, math.log(det)


@njit(cache=True)
def posterior(C, ev, vx, vy, svv, z, szz, out):
    """Class probabilities (into ``out`` (6,)) from evidence and kinematics; see classification.py.

    ``C``: :func:`model_constants`.
    """
    LOG_PRIOR, SPEED_LOW, SPEED_HIGH, SPEED_SOFT, ALT_LOW, ALT_HIGH, ALT_SOFT = C[0], C[1], C[2], C[3], C[4], C[5], C[6]
    speed = math.sqrt(vx * vx + vy * vy)
    ssig = math.sqrt(max(svv, 0.0))
    asig = math.sqrt(max(szz, 0.0))
    best = -1e300
    for c in range(6):
        w = math.sqrt(SPEED_SOFT[c] ** 2 + ssig * ssig)
        a = LOG_PRIOR[c] + ev[c]
        a -= _logaddexp0(-(speed - SPEED_LOW[c]) / w) + _logaddexp0((speed - SPEED_HIGH[c]) / w)
        w = math.sqrt(ALT_SOFT[c] ** 2 + asig * asig)
        a -= _logaddexp0(-(z - ALT_LOW[c]) / w) + _logaddexp0((z - ALT_HIGH[c]) / w)
        out[c] = a
        if a > best:
            best = a
    tot = 0.0
    for c in range(6):
        out[c] = math.exp(out[c] - best)
        tot += out[c]
    for c in range(6):
        out[c] /= tot


@njit(cache=True)
def refresh(C, idx, x, P, mu, ev, xc, Pc, probs, qman):
    """Combined state, class probabilities and manoeuvre noise of tracks ``idx`` (in place)."""
    for n in range(idx.size):
        _refresh_one(C, idx[n], x, P, mu, ev, xc, Pc, probs, qman)


@njit(cache=True)
def _refresh_one(C, k, x, P, mu, ev, xc, Pc, probs, qman):
    Q_MODES = C[7]
    if True:
        for a in range(6):
            xc[k, a] = mu[k, 0] * x[k, 0, a] + mu[k, 1] * x[k, 1, a]
        for a in range(6):
            for b in range(6):
                s = 0.0
                for m in range(2):
                    da = x[k, m, a] - xc[k, a]
                    db = x[k, m, b] - xc[k, b]
                    s += mu[k, m] * (P[k, m, a, b] + da * db)
                Pc[k, a, b] = s
        posterior(C, ev[k], xc[k, 3], xc[k, 4], Pc[k, 3, 3] + Pc[k, 4, 4], xc[k, 2], Pc[k, 2, 2], probs[k])
        q = 0.0
        for c in range(6):
            q += probs[k, c] * Q_MODES[1, c]
        qman[k] = q


@njit(cache=True)
def filter_pairs(C, trk, z, R, tm, cls_ll, x, P, mu, t, ev, xc, Pc, probs, qman):
    """IMM predict + update of track ``trk[p]`` with measurement p, for p in order.

    A measurement older than its track's state (a late report) is applied to
    the retrodicted state and the result carried forward to the track's time.
    Updates x, P, mu, t, ev and the caches xc, Pc, probs, qman in place.
    ``C``: :func:`model_constants`.
    """
    Q_MODES, SOJOURN, EV_TAU, VZ = C[7], C[8], C[9], C[10]
    xm = np.empty((2, 6))
    Pm = np.empty((2, 6, 6))
    xp = np.empty((2, 6))
    Pp = np.empty((2, 6, 6))
    S = np.empty((3, 3))
    Si = np.empty((3, 3))
    K = np.empty((6, 3))
    KS = np.empty((6, 3))
    T = np.empty((2, 2))
    c = np.empty(2)
    ll = np.empty(2)
    q = np.empty(2)
    for p in range(trk.size):
        k = trk[p]
        dt = tm[p] - t[k]
        for m in range(2):
            s = 0.0
            for cc in range(6):
                s += probs[k, cc] * Q_MODES[m, cc]
            q[m] = s
        if dt < 0.0:
            _late_update(VZ, x[k], P[k], mu[k], -dt, q, z[p], R[p], S, Si, K, KS, ll)
        else:
            _imm_step(SOJOURN, VZ, x[k], P[k], mu[k], dt, q, z[p], R[p], xm, Pm, xp, Pp, S, Si, K, KS, T, c, ll)
            t[k] = tm[p]
        f = math.exp(-abs(dt) / EV_TAU)
        for cc in range(6):
            ev[k, cc] = ev[k, cc] * f + cls_ll[p, cc]
        _refresh_one(C, k, x, P, mu, ev, xc, Pc, probs, qman)


@njit(cache=True)
def _late_update(VZ, x, P, mu, a, q, z, R, S, Si, K, G, ll):
    """Update each mode's current state with a measurement ``a`` s older than it (out of sequence).

    The measurement is predicted back along the velocity (H F(-a)) and the
    current state is updated through its cross-covariance with that past
    position; the process noise over the interval is added to the innovation
    covariance (Bar-Shalom, "Update with out-of-sequence measurements in
    tracking: exact solution", IEEE TAES 2002, algorithm B1 with the noise
    treated as measurement noise). Unlike predicting back, updating and
    predicting forward again, it adds no process noise twice, so a stream of
    late observer reports does not inflate a good track's covariance. The
    mode probabilities follow each mode's likelihood; no mode mixing.
    """
    for m in range(2):
        # Past position xb = x - a v; its covariance and cross-covariance C = P (H F)^T.
        for i in range(6):
            for j in range(3):
                K[i, j] = P[m, i, j] - a * P[m, i, j + 3]  # K holds C for now
        for i in range(3):
            for j in range(3):
                S[i, j] = K[i, j] - a * K[i + 3, j] + R[i, j]
            S[i, i] += q[m] * (VZ[m] if i == 2 else 1.0) * a * a * a / 3.0
        det = _inv3(S, Si)
        n0 = z[0] - (x[m, 0] - a * x[m, 3])
        n1 = z[1] - (x[m, 1] - a * x[m, 4])
        n2 = z[2] - (x[m, 2] - a * x[m, 5])
        d2 = (n0 * (Si[0, 0] * n0 + Si[0, 1] * n1 + Si[0, 2] * n2)
              + n1 * (Si[1, 0] * n0 + Si[1, 1] * n1 + Si[1, 2] * n2)
              + n2 * (Si[2, 0] * n0 + Si[2, 1] * n1 + Si[2, 2] * n2))
        if det <= 0.0:
            ll[m] = -1e300
            continue
        ll[m] = -0.5 * (d2 + math.log(det) + 3.0 * LOG_2PI)
        # Gain G = C S^-1; x += G nu; P -= G C^T (symmetrised).
        for i in range(6):
            for j in range(3):
                G[i, j] = K[i, 0] * Si[0, j] + K[i, 1] * Si[1, j] + K[i, 2] * Si[2, j]
        for i in range(6):
            x[m, i] += G[i, 0] * n0 + G[i, 1] * n1 + G[i, 2] * n2
        for i in range(6):
            for j in range(i, 6):
                v = P[m, i, j] - (G[i, 0] * K[j, 0] + G[i, 1] * K[j, 1] + G[i, 2] * K[j, 2])
                w = P[m, j, i] - (G[j, 0] * K[i, 0] + G[j, 1] * K[i, 1] + G[j, 2] * K[i, 2])
                P[m, i, j] = 0.5 * (v + w)
                P[m, j, i] = P[m, i, j]
    top = max(math.log(max(mu[0], 1e-300)) + ll[0], math.log(max(mu[1], 1e-300)) + ll[1])
    if top < -1e299:
        return
    e0 = math.exp(math.log(max(mu[0], 1e-300)) + ll[0] - top)
    e1 = math.exp(math.log(max(mu[1], 1e-300)) + ll[1] - top)
    mu[0] = max(e0 / (e0 + e1), 1e-6)
    mu[1] = max(e1 / (e0 + e1), 1e-6)
    s = mu[0] + mu[1]
    mu[0] /= s
    mu[1] /= s


@njit(cache=True)
def _imm_step(SOJOURN, VZ, x, P, mu, dt, q, z, R, xm, Pm, xp, Pp, S, Si, K, KS, T, c, ll):
    """One IMM cycle in place on one track's (2, 6) x, (2, 6, 6) P, (2,) mu."""
    a = abs(dt)
    p0 = 1.0 - math.exp(-a / SOJOURN[0])
    p1 = 1.0 - math.exp(-a / SOJOURN[1])
    T[0, 0], T[0, 1], T[1, 0], T[1, 1] = 1.0 - p0, p0, p1, 1.0 - p1
    for j in range(2):
        c[j] = max(mu[0] * T[0, j] + mu[1] * T[1, j], 1e-12)
    # Mixing.
    for j in range(2):
        w0 = mu[0] * T[0, j] / c[j]
        w1 = mu[1] * T[1, j] / c[j]
        for i in range(6):
            xm[j, i] = w0 * x[0, i] + w1 * x[1, i]
        for i in range(6):
            d0i = x[0, i] - xm[j, i]
            d1i = x[1, i] - xm[j, i]
            for jj in range(6):
                Pm[j, i, jj] = (w0 * (P[0, i, jj] + d0i * (x[0, jj] - xm[j, jj]))
                                + w1 * (P[1, i, jj] + d1i * (x[1, jj] - xm[j, jj])))
    # Predict and update each mode.
    for m in range(2):
        _propagate(xm[m], Pm[m], dt, q[m], q[m] * VZ[m], xp[m], Pp[m])
        d2, logdet = _mahalanobis(xp[m], Pp[m], z, R, Si, S)
        ll[m] = -0.5 * (d2 + logdet + 3.0 * LOG_2PI)
        # K = Pp[:, :3] S^-1
        for i in range(6):
            for j in range(3):
                K[i, j] = Pp[m, i, 0] * Si[0, j] + Pp[m, i, 1] * Si[1, j] + Pp[m, i, 2] * Si[2, j]
        n0 = z[0] - xp[m, 0]
        n1 = z[1] - xp[m, 1]
        n2 = z[2] - xp[m, 2]
        for i in range(6):
            x[m, i] = xp[m, i] + K[i, 0] * n0 + K[i, 1] * n1 + K[i, 2] * n2
        # Joseph form, P = (I - K H) Pp (I - K H)^T + K R K^T (H = [I3 0]), symmetrised: a
        # sum of two positive semi-definite terms whatever rounding does to K, where
        # Pp - K S K^T is a difference that can lose definiteness when a precise plot meets
        # a vague prediction (Bar-Shalom, Li & Kirubarajan, "Estimation with Applications
        # to Tracking and Navigation", 2001, ch. 5). Pm[m] is free once propagated: it
        # holds B = (I - K H) Pp, and KS holds K R.
        B = Pm[m]
        for i in range(6):
            for j in range(6):
                B[i, j] = Pp[m, i, j] - (K[i, 0] * Pp[m, 0, j] + K[i, 1] * Pp[m, 1, j] + K[i, 2] * Pp[m, 2, j])
        for i in range(6):
            for j in range(3):
                KS[i, j] = K[i, 0] * R[0, j] + K[i, 1] * R[1, j] + K[i, 2] * R[2, j]
        for i in range(6):
            for j in range(i, 6):
                v = (B[i, j] - (B[i, 0] * K[j, 0] + B[i, 1] * K[j, 1] + B[i, 2] * K[j, 2])
                     + (KS[i, 0] * K[j, 0] + KS[i, 1] * K[j, 1] + KS[i, 2] * K[j, 2]))
                w = (B[j, i] - (B[j, 0] * K[i, 0] + B[j, 1] * K[i, 1] + B[j, 2] * K[i, 2])
                     + (KS[j, 0] * K[i, 0] + KS[j, 1] * K[i, 1] + KS[j, 2] * K[i, 2]))
                P[m, i, j] = 0.5 * (v + w)
                P[m, j, i] = P[m, i, j]
    top = max(math.log(c[0]) + ll[0], math.log(c[1]) + ll[1])
    e0 = math.exp(math.log(c[0]) + ll[0] - top)
    e1 = math.exp(math.log(c[1]) + ll[1] - top)
    mu[0] = max(e0 / (e0 + e1), 1e-6)
    mu[1] = max(e1 / (e0 + e1), 1e-6)
    s = mu[0] + mu[1]
    mu[0] /= s
    mu[1] /= s


@njit(cache=True)
def _scratch():
    """Work arrays of one pair's distance: predicted state, covariance, S and its inverse."""
    return np.empty(6), np.empty((6, 6)), np.empty((3, 3)), np.empty((3, 3))


@njit(cache=True)
def gate(live, xc, Pc, t, qman, vz, z, R, tm, r_meas, chi2, t_mid, half):
    """Gated (track, measurement) pairs: a coarse distance screen, then d^2 < ``chi2``.

    Predicted with each track's manoeuvre-mode noise ``qman`` (``vz`` times it vertically).

    Returns (track rows into ``live``, measurement rows, d^2, ln|S|).
    """
    n, m = live.size, tm.size
    cap = 64
    ti = np.empty(cap, dtype=np.int64)
    mj = np.empty(cap, dtype=np.int64)
    d2s = np.empty(cap)
    lds = np.empty(cap)
    cnt = 0
    xp, Pp, S, Si = _scratch()
    # Measurements sorted by x: each track screens only those within its reach in x.
    by_x = np.argsort(z[:, 0], kind="mergesort")
    xs = z[by_x, 0].copy()
    r_meas_max = 0.0
    for j in range(m):
        r_meas_max = max(r_meas_max, r_meas[j])
    for a in range(n):
        k = live[a]
        dtm = t_mid - t[k]
        px = xc[k, 0] + xc[k, 3] * dtm
        py = xc[k, 1] + xc[k, 4] * dtm
        dta = abs(dtm) + half
        sp = math.sqrt(max(Pc[k, 0, 0] + Pc[k, 1, 1], 0.0))
        sv = math.sqrt(max(Pc[k, 3, 3] + Pc[k, 4, 4], 0.0))
        vel = math.sqrt(xc[k, 3] ** 2 + xc[k, 4] ** 2)
        r_trk = 4.0 * (sp + sv * dta + math.sqrt(qman[k] * dta * dta * dta / 3.0)) + vel * half
        lo = np.searchsorted(xs, px - r_trk - r_meas_max, side="left")
        hi = np.searchsorted(xs, px + r_trk + r_meas_max, side="right")
        for jj in range(lo, hi):
            j = by_x[jj]
            dx = px - z[j, 0]
            dy = py - z[j, 1]
            rr = r_trk + r_meas[j]
            if dx * dx + dy * dy >= rr * rr:
                continue
            _propagate(xc[k], Pc[k], tm[j] - t[k], qman[k], qman[k] * vz, xp, Pp)
            d2, ld = _mahalanobis(xp, Pp, z[j], R[j], Si, S)
            if d2 < chi2:
                if cnt == cap:
                    cap *= 2
                    ti = _grow_i(ti, cap)
                    mj = _grow_i(mj, cap)
                    d2s = _grow_f(d2s, cap)
                    lds = _grow_f(lds, cap)
                ti[cnt] = a
                mj[cnt] = j
                d2s[cnt] = d2
                lds[cnt] = ld
                cnt += 1
    return ti[:cnt], mj[:cnt], d2s[:cnt], lds[:cnt]


@njit(cache=True)
def _grow_i(a, cap):
    b = np.empty(cap, dtype=np.int64)
    b[: a.size] = a
    return b


@njit(cache=True)
def _grow_f(a, cap):
    b = np.empty(cap)
    b[: a.size] = a
    return b


@njit(cache=True)
def pair_distances(k, xc, Pc, t, qman, vz, z, R, tm):
    """(d^2, ln|S|) of measurement p against track k[p], for each p (noise as in :func:`gate`)."""
    n = k.size
    d2 = np.empty(n)
    ld = np.empty(n)
    xp, Pp, S, Si = _scratch()
    for p in range(n):
        kk = k[p]
        _propagate(xc[kk], Pc[kk], tm[p] - t[kk], qman[kk], qman[kk] * vz, xp, Pp)
        d2[p], ld[p] = _mahalanobis(xp, Pp, z[p], R[p], Si, S)
    return d2, ld


_CELL_OFFSET = 1 << 20  # cell indices are shifted positive before packing into one key


def cell_keys(xy: np.ndarray, cell: float) -> np.ndarray:
    """(n,) int64 key of the grid cell (side ``cell`` m) of each point of ``xy`` (n, 2)."""
    ix = np.floor(xy[:, 0] / cell).astype(np.int64) + _CELL_OFFSET
    iy = np.floor(xy[:, 1] / cell).astype(np.int64) + _CELL_OFFSET
    return ix * (1 << 22) + iy


@njit(cache=True)
def count_near(xy, r, cell, keys, starts, ends, pts, skip):
    """(n,) number of points of ``pts`` within ``r`` of each row of ``xy`` (a grid of side ``cell`` >= r).

    ``pts`` sorted by cell key; ``keys`` the distinct keys, sorted, with the
    ``starts``/``ends`` of their runs in ``pts`` (see :func:`cell_keys`);
    points whose ``skip`` flag is set are not counted.
    """
    n = xy.shape[0]
    out = np.zeros(n, dtype=np.int64)
    r2 = r * r
    for i in range(n):
        x, y = xy[i, 0], xy[i, 1]
        cx = np.int64(math.floor(x / cell)) + (1 << 20)
        cy = np.int64(math.floor(y / cell)) + (1 << 20)
        c = 0
        for ddx in range(-1, 2):
            for ddy in range(-1, 2):
                key = (cx + ddx) * (1 << 22) + (cy + ddy)
                a = np.searchsorted(keys, key)
                if a < keys.size and keys[a] == key:
                    for j in range(starts[a], ends[a]):
                        if skip[j]:
                            continue
                        dx = pts[j, 0] - x
                        dy = pts[j, 1] - y
                        if dx * dx + dy * dy <= r2:
                            c += 1
        out[i] = c
    return out
