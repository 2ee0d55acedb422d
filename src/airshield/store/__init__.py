"""The event log: every accepted report and every emitted event, append-only (SQLite, WAL)."""

from airshield.store.log import SCHEMA_VERSION, EventLog, LogError, LoggedEvent, Step

__all__ = ["SCHEMA_VERSION", "EventLog", "LogError", "LoggedEvent", "Step"]
