"""The sensor registry: register (admin), heartbeat (the sensor), health (everyone).

A sensor is registered with its kind, position and nominal coverage radius and
gets a token (shown once) that may report for it. Several sensors may share a
token (a gateway for a network of acoustic nodes: ``POST /v1/sensors`` with a
list). Health: a sensor is **silent** when nothing was heard from it (report or
heartbeat) for ``silent_after_s`` of the service clock; a silent sensor's
nominal coverage is a gap in the picture, given as a circle (``gap``) for the
map to draw. Acoustic nodes are also made known to the core at registration
(the tracker's negative information needs to know where silent nodes are).
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from airshield.geo.theatre import beyond_reach
from airshield.model import AcousticDetection, from_epoch
from airshield.server.auth import has, optional, require
from airshield.server.state import (
    DEFAULT_RANGE_M,
    FIXED_KINDS,
    Principal,
    Sensor,
    hash_token,
    new_token,
)

router = APIRouter(tags=["sensors"])


class SensorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    kind: Literal["acoustic", "radar", "observer", "position", "adsb"]
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False,
                              description="None: a network feed (ADS-B, partner)")
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    alt_m: float | None = Field(default=None, ge=-500, le=20_000)
    range_m: float | None = Field(default=None, ge=0, le=1_000_000, description="nominal coverage radius, m")


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    sensors: list[SensorIn] = Field(min_length=1, max_length=50_000)
    name: str = Field(default="", max_length=64, description="the token's name (a gateway), default the first id")


class Registered(BaseModel):
    token: str = Field(description="the bearer token for these sensors; shown once, stored hashed")
    sensors: list[str]


def _clock(request: Request) -> float:
    """The service clock; before a data clock has started, the wall clock."""
    t = request.app.state.engine.clock()
    return t if math.isfinite(t) else time.time()


@router.post("/v1/sensors", status_code=201, response_model=Registered,
             summary="Register sensors (admin); returns their token once")
def register(request: Request, body: Registration, principal: Annotated[Principal, Depends(require("admin"))]):
    ids = [s.id for s in body.sensors]
    if len(set(ids)) != len(ids):
        raise HTTPException(422, "a sensor id appears twice in the registration")
    if any((s.lat is None) != (s.lon is None) for s in body.sensors):
        raise HTTPException(422, "a sensor needs both lat and lon, or neither (a network feed)")
    theatre = request.app.state.engine.rt.core.theatre
    for i, s in enumerate(body.sensors):
        if s.kind in FIXED_KINDS and s.lat is None:
            # Without it, nothing would check that its reports come from where it stands.
            raise HTTPException(422, f"sensors[{i}] ({s.id}): a{'n' if s.kind == 'acoustic' else ''} {s.kind} "
                                     "sensor stands somewhere: it needs lat and lon")
        if s.lat is not None:
            far = beyond_reach(float(theatre.distance_from_centre_m(s.lat, s.lon)))
            if far:
                raise HTTPException(422, f"sensors[{i}] ({s.id}) {far}: every report from it would be refused "
                                         "(latitude and longitude swapped?)")
    server = request.app.state.server
    name = body.name or ids[0]
    token = new_token()
    server.add_token("sensor", name, token, time.time())
    h = hash_token(token)
    now = _clock(request)
    rows = [Sensor(s.id, s.kind, s.lat, s.lon, s.alt_m,
                   (DEFAULT_RANGE_M[s.kind] if s.range_m is None else s.range_m) if s.lat is not None else 0.0,
                   h, now) for s in body.sensors]
    server.add_sensors(rows)
    acoustic = [AcousticDetection(sensor=s.id, time=from_epoch(now), arrival=from_epoch(now), lat=s.lat, lon=s.lon,
                                  alt_m=s.alt_m or 0.0, scores={}) for s in body.sensors
                if s.kind == "acoustic" and s.lat is not None]
    if acoustic:
        request.app.state.engine.register(acoustic)
    return {"token": token, "sensors": ids}


def _health(s: Sensor, now: float, silent_after: float, full: bool, start: float) -> dict:
    """A sensor's health at ``now``: silent when not heard from for ``silent_after`` s (counting from its
    registration, or from the start of the service clock when it was registered before that)."""
    heard = [t for t in (s.last_seen, s.last_heartbeat) if t is not None]
    since = max(heard) if heard else max(s.registered, start) if math.isfinite(start) else s.registered
    if since > now:  # registered on the wall clock before a data clock's night: counts from its start
        since = start if math.isfinite(start) and start <= now else now
    silent = math.isfinite(now) and now - since > silent_after
    lat, lon = (s.lat, s.lon) if full or s.lat is None else (round(s.lat, 2), round(s.lon, 2))
    # The public sees whether a sensor is silent, not when it last reported: a node's report
    # time beside its heartbeat's says, live and to ~1 km, that it heard something just now
    # (service review). Viewers see both times, to the second.
    silent_for = (now - since if full else 60.0 * math.floor((now - since) / 60.0)) if silent else 0.0
    return {"id": s.id, "kind": s.kind, "lat": lat, "lon": lon, "range_m": s.range_m,
            "last_seen": s.last_seen if full else None, "last_heartbeat": s.last_heartbeat if full else None,
            "silent": bool(silent), "silent_for_s": round(silent_for, 1),
            "gap": {"lat": lat, "lon": lon, "radius_m": s.range_m} if silent and s.range_m > 0 and lat is not None
            else None}


def _may_see_sensors(request: Request, principal: Principal | None) -> bool:
    """Whether ``principal`` may see the sensors; raises 401 for the public unless the service
    publishes them (``--public-sensors``). Returns whether it sees them exactly (a viewer)."""
    if has(principal, "viewer"):
        return True
    if principal is not None:  # a token of another kind (a sensor's): not the public, not allowed
        raise HTTPException(403, f"a {principal.role} token may not see the sensors (needs viewer)")
    if not getattr(request.app.state.settings, "public_sensors", False):
        # Where the network listens, and where it has gone deaf right now, tells an attacker
        # which way to fly: for the duty officers (a viewer token), not the public.
        raise HTTPException(401, "the sensors and their coverage gaps need a viewer token (a deployment may "
                                 "publish them: serve --public-sensors)", headers={"WWW-Authenticate": "Bearer"})
    return False


@router.get("/v1/sensors", summary="Registered sensors and their health (viewer; the public only with --public-sensors)")
def sensors(request: Request, principal: Annotated[Principal | None, Depends(optional)] = None,
            silent: Annotated[bool | None, Query(description="only silent (true) or only reporting (false) ones")] = None,
            kind: Annotated[Literal["acoustic", "radar", "observer", "position", "adsb"] | None,
                            Query(description="only sensors of this kind")] = None) -> list[dict]:
    full = _may_see_sensors(request, principal)
    server = request.app.state.server
    now = _clock(request)
    after = request.app.state.settings.silent_after_s
    out = []
    for s in sorted(list(server.sensors.values()), key=lambda s: s.id):  # a copy: registrations may come meanwhile
        if kind is not None and s.kind != kind:
            continue
        h = _health(s, now, after, full, request.app.state.engine.clock_start)
        if silent is None or h["silent"] == silent:
            out.append(h)
    return out


#: Coverage gaps are recomputed at most once per this many seconds of the service clock, per
#: audience (public, viewer): a national network's union takes seconds, and the map polls
#: every 30 s; concurrent requests wait for the one computation instead of each making it.
GAPS_TTL_S = 30.0
_gaps_lock = threading.Lock()


@router.get("/v1/sensors/gaps.geojson", summary="Coverage gaps: the nominal coverage of each silent sensor")
def gaps(request: Request, principal: Annotated[Principal | None, Depends(optional)] = None):
    """A viewer gets circles around the exact positions, the public (with ``--public-sensors``)
    around the rounded positions of /v1/sensors (~1 km). At most ``GAPS_TTL_S`` old."""
    full = _may_see_sensors(request, principal)
    now = _clock(request)
    bucket = math.floor(now / GAPS_TTL_S) if math.isfinite(now) else now
    with _gaps_lock:
        cache = getattr(request.app.state, "gaps_cache", None)
        if cache is None:
            cache = request.app.state.gaps_cache = {}
        hit = cache.get(full)
        if hit is None or hit[0] != bucket:
            # Kept encoded: a national union is tens of thousands of coordinates, and encoding
            # them again for every poll of the map would cost what the cache saves.
            body = json.dumps(_gaps(request, now, full), separators=(",", ":")).encode()
            hit = cache[full] = (bucket, body)
    return Response(content=hit[1], media_type="application/geo+json")


def _gaps(request: Request, now: float, full: bool) -> dict:
    import shapely
    from shapely.ops import unary_union

    server = request.app.state.server
    after = request.app.state.settings.silent_after_s
    th = request.app.state.engine.regions.theatre
    lat, lon, radius = [], [], []
    for s in list(server.sensors.values()):
        h = _health(s, now, after, full, request.app.state.engine.clock_start)
        # Observers are citizens' phones: a quiet one is someone asleep, not a hole in the network.
        if h["silent"] and s.range_m > 0 and s.lat is not None and s.kind != "observer":
            lat.append(h["lat"])
            lon.append(h["lon"])
            radius.append(s.range_m)
    feats = []
    if lat:
        x, y = th.to_xy(np.array(lat), np.array(lon))  # one projection call for all
        circles = shapely.buffer(shapely.points(x, y), np.array(radius), quad_segs=8)
        area = unary_union(circles).simplify(200.0)

        def to_lonlat(xy):
            la, lo = th.to_latlon(xy[:, 0], xy[:, 1])
            return np.column_stack([lo, la])

        geom = shapely.transform(area, to_lonlat)
        feats.append({"type": "Feature", "properties": {"silent": len(lat)},
                      "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": feats}


@router.delete("/v1/sensors/{sensor_id}/token", summary="Revoke the token a sensor reports with (admin)")
def revoke_sensor_token(request: Request, sensor_id: str, principal: Annotated[Principal, Depends(require("admin"))]):
    """A leaked or lost sensor token: every sensor registered with it stops being able to
    report (its reports get 401) until registered again with a new token."""
    ids = request.app.state.server.revoke_sensor_token(sensor_id)
    if not ids:
        raise HTTPException(404, f"no sensor {sensor_id!r} with a live token")
    return {"revoked": 1, "sensors": ids}


class Heartbeats(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    sensors: list[str] = Field(min_length=1, max_length=50_000, description="ids of this token's live sensors")


@router.post("/v1/sensors/heartbeat", summary="Several sensors are alive (a gateway's health message)")
def heartbeats(request: Request, body: Heartbeats, principal: Annotated[Principal, Depends(require("sensor"))]):
    """A network's head-end reports which of its nodes are alive (nodes that hear nothing
    send no reports, yet are not a gap). Ids that are unknown or not this token's are
    listed with the reason; the others count."""
    server = request.app.state.server
    now = _clock(request)
    ok, rejected = [], []
    for i, sid in enumerate(body.sensors):
        if sid not in server.sensors:
            rejected.append({"index": i, "id": sid[:64], "error": "no such sensor is registered"})
        elif not server.may_report(principal, sid):
            rejected.append({"index": i, "id": sid, "error": "not registered to this token"})
        else:
            ok.append(sid)
    if ok:
        server.touch(ok, now, heartbeat=True)
    return {"alive": len(ok), "rejected": rejected, "last_heartbeat": now}


@router.post("/v1/sensors/{sensor_id}/heartbeat", summary="A sensor is alive (its own token)")
def heartbeat(request: Request, sensor_id: str, principal: Annotated[Principal, Depends(require("sensor"))]):
    server = request.app.state.server
    if sensor_id not in server.sensors:
        raise HTTPException(404, f"no sensor {sensor_id!r} is registered")
    if not server.may_report(principal, sensor_id):
        raise HTTPException(403, f"sensor {sensor_id!r} is not registered to this token")
    now = _clock(request)
    server.touch([sensor_id], now, heartbeat=True)
    return {"id": sensor_id, "last_heartbeat": now}
