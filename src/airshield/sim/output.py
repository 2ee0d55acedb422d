"""Writing a simulated night: reports.ndjson, truth.ndjson and sensors.ndjson.

The files are byte-identical for the same scenario and seed: every float is
rounded before it is written and every list is in a data-defined order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import numpy as np

from airshield.sim.emitted import enu_from_grid, to_datetimes
from airshield.sim.engine import Night
from airshield.sources.ndjson import write_reports

_enc = msgspec.json.Encoder()


class _State(msgspec.Struct, array_like=False):
    type: str
    id: str
    t: object
    lat: float
    lon: float
    alt_m: float
    vel_enu_mps: tuple[float, float, float]


def write_night(night: Night, out: Path, progress: Callable[[str, float], None] | None = None) -> dict:
    """Write the three files into ``out``; returns counts by kind."""
    say = progress or (lambda stage, frac: None)
    out.mkdir(parents=True, exist_ok=True)
    src, row = night.merged_order()
    say("reports", 0.0)
    objs: list[list] = []
    for si, e in enumerate(night.emitted):
        objs.append(e.build(np.arange(len(e))))
        say("reports", 0.5 * (si + 1) / max(len(night.emitted), 1))
    ordered = [objs[s][r] for s, r in zip(src.tolist(), row.tolist(), strict=True)]
    with (out / "reports.ndjson").open("wb") as f:
        write_reports(ordered, f)
    say("reports", 1.0)
    counts = {e.kind: len(e) for e in night.emitted}
    with (out / "sensors.ndjson").open("wb") as f:
        f.write(b"".join(_enc.encode(s) + b"\n" for s in night.sensors))
    _write_truth(night, out / "truth.ndjson", say)
    return counts


def _write_truth(night: Night, path: Path, say) -> None:
    sc = night.scenario
    step = sc.truth_step_s
    with path.open("wb") as f:
        head = {
            "type": "scenario", "name": sc.name, "seed": night.seed,
            "start": sc.start, "end": to_datetimes(np.array([night.t_end]))[0],
            "regions": night.regions.source, "theatre": {"lat0": night.theatre.lat0, "lon0": night.theatre.lon0},
            "truth_step_s": step,
        }
        f.write(_enc.encode(head) + b"\n")
        for o in night.objects:
            rec = {"type": "threat", "id": o.id, "cls": o.cls, "model": o.model, "civil": o.civil,
                   "launch_area": o.launch_area, "target": o.target,
                   "launch_time": to_datetimes(np.array([round(o.trajectory.start, 3)]))[0],
                   "group": o.group, "wave": o.wave}
            if o.civil:
                rec["icao"] = o.icao
                rec["callsign"] = o.callsign
            f.write(_enc.encode(rec) + b"\n")
        n = len(night.objects)
        for i, o in enumerate(night.objects):
            tr = o.trajectory
            t = np.arange(np.ceil(tr.start / step) * step, tr.end, step)
            t = np.concatenate([[tr.start], t[t > tr.start], [tr.end]])
            t = np.unique(np.round(t * 1000.0) / 1000.0)  # rounding may make two grid times one
            p = tr.position(t)
            lat, lon = night.theatre.to_latlon(p[:, 0], p[:, 1])
            v = np.round(enu_from_grid(tr.velocity(t), np.asarray(night.theatre.north_angle(lat, lon))), 2)
            lat, lon, alt = np.round(lat, 6), np.round(lon, 6), np.round(p[:, 2], 1)
            times = to_datetimes(t)
            buf = bytearray()
            for j in range(t.size):
                _enc.encode_into(_State("state", o.id, times[j], float(lat[j]), float(lon[j]), float(alt[j]),
                                        (float(v[j, 0]), float(v[j, 1]), float(v[j, 2]))), buf, len(buf))
                buf += b"\n"
            f.write(buf)
            f.write(_enc.encode({"type": "end", "id": o.id, "t": times[-1], "how": o.end_how}) + b"\n")
            if i % 50 == 0:
                say("truth", 0.8 * i / max(n, 1))
        for rec in detect_records(night):
            f.write(_enc.encode(rec) + b"\n")
        say("truth", 1.0)


def detect_records(night: Night) -> list[dict]:
    """Per (object, sensor): first measurement time, first and last arrival, count."""
    recs = []
    for e in night.emitted:
        m = e.truth >= 0
        if not m.any():
            continue
        obj, sen, t, a = e.truth[m], e.sensor[m], e.time[m], e.arrival[m]
        order = np.lexsort((a, sen, obj))
        obj, sen, t, a = obj[order], sen[order], t[order], a[order]
        start = np.ones(obj.size, dtype=bool)
        start[1:] = (obj[1:] != obj[:-1]) | (sen[1:] != sen[:-1])
        idx = np.flatnonzero(start)
        ends = np.append(idx[1:], obj.size)
        for s0, s1 in zip(idx.tolist(), ends.tolist(), strict=True):
            recs.append((night.objects[int(obj[s0])].id, e.sensor_ids[int(sen[s0])],
                         float(t[s0:s1].min()), float(a[s0]), float(a[s1 - 1]), s1 - s0))
    recs.sort()
    if not recs:
        return []
    ft = to_datetimes(np.array([r[2] for r in recs]))
    fa = to_datetimes(np.array([r[3] for r in recs]))
    la = to_datetimes(np.array([r[4] for r in recs]))
    return [{"type": "detect", "id": r[0], "sensor": r[1], "first_time": ft[i], "first_arrival": fa[i],
             "last_arrival": la[i], "n": r[5]} for i, r in enumerate(recs)]
