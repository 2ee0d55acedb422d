"""The read API in the middle of a night: what an alert app, a siren and a duty officer's map read.

One in-process service is fed the tiny night up to 19:30 UTC (drones over Sumy: alerts running),
and every public endpoint is read there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
from datetime import datetime

import pytest
from lxml import etree
from servicekit import make_api

from airshield.server import feeder

MID = datetime.fromisoformat("2025-10-01T19:30:00+00:00").timestamp()


@pytest.fixture(scope="module")
def mid(tmp_path_factory, tiny_night):
    client, api = make_api(tmp_path_factory.mktemp("read-api"), tiny_night)
    night = feeder.load_night(tiny_night)
    # No health messages: the nodes that heard nothing are silent (gaps to show).
    feeder.feed(client, night, api.sensor_tokens, until=MID, heartbeat_s=None)
    yield api
    client.__exit__(None, None, None)


def test_the_clock_follows_the_night_in_data_mode(mid):
    c = mid.client.get("/v1/clock").json()
    assert c["mode"] == "data"
    assert MID - 60 < c["now"] < MID + 10
    assert c["last_step"] <= c["now"]


def test_regions_list_every_alert_region_with_its_state_and_reason(mid):
    rows = mid.client.get("/v1/regions").json()
    assert len(rows) == len(mid.engine.region_ids) > 20
    by = {r["id"]: r for r in rows}
    assert "Сум" in by["UA-59"]["name_uk"]
    alerting = [r for r in rows if r["state"] == "alert"]
    assert alerting, "drones over Sumy: some region must be in alert at 19:30"
    for r in alerting:
        assert r["alert_id"] and r["since"] <= MID and r["reason"]["rule"]
        assert r["reason"]["text"]
    # A quiet region is quiet since its all-clear, not since the start of the alert it ended.
    ended = [r for r in rows if r["state"] == "quiet" and r["since"] is not None]
    assert ended, "some region has had its all-clear by 19:30"
    for r in ended:
        last = mid.engine.snapshot.last_alert[r["id"]]
        assert r["since"] == last.t and r["alert_id"] is None


def test_regions_geojson_has_simplified_outlines_with_state(mid):
    r = mid.client.get("/v1/regions.geojson")
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == len(mid.engine.region_ids)
    f = fc["features"][0]
    assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert set(f["properties"]) >= {"id", "name", "name_uk", "state"}
    n_points = sum(len(ring) for feat in fc["features"] for poly in _polys(feat["geometry"]) for ring in poly)
    assert n_points < 40_000  # simplified: the map loads it at once


def _polys(g):
    return [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]


def test_the_status_string_has_one_character_per_region_in_a_documented_order(mid):
    s = mid.client.get("/v1/status")
    assert s.headers["content-type"].startswith("text/plain")
    order = mid.client.get("/v1/status/regions").json()
    assert len(s.text) == len(order) == len(mid.engine.region_ids)
    assert set(s.text) <= set("APN")
    states = {r["id"]: r["state"] for r in mid.client.get("/v1/regions").json()}
    assert s.text == "".join({"alert": "A", "pre_alert": "P", "quiet": "N"}[states[r]] for r in order)


def test_current_alerts_each_have_a_cap_message(mid):
    alerts = mid.client.get("/v1/alerts").json()
    assert alerts and all(a["state"] in ("alert", "pre_alert") for a in alerts)
    for a in alerts:
        r = mid.client.get(a["cap"])
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/cap+xml")
        root = etree.fromstring(r.content)
        assert root.tag == "{urn:oasis:names:tc:emergency:cap:1.2}alert"
        assert root.findtext("{urn:oasis:names:tc:emergency:cap:1.2}status") == "Exercise"
    assert mid.client.get("/v1/alerts/UA-99.A.nothing.cap").status_code == 404


def test_a_region_in_alert_shows_its_alert_not_the_pre_alert_it_superseded(mid):
    # The policy ends a superseded pre-alert in the same step as the alert starts: the region's
    # current event, its `since` and its CAP link must stay the alert's, not the pre-alert's end.
    ns = "{urn:oasis:names:tc:emergency:cap:1.2}"
    regions = {r["id"]: r for r in mid.client.get("/v1/regions").json()}
    alerts = [a for a in mid.client.get("/v1/alerts").json() if a["state"] == "alert"]
    assert alerts
    superseded = 0
    for a in alerts:
        assert ".A." in a["alert_id"] and a["event"] != "pre_alert_end", a
        assert regions[a["region"]]["alert_id"] == a["alert_id"]
        msg = etree.fromstring(mid.client.get(a["cap"]).content)
        assert msg.findtext(f"{ns}msgType") in ("Alert", "Update")
        history = mid.client.get("/v1/alerts/history", params={"region": a["region"], "limit": 1000}).json()["items"]
        start = next(e for e in history if e["alert_id"] == a["alert_id"] and e["seq"] == 0)
        assert regions[a["region"]]["since"] == pytest.approx(datetime.fromisoformat(start["t"]).timestamp())
        superseded += any(e["event"] == "pre_alert_end" and e["state"] == "alert" for e in history)
    assert superseded, "the tiny night has an alert that superseded a pre-alert"


def _feed(mid):
    return mid.client.get("/v1/alerts.atom")


def test_the_atom_feed_lists_the_current_alerts(mid):
    r = _feed(mid)
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(r.content)
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert entries
    for e in entries:  # each entry links to its CAP message, served here
        href = next(li.get("href") for li in e.findall("{http://www.w3.org/2005/Atom}link")
                    if "cap" in li.get("href", ""))
        path = "/" + href.split("/", 3)[3]
        r = mid.client.get(path)
        assert r.status_code == 200 and b"urn:oasis:names:tc:emergency:cap:1.2" in r.content, path
    # and the feed's own `self` link is served
    this = next(li.get("href") for li in feed.findall("{http://www.w3.org/2005/Atom}link") if li.get("rel") == "self")
    again = mid.client.get("/" + this.split("/", 3)[3])
    assert again.status_code == 200 and again.content == _feed(mid).content


def test_pollers_fetch_a_feed_or_status_only_when_it_changed(mid):
    # Feed readers and sirens poll: an ETag answers an unchanged body with 304, HEAD is allowed,
    # and a CAP message by its identifier (it never changes) may be cached for good.
    for path in ("/v1/alerts.atom", "/v1/status"):
        r = mid.client.get(path)
        etag = r.headers["etag"]
        assert r.status_code == 200 and etag
        again = mid.client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and not again.content
        assert mid.client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
        head = mid.client.head(path)
        assert head.status_code == 200 and head.headers["etag"] == etag
    alert = mid.client.get("/v1/alerts").json()[0]
    latest = mid.client.get(alert["cap"])
    assert latest.headers["cache-control"] == "no-cache"  # the latest of a chain changes
    ident = etree.fromstring(latest.content).findtext("{urn:oasis:names:tc:emergency:cap:1.2}identifier")
    one = mid.client.get(f"/cap/{ident}.xml")
    assert one.content == latest.content and "immutable" in one.headers["cache-control"]


def test_an_unknown_region_or_sensor_kind_is_refused_not_an_empty_list(mid):
    # An empty page would hide a typo.
    r = mid.client.get("/v1/alerts/history", params={"region": "UA-99"})
    assert r.status_code == 422 and "unknown UA-99" in r.text
    r = mid.client.get("/v1/audit", params={"region": "UA-99"}, headers=mid.auth(mid.operator))
    assert r.status_code == 422 and "unknown UA-99" in r.text
    r = mid.client.get("/v1/sensors", params={"kind": "lidar"}, headers=mid.auth(mid.viewer))
    assert r.status_code == 422 and "acoustic" in r.text  # the kinds there are


def test_alert_history_pages_through_every_event_by_region_and_time(mid):
    seen, cursor = [], 0
    while True:
        page = mid.client.get("/v1/alerts/history", params={"limit": 7, "cursor": cursor}).json()
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and len(ids) > 7
    one = mid.client.get("/v1/alerts/history", params={"region": "UA-59", "limit": 1000}).json()["items"]
    assert one and all(e["region"] == "UA-59" for e in one)
    t0 = datetime.fromisoformat(seen[3]["t"].replace("Z", "+00:00")).timestamp()
    later = mid.client.get("/v1/alerts/history", params={"since": t0, "limit": 1000}).json()["items"]
    assert all(datetime.fromisoformat(e["t"].replace("Z", "+00:00")).timestamp() >= t0 for e in later)
    assert mid.client.get("/v1/alerts/history", params={"limit": 0}).status_code == 422
    # A cursor too big for SQLite is a clear 422, not a 500.
    assert mid.client.get("/v1/alerts/history", params={"cursor": 2 ** 63}).status_code == 422
    assert mid.client.get("/v1/audit", params={"cursor": 2 ** 63},
                          headers=mid.auth(mid.operator)).status_code == 422


def test_a_viewer_sees_live_tracks_with_cones_and_etas(mid):
    tracks = mid.client.get("/v1/tracks", headers=mid.auth(mid.viewer)).json()
    assert tracks
    threats = [t for t in tracks if t["threat"]]
    assert threats
    with_cone = [t for t in threats if t["cone"]]
    assert with_cone, "threats in the picture have a predicted cone"
    t = with_cone[0]
    assert all(len(p) == 2 and 40 < p[0] < 56 and 20 < p[1] < 45 for p in t["cone"])
    assert t["eta"] and all(e["lo_s"] >= 0 and (e["hi_s"] is None or e["hi_s"] >= e["lo_s"]) for e in t["eta"])
    assert {"id", "t", "lat", "lon", "alt_m", "speed_ms", "heading_deg", "class", "p_class", "status"} <= set(t)


def test_the_public_sees_only_threats_delayed_and_coarsened(mid):
    s = mid.app.state.settings
    full = {t["id"]: t for t in mid.client.get("/v1/tracks", headers=mid.auth(mid.viewer)).json()}
    public = mid.client.get("/v1/tracks").json()
    now = mid.client.get("/v1/clock").json()["last_step"]
    assert all(t["threat"] for t in public)
    assert public and all(t["t"] <= now - s.public_delay_s for t in public)
    assert any(t["cone"] for t in public), "the delayed view has the cones of its time"
    dlat = s.public_coarsen_m / 111_320.0
    for t in public:
        assert abs(t["lat"] / dlat - round(t["lat"] / dlat)) < 1e-3
        assert t["alt_m"] is None
    assert not any(t["id"] in full and not full[t["id"]]["threat"] for t in public)


def test_a_public_position_gives_nothing_finer_than_its_grid_cell_away():
    # Two positions in one cell of the grid are published alike: the longitude's step is the
    # grid row's, not the exact latitude's, which it once gave back to ~7 m.
    from airshield.server.public import coarsen

    a = coarsen(51.08241, 34.8913, 5000.0)
    b = coarsen(51.08002, 34.8913, 5000.0)
    c = coarsen(51.06, 34.8913, 5000.0)
    assert a == b == c
    row_lats = {coarsen(50.0 + i * 0.0123, 30.0, 5000.0)[0] for i in range(40)}
    dlat = 5000.0 / 111_320.0
    assert all(abs(la / dlat - round(la / dlat)) < 2e-3 for la in row_lats)  # (to 4 decimals)


def test_concern_gives_the_state_the_nearest_threat_and_advice(mid):
    rows = {r["id"]: r for r in mid.client.get("/v1/regions").json()}
    alerting = next(r for r in rows.values() if r["state"] == "alert")
    th = alerting["reason"]["threats"][0] if alerting["reason"]["threats"] else None
    lat, lon = (th["lat"], th["lon"]) if th else (50.91, 34.80)
    c = mid.client.get("/v1/concern", params={"lat": lat, "lon": lon}).json()
    assert c["region"]["id"] == alerting["id"] or c["state"] in ("alert", "pre_alert")
    assert c["advice"]["uk"] and c["advice"]["en"]
    if c["state"] == "alert":
        assert "shelter" in c["advice"]["en"] and "укриття" in c["advice"]["uk"]
    if c["threat"] is not None:
        assert c["threat"]["lo_s"] >= 0
    far = mid.client.get("/v1/concern", params={"lat": 0.0, "lon": 0.0}).json()
    assert far["region"] is None and "outside" in far["advice"]["en"]
    assert set(far) == set(c)  # the same keys, for a client's parser
    assert mid.client.get("/v1/concern", params={"lat": 95, "lon": 0}).status_code == 422


def test_concern_says_when_a_threat_may_come_near_the_point_itself(mid):
    # A port on a drone's predicted path 10 min ahead asks (a viewer: the live picture): the
    # answer is for the point (within radius_km), not for the region: that drone, or a
    # neighbour of its group coming sooner, within those 10 minutes and not before its cone.
    import numpy as np

    viewer = mid.auth(mid.viewer)
    snap, core = mid.engine.snapshot, mid.engine.rt.core
    tracks = mid.client.get("/v1/tracks", headers=viewer).json()
    # (a forecast in force 10 min on: a lost drone's ends early, e.g. 10 min after it was lost over a city)
    moving = [t for t in tracks if t["threat"] and t["cone"] and (t["speed_ms"] or 0) > 20
              and t["id"] in snap.forecasts and snap.forecasts[t["id"]].path is not None
              and snap.forecasts[t["id"]].expires >= snap.now + 600.0]
    assert moving, "the mid-night snapshot has moving threats"
    t = max(moving, key=lambda t: t["id"])
    path = snap.forecasts[t["id"]].path
    ahead_s = 600.0
    x, y = (float(np.interp(snap.now + ahead_s, path.t, v)) for v in (path.x, path.y))
    lat, lon = (float(v) for v in core.theatre.to_latlon(x, y))
    c = mid.client.get("/v1/concern", params={"lat": lat, "lon": lon}, headers=viewer).json()
    here = c["here"]
    assert here is not None and c["radius_km"] == 5.0
    assert here["track"] in {x["id"] for x in tracks if x["threat"]}
    assert 0 <= here["lo_s"] <= ahead_s
    if here["track"] == t["id"]:
        assert not here["inside"] and here["eta_s"] is not None
        assert here["lo_s"] <= here["eta_s"] <= here["hi_s"] and abs(here["eta_s"] - ahead_s) <= 2 * 5_000 / t["speed_ms"]
    if c["state"] != "quiet" and not here["inside"]:
        assert "within 5 km of this point in" in c["advice"]["en"]
        assert "ближче ніж за 5 км від цієї точки щонайшвидше" in c["advice"]["uk"]
        assert f"({here['class']})" not in c["advice"]["uk"], "the class in Ukrainian words"
    # over the threat itself: inside now; a wider radius is reached no later
    on = mid.client.get("/v1/concern", params={"lat": t["lat"], "lon": t["lon"]}, headers=viewer).json()["here"]
    assert on["inside"] and on["lo_s"] == 0
    wide = mid.client.get("/v1/concern", params={"lat": lat, "lon": lon, "radius_km": 20}, headers=viewer).json()
    assert wide["here"]["lo_s"] <= here["lo_s"]
    assert mid.client.get("/v1/concern", params={"lat": lat, "lon": lon, "radius_km": 0.1}).status_code == 422


def test_a_lost_threat_only_held_is_not_named_for_a_point(mid):
    # A lost drone whose forecast is past its expiry only holds running alerts (the policy's
    # R1-R3 no longer count it); its cone, tens of km wide by then, must not answer "here".
    import numpy as np

    snap = mid.engine.snapshot
    core = mid.engine.rt.core
    held = [(tid, f) for tid, f in sorted(snap.forecasts.items()) if f.expires < snap.now and f.path is not None]
    assert held, "the mid-night snapshot holds a lost threat past its expiry"
    for tid, f in held:
        x = float(np.interp(snap.now, f.path.t, f.path.x))
        y = float(np.interp(snap.now, f.path.t, f.path.y))
        lat, lon = core.theatre.to_latlon(x, y)
        c = mid.client.get("/v1/concern", params={"lat": float(lat), "lon": float(lon), "radius_km": 0.5},
                           headers=mid.auth(mid.viewer)).json()
        assert c["here"] is None or c["here"]["track"] != tid


def test_the_public_point_answer_is_no_finer_than_the_public_track_view(mid):
    # Without a token: the picture of public_delay_s ago, a radius of at least the public
    # grid, whole minutes and no track id, so point queries cannot trace a threat finely.
    s = mid.app.state.settings
    tracks = mid.client.get("/v1/tracks", headers=mid.auth(mid.viewer)).json()
    t = max((t for t in tracks if t["threat"] and t["cone"]), key=lambda t: t["id"])
    for lat, lon in ((t["lat"], t["lon"]), (t["lat"] + 0.2, t["lon"] + 0.2)):
        c = mid.client.get("/v1/concern", params={"lat": lat, "lon": lon, "radius_km": 0.5}).json()
        assert c["radius_km"] == s.public_coarsen_m / 1000.0
        for answer in (c["here"], c["threat"]):  # the point's and the region's
            if answer is not None:
                assert answer["track"] is None
                assert all(answer[k] is None or answer[k] % 60 == 0 for k in ("lo_s", "eta_s", "hi_s"))


def test_the_public_answer_counts_the_delayed_pictures_times_from_now(mid):
    # The public sees the picture of public_delay_s ago, but "how long do I have" is counted
    # from now (as_of): told from now, its arrivals come earlier than it said, never later.
    from airshield.server.concern import _here

    snap, core = mid.engine.snapshot, mid.engine.rt.core
    at, _, forecasts = snap.as_of(snap.now - mid.app.state.settings.public_delay_s)
    assert snap.now - at >= 60
    points = [tuple(float(v) for v in core.theatre.to_latlon(float(f.path.x[-1]), float(f.path.y[-1])))
              for _, f in sorted(forecasts.items()) if f.path is not None]
    answered = [(lat, lon) for lat, lon in points if _here(core, forecasts, lat, lon, 5000.0, at, at) is not None]
    assert answered, "the delayed picture has a threat that may come near a point"
    lat, lon = answered[-1]
    then = _here(core, forecasts, lat, lon, 5000.0, at, at)
    now = _here(core, forecasts, lat, lon, 5000.0, snap.now, at)
    assert now["track"] == then["track"]
    assert now["lo_s"] == max(then["lo_s"] - round(snap.now - at), 0)
    c = mid.client.get("/v1/concern", params={"lat": lat, "lon": lon}).json()
    assert c["as_of"] == snap.now and c["here"]["lo_s"] == 60 * (now["lo_s"] // 60)


def test_the_public_answer_keeps_a_forecast_in_force_when_its_picture_was_made():
    # The public picture is a minute old: a lost threat's forecast that expired since then is
    # still on the public track view, and "does it concern me" must not leave it out.
    from types import SimpleNamespace

    from airshield.server.concern import _region_threat

    now = 10_000.0
    f = SimpleNamespace(expires=now - 30.0, cls="drone", etas=[("UA-59", now + 600.0, now + 300.0, now + 900.0)])
    assert _region_threat({"T1": f}, "UA-59", now, now - 60.0)["lo_s"] == 300
    assert _region_threat({"T1": f}, "UA-59", now, now) is None  # the live picture no longer counts it


@contextlib.contextmanager
def _sensors_published(api):
    """The service as started with --public-sensors (its settings swapped for the block)."""
    s = api.app.state.settings
    api.app.state.settings = dataclasses.replace(s, public_sensors=True)
    try:
        yield
    finally:
        api.app.state.settings = s


def test_the_sensors_and_their_gaps_are_for_viewers_unless_the_deployment_publishes_them(mid):
    # Where the network listens and where it has gone deaf tells an attacker which way to fly.
    for path in ("/v1/sensors", "/v1/sensors/gaps.geojson"):
        r = mid.client.get(path)
        assert r.status_code == 401 and "viewer token" in r.json()["detail"]
        assert mid.client.get(path, headers=mid.auth(mid.viewer)).status_code == 200
        sensor = next(iter(mid.sensor_tokens.values()))
        assert mid.client.get(path, headers=mid.auth(sensor)).status_code == 403
    with _sensors_published(mid):
        assert mid.client.get("/v1/sensors").status_code == 200


def test_sensors_show_health_and_the_gap_of_a_silent_one(mid):
    sensors = mid.client.get("/v1/sensors", headers=mid.auth(mid.viewer)).json()
    assert len(sensors) > 2000
    silent = [s for s in sensors if s["silent"]]
    heard = [s for s in sensors if s["last_seen"] is not None]
    assert silent and heard
    gap = next(s["gap"] for s in silent if s["gap"])
    assert gap["radius_m"] > 0
    only = mid.client.get("/v1/sensors", params={"silent": "false"}, headers=mid.auth(mid.viewer)).json()
    assert only and not any(s["silent"] for s in only)
    gj = mid.client.get("/v1/sensors/gaps.geojson", headers=mid.auth(mid.viewer)).json()
    assert gj["features"] and gj["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    with _sensors_published(mid):
        # Published, the public sees which are silent, positions to ~1 km, and not when each
        # last reported (beside its heartbeat: a detection, live).
        public = mid.client.get("/v1/sensors").json()
    assert [s["silent"] for s in public] == [s["silent"] for s in sensors]
    assert all(s["last_seen"] is None and s["last_heartbeat"] is None and s["silent_for_s"] % 60 == 0
               for s in public)
    assert all(s["lat"] is None or round(s["lat"], 2) == s["lat"] for s in public)


def test_a_heartbeat_keeps_a_sensor_from_being_silent(mid):
    sensors = {s["id"]: s for s in mid.client.get("/v1/sensors", headers=mid.auth(mid.viewer)).json()}
    sid = next(i for i, s in sensors.items() if s["silent"] and s["kind"] == "acoustic")
    tok = mid.sensor_tokens[sid]
    r = mid.client.post(f"/v1/sensors/{sid}/heartbeat", headers=mid.auth(tok))
    assert r.status_code == 200
    after = {s["id"]: s for s in mid.client.get("/v1/sensors", headers=mid.auth(mid.viewer)).json()}[sid]
    assert not after["silent"] and after["last_heartbeat"] == r.json()["last_heartbeat"]
    other = next(t for i, t in mid.sensor_tokens.items() if t != tok)
    assert mid.client.post(f"/v1/sensors/{sid}/heartbeat", headers=mid.auth(other)).status_code == 403
    assert mid.client.post("/v1/sensors/NOPE/heartbeat", headers=mid.auth(tok)).status_code == 404


def test_a_gateways_health_message_keeps_its_nodes_from_being_silent(mid):
    sensors = {s["id"]: s for s in mid.client.get("/v1/sensors", headers=mid.auth(mid.viewer)).json()}
    silent = [i for i, s in sensors.items() if s["silent"] and s["kind"] == "acoustic"][:50]
    tok = mid.sensor_tokens[silent[0]]
    mine = [i for i in silent if mid.sensor_tokens[i] == tok]
    foreign = next(i for i, t in mid.sensor_tokens.items() if t != tok)
    r = mid.client.post("/v1/sensors/heartbeat", json={"sensors": [*mine, foreign, "NOPE"]}, headers=mid.auth(tok))
    assert r.status_code == 200
    body = r.json()
    assert body["alive"] == len(mine)
    assert [(x["id"], x["index"]) for x in body["rejected"]] == [(foreign, len(mine)), ("NOPE", len(mine) + 1)]
    after = {s["id"]: s for s in mid.client.get("/v1/sensors", headers=mid.auth(mid.viewer)).json()}
    assert not any(after[i]["silent"] for i in mine)
    assert mid.client.post("/v1/sensors/heartbeat", json={"sensors": mine}).status_code == 401


def test_registering_sensors_needs_the_admin(mid):
    body = {"sensors": [{"id": "AC-NEW-1", "kind": "acoustic", "lat": 50.0, "lon": 30.0}]}
    assert mid.client.post("/v1/sensors", json=body).status_code == 401
    assert mid.client.post("/v1/sensors", json=body, headers=mid.auth(mid.operator)).status_code == 403
    r = mid.client.post("/v1/sensors", json=body, headers=mid.auth(mid.admin))
    assert r.status_code == 201 and re.match(r"^as_[A-Za-z0-9_-]{40,}$", r.json()["token"])


def test_healthz_and_metrics(mid):
    h = mid.client.get("/healthz").json()
    assert h["status"] == "ok" and h["accepted"] > 0 and math.isfinite(h["now"])
    assert h["failed_steps"] == 0 and h["first_failure"] is None
    m = mid.client.get("/metrics").text
    for name in ("airshield_reports_accepted_total", "airshield_steps_total", "airshield_clock_lag_seconds",
                 "airshield_tracks", 'airshield_regions{state="alert"}', "airshield_step_batch_seconds_bucket"):
        assert name in m, name
    accepted = float(re.search(r"^airshield_reports_accepted_total (\S+)$", m, re.M).group(1))
    assert accepted == h["accepted"]
    assert float(re.search(r"^airshield_failed_steps (\S+)$", m, re.M).group(1)) == h["failed_steps"] == 0


def _threat_positions(rows) -> list[tuple[float, float]]:
    return [(t["lat"], t["lon"]) for r in rows for t in ((r.get("reason") or {}).get("threats") or [])]


def test_alert_reasons_show_the_public_threat_positions_on_the_coarse_grid_and_viewers_exactly(mid):
    s = mid.app.state.settings
    dlat = s.public_coarsen_m / 111_320.0
    hist = mid.client.get("/v1/alerts/history", params={"limit": 1000}).json()["items"]
    for rows in (mid.client.get("/v1/regions").json(), mid.client.get("/v1/alerts").json(), hist):
        pos = _threat_positions(rows)
        assert pos, "the night's alerts name threats"
        assert all(abs(lat / dlat - round(lat / dlat)) < 2e-3 for lat, _ in pos), pos[:3]
    viewer = mid.client.get("/v1/alerts/history", params={"limit": 1000}, headers=mid.auth(mid.viewer)).json()
    exact = _threat_positions(viewer["items"])
    assert len(exact) == len(_threat_positions(hist))
    assert any(abs(lat / dlat - round(lat / dlat)) > 1e-2 for lat, _ in exact)
    # Speeds, headings and arrival times as coarse as on the public track view: no finer trace.
    threats = [t for e in hist for t in (e.get("reason") or {}).get("threats") or ()]
    assert threats and all(t["speed_mps"] % 5 == 0 and t["heading_deg"] % 10 == 0 for t in threats
                           if t.get("speed_mps") is not None)
    etas = [v for e in hist for d in [e.get("reason") or {}, *((e.get("reason") or {}).get("threats") or ()),
                                      *((e.get("reason") or {}).get("places") or ())]
            for k, v in d.items() if k.startswith("eta") and v is not None]
    assert etas and all(v % 60 == 0 for v in etas)
    exact_etas = [v for e in viewer["items"] for k, v in (e.get("reason") or {}).items()
                  if k.startswith("eta") and v is not None]
    assert any(v % 60 for v in exact_etas)


def test_the_public_coverage_gaps_are_drawn_around_the_rounded_sensor_positions(mid):
    import shapely.geometry

    with _sensors_published(mid):
        public = shapely.geometry.shape(mid.client.get("/v1/sensors/gaps.geojson").json()["features"][0]["geometry"])
        silent = [s for s in mid.client.get("/v1/sensors").json() if s["silent"] and s["gap"]]
    exact = shapely.geometry.shape(mid.client.get("/v1/sensors/gaps.geojson",
                                                  headers=mid.auth(mid.viewer)).json()["features"][0]["geometry"])
    assert not public.equals_exact(exact, 1e-6)
    assert all(public.buffer(1e-6).contains(shapely.geometry.Point(s["lon"], s["lat"])) for s in silent[:50])


def test_a_refused_registration_leaves_no_token_behind(mid):
    server = mid.app.state.server
    before = server._db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0]
    body = {"sensors": [{"id": "AC-HALF", "kind": "acoustic", "lat": 50.0}]}
    assert mid.client.post("/v1/sensors", json=body, headers=mid.auth(mid.admin)).status_code == 422
    assert server._db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0] == before


def test_after_minutes_down_the_public_view_shows_the_last_picture_not_nothing():
    # A restart after 150 s down: the history holds the picture of the crash, then new steps. The
    # first new step must not drop the crash's picture, or the public (60 s behind) sees nothing
    # for a minute.
    from airshield.server.engine import STALE_HISTORY_S, trim_history

    crash, now = 1000.0, 1150.0
    hist = [(crash - 10.0, "older"), (crash, "at the crash")]
    kept = trim_history(hist, keep=now - 90.0, now=now)
    assert kept == [(crash, "at the crash")]
    # in steady steps, only the entries from `keep` on and the one just before
    steady = [(t, t) for t in range(900, 1151, 5)]
    assert trim_history(steady, keep=1060.0, now=1150.0)[0] == (1055, 1055)
    # a picture from before the stale limit is not shown
    assert trim_history([(0.0, "ancient")], keep=STALE_HISTORY_S + 10.0, now=STALE_HISTORY_S + 100.0) == []


def test_an_alert_apps_page_on_another_origin_may_read_the_api_and_the_stream(mid):
    # Bearer tokens, never cookies: any origin may read (a browser's preflight, then the answer).
    h = {"Origin": "https://app.example.net"}
    pre = mid.client.options("/v1/alerts", headers={**h, "Access-Control-Request-Method": "GET",
                                                    "Access-Control-Request-Headers": "authorization,last-event-id"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] in ("*", h["Origin"])
    assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    r = mid.client.get("/v1/regions", headers=h)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    # A poller on another origin may ask for an unchanged feed and read its ETag.
    pre = mid.client.options("/v1/alerts.atom", headers={**h, "Access-Control-Request-Method": "GET",
                                                         "Access-Control-Request-Headers": "if-none-match"})
    assert pre.status_code == 200
    feed = mid.client.get("/v1/alerts.atom", headers=h)
    assert "etag" in feed.headers["access-control-expose-headers"].lower()
    # The schema has one operation per method, each with its own id (client generators need it).
    ops = [op["operationId"] for path in mid.client.get("/openapi.json").json()["paths"].values()
           for op in path.values()]
    assert len(ops) == len(set(ops))


def test_a_service_listening_for_other_machines_needs_the_address_they_reach_it_at(tmp_path):
    from typer.testing import CliRunner

    from airshield.cli import app

    r = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--data", str(tmp_path / "d")])
    assert r.exit_code != 0 and "--base-url" in r.output
    r = CliRunner().invoke(app, ["serve", "--base-url", "alerts.example.org", "--data", str(tmp_path / "d")])
    assert r.exit_code != 0 and "not an http(s) address" in r.output


def test_a_restart_shorter_than_the_public_delay_keeps_the_public_picture(tmp_path, tiny_night):
    # The public sees the picture of a minute ago. A service restarted seconds after its last
    # step had only that step's picture, newer than a minute: the public saw no threat at all.
    from fastapi.testclient import TestClient

    from airshield.server.app import create_app

    client, api = make_api(tmp_path, tiny_night)
    feeder.feed(client, feeder.load_night(tiny_night), api.sensor_tokens, until=MID)
    before = client.get("/v1/tracks").json()
    client.__exit__(None, None, None)
    assert before, "threats on the public view at 19:30"
    with TestClient(create_app(api.app.state.settings)) as again:
        after = again.get("/v1/tracks").json()
    assert [(t["id"], t["t"], t["lat"], t["lon"]) for t in after] == [
        (t["id"], t["t"], t["lat"], t["lon"]) for t in before]
    # ... with each threat's cone and arrival times, which the log does not hold: the
    # replay made them as it passed the steps the public still sees.
    assert sum(bool(t["cone"] and t["eta"]) for t in after) >= 3


def test_atom_entry_ids_survive_a_restart_with_another_base_url(tmp_path, tiny_night):
    # RFC 4287 4.2.6: an entry's id never changes. The tag authority is the log's, fixed when
    # the log was made from the base URL then; links follow the new address.
    import dataclasses
    import re

    from fastapi.testclient import TestClient

    from airshield.server.app import create_app

    client, api = make_api(tmp_path, tiny_night, base_url="https://alerts.oblast.gov.ua/")
    feeder.feed(client, feeder.load_night(tiny_night), api.sensor_tokens, until=MID)
    before = client.get("/v1/alerts.atom").text
    client.__exit__(None, None, None)
    ids = re.findall(r"<id>(tag:[^<]+)</id>", before)
    assert len(ids) >= 2 and all(i.startswith("tag:alerts.oblast.gov.ua,2026:") for i in ids)
    moved = dataclasses.replace(api.app.state.settings, base_url="https://alerts.example.net/")
    with TestClient(create_app(moved)) as again:
        after = again.get("/v1/alerts.atom").text
    assert re.findall(r"<id>(tag:[^<]+)</id>", after) == ids
    assert "https://alerts.example.net/cap/" in after


def test_a_stopped_engine_answers_not_known_rather_than_no_threat(mid, monkeypatch):
    # Its snapshot is frozen: "no threat expected" from it could be a stale all-clear.
    ok = mid.client.get("/v1/concern", params={"lat": 50.91, "lon": 34.80})
    assert ok.status_code == 200
    monkeypatch.setattr(type(mid.engine), "alive", property(lambda self: False))
    r = mid.client.get("/v1/concern", params={"lat": 50.91, "lon": 34.80})
    assert r.status_code == 503 and "not known" in r.json()["detail"] and r.headers["retry-after"]
