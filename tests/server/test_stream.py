"""GET /v1/stream: Server-Sent Events of the event log's events, filtered, resumable, bounded.

The engine is a FakeEngine (an in-memory log that logs, then publishes, as the
real one does); the stream runs in a real uvicorn over a real socket.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import httpx
import pytest
from pushkit import FakeEngine, Settings, make_app, serve

from airshield.server.broker import HEARTBEAT, Batch, Broker, Filter
from airshield.server.sse import SSEParser


class Reader(threading.Thread):
    """An SSE client in a thread: collects events until ``stop(events)`` is true or the stream ends."""

    def __init__(self, url: str, headers: dict | None = None, stop=None, timeout: float = 10.0):
        super().__init__(daemon=True)
        self.url, self.headers, self.stop_when, self.timeout = url, headers or {}, stop, timeout
        self.events = []
        self.status = None
        self.body = b""
        self.parser = SSEParser()
        self.connected = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=self.timeout) as r:
                self.status = r.status_code
                if r.status_code != 200:
                    self.body = r.read()
                    return
                for chunk in r.iter_raw():
                    self.events += self.parser.feed(chunk)
                    if "connected" in self.parser.comments:
                        self.connected.set()
                    if self.stop_when is not None and self.stop_when(self.events):
                        return
        except httpx.HTTPError:
            pass
        finally:
            self.connected.set()

    def ids(self, kind: str | None = None) -> list[int]:
        return [e.id for e in self.events if e.id is not None and (kind is None or e.event == kind)]

    def wait(self, timeout: float = 10.0) -> Reader:
        self.join(timeout)
        assert not self.is_alive(), f"stream still open; got {len(self.events)} events"
        return self


@pytest.fixture
def engine():
    return FakeEngine()


def _serve(engine, tmp_path, **kw):
    return serve(make_app(engine, Settings(tmp_path, **kw)))


@pytest.fixture
def url(engine, tmp_path):
    with _serve(engine, tmp_path) as base:
        yield base


def _until(n: int, kind: str | None = None):
    return lambda evs: sum(1 for e in evs if e.id is not None and (kind is None or e.event == kind)) >= n


# ----------------------------------------------------------------- live


def test_an_alert_arrives_as_an_sse_frame_with_the_log_id_and_the_log_line(engine, url):
    r = Reader(f"{url}/v1/stream", stop=_until(1))
    assert r.connected.wait(5)
    [ev] = engine.emit(("alert", "UA-30", b'{"type":"alert","region":"UA-30","state":"alert"}'))
    r.wait()
    assert r.status == 200
    [got] = r.events
    assert (got.id, got.event) == (ev.id, "alert")
    assert got.data.encode() == ev.data  # the log's bytes, unchanged
    assert got.published is not None and abs(got.published - time.time()) < 5


def test_by_default_the_stream_carries_alerts_only(engine, url):
    r = Reader(f"{url}/v1/stream", stop=_until(2))
    assert r.connected.wait(5)
    engine.emit(("track", None), ("alert", "UA-30"), ("audit", "UA-30"), ("alert", "UA-32"))
    assert r.wait().ids() == [2, 4]


def test_regions_filter_alerts_and_tracks_pass_it(engine, url):
    alerts = Reader(f"{url}/v1/stream?regions=UA-30,UA-46", stop=_until(3))
    both = Reader(f"{url}/v1/stream?kinds=alert,track&regions=UA-30",
                  headers={"Authorization": "Bearer viewer-token"}, stop=_until(3))
    assert alerts.connected.wait(5) and both.connected.wait(5)
    engine.emit(("alert", "UA-32"), ("alert", "UA-30"), ("track", None), ("alert", "UA-46"), ("alert", "UA-30"))
    assert alerts.wait().ids() == [2, 4, 5]
    assert both.wait().ids() == [2, 3, 5]
    assert [e.event for e in both.events] == ["alert", "track", "alert"]


def test_tracks_need_a_viewer_token_and_audit_an_operator_token(url):
    def status(query: str, token: str | None = None) -> int:
        h = {"Authorization": f"Bearer {token}"} if token else {}
        with httpx.stream("GET", f"{url}/v1/stream?{query}", headers=h, timeout=5) as r:
            return r.status_code

    assert status("kinds=track") == 401
    assert status("kinds=track", "no-such-token") == 401
    assert status("kinds=track", "viewer-token") == 200
    assert status("kinds=audit", "viewer-token") == 403
    assert status("kinds=audit", "operator-token") == 200
    assert status("kinds=alert,track,audit", "admin-token") == 200


def test_an_unknown_kind_or_region_or_a_malformed_last_event_id_is_a_clear_4xx(url):
    r = httpx.get(f"{url}/v1/stream?kinds=alert,weather", timeout=5)
    assert r.status_code == 422 and "weather" in r.text
    r = httpx.get(f"{url}/v1/stream?regions=UA-30,XX-99", timeout=5)
    assert r.status_code == 422 and "XX-99" in r.text
    r = httpx.get(f"{url}/v1/stream", headers={"Last-Event-ID": "yesterday"}, timeout=5)
    assert r.status_code == 400
    for bad in ("-3", "abc"):  # the same answer as the header's
        r = httpx.get(f"{url}/v1/stream?last_event_id={bad}", timeout=5)
        assert r.status_code == 400 and "last_event_id" in r.text


def test_an_idle_stream_gets_heartbeat_comments(engine, tmp_path):
    with _serve(engine, tmp_path, heartbeat_s=0.2) as base:
        r = Reader(f"{base}/v1/stream", stop=lambda evs: False, timeout=3)
        assert r.connected.wait(5)
        time.sleep(1.0)
        assert r.parser.comments.count("heartbeat") >= 2


# --------------------------------------------------------------- resume


def test_resuming_with_last_event_id_replays_what_was_missed_then_goes_live(engine, url):
    first = Reader(f"{url}/v1/stream", stop=_until(3))
    assert first.connected.wait(5)
    engine.emit(*[("alert", "UA-30")] * 3)
    assert first.wait().ids() == [1, 2, 3]
    engine.emit(*[("alert", "UA-30")] * 4)  # while the client is away: 4..7
    second = Reader(f"{url}/v1/stream", headers={"Last-Event-ID": str(first.parser.last_id)}, stop=_until(6))
    assert second.connected.wait(5)
    time.sleep(0.2)
    engine.emit(("alert", "UA-30"), ("alert", "UA-30"))  # live: 8, 9
    assert second.wait().ids() == [4, 5, 6, 7, 8, 9]


def test_the_query_parameter_last_event_id_resumes_like_the_header(engine, url):
    engine.emit(*[("alert", "UA-30")] * 5)
    r = Reader(f"{url}/v1/stream?last_event_id=2", stop=_until(3))
    assert r.wait().ids() == [3, 4, 5]


def test_a_last_event_id_past_the_logs_end_is_taken_as_up_to_date_and_the_stream_goes_live(engine, url):
    # A browser resends its Last-Event-ID by itself: after the service starts on a new data
    # directory, every reconnecting client would otherwise wait for an id the log may never reach.
    engine.emit(*[("alert", "UA-30")] * 3)
    for resume in ({"headers": {"Last-Event-ID": "1000000"}}, {"query": "?last_event_id=99999999999999999999"}):
        r = Reader(f"{url}/v1/stream{resume.get('query', '')}", headers=resume.get("headers"), stop=_until(1))
        assert r.connected.wait(5)
        time.sleep(0.2)
        [ev] = engine.emit(("alert", "UA-30"))
        assert r.wait().ids() == [ev.id]


def test_a_stream_whose_token_is_revoked_ends_at_its_next_wake(engine, tmp_path):
    app = make_app(engine, Settings(tmp_path, heartbeat_s=0.2))
    with serve(app) as base:
        r = Reader(f"{base}/v1/stream?kinds=track", headers={"Authorization": "Bearer viewer-token"},
                   stop=lambda evs: False, timeout=5)
        assert r.connected.wait(5)
        engine.emit(("track", None))
        time.sleep(0.3)
        app.state.server._p.clear()  # every token revoked
        r.wait(5)  # ends by itself, at the next heartbeat at the latest
    assert [e.event for e in r.events] == ["track", "revoked"]


def test_past_the_most_streams_a_new_one_is_told_to_come_back_later(engine, tmp_path):
    app = make_app(engine, Settings(tmp_path))
    app.state.push.max_subscribers = 2
    with serve(app) as base:
        first, second = (Reader(f"{base}/v1/stream", stop=lambda evs: False, timeout=5) for _ in range(2))
        assert first.connected.wait(5) and second.connected.wait(5)
        r = httpx.get(f"{base}/v1/stream", timeout=5)
        assert r.status_code == 503 and r.headers["retry-after"] == "30"


def test_resume_hands_over_from_the_log_to_live_with_no_gap_and_no_duplicate(tmp_path):
    """Events keep coming while the log is read (slowly): each id arrives exactly once, in order."""
    engine = FakeEngine(read_delay_s=0.05)
    total = 400
    with _serve(engine, tmp_path) as base:
        engine.emit(*[("alert", "UA-30")] * 100)
        stop = threading.Event()

        def produce():
            while not stop.is_set() and engine.last_event_id < total:
                engine.emit(("alert", "UA-30"), ("track", None), ("alert", "UA-32"))
                time.sleep(0.002)

        p = threading.Thread(target=produce)
        p.start()
        readers = [Reader(f"{base}/v1/stream", headers={"Last-Event-ID": str(k)},
                          stop=lambda evs: bool(evs) and evs[-1].id >= total - 2) for k in (0, 10, 50, 99)]
        p.join(30)
        stop.set()
        want_all = [e.id for e in engine.log if e.kind == "alert"]
        for k, r in zip((0, 10, 50, 99), readers, strict=True):
            got = r.wait(15).ids()
            assert got == [i for i in want_all if i > k]


def test_a_restarted_service_replays_from_the_log_to_a_resuming_client(engine, tmp_path):
    with _serve(engine, tmp_path):
        engine.emit(*[("alert", "UA-30")] * 5)
    with _serve(engine, tmp_path) as base:  # a new process: its fan-out has published nothing yet
        r = Reader(f"{base}/v1/stream", headers={"Last-Event-ID": "2"}, stop=_until(3))
        assert r.wait().ids() == [3, 4, 5]


# --------------------------------------------------- slow subscribers


def test_a_slow_subscriber_is_cut_off_with_an_overflow_event_and_resumes_without_loss(engine, tmp_path):
    big = b'{"type":"alert","pad":"' + b"x" * 20_000 + b'"}'
    with _serve(engine, tmp_path, max_queue=50) as base:
        port = int(base.rsplit(":", 1)[1])
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # before connect: a small window
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)  # subscribed; now it reads nothing
        slowest = 0.0
        for _ in range(40):
            t0 = time.perf_counter()
            engine.emit(*[("alert", "UA-30", big)] * 10)
            slowest = max(slowest, time.perf_counter() - t0)
            time.sleep(0.01)
        assert slowest < 0.1, "the engine was held up by a slow client"
        raw = b""
        s.settimeout(10)
        while b"event: overflow" not in raw:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            raw += chunk
        s.close()
        assert b"event: overflow" in raw
        # The frames before the overflow (dechunk by parsing SSE lines only).
        parser = SSEParser()
        evs = parser.feed(b"\n".join(line for line in raw.split(b"\r\n") if not _is_chunk_size(line)))
        seen = [e.id for e in evs if e.id is not None]
        overflow = [e for e in evs if e.event == "overflow"]
        last = json.loads(overflow[0].data)["last_event_id"]
        assert seen == list(range(1, last + 1)) and last < 400
        rest = Reader(f"{base}/v1/stream", headers={"Last-Event-ID": str(last)},
                      stop=lambda evs: bool(evs) and evs[-1].id == 400)
        assert rest.wait().ids() == list(range(last + 1, 401))


def test_a_client_that_reads_nothing_is_disconnected_after_the_grace_period(engine, tmp_path, monkeypatch):
    import airshield.server.broker as broker

    monkeypatch.setattr(broker, "OVERFLOW_GRACE_S", 0.3)
    big = b'{"type":"alert","pad":"' + b"x" * 300_000 + b'"}'
    with _serve(engine, tmp_path, max_queue=20) as base:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", int(base.rsplit(":", 1)[1])))
        s.sendall(b"GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        # First more than the kernel can buffer (5.7 MB; tcp_wmem's largest send buffer is
        # 4 MB), within the queue's limit: the writer blocks in send() on the full socket.
        engine.emit(*[("alert", "UA-30", big)] * 19)
        time.sleep(0.5)
        engine.emit(*[("alert", "UA-30", big)] * 30)  # then the queue overflows while it is blocked
        time.sleep(1.0)  # overflowed, and its writer stuck on the full socket for longer than the grace
        s.settimeout(10)
        raw = b""
        while chunk := s.recv(1 << 16):  # what the kernel still holds, then the server's close
            raw += chunk
        s.close()
    assert not raw.endswith(b"0\r\n\r\n"), "the server gave up on the stream rather than finishing it"


def _is_chunk_size(line: bytes) -> bool:
    try:
        int(line, 16)
        return True
    except ValueError:
        return False


# -------------------------------------------------------- the fan-out


class _Ev:
    def __init__(self, i, kind="alert", region="UA-30"):
        self.id, self.kind, self.region, self.t, self.data = i, kind, region, 0.0, b"{}"


def test_each_event_is_encoded_once_and_shared_by_every_subscriber_with_the_same_filter():
    async def main():
        b = Broker()
        b.start()
        subs = [b.subscribe(Filter(frozenset({"alert"}))) for _ in range(100)]
        b.publish([_Ev(1), _Ev(2)])
        batches = [s.queue[0] for s in subs]
        assert all(x is batches[0] for x in batches)  # one object, referenced 100 times
        assert batches[0].ids == (1, 2)
        b.stop()

    asyncio.run(main())


def test_a_full_queue_disconnects_only_that_subscriber_and_never_blocks_the_publisher():
    async def main():
        b = Broker(max_queue=3)
        b.start()
        slow = b.subscribe(Filter(frozenset({"alert"})))
        fast = b.subscribe(Filter(frozenset({"alert"})))
        for i in range(1, 6):
            b.publish([_Ev(i)])
            fast.take()  # the fast one keeps up
        assert slow.overflowed and slow.closed and not slow.queue
        assert not fast.overflowed and b.subscribers == [fast]
        b.stop()

    asyncio.run(main())


def test_a_heartbeat_is_queued_only_for_idle_subscribers():
    async def main():
        b = Broker(heartbeat_s=0.05)
        b.start()
        idle = b.subscribe(Filter(frozenset({"alert"})))
        await asyncio.sleep(0.12)
        assert HEARTBEAT in idle.queue
        b.stop()

    asyncio.run(main())


def test_the_hand_over_drops_the_live_events_that_were_replayed():
    frames = (b"a", b"b", b"c")
    batch = Batch((5, 6, 7), frames, b"".join(frames))
    assert batch.after(4) == b"abc"
    assert batch.after(5) == b"bc"
    assert batch.after(7) == b""


def test_only_an_operator_streams_who_acted_by_hand_and_their_note(engine, tmp_path):
    line = json.dumps({"type": "alert", "region": "UA-30", "state": "alert",
                       "reason": {"rule": "operator-raise", "text": "Duty officer: source Ivan",
                                  "threats": [{"id": "T1", "cls": "drone", "lat": 50.4567, "lon": 30.5123}],
                                  "operator": {"action": "raise", "user": "duty-1", "note": "source Ivan",
                                               "until": 1.0}}},
                      separators=(",", ":")).encode()
    with _serve(engine, tmp_path, public_coarsen_m=5000.0) as base:
        readers = {who: Reader(f"{base}/v1/stream", headers={"Authorization": f"Bearer {who}-token"} if who else {},
                               stop=_until(1)) for who in ("", "viewer", "operator")}
        assert all(r.connected.wait(5) for r in readers.values())
        [ev] = engine.emit(("alert", "UA-30", line))
        got = {who: r.wait().events[0].data for who, r in readers.items()}
        assert got["operator"].encode() == ev.data
        for who in ("", "viewer"):
            assert "Ivan" not in got[who] and "duty-1" not in got[who]
        # A viewer's positions stay exact.
        assert json.loads(got["viewer"])["reason"]["threats"][0]["lat"] == 50.4567


def test_the_public_gets_alert_threat_positions_on_the_coarse_grid_and_a_viewer_exactly(engine, tmp_path):
    line = json.dumps({"type": "alert", "region": "UA-30", "state": "alert",
                       "reason": {"threats": [{"id": "T1", "cls": "drone", "lat": 50.4567, "lon": 30.5123}]}},
                      separators=(",", ":")).encode()
    with _serve(engine, tmp_path, public_coarsen_m=5000.0) as base:
        public = Reader(f"{base}/v1/stream", stop=_until(1))
        viewer = Reader(f"{base}/v1/stream", headers={"Authorization": "Bearer viewer-token"}, stop=_until(1))
        assert public.connected.wait(5) and viewer.connected.wait(5)
        [ev] = engine.emit(("alert", "UA-30", line))
        [pub] = public.wait().events
        [full] = viewer.wait().events
        assert full.data.encode() == ev.data
        t = json.loads(pub.data)["reason"]["threats"][0]
        dlat = 5000.0 / 111_320.0
        assert t["lat"] != 50.4567 and abs(t["lat"] / dlat - round(t["lat"] / dlat)) < 2e-3
        # Replayed from the log (Last-Event-ID) the public form is the same.
        again = Reader(f"{base}/v1/stream", headers={"Last-Event-ID": "0"}, stop=_until(1))
        assert again.wait().events[0].data == pub.data
