"""/healthz and /metrics tell a stalled engine: alive, but its steps no longer follow the clock."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from airshield.server import ops


def _app(clock_mode: str, now: float, last_step: float, alive: bool = True) -> TestClient:
    app = FastAPI()
    app.include_router(ops.router)
    snap = SimpleNamespace(now=last_step, steps=10, accepted=5, last_event=3, tracks={}, states={})
    app.state.engine = SimpleNamespace(alive=alive, snapshot=snap, clock=lambda: now)
    app.state.settings = SimpleNamespace(clock=clock_mode, batch_s=5.0)
    app.state.metrics = ops.Metrics()
    return TestClient(app)


def test_an_engine_whose_steps_lag_the_wall_clock_is_not_ready():
    fine = _app("wall", 1000.0, 995.0).get("/healthz")
    assert fine.status_code == 200 and fine.json()["engine"] == "running" and fine.json()["lag_s"] == 5.0
    stalled = _app("wall", 1000.0, 1000.0 - 5.0 * ops.MAX_LAG_STEPS - 1.0).get("/healthz")
    assert stalled.status_code == 503 and stalled.json()["engine"] == "stalled"
    # On the data clock the lag is how far behind the feed the steps are: no failure.
    assert _app("data", 1000.0, 500.0).get("/healthz").status_code == 200


def test_the_clock_lag_metric_is_measured_at_each_scrape():
    text = _app("wall", 1000.0, 700.0).get("/metrics").text
    assert "airshield_clock_lag_seconds 300.0" in text
