"""Write an evaluation report folder: plots (PNG, matplotlib Agg) and report.md.

Files (fixed names, so reports diff and link cleanly):

* ``map.png``: truth trajectories coloured by class (and scored tracks, grey,
  when present) over the region outlines, metric frame in km;
* ``timeline.png``: per region, when any true threat is inside (lower bar)
  and when the region is in alert (upper bar), hours since scenario start;
* ``lead_times.png``: histogram of lead times, only when alerts exist;
* ``alert_map.png``: per region, minutes in alert and unneeded alert-minutes
  (two choropleth panels), with missed entries and premature all-clears
  counted on the region, only when alerts exist;
* ``report.md``: the metrics table, the run's alerts beside today's official
  ones (:mod:`.official`, when the run has alerts and the history is at
  hand), and links to the plots;
* ``metrics.json``: the metrics dict.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, so no global
backend or figure state is touched).

Lines are downsampled to at most :data:`MAX_LINE_POINTS` points, so a night
of 800 threats renders in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from .evaluate import METRIC_KEYS, Evaluation
from .intervals import closed, union
from .io import EvaluationInputError
from .official import official_summaries, summary_table
from .table import ROWS, format_value

#: Points drawn per plot layer at most.
MAX_LINE_POINTS = 200_000

CLASS_COLOURS = {
    "drone": "tab:orange",
    "jet": "tab:red",
    "cruise": "tab:purple",
    "ballistic": "black",
    "aircraft": "tab:blue",
    "unknown": "tab:gray",
}

MAP_PNG, TIMELINE_PNG, LEADS_PNG, ALERT_MAP_PNG = "map.png", "timeline.png", "lead_times.png", "alert_map.png"


def _segments(owner: np.ndarray, x: np.ndarray, y: np.ndarray, max_points: int) -> list[np.ndarray]:
    """Per-owner polylines (km), every n-th point plus each one's last point."""
    if len(x) == 0:
        return []
    stride = max(1, int(np.ceil(len(x) / max_points)))
    bounds = np.flatnonzero(np.diff(owner)) + 1
    out = []
    for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(x)], strict=True):
        idx = np.r_[np.arange(a, b, stride), b - 1] if b - a > 1 else np.arange(a, b)
        out.append(np.column_stack([x[idx], y[idx]]) / 1000.0)
    return out


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _outlines(ax: Axes, regions) -> None:
    for rid in sorted(regions):
        for poly in shapely.get_parts(regions[rid]):
            rings = [poly.exterior, *poly.interiors] if hasattr(poly, "exterior") else [poly]
            for ring in rings:
                xy = np.asarray(ring.coords) / 1000.0
                ax.plot(xy[:, 0], xy[:, 1], color="0.6", lw=0.6, zorder=1)
        c = regions[rid].representative_point()
        ax.annotate(rid, (c.x / 1000.0, c.y / 1000.0), fontsize=5, color="0.4", ha="center")


def plot_map(ev: Evaluation, path: Path) -> None:
    """Truth trajectories by class (and tracks) over region outlines."""
    fig, ax = _figure(10, 8)
    _outlines(ax, ev.regions)
    tr = ev.truth
    if ev.track_samples is not None and len(ev.track_samples.k):
        ts = ev.track_samples
        order = np.lexsort((ts.k, ts.track))
        segs = _segments(ts.track[order], ts.x[order], ts.y[order], MAX_LINE_POINTS)
        ax.add_collection(LineCollection(segs, colors="0.3", linewidths=0.4, alpha=0.6, zorder=2))
    cls = np.where(tr.civil, "aircraft", tr.cls).astype(str)
    for name in sorted(set(cls[tr.obj].tolist())):
        m = cls[tr.obj] == name
        segs = _segments(tr.obj[m], ev.x[m], ev.y[m], MAX_LINE_POINTS // 4)
        colour = CLASS_COLOURS.get(name, "tab:green")
        ax.add_collection(LineCollection(segs, colors=colour, linewidths=0.7, alpha=0.8, zorder=3))
        ax.plot([], [], color=colour, label=f"{name} ({len(np.unique(tr.obj[m]))})")
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xlabel("x (km, theatre frame)")
    ax.set_ylabel("y (km)")
    ax.set_title(
        "Truth trajectories" + (" and tracks (grey)" if ev.track_samples is not None else "")
    )
    ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


def plot_timeline(ev: Evaluation, path: Path) -> None:
    """Gantt chart per region: threat inside (lower bar), region in alert (upper bar)."""
    t0, t_end = ev.truth.scenario.start, ev.truth.scenario.end
    regions = sorted(ev.regions)
    fig, ax = _figure(11, max(3.0, 0.28 * len(regions) + 1.2))
    inside: dict[str, list[tuple[float, float]]] = {r: [] for r in regions}
    for o in ev.warning.outcomes:
        inside[o.entry.region].append((o.entry.t_entry, o.entry.t_exit))
    alerts = ev.warning.alerts or {}
    for row, r in enumerate(regions):
        busy = union(inside[r])
        ax.broken_barh(
            [((s - t0) / 3600, max(e - s, 1.0) / 3600) for s, e in busy], (row - 0.4, 0.38),
            color="tab:red", alpha=0.7, label="threat inside" if row == 0 else None,
        )  # fmt: skip
        spans = [closed(a.start, a.end, t_end) for a in alerts.get(r, [])]
        ax.broken_barh(
            [((s - t0) / 3600, max(e - s, 1.0) / 3600) for s, e in spans], (row + 0.02, 0.38),
            color="tab:blue", alpha=0.7, label="in alert" if row == 0 else None,
        )  # fmt: skip
    ax.set_yticks(range(len(regions)), regions, fontsize=6)
    ax.set_ylim(-0.6, len(regions) - 0.4)
    ax.set_xlim(0, max(t_end - t0, 1.0) / 3600)
    ax.set_xlabel("hours since scenario start")
    note = "" if ev.warning.alerts is not None else " (no alerts file)"
    ax.set_title("Per region: true threat inside vs. alert" + note)
    ax.legend(loc="upper right", fontsize=7)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path)


def plot_leads(ev: Evaluation, path: Path) -> bool:
    """Histogram of lead times (min); False (and no file) when there are none."""
    leads = np.array([o.lead_s for o in ev.warning.outcomes if o.lead_s is not None]) / 60.0
    if ev.warning.alerts is None or len(leads) == 0:
        return False
    fig, ax = _figure(7, 4)
    ax.hist(np.clip(leads, -30, 120), bins=60, color="tab:blue")
    ax.axvline(5.0, color="tab:red", lw=1, label="5 min (on time)")
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_xlabel("lead time, min (clipped to [-30, 120])")
    ax.set_ylabel("entries")
    ax.set_title(f"Lead times of {len(leads)} alerted entries")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    return True


def plot_alert_map(ev: Evaluation, path: Path) -> bool:
    """Choropleths of alert minutes and unneeded alert-minutes per region; False (no file) without alerts."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    alerts = ev.warning.alerts
    if alerts is None or not any(alerts.values()):
        return False
    t_end = ev.truth.scenario.end
    total = {r: sum(e - s for s, e in (closed(a.start, a.end, t_end) for a in alerts.get(r, []))) / 60.0
             for r in ev.regions}
    per = ev.warning.per_region
    unneeded = {r: float(per.get(r, {}).get("unneeded_alert_minutes") or 0.0) for r in ev.regions}
    fig = Figure(figsize=(14, 5.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    top = max(max(total.values(), default=0.0), 1.0)
    norm = Normalize(0.0, top)
    cmap = colormaps["Reds"]
    for ax, values, title in ((axes[0], total, "minutes in alert"), (axes[1], unneeded, "unneeded alert-minutes")):
        for rid, geom in sorted(ev.regions.items()):
            for poly in shapely.get_parts(geom):
                if not hasattr(poly, "exterior"):
                    continue
                rings = [np.asarray(poly.exterior.coords) / 1000.0] + [
                    np.asarray(i.coords) / 1000.0 for i in poly.interiors]
                verts = np.concatenate(rings)
                codes = np.concatenate([[MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 2) + [MplPath.CLOSEPOLY]
                                        for r in rings])
                ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=cmap(norm(values[rid])),
                                       edgecolor="0.5", lw=0.5))
            c = geom.representative_point()
            row = per.get(rid, {})
            label = f"{rid}\n{values[rid]:.0f}"
            if row.get("missed_entries"):
                label += f"\nmissed {row['missed_entries']}"
            if row.get("premature_all_clears"):
                label += f"\npremature {row['premature_all_clears']}"
            ax.annotate(label, (c.x / 1000.0, c.y / 1000.0), fontsize=5, ha="center", va="center")
        ax.autoscale_view()
        ax.set_aspect("equal")
        ax.set_title(f"{title} (total {sum(values.values()):,.0f})")
        ax.set_xlabel("x (km, theatre frame)")
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, shrink=0.8, label="minutes")
    fig.savefig(path)
    return True


def official_section(ev: Evaluation) -> list[str]:
    """report.md lines: the run's alerts beside today's official ones, or a note why not."""
    if ev.alert_kind is None:
        return []
    try:
        official = official_summaries()
    except (OSError, EvaluationInputError) as exc:
        return ["", f"Today's official alerts: not compared ({exc}).", ""]
    return [
        "", "## This run's alerts beside today's official ones", "",
        *summary_table([("this run", ev.alert_kind), *official]), "",
        "Official oblast alerts 2022-03-15 … 2024-04-22 (ukrainian-air-raid-sirens-dataset, MIT); "
        "big-raid nights from the attack record (\"Massive Missile Attacks on Ukraine\"). "
        "A place-night is one region's night (noon to noon, Kyiv time); a restart is a repeat alert "
        "within 10 min of the region's previous all-clear. Simulated against real nights: this says what kind "
        "of alerts each gives, the metrics above say whether they were right (docs/evaluation.md).", "",
    ]


def markdown(metrics: dict, images: list[str], extra: list[str] = ()) -> str:
    """report.md text: metrics table, skipped parts, ``extra`` lines, plot links."""
    lines = [f"# Evaluation: {metrics.get('scenario') or 'scenario'}", ""]
    lines += ["| metric | key | value |", "|---|---|---|"]
    shown = set()
    for _section, key, label, unit in ROWS:
        if key in metrics:
            lines.append(f"| {label.strip()} | `{key}` | {format_value(metrics[key], unit)} |")
            shown.add(key)
    for key in METRIC_KEYS:
        if key not in shown:
            lines.append(f"| {key} | `{key}` | {format_value(metrics.get(key))} |")
    skipped = metrics.get("skipped") or {}
    if skipped:
        lines += ["", "Skipped:", ""] + [f"* {k}: {v}" for k, v in sorted(skipped.items())]
    lines += [
        "",
        "Definitions: `shared/docs/metrics.md`; choices: `airshield.evaluation` docstrings.",
        "",
        *extra,
    ]
    for name in images:
        lines += [f"![{name}]({name})", ""]
    return "\n".join(lines)


def write_report(ev: Evaluation, out_dir: str | Path) -> Path:
    """Write plots, metrics.json and report.md into ``out_dir``; returns report.md's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot_map(ev, out / MAP_PNG)
    plot_timeline(ev, out / TIMELINE_PNG)
    images = [MAP_PNG, TIMELINE_PNG]
    for name, plot in ((LEADS_PNG, plot_leads), (ALERT_MAP_PNG, plot_alert_map)):
        if plot(ev, out / name):
            images.append(name)
        else:
            (out / name).unlink(missing_ok=True)
    (out / "metrics.json").write_text(json.dumps(ev.metrics, indent=2, sort_keys=False) + "\n")
    report = out / "report.md"
    report.write_text(markdown(ev.metrics, images, official_section(ev)))
    return report
