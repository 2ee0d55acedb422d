"""A map of a simulated night: regions, sensors, true paths and what the sensors reported."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from airshield.sim.engine import Night  # noqa: E402

CLASS_COLOURS = {"drone": "#d62728", "jet": "#ff7f0e", "cruise": "#9467bd", "ballistic": "#000000",
                 "aircraft": "#1f77b4"}
KIND_COLOURS = {"acoustic": "#2ca02c", "radar": "#17becf", "observer": "#e377c2", "position": "#8c564b",
                "adsb": "#1f77b4"}


def _outline(ax, geom, **kw) -> None:
    polys = getattr(geom, "geoms", [geom])
    for p in polys:
        x, y = p.exterior.xy
        ax.plot(np.asarray(x) / 1000, np.asarray(y) / 1000, **kw)


def night_map(night: Night, path: Path, sensors: list[dict] | None = None) -> Path:
    """Draw ``night`` into a PNG at ``path`` (km in the theatre frame); returns the path."""
    fig, ax = plt.subplots(figsize=(13, 9), dpi=110)
    for rid in night.regions.ids:
        _outline(ax, night.regions.geometry_xy(rid), color="#999999", lw=0.6)
    th = night.theatre
    sensors = sensors if sensors is not None else night.sensors
    ac = [s for s in sensors if s["kind"] == "acoustic"]
    if ac:
        x, y = th.to_xy(np.array([s["lat"] for s in ac]), np.array([s["lon"] for s in ac]))
        ax.scatter(np.asarray(x) / 1000, np.asarray(y) / 1000, s=0.3, c="#bbbbbb", lw=0,
                   label=f"acoustic nodes ({len(ac):,})")
    for s in sensors:
        if s["kind"] in ("radar", "position"):
            x, y = th.to_xy(s["lat"], s["lon"])
            ax.plot(x / 1000, y / 1000, "^", color=KIND_COLOURS[s["kind"]], ms=7)
            ax.annotate(s["id"], (x / 1000, y / 1000), fontsize=6, xytext=(3, 3), textcoords="offset points")
    seen = set()
    for o in night.objects:
        tr = o.trajectory
        t = np.linspace(tr.start, tr.end, 200)
        p = tr.position(t) / 1000
        lbl = o.cls if o.cls not in seen else None
        seen.add(o.cls)
        ax.plot(p[:, 0], p[:, 1], color=CLASS_COLOURS.get(o.cls, "grey"), lw=0.7, alpha=0.8, label=lbl)
        ax.plot(p[-1, 0], p[-1, 1], "x" if o.end_how == "shot_down" else ".",
                color=CLASS_COLOURS.get(o.cls, "grey"), ms=4)
    # Where sensors reported true objects (acoustic: the node; radar: the plot's ground position).
    for e in night.emitted:
        m = e.truth >= 0
        if not m.any() or e.kind == "adsb":
            continue
        obj = e.truth[m]
        t = e.time[m]
        pts = np.zeros((obj.size, 3))
        for i in np.unique(obj):
            sel = obj == i
            pts[sel] = night.objects[int(i)].trajectory.position(t[sel])
        ax.scatter(pts[:, 0] / 1000, pts[:, 1] / 1000, s=1.5, c=KIND_COLOURS[e.kind], lw=0, alpha=0.6,
                   label=f"{e.kind} reports ({obj.size:,})")
    ax.set_aspect("equal")
    ax.set_xlabel("east of theatre centre (km)")
    ax.set_ylabel("north of theatre centre (km)")
    ax.set_title(f"{night.scenario.name} (seed {night.seed}): true paths (x: shot down) and detections")
    ax.legend(loc="lower left", fontsize=7, markerscale=3)
    b = night.regions.outline_xy().bounds
    ax.set_xlim(b[0] / 1000 - 250, b[2] / 1000 + 50)
    ax.set_ylim(b[1] / 1000 - 80, b[3] / 1000 + 120)
    ax.text(0.99, 0.01, night.regions.attribution, transform=ax.transAxes, fontsize=6, ha="right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
