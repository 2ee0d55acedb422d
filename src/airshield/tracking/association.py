"""Data association: global nearest neighbour per sensor scan, over gated pairs only.

A sensor reports each target at most once per look, so within one sensor
scan the reports and the tracks are matched one to one, minimising the sum
of ``d^2 + ln|S|`` (the negative log-likelihood, up to a constant) with
scipy's ``linear_sum_assignment`` (GNN). Different sensors' scans are
assigned independently: one track may take an acoustic node's report and a
radar plot in the same batch. A scan with a single report, the usual case
for an acoustic node, reduces to picking its cheapest gated track.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

_BIG = 1e9


def assign(
    meas: np.ndarray, trk: np.ndarray, cost: np.ndarray, scan: np.ndarray, gate: float, logdet: np.ndarray,
    d2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Assign gated pairs.

    Args:
        meas, trk: (p,) measurement and track index of each gated pair.
        cost: (p,) pair cost ``d^2 + ln|S|``.
        scan: (p,) scan key of each pair's measurement.
        gate: the d^2 gate; a measurement stays unassigned if that is cheaper
            than every pairing (cost of non-assignment ``gate + ln|S|``).
        logdet: (p,) ln|S| of each pair.
        d2: (p,) squared Mahalanobis distance of each pair (passed through).

    Returns:
        (measurements, tracks, d2, logdet) of the chosen pairs, sorted by measurement.
    """
    if meas.size == 0:
        return meas, trk, d2, logdet
    order = np.lexsort((trk, cost, meas, scan))
    meas, trk, cost, scan, logdet, d2 = (meas[order], trk[order], cost[order], scan[order], logdet[order],
                                         d2[order])
    # Number of distinct measurements per scan.
    new_meas = np.ones(meas.size, dtype=bool)
    new_meas[1:] = (meas[1:] != meas[:-1]) | (scan[1:] != scan[:-1])
    scan_start = np.ones(meas.size, dtype=bool)
    scan_start[1:] = scan[1:] != scan[:-1]
    scan_id = np.cumsum(scan_start) - 1
    n_meas_in_scan = np.bincount(scan_id, weights=new_meas.astype(float)).astype(int)
    single = n_meas_in_scan[scan_id] == 1
    # Singleton scans: the cheapest pair of the measurement (first after the sort).
    pick = single & new_meas
    out = [np.flatnonzero(pick)]
    multi = np.flatnonzero(~single)
    if multi.size:
        # A scan in which no track is a candidate of two of its reports needs no
        # assignment problem: each report's cheapest track is the optimum.
        key = scan_id[multi] * (int(trk.max()) + 1) + trk[multi]
        order_k = np.argsort(key, kind="stable")
        ks = key[order_k]
        dup = np.zeros(multi.size, dtype=bool)
        same = ks[1:] == ks[:-1]
        dup[order_k[1:][same]] = True
        dup[order_k[:-1][same]] = True
        conflicted = np.zeros(scan_id.max() + 1, dtype=bool)
        conflicted[scan_id[multi][dup]] = True
        free = ~conflicted[scan_id[multi]]
        out.append(multi[free & new_meas[multi]])
        multi = multi[~free]
    if multi.size:
        bounds = np.flatnonzero(np.diff(scan_id[multi]) != 0) + 1
        for grp in np.split(multi, bounds):
            gm, gt, gc, gl = meas[grp], trk[grp], cost[grp], logdet[grp]
            rows, ri = np.unique(gm, return_inverse=True)
            cols, ci = np.unique(gt, return_inverse=True)
            C = np.full((rows.size, cols.size + rows.size), _BIG)
            C[ri, ci] = gc
            # Dummy column per row: leaving the report unassigned.
            miss = np.full(rows.size, np.inf)
            np.minimum.at(miss, ri, gate + gl)
            C[np.arange(rows.size), cols.size + np.arange(rows.size)] = miss
            r, c = linear_sum_assignment(C)
            real = (c < cols.size) & (C[r, c] < _BIG)
            # Back to pair rows: the pair (rows[r], cols[c]) inside this group.
            key = {(a, b): p for p, a, b in zip(grp.tolist(), ri.tolist(), ci.tolist(), strict=True)}
            out.append(np.array([key[(a, b)] for a, b in zip(r[real].tolist(), c[real].tolist(), strict=True)],
                                dtype=np.int64))
    sel = np.concatenate(out)
    sel = sel[np.argsort(meas[sel], kind="stable")]
    return meas[sel], trk[sel], d2[sel], logdet[sel]
