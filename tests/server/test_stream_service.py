"""The stream of the real service (a subprocess) during the tiny night, across a kill -9.

A public client streams alerts and a viewer streams tracks while the feeder posts the
drones over Sumy; the service is killed with SIGKILL mid-night and restarted; the public
client reconnects with its Last-Event-ID. In the end it has every alert of the event log
exactly once, in log order, byte for byte as logged.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime

import httpx
from servicekit import start_service

from airshield.server import feeder
from airshield.server.public import public_alert_line
from airshield.server.sse import SSEParser

UNTIL = datetime.fromisoformat("2025-10-01T20:30:00+00:00").timestamp()


class Stream(threading.Thread):
    """Reads an SSE stream until it ends (the service died) or ``stop`` is set."""

    def __init__(self, url: str, headers: dict | None = None):
        super().__init__(daemon=True)
        self.url, self.headers = url, headers or {}
        self.parser = SSEParser()
        self.events = []
        self.connected = threading.Event()
        self.stop = threading.Event()
        self.start()

    def run(self):
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=httpx.Timeout(5, read=60)) as r:
                assert r.status_code == 200
                self.connected.set()
                for chunk in r.iter_raw():
                    self.events += self.parser.feed(chunk)
                    if self.stop.is_set():
                        return
        except httpx.HTTPError:
            pass  # the service was killed


def _logged(data, kind: str) -> list[tuple[int, bytes]]:
    db = sqlite3.connect(f"file:{data / 'events.sqlite'}?mode=ro", uri=True)
    try:
        return [(int(s), bytes(b)) for s, b in db.execute("SELECT seq, body FROM events WHERE kind = ? ORDER BY seq",
                                                          (kind,))]
    finally:
        db.close()


def _metric(text: str, name: str) -> float:
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


def test_a_client_gets_every_alert_once_in_order_across_a_kill_9_of_the_service(tmp_path, tiny_night, tiny_feed):
    night = tiny_feed
    svc = start_service(tmp_path, tiny_night)
    try:
        public = Stream(f"{svc.url}/v1/stream")
        viewer = Stream(f"{svc.url}/v1/stream?kinds=track", {"Authorization": f"Bearer {svc.viewer}"})
        assert public.connected.wait(10) and viewer.connected.wait(10)
        with svc.client() as c:
            m = c.get("/metrics").text
        assert _metric(m, "airshield_push_subscribers") == 2

        planned = [q for q in feeder.plan(night, svc.sensor_tokens) if q.slice * 5.0 < UNTIL]
        half = len(planned) // 2
        with httpx.Client(base_url=svc.url, timeout=30.0) as c:
            feeder.feed(c, night, svc.sensor_tokens, until=UNTIL, stop_after=half)
        time.sleep(0.5)
        svc.kill()
        public.join(10)
        assert not public.is_alive(), "the stream ends when the service dies"
        before = list(public.events)
        assert any(e.event == "alert" for e in before), "some alerts came before the kill"
        assert any(e.event == "track" for e in viewer.events)

        svc.start()
        resumed = Stream(f"{svc.url}/v1/stream", {"Last-Event-ID": str(public.parser.last_id)})
        assert resumed.connected.wait(10)
        with httpx.Client(base_url=svc.url, timeout=30.0) as c:
            feeder.feed(c, night, svc.sensor_tokens, until=UNTIL, retry_s=120.0)  # duplicates are recognised
        with svc.client(svc.admin) as c:
            r = c.post("/v1/clock", json={"now": min(UNTIL, night.arrival[-1]) + 4 * 3600, "until_idle": True},
                       timeout=300)
            assert r.status_code == 200, r.text
        logged = _logged(svc.data, "alert")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not resumed.events or resumed.events[-1].id < logged[-1][0]):
            time.sleep(0.05)
        resumed.stop.set()
    finally:
        svc.stop()
    got = [(e.id, e.data.encode()) for e in before + resumed.events if e.id is not None]
    assert len(logged) > 5
    # Every alert once, in order, as logged (the public's form: threat positions on the 5 km grid).
    assert got == [(i, public_alert_line(b, 5000.0)) for i, b in logged]
    assert any(g != b for (_, g), (_, b) in zip(got, logged, strict=True)), "positions were coarsened"
    assert all(e.event == "alert" for e in before + resumed.events if e.id is not None)


def test_stopping_the_service_ends_every_stream_at_once(tmp_path):
    svc = start_service(tmp_path, None)
    try:
        streams = [Stream(f"{svc.url}/v1/stream") for _ in range(3)]
        assert all(s.connected.wait(10) for s in streams)
        t0 = time.monotonic()
        svc.stop()  # SIGINT, as a service manager stops it
        stopped = time.monotonic() - t0
        for s in streams:
            s.join(5)
            assert not s.is_alive()
    finally:
        svc.kill()
    assert svc.proc.returncode == 0 and stopped < 3.0  # not held up by the open streams
