"""Threat types and their defaults, each with its source (../shared/docs/domain.md).

Speeds in m/s, altitudes in m above ground (the simulator has no terrain model:
ground is at 0 m, so above-ground and above-MSL altitudes coincide).
"""

from __future__ import annotations

from dataclasses import dataclass

KMH = 1000.0 / 3600.0


@dataclass(frozen=True)
class ThreatType:
    """Defaults for one threat model.

    Attributes:
        model: model id used in scenario files and truth (``shahed`` …).
        cls: the class it belongs to (model.CLASSES).
        speed_mps: (low, high) cruise speed range, m/s.
        max_speed_mps: highest speed in any leg, m/s.
        alt_m: (low, high) cruise altitude range, m.
        dog_legs: (min, max) intermediate waypoints of a route.
        detour: (min, max) route length / straight-line length.
        loiter_p: probability of one loiter on the way.
        max_range_m: fuel range, m; a route longer than this ends on ``fuel``.
        source: where the numbers come from.
    """

    model: str
    cls: str
    speed_mps: tuple[float, float]
    max_speed_mps: float
    alt_m: tuple[float, float]
    dog_legs: tuple[int, int]
    detour: tuple[float, float]
    loiter_p: float
    max_range_m: float
    source: str


THREAT_TYPES: dict[str, ThreatType] = {
    t.model: t
    for t in (
        ThreatType(
            "shahed", "drone", (120 * KMH, 170 * KMH), 185 * KMH, (100.0, 3000.0), (2, 4), (1.1, 1.35),
            0.15, 2_000_000.0,
            "Defence Express via news reports (domain.md): cruise 120-170 km/h, max ~185 km/h; "
            "altitude early very low, later 1-4 km; dog-legs +30 %; loiters",
        ),
        ThreatType(
            "gerbera", "drone", (110 * KMH, 160 * KMH), 160 * KMH, (100.0, 2500.0), (1, 2), (1.05, 1.3),
            0.10, 600_000.0,
            "Reuters (domain.md): decoys up to ~160 km/h, range ~600 km, look like Shaheds",
        ),
        ThreatType(
            "geran3", "jet", (500 * KMH, 600 * KMH), 650 * KMH, (500.0, 4000.0), (0, 2), (1.02, 1.2),
            0.0, 2_500_000.0,
            "news reports (domain.md): jet drone Shahed-238/Geran-3 > 500 km/h [est 500-600]",
        ),
        ThreatType(
            "kh101", "cruise", (700 * KMH, 800 * KMH), 820 * KMH, (30.0, 150.0), (2, 4), (1.1, 1.35),
            0.0, 3_000_000.0,
            "news reports (domain.md): subsonic ~700-800 km/h [est], low level, repeated course changes",
        ),
        ThreatType(
            "kalibr", "cruise", (700 * KMH, 800 * KMH), 820 * KMH, (30.0, 150.0), (1, 3), (1.1, 1.3),
            0.0, 2_000_000.0,
            "news reports (domain.md): subsonic ~700-800 km/h [est], low level",
        ),
        ThreatType(
            "iskander-k", "cruise", (700 * KMH, 850 * KMH), 900 * KMH, (30.0, 150.0), (1, 2), (1.05, 1.2),
            0.0, 500_000.0,
            "Iskander-K (9M728) ground-launched cruise missile [est: as other subsonic cruise missiles]; "
            "9 on the record night 2025-09-07 (attack dataset)",
        ),
        ThreatType(
            "iskander", "ballistic", (1700.0, 2100.0), 2400.0, (0.0, 50_000.0), (0, 0), (1.0, 1.0),
            0.0, 500_000.0,
            "news reports (domain.md): ~2 km/s, a few minutes of flight, < 2 min Belgorod -> Kharkiv",
        ),
        ThreatType(
            "airliner", "aircraft", (210.0, 250.0), 260.0, (9000.0, 11500.0), (0, 1), (1.0, 1.05),
            0.0, 6_000_000.0,
            "typical jet airliner cruise ~430-490 kt at FL300-380 [est]",
        ),
    )
}

#: Model ids that are threats (everything but civil aircraft).
THREAT_MODELS = tuple(m for m, t in THREAT_TYPES.items() if t.cls != "aircraft")
