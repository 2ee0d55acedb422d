"""kill -9 mid-night, restart on the same data dir: nothing acknowledged is lost, the alerts are the same.

Two services are fed the same part of the tiny night (18:00-19:45 UTC: the drones over Sumy, the first alerts) by
the feeder, which retries a failed request with its Idempotency-Key as a real gateway would:

* A runs uninterrupted;
* B is killed with SIGKILL while the feeder is posting (a request in flight), restarted on the
  same data dir and port, and the feeder carries on.

Then both nights are closed (the data clock runs on until every region is quiet) and compared
from their event logs.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime

import httpx
from servicekit import start_service

from airshield.server import feeder
from airshield.sources.ndjson import decode_report, encode_report

UNTIL = datetime.fromisoformat("2025-10-01T19:45:00+00:00").timestamp()


def _events(data, kind: str) -> list[bytes]:
    db = sqlite3.connect(f"file:{data / 'events.sqlite'}?mode=ro", uri=True)
    try:
        return [bytes(b) for (b,) in db.execute("SELECT body FROM events WHERE kind = ? ORDER BY seq", (kind,))]
    finally:
        db.close()


def _reports(data) -> list[bytes]:
    db = sqlite3.connect(f"file:{data / 'events.sqlite'}?mode=ro", uri=True)
    try:
        return [bytes(b) for (b,) in db.execute("SELECT body FROM reports ORDER BY seq")]
    finally:
        db.close()


def _close(svc, night) -> None:
    with svc.client(svc.admin) as c:
        end = min(UNTIL, night.arrival[-1]) + 4 * 3600
        r = c.post("/v1/clock", json={"now": end, "until_idle": True}, timeout=300)
        assert r.status_code == 200, r.text


def test_kill_9_mid_night_loses_no_acknowledged_report_and_gives_the_same_alerts(tmp_path, tiny_night, tiny_feed):
    night = tiny_feed
    a = start_service(tmp_path / "a", tiny_night)
    try:
        a.feed(night, until=UNTIL)
        _close(a, night)
    finally:
        a.stop()

    b = start_service(tmp_path / "b", tiny_night)
    acked: list[int] = []  # report indices of acknowledged requests
    replies: list[dict] = []
    planned = [r for r in feeder.plan(night, b.sensor_tokens) if r.slice * 5.0 < UNTIL]
    n_requests = len(planned)
    kill_at = n_requests // 2
    killed = threading.Event()

    def on_reply(req, reply):
        acked.extend(req.idx)
        replies.append(reply)

    def killer():
        while len(replies) < kill_at:
            time.sleep(0.001)
        b.kill()  # while the feeder posts the next request
        killed.set()
        b.start()

    k = threading.Thread(target=killer)
    k.start()
    try:
        with httpx.Client(base_url=b.url, timeout=30.0) as c:
            st = feeder.feed(c, night, b.sensor_tokens, until=UNTIL, on_reply=on_reply, retry_s=120.0)
        k.join(120)
        assert killed.is_set()
        assert st.retries > 0, "the feeder must have met the dead service"
        _close(b, night)
    finally:
        b.stop()

    # No acknowledged report lost: every one is in B's log, once.
    logged = _reports(b.data)
    assert len(logged) == len(set(logged))
    have = set(logged)
    missing = [i for i in acked if encode_report(decode_report(night.lines[i])) not in have]
    assert not missing, f"{len(missing)} acknowledged reports are not in the log"
    # Every request was acknowledged in the end (the one in flight at the kill by its retry).
    assert sorted(acked) == sorted(i for r in planned for i in r.idx)
    # The same night as without the crash: the same reports in the same order, the same alerts, tracks, audit.
    assert logged == _reports(a.data)
    assert _events(b.data, "alert") == _events(a.data, "alert")
    assert len(_events(a.data, "alert")) > 5
    assert _events(b.data, "track") == _events(a.data, "track")
    assert "recovered" in b.log_text()
