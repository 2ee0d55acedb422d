"""Value types: sensor reports, classes and times.

Reports are immutable, typed and validated ``msgspec`` structs that mirror the
wire format in ``docs/formats.md`` one to one, so that a report read from
NDJSON and written back is the same bytes. They sit at the edge of the system:
positions are WGS84 degrees and metres, angles are degrees (named ``*_deg``),
times are timezone-aware UTC datetimes. The tracking core converts them to
SI units in the theatre's metric frame when it takes them in.

Why msgspec rather than pydantic: it decodes and validates NDJSON in C at
about a microsecond per report, which the record night (millions of reports)
needs; see docs/decisions/0002-msgspec-value-types.md.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import msgspec
import numpy as np

# --- classes ----------------------------------------------------------------

ThreatClass = Literal["drone", "jet", "cruise", "ballistic", "aircraft", "unknown"]
#: The classes in a fixed order, used for class-probability vectors.
CLASSES: tuple[str, ...] = ("drone", "jet", "cruise", "ballistic", "aircraft", "unknown")
#: Classes that are threats to the ground (``aircraft`` and ``unknown`` are not,
#: by themselves; the tracker decides on ``unknown`` from kinematics).
THREAT_CLASSES: tuple[str, ...] = ("drone", "jet", "cruise", "ballistic")

# --- constrained scalar types ----------------------------------------------

UtcTime = Annotated[datetime, msgspec.Meta(tz=True, description="UTC time, RFC 3339")]
Lat = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0, description="WGS84 latitude, degrees")]
Lon = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0, description="WGS84 longitude, degrees")]
# Dead Sea shore to well above any ballistic apogee we track (~100 km for SRBMs).
Alt = Annotated[float, msgspec.Meta(ge=-500.0, le=200_000.0, description="altitude above MSL, m")]
Bearing = Annotated[float, msgspec.Meta(ge=0.0, lt=360.0, description="clockwise from true north, deg")]
#: A sensor's angular 1-sigma: at least 0.001 deg (3.6"; no sensor of air threats is finer, and
#: a near-zero sigma claims a certainty that would pin every track it touches), at most 180.
SigmaDeg = Annotated[float, msgspec.Meta(ge=0.001, le=180.0, description="1-sigma, degrees (0.001-180)")]
SensorId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
#: The largest variance a position report may give, m²: (1,000 km)².
MAX_VARIANCE_M2 = 1e12
#: The smallest variance a position report may claim in any direction, m^2 (1 m: GNSS-grade).
MIN_VARIANCE_M2 = 1.0
#: A report measured more than this before it arrived is refused, s: observers report up
#: to 60 s late and a gateway may hold reports through an outage of minutes (domain.md),
#: but an hour-old report cannot warn anyone (the service's `max_report_age_s` default).
MAX_REPORT_AGE_S = 3600.0


class ReportValueError(ValueError):
    """A cross-field check failed; ``field`` names the offending field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field `{field}`: {message}")
        self.field = field
        self.reason = message


def _check_times(r: _ReportBase) -> None:
    if r.arrival < r.time:
        raise ReportValueError(
            "arrival",
            f"arrival {format_time(r.arrival)} is before the measurement time {format_time(r.time)}",
        )


def _check_finite(r: msgspec.Struct, names: tuple[str, ...]) -> None:
    for name in names:
        v = getattr(r, name)
        if v is not None and not math.isfinite(v):
            raise ReportValueError(name, f"must be a finite number, got {v}")


class _ReportBase(msgspec.Struct, frozen=True, tag_field="kind", forbid_unknown_fields=True, gc=False):
    """Fields every report has.

    ``gc=False``: reports hold only numbers, strings, datetimes and a dict of
    floats, so they cannot form reference cycles; leaving them out of the
    cyclic garbage collector saves its repeated scans of a night's hundreds
    of thousands of reports (msgspec docs, "Structs: Disabling Garbage Collection").

    Attributes:
        sensor: stable sensor id.
        time: when the measurement was made (UTC).
        arrival: when the report reached airshield (UTC); never before ``time``.
    """

    sensor: SensorId
    time: UtcTime
    arrival: UtcTime


class AcousticDetection(_ReportBase, frozen=True, tag="acoustic"):
    """An acoustic node heard something.

    A single microphone gives presence and class evidence only; an array node
    adds a direction of arrival (domain.md, Sensors: arrays give sigma 3-8 deg).

    Attributes:
        lat, lon, alt_m: node position (deg, deg, m MSL).
        scores: class -> score in [0, 1]; missing classes score 0; sum <= 1.
        bearing_deg, sigma_bearing_deg: direction of arrival and its 1-sigma, or None.
        level_db: received sound level (dB), if reported.
    """

    lat: Lat
    lon: Lon
    alt_m: Alt
    scores: dict[ThreatClass, Probability]
    bearing_deg: Bearing | None = None
    sigma_bearing_deg: SigmaDeg | None = None
    level_db: float | None = None

    def __post_init__(self) -> None:
        if self.arrival < self.time:
            _check_times(self)
        total = sum(self.scores.values())
        if total > 1.0 + 1e-6:
            raise ReportValueError("scores", f"class scores sum to {total:.6g}, more than 1")
        if (self.bearing_deg is None) != (self.sigma_bearing_deg is None):
            raise ReportValueError("sigma_bearing_deg", "a bearing needs its sigma and a sigma its bearing")
        if self.level_db is not None:
            _check_finite(self, ("level_db",))


class RadarPlot(_ReportBase, frozen=True, tag="radar"):
    """A radar plot in the radar's polar coordinates.

    Attributes:
        lat, lon, alt_m: antenna position (deg, deg, m MSL).
        range_m, azimuth_deg, elevation_deg: slant range (m), azimuth from true
            north (deg), elevation above the local horizontal (deg).
        sigma_range_m, sigma_azimuth_deg, sigma_elevation_deg: 1-sigma of each.
        radial_speed_mps, sigma_radial_speed_mps: Doppler speed, positive away
            from the radar (m/s), and its 1-sigma; both or neither.
    """

    lat: Lat
    lon: Lon
    alt_m: Alt
    range_m: Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]
    azimuth_deg: Bearing
    elevation_deg: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
    sigma_range_m: Annotated[float, msgspec.Meta(ge=1.0, le=100_000.0)]
    sigma_azimuth_deg: SigmaDeg
    sigma_elevation_deg: SigmaDeg
    radial_speed_mps: Annotated[float, msgspec.Meta(ge=-10_000.0, le=10_000.0)] | None = None
    sigma_radial_speed_mps: Annotated[float, msgspec.Meta(ge=0.01, le=1_000.0)] | None = None

    def __post_init__(self) -> None:
        _check_times(self)
        # Where the plot lies, on the 4/3-earth model of radar propagation: more than 2 km
        # below sea level even at 3 sigma above its elevation, it is no target (a bad
        # elevation, or a sign error); a noisy low plot at long range is kept.
        el = math.radians(min(90.0, self.elevation_deg + 3.0 * self.sigma_elevation_deg))
        depth = self.alt_m + self.range_m * math.sin(el) + self.range_m ** 2 / (2.0 * 4.0 / 3.0 * 6_371_000.0)
        if depth < -2000.0:
            raise ReportValueError("elevation_deg", f"the plot lies {-depth:,.0f} m below sea level "
                                   "(at 3 sigma above its elevation)")
        if (self.radial_speed_mps is None) != (self.sigma_radial_speed_mps is None):
            raise ReportValueError(
                "sigma_radial_speed_mps", "a radial speed needs its sigma and a sigma its radial speed"
            )


class ObserverReport(_ReportBase, frozen=True, tag="observer"):
    """A citizen observer's sighting: a bearing from a phone (domain.md: sigma ~15 deg).

    Attributes:
        lat, lon, alt_m: observer position (phone GPS).
        bearing_deg, sigma_bearing_deg: compass bearing to the target, 1-sigma.
        cls: what the observer says it is (20-30 % are wrong, domain.md).
        count: how many the observer saw.
    """

    lat: Lat
    lon: Lon
    alt_m: Alt
    bearing_deg: Bearing
    sigma_bearing_deg: SigmaDeg
    cls: ThreatClass
    count: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1

    def __post_init__(self) -> None:
        _check_times(self)


class PositionReport(_ReportBase, frozen=True, tag="position"):
    """A located target from a partner system (fused input).

    Attributes:
        lat, lon, alt_m: target position.
        cov_enu_m2: 3x3 position covariance in east/north/up metres^2, row-major (9 numbers).
        vel_enu_mps: velocity [east, north, up] in m/s, if known.
        cls: class, if known.
    """

    lat: Lat
    lon: Lon
    alt_m: Alt
    cov_enu_m2: Annotated[tuple[float, ...], msgspec.Meta(min_length=9, max_length=9)]
    vel_enu_mps: tuple[float, float, float] | None = None
    cls: ThreatClass | None = None

    def __post_init__(self) -> None:
        _check_times(self)
        c = self.cov_enu_m2
        for i, v in enumerate(c):
            if not math.isfinite(v):
                raise ReportValueError("cov_enu_m2", f"element {i} is not finite")
        for i in range(3):
            if c[4 * i] <= 0.0:
                raise ReportValueError("cov_enu_m2", f"diagonal element {i} must be > 0, got {c[4 * i]}")
            if c[4 * i] > MAX_VARIANCE_M2:
                raise ReportValueError("cov_enu_m2", f"diagonal element {i} is {c[4 * i]:.3g} m², more than "
                                       f"(1,000 km)²: such a position says nothing")
        for i, j in ((0, 1), (0, 2), (1, 2)):
            a, b = c[3 * i + j], c[3 * j + i]
            if abs(a - b) > 1e-6 * max(1.0, abs(a), abs(b)):
                raise ReportValueError("cov_enu_m2", f"not symmetric: [{i}][{j}]={a} but [{j}][{i}]={b}")
        # Positive definite (Sylvester: every leading minor > 0); a singular or indefinite
        # covariance would claim certainty it cannot have and corrupt the tracks it updates.
        m2 = c[0] * c[4] - c[1] * c[3]
        det = (c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6])
               + c[2] * (c[3] * c[7] - c[4] * c[6]))
        if m2 <= 0.0 or det <= 0.0:
            raise ReportValueError("cov_enu_m2", "not positive definite (a variance is implied to be <= 0)")
        # No direction known better than MIN_VARIANCE_M2: a covariance of 1e-6 m^2 across a
        # 1e12 m^2 one is within the bounds above, yet it pins the tracks it updates to a line
        # and their covariances lose their positive definiteness in rounding.
        # (Every eigenvalue above 0.999 MIN_VARIANCE_M2 is C - 0.999 MIN_VARIANCE_M2 I positive
        # definite: Sylvester again, in plain arithmetic; the eigenvalue only for the message.)
        shift = 0.999 * MIN_VARIANCE_M2
        d0, d4, d8 = c[0] - shift, c[4] - shift, c[8] - shift
        m2 = d0 * d4 - c[1] * c[3]
        det = d0 * (d4 * d8 - c[5] * c[7]) - c[1] * (c[3] * d8 - c[5] * c[6]) + c[2] * (c[3] * c[7] - d4 * c[6])
        if d0 <= 0.0 or m2 <= 0.0 or det <= 0.0:
            low = float(np.linalg.eigvalsh(np.array(c, dtype=float).reshape(3, 3))[0])
            if low < MIN_VARIANCE_M2:
                raise ReportValueError("cov_enu_m2", f"claims {low:.3g} m² in some direction: no position is "
                                       f"known better than {MIN_VARIANCE_M2:g} m² (1 m)")
        if self.vel_enu_mps is not None:
            _check_vector(self.vel_enu_mps, "vel_enu_mps", 10_000.0)


def _check_vector(v: tuple[float, ...], name: str, limit: float) -> None:
    for x in v:
        if not math.isfinite(x) or abs(x) > limit:
            raise ReportValueError(name, f"component {x} is not a finite number within ±{limit:g}")


_ICAO = re.compile(r"^[0-9A-Fa-f]{6}$")


class AdsbReport(_ReportBase, frozen=True, tag="adsb"):
    """A cooperative aircraft's own ADS-B broadcast (never a threat).

    Attributes:
        icao: 24-bit ICAO address, 6 hex digits.
        callsign: flight callsign, if broadcast.
        lat, lon, alt_m: aircraft position.
        ground_speed_mps, track_deg, vertical_rate_mps: velocity as broadcast.
    """

    icao: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Fa-f]{6}$")]
    lat: Lat
    lon: Lon
    alt_m: Alt
    ground_speed_mps: Annotated[float, msgspec.Meta(ge=0.0, le=1_500.0)]
    track_deg: Bearing
    vertical_rate_mps: Annotated[float, msgspec.Meta(ge=-500.0, le=500.0)] = 0.0
    callsign: Annotated[str, msgspec.Meta(max_length=8)] | None = None

    def __post_init__(self) -> None:
        _check_times(self)


#: Any sensor report; decode with :func:`airshield.sources.ndjson.decode_report`.
Report = AcousticDetection | RadarPlot | ObserverReport | PositionReport | AdsbReport
REPORT_KINDS: tuple[str, ...] = ("acoustic", "radar", "observer", "position", "adsb")


# --- times -------------------------------------------------------------------


def to_epoch(t: datetime) -> float:
    """UTC datetime -> float seconds since the Unix epoch."""
    return t.timestamp()


def from_epoch(s: float) -> datetime:
    """Float seconds since the Unix epoch -> UTC datetime, rounded to the microsecond.

    The rounding is explicit (not left to ``datetime.fromtimestamp``) so that the
    same float always gives the same datetime on every platform.
    """
    return _EPOCH + timedelta(microseconds=round(s * 1_000_000))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_time(t: datetime | float) -> str:
    """RFC 3339 UTC with a ``Z``, e.g. ``2025-09-07T21:04:05.25Z``, as msgspec writes it."""
    if not isinstance(t, datetime):
        t = from_epoch(t)
    return msgspec.json.encode(t).decode()[1:-1]


def parse_time(s: str) -> datetime:
    """Parse an RFC 3339 time that has an offset; naive times are rejected."""
    return msgspec.json.decode(msgspec.json.encode(s), type=UtcTime).astimezone(UTC)
