"""A perfect tracker for benchmarks: what the warning and alert stages do with a perfect picture.

:class:`OracleTracker` stands in for :class:`airshield.tracking.Tracker` (the
same ``process`` / ``register_sensors`` / ``tracks`` calls) and ignores the
reports: it reads the night's truth.ndjson and shows every threat (not civil
aircraft) from the moment of its first report (the earliest ``first_arrival``
of its `detect` lines) with its true position and velocity, its true class
and corroborated by two sensors, as a ``confirmed`` track updated every
``emit_s``. When the truth ends (the drone hit its target or was downed) the
track is ``deleted``: a real tracker cannot know more than that it went
silent. Threats that no sensor reported never appear.

It separates what the prediction and the alert policy cost from what the
tracker's picture costs (``bench_alerts.py --oracle``). Benchmark-only: the
product never reads the truth.
"""

from __future__ import annotations

import collections
from pathlib import Path

import msgspec
import numpy as np

from airshield.model import CLASSES, parse_time
from airshield.tracking import TrackEvent, TrackState

#: Position and velocity sigma of an oracle track (a good radar track), m and m/s.
POS_SIGMA_M = 100.0
VEL_SIGMA_MPS = 2.0


class OracleTracker:
    """Every reported threat's true state (see the module doc).

    Args:
        truth_path: the night's truth.ndjson.
        theatre: the metric frame (airshield.geo.Theatre).
        emit_s: a track's state is emitted this often, s.
    """

    def __init__(self, truth_path: Path, theatre, emit_s: float = 10.0):
        from airshield.tracking.measurement import Converter

        self.emit_s = emit_s
        self.converter = Converter(theatre)  # the outputs use its cached grid convergence
        cls: dict[str, str] = {}
        first: dict[str, float] = {}
        rows: dict[str, list[tuple[float, float, float, float]]] = collections.defaultdict(list)
        for line in Path(truth_path).read_bytes().splitlines():
            r = msgspec.json.decode(line)
            kind = r.get("type")
            if kind == "threat" and not r["civil"]:
                cls[r["id"]] = r["cls"]
            elif kind == "detect":
                t = parse_time(r["first_arrival"]).timestamp()
                first[r["id"]] = min(first.get(r["id"], t), t)
            elif kind == "state":
                rows[r["id"]].append((parse_time(r["t"]).timestamp(), r["lat"], r["lon"], r["alt_m"]))
        self._tracks = []
        for tid in sorted(cls):
            if tid not in first or len(rows[tid]) < 2:
                continue
            a = np.array(sorted(rows[tid]))
            x, y = theatre.to_xy(a[:, 1], a[:, 2])
            t = a[:, 0]
            xyz = np.column_stack([x, y, a[:, 3]])
            v = np.gradient(xyz, t, axis=0)  # the theatre frame's velocity, m/s
            probs = tuple(1.0 if c == cls[tid] else 0.0 for c in CLASSES)
            self._tracks.append({"id": tid, "t": t, "xyz": xyz, "v": v, "probs": probs, "cls": cls[tid],
                                 "start": max(first[tid], float(t[0])), "shown": False, "ended": False,
                                 "last": -np.inf})

    def register_sensors(self, reports) -> None:
        """Nothing to learn: the oracle knows where the threats are."""

    def _state(self, tr: dict, t: float, status: str) -> TrackState:
        ts = tr["t"]
        t = min(max(t, float(ts[0])), float(ts[-1]))
        x = [float(np.interp(t, ts, tr["xyz"][:, i])) for i in range(3)]
        v = [float(np.interp(t, ts, tr["v"][:, i])) for i in range(3)]
        return TrackState(tr["id"], t, status, (*x, *v), POS_SIGMA_M, tr["probs"], tr["cls"], status != "deleted",
                          None, 2, 2, VEL_SIGMA_MPS, ("acoustic", "radar"))

    def process(self, reports, now: float) -> list[TrackEvent]:
        """The track events up to ``now`` (the reports are not looked at)."""
        events = []
        for tr in self._tracks:
            if tr["ended"] or now < tr["start"]:
                continue
            end = float(tr["t"][-1])
            if now > end:
                if tr["shown"]:
                    events.append(TrackEvent("deleted", self._state(tr, end, "deleted")))
                tr["ended"] = True
            elif not tr["shown"]:
                tr["shown"], tr["last"] = True, now
                events.append(TrackEvent("confirmed", self._state(tr, now, "confirmed")))
            elif now - tr["last"] >= self.emit_s:
                tr["last"] = now
                events.append(TrackEvent("updated", self._state(tr, now, "confirmed")))
        return events

    def tracks(self) -> list[TrackState]:
        """The tracks shown now (for the runtime's idle check)."""
        return [self._state(tr, tr["last"], "confirmed") for tr in self._tracks if tr["shown"] and not tr["ended"]]
