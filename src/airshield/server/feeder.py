"""The feeder: a simulated night's sensors, talking to the service as real ones would.

:func:`register_night` registers a night's sensors (``sensors.ndjson``) with the
admin token, the way a deployment would: each radar and each partner feed its
own token; the acoustic network's head-end one token for up to
``GATEWAY_NODES`` nodes (Ukraine's acoustic network forwards its thousands of
microphones' detections through its own servers, not one connection per
node); the observers' phone app one token. :func:`feed` then
posts the reports (``reports.ndjson``, arrival order) as NDJSON batches, one
request per token and time slice of ``slice_s`` of arrival time, paced to
``speed`` simulated seconds per wall second. It retries a request that fails
(connection refused while the service restarts, 429, 5xx) with the same
``Idempotency-Key``, so a report is never sent twice as new, and it reports
what each request's reply acknowledged.

Slices are aligned to the service's step length, so a service in ``data`` clock
mode takes exactly the same steps however the slices are cut into requests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec

#: Acoustic nodes per gateway (head-end) token.
GATEWAY_NODES = 10_000


class _Head(msgspec.Struct):
    sensor: str
    arrival: str


#: A head-end's health message interval, s of the night (below the service's default
#: silent_after_s of 600 s, so a live node is never flagged silent between two).
HEARTBEAT_S = 300.0


@dataclass
class Night:
    """A night's sensors (dicts of sensors.ndjson) and reports (raw NDJSON lines, arrival s, sensor)."""

    sensors: list[dict]
    lines: list[bytes]
    arrival: list[float]
    sensor: list[str]

    def __len__(self) -> int:
        return len(self.lines)


def load_night(directory: str | Path) -> Night:
    """Read ``sensors.ndjson`` and ``reports.ndjson`` of a night written by ``airshield simulate``."""
    from datetime import datetime

    d = Path(directory)
    sensors = [msgspec.json.decode(line) for line in (d / "sensors.ndjson").read_bytes().splitlines() if line.strip()]
    lines = [line for line in (d / "reports.ndjson").read_bytes().splitlines() if line.strip()]
    dec = msgspec.json.Decoder(_Head)
    heads = [dec.decode(line) for line in lines]
    cache: dict[str, float] = {}

    def ts(s: str) -> float:
        v = cache.get(s)
        if v is None:
            v = cache[s] = datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
        return v

    return Night(sensors, lines, [ts(h.arrival) for h in heads], [h.sensor for h in heads])


def token_groups(sensors: list[dict]) -> dict[str, list[dict]]:
    """Token name -> its sensors (see module doc)."""
    groups: dict[str, list[dict]] = {}
    acoustic = 0
    for s in sensors:
        kind = s["kind"]
        if kind == "acoustic":
            name = f"acoustic-gw-{acoustic // GATEWAY_NODES:03d}"
            acoustic += 1
        elif kind == "observer":
            name = "observer-app"
        else:
            name = s["id"]
        groups.setdefault(name, []).append(s)
    return groups


def register_night(client: httpx.Client, admin_token: str, sensors: list[dict]) -> dict[str, str]:
    """Register every sensor; returns sensor id -> its token."""
    tokens: dict[str, str] = {}
    for name, group in token_groups(sensors).items():
        body = {"name": name, "sensors": [
            {"id": s["id"], "kind": s["kind"], "lat": s.get("lat"), "lon": s.get("lon"), "alt_m": s.get("alt_m")}
            for s in group]}
        r = client.post("/v1/sensors", json=body, headers={"Authorization": f"Bearer {admin_token}"})
        r.raise_for_status()
        tok = r.json()["token"]
        for s in group:
            tokens[s["id"]] = tok
    return tokens


@dataclass
class Request:
    """One request of the feed: its slice, token, report indices (into the night) and key."""

    slice: int
    token: str
    idx: list[int]
    key: str


def plan(night: Night, tokens: dict[str, str], slice_s: float = 5.0, start: int = 0) -> Iterator[Request]:
    """The requests of the feed from report ``start`` on, in order (one per token per slice)."""
    i, n = start, len(night)
    while i < n:
        k = math.floor(night.arrival[i] / slice_s)
        by_token: dict[str, list[int]] = {}
        while i < n and math.floor(night.arrival[i] / slice_s) == k:
            tok = tokens.get(night.sensor[i])
            if tok is not None:
                by_token.setdefault(tok, []).append(i)
            i += 1
        for tok, idx in by_token.items():
            yield Request(k, tok, idx, f"feed-{k}-{idx[0]}")


@dataclass
class FeedStats:
    """What a feed did: requests, reports acknowledged, duplicates, rejected, retries, wall time."""

    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    retries: int = 0
    wall_s: float = 0.0
    acked_seqs: list[int] = field(default_factory=list)


def feed(client: httpx.Client, night: Night, tokens: dict[str, str], *, speed: float | None = None,
         slice_s: float = 5.0, start: int = 0, stop_after: int | None = None, until: float | None = None,
         on_reply: Callable[[Request, dict], None] | None = None, retry_s: float = 60.0,
         heartbeat_s: float | None = HEARTBEAT_S) -> FeedStats:
    """Post the night's reports from ``start`` (see module doc); ``stop_after``: stop after that many
    requests; ``until``: stop before the reports that arrive at or after that time, s. ``speed``: simulated seconds per wall second (None: as fast as the service takes them).
    ``heartbeat_s``: every this many simulated seconds each token sends one health message for
    all its sensors, as a network's head-end does (None: none; nodes that hear nothing then
    show as silent)."""
    st = FeedStats()
    t_wall0 = time.perf_counter()
    t_sim0 = None
    next_beat = -math.inf
    by_token: dict[str, list[str]] = {}
    for sid, tok in tokens.items():
        by_token.setdefault(tok, []).append(sid)
    for req in plan(night, tokens, slice_s, start):
        if stop_after is not None and st.requests >= stop_after:
            break
        t_sim = req.slice * slice_s
        if until is not None and t_sim >= until:
            break
        if t_sim0 is None:
            t_sim0 = t_sim
        if speed:
            wait = (t_sim - t_sim0) / speed - (time.perf_counter() - t_wall0)
            if wait > 0:
                time.sleep(wait)
        body = b"\n".join(night.lines[i] for i in req.idx) + b"\n"
        reply = _post(client, req, body, retry_s, st)
        st.requests += 1
        st.accepted += reply.get("accepted", 0)
        st.duplicates += reply.get("duplicates", 0)
        st.rejected += len(reply.get("rejected", []))
        if on_reply is not None:
            on_reply(req, reply)
        if heartbeat_s and t_sim >= next_beat:  # after a report, so a data clock has started
            for tok, ids in by_token.items():
                client.post("/v1/sensors/heartbeat", json={"sensors": ids},
                            headers={"Authorization": f"Bearer {tok}"})
            next_beat = t_sim + heartbeat_s
    st.wall_s = time.perf_counter() - t_wall0
    return st


def _post(client: httpx.Client, req: Request, body: bytes, retry_s: float, st: FeedStats) -> dict:
    headers = {"Authorization": f"Bearer {req.token}", "Content-Type": "application/x-ndjson",
               "Idempotency-Key": req.key}
    deadline = time.monotonic() + retry_s
    delay = 0.05
    while True:
        try:
            r = client.post("/v1/ingest", content=body, headers=headers)
        except httpx.TransportError:
            r = None
        if r is not None and r.status_code == 200:
            return r.json()
        if r is not None and r.status_code == 409:  # taken before (a retry after a lost reply)
            j = r.json()
            return j.get("first_reply") or {k: v for k, v in j.items() if k != "detail"}
        if r is not None and r.status_code == 422:
            return r.json()
        if r is not None and r.status_code not in (429, 500, 502, 503, 504):
            raise RuntimeError(f"the service refused {req.key}: {r.status_code} {r.text[:300]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service did not take {req.key} within {retry_s:g} s")
        st.retries += 1
        wait = float(r.headers.get("Retry-After", delay)) if r is not None else delay
        time.sleep(min(wait, 5.0))
        delay = min(delay * 2, 2.0)


def close_night(client: httpx.Client, admin_token: str, night: Night, close_s: float = 4 * 3600.0) -> dict:
    """Data clock: run the clock on after the last report until every track has ended and every
    region is quiet (at most ``close_s``), as ``airshield run`` does at the end of a file."""
    t_end = night.arrival[-1] if len(night) else 0.0
    r = client.post("/v1/clock", json={"now": t_end + close_s, "until_idle": True},
                    headers={"Authorization": f"Bearer {admin_token}"}, timeout=600.0)
    r.raise_for_status()
    return r.json()


def main(argv: list[str] | None = None) -> int:
    """``python -m airshield.server.feeder NIGHT_DIR [--url URL] [--speed X]``: feed a simulated night
    to a running service (started with ``--clock data``); the admin token from AIRSHIELD_ADMIN_TOKEN."""
    import argparse
    import os
    import sys

    p = argparse.ArgumentParser(prog="python -m airshield.server.feeder", description=main.__doc__)
    p.add_argument("night", help="a directory written by `airshield simulate` (sensors.ndjson, reports.ndjson)")
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--speed", type=float, default=600.0, help="simulated s per wall s (0: as fast as possible)")
    p.add_argument("--no-close", action="store_true", help="leave the clock at the last report")
    a = p.parse_args(argv)
    admin = os.environ.get("AIRSHIELD_ADMIN_TOKEN")
    if not admin:
        print("set AIRSHIELD_ADMIN_TOKEN to the service's admin token", file=sys.stderr)
        return 2
    night = load_night(a.night)
    with httpx.Client(base_url=a.url, timeout=600.0) as client:
        tokens = register_night(client, admin, night.sensors)
        st = feed(client, night, tokens, speed=a.speed or None)
        if not a.no_close:
            close_night(client, admin, night)
    print(f"fed {st.accepted:,} reports ({st.duplicates:,} duplicates, {st.rejected:,} rejected) in "
          f"{st.requests:,} requests, {st.wall_s:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
