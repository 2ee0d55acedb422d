"""Test harness for push: a fake engine with an in-memory log, and an app served in a thread.

The SSE and webhook tests drive the push machinery through real sockets
(uvicorn), with the engine replaced by :class:`FakeEngine`, whose ``emit`` plays
the engine thread's part: the events go into the log first, then to the
subscribers, exactly the order the real engine keeps (events.py).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from airshield.server.events import PushEvent
from airshield.server.state import Principal, hash_token


class FakeEngine:
    """An append-only list as the event log; ``subscribe`` / ``events_after`` as the Engine's.

    ``read_delay_s`` slows each log read (to widen the replay/live race in tests).
    """

    region_ids = ("UA-30", "UA-32", "UA-46", "UA-59", "UA-63")

    def __init__(self, read_delay_s: float = 0.0):
        self.log: list[PushEvent] = []
        self.subs: list = []
        self.read_delay_s = read_delay_s
        self._lock = threading.Lock()

    def subscribe(self, fn):
        self.subs.append(fn)
        return lambda: self.subs.remove(fn)

    def events_after(self, seq: int, kinds=None, limit: int = 1000, regions=None) -> list[PushEvent]:
        if self.read_delay_s:
            time.sleep(self.read_delay_s)
        with self._lock:
            evs = [e for e in self.log if e.id > seq and (not kinds or e.kind in kinds)
                   and (not regions or (e.kind != "track" and e.region in regions))]
        return evs[:limit]

    def emit(self, *events: tuple[str, str | None] | tuple[str, str | None, bytes]) -> list[PushEvent]:
        """Log then publish events given as (kind, region[, data]); returns them."""
        with self._lock:
            out = []
            for spec in events:
                kind, region = spec[0], spec[1]
                i = len(self.log) + 1
                data = spec[2] if len(spec) > 2 else b'{"type":"%s","n":%d,"region":"%s"}' % (
                    kind.encode(), i, (region or "").encode())
                ev = PushEvent(i, kind, region, 1_764_000_000.0 + i, data)
                self.log.append(ev)
                out.append(ev)
        for fn in list(self.subs):
            fn(out)
        return out

    @property
    def last_event_id(self) -> int:
        return len(self.log)


class FakeServerState:
    """The part of ServerState that auth uses: token -> principal."""

    def __init__(self, tokens: dict[str, str]):
        self._p = {hash_token(t): Principal(role, role, hash_token(t)) for t, role in tokens.items()}

    def principal(self, token: str) -> Principal | None:
        return self._p.get(hash_token(token))

    def is_live(self, token_hash: str) -> bool:
        return token_hash in self._p


@dataclass
class Settings:
    data_dir: Path
    max_queue: int = 2048
    heartbeat_s: float = 15.0
    webhook_options: dict = field(default_factory=dict)
    public_coarsen_m: float = 0.0


TOKENS = {"admin-token": "admin", "viewer-token": "viewer", "operator-token": "operator"}


def make_app(engine: FakeEngine, settings: Settings) -> FastAPI:
    from airshield.server import push

    app = FastAPI()
    app.state.server = FakeServerState(TOKENS)
    app.include_router(push.router)
    push.attach(app, engine, settings)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread; yields its base URL; stops it (lifespan included)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    t0 = time.monotonic()
    while not server.started:
        if time.monotonic() - t0 > 10 or not th.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        push = getattr(app.state, "push", None)
        if push is not None and push.broker.loop is not None:  # end the streams, as on SIGTERM
            push.broker.loop.call_soon_threadsafe(push.broker.stop)
        server.should_exit = True
        th.join(10)
