"""Evaluate a run: ground truth + RUNDIR/tracks.ndjson + RUNDIR/alerts.ndjson → metrics.

Layers: :func:`evaluate` works on tables already read (:mod:`.io`) with the
regions and the projection passed in; :func:`evaluate_files` reads the files
first; :func:`evaluate_run` also builds the regions and projection from the
truth ``scenario`` line via :mod:`airshield.geo` (imported lazily, so nothing
else here depends on it).

A run directory without ``tracks.ndjson`` (or ``alerts.ndjson``) skips that
part: its metrics are None and ``skipped`` says why. An *empty* file is
evaluated (no tracks: every threat missed; no alerts: every entry unalerted).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from .association import Association, associate, tracking_metrics
from .crossings import DEFAULT_TOL_S, Samples, find_entries
from .gospa import DEFAULT_C_M, DEFAULT_P
from .intervals import alert_intervals
from .io import (
    AlertEvents,
    EvaluationInputError,
    Scenario,
    Tracks,
    Truth,
    read_alerts,
    read_tracks,
    read_truth,
)
from .official import summary
from .sampling import SCORED_STATUSES, eval_grid, tracks_at, truth_at
from .warning import WarningResult, score_warning

#: ``to_xy(lat_deg_array, lon_deg_array) -> (x_m, y_m)`` into the theatre's metric frame.
ToXY = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
#: ``loader(scenario) -> (region id → geometry in metres, to_xy)``.
RegionsLoader = Callable[[Scenario], tuple[Mapping[str, BaseGeometry], ToXY]]

#: Default evaluation step, s (the truth is written about every 10 s).
DEFAULT_STEP_S = 10.0

#: metrics.md, "Machine-readable names", in that order.
METRIC_KEYS = (
    "threats",
    "gospa_mean_m", "gospa_per_threat_m",
    "gospa_localisation_m", "gospa_missed_mean", "gospa_false_mean",
    "position_rmse_m",
    "track_ids_per_threat",
    "id_switches",
    "false_confirmed_tracks",
    "civil_tracks_as_threat",
    "time_to_confirm_p95_s",
    "class_accuracy",
    "entries", "missed_entries", "premature_all_clears", "threats_undetected",
    "on_time_fraction",
    "entries_unwarnable",
    "lead_time_median_s",
    "lead_ratio_vs_oracle",
    "unneeded_alert_minutes", "false_alerts", "alerts",
    "flapping_fraction",
)  # fmt: skip

#: Keys computed from tracks.ndjson (None when it is missing).
TRACKING_KEYS = (
    "gospa_mean_m", "gospa_per_threat_m", "gospa_localisation_m", "gospa_missed_mean",
    "gospa_false_mean", "gospa_times", "position_rmse_m", "track_ids_per_threat", "id_switches",
    "threats_tracked", "tracks_scored", "false_confirmed_tracks", "civil_only_tracks",
    "civil_tracks_as_threat", "class_accuracy", "time_to_confirm_p95_s",
    "time_to_confirm_median_s", "threats_reported_never_tracked",
)  # fmt: skip


@dataclass(frozen=True)
class TrackSamples:
    """Scored track states at evaluation times, in the metric frame.

    Attributes:
        k: (M,) evaluation time index; track: (M,) track index; x, y: (M,) m.
    """

    k: np.ndarray
    track: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Evaluation:
    """Everything an evaluation computed, for reports and plots.

    Attributes:
        metrics: the JSON-serialisable metrics (see :data:`METRIC_KEYS`).
        truth: the truth tables.
        x, y: (N,) truth states in the metric frame, m (aligned with ``truth.t``).
        regions: region id → geometry, m.
        grid: (K,) evaluation times, s.
        warning: warning metrics and per-entry outcomes.
        tracks: the track table, or None.
        track_samples: scored track states at the grid times, or None.
        association: track-to-truth assignment over time, or None.
        alert_kind: what kind of alerts the run gave (:func:`.official.summary`), or None
            without alerts.
    """

    metrics: dict[str, Any]
    truth: Truth
    x: np.ndarray
    y: np.ndarray
    regions: Mapping[str, BaseGeometry]
    grid: np.ndarray
    warning: WarningResult
    tracks: Tracks | None = None
    track_samples: TrackSamples | None = None
    association: Association | None = None
    alert_kind: dict[str, Any] | None = None


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars → Python, NaN/inf → None, tuples → lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def _xy(to_xy: ToXY, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(lat) == 0:
        return np.empty(0), np.empty(0)
    x, y = to_xy(np.asarray(lat, float), np.asarray(lon, float))
    return np.asarray(x, float), np.asarray(y, float)


def evaluate(
    truth: Truth,
    regions: Mapping[str, BaseGeometry],
    to_xy: ToXY,
    tracks: Tracks | None = None,
    alerts: AlertEvents | None = None,
    *,
    step_s: float = DEFAULT_STEP_S,
    c: float = DEFAULT_C_M,
    p: float = DEFAULT_P,
    tol_s: float = DEFAULT_TOL_S,
    skipped: Mapping[str, str] | None = None,
) -> Evaluation:
    """All metrics of metrics.md from tables already read.

    Args:
        truth: from :func:`~.io.read_truth`.
        regions: region id → shapely geometry in the metric frame, m.
        to_xy: WGS84 degrees → metric frame, vectorised.
        tracks: from :func:`~.io.read_tracks`, or None to skip tracking metrics.
        alerts: from :func:`~.io.read_alerts`, or None to skip alert metrics.
        step_s: evaluation grid step over [scenario start, end], s.
        c, p: GOSPA cut-off (m) and order.
        tol_s: entry-time bisection tolerance, s.
        skipped: part → reason, copied into ``metrics["skipped"]``.
    """
    sc = truth.scenario
    x, y = _xy(to_xy, truth.lat, truth.lon)
    grid = eval_grid(sc.start, sc.end, step_s)
    civil = truth.civil
    threat_ids = truth.threat_ids
    skipped = dict(skipped or {})

    # Warning: entries of true threats (not civil aircraft) into regions.
    to_threat = np.full(len(truth.ids), -1)
    to_threat[~civil] = np.arange(len(threat_ids))
    on_threat = ~civil[truth.obj]
    samples = Samples(
        threat_ids, to_threat[truth.obj[on_threat]], truth.t[on_threat], x[on_threat], y[on_threat]
    )
    classes = {i: str(c_) for i, c_, cv in zip(truth.ids, truth.cls, civil, strict=True) if not cv}
    first_report = {
        i: (None if np.isnan(fr) else float(fr))
        for i, fr, cv in zip(truth.ids, truth.first_report, civil, strict=True)
        if not cv
    }
    intervals = None
    if alerts is not None:
        intervals = alert_intervals(alerts.region, alerts.t, alerts.state, alerts.alert_id)
    else:
        skipped.setdefault("alerts", "no alerts given")
    warn = score_warning(
        find_entries(samples, regions, tol_s),
        classes,
        first_report,
        intervals,
        sc.end,
        sorted(regions),
    )

    # Tracking: scored track states vs true objects at each evaluation time.
    tracking: dict[str, Any] = dict.fromkeys(TRACKING_KEYS)
    track_samples = assoc = None
    if tracks is not None:
        ta = truth_at(grid, truth.obj, truth.t, x, y)
        scored = np.isin(tracks.status, SCORED_STATUSES)
        tk = tracks_at(
            grid,
            tracks.track,
            tracks.t,
            scored,
            tracks.lat,
            tracks.lon,
            tracks.v_east,
            tracks.v_north,
        )
        tx, ty = _xy(to_xy, tk.lat, tk.lon)
        track_samples = TrackSamples(tk.k, tracks.track[tk.row], tx, ty)
        assoc = associate(
            len(grid), ta.k, ta.obj, np.column_stack([ta.x, ta.y]), civil,
            track_samples.k, track_samples.track, np.column_stack([tx, ty]), c=c, p=p,
        )  # fmt: skip
        tracking = tracking_metrics(
            assoc,
            grid,
            civil,
            truth.cls,
            truth.first_report,
            tracks.cls[tk.row],
            tracks.threat[tk.row],
        )
    else:
        skipped.setdefault("tracks", "no tracks given")

    w = warn.metrics
    # What kind of alerts (official.py), comparable with today's official ones.
    kind = summary(intervals, t_end=sc.end) if intervals is not None else None
    w = {**w, "alert_duration_median_min": (kind or {}).get("duration_median_min"),
         "alert_minutes_per_region_night": (kind or {}).get("min_per_place_night")}
    merged = {**w, **tracking, "threats": len(threat_ids)}
    metrics: dict[str, Any] = {k: merged.get(k) for k in METRIC_KEYS}
    metrics.update({k: v for k, v in merged.items() if k not in metrics})
    metrics.update(
        scenario=sc.name,
        seed=sc.seed,
        start_s=sc.start,
        end_s=sc.end,
        civil_aircraft=int(civil.sum()),
        regions=len(regions),
        evaluation_step_s=step_s,
        evaluation_times=len(grid),
        gospa_c_m=c,
        gospa_p=p,
        tracks_in_file=None if tracks is None else len(tracks.ids),
        alert_events_in_file=None if alerts is None else len(alerts.t),
        per_region=warn.per_region,
        skipped=skipped,
    )
    return Evaluation(
        metrics=jsonable(metrics),
        truth=truth,
        x=x,
        y=y,
        regions=regions,
        grid=grid,
        warning=warn,
        tracks=tracks,
        track_samples=track_samples,
        association=assoc,
        alert_kind=kind,
    )


def evaluate_files(
    truth: str | Path | Truth,
    run_dir: str | Path | None,
    regions: Mapping[str, BaseGeometry],
    to_xy: ToXY,
    **options: Any,
) -> Evaluation:
    """Read truth.ndjson and RUNDIR/{tracks,alerts}.ndjson, then :func:`evaluate`.

    Args:
        truth: path to truth.ndjson (or a :class:`~.io.Truth` already read).
        run_dir: the run directory, or None (truth-only evaluation).
        regions, to_xy: as for :func:`evaluate`.
        options: keyword options of :func:`evaluate` (``step_s``, ``c``, …).
    """
    truth_t = truth if isinstance(truth, Truth) else read_truth(truth)
    skipped: dict[str, str] = {}
    tracks = alerts = None
    if run_dir is None:
        skipped["tracks"] = skipped["alerts"] = "no run directory given"
    else:
        run = Path(run_dir)
        tp, ap = run / "tracks.ndjson", run / "alerts.ndjson"
        if tp.is_file():
            tracks = read_tracks(tp)
        else:
            skipped["tracks"] = f"{tp} {'is not a file' if tp.exists() else 'not found'}"
        if ap.is_file():
            alerts = read_alerts(ap)
        else:
            skipped["alerts"] = f"{ap} {'is not a file' if ap.exists() else 'not found'}"
    return evaluate(truth_t, regions, to_xy, tracks, alerts, skipped=skipped, **options)


def geo_regions_loader(scenario: Scenario) -> tuple[dict[str, BaseGeometry], ToXY]:
    """Regions and projection from the scenario line, via :mod:`airshield.geo`.

    ``Theatre(lat0, lon0).to_xy`` and ``load_regions(scenario.regions, theatre)``
    (source ``"default"`` when the scenario names none).
    """
    return region_file_loader(scenario.regions or "default")(scenario)


def region_file_loader(source: str, data: bytes | None = None) -> RegionsLoader:
    """A regions loader for the regions of ``source`` (a built-in source or a file, or the
    copy of one that a run's event log keeps: ``data``), in the scenario's theatre."""

    def load(scenario: Scenario) -> tuple[dict[str, BaseGeometry], ToXY]:
        from airshield.geo import Theatre, load_regions  # lazy: geo is its own layer

        if scenario.lat0 is None or scenario.lon0 is None:
            raise EvaluationInputError("the scenario line has no `theatre`")
        theatre = Theatre(scenario.lat0, scenario.lon0)
        rs = load_regions(source, theatre, data)
        return {rid: rs.geometry_xy(rid) for rid in sorted(rs.ids)}, theatre.to_xy

    return load


def evaluate_run(
    truth_path: str | Path,
    run_dir: str | Path | None,
    regions_loader: RegionsLoader | None = None,
    *,
    report_dir: str | Path | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Evaluate a run from files; returns the metrics dict (JSON-serialisable).

    Args:
        truth_path: truth.ndjson written by ``airshield simulate``.
        run_dir: directory with tracks.ndjson / alerts.ndjson (either may be
            missing), or None.
        regions_loader: ``scenario -> (regions, to_xy)``; default
            :func:`geo_regions_loader`.
        report_dir: if given, also write the report (plots + report.md) there.
        options: keyword options of :func:`evaluate` (``step_s``, ``c``, …).
    """
    truth = read_truth(truth_path)
    regions, to_xy = (regions_loader or geo_regions_loader)(truth.scenario)
    ev = evaluate_files(truth, run_dir, regions, to_xy, **options)
    if report_dir is not None:
        from .report import write_report

        write_report(ev, report_dir)
    return ev.metrics
