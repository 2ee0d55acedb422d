"""Tracker parameters, each with its reason. Units: m, s, m/s."""

from __future__ import annotations

from dataclasses import dataclass, field

from airshield.tracking.measurement import MeasurementConfig

KINDS = ("radar", "position", "adsb", "acoustic", "observer")


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker parameters.

    Attributes:
        measurement: measurement-model parameters.
        gate_chi2: squared Mahalanobis gate (3 dof, 99.9 %: 16.27).
        init_speed_sigma: per report kind, sigma of the unknown initial
            horizontal speed of a new track (m/s): radar sees everything up to
            ballistic speeds; acoustic nodes and observers hear and see slow,
            low threats [est].
        init_vspeed_sigma: the same for the vertical speed.
        evidence_first, evidence_repeat: corroboration credit of a sensor's
            first report on a track, and of each further report (up to
            ``repeat_cap``): a second sensor counts far more than a repeat from
            the same one, because a false alarm repeats too (a passing moped is
            heard for several looks) [est].
        confirm_evidence: credit needed to confirm.
        min_sensors: independent sensors needed to confirm (domain: "a false
            alarm, or one faulty or spoofed sensor, cannot by itself create a
            confirmed threat").
        single_sensor_reports, single_sensor_span_s: a track seen by only one
            *locating* sensor (a radar, a partner) is confirmed after this many
            reports over this span, but never shown as a threat until a second
            sensor corroborates it.
        min_span_s: a track corroborated only by non-locating sensors
            (acoustic, observers) must have been reported over this span.
        tentative_timeout_s: a tentative track without a report for this long is dropped.
        coast_after_s, delete_after_s: per class, silence before a confirmed
            track coasts, and before a coasting one is deleted.
        max_pos_sigma_m: a track whose position sigma exceeds this is deleted.
        emit_interval_s: a confirmed track's state is emitted at most this often.
        coast_emit_interval_s: a coasting track's predicted state is emitted this often.
    """

    measurement: MeasurementConfig = field(default_factory=MeasurementConfig)
    gate_chi2: float = 16.27
    init_speed_sigma: dict[str, float] = field(default_factory=lambda: {
        "radar": 700.0, "position": 150.0, "adsb": 30.0, "acoustic": 50.0, "observer": 50.0})
    init_vspeed_sigma: dict[str, float] = field(default_factory=lambda: {
        "radar": 400.0, "position": 50.0, "adsb": 10.0, "acoustic": 5.0, "observer": 5.0})
    evidence_first: dict[str, float] = field(default_factory=lambda: {
        "radar": 1.0, "position": 2.0, "adsb": 3.0, "acoustic": 1.0, "observer": 0.5})
    evidence_repeat: dict[str, float] = field(default_factory=lambda: {
        "radar": 0.3, "position": 0.5, "adsb": 0.5, "acoustic": 0.2, "observer": 0.0})
    repeat_cap: int = 10
    confirm_evidence: float = 3.0
    min_sensors: int = 2
    single_sensor_reports: int = 8
    single_sensor_span_s: float = 12.0
    min_span_s: float = 20.0
    tentative_timeout_s: dict[str, float] = field(default_factory=lambda: {
        "radar": 20.0, "position": 60.0, "adsb": 30.0, "acoustic": 90.0, "observer": 120.0})
    coast_after_s: dict[str, float] = field(default_factory=lambda: {
        "drone": 60.0, "jet": 30.0, "cruise": 30.0, "ballistic": 10.0, "aircraft": 30.0, "unknown": 60.0})
    delete_after_s: dict[str, float] = field(default_factory=lambda: {
        "drone": 900.0, "jet": 240.0, "cruise": 240.0, "ballistic": 45.0, "aircraft": 300.0,
        "unknown": 600.0})
    max_pos_sigma_m: float = 15_000.0
    emit_interval_s: float = 5.0
    coast_emit_interval_s: float = 20.0
