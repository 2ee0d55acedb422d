"""How well the sensor layout saw a simulated night: per-object detection coverage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from airshield.sim.engine import Night

#: A minute of flight counts as covered when some report of the object was measured in it.
MINUTE_S = 60.0


@dataclass(frozen=True)
class Coverage:
    """Detection coverage of one object.

    Attributes:
        id, cls: the object.
        reports: reports of it, by kind.
        first_report_s: seconds from launch to the first report's arrival, or None if never reported.
        minutes_inside: minutes of its flight inside the theatre's regions.
        covered_fraction: share of those minutes with at least one report (0..1), or None.
        sensors: distinct sensors that reported it.
    """

    id: str
    cls: str
    reports: dict[str, int]
    first_report_s: float | None
    minutes_inside: float
    covered_fraction: float | None
    sensors: int


def coverage(night: Night) -> list[Coverage]:
    """Coverage of every object of ``night``, in object order."""
    area = night.regions.outline_xy()
    shapely.prepare(area)
    per_obj: list[dict] = [{"kinds": {}, "t": [], "a": [], "s": set()} for _ in night.objects]
    for e in night.emitted:
        m = e.truth >= 0
        for o, t, a, s in zip(e.truth[m].tolist(), e.time[m].tolist(), e.arrival[m].tolist(),
                              e.sensor[m].tolist(), strict=True):
            d = per_obj[o]
            d["kinds"][e.kind] = d["kinds"].get(e.kind, 0) + 1
            d["t"].append(t)
            d["a"].append(a)
            d["s"].add((e.kind, s))
    out = []
    for o, d in zip(night.objects, per_obj, strict=True):
        tr = o.trajectory
        minutes = np.arange(tr.start, tr.end, MINUTE_S)
        p = tr.position(minutes + MINUTE_S / 2)
        inside = shapely.contains_xy(area, p[:, 0], p[:, 1])
        covered = np.zeros(minutes.size, dtype=bool)
        if d["t"]:
            idx = ((np.array(d["t"]) - tr.start) // MINUTE_S).astype(int)
            covered[np.clip(idx, 0, minutes.size - 1)] = True
        n_in = int(inside.sum())
        out.append(Coverage(
            o.id, o.cls, dict(sorted(d["kinds"].items())),
            (min(d["a"]) - tr.start) if d["a"] else None, float(n_in),
            float((covered & inside).sum() / n_in) if n_in else None, len(d["s"]),
        ))
    return out
