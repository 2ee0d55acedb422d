"""The tracker: measurement models, filter, association, track management, classification."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
import pytest

from airshield.geo import Theatre
from airshield.model import AcousticDetection, AdsbReport, ObserverReport, RadarPlot
from airshield.sim.radar import polar
from airshield.tracking import Tracker, TrackerConfig, kernels
from airshield.tracking.association import assign
from airshield.tracking.measurement import Converter
from airshield.tracking.tracker import _Meta

TH = Theatre.ukraine()
T0 = datetime(2025, 10, 1, 20, 0, tzinfo=UTC)
RADAR = (50.0, 33.0, 20.0)  # lat, lon, height


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def radar_plot(x: float, y: float, z: float, s: float, sensor="RAD-1", noise=None) -> RadarPlot:
    """A radar plot of a target at frame position (x, y, z) at time s, as the simulator makes it."""
    rx, ry = TH.to_xy(RADAR[0], RADAR[1])
    r, az, el = polar(np.array([x - rx]), np.array([y - ry]), np.array([z - RADAR[2]]),
                      TH.north_angle(RADAR[0], RADAR[1]))
    dr, daz, del_ = noise if noise is not None else (0.0, 0.0, 0.0)
    return RadarPlot(sensor=sensor, time=at(s), arrival=at(s + 0.5), lat=RADAR[0], lon=RADAR[1],
                     alt_m=RADAR[2], range_m=float(r[0] + dr), azimuth_deg=float((az[0] + daz) % 360),
                     elevation_deg=float(el[0] + del_), sigma_range_m=20.0, sigma_azimuth_deg=0.7,
                     sigma_elevation_deg=1.0)


def acoustic(x: float, y: float, s: float, sensor: str, drone=0.8) -> AcousticDetection:
    lat, lon = TH.to_latlon(x, y)
    return AcousticDetection(sensor=sensor, time=at(s), arrival=at(s + 2), lat=lat, lon=lon, alt_m=2.0,
                             scores={"drone": drone, "unknown": round(1 - drone, 3)})


def radar_xy() -> tuple[float, float]:
    return TH.to_xy(RADAR[0], RADAR[1])


# --- measurement models ---------------------------------------------------------------


def test_radar_plots_convert_to_the_true_position_with_a_consistent_covariance():
    rng = np.random.default_rng(1)
    rx, ry = radar_xy()
    conv = Converter(TH)
    nees = []
    for _ in range(300):
        tgt = np.array([rx + rng.uniform(-20e3, 20e3), ry + rng.uniform(-20e3, 20e3), rng.uniform(100, 3000)])
        n = (rng.normal(0, 20.0), rng.normal(0, 0.7), rng.normal(0, 1.0))
        m = conv.convert([radar_plot(*tgt, 0.0, noise=n)])
        e = m.z[0] - tgt
        nees.append(e @ np.linalg.solve(m.R[0], e))
    # Normalised estimation error squared of a consistent 3-D measurement averages 3.
    assert 2.4 < np.mean(nees) < 3.6


def test_a_radar_plot_overhead_or_a_metre_away_claims_no_direction_known_better_than_a_metre():
    # Straight overhead the azimuth says nothing and the converted covariance is singular; a
    # metre away every angle is worth micrometres. Both are accepted plots (model.py), so the
    # tracker must get a covariance it can invert: no eigenvalue under MIN_VARIANCE_M2.
    from airshield.model import MIN_VARIANCE_M2
    from airshield.tracking.measurement import radar_to_frame

    rng = np.array([80_000.0, 1.0, 1.0, 50_000.0])
    el = np.array([90.0, 0.0, 45.0, 2.0])
    z, R = radar_to_frame(np.zeros(4), np.zeros(4), np.zeros(4), np.zeros(4), rng, np.full(4, 30.0), el,
                          np.ones(4), np.full(4, 0.001), np.full(4, 0.001))
    assert np.isfinite(z).all()
    assert np.linalg.eigvalsh(R[:3]).min() >= MIN_VARIANCE_M2 * 0.999
    # An ordinary plot keeps its covariance as the Jacobian gives it.
    ordinary = radar_to_frame(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), np.array([50_000.0]),
                              np.array([30.0]), np.array([2.0]), np.array([100.0]), np.array([0.5]),
                              np.array([0.5]))[1]
    assert np.linalg.eigvalsh(ordinary).min() > 1e4


def test_a_bearing_points_along_the_true_bearing_even_far_from_the_theatre_centre():
    # At Lviv true north is turned ~5.4 deg in the frame (grid convergence).
    lat, lon = 49.84, 24.03
    ox, oy = TH.to_xy(lat, lon)
    rep = ObserverReport(sensor="OBS-1", time=at(0), arrival=at(20), lat=lat, lon=lon, alt_m=1.5,
                         bearing_deg=90.0, sigma_bearing_deg=15.0, cls="drone")
    m = Converter(TH).convert([rep])
    tlat, tlon = TH.to_latlon(m.z[0, 0], m.z[0, 1])
    from pyproj import Geod

    az, _, dist = Geod(ellps="WGS84").inv(lon, lat, tlon, tlat)
    assert az == pytest.approx(90.0, abs=0.2)
    assert 1000 < dist < 2000
    # Elongated along the bearing: the larger principal axis points east-ish.
    w, v = np.linalg.eigh(m.R[0, :2, :2])
    assert abs(v[:, 1] @ np.array([math.cos(TH.north_angle(lat, lon)), -math.sin(TH.north_angle(lat, lon))])) > 0.99


# --- filter ---------------------------------------------------------------------------


def test_imm_with_equal_modes_is_a_plain_kalman_filter():
    # The compiled filter with both modes' noise equal must reduce to the textbook
    # constant-velocity Kalman filter (Bar-Shalom, Li, Kirubarajan, ch. 5-6).
    q = 0.04
    C = list(kernels.model_constants())
    C[7] = np.full_like(C[7], q)  # both modes, every class: the same noise density
    C[10] = np.ones_like(C[10])  # and the same vertically
    C = tuple(C)
    x0 = np.zeros(6)
    x0[3] = 40.0
    P0 = np.diag([100.0**2] * 3 + [10.0**2] * 3)
    x = np.broadcast_to(x0, (1, 2, 6)).copy()
    P = np.broadcast_to(P0, (1, 2, 6, 6)).copy()
    mu = np.array([[0.5, 0.5]])
    t = np.array([0.0])
    ev = np.zeros((1, 6))
    xc, Pc, probs, qman = np.zeros((1, 6)), np.zeros((1, 6, 6)), np.full((1, 6), 1 / 6), np.zeros(1)
    z = np.array([[210.0, 5.0, 0.0]])
    R = np.diag([50.0**2] * 3)[None]
    kernels.filter_pairs(C, np.array([0]), z, R, np.array([5.0]), np.zeros((1, 6)), x, P, mu, t, ev,
                         xc, Pc, probs, qman)
    # The textbook filter.
    dt = 5.0
    F = np.eye(6)
    F[0, 3] = F[1, 4] = F[2, 5] = dt
    Q = np.kron(np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]]), np.eye(3)) * q
    xk = F @ x0
    Pk = F @ P0 @ F.T + Q
    H = np.hstack([np.eye(3), np.zeros((3, 3))])
    S = H @ Pk @ H.T + R[0]
    K = Pk @ H.T @ np.linalg.inv(S)
    xk = xk + K @ (z[0] - H @ xk)
    Pk = (np.eye(6) - K @ H) @ Pk
    for m in range(2):
        np.testing.assert_allclose(x[0, m], xk, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(P[0, m], Pk, rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(xc[0], xk, rtol=1e-9, atol=1e-9)
    assert t[0] == 5.0


def test_gnn_gives_each_plot_of_a_scan_its_own_track():
    # Two plots of one scan, two tracks: the nearest-first greedy choice would give both
    # plots' best track to plot 0; the assignment must give each plot a different track.
    meas = np.array([0, 0, 1])
    trk = np.array([0, 1, 0])
    cost = np.array([1.0, 2.0, 1.5])
    m, t, _, _ = assign(meas, trk, cost, np.zeros(3, dtype=int), 16.0, np.zeros(3), cost)
    assert dict(zip(m.tolist(), t.tolist(), strict=True)) == {0: 1, 1: 0}


def test_different_sensors_may_update_one_track_in_the_same_batch():
    meas = np.array([0, 1])
    trk = np.array([0, 0])
    cost = np.array([1.0, 1.0])
    m, t, _, _ = assign(meas, trk, cost, np.array([0, 1]), 16.0, np.zeros(2), cost)
    assert m.tolist() == [0, 1] and t.tolist() == [0, 0]


# --- track management -----------------------------------------------------------------


def _run(tracker: Tracker, reports, step=1.0):
    """Feed reports in arrival order, one-second batches; return all events."""
    reports = sorted(reports, key=lambda r: (r.arrival, r.time))
    events = []
    i = 0
    t = reports[0].arrival.timestamp()
    while i < len(reports):
        batch = []
        while i < len(reports) and reports[i].arrival.timestamp() < t + step:
            batch.append(reports[i])
            i += 1
        t += step
        events += tracker.process(batch, t)
    return events


def test_a_single_nodes_false_alarm_never_confirms():
    x, y = radar_xy()
    reps = [acoustic(x, y, s, "AC-1") for s in (0, 5, 10, 15, 20)]
    events = _run(Tracker(TH), reps)
    assert not [e for e in events if e.kind == "confirmed"]


def test_a_drone_heard_by_successive_nodes_is_confirmed():
    x0, y0 = radar_xy()
    reps = []
    for s in range(0, 300, 5):
        px = x0 + 45.0 * s  # 45 m/s east
        node = round(px / 3000.0)  # a node every 3 km along the path
        reps.append(acoustic(node * 3000.0, y0 + 500.0, s, f"AC-{node}"))
    events = _run(Tracker(TH), reps)
    confirmed = [e for e in events if e.kind == "confirmed"]
    assert len(confirmed) == 1
    assert confirmed[0].state.cls == "drone"


def test_a_long_burst_from_one_node_does_not_pin_the_track_to_that_node():
    # Decision 0016: eleven looks of one node are one fact. The next node, 6 km on and
    # 60 s after the burst, must still fit the track (it carried a drone over).
    import dataclasses

    x0, y0 = radar_xy()
    burst = [acoustic(x0, y0, s, "AC-A") for s in range(0, 55, 5)]
    nxt = acoustic(x0 - 3600.0, y0 + 5300.0, 115.0, "AC-B")

    def d2_of_next(cfg):
        tr = Tracker(TH, cfg)
        _run(tr, burst)
        [k] = tr._live().tolist()
        m = tr.converter.convert([nxt])
        d2, _ = kernels.pair_distances(np.array([k]), tr._xc, tr._Pc, tr._t, tr._qman, tr._vz_man,
                                       m.z, m.R, m.t)
        return float(d2[0])

    pinned = d2_of_next(dataclasses.replace(Tracker(TH).cfg, acoustic_repeat_r=False))
    one_fact = d2_of_next(Tracker(TH).cfg)
    assert one_fact < pinned / 2, (one_fact, pinned)
    assert one_fact < Tracker(TH).cfg.gate_chi2


def test_one_radar_alone_confirms_but_is_no_threat_until_corroborated():
    x0, y0 = radar_xy()
    plots = [radar_plot(x0 + 8000 + 45.0 * s, y0 + 5000, 500.0, s) for s in range(0, 40, 2)]
    events = _run(Tracker(TH), plots)
    states = [e.state for e in events if e.state.status == "confirmed"]
    assert states, "a radar's steady plots confirm a track"
    assert not any(s.threat for s in states)
    # An acoustic node under the track corroborates it.
    more = plots + [acoustic(x0 + 8000 + 45.0 * 44, y0 + 5200, 44, "AC-9"),
                    radar_plot(x0 + 8000 + 45.0 * 46, y0 + 5000, 500.0, 46)]
    events = _run(Tracker(TH), more)
    assert any(e.state.threat for e in events)


def test_a_cooperative_aircraft_is_never_a_threat():
    x0, y0 = radar_xy()
    reps = []
    for s in range(0, 120, 5):
        px, py = x0 + 230.0 * s - 15000, y0 + 3000
        lat, lon = TH.to_latlon(px, py)
        reps.append(AdsbReport(sensor="ADSB-NET", time=at(s), arrival=at(s + 1), icao="4CA2D1", lat=lat,
                               lon=lon, alt_m=10500.0, ground_speed_mps=230.0,
                               track_deg=(90.0 - math.degrees(TH.north_angle(lat, lon))) % 360))
        reps.append(radar_plot(px, py, 10500.0, s + 1))
    events = _run(Tracker(TH), reps)
    assert events
    assert not any(e.state.threat for e in events)
    icao = {e.state.icao for e in events if e.state.status != "tentative"}
    assert icao == {"4CA2D1"}


def test_speed_tells_classes_apart():
    x0, y0 = radar_xy()
    for speed, alt, expected in ((45.0, 500.0, "drone"), (220.0, 80.0, "cruise"), (1900.0, 20000.0, "ballistic")):
        plots = [radar_plot(x0 + 2000 + speed * s, y0 + 3000, alt, s) for s in np.arange(0, 30, 2.0)]
        events = _run(Tracker(TH), plots)
        final = [e.state for e in events if e.state.status != "tentative"][-1]
        assert final.cls == expected, (speed, final.probs)


def test_radar_plots_far_above_any_clutter_confirm_a_ballistic_track_within_seconds():
    # A missile at the edge of a radar's range, a plot every 10 s: its alert must start
    # within 30 s of the first report (metrics.md). Nothing but a missile flies at 40 km.
    x0, y0 = radar_xy()
    plots = [radar_plot(x0 + 60_000 + 2000.0 * s, y0 + 3000, 40_000.0 + 800.0 * s, s) for s in (0.0, 10.0, 20.0)]

    def confirmed(config):
        return [e.state for e in _run(Tracker(TH, config), plots) if e.kind == "confirmed"]

    (st,) = confirmed(TrackerConfig())
    assert st.cls == "ballistic" and st.t <= at(20.0).timestamp()
    # The same plots scored like low ones (clutter everywhere) are not yet a track.
    assert confirmed(TrackerConfig(radar_high_clutter_factor=1.0)) == []


def test_a_ballistic_track_carries_the_vertical_acceleration_of_its_own_arc():
    # A steep arc, as the simulator flies a short-range shot: 2 km/s on, falling at 40 m/s^2.
    x0, y0 = radar_xy()
    rng = np.random.default_rng(5)

    def height(s):
        return 25_000.0 + 1000.0 * s - 20.0 * s * s

    plots = [radar_plot(x0 + 20_000 + 1900.0 * s, y0 + 3000, height(s), s,
                        noise=(rng.normal(0, 20.0), rng.normal(0, 0.3), rng.normal(0, 0.3)))
             for s in np.arange(0, 40, 1.0)]
    events = _run(Tracker(TH), plots)
    shown = [e.state for e in events if e.state.status != "tentative"]
    assert shown[-1].cls == "ballistic"
    assert abs(shown[-1].az_mps2 - (-40.0)) <= 3.0 * shown[-1].az_sigma_mps2
    assert shown[-1].az_sigma_mps2 < 10.0
    # A backlog of plots from before the fit's window does not push the window's heights out.
    tr = Tracker(TH)
    meta = _Meta("T1", 0.0, 0)
    tr._meta = [meta]
    t = np.arange(100.0, 124.0)
    tr._keep_heights(np.zeros(t.size, int), t, 30_000 + 800 * (t - 100) - 20 * (t - 100) ** 2, np.full(t.size, 1e4))
    old = np.arange(40.0, 64.0)
    tr._keep_heights(np.zeros(old.size, int), old, np.zeros(old.size), np.full(old.size, 1e4))
    az, sigma = tr._vertical_accel(meta, 123.0)
    assert abs(az - (-40.0)) <= 3.0 * sigma
    # A drone's state carries none.
    drone = [radar_plot(x0 + 2000 + 45.0 * s, y0 + 3000, 500.0, s) for s in np.arange(0, 30, 2.0)]
    assert all(math.isnan(e.state.az_mps2) for e in _run(Tracker(TH), drone))


def test_a_late_report_updates_its_track_without_turning_back_its_clock():
    x0, y0 = radar_xy()
    plots = [radar_plot(x0 + 8000 + 45.0 * s, y0 + 5000, 500.0, s) for s in range(0, 60, 2)]
    tr = Tracker(TH)
    _run(tr, plots)
    (before,) = [s for s in tr.tracks()]
    lat, lon = TH.to_latlon(x0 + 8000 + 45.0 * 30, y0 + 3500)
    late = ObserverReport(sensor="OBS-7", time=at(30), arrival=at(70), lat=lat, lon=lon, alt_m=1.5,
                          bearing_deg=(0.0 - math.degrees(TH.north_angle(lat, lon))) % 360,
                          sigma_bearing_deg=15.0, cls="drone")
    tr.process([late], 70.0 + T0.timestamp())
    (after,) = tr.tracks()
    assert after.id == before.id
    assert after.reports == before.reports + 1
    assert after.t == before.t


def test_track_ids_are_never_reused():
    x, y = radar_xy()
    tr = Tracker(TH)
    ids = []
    for k in range(3):
        events = tr.process([acoustic(x + 50_000 * k, y, 1000.0 * k, f"AC-{k}")], T0.timestamp() + 1000.0 * k + 3)
        ids += [e.state.id for e in events if e.kind == "new"]
        tr.process([], T0.timestamp() + 1000.0 * k + 500)  # the tentative track times out
    assert len(ids) == 3 and len(set(ids)) == 3


def test_each_report_is_converted_from_its_own_sensor_position_even_if_the_sensor_moved():
    # An observer's phone moves: two reports of one observer in one batch, 55 km apart.
    a = ObserverReport(sensor="OBS-1", time=at(0), arrival=at(20), lat=50.0, lon=30.0, alt_m=1.5,
                       bearing_deg=0.0, sigma_bearing_deg=15.0, cls="drone")
    b = ObserverReport(sensor="OBS-1", time=at(0), arrival=at(20), lat=50.5, lon=30.0, alt_m=1.5,
                       bearing_deg=0.0, sigma_bearing_deg=15.0, cls="drone")
    both = Converter(TH).convert([a, b]).z
    np.testing.assert_allclose(both[0], Converter(TH).convert([a]).z[0])
    np.testing.assert_allclose(both[1], Converter(TH).convert([b]).z[0])


def test_only_presence_only_acoustic_reports_are_marked_as_presence():
    # The tracker places these on the node's pass (decision 0019); an array's
    # bearing, a radar plot or an observer's bearing must never be taken for one,
    # whatever their covariance happens to be.
    x, y = radar_xy()
    node = acoustic(x, y, 0.0, "AC-1")
    array = msgspec.structs.replace(acoustic(x + 3000.0, y, 0.0, "AC-2"), bearing_deg=45.0,
                                    sigma_bearing_deg=8.0)
    obs = ObserverReport(sensor="OBS-1", time=at(0), arrival=at(20), lat=50.0, lon=30.0, alt_m=1.5,
                         bearing_deg=0.0, sigma_bearing_deg=15.0, cls="drone")
    m = Converter(TH).convert([node, array, radar_plot(x + 5000.0, y, 1000.0, 0.0), obs])
    assert m.presence.tolist() == [True, False, False, False]
    assert m.take(np.array([3, 0])).presence.tolist() == [False, True]


def _false_alarm_coincidence(config):
    x0, y0 = radar_xy()
    # A grid of nodes 700 m apart; every node has reported before (the registry knows it).
    nodes = {f"AC-{i}{j}": (x0 + 700.0 * i, y0 + 700.0 * j) for i in range(5) for j in range(5)}
    history = [acoustic(x, y, -3600.0 + n, s) for n, (s, (x, y)) in enumerate(nodes.items())]
    # False-alarm bursts at three neighbouring nodes within a minute; nothing else hears anything.
    bursts = [acoustic(*nodes[s], t0 + dt, s, drone=0.5)
              for s, t0 in (("AC-22", 0.0), ("AC-23", 20.0), ("AC-32", 40.0)) for dt in (0.0, 5.0, 10.0, 15.0)]
    tr = Tracker(TH, config)
    tr.register_sensors(history + bursts)
    return [e for e in _run(tr, bursts) if e.kind == "confirmed"]


def test_silent_nodes_around_a_coincidence_of_false_alarms_keep_it_from_confirming():
    import dataclasses

    from airshield.tracking import TrackerConfig

    # Without negative information the coincidence looks like a drone...
    assert _false_alarm_coincidence(dataclasses.replace(TrackerConfig(), negative_pd=0.0))
    # ...with it, the neighbours that heard nothing give it away.
    assert not _false_alarm_coincidence(TrackerConfig())


def _radar_track(seconds: int) -> Tracker:
    """A tracker that followed one drone (45 m/s east, 500 m up) on radar for ``seconds``."""
    x0, y0 = radar_xy()
    tr = Tracker(TH)
    _run(tr, [radar_plot(x0 + 8000 + 45.0 * s, y0 + 5000, 500.0, s) for s in range(0, seconds, 2)])
    return tr


def test_late_observer_reports_do_not_inflate_a_radar_tracks_uncertainty():
    # Observers report 10-60 s late (domain.md). Each late bearing is applied to the past
    # and must not add the process noise of its delay twice: a radar track stays tight.
    x0, y0 = radar_xy()
    tr = _radar_track(120)
    (before,) = tr.tracks()
    late = []
    for n, s in enumerate(range(60, 110, 5)):
        tx, ty = x0 + 8000 + 45.0 * s, y0 + 5000
        ox, oy = tx - 1000.0, ty - 1000.0
        lat, lon = TH.to_latlon(ox, oy)
        brg = (math.degrees(math.atan2(tx - ox, ty - oy)) - math.degrees(TH.north_angle(lat, lon))) % 360
        late.append(ObserverReport(sensor=f"OBS-{n}", time=at(s), arrival=at(125), lat=lat, lon=lon, alt_m=1.5,
                                   bearing_deg=brg, sigma_bearing_deg=15.0, cls="drone"))
    tr.process(late, T0.timestamp() + 125.0)
    (after,) = tr.tracks()
    assert after.reports == before.reports + len(late)
    assert after.pos_sigma_m < 1.2 * before.pos_sigma_m




def test_a_track_starts_coasting_from_where_it_was_last_seen():
    # A drone's track that falls silent is shown from its last report, not moved on by
    # a prediction half a minute old: a consumer extrapolates it, and a dog-leg or a
    # shoot-down in the silence makes a long prediction a false position.
    tr = _radar_track(60)
    (last,) = tr.tracks()
    coasting = [e.state for e in tr.process([], T0.timestamp() + 120.0) if e.kind == "coasting"]
    assert len(coasting) == 1
    assert coasting[0].t == last.t == pytest.approx(T0.timestamp() + 58.0)
    assert coasting[0].x == last.x


def test_a_backlog_of_late_reports_starts_tracks_only_from_reports_that_could_have_met_live():
    # Two nodes 1 km apart hear something 10 min apart; the reports arrive together (a
    # gateway's backlog). Live, the first one's tentative track would have timed out
    # (90 s) long before the second came, so they start two tracks, not one. Two nodes
    # heard 20 s apart still start one track together.
    x, y = radar_xy()
    backlog = [acoustic(x, y, 0.0, "AC-1"), acoustic(x + 1000.0, y, 600.0, "AC-2")]
    events = Tracker(TH).process(backlog, at(700.0).timestamp())
    assert len([e for e in events if e.kind == "new"]) == 2
    pair = [acoustic(x, y, 0.0, "AC-1"), acoustic(x + 1000.0, y, 20.0, "AC-2")]
    events = Tracker(TH).process(pair, at(30.0).timestamp())
    assert len([e for e in events if e.kind == "new"]) == 1


def test_a_backlog_posted_after_an_outage_still_builds_and_confirms_its_track():
    # A gateway held a drone's reports through a 10-minute outage and posts them in three
    # requests; the service stamps each on arrival. Already older than a tentative track's
    # timeout when they come, they must still build the track, not die at each step.
    x0, y0 = radar_xy()
    reps = []
    for s in range(0, 300, 5):
        node = round((x0 + 45.0 * s) / 3000.0)  # a node every 3 km along the path
        reps.append(acoustic(node * 3000.0, y0 + 500.0, s, f"AC-{node}"))
    tr, events = Tracker(TH), []
    for n, part in enumerate((reps[:20], reps[20:40], reps[40:])):
        arrival = 900.0 + 5.0 * n
        part = [msgspec.structs.replace(r, arrival=at(arrival)) for r in part]
        events += tr.process(part, T0.timestamp() + arrival)
    assert [e.kind for e in events].count("confirmed") == 1
    (track,) = [t for t in tr.tracks() if t.status != "tentative"]
    assert track.status == "coasting" and track.t == pytest.approx(T0.timestamp() + 295.0, abs=5.0)


def test_a_coasting_track_shows_where_a_backlog_of_newer_reports_puts_it():
    tr = _radar_track(60)
    (last,) = tr.tracks()
    tr.process([], T0.timestamp() + 120.0)  # silent: coasting from its last report
    x0, y0 = radar_xy()
    # Plots of 60-88 s, held by a gateway and posted at 300 s: minutes old, a backlog.
    backlog = [msgspec.structs.replace(radar_plot(x0 + 8000 + 45.0 * s, y0 + 5000, 500.0, s), arrival=at(300))
               for s in range(60, 90, 2)]
    updated = [e.state for e in tr.process(backlog, T0.timestamp() + 300.0) if e.kind == "updated"]
    assert len(updated) == 1 and updated[0].status == "coasting"
    assert updated[0].t == pytest.approx(T0.timestamp() + 88.0) and updated[0].x[0] > last.x[0] + 1000.0


def test_the_initiation_screen_never_pairs_reports_further_apart_than_a_tentative_track_lives():
    # 2,000 acoustic reports over an hour in one batch, many within reach of each other:
    # every candidate pair is at most the acoustic tentative time-out apart, so
    # the screen's work grows with the backlog's length times that band, not its square.
    rng = np.random.default_rng(3)
    x, y = radar_xy()
    n = 2000
    s = np.sort(rng.uniform(0.0, 3600.0, n))
    reps = [acoustic(x + float(dx), y + float(dy), float(t), f"AC-{i}")
            for i, (t, dx, dy) in enumerate(zip(s, rng.uniform(-5e3, 5e3, n), rng.uniform(-5e3, 5e3, n),
                                                strict=True))]
    tr = Tracker(TH)
    m = tr.converter.convert(reps, 0)
    pairs = tr._initiation_pairs(m, np.arange(n))
    spans = [m.t[b] - m.t[a] for b, cands in enumerate(pairs) for a in cands]
    assert spans and max(spans) <= tr.cfg.tentative_timeout_s["acoustic"] and min(spans) >= 0.0
    assert sum(len(c) for c in pairs) < n * n / 20


# --- an acoustic node's pass (decision 0019) -----------------------------------------

def test_a_pass_puts_its_first_report_behind_the_node_and_is_vaguer_across_the_path():
    from airshield.tracking.measurement import (
        PASS_FIRST_MEAN_M,
        PASS_FIRST_SIGMA_M,
        PASS_OFFSET_RMS_M,
        pass_increment,
        pass_measurement,
    )

    along, ga, gc = pass_increment([0.0, 0.0, 0.0, 0.0, 0.0], 0.0, 1.0)
    # A drone flying east: its first look is heard before it reaches the node.
    z, R = pass_measurement(np.array([[0.0, 0.0]]), np.array([[50.0, 0.0]]), np.array([along]),
                            np.array([[ga, gc]]))
    assert z[0, 0] == pytest.approx(PASS_FIRST_MEAN_M[0]) and z[0, 1] == pytest.approx(0.0)
    assert math.sqrt(R[0, 0, 0]) == pytest.approx(PASS_FIRST_SIGMA_M[0])
    assert math.sqrt(R[0, 1, 1]) == pytest.approx(PASS_OFFSET_RMS_M[0])
    assert PASS_OFFSET_RMS_M[0] > PASS_FIRST_SIGMA_M[0]


def test_the_longer_a_node_hears_a_pass_the_closer_the_path_went_by():
    from airshield.tracking.measurement import PASS_CHORD_M, pass_information

    info = pass_information(PASS_CHORD_M, np.ones(PASS_CHORD_M.size))
    assert np.all(np.diff(info[:, 1]) > 0)  # across the path: more certain with every chord length
    assert np.all(np.diff(info[:, 0]) > 0)


def test_a_pass_adds_up_to_its_tables_sigma_however_many_looks_it_took():
    from airshield.tracking.measurement import pass_increment, pass_information

    for looks, step_m in ((2, 250.0), (7, 250.0), (19, 250.0), (12, 400.0)):
        book = [0.0, 0.0, 0.0, 0.0]
        info = np.zeros(2)
        for n in range(looks):
            _, ga, gc = pass_increment(book, step_m * n, 1.0)
            info += [ga, gc]
        np.testing.assert_allclose(info, pass_information(np.array([step_m * (looks - 1)]), np.ones(1))[0],
                                   rtol=2e-3)


def _straight_past_nodes(seed: int, minutes: int = 40, speed: float = 50.0):
    """Acoustic reports of a drone flying east past nodes at one per 43 km^2 (domain.md)."""
    rng = np.random.default_rng(seed)
    x0, y0 = radar_xy()
    length = speed * minutes * 60.0
    n = int(length * 10_000.0 / 43e6)  # a 10 km wide strip along the path
    nx, ny = x0 + rng.uniform(0.0, length, n), y0 + rng.uniform(-5000.0, 5000.0, n)
    reps = []
    for i, phase in enumerate(rng.uniform(0.0, 5.0, n)):
        for s in np.arange(phase, minutes * 60.0, 5.0):
            if math.hypot(x0 + speed * s - nx[i], ny[i] - y0) < 2000.0:
                reps.append(acoustic(nx[i], ny[i], float(s), f"AC-{i}"))
    return reps, lambda t: (x0 + speed * (t - T0.timestamp()), y0)


def test_a_drone_tracked_by_acoustic_nodes_alone_is_not_placed_ahead_of_itself():
    # Every report "at the node" puts each burst's first look ~1.4 km ahead of the
    # drone; placed on the pass's chord it is not (decision 0019).
    import dataclasses

    def along_errors(on: bool) -> list[float]:
        cfg = dataclasses.replace(Tracker(TH).cfg, acoustic_pass_geometry=on)
        out = []
        for seed in range(9):
            reps, truth = _straight_past_nodes(seed)
            for e in _run(Tracker(TH, cfg), reps, step=5.0):
                if e.state.status == "confirmed":
                    out.append(e.state.x[0] - truth(e.state.t)[0])
        return out

    at_node, on_chord = along_errors(False), along_errors(True)
    assert np.mean(at_node) > 300.0, np.mean(at_node)  # ahead (measured: +473 m over these nine flights)
    assert np.mean(on_chord) < 150.0, np.mean(on_chord)  # measured: -124 m
    assert np.sqrt(np.mean(np.square(on_chord))) < 0.9 * np.sqrt(np.mean(np.square(at_node)))  # measured: 0.76


def test_the_pass_table_is_what_the_simulators_detection_model_gives():
    # The tracker's PASS_* arrays are bench/derive_acoustic_pass.py's output; if the
    # detection model changes, this says the table must be derived again.
    import importlib.util
    from pathlib import Path

    from airshield.tracking import measurement as mm

    path = Path(__file__).resolve().parents[1] / "bench" / "derive_acoustic_pass.py"
    spec = importlib.util.spec_from_file_location("derive_acoustic_pass", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = np.array(mod.table(mod.simulate(40_000, 1)))
    np.testing.assert_array_equal(rows[:, 0], mm.PASS_CHORD_M)
    np.testing.assert_allclose(rows[:, 1], mm.PASS_FIRST_MEAN_M, atol=1.0)
    np.testing.assert_allclose(rows[:, 2], mm.PASS_FIRST_SIGMA_M, atol=1.0)
    np.testing.assert_allclose(rows[:, 3], mm.PASS_OFFSET_RMS_M, atol=1.0)


def test_a_late_report_from_before_a_pass_began_moves_the_passs_start_back():
    # Decision 0019: the chord is counted from the pass's first report, whichever
    # arrived first; an upload backlog may deliver the first look last.
    x0, y0 = radar_xy()
    tr = _radar_track(60)
    [k] = tr._live().tolist()
    node = (x0 + 8000 + 45.0 * 90, y0 + 5500)
    t0 = T0.timestamp()
    tr.process([acoustic(*node, s, "AC-P") for s in (75.0, 80.0)], t0 + 82.0)
    assert tr._meta[k].passes["AC-P"][0] == t0 + 75.0
    tr.process([acoustic(*node, 70.0, "AC-P")], t0 + 84.0)  # heard at 70 s, delivered last
    assert tr._meta[k].passes["AC-P"][:2] == [t0 + 70.0, t0 + 80.0]


def test_a_continued_track_keeps_the_passes_its_new_part_was_hearing():
    x0, y0 = radar_xy()
    tr = _radar_track(40)
    ko = tr._live().tolist()[0]
    tr2 = _radar_track(40)  # a second track to merge in: its pass is the newer one
    kn_meta = tr2._meta[tr2._live().tolist()[0]]
    kn_meta.passes["AC-Q"] = [100.0, 130.0, 2e-6, 1e-6]
    tr._meta[ko].passes["AC-Q"] = [10.0, 20.0, 3e-6, 1e-6]  # an old pass of the same node
    # graft the second track into the first tracker as track kn, then merge
    tr._grow()
    kn = int(np.flatnonzero(~tr._alive)[0])
    tr._meta[kn] = kn_meta
    tr._alive[kn] = True
    tr._merge(ko, kn)
    assert tr._meta[ko].passes["AC-Q"] == [100.0, 130.0, 2e-6, 1e-6]


def test_the_pass_tables_scalar_lookup_is_np_interp():
    from airshield.tracking import measurement as mm

    for c in (-5.0, 0.0, 1.0, 499.9, 500.0, 2345.6, 5000.0, 7000.0):
        assert mm._pass_row(c) == tuple(float(np.interp(c, mm.PASS_CHORD_M, col)) for col in (
            mm.PASS_FIRST_MEAN_M, mm.PASS_FIRST_SIGMA_M, mm.PASS_OFFSET_RMS_M))  # to the bit


def _cruise_track(seconds: int) -> tuple[Tracker, float, float]:
    """A tracker that followed a cruise missile (220 m/s east, 80 m up) on radar; its last position."""
    x0, y0 = radar_xy()
    tr = Tracker(TH)
    _run(tr, [radar_plot(x0 + 8000 + 220.0 * s, y0 + 5000, 80.0, s) for s in range(0, seconds, 2)])
    return tr, x0 + 8000 + 220.0 * (seconds - 2), y0 + 5000


def test_a_node_that_took_a_cruise_missile_for_a_shahed_still_joins_the_missiles_track():
    # A node hears a Kh-101 out to ~5 km whatever its classifier says (domain.md): a report
    # scored "drone" 4.5 km from the tracked missile is the missile's, not a new target.
    tr, x, y = _cruise_track(60)
    assert tr.tracks()[0].cls == "cruise"
    before = {s.id for s in tr.tracks()}
    report = acoustic(x + 220.0 * 2 - 4500.0, y + 500.0, 60.0, "AC-9", drone=0.8)
    events = tr.process([report], at(62.0).timestamp())
    assert {s.id for s in tr.tracks()} == before  # no new track
    assert [e.state.id for e in events if e.kind == "new"] == []
    assert tr.tracks()[0].reports == 31


def test_a_shahed_scored_report_on_a_loud_track_is_filtered_as_a_loud_one():
    # Not only gated: its update weighs it with the loud sigma, as the same report scored
    # "cruise" (pass geometry off, so the report's own covariance is what the filter uses).
    import dataclasses

    from airshield.tracking import TrackerConfig

    cfg = dataclasses.replace(TrackerConfig(), acoustic_pass_geometry=False)
    states = []
    for scores in ({"drone": 0.8, "unknown": 0.2}, {"cruise": 0.8, "unknown": 0.2}):
        tr = Tracker(TH, cfg)
        x0, y0 = radar_xy()
        _run(tr, [radar_plot(x0 + 8000 + 220.0 * s, y0 + 5000, 80.0, s) for s in range(0, 60, 2)])
        lat, lon = TH.to_latlon(x0 + 8000 + 220.0 * 60 - 3000.0, y0 + 5800.0)
        report = AcousticDetection(sensor="AC-9", time=at(60), arrival=at(62), lat=lat, lon=lon, alt_m=2.0,
                                   scores=scores)
        tr.process([report], at(62.0).timestamp())
        (st,) = tr.tracks()
        states.append((st.x[:2], st.pos_sigma_m))
    assert states[0][0] == pytest.approx(states[1][0], abs=1e-6)
    assert states[0][1] == pytest.approx(states[1][1], abs=1e-6)


def test_the_same_report_far_from_any_loud_track_starts_a_track_of_its_own():
    tr, x, y = _cruise_track(60)
    report = acoustic(x + 220.0 * 2 - 30_000.0, y + 500.0, 60.0, "AC-9", drone=0.8)
    events = tr.process([report], at(62.0).timestamp())
    assert [e.kind for e in events].count("new") == 1


def test_a_drone_scored_report_does_not_join_a_drones_track_from_5_km():
    # The loud gate is for loud tracks only: a Shahed 4.5 km from a node is not heard.
    x0, y0 = radar_xy()
    tr = Tracker(TH)
    _run(tr, [radar_plot(x0 + 8000 + 45.0 * s, y0 + 5000, 500.0, s) for s in range(0, 60, 2)])
    assert tr.tracks()[0].cls == "drone"
    x = x0 + 8000 + 45.0 * 60
    events = tr.process([acoustic(x - 4500.0, y0 + 5500.0, 60.0, "AC-9")], at(62.0).timestamp())
    assert [e.kind for e in events].count("new") == 1


def test_a_new_track_from_a_jet_sounding_report_may_fly_at_cruise_speed():
    # A node's "cruise" score says 140-220 m/s (domain.md); a Shahed's 50 m/s prior held
    # such tracks' speed down and left them kilometres behind their missile.
    x0, y0 = radar_xy()
    loud = AcousticDetection(sensor="AC-1", time=at(0), arrival=at(2), lat=TH.to_latlon(x0, y0)[0],
                             lon=TH.to_latlon(x0, y0)[1], alt_m=2.0, scores={"cruise": 0.7, "unknown": 0.3})
    quiet = acoustic(x0 + 20_000.0, y0, 0.0, "AC-2")
    tr = Tracker(TH)
    tr.process([loud, quiet], at(3).timestamp())
    sigma = {round(s.x[0] - x0): s.vel_sigma_mps for s in tr.tracks()}
    assert sigma[0] == pytest.approx(5.0 * sigma[20_000])  # 250 against 50 m/s


def test_a_jet_sounding_report_does_not_gather_shahed_reports_from_far_away():
    # The wide prior is for pairing two loud reports: with one, a backlog batch would put a
    # jet-scored report and Shahed-scored reports 30-47 km around it into one new track.
    x0, y0 = radar_xy()
    lat, lon = TH.to_latlon(x0, y0)
    reps = [AcousticDetection(sensor="AC-0", time=at(0), arrival=at(2), lat=lat, lon=lon, alt_m=2.0,
                              scores={"jet": 0.7, "unknown": 0.3})]
    for i in range(8):
        a = 2 * math.pi * i / 8
        r = 30_000.0 + 2_000.0 * i
        reps.append(acoustic(x0 + r * math.cos(a), y0 + r * math.sin(a), 60.0 + 2 * i, f"AC-{i + 1}"))
    tr = Tracker(TH)
    tr.process(reps, at(80).timestamp())  # one batch, as a gateway's backlog comes
    assert len(tr.tracks()) == 9


def test_a_track_of_loud_sounding_nodes_beside_a_cruise_missiles_track_is_its_duplicate_whatever_its_class():
    # Its "drone" class rests on a speed that reports at nodes km apart make slow: beside a
    # tracked cruise missile, nodes that heard something loud heard that missile (decision
    # 0023). Nodes that heard a Shahed keep their own track (a real drone near the missile),
    # and so does a track a radar located.
    import dataclasses

    from airshield.tracking import TrackerConfig

    loud, shahed = {"cruise": 0.6, "unknown": 0.4}, {"drone": 0.8, "unknown": 0.2}
    for flag, scores, absorbed in ((True, loud, True), (False, loud, False), (True, shahed, False)):
        tr = Tracker(TH, dataclasses.replace(TrackerConfig(), duplicate_any_class_near_loud=flag))
        x0, y0 = radar_xy()
        _run(tr, [radar_plot(x0 + 8000 + 220.0 * s, y0 + 5000, 80.0, s) for s in range(0, 60, 2)])
        (missile,) = tr._live()
        assert tr._meta[missile].cls == "cruise"
        far = [AcousticDetection(sensor=f"AC-{i}", time=at(58.0 + i), arrival=at(59.0 + i), lat=lat, lon=lon,
                                 alt_m=2.0, scores=scores)
               for i, (lat, lon) in enumerate(TH.to_latlon(x0 - 30_000.0 - 500.0 * i, y0) for i in range(2))]
        tr.process(far, at(61).timestamp())
        (k,) = [s for s in tr._live().tolist() if s != missile]
        # Put the nodes' track beside the missile (the gate's geometry is not what is tested):
        # every IMM mode and the combined mean move alike, the covariances stay.
        shift = tr._xc[missile, :2] - tr._xc[k, :2] + (800.0, 300.0)
        tr._x[k, :, :2] += shift
        tr._xc[k, :2] += shift
        tr._t[k] = tr._t[missile]
        assert (tr._duplicate_of(k, "drone") == missile) == absorbed, (flag, scores)
        tr._locating[k] = True
        tr._meta[k].locating = {"RAD-1"}
        assert tr._duplicate_of(k, "drone") is None  # a radar's track keeps its own class


def _sighting(ox: float, oy: float, tx: float, ty: float, s: float, sensor: str, late: float = 20.0):
    """A citizen at frame (ox, oy) pointing at a drone at (tx, ty) at time s, reported ``late`` s later."""
    lat, lon = TH.to_latlon(ox, oy)
    brg = math.degrees(math.atan2(tx - ox, ty - oy)) - math.degrees(TH.north_angle(lat, lon))
    return ObserverReport(sensor=sensor, time=at(s), arrival=at(s + late), lat=lat, lon=lon, alt_m=1.5,
                          bearing_deg=brg % 360, sigma_bearing_deg=15.0, cls="drone")


def test_a_high_drone_only_citizens_see_minutes_apart_is_confirmed_on_one_track():
    # A Shahed above 2 km: no acoustic node hears it, no radar sees it; a citizen every
    # ~7 km of its path (2.5 min at 45 m/s) sees it, each 1.5 km beside the path.
    x0, y0 = radar_xy()

    def drone(s):
        return x0 - 45.0 * s, y0

    reps = []
    for i, s in enumerate((0.0, 150.0, 300.0, 450.0)):
        tx, ty = drone(s)
        reps.append(_sighting(tx, ty - 1500.0, tx, ty, s, f"OBS-{i}"))
    tx, ty = drone(2.0)
    reps.append(_sighting(x0, y0 - 1500.0, tx, ty, 2.0, "OBS-0", late=18.0))  # her second report, same batch
    events = _run(Tracker(TH), reps)
    new = [e for e in events if e.kind == "new"]
    assert len(new) == 1  # the repeat joins her first report's track; the others join it
    (confirmed,) = [e for e in events if e.kind == "confirmed"]
    assert confirmed.state.id == new[0].state.id and confirmed.state.cls == "drone"
    # Two minutes' patience (the old timeout) let every sighting start a track of its own.
    from airshield.tracking.config import TrackerConfig

    impatient = TrackerConfig(tentative_timeout_s={**TrackerConfig().tentative_timeout_s, "observer": 120.0})
    assert not [e for e in _run(Tracker(TH, impatient), reps) if e.kind == "confirmed"]


@pytest.mark.parametrize("who", [("OBS-0", "OBS-0", "OBS-0"), ("OBS-0", "OBS-1", "OBS-1"), ("OBS-0", "OBS-1", "OBS-0")])
def test_a_citizens_repeated_reports_of_one_sighting_start_one_track(who):
    # Three reports within 3 s, in one batch: a citizen who reports her sighting again (the
    # simulator's duplicates_mean), whichever report of the batch came first.
    x0, y0 = radar_xy()
    reps = [_sighting(x0, y0 - 1500.0, x0, y0, 1.5 * i, s, late=20.0 - 1.5 * i) for i, s in enumerate(who)]
    events = _run(Tracker(TH), reps)
    assert len([e for e in events if e.kind == "new"]) == 1


def test_two_nodes_hearing_a_drone_leave_an_undecided_track_and_one_node_alone_none():
    # What the alert policy may hold a running alert on (PolicyConfig.heard_min_llr): a
    # tentative track two independent sensors reported, not yet decided against.
    x, y = 100_000.0, 50_000.0
    one = Tracker(TH)
    _run(one, [acoustic(x, y, 0, "AC-1"), acoustic(x, y, 5, "AC-1")])
    assert one.undecided(2, -9.2)[1].size == 0
    two = Tracker(TH)
    events = _run(two, [acoustic(x, y, 0, "AC-1"), acoustic(x + 2_000.0, y, 40, "AC-2")])
    xy, t = two.undecided(2, -9.2)
    assert t.size == 1 and not any(e.kind == "confirmed" for e in events)
    assert np.hypot(xy[0, 0] - x - 1_000.0, xy[0, 1] - y) < 3_000.0 and t[0] == pytest.approx(at(40).timestamp())
    assert two.undecided(2, 1e9)[1].size == 0  # a floor above its score: decided against


def test_the_covariance_update_stays_positive_semidefinite_when_a_precise_plot_meets_a_vague_prediction():
    # Joseph form (kernels._imm_step): on these predictions (position sigmas of ~10,000 km,
    # a plot known to 0.1-1 m) the textbook Pp - K S K^T gave eigenvalues down to -5.7.
    C = kernels.model_constants()
    rng = np.random.default_rng(1)
    scale = np.array([1e7, 1e7, 1e6, 1e4, 1e4, 1e3])[:, None]
    worst = 0.0
    for _ in range(300):
        A = rng.normal(size=(6, 6)) * scale
        P = np.repeat((A @ A.T)[None], 2, axis=0)
        x = np.zeros((2, 6))
        mu = np.array([0.5, 0.5])
        R = np.diag(rng.uniform(0.01, 1.0, 3))
        work = (np.empty((2, 6)), np.empty((2, 6, 6)), np.empty((2, 6)), np.empty((2, 6, 6)), np.empty((3, 3)),
                np.empty((3, 3)), np.empty((6, 3)), np.empty((6, 3)), np.empty((2, 2)), np.empty(2), np.empty(2))
        kernels._imm_step(C[8], C[10], x, P, mu, 0.0, np.array([1.0, 1.0]), np.zeros(3), R, *work)
        worst = min(worst, min(np.linalg.eigvalsh(P[m]).min() for m in range(2)))
    assert worst >= 0.0
