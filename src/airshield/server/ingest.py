"""``POST /v1/ingest``: sensors' reports in, durable in the event log before the reply.

A request is a JSON array of reports or NDJSON (``Content-Type:
application/x-ndjson``), each report in the format of docs/formats.md. What
happens to it, in order (each step names its status code):

1. **413** if the body is larger than ``max_body_bytes`` or holds more than
   ``max_items`` reports (checked while reading: a huge body is never buffered).
2. **401/403**: a ``sensor`` token is needed; reports of sensors not registered
   to that token are rejected item by item (403 when none is).
3. **409** if the ``Idempotency-Key`` was used before by this token (the first
   reply is returned with it), or when every report of the batch had been
   accepted before (a replayed request).
4. Each item is decoded on its own: a bad item is listed in ``rejected`` with
   its index, its line (NDJSON line, or index + 1 in a JSON array) and what is
   wrong where; the valid items are kept. **422** when no item is valid.
5. **429** with ``Retry-After`` when a sensor's token bucket (``rate_per_s``,
   ``rate_burst``) cannot take its reports; nothing of the batch is taken.
6. The valid reports go to the engine, which drops duplicates (same sensor,
   kind, measurement time and content as an accepted report, also across
   restarts) and appends the rest to the log; only then the **200** reply:
   ``{"accepted", "duplicates", "rejected", "last_seq"}``.

In ``wall`` clock mode the service stamps each report's arrival with its own
clock (a measurement time more than ``max_skew_s`` ahead is rejected); in
``data`` mode the arrival is the sender's and drives the clock. In both, a
report measured more than ``max_report_age_s`` before the service clock is
rejected (too old to warn with; its duplicate hash is no longer kept).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Annotated

import msgspec
import numpy as np
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from airshield.geo.theatre import Theatre, beyond_reach, local_distance_m
from airshield.model import format_time, from_epoch
from airshield.server.auth import require
from airshield.server.engine import DATA_MAX_JUMP_S
from airshield.server.state import FIXED_KINDS, Principal
from airshield.sources.ndjson import ReportDecodeError, decode_report, report_hash

router = APIRouter(tags=["ingest"])

_raw_list = msgspec.json.Decoder(list[msgspec.Raw])


class Rejected(BaseModel):
    index: int
    line: int
    field: str = "$"
    error: str


#: At most this many bad items are listed in a reply (``rejected_total`` counts them all).
MAX_LISTED = 1000


class IngestReply(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[Rejected]
    rejected_total: int = 0
    last_seq: int


class TokenBuckets:
    """Per-sensor token buckets (wall time): ``rate`` reports/s, at most ``burst`` saved up."""

    def __init__(self, rate: float | None, burst: float):
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._b: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, counts: dict[str, int], now: float | None = None) -> float:
        """Take ``counts`` (sensor -> reports) if every bucket allows; else take nothing and
        return the seconds to wait (> 0)."""
        if self.rate is None:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            levels = {}
            wait = 0.0
            for sid, n in counts.items():
                level, t = self._b.get(sid, (self.burst, now))
                level = min(self.burst, level + (now - t) * self.rate)
                levels[sid] = level
                if n > level:
                    wait = max(wait, (n - level) / self.rate if n <= self.burst else math.inf)
            if wait > 0:
                return wait
            for sid, n in counts.items():
                self._b[sid] = (levels[sid] - n, now)
        return 0.0


#: A fixed sensor (an acoustic node, a radar) whose report puts it farther than this from where
#: it was registered is refused: its token (or the gateway that holds it) is misused, or the
#: sensor was moved without being registered again. [est: a registered position is surveyed to
#: metres; 1 km leaves room for a sloppy one.]
FIXED_SENSOR_MOVE_M = 1000.0
_THEATRE = Theatre.ukraine()


def registration_problem(sensor, report, theatre=None) -> tuple[str, str] | None:
    """(field, error) if ``report`` does not fit its sensor's registration (``sensor``, a
    state.Sensor): another kind of report, a fixed sensor somewhere else, or a position out
    of the theatre's reach (geo.theatre.REACH_M); else None.

    A token lets a sensor report what it is registered as, from where it is registered: a
    leaked observer-app token must not inject precise "radar" plots, nor a node claim to
    hear from across the country.
    """
    kind = type(report).__struct_config__.tag
    if sensor.kind != kind:
        return "kind", (f"sensor {report.sensor!r} is registered as {sensor.kind}, not {kind} "
                        "(register it again if it changed)")
    if (kind in FIXED_KINDS and sensor.lat is not None and sensor.lon is not None
            and local_distance_m(sensor.lat, sensor.lon, report.lat, report.lon) > FIXED_SENSOR_MOVE_M):
        # How far is not said: three tries would tell a leaked token's holder where the node is.
        return "lat", (f"sensor {report.sensor!r} reports from farther than {FIXED_SENSOR_MOVE_M / 1000:g} km "
                       "from where it is registered (register it again if it moved)")
    far = beyond_reach(float((theatre or _THEATRE).distance_from_centre_m(report.lat, report.lon)))
    if far:
        return "lat", f"the report {far}: a broken position, or latitude and longitude swapped"
    return None


class _BadBody(ValueError):
    """A body that is no list of reports at all."""


#: The counts of a reply that took nothing (a 422's body holds them too, beside `detail`).
_NONE_TAKEN = {"accepted": 0, "duplicates": 0, "rejected": [], "rejected_total": 0, "last_seq": 0}


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is {int(declared):,} bytes; at most {limit:,} are taken per request")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise HTTPException(413, f"the body is over {limit:,} bytes, the most taken per request")
    return bytes(buf)


#: A measurement time before this (2000-01-01, s since the epoch) is a sensor clock that was
#: never set (it counts from 1970). On the data clock no age check could refuse it before
#: the clock has started, and it would pin the clock to 1970.
CLOCK_NOT_SET_BEFORE = 946_684_800.0


def _items(body: bytes, content_type: str) -> list[tuple[int, int, bytes]]:
    """(index, line, raw item) of the body's items.

    As in a reports file (docs/formats.md): blank and ``#`` comment lines of NDJSON are no
    items, and a byte-order mark before the first is no part of it."""
    if body.startswith(b"\x1f\x8b"):
        raise _BadBody("the body is gzip-compressed: send it uncompressed")
    body = body.removeprefix(b"\xef\xbb\xbf")
    if "ndjson" in content_type or "jsonlines" in content_type or "json-seq" in content_type:
        out = []
        for n, line in enumerate(body.split(b"\n"), start=1):
            line = line.removeprefix(b"\xef\xbb\xbf")  # bodies joined with cat: each may begin with one
            stripped = line.strip()
            if stripped and not stripped.startswith(b"#"):
                out.append((len(out), n, line))
        return out
    stripped = body.lstrip()
    if not stripped:
        return []
    if not stripped.startswith(b"["):
        # One object or NDJSON sent as application/json: accept it as NDJSON (be liberal in what is taken).
        return _items(body, "ndjson")
    try:
        raw = [bytes(r) for r in _raw_list.decode(body)]
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        # One bad element (a NaN, an unquoted word) must not cost the valid ones: split the
        # array at its top-level commas and let each element be judged on its own.
        raw = None if isinstance(exc, RecursionError) else _array_elements(body)
        if raw is None:
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise _BadBody(f"the body is not a JSON array of reports: {why}") from None
    return [(i, i + 1, r) for i, r in enumerate(raw)]


def _array_elements(body: bytes) -> list[bytes] | None:
    """The raw top-level elements of a JSON array whose elements may not all be JSON.

    Only the array's own structure must be sound (strings closed, brackets and braces
    balanced, nothing after its closing bracket); an element like ``{"range_m": NaN}`` comes
    back as its bytes, for the report decoder to refuse with its index. None when the
    structure itself is broken (an unclosed string or bracket, an empty element): then
    nothing can be told apart. A trailing comma before the closing bracket is taken as
    written. Vectorised (numpy over the bytes): an 8 MiB body took 0.7 s on a busy 2-core
    machine, in the worker thread that calls it.
    """
    start = body.find(b"[")
    if start < 0:
        return None
    a = np.frombuffer(body, dtype=np.uint8)
    idx = np.arange(a.size, dtype=np.int32)  # (a body is at most a few MiB)
    # A quote opens or closes a string unless an odd run of backslashes escapes it.
    not_bs = a != 0x5C
    run = idx - np.maximum.accumulate(np.where(not_bs, idx, np.int32(-1)))  # backslashes ending at each byte
    quote = a == 0x22
    quote[1:] &= (run[:-1] & 1) == 0
    n_quotes = np.cumsum(quote, dtype=np.int32)
    if n_quotes[-1] % 2:
        return None  # an unclosed string
    outside = (n_quotes & 1) == 0  # (an opening quote and a string's bytes are inside)
    outside[:start] = False
    opens = ((a == 0x5B) | (a == 0x7B)) & outside
    closes = ((a == 0x5D) | (a == 0x7D)) & outside
    depth = np.cumsum(opens.view(np.int8) - closes.view(np.int8), dtype=np.int32)  # after each byte
    if depth.size and depth.min() < 0:
        return None
    done = np.flatnonzero(closes & (depth == 0))
    if done.size == 0 or body[int(done[0]) + 1:].strip():
        return None  # unclosed, or something after the array
    end = int(done[0])
    commas = np.flatnonzero((a[:end] == 0x2C) & outside[:end] & (depth[:end] == 1)).tolist()
    starts, stops = [start + 1, *(c + 1 for c in commas)], [*commas, end]
    out: list[bytes] = []
    for k, (b0, b1) in enumerate(zip(starts, stops, strict=True)):
        item = body[b0:b1].strip()
        if item:
            out.append(item)
        elif not (k == len(stops) - 1 and (out or k == 0)):
            return None  # an empty element: "[,", "[a,,b]"
    return out


@router.post(
    "/v1/ingest",
    response_model=IngestReply,
    summary="Ingest a batch of sensor reports (JSON array or NDJSON)",
    responses={
        401: {"description": "no or unknown token"}, 403: {"description": "not a sensor token for these sensors"},
        409: {"description": "replayed request (Idempotency-Key seen, or every report accepted before)"},
        413: {"description": "body or batch too large"}, 422: {"description": "no valid report in the batch"},
        429: {"description": "rate limited: see Retry-After"},
    },
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        "application/x-ndjson": {"schema": {"type": "string"}}}}},
)
async def ingest(
    request: Request,
    principal: Annotated[Principal, Depends(require("sensor"))],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
):
    app = request.app
    s = app.state.settings
    body = await _read_body(request, s.max_body_bytes)
    try:
        # In a worker thread: a malformed 8 MiB array is split by a scan that takes a while.
        items = await run_in_threadpool(_items, body, request.headers.get("content-type", "application/json"))
    except _BadBody as exc:  # the same shape as a batch without a valid report
        return JSONResponse({"detail": str(exc), **_NONE_TAKEN}, status_code=422)
    if len(items) > s.max_items:
        raise HTTPException(413, f"{len(items):,} reports in one request; at most {s.max_items:,}")
    server = app.state.server
    # A key is stored only with the reply of a request that was taken (after the log append): a
    # request lost in a crash can be sent again with its key. Its reports were then either not taken
    # (taken now) or taken (recognised as duplicates: 409).
    if idempotency_key is not None:
        first = server.idempotent_reply(principal.token_hash, idempotency_key)
        if first is not None:
            return JSONResponse({"detail": f"Idempotency-Key {idempotency_key!r} was used before: this request "
                                           "is a replay and was not taken again", "first_reply": first},
                                status_code=409)
    reply = await run_in_threadpool(_take, app, principal, items)
    if idempotency_key is not None and reply[0] == 200:
        server.store_reply(principal.token_hash, idempotency_key, reply[1], time.time())
    status, content, headers = reply
    return JSONResponse(content, status_code=status, headers=headers)


def _take(app, principal: Principal, items: list[tuple[int, int, bytes]]):
    s = app.state.settings
    server = app.state.server
    engine = app.state.engine
    rejected: list[dict] = []
    valid = []
    wall = s.clock == "wall"
    now = time.time()
    clock = engine.clock()
    forbidden = 0
    for idx, line, raw in items:
        try:
            r = decode_report(raw, "body", line)
        except ReportDecodeError as exc:
            e = exc.error
            where = "" if e.field == "$" else f"field `{e.field}`: "
            rejected.append({"index": idx, "line": line, "field": e.field, "error": where + e.reason})
            continue
        if not server.may_report(principal, r.sensor):
            forbidden += 1
            rejected.append({"index": idx, "line": line, "field": "sensor",
                             "error": f"sensor {r.sensor!r} is not registered to this token"})
            continue
        problem = registration_problem(server.sensors.get(r.sensor), r, engine.rt.core.theatre)
        if problem is not None:
            rejected.append({"index": idx, "line": line, "field": problem[0], "error": problem[1]})
            continue
        if r.time.timestamp() < CLOCK_NOT_SET_BEFORE:
            rejected.append({"index": idx, "line": line, "field": "time",
                             "error": f"measurement time {format_time(r.time)} is before 2000: the sensor's "
                                      "clock is not set"})
            continue
        if wall:
            t = r.time.timestamp()
            if t > now + s.max_skew_s:
                rejected.append({"index": idx, "line": line, "field": "time",
                                 "error": f"measurement time is {t - now:.1f} s ahead of the service clock"})
                continue
            r = msgspec.structs.replace(r, arrival=from_epoch(max(now, t)))
        elif math.isfinite(clock) and r.arrival.timestamp() > clock + DATA_MAX_JUMP_S:
            rejected.append({"index": idx, "line": line, "field": "arrival",
                             "error": f"arrival is {r.arrival.timestamp() - clock:.0f} s ahead of the service "
                                      f"clock (at most {DATA_MAX_JUMP_S:.0f})"})
            continue
        age = (now if wall else clock) - r.time.timestamp()
        if age > s.max_report_age_s:
            rejected.append({"index": idx, "line": line, "field": "time",
                             "error": f"measurement time is {age:.0f} s before the service clock (at most "
                                      f"{s.max_report_age_s:.0f}): too old to warn with"})
            continue
        valid.append((idx, r))
    metrics = getattr(app.state, "metrics", None)
    if metrics is not None and rejected:
        metrics.rejected.inc(len(rejected))
    if not valid:
        content = {**_NONE_TAKEN, "rejected": rejected[:MAX_LISTED], "rejected_total": len(rejected)}
        if forbidden and forbidden == len(rejected):
            return 403, {"detail": "none of these sensors is registered to this token", **content}, None
        detail = "no valid report in the request" if items else "the request holds no report"
        return 422, {"detail": detail, **content}, None
    counts: dict[str, int] = {}
    for _, r in valid:
        counts[r.sensor] = counts.get(r.sensor, 0) + 1
    wait = app.state.buckets.take(counts)
    if wait > 0:
        if math.isinf(wait):
            return 413, {"detail": f"more reports for one sensor than its burst allows ({s.rate_burst:g}); "
                                   "split the batch"}, None
        return 429, {"detail": f"rate limited: a sensor of this batch may send {s.rate_per_s:g} reports/s "
                               f"(burst {s.rate_burst:g}); nothing of this batch was taken"}, \
            {"Retry-After": str(max(1, math.ceil(wait)))}
    reports = [r for _, r in valid]
    seqs = engine.submit(reports, [report_hash(r) for r in reports])
    server.touch(counts, max(r.arrival.timestamp() for r in reports))
    accepted = sum(1 for q in seqs if q is not None)
    content = {"accepted": accepted, "duplicates": len(seqs) - accepted, "rejected": rejected[:MAX_LISTED],
               "rejected_total": len(rejected), "last_seq": max((q for q in seqs if q is not None), default=0)}
    if accepted == 0 and not rejected:
        return 409, {"detail": f"replayed request: all {len(seqs)} reports were accepted before", **content}, None
    return 200, content, None
