"""A ceiling on every request body, checked before the body is read (pure ASGI middleware).

Without it, any JSON endpoint (sensor registration, webhooks, operators' commands) reads a
body whole into memory before it even checks the token: a few unauthenticated requests of
hundreds of MB each would exhaust the machine. A declared ``Content-Length`` over the
limit is refused at once; a chunked body is counted as it arrives and refused as soon as it
passes the limit. Ingest has a limit of its own (``max_body_bytes``, ingest.py).
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.responses import JSONResponse


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 (paths in ``skip`` check their own)."""

    def __init__(self, app, limit: int, skip: tuple[str, ...] = ()):
        self.app = app
        self.limit = limit
        self.skip = skip

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") in self.skip:
            return await self.app(scope, receive, send)
        limit = self.limit
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = JSONResponse({"detail": f"the body is {int(declared):,} bytes; at most {limit:,} are "
                                               "taken per request"}, status_code=413)
            return await response(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside the route's body read: FastAPI answers it as a 413.
                    raise HTTPException(413, f"the body is over {limit:,} bytes, the most taken per request")
            return message

        return await self.app(scope, counted, send)
