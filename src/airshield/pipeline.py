"""Replay a report stream through the core and write its outputs (the shell of ``airshield run``).

Reports are fed to the tracker in arrival order, in batches of
``batch_s`` seconds of arrival time, with the simulated clock at the end of
each batch: exactly what a live deployment would have done, so the same file
gives the same ``tracks.ndjson``, byte for byte.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

from airshield.model import CLASSES, Report
from airshield.sources.ndjson import LineError, read_reports
from airshield.tracking import Tracker, TrackerConfig, TrackEvent

#: Default batch length in arrival time, s: one acoustic look period [est]. Longer
#: batches cost latency (at most this much, against warning leads of minutes) and
#: save per-batch work; a live service uses the same value so replays match it.
BATCH_S = 5.0
#: After the last report the clock runs on in these steps until no track is left.
CLOSE_STEP_S = 10.0
CLOSE_STEPS = 180


class TrackLine(msgspec.Struct):
    """One line of tracks.ndjson (docs/formats.md)."""

    type: str
    t: object
    id: str
    status: str
    event: str
    lat: float
    lon: float
    alt_m: float
    vel_enu_mps: tuple[float, float, float]
    pos_sigma_m: float
    cls: str
    probs: dict[str, float]
    threat: bool
    icao: str | None
    sensors: int
    reports: int


@dataclass
class RunStats:
    """What a run did. Times are wall-clock seconds; ``step_s`` holds each batch's processing time."""

    reports: int = 0
    rejected: int = 0
    batches: int = 0
    events: int = 0
    track_lines: int = 0
    tracks_confirmed: int = 0
    wall_s: float = 0.0
    step_s: list[float] = field(default_factory=list)

    @property
    def reports_per_s(self) -> float:
        return self.reports / self.wall_s if self.wall_s > 0 else float("nan")

    def step_percentile(self, q: float) -> float:
        return float(np.percentile(self.step_s, q)) if self.step_s else float("nan")


def batches(reports: list[Report], batch_s: float) -> Iterable[tuple[list[Report], float]]:
    """Split arrival-ordered reports into (batch, now) with ``now`` the batch's closing time."""
    if not reports:
        return
    arrivals = np.array([r.arrival.timestamp() for r in reports])
    keys = np.floor(arrivals / batch_s).astype(np.int64)
    cuts = np.flatnonzero(np.diff(keys)) + 1
    start = 0
    for end in [*cuts.tolist(), len(reports)]:
        yield reports[start:end], float((keys[start] + 1) * batch_s)
        start = end


def encode_events(events: list[TrackEvent], theatre, enc: msgspec.json.Encoder, buf: bytearray,
                  north: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> int:
    """Append the NDJSON lines of the non-tentative events to ``buf``; returns the count.

    ``north(lat, lon)``: the grid convergence (rad) of arrays of points, e.g. a
    tracker's cached ``converter.north_many``; by default computed with the theatre.
    """
    from airshield.model import from_epoch

    keep = [e for e in events if e.state.status != "tentative"]
    if not keep:
        return 0
    x = np.array([e.state.x for e in keep])
    lat, lon = theatre.to_latlon(x[:, 0], x[:, 1])
    lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
    g = np.atleast_1d(theatre.north_angle(lat, lon)) if north is None else north(lat, lon)
    c, s = np.cos(g), np.sin(g)
    ve = x[:, 3] * c - x[:, 4] * s
    vn = x[:, 3] * s + x[:, 4] * c
    # Round in arrays, then build the lines from plain Python numbers.
    # (+ 0.0 turns a rounded -0.0 into 0.0: the same number, written the same way.)
    lat_r = np.round(lat, 6).tolist()
    lon_r = np.round(lon, 6).tolist()
    alt_r = (np.round(x[:, 2], 1) + 0.0).tolist()
    ve_r = (np.round(ve, 2) + 0.0).tolist()
    vn_r = (np.round(vn, 2) + 0.0).tolist()
    vu_r = (np.round(x[:, 5], 2) + 0.0).tolist()
    sig_r = np.round([e.state.pos_sigma_m for e in keep], 1).tolist()
    probs_r = np.round([e.state.probs for e in keep], 4).tolist()
    times = [from_epoch(round(e.state.t, 3)) for e in keep]
    for i, e in enumerate(keep):
        st = e.state
        line = TrackLine(
            "track", times[i], st.id, st.status, e.kind, lat_r[i], lon_r[i], alt_r[i],
            (ve_r[i], vn_r[i], vu_r[i]), sig_r[i], st.cls, dict(zip(CLASSES, probs_r[i], strict=True)),
            st.threat, st.icao, st.sensors, st.reports,
        )
        enc.encode_into(line, buf, len(buf))
        buf += b"\n"
    return len(keep)


def run(
    reports: list[Report],
    theatre,
    out_dir: Path | None,
    *,
    config: TrackerConfig | None = None,
    batch_s: float = BATCH_S,
    kinds: set[str] | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunStats:
    """Track ``reports`` (arrival order) and write ``out_dir/tracks.ndjson`` (if given).

    ``kinds`` keeps only those report kinds (for ablations: acoustic only, …).
    """
    if kinds is not None:
        reports = [r for r in reports if _kind(r) in kinds]
    tracker = Tracker(theatre, config)
    tracker.register_sensors(reports)  # the sensor registry a live service has
    # The reports live as long as the run: move them (and everything loaded so far)
    # out of the collector's sight, so its full scans stay short.
    gc.collect()
    gc.freeze()
    # A replay makes millions of short-lived small objects (events, states) and no
    # cycles to speak of: collect less often (default threshold 700) [measured: -10 % time].
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    stats = RunStats(reports=len(reports))
    enc = msgspec.json.Encoder()
    buf = bytearray()
    f = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        f = (out_dir / "tracks.ndjson").open("wb")
    confirmed: set[str] = set()
    pending: list[TrackEvent] = []
    t_all = time.perf_counter()
    n_done = 0
    try:
        for batch, now in batches(reports, batch_s):
            t0 = time.perf_counter()
            events = tracker.process(batch, now)
            stats.step_s.append(time.perf_counter() - t0)
            stats.batches += 1
            stats.events += len(events)
            for e in events:
                if e.kind == "confirmed":
                    confirmed.add(e.state.id)
                if e.state.status != "tentative":
                    pending.append(e)
            # Written in chunks: one projection call for many states.
            if f is not None and len(pending) >= 2000:
                stats.track_lines += encode_events(pending, theatre, enc, buf, tracker.converter.north_many)
                pending.clear()
                f.write(buf)
                buf.clear()
            n_done += len(batch)
            if progress and stats.batches % 200 == 0:
                progress(n_done / max(len(reports), 1))
        # Close the night: the clock runs on (no more reports) until every track has ended.
        if reports:
            t = reports[-1].arrival.timestamp()
            for k in range(1, CLOSE_STEPS + 1):
                pending += tracker.process([], t + k * CLOSE_STEP_S)
                if not tracker.tracks():
                    break
        if f is not None:
            stats.track_lines += encode_events(pending, theatre, enc, buf, tracker.converter.north_many)
            f.write(buf)
    finally:
        if f is not None:
            f.close()
    stats.wall_s = time.perf_counter() - t_all
    gc.set_threshold(*thresholds)
    gc.unfreeze()
    stats.tracks_confirmed = len(confirmed)
    if progress:
        progress(1.0)
    return stats


def _kind(r: Report) -> str:
    return type(r).__struct_config__.tag  # type: ignore[attr-defined]


def read_and_run(path: Path, theatre, out_dir: Path | None, **kw) -> tuple[RunStats, list[LineError]]:
    """Read a reports file (keeping every valid line) and :func:`run` it."""
    reports, errors = read_reports(path)
    stats = run(reports, theatre, out_dir, **kw)
    stats.rejected = len(errors)
    return stats, errors
