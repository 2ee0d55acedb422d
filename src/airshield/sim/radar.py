"""Radars for low-altitude targets: horizon, range by class, polar plots, clutter.

domain.md (Sensors): horizon d ~ 4.12 (sqrt h_radar + sqrt h_target) km (h in m,
standard refraction); 10-25 km for a Shahed-class target, 50-100 km for larger
or higher ones; update 1-2 s; sigma range 10-30 m, azimuth 0.5-1 deg [est].

Elevation includes the Earth's curvature under the same 4/3-earth refraction
model the horizon formula assumes, so that plots of distant targets look as
a real radar sees them.
"""

from __future__ import annotations

import numpy as np

from airshield.model import RadarPlot
from airshield.sim.emitted import Emitted, bearing_deg, round_ms, to_datetimes, wrap_deg
from airshield.sim.raid import SimObject
from airshield.sim.scenario import Radar

#: Effective Earth radius under standard refraction (4/3 earth), m.
R_EFF_M = 4.0 / 3.0 * 6_371_000.0
#: Clutter appears within this range of a radar, m [est].
CLUTTER_RANGE_M = 30_000.0


def horizon_m(h_radar_m, h_target_m) -> np.ndarray:
    """Radio horizon, m (domain.md: d = 4.12 (sqrt h_r + sqrt h_t) km, h in m)."""
    return 4120.0 * (np.sqrt(np.maximum(h_radar_m, 0.0)) + np.sqrt(np.maximum(h_target_m, 0.0)))


def class_range(cfg: Radar, cls: str) -> float:
    return {
        "drone": cfg.range_drone_m, "jet": cfg.range_jet_m, "cruise": cfg.range_cruise_m,
        "ballistic": cfg.range_ballistic_m, "aircraft": cfg.range_aircraft_m,
    }[cls]


def polar(dx, dy, dz, north: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slant range (m), true azimuth (deg), elevation (deg, with 4/3-earth curvature) of displacements.

    ``north``: grid convergence at the radar (rad).
    """
    ground = np.hypot(dx, dy)
    dz_eff = dz - ground**2 / (2.0 * R_EFF_M)
    rng_m = np.sqrt(ground**2 + dz_eff**2)
    return rng_m, bearing_deg(dx, dy, north), np.degrees(np.arctan2(dz_eff, ground))


def detect(cfg: Radar, sites_xy: np.ndarray, north: np.ndarray, objects: list[SimObject], rng,
           t_start: float, t_end: float) -> Emitted:
    """Plots of every radar site (``sites_xy`` (s, 2), m; grid convergence ``north`` (s,) rad)
    for the true objects, plus clutter."""
    P = cfg.period_s
    ids = [s.id for s in cfg.sites]
    heights = np.array([s.height_m for s in cfg.sites])
    phase = rng.uniform(0.0, P, len(ids))
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "site", "obj", "r", "az", "el", "vr")}
    for si, (sx, sy) in enumerate(sites_xy):
        for oi, o in enumerate(objects):
            traj = o.trajectory
            r_det = class_range(cfg, o.cls)
            # Coarse pass: knot-free 20 s grid finds when the object can be in range.
            coarse = np.arange(traj.start, traj.end + 20.0, 20.0)
            p = traj.position(coarse)
            speed_margin = 20.0 * 2500.0 if o.cls == "ballistic" else 20.0 * 300.0
            near = np.hypot(p[:, 0] - sx, p[:, 1] - sy) < r_det * 1.5 + speed_margin
            if not near.any():
                continue
            lo, hi = coarse[near].min() - 20.0, coarse[near].max() + 20.0
            k0 = int(np.ceil((max(lo, traj.start) - t_start - phase[si]) / P))
            k1 = int(np.floor((min(hi, traj.end) - t_start - phase[si]) / P))
            if k1 < k0:
                continue
            t = t_start + phase[si] + np.arange(k0, k1 + 1) * P
            pos = traj.position(t)
            vel = traj.velocity(t)
            dx, dy, dz = pos[:, 0] - sx, pos[:, 1] - sy, pos[:, 2] - heights[si]
            r, az, el = polar(dx, dy, dz, north[si])
            visible = np.hypot(dx, dy) <= horizon_m(heights[si], pos[:, 2])
            pd = cfg.pd / (1.0 + np.exp(np.clip((r - r_det) / (0.08 * r_det), -50, 50)))
            hit = visible & (rng.random(t.size) < pd)
            if not hit.any():
                continue
            los = np.column_stack([dx, dy, dz]) / np.maximum(r, 1.0)[:, None]
            vr = np.einsum("ij,ij->i", vel, los)
            cols["t"].append(t[hit])
            cols["site"].append(np.full(hit.sum(), si))
            cols["obj"].append(np.full(hit.sum(), oi))
            cols["r"].append(r[hit])
            cols["az"].append(az[hit])
            cols["el"].append(el[hit])
            cols["vr"].append(vr[hit])
        # Clutter: Poisson per scan, low and slow, uniform in range and azimuth [est].
        n_scans = int((t_end - t_start) / P)
        n_cl = rng.poisson(cfg.false_plots_per_scan, n_scans)
        scan = np.repeat(np.arange(n_scans), n_cl)
        cols["t"].append(t_start + phase[si] + scan * P)
        cols["site"].append(np.full(scan.size, si))
        cols["obj"].append(np.full(scan.size, -1))
        cols["r"].append(rng.uniform(1000.0, CLUTTER_RANGE_M, scan.size))
        cols["az"].append(rng.uniform(0.0, 360.0, scan.size))
        cols["el"].append(rng.uniform(0.0, 3.0, scan.size))
        cols["vr"].append(rng.normal(0.0, 5.0, scan.size))
    c = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items()}
    site = c["site"].astype(np.int64)
    n = c["t"].size
    t_meas = round_ms(c["t"])
    arrival = round_ms(t_meas + rng.uniform(*cfg.latency_s, n))
    r_m = np.round(np.maximum(c["r"] + rng.normal(0.0, cfg.sigma_range_m, n), 1.0), 1)
    az = np.round(wrap_deg(c["az"] + rng.normal(0.0, cfg.sigma_azimuth_deg, n)), 3)
    az = wrap_deg(az)
    el = np.round(np.clip(c["el"] + rng.normal(0.0, cfg.sigma_elevation_deg, n), -90.0, 90.0), 3)
    vr = np.round(c["vr"] + rng.normal(0.0, cfg.sigma_radial_speed_mps, n), 2)
    lat = [s.lat for s in cfg.sites]
    lon = [s.lon for s in cfg.sites]

    def build(idx: np.ndarray) -> list[RadarPlot]:
        times = to_datetimes(t_meas[idx])
        arrs = to_datetimes(arrival[idx])
        out = []
        for j, i in enumerate(idx.tolist()):
            s = int(site[i])
            out.append(RadarPlot(
                sensor=ids[s], time=times[j], arrival=arrs[j], lat=lat[s], lon=lon[s],
                alt_m=float(heights[s]), range_m=float(r_m[i]), azimuth_deg=float(az[i]),
                elevation_deg=float(el[i]), sigma_range_m=cfg.sigma_range_m,
                sigma_azimuth_deg=cfg.sigma_azimuth_deg, sigma_elevation_deg=cfg.sigma_elevation_deg,
                radial_speed_mps=float(vr[i]), sigma_radial_speed_mps=cfg.sigma_radial_speed_mps,
            ))
        return out

    return Emitted("radar", t_meas, arrival, site, c["obj"].astype(np.int64), ids, build)
