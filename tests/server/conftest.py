"""Fixtures of the service's tests (shared by the ingest, read, push, webhook, crash and browser tests).

* ``tiny_night``: the ``tiny`` scenario written once per session (reports.ndjson, sensors.ndjson, truth.ndjson).
* ``service``: ``airshield serve`` in a subprocess on a free port, data clock, a tmp data dir, the tiny
  night's sensors registered: ``service.url``, ``service.admin`` / ``operator`` / ``viewer`` tokens,
  ``service.sensor_tokens`` (sensor id -> token), ``service.client()`` (an httpx.Client),
  ``service.kill()`` (SIGKILL), ``service.restart()`` (same data dir and port), ``service.feed(...)``.
* ``api``: the same in-process (FastAPI TestClient, lifespan run): ``api.client`` and the tokens.

Tokens are known constants for the admin (``ADMIN``); the others are made through the API as a
deployment would make them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from servicekit import ADMIN, Service, make_api, start_service  # noqa: F401  (re-exported for other tests)

from airshield.server import feeder


@pytest.fixture(scope="session")
def tiny_night(tmp_path_factory) -> Path:
    """The tiny scenario's night on disk (a 4-hour night, ~5,800 reports, ~2,300 sensors)."""
    from airshield.sim import load_scenario, simulate, write_night

    out = tmp_path_factory.mktemp("tiny-night")
    write_night(simulate(load_scenario("tiny")), out)
    return out


@pytest.fixture(scope="session")
def tiny_feed(tiny_night) -> feeder.Night:
    """The tiny night as the feeder reads it (raw report lines, arrivals, sensors)."""
    return feeder.load_night(tiny_night)


@pytest.fixture
def service(tmp_path, tiny_night):
    """A service in a subprocess with the tiny night's sensors registered (data clock, no rate limit)."""
    svc = start_service(tmp_path, tiny_night)
    yield svc
    svc.kill()


@pytest.fixture
def api(tmp_path, tiny_night):
    """An in-process service (TestClient) with the tiny night's sensors registered (data clock, no rate limit)."""
    client, a = make_api(tmp_path, tiny_night)
    yield a
    client.__exit__(None, None, None)
