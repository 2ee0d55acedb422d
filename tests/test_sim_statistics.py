"""Simulated statistics match ../shared/docs/domain.md."""

from __future__ import annotations

import numpy as np
import pytest

from airshield.sim import parse_scenario, simulate
from airshield.sim.acoustic import detection_probability
from airshield.sim.radar import class_range, horizon_m
from airshield.sim.scenario import Acoustic

KMH = 3.6


def _horizontal_speeds(obj) -> np.ndarray:
    tr = obj.trajectory
    v = np.diff(tr.xyz[:, :2], axis=0) / np.diff(tr.t)[:, None]
    return np.hypot(v[:, 0], v[:, 1])


def test_drone_speeds_are_120_to_185_kmh(night40):
    drones = [o for o in night40.objects if o.model == "shahed"]
    assert len(drones) >= 20
    leg_speeds = np.concatenate([_horizontal_speeds(o) for o in drones]) * KMH
    assert leg_speeds.max() <= 185.0 + 1e-6
    assert leg_speeds.min() >= 120.0 * 0.95 - 1e-6  # a leg may be 5 % slower than the drawn cruise
    per_drone = np.array([np.median(_horizontal_speeds(o)) for o in drones]) * KMH
    assert 120.0 <= np.median(per_drone) <= 170.0


FLIGHT = """\
name = "kyiv-routes"
start = 2025-10-01T18:00:00Z
duration_h = 12
seed = 3
targets = ["Kyiv"]

[[waves]]
model = "shahed"
count = 60
launch_areas = ["primorsko-akhtarsk", "bryansk", "kursk", "hvardiiske"]
duration_min = 60
"""


def test_drone_flight_times_to_kyiv_are_hours():
    night = simulate(parse_scenario(FLIGHT))
    hours = np.array([(o.trajectory.end - o.trajectory.start) / 3600 for o in night.objects])
    # domain.md: 2.3-6.5 h from launch area to Kyiv (420-750 km, +30 % for dog-legs).
    assert np.percentile(hours, 10) >= 2.3
    assert np.percentile(hours, 90) <= 6.5
    assert hours.min() >= 2.0
    assert hours.max() <= 8.5  # slowest drone, longest detour, a 20 min loiter


def test_ballistic_missiles_fly_for_minutes_at_about_2_km_s(missiles):
    bal = [o for o in missiles.objects if o.cls == "ballistic"]
    assert bal
    for o in bal:
        tr = o.trajectory
        flight_s = tr.end - tr.start
        # domain.md: under 2 min Belgorod -> Kharkiv (73 km).
        assert 20.0 < flight_s < 120.0
        speeds = np.linalg.norm(np.diff(tr.xyz, axis=0), axis=1) / np.diff(tr.t)
        assert 1500.0 < np.median(speeds) < 2600.0


def test_cruise_missiles_fly_subsonic_and_low(missiles):
    cr = [o for o in missiles.objects if o.cls == "cruise"]
    assert cr
    v = np.concatenate([_horizontal_speeds(o) for o in cr]) * KMH
    assert 650 <= np.median(v) <= 820
    alts = np.concatenate([o.trajectory.xyz[1:-1, 2] for o in cr])
    assert alts.max() <= 150.0


def test_acoustic_detection_probability_follows_the_published_curve():
    cfg = Acoustic()
    pd = detection_probability(cfg, np.array([1000.0, 2000.0, 3500.0]), np.zeros(3), np.zeros(3, bool),
                               np.zeros(3, bool))
    # domain.md: 0.9 at <= 1 km, 0.5 at 2 km, ~0 beyond 3.5 km (Shahed, rural, night).
    assert pd[0] == pytest.approx(0.9, abs=0.02)
    assert pd[1] == pytest.approx(0.5, abs=0.03)
    assert pd[2] < 0.02
    city = detection_probability(cfg, np.array([1000.0]), np.zeros(1), np.zeros(1, bool), np.ones(1, bool))
    assert city[0] == pytest.approx(0.5, abs=0.03)  # ranges halved in cities
    loud = detection_probability(cfg, np.array([3500.0]), np.zeros(1), np.ones(1, bool), np.zeros(1, bool))
    assert loud[0] > 0.4  # jets and cruise missiles heard out to 3-5 km
    high = detection_probability(cfg, np.array([2000.0, 2000.0]), np.array([1750.0, 2100.0]),
                                 np.zeros(2, bool), np.zeros(2, bool))
    assert high[0] < pd[1] and high[1] == 0.0  # blind above ~1.5-2 km


def _acoustic(night):
    return next(e for e in night.emitted if e.kind == "acoustic")


def test_acoustic_reports_come_from_the_slant_ranges_the_curve_allows(night40):
    e = _acoustic(night40)
    nodes = {s["id"]: i for i, s in enumerate(x for x in night40.sensors if x["kind"] == "acoustic")}
    xy = np.array([night40.theatre.to_xy(s["lat"], s["lon"]) for s in night40.sensors
                   if s["kind"] == "acoustic"])
    urban = np.array([s["urban"] for s in night40.sensors if s["kind"] == "acoustic"])
    m = e.truth >= 0
    slant, is_urban, alt = [], [], []
    for o in np.unique(e.truth[m]):
        sel = m & (e.truth == o)
        p = night40.objects[int(o)].trajectory.position(e.time[sel])
        node_idx = np.array([nodes[e.sensor_ids[s]] for s in e.sensor[sel]])
        slant.append(np.hypot(np.hypot(*(p[:, :2] - xy[node_idx]).T), p[:, 2]))
        is_urban.append(urban[node_idx])
        alt.append(p[:, 2])
    slant, is_urban, alt = map(np.concatenate, (slant, is_urban, alt))
    assert slant.size > 1000
    rural = slant[~is_urban]
    assert np.percentile(rural, 50) < 2000.0
    # Per look Pd is ~0 beyond 3.5 km, but there are many more nodes far away than near.
    assert np.percentile(rural, 95) < 3500.0
    assert rural.max() <= 3500.0
    assert alt.max() < 2000.0  # blind above 2 km


def test_acoustic_false_alarms_per_node_hour_are_as_configured(night40):
    e = _acoustic(night40)
    n_nodes = sum(1 for s in night40.sensors if s["kind"] == "acoustic")
    hours = (night40.t_end - night40.t_start) / 3600
    false_reports = int((e.truth < 0).sum())
    # Each false alarm is a burst of 1 + Poisson(1) reports (mean 2).
    rate = false_reports / 2.0 / n_nodes / hours
    assert rate == pytest.approx(night40.scenario.sensors.acoustic.false_alarms_per_node_hour, rel=0.05)
    assert 0.05 <= rate <= 0.5  # domain.md


def test_acoustic_latency_is_1_to_5_s(night40):
    e = _acoustic(night40)
    lat = e.arrival - e.time
    assert lat.min() >= 1.0 - 1e-3 and lat.max() <= 5.0 + 1e-3


def test_reports_arrive_late_and_out_of_measurement_order(night40):
    src, row = night40.merged_order()
    arrival = np.array([night40.emitted[s].arrival[r] for s, r in zip(src[:20000], row[:20000], strict=True)])
    time = np.array([night40.emitted[s].time[r] for s, r in zip(src[:20000], row[:20000], strict=True)])
    assert np.all(np.diff(arrival) >= 0)
    assert np.all(arrival >= time)
    assert np.mean(np.diff(time) < 0) > 0.05  # many reports overtake older ones


def test_observers_bearing_error_and_misclassification_match_domain(night40):
    e = next(x for x in night40.emitted if x.kind == "observer")
    reps = e.build(np.flatnonzero(e.truth >= 0))
    truth = e.truth[e.truth >= 0]
    assert len(reps) > 100
    err, wrong = [], []
    for r, o in zip(reps, truth, strict=True):
        obj = night40.objects[int(o)]
        ox, oy = night40.theatre.to_xy(r.lat, r.lon)
        p = obj.trajectory.position(np.array([r.time.timestamp()]))[0]
        true_brg = np.degrees(np.arctan2(p[0] - ox, p[1] - oy) - night40.theatre.north_angle(r.lat, r.lon))
        err.append((r.bearing_deg - true_brg + 180) % 360 - 180)
        wrong.append(r.cls != obj.cls)
        assert 10.0 <= (r.arrival - r.time).total_seconds() <= 60.0
    assert np.std(err) == pytest.approx(15.0, rel=0.25)  # sigma ~15 deg
    assert 0.15 <= np.mean(wrong) <= 0.35  # 20-30 % misclassified


def test_radar_sees_only_within_horizon_and_class_range(night40):
    e = next(x for x in night40.emitted if x.kind == "radar")
    cfg = night40.scenario.sensors.radar
    sites = {s.id: s for s in cfg.sites}
    m = np.flatnonzero(e.truth >= 0)
    assert m.size > 100
    for i in m[:: max(1, m.size // 2000)]:
        o = night40.objects[int(e.truth[i])]
        site = sites[e.sensor_ids[e.sensor[i]]]
        sx, sy = night40.theatre.to_xy(site.lat, site.lon)
        p = o.trajectory.position(np.array([e.time[i]]))[0]
        ground = np.hypot(p[0] - sx, p[1] - sy)
        assert ground <= horizon_m(site.height_m, p[2]) + 1.0
        assert ground <= 1.6 * class_range(cfg, o.cls)


def test_civil_aircraft_broadcast_adsb_close_to_their_true_position(night40):
    e = next(x for x in night40.emitted if x.kind == "adsb")
    assert len(e) > 1000
    idx = np.arange(0, len(e), 97)
    for r, o in zip(e.build(idx), e.truth[idx], strict=True):
        obj = night40.objects[int(o)]
        assert obj.civil and obj.icao == r.icao
        x, y = night40.theatre.to_xy(r.lat, r.lon)
        p = obj.trajectory.position(np.array([r.time.timestamp()]))[0]
        assert np.hypot(x - p[0], y - p[1]) < 200.0
        assert r.alt_m > 8000.0


def test_night_40_has_about_40_drones_towards_5_to_8_cities(night40):
    threats = [o for o in night40.objects if not o.civil]
    assert 35 <= len(threats) <= 45
    assert 5 <= len({o.target for o in threats}) <= 8
    assert len({o.launch_area for o in threats}) >= 3


def test_no_report_is_measured_after_the_scenario_ends(night40):
    for e in night40.emitted:
        assert e.time.size == 0 or e.time.max() <= night40.t_end + 1e-3, e.kind
    assert all(o.trajectory.end <= night40.t_end for o in night40.objects)


def test_a_loitering_drone_never_turns_back_on_itself():
    from airshield.sim.routes import insert_loiter

    for seed in range(8):
        poly = insert_loiter(np.random.default_rng(seed), np.array([[0.0, 0.0], [100_000.0, 0.0]]), 45.0)
        d = np.diff(poly, axis=0)
        d /= np.linalg.norm(d, axis=1)[:, None]
        # Consecutive legs turn by at most a chord's angle (a 16-point circle: 22.5 deg), never 180.
        cos_turn = np.sum(d[1:] * d[:-1], axis=1)
        assert cos_turn.min() > np.cos(np.radians(30.0)), seed
