"""The FastAPI application: :func:`create_app` wires the engine, the routers and the push machinery.

The lifespan opens ``server.sqlite``, stores the bootstrap admin token (hashed),
starts the :class:`~airshield.server.engine.Engine` (recovering an existing
event log), then the push machinery (``push.attach``); on shutdown it
stops them in the reverse order. Everything the routes need is on
``app.state``: ``settings``, ``server`` (ServerState), ``engine``, ``metrics``,
``buckets`` (rate limits).
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from airshield import __version__
from airshield.server import ingest, ops, push, web
from airshield.server.body_limit import BodyLimit
from airshield.server.engine import Engine, EngineError
from airshield.server.ingest import TokenBuckets
from airshield.server.logs import AccessLog
from airshield.server.settings import Settings
from airshield.server.state import ServerState
from airshield.sources.ndjson import cut

log = logging.getLogger("airshield.server")

DESCRIPTION = """airshield's service: sensor reports in; fused tracks, per-region alerts (CAP, Atom,
a status string), push (SSE, webhooks) and a live map out. It warns people; it never aims,
cues or controls a weapon. Auth: bearer tokens with roles sensor, viewer, operator, admin
(docs/service.md). Times are seconds since the Unix epoch (UTC) unless a field says otherwise."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service for ``settings`` (the engine starts with the app's lifespan)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        server = ServerState(settings.state_path)
        if settings.admin_token:
            server.add_token("admin", "admin", settings.admin_token, time.time())
        metrics = ops.Metrics()
        engine = Engine(settings, server, metrics)
        app.state.settings = settings
        app.state.server = server
        app.state.metrics = metrics
        app.state.engine = engine
        app.state.buckets = TokenBuckets(settings.rate_per_s, settings.rate_burst)
        engine.start()
        log.info("started", extra={"data_dir": str(settings.data_dir), "clock": settings.clock,
                                   "regions": len(engine.region_ids), "version": __version__})
        ops.gauge(app, "airshield_failed_steps", "core steps that raised and were taken without events",
                  lambda: getattr(ops.failure_stats(engine), "failed_steps", 0))
        stop_push = push.attach(app, engine, settings)
        try:
            yield
        finally:
            await stop_push()
            engine.stop()
            server.close()
            log.info("stopped")

    app = FastAPI(title="airshield", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  openapi_url="/openapi.json", docs_url="/docs", redoc_url=None)
    app.state.settings = settings
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes, skip=("/v1/ingest",))
    if settings.cors_origins:
        # An alert app's page on its own origin reads the API and the stream (EventSource).
        # Outside the body limit, so that a 413 carries the headers a browser needs to show it.
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "Idempotency-Key",
                                          "If-None-Match"],
                           expose_headers=["Retry-After", "Location", "ETag"], max_age=600)
    app.add_middleware(AccessLog)  # outermost: it logs the 413s too

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        # FastAPI's 422 with the offending place of each error, minus the echoed input (it may be
        # large), and an unknown key named in the place cut as every echoed value is.
        errs = [{"loc": [cut(p) if isinstance(p, str) else p for p in e.get("loc", ())],
                 "msg": cut(str(e.get("msg", ""))), "type": e.get("type", "")}
                for e in exc.errors()]
        return JSONResponse({"detail": errs}, status_code=422)

    @app.exception_handler(EngineError)
    async def engine_down(request: Request, exc: EngineError):
        return JSONResponse({"detail": f"the service cannot take this now: {exc}"}, status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(TimeoutError)
    async def engine_busy(request: Request, exc: TimeoutError):
        return JSONResponse({"detail": "the engine did not answer in time; nothing may be assumed taken: "
                                       "send the request again (with its Idempotency-Key)"}, status_code=503,
                            headers={"Retry-After": "5"})

    from airshield.server import concern, operators, read, sensors

    for mod in (ingest, read, sensors, concern, operators, ops):
        app.include_router(mod.router)
    app.include_router(push.router)
    web.mount(app)
    return app
