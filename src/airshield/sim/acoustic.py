"""Acoustic node network: placement, detection, class confusion, false alarms.

Defaults and their sources are in ``scenario.Acoustic`` and domain.md
(Sensors): detection probability 0.9 at <= 1 km, 0.5 at 2 km, ~0 beyond
3.5 km for a Shahed (rural, night); ranges halved in cities; blind above
~1.5-2 km; jet drones and cruise missiles heard out to 3-5 km; false alarms
0.05-0.5 per node-hour; latency 1-5 s; arrays give a bearing with sigma 3-8 deg.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from airshield.model import CLASSES, AcousticDetection
from airshield.sim.emitted import Emitted, bearing_deg, round_ms, to_datetimes, wrap_deg
from airshield.sim.raid import SimObject
from airshield.sim.scenario import Acoustic

#: Reported top class given the true class [est]: drones are rarely taken for
#: anything but "unknown"; jets and cruise missiles are confused with each other
#: (domain.md: radar operators confuse them; so do microphones [est]).
CONFUSION: dict[str, dict[str, float]] = {
    "drone": {"drone": 0.85, "jet": 0.03, "unknown": 0.12},
    "jet": {"jet": 0.6, "cruise": 0.2, "drone": 0.1, "unknown": 0.1},
    "cruise": {"cruise": 0.6, "jet": 0.25, "drone": 0.05, "unknown": 0.1},
    "ballistic": {"ballistic": 0.5, "unknown": 0.5},
    "aircraft": {"aircraft": 0.6, "jet": 0.2, "unknown": 0.2},
}
LOUD = ("jet", "cruise", "ballistic", "aircraft")
CLS_INDEX = {c: i for i, c in enumerate(CLASSES)}
#: Detection probability is 0 beyond this multiple of the 50 % range (3.5 km for a Shahed).
CUTOFF_FACTOR = 1.75
#: Samples per batch of the detection search: bounds memory, paces progress.
CHUNK = 400_000


@dataclass(frozen=True)
class AcousticNetwork:
    """Node layout.

    Attributes:
        ids: node ids.
        xy: (n, 2) metric positions, m. lat, lon: (n,) degrees.
        alt_m: (n,) microphone height above ground, m.
        urban: (n,) bool, inside a city (ranges scaled by ``city_range_factor``).
        array: (n,) bool, an array node giving bearings; sigma_deg: (n,) its 1-sigma.
        phase: (n,) report phase within the period, s.
        north: (n,) grid convergence at each node, rad (geo.Theatre.north_angle).
    """

    ids: list[str]
    xy: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt_m: np.ndarray
    urban: np.ndarray
    array: np.ndarray
    sigma_deg: np.ndarray
    phase: np.ndarray
    north: np.ndarray


def place_nodes(cfg: Acoustic, rng, area_xy, theatre, cities, period_s: float, file_nodes=None) -> AcousticNetwork:
    """Place nodes uniformly over ``area_xy`` (a shapely geometry, m) or take ``file_nodes``.

    ``file_nodes``: optional (ids, lat, lon, array flags) read from a file.
    """
    import shapely

    if file_nodes is not None:
        ids, lat, lon, arr = file_nodes
        x, y = theatre.to_xy(np.asarray(lat), np.asarray(lon))
        xy = np.column_stack([x, y])
        array = np.asarray(arr, dtype=bool)
    else:
        n = max(1, round(area_xy.area / (cfg.km2_per_node * 1e6)))
        minx, miny, maxx, maxy = area_xy.bounds
        pts = np.zeros((0, 2))
        shapely.prepare(area_xy)
        while len(pts) < n:
            cand = np.column_stack([rng.uniform(minx, maxx, 2 * n), rng.uniform(miny, maxy, 2 * n)])
            pts = np.vstack([pts, cand[shapely.contains_xy(area_xy, cand[:, 0], cand[:, 1])]])
        xy = pts[:n]
        ids = [f"AC-{i:05d}" for i in range(n)]
        array = rng.random(n) < cfg.array_fraction
        lat, lon = theatre.to_latlon(xy[:, 0], xy[:, 1])
    n = len(ids)
    urban = np.zeros(n, dtype=bool)
    tree = cKDTree(xy)
    for c in cities:
        # City radius from population at ~4,000 people/km^2 [est].
        r = np.sqrt(c.population / 4000.0 / np.pi) * 1000.0
        cx, cy = theatre.to_xy(c.lat, c.lon)
        urban[tree.query_ball_point([cx, cy], r)] = True
    sigma = np.where(array, rng.uniform(*cfg.sigma_bearing_deg, n), 0.0)
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    return AcousticNetwork(list(ids), xy, lat, lon, np.full(n, 2.0), urban, array, sigma,
                           rng.uniform(0.0, period_s, n), np.asarray(theatre.north_angle(lat, lon)))


def detection_probability(cfg: Acoustic, slant_m, alt_m, loud, urban) -> np.ndarray:
    """Pd of one look: logistic in slant range, scaled for loud classes and cities, blind high up.

    With the defaults: 0.9 at 1 km, 0.5 at 2 km, 0.01 at 3.5 km and 0 beyond (Shahed, rural).
    """
    scale = np.where(loud, cfg.loud_range_factor, 1.0) * np.where(urban, cfg.city_range_factor, 1.0)
    r50 = cfg.range_50_m * scale
    w = cfg.range_width_m * scale
    pd = cfg.pd_max / (1.0 + np.exp(np.clip((slant_m - r50) / w, -50, 50)))
    # "~0 beyond 3.5 km": cut the logistic tail there (1.75 x r50), or the many far nodes
    # would still hear a drone now and then.
    pd = np.where(slant_m <= CUTOFF_FACTOR * r50, pd, 0.0)
    lo, hi = cfg.blind_above_m
    return pd * np.clip((hi - alt_m) / max(hi - lo, 1e-9), 0.0, 1.0)


def class_scores(rng, true_cls: np.ndarray) -> np.ndarray:
    """(n, 6) class scores (model.CLASSES order) for reports of true classes ``true_cls``."""
    n = true_cls.size
    scores = np.zeros((n, len(CLASSES)))
    top = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    for cls, row in CONFUSION.items():
        sel = np.flatnonzero(true_cls == CLS_INDEX[cls])
        if sel.size == 0:
            continue
        cum = np.cumsum(list(row.values()))
        pick = np.minimum(np.searchsorted(cum, u[sel] * cum[-1]), len(row) - 1)
        top[sel] = np.array([CLS_INDEX[c] for c in row])[pick]
    s_top = rng.uniform(0.5, 0.95, n)
    rest = 1.0 - s_top
    share = rng.random(n) * rest
    rows = np.arange(n)
    scores[rows, top] = s_top
    wrong = top != true_cls
    scores[rows[wrong], true_cls[wrong]] += share[wrong]
    unk = CLS_INDEX["unknown"]
    scores[rows, unk] += np.where(wrong, rest - share, share)
    return np.floor(scores * 1000.0) / 1000.0  # floor keeps the sum <= 1


def detect(
    cfg: Acoustic, net: AcousticNetwork, objects: list[SimObject], rng, t_start: float, t_end: float,
    progress: Callable[[float], None] | None = None,
) -> Emitted:
    """Acoustic reports of true objects and false alarms.

    Each node looks once per ``report_period_s``; a look that hears reports
    once even if two objects are in range (the louder, i.e. likelier, one).
    """
    P = cfg.report_period_s
    tree = cKDTree(net.xy)
    r_max = CUTOFF_FACTOR * cfg.range_50_m * max(1.0, cfg.loud_range_factor) * max(1.0, cfg.city_range_factor)
    # Global look grid t_k = t_start + k P; each object sampled on it.
    samples_obj, samples_k = [], []
    for i, o in enumerate(objects):
        if o.civil or o.cls == "ballistic":
            continue  # airliners fly far above the blind altitude; ballistic arcs too (domain.md)
        k0 = int(np.ceil((o.trajectory.start - t_start) / P))
        k1 = int(np.floor((o.trajectory.end - t_start) / P))
        if k1 >= k0:
            samples_k.append(np.arange(k0, k1 + 1))
            samples_obj.append(np.full(k1 - k0 + 1, i))
    ks = np.concatenate(samples_k) if samples_k else np.zeros(0, dtype=np.int64)
    objs = np.concatenate(samples_obj) if samples_obj else np.zeros(0, dtype=np.int64)
    pos = np.empty((ks.size, 3))
    vel = np.empty((ks.size, 3))
    start = 0
    for k_arr, o_arr in zip(samples_k, samples_obj, strict=True):
        o = objects[int(o_arr[0])]
        pos[start:start + k_arr.size] = o.trajectory.position(t_start + k_arr * P)
        vel[start:start + k_arr.size] = o.trajectory.velocity(t_start + k_arr * P)
        start += k_arr.size
    low = pos[:, 2] < cfg.blind_above_m[1] + 100.0
    ks, objs, pos, vel = ks[low], objs[low], pos[low], vel[low]
    # A node looks at t_k + its phase; search wide enough for the motion in between.
    v_max = float(np.hypot(vel[:, 0], vel[:, 1]).max()) if vel.size else 0.0
    loud_obj = np.array([o.cls in LOUD for o in objects], dtype=bool)
    cls_obj = np.array([CLS_INDEX[o.cls] for o in objects], dtype=np.int64)
    t_first = np.array([o.trajectory.start for o in objects])
    t_last = np.array([o.trajectory.end for o in objects])
    hit_k, hit_obj, hit_node, hit_pd = [], [], [], []
    n_chunks = max(1, int(np.ceil(ks.size / CHUNK)))
    for c in range(n_chunks):
        sl = slice(c * CHUNK, (c + 1) * CHUNK)
        if ks[sl].size == 0:
            continue
        st = cKDTree(pos[sl, :2])
        coo = st.sparse_distance_matrix(tree, r_max + v_max * P, output_type="coo_matrix")
        rows, nodes = coo.row, coo.col
        order = np.lexsort((nodes, rows))  # deterministic pair order
        rows, nodes = rows[order], nodes[order]
        p = pos[sl][rows] + vel[sl][rows] * net.phase[nodes][:, None]  # at the look time
        z = p[:, 2]
        slant = np.sqrt(np.sum((p[:, :2] - net.xy[nodes]) ** 2, axis=1) + (z - net.alt_m[nodes]) ** 2)
        o_idx = objs[sl][rows]
        t_look = t_start + ks[sl][rows] * P + net.phase[nodes]
        alive = (t_look >= t_first[o_idx]) & (t_look <= t_last[o_idx])
        pd = detection_probability(cfg, slant, z, loud_obj[o_idx], net.urban[nodes]) * alive
        heard = rng.random(pd.size) < pd
        hit_k.append(ks[sl][rows][heard])
        hit_obj.append(o_idx[heard])
        hit_node.append(nodes[heard])
        hit_pd.append(pd[heard])
        if progress:
            progress((c + 1) / n_chunks)
    k = np.concatenate(hit_k) if hit_k else np.zeros(0, dtype=np.int64)
    obj = np.concatenate(hit_obj) if hit_obj else np.zeros(0, dtype=np.int64)
    node = np.concatenate(hit_node) if hit_node else np.zeros(0, dtype=np.int64)
    pd = np.concatenate(hit_pd) if hit_pd else np.zeros(0)
    # One report per node and look: keep the likeliest object.
    order = np.lexsort((obj, -pd, k, node))
    k, obj, node = k[order], obj[order], node[order]
    first = np.ones(k.size, dtype=bool)
    first[1:] = (node[1:] != node[:-1]) | (k[1:] != k[:-1])
    k, obj, node = k[first], obj[first], node[first]
    t_meas = t_start + k * P + net.phase[node]
    # True bearing from node to the object at the measurement time.
    tgt = np.empty((k.size, 3))
    for i in np.unique(obj):
        sel = obj == i
        tgt[sel] = objects[int(i)].trajectory.position(t_meas[sel])
    true_cls = cls_obj[obj]
    # False alarms: Poisson per node over the night, in short bursts (a passing moped) [est].
    hours = (t_end - t_start) / 3600.0
    n_fa = rng.poisson(cfg.false_alarms_per_node_hour * hours, len(net.ids))
    fa_node = np.repeat(np.arange(len(net.ids)), n_fa)
    fa_t0 = rng.uniform(t_start, t_end, fa_node.size)
    burst = 1 + rng.poisson(1.0, fa_node.size)
    fa_node = np.repeat(fa_node, burst)
    fa_t = np.repeat(fa_t0, burst) + P * (np.arange(fa_node.size) - np.repeat(np.cumsum(burst) - burst, burst))
    keep = fa_t < t_end
    fa_node, fa_t = fa_node[keep], fa_t[keep]
    n_true = k.size
    node_all = np.concatenate([node, fa_node])
    t_all = round_ms(np.concatenate([t_meas, fa_t]))
    arrival = round_ms(t_all + rng.uniform(*cfg.latency_s, t_all.size))
    truth = np.concatenate([obj, np.full(fa_node.size, -1)])
    scores = np.vstack([class_scores(rng, true_cls), _false_alarm_scores(rng, fa_node.size)])
    dx = np.concatenate([tgt[:, 0] - net.xy[node, 0], np.zeros(fa_node.size)])
    dy = np.concatenate([tgt[:, 1] - net.xy[node, 1], np.zeros(fa_node.size)])
    true_brg = bearing_deg(dx, dy, net.north[node_all])
    true_brg[n_true:] = rng.uniform(0.0, 360.0, fa_node.size)
    brg = np.round(wrap_deg(true_brg + rng.normal(0.0, 1.0, t_all.size) * net.sigma_deg[node_all]), 2)
    brg = wrap_deg(brg)

    def build(idx: np.ndarray) -> list[AcousticDetection]:
        times = to_datetimes(t_all[idx])
        arrs = to_datetimes(arrival[idx])
        out = []
        for j, i in enumerate(idx.tolist()):
            nd = int(node_all[i])
            sc = {CLASSES[c]: float(scores[i, c]) for c in np.flatnonzero(scores[i])}
            is_arr = bool(net.array[nd])
            out.append(AcousticDetection(
                sensor=net.ids[nd], time=times[j], arrival=arrs[j],
                lat=float(round(net.lat[nd], 6)), lon=float(round(net.lon[nd], 6)),
                alt_m=float(net.alt_m[nd]), scores=sc,
                bearing_deg=float(brg[i]) if is_arr else None,
                sigma_bearing_deg=float(round(net.sigma_deg[nd], 2)) if is_arr else None,
            ))
        return out

    return Emitted("acoustic", t_all, arrival, node_all, truth, net.ids, build)


def _false_alarm_scores(rng, n: int) -> np.ndarray:
    """Mopeds, generators and mowers sound like a two-stroke Shahed [est]."""
    s = np.zeros((n, len(CLASSES)))
    d = rng.uniform(0.3, 0.7, n)
    s[:, CLS_INDEX["drone"]] = d
    s[:, CLS_INDEX["unknown"]] = 1.0 - d
    return np.floor(s * 1000.0) / 1000.0
