"""Track-to-truth association and tracking metrics (metrics.md, "Tracking")."""

from __future__ import annotations

import numpy as np
import pytest

from airshield.evaluation.association import associate, tracking_metrics
from airshield.evaluation.gospa import gospa
from airshield.evaluation.sampling import eval_grid, tracks_at, truth_at

C = 2000.0


def run(truths, tracks, civil=(), cls=None, first_report=None, n_times=None):
    """Associate hand-made samples and compute the tracking metrics.

    truths: list of (k, obj, x, y); tracks: list of (k, track, x, y, cls, threat).
    """
    truths = sorted(truths)
    tracks = sorted(tracks, key=lambda r: (r[0], r[1]))
    n_obj = 1 + max([t[1] for t in truths] + [-1])
    n_times = n_times or 1 + max([t[0] for t in truths] + [r[0] for r in tracks])
    civ = np.zeros(n_obj, bool)
    civ[list(civil)] = True
    tk = np.array([t[0] for t in truths], np.intp)
    to = np.array([t[1] for t in truths], np.intp)
    txy = np.array([t[2:4] for t in truths], float).reshape(-1, 2)
    rk = np.array([r[0] for r in tracks], np.intp)
    rid = np.array([r[1] for r in tracks], np.intp)
    rxy = np.array([r[2:4] for r in tracks], float).reshape(-1, 2)
    a = associate(n_times, tk, to, txy, civ, rk, rid, rxy, c=C)
    grid = 10.0 * np.arange(n_times)
    fr = np.full(n_obj, np.nan) if first_report is None else np.asarray(first_report, float)
    m = tracking_metrics(
        a, grid, civ, np.array(cls or ["drone"] * n_obj, dtype=object), fr,
        np.array([r[4] for r in tracks], dtype=object), np.array([r[5] for r in tracks], bool),
    )  # fmt: skip
    return a, m


def test_perfect_tracking_scores_zero():
    truths = [(k, 0, 1000.0 * k, 0.0) for k in range(5)]
    tracks = [(k, 7, 1000.0 * k, 0.0, "drone", True) for k in range(5)]
    _, m = run(truths, tracks)
    assert m["gospa_mean_m"] == 0.0 and m["gospa_missed_mean"] == 0.0
    assert m["track_ids_per_threat"] == 1.0 and m["id_switches"] == 0
    assert m["false_confirmed_tracks"] == 0 and m["class_accuracy"] == 1.0


def test_id_switch_counted_when_track_changes():
    truths = [(k, 0, 0.0, 0.0) for k in range(6)]
    ids = [1, 1, None, 1, 2, 2]  # gap then same id: no switch; 1 → 2: one switch
    tracks = [(k, i, 10.0, 0.0, "drone", True) for k, i in enumerate(ids) if i is not None]
    _, m = run(truths, tracks)
    assert m["id_switches"] == 1
    assert m["track_ids_per_threat"] == 2.0


def test_false_confirmed_track_never_assigned():
    truths = [(k, 0, 0.0, 0.0) for k in range(3)]
    tracks = [(k, 1, 50.0, 0.0, "drone", True) for k in range(3)]
    tracks += [(k, 2, 90_000.0, 0.0, "drone", True) for k in range(3)]
    a, m = run(truths, tracks)
    assert m["false_confirmed_tracks"] == 1
    assert m["gospa_false_mean"] == 1.0
    assert m["gospa_mean_m"] == pytest.approx(50.0 + C / 2)
    assert m["gospa_localisation_m"] == pytest.approx(50.0)


def test_civil_aircraft_shown_as_threat_counted():
    truths = [(k, 0, 0.0, 0.0) for k in range(3)] + [(k, 1, 50_000.0, 0.0) for k in range(3)]
    threat_flag = [False, True, True]
    tracks = [(k, 5, 0.0, 0.0, "drone", True) for k in range(3)]
    tracks += [(k, 6, 50_100.0, 0.0, "aircraft", threat_flag[k]) for k in range(3)]
    tracks += [(k, 7, 50_000.0, 900.0, "aircraft", False) for k in range(1)]
    _, m = run(truths, tracks, civil=[1], cls=["drone", "airliner-typo"])
    assert m["civil_tracks_as_threat"] == 1  # track 6; track 7 never assigned to it
    # the airliner track is neither a false track nor a GOSPA miss/false
    assert m["gospa_mean_m"] == pytest.approx((0 + 0 + 0 + C / 2) / 3)  # track 7 at k=0 is false
    assert m["false_confirmed_tracks"] == 1  # track 7
    assert m["civil_only_tracks"] == 1  # track 6
    # civil truth counts as class "aircraft" whatever its cls field says
    assert m["class_accuracy"] == 1.0


def test_class_accuracy_is_share_of_assigned_track_samples():
    truths = [(k, 0, 0.0, 0.0) for k in range(4)]
    cls = ["drone", "drone", "cruise", "unknown"]
    tracks = [(k, 1, 0.0, 0.0, cls[k], True) for k in range(4)]
    _, m = run(truths, tracks, cls=["drone"])
    assert m["class_accuracy"] == 0.5


def test_position_rmse_of_assigned_pairs():
    truths = [(0, 0, 0.0, 0.0), (1, 0, 0.0, 0.0)]
    tracks = [(0, 1, 30.0, 40.0, "drone", True), (1, 1, 0.0, 100.0, "drone", True)]
    _, m = run(truths, tracks)
    assert m["position_rmse_m"] == pytest.approx(np.sqrt((50**2 + 100**2) / 2))


def test_time_to_confirm_from_first_report_to_first_assigned_time():
    truths = [(k, 0, 0.0, 0.0) for k in range(6)] + [(k, 1, 9e5, 0.0) for k in range(6)]
    tracks = [(k, 1, 0.0, 0.0, "drone", True) for k in range(3, 6)]
    _, m = run(truths, tracks, first_report=[5.0, 0.0])
    assert m["time_to_confirm_p95_s"] == pytest.approx(25.0)  # grid[3] = 30 s − 5 s
    assert m["threats_reported_never_tracked"] == 1


def test_time_to_confirm_is_never_before_the_threats_own_first_report():
    # A column neighbour's track passes over threat 0 before anyone has reported it.
    truths = [(k, 0, 0.0, 0.0) for k in range(6)]
    tracks = [(0, 1, 0.0, 0.0, "drone", True)] + [(k, 2, 0.0, 0.0, "drone", True) for k in range(4, 6)]
    _, m = run(truths, tracks, first_report=[25.0])
    assert m["time_to_confirm_median_s"] == pytest.approx(15.0)  # grid[4] = 40 s − 25 s, not 0 − 25


def test_gospa_means_skip_times_with_no_threat_and_no_track():
    truths = [(0, 0, 0.0, 0.0)]
    _, m = run(truths, [], n_times=10)
    assert m["gospa_times"] == 1
    assert m["gospa_mean_m"] == pytest.approx(C / 2)
    assert m["gospa_per_threat_m"] == pytest.approx(C / 2)
    assert m["position_rmse_m"] is None and m["class_accuracy"] is None


def test_gospa_per_threat_divides_by_threats_present():
    truths = [(0, 0, 0.0, 0.0), (0, 1, 10_000.0, 0.0)]
    _, m = run(truths, [])
    assert m["gospa_mean_m"] == pytest.approx(C)
    assert m["gospa_per_threat_m"] == pytest.approx(C / 2)


def test_threat_gospa_equals_gospa_of_threats_vs_tracks_not_on_civil():
    rng = np.random.default_rng(7)
    for _ in range(30):
        n, m_, civ_n = rng.integers(0, 5), rng.integers(0, 6), rng.integers(0, 3)
        pts = rng.uniform(0, 6000, size=(n + civ_n, 2))
        trk = rng.uniform(0, 6000, size=(m_, 2))
        truths = [(0, i, *pts[i]) for i in range(n + civ_n)]
        tracks = [(0, j, *trk[j], "drone", True) for j in range(m_)]
        civil = list(range(n, n + civ_n))
        a, _ = run(truths, tracks, civil=civil, n_times=1)
        on_civil = a.sample[np.isin(a.obj, civil)]
        rest = np.delete(trk, on_civil, axis=0) if m_ else trk.reshape(0, 2)
        direct = gospa(pts[:n].reshape(-1, 2), rest.reshape(-1, 2), c=C)
        assert a.gospa[0] == pytest.approx(direct.distance)


# --- sampling at evaluation times ---


def test_eval_grid_covers_scenario_inclusive():
    assert eval_grid(100.0, 130.0, 10.0).tolist() == [100.0, 110.0, 120.0, 130.0]


def test_truth_is_interpolated_and_present_only_during_its_life():
    grid = np.array([0.0, 10.0, 20.0, 30.0])
    ta = truth_at(
        grid, np.array([0, 0]), np.array([5.0, 25.0]), np.array([0.0, 200.0]), np.zeros(2)
    )
    assert ta.k.tolist() == [1, 2]
    assert ta.x.tolist() == pytest.approx([50.0, 150.0])


def test_track_state_rules_latest_confirmed_coasting_not_older_than_60_s():
    grid = np.arange(0.0, 200.0, 10.0)
    track = np.array([0, 0, 0, 1, 1])
    t = np.array([0.0, 25.0, 100.0, 0.0, 30.0])
    # tentative, confirmed, deleted | confirmed, tentative
    scored = np.array([False, True, False, True, False])
    lat = np.array([50.0] * 5)
    lon = np.array([30.0] * 5)
    ve = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
    vn = np.array([0.0, 100.0, 0.0, 0.0, 0.0])
    s = tracks_at(grid, track, t, scored, lat, lon, ve, vn)
    got = sorted(zip(s.k.tolist(), track[s.row].tolist(), strict=True))
    # track 0: confirmed state at 25 s scored at 30..80 s (≤ 60 s old); deleted at 100 s
    # track 1: confirmed at 0 s scored at 0..20 s, then its latest state (30 s) is not scored
    assert got == sorted([(3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (0, 1), (1, 1), (2, 1)])
    # predicted forward with the velocity: 100 m/s north for 55 s at k = 8
    i = int(np.flatnonzero(s.k == 8)[0])
    assert (s.lat[i] - 50.0) * 111_195 == pytest.approx(5500.0, rel=1e-3)
