"""Operators: a duty officer raises, extends and cancels alerts by hand; every command is in the audit trail."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pytest

from airshield.server import feeder

START = datetime.fromisoformat("2025-10-01T18:10:00+00:00").timestamp()


@pytest.fixture
def quiet(api, tiny_night):
    """The service early in the night (every region quiet), fed up to 18:10."""
    feeder.feed(api.client, feeder.load_night(tiny_night), api.sensor_tokens, until=START)
    assert set(api.client.get("/v1/status").text) == {"N"}
    return api


def _step(api, seconds: float = 10.0):
    """Let the data clock run on (the command applies at the next step)."""
    now = api.client.get("/v1/clock").json()["now"]
    r = api.client.post("/v1/clock", json={"now": now + seconds}, headers=api.auth(api.admin))
    assert r.status_code == 200, r.text


def test_an_operator_raises_an_alert_with_a_reason_and_it_is_audited(quiet):
    api = quiet
    r = api.client.post("/v1/regions/UA-32/alert", json={"reason": "drill: MoD request", "minutes": 20},
                        headers=api.auth(api.operator))
    assert r.status_code == 202, r.text
    assert r.json()["user"] == "duty-officer" and r.json()["action"] == "raise"
    _step(api)
    region = {x["id"]: x for x in api.client.get("/v1/regions").json()}["UA-32"]
    assert region["state"] == "alert"
    assert region["reason"]["rule"] == "operator-raise"
    # The public learns that a duty officer acted, not who or in which words; nor does a viewer,
    # whose token may not read the audit trail either. An operator does.
    assert region["reason"]["operator"] == {"action": "raise", "until": region["reason"]["operator"]["until"]}
    for who in (None, api.viewer):
        h = api.auth(who) if who else {}
        assert "duty-officer" not in json.dumps(api.client.get("/v1/alerts", headers=h).json())
        assert "MoD" not in json.dumps(api.client.get("/v1/alerts/history", headers=h).json())
        assert "MoD" not in json.dumps(api.client.get("/v1/regions", headers=h).json())
    full = {x["id"]: x for x in api.client.get("/v1/regions", headers=api.auth(api.operator)).json()}["UA-32"]
    assert full["reason"]["operator"]["note"] == "drill: MoD request"
    audit = api.client.get("/v1/audit", params={"region": "UA-32"}, headers=api.auth(api.operator)).json()["items"]
    assert len(audit) == 1
    a = audit[0]
    assert (a["action"], a["user"], a["note"], a["outcome"]) == ("raise", "duty-officer", "drill: MoD request",
                                                                 "applied")
    assert a["duration_s"] == 1200
    # The audit trail is the event log itself: the command and its outcome are logged.
    log = sqlite3.connect(api.app.state.settings.log_path)
    cmds = [json.loads(b) for (b,) in log.execute("SELECT body FROM commands")]
    assert cmds[0]["user"] == "duty-officer" and cmds[0]["note"] == "drill: MoD request"


def test_extend_and_cancel_end_with_an_all_clear(quiet):
    api = quiet
    h = api.auth(api.operator)
    api.client.post("/v1/regions/UA-46/alert", json={"reason": "reported by police", "minutes": 5}, headers=h)
    _step(api)
    assert api.client.post("/v1/regions/UA-46/extend", json={"reason": "still heard", "minutes": 30},
                           headers=h).status_code == 202
    _step(api)
    assert api.client.post("/v1/regions/UA-46/cancel", json={"reason": "false report"}, headers=h).status_code == 202
    _step(api)
    assert {x["id"]: x for x in api.client.get("/v1/regions").json()}["UA-46"]["state"] == "quiet"
    events = api.client.get("/v1/alerts/history", params={"region": "UA-46"}).json()["items"]
    assert [e["event"] for e in events][0] == "alert" and events[-1]["event"] == "all_clear"
    audit = api.client.get("/v1/audit", params={"region": "UA-46"}, headers=h).json()["items"]
    assert [a["action"] for a in audit] == ["raise", "extend", "cancel"]


def test_extend_or_cancel_of_a_quiet_region_is_refused_with_409_and_not_logged(quiet):
    api = quiet
    h = api.auth(api.operator)
    for action in ("extend", "cancel"):
        r = api.client.post(f"/v1/regions/UA-32/{action}", json={"reason": "x", "minutes": 10}, headers=h)
        assert r.status_code == 409 and "no alert running" in r.json()["detail"], r.text
    assert api.client.get("/v1/audit", params={"region": "UA-32"}, headers=h).json()["items"] == []
    # A raise still waiting for its step is enough: extend and cancel then apply after it.
    assert api.client.post("/v1/regions/UA-32/alert", json={"reason": "x", "minutes": 5}, headers=h).status_code == 202
    assert api.client.post("/v1/regions/UA-32/extend", json={"reason": "y", "minutes": 30},
                           headers=h).status_code == 202


def test_only_operators_may_command_and_a_reason_is_required(quiet):
    api = quiet
    body = {"reason": "x", "minutes": 10}
    assert api.client.post("/v1/regions/UA-32/alert", json=body).status_code == 401
    assert api.client.post("/v1/regions/UA-32/alert", json=body, headers=api.auth(api.viewer)).status_code == 403
    tok = next(iter(api.sensor_tokens.values()))
    assert api.client.post("/v1/regions/UA-32/alert", json=body, headers=api.auth(tok)).status_code == 403
    h = api.auth(api.operator)
    assert api.client.post("/v1/regions/UA-32/alert", json={"minutes": 10}, headers=h).status_code == 422
    assert api.client.post("/v1/regions/UA-32/alert", json={"reason": ""}, headers=h).status_code == 422
    assert api.client.post("/v1/regions/UA-99/alert", json=body, headers=h).status_code == 404
    assert api.client.post("/v1/regions/UA-32/explode", json=body, headers=h).status_code == 422
    assert api.client.get("/v1/audit").status_code == 401
    # A misspelt field is refused, not ignored (the default hold would apply), and a long one
    # is not sent back whole.
    r = api.client.post("/v1/regions/UA-32/alert", json={"reason": "x", "minute": 30}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "minute"]
    r = api.client.post("/v1/regions/UA-32/alert", json={"reason": "x", "m" * 100_000: 30}, headers=h)
    assert r.status_code == 422 and len(r.content) < 1000


def test_the_admin_makes_and_revokes_operator_tokens(api):
    h = api.auth(api.admin)
    r = api.client.post("/v1/operators", json={"id": "night-shift", "role": "operator"}, headers=h)
    assert r.status_code == 201
    tok = r.json()["token"]
    assert any(o["id"] == "night-shift" for o in api.client.get("/v1/operators", headers=h).json())
    assert api.client.get("/v1/audit", headers=api.auth(tok)).status_code == 200
    assert api.client.delete("/v1/operators/night-shift", headers=h).json()["revoked"] == 1
    assert api.client.get("/v1/audit", headers=api.auth(tok)).status_code == 401
    assert api.client.post("/v1/operators", json={"id": "x"}, headers=api.auth(api.operator)).status_code == 403


def test_on_the_wall_clock_an_operators_alert_is_out_within_a_step(tmp_path, tiny_night):
    import time

    from servicekit import make_api

    client, api = make_api(tmp_path, tiny_night, clock="wall", batch_s=1.0)
    try:
        t0 = time.monotonic()
        r = client.post("/v1/regions/UA-32/alert", json={"reason": "siren test", "minutes": 1},
                        headers=api.auth(api.operator))
        assert r.status_code == 202
        while client.get("/v1/status").text[client.get("/v1/status/regions").json().index("UA-32")] != "A":
            assert time.monotonic() - t0 < 3.0, "the alert must be out within a step (1 s) and a bit"
            time.sleep(0.02)
    finally:
        client.__exit__(None, None, None)


def test_the_feeders_health_messages_keep_every_registered_node_from_being_silent(api, tiny_night):
    # The feeder sends each gateway's health message every 5 min of the night, as a
    # network's head-end does: nodes that heard nothing for an hour are alive, not gaps.
    feeder.feed(api.client, feeder.load_night(tiny_night), api.sensor_tokens, until=START + 3600)
    sensors = [s for s in api.client.get("/v1/sensors", headers=api.auth(api.viewer)).json()
               if s["kind"] == "acoustic"]
    assert sensors and not any(s["silent"] for s in sensors)
    assert all(s["last_heartbeat"] is not None for s in sensors)


def test_a_blank_reason_is_refused_at_once(quiet):
    r = quiet.client.post("/v1/regions/UA-32/alert", json={"reason": "   ", "minutes": 20},
                          headers=quiet.auth(quiet.operator))
    assert r.status_code == 422 and "blank" in r.text
