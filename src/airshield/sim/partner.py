"""A partner system that sends located targets (position reports) in its coverage [est]."""

from __future__ import annotations

import numpy as np

from airshield.model import PositionReport
from airshield.sim.emitted import Emitted, enu_from_grid, round_ms, to_datetimes
from airshield.sim.raid import SimObject
from airshield.sim.scenario import Partner


def detect(cfg: Partner, sites_xy: np.ndarray, theatre, objects: list[SimObject], rng) -> Emitted:
    """Position reports of threats within ``range_m`` of any partner site, every ``period_s``."""
    ids = [s.id for s in cfg.sites]
    rows_t, rows_o, rows_s = [], [], []
    for oi, o in enumerate(objects):
        if o.civil:
            continue
        t = np.arange(np.ceil(o.trajectory.start / cfg.period_s) * cfg.period_s, o.trajectory.end, cfg.period_s)
        if t.size == 0:
            continue
        p = o.trajectory.position(t)
        for si, (sx, sy) in enumerate(sites_xy):
            hit = (np.hypot(p[:, 0] - sx, p[:, 1] - sy) < cfg.range_m) & (rng.random(t.size) < cfg.pd)
            rows_t.append(t[hit])
            rows_o.append(np.full(hit.sum(), oi))
            rows_s.append(np.full(hit.sum(), si))
    t = np.concatenate(rows_t) if rows_t else np.zeros(0)
    obj = np.concatenate(rows_o).astype(np.int64) if rows_o else np.zeros(0, dtype=np.int64)
    site = np.concatenate(rows_s).astype(np.int64) if rows_s else np.zeros(0, dtype=np.int64)
    pos = np.zeros((t.size, 3))
    vel = np.zeros((t.size, 3))
    for i in np.unique(obj):
        sel = obj == i
        pos[sel] = objects[int(i)].trajectory.position(t[sel])
        vel[sel] = objects[int(i)].trajectory.velocity(t[sel])
    s = cfg.sigma_m
    pos += rng.normal(0.0, 1.0, pos.shape) * np.array([s, s, 2 * s])
    pos[:, 2] = np.maximum(pos[:, 2], 0.0)
    vel += rng.normal(0.0, 5.0, vel.shape)
    lat, lon = theatre.to_latlon(pos[:, 0], pos[:, 1]) if t.size else (np.zeros(0), np.zeros(0))
    if t.size:
        vel = enu_from_grid(vel, np.asarray(theatre.north_angle(lat, lon)))
    cov = (s * s, 0.0, 0.0, 0.0, s * s, 0.0, 0.0, 0.0, 4 * s * s)  # isotropic: unchanged by the rotation
    t_meas = round_ms(t)
    arrival = round_ms(t_meas + rng.uniform(*cfg.latency_s, t.size))
    known = rng.random(t.size) < 0.9

    def build(idx: np.ndarray) -> list[PositionReport]:
        times = to_datetimes(t_meas[idx])
        arrs = to_datetimes(arrival[idx])
        return [
            PositionReport(
                sensor=ids[int(site[i])], time=times[j], arrival=arrs[j],
                lat=float(round(lat[i], 6)), lon=float(round(lon[i], 6)), alt_m=float(round(pos[i, 2], 1)),
                cov_enu_m2=cov, vel_enu_mps=tuple(float(round(v, 1)) for v in vel[i]),
                cls=objects[int(obj[i])].cls if known[i] else "unknown",
            )
            for j, i in enumerate(idx.tolist())
        ]

    return Emitted("position", t_meas, arrival, site, obj, ids, build)
