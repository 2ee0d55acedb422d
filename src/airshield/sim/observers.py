"""Citizen observers ("ePPO"-style app): a GPS position and a compass bearing.

domain.md (Sensors): bearing sigma ~15 deg, latency 10-60 s, 20-30 %
misclassified, many duplicates [est]. Observers hear or see low threats
within ``hear_range_m`` [est 3 km at night]; each pass is reported with
probability ``report_p`` [est], sometimes several times.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from airshield.model import ObserverReport
from airshield.sim.emitted import Emitted, bearing_deg, round_ms, to_datetimes, wrap_deg
from airshield.sim.raid import SimObject
from airshield.sim.scenario import Observers

REPORTABLE = ("drone", "jet", "cruise", "aircraft", "unknown")
#: Observers do not see threats above this altitude at night [est].
MAX_ALT_M = 3000.0
STEP_S = 5.0


def place(cfg: Observers, rng, area_xy, theatre, cities) -> tuple[list[str], np.ndarray]:
    """Observer positions: ``near_cities`` of them around cities (weighted by population), the rest anywhere."""
    import shapely

    n = cfg.count
    n_city = int(round(n * cfg.near_cities))
    pops = np.array([c.population for c in cities], dtype=float)
    ci = rng.choice(len(cities), n_city, p=pops / pops.sum()) if n_city and cities else np.zeros(0, int)
    cxy = np.array([theatre.to_xy(c.lat, c.lon) for c in cities]) if cities else np.zeros((0, 2))
    radius = np.sqrt(pops / 4000.0 / np.pi) * 1000.0 if cities else np.zeros(0)
    near = cxy[ci] + rng.normal(0.0, 1.0, (n_city, 2)) * (radius[ci] / 2.0)[:, None]
    minx, miny, maxx, maxy = area_xy.bounds
    shapely.prepare(area_xy)
    rest = np.zeros((0, 2))
    while len(rest) < n - n_city:
        cand = np.column_stack([rng.uniform(minx, maxx, 2 * n), rng.uniform(miny, maxy, 2 * n)])
        rest = np.vstack([rest, cand[shapely.contains_xy(area_xy, cand[:, 0], cand[:, 1])]])
    xy = np.vstack([near, rest[: n - n_city]])
    return [f"OBS-{i:05d}" for i in range(n)], xy


def detect(cfg: Observers, ids: list[str], xy: np.ndarray, theatre, objects: list[SimObject], rng,
           t_start: float, t_end: float) -> Emitted:
    """Observer reports of passing low threats, plus a few false reports."""
    lat, lon = theatre.to_latlon(xy[:, 0], xy[:, 1]) if len(ids) else (np.zeros(0), np.zeros(0))
    tree = cKDTree(xy) if len(ids) else None
    cls_idx = {c: i for i, c in enumerate(REPORTABLE)}
    rows = []  # (time, observer, object)
    for oi, o in enumerate(objects):
        if tree is None or o.civil or o.cls == "ballistic":
            continue
        t = np.arange(o.trajectory.start, o.trajectory.end, STEP_S)
        p = o.trajectory.position(t)
        low = p[:, 2] < MAX_ALT_M
        if not low.any():
            continue
        t, p = t[low], p[low]
        st = cKDTree(p[:, :2])
        coo = st.sparse_distance_matrix(tree, cfg.hear_range_m, output_type="coo_matrix")
        if coo.nnz == 0:
            continue
        order = np.lexsort((coo.row, coo.col))
        obs, srow = coo.col[order], coo.row[order]
        first = np.ones(obs.size, dtype=bool)
        first[1:] = obs[1:] != obs[:-1]
        obs, srow = obs[first], srow[first]
        rep = rng.random(obs.size) < cfg.report_p
        obs, srow = obs[rep], srow[rep]
        dup = 1 + rng.poisson(cfg.duplicates_mean, obs.size)
        obs = np.repeat(obs, dup)
        tt = np.repeat(t[srow], dup) + rng.uniform(0.0, 30.0, obs.size)
        tt = np.minimum(tt, o.trajectory.end)
        rows.append((tt, obs, np.full(obs.size, oi)))
    t_m = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0)
    obs = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0, dtype=np.int64)
    obj = np.concatenate([r[2] for r in rows]) if rows else np.zeros(0, dtype=np.int64)
    tgt = np.zeros((t_m.size, 3))
    for i in np.unique(obj):
        sel = obj == i
        tgt[sel] = objects[int(i)].trajectory.position(t_m[sel])
    north = np.asarray(theatre.north_angle(lat, lon)) if len(ids) else np.zeros(0)
    true_brg = (bearing_deg(tgt[:, 0] - xy[obs, 0], tgt[:, 1] - xy[obs, 1], north[obs]) if t_m.size
                else np.zeros(0))
    true_cls = np.array([cls_idx[objects[int(i)].cls] for i in obj], dtype=np.int64)
    wrong = rng.random(t_m.size) < cfg.misclassified
    shift = rng.integers(1, len(REPORTABLE), t_m.size)
    rep_cls = np.where(wrong, (true_cls + shift) % len(REPORTABLE), true_cls)
    # False reports: a startled observer, a bird, a star [est].
    hours = (t_end - t_start) / 3600.0
    n_f = rng.poisson(cfg.false_reports_per_observer_hour * hours * len(ids)) if len(ids) else 0
    f_obs = rng.integers(0, max(len(ids), 1), n_f)
    t_all = round_ms(np.concatenate([t_m, rng.uniform(t_start, t_end, n_f)]))
    obs_all = np.concatenate([obs, f_obs]).astype(np.int64)
    truth = np.concatenate([obj, np.full(n_f, -1)]).astype(np.int64)
    brg = np.concatenate([true_brg + rng.normal(0.0, cfg.sigma_bearing_deg, t_m.size),
                          rng.uniform(0.0, 360.0, n_f)])
    brg = wrap_deg(np.round(wrap_deg(brg), 1))
    cls_all = np.concatenate([rep_cls, np.zeros(n_f, dtype=np.int64)])
    arrival = round_ms(t_all + rng.uniform(*cfg.latency_s, t_all.size))

    def build(idx: np.ndarray) -> list[ObserverReport]:
        times = to_datetimes(t_all[idx])
        arrs = to_datetimes(arrival[idx])
        return [
            ObserverReport(
                sensor=ids[int(obs_all[i])], time=times[j], arrival=arrs[j],
                lat=float(round(lat[obs_all[i]], 6)), lon=float(round(lon[obs_all[i]], 6)),
                alt_m=1.5, bearing_deg=float(brg[i]), sigma_bearing_deg=cfg.sigma_bearing_deg,
                cls=REPORTABLE[int(cls_all[i])], count=1,
            )
            for j, i in enumerate(idx.tolist())
        ]

    return Emitted("observer", t_all, arrival, obs_all, truth, ids, build)
