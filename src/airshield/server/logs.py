"""Structured logs: one JSON object per line on stderr, never a secret.

Every record has ``ts`` (RFC 3339 UTC), ``level``, ``logger``, ``msg`` and the
record's extra fields. The access log (:class:`AccessLog`) writes the
method, path, status, duration and the principal's role and subject, never
headers (the ``Authorization`` header holds a bearer token) and never a query
string value whose name suggests a secret. Any string that looks like one of
our tokens (``as_`` + 43 URL-safe characters) is redacted from every record as
a last line of defence.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime

_TOKEN = re.compile(r"\b[a-z]{2,8}_[A-Za-z0-9_-]{40,}")
_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|key)", re.I)
_STD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName", "color_message"}


def redact(text: str) -> str:
    return _TOKEN.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line (extra fields kept, secrets redacted)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STD and not k.startswith("_"):
                out[k] = "[redacted]" if _SECRET_KEYS.search(k) and k not in ("key",) else v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(out, default=str, ensure_ascii=False))


def setup(level: str = "info", stream=None) -> None:
    """Send the airshield and uvicorn logs as JSON lines to ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("airshield", "uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers = [handler]
        lg.setLevel(level.upper())
        lg.propagate = False
    # uvicorn's own access log prints the query string; ours (below) is the one to keep.
    logging.getLogger("uvicorn.access").disabled = True


access = logging.getLogger("airshield.access")


#: Query keys that say where a person is (GET /v1/concern): beside the client's address in every
#: 15-s poll of the public page they would make the log a track of each visitor.
_PLACE_KEYS = frozenset({"lat", "lon"})


def _safe_query(query: str) -> str:
    parts = []
    for kv in query.split("&") if query else []:
        k, _, v = kv.partition("=")
        parts.append(f"{k}=[redacted]" if _SECRET_KEYS.search(k) or k in _PLACE_KEYS else kv)
    return "&".join(parts)


class AccessLog:
    """Pure ASGI middleware: log each request when its response has been sent (see module doc).

    Pure ASGI rather than ``BaseHTTPMiddleware``: it does not buffer or re-wrap
    streaming responses (the SSE stream), it only watches the status go by.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = [500]

        async def watch(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            p = scope.get("state", {}).get("principal")
            client = scope.get("client")
            access.info("request", extra={
                "method": scope["method"], "path": scope["path"],
                "query": _safe_query(scope.get("query_string", b"").decode("latin-1")),
                "status": status[0], "ms": round(1000 * (time.perf_counter() - t0), 1),
                "role": p.role if p else None, "subject": p.subject if p else None,
                "client": client[0] if client else None,
            })
