"""Fan-out of the engine's events to the SSE subscribers (docs/decisions/0020-push-fan-out.md).

The engine thread hands each step's events to :meth:`Broker.publish_threadsafe`;
everything else happens on the event loop, so the broker needs no lock:

* every event is encoded **once** as an SSE frame (``id``, ``event``, ``data``
  plus a ``: published=<wall s>`` comment that lets a client measure the delay);
* subscribers with the same filter (kinds, regions) form a *group*; a step's
  frames are filtered and joined once per group, and every subscriber of the
  group gets a reference to the same :class:`Batch` (a pointer, not a copy);
* each subscriber has a bounded queue counted in events. A subscriber that
  falls :attr:`Broker.max_queue` events behind is closed: its queue is replaced
  by one ``event: overflow`` frame telling it to resume with Last-Event-ID (the
  event log still holds everything), so a slow client can neither stall the
  engine nor grow the server's memory;
* one timer sends a heartbeat comment to every subscriber that has had nothing
  for :attr:`Broker.heartbeat_s` (proxies close idle connections).

Resume without loss or duplicate (docs/decisions/0021-push-resume.md): a
subscriber is registered (so it buffers live events) *before* the log is read;
the engine publishes an event only after it is in the log, so every event after
the client's Last-Event-ID is either in what the log read returns or arrives
live afterwards, and live events whose id was already replayed are dropped by
id at the hand-over (ids are the log's ``events.seq``: global and increasing).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from airshield.server.public import public_alert_line

#: Events a subscriber may have queued before it is disconnected (an estimate: a
#: minute of alerts on the record night is far below this; track subscribers
#: get ~100 events per step, so this is ~20 steps of slack).
MAX_QUEUE = 2048
#: Seconds without a write after which a heartbeat comment is sent.
HEARTBEAT_S = 15.0
#: Seconds an overflowed subscriber's writer may stay blocked on a full socket before it is cancelled.
OVERFLOW_GRACE_S = 10.0
#: SSE ``retry:`` advice to clients, ms.
RETRY_MS = 2000
#: At most this many SSE streams at once: each holds a connection, a file descriptor (the
#: process may open 20,000 here), and ingest and the logs need some too [est: decision 0020
#: measured 1,000 subscribers on 2 cores; past 10,000, webhooks or a CDN are the way].
MAX_SUBSCRIBERS = 10_000

HEARTBEAT = b": heartbeat\n\n"

class EventLike(Protocol):
    """What the broker reads of a :class:`airshield.server.events.PushEvent`."""

    id: int
    kind: str
    region: str | None
    t: float
    data: bytes


def sse_frame(ev: EventLike, published: float | None = None) -> bytes:
    """The SSE frame of one event (the log's NDJSON line is one ``data:`` line: it holds no newline).

    ``published``: the server's wall clock when the engine published the event,
    s since epoch, as a comment line (clients ignore it; the benchmark reads it).
    Replayed events have none.
    """
    head = b": published=%.6f\n" % published if published is not None else b""
    return b"".join((head, b"id: %d\nevent: " % ev.id, ev.kind.encode(), b"\ndata: ", ev.data, b"\n\n"))


def control_frame(event: str, data: bytes) -> bytes:
    """A frame without an id (it does not move the client's Last-Event-ID)."""
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


@dataclass(frozen=True, slots=True)
class Filter:
    """Which events a subscriber wants: kinds, and regions (None: all).

    The region filter applies to events that have a region (alerts, audit);
    track events carry no region and pass it (a track is not inside one region).
    """

    kinds: frozenset[str]
    regions: frozenset[str] | None = None
    #: Not None: an anonymous subscriber; alert reasons are the public's (threat positions
    #: on this grid, m; no operator's name: server/public.py). Part of the group key: each
    #: variant is encoded once.
    public_grid: float | None = None

    def wants(self, kind: str, region: str | None) -> bool:
        if kind not in self.kinds:
            return False
        return self.regions is None or region is None or region in self.regions


@dataclass(slots=True)
class Batch:
    """Consecutive frames for one filter group: ids, the frames, and the frames joined once."""

    ids: tuple[int, ...]
    frames: tuple[bytes, ...]
    data: bytes

    def after(self, last: int) -> bytes:
        """The joined frames of the events with id > ``last`` (the hand-over from replay to live)."""
        if self.ids[0] > last:
            return self.data
        return b"".join(f for i, f in zip(self.ids, self.frames, strict=True) if i > last)


@dataclass(eq=False, slots=True)
class Subscriber:
    """One SSE connection's queue (see :class:`Broker`)."""

    filter: Filter
    queue: deque = field(default_factory=deque)  # Batch | bytes (heartbeat, overflow)
    queued: int = 0  # events in ``queue``
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False  # no more events will be queued; the writer ends after the queue
    overflowed: bool = False
    last_write: float = field(default_factory=time.monotonic)
    catching_up: bool = False  # replaying from the log: the live queue may be dropped instead of closing
    dropped: bool = False  # the live queue was dropped while catching up (read the log again)
    task: asyncio.Task | None = None  # the writer, cancelled if it stays stuck after an overflow

    def put(self, item: Batch | bytes, n: int) -> None:
        self.queue.append(item)
        self.queued += n
        self.wake.set()

    def take(self) -> list:
        items = list(self.queue)
        self.queue.clear()
        self.queued = 0
        self.wake.clear()
        return items


class Broker:
    """The SSE fan-out; lives on one event loop (see module doc).

    Args:
        max_queue: events a subscriber may have queued before it is disconnected.
        heartbeat_s: idle seconds before a heartbeat comment.
    """

    def __init__(self, max_queue: int = MAX_QUEUE, heartbeat_s: float = HEARTBEAT_S):
        self.max_queue = int(max_queue)
        self.heartbeat_s = float(heartbeat_s)
        self.groups: dict[Filter, set[Subscriber]] = {}
        self.last_id = 0  # the last event id handed to the fan-out
        self.loop: asyncio.AbstractEventLoop | None = None
        self._hb: asyncio.TimerHandle | None = None
        self._listeners: list = []  # callables run (on the loop) after each publish: webhook workers
        self.closed = False
        self.published = 0  # events handed to the fan-out (a counter for /metrics)
        self.overflows = 0  # subscribers cut off because their queue was full

    # ------------------------------------------------------------- lifecycle

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Bind to the running loop and start the heartbeat timer."""
        self.loop = loop or asyncio.get_running_loop()
        self._hb = self.loop.call_later(self.heartbeat_s, self._heartbeat)

    def stop(self) -> None:
        """Close every subscriber (their streams end) and stop the timer."""
        self.closed = True
        if self._hb is not None:
            self._hb.cancel()
        for sub in list(self.subscribers):
            sub.closed = True
            sub.wake.set()
        self.groups.clear()

    def on_publish(self, fn) -> None:
        """Call ``fn(last_id)`` on the loop after each publish (wakes the webhook workers)."""
        self._listeners.append(fn)

    @property
    def subscribers(self) -> list[Subscriber]:
        return [s for g in self.groups.values() for s in g]

    def n_subscribers(self) -> int:
        """How many subscribers are open (without listing them)."""
        return sum(len(g) for g in self.groups.values())

    def queued_events(self) -> int:
        return sum(s.queued for s in self.subscribers)

    def max_queued(self) -> int:
        return max((s.queued for s in self.subscribers), default=0)

    # ---------------------------------------------------------- subscribers

    def subscribe(self, flt: Filter) -> Subscriber:
        """Register a subscriber; from now on it queues every published event it wants."""
        sub = Subscriber(flt)
        self.groups.setdefault(flt, set()).add(sub)
        if self.closed:
            sub.closed = True
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        group = self.groups.get(sub.filter)
        if group is not None:
            group.discard(sub)
            if not group:
                del self.groups[sub.filter]
        sub.closed = True
        sub.wake.set()

    def _overflow(self, sub: Subscriber) -> None:
        """Close a subscriber that fell too far behind: its queue becomes one overflow frame."""
        self.overflows += 1
        self.unsubscribe(sub)
        sub.queue.clear()
        sub.queued = 0
        sub.overflowed = True
        # A client that reads nothing keeps the writer waiting in send() for ever: end it.
        if sub.task is not None and self.loop is not None:
            task = sub.task
            self.loop.call_later(OVERFLOW_GRACE_S, lambda: task.done() or task.cancel())

    # ------------------------------------------------------------ publishing

    def publish_threadsafe(self, events: Sequence[EventLike]) -> None:
        """For the engine thread: hand over a step's events (already in the log); never blocks."""
        if not events or self.loop is None or self.closed:
            return
        published = time.time()
        with contextlib.suppress(RuntimeError):  # the loop is closed: the service is stopping
            self.loop.call_soon_threadsafe(self.publish, events, published)

    def publish(self, events: Sequence[EventLike], published: float | None = None) -> None:
        """Fan out ``events`` (increasing ids) to every subscriber that wants them; on the loop."""
        if not events:
            return
        published = time.time() if published is None else published
        frames = [(ev.id, ev.kind, ev.region, sse_frame(ev, published)) for ev in events]
        public: dict[float, list] = {}  # grid -> frames with public alert reasons
        self.published += len(events)
        self.last_id = max(self.last_id, frames[-1][0])
        for flt, group in list(self.groups.items()):
            src = frames
            if flt.public_grid is not None:
                src = public.get(flt.public_grid)
                if src is None:
                    src = public[flt.public_grid] = [
                        (i, k, r, sse_frame(public_event(ev, flt.public_grid), published) if k == "alert" else f)
                        for ev, (i, k, r, f) in zip(events, frames, strict=True)]
            picked = [(i, f) for i, k, r, f in src if flt.wants(k, r)]
            if not picked:
                continue
            ids = tuple(i for i, _ in picked)
            fr = tuple(f for _, f in picked)
            batch = Batch(ids, fr, b"".join(fr))
            n = len(ids)
            for sub in list(group):
                if sub.queued + n > self.max_queue:
                    if sub.catching_up:
                        # Replaying from the log: the log has these events; drop the live queue.
                        sub.queue.clear()
                        sub.queued = 0
                        sub.dropped = True
                    else:
                        self._overflow(sub)
                    continue
                sub.put(batch, n)
        for fn in self._listeners:
            fn(self.last_id)

    def _heartbeat(self) -> None:
        now = time.monotonic()
        for sub in self.subscribers:
            if now - sub.last_write >= self.heartbeat_s * 0.9 and not sub.queue:
                sub.put(HEARTBEAT, 0)
        if not self.closed and self.loop is not None:
            self._hb = self.loop.call_later(self.heartbeat_s, self._heartbeat)


def parse_csv(value: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def frames_of(events: Iterable[EventLike], flt: Filter) -> list[tuple[int, bytes]]:
    """(id, frame) of the logged events a subscriber wants (replay)."""
    return [(ev.id, sse_frame(public_event(ev, flt.public_grid) if flt.public_grid is not None else ev))
            for ev in events if flt.wants(ev.kind, ev.region)]


@dataclass(frozen=True, slots=True)
class _Event:
    id: int
    kind: str
    region: str | None
    t: float
    data: bytes


def public_event(ev: EventLike, grid_m: float) -> EventLike:
    """``ev`` as the public may see it (server/public.py)."""
    if ev.kind != "alert":
        return ev
    return _Event(ev.id, ev.kind, ev.region, ev.t, public_alert_line(ev.data, grid_m))
