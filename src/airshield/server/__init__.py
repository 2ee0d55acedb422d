"""The airshield web service (issue #5): the I/O shell around the core, over HTTP.

One process: an :class:`~airshield.server.engine.Engine` thread owns the core's
:class:`~airshield.runtime.Runtime` (the single writer of the event log); the
FastAPI app (:func:`~airshield.server.app.create_app`) serves ingest, the read
API, operators' commands, push and the map. See docs/service.md.
"""
