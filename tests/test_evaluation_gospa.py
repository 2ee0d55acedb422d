"""GOSPA (α = 2) per metrics.md: hand-made cases and a brute-force cross-check."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airshield.evaluation.gospa import gospa

C = 2000.0


def brute_force(x: np.ndarray, y: np.ndarray, c: float, p: float) -> tuple[float, float, int, int]:
    """Minimum over *all* one-to-one partial assignments, straight from the paper.

    cost = Σ d^p over assigned pairs + c^p/2 · (unassigned truths + unassigned estimates).
    Returns (distance, localisation, missed, false) of one minimiser.
    """
    n, m = len(x), len(y)
    best = (math.inf, 0.0, 0, 0)
    for choice in itertools.product([None, *range(m)], repeat=n):
        used = [j for j in choice if j is not None]
        if len(used) != len(set(used)):
            continue
        loc = sum(
            float(np.linalg.norm(x[i] - y[j])) ** p for i, j in enumerate(choice) if j is not None
        )
        k = len(used)
        cost = loc + c**p / 2 * ((n - k) + (m - k))
        if cost < best[0] - 1e-9:
            best = (cost, loc, n - k, m - k)
    return best[0] ** (1 / p), best[1], best[2], best[3]


def test_gospa_of_empty_sets_is_zero():
    r = gospa(np.empty((0, 2)), np.empty((0, 2)))
    assert (r.distance, r.localisation, r.missed, r.false) == (0.0, 0.0, 0, 0)
    assert r.assignment.shape == (0, 2)


def test_gospa_of_one_missed_and_one_false_is_c():
    # far apart (> c): one missed truth + one false estimate = 2 · c/2 = c
    r = gospa(np.array([[0.0, 0.0]]), np.array([[5000.0, 0.0]]), c=C)
    assert r.distance == pytest.approx(C)
    assert (r.missed, r.false, r.localisation) == (1, 1, 0.0)
    assert len(r.assignment) == 0


def test_gospa_of_only_missed_truths_is_half_c_each():
    r = gospa(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), np.empty((0, 2)), c=C)
    assert r.distance == pytest.approx(3 * C / 2)
    assert (r.missed, r.false) == (3, 0)


def test_gospa_localisation_is_sum_of_assigned_distances_with_p_1():
    x = np.array([[0.0, 0.0], [10_000.0, 0.0]])
    y = np.array([[300.0, 400.0], [10_000.0, 100.0], [50_000.0, 0.0]])
    r = gospa(x, y, c=C, p=1)
    assert r.localisation == pytest.approx(500.0 + 100.0)
    assert (r.missed, r.false) == (0, 1)
    assert r.distance == pytest.approx(600.0 + C / 2)
    assert r.assignment.tolist() == [[0, 0], [1, 1]]


def test_gospa_pair_at_cutoff_or_beyond_is_unassigned():
    r = gospa(np.array([[0.0, 0.0]]), np.array([[C, 0.0]]), c=C)
    assert (r.missed, r.false) == (1, 1)
    assert r.distance == pytest.approx(C)


def test_gospa_with_p_2_reports_unrooted_localisation():
    x = np.array([[0.0, 0.0], [0.0, 9000.0]])
    y = np.array([[30.0, 40.0]])
    r = gospa(x, y, c=100.0, p=2)
    assert r.localisation == pytest.approx(50.0**2)
    assert r.distance == pytest.approx(math.sqrt(50.0**2 + 100.0**2 / 2 * 1))


def test_gospa_works_in_3d():
    r = gospa(np.array([[0.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 100.0]]))
    assert r.localisation == pytest.approx(100.0)


def test_gospa_rejects_other_alpha():
    with pytest.raises(ValueError):
        gospa(np.zeros((1, 2)), np.zeros((1, 2)), alpha=1)


points = st.lists(
    st.tuples(st.integers(-3000, 3000), st.integers(-3000, 3000)), min_size=0, max_size=4
).map(lambda v: np.array(v, dtype=float).reshape(-1, 2))


@settings(max_examples=250, deadline=None, derandomize=True, database=None)
@given(
    x=points,
    y=points,
    p=st.sampled_from([1.0, 2.0]),
    c=st.sampled_from([500.0, 2000.0]),
    method=st.sampled_from(["dense", "sparse"]),
)
def test_gospa_equals_brute_force_over_partial_assignments(x, y, p, c, method):
    r = gospa(x, y, c=c, p=p, method=method)
    distance, _loc, _missed, _false = brute_force(x, y, c, p)
    assert r.distance == pytest.approx(distance, rel=1e-9, abs=1e-6)
    # the parts add up to the distance, whichever minimiser was found
    total = r.localisation + c**p / 2 * (r.missed + r.false)
    assert total ** (1 / p) == pytest.approx(r.distance, rel=1e-9, abs=1e-6)
    assert len(r.assignment) == len(x) - r.missed == len(y) - r.false
    assert np.all(r.distances < c)


@pytest.mark.parametrize("seed", range(5))
def test_sparse_split_equals_dense_assignment_on_large_clustered_sets(seed):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 100_000, size=(40, 2))
    x = centres + rng.normal(0, 800, size=centres.shape)
    y = np.vstack(
        [centres[:30] + rng.normal(0, 800, size=(30, 2)), rng.uniform(0, 100_000, (15, 2))]
    )
    dense, sparse = gospa(x, y, method="dense"), gospa(x, y, method="sparse")
    assert sparse.distance == pytest.approx(dense.distance, rel=1e-12)
    assert (sparse.missed, sparse.false) == (dense.missed, dense.false)
    assert gospa(x, y).distance == pytest.approx(dense.distance, rel=1e-12)  # auto
