"""GOSPA: the generalised optimal sub-pattern assignment metric.

Rahmathullah, García-Fernández, Svensson, "Generalized optimal sub-pattern
assignment metric", FUSION 2017, with α = 2 (the only α for which GOSPA splits
into localisation, missed and false parts). ``metrics.md`` ("Tracking"): cut-off
``c`` = 2,000 m and ``p`` = 1 in the theatre's metric frame.

For truths X (n points) and estimates Y (m points), with α = 2::

    GOSPA^p = min over partial assignments γ ⊆ X × Y (one-to-one) of
              Σ_{(x,y) ∈ γ} d(x,y)^p  +  c^p / 2 · (#unassigned x + #unassigned y)

A pair with d ≥ c never beats leaving both ends unassigned (cost c^p), so the
minimum equals a full rectangular assignment on the truncated costs
``min(d, c)^p`` plus ``c^p/2 · |n − m|``, which ``linear_sum_assignment``
solves. Pairs of that optimum with ``d < c`` are the *assigned* pairs; the
others count as one missed truth plus one false estimate.

For large sets (``method="sparse"``, chosen automatically above
:data:`SPARSE_ABOVE` truth × estimate pairs) the problem is split exactly:
only pairs with d < c can be assigned (found with a k-d tree), so a truth
and an estimate that are each other's only neighbour within ``c`` form a
component of their own and are assigned directly; points with no neighbour
are missed / false; one dense assignment solves the remaining components
together. The result equals the dense one (tested).

What :class:`GospaResult` reports (exactly, for any ``p``):

* ``localisation`` = Σ d^p over assigned pairs (not rooted, so the parts add
  up: ``distance^p = localisation + c^p/2 · (missed + false)``). With ``p`` = 1
  it is the sum of assigned distances in metres.
* ``missed`` = number of truths left unassigned, ``false`` = number of
  estimates left unassigned (counts, not costs).
* ``distance`` = ``(localisation + c^p/2 · (missed + false)) ** (1/p)`` in metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

#: GOSPA cut-off in metres (metrics.md, "Tracking").
DEFAULT_C_M = 2000.0
#: GOSPA order (metrics.md, "Tracking").
DEFAULT_P = 1.0
#: Above this many truth × estimate pairs, method "auto" uses the sparse split.
SPARSE_ABOVE = 1024


@dataclass(frozen=True)
class GospaResult:
    """GOSPA between one set of truths and one set of estimates.

    Attributes:
        distance: GOSPA distance, metres.
        localisation: Σ d^p over assigned pairs, metres^p (metres when p = 1).
        missed: number of truths without an assigned estimate.
        false: number of estimates without an assigned truth.
        assignment: (k, 2) int array of (truth index, estimate index) pairs
            with d < c, sorted by truth index.
        distances: (k,) float array, d of each assigned pair, metres.
    """

    distance: float
    localisation: float
    missed: int
    false: int
    assignment: np.ndarray
    distances: np.ndarray


Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


def _dense(x: np.ndarray, y: np.ndarray, c: float, p: float) -> Pairs:
    """(rows, cols, d) of the assigned pairs (d < c) by one rectangular assignment."""
    d = cdist(x, y)
    rows, cols = linear_sum_assignment(np.minimum(d, c) ** p)
    keep = d[rows, cols] < c
    return rows[keep], cols[keep], d[rows[keep], cols[keep]]


def _sparse(x: np.ndarray, y: np.ndarray, c: float, p: float) -> Pairs:
    """Same result as :func:`_dense`, split into components of the d < c graph."""
    near = cKDTree(x).sparse_distance_matrix(cKDTree(y), c, output_type="ndarray")
    near = near[near["v"] < c]
    i, j = near["i"].astype(np.intp), near["j"].astype(np.intp)
    deg_x = np.bincount(i, minlength=len(x))
    deg_y = np.bincount(j, minlength=len(y))
    alone = (deg_x[i] == 1) & (deg_y[j] == 1)  # a component of exactly one pair
    in_rest_x, in_rest_y = deg_x > 0, deg_y > 0
    in_rest_x[i[alone]] = False
    in_rest_y[j[alone]] = False
    rest_x, rest_y = np.flatnonzero(in_rest_x), np.flatnonzero(in_rest_y)
    rows, cols, dist = i[alone], j[alone], near["v"][alone]
    if len(rest_x) and len(rest_y):
        r, k, d = _dense(x[rest_x], y[rest_y], c, p)
        rows, cols = np.concatenate([rows, rest_x[r]]), np.concatenate([cols, rest_y[k]])
        dist = np.concatenate([dist, d])
    return rows, cols, dist


def _as_points(a: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a (n, 2) or (n, 3) array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds a non-finite coordinate")
    return arr


def gospa(
    truth_xy: np.ndarray,
    est_xy: np.ndarray,
    c: float = DEFAULT_C_M,
    p: float = DEFAULT_P,
    alpha: float = 2.0,
    method: str = "auto",
) -> GospaResult:
    """GOSPA (α = 2) between truths and estimates.

    Args:
        truth_xy: (n, 2) or (n, 3) truth positions, metres; n may be 0.
        est_xy: (m, same) estimate positions, metres; m may be 0.
        c: cut-off distance, metres (> 0).
        p: order (≥ 1).
        alpha: must be 2 (the decomposition into parts needs α = 2).
        method: "dense", "sparse" or "auto" (sparse above :data:`SPARSE_ABOVE`
            pairs); all give the same distance.

    Returns:
        :class:`GospaResult`; see the module docstring for what each part is.
    """
    if alpha != 2:
        raise ValueError("only alpha = 2 is supported (metrics.md)")
    if not c > 0 or not p >= 1:
        raise ValueError("need c > 0 and p >= 1")
    x = _as_points(truth_xy, "truth_xy")
    y = _as_points(est_xy, "est_xy")
    n, m = len(x), len(y)
    if n and m and x.shape[1] != y.shape[1]:
        raise ValueError("truth_xy and est_xy must have the same number of columns")
    half = c**p / alpha
    if n == 0 or m == 0:
        empty = np.empty((0, 2), dtype=np.intp)
        return GospaResult(float((half * (n + m)) ** (1.0 / p)), 0.0, n, m, empty, np.empty(0))

    if method == "auto":
        method = "sparse" if n * m > SPARSE_ABOVE else "dense"
    if method not in ("dense", "sparse"):
        raise ValueError(f"unknown method {method!r}")
    rows, cols, dist = (_sparse if method == "sparse" else _dense)(x, y, c, p)
    k = len(rows)
    localisation = float(np.sum(dist**p))
    missed, false = n - k, m - k
    distance = (localisation + half * (missed + false)) ** (1.0 / p)
    order = np.argsort(rows, kind="stable")
    pairs = np.column_stack([rows[order], cols[order]]).astype(np.intp)
    return GospaResult(float(distance), localisation, missed, false, pairs, dist[order])
