"""Webhooks: signed POSTs of the event log's events, at least once and in order (issue #5).

**The outbox is a cursor over the event log** (docs/decisions/0022-webhook-outbox-cursor.md).
Every event is already durable in the log before the engine publishes it, so a
subscription needs no copy of the events: only the id of the last event its
receiver acknowledged (``webhooks.cursor`` in ``server.sqlite``). A worker per
subscription reads the log after its cursor, POSTs the next batch, and moves the
cursor only after a 2xx reply. A process killed at any moment therefore resends
at most the batch in flight (at least once), and resends it in the same order:
batches go out one at a time in the log's order, so per region (indeed overall)
the receiver sees events in order, with duplicates only as redeliveries of the
same ids (receivers drop ids they have seen).

A failed delivery (no 2xx, or no reply within ``timeout_s``) is retried with
exponential back-off with jitter (``base_s * 2**(n-1)`` capped at ``max_s``, then
a uniform draw in its upper half, so that many subscriptions failing together do
not retry in lockstep); later events wait behind it (order per region) — never
skipped: an alert must not be lost because a receiver was down.

Wire format (docs/push.md)::

    POST <url>
    Content-Type: application/json
    X-Airshield-Webhook: wh_...
    X-Airshield-Delivery: wh_...:1201-1230        (same value on every retry of this batch)
    X-Airshield-Timestamp: 1764170000              (s since epoch, when signed)
    X-Airshield-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

    {"webhook": "wh_...", "events": [{"id": 1201, "kind": "alert", "region": "UA-30",
      "t": 1764169990.0, "data": {...the event log's line...}}, ...]}

A receiver checks the signature with :func:`verify` and refuses old timestamps
(replay protection: the timestamp is inside the signed bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from airshield.server import auth
from airshield.server.broker import Filter

log = logging.getLogger("airshield.webhooks")

SIGNATURE_HEADER = "X-Airshield-Signature"
TIMESTAMP_HEADER = "X-Airshield-Timestamp"
WEBHOOK_KINDS = ("alert", "audit", "track")

#: Events per POST at most (a receiver that was down gets its backlog in batches).
BATCH_MAX = 100
#: Back-off of the first retry, s, and its cap (5 min: a receiver down for an hour
#: gets its backlog within 5 min of coming back).
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 300.0
#: A delivery without a reply within this is a failure, s.
TIMEOUT_S = 10.0
#: An idle worker rereads the log at least this often, s (a lost wake-up costs no more).
IDLE_POLL_S = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL, kinds TEXT NOT NULL,
    regions TEXT, created REAL NOT NULL, cursor INTEGER NOT NULL);
"""

# ------------------------------------------------------------------ signing


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Airshield-Signature`` value: ``sha256=`` + hex HMAC-SHA256 over ``"<timestamp>." + body``."""
    mac = hmac.new(secret.encode(), str(int(timestamp)).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str | int, body: bytes, signature: str, *, now: float | None = None,
           tolerance_s: float = 300.0) -> bool:
    """A receiver's check: the signature matches and the timestamp is within ``tolerance_s`` of ``now``."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def backoff_s(attempt: int, rng: random.Random, base_s: float = BACKOFF_BASE_S, max_s: float = BACKOFF_MAX_S) -> float:
    """Wait before retry number ``attempt`` (1 = the first retry), s: "equal jitter".

    ``d = min(max_s, base_s * 2**(attempt-1))``, then uniform in [d/2, d]: it
    grows exponentially, never waits less than half, and spreads receivers that
    failed together (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015).
    """
    d = min(max_s, base_s * 2.0 ** max(0, attempt - 1))
    return d / 2 + rng.uniform(0, d / 2)


def payload(webhook_id: str, events: Sequence[Any]) -> bytes:
    """The POST body: the events' log lines embedded as they are (encoded once, never re-serialised)."""
    parts = [b'{"id":%d,"kind":%s,"region":%s,"t":%s,"data":%s}' % (
        e.id, json.dumps(e.kind).encode(), json.dumps(e.region).encode(), repr(float(e.t)).encode(), e.data)
        for e in events]
    return b'{"webhook":' + json.dumps(webhook_id).encode() + b',"events":[' + b",".join(parts) + b"]}"


# -------------------------------------------------------------- subscriptions


@dataclass
class Subscription:
    id: str
    url: str
    secret: str = field(repr=False)
    kinds: tuple[str, ...]
    regions: tuple[str, ...] | None
    created: float
    cursor: int

    @property
    def filter(self) -> Filter:
        return Filter(frozenset(self.kinds), frozenset(self.regions) if self.regions else None)


@dataclass
class Worker:
    """One subscription's delivery loop and its state (see module doc)."""

    sub: Subscription
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    attempts: int = 0  # consecutive failures of the batch in flight
    last_error: str | None = None
    last_attempt: float | None = None
    next_attempt: float | None = None
    last_success: float | None = None
    delivered: int = 0
    pending: int = 0  # events of its kinds after the cursor (its backlog), at the last look


class Deliveries:
    """Every webhook subscription and its worker; persistent in ``server.sqlite``.

    Args:
        state_path: server.sqlite (the table ``webhooks``).
        events_after: ``(seq, kinds, limit) -> [PushEvent]`` from the event log (called in a thread).
        events_path: the event log, to count each subscription's backlog (None: not counted).
        rng: jitter's random numbers (tests pass a seeded one).
    """

    def __init__(self, state_path: Path, events_after: Callable[..., list], events_path: Path | None = None, *,
                 batch_max: int = BATCH_MAX, backoff_base_s: float = BACKOFF_BASE_S,
                 backoff_max_s: float = BACKOFF_MAX_S, timeout_s: float = TIMEOUT_S,
                 idle_poll_s: float = IDLE_POLL_S, rng: random.Random | None = None):
        self.state_path = Path(state_path)
        self.events_after = events_after
        self.events_path = events_path
        self.batch_max = batch_max
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.timeout_s = timeout_s
        self.idle_poll_s = idle_poll_s
        self.rng = rng or random.Random()
        self.workers: dict[str, Worker] = {}
        self._db: sqlite3.Connection | None = None
        self._client: httpx.AsyncClient | None = None
        self._last_id = 0  # the newest event id published (for the backlog estimate)
        self.failures = 0  # failed POSTs (a counter for /metrics)
        self.delivered = 0  # events acknowledged by receivers (a counter for /metrics)
        self._events_db: sqlite3.Connection | None = None
        self._count_lock = threading.Lock()
        self._lock = threading.Lock()  # the server.sqlite connection is used from the loop and from threads

    # ----------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Open server.sqlite and start a worker per subscription (on the running loop)."""
        from airshield.server.state import connect

        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.state_path)
        with self._lock:
            self._db.executescript(_SCHEMA)
        self._client = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False,
                                         headers={"User-Agent": "airshield-webhooks"})
        for sub in self._load():
            self._spawn(sub)

    async def stop(self) -> None:
        tasks = [w.task for w in self.workers.values() if w.task is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.workers.clear()
        if self._client is not None:
            await self._client.aclose()
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
        if self._events_db is not None:
            self._events_db.close()
            self._events_db = None

    def notify(self, last_id: int) -> None:
        """New events are in the log (called on the loop after each publish)."""
        self._last_id = max(self._last_id, last_id)
        for w in self.workers.values():
            w.wake.set()

    def backlog(self) -> int:
        return sum(w.pending for w in self.workers.values())

    # ------------------------------------------------------- subscriptions

    def _load(self) -> list[Subscription]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, url, secret, kinds, regions, created, cursor FROM webhooks ORDER BY created").fetchall()
        return [Subscription(i, u, s, tuple(json.loads(k)), tuple(json.loads(r)) if r else None, c, cur)
                for i, u, s, k, r, c, cur in rows]

    def create(self, url: str, kinds: Sequence[str], regions: Sequence[str] | None, secret: str | None,
               cursor: int) -> Subscription:
        sub = Subscription(id="wh_" + secrets.token_hex(8), url=url, secret=secret or secrets.token_urlsafe(32),
                           kinds=tuple(sorted(set(kinds))), regions=tuple(sorted(set(regions))) if regions else None,
                           created=time.time(), cursor=int(cursor))
        with self._lock:
            self._db.execute(
                "INSERT INTO webhooks (id, url, secret, kinds, regions, created, cursor) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sub.id, sub.url, sub.secret, json.dumps(list(sub.kinds)),
                 json.dumps(list(sub.regions)) if sub.regions else None, sub.created, sub.cursor))
        self._spawn(sub)
        return sub

    def delete(self, webhook_id: str) -> bool:
        w = self.workers.pop(webhook_id, None)
        if w is None:
            return False
        if w.task is not None:
            w.task.cancel()
        with self._lock:
            self._db.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))
        return True

    def _count_after(self, seq: int, kinds: list[str]) -> int:
        """Events of ``kinds`` after ``seq`` in the log (the backlog; an index range count)."""
        if self.events_path is None or not Path(self.events_path).is_file():
            return self._last_id - seq
        with self._count_lock:
            if self._events_db is None:
                self._events_db = sqlite3.connect(f"file:{self.events_path}?mode=ro", uri=True,
                                                  check_same_thread=False)
            marks = ",".join("?" * len(kinds))
            q = f"SELECT COUNT(*) FROM events WHERE kind IN ({marks}) AND seq > ?"
            return int(self._events_db.execute(q, (*kinds, seq)).fetchone()[0])

    def _save_cursor(self, sub: Subscription, cursor: int) -> None:
        with self._lock:
            if self._db is not None:
                self._db.execute("UPDATE webhooks SET cursor = ? WHERE id = ?", (cursor, sub.id))

    def _spawn(self, sub: Subscription) -> None:
        w = Worker(sub)
        self.workers[sub.id] = w
        w.task = asyncio.get_running_loop().create_task(self._run(w), name=f"webhook {sub.id}")

    # ------------------------------------------------------------ delivery

    async def _run(self, w: Worker) -> None:
        """Deliver the log after the cursor, batch by batch, for ever (see module doc)."""
        sub = w.sub
        flt = sub.filter
        kinds = list(sub.kinds)
        while True:
            try:
                w.wake.clear()
                evs = await asyncio.to_thread(self.events_after, sub.cursor, kinds, self.batch_max)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the log is unreadable for a moment: try again later
                log.warning("webhook %s: reading the log failed: %s", sub.id, exc)
                await self._sleep(w, self.idle_poll_s)
                continue
            if not evs:
                w.pending = 0
                await self._sleep(w, self.idle_poll_s)
                continue
            batch = [e for e in evs if flt.wants(e.kind, e.region)]
            w.pending = len(evs) if len(evs) < self.batch_max else await asyncio.to_thread(
                self._count_after, sub.cursor, kinds)
            if batch:
                await self._deliver(w, batch)
            # Acknowledged (or nothing of its regions): move past the whole page, durably.
            try:
                await asyncio.to_thread(self._save_cursor, sub, evs[-1].id)
            except Exception as exc:  # not saved: the page is delivered again (at least once)
                log.warning("webhook %s: saving the cursor failed: %s", sub.id, exc)
                await self._sleep(w, self.idle_poll_s)
                continue
            sub.cursor = evs[-1].id

    async def _deliver(self, w: Worker, batch: list) -> None:
        """POST ``batch`` until a 2xx reply, backing off between attempts."""
        sub = w.sub
        body = payload(sub.id, batch)
        delivery = f"{sub.id}:{batch[0].id}-{batch[-1].id}"
        while True:
            ts = int(time.time())
            w.last_attempt = time.time()
            try:
                r = await self._client.post(sub.url, content=body, headers={
                    "Content-Type": "application/json",
                    "X-Airshield-Webhook": sub.id,
                    "X-Airshield-Delivery": delivery,
                    TIMESTAMP_HEADER: str(ts),
                    SIGNATURE_HEADER: sign(sub.secret, ts, body),
                })
                ok = 200 <= r.status_code < 300
                err = None if ok else f"HTTP {r.status_code}"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # httpx's errors, and any other (a URL it cannot encode...)
                ok, err = False, f"{type(exc).__name__}: {exc}"[:300]
            if ok:
                w.attempts = 0
                w.last_error = None
                w.next_attempt = None
                w.last_success = time.time()
                w.delivered += len(batch)
                self.delivered += len(batch)
                return
            self.failures += 1
            w.attempts += 1
            w.last_error = err
            wait = backoff_s(w.attempts, self.rng, self.backoff_base_s, self.backoff_max_s)
            w.next_attempt = time.time() + wait
            log.warning("webhook %s: delivery %s failed (%s), attempt %d, retry in %.1f s",
                        sub.id, delivery, err, w.attempts, wait)
            await asyncio.sleep(wait)

    @staticmethod
    async def _sleep(w: Worker, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(w.wake.wait(), timeout)

    # -------------------------------------------------------------- status

    def status(self, w: Worker) -> dict:
        s = w.sub
        return {"id": s.id, "url": s.url, "kinds": list(s.kinds), "regions": list(s.regions) if s.regions else None,
                "created": s.created, "cursor": s.cursor, "backlog": w.pending, "delivered": w.delivered,
                "failing": w.attempts > 0, "attempts": w.attempts, "last_error": w.last_error,
                "last_attempt": w.last_attempt, "last_success": w.last_success, "next_attempt": w.next_attempt}


# ------------------------------------------------------------------- API


class WebhookIn(BaseModel):
    """A new subscription."""
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    url: HttpUrl = Field(description="where to POST (http or https)")
    kinds: list[str] = Field(default=["alert"], min_length=1, description="alert (default), audit, track")
    regions: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=1000, description="only these regions' alert/audit events (default: all)")
    secret: str | None = Field(default=None, min_length=16, max_length=256,
                               description="HMAC key (default: generated and returned once)")
    after: int | None = Field(default=None, ge=0, le=2**63 - 1, description="deliver events after this id (default: from now; an id past the log's end: from now)")


class WebhookOut(BaseModel):
    id: str
    url: str
    kinds: list[str]
    regions: list[str] | None
    created: float = Field(description="s since epoch")
    cursor: int = Field(description="the last event id the receiver acknowledged (or skipped by the filter)")
    backlog: int = Field(description="events of its kinds after the cursor, at the worker's last look")
    delivered: int = Field(description="events acknowledged since the service started")
    failing: bool
    attempts: int = Field(description="consecutive failed attempts of the batch in flight")
    last_error: str | None
    last_attempt: float | None
    last_success: float | None
    next_attempt: float | None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the HMAC key; shown only in this reply")


router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
Admin = Annotated[Any, Depends(auth.require("admin"))]


def _deliveries(request: Request) -> Deliveries:
    push = getattr(request.app.state, "push", None)
    d = getattr(push, "deliveries", None) if push is not None else None
    if d is None or d._db is None:
        raise HTTPException(503, "webhooks are not running")
    return d


@router.post("", status_code=201, response_model=WebhookCreated,
             summary="Subscribe a URL to signed POSTs of events (admin)")
async def create_webhook(body: WebhookIn, request: Request, _: Admin) -> dict:
    d = _deliveries(request)
    bad = [k for k in body.kinds if k not in WEBHOOK_KINDS]
    if bad:
        raise HTTPException(422, f"kinds: unknown {', '.join(bad)}; known: {', '.join(WEBHOOK_KINDS)}")
    if body.url.scheme not in ("http", "https"):
        raise HTTPException(422, "url must be http or https")
    from airshield.server.push import unknown_regions

    bad = unknown_regions(request.app.state.push, body.regions)
    if bad:
        raise HTTPException(422, f"regions: unknown {', '.join(bad[:10])} (GET /v1/regions lists them)")
    now = request.app.state.push.broker.last_id
    start = now if body.after is None else min(body.after, now)  # past the end: from now
    sub = d.create(str(body.url), body.kinds, body.regions, body.secret, start)
    return {**d.status(d.workers[sub.id]), "secret": sub.secret}


@router.get("", response_model=list[WebhookOut], summary="Every webhook subscription and its delivery state (admin)")
async def list_webhooks(request: Request, _: Admin) -> list[dict]:
    d = _deliveries(request)
    return [d.status(w) for w in d.workers.values()]


@router.get("/{webhook_id}", response_model=WebhookOut, summary="One webhook subscription (admin)",
            responses={404: {"description": "no such webhook"}})
async def get_webhook(webhook_id: str, request: Request, _: Admin) -> dict:
    d = _deliveries(request)
    w = d.workers.get(webhook_id)
    if w is None:
        raise HTTPException(404, f"no webhook {webhook_id!r}")
    return d.status(w)


@router.delete("/{webhook_id}", status_code=204, summary="Unsubscribe (admin)",
               responses={404: {"description": "no such webhook"}})
async def delete_webhook(webhook_id: str, request: Request, _: Admin) -> Response:
    if not _deliveries(request).delete(webhook_id):
        raise HTTPException(404, f"no webhook {webhook_id!r}")
    return Response(status_code=204)
