"""What the public may see: threat positions coarsened to a grid, operators unnamed.

An alert's reason names its threats with their estimated positions (to tens
of metres for a radar track). Alert apps and sirens need the class, the count,
the heading and the ETA, not a position precise enough to correct the next
wave's route, which is why Ukraine restricts publishing air-defence and
impact details in real time. Every public view (the read API without a
``viewer`` token, the SSE stream of alerts to anonymous subscribers) therefore
rounds threat positions to ``public_coarsen_m`` (5 km by default), the same grid
as the public track view. CAP messages carry no positions at all (areas are
regions). ``viewer`` tokens get exact positions and times; operators' tokens
and webhooks (registered by an admin for partners) get the full lines. An
operator's name and note stay in the audit trail (operators' tokens): public
and viewers' reasons say only that a duty officer acted, as public CAP
messages do.
"""

from __future__ import annotations

import json
import math

from airshield.alerting.cap import whole_minutes_of

_OPERATOR_TEXT = {
    "raise": "A duty officer raised this alert.",
    "extend": "A duty officer extended this alert.",
    "cancel": "A duty officer ended this alert.",
}


def whole_minutes(lo: float | None, nominal: float | None, hi: float | None) -> tuple:
    """Arrival times in s as the public gets them, in whole minutes (as CAP tells them): the
    earliest rounded down, the nominal to the nearest, the latest up, so the interval told
    holds the one computed."""
    return tuple(None if m is None else 60 * m for m in (
        whole_minutes_of(lo, "floor"), whole_minutes_of(nominal, "nearest"), whole_minutes_of(hi, "ceil")))


def public_motion(speed: float, heading: float) -> tuple[float, float]:
    """Speed (m/s) to 5 m/s and heading (degrees) to 10 degrees, as the public sees them."""
    return round(speed / 5.0) * 5.0, round(heading / 10.0) * 10.0 % 360.0


def _eta_fields(d: dict) -> dict:
    """``d`` with its ``eta_lo_s``, ``eta_s``, ``eta_hi_s`` in public whole minutes (a new dict)."""
    out = dict(d)
    lo, nominal, hi = whole_minutes(d.get("eta_lo_s"), d.get("eta_s"), d.get("eta_hi_s"))
    for key, v in (("eta_lo_s", lo), ("eta_s", nominal), ("eta_hi_s", hi)):
        if key in d:
            out[key] = v
    return out


def coarsen(lat: float, lon: float, grid_m: float) -> tuple[float, float]:
    """(lat, lon) rounded to a grid of about ``grid_m`` metres (0 or less: unchanged), degrees."""
    if grid_m <= 0:
        return lat, lon
    dlat = grid_m / 111_320.0
    row = round(lat / dlat) * dlat
    # The longitude step of the grid row, not of the exact latitude: a step taken from the
    # exact latitude gave it back (to ~7 m) from the rounded longitude (service review).
    dlon = grid_m / (111_320.0 * max(math.cos(math.radians(row)), 0.1))
    return round(row, 4), round(round(lon / dlon) * dlon, 4)


def public_reason(reason: dict | None, grid_m: float | None) -> dict | None:
    """An alert reason (as built-ins) as the public sees it (a new dict): threats' positions on
    the ``grid_m`` grid (0: exact), speeds, headings and arrival times as coarse as the public
    track view's (when ``grid_m`` > 0), no operator's name or note. ``grid_m`` 0: exact (a
    viewer's view, or a public without a grid); None: an operator's view, ``reason`` itself."""
    if not reason or grid_m is None:
        return reason
    out = dict(reason)
    op = reason.get("operator")
    if op:
        # Who acted and their words are for the audit trail (operators' tokens), not the
        # public: the public sees that a duty officer acted, and until when.
        out["operator"] = {"action": op.get("action"), "until": op.get("until")}
        out["text"] = _OPERATOR_TEXT.get(op.get("action"), "A duty officer acted.")
    if grid_m <= 0:
        return out
    # As on the public track view (/v1/tracks): positions on the grid, speeds to 5 m/s, headings
    # to 10 degrees, arrival times in whole minutes.
    threats = []
    for t in reason.get("threats") or ():
        t = _eta_fields(t)
        if t.get("lat") is not None and t.get("lon") is not None:
            t["lat"], t["lon"] = coarsen(float(t["lat"]), float(t["lon"]), grid_m)
        if t.get("speed_mps") is not None and t.get("heading_deg") is not None:
            t["speed_mps"], t["heading_deg"] = public_motion(float(t["speed_mps"]), float(t["heading_deg"]))
        threats.append(t)
    out["threats"] = threats
    out.update({k: v for k, v in _eta_fields(reason).items() if k.startswith("eta")})
    if reason.get("places"):
        out["places"] = [_eta_fields(p) for p in reason["places"]]
    return out


def public_alert(d: dict, grid_m: float | None) -> dict:
    """An alert event (alerts.ndjson line as built-ins) with its reason made public; a new dict
    (``grid_m`` None: ``d`` itself)."""
    if not d.get("reason") or grid_m is None:
        return d
    return {**d, "reason": public_reason(d["reason"], grid_m)}


def public_alert_line(line: bytes, grid_m: float | None) -> bytes:
    """The public form of an alerts.ndjson line (compact JSON, key order kept)."""
    if grid_m is None:
        return line
    d = json.loads(line)
    reason = d.get("reason") or {}
    if not reason.get("operator") and (grid_m <= 0 or not (reason.get("threats") or reason.get("places")
                                                          or reason.get("eta_lo_s") is not None)):
        return line  # nothing to hide: the logged bytes
    return json.dumps(public_alert(d, grid_m), ensure_ascii=False, separators=(",", ":")).encode()
