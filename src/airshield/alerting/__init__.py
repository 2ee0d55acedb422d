"""Alerting: the per-region alert policy, its events and their CAP 1.2 encoding.

:mod:`.events` holds the value types (:class:`AlertEvent` and its reason);
:mod:`.policy` the pure state machine per region.
"""

from airshield.alerting.events import (
    EVENTS,
    STATES,
    AlertEvent,
    AlertReason,
    OperatorCommand,
    OperatorNote,
    PlaceEta,
    ThreatRef,
)

__all__ = ["EVENTS", "STATES", "AlertEvent", "AlertReason", "OperatorCommand", "OperatorNote", "PlaceEta",
           "ThreatRef"]
