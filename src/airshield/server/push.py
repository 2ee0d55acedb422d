"""Push: the Server-Sent Events stream ``GET /v1/stream`` and the webhooks (issue #5).

``attach(app, engine, settings)`` wires it: a :class:`~airshield.server.broker.Broker`
subscribed to the engine (the SSE fan-out), and the webhook
:class:`~airshield.server.webhooks.Deliveries` (a worker per subscription, each
with a persistent cursor over the event log). docs/push.md describes the wire
formats; decisions 0020 (fan-out), 0021 (resume) and 0022 (outbox as a cursor)
say why it is built this way.

The stream::

    GET /v1/stream?kinds=alert,track&regions=UA-30,UA-32
    Last-Event-ID: 1234            (or ?last_event_id=1234)

    retry: 2000
    : connected

    : published=1764170000.123456
    id: 1235
    event: alert
    data: {"type":"alert","t":"...","region":"UA-30",...}   (the event log's line, as in alerts.ndjson)

* ``id`` is the event log's ``events.seq``: resuming with it replays what the
  client missed from the log, then carries on live, with no gap and no
  duplicate (decision 0021);
* a ``: heartbeat`` comment every 15 s on an idle stream;
* a client that falls more than ``max_queue`` events behind gets
  ``event: overflow`` and the stream ends; it resumes with its Last-Event-ID;
* alerts are public; ``track`` (full-precision tracks) needs a viewer, operator
  or admin token, ``audit`` (operators' commands) an operator or admin token.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sqlite3
import time
import weakref
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from airshield.server import auth, webhooks
from airshield.server.broker import (
    HEARTBEAT_S,
    MAX_QUEUE,
    MAX_SUBSCRIBERS,
    RETRY_MS,
    Batch,
    Broker,
    Filter,
    Subscriber,
    control_frame,
    frames_of,
    parse_csv,
)
from airshield.server.state import Principal

log = logging.getLogger("airshield.push")

KINDS = ("alert", "track", "audit")
#: Roles that may stream each kind (None: public). Tracks on the stream are full precision.
KIND_ROLES: dict[str, tuple[str, ...] | None] = {
    "alert": None,
    "track": ("viewer",),  # auth.IMPLIES: operators and admins are viewers too
    "audit": ("operator",),
}
#: Events read from the log per page when a client resumes.
REPLAY_PAGE = 2000

router = APIRouter(tags=["push"])


class Push:
    """The push machinery of one app: the SSE broker and the webhook deliveries.

    Args:
        engine: has ``subscribe(fn)`` and ``events_after(seq, kinds=None, limit=...)``.
        events_path: the event log (to learn the last event id at start), or None.
        state_path: server.sqlite (webhook subscriptions and cursors), or None (no webhooks).
    """

    def __init__(self, engine: Any, events_path: Path | None = None, state_path: Path | None = None,
                 max_queue: int = MAX_QUEUE, heartbeat_s: float = HEARTBEAT_S, webhook_options: dict | None = None):
        self.engine = engine
        self.events_path = events_path
        self.broker = Broker(max_queue=max_queue, heartbeat_s=heartbeat_s)
        self.deliveries = None
        if state_path is not None:
            self.deliveries = webhooks.Deliveries(state_path, engine.events_after, events_path, **(webhook_options or {}))
        self.started = False
        self._subscribed = False
        self.max_subscribers = MAX_SUBSCRIBERS

    def start_now(self) -> None:
        """Bind to the running loop, subscribe to the engine, start the webhook workers (on the loop)."""
        if self.started:
            return
        self.broker.start()
        if not self._subscribed:
            self.engine.subscribe(self.broker.publish_threadsafe)
            self._subscribed = True
        # After subscribing: every later event is published to us; the ones before are in the log.
        self.broker.last_id = max(self.broker.last_id, self._last_logged_id())
        if self.deliveries is not None:
            self.broker.on_publish(self.deliveries.notify)
            self.deliveries.start()
        self.started = True

    async def start(self) -> None:
        self.start_now()

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        self.broker.stop()
        if self.deliveries is not None:
            await self.deliveries.stop()
        self.broker.loop = None

    def _last_logged_id(self) -> int:
        """The log's last event id (a restarted service must replay from the log to resuming clients)."""
        last = int(getattr(self.engine, "last_event_id", 0) or 0)
        if self.events_path is None or not Path(self.events_path).is_file():
            return last
        db = sqlite3.connect(f"file:{self.events_path}?mode=ro", uri=True)
        try:
            return max(last, int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]))
        except sqlite3.DatabaseError:
            return last
        finally:
            db.close()

    async def replay(self, after: int, flt: Filter, limit: int = REPLAY_PAGE) -> list:
        """Logged events with id > ``after`` that may pass ``flt`` (in a thread: SQLite blocks)."""
        # The log's region filter drops tracks; ours lets them pass (Filter), so only without tracks.
        regions = sorted(flt.regions) if flt.regions and "track" not in flt.kinds else None
        return await asyncio.to_thread(self.engine.events_after, after, sorted(flt.kinds), limit, regions)


class PushCollector:
    """The push machinery's metrics, read at each scrape (a Prometheus custom collector).

    ``airshield_push_subscribers``, ``airshield_push_queue_depth`` (events queued,
    summed over subscribers), ``airshield_push_queue_depth_max`` (the most lagging
    subscriber), ``airshield_push_events_total``, ``airshield_push_overflows_total``
    (subscribers cut off), ``airshield_webhooks``, ``airshield_webhook_backlog``
    (events not yet acknowledged, summed over subscriptions),
    ``airshield_webhooks_failing``, ``airshield_webhook_events_delivered_total``,
    ``airshield_webhook_failures_total``.
    """

    def __init__(self, push: Push):
        self.push = push

    def describe(self):
        return []  # no eager collect() at registration (the loop may not run yet)

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        b = self.push.broker
        subs = b.subscribers
        yield GaugeMetricFamily("airshield_push_subscribers", "connected SSE subscribers", len(subs))
        yield GaugeMetricFamily("airshield_push_queue_depth", "events queued for SSE subscribers, summed",
                                sum(s.queued for s in subs))
        yield GaugeMetricFamily("airshield_push_queue_depth_max", "events queued for the most lagging subscriber",
                                max((s.queued for s in subs), default=0))
        yield CounterMetricFamily("airshield_push_events", "events handed to the SSE fan-out", b.published)
        yield CounterMetricFamily("airshield_push_overflows", "SSE subscribers cut off (queue full)", b.overflows)
        d = self.push.deliveries
        if d is not None:
            ws = list(d.workers.values())
            yield GaugeMetricFamily("airshield_webhooks", "webhook subscriptions", len(ws))
            yield GaugeMetricFamily("airshield_webhook_backlog", "events not yet acknowledged by webhook "
                                    "receivers, summed over subscriptions", sum(w.pending for w in ws))
            yield GaugeMetricFamily("airshield_webhooks_failing", "subscriptions whose last delivery failed",
                                    sum(1 for w in ws if w.attempts))
            yield CounterMetricFamily("airshield_webhook_events_delivered", "events acknowledged by receivers",
                                      d.delivered)
            yield CounterMetricFamily("airshield_webhook_failures", "webhook POSTs that failed", d.failures)


def _register_metrics(app: FastAPI, push: Push) -> None:
    """On the app's registry (ops.Metrics: one per app, so that several apps in one process do not collide)."""
    metrics = getattr(app.state, "metrics", None)
    registry = getattr(metrics, "registry", None)
    if registry is None:
        return  # no /metrics in this app (unit tests)
    registry.register(PushCollector(push))


_live_pushes: weakref.WeakSet[Push] = weakref.WeakSet()
_exit_hooked = False


def _hook_uvicorn_exit() -> None:
    """End every SSE stream when uvicorn is asked to exit (SIGINT/SIGTERM).

    uvicorn waits for open responses to finish before it runs the lifespan's
    shutdown, and an SSE stream never finishes by itself: without this, a
    service with subscribers would not stop. (sse-starlette does the same.)
    """
    global _exit_hooked
    if _exit_hooked:
        return
    try:
        import uvicorn
    except ImportError:
        return
    original = uvicorn.Server.handle_exit

    def handle_exit(self, sig, frame):
        for p in list(_live_pushes):
            loop = p.broker.loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(p.broker.stop)
        return original(self, sig, frame)

    uvicorn.Server.handle_exit = handle_exit
    _exit_hooked = True


# At import, before uvicorn.run() installs its signal handlers (it binds handle_exit then).
_hook_uvicorn_exit()


def attach(app: FastAPI, engine: Any, settings: Any) -> Callable[[], Awaitable[None]]:
    """Wire push into ``app`` (``app.state.push``); returns the coroutine function that stops it.

    Called from inside the app's lifespan (the loop is running), push starts at
    once and the caller awaits the returned ``stop()`` on shutdown. Called
    before the app runs, push starts and stops with the app's lifespan by itself.
    """
    data_dir = getattr(settings, "data_dir", None)
    opts = {k: getattr(settings, k) for k in ("max_queue", "heartbeat_s") if hasattr(settings, k)}
    push = Push(engine,
                events_path=Path(data_dir) / "events.sqlite" if data_dir else None,
                state_path=Path(data_dir) / "server.sqlite" if data_dir else None,
                webhook_options=getattr(settings, "webhook_options", None), **opts)
    #: the public's grid for alert reasons' threat positions, m (server/public.py)
    push.public_grid = float(getattr(settings, "public_coarsen_m", 0.0) or 0.0)  # 0: exact positions
    push.max_subscribers = int(getattr(settings, "max_subscribers", MAX_SUBSCRIBERS))
    app.state.push = push
    _register_metrics(app, push)
    _live_pushes.add(push)
    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    if running:
        push.start_now()
        return push.stop
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):
        async with inner(a) as state:
            await push.start()
            try:
                yield state
            finally:
                await push.stop()

    app.router.lifespan_context = lifespan
    return push.stop


def _push(request: Request) -> Push:
    push = getattr(request.app.state, "push", None)
    if push is None or not push.started:
        raise HTTPException(503, "push is not running")
    return push


def unknown_regions(push: Push, regions) -> list[str]:
    """Region ids the engine does not know (none when it does not say which it knows)."""
    known = getattr(push.engine, "region_ids", None)
    return [] if known is None else sorted(set(regions or ()) - set(known))


def _filter(push: Push, kinds: str | None, regions: str | None) -> Filter:
    ks = parse_csv(kinds) or ["alert"]
    bad = [k for k in ks if k not in KINDS]
    if bad:
        raise HTTPException(422, f"kinds: unknown {', '.join(bad)}; known: {', '.join(KINDS)}")
    rs = parse_csv(regions)
    bad = unknown_regions(push, rs)
    if bad:
        raise HTTPException(422, f"regions: unknown {', '.join(bad[:10])} (GET /v1/regions lists them)")
    return Filter(frozenset(ks), frozenset(rs) if rs else None)


def _last_id(header: str | None, query: str | None) -> int | None:
    """The event id to resume after, from the header (a browser's reconnection) or else the
    query; a malformed one is a 400 whichever way it came (docs/push.md)."""
    for name, value in (("Last-Event-ID", header), ("last_event_id", query)):
        if value is not None and value.strip():
            try:
                v = int(value.strip())
            except ValueError:
                raise HTTPException(400, f"{name} must be an event id (an integer)") from None
            if v < 0:
                raise HTTPException(400, f"{name} must be >= 0")
            return min(v, 2**63 - 1)  # (beyond any log's end: the stream goes live)
    return None


@router.get(
    "/v1/stream",
    summary="Server-Sent Events: alerts (public), tracks and audit (with a token), resumable",
    response_class=Response,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an endless event stream"},
               401: {"description": "tracks or audit asked for without a token allowed them"}},
)
async def stream(
    request: Request,
    kinds: Annotated[str | None, Query(description="comma-separated: alert (default), track, audit")] = None,
    regions: Annotated[str | None, Query(description="comma-separated region ids (alerts and audit only)")] = None,
    last_event_id: Annotated[str | None, Query(max_length=40, description="resume after this event id (an integer)")] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    principal: Annotated[Principal | None, Depends(auth.optional)] = None,
) -> Response:
    push = _push(request)
    if push.broker.n_subscribers() >= push.max_subscribers:
        # Each stream holds a connection (a file descriptor): past this, refuse politely rather
        # than let the service run out of them for ingest and its own files.
        raise HTTPException(503, "too many open streams; try again shortly (or use a webhook)",
                            headers={"Retry-After": "30"})
    flt = _filter(push, kinds, regions)
    for k in sorted(flt.kinds):
        roles = KIND_ROLES[k]
        if roles is not None and not any(auth.has(principal, r) for r in roles):
            if principal is None:
                raise HTTPException(401, f"kind {k!r} needs a bearer token with the {roles[0]} role",
                                    headers={"WWW-Authenticate": "Bearer"})
            raise HTTPException(403, f"a {principal.role} token may not stream {k!r} (needs {roles[0]})")
    if not auth.has(principal, "viewer"):  # the public sees alert reasons coarsened (server/public.py)
        flt = dataclasses.replace(flt, public_grid=push.public_grid)
    elif not auth.has(principal, "operator"):  # a viewer: exact, without the operator's name and note
        flt = dataclasses.replace(flt, public_grid=0.0)
    after = _last_id(last_event_id_header, last_event_id)
    allowed = None
    if principal is not None:
        # A token revoked while its stream is open ends the stream at its next wake (an event,
        # a heartbeat, a page of the catch-up): what it may see is checked while it sees it.
        server, token_hash = request.app.state.server, principal.token_hash

        def allowed() -> bool:
            return server.is_live(token_hash)
    return EventStream(push, flt, after, allowed)


router.include_router(webhooks.router)


class EventStream(Response):
    """The SSE response of one subscriber: replay from the log after ``after``, then live."""

    media_type = "text/event-stream"

    def __init__(self, push: Push, flt: Filter, after: int | None, allowed: Callable[[], bool] | None = None):
        self.status_code = 200
        self.background = None
        self.body = b""
        # No Content-Length: the stream is endless (chunked). no-transform / X-Accel-Buffering:
        # proxies must not buffer it.
        self.raw_headers = [(b"content-type", b"text/event-stream; charset=utf-8"),
                            (b"cache-control", b"no-cache, no-transform"), (b"x-accel-buffering", b"no")]
        self.push = push
        self.flt = flt
        self.after = after
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        broker = self.push.broker
        # Register first, then read the log (decision 0021): no event can fall between the two.
        sub = broker.subscribe(self.flt)
        sub.task = asyncio.current_task()
        watcher = asyncio.ensure_future(self._watch(receive, sub))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._body(send, b"retry: %d\n: connected\n\n" % RETRY_MS)
            # An id past the log's end (a client of a service since started on a new data
            # directory, a mistyped id) is taken as up to date: the stream goes live from here
            # (docs/push.md), not after an id the log may never reach.
            last = min(self.after or 0, broker.last_id)
            # Replay only if the log may hold something the client has not seen.
            if self.after is not None and self.after < broker.last_id:
                last = await self._replay(send, sub, last)
            await self._live(send, sub, last)
        except asyncio.CancelledError:
            if not sub.overflowed:
                raise
            # An overflowed client that read nothing for OVERFLOW_GRACE_S: give up on it (uvicorn
            # then closes the connection and says the response was not completed).
            client = scope.get("client")
            log.warning("SSE client fell behind and read nothing since: connection dropped",
                        extra={"client": client[0] if client else None})
        finally:
            watcher.cancel()
            broker.unsubscribe(sub)

    @staticmethod
    async def _watch(receive: Receive, sub: Subscriber) -> None:
        """End the stream when the client goes away (the writer may be idle for long)."""
        with contextlib.suppress(Exception):
            while (await receive())["type"] != "http.disconnect":
                pass
        sub.closed = True
        sub.wake.set()

    @staticmethod
    async def _body(send: Send, data: bytes) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": True})

    async def _replay(self, send: Send, sub: Subscriber, last: int) -> int:
        """Send the logged events after ``last`` until caught up; returns the last id sent."""
        sub.catching_up = True
        while not sub.closed and (self.allowed is None or self.allowed()):
            sub.dropped = False
            evs = await self.push.replay(last, self.flt)
            frames = frames_of(evs, self.flt)
            if frames:
                await self._body(send, b"".join(f for _, f in frames))
                sub.last_write = time.monotonic()
            if evs:
                last = max(last, evs[-1].id)
            # Caught up, unless live events were dropped after this read began (they are in the log).
            if len(evs) < REPLAY_PAGE and not sub.dropped:
                break
        sub.catching_up = False
        return last

    async def _live(self, send: Send, sub: Subscriber, last: int) -> None:
        while True:
            if self.allowed is not None and not self.allowed():
                await self._body(send, control_frame("revoked", b'{"reason": "this stream\'s token was revoked"}'))
                break
            if not sub.queue and not sub.overflowed:
                if sub.closed:
                    break
                await sub.wake.wait()
                sub.wake.clear()
                continue
            ending = sub.overflowed  # may turn True while we await send(): then next round
            parts = []
            for item in sub.take():
                if isinstance(item, Batch):
                    if item.ids[-1] <= last:
                        continue  # replayed already
                    parts.append(item.after(last))
                    last = item.ids[-1]
                else:
                    parts.append(item)
            if ending:
                parts.append(control_frame("overflow", json.dumps({
                    "reason": "this client fell too far behind; reconnect with Last-Event-ID to resume",
                    "last_event_id": last}).encode()))
            if parts:
                await self._body(send, b"".join(parts))
                sub.last_write = time.monotonic()
            if ending:
                break
        # The stream ends (overflow, shutdown, or the client left: then uvicorn ignores this).
        await send({"type": "http.response.body", "body": b"", "more_body": False})
