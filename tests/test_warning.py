"""Prediction: cones that grow with time, arrival times and their bounds, the region raster."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from airshield.geo import Theatre, load_regions
from airshield.tracking import TrackEvent
from airshield.warning import RegionField, ThreatPicture, WarningConfig
from airshield.warning.config import PREDICTED
from airshield.warning.kernels import region_impacts
from airshield.warning.prediction import G, fall_accel, impacts, predict

KM = 1000.0
CFG = WarningConfig()


def _one(cls="drone", x=(0.0, 0.0, 500.0), v=(45.0, 0.0, 0.0), sp=300.0, sv=2.0, t0=0.0):
    return predict(CFG, np.array([t0]), np.array([x]), np.array([v]), np.array([sp]), np.array([sv]),
                   np.array([PREDICTED.index(cls)]))


def test_the_cone_grows_with_time_and_never_beyond_what_the_class_can_reach():
    p = _one()
    assert np.all(np.diff(p.r) >= 0)
    dt = p.t - p.t[0]
    vmax = CFG.models["drone"].max_speed_mps
    assert np.all(p.r <= p.r[0] + vmax * dt + 1e-6)
    assert p.t[-1] == pytest.approx(CFG.models["drone"].horizon_s)


def test_class_horizons_and_a_ballistic_missile_predicted_to_impact():
    assert _one("cruise").t[-1] == pytest.approx(1800.0)
    # 30 km up, falling at 1 km/s: impact in about 28 s, not the class's 10 min.
    b = _one("ballistic", x=(0.0, 0.0, 30_000.0), v=(1500.0, 0.0, -1000.0))
    assert 20.0 <= b.t[-1] <= 35.0


def test_a_ballistic_missile_comes_down_as_its_arc_says_but_never_slower_than_free_fall():
    cfg = CFG
    x = np.array([[0.0, 0.0, 30_000.0]])
    v = np.array([[2000.0, 0.0, 1000.0]])  # still climbing

    def impact_s(az, sigma):
        fall = fall_accel(cfg, np.array([az]), np.array([sigma]))
        return predict(cfg, np.zeros(1), x, v, np.array([500.0]), np.array([20.0]),
                       np.array([PREDICTED.index("ballistic")]), fall).t[-1]

    free = impact_s(math.nan, math.nan)  # the arc not yet known: free fall, the farthest reach
    assert free == pytest.approx((1000.0 + math.sqrt(1000.0**2 + 2 * G * 30_000.0)) / G, abs=5.0)
    steep = impact_s(-40.0, 2.0)  # a steep arc, well measured: down much sooner
    assert steep < 0.5 * free
    assert impact_s(-40.0, 30.0) == pytest.approx(free, abs=5.0)  # a vague fit changes nothing
    assert impact_s(+5.0, 1.0) == pytest.approx(free, abs=5.0)  # nor one that "falls" slower than g


def test_a_track_slower_than_its_class_cruises_may_arrive_as_soon_as_a_cruising_one():
    # An acoustic track's speed from nodes heard minutes apart is often a third of the
    # drone's: its earliest arrival is a drone's at cruise speed, not its own estimate's.
    ahead = RegionField({"E": box(60 * KM, -50 * KM, 160 * KM, 50 * KM)})

    def earliest(v, cfg=CFG):
        p = predict(cfg, np.zeros(1), np.array([[0.0, 0.0, 500.0]]), np.array([[v, 0.0, 0.0]]),
                    np.array([300.0]), np.array([2.0]), np.array([PREDICTED.index("drone")]))
        pi, ri, d = ahead.near(p.x, p.y)
        return impacts(p, pi, ri, d, cfg.cone_k).t_lo[0]

    assert earliest(15.0) <= 60 * KM / 40.0  # as soon as a drone flying 40 m/s (144 km/h)
    off = WarningConfig(models=CFG.models | {"drone": dataclasses.replace(CFG.models["drone"], min_cruise_mps=0.0)})
    assert earliest(15.0, off) > 1.5 * earliest(15.0)
    assert earliest(45.0) == pytest.approx(earliest(45.0, off))  # a cruising track is as before


def test_a_speed_the_class_cannot_fly_is_not_extrapolated():
    wild = _one(v=(400.0, 0.0, 0.0))  # a "drone" at 1,440 km/h: a mixed-up track
    assert np.allclose(wild.x, 0.0)  # predicted where it is ...
    assert wild.r[10] > _one().r[10]  # ... with a cone that grows in every direction (10 min ahead)


def test_arrival_bounds_bracket_the_nominal_arrival():
    f = RegionField({"E": box(50 * KM, -50 * KM, 150 * KM, 50 * KM)})
    p = _one()
    pi, ri, d = f.near(p.x, p.y)
    imp = impacts(p, pi, ri, d, CFG.cone_k)
    nominal = 50 * KM / 45.0
    assert imp.t_in[0] == pytest.approx(nominal, abs=30.0)  # the raster is good to ~1 km
    assert imp.t_lo[0] < imp.t_in[0] < imp.t_hi[0]
    assert imp.t_last[0] >= 150 * KM / 45.0 - 60.0


def test_a_site_smaller_than_a_raster_cell_still_has_its_cell():
    # A 300 m circle between cell centres would otherwise lie "1,000 km away" for ever.
    site = shapely.Point(10_400.0, 20_400.0).buffer(300.0)
    f = RegionField({"S": site}, res_m=1000.0)
    assert f.distance("S", np.array([10_400.0]), np.array([20_400.0]))[0] < 500.0  # good to half a cell
    assert f.distance("S", np.array([15_400.0]), np.array([20_400.0]))[0] == pytest.approx(4_500.0, abs=1_000.0)


def test_compiled_impacts_match_the_numpy_reference():
    rs = load_regions()
    field = RegionField({r: rs.geometry_xy(r) for r in rs.ids})
    rng = np.random.default_rng(3)
    n = 60
    x = np.column_stack([rng.uniform(-600 * KM, 600 * KM, n), rng.uniform(-400 * KM, 400 * KM, n),
                         rng.uniform(0, 3000, n)])
    v = np.column_stack([rng.normal(0, 60, n), rng.normal(0, 60, n), np.zeros(n)])
    p = predict(CFG, rng.uniform(0, 100, n), x, v, rng.uniform(100, 2000, n), rng.uniform(1, 20, n),
                rng.integers(0, 3, n))
    pi, ri, d = field.near(p.x, p.y)
    ref = impacts(p, pi, ri, d, CFG.cone_k, r_cap=field.margin)
    got = region_impacts(p.track, p.step, p.t, p.x, p.y, p.r, p.sigma_along, p.speed, n, field.margin,
                         CFG.cone_k, *field.rasters())
    assert len(ref) > 50
    for a, b in zip((ref.track, ref.target, ref.t_lo, ref.t_last, ref.t_in, ref.t_hi), got, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6, equal_nan=True)


def test_region_raster_distances_agree_with_exact_polygon_distances():
    rs = load_regions()
    field = RegionField({r: rs.geometry_xy(r) for r in rs.ids})
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-700 * KM, 700 * KM, 3000), rng.uniform(-450 * KM, 450 * KM, 3000)
    pi, ri, d = field.near(x, y)
    exact = []
    for p, r in zip(pi[:2000].tolist(), ri[:2000].tolist(), strict=True):
        g = rs.geometry_xy(field.ids[r])
        pt = shapely.points(x[p], y[p])
        exact.append(-g.boundary.distance(pt) if g.contains(pt) else g.distance(pt))
    err = np.abs(d[:2000] - np.array(exact))
    assert np.percentile(err, 99) < 1200.0  # 1 km cells
    assert np.mean(np.sign(d[:2000]) != np.sign(exact)) < 0.01


def test_the_cone_holds_where_simulated_drones_really_go(night40):
    """Calibration on the simulator's routes (dog-legs, loiters), with a perfect state at t0:
    5 and 10 min ahead the true position is inside the cone at least 95 % of the time, at
    15 min (the drones' lead time) at least 90 %."""
    ok = {300: [], 600: [], 900: []}
    for obj in night40.objects:
        if obj.civil or obj.cls != "drone":
            continue
        traj = obj.trajectory
        ts = np.arange(traj.t[0] + 60.0, traj.t[-1] - 900.0, 120.0)
        for t0 in ts:
            p0 = traj.position(np.array([t0]))
            v = traj.velocity(np.array([t0]))[0]
            paths = predict(CFG, np.array([t0]), p0[:1], v[None, :], np.array([50.0]), np.array([1.0]),
                            np.array([0]))
            for dt in ok:
                k = int(round(dt / CFG.models["drone"].step_s))
                truth = traj.position(np.array([t0 + dt]))[0]
                ok[dt].append(np.hypot(truth[0] - paths.x[k], truth[1] - paths.y[k]) <= paths.r[k])
    for dt, hits in ok.items():
        assert len(hits) > 500
        assert np.mean(hits) >= (0.95 if dt < 900 else 0.90), (dt, np.mean(hits))


def test_a_deleted_track_stays_as_a_lost_threat_until_its_cone_is_too_wide():
    # ... and then only holds running alerts until lost_keep_s (WarningConfig.lost_wide_holds).
    field = RegionField({"A": box(0, 0, 100 * KM, 100 * KM)})
    pic = ThreatPicture(Theatre.ukraine(), field, None, CFG)
    from test_alerting_policy import T0, state

    pic.update([TrackEvent("confirmed", state("T1", 0, 10 * KM, 50 * KM))], T0)
    assert "T1" in pic
    pic.update([TrackEvent("deleted", state("T1", 900, 10 * KM, 50 * KM))], T0 + 900)
    f = pic.forecast("T1")
    assert f.lost and f.deleted
    wide = f.path_t[np.argmax(f.path_r > CFG.lost_max_radius_m)]
    assert f.expires <= wide
    pic.update([], f.expires + 1.0)
    tab = pic.table()
    assert "T1" in pic and np.all(tab.expires < f.expires + 1.0) and np.all(tab.hold >= f.expires + 1.0)
    pic.update([], T0 + 900 + CFG.lost_keep_s + 1.0)
    assert "T1" not in pic


def test_without_wide_holds_a_lost_threat_leaves_once_its_cone_is_too_wide():
    from dataclasses import replace

    from test_alerting_policy import T0, state

    cfg = replace(CFG, lost_wide_holds=False)
    pic = ThreatPicture(Theatre.ukraine(), RegionField({"A": box(0, 0, 100 * KM, 100 * KM)}), None, cfg)
    pic.update([TrackEvent("confirmed", state("T1", 0, 10 * KM, 50 * KM))], T0)
    pic.update([TrackEvent("deleted", state("T1", 900, 10 * KM, 50 * KM))], T0 + 900)
    pic.update([], pic.forecast("T1").expires + 1.0)
    assert "T1" not in pic


def test_cooperative_aircraft_and_tentative_tracks_are_never_predicted():
    field = RegionField({"A": box(0, 0, 100 * KM, 100 * KM)})
    pic = ThreatPicture(Theatre.ukraine(), field, None, CFG)
    from dataclasses import replace

    from test_alerting_policy import T0, state

    airliner = replace(state("A1", 0, 0, 0, 220.0, cls="aircraft", threat=False), icao="4B1805")
    tentative = state("T2", 0, 0, 0, status="tentative")
    pic.update([TrackEvent("confirmed", airliner), TrackEvent("new", tentative)], T0)
    assert len(pic) == 0


def test_a_drone_lost_in_its_terminal_dive_is_let_go_soon_after_it_would_have_hit_the_ground():
    from test_alerting_policy import T0, state

    field = RegionField({"A": box(0, 0, 100 * KM, 100 * KM)})
    pic = ThreatPicture(Theatre.ukraine(), field, None, CFG)
    diving = state("T1", 0, 50 * KM, 50 * KM, 40.0, z=600.0, vz=-20.0)
    level = state("T2", 0, 50 * KM, 60 * KM, 40.0, z=600.0, vz=0.0)
    pic.update([TrackEvent("confirmed", diving), TrackEvent("confirmed", level)], T0)
    pic.update([TrackEvent("coasting", diving), TrackEvent("coasting", level)], T0 + 30)
    # 600 m at 20 m/s: on the ground after 30 s; let go a minute later.
    pic.update([], T0 + 30 + 60 + 5)
    assert "T1" not in pic and "T2" in pic


def test_a_drone_lost_over_a_big_city_starts_nothing_sooner_but_still_holds_for_its_hour():
    # It has most likely reached its target; but drones circle a city before they dive
    # (WarningConfig.target_end_holds), so it holds running alerts as long as any lost drone.
    from dataclasses import replace

    from test_alerting_policy import T0, state


    th, field, city, pic = _picture_with_city(50 * KM, 50 * KM, 500_000)
    over = state("T1", 0, 52 * KM, 50 * KM, 40.0)
    away = state("T2", 0, 20 * KM, 80 * KM, 40.0)
    pic.update([TrackEvent("confirmed", over), TrackEvent("confirmed", away)], T0)
    pic.update([TrackEvent("coasting", over), TrackEvent("coasting", away)], T0 + 30)
    pic.update([], T0 + CFG.target_end_s + 5)
    assert "T1" in pic and "T2" in pic
    assert pic.forecast("T1").expires <= T0 + CFG.target_end_s < pic.forecast("T2").expires
    tab = pic.table()
    t1 = np.array([pic.track_id(int(r)) == "T1" for r in tab.row])
    assert t1.any() and np.all(tab.hold[t1] == T0 + CFG.lost_keep_s)
    pic.update([], T0 + CFG.lost_keep_s + 5)
    assert "T1" not in pic

    let_go = ThreatPicture(th, field, [city], replace(CFG, target_end_holds=False))
    let_go.update([TrackEvent("confirmed", over), TrackEvent("confirmed", away)], T0)
    let_go.update([TrackEvent("coasting", over), TrackEvent("coasting", away)], T0 + 30)
    let_go.update([], T0 + CFG.target_end_s + 5)
    assert "T1" not in let_go and "T2" in let_go


def test_a_lost_threat_deleted_later_keeps_holding_until_its_hour_is_up():
    # coasting, then deleted: the second loss must not cut the hold to the cone's width.
    from test_alerting_policy import T0, state

    pic = ThreatPicture(Theatre.ukraine(), RegionField({"A": box(0, 0, 100 * KM, 100 * KM)}), None, CFG)
    st = state("T1", 0, 10 * KM, 50 * KM)
    pic.update([TrackEvent("confirmed", st)], T0)
    pic.update([TrackEvent("coasting", st)], T0 + 30)
    expires = pic.forecast("T1").expires
    pic.update([TrackEvent("deleted", st)], T0 + 240)
    pic.update([], expires + 60.0)
    tab = pic.table()
    assert "T1" in pic and np.all(tab.hold == T0 + CFG.lost_keep_s)


def test_a_track_confirmed_and_lost_in_one_step_is_a_lost_threat_not_forgotten():
    # An observer's report that arrives a minute late confirms a track whose last report
    # is already older than its coasting time: "confirmed" and "coasting" come in one
    # step. The threat must stay in the picture (lost), holding the region it is in.
    from dataclasses import replace

    from test_alerting_policy import T0, state

    pic = ThreatPicture(Theatre.ukraine(), RegionField({"A": box(0, 0, 100 * KM, 100 * KM)}), None, CFG)
    st = state("T1", 0, 50 * KM, 50 * KM)
    pic.update([TrackEvent("confirmed", st), TrackEvent("coasting", replace(st, status="coasting"))], T0 + 45)
    assert "T1" in pic
    f = pic.forecast("T1")
    assert f.lost and not f.deleted and f.expires > T0 + 45
    tab = pic.table()
    assert len(tab) and np.all(tab.t_in <= T0 + 45) and np.all(tab.hold > T0 + 45)


def test_a_lost_threat_taken_up_and_lost_again_in_one_step_is_forecast_from_its_new_state():
    # A coasting track that late reports take up again (continuation) and that coasts
    # again in the same step: its forecast starts from where it was seen last, not from
    # where it was lost before.
    from dataclasses import replace

    from test_alerting_policy import T0, state

    pic = ThreatPicture(Theatre.ukraine(), RegionField({"A": box(0, 0, 100 * KM, 100 * KM)}), None, CFG)
    old = state("T1", 0, 10 * KM, 50 * KM)
    pic.update([TrackEvent("confirmed", old)], T0)
    pic.update([TrackEvent("coasting", replace(old, status="coasting"))], T0 + 30)
    new = state("T1", 1200, 70 * KM, 20 * KM)
    pic.update([TrackEvent("updated", new), TrackEvent("coasting", replace(new, status="coasting"))], T0 + 1245)
    f = pic.forecast("T1")
    assert f.lost and f.t0 == T0 + 1200
    assert math.hypot(f.x[0] - 70 * KM, f.x[1] - 20 * KM) < 1.0


def test_citizen_sightings_are_gathered_by_the_regions_near_the_observer():
    # An observer's report of anything but a civil aircraft, at the observer's position:
    # the region it is in and every region within the radius, with the latest time.
    from datetime import UTC, datetime

    from airshield.model import ObserverReport
    from airshield.warning.sightings import sightings

    th = Theatre.ukraine()
    field = RegionField({"A": box(0, 0, 100 * KM, 100 * KM), "B": box(100 * KM, 0, 200 * KM, 100 * KM)})

    def sighting(x: float, y: float, s: float, cls: str = "drone") -> ObserverReport:
        lat, lon = th.to_latlon(x, y)
        t = datetime.fromtimestamp(1_760_000_000 + s, UTC)
        return ObserverReport(sensor="OBS-1", time=t, arrival=t, lat=float(lat), lon=float(lon), alt_m=1.5,
                              bearing_deg=90.0, sigma_bearing_deg=15.0, cls=cls)

    got = sightings([sighting(50 * KM, 50 * KM, 0), sighting(50 * KM, 50 * KM, 20),
                     sighting(99 * KM, 50 * KM, 10), sighting(150 * KM, 50 * KM, 30, "aircraft")], th, field, 3000.0)
    assert got == {"A": 1_760_000_020.0, "B": 1_760_000_010.0}
    assert sightings([sighting(150 * KM, 50 * KM, 30, "aircraft")], th, field, 3000.0) == {}


def test_a_lost_drone_another_drone_may_stand_for_still_holds_but_starts_nothing():
    # A live drone inside a lost one's cone may be that drone again, or its column neighbour.
    from test_alerting_policy import T0, state

    pic = ThreatPicture(Theatre.ukraine(), RegionField({"A": box(0, 0, 100 * KM, 100 * KM)}), None, CFG)
    lost = state("T1", 0, 10 * KM, 50 * KM)
    pic.update([TrackEvent("confirmed", lost)], T0)
    pic.update([TrackEvent("coasting", lost)], T0 + 30)
    pic.update([TrackEvent("confirmed", state("T2", 60, 10 * KM + 45 * 60, 50 * KM + 500))], T0 + 60)
    assert "T1" in pic
    tab = pic.table()
    mine = np.array([pic.track_id(k) == "T1" for k in tab.row])
    assert mine.any() and np.all(tab.expires[mine] < T0 + 60) and np.all(tab.hold[mine] > T0 + 60)


def test_a_point_gets_the_same_eta_as_a_city_there():
    # A port or a substation asks "when may a threat come within 5 km of here?": the
    # answer is the picture's own cone arithmetic, so a point at a city's centre with the
    # city's radius gets the city's earliest and nominal arrivals.
    from test_alerting_policy import T0, state

    from airshield.warning.point import point_eta

    _, field, _, pic = _picture_with_city(80 * KM, 50 * KM, 50_000)
    pic.update([TrackEvent("confirmed", state("T1", 0, 20 * KM, 50 * KM, 45.0))], T0)
    f = pic.forecast("T1")
    (_, lo, tin), = f.sites
    got = point_eta(pic.path_of("T1"), 80 * KM, 50 * KM, CFG.site_radius_m, CFG.cone_k, field.margin)
    assert got.t_lo == pytest.approx(lo) and got.t_in == pytest.approx(tin)
    nominal = T0 + (60 * KM - CFG.site_radius_m) / 45.0
    assert got.t_lo < got.t_in == pytest.approx(nominal, abs=30.0) and got.t_in < got.t_hi
    # a point behind the drone, or far to the side, is never reached
    assert point_eta(pic.path_of("T1"), 0.0, 50 * KM, 1 * KM, CFG.cone_k, field.margin) is None
    assert point_eta(pic.path_of("T1"), 80 * KM, 400 * KM, 1 * KM, CFG.cone_k, field.margin) is None
    # a wider radius is reached sooner
    wide = point_eta(pic.path_of("T1"), 80 * KM, 50 * KM, 20 * KM, CFG.cone_k, field.margin)
    assert wide.t_lo < got.t_lo and wide.t_in < got.t_in


def test_a_point_index_answers_as_each_threat_one_by_one():
    from airshield.warning.point import PointIndex, point_eta
    from airshield.warning.prediction import split_tracks

    rng = np.random.default_rng(5)
    n = 60
    x = np.column_stack([rng.uniform(-200 * KM, 200 * KM, n), rng.uniform(-200 * KM, 200 * KM, n), np.full(n, 500.0)])
    v = np.column_stack([rng.normal(0, 45, n), rng.normal(0, 45, n), np.zeros(n)])
    paths = split_tracks(predict(CFG, np.zeros(n), x, v, np.full(n, 500.0), np.full(n, 3.0),
                                 np.zeros(n, dtype=int)))
    assert len(paths) == n and all(q.track.max() == 0 and q.step[0] == 0 for q in paths)
    index = PointIndex(paths)
    for px, py in [(0.0, 0.0), (50 * KM, -30 * KM), (900 * KM, 0.0)]:
        want = [(i, e) for i, q in enumerate(paths)
                if (e := point_eta(q, px, py, 5 * KM, CFG.cone_k, 100 * KM)) is not None]
        assert index.etas(px, py, 5 * KM, CFG.cone_k, 100 * KM) == want
    assert any(index.etas(0.0, 0.0, 5 * KM, CFG.cone_k, 100 * KM))
    assert PointIndex([]).etas(0.0, 0.0, 5 * KM, CFG.cone_k) == []


def _picture_with_city(x: float, y: float, population: int, config: WarningConfig = CFG):
    """(theatre, field, city, picture): region A (100 km square) with one city at (x, y), m."""
    from airshield.geo import Site

    th = Theatre.ukraine()
    lat, lon = th.to_latlon(x, y)
    city = Site("geonames:1", "Bigtown", "Великоград", float(lat), float(lon), population)
    field = RegionField({"A": box(0, 0, 100 * KM, 100 * KM)})
    return th, field, city, ThreatPicture(th, field, [city], config)
