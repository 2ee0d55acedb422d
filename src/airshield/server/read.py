"""The public read API: regions, alerts (current, history, CAP, Atom), the status string, tracks, the clock.

Everything here reads the engine's immutable snapshot or the event log through
a read-only connection; nothing waits for the engine thread. Public views show
only public data: tracks are delayed by ``public_delay_s`` and their positions
rounded to ``public_coarsen_m`` (a ``viewer`` token sees the live picture),
civil aircraft are left out of the public view, and the threats named in alert
reasons have their positions rounded to the same grid (server/public.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from datetime import datetime
from typing import Annotated

import shapely
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from airshield.alerting.atom import FEED_PATH
from airshield.server.auth import has, optional
from airshield.server.engine import Snapshot
from airshield.server.public import (
    coarsen,
    public_alert,
    public_motion,
    public_reason,
    whole_minutes,
)
from airshield.server.state import Principal

router = APIRouter(tags=["public"])

#: Characters of the status string (alerts.in.ua's IoT feed uses one character per region too).
STATUS_CHARS = {"alert": "A", "pre_alert": "P", "quiet": "N"}
#: Region outlines in /v1/regions.geojson are simplified to this tolerance, degrees (~1 km).
GEOJSON_TOLERANCE_DEG = 0.01


def _num(v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def _epoch(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def _engine(request: Request):
    return request.app.state.engine


def _alert_dict(e) -> dict:
    import msgspec

    d = msgspec.to_builtins(e)
    return d


def _grid(request: Request, principal: Principal | None) -> float | None:
    """The grid for threat positions in alert reasons, m, for whoever asks: the public's; 0 for a
    viewer (exact positions, but not the operator's name and note, which are for the audit
    trail, i.e. operators' tokens); None for an operator (full lines)."""
    if has(principal, "operator"):
        return None
    return 0.0 if has(principal, "viewer") else float(_engine(request).settings.public_coarsen_m)


def region_rows(request: Request, principal: Principal | None = None) -> list[dict]:
    """Each region's state and reason, as ``principal`` (None: the public) may see them."""
    eng = _engine(request)
    grid = _grid(request, principal)
    snap: Snapshot = eng.snapshot
    out = []
    for rid in eng.region_ids:
        r = eng.regions[rid]
        last = snap.last_alert.get(rid)
        state = snap.states.get(rid, "quiet")
        out.append({
            "id": rid, "name": r.name, "name_uk": r.name_uk, "level": r.level, "parent": r.parent, "state": state,
            "since": (_since(eng, rid, last) if state != "quiet" else float(last.t)) if last else None,
            "alert_id": last.alert_id if last is not None and state != "quiet" else None,
            "reason": public_reason(_alert_dict(last.reason), grid) if last is not None else None,
        })
    return out


def _since(eng, rid: str, last) -> float:
    """When the region's running chain started (its alert_id's chain start), else the last event's time."""
    return float(eng.chain_start.get(last.alert_id, last.t)) if hasattr(eng, "chain_start") else float(last.t)


@router.get("/v1/regions", summary="Alert regions with their state and the reason for it")
def regions(request: Request, principal: Annotated[Principal | None, Depends(optional)] = None) -> list[dict]:
    return region_rows(request, principal)


@functools.lru_cache(maxsize=8)
def _outlines(regions_key: int, regions) -> dict[str, dict]:
    return {r.id: shapely.geometry.mapping(r.geometry.simplify(GEOJSON_TOLERANCE_DEG, preserve_topology=True))
            for r in regions}


@router.get("/v1/regions.geojson", summary="Region outlines (simplified) with their state, GeoJSON")
def regions_geojson(request: Request):
    eng = _engine(request)
    shapes = _outlines(id(eng.regions), eng.regions)
    feats = []
    for row in region_rows(request):
        geom = shapes.get(row["id"])
        props = {k: row[k] for k in ("id", "name", "name_uk", "state", "since", "alert_id")}
        feats.append({"type": "Feature", "id": row["id"], "properties": props, "geometry": geom})
    # The credit line the regions' licence asks for (a foreign member, RFC 7946 6.1): the map shows it.
    return JSONResponse({"type": "FeatureCollection", "attribution": eng.regions.attribution, "features": feats},
                        media_type="application/geo+json")


@router.get("/v1/alerts", summary="Current alerts and pre-alerts (each region's latest event)")
def alerts(request: Request, principal: Annotated[Principal | None, Depends(optional)] = None) -> list[dict]:
    snap = _engine(request).snapshot
    grid = _grid(request, principal)
    out = []
    for rid, e in sorted(snap.last_alert.items()):
        if snap.states.get(rid, "quiet") == "quiet":
            continue
        d = public_alert(_alert_dict(e), grid)
        d["cap"] = f"/v1/alerts/{e.alert_id}.cap"
        out.append(d)
    return out


@router.get("/v1/alerts/history", summary="Alert events by region and time, oldest first, paginated")
def history(
    request: Request,
    region: Annotated[str | None, Query(max_length=64, description="region id, e.g. UA-32")] = None,
    since: Annotated[float | None, Query(description="events at or after this time, s since the epoch")] = None,
    until: Annotated[float | None, Query(description="events before this time, s since the epoch")] = None,
    cursor: Annotated[int, Query(ge=0, le=2**63 - 1, description="next_cursor of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    principal: Annotated[Principal | None, Depends(optional)] = None,
):
    return _page(request, "alert", region, since, until, cursor, limit, _grid(request, principal))


def _page(request: Request, kind: str, region, since, until, cursor: int, limit: int,
          grid: float | None = None):
    """A page of logged events of ``kind``; alert reasons public on ``grid`` m (None: as logged)."""
    if region is not None and region not in _engine(request).region_ids:
        # As the stream and webhooks answer: an empty page would hide a typo.
        raise HTTPException(422, f"region: unknown {region} (GET /v1/regions lists them)")
    q = "SELECT seq, body FROM events WHERE kind = ? AND seq > ?"
    args: list = [kind, cursor]
    if region is not None:
        q += " AND key = ?"
        args.append(region)
    for v, op in ((since, ">="), (until, "<")):
        if v is not None:
            if not math.isfinite(v):
                raise HTTPException(422, "since/until must be finite numbers (s since the epoch)")
            q += f" AND t {op} ?"
            args.append(v)
    q += " ORDER BY seq LIMIT ?"
    args.append(limit + 1)
    rows = _engine(request).reader.query(q, args)
    items = []
    for seq, body in rows[:limit]:
        d = json.loads(body)
        if kind == "alert":
            d = public_alert(d, grid)
        d["id"] = seq
        items.append(d)
    return {"items": items, "next_cursor": rows[limit - 1][0] if len(rows) > limit else None}


def _conditional(request: Request, body: bytes | str, media_type: str, immutable: bool = False) -> Response:
    """``body`` with an ETag (a 304 when the client's If-None-Match names it): feed readers and
    sirens that poll fetch a changed body only. A CAP message by its identifier never changes."""
    data = body.encode() if isinstance(body, str) else body
    etag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"}
    asked = request.headers.get("if-none-match", "")
    if asked.strip() == "*" or etag in (t.strip().removeprefix("W/") for t in asked.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


# HEAD beside each GET for pollers, out of the schema: one route with both methods gave the two
# operations one operationId, which client generators refuse.
@router.get("/v1/alerts.atom", summary="Atom feed of the current alerts (CAP 1.2 links)",
            response_class=Response, responses={200: {"content": {"application/atom+xml": {}}}})
@router.head("/v1/alerts.atom", include_in_schema=False, response_class=Response)
# The feed's `self` link, like its entries' /cap/ links, is relative to the base URL (the
# same feed as a run's RUNDIR/alerts.atom beside RUNDIR/cap/): served there too.
@router.api_route("/" + FEED_PATH, methods=["GET", "HEAD"], include_in_schema=False, response_class=Response)
def atom(request: Request):
    eng = _engine(request)
    xml = eng.call(lambda rt: eng.feed.to_xml(now=eng.clock() if math.isfinite(eng.clock()) else None))
    return _conditional(request, xml, "application/atom+xml")


@router.get("/v1/alerts/{alert_id}.cap",
            summary="CAP 1.2 message of an alert (latest of its chain, or by CAP identifier)",
            response_class=Response, responses={200: {"content": {"application/cap+xml": {}}}, 404: {}})
@router.head("/v1/alerts/{alert_id}.cap", include_in_schema=False, response_class=Response)
def cap(request: Request, alert_id: str):
    eng = _engine(request)
    ident = eng.cap_latest.get(alert_id, alert_id)
    xml = eng.cap_xml.get(ident)
    if xml is None:
        raise HTTPException(404, f"no alert or CAP message {alert_id!r}")
    return _conditional(request, xml, "application/cap+xml", immutable=ident == alert_id)


@router.get("/cap/{identifier}.xml", summary="A CAP message by its identifier (the Atom feed's links)",
            response_class=Response, responses={200: {"content": {"application/cap+xml": {}}}, 404: {}})
@router.head("/cap/{identifier}.xml", include_in_schema=False, response_class=Response)
def cap_file(request: Request, identifier: str):
    xml = _engine(request).cap_xml.get(identifier)
    if xml is None:
        raise HTTPException(404, f"no CAP message {identifier!r}")
    return _conditional(request, xml, "application/cap+xml", immutable=True)


@router.get("/v1/status", summary="One character per region: A alert, P pre-alert, N quiet (order: /v1/status/regions)",
            response_class=PlainTextResponse)
@router.head("/v1/status", include_in_schema=False, response_class=PlainTextResponse)
def status(request: Request):
    eng = _engine(request)
    st = eng.snapshot.states
    return _conditional(request, "".join(STATUS_CHARS[st.get(r, "quiet")] for r in eng.region_ids),
                        "text/plain; charset=utf-8")


@router.get("/v1/status/regions", summary="The region order of /v1/status (fixed for a deployment)")
def status_regions(request: Request) -> list[str]:
    return list(_engine(request).region_ids)


@router.get("/v1/clock", summary="The service clock (data mode: the simulated night's time)")
def clock(request: Request):
    eng = _engine(request)
    snap = eng.snapshot
    return {"now": _num(eng.clock()), "last_step": _num(snap.now), "mode": request.app.state.settings.clock,
            "batch_s": request.app.state.settings.batch_s}


def track_rows(request: Request, full: bool) -> list[dict]:
    eng = _engine(request)
    s = request.app.state.settings
    snap: Snapshot = eng.snapshot
    if full:
        tracks, forecasts, ref = snap.tracks, snap.forecasts, snap.now
    else:  # the picture as it was public_delay_s ago: positions, cones and ETAs alike
        ref, tracks, forecasts = snap.as_of(snap.now - s.public_delay_s)
    out = []
    for tid, d in sorted(tracks.items()):
        if not full and not (d.get("threat") and d.get("status") in ("confirmed", "coasting")):
            continue
        ve, vn, vu = d["vel_enu_mps"]
        lat, lon = d["lat"], d["lon"]
        speed = math.hypot(ve, vn)
        heading = math.degrees(math.atan2(ve, vn)) % 360.0
        if not full:
            lat, lon = coarsen(lat, lon, s.public_coarsen_m)
            speed, heading = public_motion(speed, heading)
        f = forecasts.get(tid)
        etas = []
        if f is not None:
            for region, tin, lo, hi in f.etas:
                if hi is not None and hi < ref:
                    continue
                e = {"region": region, "eta_s": None if tin is None else round(max(tin - ref, 0.0)),
                     "lo_s": round(max(lo - ref, 0.0)), "hi_s": None if hi is None else round(max(hi - ref, 0.0))}
                if not full:  # whole minutes, as in the public alert reasons and /v1/concern
                    e["lo_s"], e["eta_s"], e["hi_s"] = whole_minutes(e["lo_s"], e["eta_s"], e["hi_s"])
                etas.append(e)
        out.append({
            "id": tid, "t": _epoch(d["t"]), "lat": lat, "lon": lon, "alt_m": d["alt_m"] if full else None,
            "speed_ms": round(speed, 1), "heading_deg": round(heading, 1), "class": d["cls"],
            "p_class": d["probs"], "status": d["status"], "threat": bool(d["threat"]),
            "sensors": d.get("sensors") if full else None,
            "cone": f.cone if f is not None else [], "eta": etas,
        })
    return out


@router.get("/v1/tracks", summary="Tracks: public (threats only, delayed and coarsened) or full with a viewer token")
def tracks(request: Request, principal: Annotated[Principal | None, Depends(optional)] = None) -> list[dict]:
    return track_rows(request, has(principal, "viewer"))
