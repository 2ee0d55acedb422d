"""schemathesis against /openapi.json: generated valid and invalid requests never get a 5xx.

The service runs in a subprocess (as deployed) with the tiny night's sensors registered and part
of the night fed, so that reads find alerts and tracks. Each operation is called with the token it
needs (a sensor token for ingest, the admin's for the rest: the admin holds every other role)
and without one; the examples per operation are bounded so the whole test runs in well under a
minute.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES = 12
MID = datetime.fromisoformat("2025-10-01T19:20:00+00:00").timestamp()
#: Operations left out: the SSE stream never ends by itself (H2's tests cover it).
SKIP = {"GET /v1/stream"}


def test_generated_requests_never_get_a_server_error(service, tiny_feed):
    service.feed(tiny_feed, until=MID)
    with service.client() as c:
        raw = c.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(raw)
    sensor = next(iter(service.sensor_tokens.values()))
    errors: list[str] = []
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) > 15
    with httpx.Client(base_url=service.url, timeout=30.0) as client:
        for op in ops:
            label = f"{op.method.upper()} {op.path}"
            if label in SKIP:
                continue
            token = sensor if op.path == "/v1/ingest" else service.admin
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _run(op, mode, client, token, errors, label)
    assert service.proc.poll() is None, "the service died"
    assert not errors, "\n".join(errors[:20])


def _run(op, mode, client, token, errors, label):
    strategy = op.as_strategy(generation_mode=mode)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        for auth in (token, None):
            headers = {str(k): str(v) for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            if auth:
                headers["Authorization"] = f"Bearer {auth}"
            kw = _body(case, headers)
            try:
                r = client.request(case.method, case.formatted_path, params=case.query, headers=headers, **kw)
            except httpx.TransportError as exc:
                errors.append(f"{label} [{mode.value}]: transport error {exc}")
                return
            except (UnicodeEncodeError, ValueError):  # a header or URL httpx itself cannot send
                return
            if r.status_code >= 500:
                errors.append(f"{label} [{mode.value}]: {r.status_code} for {case.path_parameters} "
                              f"{case.query} {str(case.body)[:200]}: {r.text[:300]}")

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters, no body)
        check()


def _body(case, headers: dict) -> dict:
    from schemathesis.core import NotSet

    if isinstance(case.body, NotSet):
        return {}
    mt = case.media_type or "application/json"
    headers["Content-Type"] = mt
    if "json" in mt and "ndjson" not in mt:
        import json

        return {"content": json.dumps(case.body, default=str).encode()}
    body = case.body if isinstance(case.body, (bytes, str)) else str(case.body)
    return {"content": body.encode() if isinstance(body, str) else body}

