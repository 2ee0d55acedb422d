"""Webhooks: admin-managed, HMAC-signed, retried with back-off, in order, persistent across restarts.

A real HTTP receiver runs in the test; the engine is a FakeEngine (log, then publish).
The crash test (kill -9 of the real service mid-night) is test_webhooks_crash.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pushkit import FakeEngine, Settings, free_port, make_app, serve

from airshield.server.webhooks import BACKOFF_MAX_S, backoff_s, payload, sign, verify

ADMIN = {"Authorization": "Bearer admin-token"}
FAST = {"backoff_base_s": 0.05, "backoff_max_s": 0.2, "idle_poll_s": 0.2, "rng": random.Random(1)}


class Receiver:
    """A webhook receiver: records each POST (headers, body); answers ``fail`` codes first, then 200."""

    def __init__(self, fail: list[int] | None = None):
        self.posts: list[tuple[dict, bytes]] = []
        self.fail = list(fail or [])
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    code = outer.fail.pop(0) if outer.fail else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ok_events(self, skip_failed: int = 0) -> list[dict]:
        """The events of every POST (in arrival order), flattened."""
        return [e for _, body in self.posts[skip_failed:] for e in json.loads(body)["events"]]

    def wait(self, pred, timeout: float = 10.0) -> None:
        t0 = time.monotonic()
        while not pred():
            assert time.monotonic() - t0 < timeout, f"receiver got {len(self.posts)} posts"
            time.sleep(0.02)

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _subscribe(base: str, url: str, **body) -> dict:
    r = httpx.post(f"{base}/v1/webhooks", json={"url": url, **body}, headers=ADMIN, timeout=5)
    assert r.status_code == 201, r.text
    return r.json()


# ------------------------------------------------------------- signing


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    body = b'{"webhook":"wh_1","events":[]}'
    want = "sha256=" + hmac.new(b"s3cret-key-of-16+", b"1764170000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret-key-of-16+", 1764170000, body) == want
    assert verify("s3cret-key-of-16+", "1764170000", body, want, now=1764170010)


def test_verify_refuses_a_changed_body_another_key_or_an_old_timestamp():
    body = b'{"events":[]}'
    sig = sign("k" * 16, 1000, body)
    assert not verify("k" * 16, 1000, body + b" ", sig, now=1000)
    assert not verify("x" * 16, 1000, body, sig, now=1000)
    assert not verify("k" * 16, 1000, body, sig, now=1000 + 301)  # a replayed delivery
    assert not verify("k" * 16, "not-a-number", body, sig, now=1000)


def test_back_off_doubles_per_attempt_up_to_the_cap_with_jitter_in_the_upper_half():
    rng = random.Random(7)
    for attempt, d in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (20, BACKOFF_MAX_S)):
        waits = [backoff_s(attempt, rng) for _ in range(200)]
        assert d / 2 <= min(waits) and max(waits) <= d
        assert max(waits) - min(waits) > d / 4  # spread: receivers that failed together do not retry together


def test_the_payload_embeds_each_log_line_as_is():
    class E:
        id, kind, region, t, data = 7, "alert", "UA-30", 1.5, b'{"type":"alert","x":1}'

    doc = json.loads(payload("wh_1", [E()]))
    assert doc == {"webhook": "wh_1", "events": [
        {"id": 7, "kind": "alert", "region": "UA-30", "t": 1.5, "data": {"type": "alert", "x": 1}}]}


# ------------------------------------------------------------ management


def test_managing_webhooks_needs_the_admin_role(tmp_path, receiver):
    with serve(make_app(FakeEngine(), Settings(tmp_path))) as base:
        body = {"url": receiver.url}
        assert httpx.post(f"{base}/v1/webhooks", json=body).status_code == 401
        assert httpx.get(f"{base}/v1/webhooks").status_code == 401
        viewer = {"Authorization": "Bearer viewer-token"}
        assert httpx.post(f"{base}/v1/webhooks", json=body, headers=viewer).status_code == 403
        assert httpx.post(f"{base}/v1/webhooks", json=body, headers=ADMIN).status_code == 201
        assert httpx.post(f"{base}/v1/webhooks", json={"url": "ftp://x/"}, headers=ADMIN).status_code == 422
        assert httpx.post(f"{base}/v1/webhooks", json={**body, "kinds": ["weather"]}, headers=ADMIN).status_code == 422
        assert httpx.post(f"{base}/v1/webhooks", json={**body, "regions": ["XX-99"]}, headers=ADMIN).status_code == 422
        assert httpx.delete(f"{base}/v1/webhooks/wh_nope", headers=ADMIN).status_code == 404


def test_the_secret_is_shown_once_and_never_listed(tmp_path, receiver):
    with serve(make_app(FakeEngine(), Settings(tmp_path))) as base:
        made = _subscribe(base, receiver.url)
        assert len(made["secret"]) >= 32
        listed = httpx.get(f"{base}/v1/webhooks", headers=ADMIN).json()
        assert [w["id"] for w in listed] == [made["id"]] and "secret" not in listed[0]
        assert made["secret"] not in httpx.get(f"{base}/v1/webhooks/{made['id']}", headers=ADMIN).text


# --------------------------------------------------------------- delivery


def test_events_are_posted_signed_in_log_order_and_only_those_the_subscription_wants(tmp_path, receiver):
    engine = FakeEngine()
    with serve(make_app(engine, Settings(tmp_path, webhook_options=FAST))) as base:
        made = _subscribe(base, receiver.url, regions=["UA-30", "UA-32"], secret="a-shared-secret-0123")
        engine.emit(("alert", "UA-30"), ("track", None), ("alert", "UA-46"), ("audit", "UA-30"), ("alert", "UA-32"))
        for _ in range(30):
            engine.emit(("alert", "UA-30"), ("alert", "UA-32"))
        want = [e.id for e in engine.log if e.kind == "alert" and e.region in ("UA-30", "UA-32")]
        receiver.wait(lambda: len(receiver.ok_events()) >= len(want))
    assert [e["id"] for e in receiver.ok_events()] == want
    for headers, body in receiver.posts:
        assert headers["x-airshield-webhook"] == made["id"]
        assert verify("a-shared-secret-0123", headers["x-airshield-timestamp"], body,
                      headers["x-airshield-signature"])
    first = receiver.ok_events()[0]
    assert first["data"] == json.loads(engine.log[0].data) and first["region"] == "UA-30"


def test_a_failing_receiver_gets_the_same_batch_again_with_back_off_and_later_events_wait(tmp_path):
    receiver = Receiver(fail=[500, 503, 502])
    engine = FakeEngine()
    try:
        with serve(make_app(engine, Settings(tmp_path, webhook_options=FAST))) as base:
            made = _subscribe(base, receiver.url)
            engine.emit(("alert", "UA-30"), ("alert", "UA-32"))
            receiver.wait(lambda: len(receiver.posts) >= 2)
            engine.emit(("alert", "UA-30"))  # arrives while the first batch is failing
            receiver.wait(lambda: [e["id"] for e in receiver.ok_events(3)] == [1, 2, 3])
            status = httpx.get(f"{base}/v1/webhooks/{made['id']}", headers=ADMIN).json()
        deliveries = [h["x-airshield-delivery"] for h, _ in receiver.posts]
        assert deliveries[:4] == [f"{made['id']}:1-2"] * 4  # the same batch: 3 failures, then a 2xx
        assert deliveries[4:] == [f"{made['id']}:3-3"]  # the later event waited behind it
        assert status["cursor"] == 3 and status["attempts"] == 0 and not status["failing"]
    finally:
        receiver.close()


def test_an_unreachable_receiver_is_retried_and_shown_as_failing(tmp_path):
    engine = FakeEngine()
    with serve(make_app(engine, Settings(tmp_path, webhook_options={**FAST, "timeout_s": 0.3}))) as base:
        _subscribe(base, f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
        engine.emit(("alert", "UA-30"))
        time.sleep(0.6)
        [status] = httpx.get(f"{base}/v1/webhooks", headers=ADMIN).json()
    assert status["failing"] and status["attempts"] >= 2 and "Connect" in status["last_error"]
    assert status["cursor"] == 0 and status["backlog"] == 1


def test_a_url_the_client_cannot_even_encode_is_a_failing_delivery_not_a_dead_worker(tmp_path):
    engine = FakeEngine()
    with serve(make_app(engine, Settings(tmp_path, webhook_options={**FAST, "timeout_s": 0.3}))) as base:
        _subscribe(base, "http://xn--ls8h.la/hook")  # accepted by the schema, refused by IDNA encoding
        engine.emit(("alert", "UA-30"))
        time.sleep(0.6)
        [status] = httpx.get(f"{base}/v1/webhooks", headers=ADMIN).json()
    assert status["failing"] and status["attempts"] >= 2 and status["last_error"]
    assert status["cursor"] == 0 and status["backlog"] == 1


def test_a_new_subscription_starts_from_now_unless_told_where(tmp_path, receiver):
    engine = FakeEngine()
    engine.emit(("alert", "UA-30"), ("alert", "UA-30"))
    with serve(make_app(engine, Settings(tmp_path, webhook_options=FAST))) as base:
        _subscribe(base, receiver.url)
        _subscribe(base, receiver.url, after=0)
        engine.emit(("alert", "UA-30"))
        receiver.wait(lambda: len(receiver.ok_events()) >= 4)
        time.sleep(0.3)
    assert sorted(e["id"] for e in receiver.ok_events()) == [1, 2, 3, 3]


def test_subscriptions_and_cursors_survive_a_restart(tmp_path, receiver):
    engine = FakeEngine()
    with serve(make_app(engine, Settings(tmp_path, webhook_options=FAST))) as base:
        made = _subscribe(base, receiver.url)
        engine.emit(("alert", "UA-30"), ("alert", "UA-32"))
        receiver.wait(lambda: len(receiver.ok_events()) >= 2)
    engine.emit(("alert", "UA-30"), ("alert", "UA-46"))  # while the service is down (in the log)
    with serve(make_app(engine, Settings(tmp_path, webhook_options=FAST))) as base:
        receiver.wait(lambda: len(receiver.ok_events()) >= 4)
        engine.emit(("alert", "UA-30"))
        receiver.wait(lambda: len(receiver.ok_events()) >= 5)
        [status] = httpx.get(f"{base}/v1/webhooks", headers=ADMIN).json()
    assert [e["id"] for e in receiver.ok_events()] == [1, 2, 3, 4, 5]
    assert status["id"] == made["id"] and status["cursor"] == 5


def test_a_deleted_subscription_gets_nothing_more(tmp_path, receiver):
    engine = FakeEngine()
    with serve(make_app(engine, Settings(tmp_path, webhook_options=FAST))) as base:
        made = _subscribe(base, receiver.url)
        engine.emit(("alert", "UA-30"))
        receiver.wait(lambda: len(receiver.ok_events()) >= 1)
        assert httpx.delete(f"{base}/v1/webhooks/{made['id']}", headers=ADMIN).status_code == 204
        engine.emit(("alert", "UA-30"))
        time.sleep(0.5)
        assert httpx.get(f"{base}/v1/webhooks", headers=ADMIN).json() == []
    assert [e["id"] for e in receiver.ok_events()] == [1]


def test_a_backlog_goes_out_in_batches_in_order(tmp_path, receiver):
    engine = FakeEngine()
    for _ in range(250):
        engine.emit(("alert", "UA-30"))
    with serve(make_app(engine, Settings(tmp_path, webhook_options={**FAST, "batch_max": 100}))) as base:
        _subscribe(base, receiver.url, after=0)
        receiver.wait(lambda: len(receiver.ok_events()) >= 250)
    assert [e["id"] for e in receiver.ok_events()] == list(range(1, 251))
    assert [len(json.loads(b)["events"]) for _, b in receiver.posts] == [100, 100, 50]
