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

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
import numpy as np

Time = Annotated[datetime, msgspec.Meta(tz=True)]

#: Lines decoded per msgspec call.
BATCH_LINES = 50_000


class EvaluationInputError(ValueError):
    """A truth / tracks / alerts line could not be read; names file and line."""


# --- wire structs (only the fields evaluation needs; others are ignored) ---


class _Theatre(msgspec.Struct):
    lat0: float
    lon0: float


class _Scenario(msgspec.Struct, tag="scenario", tag_field="type", kw_only=True):
    start: Time
    end: Time
    name: str = ""
    seed: int | None = None
    regions: str | None = None
    theatre: _Theatre | None = None
    truth_step_s: float | None = None


class _Threat(msgspec.Struct, tag="threat", tag_field="type", kw_only=True):
    id: str
    cls: str
    model: str | None = None
    civil: bool = False
    launch_time: Time | None = None


class _State(msgspec.Struct, tag="state", tag_field="type", kw_only=True):
    id: str
    t: Time
    lat: float
    lon: float
    alt_m: float | None = None


class _Detect(msgspec.Struct, tag="detect", tag_field="type", kw_only=True):
    id: str
    sensor: str
    first_time: Time
    first_arrival: Time
    last_arrival: Time | None = None
    n: int = 1


class _End(msgspec.Struct, tag="end", tag_field="type", kw_only=True):
    id: str
    t: Time
    how: str = ""


class _Track(msgspec.Struct, tag="track", tag_field="type", kw_only=True):
    t: Time
    id: str | int
    status: str
    lat: float
    lon: float
    vel_enu_mps: list[float] | None = None
    cls: str | None = None
    probs: dict[str, float] | None = None
    threat: bool = False
    icao: str | None = None


class _Alert(msgspec.Struct, tag="alert", tag_field="type", kw_only=True):
    t: Time
    region: str
    state: str
    event: str = ""
    alert_id: str | int | None = None


class _Typed(msgspec.Struct):
    type: str = ""


_TRUTH_TYPES = _Scenario | _Threat | _State | _Detect | _End


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            line = raw.strip()
            if line and not line.startswith(b"#"):
                yield n, line


def _decode_file(path: Path, union: Any, known: set[str]) -> tuple[list[Any], int]:
    """Decode every line of a file as ``union``: (objects in file order, skipped lines)."""
    batch_dec = msgspec.json.Decoder(list[union])
    line_dec = msgspec.json.Decoder(union)
    typed = msgspec.json.Decoder(_Typed)
    out: list[Any] = []
    skipped = 0
    batch: list[tuple[int, bytes]] = []

    def flush() -> None:
        nonlocal skipped
        if not batch:
            return
        try:
            out.extend(batch_dec.decode(b"[" + b",".join(line for _, line in batch) + b"]"))
        except (msgspec.DecodeError, msgspec.ValidationError):
            for n, line in batch:
                try:
                    out.append(line_dec.decode(line))
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    try:
                        kind = typed.decode(line).type
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        kind = None
                    if kind is not None and kind not in known:
                        skipped += 1
                        continue
                    raise EvaluationInputError(f"{path.name}:{n}: {exc}") from None
        batch.clear()

    for item in _lines(path):
        batch.append(item)
        if len(batch) >= BATCH_LINES:
            flush()
    flush()
    return out, skipped


def _ts(d: datetime | None) -> float:
    return float("nan") if d is None else d.timestamp()


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
    objs, skipped = _decode_file(path, _TRUTH_TYPES, {"scenario", "threat", "state", "detect", "end"})
    scen = next((o for o in objs if isinstance(o, _Scenario)), None)
    if scen is None:
        raise EvaluationInputError(f"{path.name}: no `scenario` line")
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
    n = len(states)
    obj = np.fromiter((index[s.id] for s in states), np.intp, n)
    t = np.fromiter((s.t.timestamp() for s in states), float, n)
    order = np.lexsort((t, obj))
    th = scen.theatre
    return Truth(
        scenario=Scenario(
            scen.name, scen.seed, _ts(scen.start), _ts(scen.end), scen.regions,
            th.lat0 if th else None, th.lon0 if th else None, scen.truth_step_s,
        ),  # fmt: skip
        ids=ids,
        cls=np.array([threats[i].cls if i in threats else "unknown" for i in ids], dtype=object),
        model=np.array([(threats[i].model or "") if i in threats else "" for i in ids], dtype=object),
        civil=np.array([threats[i].civil if i in threats else False for i in ids], dtype=bool),
        first_report=first_report,
        first_detection=first_detection,
        obj=obj[order],
        t=t[order],
        lat=np.fromiter((s.lat for s in states), float, n)[order],
        lon=np.fromiter((s.lon for s in states), float, n)[order],
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


def _cls(tr: _Track) -> str:
    if tr.cls:
        return tr.cls
    if tr.probs:
        return max(sorted(tr.probs), key=lambda k: tr.probs[k])
    return "unknown"


def read_tracks(path: str | Path) -> Tracks:
    """Read ``RUNDIR/tracks.ndjson`` (docs/formats.md, "Tracks")."""
    path = Path(path)
    rows, skipped = _decode_file(path, _Track, {"track"})
    n = len(rows)
    sid = [str(r.id) for r in rows]
    ids = sorted(set(sid))
    index = {i: k for k, i in enumerate(ids)}
    vel = [r.vel_enu_mps if r.vel_enu_mps and len(r.vel_enu_mps) >= 2 else (0.0, 0.0) for r in rows]
    return Tracks(
        ids=ids,
        track=np.fromiter((index[i] for i in sid), np.intp, n),
        t=np.fromiter((r.t.timestamp() for r in rows), float, n),
        status=np.array([r.status for r in rows], dtype=object),
        lat=np.fromiter((r.lat for r in rows), float, n),
        lon=np.fromiter((r.lon for r in rows), float, n),
        v_east=np.fromiter((v[0] for v in vel), float, n),
        v_north=np.fromiter((v[1] for v in vel), float, n),
        cls=np.array([_cls(r) for r in rows], dtype=object),
        threat=np.fromiter((bool(r.threat) for r in rows), bool, n),
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
        t=np.fromiter((r.t.timestamp() for r in rows), float, len(rows)),
        region=[r.region for r in rows],
        event=[r.event for r in rows],
        state=[r.state for r in rows],
        alert_id=["" if r.alert_id is None else str(r.alert_id) for r in rows],
        skipped_lines=skipped,
    )
