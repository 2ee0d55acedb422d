"""kill -9 of the service mid-night: no webhook is lost, and each region's alerts arrive in order.

A real HTTP receiver runs in the test (slow, and failing now and then, so that deliveries
are in flight and retried when the service dies). The service (a subprocess) is fed the
tiny night's drones over Sumy, killed with SIGKILL while the feeder posts and while
webhooks are being delivered, restarted on the same data dir, fed the rest, and the night
closed. Then every alert event of the log must have reached the receiver, each region's
alerts in log order; an id may arrive twice only as a redelivery (at least once).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import defaultdict
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from servicekit import start_service

from airshield.server import feeder
from airshield.server.webhooks import verify

UNTIL = datetime.fromisoformat("2025-10-01T20:30:00+00:00").timestamp()
SECRET = "crash-test-secret-0123456789"


class Receiver:
    """Records every POSTed event in arrival order; every 4th POST gets a 500; each takes 20 ms."""

    def __init__(self):
        self.events: list[dict] = []
        self.posts = 0
        self.bad_signatures = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(0.02)
                with outer.lock:
                    outer.posts += 1
                    fail = outer.posts % 4 == 0
                    if not verify(SECRET, self.headers["X-Airshield-Timestamp"], body,
                                  self.headers["X-Airshield-Signature"]):
                        outer.bad_signatures += 1
                    elif not fail:
                        outer.events += json.loads(body)["events"]
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/airshield"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _logged_alerts(data) -> list[tuple[int, str]]:
    db = sqlite3.connect(f"file:{data / 'events.sqlite'}?mode=ro", uri=True)
    try:
        return [(int(s), k) for s, k in db.execute("SELECT seq, key FROM events WHERE kind = 'alert' ORDER BY seq")]
    finally:
        db.close()


def test_kill_9_mid_night_loses_no_webhook_and_keeps_each_regions_order(tmp_path, tiny_night, tiny_feed):
    night = tiny_feed
    rx = Receiver()
    svc = start_service(tmp_path, tiny_night)
    try:
        with svc.client(svc.admin) as c:
            r = c.post("/v1/webhooks", json={"url": rx.url, "secret": SECRET, "after": 0})
            assert r.status_code == 201, r.text

        planned = [q for q in feeder.plan(night, svc.sensor_tokens) if q.slice * 5.0 < UNTIL]
        replies: list[dict] = []
        killed = threading.Event()
        alerts_before_kill: list[int] = []

        def killer():
            # Mid-night, once some alerts have gone out (deliveries in flight and cursors moving).
            while len(replies) < len(planned) // 2 or not rx.events:
                time.sleep(0.001)
            alerts_before_kill.append(len(rx.events))
            svc.kill()
            killed.set()
            svc.start()

        k = threading.Thread(target=killer)
        k.start()
        with httpx.Client(base_url=svc.url, timeout=30.0) as c:
            feeder.feed(c, night, svc.sensor_tokens, until=UNTIL, retry_s=120.0,
                        on_reply=lambda req, reply: replies.append(reply))
        k.join(120)
        assert killed.is_set()
        with svc.client(svc.admin) as c:
            r = c.post("/v1/clock", json={"now": min(UNTIL, night.arrival[-1]) + 4 * 3600, "until_idle": True},
                       timeout=300)
            assert r.status_code == 200, r.text
        logged = _logged_alerts(svc.data)
        assert len(logged) > 5
        want = {i for i, _ in logged}
        deadline = time.monotonic() + 60
        while not want <= {e["id"] for e in rx.events} and time.monotonic() < deadline:
            time.sleep(0.1)
        with svc.client(svc.admin) as c:
            [status] = c.get("/v1/webhooks").json()
            metrics = c.get("/metrics").text
    finally:
        svc.stop()
        rx.server.shutdown()

    got = [(e["id"], e["region"]) for e in rx.events]
    print(f"alerts {len(logged)}, received {len(got)}, before the kill {alerts_before_kill}, posts {rx.posts}")
    assert rx.bad_signatures == 0
    assert alerts_before_kill and 0 < alerts_before_kill[0] < len(logged), "the kill came mid-delivery"
    # Every alert of the log reached the receiver, and nothing else did.
    assert {i for i, _ in got} == want
    # Per region: in log order; an id seen before may come again (a redelivery), a new id never early.
    region_of = dict(logged)
    seen_by_region: dict[str, list[int]] = defaultdict(list)
    for i, region in got:
        assert region_of[i] == region
        seen = seen_by_region[region]
        if i not in seen:
            assert not seen or i > max(seen), f"{region}: alert {i} arrived after a later one"
            seen.append(i)
    for region, ids in seen_by_region.items():
        assert ids == [i for i, r in logged if r == region]
    assert status["cursor"] >= max(want) and status["backlog"] == 0
    assert "airshield_webhook_backlog 0.0" in metrics and "airshield_webhooks 1.0" in metrics
