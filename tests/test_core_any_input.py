"""Any report the ingest accepts is taken by the core without a fault, and every state it gives is finite.

The ingest's checks (model.py) are the contract: what they refuse never reaches the core, and
what they accept must never make it raise (a step whose core raises is lost to every region,
runtime.py) nor write a NaN into a track, a forecast or an alert. Hypothesis draws reports of
every kind near one place, so that they meet: gating, initiation, association, confirmation,
the threat picture and the policy all run on them, with values at the edges of what is accepted
(sigmas from the smallest to the largest, ranges to 1,000 km, covariances at their limits).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airshield.core import Core
from airshield.geo import RegionSet, load_regions
from airshield.sources.ndjson import ReportDecodeError, decode_report

T0 = datetime(2025, 10, 14, 20, 0, tzinfo=UTC)
LAT, LON = 50.9, 34.8  # Sumy: on the border of two oblasts, where the tiny night's drones go
CLASSES = ["drone", "jet", "cruise", "ballistic", "aircraft", "unknown"]

# Values at the edges of what the ingest accepts, and ordinary ones.
sigma_deg = st.sampled_from([0.001, 0.01, 0.5, 3.0, 15.0, 90.0, 180.0])
lat = st.floats(LAT - 0.3, LAT + 0.3)
lon = st.floats(LON - 0.4, LON + 0.4)
alt = st.sampled_from([-500.0, 0.0, 150.0, 2000.0, 20000.0, 200000.0])
bearing = st.floats(0.0, 359.99)
seconds = st.floats(0.0, 600.0)
delay = st.sampled_from([0.0, 0.001, 1.0, 30.0, 60.0, 300.0])
variance = st.sampled_from([1.0, 1.5, 100.0, 1e4, 1e8, 1e12])


@st.composite
def report(draw) -> dict:
    t = draw(seconds)
    base = {"sensor": draw(st.sampled_from(["S1", "S2", "S3", "S4"])) + "-" + draw(st.sampled_from("ab")),
            "time": (T0 + timedelta(seconds=t)).isoformat(),
            "arrival": (T0 + timedelta(seconds=t + draw(delay))).isoformat()}
    kind = draw(st.sampled_from(["acoustic", "radar", "observer", "position", "adsb"]))
    where = {"lat": draw(lat), "lon": draw(lon), "alt_m": draw(alt)}
    if kind == "acoustic":
        c = draw(st.sampled_from(CLASSES))
        body = {"scores": {c: draw(st.sampled_from([0.0, 0.3, 1.0]))}}
        if draw(st.booleans()):
            body |= {"bearing_deg": draw(bearing), "sigma_bearing_deg": draw(sigma_deg)}
    elif kind == "radar":
        body = {"range_m": draw(st.sampled_from([1.0, 50.0, 5000.0, 80000.0, 1e6])), "azimuth_deg": draw(bearing),
                "elevation_deg": draw(st.sampled_from([-2.0, 0.0, 0.5, 10.0, 89.9, 90.0])),
                "sigma_range_m": draw(st.sampled_from([1.0, 50.0, 1e5])), "sigma_azimuth_deg": draw(sigma_deg),
                "sigma_elevation_deg": draw(sigma_deg)}
        if draw(st.booleans()):
            body |= {"radial_speed_mps": draw(st.sampled_from([-10000.0, -40.0, 0.0, 700.0, 10000.0])),
                     "sigma_radial_speed_mps": draw(st.sampled_from([0.01, 1.0, 1000.0]))}
    elif kind == "observer":
        body = {"bearing_deg": draw(bearing), "sigma_bearing_deg": draw(sigma_deg),
                "cls": draw(st.sampled_from(CLASSES)), "count": draw(st.sampled_from([1, 1000]))}
    elif kind == "position":
        a, b, c = draw(variance), draw(variance), draw(variance)
        r = draw(st.sampled_from([0.0, 0.5, -0.99]))  # correlation of east and north
        en = r * math.sqrt(a * b)
        body = {"cov_enu_m2": [a, en, 0.0, en, b, 0.0, 0.0, 0.0, c]}
        if draw(st.booleans()):
            body["vel_enu_mps"] = [draw(st.sampled_from([-10000.0, 0.0, 45.0, 10000.0])), 0.0,
                                   draw(st.sampled_from([0.0, -2000.0]))]
        if draw(st.booleans()):
            body["cls"] = draw(st.sampled_from(CLASSES))
    else:
        body = {"icao": draw(st.sampled_from(["4b1805", "abcdef"])),
                "ground_speed_mps": draw(st.sampled_from([0.0, 45.0, 250.0, 1500.0])), "track_deg": draw(bearing),
                "vertical_rate_mps": draw(st.sampled_from([-500.0, 0.0, 500.0]))}
    return {"kind": kind, **base, **where, **body}


@pytest.fixture(scope="module")
def two_oblasts() -> RegionSet:
    """Sumy and Kharkiv oblasts only (a Core over them builds in a fraction of the 27's time)."""
    rs = load_regions()
    return RegionSet([rs[i] for i in ("UA-59", "UA-63")], rs.theatre, rs.source, rs.attribution)


def _finite(values) -> bool:
    return all(v is None or math.isfinite(v) for v in values)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a NaN made on the way (0/0) fails it too
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=st.lists(report(), min_size=1, max_size=60))
def test_any_report_the_ingest_accepts_is_taken_without_a_fault_and_gives_finite_states(two_oblasts, lines):
    reports = []
    for line in lines:
        try:
            reports.append(decode_report(msgspec.json.encode(line)))
        except ReportDecodeError:
            continue  # refused on the way in, with its reason: never the core's to take
    reports.sort(key=lambda r: r.arrival)
    core = Core(two_oblasts)
    end = T0.timestamp() + 1200.0
    now = T0.timestamp()
    i = 0
    while now < end:  # 5 s steps, as the pipeline takes them, and on past the last report
        now += 5.0
        batch = []
        while i < len(reports) and reports[i].arrival.timestamp() < now:
            batch.append(reports[i])
            i += 1
        res = core.step(batch, now)
        for ev in res.track_events:
            s = ev.state
            assert _finite([*s.x, s.pos_sigma_m, s.vel_sigma_mps, *s.probs]), ev
            assert abs(sum(s.probs) - 1.0) < 1e-6, ev
        for a in res.alert_events:
            r = a.reason
            assert _finite([r.eta_s, r.eta_lo_s, r.eta_hi_s, r.confidence]), a
            assert all(_finite([th.lat, th.lon, th.eta_s, th.eta_lo_s, th.speed_mps]) for th in r.threats), a
