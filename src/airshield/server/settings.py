"""The service's configuration: one frozen dataclass, from the command line or the tests.

Units: seconds, metres, bytes. Secrets (the bootstrap admin token) are held
here only to be hashed into the token table at start; they are never logged
(``repr`` hides them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from airshield.alerting.cap import DEFAULT_SENDER, sender_problem
from airshield.model import MAX_REPORT_AGE_S
from airshield.server.broker import MAX_SUBSCRIBERS

CLOCKS = ("wall", "data")


@dataclass(frozen=True)
class Settings:
    """Everything the service is started with.

    Attributes:
        data_dir: the service's files: ``events.sqlite`` (the event log, every
            accepted report and every event) and ``server.sqlite`` (sensors,
            hashed tokens, operators, duplicate hashes, idempotency keys, webhook
            subscriptions and cursors).
        host, port: where to listen.
        regions: region source for a new log (``default``, ``natural-earth``,
            ``geoboundaries`` or a file); an existing log keeps its own.
        lat0, lon0: the theatre's centre for a new log, degrees.
        clock: ``wall``: steps follow the wall clock and the server stamps each
            report's arrival; ``data``: the step clock follows the newest accepted
            arrival time, so a recorded or simulated night can be fed faster than
            real time (arrivals as sent).
        batch_s: step length, s (the core's clock tick).
        cap_status: CAP ``status`` of the messages (``Exercise`` for a simulated night).
        cap_sender: CAP ``sender`` of a new log's messages (a restart keeps the log's).
        public_delay_s: public track views show the picture as it was this long ago, s.
        public_coarsen_m: public track positions are rounded to a grid of this size, m.
        rate_per_s, rate_burst: per-sensor token bucket: reports per second of wall
            time and bucket size (None: no limit).
        max_body_bytes: larger ingest bodies are refused with 413.
        max_request_bytes: larger bodies of any other request (a national sensor
            registration is a few MB) are refused with 413, before they are read.
        max_subscribers: more open SSE streams are refused with 503 and Retry-After.
        config_overrides: ``STAGE.NAME=JSON`` parameters of a new log's core
            (``core.with_overrides``); a restart keeps the log's.
        max_items: more reports in one request are refused with 413.
        silent_after_s: a registered sensor not heard from (report or heartbeat) for
            this long is flagged silent, s (of the service's clock).
        admin_token: bootstrap admin secret (hashed into the token table at start;
            None: keep the admin tokens already stored).
        max_skew_s: wall clock: a report's measurement time may be at most this far
            in the future of its arrival, s.
        durability: event log durability (``process`` or ``power``, see EventLog).
        base_url: where the service is reachable from outside (Atom links).
        public_sensors: publish the sensors (positions to ~1 km) and their coverage
            gaps without a token; off by default: where the network listens and where
            it has gone deaf is for the duty officers (a viewer token), not an attacker.
            A simulated night (the demo) has nothing to hide.
        cors_origins: web origins whose pages may call the API and the stream (CORS);
            ``*`` any (tokens are bearer headers, never cookies, so a page of another
            origin gains nothing a script could not do); empty: no CORS headers.
        forecast_period_s: the tracks' cones and ETAs are recomputed at most this
            often, wall s (they cost a few ms per threat).
        max_report_age_s: a report measured more than this before the service clock
            is refused, s: observers report up to 60 s late and a gateway may
            hold reports through an outage of minutes (domain.md), but an hour-old
            report cannot warn anyone, and the duplicate hashes are kept only this
            long (state.py), so memory does not grow night after night.
        idempotency_keep_s: ``Idempotency-Key`` records are kept this long, wall s.
        prune_period_s: how often the duplicate hashes and keys are pruned, wall s.
    """

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    regions: str = "default"
    lat0: float = 48.4
    lon0: float = 31.2
    clock: str = "wall"
    batch_s: float = 5.0
    cap_status: str = "Actual"
    cap_sender: str = DEFAULT_SENDER
    public_delay_s: float = 60.0
    public_coarsen_m: float = 5000.0
    rate_per_s: float | None = 50.0
    rate_burst: float = 500.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_request_bytes: int = 32 * 1024 * 1024
    max_subscribers: int = MAX_SUBSCRIBERS
    config_overrides: tuple[str, ...] = ()
    max_items: int = 20_000
    silent_after_s: float = 600.0
    admin_token: str | None = field(default=None, repr=False)
    max_skew_s: float = 5.0
    durability: str = "process"
    base_url: str = "http://127.0.0.1:8000/"
    cors_origins: tuple[str, ...] = ("*",)
    public_sensors: bool = False
    forecast_period_s: float = 1.0
    max_report_age_s: float = MAX_REPORT_AGE_S
    idempotency_keep_s: float = 86_400.0
    prune_period_s: float = 60.0

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {CLOCKS}, got {self.clock!r}")
        if not 0 < self.batch_s <= 30:
            # The tracker gates a step's reports at its middle time: longer steps lose tracks.
            raise ValueError(f"batch_s must be in (0, 30] s, got {self.batch_s}")
        for name in ("max_report_age_s", "idempotency_keep_s", "prune_period_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        problem = sender_problem(self.cap_sender)
        if problem:
            raise ValueError(f"cap_{problem}")
        from airshield.core import CoreConfig, with_overrides

        with_overrides(CoreConfig(), self.config_overrides)  # a bad one is refused at the start
        object.__setattr__(self, "data_dir", Path(self.data_dir))

    @property
    def log_path(self) -> Path:
        return self.data_dir / "events.sqlite"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "server.sqlite"

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Settings with the admin token from ``AIRSHIELD_ADMIN_TOKEN`` unless given (secrets stay out of argv)."""
        if "admin_token" not in overrides and os.environ.get("AIRSHIELD_ADMIN_TOKEN"):
            overrides["admin_token"] = os.environ["AIRSHIELD_ADMIN_TOKEN"]
        return cls(**overrides)
