""""Does it concern me, and how long do I have?": a query by location.

``GET /v1/concern?lat=&lon=[&radius_km=]`` answers with the alert region of the
point, its state, the nearest threat that may reach that region (nominal ETA
with its earliest and latest plausible arrival, from the threat picture's
cones), the nearest threat that may come within ``radius_km`` of the point
itself (``here``: a port or a substation needs that, not the region's first
arrival, which can be an hour sooner; warning.point) and what to do, in
Ukrainian and English. The advice follows the state, not the
ETA alone: an alert means shelter now whatever the ETA says (the earliest
arrival is the one the policy alerts on, docs/alerting.md).
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request

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
    return f"{max(round(s / 60), 0)} хв"


@router.get("/v1/concern", summary="Does it concern me, and how long do I have? (by location)")
def concern(request: Request,
            lat: Annotated[float, Query(ge=-90, le=90, description="latitude, WGS84 degrees")],
            lon: Annotated[float, Query(ge=-180, le=180, description="longitude, WGS84 degrees")],
            radius_km: Annotated[float, Query(ge=0.5, le=100, description="how near to the point counts "
                                              "as reaching it, km (default: a city's 5 km)")] = 5.0):
    eng = request.app.state.engine
    regions = eng.regions
    rid = regions.locate(lat, lon)
    alerting = set(eng.region_ids)
    while rid is not None and rid not in alerting:  # up the tree to the region that alerts
        rid = regions[rid].parent
    if rid is None:
        uk, en = ADVICE["outside"]
        return {"lat": lat, "lon": lon, "region": None, "state": None, "threat": None, "here": None,
                "radius_km": radius_km, "advice": {"uk": uk, "en": en}}
    snap = eng.snapshot
    state = snap.states.get(rid, "quiet")
    ref = snap.now
    best = None
    for tid, f in snap.forecasts.items():
        for region, tin, lo, hi in f.etas:
            if region != rid or (hi is not None and hi < ref):
                continue
            if best is None or lo < best[2]:
                best = (tid, f.cls, lo, tin, hi)
    threat = None
    if best is not None and math.isfinite(ref):
        tid, cls, lo, tin, hi = best
        threat = {"track": tid, "class": cls, "eta_s": None if tin is None else round(max(tin - ref, 0.0)),
                  "lo_s": round(max(lo - ref, 0.0)), "hi_s": None if hi is None else round(max(hi - ref, 0.0)),
                  "inside": lo <= ref}
    here = _here(eng, snap, lat, lon, radius_km * 1000.0)
    uk, en = ADVICE[state]
    if here is not None and state != "quiet":
        if here["inside"]:
            uk += f" Загроза ({here['class']}) може бути в межах {radius_km:g} км від цієї точки вже зараз."
            en += f" A threat ({here['class']}) may be within {radius_km:g} km of this point now."
        else:
            uk += (f" Загроза ({here['class']}) може наблизитися на {radius_km:g} км до цієї точки щонайшвидше "
                   f"за {_minutes_uk(here['lo_s'])}.")
            en += (f" A threat ({here['class']}) may come within {radius_km:g} km of this point in "
                   f"{here['lo_s'] / 60:.0f} min at the earliest.")
    elif threat is not None and not threat["inside"] and state != "quiet":
        uk += f" Найближча загроза ({threat['class']}) може бути тут щонайшвидше за {_minutes_uk(threat['lo_s'])}."
        en += f" The nearest threat ({threat['class']}) may be here in {threat['lo_s'] / 60:.0f} min at the earliest."
    elif threat is not None and threat["inside"]:
        uk += " Загроза вже над вашою областю."
        en += " A threat is over your region now."
    r = regions[rid]
    last = snap.last_alert.get(rid)
    return {"lat": lat, "lon": lon, "region": {"id": rid, "name": r.name, "name_uk": r.name_uk}, "state": state,
            "alert_id": last.alert_id if last is not None and state != "quiet" else None,
            "as_of": ref if math.isfinite(ref) else None, "threat": threat, "here": here, "radius_km": radius_km,
            "advice": {"uk": uk, "en": en}}


def _here(eng, snap, lat: float, lon: float, radius_m: float) -> dict | None:
    """The threat whose cone may come within ``radius_m`` of the point soonest (the snapshot's
    paths, the core's cone settings), as the reply's ``here``; None if none may."""
    ref = snap.now
    if not math.isfinite(ref) or not snap.forecasts:
        return None
    core = eng.rt.core
    ids, index = _index_of(snap)
    x, y = core.theatre.to_xy(lat, lon)
    best = None
    for i, e in index.etas(float(x), float(y), radius_m, core.cfg.warning.cone_k, core.field.margin):
        if e.t_last >= ref and (best is None or e.t_lo < best[1].t_lo):
            best = (i, e)
    if best is None:
        return None
    i, e = best
    return {"track": ids[i], "class": snap.forecasts[ids[i]].cls,
            "eta_s": None if e.t_in is None else round(max(e.t_in - ref, 0.0)),
            "lo_s": round(max(e.t_lo - ref, 0.0)), "hi_s": None if e.t_hi is None else round(max(e.t_hi - ref, 0.0)),
            "inside": e.t_lo <= ref}


#: (snapshot, track ids, their PointIndex) of the latest snapshot asked about: built once per
#: snapshot (every forecast period at most), shared by every request on it.
_index: tuple[object, list[str], PointIndex] | None = None


def _index_of(snap) -> tuple[list[str], PointIndex]:
    global _index
    cached = _index
    if cached is not None and cached[0] is snap:
        return cached[1], cached[2]
    ids = [tid for tid, f in sorted(snap.forecasts.items()) if f.path is not None]
    index = PointIndex([snap.forecasts[t].path for t in ids])
    _index = (snap, ids, index)  # one assignment: a request on another thread sees the old or the new
    return ids, index
