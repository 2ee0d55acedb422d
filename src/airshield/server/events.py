"""What the engine publishes after each step: one :class:`PushEvent` per logged event.

The push machinery (SSE stream, webhooks) consumes these; the event log is
their source, so an event's ``id`` is the log's ``events.seq`` (a global,
monotone id) and its ``data`` the exact NDJSON line the log holds. A client
resuming with ``Last-Event-ID: n`` therefore misses nothing: everything with
``id > n`` is in the log (:meth:`airshield.server.engine.Engine.events_after`).
"""

from __future__ import annotations

import msgspec


class PushEvent(msgspec.Struct, frozen=True, gc=False):
    """One event of the log, as pushed.

    Attributes:
        id: the event log's ``events.seq``.
        kind: ``track``, ``alert`` or ``audit``.
        region: the region id for ``alert`` and ``audit`` events; None for tracks.
        t: the event's time, s since the Unix epoch.
        data: the NDJSON line exactly as in the log (no newline).
    """

    id: int
    kind: str
    region: str | None
    t: float
    data: bytes
