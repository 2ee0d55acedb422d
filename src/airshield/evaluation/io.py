"""Read truth.ndjson, tracks.ndjson and alerts.ndjson into columnar tables.

Formats: docs/formats.md ("Ground truth", "Tracks", "Alerts"). Files can hold
millions of lines, so lines are decoded with msgspec in batches (one decode
call per batch of lines wrapped as a JSON array); only when a batch fails
are its lines decoded one by one, to name the bad line. Blank lines and lines
starting with ``#`` are ignored. Lines whose ``type`` is not one this reader
knows are skipped (and counted), so newer writers do not break evaluation;
a known line with a missing or bad field is an error naming file and line.

Times on the wire are RFC 3339 strings with an offset (a naive time is
rejected); in the tables they are float seconds since the Unix epoch. Positions
stay WGS84 degrees here: projecting is the caller's business.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Annotated, Any

import msgspec
import numpy as np

from airshield.sources.ndjson import LINE_ERRORS, explain

Time = Annotated[datetime, msgspec.Meta(tz=True)]

#: Lines decoded per msgspec call.
BATCH_LINES = 50_000


class EvaluationInputError(ValueError):
    """A truth / tracks / alerts line could not be read; names file and line."""


# --- wire structs (only the fields evaluation needs; others are ignored) ---


class _Theatre(msgspec.Struct):
    lat0: float
    lon0: float


class _Scenario(msgspec.Struct, tag="scenario", tag_field="type", kw_only=True, gc=False):
    start: Time
    end: Time
    name: str = ""
    seed: int | None = None
    regions: str | None = None
    theatre: _Theatre | None = None
    truth_step_s: float | None = None


class _Threat(msgspec.Struct, tag="threat", tag_field="type", kw_only=True, gc=False):
    id: str
    cls: str
    model: str | None = None
    civil: bool = False
    launch_time: Time | None = None


class _State(msgspec.Struct, tag="state", tag_field="type", kw_only=True, gc=False):
    id: str
    t: Time
    lat: float
    lon: float
    alt_m: float | None = None


class _Detect(msgspec.Struct, tag="detect", tag_field="type", kw_only=True, gc=False):
    id: str
    sensor: str
    first_time: Time
    first_arrival: Time
    last_arrival: Time | None = None
    n: int = 1


class _End(msgspec.Struct, tag="end", tag_field="type", kw_only=True, gc=False):
    id: str
    t: Time
    how: str = ""


class _Track(msgspec.Struct, tag="track", tag_field="type", kw_only=True, gc=False):
    t: Time
    id: str | int
    status: str
    lat: float
    lon: float
    vel_enu_mps: list[float] | None = None
    cls: str | None = None
    probs: msgspec.Raw = msgspec.Raw(b"null")  # decoded only if `cls` is missing
    threat: bool = False
    icao: str | None = None


class _Alert(msgspec.Struct, tag="alert", tag_field="type", kw_only=True, gc=False):
    t: Time
    region: str
    state: str
    event: str = ""
    alert_id: str | int | None = None


class _Typed(msgspec.Struct):
    type: str = ""


_TRUTH_TYPES = _Scenario | _Threat | _State | _Detect | _End


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while millions of acyclic objects are created (2× faster)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _blocks(path: Path) -> Iterator[tuple[int, list[bytes]]]:
    """(line number of the first, raw lines) in blocks of about BATCH_LINES lines."""
    with path.open("rb") as f:
        first = 1
        while True:
            lines = f.readlines(BATCH_LINES * 200)
            if not lines:
                return
            yield first, lines
            first += len(lines)


#: A blank line or a comment line somewhere in a block (then lines are filtered one by one).
_SKIP = re.compile(rb"\n[ \t\r]*[#\n]")


def _keep(line: bytes) -> bool:
    return bool(line) and not line.startswith(b"#")


def _decode_file(path: Path, union: Any, known: set[str]) -> tuple[list[Any], int]:
    """Decode every line of a file as ``union``: (objects in file order, skipped lines)."""
    batch_dec = msgspec.json.Decoder(list[union])
    line_dec = msgspec.json.Decoder(union)
    typed = msgspec.json.Decoder(_Typed)
    out: list[Any] = []
    skipped = 0
    with _gc_paused():
        for first, raw in _blocks(path):
            blank_or_comment = (
                not _keep(raw[0].strip())
                or not raw[-1].strip()
                or _SKIP.search(b"".join(raw)) is not None
            )
            lines = [x for x in map(bytes.strip, raw) if _keep(x)] if blank_or_comment else raw
            try:
                out.extend(batch_dec.decode(b"[" + b",".join(lines) + b"]"))
                continue
            except LINE_ERRORS:
                pass
            for n, line in enumerate(map(bytes.strip, raw), start=first):
                if not _keep(line):
                    continue
                try:
                    out.append(line_dec.decode(line))
                except LINE_ERRORS as exc:
                    try:
                        kind = typed.decode(line).type
                    except LINE_ERRORS:
                        kind = None
                    if kind is not None and kind not in known:
                        skipped += 1
                        continue
                    raise EvaluationInputError(str(explain(exc, path.name, n))) from None
    return out, skipped


def _ts(d: datetime | None) -> float:
    return float("nan") if d is None else d.timestamp()


def _col(rows: list[Any], name: str, dtype: Any = float) -> np.ndarray:
    """One attribute of every row as an array."""
    return np.fromiter(map(attrgetter(name), rows), dtype, len(rows))


def _times(rows: list[Any], name: str) -> np.ndarray:
    """One datetime attribute of every row as float seconds since the epoch."""
    return np.fromiter(map(datetime.timestamp, map(attrgetter(name), rows)), float, len(rows))


def _index(keys: list[str], index: dict[str, int]) -> np.ndarray:
    return np.fromiter(map(index.__getitem__, keys), np.intp, len(keys))


# --- tables ---


@dataclass(frozen=True)
class Scenario:
    """The truth file's ``scenario`` line; times in s since the epoch."""

    name: str
    seed: int | None
    start: float
    end: float
    regions: str | None
    lat0: float | None
    lon0: float | None
    truth_step_s: float | None


@dataclass(frozen=True)
class Truth:
    """Ground truth as columns.

    Attributes:
        scenario: the scenario line.
        ids: (n_obj,) object ids, sorted; every ``obj`` index points here.
        cls: (n_obj,) true class (civil aircraft: ``aircraft``).
        model: (n_obj,) model name ("" if unknown).
        civil: (n_obj,) bool, civil aircraft (not a threat).
        first_report: (n_obj,) earliest ``first_arrival`` over the object's
            ``detect`` lines, s; NaN if no sensor ever reported it.
        first_detection: (n_obj,) earliest ``first_time`` (measurement), s; NaN if none.
        obj, t, lat, lon: (N,) true states (object index, s, degrees), sorted
            by (obj, t).
        skipped_lines: lines of unknown ``type``.
    """

    scenario: Scenario
    ids: list[str]
    cls: np.ndarray
    model: np.ndarray
    civil: np.ndarray
    first_report: np.ndarray
    first_detection: np.ndarray
    obj: np.ndarray
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    skipped_lines: int = 0

    @property
    def threat_ids(self) -> list[str]:
        """Ids of the true threats (not civil), sorted."""
        return [i for i, c in zip(self.ids, self.civil, strict=True) if not c]


def read_truth(path: str | Path) -> Truth:
    """Read ``truth.ndjson`` (docs/formats.md, "Ground truth")."""
    path = Path(path)
    objs, skipped = _decode_file(
        path, _TRUTH_TYPES, {"scenario", "threat", "state", "detect", "end"}
    )
    scen = next((o for o in objs if isinstance(o, _Scenario)), None)
    if scen is None:
        raise EvaluationInputError(f"{path.name}: no `scenario` line")
    if _ts(scen.end) <= _ts(scen.start):
        raise EvaluationInputError(f"{path.name}: the scenario ends ({scen.end}) before it starts ({scen.start}): "
                                   "nothing could be scored")
    threats = {o.id: o for o in objs if isinstance(o, _Threat)}
    states = [o for o in objs if isinstance(o, _State)]
    detects = [o for o in objs if isinstance(o, _Detect)]
    ids = sorted(set(threats) | {s.id for s in states})
    index = {i: n for n, i in enumerate(ids)}
    n_obj = len(ids)
    first_report = np.full(n_obj, np.nan)
    first_detection = np.full(n_obj, np.nan)
    for d in detects:
        j = index.get(d.id)
        if j is None:
            continue
        first_report[j] = np.fmin(first_report[j], _ts(d.first_arrival))
        first_detection[j] = np.fmin(first_detection[j], _ts(d.first_time))
    obj = _index(list(map(attrgetter("id"), states)), index)
    t = _times(states, "t")
    order = np.lexsort((t, obj))
    th = scen.theatre
    return Truth(
        scenario=Scenario(
            scen.name,
            scen.seed,
            _ts(scen.start),
            _ts(scen.end),
            scen.regions,
            th.lat0 if th else None,
            th.lon0 if th else None,
            scen.truth_step_s,
        ),  # fmt: skip
        ids=ids,
        cls=np.array([threats[i].cls if i in threats else "unknown" for i in ids], dtype=object),
        model=np.array(
            [(threats[i].model or "") if i in threats else "" for i in ids], dtype=object
        ),
        civil=np.array([threats[i].civil if i in threats else False for i in ids], dtype=bool),
        first_report=first_report,
        first_detection=first_detection,
        obj=obj[order],
        t=t[order],
        lat=_col(states, "lat")[order],
        lon=_col(states, "lon")[order],
        skipped_lines=skipped,
    )


@dataclass(frozen=True)
class Tracks:
    """Track states as columns, in file order.

    Attributes:
        ids: distinct track ids (as strings), sorted; ``track`` indexes here.
        track: (N,) track index.
        t: (N,) state time, s.
        status: (N,) status string.
        lat, lon: (N,) degrees.
        v_east, v_north: (N,) m/s (0 when the velocity is null).
        cls: (N,) most probable class (from ``cls``, else the argmax of
            ``probs``, else ``unknown``).
        threat: (N,) bool, shown as a threat.
        skipped_lines: lines of other ``type``.
    """

    ids: list[str]
    track: np.ndarray
    t: np.ndarray
    status: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    v_east: np.ndarray
    v_north: np.ndarray
    cls: np.ndarray
    threat: np.ndarray
    skipped_lines: int = 0


_probs = msgspec.json.Decoder(dict[str, float] | None)


def _cls(tr: _Track) -> str:
    if tr.cls:
        return tr.cls
    probs = _probs.decode(tr.probs)
    if probs:
        return max(sorted(probs), key=lambda k: probs[k])
    return "unknown"


def read_tracks(path: str | Path) -> Tracks:
    """Read ``RUNDIR/tracks.ndjson`` (docs/formats.md, "Tracks")."""
    path = Path(path)
    rows, skipped = _decode_file(path, _Track, {"track"})
    n = len(rows)
    sid = list(map(str, map(attrgetter("id"), rows)))
    ids = sorted(set(sid))
    zero = (0.0, 0.0)
    vel = [v if v and len(v) >= 2 else zero for v in map(attrgetter("vel_enu_mps"), rows)]
    cls = list(map(attrgetter("cls"), rows))
    for i in (i for i, c in enumerate(cls) if not c):
        cls[i] = _cls(rows[i])
    return Tracks(
        ids=ids,
        track=_index(sid, {i: k for k, i in enumerate(ids)}),
        t=_times(rows, "t"),
        status=np.array(list(map(attrgetter("status"), rows)), dtype=object),
        lat=_col(rows, "lat"),
        lon=_col(rows, "lon"),
        v_east=np.fromiter(map(itemgetter(0), vel), float, n),
        v_north=np.fromiter(map(itemgetter(1), vel), float, n),
        cls=np.array(cls, dtype=object),
        threat=_col(rows, "threat", bool),
        skipped_lines=skipped,
    )


@dataclass(frozen=True)
class AlertEvents:
    """Alert events as columns, in file order (times in s)."""

    t: np.ndarray
    region: list[str]
    event: list[str]
    state: list[str]
    alert_id: list[str]
    skipped_lines: int = 0


def read_alerts(path: str | Path) -> AlertEvents:
    """Read ``RUNDIR/alerts.ndjson`` (docs/formats.md, "Alerts")."""
    path = Path(path)
    rows, skipped = _decode_file(path, _Alert, {"alert"})
    return AlertEvents(
        t=_times(rows, "t"),
        region=[r.region for r in rows],
        event=[r.event for r in rows],
        state=[r.state for r in rows],
        alert_id=["" if r.alert_id is None else str(r.alert_id) for r in rows],
        skipped_lines=skipped,
    )
