"""Tracker parameters, each with its reason. Units: m, s, m/s."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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
        init_speed_sigma_loud: the same for an acoustic report whose class scores
            favour a jet drone or a cruise missile (``measurement.loud_scored``):
            140-220 m/s (domain.md: over 500 km/h, ~700-800 km/h). With the acoustic 50 m/s prior, such
            tracks were confirmed at 5-130 m/s, kilometres behind their missile
            (attack:2023-12-28; BENCHMARKS.md, "Tracker", tenth session).
        init_vspeed_sigma: the same for the vertical speed.
        score_init, pd, clutter_density, repeat_llr, score_window_s,
            confirm_score: the track score, a log-likelihood ratio of "a
            target" against "false alarms": it starts at ``score_init`` of the
            first report's kind and each report adds
            ln(Pd N(innovation; 0, S) / (clutter density x window)), the window
            being the time since the track's previous report clamped to
            ``score_window_s``; the track may confirm once it reaches ``confirm_score``.
        long_burst_reports, long_burst_llr: a node already on the track with this many
            reports adds ``long_burst_llr`` per further report instead of its kind's
            ``repeat_llr``: a passing moped is heard for 1-4 looks (5-20 s) [est], a drone
            passing within 2 km for 1-2 minutes (a 4 km chord at 45 m/s, domain.md), so a
            false alarm's burst rarely goes on: ln(0.8 / 0.25). On night-40 (seeds default,
            7, 11) it confirmed 87 / 76 / 69 % of threats reported by two sensors within 60 s
            of the second instead of 82 / 61 / 47 % (record-810: 72 instead of 64 %), at the
            cost of track ids per threat 2.49 / 2.06 / 2.03 instead of 2.32 / 1.88 / 2.0
            (record-810: 3.38 instead of 3.08) and GOSPA per threat +1 %; false confirmed
            tracks unchanged on night-40 (0 / 3 / 1), 13 instead of 11 on record-810
            [measured].
        acoustic_pass_geometry, pass_min_speed_mps, pass_max_speed_sigma_ratio, pass_gap_s,
            pass_loud_range_factor, pass_confirmed_only: a presence-only acoustic report on
            a track whose speed is at least the minimum and known to within the ratio is
            placed on its node's pass: behind the node at the burst's start, past it at
            its end, vaguer across the path than along it, and the pass's reports add up
            to one fact (measurement.pass_measurement; a report more than ``pass_gap_s``
            after the node's previous one starts a new pass; jets and cruise missiles are
            heard ``pass_loud_range_factor`` further, as in sim.acoustic). Only on
            confirmed tracks: a tentative track's velocity may be two false alarms'. On
            night-40 (seeds default, 7, 11) position RMSE 964 / 959 / 924 -> 889 / 936 /
            860 m, GOSPA per threat 957 / 980 / 969 -> 945 / 976 / 964 m, false confirmed
            tracks unchanged (0 / 1 / 0); track ids per threat 2.79 / 2.31 / 2.16 -> 2.87 /
            2.77 / 2.38. On tentative tracks too: false confirmed 1 / 2 / 0 [measured,
            docs/decisions/0019-acoustic-pass-geometry.md].
        height_fit_points, height_fit_window_s, height_fit_min_points, height_fit_min_span_s:
            a ballistic track's vertical acceleration is fitted (weighted least squares) to
            its last ``height_fit_points`` measured heights (radar, partners) within the
            window, given at least the minimum of them spanning at least the minimum span
            (else unknown). A radar plot's height is good to ~0.9-1.7 km at 50-100 km range
            (1 deg of elevation),
            and an arc's curvature (at least g: 5 s of fall is 120 m, 10 s 490 m, 15 s
            1.1 km) needs several seconds of plots to show; a 30 s window is a quarter of a
            short-range arc (an Iskander's flight to 73 km takes ~1-2 min, domain.md) [est].
            Heights are kept only while the track flies at least ``height_fit_min_speed_mps``
            (ballistic missiles fly ~2 km/s; cruise missiles and jets under 300 m/s).
        radar_clutter_ceiling_m, radar_high_clutter_factor: a radar plot measured above the
            ceiling is that much less likely to be clutter, in the score of the track it
            starts or joins (ln 1/factor added). Radar clutter (ground, sea, birds, weather,
            the ``clutter_density`` above) lies within the lowest few km; nothing but a
            ballistic missile (apogee 18-50 km for 73-500 km shots, domain.md) flies above
            15 km, and airliners stay under ~13 km. A ballistic track first seen by one
            radar at the edge of its range took 7 plots and 40 s to confirm, while its
            alert must start within 30 s of the first report (metrics.md) [est; measured in
            BENCHMARKS.md "Warning", twelfth session]. 1: off. Such a plot keeps the
            radar's speed prior: a missile's (2 km/s) made the first states' courses vaguer,
            and the salvo nights' unneeded alert-minutes 6-26 % higher, for no entry sooner.
        min_sensors: independent sensors needed to confirm (domain: "a false
            alarm, or one faulty or spoofed sensor, cannot by itself create a
            confirmed threat").
        single_sensor_reports, single_sensor_span_s: a track seen by only one
            *locating* sensor (a radar, a partner) is confirmed once its score
            reaches ``confirm_score`` with at least this many reports over this
            span, but it is never shown as a threat until a second sensor
            corroborates it.
        min_span_s, span_waiver_score: a track corroborated only by non-locating sensors
            (acoustic, observers) must have been reported over this span, unless its
            score reaches the waiver (twice ``confirm_score``): three citizen observers
            pointing at one spot within 13 s scored 25 on night-40 and timed out
            unconfirmed.
        tentative_timeout_s: a tentative track without a report for this long is dropped;
            one whose reports were already older than that when they came (a gateway's
            backlog after an outage, stamped on arrival) gets the timeout from then.
            Observers: 5 min. A Shahed above ~2 km is heard by no acoustic node
            (domain.md), and where no radar sees it citizens are its only sensor, one
            every few minutes along its path (each hears ~3 km around, and reports up to a
            minute late); with 2 min their sightings never met on one track. On
            attack:2023-10-18 (seed 7: three drones at 2.3-2.8 km flying 5 h to Lviv)
            missed entries 29 -> 12 (180 s: 22; 600 s as 300 s); night-40 (three seeds)
            track ids per threat 2.90 / 2.83 / 2.42 -> 2.69 / 2.75 / 2.33, confirmed
            within 60 s 0.795 / 0.771 / 0.750 -> 0.795 / 0.800 / 0.750, false confirmed
            tracks and missed entries unchanged; three more reported nights alike
            [measured, BENCHMARKS.md "Tracker", eleventh session]. A false sighting is
            rare (0.0005 per observer-hour) and what else joins its track in 5 min
            (acoustic false alarms under its wide covariance) lowers its score.
            Acoustic: 3 min. Nodes stand ~6.5 km apart (one per 43 km^2, domain.md) and
            each hears a Shahed ~1.4 km around, so the next node hears it 1-3 min after
            the last fell silent; near a border, where nodes are sparse, a group of
            drones was heard one node at a time and every track timed out first
            (attack:2025-10-05: 8 entries into Sumy oblast missed). Against 90 s, on nine
            night-40 seeds and four reported nights: missed entries 29 -> 22, premature
            all-clears 8 -> 4, unneeded alert-minutes within +-8 % per night; night-40
            (three seeds) confirmed within 60 s 0.795 / 0.800 / 0.750 -> 0.795 / 0.829 /
            0.781, false confirmed tracks 0 / 0 / 1 -> 0 / 0 / 0; record-810 0.780 ->
            0.774 and 7 -> 8 false confirmed tracks. 300 s: 0.821 / 0.857 / 0.812 but a
            false confirmed track on seed 7 [measured, BENCHMARKS.md "Tracker", twelfth
            session].
        backlog_age_s: a coasting track that takes reports this much older than the step
            (a backlog, not a late observer: they report up to 60 s late, domain.md) and
            newer than the state it last showed emits an update from them. Late reports of
            normal delay do not: on night-40 (seeds default / 7) those updates moved lost
            threats' cones for +4 / +8 % unneeded alert-minutes, no alert safer [measured].
        negative_pd, negative_radius_m, negative_max_sigma_m: negative information:
            each acoustic node within the radius of where a tentative, acoustic-only
            track (position sigma at most the maximum) is predicted, silent for a
            batch, lowers its score by ln(1 - negative_pd). domain.md gives Pd 0.9
            within 1 km; 0.2 within 800 m allows for the track's own position error,
            cities and altitude. On night-40 it cut false confirmed tracks from 6 to
            4, track ids per threat from 4.5 to 4.25 and GOSPA per threat by 3 %,
            and confirmed one more threat within 60 s (0.5 / 1 km cut false tracks
            further but delayed true ones) [measured, BENCHMARKS.md].
        drop_score: a tentative track whose score falls below this is dropped.
        promising_timeout_factor: a tentative track waits this many times longer once
            its score is positive (1: no difference). On night-40, 2.5 confirmed one
            more threat within 60 s and lowered GOSPA by 1 %, but added a false
            confirmed track and track ids; left at 1 until negative information
            (nodes that should have heard and did not) makes it safe.
        coast_after_s, delete_after_s: per class, silence before a confirmed
            track coasts, and before a coasting one is deleted. A coasting track
            emits nothing after its ``coasting`` event; it is kept to be taken up
            again (continuation). Drones: an hour, because acoustic coverage has
            gaps of tens of minutes (about 40 % of flight minutes are covered on
            night-40) and a Shahed flies 2.3-6.5 h (domain.md). On night-40 (three
            seeds) 900 s / 1,800 s / 3,600 s / 7,200 s gave 3.6 / 2.7 / 2.3 / 2.3
            track ids per threat, with the same GOSPA [measured].
        max_pos_sigma_m: a confirmed (not coasting) track whose position sigma exceeds
            this is deleted. A coasting track's growing uncertainty matters only to
            its continuation, which bounds it by the class's top speed.
        direct_max_silence_s: a coasting track silent for longer than this takes no
            report directly: over minutes its manoeuvre noise grows a gate of tens of
            km, and on night-40 what such tracks took was mostly false alarms and
            other drones (after 3-10 min of silence: 571 false-alarm reports, 108 of
            another object, 108 of its own). It is taken up again only by
            continuation (below). 150 s is ~7 km at a Shahed's speed, about the
            spacing of acoustic nodes (one per 43 km^2, domain.md). 30, 60, 90 and
            150 s measured alike on night-40 at first (three seeds; GOSPA per threat
            ~25 % lower than without the limit); with the final tracker, 150 s against
            90 s confirmed one more threat within 60 s on night-40 and 74 % against
            71 % on record-810 (false tracks 10 against 12), for GOSPA per threat
            +0.6 % and track ids per threat +0.03; 300 s: record-810 79 %, but GOSPA
            +4 % and ids 4.2 against 3.4 [measured].
        continuation_chi2: a tentative track about to be confirmed continues a coasting
            track (keeping its id) if its position gates that track's prediction
            (2 dof, 99.9 %: 13.82), it is reachable at the old track's top speed, and
            their classes agree; 0 turns continuation off (tracker.Tracker._continued).
        duplicate_chi2: a tentative track about to be confirmed whose position gates a
            confirmed track's (2 dof, 99.9 %) is that track's duplicate (e.g. acoustic
            reports, whose altitude prior is low, of a drone a radar tracks at 3 km): the
            confirmed track takes its sensors and it ends unseen; 0: off. On night-40 it
            removed one false confirmed track on seeds 7 and 11 each, record-810 13 -> 12,
            other metrics unchanged (5.99 and 13.82 alike) [measured].
        duplicate_any_class_near_loud: the duplicate's class must agree, except that a
            track of acoustic nodes and observers alone whose reports sound loud (jet or
            cruise), beside a jet or cruise missile's track, is that missile's whatever
            class its speed gives it (reports at nodes km apart make it slow); reports
            that sound like a Shahed keep their own track: attack:2023-12-28 false
            confirmed tracks 24 -> 21, attack:2024-08-25 20 -> 18, night-40 (three seeds)
            and record-810 unchanged [measured, docs/decisions/0023-loud-is-the-targets-property.md].
        emit_interval_s: a confirmed track's state is emitted at most this often.
        coast_emit_interval_s: a coasting track's predicted state is emitted this
            often; None (the default): only once, when it starts coasting. A
            drone's dog-leg makes a prediction minutes old worse than none: shown,
            it is a false position and the threat still counts as missed. The
            tracker keeps coasting tracks internally to take them up again.
        coast_state_at_last_report: the ``coasting`` event carries the track's state at
            its last report (time and position), not a prediction to the moment it
            starts coasting: a prediction over the silence is a guess that consumers
            extrapolate further. On night-40 (seeds default, 7, 11) GOSPA per threat
            967 / 989 / 972 -> 947 / 974 / 956 m; 70 % of the evaluation samples of the
            predicted coasting states had been more than 2 km from any threat [measured].
    """

    measurement: MeasurementConfig = field(default_factory=MeasurementConfig)
    gate_chi2: float = 16.27
    init_speed_sigma: dict[str, float] = field(default_factory=lambda: {
        "radar": 700.0, "position": 150.0, "adsb": 30.0, "acoustic": 50.0, "observer": 50.0})
    init_speed_sigma_loud: float = 250.0
    init_vspeed_sigma: dict[str, float] = field(default_factory=lambda: {
        "radar": 400.0, "position": 50.0, "adsb": 10.0, "acoustic": 5.0, "observer": 5.0})
    # Track score: a log-likelihood ratio, target vs false alarm (Blackman & Popoli,
    # "Design and Analysis of Modern Tracking Systems", 1999, ch. 6; a sequential test).
    score_init: dict[str, float] = field(default_factory=lambda: {
        # ln(new-target rate / false-alarm rate) of a report of each kind [est]: a night's
        # ~100 new drone tracks against ~26,000 acoustic false-alarm bursts (0.2 per
        # node-hour x 13,000 nodes x 10 h, domain.md); radar clutter ~0.05 plots/s per
        # radar against a new target every few minutes; partners and ADS-B are trusted.
        "radar": -2.8, "position": 0.0, "adsb": 20.0, "acoustic": -5.7, "observer": -4.0})
    pd: dict[str, float] = field(default_factory=lambda: {
        "radar": 0.9, "position": 0.8, "adsb": 0.99, "acoustic": 0.7, "observer": 0.3})
    clutter_density: dict[str, float] = field(default_factory=lambda: {
        # False reports per m^3 per s near a track [est]. Acoustic: 0.2 per node-hour over
        # 43 km^2 per node, spread over the 2 km of altitude a node can hear. Radar:
        # 0.1 plots per 2 s scan within 30 km and 1.5 km of height. Observers: rare false
        # sightings spread over the country. Partners: as radar.
        "acoustic": 0.2 / 3600 / 43e6 / 2000.0,
        "radar": 0.1 / 2.0 / (np.pi * 30e3**2) / 1500.0,
        "observer": 0.0005 * 10_000 / 3600 / 6e11 / 3000.0,
        "position": 1e-16,
        "adsb": 1e-16,
    })
    repeat_llr: dict[str, float | None] = field(default_factory=lambda: {
        # A further report from a sensor already on the track. None: score it like a first
        # report (a radar's clutter does not follow a target from scan to scan). Acoustic:
        # a false alarm repeats too (a moped is heard for several looks): ln(P(next look
        # hears | target) / P(next look hears | false alarm)) = ln(0.8 / 0.5) [est]; from
        # a node's ``long_burst_reports``-th report on, see ``long_burst_llr``.
        # Observers: their duplicates say nothing new.
        "radar": None, "position": None, "adsb": None, "acoustic": float(np.log(0.8 / 0.5)),
        "observer": 0.0})
    #: The c-th report of an acoustic node on a track updates it with c times its
    #: covariance: a node's burst is one fact, not c fixes (Tracker._repeat_r;
    #: docs/decisions/0016-acoustic-burst-one-fact.md).
    acoustic_repeat_r: bool = True
    acoustic_pass_geometry: bool = True
    pass_min_speed_mps: float = 15.0
    pass_max_speed_sigma_ratio: float = 0.5
    pass_gap_s: float = 30.0
    pass_loud_range_factor: float = 1.75
    pass_confirmed_only: bool = True
    long_burst_reports: int = 4
    long_burst_llr: float = float(np.log(0.8 / 0.25))
    score_window_s: tuple[float, float] = (2.0, 120.0)
    confirm_score: float = 9.2  # ln(1 / 1e-4): one false confirmation per 10,000 tentative tracks
    radar_clutter_ceiling_m: float = 15_000.0
    radar_high_clutter_factor: float = 1e-3
    height_fit_points: int = 24
    height_fit_window_s: float = 30.0
    height_fit_min_points: int = 5
    height_fit_min_span_s: float = 4.0
    height_fit_min_speed_mps: float = 600.0
    min_sensors: int = 2
    single_sensor_reports: int = 2
    single_sensor_span_s: float = 0.0
    min_span_s: float = 20.0
    span_waiver_score: float = 18.4
    backlog_age_s: float = 120.0
    tentative_timeout_s: dict[str, float] = field(default_factory=lambda: {
        "radar": 20.0, "position": 60.0, "adsb": 30.0, "acoustic": 180.0, "observer": 300.0})
    promising_timeout_factor: float = 1.0
    negative_pd: float = 0.2
    negative_radius_m: float = 800.0
    negative_max_sigma_m: float = 1500.0
    drop_score: float = -12.0
    coast_after_s: dict[str, float] = field(default_factory=lambda: {
        "drone": 30.0, "jet": 30.0, "cruise": 30.0, "ballistic": 10.0, "aircraft": 30.0, "unknown": 30.0})
    delete_after_s: dict[str, float] = field(default_factory=lambda: {
        "drone": 3600.0, "jet": 240.0, "cruise": 240.0, "ballistic": 45.0, "aircraft": 300.0,
        "unknown": 600.0})
    direct_max_silence_s: float = 150.0
    continuation_chi2: float = 13.82
    duplicate_chi2: float = 13.82
    duplicate_any_class_near_loud: bool = True
    max_pos_sigma_m: float = 15_000.0
    emit_interval_s: float = 10.0
    coast_emit_interval_s: float | None = None
    coast_state_at_last_report: bool = True

    def __post_init__(self) -> None:
        f = self.radar_high_clutter_factor
        if not (0.0 < f <= 1.0):
            raise ValueError(f"TrackerConfig.radar_high_clutter_factor must be in (0, 1] (1: off), got {f}")
        if self.height_fit_points < 3 or self.height_fit_min_points < 3:
            raise ValueError("TrackerConfig.height_fit_points and height_fit_min_points must be at least 3 "
                             f"(a quadratic), got {self.height_fit_points} and {self.height_fit_min_points}")
