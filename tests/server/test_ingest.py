"""Ingest: what a sensor (or its gateway) sees when it posts reports, good and bad."""

from __future__ import annotations

import json
import sqlite3

import pytest
from servicekit import ADMIN, make_api

from airshield.server.state import hash_token

NDJSON = {"Content-Type": "application/x-ndjson"}


def _lines(night, n: int, start: int = 0) -> list[bytes]:
    return night.lines[start:start + n]


def _token_group(api, night, n: int, start: int = 0):
    """The first ``n`` reports from ``start`` that share one token, and the token."""
    tok = api.sensor_tokens[night.sensor[start]]
    idx = [i for i in range(start, len(night)) if api.sensor_tokens.get(night.sensor[i]) == tok][:n]
    return [night.lines[i] for i in idx], tok


def _at(lines, t: float) -> list[bytes]:
    """The reports measured (and arrived) at ``t`` instead, s since the epoch."""
    from airshield.model import format_time

    out = []
    for raw in lines:
        d = json.loads(raw)
        d["time"] = d["arrival"] = format_time(t)
        out.append(json.dumps(d).encode())
    return out


def _post(api, token, lines, headers=None, **kw):
    body = b"\n".join(lines) + b"\n"
    return api.client.post("/v1/ingest", content=body, headers={**NDJSON, **api.auth(token), **(headers or {})}, **kw)


def test_valid_reports_are_in_the_event_log_when_the_reply_comes(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 20)
    r = _post(api, tok, lines)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 20 and body["duplicates"] == 0 and body["rejected"] == []
    log = sqlite3.connect(api.app.state.settings.log_path)
    assert log.execute("SELECT COUNT(*), MAX(seq) FROM reports").fetchone() == (20, body["last_seq"])


def test_a_json_array_is_taken_like_ndjson(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 5)
    r = api.client.post("/v1/ingest", content=b"[" + b",".join(lines) + b"]", headers=api.auth(tok))
    assert r.status_code == 200 and r.json()["accepted"] == 5


def test_bad_items_are_listed_with_index_line_and_field_and_the_valid_ones_kept(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 3)
    bad_lat = json.loads(lines[1])
    bad_lat["lat"] = 123.0
    body = [lines[0], b"{not json", json.dumps(bad_lat).encode(), b'{"kind": "radar"}', lines[2]]
    r = _post(api, tok, body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 2
    rej = {e["index"]: e for e in out["rejected"]}
    assert set(rej) == {1, 2, 3}
    assert rej[1]["line"] == 2 and "JSON" in rej[1]["error"]
    assert rej[2]["field"] == "lat" and "lat" in rej[2]["error"]
    assert rej[3]["line"] == 4 and rej[3]["error"]


def test_an_item_with_bytes_that_are_not_utf8_or_nested_too_deeply_costs_only_itself(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 3)
    not_utf8 = lines[1].replace(b'"sensor":"', b'"sensor":"\xff', 1)
    deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000  # msgspec recurses while it skips an unknown field
    for body, headers in (
        (b"\n".join([lines[0], not_utf8, deep, lines[2]]) + b"\n", NDJSON),
        (b"[" + b",".join([lines[0], not_utf8, lines[2]]) + b"]", {"Content-Type": "application/json"}),
    ):
        r = api.client.post("/v1/ingest", content=body, headers={**headers, **api.auth(tok)})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["accepted"] + out["duplicates"] == 2
        rej = {e["index"]: e["error"] for e in out["rejected"]}
        assert "not valid UTF-8" in rej[1]
        if 2 in rej:
            assert rej[2] == "nested too deeply"
    assert api.client.get("/healthz").status_code == 200


def test_a_json_array_with_a_nan_or_a_broken_element_loses_only_that_element(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 3)
    nan = lines[1].replace(b'"lat":', b'"lat":NaN,"was":', 1)
    body = b"[" + b",".join([lines[0], nan, b'{"kind": "radar", "note": "a, [ } in a \\" string"}', lines[2]]) + b"]"
    r = api.client.post("/v1/ingest", content=body, headers={"Content-Type": "application/json", **api.auth(tok)})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 2
    rej = {e["index"]: e for e in out["rejected"]}
    assert set(rej) == {1, 2} and rej[1]["line"] == 2 and rej[1]["error"]


def test_a_json_array_whose_own_brackets_are_broken_is_a_clear_422(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 2)
    for body in (b"[" + lines[0] + b",", b"[" + lines[0] + b"] trailing", b"[,", b"[" + lines[0] + b",,]"):
        r = api.client.post("/v1/ingest", content=body, headers={"Content-Type": "application/json", **api.auth(tok)})
        assert r.status_code == 422 and "not a JSON array of reports" in r.json()["detail"], body


def test_the_array_split_keeps_brackets_commas_and_escaped_quotes_inside_strings():
    from airshield.server.ingest import _array_elements

    body = b'[{"a":"x\\\\"},{"b":[1,{"c":"]},\\" ["}]},NaN]'
    assert _array_elements(body) == [b'{"a":"x\\\\"}', b'{"b":[1,{"c":"]},\\" ["}]}', b"NaN"]
    assert _array_elements(b"[ ]") == [] and _array_elements(b'[{"a":"open}]') is None


def test_a_trailing_comma_in_a_json_array_costs_nothing(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 2)
    r = api.client.post("/v1/ingest", content=b"[" + lines[0] + b"," + lines[1] + b",]",
                        headers={"Content-Type": "application/json", **api.auth(tok)})
    assert r.status_code == 200 and r.json()["accepted"] == 2, r.text


def test_a_batch_without_a_valid_report_is_refused_with_422(api):
    tok = next(iter(api.sensor_tokens.values()))
    r = _post(api, tok, [b'{"kind": "radar"}', b"[]"])
    assert r.status_code == 422
    assert len(r.json()["rejected"]) == 2
    assert api.client.post("/v1/ingest", content=b"", headers={**NDJSON, **api.auth(tok)}).status_code == 422


def test_without_a_token_ingest_is_401_and_with_an_unknown_one_too(api, tiny_feed):
    lines, _ = _token_group(api, tiny_feed, 2)
    r = api.client.post("/v1/ingest", content=b"\n".join(lines), headers=NDJSON)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert _post(api, "as_not-a-token", lines).status_code == 401


def test_an_operator_token_cannot_ingest_403(api, tiny_feed):
    lines, _ = _token_group(api, tiny_feed, 2)
    assert _post(api, api.operator, lines).status_code == 403


def test_reports_of_another_tokens_sensors_are_refused(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 2)
    other = next(t for t in api.sensor_tokens.values() if t != tok)
    r = _post(api, other, lines)
    assert r.status_code == 403
    assert all(e["field"] == "sensor" for e in r.json()["rejected"])
    # Mixed: the own ones are taken, the others listed.
    own, _ = _token_group(api, tiny_feed, 2)
    mine = [line for i, line in enumerate(tiny_feed.lines) if api.sensor_tokens.get(tiny_feed.sensor[i]) == other][:1]
    r = _post(api, other, [*own, *mine])
    assert r.status_code == 200 and r.json()["accepted"] == 1 and len(r.json()["rejected"]) == 2


def test_a_sensor_reports_only_what_and_where_it_is_registered(api, tiny_feed):
    # A leaked observer-app token must not inject precise "radar" plots, nor a node claim to be
    # anywhere: the kind must be the registered one, and a fixed sensor stays where it is.
    acoustic = [i for i, line in enumerate(tiny_feed.lines) if b'"kind":"acoustic"' in line]
    i = acoustic[0]
    tok = api.sensor_tokens[tiny_feed.sensor[i]]
    good = json.loads(tiny_feed.lines[i])
    as_radar = {"kind": "radar", "sensor": good["sensor"], "time": good["time"], "arrival": good["arrival"],
                "lat": good["lat"], "lon": good["lon"], "alt_m": 10.0, "range_m": 20_000.0,
                "azimuth_deg": 45.0, "elevation_deg": 1.0, "sigma_range_m": 50.0, "sigma_azimuth_deg": 0.01,
                "sigma_elevation_deg": 0.01}
    moved = {**good, "lat": good["lat"] - 2.0}
    r = _post(api, tok, [json.dumps(d).encode() for d in (as_radar, moved, good)])
    assert r.status_code == 200 and r.json()["accepted"] == 1
    by_index = {e["index"]: e for e in r.json()["rejected"]}
    assert by_index[0]["field"] == "kind" and "registered as acoustic, not radar" in by_index[0]["error"]
    assert by_index[1]["field"] == "lat" and "farther than 1 km from where it is registered" in by_index[1]["error"]
    assert "222" not in by_index[1]["error"]  # how far is not told: it would give the node's position away


def test_a_report_from_null_island_is_refused_by_name_and_the_rest_kept(api, tiny_feed):
    # An observer's phone (it moves, so no registered position to hold it to) with a broken GPS.
    i = next(i for i, line in enumerate(tiny_feed.lines) if b'"kind":"observer"' in line)
    tok = api.sensor_tokens[tiny_feed.sensor[i]]
    good = json.loads(tiny_feed.lines[i])
    broken = {**good, "lat": 0.0, "lon": 0.0}
    r = _post(api, tok, [json.dumps(d).encode() for d in (broken, good)])
    assert r.status_code == 200 and r.json()["accepted"] == 1
    (e,) = r.json()["rejected"]
    assert e["index"] == 0 and e["field"] == "lat"
    assert "lies 6,160 km from the theatre's centre (at most 1,500 km)" in e["error"]


def test_a_leaked_sensor_token_is_revoked_and_its_sensors_registered_again(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 3)
    sensor = json.loads(lines[0])["sensor"]
    admin = api.auth(api.admin)
    assert api.client.delete(f"/v1/sensors/{sensor}/token").status_code == 401  # admin only
    r = api.client.delete(f"/v1/sensors/{sensor}/token", headers=admin)
    assert r.status_code == 200 and sensor in r.json()["sensors"]
    assert _post(api, tok, lines).status_code == 401
    assert api.client.delete(f"/v1/sensors/{sensor}/token", headers=admin).status_code == 404
    # Registered again, the sensors report with their new token.
    rows = {s["id"]: s for s in api.client.get("/v1/sensors", headers=api.auth(api.viewer)).json()}
    again = [{k: rows[i][k] for k in ("id", "kind", "lat", "lon", "range_m")} for i in r.json()["sensors"]]
    new = api.client.post("/v1/sensors", json={"sensors": again}, headers=admin)
    assert new.status_code == 201, new.text
    assert _post(api, new.json()["token"], lines).status_code == 200


def test_a_resent_report_is_a_duplicate_not_a_second_report(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 10)
    assert _post(api, tok, lines[:6]).json()["accepted"] == 6
    r = _post(api, tok, lines)  # 6 again, 4 new
    assert r.status_code == 200
    assert (r.json()["accepted"], r.json()["duplicates"]) == (4, 6)
    # The same report twice in one batch counts once.
    more, _ = _token_group(api, tiny_feed, 12)
    r = _post(api, tok, [more[10], more[10], more[11]])
    assert (r.json()["accepted"], r.json()["duplicates"]) == (2, 1)


def test_replayed_request_is_rejected_with_409(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 5)
    assert _post(api, tok, lines).status_code == 200
    r = _post(api, tok, lines)
    assert r.status_code == 409
    assert "replayed" in r.json()["detail"] and r.json()["duplicates"] == 5


def test_a_reused_idempotency_key_is_409_with_the_first_reply(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 8)
    first = _post(api, tok, lines[:4], {"Idempotency-Key": "batch-1"})
    assert first.status_code == 200
    again = _post(api, tok, lines[4:], {"Idempotency-Key": "batch-1"})  # other content, same key
    assert again.status_code == 409
    assert again.json()["first_reply"] == first.json()
    assert _post(api, tok, lines[4:], {"Idempotency-Key": "batch-2"}).json()["accepted"] == 4


def test_an_oversized_body_is_413(tmp_path, tiny_night, tiny_feed):
    client, api = make_api(tmp_path, tiny_night, max_body_bytes=2_000, max_items=3)
    try:
        lines, tok = _token_group(api, tiny_feed, 30)
        r = _post(api, tok, lines)
        assert r.status_code == 413 and "bytes" in r.json()["detail"]
        small = [b'{"kind":"radar"}'] * 4
        assert _post(api, tok, small).status_code == 413
    finally:
        client.__exit__(None, None, None)


def test_every_endpoint_refuses_a_huge_body_before_reading_it(tmp_path, tiny_night):
    client, api = make_api(tmp_path, tiny_night, max_request_bytes=2_000_000)  # registration fits
    try:
        huge = b" " * 3_000_000 + b"{}"
        for path in ("/v1/sensors/heartbeat", "/v1/sensors", "/v1/webhooks", "/v1/regions/UA-59/alert"):
            r = client.post(path, content=huge, headers={"Content-Type": "application/json"})  # no token
            assert r.status_code == 413 and "bytes" in r.json()["detail"], path

        def chunks():  # no Content-Length: counted as it comes
            for _ in range(30):
                yield b" " * 100_000

        r = client.post("/v1/sensors", content=chunks(), headers={**api.auth(api.admin),
                                                                   "Content-Type": "application/json"})
        assert r.status_code == 413
        assert client.get("/healthz").status_code == 200
    finally:
        client.__exit__(None, None, None)


def test_a_json_array_nested_too_deeply_is_a_clear_422(api, tiny_feed):
    tok = api.sensor_tokens[tiny_feed.sensor[0]]
    r = api.client.post("/v1/ingest", content=b"[" * 3000 + b"]" * 3000,
                        headers={"Content-Type": "application/json", **api.auth(tok)})
    assert r.status_code == 422 and "nested too deeply" in r.json()["detail"]
    # the same shape as any batch that took nothing: the counts beside `detail`
    assert r.json()["accepted"] == 0 and r.json()["rejected"] == [] and r.json()["last_seq"] == 0


def test_a_sensor_over_its_rate_gets_429_with_retry_after(tmp_path, tiny_night, tiny_feed):
    client, api = make_api(tmp_path, tiny_night, rate_per_s=1.0, rate_burst=5.0)
    try:
        from collections import Counter

        busiest = Counter(tiny_feed.sensor).most_common(1)[0][0]  # the radar: a plot every few seconds
        tok = api.sensor_tokens[busiest]
        one_sensor = [line for line, s in zip(tiny_feed.lines, tiny_feed.sensor, strict=True) if s == busiest][:8]
        assert len(one_sensor) == 8
        assert _post(api, tok, one_sensor[:5]).status_code == 200
        r = _post(api, tok, one_sensor[5:8])
        assert r.status_code == 429, r.text
        assert int(r.headers["retry-after"]) >= 1
        assert "nothing of this batch" in r.json()["detail"]
    finally:
        client.__exit__(None, None, None)


def test_duplicates_are_recognised_after_a_restart(tmp_path, tiny_night, tiny_feed):
    client, api = make_api(tmp_path, tiny_night)
    lines, tok = _token_group(api, tiny_feed, 5)
    assert _post(api, tok, lines).json()["accepted"] == 5
    client.__exit__(None, None, None)
    client2, api2 = make_api(tmp_path, tiny_night)  # same data dir; sensors registered again (new tokens)
    try:
        _, tok2 = _token_group(api2, tiny_feed, 1)
        r = _post(api2, tok2, lines)
        assert r.status_code == 409 and r.json()["duplicates"] == 5
    finally:
        client2.__exit__(None, None, None)


def test_tokens_are_stored_hashed(api):
    db = sqlite3.connect(api.app.state.settings.state_path)
    stored = {h for (h,) in db.execute("SELECT hash FROM tokens")}
    for tok in (ADMIN, api.operator, api.viewer, *set(api.sensor_tokens.values())):
        assert hash_token(tok) in stored
        assert tok not in stored
    raw = api.app.state.settings.state_path.read_bytes()
    assert api.operator.encode() not in raw and ADMIN.encode() not in raw


@pytest.mark.parametrize("clock", ["wall"])
def test_on_the_wall_clock_the_service_stamps_the_arrival(tmp_path, tiny_night, tiny_feed, clock):
    import time

    client, api = make_api(tmp_path, tiny_night, clock=clock)
    try:
        lines, tok = _token_group(api, tiny_feed, 3)
        t0 = time.time()
        assert _post(api, tok, _at(lines, t0 - 10.0)).json()["accepted"] == 3
        rows = sqlite3.connect(api.app.state.settings.log_path).execute("SELECT arrival FROM reports").fetchall()
        assert all(a >= t0 - 1 for (a,) in rows)
    finally:
        client.__exit__(None, None, None)


def test_when_the_engine_has_stopped_ingest_is_503_with_retry_after_and_healthz_says_so(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 2)
    api.engine.stop()
    r = _post(api, tok, lines)
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert api.client.get("/healthz").status_code == 503


def test_a_report_too_old_to_warn_with_is_refused_by_name_and_the_rest_is_kept(api, tiny_feed):
    lines, tok = _token_group(api, tiny_feed, 3)
    t = json.loads(lines[0])["time"]
    from airshield.model import parse_time

    now = parse_time(t).timestamp()
    assert _post(api, tok, _at(lines[:1], now)).json()["accepted"] == 1
    old = json.loads(_at(lines[1:2], now - 3700.0)[0])
    old["arrival"] = json.loads(_at(lines[:1], now)[0])["arrival"]  # sent now, measured 1 h 2 min ago
    r = _post(api, tok, [json.dumps(old).encode(), _at(lines[2:3], now + 1.0)[0]])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 1
    (rej,) = body["rejected"]
    assert rej["index"] == 0 and rej["line"] == 1 and rej["field"] == "time"
    assert "3700 s before the service clock" in rej["error"] and "too old" in rej["error"]


def test_a_sensor_clock_that_was_never_set_is_refused_and_a_far_old_report_is_jumped_not_stepped(
        api, tiny_feed, tiny_night, tmp_path):
    from airshield.model import parse_time

    lines, tok = _token_group(api, tiny_feed, 3)
    night = parse_time(json.loads(lines[0])["time"]).timestamp()
    # 1970: the clock of a sensor that was never set; it would pin a data clock to 1970.
    r = _post(api, tok, [_at(lines[:1], 0.0)[0], _at(lines[1:2], night)[0]])
    assert r.status_code == 200, r.text
    (rej,) = r.json()["rejected"]
    assert rej["index"] == 0 and rej["field"] == "time" and "clock is not set" in rej["error"]
    # A report 5 years old in the first batch of a data clock: taken (nothing to measure its age
    # against yet), and the quiet years are jumped over, not stepped through 5 s at a time.
    client, api2 = make_api(tmp_path / "second", tiny_night)
    try:
        tok2 = api2.sensor_tokens[json.loads(lines[0])["sensor"]]
        old = _at(lines[:1], night - 5 * 365 * 86400.0)[0]
        r = _post(api2, tok2, [old, _at(lines[1:2], night)[0]])
        assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
        api2.app.state.engine.advance_clock(night + 10.0, timeout=30.0)  # 5 years of steps would time out
        steps = api2.app.state.engine.rt.stats.steps
        assert 0 < steps < 1000, steps
    finally:
        client.__exit__(None, None, None)


def test_running_an_idle_data_clock_on_until_idle_leaves_the_next_report_its_step(api, tiny_feed):
    from airshield.model import parse_time

    lines, tok = _token_group(api, tiny_feed, 2)
    t0 = parse_time(json.loads(lines[0])["time"]).timestamp()
    assert _post(api, tok, _at(lines[:1], t0)).status_code == 200
    engine = api.app.state.engine
    engine.advance_clock(t0 + 1800.0, until_idle=True, timeout=30.0)
    engine.advance_clock(t0 + 4 * 3600.0, until_idle=True, timeout=30.0)  # idle already: no jump ahead
    assert engine.rt.next_step - engine.clock() <= 5.0
    c = engine.clock()
    assert _post(api, tok, _at(lines[1:2], c + 60.0)).json()["accepted"] == 1
    engine.advance_clock(c + 120.0, timeout=30.0)
    assert engine.rt.pending == 0  # stepped, not left waiting hours for the step it was jumped to


def test_pruned_duplicate_hashes_never_let_a_resent_report_in(tmp_path, tiny_night, tiny_feed):
    # Hashes are forgotten only for reports ingest refuses as too old anyway: a resend
    # after the prune is refused, not taken twice.
    client, api = make_api(tmp_path, tiny_night, max_report_age_s=60.0)
    try:
        lines, tok = _token_group(api, tiny_feed, 4)
        from airshield.model import parse_time
        from airshield.server.engine import DATA_MAX_JUMP_S

        now = parse_time(json.loads(lines[0])["time"]).timestamp()
        first = _at(lines[:2], now)
        assert _post(api, tok, first).json()["accepted"] == 2
        # The data clock moves on in two jumps of at most DATA_MAX_JUMP_S each.
        assert _post(api, tok, _at(lines[2:3], now + 3000.0)).json()["accepted"] == 1
        assert _post(api, tok, _at(lines[3:4], now + 6000.0)).json()["accepted"] == 1
        server = api.app.state.server
        assert server.hashes_held() == 4
        # Kept: DATA_MAX_JUMP_S (the queue's worst case) beyond the 60 s age limit, i.e. the
        # hashes from now + 6000 - 60 - 3600 s on; the two measured at `now` go.
        assert DATA_MAX_JUMP_S == 3600.0
        assert api.app.state.engine.prune() == (2, 0)
        assert server.hashes_held() == 2
        r = _post(api, tok, first)
        assert r.status_code == 422 and r.json()["accepted"] == 0
        assert all(x["field"] == "time" for x in r.json()["rejected"])
        n = sqlite3.connect(api.app.state.settings.state_path).execute("SELECT COUNT(*) FROM dedup").fetchone()[0]
        assert n == 2
    finally:
        client.__exit__(None, None, None)


def test_idempotency_keys_are_forgotten_after_their_keep_time(tmp_path):
    from airshield.server.state import ServerState

    st = ServerState(tmp_path / "server.sqlite")
    st.store_reply("tok", "k-old", {"accepted": 1}, 1000.0)
    st.store_reply("tok", "k-new", {"accepted": 2}, 5000.0)
    st.add_hashes([(b"a" * 16, 1, 100.0), (b"b" * 16, 2, 200.0)])
    assert st.prune(reports_before=150.0, keys_before=2000.0) == (1, 1)
    st.close()
    st = ServerState(tmp_path / "server.sqlite")  # what was pruned stays pruned after a restart
    assert st.idempotent_reply("tok", "k-old") is None and st.idempotent_reply("tok", "k-new") == {"accepted": 2}
    assert st.hashes_held() == 1 and st.is_duplicate(b"b" * 16) and not st.is_duplicate(b"a" * 16)
    st.close()


def test_a_state_file_from_before_pruning_is_upgraded_in_place(tmp_path):
    from airshield.server.state import ServerState

    db = sqlite3.connect(tmp_path / "server.sqlite")
    db.execute("CREATE TABLE dedup (hash BLOB PRIMARY KEY, seq INTEGER NOT NULL)")
    db.execute("INSERT INTO dedup VALUES (?, 1)", (b"x" * 16,))
    db.commit()
    db.close()
    st = ServerState(tmp_path / "server.sqlite")
    assert st.is_duplicate(b"x" * 16)  # still recognised until the first prune
    assert st.prune(reports_before=0.0, keys_before=0.0) == (1, 0)  # its age is unknown: it goes
    assert st.hashes_held() == 0
    st.close()
