"""ADS-B: civil aircraft broadcast their own position (received by a ground network).

The receiver network is one sensor, ``ADSB-NET``; positions carry GNSS noise
of ``sigma_m`` [est: NACp 8-9, < 30-90 m].
"""

from __future__ import annotations

import numpy as np

from airshield.model import AdsbReport
from airshield.sim.emitted import Emitted, bearing_deg, round_ms, to_datetimes, wrap_deg
from airshield.sim.raid import SimObject
from airshield.sim.scenario import Adsb

SENSOR_ID = "ADSB-NET"


def detect(cfg: Adsb, theatre, objects: list[SimObject], rng) -> Emitted:
    """One report per civil aircraft every ``period_s``."""
    civ = [(i, o) for i, o in enumerate(objects) if o.civil]
    ts, objs = [], []
    for i, o in civ:
        t0 = np.ceil(o.trajectory.start / cfg.period_s) * cfg.period_s
        t = np.arange(t0, o.trajectory.end, cfg.period_s)
        ts.append(t)
        objs.append(np.full(t.size, i))
    t = np.concatenate(ts) if ts else np.zeros(0)
    obj = np.concatenate(objs).astype(np.int64) if objs else np.zeros(0, dtype=np.int64)
    pos = np.zeros((t.size, 3))
    vel = np.zeros((t.size, 3))
    for i, _ in civ:
        sel = obj == i
        pos[sel] = objects[i].trajectory.position(t[sel])
        vel[sel] = objects[i].trajectory.velocity(t[sel])
    pos[:, :2] += rng.normal(0.0, cfg.sigma_m, (t.size, 2))
    lat, lon = theatre.to_latlon(pos[:, 0], pos[:, 1]) if t.size else (np.zeros(0), np.zeros(0))
    gs = np.round(np.hypot(vel[:, 0], vel[:, 1]), 1)
    north = np.asarray(theatre.north_angle(lat, lon)) if t.size else np.zeros(0)
    trk = wrap_deg(np.round(bearing_deg(vel[:, 0], vel[:, 1], north), 1))
    vr = np.round(vel[:, 2], 1)
    t_meas = round_ms(t)
    arrival = round_ms(t_meas + rng.uniform(*cfg.latency_s, t.size))

    def build(idx: np.ndarray) -> list[AdsbReport]:
        times = to_datetimes(t_meas[idx])
        arrs = to_datetimes(arrival[idx])
        out = []
        for j, i in enumerate(idx.tolist()):
            o = objects[int(obj[i])]
            out.append(AdsbReport(
                sensor=SENSOR_ID, time=times[j], arrival=arrs[j], icao=o.icao or "000000",
                callsign=o.callsign, lat=float(round(lat[i], 6)), lon=float(round(lon[i], 6)),
                alt_m=float(round(pos[i, 2], 0)), ground_speed_mps=float(gs[i]),
                track_deg=float(trk[i]), vertical_rate_mps=float(vr[i]),
            ))
        return out

    return Emitted("adsb", t_meas, arrival, np.zeros(t.size, dtype=np.int64), obj, [SENSOR_ID], build)
