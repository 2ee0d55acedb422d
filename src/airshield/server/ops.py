"""Operations: ``/healthz`` and Prometheus ``/metrics``.

Each app has its own ``CollectorRegistry`` (``app.state.metrics.registry``), so
that several services in one process (the tests) do not collide. Other modules
add their own metrics with :func:`gauge` (the push machinery's queue depth)::

    from airshield.server.ops import gauge
    gauge(app, "airshield_push_queue_depth", "events queued for subscribers", lambda: total_depth())
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

router = APIRouter(tags=["operations"])


class Metrics:
    """The service's own metrics (names in docs/service.md, "Operations")."""

    def __init__(self):
        r = self.registry = CollectorRegistry()
        self.reports = Counter("airshield_reports_accepted", "reports accepted into the event log", registry=r)
        self.duplicates = Counter("airshield_reports_duplicate", "reports recognised as duplicates", registry=r)
        self.rejected = Counter("airshield_reports_rejected", "report items rejected as invalid or forbidden",
                                registry=r)
        self.steps = Counter("airshield_steps", "core steps taken", registry=r)
        self.step_seconds = Histogram("airshield_step_batch_seconds", "wall time of a batch of core steps, s",
                                      buckets=(.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10), registry=r)
        self.lag = Gauge("airshield_clock_lag_seconds",
                         "service clock minus the time of the core's last step, s", registry=r)
        self.tracks = Gauge("airshield_tracks", "live tracks (confirmed or coasting)", registry=r)
        self.alerts = Gauge("airshield_regions", "regions by state", ["state"], registry=r)
        self.events = Gauge("airshield_last_event_id", "id of the last event in the log", registry=r)

    def on_accept(self, n: int, dup: int) -> None:
        self.reports.inc(n)
        self.duplicates.inc(dup)

    def on_steps(self, n: int, seconds: float, lag: float) -> None:
        self.steps.inc(n)
        self.step_seconds.observe(seconds)
        if lag == lag and abs(lag) != float("inf"):
            self.lag.set(lag)


def gauge(app, name: str, documentation: str, fn: Callable[[], float]) -> Gauge:
    """A gauge on the app's registry whose value is ``fn()`` at each scrape."""
    g = Gauge(name, documentation, registry=app.state.metrics.registry)
    g.set_function(fn)
    return g


#: On the wall clock, the core's last step may lag the clock by this many steps before the
#: service says it is not ready: a step every batch_s is the service's whole job.
MAX_LAG_STEPS = 12


def _lag(eng) -> float:
    """The service clock minus the time of the core's last step, s (0 before any step)."""
    lag = eng.clock() - eng.snapshot.now
    return lag if math.isfinite(lag) else 0.0


def _stalled(eng, settings) -> bool:
    """On the wall clock, the steps lag it by more than MAX_LAG_STEPS steps."""
    batch_s = getattr(getattr(eng, "rt", None), "batch_s", settings.batch_s)  # a resumed log's own
    return settings.clock == "wall" and _lag(eng) > MAX_LAG_STEPS * batch_s


#: This many failed core steps in a row (runtime: failed steps), a minute at the default batch,
#: and the service says it is failing: each step is taken without events, so nobody is warned.
MAX_FAILED_IN_A_ROW = 12


def failure_stats(eng):
    """The engine's runtime stats (failed steps and the first failure), or None before it starts."""
    rt = getattr(eng, "rt", None)
    return rt.stats if rt is not None else None


def _failing(eng) -> bool:
    stats = failure_stats(eng)
    return stats is not None and stats.failed_in_a_row >= MAX_FAILED_IN_A_ROW


def engine_ok(eng, settings) -> bool:
    """The engine runs, keeps up and its steps succeed: its picture may answer "does it concern me"."""
    return bool(eng.alive) and not _stalled(eng, settings) and not _failing(eng)


@router.get("/healthz", summary="Liveness and readiness")
def healthz(request: Request):
    eng = request.app.state.engine
    settings = request.app.state.settings
    snap = eng.snapshot
    lag = _lag(eng)
    stalled = _stalled(eng, settings)
    failing = _failing(eng)
    ok = eng.alive and not stalled and not failing
    stats = failure_stats(eng)
    failed = stats.failed_steps if stats is not None else 0
    first = stats.first_failure if stats is not None else None
    # A step whose core raised was taken without events (runtime: failed steps): the service
    # still warns, but a fault is in the core: "degraded" (a restart replays the log and meets
    # it again), and it says where; "failing" (503) when the last MAX_FAILED_IN_A_ROW all failed.
    body = {"status": ("degraded" if failed else "ok") if ok else "failing",
            "engine": ("stalled" if stalled else "failing" if failing else "running") if eng.alive else "stopped",
            "clock": settings.clock, "now": eng.clock(), "last_step": snap.now, "lag_s": round(lag, 3),
            "steps": snap.steps, "accepted": snap.accepted, "last_event": snap.last_event,
            "failed_steps": failed, "first_failure": first,
            "wall": time.time()}
    return JSONResponse({k: (None if isinstance(v, float) and abs(v) == float("inf") else v)
                         for k, v in body.items()}, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request):
    m: Metrics = request.app.state.metrics
    snap = request.app.state.engine.snapshot
    m.tracks.set(sum(1 for t in snap.tracks.values() if t.get("status") in ("confirmed", "coasting")))
    for st in ("quiet", "pre_alert", "alert"):
        m.alerts.labels(st).set(sum(1 for s in snap.states.values() if s == st))
    m.events.set(snap.last_event)
    m.lag.set(_lag(request.app.state.engine))  # at each scrape: a stalled engine shows
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
