"""Track continuity: one id per drone across gaps in acoustic coverage, no hijacking by false alarms."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from airshield.geo import Theatre
from airshield.model import AcousticDetection
from airshield.tracking import Tracker, TrackerConfig

TH = Theatre.ukraine()
T0 = datetime(2025, 10, 1, 20, 0, tzinfo=UTC)
X0, Y0 = TH.to_xy(50.0, 33.0)
SPEED = 45.0  # m/s east: a Shahed's cruise (domain.md: 120-170 km/h)


def acoustic(x: float, y: float, s: float, sensor: str) -> AcousticDetection:
    lat, lon = TH.to_latlon(x, y)
    return AcousticDetection(sensor=sensor, time=T0 + timedelta(seconds=s), arrival=T0 + timedelta(seconds=s + 2),
                             lat=lat, lon=lon, alt_m=2.0, scores={"drone": 0.8, "unknown": 0.2})


def heard(s0: float, s1: float) -> list[AcousticDetection]:
    """A drone flying east heard every 5 s by the two nodes nearest to it (rows 1.4 km either side of its path)."""
    out = []
    for s in range(int(s0), int(s1), 5):
        px = X0 + SPEED * s
        col = round(px / 2500.0)
        for row, dy in (("N", 1400.0), ("S", -1400.0)):
            out.append(acoustic(col * 2500.0, Y0 + dy, s, f"AC-{row}{col}"))
    return out


def run(tracker: Tracker, reports, until: float) -> list:
    reports = sorted(reports, key=lambda r: (r.arrival, r.time))
    events, i, t = [], 0, T0.timestamp()
    while t < T0.timestamp() + until:
        t += 5.0
        batch = []
        while i < len(reports) and reports[i].arrival.timestamp() < t:
            batch.append(reports[i])
            i += 1
        events += tracker.process(batch, t)
    return events


def shown_ids(events) -> set[str]:
    return {e.state.id for e in events if e.state.status != "tentative"}


def test_track_reacquired_after_a_coverage_gap_keeps_its_id():
    # Heard for 4 min, then 3 min over a gap in coverage (8 km), then heard again.
    reports = heard(0, 240) + heard(420, 660)
    assert len(shown_ids(run(Tracker(TH), reports, 700))) == 1
    # Without continuation the drone would get a second id (the test can fail).
    off = dataclasses.replace(TrackerConfig(), continuation_chi2=0.0)
    assert len(shown_ids(run(Tracker(TH, off), reports, 700))) == 2


def test_a_new_track_far_behind_a_silent_one_is_not_its_continuation():
    # A second drone heard 20 km behind where the first fell silent cannot be the first.
    first = heard(0, 240)
    second = [acoustic(r_x - 20_000.0, r_y, s, sensor + "b")
              for r_x, r_y, s, sensor in ((*TH.to_xy(r.lat, r.lon), (r.time - T0).total_seconds() + 300, r.sensor)
                                          for r in heard(0, 120))]
    events = run(Tracker(TH), first + second, 500)
    assert len({e.state.id for e in events if e.kind == "confirmed"}) == 2


def test_a_long_silent_track_takes_no_lone_false_alarm():
    # A drone's track falls silent; four minutes later a single node 6 km off its path
    # reports a false alarm (a moped): the silent track must not jump there.
    reports = heard(0, 240)
    px = X0 + SPEED * 480
    reports += [acoustic(px, Y0 + 6000.0, s, "AC-MOPED") for s in (480, 485, 490)]
    events = run(Tracker(TH), reports, 600)
    (tid,) = shown_ids(events)
    later = [e for e in events if e.state.id == tid and e.state.t > T0.timestamp() + 400 and e.kind != "deleted"]
    assert later == []
    # With direct updates after any silence it would have (the test can fail).
    loose = dataclasses.replace(TrackerConfig(), direct_max_silence_s=1e9)
    events = run(Tracker(TH, loose), reports, 600)
    assert [e for e in events if e.state.id == tid and e.state.t > T0.timestamp() + 400 and e.kind != "deleted"]


def test_a_drone_lost_for_half_an_hour_keeps_its_id_when_heard_again():
    # 30 min over uncovered land (81 km), then heard again further along its path.
    reports = heard(0, 240) + heard(2040, 2280)
    events = run(Tracker(TH), reports, 2300)
    assert len(shown_ids(events)) == 1
    assert not [e for e in events if e.kind == "deleted" and e.state.t < T0.timestamp() + 2040]


def test_a_drone_heard_on_and_off_by_two_nodes_is_confirmed_within_a_minute():
    # Two nodes 2.8 km apart, the drone passing between them, each hearing about two
    # looks in three (domain.md: Pd ~0.5-0.9 within 1-2 km): confirmed within 60 s of
    # the second node's first report (issue #3), although no third node ever hears it.
    miss = {"A": (2, 5, 8, 11), "B": (1, 4, 7, 10)}
    reports = []
    for n, s in enumerate(range(0, 80, 5)):
        for node, dy in (("A", 1400.0), ("B", -1400.0)):
            if n not in miss[node] and not (node == "B" and s < 5):
                reports.append(acoustic(X0, Y0 + dy, s, f"AC-{node}"))
    events = run(Tracker(TH), reports, 80)
    confirmed = [e.state.t for e in events if e.kind == "confirmed"]
    assert confirmed and confirmed[0] <= T0.timestamp() + 5 + 60
    # Scoring every repeat as ln(0.8 / 0.5), as a short false-alarm burst, is too slow.
    slow = dataclasses.replace(TrackerConfig(), long_burst_reports=10_000)
    late = [e.state.t for e in run(Tracker(TH, slow), reports, 80) if e.kind == "confirmed"]
    assert not late or late[0] > T0.timestamp() + 5 + 60


def test_three_observers_pointing_at_one_spot_within_seconds_confirm_a_threat():
    import math

    from airshield.model import ObserverReport

    # Three citizen observers around a drone press the button within 10 s (an ePPO-style
    # app): no sensor reports over 20 s, but the coincidence is far beyond chance.
    tx, ty = X0, Y0
    reps = []
    for n, (dx, dy, s) in enumerate(((-1200.0, 300.0, 0), (900.0, 1000.0, 4), (300.0, -1300.0, 9))):
        lat, lon = TH.to_latlon(tx + dx, ty + dy)
        brg = (math.degrees(math.atan2(-dx, -dy)) - math.degrees(TH.north_angle(lat, lon))) % 360
        reps.append(ObserverReport(sensor=f"OBS-{n}", time=T0 + timedelta(seconds=s),
                                   arrival=T0 + timedelta(seconds=s + 15), lat=lat, lon=lon, alt_m=1.5,
                                   bearing_deg=brg, sigma_bearing_deg=15.0, cls="drone"))
    assert [e for e in run(Tracker(TH), reps, 60) if e.kind == "confirmed"]
    strict = dataclasses.replace(TrackerConfig(), span_waiver_score=float("inf"))
    assert not [e for e in run(Tracker(TH, strict), reps, 60) if e.kind == "confirmed"]


def test_a_drone_already_tracked_gets_no_second_track():
    # A radar tracks a drone at 3 km altitude; two acoustic nodes below hear it (their
    # altitude prior says "low", so their reports do not gate the radar track). Their
    # new track, on top of the radar's, is a duplicate: it must not become a second id.
    from test_tracking import radar_plot, radar_xy

    rx, ry = radar_xy()
    x0, y0 = rx + 8000.0, ry + 5000.0
    reps = [radar_plot(x0 + 45.0 * s, y0, 3000.0, s) for s in range(0, 120, 2)]
    for s in range(40, 110, 5):
        reps.append(acoustic(x0 + 45.0 * 75 - 1200.0, y0 + 900.0, s, "AC-A"))
        reps.append(acoustic(x0 + 45.0 * 75 + 1200.0, y0 - 900.0, s, "AC-B"))
    events = run(Tracker(TH), reps, 130)
    assert len(shown_ids(events)) == 1
    off = dataclasses.replace(TrackerConfig(), duplicate_chi2=0.0)
    assert len(shown_ids(run(Tracker(TH, off), reps, 130))) == 2
