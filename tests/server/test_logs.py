"""Structured logs: one JSON object per line, every request logged, never a token."""

from __future__ import annotations

import json
import logging

from airshield.server.logs import JsonFormatter


def test_the_service_logs_json_lines_without_any_token(service, tiny_feed):
    service.feed(tiny_feed, stop_after=20)
    with service.client(service.operator) as c:
        c.post("/v1/regions/UA-32/alert", json={"reason": "test", "minutes": 1})
        c.get("/v1/audit", params={"token": service.admin})  # a secret in a query string, by mistake
    with service.client() as c:  # a person asking about where they are: no place in the log
        c.get("/v1/concern", params={"lat": 50.9123, "lon": 34.8044, "radius_km": 5})
    with service.client("as_wrong-token-that-does-not-exist-0123456789abcdef") as c:
        assert c.get("/v1/audit").status_code == 401
    with service.client(service.admin) as c:
        made = c.post("/v1/operators", json={"id": "new-one"}).json()["token"]
    text = service.log_text()
    secrets = [service.admin, service.operator, service.viewer, made, *set(service.sensor_tokens.values()),
               "as_wrong-token-that-does-not-exist-0123456789abcdef"]
    for s in secrets:
        assert s not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [x for x in lines if x["logger"] == "airshield.access"]
    assert any(x["path"] == "/v1/ingest" and x["status"] == 200 and x["role"] == "sensor" for x in access)
    assert any(x["path"] == "/v1/regions/UA-32/alert" and x["subject"] == "duty-officer" for x in access)
    assert any(x["path"] == "/v1/audit" and x["query"] == "token=[redacted]" for x in access)
    assert any(x["path"] == "/v1/concern" and x["query"] == "lat=[redacted]&lon=[redacted]&radius_km=5"
               for x in access)
    assert "50.9123" not in text and "34.8044" not in text
    assert all({"ts", "level", "logger", "msg"} <= set(x) for x in lines)


def test_a_token_in_any_log_record_is_redacted():
    rec = logging.LogRecord("airshield", logging.INFO, "", 0, "got as_%s from a client", ("A" * 43,), None)
    rec.token = "as_secret"
    out = json.loads(JsonFormatter().format(rec))
    assert "A" * 43 not in out["msg"] and "[redacted]" in out["msg"]
    assert out["token"] == "[redacted]"
