""""Does it concern me, and how long do I have?": a query by location.

``GET /v1/concern?lat=&lon=[&radius_km=]`` answers with the alert region of the
point, its state, the nearest threat that may reach that region (nominal ETA
with its earliest and latest plausible arrival, from the threat picture's
cones), the threat that may come within ``radius_km`` of the point itself
soonest (``here``: a port or a substation needs that, not the region's first
arrival, which can be an hour sooner; warning.point) and what to do, in
Ukrainian and English. The advice follows the state, not the ETA alone: an
alert means shelter now whatever the ETA says (the earliest arrival is the one
the policy alerts on, docs/alerting.md).

``threat`` and ``here`` are as precise as the caller may see (docs/service.md,
"Who sees what"): with a viewer token, the live picture to the second; without
one, the picture of ``public_delay_s`` ago, a radius of at least
``public_coarsen_m``, whole minutes and no track id, so that queries cannot
trace a threat more finely than the public track view shows it. Either way
the times are counted from ``as_of`` (now): told from now, the delayed
picture's arrivals come earlier than it said, never later. A threat first seen
within the delay is not in the public picture yet; the region's state (live)
still says to shelter.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from airshield.alerting.cap import class_name
from airshield.server import ops
from airshield.server.auth import has, optional
from airshield.server.public import whole_minutes
from airshield.server.state import Principal
from airshield.warning.point import PointIndex

router = APIRouter(tags=["public"])

ADVICE = {
    "alert": ("Повітряна тривога! Негайно пройдіть до найближчого укриття і залишайтеся там до відбою.",
              "Air raid alert! Go to the nearest shelter now and stay there until the all-clear."),
    "pre_alert": ("Можлива загроза: підготуйтеся пройти в укриття, стежте за сповіщеннями.",
                  "Threat possible: be ready to go to a shelter and watch for alerts."),
    "quiet": ("Загрози для вашої області зараз немає.", "No threat to your region now."),
    "outside": ("Ця точка поза зоною, яку охоплює airshield.", "This point is outside the area airshield covers."),
}


def _minutes_uk(s: float) -> str:
    m = math.floor(s / 60)
    return "менш ніж за хвилину" if m < 1 else f"через {m} хв"


def _minutes_en(s: float) -> str:
    m = math.floor(s / 60)
    return "in less than a minute" if m < 1 else f"in {m} min"


def _km_uk(km: float) -> str:
    return f"{km:g}".replace(".", ",")


@router.get("/v1/concern", summary="Does it concern me, and how long do I have? (by location)")
def concern(request: Request,
            lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="latitude, WGS84 degrees")],
            lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="longitude, WGS84 degrees")],
            radius_km: Annotated[float | None, Query(ge=0.5, le=100, allow_inf_nan=False, description="how near to the point counts "
                                                     "as reaching it, km (default: a city's, 5 km; the public "
                                                     "gets at least the public grid's)")] = None,
            principal: Annotated[Principal | None, Depends(optional)] = None):
    eng = request.app.state.engine
    settings = request.app.state.settings
    if not ops.engine_ok(eng, settings):
        # A frozen picture must not answer "no threat": the person is told it is not known.
        raise HTTPException(503, "the alert engine is not running or has fallen behind: the answer is not known; "
                                 "follow the sirens and official alerts", headers={"Retry-After": "15"})
    full = has(principal, "viewer")
    core = eng.rt.core
    radius_m = core.cfg.warning.site_radius_m if radius_km is None else radius_km * 1000.0
    if not full:
        radius_m = max(radius_m, settings.public_coarsen_m)
    radius_km = round(radius_m / 1000.0, 3)
    regions = eng.regions
    rid = regions.locate(lat, lon)
    alerting = set(eng.region_ids)
    while rid is not None and rid not in alerting:  # up the tree to the region that alerts
        rid = regions[rid].parent
    if rid is None:
        uk, en = ADVICE["outside"]
        now = eng.snapshot.now
        return {"lat": lat, "lon": lon, "region": None, "state": None, "alert_id": None,
                "as_of": now if math.isfinite(now) else None, "threat": None, "here": None,
                "radius_km": radius_km, "advice": {"uk": uk, "en": en}}
    snap = eng.snapshot
    state = snap.states.get(rid, "quiet")
    ref = snap.now
    if full:
        forecasts, pictured = snap.forecasts, ref
    else:  # the picture as the public track view shows it: public_delay_s ago, whole minutes, no id
        pictured = ref - settings.public_delay_s
        _, _, forecasts = snap.as_of(pictured)
    # Threats are picked from that picture, with the forecasts in force then (the public track
    # view shows them); their times are counted from now: the delayed picture's arrivals, told
    # from now, come earlier, never later, than it said.
    threat = _region_threat(forecasts, rid, ref, pictured)
    here = _here(core, forecasts, lat, lon, radius_m, ref, pictured)
    if not full:
        threat, here = _public(threat), _public(here)
    uk, en = ADVICE[state]
    if state != "quiet":
        if threat is not None and threat["inside"]:
            uk += " Загроза вже над вашою областю."
            en += " A threat is over your region now."
        elif threat is not None:
            uk += (f" Найближча загроза ({class_name(threat['class'], True)}) може досягти вашої області "
                   f"{_minutes_uk(threat['lo_s'])}.")
            en += (f" The nearest threat ({class_name(threat['class'], False)}) may reach your region "
                   f"{_minutes_en(threat['lo_s'])}.")
        km_uk, km_en = _km_uk(radius_km), f"{radius_km:g}"
        if here is None:
            uk += f" Ближче ніж за {km_uk} км від цієї точки загроз не очікується."
            en += f" No threat is expected within {km_en} km of this point."
        elif here["inside"]:
            uk += f" Загроза ({class_name(here['class'], True)}) може бути ближче ніж за {km_uk} км від цієї точки вже зараз."
            en += f" A threat ({class_name(here['class'], False)}) may be within {km_en} km of this point now."
        else:
            uk += (f" Загроза ({class_name(here['class'], True)}) може опинитися ближче ніж за {km_uk} км від "
                   f"цієї точки щонайшвидше {_minutes_uk(here['lo_s'])}.")
            en += (f" A threat ({class_name(here['class'], False)}) may come within {km_en} km of this point "
                   f"{_minutes_en(here['lo_s'])} at the earliest.")
    r = regions[rid]
    last = snap.last_alert.get(rid)
    return {"lat": lat, "lon": lon, "region": {"id": rid, "name": r.name, "name_uk": r.name_uk}, "state": state,
            "alert_id": last.alert_id if last is not None and state != "quiet" else None,
            "as_of": ref if math.isfinite(ref) else None, "threat": threat, "here": here, "radius_km": radius_km,
            "advice": {"uk": uk, "en": en}}


def _public(answer: dict | None) -> dict | None:
    """A threat answer as the public gets it: no track id, whole minutes (the earliest arrival
    rounded down, the latest up)."""
    if answer is None:
        return None
    lo, nominal, hi = whole_minutes(answer["lo_s"], answer["eta_s"], answer["hi_s"])
    return {**answer, "track": None, "lo_s": lo, "eta_s": nominal, "hi_s": hi}


def _region_threat(forecasts: dict, rid: str, now: float, pictured: float) -> dict | None:
    """The threat that may reach region ``rid`` soonest in ``forecasts`` (the live picture or a
    delayed one, of time ``pictured``), as seen from ``now``: a forecast no longer in force at
    ``pictured`` or a threat gone by now is left out, and the times are counted from now; None
    if none may."""
    if not math.isfinite(now):
        return None
    best = None
    for tid, f in sorted(forecasts.items()):
        if f.expires < pictured:
            continue  # a lost threat only held: the policy no longer counts it (R1-R3)
        for region, tin, lo, hi in f.etas:
            if region != rid or (hi is not None and hi < now):  # gone by now
                continue
            if best is None or lo < best[2]:
                best = (tid, f.cls, lo, tin, hi)
    if best is None:
        return None
    return _answer(*best, now)


def _here(core, forecasts: dict, lat: float, lon: float, radius_m: float, now: float,
          pictured: float) -> dict | None:
    """The threat whose cone may come within ``radius_m`` of the point soonest in ``forecasts``
    (the snapshot's, live or delayed, of time ``pictured``), as the reply's ``here``, seen from
    ``now``: a cone passed by now or a forecast no longer in force at ``pictured`` is left out,
    and the times are counted from now; None if none may.

    Only forecasts in force count, as for the policy's R1-R3. Of threats that may be there
    now, one still followed comes before a lost one, then the nearest nominal arrival."""
    if not math.isfinite(now) or not forecasts:
        return None
    ids, index = _index_of(forecasts)
    x, y = core.theatre.to_xy(lat, lon)
    best, best_key = None, None
    for i, e in index.etas(float(x), float(y), radius_m, core.cfg.warning.cone_k, core.field.margin):
        f = forecasts[ids[i]]
        if e.t_last < now or f.expires < pictured:  # passed by now, or no longer counted then
            continue
        key = (max(e.t_lo, now), f.lost, math.inf if e.t_in is None else e.t_in, ids[i])
        if best_key is None or key < best_key:
            best, best_key = (i, e), key
    if best is None:
        return None
    i, e = best
    return _answer(ids[i], forecasts[ids[i]].cls, e.t_lo, e.t_in, e.t_hi, now)


def _answer(tid: str, cls: str, lo: float, tin: float | None, hi: float | None, now: float) -> dict:
    """A threat answer (``threat``, ``here``): earliest, nominal and latest arrival counted from
    ``now`` (s, none before now), and whether it may be there already."""
    return {"track": tid, "class": cls, "eta_s": None if tin is None else round(max(tin - now, 0.0)),
            "lo_s": round(max(lo - now, 0.0)), "hi_s": None if hi is None else round(max(hi - now, 0.0)),
            "inside": lo <= now}


#: [(forecasts, track ids, their PointIndex)] of the last two forecast sets asked about (the
#: live one and the public's delayed one): built once per forecast set (the engine makes a new
#: set at most every ``forecast_period_s``), shared by every request on it.
_indexes: list[tuple[dict, list[str], PointIndex]] = []


def _index_of(forecasts: dict) -> tuple[list[str], PointIndex]:
    global _indexes
    for f, ids, index in list(_indexes):
        if f is forecasts:
            return ids, index
    ids = [tid for tid, f in sorted(forecasts.items()) if f.path is not None]
    index = PointIndex([forecasts[t].path for t in ids])
    # One assignment of a new list: a request on another thread sees the old list or the new.
    _indexes = [(forecasts, ids, index), *_indexes[:1]]
    return ids, index
