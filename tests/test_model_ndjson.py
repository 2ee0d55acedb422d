"""Sensor report value types and their NDJSON wire format (docs/formats.md)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import msgspec
import pytest

from airshield.model import (
    AcousticDetection,
    AdsbReport,
    ObserverReport,
    PositionReport,
    RadarPlot,
    format_time,
    from_epoch,
    parse_time,
)
from airshield.sources.ndjson import (
    ReportDecodeError,
    decode_lines,
    decode_report,
    encode_report,
    iter_lines,
    read_reports,
    write_reports,
)

T = datetime(2025, 9, 7, 21, 4, 5, 250000, tzinfo=UTC)
A = datetime(2025, 9, 7, 21, 4, 8, tzinfo=UTC)

ONE_OF_EACH = [
    AcousticDetection(sensor="AC-1", time=T, arrival=A, lat=50.1, lon=30.2, alt_m=2.0,
                      scores={"drone": 0.8, "unknown": 0.2}),
    AcousticDetection(sensor="AC-2", time=T, arrival=A, lat=50.1, lon=30.2, alt_m=2.0,
                      scores={"jet": 0.6}, bearing_deg=123.4, sigma_bearing_deg=5.0, level_db=71.5),
    RadarPlot(sensor="RAD-1", time=T, arrival=A, lat=50.0, lon=30.0, alt_m=20.0, range_m=12000.0,
              azimuth_deg=45.0, elevation_deg=1.5, sigma_range_m=20.0, sigma_azimuth_deg=0.7,
              sigma_elevation_deg=1.0, radial_speed_mps=-40.0, sigma_radial_speed_mps=1.0),
    ObserverReport(sensor="OBS-1", time=T, arrival=A, lat=49.0, lon=31.0, alt_m=1.5, bearing_deg=270.0,
                   sigma_bearing_deg=15.0, cls="drone", count=2),
    PositionReport(sensor="P-1", time=T, arrival=A, lat=48.0, lon=32.0, alt_m=100.0,
                   cov_enu_m2=(250000.0, 0.0, 0.0, 0.0, 250000.0, 0.0, 0.0, 0.0, 1e6),
                   vel_enu_mps=(10.0, -40.0, 0.0), cls="cruise"),
    AdsbReport(sensor="ADSB-NET", time=T, arrival=A, icao="4CA2D1", callsign="RYR123", lat=49.5, lon=24.0,
               alt_m=11000.0, ground_speed_mps=230.0, track_deg=135.0, vertical_rate_mps=0.0),
]


@pytest.mark.parametrize("report", ONE_OF_EACH, ids=lambda r: type(r).__name__)
def test_every_report_kind_round_trips_through_ndjson_unchanged(report):
    line = encode_report(report)
    again = decode_report(line)
    assert again == report
    assert encode_report(again) == line


def test_reports_are_immutable():
    with pytest.raises(AttributeError):
        ONE_OF_EACH[0].lat = 1.0  # type: ignore[misc]


def test_a_written_file_reads_back_in_the_same_order():
    buf = io.BytesIO()
    assert write_reports(ONE_OF_EACH, buf) == len(ONE_OF_EACH)
    reports, errors = decode_lines(iter_lines(io.BytesIO(buf.getvalue())), "x.ndjson")
    assert errors == []
    assert reports == ONE_OF_EACH


def _line(**changes) -> bytes:
    d = msgspec.to_builtins(ONE_OF_EACH[0])
    d.update(changes)
    return msgspec.json.encode({k: v for k, v in d.items() if v is not ...})


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        (_line(lat=95.0), "lat", "<= 90.0"),
        (_line(arrival="2025-09-07T21:04:01Z"), "arrival", "before the measurement time"),
        (_line(time="2025-09-07T21:04:05"), "time", "timezone"),
        (_line(scores={"dron": 0.5}), "scores", "dron"),
        (_line(scores={"drone": 0.8, "jet": 0.5}), "scores", "sum to 1.3"),
        (_line(bearing_deg=10.0), "sigma_bearing_deg", "needs its sigma"),
        (_line(colour="red"), "colour", "unknown field"),
        (_line(kind="sonar"), "kind", "sonar"),
        (_line(sensor=...), "$", "missing required field `sensor`"),
        (_line(sensor="has space"), "sensor", "matching regex"),
        (b'{"kind": "acoustic", ', "$", "not valid JSON"),
        (_line(sensor="AC-1").replace(b"AC-1", b"AC-\xff"), "$", "not valid UTF-8"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "$", "nested too deeply"),
    ],
)
def test_a_bad_line_names_its_line_field_and_reason(line, field, words):
    with pytest.raises(ReportDecodeError) as exc:
        decode_report(line, "reports.ndjson", 17)
    err = exc.value.error
    assert (err.source, err.line, err.field) == ("reports.ndjson", 17, field)
    assert words in err.reason
    assert str(err).startswith("reports.ndjson:17:")


def test_position_covariance_must_be_symmetric_with_positive_diagonal():
    bad = msgspec.to_builtins(ONE_OF_EACH[4])
    bad["cov_enu_m2"] = [1.0, 2.0, 0, 0, 1.0, 0, 0, 0, 1.0]
    with pytest.raises(ReportDecodeError, match="not symmetric"):
        decode_report(msgspec.json.encode(bad))
    bad["cov_enu_m2"] = [0.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]
    with pytest.raises(ReportDecodeError, match="diagonal element 0 must be > 0"):
        decode_report(msgspec.json.encode(bad))
    bad["cov_enu_m2"] = [1e300, 0, 0, 0, 1.0, 0, 0, 0, 1.0]
    with pytest.raises(ReportDecodeError, match=r"diagonal element 0 is 1e\+300 m², more than \(1,000 km\)²"):
        decode_report(msgspec.json.encode(bad))


def test_a_radar_plot_pointing_into_the_ground_is_refused():
    radar = next(r for r in ONE_OF_EACH if type(r).__name__ == "RadarPlot")
    plot = msgspec.to_builtins(radar)
    decode_report(msgspec.json.encode({**plot, "elevation_deg": -1.0, "range_m": 20_000.0}))  # a hill's look down
    with pytest.raises(ReportDecodeError, match="lies 9[0-9],[0-9]{3} m below sea level") as exc:
        decode_report(msgspec.json.encode({**plot, "elevation_deg": -90.0, "range_m": 100_000.0}))
    assert exc.value.error.field == "elevation_deg"


def test_bad_lines_do_not_cost_the_valid_ones(tmp_path):
    good = [encode_report(r) for r in ONE_OF_EACH]
    lines = [good[0], _line(lat=-91.0), b"", b"# a comment", good[1], b"garbage", good[2]]
    p = tmp_path / "reports.ndjson"
    p.write_bytes(b"\n".join(lines) + b"\n")
    reports, errors = read_reports(p)
    assert reports == ONE_OF_EACH[:3]
    assert [(e.line, e.field) for e in errors] == [(2, "lat"), (6, "$")]


def test_times_round_trip_to_the_microsecond_and_naive_times_are_refused():
    t = from_epoch(1757279045.25)
    assert format_time(t) == "2025-09-07T21:04:05.250000Z"
    assert parse_time("2025-09-07T23:04:05.25+02:00") == t
    with pytest.raises(msgspec.ValidationError):
        parse_time("2025-09-07T21:04:05")


def test_a_clean_file_reads_the_same_in_one_call_as_line_by_line(tmp_path):
    p = tmp_path / "reports.ndjson"
    buf = io.BytesIO()
    write_reports(ONE_OF_EACH * 3, buf)
    p.write_bytes(buf.getvalue())
    fast, errors = read_reports(p)
    slow, _ = decode_lines(iter_lines(io.BytesIO(buf.getvalue())), "x")
    assert errors == [] and fast == slow == ONE_OF_EACH * 3
    # A comment line takes the line-by-line path and changes nothing else.
    p.write_bytes(b"# night of 2025-09-07\n" + buf.getvalue())
    assert read_reports(p) == (ONE_OF_EACH * 3, [])


def test_a_covariance_that_is_not_positive_definite_is_refused():
    bad = msgspec.to_builtins(ONE_OF_EACH[4])
    for cov in ([100, 1000, 0, 1000, 100, 0, 0, 0, 100], [100, 100, 0, 100, 100, 0, 0, 0, 100]):
        bad["cov_enu_m2"] = cov
        with pytest.raises(ReportDecodeError, match="not positive definite"):
            decode_report(msgspec.json.encode(bad))


def test_a_report_claiming_a_certainty_no_sensor_has_is_refused_by_field():
    # A covariance of 1e-6 m² across a 1e12 m² one passed the checks above and stopped the
    # tracker (its covariances lost positive definiteness in rounding); a near-zero sigma
    # would pin every track it touches.
    pos = msgspec.to_builtins(ONE_OF_EACH[4])
    pos["cov_enu_m2"] = [1e12, 0, 0, 0, 1e-6, 0, 0, 0, 1e-6]
    with pytest.raises(ReportDecodeError, match="no position is known better than 1 m²") as exc:
        decode_report(msgspec.json.encode(pos))
    assert exc.value.error.field == "cov_enu_m2"
    pos["cov_enu_m2"] = [1e12, 0, 0, 0, 1.0, 0, 0, 0, 1.0]  # 1 m across 1,000 km: vague, not false
    decode_report(msgspec.json.encode(pos))
    radar = msgspec.to_builtins(next(r for r in ONE_OF_EACH if type(r).__name__ == "RadarPlot"))
    for field, value in (("sigma_range_m", 0.001), ("sigma_azimuth_deg", 1e-300), ("sigma_elevation_deg", 0.0)):
        with pytest.raises(ReportDecodeError) as exc:
            decode_report(msgspec.json.encode({**radar, field: value}))
        assert exc.value.error.field == field


def test_files_joined_with_cat_keep_every_line_and_utf16_is_named(tmp_path):
    one = msgspec.json.encode(msgspec.to_builtins(ONE_OF_EACH[0]))
    two = msgspec.json.encode(msgspec.to_builtins(ONE_OF_EACH[1]))
    f = tmp_path / "joined.ndjson"
    f.write_bytes(b"\xef\xbb\xbf" + one + b"\n" + b"\xef\xbb\xbf" + two + b"\n")  # cat a.ndjson b.ndjson
    reports, errors = read_reports(f)
    assert errors == [] and len(reports) == 2
    f.write_bytes((one.decode() + "\n").encode("utf-16"))
    with pytest.raises(ValueError, match="UTF-16 text; save it as UTF-8"):
        read_reports(f)
